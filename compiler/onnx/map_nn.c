/* map_nn.c — the builders of ONNX's network layers: Conv, ConvTranspose,
 * MaxPool/AveragePool/MaxUnpool, the global pools, BatchNormalization,
 * InstanceNormalization, LRN and MeanVarianceNormalization.
 *
 * Decisions:
 *  - NCHW around the runtime's NHWC kernels: the input is relaid out to
 *    NHWC, the kernel runs, the result is relaid back; passes/layout.c
 *    cancels the transposes between consecutive layers.  Weights are
 *    folded into Keras' layout (kh, kw, C/g, OC) at import.
 *  - 1-D convolutions and pools are their 2-D kernels over (N, C, 1, L).
 *  - ConvTranspose is the data gradient of the convolution it transposes.
 *  - What those kernels cannot run (3-D windows, dilated or padded-count
 *    pools, MaxPool's indices, run-time weights, ConvTranspose's other
 *    ranks) is composed from N-d ops, one strided view per kernel position
 *    (see "windows the 2-D kernels cannot run" below).
 *  - LRN, MeanVarianceNormalization and training_mode BatchNormalization
 *    are compositions too; MaxUnpool is a gather through the inverse of
 *    its (constant) indices.
 *  - Inference BatchNormalization folds to one per-channel scale and
 *    shift; fine-tuning (--train) makes it the .nn batch_norm layer, whose
 *    running statistics are state.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx.h"

/* ---- convolution and pooling: NCHW around the runtime's NHWC kernels -------------- */

/* NCHW <-> NHWC for a rank-4 tensor (to_nhwc: N C H W -> N H W C) */
static Tensor *relayout(Ctx *c, Tensor *x, int to_nhwc, const char *name) {
    static const long to[4] = { 0, 2, 3, 1 }, back[4] = { 0, 3, 1, 2 };
    const long *perm = to_nhwc ? to : back;
    long dims[4], xs[4];
    if (!x) return NULL;    /* failed, already reported */
    nd_strides(4, x->dims, xs);
    Attrs a;
    memset(&a, 0, sizeof a);
    for (int d = 0; d < 4; d++) dims[d] = x->dims[perm[d]];
    nd_dense(&a.nd, 4, dims);
    for (int d = 0; d < 4; d++) a.nd.as[d] = xs[perm[d]];
    return onnx_apply(c->im, OP_ND_COPY, &x, 1, &a, name, 4, dims);
}

/* a per-channel vector (C) as (C, 1, ...) for broadcasting over NCHW */
Tensor *onnx_per_channel(Ctx *c, Tensor *v, int rank, const char *suffix) {
    long dims[MAX_T];
    if (!v) return NULL;
    dims[0] = onnx_numel(v->dims, v->rank);
    for (int d = 1; d < rank - 1; d++) dims[d] = 1;
    char name[170];
    ir_format_name(name, "%s/%s", onnx_out_name(c, 0), suffix);
    return onnx_reshaped(c, v, rank - 1, dims, name);
}

/* the window attributes of a Conv, ConvTranspose or pool over `spatial`
 * axes against ONNX's rules, before any of them is used: kernel_shape (the
 * weight's extents when there is a weight), strides and dilations >= 1,
 * pads >= 0, each list one entry per axis (pads two), a known auto_pad,
 * group >= 1; -1 after reporting */
static int window_ok(Ctx *c, int spatial, const Tensor *w) {
    static const char *const names[4] = { "kernel_shape", "strides", "dilations", "pads" };
    for (int k = 0; k < 4; k++) {
        const Onnx__AttributeProto *a = onnx_attr(c->n, names[k]);
        if (!a) continue;
        size_t want = (size_t)(k == 3 ? 2 * spatial : spatial);
        if (a->n_ints != want) {
            onnx_invalid(c->im, "%s has %zu entries; a %d-D window needs %zu", names[k], a->n_ints, spatial, want);
            return -1;
        }
        for (size_t i = 0; i < a->n_ints; i++) {
            long v = (long)a->ints[i], lo = k == 3 ? 0 : 1;
            if (v < lo || (k == 0 && w && v != w->dims[2 + i % (size_t)spatial])) {
                onnx_invalid(c->im, "%s[%zu] is %ld; it must be %s", names[k], i, v, v < lo ? (lo ? "at least 1" : "non-negative") :
                             "the weight's extent on that axis");
                return -1;
            }
            if (v > (1L << 24)) {
                char why[96];
                snprintf(why, sizeof why, "%s[%zu] = %ld (nnc's limit is 2^24)", names[k], i, v);
                onnx_unsupported(c->im, why);
                return -1;
            }
        }
    }
    const Onnx__AttributeProto *ap = onnx_attr(c->n, "auto_pad");
    if (ap && ap->s.len && !onnx_attr_is(c->n, "auto_pad", "NOTSET") && !onnx_attr_is(c->n, "auto_pad", "VALID") &&
        !onnx_attr_is(c->n, "auto_pad", "SAME_UPPER") && !onnx_attr_is(c->n, "auto_pad", "SAME_LOWER")) {
        onnx_invalid(c->im, "auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER or VALID");
        return -1;
    }
    long group = onnx_attr_i(c->n, "group", 1);
    if (group < 1) { onnx_invalid(c->im, "group is %ld; it must be at least 1", group); return -1; }
    return 0;
}

/* the spatial geometry of a Conv or pool node over (h, w), ONNX rules */
static int window2d(Ctx *c, const long *xdims, long kh, long kw, int *out) {
    long k[2] = { kh, kw }, s[2] = { 1, 1 }, d[2] = { 1, 1 }, p[4] = { 0, 0, 0, 0 }, in[2] = { xdims[2], xdims[3] };
    onnx_attr_ints(c->n, "strides", s, 2);
    onnx_attr_ints(c->n, "dilations", d, 2);
    onnx_attr_ints(c->n, "pads", p, 4);
    const Onnx__AttributeProto *ap = onnx_attr(c->n, "auto_pad");
    int ceil_mode = (int)onnx_attr_i(c->n, "ceil_mode", 0);
    for (int i = 0; i < 2; i++) {
        long span = d[i] * (k[i] - 1) + 1, o;
        if (ap && ap->s.len && strncmp((const char *)ap->s.data, "NOTSET", ap->s.len)) {
            if (!strncmp((const char *)ap->s.data, "VALID", ap->s.len)) {
                p[i] = p[i + 2] = 0;
            } else {
                long outn = (in[i] + s[i] - 1) / s[i], total = (outn - 1) * s[i] + span - in[i];
                if (total < 0) total = 0;
                int lower = !strncmp((const char *)ap->s.data, "SAME_LOWER", ap->s.len);
                p[i] = lower ? total - total / 2 : total / 2;
                p[i + 2] = total - p[i];
            }
        }
        long num = in[i] + p[i] + p[i + 2] - span;
        if (num < 0) { onnx_unsupported(c->im, "a window larger than the padded input"); return -1; }
        o = ceil_mode ? (num + s[i] - 1) / s[i] + 1 : num / s[i] + 1;
        if (ceil_mode && (o - 1) * s[i] >= in[i] + p[i]) o--;   /* a window that starts in the padding */
        out[i] = (int)o;
        out[2 + i] = (int)p[i];
        out[4 + i] = (int)s[i];
        out[6 + i] = (int)d[i];
    }
    return 0;
}

/* window2d's geometry for a 1-D Conv seen as (N, C, 1, L): the attributes
 * name the one spatial axis, read as the width */
static int window1d(Ctx *c, const long *xdims, long kw, int *geo) {
    long s1 = 1, d1 = 1, p1[2] = { 0, 0 };
    onnx_attr_ints(c->n, "strides", &s1, 1);
    onnx_attr_ints(c->n, "dilations", &d1, 1);
    onnx_attr_ints(c->n, "pads", p1, 2);
    const Onnx__AttributeProto *ap = onnx_attr(c->n, "auto_pad");
    if (ap && ap->s.len && strncmp((const char *)ap->s.data, "NOTSET", ap->s.len)) {
        onnx_unsupported(c->im, "auto_pad on a 1-D Conv");
        return -1;
    }
    long num = xdims[3] + p1[0] + p1[1] - d1 * (kw - 1) - 1;
    if (num < 0) { onnx_unsupported(c->im, "a window larger than the padded input"); return -1; }
    int g1[8] = { 1, (int)(num / s1 + 1), 0, (int)p1[0], 1, (int)s1, 1, (int)d1 };
    memcpy(geo, g1, sizeof g1);
    return 0;
}

/* an ONNX kernel (A, B, kh, kw) as the (kh, kw, B, A) Keras layout the
 * runtime's convolution reads, folded when constant */
static Tensor *keras_kernel(Ctx *c, Tensor *w, const char *name) {
    long ws[4], wdims[4] = { w->dims[2], w->dims[3], w->dims[1], w->dims[0] };
    nd_strides(4, w->dims, ws);
    Attrs t;
    memset(&t, 0, sizeof t);
    nd_dense(&t.nd, 4, wdims);
    t.nd.as[0] = ws[2]; t.nd.as[1] = ws[3]; t.nd.as[2] = ws[1]; t.nd.as[3] = ws[0];
    return onnx_apply(c->im, OP_ND_COPY, &w, 1, &t, name, 4, wdims);
}

