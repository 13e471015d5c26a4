/* passes/fuse_act.c — an op with an activation epilogue (dense, conv)
 * followed by an activation becomes one node that applies the activation
 * while its output is still in cache: one pass over the output instead of
 * two, and one buffer fewer.  Only when the pre-activation value has no
 * other consumer (fuse_loss may have given it one), and only the
 * activations the epilogues know (act_fusable: relu, relu6, sigmoid, tanh,
 * softmax).  Runs before autodiff; those ops' gradient rules handle the
 * fused activation.
 *
 * fuse_act_inference does the same for the element-wise nd_unary an
 * imported graph writes after a convolution or a dense product: relu,
 * relu6, sigmoid, tanh (unary_act), and hard-swish, which the epilogues
 * apply (runtime/act.c computes it with nd_unary's formula, to the bit) but
 * which has no backward kernel.  So it runs only on graphs that do not
 * train (no loss) and are not quantized (the int8 products clamp relu and
 * relu6 only; the pipeline checks both).  PaddleOCR's PP-LCNet writes a
 * hard-swish after nearly every convolution: a pass over each output less. */
#include "ir.h"

void fuse_act(Graph *g) {
    Uses u;
    ir_uses(g, &u);     /* a merge changes no count this loop reads again */
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = &g->nodes[i];
        if (n->dead || !op_table[n->op]->epilogue || n->attr.act != NNC_RT_ACT_LINEAR) continue;
        int z = n->out[0];
        if (ir_is_output(g, z) || u.count[z] != 1) continue;
        Node *a = &g->nodes[u.first[z]];
        int act = act_kind(a);
        if (a->dead || !act_fusable(act)) continue;
        n->attr.act = act;
        n->out[0] = a->out[0];
        g->values[a->out[0]].producer = i;
        g->values[z].producer = -1;
        a->dead = 1;
    }
    ir_uses_free(&u);
}

/* the epilogue kind of nd_unary node a, or -1 */
static int unary_epilogue(const Node *a) {
    if (a->op != OP_ND_UNARY || a->nin != 1 || a->nout != 1) return -1;
    if (a->attr.fn == NNC_RT_UN_HARD_SWISH) return NNC_RT_ACT_HARD_SWISH;
    return unary_act(a);
}

void fuse_act_inference(Graph *g) {
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = &g->nodes[i];
        int op = n->op, c;
        if (n->dead || n->attr.act != NNC_RT_ACT_LINEAR || n->nout < 1 ||
            (op != OP_ND_CONV && op != OP_CONV2D && op != OP_DEPTHWISE_CONV2D && op != OP_CONV1D && op != OP_DENSE))
            continue;
        int z = n->out[0];
        if (ir_is_output(g, z) || ir_consumers(g, z, &c) != 1) continue;
        Node *a = &g->nodes[c];
        int act = unary_epilogue(a);
        if (a->dead || act < 0 || a->in[0] != z) continue;
        /* the unary reads z whole, element for element: same size */
        if (ir_size(&g->values[a->out[0]]) != ir_size(&g->values[z])) continue;
        n->attr.act = act;
        n->out[0] = a->out[0];
        g->values[a->out[0]].producer = i;
        g->values[z].producer = -1;
        a->dead = 1;
    }
}
