/* passes/pack_weights.c — a dense layer's kernel that is a baked constant
 * (--weights, --inference, an imported model's initializer) is stored in
 * the GEMM's panel layout (nnc_rt_gemm_pack_b) instead of row-major, and
 * the layer calls nnc_rt_dense_forward_packed: the kernels then stream the
 * weights contiguously instead of packing or striding through them (MLP
 * inference at batch 1: 10.4 -> 6 us).  Only a kernel no other node reads:
 * the layout is this one kernel's.  -O0 skips it.
 * A convolution's kernel of one group, (kh, kw, c, oc), is the (kh*kw*c, oc)
 * matrix its products read, and goes in panels the same way (the layer
 * calls nnc_rt_conv2d_forward_packed): the direct kernels otherwise copy
 * each block of output channels out for every call, a third of the time
 * of ResNet-18's 7x7x512 layers, and a pointwise layer's GEMM packs it. */
#include "ir.h"

void pack_weights(Graph *g) {
    int dense = OP_DENSE;
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        const OpDef *d = op_table[n->op];
        if (n->dead || n->nin < 2) continue;
        int conv = d->conv && d->gemm && n->attr.conv.groups == 1;
        if (n->op != dense && !conv) continue;
        Value *w = &g->values[n->in[1]];
        int c;
        if (w->role == ROLE_PARAM && w->constant && (conv || w->rank == 2) && ir_consumers(g, n->in[1], &c) == 1)
            w->panels = 1;
    }
}
