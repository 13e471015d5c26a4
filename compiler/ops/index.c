/* index.c — the indexing ops whose positions are run-time data
 * (runtime/index.c): ScatterElements, ScatterND, GatherND and TopK, built
 * by the ONNX importer, and the backward ops of the differentiable ones.
 *
 * Decisions:
 *  - TopK's two outputs are two nodes (values, indices) of one op: each has
 *    one output, so the importer's folding and the planner treat them as any
 *    other node; the values' gradient computes the positions again (a
 *    TopK of the indices in the backward pass) instead of keeping them alive.
 *  - Gradients: ScatterElements wrt data and updates (reduction none or add;
 *    with none, ONNX leaves duplicate indices undefined and the gradient
 *    assumes there are none), GatherND wrt data, TopK's values wrt input.
 *    TopK's indices are piecewise constant: no contribution.  ScatterND has
 *    no gradient rule, so autodiff refuses to train through it, naming it.
 *  - These nodes are never per sample (passes/batch.c does not know them):
 *    a graph using them is compiled whole, so attributes are whole counts.
 */
#include "ops/rules.h"

static long idx_cells(const Graph *g, const Node *n) { return ir_size(&g->values[n->out[0]]); }

#define IDX(nin, em, ...) ND(nin, em, .flops = idx_cells, __VA_ARGS__)

/* ---- nd_scatter: ScatterElements -------------------------------------------------
 * attr.nd: the space of the indices, ys data's strides, as the indices' and
 * updates'; attr.axis, attr.alen: the axis and its extent in data; attr.ny:
 * data's elements; attr.fn: the reduction.  Two inputs (data, indices): zeros
 * written at the indices (the gradient wrt data). */

static void nd_scatter_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_scatter_elements(%s, %s, %s, %s, %s, %d, %ld, %ld, %d);", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), n->nin > 2 ? emit_ptr(e, n->in[2]) : "NULL",
              emit_nd(e, n, &n->attr.nd), n->attr.axis, n->attr.alen, n->attr.ny, n->attr.fn);
}

static void nd_scatter_fold(const Fold *f) {
    nnc_rt_scatter_elements(f->y, f->in[0], f->in[1], f->nin > 2 ? f->in[2] : NULL, &f->a->nd, f->a->axis,
                            f->a->alen, f->a->ny, f->a->fn);
}

static void nd_scatter_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    if (n.nin < 3 || (n.attr.fn != NNC_RT_SCATTER_NONE && n.attr.fn != NNC_RT_SCATTER_ADD)) {
        diag_error(n.loc, "training through ScatterElements '%s' with reduction %s is not supported (only none and add "
                   "have a gradient here)", n.layer, n.attr.fn == NNC_RT_SCATTER_MUL ? "mul" :
                   n.attr.fn == NNC_RT_SCATTER_MAX ? "max" : "min");
        return;
    }
    if (g->values[n.in[0]].requires_grad) {
        if (n.attr.fn == NNC_RT_SCATTER_ADD) {
            din[0] = dout[0];
        } else {    /* what the updates overwrote gets none */
            int in[2] = { dout[0], n.in[1] };
            din[0] = op_bwd(g, OP_ND_SCATTER, in, 2, &n, n.in[0]);
        }
    }
    if (g->values[n.in[2]].requires_grad) {
        int in[2] = { dout[0], n.in[1] };
        din[2] = op_bwd(g, OP_ND_GATHER_ELEM, in, 2, &n, n.in[2]);
    }
}

const OpDef op_nd_scatter = IDX(-1, nd_scatter_emit, .grad = nd_scatter_grad, .fold = nd_scatter_fold);

/* ---- nd_gather_elem: ScatterElements' transpose (the gradient wrt updates) -------
 * the attributes of the scatter: y (shaped as the indices) = x at them */

static void nd_gather_elem_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_gather_elements_nd(%s, %s, %s, %s, %d, %ld);", emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]),
              emit_ptr(e, n->in[1]), emit_nd(e, n, &n->attr.nd), n->attr.axis, n->attr.alen);
}

static void nd_gather_elem_fold(const Fold *f) {
    nnc_rt_gather_elements_nd(f->y, f->in[0], f->in[1], &f->a->nd, f->a->axis, f->a->alen);
}

const OpDef op_nd_gather_elem = IDX(2, nd_gather_elem_emit, .fold = nd_gather_elem_fold);

/* ---- nd_scatter_nd: ScatterND ----------------------------------------------------
 * attr.nd: rank k, dims and strides of data's first k axes; attr.ny: index
 * tuples; attr.count: floats per slice; attr.alen: data's elements;
 * attr.fn: the reduction */

