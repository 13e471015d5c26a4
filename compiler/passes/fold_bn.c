/* passes/fold_bn.c — a batch norm whose statistics are baked constants
 * (--inference --weights: the firmware build) is folded into the linear
 * layer that feeds it, so inference skips one pass over the activation and
 * one buffer, and an activation after it can fuse into the layer's epilogue.
 *
 * The inference batch norm (runtime/norm.c) is y = (z - mean) * s + beta
 * with s = gamma / sqrt(var + eps) per channel, the last axis; z = x (*) w + b
 * is a forward convolution (the op table's conv) or a dense layer, whose
 * kernel has output channel o at every flat index i with i % C == o (they
 * all lay the output channels out last).  So w'[.., o] = w[.., o] * s[o] and
 * b'[o] = (b[o] - mean[o]) * s[o] + beta[o], with b = 0 for a layer without
 * a bias: it gets one, a new constant that takes over beta's floats in
 * g->baked (same size).  s is computed exactly as the runtime computes it
 * (1/sqrt in double, rounded, times gamma in float), so only the kernel's
 * product w * s rounds differently: within a few ulp of the unfolded model.
 *
 * When: not while training (the train step normalises with the batch's own
 * statistics), every parameter involved a constant, the layer without an
 * activation of its own (the batch norm sits between it and any), its
 * output read by nothing but the batch norm, and every parameter read by
 * nothing but these two nodes, since the kernel and bias are rewritten in
 * place and gamma, beta and the moving statistics leave the parameter
 * layout (a value no node reads or writes has no storage: they become inert
 * ROLE_ACT values).  The layer writes the batch norm's output value, so its
 * readers, and the model's outputs, keep their value and name.  -O0 skips
 * it.  Runs after deploy_mark_constants, before fuse_act. */
#include <math.h>
#include <stdlib.h>
#include "ir.h"

/* a baked constant read only by node `node` (once) */
static int own_constant(const Graph *g, int value, int node) {
    const Value *v = &g->values[value];
    int first;
    return v->role == ROLE_PARAM && v->constant && g->baked && ir_consumers(g, value, &first) == 1 &&
           first == node;
}

static int foldable(const Graph *g, int bn) {
    const Node *n = &g->nodes[bn];
    int z = n->in[0], p = g->values[z].producer, first;
    if (p < 0 || n->nin != 5) return 0;
    const Node *l = &g->nodes[p];
    if (!(op_table[l->op]->conv || l->op == OP_DENSE) || l->dead || l->phase != PH_FORWARD || l->attr.act != NNC_RT_ACT_LINEAR ||
        l->out[0] != z || ir_is_output(g, z) || ir_consumers(g, z, &first) != 1)
        return 0;
    for (int i = 1; i < 5; i++)
        if (!own_constant(g, n->in[i], bn)) return 0;
    if (!own_constant(g, l->in[1], p) || (l->nin > 2 && !own_constant(g, l->in[2], p))) return 0;
    long c = g->values[n->in[1]].dims[0];
    return g->values[z].rank && g->values[z].dims[g->values[z].rank - 1] == c &&
           ir_size(&g->values[l->in[1]]) % c == 0;
}

static void fold(Graph *g, int bn) {
    Node *n = &g->nodes[bn];
    int p = g->values[n->in[0]].producer;
    const int gamma = n->in[1], beta = n->in[2], mean = n->in[3], var = n->in[4];
    const long c = g->values[gamma].dims[0];
    float *s = malloc((size_t)c * sizeof *s);
    if (!s) abort();
    const float *gm = g->baked + g->values[gamma].baked_at, *bt = g->baked + g->values[beta].baked_at,
                *mu = g->baked + g->values[mean].baked_at, *vr = g->baked + g->values[var].baked_at;
    for (long o = 0; o < c; o++)   /* nnc_rt_batchnorm_forward_infer's scale, to the bit */
        s[o] = (float)(1.0 / sqrt((double)vr[o] + (double)n->attr.epsilon)) * gm[o];

    Node *l = &g->nodes[p];
    float *w = g->baked + g->values[l->in[1]].baked_at;
    long nw = ir_size(&g->values[l->in[1]]);
    for (long i = 0; i < nw; i++) w[i] *= s[i % c];

    float *b;
    if (l->nin > 2) {
        b = g->baked + g->values[l->in[2]].baked_at;
    } else {
        /* a new bias in beta's floats; ir_value may move g->values */
        char name[IR_NAME];
        ir_format_name(name, "%s.bias", l->layer[0] ? l->layer : g->values[l->out[0]].name);
        int cc = (int)c;
        int v = ir_value(g, name, ROLE_PARAM, 0, 1, &cc);
        Value *x = &g->values[v];
        x->constant = 1;
        x->init = NNC_RT_INIT_ZEROS;
        x->baked_at = g->values[beta].baked_at;
        x->loc = g->nodes[p].loc;
        l = &g->nodes[p];
        l->in[l->nin++] = v;
        b = g->baked + x->baked_at;
    }
    /* with a new bias, b is beta's floats: each is read before it is written */
    int fresh = b == bt;
    for (long o = 0; o < c; o++) {
        float shift = bt[o];
        b[o] = ((fresh ? 0.0f : b[o]) - mu[o]) * s[o] + shift;
    }
    free(s);

    /* the layer writes the batch norm's output; the rest is unread */
    int z = l->out[0], y = n->out[0];
    l->out[0] = y;
    g->values[y].producer = p;
    g->values[z].producer = -1;
    n->dead = 1;
    l->folded++;
    for (int i = 1; i < 5; i++)   /* beta's floats may be the new bias's now */
        g->values[n->in[i]].role = ROLE_ACT;
}

void fold_bn(Graph *g) {
    if (g->train.present || !g->baked) return;
    int bn = OP_BATCH_NORM;
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        if (!n->dead && n->op == bn && n->phase == PH_FORWARD && foldable(g, i)) fold(g, i);
    }
}
