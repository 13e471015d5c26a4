/* q8_ops.c — the int8 kernels that are not products (nnc_rt_q8.h): the
 * float boundaries (quantize, dequantize, softmax), pools, add and the
 * rescaled copy concat uses.  Plain loops: these run once per element of
 * small tensors, next to the products that cost the time; each one's
 * integers are its definition (tests/test_q8_ops.c checks them against a
 * literal reading of that definition). */
#include <math.h>
#include <string.h>

#include "nnc_rt.h"

static int8_t q8_clamp(int32_t v, int32_t lo, int32_t hi) {
    return (int8_t)(v < lo ? lo : v > hi ? hi : v);
}

void nnc_rt_q8_quantize(int8_t *y, const float *x, long count, float scale, int32_t zp) {
    for (long i = 0; i < count; i++) {
        float r = x[i] / scale;
        int32_t q;
        if (r != r) q = zp;
        else if (r > 1e6f) q = 127;
        else if (r < -1e6f) q = -128;
        else q = zp + (int32_t)(r >= 0 ? floorf(r + 0.5f) : -floorf(-r + 0.5f));
        y[i] = q8_clamp(q, -128, 127);
    }
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