static void nd_scatter_nd_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_scatter_nd(%s, %s, %s, %s, %s, %ld, %ld, %ld, %d);", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), emit_ptr(e, n->in[2]), emit_nd(e, n, &n->attr.nd),
              n->attr.ny, n->attr.count, n->attr.alen, n->attr.fn);
}

static void nd_scatter_nd_fold(const Fold *f) {
    nnc_rt_scatter_nd(f->y, f->in[0], f->in[1], f->in[2], &f->a->nd, f->a->ny, f->a->count, f->a->alen, f->a->fn);
}

const OpDef op_nd_scatter_nd = IDX(3, nd_scatter_nd_emit, .fold = nd_scatter_nd_fold);

/* ---- nd_gather_nd: GatherND ------------------------------------------------------
 * attr.nd: rank k, dims and strides of data's k indexed axes (after the
 * batch axes); attr.outer: batches; attr.ny: tuples per batch; attr.count:
 * floats per slice; attr.inner: data's floats per batch */

static void nd_gather_nd_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_gather_nd(%s, %s, %s, %s, %ld, %ld, %ld, %ld);", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), emit_nd(e, n, &n->attr.nd), n->attr.outer, n->attr.ny,
              n->attr.count, n->attr.inner);
}

static void nd_gather_nd_fold(const Fold *f) {
    nnc_rt_gather_nd(f->y, f->in[0], f->in[1], &f->a->nd, f->a->outer, f->a->ny, f->a->count, f->a->inner);
}

/* each slice's gradient added back where it was read */
static void nd_gather_nd_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    if (!g->values[n.in[0]].requires_grad) return;
    int in[2] = { dout[0], n.in[1] };
    din[0] = op_bwd(g, OP_ND_GATHER_ND_GRAD, in, 2, &n, n.in[0]);
}

const OpDef op_nd_gather_nd = IDX(2, nd_gather_nd_emit, .grad = nd_gather_nd_grad, .fold = nd_gather_nd_fold);

static void nd_gather_nd_grad_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_gather_nd_backward(%s, %s, %s, %s, %ld, %ld, %ld, %ld);", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), emit_nd(e, n, &n->attr.nd), n->attr.outer, n->attr.ny,
              n->attr.count, n->attr.inner);
}

static void nd_gather_nd_grad_fold(const Fold *f) {
    nnc_rt_gather_nd_backward(f->y, f->in[0], f->in[1], &f->a->nd, f->a->outer, f->a->ny, f->a->count,
                              f->a->inner);
}

const OpDef op_nd_gather_nd_grad = IDX(2, nd_gather_nd_grad_emit, .fold = nd_gather_nd_grad_fold);

/* ---- nd_topk: TopK's values (attr.fn bit 1 clear) or indices (set) ----------------
 * along the axis of x (attr.outer, alen, inner); attr.count: k; attr.fn
 * bit 0: largest */

#define TOPK_LARGEST(n) ((n)->attr.fn & 1)
#define TOPK_INDICES(n) (((n)->attr.fn >> 1) & 1)

static void nd_topk_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_topk(%s, %s, %ld, %ld, %ld, %ld, %d, %d);", emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]),
              n->attr.outer, n->attr.alen, n->attr.inner, n->attr.count, TOPK_LARGEST(n), TOPK_INDICES(n));
}

static void nd_topk_fold(const Fold *f) {
    nnc_rt_topk(f->y, f->in[0], f->a->outer, f->a->alen, f->a->inner, f->a->count, f->a->fn & 1, (f->a->fn >> 1) & 1);
}

/* the values' gradient goes back to their positions, computed again by a
 * TopK of the indices; the indices are constant almost everywhere */
static void nd_topk_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    if (TOPK_INDICES(&n)) return;
    n.attr.fn |= 2;
    int pos = op_bwd(g, OP_ND_TOPK, &n.in[0], 1, &n, n.out[0]);
    int in[2] = { dout[0], pos };
    din[0] = op_bwd(g, OP_ND_TOPK_GRAD, in, 2, &n, n.in[0]);
}

const OpDef op_nd_topk = IDX(1, nd_topk_emit, .grad = nd_topk_grad, .fold = nd_topk_fold);

static void nd_topk_grad_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_topk_backward(%s, %s, %s, %ld, %ld, %ld, %ld);", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), n->attr.outer, n->attr.alen, n->attr.inner, n->attr.count);
}

static void nd_topk_grad_fold(const Fold *f) {
    nnc_rt_topk_backward(f->y, f->in[0], f->in[1], f->a->outer, f->a->alen, f->a->inner, f->a->count);
}

const OpDef op_nd_topk_grad = IDX(2, nd_topk_grad_emit, .fold = nd_topk_grad_fold);
