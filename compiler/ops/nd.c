/* nd.c — the N-d tensor ops with ONNX semantics (runtime/tensor_nd.c):
 * copy (reshape, transpose, slice, expand), fill, pad, element-wise unary
 * and broadcasting binary functions, where, reductions, softmax over an
 * axis, batched matmul, arg-max/min, cumsum, gather, NLL loss and concat;
 * their gradients where training through them is supported; and their
 * compile-time evaluation (the importer's constant folding), which runs the
 * same runtime kernel the emitted call does. */
#include "ops/rules.h"

/* ---- shape rules: strides and numpy broadcasting over extents -------------------
 * The importer computes every N-d node's descriptor with these; they take
 * ranks and extents, not its tensors, so tests build the same descriptors. */

void nd_strides(int rank, const long *dims, long *s) {
    long acc = 1;
    for (int d = rank - 1; d >= 0; d--) { s[d] = acc; acc *= dims[d]; }
}

int nd_broadcast(int ra, const long *a, int rb, const long *b, int *rank, long *out, long *as, long *bs) {
    int r = ra > rb ? ra : rb;
    long sa[NNC_RT_ND_MAX], sb[NNC_RT_ND_MAX];
    nd_strides(ra, a, sa);
    nd_strides(rb, b, sb);
    for (int d = 0; d < r; d++) {
        int da = d - (r - ra), db = d - (r - rb);
        long xa = da >= 0 ? a[da] : 1, xb = db >= 0 ? b[db] : 1;
        if (xa != xb && xa != 1 && xb != 1) return -1;
        out[d] = xa > xb ? xa : xb;
        as[d] = da >= 0 && xa != 1 ? sa[da] : 0;
        bs[d] = db >= 0 && xb != 1 ? sb[db] : 0;
    }
    *rank = r;
    return 0;
}

void nd_dense(nnc_rt_nd *p, int rank, const long *dims) {
    memset(p, 0, sizeof *p);
    p->rank = rank;
    memcpy(p->dims, dims, (size_t)rank * sizeof *dims);
    nd_strides(rank, dims, p->ys);
}

/* ---- N-d tensor ops with ONNX semantics (runtime/tensor_nd.c) -------------------
 * Built by the ONNX importer with their output shapes and descriptors
 * already computed (it folds constants through the same kernels); each
 * op's emission, folding and gradient follow one another below. */

/* element-wise and data movement: a cell of output each */
static long nd_cells(const Graph *g, const Node *n) { return ir_size(&g->values[n->out[0]]); }

#define NDE(nin, em, ...) ND(nin, em, .flops = nd_cells, __VA_ARGS__)

/* ---- nd_copy: a strided copy (reshape, transpose, slice, expand) ---------- */

static void nd_copy_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_copy_nd(%s, %s, %s);", emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]),
              emit_nd(e, n, &n->attr.nd));
}

static void nd_copy_fold(const Fold *f) { nnc_rt_copy_nd(f->y, f->in[0], &f->a->nd); }

/* a copy that reads every input element at most once (reshape, transpose,
 * slice, pad): the gradient is the same copy backwards into zeros */
static void nd_copy_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    nnc_rt_nd p = n.attr.nd;
    for (int d = 0; d < p.rank; d++)
        if (p.as[d] == 0 && p.dims[d] > 1) {
            diag_error(n.loc, "training through a broadcasting copy (%s) is not supported yet", node_who(g, &n));
            return;
        }
    nnc_rt_nd q = p;
    memcpy(q.ys, p.as, sizeof q.ys);
    memcpy(q.as, p.ys, sizeof q.as);
    q.yoff = p.aoff;
    q.aoff = p.yoff;
    n.attr.nd = q;
    n.attr.alpha = 0;
    din[0] = op_bwd(g, OP_ND_PAD, dout, 1, &n, n.in[0]);
}

const OpDef op_nd_copy = NDE(1, nd_copy_emit, .grad = nd_copy_grad, .fold = nd_copy_fold);

/* ---- nd_fill: a constant -------------------------------------------------- */

static void nd_fill_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_fill(%s, %s, %s);", emit_ptr(e, n->out[0]), emit_count(e, n->out[0]),
              emit_float(e, n->attr.alpha));
}

static void nd_fill_fold(const Fold *f) { nnc_rt_fill(f->y, f->ny, f->a->alpha); }

const OpDef op_nd_fill = NDE(0, nd_fill_emit, .fold = nd_fill_fold);

/* ---- nd_pad: the fill value, the input copied into the interior ----------- */

