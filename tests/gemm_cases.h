/* gemm_cases.h — the GEMM checks against the plain C reference, shared by
 * tests/test_runtime.c (under Check, on this machine) and tests/gemm_check.c
 * (no test framework: cross builds run under qemu, e.g. the NEON kernel).
 * Needs nnc_rt.h, math.h, stdint.h, stdlib.h and string.h first; the fills
 * and the tolerance are kernel_numbers.h's. */
#ifndef NNC_GEMM_CASES_H
#define NNC_GEMM_CASES_H

#include <stdio.h>

#include "kernel_numbers.h"

typedef void (*gemm_fn)(int, int, int, int, int, float, const float *, int, const float *,
                        int, float, float *, int);

/* C = alpha op(A) op(B) + beta C with fn and with the reference; stored A is
 * (M,K) or (K,M), B (K,N) or (N,K), each row padded by `pad` extra floats;
 * packed: fn gets B in panels (nnc_rt_gemm_pack_b, ldb 0; tb == 0, pad 0).
 * Returns 1 when they agree (and the padding is untouched), else 0 with
 * the first bad element described in msg. */
static int gemm_compare(gemm_fn fn, const char *name, int ta, int tb, int M, int N, int K,
                        float alpha, float beta, int pad, uint64_t seed, int packed,
                        char *msg, size_t cap)
{
    nnc_rt_rng r;
    int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    long arows = ta ? K : M, brows = tb ? N : K, i;
    long asz = arows * lda + 1, bsz = brows * ldb + 1, csz = (long)M * ldc + 1;
    float *A = malloc(sizeof(float) * asz), *B = malloc(sizeof(float) * bsz);
    float *C = malloc(sizeof(float) * csz), *R = malloc(sizeof(float) * csz);
    if (!A || !B || !C || !R)
        abort();
    nnc_rt_rng_seed(&r, seed);
    fill_uniform(A, asz, &r, -1.0f, 1.0f);
    fill_uniform(B, bsz, &r, -1.0f, 1.0f);
    fill_uniform(R, csz, &r, -1.0f, 1.0f);
    if (beta == 0.0f) /* write-only: C's old contents must not leak in */
        for (i = 0; i < csz; i++)
            R[i] = NAN;
    memcpy(C, R, sizeof(float) * csz);
    nnc_rt_gemm_f32_ref(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, R, ldc);
    if (packed) { /* (!tb && pad == 0) */
        float *P = malloc(sizeof(float) * bsz);
        if (!P)
            abort();
        nnc_rt_gemm_pack_b(P, B, K, N);
        fn(ta, tb, M, N, K, alpha, A, lda, P, 0, beta, C, ldc);
        free(P);
    } else {
        fn(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    }
    for (i = 0; i < (long)M * ldc; i++) {
        int pad_col = i % ldc >= N;
        int ok = pad_col ? memcmp(&C[i], &R[i], sizeof(float)) == 0 || (isnan(C[i]) && isnan(R[i]))
                         : near(C[i], R[i], 2e-6 * K + 1e-6, 1e-5);
        if (!ok)
            break;
    }
    if (i < (long)M * ldc)
        snprintf(msg, cap,
                 "%s ta=%d tb=%d M=%d N=%d K=%d alpha=%g beta=%g pad=%d packed=%d: C[%ld,%ld] = %.9g, ref %.9g%s",
                 name, ta, tb, M, N, K, alpha, beta, pad, packed, i / ldc, i % ldc, C[i], R[i],
                 i % ldc >= N ? " (padding written)" : "");
    free(A);
    free(B);
    free(C);
    free(R);
    return i == (long)M * ldc;
}

/* sizes equal to, smaller than, larger than and not multiples of the tiles
 * (6x16, 8x32, 16x16), the small-M path (M < 4: 64 and 8 columns at a
 * time), the small-K path (K < 4), several K blocks (K > 256), B read in
 * place (M <= 64) and packed (M > 64), the M edge packed apart, B in
 * panels wider than one panel and not a multiple of it, the last narrow
 * panel's dot products in groups of four and fewer, a last sliver of at
 * most half the kernel's columns (exactly half, and fewer) */
static const int gemm_shapes[][3] = {
    {1, 1, 1},   {7, 13, 5},  {6, 16, 8},   {8, 32, 8},  {5, 15, 3},    {12, 32, 300},
    {33, 17, 65}, {2, 70, 40}, {3, 33, 600}, {4, 9, 2},   {48, 64, 513}, {1, 100, 1},
    {9, 1, 17},  {100, 3, 7}, {1, 8, 5}, {2, 64, 10}, {3, 24, 50}, {1, 72, 9},
    {16, 16, 8}, {17, 15, 9}, {15, 17, 31}, {32, 16, 20}, {64, 32, 257}, {65, 64, 70},
    {70, 40, 30}, {130, 10, 33}, {1, 130, 20}, {40, 200, 70}, {5, 150, 2}, {100, 70, 300},
    {1, 10, 700}, {3, 29, 100}, {2, 45, 33}, {70, 24, 40}, {13, 40, 9}, {100, 7, 20},
    /* N <= 12 (gemm_small.c): A^T B by rows of 16, ragged in M; A B by dot
     * products, K in chunks of 256 with a ragged last one, odd M */
    {50, 7, 20}, {37, 12, 5}, {16, 1, 3}, {48, 11, 64}, {21, 6, 40}, {33, 10, 300}, {5, 3, 257},
    {128, 12, 70},
};

/* every shape, all four transposes, four (alpha, beta) with and without
 * padded rows, B as given and (tb == 0, no padding) in panels: 1 when fn
 * agrees with the reference everywhere, else 0 and the first disagreement
 * in msg */
static int gemm_sweep(gemm_fn fn, const char *name, char *msg, size_t cap)
{
    static const float ab[][2] = {{1.0f, 0.0f}, {0.5f, 1.0f}, {-2.0f, 0.25f}, {-1.5f, 0.0f}};
    unsigned s, k;
    int t, packed;
    for (s = 0; s < sizeof gemm_shapes / sizeof gemm_shapes[0]; s++)
        for (t = 0; t < 4; t++)
            for (k = 0; k < 4; k++) {
                int ta = t & 1, tb = t >> 1, pad = k == 2 ? 3 : 0;
                for (packed = 0; packed <= (!tb && !pad); packed++)
                    if (!gemm_compare(fn, name, ta, tb, gemm_shapes[s][0], gemm_shapes[s][1],
                                      gemm_shapes[s][2], ab[k][0], ab[k][1], pad,
                                      1000 + s * 16 + t * 4 + k, packed, msg, cap))
                        return 0;
            }
    return 1;
}

#endif
