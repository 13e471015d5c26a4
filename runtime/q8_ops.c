/* q8_ops.c — the int8 kernels that are not products (nnc_rt_q8.h): the
 * float boundaries (quantize, dequantize, softmax), pools, add and the
 * rescaled copy concat uses.  Plain loops (quantize also in SIMD: every
 * model's input passes it): these run once per element of small tensors,
 * next to the products that cost the time; each one's
 * integers are its definition (tests/test_q8_ops.c checks them against a
 * literal reading of that definition). */
#include <math.h>
#include <string.h>

#include "nnc_rt.h"

static int8_t q8_clamp(int32_t v, int32_t lo, int32_t hi) {
    return (int8_t)(v < lo ? lo : v > hi ? hi : v);
}

/* the definition on one value: the float division, then floorf(|r| + 0.5f)
 * (a float addition) with r's sign; NaN is zp, beyond +-1e6 saturates */
static int8_t q8_quantize1(float v, float scale, int32_t zp) {
    float r = v / scale;
    int32_t q;
    if (r != r) q = zp;
    else if (r > 1e6f) q = 127;
    else if (r < -1e6f) q = -128;
    else q = zp + (int32_t)(r >= 0 ? floorf(r + 0.5f) : -floorf(-r + 0.5f));
    return q8_clamp(q, -128, 127);
}

/* The input of every int8 model passes here (256 x 784 values a batch of
 * the seed MLP: its scalar form took longer than the network's products),
 * so x86 takes 16 (AVX-512) or 8 (AVX2) values a step with the same float
 * operations in the same order (the division is IEEE's on every ISA):
 * |r| + 0.5f, floored, negated where r < 0, zp added; the special cases
 * by mask; the rest, and a zp whose sum could leave int32, one at a time. */
#if defined(__AVX512F__) && defined(__AVX512BW__)
#include <immintrin.h>
static long q8_quantize_simd(int8_t *y, const float *x, long count, float scale, int32_t zp) {
    const __m512 s = _mm512_set1_ps(scale), half = _mm512_set1_ps(0.5f), big = _mm512_set1_ps(1e6f),
                 nbig = _mm512_set1_ps(-1e6f), cap = _mm512_set1_ps(2e6f), zero = _mm512_setzero_ps();
    const __m512i zpv = _mm512_set1_epi32(zp);
    long i = 0;
    for (; i + 16 <= count; i += 16) {
        __m512 r = _mm512_div_ps(_mm512_loadu_ps(x + i), s);
        __mmask16 nan = _mm512_cmp_ps_mask(r, r, _CMP_UNORD_Q), hi = _mm512_cmp_ps_mask(r, big, _CMP_GT_OQ),
                  lo = _mm512_cmp_ps_mask(r, nbig, _CMP_LT_OQ), neg = _mm512_cmp_ps_mask(r, zero, _CMP_LT_OQ);
        __m512 f = _mm512_roundscale_ps(_mm512_add_ps(_mm512_abs_ps(r), half), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
        __m512i q = _mm512_cvttps_epi32(_mm512_min_ps(f, cap));
        q = _mm512_add_epi32(_mm512_mask_sub_epi32(q, neg, _mm512_setzero_si512(), q), zpv);
        q = _mm512_mask_mov_epi32(q, hi, _mm512_set1_epi32(127));
        q = _mm512_mask_mov_epi32(q, lo, _mm512_set1_epi32(-128));
        q = _mm512_mask_mov_epi32(q, nan, zpv);
        _mm_storeu_si128((__m128i *)(y + i), _mm512_cvtsepi32_epi8(q));
    }
    return i;
}
#define Q8_QUANTIZE_SIMD 1
#elif defined(__AVX2__)
#include <immintrin.h>
static long q8_quantize_simd(int8_t *y, const float *x, long count, float scale, int32_t zp) {
    const __m256 s = _mm256_set1_ps(scale), half = _mm256_set1_ps(0.5f), big = _mm256_set1_ps(1e6f),
                 nbig = _mm256_set1_ps(-1e6f), cap = _mm256_set1_ps(2e6f), zero = _mm256_setzero_ps(),
                 sign = _mm256_set1_ps(-0.0f);
    const __m256i zpv = _mm256_set1_epi32(zp);
    long i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 r = _mm256_div_ps(_mm256_loadu_ps(x + i), s);
        __m256 nan = _mm256_cmp_ps(r, r, _CMP_UNORD_Q), hi = _mm256_cmp_ps(r, big, _CMP_GT_OQ),
               lo = _mm256_cmp_ps(r, nbig, _CMP_LT_OQ), neg = _mm256_cmp_ps(r, zero, _CMP_LT_OQ);
        __m256 f = _mm256_floor_ps(_mm256_add_ps(_mm256_andnot_ps(sign, r), half));
        __m256i q = _mm256_cvttps_epi32(_mm256_min_ps(f, cap));
        q = _mm256_blendv_epi8(q, _mm256_sub_epi32(_mm256_setzero_si256(), q), _mm256_castps_si256(neg));
        q = _mm256_add_epi32(q, zpv);
        q = _mm256_blendv_epi8(q, _mm256_set1_epi32(127), _mm256_castps_si256(hi));
        q = _mm256_blendv_epi8(q, _mm256_set1_epi32(-128), _mm256_castps_si256(lo));
        q = _mm256_blendv_epi8(q, zpv, _mm256_castps_si256(nan));
        __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
        _mm_storel_epi64((__m128i *)(y + i), _mm_packs_epi16(w, w));
    }
    return i;
}
#define Q8_QUANTIZE_SIMD 1
#endif

