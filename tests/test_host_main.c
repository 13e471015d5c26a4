/* test_host_main.c — nnc_host_main (host/main.c), the program behind
 * `nnc fit|evaluate|predict`: its options reach the training loop, the
 * verbs write their outputs, usage errors exit 2 and bad data exit 1.
 *
 * The data readers are stubs defined here (so this test needs neither
 * files nor host/data.c): nnc_host_xy_load hands out ten in-memory samples
 * of y = 2x + 1, or fails for the path "bad"; nnc_host_npy_save keeps what
 * it is given.  Because these definitions come first, the linker never
 * takes data.c's from libnnc_host.a.  The model is a linear toy trained by
 * SGD that records the learning rate of every step.
 */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_run.h"
#include "nnc_host.h"

/* ---- data stubs ------------------------------------------------------------------------ */

static float data_x[10], data_y[10];
static float saved[64];
static long saved_shape[2];
static int saved_calls;

int nnc_host_xy_load(const char *x_path, const char *y_path, const char *label_column,
                     const nnc_host_io *io, int need_labels, nnc_host_xy *d)
{
    int i;
    (void)y_path;
    (void)label_column;
    (void)io;
    memset(d, 0, sizeof *d);
    if (strcmp(x_path, "bad") == 0) {
        fprintf(stderr, "bad: row 3, column 2: 'x' is not a number\n");
        return 1;
    }
    for (i = 0; i < 10; i++) {
        data_x[i] = (float)i;
        data_y[i] = 2.0f * (float)i + 1.0f;
    }
    d->n = 10;
    d->x.ndim = 1;
    d->x.shape[0] = 10;
    d->x.data = data_x;
    if (need_labels) {
        d->y.ndim = 1;
        d->y.shape[0] = 10;
        d->y.data = data_y;
    }
    return 0;
}

void nnc_host_xy_free(nnc_host_xy *d)
{
    memset(d, 0, sizeof *d);
}

int nnc_host_npy_save(const char *path, const float *data, const long *shape, int ndim)
{
    (void)path;
    ck_assert_int_eq(ndim, 2);
    ck_assert_int_le(shape[0] * shape[1], 64);
    memcpy(saved, data, (size_t)(shape[0] * shape[1]) * sizeof *data);
    saved_shape[0] = shape[0];
    saved_shape[1] = shape[1];
    saved_calls++;
    return 0;
}

/* ---- the toy ---------------------------------------------------------------------------- */

typedef struct toy {
    float w, b, lr;
    float rates[256];
    long nrates, epochs;
} toy;

static toy the_toy;

static void toy_init(void *m, uint64_t seed)
{
    (void)seed;
    ((toy *)m)->w = ((toy *)m)->b = 0;
}

static void toy_set_lr(void *m, float lr)
{
    ((toy *)m)->lr = lr;
}

static int toy_train(void *mp, const void *xv, const void *yv, long n, const int32_t *order,
                     nnc_rt_metrics *out, nnc_rt_progress_fn cb, void *ctx)
{
    toy *m = mp;
    const float *x = xv, *y = yv;
    double sum = 0;
    long i, j;
    memset(out, 0, sizeof *out);
    for (i = 0; i < n; i += 5) {   /* batches of 5 */
        double gw = 0, gb = 0, loss = 0;
        long nb = n - i < 5 ? n - i : 5;
        nnc_rt_progress p;
        for (j = 0; j < nb; j++) {
            long s = order ? order[i + j] : i + j;
            double d = m->w * x[s] + m->b - y[s];
            loss += d * d / (double)nb;
            gw += 2 * d * x[s] / (double)nb;
            gb += 2 * d / (double)nb;
        }
        if (m->nrates < 256)
            m->rates[m->nrates++] = m->lr;
        m->w -= (float)(m->lr * gw);
        m->b -= (float)(m->lr * gb);
        sum += loss * (double)nb;
        memset(&p, 0, sizeof p);
        p.done = i + nb;
        p.total = n;
        p.running.loss = (float)(sum / (double)(i + nb));
        if (cb && cb(ctx, &p))
            return -2;
    }
    out->loss = (float)(sum / (double)n);
    m->epochs++;
    return 0;
}