/* an NHWC convolution node (nd_conv, nd_conv_t) and its im2col scratch, a
 * second output of the node */
static Tensor *conv_node(Ctx *c, int op, Tensor **in, int nin, const Attrs *a, const char *name,
                         const long *ydims, const char *scratch_name) {
    Tensor *y = onnx_apply(c->im, op, in, nin, a, name, 4, ydims);
    if (!y) return NULL;
    if (NNC_RT_CONV2D_SCRATCH(&a->conv) > ONNX_MAX_ELEMS) {
        onnx_unsupported(c->im, "an im2col scratch above 2^31 floats");
        return NULL;
    }
    int scratch = (int)NNC_RT_CONV2D_SCRATCH(&a->conv);
    Graph *g = c->im->g;
    int sv = ir_value(g, scratch_name, ROLE_ACT, 0, 1, &scratch);
    ir_add_output(g, g->values[y->value].producer, sv);
    return y;
}

/* a window's geometry over n spatial axes (ONNX's rules applied) */
typedef struct Win {
    int n;                                           /* spatial axes */
    long in[MAX_T], k[MAX_T], s[MAX_T], d[MAX_T];
    long pb[MAX_T], pe[MAX_T];                       /* pads at the start and end of each axis */
    long o[MAX_T];
    long ext[MAX_T];                                 /* ceil_mode: input read past pe (>= 0) */
} Win;
static Tensor *conv_nd(Ctx *c, Tensor *x, Tensor *wt, Tensor *b, long group);
static int convt_geometry(Ctx *c, int n, const long *xsp, const long *k, Win *w, long *full);
static Tensor *conv_t_nd(Ctx *c, Tensor *x, Tensor *wt, Tensor *b, const Win *w, const long *full, long group);

Tensor *onnx_conv(Ctx *c) {
    Tensor *x = c->in[0], *w = c->in[1], *b = c->nin > 2 ? c->in[2] : NULL;
    if (w->rank != x->rank || x->rank < 3) {
        onnx_invalid(c->im, "Conv's weight has rank %d for an input of rank %d; both must be (N or M, C, spatial...)",
                     w->rank, x->rank);
        return NULL;
    }
    if (window_ok(c, x->rank - 2, w)) return NULL;
    if (b && onnx_numel(b->dims, b->rank) != w->dims[0]) {
        onnx_invalid(c->im, "Conv's bias has %ld values for %ld output channels", onnx_numel(b->dims, b->rank), w->dims[0]);
        return NULL;
    }
    {   /* what the 1-D/2-D kernel cannot do is composed */
        const Onnx__AttributeProto *ap = onnx_attr(c->n, "auto_pad");
        int autopad = ap && ap->s.len && !onnx_attr_is(c->n, "auto_pad", "NOTSET");
        int runtime = !w->data || (b && !b->data);
        if (x->rank > 4 || runtime || (x->rank == 3 && autopad)) {
            long group = onnx_attr_i(c->n, "group", 1);
            if (group > x->dims[1] || w->dims[1] * group != x->dims[1] || w->dims[0] % group) {
                onnx_invalid(c->im, "Conv's channels do not match its groups: input channels %ld, weight (%ld, %ld, ...), "
                             "group %ld (the weight must be (M, C/group, ...) with group dividing M)", x->dims[1],
                             w->dims[0], w->dims[1], group);
                return NULL;
            }
            for (int i = 0; i < w->rank; i++)
                if (w->dims[i] < 1) { onnx_unsupported(c->im, "an empty kernel, or no channels"); return NULL; }
            return conv_nd(c, x, w, b, group);
        }
    }
    /* 1-D: (N, C, L) as (N, C, 1, L) */
    char n0[170], n1[170], n2[170], n3[170];
    onnx_part(c, "x4", n0);
    onnx_part(c, "nhwc", n1);
    onnx_part(c, "w", n2);
    onnx_part(c, "y", n3);
    int one_d = x->rank == 3;
    Tensor w4 = *w;
    if (one_d) {
        long d4[4] = { x->dims[0], x->dims[1], 1, x->dims[2] }, k4[4] = { w->dims[0], w->dims[1], 1, w->dims[2] };
        x = onnx_reshaped(c, x, 4, d4, n0);
        if (!x) return NULL;
        w4.rank = 4;
        memcpy(w4.dims, k4, sizeof k4);
    }
    long group = onnx_attr_i(c->n, "group", 1), oc = w4.dims[0], cg = w4.dims[1], kh = w4.dims[2], kw = w4.dims[3];
    if (group > x->dims[1] || cg * group != x->dims[1] || oc % group) {
        onnx_invalid(c->im, "Conv's channels do not match its groups: input channels %ld, weight (%ld, %ld, ...), "
                     "group %ld (the weight must be (M, C/group, ...) with group dividing M)", x->dims[1], oc, cg, group);
        return NULL;
    }
    if (kh < 1 || kw < 1 || oc < 1 || cg < 1) { onnx_unsupported(c->im, "an empty kernel, or no channels"); return NULL; }
    int geo[8];
    if (one_d ? window1d(c, x->dims, kw, geo) : window2d(c, x->dims, kh, kw, geo)) return NULL;
    Tensor *xn = relayout(c, x, 1, n1);
    Tensor *wk = keras_kernel(c, &w4, n2);     /* (OC, C/g, kh, kw) -> (kh, kw, C/g, OC) */
    Attrs a;
    memset(&a, 0, sizeof a);
    nnc_rt_conv2d *p = &a.conv;
    p->h = (int)x->dims[2]; p->w = (int)x->dims[3]; p->c = (int)x->dims[1];
    p->oh = geo[0]; p->ow = geo[1]; p->oc = (int)oc; p->kh = (int)kh; p->kw = (int)kw;
    p->pt = geo[2]; p->pl = geo[3]; p->sh = geo[4]; p->sw = geo[5]; p->dh = geo[6]; p->dw = geo[7];
    p->groups = (int)group;
    a.samples = (int)x->dims[0];
    Tensor *in[3] = { xn, wk, b };
    long ydims[4] = { x->dims[0], geo[0], geo[1], oc };
    Tensor *yn = conv_node(c, OP_ND_CONV, in, b ? 3 : 2, &a, n3, ydims, "conv.scratch");
    if (!one_d) return relayout(c, yn, 0, onnx_out_name(c, 0));
    char n4[170];
    onnx_part(c, "nchw", n4);
    Tensor *y4 = relayout(c, yn, 0, n4);
    long d3[3] = { x->dims[0], oc, geo[1] };
    return y4 ? onnx_reshaped(c, y4, 3, d3, onnx_out_name(c, 0)) : NULL;
}

/* ConvTranspose as the data gradient of the convolution it transposes: that
 * convolution maps Y's shape to X's, with the same weights (2-D, constant
 * weights); other ranks and run-time weights are composed (conv_t_nd) */
Tensor *onnx_conv_transpose(Ctx *c) {
    Tensor *x = c->in[0], *w = c->in[1], *b = c->nin > 2 ? c->in[2] : NULL;
    if (w->rank != x->rank || x->rank < 3) {
        onnx_invalid(c->im, "ConvTranspose's weight has rank %d for an input of rank %d", w->rank, x->rank);
        return NULL;
    }
    int n = x->rank - 2;
    if (window_ok(c, n, w)) return NULL;
    long group = onnx_attr_i(c->n, "group", 1), cin = w->dims[0], cog = w->dims[1];
    if (cin != x->dims[1] || group > cin || cin % group || (b && onnx_numel(b->dims, b->rank) != cog * group)) {
        onnx_invalid(c->im, "ConvTranspose's channels do not match: input channels %ld, weight (%ld, %ld, ...), group %ld, "
                     "bias of C_out/group * group values", x->dims[1], cin, cog, group);
        return NULL;
    }
    for (int i = 0; i < w->rank; i++)
        if (w->dims[i] < 1) { onnx_unsupported(c->im, "an empty kernel, or no channels"); return NULL; }
    Win g;
    long full[MAX_T];
    if (convt_geometry(c, n, x->dims + 2, w->dims + 2, &g, full)) return NULL;
    int kernel = x->rank == 4 && w->data && (!b || b->data);
    if (!kernel) return conv_t_nd(c, x, w, b, &g, full, group);
    long kh = w->dims[2], kw = w->dims[3], oh = g.o[0], ow = g.o[1];
    char n1[170], n2[170], n3[170];
    onnx_part(c, "nhwc", n1);
    onnx_part(c, "w", n2);
    onnx_part(c, "y", n3);
    Tensor *xn = relayout(c, x, 1, n1);
    Tensor *wk = keras_kernel(c, w, n2);       /* (C_in, C_out/g, kh, kw): the forward conv's kernel */
    Attrs a;
    memset(&a, 0, sizeof a);
    nnc_rt_conv2d *q = &a.conv;     /* the convolution from Y (oh, ow, C_out) to X (h, w, C_in) */
    q->h = (int)oh; q->w = (int)ow; q->c = (int)(cog * group);
    q->oh = (int)x->dims[2]; q->ow = (int)x->dims[3]; q->oc = (int)cin;
    q->kh = (int)kh; q->kw = (int)kw; q->sh = (int)g.s[0]; q->sw = (int)g.s[1]; q->dh = (int)g.d[0]; q->dw = (int)g.d[1];
    q->pt = (int)g.pb[0]; q->pl = (int)g.pb[1]; q->groups = (int)group;
    a.samples = (int)x->dims[0];
    Tensor *in[2] = { xn, wk };
    long ydims[4] = { x->dims[0], oh, ow, cog * group };
    Tensor *yn = conv_node(c, OP_ND_CONV_T, in, 2, &a, n3, ydims, "convt.scratch");
    if (!b) return relayout(c, yn, 0, onnx_out_name(c, 0));
    char n4[170];
    onnx_part(c, "nchw", n4);
    Tensor *y = relayout(c, yn, 0, n4);
    Tensor *bc = y ? onnx_per_channel(c, b, 4, "bias") : NULL;
    return bc ? onnx_binary_of(c, NNC_RT_BIN_ADD, y, bc, onnx_out_name(c, 0)) : NULL;
}

