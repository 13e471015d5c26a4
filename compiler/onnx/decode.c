/* decode.c — protobuf -> plain data: the ModelProto read from its file,
 * tensors (inline or external) as floats, node attributes, and the static
 * shapes of the graph inputs (from the file, --shape or --bind).
 *
 * Decisions:
 *  - Every tensor is float32 inside (int64/int32/bool/double are converted
 *    at the API, and are exact as floats up to 2^24): shapes, indices and
 *    masks flow through the same kernels.  Other element types are
 *    unsupported (exit 3), not converted with a loss.
 *  - Shapes are static: every graph input needs fixed dimensions.  Values
 *    carry their whole ONNX shape (no implicit batch), so predict takes
 *    n = 1: one call computes the graph once.  A symbolic dimension is
 *    given with --shape NAME=N; --shape NAME<=N bounds axis 1 of the first
 *    input (time steps read at run time).
 *  - External data is read only from inside the model's folder (no "..",
 *    no absolute paths): a model file cannot make nnc read elsewhere.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx.h"

/* ---- the model ------------------------------------------------------------------ */

Onnx__ModelProto *onnx_load_model(const char *path) {
    long len;
    unsigned char *buf = (unsigned char *)file_read(path, &len);
    if (!buf) {
        diag_error(onnx_nowhere(), "cannot read %s: %s", path, strerror(errno));
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
    return k;
}
int onnx_attr_is(const Onnx__NodeProto *n, const char *name, const char *value) {
    const Onnx__AttributeProto *a = onnx_attr(n, name);
    return a && a->s.len == strlen(value) && !memcmp(a->s.data, value, a->s.len);
}

/* ---- tensors from protobuf -------------------------------------------------------- */

int onnx_dtype_ok(int t) {
    return t == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || t == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ||
           t == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 || t == ONNX__TENSOR_PROTO__DATA_TYPE__INT32 ||
           t == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL;
}

const char *onnx_dtype_name(int t) {
    static const char *const names[] = { "undefined", "float", "uint8", "int8", "uint16", "int16", "int32",
                                         "int64", "string", "bool", "float16", "double", "uint32", "uint64",
                                         "complex64", "complex128", "bfloat16" };
    return t >= 0 && t < 17 ? names[t] : "unknown";
}

/* the bytes of a tensor stored outside the model: external_data names a file
 * relative to the model's folder, an offset and a length */
static unsigned char *external_data(Importer *im, const Onnx__TensorProto *tp, size_t *len) {
    const char *location = NULL;
    long offset = 0, length = -1;
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = tp->external_data[i];
        if (!e->key || !e->value) continue;
        if (!strcmp(e->key, "location")) location = e->value;
        else if (!strcmp(e->key, "offset")) offset = atol(e->value);
        else if (!strcmp(e->key, "length")) length = atol(e->value);
    }
    if (!location || strstr(location, "..") || location[0] == '/') {
        diag_error(onnx_nowhere(), "tensor '%s': external data needs a 'location' inside the model's folder",
                   tp->name ? tp->name : "?");
        return NULL;
    }
    char path[8200];
    snprintf(path, sizeof path, "%s/%s", im->dir, location);
    FILE *f = fopen(path, "rb");
    if (!f) {
        diag_error(onnx_nowhere(), "tensor '%s': cannot read its external data %s: %s", tp->name ? tp->name : "?", path,
                   strerror(errno));
        return NULL;
    }
    if (length < 0) {
        fseek(f, 0, SEEK_END);
        length = ftell(f) - offset;
    }
    unsigned char *buf = malloc((size_t)(length > 0 ? length : 1));
    if (!buf) abort();
    if (offset < 0 || fseek(f, offset, SEEK_SET) || fread(buf, 1, (size_t)length, f) != (size_t)length) {
        diag_error(onnx_nowhere(), "tensor '%s': its external data %s is shorter than offset %ld + length %ld",
                   tp->name ? tp->name : "?", path, offset, length);
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *len = (size_t)length;
    return buf;
}

/* TensorProto -> floats; returns NULL (and says why) for what nnc cannot read */
float *onnx_tensor_data(Importer *im, const Onnx__TensorProto *tp, long *count) {
    long n = 1;
    for (size_t d = 0; d < tp->n_dims; d++) {
        if (tp->dims[d] < 0 || tp->dims[d] > (1L << 31) || (n *= (long)tp->dims[d]) > (1L << 31)) {
            diag_error(onnx_nowhere(), "tensor '%s' has a negative or huge dimension", tp->name ? tp->name : "?");
            return NULL;
        }
    }
    *count = n;
    unsigned char *external = NULL;
    size_t extlen = 0;
    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL &&
        !(external = external_data(im, tp, &extlen)))
        return NULL;
    if (!onnx_dtype_ok(tp->data_type)) {
        char why[128];
        snprintf(why, sizeof why, "tensor '%.60s' of type %s", tp->name ? tp->name : "?", onnx_dtype_name(tp->data_type));
        onnx_unsupported(im, why);
        return NULL;
    }
    float *f = malloc((size_t)(n ? n : 1) * sizeof *f);
    if (!f) abort();
    const unsigned char *raw = external ? external : tp->has_raw_data ? tp->raw_data.data : NULL;
    size_t rawlen = external ? extlen : tp->has_raw_data ? tp->raw_data.len : 0;
    size_t width = tp->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE || tp->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 ? 8 :
                   tp->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL ? 1 : 4;
    size_t have = raw ? rawlen / width :
                  tp->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ? tp->n_float_data :
                  tp->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ? tp->n_double_data :
                  tp->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 ? tp->n_int64_data : tp->n_int32_data;
    if (have < (size_t)n) {
        diag_error(onnx_nowhere(), "tensor '%s' holds %zu values but its shape needs %ld", tp->name ? tp->name : "?",
                   have, n);
        free(f);
        free(external);
        return NULL;
    }
    for (long i = 0; i < n; i++) {
        switch (tp->data_type) {
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
            if (raw) memcpy(&f[i], raw + 4 * i, 4); else f[i] = tp->float_data[i];
            break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: {
            double v;
            if (raw) memcpy(&v, raw + 8 * i, 8); else v = tp->double_data[i];
            f[i] = (float)v;
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: {
            int64_t v;
            if (raw) memcpy(&v, raw + 8 * i, 8); else v = tp->int64_data[i];
            f[i] = (float)v;
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
            f[i] = raw ? raw[i] != 0 : tp->int32_data[i] != 0;
            break;
        default: {
            int32_t v;
            if (raw) memcpy(&v, raw + 4 * i, 4); else v = tp->int32_data[i];
            f[i] = (float)v;
        }
        }
    }
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
    if (tt->shape->n_dim > MAX_T) { diag_error(onnx_nowhere(), "'%s' has rank above 8", vi->name); return -1; }
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
    if (d) onnx_add_constant(im, name, (int)tp->n_dims, dims, d);
    onnx__tensor_proto__free_unpacked(tp, NULL);
    return d ? 0 : -1;
}
