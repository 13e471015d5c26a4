/* data.c — shared helpers for the example drivers: IDX/Fashion-MNIST
 * loading, argument parsing, timing, one-hot labels, progress bar, epoch line.
 *
 * Design: driver-side code, so it is allowed to allocate, read and print, but
 * it never exits: every failure prints one message to stderr that names the
 * file (or argument) and what would be valid, and returns nonzero.  Files are
 * read through zlib's gzread, which also reads uncompressed files, and every
 * read is checked so a truncated or corrupt download gives a message, not a
 * crash or garbage data.
 */
#include "data.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

/* ---- command line ------------------------------------------------------- */

static void usage(FILE *f, const char *prog, const data_args *a)
{
    fprintf(f,
            "usage: %s [--epochs N] [--seed S] [--limit N] [--test-limit N] [--save FILE]\n"
            "  --epochs N      training epochs (default %ld)\n"
            "  --seed S        seed for initialisation and shuffling (default %llu)\n"
            "  --limit N       use only the first N training samples (default: all)\n"
            "  --test-limit N  use only the first N test samples (default: all)\n"
            "  --save FILE     write the trained parameters there (the model's save() buffer)\n",
            prog, a->epochs, (unsigned long long)a->seed);
}

/* strict non-negative integer: digits only, no sign, no overflow */
static int parse_u64(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    unsigned long long v;
    if (s == NULL || *s < '0' || *s > '9')
        return 1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return 1;
    *out = v;
    return 0;
}

int data_parse_args(int argc, char **argv, data_args *a)
{
    const char *prog = argc > 0 && argv[0] ? argv[0] : "example";
    data_args defaults = *a;
    int i;
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = NULL, *eq;
        char name[32];
        size_t len;
        unsigned long long v;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout, prog, &defaults);
            return -1;
        }
        eq = strchr(arg, '=');
        len = eq ? (size_t)(eq - arg) : strlen(arg);
        if (len >= sizeof name) len = sizeof name - 1;
        memcpy(name, arg, len);
        name[len] = '\0';
        if (strcmp(name, "--epochs") != 0 && strcmp(name, "--seed") != 0 &&
            strcmp(name, "--limit") != 0 && strcmp(name, "--test-limit") != 0 &&
            strcmp(name, "--save") != 0) {
            fprintf(stderr, "%s: unknown argument '%s'; valid: --epochs, --seed, --limit, --test-limit, --save\n",
                    prog, arg);
            usage(stderr, prog, &defaults);
            return 1;
        }
        if (eq) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            fprintf(stderr, "%s: %s needs a value\n", prog, name);
            usage(stderr, prog, &defaults);
            return 1;
        }
        if (strcmp(name, "--save") == 0) {
            a->save = val;
        } else if (strcmp(name, "--seed") == 0) {
            if (parse_u64(val, ULLONG_MAX, &v)) {
                fprintf(stderr, "%s: --seed expects a non-negative integer, got '%s'\n", prog, val);
                return 1;
            }
            a->seed = (uint64_t)v;
        } else {
            if (parse_u64(val, (unsigned long long)LONG_MAX, &v)) {
                fprintf(stderr, "%s: %s expects a non-negative integer, got '%s'\n", prog, name, val);
                return 1;
            }
            if (strcmp(name, "--epochs") == 0)
                a->epochs = (long)v;
            else if (strcmp(name, "--limit") == 0)
                a->limit = (long)v;
            else
                a->test_limit = (long)v;
        }
    }
    return 0;
}

/* ---- IDX files ---------------------------------------------------------- */

