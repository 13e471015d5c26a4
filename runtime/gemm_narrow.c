/* gemm_narrow.c — C = alpha A^T B for a narrow C (N <= NARROW_AT_N columns)
 * with many rows: a dense layer's weight gradient dW = x^T dz when the
 * layer has few outputs (a classifier's ten: the small CNN's
 * 21632 x 10 x 32 product).
 *
 * Why not the blocked path: its kernels vectorise along N, so ten columns
 * fill 10 of 16 lanes (AVX2's 6x16 tile), and every tile is an edge tile.
 * Here A^T's rows are A's columns, contiguous along M, so the vectors run
 * along M instead: 16 rows of C (two ymm) times up to 6 columns held in 12
 * accumulators, one FMA per row vector and column a step of K; every lane
 * is a row of C.  The 16 x n block is then transposed in registers (8 x 8
 * shuffles) and stored row by row with plain 4/2/1-float stores: masked
 * stores (vmaskmovps) are microcoded on AMD and took half the time.
 * Measured (Zen 3, thread CPU time): 21632 x 10 x 32 240 us against 330
 * for the blocked path; N <= 6 128 us against 340; N = 13..16 the blocked
 * path is faster (its 16 lanes are full), hence NARROW_AT_N = 12.
 *
 * Each C element is fma(a, b, acc) over p in order from 0, times alpha —
 * the rows past the last block of 16 do the same in scalar fmaf — so a
 * row's bits do not depend on which block or thread computes it.
 * AVX2 builds only (an AVX-512 build keeps its 16x16 narrow kernel). */
#include "gemm_internal.h"

#if NARROW_AT_N
#include <immintrin.h>

/* c[0:n] = the first n floats of v (n <= 8), no masked store */
static inline void store_n(float *c, __m256 v, int n)
{
    __m128 q = _mm256_castps256_ps128(v);
    if (n >= 4) {
        _mm_storeu_ps(c, q);
        q = _mm256_extractf128_ps(v, 1);
        c += 4;
        n -= 4;
    }
    if (n >= 2) {
        _mm_storel_pi((__m64 *)(void *)c, q);
        q = _mm_movehl_ps(q, q);
        c += 2;
        n -= 2;
    }
    if (n)
        _mm_store_ss(c, q);
}

/* rows [i0, i0 + 16), columns [0, NJ) of c = alpha a^T b, where a and b
 * start at the block's first row and column (a[p*lda + i], b[p*ldb + j]) */
#define NARROW_BLOCK(NJ)                                                                        \
    static NOINLINE void narrow_block_##NJ(long K, const float *a, long lda, const float *b,   \
                                           long ldb, float *c, long ldc, float alpha)          \
    {                                                                                           \
        __m256 acc[2][NJ], r[8];                                                                \
        long p;                                                                                 \
        int j, v, l;                                                                            \
        _Pragma("GCC unroll 6") for (j = 0; j < NJ; j++)                                        \
            acc[0][j] = acc[1][j] = _mm256_setzero_ps();                                        \
        for (p = 0; p < K; p++, a += lda, b += ldb) {                                           \
            __m256 a0 = _mm256_loadu_ps(a), a1 = _mm256_loadu_ps(a + 8);                       \
            _Pragma("GCC unroll 6") for (j = 0; j < NJ; j++) {                                  \
                __m256 bj = _mm256_broadcast_ss(b + j);                                         \
                acc[0][j] = _mm256_fmadd_ps(a0, bj, acc[0][j]);                                 \
                acc[1][j] = _mm256_fmadd_ps(a1, bj, acc[1][j]);                                 \
            }                                                                                   \
        }                                                                                       \
        _Pragma("GCC unroll 2") for (v = 0; v < 2; v++) {                                       \
            _Pragma("GCC unroll 8") for (j = 0; j < 8; j++)                                     \
                r[j] = j < NJ ? _mm256_mul_ps(_mm256_set1_ps(alpha), acc[v][j < NJ ? j : 0])   \
                              : _mm256_setzero_ps();                                            \
            nnc_rt_transpose_8x8(r);                                                            \
            _Pragma("GCC unroll 8") for (l = 0; l < 8; l++)                                     \
                store_n(c + (8 * v + l) * ldc, r[l], NJ);                                       \
        }                                                                                       \
    }
NARROW_BLOCK(1)
NARROW_BLOCK(2)
NARROW_BLOCK(3)
NARROW_BLOCK(4)
NARROW_BLOCK(5)
NARROW_BLOCK(6)

typedef void (*narrow_block_fn)(long K, const float *a, long lda, const float *b, long ldb, float *c,
                                long ldc, float alpha);
static const narrow_block_fn narrow_blocks[6] = {narrow_block_1, narrow_block_2, narrow_block_3,
                                                 narrow_block_4, narrow_block_5, narrow_block_6};

void nnc_rt_gemm_narrow_at(long i0, long i1, int N, int K, float alpha, const float *A, long lda,
                           const float *B, long ldb, float *C, long ldc)
{
    const int groups = (N + 5) / 6; /* of at most 6 columns, as even as can be: 10 = 5 + 5 */
    long i, p;
    int g, j0, j;
    for (i = i0; i + 16 <= i1; i += 16)
        for (g = 0, j0 = 0; g < groups; g++) {
            int nj = (N - j0 + groups - g - 1) / (groups - g);
            narrow_blocks[nj - 1](K, A + i, lda, B + j0, ldb, C + i * ldc + j0, ldc, alpha);
            j0 += nj;
        }
    for (; i < i1; i++)
        for (j = 0; j < N; j++) {
            float s = 0.0f;
            for (p = 0; p < K; p++)
                s = fmaf(A[p * lda + i], B[p * ldb + j], s);
            C[i * ldc + j] = alpha * s;
        }
}
#else
typedef int nnc_rt_gemm_narrow_absent; /* ISO C: a translation unit declares something */
#endif
