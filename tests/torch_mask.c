/* torch_mask.c — the C half of tests/torch_mask.py: a generated model with
 * an i32 token input (embedding(mask_zero = true) ...) and an mse loss,
 * run on the batch it is given; prints what the torch side compares.
 *
 *   cc -std=c99 -Iruntime -Idir -DNNC_MODEL=m -DNNC_UPPER=M '-DNNC_HEADER="m.h"' \
 *      tests/torch_mask.c dir/m.c build/libnnc_rt.a -lm
 *   torch_mask BATCH_FILE NAME...
 *
 * BATCH_FILE: n, then n*INPUT_SIZE token ids, then n*OUTPUT_SIZE targets.
 * The model is initialised with a fixed seed and every parameter moved by
 * a deterministic uniform(-0.2, 0.2) (so the zero-initialised biases take
 * part), then, every float in %.9g:
 *   param NAME SIZE v...   each named parameter as stored (Keras' layout)
 *   out v...               predict() of the batch, n*OUTPUT_SIZE
 *   loss v                 gradients()'s loss
 *   grad NAME SIZE v...    each named parameter's gradient (m->grads)
 */
#include <stdio.h>
#include <stdlib.h>
#include NNC_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define F(x) CAT(NNC_MODEL, CAT(_, x))
#define U(x) CAT(NNC_UPPER, CAT(_, x))
#define T CAT(NNC_MODEL, _t)

static T model;
static int32_t x[U(BATCH) * U(INPUT_SIZE)];
static float y[U(BATCH) * U(OUTPUT_SIZE)], out[U(BATCH) * U(OUTPUT_SIZE)];

static void floats(const char *key, const char *name, const float *v, long size) {
    long i;
    printf("%s", key);
    if (name) printf(" %s %ld", name, size);
    for (i = 0; i < size; i++) printf(" %.9g", v[i]);
    printf("\n");
}

int main(int argc, char **argv) {
    FILE *f = argc > 1 ? fopen(argv[1], "r") : NULL;
    long n, i, size;
    int k, ok = f != NULL;
    nnc_rt_rng r;
    if (ok) ok = fscanf(f, "%ld", &n) == 1 && n >= 1 && n <= U(BATCH);
    for (i = 0; ok && i < n * U(INPUT_SIZE); i++) ok = fscanf(f, "%d", &x[i]) == 1;
    for (i = 0; ok && i < n * U(OUTPUT_SIZE); i++) ok = fscanf(f, "%f", &y[i]) == 1;
    if (!ok) {
        fprintf(stderr, "torch_mask: cannot read the batch file\n");
        return 2;
    }
    fclose(f);
    F(init)(&model, 20240607u);
    nnc_rt_rng_seed(&r, 99);
    for (i = 0; i < U(PARAM_COUNT); i++) model.params[i] += 0.4f * nnc_rt_rng_uniform(&r) - 0.2f;
    for (k = 2; k < argc; k++) {
        float *p = F(param)(&model, argv[k], &size);
        if (!p) {
            fprintf(stderr, "torch_mask: no parameter '%s'\n", argv[k]);
            return 2;
        }
        floats("param", argv[k], p, size);
    }
    F(predict)(&model, x, out, n);
    floats("out", NULL, out, n * U(OUTPUT_SIZE));
    printf("loss %.9g\n", F(gradients)(&model, x, y, (int)n));
    for (k = 2; k < argc; k++) {
        float *p = F(param)(&model, argv[k], &size);
        floats("grad", argv[k], model.grads + (p - model.params), size);
    }
    return 0;
}
