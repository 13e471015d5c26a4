/* passes/shape.c — shape inference of one node: its op-table shape rule,
 * then the size limit on what it makes.  The front ends call it as they
 * build each node (so an error stops at the first bad layer, at its source
 * location, before anything reads its shape); passes that create nodes call
 * it for those. */
#include "ir.h"

/* The generated state struct must stay addressable on 32-bit targets:
 * no single tensor (times the batch) may exceed 2^28 floats (1 GiB). */
#define MAX_FLOATS (1L << 28)

int shape_check_size(Graph *g, int node, int value) {
    const Value *v = &g->values[value];
    /* not ir_size: stop at the limit, before a product of large dims overflows */
    long floats = v->batched ? g->train.batch : 1;
    for (int i = 0; i < v->rank && floats <= MAX_FLOATS; i++)
        floats = v->dims[i] <= 0 || v->dims[i] > MAX_FLOATS ? MAX_FLOATS + 1 : floats * v->dims[i];
    if (floats <= MAX_FLOATS) return 0;
    char buf[96];
    diag_error(g->nodes[node].loc, "'%s' %s %s is too large: more than %ld floats (1 GiB)",
               v->name, v->role == ROLE_PARAM ? "with shape" : "with output shape",
               ir_shape_str(v, buf, sizeof buf), MAX_FLOATS);
    return -1;
}

int shape_node(Graph *g, int node) {
    if (op_table[g->nodes[node].op]->shape(g, node)) return -1;
    for (int j = 0; j < g->nodes[node].nout; j++)
        if (shape_check_size(g, node, g->nodes[node].out[j])) return -1;
    return 0;
}

int shape_layer_node(Graph *g, int op, const int *in, int nin, const Attrs *a, Loc loc, const char *layer) {
    int node = ir_node(g, op, in, nin, loc);
    g->nodes[node].attr = *a;
    snprintf(g->nodes[node].layer, IR_NAME, "%s", layer);
    if (shape_node(g, node)) return -1;
    if (op_table[op]->params) {
        int first = g->nodes[node].nin;
        op_table[op]->params(g, node);
        for (int j = first; j < g->nodes[node].nin; j++)
            if (shape_check_size(g, node, g->nodes[node].in[j])) return -1;
    }
    return g->nodes[node].out[0];
}
