/* passes/layout.c — fewer layout changes in imported graphs.
 *
 * ONNX is channels-first and the runtime's convolution and pooling kernels
 * are channels-last, so the importer wraps each Conv and pool in an
 * NCHW -> NHWC copy and a copy back (nd_copy nodes that only permute axes:
 * "transposes").  This pass removes most of them, with the tensors' values
 * unchanged:
 *
 *  - a transpose that only moves size-1 axes moves no data: it becomes a
 *    view (an alias of its input);
 *  - a transpose of a transpose is one transpose from the first input, and
 *    nothing at all when the two cancel;
 *  - a transpose sinks below its one element-wise consumer (nd_unary, or
 *    nd_binary whose other operand is transposed the same way, a parameter
 *    or a broadcast), which then works in the untransposed layout: the other
 *    operand is read through permuted strides (no data moves, so this is
 *    valid for trainable parameters too), and one transpose follows it.
 *    Sinking repeats until the transpose meets its inverse (the next conv's
 *    input copy) and both go.  A transpose with several element-wise
 *    readers sinks below each when all of them can follow (sink_all);
 *  - a copy of a copy (perhaps through a view that only adds or drops axes
 *    of size 1) is one copy when each axis of the second walks one axis of
 *    the first's output;
 *  - a reduction (GlobalAveragePool) reads the transpose's input directly,
 *    writing through permuted output strides;
 *  - a transpose that feeds a Flatten/Reshape view and then a MatMul by a
 *    constant weight goes away: the weight's rows are permuted instead, once,
 *    here.  Only a baked constant (not a trained parameter: its saved
 *    layout would change) is rewritten.
 *
 * The graph stays topologically ordered: a sunk transpose is inserted right
 * after its new producer.  Runs before fusion and autodiff, whose rules see
 * ordinary nd ops; -O0 skips it, but for layout_cancel (the first three
 * rewrites), which passes/batch.c needs to see an imported graph's batch
 * axis through an exporter's transpose pairs (PyTorch's batch-first LSTM).
 * The helpers at the end give passes a
 * constant they may rewrite (fuse_nd.c folds batch norms with them).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ir.h"

#define R IR_MAX_RANK

static void dense_strides(const int *dims, int rank, long *s) {
    long acc = 1;
    for (int d = rank - 1; d >= 0; d--) { s[d] = acc; acc *= dims[d]; }
}

/* strides equal on every axis longer than 1 (others are never stepped) */
static int same_strides(const long *a, const long *b, const long *dims, int rank) {
    for (int d = 0; d < rank; d++)
        if (dims[d] > 1 && a[d] != b[d]) return 0;
    return 1;
}

/* does the descriptor's space equal this value's shape, walked densely by `s`? */
static int dense_over(const nnc_rt_nd *p, const Value *v, const long *s, long off) {
    if (p->rank != v->rank || off) return 0;
    long vs[R];
    dense_strides(v->dims, v->rank, vs);
    for (int d = 0; d < v->rank; d++)
        if (p->dims[d] != v->dims[d]) return 0;
    return same_strides(s, vs, p->dims, p->rank);
}

/* a copy that only permutes the axes of its input: Y's axis d is X's axis
 * perm[d].  Returns 0 for anything else (slices, pads, broadcasts). */
static int transpose_perm(const Graph *g, const Node *n, int *perm) {
    if (n->dead || n->op != OP_ND_COPY || n->nin != 1 || n->nout != 1) return 0;
    const Value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
    const nnc_rt_nd *p = &n->attr.nd;
    int r = y->rank;
    if (x->batched || y->batched || x->rank != r || r < 1 || ir_size(x) != ir_size(y) || !ir_size(y)) return 0;
    if (!dense_over(p, y, p->ys, p->yoff) || p->aoff) return 0;
    long xs[R];
    dense_strides(x->dims, r, xs);
    int used[R] = { 0 };
    for (int d = 0; d < r; d++) {
        perm[d] = -1;
        if (y->dims[d] == 1) continue;
        for (int e = 0; e < r; e++)
            if (!used[e] && x->dims[e] == y->dims[d] && xs[e] == p->as[d]) { perm[d] = e; used[e] = 1; break; }
        if (perm[d] < 0) return 0;
    }
    for (int d = 0, e = 0; d < r; d++) {   /* equal sizes: the rest of X's axes are size 1 too */
        if (perm[d] >= 0) continue;
        while (e < r && (used[e] || x->dims[e] != 1)) e++;
        if (e == r) return 0;
        perm[d] = e;
        used[e] = 1;
    }
    return 1;
}

