/* npy.c — NumPy's .npy files and .npz archives (reading), float32 .npy
 * (writing).
 *
 * .npy, as numpy/lib/format.py writes it:
 *   - magic "\x93NUMPY", version 1.0 (16-bit little-endian header length),
 *     2.0 or 3.0 (32-bit; 3.0 only allows UTF-8 in the header, which we
 *     never need); other versions are refused.
 *   - the header is a Python dict literal with exactly the keys 'descr',
 *     'fortran_order' and 'shape' (quoted with ' or "; the shape's
 *     integers may carry Python 2's L); trailing spaces and '\n' pad it.
 *   - descr: byte order '<', '>', '|' (one-byte types) or '=' (this
 *     host's), then f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1 (or '?');
 *     structured, complex, string and object dtypes are refused.
 *   - fortran_order True is refused unless the layout is the same as C
 *     order (at most one extent above 1).
 *   - a 0-d array is refused (no sample axis), as are more than 8 axes.
 *   - the data must be exactly prod(shape) * itemsize bytes after the
 *     header: fewer is "truncated", more is refused too (np.load would
 *     ignore the excess, but it means the header does not describe the
 *     file).
 *   - conversion to float32 / int32 follows data.c's rules.
 * .npz, as np.savez / np.savez_compressed write it (a zip file):
 *   - the end-of-central-directory record is searched in the last 64 KiB
 *     (the central directory and the one member wanted are all that is
 *     read);
 *     zip64 records and extra fields (numpy writes the latter with
 *     force_zip64) are read; multi-disk and encrypted archives and any
 *     compression but stored (0) and deflate (8) are refused.
 *   - sizes come from the central directory; a member's CRC-32 is checked.
 *   - a member is named with or without its ".npy"; with no name given, an
 *     archive of exactly one member gives that one.
 * Writing: version 1.0, '<f4', C order, the header padded to 64 bytes as
 * numpy pads it, to PATH.tmpPID.N then renamed over PATH.
 */
#include "data_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

typedef struct npy_info {
    host_elem t;
    int ndim;
    long shape[NNC_HOST_MAX_DIMS];
    char descr[16];
    size_t data_off;        /* from the start of the .npy */
} npy_info;

static uint32_t get16(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const unsigned char *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }

/* up to 24 bytes at p as printable text, for "found ..." */
static const char *excerpt(const unsigned char *p, size_t n, char *buf, size_t cap)
{
    size_t i, k = 0;
    if (n == 0)
        return "the end of the header";
    buf[k++] = '\'';
    for (i = 0; i < n && i < 24 && k + 6 < cap; i++)
        if (p[i] >= 32 && p[i] < 127) {
            buf[k++] = (char)p[i];
        } else {
            snprintf(buf + k, cap - k, "\\x%02x", p[i]);
            k += 4;
        }
    buf[k++] = '\'';
    buf[k] = '\0';
    return buf;
}

/* ---- the preamble and the header dictionary --------------------------------------- */

/* magic and version in the first avail bytes of p; *start: where the
 * header text begins, *hlen: its length */
static int npy_preamble(const host_src *s, const unsigned char *p, size_t avail, size_t *start,
                        size_t *hlen)
{
    char ex[128];
    if (avail < 10 || memcmp(p, "\x93NUMPY", 6) != 0) {
        if (avail >= 6 && memcmp(p, "\x93NUMPY", 6) != 0)
            host_err(s, "byte 0: expected the .npy magic '\\x93NUMPY', found %s",
                     excerpt(p, 6, ex, sizeof ex));
        else
            host_err(s, "byte %zu: truncated: expected a .npy header of at least 10 bytes, found %zu",
                     avail, avail);
        return 1;
    }
    if ((p[6] != 1 && p[6] != 2 && p[6] != 3) || p[7] != 0) {
        host_err(s, "byte 6: expected .npy format version 1.0, 2.0 or 3.0, found %u.%u", p[6], p[7]);
        return 1;
    }
    if (p[6] == 1) {
        *start = 10;
        *hlen = get16(p + 8);
    } else {
        if (avail < 12) {
            host_err(s, "byte %zu: truncated: expected a version %u.0 .npy header of at least 12 bytes, "
                     "found %zu", avail, p[6], avail);
            return 1;
        }
        *start = 12;
        *hlen = get32(p + 8);
    }
    return 0;
}

