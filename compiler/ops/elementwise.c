/* elementwise.c — the .nn element-wise layers on operands of one shape
 * (add, multiply, subtract, average, maximum, minimum: Keras' merging
 * layers) and concat along an axis, with their gradient nodes.
 * The imported, broadcasting versions are the N-d family's (ops/nd.c). */
#include "ops/rules.h"

/* ---- add: y = a + b (residuals; also sums gradient contributions) ----------- */

/* add and multiply: element-wise on operands of one shape */
static int elementwise_shape(Graph *g, int node) {
    Value *a = op_in(g, node, 0), *b = op_in(g, node, 1);
    if (!op_shapes_equal(a, b)) {
        char ba[96], bb[96];
        diag_error(g->nodes[node].loc, "%s needs operands of the same shape, got %s and %s",
                   op_name(g->nodes[node].op), ir_shape_str(a, ba, sizeof ba),
                   ir_shape_str(b, bb, sizeof bb));
        return -1;
    }
    return op_same_shape(g, node);
}

static void add_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    if (g->values[n.in[0]].requires_grad) din[0] = dout[0];
    if (g->values[n.in[1]].requires_grad) din[1] = dout[0];
}

static long add_flops(const Graph *g, const Node *n) { return ir_size(&g->values[n->out[0]]); }

static void add_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_add(%s, %s, %s, %s);", emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]),
              emit_ptr(e, n->in[1]), emit_count(e, n->out[0]));
}

static void add_fold(const Fold *f) { nnc_rt_add(f->y, f->in[0], f->in[1], f->ny); }

/* ---- multiply: y = a * b ----------------------------------------------------- */

static void multiply_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    int mul = OP_MULTIPLY;
    for (int i = 0; i < 2; i++)
        if (g->values[n.in[i]].requires_grad) {
            int in[2] = { dout[0], n.in[1 - i] };
            din[i] = op_bwd(g, mul, in, 2, &n, n.in[i]);
        }
}

static void multiply_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_mul(%s, %s, %s, %s);", emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]),
              emit_ptr(e, n->in[1]), emit_count(e, n->out[0]));
}

/* ---- subtract, average: y = a - b, (a + b) / 2 --------------------------------- */

/* y = alpha x (internal: subtract's and average's gradients) */
static void scale_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_scale(%s, %s, %s, %s);", emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]),
              emit_float(e, n->attr.alpha), emit_count(e, n->out[0]));
}

static int scale_by(Graph *g, const Node *n, int dy, float alpha, int like) {
    Node from = *n;
    from.attr.alpha = alpha;
    return op_bwd(g, OP_SCALE, &dy, 1, &from, like);
}

static void subtract_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    if (g->values[n.in[0]].requires_grad) din[0] = dout[0];
    if (g->values[n.in[1]].requires_grad) din[1] = scale_by(g, &n, dout[0], -1.0f, n.in[1]);
}

static void subtract_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_sub(%s, %s, %s, %s);", emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]),
              emit_ptr(e, n->in[1]), emit_count(e, n->out[0]));
}

static void subtract_fold(const Fold *f) { nnc_rt_sub(f->y, f->in[0], f->in[1], f->ny); }

static void average_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    int half = -1;
    for (int i = 0; i < 2; i++)
        if (g->values[n.in[i]].requires_grad) {
            if (half < 0) half = scale_by(g, &n, dout[0], 0.5f, n.in[i]);
            din[i] = half;
        }
}

static void average_emit(EmitCtx *e, const Node *n) {
    add_emit(e, n);
    emit_line(e, "nnc_rt_scale(%s, %s, 0.5f, %s);", emit_ptr(e, n->out[0]), emit_ptr(e, n->out[0]),
              emit_count(e, n->out[0]));
}

static void average_fold(const Fold *f) {
    nnc_rt_add(f->y, f->in[0], f->in[1], f->ny);
    nnc_rt_scale(f->y, f->y, 0.5f, f->ny);
}