static Tensor *pool_nd(Ctx *c, int avg, const long *k);

Tensor *onnx_pool(Ctx *c, int avg) {
    Tensor *x = c->in[0];
    if (x->rank < 3) { onnx_invalid(c->im, "pooling needs an input (N, C, spatial...), this one has rank %d", x->rank); return NULL; }
    if (!onnx_attr(c->n, "kernel_shape")) { onnx_invalid(c->im, "a pool needs kernel_shape"); return NULL; }
    if (window_ok(c, x->rank - 2, NULL)) return NULL;
    {   /* what the 1-D/2-D kernel cannot do goes to the composed path */
        int n = x->rank - 2, composed = x->rank > 4 || (c->n->n_output > 1 && *c->n->output[1]);
        long k[MAX_T], d[MAX_T], p[2 * MAX_T];
        if (onnx_attr_ints(c->n, "kernel_shape", k, n) != n) { onnx_invalid(c->im, "kernel_shape needs one entry per spatial axis"); return NULL; }
        for (int i = 0; i < n; i++) d[i] = 1;
        for (int i = 0; i < 2 * n; i++) p[i] = 0;
        onnx_attr_ints(c->n, "dilations", d, n);
        onnx_attr_ints(c->n, "pads", p, 2 * n);
        for (int i = 0; i < n; i++) composed |= d[i] != 1;
        const Onnx__AttributeProto *ap = onnx_attr(c->n, "auto_pad");
        int autopad = ap && ap->s.len && !onnx_attr_is(c->n, "auto_pad", "NOTSET");
        if (avg && onnx_attr_i(c->n, "count_include_pad", 0)) {
            composed |= autopad;
            for (int i = 0; i < 2 * n; i++) composed |= p[i] != 0;
        }
        if (x->rank == 3 && ap) composed = 1;     /* the 1-D path widens only explicit pads */
        if (composed) return pool_nd(c, avg, k);
    }
    if (x->rank == 3) {     /* 1-D: (N, C, L) pooled as (N, C, 1, L) with the attributes widened */
        long k1, s1 = 1, p1[2] = { 0, 0 }, d1 = 1;
        if (onnx_attr_ints(c->n, "kernel_shape", &k1, 1) != 1) { onnx_unsupported(c->im, "a pool without kernel_shape"); return NULL; }
        onnx_attr_ints(c->n, "strides", &s1, 1);
        onnx_attr_ints(c->n, "pads", p1, 2);
        onnx_attr_ints(c->n, "dilations", &d1, 1);
        if (onnx_attr(c->n, "auto_pad") || d1 != 1) { onnx_unsupported(c->im, "1-D pooling with auto_pad or dilations"); return NULL; }
        long ks[2] = { 1, k1 }, ss[2] = { 1, s1 }, ps[4] = { 0, p1[0], 0, p1[1] };
        Onnx__AttributeProto ak = ONNX__ATTRIBUTE_PROTO__INIT, as = ONNX__ATTRIBUTE_PROTO__INIT, apd = ONNX__ATTRIBUTE_PROTO__INIT;
        int64_t kv[2] = { ks[0], ks[1] }, sv[2] = { ss[0], ss[1] }, pv[4] = { ps[0], ps[1], ps[2], ps[3] };
        ak.name = "kernel_shape"; ak.n_ints = 2; ak.ints = kv;
        as.name = "strides"; as.n_ints = 2; as.ints = sv;
        apd.name = "pads"; apd.n_ints = 4; apd.ints = pv;
        Onnx__AttributeProto *attrs[8] = { &ak, &as, &apd };
        size_t na = 3;
        for (size_t i = 0; i < c->n->n_attribute && na < 8; i++)   /* ceil_mode, count_include_pad, ... */
            if (strcmp(c->n->attribute[i]->name, "kernel_shape") && strcmp(c->n->attribute[i]->name, "strides") &&
                strcmp(c->n->attribute[i]->name, "pads") && strcmp(c->n->attribute[i]->name, "dilations"))
                attrs[na++] = c->n->attribute[i];
        Onnx__NodeProto wide = *c->n;
        wide.n_attribute = na;
        wide.attribute = attrs;
        char n0[170], n1[170];
        long d4[4] = { x->dims[0], x->dims[1], 1, x->dims[2] };
        Tensor *x4 = onnx_reshaped(c, x, 4, d4, onnx_part(c, "x4", n0));
        if (!x4) return NULL;
        Ctx w = *c;
        w.n = &wide;
        w.in[0] = x4;
        char *outs[1] = { (char *)onnx_part(c, "y4", n1) };
        wide.output = outs;
        wide.n_output = 1;
        Tensor *y4 = onnx_pool(&w, avg);
        if (!y4) return NULL;
        long d3[3] = { y4->dims[0], y4->dims[1], y4->dims[3] };
        return onnx_reshaped(c, y4, 3, d3, onnx_out_name(c, 0));
    }
    if (x->rank != 4) { onnx_unsupported(c->im, "pooling other than 1-D or 2-D"); return NULL; }
    if (avg && onnx_attr_i(c->n, "count_include_pad", 0)) {
        long p[4] = { 0, 0, 0, 0 };
        onnx_attr_ints(c->n, "pads", p, 4);
        if (p[0] || p[1] || p[2] || p[3] || onnx_attr(c->n, "auto_pad")) {
            onnx_unsupported(c->im, "AveragePool with count_include_pad over padding");
            return NULL;
        }
    }
    long k[2];
    if (onnx_attr_ints(c->n, "kernel_shape", k, 2) != 2) { onnx_unsupported(c->im, "a pool without a 2-D kernel_shape"); return NULL; }
    int geo[8];
    if (window2d(c, x->dims, k[0], k[1], geo)) return NULL;
    if (geo[6] != 1 || geo[7] != 1) { onnx_unsupported(c->im, "dilated pooling"); return NULL; }
    char n1[170], n2[170];
    onnx_part(c, "nhwc", n1);
    onnx_part(c, "y", n2);
    Tensor *xn = relayout(c, x, 1, n1);
    Attrs a;
    memset(&a, 0, sizeof a);
    nnc_rt_pool2d *p = &a.pool;
    p->h = (int)x->dims[2]; p->w = (int)x->dims[3]; p->c = (int)x->dims[1];
    p->oh = geo[0]; p->ow = geo[1]; p->kh = (int)k[0]; p->kw = (int)k[1];
    p->sh = geo[4]; p->sw = geo[5]; p->pt = geo[2]; p->pl = geo[3];
    a.samples = (int)x->dims[0];
    a.fn = avg;
    long ydims[4] = { x->dims[0], geo[0], geo[1], x->dims[1] };
    Tensor *yn = onnx_apply(c->im, OP_ND_POOL, &xn, 1, &a, n2, 4, ydims);
    return relayout(c, yn, 0, onnx_out_name(c, 0));
}

Tensor *onnx_global_pool(Ctx *c, int fn) {
    Tensor *x = c->in[0];
    int mark[MAX_T] = { 0 };
    for (int d = 2; d < x->rank; d++) mark[d] = 1;
    return onnx_reduce_mark(c, fn, x, mark, 1, onnx_out_name(c, 0));
}

/* ---- normalization ------------------------------------------------------------- */

/* BatchNormalization to fine-tune: the .nn layer (channels last), which
 * normalises by the batch's statistics while training, updates the running
 * ones as ONNX says (momentum, the population variance) and predicts with
 * them; scale and B train, the running statistics are its state */
/* scale, B, mean and var: C values each; -1 after reporting */
static int batchnorm_sizes(Ctx *c) {
    static const char *const names[5] = { "", "scale", "B", "mean", "var" };
    for (int i = 1; i < 5; i++) {
        long n = onnx_numel(c->in[i]->dims, c->in[i]->rank);
        if (n != c->in[0]->dims[1]) {
            onnx_invalid(c->im, "BatchNormalization's %s has %ld values for %ld channels (it needs one per channel)",
                         names[i], n, c->in[0]->dims[1]);
            return -1;
        }
    }
    return 0;
}

