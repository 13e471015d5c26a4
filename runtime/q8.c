/* q8.c — the int8 products generated code calls (nnc_rt_q8.h): each picks
 * the best kernel of nnc_rt_q8_kernels.h the target's macros allow, and the
 * reference for what no kernel takes (k beyond NNC_RT_Q8_KMAX, a zero
 * point outside int8, a shift the reference leaves undefined). */
#include "nnc_rt_q8_kernels.h"

const nnc_rt_q8_dense_variant nnc_rt_q8_dense_variants[] = {
    {"nnc_rt_q8_dense_2x4__c", nnc_rt_q8_dense_2x4__c, 0},
#if defined(__ARM_FEATURE_DSP)
    {"nnc_rt_q8_dense_1x2__dsp", nnc_rt_q8_dense_1x2__dsp, 0},
#endif
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
    {"nnc_rt_q8_dense_8x32__avx512vnni", nnc_rt_q8_dense_8x32__avx512vnni, 0},
    {"nnc_rt_q8_dense_4x4__avx512vnni", nnc_rt_q8_dense_4x4__avx512vnni, 0},
#endif
#if defined(__AVX2__)
    {"nnc_rt_q8_dense_6x16__avx2", nnc_rt_q8_dense_6x16__avx2, 0},
    {"nnc_rt_q8_dense_5x2__avx2", nnc_rt_q8_dense_5x2__avx2, 0},
#endif
#if defined(__ARM_NEON) && defined(__aarch64__)
    {"nnc_rt_q8_dense_4x4__neon", nnc_rt_q8_dense_4x4__neon, 0},
#endif
    {"nnc_rt_q8_dense_packed_1x4__c", nnc_rt_q8_dense_packed_1x4__c, 1},
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
    {"nnc_rt_q8_dense_packed_8x32__avx512vnni", nnc_rt_q8_dense_packed_8x32__avx512vnni, 1},
#endif
#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__) && defined(__thumb2__)
    {"nnc_rt_q8_dense_packed_1x4__dsp", nnc_rt_q8_dense_packed_1x4__dsp, 1},
#endif
    {0, 0, 0},
};

const nnc_rt_q8_conv2d_variant nnc_rt_q8_conv2d_variants[] = {
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
    {"nnc_rt_q8_conv2d_rows_8x32__avx512vnni", nnc_rt_q8_conv2d_rows_8x32__avx512vnni},
    {"nnc_rt_q8_conv2d_bcast_1x16__avx512vnni", nnc_rt_q8_conv2d_bcast_1x16__avx512vnni},
#endif
#if defined(__AVX2__) && defined(__FMA__)
    {"nnc_rt_q8_conv2d_rows_6x16__avx2", nnc_rt_q8_conv2d_rows_6x16__avx2},
#endif
    {"nnc_rt_q8_conv2d_im2col_4x4__c", nnc_rt_q8_conv2d_im2col_4x4__c},
#if defined(__ARM_FEATURE_DSP)
    {"nnc_rt_q8_conv2d_im2col_4x1__dsp", nnc_rt_q8_conv2d_im2col_4x1__dsp},
    {"nnc_rt_q8_conv2d_dw_2x1__dsp", nnc_rt_q8_conv2d_dw_2x1__dsp},
#endif
    {"nnc_rt_q8_conv2d_direct__c", nnc_rt_q8_conv2d_direct__c},
    {0, 0},
};

void nnc_rt_q8_dense(int8_t *y, const int8_t *x, const int8_t *w, const int32_t *bias,
                     int n, int k, int m, const nnc_rt_q8_out *o) {
    if (n <= 0 || m <= 0) return;
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
    if (nnc_rt_q8_dense_8x32__avx512vnni(y, x, w, bias, n, k, m, o)) return;
    if (nnc_rt_q8_dense_4x4__avx512vnni(y, x, w, bias, n, k, m, o)) return;
#elif defined(__AVX2__)
    if (m >= 16 && nnc_rt_q8_dense_6x16__avx2(y, x, w, bias, n, k, m, o)) return;
    if (nnc_rt_q8_dense_5x2__avx2(y, x, w, bias, n, k, m, o)) return;
#elif defined(__ARM_FEATURE_DSP)
    if (nnc_rt_q8_dense_1x2__dsp(y, x, w, bias, n, k, m, o)) return;
#elif defined(__ARM_NEON) && defined(__aarch64__)
    if (nnc_rt_q8_dense_4x4__neon(y, x, w, bias, n, k, m, o)) return;
#else
    if (nnc_rt_q8_dense_2x4__c(y, x, w, bias, n, k, m, o)) return;
#endif
    nnc_rt_q8_dense_ref(y, x, w, bias, n, k, m, o);
}

