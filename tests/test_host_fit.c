/* test_host_fit.c — the host library's training loop (host/fit.c), its
 * history files (host/history.c) and nnc fit's option parser (host/main.c),
 * each number checked against a hand computation.
 *
 * The model is a toy written here behind an nnc_fit_model: linear
 * regression y = w x + b trained by plain SGD (batch mean of the squared
 * error), its rate set through set_learning_rate, calling the progress
 * callback after every batch as the generated models do.  In "scripted"
 * mode it also counts the epochs it has trained (k, part of its saved
 * weights) and its evaluate returns script[k - 1] as the validation loss,
 * so early stopping, checkpoints and reduce_lr_on_plateau meet a known
 * sequence, and a restored state shows as its epoch's loss.  The data are
 * in-memory nnc_host_xy values; the data readers (host/data.c) are
 * replaced by stubs at the end of this file so nnc_host_main can be run.
 */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_run.h"
#include "fit_internal.h"
#include "nnc_host.h"

/* ---- the toy model -------------------------------------------------------------------- */

enum { TOY_MAX_STEPS = 4096, TOY_MAX_EPOCHS = 16, TOY_MAX_N = 64 };

typedef struct toy {
    float w, b, lr;
    int batch;
    long step;
    /* scripted mode */
    int scripted;
    const float *val_loss, *val_acc;   /* indexed by k - 1 */
    long k;                            /* epochs trained: part of the weights */
    int nan_at, sigint_at;             /* misbehave in this epoch (1-based count of train_epoch calls) */
    int sigint_twice;                  /* sigint_at raises SIGINT twice */
    long calls;
    /* what the loop did */
    float rates[TOY_MAX_STEPS];
    long nrates;
    int32_t orders[TOY_MAX_EPOCHS][TOY_MAX_N];
    int order_null[TOY_MAX_EPOCHS];
    const void *train_x, *val_x;
    long train_n, val_n;
} toy;

static void toy_init(void *mp, uint64_t seed)
{
    toy *m = mp;
    (void)seed;
    m->w = m->b = 0;
    m->step = 0;
    m->k = 0;
}

static void toy_set_lr(void *mp, float lr)
{
    ((toy *)mp)->lr = lr;
}

static int toy_train(void *mp, const void *xv, const void *yv, long n, const int32_t *order,
                     nnc_rt_metrics *out, nnc_rt_progress_fn cb, void *ctx)
{
    toy *m = mp;
    const float *x = xv, *y = yv;
    double sum = 0, sum_abs = 0;
    long i, j, seen = 0;
    long epoch = m->calls++;
    m->train_x = xv;
    m->train_n = n;
    if (epoch < TOY_MAX_EPOCHS) {
        m->order_null[epoch] = order == NULL;
        for (i = 0; order != NULL && i < n && i < TOY_MAX_N; i++)
            m->orders[epoch][i] = order[i];
    }
    if (m->sigint_at == epoch + 1) {
        raise(SIGINT);
        if (m->sigint_twice)
            raise(SIGINT);
    }
    memset(out, 0, sizeof *out);
    for (i = 0; i < n; i += m->batch) {
        long nb = n - i < m->batch ? n - i : m->batch;
        double loss = 0, gw = 0, gb = 0, abs_err = 0;
        nnc_rt_progress p;
        for (j = 0; j < nb; j++) {
            long s = order ? order[i + j] : i + j;
            double d = (double)m->w * x[s] + m->b - y[s];
            loss += d * d;
            abs_err += fabs(d);
            gw += 2 * d * x[s];
            gb += 2 * d;
        }
        loss /= (double)nb;
        if (m->nan_at == epoch + 1)
            loss = NAN;
        if (!isfinite(loss))
            return -1;
        if (m->nrates < TOY_MAX_STEPS)
            m->rates[m->nrates++] = m->lr;
        m->w -= (float)(m->lr * gw / (double)nb);
        m->b -= (float)(m->lr * gb / (double)nb);
        m->step++;
        sum += loss * (double)nb;
        sum_abs += abs_err;
        seen += nb;
        memset(&p, 0, sizeof p);
        p.done = seen;
        p.total = n;
        p.step = m->step;
        p.batch_loss = (float)loss;
        p.learning_rate = m->lr;
        p.running.loss = (float)(sum / (double)seen);
        p.running.mae = (float)(sum_abs / (double)seen);
        if (cb != NULL && cb(ctx, &p)) {
            out->loss = p.running.loss;
            return -2;
        }
    }
    out->loss = (float)(sum / (double)n);
    out->mae = (float)(sum_abs / (double)n);
    if (m->scripted) {
        m->k++;
        out->loss = 1.0f / (float)m->k;
        out->accuracy = 0.25f * (float)m->k;
    }
    return 0;
}

