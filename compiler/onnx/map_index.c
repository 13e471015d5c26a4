/* map_index.c — ONNX's indexing ops: ScatterElements (and its old name
 * Scatter), ScatterND, GatherND and TopK on the run-time kernels of
 * ops/index.c; OneHot, Compress, ReverseSequence and Einsum composed from
 * nnc's N-d ops; NonZero and Unique folded here when their input is a
 * constant (their output's shape depends on its values, so a run-time
 * input is refused).
 *
 * Decisions:
 *  - Indices that are constants are checked here: one outside its axis
 *    makes the model invalid (exit 1).  Run-time ones are the kernels' to
 *    skip (runtime/index.c), never a read or write outside a buffer.
 *  - OneHot is Where(Equal(indices, Range(depth)), on, off) broadcast over
 *    the new axis (negative indices first moved up by depth); indices that
 *    are not integers match no class (ONNX's reference casts them first).
 *  - Compress needs its condition at compile time: it becomes a Gather of
 *    the selected positions.  ReverseSequence is a GatherElements along the
 *    time axis, of positions computed from the lengths with element-wise
 *    ops (folded when the lengths are constants).
 *  - Einsum (numpy's letters, "..." included, implicit output) becomes, per
 *    operand, one strided copy or sum (transposes, diagonals, the letters no
 *    one else needs summed), then one (batched) MatMul per further operand,
 *    left to right, each keeping the letters the output or a later operand
 *    has; an axis of 1 against a longer one broadcasts (numpy's rule);
 *    more than 16 operands are refused, naming the equation.
 */
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx.h"

/* the reduction attribute of ScatterElements/ScatterND; -1 after reporting */
static int reduction_of(Ctx *c) {
    static const char *const names[] = { "none", "add", "mul", "max", "min" };
    const Onnx__AttributeProto *a = onnx_attr(c->n, "reduction");
    if (!a) return NNC_RT_SCATTER_NONE;
    for (int i = 0; i < 5; i++)
        if (onnx_attr_is(c->n, "reduction", names[i])) return i;
    onnx_invalid(c->im, "reduction '%.*s' is none of none, add, mul, max, min", (int)(a->s.len > 40 ? 40 : a->s.len),
                 (const char *)a->s.data);
    return -1;
}

/* constant indices within [-len, len); -1 after reporting an invalid node */
static int check_indices(Ctx *c, const Tensor *idx, long every, const long *len, const char *what) {
    if (!idx->data) return 0;
    long n = onnx_numel(idx->dims, idx->rank);
    for (long i = 0; i < n; i++) {
        long l = len[every ? i % every : 0];
        float v = idx->data[i];
        if (!(v >= -(float)l && v < (float)l)) {
            onnx_invalid(c->im, "%s %g is outside [-%ld, %ld)", what, (double)v, l, l);
            return -1;
        }
    }
    return 0;
}

/* ---- ScatterElements, ScatterND, GatherND ------------------------------------------ */

// ScatterElements(data, indices, updates; axis, reduction); Scatter (opset < 11) alike
Tensor *onnx_scatter_elements(Ctx *c) {
    Tensor *x = c->in[0], *idx = c->in[1], *upd = c->in[2];
    int fn = reduction_of(c);
    if (fn < 0) return NULL;
    int axis = onnx_axis(c, onnx_attr_i(c->n, "axis", 0), x->rank, 0, "axis");
    if (axis < 0) return NULL;
    if (idx->rank != x->rank || upd->rank != x->rank) {
        onnx_invalid(c->im, "the indices (rank %d) and updates (rank %d) must have the data's rank %d", idx->rank,
                     upd->rank, x->rank);
        return NULL;
    }
    for (int d = 0; d < x->rank; d++)
        if (upd->dims[d] != idx->dims[d] || (d != axis && idx->dims[d] > x->dims[d])) {
            onnx_invalid(c->im, "axis %d: indices extent %ld, updates %ld, data %ld (the updates must be shaped as the "
                         "indices, no larger than the data off the axis)", d, idx->dims[d], upd->dims[d], x->dims[d]);
            return NULL;
        }
    if (check_indices(c, idx, 0, &x->dims[axis], "index")) return NULL;
    Attrs a;
    memset(&a, 0, sizeof a);
    nd_dense(&a.nd, idx->rank, idx->dims);
    memcpy(a.nd.as, a.nd.ys, sizeof a.nd.as);
    nd_strides(x->rank, x->dims, a.nd.ys);
    a.axis = axis;
    a.alen = x->dims[axis];
    a.ny = onnx_numel(x->dims, x->rank);
    a.fn = fn;
    return onnx_apply(c->im, OP_ND_SCATTER, c->in, 3, &a, onnx_out_name(c, 0), x->rank, x->dims);
}

