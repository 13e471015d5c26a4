/* test_q8_ops.c — the runtime's non-product int8 kernels (runtime/q8_ops.c)
 * against references written here from their definitions in
 * nnc_rt_q8.h: bit for bit where the result is integer (quantize, pools,
 * add, the rescaled copy), within float rounding where it is float
 * (dequantize, softmax).  Shapes are random and odd, with padding,
 * strides and windows that hang over the edges; outputs are followed by
 * guard bytes a kernel must not touch. */
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

/* round half away from zero, in double: the definition */
static long round_away(double v) { return v >= 0 ? (long)floor(v + 0.5) : -(long)floor(-v + 0.5); }

static int8_t sat(long v, long lo, long hi) { return (int8_t)(v < lo ? lo : v > hi ? hi : v); }

START_TEST(test_q8_quantize) {
    static const float scale = 0.25f;
    /* exact halves round away from zero; NaN is zp; beyond the range saturates */
    const float x[] = { 0.125f, -0.125f, 0.375f, -0.375f, 0.0f, -0.0f, 31.0f, 32.0f, -33.0f, -32.125f,
                        1e30f, -1e30f, INFINITY, -INFINITY, NAN, 0.1f, -0.1f };
    const int8_t want[] = { 4, 2, 5, 1, 3, 3, 127, 127, -128, -126, 127, -128, 127, -128, 3, 3, 3 };
    int8_t y[sizeof x / sizeof x[0] + 1];
    y[sizeof x / sizeof x[0]] = 77;
    nnc_rt_q8_quantize(y, x, (long)(sizeof x / sizeof x[0]), scale, 3);
    for (unsigned i = 0; i < sizeof x / sizeof x[0]; i++)
        ck_assert_msg(y[i] == want[i], "quantize(%g) = %d, want %d", (double)x[i], y[i], want[i]);
    ck_assert_int_eq(y[sizeof x / sizeof x[0]], 77);
    /* random values against the definition (the division in float, as specified) */
    nnc_rt_rng r;
    nnc_rt_rng_seed(&r, 7);
    for (int t = 0; t < 2000; t++) {
        float s = 0.001f + (float)pick(&r, 1000) / 997.0f, v = ((float)pick(&r, 200001) - 100000.0f) / 1000.0f;
        int32_t zp = (int32_t)pick(&r, 256) - 128;
        int8_t q;
        nnc_rt_q8_quantize(&q, &v, 1, s, zp);
        ck_assert_int_eq(q, sat(zp + round_away((double)(v / s)), -128, 127));
    }
    /* whole arrays (the SIMD steps and their tails) against the definition's
     * float operations, ties, specials and values near +-1e6 among them */
    static float xs[203];
    static int8_t ys[203 + 16];
    for (int t = 0; t < 300; t++) {
        long n = 1 + (long)pick(&r, 203);
        float s = t % 3 ? 0.001f + (float)pick(&r, 1000) / 997.0f : 0.25f;
        int32_t zp = t % 7 == 6 ? 100000 : (int32_t)pick(&r, 256) - 128;
        for (long i = 0; i < n; i++) {
            uint32_t k = pick(&r, 12);
            xs[i] = k == 0 ? NAN : k == 1 ? (pick(&r, 2) ? INFINITY : -INFINITY)
                  : k == 2 ? s * (((float)pick(&r, 2001) - 1000.0f) + 0.5f)       /* ties */
                  : k == 3 ? (pick(&r, 2) ? 1.0f : -1.0f) * s * (1e6f + (float)pick(&r, 3) - 1.0f)
                  : k == 4 ? 0.49999997f * s : ((float)pick(&r, 200001) - 100000.0f) / 997.0f;
        }
        memset(ys, 77, sizeof ys);
        nnc_rt_q8_quantize(ys, xs, n, s, zp);
        for (long i = 0; i < n; i++) {
            float q = xs[i] / s;
            long want = q != q ? zp : q > 1e6f ? 127 : q < -1e6f ? -128
                      : zp + (long)(q >= 0 ? floorf(q + 0.5f) : -floorf(-q + 0.5f));
            ck_assert_msg(ys[i] == sat(want, -128, 127), "quantize(%g / %g, zp %d) = %d, want %d", (double)xs[i],
                          (double)s, zp, ys[i], sat(want, -128, 127));
        }
        ck_assert_int_eq(ys[n], 77);
    }
}
END_TEST

START_TEST(test_q8_dequantize) {
    nnc_rt_rng r;
    nnc_rt_rng_seed(&r, 8);
    int8_t *x = i8alloc(300, &r);
    float *y = guarded(300);
    nnc_rt_q8_dequantize(y, x, 300, 0.0371f, -17);
    for (int i = 0; i < 300; i++) ck_assert_float_eq(y[i], 0.0371f * (float)(x[i] + 17));
    ck_assert(guard_ok(y, 300));
    free(x);
    free(y);
}
END_TEST

