/* reshape.c — the reshape family: flatten, reshape, linear and the internal
 * view.  Each output aliases its input's storage (no copy, nothing
 * emitted); the gradient is a view of dY with the input's shape. */
#include "ops/rules.h"

static int flatten_shape(Graph *g, int node) {
    Value *x = op_in(g, node, 0);
    int d = (int)ir_size(x);
    op_make_out(g, node, x->batched, 1, &d);
    g->values[g->nodes[node].out[0]].alias_of = g->nodes[node].in[0];
    return 0;
}

/* view: the gradient of a reshape, its output created with its shape */
static int view_shape(Graph *g, int node) {
    Node *n = &g->nodes[node];
    assert(n->nout == 1 && ir_size(&g->values[n->out[0]]) == ir_size(op_in(g, node, 0)));
    g->values[n->out[0]].alias_of = n->in[0];
    return 0;
}

static int identity_shape(Graph *g, int node) {
    op_same_shape(g, node);
    g->values[g->nodes[node].out[0]].alias_of = g->nodes[node].in[0];
    return 0;
}

static void reshape_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    int v = op_bwd(g, OP_VIEW, dout, 1, &n, n.in[0]);
    view_shape(g, g->values[v].producer);
    din[0] = v;
}

static void identity_grad(Graph *g, int node, const int *dout, int *din) {
    (void)g; (void)node;
    din[0] = dout[0];
}

static void op_emit_nothing(EmitCtx *e, const Node *n) { (void)e; (void)n; }


/* ---- reshape(d1, d2, ...): a view with another per-sample shape ------------- */

static const AttrDef reshape_attrs[] = { { "shape", AT_DIMS, offsetof(Attrs, dims), NULL } };

static int reshape_layer_shape(Graph *g, int node) {
    Node *n = &g->nodes[node];
    Value *x = op_in(g, node, 0);
    int dims[IR_MAX_RANK], infer = -1;
    long known = 1, size = ir_size(x);
    char buf[96];
    for (int i = 0; i < n->attr.ndims; i++) {
        dims[i] = n->attr.dims[i];
        if (dims[i] == -1 && infer < 0) infer = i;
        else if (dims[i] <= 0) {
            diag_error(n->loc, "reshape dimensions are positive, with at most one -1 to infer");
            return -1;
        } else known *= dims[i];
    }
    if (infer >= 0 && known > 0 && size % known == 0) dims[infer] = (int)(size / known);
    if ((infer >= 0 && (known <= 0 || size % known)) || (infer < 0 && known != size)) {
        diag_error(n->loc, "cannot reshape %s: it has %ld values per sample, the new shape %s%ld",
                   ir_shape_str(x, buf, sizeof buf), size, infer >= 0 ? "a multiple of " : "", known);
        return -1;
    }
    op_make_out(g, node, 1, n->attr.ndims, dims);
    g->values[n->out[0]].alias_of = n->in[0];
    return 0;
}


const OpDef op_flatten = { .layer = 1, .ninputs = 1, .alias = 1, .shape = flatten_shape,
                           .grad = reshape_grad, .emit = op_emit_nothing };
/* ---- permute(dims): Keras' Permute, a sample's axes reordered ------------------
 * dims: the new order of the sample's axes, 1-based as Keras writes them
 * (the batch is axis 0 and stays); the gradient is the inverse permute */
static const AttrDef permute_attrs[] = { { "dims", AT_DIMS, offsetof(Attrs, dims), NULL } };

static int permute_shape(Graph *g, int node) {
    Node *n = &g->nodes[node];
    Value *x = op_in(g, node, 0);
    int seen[IR_MAX_RANK] = { 0 }, ok = n->attr.ndims == x->rank && x->batched, dims[IR_MAX_RANK];
    for (int i = 0; ok && i < n->attr.ndims; i++) {
        int a = n->attr.dims[i];
        ok = a >= 1 && a <= x->rank && !seen[a - 1];
        if (ok) seen[a - 1] = 1, dims[i] = x->dims[a - 1];
    }
    if (!ok) {
        char buf[96];
        diag_error(n->loc, "permute needs the numbers 1..%d once each (a sample's axes, as Keras counts them), "
                   "for its input %s", x->rank, ir_shape_str(x, buf, sizeof buf));
        return -1;
    }
    return op_make_out(g, node, 1, x->rank, dims);
}

