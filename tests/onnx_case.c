/* onnx_case.c — the driver tests/onnx_conformance.py and tests/onnx_torch.py
 * build against each model nnc compiled from an ONNX file: reads samples
 * from stdin (float32, each sample's graph inputs side by side, as the
 * header's INPUT_SIZE counts them), calls predict once on all of them and
 * writes the outputs, each sample's side by side, to stdout.  A graph nnc
 * runs whole has one "sample": every input in full.
 *   cc -DNNC_MODEL=model -DNNC_UPPER=MODEL '-DNNC_HEADER="model.h"' ... */
#include <stdio.h>
#include <stdlib.h>

#include NNC_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define F(x) CAT(NNC_MODEL, CAT(_, x))
#define U(x) CAT(NNC_UPPER, CAT(_, x))

static CAT(NNC_MODEL, _t) model;

int main(void)
{
    size_t cap = 1 << 16, len = 0, got;
    float *x = malloc(cap * sizeof *x);
    while (x && (got = fread(x + len, sizeof(float), cap - len, stdin)) > 0)
        if ((len += got) == cap) x = realloc(x, (cap *= 2) * sizeof *x);
    long n = U(INPUT_SIZE) ? (long)(len / U(INPUT_SIZE)) : 1;
    if (!x || (U(INPUT_SIZE) && (len % U(INPUT_SIZE) || n < 1))) {
        fprintf(stderr, "onnx_case: expected samples of %ld input floats, got %zu floats\n", (long)U(INPUT_SIZE), len);
        return 2;
    }
    float *y = malloc((size_t)(n * U(OUTPUT_SIZE) + 1) * sizeof *y);
    if (!y) return 2;
    F(init)(&model, 1);
    F(predict)(&model, x, y, (int)n);
    return fwrite(y, sizeof(float), (size_t)(n * U(OUTPUT_SIZE)), stdout) == (size_t)(n * U(OUTPUT_SIZE)) ? 0 : 2;
}
