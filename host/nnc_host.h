/* nnc_host.h — the host library (libnnc_host.a): data files and the
 * Keras-style training loop behind `nnc fit`, `nnc evaluate` and
 * `nnc predict`.
 *
 * Design: this is host code, never linked into firmware: it may allocate,
 * read and write files, print and catch signals.  It knows nothing of any
 * one model: a generated model reaches it through an nnc_fit_model, a table
 * of its entry points and sizes that `nnc fit --emit-main` writes next to
 * the model.  Every function that can fail prints one message to stderr
 * that names the file and the place (byte offset, row and column, member)
 * and what was expected, then returns nonzero; nothing here calls exit().
 * Output files (checkpoints, saved weights, history, plots, predictions)
 * are written to a temporary name and renamed, so a failure never leaves a
 * half-written file.
 */
#ifndef NNC_HOST_H
#define NNC_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "nnc_rt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- arrays and data files (data.c) -------------------------------------
 *
 * Formats, chosen by the file name:
 *   NAME.npy            NumPy's format, version 1-3, C order (Fortran order
 *                       refused), little- or big-endian; dtypes f2 f4 f8
 *                       i1 i2 i4 i8 u1 u2 u4 u8 b1
 *   NAME.npz            a zip of .npy members, stored or deflated (np.savez,
 *                       np.savez_compressed); `member` names the array
 *   NAME.csv            a header row of column names, then one sample per
 *                       row, numeric cells only; `member` names one column
 *                       (the label column) to take, or NULL for all columns
 *                       but the ones listed in `exclude` (comma-separated)
 *   NAME*idx*[.gz]      IDX (magic 0x0000080X), gzipped or not; u1 images
 *                       are scaled to [0, 1] as every MNIST loader does
 *   NAME.f32 / NAME.raw raw little-endian float32; the shape comes from
 *                       the caller (shape_hint), the sample count from the size
 * Values are converted to float32 (NNC_HOST_F32) or, for integer targets,
 * to int32 (NNC_HOST_I32: a non-integral or out-of-range value is an error
 * naming the element). */
typedef enum nnc_host_dtype { NNC_HOST_F32 = 0, NNC_HOST_I32 = 1 } nnc_host_dtype;

#define NNC_HOST_MAX_DIMS 8
typedef struct nnc_host_array {
    nnc_host_dtype dtype;            /* of data */
    int ndim;                        /* shape[0] is the sample count */
    long shape[NNC_HOST_MAX_DIMS];
    void *data;                      /* malloc'ed: float or int32_t, row-major */
    char stored[16];                 /* the file's own dtype, for messages ("<f8", "u1", "csv") */
} nnc_host_array;

/* Reads one array.  member: see above (NULL for .npy/.idx/.f32).  want:
 * the element type to convert to.  shape_hint: for raw files, the extents
 * of one sample (count dims), else NULL.  On failure *a is left empty. */
int  nnc_host_array_load(const char *path, const char *member, const char *exclude,
                         nnc_host_dtype want, const long *shape_hint, int dims,
                         nnc_host_array *a);
void nnc_host_array_free(nnc_host_array *a);
/* elements per sample: the product of shape[1..ndim-1] (1 when ndim == 1) */
long nnc_host_array_sample_size(const nnc_host_array *a);
/* Writes a float32 .npy (version 1.0) atomically. */
int  nnc_host_npy_save(const char *path, const float *data, const long *shape, int ndim);

/* What a model reads: the sizes its features and labels must have. */
typedef struct nnc_host_io {
    long input_size;        /* elements per sample of x */
    int input_ids;          /* > 0: x holds integer ids in [0, input_ids) (embedding input) */
    long label_size;        /* elements per sample of y (1 for sparse labels) */
    int sparse_labels;      /* y holds class indices in [0, classes) */
    int classes;            /* the model's output size per sample */
    const char *input_name; /* the model's input and label names, also tried as npz members */
    const char *label_name;
} nnc_host_io;

typedef struct nnc_host_xy {
    nnc_host_array x, y;    /* y empty (data NULL) when no labels were given */
    long n;
} nnc_host_xy;

/* Features and labels, from one file or two:
 *   x_path alone, .npz: members "x" and "y" (or io->input_name / label_name)
 *   x_path alone, .csv: label_column is the label, the other columns x
 *   x_path and y_path:  one array each (any formats above)
 * Checks the dtype and the per-sample size against io, labels against
 * [0, classes) when sparse, and that x and y have the same sample count;
 * a mismatch names the file, the expected and the found shape.
 * need_labels = 0 lets predict read features only. */
int  nnc_host_xy_load(const char *x_path, const char *y_path, const char *label_column,
                      const nnc_host_io *io, int need_labels, nnc_host_xy *d);
void nnc_host_xy_free(nnc_host_xy *d);

/* ---- the training loop (fit.c) ------------------------------------------ */

/* A generated model's entry points, as `nnc fit --emit-main` binds them. */
typedef struct nnc_fit_model {
    const char *name;
    void *m;                             /* the model's state struct */
    nnc_host_io io;
    int batch;                           /* the model's compile-time batch */
    long epochs;                         /* the train block's epochs */
    float learning_rate;                 /* the train block's rate (the schedule's start) */
    const char *metrics;                 /* the train block's metrics, comma-separated ("accuracy") */
    size_t save_bytes;
    void   (*init)(void *m, uint64_t seed);
    int    (*train_epoch)(void *m, const void *x, const void *y, long n, const int32_t *order,
                          nnc_rt_metrics *out, nnc_rt_progress_fn cb, void *ctx);
    int    (*evaluate)(void *m, const void *x, const void *y, long n,
                       nnc_rt_metrics *out, nnc_rt_progress_fn cb, void *ctx);
    void   (*predict)(void *m, const void *x, float *y, long n);
    size_t (*save)(const void *m, void *buf, size_t cap);
    int    (*load)(void *m, const void *buf, size_t len);
    void   (*set_learning_rate)(void *m, float lr);
} nnc_fit_model;

