/* gemm_small.c — the GEMM's paths for products too small to pack for:
 * fewer than SMALL_M rows (one sample at inference) or a K below it (a
 * rank-K update, a weight gradient at batch 1); and for products too
 * narrow for the blocked path's tiles (at most NARROW_AT_N columns, on
 * AVX2).  One file, which every build's gemm.c calls into, so that
 * --standalone carries these paths whatever the target it is compiled for.
 *
 * Design: packing B would cost as much as such a product, so rows of C
 * are computed straight from A and B, with enough independent
 * accumulators to hide the FMA latency, summed in a fixed order so that
 * results are deterministic.
 */
#include "gemm_internal.h"

/* ---- small M -----------------------------------------------------------------
 * Fewer rows than SMALL_M: packing B would cost as much as the product, so
 * each row of C is computed straight from A and B (one sample at inference
 * costs one sample).
 *   tb == 0: c[i, j] = sum_p a(i,p) B[p, j], 64 columns at a time held in
 *            four 16-float accumulators while the rows of B stream past;
 *   tb == 1: c[i, j] = a(i,:) . B[j,:], a dot product of two contiguous
 *            rows in 32 independent lanes (vectorises without
 *            reassociation), the lanes summed in a fixed order. */
/* out[0:64] = sum_p a[p*as] * (b[p*ldb + 0:32], b2[p*ldb + 0:32]): two
 * 32-column halves (adjacent panels, or b2 = b + 32).  Not inlined: its
 * accumulators (512 bytes on a core without vector registers) would sit in
 * every caller's frame, also where the narrow path runs instead */