// ScatterND(data, indices, updates; reduction)
Tensor *onnx_scatter_nd(Ctx *c) {
    Tensor *x = c->in[0], *idx = c->in[1], *upd = c->in[2];
    int fn = reduction_of(c);
    if (fn < 0) return NULL;
    if (idx->rank < 1) { onnx_invalid(c->im, "ScatterND's indices must have rank 1 or more"); return NULL; }
    long k = idx->dims[idx->rank - 1];
    if (k < 1 || k > x->rank) {
        onnx_invalid(c->im, "index tuples of %ld entries for data of rank %d (1 to the rank)", k, x->rank);
        return NULL;
    }
    /* updates: indices.shape[:-1] + data.shape[k:] */
    int ur = idx->rank - 1 + x->rank - (int)k, ok = ur == upd->rank;
    for (int d = 0; ok && d < idx->rank - 1; d++) ok = upd->dims[d] == idx->dims[d];
    for (int d = (int)k; ok && d < x->rank; d++) ok = upd->dims[idx->rank - 1 + d - k] == x->dims[d];
    if (!ok) {
        onnx_invalid(c->im, "ScatterND's updates must be shaped indices.shape[:-1] + data.shape[%ld:]", k);
        return NULL;
    }
    if (check_indices(c, idx, k, x->dims, "index")) return NULL;
    Attrs a;
    memset(&a, 0, sizeof a);
    long xs[MAX_T];
    nd_strides(x->rank, x->dims, xs);
    a.nd.rank = (int)k;
    for (int d = 0; d < k; d++) { a.nd.dims[d] = x->dims[d]; a.nd.ys[d] = xs[d]; }
    a.ny = onnx_numel(idx->dims, idx->rank - 1);
    a.count = onnx_numel(x->dims + k, x->rank - (int)k);
    a.alen = onnx_numel(x->dims, x->rank);
    a.fn = fn;
    return onnx_apply(c->im, OP_ND_SCATTER_ND, c->in, 3, &a, onnx_out_name(c, 0), x->rank, x->dims);
}

// GatherND(data, indices; batch_dims)
Tensor *onnx_gather_nd(Ctx *c) {
    Tensor *x = c->in[0], *idx = c->in[1];
    long b = onnx_attr_i(c->n, "batch_dims", 0);
    if (idx->rank < 1) { onnx_invalid(c->im, "GatherND's indices must have rank 1 or more"); return NULL; }
    long k = idx->dims[idx->rank - 1];
    if (b < 0 || b >= idx->rank || b >= x->rank) {
        onnx_invalid(c->im, "batch_dims %ld must be below the ranks of data (%d) and indices (%d)", b, x->rank, idx->rank);
        return NULL;
    }
    if (k < 1 || b + k > x->rank) {
        onnx_invalid(c->im, "index tuples of %ld entries after %ld batch axes for data of rank %d", k, b, x->rank);
        return NULL;
    }
    for (int d = 0; d < b; d++)
        if (x->dims[d] != idx->dims[d]) {
            onnx_invalid(c->im, "batch axis %d: data has %ld, indices %ld (they must be equal)", d, x->dims[d],
                         idx->dims[d]);
            return NULL;
        }
    long dims[2 * MAX_T];
    int rank = 0;
    for (int d = 0; d < idx->rank - 1; d++) dims[rank++] = idx->dims[d];
    for (int d = (int)(b + k); d < x->rank; d++) dims[rank++] = x->dims[d];
    if (rank > MAX_T) { onnx_unsupported(c->im, "a result above rank 8"); return NULL; }
    if (check_indices(c, idx, k, x->dims + b, "index")) return NULL;
    Attrs a;
    memset(&a, 0, sizeof a);
    long xs[MAX_T];
    nd_strides(x->rank, x->dims, xs);
    a.nd.rank = (int)k;
    for (int d = 0; d < k; d++) { a.nd.dims[d] = x->dims[b + d]; a.nd.ys[d] = xs[b + d]; }
    a.outer = onnx_numel(x->dims, (int)b);
    a.ny = onnx_numel(idx->dims + b, idx->rank - 1 - (int)b);
    a.count = onnx_numel(x->dims + b + k, x->rank - (int)(b + k));
    a.inner = onnx_numel(x->dims + b, x->rank - (int)b);
    return onnx_apply(c->im, OP_ND_GATHER_ND, c->in, 2, &a, onnx_out_name(c, 0), rank, dims);
}

/* ---- TopK ---------------------------------------------------------------------- */

// TopK(X, K; axis, largest, sorted) -> Values, Indices; K an attribute before opset 10
Tensor *onnx_topk(Ctx *c) {
    Tensor *x = c->in[0];
    long k;
    if (c->im->opset < 10) {
        k = onnx_attr_i(c->n, "k", -1);
    } else {
        if (c->nin < 2 || !c->in[1]) { onnx_invalid(c->im, "TopK needs its input K from opset 10 on"); return NULL; }
        long kv[1];
        if (onnx_numel(c->in[1]->dims, c->in[1]->rank) != 1) {
            onnx_invalid(c->im, "K must hold one value");
            return NULL;
        }
        if (onnx_const_ints(c->im, c->in[1], kv, 1, "K") < 0) return NULL;
        k = kv[0];
    }
    if (x->rank < 1) { onnx_invalid(c->im, "TopK of a scalar"); return NULL; }
    int axis = onnx_axis(c, onnx_attr_i(c->n, "axis", -1), x->rank, 0, "axis");
    if (axis < 0) return NULL;
    if (k < 0 || k > x->dims[axis]) {
        onnx_invalid(c->im, "K %ld is outside 0 .. %ld (the axis' extent)", k, x->dims[axis]);
        return NULL;
    }
    if (x->dims[axis] >= 1L << 24) {   /* positions are floats */
        onnx_unsupported(c->im, "TopK along an axis of 2^24 or more elements");
        return NULL;
    }
    long largest = onnx_attr_i(c->n, "largest", 1);
    /* sorted = 0 leaves the order to the implementation: nnc sorts anyway */
    Attrs a;
    memset(&a, 0, sizeof a);
    onnx_around(x, axis, &a);
    a.count = k;
    a.fn = largest != 0;
    long dims[MAX_T];
    memcpy(dims, x->dims, sizeof dims);
    dims[axis] = k;
    if (k == 0) { onnx_unsupported(c->im, "TopK with K = 0 (an empty result)"); return NULL; }
    Tensor *v = onnx_apply(c->im, OP_ND_TOPK, &x, 1, &a, onnx_out_name(c, 0), x->rank, dims);
    if (v && c->n->n_output > 1 && *c->n->output[1]) {
        a.fn |= 2;
        if (!onnx_apply(c->im, OP_ND_TOPK, &x, 1, &a, onnx_out_name(c, 1), x->rank, dims)) return NULL;
    }
    return v;
}

