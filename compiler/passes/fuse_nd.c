/* passes/fuse_nd.c — fusions in imported graphs.
 *
 * fuse_nd: MatMul (or Gemm) by a parameter, then the addition of a
 * per-column bias, then an element-wise activation or a softmax over the
 * columns, become one dense node: the runtime's GEMM with its
 * bias-and-activation epilogue, the same kernel a .nn dense layer runs, and
 * one output buffer instead of three.
 *
 * fuse_nd_conv: after a convolution (channels-last once passes/layout.c has
 * removed the transposes around it), a multiplication and an addition by
 * one constant per output channel (a BatchNormalization the exporter did
 * not fold, a scale, a shift) fold into the convolution's kernel and bias,
 * here, once: y*s + t over conv(x, W) + b is conv(x, W*s) + (b*s + t).  Then
 * relu, sigmoid or tanh becomes the convolution's epilogue.  Both look
 * through one pool between them and the convolution where they commute with
 * it (max pool: shifts, positive scales and the increasing activations;
 * average pool: scales and shifts), so conv -> max pool -> relu is one
 * convolution with relu, then the pool.  Folding needs every value
 * involved to be a baked constant: a trained parameter keeps its own
 * gradient, and its saved layout, so it is left alone.  Clip(0, 6) is
 * relu6, Clip(0, inf) relu; other clips stay separate nodes.  An affine
 * node (alpha x + beta: passes/fuse_eltwise.c's scalar Mul and Add) folds
 * like a scale and a shift after the convolution, and also before it when
 * the convolution reads no padded cell (a padded cell is 0, not beta) or
 * beta is 0: conv(alpha x + beta) = alpha conv(x) + beta (each output
 * channel's kernel sum).
 *
 * fuse_nd_residual: an addition of two whole tensors of one shape, one of
 * them a convolution's output that nothing else reads, becomes that
 * convolution's residual input (nnc_rt_conv2d_forward_residual: the sum is
 * where its taps start), and an activation after it the convolution's
 * epilogue: ResNet's conv -> add -> relu is one layer, not two more passes
 * over the tensor.  The other addend must be computed before the
 * convolution runs, and the convolution must have a bias (an exported
 * ResNet's have, batch norm folded into them).
 *
 * Each step needs the value it absorbs to have no other consumer.  They run
 * before autodiff (dense has a gradient rule; nd_conv and nd_pool have none,
 * so nothing trains through what fuse_nd_conv rewrites; a convolution's
 * gradient rule gives the residual input dL/d(conv + b + r), compiler/ops/conv.c);
 * -O0 skips them. */
#include <math.h>
#include <stdlib.h>
#include "ir.h"

/* the one live consumer of v, or -1 (none, several, or a graph output) */
static int only_consumer(const Graph *g, int v) {
    int c;
    if (ir_is_output(g, v) || ir_consumers(g, v, &c) != 1) return -1;
    return c;
}

static void absorb(Graph *g, int into, int node) {
    Node *n = &g->nodes[into], *a = &g->nodes[node];
    g->values[n->out[0]].producer = -1;
    n->out[0] = a->out[0];
    g->values[a->out[0]].producer = into;
    a->dead = 1;
}

void fuse_nd(Graph *g) {
    int matmul = OP_ND_MATMUL, binary = OP_ND_BINARY;
    int softmax = OP_ND_SOFTMAX, dense = OP_DENSE;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = &g->nodes[i];
        if (n->dead || n->op != matmul || n->attr.nd.rank || g->values[n->in[1]].role != ROLE_PARAM) continue;
        int units = n->attr.N;
        n->op = dense;
        n->attr.units = units;
        n->attr.act = NNC_RT_ACT_LINEAR;
        n->attr.use_bias = 0;
        /* + b, b a parameter of one value per column */
        int c = only_consumer(g, n->out[0]);
        const Node *a = c >= 0 ? &g->nodes[c] : NULL;
        if (a && a->op == binary && a->attr.fn == NNC_RT_BIN_ADD && a->in[0] == n->out[0] &&
            g->values[a->in[1]].role == ROLE_PARAM && ir_size(&g->values[a->in[1]]) == units &&
            a->attr.nd.rank == 2 && a->attr.nd.bs[0] == 0 && a->attr.nd.bs[1] == 1) {
            n->in[n->nin++] = a->in[1];
            n->attr.use_bias = 1;
            absorb(g, i, c);
            n = &g->nodes[i];
        }
        /* then an activation over the result */
        c = only_consumer(g, n->out[0]);
        a = c >= 0 ? &g->nodes[c] : NULL;
        if (!a) continue;
        if (a->op == softmax && a->attr.fn == NNC_RT_SOFTMAX_PLAIN && a->attr.inner == 1 && a->attr.alen == units) {
            n->attr.act = NNC_RT_ACT_SOFTMAX;
            absorb(g, i, c);
            continue;
        }
        int act = unary_act(a);
        if (act >= 0) {
            n->attr.act = act;
            absorb(g, i, c);
        }
    }
}

