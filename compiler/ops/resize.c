/* resize.c — nd_resize: ONNX Resize/Upsample along one axis as a table of
 * taps (runtime/resize.c), its gradient nd_resize_grad (the same taps
 * scattered backwards) and its compile-time evaluation.
 *
 * Inputs: x (outer, alen, inner), then the table: idx and w, ny rows of
 * `count` taps each, constants the importer computed from the node's
 * attributes (never trained).  attr.ny is the output extent along the axis;
 * the output is (outer, ny, inner).
 *
 * nd_grid_sample: ONNX GridSample on x (samples, c, h, w) at grid (samples,
 * ho, wo, 2), read at run time (runtime/grid_sample.c); no gradient yet. */
#include "ops/rules.h"

static void nd_resize_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_resize_axis(%s, %s, %s, %s, %s, %ld, %ld, %ld, %ld);", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), emit_ptr(e, n->in[2]), emit_per_n(e, n, n->attr.outer),
              n->attr.alen, n->attr.inner, n->attr.ny, n->attr.count);
}

static void nd_resize_fold(const Fold *f) {
    nnc_rt_resize_axis(f->y, f->in[0], f->in[1], f->in[2], f->a->outer, f->a->alen, f->a->inner, f->a->ny,
                       f->a->count);
}

/* dx = the taps' transpose applied to dy; the table itself has no gradient */
static void nd_resize_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    int in[3] = { dout[0], n.in[1], n.in[2] };
    din[0] = op_bwd(g, OP_ND_RESIZE_GRAD, in, 3, &n, n.in[0]);
}

/* a multiply-add per tap and output cell */
static long nd_resize_flops(const Graph *g, const Node *n) {
    return 2 * ir_size(&g->values[n->out[0]]) * (n->attr.count ? n->attr.count : 1);
}

const OpDef op_nd_resize = ND(3, nd_resize_emit, .grad = nd_resize_grad, .fold = nd_resize_fold,
                              .flops = nd_resize_flops);

static void nd_resize_grad_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_resize_axis_backward(%s, %s, %s, %s, %s, %ld, %ld, %ld, %ld);", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), emit_ptr(e, n->in[2]), emit_per_n(e, n, n->attr.outer),
              n->attr.alen, n->attr.inner, n->attr.ny, n->attr.count);
}

static long nd_resize_grad_flops(const Graph *g, const Node *n) {
    return 2 * ir_size(&g->values[n->in[0]]) * (n->attr.count ? n->attr.count : 1);
}

const OpDef op_nd_resize_grad = ND(3, nd_resize_grad_emit, .flops = nd_resize_grad_flops);

static void nd_grid_sample_emit(EmitCtx *e, const Node *n) {
    const int *d = n->attr.dims;
    emit_line(e, "nnc_rt_grid_sample(%s, %s, %s, %s, %ld, %d, %d, %d, %d, %d, %d, %d);", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), emit_per_n(e, n, n->attr.samples), n->attr.alen,
              d[0], d[1], d[2], d[3], n->attr.fn, n->attr.padding, n->attr.align_corners);
}

static void nd_grid_sample_fold(const Fold *f) {
    const int *d = f->a->dims;
    nnc_rt_grid_sample(f->y, f->in[0], f->in[1], f->a->samples, f->a->alen, d[0], d[1], d[2], d[3], f->a->fn,
                       f->a->padding, f->a->align_corners);
}

/* per output cell: 4, 1 or 16 taps of a multiply-add */
static long nd_grid_sample_flops(const Graph *g, const Node *n) {
    return 2 * ir_size(&g->values[n->out[0]]) * (n->attr.fn == NNC_RT_GRID_BICUBIC ? 16 : n->attr.fn ? 1 : 4);
}

const OpDef op_nd_grid_sample = ND(2, nd_grid_sample_emit, .fold = nd_grid_sample_fold,
                                   .flops = nd_grid_sample_flops);
