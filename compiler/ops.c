/* ops.c — the op table: one entry per op kind with everything the compiler
 * knows about it (name, .nn attribute schema, shape rule, parameters,
 * gradient rule, FLOPs, emission).  Adding an op means adding one entry
 * here plus its runtime kernel and tests; no other file switches on ops.
 *
 * Gradient rules append backward nodes that overwrite fresh values; where a
 * value has several consumers autodiff sums the contributions with `add`.
 */
#include <assert.h>
#include <math.h>
#include <stddef.h>
#include <string.h>
#include "ir.h"
#include "nnc_rt.h"

/* ---- names of enumerations used in attributes --------------------------- */

/* indexed by the runtime's enums (nnc_rt_act, nnc_rt_loss, nnc_rt_init) */
const char *const act_names[] = { "linear", "relu", "sigmoid", "tanh", "softmax", "relu6" };
const int act_count = 6;
const char *const loss_names[] = {
    "mse", "mae", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "binary_crossentropy_logits",
    "categorical_crossentropy_logits", "sparse_categorical_crossentropy_logits" };
const int loss_count = NNC_RT_LOSS_SPARSE_CCE + 1;   /* the *_logits kinds come from fusion */
const char *const init_names[] = { "zeros", "ones", "glorot_uniform", "glorot_normal",
                                   "he_uniform", "he_normal", "orthogonal", "uniform",
                                   "unit_forget" };
const int init_count = 8;   /* unit_forget is the LSTM bias rule, not a user's choice */
const char *const opt_names[] = { "sgd", "rmsprop", "adam", "adamw" };   /* by OptKind */

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

int name_index(const char *name, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (!strcmp(name, names[i])) return i;
    return -1;
}

const char *act_name(int act) { return act_names[act]; }
const char *loss_name(int loss) { return loss_names[loss]; }
/* as a train block writes it: "sparse_categorical_crossentropy(from_logits = true)" */
const char *loss_spelling(int loss) {
    static char b[96];
    if (loss < NNC_RT_LOSS_BCE_LOGITS) return loss_names[loss];
    snprintf(b, sizeof b, "%s(from_logits = true)", loss_names[loss - NNC_RT_LOSS_BCE_LOGITS + NNC_RT_LOSS_BCE]);
    return b;
}
const char *init_name(int init) { return init_names[init]; }

/* ---- helpers for the rules ------------------------------------------------ */

static Value *in_val(Graph *g, int node, int i) { return &g->values[g->nodes[node].in[i]]; }

/* Create out[0] if missing, then give it this shape. */
static int make_out(Graph *g, int node, int batched, int rank, const int *shape) {
    int dims[IR_MAX_RANK];      /* shape may point into g->values, which may move */
    memcpy(dims, shape, (size_t)rank * sizeof *dims);
    Node *n = &g->nodes[node];
    if (n->nout == 0) {
        char name[IR_NAME];
        snprintf(name, sizeof name, "%.40s%d", op_table[n->op].name, node);
        if (n->layer[0]) snprintf(name, sizeof name, "%s", n->layer);
        int v = ir_value(g, name, ROLE_ACT, batched, rank, dims);
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

/* Create out[index] (an extra output: scratch, saved statistics, a mask) once. */
static int extra_out(Graph *g, int node, int index, const char *suffix, int batched, int rank,
                     const int *dims) {
    Node *n = &g->nodes[node];
    if (n->nout > index) return n->out[index];
    assert(n->nout == index);
    char name[IR_NAME];
    snprintf(name, sizeof name, "%.40s.%s", g->values[n->out[0]].name, suffix);
    int v = ir_value(g, name, n->phase == PH_BACKWARD ? ROLE_GRAD : ROLE_ACT, batched, rank, dims);
    g->values[v].loc = n->loc;
    ir_add_output(g, node, v);
    return v;
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
static long last_dim(const Value *v) { return v->rank ? v->dims[v->rank - 1] : 1; }

static int shapes_equal(const Value *a, const Value *b) {
    return a->batched == b->batched && a->rank == b->rank &&
           !memcmp(a->dims, b->dims, (size_t)a->rank * sizeof(int));
}

static int want_rank(Graph *g, int node, int rank, const char *layout, const char *hint) {
    Value *x = in_val(g, node, 0);
    if (x->batched && x->rank == rank) return 0;
    char buf[96];
    diag_error(g->nodes[node].loc, "%s expects input of shape %s, got %s%s", op_table[g->nodes[node].op].name,
               layout, ir_shape_str(x, buf, sizeof buf), hint);
    return -1;
}

/* ---- reshape family: flatten, reshape, linear (storage aliases) ----------- */

static int flatten_shape(Graph *g, int node) {
    Value *x = in_val(g, node, 0);
    int d = (int)ir_size(x);
    make_out(g, node, x->batched, 1, &d);
    g->values[g->nodes[node].out[0]].alias_of = g->nodes[node].in[0];
    return 0;
}

/* view: the gradient of a reshape, its output created with its shape */
static int view_shape(Graph *g, int node) {
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
    int v = bwd(g, op_id("view"), dout, 1, &n, n.in[0]);
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
    if (n->nout > 1) {   /* and the bias gradient (passes/fuse_grad.c) */
        emit_line(e, "nnc_rt_act_bias_backward(%d, %s, %s, %s, %s, %s, %ld); /* %s', bias */", n->attr.act,
                  emit_ptr(e, n->out[0]), emit_ptr(e, n->out[1]), emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]),
                  rows(e, n->in[0]), emit_cols(g, n->in[0]), act_name(n->attr.act));
        return;
    }
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
    if (!x->batched || (x->rank != 1 && !(n->attr.per_step && x->rank >= 1))) {
        diag_error(n->loc, "dense expects input of shape (n, features), got %s; "
                   "add 'flatten' before it%s", ir_shape_str(x, buf, sizeof buf),
                   x->rank == 2 ? ", or wrap it in time_distributed() to apply it to every step" : "");
        return -1;
    }
    if (n->attr.units <= 0) {
        diag_error(n->loc, "dense needs a positive number of units, got %d", n->attr.units);
        return -1;
    }
    /* time_distributed: the same dense on the last axis of every step */
    int dims[IR_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    dims[x->rank - 1] = n->attr.units;
    return make_out(g, node, 1, x->rank, dims);
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
    v->trainable = !n->attr.frozen;
    v->loc = g->nodes[node].loc;
    n = &g->nodes[node];
    n->in[n->nin++] = p;
    return p;
}

static void dense_params(Graph *g, int node) {
    Node *n = &g->nodes[node];
    int k = (int)last_dim(in_val(g, node, 0)), m = n->attr.units;
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
    long steps = ir_size(&g->values[n->out[0]]) / m;
    return steps * (2 * last_dim(&g->values[n->in[0]]) * m + (n->nin > 2 ? m : 0) + act);
}

static int dense_gemm(const Graph *g, const Node *n, long batch, long mnk[3], int *tb) {
    mnk[0] = ir_rows(g, n->in[0], batch);
    mnk[1] = n->attr.units;
    mnk[2] = last_dim(&g->values[n->in[0]]);
    *tb = 0;
    return 1;
}

static void dense_emit(EmitCtx *e, const Node *n) {
    const Graph *g = emit_graph(e);
    emit_line(e, "nnc_rt_dense_forward%s(%s, %s, %s, %s, %s, %ld, %d, %d); /* %s */",
              g->values[n->in[1]].panels ? "_packed" : "", emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]),
              n->nin > 2 ? emit_ptr(e, n->in[2]) : "NULL", rows(e, n->in[0]),
              emit_cols(g, n->in[0]), n->attr.units, n->attr.act, n->layer);
}

/* ---- matmul: C = op(A) . op(B), the backward half of dense ------------------- */