/* Keras' names and defaults.  monitor: "loss", "val_loss", "accuracy",
 * "val_accuracy", ... (any metric, val_ prefixed for the validation set);
 * mode 0 = auto (max for accuracy/precision/recall/f1, min otherwise). */
typedef struct nnc_fit_early_stopping {
    int on;
    const char *monitor;        /* "val_loss" */
    double min_delta;           /* 0 */
    long patience;              /* 0 */
    int mode;                   /* 0 auto, -1 min, +1 max */
    int restore_best_weights;   /* 0 */
    long start_from_epoch;      /* 0 */
} nnc_fit_early_stopping;

typedef struct nnc_fit_checkpoint {
    const char *path;           /* NULL: off; "{epoch}" in it is replaced by the epoch number */
    const char *monitor;        /* "val_loss" */
    int save_best_only;         /* 0 */
    int mode;
} nnc_fit_checkpoint;

typedef struct nnc_fit_reduce_lr {
    int on;
    const char *monitor;        /* "val_loss" */
    double factor;              /* 0.1 */
    long patience;              /* 10 */
    int mode;
    double min_delta;           /* 1e-4 */
    long cooldown;              /* 0 */
    double min_lr;              /* 0 */
} nnc_fit_reduce_lr;

typedef enum nnc_fit_schedule_kind {
    NNC_FIT_CONSTANT = 0,
    NNC_FIT_EXPONENTIAL_DECAY,  /* lr0 * rate^(step/decay_steps), floor() of the exponent if staircase */
    NNC_FIT_COSINE_DECAY,       /* linear warmup from lr0 to warmup_target over warmup_steps, then
                                   cosine from there to alpha * that over decay_steps */
    NNC_FIT_PIECEWISE_CONSTANT  /* values[i] while step <= boundaries[i] (Keras' rule), values[nb] after */
} nnc_fit_schedule_kind;

typedef struct nnc_fit_schedule {
    nnc_fit_schedule_kind kind;
    double initial;             /* 0: the model's learning_rate */
    long decay_steps;
    double decay_rate;
    int staircase;
    double alpha;               /* cosine: final rate as a fraction */
    long warmup_steps;
    double warmup_target;       /* 0: no warmup */
    long nboundaries;           /* piecewise: boundaries[nboundaries], values[nboundaries + 1] */
    const long *boundaries;
    const double *values;
} nnc_fit_schedule;

typedef struct nnc_fit_config {
    long epochs;                /* 0: the model's */
    uint64_t seed;              /* init and shuffling; 1 */
    int shuffle;                /* 1: a new seeded permutation every epoch */
    double validation_split;    /* the last fraction of the training data, taken before shuffling (Keras) */
    const char *weights;        /* start from these saved parameters instead of init, or NULL */
    const char *save;           /* the final (or restored best) parameters, or NULL */
    const char *history;        /* history.csv: epoch, loss, metrics, val_*, lr */
    const char *plot;           /* curves.svg */
    int verbose;                /* 0 silent, 1 progress bar + epoch lines, 2 epoch lines only */
    nnc_fit_early_stopping early_stopping;
    nnc_fit_checkpoint checkpoint;
    nnc_fit_reduce_lr reduce_lr;
    nnc_fit_schedule schedule;
} nnc_fit_config;

/* Keras' defaults (above) for every field. */
void nnc_fit_config_defaults(nnc_fit_config *c);

/* One epoch's numbers, as history.csv and the plot show them. */
typedef struct nnc_fit_epoch {
    long epoch;                 /* 1-based */
    nnc_rt_metrics train, val;  /* val only when has_val */
    int has_val;
    float learning_rate;        /* at the epoch's end: the rate its last step used */
    double seconds;
} nnc_fit_epoch;

typedef struct nnc_fit_history {
    nnc_fit_epoch *epochs;      /* malloc'ed */
    long count;
    long best_epoch;            /* by the early-stopping / checkpoint monitor, 0 if none */
    int stopped_early, interrupted;
} nnc_fit_history;

/* The learning rate under s after `step` optimizer steps, i.e. the rate of
 * the step that follows (0 for the first step: Keras' schedule(iterations)),
 * starting from lr0 when s->initial is 0. */
double nnc_fit_schedule_rate(const nnc_fit_schedule *s, double lr0, long step);

/* Trains model on train (validating on val when val->n > 0) as Keras'
 * fit does; fills *h.  Ctrl-C stops after the current batch and keeps
 * the best weights when restore_best_weights is set.  0 on success,
 * also after Ctrl-C (h->interrupted) or early stopping; 1 after printing
 * why (bad data or options, a NaN loss, an unwritable checkpoint), with
 * the epochs completed so far in *h. */
int  nnc_fit_run(const nnc_fit_model *model, const nnc_fit_config *cfg,
                 const nnc_host_xy *train, const nnc_host_xy *val, nnc_fit_history *h);
void nnc_fit_history_free(nnc_fit_history *h);

/* history.csv and the SVG curves (history.c), each written atomically. */
int  nnc_fit_history_csv(const char *path, const nnc_fit_history *h, const char *metrics);
int  nnc_fit_history_svg(const char *path, const nnc_fit_history *h, const char *metrics);

/* The whole program behind `nnc fit|evaluate|predict` (main.c): argv[1] is
 * the verb, the options override *defaults (the .nn train block's).
 * Returns the process exit status: 0, 1 for bad input (data, options), 2
 * for a usage error. */
int  nnc_host_main(const nnc_fit_model *model, const nnc_fit_config *defaults, int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
