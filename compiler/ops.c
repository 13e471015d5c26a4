/* ops.c — the op table: one entry per op kind with everything the compiler
 * knows about it (name, .nn attribute schema, shape rule, parameters,
 * gradient rule, FLOPs, emission).  Adding an op means adding one entry
 * here plus its runtime kernel and tests; no other file switches on ops.
 *
 * Gradient rules append backward nodes that overwrite fresh values; where a
 * value has several consumers autodiff sums the contributions with `add`.
 */
#include <assert.h>
#include <stddef.h>
#include <string.h>
#include "ir.h"
#include "nnc_rt.h"

/* ---- names of enumerations used in attributes --------------------------- */

/* indexed by the runtime's enums (nnc_rt_act, nnc_rt_loss, nnc_rt_init) */
const char *const act_names[] = { "linear", "relu", "sigmoid", "tanh", "softmax" };
const int act_count = 5;
const char *const loss_names[] = {
    "mse", "mae", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "binary_crossentropy_logits",
    "categorical_crossentropy_logits", "sparse_categorical_crossentropy_logits" };
const int loss_count = NNC_RT_LOSS_SPARSE_CCE + 1;   /* the *_logits kinds come from fusion */
const char *const init_names[] = { "zeros", "ones", "glorot_uniform", "glorot_normal",
                                   "he_uniform", "he_normal" };
const int init_count = 6;
const char *const opt_names[] = { "sgd", "rmsprop", "adam", "adamw" };   /* by OptKind */

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

int name_index(const char *name, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (!strcmp(name, names[i])) return i;
    return -1;
}

const char *act_name(int act) { return act_names[act]; }
const char *loss_name(int loss) { return loss_names[loss]; }
const char *init_name(int init) { return init_names[init]; }

/* ---- helpers for the rules ------------------------------------------------ */

static Value *in_val(Graph *g, int node, int i) { return &g->values[g->nodes[node].in[i]]; }

/* Create out[0] if missing, shaped like `like` (batched), with `rank`/`dims`. */
static int make_out(Graph *g, int node, int batched, int rank, const int *dims) {
    Node *n = &g->nodes[node];
    if (n->nout == 0) {
        char name[IR_NAME];
        snprintf(name, sizeof name, "%.40s%s%d", n->layer[0] ? n->layer : op_table[n->op].name,
                 n->phase == PH_BACKWARD ? ".grad" : "", node);
        int role = n->phase == PH_BACKWARD ? ROLE_GRAD : ROLE_ACT;
        if (n->layer[0] && n->phase != PH_BACKWARD) snprintf(name, sizeof name, "%s", n->layer);
        int v = ir_value(g, name, role, batched, rank, dims);
        g->values[v].loc = n->loc;
        ir_add_output(g, node, v);
        n = &g->nodes[node];
    }
    Value *o = &g->values[n->out[0]];
    o->batched = batched;
    o->rank = rank;
    memcpy(o->dims, dims, (size_t)rank * sizeof *dims);
    return 0;
}

static int same_shape(Graph *g, int node) {
    Value *x = in_val(g, node, 0);
    return make_out(g, node, x->batched, x->rank, x->dims);
}

/* Append a backward node computing a value shaped like `like`. */
static int bwd(Graph *g, int op, const int *in, int nin, const Node *from, int like) {
    int n = ir_node(g, op, in, nin, from->loc);
    g->nodes[n].phase = PH_BACKWARD;
    g->nodes[n].attr = from->attr;
    Value lv = g->values[like];
    char name[IR_NAME];
    snprintf(name, sizeof name, "d%.*s", IR_NAME - 2, lv.name);
    int v = ir_value(g, name, ROLE_GRAD, lv.batched, lv.rank, lv.dims);
    ir_add_output(g, n, v);
    return v;
}

static const char *rows(EmitCtx *e, int v) { return emit_rows(e, v); }

/* ---- reshape family: flatten, reshape, linear (storage aliases) ----------- */

static int flatten_shape(Graph *g, int node) {
    Value *x = in_val(g, node, 0);
    int d = (int)ir_size(x);
    make_out(g, node, x->batched, 1, &d);
    g->values[g->nodes[node].out[0]].alias_of = g->nodes[node].in[0];
    return 0;
}

static int reshape_shape(Graph *g, int node) {
    Node *n = &g->nodes[node];
    assert(n->nout == 1 && ir_size(&g->values[n->out[0]]) == ir_size(in_val(g, node, 0)));
    g->values[n->out[0]].alias_of = n->in[0];
    return 0;
}

static int identity_shape(Graph *g, int node) {
    same_shape(g, node);
    g->values[g->nodes[node].out[0]].alias_of = g->nodes[node].in[0];
    return 0;
}