static int parse_descr(const char *d, host_elem *t)
{
    char order = '|';
    const char *p = d;
    if (*p == '<' || *p == '>' || *p == '|' || *p == '=')
        order = *p++;
    if (strcmp(p, "?") == 0) {
        t->kind = 'b';
        t->size = 1;
    } else {
        if (!p[0] || !p[1] || p[2])
            return 1;
        t->kind = p[0];
        t->size = p[1] - '0';
        if (!((t->kind == 'f' && (t->size == 2 || t->size == 4 || t->size == 8)) ||
              ((t->kind == 'i' || t->kind == 'u') &&
               (t->size == 1 || t->size == 2 || t->size == 4 || t->size == 8)) ||
              (t->kind == 'b' && t->size == 1)))
            return 1;
    }
    if (t->size > 1 && order == '|')
        return 1;
    t->big = order == '>' || (order == '=' && host_is_big_endian());
    return 0;
}

static void skip_ws(const unsigned char *h, size_t n, size_t *i)
{
    while (*i < n && (h[*i] == ' ' || h[*i] == '\t' || h[*i] == '\n' || h[*i] == '\r'))
        (*i)++;
}

/* a quoted Python string without escapes into out; 1 if not one (or too long) */
static int parse_str(const unsigned char *h, size_t n, size_t *i, char *out, size_t cap)
{
    unsigned char q;
    size_t k = 0, j = *i;
    if (j >= n || (h[j] != '\'' && h[j] != '"'))
        return 1;
    q = h[j++];
    while (j < n && h[j] != q) {
        if (h[j] == '\\' || k + 1 >= cap)
            return 1;
        out[k++] = (char)h[j++];
    }
    if (j >= n)
        return 1;
    out[k] = '\0';
    *i = j + 1;
    return 0;
}

/* the header text h[0..n) that starts at byte base of the .npy */
static int parse_header(const host_src *s, const unsigned char *h, size_t n, size_t base, npy_info *info)
{
    size_t i = 0, at;
    int have_descr = 0, have_order = 0, have_shape = 0, fortran = 0, d;
    char key[32], ex[128], descr[64];
#define HDR_BAD(what) do { \
        host_err(s, "byte %zu: expected %s in the .npy header, found %s", base + i, what, \
                 excerpt(h + i, n - i, ex, sizeof ex)); \
        return 1; } while (0)
    skip_ws(h, n, &i);
    if (i >= n || h[i] != '{')
        HDR_BAD("'{' (a Python dict literal)");
    i++;
    for (;;) {
        skip_ws(h, n, &i);
        if (i < n && h[i] == '}')
            break;
        at = i;
        if (parse_str(h, n, &i, key, sizeof key))
            HDR_BAD("a quoted key or '}'");
        skip_ws(h, n, &i);
        if (i >= n || h[i] != ':')
            HDR_BAD("':'");
        i++;
        skip_ws(h, n, &i);
        if (strcmp(key, "descr") == 0 && !have_descr) {
            at = i;
            if (i < n && h[i] == '[')
                HDR_BAD("a simple dtype (one of f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1)");
            if (parse_str(h, n, &i, descr, sizeof descr) || parse_descr(descr, &info->t)) {
                i = at;
                HDR_BAD("a dtype of f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1 ('<' or '>' byte order)");
            }
            snprintf(info->descr, sizeof info->descr, "%.15s", descr);
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0 && !have_order) {
            if (n - i >= 4 && memcmp(h + i, "True", 4) == 0) {
                fortran = 1;
                i += 4;
            } else if (n - i >= 5 && memcmp(h + i, "False", 5) == 0) {
                i += 5;
            } else {
                HDR_BAD("True or False");
            }
            have_order = 1;
        } else if (strcmp(key, "shape") == 0 && !have_shape) {
            if (i >= n || h[i] != '(')
                HDR_BAD("a shape tuple");
            i++;
            info->ndim = 0;
            for (;;) {
                long v = 0;
                skip_ws(h, n, &i);
                if (i < n && h[i] == ')')
                    break;
                if (i >= n || h[i] < '0' || h[i] > '9')
                    HDR_BAD("an extent (a non-negative integer) or ')'");
                if (info->ndim == NNC_HOST_MAX_DIMS)
                    HDR_BAD("at most 8 dimensions");
                while (i < n && h[i] >= '0' && h[i] <= '9') {
                    if (v > (LONG_MAX - 9) / 10)
                        HDR_BAD("an extent that fits a long");
                    v = v * 10 + (h[i++] - '0');
                }
                if (i < n && h[i] == 'L')
                    i++;
                info->shape[info->ndim++] = v;
                skip_ws(h, n, &i);
                if (i < n && h[i] == ',')
                    i++;
                else if (!(i < n && h[i] == ')'))
                    HDR_BAD("',' or ')' in the shape");
            }
            i++;
            have_shape = 1;
        } else {
            i = at;
            HDR_BAD("one each of the keys 'descr', 'fortran_order', 'shape'");
        }
        skip_ws(h, n, &i);
        if (i < n && h[i] == ',')
            i++;
        else if (!(i < n && h[i] == '}'))
            HDR_BAD("',' or '}'");
    }
    if (!have_descr || !have_order || !have_shape)
        HDR_BAD(!have_descr ? "the key 'descr'" : !have_order ? "the key 'fortran_order'" : "the key 'shape'");
    if (info->ndim == 0) {
        host_err(s, "byte %zu: expected an array with a sample axis (at least 1 dimension), found a 0-d "
                 "array (shape ())", base);
        return 1;
    }
    if (fortran) {
        int big = 0;
        for (d = 0; d < info->ndim; d++)
            big += info->shape[d] > 1;
        if (big > 1) {
            char shp[200];
            host_format_shape(info->shape, info->ndim, shp, sizeof shp);
            host_err(s, "byte %zu: expected C order ('fortran_order': False), found a Fortran-order array "
                     "of shape %s (save np.ascontiguousarray(a) instead)", base, shp);
            return 1;
        }
    }
    return 0;