static Tensor *batchnorm_layer(Ctx *c) {
    Tensor *x = c->in[0];
    if (x->rank != 4 && x->rank != 2) { onnx_unsupported(c->im, "training a BatchNormalization of rank other than 2 or 4"); return NULL; }
    if (batchnorm_sizes(c)) return NULL;
    for (int i = 1; i < 5; i++)
        if (!c->in[i]->data) {
            onnx_unsupported(c->im, "BatchNormalization parameters computed at run time");
            return NULL;
        }
    char n1[170], n2[170];
    onnx_part(c, "nhwc", n1);
    onnx_part(c, "y", n2);
    Tensor *xn = x->rank == 4 ? relayout(c, x, 1, n1) : x;
    if (!xn) return NULL;
    Attrs a;
    memset(&a, 0, sizeof a);
    a.momentum = onnx_attr_f(c->n, "momentum", 0.9f);
    a.epsilon = onnx_attr_f(c->n, "epsilon", 1e-5f);
    Tensor *in[5] = { xn, c->in[1], c->in[2], c->in[3], c->in[4] };
    Tensor *yn = onnx_node_out(c->im, OP_BATCH_NORM, in, 5, &a, x->rank == 4 ? n2 : onnx_out_name(c, 0), xn->rank, xn->dims);
    Graph *g = c->im->g;
    int node = g->values[yn->value].producer;
    for (int i = 3; i < 5; i++) {   /* the running statistics: state, not trained */
        Value *v = &g->values[g->nodes[node].in[i]];
        v->trainable = 0;
        v->state = 1;
    }
    if (shape_node(g, node)) return NULL;
    /* training_mode's running_mean / running_var outputs: the updated state */
    for (size_t i = 1; i < 3 && i < c->n->n_output; i++)
        if (*c->n->output[i] && !onnx_find(c->im, c->n->output[i]))
            onnx_add_tensor(c->im, c->n->output[i], 1, &x->dims[1])->value = g->nodes[node].in[i + 2];
    return x->rank == 4 ? relayout(c, yn, 0, onnx_out_name(c, 0)) : yn;
}

/* training_mode (opset 14 on), built for inference: the batch's statistics
 * (population variance over every axis but 1) normalise x; the running
 * outputs are mean * momentum + batch_mean * (1 - momentum), the same for var */
static Tensor *batchnorm_train_mode(Ctx *c) {
    Tensor *x = c->in[0];
    int r = x->rank, mark[MAX_T] = { 0 };
    for (int d = 0; d < r; d++) mark[d] = d != 1;
    char n1[170], n2[170], n3[170], n4[170], n5[170], n6[170], n7[170];
    float eps = onnx_attr_f(c->n, "epsilon", 1e-5f), mom = onnx_attr_f(c->n, "momentum", 0.9f);
    Tensor *mean = onnx_reduce_mark(c, NNC_RT_RED_MEAN, x, mark, 1, onnx_part(c, "bmean", n1));
    Tensor *d = mean ? onnx_binary_of(c, NNC_RT_BIN_SUB, x, mean, onnx_part(c, "centered", n2)) : NULL;
    Tensor *sq = d ? onnx_binary_of(c, NNC_RT_BIN_MUL, d, d, onnx_part(c, "sq", n3)) : NULL;
    Tensor *var = sq ? onnx_reduce_mark(c, NNC_RT_RED_MEAN, sq, mark, 1, onnx_part(c, "bvar", n4)) : NULL;
    Tensor *ve = var ? onnx_binary_of(c, NNC_RT_BIN_ADD, var, onnx_scalar(c, "eps", eps), onnx_part(c, "vareps", n5)) : NULL;
    Tensor *sd = ve ? onnx_unary_of(c, NNC_RT_UN_SQRT, ve, "std") : NULL;
    Tensor *y = sd ? onnx_binary_of(c, NNC_RT_BIN_DIV, d, sd, onnx_part(c, "normed", n6)) : NULL;
    Tensor *s = y ? onnx_per_channel(c, c->in[1], r, "s") : NULL;
    Tensor *b = s ? onnx_per_channel(c, c->in[2], r, "b") : NULL;
    y = b ? onnx_binary_of(c, NNC_RT_BIN_MUL, y, s, onnx_part(c, "scaled", n7)) : NULL;
    y = y ? onnx_binary_of(c, NNC_RT_BIN_ADD, y, b, onnx_out_name(c, 0)) : NULL;
    for (size_t i = 1; y && i < 3 && i < c->n->n_output; i++) {
        if (!*c->n->output[i]) continue;
        char a1[170], a2[170], a3[170];
        long ch = x->dims[1];
        Tensor *bs = onnx_reshaped(c, i == 1 ? mean : var, 1, &ch, onnx_part(c, i == 1 ? "bmean1" : "bvar1", a1));
        Tensor *old = onnx_binary_of(c, NNC_RT_BIN_MUL, c->in[2 + i], onnx_scalar(c, i == 1 ? "mom1" : "mom2", mom),
                                     onnx_part(c, i == 1 ? "oldmean" : "oldvar", a2));
        Tensor *nw = bs ? onnx_binary_of(c, NNC_RT_BIN_MUL, bs, onnx_scalar(c, i == 1 ? "rest1" : "rest2", 1.0f - mom),
                                         onnx_part(c, i == 1 ? "newmean" : "newvar", a3)) : NULL;
        if (!onnx_binary_of(c, NNC_RT_BIN_ADD, old, nw, c->n->output[i])) return NULL;
    }
    return y;
}

/* inference batch norm: y = x * s + t with s = scale/sqrt(var+eps), t = B - mean*s */
Tensor *onnx_batchnorm(Ctx *c) {
    Tensor *x = c->in[0];
    if (c->im->trainable) return batchnorm_layer(c);
    if (x->rank < 2) { onnx_invalid(c->im, "BatchNormalization needs an input (N, C, ...), this one has rank %d", x->rank); return NULL; }
    if (onnx_attr_i(c->n, "training_mode", 0) && c->im->opset >= 14) {
        if (batchnorm_sizes(c)) return NULL;
        return batchnorm_train_mode(c);
    }
    if (onnx_attr_i(c->n, "training_mode", 0) || c->n->n_output > 1) {
        onnx_unsupported(c->im, "BatchNormalization in training mode before opset 14 (its saved statistics)");
        return NULL;
    }
    if (batchnorm_sizes(c)) return NULL;
    float eps = onnx_attr_f(c->n, "epsilon", 1e-5f);
    for (int i = 1; i < 5; i++)
        if (!c->in[i]->data) { onnx_unsupported(c->im, "BatchNormalization statistics computed at run time"); return NULL; }
    long ch = x->dims[1];
    float *sc = malloc((size_t)ch * sizeof *sc), *sh = malloc((size_t)ch * sizeof *sh);
    for (long i = 0; i < ch; i++) {
        sc[i] = c->in[1]->data[i] / sqrtf(c->in[4]->data[i] + eps);
        sh[i] = c->in[2]->data[i] - c->in[3]->data[i] * sc[i];
    }
    long dims[MAX_T];
    dims[0] = ch;
    for (int d = 1; d < x->rank - 1; d++) dims[d] = 1;
    char n1[170], n2[170], n3[170];
    onnx_part(c, "scale", n1);
    onnx_part(c, "shift", n2);
    onnx_part(c, "scaled", n3);
    Tensor *s = onnx_add_constant(c->im, n1, x->rank - 1, dims, sc), *t = onnx_add_constant(c->im, n2, x->rank - 1, dims, sh);
    Tensor *y = onnx_binary_of(c, NNC_RT_BIN_MUL, x, s, n3);
    return y ? onnx_binary_of(c, NNC_RT_BIN_ADD, y, t, onnx_out_name(c, 0)) : NULL;
}

/* per (n, c): (x - mean) / sqrt(var + eps) over the spatial axes, * scale + B */
Tensor *onnx_instancenorm(Ctx *c) {
    Tensor *x = c->in[0];
    if (x->rank < 3) { onnx_unsupported(c->im, "InstanceNormalization of rank below 3"); return NULL; }
    for (int i = 1; i < 3; i++)
        if (onnx_numel(c->in[i]->dims, c->in[i]->rank) != x->dims[1]) {
            onnx_invalid(c->im, "InstanceNormalization's %s has %ld values for %ld channels", i == 1 ? "scale" : "B",
                         onnx_numel(c->in[i]->dims, c->in[i]->rank), x->dims[1]);
            return NULL;
        }
    int mark[MAX_T] = { 0 };
    for (int d = 2; d < x->rank; d++) mark[d] = 1;
    char n1[170], n2[170], n3[170], n4[170], n5[170], n6[170];
    onnx_part(c, "mean", n1);
    onnx_part(c, "centered", n2);
    onnx_part(c, "sq", n3);
    onnx_part(c, "var", n4);
    onnx_part(c, "vareps", n5);
    onnx_part(c, "normed", n6);
    Tensor *mean = onnx_reduce_mark(c, NNC_RT_RED_MEAN, x, mark, 1, n1);
    Tensor *d = mean ? onnx_binary_of(c, NNC_RT_BIN_SUB, x, mean, n2) : NULL;
    Tensor *sq = d ? onnx_binary_of(c, NNC_RT_BIN_MUL, d, d, n3) : NULL;
    Tensor *var = sq ? onnx_reduce_mark(c, NNC_RT_RED_MEAN, sq, mark, 1, n4) : NULL;
    Tensor *ve = var ? onnx_binary_of(c, NNC_RT_BIN_ADD, var, onnx_scalar(c, "eps", onnx_attr_f(c->n, "epsilon", 1e-5f)), n5) : NULL;
    Tensor *sd = ve ? onnx_unary_of(c, NNC_RT_UN_SQRT, ve, "std") : NULL;
    Tensor *y = sd ? onnx_binary_of(c, NNC_RT_BIN_DIV, d, sd, n6) : NULL;
    Tensor *s = y ? onnx_per_channel(c, c->in[1], x->rank, "s") : NULL;
    Tensor *b = s ? onnx_per_channel(c, c->in[2], x->rank, "b") : NULL;
    char n7[170];
    onnx_part(c, "scaled", n7);
    y = b ? onnx_binary_of(c, NNC_RT_BIN_MUL, y, s, n7) : NULL;
    return y ? onnx_binary_of(c, NNC_RT_BIN_ADD, y, b, onnx_out_name(c, 0)) : NULL;
}

