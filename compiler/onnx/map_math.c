/* map_math.c — the builders of ONNX's arithmetic: element-wise unary and
 * broadcasting binary ops (and the variadic Max/Min/Sum/Mean, Cast, Clip,
 * Dropout built from them), MatMul and Gemm, Softmax, the reductions,
 * ArgMax/ArgMin, CumSum, LayerNormalization and the two losses.
 *
 * Decisions:
 *  - Broadcasting is numpy's, computed once per node (nd_broadcast in
 *    ops/nd.c) into the strides of one N-d descriptor; the runtime never
 *    broadcasts on its own.
 *  - Composite ops (Gemm's alpha and beta, LayerNormalization, Mean, a Cast
 *    to an integer) are chains of the primitive N-d ops, each intermediate
 *    named "<output>/<what>", so they fold, fuse and train like any other.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx.h"

/* ---- element-wise ---------------------------------------------------------------- */

Tensor *onnx_unary(Ctx *c, int fn, float alpha, float beta) {
    Attrs a;
    memset(&a, 0, sizeof a);
    a.fn = fn; a.alpha = alpha; a.beta = beta;
    Tensor *x = c->in[0];
    return onnx_apply(c->im, OP_ND_UNARY, c->in, 1, &a, onnx_out_name(c, 0), x->rank, x->dims);
}

Tensor *onnx_unary_of(Ctx *c, int fn, Tensor *x, const char *suffix) {
    Attrs a;
    memset(&a, 0, sizeof a);
    a.fn = fn;
    char name[170];
    ir_format_name(name, "%s/%s", onnx_out_name(c, 0), suffix);
    return x ? onnx_apply(c->im, OP_ND_UNARY, &x, 1, &a, name, x->rank, x->dims) : NULL;
}

Tensor *onnx_scalar(Ctx *c, const char *suffix, float v) {
    long one = 1;
    float *d = malloc(sizeof *d);
    *d = v;
    char name[170];
    ir_format_name(name, "%s/%s", onnx_out_name(c, 0), suffix);
    return onnx_add_constant(c->im, name, 0, &one, d);
}

/* operands ONNX's broadcasting cannot pair: an invalid model (exit 1) */
void onnx_no_broadcast(Ctx *c, const Tensor *x, const Tensor *y) {
    char sx[160], sy[160];
    int lx = 0, ly = 0;
    for (int d = 0; d < x->rank; d++) lx += snprintf(sx + lx, sizeof sx - (size_t)lx, "%s%ld", d ? ", " : "", x->dims[d]);
    for (int d = 0; d < y->rank; d++) ly += snprintf(sy + ly, sizeof sy - (size_t)ly, "%s%ld", d ? ", " : "", y->dims[d]);
    sx[lx] = sy[ly] = 0;
    diag_error(onnx_nowhere(), "%s: operands of shapes (%s) and (%s) do not broadcast (each axis, from the last: equal "
               "extents, or one of them 1)", onnx_which_node(c->im), sx, sy);
}

Tensor *onnx_binary_of(Ctx *c, int fn, Tensor *x, Tensor *y, const char *name) {
    Attrs a;
    memset(&a, 0, sizeof a);
    long dims[MAX_T];
    int rank;
    if (!x || !y) return NULL;     /* an operand that failed, already reported */
    if (nd_broadcast(x->rank, x->dims, y->rank, y->dims, &rank, dims, a.nd.as, a.nd.bs)) {
        onnx_no_broadcast(c, x, y);
        return NULL;
    }
    long as[MAX_T], bs[MAX_T];
    memcpy(as, a.nd.as, sizeof as);
    memcpy(bs, a.nd.bs, sizeof bs);
    nd_dense(&a.nd, rank, dims);
    memcpy(a.nd.as, as, sizeof as);
    memcpy(a.nd.bs, bs, sizeof bs);
    a.fn = fn;
    Tensor *in[2] = { x, y };
    return onnx_apply(c->im, OP_ND_BINARY, in, 2, &a, name, rank, dims);
}

