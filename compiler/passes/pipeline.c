/* pipeline.c — the order of the passes, in one place: main.c parses the
 * options, the front ends build the graph, and these two functions run
 * everything between the graph and the emitter.  -O0 runs only what the
 * build needs (autodiff, tiling, planning); -O2 adds the optional passes,
 * whose results agree with -O0 within float tolerance. */
#include "ir.h"

/* the passes before autodiff, and the options that shape a build for a
 * device; -1 after reporting an error */
int pipeline_forward(Graph *g, const Build *b) {
    g->check_numerics = b->check_numerics;
    if ((b->weights && deploy_bake(g, b->weights)) || (b->freeze && deploy_freeze(g, b->freeze))) return -1;
    if (b->inference) deploy_inference_only(g);
    deploy_mark_constants(g);
    g->opt_level = b->opt;
    fuse_loss(g);
    if (b->opt >= 2) {
        fuse_nd_eltwise(g);
        layout_nd(g);
        fuse_nd_conv(g);
        fuse_nd(g);
        fold_bn(g);
        fuse_act(g);
        if (!b->quantize) fuse_nd_residual(g);   /* the int8 path has no residual epilogue */
        /* inference only: hard-swish has no backward kernel and no int8 clamp */
        if (!b->quantize && g->loss < 0) fuse_act_inference(g);
    }
    return 0;
}

int pipeline_finish(Graph *g, const Build *b, const Target *t, Plan *plan) {
    if (b->quantize && quantize_graph(g, b)) return -1;    /* --quantize int8: before weights are packed */
    ad_build(g);
    if (b->opt >= 2) {
        fuse_grad(g);
        pack_weights(g);   /* after autodiff: a gradient's read of a kernel counts */
    }
    tile_gemms(g, t);
    return plan_build(g, plan);
}
