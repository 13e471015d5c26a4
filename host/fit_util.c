/* fit_util.c — metric names, atomic output files, weight files, the clock
 * and the progress bar, shared by the training loop (fit.c), the history
 * files (history.c) and nnc fit's program (main.c).
 *
 * Design: every output goes through fit_atomic_open / fit_atomic_close, so
 * an output file either holds the complete new contents or is untouched;
 * the temporary file is created new (O_EXCL) under a name with the process id
 * and a serial number, and synced before the rename replaces the old file.
 */
#include "fit_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- metric names ---------------------------------------------------------- */

static int name_is(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && memcmp(name, want, len) == 0;
}

const float *fit_metric_field(const nnc_rt_metrics *m, const char *name, size_t len)
{
    if (name_is(name, len, "loss")) return &m->loss;
    if (name_is(name, len, "accuracy") || name_is(name, len, "acc")) return &m->accuracy;
    if (name_is(name, len, "precision")) return &m->precision;
    if (name_is(name, len, "recall")) return &m->recall;
    if (name_is(name, len, "f1")) return &m->f1;
    if (name_is(name, len, "mae")) return &m->mae;
    if (name_is(name, len, "mse")) return &m->mse;
    return NULL;
}

const char *fit_metric_next(const char *list, const char **name, size_t *len)
{
    if (list == NULL)
        return NULL;
    for (;;) {
        const char *end;
        while (*list == ' ' || *list == '\t' || *list == ',')
            list++;
        if (*list == '\0')
            return NULL;
        end = list;
        while (*end != '\0' && *end != ',')
            end++;
        *name = list;
        *len = (size_t)(end - list);
        while (*len > 0 && (list[*len - 1] == ' ' || list[*len - 1] == '\t'))
            (*len)--;
        if (*len > 0)
            return end;
        list = end;
    }
}

int fit_metric_higher_is_better(const char *name)
{
    size_t len;
    if (strncmp(name, "val_", 4) == 0)
        name += 4;
    len = strlen(name);
    return name_is(name, len, "accuracy") || name_is(name, len, "acc") ||
           name_is(name, len, "precision") || name_is(name, len, "recall") ||
           name_is(name, len, "f1");
}

int fit_monitor_value(const nnc_fit_epoch *e, const char *monitor, double *value)
{
    const nnc_rt_metrics *m = &e->train;
    const float *f;
    if (monitor == NULL)
        return 0;
    if (strncmp(monitor, "val_", 4) == 0) {
        if (!e->has_val)
            return 0;
        m = &e->val;
        monitor += 4;
    }
    f = fit_metric_field(m, monitor, strlen(monitor));
    if (f == NULL)
        return 0;
    *value = *f;
    return 1;
}

/* ---- files ---------------------------------------------------------------- */