static int toy_evaluate(void *mp, const void *xv, const void *yv, long n, nnc_rt_metrics *out,
                        nnc_rt_progress_fn cb, void *ctx)
{
    toy *m = mp;
    const float *x = xv, *y = yv;
    double sum = 0;
    long i;
    (void)cb;
    (void)ctx;
    memset(out, 0, sizeof *out);
    for (i = 0; i < n; i++) {
        double d = m->w * x[i] + m->b - y[i];
        sum += d * d;
        out->mae += (float)(fabs(d) / (double)n);
    }
    out->loss = (float)(sum / (double)n);
    return 0;
}

static void toy_predict(void *mp, const void *xv, float *y, long n)
{
    toy *m = mp;
    const float *x = xv;
    long i;
    for (i = 0; i < n; i++)
        y[i] = m->w * x[i] + m->b;
}

static size_t toy_save(const void *mp, void *buf, size_t cap)
{
    const toy *m = mp;
    if (cap < 12)
        return 0;
    memcpy(buf, "TOY2", 4);
    memcpy((char *)buf + 4, &m->w, 4);
    memcpy((char *)buf + 8, &m->b, 4);
    return 12;
}

static int toy_load(void *mp, const void *buf, size_t len)
{
    toy *m = mp;
    if (len != 12 || memcmp(buf, "TOY2", 4) != 0)
        return NNC_RT_ERR_FORMAT;
    memcpy(&m->w, (const char *)buf + 4, 4);
    memcpy(&m->b, (const char *)buf + 8, 4);
    return 0;
}

static nnc_fit_model model(void)
{
    nnc_fit_model mo;
    memset(&the_toy, 0, sizeof the_toy);
    memset(&mo, 0, sizeof mo);
    mo.name = "toy";
    mo.m = &the_toy;
    mo.io.input_size = 1;
    mo.io.label_size = 1;
    mo.io.classes = 1;
    mo.batch = 5;
    mo.epochs = 2;
    mo.learning_rate = 0.01f;
    mo.metrics = "mae";
    mo.save_bytes = 12;
    mo.init = toy_init;
    mo.train_epoch = toy_train;
    mo.evaluate = toy_evaluate;
    mo.predict = toy_predict;
    mo.save = toy_save;
    mo.load = toy_load;
    mo.set_learning_rate = toy_set_lr;
    return mo;
}

/* ---- running the program ------------------------------------------------------------------ */

static char dir[64];

