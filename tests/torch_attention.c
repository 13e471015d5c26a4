/* torch_attention.c — the C half of tests/torch_attention.py: one generated
 * model's forward pass, its gradients and a few training steps, printed for
 * the PyTorch side to recompute.  Like tests/torch_parity.c, but it prints
 * the gradients themselves (NAME_gradients: every parameter's, before any
 * step) and takes token ids as well as floats as input:
 *
 *   cc -std=c99 -Iruntime -Idir -DNNC_MODEL=name -DNNC_UPPER=NAME -DNNC_HEADER='"name.h"' \
 *      -DPARITY_N=3 tests/torch_attention.c dir/name.c build/libnnc_rt.a -lm
 *   torch_attention LABELS STEPS NAME...     LABELS: sparse | binary
 *
 * Prints, every float in %.9g (round-trips to the same float32):
 *   dims IN OUT N STEPS
 *   param NAME SIZE v...     every named parameter as initialised (seed fixed)
 *   x v...                   the batch (floats in [-1, 1), or ids below INPUT_IDS)
 *   y v...                   the labels
 *   out0 v...                predict() before training
 *   loss0 v                  the loss gradients() reports
 *   grad NAME SIZE v...      d loss / d parameter, from gradients()
 *   loss v...                STEPS train_batch() losses on that batch
 *   out v...                 predict() after the steps
 *   final NAME SIZE v...     every parameter after the steps */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include NNC_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define F(x) CAT(NNC_MODEL, CAT(_, x))
#define U(x) CAT(NNC_UPPER, CAT(_, x))
#define T CAT(NNC_MODEL, _t)
#define LABEL_T CAT(NNC_MODEL, _label_t)
typedef CAT(NNC_MODEL, _input_t) INPUT_T;

#ifndef PARITY_N
#define PARITY_N 8
#endif
#define N PARITY_N
#define MAX_STEPS 20

static T model;
static INPUT_T x[N * U(INPUT_SIZE)];
static LABEL_T y[N * U(OUTPUT_SIZE)];
static float out[N * U(OUTPUT_SIZE)];

static void print_floats(const char *key, const float *v, long size) {
    long i;
    printf("%s", key);
    for (i = 0; i < size; i++) printf(" %.9g", v[i]);
    printf("\n");
}

/* KEY NAME SIZE v... of each named parameter (grad: its gradient); the floats covered */
static long print_params(const char *key, char **names, int count) {
    long total = 0;
    int i;
    for (i = 0; i < count; i++) {
        long size = 0;
        float *p = F(param)(&model, names[i], &size);
        if (!p) {
            fprintf(stderr, "torch_attention: the model has no parameter '%s'\n", names[i]);
            return -1;
        }
        if (!strcmp(key, "grad")) p = model.grads + (p - model.params);
        printf("%s %s %ld", key, names[i], size);
        print_floats("", p, size);
        total += size;
    }
    return total;
}

int main(int argc, char **argv) {
    const char *labels = argc > 1 ? argv[1] : "sparse";
    int steps = argc > 2 ? atoi(argv[2]) : 3, i;
    char **names = argv + 3;
    int nnames = argc > 3 ? argc - 3 : 0;
    const long in = U(INPUT_SIZE), m = U(OUTPUT_SIZE);
    float losses[MAX_STEPS];
    nnc_rt_rng r;
    if (N > U(BATCH) || steps < 1 || steps > MAX_STEPS || U(PARAM_COUNT) != U(TRAINABLE_COUNT)) {
        fprintf(stderr, "torch_attention: need batch >= %d, 1..%d steps, every parameter trainable\n", N,
                MAX_STEPS);
        return 2;
    }
    F(init)(&model, 20261207u);
    nnc_rt_rng_seed(&r, 4321);
    for (i = 0; i < N * in; i++)
        x[i] = U(INPUT_IDS) ? (INPUT_T)(nnc_rt_rng_u32(&r) % (U(INPUT_IDS) ? U(INPUT_IDS) : 1))
                            : (INPUT_T)(2 * nnc_rt_rng_uniform(&r) - 1);
    for (i = 0; i < N * (U(SPARSE_LABELS) ? 1 : m); i++)
        y[i] = U(SPARSE_LABELS) ? (LABEL_T)(nnc_rt_rng_u32(&r) % (uint32_t)m)
                                : (LABEL_T)(nnc_rt_rng_uniform(&r) < 0.5f ? 0.0f : 1.0f);
    if (!strcmp(labels, "sparse") != !!U(SPARSE_LABELS)) {
        fprintf(stderr, "torch_attention: label kind '%s' does not fit the model\n", labels);
        return 2;
    }
    printf("dims %ld %ld %d %d\n", in, m, N, steps);
    if (print_params("param", names, nnames) != U(PARAM_COUNT)) {
        fprintf(stderr, "torch_attention: the named parameters do not cover all %ld\n", (long)U(PARAM_COUNT));
        return 1;
    }
    printf("x");
    for (i = 0; i < N * in; i++) printf(" %.9g", (double)x[i]);
    printf("\ny");
    for (i = 0; i < N * (U(SPARSE_LABELS) ? 1 : m); i++) printf(" %.9g", (double)y[i]);
    printf("\n");
    F(predict)(&model, x, out, N);
    print_floats("out0", out, N * m);
    losses[0] = F(gradients)(&model, x, y, N);
    print_floats("loss0", losses, 1);
    print_params("grad", names, nnames);
    for (i = 0; i < steps; i++) losses[i] = F(train_batch)(&model, x, y, N);
    print_floats("loss", losses, steps);
    F(predict)(&model, x, out, N);
    print_floats("out", out, N * m);
    print_params("final", names, nnames);
    return 0;
}
