/* driver.c — the example driver behind every examples/NAME/main.c: parse
 * the options, load the data, init, train epoch by epoch, evaluate, save,
 * report (see driver.h).
 *
 * Design: one run is a straight sequence of steps, each returning 0 or 1
 * after printing its own message, so driver_main is the only place that
 * turns a failure into an exit code, and the only place that frees: the
 * data sets and every driver_alloc / driver_keep block hang off one
 * driver_data, released once at the end whichever step stopped the run.  The shuffling seed
 * (seed * 1000 + epoch) and the order of the calls are the ones the
 * drivers had before they shared this file, so results stay bit-identical.
 */
#include "driver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* n, or limit when that is positive and smaller */
static long cut(long n, long limit)
{
    return limit > 0 && limit < n ? limit : n;
}

/* spec's built-in data: all of it is made, so --limit only cuts */
static void make_arrays(const driver_spec *s, const data_args *a, driver_data *d)
{
    const driver_arrays *arr = &s->arrays;
    nnc_rt_rng rng;
    nnc_rt_rng_seed(&rng, s->data_seed);
    s->make(&rng, arr->xtrain, arr->ytrain, arr->ntrain);
    d->xtrain = arr->xtrain;
    d->ytrain = arr->ytrain;
    d->ntrain = cut(arr->ntrain, a->limit);
    if (arr->xtest != NULL) {
        s->make(&rng, arr->xtest, arr->ytest, arr->ntest);
        d->xtest = arr->xtest;
        d->ytest = arr->ytest;
        d->ntest = cut(arr->ntest, a->test_limit);
    }
}

void *driver_keep(driver_data *d, void *p)
{
    size_t i, slots = sizeof d->owned / sizeof d->owned[0];
    if (p == NULL)
        return NULL;
    for (i = 0; i < slots && d->owned[i] != NULL; i++)
        ;
    if (i == slots) {   /* a driver bug, not the user's: say so and fail cleanly */
        fprintf(stderr, "driver_keep: more than %zu blocks to free\n", slots);
        free(p);
        return NULL;
    }
    return d->owned[i] = p;
}

void *driver_alloc(driver_data *d, size_t count, size_t size, const char *what)
{
    return driver_keep(d, data_alloc(count, size, what));
}

int driver_load_fashion(const data_args *a, driver_data *d)
{
    return data_load_fashion("train", a->limit, &d->train) ||
           data_load_fashion("t10k", a->test_limit, &d->test);
}

/* the Fashion-MNIST sets stand in for what the load hook left NULL */
static void take_sets(driver_data *d)
{
    if (d->xtrain == NULL) {
        d->xtrain = d->train.x;
        d->ntrain = d->train.n;
    }
    if (d->ytrain == NULL)
        d->ytrain = d->train.y;
    if (d->xtest == NULL) {
        d->xtest = d->test.x;
        d->ntest = d->test.n;
    }
    if (d->ytest == NULL)
        d->ytest = d->test.y;
}

static void release(driver_data *d)
{
    size_t i;
    for (i = 0; i < sizeof d->owned / sizeof d->owned[0]; i++)
        free(d->owned[i]);
    data_free(&d->train);
    data_free(&d->test);
}

/* The epoch loop.  order NULL trains in stored order; otherwise it is
 * reshuffled before every epoch from the seed and the epoch number, so a run
 * is reproducible from --seed alone.  NaN gets its own message because it
 * is the failure users meet (the learning rate), not a bug. */
static int train(const driver_spec *s, const data_args *a, const driver_data *d,
                 int32_t *order, nnc_rt_metrics *m)
{
    const driver_model *mo = s->model;
    long epoch;
    for (epoch = 1; epoch <= a->epochs; epoch++) {
        double t0 = data_now();
        data_progress_state prog;
        int rc;
        if (order != NULL)
            nnc_rt_shuffle(order, d->ntrain, a->seed * 1000 + (uint64_t)epoch);
        if (s->bars & DRIVER_BARS_TRAIN) {
            data_progress_begin(&prog);
            rc = mo->train_epoch(d->xtrain, d->ytrain, d->ntrain, order, m, data_progress, &prog);
            data_progress_end(&prog);
        } else {
            rc = mo->train_epoch(d->xtrain, d->ytrain, d->ntrain, order, m, NULL, NULL);
        }
        if (rc == mo->err_nan) {
            data_report_nan(epoch);
            return 1;
        }
        if (rc != 0) {
            fprintf(stderr, "training failed at epoch %ld (error %d)\n", epoch, rc);
            return 1;
        }
        data_print_epoch(epoch, a->epochs, m, s->show, data_now() - t0);
    }
    return 0;
}

static int evaluate(const driver_spec *s, const driver_data *d, nnc_rt_metrics *m)
{
    const driver_model *mo = s->model;
    int rc;
    if (s->bars & DRIVER_BARS_EVAL) {
        data_progress_state prog;
        data_progress_begin(&prog);
        rc = mo->evaluate(d->xtest, d->ytest, d->ntest, m, data_progress, &prog);
        data_progress_end(&prog);
    } else {
        rc = mo->evaluate(d->xtest, d->ytest, d->ntest, m, NULL, NULL);
    }
    if (rc != 0) {
        fprintf(stderr, "evaluation failed (error %d)\n", rc);
        return 1;
    }
    return 0;
}

/* --save FILE: the model's save() buffer, the input of nnc --weights */
static int save(const driver_model *mo, const char *path)
{
    void *buf = data_alloc(mo->save_bytes, 1, "saved parameters");
    int rc = buf == NULL || data_save_params(path, buf, mo->save(buf, mo->save_bytes));
    free(buf);
    return rc;
}

/* everything after the options; returns main's exit code */
static int run(const driver_spec *s, const data_args *a, driver_data *d)
{
    nnc_rt_metrics m;
    int32_t *order = NULL;

    memset(&m, 0, sizeof m);   /* no epoch and no test set still reports defined numbers */
    if (s->make)
        make_arrays(s, a, d);
    else if (s->load ? s->load(a, d) : driver_load_fashion(a, d))
        return 1;
    take_sets(d);
    if (!s->in_order) {
        order = driver_alloc(d, (size_t)d->ntrain, sizeof *order, "shuffle order");
        if (order == NULL)
            return 1;
    }
    s->model->init(a->seed);
    if (s->start && s->start(d))
        return 1;
    if (train(s, a, d, order, &m))
        return 1;
    if (d->xtest != NULL && evaluate(s, d, &m))
        return 1;
    if (a->save != NULL && save(s->model, a->save))
        return 1;
    if (s->report)
        return s->report(a, d, &m);
    printf("test accuracy: %.1f%%\n", data_percent(m.accuracy));
    return 0;
}

int driver_main(const driver_spec *spec, int argc, char **argv)
{
    data_args args = { spec->model->epochs, 1, spec->limit, 0, NULL };   /* the defaults */
    driver_data d;
    int rc = data_parse_args(argc, argv, &args);

    if (rc)
        return rc < 0 ? 0 : 2;
    memset(&d, 0, sizeof d);
    rc = run(spec, &args, &d);
    release(&d);
    return rc;
}