/* the axes longer than 1 keep their order: the same bytes, another shape */
static int moves_no_data(const int *perm, const Value *x, int r) {
    int last = -1;
    for (int d = 0; d < r; d++) {
        if (x->dims[perm[d]] == 1) continue;
        if (perm[d] < last) return 0;
        last = perm[d];
    }
    return 1;
}

/* n's descriptor: the transpose of value x by perm (its output has x's dims permuted) */
static void set_transpose(Graph *g, int node, int x, const int *perm) {
    Node *n = &g->nodes[node];
    const Value *xv = &g->values[x];
    int r = xv->rank, dims[R];
    long xs[R];
    dense_strides(xv->dims, r, xs);
    for (int d = 0; d < r; d++) dims[d] = xv->dims[perm[d]];
    memset(&n->attr.nd, 0, sizeof n->attr.nd);
    n->attr.nd.rank = r;
    for (int d = 0; d < r; d++) n->attr.nd.dims[d] = dims[d];
    dense_strides(dims, r, n->attr.nd.ys);
    for (int d = 0; d < r; d++) n->attr.nd.as[d] = xs[perm[d]];
    n->in[0] = x;
}

/* the live nodes reading v (each once) */
static int users(const Graph *g, int v, int *list, int max) {
    int k = 0;
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] == v) {
                if (k < max) list[k] = i;
                k++;
                break;
            }
    }
    return k;
}

/* every reader of `from` reads `to`; views of it become views of `to` (their
 * storage must not stay with a value nothing writes any more) */
static void replace_uses(Graph *g, int from, int to) {
    for (int i = 0; i < g->nnodes; i++)
        for (int j = 0; !g->nodes[i].dead && j < g->nodes[i].nin; j++)
            if (g->nodes[i].in[j] == from) g->nodes[i].in[j] = to;
    for (int v = 0; v < g->nvalues; v++)
        if (g->values[v].alias_of == from) g->values[v].alias_of = to;
}

/* a copy or a view nothing reads any more */
static void drop_if_unused(Graph *g, int node) {
    Node *n = &g->nodes[node];
    if (n->dead || (n->op != OP_ND_COPY && n->op != OP_VIEW) || ir_is_output(g, n->out[0]) ||
        users(g, n->out[0], NULL, 0))
        return;
    n->dead = 1;
    g->values[n->out[0]].producer = -1;
}

static void to_view(Graph *g, int node) {
    Node *n = &g->nodes[node];
    n->op = OP_VIEW;
    memset(&n->attr.nd, 0, sizeof n->attr.nd);
    g->values[n->out[0]].alias_of = n->in[0];
}

/* a new node placed right after `pos` (later nodes move up by one) */
static int insert_after(Graph *g, int pos, int op, const int *in, int nin) {
    int m = ir_node(g, op, in, nin, g->nodes[pos].loc);
    Node n = g->nodes[m];
    memmove(&g->nodes[pos + 2], &g->nodes[pos + 1], (size_t)(m - pos - 1) * sizeof n);
    g->nodes[pos + 1] = n;
    for (int v = 0; v < g->nvalues; v++)
        if (g->values[v].producer > pos) g->values[v].producer++;
    return pos + 1;
}

/* a value shaped like `like` but for dims */
static int new_act(Graph *g, int like, const int *dims, int rank, const char *suffix) {
    char name[IR_NAME];
    ir_format_name(name, "%s%s", g->values[like].name, suffix);
    int v = ir_value(g, name, ROLE_ACT, 0, rank, dims);
    g->values[v].loc = g->values[like].loc;
    return v;
}

/* ---- the rewrites ------------------------------------------------------------------ */

/* c = Q(Y) with Y = P(X): c becomes one copy from X, an alias, or nothing */
static void compose(Graph *g, int c, int x, const int *p, const int *q) {
    int r = g->values[x].rank, perm[R];
    for (int d = 0; d < r; d++) perm[d] = p[q[d]];
    int z = g->nodes[c].out[0];
    set_transpose(g, c, x, perm);
    if (ir_is_output(g, z) || !moves_no_data(perm, &g->values[x], r)) return;
    const Value *xv = &g->values[x], *zv = &g->values[z];
    if (zv->rank == xv->rank && !memcmp(zv->dims, xv->dims, (size_t)r * sizeof *zv->dims)) {
        replace_uses(g, z, x);
        g->nodes[c].dead = 1;
        g->values[z].producer = -1;
    } else {
        to_view(g, c);
    }
}

