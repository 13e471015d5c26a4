/* test_q8_kernels.c — every int8 kernel compiled into this build
 * (nnc_rt_q8_kernels.h) and the public entry points against the references,
 * bit for bit (tests/q8_cases.h: tile edges, padding, strides, dilation,
 * groups and depthwise, extreme weights, biases and rescale settings); the
 * fast exact rescale against nnc_rt_q8_rescale; the packed layout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc_rt.h"
#include "kernel_check.h"

#include "nnc_rt_q8_kernels.h"
#include "q8_internal.h"
#include "q8_cases.h"

static void report(const char *what, const char *kernel, int a, int b, int c, int d) {
    fprintf(stderr, "%s %s differs from the reference at (%d, %d, %d, %d)\n", what, kernel, a, b, c, d);
}

START_TEST(test_q8_dense_kernels) { ck_assert_int_eq(q8c_dense_all(report), 0); }
END_TEST

START_TEST(test_q8_conv_kernels) { ck_assert_int_eq(q8c_conv_all(report), 0); }
END_TEST

/* random geometries, large enough for every kernel's tiles (8-pixel rows,
 * 32-channel blocks and their tails, the row kernel's bands) and output
 * settings whose right shifts are all >= 6 (the float output step of
 * q8_x86.h with its exact fallback: multipliers of 2^30 put many sums on
 * the ties it must hand over), against the reference bit for bit */
static int conv_random_case(uint32_t *r, int8_t *x, int8_t *w, int8_t *y, int8_t *yr, int32_t *bias,
                            int32_t *mult, int8_t *shift, void *scratch) {
#define RND() (*r = *r * 1664525u + 1013904223u, *r >> 8)
    static const int cs[] = {1, 1, 1, 2, 3, 4, 5, 8, 17};
    static const int ks[] = {1, 2, 3, 3, 3, 5};
    nnc_rt_conv2d p;
    p.c = cs[RND() % 9];
    p.groups = RND() % 6 == 0 ? p.c : 1;
    p.oc = p.groups > 1 ? p.c * (1 + (int)(RND() % 2)) : 1 + (int)(RND() % 70);
    p.kh = ks[RND() % 6];
    p.kw = RND() % 5 == 0 ? ks[RND() % 6] : p.kh;
    if (RND() % 8 == 0) p.kh = 10, p.kw = 4;     /* the keyword-spotting network's first layer */
    p.sh = 1 + (int)(RND() % 2);
    p.sw = RND() % 4 == 0 ? 3 - p.sh : p.sh;
    p.dh = RND() % 6 == 0 ? 2 : 1;
    p.dw = RND() % 8 == 0 ? 2 : 1;
    p.pt = (int)(RND() % 3);
    p.pl = (int)(RND() % 3);
    p.h = p.dh * (p.kh - 1) + 1 + (int)(RND() % 28) - p.pt;
    p.w = p.dw * (p.kw - 1) + 1 + (int)(RND() % 28) - p.pl;
    if (p.h < 1) p.h = 1;
    if (p.w < 1) p.w = 1;
    p.oh = (p.h + 2 * p.pt - p.dh * (p.kh - 1) - 1) / p.sh + 1;
    p.ow = (p.w + 2 * p.pl - p.dw * (p.kw - 1) - 1) / p.sw + 1;
    if (p.oh < 1 || p.ow < 1) return 0;
    int n = 1 + (int)(RND() % 3), kind = (int)(RND() % 4);
    long nx = (long)n * p.h * p.w * p.c, ny = (long)n * p.oh * p.ow * p.oc;
    long nw = (long)p.oc * p.kh * p.kw * (p.c / p.groups);
    for (long i = 0; i < nx; i++) x[i] = (int8_t)RND();
    for (long i = 0; i < nw; i++) w[i] = kind == 3 ? (int8_t)(RND() % 2 ? 127 : -128) : (int8_t)RND();
    if (kind == 3)
        for (long i = 0; i < nx; i++) x[i] = (int8_t)(RND() % 2 ? 127 : -128);
    for (int j = 0; j < p.oc; j++) {
        bias[j] = (int32_t)(RND() % 400001) - 200000;
        mult[j] = kind == 1 ? (1 << 30) + (int32_t)(RND() % 4) * (1 << 20) : (int32_t)((1u << 30) + (RND() << 6) % (1u << 30));
        shift[j] = (int8_t)(kind == 2 ? -1 - (int)(RND() % 20) : -6 - (int)(RND() % (kind == 1 ? 3 : 10)));
    }
    nnc_rt_q8_out o;
    o.mult = mult;
    o.shift = shift;
    o.per_channel = RND() % 5 != 0;
    o.zp = (int32_t)(RND() % 256) - 128;
    o.lo = RND() % 2 ? o.zp : -128;
    o.hi = RND() % 3 ? 127 : 100;
    if (o.lo > o.hi) o.lo = o.hi;
    o.checked = 0;
    int32_t x_zp = (int32_t)(RND() % 256) - 128;
    const int32_t *b = RND() % 6 == 0 ? NULL : bias;
    nnc_rt_q8_conv2d_ref(&p, yr, x, x_zp, w, b, n, &o);
    int bad = 0;
    for (const nnc_rt_q8_conv2d_variant *v = nnc_rt_q8_conv2d_variants;; v++) {
        memset(y, 0x5A, (size_t)ny + 64);
        if (v->name ? !v->fn(&p, y, x, x_zp, w, b, scratch, n, &o)
                    : (nnc_rt_q8_conv2d(&p, y, x, x_zp, w, b, scratch, n, &o), 0))
            if (v->name) continue;
        if (memcmp(y, yr, (size_t)ny) || y[ny] != 0x5A) {
            fprintf(stderr, "conv2d %s differs: %dx%dx%d -> %d, kernel %dx%d, strides %d %d, dilations %d %d, "
                    "pads %d %d, groups %d, n %d, kind %d\n", v->name ? v->name : "nnc_rt_q8_conv2d", p.h, p.w, p.c,
                    p.oc, p.kh, p.kw, p.sh, p.sw, p.dh, p.dw, p.pt, p.pl, p.groups, n, kind);
            bad++;
        }
        if (!v->name) break;
    }
    return bad;
#undef RND
}

