/* fit_internal.h — what fit.c, history.c and main.c share and nothing else
 * needs: metric names, atomic output files, weight files, the clock and
 * the progress bar.  Not installed; not part of the host library's API.
 */
#ifndef NNC_FIT_INTERNAL_H
#define NNC_FIT_INTERNAL_H

#include <stdio.h>

#include "nnc_host.h"

/* ---- metric names -------------------------------------------------------- */

/* The field of m that a metric name (len characters, no "val_" prefix)
 * names: loss, accuracy (also acc), precision, recall, f1, mae, mse; NULL
 * for any other name. */
const float *fit_metric_field(const nnc_rt_metrics *m, const char *name, size_t len);

/* The next name of a comma-separated list: skips blanks and empty items,
 * sets *name and *len and returns the rest of the list, or NULL at its
 * end.  for (p = list; (p = fit_metric_next(p, &n, &len)) != NULL; ) ... */
const char *fit_metric_next(const char *list, const char **name, size_t *len);

/* 1 when a larger value of the quantity is better (accuracy, precision,
 * recall, f1, with or without val_), else 0: Keras' mode "auto". */
int fit_metric_higher_is_better(const char *name);

/* The value of a monitor ("loss", "val_accuracy", ...) after epoch e;
 * 0 when e does not have it (a val_ name without validation data, an
 * unknown name). */
int fit_monitor_value(const nnc_fit_epoch *e, const char *monitor, double *value);

/* ---- files ---------------------------------------------------------------- */

/* Opens a temporary file next to path ("PATH.tmp.PID.N", created new) for writing; *tmp
 * gets its malloc'ed name.  NULL after printing why. */
FILE *fit_atomic_open(const char *path, char **tmp);
/* Closes f; when ok and every write succeeded, renames the temporary file
 * to path, else removes it.  Frees tmp.  0 when path now holds the data,
 * 1 after printing why. */
int  fit_atomic_close(FILE *f, char *tmp, const char *path, int ok);
/* Writes len bytes to path atomically.  0, or 1 after printing why. */
int  fit_write_file(const char *path, const void *data, size_t len);
/* Reads a whole file into a malloc'ed buffer.  0, or 1 after printing why. */
int  fit_read_file(const char *path, void **data, size_t *len);

/* The model's parameters from / to a file written by save().  0, or 1
 * after printing a message that names the file. */
int  fit_load_weights(const nnc_fit_model *model, const char *path);
int  fit_save_weights(const nnc_fit_model *model, const char *path);

/* ---- time and the progress bar --------------------------------------------- */

double fit_now(void);   /* seconds, monotonic */

/* An in-place Keras-like bar on stderr: "12/1875 [>.....] - ETA: 9s -
 * loss: 0.4123 - accuracy: 0.8512".  Draws nothing unless on is set (the
 * caller checks that stderr is a terminal). */
typedef struct fit_bar {
    int on, drawn;
    double start, last_draw;
    int batch;              /* samples per step, for the step count shown */
    const char *metrics;
} fit_bar;
void fit_bar_begin(fit_bar *b, int on, int batch, const char *metrics);
void fit_bar_draw(fit_bar *b, const nnc_rt_progress *p);
void fit_bar_end(fit_bar *b);

/* " - loss: 0.4123 - accuracy: 0.8512" for the metrics list (prefix "val_"
 * or ""), into f */
void fit_print_metrics(FILE *f, const nnc_rt_metrics *m, const char *metrics, const char *prefix);

#endif
