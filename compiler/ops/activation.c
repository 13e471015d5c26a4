/* activation.c — the activation layers (relu, sigmoid, tanh, softmax,
 * relu6, leaky_relu, elu, gelu, swish/silu, hard_sigmoid, softplus: one rule
 * set, the kind is runtime/act.c's enum), act_grad, the gradient node dense,
 * conv and the imported element-wise functions share, and prelu (a layer
 * with a trainable alpha) with its gradient node.
 *
 * Keras' defaults: the LeakyReLU layer's negative_slope is 0.3, the ELU
 * layer's alpha 1, gelu is the erf form unless approximate = true.  Named
 * as a dense/conv activation (no arguments there) leaky_relu and elu take
 * the activation FUNCTIONS' defaults, keras.activations.leaky_relu's 0.2 and
 * elu's 1 (nnc_rt_act_alpha; lower.c sets them on the node it makes).  The
 * kinds after relu6 are emitted as nnc_rt_act_*_alpha calls and never
 * fused into an epilogue (act_fusable).
 *
 * Backward from y (act_grad reads the forward output) needs y to determine
 * the derivative: so leaky_relu's slope and elu's alpha must be >= 0
 * (Keras refuses a negative slope as well), and gelu and swish, which are
 * not monotonic, read their input x instead (nnc_rt_act_needs_input). */
#include <stdio.h>
#include "ops/rules.h"

int op_for_act(int act) {
    switch (act) {
    case NNC_RT_ACT_RELU: return OP_RELU;
    case NNC_RT_ACT_SIGMOID: return OP_SIGMOID;
    case NNC_RT_ACT_TANH: return OP_TANH;
    case NNC_RT_ACT_SOFTMAX: return OP_SOFTMAX;
    case NNC_RT_ACT_RELU6: return OP_RELU6;
    case NNC_RT_ACT_LEAKY_RELU: return OP_LEAKY_RELU;
    case NNC_RT_ACT_ELU: return OP_ELU;
    case NNC_RT_ACT_GELU: case NNC_RT_ACT_GELU_TANH: return OP_GELU;
    case NNC_RT_ACT_SWISH: return OP_SWISH;
    case NNC_RT_ACT_SILU: return OP_SILU;
    case NNC_RT_ACT_HARD_SIGMOID: return OP_HARD_SIGMOID;
    case NNC_RT_ACT_SOFTPLUS: return OP_SOFTPLUS;
    default: return -1;
    }
}

/* the nnc_rt_act an activation node computes */
int act_kind(const Node *n) {
    if (n->op == OP_GELU) return n->attr.approximate ? NNC_RT_ACT_GELU_TANH : NNC_RT_ACT_GELU;
    for (int act = NNC_RT_ACT_RELU; act < act_count; act++)
        if (op_for_act(act) == n->op) return act;
    return -1;
}

static int has_alpha(int act) { return act == NNC_RT_ACT_LEAKY_RELU || act == NNC_RT_ACT_ELU; }

/* the kinds the epilogues apply: up to relu6, which nnc_rt_act_forward and
 * _backward compute.  The newer kinds stay separate nodes (a pass over the
 * output each) so that a model without them links none of their code:
 * erfcf alone is kilobytes of a microcontroller's flash.  gelu and swish
 * could not be fused in any case, their gradient needs the pre-activation. */
int act_fusable(int act) {
    return act >= NNC_RT_ACT_RELU && act <= NNC_RT_ACT_RELU6;
}

/* called through the _alpha entry points: the kinds nnc_rt_act_forward lacks */
static int newer(int act) { return act >= NNC_RT_ACT_LEAKY_RELU; }

static int act_shape(Graph *g, int node) {
    Node *n = &g->nodes[node];
    if (has_alpha(act_kind(n)) && !(n->attr.alpha >= 0)) {   /* NaN too */
        diag_error(n->loc, "%s needs %s >= 0, got %g", op_name(n->op),
                   n->op == OP_ELU ? "alpha" : "negative_slope", n->attr.alpha);
        return -1;
    }
    return op_same_shape(g, node);
}

static void act_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    n.attr.act = act_kind(&n);
    int in[2] = { dout[0], nnc_rt_act_needs_input(n.attr.act) ? n.in[0] : n.out[0] };
    din[0] = op_bwd(g, OP_ACT_GRAD, in, 2, &n, n.in[0]);
}

static long act_flops(const Graph *g, const Node *n) {
    long s = ir_size(&g->values[n->out[0]]);
    int act = act_kind(n);
    return act == NNC_RT_ACT_SOFTMAX ? 3 * s : nnc_rt_act_needs_input(act) ? 4 * s : s;
}

