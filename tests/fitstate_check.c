/* fitstate_check.c — a driver compiled against one generated model (cc
 * -DNNC_MODEL=name -DNNC_UPPER=NAME -DNNC_HEADER='"name.h"'), used by
 * test_fitstate.c and fitstate_torch.py to check what `nnc fit` reads from
 * the generated code: the learning rate as run-time state, the progress
 * callback's numbers, gradient clipping and class weights.
 *
 *   fitstate_check info        the rate and metrics macros, the rate after init, sizeof
 *   fitstate_check sgdlr       (sgd without momentum) one step at lr 0.1, one at
 *                              0.01, each against w - lr g by hand
 *   fitstate_check crc STEPS [LR]   STEPS train_batch steps (at LR when given):
 *                              a CRC of the parameters after them
 *   fitstate_check progress N STOPAT  train_epoch and evaluate over N samples
 *                              with a callback, against gradients() on a copy of
 *                              the state; a callback stopping after batch STOPAT
 *   fitstate_check clip KIND C LR NAME...   (sgd without momentum) one step
 *                              against w - LR clip(g) computed here, KIND norm
 *                              (each named tensor), value, or global
 *   fitstate_check dump NAME... the batch, the named parameters, loss and
 *                              gradients from gradients(), the parameters after
 *                              one train_batch (for fitstate_torch.py)
 *
 * Each mode prints "key value" lines (dump: "key v v v ...").
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include NNC_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define F(x) CAT(NNC_MODEL, CAT(_, x))
#define U(x) CAT(NNC_UPPER, CAT(_, x))
#define T CAT(NNC_MODEL, _t)
typedef CAT(NNC_MODEL, _input_t) INPUT_T;
typedef CAT(NNC_MODEL, _label_t) LABEL_T;

#define NMAX 64
static T model, copy;
static INPUT_T x[NMAX * U(INPUT_SIZE)];
static LABEL_T y[NMAX * U(LABEL_SIZE)];
static float p0[U(PARAM_COUNT) + 1], g0[U(TRAINABLE_COUNT) + 1];

/* n samples: inputs in [-1, 1), labels random classes (sparse), one-hot rows
 * (several outputs) or 0/1 (one output) */
static void make_data(long n) {
    nnc_rt_rng r;
    long i, j, out = U(OUTPUT_SIZE);
    nnc_rt_rng_seed(&r, 11);
    for (i = 0; i < n * U(INPUT_SIZE); i++) x[i] = (INPUT_T)(2 * nnc_rt_rng_uniform(&r) - 1);
    for (i = 0; i < n; i++) {
        long hot = (long)(nnc_rt_rng_u32(&r) % (uint32_t)(out > 1 ? out : 2));
        if (U(SPARSE_LABELS)) y[i] = (LABEL_T)hot;
        else if (out == 1) y[i] = (LABEL_T)hot;
        else for (j = 0; j < out; j++) y[i * out + j] = (LABEL_T)(j == hot);
    }
}

static double max_diff(const float *a, const float *b, long n) {
    double d = 0;
    long i;
    for (i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (e > d || e != e) d = e;
    }
    return d;
}

static int info(void) {
    printf("macro_lr %.9g\n", (double)U(LEARNING_RATE));
    printf("metrics [%s]\n", U(METRICS));
    F(init)(&model, 1);
    printf("init_lr %.9g\n", (double)F(learning_rate)(&model));
    F(set_learning_rate)(&model, 0.25f);
    printf("set_lr %.9g\n", (double)F(learning_rate)(&model));
    printf("sizeof %lu\n", (unsigned long)sizeof(T));
    return 0;
}

/* one step at rate lr from the model's state: the parameters against w - lr g */
static double sgd_step(float lr) {
    static float want[U(TRAINABLE_COUNT) + 1];
    long i;
    memcpy(p0, model.params, sizeof model.params);
    F(gradients)(&model, x, y, U(BATCH));
    for (i = 0; i < U(TRAINABLE_COUNT); i++) want[i] = p0[i] - lr * model.grads[i];
    F(set_learning_rate)(&model, lr);
    F(train_batch)(&model, x, y, U(BATCH));
    printf("moved %d\n", max_diff(model.params, p0, U(TRAINABLE_COUNT)) > 0);
    return max_diff(model.params, want, U(TRAINABLE_COUNT));
}

static int sgdlr(void) {
    make_data(U(BATCH));
    F(init)(&model, 7);
    printf("err_lr_0.1 %.9g\n", sgd_step(0.1f));
    printf("err_lr_0.01 %.9g\n", sgd_step(0.01f));
    printf("lr_after %.9g\n", (double)F(learning_rate)(&model));
    printf("step %ld\n", model.step);
    return 0;
}

