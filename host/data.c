/* data.c — the host library's data files: the format chosen by the file
 * name, the conversion of stored elements to float32 / int32, raw float32
 * files, and features + labels checked against what a model reads.
 *
 * Rules (the per-format ones are at the top of npy.c, csv.c and idx.c):
 *   - the format comes from the name, case-insensitively: *.npy, *.npz,
 *     *.csv, *.f32 / *.raw, else a base name containing "idx" (IDX, gzipped
 *     or not); anything else is refused naming the formats known.
 *   - to float32: f2 and f8 are rounded to nearest (a finite f8 beyond
 *     float32's range is refused, not turned into inf); integers are
 *     rounded to nearest; bool is 0 / 1; NaN and inf pass through.
 *   - to int32: integers must lie in int32's range; floats must be
 *     integral and in range (NaN, inf, 2.5, 3e9 are refused naming the
 *     element); bool is 0 / 1.
 *   - raw float32 (.f32 / .raw) is little-endian; shape_hint gives one
 *     sample's extents, the sample count is the file size divided by a
 *     sample's bytes (a remainder is refused).
 *   - a loader takes no member it cannot use (a member for a .npy, an
 *     exclude list outside CSV): silently ignoring one could hide a typo.
 * Every failure prints one message "FILE: [member 'M': ]PLACE: expected
 * X, found Y" and leaves the output zeroed.
 */
#include "data_internal.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- messages, shapes ----------------------------------------------------- */

void host_err(const host_src *s, const char *fmt, ...)
{
    va_list ap;
    char msg[1024];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (s->member)
        fprintf(stderr, "%s: member '%s': %s\n", s->path, s->member, msg);
    else
        fprintf(stderr, "%s: %s\n", s->path, msg);
}

int host_is_big_endian(void)
{
    const uint16_t one = 1;
    unsigned char c;
    memcpy(&c, &one, 1);
    return c == 0;
}

