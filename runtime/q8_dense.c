/* q8_dense.c — the portable int8 dense kernels (nnc_rt_q8_kernels.h) and
 * the Cortex-M4 weight layout's packing. */
#include "nnc_rt_q8_kernels.h"
#include "q8_internal.h"

/* sum_t x[t] w[t] over k in int32 (exact for k <= NNC_RT_Q8_KMAX) */
static int32_t dot(const int8_t *restrict x, const int8_t *restrict w, int k) {
    int32_t s = 0;
    for (int t = 0; t < k; t++) s += (int32_t)x[t] * w[t];
    return s;
}

NNC_RT_Q8_DENSE_KERNEL(nnc_rt_q8_dense_2x4__c) {
    q8_epi e = q8_epi_of(o, m);
    if (k > NNC_RT_Q8_KMAX || !e.ok) return 0;
    int i = 0;
    for (; i + 2 <= n; i += 2) {
        const int8_t *restrict x0 = x + (long)i * k, *restrict x1 = x0 + k;
        int8_t *y0 = y + (long)i * m, *y1 = y0 + m;
        int j = 0;
        for (; j + 4 <= m; j += 4) {
            const int8_t *restrict w0 = w + (long)j * k, *restrict w1 = w0 + k;
            const int8_t *restrict w2 = w1 + k, *restrict w3 = w2 + k;
            int32_t a00 = 0, a01 = 0, a02 = 0, a03 = 0, a10 = 0, a11 = 0, a12 = 0, a13 = 0;
            for (int t = 0; t < k; t++) {
                int32_t u = x0[t], v = x1[t];
                a00 += u * w0[t]; a01 += u * w1[t]; a02 += u * w2[t]; a03 += u * w3[t];
                a10 += v * w0[t]; a11 += v * w1[t]; a12 += v * w2[t]; a13 += v * w3[t];
            }
            int32_t b0 = bias ? bias[j] : 0, b1 = bias ? bias[j + 1] : 0;
            int32_t b2 = bias ? bias[j + 2] : 0, b3 = bias ? bias[j + 3] : 0;
            y0[j] = q8_epi_out(&e, q8_sat_add(b0, a00), j);
            y0[j + 1] = q8_epi_out(&e, q8_sat_add(b1, a01), j + 1);
            y0[j + 2] = q8_epi_out(&e, q8_sat_add(b2, a02), j + 2);
            y0[j + 3] = q8_epi_out(&e, q8_sat_add(b3, a03), j + 3);
            y1[j] = q8_epi_out(&e, q8_sat_add(b0, a10), j);
            y1[j + 1] = q8_epi_out(&e, q8_sat_add(b1, a11), j + 1);
            y1[j + 2] = q8_epi_out(&e, q8_sat_add(b2, a12), j + 2);
            y1[j + 3] = q8_epi_out(&e, q8_sat_add(b3, a13), j + 3);
        }
        for (; j < m; j++) {
            const int8_t *wj = w + (long)j * k;
            int32_t b = bias ? bias[j] : 0;
            y0[j] = q8_epi_out(&e, q8_sat_add(b, dot(x0, wj, k)), j);
            y1[j] = q8_epi_out(&e, q8_sat_add(b, dot(x1, wj, k)), j);
        }
    }
    for (; i < n; i++) {
        const int8_t *restrict x0 = x + (long)i * k;
        int8_t *y0 = y + (long)i * m;
        int j = 0;
        for (; j + 4 <= m; j += 4) {
            const int8_t *restrict w0 = w + (long)j * k, *restrict w1 = w0 + k;
            const int8_t *restrict w2 = w1 + k, *restrict w3 = w2 + k;
            int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            for (int t = 0; t < k; t++) {
                int32_t u = x0[t];
                a0 += u * w0[t]; a1 += u * w1[t]; a2 += u * w2[t]; a3 += u * w3[t];
            }
            y0[j] = q8_epi_out(&e, q8_sat_add(bias ? bias[j] : 0, a0), j);
            y0[j + 1] = q8_epi_out(&e, q8_sat_add(bias ? bias[j + 1] : 0, a1), j + 1);
            y0[j + 2] = q8_epi_out(&e, q8_sat_add(bias ? bias[j + 2] : 0, a2), j + 2);
            y0[j + 3] = q8_epi_out(&e, q8_sat_add(bias ? bias[j + 3] : 0, a3), j + 3);
        }
        for (; j < m; j++)
            y0[j] = q8_epi_out(&e, q8_sat_add(bias ? bias[j] : 0, dot(x0, w + (long)j * k, k)), j);
    }
    return 1;
}

/* ---- the packed layout (nnc_rt_q8_kernels.h) -------------------------------------- */
void nnc_rt_q8_dense_pack(int8_t *wp, const int8_t *w, int m, int k) {
    int kq = k / 4 * 4;
    long at = 0;
    for (int j = 0; j < m; j += 4) {
        int b = m - j < 4 ? m - j : 4;
        for (int t = 0; t < kq; t += 4)
            for (int r = 0; r < b; r++)
                for (int u = 0; u < 4; u++) wp[at++] = w[(long)(j + r) * k + t + u];
        for (int r = 0; r < b; r++)
            for (int t = kq; t < k; t++) wp[at++] = w[(long)(j + r) * k + t];
    }
}

NNC_RT_Q8_DENSE_KERNEL(nnc_rt_q8_dense_packed_1x4__c) {
    q8_epi e = q8_epi_of(o, m);
    if (k > NNC_RT_Q8_KMAX || !e.ok) return 0;
    int kq = k / 4 * 4;
    for (int i = 0; i < n; i++) {
        const int8_t *restrict xi = x + (long)i * k;
        int8_t *yi = y + (long)i * m;
        for (int j = 0; j < m; j += 4) {
            int b = m - j < 4 ? m - j : 4;
            int32_t a[4] = {0, 0, 0, 0};
            const int8_t *restrict g = w + (long)j * k;
            for (int t = 0; t < kq; t += 4, g += 4 * b)
                for (int r = 0; r < b; r++)
                    a[r] += xi[t] * g[4 * r] + xi[t + 1] * g[4 * r + 1] + xi[t + 2] * g[4 * r + 2] +
                            xi[t + 3] * g[4 * r + 3];
            for (int r = 0; r < b; r++, g += k - kq)
                a[r] += dot(xi + kq, g, k - kq);
            for (int r = 0; r < b; r++)
                yi[j + r] = q8_epi_out(&e, q8_sat_add(bias ? bias[j + r] : 0, a[r]), j + r);
        }
    }
    return 1;
}
