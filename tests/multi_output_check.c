/* multi_output_check.c — the C half of tests/multi_output_torch.py: a model
 * with several outputs trained step by step, and evaluated.
 *
 *   cc -DNNC_MODEL=m -DNNC_UPPER=M '-DNNC_HEADER="m.h"' tests/multi_output_check.c m.c libnnc_rt.a -lm
 *
 * Reads from stdin (native int32 and float32): n, steps, then
 * PARAM_COUNT floats that replace the initial parameters, then per step one
 * batch: x (n * INPUT_SIZE floats) and its packed labels (n * LABEL_SIZE
 * label_t), then an evaluation set: its count e, x and labels.  Writes to
 * stdout (float32): per step the total loss train_batch returned, each
 * output's loss (m->output_loss), the gradients of that step (m->grads)
 * and the parameters after it; then evaluate's total loss and metrics and
 * each output's (NAME_output_metrics), 7 floats each (nnc_rt_metrics).
 * Exit status 2 on short input, 3 when an entry point refuses. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include NNC_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define F(x) CAT(NNC_MODEL, CAT(_, x))
#define U(x) CAT(NNC_UPPER, CAT(_, x))
#define EVAL_MAX 4096

static CAT(NNC_MODEL, _t) model;
static float x[EVAL_MAX * U(INPUT_SIZE)];
static CAT(NNC_MODEL, _label_t) y[EVAL_MAX * U(LABEL_SIZE)];

static int get(void *p, size_t size, size_t count) { return fread(p, size, count, stdin) == count; }
static void put(const void *p, size_t size, size_t count) { fwrite(p, size, count, stdout); }

static void put_metrics(const nnc_rt_metrics *r) {
    float v[7] = { r->loss, r->accuracy, r->precision, r->recall, r->f1, r->mae, r->mse };
    put(v, sizeof(float), 7);
}

int main(void) {
    int32_t n, nsteps, e;
    if (!get(&n, 4, 1) || !get(&nsteps, 4, 1) || n < 1 || n > U(BATCH)) return 2;
    F(init)(&model, 1);
    if (!get(model.params, sizeof(float), U(PARAM_COUNT))) return 2;
    for (int s = 0; s < nsteps; s++) {
        if (!get(x, sizeof x[0], (size_t)n * U(INPUT_SIZE)) || !get(y, sizeof y[0], (size_t)n * U(LABEL_SIZE)))
            return 2;
        float loss = F(train_batch)(&model, x, y, n);
        if (loss < 0) return 3;
        put(&loss, sizeof loss, 1);
        put(model.output_loss, sizeof(float), U(OUTPUTS));
        put(model.grads, sizeof(float), U(TRAINABLE_COUNT));
        put(model.params, sizeof(float), U(PARAM_COUNT));
    }
    if (!get(&e, 4, 1) || e < 1 || e > EVAL_MAX) return 2;
    if (!get(x, sizeof x[0], (size_t)e * U(INPUT_SIZE)) || !get(y, sizeof y[0], (size_t)e * U(LABEL_SIZE))) return 2;
    nnc_rt_metrics total;
    if (F(evaluate)(&model, x, y, e, &total, NULL, NULL)) return 3;
    put_metrics(&total);
    for (int k = 0; k < U(OUTPUTS); k++) put_metrics(F(output_metrics)(&model, k));
    if (F(output_metrics)(&model, U(OUTPUTS)) || F(output_metrics)(&model, -1)) return 3;
    return 0;
}
