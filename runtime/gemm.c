/* gemm.c — single-precision GEMM: the reference oracle, the fast blocked
 * version, and dense_forward (GEMM with a fused bias + activation epilogue).
 *
 *   C[M,N] = alpha * op(A)[M,K] . op(B)[K,N] + beta * C,  op(X) = X or X^T
 *
 * Design: BLIS-style blocking.  K is cut into blocks of at most KC_MAX, M
 * into blocks that fit the A buffer.  For each (K block, M block) the block
 * of op(A) is packed (alpha folded in) into MR-row slivers, and for each
 * NR-column sliver of op(B) that sliver is packed; a register-blocked
 * micro-kernel then computes one MR x NR tile of C per call, reading both
 * operands contiguously.  Packing is where the four transpose combinations
 * are absorbed — no transpose of a whole matrix is ever made — and edge
 * tiles are zero-padded so the kernels never branch on size.
 *
 * No global mutable state and no malloc: the packing buffers live on the
 * stack, under 64 KiB of stack in all (one 58 KiB buffer holding a B sliver
 * of at most 256 x 32 floats with the A block filling the rest, plus a
 * 1 KiB edge tile).  That also matches the cache hierarchy: the B sliver
 * stays in L1 while the A slivers stream from L1/L2.  When all of a small M
 * fits beside the B sliver at a reduced depth, K is cut finer rather than
 * M, so B — the operand re-packed for every M block — is packed once.
 *
 * Fewer than SMALL_M rows (inference on one sample) skip packing
 * altogether: see gemm_small_m.
 *
 * Micro-kernels, the best chosen at compile time; each is also exported as
 * a whole GEMM under its own name and listed by nnc_rt_gemm_f32_variants(),
 * so tests check every one the library contains against the reference:
 *   nnc_rt_f32_gemm_6x16__c       portable C written for auto-vectorisation
 *                                 (gcc -O3 -march=native turns it into 6
 *                                 zmm or 12 ymm accumulators)
 *   nnc_rt_f32_gemm_6x16__avx2    AVX2 + FMA intrinsics
 *   nnc_rt_f32_gemm_8x32__avx512  AVX-512F intrinsics
 * All of them accumulate each C element in float over p in order, one
 * K block at a time, so results are deterministic for a given build.
 */
#include <math.h>
#include <string.h>

#include "nnc_rt.h"

/* a*b + c, fused when the target has a fast fmaf (C99's FP_FAST_FMAF, or
 * the compiler's own macro where the C library does not define it: newlib
 * on a Cortex-M4F, whose FPU has VFMA) */
#if defined(FP_FAST_FMAF) || defined(__FP_FAST_FMAF)
#define MADD(a, b, c) fmaf(a, b, c)
#else
#define MADD(a, b, c) ((a) * (b) + (c))
#endif

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

/* The packing buffer lives on the stack of the blocked path only (small M
 * never allocates it).  Microcontrollers (M profile) get a small one: their
 * stacks are a few KiB, and their caches, if any, are tiny. */
#if defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'
#define KC_MAX 32
#define KC_MIN 8
#define BUF_FLOATS 1024             /* 4 KiB */
#else
#define KC_MAX 256                  /* depth of one packed block */
#define KC_MIN 64                   /* ... and the least we cut it to */
#define BUF_FLOATS (14 * 1024 + 512) /* 58 KiB: B sliver (kc, nr) + A block (mc, kc) */
#endif
#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif
#define NR_MAX 32
#define MR_MAX 8
#define BUF_ALIGN 16                /* floats: 64-byte alignment */

/* ---- reference ------------------------------------------------------------
 * The oracle: a plain triple loop, accumulated in double so that it is the
 * most accurate thing in the tests. */
void nnc_rt_gemm_f32_ref(int ta, int tb, int M, int N, int K, float alpha,
                         const float *A, int lda, const float *B, int ldb,
                         float beta, float *C, int ldc)
{
    long i, j, p;
    for (i = 0; i < M; i++)
        for (j = 0; j < N; j++) {
            double s = 0.0;
            float *c = &C[i * (long)ldc + j];
            for (p = 0; p < K; p++) {
                float a = ta ? A[p * (long)lda + i] : A[i * (long)lda + p];
                float b = tb ? B[j * (long)ldb + p] : B[p * (long)ldb + j];
                s += (double)a * (double)b;
            }
            *c = beta == 0.0f ? (float)(alpha * s) : (float)(alpha * s + (double)beta * *c);
        }
}

