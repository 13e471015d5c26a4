/* map_tensor.c — the builders of ONNX's data movement: Reshape, Flatten,
 * Squeeze/Unsqueeze, Transpose, Slice, Split, Concat, Expand, Tile, Pad,
 * Gather, GatherElements, Where, Trilu, DepthToSpace and SpaceToDepth.
 *
 * Decisions:
 *  - Every rearrangement is one strided copy (nnc_rt_copy_nd: transpose,
 *    slice, expand, tile, a constant-index Gather) or a view: a reshape of a
 *    computed value is free (it aliases its input's storage), of a constant
 *    a new constant.  Copies have a gradient, so fine-tuning trains through
 *    them.
 *  - Axes, shapes, starts, pads and repeats must be constants (folded at
 *    import); values computed at run time are reported as unsupported.
 */
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx.h"

/* ---- the same values with another shape --------------------------------------- */

/* the same values with another shape */
Tensor *onnx_reshaped(Ctx *c, Tensor *x, int rank, const long *dims, const char *name) {
    if (!x) return NULL;    /* failed, already reported */
    if (onnx_numel(dims, rank) != onnx_numel(x->dims, x->rank)) {
        onnx_unsupported(c->im, "a reshape that changes the number of elements");
        return NULL;
    }
    Attrs a;
    memset(&a, 0, sizeof a);
    long n = onnx_numel(dims, rank);
    nd_dense(&a.nd, 1, &n);
    a.nd.as[0] = 1;
    if (x->data) {   /* a constant: just another shape over the same values */
        float *d = malloc((size_t)(n ? n : 1) * sizeof *d);
        memcpy(d, x->data, (size_t)n * sizeof *d);
        Tensor *t = onnx_add_constant(c->im, name, rank, dims, d);
        t->param = x->param;
        return t;
    }
    /* a computed value: a view of the same storage, free */
    Tensor *t = onnx_node_out(c->im, OP_VIEW, &x, 1, &a, name, rank, dims);
    c->im->g->values[t->value].alias_of = x->value;
    return t;
}

Tensor *onnx_reshape(Ctx *c) {
    Tensor *x = c->in[0];
    long shape[MAX_T], dims[MAX_T];
    if (!c->in[1]) { onnx_unsupported(c->im, "Reshape-1's shape attribute (opset < 5)"); return NULL; }
    int rank = onnx_const_ints(c->im, c->in[1], shape, MAX_T, "shape");
    if (rank < 0) return NULL;
    long known = 1;
    int infer = -1, allowzero = (int)onnx_attr_i(c->n, "allowzero", 0);
    for (int d = 0; d < rank; d++) {
        dims[d] = shape[d] == 0 && !allowzero ? (d < x->rank ? x->dims[d] : -2) : shape[d];
        if (dims[d] < -1 || (dims[d] == -1 && infer >= 0)) {
            onnx_invalid(c->im, "Reshape's shape entry %d is %ld: entries are >= -1, at most one is -1 and a 0 copies "
                         "an axis the input has", d, shape[d]);
            return NULL;
        }
        if (dims[d] == -1) infer = d;
        else if (dims[d] > ONNX_MAX_ELEMS || (known *= dims[d]) > ONNX_MAX_ELEMS) known = ONNX_MAX_ELEMS + 1L;
    }
    /* a static export's literal batch (x.view(4, -1) traced at batch 4)
     * follows the batch the inputs were pinned to */
    const OnnxShapes *sh = c->im->shapes;
    int rebatched = 0;
    if (sh && sh->batch > 0 && sh->exported_batch > 0 && sh->batch != sh->exported_batch && rank >= 1 &&
        x->rank >= 1 && x->dims[0] == sh->batch && shape[0] == sh->exported_batch && infer != 0) {
        dims[0] = sh->batch;
        known = known / sh->exported_batch * sh->batch;
        rebatched = 1;
    }
    long n = onnx_numel(x->dims, x->rank);
    if (infer >= 0) dims[infer] = known ? n / known : 0;
    if (rebatched) return onnx_reshaped(c, x, rank, dims, onnx_out_name(c, 0));    /* checked there */
    if ((infer >= 0 && (known ? n % known : n)) || (infer < 0 && known != n)) {
        onnx_invalid(c->im, "Reshape cannot give the %ld elements of its input the shape it asks for (%ld elements%s)",
                     n, known, infer >= 0 ? " times the inferred extent" : "");
        return NULL;
    }
    return onnx_reshaped(c, x, rank, dims, onnx_out_name(c, 0));
}