/* Max, Min, Sum, Mean: a chain of binaries; Mean divides at the end */
Tensor *onnx_variadic(Ctx *c, int fn, int mean) {
    Tensor *acc = c->in[0];
    if (c->nin == 1 && !mean) {
        Attrs a;
        memset(&a, 0, sizeof a);
        nd_dense(&a.nd, acc->rank, acc->dims);
        memcpy(a.nd.as, a.nd.ys, sizeof a.nd.as);
        return onnx_apply(c->im, OP_ND_COPY, c->in, 1, &a, onnx_out_name(c, 0), acc->rank, acc->dims);
    }
    int wrap = fn == NNC_RT_BIN_ADD && !mean && onnx_type_wraps(acc->dtype);   /* Sum of integers */
    for (int i = 1; i < c->nin && acc; i++) {
        char name[160];
        ir_format_name(name, "%s/%d", onnx_out_name(c, 0), i);
        acc = onnx_binary_of(c, fn, acc, c->in[i], i == c->nin - 1 && !mean && !wrap ? onnx_out_name(c, 0) : name);
    }
    if (wrap) return onnx_wrap(c, acc, c->in[0]->dtype, onnx_out_name(c, 0));
    if (mean && acc) {
        long one = 1;
        float *k = malloc(sizeof *k);
        *k = 1.0f / (float)c->nin;
        char name[160];
        onnx_part(c, "scale", name);
        Tensor *s = onnx_add_constant(c->im, name, 0, &one, k);
        acc = onnx_binary_of(c, NNC_RT_BIN_MUL, acc, s, onnx_out_name(c, 0));
    }
    return acc;
}

/* Cast and CastLike with the semantics of the target type: to an integer
 * toward zero, then wrapped into the type's width (numpy's modular result;
 * NaN and inf give 0) for the types that wrap; to float16/bfloat16 rounded
 * to that precision; to bool x != 0 */
Tensor *onnx_cast(Ctx *c) {
    long to = onnx_attr_i(c->n, "to", 1);
    int from = c->in[0]->dtype;
    if (!strcmp(c->n->op_type, "CastLike"))
        to = c->in[1]->dtype ? c->in[1]->dtype : ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    if (!onnx_dtype_ok((int)to)) {
        char why[64];
        snprintf(why, sizeof why, "a cast to %s", onnx_dtype_name((int)to));
        onnx_unsupported(c->im, why);
        return NULL;
    }
    if (to == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL) {         /* x != 0 */
        long one = 1;
        float *z = calloc(1, sizeof *z);
        char n0[170];
        onnx_part(c, "zero", n0);
        Tensor *t = onnx_binary_of(c, NNC_RT_BIN_EQUAL, c->in[0], onnx_add_constant(c->im, n0, 0, &one, z), n0);
        if (!t) return NULL;
        Ctx u = *c;
        u.in[0] = t;
        return onnx_unary(&u, NNC_RT_UN_NOT, 0, 0);
    }
    if (to == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16) return onnx_unary(c, NNC_RT_UN_ROUND_F16, 0, 0);
    if (to == ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16)    /* ONNX's data truncates before opset 19 */
        return onnx_unary(c, NNC_RT_UN_ROUND_BF16, c->im->opset < 19 ? 1.0f : 0.0f, 0);
    if (!onnx_type_int((int)to)) return onnx_unary(c, NNC_RT_UN_IDENTITY, 0, 0);
    int integral = onnx_type_int(from) || from == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL;
    if (!onnx_type_wraps((int)to)) return onnx_unary(c, integral ? NNC_RT_UN_IDENTITY : NNC_RT_UN_TRUNC, 0, 0);
    Tensor *x = integral ? c->in[0] : onnx_unary_of(c, NNC_RT_UN_TRUNC, c->in[0], "trunc");
    return onnx_wrap(c, x, (int)to, onnx_out_name(c, 0));
}

