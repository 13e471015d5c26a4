/* parallel.c — nnc_rt_par_for (parallel.h): the runtime's own small pool
 * of threads, in a build with -fopenmp.
 *
 * Why not an OpenMP parallel region per loop: a region's join waits until
 * every thread of the team has woken up and arrived, even one that found
 * no work left.  A training step of the seed CNN is ~1 ms and forks six
 * times; with OMP_WAIT_POLICY=passive each fork is a futex wake whose
 * latency (tens of microseconds, a whole time slice when the machine is
 * busy) the caller sat out at the join, and with libgomp's active waiting a
 * spinning thread takes the core another job (or the caller) needs: two
 * threads trained the CNN slower than one (2.70 against 1.92 s/epoch).
 *
 * So the caller never waits for a helper to wake: a loop is cut into
 * chunks (fixed bounds, multiples of the grain), the helpers are woken, and
 * the caller starts taking chunks at once from a shared counter, as the
 * helpers do when they arrive.  A helper that wakes after the last chunk is
 * taken does nothing and is not waited for; the caller waits only for the
 * chunks a helper is computing.  Each chunk writes its own outputs, and the
 * kernels compute an output the same way whatever range it falls in, so the
 * result is the same bits for any thread count and any assignment of
 * chunks to threads (tests/test_threads.c).
 *
 * Waiting: a helper spins for a while after its last chunk (the next loop
 * of the step is usually microseconds away) and then sleeps on a condition
 * variable.  How long it spins follows OMP_WAIT_POLICY, as OpenMP's own
 * threads would: passive 0, active ~1 ms, unset ~50 us, a bound that keeps
 * a busy machine from losing much to it.  OMP_NUM_THREADS (what
 * omp_get_max_threads says) is the count, the caller included; the helpers
 * start at the first loop that splits.  One loop runs in the pool at a
 * time: a second caller (another thread of the program, or a chunk calling
 * the runtime) runs its loop itself, as does a caller already inside an
 * OpenMP region. */
#include "nnc_rt.h"
#include "parallel.h"

#if defined(_OPENMP)
#include <omp.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define CPU_RELAX() __builtin_ia32_pause()
#elif defined(__aarch64__) || (defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH >= 7)
#define CPU_RELAX() __asm__ __volatile__("yield" ::: "memory")
#else
#define CPU_RELAX() ((void)0)
#endif

#define MAX_THREADS 64
/* chunks per thread a loop is cut into (fewer when each would be below
 * NNC_RT_PAR_MIN_WORK / 2): enough that a helper that starts late, or is
 * preempted, leaves the caller a chunk's wait, not half the loop's */
#define CHUNKS_PER_THREAD 4
/* the most loops run whole in a row after the helpers missed (a training
 * step of the seed models has 5-7 loops that split) */
#define BACKOFF_MAX 64

#define LOAD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define ADD(p, v) __atomic_fetch_add((p), (v), __ATOMIC_SEQ_CST)

/* The par_pool.  A loop (the job) is published by writing its fields while
 * `open` is 0 and no helper is `inside`, then setting open and bumping
 * `gen`.  A helper enters (inside + 1), and works only if the job is open;
 * the caller closes the job (open = 0) and waits until inside is 0 before
 * it touches the fields again.  Every access to the flags is sequentially
 * consistent, so a helper that enters after the caller saw inside == 0
 * sees open == 0 (or the next job, whole). */
static struct {
    pthread_mutex_t call;          /* held by the caller of the running loop */
    pthread_mutex_t lock;          /* with wake: the sleeping helpers */
    pthread_cond_t wake;
    int started, helpers;          /* helper threads running (nt - 1) */
    long spin;                     /* iterations a helper polls before it sleeps */
    unsigned gen;                  /* bumped for each job */
    int sleepers;                  /* helpers asleep (or about to be) on wake */
    int open, inside;
    /* the job */
    nnc_rt_par_fn fn;
    void *ctx;
    long count, per, chunks;
    nnc_rt_fpmode mode;
    long next, pending;            /* the next chunk to take; chunks not finished */
    long mine;                     /* chunks the caller computed */
    int backoff, skip;             /* loops run whole after the helpers missed some */
} par_pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
          0, 0, 0, 0, 0, 0, 0, NULL, NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0};

/* set while a thread computes a chunk: a loop inside it runs in place */
static __thread int in_chunk;

/* take and compute chunks until none is left; how many */
static long run_chunks(void)
{
    long c, done = 0;
    in_chunk = 1;
    while ((c = ADD(&par_pool.next, 1)) < par_pool.chunks) {
        long b = c * par_pool.per, e = b + par_pool.per < par_pool.count ? b + par_pool.per : par_pool.count;
        par_pool.fn(par_pool.ctx, b, e);
        ADD(&par_pool.pending, -1);
        done++;
    }
    in_chunk = 0;
    return done;
}

static void *helper_main(void *arg)
{
    unsigned seen = 0;
    (void)arg;
    for (;;) {
        long i;
        unsigned g = LOAD(&par_pool.gen);
        for (i = 0; g == seen && i < par_pool.spin; i++) {
            CPU_RELAX();
            g = LOAD(&par_pool.gen);
        }
        if (g == seen) {
            pthread_mutex_lock(&par_pool.lock);
            ADD(&par_pool.sleepers, 1);
            while ((g = LOAD(&par_pool.gen)) == seen)
                pthread_cond_wait(&par_pool.wake, &par_pool.lock);
            ADD(&par_pool.sleepers, -1);
            pthread_mutex_unlock(&par_pool.lock);
        }
        seen = g;
        ADD(&par_pool.inside, 1);
        if (LOAD(&par_pool.open)) {
            nnc_rt_fpmode own = nnc_rt_fp_get();
            nnc_rt_fp_set(par_pool.mode);
            run_chunks();
            nnc_rt_fp_set(own);
        }
        ADD(&par_pool.inside, -1);
    }
    return NULL;
}