/* ---- windows the 2-D kernels cannot run: composed from N-d ops --------------------
 * 3-D (and 1-D, 2-D) windows with dilations, count_include_pad, MaxPool's
 * indices and ConvTranspose's general geometry are built from strided
 * copies, one per kernel position: a pool is the max (or sum) of the K
 * strided views of the padded input, a convolution the sum of K products
 * of a view with the weight's (C, M) slice at that position, and a
 * transposed convolution the sum of K products each scattered (nd_pad
 * with strides) into the full output, then cropped.  Every piece has a
 * gradient, so these paths train; they cost K passes over the output,
 * which is why the 1-D/2-D kernels stay the path wherever they apply. */



/* the geometry of a Conv or pool over n spatial axes (ONNX's rules: auto_pad,
 * ceil_mode); -1 after reporting */
static int win_geometry(Ctx *c, int n, const long *xsp, const long *k, Win *w) {
    long p[2 * MAX_T];
    memset(w, 0, sizeof *w);
    w->n = n;
    for (int i = 0; i < n; i++) { w->in[i] = xsp[i]; w->k[i] = k[i]; w->s[i] = w->d[i] = 1; p[i] = p[n + i] = 0; }
    onnx_attr_ints(c->n, "strides", w->s, n);
    onnx_attr_ints(c->n, "dilations", w->d, n);
    onnx_attr_ints(c->n, "pads", p, 2 * n);
    const Onnx__AttributeProto *ap = onnx_attr(c->n, "auto_pad");
    int ceil_mode = (int)onnx_attr_i(c->n, "ceil_mode", 0);
    for (int i = 0; i < n; i++) {
        long span = w->d[i] * (w->k[i] - 1) + 1, pb = p[i], pe = p[n + i];
        if (ap && ap->s.len && strncmp((const char *)ap->s.data, "NOTSET", ap->s.len)) {
            if (!strncmp((const char *)ap->s.data, "VALID", ap->s.len)) {
                pb = pe = 0;
            } else {
                long outn = (w->in[i] + w->s[i] - 1) / w->s[i], total = (outn - 1) * w->s[i] + span - w->in[i];
                if (total < 0) total = 0;
                int lower = !strncmp((const char *)ap->s.data, "SAME_LOWER", ap->s.len);
                pb = lower ? total - total / 2 : total / 2;
                pe = total - pb;
            }
        }
        long num = w->in[i] + pb + pe - span, o;
        if (num < 0) { onnx_unsupported(c->im, "a window larger than the padded input"); return -1; }
        o = ceil_mode ? (num + w->s[i] - 1) / w->s[i] + 1 : num / w->s[i] + 1;
        if (ceil_mode && (o - 1) * w->s[i] >= w->in[i] + pb) o--;   /* a window that starts in the padding */
        w->o[i] = o;
        w->pb[i] = pb;
        w->pe[i] = pe;
        long need = (o - 1) * w->s[i] + span - (w->in[i] + pb + pe);
        w->ext[i] = need > 0 ? need : 0;
    }
    return 0;
}

/* y (dims) = x read with strides as from offset aoff: a view, copied */
static Tensor *strided_view(Ctx *c, Tensor *x, int rank, const long *dims, const long *as, long aoff, const char *name) {
    if (!x) return NULL;
    Attrs a;
    memset(&a, 0, sizeof a);
    nd_dense(&a.nd, rank, dims);
    for (int d = 0; d < rank; d++) a.nd.as[d] = as[d];
    a.nd.aoff = aoff;
    return onnx_apply(c->im, OP_ND_COPY, &x, 1, &a, name, rank, dims);
}

/* y (dims, filled with `fill`) with x written at yoff with strides ys */
static Tensor *scatter_into(Ctx *c, Tensor *x, int rank, const long *dims, const long *ys, long yoff, float fill,
                            const char *name) {
    if (!x) return NULL;
    Attrs a;
    memset(&a, 0, sizeof a);
    long xs[MAX_T];
    nd_strides(x->rank, x->dims, xs);
    nd_dense(&a.nd, x->rank, x->dims);
    for (int d = 0; d < x->rank; d++) { a.nd.ys[d] = ys[d]; a.nd.as[d] = xs[d]; }
    a.nd.yoff = yoff;
    a.alpha = fill;
    return onnx_apply(c->im, OP_ND_PAD, &x, 1, &a, name, rank, dims);
}

/* (N, P, C) . (C, M) -> (N, P, M), as one 2-D product of N P rows (which
 * autodiff differentiates, and passes/batch.c scales with the batch) */
static Tensor *matmul_nd(Ctx *c, Tensor *x, Tensor *w, const char *name) {
    if (!x || !w) return NULL;
    long n = x->dims[0], P = x->dims[1], C = x->dims[2], M = w->dims[1];
    if (n * P > ONNX_MAX_ELEMS || C > ONNX_MAX_ELEMS || M > ONNX_MAX_ELEMS) { onnx_unsupported(c->im, "a product above 2^31"); return NULL; }
    Attrs at;
    memset(&at, 0, sizeof at);
    nd_dense(&at.nd, 0, &n);
    at.M = (int)(n * P); at.N = (int)M; at.K = (int)C;
    long out[3] = { n, P, M };
    Tensor *in[2] = { x, w };
    return onnx_apply(c->im, OP_ND_MATMUL, in, 2, &at, name, 3, out);
}

/* the multi-index of kernel position kk (row-major over k[0..n)) */
static void kernel_pos(long kk, int n, const long *k, long *ki) {
    for (int i = n - 1; i >= 0; i--) { ki[i] = kk % k[i]; kk /= k[i]; }
}

/* x (N, C, S...) -> padded by pb/pe(+ext) on the spatial axes with fill */
static Tensor *pad_spatial(Ctx *c, Tensor *x, const Win *w, float fill, const char *name) {
    long dims[MAX_T], ys[MAX_T], yoff = 0;
    int any = 0;
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    for (int i = 0; i < w->n; i++) {
        dims[2 + i] = w->in[i] + w->pb[i] + w->pe[i] + w->ext[i];
        any |= dims[2 + i] != w->in[i];
    }
    if (!any) return x;
    if (onnx_checked_numel(c->im, dims, x->rank, ONNX_MAX_ELEMS, "the padded input") < 0) return NULL;
    nd_strides(x->rank, dims, ys);
    for (int i = 0; i < w->n; i++) yoff += w->pb[i] * ys[2 + i];
    return scatter_into(c, x, x->rank, dims, ys, yoff, fill, name);
}

/* MaxPool / AveragePool over any number of spatial axes, with dilations,
 * count_include_pad and MaxPool's indices (storage_order 0 or 1) */
