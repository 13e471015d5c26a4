/* passes/fuse_grad.c — in the backward pass, an activation's gradient
 * (act_grad: dz = act'(dy) from the forward output y) whose result feeds a
 * bias gradient (bias_grad: db = the column sums of dz) computes both in one
 * pass: nnc_rt_act_bias_backward sums each block of dz's rows while it is
 * still in L1, instead of reading all of dz again (the seed CNN's first
 * layer: 2.7 MB per step).  The act_grad node gains db as its second
 * output; the bias_grad node dies.  Runs after autodiff; -O0 skips it. */
#include "ir.h"

void fuse_grad(Graph *g) {
    int act_grad = op_id("act_grad"), bias_grad = op_id("bias_grad");
    for (int i = 0; i < g->nnodes; i++) {
        Node *b = &g->nodes[i];
        if (b->dead || b->op != bias_grad) continue;
        int p = g->values[b->in[0]].producer;
        if (p < 0) continue;
        Node *a = &g->nodes[p];
        if (a->dead || a->op != act_grad || a->nout != 1) continue;
        a->out[a->nout++] = b->out[0];
        g->values[b->out[0]].producer = p;
        b->dead = 1;
    }
}