/* a child of fork() has none of the helpers (only the forking thread is
 * copied): its first split starts its own */
static void pool_forget(void)
{
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    par_pool.call = m;
    par_pool.lock = m;
    par_pool.wake = c;
    par_pool.started = par_pool.helpers = par_pool.sleepers = par_pool.open = par_pool.inside = 0;
}

/* the helpers for nt threads (called holding par_pool.call); 0 when none
 * could be started */
static int pool_start(int nt)
{
    pthread_attr_t attr;
    const char *policy = getenv("OMP_WAIT_POLICY");
    if (par_pool.started)
        return par_pool.helpers > 0;
    par_pool.started = 1;
    if (!par_pool.helpers && pthread_atfork(NULL, NULL, pool_forget))
        return 0;
    /* a pause is ~10-60 ns; these are ~50 us and ~1 ms of polling */
    par_pool.spin = 2000;
    if (policy && !strcmp(policy, "passive"))
        par_pool.spin = 0;
    else if (policy && !strcmp(policy, "active"))
        par_pool.spin = 40000;
    if (pthread_attr_init(&attr))
        return 0;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (; par_pool.helpers < nt - 1; par_pool.helpers++) {
        pthread_t t;
        if (pthread_create(&t, &attr, helper_main, NULL))
            break;
    }
    pthread_attr_destroy(&attr);
    return par_pool.helpers > 0;
}

static int max_threads(void)
{
    int nt = omp_get_max_threads();
    return nt < MAX_THREADS ? nt : MAX_THREADS;
}

void nnc_rt_par_for(long count, long grain, double work, nnc_rt_par_fn fn, void *ctx)
{
    long nt = max_threads(), units, chunks, per, i;
    if (grain < 1)
        grain = 1;
    units = (count + grain - 1) / grain;
    if (nt < 2 || units < 2 || work < NNC_RT_PAR_MIN_WORK || in_chunk || omp_in_parallel() ||
        pthread_mutex_trylock(&par_pool.call)) {
        fn(ctx, 0, count);
        return;
    }
    /* The helpers took no chunk of the last loops (their cores are busy
     * with other work): the next loops run whole here, twice as many each
     * time it happens again (at most BACKOFF_MAX), then the helpers are
     * tried again.  A wake that finds no core costs the caller its system
     * call and the helper's late arrival, for nothing. */
    if (par_pool.skip > 0) {
        par_pool.skip--;
        pthread_mutex_unlock(&par_pool.call);
        fn(ctx, 0, count);
        return;
    }
    if (!pool_start((int)nt)) {
        pthread_mutex_unlock(&par_pool.call);
        fn(ctx, 0, count);
        return;
    }
    if (nt > par_pool.helpers + 1)
        nt = par_pool.helpers + 1;
    chunks = nt * CHUNKS_PER_THREAD;
    if ((double)chunks > work / (NNC_RT_PAR_MIN_WORK / 2))
        chunks = (long)(work / (NNC_RT_PAR_MIN_WORK / 2));
    if (chunks < nt)
        chunks = nt;
    if (chunks > units)
        chunks = units;
    per = (units + chunks - 1) / chunks * grain;
    par_pool.fn = fn;
    par_pool.ctx = ctx;
    par_pool.count = count;
    par_pool.per = per;
    par_pool.chunks = (count + per - 1) / per;
    par_pool.mode = nnc_rt_fp_get();
    STORE(&par_pool.next, 0);
    STORE(&par_pool.pending, par_pool.chunks);
    STORE(&par_pool.open, 1);
    ADD(&par_pool.gen, 1);
    if (LOAD(&par_pool.sleepers)) {
        pthread_mutex_lock(&par_pool.lock);
        pthread_cond_broadcast(&par_pool.wake);
        pthread_mutex_unlock(&par_pool.lock);
    }
    par_pool.mine = run_chunks();
    /* the chunks the helpers took: spin a little, then give the core away
     * (a helper preempted in one, maybe queued on this core, needs it) */
    for (i = 0; LOAD(&par_pool.pending) > 0; i++) {
        if (i < 1000)
            CPU_RELAX();
        else
            sched_yield();
    }
    STORE(&par_pool.open, 0);
    while (LOAD(&par_pool.inside) > 0)
        sched_yield();
    if (par_pool.mine < par_pool.chunks) {
        par_pool.backoff = 0;
    } else {
        par_pool.backoff = par_pool.backoff ? 2 * par_pool.backoff : 1;
        if (par_pool.backoff > BACKOFF_MAX)
            par_pool.backoff = BACKOFF_MAX;
        par_pool.skip = par_pool.backoff;
    }
    pthread_mutex_unlock(&par_pool.call);
}

int nnc_rt_par_threads(void)
{
    return in_chunk || omp_in_parallel() ? 1 : max_threads();
}
#else
typedef int nnc_rt_parallel_absent; /* ISO C: a translation unit declares something */
#endif