#undef HDR_BAD
}

static int check_data_size(const host_src *s, const npy_info *info, size_t file_len, long *count,
                           size_t *nbytes)
{
    char shp[200];
    host_format_shape(info->shape, info->ndim, shp, sizeof shp);
    *count = host_count(info->shape, info->ndim, info->t.size);
    if (*count < 0) {
        host_err(s, "byte %zu: expected a shape that fits in memory, found %s", info->data_off, shp);
        return 1;
    }
    *nbytes = (size_t)*count * (size_t)info->t.size;
    if (file_len < info->data_off || file_len - info->data_off < *nbytes) {
        host_err(s, "byte %zu: truncated: expected %zu data bytes from byte %zu (shape %s, %s), found %zu",
                 file_len, *nbytes, info->data_off, shp, info->descr,
                 file_len > info->data_off ? file_len - info->data_off : 0);
        return 1;
    }
    if (file_len - info->data_off > *nbytes) {
        host_err(s, "byte %zu: expected the end of the data (shape %s, %s), found %zu more bytes",
                 info->data_off + *nbytes, shp, info->descr, file_len - info->data_off - *nbytes);
        return 1;
    }
    return 0;
}

static void fill_array(const npy_info *info, nnc_host_dtype want, nnc_host_array *a)
{
    int d;
    a->dtype = want;
    a->ndim = info->ndim;
    for (d = 0; d < info->ndim; d++)
        a->shape[d] = info->shape[d];
    snprintf(a->stored, sizeof a->stored, "%s", info->descr);
}

/* a whole .npy in memory (an archive member) */
static int npy_from_memory(const host_src *s, const unsigned char *m, size_t len, nnc_host_dtype want,
                           nnc_host_array *a)
{
    npy_info info;
    size_t start, hlen, nbytes;
    long count;
    void *out;
    memset(&info, 0, sizeof info);
    if (npy_preamble(s, m, len, &start, &hlen))
        return 1;
    if (len - start < hlen) {
        host_err(s, "byte %zu: truncated: expected a %zu-byte header from byte %zu, found %zu bytes",
                 len, hlen, start, len - start);
        return 1;
    }
    if (parse_header(s, m + start, hlen, start, &info))
        return 1;
    info.data_off = start + hlen;
    if (check_data_size(s, &info, len, &count, &nbytes))
        return 1;
    fill_array(&info, want, a);
    out = malloc(count ? (size_t)count * 4 : 1);
    if (!out) {
        host_err(s, "out of memory for %ld elements", count);
        return 1;
    }
    if (host_convert(s, m + info.data_off, info.t, count, info.data_off, 0, a, out)) {
        free(out);
        return 1;
    }
    a->data = out;
    return 0;
}

