/* test_q8_onnx.c — the int8 products in ONNX's requantization
 * (nnc_rt_q8_dense_onnx, nnc_rt_q8_conv2d_onnx; runtime/nnc_rt_q8.h), which
 * an imported QLinearMatMul / QLinearConv runs on: fixed cases of the
 * output stage (exact halves rounded to even before the zero point is
 * added, saturation, the uint8 offset, int32 wrap-around of the sums), then
 * random shapes, zero points and multipliers against references written
 * here from the definition, bit for bit, with guard bytes after the
 * outputs: the kernels, the convolution on packed weights (blocks of 32
 * channels: cases past one block) and the runtime's own references. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nnc_rt.h"
#include "kernel_check.h"

static uint32_t pick(nnc_rt_rng *r, uint32_t n) { return nnc_rt_rng_u32(r) % n; }

static int8_t *i8alloc(long n, nnc_rt_rng *r) {
    int8_t *p = malloc((size_t)(n > 0 ? n : 1) + 16);
    ck_assert_ptr_nonnull(p);
    for (long i = 0; i < n + 16; i++) p[i] = (int8_t)(pick(r, 256) - 128);
    return p;
}

/* the definition: the sum wrapped to int32, times the multiplier in double, rounded half
 * to even (by hand, not by the library), plus zp, saturated, offset */
static int8_t onnx_out(int64_t sum, float mult, const nnc_rt_q8_onnx *o) {
    int32_t acc = (int32_t)(uint32_t)(uint64_t)sum;
    double p = (double)acc * (double)mult, f = floor(p), r;
    if (p - f > 0.5) r = f + 1;
    else if (p - f < 0.5) r = f;
    else r = fmod(f, 2.0) == 0 ? f : f + 1;
    r += o->zp;
    r = r < o->lo ? o->lo : r > o->hi ? o->hi : r;
    return (int8_t)((long)r + o->off);
}

START_TEST(test_q8_onnx_stage) {
    /* x (k = 1) against w = 1 with zero points 0: acc = x; multiplier 1/2 */
    const int8_t x[] = { 1, 3, 5, -1, -3, 2, 127, -128, 0 };
    const int n = (int)(sizeof x / sizeof x[0]);
    const int8_t w[1] = { 1 };
    const float half = 0.5f;
    const int32_t wz = 0;
    /* int8 out, zp 3 (odd): rint(0.5) = 0, rint(1.5) = 2, rint(2.5) = 2, rint(-0.5) = 0,
     * rint(-1.5) = -2, 1, rint(63.5) = 64, -64, 0; each plus 3, saturated to [-128, 127] */
    const int8_t want_i8[] = { 3, 5, 5, 3, 1, 4, 67, -61, 3 };
    nnc_rt_q8_onnx o = { &half, &wz, 0, 0, 3, -128, 127, 0 };
    int8_t y[16];
    memset(y, 77, sizeof y);
    nnc_rt_q8_dense_onnx(y, x, w, NULL, n, 1, 1, &o);
    for (int i = 0; i < n; i++) ck_assert_msg(y[i] == want_i8[i], "x %d: %d, want %d", x[i], y[i], want_i8[i]);
    ck_assert_int_eq(y[n], 77);
    /* uint8 out (off -128), zp 200: 0+200, 2+200, ..., 64+200 saturates at 255, -64+200 */
    const int8_t want_u8[] = { 200 - 128, 202 - 128, 202 - 128, 200 - 128, 198 - 128, 201 - 128, 127, 136 - 128,
                               200 - 128 };
    nnc_rt_q8_onnx u = { &half, &wz, 0, 0, 200, 0, 255, -128 };
    nnc_rt_q8_dense_onnx(y, x, w, NULL, n, 1, 1, &u);
    for (int i = 0; i < n; i++) ck_assert_msg(y[i] == want_u8[i], "x %d: %d, want %d", x[i], y[i], want_u8[i]);
    /* a bias, and zero points of the input and weight: (x - (-2)) (1 - 3) + 7 */
    const int32_t b[1] = { 7 }, wz3 = 3;
    const float one = 1.0f;
    nnc_rt_q8_onnx z = { &one, &wz3, 0, -2, 0, -128, 127, 0 };
    nnc_rt_q8_dense_onnx(y, x, w, b, n, 1, 1, &z);
    for (int i = 0; i < n; i++) {
        long v = (long)(x[i] + 2) * -2 + 7;
        ck_assert_int_eq(y[i], v < -128 ? -128 : v > 127 ? 127 : v);
    }
}
END_TEST