/* 2-D view of a value: rows are the batch (or dims[0]), columns the rest */
static void mat_dims(EmitCtx *e, int v, const char **r, long *c) {
    *r = rows(e, v);
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

static int matmul_gemm(const Graph *g, const Node *n, long batch, long mnk[3], int *tb) {
    mnk[0] = ir_rows(g, n->out[0], batch);
    mnk[1] = last_dim(&g->values[n->out[0]]);
    mnk[2] = n->attr.trans_a ? ir_rows(g, n->in[0], batch) : last_dim(&g->values[n->in[0]]);
    *tb = n->attr.trans_b;
    return 1;
}

/* a pointwise convolution is a dense layer over the pixels (the runtime's
 * nnc_rt_conv2d_path): its product, (samples * h * w, oc, c); the other
 * paths are not one GEMM */
static int conv_gemm(const Graph *g, const Node *n, long batch, long mnk[3], int *tb) {
    const nnc_rt_conv2d *p = &n->attr.conv;
    const Value *x = &g->values[n->in[0]];
    if (nnc_rt_conv2d_path(p, 0) != NNC_RT_CONV_POINTWISE) return 0;
    long pix = (long)p->h * p->w;
    mnk[0] = ir_size(x) * (x->batched ? batch : 1) / (pix * p->c) * pix;
    mnk[1] = p->oc;
    mnk[2] = p->c;
    *tb = 0;
    return 1;
}

static void bias_grad_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_bias_backward(%s, %s, %s, %ld);", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), rows(e, n->in[0]), emit_cols(emit_graph(e), n->in[0]));
}

/* ---- add: y = a + b (residuals; also sums gradient contributions) ----------- */

/* add and multiply: element-wise on operands of one shape */
static int elementwise_shape(Graph *g, int node) {
    Value *a = in_val(g, node, 0), *b = in_val(g, node, 1);
    if (!shapes_equal(a, b)) {
        char ba[96], bb[96];
        diag_error(g->nodes[node].loc, "%s needs operands of the same shape, got %s and %s",
                   op_table[g->nodes[node].op].name, ir_shape_str(a, ba, sizeof ba),
                   ir_shape_str(b, bb, sizeof bb));
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
    emit_line(e, "nnc_rt_add(%s, %s, %s, %s);", emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]),
              emit_ptr(e, n->in[1]), emit_count(e, n->out[0]));
}

/* ---- multiply: y = a * b ----------------------------------------------------- */

static void multiply_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    int mul = op_id("multiply");
    for (int i = 0; i < 2; i++)
        if (g->values[n.in[i]].requires_grad) {
            int in[2] = { dout[0], n.in[1 - i] };
            din[i] = bwd(g, mul, in, 2, &n, n.in[i]);
        }
}

static void multiply_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_mul(%s, %s, %s, %s);", emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]),
              emit_ptr(e, n->in[1]), emit_count(e, n->out[0]));
}

/* ---- concat(a, b, ..., axis): joined along one axis ------------------------- */

static const AttrDef concat_attrs[] = { { "axis", AT_AXIS, offsetof(Attrs, axis), "-1" } };

static int concat_shape(Graph *g, int node) {
    Node *n = &g->nodes[node];
    Value *a = in_val(g, node, 0);
    int axis = n->attr.axis < 0 ? n->attr.axis + a->rank : n->attr.axis;
    if (axis < 0 || axis >= a->rank) {
        diag_error(n->loc, "concat axis %d is out of range for operands of rank %d",
                   n->attr.axis, a->rank);
        return -1;
    }
    int dims[IR_MAX_RANK];
    memcpy(dims, a->dims, sizeof dims);
    dims[axis] = 0;
    for (int i = 0; i < n->nin; i++) {
        Value *b = in_val(g, node, i);
        int same = b->rank == a->rank;
        for (int d = 0; same && d < a->rank; d++) same = d == axis || b->dims[d] == a->dims[d];
        if (!same) {
            char ba[96], bb[96];
            diag_error(n->loc, "concat along axis %d needs operands that agree on the other axes, "
                       "got %s and %s", n->attr.axis, ir_shape_str(a, ba, sizeof ba),
                       ir_shape_str(b, bb, sizeof bb));
            return -1;
        }
        dims[axis] += b->dims[axis];
    }
    n->attr.axis = axis;
    return make_out(g, node, 1, a->rank, dims);
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
            din[i] = bwd(g, op_id("concat_grad"), dout, 1, &n, n.in[i]);
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

static void concat_grad_emit(EmitCtx *e, const Node *n) {
    long outer, width;
    concat_view(&emit_graph(e)->values[n->out[0]], n->attr.axis, &outer, &width);
    emit_line(e, "nnc_rt_concat_backward(%s, %s, (long)n * %ld, %ld, %ld, %ld);",
              emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), outer, n->attr.width,
              n->attr.offset, n->attr.total);
}

/* ---- reshape(d1, d2, ...): a view with another per-sample shape ------------- */

static const AttrDef reshape_attrs[] = { { "shape", AT_DIMS, offsetof(Attrs, dims), NULL } };

static int reshape_layer_shape(Graph *g, int node) {
    Node *n = &g->nodes[node];
    Value *x = in_val(g, node, 0);
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
    make_out(g, node, 1, n->attr.ndims, dims);
    g->values[n->out[0]].alias_of = n->in[0];
    return 0;
}

/* ---- convolution: conv2d, depthwise_conv2d, conv1d --------------------------- */

enum { CONV_2D, CONV_DEPTHWISE, CONV_1D };

#define CONV_COMMON \
    { "strides", AT_INT, offsetof(Attrs, strides), "1" }, \
    { "padding", AT_PADDING, offsetof(Attrs, padding), "valid" }
#define CONV_TAIL \
    { "activation", AT_ACT, offsetof(Attrs, act), "linear" }, \
    { "use_bias", AT_BOOL, offsetof(Attrs, use_bias), "true" }, \
    { "kernel_initializer", AT_INIT, offsetof(Attrs, kernel_init), "glorot_uniform" }, \
    { "bias_initializer", AT_INIT, offsetof(Attrs, bias_init), "zeros" }, \
    { "kernel_regularizer", AT_REG, offsetof(Attrs, kernel_l1), "none" }, \
    { "bias_regularizer", AT_REG, offsetof(Attrs, bias_l1), "none" }

static const AttrDef conv_attrs[] = {
    { "filters", AT_INT, offsetof(Attrs, filters), NULL },
    { "kernel_size", AT_INT, offsetof(Attrs, kernel_size), NULL },
    CONV_COMMON,
    { "dilation_rate", AT_INT, offsetof(Attrs, dilation), "1" },
    { "groups", AT_INT, offsetof(Attrs, groups), "1" },
    CONV_TAIL,
};
static const AttrDef depthwise_attrs[] = {
    { "kernel_size", AT_INT, offsetof(Attrs, kernel_size), NULL },
    CONV_COMMON,
    { "depth_multiplier", AT_INT, offsetof(Attrs, depth_multiplier), "1" },
    { "dilation_rate", AT_INT, offsetof(Attrs, dilation), "1" },
    CONV_TAIL,
};

/* One spatial axis: output extent and the padding before it (Keras rules:
 * 'same' gives ceil(in/stride) outputs and puts the odd padding cell after).
 * Returns -1 when the (dilated) window does not fit a 'valid' input. */
static int window(int in, int k, int stride, int dilation, int padding, int *out, int *before) {
    int span = dilation * (k - 1) + 1;
    if (padding == PAD_SAME) {
        *out = (in + stride - 1) / stride;
        int total = (*out - 1) * stride + span - in;
        *before = total > 0 ? total / 2 : 0;
        return 0;
    }
    *before = 0;
    if (span > in) return -1;
    *out = (in - span) / stride + 1;
    return 0;
}

static int conv_shape(Graph *g, int node) {
    Node *n = &g->nodes[node];
    int kind = op_table[n->op].kind, one_d = kind == CONV_1D;
    if (want_rank(g, node, one_d ? 2 : 3, one_d ? "(n, steps, channels)" : "(n, height, width, channels)",
                  one_d ? "" : "; images are channels-last, e.g. 'input x: f32[28, 28, 1]'"))
        return -1;
    Value *x = in_val(g, node, 0);
    nnc_rt_conv2d p;
    memset(&p, 0, sizeof p);
    p.h = one_d ? 1 : x->dims[0];
    p.w = x->dims[x->rank - 2];
    p.c = x->dims[x->rank - 1];
    p.kh = one_d ? 1 : n->attr.kernel_size;
    p.kw = n->attr.kernel_size;
    p.sh = one_d ? 1 : n->attr.strides;
    p.sw = n->attr.strides;
    p.dh = one_d ? 1 : n->attr.dilation;
    p.dw = n->attr.dilation;
    p.groups = kind == CONV_DEPTHWISE ? p.c : n->attr.groups;
    p.oc = kind == CONV_DEPTHWISE ? p.c * n->attr.depth_multiplier : n->attr.filters;
    if (p.c % p.groups || p.oc % p.groups) {
        diag_error(n->loc, "%s: %s (%d) is not divisible by groups (%d)", op_table[n->op].name,
                   p.c % p.groups ? "input channels" : "filters", p.c % p.groups ? p.c : p.oc, p.groups);
        return -1;
    }
    if (window(p.h, p.kh, p.sh, p.dh, n->attr.padding, &p.oh, &p.pt) ||
        window(p.w, p.kw, p.sw, p.dw, n->attr.padding, &p.ow, &p.pl)) {
        char buf[96];
        diag_error(n->loc, "%s: the %dx%d kernel%s is larger than the input %s; "
                   "use padding = same or a smaller kernel", op_table[n->op].name, p.kh, p.kw,
                   n->attr.dilation > 1 ? " (dilated)" : "", ir_shape_str(x, buf, sizeof buf));
        return -1;
    }
    n->attr.conv = p;
    int dims[3] = { p.oh, p.ow, p.oc };
    make_out(g, node, 1, one_d ? 2 : 3, one_d ? dims + 1 : dims);
    int scratch = (int)NNC_RT_CONV2D_SCRATCH(&p);
    extra_out(g, node, 1, "scratch", 0, 1, &scratch);
    return 0;
}

