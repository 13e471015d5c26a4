/* conv_bench.h — what bench/conv_kernels.c and bench/resnet_layers.c share:
 * the order qsort needs for a median, and seeded uniform [-0.5, 0.5) data */
#ifndef NNC_CONV_BENCH_H
#define NNC_CONV_BENCH_H

#include <stdio.h>
#include <stdlib.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* n floats from a linear congruential sequence seeded with seed; exits when
 * out of memory */
static float *fill(long n, unsigned seed)
{
    float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    long i;
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (float)(seed >> 8) / 16777216.0f - 0.5f;
    }
    return p;
}

#endif