int host_npy_load(const char *path, nnc_host_dtype want, nnc_host_array *a)
{
    host_src s = { path, NULL };
    unsigned char pre[12], *hdr = NULL, *buf = NULL;
    size_t got, start, hlen, len, nbytes, place;
    npy_info info;
    struct stat st;
    long count;
    FILE *f = fopen(path, "rb");
    memset(&info, 0, sizeof info);
    if (!f) {
        host_err(&s, "cannot open: %s", strerror(errno));
        return 1;
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        host_err(&s, "not a regular file");
        goto fail;
    }
    len = (size_t)st.st_size;
    got = fread(pre, 1, sizeof pre, f);
    if (npy_preamble(&s, pre, got, &start, &hlen))
        goto fail;
    if (len - start < hlen) {
        host_err(&s, "byte %zu: truncated: expected a %zu-byte header from byte %zu, found %zu bytes",
                 len, hlen, start, len - start);
        goto fail;
    }
    if ((hdr = malloc(hlen + 1)) == NULL) {
        host_err(&s, "out of memory for a %zu-byte header", hlen);
        goto fail;
    }
    if (fseek(f, (long)start, SEEK_SET) != 0 || fread(hdr, 1, hlen, f) != hlen) {
        host_err(&s, "byte %zu: read error in the header", start);
        goto fail;
    }
    if (parse_header(&s, hdr, hlen, start, &info))
        goto fail;
    info.data_off = start + hlen;
    if (check_data_size(&s, &info, len, &count, &nbytes))
        goto fail;
    /* read the data where an in-place conversion to 4-byte elements can run
     * forwards: at the start for wide types, at the end for narrow ones */
    place = info.t.size < 4 ? (size_t)count * 4 - nbytes : 0;
    if ((buf = malloc(place + nbytes ? place + nbytes : 1)) == NULL) {
        host_err(&s, "out of memory for %zu bytes of data", nbytes);
        goto fail;
    }
    if (nbytes && fread(buf + place, 1, nbytes, f) != nbytes) {
        host_err(&s, "byte %zu: read error: %s", info.data_off,
                 ferror(f) ? strerror(errno) : "the file shrank while read");
        goto fail;
    }
    fill_array(&info, want, a);
    if (host_convert(&s, buf + place, info.t, count, info.data_off, 0, a, buf))
        goto fail;
    if (info.t.size > 4 && count) {
        unsigned char *b = realloc(buf, (size_t)count * 4);
        if (b)
            buf = b;
    }
    a->data = buf;
    free(hdr);
    fclose(f);
    return 0;
fail:
    free(hdr);
    free(buf);
    fclose(f);
    return 1;
}

/* ---- .npz ---------------------------------------------------------------------------- */

typedef struct zip_entry {
    const unsigned char *name;
    size_t name_len;
    unsigned flags, method;
    uint32_t crc;
    uint64_t csize, usize, offset;
    size_t cd_at;           /* where its central directory entry starts */
} zip_entry;

typedef struct zip {
    FILE *f;
    size_t len;             /* the file's size */
    unsigned char *cd;      /* the central directory, read whole */
    zip_entry *e;
    size_t n;
} zip;

static void zip_free(zip *z)
{
    if (z->f)
        fclose(z->f);
    free(z->cd);
    free(z->e);
    memset(z, 0, sizeof *z);
}

static int read_at(FILE *f, uint64_t off, void *buf, size_t n)
{
    if (off > (uint64_t)LONG_MAX)
        return 1;
    return fseeko(f, (off_t)off, SEEK_SET) != 0 || fread(buf, 1, n, f) != n;
}

/* opens the archive and reads its central directory (the members are read
 * one by one, by zip_member, so a large archive is never held twice) */
