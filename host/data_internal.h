/* data_internal.h — what the data readers of the host library (data.c,
 * npy.c, csv.c, idx.c) share: where a message points (file, member), the
 * element types files store, and their conversion to the float32 / int32
 * an nnc_host_array holds.  Not installed; the public interface is
 * nnc_host.h.
 */
#ifndef NNC_HOST_DATA_INTERNAL_H
#define NNC_HOST_DATA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "nnc_host.h"

#if defined(__GNUC__)
#define HOST_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define HOST_PRINTF(f, a)
#endif

/* where a message points: the file and, inside an .npz, the member */
typedef struct host_src {
    const char *path;
    const char *member;     /* NULL outside an archive */
} host_src;

/* prints "PATH: [member 'M': ]MESSAGE\n" to stderr: the one message of a failure */
void host_err(const host_src *s, const char *fmt, ...) HOST_PRINTF(2, 3);

/* a stored element type: kind 'f' (IEEE binary16/32/64), 'i', 'u' or 'b'
 * (bool, one byte), size in bytes, big-endian or not */
typedef struct host_elem {
    char kind;
    int size;
    int big;
} host_elem;

int host_is_big_endian(void);

/* "[3, 14]": the multi-index of flat element k of a's shape (buf >= 200 bytes) */
void host_format_index(const nnc_host_array *a, long k, char *buf, size_t cap);
/* "(60000, 784)" (buf >= 200 bytes) */
void host_format_shape(const long *shape, int ndim, char *buf, size_t cap);

/* Converts a->shape's elements, stored as t at src, to a->dtype at dst.
 * dst may overlap src when dst <= src and (src - dst) <= count * (4 - t.size)
 * for narrow types (the conversion runs forwards).  scale_u1: u1 values /
 * 255 (IDX images).  first_byte: the file offset of element 0, for messages
 * ("byte N (element [i, j])").  0 on success. */
int host_convert(const host_src *s, const unsigned char *src, host_elem t, long count,
                 size_t first_byte, int scale_u1, nnc_host_array *a, void *dst);

/* the product of shape[0..ndim), or -1 when it does not fit a long or
 * count * max(elem, 4) does not fit a size_t */
long host_count(const long *shape, int ndim, int elem);

/* the whole file, malloc'ed (plus one NUL byte after it); 0 on success */
int host_read_file(const char *path, unsigned char **buf, size_t *len);

/* per-format loaders (a is zeroed by the caller and left so on failure) */
int host_npy_load(const char *path, nnc_host_dtype want, nnc_host_array *a);
int host_npz_load(const char *path, const char *member, nnc_host_dtype want, nnc_host_array *a);
/* 1 when the archive has a member named name (or name.npy), 0 when not,
 * -1 (message printed) when it cannot be read */
int host_npz_has(const char *path, const char *name);
/* missing_ok: names in exclude that the header lacks are skipped (the
 * default label column when predicting) instead of refused */
int host_csv_load(const char *path, const char *column, const char *exclude, int missing_ok,
                  nnc_host_dtype want, nnc_host_array *a);
/* 1 when the header names column name, 0 when not, -1 on error */
int host_csv_has(const char *path, const char *name);
int host_idx_load(const char *path, nnc_host_dtype want, nnc_host_array *a);

#endif
