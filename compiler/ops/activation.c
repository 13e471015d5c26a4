/* activation.c — the activation layers (relu, sigmoid, tanh, softmax,
 * relu6: one rule set, the kind is runtime/act.c's enum) and act_grad, the
 * gradient node dense, conv and the imported element-wise functions share. */
#include "ops/rules.h"

int op_for_act(int act) {
    switch (act) {
    case NNC_RT_ACT_RELU: return OP_RELU;
    case NNC_RT_ACT_SIGMOID: return OP_SIGMOID;
    case NNC_RT_ACT_TANH: return OP_TANH;
    case NNC_RT_ACT_SOFTMAX: return OP_SOFTMAX;
    case NNC_RT_ACT_RELU6: return OP_RELU6;
    default: return -1;
    }
}

/* the nnc_rt_act an activation op computes */
static int act_of(int op) {
    for (int act = NNC_RT_ACT_RELU; act <= NNC_RT_ACT_RELU6; act++)
        if (op_for_act(act) == op) return act;
    return NNC_RT_ACT_LINEAR;
}

static void act_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    n.attr.act = act_of(n.op);
    int in[2] = { dout[0], n.out[0] };
    din[0] = op_bwd(g, OP_ACT_GRAD, in, 2, &n, n.in[0]);
}

static long act_flops(const Graph *g, const Node *n) {
    long s = ir_size(&g->values[n->out[0]]);
    return act_of(n->op) == NNC_RT_ACT_SOFTMAX ? 3 * s : s;
}

static void act_emit(EmitCtx *e, const Node *n) {
    const Graph *g = emit_graph(e);
    emit_line(e, "nnc_rt_act_forward(%d, %s, %s, %s, %ld); /* %s */", act_of(n->op),
              emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), emit_rows(e, n->in[0]),
              emit_cols(g, n->in[0]), op_name(n->op));
}

static void act_grad_emit(EmitCtx *e, const Node *n) {
    const Graph *g = emit_graph(e);
    if (n->nout > 1) {   /* and the bias gradient (passes/fuse_grad.c) */
        emit_line(e, "nnc_rt_act_bias_backward(%d, %s, %s, %s, %s, %s, %ld); /* %s', bias */", n->attr.act,
                  emit_ptr(e, n->out[0]), emit_ptr(e, n->out[1]), emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]),
                  emit_rows(e, n->in[0]), emit_cols(g, n->in[0]), act_name(n->attr.act));
        return;
    }
    emit_line(e, "nnc_rt_act_backward(%d, %s, %s, %s, %s, %ld); /* %s' */", n->attr.act,
              emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]),
              emit_rows(e, n->in[0]), emit_cols(g, n->in[0]), act_name(n->attr.act));
}


#define ACT { .rt = RT_ACT, .layer = 1, .ninputs = 1, .inplace = 1, \
                     .shape = op_same_shape, .grad = act_grad, .flops = act_flops, .emit = act_emit }
const OpDef op_relu = ACT;
const OpDef op_sigmoid = ACT;
const OpDef op_tanh = ACT;
const OpDef op_softmax = ACT;
const OpDef op_relu6 = ACT;
const OpDef op_act_grad = INTERNAL(RT_ACT, 2, op_no_shape, act_grad_emit);
