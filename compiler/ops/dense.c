/* dense.c — dense (y = act(x . W + b), also per step inside
 * time_distributed) and the GEMM nodes its gradient appends: matmul
 * (C = op(A) . op(B)) and bias_grad.  All are one nnc_rt_gemm_f32 call or
 * a variant of it, so each also tells the tiling pass its GEMM's shape. */
#include "ops/rules.h"

static const AttrDef dense_attrs[] = {
    { "units", AT_INT, offsetof(Attrs, units), NULL },
    { "activation", AT_ACT, offsetof(Attrs, act), "linear" },
    { "use_bias", AT_BOOL, offsetof(Attrs, use_bias), "true" },
    { "kernel_initializer", AT_INIT, offsetof(Attrs, kernel_init), "glorot_uniform" },
    { "bias_initializer", AT_INIT, offsetof(Attrs, bias_init), "zeros" },
    { "kernel_regularizer", AT_REG, offsetof(Attrs, kernel_l1), "none" },
    { "bias_regularizer", AT_REG, offsetof(Attrs, bias_l1), "none" },
};

static int dense_shape(Graph *g, int node) {
    Node *n = &g->nodes[node];
    Value *x = op_in(g, node, 0);
    char buf[96];
    if (!x->batched || x->rank < 1) {
        diag_error(n->loc, "dense expects input of shape (n, ..., features), got %s",
                   ir_shape_str(x, buf, sizeof buf));
        return -1;
    }
    if (n->attr.units <= 0) {
        diag_error(n->loc, "dense needs a positive number of units, got %d", n->attr.units);
        return -1;
    }
    /* on (n, ..., features), as Keras' Dense: the same product on the last
     * axis of every step (time_distributed(dense) is the same) */
    int dims[IR_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    dims[x->rank - 1] = n->attr.units;
    return op_make_out(g, node, 1, x->rank, dims);
}


static void dense_params(Graph *g, int node) {
    Node *n = &g->nodes[node];
    int k = (int)op_last_dim(op_in(g, node, 0)), m = n->attr.units;
    Attrs a = n->attr;
    int kd[2] = { k, m };
    op_new_param(g, node, "kernel", 2, kd, a.kernel_init, k, m, a.kernel_l1, a.kernel_l2);
    if (a.use_bias) op_new_param(g, node, "bias", 1, &m, a.bias_init, k, m, a.bias_l1, a.bias_l2);
}

/* dz = act'(dy); dx = dz . W^T; dW = x^T . dz; db = sum_rows(dz) */
static void dense_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    int dz = op_epilogue_grad(g, &n, dout[0]);
    int matmul = OP_MATMUL;
    if (g->values[n.in[0]].requires_grad) {
        int in[2] = { dz, n.in[1] };
        din[0] = op_bwd(g, matmul, in, 2, &n, n.in[0]);
        g->nodes[g->nnodes - 1].attr.trans_a = 0;
        g->nodes[g->nnodes - 1].attr.trans_b = 1;
    }
    int in[2] = { n.in[0], dz };
    din[1] = op_bwd(g, matmul, in, 2, &n, n.in[1]);
    g->nodes[g->nnodes - 1].attr.trans_a = 1;
    g->nodes[g->nnodes - 1].attr.trans_b = 0;
    if (n.nin > 2) din[2] = op_bwd(g, OP_BIAS_GRAD, &dz, 1, &n, n.in[2]);
}

static long dense_flops(const Graph *g, const Node *n) {
    long m = n->attr.units;
    long act = n->attr.act == NNC_RT_ACT_LINEAR ? 0 : n->attr.act == NNC_RT_ACT_SOFTMAX ? 3 * m : m;
    long steps = m ? ir_size(&g->values[n->out[0]]) / m : 0;    /* an empty layer (0 units) costs nothing */
    return steps * (2 * op_last_dim(&g->values[n->in[0]]) * m + (n->nin > 2 ? m : 0) + act);
}

static int dense_gemm(const Graph *g, const Node *n, long batch, long mnk[3], int *ta, int *tb) {
    mnk[0] = ir_rows(g, n->in[0], batch);
    mnk[1] = n->attr.units;
    mnk[2] = op_last_dim(&g->values[n->in[0]]);
    *ta = *tb = 0;
    return 1;
}

