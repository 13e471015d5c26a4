/* onnx_case.c — the driver tests/onnx_conformance.py builds against each
 * model nnc compiled from an ONNX file: reads every graph input, packed
 * side by side as float32, from stdin, calls predict once and writes the
 * outputs, packed likewise, to stdout.
 *   cc -DNNC_MODEL=model -DNNC_UPPER=MODEL '-DNNC_HEADER="model.h"' ... */
#include <stdio.h>

#include NNC_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define F(x) CAT(NNC_MODEL, CAT(_, x))
#define U(x) CAT(NNC_UPPER, CAT(_, x))

static CAT(NNC_MODEL, _t) model;
static float x[U(INPUT_SIZE) + 1], y[U(OUTPUT_SIZE) + 1];

int main(void)
{
    if (fread(x, sizeof(float), U(INPUT_SIZE), stdin) != (size_t)U(INPUT_SIZE)) {
        fprintf(stderr, "onnx_case: expected %ld input floats\n", (long)U(INPUT_SIZE));
        return 2;
    }
    F(init)(&model, 1);
    F(predict)(&model, x, y, 1);
    return fwrite(y, sizeof(float), U(OUTPUT_SIZE), stdout) == (size_t)U(OUTPUT_SIZE) ? 0 : 2;
}