Tensor *onnx_flatten(Ctx *c) {
    Tensor *x = c->in[0];
    int axis = onnx_axis(c, onnx_attr_i(c->n, "axis", 1), x->rank, 1, "axis");
    if (axis < 0) return NULL;
    long dims[2] = { onnx_numel(x->dims, axis), onnx_numel(x->dims + axis, x->rank - axis) };
    return onnx_reshaped(c, x, 2, dims, onnx_out_name(c, 0));
}

Tensor *onnx_squeeze(Ctx *c, int unsq) {
    Tensor *x = c->in[0];
    long axes[MAX_T], dims[MAX_T];
    int k = onnx_axes_of(c, 1, axes), rank = 0;
    if (k == -1) return NULL;
    int mark[MAX_T];
    if (unsq) {
        int r = x->rank + k, used = 0;
        if (k < 0) { onnx_invalid(c->im, "Unsqueeze needs axes"); return NULL; }
        if (r > MAX_T) { onnx_unsupported(c->im, "an Unsqueeze past rank 8"); return NULL; }
        if (onnx_mark_axes(c, axes, k, r, mark, "axes entry")) return NULL;
        for (int d = 0; d < r; d++) dims[rank++] = mark[d] ? 1 : x->dims[used++];
    } else {
        if (k >= 0 && onnx_mark_axes(c, axes, k, x->rank, mark, "axes entry")) return NULL;
        for (int d = 0; d < x->rank; d++) {
            if (k >= 0 && mark[d] && x->dims[d] != 1) {
                onnx_invalid(c->im, "Squeeze's axis %d has extent %ld; only axes of extent 1 can be squeezed", d, x->dims[d]);
                return NULL;
            }
            if (!(k < 0 ? x->dims[d] == 1 : mark[d])) dims[rank++] = x->dims[d];
        }
    }
    return onnx_reshaped(c, x, rank, dims, onnx_out_name(c, 0));
}

/* ---- strided copies ------------------------------------------------------------ */

Tensor *onnx_transpose(Ctx *c) {
    Tensor *x = c->in[0];
    long perm[MAX_T], dims[MAX_T] = { 0 }, xs[MAX_T];
    const Onnx__AttributeProto *pa = onnx_attr(c->n, "perm");
    if (pa && pa->n_ints != (size_t)x->rank) {
        onnx_invalid(c->im, "Transpose's perm has %zu entries for an input of rank %d", pa->n_ints, x->rank);
        return NULL;
    }
    int k = onnx_attr_ints(c->n, "perm", perm, MAX_T), seen[MAX_T] = { 0 };
    if (k < 0) { k = x->rank; for (int d = 0; d < k; d++) perm[d] = k - 1 - d; }
    for (int d = 0; d < k; d++) {
        if (perm[d] < 0 || perm[d] >= k || seen[perm[d]]++) {
            onnx_invalid(c->im, "Transpose's perm must list each axis 0 to %d once; entry %d is %ld", k - 1, d, perm[d]);
            return NULL;
        }
    }
    nd_strides(x->rank, x->dims, xs);
    Attrs a;
    memset(&a, 0, sizeof a);
    for (int d = 0; d < k; d++) dims[d] = x->dims[perm[d]];
    nd_dense(&a.nd, k, dims);
    for (int d = 0; d < k; d++) a.nd.as[d] = xs[perm[d]];
    return onnx_apply(c->im, OP_ND_COPY, c->in, 1, &a, onnx_out_name(c, 0), k, dims);
}