static void act_emit(EmitCtx *e, const Node *n) {
    const Graph *g = emit_graph(e);
    int act = act_kind(n);
    if (newer(act)) {
        emit_line(e, "nnc_rt_act_forward_alpha(%d, %s, %s, %s, %s, %ld); /* %s */", act, emit_float(e, n->attr.alpha),
                  emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), emit_rows(e, n->in[0]), emit_cols(g, n->in[0]),
                  op_name(n->op));
        return;
    }
    emit_line(e, "nnc_rt_act_forward(%d, %s, %s, %s, %ld); /* %s */", act,
              emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), emit_rows(e, n->in[0]),
              emit_cols(g, n->in[0]), op_name(n->op));
}

/* at build time (calibration): the layer's function over rows of the last axis */
static void act_fold(const Fold *f) {
    static Node probe;      /* act_kind reads the op (and gelu's approximate) */
    probe.op = f->op;
    probe.attr.approximate = f->a->approximate;
    int act = act_kind(&probe);
    long cols = f->rank ? f->dims[f->rank - 1] : 1, rows = cols ? f->ny / cols : 0;
    if (newer(act)) nnc_rt_act_forward_alpha(act, f->a->alpha, f->y, f->in[0], (int)rows, (int)cols);
    else nnc_rt_act_forward(act, f->y, f->in[0], (int)rows, (int)cols);
}

static void act_grad_emit(EmitCtx *e, const Node *n) {
    const Graph *g = emit_graph(e);
    if (n->nout > 1) {   /* and the bias gradient (passes/fuse_grad.c) */
        emit_line(e, "nnc_rt_act_bias_backward(%d, %s, %s, %s, %s, %s, %ld); /* %s', bias */", n->attr.act,
                  emit_ptr(e, n->out[0]), emit_ptr(e, n->out[1]), emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]),
                  emit_rows(e, n->in[0]), emit_cols(g, n->in[0]), act_name(n->attr.act));
        return;
    }
    if (newer(n->attr.act)) {
        emit_line(e, "nnc_rt_act_backward_alpha(%d, %s, %s, %s, %s, %s, %ld); /* %s' */", n->attr.act,
                  emit_float(e, n->attr.alpha), emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]),
                  emit_rows(e, n->in[0]), emit_cols(g, n->in[0]), act_name(n->attr.act));
        return;
    }
    emit_line(e, "nnc_rt_act_backward(%d, %s, %s, %s, %s, %ld); /* %s' */", n->attr.act,
              emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]),
              emit_rows(e, n->in[0]), emit_cols(g, n->in[0]), act_name(n->attr.act));
}

/* ---- prelu(shared_axes, alpha_initializer = zeros): y = x > 0 ? x : alpha x ------
 * alpha has the input's per-sample shape with the shared axes (Keras counts
 * the batch as axis 0, so they are 1 .. rank) set to 1: shared_axes = 1, 2
 * on an image gives one alpha per channel. */

static const AttrDef prelu_attrs[] = {
    { "shared_axes", AT_DIMS, offsetof(Attrs, dims), "" },
    { "alpha_initializer", AT_INIT, offsetof(Attrs, kernel_init), "zeros" },
    { "alpha_regularizer", AT_REG, offsetof(Attrs, kernel_l1), "none" },
};

/* alpha's shape and the runs of axes alpha varies along (nnc_rt_prelu) */
static int prelu_shape(Graph *g, int node) {
    Node *n = &g->nodes[node];
    Value *x = op_in(g, node, 0);
    char buf[96];
    if (!x->batched || x->rank < 1) {
        diag_error(n->loc, "prelu expects a batch of samples, got %s", ir_shape_str(x, buf, sizeof buf));
        return -1;
    }
    int shared[IR_MAX_RANK] = { 0 };
    for (int i = 0; i < n->attr.ndims; i++) {
        int a = n->attr.dims[i];
        if (a < 1 || a > x->rank) {
            diag_error(n->loc, "prelu: shared axis %d is not an axis of its input %s (1 .. %d; 0 is the batch)",
                       a, ir_shape_str(x, buf, sizeof buf), x->rank);
            return -1;
        }
        shared[a - 1] = 1;
    }
    nnc_rt_prelu p;
    memset(&p, 0, sizeof p);
    p.size = ir_size(x);
    long inner = p.size, stride = 1;
    for (int k = 0; k < x->rank; k++)   /* alpha's size: its stride before axis 0 */
        if (!shared[k]) stride *= x->dims[k];
    for (int k = 0; k < x->rank; k++) {
        long d = x->dims[k];
        inner /= d ? d : 1;
        if (shared[k] || d == 1) continue;
        stride /= d;
        if (p.runs && p.inner[p.runs - 1] == inner * d) {   /* continues the run before */
            p.inner[p.runs - 1] = inner;
            p.len[p.runs - 1] *= d;
            p.stride[p.runs - 1] = stride;
            continue;
        }
        assert(p.runs < NNC_RT_PRELU_RUNS);   /* runs alternate with shared axes: at most rank / 2 */
        p.inner[p.runs] = inner;
        p.len[p.runs] = d;
        p.stride[p.runs++] = stride;
    }
    n->attr.prelu = p;
    return op_same_shape(g, node);
}

