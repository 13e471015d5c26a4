/* q8_dense_neon.c — int8 dense on AArch64 NEON (nnc_rt_q8_kernels.h): 4 rows
 * of x by 4 output channels as 16 int32x4 accumulators along k, 16 k a
 * step, added across lanes at the end.  With the dot-product extension
 * (__ARM_FEATURE_DOTPROD) one SDOT per 16 MACs; without, SMULL/SMULL2 to
 * int16 (each product of int8s fits: |x w| <= 2^14) and SADALP pairwise
 * into int32, exact. */
#include "nnc_rt_q8_kernels.h"

#if defined(__ARM_NEON) && defined(__aarch64__)
#include <arm_neon.h>

#include "q8_internal.h"

static inline int32x4_t mac16(int32x4_t acc, int8x16_t a, int8x16_t b) {
#if defined(__ARM_FEATURE_DOTPROD)
    return vdotq_s32(acc, a, b);
#else
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
    return vpadalq_s16(acc, vmull_high_s8(a, b));
#endif
}

NNC_RT_Q8_DENSE_KERNEL(nnc_rt_q8_dense_4x4__neon) {
    q8_epi e = q8_epi_of(o, m);
    if (k > NNC_RT_Q8_KMAX || !e.ok) return 0;
    int kv = k / 16 * 16;
    for (int j0 = 0; j0 < m; j0 += 4) {
        int mj = m - j0 < 4 ? m - j0 : 4;
        const int8_t *wr[4];
        for (int jj = 0; jj < 4; jj++) wr[jj] = w + (long)(j0 + (jj < mj ? jj : 0)) * k;
        for (int i0 = 0; i0 < n; i0 += 4) {
            int mi = n - i0 < 4 ? n - i0 : 4;
            const int8_t *xr[4];
            for (int ii = 0; ii < 4; ii++) xr[ii] = x + (long)(i0 + (ii < mi ? ii : 0)) * k;
            int32x4_t a[4][4];
            for (int ii = 0; ii < 4; ii++)
                for (int jj = 0; jj < 4; jj++) a[ii][jj] = vdupq_n_s32(0);
            for (int t = 0; t < kv; t += 16) {
                int8x16_t xv[4], wv[4];
                for (int ii = 0; ii < 4; ii++) xv[ii] = vld1q_s8(xr[ii] + t);
                for (int jj = 0; jj < 4; jj++) wv[jj] = vld1q_s8(wr[jj] + t);
                for (int ii = 0; ii < 4; ii++)
                    for (int jj = 0; jj < 4; jj++) a[ii][jj] = mac16(a[ii][jj], xv[ii], wv[jj]);
            }
            for (int ii = 0; ii < mi; ii++)
                for (int jj = 0; jj < mj; jj++) {
                    int32_t s = vaddvq_s32(a[ii][jj]);
                    for (int t = kv; t < k; t++) s += (int32_t)xr[ii][t] * wr[jj][t];
                    int j = j0 + jj;
                    y[(long)(i0 + ii) * m + j] = q8_epi_out(&e, q8_sat_add(bias ? bias[j] : 0, s), j);
                }
        }
    }
    return 1;
}

#else
typedef int nnc_rt_q8_dense_neon_empty; /* ISO C: a translation unit is not empty */
#endif
