/* passes/fuse_eltwise.c — element-wise chains an exporter wrote out node by
 * node become the one element-wise function they compute.
 *
 * Hard-swish, x * relu6(x + 3) / 6, reaches ONNX as Add, Clip, Mul and Div
 * (PaddleOCR and Keras exports), as Add, Clip, Div and Mul, or as
 * HardSigmoid(alpha 1/6, beta 1/2) and Mul: four passes over the tensor, and
 * since x feeds two of the nodes, a transpose before it has two consumers
 * and passes/layout.c cannot sink it: the NCHW <-> NHWC copies around every
 * hard-swish stay.  Here the chain becomes one nd_unary HardSwish of x,
 * which the runtime computes as x * clamp(x * (1/6) + 1/2, 0, 1) (ONNX's
 * HardSwish, alpha 1/6): the same function, the result within a few ulps
 * (x * (1/6) + 1/2 against (x + 3) / 6).
 *
 * Each intermediate value must have no reader but the next node of the
 * chain (and not be a graph output); the constants must be scalars (or
 * broadcast one value) and every other operand read element for element
 * over the same shape.  A chain that depends on a trained parameter is left
 * alone (HardSwish has no gradient rule; the chain's nodes have).  Runs
 * before passes/layout.c, at -O2. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ir.h"

/* the one live consumer of v, or -1 (none, several, or a graph output) */
static int sole_reader(const Graph *g, int v) {
    int c;
    if (ir_is_output(g, v) || ir_consumers(g, v, &c) != 1) return -1;
    return c;
}

static int dense_dims(const nnc_rt_nd *p, const long *s, long off, const Value *v) {
    if (off || p->rank != v->rank) return 0;
    long acc = 1;
    for (int d = v->rank - 1; d >= 0; d--) {
        if (p->dims[d] != v->dims[d]) return 0;
        if (v->dims[d] > 1 && s[d] != acc) return 0;
        acc *= v->dims[d];
    }
    return 1;
}

/* binary node b as "operand op scalar": the operand read element for element
 * over b's output shape, the other a constant of one value read everywhere.
 * Returns the operand (and which side it is in *k), or -1. */
static int with_scalar(const Graph *g, const Node *b, int fn, float *value, int *k) {
    if (b->dead || b->op != OP_ND_BINARY || b->attr.fn != fn || b->nin != 2 || b->nout != 1) return -1;
    const nnc_rt_nd *p = &b->attr.nd;
    const Value *y = &g->values[b->out[0]];
    if (!dense_dims(p, p->ys, p->yoff, y)) return -1;
    for (int side = 0; side < 2; side++) {
        int x = b->in[side], c = b->in[!side];
        const long *xs = side ? p->bs : p->as, *cs = side ? p->as : p->bs;
        long xoff = side ? p->boff : p->aoff, coff = side ? p->aoff : p->boff;
        const Value *cv = &g->values[c];
        if (!dense_dims(p, xs, xoff, y) || !ir_constant(g, c) || coff < 0 || coff >= ir_size(cv)) continue;
        int scalar = 1;
        for (int d = 0; d < p->rank; d++) scalar &= p->dims[d] == 1 || cs[d] == 0;
        if (!scalar) continue;
        *value = g->baked[cv->baked_at + coff];
        *k = side;
        return x;
    }
    return -1;
}

/* binary node b multiplying x by another value element for element (either
 * order): that value, or -1 */
static int times(const Graph *g, const Node *b, int x) {
    if (b->dead || b->op != OP_ND_BINARY || b->attr.fn != NNC_RT_BIN_MUL || b->nin != 2 || b->nout != 1) return -1;
    const nnc_rt_nd *p = &b->attr.nd;
    const Value *y = &g->values[b->out[0]];
    if (!dense_dims(p, p->ys, p->yoff, y) || !dense_dims(p, p->as, p->aoff, y) || !dense_dims(p, p->bs, p->boff, y))
        return -1;
    if (b->in[0] == x && b->in[1] != x) return b->in[1];
    if (b->in[1] == x && b->in[0] != x) return b->in[0];
    return -1;
}

/* node m: v / 6 or v * (1/6), v the operand; -1 if not */
static int sixth_of(const Graph *g, const Node *m) {
    float c;
    int k, v = with_scalar(g, m, NNC_RT_BIN_DIV, &c, &k);
    if (v >= 0 && k == 0 && c == 6.0f) return v;
    v = with_scalar(g, m, NNC_RT_BIN_MUL, &c, &k);
    if (v >= 0 && fabsf(c - 1.0f / 6.0f) <= 1e-6f) return v;
    return -1;
}

/* value v = relu6(x + 3) through a chain whose intermediates only it reads:
 * x, or -1 */
static int relu6_plus3(const Graph *g, int v) {
    int c = g->values[v].producer;
    if (c < 0) return -1;
    const Node *clip = &g->nodes[c];
    if (clip->dead || clip->op != OP_ND_UNARY || clip->attr.fn != NNC_RT_UN_CLIP || clip->attr.alpha != 0.0f ||
        clip->attr.beta != 6.0f)
        return -1;
    int a = g->values[clip->in[0]].producer, k;
    float three;
    if (a < 0 || sole_reader(g, clip->in[0]) != c) return -1;
    int x = with_scalar(g, &g->nodes[a], NNC_RT_BIN_ADD, &three, &k);
    return x >= 0 && three == 3.0f ? x : -1;
}

/* value v = hard_sigmoid(x) with alpha 1/6 and beta 1/2: x, or -1 */
static int hard_sigmoid6(const Graph *g, int v) {
    int h = g->values[v].producer;
    if (h < 0) return -1;
    const Node *n = &g->nodes[h];
    if (n->dead || n->op != OP_ND_UNARY || n->attr.fn != NNC_RT_UN_HARD_SIGMOID ||
        fabsf(n->attr.alpha - 1.0f / 6.0f) > 1e-6f || n->attr.beta != 0.5f)
        return -1;
    return n->in[0];
}