START_TEST(test_q8_onnx_wrap) {
    /* 40000 products of 255 x 255 pass 2^31: the sum wraps as ONNX's int32 accumulation */
    const int k = 40000;
    int8_t *x = malloc((size_t)k), w[40000];
    ck_assert_ptr_nonnull(x);
    memset(x, 127, (size_t)k);
    memset(w, 127, sizeof w);
    const int32_t wz = -128;
    const float m = 1.0f / 65536.0f;
    nnc_rt_q8_onnx o = { &m, &wz, 0, -128, 0, -128, 127, 0 };
    int8_t y;
    nnc_rt_q8_dense_onnx(&y, x, w, NULL, 1, k, 1, &o);
    ck_assert_int_eq(y, onnx_out((int64_t)k * 255 * 255, m, &o));
    ck_assert_int_lt(y, 0);     /* wrapped negative; the true sum would saturate at 127 */
    free(x);
}
END_TEST

static float rand_mult(nnc_rt_rng *r) {
    return pick(r, 2) ? ldexpf(1.0f, -(int)pick(r, 6)) : (float)(1 + pick(r, 1000)) / 40000.0f;
}

START_TEST(test_q8_onnx_dense) {
    nnc_rt_rng r;
    nnc_rt_rng_seed(&r, 500 + (uint64_t)_i);
    int n = 1 + (int)pick(&r, 4), k = 1 + (int)pick(&r, _i % 4 == 3 ? 5000 : 40), m = 1 + (int)pick(&r, 9),
        pc = (int)pick(&r, 2);
    int nch = pc ? m : 1, u8 = (int)pick(&r, 2);
    float *mult = falloc(nch);
    int32_t *wz = malloc(sizeof(int32_t) * (size_t)nch), *b = malloc(sizeof(int32_t) * (size_t)m);
    ck_assert(wz && b);
    for (int j = 0; j < nch; j++) mult[j] = rand_mult(&r), wz[j] = (int32_t)pick(&r, 256) - 128;
    for (int j = 0; j < m; j++) b[j] = (int32_t)pick(&r, 20001) - 10000;
    int8_t *x = i8alloc((long)n * k, &r), *w = i8alloc((long)m * k, &r), *y = i8alloc((long)n * m, &r);
    int8_t guard[16];
    memcpy(guard, y + n * m, 16);
    nnc_rt_q8_onnx o = { mult, wz, pc, (int32_t)pick(&r, 256) - 128, u8 ? (int32_t)pick(&r, 256) : (int32_t)pick(&r, 256) - 128,
                         u8 ? 0 : -128, u8 ? 255 : 127, u8 ? -128 : 0 };
    int bias = (int)pick(&r, 2);
    for (int kernel = 0; kernel < 2; kernel++) {   /* the kernel, the one written as the definition */
    if (kernel == 0) nnc_rt_q8_dense_onnx(y, x, w, bias ? b : NULL, n, k, m, &o);
    else nnc_rt_q8_dense_onnx_ref(y, x, w, bias ? b : NULL, n, k, m, &o);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++) {
            int64_t s = bias ? b[j] : 0;
            for (int t = 0; t < k; t++) s += (int64_t)(x[i * k + t] - o.x_zp) * (w[j * k + t] - wz[pc ? j : 0]);
            ck_assert_int_eq(y[i * m + j], onnx_out(s, mult[pc ? j : 0], &o));
        }
    ck_assert_mem_eq(y + n * m, guard, 16);
    memset(y, 0x5a, (size_t)n * m);
    }
    free(mult); free(wz); free(b); free(x); free(w); free(y);
}
END_TEST