START_TEST(test_q8_conv_random) {
    enum { X = 3 * 40 * 40 * 17, Y = 3 * 40 * 40 * 70, W = 70 * 10 * 5 * 17 };
    int8_t *x = malloc(X), *w = malloc(W), *y = malloc(Y + 64), *yr = malloc(Y + 64), *shift = malloc(70);
    int32_t *bias = malloc(70 * sizeof *bias), *mult = malloc(70 * sizeof *mult);
    nnc_rt_conv2d most = {0, 0, 17, 0, 0, 0, 10, 5, 0, 0, 0, 0, 0, 0, 1};     /* the largest kh kw c of the cases */
    void *scratch = malloc((size_t)NNC_RT_Q8_CONV2D_SCRATCH(&most));
    ck_assert(x && w && y && yr && shift && bias && mult && scratch);
    uint32_t r = 2024;
    int bad = 0;
    for (int t = 0; t < 400; t++) bad += conv_random_case(&r, x, w, y, yr, bias, mult, shift, scratch);
    /* the seed CNN's layer: 28x28x1 -> 26x26x32, 3x3, relu, at the calibration's scales */
    nnc_rt_conv2d p = {28, 28, 1, 26, 26, 32, 3, 3, 1, 1, 1, 1, 0, 0, 1};
    for (long i = 0; i < 3 * 784; i++) x[i] = (int8_t)(r = r * 1664525u + 1013904223u, r >> 24);
    for (int i = 0; i < 288; i++) w[i] = (int8_t)(r = r * 1664525u + 1013904223u, r >> 24);
    for (int j = 0; j < 32; j++) {
        int sh;
        nnc_rt_q8_multiplier(0.0021 + 0.0003 * j, &mult[j], &sh);
        shift[j] = (int8_t)sh;
        bias[j] = 0;
    }
    nnc_rt_q8_out o = {mult, shift, 1, -128, -128, 127, NNC_RT_Q8_CHECKED};
    nnc_rt_q8_conv2d_ref(&p, yr, x, -128, w, bias, 3, &o);
    for (const nnc_rt_q8_conv2d_variant *v = nnc_rt_q8_conv2d_variants; v->name; v++) {
        memset(y, 0x5A, 3 * 26 * 26 * 32 + 64);
        if (!v->fn(&p, y, x, -128, w, bias, scratch, 3, &o)) continue;
        if (memcmp(y, yr, 3 * 26 * 26 * 32) || y[3 * 26 * 26 * 32] != 0x5A) {
            fprintf(stderr, "conv2d %s differs on the seed CNN's layer\n", v->name);
            bad++;
        }
    }
    ck_assert_int_eq(bad, 0);
    free(x); free(w); free(y); free(yr); free(shift); free(bias); free(mult); free(scratch);
}
END_TEST