/* a reduction over Y = P(X) reads X, writing through permuted strides */
static int absorb_into_reduce(Graph *g, int c, int y, int x, const int *p) {
    Node *n = &g->nodes[c];
    if (n->nin != 1 || n->in[0] != y || !dense_over(&n->attr.nd, &g->values[y], n->attr.nd.as, n->attr.nd.aoff))
        return 0;
    const Value *xv = &g->values[x];
    int r = xv->rank;
    nnc_rt_nd q = n->attr.nd;
    for (int d = 0; d < r; d++) {
        q.dims[p[d]] = xv->dims[p[d]];
        q.ys[p[d]] = n->attr.nd.ys[d];
    }
    dense_strides(xv->dims, r, q.as);
    n->attr.nd = q;
    n->in[0] = x;
    return 1;
}

/* the producer of v if it is a transpose by exactly perm, else -1 */
static int transposed_by(const Graph *g, int v, const int *perm) {
    int t = g->values[v].producer, q[R];
    if (t < 0 || !transpose_perm(g, &g->nodes[t], q)) return -1;
    return memcmp(q, perm, (size_t)g->values[v].rank * sizeof *q) ? -1 : t;
}

/* the binary's operand `k` read element for element over the space (not broadcast)? */
static int operand_dense(const Graph *g, const Node *n, int k) {
    return dense_over(&n->attr.nd, &g->values[n->in[k]], k ? n->attr.nd.bs : n->attr.nd.as,
                      k ? n->attr.nd.boff : n->attr.nd.aoff);
}

/* can Y = P(X) sink below node c?  c is element-wise over Y's shape, and
 * each operand that is not Y is transposed by P too, or can be read through
 * permuted strides at no cost: a parameter or a broadcast */
static int sinkable(const Graph *g, int c, int y, const int *perm) {
    const Node *n = &g->nodes[c];
    if (n->nout != 1) return 0;
    if (n->op == OP_ND_UNARY) return n->in[0] == y;
    if (n->op != OP_ND_BINARY) return 0;
    const Value *w = &g->values[n->out[0]], *yv = &g->values[y];
    if (w->rank != yv->rank || memcmp(w->dims, yv->dims, (size_t)w->rank * sizeof *w->dims) ||
        !dense_over(&n->attr.nd, w, n->attr.nd.ys, n->attr.nd.yoff))
        return 0;
    for (int k = 0; k < 2; k++) {
        int v = n->in[k];
        if (v == y || (transposed_by(g, v, perm) >= 0 && operand_dense(g, n, k))) {
            if (!operand_dense(g, n, k)) return 0;
            continue;
        }
        if (g->values[v].role == ROLE_PARAM || ir_size(&g->values[v]) < ir_size(w)) continue;
        const long *s = k ? n->attr.nd.bs : n->attr.nd.as;
        int broadcast = 0;
        for (int d = 0; d < n->attr.nd.rank; d++) broadcast |= n->attr.nd.dims[d] > 1 && s[d] == 0;
        if (!broadcast) return 0;
    }
    return 1;
}

/* c(P(X), ...) = P(c(X, ...)): c works in X's layout, a transpose follows it */
static void sink(Graph *g, int t, int c, int x, const int *perm) {
    int y = g->nodes[t].out[0];
    Node *n = &g->nodes[c];
    const Value *xv = &g->values[x];
    int r = xv->rank, xdims[R], others[2] = { -1, -1 };
    memcpy(xdims, xv->dims, sizeof xdims);
    if (n->op == OP_ND_BINARY) {
        nnc_rt_nd o = n->attr.nd, q = o;
        long dense[R];
        dense_strides(xdims, r, dense);
        for (int e = 0; e < r; e++) q.dims[e] = xdims[e];
        memcpy(q.ys, dense, sizeof dense);
        for (int k = 0; k < 2; k++) {
            long *qs = k ? q.bs : q.as;
            const long *os = k ? o.bs : o.as;
            int v = n->in[k], tv = v == y ? t : transposed_by(g, v, perm);
            if (tv >= 0 && operand_dense(g, n, k)) {
                n->in[k] = g->nodes[tv].in[0];
                memcpy(qs, dense, sizeof dense);
                if (k) q.boff = 0; else q.aoff = 0;
                others[k] = tv;
            } else {
                for (int d = 0; d < r; d++) qs[perm[d]] = os[d];
            }
        }
        n->attr.nd = q;
    } else {
        n->in[0] = x;
    }
    int w = n->out[0], w2 = new_act(g, w, xdims, r, "/t");
    n->out[0] = w2;
    g->values[w2].producer = c;
    int tn = insert_after(g, c, OP_ND_COPY, &w2, 1);
    memcpy(g->nodes[tn].layer, g->nodes[c].layer, sizeof g->nodes[tn].layer);
    set_transpose(g, tn, w2, perm);
    ir_add_output(g, tn, w);
    for (int k = 0; k < 2; k++)
        if (others[k] >= 0) drop_if_unused(g, others[k]);
    drop_if_unused(g, t);
}