/* y = the part of x at start with step per axis and these extents */
static Tensor *sliced(Ctx *c, Tensor *x, const long *start, const long *step, const long *dims, const char *name) {
    long xs[MAX_T];
    nd_strides(x->rank, x->dims, xs);
    Attrs a;
    memset(&a, 0, sizeof a);
    nd_dense(&a.nd, x->rank, dims);
    for (int d = 0; d < x->rank; d++) {
        a.nd.as[d] = xs[d] * step[d];
        a.nd.aoff += start[d] * xs[d];
    }
    return onnx_apply(c->im, OP_ND_COPY, &x, 1, &a, name, x->rank, dims);
}

Tensor *onnx_slice(Ctx *c) {
    Tensor *x = c->in[0];
    long starts[MAX_T], ends[MAX_T], axes[MAX_T], steps[MAX_T];
    int k;
    int ka = -1, ks = -1, ke;
    if (c->im->opset < 10) {
        k = onnx_attr_ints(c->n, "starts", starts, MAX_T);
        ke = onnx_attr_ints(c->n, "ends", ends, MAX_T);
        if ((ka = onnx_attr_ints(c->n, "axes", axes, MAX_T)) < 0) for (int i = 0; i < k; i++) axes[i] = i;
        for (int i = 0; i < k; i++) steps[i] = 1;
    } else {
        k = onnx_const_ints(c->im, c->in[1], starts, MAX_T, "starts");
        if (k < 0 || (ke = onnx_const_ints(c->im, c->in[2], ends, MAX_T, "ends")) < 0) return NULL;
        if (c->nin > 3 && c->in[3]) { if ((ka = onnx_const_ints(c->im, c->in[3], axes, MAX_T, "axes")) < 0) return NULL; }
        else for (int i = 0; i < k; i++) axes[i] = i;
        if (c->nin > 4 && c->in[4]) { if ((ks = onnx_const_ints(c->im, c->in[4], steps, MAX_T, "steps")) < 0) return NULL; }
        else for (int i = 0; i < k; i++) steps[i] = 1;
    }
    int mark[MAX_T];
    if (k > MAX_T || ka > MAX_T) { onnx_unsupported(c->im, "a Slice of more than 8 axes (nnc's rank limit)"); return NULL; }
    if (k < 0 || ke != k || (ka >= 0 && ka != k) || (ks >= 0 && ks != k)) {
        onnx_invalid(c->im, "Slice needs starts and ends (and axes and steps when given) of one length");
        return NULL;
    }
    if (onnx_mark_axes(c, axes, k, x->rank, mark, "axes entry")) return NULL;
    long start[MAX_T], step[MAX_T], dims[MAX_T];
    for (int d = 0; d < x->rank; d++) { start[d] = 0; step[d] = 1; dims[d] = x->dims[d]; }
    for (int i = 0; i < k; i++) {
        int d = onnx_norm_axis(axes[i], x->rank);
        long n = x->dims[d], s = starts[i], e = ends[i], st = steps[i];
        if (st == 0) { onnx_invalid(c->im, "Slice's step %d is 0", i); return NULL; }
        if (s < 0) s += n;
        if (e < 0) e += n;
        if (st > 0) {
            s = s < 0 ? 0 : s > n ? n : s;
            e = e < 0 ? 0 : e > n ? n : e;
            dims[d] = e > s ? (e - s + st - 1) / st : 0;
        } else {
            s = s < 0 ? -1 : s > n - 1 ? n - 1 : s;
            e = e < -1 ? -1 : e > n - 1 ? n - 1 : e;
            dims[d] = s > e ? (s - e + (-st) - 1) / (-st) : 0;
        }
        start[d] = s < 0 ? 0 : s;
        step[d] = st;
    }
    return sliced(c, x, start, step, dims, onnx_out_name(c, 0));
}