static const char *at(const char *name)
{
    static char buf[8][512];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

/* nnc_host_main on a NULL-terminated argument list, stdout and stderr to files */
static int run(const nnc_fit_model *mo, const char *first, ...)
{
    char *argv[64];
    int argc = 0, rc, out, err;
    const char *a;
    va_list ap;
    argv[argc++] = (char *)"nnc";
    va_start(ap, first);
    for (a = first; a != NULL && argc < 63; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    fflush(stdout);
    fflush(stderr);
    out = dup(STDOUT_FILENO);
    err = dup(STDERR_FILENO);
    ck_assert(out >= 0 && err >= 0);
    ck_assert_ptr_nonnull(freopen(at("stdout.txt"), "w", stdout));
    ck_assert_ptr_nonnull(freopen(at("stderr.txt"), "w", stderr));
    rc = nnc_host_main(mo, NULL, argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    close(out);
    close(err);
    return rc;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = calloc(1, 65536);
    ck_assert_ptr_nonnull(buf);
    if (f != NULL) {
        size_t n = fread(buf, 1, 65535, f);
        buf[n] = '\0';
        fclose(f);
    }
    return buf;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void setup(void)
{
    strcpy(dir, "/tmp/nnc_main_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            remove(at(e->d_name));
    closedir(d);
    rmdir(dir);
}

/* fit with a validation split, a schedule and every output; then evaluate and predict
 * from the saved weights */
START_TEST(test_fit_evaluate_predict)
{
    nnc_fit_model mo = model();
    char *text;
    long i, lines = 0;
    float w, b;
    setup();
    /* 10 samples, split 0.2: 8 train in batches of 5: 2 steps an epoch, 3 epochs;
     * piecewise boundaries [1, 3]: steps 0-1 0.05, 2-3 0.02, 4-5 0.01 */
    ck_assert_int_eq(run(&mo, "fit", "--data", "train.npz", "--validation-split", "0.2",
                         "--epochs", "3", "--verbose", "2", "--seed=5",
                         "--schedule", "piecewise_constant(boundaries=[1, 3], values=[0.05,0.02, 0.01])",
                         "--history", at("h.csv"), "--plot", at("p.svg"), "--save", at("w.bin"),
                         "--checkpoint", at("ck{epoch}.bin"), NULL), 0);
    ck_assert_int_eq(the_toy.nrates, 6);
    for (i = 0; i < 6; i++)
        ck_assert_float_eq_tol(the_toy.rates[i], i < 2 ? 0.05f : i < 4 ? 0.02f : 0.01f, 1e-9f);
    text = slurp(at("stdout.txt"));
    ck_assert_ptr_nonnull(strstr(text, "Epoch 3/3 - loss: "));
    ck_assert_ptr_nonnull(strstr(text, " - mae: "));
    ck_assert_ptr_nonnull(strstr(text, " - val_loss: "));
    ck_assert_ptr_nonnull(strstr(text, " - val_mae: "));
    ck_assert_ptr_nonnull(strstr(text, " - lr: 1.0e-02 - "));
    free(text);
    text = slurp(at("h.csv"));
    ck_assert(strncmp(text, "epoch,loss,mae,val_loss,val_mae,lr,seconds\n", 43) == 0);
    for (i = 0; text[i]; i++)
        lines += text[i] == '\n';
    ck_assert_int_eq(lines, 4);
    free(text);
    ck_assert(exists(at("p.svg")) && exists(at("ck1.bin")) && exists(at("ck3.bin")));
    w = the_toy.w;
    b = the_toy.b;

    /* evaluate: the saved weights' loss on all 10 samples */
    mo = model();
    ck_assert_int_eq(run(&mo, "evaluate", "--data", "test.npz", "--weights", at("w.bin"),
                         "--verbose", "0", NULL), 0);
    ck_assert_float_eq(the_toy.w, w);
    text = slurp(at("stdout.txt"));
    ck_assert_msg(strncmp(text, "10 samples - loss: ", 19) == 0, "%s", text);
    ck_assert_ptr_nonnull(strstr(text, " - mae: "));
    free(text);

    /* predict: w x + b */
    mo = model();
    saved_calls = 0;
    ck_assert_int_eq(run(&mo, "predict", "--data", "x.npy", "--weights", at("w.bin"), "-o",
                         at("y.npy"), NULL), 0);
    ck_assert_int_eq(saved_calls, 1);
    ck_assert_int_eq(saved_shape[0], 10);
    ck_assert_int_eq(saved_shape[1], 1);
    for (i = 0; i < 10; i++)
        ck_assert_float_eq(saved[i], w * (float)i + b);
    teardown();
}
END_TEST

/* --early-stopping, --reduce-lr-on-plateau and exponential_decay through the parser */
START_TEST(test_callback_options)
{
    nnc_fit_model mo = model();
    char *text;
    long i;
    setup();
    /* exponential_decay(0.1, decay_steps=2, decay_rate=0.5, staircase): 0.1 0.1 0.05 0.05 ... */
    ck_assert_int_eq(run(&mo, "fit", "--data", "d.npz", "--epochs", "3", "--verbose", "0",
                         "--no-shuffle",
                         "--schedule", "exponential_decay(initial_learning_rate=0.1, decay_steps=2,"
                         "decay_rate=0.5, staircase=true)", NULL), 0);
    ck_assert_int_eq(the_toy.nrates, 6);
    for (i = 0; i < 6; i++)
        ck_assert_float_eq_tol(the_toy.rates[i], (float)(0.1 * pow(0.5, (double)(i / 2))), 1e-9f);

    /* cosine_decay with warmup from the model's 0.01: 0.01 0.015 0.02, then 0.02 cos-decayed */
    mo = model();
    ck_assert_int_eq(run(&mo, "fit", "--data", "d.npz", "--epochs", "2", "--verbose", "0",
                         "--schedule", "cosine_decay(decay_steps=4, warmup_steps=2, warmup_target=0.02)",
                         NULL), 0);
    ck_assert_int_eq(the_toy.nrates, 4);
    ck_assert_float_eq_tol(the_toy.rates[0], 0.01f, 1e-9f);
    ck_assert_float_eq_tol(the_toy.rates[1], 0.015f, 1e-9f);
    ck_assert_float_eq_tol(the_toy.rates[2], 0.02f, 1e-9f);
    ck_assert_float_eq_tol(the_toy.rates[3], 0.02f * 0.853553391f, 1e-8f);

    /* early stopping on loss with patience 0 and a min_delta no epoch can beat: stops
     * after epoch 2 */
    mo = model();
    ck_assert_int_eq(run(&mo, "fit", "--data", "d.npz", "--epochs", "9", "--verbose", "1",
                         "--early-stopping", "early_stopping(monitor='loss', patience=0, "
                         "min_delta=1e9, restore_best_weights=true)", NULL), 0);
    ck_assert_int_eq(the_toy.epochs, 2);
    text = slurp(at("stdout.txt"));
    ck_assert_ptr_nonnull(strstr(text, "Epoch 2: early stopping\n"));
    ck_assert_ptr_nonnull(strstr(text, "Restoring model weights from the end of the best epoch: 1.\n"));
    free(text);

    /* reduce_lr_on_plateau on loss with min_delta 1e9: never improves after the first,
     * patience 1: the rate halves after every epoch from the second */
    mo = model();
    ck_assert_int_eq(run(&mo, "fit", "--data", "d.npz", "--epochs", "4", "--verbose", "0",
                         "--reduce-lr-on-plateau", "factor=0.5,patience=1,monitor=loss,min_delta=1e9",
                         NULL), 0);
    ck_assert_int_eq(the_toy.nrates, 8);
    ck_assert_float_eq_tol(the_toy.rates[0], 0.01f, 1e-9f);
    ck_assert_float_eq_tol(the_toy.rates[3], 0.01f, 1e-9f);
    ck_assert_float_eq_tol(the_toy.rates[4], 0.005f, 1e-9f);
    ck_assert_float_eq_tol(the_toy.rates[7], 0.0025f, 1e-9f);
    teardown();
}
END_TEST

START_TEST(test_usage_errors)
{
    nnc_fit_model mo = model();
    setup();
    ck_assert_int_eq(run(&mo, NULL), 2);
    ck_assert_int_eq(run(&mo, "train", NULL), 2);
    ck_assert_int_eq(run(&mo, "fit", NULL), 2);                                  /* no --data */
    ck_assert_int_eq(run(&mo, "fit", "--data", "d", "--bogus", NULL), 2);
    ck_assert_int_eq(run(&mo, "fit", "--data", "d", "--epochs", NULL), 2);
    ck_assert_int_eq(run(&mo, "fit", "--data", "d", "--epochs", "x", NULL), 2);
    ck_assert_int_eq(run(&mo, "fit", "--data", "d", "--epochs", "0", NULL), 2);
    ck_assert_int_eq(run(&mo, "fit", "--data", "d", "--verbose", "3", NULL), 2);
    ck_assert_int_eq(run(&mo, "fit", "--data", "d", "--validation-split", "1", NULL), 2);
    ck_assert_int_eq(run(&mo, "fit", "--data", "d", "--validation-split", "0.1",
                         "--validation", "v", NULL), 2);
    ck_assert_int_eq(run(&mo, "fit", "--data", "d", "--no-shuffle=1", NULL), 2);
    ck_assert_int_eq(run(&mo, "fit", "--data", "d", "--early-stopping", "patience=x", NULL), 2);
    ck_assert_int_eq(run(&mo, "fit", "--data", "d", "--early-stopping", "baseline=1", NULL), 2);
    ck_assert_int_eq(run(&mo, "fit", "--data", "d", "--early-stopping", "mode=up", NULL), 2);
    ck_assert_int_eq(run(&mo, "fit", "--data", "d", "--reduce-lr-on-plateau", "factor=2", NULL), 2);
    ck_assert_int_eq(run(&mo, "fit", "--data", "d", "--schedule", "linear(a=1)", NULL), 2);
    ck_assert_int_eq(run(&mo, "fit", "--data", "d", "--schedule", "cosine_decay(alpha=0.1)", NULL), 2);
    ck_assert_int_eq(run(&mo, "fit", "--data", "d", "--schedule",
                         "piecewise_constant(boundaries=[5],values=[1])", NULL), 2);
    ck_assert_int_eq(run(&mo, "fit", "--data", "d", "--schedule",
                         "piecewise_constant(boundaries=[5, 2],values=[1,2,3])", NULL), 2);
    ck_assert_int_eq(run(&mo, "predict", "--data", "d", "--epochs", "3", NULL), 2);
    ck_assert_int_eq(run(&mo, "predict", "--data", "d", "--weights", "w", NULL), 2);   /* no -o */
    ck_assert_int_eq(run(&mo, "evaluate", "--data", "d", NULL), 2);              /* no --weights */
    ck_assert_int_eq(run(&mo, "fit", "--help", NULL), 0);
    ck_assert_int_eq(run(&mo, "--help", NULL), 0);
    ck_assert_int_eq(the_toy.epochs, 0);
    teardown();
}
END_TEST

START_TEST(test_bad_input_exit_1)
{
    nnc_fit_model mo = model();
    FILE *f;
    setup();
    ck_assert_int_eq(run(&mo, "fit", "--data", "bad", "--save", at("w.bin"), NULL), 1);
    ck_assert(!exists(at("w.bin")));
    ck_assert_int_eq(run(&mo, "fit", "--data", "d", "--validation", "bad", NULL), 1);
    ck_assert_int_eq(run(&mo, "evaluate", "--data", "d", "--weights", at("missing.bin"), NULL), 1);
    f = fopen(at("junk.bin"), "wb");
    ck_assert_ptr_nonnull(f);
    fputs("not weights", f);
    fclose(f);
    ck_assert_int_eq(run(&mo, "predict", "--data", "d", "--weights", at("junk.bin"), "-o",
                         at("y.npy"), NULL), 1);
    /* a monitor without validation data: refused before training, nothing written */
    ck_assert_int_eq(run(&mo, "fit", "--data", "d", "--early-stopping", "patience=2",
                         "--save", at("w.bin"), NULL), 1);
    ck_assert_int_eq(the_toy.epochs, 0);
    ck_assert(!exists(at("w.bin")));
    teardown();
}
END_TEST

int main(void)
{
    const TTest *tests[] = { test_fit_evaluate_predict, test_callback_options, test_usage_errors,
                             test_bad_input_exit_1, NULL };
    const kernel_case cases[] = { { "main", tests, 0, 0 } };
    return run_cases("host_main", cases, 1);
}
