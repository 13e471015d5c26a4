/* passes/shape.c — shape inference: every live node's op-table shape rule,
 * in graph order (which is topological by construction).  Rules report
 * their own errors at the node's source location. */
#include "ir.h"

int shape_node(Graph *g, int node) {
    return op_table[g->nodes[node].op].shape(g, node);
}

int shape_infer(Graph *g) {
    int errors = 0;
    for (int i = 0; i < g->nnodes; i++)
        if (!g->nodes[i].dead && shape_node(g, i)) errors++;
    return errors ? -1 : 0;
}
