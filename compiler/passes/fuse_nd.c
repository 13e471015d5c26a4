/* passes/fuse_nd.c — in an imported graph, MatMul (or Gemm) by a parameter,
 * then the addition of a per-column bias, then an element-wise activation
 * or a softmax over the columns, become one dense node: the runtime's GEMM
 * with its bias-and-activation epilogue, the same kernel a .nn dense layer
 * runs, and one output buffer instead of three.  Each step needs the value
 * it absorbs to have no other consumer.  Runs before autodiff (dense has a
 * gradient rule); -O0 skips it. */
#include "ir.h"

/* the one live consumer of v, or -1 (none, several, or a graph output) */
static int only_consumer(const Graph *g, int v) {
    int c;
    if (ir_is_output(g, v) || ir_consumers(g, v, &c) != 1) return -1;
    return c;
}

static void absorb(Graph *g, int into, int node) {
    Node *n = &g->nodes[into], *a = &g->nodes[node];
    g->values[n->out[0]].producer = -1;
    n->out[0] = a->out[0];
    g->values[a->out[0]].producer = into;
    a->dead = 1;
}

void fuse_nd(Graph *g) {
    int matmul = op_id("nd_matmul"), binary = op_id("nd_binary"), unary = op_id("nd_unary");
    int softmax = op_id("nd_softmax"), dense = op_id("dense");
    static const struct { int fn, act; } acts[] = {
        { NNC_RT_UN_RELU, NNC_RT_ACT_RELU }, { NNC_RT_UN_SIGMOID, NNC_RT_ACT_SIGMOID },
        { NNC_RT_UN_TANH, NNC_RT_ACT_TANH } };
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = &g->nodes[i];
        if (n->dead || n->op != matmul || n->attr.nd.rank || g->values[n->in[1]].role != ROLE_PARAM) continue;
        int units = n->attr.N;
        n->op = dense;
        n->attr.units = units;
        n->attr.act = NNC_RT_ACT_LINEAR;
        n->attr.use_bias = 0;
        /* + b, b a parameter of one value per column */
        int c = only_consumer(g, n->out[0]);
        const Node *a = c >= 0 ? &g->nodes[c] : NULL;
        if (a && a->op == binary && a->attr.fn == NNC_RT_BIN_ADD && a->in[0] == n->out[0] &&
            g->values[a->in[1]].role == ROLE_PARAM && ir_size(&g->values[a->in[1]]) == units &&
            a->attr.nd.rank == 2 && a->attr.nd.bs[0] == 0 && a->attr.nd.bs[1] == 1) {
            n->in[n->nin++] = a->in[1];
            n->attr.use_bias = 1;
            absorb(g, i, c);
            n = &g->nodes[i];
        }
        /* then an activation over the result */
        c = only_consumer(g, n->out[0]);
        a = c >= 0 ? &g->nodes[c] : NULL;
        if (!a) continue;
        if (a->op == softmax && a->attr.fn == NNC_RT_SOFTMAX_PLAIN && a->attr.inner == 1 && a->attr.alen == units) {
            n->attr.act = NNC_RT_ACT_SOFTMAX;
            absorb(g, i, c);
            continue;
        }
        for (unsigned k = 0; a->op == unary && k < sizeof acts / sizeof acts[0]; k++)
            if (a->attr.fn == acts[k].fn) {
                n->attr.act = acts[k].act;
                absorb(g, i, c);
                break;
            }
    }
}