/* ---- convolution + per-channel scale and shift + activation ----------------------- */

/* binary b reads the convolution's output y (dims n, oh, ow, oc) element for
 * element and a constant once per channel: its index in operand `k`, the
 * constant's data and the stride between channels (0: one value for all) */
static const float *per_channel(Graph *g, const Node *b, int y, int *k, long *step) {
    const nnc_rt_nd *p = &b->attr.nd;
    const Value *yv = &g->values[y];
    if (p->rank != 4 || p->yoff || b->nin != 2 || (b->in[0] == y) == (b->in[1] == y)) return NULL;
    *k = b->in[0] == y;
    const long *xs = *k ? p->as : p->bs, *cs = *k ? p->bs : p->as;
    long yoff = *k ? p->aoff : p->boff, coff = *k ? p->boff : p->aoff, dense = 1;
    for (int d = 3; d >= 0; d--) {
        if (p->dims[d] != yv->dims[d]) return NULL;
        if (p->dims[d] > 1 && (xs[d] != dense || p->ys[d] != dense)) return NULL;
        if (d < 3 && p->dims[d] > 1 && cs[d] != 0) return NULL;
        dense *= p->dims[d];
    }
    int c = b->in[*k];
    long oc = yv->dims[3];
    *step = oc > 1 ? cs[3] : 0;
    if (yoff || !ir_constant(g, c) || coff < 0 || *step < 0 || coff + (oc - 1) * *step >= ir_size(&g->values[c]))
        return NULL;
    return g->baked + g->values[c].baked_at + coff;
}

/* conv node i's kernel and bias become those of (conv(x) fn coef), coef one
 * value per output channel: a scale (mul, div) or a shift (add, sub) */
static void fold_coefs(Graph *g, int i, int fn, const float *coef) {
    Node *n = &g->nodes[i];
    int oc = n->attr.conv.oc, scale = fn == NNC_RT_BIN_MUL || fn == NNC_RT_BIN_DIV;
    if (n->nin < 3 && !scale) {
        char name[IR_NAME];
        ir_format_name(name, "%s/bias", g->values[n->in[1]].name);
        int bias = ir_new_constant(g, name, 1, &oc, NULL);
        n = &g->nodes[i];
        n->in[n->nin++] = bias;
    }
    if (scale) {
        float *w = ir_writable(g, i, 1);
        long size = ir_size(&g->values[g->nodes[i].in[1]]);
        for (long j = 0; j < size; j++)     /* the kernel is (kh, kw, c/groups, oc) */
            w[j] = fn == NNC_RT_BIN_MUL ? w[j] * coef[j % oc] : w[j] / coef[j % oc];
    }
    if (g->nodes[i].nin > 2) {
        float *bias = ir_writable(g, i, 2);
        for (int o = 0; o < oc; o++)
            bias[o] = fn == NNC_RT_BIN_MUL ? bias[o] * coef[o] : fn == NNC_RT_BIN_DIV ? bias[o] / coef[o] :
                      fn == NNC_RT_BIN_ADD ? bias[o] + coef[o] : bias[o] - coef[o];
    }
}

/* fold binary b into conv node i; b reads the output of node `at`: the
 * convolution, or a pool right after it, which b commutes with (a max pool
 * with a shift or a positive scale, an average pool with either: padded
 * cells are never counted).  0 if it does not fit. */