static void conv_params(Graph *g, int node) {
    Node *n = &g->nodes[node];
    nnc_rt_conv2d p = n->attr.conv;
    int kind = op_table[n->op].kind, cg = p.c / p.groups;
    Attrs a = n->attr;
    int kd[4] = { p.kh, p.kw, cg, p.oc }, rank = 4, *dims = kd;
    if (kind == CONV_1D) { dims = kd + 1; rank = 3; }
    if (kind == CONV_DEPTHWISE) { kd[2] = p.c; kd[3] = a.depth_multiplier; }
    /* Keras' fans: receptive field times the kernel's last two axes */
    int field = p.kh * p.kw;
    new_param(g, node, "kernel", rank, dims, a.kernel_init, field * kd[2], field * kd[3],
              a.kernel_l1, a.kernel_l2);
    if (a.use_bias) new_param(g, node, "bias", 1, &p.oc, a.bias_init, 0, 0, a.bias_l1, a.bias_l2);
}

static int add_scratch(Graph *g, const nnc_rt_conv2d *p) {
    int scratch = (int)NNC_RT_CONV2D_SCRATCH(p);
    return extra_out(g, g->nnodes - 1, 1, "scratch", 0, 1, &scratch);
}

/* dz = act'(dy); dx = conv^T(dz, w); dw = sum over the batch of x (*) dz; db = sum dz */
static void conv_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    int dz = dout[0];
    if (n.attr.act != NNC_RT_ACT_LINEAR) {
        int in[2] = { dout[0], n.out[0] };
        dz = bwd(g, op_id("act_grad"), in, 2, &n, n.out[0]);
    }
    if (g->values[n.in[0]].requires_grad) {
        int in[2] = { dz, n.in[1] };
        din[0] = bwd(g, op_id("conv_grad_data"), in, 2, &n, n.in[0]);
        add_scratch(g, &n.attr.conv);
    }
    int in[2] = { n.in[0], dz };
    din[1] = bwd(g, op_id("conv_grad_filter"), in, 2, &n, n.in[1]);
    add_scratch(g, &n.attr.conv);
    if (n.nin > 2) din[2] = bwd(g, op_id("bias_grad"), &dz, 1, &n, n.in[2]);
}

static long conv_flops(const Graph *g, const Node *n) {
    (void)g;
    const nnc_rt_conv2d *p = &n->attr.conv;
    long out = (long)p->oh * p->ow * p->oc;
    return 2 * out * p->kh * p->kw * (p->c / p->groups) + (n->nin > 2 ? out : 0) +
           (n->attr.act == NNC_RT_ACT_LINEAR ? 0 : out);
}

static void conv_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_conv2d_forward(%s, %s, %s, %s, %s, %s, n, %d); /* %s */",
              emit_conv(e, &n->attr.conv), emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]),
              emit_ptr(e, n->in[1]), n->nin > 2 ? emit_ptr(e, n->in[2]) : "NULL",
              emit_ptr(e, n->out[1]), n->attr.act, n->layer);
}

static void conv_grad_data_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_conv2d_backward_data(%s, %s, %s, %s, %s, n);", emit_conv(e, &n->attr.conv),
              emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]),
              emit_ptr(e, n->out[1]));
}

static void conv_grad_filter_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_conv2d_backward_filter(%s, %s, %s, %s, %s, n);", emit_conv(e, &n->attr.conv),
              emit_ptr(e, n->out[0]), emit_ptr(e, n->in[1]), emit_ptr(e, n->in[0]),
              emit_ptr(e, n->out[1]));
}

/* ---- pooling: max/avg 2-D and 1-D, global ------------------------------------- */

enum { POOL_AVG = 1, POOL_GLOBAL = 2, POOL_1D = 4 };

static const AttrDef pool_attrs[] = {
    { "pool_size", AT_INT, offsetof(Attrs, pool_size), "2" },
    { "strides", AT_INT, offsetof(Attrs, strides), "0" },      /* 0: pool_size */
    { "padding", AT_PADDING, offsetof(Attrs, padding), "valid" },
};

static int pool_shape(Graph *g, int node) {
    Node *n = &g->nodes[node];
    int kind = op_table[n->op].kind, one_d = kind & POOL_1D;
    Value *x = in_val(g, node, 0);
    if (kind & POOL_GLOBAL) {
        if (x->rank != 2 && x->rank != 3) {
            want_rank(g, node, 3, "(n, height, width, channels) or (n, steps, channels)", "");
            return -1;
        }
        one_d = x->rank == 2;
    } else if (want_rank(g, node, one_d ? 2 : 3, one_d ? "(n, steps, channels)" : "(n, height, width, channels)", "")) {
        return -1;
    }
    nnc_rt_pool2d p;
    memset(&p, 0, sizeof p);
    p.h = one_d ? 1 : x->dims[0];
    p.w = x->dims[x->rank - 2];
    p.c = x->dims[x->rank - 1];
    if (kind & POOL_GLOBAL) {
        p.kh = p.oh = p.h; p.kw = p.ow = p.w;
        p.kh = p.h; p.kw = p.w; p.sh = p.sw = 1; p.oh = p.ow = 1;
        n->attr.pool = p;
        return make_out(g, node, 1, 1, &p.c);
    }
    int k = n->attr.pool_size, s = n->attr.strides ? n->attr.strides : k;
    p.kh = one_d ? 1 : k; p.kw = k;
    p.sh = one_d ? 1 : s; p.sw = s;
    if (window(p.h, p.kh, p.sh, 1, n->attr.padding, &p.oh, &p.pt) ||
        window(p.w, p.kw, p.sw, 1, n->attr.padding, &p.ow, &p.pl)) {
        char buf[96];
        diag_error(n->loc, "%s: the pool window %d is larger than the input %s; use padding = same "
                   "or a smaller pool_size", op_table[n->op].name, k, ir_shape_str(x, buf, sizeof buf));
        return -1;
    }
    n->attr.pool = p;
    int dims[3] = { p.oh, p.ow, p.c };
    return make_out(g, node, 1, one_d ? 2 : 3, one_d ? dims + 1 : dims);
}

static void pool_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    if (op_table[n.op].kind & POOL_AVG) {
        din[0] = bwd(g, op_id("avg_pool_grad"), dout, 1, &n, n.in[0]);
    } else {
        int in[2] = { dout[0], n.in[0] };
        din[0] = bwd(g, op_id("max_pool_grad"), in, 2, &n, n.in[0]);
    }
}

static long pool_flops(const Graph *g, const Node *n) {
    (void)g;
    const nnc_rt_pool2d *p = &n->attr.pool;
    return (long)p->oh * p->ow * p->c * p->kh * p->kw;
}

static void pool_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_%spool2d_forward(%s, %s, %s, n); /* %s */",
              op_table[n->op].kind & POOL_AVG ? "avg" : "max", emit_pool(e, &n->attr.pool),
              emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), n->layer);
}

static void max_pool_grad_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_maxpool2d_backward(%s, %s, %s, %s, n);", emit_pool(e, &n->attr.pool),
              emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]));
}

static void avg_pool_grad_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_avgpool2d_backward(%s, %s, %s, n);", emit_pool(e, &n->attr.pool),
              emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]));
}

/* ---- batch_norm: over the last axis; batch statistics while training ---------- */

static const AttrDef bn_attrs[] = {
    { "momentum", AT_FLOAT, offsetof(Attrs, momentum), "0.99" },
    { "epsilon", AT_FLOAT, offsetof(Attrs, epsilon), "0.001" },
};