/* ---- OneHot ---------------------------------------------------------------------- */

/* y = cond ? a : b, broadcasting (as onnx_where) */
static Tensor *where_of(Ctx *c, Tensor *cond, Tensor *x, Tensor *y, const char *name) {
    long d1[MAX_T], d2[MAX_T], s1[MAX_T], s2[MAX_T], s3[MAX_T], s4[MAX_T], t[MAX_T];
    int r1, r2;
    if (!cond || !x || !y) return NULL;
    if (nd_broadcast(x->rank, x->dims, y->rank, y->dims, &r1, d1, s1, s2) ||
        nd_broadcast(cond->rank, cond->dims, r1, d1, &r2, d2, s3, s4)) {
        onnx_no_broadcast(c, x, y);
        return NULL;
    }
    Attrs a;
    memset(&a, 0, sizeof a);
    nd_dense(&a.nd, r2, d2);
    nd_broadcast(x->rank, x->dims, r2, d2, &r2, t, a.nd.as, s4);
    nd_broadcast(y->rank, y->dims, r2, d2, &r2, t, a.nd.bs, s4);
    memcpy(a.cs, s3, sizeof s3);
    Tensor *in[3] = { cond, x, y };
    return onnx_apply(c->im, OP_ND_WHERE, in, 3, &a, name, r2, d2);
}

/* element i of a tensor as a scalar of its own (a strided copy) */
static Tensor *element_of(Ctx *c, Tensor *v, long i, const char *what) {
    char name[170];
    Attrs a;
    memset(&a, 0, sizeof a);
    a.nd.aoff = i;
    long one = 1;
    return onnx_apply(c->im, OP_ND_COPY, &v, 1, &a, onnx_part(c, what, name), 0, &one);
}

// OneHot(indices, depth, values; axis)
Tensor *onnx_onehot(Ctx *c) {
    Tensor *idx = c->in[0], *vals = c->in[2];
    const float *dv = onnx_scalar_of(c, 1, "OneHot's depth");
    if (!dv) return NULL;
    if (!(dv[0] >= 1 && dv[0] < (float)ONNX_MAX_ELEMS)) {
        onnx_invalid(c->im, "depth %g must be a positive count", (double)dv[0]);
        return NULL;
    }
    long depth = (long)dv[0];
    if (onnx_numel(vals->dims, vals->rank) != 2 || vals->rank != 1) {
        onnx_invalid(c->im, "OneHot's values must be [off_value, on_value] (a 1-D tensor of two)");
        return NULL;
    }
    if (idx->rank + 1 > MAX_T) { onnx_unsupported(c->im, "a result above rank 8"); return NULL; }
    int axis = onnx_axis(c, onnx_attr_i(c->n, "axis", -1), idx->rank + 1, 0, "axis");
    if (axis < 0) return NULL;
    long dims[MAX_T], rdims[MAX_T], idims[MAX_T];
    int rank = idx->rank + 1;
    for (int d = 0, j = 0; d < rank; d++) {
        dims[d] = d == axis ? depth : idx->dims[j];
        idims[d] = d == axis ? 1 : idx->dims[j];
        rdims[d] = d == axis ? depth : 1;
        if (d != axis) j++;
    }
    if (onnx_checked_numel(c->im, dims, rank, ONNX_MAX_ELEMS, "OneHot's result") < 0) return NULL;
    char name[170];
    /* the classes 0 .. depth-1 along the axis */
    float *r = malloc((size_t)depth * sizeof *r);
    if (!r) abort();
    for (long i = 0; i < depth; i++) r[i] = (float)i;
    Tensor *classes = onnx_add_constant(c->im, onnx_part(c, "classes", name), rank, rdims, r);
    /* negative indices count from depth: idx + depth * (idx < 0) */
    Tensor *neg = onnx_binary_of(c, NNC_RT_BIN_LESS, idx, onnx_scalar(c, "zero", 0), onnx_part(c, "negative", name));
    Tensor *up = onnx_binary_of(c, NNC_RT_BIN_MUL, neg, onnx_scalar(c, "depth", (float)depth), onnx_part(c, "shift", name));
    Tensor *ix = onnx_binary_of(c, NNC_RT_BIN_ADD, idx, up, onnx_part(c, "index", name));
    ix = onnx_reshaped(c, ix, rank, idims, onnx_part(c, "index_axis", name));
    Tensor *hot = onnx_binary_of(c, NNC_RT_BIN_EQUAL, ix, classes, onnx_part(c, "hot", name));
    Tensor *off = element_of(c, vals, 0, "off"), *on = element_of(c, vals, 1, "on");
    Tensor *y = where_of(c, hot, on, off, onnx_out_name(c, 0));
    if (y && (y->rank != rank || memcmp(y->dims, dims, (size_t)rank * sizeof *dims))) return NULL;
    return y;
}

/* ---- Compress, ReverseSequence ------------------------------------------------------ */