static int zip_open(const char *path, zip *z)
{
    host_src s = { path, NULL };
    unsigned char head[6], *tail = NULL, z64r[56];
    const unsigned char *eo;
    size_t len, eocd = 0, i, at, tail_n;
    uint64_t entries, cd_size, cd_off;
    struct stat st;
    int found = 0;
    memset(z, 0, sizeof *z);
    if ((z->f = fopen(path, "rb")) == NULL) {
        host_err(&s, "cannot open: %s", strerror(errno));
        return 1;
    }
    if (fstat(fileno(z->f), &st) != 0 || !S_ISREG(st.st_mode)) {
        host_err(&s, "not a regular file");
        goto fail;
    }
    len = z->len = (size_t)st.st_size;
    if (len >= 6 && !read_at(z->f, 0, head, 6) && memcmp(head, "\x93NUMPY", 6) == 0) {
        host_err(&s, "byte 0: expected a zip archive (.npz), found a .npy file (rename it to .npy)");
        goto fail;
    }
    tail_n = len < 65557 ? len : 65557;
    if ((tail = malloc(tail_n + 1)) == NULL || read_at(z->f, len - tail_n, tail, tail_n)) {
        host_err(&s, "byte %zu: cannot read the end of the file", len - tail_n);
        goto fail;
    }
    for (i = tail_n >= 22 ? tail_n - 22 + 1 : 0; i-- > 0;)
        if (get32(tail + i) == 0x06054b50u && i + 22 + get16(tail + i + 20) == tail_n) {
            eocd = len - tail_n + i;
            found = 1;
            break;
        }
    if (!found) {
        host_err(&s, "byte %zu: expected a zip archive's end-of-central-directory record in the last "
                 "%zu bytes, found none (not an .npz, or truncated)", len, tail_n);
        goto fail;
    }
    eo = tail + (eocd - (len - tail_n));
    if (get16(eo + 4) != 0 || get16(eo + 6) != 0) {
        host_err(&s, "byte %zu: expected a single-disk zip archive, found a multi-disk one", eocd);
        goto fail;
    }
    entries = get16(eo + 10);
    cd_size = get32(eo + 12);
    cd_off = get32(eo + 16);
    if (entries == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_off == 0xFFFFFFFFu) {
        unsigned char loc[20];
        uint64_t z64;
        if (eocd < 20 || read_at(z->f, eocd - 20, loc, 20) || get32(loc) != 0x07064b50u) {
            host_err(&s, "byte %zu: expected a zip64 end-of-central-directory locator, found none",
                     eocd >= 20 ? eocd - 20 : 0);
            goto fail;
        }
        z64 = get64(loc + 8);
        if (z64 > eocd || read_at(z->f, z64, z64r, 56) || get32(z64r) != 0x06064b50u) {
            host_err(&s, "byte %llu: expected a zip64 end-of-central-directory record, found none",
                     (unsigned long long)z64);
            goto fail;
        }
        entries = get64(z64r + 32);
        cd_size = get64(z64r + 40);
        cd_off = get64(z64r + 48);
    }
    if (cd_off > len || cd_size > len - cd_off) {
        host_err(&s, "byte %zu: expected the central directory at bytes %llu..%llu, found a file of %zu "
                 "bytes (truncated?)", eocd, (unsigned long long)cd_off,
                 (unsigned long long)(cd_off + cd_size), len);
        goto fail;
    }
    if (entries > cd_size / 46) {
        host_err(&s, "byte %zu: expected at most %llu entries in a %llu-byte central directory, found %llu",
                 eocd, (unsigned long long)(cd_size / 46), (unsigned long long)cd_size,
                 (unsigned long long)entries);
        goto fail;
    }
    z->e = calloc(entries ? (size_t)entries : 1, sizeof *z->e);
    z->cd = malloc(cd_size ? (size_t)cd_size : 1);
    if (!z->e || !z->cd) {
        host_err(&s, "out of memory for %llu zip entries", (unsigned long long)entries);
        goto fail;
    }
    if (cd_size && read_at(z->f, cd_off, z->cd, (size_t)cd_size)) {
        host_err(&s, "byte %llu: cannot read the central directory", (unsigned long long)cd_off);
        goto fail;
    }
    at = 0;
    for (i = 0; i < entries; i++) {
        zip_entry *e = &z->e[i];
        const unsigned char *b = z->cd;
        size_t nl, xl, cl, x, end = (size_t)cd_size;
        if (end - at < 46 || get32(b + at) != 0x02014b50u) {
            host_err(&s, "byte %llu: expected central directory entry %zu of %llu, found %s",
                     (unsigned long long)(cd_off + at), i + 1, (unsigned long long)entries,
                     end - at < 46 ? "the directory's end" : "other bytes");
            goto fail;
        }
        nl = get16(b + at + 28);
        xl = get16(b + at + 30);
        cl = get16(b + at + 32);
        if (end - at - 46 < nl + xl + cl) {
            host_err(&s, "byte %llu: central directory entry %zu runs past the directory's end",
                     (unsigned long long)(cd_off + at), i + 1);
            goto fail;
        }
        e->cd_at = (size_t)cd_off + at;
        e->flags = get16(b + at + 8);
        e->method = get16(b + at + 10);
        e->crc = get32(b + at + 16);
        e->csize = get32(b + at + 20);
        e->usize = get32(b + at + 24);
        e->offset = get32(b + at + 42);
        e->name = b + at + 46;
        e->name_len = nl;
        /* the zip64 extra field: the saturated sizes and offset, in that order */
        for (x = at + 46 + nl; x + 4 <= at + 46 + nl + xl;) {
            size_t id = get16(b + x), sz = get16(b + x + 2), p = x + 4;
            if (x + 4 + sz > at + 46 + nl + xl)
                break;
            if (id == 1) {
                if (e->usize == 0xFFFFFFFFu && p + 8 <= x + 4 + sz) { e->usize = get64(b + p); p += 8; }
                if (e->csize == 0xFFFFFFFFu && p + 8 <= x + 4 + sz) { e->csize = get64(b + p); p += 8; }
                if (e->offset == 0xFFFFFFFFu && p + 8 <= x + 4 + sz) { e->offset = get64(b + p); }
            }
            x += 4 + sz;
        }
        at += 46 + nl + xl + cl;
    }
    z->n = (size_t)entries;
    free(tail);
    return 0;
fail:
    free(tail);
    zip_free(z);
    return 1;
}