static int bn_shape(Graph *g, int node) {
    Node *n = &g->nodes[node];
    Value *x = in_val(g, node, 0);
    if (n->attr.momentum < 0 || n->attr.momentum >= 1 || n->attr.epsilon <= 0) {
        diag_error(n->loc, "batch_norm needs 0 <= momentum < 1 and epsilon > 0");
        return -1;
    }
    int c = (int)last_dim(x);
    same_shape(g, node);
    extra_out(g, node, 1, "mean", 0, 1, &c);
    extra_out(g, node, 2, "invstd", 0, 1, &c);
    return 0;
}

static void bn_params(Graph *g, int node) {
    int c = (int)last_dim(in_val(g, node, 0));
    new_param(g, node, "gamma", 1, &c, NNC_RT_INIT_ONES, 0, 0, 0, 0);
    new_param(g, node, "beta", 1, &c, NNC_RT_INIT_ZEROS, 0, 0, 0, 0);
    /* new_param may move g->values: index only after it returns */
    int mean = new_param(g, node, "moving_mean", 1, &c, NNC_RT_INIT_ZEROS, 0, 0, 0, 0);
    g->values[mean].trainable = 0;
    g->values[mean].state = 1;
    int var = new_param(g, node, "moving_variance", 1, &c, NNC_RT_INIT_ONES, 0, 0, 0, 0);
    g->values[var].trainable = 0;
    g->values[var].state = 1;
}

/* one node gives dgamma, dbeta and (when wanted) dx from the saved statistics */
static void bn_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    int in[5] = { dout[0], n.in[0], n.out[1], n.out[2], n.in[1] };
    din[1] = bwd(g, op_id("batch_norm_grad"), in, 5, &n, n.in[1]);
    int b = g->nnodes - 1;
    din[2] = extra_out(g, b, 1, "beta", 0, 1, g->values[n.in[2]].dims);
    if (g->values[n.in[0]].requires_grad) {
        const Value *x = &g->values[n.in[0]];
        din[0] = extra_out(g, b, 2, "x", 1, x->rank, x->dims);
    }
    /* name the outputs for what they are */
    for (int i = 0; i < 3; i += 2) {
        char name[IR_NAME];
        snprintf(name, sizeof name, "d%.*s", IR_NAME - 2, g->values[n.in[i]].name);
        if (din[i] >= 0) memcpy(g->values[din[i]].name, name, sizeof name);
    }
}

static long bn_flops(const Graph *g, const Node *n) { return 2 * ir_size(&g->values[n->out[0]]); }

static void bn_emit(EmitCtx *e, const Node *n) {
    const Graph *g = emit_graph(e);
    long c = last_dim(&g->values[n->in[0]]);
    if (emit_training(e))
        emit_line(e, "nnc_rt_batchnorm_forward_train(%s, %s, %s, %s, %s, %s, %s, %s, %s, %ld, %s, %s); /* %s */",
                  emit_ptr(e, n->out[0]), emit_ptr(e, n->out[1]), emit_ptr(e, n->out[2]),
                  emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), emit_ptr(e, n->in[2]),
                  emit_ptr(e, n->in[3]), emit_ptr(e, n->in[4]), rows(e, n->in[0]), c,
                  emit_float(e, n->attr.momentum), emit_float(e, n->attr.epsilon), n->layer);
    else
        emit_line(e, "nnc_rt_batchnorm_forward_infer(%s, %s, %s, %s, %s, %s, %s, %ld, %s); /* %s */",
                  emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]),
                  emit_ptr(e, n->in[2]), emit_ptr(e, n->in[3]), emit_ptr(e, n->in[4]),
                  rows(e, n->in[0]), c, emit_float(e, n->attr.epsilon), n->layer);
}

static void bn_grad_emit(EmitCtx *e, const Node *n) {
    const Graph *g = emit_graph(e);
    emit_line(e, "nnc_rt_batchnorm_backward(%s, %s, %s, %s, %s, %s, %s, %s, %s, %ld);",
              n->nout > 2 ? emit_ptr(e, n->out[2]) : "NULL", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->out[1]), emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]),
              emit_ptr(e, n->in[2]), emit_ptr(e, n->in[3]), emit_ptr(e, n->in[4]),
              rows(e, n->in[1]), last_dim(&g->values[n->in[1]]));
}

/* ---- dropout(rate): inverted dropout while training, identity otherwise ------- */

static const AttrDef dropout_attrs[] = { { "rate", AT_FLOAT, offsetof(Attrs, rate), NULL } };

static int dropout_shape(Graph *g, int node) {
    Node *n = &g->nodes[node];
    if (n->attr.rate < 0 || n->attr.rate >= 1) {
        diag_error(n->loc, "dropout rate must be in [0, 1), got %g", n->attr.rate);
        return -1;
    }
    same_shape(g, node);
    const Value *y = &g->values[g->nodes[node].out[0]];
    extra_out(g, node, 1, "mask", 1, y->rank, y->dims);
    return 0;
}

static void dropout_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    int in[2] = { dout[0], n.out[1] };
    din[0] = bwd(g, op_id("multiply"), in, 2, &n, n.in[0]);
}

static void dropout_emit(EmitCtx *e, const Node *n) {
    if (emit_training(e))
        emit_line(e, "nnc_rt_dropout_forward(%s, %s, %s, %s, %s, &m->rng);", emit_ptr(e, n->out[0]),
                  emit_ptr(e, n->out[1]), emit_ptr(e, n->in[0]), emit_count(e, n->in[0]),
                  emit_float(e, n->attr.rate));
    else
        emit_line(e, "nnc_rt_copy(%s, %s, %s); /* dropout: identity at inference */",
                  emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), emit_count(e, n->in[0]));
}


/* ---- embedding(vocab, dim): a table lookup per token ------------------------- */

static const AttrDef embedding_attrs[] = {
    { "vocab", AT_INT, offsetof(Attrs, vocab), NULL },
    { "dim", AT_INT, offsetof(Attrs, units), NULL },
    { "embeddings_initializer", AT_INIT, offsetof(Attrs, kernel_init), "uniform" },
    { "embeddings_regularizer", AT_REG, offsetof(Attrs, kernel_l1), "none" },
};

static int embedding_shape(Graph *g, int node) {
    Node *n = &g->nodes[node];
    Value *x = in_val(g, node, 0);
    char buf[96];
    if (x->dtype != DT_I32 || !x->batched || x->rank + 1 > IR_MAX_RANK) {
        diag_error(n->loc, "embedding takes token ids, an input like 'input x: i32[20]'; got f32 %s",
                   ir_shape_str(x, buf, sizeof buf));
        return -1;
    }
    int dims[IR_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    dims[x->rank] = n->attr.units;
    return make_out(g, node, 1, x->rank + 1, dims);
}

static void embedding_params(Graph *g, int node) {
    Attrs a = g->nodes[node].attr;
    int dims[2] = { a.vocab, a.units };
    new_param(g, node, "embeddings", 2, dims, a.kernel_init, a.vocab, a.units, a.kernel_l1, a.kernel_l2);
}

static void embedding_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    int in[2] = { dout[0], n.in[0] };
    din[1] = bwd(g, op_id("embedding_grad"), in, 2, &n, n.in[1]);
}

static void embedding_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_embedding_forward(%s, %s, %s, %s, %d, %d); /* %s */", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), emit_count(e, n->in[0]), n->attr.vocab,
              n->attr.units, n->layer);
}

static void embedding_grad_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_embedding_backward(%s, %s, %s, %s, %d, %d);", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), emit_count(e, n->in[1]), n->attr.vocab,
              n->attr.units);
}

/* ---- recurrent layers: simple_rnn, lstm, gru (runtime/rnn.c has the math) ------
 * Outputs: y, then (return_state) h and, for lstm, c, then the workspace the
 * forward pass saves for back-propagation through time. */

#define RNN_HEAD { "units", AT_INT, offsetof(Attrs, units), NULL }
#define RNN_TAIL \
    { "return_sequences", AT_BOOL, offsetof(Attrs, return_sequences), "false" }, \
    { "return_state", AT_BOOL, offsetof(Attrs, return_state), "false" }, \
    { "use_bias", AT_BOOL, offsetof(Attrs, use_bias), "true" }, \
    { "kernel_initializer", AT_INIT, offsetof(Attrs, kernel_init), "glorot_uniform" }, \
    { "recurrent_initializer", AT_INIT, offsetof(Attrs, recurrent_init), "orthogonal" }, \
    { "bias_initializer", AT_INIT, offsetof(Attrs, bias_init), "zeros" }, \
    { "kernel_regularizer", AT_REG, offsetof(Attrs, kernel_l1), "none" }, \
    { "recurrent_regularizer", AT_REG, offsetof(Attrs, rec_l1), "none" }