/* a Gather of x along axis at constant positions pos[0 .. m) */
static Tensor *gather_at(Ctx *c, Tensor *x, int axis, long *pos, long m) {
    char name[170];
    float *d = malloc((size_t)(m ? m : 1) * sizeof *d);
    if (!d) abort();
    for (long i = 0; i < m; i++) d[i] = (float)pos[i];
    Tensor *in[2] = { x, onnx_add_constant(c->im, onnx_part(c, "positions", name), 1, &m, d) };
    Attrs a;
    memset(&a, 0, sizeof a);
    onnx_around(x, axis, &a);
    a.ny = m;
    long dims[MAX_T];
    memcpy(dims, x->dims, sizeof dims);
    dims[axis] = m;
    return onnx_apply(c->im, OP_ND_GATHER, in, 2, &a, onnx_out_name(c, 0), x->rank, dims);
}

// Compress(input, condition; axis): the slices where the (constant) condition holds
Tensor *onnx_compress(Ctx *c) {
    Tensor *x = c->in[0], *cond = c->in[1];
    if (cond->rank != 1) { onnx_invalid(c->im, "Compress' condition must be 1-D, it has rank %d", cond->rank); return NULL; }
    if (!cond->data) {
        onnx_unsupported(c->im, "Compress' condition must be a constant (it is computed at run time, and the result's "
                         "shape depends on its values)");
        return NULL;
    }
    const Onnx__AttributeProto *ax = onnx_attr(c->n, "axis");
    int axis = 0;
    if (ax) {
        if (x->rank < 1) { onnx_invalid(c->im, "Compress along an axis of a scalar"); return NULL; }
        axis = onnx_axis(c, onnx_attr_i(c->n, "axis", 0), x->rank, 0, "axis");
        if (axis < 0) return NULL;
    } else {    /* the flattened input */
        char name[170];
        long n = onnx_numel(x->dims, x->rank);
        x = onnx_reshaped(c, x, 1, &n, onnx_part(c, "flat", name));
        if (!x) return NULL;
    }
    long len = cond->dims[0];
    if (len > x->dims[axis]) {
        onnx_invalid(c->im, "the condition has %ld entries, the axis %ld (it may not be longer)", len, x->dims[axis]);
        return NULL;
    }
    long *pos = malloc((size_t)(len ? len : 1) * sizeof *pos), m = 0;
    if (!pos) abort();
    for (long i = 0; i < len; i++)
        if (cond->data[i] != 0) pos[m++] = i;
    Tensor *y = NULL;
    if (m == 0 && !x->data) onnx_unsupported(c->im, "a Compress that selects nothing (an empty result)");
    else y = gather_at(c, x, axis, pos, m);
    free(pos);
    return y;
}

/* ReverseSequence by the lengths L: the time step read,
 * t + (t < L) * (L - 1 - t - t) over (time, batch) in x's order of the two,
 * copied over x's other axes, then a GatherElements along time (exact:
 * small integers in floats) */
static Tensor *reverse_by(Ctx *c, Tensor *x, Tensor *lens, int ta, long B, long T) {
    char name[170];
    long td[2] = { 1, 1 }, ld[2] = { 1, 1 };
    td[ta] = T;
    ld[1 - ta] = B;
    float *tv = malloc((size_t)(T ? T : 1) * sizeof *tv);
    if (!tv) abort();
    for (long t = 0; t < T; t++) tv[t] = (float)t;
    Tensor *t = onnx_add_constant(c->im, onnx_part(c, "steps", name), 2, td, tv);
    Tensor *L = onnx_reshaped(c, lens, 2, ld, onnx_part(c, "lengths", name));
    Tensor *in = onnx_binary_of(c, NNC_RT_BIN_LESS, t, L, onnx_part(c, "inside", name));
    Tensor *last = onnx_binary_of(c, NNC_RT_BIN_SUB, L, onnx_scalar(c, "one", 1), onnx_part(c, "last", name));
    Tensor *rev = onnx_binary_of(c, NNC_RT_BIN_SUB, last, t, onnx_part(c, "reversed", name));
    Tensor *jump = onnx_binary_of(c, NNC_RT_BIN_SUB, rev, t, onnx_part(c, "jump", name));
    jump = onnx_binary_of(c, NNC_RT_BIN_MUL, in, jump, onnx_part(c, "jump_inside", name));
    Tensor *pos = onnx_binary_of(c, NNC_RT_BIN_ADD, t, jump, onnx_part(c, "step_read", name));
    if (!pos || pos->rank != 2) return NULL;
    Attrs a;
    memset(&a, 0, sizeof a);
    nd_dense(&a.nd, x->rank, x->dims);
    a.nd.as[0] = pos->dims[1];
    a.nd.as[1] = 1;
    pos = onnx_apply(c->im, OP_ND_COPY, &pos, 1, &a, onnx_part(c, "positions", name), x->rank, x->dims);
    Tensor *gin[2] = { x, pos };
    memset(&a, 0, sizeof a);
    onnx_around(x, ta, &a);
    a.ny = T;
    a.fn = 1;
    return onnx_apply(c->im, OP_ND_GATHER, gin, 2, &a, onnx_out_name(c, 0), x->rank, x->dims);
}

