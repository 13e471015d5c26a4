/* q8_eval.c — tests/q8_accuracy.sh's harness around one generated model
 * (float or int8, named by -DPREFIX, -DUPPER and -DHEADER):
 *   q8_eval acc IMAGES LABELS OUT   the accuracy (printed, percent) against
 *                                   the labels; each sample's arg max to OUT,
 *                                   one byte a sample, for comparing builds
 *   q8_eval save FILE               parameters from seed 1 to FILE (nnc --weights)
 *   q8_eval run X.f32 OUT.f32       the outputs for the samples of X (raw floats) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nnc_host.h"
#include HEADER

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define FN(name) CAT(PREFIX, name)
#define IN_SIZE CAT(UPPER, _INPUT_SIZE)
#define OUT_SIZE CAT(UPPER, _OUTPUT_SIZE)

static CAT(PREFIX, _t) model NNC_RT_ALIGN64;

static int write_all(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    return !f || fwrite(p, 1, n, f) != n || fclose(f);
}

int main(int argc, char **argv) {
    nnc_host_array x, y;
    long shape[1] = { IN_SIZE };
    FN(_init)(&model, 1);
    if (argc == 3 && !strcmp(argv[1], "save")) {
        static unsigned char buf[1 << 24];
        size_t n = FN(_save)(&model, buf, sizeof buf);
        return !n || write_all(argv[2], buf, n);
    }
    if (argc != 5 && argc != 4) {
        fprintf(stderr, "usage: %s acc IMAGES LABELS OUT | save FILE | run X OUT\n", argv[0]);
        return 2;
    }
    if (nnc_host_array_load(argv[2], NULL, NULL, NNC_HOST_F32, shape, 1, &x)) return 1;
    long n = x.shape[0];
    if (nnc_host_array_sample_size(&x) != IN_SIZE) {
        fprintf(stderr, "q8_eval: samples of %ld values, the model takes %d\n", nnc_host_array_sample_size(&x), IN_SIZE);
        return 1;
    }
    float *out = malloc((size_t)n * OUT_SIZE * sizeof *out);
    if (!out) return 1;
    FN(_predict)(&model, x.data, out, n);
    if (!strcmp(argv[1], "run")) {
        int status = write_all(argv[3], out, (size_t)n * OUT_SIZE * sizeof *out);
        free(out);
        nnc_host_array_free(&x);
        return status;
    }
    if (nnc_host_array_load(argv[3], NULL, NULL, NNC_HOST_I32, NULL, 0, &y) || y.shape[0] != n) return 1;
    unsigned char *arg = malloc((size_t)n);
    if (!arg) return 1;
    long right = 0;
    for (long i = 0; i < n; i++) {
        int best = 0;
        for (int c = 1; c < OUT_SIZE; c++)
            if (out[i * OUT_SIZE + c] > out[i * OUT_SIZE + best]) best = c;
        arg[i] = (unsigned char)best;
        right += best == ((const int32_t *)y.data)[i];
    }
    if (write_all(argv[4], arg, (size_t)n)) return 1;
    printf("%.2f\n", 100.0 * (double)right / (double)n);
    free(out);
    free(arg);
    nnc_host_array_free(&x);
    nnc_host_array_free(&y);
    return 0;
}
