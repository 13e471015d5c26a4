/* test_host_data.c — unit tests for the host library's data readers
 * (host/data.c, npy.c, csv.c, idx.c): files built byte by byte here
 * (.npy of every version and several dtypes, .npz archives stored and
 * deflated, IDX plain and gzipped, CSV with quotes, CRLF and blank lines,
 * raw float32), read back through nnc_host_array_load / nnc_host_xy_load,
 * and every refusal: the one message on stderr must name the file and the
 * place (byte offset, row/column/name, member) and the output stay empty.
 * tests/host_data.py checks the same readers against files NumPy writes.
 */
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "check_run.h"
#include "nnc_host.h"

static char dir[256];

/* dir/name, in one of four rotating buffers */
static const char *pth(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void put(const char *name, const void *data, size_t n)
{
    FILE *f = fopen(pth(name), "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

static void put_text(const char *name, const char *text) { put(name, text, strlen(text)); }

/* ---- stderr capture ---------------------------------------------------------------- */

static int saved_fd = -1;
static char captured[8192];

static void cap_begin(void)
{
    int fd;
    fflush(stderr);
    saved_fd = dup(2);
    fd = open(pth("stderr.txt"), O_RDWR | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    dup2(fd, 2);
    close(fd);
}

static const char *cap_end(void)
{
    FILE *f;
    size_t n;
    fflush(stderr);
    dup2(saved_fd, 2);
    close(saved_fd);
    f = fopen(pth("stderr.txt"), "rb");
    ck_assert_ptr_nonnull(f);
    n = fread(captured, 1, sizeof captured - 1, f);
    captured[n] = '\0';
    fclose(f);
    return captured;
}

/* the message is one line that starts with the file's path and holds each
 * of the needles */
static void expect_message(const char *msg, const char *file, const char *n1, const char *n2, const char *n3)
{
    const char *nl = strchr(msg, '\n');
    ck_assert_msg(strncmp(msg, file, strlen(file)) == 0 && msg[strlen(file)] == ':',
                  "message does not start with '%s:': %s", file, msg);
    ck_assert_msg(nl && nl[1] == '\0', "expected one line, found: %s", msg);
    ck_assert_msg(!n1 || strstr(msg, n1), "message lacks '%s': %s", n1, msg);
    ck_assert_msg(!n2 || strstr(msg, n2), "message lacks '%s': %s", n2, msg);
    ck_assert_msg(!n3 || strstr(msg, n3), "message lacks '%s': %s", n3, msg);
}

static void load_fails(const char *name, const char *member, const char *exclude, nnc_host_dtype want,
                       const long *hint, int dims, const char *n1, const char *n2, const char *n3)
{
    nnc_host_array a;
    int rc;
    memset(&a, 0x5a, sizeof a);
    cap_begin();
    rc = nnc_host_array_load(pth(name), member, exclude, want, hint, dims, &a);
    cap_end();
    ck_assert_msg(rc != 0, "%s loaded", name);
    ck_assert_ptr_null(a.data);
    ck_assert_int_eq(a.ndim, 0);
    ck_assert_int_eq(a.shape[0], 0);
    expect_message(captured, pth(name), n1, n2, n3);
}

static void load_ok(const char *name, const char *member, const char *exclude, nnc_host_dtype want,
                    nnc_host_array *a)
{
    int rc;
    cap_begin();
    rc = nnc_host_array_load(pth(name), member, exclude, want, NULL, 0, a);
    cap_end();
    ck_assert_msg(rc == 0, "%s: %s", name, captured);
    ck_assert_str_eq(captured, "");
}

/* ---- .npy built by hand ---------------------------------------------------------------- */

/* a .npy of the given version with dict as its header (padded so the data
 * start at a multiple of 64), then n data bytes; returns the data offset */
static size_t npy_bytes(unsigned char *out, int version, const char *dict, const void *data, size_t n)
{
    size_t pre = version == 1 ? 10 : 12, hl = strlen(dict), i;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (unsigned char)version;
    out[7] = 0;
    memcpy(out + pre, dict, hl);
    while ((pre + hl + 1) % 64)
        out[pre + hl++] = ' ';
    out[pre + hl++] = '\n';
    if (version == 1) {
        out[8] = (unsigned char)hl;
        out[9] = (unsigned char)(hl >> 8);
    } else {
        for (i = 0; i < 4; i++)
            out[8 + i] = (unsigned char)(hl >> (8 * i));
    }
    memcpy(out + pre + hl, data, n);
    return pre + hl;
}

static size_t npy_file(const char *name, int version, const char *dict, const void *data, size_t n, long cut)
{
    static unsigned char buf[1 << 16];
    size_t off = npy_bytes(buf, version, dict, data, n);
    put(name, buf, (size_t)((long)(off + n) + cut));
    return off;
}

START_TEST(npy_save_round_trip)
{
    const float v[12] = { 0, 1.5f, -2, 3.25f, 1e-30f, -0.0f, 65504, 7, 8, 9, 10, INFINITY };
    const long shape2[2] = { 3, 4 }, shape1[1] = { 12 }, shape3[3] = { 2, 3, 2 };
    nnc_host_array a;
    unsigned char head[128];
    FILE *f;
    ck_assert_int_eq(nnc_host_npy_save(pth("s.npy"), v, shape2, 2), 0);
    f = fopen(pth("s.npy"), "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(head, 1, sizeof head, f), sizeof head);
    fclose(f);
    ck_assert_int_eq(memcmp(head, "\x93NUMPY\x01\x00", 8), 0);
    ck_assert_uint_eq(head[8] | head[9] << 8, 118);     /* 10 + 118 = 128: numpy's 64-byte alignment */
    ck_assert_int_eq(memcmp(head + 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", 59), 0);
    ck_assert_int_eq(head[127], '\n');
    load_ok("s.npy", NULL, NULL, NNC_HOST_F32, &a);
    ck_assert_int_eq(a.ndim, 2);
    ck_assert_int_eq(a.shape[0], 3);
    ck_assert_int_eq(a.shape[1], 4);
    ck_assert_int_eq(nnc_host_array_sample_size(&a), 4);
    ck_assert_str_eq(a.stored, "<f4");
    ck_assert_int_eq(memcmp(a.data, v, sizeof v), 0);
    nnc_host_array_free(&a);
    ck_assert_ptr_null(a.data);

    ck_assert_int_eq(nnc_host_npy_save(pth("s1.npy"), v, shape1, 1), 0);
    load_ok("s1.npy", NULL, NULL, NNC_HOST_F32, &a);
    ck_assert_int_eq(a.ndim, 1);
    ck_assert_int_eq(a.shape[0], 12);
    ck_assert_int_eq(nnc_host_array_sample_size(&a), 1);
    ck_assert_int_eq(memcmp(a.data, v, sizeof v), 0);
    nnc_host_array_free(&a);

    ck_assert_int_eq(nnc_host_npy_save(pth("s3.npy"), v, shape3, 3), 0);
    load_ok("s3.npy", NULL, NULL, NNC_HOST_F32, &a);
    ck_assert_int_eq(a.ndim, 3);
    ck_assert_int_eq(nnc_host_array_sample_size(&a), 6);
    ck_assert_int_eq(memcmp(a.data, v, sizeof v), 0);
    nnc_host_array_free(&a);

    /* a failed save leaves nothing, not even its temporary file */
    cap_begin();
    ck_assert_int_ne(nnc_host_npy_save(pth("no/such/dir.npy"), v, shape1, 1), 0);
    cap_end();
    expect_message(captured, pth("no/such/dir.npy"), "cannot create", NULL, NULL);
}
END_TEST

START_TEST(npy_dtypes)
{
    /* big-endian int16, version 2.0 */
    const unsigned char be_i2[6] = { 0xff, 0xfe, 0x00, 0x07, 0x80, 0x00 };   /* -2, 7, -32768 */
    /* float16: 1, -2, 65504, 2^-24 */
    const uint16_t f2[4] = { 0x3c00, 0xc000, 0x7bff, 0x0001 };
    const unsigned char b1[3] = { 1, 0, 1 };
    const double f8[2] = { 0.1, -1e-40 };
    const int64_t i8[3] = { -5, 0, 2147483647 };
    nnc_host_array a;
    const int32_t *iv;
    const float *fv;

    npy_file("i2.npy", 2, "{'descr': '>i2', 'fortran_order': False, 'shape': (3,), }", be_i2, 6, 0);
    load_ok("i2.npy", NULL, NULL, NNC_HOST_I32, &a);
    iv = a.data;
    ck_assert_int_eq(iv[0], -2);
    ck_assert_int_eq(iv[1], 7);
    ck_assert_int_eq(iv[2], -32768);
    ck_assert_str_eq(a.stored, ">i2");
    nnc_host_array_free(&a);
    load_ok("i2.npy", NULL, NULL, NNC_HOST_F32, &a);
    ck_assert(((float *)a.data)[2] == -32768.0f);
    nnc_host_array_free(&a);

    npy_file("f2.npy", 3, "{\"descr\": \"<f2\", \"fortran_order\": False, \"shape\": (2, 2)}", f2, 8, 0);
    load_ok("f2.npy", NULL, NULL, NNC_HOST_F32, &a);
    fv = a.data;
    ck_assert(fv[0] == 1.0f && fv[1] == -2.0f && fv[2] == 65504.0f && fv[3] == ldexpf(1, -24));
    nnc_host_array_free(&a);

    npy_file("b1.npy", 1, "{'descr': '|b1', 'fortran_order': False, 'shape': (3L,), }", b1, 3, 0);
    load_ok("b1.npy", NULL, NULL, NNC_HOST_F32, &a);
    fv = a.data;
    ck_assert(fv[0] == 1.0f && fv[1] == 0.0f && fv[2] == 1.0f);
    nnc_host_array_free(&a);

    npy_file("f8.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", f8, 16, 0);
    load_ok("f8.npy", NULL, NULL, NNC_HOST_F32, &a);
    fv = a.data;
    ck_assert(fv[0] == 0.1f && fv[1] == (float)-1e-40);
    nnc_host_array_free(&a);

    npy_file("i8.npy", 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", i8, 24, 0);
    load_ok("i8.npy", NULL, NULL, NNC_HOST_I32, &a);
    iv = a.data;
    ck_assert(iv[0] == -5 && iv[1] == 0 && iv[2] == 2147483647);
    nnc_host_array_free(&a);

    /* Fortran order is the same layout when at most one extent exceeds 1 */
    npy_file("fo1.npy", 1, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 1), }", f8, 16, 0);
    load_ok("fo1.npy", NULL, NULL, NNC_HOST_F32, &a);
    ck_assert_int_eq(a.shape[0], 2);
    nnc_host_array_free(&a);

    /* zero samples is a valid array */
    npy_file("empty.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5), }", "", 0, 0);
    load_ok("empty.npy", NULL, NULL, NNC_HOST_F32, &a);
    ck_assert_int_eq(a.shape[0], 0);
    ck_assert_int_eq(a.shape[1], 5);
    nnc_host_array_free(&a);
}
END_TEST

START_TEST(npy_errors)
{
    const float f4[6] = { 1, 2.5f, 3, 4, 5, 6 };
    const double big[2] = { 1, 1e300 };
    const uint32_t u4[2] = { 1, 3000000000u };
    char at[64];
    size_t off;

    put("short.npy", "\x93NUMPY\x01", 7);
    load_fails("short.npy", NULL, NULL, NNC_HOST_F32, NULL, 0, "byte 7: truncated", "at least 10 bytes", NULL);
    put("magic.npy", "PK\x03\x04 not numpy at all", 22);
    load_fails("magic.npy", NULL, NULL, NNC_HOST_F32, NULL, 0, "byte 0: expected the .npy magic", "found 'PK", NULL);
    put("ver.npy", "\x93NUMPY\x04\x00\x10\x00{}", 12);
    load_fails("ver.npy", NULL, NULL, NNC_HOST_F32, NULL, 0, "byte 6", "version 1.0, 2.0 or 3.0", "found 4.0");
    put("hdr.npy", "\x93NUMPY\x01\x00\x76\x00{'descr'", 17);
    load_fails("hdr.npy", NULL, NULL, NNC_HOST_F32, NULL, 0, "byte 17: truncated", "118-byte header", NULL);

    off = npy_file("trunc.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f4, 24, -5);
    snprintf(at, sizeof at, "byte %zu: truncated", off + 19);
    load_fails("trunc.npy", NULL, NULL, NNC_HOST_F32, NULL, 0, at, "expected 24 data bytes", "found 19");
    off = npy_file("long.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", f4, 24, 0);
    snprintf(at, sizeof at, "byte %zu: expected the end of the data", off + 20);
    load_fails("long.npy", NULL, NULL, NNC_HOST_F32, NULL, 0, at, "found 4 more bytes", NULL);

    npy_file("fortran.npy", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", f4, 24, 0);
    load_fails("fortran.npy", NULL, NULL, NNC_HOST_F32, NULL, 0, "byte 10:", "expected C order", "Fortran-order array of shape (2, 3)");
    npy_file("c8.npy", 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }", f4, 24, 0);
    load_fails("c8.npy", NULL, NULL, NNC_HOST_F32, NULL, 0, "byte 20:", "expected a dtype of f2 f4", "found ''<c8'");
    npy_file("rec.npy", 1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,), }", f4, 12, 0);
    load_fails("rec.npy", NULL, NULL, NNC_HOST_F32, NULL, 0, "byte 20:", "expected a simple dtype", NULL);
    npy_file("0d.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", f4, 4, 0);
    load_fails("0d.npy", NULL, NULL, NNC_HOST_F32, NULL, 0, "byte 10:", "found a 0-d array", NULL);
    npy_file("key.npy", 1, "{'descr': '<f4', 'order': False, 'shape': (1,), }", f4, 4, 0);
    load_fails("key.npy", NULL, NULL, NNC_HOST_F32, NULL, 0, "byte 27:", "keys 'descr', 'fortran_order', 'shape'", NULL);
    npy_file("nokey.npy", 1, "{'descr': '<f4', 'shape': (1,), }", f4, 4, 0);
    load_fails("nokey.npy", NULL, NULL, NNC_HOST_F32, NULL, 0, "the key 'fortran_order'", NULL, NULL);
    npy_file("dims.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", f4, 4, 0);
    load_fails("dims.npy", NULL, NULL, NNC_HOST_F32, NULL, 0, "at most 8 dimensions", NULL, NULL);

    /* values int32 cannot hold, named by byte and element */
    off = npy_file("frac.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f4, 24, 0);
    snprintf(at, sizeof at, "byte %zu (element [0, 1])", off + 4);
    load_fails("frac.npy", NULL, NULL, NNC_HOST_I32, NULL, 0, at, "expected an integer", "found 2.5");
    off = npy_file("u4.npy", 1, "{'descr': '<u4', 'fortran_order': False, 'shape': (2,), }", u4, 8, 0);
    snprintf(at, sizeof at, "byte %zu (element [1])", off + 4);
    load_fails("u4.npy", NULL, NULL, NNC_HOST_I32, NULL, 0, at, "int32's range", "found 3000000000");
    off = npy_file("big.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", big, 16, 0);
    snprintf(at, sizeof at, "byte %zu (element [1])", off + 8);
    load_fails("big.npy", NULL, NULL, NNC_HOST_F32, NULL, 0, at, "float32's range", "1.0000000000000001e+300");

    /* names and options that cannot apply */
    load_fails("data.txt", NULL, NULL, NNC_HOST_F32, NULL, 0, "unknown data format", ".npy, .npz, .csv", NULL);
    load_fails("frac.npy", "x", NULL, NNC_HOST_F32, NULL, 0, "member or column ('x')", NULL, NULL);
    load_fails("frac.npy", NULL, "a", NNC_HOST_F32, NULL, 0, "only be given for a .csv", NULL, NULL);
    load_fails("missing.npy", NULL, NULL, NNC_HOST_F32, NULL, 0, "cannot open", NULL, NULL);
}
END_TEST

/* ---- .npz built by hand ------------------------------------------------------------------ */

typedef struct zmember {
    const char *name;
    const unsigned char *data;
    size_t len;
    int deflate;
} zmember;

static void le16(unsigned char *p, unsigned v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }
static void le32(unsigned char *p, uint32_t v) { le16(p, v & 0xffff); le16(p + 2, v >> 16); }

static void le64(unsigned char *p, uint64_t v) { le32(p, (uint32_t)v); le32(p + 4, (uint32_t)(v >> 32)); }

/* a zip of the members; returns its length.  zip64: the central directory
 * gives sizes and offsets in zip64 extra fields and the end record is
 * zip64's (locator, record, then the classic record saturated). */
static int zip64;
static size_t zip_bytes(unsigned char *out, const zmember *m, int n)
{
    size_t at = 0, cd, off[8], cl[8];
    uint32_t crc[8];
    unsigned char *cdata[8];
    int i;
    for (i = 0; i < n; i++) {
        size_t nl = strlen(m[i].name);
        crc[i] = (uint32_t)crc32(0, m[i].data, (uInt)m[i].len);
        if (m[i].deflate) {
            z_stream z;
            memset(&z, 0, sizeof z);
            cdata[i] = malloc(m[i].len + 1024);
            ck_assert_int_eq(deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
            z.next_in = (Bytef *)(uintptr_t)m[i].data;
            z.avail_in = (uInt)m[i].len;
            z.next_out = cdata[i];
            z.avail_out = (uInt)(m[i].len + 1024);
            ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
            cl[i] = z.total_out;
            deflateEnd(&z);
        } else {
            cdata[i] = malloc(m[i].len + 1);
            memcpy(cdata[i], m[i].data, m[i].len);
            cl[i] = m[i].len;
        }
        off[i] = at;
        memset(out + at, 0, 30);
        le32(out + at, 0x04034b50u);
        le16(out + at + 4, 20);
        le16(out + at + 8, m[i].deflate ? 8 : 0);
        le32(out + at + 14, crc[i]);
        le32(out + at + 18, (uint32_t)cl[i]);
        le32(out + at + 22, (uint32_t)m[i].len);
        le16(out + at + 26, (unsigned)nl);
        memcpy(out + at + 30, m[i].name, nl);
        memcpy(out + at + 30 + nl, cdata[i], cl[i]);
        at += 30 + nl + cl[i];
        free(cdata[i]);
    }
    cd = at;
    for (i = 0; i < n; i++) {
        size_t nl = strlen(m[i].name);
        memset(out + at, 0, 46);
        le32(out + at, 0x02014b50u);
        le16(out + at + 4, 20);
        le16(out + at + 6, 20);
        le16(out + at + 10, m[i].deflate ? 8 : 0);
        le32(out + at + 16, crc[i]);
        le32(out + at + 20, (uint32_t)cl[i]);
        le32(out + at + 24, (uint32_t)m[i].len);
        le16(out + at + 28, (unsigned)nl);
        le32(out + at + 42, (uint32_t)off[i]);
        memcpy(out + at + 46, m[i].name, nl);
        if (zip64) {
            le32(out + at + 20, 0xFFFFFFFFu);
            le32(out + at + 24, 0xFFFFFFFFu);
            le32(out + at + 42, 0xFFFFFFFFu);
            le16(out + at + 30, 28);
            le16(out + at + 46 + nl, 1);
            le16(out + at + 48 + nl, 24);
            le64(out + at + 50 + nl, m[i].len);
            le64(out + at + 58 + nl, cl[i]);
            le64(out + at + 66 + nl, off[i]);
            at += 28;
        }
        at += 46 + nl;
    }
    if (zip64) {
        size_t rec = at;
        memset(out + at, 0, 76);
        le32(out + at, 0x06064b50u);
        le64(out + at + 4, 44);
        le64(out + at + 24, (uint64_t)n);
        le64(out + at + 32, (uint64_t)n);
        le64(out + at + 40, at - cd);
        le64(out + at + 48, cd);
        at += 56;
        le32(out + at, 0x07064b50u);
        le64(out + at + 8, rec);
        le32(out + at + 16, 1);
        at += 20;
        memset(out + at, 0, 22);
        le32(out + at, 0x06054b50u);
        le16(out + at + 8, 0xFFFF);
        le16(out + at + 10, 0xFFFF);
        le32(out + at + 12, 0xFFFFFFFFu);
        le32(out + at + 16, 0xFFFFFFFFu);
        return at + 22;
    }
    memset(out + at, 0, 22);
    le32(out + at, 0x06054b50u);
    le16(out + at + 8, (unsigned)n);
    le16(out + at + 10, (unsigned)n);
    le32(out + at + 12, (uint32_t)(at - cd));
    le32(out + at + 16, (uint32_t)cd);
    return at + 22;
}

START_TEST(npz_members)
{
    static unsigned char x[4096], y[4096], z[16384];
    const float xv[6] = { 1, 2, 3, 4, 5, 6 };
    const int64_t yv[2] = { 1, 0 };
    size_t xl = npy_bytes(x, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", xv, 24) + 24;
    size_t yl = npy_bytes(y, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", yv, 16) + 16;
    zmember m[2] = { { "x.npy", x, 0, 0 }, { "y.npy", y, 0, 0 } };
    nnc_host_array a;
    nnc_host_xy d;
    nnc_host_io io;
    size_t zl;
    int deflate;
    m[0].len = xl;
    m[1].len = yl;
    for (deflate = 0; deflate < 2; deflate++) {
        m[0].deflate = m[1].deflate = deflate;
        zl = zip_bytes(z, m, 2);
        put("xy.npz", z, zl);
        load_ok("xy.npz", "x", NULL, NNC_HOST_F32, &a);
        ck_assert_int_eq(a.ndim, 2);
        ck_assert_int_eq(memcmp(a.data, xv, sizeof xv), 0);
        nnc_host_array_free(&a);
        load_ok("xy.npz", "y.npy", NULL, NNC_HOST_I32, &a);
        ck_assert_int_eq(((int32_t *)a.data)[0], 1);
        ck_assert_str_eq(a.stored, "<i8");
        nnc_host_array_free(&a);

        memset(&io, 0, sizeof io);
        io.input_size = 3;
        io.label_size = 1;
        io.sparse_labels = 1;
        io.classes = 2;
        cap_begin();
        ck_assert_int_eq(nnc_host_xy_load(pth("xy.npz"), NULL, NULL, &io, 1, &d), 0);
        cap_end();
        ck_assert_int_eq(d.n, 2);
        ck_assert_int_eq(d.y.dtype, NNC_HOST_I32);
        nnc_host_xy_free(&d);

        load_fails("xy.npz", "z", NULL, NNC_HOST_F32, NULL, 0, "expected a member 'z' (z.npy)", "found 'x', 'y'", NULL);
        load_fails("xy.npz", NULL, NULL, NNC_HOST_F32, NULL, 0, "expected one member or a member name", NULL, NULL);

        /* a corrupt member: one byte of its data changed */
        z[30 + 5 + xl / 2 - (deflate ? xl / 4 : 0)] ^= 0x5a;
        put("bad.npz", z, zl);
        load_fails("bad.npz", "x", NULL, NNC_HOST_F32, NULL, 0, "member 'x.npy'", deflate ? "byte 35" : "CRC-32", NULL);

        /* cut in half: no end-of-central-directory record */
        zl = zip_bytes(z, m, 2);
        put("cut.npz", z, zl / 2);
        load_fails("cut.npz", "x", NULL, NNC_HOST_F32, NULL, 0, "end-of-central-directory", "not an .npz, or truncated", NULL);
    }

    /* a member that is not a whole .npy: its own byte offsets */
    m[0].len = xl - 8;
    m[0].deflate = 1;
    zl = zip_bytes(z, m, 1);
    put("short.npz", z, zl);
    load_fails("short.npz", "x", NULL, NNC_HOST_F32, NULL, 0, "member 'x.npy': byte 144: truncated", "expected 24 data bytes from byte 128", "found 16");
    load_fails("short.npz", NULL, NULL, NNC_HOST_F32, NULL, 0, "member 'x.npy': byte 144: truncated", NULL, NULL);

    /* zip64 directory and end records */
    zip64 = 1;
    m[0].len = xl;
    zl = zip_bytes(z, m, 2);
    zip64 = 0;
    put("z64.npz", z, zl);
    load_ok("z64.npz", "y", NULL, NNC_HOST_I32, &a);
    ck_assert_int_eq(a.shape[0], 2);
    ck_assert_int_eq(((int32_t *)a.data)[0], 1);
    nnc_host_array_free(&a);
    load_ok("z64.npz", "x", NULL, NNC_HOST_F32, &a);
    ck_assert_int_eq(memcmp(a.data, xv, sizeof xv), 0);
    nnc_host_array_free(&a);

    /* an .npy named .npz */
    put("npy.npz", x, xl);
    load_fails("npy.npz", "x", NULL, NNC_HOST_F32, NULL, 0, "byte 0: expected a zip archive", "found a .npy file", NULL);
}
END_TEST

/* ---- IDX ------------------------------------------------------------------------------------- */

static size_t idx_bytes(unsigned char *out, int type, int ndim, const uint32_t *dims, const void *data, size_t n)
{
    int d;
    out[0] = out[1] = 0;
    out[2] = (unsigned char)type;
    out[3] = (unsigned char)ndim;
    for (d = 0; d < ndim; d++) {
        out[4 + 4 * d] = (unsigned char)(dims[d] >> 24);
        out[5 + 4 * d] = (unsigned char)(dims[d] >> 16);
        out[6 + 4 * d] = (unsigned char)(dims[d] >> 8);
        out[7 + 4 * d] = (unsigned char)dims[d];
    }
    memcpy(out + 4 + 4 * ndim, data, n);
    return 4 + 4 * (size_t)ndim + n;
}

static void put_gz(const char *name, const void *data, size_t n)
{
    gzFile f = gzopen(pth(name), "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(gzwrite(f, data, (unsigned)n), (int)n);
    ck_assert_int_eq(gzclose(f), Z_OK);
}

START_TEST(idx_files)
{
    unsigned char img[2 * 3 * 2], buf[256];
    const uint32_t idims[3] = { 2, 3, 2 }, ldims[1] = { 4 }, fdims[2] = { 1, 2 };
    const unsigned char labels[4] = { 9, 0, 3, 7 };
    const unsigned char be_f4[8] = { 0x3f, 0xc0, 0, 0, 0xc0, 0x20, 0, 0 };    /* 1.5, -2.5 */
    nnc_host_array a;
    size_t n;
    int i, gz;
    for (i = 0; i < 12; i++)
        img[i] = (unsigned char)(i * 23);
    for (gz = 0; gz < 2; gz++) {
        const char *in = gz ? "im-idx3-ubyte.gz" : "im-idx3-ubyte", *ln = gz ? "lab-idx1-ubyte.gz" : "lab.idx1";
        n = idx_bytes(buf, 0x08, 3, idims, img, sizeof img);
        if (gz) put_gz(in, buf, n); else put(in, buf, n);
        load_ok(in, NULL, NULL, NNC_HOST_F32, &a);
        ck_assert_int_eq(a.ndim, 3);
        ck_assert_int_eq(a.shape[0], 2);
        ck_assert_int_eq(nnc_host_array_sample_size(&a), 6);
        for (i = 0; i < 12; i++)
            ck_assert(((float *)a.data)[i] == (float)img[i] * (1.0f / 255.0f));
        nnc_host_array_free(&a);

        n = idx_bytes(buf, 0x08, 1, ldims, labels, 4);
        if (gz) put_gz(ln, buf, n); else put(ln, buf, n);
        load_ok(ln, NULL, NULL, NNC_HOST_I32, &a);
        ck_assert_int_eq(a.ndim, 1);
        for (i = 0; i < 4; i++)
            ck_assert_int_eq(((int32_t *)a.data)[i], labels[i]);
        nnc_host_array_free(&a);
        load_ok(ln, NULL, NULL, NNC_HOST_F32, &a);              /* 1-D: labels, not scaled */
        ck_assert(((float *)a.data)[0] == 9.0f);
        nnc_host_array_free(&a);
    }
    n = idx_bytes(buf, 0x0D, 2, fdims, be_f4, 8);
    put("f.idx", buf, n);
    load_ok("f.idx", NULL, NULL, NNC_HOST_F32, &a);
    ck_assert(((float *)a.data)[0] == 1.5f && ((float *)a.data)[1] == -2.5f);
    ck_assert_str_eq(a.stored, ">f4");
    nnc_host_array_free(&a);

    /* truncated data, plain and gzipped; trailing bytes; a bad magic; a cut gzip stream */
    n = idx_bytes(buf, 0x08, 3, idims, img, sizeof img);
    put("t-idx3", buf, n - 3);
    load_fails("t-idx3", NULL, NULL, NNC_HOST_F32, NULL, 0, "byte 25: truncated", "expected 12 bytes of IDX data from byte 16", "found 9");
    put_gz("t-idx3.gz", buf, n - 3);
    load_fails("t-idx3.gz", NULL, NULL, NNC_HOST_F32, NULL, 0, "byte 25 (decompressed): truncated", NULL, NULL);
    put("x-idx3", buf, n + 1);
    load_fails("x-idx3", NULL, NULL, NNC_HOST_F32, NULL, 0, "byte 28: expected the end of the data", "(2, 3, 2)", NULL);
    buf[2] = 0x07;
    put("m-idx3", buf, n);
    load_fails("m-idx3", NULL, NULL, NNC_HOST_F32, NULL, 0, "byte 0: expected an IDX magic", "found 00 00 07 03", NULL);
    put("h-idx3", buf, 9);
    buf[2] = 0x08;
    put("h-idx3", buf, 9);
    load_fails("h-idx3", NULL, NULL, NNC_HOST_F32, NULL, 0, "byte 9: truncated", "IDX header's extents", NULL);
    {   /* a gzip file cut short */
        unsigned char big[4096], gzb[8192];
        FILE *f;
        size_t gl;
        for (i = 0; i < 4000; i++)
            big[i] = (unsigned char)(rand() & 0xff);
        {
            const uint32_t bd[2] = { 40, 100 };
            n = idx_bytes(buf, 0x08, 2, bd, "", 0);
            memcpy(big, buf, n);
        }
        put_gz("cut-idx2.gz", big, 4000 + 12);
        f = fopen(pth("cut-idx2.gz"), "rb");
        gl = fread(gzb, 1, sizeof gzb, f);
        fclose(f);
        put("cut-idx2.gz", gzb, gl / 2);
        load_fails("cut-idx2.gz", NULL, NULL, NNC_HOST_F32, NULL, 0, "(decompressed): truncated", "zlib", NULL);
    }
}
END_TEST

/* ---- CSV --------------------------------------------------------------------------------------- */

START_TEST(csv_files)
{
    nnc_host_array a;
    const float *f;
    const int32_t *l;
    put_text("ok.csv", "\xEF\xBB\xBF" "a, \"b, quoted\" ,label\r\n"
                       "1.5, -2 ,0\r\n"
                       "\r\n"
                       "  \n"
                       "\"3e2\",4.25,2\r\n"
                       "0x10,-0,1");
    load_ok("ok.csv", NULL, NULL, NNC_HOST_F32, &a);
    ck_assert_int_eq(a.ndim, 2);
    ck_assert_int_eq(a.shape[0], 3);
    ck_assert_int_eq(a.shape[1], 3);
    ck_assert_str_eq(a.stored, "csv");
    f = a.data;
    ck_assert(f[0] == 1.5f && f[1] == -2 && f[2] == 0 && f[3] == 300 && f[4] == 4.25f && f[5] == 2 &&
              f[6] == 16 && f[7] == 0 && signbit(f[7]) && f[8] == 1);
    nnc_host_array_free(&a);
    load_ok("ok.csv", "label", NULL, NNC_HOST_I32, &a);
    ck_assert_int_eq(a.ndim, 1);
    ck_assert_int_eq(a.shape[0], 3);
    l = a.data;
    ck_assert(l[0] == 0 && l[1] == 2 && l[2] == 1);
    nnc_host_array_free(&a);
    load_ok("ok.csv", NULL, "label, a", NNC_HOST_F32, &a);
    ck_assert_int_eq(a.shape[1], 1);
    ck_assert(((float *)a.data)[1] == 4.25f);
    nnc_host_array_free(&a);
    load_ok("ok.csv", "b, quoted", NULL, NNC_HOST_F32, &a);
    nnc_host_array_free(&a);

    /* np.savetxt's "# " before the header; a text column excluded is never read */
    put_text("np.csv", "# id,x0,x1\nfoo,1,2\nbar,3,4\n");
    load_ok("np.csv", NULL, "id", NNC_HOST_F32, &a);
    ck_assert_int_eq(a.shape[0], 2);
    ck_assert(((float *)a.data)[3] == 4);
    nnc_host_array_free(&a);

    /* pandas' names for unnamed columns are names */
    put_text("pandas.csv", "0,1,2\n5,6,7\n");
    load_ok("pandas.csv", "2", NULL, NNC_HOST_I32, &a);
    ck_assert_int_eq(((int32_t *)a.data)[0], 7);
    nnc_host_array_free(&a);

    /* numbers the fast path and strtod must read alike */
    put_text("num.csv", "v\n0.1\n1e22\n1e-22\n123456789012345\n1234567890123456789\n3.4028235e38\n-7.000\n.5\n");
    load_ok("num.csv", "v", NULL, NNC_HOST_F32, &a);
    f = a.data;
    ck_assert(f[0] == 0.1f && f[1] == 1e22f && f[2] == 1e-22f && f[3] == 123456789012345.0f &&
              f[4] == 1234567890123456789.0f && f[5] == 3.4028235e38f && f[6] == -7 && f[7] == 0.5f);
    nnc_host_array_free(&a);
}
END_TEST

START_TEST(csv_errors)
{
    put_text("text.csv", "a,b,c\n1,2,3\n4,five,6\n");
    load_fails("text.csv", NULL, NULL, NNC_HOST_F32, NULL, 0, "row 3, column 2 ('b')", "expected a number", "found 'five'");
    put_text("empty-cell.csv", "a,b,c\n1,,3\n");
    load_fails("empty-cell.csv", NULL, NULL, NNC_HOST_F32, NULL, 0, "row 2, column 2 ('b')", "found an empty cell", NULL);
    put_text("few.csv", "a,b,c\n1,2,3\n\n4,5\n");
    load_fails("few.csv", NULL, NULL, NNC_HOST_F32, NULL, 0, "row 4:", "expected 3 cells", "found 2");
    put_text("many.csv", "a,b,c\r\n1,2,3,4,5\r\n");
    load_fails("many.csv", NULL, NULL, NNC_HOST_F32, NULL, 0, "row 2:", "expected 3 cells", "found 5");
    put_text("trail.csv", "a,b\n1,2 x\n");
    load_fails("trail.csv", NULL, NULL, NNC_HOST_F32, NULL, 0, "row 2, column 2 ('b')", "found '2 x'", NULL);
    put_text("quote.csv", "a,b\n1,\"2\n3\"\n");
    load_fails("quote.csv", NULL, NULL, NNC_HOST_F32, NULL, 0, "row 2, column 2 ('b')", "closing quote", NULL);
    put_text("noheader.csv", "1,2\n3,4\n");
    load_fails("noheader.csv", NULL, NULL, NNC_HOST_F32, NULL, 0, "row 1:", "found only numbers", NULL);
    put_text("index.csv", ",a,b\n0,1,2\n");
    load_fails("index.csv", NULL, NULL, NNC_HOST_F32, NULL, 0, "row 1, column 1:", "found an empty one", "index=False");
    put_text("blank.csv", "");
    load_fails("blank.csv", NULL, NULL, NNC_HOST_F32, NULL, 0, "row 1:", "found an empty file", NULL);
    put_text("lab.csv", "x,label\n1,0\n2,1.5\n");
    load_fails("lab.csv", "label", NULL, NNC_HOST_I32, NULL, 0, "row 3, column 2 ('label')", "expected an integer", "found 1.5");
    load_fails("lab.csv", "y", NULL, NNC_HOST_I32, NULL, 0, "row 1:", "column named 'y'", NULL);
    load_fails("lab.csv", NULL, "x,z", NNC_HOST_F32, NULL, 0, "row 1:", "column named 'z' to exclude", NULL);
    load_fails("lab.csv", NULL, "x,label", NNC_HOST_F32, NULL, 0, "at least one column left", NULL, NULL);
    put_text("range.csv", "v\n1e39\n");
    load_fails("range.csv", NULL, NULL, NNC_HOST_F32, NULL, 0, "row 2, column 1 ('v')", "float32's range", NULL);
    put_text("dup.csv", "v,v\n1,2\n");
    load_fails("dup.csv", "v", NULL, NNC_HOST_F32, NULL, 0, "exactly one column named 'v'", NULL, NULL);
}
END_TEST

/* the CSV reader's fast paths give what strtod then a float32 cast give
 * (np.loadtxt(...).astype(np.float32)), for every way numbers get printed */
START_TEST(csv_numbers_match_strtod)
{
    const char *fmts[5] = { "%.18e", "%.17g", "%.9g", "%.3f", "%.0f" };
    const long n = 40000;
    FILE *fo = fopen(pth("nums.csv"), "wb");
    char (*text)[48] = malloc((size_t)n * sizeof *text);
    nnc_host_array a;
    long k, bad = 0;
    unsigned seed = 12345;
    ck_assert_ptr_nonnull(fo);
    ck_assert_ptr_nonnull(text);
    fprintf(fo, "v\n");
    for (k = 0; k < n; k++) {
        double mant, v;
        int ex;
        seed = seed * 1103515245u + 12345u;
        mant = (double)(seed >> 8) / 16777216.0 + (double)(k % 1000) * 1e-9;
        seed = seed * 1103515245u + 12345u;
        ex = (int)((seed >> 16) % 60) - 30;
        v = ldexp(mant, (int)(ex * 3.3)) * ((k & 1) ? -1 : 1);
        if (k % 97 == 0)    /* exactly between two float32s: the slow path must decide */
            v = (double)(float)v + ldexp(1.0, ilogb((float)v) - 24) * ((k & 2) ? 1 : -1);
        snprintf(text[k], sizeof text[k], fmts[k % 5], v);
        fprintf(fo, "%s\n", text[k]);
    }
    fclose(fo);
    load_ok("nums.csv", "v", NULL, NNC_HOST_F32, &a);
    ck_assert_int_eq(a.shape[0], n);
    for (k = 0; k < n; k++) {
        float want = (float)strtod(text[k], NULL), got = ((float *)a.data)[k];
        if (memcmp(&want, &got, 4) != 0 && bad++ < 5)
            fprintf(stderr, "'%s': read %.9g, strtod gives %.9g\n", text[k], (double)got, (double)want);
    }
    ck_assert_int_eq(bad, 0);
    nnc_host_array_free(&a);
    free(text);
}
END_TEST

/* 20000 rows of 800 columns (integers and decimals, as pixel files hold):
 * well under a second (1e5 rows, the size the brief names, take ~5x that) */
/* a large file (20000 x 800, 41 MB) read whole, every value checked: the
 * reader's buffers grow geometrically (a quadratic reader shows in make
 * test's summary of seconds, not in a timed assertion here) */
START_TEST(csv_large)
{
    const long rows = 20000, cols = 800;
    FILE *fo = fopen(pth("large.csv"), "wb");
    nnc_host_array a;
    long r, c, wrong = 0;
    ck_assert_ptr_nonnull(fo);
    for (c = 0; c < cols; c++)
        fprintf(fo, "%spx%ld", c ? "," : "", c);
    fputc('\n', fo);
    for (r = 0; r < rows; r++)
        for (c = 0; c < cols; c++)
            fprintf(fo, c % 3 ? "%ld%c" : "0.%ld%c", (r * 31 + c * 7) % 256, c + 1 < cols ? ',' : '\n');
    fclose(fo);
    load_ok("large.csv", NULL, NULL, NNC_HOST_F32, &a);
    ck_assert_int_eq(a.shape[0], rows);
    ck_assert_int_eq(a.shape[1], cols);
    for (r = 0; r < rows; r++)
        for (c = 0; c < cols; c++) {
            char text[16];
            long v = (r * 31 + c * 7) % 256;
            snprintf(text, sizeof text, c % 3 ? "%ld" : "0.%ld", v);
            wrong += ((float *)a.data)[r * cols + c] != (float)strtod(text, NULL);
        }
    nnc_host_array_free(&a);
    unlink(pth("large.csv"));
    ck_assert_msg(wrong == 0, "%ld of %ld values differ from strtod's", wrong, rows * cols);
}
END_TEST

/* ---- raw float32 ------------------------------------------------------------------------------- */

START_TEST(raw_files)
{
    const float v[6] = { 1, 2, 3, 4, 5, 6 };
    const long hint[2] = { 1, 3 }, bad[1] = { 4 };
    nnc_host_array a;
    put("v.f32", v, sizeof v);
    cap_begin();
    ck_assert_int_eq(nnc_host_array_load(pth("v.f32"), NULL, NULL, NNC_HOST_F32, hint, 2, &a), 0);
    cap_end();
    ck_assert_int_eq(a.ndim, 3);
    ck_assert_int_eq(a.shape[0], 2);
    ck_assert_int_eq(a.shape[2], 3);
    ck_assert_int_eq(memcmp(a.data, v, sizeof v), 0);
    nnc_host_array_free(&a);
    load_fails("v.f32", NULL, NULL, NNC_HOST_F32, bad, 1, "byte 16:", "whole number of samples of shape (4,)", "found 24 bytes (8 left over)");
    load_fails("v.f32", NULL, NULL, NNC_HOST_F32, NULL, 0, "needs the shape of one sample", NULL, NULL);
}
END_TEST

/* ---- features and labels ----------------------------------------------------------------------- */

static void xy_fails(const char *x, const char *y, const char *col, const nnc_host_io *io, int need,
                     const char *file, const char *n1, const char *n2, const char *n3)
{
    nnc_host_xy d;
    int rc;
    memset(&d, 0x5a, sizeof d);
    cap_begin();
    rc = nnc_host_xy_load(pth(x), y ? pth(y) : NULL, col, io, need, &d);
    cap_end();
    ck_assert_msg(rc != 0, "%s loaded", x);
    ck_assert_ptr_null(d.x.data);
    ck_assert_ptr_null(d.y.data);
    ck_assert_int_eq(d.n, 0);
    expect_message(captured, pth(file), n1, n2, n3);
}

START_TEST(xy_files)
{
    const float x[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    const long s42[2] = { 4, 2 }, s24[2] = { 2, 4 }, s3[1] = { 3 }, s4[1] = { 4 };
    const float y4[4] = { 0, 2, 1, 2 }, y3[3] = { 0, 1, 2 }, ybad[4] = { 0, 1, 3, 1 };
    nnc_host_io io;
    nnc_host_xy d;
    memset(&io, 0, sizeof io);
    io.input_size = 2;
    io.label_size = 1;
    io.sparse_labels = 1;
    io.classes = 3;
    io.input_name = "pixels";
    ck_assert_int_eq(nnc_host_npy_save(pth("x.npy"), x, s42, 2), 0);
    ck_assert_int_eq(nnc_host_npy_save(pth("x24.npy"), x, s24, 2), 0);
    ck_assert_int_eq(nnc_host_npy_save(pth("y.npy"), y4, s4, 1), 0);
    ck_assert_int_eq(nnc_host_npy_save(pth("y3.npy"), y3, s3, 1), 0);
    ck_assert_int_eq(nnc_host_npy_save(pth("ybad.npy"), ybad, s4, 1), 0);

    cap_begin();
    ck_assert_int_eq(nnc_host_xy_load(pth("x.npy"), pth("y.npy"), NULL, &io, 1, &d), 0);
    cap_end();
    ck_assert_int_eq(d.n, 4);
    ck_assert_int_eq(d.x.dtype, NNC_HOST_F32);
    ck_assert_int_eq(d.y.dtype, NNC_HOST_I32);
    ck_assert_int_eq(((int32_t *)d.y.data)[1], 2);
    nnc_host_xy_free(&d);
    ck_assert_ptr_null(d.x.data);

    xy_fails("x.npy", "y3.npy", NULL, &io, 1, "y3.npy", "expected as many label samples as feature samples",
             "(4 in ", "found 3");
    xy_fails("x.npy", "ybad.npy", NULL, &io, 1, "ybad.npy", "element [2]", "a class index in [0, 3)", "found 3");
    xy_fails("x24.npy", "y.npy", NULL, &io, 1, "x24.npy", "expected shape (2, 2)", "input 'pixels'", "found shape (2, 4)");
    xy_fails("x.npy", NULL, NULL, &io, 1, "x.npy", "expected labels", NULL, NULL);

    /* features only (predict) */
    cap_begin();
    ck_assert_int_eq(nnc_host_xy_load(pth("x.npy"), NULL, NULL, &io, 0, &d), 0);
    cap_end();
    ck_assert_ptr_null(d.y.data);
    ck_assert_int_eq(d.n, 4);
    nnc_host_xy_free(&d);

    /* one CSV: the label column by name, by the model's label name, or "label" */
    put_text("d.csv", "a,b,label\n1,2,0\n3,4,2\n");
    cap_begin();
    ck_assert_int_eq(nnc_host_xy_load(pth("d.csv"), NULL, NULL, &io, 1, &d), 0);
    cap_end();
    ck_assert_int_eq(d.n, 2);
    ck_assert_int_eq(d.x.shape[1], 2);
    ck_assert_int_eq(((int32_t *)d.y.data)[1], 2);
    nnc_host_xy_free(&d);
    cap_begin();
    ck_assert_int_eq(nnc_host_xy_load(pth("d.csv"), NULL, NULL, &io, 0, &d), 0);   /* predict: label dropped */
    cap_end();
    ck_assert_int_eq(d.x.shape[1], 2);
    nnc_host_xy_free(&d);
    xy_fails("d.csv", NULL, "b", &io, 1, "d.csv", "element [1]: expected a class index in [0, 3)", "found 4", NULL);
    put_text("e.csv", "a,b,target\n1,2,0\n3,4,2\n");
    xy_fails("e.csv", NULL, NULL, &io, 1, "e.csv", "row 1: expected a label column", NULL, NULL);
    io.label_name = "target";
    cap_begin();
    ck_assert_int_eq(nnc_host_xy_load(pth("e.csv"), NULL, NULL, &io, 1, &d), 0);
    cap_end();
    nnc_host_xy_free(&d);
    io.classes = 2;
    xy_fails("e.csv", NULL, NULL, &io, 1, "e.csv", "element [1]: expected a class index in [0, 2)", "found 2", NULL);

    /* embedding ids */
    io.input_ids = 5;
    io.classes = 3;
    xy_fails("x.npy", "y.npy", NULL, &io, 1, "x.npy", "element [2, 0]: expected an input id in [0, 5)", "found 5", NULL);
}
END_TEST

int main(void)
{
    const TTest *tests[] = { npy_save_round_trip, npy_dtypes, npy_errors, npz_members, idx_files,
                             csv_files, csv_errors, csv_numbers_match_strtod, csv_large, raw_files, xy_files, NULL };
    const kernel_case cases[] = { { "data", tests, 30, 0 } };
    char cmd[300];
    int status;
    snprintf(dir, sizeof dir, "/tmp/nnc-host-data-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    status = run_cases("host_data", cases, 1);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "test_host_data: could not remove %s\n", dir);
    return status;
}
