/* gemm_small.c — the GEMM's paths for products too small to pack for:
 * fewer than SMALL_M rows (one sample at inference) or a K below it (a
 * rank-K update, a weight gradient at batch 1).
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
