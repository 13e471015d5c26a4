/* parallel.h — the runtime's optional threads.  A build of the runtime with
 * -fopenmp splits its large loops across a small pool of its own threads
 * (parallel.c; OMP_NUM_THREADS of them, the caller included); any other
 * build runs them in the caller's thread.  Every split is into disjoint
 * ranges of outputs, each computed exactly as one thread would, so neither
 * the thread count nor which thread takes which range changes a result. */
#ifndef NNC_RT_PARALLEL_H
#define NNC_RT_PARALLEL_H

/* the work (multiply-adds, or elements touched) below which one thread does
 * it all: a fork and join costs a few microseconds */
#define NNC_RT_PAR_MIN_WORK 65536.0

typedef void (*nnc_rt_par_fn)(void *ctx, long begin, long end);

/* fn(ctx, begin, end) over [0, count) in chunks (a few per thread), their
 * bounds multiples of grain (but the last), taken by the caller and the
 * pool's threads as each comes free, when work >= NNC_RT_PAR_MIN_WORK and
 * the caller is not already in a split loop, an OpenMP region or another
 * thread's use of the pool; else fn(ctx, 0, count).
 * Each thread runs in the caller's floating-point mode.  Without OpenMP it
 * is the plain call, inline: no double arithmetic reaches a build for a
 * single-precision FPU (a Cortex-M4F would link soft-float code for it). */
#if defined(_OPENMP)
void nnc_rt_par_for(long count, long grain, double work, nnc_rt_par_fn fn, void *ctx);
/* how many threads nnc_rt_par_for would split enough work between: a
 * kernel that can cut its work finer for them asks (1 without OpenMP, or
 * inside a parallel region) */
int nnc_rt_par_threads(void);
#else
static inline int nnc_rt_par_threads(void) { return 1; }
static inline void nnc_rt_par_for(long count, long grain, double work, nnc_rt_par_fn fn, void *ctx)
{
    (void)grain;
    (void)work;
    fn(ctx, 0, count);
}
#endif

#endif
