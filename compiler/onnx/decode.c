/* decode.c — protobuf -> plain data: the ModelProto read from its file,
 * tensors (inline or external) as floats, node attributes, and the static
 * shapes of the graph inputs (from the file, --shape or --bind).
 *
 * Decisions:
 *  - Every tensor is float32 inside (the integer types, bool and double
 *    are converted at the API, and integers are exact as floats up to
 *    2^24): shapes, indices and masks flow through the same kernels.
 *    float16 and bfloat16 data is widened to float32 (exactly).  Each
 *    tensor keeps its ONNX type for the semantics of integer arithmetic
 *    (dtype.c).  string and complex tensors are unsupported (exit 3).
 *  - Shapes are static: every graph input needs fixed dimensions.  Values
 *    carry their whole ONNX shape (no implicit batch), so predict takes
 *    n = 1: one call computes the graph once.  A symbolic dimension is
 *    given with --shape NAME=N; --shape NAME<=N bounds axis 1 of the first
 *    input (time steps read at run time).
 *  - External data is read only from regular files inside the model's
 *    folder (no absolute path, no ".." component, no symbolic link, no
 *    device; realpath must stay in the folder), and only when offset +
 *    length fits the file: a model file cannot make nnc read elsewhere, or
 *    allocate what the file does not hold.
 *  - The model file itself is refused above 2 GiB (protobuf's limit)
 *    before it is read, and wire.c bounds its nesting before protobuf-c
 *    unpacks it.
 */
#define _XOPEN_SOURCE 700      /* realpath */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx/onnx.h"

/* ---- the model ------------------------------------------------------------------ */

/* the file's bytes, refusing more than ONNX_MAX_FILE before reading them;
 * NULL after reporting */
static unsigned char *read_model(const char *path, long *len) {
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st)) {
        diag_error(onnx_nowhere(), "cannot read %s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return NULL;
    }
    if (S_ISDIR(st.st_mode) || (S_ISREG(st.st_mode) && st.st_size > ONNX_MAX_FILE)) {
        diag_error(onnx_nowhere(), S_ISDIR(st.st_mode) ? "cannot read %s: it is a directory" :
                   "refusing %s: %lld bytes, above nnc's limit of 2 GiB for a model file (protobuf's own limit; "
                   "keep large weights in external data)", path, (long long)st.st_size);
        close(fd);
        return NULL;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);    /* opened without blocking on a FIFO's writer */
    size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536, n = 0;
    unsigned char *buf = malloc(cap);
    for (ssize_t r = 1; buf && r > 0;) {
        if (n == cap) {     /* a pipe or a file that grew: still bounded */
            unsigned char *b = n > (size_t)ONNX_MAX_FILE ? NULL : realloc(buf, cap * 2);
            if (!b) break;
            buf = b;
            cap *= 2;
        }
        r = read(fd, buf + n, cap - n);
        if (r > 0) n += (size_t)r;
        else if (r < 0) { free(buf); buf = NULL; }
    }
    close(fd);
    if (!buf || n > (size_t)ONNX_MAX_FILE) {
        diag_error(onnx_nowhere(), buf ? "refusing %s: above nnc's limit of 2 GiB for a model file" : "cannot read %s",
                   path);
        free(buf);
        return NULL;
    }
    *len = (long)n;
    return buf;
}

Onnx__ModelProto *onnx_load_model(const char *path) {
    long len;
    unsigned char *buf = read_model(path, &len);
    if (!buf) return NULL;
    if (onnx_wire_check(buf, (size_t)len, path)) {   /* before protobuf-c recurses into it */
        free(buf);
        return NULL;
    }
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, (size_t)len, buf);
    free(buf);
    if (!m || !m->graph) {
        diag_error(onnx_nowhere(), "not an ONNX model: the file does not parse as an onnx.ModelProto%s",
                   m ? " with a graph" : " (truncated, or another format)");
        if (m) onnx__model_proto__free_unpacked(m, NULL);
        return NULL;
    }
    return m;
}

/* ---- attributes ---------------------------------------------------------------- */