void nnc_rt_q8_quantize(int8_t *y, const float *x, long count, float scale, int32_t zp) {
    long i = 0;
#ifdef Q8_QUANTIZE_SIMD
    if (zp >= -(1 << 24) && zp <= (1 << 24)) i = q8_quantize_simd(y, x, count, scale, zp);
#endif
    for (; i < count; i++) y[i] = q8_quantize1(x[i], scale, zp);
}

void nnc_rt_q8_dequantize(float *y, const int8_t *x, long count, float scale, int32_t zp) {
    for (long i = 0; i < count; i++) y[i] = scale * (float)((int32_t)x[i] - zp);
}

void nnc_rt_q8_requantize(int8_t *y, long ystride, const int8_t *x, long rows, long cols, int32_t x_zp,
                          int32_t mult, int shift, int32_t y_zp, int32_t lo, int32_t hi) {
    for (long r = 0; r < rows; r++) {
        int8_t *yr = y + r * ystride;
        const int8_t *xr = x + r * cols;
        if (!mult && !shift && x_zp == y_zp && lo == -128 && hi == 127) {
            memcpy(yr, xr, (size_t)cols);
            continue;
        }
        for (long c = 0; c < cols; c++)
            yr[c] = q8_clamp(y_zp + nnc_rt_q8_rescale((int32_t)xr[c] - x_zp, mult, shift), lo, hi);
    }
}

/* the valid cells [*y0, *y1) x [*x0, *x1) of output pixel (oy, ox): the float pools' windows */
static void q8_window(const nnc_rt_pool2d *p, int oy, int ox, int *y0, int *y1, int *x0, int *x1) {
    int iy = oy * p->sh - p->pt, ix = ox * p->sw - p->pl;
    *y0 = iy > 0 ? iy : 0;
    *x0 = ix > 0 ? ix : 0;
    *y1 = iy + p->kh < p->h ? iy + p->kh : p->h;
    *x1 = ix + p->kw < p->w ? ix + p->kw : p->w;
    if (*y1 < *y0) *y1 = *y0;
    if (*x1 < *x0) *x1 = *x0;
}

static void q8_pool(const nnc_rt_pool2d *p, int8_t *y, const int8_t *x, int n, int32_t lo, int32_t hi, int avg) {
    const int c = p->c;
    const long xs = (long)p->h * p->w * c;
    for (int s = 0; s < n; s++)
        for (int oy = 0; oy < p->oh; oy++)
            for (int ox = 0; ox < p->ow; ox++) {
                int8_t *yr = y + (((long)s * p->oh + oy) * p->ow + ox) * c;
                int y0, y1, x0, x1;
                q8_window(p, oy, ox, &y0, &y1, &x0, &x1);
                int32_t count = (y1 - y0) * (x1 - x0);
                for (int ch = 0; ch < c; ch++) {
                    int32_t acc = avg ? 0 : -128;
                    for (int iy = y0; iy < y1; iy++)
                        for (int ix = x0; ix < x1; ix++) {
                            int32_t v = x[s * xs + ((long)iy * p->w + ix) * c + ch];
                            if (avg) acc += v;
                            else if (v > acc) acc = v;
                        }
                    if (avg) acc = count ? (acc >= 0 ? (acc + count / 2) / count : (acc - count / 2) / count) : 0;
                    yr[ch] = q8_clamp(acc, lo, hi);
                }
            }
}