/* Clip: constant bounds are one element-wise clip; a bound computed at run
 * time (a graph input, a tensor of the graph) is a Max, then a Min, with
 * that scalar broadcast: min(max(x, lo), hi), which is hi everywhere when
 * lo > hi, as ONNX says */
Tensor *onnx_clip(Ctx *c) {
    float lo = -INFINITY, hi = INFINITY;
    Tensor *run[3] = { NULL, NULL, NULL };
    if (c->im->opset < 11) {
        lo = onnx_attr_f(c->n, "min", -INFINITY);
        hi = onnx_attr_f(c->n, "max", INFINITY);
    } else {
        for (int i = 1; i < 3 && i < c->nin; i++) {
            Tensor *t = c->in[i];
            if (!t) continue;
            long n = onnx_numel(t->dims, t->rank);
            if (n != 1) {
                onnx_invalid(c->im, "Clip's %s must be a single value (a scalar), it has %ld", i == 1 ? "min" : "max", n);
                return NULL;
            }
            if (!t->data) {     /* known at run time only: a scalar of rank 0, broadcast */
                char name[170];
                onnx_part(c, i == 1 ? "min" : "max", name);
                run[i] = t->rank ? onnx_reshaped(c, t, 0, NULL, name) : t;
                if (!run[i]) return NULL;
            } else if (i == 1) {
                lo = t->data[0];
            } else {
                hi = t->data[0];
            }
        }
    }
    if (!run[1] && !run[2]) return onnx_unary(c, NNC_RT_UN_CLIP, lo > hi ? hi : lo, hi);
    Tensor *y = c->in[0];
    char n0[170], n1[170];
    if (lo != -INFINITY || hi != INFINITY) {    /* the constant bound first */
        Attrs a;
        memset(&a, 0, sizeof a);
        a.fn = NNC_RT_UN_CLIP;
        a.alpha = lo > hi ? hi : lo;
        a.beta = hi;
        y = onnx_apply(c->im, OP_ND_UNARY, &y, 1, &a, onnx_part(c, "clipped", n0), y->rank, y->dims);
    }
    if (run[1]) y = onnx_binary_of(c, NNC_RT_BIN_MAX, y, run[1], run[2] ? onnx_part(c, "above_min", n1) : onnx_out_name(c, 0));
    if (run[2] && y) y = onnx_binary_of(c, NNC_RT_BIN_MIN, y, run[2], onnx_out_name(c, 0));
    return y;
}

Tensor *onnx_dropout(Ctx *c) {
    if (c->nin > 2 && c->in[2] && onnx_numel(c->in[2]->dims, c->in[2]->rank) != 1) {
        onnx_invalid(c->im, "Dropout's training_mode must be a single value");
        return NULL;
    }
    if (c->nin > 2 && c->in[2] && !(c->in[2]->data && c->in[2]->data[0] == 0.0f)) {
        onnx_unsupported(c->im, "Dropout in training mode (an inference build is deterministic)");
        return NULL;
    }
    Tensor *y = onnx_unary(c, NNC_RT_UN_IDENTITY, 0, 0);
    if (y && c->n->n_output > 1 && *c->n->output[1]) {   /* the mask: all kept */
        Tensor *x = c->in[0];
        long n = onnx_numel(x->dims, x->rank);
        float *m = malloc((size_t)(n ? n : 1) * sizeof *m);
        for (long i = 0; i < n; i++) m[i] = 1;
        onnx_add_constant(c->im, onnx_out_name(c, 1), x->rank, x->dims, m);
    }
    return y;
}

/* ---- products ------------------------------------------------------------------ */

