/* norm.c — the layers that behave differently while training:
 * batch_norm (batch statistics, moving averages as state) with its
 * gradient node, and dropout (an inverted mask while training, identity
 * otherwise). */
#include "ops/rules.h"

/* ---- batch_norm: over the last axis; batch statistics while training ---------- */

static const AttrDef bn_attrs[] = {
    { "momentum", AT_FLOAT, offsetof(Attrs, momentum), "0.99" },
    { "epsilon", AT_FLOAT, offsetof(Attrs, epsilon), "0.001" },
};

static int bn_shape(Graph *g, int node) {
    Node *n = &g->nodes[node];
    Value *x = op_in(g, node, 0);
    if (n->attr.momentum < 0 || n->attr.momentum >= 1 || n->attr.epsilon <= 0) {
        diag_error(n->loc, "batch_norm needs 0 <= momentum < 1 and epsilon > 0");
        return -1;
    }
    int c = (int)op_last_dim(x);
    op_same_shape(g, node);
    op_extra_out(g, node, 1, "mean", 0, 1, &c);
    op_extra_out(g, node, 2, "invstd", 0, 1, &c);
    return 0;
}

static void bn_params(Graph *g, int node) {
    int c = (int)op_last_dim(op_in(g, node, 0));
    op_new_param(g, node, "gamma", 1, &c, NNC_RT_INIT_ONES, 0, 0, 0, 0);
    op_new_param(g, node, "beta", 1, &c, NNC_RT_INIT_ZEROS, 0, 0, 0, 0);
    /* new_param may move g->values: index only after it returns */
    int mean = op_new_param(g, node, "moving_mean", 1, &c, NNC_RT_INIT_ZEROS, 0, 0, 0, 0);
    g->values[mean].trainable = 0;
    g->values[mean].state = 1;
    int var = op_new_param(g, node, "moving_variance", 1, &c, NNC_RT_INIT_ONES, 0, 0, 0, 0);
    g->values[var].trainable = 0;
    g->values[var].state = 1;
}

/* one node gives dgamma, dbeta and (when wanted) dx from the saved statistics */
static void bn_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    int in[5] = { dout[0], n.in[0], n.out[1], n.out[2], n.in[1] };
    din[1] = op_bwd(g, OP_BATCH_NORM_GRAD, in, 5, &n, n.in[1]);
    int b = g->nnodes - 1;
    din[2] = op_extra_out(g, b, 1, "beta", 0, 1, g->values[n.in[2]].dims);
    if (g->values[n.in[0]].requires_grad) {
        const Value *x = &g->values[n.in[0]];
        din[0] = op_extra_out(g, b, 2, "x", 1, x->rank, x->dims);
    }
    /* name the outputs for what they are */
    for (int i = 0; i < 3; i += 2) {
        char name[IR_NAME];
        ir_format_name(name, "d%s", g->values[n.in[i]].name);
        if (din[i] >= 0) memcpy(g->values[din[i]].name, name, sizeof name);
    }
}

static long bn_flops(const Graph *g, const Node *n) { return 2 * ir_size(&g->values[n->out[0]]); }

static void bn_emit(EmitCtx *e, const Node *n) {
    const Graph *g = emit_graph(e);
    long c = op_last_dim(&g->values[n->in[0]]);
    if (emit_training(e))
        emit_line(e, "nnc_rt_batchnorm_forward_train(%s, %s, %s, %s, %s, %s, %s, %s, %s, %ld, %s, %s); /* %s */",
                  emit_ptr(e, n->out[0]), emit_ptr(e, n->out[1]), emit_ptr(e, n->out[2]),
                  emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), emit_ptr(e, n->in[2]),
                  emit_ptr(e, n->in[3]), emit_ptr(e, n->in[4]), emit_rows(e, n->in[0]), c,
                  emit_float(e, n->attr.momentum), emit_float(e, n->attr.epsilon), n->layer);
    else
        emit_line(e, "nnc_rt_batchnorm_forward_infer(%s, %s, %s, %s, %s, %s, %s, %ld, %s); /* %s */",
                  emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]),
                  emit_ptr(e, n->in[2]), emit_ptr(e, n->in[3]), emit_ptr(e, n->in[4]),
                  emit_rows(e, n->in[0]), c, emit_float(e, n->attr.epsilon), n->layer);
}