static const AttrDef simple_rnn_attrs[] = {
    RNN_HEAD, { "activation", AT_ACT, offsetof(Attrs, act), "tanh" }, RNN_TAIL };
static const AttrDef lstm_attrs[] = {
    RNN_HEAD, RNN_TAIL, { "unit_forget_bias", AT_BOOL, offsetof(Attrs, unit_forget_bias), "true" } };
static const AttrDef gru_attrs[] = { RNN_HEAD, RNN_TAIL };

static int rnn_shape(Graph *g, int node) {
    Node *n = &g->nodes[node];
    const char *name = op_table[n->op].name;
    if (want_rank(g, node, 2, "(n, steps, features)",
                  "; sequences are 'input x: f32[steps, features]', or come from embedding"))
        return -1;
    if (n->attr.act == NNC_RT_ACT_SOFTMAX || n->attr.act == NNC_RT_ACT_RELU6) {
        diag_error(n->loc, "%s: %s is not a state activation; use tanh, relu, sigmoid or linear", name,
                   act_name(n->attr.act));
        return -1;
    }
    Value *x = in_val(g, node, 0);
    nnc_rt_rnn p = { x->dims[0], x->dims[1], n->attr.units, op_table[n->op].kind, n->attr.act,
                     n->attr.return_sequences, n->attr.reverse };
    n->attr.rnn = p;
    int seq[2] = { p.steps, p.units }, work = (int)NNC_RT_RNN_WORK(&p);
    make_out(g, node, 1, p.return_sequences ? 2 : 1, p.return_sequences ? seq : seq + 1);
    n = &g->nodes[node];
    n->attr.outputs = 1;
    if (n->attr.return_state) {
        extra_out(g, node, 1, "h", 1, 1, &p.units);
        if (p.cell == NNC_RT_CELL_LSTM) extra_out(g, node, 2, "c", 1, 1, &p.units);
        g->nodes[node].attr.outputs = p.cell == NNC_RT_CELL_LSTM ? 3 : 2;
    }
    extra_out(g, node, g->nodes[node].attr.outputs, "work", 1, 1, &work);
    return 0;
}

static void rnn_params(Graph *g, int node) {
    Attrs a = g->nodes[node].attr;
    const nnc_rt_rnn *p = &a.rnn;
    int G = NNC_RT_RNN_GATES(p), U = p->units;
    int kd[2] = { p->features, G }, rd[2] = { U, G }, bd[2] = { 2, G };
    new_param(g, node, "kernel", 2, kd, a.kernel_init, p->features, G, a.kernel_l1, a.kernel_l2);
    new_param(g, node, "recurrent_kernel", 2, rd, a.recurrent_init, U, G, a.rec_l1, a.rec_l2);
    if (!a.use_bias) return;
    int lstm_forget = p->cell == NNC_RT_CELL_LSTM && a.unit_forget_bias;
    if (p->cell == NNC_RT_CELL_GRU)   /* reset_after: input and recurrent biases */
        new_param(g, node, "bias", 2, bd, a.bias_init, 0, 0, 0, 0);
    else
        new_param(g, node, "bias", 1, &G, lstm_forget ? NNC_RT_INIT_UNIT_FORGET : a.bias_init, U, 0, 0, 0);
}

/* rename a backward output "d" + the value it is the gradient of */
static void grad_name(Graph *g, int dv, int of) {
    char name[IR_NAME];
    snprintf(name, sizeof name, "d%.*s", IR_NAME - 2, g->values[of].name);
    memcpy(g->values[dv].name, name, sizeof name);
}

/* one rnn_grad node: inputs x, W, R, work, then the output gradients that
 * exist; outputs dW, dR, [db], scratch, [dx] */
static void rnn_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    int in[IR_MAX_IO] = { n.in[0], n.in[1], n.in[2], n.out[n.nout - 1] }, nin = 4;
    n.attr.grads = 0;
    for (int i = 0; i < n.attr.outputs; i++)
        if (dout[i] >= 0) { in[nin++] = dout[i]; n.attr.grads |= 1 << i; }
    din[1] = bwd(g, op_id("rnn_grad"), in, nin, &n, n.in[1]);
    int b = g->nnodes - 1, k = 1;
    const Value *r = &g->values[n.in[2]];
    din[2] = extra_out(g, b, k++, "r", 0, r->rank, r->dims);
    grad_name(g, din[2], n.in[2]);
    if (n.nin > 3) {
        const Value *bias = &g->values[n.in[3]];
        din[3] = extra_out(g, b, k++, "b", 0, bias->rank, bias->dims);
        grad_name(g, din[3], n.in[3]);
    }
    int scratch = (int)NNC_RT_RNN_SCRATCH(&n.attr.rnn);
    extra_out(g, b, k++, "scratch", 1, 1, &scratch);
    if (g->values[n.in[0]].requires_grad) {
        const Value *x = &g->values[n.in[0]];
        din[0] = extra_out(g, b, k, "x", 1, x->rank, x->dims);
        grad_name(g, din[0], n.in[0]);
    }
}

static long rnn_flops(const Graph *g, const Node *n) {
    (void)g;
    const nnc_rt_rnn *p = &n->attr.rnn;
    long G = NNC_RT_RNN_GATES(p);
    return (long)p->steps * (2 * G * (p->features + p->units) + 4 * G);
}

static void rnn_emit(EmitCtx *e, const Node *n) {
    int st = n->attr.return_state;
    emit_line(e, "nnc_rt_rnn_forward(%s, %s, %s, %s, %s, %s, %s, %s, %s, n); /* %s */",
              emit_rnn(e, n), emit_ptr(e, n->out[0]), st ? emit_ptr(e, n->out[1]) : "NULL",
              st && n->attr.outputs > 2 ? emit_ptr(e, n->out[2]) : "NULL", emit_ptr(e, n->out[n->nout - 1]),
              emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), emit_ptr(e, n->in[2]),
              n->nin > 3 ? emit_ptr(e, n->in[3]) : "NULL", n->layer);
}

static void rnn_grad_emit(EmitCtx *e, const Node *n) {
    const char *d[3] = { "NULL", "NULL", "NULL" };
    for (int i = 0, k = 4; i < 3; i++)
        if (n->attr.grads >> i & 1) d[i] = emit_ptr(e, n->in[k++]);
    int k = n->attr.use_bias ? 3 : 2;   /* the scratch output */
    emit_line(e, "nnc_rt_rnn_backward(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, n);",
              emit_rnn(e, n), n->nout > k + 1 ? emit_ptr(e, n->out[k + 1]) : "NULL",
              emit_ptr(e, n->out[0]), emit_ptr(e, n->out[1]), n->attr.use_bias ? emit_ptr(e, n->out[2]) : "NULL",
              d[0], d[1], d[2], emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), emit_ptr(e, n->in[2]),
              emit_ptr(e, n->in[3]), emit_ptr(e, n->out[k]));
}


/* ---- N-d tensor ops with ONNX semantics (runtime/tensor_nd.c) -------------------
 * Built by the ONNX importer with their output shapes and descriptors
 * already computed (it folds constants through the same kernels), so their
 * rules only print the call. */

/* the descriptor as a compound literal; a per-sample node's axis 0 runs over n */
static const char *emit_nd(EmitCtx *e, const Node *n, const nnc_rt_nd *p) {
    static char b[8][2048];
    static int k;
    char *s = b[k++ % 8];
    int len = snprintf(s, 2048, "&(const nnc_rt_nd){ %d, {", p->rank);
    const long *rows[4] = { p->dims, p->ys, p->as, p->bs };
    for (int r = 0; r < 4; r++) {
        if (r) len += snprintf(s + len, 2048 - len, "}, {");
        for (int d = 0; d < (p->rank ? p->rank : 1); d++)
            if (p->rank && !r && !d && n->attr.batched && rows[r][d] == 1)
                len += snprintf(s + len, 2048 - len, "n");
            else
                len += snprintf(s + len, 2048 - len, "%s%ld", d ? ", " : "", p->rank ? rows[r][d] : 0L);
    }
    snprintf(s + len, 2048 - len, "}, %ld, %ld, %ld }", p->yoff, p->aoff, p->boff);
    (void)e;
    return s;
}

