/* threads_step.c — one training step (-DTRAIN: train_batch on the compiled
 * batch) or one predict() of a generated model, on 1 and on 2 threads of
 * the runtime built with -fopenmp, the two interleaved step by step so that
 * whatever else the machine runs weighs on both alike; prints min, 10th
 * percentile and median microseconds of each.  The figures of issue 17's
 * two-thread work were taken with it:
 *   cc -O3 -march=native -fopenmp -Iruntime -Igenerated -DNNC_MODEL=fashion_cnn_small \
 *      -DNNC_UPPER=FASHION_CNN_SMALL '-DNNC_HEADER="fashion_cnn_small.h"' -DTRAIN \
 *      generated/fashion_cnn_small.c bench/threads_step.c build/libnnc_rt_omp.a -lm -o step
 *   OMP_WAIT_POLICY=passive ./step 300
 * (the inference models: bench/inference.sh's build/bench/NAME.c, without -DTRAIN). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <omp.h>

#include NNC_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define F(x) CAT(NNC_MODEL, CAT(_, x))
#define U(x) CAT(NNC_UPPER, CAT(_, x))
#define STR_(a) #a
#define STR(a) STR_(a)

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double d = *(const double *)a - *(const double *)b;
    return (d > 0) - (d < 0);
}

static CAT(NNC_MODEL, _t) model;
#ifdef TRAIN
static CAT(NNC_MODEL, _input_t) x[U(INPUT_SIZE) * U(BATCH)];
static CAT(NNC_MODEL, _label_t) y[U(BATCH) * U(LABEL_SIZE)];
#define STEP() F(train_batch)(&model, x, y, U(BATCH))
#else
static float x[U(INPUT_SIZE) * U(BATCH)], y[U(OUTPUT_SIZE) * U(BATCH)];
#define STEP() F(predict)(&model, x, y, U(BATCH))
#endif

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 100, i, t;
    double *s[3];
    s[1] = malloc(sizeof(double) * (size_t)reps);
    s[2] = malloc(sizeof(double) * (size_t)reps);
    if (reps < 1 || !s[1] || !s[2])
        return 1;
    for (i = 0; i < U(INPUT_SIZE) * U(BATCH); i++)
        x[i] = (float)(i % 17) / 17.0f;
#ifdef TRAIN
    for (i = 0; i < U(BATCH) * U(LABEL_SIZE); i++)
        y[i] = i % 10;   /* a class of the seed models */
#endif
    F(init)(&model, 1);
    for (i = 0; i < 5; i++)
        for (t = 1; t <= 2; t++) {
            omp_set_num_threads(t);
            STEP();
        }
    for (i = 0; i < reps; i++)
        for (t = 1; t <= 2; t++) {
            double a;
            omp_set_num_threads(t);
            STEP();   /* the first after a switch settles the caches */
            a = now();
            STEP();
            s[t][i] = now() - a;
        }
    for (t = 1; t <= 2; t++) {
        qsort(s[t], (size_t)reps, sizeof(double), cmp);
        printf("%s %d thread%s: min %8.1f p10 %8.1f median %8.1f us\n", STR(NNC_MODEL), t, t > 1 ? "s" : "",
               s[t][0] * 1e6, s[t][reps / 10] * 1e6, s[t][reps / 2] * 1e6);
    }
    return 0;
}