static Tensor *pool_nd(Ctx *c, int avg, const long *k) {
    Tensor *x = c->in[0];
    int r = x->rank, n = r - 2;
    Win w;
    if (win_geometry(c, n, x->dims + 2, k, &w)) return NULL;
    int cip = avg && onnx_attr_i(c->n, "count_include_pad", 0);
    int want_idx = !avg && c->n->n_output > 1 && *c->n->output[1];
    int col_major = (int)onnx_attr_i(c->n, "storage_order", 0);
    long K = 1;
    for (int i = 0; i < n; i++) {
        K *= w.k[i];
        if (cip && w.ext[i]) { onnx_unsupported(c->im, "count_include_pad with ceil_mode windows past the padding"); return NULL; }
    }
    if (K > 4096) { onnx_unsupported(c->im, "a composed pool window above 4096 positions"); return NULL; }
    char nm[170], part[64];
    Tensor *xp = pad_spatial(c, x, &w, avg ? 0.0f : -INFINITY, onnx_part(c, "padded", nm));
    if (!xp) return NULL;
    long ps[MAX_T], ydims[MAX_T], as[MAX_T], P = 1, S = 1;
    nd_strides(r, xp->dims, ps);
    ydims[0] = x->dims[0];
    ydims[1] = x->dims[1];
    for (int i = 0; i < n; i++) { ydims[2 + i] = w.o[i]; P *= w.o[i]; S *= w.in[i]; }
    as[0] = ps[0];
    as[1] = ps[1];
    for (int i = 0; i < n; i++) as[2 + i] = w.s[i] * ps[2 + i];
    Tensor *acc = NULL, *idx = NULL;
    long ki[MAX_T], oi[MAX_T];
    for (long kk = 0; kk < K; kk++) {
        kernel_pos(kk, n, w.k, ki);
        long off = 0;
        for (int i = 0; i < n; i++) off += ki[i] * w.d[i] * ps[2 + i];
        snprintf(part, sizeof part, "win%ld", kk);
        Tensor *v = strided_view(c, xp, r, ydims, as, off, onnx_part(c, part, nm));
        if (!v) return NULL;
        if (want_idx) {     /* the flat spatial index each output reads at this position, -1 in the padding */
            float *ix = malloc((size_t)P * sizeof *ix);
            for (long p = 0; p < P; p++) {
                kernel_pos(p, n, w.o, oi);
                long flat = 0, inside = 1, mul = 1;
                for (int i = 0; i < n; i++) {
                    long pos = oi[i] * w.s[i] + ki[i] * w.d[i] - w.pb[i];
                    inside &= pos >= 0 && pos < w.in[i];
                    if (col_major) { flat += pos * mul; mul *= w.in[i]; }
                    else flat = flat * w.in[i] + pos;
                }
                ix[p] = inside ? (float)flat : -1.0f;
            }
            snprintf(part, sizeof part, "idx%ld", kk);
            Tensor *ic = onnx_add_constant(c->im, onnx_part(c, part, nm), n, w.o, ix);
            if (!acc) {
                idx = ic;
            } else {    /* idx += (v > acc) * (ic - idx): a strictly larger value moves the index */
                char n2[170];
                snprintf(part, sizeof part, "gt%ld", kk);
                Tensor *gt = onnx_binary_of(c, NNC_RT_BIN_GREATER, v, acc, onnx_part(c, part, nm));
                snprintf(part, sizeof part, "dif%ld", kk);
                Tensor *df = onnx_binary_of(c, NNC_RT_BIN_SUB, ic, idx, onnx_part(c, part, n2));
                snprintf(part, sizeof part, "mov%ld", kk);
                Tensor *mv = onnx_binary_of(c, NNC_RT_BIN_MUL, gt, df, onnx_part(c, part, nm));
                snprintf(part, sizeof part, "ix%ld", kk);
                idx = onnx_binary_of(c, NNC_RT_BIN_ADD, idx, mv, onnx_part(c, part, n2));
                if (!idx) return NULL;
            }
        }
        if (!acc) { acc = v; continue; }
        snprintf(part, sizeof part, "acc%ld", kk);
        int last = kk == K - 1 && !avg;
        acc = onnx_binary_of(c, avg ? NNC_RT_BIN_ADD : NNC_RT_BIN_MAX, acc, v, last ? onnx_out_name(c, 0) : onnx_part(c, part, nm));
        if (!acc) return NULL;
    }
    if (!avg && K == 1) {
        acc = onnx_unary_of(c, NNC_RT_UN_IDENTITY, acc, "one");
        acc = acc ? onnx_reshaped(c, acc, r, acc->dims, onnx_out_name(c, 0)) : NULL;
    }
    if (avg) {      /* the sum over each window's cells that count, as a mean */
        float *inv = malloc((size_t)P * sizeof *inv);
        for (long p = 0; p < P; p++) {
            kernel_pos(p, n, w.o, oi);
            long cnt = 1;
            for (int i = 0; i < n; i++) {
                long lo = cip ? -w.pb[i] : 0, hi = cip ? w.in[i] + w.pe[i] : w.in[i], m = 0;
                for (long j = 0; j < w.k[i]; j++) {
                    long pos = oi[i] * w.s[i] + j * w.d[i] - w.pb[i];
                    m += pos >= lo && pos < hi;
                }
                cnt *= m;
            }
            inv[p] = cnt ? 1.0f / (float)cnt : 0.0f;
        }
        Tensor *ic = onnx_add_constant(c->im, onnx_part(c, "inv_count", nm), n, w.o, inv);
        acc = onnx_binary_of(c, NNC_RT_BIN_MUL, acc, ic, onnx_out_name(c, 0));
    }
    if (want_idx && acc && idx) {   /* plus each (n, c) plane's start */
        long od[MAX_T];
        od[0] = x->dims[0];
        od[1] = x->dims[1];
        for (int i = 0; i < n; i++) od[2 + i] = 1;
        float *base = malloc((size_t)(od[0] * od[1]) * sizeof *base);
        for (long j = 0; j < od[0] * od[1]; j++) base[j] = (float)(j * S);
        if ((double)od[0] * od[1] * S > 16777216.0) { free(base); onnx_unsupported(c->im, "MaxPool indices above 2^24"); return NULL; }
        Tensor *bt = onnx_add_constant(c->im, onnx_part(c, "plane", nm), r, od, base);
        if (!onnx_binary_of(c, NNC_RT_BIN_ADD, idx, bt, c->n->output[1])) return NULL;
    }
    return acc;
}

/* a Conv of any spatial rank, composed: per group, the sum over kernel
 * positions of (N, P, C/g) views of the padded input times the weight's
 * (C/g, M/g) slice there, each group's result written into its channels */
static Tensor *conv_nd(Ctx *c, Tensor *x, Tensor *wt, Tensor *b, long group) {
    int r = x->rank, n = r - 2;
    Win w;
    if (win_geometry(c, n, x->dims + 2, wt->dims + 2, &w)) return NULL;
    long K = 1, P = 1, M = wt->dims[0], Cg = wt->dims[1], Mg = M / group;
    for (int i = 0; i < n; i++) { K *= w.k[i]; P *= w.o[i]; }
    if (K * group > 4096) { onnx_unsupported(c->im, "a composed convolution of more than 4096 window positions times groups"); return NULL; }
    char nm[170], part[64];
    Tensor *xp = pad_spatial(c, x, &w, 0.0f, onnx_part(c, "padded", nm));
    if (!xp) return NULL;
    long ps[MAX_T], vd[MAX_T], as[MAX_T], ki[MAX_T], ws[MAX_T];
    nd_strides(r, xp->dims, ps);
    nd_strides(r, wt->dims, ws);
    vd[0] = x->dims[0];
    as[0] = ps[0];
    for (int i = 0; i < n; i++) { vd[1 + i] = w.o[i]; as[1 + i] = w.s[i] * ps[2 + i]; }
    vd[n + 1] = Cg;
    as[n + 1] = ps[1];
    long d3[3] = { x->dims[0], P, Cg }, all[3] = { x->dims[0], P, M }, gs[3] = { P * M, M, 1 };
    Tensor *out = NULL;
    for (long gi = 0; gi < group; gi++) {
        Tensor *acc = NULL;
        for (long kk = 0; kk < K; kk++) {
            kernel_pos(kk, n, w.k, ki);
            long off = gi * Cg * ps[1], woff = gi * Mg * ws[0];
            for (int i = 0; i < n; i++) { off += ki[i] * w.d[i] * ps[2 + i]; woff += ki[i] * ws[2 + i]; }
            snprintf(part, sizeof part, "g%ldwin%ld", gi, kk);
            Tensor *v = strided_view(c, xp, r, vd, as, off, onnx_part(c, part, nm));
            snprintf(part, sizeof part, "g%ldwin%ld_3", gi, kk);
            v = onnx_reshaped(c, v, 3, d3, onnx_part(c, part, nm));
            long wd[2] = { Cg, Mg }, was[2] = { ws[1], ws[0] };     /* w[gi Mg + m, c, k] as (c, m) */
            snprintf(part, sizeof part, "g%ldw%ld", gi, kk);
            Tensor *wk = strided_view(c, wt, 2, wd, was, woff, onnx_part(c, part, nm));
            snprintf(part, sizeof part, "g%ldprod%ld", gi, kk);
            Tensor *pr = matmul_nd(c, v, wk, onnx_part(c, part, nm));
            if (!pr) return NULL;
            snprintf(part, sizeof part, "g%ldacc%ld", gi, kk);
            acc = acc ? onnx_binary_of(c, NNC_RT_BIN_ADD, acc, pr, onnx_part(c, part, nm)) : pr;
            if (!acc) return NULL;
        }
        if (group > 1) {    /* into channels gi Mg .. (gi + 1) Mg of the whole */
            snprintf(part, sizeof part, "g%ldplaced", gi);
            acc = scatter_into(c, acc, 3, all, gs, gi * Mg, 0.0f, onnx_part(c, part, nm));
            snprintf(part, sizeof part, "g%ldsum", gi);
            if (out && acc) acc = onnx_binary_of(c, NNC_RT_BIN_ADD, out, acc, onnx_part(c, part, nm));
        }
        out = acc;
        if (!out) return NULL;
    }
    if (b) {
        long bm = M;
        Tensor *bv = onnx_reshaped(c, b, 1, &bm, onnx_part(c, "bias", nm));
        out = onnx_binary_of(c, NNC_RT_BIN_ADD, out, bv, onnx_part(c, "biased", nm));
        if (!out) return NULL;
    }
    long yd[MAX_T], ys[MAX_T], os[MAX_T];
    nd_strides(n, w.o, os);
    yd[0] = x->dims[0];
    yd[1] = M;
    ys[0] = P * M;
    ys[1] = 1;
    for (int i = 0; i < n; i++) { yd[2 + i] = w.o[i]; ys[2 + i] = os[i] * M; }
    return strided_view(c, out, r, yd, ys, 0, onnx_out_name(c, 0));
}

/* ConvTranspose's geometry: w->pb / w->pe the pads cropped from the full
 * output (pe < 0: zeros past it, as output_shape may ask), w->o the
 * output's extents, full[] the full output's; -1 after reporting */