static void permute_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    for (int i = 0; i < n.attr.ndims; i++) n.attr.dims[g->nodes[node].attr.dims[i] - 1] = i + 1;
    din[0] = op_bwd(g, OP_PERMUTE, dout, 1, &n, n.in[0]);
}

static void permute_emit(EmitCtx *e, const Node *n) {
    const Value *x = &emit_graph(e)->values[n->in[0]];
    char dims[128] = "", perm[128] = "";
    for (int i = 0; i < x->rank; i++) {
        size_t ld = strlen(dims), lp = strlen(perm);
        snprintf(dims + ld, sizeof dims - ld, "%s%d", i ? ", " : "", x->dims[i]);
        snprintf(perm + lp, sizeof perm - lp, "%s%d", i ? ", " : "", n->attr.dims[i] - 1);
    }
    emit_line(e, "nnc_rt_permute(%s, %s, n, %d, (const int[]){ %s }, (const int[]){ %s });",
              emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), x->rank, dims, perm);
}

static void permute_fold(const Fold *f) {
    int perm[IR_MAX_RANK], dims[IR_MAX_RANK];
    long size = 1;
    for (int i = 0; i < f->in_rank[0]; i++) {
        perm[i] = f->a->dims[i] - 1;
        dims[i] = (int)f->in_dims[0][i];
        size *= dims[i];
    }
    nnc_rt_permute(f->y, f->in[0], size ? f->ny / size : 0, f->in_rank[0], dims, perm);
}

const OpDef op_permute = { .rt = RT_TENSOR, .layer = 1, .ninputs = 1, .attrs = permute_attrs, .nattrs = 1,
                           .shape = permute_shape, .grad = permute_grad, .emit = permute_emit,
                           .fold = permute_fold };
/* ---- repeat_vector(n): Keras' RepeatVector, (batch, f) -> (batch, n, f) ------- */
static const AttrDef repeat_attrs[] = { { "n", AT_INT, offsetof(Attrs, units), NULL } };

static int repeat_shape(Graph *g, int node) {
    Node *n = &g->nodes[node];
    Value *x = op_in(g, node, 0);
    if (x->rank != 1 || !x->batched || n->attr.units < 1) {
        char buf[96];
        diag_error(n->loc, "repeat_vector takes (n, features) and a positive count, got %s and %d",
                   ir_shape_str(x, buf, sizeof buf), n->attr.units);
        return -1;
    }
    int dims[2] = { n->attr.units, x->dims[0] };
    return op_make_out(g, node, 1, 2, dims);
}

static void repeat_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    din[0] = op_bwd(g, OP_REPEAT_GRAD, dout, 1, &n, n.in[0]);
}

static void repeat_emit(EmitCtx *e, const Node *n) {
    const Value *x = &emit_graph(e)->values[n->in[0]];
    emit_line(e, "nnc_rt_repeat(%s, %s, n, %d, %d);", emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]),
              n->attr.units, x->dims[0]);
}

static void repeat_grad_emit(EmitCtx *e, const Node *n) {
    const Value *dx = &emit_graph(e)->values[n->out[0]];
    emit_line(e, "nnc_rt_repeat_backward(%s, %s, n, %d, %d);", emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]),
              n->attr.units, dx->dims[0]);
}

static void repeat_fold(const Fold *f) {
    long features = f->in_dims[0][0];
    nnc_rt_repeat(f->y, f->in[0], features ? f->ny / (features * f->a->units) : 0, f->a->units, (int)features);
}

const OpDef op_repeat_vector = { .rt = RT_TENSOR, .layer = 1, .ninputs = 1, .attrs = repeat_attrs, .nattrs = 1,
                                 .shape = repeat_shape, .grad = repeat_grad, .emit = repeat_emit,
                                 .fold = repeat_fold };
const OpDef op_repeat_grad = INTERNAL(RT_TENSOR, 1, op_no_shape, repeat_grad_emit);
const OpDef op_reshape = { .layer = 1, .ninputs = 1, .alias = 1, .attrs = reshape_attrs,
                           .nattrs = 1, .shape = reshape_layer_shape, .grad = reshape_grad, .emit = op_emit_nothing };
const OpDef op_linear = { .layer = 1, .ninputs = 1, .alias = 1, .shape = identity_shape,
                          .grad = identity_grad, .emit = op_emit_nothing };
const OpDef op_view = { .ninputs = 1, .alias = 1, .shape = view_shape, .grad = reshape_grad,
                        .emit = op_emit_nothing };
