/* passes/autodiff.c — reverse-mode differentiation at compile time.
 *
 * Walks the forward and loss nodes backwards; each op's gradient rule (op
 * table) appends the nodes that compute its inputs' gradients.  A value
 * with several consumers gets the sum of their contributions through `add`
 * nodes.  Only values that depend on a trainable parameter get gradients:
 * the first layer never computes dL/dx.  Then regulariser nodes and the one
 * optimizer-update node, which works on the whole flat parameter block.
 */
#include <stdlib.h>
#include "ir.h"

static void accumulate(Graph *g, int *contrib, int value, int grad) {
    if (contrib[value] < 0) {
        contrib[value] = grad;
        return;
    }
    int in[2] = { contrib[value], grad };
    const Value like = g->values[value];
    int n = ir_node(g, OP_ADD, in, 2, like.loc);
    g->nodes[n].phase = PH_BACKWARD;
    char name[IR_NAME];
    snprintf(name, sizeof name, "d%.*s", IR_NAME - 6, like.name);
    int sum = ir_value(g, name, ROLE_GRAD, like.batched, like.rank, like.dims);
    ir_add_output(g, n, sum);
    contrib[value] = sum;
}

void ad_build(Graph *g) {
    if (!g->train.present) return;
    int nforward = g->nnodes, nvalues = g->nvalues;
    int *contrib = malloc((size_t)nvalues * sizeof *contrib);
    if (!contrib) abort();
    for (int i = 0; i < nvalues; i++) contrib[i] = -1;

    /* which values depend on a trainable parameter */
    for (int v = 0; v < nvalues; v++)
        g->values[v].requires_grad = g->values[v].role == ROLE_PARAM && g->values[v].trainable;
    for (int i = 0; i < nforward; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead) continue;
        int r = 0;
        for (int j = 0; j < n->nin; j++) r |= g->values[n->in[j]].requires_grad;
        for (int j = 0; j < n->nout; j++) g->values[n->out[j]].requires_grad = r;
    }

    for (int i = nforward - 1; i >= 0; i--) {
        Node n = g->nodes[i];
        if (n.dead || (n.phase != PH_FORWARD && n.phase != PH_LOSS)) continue;
        int dout[IR_MAX_IO], din[IR_MAX_IO], any = n.phase == PH_LOSS;
        for (int j = 0; j < n.nout; j++) {
            dout[j] = contrib[n.out[j]];
            any |= dout[j] >= 0;
        }
        if (!any) continue;
        if (!op_table[n.op]->grad) {
            int needs = 0;
            for (int j = 0; j < n.nin; j++) needs |= g->values[n.in[j]].requires_grad;
            if (needs)   /* a parameter before it would silently stop learning */
                diag_error(n.loc, "training through %s (%s) is not supported yet: it has no gradient rule",
                           node_who(g, &n), op_name(n.op));
            continue;
        }
        for (int j = 0; j < IR_MAX_IO; j++) din[j] = -1;
        op_table[n.op]->grad(g, i, dout, din);
        for (int j = 0; j < n.nin; j++)
            if (din[j] >= 0 && g->values[n.in[j]].requires_grad)
                accumulate(g, contrib, n.in[j], din[j]);
    }

    int regularize = OP_REGULARIZE;
    for (int p = 0; p < nvalues; p++) {
        Value *v = &g->values[p];
        if (v->role != ROLE_PARAM || contrib[p] < 0) continue;
        int d = contrib[p];
        g->values[d].role = ROLE_PARAM_GRAD;
        g->values[d].param = p;
        g->values[p].grad = d;
        if (g->values[p].l1 > 0 || g->values[p].l2 > 0) {
            int n = ir_node(g, regularize, &p, 1, g->values[p].loc);
            g->nodes[n].phase = PH_BACKWARD;
        }
    }
    free(contrib);
    int u = ir_node(g, OP_UPDATE, NULL, 0, (Loc){ 0, 0, 0, 0 });
    g->nodes[u].phase = PH_UPDATE;
}
