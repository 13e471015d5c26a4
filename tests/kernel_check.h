/* kernel_check.h — what the runtime's Check unit tests share (test_runtime,
 * test_optim, test_rng, test_rnn, test_tensor_nd, test_conv, test_pool_norm):
 * the numbers of kernel_numbers.h, an assertion on them, allocation that
 * fails the test rather than crashing it, output buffers pre-filled with
 * NaN and followed by guard values a kernel must not overwrite; their
 * main()s are check_run.h's table of test cases.
 * Needs nnc_rt.h first; these files build without the compiler's headers
 * (make check-openmp and check-avx2 link them to the runtime alone). */
#ifndef NNC_KERNEL_CHECK_H
#define NNC_KERNEL_CHECK_H

#include <check.h>
#include <stdlib.h>

#include "check_run.h"
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

#endif