static int crc(int steps, float lr) {
    int i;
    float loss = 0;
    make_data(U(BATCH));
    F(init)(&model, 7);
    if (lr > 0) F(set_learning_rate)(&model, lr);
    for (i = 0; i < steps; i++) loss = F(train_batch)(&model, x, y, U(BATCH));
    printf("crc %lu\n", (unsigned long)nnc_rt_crc32(model.params, sizeof model.params));
    printf("loss_last %.9g\n", (double)loss);
    return 0;
}

/* ---- the progress callback ---------------------------------------------- */

#define MAXB 64
static nnc_rt_progress seen[MAXB];
static int nseen, stop_after;

static int record(void *ctx, const nnc_rt_progress *p) {
    (void)ctx;
    if (nseen < MAXB) seen[nseen] = *p;
    nseen++;
    return stop_after > 0 && nseen >= stop_after;
}

static int progress(long n, int stopat) {
    nnc_rt_metrics out;
    double sum = 0, worst_loss = 0, worst_running = 0;
    long i, done = 0;
    int b, bad = 0, rc;
    make_data(n);
    F(init)(&model, 3);
    F(set_learning_rate)(&model, 0.02f);
    copy = model;
    nseen = 0;
    stop_after = 0;
    rc = F(train_epoch)(&model, x, y, n, NULL, &out, record, NULL);
    printf("epoch_status %d\nbatches %d\n", rc, nseen);
    /* the same batches on the copy: gradients() first, then the step */
    for (b = 0, i = 0; i < n && b < MAXB; b++, i += U(BATCH)) {
        int k = (int)(n - i < U(BATCH) ? n - i : U(BATCH));
        float gl = F(gradients)(&copy, x + i * U(INPUT_SIZE), y + i * U(LABEL_SIZE), k);
        float tl = F(train_batch)(&copy, x + i * U(INPUT_SIZE), y + i * U(LABEL_SIZE), k);
        double d = fabs((double)seen[b].batch_loss - gl), run;
        if (tl != gl) bad++;
        if (d > worst_loss || d != d) worst_loss = d;
        done += k;
        sum += (double)gl * k;
        run = fabs((double)seen[b].running.loss - sum / done) / (sum / done);
        if (run > worst_running || run != run) worst_running = run;
        if (seen[b].done != done || seen[b].total != n || seen[b].step != b + 1 ||
            seen[b].learning_rate != 0.02f) bad++;
    }
    printf("batch_loss_err %.9g\nrunning_loss_rel_err %.9g\nfield_mismatches %d\n", worst_loss, worst_running, bad);
    b = nseen - 1;
    printf("last_running_is_out %d\n", b >= 0 && seen[b].running.loss == out.loss &&
           seen[b].running.accuracy == out.accuracy && seen[b].running.mse == out.mse &&
           seen[b].running.f1 == out.f1);
    printf("params_match %d\n", max_diff(model.params, copy.params, U(PARAM_COUNT)) == 0);
    printf("running_accuracy_first %.9g\n", (double)seen[0].running.accuracy);

    /* evaluate: step and rate 0, the running loss the mean of the batch losses */
    nseen = 0;
    rc = F(evaluate)(&model, x, y, n, &out, record, NULL);
    sum = 0;
    done = 0;
    bad = 0;
    worst_running = 0;
    for (b = 0; b < nseen && b < MAXB; b++) {
        int k = (int)(seen[b].done - done);
        double run;
        done = seen[b].done;
        sum += (double)seen[b].batch_loss * k;
        run = fabs((double)seen[b].running.loss - sum / done) / (sum / done);
        if (run > worst_running || run != run) worst_running = run;
        if (seen[b].step != 0 || seen[b].learning_rate != 0 || seen[b].total != n) bad++;
    }
    printf("eval_status %d\neval_batches %d\neval_running_rel_err %.9g\neval_mismatches %d\n", rc, nseen,
           worst_running, bad);
    printf("eval_last_is_out %d\n", nseen > 0 && seen[nseen - 1].running.loss == out.loss &&
           seen[nseen - 1].running.accuracy == out.accuracy && seen[nseen - 1].done == n);

    /* stopping: the callback says stop after batch STOPAT */
    F(init)(&model, 3);
    nseen = 0;
    stop_after = stopat;
    rc = F(train_epoch)(&model, x, y, n, NULL, &out, record, NULL);
    printf("stop_status %d\nstop_ok %d\nstop_step %ld\nstop_batches %d\n", rc, rc == U(ERR_STOPPED), model.step,
           nseen);
    return 0;
}

/* ---- clipping --------------------------------------------------------------- */

