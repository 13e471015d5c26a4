/* driver.h — the one example driver: options, data, the epoch loop with
 * shuffling, progress bars, NaN and error handling, evaluation, --save and
 * the result line, shared by every examples/NAME/main.c.
 *
 * Design: the generated entry points differ between models only in their
 * prefix and in the pointer types they take, so an example wraps its model
 * once with DRIVER_MODEL (one-line static adapters that take void pointers,
 * collected in a driver_model) and hands driver_main a driver_spec: that
 * model, where its data come from, what its epoch line shows and how its
 * result line reads.  What an example does differently (synthetic data, a
 * text corpus, a plot, a comparison with PyTorch) is a hook in its own
 * main.c; the sequence of calls into the generated code is the driver's
 * alone, so every example trains the same way: init(seed), then per epoch
 * shuffle with seed * 1000 + epoch and train_epoch, then evaluate.
 * Like data.h this is driver code: it allocates and prints, never exits.
 */
#ifndef NNC_EXAMPLES_DRIVER_H
#define NNC_EXAMPLES_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include "data.h"
#include "nnc_rt.h"

/* the generated NAME_progress_fn, whatever NAME is: nnc_rt_progress_fn */
typedef nnc_rt_progress_fn driver_progress_fn;

/* A generated model's entry points, bound to one static model state. */
typedef struct driver_model {
    long epochs;        /* NAME_EPOCHS: the default of --epochs */
    int err_nan;        /* NAME_ERR_NAN; NAME_OK is 0 */
    size_t save_bytes;  /* NAME_SAVE_BYTES */
    void (*init)(uint64_t seed);
    int (*train_epoch)(const void *x, const void *y, long n, const int32_t *order,
                       nnc_rt_metrics *m, driver_progress_fn fn, void *ctx);
    int (*evaluate)(const void *x, const void *y, long n, nnc_rt_metrics *m,
                    driver_progress_fn fn, void *ctx);
    size_t (*save)(void *buf, size_t cap);
} driver_model;

/* Defines `static const driver_model p_driver` for the generated model with
 * prefix p (p_init, p_train_epoch...) and macro prefix P (P_EPOCHS...),
 * whose state is the static variable `state`:
 *     static fashion_mlp_t model;
 *     DRIVER_MODEL(fashion_mlp, FASHION_MLP, model);
 * The adapters only convert pointers, so the calls are the generated ones. */
#define DRIVER_MODEL(p, P, state)                                                      \
    static void p##_driver_init(uint64_t seed) { p##_init(&(state), seed); }          \
    static int p##_driver_train(const void *x, const void *y, long n,                  \
                                const int32_t *order, nnc_rt_metrics *m,               \
                                driver_progress_fn fn, void *ctx)                      \
    {                                                                                  \
        return p##_train_epoch(&(state), x, y, n, order, m, fn, ctx);                  \
    }                                                                                  \
    static int p##_driver_evaluate(const void *x, const void *y, long n,               \
                                   nnc_rt_metrics *m, driver_progress_fn fn, void *ctx) \
    {                                                                                  \
        return p##_evaluate(&(state), x, y, n, m, fn, ctx);                            \
    }                                                                                  \
    static size_t p##_driver_save(void *buf, size_t cap)                               \
    {                                                                                  \
        return p##_save(&(state), buf, cap);                                           \
    }                                                                                  \
    static const driver_model p##_driver = {                                           \
        P##_EPOCHS, P##_ERR_NAN, P##_SAVE_BYTES, p##_driver_init, p##_driver_train,    \
        p##_driver_evaluate, p##_driver_save }

/* The data of one run, filled from the spec's arrays or by its load hook
 * (see driver_spec).  An x the hook leaves NULL is taken with its count from
 * the Fashion-MNIST set train or test, a y left NULL from the same set, so a
 * hook that only loads or reshapes those sets sets nothing else.  No test
 * set at all (xtest NULL, test empty) skips the evaluation. */
typedef struct driver_data {
    const void *xtrain, *ytrain;
    long ntrain;
    const void *xtest, *ytest;
    long ntest;
    data_set train, test;   /* freed by driver_main */
    void *owned[8];         /* driver_alloc's and driver_keep's blocks, freed by driver_main */
} driver_data;

/* Built-in data: arrays the example owns, ntrain and ntest samples (xtest
 * NULL: no test set), cut to the first --limit and --test-limit. */
typedef struct driver_arrays {
    void *xtrain, *ytrain;
    long ntrain;
    void *xtest, *ytest;
    long ntest;
} driver_arrays;

/* fills n samples of x and y from r */
typedef void (*driver_make_fn)(nnc_rt_rng *r, void *x, void *y, long n);

/* draw progress bars (on a terminal) during training / evaluation */
enum { DRIVER_BARS_TRAIN = 1, DRIVER_BARS_EVAL = 2 };

/* What an example is.  Zero fields take the defaults noted. */
typedef struct driver_spec {
    const driver_model *model;
    int show;           /* DATA_SHOW_* mask: the metrics on the epoch line */
    int bars;           /* DRIVER_BARS_* mask: 0, no bars */
    int in_order;       /* 1: train in stored order, never shuffle */
    long limit;         /* the default of --limit; 0, all */
    /* Built-in data: make fills the training set of arrays, then its test
     * set, from one generator seeded with data_seed -- a fixed seed, so
     * --seed changes the initialisation and the shuffling, never the data. */
    driver_make_fn make;
    uint64_t data_seed;
    driver_arrays arrays;
    /* Or: fills *d from the options; returns nonzero after printing why.
     * Neither make nor load: driver_load_fashion. */
    int (*load)(const data_args *a, driver_data *d);
    /* after init, before the first epoch; returns nonzero to stop (exit 1) */
    int (*start)(const driver_data *d);
    /* prints the result as the last stdout line and returns the exit code;
     * m is the evaluation's metrics (without a test set the last epoch's,
     * zero without an epoch).  NULL: "test accuracy: X%" */
    int (*report)(const data_args *a, const driver_data *d, const nnc_rt_metrics *m);
} driver_spec;

/* The whole program: parses the options (data_parse_args), loads, trains,
 * evaluates, writes --save and reports.  Returns main's exit code: 0, 1 on
 * failure (after one message on stderr), 2 on a usage error. */
int driver_main(const driver_spec *spec, int argc, char **argv);

/* Fashion-MNIST into d->train and d->test, at most a->limit / a->test_limit
 * samples.  Returns nonzero after printing why. */
int driver_load_fashion(const data_args *a, driver_data *d);

/* data_alloc whose block driver_main frees after the run */
void *driver_alloc(driver_data *d, size_t count, size_t size, const char *what);

/* hands the malloc'ed block p (may be NULL) to driver_main to free after the
 * run; returns p, or NULL after freeing it when no slot is left */
void *driver_keep(driver_data *d, void *p);

#endif