static void prelu_params(Graph *g, int node) {
    Node *n = &g->nodes[node];
    const Value *x = op_in(g, node, 0);
    int dims[IR_MAX_RANK], rank = x->rank;
    memcpy(dims, x->dims, sizeof dims);
    for (int i = 0; i < n->attr.ndims; i++) dims[n->attr.dims[i] - 1] = 1;
    long size = 1;
    for (int k = 0; k < rank; k++) size *= dims[k];
    op_new_param(g, node, "alpha", rank, dims, n->attr.kernel_init, (int)size, (int)size, n->attr.kernel_l1,
                 n->attr.kernel_l2);
}

/* one node: dalpha, and dx when wanted */
static void prelu_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    int in[3] = { dout[0], n.in[0], n.in[1] };
    din[1] = op_bwd(g, OP_PRELU_GRAD, in, 3, &n, n.in[1]);
    if (g->values[n.in[0]].requires_grad) {
        const Value *x = &g->values[n.in[0]];
        int b = g->nnodes - 1;
        din[0] = op_extra_out(g, b, 1, "x", 1, x->rank, x->dims);
        char name[IR_NAME];
        ir_format_name(name, "d%s", g->values[n.in[0]].name);
        memcpy(g->values[din[0]].name, name, sizeof name);
    }
}

static long prelu_flops(const Graph *g, const Node *n) { return ir_size(&g->values[n->out[0]]); }

/* the descriptor as a compound literal */
static const char *prelu_desc(const nnc_rt_prelu *p, char *b, size_t cap) {
    const long *v[3] = { p->inner, p->len, p->stride };
    int len = snprintf(b, cap, "&(const nnc_rt_prelu){ %ld, %d", p->size, p->runs);
    for (int a = 0; a < 3; a++) {
        len += snprintf(b + len, cap - (size_t)len, ", {");
        for (int r = 0; r < NNC_RT_PRELU_RUNS; r++)
            len += snprintf(b + len, cap - (size_t)len, "%s %ld", r ? "," : "", v[a][r]);
        len += snprintf(b + len, cap - (size_t)len, " }");
    }
    snprintf(b + len, cap - (size_t)len, " }");
    return b;
}

static void prelu_emit(EmitCtx *e, const Node *n) {
    char d[320];
    emit_line(e, "nnc_rt_prelu_forward(%s, %s, %s, %s, n); /* %s */", prelu_desc(&n->attr.prelu, d, sizeof d),
              emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), n->layer);
}

static void prelu_grad_emit(EmitCtx *e, const Node *n) {
    char d[320];
    emit_line(e, "nnc_rt_prelu_backward(%s, %s, %s, %s, %s, %s, n);", prelu_desc(&n->attr.prelu, d, sizeof d),
              n->nout > 1 ? emit_ptr(e, n->out[1]) : "NULL", emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]),
              emit_ptr(e, n->in[1]), emit_ptr(e, n->in[2]));
}

#define ACT { .rt = RT_ACT, .layer = 1, .ninputs = 1, .inplace = 1, \
                     .shape = op_same_shape, .grad = act_grad, .flops = act_flops, .emit = act_emit, \
                     .fold = act_fold }
/* an activation with arguments */
#define ACT_ARGS(a) { .rt = RT_ACT, .layer = 1, .ninputs = 1, .inplace = 1, .attrs = a, .nattrs = COUNT(a), \
                      .shape = act_shape, .grad = act_grad, .flops = act_flops, .emit = act_emit, \
                      .fold = act_fold }
static const AttrDef leaky_relu_attrs[] = { { "negative_slope", AT_FLOAT, offsetof(Attrs, alpha), "0.3" } };
static const AttrDef elu_attrs[] = { { "alpha", AT_FLOAT, offsetof(Attrs, alpha), "1.0" } };
static const AttrDef gelu_attrs[] = { { "approximate", AT_BOOL, offsetof(Attrs, approximate), "false" } };
const OpDef op_relu = ACT;
const OpDef op_sigmoid = ACT;
const OpDef op_tanh = ACT;
const OpDef op_softmax = ACT;
const OpDef op_relu6 = ACT;
const OpDef op_leaky_relu = ACT_ARGS(leaky_relu_attrs);
const OpDef op_elu = ACT_ARGS(elu_attrs);
const OpDef op_gelu = ACT_ARGS(gelu_attrs);
const OpDef op_swish = ACT;
const OpDef op_silu = ACT;
const OpDef op_hard_sigmoid = ACT;
const OpDef op_softplus = ACT;
const OpDef op_act_grad = INTERNAL(RT_ACT, 2, op_no_shape, act_grad_emit);
const OpDef op_prelu = { .rt = RT_ACT, .layer = 1, .ninputs = 1, .inplace = 1, .attrs = prelu_attrs,
                         .nattrs = COUNT(prelu_attrs), .shape = prelu_shape, .params = prelu_params,
                         .grad = prelu_grad, .flops = prelu_flops, .emit = prelu_emit };
const OpDef op_prelu_grad = INTERNAL(RT_ACT, 3, op_no_shape, prelu_grad_emit);