static int convt_geometry(Ctx *c, int n, const long *xsp, const long *k, Win *w, long *full) {
    long p[2 * MAX_T], op[MAX_T], os[MAX_T + 2];
    memset(w, 0, sizeof *w);
    w->n = n;
    for (int i = 0; i < n; i++) { w->in[i] = xsp[i]; w->k[i] = k[i]; w->s[i] = w->d[i] = 1; p[i] = p[n + i] = 0; op[i] = 0; }
    onnx_attr_ints(c->n, "strides", w->s, n);
    onnx_attr_ints(c->n, "dilations", w->d, n);
    onnx_attr_ints(c->n, "pads", p, 2 * n);
    int nop = onnx_attr_ints(c->n, "output_padding", op, n);
    int nos = onnx_attr_ints(c->n, "output_shape", os, n + 2);
    if ((nop >= 0 && nop != n) || (nos >= 0 && nos != n && nos != n + 2)) {
        onnx_invalid(c->im, "output_padding or output_shape has the wrong number of entries for %d spatial axes", n);
        return -1;
    }
    const long *shape = nos == n + 2 ? os + 2 : os;
    const Onnx__AttributeProto *ap = onnx_attr(c->n, "auto_pad");
    int same = ap && ap->s.len && (onnx_attr_is(c->n, "auto_pad", "SAME_UPPER") || onnx_attr_is(c->n, "auto_pad", "SAME_LOWER"));
    int upper = same && onnx_attr_is(c->n, "auto_pad", "SAME_UPPER");
    int valid = ap && ap->s.len && onnx_attr_is(c->n, "auto_pad", "VALID");
    for (int i = 0; i < n; i++) {
        if (op[i] < 0 || op[i] > (1L << 24)) {
            onnx_unsupported(c->im, "output_padding out of range");
            return -1;
        }
        full[i] = w->s[i] * (w->in[i] - 1) + op[i] + w->d[i] * (w->k[i] - 1) + 1;
        long pb = valid ? 0 : p[i], pe = valid ? 0 : p[n + i];
        if (nos >= 0 || same) {
            long want = nos >= 0 ? shape[i] : w->in[i] * w->s[i], total = full[i] - want;
            if (want < 1 || want > (1L << 30)) { onnx_unsupported(c->im, "an output_shape out of range"); return -1; }
            if (total < 0) {
                if (nos < 0) { onnx_unsupported(c->im, "auto_pad SAME with a kernel smaller than the stride"); return -1; }
                pb = 0;
                pe = total;     /* the output extends past the full result: zeros at the end */
            } else if (upper) {
                pb = total / 2;
                pe = total - pb;
            } else {
                if (!same && total % 2) {   /* ONNX's versions split an odd remainder differently */
                    onnx_unsupported(c->im, "output_shape leaving an odd padding to split");
                    return -1;
                }
                pe = total / 2;
                pb = total - pe;
            }
        }
        w->pb[i] = pb;
        w->pe[i] = pe;
        w->o[i] = full[i] - pb - pe;
        if (w->o[i] <= 0) { onnx_unsupported(c->im, "an empty output"); return -1; }
    }
    return 0;
}

/* ConvTranspose of any spatial rank, group 1, composed: each kernel
 * position's product of the input (N, P, C_in) and the weight's slice
 * (C_in, M) scattered with the stride into the full output, summed, cropped */
static Tensor *conv_t_nd(Ctx *c, Tensor *x, Tensor *wt, Tensor *b, const Win *w, const long *full, long group) {
    int r = x->rank, n = r - 2;
    long K = 1, P = 1, Cg = x->dims[1] / group, Mg = wt->dims[1], M = Mg * group;
    for (int i = 0; i < n; i++) { K *= w->k[i]; P *= w->in[i]; }
    if (K * group > 4096) { onnx_unsupported(c->im, "a composed convolution of more than 4096 window positions times groups"); return NULL; }
    char nm[170], part[64];
    long xs[MAX_T], vd[MAX_T], as[MAX_T], fd[MAX_T], fs[MAX_T], ys[MAX_T], ki[MAX_T], ws[MAX_T];
    nd_strides(r, x->dims, xs);
    nd_strides(r, wt->dims, ws);
    vd[0] = x->dims[0];
    as[0] = xs[0];
    for (int i = 0; i < n; i++) { vd[1 + i] = w->in[i]; as[1 + i] = xs[2 + i]; }
    vd[n + 1] = Cg;
    as[n + 1] = xs[1];
    long d3[3] = { x->dims[0], P, Cg };
    fd[0] = x->dims[0];
    for (int i = 0; i < n; i++) fd[1 + i] = full[i] + (w->pe[i] < 0 ? -w->pe[i] : 0);
    fd[n + 1] = M;
    if (onnx_checked_numel(c->im, fd, r, ONNX_MAX_ELEMS, "the full output") < 0) return NULL;
    nd_strides(r, fd, fs);
    ys[0] = fs[0];
    for (int i = 0; i < n; i++) ys[1 + i] = w->s[i] * fs[1 + i];
    ys[n + 1] = 1;
    long zd[MAX_T];
    memcpy(zd, vd, sizeof zd);
    zd[n + 1] = Mg;
    Tensor *acc = NULL;
    for (long gi = 0; gi < group; gi++) {
        snprintf(part, sizeof part, "g%ldnlc", gi);
        Tensor *xr = strided_view(c, x, r, vd, as, gi * Cg * xs[1], onnx_part(c, part, nm));
        snprintf(part, sizeof part, "g%ldnlc3", gi);
        xr = onnx_reshaped(c, xr, 3, d3, onnx_part(c, part, nm));
        if (!xr) return NULL;
        for (long kk = 0; kk < K; kk++) {
            kernel_pos(kk, n, w->k, ki);
            long off = gi * Mg, woff = gi * Cg * ws[0];
            for (int i = 0; i < n; i++) { off += ki[i] * w->d[i] * fs[1 + i]; woff += ki[i] * ws[2 + i]; }
            long wd[2] = { Cg, Mg }, was[2] = { ws[0], ws[1] };     /* w[gi Cg + c, m, k] as (c, m) */
            snprintf(part, sizeof part, "g%ldw%ld", gi, kk);
            Tensor *wk = strided_view(c, wt, 2, wd, was, woff, onnx_part(c, part, nm));
            snprintf(part, sizeof part, "g%ldprod%ld", gi, kk);
            Tensor *pr = matmul_nd(c, xr, wk, onnx_part(c, part, nm));
            snprintf(part, sizeof part, "g%ldprodr%ld", gi, kk);
            pr = onnx_reshaped(c, pr, r, zd, onnx_part(c, part, nm));
            snprintf(part, sizeof part, "g%ldplaced%ld", gi, kk);
            Tensor *pl = scatter_into(c, pr, r, fd, ys, off, 0.0f, onnx_part(c, part, nm));
            if (!pl) return NULL;
            snprintf(part, sizeof part, "g%ldacc%ld", gi, kk);
            acc = acc ? onnx_binary_of(c, NNC_RT_BIN_ADD, acc, pl, onnx_part(c, part, nm)) : pl;
            if (!acc) return NULL;
        }
    }
    long yd[MAX_T], yas[MAX_T], aoff = 0;
    yd[0] = x->dims[0];
    yd[1] = M;
    yas[0] = fs[0];
    yas[1] = 1;
    for (int i = 0; i < n; i++) { yd[2 + i] = w->o[i]; yas[2 + i] = fs[1 + i]; aoff += w->pb[i] * fs[1 + i]; }
    Tensor *y = strided_view(c, acc, r, yd, yas, aoff, b ? onnx_part(c, "nobias", nm) : onnx_out_name(c, 0));
    if (!b || !y) return y;
    Tensor *bc = onnx_per_channel(c, b, r, "bias");
    return bc ? onnx_binary_of(c, NNC_RT_BIN_ADD, y, bc, onnx_out_name(c, 0)) : NULL;
}

/* ---- LRN, MeanVarianceNormalization, MaxUnpool ------------------------------------ */

/* y = x / (bias + alpha / size * sum of x^2 over the channels c - (size-1)/2 ..
 * c + ceil((size-1)/2))^beta: the squares padded with zeros on the channel
 * axis and summed over `size` shifted views */
