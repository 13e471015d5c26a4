/* onnx_import.c — ONNX front end: a ModelProto (protobuf-c code generated
 * at build time from Debian's onnx.proto) -> the same IR the .nn front end
 * builds, for inference.
 *
 * Decisions:
 *  - Shapes are static: every graph input needs fixed dimensions.  Values
 *    carry their whole ONNX shape (no implicit batch), so predict takes
 *    n = 1: one call computes the graph once.
 *  - Every tensor is float32 inside (int64/int32/bool/double are converted
 *    at the API, and are exact as floats up to 2^24): shapes, indices and
 *    masks flow through the same kernels.
 *  - Nodes whose inputs are all constants are evaluated here, with the
 *    runtime's own kernels: shape-computing subgraphs (Shape -> Gather ->
 *    Concat -> Reshape) and initializer arithmetic become constants.
 *    Initializers and folded values are baked parameters (const arrays).
 *  - Fine-tuning (--train): every constant the computed graph reads becomes
 *    a trained parameter starting from its value (folded ones, such as a
 *    transposed Gemm weight, train in their folded form; an LSTM's two
 *    biases as their sum); a BatchNormalization becomes the .nn batch_norm
 *    layer, whose running statistics are state.  passes/batch.c then makes
 *    axis 0 of the inputs nnc's run-time batch.
 *  - What nnc cannot compile is collected, all of it, and reported at once
 *    with node names and the opset; nnc then exits with status 3.
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"
#include "onnx.pb-c.h"

#define MAX_T 8

/* one named ONNX value: an IR value, a constant, or not computable */
typedef struct Tensor {
    char *name;
    int rank;
    long dims[MAX_T];
    int value;          /* IR value, or -1 for a constant */
    float *data;        /* constant data (owned), or NULL */
    int failed;         /* produced by an unsupported node */
} Tensor;

typedef struct Importer {
    Graph *g;
    Tensor **t;         /* each allocated on its own: a Tensor * stays valid as tensors are added */
    int nt, cap;
    int opset;
    int unsupported;
    int trainable;                  /* constants the graph computes with become trained parameters */
    const Onnx__NodeProto *node;    /* the node being imported, for messages */
    const OnnxShapes *shapes;       /* --shape, and the batch the inputs were pinned to */
    char dir[4096];                 /* the model's folder: external data is relative to it */
} Importer;

static Loc nowhere(void) { return (Loc){ 0, 0, 0, 0 }; }

static long numel(const long *dims, int rank) {
    long n = 1;
    for (int d = 0; d < rank; d++) n *= dims[d];
    return n;
}

static Tensor *find(Importer *im, const char *name) {
    for (int i = im->nt - 1; i >= 0; i--)
        if (!strcmp(im->t[i]->name, name)) return im->t[i];
    return NULL;
}

static Tensor *add_tensor(Importer *im, const char *name, int rank, const long *dims) {
    if (im->nt == im->cap) {
        im->cap = im->cap ? 2 * im->cap : 64;
        im->t = realloc(im->t, (size_t)im->cap * sizeof *im->t);
        if (!im->t) abort();
    }
    Tensor *t = calloc(1, sizeof *t);
    if (!t) abort();
    im->t[im->nt++] = t;
    t->name = strdup(name);
    t->rank = rank;
    if (rank) memcpy(t->dims, dims, (size_t)rank * sizeof *dims);   /* dims may be NULL at rank 0 */
    t->value = -1;
    return t;
}

/* "node 'n' (Op)" for messages */
static const char *where(Importer *im) {
    static char buf[256];
    const Onnx__NodeProto *n = im->node;
    if (n && n->name && *n->name)
        snprintf(buf, sizeof buf, "node '%.100s' (%.60s, opset %d)", n->name, n->op_type, im->opset);
    else
        snprintf(buf, sizeof buf, "the node computing '%.100s' (%.60s, opset %d)",
                 n && n->n_output ? n->output[0] : "?", n ? n->op_type : "?", im->opset);
    return buf;
}

static void unsupported(Importer *im, const char *why) {
    diag_error(nowhere(), "unsupported: %s: %s", where(im), why);
    im->unsupported++;
}

/* ---- attributes ---------------------------------------------------------------- */

static const Onnx__AttributeProto *attr(const Onnx__NodeProto *n, const char *name) {
    for (size_t i = 0; i < n->n_attribute; i++)
        if (!strcmp(n->attribute[i]->name, name)) return n->attribute[i];
    return NULL;
}
static long attr_i(const Onnx__NodeProto *n, const char *name, long dflt) {
    const Onnx__AttributeProto *a = attr(n, name);
    return a ? (long)a->i : dflt;
}
static float attr_f(const Onnx__NodeProto *n, const char *name, float dflt) {
    const Onnx__AttributeProto *a = attr(n, name);
    return a ? a->f : dflt;
}
static int attr_ints(const Onnx__NodeProto *n, const char *name, long *out, int max) {
    const Onnx__AttributeProto *a = attr(n, name);
    if (!a) return -1;
    int k = (int)(a->n_ints < (size_t)max ? a->n_ints : (size_t)max);
    for (int i = 0; i < k; i++) out[i] = (long)a->ints[i];
    return k;
}

/* ---- tensors from protobuf -------------------------------------------------------- */

static int dtype_ok(int t) {
    return t == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || t == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ||
           t == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 || t == ONNX__TENSOR_PROTO__DATA_TYPE__INT32 ||
           t == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL;
}