static int fold_channel_op(Graph *g, int i, int at, int bn) {
    Node *n = &g->nodes[i];
    const Node *b = &g->nodes[bn];
    int y = g->nodes[at].out[0], k;
    long step;
    if (b->op != OP_ND_BINARY) return 0;
    int fn = b->attr.fn, scale = fn == NNC_RT_BIN_MUL || fn == NNC_RT_BIN_DIV;
    if (fn != NNC_RT_BIN_MUL && fn != NNC_RT_BIN_ADD && fn != NNC_RT_BIN_SUB && fn != NNC_RT_BIN_DIV) return 0;
    const float *c = per_channel(g, b, y, &k, &step);
    /* y - c and y / c only with y first */
    if (!c || ((fn == NNC_RT_BIN_SUB || fn == NNC_RT_BIN_DIV) && k != 1)) return 0;
    if (!ir_constant(g, n->in[1]) || (n->nin > 2 && !ir_constant(g, n->in[2]))) return 0;
    int oc = n->attr.conv.oc, cin = b->in[k], max_pool = at != i && !g->nodes[at].attr.fn;
    for (int o = 0; o < oc; o++)
        if ((fn == NNC_RT_BIN_DIV && c[o * step] == 0) || (max_pool && scale && !(c[o * step] > 0))) return 0;
    float *coef = malloc((size_t)oc * sizeof *coef);
    if (!coef) abort();
    for (int o = 0; o < oc; o++) coef[o] = c[o * step];   /* before any baked array moves */
    fold_coefs(g, i, fn, coef);
    free(coef);
    g->nodes[i].folded++;
    absorb(g, at, bn);
    ir_drop_constant(g, cin);
    return 1;
}

/* an affine unary (alpha x + beta, passes/fuse_eltwise.c's) after conv
 * node i, or after the pool at `at`: a scale then a shift */
static int fold_affine(Graph *g, int i, int at, int un) {
    const Node *u = &g->nodes[un], *n = &g->nodes[i];
    if (u->op != OP_ND_UNARY || u->attr.fn != NNC_RT_UN_AFFINE || u->in[0] != g->nodes[at].out[0]) return 0;
    if (!ir_constant(g, n->in[1]) || (n->nin > 2 && !ir_constant(g, n->in[2]))) return 0;
    float a = u->attr.alpha, b = u->attr.beta;
    int oc = n->attr.conv.oc, max_pool = at != i && !g->nodes[at].attr.fn;
    if (!isfinite(a) || !isfinite(b) || (max_pool && !(a > 0))) return 0;
    float *coef = malloc((size_t)oc * sizeof *coef);
    if (!coef) abort();
    for (int o = 0; o < oc; o++) coef[o] = a;
    fold_coefs(g, i, NNC_RT_BIN_MUL, coef);
    for (int o = 0; o < oc; o++) coef[o] = b;
    fold_coefs(g, i, NNC_RT_BIN_ADD, coef);
    free(coef);
    g->nodes[i].folded++;
    absorb(g, at, un);
    return 1;
}

/* conv node i reads u = alpha x + beta (an affine unary only it reads):
 * conv(u) = alpha conv(x) + beta (the sum of each output channel's kernel),
 * when no output reads a padded cell (padding is 0, not beta); a scale
 * alone folds whatever the padding.  The kernel and bias become those. */