void host_format_shape(const long *shape, int ndim, char *buf, size_t cap)
{
    size_t n = 0;
    int d;
    n += (size_t)snprintf(buf + n, cap - n, "(");
    for (d = 0; d < ndim && n < cap; d++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%ld", d ? ", " : "", shape[d]);
    if (n < cap)
        snprintf(buf + n, cap - n, ndim == 1 ? ",)" : ")");
}

void host_format_index(const nnc_host_array *a, long k, char *buf, size_t cap)
{
    long idx[NNC_HOST_MAX_DIMS];
    int d;
    for (d = a->ndim - 1; d >= 0; d--) {
        long e = a->shape[d] > 0 ? a->shape[d] : 1;
        idx[d] = d ? k % e : k;
        k = d ? k / e : 0;
    }
    host_format_shape(idx, a->ndim, buf, cap);
    buf[0] = '[';
    {   /* "(3,)" -> "[3]", "(3, 4)" -> "[3, 4]" */
        size_t n = strlen(buf);
        if (n >= 2 && buf[n - 2] == ',') {
            buf[n - 2] = ']';
            buf[n - 1] = '\0';
        } else if (n >= 1) {
            buf[n - 1] = ']';
        }
    }
}

long host_count(const long *shape, int ndim, int elem)
{
    long n = 1;
    int d;
    size_t width = elem > 4 ? (size_t)elem : 4;
    for (d = 0; d < ndim; d++) {
        if (shape[d] < 0)
            return -1;
        if (shape[d] && n > LONG_MAX / shape[d])
            return -1;
        n *= shape[d];
    }
    if ((unsigned long)n > (SIZE_MAX - 64) / width)
        return -1;
    return n;
}

int host_read_file(const char *path, unsigned char **buf, size_t *len)
{
    host_src s = { path, NULL };
    struct stat st;
    FILE *f = fopen(path, "rb");
    unsigned char *b;
    size_t n;
    *buf = NULL;
    *len = 0;
    if (!f) {
        host_err(&s, "cannot open: %s", strerror(errno));
        return 1;
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        host_err(&s, "not a regular file");
        fclose(f);
        return 1;
    }
    if ((unsigned long long)st.st_size >= SIZE_MAX) {
        host_err(&s, "too large to read into memory (%lld bytes)", (long long)st.st_size);
        fclose(f);
        return 1;
    }
    n = (size_t)st.st_size;
    b = malloc(n + 1);
    if (!b) {
        host_err(&s, "out of memory reading %zu bytes", n);
        fclose(f);
        return 1;
    }
    if (n && fread(b, 1, n, f) != n) {
        host_err(&s, "read error: %s", ferror(f) ? strerror(errno) : "the file shrank while read");
        free(b);
        fclose(f);
        return 1;
    }
    fclose(f);
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
}

/* ---- element conversion ----------------------------------------------------- */

static float half_to_float(uint16_t h)
{
    int exp = (h >> 10) & 0x1f;
    unsigned man = h & 0x3ffu;
    float v;
    if (exp == 0)
        v = ldexpf((float)man, -24);
    else if (exp == 31)
        v = man ? NAN : INFINITY;
    else
        v = ldexpf((float)(man | 0x400u), exp - 25);
    return (h & 0x8000u) ? -v : v;
}

/* the element at p as an unsigned number, read big- or little-endian
 * (by arithmetic, so on any host) */
static uint64_t load_bits(const unsigned char *p, int size, int big)
{
    uint64_t v = 0;
    int i;
    if (big)
        for (i = 0; i < size; i++)
            v = v << 8 | p[i];
    else
        for (i = size - 1; i >= 0; i--)
            v = v << 8 | p[i];
    return v;
}


int host_convert(const host_src *s, const unsigned char *src, host_elem t, long count,
                 size_t first_byte, int scale_u1, nnc_host_array *a, void *dst)
{
    int big = t.size > 1 && t.big;
    int host_big = host_is_big_endian();
    float *fd = dst;
    int32_t *id = dst;
    long k;
    char where[240];

    if (!big == !host_big && ((t.kind == 'f' && t.size == 4 && a->dtype == NNC_HOST_F32) ||
                              (t.kind == 'i' && t.size == 4 && a->dtype == NNC_HOST_I32))) {
        if ((const void *)dst != (const void *)src)
            memmove(dst, src, (size_t)count * 4);
        return 0;
    }
    if (t.kind == 'u' && t.size == 1) {
        if (a->dtype == NNC_HOST_I32)
            for (k = 0; k < count; k++)
                id[k] = src[k];
        else if (scale_u1)
            for (k = 0; k < count; k++)
                fd[k] = (float)src[k] * (1.0f / 255.0f);
        else
            for (k = 0; k < count; k++)
                fd[k] = (float)src[k];
        return 0;
    }
    for (k = 0; k < count; k++) {
        uint64_t bits = load_bits(src + (size_t)k * (size_t)t.size, t.size, big);
        double f = 0;
        int64_t i = 0;
        int is_float = 0, is_unsigned = 0;
        uint64_t u = 0;
        switch (t.kind) {
        case 'f':
            is_float = 1;
            if (t.size == 2) {
                f = half_to_float((uint16_t)bits);
            } else if (t.size == 4) {
                uint32_t b32 = (uint32_t)bits;
                float v;
                memcpy(&v, &b32, 4);
                f = v;
            } else {
                memcpy(&f, &bits, 8);
            }
            break;
        case 'i':
            if (t.size < 8 && (bits >> (t.size * 8 - 1)) & 1)
                bits |= ~(uint64_t)0 << (t.size * 8);    /* sign-extend */
            memcpy(&i, &bits, 8);
            break;
        case 'u':
            is_unsigned = 1;
            u = bits;
            break;
        default:            /* 'b' */
            i = bits != 0;
            break;
        }
        if (a->dtype == NNC_HOST_F32) {
            float v = is_float ? (float)f : is_unsigned ? (float)u : (float)i;
            if (is_float && isinf(v) && !isinf(f)) {
                host_format_index(a, k, where, sizeof where);
                host_err(s, "byte %zu (element %s): expected a value in float32's range, found %.17g",
                         first_byte + (size_t)k * (size_t)t.size, where, f);
                return 1;
            }
            fd[k] = v;
        } else {
            const char *bad = NULL;
            char found[64];
            if (is_float) {
                if (f != f || isinf(f) || f != floor(f))
                    bad = "an integer";
                else if (f < -2147483648.0 || f > 2147483647.0)
                    bad = "an integer in int32's range";
                else
                    id[k] = (int32_t)f;
                snprintf(found, sizeof found, "%.17g", f);
            } else if (is_unsigned) {
                if (u > INT32_MAX)
                    bad = "an integer in int32's range";
                else
                    id[k] = (int32_t)u;
                snprintf(found, sizeof found, "%llu", (unsigned long long)u);
            } else {
                if (i < INT32_MIN || i > INT32_MAX)
                    bad = "an integer in int32's range";
                else
                    id[k] = (int32_t)i;
                snprintf(found, sizeof found, "%lld", (long long)i);
            }
            if (bad) {
                host_format_index(a, k, where, sizeof where);
                host_err(s, "byte %zu (element %s): expected %s (int32 data), found %s",
                         first_byte + (size_t)k * (size_t)t.size, where, bad, found);
                return 1;
            }
        }
    }
    return 0;
}

/* ---- raw float32 ------------------------------------------------------------- */

static int raw_load(const char *path, nnc_host_dtype want, const long *hint, int dims,
                    nnc_host_array *a)
{
    host_src s = { path, NULL };
    unsigned char *buf;
    size_t len, sample_bytes;
    long per, n;
    int d;
    char shp[200];
    if (!hint || dims < 0 || dims > NNC_HOST_MAX_DIMS - 1) {
        host_err(&s, "a raw float32 file needs the shape of one sample (0 to %d extents), given %s",
                 NNC_HOST_MAX_DIMS - 1, hint ? "too many" : "none");
        return 1;
    }
    for (d = 0; d < dims; d++)
        if (hint[d] <= 0) {
            host_err(&s, "a raw float32 file needs positive sample extents, given %ld", hint[d]);
            return 1;
        }
    per = host_count(hint, dims, 4);
    if (per <= 0) {
        host_err(&s, "the sample shape given for a raw float32 file is too large");
        return 1;
    }
    if (host_read_file(path, &buf, &len))
        return 1;
    sample_bytes = (size_t)per * 4;
    host_format_shape(hint, dims, shp, sizeof shp);
    if (len % sample_bytes) {
        host_err(&s, "byte %zu: expected a whole number of samples of shape %s (%zu bytes each), "
                 "found %zu bytes (%zu left over)",
                 len - len % sample_bytes, shp, sample_bytes, len, len % sample_bytes);
        free(buf);
        return 1;
    }
    n = (long)(len / sample_bytes);
    a->dtype = want;
    a->ndim = dims + 1;
    a->shape[0] = n;
    for (d = 0; d < dims; d++)
        a->shape[d + 1] = hint[d];
    {
        host_elem t = { 'f', 4, 0 };
        if (host_convert(&s, buf, t, n * per, 0, 0, a, buf)) {
            free(buf);
            memset(a, 0, sizeof *a);
            return 1;
        }
    }
    a->data = buf;
    snprintf(a->stored, sizeof a->stored, "<f4");
    return 0;
}

/* ---- dispatch ---------------------------------------------------------------------- */

enum { FMT_NONE, FMT_NPY, FMT_NPZ, FMT_CSV, FMT_RAW, FMT_IDX };

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf), i;
    if (n < m)
        return 0;
    for (i = 0; i < m; i++)
        if (tolower((unsigned char)s[n - m + i]) != suf[i])
            return 0;
    return 1;
}