/* entry named name or name.npy, or NULL */
static zip_entry *zip_find(zip *z, const char *name)
{
    size_t i, n = strlen(name);
    for (i = 0; i < z->n; i++)
        if (z->e[i].name_len == n && memcmp(z->e[i].name, name, n) == 0)
            return &z->e[i];
    for (i = 0; i < z->n; i++)
        if (z->e[i].name_len == n + 4 && memcmp(z->e[i].name, name, n) == 0 &&
            memcmp(z->e[i].name + n, ".npy", 4) == 0)
            return &z->e[i];
    return NULL;
}

/* "'x', 'y'" (the names without .npy) */
static void zip_names(const zip *z, char *buf, size_t cap)
{
    size_t i, k = 0;
    buf[0] = '\0';
    if (z->n == 0) {
        snprintf(buf, cap, "none (an empty archive)");
        return;
    }
    for (i = 0; i < z->n && k + 8 < cap; i++) {
        int nl = (int)z->e[i].name_len;
        if (nl > 4 && memcmp(z->e[i].name + nl - 4, ".npy", 4) == 0)
            nl -= 4;
        k += (size_t)snprintf(buf + k, cap - k, "%s'%.*s'", i ? ", " : "", nl, (const char *)z->e[i].name);
    }
    if (i < z->n && k < cap)
        snprintf(buf + k, cap - k, ", ...");
}