Tensor *onnx_lrn(Ctx *c) {
    Tensor *x = c->in[0];
    if (x->rank < 3) { onnx_invalid(c->im, "LRN needs an input (N, C, D1, ...), this one has rank %d", x->rank); return NULL; }
    if (!onnx_attr(c->n, "size")) { onnx_invalid(c->im, "LRN needs its size attribute"); return NULL; }
    long size = onnx_attr_i(c->n, "size", 1);
    if (size < 1) { onnx_invalid(c->im, "LRN's size is %ld; it must be at least 1", size); return NULL; }
    if (size > 4096) { onnx_unsupported(c->im, "LRN of size above 4096"); return NULL; }
    float alpha = onnx_attr_f(c->n, "alpha", 1e-4f), beta = onnx_attr_f(c->n, "beta", 0.75f), bias = onnx_attr_f(c->n, "bias", 1.0f);
    int r = x->rank;
    long lo = (size - 1) / 2, hi = size - 1 - lo, pd[MAX_T], ps[MAX_T];
    memcpy(pd, x->dims, sizeof pd);
    pd[1] += lo + hi;
    if (onnx_checked_numel(c->im, pd, r, ONNX_MAX_ELEMS, "LRN's padded squares") < 0) return NULL;
    nd_strides(r, pd, ps);
    char nm[170], part[64];
    Tensor *sq = onnx_binary_of(c, NNC_RT_BIN_MUL, x, x, onnx_part(c, "sq", nm));
    Tensor *sp = sq && size > 1 ? scatter_into(c, sq, r, pd, ps, lo * ps[1], 0.0f, onnx_part(c, "sqpad", nm)) : sq;
    Tensor *acc = NULL;
    for (long j = 0; sp && j < size; j++) {
        snprintf(part, sizeof part, "shift%ld", j);
        Tensor *v = size > 1 ? strided_view(c, sp, r, x->dims, ps, j * ps[1], onnx_part(c, part, nm)) : sp;
        snprintf(part, sizeof part, "sum%ld", j);
        acc = acc ? onnx_binary_of(c, NNC_RT_BIN_ADD, acc, v, onnx_part(c, part, nm)) : v;
    }
    if (!acc) return NULL;
    Tensor *t = onnx_binary_of(c, NNC_RT_BIN_MUL, acc, onnx_scalar(c, "scale", alpha / (float)size), onnx_part(c, "scaled", nm));
    t = t ? onnx_binary_of(c, NNC_RT_BIN_ADD, t, onnx_scalar(c, "bias", bias), onnx_part(c, "biased", nm)) : NULL;
    t = t ? onnx_binary_of(c, NNC_RT_BIN_POW, t, onnx_scalar(c, "beta", beta), onnx_part(c, "denom", nm)) : NULL;
    return t ? onnx_binary_of(c, NNC_RT_BIN_DIV, x, t, onnx_out_name(c, 0)) : NULL;
}

/* ONNX's function body: (X - E[X]) / (sqrt(E[X^2] - E[X]^2) + 1e-9) over axes (default 0, 2, 3) */
Tensor *onnx_mvn(Ctx *c) {
    Tensor *x = c->in[0];
    long axes[MAX_T] = { 0, 2, 3 };
    int k = onnx_attr_ints(c->n, "axes", axes, MAX_T);
    if (k < 0) {
        k = 3;
        if (x->rank < 4) { onnx_invalid(c->im, "MeanVarianceNormalization's default axes (0, 2, 3) need rank 4, the input has %d", x->rank); return NULL; }
    }
    if (k > x->rank) { onnx_invalid(c->im, "MeanVarianceNormalization has %d axes for rank %d", k, x->rank); return NULL; }
    int mark[MAX_T];
    if (onnx_mark_axes(c, axes, k, x->rank, mark, "axes")) return NULL;
    char n1[170], n2[170], n3[170], n4[170], n5[170], n6[170], n7[170], n8[170];
    Tensor *m = onnx_reduce_mark(c, NNC_RT_RED_MEAN, x, mark, 1, onnx_part(c, "mean", n1));
    Tensor *m2 = m ? onnx_binary_of(c, NNC_RT_BIN_MUL, m, m, onnx_part(c, "mean_sq", n2)) : NULL;
    Tensor *x2 = m2 ? onnx_binary_of(c, NNC_RT_BIN_MUL, x, x, onnx_part(c, "x_sq", n3)) : NULL;
    Tensor *ex2 = x2 ? onnx_reduce_mark(c, NNC_RT_RED_MEAN, x2, mark, 1, onnx_part(c, "e_x_sq", n4)) : NULL;
    Tensor *var = ex2 ? onnx_binary_of(c, NNC_RT_BIN_SUB, ex2, m2, onnx_part(c, "var", n5)) : NULL;
    Tensor *sd = var ? onnx_unary_of(c, NNC_RT_UN_SQRT, var, "std") : NULL;
    Tensor *sde = sd ? onnx_binary_of(c, NNC_RT_BIN_ADD, sd, onnx_scalar(c, "eps", 1e-9f), onnx_part(c, "std_eps", n6)) : NULL;
    Tensor *d = sde ? onnx_binary_of(c, NNC_RT_BIN_SUB, x, m, onnx_part(c, "centered", n7)) : NULL;
    (void)n8;
    return d ? onnx_binary_of(c, NNC_RT_BIN_DIV, d, sde, onnx_out_name(c, 0)) : NULL;
}

/* MaxUnpool with constant indices: y[I[j]] = X[j], zeros elsewhere, over the
 * default output shape ((in - 1) stride + kernel - pads), then placed at the
 * start of a larger output_shape.  Built as a gather from X with a zero
 * appended, through the inverse of I (computed here). */
Tensor *onnx_maxunpool(Ctx *c) {
    Tensor *x = c->in[0], *ind = c->in[1], *osh = c->nin > 2 ? c->in[2] : NULL;
    int r = x->rank, n = r - 2;
    if (r < 3) { onnx_invalid(c->im, "MaxUnpool needs an input (N, C, spatial...), this one has rank %d", r); return NULL; }
    if (ind->rank != r || memcmp(ind->dims, x->dims, (size_t)r * sizeof *x->dims)) {
        onnx_invalid(c->im, "MaxUnpool's indices must have the shape of its input");
        return NULL;
    }
    long k[MAX_T], s[MAX_T], p[2 * MAX_T], dd[MAX_T], od[MAX_T];
    if (onnx_attr_ints(c->n, "kernel_shape", k, MAX_T) != n) { onnx_invalid(c->im, "MaxUnpool needs kernel_shape, one entry per spatial axis"); return NULL; }
    if (window_ok(c, n, NULL)) return NULL;
    for (int i = 0; i < n; i++) { s[i] = 1; p[i] = p[n + i] = 0; }
    onnx_attr_ints(c->n, "strides", s, n);
    onnx_attr_ints(c->n, "pads", p, 2 * n);
    dd[0] = x->dims[0];
    dd[1] = x->dims[1];
    for (int i = 0; i < n; i++) {
        dd[2 + i] = (x->dims[2 + i] - 1) * s[i] + k[i] - p[i] - p[n + i];
        if (dd[2 + i] < 1) { onnx_unsupported(c->im, "an empty output"); return NULL; }
    }
    memcpy(od, dd, sizeof od);
    if (osh) {
        long v[MAX_T];
        if (!osh->data) { onnx_unsupported(c->im, "MaxUnpool's output_shape computed at run time"); return NULL; }
        int m = onnx_const_ints(c->im, osh, v, MAX_T, "output_shape");
        if (m < 0) return NULL;
        if (m != r) { onnx_invalid(c->im, "MaxUnpool's output_shape has %d entries for rank %d", m, r); return NULL; }
        for (int i = 0; i < r; i++)
            if (v[i] < dd[i] || (i < 2 && v[i] != dd[i])) {
                onnx_unsupported(c->im, "MaxUnpool's output_shape smaller than its default, or with other N or C");
                return NULL;
            }
        memcpy(od, v, sizeof od);
    }
    if (!ind->data) { onnx_unsupported(c->im, "MaxUnpool's indices computed at run time"); return NULL; }
    long nx = onnx_numel(x->dims, r), ny = onnx_checked_numel(c->im, od, r, ONNX_MAX_CONST, "MaxUnpool's output");
    if (ny < 0) return NULL;
    if (nx >= (1L << 24)) { onnx_unsupported(c->im, "MaxUnpool of more than 2^24 values"); return NULL; }
    long nd_ = onnx_numel(dd, r), dstr[MAX_T], ostr[MAX_T];
    nd_strides(r, dd, dstr);
    nd_strides(r, od, ostr);
    float *inv = malloc((size_t)(ny ? ny : 1) * sizeof *inv);
    if (!inv) abort();
    for (long j = 0; j < ny; j++) inv[j] = (float)nx;     /* the appended zero */
    for (long j = 0; j < nx; j++) {
        long f = onnx_to_long(ind->data[j]);
        if (ind->data[j] != ind->data[j] || f < 0 || f >= nd_) {
            free(inv);
            onnx_invalid(c->im, "MaxUnpool's index %ld is outside the output's %ld values", f, nd_);
            return NULL;
        }
        long o = 0;     /* the same cell in the (possibly larger) output */
        for (int d = 0; d < r; d++) { o += f / dstr[d] * ostr[d]; f %= dstr[d]; }
        if (inv[o] != (float)nx) { free(inv); onnx_unsupported(c->im, "MaxUnpool with repeated indices"); return NULL; }
        inv[o] = (float)j;
    }
    char nm[170];
    long flat = nx, ext = nx + 1, ys = 1;
    Tensor *xf = onnx_reshaped(c, x, 1, &flat, onnx_part(c, "flat", nm));
    Tensor *xz = scatter_into(c, xf, 1, &ext, &ys, 0, 0.0f, onnx_part(c, "with_zero", nm));
    Tensor *ic = onnx_add_constant(c->im, onnx_part(c, "inverse", nm), 1, &ny, inv);
    if (!xz) return NULL;
    Attrs a;
    memset(&a, 0, sizeof a);
    onnx_around(xz, 0, &a);
    a.ny = ny;
    Tensor *in[2] = { xz, ic };
    Tensor *yf = onnx_apply(c->im, OP_ND_GATHER, in, 2, &a, onnx_part(c, "yflat", nm), 1, &ny);
    return yf ? onnx_reshaped(c, yf, r, od, onnx_out_name(c, 0)) : NULL;
}