static void reshape_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    int v = bwd(g, op_id("reshape"), dout, 1, &n, n.in[0]);
    shape_node(g, g->values[v].producer);
    din[0] = v;
}

static void identity_grad(Graph *g, int node, const int *dout, int *din) {
    (void)g; (void)node;
    din[0] = dout[0];
}

static void emit_nothing(EmitCtx *e, const Node *n) { (void)e; (void)n; }

/* ---- activations ------------------------------------------------------------ */

static void act_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    n.attr.act = op_table[n.op].kind;
    int in[2] = { dout[0], n.out[0] };
    din[0] = bwd(g, op_id("act_grad"), in, 2, &n, n.in[0]);
}

static long act_flops(const Graph *g, const Node *n) {
    long s = ir_size(&g->values[n->out[0]]);
    return op_table[n->op].kind == NNC_RT_ACT_SOFTMAX ? 3 * s : s;
}

static void act_emit(EmitCtx *e, const Node *n) {
    const Graph *g = emit_graph(e);
    emit_line(e, "nnc_rt_act_forward(%d, %s, %s, %s, %ld); /* %s */", op_table[n->op].kind,
              emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), rows(e, n->in[0]),
              emit_cols(g, n->in[0]), op_table[n->op].name);
}

static void act_grad_emit(EmitCtx *e, const Node *n) {
    const Graph *g = emit_graph(e);
    emit_line(e, "nnc_rt_act_backward(%d, %s, %s, %s, %s, %ld); /* %s' */", n->attr.act,
              emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]),
              rows(e, n->in[0]), emit_cols(g, n->in[0]), act_name(n->attr.act));
}

/* ---- dense: y = act(x . W + b) ------------------------------------------------ */

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
    Value *x = in_val(g, node, 0);
    char buf[96];
    if (!x->batched || x->rank != 1) {
        diag_error(n->loc, "dense expects input of shape (n, features), got %s; "
                   "add 'flatten' before it", ir_shape_str(x, buf, sizeof buf));
        return -1;
    }
    if (n->attr.units <= 0) {
        diag_error(n->loc, "dense needs a positive number of units, got %d", n->attr.units);
        return -1;
    }
    return make_out(g, node, 1, 1, &n->attr.units);
}

static int new_param(Graph *g, int node, const char *suffix, int rank, const int *dims,
                     int init, int fan_in, int fan_out, float l1, float l2) {
    Node *n = &g->nodes[node];
    char name[IR_NAME];
    snprintf(name, sizeof name, "%.40s.%s", n->layer, suffix);
    int p = ir_value(g, name, ROLE_PARAM, 0, rank, dims);
    Value *v = &g->values[p];
    v->init = init; v->fan_in = fan_in; v->fan_out = fan_out;
    v->l1 = l1; v->l2 = l2;
    v->loc = g->nodes[node].loc;
    n = &g->nodes[node];
    n->in[n->nin++] = p;
    return p;
}

static void dense_params(Graph *g, int node) {
    Node *n = &g->nodes[node];
    int k = (int)ir_size(in_val(g, node, 0)), m = n->attr.units;
    Attrs a = n->attr;
    int kd[2] = { k, m };
    new_param(g, node, "kernel", 2, kd, a.kernel_init, k, m, a.kernel_l1, a.kernel_l2);
    if (a.use_bias) new_param(g, node, "bias", 1, &m, a.bias_init, k, m, a.bias_l1, a.bias_l2);
}

/* dz = act'(dy); dx = dz . W^T; dW = x^T . dz; db = sum_rows(dz) */
static void dense_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    int dz = dout[0];
    if (n.attr.act != NNC_RT_ACT_LINEAR) {
        int in[2] = { dout[0], n.out[0] };
        dz = bwd(g, op_id("act_grad"), in, 2, &n, n.out[0]);
    }
    int matmul = op_id("matmul");
    if (g->values[n.in[0]].requires_grad) {
        int in[2] = { dz, n.in[1] };
        din[0] = bwd(g, matmul, in, 2, &n, n.in[0]);
        g->nodes[g->nnodes - 1].attr.trans_a = 0;
        g->nodes[g->nnodes - 1].attr.trans_b = 1;
    }
    int in[2] = { n.in[0], dz };
    din[1] = bwd(g, matmul, in, 2, &n, n.in[1]);
    g->nodes[g->nnodes - 1].attr.trans_a = 1;
    g->nodes[g->nnodes - 1].attr.trans_b = 0;
    if (n.nin > 2) din[2] = bwd(g, op_id("bias_grad"), &dz, 1, &n, n.in[2]);
}

