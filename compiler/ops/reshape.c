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
const OpDef op_reshape = { .layer = 1, .ninputs = 1, .alias = 1, .attrs = reshape_attrs,
                           .nattrs = 1, .shape = reshape_layer_shape, .grad = reshape_grad, .emit = op_emit_nothing };
const OpDef op_linear = { .layer = 1, .ninputs = 1, .alias = 1, .shape = identity_shape,
                          .grad = identity_grad, .emit = op_emit_nothing };
const OpDef op_view = { .ninputs = 1, .alias = 1, .shape = view_shape, .grad = reshape_grad,
                        .emit = op_emit_nothing };