START_TEST(test_q8_requantize) {
    nnc_rt_rng r;
    nnc_rt_rng_seed(&r, 9 + (uint64_t)_i);
    long rows = 1 + pick(&r, 7), cols = 1 + pick(&r, 13), stride = cols + pick(&r, 5), off = pick(&r, 3);
    int8_t *x = i8alloc(rows * cols, &r), *y = i8alloc(rows * stride + off, &r), *before = malloc((size_t)(rows * stride + off + 16));
    ck_assert_ptr_nonnull(before);
    memcpy(before, y, (size_t)(rows * stride + off + 16));
    double M = _i == 0 ? 1.0 : 0.05 + (double)pick(&r, 4000) / 1000.0;
    int32_t mult, x_zp = (int32_t)pick(&r, 256) - 128, y_zp = _i == 0 ? x_zp : (int32_t)pick(&r, 256) - 128;
    int shift, lo = _i % 3 == 2 ? y_zp : -128, hi = 127;
    nnc_rt_q8_multiplier(M, &mult, &shift);
    if (_i == 0) mult = 0, shift = 0;     /* the plain copy */
    nnc_rt_q8_requantize(y + off, stride, x, rows, cols, x_zp, mult, shift, y_zp, lo, hi);
    for (long i = 0; i < rows * stride + off + 16; i++) {
        long rr = (i - off) / stride, c = (i - off) % stride;
        if (i < off || rr >= rows || c >= cols) {
            ck_assert_int_eq(y[i], before[i]);
            continue;
        }
        int8_t v = x[rr * cols + c];
        int8_t want = _i == 0 ? v : sat(y_zp + nnc_rt_q8_rescale(v - x_zp, mult, shift), lo, hi);
        ck_assert_int_eq(y[i], want);
        if (_i) /* and the real values agree within one step (TFLite's rescale rounds twice) */
            ck_assert_msg(fabs((double)(want - y_zp) - M * (v - x_zp)) <= 1.0 + 1e-9 || want == lo || want == hi, "M %g v %d xzp %d yzp %d want %d mult %d shift %d", M, v, x_zp, y_zp, want, mult, shift);
    }
    free(x);
    free(y);
    free(before);
}
END_TEST

/* pools: the window enumerated tap by tap, padding taps skipped */
static void pool_ref(const nnc_rt_pool2d *p, int8_t *y, const int8_t *x, int n, int avg, int lo, int hi) {
    for (int s = 0; s < n; s++)
        for (int oy = 0; oy < p->oh; oy++)
            for (int ox = 0; ox < p->ow; ox++)
                for (int c = 0; c < p->c; c++) {
                    long sum = 0, count = 0, best = -1000;
                    for (int ky = 0; ky < p->kh; ky++)
                        for (int kx = 0; kx < p->kw; kx++) {
                            int iy = oy * p->sh - p->pt + ky, ix = ox * p->sw - p->pl + kx;
                            if (iy < 0 || iy >= p->h || ix < 0 || ix >= p->w) continue;
                            long v = x[(((long)s * p->h + iy) * p->w + ix) * p->c + c];
                            sum += v, count++;
                            if (v > best) best = v;
                        }
                    long r = avg ? (count ? round_away((double)sum / (double)count) : 0) : (count ? best : -128);
                    y[(((long)s * p->oh + oy) * p->ow + ox) * p->c + c] = sat(r, lo, hi);
                }
}

START_TEST(test_q8_pools) {
    nnc_rt_rng r;
    nnc_rt_rng_seed(&r, 100 + (uint64_t)_i);
    nnc_rt_pool2d p;
    p.h = 1 + pick(&r, 9), p.w = 1 + pick(&r, 9), p.c = 1 + pick(&r, 5);
    p.kh = 1 + pick(&r, 4), p.kw = 1 + pick(&r, 4), p.sh = 1 + pick(&r, 3), p.sw = 1 + pick(&r, 3);
    p.pt = pick(&r, (uint32_t)p.kh), p.pl = pick(&r, (uint32_t)p.kw);
    if (_i % 5 == 4) p.kh = p.h, p.kw = p.w, p.sh = p.sw = 1, p.pt = p.pl = 0;   /* a global pool */
    p.oh = (p.h + 2 * p.pt - p.kh) / p.sh + 1, p.ow = (p.w + 2 * p.pl - p.kw) / p.sw + 1;
    if (p.oh < 1) p.oh = 1;
    if (p.ow < 1) p.ow = 1;
    int n = 1 + pick(&r, 3), avg = _i % 2, lo = _i % 3 == 0 ? -20 : -128, hi = _i % 3 == 0 ? 100 : 127;
    long ysize = (long)n * p.oh * p.ow * p.c;
    int8_t *x = i8alloc((long)n * p.h * p.w * p.c, &r), *y = i8alloc(ysize, &r), *want = i8alloc(ysize, &r);
    int8_t guard[16];
    memcpy(guard, y + ysize, 16);
    (avg ? nnc_rt_q8_avgpool2d : nnc_rt_q8_maxpool2d)(&p, y, x, n, lo, hi);
    pool_ref(&p, want, x, n, avg, lo, hi);
    ck_assert_mem_eq(y, want, (size_t)ysize);
    ck_assert_mem_eq(y + ysize, guard, 16);
    free(x);
    free(y);
    free(want);
}
END_TEST