/* at build time (calibration): inference, the moving statistics */
static void bn_fold(const Fold *f) {
    long c = f->rank ? f->dims[f->rank - 1] : 1;
    nnc_rt_batchnorm_forward_infer(f->y, f->in[0], f->in[1], f->in[2], f->in[3], f->in[4], c ? f->ny / c : 0, (int)c,
                                   f->a->epsilon);
}

static void bn_grad_emit(EmitCtx *e, const Node *n) {
    const Graph *g = emit_graph(e);
    emit_line(e, "nnc_rt_batchnorm_backward(%s, %s, %s, %s, %s, %s, %s, %s, %s, %ld);",
              n->nout > 2 ? emit_ptr(e, n->out[2]) : "NULL", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->out[1]), emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]),
              emit_ptr(e, n->in[2]), emit_ptr(e, n->in[3]), emit_ptr(e, n->in[4]),
              emit_rows(e, n->in[1]), op_last_dim(&g->values[n->in[1]]));
}

/* ---- dropout(rate): inverted dropout while training, identity otherwise ------- */

static const AttrDef dropout_attrs[] = { { "rate", AT_FLOAT, offsetof(Attrs, rate), NULL } };

static int dropout_shape(Graph *g, int node) {
    Node *n = &g->nodes[node];
    if (n->attr.rate < 0 || n->attr.rate >= 1) {
        diag_error(n->loc, "dropout rate must be in [0, 1), got %g", n->attr.rate);
        return -1;
    }
    op_same_shape(g, node);
    const Value *y = &g->values[g->nodes[node].out[0]];
    op_extra_out(g, node, 1, "mask", 1, y->rank, y->dims);
    return 0;
}

static void dropout_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    int in[2] = { dout[0], n.out[1] };
    din[0] = op_bwd(g, OP_MULTIPLY, in, 2, &n, n.in[0]);
}

static void dropout_fold(const Fold *f) { nnc_rt_copy(f->y, f->in[0], f->ny); }   /* inference: the identity */

static void dropout_emit(EmitCtx *e, const Node *n) {
    if (emit_training(e))
        emit_line(e, "nnc_rt_dropout_forward(%s, %s, %s, %s, %s, &m->rng);", emit_ptr(e, n->out[0]),
                  emit_ptr(e, n->out[1]), emit_ptr(e, n->in[0]), emit_count(e, n->in[0]),
                  emit_float(e, n->attr.rate));
    else
        emit_line(e, "nnc_rt_copy(%s, %s, %s); /* dropout: identity at inference */",
                  emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), emit_count(e, n->in[0]));
}



/* ---- Keras' other noise layers: spatial_dropout1d/2d, gaussian_dropout,
 * gaussian_noise; each the identity at inference ------------------------------- */

/* spatial_dropout1d on (n, steps, c), spatial_dropout2d on (n, h, w, c) */
static int spatial_dropout_shape(Graph *g, int node) {
    const Value *x = op_in(g, node, 0);
    int want = g->nodes[node].op == OP_SPATIAL_DROPOUT1D ? 2 : 3;
    if (x->rank != want) {
        char buf[96];
        diag_error(g->nodes[node].loc, "%s expects input of shape %s, got %s", op_name(g->nodes[node].op),
                   want == 2 ? "(n, steps, channels)" : "(n, height, width, channels)",
                   ir_shape_str(x, buf, sizeof buf));
        return -1;
    }
    return dropout_shape(g, node);
}