/* pad: the fill value everywhere, then the input copied into the interior */
static void nd_pad_emit(EmitCtx *e, const Node *n) {
    nd_fill_emit(e, n);
    nd_copy_emit(e, n);
}

static void nd_pad_fold(const Fold *f) { nd_fill_fold(f); nd_copy_fold(f); }

const OpDef op_nd_pad = NDE(1, nd_pad_emit, .grad = nd_copy_grad, .fold = nd_pad_fold);

/* ---- nd_unary: an element-wise function ----------------------------------- */

int unary_act(const Node *n) {
    if (n->op != OP_ND_UNARY) return -1;
    switch (n->attr.fn) {
    case NNC_RT_UN_RELU: return NNC_RT_ACT_RELU;
    case NNC_RT_UN_SIGMOID: return NNC_RT_ACT_SIGMOID;
    case NNC_RT_UN_TANH: return NNC_RT_ACT_TANH;
    case NNC_RT_UN_CLIP:
        if (n->attr.alpha != 0.0f) return -1;
        if (isinf(n->attr.beta) && n->attr.beta > 0) return NNC_RT_ACT_RELU;
        return n->attr.beta == 6.0f ? NNC_RT_ACT_RELU6 : -1;
    default: return -1;
    }
}

static void nd_unary_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_unary(%d, %s, %s, %s, %s, %s);", n->attr.fn, emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_count(e, n->out[0]), emit_float(e, n->attr.alpha),
              emit_float(e, n->attr.beta));
}

static void nd_unary_fold(const Fold *f) { nnc_rt_unary(f->a->fn, f->y, f->in[0], f->ny, f->a->alpha, f->a->beta); }

/* the activations (unary_act) from the output; identity passes the gradient on */
static void nd_unary_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    int act = unary_act(&n);
    if (n.attr.fn == NNC_RT_UN_IDENTITY) { din[0] = dout[0]; return; }
    if (act >= 0) {
        n.attr.act = act;
        int in[2] = { dout[0], n.out[0] };
        din[0] = op_bwd(g, OP_ACT_GRAD, in, 2, &n, n.in[0]);
        return;
    }
    diag_error(n.loc, "training through %s (element-wise %s) is not supported yet: it has no gradient rule",
               node_who(g, &n), unary_name(n.attr.fn));
}

const OpDef op_nd_unary = NDE(1, nd_unary_emit, .grad = nd_unary_grad, .fold = nd_unary_fold);

/* ---- nd_binary: a broadcasting binary function ---------------------------- */

static void nd_binary_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_binary_nd(%d, %s, %s, %s, %s);", n->attr.fn, emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), emit_nd(e, n, &n->attr.nd));
}

static void nd_binary_fold(const Fold *f) { nnc_rt_binary_nd(f->a->fn, f->y, f->in[0], f->in[1], &f->a->nd); }

/* the sum of t over the axes operand `which` was broadcast along, into its
 * shape; t itself when the operand was not broadcast */
static int unbroadcast(Graph *g, const Node *n, int t, int which) {
    const long *os = which ? n->attr.nd.bs : n->attr.nd.as;
    if (ir_size(&g->values[n->in[which]]) == ir_size(&g->values[n->out[0]]) &&
        !memcmp(os, n->attr.nd.ys, (size_t)n->attr.nd.rank * sizeof *os))
        return t;
    Node r = *n;
    nnc_rt_nd p = n->attr.nd;
    memcpy(p.as, p.ys, sizeof p.as);                 /* read t densely over the space */
    memcpy(p.ys, which ? n->attr.nd.bs : n->attr.nd.as, sizeof p.ys);
    p.yoff = 0; p.aoff = 0;
    r.attr.nd = p;
    r.attr.fn = NNC_RT_RED_SUM;
    r.attr.ny = ir_size(&g->values[n->in[which]]);
    r.attr.count = 1;
    return op_bwd(g, OP_ND_REDUCE, &t, 1, &r, n->in[which]);
}