Tensor *onnx_split(Ctx *c) {
    Tensor *x = c->in[0];
    int axis = onnx_axis(c, onnx_attr_i(c->n, "axis", 0), x->rank, 0, "axis"), nout = (int)c->n->n_output;
    long split[16];
    if (axis < 0) return NULL;
    if (nout > 16) { onnx_unsupported(c->im, "a Split into more than 16 outputs"); return NULL; }
    int k = onnx_attr_ints(c->n, "split", split, 16);
    if (k < 0 && c->nin > 1 && c->in[1] && (k = onnx_const_ints(c->im, c->in[1], split, 16, "split")) < 0) return NULL;
    if (k < 0) {
        long total = x->dims[axis], each = (total + nout - 1) / nout;
        for (int i = 0; i < nout; i++) split[i] = total - each * i < each ? total - each * i : each;
        k = nout;
    }
    long sum = 0;
    for (int i = 0; i < k && i < 16; i++) sum += split[i] >= 0 && split[i] <= ONNX_MAX_ELEMS ? split[i] : ONNX_MAX_ELEMS * 2;
    if (k != nout || sum != x->dims[axis]) {
        onnx_invalid(c->im, "Split's split list must have one non-negative entry per output (%d) summing to the axis' "
                     "extent %ld", nout, x->dims[axis]);
        return NULL;
    }
    long start[MAX_T] = { 0 }, step[MAX_T], dims[MAX_T];
    for (int d = 0; d < x->rank; d++) step[d] = 1;
    Tensor *last = NULL;
    for (int i = 0; i < nout; i++) {
        memcpy(dims, x->dims, sizeof dims);
        dims[axis] = split[i];
        last = sliced(c, x, start, step, dims, onnx_out_name(c, i));
        if (!last) return NULL;
        start[axis] += split[i];
    }
    return last;
}

Tensor *onnx_concat(Ctx *c) {
    Tensor *x = c->in[0];
    Attrs a;
    memset(&a, 0, sizeof a);
    int axis = onnx_axis(c, onnx_attr_i(c->n, "axis", 0), x->rank, 0, "axis");
    if (axis < 0) return NULL;
    a.axis = axis;
    long dims[MAX_T];
    memcpy(dims, x->dims, sizeof dims);
    dims[a.axis] = 0;
    for (int i = 0; i < c->nin; i++) {
        if (c->in[i]->rank != x->rank) {
            onnx_invalid(c->im, "Concat's operand %d has rank %d where operand 0 has %d", i, c->in[i]->rank, x->rank);
            return NULL;
        }
        for (int d = 0; d < x->rank; d++)
            if (d != a.axis && c->in[i]->dims[d] != x->dims[d]) {
                diag_error(onnx_nowhere(), "%s: operand %d has extent %ld on axis %d where operand 0 has %ld; Concat "
                           "needs equal extents off axis %d", onnx_which_node(c->im), i, c->in[i]->dims[d], d, x->dims[d],
                           a.axis);
                return NULL;
            }
        dims[a.axis] += c->in[i]->dims[a.axis];
    }
    /* more operands than a node takes (a DenseNet block): concatenate the
     * first ones, then that and the next ones, ... */
    Tensor *in[IR_MAX_IO];
    int k = 0, next = 0;
    long part[MAX_T];
    memcpy(part, dims, sizeof part);
    while (c->nin - next > IR_MAX_IO - k) {
        part[a.axis] = 0;
        for (int i = 0; i < k; i++) part[a.axis] += in[i]->dims[a.axis];
        while (k < IR_MAX_IO) {
            in[k] = c->in[next++];
            part[a.axis] += in[k++]->dims[a.axis];
        }
        char name[160];
        ir_format_name(name, "%s/part%d", onnx_out_name(c, 0), next);
        in[0] = onnx_apply(c->im, OP_ND_CONCAT, in, k, &a, name, x->rank, part);
        if (!in[0]) return NULL;
        k = 1;
    }
    while (next < c->nin) in[k++] = c->in[next++];
    return onnx_apply(c->im, OP_ND_CONCAT, in, k, &a, onnx_out_name(c, 0), x->rank, dims);
}

Tensor *onnx_expand(Ctx *c) {
    Tensor *x = c->in[0];
    long shape[MAX_T];
    int k = onnx_const_ints(c->im, c->in[1], shape, MAX_T, "shape");
    if (k < 0) return NULL;
    Attrs a;
    memset(&a, 0, sizeof a);
    long dims[MAX_T], as[MAX_T], bs[MAX_T];
    int rank;
    if (onnx_checked_numel(c->im, shape, k, ONNX_MAX_ELEMS, "Expand's shape") < 0) return NULL;
    if (nd_broadcast(x->rank, x->dims, k, shape, &rank, dims, as, bs)) {
        onnx_invalid(c->im, "Expand's input does not broadcast to its shape");
        return NULL;
    }
    nd_dense(&a.nd, rank, dims);
    memcpy(a.nd.as, as, sizeof as);
    return onnx_apply(c->im, OP_ND_COPY, c->in, 1, &a, onnx_out_name(c, 0), rank, dims);
}

