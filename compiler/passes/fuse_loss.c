/* passes/fuse_loss.c — cross-entropy on a softmax (or sigmoid) output is
 * computed from the logits instead: log-sum-exp is exact where log(softmax)
 * underflows, and the gradient becomes (p - y)/n.  This pass is not
 * optional (-O0 runs it too) because it is about numerical stability, not
 * speed.  The softmax node stays: predict still returns probabilities.
 * Runs before autodiff, so the backward graph uses the fused gradient. */
#include "ir.h"
#include "nnc_rt.h"

void fuse_loss(Graph *g) {
    static const struct { int loss, act, fused; } rules[] = {
        { NNC_RT_LOSS_SPARSE_CCE, NNC_RT_ACT_SOFTMAX, NNC_RT_LOSS_SPARSE_CCE_LOGITS },
        { NNC_RT_LOSS_CCE, NNC_RT_ACT_SOFTMAX, NNC_RT_LOSS_CCE_LOGITS },
        { NNC_RT_LOSS_BCE, NNC_RT_ACT_SIGMOID, NNC_RT_LOSS_BCE_LOGITS },
    };
    int loss_op = op_id("loss");
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = &g->nodes[i];
        if (n->dead || n->op != loss_op) continue;
        int p = g->values[n->in[0]].producer;
        if (p < 0) continue;
        const Node *act = &g->nodes[p];
        for (unsigned r = 0; r < sizeof rules / sizeof rules[0]; r++)
            if (n->attr.loss == rules[r].loss && act->op == op_id(act_name(rules[r].act))) {
                n->in[0] = act->in[0];
                n->attr.loss = rules[r].fused;
                break;
            }
    }
}
