/* gemm.c — this core's measured single-precision FMA peak, and the GFLOP/s
 * of the runtime's GEMM (nnc_rt_gemm_f32, the kernel generated code calls)
 * at the seed MLP's training shapes and at 256^3, as a fraction of it.
 *
 *   cc -O3 -march=native -Iruntime bench/gemm.c build/libnnc_rt.a -lm
 *
 * The peak: independent chains of FMAs on the widest vectors the
 * compiler's target macros allow, as many as stay in registers (20 of
 * AVX-512's 32, 12 of AVX2's 16: either hides a 4-cycle latency on two
 * pipes; 20 AVX2 chains spilled to the stack and measured 73 GFLOP/s where
 * the GEMM itself reached 93), timed over 2e8 vector FMAs; the best of 7
 * rounds.  Each GEMM figure is the median of 7 rounds (min and max beside
 * it), each round long enough (>= 20 ms) for the timer; a peak round and
 * one round of every shape alternate.
 *
 * The timer is this thread's CPU time where the system has one (POSIX
 * thread CPU-time clocks): on a machine shared with other jobs, wall time
 * counts the slices the scheduler gives them, which made the ratios swing
 * by 30 points between runs of the same build; CPU time counts only the
 * cycles this thread ran, which is what a kernel's efficiency is about.
 * -DBENCH_CLOCK=CLOCK_MONOTONIC -DBENCH_CLOCK_NAME='"wall"' times the wall clock.  The load
 * average is printed so that a reader can judge the rest.
 *
 * Prints one line per figure:
 *   clock NAME load L1 L5 L15
 *   peak GFLOPS MEDIAN MIN MAX ISA
 *   gemm NAME M N K ta tb GFLOPS MEDIAN MIN MAX PERCENT_OF_PEAK BEST_PERCENT
 * (PERCENT_OF_PEAK: the median against the best peak round; BEST_PERCENT:
 * the best round against it) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "nnc_rt.h"

#ifndef BENCH_CLOCK
#if defined(_POSIX_THREAD_CPUTIME) && _POSIX_THREAD_CPUTIME >= 0
#define BENCH_CLOCK CLOCK_THREAD_CPUTIME_ID
#define BENCH_CLOCK_NAME "thread-cpu-time"
#else
#define BENCH_CLOCK CLOCK_MONOTONIC
#define BENCH_CLOCK_NAME "wall"
#endif
#endif
#ifndef BENCH_CLOCK_NAME
#define BENCH_CLOCK_NAME "BENCH_CLOCK"
#endif

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#endif

static double now(void)
{
    struct timespec t;
    clock_gettime(BENCH_CLOCK, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void sort7(double *v)
{
    int i, k;
    for (i = 0; i < 7; i++)
        for (k = i + 1; k < 7; k++)
            if (v[k] < v[i]) {
                double t = v[i];
                v[i] = v[k];
                v[k] = t;
            }
}

#if defined(__AVX512F__)
#define CHAINS 20
#else
#define CHAINS 12
#endif
#define ROUNDS (200000000L / CHAINS)   /* x CHAINS vector FMAs */

#if defined(__AVX512F__)
#define ISA "avx512"
#define LANES 16
typedef __m512 vec;
#define VSET(x) _mm512_set1_ps(x)
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
static float vsum(vec v) { return _mm512_reduce_add_ps(v); }
#elif defined(__AVX2__) && defined(__FMA__)
#define ISA "avx2"
#define LANES 8
typedef __m256 vec;
#define VSET(x) _mm256_set1_ps(x)
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
static float vsum(vec v)
{
    float o[8];
    _mm256_storeu_ps(o, v);
    return o[0] + o[1] + o[2] + o[3] + o[4] + o[5] + o[6] + o[7];
}
#else
#define ISA "scalar"
#define LANES 1
typedef float vec;
#define VSET(x) (x)
#define VFMA(a, b, c) ((a) * (b) + (c))
static float vsum(vec v) { return v; }
#endif

/* GFLOP/s of one round of CHAINS x ROUNDS vector FMAs */
static double peak_round(float *sink)
{
    vec acc[CHAINS], m = VSET(0.999f), c = VSET(0.001f);
    long r;
    int i;
    double t0;
    for (i = 0; i < CHAINS; i++)
        acc[i] = VSET((float)i);
    t0 = now();
    for (r = 0; r < ROUNDS; r++) {
#if defined(__GNUC__)
#pragma GCC unroll 20
#endif
        for (i = 0; i < CHAINS; i++)
            acc[i] = VFMA(acc[i], m, c);
    }
    t0 = now() - t0;
    for (i = 0; i < CHAINS; i++)
        *sink += vsum(acc[i]);
    return (double)ROUNDS * CHAINS * LANES * 2 / t0 / 1e9;
}