// ReverseSequence(input, sequence_lens; batch_axis, time_axis)
Tensor *onnx_reverse_sequence(Ctx *c) {
    Tensor *x = c->in[0], *lens = c->in[1];
    long ba = onnx_attr_i(c->n, "batch_axis", 1), ta = onnx_attr_i(c->n, "time_axis", 0);
    if (x->rank < 2 || (ba != 0 && ba != 1) || (ta != 0 && ta != 1) || ba == ta) {
        onnx_invalid(c->im, "batch_axis %ld and time_axis %ld must be 0 and 1 in some order, of an input of rank 2 or "
                     "more (it has %d)", ba, ta, x->rank);
        return NULL;
    }
    long B = x->dims[ba], T = x->dims[ta];
    if (lens->rank != 1 || lens->dims[0] != B) {
        onnx_invalid(c->im, "sequence_lens must hold one length per batch entry (%ld)", B);
        return NULL;
    }
    if (!lens->data) return reverse_by(c, x, lens, (int)ta, B, T);
    /* constant lengths: checked here */
    long *len = malloc((size_t)(B ? B : 1) * sizeof *len);
    if (!len) abort();
    if (onnx_const_ints(c->im, lens, len, (int)(B < 1 ? 1 : B), "sequence_lens") < 0) { free(len); return NULL; }
    for (long b = 0; b < B; b++)
        if (len[b] < 0 || len[b] > T) {
            onnx_invalid(c->im, "sequence length %ld of entry %ld is outside 0 .. %ld", len[b], b, T);
            free(len);
            return NULL;
        }
    free(len);
    return reverse_by(c, x, lens, (int)ta, B, T);     /* folded up to the gather */
}

/* ---- NonZero, Unique: folded ------------------------------------------------------- */

static int need_constant(Ctx *c, const Tensor *x, const char *op) {
    if (x->data) return 0;
    char why[200];
    snprintf(why, sizeof why, "%s of a tensor computed at run time (its output's shape depends on the values; nnc "
             "computes it only of a constant)", op);
    onnx_unsupported(c->im, why);
    return -1;
}

// NonZero(X): the coordinates of the nonzero elements, (rank, count)
Tensor *onnx_nonzero(Ctx *c) {
    Tensor *x = c->in[0];
    if (need_constant(c, x, "NonZero")) return NULL;
    int r = x->rank ? x->rank : 1;
    long n = onnx_numel(x->dims, x->rank), m = 0;
    for (long i = 0; i < n; i++) m += x->data[i] != 0;
    float *y = malloc((size_t)(m > 0 ? r * m : 1) * sizeof *y);
    if (!y) abort();
    long dims1 = 1, *dims = x->rank ? x->dims : &dims1;
    for (long i = 0, j = 0; i < n; i++) {
        if (x->data[i] == 0) continue;
        long q = i;
        for (int d = r - 1; d >= 0; d--) {
            y[d * m + j] = (float)(q % dims[d]);
            q /= dims[d];
        }
        j++;
    }
    long out[2] = { r, m };
    return onnx_add_constant(c->im, onnx_out_name(c, 0), 2, out, y);
}

#define UNIQUE_MAX 65536

/* slices of x along an axis as (outer, alen, inner): compare slices i and j */
typedef struct Slices { const float *x; long outer, alen, inner; } Slices;

static int slice_cmp(const Slices *s, long i, long j) {
    for (long o = 0; o < s->outer; o++)
        for (long k = 0; k < s->inner; k++) {
            float a = s->x[(o * s->alen + i) * s->inner + k], b = s->x[(o * s->alen + j) * s->inner + k];
            int na = a != a, nb = b != b;   /* NaN equals NaN, above every number (numpy's order) */
            if (na || nb) {
                if (na != nb) return na ? 1 : -1;
                continue;
            }
            if (a < b) return -1;
            if (a > b) return 1;
        }
    return 0;
}

// Unique(X; axis, sorted) -> Y, indices, inverse_indices, counts
Tensor *onnx_unique(Ctx *c) {
    Tensor *x = c->in[0];
    if (need_constant(c, x, "Unique")) return NULL;
    const Onnx__AttributeProto *ax = onnx_attr(c->n, "axis");
    int sorted = onnx_attr_i(c->n, "sorted", 1) != 0, axis = 0, rank = 1;
    long dims[MAX_T], n = onnx_numel(x->dims, x->rank);
    Slices s = { x->data, 1, n, 1 };
    if (ax) {
        axis = onnx_axis(c, onnx_attr_i(c->n, "axis", 0), x->rank, 0, "axis");
        if (axis < 0) return NULL;
        Attrs a;
        onnx_around(x, axis, &a);
        s.outer = a.outer; s.alen = a.alen; s.inner = a.inner;
        rank = x->rank;
        memcpy(dims, x->dims, sizeof dims);
    }
    if (s.alen > UNIQUE_MAX) {    /* the search below is quadratic */
        char why[120];
        snprintf(why, sizeof why, "Unique of more than %d values or slices", UNIQUE_MAX);
        onnx_unsupported(c->im, why);
        return NULL;
    }
    long *first = malloc((size_t)(s.alen + 1) * sizeof *first), *inverse = malloc((size_t)(s.alen + 1) * sizeof *inverse);
    long *count = calloc((size_t)(s.alen + 1), sizeof *count), u = 0;
    if (!first || !inverse || !count) abort();
    for (long i = 0; i < s.alen; i++) {     /* first occurrences, in order */
        long j = 0;
        while (j < u && slice_cmp(&s, first[j], i)) j++;
        if (j == u) first[u++] = i;
        count[j]++;
    }
    if (sorted)     /* insertion sort of the first occurrences, with their counts */
        for (long i = 1; i < u; i++)
            for (long j = i; j > 0 && slice_cmp(&s, first[j - 1], first[j]) > 0; j--) {
                long t = first[j]; first[j] = first[j - 1]; first[j - 1] = t;
                t = count[j]; count[j] = count[j - 1]; count[j - 1] = t;
            }
    for (long i = 0; i < s.alen; i++)
        for (long j = 0; j < u; j++)
            if (!slice_cmp(&s, first[j], i)) { inverse[i] = j; break; }
    dims[axis] = u;
    long ny = s.outer * u * s.inner;
    float *y = malloc((size_t)(ny ? ny : 1) * sizeof *y);
    if (!y) abort();
    for (long o = 0; o < s.outer; o++)
        for (long j = 0; j < u; j++)
            memcpy(y + (o * u + j) * s.inner, s.x + (o * s.alen + first[j]) * s.inner, (size_t)s.inner * sizeof *y);
    Tensor *r = onnx_add_constant(c->im, onnx_out_name(c, 0), rank, ax ? dims : &u, y);
    const long *parts[3] = { first, inverse, count };
    long lens[3] = { u, s.alen, u };
    for (int k = 0; k < 3; k++) {
        if ((int)c->n->n_output <= k + 1 || !*c->n->output[k + 1]) continue;
        float *d = malloc((size_t)(lens[k] + 1) * sizeof *d);
        if (!d) abort();
        for (long i = 0; i < lens[k]; i++) d[i] = (float)parts[k][i];
        onnx_add_constant(c->im, onnx_out_name(c, k + 1), 1, &lens[k], d);
    }
    free(first); free(inverse); free(count);
    return r;
}