/* Y = P(X) read by several element-wise nodes (after the reductions took
 * theirs), such as a squeeze-excite block's x + x * se(x): each sinks in
 * turn when every one of them is sinkable, or becomes so once the readers
 * before it have sunk (an operand another reader of Y computes), so that
 * the transposes meet again below and cancel.  A reader that cannot sink
 * leaves the transpose where it is.  1 if the graph changed. */
static int sink_all(Graph *g, int t, int y, int x, const int *perm) {
    int n = users(g, y, NULL, 0);
    int *list = malloc((size_t)n * sizeof *list);
    if (!list) abort();
    users(g, y, list, n);
    for (int i = 0; i < n; i++) {
        const Node *c = &g->nodes[list[i]];
        if (sinkable(g, list[i], y, perm)) continue;
        int ok = c->op == OP_ND_BINARY && c->nin == 2 && c->nout == 1;
        for (int k = 0; ok && k < 2; k++) {
            int v = c->in[k], p = g->values[v].producer, mine = v == y;
            for (int j = 0; j < i && !mine; j++) mine = p == list[j];
            ok = mine && operand_dense(g, c, k);
        }
        const Value *w = &g->values[c->out[0]], *yv = &g->values[y];
        if (!ok || w->rank != yv->rank || memcmp(w->dims, yv->dims, (size_t)w->rank * sizeof *w->dims) ||
            !dense_over(&c->attr.nd, w, c->attr.nd.ys, c->attr.nd.yoff)) {
            free(list);
            return 0;
        }
    }
    int changed = 0;
    for (int i = 0; i < n; i++) {
        if (g->nodes[t].dead || !sinkable(g, list[i], y, perm)) break;
        sink(g, t, list[i], x, perm);
        changed = 1;
        for (int j = i + 1; j < n; j++) list[j]++;   /* a transpose was inserted after list[i] */
    }
    free(list);
    return changed;
}

/* z = B(y) with y = A(x), perhaps through a view of y that only adds or drops
 * axes of size 1 (the same linear index): B becomes one copy from x when
 * each axis B steps walks exactly one axis of y, which A fills densely (the
 * Y, Squeeze, Transpose chain around an ONNX LSTM's output) */
static int fold_copies(Graph *g, int b) {
    Node *bn = &g->nodes[b];
    if (bn->dead || bn->op != OP_ND_COPY || bn->nin != 1 || bn->attr.nd.aoff) return 0;
    int y = bn->in[0], a = g->values[y].producer, view = -1;
    if (a >= 0 && g->nodes[a].op == OP_VIEW && !g->nodes[a].dead) {
        view = a;
        y = g->nodes[a].in[0];
        const Value *u = &g->values[bn->in[0]], *yv = &g->values[y];
        for (int d = 0, e = 0;; d++, e++) {     /* the same extents once the 1s are skipped */
            while (d < u->rank && u->dims[d] == 1) d++;
            while (e < yv->rank && yv->dims[e] == 1) e++;
            if (d == u->rank || e == yv->rank) { if (d != u->rank || e != yv->rank) return 0; break; }
            if (u->dims[d] != yv->dims[e]) return 0;
        }
        a = g->values[y].producer;
    }
    if (a < 0 || g->nodes[a].dead || g->nodes[a].op != OP_ND_COPY || g->nodes[a].nin != 1) return 0;
    const nnc_rt_nd *pa = &g->nodes[a].attr.nd, *pb = &bn->attr.nd;
    const Value *yv = &g->values[y];
    if (yv->batched || !dense_over(pa, yv, pa->ys, pa->yoff)) return 0;
    long ys[R], as[R];
    dense_strides(yv->dims, yv->rank, ys);
    int used[R] = { 0 };
    for (int k = 0; k < pb->rank; k++) {
        as[k] = 0;
        if (pb->dims[k] == 1) continue;
        int j = -1;
        for (int d = 0; d < yv->rank && j < 0; d++)
            if (!used[d] && yv->dims[d] > 1 && ys[d] == pb->as[k] && pb->dims[k] <= yv->dims[d]) j = d;
        if (j < 0) return 0;
        used[j] = 1;
        as[k] = pa->as[j];
    }
    memcpy(bn->attr.nd.as, as, sizeof as);
    bn->attr.nd.aoff = pa->aoff;
    bn->in[0] = g->nodes[a].in[0];
    if (view >= 0) drop_if_unused(g, view);    /* then A, if nothing else reads them */
    drop_if_unused(g, a);
    return 1;
}

