/* passes/tile.c — records in each node that runs a GEMM how its product is
 * tiled on the target (--target): path, micro-kernel tile, K blocks, how B
 * is read.  The decision is runtime/gemm.c's nnc_rt_gemm_tiles_for, the
 * function the runtime itself calls with the same shapes (static here, M
 * at the largest batch), so what --report shows is what runs on that
 * target.  Runs at every -O level: it changes no code. */
#include "ir.h"

void tile_gemms(Graph *g, const Target *t) {
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = &g->nodes[i];
        long mnk[3];
        int ta = 0, tb = 0;
        n->tiles.path = 0;
        if (n->dead || !op_table[n->op]->gemm || !op_table[n->op]->gemm(g, n, g->train.batch, mnk, &ta, &tb)) continue;
        int panels = n->nin > 1 && g->values[n->in[1]].panels;
        nnc_rt_gemm_tiles_for(&t->gemm, ta, tb, (int)mnk[0], (int)mnk[1], (int)mnk[2], panels, &n->tiles);
    }
}
