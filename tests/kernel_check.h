/* kernel_check.h — what the runtime's Check unit tests share (test_runtime,
 * test_optim, test_rng, test_rnn, test_tensor_nd, test_conv, test_pool_norm):
 * the numbers of kernel_numbers.h, an assertion on them, allocation that
 * fails the test rather than crashing it, output buffers pre-filled with
 * NaN and followed by guard values a kernel must not overwrite, and the
 * runner of a table of tests that every one of their main()s is.
 * Needs nnc_rt.h first; these files build without the compiler's headers
 * (make check-openmp and check-avx2 link them to the runtime alone). */
#ifndef NNC_KERNEL_CHECK_H
#define NNC_KERNEL_CHECK_H

#include <check.h>
#include <stdlib.h>

#include "kernel_numbers.h"

#define ck_near(got, want, atol, rtol) \
    ck_assert_msg(near((got), (want), (atol), (rtol)), "%s = %.9g, want %.9g", #got, \
                  (double)(got), (double)(want))

static inline float *falloc(long n)
{
    float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    ck_assert_ptr_nonnull(p);
    return p;
}

static inline double *dalloc(long n)
{
    double *p = calloc((size_t)(n > 0 ? n : 1), sizeof(double));
    ck_assert_ptr_nonnull(p);
    return p;
}

#define GUARD 16
#define GUARD_VALUE 12345.0f

static inline float *guarded(long n) /* n floats, NaN, then GUARD sentinels */
{
    float *p = falloc(n + GUARD);
    long i;
    fill_nan(p, n);
    for (i = 0; i < GUARD; i++)
        p[n + i] = GUARD_VALUE;
    return p;
}

static inline int guard_ok(const float *p, long n)
{
    long i;
    for (i = 0; i < GUARD; i++)
        if (p[n + i] != GUARD_VALUE)
            return 0;
    return 1;
}

/* a test case of a program: its name, its tests (NULL-terminated), its
 * timeout in seconds (0: Check's default) and, for loop tests, the number
 * of runs of each (_i = 0 .. loops-1) */
typedef struct kernel_case {
    const char *name;
    const TTest *const *tests;
    int timeout, loops;
} kernel_case;

/* the suite of cases[0 .. n), run: the exit status of a test program */
static inline int run_cases(const char *suite, const kernel_case *c, int n)
{
    Suite *s = suite_create(suite);
    SRunner *sr;
    int i, j, failed;
    for (i = 0; i < n; i++) {
        TCase *tc = tcase_create(c[i].name);
        if (c[i].timeout)
            tcase_set_timeout(tc, c[i].timeout);
        for (j = 0; c[i].tests[j]; j++)
            if (c[i].loops)
                tcase_add_loop_test(tc, c[i].tests[j], 0, c[i].loops);
            else
                tcase_add_test(tc, c[i].tests[j]);
        suite_add_tcase(s, tc);
    }
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