/* Reads exactly len bytes or explains why not. */
static int read_exact(gzFile f, const char *path, void *buf, size_t len, const char *what)
{
    unsigned char *p = buf;
    while (len > 0) {
        unsigned chunk = len > (1u << 20) ? (1u << 20) : (unsigned)len;
        int got = gzread(f, p, chunk);
        if (got < 0) {
            int errnum;
            const char *msg = gzerror(f, &errnum);
            size_t plen = strlen(path);
            /* zlib prefixes its message with the path we already print */
            if (strncmp(msg, path, plen) == 0 && msg[plen] == ':')
                msg += plen + 1 + (msg[plen + 1] == ' ');
            fprintf(stderr, "%s: cannot read the %s (corrupt file? re-download it): %s\n",
                    path, what, errnum == Z_ERRNO ? strerror(errno) : msg);
            return 1;
        }
        if (got == 0) {
            fprintf(stderr, "%s: file is truncated (ends inside the %s); re-download it\n",
                    path, what);
            return 1;
        }
        p += got;
        len -= (size_t)got;
    }
    return 0;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Opens path and checks the IDX magic: 0x00 0x00 0x08 (unsigned byte) ndims. */
static gzFile open_idx(const char *path, int ndims, uint32_t *dims)
{
    unsigned char hdr[4 + 4 * 3];
    gzFile f;
    int i;
    errno = 0;
    f = gzopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "%s: cannot open: %s%s\n", path,
                errno ? strerror(errno) : "out of memory",
                errno == ENOENT ? " (install dataset-fashion-mnist or set NNC_FASHION_DIR)" : "");
        return NULL;
    }
    if (read_exact(f, path, hdr, 4 + 4 * (size_t)ndims, "IDX header")) {
        gzclose(f);
        return NULL;
    }
    if (hdr[0] != 0 || hdr[1] != 0 || hdr[2] != 0x08 || hdr[3] != ndims) {
        fprintf(stderr, "%s: not an IDX%d unsigned-byte file (magic %02x %02x %02x %02x, "
                "expected 00 00 08 %02x)\n", path, ndims, hdr[0], hdr[1], hdr[2], hdr[3], ndims);
        gzclose(f);
        return NULL;
    }
    for (i = 0; i < ndims; i++)
        dims[i] = be32(hdr + 4 + 4 * i);
    return f;
}

int data_load_idx_images(const char *path, long limit, float **out, long *n,
                         int *rows, int *cols)
{
    uint32_t dims[3];
    unsigned char buf[1 << 16];
    gzFile f;
    size_t sample, total, done = 0;
    long count;
    float *x;

    *out = NULL;
    *n = 0;
    if ((f = open_idx(path, 3, dims)) == NULL)
        return 1;
    if (dims[1] == 0 || dims[2] == 0 || dims[1] > 65536 || dims[2] > 65536 ||
        (uint64_t)dims[1] * dims[2] > (1u << 24) || dims[0] > (uint32_t)INT32_MAX) {
        fprintf(stderr, "%s: implausible image dimensions %lu x %lu x %lu\n", path,
                (unsigned long)dims[0], (unsigned long)dims[1], (unsigned long)dims[2]);
        gzclose(f);
        return 1;
    }
    count = (long)dims[0];
    if (limit > 0 && limit < count)
        count = limit;
    sample = (size_t)dims[1] * dims[2];
    if ((uint64_t)count * sample > SIZE_MAX / sizeof(float)) {
        fprintf(stderr, "%s: %ld images do not fit in memory\n", path, count);
        gzclose(f);
        return 1;
    }
    total = (size_t)count * sample;
    x = data_alloc(total ? total : 1, sizeof *x, path);
    if (x == NULL) {
        gzclose(f);
        return 1;
    }
    while (done < total) {
        size_t i, len = total - done < sizeof buf ? total - done : sizeof buf;
        if (read_exact(f, path, buf, len, "pixel data")) {
            free(x);
            gzclose(f);
            return 1;
        }
        for (i = 0; i < len; i++)
            x[done + i] = (float)buf[i] * (1.0f / 255.0f);
        done += len;
    }
    gzclose(f);
    *out = x;
    *n = count;
    *rows = (int)dims[1];
    *cols = (int)dims[2];
    return 0;
}

int data_load_idx_labels(const char *path, long limit, int32_t **out, long *n)
{
    uint32_t dims[1];
    unsigned char buf[1 << 16];
    gzFile f;
    long count, done = 0;
    int32_t *y;

    *out = NULL;
    *n = 0;
    if ((f = open_idx(path, 1, dims)) == NULL)
        return 1;
    if (dims[0] > (uint32_t)INT32_MAX) {
        fprintf(stderr, "%s: implausible label count %lu\n", path, (unsigned long)dims[0]);
        gzclose(f);
        return 1;
    }
    count = (long)dims[0];
    if (limit > 0 && limit < count)
        count = limit;
    y = data_alloc(count ? (size_t)count : 1, sizeof *y, path);
    if (y == NULL) {
        gzclose(f);
        return 1;
    }
    while (done < count) {
        long i, len = count - done < (long)sizeof buf ? count - done : (long)sizeof buf;
        if (read_exact(f, path, buf, (size_t)len, "label data")) {
            free(y);
            gzclose(f);
            return 1;
        }
        for (i = 0; i < len; i++)
            y[done + i] = buf[i];
        done += len;
    }
    gzclose(f);
    *out = y;
    *n = count;
    return 0;
}

