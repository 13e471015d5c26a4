/* fold.c — the importer's table of named tensors, and the one place IR
 * nodes are made: onnx_apply builds a node, or, when every input is a
 * constant, evaluates it here; and how every part of the importer reports.
 *
 * Decisions:
 *  - Nodes whose inputs are all constants are evaluated here, with the
 *    runtime's own kernels (the op table's fold hook, op_table[op]->fold):
 *    shape-computing subgraphs (Shape -> Gather -> Concat -> Reshape) and
 *    initializer arithmetic become constants.  Initializers and folded
 *    values are baked parameters (const arrays).
 *  - Fine-tuning (--train): every constant the computed graph reads becomes
 *    a trained parameter starting from its value (folded ones, such as a
 *    transposed Gemm weight, train in their folded form); value_of is where.
 *  - Tensors are looked up by name, newest first, so a name ONNX reuses
 *    (a node's output shadowing an initializer) means the latest one.
 */
#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx.h"

/* ---- the tensor table ----------------------------------------------------------- */

/* saturating, so a shape from the file can be compared before it is checked */
long onnx_numel(const long *dims, int rank) {
    long n = 1;
    for (int d = 0; d < rank; d++) {
        if (dims[d] > 0 && n > LONG_MAX / dims[d]) return LONG_MAX;
        n *= dims[d];
    }
    return n;
}

long onnx_checked_numel(Importer *im, const long *dims, int rank, long limit, const char *what) {
    long n = 1;
    for (int d = 0; d < rank; d++)
        if (dims[d] < 0) {
            onnx_invalid(im, "%s has a negative extent %ld on axis %d", what, dims[d], d);
            return -1;
        }
    for (int d = 0; d < rank; d++) {
        if (dims[d] && n > limit / dims[d]) {
            char why[200];
            snprintf(why, sizeof why, "%s of more than %ld elements (nnc's limit)", what, limit);
            onnx_unsupported(im, why);
            return -2;
        }
        n *= dims[d];
    }
    return n;
}

Tensor *onnx_find(Importer *im, const char *name) {
    for (int i = im->nt - 1; i >= 0; i--)
        if (!strcmp(im->t[i]->name + im->t[i]->key, name)) return im->t[i];
    return NULL;
}

Tensor *onnx_add_tensor(Importer *im, const char *name, int rank, const long *dims) {
    if (im->nt == im->cap) {
        im->cap = im->cap ? 2 * im->cap : 64;
        im->t = realloc(im->t, (size_t)im->cap * sizeof *im->t);
        if (!im->t) abort();
    }
    Tensor *t = calloc(1, sizeof *t);
    if (!t) abort();
    im->t[im->nt++] = t;
    const char *prefix = im->prefix ? im->prefix : "";     /* inside a copy of a subgraph: its own names */
    t->key = (int)strlen(prefix);
    t->name = malloc(strlen(prefix) + strlen(name) + 1);
    if (!t->name) abort();
    strcpy(stpcpy(t->name, prefix), name);
    t->rank = rank;
    if (rank) memcpy(t->dims, dims, (size_t)rank * sizeof *dims);   /* dims may be NULL at rank 0 */
    t->value = -1;
    return t;
}

Tensor *onnx_add_constant(Importer *im, const char *name, int rank, const long *dims, float *data) {
    Tensor *t = onnx_add_tensor(im, name, rank, dims);
    t->data = data;
    return t;
}

/* ---- building nodes or folding them ---------------------------------------------- */

/* an IR value for a tensor: constants become baked parameters on first use */
static int value_of(Importer *im, Tensor *t) {
    if (t->value >= 0) return t->value;
    Graph *g = im->g;
    int dims[MAX_T];
    for (int d = 0; d < t->rank; d++) dims[d] = (int)t->dims[d];
    char name[IR_NAME];
    ir_format_name(name, "%s", t->name);
    int v = ir_value(g, name, ROLE_PARAM, 0, t->rank, dims);
    g->values[v].trainable = im->trainable && t->param;
    g->values[v].constant = !g->values[v].trainable;
    long n = onnx_numel(t->dims, t->rank), at = 0;
    for (int i = 0; i < g->nvalues; i++)
        if (i != v && g->values[i].role == ROLE_PARAM) at += ir_size(&g->values[i]);
    g->baked = realloc(g->baked, (size_t)(at + n + 1) * sizeof *g->baked);
    if (!g->baked) abort();
    memcpy(g->baked + at, t->data, (size_t)n * sizeof *t->data);
    g->values[v].baked_at = at;
    t->value = v;
    return v;
}

