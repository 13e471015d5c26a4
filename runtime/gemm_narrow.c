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

/* ---- A B with few columns: dot products along K ---------------------------------
 * The forward product of the same layer, x W with W (k, 10): A's rows are
 * contiguous along K, and so are B^T's (a transposed operand as given, the
 * narrow panel nnc_rt_gemm_pack_b stores transposed, or DOT_KC rows of a
 * row-major B transposed here), so each C element is a dot product with 8
 * lanes along K: 2 rows of A times up to 6 rows of B^T in 12 accumulators,
 * every lane busy.  K goes in chunks of DOT_KC (B^T's chunk, 12 KiB at
 * most, stays in L1 while rows of A pass), rows in groups of DOT_MG whose
 * lane sums wait in `part` between chunks; each element's 8 lanes are
 * added in a fixed order at the end.  The blocked path spent 10 of 16
 * lanes and an edge tile per tile on these (32 x 10 x 21632: 333 us; this,
 * Zen 3: see the commit).  Determinism: an element's sum does not depend
 * on the rows around it or the thread computing it. */
#define DOT_KC 256
#define DOT_MG 32

/* the lanes of v summed: ((0+4)+(2+6)) + ((1+5)+(3+7)) */
static inline float hsum8(__m256 v)
{
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
}

/* part[r][j] += the lane products of rows r < R of a (lda apart) and rows
 * j < NJ of bt (ldbt apart) over kc floats, the last kc % 8 masked */
#define DOT_BLOCK(R, NJ)                                                                          \
    static NOINLINE void dot_block_##R##_##NJ(long kc, const float *a, long lda, const float *bt, \
                                              long ldbt, __m256 (*part)[NARROW_AT_N])            \
    {                                                                                             \
        __m256 acc[R][NJ];                                                                        \
        long p;                                                                                   \
        int r, j;                                                                                 \
        _Pragma("GCC unroll 2") for (r = 0; r < R; r++)                                           \
            _Pragma("GCC unroll 6") for (j = 0; j < NJ; j++)                                      \
                acc[r][j] = part[r][j];                                                           \
        for (p = 0; p + 8 <= kc; p += 8) {                                                        \
            __m256 av[R];                                                                         \
            _Pragma("GCC unroll 2") for (r = 0; r < R; r++)                                       \
                av[r] = _mm256_loadu_ps(a + r * lda + p);                                         \
            _Pragma("GCC unroll 6") for (j = 0; j < NJ; j++) {                                    \
                __m256 b = _mm256_loadu_ps(bt + j * ldbt + p);                                    \
                _Pragma("GCC unroll 2") for (r = 0; r < R; r++)                                   \
                    acc[r][j] = _mm256_fmadd_ps(av[r], b, acc[r][j]);                             \
            }                                                                                     \
        }                                                                                         \
        if (p < kc) {                                                                             \
            __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(kc - p)),                      \
                                           _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));            \
            __m256 av[R];                                                                         \
            _Pragma("GCC unroll 2") for (r = 0; r < R; r++)                                       \
                av[r] = _mm256_maskload_ps(a + r * lda + p, m);                                   \
            _Pragma("GCC unroll 6") for (j = 0; j < NJ; j++) {                                    \
                __m256 b = _mm256_maskload_ps(bt + j * ldbt + p, m);                              \
                _Pragma("GCC unroll 2") for (r = 0; r < R; r++)                                   \
                    acc[r][j] = _mm256_fmadd_ps(av[r], b, acc[r][j]);                             \
            }                                                                                     \
        }                                                                                         \
        _Pragma("GCC unroll 2") for (r = 0; r < R; r++)                                           \
            _Pragma("GCC unroll 6") for (j = 0; j < NJ; j++)                                      \
                part[r][j] = acc[r][j];                                                           \
    }
DOT_BLOCK(1, 1) DOT_BLOCK(1, 2) DOT_BLOCK(1, 3) DOT_BLOCK(1, 4) DOT_BLOCK(1, 5) DOT_BLOCK(1, 6)
DOT_BLOCK(2, 1) DOT_BLOCK(2, 2) DOT_BLOCK(2, 3) DOT_BLOCK(2, 4) DOT_BLOCK(2, 5) DOT_BLOCK(2, 6)

typedef void (*dot_block_fn)(long kc, const float *a, long lda, const float *bt, long ldbt,
                             __m256 (*part)[NARROW_AT_N]);
static const dot_block_fn dot_blocks[2][6] = {
    {dot_block_1_1, dot_block_1_2, dot_block_1_3, dot_block_1_4, dot_block_1_5, dot_block_1_6},
    {dot_block_2_1, dot_block_2_2, dot_block_2_3, dot_block_2_4, dot_block_2_5, dot_block_2_6}};

void nnc_rt_gemm_narrow_dot(long i0, long i1, int N, int K, float alpha, const float *A, long lda,
                            const float *B, long ldb, int tb, float *C, long ldc)
{
    float btbuf[NARROW_AT_N * DOT_KC];
    __m256 part[DOT_MG][NARROW_AT_N];
    const int groups = (N + 5) / 6;
    long ig, p0, r, p;
    int g, j0, j;
    for (ig = i0; ig < i1; ig += DOT_MG) {
        const long mg = i1 - ig < DOT_MG ? i1 - ig : DOT_MG;
        for (r = 0; r < mg; r++)
            for (j = 0; j < N; j++)
                part[r][j] = _mm256_setzero_ps();
        for (p0 = 0; p0 < K; p0 += DOT_KC) {
            const long kc = K - p0 < DOT_KC ? K - p0 : DOT_KC;
            const float *bt = B + p0;
            long ldbt = ldb;
            if (!tb) { /* row j of B^T's chunk from column j of B's rows */
                for (p = 0; p + 8 <= kc; p += 8) {
                    for (j0 = 0; j0 + 8 <= N; j0 += 8) {
                        __m256 t[8];
                        int l;
                        for (l = 0; l < 8; l++)
                            t[l] = _mm256_loadu_ps(B + (p0 + p + l) * ldb + j0);
                        nnc_rt_transpose_8x8(t);
                        for (l = 0; l < 8; l++)
                            _mm256_storeu_ps(btbuf + (j0 + l) * DOT_KC + p, t[l]);
                    }
                    for (j = j0; j < N; j++)
                        for (int l = 0; l < 8; l++)
                            btbuf[j * DOT_KC + p + l] = B[(p0 + p + l) * ldb + j];
                }
                for (; p < kc; p++)
                    for (j = 0; j < N; j++)
                        btbuf[j * DOT_KC + p] = B[(p0 + p) * ldb + j];
                bt = btbuf;
                ldbt = DOT_KC;
            }
            for (r = 0; r < mg; r += 2) {
                const int rows = mg - r < 2 ? 1 : 2;
                for (g = 0, j0 = 0; g < groups; g++) {
                    int nj = (N - j0 + groups - g - 1) / (groups - g);
                    dot_blocks[rows - 1][nj - 1](kc, A + (ig + r) * lda + p0, lda, bt + j0 * ldbt, ldbt,
                                                 (__m256 (*)[NARROW_AT_N])&part[r][j0]);
                    j0 += nj;
                }
            }
        }
        for (r = 0; r < mg; r++)
            for (j = 0; j < N; j++)
                C[(ig + r) * ldc + j] = alpha * hsum8(part[r][j]);
    }
}
#else
typedef int nnc_rt_gemm_narrow_absent; /* ISO C: a translation unit declares something */
#endif