Tensor *onnx_matmul(Ctx *c) {
    Tensor *a = c->in[0], *b = c->in[1];
    if (a->rank < 2 || b->rank < 2) { onnx_unsupported(c->im, "MatMul of 1-D operands"); return NULL; }
    int M = (int)a->dims[a->rank - 2], K = (int)a->dims[a->rank - 1], N = (int)b->dims[b->rank - 1];
    if (b->dims[b->rank - 2] != K) {
        onnx_invalid(c->im, "MatMul's inner sizes differ: A is (..., %d, %d), B is (..., %ld, %d); A's columns must equal "
                     "B's rows", M, K, b->dims[b->rank - 2], N);
        return NULL;
    }
    /* the batch axes broadcast; strides in whole matrices */
    Attrs at;
    memset(&at, 0, sizeof at);
    long dims[MAX_T], as[MAX_T], bs[MAX_T];
    int rank;
    if (nd_broadcast(a->rank - 2, a->dims, b->rank - 2, b->dims, &rank, dims, as, bs)) {
        onnx_invalid(c->im, "MatMul's batch axes do not broadcast");
        return NULL;
    }
    nd_dense(&at.nd, rank, dims);
    for (int d = 0; d < rank; d++) {
        at.nd.as[d] = as[d] * M * K;
        at.nd.bs[d] = bs[d] * K * N;
        at.nd.ys[d] *= (long)M * N;
    }
    at.M = M; at.N = N; at.K = K;
    long out[MAX_T];
    memcpy(out, dims, sizeof out);
    out[rank] = M;
    out[rank + 1] = N;
    return onnx_apply(c->im, OP_ND_MATMUL, c->in, 2, &at, onnx_out_name(c, 0), rank + 2, out);
}

/* Gemm: alpha op(A) op(B) + beta C, with transposes as strided copies */
Tensor *onnx_gemm(Ctx *c) {
    Tensor *a = c->in[0], *b = c->in[1];
    char name[160];
    for (int i = 0; i < 2; i++) {
        long t = onnx_attr_i(c->n, i ? "transB" : "transA", 0);
        if (t != 0 && t != 1) {
            onnx_invalid(c->im, "Gemm's %s is %ld; it must be 0 or 1", i ? "transB" : "transA", t);
            return NULL;
        }
        if (c->in[i]->rank != 2) {
            onnx_invalid(c->im, "Gemm's %s has rank %d; Gemm multiplies matrices (rank 2)", i ? "B" : "A", c->in[i]->rank);
            return NULL;
        }
    }
    for (int i = 0; i < 2; i++)
        if (onnx_attr_i(c->n, i ? "transB" : "transA", 0)) {
            Tensor *x = c->in[i];
            long dims[2] = { x->dims[1], x->dims[0] };
            Attrs t;
            memset(&t, 0, sizeof t);
            nd_dense(&t.nd, 2, dims);
            t.nd.as[0] = 1;
            t.nd.as[1] = x->dims[1];
            ir_format_name(name, "%s.T", x->name);
            Tensor *tt = onnx_apply(c->im, OP_ND_COPY, &x, 1, &t, name, 2, dims);
            if (i) b = tt; else a = tt;
        }
    Ctx mc = *c;
    mc.in[0] = a; mc.in[1] = b; mc.nin = 2;
    float alpha = onnx_attr_f(c->n, "alpha", 1.0f), beta = onnx_attr_f(c->n, "beta", 1.0f);
    int has_c = c->nin > 2 && c->in[2];
    const char *final = onnx_out_name(c, 0);
    ir_format_name(name, "%s/ab", final);
    Onnx__NodeProto fake = *c->n;
    char *outs[1] = { (alpha != 1.0f || has_c) ? name : (char *)final };
    fake.output = outs;
    mc.n = &fake;
    Tensor *y = onnx_matmul(&mc);
    if (!y) return NULL;
    long one = 1;
    if (alpha != 1.0f) {
        float *k = malloc(sizeof *k);
        *k = alpha;
        char kn[170];
        ir_format_name(kn, "%s/alpha", final);
        char yn[170];
        ir_format_name(yn, "%s/scaled", final);
        y = onnx_binary_of(c, NNC_RT_BIN_MUL, y, onnx_add_constant(c->im, kn, 0, &one, k), has_c ? yn : final);
        if (!y) return NULL;
    }
    if (has_c) {
        Tensor *cc = c->in[2];
        if (beta != 1.0f) {
            float *k = malloc(sizeof *k);
            *k = beta;
            char kn[170], cn[170];
            ir_format_name(kn, "%s/beta", final);
            ir_format_name(cn, "%s/betaC", final);
            cc = onnx_binary_of(c, NNC_RT_BIN_MUL, cc, onnx_add_constant(c->im, kn, 0, &one, k), cn);
            if (!cc) return NULL;
        }
        y = onnx_binary_of(c, NNC_RT_BIN_ADD, y, cc, final);
    }
    return y;
}