/* add, sub, mul with broadcasting */
static void nd_binary_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    int fn = n.attr.fn;
    if (fn != NNC_RT_BIN_ADD && fn != NNC_RT_BIN_SUB && fn != NNC_RT_BIN_MUL) {
        diag_error(n.loc, "training through %s (element-wise %s) is not supported yet: gradients exist for add, sub "
                   "and mul", node_who(g, &n), binary_name(fn));
        return;
    }
    for (int i = 0; i < 2; i++) {
        if (!g->values[n.in[i]].requires_grad) continue;
        int t = dout[0];
        if (fn == NNC_RT_BIN_MUL) {     /* t = dY * the other operand, over the space */
            Node m = n;
            memcpy(m.attr.nd.as, n.attr.nd.ys, sizeof m.attr.nd.as);
            memcpy(m.attr.nd.bs, i ? n.attr.nd.as : n.attr.nd.bs, sizeof m.attr.nd.bs);
            m.attr.nd.aoff = 0;
            m.attr.nd.boff = i ? n.attr.nd.aoff : n.attr.nd.boff;
            int in[2] = { dout[0], n.in[1 - i] };
            t = op_bwd(g, OP_ND_BINARY, in, 2, &m, n.out[0]);
        }
        int d = unbroadcast(g, &n, t, i);
        if (fn == NNC_RT_BIN_SUB && i == 1) {
            Node m = n;
            m.attr.fn = NNC_RT_UN_NEG;
            d = op_bwd(g, OP_ND_UNARY, &d, 1, &m, n.in[1]);
        }
        din[i] = d;
    }
}

const OpDef op_nd_binary = NDE(2, nd_binary_emit, .grad = nd_binary_grad, .fold = nd_binary_fold);

/* ---- nd_where: select by a condition -------------------------------------- */

static void nd_where_emit(EmitCtx *e, const Node *n) {
    char cs[512];
    int len = snprintf(cs, sizeof cs, "(const long[]){ ");
    for (int d = 0; d < (n->attr.nd.rank ? n->attr.nd.rank : 1); d++)
        len += snprintf(cs + len, sizeof cs - len, "%s%ld", d ? ", " : "", n->attr.nd.rank ? n->attr.cs[d] : 0L);
    snprintf(cs + len, sizeof cs - len, " }");
    emit_line(e, "nnc_rt_where_nd(%s, %s, %s, %s, %s, %s);", emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]),
              emit_ptr(e, n->in[1]), emit_ptr(e, n->in[2]), emit_nd(e, n, &n->attr.nd), cs);
}

static void nd_where_fold(const Fold *f) {
    nnc_rt_where_nd(f->y, f->in[0], f->in[1], f->in[2], &f->a->nd, f->a->cs);
}

const OpDef op_nd_where = NDE(3, nd_where_emit, .fold = nd_where_fold);

/* ---- nd_reduce: a reduction over axes ------------------------------------- */

static void nd_reduce_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_reduce_nd(%d, %s, %s, %s, %s, %ld);", n->attr.fn, emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_nd(e, n, &n->attr.nd),
              emit_times_n(e, emit_graph(e)->values[n->out[0]].batched, n->attr.ny), n->attr.count);
}

static void nd_reduce_fold(const Fold *f) {
    nnc_rt_reduce_nd(f->a->fn, f->y, f->in[0], &f->a->nd, f->a->ny, f->a->count);
}

/* a sum or mean: each input cell gets its output cell's gradient, a copy
 * reading dY through the reduction's output strides (0 on the reduced
 * axes), over the count for a mean */
static void nd_reduce_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    if (n.attr.fn != NNC_RT_RED_SUM && n.attr.fn != NNC_RT_RED_MEAN) {
        diag_error(n.loc, "training through %s (reduction %s) is not supported yet: gradients exist for sum and mean",
                   node_who(g, &n), reduce_name(n.attr.fn));
        return;
    }
    nnc_rt_nd p = n.attr.nd;
    long space = 1;
    for (int d = 0; d < p.rank; d++) space *= p.dims[d];
    n.attr.nd.yoff = p.aoff;
    n.attr.nd.aoff = p.yoff;
    memcpy(n.attr.nd.ys, p.as, sizeof p.as);
    memcpy(n.attr.nd.as, p.ys, sizeof p.ys);
    n.attr.alpha = 0;   /* nd_pad's fill: the cells the reduction did not read */
    int whole = space == ir_size(&g->values[n.in[0]]);
    int d = op_bwd(g, whole ? OP_ND_COPY : OP_ND_PAD, dout, 1, &n, n.in[0]);
    if (n.attr.fn == NNC_RT_RED_MEAN) {
        n.attr.fn = NNC_RT_UN_AFFINE;
        n.attr.alpha = 1.0f / (float)n.attr.count;
        n.attr.beta = 0;
        d = op_bwd(g, OP_ND_UNARY, &d, 1, &n, n.in[0]);
    }
    din[0] = d;
}

const OpDef op_nd_reduce = NDE(1, nd_reduce_emit, .grad = nd_reduce_grad, .fold = nd_reduce_fold);

/* ---- nd_softmax: softmax, log-softmax, hardmax over an axis --------------- */

static void nd_softmax_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_softmax_axis(%d, %s, %s, %s, %ld, %ld);", n->attr.fn, emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_per_n(e, n, n->attr.outer), n->attr.alen, n->attr.inner);
}