Tensor *onnx_tile(Ctx *c) {
    Tensor *x = c->in[0];
    long reps[MAX_T], xs[MAX_T], ydims[MAX_T], ys[MAX_T];
    if (c->im->opset < 6) { onnx_unsupported(c->im, "Tile-1 (opset < 6)"); return NULL; }
    int k = onnx_const_ints(c->im, c->in[1], reps, MAX_T, "repeats");
    if (k < 0) return NULL;
    if (k != x->rank) { onnx_invalid(c->im, "Tile has %d repeats for an input of rank %d", k, x->rank); return NULL; }
    for (int d = 0; d < k; d++)
        if (reps[d] < 0 || reps[d] > ONNX_MAX_ELEMS) {
            onnx_invalid(c->im, "Tile's repeat %d is %ld", d, reps[d]);
            return NULL;
        }
    if (2 * x->rank > NNC_RT_ND_MAX) { onnx_unsupported(c->im, "Tile of rank above 4"); return NULL; }
    for (int d = 0; d < x->rank; d++) ydims[d] = x->dims[d] * reps[d];
    if (onnx_checked_numel(c->im, ydims, x->rank, ONNX_MAX_ELEMS, "Tile's result") < 0) return NULL;
    nd_strides(x->rank, ydims, ys);
    nd_strides(x->rank, x->dims, xs);
    Attrs a;
    memset(&a, 0, sizeof a);
    a.nd.rank = 2 * x->rank;     /* (repeat, element) pairs */
    for (int d = 0; d < x->rank; d++) {
        a.nd.dims[2 * d] = reps[d];     a.nd.ys[2 * d] = x->dims[d] * ys[d];     a.nd.as[2 * d] = 0;
        a.nd.dims[2 * d + 1] = x->dims[d]; a.nd.ys[2 * d + 1] = ys[d];          a.nd.as[2 * d + 1] = xs[d];
    }
    return onnx_apply(c->im, OP_ND_COPY, c->in, 1, &a, onnx_out_name(c, 0), x->rank, ydims);
}

/* Pad in reflect or edge mode, one axis at a time: the mirrored (or
 * repeated) border slices concatenated on both sides */
static Tensor *pad_mirror(Ctx *c, Tensor *x, const long *pads, int reflect) {
    Tensor *cur = x;
    for (int d = 0; d < x->rank; d++) {
        long before = pads[d], after = pads[x->rank + d], n = cur->dims[d];
        if (!before && !after) continue;
        if (reflect ? before >= n || after >= n : n == 0) { onnx_unsupported(c->im, "pads wider than the input"); return NULL; }
        Tensor *parts[3];
        int np = 0;
        long start[MAX_T] = { 0 }, step[MAX_T], dims[MAX_T];
        char names[3][170];
        for (int k = 0; k < 3; k++) {
            long count = k == 0 ? before : k == 1 ? n : after;
            if (!count) continue;
            for (int e = 0; e < cur->rank; e++) { start[e] = 0; step[e] = 1; dims[e] = cur->dims[e]; }
            dims[d] = count;
            if (k == 0) { start[d] = reflect ? before : 0; step[d] = reflect ? -1 : 0; }
            if (k == 2) { start[d] = reflect ? n - 2 : n - 1; step[d] = reflect ? -1 : 0; }
            if (k == 1) { parts[np++] = cur; continue; }
            ir_format_name(names[k], "%s/pad%d_%d", onnx_out_name(c, 0), d, k);
            parts[np] = sliced(c, cur, start, step, dims, names[k]);
            if (!parts[np++]) return NULL;
        }
        Attrs a;
        memset(&a, 0, sizeof a);
        a.axis = d;
        long odims[MAX_T];
        memcpy(odims, cur->dims, sizeof odims);
        odims[d] = n + before + after;
        int last = 1;
        for (int e = d + 1; e < x->rank; e++) last &= !pads[e] && !pads[x->rank + e];
        char name[170];
        ir_format_name(name, "%s/padded%d", onnx_out_name(c, 0), d);
        cur = onnx_apply(c->im, OP_ND_CONCAT, parts, np, &a, last ? onnx_out_name(c, 0) : name, cur->rank, odims);
        if (!cur) return NULL;
    }
    return cur != x ? cur : onnx_unary(c, NNC_RT_UN_IDENTITY, 0, 0);   /* no padding at all */
}