START_TEST(test_q8_onnx_conv) {
    nnc_rt_rng r;
    nnc_rt_rng_seed(&r, 700 + (uint64_t)_i);
    nnc_rt_conv2d p;
    p.groups = 1 + (int)pick(&r, 3);
    /* every fourth case wide: channels past the packed kernel's block of 32, longer windows */
    int wide = _i % 4 == 3;
    p.c = p.groups * (1 + (int)pick(&r, wide ? 24 : 3));
    p.oc = p.groups * (1 + (int)pick(&r, wide ? 40 : 3));
    p.h = 1 + (int)pick(&r, 7); p.w = 1 + (int)pick(&r, 7);
    p.kh = 1 + (int)pick(&r, 3); p.kw = 1 + (int)pick(&r, 3);
    p.sh = 1 + (int)pick(&r, 2); p.sw = 1 + (int)pick(&r, 2);
    p.dh = 1 + (int)pick(&r, 2); p.dw = 1 + (int)pick(&r, 2);
    p.pt = (int)pick(&r, 3); p.pl = (int)pick(&r, 3);
    int pb = (int)pick(&r, 3), pr = (int)pick(&r, 3);
    long eh = p.h + p.pt + pb - (long)p.dh * (p.kh - 1), ew = p.w + p.pl + pr - (long)p.dw * (p.kw - 1);
    if (eh < 1) p.pt += (int)(1 - eh), eh = 1;
    if (ew < 1) p.pl += (int)(1 - ew), ew = 1;
    p.oh = (int)((eh - 1) / p.sh + 1);
    p.ow = (int)((ew - 1) / p.sw + 1);
    int n = 1 + (int)pick(&r, 2), cg = p.c / p.groups, og = p.oc / p.groups, pc = (int)pick(&r, 2);
    int nch = pc ? p.oc : 1, u8 = (int)pick(&r, 2);
    float *mult = falloc(nch);
    int32_t *wz = malloc(sizeof(int32_t) * (size_t)nch), *b = malloc(sizeof(int32_t) * (size_t)p.oc);
    ck_assert(wz && b);
    for (int j = 0; j < nch; j++) mult[j] = rand_mult(&r), wz[j] = (int32_t)pick(&r, 256) - 128;
    for (int j = 0; j < p.oc; j++) b[j] = (int32_t)pick(&r, 20001) - 10000;
    long ny = (long)n * p.oh * p.ow * p.oc;
    int8_t *x = i8alloc((long)n * p.h * p.w * p.c, &r), *w = i8alloc((long)p.oc * p.kh * p.kw * cg, &r);
    int8_t *y = i8alloc(ny, &r), guard[16];
    memcpy(guard, y + ny, 16);
    nnc_rt_q8_onnx o = { mult, wz, pc, (int32_t)pick(&r, 256) - 128, u8 ? (int32_t)pick(&r, 256) : (int32_t)pick(&r, 256) - 128,
                         u8 ? 0 : -128, u8 ? 255 : 127, u8 ? -128 : 0 };
    int bias = (int)pick(&r, 2);
    /* the plain kernel, the packed one, the one written as the definition: each checked */
    int8_t *wp = malloc((size_t)NNC_RT_Q8_CONV2D_ONNX_PACKED(&p) + 1);
    ck_assert_ptr_nonnull(wp);
    nnc_rt_q8_conv2d_onnx_pack(wp, w, &p);
    for (int kernel = 0; kernel < 3; kernel++) {
    if (kernel == 0) nnc_rt_q8_conv2d_onnx(&p, y, x, w, bias ? b : NULL, n, &o);
    if (kernel == 1) nnc_rt_q8_conv2d_onnx_packed(&p, y, x, wp, bias ? b : NULL, n, &o);
    if (kernel == 2) nnc_rt_q8_conv2d_onnx_ref(&p, y, x, w, bias ? b : NULL, n, &o);
    for (int s = 0; s < n; s++)
        for (int oy = 0; oy < p.oh; oy++)
            for (int ox = 0; ox < p.ow; ox++)
                for (int oc = 0; oc < p.oc; oc++) {
                    int64_t sum = bias ? b[oc] : 0;
                    for (int ky = 0; ky < p.kh; ky++)
                        for (int kx = 0; kx < p.kw; kx++)
                            for (int ci = 0; ci < cg; ci++) {
                                int iy = oy * p.sh - p.pt + ky * p.dh, ix = ox * p.sw - p.pl + kx * p.dw;
                                if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w) continue;   /* padding: real 0 */
                                int xv = x[((s * p.h + iy) * p.w + ix) * p.c + (oc / og) * cg + ci];
                                int wv = w[((oc * p.kh + ky) * p.kw + kx) * cg + ci];
                                sum += (int64_t)(xv - o.x_zp) * (wv - wz[pc ? oc : 0]);
                            }
                    long at = ((long)(s * p.oh + oy) * p.ow + ox) * p.oc + oc;
                    ck_assert_msg(y[at] == onnx_out(sum, mult[pc ? oc : 0], &o), "kernel %d: %d, want %d", kernel,
                                  y[at], onnx_out(sum, mult[pc ? oc : 0], &o));
                }
    ck_assert_mem_eq(y + ny, guard, 16);
    memset(y, 0x5a, (size_t)ny);
    }
    free(wp); free(mult); free(wz); free(b); free(x); free(w); free(y);
}
END_TEST

int main(void) {
    const TTest *fixed[] = { test_q8_onnx_stage, test_q8_onnx_wrap, NULL };
    const TTest *random[] = { test_q8_onnx_dense, test_q8_onnx_conv, NULL };
    const kernel_case cases[] = { { "fixed", fixed, 0, 1 }, { "random", random, 0, 80 } };
    return run_cases("q8_onnx", cases, (int)(sizeof cases / sizeof cases[0]));
}
