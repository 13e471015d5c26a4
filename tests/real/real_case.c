/* real_case.c — tests/real_models.py's driver: tests/onnx_case.c (which it
 * includes, its main renamed) plus a timer.  Without arguments it is
 * onnx_case exactly: the inputs (float32, side by side) on stdin, predict
 * once, the outputs (float32) on stdout.  With MIN MAX MS it reads the
 * same inputs, warms up (predict for up to a fifth of MS, at most 20 times),
 * then times predict calls, each on its own, until MS milliseconds or MAX
 * calls, at least MIN, and prints the median microseconds per call: wall
 * time, or with a fourth argument "cpu" the calling thread's CPU time
 * (steadier than wall time on a loaded machine; the model runs on one
 * thread).
 *   cc -DNNC_MODEL=model -DNNC_UPPER=MODEL '-DNNC_HEADER="model.h"' ... */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define main onnx_case_main
#include "../onnx_case.c"
#undef main

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double clock_us(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static double now_us(void) { return clock_us(CLOCK_MONOTONIC); }

int main(int argc, char **argv)
{
    if (argc < 4) return onnx_case_main();
    long min = strtol(argv[1], NULL, 10), max = strtol(argv[2], NULL, 10), reps = 0;
    double ms = strtod(argv[3], NULL);
    clockid_t per_call = argc > 4 && !strcmp(argv[4], "cpu") ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC;
    if (min < 1) min = 1;
    if (max < min) max = min;
    size_t in = U(INPUT_SIZE) ? (size_t)U(INPUT_SIZE) : 1;
    float *x = calloc(in, sizeof *x), *y = malloc(((size_t)U(OUTPUT_SIZE) + 1) * sizeof *y);
    double *us = malloc((size_t)max * sizeof *us);
    if (!x || !y || !us) return 2;
    if (U(INPUT_SIZE) && fread(x, sizeof(float), in, stdin) != in) {
        fprintf(stderr, "real_case: expected %zu input floats\n", in);
        return 2;
    }
    F(init)(&model, 1);
    double start = now_us();
    for (int w = 0; w < 20 && (w == 0 || now_us() - start < ms * 200.0); w++) F(predict)(&model, x, y, 1);
    start = now_us();
    while (reps < max && (reps < min || now_us() - start < ms * 1000.0)) {
        double t0 = clock_us(per_call);
        F(predict)(&model, x, y, 1);
        us[reps++] = clock_us(per_call) - t0;
    }
    qsort(us, (size_t)reps, sizeof *us, cmp_double);
    printf("%.1f\n", us[reps / 2]);
    return 0;
}
