/* kernel_numbers.h — the numbers side of the runtime's kernel tests, with
 * no test framework (tests/gemm_check.c runs under qemu without Check):
 * random fills and the tolerance |got - want| <= atol + rtol*|want|.
 * Needs nnc_rt.h first.  static inline: each test uses some of them. */
#ifndef NNC_KERNEL_NUMBERS_H
#define NNC_KERNEL_NUMBERS_H

#include <math.h>

static inline void fill_uniform(float *x, long n, nnc_rt_rng *r, float lo, float hi)
{
    long i;
    for (i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * nnc_rt_rng_uniform(r);
}

static inline void fill_nan(float *x, long n)
{
    long i;
    for (i = 0; i < n; i++)
        x[i] = NAN;
}

static inline int near(double got, double want, double atol, double rtol)
{
    return fabs(got - want) <= atol + rtol * fabs(want);
}

/* index of the first got[i] not within tolerance of want[i], or n */
static inline long first_bad(const float *got, const double *want, long n, double atol, double rtol)
{
    long i;
    for (i = 0; i < n; i++)
        if (!near(got[i], want[i], atol, rtol))
            break;
    return i;
}

#endif