/* ---- maximum, minimum: the larger (smaller) of a and b, a on ties ------------- */

/* the gradient node of operand attr.axis (0: a, 1: b) from (dy, a, b);
 * attr.alpha 1: maximum, 0: minimum */
static void minmax_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    n.attr.alpha = n.op == OP_MAXIMUM;
    for (int i = 0; i < 2; i++)
        if (g->values[n.in[i]].requires_grad) {
            int in[3] = { dout[0], n.in[0], n.in[1] };
            n.attr.axis = i;
            din[i] = op_bwd(g, OP_MINMAX_GRAD, in, 3, &n, n.in[i]);
        }
}

static void minmax_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_%s(%s, %s, %s, %s);", n->op == OP_MAXIMUM ? "max" : "min", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), emit_count(e, n->out[0]));
}

static void minmax_fold(const Fold *f) {
    (f->op == OP_MAXIMUM ? nnc_rt_max : nnc_rt_min)(f->y, f->in[0], f->in[1], f->ny);
}

static void minmax_grad_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_minmax_backward(%s, %s, %s, %s, %s, %d, %d);", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), emit_ptr(e, n->in[2]), emit_count(e, n->out[0]),
              n->attr.alpha != 0.0f, n->attr.axis == 0);
}

/* ---- concat(a, b, ..., axis): joined along one axis ------------------------- */

/* axis as Keras counts it (the batch is 0): nnc's attr.axis counts a sample's */
static const AttrDef concat_attrs[] = { { "axis", AT_BATCH_AXIS, offsetof(Attrs, axis), "-1" } };

static int concat_shape(Graph *g, int node) {
    Node *n = &g->nodes[node];
    Value *a = op_in(g, node, 0);
    int axis = n->attr.axis < 0 ? n->attr.axis + a->rank : n->attr.axis;
    if (axis < 0 || axis >= a->rank) {
        diag_error(n->loc, "concat axis %d is out of range for operands of rank %d (with the batch, axes 1..%d)",
                   n->attr.axis >= 0 ? n->attr.axis + 1 : n->attr.axis, a->rank + 1, a->rank);
        return -1;
    }
    int dims[IR_MAX_RANK];
    memcpy(dims, a->dims, sizeof dims);
    dims[axis] = 0;
    for (int i = 0; i < n->nin; i++) {
        Value *b = op_in(g, node, i);
        int same = b->rank == a->rank;
        for (int d = 0; same && d < a->rank; d++) same = d == axis || b->dims[d] == a->dims[d];
        if (!same) {
            char ba[96], bb[96];
            diag_error(n->loc, "concat along axis %d needs operands that agree on the other axes, "
                       "got %s and %s", n->attr.axis >= 0 ? n->attr.axis + 1 : n->attr.axis, ir_shape_str(a, ba, sizeof ba),
                       ir_shape_str(b, bb, sizeof bb));
            return -1;
        }
        dims[axis] += b->dims[axis];
    }
    n->attr.axis = axis;
    return op_make_out(g, node, 1, a->rank, dims);
}

/* the 2-D view of a concat operand: rows before the axis, its columns from the axis on */
static void concat_view(const Value *v, int axis, long *outer, long *width) {
    *outer = 1;
    *width = 1;
    for (int d = 0; d < v->rank; d++) {
        if (d < axis) *outer *= v->dims[d];
        else *width *= v->dims[d];
    }
}

static void concat_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    long offset = 0, outer, width, total;
    concat_view(&g->values[n.out[0]], n.attr.axis, &outer, &total);
    for (int i = 0; i < n.nin; i++) {
        concat_view(&g->values[n.in[i]], n.attr.axis, &outer, &width);
        if (g->values[n.in[i]].requires_grad) {
            n.attr.offset = offset;
            n.attr.width = width;
            n.attr.total = total;
            din[i] = op_bwd(g, OP_CONCAT_GRAD, dout, 1, &n, n.in[i]);
        }
        offset += width;
    }
}