static int toy_evaluate(void *mp, const void *xv, const void *yv, long n, nnc_rt_metrics *out,
                        nnc_rt_progress_fn cb, void *ctx)
{
    toy *m = mp;
    const float *x = xv, *y = yv;
    double sum = 0, sum_abs = 0;
    long i;
    (void)cb;
    (void)ctx;
    m->val_x = xv;
    m->val_n = n;
    memset(out, 0, sizeof *out);
    for (i = 0; i < n; i++) {
        double d = (double)m->w * x[i] + m->b - y[i];
        sum += d * d;
        sum_abs += fabs(d);
    }
    out->loss = (float)(sum / (double)n);
    out->mae = (float)(sum_abs / (double)n);
    if (m->scripted && m->k > 0) {
        out->loss = m->val_loss ? m->val_loss[m->k - 1] : 0;
        out->accuracy = m->val_acc ? m->val_acc[m->k - 1] : 0;
    }
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

/* "TOY1", w, b, k */
static size_t toy_save(const void *mp, void *buf, size_t cap)
{
    const toy *m = mp;
    float v[3];
    if (cap < 16)
        return 0;
    v[0] = m->w;
    v[1] = m->b;
    v[2] = (float)m->k;
    memcpy(buf, "TOY1", 4);
    memcpy((char *)buf + 4, v, sizeof v);
    return 16;
}

static int toy_load(void *mp, const void *buf, size_t len)
{
    toy *m = mp;
    float v[3];
    if (len != 16 || memcmp(buf, "TOY1", 4) != 0)
        return NNC_RT_ERR_FORMAT;
    memcpy(v, (const char *)buf + 4, sizeof v);
    m->w = v[0];
    m->b = v[1];
    m->k = (long)v[2];
    return 0;
}

static toy the_toy;

static nnc_fit_model toy_model(int batch, float lr, const char *metrics)
{
    nnc_fit_model mo;
    memset(&the_toy, 0, sizeof the_toy);
    the_toy.batch = batch;
    memset(&mo, 0, sizeof mo);
    mo.name = "toy";
    mo.m = &the_toy;
    mo.io.input_size = 1;
    mo.io.label_size = 1;
    mo.io.classes = 1;
    mo.batch = batch;
    mo.epochs = 1;
    mo.learning_rate = lr;
    mo.metrics = metrics;
    mo.save_bytes = 16;
    mo.init = toy_init;
    mo.train_epoch = toy_train;
    mo.evaluate = toy_evaluate;
    mo.predict = toy_predict;
    mo.save = toy_save;
    mo.load = toy_load;
    mo.set_learning_rate = toy_set_lr;
    return mo;
}

/* n samples x, y as views of the arrays */
static nnc_host_xy xy(float *x, float *y, long n)
{
    nnc_host_xy d;
    memset(&d, 0, sizeof d);
    d.n = n;
    d.x.dtype = d.y.dtype = NNC_HOST_F32;
    d.x.ndim = d.y.ndim = 1;
    d.x.shape[0] = d.y.shape[0] = n;
    d.x.data = x;
    d.y.data = y;
    return d;
}

static float xs[TOY_MAX_N], ys[TOY_MAX_N];

/* x = 0, 1, ..., y = 2x + 1 */
static nnc_host_xy line_data(long n)
{
    long i;
    for (i = 0; i < n; i++) {
        xs[i] = (float)i;
        ys[i] = 2.0f * (float)i + 1.0f;
    }
    return xy(xs, ys, n);
}

static nnc_fit_config quiet_config(long epochs)
{
    nnc_fit_config c;
    nnc_fit_config_defaults(&c);
    c.epochs = epochs;
    c.verbose = 0;
    return c;
}

static char tmpdir[64];

static void make_tmpdir(void)
{
    strcpy(tmpdir, "/tmp/nnc_fit_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    char path[512];
    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
        remove(path);
    }
    closedir(d);
    rmdir(tmpdir);
}

static char *in_tmp(const char *name)
{
    static char buf[4][512];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    return p;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq((long)fread(buf, 1, (size_t)n, f), n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* the k of a saved toy */
static long saved_k(const char *path)
{
    char *s = slurp(path);
    float v[3];
    ck_assert_ptr_nonnull(s);
    ck_assert(memcmp(s, "TOY1", 4) == 0);
    memcpy(v, s + 4, sizeof v);
    free(s);
    return (long)v[2];
}

static int temp_files_left(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    int n = 0;
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL)
        n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

#define ck_assert_near(a, b, tol) ck_assert_msg(fabs((double)(a) - (double)(b)) <= (tol), \
    "%s = %.9g, expected %.9g", #a, (double)(a), (double)(b))

/* ---- schedules: closed forms ---------------------------------------------------------- */

START_TEST(test_schedule_cosine_warmup)
{
    nnc_fit_schedule s;
    memset(&s, 0, sizeof s);
    s.kind = NNC_FIT_COSINE_DECAY;
    s.decay_steps = 1000;
    s.alpha = 0.1;
    s.warmup_steps = 100;
    s.warmup_target = 0.001;
    /* warmup: linear from lr0 = 1e-4 to 1e-3 over 100 steps */
    ck_assert_near(nnc_fit_schedule_rate(&s, 1e-4, 0), 1e-4, 1e-12);
    ck_assert_near(nnc_fit_schedule_rate(&s, 1e-4, 50), 5.5e-4, 1e-12);
    ck_assert_near(nnc_fit_schedule_rate(&s, 1e-4, 100), 1e-3, 1e-12);
    /* decay: 1e-3 * (0.9 * 0.5 (1 + cos(pi t / 1000)) + 0.1) */
    ck_assert_near(nnc_fit_schedule_rate(&s, 1e-4, 350), 1e-3 * (0.9 * 0.853553391 + 0.1), 1e-12);
    ck_assert_near(nnc_fit_schedule_rate(&s, 1e-4, 600), 5.5e-4, 1e-12);
    ck_assert_near(nnc_fit_schedule_rate(&s, 1e-4, 1100), 1e-4, 1e-12);
    ck_assert_near(nnc_fit_schedule_rate(&s, 1e-4, 5000), 1e-4, 1e-12);
    /* initial overrides lr0 */
    s.initial = 0.0;
    s.warmup_target = 0;
    s.warmup_steps = 0;
    s.alpha = 0;
    s.decay_steps = 100;
    ck_assert_near(nnc_fit_schedule_rate(&s, 0.1, 0), 0.1, 1e-12);
    ck_assert_near(nnc_fit_schedule_rate(&s, 0.1, 50), 0.05, 1e-12);
    ck_assert_near(nnc_fit_schedule_rate(&s, 0.1, 100), 0.0, 1e-12);
    ck_assert_near(nnc_fit_schedule_rate(&s, 0.1, 200), 0.0, 1e-12);
    s.initial = 0.2;
    ck_assert_near(nnc_fit_schedule_rate(&s, 0.1, 50), 0.1, 1e-12);
}
END_TEST

START_TEST(test_schedule_exponential_piecewise)
{
    static const long bounds[] = { 10, 20 };
    static const double values[] = { 1.0, 0.5, 0.1 };
    nnc_fit_schedule s;
    memset(&s, 0, sizeof s);
    s.kind = NNC_FIT_EXPONENTIAL_DECAY;
    s.decay_steps = 10;
    s.decay_rate = 0.5;
    s.staircase = 1;
    ck_assert_near(nnc_fit_schedule_rate(&s, 0.1, 0), 0.1, 1e-12);
    ck_assert_near(nnc_fit_schedule_rate(&s, 0.1, 9), 0.1, 1e-12);
    ck_assert_near(nnc_fit_schedule_rate(&s, 0.1, 10), 0.05, 1e-12);
    ck_assert_near(nnc_fit_schedule_rate(&s, 0.1, 25), 0.025, 1e-12);
    s.staircase = 0;
    ck_assert_near(nnc_fit_schedule_rate(&s, 0.1, 5), 0.0707106781, 1e-10);
    ck_assert_near(nnc_fit_schedule_rate(&s, 0.1, 20), 0.025, 1e-12);

    memset(&s, 0, sizeof s);
    s.kind = NNC_FIT_PIECEWISE_CONSTANT;
    s.nboundaries = 2;
    s.boundaries = bounds;
    s.values = values;
    /* Keras: values[0] while step <= 10, values[1] while step <= 20 */
    ck_assert_near(nnc_fit_schedule_rate(&s, 9, 0), 1.0, 0);
    ck_assert_near(nnc_fit_schedule_rate(&s, 9, 10), 1.0, 0);
    ck_assert_near(nnc_fit_schedule_rate(&s, 9, 11), 0.5, 0);
    ck_assert_near(nnc_fit_schedule_rate(&s, 9, 20), 0.5, 0);
    ck_assert_near(nnc_fit_schedule_rate(&s, 9, 21), 0.1, 0);
}
END_TEST

/* ---- the loop ---------------------------------------------------------------------------- */

/* one full-batch SGD step per epoch on y = 2x + 1, x = 1..4, from w = b = 0, rate 0.1:
 * epoch 1: loss mean(3^2, 5^2, 7^2, 9^2) = 41, gradients -35 and -12: w 3.5, b 1.2;
 * epoch 2: errors 1.7 3.2 4.7 6.2: loss 18.415, gradients 23.5 and 7.9: w 1.15, b 0.41 */
START_TEST(test_linear_regression_numbers)
{
    static float x[] = { 1, 2, 3, 4 }, y[] = { 3, 5, 7, 9 };
    nnc_fit_model mo = toy_model(4, 0.1f, "mae");
    nnc_fit_config c = quiet_config(2);
    nnc_host_xy d = xy(x, y, 4);
    nnc_fit_history h;
    c.shuffle = 0;
    ck_assert_int_eq(nnc_fit_run(&mo, &c, &d, NULL, &h), 0);
    ck_assert_int_eq(h.count, 2);
    ck_assert_near(h.epochs[0].train.loss, 41.0, 1e-5);
    ck_assert_near(h.epochs[1].train.loss, 18.415, 1e-4);
    ck_assert_near(h.epochs[0].train.mae, 6.0, 1e-5);
    ck_assert_near(the_toy.w, 1.15, 1e-5);
    ck_assert_near(the_toy.b, 0.41, 1e-5);
    ck_assert_near(h.epochs[1].learning_rate, 0.1, 1e-8);
    ck_assert_int_eq(h.epochs[0].has_val, 0);
    ck_assert(the_toy.order_null[0] && the_toy.order_null[1]);
    ck_assert_int_eq(h.stopped_early, 0);
    nnc_fit_history_free(&h);
}
END_TEST

/* 10 samples, validation_split 0.25: Keras takes the last ceil... of 10 * 0.75 = 8 for
 * training, samples 8 and 9 for validation; 0.3: 7 and 3.  The shuffle stays inside
 * the training part. */
START_TEST(test_validation_split)
{
    nnc_fit_model mo = toy_model(2, 0.01f, "mae");
    nnc_fit_config c = quiet_config(2);
    nnc_host_xy d = line_data(10);
    nnc_fit_history h;
    long e, i;
    c.validation_split = 0.25;
    ck_assert_int_eq(nnc_fit_run(&mo, &c, &d, NULL, &h), 0);
    ck_assert_ptr_eq(the_toy.train_x, xs);
    ck_assert_int_eq(the_toy.train_n, 8);
    ck_assert_ptr_eq(the_toy.val_x, xs + 8);
    ck_assert_int_eq(the_toy.val_n, 2);
    ck_assert(h.epochs[0].has_val);
    for (e = 0; e < 2; e++)
        for (i = 0; i < 8; i++)
            ck_assert(the_toy.orders[e][i] >= 0 && the_toy.orders[e][i] < 8);
    nnc_fit_history_free(&h);

    mo = toy_model(2, 0.01f, "mae");
    c.validation_split = 0.3;
    ck_assert_int_eq(nnc_fit_run(&mo, &c, &d, NULL, &h), 0);
    ck_assert_int_eq(the_toy.train_n, 7);
    ck_assert_ptr_eq(the_toy.val_x, xs + 7);
    ck_assert_int_eq(the_toy.val_n, 3);
    nnc_fit_history_free(&h);

    /* explicit validation data wins over the split */
    {
        static float vx[] = { 1, 2 }, vy[] = { 3, 5 };
        nnc_host_xy v = xy(vx, vy, 2);
        mo = toy_model(2, 0.01f, "mae");
        ck_assert_int_eq(nnc_fit_run(&mo, &c, &d, &v, &h), 0);
        ck_assert_int_eq(the_toy.train_n, 10);
        ck_assert_ptr_eq(the_toy.val_x, vx);
        nnc_fit_history_free(&h);
    }
    /* too few samples to split */
    d = line_data(1);
    mo = toy_model(2, 0.01f, "mae");
    c.validation_split = 0.5;
    ck_assert_int_eq(nnc_fit_run(&mo, &c, &d, NULL, &h), 1);
}
END_TEST

/* every epoch a permutation from nnc_rt_shuffle(seed * 1000 + epoch), the same for the same seed */
START_TEST(test_shuffle_deterministic)
{
    enum { N = 20, E = 3 };
    int32_t first[E][N], want[N];
    nnc_fit_model mo = toy_model(5, 0.001f, "mae");
    nnc_fit_config c = quiet_config(E);
    nnc_host_xy d = line_data(N);
    nnc_fit_history h;
    long e, i;
    c.seed = 7;
    ck_assert_int_eq(nnc_fit_run(&mo, &c, &d, NULL, &h), 0);
    nnc_fit_history_free(&h);
    for (e = 0; e < E; e++)
        memcpy(first[e], the_toy.orders[e], sizeof first[e]);
    for (e = 0; e < E; e++) {
        int seen[N] = { 0 };
        nnc_rt_shuffle(want, N, 7 * 1000 + (uint64_t)(e + 1));
        ck_assert(memcmp(first[e], want, sizeof want) == 0);
        for (i = 0; i < N; i++)
            seen[first[e][i]]++;
        for (i = 0; i < N; i++)
            ck_assert_int_eq(seen[i], 1);
    }
    ck_assert(memcmp(first[0], first[1], sizeof first[0]) != 0);
    mo = toy_model(5, 0.001f, "mae");
    ck_assert_int_eq(nnc_fit_run(&mo, &c, &d, NULL, &h), 0);
    nnc_fit_history_free(&h);
    for (e = 0; e < E; e++)
        ck_assert(memcmp(first[e], the_toy.orders[e], sizeof first[e]) == 0);
    mo = toy_model(5, 0.001f, "mae");
    c.seed = 8;
    ck_assert_int_eq(nnc_fit_run(&mo, &c, &d, NULL, &h), 0);
    nnc_fit_history_free(&h);
    ck_assert(memcmp(first[0], the_toy.orders[0], sizeof first[0]) != 0);
}
END_TEST

/* the schedule's rate reaches the model before every step: 8 samples in batches of 2
 * are 4 steps an epoch; piecewise boundaries [3, 7] give steps 0-3 0.1, 4-7 0.01, 8-11
 * 0.001 */
START_TEST(test_schedule_per_step)
{
    static const long bounds[] = { 3, 7 };
    static const double values[] = { 0.1, 0.01, 0.001 };
    nnc_fit_model mo = toy_model(2, 0.5f, "mae");
    nnc_fit_config c = quiet_config(3);
    nnc_host_xy d = line_data(8);
    nnc_fit_history h;
    long s;
    c.schedule.kind = NNC_FIT_PIECEWISE_CONSTANT;
    c.schedule.nboundaries = 2;
    c.schedule.boundaries = bounds;
    c.schedule.values = values;
    ck_assert_int_eq(nnc_fit_run(&mo, &c, &d, NULL, &h), 0);
    ck_assert_int_eq(the_toy.nrates, 12);
    for (s = 0; s < 12; s++)
        ck_assert_near(the_toy.rates[s], s <= 3 ? 0.1 : s <= 7 ? 0.01 : 0.001, 1e-8);
    ck_assert_near(h.epochs[0].learning_rate, 0.1, 1e-8);
    ck_assert_near(h.epochs[1].learning_rate, 0.01, 1e-8);
    ck_assert_near(h.epochs[2].learning_rate, 0.001, 1e-8);
    nnc_fit_history_free(&h);

    /* cosine with warmup from the model's rate 0: target 0.2 over 4 steps, then
     * cosine to 0 over 8: steps 0, 2, 4, 6, 8 are 0, 0.1, 0.2, 0.2 * 0.853553391, 0.1 */
    mo = toy_model(2, 0.0f, "mae");
    memset(&c.schedule, 0, sizeof c.schedule);
    c.schedule.kind = NNC_FIT_COSINE_DECAY;
    c.schedule.decay_steps = 8;
    c.schedule.warmup_steps = 4;
    c.schedule.warmup_target = 0.2;
    ck_assert_int_eq(nnc_fit_run(&mo, &c, &d, NULL, &h), 0);
    ck_assert_int_eq(the_toy.nrates, 12);
    ck_assert_near(the_toy.rates[0], 0.0, 1e-9);
    ck_assert_near(the_toy.rates[2], 0.1, 1e-7);
    ck_assert_near(the_toy.rates[4], 0.2, 1e-7);
    ck_assert_near(the_toy.rates[6], 0.2 * 0.853553391, 1e-7);
    ck_assert_near(the_toy.rates[8], 0.1, 1e-7);
    ck_assert_near(the_toy.rates[11], 0.2 * 0.5 * (1 + cos(3.14159265358979 * 7 / 8)), 1e-7);
    nnc_fit_history_free(&h);
}
END_TEST

static nnc_fit_model scripted(const float *val_loss, const float *val_acc, const char *metrics)
{
    nnc_fit_model mo = toy_model(4, 0.1f, metrics);
    the_toy.scripted = 1;
    the_toy.val_loss = val_loss;
    the_toy.val_acc = val_acc;
    return mo;
}

/* val_loss 1.0 0.8 0.7 0.72 0.695 with patience 2 and min_delta 0.01: epoch 4 does not
 * improve (wait 1), epoch 5 beats 0.7 by less than 0.01 (wait 2): stop at epoch 5,
 * best epoch 3, whose weights (k = 3) come back with restore_best_weights */
START_TEST(test_early_stopping)
{
    static const float vl[] = { 1.0f, 0.8f, 0.7f, 0.72f, 0.695f, 0.5f, 0.4f, 0.3f };
    static const float va[] = { 0.9f, 0.5f, 0.6f, 0.6f, 0.55f, 0.9f, 0.9f, 0.9f };
    nnc_fit_model mo = scripted(vl, va, "accuracy");
    nnc_fit_config c = quiet_config(8);
    nnc_host_xy d = line_data(8), v = line_data(8);
    nnc_fit_history h;
    nnc_rt_metrics m;

    c.early_stopping.on = 1;
    c.early_stopping.patience = 2;
    c.early_stopping.min_delta = 0.01;
    c.early_stopping.restore_best_weights = 1;
    ck_assert_int_eq(nnc_fit_run(&mo, &c, &d, &v, &h), 0);
    ck_assert_int_eq(h.count, 5);
    ck_assert_int_eq(h.stopped_early, 1);
    ck_assert_int_eq(h.best_epoch, 3);
    ck_assert_int_eq(the_toy.k, 3);
    ck_assert_int_eq(mo.evaluate(mo.m, xs, ys, 8, &m, NULL, NULL), 0);
    ck_assert_near(m.loss, h.epochs[2].val.loss, 0);
    ck_assert_near(m.loss, 0.7, 1e-7);
    nnc_fit_history_free(&h);

    /* without restore_best_weights the last weights stay */
    mo = scripted(vl, va, "accuracy");
    c.early_stopping.restore_best_weights = 0;
    ck_assert_int_eq(nnc_fit_run(&mo, &c, &d, &v, &h), 0);
    ck_assert_int_eq(h.count, 5);
    ck_assert_int_eq(the_toy.k, 5);
    nnc_fit_history_free(&h);

    /* val_accuracy (mode auto: max), watched from epoch 3 on, patience 1: epoch 3's 0.6
     * is the first best, epoch 4's 0.6 does not beat it: stop at 4 */
    mo = scripted(vl, va, "accuracy");
    memset(&c.early_stopping, 0, sizeof c.early_stopping);
    c.early_stopping.on = 1;
    c.early_stopping.monitor = "val_accuracy";
    c.early_stopping.patience = 1;
    c.early_stopping.start_from_epoch = 2;
    c.early_stopping.restore_best_weights = 1;
    ck_assert_int_eq(nnc_fit_run(&mo, &c, &d, &v, &h), 0);
    ck_assert_int_eq(h.count, 4);
    ck_assert_int_eq(h.best_epoch, 3);
    ck_assert_int_eq(the_toy.k, 3);
    nnc_fit_history_free(&h);

    /* patience 0 stops at the first epoch that does not improve; mode min on loss
     * (train loss 1/k always improves: runs to the end) */
    mo = scripted(vl, va, "accuracy");
    memset(&c.early_stopping, 0, sizeof c.early_stopping);
    c.early_stopping.on = 1;
    c.early_stopping.monitor = "val_loss";
    ck_assert_int_eq(nnc_fit_run(&mo, &c, &d, &v, &h), 0);
    ck_assert_int_eq(h.count, 4);
    nnc_fit_history_free(&h);
    mo = scripted(vl, va, "accuracy");
    c.early_stopping.monitor = "loss";
    ck_assert_int_eq(nnc_fit_run(&mo, &c, &d, &v, &h), 0);
    ck_assert_int_eq(h.count, 8);
    ck_assert_int_eq(h.stopped_early, 0);
    nnc_fit_history_free(&h);

    /* a monitor the run cannot compute is refused before training */
    mo = scripted(vl, va, "accuracy");
    c.early_stopping.monitor = "val_loss";
    ck_assert_int_eq(nnc_fit_run(&mo, &c, &d, NULL, &h), 1);
    ck_assert_int_eq(the_toy.calls, 0);
    c.early_stopping.monitor = "val_precision";
    ck_assert_int_eq(nnc_fit_run(&mo, &c, &d, &v, &h), 1);
    ck_assert_int_eq(the_toy.calls, 0);
}
END_TEST

/* Keras' ReduceLROnPlateau, factor 0.5, patience 2, cooldown 1, min_lr 0.02 on val_loss
 * 1 1 1 .9 .9 .9 .9 .9 .9 .9: reductions after epochs 3, 6 and 8 (the last one floored
 * at min_lr), none after 10 (the rate is at min_lr) */
START_TEST(test_reduce_lr_on_plateau)
{
    static const float vl[] = { 1, 1, 1, 0.9f, 0.9f, 0.9f, 0.9f, 0.9f, 0.9f, 0.9f };
    static const double want[] = { 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.02, 0.02 };
    nnc_fit_model mo = scripted(vl, NULL, "");
    nnc_fit_config c = quiet_config(10);
    nnc_host_xy d = line_data(4), v = line_data(4);
    nnc_fit_history h;
    int e;
    c.reduce_lr.on = 1;
    c.reduce_lr.factor = 0.5;
    c.reduce_lr.patience = 2;
    c.reduce_lr.cooldown = 1;
    c.reduce_lr.min_delta = 0;
    c.reduce_lr.min_lr = 0.02;
    ck_assert_int_eq(nnc_fit_run(&mo, &c, &d, &v, &h), 0);
    ck_assert_int_eq(h.count, 10);
    ck_assert_int_eq(the_toy.nrates, 10);   /* one step an epoch */
    for (e = 0; e < 10; e++) {
        ck_assert_near(h.epochs[e].learning_rate, want[e], 1e-8);
        ck_assert_near(the_toy.rates[e], want[e], 1e-8);
    }
    nnc_fit_history_free(&h);

    /* cooldown 2, patience 1 on a flat 1.0: a reduction after epoch 2, then the two
     * cooldown epochs: the next after 4, then after 6 (floored), none after 8 */
    {
        static const float flat[] = { 1, 1, 1, 1, 1, 1, 1, 1 };
        static const double want2[] = { 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.02, 0.02 };
        mo = scripted(flat, NULL, "");
        c.epochs = 8;
        c.reduce_lr.patience = 1;
        c.reduce_lr.cooldown = 2;
        ck_assert_int_eq(nnc_fit_run(&mo, &c, &d, &v, &h), 0);
        ck_assert_int_eq(h.count, 8);
        for (e = 0; e < 8; e++)
            ck_assert_near(h.epochs[e].learning_rate, want2[e], 1e-8);
        nnc_fit_history_free(&h);
    }
}
END_TEST

/* save_best_only on val_loss 1.0 0.8 0.9 0.7 0.7: written after epochs 1, 2 and 4 only
 * (a strict improvement), each file the weights of its epoch; a file replaced by a
 * rename, never rewritten in place (a hard link to the old one keeps the old bytes) */
START_TEST(test_checkpoint)
{
    static const float vl[] = { 1.0f, 0.8f, 0.9f, 0.7f, 0.7f };
    nnc_fit_model mo = scripted(vl, NULL, "");
    nnc_fit_config c = quiet_config(5);
    nnc_host_xy d = line_data(4), v = line_data(4);
    nnc_fit_history h;
    char pattern[512], *old;
    FILE *f;

    make_tmpdir();
    snprintf(pattern, sizeof pattern, "%s/ck-{epoch}.bin", tmpdir);
    c.checkpoint.path = pattern;
    c.checkpoint.save_best_only = 1;
    ck_assert_int_eq(nnc_fit_run(&mo, &c, &d, &v, &h), 0);
    nnc_fit_history_free(&h);
    ck_assert(exists(in_tmp("ck-1.bin")));
    ck_assert(exists(in_tmp("ck-2.bin")));
    ck_assert(!exists(in_tmp("ck-3.bin")));
    ck_assert(exists(in_tmp("ck-4.bin")));
    ck_assert(!exists(in_tmp("ck-5.bin")));
    ck_assert_int_eq(saved_k(in_tmp("ck-2.bin")), 2);
    ck_assert_int_eq(saved_k(in_tmp("ck-4.bin")), 4);
    ck_assert_int_eq(temp_files_left(), 0);

    /* cfg.weights starts from a saved state (k = 4) instead of init's (k = 0) */
    mo = scripted(vl, NULL, "");
    c.checkpoint.path = NULL;
    c.epochs = 1;
    c.weights = in_tmp("ck-4.bin");
    ck_assert_int_eq(nnc_fit_run(&mo, &c, &d, &v, &h), 0);
    nnc_fit_history_free(&h);
    ck_assert_int_eq(the_toy.k, 5);
    c.weights = in_tmp("ck-3.bin");   /* missing */
    ck_assert_int_eq(nnc_fit_run(&mo, &c, &d, &v, &h), 1);
    c.weights = NULL;
    c.epochs = 5;
    c.checkpoint.path = pattern;

    /* one path: the best epoch's weights, replaced atomically */
    f = fopen(in_tmp("best.bin"), "wb");
    ck_assert_ptr_nonnull(f);
    fputs("old", f);
    fclose(f);
    ck_assert_int_eq(link(in_tmp("best.bin"), in_tmp("keep.bin")), 0);
    mo = scripted(vl, NULL, "");
    snprintf(pattern, sizeof pattern, "%s/best.bin", tmpdir);
    ck_assert_int_eq(nnc_fit_run(&mo, &c, &d, &v, &h), 0);
    nnc_fit_history_free(&h);
    ck_assert_int_eq(saved_k(in_tmp("best.bin")), 4);
    old = slurp(in_tmp("keep.bin"));
    ck_assert_str_eq(old, "old");
    free(old);

    /* every epoch, {epoch:02d} */
    mo = scripted(vl, NULL, "");
    snprintf(pattern, sizeof pattern, "%s/every-{epoch:02d}.bin", tmpdir);
    c.checkpoint.save_best_only = 0;
    ck_assert_int_eq(nnc_fit_run(&mo, &c, &d, &v, &h), 0);
    nnc_fit_history_free(&h);
    ck_assert_int_eq(saved_k(in_tmp("every-03.bin")), 3);
    ck_assert_int_eq(saved_k(in_tmp("every-05.bin")), 5);

    /* a checkpoint that cannot be written fails the run and leaves nothing */
    mo = scripted(vl, NULL, "");
    snprintf(pattern, sizeof pattern, "%s/no/such/dir/ck.bin", tmpdir);
    ck_assert_int_eq(nnc_fit_run(&mo, &c, &d, &v, &h), 1);
    ck_assert_int_eq(h.count, 1);
    nnc_fit_history_free(&h);
    ck_assert_int_eq(temp_files_left(), 0);
    remove_tmpdir();
}
END_TEST

/* Ctrl-C in epoch 4 stops after the batch; the 3 complete epochs are kept, the best
 * weights (epoch 2) restored, and the handler is the caller's again afterwards */
START_TEST(test_interrupt)
{
    static const float vl[] = { 1.0f, 0.6f, 0.8f, 0.9f, 0.9f, 0.9f };
    nnc_fit_model mo = scripted(vl, NULL, "");
    nnc_fit_config c = quiet_config(6);
    nnc_host_xy d = line_data(8), v = line_data(8);
    nnc_fit_history h;
    struct sigaction cur;

    signal(SIGINT, SIG_DFL);
    the_toy.sigint_at = 4;
    c.early_stopping.on = 1;
    c.early_stopping.patience = 10;
    c.early_stopping.restore_best_weights = 1;
    ck_assert_int_eq(nnc_fit_run(&mo, &c, &d, &v, &h), 0);
    ck_assert_int_eq(h.interrupted, 1);
    ck_assert_int_eq(h.count, 3);
    ck_assert_int_eq(the_toy.calls, 4);
    ck_assert_int_eq(the_toy.nrates, 3 * 2 + 1);   /* 2 steps an epoch, 1 of epoch 4 */
    ck_assert_int_eq(the_toy.k, 2);
    ck_assert_int_eq(sigaction(SIGINT, NULL, &cur), 0);
    ck_assert(cur.sa_handler == SIG_DFL);
    nnc_fit_history_free(&h);
}
END_TEST

/* a second Ctrl-C during the run kills as usual (in a child process) */
START_TEST(test_second_interrupt_kills)
{
    pid_t pid;
    int status;
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        static const float vl[] = { 1, 1, 1 };
        nnc_fit_model mo = scripted(vl, NULL, "");
        nnc_fit_config c = quiet_config(3);
        nnc_host_xy d = line_data(8);
        nnc_fit_history h;
        signal(SIGINT, SIG_DFL);
        if (freopen("/dev/null", "w", stderr) == NULL)
            _exit(4);
        the_toy.sigint_at = 2;
        the_toy.sigint_twice = 1;
        nnc_fit_run(&mo, &c, &d, NULL, &h);
        _exit(3);   /* not reached: the second SIGINT kills */
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT);
}
END_TEST

START_TEST(test_nan_stops)
{
    static float x[] = { 1, 2, 3, 4 }, y[] = { 3, 5, 7, 9 };
    nnc_fit_model mo = toy_model(4, 0.1f, "mae");
    nnc_fit_config c = quiet_config(5);
    nnc_host_xy d = xy(x, y, 4);
    nnc_fit_history h;
    the_toy.nan_at = 3;
    ck_assert_int_eq(nnc_fit_run(&mo, &c, &d, NULL, &h), 1);
    ck_assert_int_eq(h.count, 2);
    nnc_fit_history_free(&h);
}
END_TEST

/* The text of fd 1 or 2 while fn runs */
static char *captured(int fd, void (*fn)(void))
{
    FILE *stream = fd == 1 ? stdout : stderr;
    char path[] = "/tmp/nnc_fit_out_XXXXXX", *text;
    int tmp = mkstemp(path), saved;
    ck_assert_int_ge(tmp, 0);
    fflush(stream);
    saved = dup(fd);
    dup2(tmp, fd);
    fn();
    fflush(stream);
    dup2(saved, fd);
    close(saved);
    close(tmp);
    text = slurp(path);
    remove(path);
    return text;
}

static void two_epochs_verbose(void)
{
    static const float vl[] = { 0.75f, 0.5f };
    static const float va[] = { 0.625f, 0.875f };
    nnc_fit_model mo = scripted(vl, va, "accuracy");
    nnc_fit_config c = quiet_config(2);
    nnc_host_xy d = line_data(4), v = line_data(4);
    nnc_fit_history h;
    c.verbose = 2;
    ck_assert_int_eq(nnc_fit_run(&mo, &c, &d, &v, &h), 0);
    nnc_fit_history_free(&h);
}

static void draw_bar(void)
{
    fit_bar b;
    nnc_rt_progress p;
    memset(&p, 0, sizeof p);
    fit_bar_begin(&b, 1, 10, "accuracy,mae");
    p.done = 50;
    p.total = 95;
    p.running.loss = 0.5f;
    p.running.accuracy = 0.75f;
    p.running.mae = 0.125f;
    fit_bar_draw(&b, &p);
    fit_bar_end(&b);
    fit_bar_begin(&b, 0, 10, "accuracy");   /* off: draws nothing */
    fit_bar_draw(&b, &p);
    fit_bar_end(&b);
}

/* Keras' epoch line on stdout, and the bar: steps of the batch, ETA, running numbers */
START_TEST(test_epoch_line_and_bar)
{
    char *out = captured(1, two_epochs_verbose);
    const char *want1 = "Epoch 1/2 - loss: 1.0000 - accuracy: 0.2500 - val_loss: 0.7500 - "
                        "val_accuracy: 0.6250 - lr: 1.0e-01 - ";
    const char *want2 = "Epoch 2/2 - loss: 0.5000 - accuracy: 0.5000 - val_loss: 0.5000 - "
                        "val_accuracy: 0.8750 - lr: 1.0e-01 - ";
    ck_assert_msg(strncmp(out, want1, strlen(want1)) == 0, "%s", out);
    ck_assert_msg(strstr(out, want2) != NULL, "%s", out);
    ck_assert_msg(out[strlen(out) - 2] == 's', "%s", out);
    free(out);
    out = captured(2, draw_bar);
    ck_assert_msg(strncmp(out, "\r 5/10 [===============>..............] - ETA: ",
                          strlen("\r 5/10 [===============>..............] - ETA: ")) == 0, "%s", out);
    ck_assert_msg(strstr(out, "s - loss: 0.5000 - accuracy: 0.7500 - mae: 0.1250\033[K\r\033[K") != NULL,
                  "%s", out);
    free(out);
}
END_TEST

/* ---- history files ----------------------------------------------------------------------- */

/* every row up to the seconds column, exactly: loss 1/k, accuracy k/4 (train), the
 * scripted validation numbers, the rate 0.1f as %.9g */
START_TEST(test_history_csv)
{
    static const float vl[] = { 0.75f, 0.5f };
    static const float va[] = { 0.625f, 0.875f };
    nnc_fit_model mo = scripted(vl, va, "accuracy");
    nnc_fit_config c = quiet_config(2);
    nnc_host_xy d = line_data(4), v = line_data(4);
    nnc_fit_history h;
    char *text, *line, *save;
    static const char *const want[] = {
        "epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds",
        "1,1,0.25,0.75,0.625,0.100000001,",
        "2,0.5,0.5,0.5,0.875,0.100000001,",
    };
    int i = 0;

    make_tmpdir();
    ck_assert_int_eq(nnc_fit_run(&mo, &c, &d, &v, &h), 0);
    ck_assert_int_eq(nnc_fit_history_csv(in_tmp("history.csv"), &h, mo.metrics), 0);
    text = slurp(in_tmp("history.csv"));
    ck_assert_ptr_nonnull(text);
    for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save), i++) {
        ck_assert_int_lt(i, 3);
        ck_assert_msg(strncmp(line, want[i], strlen(want[i])) == 0, "line %d: '%s', expected '%s...'",
                      i, line, want[i]);
        if (i > 0) {   /* the seconds: a number */
            char *end;
            double s = strtod(line + strlen(want[i]), &end);
            ck_assert(*end == '\0' && s >= 0);
        }
    }
    ck_assert_int_eq(i, 3);
    free(text);
    nnc_fit_history_free(&h);

    /* no validation: no val_ columns; metrics the model lacks are left out */
    mo = scripted(vl, va, "accuracy, f1,bogus");
    ck_assert_int_eq(nnc_fit_run(&mo, &c, &d, NULL, &h), 0);
    ck_assert_int_eq(nnc_fit_history_csv(in_tmp("history.csv"), &h, mo.metrics), 0);
    text = slurp(in_tmp("history.csv"));
    line = "epoch,loss,accuracy,f1,lr,seconds\n1,1,0.25,0,0.100000001,";
    ck_assert_msg(strncmp(text, line, strlen(line)) == 0, "%s", text);
    free(text);
    ck_assert_int_eq(temp_files_left(), 0);
    nnc_fit_history_free(&h);
    remove_tmpdir();
}
END_TEST