static float *fill(long n, unsigned seed)
{
    void *v = NULL;
    float *p;
    long i;
    /* on a cache line, as the generated code's tensors are (the arena's
     * offsets are multiples of 64 bytes): malloc's 16-byte alignment would
     * split every 64-byte load of a B read in place, and every store of C,
     * across two lines, which an Intel core pays for (15 points of the
     * peak at the batch-32 shapes) and a real model never sees */
    if (posix_memalign(&v, 64, ((size_t)n * sizeof *p + 63) / 64 * 64))
        exit(1);
    p = v;
    for (i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (float)((seed >> 9) & 0xffff) / 65536.0f - 0.5f;
    }
    return p;
}

int main(void)
{
    static const struct { const char *name; int ta, tb, M, N, K; } shapes[] = {
        {"mlp_fwd1", 0, 0, 32, 256, 784},  /* x . W1 at batch 32 */
        {"mlp_fwd2", 0, 0, 32, 128, 256},
        {"mlp_dx2", 0, 1, 32, 256, 128},   /* dY . W2^T */
        {"mlp_dw1", 1, 0, 784, 256, 32},   /* x^T . dY */
        {"mlp_dw2", 1, 0, 256, 128, 32},
        {"mlp_b256", 0, 0, 256, 256, 784}, /* x . W1 at batch 256 */
        {"sq256", 0, 0, 256, 256, 256},
        {"sq256_tn", 1, 0, 256, 256, 256},
        {"sq256_nt", 0, 1, 256, 256, 256},
    };
    enum { NS = sizeof shapes / sizeof shapes[0] };
    double pk[7], g[NS][7], peak, flops[NS];
    float *A[NS], *B[NS], *C[NS], sink = 0.0f;
    long reps[NS], i;
    unsigned s;
    int r;
    for (s = 0; s < NS; s++) {
        int M = shapes[s].M, N = shapes[s].N, K = shapes[s].K;
        A[s] = fill((long)M * K, 1 + s);
        B[s] = fill((long)K * N, 7 + s);
        C[s] = fill((long)M * N, 3);
        flops[s] = 2.0 * M * N * K;
        reps[s] = (long)(2e7 / flops[s] * 100) + 1; /* ~20 ms at 100 GFLOP/s */
        for (i = 0; i < 3; i++)
            nnc_rt_gemm_f32(shapes[s].ta, shapes[s].tb, M, N, K, 1.0f, A[s], shapes[s].ta ? M : K, B[s],
                            shapes[s].tb ? K : N, 0.0f, C[s], N);
    }
    /* the rounds go peak, every shape, peak, every shape, ...: a slower
     * spell of a shared machine falls on both */
    for (r = 0; r < 7; r++) {
        pk[r] = peak_round(&sink);
        for (s = 0; s < NS; s++) {
            int M = shapes[s].M, N = shapes[s].N, K = shapes[s].K, ta = shapes[s].ta, tb = shapes[s].tb;
            double t0 = now();
            for (i = 0; i < reps[s]; i++)
                nnc_rt_gemm_f32(ta, tb, M, N, K, 1.0f, A[s], ta ? M : K, B[s], tb ? K : N, 0.0f, C[s], N);
            g[s][r] = flops[s] * reps[s] / (now() - t0) / 1e9;
        }
    }
    {
        /* the machine's load, for the reader (Linux; "?" elsewhere) */
        char load[64] = "? ? ?";
        FILE *f = fopen("/proc/loadavg", "r");
        float l1, l5, l15;
        if (f) {
            if (fscanf(f, "%f %f %f", &l1, &l5, &l15) == 3)
                sprintf(load, "%.2f %.2f %.2f", l1, l5, l15);
            fclose(f);
        }
        printf("clock %s load %s\n", BENCH_CLOCK_NAME, load);
    }
    sort7(pk);
    peak = pk[6]; /* the best round is the closest to the core's limit */
    printf("peak GFLOPS %.1f %.1f %.1f %s (sink %g)\n", pk[3], pk[0], pk[6], ISA, (double)sink);
    for (s = 0; s < NS; s++) {
        sort7(g[s]);
        printf("gemm %s %d %d %d %d %d GFLOPS %.1f %.1f %.1f %.0f%% %.0f%%\n", shapes[s].name, shapes[s].M,
               shapes[s].N, shapes[s].K, shapes[s].ta, shapes[s].tb, g[s][3], g[s][0], g[s][6],
               100.0 * g[s][3] / peak, 100.0 * g[s][6] / peak);
        free(A[s]);
        free(B[s]);
        free(C[s]);
    }
    return 0;
}