/* the one-multiply form of the rounding doubling high multiply */
START_TEST(test_q8_rescale_fast) {
    static const int32_t accs[] = {0, 1, -1, 2, -2, 3, 12345, -12345, 1 << 30, -(1 << 30), INT32_MAX,
                                   INT32_MIN, INT32_MAX - 1, INT32_MIN + 1, 65535, -65536};
    static const int32_t mults[] = {0, 1, -1, 1 << 30, INT32_MAX, INT32_MIN, 1518500250, (1 << 30) + 1,
                                    -(1 << 30), 2000000000};
    for (unsigned a = 0; a < sizeof accs / sizeof accs[0]; a++)
        for (unsigned b = 0; b < sizeof mults / sizeof mults[0]; b++)
            for (int s = -31; s <= 31; s++)
                ck_assert_int_eq(q8_rescale_fast(accs[a], mults[b], s), nnc_rt_q8_rescale(accs[a], mults[b], s));
    uint32_t r = 99;
    for (int i = 0; i < 200000; i++) {
        r = r * 1664525u + 1013904223u;
        int32_t acc = (int32_t)r;
        r = r * 1664525u + 1013904223u;
        int32_t mult = (int32_t)r;
        int s = -(int)(r >> 27);
        ck_assert_int_eq(q8_rescale_fast(acc, mult, s), nnc_rt_q8_rescale(acc, mult, s));
    }
}
END_TEST

/* the layout: blocks of 4 rows (the last of m % 4), groups of 4 k interleaved, then the rows' tails */
START_TEST(test_q8_dense_pack_layout) {
    int8_t w[6 * 6], wp[6 * 6];
    for (int i = 0; i < 36; i++) w[i] = (int8_t)i;
    nnc_rt_q8_dense_pack(wp, w, 6, 6);
    static const int8_t want[36] = {0, 1, 2, 3, 6, 7, 8, 9, 12, 13, 14, 15, 18, 19, 20, 21, 4, 5, 10, 11,
                                    16, 17, 22, 23, 24, 25, 26, 27, 30, 31, 32, 33, 28, 29, 34, 35};
    ck_assert(memcmp(wp, want, sizeof want) == 0);
}
END_TEST

int main(void) {
    const TTest *q8[] = {test_q8_dense_kernels, test_q8_conv_kernels, test_q8_conv_random, test_q8_rescale_fast,
                         test_q8_dense_pack_layout, NULL};
    const kernel_case cases[] = {{"q8", q8, 60, 0}};
    return run_cases("q8_kernels", cases, (int)(sizeof cases / sizeof cases[0]));
}