void nnc_rt_q8_maxpool2d(const nnc_rt_pool2d *p, int8_t *y, const int8_t *x, int n, int32_t lo, int32_t hi) {
    q8_pool(p, y, x, n, lo, hi, 0);
}

void nnc_rt_q8_avgpool2d(const nnc_rt_pool2d *p, int8_t *y, const int8_t *x, int n, int32_t lo, int32_t hi) {
    q8_pool(p, y, x, n, lo, hi, 1);
}

void nnc_rt_q8_add(int8_t *y, const int8_t *a, const int8_t *b, long count, const nnc_rt_q8_add_params *p) {
    for (long i = 0; i < count; i++) {
        int32_t sa = ((int32_t)a[i] - p->a_zp) * (1 << p->left_shift);
        int32_t sb = ((int32_t)b[i] - p->b_zp) * (1 << p->left_shift);
        int32_t sum = nnc_rt_q8_rescale(sa, p->a_mult, p->a_shift) + nnc_rt_q8_rescale(sb, p->b_mult, p->b_shift);
        y[i] = q8_clamp(p->y_zp + nnc_rt_q8_rescale(sum, p->y_mult, p->y_shift), p->lo, p->hi);
    }
}

/* one row's softmax into f (cols floats) */
static void q8_softmax_row(float *f, const int8_t *x, long cols, float scale) {
    int32_t max = -128;
    for (long c = 0; c < cols; c++) if (x[c] > max) max = x[c];
    float sum = 0;
    for (long c = 0; c < cols; c++) sum += f[c] = expf(scale * (float)((int32_t)x[c] - max));
    float inv = 1.0f / sum;
    for (long c = 0; c < cols; c++) f[c] *= inv;
}

void nnc_rt_q8_softmax_f32(float *y, const int8_t *x, long rows, long cols, float scale) {
    for (long r = 0; r < rows; r++) q8_softmax_row(y + r * cols, x + r * cols, cols, scale);
}

void nnc_rt_q8_softmax(int8_t *y, const int8_t *x, long rows, long cols, float scale) {
    float f[64];    /* a chunk of the row: no buffer a row can overflow */
    for (long r = 0; r < rows; r++) {
        const int8_t *xr = x + r * cols;
        int32_t max = -128;
        for (long c = 0; c < cols; c++) if (xr[c] > max) max = xr[c];
        float sum = 0;
        for (long c = 0; c < cols; c++) sum += expf(scale * (float)((int32_t)xr[c] - max));
        for (long c0 = 0; c0 < cols; c0 += 64) {
            long m = cols - c0 < 64 ? cols - c0 : 64;
            for (long c = 0; c < m; c++) f[c] = expf(scale * (float)((int32_t)xr[c0 + c] - max)) / sum;
            nnc_rt_q8_quantize(y + r * cols + c0, f, m, 1.0f / 256.0f, -128);
        }
    }
}

/* ---- ONNX's requantization (imported QLinearMatMul / QLinearConv) ---------------- */

/* ONNX's requantization: the int32 sum times the float32 multiplier in double
 * (as the reference's numpy), rounded half to even, plus the zero point,
 * saturated (the operator's definition, saturate(round(x / y_scale) + zp)) */
static int8_t q8_onnx_out(int32_t acc, float mult, int32_t zp, int32_t lo, int32_t hi, int32_t off) {
    double r = nearbyint((double)acc * (double)mult) + (double)zp;
    r = r < (double)lo ? (double)lo : r > (double)hi ? (double)hi : r;
    return (int8_t)((int32_t)r + off);
}

