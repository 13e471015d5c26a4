/* nnc_latency.c — times predict() of one generated model: warm-up, then 7
 * timed rounds of REPS calls; prints the median microseconds per call.
 *   cc -DNNC_MODEL=name -DNNC_UPPER=NAME '-DNNC_HEADER="name.h"' -DREPS=N ...
 * The input is a fixed pattern; predict covers the whole input buffer. */
#include <stdio.h>
#include <time.h>

#include NNC_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define F(x) CAT(NNC_MODEL, CAT(_, x))
#define U(x) CAT(NNC_UPPER, CAT(_, x))

#ifndef SAMPLES
#define SAMPLES 1   /* samples per call: 1 for an imported (whole-tensor) model */
#endif

static CAT(NNC_MODEL, _t) model;
static float x[U(INPUT_SIZE) * SAMPLES], y[U(OUTPUT_SIZE) * SAMPLES];

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(void)
{
    double us[7], t0;
    int i, r, k;
    for (i = 0; i < U(INPUT_SIZE) * SAMPLES; i++)
        x[i] = (float)(i % 17) / 17.0f;
    F(init)(&model, 1);
    for (i = 0; i < 20; i++)
        F(predict)(&model, x, y, SAMPLES);
    for (r = 0; r < 7; r++) {
        t0 = now();
        for (i = 0; i < REPS; i++)
            F(predict)(&model, x, y, SAMPLES);
        us[r] = (now() - t0) / REPS * 1e6;
    }
    for (r = 0; r < 7; r++)
        for (k = r + 1; k < 7; k++)
            if (us[k] < us[r]) {
                double t = us[r];
                us[r] = us[k];
                us[k] = t;
            }
    printf("%.3f %.3f %.3f\n", us[3], us[0], us[6]);   /* median, min, max */
    return 0;
}