Tensor *onnx_pad(Ctx *c) {
    Tensor *x = c->in[0];
    int reflect = onnx_attr_is(c->n, "mode", "reflect"), edge = onnx_attr_is(c->n, "mode", "edge");
    if (!reflect && !edge && onnx_attr(c->n, "mode") && !onnx_attr_is(c->n, "mode", "constant")) {
        onnx_unsupported(c->im, "Pad modes other than constant, reflect and edge");
        return NULL;
    }
    long pads[2 * MAX_T];
    int k;
    float value = 0;
    if (c->im->opset < 11) {
        k = onnx_attr_ints(c->n, "pads", pads, 2 * MAX_T);
        value = onnx_attr_f(c->n, "value", 0);
    } else {
        k = onnx_const_ints(c->im, c->in[1], pads, 2 * MAX_T, "pads");
        if (c->nin > 2 && c->in[2]) {
            const float *v = onnx_scalar_of(c, 2, "Pad's constant_value (a pad value)");
            if (!v) return NULL;
            value = v[0];
        }
        if (c->nin > 3 && c->in[3]) { onnx_unsupported(c->im, "Pad with axes"); return NULL; }
    }
    if (k < 0 && c->im->opset < 11) { onnx_invalid(c->im, "Pad needs pads"); return NULL; }
    if (k < 0) return NULL;
    if (k != 2 * x->rank) { onnx_invalid(c->im, "Pad has %d pads for an input of rank %d", k, x->rank); return NULL; }
    long dims[MAX_T], ys[MAX_T], xs[MAX_T];
    for (int d = 0; d < 2 * x->rank; d++)
        if (pads[d] > ONNX_MAX_ELEMS || pads[d] < -ONNX_MAX_ELEMS) { onnx_unsupported(c->im, "pads beyond 2^31"); return NULL; }
    for (int d = 0; d < x->rank; d++) {
        dims[d] = x->dims[d] + pads[d] + pads[x->rank + d];
        if (pads[d] < 0 || pads[x->rank + d] < 0) { onnx_unsupported(c->im, "negative pads"); return NULL; }
    }
    if (reflect || edge) return pad_mirror(c, x, pads, reflect);
    nd_strides(x->rank, dims, ys);
    nd_strides(x->rank, x->dims, xs);
    Attrs a;
    memset(&a, 0, sizeof a);
    nd_dense(&a.nd, x->rank, x->dims);
    memcpy(a.nd.ys, ys, sizeof ys);
    memcpy(a.nd.as, xs, sizeof xs);
    for (int d = 0; d < x->rank; d++) a.nd.yoff += pads[d] * ys[d];
    a.alpha = value;
    return onnx_apply(c->im, OP_ND_PAD, c->in, 1, &a, onnx_out_name(c, 0), x->rank, dims);
}

/* ---- selection: gathers, where and masks ---------------------------------------- */

