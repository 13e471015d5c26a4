/* idx.c — IDX files (MNIST's and Fashion-MNIST's format), gzipped or not.
 *
 * Rules:
 *   - magic: two zero bytes, the element type (0x08 u1, 0x09 i1, 0x0B i2,
 *     0x0C i4, 0x0D f4, 0x0E f8, all big-endian) and the number of
 *     dimensions (1 to 8); then one big-endian u32 extent per dimension;
 *     then the elements, row-major, exactly as many as the extents say
 *     (fewer is "truncated", more is refused).
 *   - read through zlib's gzread, which reads gzip and plain files alike;
 *     a corrupt or cut gzip stream is refused with zlib's reason.  Byte
 *     offsets in messages count the decompressed bytes.
 *   - u1 data of two or more dimensions (images) read as float32 is
 *     divided by 255 (multiplied by 1.0f / 255.0f, as the examples'
 *     loader does), so pixels lie in [0, 1]; 1-D u1 data (labels) and
 *     anything read as int32 keep their values.  Other types convert as
 *     data.c says.
 */
#include "data_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

/* reads len bytes at decompressed offset off; 1 with a message if fewer */
static int gz_exact(const host_src *s, gzFile f, unsigned char *p, size_t len, size_t off, const char *what,
                    const char *unit)
{
    size_t done = 0;
    while (done < len) {
        unsigned chunk = len - done > (1u << 30) ? (1u << 30) : (unsigned)(len - done);
        int got = gzread(f, p + done, chunk);
        if (got < 0) {
            int errnum;
            const char *msg = gzerror(f, &errnum);
            host_err(s, "byte %zu%s: cannot read the %s: %s", off + done, unit, what,
                     errnum == Z_ERRNO ? strerror(errno) : msg);
            return 1;
        }
        if (got == 0) {
            int errnum;
            const char *msg = gzerror(f, &errnum);
            host_err(s, "byte %zu%s: truncated: expected %zu bytes of %s from byte %zu, found %zu%s%s", off + done,
                     unit, len, what, off, done, errnum != Z_OK ? "; zlib: " : "", errnum != Z_OK ? msg : "");
            return 1;
        }
        done += (size_t)got;
    }
    return 0;
}

int host_idx_load(const char *path, nnc_host_dtype want, nnc_host_array *a)
{
    host_src s = { path, NULL };
    gzFile f;
    unsigned char hdr[4 + 4 * NNC_HOST_MAX_DIMS], *buf = NULL, extra;
    host_elem t = { 'u', 1, 1 };
    const char *unit, *stored;
    size_t hl, nbytes, place;
    long count;
    int ndim, d, got;

    errno = 0;
    f = gzopen(path, "rb");
    if (!f) {
        host_err(&s, "cannot open: %s", errno ? strerror(errno) : "out of memory");
        return 1;
    }
    gzbuffer(f, 1u << 17);
    got = gzread(f, hdr, 4);
    unit = gzdirect(f) ? "" : " (decompressed)";
    if (got < 4) {
        int errnum;
        const char *msg = gzerror(f, &errnum);
        host_err(&s, "byte %d%s: truncated: expected a 4-byte IDX magic, found %d bytes%s%s", got < 0 ? 0 : got,
                 unit, got < 0 ? 0 : got, errnum != Z_OK ? "; zlib: " : "", errnum != Z_OK ? msg : "");
        goto fail;
    }
    switch (hdr[2]) {
    case 0x08: t.kind = 'u'; t.size = 1; stored = "u1"; break;
    case 0x09: t.kind = 'i'; t.size = 1; stored = "i1"; break;
    case 0x0B: t.kind = 'i'; t.size = 2; stored = ">i2"; break;
    case 0x0C: t.kind = 'i'; t.size = 4; stored = ">i4"; break;
    case 0x0D: t.kind = 'f'; t.size = 4; stored = ">f4"; break;
    case 0x0E: t.kind = 'f'; t.size = 8; stored = ">f8"; break;
    default: stored = NULL; break;
    }
    if (hdr[0] != 0 || hdr[1] != 0 || !stored || hdr[3] < 1 || hdr[3] > NNC_HOST_MAX_DIMS) {
        host_err(&s, "byte 0%s: expected an IDX magic 00 00 TT NN (TT one of 08 09 0b 0c 0d 0e, NN 1 to %d "
                 "dimensions), found %02x %02x %02x %02x", unit, NNC_HOST_MAX_DIMS, hdr[0], hdr[1], hdr[2], hdr[3]);
        goto fail;
    }
    ndim = hdr[3];
    hl = 4 + 4 * (size_t)ndim;
    if (gz_exact(&s, f, hdr + 4, hl - 4, 4, "IDX header's extents", unit))
        goto fail;
    a->ndim = ndim;
    for (d = 0; d < ndim; d++) {
        const unsigned char *p = hdr + 4 + 4 * d;
        a->shape[d] = (long)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
    }
    count = host_count(a->shape, ndim, t.size);
    if (count < 0) {
        char shp[200];
        host_format_shape(a->shape, ndim, shp, sizeof shp);
        host_err(&s, "byte 4%s: expected a shape that fits in memory, found %s", unit, shp);
        goto fail;
    }
    nbytes = (size_t)count * (size_t)t.size;
    place = t.size < 4 ? (size_t)count * 4 - nbytes : 0;
    if ((buf = malloc(place + nbytes ? place + nbytes : 1)) == NULL) {
        host_err(&s, "out of memory for %zu bytes", nbytes);
        goto fail;
    }
    if (gz_exact(&s, f, buf + place, nbytes, hl, "IDX data", unit))
        goto fail;
    got = gzread(f, &extra, 1);
    if (got != 0) {
        int errnum;
        const char *msg = gzerror(f, &errnum);
        if (got > 0) {
            char shp[200];
            host_format_shape(a->shape, ndim, shp, sizeof shp);
            host_err(&s, "byte %zu%s: expected the end of the data (shape %s, %s), found more bytes",
                     hl + nbytes, unit, shp, stored);
        } else {
            host_err(&s, "byte %zu%s: cannot read past the data: %s", hl + nbytes, unit, msg);
        }
        goto fail;
    }
    a->dtype = want;
    if (host_convert(&s, buf + place, t, count, hl, ndim >= 2, a, buf))
        goto fail;
    if (t.size > 4 && count) {
        unsigned char *b = realloc(buf, (size_t)count * 4);
        if (b)
            buf = b;
    }
    a->data = buf;
    snprintf(a->stored, sizeof a->stored, "%s", stored);
    gzclose(f);
    return 0;
fail:
    free(buf);
    memset(a, 0, sizeof *a);
    gzclose(f);
    return 1;
}