/* ---- Einsum ------------------------------------------------------------------------ */

/* labels: a-z 0..25, A-Z 26..51, the axes "..." covers 52.. (right-aligned
 * across the operands, as numpy broadcasts them) */
#define EIN_LETTERS 52
#define EIN_LABELS (EIN_LETTERS + MAX_T)
#define EIN_OPERANDS 16   /* operands of one Einsum nnc composes */

typedef struct Ein {
    Ctx *c;
    const char *eq;
    long size[EIN_LABELS];
    int seen[EIN_LABELS];       /* in how many operand axes */
} Ein;

static int ein_letter(char ch) {
    if (ch >= 'a' && ch <= 'z') return ch - 'a';
    if (ch >= 'A' && ch <= 'Z') return ch - 'A' + 26;
    return -1;
}

/* one term of the equation (its text s[0 .. len)) as labels; for an
 * operand, rank is its rank (the ellipsis covers the rest) and ell the
 * ellipsis' extent over all operands; for the output, rank -1 (the ellipsis
 * is all ell axes).  The count of labels, or -1 after reporting */
static int ein_term(Ein *e, const char *s, int len, int rank, int ell, int *lab) {
    int n = 0, letters = 0, dots = 0;
    for (int i = 0; i < len; i++) {
        if (s[i] == '.') {
            if (dots || i + 2 >= len + 0 || s[i + 1] != '.' || s[i + 2] != '.') goto bad;
            dots = 1;
            i += 2;
        } else if (ein_letter(s[i]) >= 0) {
            letters++;
        } else {
            goto bad;
        }
    }
    int span = rank < 0 ? ell : rank - letters;
    if (rank >= 0 && (span < 0 || (!dots && span))) {
        onnx_invalid(e->c->im, "Einsum's term '%.*s' names %d axes of an operand of rank %d", len, s, letters, rank);
        return -1;
    }
    if (span > ell) return -2;  /* the caller's first pass measures ell */
    for (int i = 0; i < len; i++) {
        int more = s[i] == '.' ? span : 1;
        if (n + more > MAX_T) { onnx_unsupported(e->c->im, "an Einsum term of more than 8 axes"); return -1; }
        if (s[i] == '.') {
            for (int j = 0; j < span; j++) lab[n++] = EIN_LETTERS + ell - span + j;
            i += 2;
        } else {
            lab[n++] = ein_letter(s[i]);
        }
    }
    return n;
bad:
    onnx_invalid(e->c->im, "Einsum's equation '%s' has a term '%.*s' that is not letters and one '...'", e->eq, len, s);
    return -1;
}

static int has(const int *lab, int n, int l) {
    for (int i = 0; i < n; i++)
        if (lab[i] == l) return 1;
    return 0;
}

/* x (axis d labelled lab[d]) as a tensor over the labels want[0 .. nw) in that
 * order: a repeated label reads the diagonal, a label not wanted is summed;
 * x itself when that changes nothing */
static Tensor *ein_relabel(Ein *e, Tensor *x, const int *lab, int r, const int *want, int nw, const char *name) {
    if (!x) return NULL;
    int same = r == nw;
    for (int d = 0; same && d < r; d++) same = lab[d] == want[d];
    if (same) return x;
    long xs[MAX_T], dims[MAX_T];
    nd_strides(r, x->dims, xs);
    int space[MAX_T], ns = 0;
    for (int i = 0; i < nw; i++) space[ns++] = want[i];
    for (int d = 0; d < r; d++)
        if (!has(space, ns, lab[d])) space[ns++] = lab[d];
    Attrs a;
    memset(&a, 0, sizeof a);
    long count = 1;
    for (int i = 0; i < ns; i++) {
        dims[i] = e->size[space[i]];
        if (i >= nw) count *= dims[i];
    }
    nd_dense(&a.nd, ns, dims);
    for (int i = nw; i < ns; i++) a.nd.ys[i] = 0;
    long ys[MAX_T];
    nd_strides(nw, dims, ys);
    for (int i = 0; i < nw; i++) a.nd.ys[i] = ys[i];
    for (int i = 0; i < ns; i++)
        for (int d = 0; d < r; d++)
            if (lab[d] == space[i]) a.nd.as[i] += xs[d];
    if (ns == nw) return onnx_apply(e->c->im, OP_ND_COPY, &x, 1, &a, name, nw, dims);
    a.fn = NNC_RT_RED_SUM;
    a.ny = onnx_numel(dims, nw);
    a.count = count;
    return onnx_apply(e->c->im, OP_ND_REDUCE, &x, 1, &a, name, nw, dims);
}