/* ---- Fashion-MNIST ------------------------------------------------------ */

const char *data_fashion_dir(void)
{
    const char *d = getenv("NNC_FASHION_DIR");
    return d && *d ? d : "/usr/share/datasets/fashion-mnist";
}

int data_load_fashion(const char *split, long limit, data_set *ds)
{
    char ipath[4096], lpath[4096];
    const char *dir = data_fashion_dir();
    long ny, i;
    int n1, n2;

    memset(ds, 0, sizeof *ds);
    n1 = snprintf(ipath, sizeof ipath, "%s/%s-images-idx3-ubyte.gz", dir, split);
    n2 = snprintf(lpath, sizeof lpath, "%s/%s-labels-idx1-ubyte.gz", dir, split);
    if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof ipath || (size_t)n2 >= sizeof lpath) {
        fprintf(stderr, "NNC_FASHION_DIR is too long: %s\n", dir);
        return 1;
    }
    if (data_load_idx_images(ipath, limit, &ds->x, &ds->n, &ds->rows, &ds->cols))
        return 1;
    if (data_load_idx_labels(lpath, limit, &ds->y, &ny)) {
        data_free(ds);
        return 1;
    }
    if (ny != ds->n) {
        fprintf(stderr, "%s: has %ld labels but %s has %ld images\n", lpath, ny, ipath, ds->n);
        data_free(ds);
        return 1;
    }
    for (i = 0; i < ny; i++) {
        if (ds->y[i] < 0 || ds->y[i] > 9) {
            fprintf(stderr, "%s: label %ld is %d; Fashion-MNIST labels are 0..9\n",
                    lpath, i, (int)ds->y[i]);
            data_free(ds);
            return 1;
        }
    }
    if (ds->n == 0) {
        fprintf(stderr, "%s: contains no samples\n", ipath);
        data_free(ds);
        return 1;
    }
    return 0;
}

void data_free(data_set *ds)
{
    free(ds->x);
    free(ds->y);
    memset(ds, 0, sizeof *ds);
}

/* ---- small utilities ---------------------------------------------------- */

double data_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void data_one_hot(const int32_t *labels, long n, int classes, float *out)
{
    long i;
    memset(out, 0, (size_t)n * (size_t)classes * sizeof *out);
    for (i = 0; i < n; i++)
        if (labels[i] >= 0 && labels[i] < classes)
            out[i * classes + labels[i]] = 1.0f;
}

void *data_alloc(size_t count, size_t size, const char *what)
{
    void *p = NULL;
    if (size == 0 || count <= SIZE_MAX / size) {
        size_t bytes = count * size;
        p = malloc(bytes > 0 ? bytes : 1);
    }
    if (p == NULL)
        fprintf(stderr, "out of memory (%s: %zu x %zu bytes)\n", what, count, size);
    return p;
}

void data_iota(int32_t *order, long n)
{
    long i;
    for (i = 0; i < n; i++)
        order[i] = (int32_t)i;
}

double data_percent(float fraction)
{
    return 100.0 * (double)fraction;
}

/* ---- progress ----------------------------------------------------------- */

void data_progress_begin(data_progress_state *p)
{
    p->start = data_now();
    p->last_draw = 0.0;
    p->tty = isatty(STDERR_FILENO);
    p->drawn = 0;
}

int data_progress(void *ctx, const nnc_rt_progress *pr)
{
    data_progress_state *p = ctx;
    long done = pr->done, total = pr->total;
    enum { WIDTH = 30 };
    char bar[WIDTH + 1];
    double now, elapsed;
    int filled, i;

    if (p == NULL || !p->tty || total <= 0)
        return 0;
    now = data_now();
    /* redraw at most ten times a second, but always draw the final state */
    if (done < total && p->drawn && now - p->last_draw < 0.1)
        return 0;
    p->last_draw = now;
    p->drawn = 1;
    elapsed = now - p->start;
    if (done > total) done = total;
    if (done < 0) done = 0;
    filled = (int)((double)done / (double)total * WIDTH);
    for (i = 0; i < WIDTH; i++)
        bar[i] = i < filled ? '=' : '.';
    if (filled > 0 && filled < WIDTH)
        bar[filled - 1] = '>';
    bar[WIDTH] = '\0';
    if (done < total && done > 0)
        fprintf(stderr, "\r%ld/%ld [%s] - ETA: %.0fs - loss: %.4f\033[K", done, total, bar,
                elapsed / (double)done * (double)(total - done), (double)pr->running.loss);
    else
        fprintf(stderr, "\r%ld/%ld [%s] - %.1fs - loss: %.4f\033[K", done, total, bar, elapsed,
                (double)pr->running.loss);
    fflush(stderr);
    return 0;
}

