/* data.h — helpers shared by the example drivers (examples/NAME/main.c).
 *
 * Design: this is driver code, not generated code, so it may allocate, read
 * files and print.  Every function that can fail prints one clear message to
 * stderr naming what went wrong (and the file, for I/O) and returns nonzero;
 * nothing here calls exit(), so the driver decides how to stop.  Progress
 * bars go to stderr and only when stderr is a terminal, so logs and the
 * stdout that tests/examples.sh parses stay clean.
 */
#ifndef NNC_EXAMPLES_DATA_H
#define NNC_EXAMPLES_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "nnc_rt.h"

/* ---- command line ------------------------------------------------------- */
typedef struct data_args {
    long epochs;        /* --epochs N      (driver sets its default first) */
    uint64_t seed;      /* --seed S        (default 1) */
    long limit;         /* --limit N       use only the first N training samples; 0 = all */
    long test_limit;    /* --test-limit N  use only the first N test samples; 0 = all */
    const char *save;   /* --save FILE     where to write the trained parameters, or NULL */
} data_args;

/* Parses --epochs/--seed/--limit/--test-limit (also --name=value) into *a,
 * keeping the values already in *a as defaults.  Returns 0 on success,
 * -1 after printing usage for --help/-h (the driver should exit 0), and
 * 1 after printing an error and the usage (the driver should exit 2). */
int data_parse_args(int argc, char **argv, data_args *a);

/* ---- Fashion-MNIST / IDX files ----------------------------------------- */
typedef struct data_set {
    float *x;           /* n * rows * cols pixels in [0, 1], row-major */
    int32_t *y;         /* n class indices */
    long n;
    int rows, cols;
} data_set;

/* Folder holding {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz: the
 * environment variable NNC_FASHION_DIR if set, else the Debian package's. */
const char *data_fashion_dir(void);

/* Loads split "train" or "t10k" from data_fashion_dir(), keeping at most
 * limit samples (limit <= 0: all).  Checks magic numbers, dimensions, that
 * images and labels agree in count and that labels are 0..9.  On failure
 * *ds is left empty (safe to data_free). */
int data_load_fashion(const char *split, long limit, data_set *ds);

/* Gzipped (or plain) IDX files.  idx3 images -> floats in [0,1]
 * (*out is malloc'ed, n * rows * cols); idx1 labels -> int32. */
int data_load_idx_images(const char *path, long limit, float **out, long *n,
                         int *rows, int *cols);
int data_load_idx_labels(const char *path, long limit, int32_t **out, long *n);

void data_free(data_set *ds);

/* ---- small utilities ---------------------------------------------------- */
/* Seconds from a monotonic clock (only differences are meaningful). */
double data_now(void);

/* out[n, classes] = one-hot rows of labels; labels outside 0..classes-1
 * give an all-zero row. */
void data_one_hot(const int32_t *labels, long n, int classes, float *out);

/* malloc that prints "out of memory (<what>)" and returns NULL on failure. */
void *data_alloc(size_t count, size_t size, const char *what);

/* order[i] = i */
void data_iota(int32_t *order, long n);

/* Writes len bytes of buf (a model's save() buffer) to path; path NULL
 * does nothing, len 0 (save() found the buffer too small) is an error.
 * Returns 0, or prints why and returns 1. */
int data_save_params(const char *path, const void *buf, size_t len);

/* Percentage with one decimal, e.g. accuracy 0.879 -> 87.9 */
double data_percent(float fraction);

/* ---- progress ------------------------------------------------------------
 * Pass data_progress as the generated *_progress_fn with a data_progress_state
 * as ctx.  Draws a Keras-like in-place bar on stderr with the pass's running
 * mean loss
 *     313/313 [=========================>....] - 3s - loss: 0.4950
 * only when stderr is a tty; never asks to stop.  Call data_progress_end
 * before printing the epoch line so the bar does not mix with it. */
typedef struct data_progress_state {
    double start;       /* data_now() when the pass began */
    double last_draw;
    int tty;
    int drawn;
} data_progress_state;

void data_progress_begin(data_progress_state *p);
int  data_progress(void *ctx, const nnc_rt_progress *pr);
void data_progress_end(data_progress_state *p);

/* ---- the epoch line ------------------------------------------------------
 * stdout: "Epoch 1/5 - loss: 0.4950 - accuracy: 0.8230 - 6.1s".  show is a
 * mask of the metrics to print after the loss. */
enum {
    DATA_SHOW_ACCURACY = 1, DATA_SHOW_PRECISION = 2, DATA_SHOW_RECALL = 4,
    DATA_SHOW_F1 = 8, DATA_SHOW_MAE = 16, DATA_SHOW_MSE = 32
};
void data_print_epoch(long epoch, long epochs, const nnc_rt_metrics *m, int show,
                      double seconds);

/* stderr: "training stopped: loss became NaN at epoch N; try a lower learning rate" */
void data_report_nan(long epoch);

/* ---- image reshaping ------------------------------------------------------
 * Pads every rows x cols image of ds by pad zero pixels on each side and
 * replicates it into channels channels, channels-last: afterwards ds->x holds
 * n * (rows + 2 pad) * (cols + 2 pad) * channels floats (pixel (r, c) of
 * sample i, channel k at ((i * rows' + r) * cols' + c) * channels + k) and
 * ds->rows/cols are the padded sizes; the floats per sample are
 * ds->rows * ds->cols * channels.  Fashion-MNIST's 28x28 with pad 2 and
 * channels 3 is the 32x32x3 input of a CIFAR-shaped model.  On failure
 * (out of memory, bad sizes) prints why, returns nonzero and leaves ds
 * unchanged. */
int data_pad_images(data_set *ds, int pad, int channels);

#endif