static int clip(const char *kind, float c, float lr, int nnames, char **names) {
    static float want[U(TRAINABLE_COUNT) + 1];
    double total = 0;
    long i;
    int k, clipped = 0;
    make_data(U(BATCH));
    F(init)(&model, 5);
    memcpy(p0, model.params, sizeof model.params);
    F(gradients)(&model, x, y, U(BATCH));
    memcpy(g0, model.grads, sizeof model.grads);
    if (!strcmp(kind, "value")) {
        for (i = 0; i < U(TRAINABLE_COUNT); i++) {
            float g = g0[i] > c ? c : g0[i] < -c ? -c : g0[i];
            clipped |= g != g0[i];
            g0[i] = g;
        }
    } else if (!strcmp(kind, "global")) {
        double s;
        for (i = 0; i < U(TRAINABLE_COUNT); i++) total += (double)g0[i] * g0[i];
        s = sqrt(total);
        printf("global_norm %.9g\n", s);
        if (s > c) {
            clipped = 1;
            for (i = 0; i < U(TRAINABLE_COUNT); i++) g0[i] = (float)(g0[i] * (c / s));
        }
    } else {
        /* each named tensor to norm c: its gradient lies where its parameters do */
        for (k = 0; k < nnames; k++) {
            long size, off, j;
            float *p = F(param)(&model, names[k], &size);
            double s = 0;
            if (!p) {
                printf("unknown %s\n", names[k]);
                return 1;
            }
            off = (long)(p - model.params);
            for (j = 0; j < size; j++) s += (double)g0[off + j] * g0[off + j];
            s = sqrt(s);
            printf("norm_%d %.9g\n", k, s);
            if (s > c) {
                clipped = 1;
                for (j = 0; j < size; j++) g0[off + j] = (float)(g0[off + j] * (c / s));
            }
        }
    }
    for (i = 0; i < U(TRAINABLE_COUNT); i++) want[i] = p0[i] - lr * g0[i];
    F(train_batch)(&model, x, y, U(BATCH));
    printf("clipped %d\n", clipped);
    /* relative to the step: the clipped gradient times lr */
    printf("clip_err %.9g\n", max_diff(model.params, want, U(TRAINABLE_COUNT)) / lr);
    return 0;
}

/* ---- dump ------------------------------------------------------------------ */

static void put(const char *key, const float *v, long n) {
    long i;
    printf("%s", key);
    for (i = 0; i < n; i++) printf(" %.9g", (double)v[i]);
    printf("\n");
}

static int dump(int nnames, char **names) {
    static float before[U(PARAM_COUNT) + 1];
    long i, n = U(BATCH);
    int k;
    float loss;
    make_data(n);
    F(init)(&model, 9);
    printf("n %ld\n", n);
    printf("x");
    for (i = 0; i < n * U(INPUT_SIZE); i++) printf(" %.9g", (double)x[i]);
    printf("\ny");
    for (i = 0; i < n * U(LABEL_SIZE); i++) printf(" %.9g", (double)y[i]);
    printf("\n");
    memcpy(before, model.params, sizeof model.params);
    loss = F(gradients)(&model, x, y, (int)n);
    printf("loss %.9g\n", (double)loss);
    for (k = 0; k < nnames; k++) {
        long size, off;
        float *p = F(param)(&model, names[k], &size);
        char key[256];
        if (!p) {
            printf("unknown %s\n", names[k]);
            return 1;
        }
        off = (long)(p - model.params);
        snprintf(key, sizeof key, "param %s", names[k]);
        put(key, before + off, size);
        snprintf(key, sizeof key, "grad %s", names[k]);
        put(key, model.grads + off, size);
    }
    printf("train_loss %.9g\n", (double)F(train_batch)(&model, x, y, (int)n));
    for (k = 0; k < nnames; k++) {
        long size;
        float *p = F(param)(&model, names[k], &size);
        char key[256];
        snprintf(key, sizeof key, "after %s", names[k]);
        put(key, p, size);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    if (!strcmp(argv[1], "info")) return info();
    if (!strcmp(argv[1], "sgdlr")) return sgdlr();
    if (!strcmp(argv[1], "crc") && argc >= 3) return crc(atoi(argv[2]), argc > 3 ? (float)atof(argv[3]) : 0.0f);
    if (!strcmp(argv[1], "progress") && argc >= 4) {
        long n = atol(argv[2]);
        if (n < 1 || n > NMAX) return 2;
        return progress(n, atoi(argv[3]));
    }
    if (!strcmp(argv[1], "clip") && argc >= 5)
        return clip(argv[2], (float)atof(argv[3]), (float)atof(argv[4]), argc - 5, argv + 5);
    if (!strcmp(argv[1], "dump")) return dump(argc - 2, argv + 2);
    return 2;
}
