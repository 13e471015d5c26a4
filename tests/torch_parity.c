/* torch_parity.c — the C half of the N-step loss parity test against PyTorch
 * (tests/torch_parity.py builds the same model in torch and compares).
 * Compiled against any generated model with one input and one output:
 *
 *   cc -std=c99 -O2 -Iruntime -Idir -DNNC_MODEL=name -DNNC_UPPER=NAME \
 *      -DNNC_HEADER='"name.h"' tests/torch_parity.c dir/name.c build/libnnc_rt.a -lm
 *
 *   torch_parity LABELS [STEPS [NAME...]]    LABELS: sparse | onehot | binary | real
 *
 * NAMEs are the model's parameter names (tests/torch_parity.py reads them from
 * the generated params_ table), e.g. conv2d.kernel batch_norm.moving_mean;
 * without them the driver walks dense.kernel, dense.bias, dense_1.kernel, ...
 * Either way the dumped parameters must cover all NAME_PARAM_COUNT floats, and
 * a non-trainable one (moving_mean / moving_variance) must sit at or after
 * NAME_TRAINABLE_COUNT, a trainable one before it (the optimizer steps the
 * first TRAINABLE_COUNT floats).
 *
 * Inits the model with a fixed seed, draws one fixed batch (x uniform in
 * [-1, 1); labels of the given kind), and prints, as text with every float
 * in %.9g (so it round-trips to the same float32 bits):
 *
 *   dims IN OUT N STEPS
 *   param NAME SIZE v...      every parameter as stored (dense kernels [in][out],
 *                             conv kernels Keras' (kh, kw, cin/groups, cout), ...)
 *   x v...                    the batch, N*IN
 *   y v...                    labels: N ints (sparse) or N*OUT floats
 *   out0 v...                 predict() before training, N*OUT
 *   loss v...                 STEPS train_batch() losses on that same batch
 *   out v...                  predict() after the steps, N*OUT
 *   final NAME SIZE v...      every parameter after the steps (moving statistics
 *                             included), same order as the param lines
 *
 * The weights are written before any step so the torch side starts from the
 * very same bits; everything after that is compared, not copied.
 */
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

#ifdef PARITY_N     /* samples per batch: -DPARITY_N=3 runs an odd batch (tests/torch_conv_parity.py) */
#define N PARITY_N
#else
#define N 8
#endif
#define MAX_STEPS 100

static T model;
static float x[N * U(INPUT_SIZE)];
static LABEL_T y[N * U(LABEL_SIZE)];
static float out[N * U(OUTPUT_SIZE)];

static void print_floats(const char *key, const float *v, long size) {
    long i;
    printf("%s", key);
    for (i = 0; i < size; i++) printf(" %.9g", v[i]);
    printf("\n");
}

static int bad_layout;

/* one parameter as `KEY NAME SIZE v...`; returns its float count (0: unknown) */
static long print_param(const char *key, const char *name) {
    long size = 0, len = (long)strlen(name);
    float *p = F(param)(&model, name, &size);
    if (!p) return 0;
    if (!strcmp(key, "param")) {
        int moving = (len > 12 && !strcmp(name + len - 12, ".moving_mean")) ||
                     (len > 16 && !strcmp(name + len - 16, ".moving_variance"));
        long off = (long)(p - model.params);
        if (moving != (off >= U(TRAINABLE_COUNT))) {
            fprintf(stderr, "torch_parity: %s is at offset %ld, %s TRAINABLE_COUNT %ld\n", name,
                    off, moving ? "before" : "at or after", (long)U(TRAINABLE_COUNT));
            bad_layout = 1;
        }
    }
    printf("%s %s %ld", key, name, size);
    print_floats("", p, size);
    return size;
}

/* the named parameters, or (names == NULL) every dense layer's in layer
 * order; returns the float count, -1 for an unknown name */
static long print_params(const char *key, char **names, int count) {
    long total = 0;
    int layer;
    if (names) {
        int i;
        for (i = 0; i < count; i++) {
            long size = print_param(key, names[i]);
            if (!size) {
                fprintf(stderr, "torch_parity: the model has no parameter '%s'\n", names[i]);
                return -1;
            }
            total += size;
        }
        return total;
    }
    for (layer = 0;; layer++) {
        static const char *const suffix[2] = { "kernel", "bias" };
        char name[64];
        int k, found = 0;
        for (k = 0; k < 2; k++) {
            long size;
            if (layer == 0) sprintf(name, "dense.%s", suffix[k]);
            else sprintf(name, "dense_%d.%s", layer, suffix[k]);
            size = print_param(key, name);
            if (!size) continue;
            found = 1;
            total += size;
        }
        if (!found) return total;
    }
}

int main(int argc, char **argv) {
    const char *labels = argc > 1 ? argv[1] : "sparse";
    char **names = argc > 3 ? argv + 3 : NULL;
    int nnames = argc > 3 ? argc - 3 : 0;
    int steps = argc > 2 ? atoi(argv[2]) : 10, i, j;
    const long in = U(INPUT_SIZE), m = U(OUTPUT_SIZE);
    nnc_rt_rng r;
    float losses[MAX_STEPS];

    if (N > U(BATCH) || steps < 1 || steps > MAX_STEPS) {
        fprintf(stderr, "torch_parity: need batch >= %d (model has %d) and 1..%d steps\n",
                N, (int)U(BATCH), MAX_STEPS);
        return 2;
    }
    if (U(SPARSE_LABELS) != !strcmp(labels, "sparse")) {
        fprintf(stderr, "torch_parity: label kind '%s' does not fit the model\n", labels);
        return 2;
    }
    F(init)(&model, 20240607u);
    nnc_rt_rng_seed(&r, 1234);
    for (i = 0; i < N * in; i++) x[i] = 2 * nnc_rt_rng_uniform(&r) - 1;
    for (i = 0; i < N; i++) {
        long hot = (long)(nnc_rt_rng_u32(&r) % (uint32_t)m);
        if (!strcmp(labels, "sparse")) {
            y[i] = (LABEL_T)hot;
            continue;
        }
        for (j = 0; j < m; j++) {
            float v;
            if (!strcmp(labels, "onehot")) v = (float)(j == hot);
            else if (!strcmp(labels, "binary")) v = nnc_rt_rng_uniform(&r) < 0.5f ? 0.0f : 1.0f;
            else v = 2 * nnc_rt_rng_uniform(&r) - 1;   /* real */
            y[i * m + j] = (LABEL_T)v;
        }
    }

    printf("dims %ld %ld %d %d\n", in, m, N, steps);
    if (print_params("param", names, nnames) != U(PARAM_COUNT)) {
        fprintf(stderr, "torch_parity: the %s parameters do not cover all %ld\n",
                names ? "named" : "dense.*", (long)U(PARAM_COUNT));
        return 1;
    }
    if (bad_layout) return 1;
    print_floats("x", x, N * in);
    printf("y");
    for (i = 0; i < N * U(LABEL_SIZE); i++) printf(" %.9g", (double)y[i]);
    printf("\n");
    F(predict)(&model, x, out, N);
    print_floats("out0", out, N * m);
    for (i = 0; i < steps; i++) losses[i] = F(train_batch)(&model, x, y, N);
    print_floats("loss", losses, steps);
    F(predict)(&model, x, out, N);
    print_floats("out", out, N * m);
    print_params("final", names, nnames);
    return 0;
}