START_TEST(test_q8_add) {
    nnc_rt_rng r;
    nnc_rt_rng_seed(&r, 200 + (uint64_t)_i);
    double sa = 0.001 + (double)pick(&r, 1000) / 5000.0, sb = 0.001 + (double)pick(&r, 1000) / 5000.0;
    double sy = (sa + sb) * (0.6 + (double)pick(&r, 100) / 100.0);
    nnc_rt_q8_add_params p = { (int32_t)pick(&r, 256) - 128, (int32_t)pick(&r, 256) - 128,
                               (int32_t)pick(&r, 256) - 128, 0, 0, 0, 0, 0, 0, 20, -128, 127 };
    if (_i % 2) p.lo = p.y_zp;   /* a fused relu */
    double twice = 2 * (sa > sb ? sa : sb);
    nnc_rt_q8_multiplier(sa / twice, &p.a_mult, &p.a_shift);
    nnc_rt_q8_multiplier(sb / twice, &p.b_mult, &p.b_shift);
    nnc_rt_q8_multiplier(twice / ((1 << 20) * sy), &p.y_mult, &p.y_shift);
    long n = 1 + pick(&r, 500);
    int8_t *a = i8alloc(n, &r), *b = i8alloc(n, &r), *y = i8alloc(n, &r);
    int8_t guard[16];
    memcpy(guard, y + n, 16);
    nnc_rt_q8_add(y, a, b, n, &p);
    for (long i = 0; i < n; i++) {
        /* TFLite's steps, one by one */
        int32_t xa = (a[i] - p.a_zp) * (1 << 20), xb = (b[i] - p.b_zp) * (1 << 20);
        int32_t s = nnc_rt_q8_rescale(xa, p.a_mult, p.a_shift) + nnc_rt_q8_rescale(xb, p.b_mult, p.b_shift);
        ck_assert_int_eq(y[i], sat(p.y_zp + nnc_rt_q8_rescale(s, p.y_mult, p.y_shift), p.lo, p.hi));
        /* and the real sum within one output step (unless clamped) */
        double real = sa * (a[i] - p.a_zp) + sb * (b[i] - p.b_zp), got = sy * (y[i] - p.y_zp);
        if (y[i] > p.lo && y[i] < p.hi) ck_assert_msg(fabs(got - real) <= sy * 1.0 + 1e-6, "%g vs %g", got, real);
    }
    ck_assert_mem_eq(y + n, guard, 16);
    free(a);
    free(b);
    free(y);
}
END_TEST

START_TEST(test_q8_softmax) {
    nnc_rt_rng r;
    nnc_rt_rng_seed(&r, 300 + (uint64_t)_i);
    long rows = 1 + pick(&r, 4), cols = 1 + pick(&r, _i % 2 ? 200 : 12);
    float scale = 0.01f + (float)pick(&r, 100) / 200.0f;
    int8_t *x = i8alloc(rows * cols, &r), *q = i8alloc(rows * cols, &r);
    float *y = guarded(rows * cols);
    nnc_rt_q8_softmax_f32(y, x, rows, cols, scale);
    nnc_rt_q8_softmax(q, x, rows, cols, scale);
    ck_assert(guard_ok(y, rows * cols));
    for (long i = 0; i < rows; i++) {
        double sum = 0;
        for (long c = 0; c < cols; c++) sum += exp((double)scale * x[i * cols + c]);
        for (long c = 0; c < cols; c++) {
            double want = exp((double)scale * x[i * cols + c]) / sum;
            ck_near(y[i * cols + c], want, 1e-6, 1e-5);
            long wq = round_away(want * 256.0) - 128;
            ck_assert_msg(labs((long)q[i * cols + c] - (wq > 127 ? 127 : wq)) <= 1, "int8 softmax %d, want %ld",
                          q[i * cols + c], wq);
        }
    }
    free(x);
    free(q);
    free(y);
}
END_TEST

int main(void) {
    const TTest *boundary[] = { test_q8_quantize, test_q8_dequantize, test_q8_softmax, NULL };
    const TTest *integer[] = { test_q8_requantize, test_q8_pools, test_q8_add, NULL };
    const kernel_case cases[] = { { "boundaries", boundary, 0, 12 }, { "integer", integer, 0, 60 } };
    return run_cases("q8_ops", cases, (int)(sizeof cases / sizeof cases[0]));
}