/* an intermediate's name: "<name>_<what>" (buf: IR_NAME bytes) */
static const char *ein_sub(const char *name, const char *what, char *buf) {
    ir_format_name(buf, "%s_%s", name, what);
    return buf;
}

/* a (Bt, M, K) . b (Bt, K, N) -> (Bt, M, N); plain matrices when Bt is 1 (a
 * MatMul that trains) */
static Tensor *ein_matmul(Ein *e, Tensor *a, Tensor *b, long Bt, long M, long K, long N, const char *name) {
    char nb[IR_NAME];
    long ad[3] = { Bt, M, K }, bd[3] = { Bt, K, N }, yd[3] = { Bt, M, N };
    int batched = Bt != 1, o = !batched;
    if (M > 1L << 30 || N > 1L << 30 || K > 1L << 30) { onnx_unsupported(e->c->im, "an Einsum product this large"); return NULL; }
    Tensor *in[2] = { onnx_reshaped(e->c, a, 3 - o, ad + o, ein_sub(name, "lhs", nb)), NULL };
    in[1] = onnx_reshaped(e->c, b, 3 - o, bd + o, ein_sub(name, "rhs", nb));
    if (!in[0] || !in[1]) return NULL;
    Attrs at;
    memset(&at, 0, sizeof at);
    if (batched) {
        nd_dense(&at.nd, 1, &Bt);
        at.nd.as[0] = M * K;
        at.nd.bs[0] = K * N;
        at.nd.ys[0] = M * N;
    }
    at.M = (int)M; at.N = (int)N; at.K = (int)K;
    return onnx_apply(e->c->im, OP_ND_MATMUL, in, 2, &at, name, 3 - o, yd + o);
}

/* a (labels la) times b (labels lb), summed over the labels of either that
 * `keep` does not hold: a as (batch, left, contracted), b as (batch,
 * contracted, right), one MatMul; the result's labels (batch, left, right)
 * into rl (count *nr) */
static Tensor *ein_pair(Ein *e, Tensor *a, const int *la, int nla, Tensor *b, const int *lb, int nlb, const int *keep,
                        int nk, const char *name, int *rl, int *nr) {
    Ctx *c = e->c;
    int wa[MAX_T], wb[MAX_T], na = 0, nb = 0;
    int batch[MAX_T], left[MAX_T], right[MAX_T], con[MAX_T], nbt = 0, nlf = 0, nrt = 0, ncn = 0;
    for (int d = 0; d < nla; d++) {
        int l = la[d];
        if (has(batch, nbt, l) || has(left, nlf, l) || has(con, ncn, l)) continue;
        if (has(lb, nlb, l)) {
            if (has(keep, nk, l)) batch[nbt++] = l; else con[ncn++] = l;
        } else if (has(keep, nk, l)) {
            left[nlf++] = l;
        }
    }
    for (int d = 0; d < nlb; d++)
        if (!has(la, nla, lb[d]) && has(keep, nk, lb[d]) && !has(right, nrt, lb[d])) right[nrt++] = lb[d];
    if (nbt + nlf + nrt > MAX_T) { onnx_unsupported(c->im, "an Einsum product above rank 8"); return NULL; }
    long Bt = 1, M = 1, K = 1, N = 1;
    for (int i = 0; i < nbt; i++) { wa[na++] = batch[i]; wb[nb++] = batch[i]; Bt *= e->size[batch[i]]; }
    for (int i = 0; i < nlf; i++) { wa[na++] = left[i]; M *= e->size[left[i]]; }
    for (int i = 0; i < ncn; i++) { wa[na++] = con[i]; wb[nb++] = con[i]; K *= e->size[con[i]]; }
    for (int i = 0; i < nrt; i++) { wb[nb++] = right[i]; N *= e->size[right[i]]; }
    char buf[IR_NAME];
    Tensor *ta = ein_relabel(e, a, la, nla, wa, na, ein_sub(name, "lhs_axes", buf));
    Tensor *tb = ein_relabel(e, b, lb, nlb, wb, nb, ein_sub(name, "rhs_axes", buf));
    Tensor *r = ein_matmul(e, ta, tb, Bt, M, K, N, name);
    *nr = 0;
    for (int i = 0; i < nbt; i++) rl[(*nr)++] = batch[i];
    for (int i = 0; i < nlf; i++) rl[(*nr)++] = left[i];
    for (int i = 0; i < nrt; i++) rl[(*nr)++] = right[i];
    long rd[MAX_T];
    for (int i = 0; i < *nr; i++) rd[i] = e->size[rl[i]];
    return onnx_reshaped(c, r, *nr, rd, ein_sub(name, "axes", buf));
}