/* the values a trained parameter reaches (no HardSwish there: it has no gradient) */
static char *trained(const Graph *g) {
    char *t = calloc((size_t)g->nvalues + 1, 1);
    if (!t) abort();
    for (int v = 0; v < g->nvalues; v++) t[v] = g->values[v].role == ROLE_PARAM && g->values[v].trainable;
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead) continue;
        int r = 0;
        for (int j = 0; j < n->nin; j++) r |= t[n->in[j]];
        for (int j = 0; j < n->nout; j++) t[n->out[j]] |= r;
    }
    return t;
}

/* node f is the end of a hard-swish chain of x: x, and the chain's other nodes in drop[] */
static int hard_swish_at(const Graph *g, int f, int *drop, int *ndrop) {
    const Node *n = &g->nodes[f];
    *ndrop = 0;
    /* (x * relu6(x + 3)) / 6 */
    int m = sixth_of(g, n);
    if (m >= 0 && sole_reader(g, m) == f && g->values[m].producer >= 0) {
        int mn = g->values[m].producer;
        const Node *mul = &g->nodes[mn];
        for (int side = 0; side < 2 && mul->op == OP_ND_BINARY && mul->nin == 2; side++) {
            int r = mul->in[!side], x = mul->in[side];
            if (times(g, mul, x) != r || sole_reader(g, r) != mn) continue;
            if (relu6_plus3(g, r) != x) continue;
            int clip = g->values[r].producer;
            drop[0] = mn, drop[1] = clip, drop[2] = g->values[g->nodes[clip].in[0]].producer;
            *ndrop = 3;
            return x;
        }
    }
    /* x * (relu6(x + 3) / 6), x * hard_sigmoid(x) */
    if (n->dead || n->op != OP_ND_BINARY || n->nin != 2) return -1;
    for (int side = 0; side < 2; side++) {
        int x = n->in[side], s = n->in[!side], sn = g->values[s].producer;
        if (times(g, n, x) != s || sn < 0 || sole_reader(g, s) != f) continue;
        if (hard_sigmoid6(g, s) == x) {
            drop[0] = sn;
            *ndrop = 1;
            return x;
        }
        int r = sixth_of(g, &g->nodes[sn]);
        if (r < 0 || sole_reader(g, r) != sn || relu6_plus3(g, r) != x) continue;
        int clip = g->values[r].producer;
        drop[0] = sn, drop[1] = clip, drop[2] = g->values[g->nodes[clip].in[0]].producer;
        *ndrop = 3;
        return x;
    }
    return -1;
}

/* node f = x * a + b or x * a - b (scalars a, b; the product read only by
 * f): x, with alpha and beta set and the product's node in *drop, or -1 */
static int affine_at(const Graph *g, int f, float *alpha, float *beta, int *drop) {
    float b, a;
    int k, j, fn = g->nodes[f].attr.fn;
    if (fn != NNC_RT_BIN_ADD && fn != NNC_RT_BIN_SUB) return -1;
    int m = with_scalar(g, &g->nodes[f], fn, &b, &k);
    if (m < 0 || (fn == NNC_RT_BIN_SUB && k != 0) || sole_reader(g, m) != f || g->values[m].producer < 0) return -1;
    int mn = g->values[m].producer, x = with_scalar(g, &g->nodes[mn], NNC_RT_BIN_MUL, &a, &j);
    if (x < 0 || !isfinite(a) || !isfinite(b)) return -1;
    *alpha = a;
    *beta = fn == NNC_RT_BIN_SUB ? -b : b;
    *drop = mn;
    return x;
}

/* node f becomes the unary fn(alpha, beta) of x; the nodes in drop[] go */
static void to_unary(Graph *g, int f, int x, int fn, float alpha, float beta, const int *drop, int ndrop) {
    Node *n = &g->nodes[f];
    int old[IR_MAX_IO], nold = n->nin;
    memcpy(old, n->in, (size_t)nold * sizeof *old);
    memset(&n->attr, 0, sizeof n->attr);
    n->op = OP_ND_UNARY;
    n->attr.fn = fn;
    n->attr.alpha = alpha;
    n->attr.beta = beta;
    n->in[0] = x;
    n->nin = 1;
    for (int k = 0; k < ndrop; k++) {
        Node *d = &g->nodes[drop[k]];
        d->dead = 1;
        g->values[d->out[0]].producer = -1;
        for (int j = 0; j < d->nin; j++) ir_drop_constant(g, d->in[j]);
    }
    for (int j = 0; j < nold; j++) ir_drop_constant(g, old[j]);
}

void fuse_nd_eltwise(Graph *g) {
    char *t = trained(g);
    for (int f = 0; f < g->nnodes; f++) {
        int drop[3], ndrop;
        if (g->nodes[f].dead) continue;
        int x = hard_swish_at(g, f, drop, &ndrop);
        if (x >= 0 && !t[x]) to_unary(g, f, x, NNC_RT_UN_HARD_SWISH, 0.0f, 0.0f, drop, ndrop);
    }
    for (int f = 0; f < g->nnodes; f++) {
        float a, b;
        int drop;
        if (g->nodes[f].dead || g->nodes[f].op != OP_ND_BINARY) continue;
        int x = affine_at(g, f, &a, &b, &drop);
        if (x >= 0 && !t[x]) to_unary(g, f, x, NNC_RT_UN_AFFINE, a, b, &drop, 1);
    }
    free(t);
}
