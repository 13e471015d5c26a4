/* test_q8_kernels.c — every int8 kernel compiled into this build
 * (nnc_rt_q8_kernels.h) and the public entry points against the references,
 * bit for bit (tests/q8_cases.h: tile edges, padding, strides, dilation,
 * groups and depthwise, extreme weights, biases and rescale settings); the
 * fast exact rescale against nnc_rt_q8_rescale; the packed layout. */
#include <stdio.h>

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
    const TTest *q8[] = {test_q8_dense_kernels, test_q8_conv_kernels, test_q8_rescale_fast,
                         test_q8_dense_pack_layout, NULL};
    const kernel_case cases[] = {{"q8", q8, 60, 0}};
    return run_cases("q8_kernels", cases, (int)(sizeof cases / sizeof cases[0]));
}
