/* passes/fuse_act.c — an op with an activation epilogue (dense, conv)
 * followed by an activation becomes one node that applies the activation
 * while its output is still in cache: one pass over the output instead of
 * two, and one buffer fewer.  Only when the pre-activation value has no
 * other consumer (fuse_loss may have given it one), and only the
 * activations the epilogues know (act_fusable: relu, relu6, sigmoid, tanh,
 * softmax).  Runs before autodiff; those ops' gradient rules handle the
 * fused activation. */
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