static const char *dtype_name(int t) {
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
        diag_error(nowhere(), "tensor '%s': external data needs a 'location' inside the model's folder",
                   tp->name ? tp->name : "?");
        return NULL;
    }
    char path[8200];
    snprintf(path, sizeof path, "%s/%s", im->dir, location);
    FILE *f = fopen(path, "rb");
    if (!f) {
        diag_error(nowhere(), "tensor '%s': cannot read its external data %s: %s", tp->name ? tp->name : "?", path,
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
        diag_error(nowhere(), "tensor '%s': its external data %s is shorter than offset %ld + length %ld",
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
static float *tensor_data(Importer *im, const Onnx__TensorProto *tp, long *count) {
    long n = 1;
    for (size_t d = 0; d < tp->n_dims; d++) {
        if (tp->dims[d] < 0 || tp->dims[d] > (1L << 31) || (n *= (long)tp->dims[d]) > (1L << 31)) {
            diag_error(nowhere(), "tensor '%s' has a negative or huge dimension", tp->name ? tp->name : "?");
            return NULL;
        }
    }
    *count = n;
    unsigned char *external = NULL;
    size_t extlen = 0;
    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL &&
        !(external = external_data(im, tp, &extlen)))
        return NULL;
    if (!dtype_ok(tp->data_type)) {
        char why[128];
        snprintf(why, sizeof why, "tensor '%.60s' of type %s", tp->name ? tp->name : "?", dtype_name(tp->data_type));
        unsupported(im, why);
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
        diag_error(nowhere(), "tensor '%s' holds %zu values but its shape needs %ld", tp->name ? tp->name : "?",
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

static Tensor *add_constant(Importer *im, const char *name, int rank, const long *dims, float *data) {
    Tensor *t = add_tensor(im, name, rank, dims);
    t->data = data;
    return t;
}

/* an IR value for a tensor: constants become baked parameters on first use */
static int value_of(Importer *im, Tensor *t) {
    if (t->value >= 0) return t->value;
    Graph *g = im->g;
    int dims[MAX_T];
    for (int d = 0; d < t->rank; d++) dims[d] = (int)t->dims[d];
    char name[IR_NAME];
    snprintf(name, sizeof name, "%.60s", t->name);
    int v = ir_value(g, name, ROLE_PARAM, 0, t->rank, dims);
    g->values[v].constant = !im->trainable;
    g->values[v].trainable = im->trainable;
    long n = numel(t->dims, t->rank), at = 0;
    for (int i = 0; i < g->nvalues; i++)
        if (i != v && g->values[i].role == ROLE_PARAM) at += ir_size(&g->values[i]);
    g->baked = realloc(g->baked, (size_t)(at + n + 1) * sizeof *g->baked);
    if (!g->baked) abort();
    memcpy(g->baked + at, t->data, (size_t)n * sizeof *t->data);
    g->values[v].baked_at = at;
    t->value = v;
    return v;
}

/* ---- building nodes or folding them ---------------------------------------------- */

static void strides(const long *dims, int rank, long *s);
static void dense_nd(nnc_rt_nd *p, int rank, const long *dims);

/* a new IR node of `op` on these inputs with an output of this shape */
static Tensor *node_out(Importer *im, int op, Tensor **in, int nin, const Attrs *a,
                        const char *out_name, int rank, const long *dims) {
    Graph *g = im->g;
    int vin[IR_MAX_IO];
    assert(nin <= IR_MAX_IO);   /* the builders split wider nodes (Concat) */
    for (int i = 0; i < nin; i++) vin[i] = value_of(im, in[i]);
    int n = ir_node(g, op, vin, nin, nowhere());
    g->nodes[n].attr = *a;
    snprintf(g->nodes[n].layer, IR_NAME, "%.60s", im->node && im->node->name ? im->node->name : "");
    int dims_i[MAX_T];
    for (int d = 0; d < rank; d++) dims_i[d] = (int)dims[d];
    char name[IR_NAME];
    snprintf(name, sizeof name, "%.60s", out_name);
    int v = ir_value(g, name, ROLE_ACT, 0, rank, dims_i);
    ir_add_output(g, n, v);
    Tensor *t = add_tensor(im, out_name, rank, dims);
    t->value = v;
    return t;
}

/* evaluate `op` here (its op-table fold) when every input is a constant,
 * else build the node */
static Tensor *apply(Importer *im, int op, Tensor **in, int nin, const Attrs *a,
                     const char *out_name, int rank, const long *dims) {
    int all_const = 1;
    for (int i = 0; i < nin; i++) all_const &= in[i]->data != NULL;
    if (!all_const) return node_out(im, op, in, nin, a, out_name, rank, dims);
    const OpDef *d = op_table[op];
    if (!d->fold) return node_out(im, op, in, nin, a, out_name, rank, dims);   /* conv, pool, rnn */
    long n = numel(dims, rank);
    float *y = calloc((size_t)(n ? n : 1), sizeof *y);
    if (!y) abort();
    Fold f = { a, y, n, rank, dims, nin, { NULL }, { 0 }, { NULL } };
    for (int i = 0; i < nin; i++) {
        f.in[i] = in[i]->data;
        f.in_rank[i] = in[i]->rank;
        f.in_dims[i] = in[i]->dims;
    }
    d->fold(&f);
    return add_constant(im, out_name, rank, dims, y);
}

/* row-major strides of a shape */
static void strides(const long *dims, int rank, long *s) {
    long acc = 1;
    for (int d = rank - 1; d >= 0; d--) { s[d] = acc; acc *= dims[d]; }
}

/* numpy broadcasting of a and b into out; returns -1 when they do not broadcast */
static int broadcast(const Tensor *a, const Tensor *b, int *rank, long *out, long *as, long *bs) {
    int r = a->rank > b->rank ? a->rank : b->rank;
    long sa[MAX_T], sb[MAX_T];
    strides(a->dims, a->rank, sa);
    strides(b->dims, b->rank, sb);
    for (int d = 0; d < r; d++) {
        int da = d - (r - a->rank), db = d - (r - b->rank);
        long xa = da >= 0 ? a->dims[da] : 1, xb = db >= 0 ? b->dims[db] : 1;
        if (xa != xb && xa != 1 && xb != 1) return -1;
        out[d] = xa > xb ? xa : xb;
        as[d] = da >= 0 && xa != 1 ? sa[da] : 0;
        bs[d] = db >= 0 && xb != 1 ? sb[db] : 0;
    }
    *rank = r;
    return 0;
}

static void dense_nd(nnc_rt_nd *p, int rank, const long *dims) {
    memset(p, 0, sizeof *p);
    p->rank = rank;
    memcpy(p->dims, dims, (size_t)rank * sizeof *dims);
    strides(dims, rank, p->ys);
}

static int norm_axis(long axis, int rank) { return (int)(axis < 0 ? axis + rank : axis); }

/* a float holding an integer (an int64 index or shape, converted) as a long:
 * beyond +-2^62 it saturates (INT64_MAX is what exporters write for "to the
 * end"; as a float it is 2^63, which lrintf cannot return) */
static long to_long(float v) {
    if (v >= 0x1p62f) return 1L << 62;
    if (v <= -0x1p62f) return -(1L << 62);
    return v == v ? lrintf(v) : 0;
}

/* the constant integer values of an input (shape, axes, pads, ...) */
static int const_ints(Importer *im, Tensor *t, long *out, int max, const char *what) {
    if (!t->data) {
        char why[128];
        snprintf(why, sizeof why, "'%s' must be a constant (it is computed at run time)", what);
        unsupported(im, why);
        return -1;
    }
    long n = numel(t->dims, t->rank);
    if (n > max) { unsupported(im, "too many values"); return -1; }
    for (long i = 0; i < n; i++) {
        if (t->data[i] != t->data[i]) {
            diag_error(nowhere(), "%s: '%s' holds NaN where an integer belongs", where(im), what);
            return -1;
        }
        out[i] = to_long(t->data[i]);
    }
    return (int)n;
}

/* ---- operators --------------------------------------------------------------------- */

#define CTX_INPUTS 256     /* a node's inputs nnc reads; more is refused, never truncated */

typedef struct Ctx {
    Importer *im;
    const Onnx__NodeProto *n;
    Tensor *in[CTX_INPUTS];
    int nin;
} Ctx;

static const char *out_name(Ctx *c, int i) { return c->n->output[i]; }

/* the name of an intermediate tensor of this node: "<its output>/<what>" (buf: 170 bytes) */
static const char *part(Ctx *c, const char *what, char *buf) {
    snprintf(buf, 170, "%.100s/%s", out_name(c, 0), what);
    return buf;
}

static Tensor *unary(Ctx *c, int fn, float alpha, float beta) {
    Attrs a;
    memset(&a, 0, sizeof a);
    a.fn = fn; a.alpha = alpha; a.beta = beta;
    Tensor *x = c->in[0];
    return apply(c->im, OP_ND_UNARY, c->in, 1, &a, out_name(c, 0), x->rank, x->dims);
}

/* operands ONNX's broadcasting cannot pair: an invalid model (exit 1) */
static void no_broadcast(Ctx *c, const Tensor *x, const Tensor *y) {
    char sx[160], sy[160];
    int lx = 0, ly = 0;
    for (int d = 0; d < x->rank; d++) lx += snprintf(sx + lx, sizeof sx - (size_t)lx, "%s%ld", d ? ", " : "", x->dims[d]);
    for (int d = 0; d < y->rank; d++) ly += snprintf(sy + ly, sizeof sy - (size_t)ly, "%s%ld", d ? ", " : "", y->dims[d]);
    sx[lx] = sy[ly] = 0;
    diag_error(nowhere(), "%s: operands of shapes (%s) and (%s) do not broadcast (each axis, from the last: equal "
               "extents, or one of them 1)", where(c->im), sx, sy);
}

static Tensor *binary_of(Ctx *c, int fn, Tensor *x, Tensor *y, const char *name) {
    Attrs a;
    memset(&a, 0, sizeof a);
    long dims[MAX_T];
    int rank;
    if (broadcast(x, y, &rank, dims, a.nd.as, a.nd.bs)) {
        no_broadcast(c, x, y);
        return NULL;
    }
    long as[MAX_T], bs[MAX_T];
    memcpy(as, a.nd.as, sizeof as);
    memcpy(bs, a.nd.bs, sizeof bs);
    dense_nd(&a.nd, rank, dims);
    memcpy(a.nd.as, as, sizeof as);
    memcpy(a.nd.bs, bs, sizeof bs);
    a.fn = fn;
    Tensor *in[2] = { x, y };
    return apply(c->im, OP_ND_BINARY, in, 2, &a, name, rank, dims);
}

/* Max, Min, Sum, Mean: a chain of binaries; Mean divides at the end */
static Tensor *variadic(Ctx *c, int fn, int mean) {
    Tensor *acc = c->in[0];
    if (c->nin == 1 && !mean) {
        Attrs a;
        memset(&a, 0, sizeof a);
        dense_nd(&a.nd, acc->rank, acc->dims);
        memcpy(a.nd.as, a.nd.ys, sizeof a.nd.as);
        return apply(c->im, OP_ND_COPY, c->in, 1, &a, out_name(c, 0), acc->rank, acc->dims);
    }
    for (int i = 1; i < c->nin && acc; i++) {
        char name[160];
        snprintf(name, sizeof name, "%.100s/%d", out_name(c, 0), i);
        acc = binary_of(c, fn, acc, c->in[i], i == c->nin - 1 && !mean ? out_name(c, 0) : name);
    }
    if (mean && acc) {
        long one = 1;
        float *k = malloc(sizeof *k);
        *k = 1.0f / (float)c->nin;
        char name[160];
        part(c, "scale", name);
        Tensor *s = add_constant(c->im, name, 0, &one, k);
        acc = binary_of(c, NNC_RT_BIN_MUL, acc, s, out_name(c, 0));
    }
    return acc;
}

/* the same values with another shape */
static Tensor *reshaped(Ctx *c, Tensor *x, int rank, const long *dims, const char *name) {
    if (numel(dims, rank) != numel(x->dims, x->rank)) {
        unsupported(c->im, "a reshape that changes the number of elements");
        return NULL;
    }
    Attrs a;
    memset(&a, 0, sizeof a);
    long n = numel(dims, rank);
    dense_nd(&a.nd, 1, &n);
    a.nd.as[0] = 1;
    if (x->data) {   /* a constant: just another shape over the same values */
        float *d = malloc((size_t)(n ? n : 1) * sizeof *d);
        memcpy(d, x->data, (size_t)n * sizeof *d);
        return add_constant(c->im, name, rank, dims, d);
    }
    /* a computed value: a view of the same storage, free */
    Tensor *t = node_out(c->im, OP_VIEW, &x, 1, &a, name, rank, dims);
    c->im->g->values[t->value].alias_of = x->value;
    return t;
}

static Tensor *op_reshape(Ctx *c) {
    Tensor *x = c->in[0];
    long shape[MAX_T], dims[MAX_T];
    int rank = const_ints(c->im, c->in[1], shape, MAX_T, "shape");
    if (rank < 0) return NULL;
    long known = 1;
    int infer = -1, allowzero = (int)attr_i(c->n, "allowzero", 0);
    for (int d = 0; d < rank; d++) {
        dims[d] = shape[d] == 0 && !allowzero ? (d < x->rank ? x->dims[d] : 1) : shape[d];
        if (dims[d] == -1) infer = d; else known *= dims[d];
    }
    /* a static export's literal batch (x.view(4, -1) traced at batch 4)
     * follows the batch the inputs were pinned to */
    const OnnxShapes *sh = c->im->shapes;
    if (sh && sh->batch > 0 && sh->exported_batch > 0 && sh->batch != sh->exported_batch && rank >= 1 &&
        x->rank >= 1 && x->dims[0] == sh->batch && shape[0] == sh->exported_batch && infer != 0) {
        dims[0] = sh->batch;
        known = known / sh->exported_batch * sh->batch;
    }
    if (infer >= 0) dims[infer] = known ? numel(x->dims, x->rank) / known : 0;
    return reshaped(c, x, rank, dims, out_name(c, 0));
}

static Tensor *op_flatten(Ctx *c) {
    Tensor *x = c->in[0];
    int axis = norm_axis(attr_i(c->n, "axis", 1), x->rank);
    long dims[2] = { numel(x->dims, axis), numel(x->dims + axis, x->rank - axis) };
    return reshaped(c, x, 2, dims, out_name(c, 0));
}

/* the axes of Squeeze/Unsqueeze/Reduce*: an attribute before opset 13 (18
 * for most reductions), an optional input after */
static int axes_of(Ctx *c, int input, long *axes) {
    int k = attr_ints(c->n, "axes", axes, MAX_T);
    if (k >= 0) return k;
    if (c->nin > input && c->in[input]) return const_ints(c->im, c->in[input], axes, MAX_T, "axes");
    return -2;  /* none given */
}

static Tensor *op_squeeze(Ctx *c, int unsq) {
    Tensor *x = c->in[0];
    long axes[MAX_T], dims[MAX_T];
    int k = axes_of(c, 1, axes), rank = 0;
    if (k == -1) return NULL;
    if (unsq) {
        int r = x->rank + k, used = 0;
        if (k < 0 || r > MAX_T) { unsupported(c->im, "Unsqueeze without axes, or past rank 8"); return NULL; }
        int mark[MAX_T] = { 0 };
        for (int i = 0; i < k; i++) mark[norm_axis(axes[i], r)] = 1;
        for (int d = 0; d < r; d++) dims[rank++] = mark[d] ? 1 : x->dims[used++];
    } else {
        int mark[MAX_T] = { 0 };
        for (int i = 0; i < k; i++) mark[norm_axis(axes[i], x->rank)] = 1;
        for (int d = 0; d < x->rank; d++)
            if (!(k < 0 ? x->dims[d] == 1 : mark[d])) dims[rank++] = x->dims[d];
    }
    return reshaped(c, x, rank, dims, out_name(c, 0));
}

static Tensor *op_transpose(Ctx *c) {
    Tensor *x = c->in[0];
    long perm[MAX_T], dims[MAX_T] = { 0 }, xs[MAX_T];
    int k = attr_ints(c->n, "perm", perm, MAX_T);
    if (k < 0) { k = x->rank; for (int d = 0; d < k; d++) perm[d] = k - 1 - d; }
    strides(x->dims, x->rank, xs);
    Attrs a;
    memset(&a, 0, sizeof a);
    for (int d = 0; d < k; d++) dims[d] = x->dims[perm[d]];
    dense_nd(&a.nd, k, dims);
    for (int d = 0; d < k; d++) a.nd.as[d] = xs[perm[d]];
    return apply(c->im, OP_ND_COPY, c->in, 1, &a, out_name(c, 0), k, dims);
}

/* y = the part of x at start with step per axis and these extents */
static Tensor *sliced(Ctx *c, Tensor *x, const long *start, const long *step, const long *dims, const char *name) {
    long xs[MAX_T];
    strides(x->dims, x->rank, xs);
    Attrs a;
    memset(&a, 0, sizeof a);
    dense_nd(&a.nd, x->rank, dims);
    for (int d = 0; d < x->rank; d++) {
        a.nd.as[d] = xs[d] * step[d];
        a.nd.aoff += start[d] * xs[d];
    }
    return apply(c->im, OP_ND_COPY, &x, 1, &a, name, x->rank, dims);
}

static Tensor *op_slice(Ctx *c) {
    Tensor *x = c->in[0];
    long starts[MAX_T], ends[MAX_T], axes[MAX_T], steps[MAX_T];
    int k;
    if (c->im->opset < 10) {
        k = attr_ints(c->n, "starts", starts, MAX_T);
        if (attr_ints(c->n, "ends", ends, MAX_T) != k) return NULL;
        if (attr_ints(c->n, "axes", axes, MAX_T) < 0) for (int i = 0; i < k; i++) axes[i] = i;
        for (int i = 0; i < k; i++) steps[i] = 1;
    } else {
        k = const_ints(c->im, c->in[1], starts, MAX_T, "starts");
        if (k < 0 || const_ints(c->im, c->in[2], ends, MAX_T, "ends") != k) return NULL;
        if (c->nin > 3 && c->in[3]) { if (const_ints(c->im, c->in[3], axes, MAX_T, "axes") != k) return NULL; }
        else for (int i = 0; i < k; i++) axes[i] = i;
        if (c->nin > 4 && c->in[4]) { if (const_ints(c->im, c->in[4], steps, MAX_T, "steps") != k) return NULL; }
        else for (int i = 0; i < k; i++) steps[i] = 1;
    }
    long start[MAX_T], step[MAX_T], dims[MAX_T];
    for (int d = 0; d < x->rank; d++) { start[d] = 0; step[d] = 1; dims[d] = x->dims[d]; }
    for (int i = 0; i < k; i++) {
        int d = norm_axis(axes[i], x->rank);
        long n = x->dims[d], s = starts[i], e = ends[i], st = steps[i];
        if (st == 0) { unsupported(c->im, "a step of 0"); return NULL; }
        if (s < 0) s += n;
        if (e < 0) e += n;
        if (st > 0) {
            s = s < 0 ? 0 : s > n ? n : s;
            e = e < 0 ? 0 : e > n ? n : e;
            dims[d] = e > s ? (e - s + st - 1) / st : 0;
        } else {
            s = s < 0 ? -1 : s > n - 1 ? n - 1 : s;
            e = e < -1 ? -1 : e > n - 1 ? n - 1 : e;
            dims[d] = s > e ? (s - e + (-st) - 1) / (-st) : 0;
        }
        start[d] = s < 0 ? 0 : s;
        step[d] = st;
    }
    return sliced(c, x, start, step, dims, out_name(c, 0));
}

static Tensor *op_concat(Ctx *c) {
    Tensor *x = c->in[0];
    Attrs a;
    memset(&a, 0, sizeof a);
    a.axis = norm_axis(attr_i(c->n, "axis", 0), x->rank);
    long dims[MAX_T];
    memcpy(dims, x->dims, sizeof dims);
    dims[a.axis] = 0;
    for (int i = 0; i < c->nin; i++) {
        if (!c->in[i] || c->in[i]->rank != x->rank) { unsupported(c->im, "operands of different ranks"); return NULL; }
        for (int d = 0; d < x->rank; d++)
            if (d != a.axis && c->in[i]->dims[d] != x->dims[d]) {
                diag_error(nowhere(), "%s: operand %d has extent %ld on axis %d where operand 0 has %ld; Concat "
                           "needs equal extents off axis %d", where(c->im), i, c->in[i]->dims[d], d, x->dims[d],
                           a.axis);
                return NULL;
            }
        dims[a.axis] += c->in[i]->dims[a.axis];
    }
    /* more operands than a node takes (a DenseNet block): concatenate the
     * first ones, then that and the next ones, ... */
    Tensor *in[IR_MAX_IO];
    int k = 0, next = 0;
    long part[MAX_T];
    memcpy(part, dims, sizeof part);
    while (c->nin - next > IR_MAX_IO - k) {
        part[a.axis] = 0;
        for (int i = 0; i < k; i++) part[a.axis] += in[i]->dims[a.axis];
        while (k < IR_MAX_IO) {
            in[k] = c->in[next++];
            part[a.axis] += in[k++]->dims[a.axis];
        }
        char name[160];
        snprintf(name, sizeof name, "%.100s/part%d", out_name(c, 0), next);
        in[0] = apply(c->im, OP_ND_CONCAT, in, k, &a, name, x->rank, part);
        if (!in[0]) return NULL;
        k = 1;
    }
    while (next < c->nin) in[k++] = c->in[next++];
    return apply(c->im, OP_ND_CONCAT, in, k, &a, out_name(c, 0), x->rank, dims);
}

/* x as (outer, alen, inner) around axis */
static void around(const Tensor *x, int axis, Attrs *a) {
    a->outer = numel(x->dims, axis);
    a->alen = x->dims[axis];
    a->inner = numel(x->dims + axis + 1, x->rank - axis - 1);
}

static Tensor *op_arg(Ctx *c, int fn) {
    Tensor *x = c->in[0];
    int axis = norm_axis(attr_i(c->n, "axis", 0), x->rank), keep = (int)attr_i(c->n, "keepdims", 1), rank = 0;
    Attrs a;
    memset(&a, 0, sizeof a);
    around(x, axis, &a);
    a.fn = fn;
    a.count = attr_i(c->n, "select_last_index", 0);
    long dims[MAX_T];
    for (int d = 0; d < x->rank; d++)
        if (d != axis) dims[rank++] = x->dims[d];
        else if (keep) dims[rank++] = 1;
    return apply(c->im, OP_ND_ARG, c->in, 1, &a, out_name(c, 0), rank, dims);
}
static Tensor *op_argmax(Ctx *c) { return op_arg(c, NNC_RT_RED_MAX); }
static Tensor *op_argmin(Ctx *c) { return op_arg(c, NNC_RT_RED_MIN); }

static Tensor *op_gather_elements(Ctx *c) {
    Tensor *x = c->in[0], *idx = c->in[1];
    int axis = norm_axis(attr_i(c->n, "axis", 0), x->rank);
    for (int d = 0; d < x->rank; d++)
        if (idx->rank != x->rank || (d != axis && idx->dims[d] != x->dims[d])) {
            unsupported(c->im, "GatherElements whose indices differ from the data off the axis");
            return NULL;
        }
    Attrs a;
    memset(&a, 0, sizeof a);
    around(x, axis, &a);
    a.ny = idx->dims[axis];
    a.fn = 1;
    return apply(c->im, OP_ND_GATHER, c->in, 2, &a, out_name(c, 0), idx->rank, idx->dims);
}

static Tensor *op_matmul(Ctx *c) {
    Tensor *a = c->in[0], *b = c->in[1];
    if (a->rank < 2 || b->rank < 2) { unsupported(c->im, "MatMul of 1-D operands"); return NULL; }
    int M = (int)a->dims[a->rank - 2], K = (int)a->dims[a->rank - 1], N = (int)b->dims[b->rank - 1];
    if (b->dims[b->rank - 2] != K) { unsupported(c->im, "MatMul operands whose inner sizes differ"); return NULL; }
    /* the batch axes broadcast; strides in whole matrices */
    Tensor ba = *a, bb = *b;
    ba.rank -= 2; bb.rank -= 2;
    Attrs at;
    memset(&at, 0, sizeof at);
    long dims[MAX_T], as[MAX_T], bs[MAX_T];
    int rank;
    if (broadcast(&ba, &bb, &rank, dims, as, bs)) { unsupported(c->im, "MatMul batches that do not broadcast"); return NULL; }
    dense_nd(&at.nd, rank, dims);
    for (int d = 0; d < rank; d++) {
        at.nd.as[d] = as[d] * M * K;
        at.nd.bs[d] = bs[d] * K * N;
        at.nd.ys[d] *= (long)M * N;
    }
    at.M = M; at.N = N; at.K = K;
    long out[MAX_T];
    memcpy(out, dims, sizeof out);
    out[rank] = M;
    out[rank + 1] = N;
    return apply(c->im, OP_ND_MATMUL, c->in, 2, &at, out_name(c, 0), rank + 2, out);
}

/* Gemm: alpha op(A) op(B) + beta C, with transposes as strided copies */
static Tensor *op_gemm(Ctx *c) {
    Tensor *a = c->in[0], *b = c->in[1];
    char name[160];
    for (int i = 0; i < 2; i++)
        if (attr_i(c->n, i ? "transB" : "transA", 0)) {
            Tensor *x = c->in[i];
            long dims[2] = { x->dims[1], x->dims[0] };
            Attrs t;
            memset(&t, 0, sizeof t);
            dense_nd(&t.nd, 2, dims);
            t.nd.as[0] = 1;
            t.nd.as[1] = x->dims[1];
            snprintf(name, sizeof name, "%.100s.T", x->name);
            Tensor *tt = apply(c->im, OP_ND_COPY, &x, 1, &t, name, 2, dims);
            if (i) b = tt; else a = tt;
        }
    Ctx mc = *c;
    mc.in[0] = a; mc.in[1] = b; mc.nin = 2;
    float alpha = attr_f(c->n, "alpha", 1.0f), beta = attr_f(c->n, "beta", 1.0f);
    int has_c = c->nin > 2 && c->in[2];
    const char *final = out_name(c, 0);
    snprintf(name, sizeof name, "%.100s/ab", final);
    Onnx__NodeProto fake = *c->n;
    char *outs[1] = { (alpha != 1.0f || has_c) ? name : (char *)final };
    fake.output = outs;
    mc.n = &fake;
    Tensor *y = op_matmul(&mc);
    if (!y) return NULL;
    long one = 1;
    if (alpha != 1.0f) {
        float *k = malloc(sizeof *k);
        *k = alpha;
        char kn[170];
        snprintf(kn, sizeof kn, "%.100s/alpha", final);
        char yn[170];
        snprintf(yn, sizeof yn, "%.100s/scaled", final);
        y = binary_of(c, NNC_RT_BIN_MUL, y, add_constant(c->im, kn, 0, &one, k), has_c ? yn : final);
        if (!y) return NULL;
    }
    if (has_c) {
        Tensor *cc = c->in[2];
        if (beta != 1.0f) {
            float *k = malloc(sizeof *k);
            *k = beta;
            char kn[170], cn[170];
            snprintf(kn, sizeof kn, "%.100s/beta", final);
            snprintf(cn, sizeof cn, "%.100s/betaC", final);
            cc = binary_of(c, NNC_RT_BIN_MUL, cc, add_constant(c->im, kn, 0, &one, k), cn);
            if (!cc) return NULL;
        }
        y = binary_of(c, NNC_RT_BIN_ADD, y, cc, final);
    }
    return y;
}

static Tensor *op_softmax(Ctx *c, int fn) {
    Tensor *x = c->in[0];
    Attrs a;
    memset(&a, 0, sizeof a);
    a.fn = fn;
    if (c->im->opset < 13) {    /* coerced to 2-D at axis */
        int axis = norm_axis(attr_i(c->n, "axis", 1), x->rank);
        a.outer = numel(x->dims, axis);
        a.alen = numel(x->dims + axis, x->rank - axis);
        a.inner = 1;
    } else {
        int axis = norm_axis(attr_i(c->n, "axis", -1), x->rank);
        a.outer = numel(x->dims, axis);
        a.alen = x->dims[axis];
        a.inner = numel(x->dims + axis + 1, x->rank - axis - 1);
    }
    return apply(c->im, OP_ND_SOFTMAX, c->in, 1, &a, out_name(c, 0), x->rank, x->dims);
}

/* the reduction over the marked axes of x */
static Tensor *reduce_mark(Ctx *c, int fn, Tensor *x, const int *mark, int keep, const char *name) {
    long dims[MAX_T], xs[MAX_T], count = 1;
    int rank = 0;
    for (int d = 0; d < x->rank; d++) {
        if (mark[d]) { count *= x->dims[d]; if (keep) dims[rank++] = 1; }
        else dims[rank++] = x->dims[d];
    }
    /* y strides over x's axes: 0 on the reduced ones */
    long ydims[MAX_T], ys[MAX_T];
    for (int d = 0; d < x->rank; d++) ydims[d] = mark[d] ? 1 : x->dims[d];
    strides(ydims, x->rank, ys);
    strides(x->dims, x->rank, xs);
    Attrs a;
    memset(&a, 0, sizeof a);
    dense_nd(&a.nd, x->rank, x->dims);
    for (int d = 0; d < x->rank; d++) {
        a.nd.ys[d] = mark[d] ? 0 : ys[d];
        a.nd.as[d] = xs[d];
    }
    a.fn = fn;
    a.ny = numel(dims, rank);
    a.count = count;
    return apply(c->im, OP_ND_REDUCE, &x, 1, &a, name, rank, dims);
}

static Tensor *op_reduce(Ctx *c, int fn) {
    Tensor *x = c->in[0];
    long axes[MAX_T];
    int k = axes_of(c, 1, axes), keep = (int)attr_i(c->n, "keepdims", 1);
    if (k == -1) return NULL;
    int mark[MAX_T] = { 0 };
    if (k == -2 || k == 0) {
        if (k == 0 && attr_i(c->n, "noop_with_empty_axes", 0)) {
            Attrs a;
            memset(&a, 0, sizeof a);
            a.fn = NNC_RT_UN_IDENTITY;
            return apply(c->im, OP_ND_UNARY, c->in, 1, &a, out_name(c, 0), x->rank, x->dims);
        }
        for (int d = 0; d < x->rank; d++) mark[d] = 1;
    } else {
        for (int i = 0; i < k; i++) mark[norm_axis(axes[i], x->rank)] = 1;
    }
    return reduce_mark(c, fn, x, mark, keep, out_name(c, 0));
}

static Tensor *op_constant(Ctx *c) {
    const Onnx__AttributeProto *v = attr(c->n, "value");
    long one = 1;
    if (v && v->t) {
        long count, dims[MAX_T];
        float *d = tensor_data(c->im, v->t, &count);
        if (!d) return NULL;
        for (size_t i = 0; i < v->t->n_dims && i < MAX_T; i++) dims[i] = (long)v->t->dims[i];
        return add_constant(c->im, out_name(c, 0), (int)v->t->n_dims, dims, d);
    }
    if ((v = attr(c->n, "value_float")) || (v = attr(c->n, "value_int"))) {
        float *d = malloc(sizeof *d);
        *d = !strcmp(v->name, "value_float") ? v->f : (float)v->i;
        return add_constant(c->im, out_name(c, 0), 0, &one, d);
    }
    if ((v = attr(c->n, "value_floats")) || (v = attr(c->n, "value_ints"))) {
        int fl = !strcmp(v->name, "value_floats");
        long n = (long)(fl ? v->n_floats : v->n_ints);
        float *d = malloc((size_t)(n ? n : 1) * sizeof *d);
        for (long i = 0; i < n; i++) d[i] = fl ? v->floats[i] : (float)v->ints[i];
        return add_constant(c->im, out_name(c, 0), 1, &n, d);
    }
    unsupported(c->im, "a Constant without a numeric value");
    return NULL;
}

static Tensor *op_shape(Ctx *c) {
    Tensor *x = c->in[0];
    long start = attr_i(c->n, "start", 0), end = attr_i(c->n, "end", x->rank);
    if (start < 0) start += x->rank;
    if (end < 0) end += x->rank;
    if (start < 0) start = 0;
    if (end > x->rank) end = x->rank;
    long n = end > start ? end - start : 0;
    float *d = malloc((size_t)(n ? n : 1) * sizeof *d);
    for (long i = 0; i < n; i++) d[i] = (float)x->dims[start + i];
    return add_constant(c->im, out_name(c, 0), 1, &n, d);
}

static Tensor *op_size(Ctx *c) {
    long one = 1;
    float *d = malloc(sizeof *d);
    *d = (float)numel(c->in[0]->dims, c->in[0]->rank);
    return add_constant(c->im, out_name(c, 0), 0, &one, d);
}

static Tensor *op_cast(Ctx *c) {
    long to = attr_i(c->n, "to", 1);
    if (!strcmp(c->n->op_type, "CastLike")) to = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    if (!dtype_ok((int)to)) {
        char why[64];
        snprintf(why, sizeof why, "a cast to %s", dtype_name((int)to));
        unsupported(c->im, why);
        return NULL;
    }
    int fn = to == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || to == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ? NNC_RT_UN_IDENTITY :
             to == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL ? -1 : -2;
    if (fn == -1) {         /* x != 0 */
        long one = 1;
        float *z = calloc(1, sizeof *z);
        char n0[170];
        part(c, "zero", n0);
        Tensor *t = binary_of(c, NNC_RT_BIN_EQUAL, c->in[0], add_constant(c->im, n0, 0, &one, z), n0);
        if (!t) return NULL;
        Ctx u = *c;
        u.in[0] = t;
        return unary(&u, NNC_RT_UN_NOT, 0, 0);
    }
    if (fn == -2) {         /* to an integer: toward zero */
        Tensor *x = c->in[0];
        Attrs a;
        memset(&a, 0, sizeof a);
        a.fn = NNC_RT_UN_SIGN;
        char n1[170], n2[170], n3[170];
        part(c, "sign", n1);
        part(c, "abs", n2);
        part(c, "floor", n3);
        Tensor *s = apply(c->im, OP_ND_UNARY, &x, 1, &a, n1, x->rank, x->dims);
        a.fn = NNC_RT_UN_ABS;
        Tensor *m = apply(c->im, OP_ND_UNARY, &x, 1, &a, n2, x->rank, x->dims);
        a.fn = NNC_RT_UN_FLOOR;
        Tensor *f = apply(c->im, OP_ND_UNARY, &m, 1, &a, n3, x->rank, x->dims);
        return binary_of(c, NNC_RT_BIN_MUL, s, f, out_name(c, 0));
    }
    return unary(c, NNC_RT_UN_IDENTITY, 0, 0);
}

static Tensor *op_clip(Ctx *c) {
    float lo = -INFINITY, hi = INFINITY;
    if (c->im->opset < 11) {
        lo = attr_f(c->n, "min", -INFINITY);
        hi = attr_f(c->n, "max", INFINITY);
    } else {
        for (int i = 1; i < 3 && i < c->nin; i++) {
            if (!c->in[i]) continue;
            if (!c->in[i]->data) { unsupported(c->im, "Clip bounds computed at run time"); return NULL; }
            if (i == 1) lo = c->in[i]->data[0]; else hi = c->in[i]->data[0];
        }
    }
    return unary(c, NNC_RT_UN_CLIP, lo, hi);
}

static Tensor *op_where(Ctx *c) {
    Tensor *cond = c->in[0], *x = c->in[1], *y = c->in[2];
    long d1[MAX_T], d2[MAX_T], s1[MAX_T], s2[MAX_T], s3[MAX_T], s4[MAX_T];
    int r1, r2;
    if (broadcast(x, y, &r1, d1, s1, s2)) { no_broadcast(c, x, y); return NULL; }
    Tensor xy = *x;
    xy.rank = r1;
    memcpy(xy.dims, d1, sizeof d1);
    if (broadcast(cond, &xy, &r2, d2, s3, s4)) { unsupported(c->im, "operands that do not broadcast"); return NULL; }
    /* re-derive x's and y's strides against the full shape */
    Tensor full = xy;
    full.rank = r2;
    memcpy(full.dims, d2, sizeof d2);
    Attrs a;
    memset(&a, 0, sizeof a);
    long t[MAX_T];
    dense_nd(&a.nd, r2, d2);
    broadcast(x, &full, &r2, t, a.nd.as, s4);
    broadcast(y, &full, &r2, t, a.nd.bs, s4);
    memcpy(a.cs, s3, sizeof s3);
    return apply(c->im, OP_ND_WHERE, c->in, 3, &a, out_name(c, 0), r2, d2);
}

static Tensor *op_expand(Ctx *c) {
    Tensor *x = c->in[0];
    long shape[MAX_T];
    int k = const_ints(c->im, c->in[1], shape, MAX_T, "shape");
    if (k < 0) return NULL;
    Tensor s;
    memset(&s, 0, sizeof s);
    s.rank = k;
    memcpy(s.dims, shape, sizeof shape);
    Attrs a;
    memset(&a, 0, sizeof a);
    long dims[MAX_T], as[MAX_T], bs[MAX_T];
    int rank;
    if (broadcast(x, &s, &rank, dims, as, bs)) { unsupported(c->im, "a shape x does not broadcast to"); return NULL; }
    dense_nd(&a.nd, rank, dims);
    memcpy(a.nd.as, as, sizeof as);
    return apply(c->im, OP_ND_COPY, c->in, 1, &a, out_name(c, 0), rank, dims);
}

static Tensor *op_tile(Ctx *c) {
    Tensor *x = c->in[0];
    long reps[MAX_T], xs[MAX_T], ydims[MAX_T], ys[MAX_T];
    if (const_ints(c->im, c->in[1], reps, MAX_T, "repeats") != x->rank) return NULL;
    if (2 * x->rank > NNC_RT_ND_MAX) { unsupported(c->im, "Tile of rank above 4"); return NULL; }
    for (int d = 0; d < x->rank; d++) ydims[d] = x->dims[d] * reps[d];
    strides(ydims, x->rank, ys);
    strides(x->dims, x->rank, xs);
    Attrs a;
    memset(&a, 0, sizeof a);
    a.nd.rank = 2 * x->rank;     /* (repeat, element) pairs */
    for (int d = 0; d < x->rank; d++) {
        a.nd.dims[2 * d] = reps[d];     a.nd.ys[2 * d] = x->dims[d] * ys[d];     a.nd.as[2 * d] = 0;
        a.nd.dims[2 * d + 1] = x->dims[d]; a.nd.ys[2 * d + 1] = ys[d];          a.nd.as[2 * d + 1] = xs[d];
    }
    return apply(c->im, OP_ND_COPY, c->in, 1, &a, out_name(c, 0), x->rank, ydims);
}

static int string_attr_is(const Onnx__NodeProto *n, const char *name, const char *value);

/* Pad in reflect or edge mode, one axis at a time: the mirrored (or
 * repeated) border slices concatenated on both sides */
static Tensor *pad_mirror(Ctx *c, Tensor *x, const long *pads, int reflect) {
    Tensor *cur = x;
    for (int d = 0; d < x->rank; d++) {
        long before = pads[d], after = pads[x->rank + d], n = cur->dims[d];
        if (!before && !after) continue;
        if (reflect ? before >= n || after >= n : n == 0) { unsupported(c->im, "pads wider than the input"); return NULL; }
        Tensor *parts[3];
        int np = 0;
        long start[MAX_T] = { 0 }, step[MAX_T], dims[MAX_T];
        char names[3][170];
        for (int k = 0; k < 3; k++) {
            long count = k == 0 ? before : k == 1 ? n : after;
            if (!count) continue;
            for (int e = 0; e < cur->rank; e++) { start[e] = 0; step[e] = 1; dims[e] = cur->dims[e]; }
            dims[d] = count;
            if (k == 0) { start[d] = reflect ? before : 0; step[d] = reflect ? -1 : 0; }
            if (k == 2) { start[d] = reflect ? n - 2 : n - 1; step[d] = reflect ? -1 : 0; }
            if (k == 1) { parts[np++] = cur; continue; }
            snprintf(names[k], sizeof names[k], "%.100s/pad%d_%d", out_name(c, 0), d, k);
            parts[np] = sliced(c, cur, start, step, dims, names[k]);
            if (!parts[np++]) return NULL;
        }
        Attrs a;
        memset(&a, 0, sizeof a);
        a.axis = d;
        long odims[MAX_T];
        memcpy(odims, cur->dims, sizeof odims);
        odims[d] = n + before + after;
        int last = 1;
        for (int e = d + 1; e < x->rank; e++) last &= !pads[e] && !pads[x->rank + e];
        char name[170];
        snprintf(name, sizeof name, "%.100s/padded%d", out_name(c, 0), d);
        cur = apply(c->im, OP_ND_CONCAT, parts, np, &a, last ? out_name(c, 0) : name, cur->rank, odims);
        if (!cur) return NULL;
    }
    return cur != x ? cur : unary(c, NNC_RT_UN_IDENTITY, 0, 0);   /* no padding at all */
}

static Tensor *op_pad(Ctx *c) {
    Tensor *x = c->in[0];
    int reflect = string_attr_is(c->n, "mode", "reflect"), edge = string_attr_is(c->n, "mode", "edge");
    if (!reflect && !edge && attr(c->n, "mode") && !string_attr_is(c->n, "mode", "constant")) {
        unsupported(c->im, "Pad modes other than constant, reflect and edge");
        return NULL;
    }
    long pads[2 * MAX_T];
    int k;
    float value = 0;
    if (c->im->opset < 11) {
        k = attr_ints(c->n, "pads", pads, 2 * MAX_T);
        value = attr_f(c->n, "value", 0);
    } else {
        k = const_ints(c->im, c->in[1], pads, 2 * MAX_T, "pads");
        if (c->nin > 2 && c->in[2]) {
            if (!c->in[2]->data) { unsupported(c->im, "a pad value computed at run time"); return NULL; }
            value = c->in[2]->data[0];
        }
        if (c->nin > 3 && c->in[3]) { unsupported(c->im, "Pad with axes"); return NULL; }
    }
    if (k != 2 * x->rank) { if (k >= 0) unsupported(c->im, "pads of the wrong length"); return NULL; }
    long dims[MAX_T], ys[MAX_T], xs[MAX_T];
    for (int d = 0; d < x->rank; d++) {
        dims[d] = x->dims[d] + pads[d] + pads[x->rank + d];
        if (pads[d] < 0 || pads[x->rank + d] < 0) { unsupported(c->im, "negative pads"); return NULL; }
    }
    if (reflect || edge) return pad_mirror(c, x, pads, reflect);
    strides(dims, x->rank, ys);
    strides(x->dims, x->rank, xs);
    Attrs a;
    memset(&a, 0, sizeof a);
    dense_nd(&a.nd, x->rank, x->dims);
    memcpy(a.nd.ys, ys, sizeof ys);
    memcpy(a.nd.as, xs, sizeof xs);
    for (int d = 0; d < x->rank; d++) a.nd.yoff += pads[d] * ys[d];
    a.alpha = value;
    return apply(c->im, OP_ND_PAD, c->in, 1, &a, out_name(c, 0), x->rank, dims);
}

static Tensor *op_gather(Ctx *c) {
    Tensor *x = c->in[0], *idx = c->in[1];
    int axis = norm_axis(attr_i(c->n, "axis", 0), x->rank);
    long ni = numel(idx->dims, idx->rank), dims[MAX_T];
    int rank = 0;
    for (int d = 0; d < axis; d++) dims[rank++] = x->dims[d];
    for (int d = 0; d < idx->rank; d++) dims[rank++] = idx->dims[d];
    for (int d = axis + 1; d < x->rank; d++) dims[rank++] = x->dims[d];
    if (rank > MAX_T) { unsupported(c->im, "a result above rank 8"); return NULL; }
    Attrs a;
    memset(&a, 0, sizeof a);
    /* constant indices in a progression (x[:, -1], x[:, 2:8:2]) select a
     * strided slice: a copy, which has a gradient */
    long first = 0, step = 0;
    int progression = idx->data && !x->data && idx->rank <= 1 && ni >= 1;
    for (long i = 0; progression && i < ni; i++) {
        if (idx->data[i] != idx->data[i]) { progression = 0; break; }   /* NaN: nd_gather's to judge */
        long v = to_long(idx->data[i]);
        if (v < 0) v += x->dims[axis];
        if (v < 0 || v >= x->dims[axis]) progression = 0;
        else if (i == 0) first = v;
        else if (i == 1) step = v - first;
        else if (v != first + i * step) progression = 0;
    }
    if (progression) {
        long xs[MAX_T];
        strides(x->dims, x->rank, xs);
        dense_nd(&a.nd, rank, dims);
        for (int d = 0, k = 0; d < x->rank; d++) {
            if (d == axis) {
                a.nd.aoff = first * xs[d];
                if (idx->rank) a.nd.as[k++] = step * xs[d];
            } else {
                a.nd.as[k++] = xs[d];
            }
        }
        return apply(c->im, OP_ND_COPY, &x, 1, &a, out_name(c, 0), rank, dims);
    }
    around(x, axis, &a);
    a.ny = ni;
    return apply(c->im, OP_ND_GATHER, c->in, 2, &a, out_name(c, 0), rank, dims);
}

static Tensor *op_split(Ctx *c) {
    Tensor *x = c->in[0];
    int axis = norm_axis(attr_i(c->n, "axis", 0), x->rank), nout = (int)c->n->n_output;
    long split[16];
    int k = attr_ints(c->n, "split", split, 16);
    if (k < 0 && c->nin > 1 && c->in[1]) k = const_ints(c->im, c->in[1], split, 16, "split");
    if (k < 0) {
        long total = x->dims[axis], each = (total + nout - 1) / nout;
        for (int i = 0; i < nout; i++) split[i] = total - each * i < each ? total - each * i : each;
        k = nout;
    }
    if (k != nout) { unsupported(c->im, "a split list that does not match the outputs"); return NULL; }
    long start[MAX_T] = { 0 }, step[MAX_T], dims[MAX_T];
    for (int d = 0; d < x->rank; d++) step[d] = 1;
    Tensor *last = NULL;
    for (int i = 0; i < nout; i++) {
        memcpy(dims, x->dims, sizeof dims);
        dims[axis] = split[i];
        last = sliced(c, x, start, step, dims, out_name(c, i));
        if (!last) return NULL;
        start[axis] += split[i];
    }
    return last;
}

static Tensor *op_identity(Ctx *c) { return unary(c, NNC_RT_UN_IDENTITY, 0, 0); }

static Tensor *op_constant_of_shape(Ctx *c) {
    long shape[MAX_T];
    int k = const_ints(c->im, c->in[0], shape, MAX_T, "shape");
    if (k < 0) return NULL;
    float v = 0;
    const Onnx__AttributeProto *a = attr(c->n, "value");
    if (a && a->t) {
        long count;
        float *d = tensor_data(c->im, a->t, &count);
        if (!d) return NULL;
        v = count ? d[0] : 0;
        free(d);
    }
    long n = numel(shape, k);
    float *y = malloc((size_t)(n ? n : 1) * sizeof *y);
    for (long i = 0; i < n; i++) y[i] = v;
    return add_constant(c->im, out_name(c, 0), k, shape, y);
}

static Tensor *op_range(Ctx *c) {
    for (int i = 0; i < 3; i++)
        if (!c->in[i]->data) { unsupported(c->im, "Range of values computed at run time"); return NULL; }
    double s = c->in[0]->data[0], l = c->in[1]->data[0], d = c->in[2]->data[0];
    long n = (long)ceil((l - s) / d);
    if (n < 0) n = 0;
    float *y = malloc((size_t)(n ? n : 1) * sizeof *y);
    for (long i = 0; i < n; i++) y[i] = (float)(s + i * d);
    return add_constant(c->im, out_name(c, 0), 1, &n, y);
}

static Tensor *op_dropout(Ctx *c) {
    if (c->nin > 2 && c->in[2] && !(c->in[2]->data && c->in[2]->data[0] == 0.0f)) {
        unsupported(c->im, "Dropout in training mode (an inference build is deterministic)");
        return NULL;
    }
    Tensor *y = unary(c, NNC_RT_UN_IDENTITY, 0, 0);
    if (y && c->n->n_output > 1 && *c->n->output[1]) {   /* the mask: all kept */
        Tensor *x = c->in[0];
        long n = numel(x->dims, x->rank);
        float *m = malloc((size_t)(n ? n : 1) * sizeof *m);
        for (long i = 0; i < n; i++) m[i] = 1;
        add_constant(c->im, out_name(c, 1), x->rank, x->dims, m);
    }
    return y;
}

static Tensor *scalar(Ctx *c, const char *suffix, float v) {
    long one = 1;
    float *d = malloc(sizeof *d);
    *d = v;
    char name[170];
    snprintf(name, sizeof name, "%.100s/%s", out_name(c, 0), suffix);
    return add_constant(c->im, name, 0, &one, d);
}

static Tensor *un(Ctx *c, int fn, Tensor *x, const char *suffix) {
    Attrs a;
    memset(&a, 0, sizeof a);
    a.fn = fn;
    char name[170];
    snprintf(name, sizeof name, "%.100s/%s", out_name(c, 0), suffix);
    return apply(c->im, OP_ND_UNARY, &x, 1, &a, name, x->rank, x->dims);
}

/* (x - mean) / sqrt(var + eps) * scale + bias over the axes from `axis` on */
static Tensor *op_layernorm(Ctx *c) {
    Tensor *x = c->in[0];
    int axis = norm_axis(attr_i(c->n, "axis", -1), x->rank), mark[MAX_T] = { 0 };
    for (int d = axis; d < x->rank; d++) mark[d] = 1;
    char n1[170], n2[170], n3[170], n4[170];
    part(c, "mean", n1);
    part(c, "centered", n2);
    part(c, "var", n3);
    part(c, "normed", n4);
    const char *mean_out = c->n->n_output > 1 && *c->n->output[1] ? c->n->output[1] : n1;
    Tensor *mean = reduce_mark(c, NNC_RT_RED_MEAN, x, mark, 1, mean_out);
    Tensor *d = mean ? binary_of(c, NNC_RT_BIN_SUB, x, mean, n2) : NULL;
    Tensor *sq = d ? binary_of(c, NNC_RT_BIN_MUL, d, d, n3) : NULL;
    if (!sq) return NULL;
    char n5[170], n6[170];
    part(c, "varmean", n5);
    part(c, "vareps", n6);
    Tensor *var = reduce_mark(c, NNC_RT_RED_MEAN, sq, mark, 1, n5);
    Tensor *ve = var ? binary_of(c, NNC_RT_BIN_ADD, var, scalar(c, "eps", attr_f(c->n, "epsilon", 1e-5f)), n6) : NULL;
    Tensor *sd = ve ? un(c, NNC_RT_UN_SQRT, ve, "std") : NULL;
    if (!sd) return NULL;
    Tensor *inv;
    if (c->n->n_output > 2 && *c->n->output[2]) {
        Attrs a;
        memset(&a, 0, sizeof a);
        a.fn = NNC_RT_UN_RECIPROCAL;
        inv = apply(c->im, OP_ND_UNARY, &sd, 1, &a, c->n->output[2], sd->rank, sd->dims);
    } else {
        inv = un(c, NNC_RT_UN_RECIPROCAL, sd, "invstd");
    }
    Tensor *y = binary_of(c, NNC_RT_BIN_MUL, d, inv, n4);
    int bias = c->nin > 2 && c->in[2];
    char n7[170];
    part(c, "scaled", n7);
    y = y ? binary_of(c, NNC_RT_BIN_MUL, y, c->in[1], bias ? n7 : out_name(c, 0)) : NULL;
    if (y && bias) y = binary_of(c, NNC_RT_BIN_ADD, y, c->in[2], out_name(c, 0));
    return y;
}

static int reduction_of(Ctx *c) {
    const Onnx__AttributeProto *r = attr(c->n, "reduction");
    if (!r || !r->s.len) return 2;
    if (!strncmp((const char *)r->s.data, "none", r->s.len)) return 0;
    if (!strncmp((const char *)r->s.data, "sum", r->s.len)) return 1;
    return 2;
}

/* NLL on log-probabilities x (N, C, d...) with targets (N, d...) */
static Tensor *nll(Ctx *c, Tensor *x, Tensor *target, Tensor *weight, const char *name) {
    Attrs a;
    memset(&a, 0, sizeof a);
    if (x->rank < 2) { unsupported(c->im, "inputs of rank below 2"); return NULL; }
    a.outer = x->dims[0];
    a.alen = x->dims[1];
    a.inner = numel(x->dims + 2, x->rank - 2);
    a.fn = reduction_of(c);
    a.count = attr(c->n, "ignore_index") ? attr_i(c->n, "ignore_index", 0) : -(1L << 40);
    Tensor *in[3] = { x, target, weight };
    long one = 1;
    return apply(c->im, OP_ND_NLL, in, weight ? 3 : 2, &a, name, a.fn ? 0 : target->rank,
                 a.fn ? &one : target->dims);
}

static Tensor *op_nll(Ctx *c) {
    return nll(c, c->in[0], c->in[1], c->nin > 2 ? c->in[2] : NULL, out_name(c, 0));
}

static Tensor *op_sce(Ctx *c) {
    Tensor *x = c->in[0];
    Attrs a;
    memset(&a, 0, sizeof a);
    if (x->rank < 2) { unsupported(c->im, "scores of rank below 2"); return NULL; }
    a.fn = NNC_RT_SOFTMAX_LOG;
    a.outer = x->dims[0];
    a.alen = x->dims[1];
    a.inner = numel(x->dims + 2, x->rank - 2);
    char n1[170];
    part(c, "logprob", n1);
    const char *lp_name = c->n->n_output > 1 && *c->n->output[1] ? c->n->output[1] : n1;
    Tensor *lp = apply(c->im, OP_ND_SOFTMAX, &x, 1, &a, lp_name, x->rank, x->dims);
    return lp ? nll(c, lp, c->in[1], c->nin > 2 ? c->in[2] : NULL, out_name(c, 0)) : NULL;
}

/* ---- convolution and pooling: NCHW around the runtime's NHWC kernels -------------- */

/* NCHW <-> NHWC for a rank-4 tensor (to_nhwc: N C H W -> N H W C) */
static Tensor *relayout(Ctx *c, Tensor *x, int to_nhwc, const char *name) {
    static const long to[4] = { 0, 2, 3, 1 }, back[4] = { 0, 3, 1, 2 };
    const long *perm = to_nhwc ? to : back;
    long dims[4], xs[4];
    strides(x->dims, 4, xs);
    Attrs a;
    memset(&a, 0, sizeof a);
    for (int d = 0; d < 4; d++) dims[d] = x->dims[perm[d]];
    dense_nd(&a.nd, 4, dims);
    for (int d = 0; d < 4; d++) a.nd.as[d] = xs[perm[d]];
    return apply(c->im, OP_ND_COPY, &x, 1, &a, name, 4, dims);
}

/* the spatial geometry of a Conv or pool node over (h, w), ONNX rules */
static int window2d(Ctx *c, const long *xdims, long kh, long kw, int *out) {
    long k[2] = { kh, kw }, s[2] = { 1, 1 }, d[2] = { 1, 1 }, p[4] = { 0, 0, 0, 0 }, in[2] = { xdims[2], xdims[3] };
    attr_ints(c->n, "strides", s, 2);
    attr_ints(c->n, "dilations", d, 2);
    attr_ints(c->n, "pads", p, 4);
    const Onnx__AttributeProto *ap = attr(c->n, "auto_pad");
    int ceil_mode = (int)attr_i(c->n, "ceil_mode", 0);
    for (int i = 0; i < 2; i++) {
        long span = d[i] * (k[i] - 1) + 1, o;
        if (ap && ap->s.len && strncmp((const char *)ap->s.data, "NOTSET", ap->s.len)) {
            if (!strncmp((const char *)ap->s.data, "VALID", ap->s.len)) {
                p[i] = p[i + 2] = 0;
            } else {
                long outn = (in[i] + s[i] - 1) / s[i], total = (outn - 1) * s[i] + span - in[i];
                if (total < 0) total = 0;
                int lower = !strncmp((const char *)ap->s.data, "SAME_LOWER", ap->s.len);
                p[i] = lower ? total - total / 2 : total / 2;
                p[i + 2] = total - p[i];
            }
        }
        long num = in[i] + p[i] + p[i + 2] - span;
        if (num < 0) { unsupported(c->im, "a window larger than the padded input"); return -1; }
        o = ceil_mode ? (num + s[i] - 1) / s[i] + 1 : num / s[i] + 1;
        if (ceil_mode && (o - 1) * s[i] >= in[i] + p[i]) o--;   /* a window that starts in the padding */
        out[i] = (int)o;
        out[2 + i] = (int)p[i];
        out[4 + i] = (int)s[i];
        out[6 + i] = (int)d[i];
    }
    return 0;
}

static Tensor *op_conv(Ctx *c) {
    Tensor *x = c->in[0], *w = c->in[1], *b = c->nin > 2 ? c->in[2] : NULL;
    if (x->rank != 4 && x->rank != 3) { unsupported(c->im, "Conv other than 1-D or 2-D"); return NULL; }
    if (!w->data || (b && !b->data)) { unsupported(c->im, "Conv weights computed at run time"); return NULL; }
    /* 1-D: (N, C, L) as (N, C, 1, L) */
    char n0[170], n1[170], n2[170], n3[170];
    part(c, "x4", n0);
    part(c, "nhwc", n1);
    part(c, "w", n2);
    part(c, "y", n3);
    int one_d = x->rank == 3;
    Tensor x4 = *x, w4 = *w;
    if (one_d) {
        long d4[4] = { x->dims[0], x->dims[1], 1, x->dims[2] }, k4[4] = { w->dims[0], w->dims[1], 1, w->dims[2] };
        x = reshaped(c, x, 4, d4, n0);
        if (!x) return NULL;
        w4.rank = 4;
        memcpy(w4.dims, k4, sizeof k4);
    } else {
        x4 = *x;
    }
    (void)x4;
    long group = attr_i(c->n, "group", 1), oc = w4.dims[0], cg = w4.dims[1], kh = w4.dims[2], kw = w4.dims[3];
    if (cg * group != x->dims[1] || oc % group) { unsupported(c->im, "channels that do not match the groups"); return NULL; }
    int geo[8];
    if (one_d) {   /* the attributes name the one spatial axis: read them as the width */
        long s1 = 1, d1 = 1, p1[2] = { 0, 0 };
        attr_ints(c->n, "strides", &s1, 1);
        attr_ints(c->n, "dilations", &d1, 1);
        attr_ints(c->n, "pads", p1, 2);
        const Onnx__AttributeProto *ap = attr(c->n, "auto_pad");
        if (ap && ap->s.len && strncmp((const char *)ap->s.data, "NOTSET", ap->s.len)) {
            unsupported(c->im, "auto_pad on a 1-D Conv");
            return NULL;
        }
        long num = x->dims[3] + p1[0] + p1[1] - d1 * (kw - 1) - 1;
        if (num < 0) { unsupported(c->im, "a window larger than the padded input"); return NULL; }
        int g1[8] = { 1, (int)(num / s1 + 1), 0, (int)p1[0], 1, (int)s1, 1, (int)d1 };
        memcpy(geo, g1, sizeof g1);
    } else if (window2d(c, x->dims, kh, kw, geo)) {
        return NULL;
    }
    Tensor *xn = relayout(c, x, 1, n1);
    /* weights (OC, C/g, kh, kw) -> Keras' (kh, kw, C/g, OC), folded */
    Tensor wv = w4;
    wv.data = w->data;
    Tensor *wp = &wv;
    long ws[4], wdims[4] = { kh, kw, cg, oc };
    strides(w4.dims, 4, ws);
    Attrs t;
    memset(&t, 0, sizeof t);
    dense_nd(&t.nd, 4, wdims);
    t.nd.as[0] = ws[2]; t.nd.as[1] = ws[3]; t.nd.as[2] = ws[1]; t.nd.as[3] = ws[0];
    Tensor *wk = apply(c->im, OP_ND_COPY, &wp, 1, &t, n2, 4, wdims);
    Attrs a;
    memset(&a, 0, sizeof a);
    nnc_rt_conv2d *p = &a.conv;
    p->h = (int)x->dims[2]; p->w = (int)x->dims[3]; p->c = (int)x->dims[1];
    p->oh = geo[0]; p->ow = geo[1]; p->oc = (int)oc; p->kh = (int)kh; p->kw = (int)kw;
    p->pt = geo[2]; p->pl = geo[3]; p->sh = geo[4]; p->sw = geo[5]; p->dh = geo[6]; p->dw = geo[7];
    p->groups = (int)group;
    a.M = (int)x->dims[0];
    Tensor *in[3] = { xn, wk, b };
    long ydims[4] = { x->dims[0], geo[0], geo[1], oc };
    Tensor *yn = apply(c->im, OP_ND_CONV, in, b ? 3 : 2, &a, n3, 4, ydims);
    /* the im2col scratch: a second output */
    int scratch = (int)NNC_RT_CONV2D_SCRATCH(p);
    Graph *g = c->im->g;
    int sv = ir_value(g, "conv.scratch", ROLE_ACT, 0, 1, &scratch);
    ir_add_output(g, g->values[yn->value].producer, sv);
    if (!one_d) return relayout(c, yn, 0, out_name(c, 0));
    char n4[170];
    part(c, "nchw", n4);
    Tensor *y4 = relayout(c, yn, 0, n4);
    long d3[3] = { x->dims[0], oc, geo[1] };
    return y4 ? reshaped(c, y4, 3, d3, out_name(c, 0)) : NULL;
}

static Tensor *op_pool(Ctx *c, int avg) {
    Tensor *x = c->in[0];
    if (x->rank == 3) {     /* 1-D: (N, C, L) pooled as (N, C, 1, L) with the attributes widened */
        long k1, s1 = 1, p1[2] = { 0, 0 }, d1 = 1;
        if (attr_ints(c->n, "kernel_shape", &k1, 1) != 1) { unsupported(c->im, "a pool without kernel_shape"); return NULL; }
        attr_ints(c->n, "strides", &s1, 1);
        attr_ints(c->n, "pads", p1, 2);
        attr_ints(c->n, "dilations", &d1, 1);
        if (attr(c->n, "auto_pad") || d1 != 1) { unsupported(c->im, "1-D pooling with auto_pad or dilations"); return NULL; }
        long ks[2] = { 1, k1 }, ss[2] = { 1, s1 }, ps[4] = { 0, p1[0], 0, p1[1] };
        Onnx__AttributeProto ak = ONNX__ATTRIBUTE_PROTO__INIT, as = ONNX__ATTRIBUTE_PROTO__INIT, apd = ONNX__ATTRIBUTE_PROTO__INIT;
        int64_t kv[2] = { ks[0], ks[1] }, sv[2] = { ss[0], ss[1] }, pv[4] = { ps[0], ps[1], ps[2], ps[3] };
        ak.name = "kernel_shape"; ak.n_ints = 2; ak.ints = kv;
        as.name = "strides"; as.n_ints = 2; as.ints = sv;
        apd.name = "pads"; apd.n_ints = 4; apd.ints = pv;
        Onnx__AttributeProto *attrs[8] = { &ak, &as, &apd };
        size_t na = 3;
        for (size_t i = 0; i < c->n->n_attribute && na < 8; i++)   /* ceil_mode, count_include_pad, ... */
            if (strcmp(c->n->attribute[i]->name, "kernel_shape") && strcmp(c->n->attribute[i]->name, "strides") &&
                strcmp(c->n->attribute[i]->name, "pads") && strcmp(c->n->attribute[i]->name, "dilations"))
                attrs[na++] = c->n->attribute[i];
        Onnx__NodeProto wide = *c->n;
        wide.n_attribute = na;
        wide.attribute = attrs;
        char n0[170], n1[170];
        long d4[4] = { x->dims[0], x->dims[1], 1, x->dims[2] };
        Tensor *x4 = reshaped(c, x, 4, d4, part(c, "x4", n0));
        if (!x4) return NULL;
        Ctx w = *c;
        w.n = &wide;
        w.in[0] = x4;
        char *outs[1] = { (char *)part(c, "y4", n1) };
        wide.output = outs;
        wide.n_output = 1;
        Tensor *y4 = op_pool(&w, avg);
        if (!y4) return NULL;
        long d3[3] = { y4->dims[0], y4->dims[1], y4->dims[3] };
        return reshaped(c, y4, 3, d3, out_name(c, 0));
    }
    if (x->rank != 4) { unsupported(c->im, "pooling other than 1-D or 2-D"); return NULL; }
    if (c->n->n_output > 1 && *c->n->output[1]) { unsupported(c->im, "MaxPool's indices output"); return NULL; }
    if (attr_i(c->n, "storage_order", 0)) { unsupported(c->im, "column-major storage_order"); return NULL; }
    if (avg && attr_i(c->n, "count_include_pad", 0)) {
        long p[4] = { 0, 0, 0, 0 };
        attr_ints(c->n, "pads", p, 4);
        if (p[0] || p[1] || p[2] || p[3] || attr(c->n, "auto_pad")) {
            unsupported(c->im, "AveragePool with count_include_pad over padding");
            return NULL;
        }
    }
    long k[2];
    if (attr_ints(c->n, "kernel_shape", k, 2) != 2) { unsupported(c->im, "a pool without a 2-D kernel_shape"); return NULL; }
    int geo[8];
    if (window2d(c, x->dims, k[0], k[1], geo)) return NULL;
    if (geo[6] != 1 || geo[7] != 1) { unsupported(c->im, "dilated pooling"); return NULL; }
    char n1[170], n2[170];
    part(c, "nhwc", n1);
    part(c, "y", n2);
    Tensor *xn = relayout(c, x, 1, n1);
    Attrs a;
    memset(&a, 0, sizeof a);
    nnc_rt_pool2d *p = &a.pool;
    p->h = (int)x->dims[2]; p->w = (int)x->dims[3]; p->c = (int)x->dims[1];
    p->oh = geo[0]; p->ow = geo[1]; p->kh = (int)k[0]; p->kw = (int)k[1];
    p->sh = geo[4]; p->sw = geo[5]; p->pt = geo[2]; p->pl = geo[3];
    a.M = (int)x->dims[0];
    a.fn = avg;
    long ydims[4] = { x->dims[0], geo[0], geo[1], x->dims[1] };
    Tensor *yn = apply(c->im, OP_ND_POOL, &xn, 1, &a, n2, 4, ydims);
    return relayout(c, yn, 0, out_name(c, 0));
}
static Tensor *op_maxpool(Ctx *c) { return op_pool(c, 0); }
static Tensor *op_avgpool(Ctx *c) { return op_pool(c, 1); }

static Tensor *op_global_pool(Ctx *c, int fn) {
    Tensor *x = c->in[0];
    int mark[MAX_T] = { 0 };
    for (int d = 2; d < x->rank; d++) mark[d] = 1;
    return reduce_mark(c, fn, x, mark, 1, out_name(c, 0));
}
static Tensor *op_gap(Ctx *c) { return op_global_pool(c, NNC_RT_RED_MEAN); }
static Tensor *op_gmp(Ctx *c) { return op_global_pool(c, NNC_RT_RED_MAX); }

/* a per-channel vector (C) as (C, 1, ...) for broadcasting over NCHW */
static Tensor *per_channel(Ctx *c, Tensor *v, int rank, const char *suffix) {
    long dims[MAX_T];
    dims[0] = numel(v->dims, v->rank);
    for (int d = 1; d < rank - 1; d++) dims[d] = 1;
    char name[170];
    snprintf(name, sizeof name, "%.100s/%s", out_name(c, 0), suffix);
    return reshaped(c, v, rank - 1, dims, name);
}

/* BatchNormalization to fine-tune: the .nn layer (channels last), which
 * normalises by the batch's statistics while training, updates the running
 * ones as ONNX says (momentum, the population variance) and predicts with
 * them; scale and B train, the running statistics are its state */
static Tensor *batchnorm_layer(Ctx *c) {
    Tensor *x = c->in[0];
    if (x->rank != 4 && x->rank != 2) { unsupported(c->im, "training a BatchNormalization of rank other than 2 or 4"); return NULL; }
    for (int i = 1; i < 5; i++)
        if (!c->in[i] || !c->in[i]->data || numel(c->in[i]->dims, c->in[i]->rank) != x->dims[1]) {
            unsupported(c->im, "BatchNormalization parameters computed at run time");
            return NULL;
        }
    char n1[170], n2[170];
    part(c, "nhwc", n1);
    part(c, "y", n2);
    Tensor *xn = x->rank == 4 ? relayout(c, x, 1, n1) : x;
    if (!xn) return NULL;
    Attrs a;
    memset(&a, 0, sizeof a);
    a.momentum = attr_f(c->n, "momentum", 0.9f);
    a.epsilon = attr_f(c->n, "epsilon", 1e-5f);
    Tensor *in[5] = { xn, c->in[1], c->in[2], c->in[3], c->in[4] };
    Tensor *yn = node_out(c->im, OP_BATCH_NORM, in, 5, &a, x->rank == 4 ? n2 : out_name(c, 0), xn->rank, xn->dims);
    Graph *g = c->im->g;
    int node = g->values[yn->value].producer;
    for (int i = 3; i < 5; i++) {   /* the running statistics: state, not trained */
        Value *v = &g->values[g->nodes[node].in[i]];
        v->trainable = 0;
        v->state = 1;
    }
    if (shape_node(g, node)) return NULL;
    /* training_mode's running_mean / running_var outputs: the updated state */
    for (size_t i = 1; i < 3 && i < c->n->n_output; i++)
        if (*c->n->output[i] && !find(c->im, c->n->output[i]))
            add_tensor(c->im, c->n->output[i], 1, &x->dims[1])->value = g->nodes[node].in[i + 2];
    return x->rank == 4 ? relayout(c, yn, 0, out_name(c, 0)) : yn;
}

/* inference batch norm: y = x * s + t with s = scale/sqrt(var+eps), t = B - mean*s */
static Tensor *op_batchnorm(Ctx *c) {
    Tensor *x = c->in[0];
    if (c->im->trainable) return batchnorm_layer(c);
    if (attr_i(c->n, "training_mode", 0) || c->n->n_output > 1) {
        unsupported(c->im, "BatchNormalization in training mode");
        return NULL;
    }
    if (x->rank < 2) { unsupported(c->im, "BatchNormalization of rank below 2"); return NULL; }
    float eps = attr_f(c->n, "epsilon", 1e-5f);
    for (int i = 1; i < 5; i++)
        if (!c->in[i] || !c->in[i]->data) { unsupported(c->im, "BatchNormalization statistics computed at run time"); return NULL; }
    long ch = x->dims[1];
    float *sc = malloc((size_t)ch * sizeof *sc), *sh = malloc((size_t)ch * sizeof *sh);
    for (long i = 0; i < ch; i++) {
        sc[i] = c->in[1]->data[i] / sqrtf(c->in[4]->data[i] + eps);
        sh[i] = c->in[2]->data[i] - c->in[3]->data[i] * sc[i];
    }
    long dims[MAX_T];
    dims[0] = ch;
    for (int d = 1; d < x->rank - 1; d++) dims[d] = 1;
    char n1[170], n2[170], n3[170];
    part(c, "scale", n1);
    part(c, "shift", n2);
    part(c, "scaled", n3);
    Tensor *s = add_constant(c->im, n1, x->rank - 1, dims, sc), *t = add_constant(c->im, n2, x->rank - 1, dims, sh);
    Tensor *y = binary_of(c, NNC_RT_BIN_MUL, x, s, n3);
    return y ? binary_of(c, NNC_RT_BIN_ADD, y, t, out_name(c, 0)) : NULL;
}

/* per (n, c): (x - mean) / sqrt(var + eps) over the spatial axes, * scale + B */
static Tensor *op_instancenorm(Ctx *c) {
    Tensor *x = c->in[0];
    if (x->rank < 3) { unsupported(c->im, "InstanceNormalization of rank below 3"); return NULL; }
    int mark[MAX_T] = { 0 };
    for (int d = 2; d < x->rank; d++) mark[d] = 1;
    char n1[170], n2[170], n3[170], n4[170], n5[170], n6[170];
    part(c, "mean", n1);
    part(c, "centered", n2);
    part(c, "sq", n3);
    part(c, "var", n4);
    part(c, "vareps", n5);
    part(c, "normed", n6);
    Tensor *mean = reduce_mark(c, NNC_RT_RED_MEAN, x, mark, 1, n1);
    Tensor *d = mean ? binary_of(c, NNC_RT_BIN_SUB, x, mean, n2) : NULL;
    Tensor *sq = d ? binary_of(c, NNC_RT_BIN_MUL, d, d, n3) : NULL;
    Tensor *var = sq ? reduce_mark(c, NNC_RT_RED_MEAN, sq, mark, 1, n4) : NULL;
    Tensor *ve = var ? binary_of(c, NNC_RT_BIN_ADD, var, scalar(c, "eps", attr_f(c->n, "epsilon", 1e-5f)), n5) : NULL;
    Tensor *sd = ve ? un(c, NNC_RT_UN_SQRT, ve, "std") : NULL;
    Tensor *y = sd ? binary_of(c, NNC_RT_BIN_DIV, d, sd, n6) : NULL;
    Tensor *s = y ? per_channel(c, c->in[1], x->rank, "s") : NULL;
    Tensor *b = s ? per_channel(c, c->in[2], x->rank, "b") : NULL;
    char n7[170];
    part(c, "scaled", n7);
    y = b ? binary_of(c, NNC_RT_BIN_MUL, y, s, n7) : NULL;
    return y ? binary_of(c, NNC_RT_BIN_ADD, y, b, out_name(c, 0)) : NULL;
}

/* ---- LSTM, GRU, RNN: onto runtime/rnn.c's Keras-layout kernels ---------------------- */

static int string_attr_is(const Onnx__NodeProto *n, const char *name, const char *value) {
    const Onnx__AttributeProto *a = attr(n, name);
    return a && a->s.len == strlen(value) && !memcmp(a->s.data, value, a->s.len);
}

static int all_zero(const Tensor *t) {
    long n = numel(t->dims, t->rank);
    for (long i = 0; i < n; i++) if (t->data[i] != 0.0f) return 0;
    return 1;
}

/* one direction's weights in Keras' layout and gate order, folded */
static Tensor *keras_gates(Ctx *c, const Tensor *w, int dir, int gates, long H, long in, const int *perm,
                           const char *suffix) {
    long dims[2] = { in, gates * H };
    float *d = malloc((size_t)(in * gates * H) * sizeof *d);
    const float *src = w->data + (long)dir * gates * H * in;
    for (long f = 0; f < in; f++)
        for (int k = 0; k < gates; k++)
            for (long j = 0; j < H; j++)
                d[f * gates * H + k * H + j] = src[((long)perm[k] * H + j) * in + f];
    char name[170];
    snprintf(name, sizeof name, "%.100s/%s%d", out_name(c, 0), suffix, dir);
    return add_constant(c->im, name, 2, dims, d);
}

static Tensor *op_recurrent(Ctx *c, int cell) {
    static const int lstm_perm[4] = { 0, 2, 3, 1 }, same[3] = { 0, 1, 2 };   /* ONNX i o f c -> Keras i f c o */
    Tensor *x = c->in[0], *w = c->in[1], *r = c->in[2];
    Tensor *b = c->nin > 3 ? c->in[3] : NULL, *lens = c->nin > 4 ? c->in[4] : NULL;
    Tensor *h0 = c->nin > 5 ? c->in[5] : NULL, *c0 = c->nin > 6 ? c->in[6] : NULL, *peep = c->nin > 7 ? c->in[7] : NULL;
    int gates = cell == NNC_RT_CELL_LSTM ? 4 : cell == NNC_RT_CELL_GRU ? 3 : 1;
    long H = attr_i(c->n, "hidden_size", 0);
    int layout = (int)attr_i(c->n, "layout", 0), dirs = string_attr_is(c->n, "direction", "bidirectional") ? 2 : 1;
    int reverse = string_attr_is(c->n, "direction", "reverse");
    if (x->rank != 3 || !w->data || !r->data || (b && !b->data)) { unsupported(c->im, "weights computed at run time"); return NULL; }
    if (attr(c->n, "activations") || attr(c->n, "clip") || attr_i(c->n, "input_forget", 0)) {
        unsupported(c->im, "activations, clip or input_forget other than the defaults");
        return NULL;
    }
    if (cell == NNC_RT_CELL_GRU && !attr_i(c->n, "linear_before_reset", 0)) {
        unsupported(c->im, "GRU with linear_before_reset = 0 (nnc's GRU is Keras' reset_after = true)");
        return NULL;
    }
    long T = layout ? x->dims[1] : x->dims[0], N = layout ? x->dims[0] : x->dims[1], F = x->dims[2];
    if ((h0 && (!h0->data || !all_zero(h0))) || (c0 && (!c0->data || !all_zero(c0))) ||
        (peep && (!peep->data || !all_zero(peep)))) {
        unsupported(c->im, "a nonzero initial state or peepholes");
        return NULL;
    }
    if (lens) {
        if (!lens->data) { unsupported(c->im, "sequence_lens computed at run time"); return NULL; }
        for (long i = 0; i < numel(lens->dims, lens->rank); i++)
            if (lens->data[i] != (float)T) { unsupported(c->im, "sequences shorter than the input"); return NULL; }
    }
    char n0[170];
    part(c, "xbt", n0);
    /* X to (N, T, F) */
    Tensor *xb = x;
    if (!layout) {
        long dims[3] = { N, T, F }, xs[3];
        strides(x->dims, 3, xs);
        Attrs t;
        memset(&t, 0, sizeof t);
        dense_nd(&t.nd, 3, dims);
        t.nd.as[0] = xs[1]; t.nd.as[1] = xs[0]; t.nd.as[2] = xs[2];
        xb = apply(c->im, OP_ND_COPY, &x, 1, &t, n0, 3, dims);
    }
    Tensor *ys[2], *hs[2], *cs[2];
    for (int d = 0; d < dirs; d++) {
        const int *perm = cell == NNC_RT_CELL_LSTM ? lstm_perm : same;
        Tensor *wk = keras_gates(c, w, d, gates, H, F, perm, "W");
        Tensor *rk = keras_gates(c, r, d, gates, H, H, perm, "R");
        Tensor *bk = NULL;
        if (b) {
            int gru = cell == NNC_RT_CELL_GRU;
            long bn = gru ? 2 * gates * H : gates * H, bd[2] = { 2, gates * H };
            float *bv = malloc((size_t)bn * sizeof *bv);
            const float *src = b->data + (long)d * 2 * gates * H;
            for (int k = 0; k < gates; k++)
                for (long j = 0; j < H; j++) {
                    float wb = src[perm[k] * H + j], rb = src[gates * H + perm[k] * H + j];
                    if (gru) { bv[k * H + j] = wb; bv[gates * H + k * H + j] = rb; }
                    else bv[k * H + j] = wb + rb;
                }
            char name[170];
            snprintf(name, sizeof name, "%.100s/B%d", out_name(c, 0), d);
            long one = bn;
            bk = add_constant(c->im, name, gru ? 2 : 1, gru ? bd : &one, bv);
        }
        Attrs a;
        memset(&a, 0, sizeof a);
        nnc_rt_rnn p = { (int)T, (int)F, (int)H, cell, NNC_RT_ACT_TANH, 1, d == 1 || reverse };
        a.rnn = p;
        a.M = (int)N;
        Tensor *in[4] = { xb, wk, rk, bk };
        char yn[170];
        snprintf(yn, sizeof yn, "%.100s/y%d", out_name(c, 0), d);
        long ydims[3] = { N, T, H };
        ys[d] = apply(c->im, OP_ND_RNN, in, bk ? 4 : 3, &a, yn, 3, ydims);
        /* the states and the workspace: further outputs of the node */
        Graph *g = c->im->g;
        int node = g->values[ys[d]->value].producer, nh[2] = { (int)N, (int)H };
        int work = (int)(N * NNC_RT_RNN_WORK(&p));
        for (int k = 0; k < (cell == NNC_RT_CELL_LSTM ? 2 : 1); k++) {
            snprintf(yn, sizeof yn, "%.100s/%c%d", out_name(c, 0), k ? 'c' : 'h', d);
            int v = ir_value(g, yn, ROLE_ACT, 0, 2, nh);
            ir_add_output(g, node, v);
            long hd[2] = { N, H };
            Tensor *t = add_tensor(c->im, yn, 2, hd);
            t->value = v;
            if (k) cs[d] = t; else hs[d] = t;
        }
        int wv = ir_value(g, "rnn.work", ROLE_ACT, 0, 1, &work);
        ir_add_output(g, node, wv);
    }
    /* Y: (T, dirs, N, H), or (N, T, dirs, H) with layout 1 */
    for (int o = 0; o < (int)c->n->n_output; o++) {
        if (!*c->n->output[o]) continue;
        Tensor *parts[2];
        long pd[MAX_T];
        int prank;
        for (int d = 0; d < dirs; d++) {
            Tensor *src = o == 0 ? ys[d] : o == 1 ? hs[d] : cs[d];
            long ss[3];
            strides(src->dims, src->rank, ss);
            Attrs t;
            memset(&t, 0, sizeof t);
            if (o == 0) {   /* (N, T, H) -> (T, 1, N, H) or (N, T, 1, H) */
                long dims0[4] = { T, 1, N, H }, dims1[4] = { N, T, 1, H };
                prank = 4;
                memcpy(pd, layout ? dims1 : dims0, sizeof dims0);
                dense_nd(&t.nd, 4, pd);
                if (layout) { t.nd.as[0] = ss[0]; t.nd.as[1] = ss[1]; t.nd.as[3] = ss[2]; }
                else { t.nd.as[0] = ss[1]; t.nd.as[2] = ss[0]; t.nd.as[3] = ss[2]; }
            } else {        /* (N, H) -> (1, N, H) or (N, 1, H) */
                long dims0[3] = { 1, N, H }, dims1[3] = { N, 1, H };
                prank = 3;
                memcpy(pd, layout ? dims1 : dims0, sizeof dims0);
                dense_nd(&t.nd, 3, pd);
                if (layout) { t.nd.as[0] = ss[0]; t.nd.as[2] = ss[1]; }
                else { t.nd.as[1] = ss[0]; t.nd.as[2] = ss[1]; }
            }
            char name[170];
            snprintf(name, sizeof name, "%.100s/part%d", c->n->output[o], d);
            parts[d] = apply(c->im, OP_ND_COPY, &src, 1, &t, dirs == 1 ? c->n->output[o] : name, prank, pd);
        }
        if (dirs == 2) {
            Attrs a;
            memset(&a, 0, sizeof a);
            a.axis = o == 0 ? (layout ? 2 : 1) : (layout ? 1 : 0);
            pd[a.axis] = 2;
            apply(c->im, OP_ND_CONCAT, parts, 2, &a, c->n->output[o], prank, pd);
        }
    }
    Tensor *first = find(c->im, c->n->output[0]);
    return first ? first : ys[0];
}
static Tensor *op_lstm(Ctx *c) { return op_recurrent(c, NNC_RT_CELL_LSTM); }
static Tensor *op_gru(Ctx *c) { return op_recurrent(c, NNC_RT_CELL_GRU); }
static Tensor *op_rnn(Ctx *c) { return op_recurrent(c, NNC_RT_CELL_SIMPLE); }

/* ConvTranspose as the data gradient of the convolution it transposes: that
 * convolution maps Y's shape to X's, with the same weights */
static Tensor *op_conv_transpose(Ctx *c) {
    Tensor *x = c->in[0], *w = c->in[1], *b = c->nin > 2 ? c->in[2] : NULL;
    if (x->rank != 4 || !w->data || (b && !b->data)) { unsupported(c->im, "ConvTranspose other than 2-D with constant weights"); return NULL; }
    const Onnx__AttributeProto *ap = attr(c->n, "auto_pad");
    if ((ap && ap->s.len && strncmp((const char *)ap->s.data, "NOTSET", ap->s.len)) || attr(c->n, "output_shape")) {
        unsupported(c->im, "ConvTranspose with auto_pad or output_shape");
        return NULL;
    }
    long group = attr_i(c->n, "group", 1), cin = w->dims[0], cog = w->dims[1], kh = w->dims[2], kw = w->dims[3];
    long s[2] = { 1, 1 }, d[2] = { 1, 1 }, p[4] = { 0, 0, 0, 0 }, op[2] = { 0, 0 };
    attr_ints(c->n, "strides", s, 2);
    attr_ints(c->n, "dilations", d, 2);
    attr_ints(c->n, "pads", p, 4);
    attr_ints(c->n, "output_padding", op, 2);
    if (cin != x->dims[1] || cin % group) { unsupported(c->im, "channels that do not match the groups"); return NULL; }
    long oh = s[0] * (x->dims[2] - 1) + op[0] + d[0] * (kh - 1) + 1 - p[0] - p[2];
    long ow = s[1] * (x->dims[3] - 1) + op[1] + d[1] * (kw - 1) + 1 - p[1] - p[3];
    if (oh <= 0 || ow <= 0) { unsupported(c->im, "an empty output"); return NULL; }
    char n1[170], n2[170], n3[170];
    part(c, "nhwc", n1);
    part(c, "w", n2);
    part(c, "y", n3);
    Tensor *xn = relayout(c, x, 1, n1);
    /* (C_in, C_out/g, kh, kw) -> (kh, kw, C_out/g, C_in): the forward conv's Keras kernel */
    long ws[4], wdims[4] = { kh, kw, cog, cin };
    strides(w->dims, 4, ws);
    Attrs t;
    memset(&t, 0, sizeof t);
    dense_nd(&t.nd, 4, wdims);
    t.nd.as[0] = ws[2]; t.nd.as[1] = ws[3]; t.nd.as[2] = ws[1]; t.nd.as[3] = ws[0];
    Tensor *wk = apply(c->im, OP_ND_COPY, &w, 1, &t, n2, 4, wdims);
    Attrs a;
    memset(&a, 0, sizeof a);
    nnc_rt_conv2d *q = &a.conv;     /* the convolution from Y (oh, ow, C_out) to X (h, w, C_in) */
    q->h = (int)oh; q->w = (int)ow; q->c = (int)(cog * group);
    q->oh = (int)x->dims[2]; q->ow = (int)x->dims[3]; q->oc = (int)cin;
    q->kh = (int)kh; q->kw = (int)kw; q->sh = (int)s[0]; q->sw = (int)s[1]; q->dh = (int)d[0]; q->dw = (int)d[1];
    q->pt = (int)p[0]; q->pl = (int)p[1]; q->groups = (int)group;
    a.M = (int)x->dims[0];
    Tensor *in[2] = { xn, wk };
    long ydims[4] = { x->dims[0], oh, ow, cog * group };
    Tensor *yn = apply(c->im, OP_ND_CONV_T, in, 2, &a, n3, 4, ydims);
    int scratch = (int)NNC_RT_CONV2D_SCRATCH(q);
    Graph *g = c->im->g;
    int sv = ir_value(g, "convt.scratch", ROLE_ACT, 0, 1, &scratch);
    ir_add_output(g, g->values[yn->value].producer, sv);
    if (!b) return relayout(c, yn, 0, out_name(c, 0));
    char n4[170];
    part(c, "nchw", n4);
    Tensor *y = relayout(c, yn, 0, n4);
    Tensor *bc = y ? per_channel(c, b, 4, "bias") : NULL;
    return bc ? binary_of(c, NNC_RT_BIN_ADD, y, bc, out_name(c, 0)) : NULL;
}

static Tensor *op_cumsum(Ctx *c) {
    Tensor *x = c->in[0];
    long axis;
    if (!c->in[1] || const_ints(c->im, c->in[1], &axis, 1, "axis") != 1) return NULL;
    Attrs a;
    memset(&a, 0, sizeof a);
    around(x, norm_axis(axis, x->rank), &a);
    a.fn = (int)attr_i(c->n, "exclusive", 0);
    a.count = attr_i(c->n, "reverse", 0);
    return apply(c->im, OP_ND_CUMSUM, c->in, 1, &a, out_name(c, 0), x->rank, x->dims);
}

/* ---- layout rearrangements and masks built from the primitives above ------------- */

/* y = the 6-D view `vdims` of x, axes permuted, read as the shape `ydims` */
static Tensor *permuted_view(Ctx *c, Tensor *x, const long *vdims, const int *perm, const long *ydims, int yrank) {
    long vs[6], dims[6];
    strides(vdims, 6, vs);
    Attrs a;
    memset(&a, 0, sizeof a);
    for (int d = 0; d < 6; d++) dims[d] = vdims[perm[d]];
    dense_nd(&a.nd, 6, dims);
    for (int d = 0; d < 6; d++) a.nd.as[d] = vs[perm[d]];
    return apply(c->im, OP_ND_COPY, &x, 1, &a, out_name(c, 0), yrank, ydims);
}

static Tensor *op_depth_to_space(Ctx *c) {
    Tensor *x = c->in[0];
    long b = attr_i(c->n, "blocksize", 0);
    if (x->rank != 4 || b < 1 || x->dims[1] % (b * b)) { unsupported(c->im, "a blocksize that does not divide the channels"); return NULL; }
    long N = x->dims[0], C = x->dims[1] / (b * b), H = x->dims[2], W = x->dims[3], y[4] = { N, C, H * b, W * b };
    if (string_attr_is(c->n, "mode", "CRD")) {
        long v[6] = { N, C, b, b, H, W };
        static const int perm[6] = { 0, 1, 4, 2, 5, 3 };
        return permuted_view(c, x, v, perm, y, 4);
    }
    long v[6] = { N, b, b, C, H, W };
    static const int perm[6] = { 0, 3, 4, 1, 5, 2 };
    return permuted_view(c, x, v, perm, y, 4);
}

static Tensor *op_space_to_depth(Ctx *c) {
    Tensor *x = c->in[0];
    long b = attr_i(c->n, "blocksize", 0);
    if (x->rank != 4 || b < 1 || x->dims[2] % b || x->dims[3] % b) { unsupported(c->im, "a blocksize that does not divide the image"); return NULL; }
    long N = x->dims[0], C = x->dims[1], H = x->dims[2] / b, W = x->dims[3] / b, y[4] = { N, C * b * b, H, W };
    long v[6] = { N, C, H, b, W, b };
    static const int perm[6] = { 0, 3, 5, 1, 2, 4 };
    return permuted_view(c, x, v, perm, y, 4);
}

/* Trilu: where(the band of the last two axes, x, 0) with a constant mask */
static Tensor *op_trilu(Ctx *c) {
    Tensor *x = c->in[0];
    long k = 0;
    if (x->rank < 2) { unsupported(c->im, "Trilu of rank below 2"); return NULL; }
    if (c->nin > 1 && c->in[1]) {
        if (!c->in[1]->data) { unsupported(c->im, "a diagonal offset computed at run time"); return NULL; }
        k = to_long(c->in[1]->data[0]);
    }
    int upper = (int)attr_i(c->n, "upper", 1);
    long R = x->dims[x->rank - 2], C = x->dims[x->rank - 1], md[2] = { R, C }, one = 1;
    float *m = malloc((size_t)(R * C > 0 ? R * C : 1) * sizeof *m), *z = calloc(1, sizeof *z);
    for (long i = 0; i < R; i++)
        for (long j = 0; j < C; j++) m[i * C + j] = upper ? j - i >= k : j - i <= k;
    char n1[170], n2[170];
    Ctx w = *c;
    w.in[0] = add_constant(c->im, part(c, "band", n1), 2, md, m);
    w.in[1] = x;
    w.in[2] = add_constant(c->im, part(c, "zero", n2), 0, &one, z);
    w.nin = 3;
    return op_where(&w);
}

static Tensor *op_eyelike(Ctx *c) {
    Tensor *x = c->in[0];
    if (x->rank != 2) { unsupported(c->im, "EyeLike of rank other than 2"); return NULL; }
    long k = attr_i(c->n, "k", 0), R = x->dims[0], C = x->dims[1];
    float *y = calloc((size_t)(R * C > 0 ? R * C : 1), sizeof *y);
    for (long i = 0; i < R; i++)
        if (i + k >= 0 && i + k < C) y[i * C + i + k] = 1;
    return add_constant(c->im, out_name(c, 0), 2, x->dims, y);
}

/* the operator table of the importer: ONNX op type -> what builds it */
typedef struct OnnxOp {
    const char *name;
    int unary;          /* an element-wise function (nnc_rt_unary), or -1 */
    int binary;         /* a broadcasting binary (nnc_rt_binary), or -1    */
    Tensor *(*build)(Ctx *c);
} OnnxOp;

static Tensor *op_max(Ctx *c) { return variadic(c, NNC_RT_BIN_MAX, 0); }
static Tensor *op_min(Ctx *c) { return variadic(c, NNC_RT_BIN_MIN, 0); }
static Tensor *op_sum(Ctx *c) { return variadic(c, NNC_RT_BIN_ADD, 0); }
static Tensor *op_mean(Ctx *c) { return variadic(c, NNC_RT_BIN_ADD, 1); }
static Tensor *op_squeeze1(Ctx *c) { return op_squeeze(c, 0); }
static Tensor *op_unsqueeze(Ctx *c) { return op_squeeze(c, 1); }
static Tensor *op_softmax1(Ctx *c) { return op_softmax(c, NNC_RT_SOFTMAX_PLAIN); }
static Tensor *op_logsoftmax(Ctx *c) { return op_softmax(c, NNC_RT_SOFTMAX_LOG); }
static Tensor *op_hardmax(Ctx *c) { return op_softmax(c, NNC_RT_SOFTMAX_HARD); }
#define RED(nm, fn) static Tensor *op_##nm(Ctx *c) { return op_reduce(c, fn); }
RED(rsum, NNC_RT_RED_SUM) RED(rmean, NNC_RT_RED_MEAN) RED(rmax, NNC_RT_RED_MAX) RED(rmin, NNC_RT_RED_MIN)
RED(rprod, NNC_RT_RED_PROD) RED(rl1, NNC_RT_RED_L1) RED(rl2, NNC_RT_RED_L2) RED(rlogsum, NNC_RT_RED_LOG_SUM)
RED(rlse, NNC_RT_RED_LOG_SUM_EXP) RED(rsumsq, NNC_RT_RED_SUM_SQUARE)

static const OnnxOp onnx_ops[] = {
    { "Abs", NNC_RT_UN_ABS, -1, NULL }, { "Neg", NNC_RT_UN_NEG, -1, NULL },
    { "Exp", NNC_RT_UN_EXP, -1, NULL }, { "Log", NNC_RT_UN_LOG, -1, NULL },
    { "Sqrt", NNC_RT_UN_SQRT, -1, NULL }, { "Reciprocal", NNC_RT_UN_RECIPROCAL, -1, NULL },
    { "Floor", NNC_RT_UN_FLOOR, -1, NULL }, { "Ceil", NNC_RT_UN_CEIL, -1, NULL },
    { "Round", NNC_RT_UN_ROUND, -1, NULL }, { "Sign", NNC_RT_UN_SIGN, -1, NULL },
    { "Sin", NNC_RT_UN_SIN, -1, NULL }, { "Cos", NNC_RT_UN_COS, -1, NULL }, { "Tan", NNC_RT_UN_TAN, -1, NULL },
    { "Asin", NNC_RT_UN_ASIN, -1, NULL }, { "Acos", NNC_RT_UN_ACOS, -1, NULL }, { "Atan", NNC_RT_UN_ATAN, -1, NULL },
    { "Sinh", NNC_RT_UN_SINH, -1, NULL }, { "Cosh", NNC_RT_UN_COSH, -1, NULL },
    { "Asinh", NNC_RT_UN_ASINH, -1, NULL }, { "Acosh", NNC_RT_UN_ACOSH, -1, NULL },
    { "Atanh", NNC_RT_UN_ATANH, -1, NULL }, { "Erf", NNC_RT_UN_ERF, -1, NULL },
    { "Relu", NNC_RT_UN_RELU, -1, NULL }, { "Sigmoid", NNC_RT_UN_SIGMOID, -1, NULL },
    { "Tanh", NNC_RT_UN_TANH, -1, NULL }, { "Softplus", NNC_RT_UN_SOFTPLUS, -1, NULL },
    { "Softsign", NNC_RT_UN_SOFTSIGN, -1, NULL }, { "LeakyRelu", NNC_RT_UN_LEAKY_RELU, -1, NULL },
    { "Elu", NNC_RT_UN_ELU, -1, NULL }, { "Selu", NNC_RT_UN_SELU, -1, NULL }, { "Celu", NNC_RT_UN_CELU, -1, NULL },
    { "HardSigmoid", NNC_RT_UN_HARD_SIGMOID, -1, NULL }, { "HardSwish", NNC_RT_UN_HARD_SWISH, -1, NULL },
    { "ThresholdedRelu", NNC_RT_UN_THRESHOLDED_RELU, -1, NULL }, { "Not", NNC_RT_UN_NOT, -1, NULL },
    { "IsNaN", NNC_RT_UN_ISNAN, -1, NULL }, { "IsInf", NNC_RT_UN_ISINF, -1, NULL },
    { "Shrink", NNC_RT_UN_SHRINK, -1, NULL }, { "Mish", NNC_RT_UN_MISH, -1, NULL },
    { "Add", -1, NNC_RT_BIN_ADD, NULL }, { "Sub", -1, NNC_RT_BIN_SUB, NULL },
    { "Mul", -1, NNC_RT_BIN_MUL, NULL }, { "Div", -1, NNC_RT_BIN_DIV, NULL },
    { "Pow", -1, NNC_RT_BIN_POW, NULL }, { "Mod", -1, NNC_RT_BIN_MOD, NULL },
    { "PRelu", -1, NNC_RT_BIN_PRELU, NULL }, { "Equal", -1, NNC_RT_BIN_EQUAL, NULL },
    { "Less", -1, NNC_RT_BIN_LESS, NULL }, { "LessOrEqual", -1, NNC_RT_BIN_LESS_EQUAL, NULL },
    { "Greater", -1, NNC_RT_BIN_GREATER, NULL }, { "GreaterOrEqual", -1, NNC_RT_BIN_GREATER_EQUAL, NULL },
    { "And", -1, NNC_RT_BIN_AND, NULL }, { "Or", -1, NNC_RT_BIN_OR, NULL }, { "Xor", -1, NNC_RT_BIN_XOR, NULL },
    { "Max", -1, -1, op_max }, { "Min", -1, -1, op_min }, { "Sum", -1, -1, op_sum }, { "Mean", -1, -1, op_mean },
    { "Clip", -1, -1, op_clip }, { "Identity", -1, -1, op_identity }, { "Dropout", -1, -1, op_dropout },
    { "Cast", -1, -1, op_cast }, { "CastLike", -1, -1, op_cast },
    { "Reshape", -1, -1, op_reshape }, { "Flatten", -1, -1, op_flatten },
    { "Squeeze", -1, -1, op_squeeze1 }, { "Unsqueeze", -1, -1, op_unsqueeze },
    { "Transpose", -1, -1, op_transpose }, { "Slice", -1, -1, op_slice }, { "Concat", -1, -1, op_concat },
    { "Split", -1, -1, op_split }, { "Gather", -1, -1, op_gather }, { "Expand", -1, -1, op_expand },
    { "Tile", -1, -1, op_tile }, { "Pad", -1, -1, op_pad }, { "Where", -1, -1, op_where },
    { "MatMul", -1, -1, op_matmul }, { "Gemm", -1, -1, op_gemm },
    { "ArgMax", -1, -1, op_argmax }, { "ArgMin", -1, -1, op_argmin },
    { "GatherElements", -1, -1, op_gather_elements }, { "LayerNormalization", -1, -1, op_layernorm },
    { "NegativeLogLikelihoodLoss", -1, -1, op_nll }, { "SoftmaxCrossEntropyLoss", -1, -1, op_sce },
    { "Conv", -1, -1, op_conv }, { "ConvTranspose", -1, -1, op_conv_transpose }, { "MaxPool", -1, -1, op_maxpool }, { "AveragePool", -1, -1, op_avgpool },
    { "GlobalAveragePool", -1, -1, op_gap }, { "GlobalMaxPool", -1, -1, op_gmp },
    { "BatchNormalization", -1, -1, op_batchnorm }, { "InstanceNormalization", -1, -1, op_instancenorm },
    { "LSTM", -1, -1, op_lstm }, { "GRU", -1, -1, op_gru }, { "RNN", -1, -1, op_rnn },
    { "DepthToSpace", -1, -1, op_depth_to_space }, { "SpaceToDepth", -1, -1, op_space_to_depth },
    { "Trilu", -1, -1, op_trilu }, { "EyeLike", -1, -1, op_eyelike }, { "CumSum", -1, -1, op_cumsum },
    { "Softmax", -1, -1, op_softmax1 }, { "LogSoftmax", -1, -1, op_logsoftmax }, { "Hardmax", -1, -1, op_hardmax },
    { "ReduceSum", -1, -1, op_rsum }, { "ReduceMean", -1, -1, op_rmean }, { "ReduceMax", -1, -1, op_rmax },
    { "ReduceMin", -1, -1, op_rmin }, { "ReduceProd", -1, -1, op_rprod }, { "ReduceL1", -1, -1, op_rl1 },
    { "ReduceL2", -1, -1, op_rl2 }, { "ReduceLogSum", -1, -1, op_rlogsum },
    { "ReduceLogSumExp", -1, -1, op_rlse }, { "ReduceSumSquare", -1, -1, op_rsumsq },
    { "Constant", -1, -1, op_constant }, { "Shape", -1, -1, op_shape }, { "Size", -1, -1, op_size },
    { "ConstantOfShape", -1, -1, op_constant_of_shape }, { "Range", -1, -1, op_range },
};

/* the element-wise functions' parameters, ONNX defaults */
static void unary_params(const Onnx__NodeProto *n, int fn, float *alpha, float *beta) {
    *alpha = 0; *beta = 0;
    switch (fn) {
    case NNC_RT_UN_LEAKY_RELU: *alpha = attr_f(n, "alpha", 0.01f); break;
    case NNC_RT_UN_ELU: case NNC_RT_UN_CELU: case NNC_RT_UN_THRESHOLDED_RELU: *alpha = attr_f(n, "alpha", 1.0f); break;
    case NNC_RT_UN_SELU: *alpha = attr_f(n, "alpha", 1.67326319217681884765625f);
                         *beta = attr_f(n, "gamma", 1.05070102214813232421875f); break;
    case NNC_RT_UN_HARD_SIGMOID: *alpha = attr_f(n, "alpha", 0.2f); *beta = attr_f(n, "beta", 0.5f); break;
    case NNC_RT_UN_ISINF: *alpha = (float)attr_i(n, "detect_positive", 1); *beta = (float)attr_i(n, "detect_negative", 1); break;
    case NNC_RT_UN_SHRINK: *alpha = attr_f(n, "lambd", 0.5f); *beta = attr_f(n, "bias", 0.0f); break;
    default: break;
    }
}

static void import_node(Importer *im, const Onnx__NodeProto *n) {
    im->node = n;
    Ctx c = { im, n, { NULL }, 0 };
    int failed_input = 0;
    if (n->n_input > CTX_INPUTS) {
        char why[96];
        snprintf(why, sizeof why, "%zu inputs (nnc reads up to %d)", n->n_input, CTX_INPUTS);
        unsupported(im, why);
        failed_input = 1;
    }
    for (size_t i = 0; i < n->n_input && i < CTX_INPUTS; i++) {
        c.in[i] = *n->input[i] ? find(im, n->input[i]) : NULL;
        if (*n->input[i] && !c.in[i]) {
            diag_error(nowhere(), "%s reads '%s', which no earlier node or graph input defines "
                       "(the graph is not in topological order, has a cycle or misses an input)", where(im), n->input[i]);
            failed_input = 1;
        } else if (c.in[i] && c.in[i]->failed) {
            failed_input = 1;
        }
        c.nin = (int)i + 1;
    }
    const OnnxOp *op = NULL;
    if (n->domain && *n->domain && strcmp(n->domain, "ai.onnx")) op = NULL;
    else
        for (size_t k = 0; k < sizeof onnx_ops / sizeof onnx_ops[0]; k++)
            if (!strcmp(onnx_ops[k].name, n->op_type)) op = &onnx_ops[k];
    Tensor *r = NULL;
    if (!op && !failed_input) unsupported(im, "no such operator in nnc");
    else if (!failed_input && c.nin > 0 && !c.in[0] && op->build != op_range) unsupported(im, "a missing first input");
    else if (!failed_input && op->unary >= 0) {
        float alpha, beta;
        unary_params(n, op->unary, &alpha, &beta);
        r = unary(&c, op->unary, alpha, beta);
    } else if (!failed_input && op->binary >= 0) {
        int fn = op->binary;
        if (fn == NNC_RT_BIN_MOD && attr_i(n, "fmod", 0)) fn = NNC_RT_BIN_FMOD;
        /* PRelu from older exporters: a slope per channel (axis 1) */
        Tensor *sl = c.in[1];
        if (fn == NNC_RT_BIN_PRELU && c.in[0]->rank > 2 && sl->rank == 1 && sl->dims[0] == c.in[0]->dims[1] &&
            sl->dims[0] != c.in[0]->dims[c.in[0]->rank - 1]) {
            c.in[1] = per_channel(&c, sl, c.in[0]->rank, "slope");
        }
        r = binary_of(&c, fn, c.in[0], c.in[1], n->output[0]);
    } else if (!failed_input) {
        r = op->build(&c);
    }
    if (!r)     /* every output of this node is poisoned: its users are skipped quietly */
        for (size_t i = 0; i < n->n_output; i++)
            if (!find(im, n->output[i])) add_tensor(im, n->output[i], 0, NULL)->failed = 1;
    for (size_t i = 0; r && i < n->n_output; i++)
        if (*n->output[i] && !find(im, n->output[i])) {
            diag_error(nowhere(), "%s: output %zu ('%s') is not supported", where(im), i, n->output[i]);
            im->unsupported++;
        }
}

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

static int static_shape(Importer *im, const Onnx__ValueInfoProto *vi, int *rank, long *dims,
                        OnnxShapes *sh, int first) {
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type) {
        diag_error(nowhere(), "unsupported: graph input/output '%s' is not a tensor", vi->name);
        im->unsupported++;
        return -1;
    }
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    if (!dtype_ok(tt->elem_type)) {
        diag_error(nowhere(), "unsupported: graph input/output '%s' has type %s", vi->name, dtype_name(tt->elem_type));
        im->unsupported++;
        return -1;
    }
    if (!tt->shape) { *rank = 0; return 0; }
    if (tt->shape->n_dim > MAX_T) { diag_error(nowhere(), "'%s' has rank above 8", vi->name); return -1; }
    *rank = (int)tt->shape->n_dim;
    const char *whole = shape_spec(sh, vi->name);
    if (whole) {    /* --shape INPUT=AxBxC */
        if (parse_dims(whole, dims) != *rank) {
            diag_error(nowhere(), "--shape %s=%s: '%s' has rank %d; give %d extents like 1x3x96x96", vi->name, whole,
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
                diag_error(nowhere(), "--shape %s<=%s: nnc bounds axis 1 of the first graph input (the time "
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
                diag_error(nowhere(), "--shape %s%s%s: give the extent as a number from 1 to 2^30", dm->dim_param,
                           bound ? "<=" : "=", pinned);
                return -1;
            }
            if (bound) sh->bound = (int)v;
        }
        if (batch_axis && sh->batch > 0) v = sh->batch;    /* the batch axis: nnc's run-time n */
        if (v < 0 || v > (1L << 30)) {
            im->unsupported++;
            if (named)
                diag_error(nowhere(), "unsupported: graph input '%s' has a dynamic dimension %d ('%s'); give its size "
                           "with --shape %s=N", vi->name, d, dm->dim_param, dm->dim_param);
            else
                diag_error(nowhere(), "unsupported: graph input '%s' has a dynamic or invalid dimension %d; give its "
                           "shape with --shape %s=AxBx...", vi->name, d, vi->name);
            return -1;
        }
        dims[d] = v;
    }
    return 0;
}

/* --bind NAME=FILE: a graph input fixed to the TensorProto in FILE */
static int bind_input(Importer *im, const char *spec) {
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec) {
        diag_error(nowhere(), "--bind takes NAME=FILE.pb, got '%s'", spec);
        return -1;
    }
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)(eq - spec), spec);
    long len;
    unsigned char *buf = (unsigned char *)file_read(eq + 1, &len);
    if (!buf) {
        diag_error(nowhere(), "--bind: cannot read %s: %s", eq + 1, strerror(errno));
        return -1;
    }
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, (size_t)len, buf);
    free(buf);
    if (!tp || tp->n_dims > MAX_T) {
        diag_error(nowhere(), "--bind: %s is not a TensorProto of rank 8 or less", eq + 1);
        if (tp) onnx__tensor_proto__free_unpacked(tp, NULL);
        return -1;
    }
    long count, dims[MAX_T];
    float *d = tensor_data(im, tp, &count);
    for (size_t k = 0; k < tp->n_dims; k++) dims[k] = (long)tp->dims[k];
    if (d) add_constant(im, name, (int)tp->n_dims, dims, d);
    onnx__tensor_proto__free_unpacked(tp, NULL);
    return d ? 0 : -1;
}

Graph *onnx_import(const char *path, const char *model_name, int trainable, const char *const *binds, int nbinds,
                   OnnxShapes *shapes, int *unsupported_count) {
    *unsupported_count = 0;
    long len;
    unsigned char *buf = (unsigned char *)file_read(path, &len);
    if (!buf) {
        diag_error(nowhere(), "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, (size_t)len, buf);
    free(buf);
    if (!m || !m->graph) {
        diag_error(nowhere(), "not an ONNX model: the file does not parse as an onnx.ModelProto%s",
                   m ? " with a graph" : " (truncated, or another format)");
        if (m) onnx__model_proto__free_unpacked(m, NULL);
        return NULL;
    }
    Importer im;
    memset(&im, 0, sizeof im);
    im.opset = 1;
    im.trainable = trainable;
    im.shapes = shapes;
    snprintf(im.dir, sizeof im.dir, "%s", path);
    char *slash = strrchr(im.dir, '/');
    if (slash) *slash = 0;
    else snprintf(im.dir, sizeof im.dir, ".");
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        if ((!o->domain || !*o->domain || !strcmp(o->domain, "ai.onnx")) && o->has_version) im.opset = (int)o->version;
    }
    im.g = ir_new(model_name);
    Graph *g = im.g;
    const Onnx__GraphProto *gp = m->graph;
    for (size_t i = 0; i < gp->n_initializer; i++) {
        long count, dims[MAX_T];
        const Onnx__TensorProto *tp = gp->initializer[i];
        if (tp->n_dims > MAX_T) { diag_error(nowhere(), "initializer '%s' has rank above 8", tp->name); continue; }
        float *d = tensor_data(&im, tp, &count);
        if (!d) continue;
        for (size_t k = 0; k < tp->n_dims; k++) dims[k] = (long)tp->dims[k];
        add_constant(&im, tp->name, (int)tp->n_dims, dims, d);
    }
    for (int i = 0; i < nbinds; i++) bind_input(&im, binds[i]);
    long col = 0;
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        if (find(&im, vi->name)) continue;     /* an initializer (a default input) */
        int rank;
        long dims[MAX_T];
        if (static_shape(&im, vi, &rank, dims, shapes, g->ninputs == 0)) {
            add_tensor(&im, vi->name, 0, NULL)->failed = 1;   /* its readers are skipped quietly */
            continue;
        }
        if (g->ninputs == IR_MAX_IO) {
            if (!im.unsupported++) diag_error(nowhere(), "unsupported: more than %d graph inputs", IR_MAX_IO);
            else im.unsupported--;
            add_tensor(&im, vi->name, 0, NULL)->failed = 1;
            continue;
        }
        int di[MAX_T];
        for (int d = 0; d < rank; d++) di[d] = (int)dims[d];
        char name[IR_NAME];
        snprintf(name, sizeof name, "%.60s", vi->name);
        int v = ir_value(g, name, ROLE_INPUT, 0, rank, di);
        g->values[v].pack_offset = col;
        col += ir_size(&g->values[v]);
        if (g->input < 0) g->input = v;
        g->inputs[g->ninputs++] = v;
        add_tensor(&im, vi->name, rank, dims)->value = v;
    }
    for (int i = 0; shapes && i < shapes->nspecs; i++)
        if (!(shapes->used >> i & 1))
            diag_error(nowhere(), "--shape %s: no graph input and no named dimension (dim_param) of one is called "
                       "'%.*s'", shapes->specs[i], (int)strcspn(shapes->specs[i], "<="), shapes->specs[i]);
    if (g->ninputs == 0 && !diag_error_count()) {
        diag_error(nowhere(), "unsupported: the graph has no (non-initializer) input");
        im.unsupported++;
    }
    for (size_t i = 0; i < gp->n_node && !(diag_error_count() > im.unsupported); i++)
        import_node(&im, gp->node[i]);
    im.node = NULL;
    /* outputs: each must be computed by a node of its own */
    for (size_t i = 0; i < gp->n_output && diag_error_count() == im.unsupported; i++) {
        Tensor *t = find(&im, gp->output[i]->name);
        if (!t) { diag_error(nowhere(), "graph output '%s' is not computed by any node", gp->output[i]->name); break; }
        if (t->failed) continue;
        int v = t->value;
        if (v < 0 || g->values[ir_storage(g, v)].role != ROLE_ACT || ir_is_output(g, v)) {
            Attrs a;
            memset(&a, 0, sizeof a);
            a.fn = NNC_RT_UN_IDENTITY;
            char name[160];
            snprintf(name, sizeof name, "%.100s/out", t->name);
            v = node_out(&im, OP_ND_UNARY, &t, 1, &a, name, t->rank, t->dims)->value;
        }
        if (g->noutputs == IR_MAX_IO) { diag_error(nowhere(), "more than %d graph outputs", IR_MAX_IO); break; }
        g->outputs[g->noutputs++] = v;
    }
    if (g->ninputs > 1)
        for (int i = 0; i < g->ninputs; i++) g->values[g->inputs[i]].role = ROLE_ACT;
    col = 0;
    for (int i = 0; i < g->noutputs; i++) {
        g->values[g->outputs[i]].pack_offset = col;
        col += ir_size(&g->values[g->outputs[i]]);
    }
    if (g->noutputs) g->output = g->outputs[0];
    g->train.batch = 1;
    for (int i = 0; i < im.nt; i++) { free(im.t[i]->name); free(im.t[i]->data); free(im.t[i]); }
    free(im.t);
    onnx__model_proto__free_unpacked(m, NULL);
    *unsupported_count = im.unsupported;
    if (diag_error_count()) {
        ir_free(g);
        return NULL;
    }
    return g;
}

