/* passes/fuse_loss.c — cross-entropy on a softmax (or sigmoid) output is
 * computed from the logits instead: log-sum-exp is exact where log(softmax)
 * underflows, and the gradient becomes (p - y)/n.  This pass is not
 * optional (-O0 runs it too) because it is about numerical stability, not
 * speed.  The softmax node stays: predict still returns probabilities.
 * Runs before autodiff, so the backward graph uses the fused gradient.
 *
 * loss_output_kind() is the one place that says what a model's output holds
 * (probabilities, log-probabilities or anything else, i.e. logits): the
 * train block's from_logits decision and its warnings (lower.c) read it too.
 */
#include "ir.h"
#include "nnc_rt.h"

int loss_output_kind(const Graph *g, int value, int *src) {
    int p = g->values[value].producer;
    if (src) *src = -1;
    if (p < 0) return OUT_OTHER;
    const Node *n = &g->nodes[p];
    int kind = OUT_OTHER;
    if (n->op == OP_SOFTMAX) kind = OUT_SOFTMAX;
    else if (n->op == OP_SIGMOID || unary_act(n) == NNC_RT_ACT_SIGMOID) kind = OUT_SIGMOID;
    /* an imported Softmax / LogSoftmax over the last axis */
    else if (n->op == OP_ND_SOFTMAX && n->attr.inner == 1 && n->attr.fn == NNC_RT_SOFTMAX_PLAIN) kind = OUT_SOFTMAX;
    else if (n->op == OP_ND_SOFTMAX && n->attr.inner == 1 && n->attr.fn == NNC_RT_SOFTMAX_LOG) kind = OUT_LOG_SOFTMAX;
    if (kind != OUT_OTHER && src) *src = n->in[0];
    return kind;
}

void fuse_loss(Graph *g) {
    static const struct { int loss, out, fused; } rules[] = {
        { NNC_RT_LOSS_SPARSE_CCE, OUT_SOFTMAX, NNC_RT_LOSS_SPARSE_CCE_LOGITS },
        { NNC_RT_LOSS_CCE, OUT_SOFTMAX, NNC_RT_LOSS_CCE_LOGITS },
        { NNC_RT_LOSS_BCE, OUT_SIGMOID, NNC_RT_LOSS_BCE_LOGITS },
        /* log-probabilities read as logits give the same loss (their
         * log-sum-exp is 0) and, through LogSoftmax, the same gradient:
         * the logits before it are the better operand */
        { NNC_RT_LOSS_SPARSE_CCE_LOGITS, OUT_LOG_SOFTMAX, NNC_RT_LOSS_SPARSE_CCE_LOGITS },
        { NNC_RT_LOSS_CCE_LOGITS, OUT_LOG_SOFTMAX, NNC_RT_LOSS_CCE_LOGITS },
    };
    int loss_op = OP_LOSS;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = &g->nodes[i];
        if (n->dead || n->op != loss_op) continue;
        int src, kind = loss_output_kind(g, n->in[0], &src);
        for (unsigned r = 0; r < sizeof rules / sizeof rules[0]; r++)
            if (n->attr.loss == rules[r].loss && kind == rules[r].out) {
                n->in[0] = src;
                n->attr.loss = rules[r].fused;
                break;
            }
    }
}
