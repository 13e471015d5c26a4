/* passes/fuse_grad.c — fusions in the backward pass, after autodiff.
 *
 * An activation's gradient (act_grad: dz = act'(dy) from the forward
 * output y) whose dy comes from a product (matmul: the input gradient of
 * the layer above, dy = dz' W^T) is computed in that product's epilogue,
 * each tile of C while it is in L1 (nnc_rt_gemm_f32_act_grad): dy is
 * never written and read back.  The matmul gains y as a third input and
 * writes dz.  Also through a view between them (a flatten's gradient: the
 * small CNN's dense layer gives the gradient of its conv's relu): the
 * matmul then writes dz in its own 2-D shape, the view maps it, and dz's
 * readers read the view.  C's rows are y's, contiguous (ldy = C's columns).
 *
 * Then an activation's gradient whose result feeds a bias gradient
 * (bias_grad: db = the column sums of dz) computes both in one pass:
 * nnc_rt_act_bias_backward sums each block of dz's rows while it is still
 * in L1, instead of reading all of dz again.  The act_grad node gains db as
 * its second output.
 *
 * Likewise a convolution's bias gradient whose dz is also the dy its filter
 * gradient reads: nnc_rt_conv2d_backward_filter_bias sums dz's channels in
 * the filter kernel's own pass over dz (the small CNN's dz is 2.7 MB a
 * step, read from L3: that pass was 8 % of its training step), with the
 * bits of nnc_rt_bias_backward.  The filter node gains db as its third
 * output (after the scratch).
 *
 * The absorbed node dies.  Softmax's gradient needs whole rows: it is left
 * alone.  -O0 skips the pass. */
#include "ir.h"

void fuse_grad(Graph *g) {
    int act_grad = OP_ACT_GRAD, bias_grad = OP_BIAS_GRAD, matmul = OP_MATMUL;
    int view = OP_VIEW;
    Uses u;     /* the counts this loop reads: of dy and c2, which only their own fusion changes */
    ir_uses(g, &u);
    for (int i = 0; i < g->nnodes; i++) {
        Node *a = &g->nodes[i];
        if (a->dead || a->op != act_grad || a->attr.act == NNC_RT_ACT_SOFTMAX ||
            !act_fusable(a->attr.act))   /* not an epilogue's kind */
            continue;
        int dy = a->in[0], p = g->values[dy].producer, v = -1;
        if (p < 0 || ir_is_output(g, dy) || u.count[dy] != 1) continue;
        if (g->nodes[p].op == view) {   /* dy is a view of the product's output */
            int c2 = g->nodes[p].in[0];
            v = p;
            p = g->values[c2].producer;
            if (p < 0 || ir_is_output(g, c2) || u.count[c2] != 1) continue;
        }
        Node *m = &g->nodes[p];
        if (m->dead || m->op != matmul || m->nin != 2 || m->nout != 1 ||
            ir_size(&g->values[a->in[1]]) != ir_size(&g->values[m->out[0]]))
            continue;
        m->in[m->nin++] = a->in[1];
        m->attr.act = a->attr.act;
        a->dead = 1;
        if (v < 0) {
            m->out[0] = a->out[0];
            g->values[a->out[0]].producer = p;
            g->values[dy].producer = -1;
            u.count[dy] = 0;
            continue;
        }
        for (int j = 0; j < g->nnodes; j++)   /* dz's readers read the view */
            for (int k = 0; k < g->nodes[j].nin; k++)
                if (!g->nodes[j].dead && g->nodes[j].in[k] == a->out[0]) g->nodes[j].in[k] = dy;
        u.count[dy] = u.count[a->out[0]];   /* a read dy; dz's readers now do */
        u.count[a->out[0]] = 0;
        g->values[a->out[0]].producer = -1;
    }
    ir_uses_free(&u);
    for (int i = 0; i < g->nnodes; i++) {
        Node *b = &g->nodes[i];
        if (b->dead || b->op != bias_grad) continue;
        int p = g->values[b->in[0]].producer;
        if (p < 0) continue;
        Node *a = &g->nodes[p];
        if (a->dead || a->op != act_grad || a->nout != 1 || !act_fusable(a->attr.act)) continue;
        a->out[a->nout++] = b->out[0];
        g->values[b->out[0]].producer = p;
        b->dead = 1;
    }
    for (int i = 0; i < g->nnodes; i++) {
        Node *b = &g->nodes[i];
        if (b->dead || b->op != bias_grad) continue;
        int dz = b->in[0];
        for (int j = 0; j < g->nnodes; j++) {
            Node *f = &g->nodes[j];
            /* the filter gradient over dz as its dy (in[1]; conv2d_transpose
             * reads dz as its x instead), db one per output channel */
            if (f->dead || f->op != OP_CONV_GRAD_FILTER || f->nin != 2 || f->nout != 2 || f->in[1] != dz ||
                ir_size(&g->values[b->out[0]]) != f->attr.conv.oc)
                continue;
            f->out[f->nout++] = b->out[0];
            g->values[b->out[0]].producer = j;
            b->dead = 1;
            break;
        }
    }
}