const Onnx__AttributeProto *onnx_attr(const Onnx__NodeProto *n, const char *name) {
    for (size_t i = 0; i < n->n_attribute; i++)
        if (!strcmp(n->attribute[i]->name, name)) return n->attribute[i];
    return NULL;
}
long onnx_attr_i(const Onnx__NodeProto *n, const char *name, long dflt) {
    const Onnx__AttributeProto *a = onnx_attr(n, name);
    return a ? (long)a->i : dflt;
}
float onnx_attr_f(const Onnx__NodeProto *n, const char *name, float dflt) {
    const Onnx__AttributeProto *a = onnx_attr(n, name);
    return a ? a->f : dflt;
}
int onnx_attr_ints(const Onnx__NodeProto *n, const char *name, long *out, int max) {
    const Onnx__AttributeProto *a = onnx_attr(n, name);
    if (!a) return -1;
    int k = (int)(a->n_ints < (size_t)max ? a->n_ints : (size_t)max);
    for (int i = 0; i < k; i++) out[i] = (long)a->ints[i];
    return a->n_ints > (size_t)max ? (a->n_ints > INT_MAX ? INT_MAX : (int)a->n_ints) : k;
}
int onnx_attr_is(const Onnx__NodeProto *n, const char *name, const char *value) {
    const Onnx__AttributeProto *a = onnx_attr(n, name);
    return a && a->s.len == strlen(value) && !memcmp(a->s.data, value, a->s.len);
}

/* ---- tensors from protobuf -------------------------------------------------------- */

int onnx_dtype_ok(int t) {
    return (t >= ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && t <= ONNX__TENSOR_PROTO__DATA_TYPE__UINT64 &&
            t != ONNX__TENSOR_PROTO__DATA_TYPE__STRING) || t == ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16;
}

const char *onnx_dtype_name(int t) {
    static const char *const names[] = { "undefined", "float", "uint8", "int8", "uint16", "int16", "int32",
                                         "int64", "string", "bool", "float16", "double", "uint32", "uint64",
                                         "complex64", "complex128", "bfloat16" };
    return t >= 0 && t < 17 ? names[t] : "unknown";
}

/* a non-negative decimal integer, all of s; -1 when it is not one */
static long long parse_size(const char *s) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    return end == s || *end || errno || v < 0 ? -1 : v;
}

/* a location inside the model's folder: relative, no ".." component */
static int location_ok(const char *loc) {
    if (!*loc || loc[0] == '/') return 0;
    for (const char *p = loc; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && !strncmp(p, "..", 2)) return 0;
        p += n + (p[n] == '/');
    }
    return 1;
}

/* the file of external data at path, opened if it is a regular file inside
 * dir (no symlink, no device, no folder): -1 after saying why */
static int open_inside(const char *dir, const char *path, const char *name, struct stat *st) {
    char real_dir[PATH_MAX], real[PATH_MAX];
    if (!realpath(dir, real_dir) || !realpath(path, real)) {
        diag_error(onnx_nowhere(), "tensor '%s': cannot read its external data %s: %s", name, path, strerror(errno));
        return -1;
    }
    size_t n = strlen(real_dir);
    if (strncmp(real, real_dir, n) || (real[n] != '/' && real[n] && strcmp(real_dir, "/"))) {
        diag_error(onnx_nowhere(), "tensor '%s': its external data %s resolves to %s, outside the model's folder %s",
                   name, path, real, real_dir);
        return -1;
    }
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0 || fstat(fd, st) || !S_ISREG(st->st_mode)) {
        diag_error(onnx_nowhere(), "tensor '%s': its external data %s is %s", name, path,
                   fd < 0 && errno == ELOOP ? "a symbolic link (nnc reads only regular files in the model's folder)" :
                   fd < 0 ? strerror(errno) : "not a regular file");
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

/* the `need` bytes of a tensor stored outside the model: external_data
 * names a file relative to the model's folder, an offset and a length,
 * all checked against the file before anything is allocated */
static unsigned char *external_data(Importer *im, const Onnx__TensorProto *tp, size_t need) {
    const char *location = NULL, *name = tp->name ? tp->name : "?";
    long long offset = 0, length = -2;
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = tp->external_data[i];
        if (!e->key || !e->value) continue;
        if (!strcmp(e->key, "location")) location = e->value;
        else if (!strcmp(e->key, "offset") && (offset = parse_size(e->value)) < 0) length = -1;
        else if (!strcmp(e->key, "length")) length = parse_size(e->value);
    }
    if (!location || !location_ok(location) || offset < 0 || length == -1) {
        diag_error(onnx_nowhere(), "invalid model: tensor '%s': external data needs a relative 'location' inside the "
                   "model's folder (no absolute path, no '..') and a non-negative decimal 'offset' and 'length'", name);
        return NULL;
    }
    char path[8200];
    snprintf(path, sizeof path, "%s/%s", im->dir, location);
    struct stat st;
    int fd = open_inside(im->dir, path, name, &st);
    if (fd < 0) return NULL;
    if (length < 0) length = offset <= st.st_size ? st.st_size - offset : 0;
    if (offset > st.st_size || length > st.st_size - offset || (size_t)length < need) {
        diag_error(onnx_nowhere(), "invalid model: tensor '%s': its external data %s has %lld bytes; offset %lld + "
                   "length %lld %s", name, path, (long long)st.st_size, offset, length,
                   offset > st.st_size || length > st.st_size - offset ? "runs past its end" :
                   "is less than the tensor's shape needs");
        close(fd);
        return NULL;
    }
    unsigned char *buf = malloc(need ? need : 1);
    if (!buf || pread(fd, buf, need, (off_t)offset) != (ssize_t)need) {
        diag_error(onnx_nowhere(), "tensor '%s': cannot read its external data %s", name, path);
        free(buf);
        buf = NULL;
    }
    close(fd);
    return buf;
}

