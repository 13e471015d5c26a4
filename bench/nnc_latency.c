/* nnc_latency.c — times predict() of one generated model: warm-up, then
 * ROUNDS (argv[1], default 7) timed rounds of REPS calls; prints each
 * round's microseconds per call.
 *   cc -DNNC_MODEL=name -DNNC_UPPER=NAME '-DNNC_HEADER="name.h"' -DREPS=N ...
 * The input is a fixed pattern; predict covers the whole input buffer: the
 * model's BATCH samples of INPUT_SIZE floats.  -DNNC_CLOCK=CLOCK_THREAD_CPUTIME_ID
 * times the thread's CPU time instead of the wall clock (a loaded machine). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include NNC_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define F(x) CAT(NNC_MODEL, CAT(_, x))
#define U(x) CAT(NNC_UPPER, CAT(_, x))

#ifndef SAMPLES
/* samples per call: the compiled batch (an imported model's is its exported
 * one; one set of the exported inputs for a graph nnc runs whole) */
#define SAMPLES U(BATCH)
#endif

static CAT(NNC_MODEL, _t) model;
static float x[U(INPUT_SIZE) * SAMPLES], y[U(OUTPUT_SIZE) * SAMPLES];

#ifndef NNC_CLOCK
#define NNC_CLOCK CLOCK_MONOTONIC
#endif

static double now(void)
{
    struct timespec t;
    clock_gettime(NNC_CLOCK, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 7, i, r;
    double t0;
    for (i = 0; i < U(INPUT_SIZE) * SAMPLES; i++)
        x[i] = (float)(i % 17) / 17.0f;
    F(init)(&model, 1);
    for (i = 0; i < 20; i++)
        F(predict)(&model, x, y, SAMPLES);
    for (r = 0; r < rounds; r++) {
        t0 = now();
        for (i = 0; i < REPS; i++)
            F(predict)(&model, x, y, SAMPLES);
        printf("%s%.3f", r ? " " : "", (now() - t0) / REPS * 1e6);
    }
    printf("\n");
    return 0;
}