/* The products below give the definition's integers (the sum of (x - x_zp)(w - w_zp)
 * plus the bias, wrapped to int32) in a form the compiler vectorizes, with no buffer
 * (the stack of a microcontroller is small):
 *   dense: sum (x - x_zp)(w - w_zp) = sum x w - x_zp sum w - w_zp sum x + k x_zp w_zp,
 *          the three sums of one output taken in one contiguous pass over x and w;
 *   conv (packed weights): NNC_RT_Q8_ONNX_B output channels at a time, vectorized
 *          across them: each tap c = x - x_zp of the window (the padding skipped: it is
 *          the real 0 the definition skips) is one broadcast and one multiply-add of a
 *          vector of channels, the weights' zero point entering as w_zp sum c.
 * Each term is at most 255 x 255 in magnitude, so up to Q8_ONNX_RUN terms are exact
 * in int32; the parts are combined in uint32, wrapping as ONNX's int32 accumulation
 * does.  Longer rows or windows take the plain loops (the same integers). */
#define Q8_ONNX_RUN 32768

void nnc_rt_q8_dense_onnx(int8_t *y, const int8_t *x, const int8_t *w, const int32_t *bias, int n, int k, int m,
                          const nnc_rt_q8_onnx *o) {
    if (k > Q8_ONNX_RUN) {
        nnc_rt_q8_dense_onnx_ref(y, x, w, bias, n, k, m, o);
        return;
    }
    for (long i = 0; i < n; i++) {
        const int8_t *restrict xr = x + i * k;
        int32_t sx = 0;
        for (int t = 0; t < k; t++) sx += xr[t];
        for (int j = 0; j < m; j++) {
            const int8_t *restrict wr = w + (long)j * k;
            int32_t dot = 0, sw = 0;
            for (int t = 0; t < k; t++) {
                dot += (int32_t)xr[t] * wr[t];
                sw += wr[t];
            }
            int c = o->per_channel ? j : 0;
            uint32_t wz = (uint32_t)o->w_zp[c], xz = (uint32_t)o->x_zp;
            uint32_t acc = (bias ? (uint32_t)bias[j] : 0u) + (uint32_t)dot - xz * (uint32_t)sw - wz * (uint32_t)sx +
                           (uint32_t)k * xz * wz;
            y[i * m + j] = q8_onnx_out((int32_t)acc, o->mult[c], o->zp, o->lo, o->hi, o->off);
        }
    }
}

void nnc_rt_q8_conv2d_onnx(const nnc_rt_conv2d *p, int8_t *y, const int8_t *x, const int8_t *w,
                           const int32_t *bias, int n, const nnc_rt_q8_onnx *o) {
    nnc_rt_q8_conv2d_onnx_ref(p, y, x, w, bias, n, o);
}

void nnc_rt_q8_conv2d_onnx_pack(int8_t *wp, const int8_t *w, const nnc_rt_conv2d *p) {
    const int og = p->oc / p->groups, B = NNC_RT_Q8_ONNX_B;
    const long K = (long)p->kh * p->kw * (p->c / p->groups);
    for (int g = 0; g < p->groups; g++)
        for (int b0 = 0; b0 < og; b0 += B)
            for (long t = 0; t < K; t++)
                for (int j = 0; j < B; j++)
                    *wp++ = b0 + j < og ? w[(long)(g * og + b0 + j) * K + t] : 0;
}