static void nd_softmax_fold(const Fold *f) {
    nnc_rt_softmax_axis(f->a->fn, f->y, f->in[0], f->a->outer, f->a->alen, f->a->inner);
}

static void nd_softmax_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    if (n.attr.fn == NNC_RT_SOFTMAX_HARD) {
        diag_error(n.loc, "training through Hardmax (%s) has no gradient", node_who(g, &n));
        return;
    }
    int in[2] = { dout[0], n.out[0] };
    din[0] = op_bwd(g, OP_ND_SOFTMAX_GRAD, in, 2, &n, n.in[0]);
}

const OpDef op_nd_softmax = NDE(1, nd_softmax_emit, .grad = nd_softmax_grad, .fold = nd_softmax_fold);

static void nd_softmax_grad_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_softmax_axis_backward(%d, %s, %s, %s, %s, %ld, %ld);", n->attr.fn, emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), emit_per_n(e, n, n->attr.outer), n->attr.alen, n->attr.inner);
}

const OpDef op_nd_softmax_grad = NDE(2, nd_softmax_grad_emit, .fold = NULL);

/* ---- nd_matmul: batched products ------------------------------------------ */

static void nd_matmul_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_matmul_nd(%s, %s, %s, %s, %s, %d, %d);", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), emit_nd(e, n, &n->attr.nd),
              n->attr.nd.rank ? emit_times_n(e, 0, n->attr.M) : emit_per_n(e, n, n->attr.M), n->attr.N, n->attr.K);
}

static void nd_matmul_fold(const Fold *f) {
    nnc_rt_matmul_nd(f->y, f->in[0], f->in[1], &f->a->nd, f->a->M, f->a->N, f->a->K);
}

/* dA = dY B^T, dB = A^T dY: a 2-D product as dense's (matmul nodes); a
 * batched one per point of its space (nd_matmul_grad: an operand broadcast
 * along an axis of the space gets the sum over it) */
static void nd_matmul_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    if (n.attr.nd.rank) {
        for (int i = 0; i < 2; i++) {
            if (!g->values[n.in[i]].requires_grad) continue;
            int in[2] = { dout[0], n.in[1 - i] };
            din[i] = op_bwd(g, OP_ND_MATMUL_GRAD, in, 2, &n, n.in[i]);
            g->nodes[g->nnodes - 1].attr.fn = i;
        }
        return;
    }
    int matmul = OP_MATMUL;
    for (int i = 0; i < 2; i++) {
        if (!g->values[n.in[i]].requires_grad) continue;
        int in[2] = { i ? n.in[0] : dout[0], i ? dout[0] : n.in[1] };
        din[i] = op_bwd(g, matmul, in, 2, &n, n.in[i]);
        g->nodes[g->nnodes - 1].attr.trans_a = i;
        g->nodes[g->nnodes - 1].attr.trans_b = !i;
    }
}

/* attr.nd.dims batches of (M x K) . (K x N) */
static long nd_matmul_flops(const Graph *g, const Node *n) {
    (void)g;
    long b = 1;
    for (int d = 0; d < n->attr.nd.rank; d++) b *= n->attr.nd.dims[d];
    return 2L * b * n->attr.M * n->attr.N * n->attr.K;
}

const OpDef op_nd_matmul = ND(2, nd_matmul_emit, .grad = nd_matmul_grad, .fold = nd_matmul_fold,
                             .flops = nd_matmul_flops);

/* the gradient of operand attr.fn (0: A, 1: B) of a batched product: inputs
 * dY and the other operand; runtime/attention.c */
static void nd_matmul_grad_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_matmul_nd_grad(%d, %s, %s, %s, %s, %s, %s, %d, %d);", n->attr.fn, emit_ptr(e, n->out[0]),
              emit_count(e, n->out[0]), emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), emit_nd(e, n, &n->attr.nd),
              n->attr.nd.rank ? emit_times_n(e, 0, n->attr.M) : emit_per_n(e, n, n->attr.M), n->attr.N, n->attr.K);
}

const OpDef op_nd_matmul_grad = ND(2, nd_matmul_grad_emit, .flops = nd_matmul_flops);

/* ---- nd_arg: arg-max/min over an axis ------------------------------------- */

static void nd_arg_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_arg_axis(%d, %s, %s, %s, %ld, %ld, %ld);", n->attr.fn, emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_per_n(e, n, n->attr.outer), n->attr.alen, n->attr.inner, n->attr.count);
}

static void nd_arg_fold(const Fold *f) {
    nnc_rt_arg_axis(f->a->fn, f->y, f->in[0], f->a->outer, f->a->alen, f->a->inner, (int)f->a->count);
}