static NOINLINE void small_axpy_64(long K, const float *restrict a, long as,
                                   const float *restrict b, const float *restrict b2, long ldb,
                                   float *restrict out)
{
    /* even and odd rows of b in separate accumulators: eight independent
     * chains of multiply-adds, enough to hide the FMA latency */
    float c0[16] = {0}, c1[16] = {0}, c2[16] = {0}, c3[16] = {0};
    float d0[16] = {0}, d1[16] = {0}, d2[16] = {0}, d3[16] = {0};
    long p;
    int l;
    for (p = 0; p + 2 <= K; p += 2) {
        float s = a[p * as], t = a[(p + 1) * as];
        const float *restrict bp = b + p * ldb, *restrict bq = bp + ldb;
        const float *restrict bp2 = b2 + p * ldb, *restrict bq2 = bp2 + ldb;
        for (l = 0; l < 16; l++) {
            c0[l] = MADD(s, bp[l], c0[l]);
            c1[l] = MADD(s, bp[16 + l], c1[l]);
            c2[l] = MADD(s, bp2[l], c2[l]);
            c3[l] = MADD(s, bp2[16 + l], c3[l]);
            d0[l] = MADD(t, bq[l], d0[l]);
            d1[l] = MADD(t, bq[16 + l], d1[l]);
            d2[l] = MADD(t, bq2[l], d2[l]);
            d3[l] = MADD(t, bq2[16 + l], d3[l]);
        }
    }
    if (p < K) {
        float s = a[p * as];
        const float *restrict bp = b + p * ldb, *restrict bp2 = b2 + p * ldb;
        for (l = 0; l < 16; l++) {
            c0[l] = MADD(s, bp[l], c0[l]);
            c1[l] = MADD(s, bp[16 + l], c1[l]);
            c2[l] = MADD(s, bp2[l], c2[l]);
            c3[l] = MADD(s, bp2[16 + l], c3[l]);
        }
    }
    for (l = 0; l < 16; l++) {
        out[l] = c0[l] + d0[l];
        out[16 + l] = c1[l] + d1[l];
        out[32 + l] = c2[l] + d2[l];
        out[48 + l] = c3[l] + d3[l];
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

/* x . y over k contiguous floats in DOT_LANES independent lanes (64: four
 * vector accumulators on AVX-512, enough chains to keep the loads flowing;
 * 8 on a microcontroller, whose stack they live on), summed pairwise in a
 * fixed order, then the tail */
#if defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'
#define DOT_LANES 8
#else
#define DOT_LANES 64
#endif
static float small_dot(long k, const float *restrict x, const float *restrict y)
{
    float lane[DOT_LANES] = {0}, s = 0.0f;
    long q, nb = k / DOT_LANES;
    int l, h;
    for (q = 0; q < nb; q++) {
        const float *restrict xq = x + DOT_LANES * q, *restrict yq = y + DOT_LANES * q;
        for (l = 0; l < DOT_LANES; l++)
            lane[l] = MADD(xq[l], yq[l], lane[l]);
    }
    for (h = DOT_LANES / 2; h >= 4; h /= 2) /* pairwise tree: vectorises, fixed order */
        for (l = 0; l < h; l++)
            lane[l] += lane[l + h];
    s = (lane[0] + lane[2]) + (lane[1] + lane[3]);
    for (q = nb * DOT_LANES; q < k; q++)
        s = MADD(x[q], y[q], s);
    return s;
}

/* out[c] = x . y[c*ys : c*ys + k] for c < n: DOT_COLS dot products per
 * pass over x, so that x (a batch-1 input, often larger than L1) streams
 * from cache once per DOT_COLS columns instead of once per column (the
 * last pass repeats its last column to fill up); each in DOT_COL_LANES
 * lanes summed in a fixed order like small_dot's */
#if defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'
#define DOT_COLS 1          /* the lanes live on a small stack */
#define DOT_COL_LANES 8
#else
#define DOT_COLS 4
#define DOT_COL_LANES 32
#endif
static void small_dots(long k, const float *restrict x, const float *y, long ys, int n,
                       float *restrict out)
{
    int c0, c, l, h;
    for (c0 = 0; c0 < n; c0 += DOT_COLS) {
        float lane[DOT_COLS][DOT_COL_LANES] = {{0}};
        const float *yc[DOT_COLS];
        long q, nb = k / DOT_COL_LANES;
        for (c = 0; c < DOT_COLS; c++)
            yc[c] = y + (c0 + c < n ? c0 + c : n - 1) * ys;
        for (q = 0; q < nb; q++) {
            const float *restrict xq = x + DOT_COL_LANES * q;
            for (c = 0; c < DOT_COLS; c++) {
                const float *restrict yq = yc[c] + DOT_COL_LANES * q;
                for (l = 0; l < DOT_COL_LANES; l++)
                    lane[c][l] = MADD(xq[l], yq[l], lane[c][l]);
            }
        }
        for (c = 0; c < DOT_COLS && c0 + c < n; c++) {
            float s;
            for (h = DOT_COL_LANES / 2; h >= 4; h /= 2)
                for (l = 0; l < h; l++)
                    lane[c][l] += lane[c][l + h];
            s = (lane[c][0] + lane[c][2]) + (lane[c][1] + lane[c][3]);
            for (q = nb * DOT_COL_LANES; q < k; q++)
                s = MADD(x[q], yc[c][q], s);
            out[c0 + c] = s;
        }
    }
}

/* x[0], x[xs], ... . y over k floats (A transposed against a contiguous column) */
static float strided_dot(long k, const float *x, long xs, const float *y)
{
    float s = 0.0f;
    long q;
    for (q = 0; q < k; q++)
        s = MADD(x[q * xs], y[q], s);
    return s;
}

void nnc_rt_gemm_small_m(int ta, int tb, int M, int N, int K, float alpha, const float *A,
                         long lda, const float *B, long ldb, float beta, float *C, long ldc,
                         int narrow)
{
    float acc[64];
    long as = ta ? lda : 1, i, j, p;  /* a(i, p) = A[i * ai + p * as] */
    long ai = ta ? 1 : lda;
    int l;
    if (!tb) {
        for (i = 0; i < M; i++) {
            float *c = C + i * ldc;
            int step = narrow ? 8 : 64, w;
            long full = ldb ? N : N / NNC_RT_GEMM_PANEL * NNC_RT_GEMM_PANEL; /* before the narrow panel */
            for (j = 0; j < N; j += w) {
                long bs, bc;
                const float *bj = nnc_rt_gemm_bcols(B, ldb, K, N, j, &bs, &bc);
                w = N - j < step ? (int)(N - j) : step;
                if (j < full && j + w > full) /* not into the transposed panel */
                    w = (int)(full - j);
                if (bc != 1 && ta) /* a transposed panel: one dot product per column */
                    for (l = 0; l < w; l++)
                        acc[l] = strided_dot(K, A + i, lda, bj + l * bc);
                else if (bc != 1)
                    small_dots(K, A + i * lda, bj, bc, w, acc);
                else if (w == 64) {
                    long bs2, bc2;
                    small_axpy_64(K, A + i * ai, as, bj, nnc_rt_gemm_bcols(B, ldb, K, N, j + 32, &bs2, &bc2), bs, acc);
                }
                else if (w == 8 && narrow)
                    small_axpy_8(K, A + i * ai, as, bj, bs, acc);
                else
                    small_axpy_tail(K, A + i * ai, as, bj, bs, acc, w);
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
void nnc_rt_gemm_small_k(int ta, int tb, int M, int N, int K, float alpha, const float *A,
                         long lda, const float *B, long ldb, float beta, float *C, long ldc)
{
    long i, j, j0, p;
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
                for (j0 = 0; j0 < N; j0 += NNC_RT_GEMM_PANEL) {
                    long w = N - j0 < NNC_RT_GEMM_PANEL ? N - j0 : NNC_RT_GEMM_PANEL, bs, bc;
                    const float *bj = nnc_rt_gemm_bcols(B, ldb, K, N, j0, &bs, &bc) + p * bs;
                    for (j = 0; j < w; j++)
                        c[j0 + j] = MADD(a, bj[j * bc], c[j0 + j]);
                }
        }
    }
}

/* ---- narrow products ---------------------------------------------------------
 * C = alpha A^T B for a narrow C (N <= NARROW_AT_N columns)
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

/* the width of column group g of `groups` (of at most 6 columns, as even
 * as can be: 10 = 5 + 5) that starts at column j0 of N */
static int group_width(int N, int j0, int g, int groups)
{
    return (N - j0 + groups - g - 1) / (groups - g);
}

typedef void (*narrow_block_fn)(long K, const float *a, long lda, const float *b, long ldb, float *c,
                                long ldc, float alpha);
static const narrow_block_fn narrow_blocks[6] = {narrow_block_1, narrow_block_2, narrow_block_3,
                                                 narrow_block_4, narrow_block_5, narrow_block_6};

void nnc_rt_gemm_narrow_at(long i0, long i1, int N, int K, float alpha, const float *A, long lda,
                           const float *B, long ldb, float *C, long ldc)
{
    const int groups = (N + 5) / 6;
    long i, p;
    int g, j0, j;
    for (i = i0; i + 16 <= i1; i += 16)
        for (g = 0, j0 = 0; g < groups; g++) {
            const int nj = group_width(N, j0, g, groups);
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
                    for (j0 = 0; j0 + 8 <= N; j0 += 8)
                        nnc_rt_transpose_8x8_copy(btbuf + j0 * DOT_KC + p, DOT_KC, B + (p0 + p) * ldb + j0, ldb);
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
                    const int nj = group_width(N, j0, g, groups);
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
#endif
