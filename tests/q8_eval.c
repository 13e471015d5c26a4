/* q8_eval.c — tests/q8_accuracy.sh's harness: one generated model (float or
 * int8, named by -DPREFIX and -DHEADER) predicts a data set; prints its
 * accuracy against the labels and writes each sample's arg max (one byte a
 * sample) to OUT, so the script compares the int8 build's classes with the
 * float build's.  Usage: q8_eval IMAGES LABELS OUT */
#include <stdio.h>
#include <stdlib.h>
#include "nnc_host.h"
#include HEADER

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define FN(name) CAT(PREFIX, name)

static CAT(PREFIX, _t) model NNC_RT_ALIGN64;

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s IMAGES LABELS OUT\n", argv[0]);
        return 2;
    }
    nnc_host_array x, y;
    long shape[1] = { 784 };
    if (nnc_host_array_load(argv[1], NULL, NULL, NNC_HOST_F32, shape, 1, &x) ||
        nnc_host_array_load(argv[2], NULL, NULL, NNC_HOST_I32, NULL, 0, &y))
        return 1;
    long n = x.shape[0], per = nnc_host_array_sample_size(&x), classes = 10;
    if (per != 784 || y.shape[0] != n) {
        fprintf(stderr, "q8_eval: %ld samples of %ld values, %ld labels\n", n, per, y.shape[0]);
        return 1;
    }
    float *out = malloc((size_t)n * classes * sizeof *out);
    unsigned char *arg = malloc((size_t)n);
    if (!out || !arg) return 1;
    FN(_init)(&model, 1);
    FN(_predict)(&model, x.data, out, n);
    long right = 0;
    for (long i = 0; i < n; i++) {
        int best = 0;
        for (int c = 1; c < classes; c++)
            if (out[i * classes + c] > out[i * classes + best]) best = c;
        arg[i] = (unsigned char)best;
        right += best == ((const int32_t *)y.data)[i];
    }
    FILE *f = fopen(argv[3], "wb");
    if (!f || fwrite(arg, 1, (size_t)n, f) != (size_t)n || fclose(f)) return 1;
    printf("%.2f\n", 100.0 * (double)right / (double)n);
    free(out);
    free(arg);
    nnc_host_array_free(&x);
    nnc_host_array_free(&y);
    return 0;
}