void data_progress_end(data_progress_state *p)
{
    if (p->tty && p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    p->drawn = 0;
}

/* ---- the epoch line ----------------------------------------------------- */

void data_print_epoch(long epoch, long epochs, const nnc_rt_metrics *m, int show,
                      double seconds)
{
    printf("Epoch %ld/%ld - loss: %.4f", epoch, epochs, (double)m->loss);
    if (show & DATA_SHOW_ACCURACY)  printf(" - accuracy: %.4f", (double)m->accuracy);
    if (show & DATA_SHOW_PRECISION) printf(" - precision: %.4f", (double)m->precision);
    if (show & DATA_SHOW_RECALL)    printf(" - recall: %.4f", (double)m->recall);
    if (show & DATA_SHOW_F1)        printf(" - f1: %.4f", (double)m->f1);
    if (show & DATA_SHOW_MAE)       printf(" - mae: %.4f", (double)m->mae);
    if (show & DATA_SHOW_MSE)       printf(" - mse: %.4f", (double)m->mse);
    printf(" - %.1fs\n", seconds);
    fflush(stdout);
}

void data_report_nan(long epoch)
{
    fflush(stdout);
    fprintf(stderr, "training stopped: loss became NaN at epoch %ld; try a lower learning rate\n",
            epoch);
}

/* ---- image reshaping ---------------------------------------------------- */

int data_pad_images(data_set *ds, int pad, int channels)
{
    long i;
    int r, c, k, rows, cols;
    size_t sample, total;
    float *x;

    if (pad < 0 || channels < 1 || ds->rows < 1 || ds->cols < 1 ||
        pad > (65536 - ds->rows) / 2 || pad > (65536 - ds->cols) / 2 || channels > 65536) {
        fprintf(stderr, "data_pad_images: cannot pad %d x %d images by %d to %d channel(s)\n",
                ds->rows, ds->cols, pad, channels);
        return 1;
    }
    rows = ds->rows + 2 * pad;
    cols = ds->cols + 2 * pad;
    sample = (size_t)rows * (size_t)cols * (size_t)channels;
    if (ds->n > 0 && (size_t)ds->n > SIZE_MAX / sizeof(float) / sample) {
        fprintf(stderr, "data_pad_images: %ld padded images do not fit in memory\n", ds->n);
        return 1;
    }
    total = ds->n > 0 ? (size_t)ds->n * sample : 1;
    x = data_alloc(total, sizeof *x, "padded images");
    if (x == NULL)
        return 1;
    memset(x, 0, total * sizeof *x);    /* the border */
    for (i = 0; i < ds->n; i++) {
        const float *src = ds->x + (size_t)i * (size_t)ds->rows * (size_t)ds->cols;
        float *dst = x + (size_t)i * sample;
        for (r = 0; r < ds->rows; r++) {
            float *row = dst + (size_t)(r + pad) * (size_t)cols * (size_t)channels;
            for (c = 0; c < ds->cols; c++) {
                float v = src[(size_t)r * (size_t)ds->cols + (size_t)c];
                float *p = row + (size_t)(c + pad) * (size_t)channels;
                for (k = 0; k < channels; k++)
                    p[k] = v;
            }
        }
    }
    free(ds->x);
    ds->x = x;
    ds->rows = rows;
    ds->cols = cols;
    return 0;
}

int data_save_params(const char *path, const void *buf, size_t len)
{
    /* a temporary beside the file, synced, then renamed over it: a crash
     * mid-write leaves the previous checkpoint whole */
    char tmp[4096];
    FILE *f;
    int ok;
    if (!path)
        return 0;
    if (len == 0) {
        fprintf(stderr, "cannot save the parameters: the buffer is too small\n");
        return 1;
    }
    if (snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        fprintf(stderr, "cannot write %s: the path is too long\n", path);
        return 1;
    }
    f = fopen(tmp, "wb");
    ok = f && fwrite(buf, 1, len, f) == len && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (f && fclose(f) != 0)
        ok = 0;
    if (ok && rename(tmp, path) != 0)
        ok = 0;
    if (!ok) {
        fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
        remove(tmp);
    }
    return !ok;
}
