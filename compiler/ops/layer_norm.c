/* layer_norm.c — layer_normalization (Keras LayerNormalization): every
 * sample's last axis normalised by its own mean and biased variance, then
 * scaled by gamma and shifted by beta (trainable, one per feature), the same
 * while training and at inference; and its gradient node.
 *
 * Only the last axis (Keras' default axis = -1): normalising over other or
 * several axes would need strided statistics, and is refused by name.  The
 * forward node saves each row's mean and 1/sqrt(var + eps) for the backward
 * node, which gives dgamma, dbeta and dx in one pass per row. */
#include <stdio.h>
#include "ops/rules.h"

static const AttrDef ln_attrs[] = {
    { "axis", AT_AXIS, offsetof(Attrs, axis), "-1" },
    { "epsilon", AT_FLOAT, offsetof(Attrs, epsilon), "0.001" },
    { "center", AT_BOOL, offsetof(Attrs, center), "true" },
    { "scale", AT_BOOL, offsetof(Attrs, scale), "true" },
    { "beta_initializer", AT_INIT, offsetof(Attrs, bias_init), "zeros" },
    { "gamma_initializer", AT_INIT, offsetof(Attrs, kernel_init), "ones" },
    { "beta_regularizer", AT_REG, offsetof(Attrs, bias_l1), "none" },
    { "gamma_regularizer", AT_REG, offsetof(Attrs, kernel_l1), "none" },
};

/* the rows of a sample: everything but the last axis */
static int ln_rows(const Value *x) { return (int)(ir_size(x) / (op_last_dim(x) ? op_last_dim(x) : 1)); }

static int ln_shape(Graph *g, int node) {
    Node *n = &g->nodes[node];
    Value *x = op_in(g, node, 0);
    char buf[96];
    if (!x->batched || x->rank < 1) {
        diag_error(n->loc, "layer_normalization expects a batch of samples, got %s",
                   ir_shape_str(x, buf, sizeof buf));
        return -1;
    }
    if (n->attr.axis != -1 && n->attr.axis != x->rank) {
        diag_error(n->loc, "layer_normalization normalises the last axis only (axis = -1 or %d for input %s), "
                   "got axis = %d", x->rank, ir_shape_str(x, buf, sizeof buf), n->attr.axis);
        return -1;
    }
    if (!(n->attr.epsilon > 0)) {
        diag_error(n->loc, "layer_normalization needs epsilon > 0, got %g", n->attr.epsilon);
        return -1;
    }
    int rows = ln_rows(x);
    op_same_shape(g, node);
    op_extra_out(g, node, 1, "mean", 1, 1, &rows);
    op_extra_out(g, node, 2, "invstd", 1, 1, &rows);
    return 0;
}

/* inputs: x, then gamma if scale, then beta if center */
static void ln_params(Graph *g, int node) {
    Node *n = &g->nodes[node];
    int c = (int)op_last_dim(op_in(g, node, 0));
    Attrs a = n->attr;
    if (a.scale) op_new_param(g, node, "gamma", 1, &c, a.kernel_init, c, c, a.kernel_l1, a.kernel_l2);
    if (a.center) op_new_param(g, node, "beta", 1, &c, a.bias_init, c, c, a.bias_l1, a.bias_l2);
}

/* a gradient output of backward node b shaped and named after value `like` */
static int grad_out(Graph *g, int b, int like) {
    Value lv = g->values[like];
    char name[IR_NAME];
    ir_format_name(name, "d%s", lv.name);
    int v = ir_value(g, name, ROLE_GRAD, lv.batched, lv.rank, lv.dims);
    g->values[v].loc = g->nodes[b].loc;
    ir_add_output(g, b, v);
    return v;
}

/* one node: inputs dy, x, mean, invstd[, gamma]; outputs [dgamma][dbeta][dx] */
static void ln_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    int scale = n.attr.scale, center = n.attr.center, wants_dx = g->values[n.in[0]].requires_grad;
    int in[5] = { dout[0], n.in[0], n.out[1], n.out[2], scale ? n.in[1] : -1 };
    int b = ir_node(g, OP_LAYER_NORM_GRAD, in, scale ? 5 : 4, n.loc);
    g->nodes[b].phase = PH_BACKWARD;
    g->nodes[b].attr = n.attr;
    if (scale) din[1] = grad_out(g, b, n.in[1]);
    if (center) din[1 + scale] = grad_out(g, b, n.in[1 + scale]);
    if (wants_dx) din[0] = grad_out(g, b, n.in[0]);
    if (g->nodes[b].nout == 0) g->nodes[b].dead = 1;   /* nothing wanted (never: a layer has grads or dx) */
}

static long ln_flops(const Graph *g, const Node *n) { return 8 * ir_size(&g->values[n->out[0]]); }

static void ln_emit(EmitCtx *e, const Node *n) {
    const Graph *g = emit_graph(e);
    int scale = n->attr.scale, center = n->attr.center;
    emit_line(e, "nnc_rt_layernorm_forward(%s, %s, %s, %s, %s, %s, %s, %ld, %s); /* %s */",
              emit_ptr(e, n->out[0]), emit_ptr(e, n->out[1]), emit_ptr(e, n->out[2]), emit_ptr(e, n->in[0]),
              scale ? emit_ptr(e, n->in[1]) : "NULL", center ? emit_ptr(e, n->in[1 + scale]) : "NULL",
              emit_rows(e, n->in[0]), emit_cols(g, n->in[0]), emit_float(e, n->attr.epsilon), n->layer);
}

static void ln_grad_emit(EmitCtx *e, const Node *n) {
    const Graph *g = emit_graph(e);
    int scale = n->attr.scale, center = n->attr.center, k = 0;
    const char *dgamma = scale ? emit_ptr(e, n->out[k++]) : "NULL";
    const char *dbeta = center ? emit_ptr(e, n->out[k++]) : "NULL";
    const char *dx = n->nout > k ? emit_ptr(e, n->out[k]) : "NULL";
    emit_line(e, "nnc_rt_layernorm_backward(%s, %s, %s, %s, %s, %s, %s, %s, %s, %ld);", dx, dgamma, dbeta,
              emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), emit_ptr(e, n->in[2]), emit_ptr(e, n->in[3]),
              scale ? emit_ptr(e, n->in[4]) : "NULL", emit_rows(e, n->in[1]), emit_cols(g, n->in[1]));
}

const OpDef op_layer_normalization = { .rt = RT_NORM, .layer = 1, .ninputs = 1, .attrs = ln_attrs,
                                       .nattrs = COUNT(ln_attrs), .shape = ln_shape, .params = ln_params,
                                       .grad = ln_grad, .flops = ln_flops, .emit = ln_emit };
const OpDef op_layer_norm_grad = INTERNAL(RT_NORM, 4, op_no_shape, ln_grad_emit);
