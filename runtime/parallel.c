/* parallel.c — nnc_rt_par_for (parallel.h) */
#include "nnc_rt.h"
#include "parallel.h"

#if defined(_OPENMP)
#include <omp.h>

void nnc_rt_par_for(long count, long grain, double work, nnc_rt_par_fn fn, void *ctx)
{
    long nt = omp_get_max_threads();
    if (nt > 1 && work >= NNC_RT_PAR_MIN_WORK && count > grain && !omp_in_parallel()) {
        long per = ((count + nt - 1) / nt + grain - 1) / grain * grain;
        long parts = (count + per - 1) / per, t;
        nnc_rt_fpmode mode = nnc_rt_fp_get();
#pragma omp parallel for schedule(static) num_threads(parts)
        for (t = 0; t < parts; t++) {
            nnc_rt_fpmode own = nnc_rt_fp_get();
            long b = t * per, e = b + per < count ? b + per : count;
            nnc_rt_fp_set(mode);
            fn(ctx, b, e);
            nnc_rt_fp_set(own);
        }
        return;
    }
    fn(ctx, 0, count);
}

int nnc_rt_par_threads(void)
{
    return omp_in_parallel() ? 1 : omp_get_max_threads();
}
#else
typedef int nnc_rt_parallel_absent; /* ISO C: a translation unit declares something */
#endif