/* a history of n epochs with made-up curves */
static void fake_history(nnc_fit_history *h, long n, int val)
{
    long e;
    memset(h, 0, sizeof *h);
    h->epochs = calloc((size_t)n, sizeof *h->epochs);
    ck_assert_ptr_nonnull(h->epochs);
    h->count = n;
    for (e = 0; e < n; e++) {
        nnc_fit_epoch *ep = &h->epochs[e];
        ep->epoch = e + 1;
        ep->train.loss = (float)(1.0 / (e + 1));
        ep->train.accuracy = (float)(0.5 + 0.4 * e / (double)n);
        ep->has_val = val;
        ep->val.loss = (float)(1.2 / (e + 1) + 0.05 * e);
        ep->val.accuracy = (float)(0.45 + 0.3 * e / (double)n);
        ep->learning_rate = 0.001f;
        ep->seconds = 1.5;
    }
}

/* The SVG renders with a real renderer (rsvg-convert, Debian's librsvg2-bin) to a PNG
 * of the SVG's size that is not blank and shows both curve colours.  Without
 * rsvg-convert the render is skipped with a message, unless NNC_REQUIRE_RSVG is set
 * (make check-host-fit). */
START_TEST(test_history_svg)
{
    nnc_fit_history h;
    char *svg, cmd[1024], out[256];
    int w = 0, ht = 0, colours = 0, blue = 0, orange = 0;
    FILE *p;

    make_tmpdir();
    fake_history(&h, 12, 1);
    ck_assert_int_eq(nnc_fit_history_svg(in_tmp("curves.svg"), &h, "accuracy"), 0);
    svg = slurp(in_tmp("curves.svg"));
    ck_assert(strncmp(svg, "<?xml", 5) == 0);
    ck_assert_ptr_nonnull(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
    ck_assert_ptr_nonnull(strstr(svg, ">loss</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">accuracy</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">validation</text>"));
    ck_assert_ptr_nonnull(strstr(svg, "</svg>\n"));
    free(svg);

    if (system("command -v rsvg-convert >/dev/null 2>&1") != 0) {
        ck_assert_msg(getenv("NNC_REQUIRE_RSVG") == NULL, "rsvg-convert is missing (apt-get install librsvg2-bin)");
        fprintf(stderr, "test_history_svg: rsvg-convert not found, render check skipped "
                "(install librsvg2-bin)\n");
    } else {
        snprintf(cmd, sizeof cmd, "rsvg-convert -o %s %s", in_tmp("curves.png"), in_tmp("curves.svg"));
        ck_assert_int_eq(system(cmd), 0);
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/png_stats.py %s", in_tmp("curves.png"));
        p = popen(cmd, "r");
        ck_assert_ptr_nonnull(p);
        ck_assert_ptr_nonnull(fgets(out, sizeof out, p));
        ck_assert_int_eq(pclose(p), 0);
        ck_assert_int_eq(sscanf(out, "%d %d %d %d %d", &w, &ht, &colours, &blue, &orange), 5);
        ck_assert_int_eq(w, 1040);    /* two panels of 520 */
        ck_assert_int_eq(ht, 370);    /* the title's 40 and one row of 330 */
        ck_assert_int_gt(colours, 10);
        ck_assert_int_gt(blue, 200);
        ck_assert_int_gt(orange, 100);
    }
    nnc_fit_history_free(&h);

    /* one epoch, no validation, a non-finite value: still a whole file */
    fake_history(&h, 1, 0);
    h.epochs[0].train.loss = NAN;
    ck_assert_int_eq(nnc_fit_history_svg(in_tmp("one.svg"), &h, ""), 0);
    svg = slurp(in_tmp("one.svg"));
    ck_assert_ptr_nonnull(strstr(svg, "</svg>\n"));
    ck_assert_ptr_null(strstr(svg, "nan"));
    free(svg);
    if (system("command -v rsvg-convert >/dev/null 2>&1") == 0) {
        snprintf(cmd, sizeof cmd, "rsvg-convert -o %s %s", in_tmp("one.png"), in_tmp("one.svg"));
        ck_assert_int_eq(system(cmd), 0);
    }
    nnc_fit_history_free(&h);
    remove_tmpdir();
}
END_TEST

int main(void)
{
    const TTest *schedules[] = { test_schedule_cosine_warmup, test_schedule_exponential_piecewise, NULL };
    const TTest *loop[] = { test_linear_regression_numbers, test_validation_split,
                            test_shuffle_deterministic, test_schedule_per_step, test_nan_stops, NULL };
    const TTest *callbacks[] = { test_early_stopping, test_reduce_lr_on_plateau, test_checkpoint,
                                 test_interrupt, test_second_interrupt_kills, NULL };
    const TTest *history[] = { test_epoch_line_and_bar, test_history_csv, test_history_svg, NULL };
    const kernel_case cases[] = {
        { "schedules", schedules, 0, 0 }, { "loop", loop, 0, 0 },
        { "callbacks", callbacks, 0, 0 }, { "history", history, 60, 0 },
    };
    return run_cases("host_fit", cases, (int)(sizeof cases / sizeof cases[0]));
}
