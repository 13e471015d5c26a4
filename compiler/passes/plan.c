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
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "ir.h"

#define ALIGN 16    /* floats: 64-byte boundaries for SIMD loads */

static int in_arena(const Value *v) {
    return (v->role == ROLE_ACT || v->role == ROLE_GRAD) && v->alias_of < 0;
}

static long floats(const Graph *g, const Value *v) {
    long s = ir_size(v) * (v->batched ? g->train.batch : 1);
    if (v->dtype == DT_I8) s = (s + 3) / 4;     /* int8 (--quantize int8): four to a float */
    return (s + ALIGN - 1) / ALIGN * ALIGN;
}

/* The free space of the arena as sorted, disjoint gaps [start, end); the
 * last one runs to LONG_MAX.  First fit takes the lowest gap that holds
 * the size: the lowest offset that overlaps no live buffer.  Kept as gaps
 * rather than as the live buffers because a training schedule keeps every
 * forward activation live until its gradient: scanning the live ones per
 * allocation would be quadratic in the layers, the gaps stay few. */
typedef struct Gap { long start, end; } Gap;
typedef struct Arena { Gap *gap; int ngap, cap; long top; } Arena;

static long arena_take(Arena *a, long size) {
    int k = 0;
    while (a->gap[k].end - a->gap[k].start < size) k++;   /* the last gap is unbounded */
    long off = a->gap[k].start;
    a->gap[k].start += size;
    if (a->gap[k].start == a->gap[k].end) {
        memmove(a->gap + k, a->gap + k + 1, (size_t)(a->ngap - k - 1) * sizeof *a->gap);
        a->ngap--;
    }
    if (off + size > a->top) a->top = off + size;
    return off;
}

static void arena_give(Arena *a, long off, long size) {
    int lo = 0, hi = a->ngap;           /* the first gap starting after off */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (a->gap[mid].start > off) hi = mid; else lo = mid + 1;
    }
    int k = lo;
    int left = k > 0 && a->gap[k - 1].end == off, right = k < a->ngap && a->gap[k].start == off + size;
    if (left && right) {
        a->gap[k - 1].end = a->gap[k].end;
        memmove(a->gap + k, a->gap + k + 1, (size_t)(a->ngap - k - 1) * sizeof *a->gap);
        a->ngap--;
    } else if (left) {
        a->gap[k - 1].end = off + size;
    } else if (right) {
        a->gap[k].start = off;
    } else {
        if (a->ngap == a->cap) {
            a->cap *= 2;
            a->gap = realloc(a->gap, (size_t)a->cap * sizeof *a->gap);
            if (!a->gap) abort();
        }
        memmove(a->gap + k + 1, a->gap + k, (size_t)(a->ngap - k) * sizeof *a->gap);
        a->gap[k] = (Gap){ off, off + size };
        a->ngap++;
    }
}

/* last use of each storage owner, through aliases; nnodes: read after the schedule */
static int *last_uses(const Graph *g, int training) {
    int *end = malloc(((size_t)g->nvalues + 1) * sizeof *end);
    if (!end) abort();
    for (int v = 0; v < g->nvalues; v++) end[v] = -1;
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
        end[ir_storage(g, g->outputs[k])] = g->nnodes;
    return end;
}

/* The buffers of one schedule: each live buffer is a block owned by a
 * value, released after its owner's last use (dies_head[e + 1]: the list of
 * blocks whose owner's last use is node e).  An in-place output takes over
 * its input's region as a new block; the old one is retired (owner -2). */
typedef struct Schedule {
    const Graph *g;
    int *end, *owner, *dies_next, *dies_head;   /* dies: a linked list per node */
    long *bsize, *boff;
    int nblocks;
    Arena a;
} Schedule;

static void block_new(Schedule *s, int v, long off, long size) {
    int b = s->nblocks++;
    s->owner[b] = v; s->boff[b] = off; s->bsize[b] = size;
    s->dies_next[b] = s->dies_head[s->end[v] + 1];
    s->dies_head[s->end[v] + 1] = b;
}

/* release every block whose owner died before node i (from node *from on) */
static void release_before(Schedule *s, int i, int *from) {
    for (; *from <= i; ++*from)     /* dies_head[e + 1]: last use e < i */
        for (int b = s->dies_head[*from]; b >= 0; b = s->dies_next[b])
            if (s->owner[b] >= 0 && s->end[s->owner[b]] + 1 == *from) {
                arena_give(&s->a, s->boff[b], s->bsize[b]);
                s->owner[b] = -1;
            }
}