static long dense_flops(const Graph *g, const Node *n) {
    long m = n->attr.units;
    long act = n->attr.act == NNC_RT_ACT_LINEAR ? 0 : n->attr.act == NNC_RT_ACT_SOFTMAX ? 3 * m : m;
    return 2 * ir_size(&g->values[n->in[0]]) * m + (n->nin > 2 ? m : 0) + act;
}

static void dense_emit(EmitCtx *e, const Node *n) {
    const Graph *g = emit_graph(e);
    emit_line(e, "nnc_rt_dense_forward(%s, %s, %s, %s, %s, %ld, %d, %d); /* %s */",
              emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]),
              n->nin > 2 ? emit_ptr(e, n->in[2]) : "NULL", rows(e, n->in[0]),
              emit_cols(g, n->in[0]), n->attr.units, n->attr.act, n->layer);
}

/* ---- matmul: C = op(A) . op(B), the backward half of dense ------------------- */

/* 2-D view of a value: rows are the batch (or dims[0]), columns the rest */
static void mat_dims(EmitCtx *e, int v, const char **r, long *c) {
    *r = rows(e, v);
    *c = emit_cols(emit_graph(e), v);
}

static int matmul_shape(Graph *g, int node) {
    /* outputs are created by the gradient rules with their final shape */
    assert(g->nodes[node].nout == 1);
    (void)g;
    return 0;
}

static void matmul_emit(EmitCtx *e, const Node *n) {
    const char *ar, *br, *cr; long ac, bc, cc;
    mat_dims(e, n->in[0], &ar, &ac);
    mat_dims(e, n->in[1], &br, &bc);
    mat_dims(e, n->out[0], &cr, &cc);
    /* K is the contracted extent: op(A) is M x K */
    char k[32];
    if (n->attr.trans_a) snprintf(k, sizeof k, "%s", ar); else snprintf(k, sizeof k, "%ld", ac);
    emit_line(e, "nnc_rt_gemm_f32(%d, %d, %s, %ld, %s, 1.0f, %s, %ld, %s, %ld, 0.0f, %s, %ld);",
              n->attr.trans_a, n->attr.trans_b, cr, cc, k, emit_ptr(e, n->in[0]), ac,
              emit_ptr(e, n->in[1]), bc, emit_ptr(e, n->out[0]), cc);
}

static void bias_grad_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_bias_backward(%s, %s, %s, %ld);", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), rows(e, n->in[0]), emit_cols(emit_graph(e), n->in[0]));
}

/* ---- add: y = a + b (residuals; also sums gradient contributions) ----------- */

static int add_shape(Graph *g, int node) {
    Value *a = in_val(g, node, 0), *b = in_val(g, node, 1);
    if (a->batched != b->batched || a->rank != b->rank ||
        memcmp(a->dims, b->dims, (size_t)a->rank * sizeof(int))) {
        char ba[96], bb[96];
        diag_error(g->nodes[node].loc, "add needs operands of the same shape, got %s and %s",
                   ir_shape_str(a, ba, sizeof ba), ir_shape_str(b, bb, sizeof bb));
        return -1;
    }
    return same_shape(g, node);
}

static void add_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    if (g->values[n.in[0]].requires_grad) din[0] = dout[0];
    if (g->values[n.in[1]].requires_grad) din[1] = dout[0];
}

static long add_flops(const Graph *g, const Node *n) { return ir_size(&g->values[n->out[0]]); }

static void add_emit(EmitCtx *e, const Node *n) {
    const Graph *g = emit_graph(e);
    emit_line(e, "nnc_rt_add(%s, %s, %s, (long)%s * %ld);", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), rows(e, n->out[0]),
              emit_cols(g, n->out[0]));
}

/* ---- loss: scalar = mean over the batch of loss(pred, label) ---------------- */

static int loss_shape(Graph *g, int node) {
    Node *n = &g->nodes[node];
    if (n->nout == 0) {
        int v = ir_value(g, "loss", ROLE_SCALAR, 0, 0, NULL);
        ir_add_output(g, node, v);
    }
    return 0;
}

static void loss_grad(Graph *g, int node, const int *dout, int *din) {
    (void)dout;
    Node n = g->nodes[node];
    din[0] = bwd(g, op_id("loss_grad"), n.in, 2, &n, n.in[0]);
}

static void loss_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "loss = nnc_rt_loss_forward(%d, %s, y, n, %ld); /* %s */", n->attr.loss,
              emit_ptr(e, n->in[0]), emit_cols(emit_graph(e), n->in[0]), loss_name(n->attr.loss));
}

static void loss_grad_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_loss_backward(%d, %s, %s, y, n, %ld);", n->attr.loss,
              emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), emit_cols(emit_graph(e), n->in[0]));
}

/* ---- regularize: adds the penalty's gradient to a parameter's gradient ------ */