/* ---- micro-kernels -----------------------------------------------------------
 * c[MR,NR] = a . b (+ beta * c when beta != 0), where a is a packed sliver
 * (kc, MR) — a[p*MR + i] = op(A)[i,p] — and b is a packed sliver (kc, NR).
 * beta == 0 never reads c. */
typedef void (*gemm_ukernel_fn)(long kc, const float *a, const float *b,
                                float *c, long ldc, float beta);

static void store_tile(float *restrict c, long ldc, const float *restrict acc,
                       int mr, int nr, int ldacc, float beta)
{
    int i, j;
    for (i = 0; i < mr; i++) {
        float *restrict ci = c + i * ldc;
        const float *restrict ai = acc + i * ldacc;
        if (beta == 0.0f)
            for (j = 0; j < nr; j++)
                ci[j] = ai[j];
        else
            for (j = 0; j < nr; j++)
                ci[j] = ai[j] + beta * ci[j];
    }
}

/* Portable: six row accumulators of 16 floats (the compiler keeps each in
 * one zmm or two ymm registers); the innermost loop runs over the 16
 * contiguous columns of b so it vectorises, and MADD becomes a fused
 * multiply-add when the target has one (FP_FAST_FMAF). */
static void ukernel_6x16_c(long kc, const float *restrict a, const float *restrict b,
                           float *restrict c, long ldc, float beta)
{
    float acc[6 * 16];
    float c0[16] = {0}, c1[16] = {0}, c2[16] = {0}, c3[16] = {0}, c4[16] = {0}, c5[16] = {0};
    long p;
    int j;
    for (p = 0; p < kc; p++) {
        const float *restrict bp = b + p * 16;
        float a0 = a[p * 6 + 0], a1 = a[p * 6 + 1], a2 = a[p * 6 + 2];
        float a3 = a[p * 6 + 3], a4 = a[p * 6 + 4], a5 = a[p * 6 + 5];
        for (j = 0; j < 16; j++) {
            float bj = bp[j];
            c0[j] = MADD(a0, bj, c0[j]);
            c1[j] = MADD(a1, bj, c1[j]);
            c2[j] = MADD(a2, bj, c2[j]);
            c3[j] = MADD(a3, bj, c3[j]);
            c4[j] = MADD(a4, bj, c4[j]);
            c5[j] = MADD(a5, bj, c5[j]);
        }
    }
    for (j = 0; j < 16; j++) {
        acc[0 * 16 + j] = c0[j];
        acc[1 * 16 + j] = c1[j];
        acc[2 * 16 + j] = c2[j];
        acc[3 * 16 + j] = c3[j];
        acc[4 * 16 + j] = c4[j];
        acc[5 * 16 + j] = c5[j];
    }
    store_tile(c, ldc, acc, 6, 16, 16, beta);
}

#if defined(__AVX2__) && defined(__FMA__)
static void store_row_avx2(float *c, __m256 lo, __m256 hi, __m256 vbeta, float beta)
{
    if (beta != 0.0f) {
        lo = _mm256_fmadd_ps(vbeta, _mm256_loadu_ps(c), lo);
        hi = _mm256_fmadd_ps(vbeta, _mm256_loadu_ps(c + 8), hi);
    }
    _mm256_storeu_ps(c, lo);
    _mm256_storeu_ps(c + 8, hi);
}

