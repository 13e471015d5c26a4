/* passes/fuse_dense.c — dense followed by an activation becomes one dense
 * node with the activation in its epilogue: one pass over the output
 * instead of two, and one buffer fewer.  Only when the pre-activation value
 * has no other consumer (fuse_loss may have given it one).  Runs before
 * autodiff; dense's gradient rule handles the fused activation. */
#include "ir.h"
#include "nnc_rt.h"

void fuse_dense_act(Graph *g) {
    int dense = op_id("dense");
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = &g->nodes[i];
        if (n->dead || n->op != dense || n->attr.act != NNC_RT_ACT_LINEAR) continue;
        int z = n->out[0], c;
        if (z == g->output || ir_consumers(g, z, &c) != 1) continue;
        Node *a = &g->nodes[c];
        for (int act = NNC_RT_ACT_RELU; act <= NNC_RT_ACT_SOFTMAX; act++)
            if (a->op == op_id(act_name(act))) {
                n->attr.act = act;
                n->out[0] = a->out[0];
                g->values[a->out[0]].producer = i;
                g->values[z].producer = -1;
                a->dead = 1;
                break;
            }
    }
}
