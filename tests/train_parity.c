/* train_parity.c — the C half of tests/train_parity.py: step-by-step training
 * of a generated model against PyTorch, batch by batch.
 *
 *   cc -DNNC_MODEL=m -DNNC_UPPER=M '-DNNC_HEADER="m.h"' tests/train_parity.c m.c libnnc_rt.a -lm
 *
 * Reads from stdin (native int32 and float32): n, steps and `load`; when load
 * is 1, PARAM_COUNT floats that replace the initial parameters; then per
 * step one batch of n samples (x: n * INPUT_SIZE floats, or int32 token ids;
 * labels: n int32 when sparse, else n * LABEL_SIZE floats), then one batch
 * to predict.  Writes to stdout (float32): the parameters before training
 * (PARAM_COUNT), the loss of each train_batch(n) call, the parameters after
 * the steps, and predict(n) of the last batch.  Without load the parameters
 * are what the compiler baked (an imported model) or init(seed 1) drew.
 * Built with -DSET_STEPS=name_set_steps (a model with run-time time steps,
 * nnc --shape NAME<=N), each batch is preceded by its int32 time steps, and
 * its samples hold that many steps.
 * Exit status 2 on short input, 3 when train_batch refuses n or set_steps
 * its steps. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include NNC_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define F(x) CAT(NNC_MODEL, CAT(_, x))
#define U(x) CAT(NNC_UPPER, CAT(_, x))

static CAT(NNC_MODEL, _t) model;
static CAT(NNC_MODEL, _input_t) x[U(BATCH) * U(INPUT_SIZE)];
static float out[U(BATCH) * U(OUTPUT_SIZE)];
static CAT(NNC_MODEL, _label_t) y[U(BATCH) * U(LABEL_SIZE)];

static int get(void *p, size_t size, size_t count) { return fread(p, size, count, stdin) == count; }

/* the next batch's time steps, when the model reads them at run time; the
 * floats of one sample's input */
static int batch_steps(size_t *in) {
    *in = U(INPUT_SIZE);
#ifdef SET_STEPS
    int32_t t;
    if (!get(&t, 4, 1)) return 2;
    if (SET_STEPS(&model, t)) return 3;
    *in = (size_t)U(INPUT_SIZE) / U(STEPS_MAX) * (size_t)t;
#endif
    return 0;
}
static void put(const void *p, size_t size, size_t count) { fwrite(p, size, count, stdout); }

int main(void) {
    int32_t n, nsteps, load;
    if (!get(&n, 4, 1) || !get(&nsteps, 4, 1) || !get(&load, 4, 1) || n < 1 || n > U(BATCH)) return 2;
    size_t labels = U(SPARSE_LABELS) ? (size_t)n : (size_t)n * U(LABEL_SIZE);
    F(init)(&model, 1);
    if (load && !get(model.params, sizeof(float), U(PARAM_COUNT))) return 2;
    put(model.params, sizeof(float), U(PARAM_COUNT));
    size_t in;
    for (int s = 0; s < nsteps; s++) {
        int st = batch_steps(&in);
        if (st) return st;
        if (!get(x, sizeof x[0], (size_t)n * in) || !get(y, sizeof y[0], labels)) return 2;
        float loss = F(train_batch)(&model, x, y, n);
        if (loss < 0) return 3;
        put(&loss, sizeof loss, 1);
    }
    put(model.params, sizeof(float), U(PARAM_COUNT));
    int st = batch_steps(&in);
    if (st) return st;
    if (!get(x, sizeof x[0], (size_t)n * in)) return 2;
    F(predict)(&model, x, out, n);
    put(out, sizeof(float), (size_t)n * U(OUTPUT_SIZE));
    return 0;
}