static int format_of(const char *path)
{
    const char *base = strrchr(path, '/'), *p;
    base = base ? base + 1 : path;
    if (ends_with(base, ".npy")) return FMT_NPY;
    if (ends_with(base, ".npz")) return FMT_NPZ;
    if (ends_with(base, ".csv")) return FMT_CSV;
    if (ends_with(base, ".f32") || ends_with(base, ".raw")) return FMT_RAW;
    for (p = base; *p; p++)
        if (tolower((unsigned char)p[0]) == 'i' && tolower((unsigned char)p[1]) == 'd' &&
            tolower((unsigned char)p[2]) == 'x')
            return FMT_IDX;
    return FMT_NONE;
}

static int load(const char *path, const char *member, const char *exclude, int missing_ok,
                nnc_host_dtype want, const long *shape_hint, int dims, nnc_host_array *a)
{
    host_src s = { path ? path : "(null)", NULL };
    int fmt, rc;
    if (!a)
        return 1;
    memset(a, 0, sizeof *a);
    if (!path || !*path) {
        fprintf(stderr, "data: no file name given\n");
        return 1;
    }
    if (want != NNC_HOST_F32 && want != NNC_HOST_I32) {
        host_err(&s, "expected the element type float32 or int32, given %d", (int)want);
        return 1;
    }
    fmt = format_of(path);
    if (fmt == FMT_NONE) {
        host_err(&s, "unknown data format: expected a name ending in .npy, .npz, .csv, .f32 or .raw, "
                 "or an IDX file with 'idx' in its name (gzipped or not)");
        return 1;
    }
    if (member && fmt != FMT_NPZ && fmt != FMT_CSV) {
        host_err(&s, "this file holds one array; a member or column ('%s') can only be chosen in "
                 ".npz and .csv files", member);
        return 1;
    }
    if (exclude && *exclude && fmt != FMT_CSV) {
        host_err(&s, "columns to exclude ('%s') can only be given for a .csv file", exclude);
        return 1;
    }
    switch (fmt) {
    case FMT_NPY: rc = host_npy_load(path, want, a); break;
    case FMT_NPZ: rc = host_npz_load(path, member, want, a); break;
    case FMT_CSV: rc = host_csv_load(path, member, exclude, missing_ok, want, a); break;
    case FMT_RAW: rc = raw_load(path, want, shape_hint, dims, a); break;
    default:      rc = host_idx_load(path, want, a); break;
    }
    if (rc) {
        free(a->data);
        memset(a, 0, sizeof *a);
    }
    return rc;
}