/* ---- along axes: softmax, reductions, arg-max/min, cumsum ------------------------ */

Tensor *onnx_softmax(Ctx *c, int fn) {
    Tensor *x = c->in[0];
    Attrs a;
    memset(&a, 0, sizeof a);
    a.fn = fn;
    if (c->im->opset < 13) {    /* coerced to 2-D at axis */
        int axis = onnx_axis(c, onnx_attr_i(c->n, "axis", 1), x->rank, 1, "axis");
        if (axis < 0) return NULL;
        a.outer = onnx_numel(x->dims, axis);
        a.alen = onnx_numel(x->dims + axis, x->rank - axis);
        a.inner = 1;
    } else {
        int axis = onnx_axis(c, onnx_attr_i(c->n, "axis", -1), x->rank, 0, "axis");
        if (axis < 0) return NULL;
        a.outer = onnx_numel(x->dims, axis);
        a.alen = x->dims[axis];
        a.inner = onnx_numel(x->dims + axis + 1, x->rank - axis - 1);
    }
    return onnx_apply(c->im, OP_ND_SOFTMAX, c->in, 1, &a, onnx_out_name(c, 0), x->rank, x->dims);
}

/* the reduction over the marked axes of x */
Tensor *onnx_reduce_mark(Ctx *c, int fn, Tensor *x, const int *mark, int keep, const char *name) {
    long dims[MAX_T], xs[MAX_T], count = 1;
    int rank = 0;
    if (!x) return NULL;
    for (int d = 0; d < x->rank; d++) {
        if (mark[d]) { count *= x->dims[d]; if (keep) dims[rank++] = 1; }
        else dims[rank++] = x->dims[d];
    }
    /* y strides over x's axes: 0 on the reduced ones */
    long ydims[MAX_T], ys[MAX_T];
    for (int d = 0; d < x->rank; d++) ydims[d] = mark[d] ? 1 : x->dims[d];
    nd_strides(x->rank, ydims, ys);
    nd_strides(x->rank, x->dims, xs);
    Attrs a;
    memset(&a, 0, sizeof a);
    nd_dense(&a.nd, x->rank, x->dims);
    for (int d = 0; d < x->rank; d++) {
        a.nd.ys[d] = mark[d] ? 0 : ys[d];
        a.nd.as[d] = xs[d];
    }
    a.fn = fn;
    a.ny = onnx_numel(dims, rank);
    a.count = count;
    return onnx_apply(c->im, OP_ND_REDUCE, &x, 1, &a, name, rank, dims);
}

Tensor *onnx_reduce(Ctx *c, int fn) {
    Tensor *x = c->in[0];
    long axes[MAX_T];
    int k = onnx_axes_of(c, 1, axes), keep = (int)onnx_attr_i(c->n, "keepdims", 1);
    if (k == -1) return NULL;
    int mark[MAX_T] = { 0 };
    if (k == -2 || k == 0) {
        if (k == 0 && onnx_attr_i(c->n, "noop_with_empty_axes", 0)) {
            Attrs a;
            memset(&a, 0, sizeof a);
            a.fn = NNC_RT_UN_IDENTITY;
            return onnx_apply(c->im, OP_ND_UNARY, c->in, 1, &a, onnx_out_name(c, 0), x->rank, x->dims);
        }
        for (int d = 0; d < x->rank; d++) mark[d] = 1;
    } else if (onnx_mark_axes(c, axes, k, x->rank, mark, "axes entry")) {
        return NULL;
    }
    return onnx_reduce_mark(c, fn, x, mark, keep, onnx_out_name(c, 0));
}