/* 6 rows x 2 ymm: 12 accumulators + 2 b vectors + 1 broadcast = 15 of 16 ymm */
static void ukernel_6x16_avx2(long kc, const float *restrict a, const float *restrict b,
                              float *restrict c, long ldc, float beta)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    __m256 vbeta = _mm256_set1_ps(beta);
    long p;
    for (p = 0; p < kc; p++) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8), ai;
        ai = _mm256_broadcast_ss(a + 0);
        c00 = _mm256_fmadd_ps(ai, b0, c00); c01 = _mm256_fmadd_ps(ai, b1, c01);
        ai = _mm256_broadcast_ss(a + 1);
        c10 = _mm256_fmadd_ps(ai, b0, c10); c11 = _mm256_fmadd_ps(ai, b1, c11);
        ai = _mm256_broadcast_ss(a + 2);
        c20 = _mm256_fmadd_ps(ai, b0, c20); c21 = _mm256_fmadd_ps(ai, b1, c21);
        ai = _mm256_broadcast_ss(a + 3);
        c30 = _mm256_fmadd_ps(ai, b0, c30); c31 = _mm256_fmadd_ps(ai, b1, c31);
        ai = _mm256_broadcast_ss(a + 4);
        c40 = _mm256_fmadd_ps(ai, b0, c40); c41 = _mm256_fmadd_ps(ai, b1, c41);
        ai = _mm256_broadcast_ss(a + 5);
        c50 = _mm256_fmadd_ps(ai, b0, c50); c51 = _mm256_fmadd_ps(ai, b1, c51);
        a += 6;
        b += 16;
    }
    store_row_avx2(c + 0 * ldc, c00, c01, vbeta, beta);
    store_row_avx2(c + 1 * ldc, c10, c11, vbeta, beta);
    store_row_avx2(c + 2 * ldc, c20, c21, vbeta, beta);
    store_row_avx2(c + 3 * ldc, c30, c31, vbeta, beta);
    store_row_avx2(c + 4 * ldc, c40, c41, vbeta, beta);
    store_row_avx2(c + 5 * ldc, c50, c51, vbeta, beta);
}
#endif

#if defined(__AVX512F__)
static void store_row_avx512(float *c, __m512 lo, __m512 hi, __m512 vbeta, float beta)
{
    if (beta != 0.0f) {
        lo = _mm512_fmadd_ps(vbeta, _mm512_loadu_ps(c), lo);
        hi = _mm512_fmadd_ps(vbeta, _mm512_loadu_ps(c + 16), hi);
    }
    _mm512_storeu_ps(c, lo);
    _mm512_storeu_ps(c + 16, hi);
}

/* 8 rows x 2 zmm: 16 accumulators + 2 b vectors + broadcasts, of 32 zmm */
static void ukernel_8x32_avx512(long kc, const float *restrict a, const float *restrict b,
                                float *restrict c, long ldc, float beta)
{
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps();
    __m512 c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
    __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps();
    __m512 c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
    __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps();
    __m512 c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
    __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps();
    __m512 c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps();
    __m512 vbeta = _mm512_set1_ps(beta);
    long p;
    for (p = 0; p < kc; p++) {
        __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16), ai;
        ai = _mm512_set1_ps(a[0]);
        c00 = _mm512_fmadd_ps(ai, b0, c00); c01 = _mm512_fmadd_ps(ai, b1, c01);
        ai = _mm512_set1_ps(a[1]);
        c10 = _mm512_fmadd_ps(ai, b0, c10); c11 = _mm512_fmadd_ps(ai, b1, c11);
        ai = _mm512_set1_ps(a[2]);
        c20 = _mm512_fmadd_ps(ai, b0, c20); c21 = _mm512_fmadd_ps(ai, b1, c21);
        ai = _mm512_set1_ps(a[3]);
        c30 = _mm512_fmadd_ps(ai, b0, c30); c31 = _mm512_fmadd_ps(ai, b1, c31);
        ai = _mm512_set1_ps(a[4]);
        c40 = _mm512_fmadd_ps(ai, b0, c40); c41 = _mm512_fmadd_ps(ai, b1, c41);
        ai = _mm512_set1_ps(a[5]);
        c50 = _mm512_fmadd_ps(ai, b0, c50); c51 = _mm512_fmadd_ps(ai, b1, c51);
        ai = _mm512_set1_ps(a[6]);
        c60 = _mm512_fmadd_ps(ai, b0, c60); c61 = _mm512_fmadd_ps(ai, b1, c61);
        ai = _mm512_set1_ps(a[7]);
        c70 = _mm512_fmadd_ps(ai, b0, c70); c71 = _mm512_fmadd_ps(ai, b1, c71);
        a += 8;
        b += 32;
    }
    store_row_avx512(c + 0 * ldc, c00, c01, vbeta, beta);
    store_row_avx512(c + 1 * ldc, c10, c11, vbeta, beta);
    store_row_avx512(c + 2 * ldc, c20, c21, vbeta, beta);
    store_row_avx512(c + 3 * ldc, c30, c31, vbeta, beta);
    store_row_avx512(c + 4 * ldc, c40, c41, vbeta, beta);
    store_row_avx512(c + 5 * ldc, c50, c51, vbeta, beta);
    store_row_avx512(c + 6 * ldc, c60, c61, vbeta, beta);
    store_row_avx512(c + 7 * ldc, c70, c71, vbeta, beta);
}
#endif