/* a new IR node of `op` on these inputs with an output of this shape */
Tensor *onnx_node_out(Importer *im, int op, Tensor **in, int nin, const Attrs *a,
                      const char *out_name, int rank, const long *dims) {
    Graph *g = im->g;
    int vin[IR_MAX_IO];
    assert(nin <= IR_MAX_IO);   /* the builders split wider nodes (Concat) */
    for (int i = 0; i < nin; i++)
        if (!in[i]) return NULL;    /* an operand that failed, already reported */
    if (onnx_checked_numel(im, dims, rank, ONNX_MAX_ELEMS, "a result") < 0) return NULL;
    for (int i = 0; i < nin; i++) vin[i] = value_of(im, in[i]);
    int n = ir_node(g, op, vin, nin, onnx_nowhere());
    g->nodes[n].attr = *a;
    ir_format_name(g->nodes[n].layer, "%s", im->node && im->node->name ? im->node->name : "");
    int dims_i[MAX_T];
    for (int d = 0; d < rank; d++) dims_i[d] = (int)dims[d];
    char name[IR_NAME];
    ir_format_name(name, "%s%s", im->prefix ? im->prefix : "", out_name);
    int v = ir_value(g, name, ROLE_ACT, 0, rank, dims_i);
    ir_add_output(g, n, v);
    Tensor *t = onnx_add_tensor(im, out_name, rank, dims);
    t->value = v;
    t->dtype = nin ? in[0]->dtype : 0;     /* the first input's; map.c sets what an op says otherwise */
    return t;
}

/* evaluate `op` here (its op-table fold) when every input is a constant,
 * else build the node */
Tensor *onnx_apply(Importer *im, int op, Tensor **in, int nin, const Attrs *a,
                   const char *out_name, int rank, const long *dims) {
    int all_const = 1;
    for (int i = 0; i < nin; i++)
        if (!in[i]) return NULL;    /* an operand that failed, already reported */
        else all_const &= in[i]->data != NULL;
    long n = onnx_checked_numel(im, dims, rank, ONNX_MAX_ELEMS, "a result");
    if (n < 0) return NULL;
    /* conv, pool and rnn have no fold; a large result is computed at run time, not baked */
    const OpDef *d = op_table[op];
    if (!all_const || !d->fold || n > ONNX_MAX_CONST) return onnx_node_out(im, op, in, nin, a, out_name, rank, dims);
    float *y = calloc((size_t)(n ? n : 1), sizeof *y);
    if (!y) abort();
    Fold f = { a, y, n, rank, dims, nin, { NULL }, { 0 }, { NULL }, 0 };
    for (int i = 0; i < nin; i++) {
        f.in[i] = in[i]->data;
        f.in_rank[i] = in[i]->rank;
        f.in_dims[i] = in[i]->dims;
    }
    d->fold(&f);
    Tensor *t = onnx_add_constant(im, out_name, rank, dims, y);
    for (int i = 0; i < nin; i++) t->param |= in[i]->param;   /* a weight transposed or reshaped trains as one */
    t->dtype = nin ? in[0]->dtype : 0;
    return t;
}

/* ---- constant integers (shapes, axes, indices) --------------------------------- */

/* a float holding an integer (an int64 index or shape, converted) as a long:
 * beyond +-2^62 it saturates (INT64_MAX is what exporters write for "to the
 * end"; as a float it is 2^63, which lrintf cannot return) */
long onnx_to_long(float v) {
    if (v >= 0x1p62f) return 1L << 62;
    if (v <= -0x1p62f) return -(1L << 62);
    return v == v ? lrintf(v) : 0;
}

/* the constant integer values of an input (shape, axes, pads, ...) */
int onnx_const_ints(Importer *im, Tensor *t, long *out, int max, const char *what) {
    if (!t->data) {
        char why[128];
        snprintf(why, sizeof why, "'%s' must be a constant (it is computed at run time)", what);
        onnx_unsupported(im, why);
        return -1;
    }
    long n = onnx_numel(t->dims, t->rank);
    if (n > max) { onnx_unsupported(im, "too many values"); return -1; }
    for (long i = 0; i < n; i++) {
        if (t->data[i] != t->data[i]) {
            diag_error(onnx_nowhere(), "%s: '%s' holds NaN where an integer belongs", onnx_which_node(im), what);
            return -1;
        }
        out[i] = onnx_to_long(t->data[i]);
    }
    return (int)n;
}

/* ---- reporting: every file of the importer reports through these ------------------------------------------------------------------- */

Loc onnx_nowhere(void) { return (Loc){ 0, 0, 0, 0 }; }

/* "node 'n' (Op)" for messages; "the graph" outside any node (an initializer) */
const char *onnx_which_node(Importer *im) {
    static char buf[256];
    const Onnx__NodeProto *n = im->node;
    if (!n)
        snprintf(buf, sizeof buf, "the graph (opset %d)", im->opset);
    else if (n->name && *n->name)
        snprintf(buf, sizeof buf, "node '%.100s' (%.60s, opset %d)", n->name, n->op_type, im->opset);
    else
        snprintf(buf, sizeof buf, "the node computing '%.100s' (%.60s, opset %d)",
                 n->n_output ? n->output[0] : "?", n->op_type, im->opset);
    return buf;
}

void onnx_invalid(Importer *im, const char *fmt, ...) {
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    diag_error(onnx_nowhere(), "invalid model: %s: %s", onnx_which_node(im), why);
}

void onnx_unsupported(Importer *im, const char *why) {
    diag_error(onnx_nowhere(), "unsupported: %s: %s", onnx_which_node(im), why);
    im->unsupported++;
}

/* ---- the graph ------------------------------------------------------------------- */