/* the bytes of one element of type t in raw data */
static size_t width_of(int t) {
    switch (t) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64: return 8;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8: return 1;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16: case ONNX__TENSOR_PROTO__DATA_TYPE__INT16:
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16: case ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16: return 2;
    default: return 4;
    }
}

/* a float16's bits as a float (exact: every float16 is a float) */
static float half_to_float(unsigned h) {
    int e = (int)(h >> 10 & 0x1f);
    unsigned m = h & 0x3ff;
    float v = e == 0 ? ldexpf((float)m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexpf((float)(m | 0x400), e - 25);
    return h & 0x8000 ? -v : v;
}

/* a value of element i of a tensor, from raw bytes (little-endian, as
 * ONNX stores them) or the typed field (the types narrower than 32 bits
 * in int32_data, float16 and bfloat16 as their bits; uint32 and uint64 in
 * uint64_data) */
static float element(const Onnx__TensorProto *tp, const unsigned char *raw, long i) {
    switch (tp->data_type) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: {
        float v;
        if (raw) memcpy(&v, raw + 4 * i, 4); else v = tp->float_data[i];
        return v;
    }
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: {
        double v;
        if (raw) memcpy(&v, raw + 8 * i, 8); else v = tp->double_data[i];
        return (float)v;
    }
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: {
        int64_t v;
        if (raw) memcpy(&v, raw + 8 * i, 8); else v = tp->int64_data[i];
        return (float)v;
    }
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64: case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32: {
        uint64_t v = 0;
        if (!raw) v = tp->uint64_data[i];
        else if (tp->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__UINT64) memcpy(&v, raw + 8 * i, 8);
        else { uint32_t u; memcpy(&u, raw + 4 * i, 4); v = u; }
        return (float)v;
    }
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
        return raw ? raw[i] != 0 : tp->int32_data[i] != 0;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
        return raw ? (float)raw[i] : (float)(uint8_t)tp->int32_data[i];
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
        return raw ? (float)(int8_t)raw[i] : (float)(int8_t)tp->int32_data[i];
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16: case ONNX__TENSOR_PROTO__DATA_TYPE__INT16:
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16: case ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16: {
        unsigned b = raw ? (unsigned)raw[2 * i] | (unsigned)raw[2 * i + 1] << 8 : (unsigned)tp->int32_data[i] & 0xffff;
        if (tp->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__UINT16) return (float)b;
        if (tp->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT16) return (float)(int16_t)(uint16_t)b;
        if (tp->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16) return half_to_float(b);
        uint32_t u = (uint32_t)b << 16;
        float v;
        memcpy(&v, &u, 4);
        return v;
    }
    default: {
        int32_t v;
        if (raw) memcpy(&v, raw + 4 * i, 4); else v = tp->int32_data[i];
        return (float)v;
    }
    }
}

/* TensorProto -> floats; returns NULL (and says why) for what nnc cannot
 * read.  The element count is checked against the bytes or values the file
 * holds before the floats are allocated. */