FILE *fit_atomic_open(const char *path, char **tmp)
{
    static long serial;
    size_t len = strlen(path) + 64;
    FILE *f = NULL;
    int fd = -1, tries;
    *tmp = malloc(len);
    if (*tmp == NULL) {
        fprintf(stderr, "%s: out of memory\n", path);
        return NULL;
    }
    /* a new file of our own: never follow or reuse what is there */
    for (tries = 0; fd < 0 && tries < 100; tries++) {
        snprintf(*tmp, len, "%s.tmp.%ld.%ld", path, (long)getpid(), serial++);
        fd = open(*tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd >= 0 && (f = fdopen(fd, "wb")) == NULL) {
        close(fd);
        remove(*tmp);
    }
    if (f == NULL) {
        fprintf(stderr, "%s: cannot write: %s\n", path, strerror(errno));
        free(*tmp);
        *tmp = NULL;
    }
    return f;
}

int fit_atomic_close(FILE *f, char *tmp, const char *path, int ok)
{
    int err = fflush(f) != 0 || ferror(f);
    int rc = 0;
    if (ok && !err && fsync(fileno(f)) != 0)   /* on disk before it replaces the old file */
        err = 1;
    if (fclose(f) != 0)
        err = 1;
    if (ok && err) {
        fprintf(stderr, "%s: write failed: %s\n", path, strerror(errno));
        ok = 0;
    }
    if (ok && rename(tmp, path) != 0) {
        fprintf(stderr, "%s: cannot rename %s to it: %s\n", path, tmp, strerror(errno));
        ok = 0;
    }
    if (!ok) {
        remove(tmp);
        rc = 1;
    }
    free(tmp);
    return rc;
}

int fit_write_file(const char *path, const void *data, size_t len)
{
    char *tmp;
    FILE *f = fit_atomic_open(path, &tmp);
    if (f == NULL)
        return 1;
    return fit_atomic_close(f, tmp, path, fwrite(data, 1, len, f) == len);
}

int fit_read_file(const char *path, void **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0;
    *data = NULL;
    *len = 0;
    if (f == NULL) {
        fprintf(stderr, "%s: cannot open: %s\n", path, strerror(errno));
        return 1;
    }
    for (;;) {
        size_t got;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            unsigned char *nb = ncap > cap ? realloc(buf, ncap) : NULL;
            if (nb == NULL) {
                fprintf(stderr, "%s: out of memory\n", path);
                free(buf);
                fclose(f);
                return 1;
            }
            buf = nb;
            cap = ncap;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        fprintf(stderr, "%s: read failed: %s\n", path, strerror(errno));
        free(buf);
        fclose(f);
        return 1;
    }
    fclose(f);
    *data = buf;
    *len = n;
    return 0;
}

int fit_load_weights(const nnc_fit_model *model, const char *path)
{
    void *buf;
    size_t len;
    int rc;
    if (fit_read_file(path, &buf, &len))
        return 1;
    rc = model->load(model->m, buf, len);
    free(buf);
    if (rc == NNC_RT_ERR_OTHER_MODEL) {
        fprintf(stderr, "%s: the parameters of another model, not of %s\n", path,
                model->name ? model->name : "this one");
        return 1;
    }
    if (rc != 0) {
        fprintf(stderr, "%s: not a parameter file written by --save (or damaged: %zu bytes, "
                "%zu expected)\n", path, len, model->save_bytes);
        return 1;
    }
    return 0;
}

int fit_save_weights(const nnc_fit_model *model, const char *path)
{
    void *buf = malloc(model->save_bytes ? model->save_bytes : 1);
    size_t n;
    int rc;
    if (buf == NULL) {
        fprintf(stderr, "%s: out of memory for %zu bytes of parameters\n", path, model->save_bytes);
        return 1;
    }
    n = model->save(model->m, buf, model->save_bytes);
    if (n == 0) {
        fprintf(stderr, "%s: the model did not save its parameters\n", path);
        free(buf);
        return 1;
    }
    rc = fit_write_file(path, buf, n);
    free(buf);
    return rc;
}

/* ---- time and the progress bar --------------------------------------------- */

double fit_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void fit_print_metrics(FILE *f, const nnc_rt_metrics *m, const char *metrics, const char *prefix)
{
    const char *p = metrics, *name;
    size_t len;
    fprintf(f, " - %sloss: %.4f", prefix, (double)m->loss);
    while ((p = fit_metric_next(p, &name, &len)) != NULL) {
        const float *v = fit_metric_field(m, name, len);
        if (v != NULL && !name_is(name, len, "loss"))
            fprintf(f, " - %s%.*s: %.4f", prefix, (int)len, name, (double)*v);
    }
}

void fit_bar_begin(fit_bar *b, int on, int batch, const char *metrics)
{
    b->on = on;
    b->drawn = 0;
    b->start = fit_now();
    b->last_draw = 0.0;
    b->batch = batch > 0 ? batch : 1;
    b->metrics = metrics;
}

void fit_bar_draw(fit_bar *b, const nnc_rt_progress *p)
{
    enum { WIDTH = 30 };
    char bar[WIDTH + 1];
    long done, total, steps, step;
    double now, elapsed;
    int filled, i;

    if (!b->on || p->total <= 0)
        return;
    now = fit_now();
    /* at most ten times a second, but always the final state */
    if (p->done < p->total && b->drawn && now - b->last_draw < 0.1)
        return;
    b->last_draw = now;
    b->drawn = 1;
    elapsed = now - b->start;
    total = p->total;
    done = p->done < 0 ? 0 : p->done > total ? total : p->done;
    steps = (total + b->batch - 1) / b->batch;
    step = (done + b->batch - 1) / b->batch;
    filled = (int)((double)done / (double)total * WIDTH);
    for (i = 0; i < WIDTH; i++)
        bar[i] = i < filled ? '=' : '.';
    if (filled < WIDTH)
        bar[filled] = '>';
    bar[WIDTH] = '\0';
    fprintf(stderr, "\r%*ld/%ld [%s]", (int)snprintf(NULL, 0, "%ld", steps), step, steps, bar);
    if (done < total && done > 0)
        fprintf(stderr, " - ETA: %.0fs", elapsed / (double)done * (double)(total - done));
    else
        fprintf(stderr, " - %.1fs", elapsed);
    fit_print_metrics(stderr, &p->running, b->metrics, "");
    fputs("\033[K", stderr);
    fflush(stderr);
}

void fit_bar_end(fit_bar *b)
{
    if (b->on && b->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    b->drawn = 0;
}

/* here rather than in data.c: the loop needs it without the readers (a test
 * that gives the loop arrays in memory links no file reader) */
long nnc_host_array_sample_size(const nnc_host_array *a)
{
    long n = 1;
    int d;
    for (d = 1; d < a->ndim; d++)
        n *= a->shape[d];
    return n;
}
