/* report.c — `nnc --report`: one line per scheduled node, in the order the
 * generated code runs them: its work (FLOPs at the largest batch), the
 * bytes its inputs and outputs span, the GEMM tiling the target gets
 * (passes/tile.c), what was fused into it, and where its output lives in
 * the arena (training and prediction schedules).  Then the totals. */
#include <string.h>
#include "ir.h"

static const char *const phase_names[] = { "forward", "loss", "backward", "update" };

static long value_bytes(const Graph *g, int v, long batch) {
    const Value *x = &g->values[v];
    return 4 * ir_size(x) * (x->batched ? batch : 1);
}

static void tiles_str(const nnc_rt_gemm_tiles *t, char *b, size_t cap) {
    if (t->path == NNC_RT_GEMM_SMALL_K) snprintf(b, cap, "rank-K rows");
    else if (t->path == NNC_RT_GEMM_SMALL_M) snprintf(b, cap, "small-M rows, %d cols", t->nr);
    else if (t->path == NNC_RT_GEMM_BLOCKED)
        snprintf(b, cap, "%dx%d, kc %d x%d, B %s", t->mr, t->nr, t->kc, t->kblocks,
                 t->b == NNC_RT_GEMM_B_IN_PLACE ? "in place" : "packed");
    else if (t->path == NNC_RT_GEMM_NARROW_AT) snprintf(b, cap, "A^T by 16 rows, narrow N");
    else if (t->path == NNC_RT_GEMM_NARROW_DOT) snprintf(b, cap, "dot products, narrow N");
    else snprintf(b, cap, "-");
}

/* what earlier passes folded into the node */
static void fused_str(const Graph *g, const Node *n, char *b, size_t cap) {
    const OpDef *d = op_table[n->op];
    int len = 0;
    b[0] = 0;
    if (d->epilogue && n->nin > 2) len += snprintf(b + len, cap - len, "bias ");
    if (d->conv && n->nin > 3) len += snprintf(b + len, cap - len, "residual add ");
    if (d->epilogue && n->attr.act != NNC_RT_ACT_LINEAR)
        len += snprintf(b + len, cap - len, "%s epilogue ", act_name(n->attr.act));
    if (n->folded) len += snprintf(b + len, cap - len, "%d scale/shift folded ", n->folded);
    if (n->op == OP_MATMUL && n->nin > 2)
        len += snprintf(b + len, cap - len, "%s gradient epilogue ", act_name(n->attr.act));
    if (n->op == OP_ACT_GRAD && n->nout > 1) len += snprintf(b + len, cap - len, "bias gradient ");
    if (d->gemm && n->nin > 1 && g->values[n->in[1]].panels)
        len += snprintf(b + len, cap - len, "kernel in panels ");
    if (n->op == OP_LOSS && n->attr.loss > NNC_RT_LOSS_SPARSE_CCE)
        len += snprintf(b + len, cap - len, "from the logits ");
    if (n->op == OP_UPDATE)
        len += snprintf(b + len, cap - len, "%s over the flat parameter block ", opt_names[g->train.opt]);
    if (len) b[len - 1] = 0;
    else snprintf(b, cap, "-");
}

static void offset_str(const Graph *g, const long *off, int v, char *b, size_t cap) {
    long o = off ? off[ir_storage(g, v)] : -1;
    if (o >= 0) snprintf(b, cap, "%ld", o * 4);
    else snprintf(b, cap, "-");
}