float *onnx_tensor_data(Importer *im, const Onnx__TensorProto *tp, long *count) {
    long n = 1;
    const char *name = tp->name ? tp->name : "?";
    for (size_t d = 0; d < tp->n_dims; d++) {
        if (tp->dims[d] < 0 || tp->dims[d] > ONNX_MAX_ELEMS || (n *= (long)tp->dims[d]) > ONNX_MAX_ELEMS) {
            diag_error(onnx_nowhere(), "tensor '%s' has a negative or huge dimension (each extent and their product "
                       "must be from 0 to 2^31 - 1)", name);
            return NULL;
        }
    }
    *count = n;
    if (!onnx_dtype_ok(tp->data_type)) {
        char why[128];
        snprintf(why, sizeof why, "tensor '%.60s' of type %s", name, onnx_dtype_name(tp->data_type));
        onnx_unsupported(im, why);
        return NULL;
    }
    size_t width = width_of(tp->data_type);
    unsigned char *external = NULL;
    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL &&
        !(external = external_data(im, tp, (size_t)n * width)))
        return NULL;
    const unsigned char *raw = external ? external : tp->has_raw_data ? tp->raw_data.data : NULL;
    size_t have = external ? (size_t)n : raw ? tp->raw_data.len / width :
                  tp->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ? tp->n_float_data :
                  tp->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ? tp->n_double_data :
                  tp->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 ? tp->n_int64_data :
                  tp->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__UINT32 ||
                  tp->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__UINT64 ? tp->n_uint64_data : tp->n_int32_data;
    if (have < (size_t)n) {
        diag_error(onnx_nowhere(), "tensor '%s' holds %zu values but its shape needs %ld", name, have, n);
        free(external);
        return NULL;
    }
    float *f = malloc((size_t)(n ? n : 1) * sizeof *f);
    if (!f) abort();
    for (long i = 0; i < n; i++) f[i] = element(tp, raw, i);
    free(external);
    return f;
}

/* ---- graph inputs: static shapes, --shape, --bind ------------------------------ */

/* --shape NAME=...: the text after '=' for this name, or NULL */
static const char *shape_spec(OnnxShapes *sh, const char *name) {
    size_t len = strlen(name);
    for (int i = 0; sh && i < sh->nspecs; i++)
        if (!strncmp(sh->specs[i], name, len) && sh->specs[i][len] == '=') {
            sh->used |= 1u << i;
            return sh->specs[i] + len + 1;
        }
    return NULL;
}

/* "1x3x96x96" -> dims; the rank, or -1 */
static int parse_dims(const char *s, long *dims) {
    int rank = 0;
    while (*s && rank < MAX_T) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > (1L << 30)) return -1;
        dims[rank++] = v;
        s = *end == 'x' ? end + 1 : end;
        if (*end && *end != 'x') return -1;
    }
    return *s ? -1 : rank;
}