/* the member's uncompressed bytes, malloc'ed into *data */
static int zip_member(const host_src *s, zip *z, const zip_entry *e, unsigned char **data)
{
    size_t len = z->len, lh = (size_t)e->offset, start;
    unsigned char lhdr[30], *comp = NULL;
    uLong crc;
    uint64_t done;
    *data = NULL;
    if (e->offset > len || len - lh < 30 || read_at(z->f, lh, lhdr, 30) || get32(lhdr) != 0x04034b50u) {
        host_err(s, "byte %llu: expected the member's local header (zip), found %s",
                 (unsigned long long)e->offset, e->offset > len || len - lh < 30 ? "the end of the file" : "other bytes");
        return 1;
    }
    if (e->flags & 1) {
        host_err(s, "byte %zu: expected an unencrypted member, found an encrypted one", lh);
        return 1;
    }
    if (e->method != 0 && e->method != 8) {
        host_err(s, "byte %zu: expected compression method 0 (stored) or 8 (deflate), found %u", lh, e->method);
        return 1;
    }
    start = lh + 30 + get16(lhdr + 26) + get16(lhdr + 28);
    if (start > len || len - start < e->csize) {
        host_err(s, "byte %zu: truncated: expected %llu bytes of member data from byte %zu, found %zu",
                 len, (unsigned long long)e->csize, start, start > len ? 0 : len - start);
        return 1;
    }
    if (e->usize > (uint64_t)(SIZE_MAX - 64)) {
        host_err(s, "byte %zu: expected a member that fits in memory, found %llu bytes", lh,
                 (unsigned long long)e->usize);
        return 1;
    }
    if (e->method == 0 && e->csize != e->usize) {
        host_err(s, "byte %zu: expected a stored member's sizes to agree, found %llu and %llu", e->cd_at,
                 (unsigned long long)e->csize, (unsigned long long)e->usize);
        return 1;
    }
    if ((comp = malloc(e->csize ? (size_t)e->csize : 1)) == NULL) {
        host_err(s, "out of memory for %llu bytes", (unsigned long long)e->csize);
        return 1;
    }
    if (e->csize && read_at(z->f, start, comp, (size_t)e->csize)) {
        host_err(s, "byte %zu: cannot read the member's %llu bytes", start, (unsigned long long)e->csize);
        free(comp);
        return 1;
    }
    if (e->method == 0) {
        *data = comp;
    } else {
        z_stream zs;
        int rc = Z_OK;
        unsigned char *out = malloc(e->usize ? (size_t)e->usize : 1);
        uint64_t in_left = e->csize, out_left = e->usize;
        if (!out) {
            host_err(s, "out of memory for %llu bytes", (unsigned long long)e->usize);
            free(comp);
            return 1;
        }
        memset(&zs, 0, sizeof zs);
        if (inflateInit2(&zs, -15) != Z_OK) {
            host_err(s, "zlib: cannot start inflating");
            free(out);
            free(comp);
            return 1;
        }
        zs.next_in = comp;
        zs.next_out = out;
        while (rc == Z_OK) {
            uInt ai = in_left > 0x40000000u ? 0x40000000u : (uInt)in_left;
            uInt ao = out_left > 0x40000000u ? 0x40000000u : (uInt)out_left;
            zs.avail_in = ai;
            zs.avail_out = ao;
            rc = inflate(&zs, Z_NO_FLUSH);
            in_left -= ai - zs.avail_in;
            out_left -= ao - zs.avail_out;
            if (rc == Z_BUF_ERROR && (in_left == 0 || out_left == 0))
                break;
        }
        inflateEnd(&zs);
        free(comp);
        if (rc != Z_STREAM_END || out_left != 0) {
            host_err(s, "byte %zu: expected %llu bytes of deflated data inflating to %llu, found %s "
                     "(after %llu compressed bytes)", start, (unsigned long long)e->csize,
                     (unsigned long long)e->usize,
                     rc == Z_DATA_ERROR ? "corrupt data" : rc == Z_STREAM_END ? "a shorter stream"
                     : out_left == 0 ? "a longer stream" : "a truncated stream",
                     (unsigned long long)(e->csize - in_left));
            free(out);
            return 1;
        }
        *data = out;
    }
    crc = crc32(0L, Z_NULL, 0);
    for (done = 0; done < e->usize;) {
        uInt chunk = e->usize - done > 0x40000000u ? 0x40000000u : (uInt)(e->usize - done);
        crc = crc32(crc, *data + done, chunk);
        done += chunk;
    }
    if ((uint32_t)crc != e->crc) {
        host_err(s, "byte %zu: expected the CRC-32 %08lx of the central directory, found %08lx (corrupt member)",
                 start, (unsigned long)e->crc, (unsigned long)(uint32_t)crc);
        free(*data);
        *data = NULL;
        return 1;
    }
    return 0;
}

int host_npz_has(const char *path, const char *name)
{
    zip z;
    int r;
    if (zip_open(path, &z))
        return -1;
    r = zip_find(&z, name) != NULL;
    zip_free(&z);
    return r;
}