/* ---- packing -------------------------------------------------------------- */

/* ap = the (mc, kc) block of alpha*op(A) at (i0, p0), as ceil(mc/mr) slivers
 * (kc, mr); rows past mc are zero. */
static void pack_a(float *restrict ap, int ta, const float *restrict A, long lda,
                   long i0, long p0, int mc, int kc, int mr, float alpha)
{
    int s, i, p;
    for (s = 0; s < mc; s += mr) {
        int rows = mc - s < mr ? mc - s : mr;
        if (ta) { /* op(A)[i,p] = A[p,i]: rows of A give mr contiguous values */
            for (p = 0; p < kc; p++) {
                const float *src = A + (p0 + p) * lda + i0 + s;
                for (i = 0; i < rows; i++)
                    ap[p * mr + i] = alpha * src[i];
                for (; i < mr; i++)
                    ap[p * mr + i] = 0.0f;
            }
        } else {
            for (i = 0; i < rows; i++) {
                const float *src = A + (i0 + s + i) * lda + p0;
                for (p = 0; p < kc; p++)
                    ap[p * mr + i] = alpha * src[p];
            }
            for (; i < mr; i++)
                for (p = 0; p < kc; p++)
                    ap[p * mr + i] = 0.0f;
        }
        ap += (long)mr * kc;
    }
}

#if defined(__AVX2__)
/* dst[l*ldd + j] = src[j*lds + l] for an 8 x 8 block: the classic
 * unpack / shuffle / permute transpose, 24 shuffles for 64 floats. */