const OpDef op_nd_arg = NDE(1, nd_arg_emit, .fold = nd_arg_fold);

/* ---- nd_cumsum: a running sum over an axis -------------------------------- */

static void nd_cumsum_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_cumsum_axis(%s, %s, %s, %ld, %ld, %d, %ld);", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_per_n(e, n, n->attr.outer), n->attr.alen, n->attr.inner, n->attr.fn, n->attr.count);
}

static void nd_cumsum_fold(const Fold *f) {
    nnc_rt_cumsum_axis(f->y, f->in[0], f->a->outer, f->a->alen, f->a->inner, f->a->fn, (int)f->a->count);
}

const OpDef op_nd_cumsum = NDE(1, nd_cumsum_emit, .fold = nd_cumsum_fold);

/* ---- nd_gather: Gather and GatherElements --------------------------------- */

static void nd_gather_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_gather_axis(%s, %s, %s, %s, %ld, %ld, %ld, %d);", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), emit_per_n(e, n, n->attr.outer), n->attr.alen, n->attr.inner,
              n->attr.ny, n->attr.fn);
}

static void nd_gather_fold(const Fold *f) {
    nnc_rt_gather_axis(f->y, f->in[0], f->in[1], f->a->outer, f->a->alen, f->a->inner, f->a->ny, f->a->fn);
}

const OpDef op_nd_gather = NDE(2, nd_gather_emit, .fold = nd_gather_fold);

/* ---- nd_nll: the negative log-likelihood loss ----------------------------- */

static void nd_nll_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_nll_loss(%s, %s, %s, %s, %ld, %ld, %ld, %d, %ldL);", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), n->nin > 2 ? emit_ptr(e, n->in[2]) : "NULL",
              n->attr.outer, n->attr.alen, n->attr.inner, n->attr.fn, n->attr.count);
}

static void nd_nll_fold(const Fold *f) {
    nnc_rt_nll_loss(f->y, f->in[0], f->in[1], f->nin > 2 ? f->in[2] : NULL, f->a->outer, f->a->alen,
                    f->a->inner, f->a->fn, f->a->count);
}

const OpDef op_nd_nll = NDE(-1, nd_nll_emit, .fold = nd_nll_fold);

/* ---- nd_concat: operands side by side along an axis ----------------------- */

/* the copy of concat operand x into its place along `axis` of y, `off` in */
static void concat_part(const long *ydims, int rank, const long *xdims, int axis, long off, nnc_rt_nd *p) {
    long ys = 1, xs = 1;
    memset(p, 0, sizeof *p);
    p->rank = rank;
    for (int d = rank - 1; d >= 0; d--) {
        p->dims[d] = xdims[d];
        p->ys[d] = ys;
        p->as[d] = xs;
        if (d == axis) p->yoff = off * ys;
        ys *= ydims[d];
        xs *= xdims[d];
    }
}

/* concat along attr.axis: each operand copied into its columns of the output */
static void nd_concat_emit(EmitCtx *e, const Node *n) {
    const Graph *g = emit_graph(e);
    const Value *y = &g->values[n->out[0]];
    /* per sample (attr.axis counts the batch axis): one sample in front, printed as n */
    int b = n->attr.batched, axis = n->attr.axis;
    long ydims[NNC_RT_ND_MAX], xdims[NNC_RT_ND_MAX], off = 0;
    ydims[0] = xdims[0] = 1;
    for (int d = 0; d < y->rank; d++) ydims[d + b] = y->dims[d];
    for (int i = 0; i < n->nin; i++) {
        const Value *x = &g->values[n->in[i]];
        nnc_rt_nd p;
        for (int d = 0; d < x->rank; d++) xdims[d + b] = x->dims[d];
        concat_part(ydims, y->rank + b, xdims, axis, off, &p);
        off += xdims[axis];
        emit_line(e, "nnc_rt_copy_nd(%s, %s, %s);", emit_ptr(e, n->out[0]), emit_ptr(e, n->in[i]), emit_nd(e, n, &p));
    }
}

static void nd_concat_fold(const Fold *f) {
    long off = 0;
    for (int i = 0; i < f->nin; i++) {
        nnc_rt_nd p;
        concat_part(f->dims, f->rank, f->in_dims[i], f->a->axis, off, &p);
        off += f->in_dims[i][f->a->axis];
        nnc_rt_copy_nd(f->y, f->in[i], &p);
    }
}

const OpDef op_nd_concat = NDE(-1, nd_concat_emit, .fold = nd_concat_fold);