Tensor *onnx_arg(Ctx *c, int fn) {
    Tensor *x = c->in[0];
    int axis = onnx_axis(c, onnx_attr_i(c->n, "axis", 0), x->rank, 0, "axis"), rank = 0;
    int keep = (int)onnx_attr_i(c->n, "keepdims", 1);
    if (axis < 0) return NULL;
    Attrs a;
    memset(&a, 0, sizeof a);
    onnx_around(x, axis, &a);
    a.fn = fn;
    a.count = onnx_attr_i(c->n, "select_last_index", 0);
    long dims[MAX_T];
    for (int d = 0; d < x->rank; d++)
        if (d != axis) dims[rank++] = x->dims[d];
        else if (keep) dims[rank++] = 1;
    return onnx_apply(c->im, OP_ND_ARG, c->in, 1, &a, onnx_out_name(c, 0), rank, dims);
}

Tensor *onnx_cumsum(Ctx *c) {
    Tensor *x = c->in[0];
    long axis;
    if (!onnx_scalar_of(c, 1, "CumSum's axis") || onnx_const_ints(c->im, c->in[1], &axis, 1, "axis") != 1) return NULL;
    int ax = onnx_axis(c, axis, x->rank, 0, "axis");
    if (ax < 0) return NULL;
    Attrs a;
    memset(&a, 0, sizeof a);
    onnx_around(x, ax, &a);
    a.fn = (int)onnx_attr_i(c->n, "exclusive", 0);
    a.count = onnx_attr_i(c->n, "reverse", 0);
    return onnx_apply(c->im, OP_ND_CUMSUM, c->in, 1, &a, onnx_out_name(c, 0), x->rank, x->dims);
}

/* ---- layer normalization and the losses ------------------------------------------ */

/* (x - mean) / sqrt(var + eps) * scale + bias over the axes from `axis` on */
Tensor *onnx_layernorm(Ctx *c) {
    Tensor *x = c->in[0];
    int axis = onnx_axis(c, onnx_attr_i(c->n, "axis", -1), x->rank, 0, "axis"), mark[MAX_T] = { 0 };
    if (axis < 0) return NULL;
    for (int d = axis; d < x->rank; d++) mark[d] = 1;
    char n1[170], n2[170], n3[170], n4[170];
    onnx_part(c, "mean", n1);
    onnx_part(c, "centered", n2);
    onnx_part(c, "var", n3);
    onnx_part(c, "normed", n4);
    const char *mean_out = c->n->n_output > 1 && *c->n->output[1] ? c->n->output[1] : n1;
    Tensor *mean = onnx_reduce_mark(c, NNC_RT_RED_MEAN, x, mark, 1, mean_out);
    Tensor *d = mean ? onnx_binary_of(c, NNC_RT_BIN_SUB, x, mean, n2) : NULL;
    Tensor *sq = d ? onnx_binary_of(c, NNC_RT_BIN_MUL, d, d, n3) : NULL;
    if (!sq) return NULL;
    char n5[170], n6[170];
    onnx_part(c, "varmean", n5);
    onnx_part(c, "vareps", n6);
    Tensor *var = onnx_reduce_mark(c, NNC_RT_RED_MEAN, sq, mark, 1, n5);
    Tensor *ve = var ? onnx_binary_of(c, NNC_RT_BIN_ADD, var, onnx_scalar(c, "eps", onnx_attr_f(c->n, "epsilon", 1e-5f)), n6) : NULL;
    Tensor *sd = ve ? onnx_unary_of(c, NNC_RT_UN_SQRT, ve, "std") : NULL;
    if (!sd) return NULL;
    Tensor *inv;
    if (c->n->n_output > 2 && *c->n->output[2]) {
        Attrs a;
        memset(&a, 0, sizeof a);
        a.fn = NNC_RT_UN_RECIPROCAL;
        inv = onnx_apply(c->im, OP_ND_UNARY, &sd, 1, &a, c->n->output[2], sd->rank, sd->dims);
    } else {
        inv = onnx_unary_of(c, NNC_RT_UN_RECIPROCAL, sd, "invstd");
    }
    Tensor *y = onnx_binary_of(c, NNC_RT_BIN_MUL, d, inv, n4);
    int bias = c->nin > 2 && c->in[2];
    char n7[170];
    onnx_part(c, "scaled", n7);
    y = y ? onnx_binary_of(c, NNC_RT_BIN_MUL, y, c->in[1], bias ? n7 : onnx_out_name(c, 0)) : NULL;
    if (y && bias) y = onnx_binary_of(c, NNC_RT_BIN_ADD, y, c->in[2], onnx_out_name(c, 0));
    return y;
}