// Einsum(Inputs...; equation)
Tensor *onnx_einsum(Ctx *c) {
    const Onnx__AttributeProto *eqa = onnx_attr(c->n, "equation");
    if (!eqa || eqa->s.len == 0 || eqa->s.len > 200) {
        onnx_invalid(c->im, "Einsum needs an equation (of at most 200 characters here)");
        return NULL;
    }
    char eq[256];
    int len = 0;
    for (size_t i = 0; i < eqa->s.len; i++)
        if (eqa->s.data[i] != ' ') eq[len++] = (char)eqa->s.data[i];
    eq[len] = 0;
    Ein e;
    memset(&e, 0, sizeof e);
    e.c = c;
    e.eq = eq;
    const char *arrow = strstr(eq, "->");
    int lhs_len = arrow ? (int)(arrow - eq) : len;
    /* the operands' terms */
    int starts[CTX_INPUTS + 1], nterm = 0;
    starts[nterm++] = 0;
    for (int i = 0; i < lhs_len; i++)
        if (eq[i] == ',') {
            if (nterm > CTX_INPUTS) break;
            starts[nterm++] = i + 1;
        }
    if (nterm != c->nin) {
        onnx_invalid(c->im, "Einsum's equation '%s' has %d operand terms for %d inputs", eq, nterm, c->nin);
        return NULL;
    }
    if (c->nin > EIN_OPERANDS) {
        char why[400];
        snprintf(why, sizeof why, "Einsum '%s' of %d operands (nnc composes up to %d)", eq, c->nin, EIN_OPERANDS);
        onnx_unsupported(c->im, why);
        return NULL;
    }
    int lab[EIN_OPERANDS][MAX_T], nl[EIN_OPERANDS], ell = 0;
    for (int pass = 0; pass < 2; pass++)    /* the first measures the ellipsis */
        for (int k = 0; k < nterm; k++) {
            int end = k + 1 < nterm ? starts[k + 1] - 1 : lhs_len;
            int n = ein_term(&e, eq + starts[k], end - starts[k], c->in[k]->rank, pass ? ell : MAX_T, lab[k]);
            if (n == -1) return NULL;
            if (!pass) {
                int letters = 0;
                for (int i = starts[k]; i < end; i++) letters += ein_letter(eq[i]) >= 0;
                if (c->in[k]->rank - letters > ell) ell = c->in[k]->rank - letters;
            }
            nl[k] = n;
        }
    for (int l = 0; l < EIN_LABELS; l++) e.size[l] = -1;
    for (int k = 0; k < nterm; k++)
        for (int d = 0; d < nl[k]; d++) {
            int l = lab[k][d];
            long s = c->in[k]->dims[d];
            for (int j = 0; j < d; j++)
                if (lab[k][j] == l && c->in[k]->dims[j] != s) {
                    onnx_invalid(c->im, "Einsum '%s': a letter repeated in operand %d has extents %ld and %ld", eq, k,
                                 c->in[k]->dims[j], s);
                    return NULL;
                }
            if (e.size[l] >= 0 && e.size[l] != s && e.size[l] != 1 && s != 1) {
                onnx_invalid(c->im, "Einsum '%s': an axis is %ld in one place and %ld in another", eq, e.size[l], s);
                return NULL;
            }
            if (s > e.size[l]) e.size[l] = s;
            e.seen[l]++;
        }
    /* an axis of 1 against a longer one broadcasts: the operand goes without it
     * (a letter it lacks is one the others bring, or sum alone) */
    Tensor *ops[EIN_OPERANDS];
    for (int k = 0; k < nterm; k++) {
        long dims[MAX_T];
        int r = 0;
        for (int d = 0; d < nl[k]; d++)
            if (c->in[k]->dims[d] == e.size[lab[k][d]]) {
                dims[r] = c->in[k]->dims[d];
                lab[k][r++] = lab[k][d];
            }
        ops[k] = c->in[k];
        if (r < nl[k]) {
            char name[170], what[40];
            snprintf(what, sizeof what, "operand%d", k);
            ops[k] = onnx_reshaped(c, c->in[k], r, dims, onnx_part(c, what, name));
            if (!ops[k]) return NULL;
            nl[k] = r;
        }
    }
    /* the output's labels: written, or (implicit) the ellipsis then the letters seen once, in ASCII order */
    int out[MAX_T], no = 0;
    if (arrow) {
        no = ein_term(&e, arrow + 2, (int)strlen(arrow + 2), -1, ell, out);
        if (no < 0) return NULL;
        for (int i = 0; i < no; i++)
            if (e.size[out[i]] < 0 || has(out, i, out[i])) {
                onnx_invalid(c->im, "Einsum '%s': an output letter is repeated or in no operand", eq);
                return NULL;
            }
    } else {
        for (int j = 0; j < ell; j++) out[no++] = EIN_LETTERS + j;
        for (char ch = 'A'; ch <= 'z'; ch++) {
            int l = ein_letter(ch);
            if (l >= 0 && e.seen[l] == 1) {
                if (no == MAX_T) { onnx_unsupported(c->im, "an Einsum result above rank 8"); return NULL; }
                out[no++] = l;
            }
        }
    }
    long odims[MAX_T];
    for (int i = 0; i < no; i++) odims[i] = e.size[out[i]];
    char name[170];
    Tensor *r;
    if (c->nin == 1) {
        r = ein_relabel(&e, ops[0], lab[0], nl[0], out, no, onnx_out_name(c, 0));
    } else {    /* left to right: each product keeps the labels the output or a later operand has */
        Tensor *acc = ops[0];
        int al[MAX_T], na = nl[0];
        memcpy(al, lab[0], sizeof al);
        for (int k = 1; k < c->nin && acc; k++) {
            int keep[EIN_LABELS], nk = 0;
            for (int i = 0; i < no; i++) keep[nk++] = out[i];
            for (int j = k + 1; j < c->nin; j++)
                for (int d = 0; d < nl[j]; d++)
                    if (!has(keep, nk, lab[j][d])) keep[nk++] = lab[j][d];
            char what[40];
            snprintf(what, sizeof what, "product%d", k);
            int pl[MAX_T], np_ = 0;
            acc = ein_pair(&e, acc, al, na, ops[k], lab[k], nl[k], keep, nk, onnx_part(c, what, name), pl, &np_);
            memcpy(al, pl, sizeof al);
            na = np_;
        }
        r = ein_relabel(&e, acc, al, na, out, no, onnx_out_name(c, 0));
    }
    if (!r) return NULL;
    if (!strcmp(r->name, onnx_out_name(c, 0))) return r;
    return onnx_reshaped(c, r, no, odims, onnx_out_name(c, 0));
}