static void concat_emit(EmitCtx *e, const Node *n) {
    const Graph *g = emit_graph(e);
    long offset = 0, outer, width, total;
    concat_view(&g->values[n->out[0]], n->attr.axis, &outer, &total);
    for (int i = 0; i < n->nin; i++) {
        concat_view(&g->values[n->in[i]], n->attr.axis, &outer, &width);
        emit_line(e, "nnc_rt_concat_forward(%s, %s, (long)n * %ld, %ld, %ld, %ld);",
                  emit_ptr(e, n->out[0]), emit_ptr(e, n->in[i]), outer, width, offset, total);
        offset += width;
    }
}

/* at build time (calibration): dims are per sample, ny covers the samples */
static void concat_fold(const Fold *f) {
    long outer = 1, total = 1, offset = 0, per = 1;
    for (int d = 0; d < f->rank; d++) {
        per *= f->dims[d];
        if (d < f->a->axis) outer *= f->dims[d];
        else total *= f->dims[d];
    }
    long samples = per ? f->ny / per : 0;
    for (int i = 0; i < f->nin; i++) {
        long size = 1;
        for (int d = 0; d < f->in_rank[i]; d++) size *= f->in_dims[i][d];
        nnc_rt_concat_forward(f->y, f->in[i], outer * samples, size / outer, offset, total);
        offset += size / outer;
    }
}

static void concat_grad_emit(EmitCtx *e, const Node *n) {
    long outer, width;
    concat_view(&emit_graph(e)->values[n->out[0]], n->attr.axis, &outer, &width);
    emit_line(e, "nnc_rt_concat_backward(%s, %s, (long)n * %ld, %ld, %ld, %ld);",
              emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), outer, n->attr.width,
              n->attr.offset, n->attr.total);
}


const OpDef op_add = { .rt = RT_TENSOR, .layer = 1, .ninputs = 2, .inplace = 1,
                       .shape = elementwise_shape, .grad = add_grad, .flops = add_flops, .emit = add_emit,
                       .fold = add_fold };
const OpDef op_multiply = { .rt = RT_TENSOR, .layer = 1, .ninputs = 2, .inplace = 1,
                            .shape = elementwise_shape, .grad = multiply_grad, .flops = add_flops,
                            .emit = multiply_emit };
const OpDef op_subtract = { .rt = RT_TENSOR, .layer = 1, .ninputs = 2, .inplace = 1,
                            .shape = elementwise_shape, .grad = subtract_grad, .flops = add_flops,
                            .emit = subtract_emit, .fold = subtract_fold };
const OpDef op_average = { .rt = RT_TENSOR, .layer = 1, .ninputs = 2, .inplace = 1,
                           .shape = elementwise_shape, .grad = average_grad, .flops = add_flops,
                           .emit = average_emit, .fold = average_fold };
const OpDef op_maximum = { .rt = RT_TENSOR, .layer = 1, .ninputs = 2,
                           .shape = elementwise_shape, .grad = minmax_grad, .flops = add_flops,
                           .emit = minmax_emit, .fold = minmax_fold };
const OpDef op_minimum = { .rt = RT_TENSOR, .layer = 1, .ninputs = 2,
                           .shape = elementwise_shape, .grad = minmax_grad, .flops = add_flops,
                           .emit = minmax_emit, .fold = minmax_fold };
const OpDef op_scale = INTERNAL(RT_TENSOR, 1, op_no_shape, scale_emit);
const OpDef op_minmax_grad = INTERNAL(RT_TENSOR, 3, op_no_shape, minmax_grad_emit);
const OpDef op_concat = { .rt = RT_TENSOR, .layer = 1, .ninputs = -1, .attrs = concat_attrs,
                          .nattrs = 1, .shape = concat_shape, .grad = concat_grad, .emit = concat_emit,
                          .fold = concat_fold };
const OpDef op_concat_grad = INTERNAL(RT_TENSOR, 1, op_no_shape, concat_grad_emit);
