/* gemm_pack.c — how the GEMM lays its operands out for the micro-kernels:
 * the zero-padded M edge of A, slivers of B (transposed with an 8x8
 * shuffle on AVX2), and B in panels (nnc_rt_gemm_pack_b: constant weights
 * laid out once, at compile time, so that inference packs nothing).
 *
 * Design: only B is ever packed, once per product; A is read in place by
 * the kernels through two strides (gemm.c says why).
 */
#include "gemm_internal.h"

/* ap = rows [i0, i0 + rows) of op(A), columns [p0, p0 + kc), as one (kc, mr)
 * sliver — ap[p*mr + i] — with rows past `rows` zero: the M edge, which the
 * kernels (reading mr rows of A in place) would otherwise run off.  The
 * zeros are written only when `zero` is set: every K block of a product
 * packs the same rows into the same buffer, no deeper than the first.
 * One row (or, transposed, one step's adjacent values) at a time, with no
 * test in the inner loop: a choice per element was a fifth of a
 * 32 x 10 x 2048 product, the zeros another tenth. */
void nnc_rt_gemm_pack_a_edge(float *restrict ap, int ta, const float *restrict A, long lda,
                             long i0, long p0, int rows, int kc, int mr, int zero)
{
    int i, p;
    if (ta) {
        for (p = 0; p < kc; p++) {
            const float *restrict src = A + (p0 + p) * lda + i0;
            for (i = 0; i < rows; i++)
                ap[p * mr + i] = src[i];
        }
    } else {
        for (i = 0; i < rows; i++) {
            const float *restrict src = A + (i0 + i) * lda + p0;
            for (p = 0; p < kc; p++)
                ap[p * mr + i] = src[p];
        }
    }
    if (zero)
        for (p = 0; p < kc; p++)
            for (i = rows; i < mr; i++)
                ap[p * mr + i] = 0.0f;
}


/* Where column j of a B that is not transposed starts, and the strides:
 * op(B)[p, j + l] = b[p*rs + l*cs].  ldb == 0 says B is in panels
 * (nnc_rt_gemm_pack_b): NNC_RT_GEMM_PANEL columns at a time, each panel
 * its K rows one after the other (rs = 64, cs = 1), so a kernel streams it
 * contiguously — except a last, narrower panel, which is stored transposed
 * (rs = 1, cs = K): its few columns are then long contiguous vectors, and
 * one sample's product with them is a handful of dot products (a
 * classifier's ten outputs) instead of a 10-wide loop.  32 columns: the
 * AVX-512 kernel's sliver is one panel, read in place at any M.  Every
 * column group the kernels take (8, 16 or 32 wide, starting at a multiple
 * of its width; the small-M path's 64 as two halves) lies inside one panel. */
const float *nnc_rt_gemm_bcols(const float *B, long ldb, long K, long N, long j, long *rs,
                               long *cs)
{
    long j0 = j / NNC_RT_GEMM_PANEL * NNC_RT_GEMM_PANEL;
    *cs = 1;
    if (ldb) {
        *rs = ldb;
        return B + j;
    }
    if (N - j0 < NNC_RT_GEMM_PANEL) { /* the narrow last panel: transposed */
        *rs = 1;
        *cs = K;
        return B + j0 * K + (j - j0) * K;
    }
    *rs = NNC_RT_GEMM_PANEL;
    return B + j0 * K + (j - j0);
}

void nnc_rt_gemm_pack_b(float *dst, const float *B, int K, int N)
{
    long j0, p, j;
    for (j0 = 0; j0 < N; j0 += NNC_RT_GEMM_PANEL) {
        long w = N - j0 < NNC_RT_GEMM_PANEL ? N - j0 : NNC_RT_GEMM_PANEL;
        if (w < NNC_RT_GEMM_PANEL) { /* the narrow last panel, transposed */
            for (j = 0; j < w; j++)
                for (p = 0; p < K; p++)
                    *dst++ = B[p * N + j0 + j];
        } else {
            for (p = 0; p < K; p++)
                for (j = 0; j < w; j++)
                    *dst++ = B[p * N + j0 + j];
        }
    }
}

/* bp = the (kc, nr) sliver of op(B) at (p0, j0), nc <= nr valid columns,
 * the rest zero (B not transposed: B points at the sliver's column 0). */
void nnc_rt_gemm_pack_b_sliver(float *restrict bp, int tb, const float *restrict B, long ldb,
                               long p0, long j0, int kc, int nc, int nr)
{
    int p, j;
    if (tb) { /* op(B)[p,j] = B[j,p]: each row of B is one column of the sliver */
        j = 0;
#if defined(__AVX2__)
        for (; j + 8 <= nc; j += 8) {
            const float *src = B + (j0 + j) * ldb + p0;
            for (p = 0; p + 8 <= kc; p += 8)
                nnc_rt_transpose_8x8_copy(bp + p * nr + j, nr, src + p, ldb);
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
    } else if (nc == NR_MAX && nr == NR_MAX) { /* a whole sliver: fixed-width rows */
        for (p = 0; p < kc; p++) {
            const float *restrict src = B + (p0 + p) * ldb + j0;
            for (j = 0; j < NR_MAX; j++)
                bp[p * NR_MAX + j] = src[j];
        }
    } else {
#if defined(__AVX2__)
        /* a narrow sliver (a classifier's ten columns): masked loads, which
         * read nothing past column nc, instead of a copy and a zero fill
         * per row (two library calls each: 20 % of a 32 x 10 x 2048
         * product) */
        if (nr % 8 == 0 && nr <= NR_MAX) {
            __m256i mask[NR_MAX / 8];
            int v;
            for (v = 0; v < nr / 8; v++)
                mask[v] = _mm256_cmpgt_epi32(_mm256_set1_epi32(nc - 8 * v), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
            for (p = 0; p < kc; p++) {
                const float *src = B + (p0 + p) * ldb + j0;
                for (v = 0; v < nr / 8; v++)
                    _mm256_storeu_ps(bp + p * nr + 8 * v, _mm256_maskload_ps(src + 8 * v, mask[v]));
            }
            return;
        }
#endif
        for (p = 0; p < kc; p++) {
            const float *src = B + (p0 + p) * ldb + j0;
            for (j = 0; j < nc; j++)
                bp[p * nr + j] = src[j];
            for (; j < nr; j++)
                bp[p * nr + j] = 0.0f;
        }
    }
}