static int affine_into_conv(Graph *g, int i) {
    Node *n = &g->nodes[i];
    int un = g->values[n->in[0]].producer;
    if (un < 0 || only_consumer(g, n->in[0]) != i) return 0;
    const Node *u = &g->nodes[un];
    if (u->dead || u->op != OP_ND_UNARY || u->attr.fn != NNC_RT_UN_AFFINE) return 0;
    if (!ir_constant(g, n->in[1]) || (n->nin > 2 && !ir_constant(g, n->in[2]))) return 0;
    const nnc_rt_conv2d *p = &n->attr.conv;
    float a = u->attr.alpha, b = u->attr.beta;
    int inside = !p->pt && !p->pl && (long)(p->oh - 1) * p->sh + (long)(p->kh - 1) * p->dh < p->h &&
                 (long)(p->ow - 1) * p->sw + (long)(p->kw - 1) * p->dw < p->w;
    if (!isfinite(a) || !isfinite(b) || (b != 0.0f && !inside)) return 0;
    int oc = p->oc, x = u->in[0];
    float *shift = calloc((size_t)oc, sizeof *shift);
    if (!shift) abort();
    const float *w = g->baked + g->values[n->in[1]].baked_at;
    long size = ir_size(&g->values[n->in[1]]);
    for (long j = 0; j < size; j++) shift[j % oc] += w[j];
    for (int o = 0; o < oc; o++) shift[o] *= b;
    if (b != 0.0f) fold_coefs(g, i, NNC_RT_BIN_ADD, shift);
    float *wd = ir_writable(g, i, 1);
    for (long j = 0; j < size; j++) wd[j] *= a;
    free(shift);
    n = &g->nodes[i];
    n->in[0] = x;
    n->folded++;
    g->nodes[un].dead = 1;
    g->values[g->nodes[un].out[0]].producer = -1;
    return 1;
}

void fuse_nd_conv(Graph *g) {
    int conv = OP_ND_CONV, pool = OP_ND_POOL;
    for (int i = 0; i < g->nnodes; i++) {
        if (g->nodes[i].dead || g->nodes[i].op != conv) continue;
        while (affine_into_conv(g, i)) {}
        if (g->nodes[i].attr.act != NNC_RT_ACT_LINEAR) continue;
        int at = i, c;
        for (;;) {
            c = only_consumer(g, g->nodes[at].out[0]);
            if (c >= 0 && at == i && g->nodes[c].op == pool) { at = c; continue; }   /* look through one pool */
            if (c < 0 || (!fold_channel_op(g, i, at, c) && !fold_affine(g, i, at, c))) break;
        }
        if (c < 0) continue;
        /* a max pool commutes with the increasing activations, an average pool with none */
        if (at != i && g->nodes[at].attr.fn) continue;
        int act = unary_act(&g->nodes[c]);
        if (act >= 0) {
            g->nodes[i].attr.act = act;
            absorb(g, at, c);
        }
    }
}

/* ---- convolution + residual addition + activation -------------------------------- */

/* binary add node a: both operands are read element for element as a whole
 * tensor of the output's shape (no broadcast, no offsets) */
static int whole_add(const Graph *g, const Node *a) {
    const nnc_rt_nd *p = &a->attr.nd;
    long size = ir_size(&g->values[a->out[0]]);
    if (a->op != OP_ND_BINARY || a->attr.fn != NNC_RT_BIN_ADD || p->yoff || p->aoff || p->boff) return 0;
    if (nnc_rt_nd_space(p) != size || ir_size(&g->values[a->in[0]]) != size || ir_size(&g->values[a->in[1]]) != size)
        return 0;
    for (int d = 0; d < p->rank; d++)
        if (p->dims[d] > 1 && (p->as[d] != p->ys[d] || p->bs[d] != p->ys[d])) return 0;
    long dense = 1;      /* y itself dense, row-major */
    for (int d = p->rank - 1; d >= 0; d--) {
        if (p->dims[d] > 1 && p->ys[d] != dense) return 0;
        dense *= p->dims[d];
    }
    return 1;
}

void fuse_nd_residual(Graph *g) {
    int conv = OP_ND_CONV;
    for (int i = 0; i < g->nnodes; i++) {
        const Node *a = &g->nodes[i];
        if (a->dead || !whole_add(g, a)) continue;
        for (int k = 0; k < 2; k++) {
            int c = g->values[a->in[k]].producer, r = a->in[1 - k];
            if (c < 0 || c >= i) continue;
            Node *n = &g->nodes[c];
            if (n->dead || n->op != conv || n->nin != 3 || n->attr.act != NNC_RT_ACT_LINEAR ||
                only_consumer(g, n->out[0]) != i || r == n->out[0] || g->values[r].producer >= c)
                continue;
            n->in[n->nin++] = r;
            absorb(g, c, i);
            int u = only_consumer(g, g->nodes[c].out[0]), act = u >= 0 ? unary_act(&g->nodes[u]) : -1;
            if (act >= 0) {
                g->nodes[c].attr.act = act;
                absorb(g, c, u);
            }
            break;
        }
    }
}