int nnc_host_array_load(const char *path, const char *member, const char *exclude,
                        nnc_host_dtype want, const long *shape_hint, int dims, nnc_host_array *a)
{
    return load(path, member, exclude, 0, want, shape_hint, dims, a);
}

void nnc_host_array_free(nnc_host_array *a)
{
    if (!a)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

/* ---- features and labels ------------------------------------------------------------- */

/* the first of the candidate names the archive holds; NULL (message
 * printed when err) when none */
static const char *npz_pick(const char *path, const char *a, const char *b, const char *what, int *err)
{
    host_src s = { path, NULL };
    int r;
    *err = 0;
    if ((r = host_npz_has(path, a)) < 0) { *err = 1; return NULL; }
    if (r) return a;
    if (b && *b) {
        if ((r = host_npz_has(path, b)) < 0) { *err = 1; return NULL; }
        if (r) return b;
    }
    if (what) {
        host_err(&s, "expected a member '%s'%s%s%s holding the %s, found none", a,
                 b && *b ? " or '" : "", b && *b ? b : "", b && *b ? "'" : "", what);
        *err = 1;
    }
    return NULL;
}

/* the sample count and the per-sample size against io */
static int check_sizes(const char *path, const char *member, const nnc_host_array *a, long want_size,
                       const char *what, const char *name)
{
    host_src s = { path, member };
    char found[200];
    long per = nnc_host_array_sample_size(a);
    if (a->ndim < 1 || a->shape[0] <= 0) {
        host_format_shape(a->shape, a->ndim, found, sizeof found);
        host_err(&s, "expected at least one sample of %s, found shape %s", what, found);
        return 1;
    }
    if (per != want_size) {
        host_format_shape(a->shape, a->ndim, found, sizeof found);
        host_err(&s, "expected shape (%ld, %ld) (%ld values per sample for the model's %s%s%s%s), "
                 "found shape %s (%ld per sample)", a->shape[0], want_size, want_size, what,
                 name && *name ? " '" : "", name && *name ? name : "", name && *name ? "'" : "",
                 found, per);
        return 1;
    }
    return 0;
}

static int check_range(const char *path, const char *member, const nnc_host_array *a, long hi,
                       const char *what)
{
    host_src s = { path, member };
    const int32_t *v = a->data;
    long n = a->shape[0] * nnc_host_array_sample_size(a), k;
    char where[240];
    for (k = 0; k < n; k++)
        if (v[k] < 0 || v[k] >= hi) {
            host_format_index(a, k, where, sizeof where);
            host_err(&s, "element %s: expected %s in [0, %ld), found %ld", where, what, hi, (long)v[k]);
            return 1;
        }
    return 0;
}

int nnc_host_xy_load(const char *x_path, const char *y_path, const char *label_column,
                     const nnc_host_io *io, int need_labels, nnc_host_xy *d)
{
    nnc_host_dtype xt, yt;
    int xf, err = 0;
    const char *label = label_column && *label_column ? label_column : NULL;
    const char *xm = NULL, *ym = NULL;  /* the .npz members read */
    if (!d)
        return 1;
    memset(d, 0, sizeof *d);
    if (!io || !x_path || !*x_path) {
        fprintf(stderr, "data: no %s given\n", io ? "feature file" : "model sizes");
        return 1;
    }
    if (y_path && !*y_path)
        y_path = NULL;
    xt = io->input_ids > 0 ? NNC_HOST_I32 : NNC_HOST_F32;
    yt = io->sparse_labels ? NNC_HOST_I32 : NNC_HOST_F32;
    xf = format_of(x_path);

    if (!y_path && xf == FMT_NPZ) {
        xm = npz_pick(x_path, "x", io->input_name, "features", &err);
        if (err || load(x_path, xm, NULL, 0, xt, NULL, 0, &d->x))
            goto fail;
        if (need_labels) {
            ym = npz_pick(x_path, "y", io->label_name, "labels", &err);
            if (err || load(x_path, ym, NULL, 0, yt, NULL, 0, &d->y))
                goto fail;
        }
    } else if (!y_path && xf == FMT_CSV) {
        host_src s = { x_path, NULL };
        if (!label) {       /* the model's label name, else "label" */
            const char *cand[2];
            int i, r;
            cand[0] = io->label_name && *io->label_name ? io->label_name : "label";
            cand[1] = "label";
            for (i = 0; i < 2 && !label; i++) {
                if ((r = host_csv_has(x_path, cand[i])) < 0)
                    goto fail;
                if (r)
                    label = cand[i];
            }
        }
        if (!label && need_labels) {
            host_err(&s, "row 1: expected a label column: name it (--label-column) or call it '%s'%s, "
                     "found neither", io->label_name && *io->label_name ? io->label_name : "label",
                     io->label_name && *io->label_name ? " or 'label'" : "");
            goto fail;
        }
        if (load(x_path, NULL, label, !need_labels, xt, NULL, 0, &d->x))
            goto fail;
        if (need_labels && load(x_path, label, NULL, 0, yt, NULL, 0, &d->y))
            goto fail;
    } else {
        long xs = io->input_size, ys = io->label_size;
        if (xf == FMT_NPZ && (xm = npz_pick(x_path, "x", io->input_name, NULL, &err)) == NULL && err)
            goto fail;
        if (load(x_path, xm, NULL, 0, xt, &xs, 1, &d->x))
            goto fail;
        if (need_labels && !y_path) {
            host_src s = { x_path, NULL };
            host_err(&s, "expected labels: this file holds features only; give a label file too, "
                     "or use an .npz (x and y) or a .csv with a label column");
            goto fail;
        }
        if (need_labels || y_path) {
            int yf = format_of(y_path);
            if (yf == FMT_NPZ && (ym = npz_pick(y_path, "y", io->label_name, NULL, &err)) == NULL && err)
                goto fail;
            if (load(y_path, yf == FMT_CSV ? label : ym, NULL, 0, yt, &ys, 1, &d->y))
                goto fail;
        }
    }

    if (check_sizes(x_path, xm, &d->x, io->input_size, "input", io->input_name))
        goto fail;
    if (io->input_ids > 0 && check_range(x_path, xm, &d->x, io->input_ids, "an input id"))
        goto fail;
    if (d->y.data) {
        const char *yp = y_path ? y_path : x_path;
        if (check_sizes(yp, ym, &d->y, io->label_size, "labels", io->label_name))
            goto fail;
        if (io->sparse_labels && check_range(yp, ym, &d->y, io->classes, "a class index"))
            goto fail;
        if (d->y.shape[0] != d->x.shape[0]) {
            fprintf(stderr, "%s: expected as many label samples as feature samples (%ld in %s), "
                    "found %ld\n", yp, d->x.shape[0], x_path, d->y.shape[0]);
            goto fail;
        }
    }
    d->n = d->x.shape[0];
    return 0;
fail:
    nnc_host_xy_free(d);
    return 1;
}

void nnc_host_xy_free(nnc_host_xy *d)
{
    if (!d)
        return;
    nnc_host_array_free(&d->x);
    nnc_host_array_free(&d->y);
    d->n = 0;
}