static void regularize_emit(EmitCtx *e, const Node *n) {
    const Graph *g = emit_graph(e);
    const Value *p = &g->values[n->in[0]];
    emit_line(e, "loss += nnc_rt_regularize(%s, %s, %ld, %s, %s); /* %s */",
              emit_ptr(e, p->grad), emit_ptr(e, n->in[0]), ir_size(p), emit_float(e, p->l1),
              emit_float(e, p->l2), p->name);
}

/* ---- update: the optimizer step, one flat pass over the parameter block ---- */

static void update_emit(EmitCtx *e, const Node *n) {
    (void)n;
    const TrainConfig *t = &emit_graph(e)->train;
    switch (t->opt) {
    case OPT_SGD:
        emit_line(e, "nnc_rt_sgd_update(m->params, m->grads, %s, PARAM_COUNT, %s, %s, %d);",
                  t->momentum != 0 ? "m->opt[0]" : "NULL", emit_float(e, t->lr),
                  emit_float(e, t->momentum), t->nesterov);
        break;
    case OPT_RMSPROP:
        emit_line(e, "nnc_rt_rmsprop_update(m->params, m->grads, m->opt[0], %s, PARAM_COUNT, "
                  "%s, %s, %s, %s);", t->momentum != 0 ? "m->opt[1]" : "NULL", emit_float(e, t->lr),
                  emit_float(e, t->rho), emit_float(e, t->momentum), emit_float(e, t->eps));
        break;
    case OPT_ADAM: case OPT_ADAMW:
        emit_line(e, "nnc_rt_adam_update(m->params, m->grads, m->opt[0], m->opt[1], PARAM_COUNT, "
                  "m->step, %s, %s, %s, %s, %s);", emit_float(e, t->lr), emit_float(e, t->beta1),
                  emit_float(e, t->beta2), emit_float(e, t->eps),
                  emit_float(e, t->opt == OPT_ADAMW ? t->weight_decay : 0.0f));
        break;
    }
}

static int no_shape(Graph *g, int node) { (void)g; (void)node; return 0; }

/* ---- the table ------------------------------------------------------------------ */

#define ACT(name, kind) { name, 1, 1, kind, NULL, 0, 0, 1, same_shape, NULL, act_grad, \
                          act_flops, act_emit }

const OpDef op_table[] = {
    /* name       layer nin kind attrs nattrs alias inplace shape params grad flops emit */
    { "flatten",   1, 1, 0, NULL, 0, 1, 0, flatten_shape, NULL, reshape_grad, NULL, emit_nothing },
    { "linear",    1, 1, 0, NULL, 0, 1, 0, identity_shape, NULL, identity_grad, NULL, emit_nothing },
    ACT("relu", NNC_RT_ACT_RELU),
    ACT("sigmoid", NNC_RT_ACT_SIGMOID),
    ACT("tanh", NNC_RT_ACT_TANH),
    ACT("softmax", NNC_RT_ACT_SOFTMAX),
    { "dense",     1, 1, 0, dense_attrs, COUNT(dense_attrs), 0, 0, dense_shape, dense_params,
                   dense_grad, dense_flops, dense_emit },
    { "add",       1, 2, 0, NULL, 0, 0, 1, add_shape, NULL, add_grad, add_flops, add_emit },
    /* internal: created by passes, never written in .nn files */
    { "reshape",   0, 1, 0, NULL, 0, 1, 0, reshape_shape, NULL, reshape_grad, NULL, emit_nothing },
    { "act_grad",  0, 2, 0, NULL, 0, 0, 1, no_shape, NULL, NULL, NULL, act_grad_emit },
    { "matmul",    0, 2, 0, NULL, 0, 0, 0, matmul_shape, NULL, NULL, NULL, matmul_emit },
    { "bias_grad", 0, 1, 0, NULL, 0, 0, 0, no_shape, NULL, NULL, NULL, bias_grad_emit },
    { "loss",      0, 2, 0, NULL, 0, 0, 0, loss_shape, NULL, loss_grad, NULL, loss_emit },
    { "loss_grad", 0, 2, 0, NULL, 0, 0, 0, no_shape, NULL, NULL, NULL, loss_grad_emit },
    { "regularize",0, 1, 0, NULL, 0, 0, 0, no_shape, NULL, NULL, NULL, regularize_emit },
    { "update",    0, 0, 0, NULL, 0, 0, 0, no_shape, NULL, NULL, NULL, update_emit },
};
const int op_count = COUNT(op_table);

int op_find(const char *name) {
    for (int i = 0; i < op_count; i++)
        if (!strcmp(op_table[i].name, name)) return i;
    return -1;
}

int op_id(const char *name) {
    int id = op_find(name);
    assert(id >= 0);
    return id;
}
