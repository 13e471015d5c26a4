/* eval.c — host tool: a generated inference build (float32 or int8) on
 * COUNT samples, its outputs written to OUT.bin, and one line: the accuracy
 * against LABELS (int32 classes), or for a model whose output has its input's
 * size (an autoencoder) the mean squared reconstruction error.
 * Built against the generated code like infer_main.c:
 *   cc -DNNC_MODEL=name -DNNC_UPPER=NAME '-DNNC_HEADER="name.h"' ...
 * Usage: eval INPUTS.bin LABELS.bin COUNT OUT.bin (raw native float32
 * inputs, int32 labels; firmware/export.c --as writes both). */
#include <stdio.h>
#include <stdlib.h>

#include NNC_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define F(x) CAT(NNC_MODEL, CAT(_, x))
#define U(x) CAT(NNC_UPPER, CAT(_, x))

static CAT(NNC_MODEL, _t) model;

int main(int argc, char **argv)
{
    enum { IN = U(INPUT_SIZE), OUTS = U(OUTPUT_SIZE) };
    static CAT(NNC_MODEL, _input_t) x[IN];
    static float y[OUTS];
    FILE *fx, *fl, *fo;
    long n, i, right = 0;
    double sq = 0;
    int j;
    if (argc != 5) {
        fprintf(stderr, "usage: eval INPUTS.bin LABELS.bin COUNT OUT.bin\n");
        return 2;
    }
    n = atol(argv[3]);
    fx = fopen(argv[1], "rb");
    fl = fopen(argv[2], "rb");
    fo = fopen(argv[4], "wb");
    if (!fx || !fl || !fo || n < 1) {
        fprintf(stderr, "eval: cannot open %s, %s or %s (or COUNT < 1)\n", argv[1], argv[2], argv[4]);
        return 1;
    }
    F(init)(&model, 1);
    for (i = 0; i < n; i++) {
        int32_t label;
        int best = 0;
        if (fread(x, sizeof x, 1, fx) != 1 || fread(&label, sizeof label, 1, fl) != 1) {
            fprintf(stderr, "eval: %s or %s has fewer than %ld samples\n", argv[1], argv[2], n);
            return 1;
        }
        F(predict)(&model, x, y, 1);
        if (fwrite(y, sizeof y, 1, fo) != 1) {
            fprintf(stderr, "eval: cannot write %s\n", argv[4]);
            return 1;
        }
        for (j = 1; j < OUTS; j++)
            if (y[j] > y[best])
                best = j;
        right += best == label;
        if (OUTS == IN)
            for (j = 0; j < OUTS; j++)
                sq += ((double)y[j] - (double)x[j]) * ((double)y[j] - (double)x[j]);
    }
    fclose(fx);
    fclose(fl);
    if (fclose(fo)) {
        fprintf(stderr, "eval: cannot write %s\n", argv[4]);
        return 1;
    }
    if (OUTS == IN)
        printf("mse %.5f\n", sq / ((double)n * OUTS));
    else
        printf("accuracy %.2f\n", 100.0 * (double)right / (double)n);
    return 0;
}