static int reduction_of(Ctx *c) {
    const Onnx__AttributeProto *r = onnx_attr(c->n, "reduction");
    if (!r || !r->s.len) return 2;
    if (!strncmp((const char *)r->s.data, "none", r->s.len)) return 0;
    if (!strncmp((const char *)r->s.data, "sum", r->s.len)) return 1;
    return 2;
}

/* NLL on log-probabilities x (N, C, d...) with targets (N, d...) */
static Tensor *nll(Ctx *c, Tensor *x, Tensor *target, Tensor *weight, const char *name) {
    Attrs a;
    memset(&a, 0, sizeof a);
    if (x->rank < 2) { onnx_unsupported(c->im, "inputs of rank below 2"); return NULL; }
    int fits = target->rank == x->rank - 1 && target->dims[0] == x->dims[0];
    for (int d = 2; fits && d < x->rank; d++) fits = target->dims[d - 1] == x->dims[d];
    if (!fits || (weight && onnx_numel(weight->dims, weight->rank) != x->dims[1])) {
        onnx_invalid(c->im, "the %s does not fit the scores: targets must be (N, d1, ...) for scores (N, C, d1, ...), "
                     "weights (C)", fits ? "weight" : "target");
        return NULL;
    }
    a.outer = x->dims[0];
    a.alen = x->dims[1];
    a.inner = onnx_numel(x->dims + 2, x->rank - 2);
    a.fn = reduction_of(c);
    a.count = onnx_attr(c->n, "ignore_index") ? onnx_attr_i(c->n, "ignore_index", 0) : -(1L << 40);
    Tensor *in[3] = { x, target, weight };
    long one = 1;
    return onnx_apply(c->im, OP_ND_NLL, in, weight ? 3 : 2, &a, name, a.fn ? 0 : target->rank,
                 a.fn ? &one : target->dims);
}

Tensor *onnx_nll(Ctx *c) {
    return nll(c, c->in[0], c->in[1], c->nin > 2 ? c->in[2] : NULL, onnx_out_name(c, 0));
}

Tensor *onnx_sce(Ctx *c) {
    Tensor *x = c->in[0];
    Attrs a;
    memset(&a, 0, sizeof a);
    if (x->rank < 2) { onnx_unsupported(c->im, "scores of rank below 2"); return NULL; }
    a.fn = NNC_RT_SOFTMAX_LOG;
    a.outer = x->dims[0];
    a.alen = x->dims[1];
    a.inner = onnx_numel(x->dims + 2, x->rank - 2);
    char n1[170];
    onnx_part(c, "logprob", n1);
    const char *lp_name = c->n->n_output > 1 && *c->n->output[1] ? c->n->output[1] : n1;
    Tensor *lp = onnx_apply(c->im, OP_ND_SOFTMAX, &x, 1, &a, lp_name, x->rank, x->dims);
    return lp ? nll(c, lp, c->in[1], c->nin > 2 ? c->in[2] : NULL, onnx_out_name(c, 0)) : NULL;
}