static long plan_schedule(const Graph *g, int training, long *off, long *sum) {
    int nv = g->nvalues;
    size_t nb = 2 * (size_t)nv + 1;     /* a block per buffer, and one per in-place takeover */
    Schedule s = { g, last_uses(g, training), malloc(nb * sizeof(int)), malloc(nb * sizeof(int)),
                   malloc(((size_t)g->nnodes + 2) * sizeof(int)), malloc(nb * sizeof(long)),
                   malloc(nb * sizeof(long)), 0, { malloc(16 * sizeof(Gap)), 1, 16, 0 } };
    if (!s.owner || !s.dies_next || !s.dies_head || !s.bsize || !s.boff || !s.a.gap) abort();
    s.a.gap[0] = (Gap){ 0, LONG_MAX };
    int *block_of = malloc((size_t)nv * sizeof *block_of), from = 0;
    if (!block_of) abort();
    for (int i = 0; i < g->nnodes + 2; i++) s.dies_head[i] = -1;
    for (int v = 0; v < nv; v++) off[v] = -1;
    *sum = 0;
    /* several inputs are unpacked from the caller's rows before the first node */
    for (int k = 0; g->ninputs > 1 && k < g->ninputs; k++) {
        int v = g->inputs[k];
        long size = floats(g, &g->values[v]);
        *sum += size;
        off[v] = arena_take(&s.a, size);
        block_of[v] = s.nblocks;
        block_new(&s, v, off[v], size);
    }
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        if (!ir_in_schedule(n, training)) continue;
        release_before(&s, i, &from);
        for (int j = 0; j < n->nout; j++) {
            int o = n->out[j];
            const Value *v = &g->values[o];
            if (!in_arena(v) || off[o] >= 0) continue;
            long size = floats(g, v);
            *sum += size;
            int x = n->nin ? ir_storage(g, n->in[0]) : -1;
            if (j == 0 && op_table[n->op]->inplace && x >= 0 && in_arena(&g->values[x]) && s.end[x] == i &&
                floats(g, &g->values[x]) == size && off[x] >= 0 && s.owner[block_of[x]] == x) {
                s.owner[block_of[x]] = -2;     /* o takes over x's block, and dies when o does */
                off[o] = off[x];
                block_of[o] = s.nblocks;
                block_new(&s, o, off[o], size);
                continue;
            }
            off[o] = arena_take(&s.a, size);
            block_of[o] = s.nblocks;
            block_new(&s, o, off[o], size);
        }
    }
    long top = s.a.top;
    free(s.end); free(s.owner); free(s.dies_next); free(s.dies_head); free(s.bsize); free(s.boff);
    free(s.a.gap); free(block_of);
    return top;
}

/* group 0: trainable; 1: moving statistics and frozen parameters; 2: constants */
long plan_params(Graph *g, long *trainable, long *constants) {
    long off = 0, ends[3] = { 0, 0, 0 };
    for (int group = 0; group < 3; group++) {
        for (int v = 0; v < g->nvalues; v++) {
            Value *x = &g->values[v];
            if (x->role != ROLE_PARAM || ir_param_group(x) != group) continue;
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

/* Every buffer a scheduled node reads or writes lies inside the arena:
 * a placement the emitter would print as m->arena + -1 (a view of a value
 * nothing placed) or past the end is a bug in a pass, caught here instead
 * of as a wrong answer at run time.  -1 after reporting the first one. */
static int plan_check(const Graph *g, int training, const long *off, long top) {
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        if (!ir_in_schedule(n, training)) continue;
        for (int j = 0; j < n->nin + n->nout; j++) {
            int v = j < n->nin ? n->in[j] : n->out[j - n->nin];
            if (v < 0) continue;
            int s = ir_storage(g, v);
            const Value *x = &g->values[s];
            if (!in_arena(x) || (off[s] >= 0 && off[s] + floats(g, x) <= top)) continue;
            diag_error((Loc){ 0, 0, 0, 0 }, "internal error: %s '%s' of node %d (%s) has no place in the %s arena "
                       "(offset %ld, %ld floats, arena %ld); nnc cannot compile this model correctly, "
                       "please report it", j < n->nin ? "input" : "output", g->values[v].name, i,
                       op_name(n->op), training ? "training" : "inference", off[s], floats(g, x), top);
            return -1;
        }
    }
    return 0;
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
    if (plan_check(g, 0, p->infer_off, p->infer_arena)) return -1;
    return t->present ? plan_check(g, 1, p->train_off, p->train_arena) : 0;
}

void plan_free(Plan *p) {
    free(p->train_off);
    free(p->infer_off);
}