void nnc_rt_q8_conv2d_onnx_packed(const nnc_rt_conv2d *p, int8_t *y, const int8_t *x, const int8_t *wp,
                                  const int32_t *bias, int n, const nnc_rt_q8_onnx *o) {
    enum { B = NNC_RT_Q8_ONNX_B };
    const int og = p->oc / p->groups, cg = p->c / p->groups;
    const long K = (long)p->kh * p->kw * cg;
    for (int g = 0; g < p->groups; g++)
        for (int b0 = 0; b0 < og; b0 += B, wp += K * B) {
            int nb = og - b0 < B ? og - b0 : B;
            for (int s = 0; s < n; s++)
                for (int oy = 0; oy < p->oh; oy++)
                    for (int ox = 0; ox < p->ow; ox++) {
                        int32_t run[B], cs = 0;
                        for (int j = 0; j < B; j++) run[j] = 0;
                        for (int ky = 0; ky < p->kh; ky++) {
                            int iy = oy * p->sh - p->pt + ky * p->dh;
                            if (iy < 0 || iy >= p->h) continue;
                            for (int kx = 0; kx < p->kw; kx++) {
                                int ix = ox * p->sw - p->pl + kx * p->dw;
                                if (ix < 0 || ix >= p->w) continue;
                                const int8_t *xp = x + (((long)s * p->h + iy) * p->w + ix) * p->c + (long)g * cg;
                                const int8_t *wr = wp + ((long)ky * p->kw + kx) * cg * B;
                                for (int ci = 0; ci < cg; ci++, wr += B) {
                                    const int32_t c = (int32_t)xp[ci] - o->x_zp;
                                    cs += c;
                                    for (int j = 0; j < B; j++) run[j] += c * wr[j];
                                }
                            }
                        }
                        int8_t *yp = y + (((long)s * p->oh + oy) * p->ow + ox) * p->oc + g * og + b0;
                        for (int j = 0; j < nb; j++) {
                            int oc = g * og + b0 + j, c = o->per_channel ? oc : 0;
                            uint32_t v = (bias ? (uint32_t)bias[oc] : 0u) + (uint32_t)run[j] -
                                         (uint32_t)o->w_zp[c] * (uint32_t)cs;
                            yp[j] = q8_onnx_out((int32_t)v, o->mult[c], o->zp, o->lo, o->hi, o->off);
                        }
                    }
        }
}

/* the definitions as written: one output at a time, the sums in wrapping int32 */
void nnc_rt_q8_dense_onnx_ref(int8_t *y, const int8_t *x, const int8_t *w, const int32_t *bias, int n, int k, int m,
                              const nnc_rt_q8_onnx *o) {
    for (long i = 0; i < n; i++)
        for (int j = 0; j < m; j++) {
            uint32_t acc = bias ? (uint32_t)bias[j] : 0u;      /* int32 wrap-around, as ONNX's sums */
            int32_t wz = o->w_zp[o->per_channel ? j : 0];
            const int8_t *xr = x + i * k, *wr = w + (long)j * k;
            for (int t = 0; t < k; t++)
                acc += (uint32_t)(((int32_t)xr[t] - o->x_zp) * ((int32_t)wr[t] - wz));
            y[i * m + j] = q8_onnx_out((int32_t)acc, o->mult[o->per_channel ? j : 0], o->zp, o->lo, o->hi,
                                       o->off);
        }
}

void nnc_rt_q8_conv2d_onnx_ref(const nnc_rt_conv2d *p, int8_t *y, const int8_t *x, const int8_t *w,
                               const int32_t *bias, int n, const nnc_rt_q8_onnx *o) {
    const int cg = p->c / p->groups, og = p->oc / p->groups;
    for (int s = 0; s < n; s++)
        for (int oy = 0; oy < p->oh; oy++)
            for (int ox = 0; ox < p->ow; ox++)
                for (int oc = 0; oc < p->oc; oc++) {
                    uint32_t acc = bias ? (uint32_t)bias[oc] : 0u;
                    int32_t wz = o->w_zp[o->per_channel ? oc : 0];
                    int g = oc / og;
                    for (int ky = 0; ky < p->kh; ky++) {
                        int iy = oy * p->sh - p->pt + ky * p->dh;
                        if (iy < 0 || iy >= p->h) continue;
                        for (int kx = 0; kx < p->kw; kx++) {
                            int ix = ox * p->sw - p->pl + kx * p->dw;
                            if (ix < 0 || ix >= p->w) continue;
                            const int8_t *xp = x + (((long)s * p->h + iy) * p->w + ix) * p->c + (long)g * cg;
                            const int8_t *wp = w + (((long)oc * p->kh + ky) * p->kw + kx) * cg;
                            for (int ci = 0; ci < cg; ci++)
                                acc += (uint32_t)(((int32_t)xp[ci] - o->x_zp) * ((int32_t)wp[ci] - wz));
                        }
                    }
                    y[(((long)s * p->oh + oy) * p->ow + ox) * p->oc + oc] =
                        q8_onnx_out((int32_t)acc, o->mult[o->per_channel ? oc : 0], o->zp, o->lo, o->hi, o->off);
                }
}