/* where w[j, t] sits in the packed layout */
static long packed_at(int j, int t, int m, int k) {
    int kq = k / 4 * 4, j0 = j / 4 * 4, b = m - j0 < 4 ? m - j0 : 4, r = j - j0;
    return (long)j0 * k + (t < kq ? (long)(t / 4) * 4 * b + r * 4 + t % 4 : (long)b * kq + (long)r * (k - kq) + (t - kq));
}

/* the reference's definition on the packed bytes, out of line: its frame
 * would otherwise be the dispatcher's on every call (firmware RAM counts
 * the stack's peak) */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void dense_packed_ref(int8_t *y, const int8_t *x, const int8_t *wp, const int32_t *bias, int n, int k, int m,
                             const nnc_rt_q8_out *o) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++) {
            int64_t acc = bias ? bias[j] : 0;
            for (int t = 0; t < k; t++) acc += (int64_t)x[(long)i * k + t] * wp[packed_at(j, t, m, k)];
            int c = o->per_channel ? j : 0;
            int32_t a = acc > INT32_MAX ? INT32_MAX : acc < INT32_MIN ? INT32_MIN : (int32_t)acc;
            int64_t v = (int64_t)o->zp + nnc_rt_q8_rescale(a, o->mult[c], o->shift[c]);
            if (v < o->lo) v = o->lo;
            if (v > o->hi) v = o->hi;
            y[(long)i * m + j] = (int8_t)v;
        }
}

void nnc_rt_q8_dense_packed(int8_t *y, const int8_t *x, const int8_t *wp, const int32_t *bias,
                            int n, int k, int m, const nnc_rt_q8_out *o) {
    if (n <= 0 || m <= 0) return;
#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__) && defined(__thumb2__)
    if (nnc_rt_q8_dense_packed_1x4__dsp(y, x, wp, bias, n, k, m, o)) return;
#endif
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
    if (nnc_rt_q8_dense_packed_8x32__avx512vnni(y, x, wp, bias, n, k, m, o)) return;
#endif
    if (nnc_rt_q8_dense_packed_1x4__c(y, x, wp, bias, n, k, m, o)) return;
    dense_packed_ref(y, x, wp, bias, n, k, m, o);
}

void nnc_rt_q8_conv2d(const nnc_rt_conv2d *p, int8_t *y, const int8_t *x, int32_t x_zp,
                      const int8_t *w, const int32_t *bias, void *scratch, int n,
                      const nnc_rt_q8_out *o) {
    if (n <= 0) return;
    if (p->groups == 1) {
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
        if (nnc_rt_q8_conv2d_rows_8x32__avx512vnni(p, y, x, x_zp, w, bias, scratch, n, o)) return;
        if (nnc_rt_q8_conv2d_bcast_1x16__avx512vnni(p, y, x, x_zp, w, bias, scratch, n, o)) return;
#elif defined(__AVX2__) && defined(__FMA__)
        if (nnc_rt_q8_conv2d_rows_6x16__avx2(p, y, x, x_zp, w, bias, scratch, n, o)) return;
#endif
#if defined(__ARM_FEATURE_DSP)
        if (nnc_rt_q8_conv2d_im2col_4x1__dsp(p, y, x, x_zp, w, bias, scratch, n, o)) return;
#else
        if (nnc_rt_q8_conv2d_im2col_4x4__c(p, y, x, x_zp, w, bias, scratch, n, o)) return;
#endif
    }
#if defined(__ARM_FEATURE_DSP)
    if (nnc_rt_q8_conv2d_dw_2x1__dsp(p, y, x, x_zp, w, bias, scratch, n, o)) return;
#endif
    if (nnc_rt_q8_conv2d_direct__c(p, y, x, x_zp, w, bias, scratch, n, o)) return;
    nnc_rt_q8_conv2d_ref(p, y, x, x_zp, w, bias, n, o);
}