void report_print(const Graph *g, const Plan *p, const Target *t, FILE *out) {
    int training = g->train.present;
    long batch = g->train.batch, bytes_total = 0;
    double flops_total = 0, gemm_flops = 0;   /* double: a FLOP count at the batch may pass a long */
    const nnc_rt_gemm_target *k = &t->gemm;
    fprintf(out, "target %s: %s kernels %dx%d", t->name, k->isa, k->mr, k->nr);
    if (k->narrow_nr) fprintf(out, " (%dx%d for N <= %d)", k->narrow_mr, k->narrow_nr, k->narrow_nr);
    fprintf(out, ", %d-float vectors, %d registers, L1d %d KiB, L2 %ld KiB\n", t->vector_floats,
            t->vector_registers, k->l1_bytes / 1024, t->l2_bytes / 1024);
    fprintf(out, "batch %ld, %s; FLOPs and bytes at the full batch; arena offsets in bytes\n\n", batch,
            training ? "training step and prediction" : "prediction");
    fprintf(out, "%-4s %-8s %-18s %-14s %-16s %10s %10s  %-30s %-30s %10s %10s\n", "#", "phase", "op", "layer",
            "output", "kFLOP", "KB", "GEMM tiles", "fused", "arena", "predict");
    for (int i = 0, row = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        if (!ir_in_schedule(n, training)) continue;
        const OpDef *d = op_table[n->op];
        long samples = n->nout && g->values[n->out[0]].batched ? batch : 1;
        double flops = d->flops ? (double)d->flops(g, n) * samples : 0;
        long bytes = 0, mnk[3];
        int ta, tb;
        if (d->gemm && d->gemm(g, n, batch, mnk, &ta, &tb) && !d->flops) flops = 2.0 * mnk[0] * mnk[1] * mnk[2];
        for (int j = 0; j < n->nin; j++) bytes += value_bytes(g, n->in[j], batch);
        for (int j = 0; j < n->nout; j++) bytes += value_bytes(g, n->out[j], batch);
        char shape[96] = "-", tiles[64], fused[128], tr[24] = "-", inf[24] = "-";
        if (n->nout) {
            ir_shape_str(&g->values[n->out[0]], shape, sizeof shape);
            offset_str(g, training ? p->train_off : p->infer_off, n->out[0], tr, sizeof tr);
            if (training && n->phase == PH_FORWARD) offset_str(g, p->infer_off, n->out[0], inf, sizeof inf);
        }
        tiles_str(&n->tiles, tiles, sizeof tiles);
        if (d->conv && !n->tiles.path) {   /* the convolution's own kernels on the target */
            static const char *const paths[] = { "depthwise kernel", "-", "direct kernel", "im2col + GEMM" };
            int direct = !strcmp(k->isa, "avx512") || !strcmp(k->isa, "avx2");
            int path = nnc_rt_conv2d_path(&n->attr.conv, direct);
            snprintf(tiles, sizeof tiles, "%s", paths[path]);
            /* constant weights in panels run by Winograd where the kernels
             * take the layer; which they take is known for this build's
             * own instruction set only */
            if (path == NNC_RT_CONV_DIRECT && n->nin > 1 && g->values[n->in[1]].panels &&
                !strcmp(k->isa, nnc_rt_gemm_native()->isa) && nnc_rt_conv2d_winograd(&n->attr.conv))
                snprintf(tiles, sizeof tiles, "Winograd F(2x2,3x3)");
        }
        fused_str(g, n, fused, sizeof fused);
        fprintf(out, "%-4d %-8s %-18s %-14s %-16s %10.1f %10.1f  %-30s %-30s %10s %10s\n", row++,
                phase_names[n->phase], op_name(n->op), n->layer[0] ? n->layer : "-", shape, flops / 1e3,
                bytes / 1024.0, tiles, fused, tr, training ? inf : "");
        flops_total += flops;
        bytes_total += bytes;
        if (n->tiles.path) gemm_flops += flops;
    }
    fprintf(out, "\ntotal: %.3f MFLOP per %s (%.0f%% in GEMMs), %.1f KB read and written by the nodes, "
                 "arena %ld bytes\n", flops_total / 1e6, training ? "training step" : "prediction",
            flops_total ? 100.0 * gemm_flops / flops_total : 0.0, bytes_total / 1024.0, 4 * p->arena_floats);
}