static void transpose_8x8_avx(float *dst, long ldd, const float *src, long lds)
{
    __m256 r0 = _mm256_loadu_ps(src + 0 * lds), r1 = _mm256_loadu_ps(src + 1 * lds);
    __m256 r2 = _mm256_loadu_ps(src + 2 * lds), r3 = _mm256_loadu_ps(src + 3 * lds);
    __m256 r4 = _mm256_loadu_ps(src + 4 * lds), r5 = _mm256_loadu_ps(src + 5 * lds);
    __m256 r6 = _mm256_loadu_ps(src + 6 * lds), r7 = _mm256_loadu_ps(src + 7 * lds);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_storeu_ps(dst + 0 * ldd, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(dst + 1 * ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(dst + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(dst + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(dst + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(dst + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(dst + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(dst + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
}
#endif

/* bp = the (kc, nr) sliver of op(B) at (p0, j0), nc <= nr valid columns,
 * the rest zero. */
static void pack_b(float *restrict bp, int tb, const float *restrict B, long ldb,
                   long p0, long j0, int kc, int nc, int nr)
{
    int p, j;
    if (tb) { /* op(B)[p,j] = B[j,p]: each row of B is one column of the sliver */
        j = 0;
#if defined(__AVX2__)
        for (; j + 8 <= nc; j += 8) {
            const float *src = B + (j0 + j) * ldb + p0;
            for (p = 0; p + 8 <= kc; p += 8)
                transpose_8x8_avx(bp + p * nr + j, nr, src + p, ldb);
            for (; p < kc; p++) {
                int l;
                for (l = 0; l < 8; l++)
                    bp[p * nr + j + l] = src[l * ldb + p];
            }
        }
#endif
        for (; j < nc; j++) {
            const float *src = B + (j0 + j) * ldb + p0;
            for (p = 0; p < kc; p++)
                bp[p * nr + j] = src[p];
        }
        for (; j < nr; j++)
            for (p = 0; p < kc; p++)
                bp[p * nr + j] = 0.0f;
    } else {
        for (p = 0; p < kc; p++) {
            const float *src = B + (p0 + p) * ldb + j0;
            for (j = 0; j < nc; j++)
                bp[p * nr + j] = src[j];
            for (; j < nr; j++)
                bp[p * nr + j] = 0.0f;
        }
    }
}

/* ---- epilogue: c[rows, cols] = act(c + bias) for elementwise activations -- */
static void epilogue(float *c, long ldc, int rows, int cols, const float *bias, int act)
{
    int i, j;
    for (i = 0; i < rows; i++) {
        float *ci = c + i * ldc;
        if (bias)
            for (j = 0; j < cols; j++)
                ci[j] += bias[j];
        if (act != NNC_RT_ACT_LINEAR)
            nnc_rt_act_forward(act, ci, ci, 1, cols);
    }
}

/* ---- small M -----------------------------------------------------------------
 * Fewer rows than SMALL_M: packing B would cost as much as the product, so
 * each row of C is computed straight from A and B (one sample at inference
 * costs one sample).
 *   tb == 0: c[i, j] = sum_p a(i,p) B[p, j], 64 columns at a time held in
 *            four 16-float accumulators while the rows of B stream past;
 *   tb == 1: c[i, j] = a(i,:) . B[j,:], a dot product of two contiguous
 *            rows in 32 independent lanes (vectorises without
 *            reassociation), the lanes summed in a fixed order. */
#define SMALL_M 4

/* out[0:64] = sum_p a[p*as] * b[p*ldb + 0:64]; b is (K, >= 64) */
static void small_axpy_64(long K, const float *restrict a, long as,
                          const float *restrict b, long ldb, float *restrict out)
{
    float c0[16] = {0}, c1[16] = {0}, c2[16] = {0}, c3[16] = {0};
    long p;
    int l;
    for (p = 0; p < K; p++) {
        float s = a[p * as];
        const float *restrict bp = b + p * ldb;
        for (l = 0; l < 16; l++) {
            c0[l] = MADD(s, bp[l], c0[l]);
            c1[l] = MADD(s, bp[16 + l], c1[l]);
            c2[l] = MADD(s, bp[32 + l], c2[l]);
            c3[l] = MADD(s, bp[48 + l], c3[l]);
        }
    }
    for (l = 0; l < 16; l++) {
        out[l] = c0[l];
        out[16 + l] = c1[l];
        out[32 + l] = c2[l];
        out[48 + l] = c3[l];
    }
}

/* out[0:8] = sum_p a[p*as] * b[p*ldb + 0:8]: the narrow form for cores
 * with few registers (a Cortex-M4F has 32 single-precision ones: eight
 * accumulators and the operands stay in registers; 64 would spill) */
static void small_axpy_8(long K, const float *restrict a, long as,
                         const float *restrict b, long ldb, float *restrict out)
{
    float c0 = 0, c1 = 0, c2 = 0, c3 = 0, c4 = 0, c5 = 0, c6 = 0, c7 = 0;
    long p;
    for (p = 0; p < K; p++) {
        float s = a[p * as];
        const float *restrict bp = b + p * ldb;
        c0 = MADD(s, bp[0], c0); c1 = MADD(s, bp[1], c1);
        c2 = MADD(s, bp[2], c2); c3 = MADD(s, bp[3], c3);
        c4 = MADD(s, bp[4], c4); c5 = MADD(s, bp[5], c5);
        c6 = MADD(s, bp[6], c6); c7 = MADD(s, bp[7], c7);
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
    out[4] = c4; out[5] = c5; out[6] = c6; out[7] = c7;
}

/* out[0:w] = sum_p a[p*as] * b[p*ldb + 0:w], w < 64 */
static void small_axpy_tail(long K, const float *restrict a, long as,
                            const float *restrict b, long ldb, float *restrict out, int w)
{
    long p;
    int l;
    for (l = 0; l < w; l++)
        out[l] = 0.0f;
    for (p = 0; p < K; p++) {
        float s = a[p * as];
        for (l = 0; l < w; l++)
            out[l] = MADD(s, b[p * ldb + l], out[l]);
    }
}

/* x . y over k contiguous floats: 32 independent lanes (two vector
 * accumulators), summed in a fixed order, then the tail */
static float small_dot(long k, const float *restrict x, const float *restrict y)
{
    float lane[32] = {0}, s = 0.0f;
    long q, nb = k / 32;
    int l;
    for (q = 0; q < nb; q++) {
        const float *restrict xq = x + 32 * q, *restrict yq = y + 32 * q;
        for (l = 0; l < 32; l++)
            lane[l] = MADD(xq[l], yq[l], lane[l]);
    }
    for (l = 0; l < 16; l++) /* pairwise tree: vectorises, fixed order */
        lane[l] += lane[l + 16];
    for (l = 0; l < 8; l++)
        lane[l] += lane[l + 8];
    for (l = 0; l < 4; l++)
        lane[l] += lane[l + 4];
    s = (lane[0] + lane[2]) + (lane[1] + lane[3]);
    for (q = nb * 32; q < k; q++)
        s = MADD(x[q], y[q], s);
    return s;
}

static void gemm_small_m(int ta, int tb, int M, int N, int K, float alpha,
                         const float *A, long lda, const float *B, long ldb,
                         float beta, float *C, long ldc, int narrow)
{
    float acc[64];
    long as = ta ? lda : 1, i, j, p;  /* a(i, p) = A[i * ai + p * as] */
    long ai = ta ? 1 : lda;
    int l;
    if (!tb) {
        for (i = 0; i < M; i++) {
            float *c = C + i * ldc;
            int step = narrow ? 8 : 64;
            for (j = 0; j < N; j += step) {
                int w = N - j < step ? (int)(N - j) : step;
                if (w == 64)
                    small_axpy_64(K, A + i * ai, as, B + j, ldb, acc);
                else if (w == 8 && narrow)
                    small_axpy_8(K, A + i * ai, as, B + j, ldb, acc);
                else
                    small_axpy_tail(K, A + i * ai, as, B + j, ldb, acc, w);
                for (l = 0; l < w; l++)
                    c[j + l] = beta == 0.0f ? alpha * acc[l] : alpha * acc[l] + beta * c[j + l];
            }
        }
        return;
    }
    /* tb: every row of B is read once and dotted with all M rows of A */
    for (i = 0; i < M; i++)
        for (j = 0; j < N; j++)
            C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
    if (!ta) {
        for (j = 0; j < N; j++)
            for (i = 0; i < M; i++)
                C[i * ldc + j] += alpha * small_dot(K, A + i * lda, B + j * ldb);
        return;
    }
    /* ta and tb with a tiny M: rare; a plain strided loop */
    for (j = 0; j < N; j++)
        for (i = 0; i < M; i++) {
            float s = 0.0f;
            for (p = 0; p < K; p++)
                s = MADD(A[p * lda + i], B[j * ldb + p], s);
            C[i * ldc + j] += alpha * s;
        }
}

/* K < SMALL_M: c[i, j] = alpha sum_p a(i,p) b(p,j) (+ beta c), row by row */
static void gemm_small_k(int ta, int tb, int M, int N, int K, float alpha,
                         const float *A, long lda, const float *B, long ldb,
                         float beta, float *C, long ldc)
{
    long i, j, p;
    for (i = 0; i < M; i++) {
        float *c = C + i * ldc;
        for (j = 0; j < N; j++)
            c[j] = beta == 0.0f ? 0.0f : beta * c[j];
        for (p = 0; p < K; p++) {
            float a = alpha * (ta ? A[p * lda + i] : A[i * lda + p]);
            if (tb)
                for (j = 0; j < N; j++)
                    c[j] = MADD(a, B[j * ldb + p], c[j]);
            else
                for (j = 0; j < N; j++)
                    c[j] = MADD(a, B[p * ldb + j], c[j]);
        }
    }
}

/* ---- the blocked driver ----------------------------------------------------- */
static float *align_buf(float *p)
{
    uintptr_t u = (uintptr_t)p, a = BUF_ALIGN * sizeof(float);
    return (float *)(void *)((u + a - 1) / a * a);
}

static long cdiv(long a, long b) { return (a + b - 1) / b; }

static void gemm_blocked(gemm_ukernel_fn ukernel, int mr, int nr,
                         int ta, int tb, int M, int N, int K, float alpha,
                         const float *A, long lda, const float *B, long ldb,
                         float beta, float *C, long ldc, const float *bias, int act);

/* C = alpha op(A) op(B) + beta C, then C = act(C + bias) (bias may be NULL,
 * act elementwise or LINEAR). */
static void gemm_driver(gemm_ukernel_fn ukernel, int mr, int nr, int narrow,
                        int ta, int tb, int M, int N, int K, float alpha,
                        const float *A, long lda, const float *B, long ldb,
                        float beta, float *C, long ldc, const float *bias, int act)
{
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0 || alpha == 0.0f) { /* no product: C = beta*C */
        long i, j;
        for (i = 0; i < M; i++)
            for (j = 0; j < N; j++)
                C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
        if (bias || act != NNC_RT_ACT_LINEAR)
            epilogue(C, ldc, M, N, bias, act);
        return;
    }

    if (K < SMALL_M) {  /* a rank-K update (a weight gradient at batch 1): nothing to pack */
        gemm_small_k(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        if (bias || act != NNC_RT_ACT_LINEAR)
            epilogue(C, ldc, M, N, bias, act);
        return;
    }
    if (M < SMALL_M) {
        gemm_small_m(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, narrow);
        if (bias || act != NNC_RT_ACT_LINEAR)
            epilogue(C, ldc, M, N, bias, act);
        return;
    }
    gemm_blocked(ukernel, mr, nr, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, act);
}

/* the packed path: M >= SMALL_M, K >= 1 */
static NOINLINE void gemm_blocked(gemm_ukernel_fn ukernel, int mr, int nr,
                                  int ta, int tb, int M, int N, int K, float alpha,
                                  const float *A, long lda, const float *B, long ldb,
                                  float beta, float *C, long ldc, const float *bias, int act)
{
    float buf_raw[BUF_FLOATS + BUF_ALIGN];
    float tile[MR_MAX * NR_MAX];
    float *bbuf = align_buf(buf_raw), *abuf;
    long kblocks, kc_blk, mc_max, mblocks, mc_blk, pc, ic, jr, ir;

    /* balanced blocks: K into ceil(K/KC_MAX) near-equal parts, M into parts
     * that fit the A buffer, rounded up to whole slivers */
    kblocks = cdiv(K, KC_MAX);
    kc_blk = cdiv(K, kblocks);
    /* when all of M would fit beside the B sliver at a smaller depth, cut K
     * finer instead of M: B (the operand re-packed per M block) is then
     * packed only once */
    {
        long kc_fit = (BUF_FLOATS - 2 * BUF_ALIGN) / (nr + cdiv(M, mr) * mr);
        if (kc_fit >= KC_MIN && kc_blk > kc_fit) {
            kblocks = cdiv(K, kc_fit);
            kc_blk = cdiv(K, kblocks);
        }
    }
    abuf = bbuf + cdiv(kc_blk * nr, BUF_ALIGN) * BUF_ALIGN;
    mc_max = (BUF_FLOATS - (abuf - bbuf)) / kc_blk / mr * mr;
    mblocks = cdiv(M, mc_max);
    mc_blk = cdiv(cdiv(M, mblocks), mr) * mr;

    for (pc = 0; pc < K; pc += kc_blk) {
        int kc = (int)(K - pc < kc_blk ? K - pc : kc_blk);
        float beta_blk = pc == 0 ? beta : 1.0f;
        int last_k = pc + kc >= K;
        for (ic = 0; ic < M; ic += mc_blk) {
            int mc = (int)(M - ic < mc_blk ? M - ic : mc_blk);
            pack_a(abuf, ta, A, lda, ic, pc, mc, kc, mr, alpha);
            for (jr = 0; jr < N; jr += nr) {
                int ncols = (int)(N - jr < nr ? N - jr : nr);
                pack_b(bbuf, tb, B, ldb, pc, jr, kc, ncols, nr);
                for (ir = 0; ir < mc; ir += mr) {
                    int nrows = (int)(mc - ir < mr ? mc - ir : mr);
                    float *c = C + (ic + ir) * ldc + jr;
                    const float *a = abuf + ir * kc;
                    if (nrows == mr && ncols == nr) {
                        ukernel(kc, a, bbuf, c, ldc, beta_blk);
                    } else { /* edge tile: compute whole, store the valid part */
                        ukernel(kc, a, bbuf, tile, nr, 0.0f);
                        store_tile(c, ldc, tile, nrows, ncols, nr, beta_blk);
                    }
                    if (last_k && (bias || act != NNC_RT_ACT_LINEAR))
                        epilogue(c, ldc, nrows, ncols, bias ? bias + jr : NULL, act);
                }
            }
        }
    }
}

/* ---- public entry points ---------------------------------------------------- */
void nnc_rt_f32_gemm_6x16__c(int ta, int tb, int M, int N, int K, float alpha,
                             const float *A, int lda, const float *B, int ldb,
                             float beta, float *C, int ldc)
{
    gemm_driver(ukernel_6x16_c, 6, 16, 0, ta, tb, M, N, K, alpha, A, lda, B, ldb,
                beta, C, ldc, NULL, NNC_RT_ACT_LINEAR);
}

/* the same with the narrow small-M kernel (1x8), the one microcontrollers use */
void nnc_rt_f32_gemm_6x16_1x8__c(int ta, int tb, int M, int N, int K, float alpha,
                                 const float *A, int lda, const float *B, int ldb,
                                 float beta, float *C, int ldc)
{
    gemm_driver(ukernel_6x16_c, 6, 16, 1, ta, tb, M, N, K, alpha, A, lda, B, ldb,
                beta, C, ldc, NULL, NNC_RT_ACT_LINEAR);
}

#if defined(__AVX2__) && defined(__FMA__)
void nnc_rt_f32_gemm_6x16__avx2(int ta, int tb, int M, int N, int K, float alpha,
                                const float *A, int lda, const float *B, int ldb,
                                float beta, float *C, int ldc)
{
    gemm_driver(ukernel_6x16_avx2, 6, 16, 0, ta, tb, M, N, K, alpha, A, lda, B, ldb,
                beta, C, ldc, NULL, NNC_RT_ACT_LINEAR);
}
#endif

#if defined(__AVX512F__)
void nnc_rt_f32_gemm_8x32__avx512(int ta, int tb, int M, int N, int K, float alpha,
                                  const float *A, int lda, const float *B, int ldb,
                                  float beta, float *C, int ldc)
{
    gemm_driver(ukernel_8x32_avx512, 8, 32, 0, ta, tb, M, N, K, alpha, A, lda, B, ldb,
                beta, C, ldc, NULL, NNC_RT_ACT_LINEAR);
}
#define BEST_UKERNEL ukernel_8x32_avx512, 8, 32, 0
#elif defined(__AVX2__) && defined(__FMA__)
#define BEST_UKERNEL ukernel_6x16_avx2, 6, 16, 0
#elif defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'
#define BEST_UKERNEL ukernel_6x16_c, 6, 16, 1
#else
#define BEST_UKERNEL ukernel_6x16_c, 6, 16, 0
#endif

static const nnc_rt_gemm_f32_variant gemm_variants[] = {
    {"6x16__c", nnc_rt_f32_gemm_6x16__c},
    {"6x16_1x8__c", nnc_rt_f32_gemm_6x16_1x8__c},
#if defined(__AVX2__) && defined(__FMA__)
    {"6x16__avx2", nnc_rt_f32_gemm_6x16__avx2},
#endif
#if defined(__AVX512F__)
    {"8x32__avx512", nnc_rt_f32_gemm_8x32__avx512},
#endif
};

int nnc_rt_gemm_f32_variants(const nnc_rt_gemm_f32_variant **list)
{
    *list = gemm_variants;
    return (int)(sizeof gemm_variants / sizeof gemm_variants[0]);
}

void nnc_rt_gemm_f32(int ta, int tb, int M, int N, int K, float alpha,
                     const float *A, int lda, const float *B, int ldb,
                     float beta, float *C, int ldc)
{
    gemm_driver(BEST_UKERNEL, ta, tb, M, N, K, alpha, A, lda, B, ldb,
                beta, C, ldc, NULL, NNC_RT_ACT_LINEAR);
}

/* y[n,m] = act(x[n,k] . w[k,m] + b[m]).  Elementwise activations and the
 * bias are applied to each tile of y right after its last K block, while it
 * is still in L1; softmax needs whole rows, so it is one extra pass. */
void nnc_rt_dense_forward(float *y, const float *x, const float *w, const float *b,
                          int n, int k, int m, int act)
{
    int tile_act = act == NNC_RT_ACT_SOFTMAX ? NNC_RT_ACT_LINEAR : act;
    gemm_driver(BEST_UKERNEL, 0, 0, n, m, k, 1.0f, x, k, w, m, 0.0f, y, m, b, tile_act);
    if (act == NNC_RT_ACT_SOFTMAX)
        nnc_rt_act_forward(act, y, y, n, m);
}