/* a count of a per-sample node (outer, rows, cells) as printed: times n */
static const char *per_n(EmitCtx *e, const Node *n, long v) { return emit_times_n(e, n->attr.batched, v); }

static void nd_copy_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_copy_nd(%s, %s, %s);", emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]),
              emit_nd(e, n, &n->attr.nd));
}

static void nd_fill_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_fill(%s, %s, %s);", emit_ptr(e, n->out[0]), emit_count(e, n->out[0]),
              emit_float(e, n->attr.alpha));
}

/* pad: the fill value everywhere, then the input copied into the interior */
static void nd_pad_emit(EmitCtx *e, const Node *n) {
    nd_fill_emit(e, n);
    nd_copy_emit(e, n);
}

static void nd_unary_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_unary(%d, %s, %s, %s, %s, %s);", n->attr.fn, emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_count(e, n->out[0]), emit_float(e, n->attr.alpha),
              emit_float(e, n->attr.beta));
}

static void nd_binary_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_binary_nd(%d, %s, %s, %s, %s);", n->attr.fn, emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), emit_nd(e, n, &n->attr.nd));
}

static void nd_where_emit(EmitCtx *e, const Node *n) {
    char cs[512];
    int len = snprintf(cs, sizeof cs, "(const long[]){ ");
    for (int d = 0; d < (n->attr.nd.rank ? n->attr.nd.rank : 1); d++)
        len += snprintf(cs + len, sizeof cs - len, "%s%ld", d ? ", " : "", n->attr.nd.rank ? n->attr.cs[d] : 0L);
    snprintf(cs + len, sizeof cs - len, " }");
    emit_line(e, "nnc_rt_where_nd(%s, %s, %s, %s, %s, %s);", emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]),
              emit_ptr(e, n->in[1]), emit_ptr(e, n->in[2]), emit_nd(e, n, &n->attr.nd), cs);
}

static void nd_reduce_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_reduce_nd(%d, %s, %s, %s, %s, %ld);", n->attr.fn, emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_nd(e, n, &n->attr.nd),
              emit_times_n(e, emit_graph(e)->values[n->out[0]].batched, n->attr.ny), n->attr.count);
}

static void nd_softmax_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_softmax_axis(%d, %s, %s, %s, %ld, %ld);", n->attr.fn, emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), per_n(e, n, n->attr.outer), n->attr.alen, n->attr.inner);
}

static void nd_matmul_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_matmul_nd(%s, %s, %s, %s, %s, %d, %d);", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), emit_nd(e, n, &n->attr.nd),
              n->attr.nd.rank ? emit_times_n(e, 0, n->attr.M) : per_n(e, n, n->attr.M), n->attr.N, n->attr.K);
}

static void nd_arg_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_arg_axis(%d, %s, %s, %s, %ld, %ld, %ld);", n->attr.fn, emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), per_n(e, n, n->attr.outer), n->attr.alen, n->attr.inner, n->attr.count);
}

static void nd_cumsum_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_cumsum_axis(%s, %s, %s, %ld, %ld, %d, %ld);", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), per_n(e, n, n->attr.outer), n->attr.alen, n->attr.inner, n->attr.fn, n->attr.count);
}

static void nd_gather_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_gather_axis(%s, %s, %s, %s, %ld, %ld, %ld, %d);", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), per_n(e, n, n->attr.outer), n->attr.alen, n->attr.inner,
              n->attr.ny, n->attr.fn);
}

static void nd_nll_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_nll_loss(%s, %s, %s, %s, %ld, %ld, %ld, %d, %ldL);", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), n->nin > 2 ? emit_ptr(e, n->in[2]) : "NULL",
              n->attr.outer, n->attr.alen, n->attr.inner, n->attr.fn, n->attr.count);
}

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

/* ---- compile-time evaluation of the N-d ops: the kernels the emitted calls run ---- */

static void nd_copy_fold(const Fold *f) { nnc_rt_copy_nd(f->y, f->in[0], &f->a->nd); }
static void nd_fill_fold(const Fold *f) { nnc_rt_fill(f->y, f->ny, f->a->alpha); }
static void nd_pad_fold(const Fold *f) { nd_fill_fold(f); nd_copy_fold(f); }
static void nd_unary_fold(const Fold *f) { nnc_rt_unary(f->a->fn, f->y, f->in[0], f->ny, f->a->alpha, f->a->beta); }
static void nd_binary_fold(const Fold *f) { nnc_rt_binary_nd(f->a->fn, f->y, f->in[0], f->in[1], &f->a->nd); }
static void nd_where_fold(const Fold *f) {
    nnc_rt_where_nd(f->y, f->in[0], f->in[1], f->in[2], &f->a->nd, f->a->cs);
}
static void nd_reduce_fold(const Fold *f) {
    nnc_rt_reduce_nd(f->a->fn, f->y, f->in[0], &f->a->nd, f->a->ny, f->a->count);
}
static void nd_softmax_fold(const Fold *f) {
    nnc_rt_softmax_axis(f->a->fn, f->y, f->in[0], f->a->outer, f->a->alen, f->a->inner);
}
static void nd_matmul_fold(const Fold *f) {
    nnc_rt_matmul_nd(f->y, f->in[0], f->in[1], &f->a->nd, f->a->M, f->a->N, f->a->K);
}
static void nd_cumsum_fold(const Fold *f) {
    nnc_rt_cumsum_axis(f->y, f->in[0], f->a->outer, f->a->alen, f->a->inner, f->a->fn, (int)f->a->count);
}
static void nd_arg_fold(const Fold *f) {
    nnc_rt_arg_axis(f->a->fn, f->y, f->in[0], f->a->outer, f->a->alen, f->a->inner, (int)f->a->count);
}
static void nd_gather_fold(const Fold *f) {
    nnc_rt_gather_axis(f->y, f->in[0], f->in[1], f->a->outer, f->a->alen, f->a->inner, f->a->ny, f->a->fn);
}
static void nd_nll_fold(const Fold *f) {
    nnc_rt_nll_loss(f->y, f->in[0], f->in[1], f->nin > 2 ? f->in[2] : NULL, f->a->outer, f->a->alen,
                    f->a->inner, f->a->fn, f->a->count);
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

/* convolution and pooling of a whole NHWC tensor (the importer transposes
 * around them): the batch is the literal attr.M, not the run-time n; the
 * activation epilogue is fuse_nd_conv's */
static void nd_conv_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_conv2d_forward(%s, %s, %s, %s, %s, %s, %s, %d);", emit_conv(e, &n->attr.conv),
              emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]),
              n->nin > 2 ? emit_ptr(e, n->in[2]) : "NULL", emit_ptr(e, n->out[1]), per_n(e, n, n->attr.M), n->attr.act);
}

/* ConvTranspose: the data gradient of the forward convolution attr.conv */
static void nd_conv_t_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_conv2d_backward_data(%s, %s, %s, %s, %s, %s);", emit_conv(e, &n->attr.conv),
              emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), emit_ptr(e, n->out[1]),
              per_n(e, n, n->attr.M));
}

static void nd_pool_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_%spool2d_forward(%s, %s, %s, %s);", n->attr.fn ? "avg" : "max",
              emit_pool(e, &n->attr.pool), emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), per_n(e, n, n->attr.M));
}

/* a recurrent layer over a whole tensor: batch attr.M (ONNX LSTM/GRU/RNN) */
static void nd_rnn_emit(EmitCtx *e, const Node *n) {
    int lstm = n->attr.rnn.cell == NNC_RT_CELL_LSTM;
    emit_line(e, "nnc_rt_rnn_forward(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s);", emit_rnn(e, n),
              emit_ptr(e, n->out[0]), emit_ptr(e, n->out[1]), lstm ? emit_ptr(e, n->out[2]) : "NULL",
              emit_ptr(e, n->out[n->nout - 1]), emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]),
              emit_ptr(e, n->in[2]), n->nin > 3 ? emit_ptr(e, n->in[3]) : "NULL", per_n(e, n, n->attr.M));
}

/* ---- gradients of the N-d ops (training an imported model) ----------------------- */

int unary_act(const Node *n) {
    if (n->op != op_id("nd_unary")) return -1;
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

/* the activations (unary_act) from the output; identity passes the gradient on */
static void nd_unary_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    int act = unary_act(&n);
    if (n.attr.fn == NNC_RT_UN_IDENTITY) { din[0] = dout[0]; return; }
    if (act >= 0) {
        n.attr.act = act;
        int in[2] = { dout[0], n.out[0] };
        din[0] = bwd(g, op_id("act_grad"), in, 2, &n, n.in[0]);
        return;
    }
    diag_error(n.loc, "training through element-wise function %d of '%s' is not supported yet", n.attr.fn, n.layer);
}