Tensor *onnx_gather(Ctx *c) {
    Tensor *x = c->in[0], *idx = c->in[1];
    int axis = onnx_axis(c, onnx_attr_i(c->n, "axis", 0), x->rank, 0, "axis");
    if (axis < 0) return NULL;
    long ni = onnx_numel(idx->dims, idx->rank), dims[MAX_T];
    if (x->rank - 1 + idx->rank > MAX_T) { onnx_unsupported(c->im, "a result above rank 8"); return NULL; }
    int rank = 0;
    for (int d = 0; d < axis; d++) dims[rank++] = x->dims[d];
    for (int d = 0; d < idx->rank; d++) dims[rank++] = idx->dims[d];
    for (int d = axis + 1; d < x->rank; d++) dims[rank++] = x->dims[d];
    if (rank > MAX_T) { onnx_unsupported(c->im, "a result above rank 8"); return NULL; }
    Attrs a;
    memset(&a, 0, sizeof a);
    /* constant indices in a progression (x[:, -1], x[:, 2:8:2]) select a
     * strided slice: a copy, which has a gradient */
    long first = 0, step = 0;
    int progression = idx->data && !x->data && idx->rank <= 1 && ni >= 1;
    for (long i = 0; progression && i < ni; i++) {
        if (idx->data[i] != idx->data[i]) { progression = 0; break; }   /* NaN: nd_gather's to judge */
        long v = onnx_to_long(idx->data[i]);
        if (v < 0) v += x->dims[axis];
        if (v < 0 || v >= x->dims[axis]) progression = 0;
        else if (i == 0) first = v;
        else if (i == 1) step = v - first;
        else if (v != first + i * step) progression = 0;
    }
    if (progression) {
        long xs[MAX_T];
        nd_strides(x->rank, x->dims, xs);
        nd_dense(&a.nd, rank, dims);
        for (int d = 0, k = 0; d < x->rank; d++) {
            if (d == axis) {
                a.nd.aoff = first * xs[d];
                if (idx->rank) a.nd.as[k++] = step * xs[d];
            } else {
                a.nd.as[k++] = xs[d];
            }
        }
        return onnx_apply(c->im, OP_ND_COPY, &x, 1, &a, onnx_out_name(c, 0), rank, dims);
    }
    onnx_around(x, axis, &a);
    a.ny = ni;
    return onnx_apply(c->im, OP_ND_GATHER, c->in, 2, &a, onnx_out_name(c, 0), rank, dims);
}

Tensor *onnx_gather_elements(Ctx *c) {
    Tensor *x = c->in[0], *idx = c->in[1];
    int axis = onnx_axis(c, onnx_attr_i(c->n, "axis", 0), x->rank, 0, "axis");
    if (axis < 0) return NULL;
    if (idx->rank != x->rank) {
        onnx_invalid(c->im, "GatherElements' indices have rank %d, its data %d (they must be equal)", idx->rank, x->rank);
        return NULL;
    }
    for (int d = 0; d < x->rank; d++)
        if (idx->rank != x->rank || (d != axis && idx->dims[d] != x->dims[d])) {
            onnx_unsupported(c->im, "GatherElements whose indices differ from the data off the axis");
            return NULL;
        }
    Attrs a;
    memset(&a, 0, sizeof a);
    onnx_around(x, axis, &a);
    a.ny = idx->dims[axis];
    a.fn = 1;
    return onnx_apply(c->im, OP_ND_GATHER, c->in, 2, &a, onnx_out_name(c, 0), idx->rank, idx->dims);
}

Tensor *onnx_where(Ctx *c) {
    Tensor *cond = c->in[0], *x = c->in[1], *y = c->in[2];
    long d1[MAX_T], d2[MAX_T], s1[MAX_T], s2[MAX_T], s3[MAX_T], s4[MAX_T];
    int r1, r2;
    if (nd_broadcast(x->rank, x->dims, y->rank, y->dims, &r1, d1, s1, s2)) { onnx_no_broadcast(c, x, y); return NULL; }
    if (nd_broadcast(cond->rank, cond->dims, r1, d1, &r2, d2, s3, s4)) {
        onnx_invalid(c->im, "Where's condition does not broadcast with its operands");
        return NULL;
    }
    /* re-derive x's and y's strides against the full shape */
    Attrs a;
    memset(&a, 0, sizeof a);
    long t[MAX_T];
    nd_dense(&a.nd, r2, d2);
    nd_broadcast(x->rank, x->dims, r2, d2, &r2, t, a.nd.as, s4);
    nd_broadcast(y->rank, y->dims, r2, d2, &r2, t, a.nd.bs, s4);
    memcpy(a.cs, s3, sizeof s3);
    return onnx_apply(c->im, OP_ND_WHERE, c->in, 3, &a, onnx_out_name(c, 0), r2, d2);
}