/* one round over transpose node t; returns 1 if the graph changed.  Without
 * sink_too only cancelling: a transpose that moves no data becomes a view,
 * and transposes of it compose with it; with it, also into reductions and
 * sinking. */
static int visit(Graph *g, int t, int sink_too) {
    int perm[R];
    if (!transpose_perm(g, &g->nodes[t], perm)) return 0;
    int x = g->nodes[t].in[0], y = g->nodes[t].out[0], r = g->values[y].rank;
    if (!ir_is_output(g, y) && moves_no_data(perm, &g->values[x], r)) {
        to_view(g, t);
        return 1;
    }
    int changed = 0, q[R];
    for (int c = t + 1; c < g->nnodes; c++) {
        Node *n = &g->nodes[c];
        if (n->dead || n->nin < 1 || n->in[0] != y) continue;
        if (transpose_perm(g, n, q)) {
            compose(g, c, x, perm, q);
            changed = 1;
        } else if (sink_too && n->op == OP_ND_REDUCE) {
            changed |= absorb_into_reduce(g, c, y, x, perm);
        }
    }
    if (!sink_too) {
        drop_if_unused(g, t);
        return changed;
    }
    drop_if_unused(g, t);
    int c;
    if (g->nodes[t].dead || ir_is_output(g, y)) return changed;
    int readers = users(g, y, &c, 1);
    if (readers > 1) return sink_all(g, t, y, x, perm) | changed;
    if (readers != 1 || !sinkable(g, c, y, perm)) return changed;
    sink(g, t, c, x, perm);
    return 1;
}

/* ---- a transpose before Flatten and a MatMul by a constant: permute the weight ---- */

static int rows_into_matmul(Graph *g, int t) {
    int perm[R], v, m;
    if (!transpose_perm(g, &g->nodes[t], perm)) return 0;
    int x = g->nodes[t].in[0], y = g->nodes[t].out[0];
    if (ir_is_output(g, y) || users(g, y, &v, 1) != 1 || g->nodes[v].op != OP_VIEW) return 0;
    int f = g->nodes[v].out[0];
    if (ir_is_output(g, f) || users(g, f, &m, 1) != 1) return 0;
    const Node *mm = &g->nodes[m];
    const Value *fv = &g->values[f], *xv = &g->values[x], *yv = &g->values[y];
    if (mm->op != OP_ND_MATMUL || mm->attr.nd.rank || mm->in[0] != f || mm->in[1] == f || fv->rank != 2)
        return 0;
    int w = mm->in[1], rank = xv->rank;
    long rows = fv->dims[0], k = fv->dims[1], cols = mm->attr.N;
    if (!ir_constant(g, w) || g->values[w].rank != 2 || g->values[w].dims[0] != k || g->values[w].dims[1] != cols)
        return 0;
    /* rows of the product: a leading run of axes the transpose leaves alone */
    int s = -1;
    for (int split = 0; split <= rank && s < 0; split++) {
        long lead = 1;
        int fixed = 1;
        for (int d = 0; d < split; d++) { lead *= yv->dims[d]; fixed &= perm[d] == d; }
        if (lead == rows && fixed) s = split;
    }
    if (s < 0) return 0;
    float *wd = ir_writable(g, m, 1);
    float *old = malloc((size_t)(k * cols) * sizeof *old);
    if (!old) abort();
    memcpy(old, wd, (size_t)(k * cols) * sizeof *old);
    long ys[R];
    dense_strides(yv->dims, rank, ys);
    for (long row = 0; row < k; row++) {   /* row of X's trailing axes -> its row in Y's order */
        long rest = row, src = 0, idx[R];
        for (int e = rank - 1; e >= s; e--) { idx[e] = rest % xv->dims[e]; rest /= xv->dims[e]; }
        for (int d = s; d < rank; d++) src += idx[perm[d]] * ys[d];
        memcpy(wd + row * cols, old + src * cols, (size_t)cols * sizeof *wd);
    }
    free(old);
    g->nodes[v].in[0] = x;
    g->values[f].alias_of = x;
    drop_if_unused(g, t);
    return 1;
}

static void rounds(Graph *g, int sink_too) {
    for (int changed = 1; changed;) {
        changed = 0;
        for (int i = 0; i < g->nnodes; i++) changed |= visit(g, i, sink_too) | fold_copies(g, i);
    }
}

void layout_nd(Graph *g) {
    rounds(g, 1);
    for (int i = 0; i < g->nnodes; i++) rows_into_matmul(g, i);
}

void layout_cancel(Graph *g) { rounds(g, 0); }