/* a 2-D product: as dense's, dA = dY B^T, dB = A^T dY */
static void nd_matmul_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    if (n.attr.nd.rank) {
        diag_error(n.loc, "training through a batched MatMul ('%s') is not supported yet", n.layer);
        return;
    }
    int matmul = op_id("matmul");
    for (int i = 0; i < 2; i++) {
        if (!g->values[n.in[i]].requires_grad) continue;
        int in[2] = { i ? n.in[0] : dout[0], i ? dout[0] : n.in[1] };
        din[i] = bwd(g, matmul, in, 2, &n, n.in[i]);
        g->nodes[g->nnodes - 1].attr.trans_a = i;
        g->nodes[g->nnodes - 1].attr.trans_b = !i;
    }
}

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
    return bwd(g, op_id("nd_reduce"), &t, 1, &r, n->in[which]);
}

/* add, sub, mul with broadcasting */
static void nd_binary_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    int fn = n.attr.fn;
    if (fn != NNC_RT_BIN_ADD && fn != NNC_RT_BIN_SUB && fn != NNC_RT_BIN_MUL) {
        diag_error(n.loc, "training through binary operator %d of '%s' is not supported yet", fn, n.layer);
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
            t = bwd(g, op_id("nd_binary"), in, 2, &m, n.out[0]);
        }
        int d = unbroadcast(g, &n, t, i);
        if (fn == NNC_RT_BIN_SUB && i == 1) {
            Node m = n;
            m.attr.fn = NNC_RT_UN_NEG;
            d = bwd(g, op_id("nd_unary"), &d, 1, &m, n.in[1]);
        }
        din[i] = d;
    }
}

/* a copy that reads every input element at most once (reshape, transpose,
 * slice, pad): the gradient is the same copy backwards into zeros */
static void nd_copy_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    nnc_rt_nd p = n.attr.nd;
    for (int d = 0; d < p.rank; d++)
        if (p.as[d] == 0 && p.dims[d] > 1) {
            diag_error(n.loc, "training through a broadcasting copy ('%s') is not supported yet", n.layer);
            return;
        }
    nnc_rt_nd q = p;
    memcpy(q.ys, p.as, sizeof q.ys);
    memcpy(q.as, p.ys, sizeof q.as);
    q.yoff = p.aoff;
    q.aoff = p.yoff;
    n.attr.nd = q;
    n.attr.alpha = 0;
    din[0] = bwd(g, op_id("nd_pad"), dout, 1, &n, n.in[0]);
}

/* a sum or mean: each input cell gets its output cell's gradient, a copy
 * reading dY through the reduction's output strides (0 on the reduced
 * axes), over the count for a mean */
static void nd_reduce_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    if (n.attr.fn != NNC_RT_RED_SUM && n.attr.fn != NNC_RT_RED_MEAN) {
        diag_error(n.loc, "training through reduction %d of '%s' is not supported yet", n.attr.fn, n.layer);
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
    int d = bwd(g, op_id(whole ? "nd_copy" : "nd_pad"), dout, 1, &n, n.in[0]);
    if (n.attr.fn == NNC_RT_RED_MEAN) {
        n.attr.fn = NNC_RT_UN_AFFINE;
        n.attr.alpha = 1.0f / (float)n.attr.count;
        n.attr.beta = 0;
        d = bwd(g, op_id("nd_unary"), &d, 1, &n, n.in[0]);
    }
    din[0] = d;
}

static void nd_softmax_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    if (n.attr.fn == NNC_RT_SOFTMAX_HARD) {
        diag_error(n.loc, "training through Hardmax ('%s') has no gradient", n.layer);
        return;
    }
    int in[2] = { dout[0], n.out[0] };
    din[0] = bwd(g, op_id("nd_softmax_grad"), in, 2, &n, n.in[0]);
}

static void nd_softmax_grad_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_softmax_axis_backward(%d, %s, %s, %s, %s, %ld, %ld);", n->attr.fn, emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), per_n(e, n, n->attr.outer), n->attr.alen, n->attr.inner);
}

static long nd_flops(const Graph *g, const Node *n) {
    if (op_table[n->op].conv) return conv_flops(g, n) * n->attr.M;   /* M: the samples */
    if (n->attr.M) {
        long b = 1;
        for (int d = 0; d < n->attr.nd.rank; d++) b *= n->attr.nd.dims[d];
        return 2L * b * n->attr.M * n->attr.N * n->attr.K;
    }
    return ir_size(&g->values[n->out[0]]);
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

/* the samples a loss averages over and the values per sample: the batch n,
 * or for a whole-tensor (imported) output its first axis */
static void loss_view(EmitCtx *e, int v, char *rows, size_t cap, long *m) {
    const Value *x = &emit_graph(e)->values[v];
    long r = ir_sample_rows(x);
    if (x->batched) snprintf(rows, cap, "n");
    else snprintf(rows, cap, "%ld", r);
    *m = ir_size(x) / r;
}

static void loss_emit(EmitCtx *e, const Node *n) {
    char rows[32];
    long m;
    loss_view(e, n->in[0], rows, sizeof rows, &m);
    emit_line(e, "loss = nnc_rt_loss_forward(%d, %s, y, %s, %ld); /* %s */", n->attr.loss,
              emit_ptr(e, n->in[0]), rows, m, loss_name(n->attr.loss));
}

static void loss_grad_emit(EmitCtx *e, const Node *n) {
    char rows[32];
    long m;
    loss_view(e, n->in[0], rows, sizeof rows, &m);
    emit_line(e, "nnc_rt_loss_backward(%d, %s, %s, y, %s, %ld);", n->attr.loss,
              emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), rows, m);
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
        emit_line(e, "nnc_rt_sgd_update(m->params, m->grads, %s, TRAINABLE_COUNT, %s, %s, %d);",
                  t->momentum != 0 ? "m->opt[0]" : "NULL", emit_float(e, t->lr),
                  emit_float(e, t->momentum), t->nesterov);
        break;
    case OPT_RMSPROP:
        emit_line(e, "nnc_rt_rmsprop_update(m->params, m->grads, m->opt[0], %s, TRAINABLE_COUNT, "
                  "%s, %s, %s, %s);", t->momentum != 0 ? "m->opt[1]" : "NULL", emit_float(e, t->lr),
                  emit_float(e, t->rho), emit_float(e, t->momentum), emit_float(e, t->eps));
        break;
    case OPT_ADAM: case OPT_ADAMW:
        emit_line(e, "nnc_rt_adam_update(m->params, m->grads, m->opt[0], m->opt[1], TRAINABLE_COUNT, "
                  "m->step, %s, %s, %s, %s, %s);", emit_float(e, t->lr), emit_float(e, t->beta1),
                  emit_float(e, t->beta2), emit_float(e, t->eps),
                  emit_float(e, t->opt == OPT_ADAMW ? t->weight_decay : 0.0f));
        break;
    }
}

static int no_shape(Graph *g, int node) { (void)g; (void)node; return 0; }

/* ---- the table ------------------------------------------------------------------ */

#define ACT(nm, k) { .name = nm, .rt = RT_ACT, .layer = 1, .ninputs = 1, .kind = k, .inplace = 1, \
                     .shape = same_shape, .grad = act_grad, .flops = act_flops, .emit = act_emit }
#define CONV(nm, k, a) { .name = nm, .rt = RT_CONV | RT_GEMM | RT_ACT, .layer = 1, .ninputs = 1, .kind = k, .epilogue = 1, \
                         .conv = 1, .gemm = conv_gemm, \
                         .attrs = a, .nattrs = COUNT(a), .shape = conv_shape, .params = conv_params, \
                         .grad = conv_grad, .flops = conv_flops, .emit = conv_emit }
#define POOL(nm, k) { .name = nm, .rt = RT_POOL, .layer = 1, .ninputs = 1, .kind = k, \
                      .attrs = (k) & POOL_GLOBAL ? NULL : pool_attrs, .nattrs = (k) & POOL_GLOBAL ? 0 : 3, \
                      .shape = pool_shape, .grad = pool_grad, .flops = pool_flops, .emit = pool_emit }