static void noise_emit(EmitCtx *e, const Node *n) {
    const Value *x = &emit_graph(e)->values[n->in[0]];
    if (!emit_training(e))
        emit_line(e, "nnc_rt_copy(%s, %s, %s); /* %s: identity at inference */", emit_ptr(e, n->out[0]),
                  emit_ptr(e, n->in[0]), emit_count(e, n->in[0]), op_name(n->op));
    else if (n->op == OP_GAUSSIAN_NOISE)
        emit_line(e, "nnc_rt_gaussian_noise_forward(%s, %s, %s, %s, &m->rng);", emit_ptr(e, n->out[0]),
                  emit_ptr(e, n->in[0]), emit_count(e, n->in[0]), emit_float(e, n->attr.rate));
    else if (n->op == OP_GAUSSIAN_DROPOUT)
        emit_line(e, "nnc_rt_gaussian_dropout_forward(%s, %s, %s, %s, %s, &m->rng);", emit_ptr(e, n->out[0]),
                  emit_ptr(e, n->out[1]), emit_ptr(e, n->in[0]), emit_count(e, n->in[0]),
                  emit_float(e, n->attr.rate));
    else
        emit_line(e, "nnc_rt_spatial_dropout_forward(%s, %s, %s, n, %ld, %ld, %s, &m->rng);",
                  emit_ptr(e, n->out[0]), emit_ptr(e, n->out[1]), emit_ptr(e, n->in[0]),
                  ir_size(x) / op_last_dim(x), op_last_dim(x), emit_float(e, n->attr.rate));
}

static const AttrDef noise_attrs[] = { { "stddev", AT_FLOAT, offsetof(Attrs, rate), NULL } };

static int noise_shape(Graph *g, int node) {
    if (g->nodes[node].attr.rate < 0) {
        diag_error(g->nodes[node].loc, "gaussian_noise stddev must be at least 0, got %g", g->nodes[node].attr.rate);
        return -1;
    }
    return op_same_shape(g, node);
}

static void noise_grad(Graph *g, int node, const int *dout, int *din) {
    (void)g;
    (void)node;
    din[0] = dout[0];
}

const OpDef op_spatial_dropout1d = { .rt = RT_TENSOR | RT_RNG, .layer = 1, .noise = 1, .ninputs = 1, .inplace = 1,
                                     .attrs = dropout_attrs, .nattrs = COUNT(dropout_attrs),
                                     .shape = spatial_dropout_shape, .grad = dropout_grad, .emit = noise_emit,
                                     .fold = dropout_fold };
const OpDef op_spatial_dropout2d = { .rt = RT_TENSOR | RT_RNG, .layer = 1, .noise = 1, .ninputs = 1, .inplace = 1,
                                     .attrs = dropout_attrs, .nattrs = COUNT(dropout_attrs),
                                     .shape = spatial_dropout_shape, .grad = dropout_grad, .emit = noise_emit,
                                     .fold = dropout_fold };
const OpDef op_gaussian_dropout = { .rt = RT_TENSOR | RT_RNG, .layer = 1, .noise = 1, .ninputs = 1, .inplace = 1,
                                    .attrs = dropout_attrs, .nattrs = COUNT(dropout_attrs), .shape = dropout_shape,
                                    .grad = dropout_grad, .emit = noise_emit, .fold = dropout_fold };
const OpDef op_gaussian_noise = { .rt = RT_TENSOR | RT_RNG, .layer = 1, .noise = 1, .ninputs = 1, .inplace = 1,
                                  .attrs = noise_attrs, .nattrs = COUNT(noise_attrs), .shape = noise_shape,
                                  .grad = noise_grad, .emit = noise_emit, .fold = dropout_fold };

const OpDef op_batch_norm = { .rt = RT_NORM, .layer = 1, .ninputs = 1, .attrs = bn_attrs,
                              .nattrs = COUNT(bn_attrs), .shape = bn_shape, .params = bn_params, .grad = bn_grad,
                              .flops = bn_flops, .emit = bn_emit, .fold = bn_fold };
const OpDef op_batch_norm_grad = INTERNAL(RT_NORM, 5, op_no_shape, bn_grad_emit);
const OpDef op_dropout = { .rt = RT_TENSOR | RT_RNG, .layer = 1, .noise = 1, .ninputs = 1, .inplace = 1,
                           .attrs = dropout_attrs, .nattrs = COUNT(dropout_attrs), .shape = dropout_shape,
                           .grad = dropout_grad, .emit = dropout_emit, .fold = dropout_fold };