/* Trilu: onnx_which_node(the band of the last two axes, x, 0) with a constant mask */
Tensor *onnx_trilu(Ctx *c) {
    Tensor *x = c->in[0];
    long k = 0;
    if (x->rank < 2) { onnx_unsupported(c->im, "Trilu of rank below 2"); return NULL; }
    if (c->nin > 1 && c->in[1]) {
        const float *v = onnx_scalar_of(c, 1, "Trilu's k (a diagonal offset)");
        if (!v) return NULL;
        k = onnx_to_long(v[0]);
    }
    int upper = (int)onnx_attr_i(c->n, "upper", 1);
    long R = x->dims[x->rank - 2], C = x->dims[x->rank - 1], md[2] = { R, C }, one = 1;
    if (onnx_checked_numel(c->im, md, 2, ONNX_MAX_CONST, "Trilu's mask") < 0) return NULL;
    float *m = malloc((size_t)(R * C > 0 ? R * C : 1) * sizeof *m), *z = calloc(1, sizeof *z);
    for (long i = 0; i < R; i++)
        for (long j = 0; j < C; j++) m[i * C + j] = upper ? j - i >= k : j - i <= k;
    char n1[170], n2[170];
    Ctx w = *c;
    w.in[0] = onnx_add_constant(c->im, onnx_part(c, "band", n1), 2, md, m);
    w.in[1] = x;
    w.in[2] = onnx_add_constant(c->im, onnx_part(c, "zero", n2), 0, &one, z);
    w.nin = 3;
    return onnx_where(&w);
}

/* ---- layout rearrangements ------------------------------------------------------- */

/* y = the 6-D view `vdims` of x, axes permuted, read as the shape `ydims` */
static Tensor *permuted_view(Ctx *c, Tensor *x, const long *vdims, const int *perm, const long *ydims, int yrank) {
    long vs[6], dims[6];
    nd_strides(6, vdims, vs);
    Attrs a;
    memset(&a, 0, sizeof a);
    for (int d = 0; d < 6; d++) dims[d] = vdims[perm[d]];
    nd_dense(&a.nd, 6, dims);
    for (int d = 0; d < 6; d++) a.nd.as[d] = vs[perm[d]];
    return onnx_apply(c->im, OP_ND_COPY, &x, 1, &a, onnx_out_name(c, 0), yrank, ydims);
}

Tensor *onnx_depth_to_space(Ctx *c) {
    Tensor *x = c->in[0];
    long b = onnx_attr_i(c->n, "blocksize", 0);
    if (x->rank != 4 || b < 1 || b > 46340 || x->dims[1] % (b * b)) {
        onnx_invalid(c->im, "DepthToSpace needs a 4-D input and a blocksize >= 1 whose square divides the channels");
        return NULL;
    }
    long N = x->dims[0], C = x->dims[1] / (b * b), H = x->dims[2], W = x->dims[3], y[4] = { N, C, H * b, W * b };
    if (onnx_attr_is(c->n, "mode", "CRD")) {
        long v[6] = { N, C, b, b, H, W };
        static const int perm[6] = { 0, 1, 4, 2, 5, 3 };
        return permuted_view(c, x, v, perm, y, 4);
    }
    long v[6] = { N, b, b, C, H, W };
    static const int perm[6] = { 0, 3, 4, 1, 5, 2 };
    return permuted_view(c, x, v, perm, y, 4);
}

Tensor *onnx_space_to_depth(Ctx *c) {
    Tensor *x = c->in[0];
    long b = onnx_attr_i(c->n, "blocksize", 0);
    if (x->rank != 4 || b < 1 || x->dims[2] % b || x->dims[3] % b) {
        onnx_invalid(c->im, "SpaceToDepth needs a 4-D input and a blocksize >= 1 dividing its height and width");
        return NULL;
    }
    long N = x->dims[0], C = x->dims[1], H = x->dims[2] / b, W = x->dims[3] / b, y[4] = { N, C * b * b, H, W };
    long v[6] = { N, C, H, b, W, b };
    static const int perm[6] = { 0, 3, 5, 1, 2, 4 };
    return permuted_view(c, x, v, perm, y, 4);
}