int onnx_input_shape(Importer *im, const Onnx__ValueInfoProto *vi, int *rank, long *dims,
                     OnnxShapes *sh, int first) {
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type) {
        diag_error(onnx_nowhere(), "unsupported: graph input/output '%s' is not a tensor", vi->name);
        im->unsupported++;
        return -1;
    }
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    if (!onnx_dtype_ok(tt->elem_type)) {
        diag_error(onnx_nowhere(), "unsupported: graph input/output '%s' has type %s", vi->name, onnx_dtype_name(tt->elem_type));
        im->unsupported++;
        return -1;
    }
    if (!tt->shape) { *rank = 0; return 0; }
    if (tt->shape->n_dim > MAX_T) {
        diag_error(onnx_nowhere(), "unsupported: graph input '%s' has rank %zu; nnc's limit is %d", vi->name,
                   tt->shape->n_dim, MAX_T);
        im->unsupported++;
        return -1;
    }
    *rank = (int)tt->shape->n_dim;
    const char *whole = shape_spec(sh, vi->name);
    if (whole) {    /* --shape INPUT=AxBxC */
        if (parse_dims(whole, dims) != *rank) {
            diag_error(onnx_nowhere(), "--shape %s=%s: '%s' has rank %d; give %d extents like 1x3x96x96", vi->name, whole,
                       vi->name, *rank, *rank);
            return -1;
        }
        if (first && sh) sh->exported_batch = *rank ? (int)dims[0] : 0;
        if (sh && sh->batch > 0 && *rank && (first || dims[0] == sh->exported_batch)) dims[0] = sh->batch;
        return 0;
    }
    for (int d = 0; d < *rank; d++) {
        const Onnx__TensorShapeProto__Dimension *dm = tt->shape->dim[d];
        int named = dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && dm->dim_param && *dm->dim_param;
        const char *pinned = named ? shape_spec(sh, dm->dim_param) : NULL;
        char bounded[80];   /* --shape NAME<=N: compiled at N, the extent read at run time */
        snprintf(bounded, sizeof bounded, "%.60s<", named ? dm->dim_param : "");
        const char *bound = named && !pinned ? shape_spec(sh, bounded) : NULL;
        if (bound) {
            if (!first || d != 1) {
                diag_error(onnx_nowhere(), "--shape %s<=%s: nnc bounds axis 1 of the first graph input (the time "
                           "steps after the batch); '%s' is axis %d of '%s'", dm->dim_param, bound, dm->dim_param, d,
                           vi->name);
                return -1;
            }
            snprintf(sh->bounded, sizeof sh->bounded, "%s", dm->dim_param);
            pinned = bound;
        }
        long v = dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ? (long)dm->dim_value : -1;
        if (dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && v < 0) {
            diag_error(onnx_nowhere(), "invalid model: graph input '%s' has a negative dimension %ld on axis %d", vi->name,
                       v, d);
            return -1;
        }
        /* axis 0 of the first input is the batch; another input's axis 0 is
         * when the file gives it the same name or size */
        int batch_axis = d == 0 && sh && (first || (named ? !strcmp(dm->dim_param, sh->batch_param) :
                                                    sh->exported_batch > 0 && v == sh->exported_batch));
        if (d == 0 && first && sh) {
            sh->exported_batch = named ? 0 : v == 0 ? -1 : v > 0 ? (int)v : 0;
            snprintf(sh->batch_param, sizeof sh->batch_param, "%s", named ? dm->dim_param : "");
        }
        if (pinned) {
            char *end;
            v = strtol(pinned, &end, 10);
            if (*end || v < 1 || v > (1L << 30)) {
                diag_error(onnx_nowhere(), "--shape %s%s%s: give the extent as a number from 1 to 2^30", dm->dim_param,
                           bound ? "<=" : "=", pinned);
                return -1;
            }
            if (bound) sh->bound = (int)v;
        }
        if (batch_axis && sh->batch > 0) v = sh->batch;    /* the batch axis: nnc's run-time n */
        if (v < 0 || v > (1L << 30)) {
            im->unsupported++;
            if (named)
                diag_error(onnx_nowhere(), "unsupported: graph input '%s' has a dynamic dimension %d ('%s'); give its size "
                           "with --shape %s=N", vi->name, d, dm->dim_param, dm->dim_param);
            else
                diag_error(onnx_nowhere(), "unsupported: graph input '%s' has a dynamic or invalid dimension %d; give its "
                           "shape with --shape %s=AxBx...", vi->name, d, vi->name);
            return -1;
        }
        dims[d] = v;
    }
    long n = 1;
    for (int d = 0; d < *rank && n <= ONNX_MAX_ELEMS; d++) n *= dims[d];
    if (n > ONNX_MAX_ELEMS) {
        diag_error(onnx_nowhere(), "unsupported: graph input '%s' has more than 2^31 - 1 elements (nnc's limit)", vi->name);
        im->unsupported++;
        return -1;
    }
    return 0;
}

/* --bind NAME=FILE: a graph input fixed to the TensorProto in FILE */
int onnx_bind_input(Importer *im, const char *spec) {
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec) {
        diag_error(onnx_nowhere(), "--bind takes NAME=FILE.pb, got '%s'", spec);
        return -1;
    }
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)(eq - spec), spec);
    long len;
    unsigned char *buf = (unsigned char *)file_read(eq + 1, &len);
    if (!buf) {
        diag_error(onnx_nowhere(), "--bind: cannot read %s: %s", eq + 1, strerror(errno));
        return -1;
    }
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, (size_t)len, buf);
    free(buf);
    if (!tp || tp->n_dims > MAX_T) {
        diag_error(onnx_nowhere(), "--bind: %s is not a TensorProto of rank 8 or less", eq + 1);
        if (tp) onnx__tensor_proto__free_unpacked(tp, NULL);
        return -1;
    }
    long count, dims[MAX_T];
    float *d = onnx_tensor_data(im, tp, &count);
    for (size_t k = 0; k < tp->n_dims; k++) dims[k] = (long)tp->dims[k];
    if (d) onnx_add_constant(im, name, (int)tp->n_dims, dims, d)->dtype = tp->data_type;
    onnx__tensor_proto__free_unpacked(tp, NULL);
    return d ? 0 : -1;
}