static void dense_emit(EmitCtx *e, const Node *n) {
    const Graph *g = emit_graph(e);
    emit_line(e, "nnc_rt_dense_forward%s(%s, %s, %s, %s, %s, %ld, %d, %d); /* %s */",
              g->values[n->in[1]].panels ? "_packed" : "", emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]),
              n->nin > 2 ? emit_ptr(e, n->in[2]) : "NULL", emit_rows(e, n->in[0]),
              emit_cols(g, n->in[0]), n->attr.units, n->attr.act, n->layer);
}

/* at build time (calibration): rows of the last axis, the kernel not yet in panels */
static void dense_fold(const Fold *f) {
    int r = f->in_rank[0];
    long k = r ? f->in_dims[0][r - 1] : 1;
    nnc_rt_dense_forward(f->y, f->in[0], f->in[1], f->nin > 2 ? f->in[2] : NULL, (int)(f->ny / f->a->units), (int)k,
                         f->a->units, f->a->act);
}

/* ---- matmul: C = op(A) . op(B), the backward half of dense ------------------- */

/* 2-D view of a value: rows are the batch (or dims[0]), columns the rest */
static void mat_dims(EmitCtx *e, int v, const char **r, long *c) {
    *r = emit_rows(e, v);
    *c = emit_cols(emit_graph(e), v);
}


static void matmul_emit(EmitCtx *e, const Node *n) {
    const char *ar, *br, *cr; long ac, bc, cc;
    mat_dims(e, n->in[0], &ar, &ac);
    mat_dims(e, n->in[1], &br, &bc);
    mat_dims(e, n->out[0], &cr, &cc);
    /* K is the contracted extent: op(A) is M x K */
    char k[32];
    if (n->attr.trans_a) snprintf(k, sizeof k, "%s", ar); else snprintf(k, sizeof k, "%ld", ac);
    if (n->nin > 2) {   /* and the activation's gradient from y (passes/fuse_grad.c) */
        emit_line(e, "nnc_rt_gemm_f32_act_grad(%d, %d, %s, %ld, %s, %s, %ld, %s, %ld, %s, %ld, %d, %s, %ld); /* %s' */",
                  n->attr.trans_a, n->attr.trans_b, cr, cc, k, emit_ptr(e, n->in[0]), ac,
                  emit_ptr(e, n->in[1]), bc, emit_ptr(e, n->out[0]), cc, n->attr.act, emit_ptr(e, n->in[2]), cc,
                  act_name(n->attr.act));
        return;
    }
    emit_line(e, "nnc_rt_gemm_f32(%d, %d, %s, %ld, %s, 1.0f, %s, %ld, %s, %ld, 0.0f, %s, %ld);",
              n->attr.trans_a, n->attr.trans_b, cr, cc, k, emit_ptr(e, n->in[0]), ac,
              emit_ptr(e, n->in[1]), bc, emit_ptr(e, n->out[0]), cc);
}

static int matmul_gemm(const Graph *g, const Node *n, long batch, long mnk[3], int *ta, int *tb) {
    mnk[0] = ir_rows(g, n->out[0], batch);
    mnk[1] = op_last_dim(&g->values[n->out[0]]);
    mnk[2] = n->attr.trans_a ? ir_rows(g, n->in[0], batch) : op_last_dim(&g->values[n->in[0]]);
    *ta = n->attr.trans_a;
    *tb = n->attr.trans_b;
    return 1;
}


static void bias_grad_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_bias_backward(%s, %s, %s, %ld);", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_rows(e, n->in[0]), emit_cols(emit_graph(e), n->in[0]));
}


const OpDef op_dense = { .rt = RT_GEMM | RT_ACT, .layer = 1, .ninputs = 1, .epilogue = 1,
                         .attrs = dense_attrs, .nattrs = COUNT(dense_attrs), .shape = dense_shape,
                         .params = dense_params, .grad = dense_grad, .flops = dense_flops, .gemm = dense_gemm,
                         .emit = dense_emit , .fold = dense_fold };
const OpDef op_matmul = { .rt = RT_GEMM, .ninputs = 2, .shape = op_no_shape, .gemm = matmul_gemm,
                          .emit = matmul_emit };
const OpDef op_bias_grad = INTERNAL(RT_ACT, 1, op_no_shape, bias_grad_emit);