int host_npz_load(const char *path, const char *member, nnc_host_dtype want, nnc_host_array *a)
{
    host_src s = { path, NULL };
    zip z;
    zip_entry *e;
    unsigned char *data;
    char names[512], mname[260];
    int rc;
    if (zip_open(path, &z))
        return 1;
    zip_names(&z, names, sizeof names);
    if (member) {
        e = zip_find(&z, member);
        if (!e) {
            host_err(&s, "expected a member '%s' (%s.npy), found %s", member, member, names);
            zip_free(&z);
            return 1;
        }
    } else if (z.n == 1) {
        e = &z.e[0];
    } else {
        host_err(&s, "expected one member or a member name, found %s", names);
        zip_free(&z);
        return 1;
    }
    snprintf(mname, sizeof mname, "%.*s", (int)(e->name_len < 250 ? e->name_len : 250), (const char *)e->name);
    s.member = mname;
    if (zip_member(&s, &z, e, &data)) {
        zip_free(&z);
        return 1;
    }
    rc = npy_from_memory(&s, data, (size_t)e->usize, want, a);
    free(data);
    zip_free(&z);
    return rc;
}

/* ---- writing ---------------------------------------------------------------------------- */

int nnc_host_npy_save(const char *path, const float *data, const long *shape, int ndim)
{
    host_src s = { path ? path : "(null)", NULL };
    char hdr[512], shp[200], tmp[4096];
    size_t hl, total;
    long count;
    int fd = -1, attempt;
    static long serial;
    FILE *f;
    if (!path || ndim < 0 || ndim > NNC_HOST_MAX_DIMS || (ndim && !shape)) {
        host_err(&s, "expected a path and 0 to %d extents, given %d", NNC_HOST_MAX_DIMS, ndim);
        return 1;
    }
    count = host_count(shape, ndim, 4);
    if (count < 0 || (count && !data)) {
        host_err(&s, "expected non-negative extents that fit in memory and data for them");
        return 1;
    }
    host_format_shape(shape, ndim, shp, sizeof shp);
    hl = (size_t)snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", shp);
    /* pad with spaces so that the data starts at a multiple of 64, then '\n' */
    while ((10 + hl + 1) % 64)
        hdr[hl++] = ' ';
    hdr[hl++] = '\n';
    for (attempt = 0; attempt < 100 && fd < 0; attempt++) {
        if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp%ld.%ld", path, (long)getpid(), serial++) >= sizeof tmp) {
            host_err(&s, "the path is too long");
            return 1;
        }
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        host_err(&s, "cannot create %s: %s", tmp, strerror(errno));
        return 1;
    }
    if ((f = fdopen(fd, "wb")) == NULL) {
        host_err(&s, "cannot write %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return 1;
    }
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc((int)(hl & 0xff), f);
    fputc((int)(hl >> 8), f);
    fwrite(hdr, 1, hl, f);
    total = (size_t)count;
    if (!host_is_big_endian()) {
        if (total)
            fwrite(data, 4, total, f);
    } else {
        unsigned char chunk[4096];
        size_t i = 0;
        while (i < total) {
            size_t k, m = total - i < sizeof chunk / 4 ? total - i : sizeof chunk / 4;
            for (k = 0; k < m; k++) {
                uint32_t b;
                memcpy(&b, data + i + k, 4);
                chunk[4 * k] = (unsigned char)b;
                chunk[4 * k + 1] = (unsigned char)(b >> 8);
                chunk[4 * k + 2] = (unsigned char)(b >> 16);
                chunk[4 * k + 3] = (unsigned char)(b >> 24);
            }
            fwrite(chunk, 4, m, f);
            i += m;
        }
    }
    if (fflush(f) != 0 || ferror(f)) {
        host_err(&s, "write error on %s: %s", tmp, strerror(errno));
        fclose(f);
        unlink(tmp);
        return 1;
    }
    if (fclose(f) != 0) {
        host_err(&s, "write error on %s: %s", tmp, strerror(errno));
        unlink(tmp);
        return 1;
    }
    if (rename(tmp, path) != 0) {
        host_err(&s, "cannot rename %s to it: %s", tmp, strerror(errno));
        unlink(tmp);
        return 1;
    }
    return 0;
}
