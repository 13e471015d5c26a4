/* passes/plan.c — buffer planning.
 *
 * Parameters are laid out back to back in one block, trainable ones first
 * (gradients mirror that prefix, and each optimizer state slot too), so an
 * optimizer step is one flat loop; moving statistics and frozen parameters
 * follow, saved with the parameters but never touched by the optimizer;
 * parameters baked as constants come last, outside the model's RAM.
 * Activations and activation gradients share one arena: a value lives from
 * the node that writes it to its last reader (through aliases), and gets
 * the lowest offset that overlaps no live value (first fit, in schedule
 * order).  An op marked in-place may write over its first input when that
 * input dies at that node.  Training and inference are planned separately
 * in the same arena, so predict does not pay for the backward pass's
 * buffers in what it touches.  The model output stays live to the end of the
 * training step, so metrics can read the predictions after the update.
 */
#include <stdlib.h>
#include <string.h>
#include "ir.h"

#define ALIGN 16    /* floats: 64-byte boundaries for SIMD loads */

static int in_arena(const Value *v) {
    return (v->role == ROLE_ACT || v->role == ROLE_GRAD) && v->alias_of < 0;
}

static long floats(const Graph *g, const Value *v) {
    long s = ir_size(v) * (v->batched ? g->train.batch : 1);
    return (s + ALIGN - 1) / ALIGN * ALIGN;
}

typedef struct Block { long off, size; int value; } Block;

/* lowest offset where `size` fits between the live blocks */
static long first_fit(const Block *live, int nlive, long size) {
    long off = 0;
    for (;;) {
        int moved = 0;
        for (int i = 0; i < nlive; i++)
            if (off < live[i].off + live[i].size && live[i].off < off + size) {
                off = live[i].off + live[i].size;
                moved = 1;
            }
        if (!moved) return off;
    }
}

static long plan_schedule(const Graph *g, int training, long *off, long *sum) {
    int nv = g->nvalues;
    int *end = malloc((size_t)nv * sizeof *end);
    Block *live = malloc((size_t)nv * sizeof *live);
    if (!end || !live) abort();
    for (int v = 0; v < nv; v++) { end[v] = -1; off[v] = -1; }
    /* last use of each storage owner, through aliases */
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        if (!ir_in_schedule(n, training)) continue;
        for (int j = 0; j < n->nin; j++) end[ir_storage(g, n->in[j])] = i;
        for (int j = 0; j < n->nout; j++) {
            int s = ir_storage(g, n->out[j]);
            if (end[s] < i) end[s] = i;
        }
    }
    for (int k = 0; k < g->noutputs; k++)
        end[ir_storage(g, g->outputs[k])] = g->nnodes;   /* read after the schedule */

    int nlive = 0;
    long top = 0;
    *sum = 0;
    /* several inputs are unpacked from the caller's rows before the first node */
    for (int k = 0; g->ninputs > 1 && k < g->ninputs; k++) {
        int v = g->inputs[k];
        long size = floats(g, &g->values[v]);
        *sum += size;
        off[v] = first_fit(live, nlive, size);
        live[nlive++] = (Block){ off[v], size, v };
        if (off[v] + size > top) top = off[v] + size;
    }
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        if (!ir_in_schedule(n, training)) continue;
        /* release what died before this node */
        for (int b = 0; b < nlive; b++)
            if (end[live[b].value] < i) live[b--] = live[--nlive];
        for (int j = 0; j < n->nout; j++) {
            int o = n->out[j];
            const Value *v = &g->values[o];
            if (!in_arena(v) || off[o] >= 0) continue;
            long size = floats(g, v);
            *sum += size;
            int x = n->nin ? ir_storage(g, n->in[0]) : -1;
            if (j == 0 && op_table[n->op]->inplace && x >= 0 && in_arena(&g->values[x]) && end[x] == i &&
                floats(g, &g->values[x]) == size && off[x] >= 0) {
                for (int b = 0; b < nlive; b++)
                    if (live[b].value == x) live[b].value = o;
                off[o] = off[x];
                continue;
            }
            off[o] = first_fit(live, nlive, size);
            live[nlive++] = (Block){ off[o], size, o };
            if (off[o] + size > top) top = off[o] + size;
        }
    }
    free(end);
    free(live);
    return top;
}

/* group 0: trainable; 1: moving statistics and frozen parameters; 2: constants */
static int param_group(const Value *v) { return v->constant ? 2 : !v->trainable; }

long plan_params(Graph *g, long *trainable, long *constants) {
    long off = 0, ends[3] = { 0, 0, 0 };
    for (int group = 0; group < 3; group++) {
        for (int v = 0; v < g->nvalues; v++) {
            Value *x = &g->values[v];
            if (x->role != ROLE_PARAM || param_group(x) != group) continue;
            x->offset = off;
            off += ir_size(x);
            if (x->grad >= 0) g->values[x->grad].offset = x->offset;
        }
        ends[group] = off;
    }
    if (trainable) *trainable = ends[0];
    if (constants) *constants = ends[2] - ends[1];
    return off;
}

int plan_build(Graph *g, Plan *p) {
    memset(p, 0, sizeof *p);
    p->param_floats = plan_params(g, &p->trainable_floats, &p->const_floats);
    const TrainConfig *t = &g->train;
    if (t->present)
        p->opt_slots = t->opt == OPT_SGD ? (t->momentum != 0) :
                       t->opt == OPT_RMSPROP ? 1 + (t->momentum != 0) : 2;
    p->train_off = malloc((size_t)g->nvalues * sizeof *p->train_off);
    p->infer_off = malloc((size_t)g->nvalues * sizeof *p->infer_off);
    if (!p->train_off || !p->infer_off) abort();
    long unused;
    p->infer_arena = plan_schedule(g, 0, p->infer_off, &unused);
    p->train_arena = t->present ? plan_schedule(g, 1, p->train_off, &p->buffers_sum) : 0;
    if (!t->present) {
        memcpy(p->train_off, p->infer_off, (size_t)g->nvalues * sizeof *p->train_off);
        p->buffers_sum = unused;
    }
    p->arena_floats = p->train_arena > p->infer_arena ? p->train_arena : p->infer_arena;
    return 0;
}

void plan_free(Plan *p) {
    free(p->train_off);
    free(p->infer_off);
}