#define RNN(nm, k, a) { .name = nm, .rt = RT_RNN | RT_GEMM | RT_ACT, .layer = 1, .ninputs = 1, .kind = k, .recurrent = 1, \
                       .attrs = a, .nattrs = COUNT(a), .shape = rnn_shape, .params = rnn_params, \
                       .grad = rnn_grad, .flops = rnn_flops, .emit = rnn_emit }
/* an N-d op; the rest: its gradient rule and compile-time evaluation, if any */
#define ND(nm, nin, em, ...) { .name = nm, .rt = RT_TENSOR | RT_GEMM, .ninputs = nin, .shape = no_shape, \
                               .flops = nd_flops, .emit = em, __VA_ARGS__ }
#define INTERNAL(nm, rtm, nin, shp, em) { .name = nm, .rt = rtm, .ninputs = nin, .shape = shp, .emit = em }

const OpDef op_table[] = {
    /* layers: usable in .nn files */
    { .name = "flatten", .layer = 1, .ninputs = 1, .alias = 1, .shape = flatten_shape,
      .grad = reshape_grad, .emit = emit_nothing },
    { .name = "reshape", .layer = 1, .ninputs = 1, .alias = 1, .attrs = reshape_attrs, .nattrs = 1,
      .shape = reshape_layer_shape, .grad = reshape_grad, .emit = emit_nothing },
    { .name = "linear", .layer = 1, .ninputs = 1, .alias = 1, .shape = identity_shape,
      .grad = identity_grad, .emit = emit_nothing },
    ACT("relu", NNC_RT_ACT_RELU),
    ACT("sigmoid", NNC_RT_ACT_SIGMOID),
    ACT("tanh", NNC_RT_ACT_TANH),
    ACT("softmax", NNC_RT_ACT_SOFTMAX),
    ACT("relu6", NNC_RT_ACT_RELU6),
    { .name = "dense", .rt = RT_GEMM | RT_ACT, .layer = 1, .ninputs = 1, .epilogue = 1, .attrs = dense_attrs,
      .nattrs = COUNT(dense_attrs), .shape = dense_shape, .params = dense_params,
      .grad = dense_grad, .flops = dense_flops, .gemm = dense_gemm, .emit = dense_emit },
    CONV("conv2d", CONV_2D, conv_attrs),
    CONV("depthwise_conv2d", CONV_DEPTHWISE, depthwise_attrs),
    CONV("conv1d", CONV_1D, conv_attrs),
    POOL("max_pool2d", 0),
    POOL("avg_pool2d", POOL_AVG),
    POOL("max_pool1d", POOL_1D),
    POOL("avg_pool1d", POOL_AVG | POOL_1D),
    POOL("global_max_pool", POOL_GLOBAL),
    POOL("global_avg_pool", POOL_GLOBAL | POOL_AVG),
    { .name = "batch_norm", .rt = RT_NORM, .layer = 1, .ninputs = 1, .attrs = bn_attrs, .nattrs = COUNT(bn_attrs),
      .shape = bn_shape, .params = bn_params, .grad = bn_grad, .flops = bn_flops, .emit = bn_emit },
    { .name = "dropout", .rt = RT_TENSOR | RT_RNG, .layer = 1, .ninputs = 1, .inplace = 1, .attrs = dropout_attrs,
      .nattrs = COUNT(dropout_attrs), .shape = dropout_shape, .grad = dropout_grad, .emit = dropout_emit },
    { .name = "add", .rt = RT_TENSOR, .layer = 1, .ninputs = 2, .inplace = 1, .shape = elementwise_shape,
      .grad = add_grad, .flops = add_flops, .emit = add_emit },
    { .name = "multiply", .rt = RT_TENSOR, .layer = 1, .ninputs = 2, .inplace = 1, .shape = elementwise_shape,
      .grad = multiply_grad, .flops = add_flops, .emit = multiply_emit },
    { .name = "concat", .rt = RT_TENSOR, .layer = 1, .ninputs = -1, .attrs = concat_attrs, .nattrs = 1,
      .shape = concat_shape, .grad = concat_grad, .emit = concat_emit },
    { .name = "embedding", .rt = RT_RNN, .layer = 1, .ninputs = 1, .int_input = 1, .attrs = embedding_attrs,
      .nattrs = COUNT(embedding_attrs), .shape = embedding_shape, .params = embedding_params,
      .grad = embedding_grad, .emit = embedding_emit },
    RNN("simple_rnn", NNC_RT_CELL_SIMPLE, simple_rnn_attrs),
    RNN("lstm", NNC_RT_CELL_LSTM, lstm_attrs),
    RNN("gru", NNC_RT_CELL_GRU, gru_attrs),
    { .name = "bidirectional", .layer = 1, .wrapper = 1 },
    { .name = "time_distributed", .layer = 1, .wrapper = 1 },
    /* internal: created by passes, never written in .nn files */
    { .name = "view", .ninputs = 1, .alias = 1, .shape = view_shape, .grad = reshape_grad,
      .emit = emit_nothing },
    INTERNAL("act_grad", RT_ACT, 2, no_shape, act_grad_emit),
    { .name = "matmul", .rt = RT_GEMM, .ninputs = 2, .shape = no_shape, .gemm = matmul_gemm, .emit = matmul_emit },
    INTERNAL("bias_grad", RT_ACT, 1, no_shape, bias_grad_emit),
    INTERNAL("conv_grad_data", RT_CONV, 2, no_shape, conv_grad_data_emit),
    INTERNAL("conv_grad_filter", RT_CONV, 2, no_shape, conv_grad_filter_emit),
    INTERNAL("max_pool_grad", RT_POOL, 2, no_shape, max_pool_grad_emit),
    INTERNAL("avg_pool_grad", RT_POOL, 1, no_shape, avg_pool_grad_emit),
    INTERNAL("batch_norm_grad", RT_NORM, 5, no_shape, bn_grad_emit),
    INTERNAL("concat_grad", RT_TENSOR, 1, no_shape, concat_grad_emit),
    INTERNAL("embedding_grad", RT_RNN, 2, no_shape, embedding_grad_emit),
    INTERNAL("rnn_grad", RT_RNN, 4, no_shape, rnn_grad_emit),
    { .name = "loss", .rt = RT_LOSS, .ninputs = 2, .shape = loss_shape, .grad = loss_grad, .emit = loss_emit },
    INTERNAL("loss_grad", RT_LOSS, 2, no_shape, loss_grad_emit),
    INTERNAL("regularize", RT_OPTIM, 1, no_shape, regularize_emit),
    /* N-d tensor ops, built by the ONNX importer */
    ND("nd_copy", 1, nd_copy_emit, .grad = nd_copy_grad, .fold = nd_copy_fold),
    ND("nd_fill", 0, nd_fill_emit, .fold = nd_fill_fold),
    ND("nd_pad", 1, nd_pad_emit, .grad = nd_copy_grad, .fold = nd_pad_fold),
    ND("nd_unary", 1, nd_unary_emit, .grad = nd_unary_grad, .fold = nd_unary_fold),
    ND("nd_binary", 2, nd_binary_emit, .grad = nd_binary_grad, .fold = nd_binary_fold),
    ND("nd_where", 3, nd_where_emit, .fold = nd_where_fold),
    ND("nd_reduce", 1, nd_reduce_emit, .grad = nd_reduce_grad, .fold = nd_reduce_fold),
    ND("nd_softmax", 1, nd_softmax_emit, .grad = nd_softmax_grad, .fold = nd_softmax_fold),
    ND("nd_matmul", 2, nd_matmul_emit, .grad = nd_matmul_grad, .fold = nd_matmul_fold),
    ND("nd_softmax_grad", 2, nd_softmax_grad_emit, .fold = NULL),
    ND("nd_arg", 1, nd_arg_emit, .fold = nd_arg_fold),
    ND("nd_cumsum", 1, nd_cumsum_emit, .fold = nd_cumsum_fold),
    ND("nd_gather", 2, nd_gather_emit, .fold = nd_gather_fold),
    ND("nd_nll", -1, nd_nll_emit, .fold = nd_nll_fold),
    ND("nd_concat", -1, nd_concat_emit, .fold = nd_concat_fold),
    ND("nd_conv", -1, nd_conv_emit, .epilogue = 1, .conv = 1, .gemm = conv_gemm, .fold = NULL),
    ND("nd_pool", 1, nd_pool_emit, .fold = NULL),
    ND("nd_conv_t", 2, nd_conv_t_emit, .fold = NULL),
    ND("nd_rnn", -1, nd_rnn_emit, .fold = NULL),
    INTERNAL("update", RT_OPTIM, 0, no_shape, update_emit),
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
