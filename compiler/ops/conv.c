/* conv.c — convolution: the conv2d, depthwise_conv2d, conv1d,
 * conv2d_transpose and separable_conv2d layers (channels-last, Keras'
 * kernel layouts, int-or-pair sizes), their gradient nodes, and the
 * imported Conv and ConvTranspose (nd_conv, nd_conv_t), which the importer
 * builds with attr.conv already derived.  Every one is a call into
 * runtime/conv.c. */
#include <limits.h>
#include <stdlib.h>
#include "ops/rules.h"

enum { CONV_2D, CONV_DEPTHWISE, CONV_1D };
static int conv_kind(int op) { return op == OP_CONV1D ? CONV_1D : op == OP_DEPTHWISE_CONV2D ? CONV_DEPTHWISE : CONV_2D; }

/* 2-D layers take Keras' int-or-pair forms (kernel_size = (3, 5)); conv1d
 * takes ints, and padding = causal */
#define CONV_COMMON(T) \
    { "strides", T, offsetof(Attrs, strides), "1" }, \
    { "padding", AT_PADDING, offsetof(Attrs, padding), "valid" }
#define CONV_TAIL \
    { "activation", AT_ACT, offsetof(Attrs, act), "linear" }, \
    { "use_bias", AT_BOOL, offsetof(Attrs, use_bias), "true" }, \
    { "kernel_initializer", AT_INIT, offsetof(Attrs, kernel_init), "glorot_uniform" }, \
    { "bias_initializer", AT_INIT, offsetof(Attrs, bias_init), "zeros" }, \
    { "kernel_regularizer", AT_REG, offsetof(Attrs, kernel_l1), "none" }, \
    { "bias_regularizer", AT_REG, offsetof(Attrs, bias_l1), "none" }

static const AttrDef conv_attrs[] = {
    { "filters", AT_INT, offsetof(Attrs, filters), NULL },
    { "kernel_size", AT_PAIR, offsetof(Attrs, kernel_size), NULL },
    CONV_COMMON(AT_PAIR),
    { "dilation_rate", AT_PAIR, offsetof(Attrs, dilation), "1" },
    { "groups", AT_INT, offsetof(Attrs, groups), "1" },
    CONV_TAIL,
};
static const AttrDef conv1d_attrs[] = {
    { "filters", AT_INT, offsetof(Attrs, filters), NULL },
    { "kernel_size", AT_INT, offsetof(Attrs, kernel_size), NULL },
    CONV_COMMON(AT_INT),
    { "dilation_rate", AT_INT, offsetof(Attrs, dilation), "1" },
    { "groups", AT_INT, offsetof(Attrs, groups), "1" },
    CONV_TAIL,
};
static const AttrDef depthwise_attrs[] = {
    { "kernel_size", AT_PAIR, offsetof(Attrs, kernel_size), NULL },
    CONV_COMMON(AT_PAIR),
    { "depth_multiplier", AT_INT, offsetof(Attrs, depth_multiplier), "1" },
    { "dilation_rate", AT_PAIR, offsetof(Attrs, dilation), "1" },
    CONV_TAIL,
};
/* Keras' Conv2DTranspose, in its order (data_format left out: channels-last) */
static const AttrDef transpose_attrs[] = {
    { "filters", AT_INT, offsetof(Attrs, filters), NULL },
    { "kernel_size", AT_PAIR, offsetof(Attrs, kernel_size), NULL },
    CONV_COMMON(AT_PAIR),
    { "output_padding", AT_PAIR0, offsetof(Attrs, out_pad), "none" },
    { "dilation_rate", AT_PAIR, offsetof(Attrs, dilation), "1" },
    CONV_TAIL,
};

/* the scratch's floats, NNC_RT_CONV2D_SCRATCH (the im2col matrix, or the
 * Winograd kernel's room where that is more); past INT_MAX (a huge kernel
 * with padding = same) saturated there, for shape_check_size to refuse */
static int scratch_floats(const nnc_rt_conv2d *p) {
    double s = (double)p->oh * p->ow * p->kh * p->kw * (p->c / p->groups);
    if (s > INT_MAX) return INT_MAX;
    s = s > (double)NNC_RT_CONV2D_WINOGRAD_ROOM(p) ? s : (double)NNC_RT_CONV2D_WINOGRAD_ROOM(p);
    return s > INT_MAX ? INT_MAX : (int)s;
}

static int conv_shape(Graph *g, int node) {
    Node *n = &g->nodes[node];
    int kind = conv_kind(n->op), one_d = kind == CONV_1D;
    if (op_want_rank(g, node, one_d ? 2 : 3, one_d ? "(n, steps, channels)" : "(n, height, width, channels)",
                  one_d ? "" : "; images are channels-last, e.g. 'input x: f32[28, 28, 1]'"))
        return -1;
    Value *x = op_in(g, node, 0);
    nnc_rt_conv2d p;
    memset(&p, 0, sizeof p);
    if (n->attr.padding == PAD_CAUSAL && !one_d) {
        diag_error(n->loc, "%s: padding = causal is for conv1d; use valid or same", op_name(n->op));
        return -1;
    }
    const Attrs *a = &n->attr;
    p.h = one_d ? 1 : x->dims[0];
    p.w = x->dims[x->rank - 2];
    p.c = x->dims[x->rank - 1];
    p.kh = one_d ? 1 : a->kernel_size[0];
    p.kw = a->kernel_size[!one_d];
    p.sh = one_d ? 1 : a->strides[0];
    p.sw = a->strides[!one_d];
    p.dh = one_d ? 1 : a->dilation[0];
    p.dw = a->dilation[!one_d];
    p.groups = kind == CONV_DEPTHWISE ? p.c : n->attr.groups;
    p.oc = kind == CONV_DEPTHWISE ? p.c * n->attr.depth_multiplier : n->attr.filters;
    if (p.c % p.groups || p.oc % p.groups) {
        diag_error(n->loc, "%s: %s (%d) is not divisible by groups (%d)", op_name(n->op),
                   p.c % p.groups ? "input channels" : "filters", p.c % p.groups ? p.c : p.oc, p.groups);
        return -1;
    }
    if (op_window(p.h, p.kh, p.sh, p.dh, n->attr.padding, &p.oh, &p.pt) ||
        op_window(p.w, p.kw, p.sw, p.dw, n->attr.padding, &p.ow, &p.pl)) {
        char buf[96];
        diag_error(n->loc, "%s: the %dx%d kernel%s is larger than the input %s; "
                   "use padding = same or a smaller kernel", op_name(n->op), p.kh, p.kw,
                   p.dh > 1 || p.dw > 1 ? " (dilated)" : "", ir_shape_str(x, buf, sizeof buf));
        return -1;
    }
    n->attr.conv = p;
    int dims[3] = { p.oh, p.ow, p.oc };
    op_make_out(g, node, 1, one_d ? 2 : 3, one_d ? dims + 1 : dims);
    int scratch = scratch_floats(&p);
    op_extra_out(g, node, 1, "scratch", 0, 1, &scratch);
    return 0;
}

static void conv_params(Graph *g, int node) {
    Node *n = &g->nodes[node];
    nnc_rt_conv2d p = n->attr.conv;
    int kind = conv_kind(n->op), cg = p.c / p.groups;
    Attrs a = n->attr;
    int kd[4] = { p.kh, p.kw, cg, p.oc }, rank = 4, *dims = kd;
    if (kind == CONV_1D) { dims = kd + 1; rank = 3; }
    if (kind == CONV_DEPTHWISE) { kd[2] = p.c; kd[3] = a.depth_multiplier; }
    /* Keras' fans: receptive field times the kernel's last two axes */
    int field = p.kh * p.kw;
    op_new_param(g, node, "kernel", rank, dims, a.kernel_init, field * kd[2], field * kd[3],
              a.kernel_l1, a.kernel_l2);
    if (a.use_bias) op_new_param(g, node, "bias", 1, &p.oc, a.bias_init, 0, 0, a.bias_l1, a.bias_l2);
}

static int add_scratch(Graph *g, const nnc_rt_conv2d *p) {
    int scratch = scratch_floats(p);
    return op_extra_out(g, g->nnodes - 1, 1, "scratch", 0, 1, &scratch);
}

/* dz = act'(dy); dx = conv^T(dz, w); dw = sum over the batch of x (*) dz; db = sum dz;
 * a residual input r (passes/fuse_nd.c: y = act(conv + b + r)) gets dz itself */
static void conv_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    int dz = op_epilogue_grad(g, &n, dout[0]);
    if (g->values[n.in[0]].requires_grad) {
        int in[2] = { dz, n.in[1] };
        din[0] = op_bwd(g, OP_CONV_GRAD_DATA, in, 2, &n, n.in[0]);
        add_scratch(g, &n.attr.conv);
    }
    int in[2] = { n.in[0], dz };
    din[1] = op_bwd(g, OP_CONV_GRAD_FILTER, in, 2, &n, n.in[1]);
    add_scratch(g, &n.attr.conv);
    if (n.nin > 2) din[2] = op_bwd(g, OP_BIAS_GRAD, &dz, 1, &n, n.in[2]);
    if (n.nin > 3) din[3] = dz;
}

static long conv_flops(const Graph *g, const Node *n) {
    (void)g;
    const nnc_rt_conv2d *p = &n->attr.conv;
    long out = (long)p->oh * p->ow * p->oc;
    return 2 * out * p->kh * p->kw * (p->c / p->groups) + (n->nin > 2 ? out : 0) + (n->nin > 3 ? out : 0) +
           (n->attr.act == NNC_RT_ACT_LINEAR ? 0 : out);
}

/* "_packed" when the kernel is in panels (passes/pack_weights.c) */
static const char *packed(EmitCtx *e, const Node *n) {
    return emit_graph(e)->values[n->in[1]].panels ? "_packed" : "";
}

/* a convolution with a residual input (passes/fuse_nd.c): y = act(conv + b + r) */
static void residual_emit(EmitCtx *e, const Node *n, const char *count) {
    emit_line(e, "nnc_rt_conv2d_forward_residual(%s, %s, %s, %s, %d, %s, %s, %s, %s, %d); /* %s */",
              emit_conv(e, &n->attr.conv), emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]),
              emit_graph(e)->values[n->in[1]].panels, emit_ptr(e, n->in[2]), emit_ptr(e, n->in[3]),
              emit_ptr(e, n->out[1]), count, n->attr.act, n->layer);
}

static void conv_emit(EmitCtx *e, const Node *n) {
    if (n->nin > 3) {
        residual_emit(e, n, "n");
        return;
    }
    emit_line(e, "nnc_rt_conv2d_forward%s(%s, %s, %s, %s, %s, %s, n, %d); /* %s */", packed(e, n),
              emit_conv(e, &n->attr.conv), emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]),
              emit_ptr(e, n->in[1]), n->nin > 2 ? emit_ptr(e, n->in[2]) : "NULL",
              emit_ptr(e, n->out[1]), n->attr.act, n->layer);
}

/* at build time (calibration): the samples are ny over one sample's outputs */
static void conv_fold(const Fold *f) {
    const nnc_rt_conv2d *p = &f->a->conv;
    long per = (long)p->oh * p->ow * p->oc;
    float *scratch = malloc((size_t)(NNC_RT_CONV2D_SCRATCH(p) + 1) * sizeof *scratch);
    if (!scratch) abort();
    nnc_rt_conv2d_forward(p, f->y, f->in[0], f->in[1], f->nin > 2 ? f->in[2] : NULL, scratch,
                          per ? (int)(f->ny / per) : 0, f->a->act);
    free(scratch);
}

static void conv_grad_data_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_conv2d_backward_data(%s, %s, %s, %s, %s, n);", emit_conv(e, &n->attr.conv),
              emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]),
              emit_ptr(e, n->out[1]));
}

/* with the bias gradient as a third output (passes/fuse_grad.c) */
static void conv_grad_filter_emit(EmitCtx *e, const Node *n) {
    if (n->nout > 2) {
        emit_line(e, "nnc_rt_conv2d_backward_filter_bias(%s, %s, %s, %s, %s, %s, n);", emit_conv(e, &n->attr.conv),
                  emit_ptr(e, n->out[0]), emit_ptr(e, n->out[2]), emit_ptr(e, n->in[1]), emit_ptr(e, n->in[0]),
                  emit_ptr(e, n->out[1]));
        return;
    }
    emit_line(e, "nnc_rt_conv2d_backward_filter(%s, %s, %s, %s, %s, n);", emit_conv(e, &n->attr.conv),
              emit_ptr(e, n->out[0]), emit_ptr(e, n->in[1]), emit_ptr(e, n->in[0]),
              emit_ptr(e, n->out[1]));
}


/* ---- conv2d_transpose ------------------------------------------------------------
 * Keras' Conv2DTranspose is the data gradient of the convolution that maps
 * its output back to its input: attr.conv describes that forward
 * convolution (h, w, c: this layer's output and filters; oh, ow, oc: its
 * input), so the kernel (kh, kw, filters, in_channels) is Keras' layout and
 * nnc_rt_conv2d_backward_data computes the layer, nnc_rt_conv2d_forward its
 * data gradient and backward_filter (roles swapped) its kernel's. */

/* one axis: the output length is Keras' deconv_output_length; the cells
 * before the first output are those Keras 3 crops from the full transposed
 * convolution (its JAX backend's padding: left_pad = min(ceil(pad_len / 2),
 * span - 1), pad_len = s + span - 2, or span + span % 2 - 2 + output_padding;
 * the convolution padding of TensorFlow's conv2d_transpose wherever that
 * accepts the length, checked for every kernel, stride, dilation, output
 * padding and length up to 7 by hand).  -1 after reporting */
static int transpose_axis(const Node *n, const char *axis, int in, int k, int s, int d, int op, int *out, int *before) {
    int span = d * (k - 1) + 1, same = n->attr.padding == PAD_SAME;
    if (op >= s) {
        diag_error(n->loc, "%s: output_padding (%d) must be smaller than strides (%d) along the %s",
                   op_name(n->op), op, s, axis);
        return -1;
    }
    if (op < 0) *out = in * s + (!same && span > s ? span - s : 0);
    else *out = (in - 1) * s + span - (same ? span / 2 * 2 : 0) + op;
    *before = 0;
    if (same) {
        int pad_len = op < 0 ? s + span - 2 : span + span % 2 - 2 + op, left = (pad_len + 1) / 2;
        *before = span - 1 - (left < span - 1 ? left : span - 1);
    }
    if ((double)*out * s > 1e8) {
        diag_error(n->loc, "%s: %d %s upsampled by %d is too large", op_name(n->op), in, axis, s);
        return -1;
    }
    return 0;
}

static int transpose_shape(Graph *g, int node) {
    Node *n = &g->nodes[node];
    if (op_want_rank(g, node, 3, "(n, height, width, channels)", "")) return -1;
    const Attrs *a = &n->attr;
    if (a->padding == PAD_CAUSAL) {
        diag_error(n->loc, "%s: padding = causal is for conv1d; use valid or same", op_name(n->op));
        return -1;
    }
    if ((a->strides[0] > 1 || a->strides[1] > 1) && (a->dilation[0] > 1 || a->dilation[1] > 1)) {
        diag_error(n->loc, "%s: strides > 1 and dilation_rate > 1 cannot be combined (as in Keras)", op_name(n->op));
        return -1;
    }
    Value *x = op_in(g, node, 0);
    nnc_rt_conv2d p;
    memset(&p, 0, sizeof p);
    p.oh = x->dims[0]; p.ow = x->dims[1]; p.oc = x->dims[2];
    p.c = a->filters; p.groups = 1;
    p.kh = a->kernel_size[0]; p.kw = a->kernel_size[1];
    p.sh = a->strides[0]; p.sw = a->strides[1];
    p.dh = a->dilation[0]; p.dw = a->dilation[1];
    if (transpose_axis(n, "rows", p.oh, p.kh, p.sh, p.dh, a->out_pad[0], &p.h, &p.pt) ||
        transpose_axis(n, "columns", p.ow, p.kw, p.sw, p.dw, a->out_pad[1], &p.w, &p.pl))
        return -1;
    n->attr.conv = p;
    int dims[3] = { p.h, p.w, p.c };
    op_make_out(g, node, 1, 3, dims);
    int scratch = scratch_floats(&p);
    op_extra_out(g, node, 1, "scratch", 0, 1, &scratch);
    return 0;
}

static void transpose_params(Graph *g, int node) {
    Node *n = &g->nodes[node];
    nnc_rt_conv2d p = n->attr.conv;
    Attrs a = n->attr;
    int kd[4] = { p.kh, p.kw, p.c, p.oc }, field = p.kh * p.kw;
    op_new_param(g, node, "kernel", 4, kd, a.kernel_init, field * p.c, field * p.oc, a.kernel_l1, a.kernel_l2);
    if (a.use_bias) op_new_param(g, node, "bias", 1, &p.c, a.bias_init, 0, 0, a.bias_l1, a.bias_l2);
}

/* dz = act'(dy); dx = conv(dz, w); dw = the filter gradient with dz as the
 * convolution's input and x as its output's gradient; db = sum dz */
static void transpose_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    int dz = op_epilogue_grad(g, &n, dout[0]);
    if (g->values[n.in[0]].requires_grad) {
        int in[2] = { dz, n.in[1] };
        din[0] = op_bwd(g, OP_CONV_T_GRAD_DATA, in, 2, &n, n.in[0]);
        add_scratch(g, &n.attr.conv);
    }
    int in[2] = { dz, n.in[0] };
    din[1] = op_bwd(g, OP_CONV_GRAD_FILTER, in, 2, &n, n.in[1]);
    add_scratch(g, &n.attr.conv);
    if (n.nin > 2) din[2] = op_bwd(g, OP_BIAS_GRAD, &dz, 1, &n, n.in[2]);
}

static long transpose_flops(const Graph *g, const Node *n) {
    (void)g;
    const nnc_rt_conv2d *p = &n->attr.conv;
    long out = (long)p->h * p->w * p->c;
    return 2L * p->oh * p->ow * p->oc * p->kh * p->kw * p->c + (n->nin > 2 ? out : 0) +
           (n->attr.act == NNC_RT_ACT_LINEAR ? 0 : out);
}

static void transpose_emit(EmitCtx *e, const Node *n) {
    const nnc_rt_conv2d *p = &n->attr.conv;
    emit_line(e, "nnc_rt_conv2d_backward_data(%s, %s, %s, %s, %s, n); /* %s */", emit_conv(e, p),
              emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), emit_ptr(e, n->out[1]),
              n->layer);
    if (n->nin > 2 || n->attr.act != NNC_RT_ACT_LINEAR)
        emit_line(e, "nnc_rt_bias_act_forward(%s, %s, %s, %d, %d);", emit_ptr(e, n->out[0]),
                  n->nin > 2 ? emit_ptr(e, n->in[2]) : "NULL", emit_times_n(e, 1, (long)p->h * p->w), p->c,
                  n->attr.act);
}

static void transpose_grad_data_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_conv2d_forward(%s, %s, %s, %s, NULL, %s, n, 0);", emit_conv(e, &n->attr.conv),
              emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), emit_ptr(e, n->out[1]));
}

/* ---- separable_conv2d --------------------------------------------------------------
 * Keras' SeparableConv2D: a depthwise convolution (attr.conv; kernel (kh,
 * kw, c, depth_multiplier)) into out[1], then a 1x1 convolution of those
 * c * depth_multiplier channels to `filters` (kernel (1, 1, c*m, filters))
 * with the bias and activation.  Inputs: x, depthwise_kernel,
 * pointwise_kernel, [bias].  The pointwise initializer and regularizer use
 * Attrs' recurrent_init and rec_l1/rec_l2 slots (no recurrent kernel here). */
static const AttrDef separable_attrs[] = {
    { "filters", AT_INT, offsetof(Attrs, filters), NULL },
    { "kernel_size", AT_PAIR, offsetof(Attrs, kernel_size), NULL },
    CONV_COMMON(AT_PAIR),
    { "dilation_rate", AT_PAIR, offsetof(Attrs, dilation), "1" },
    { "depth_multiplier", AT_INT, offsetof(Attrs, depth_multiplier), "1" },
    { "activation", AT_ACT, offsetof(Attrs, act), "linear" },
    { "use_bias", AT_BOOL, offsetof(Attrs, use_bias), "true" },
    { "depthwise_initializer", AT_INIT, offsetof(Attrs, kernel_init), "glorot_uniform" },
    { "pointwise_initializer", AT_INIT, offsetof(Attrs, recurrent_init), "glorot_uniform" },
    { "bias_initializer", AT_INIT, offsetof(Attrs, bias_init), "zeros" },
    { "depthwise_regularizer", AT_REG, offsetof(Attrs, kernel_l1), "none" },
    { "pointwise_regularizer", AT_REG, offsetof(Attrs, rec_l1), "none" },
    { "bias_regularizer", AT_REG, offsetof(Attrs, bias_l1), "none" },
};

/* the 1x1 convolution after the depthwise one d */
static nnc_rt_conv2d pointwise_of(const nnc_rt_conv2d *d, int filters) {
    nnc_rt_conv2d p;
    memset(&p, 0, sizeof p);
    p.h = p.oh = d->oh; p.w = p.ow = d->ow; p.c = d->oc; p.oc = filters;
    p.kh = p.kw = p.sh = p.sw = p.dh = p.dw = p.groups = 1;
    return p;
}

static int separable_shape(Graph *g, int node) {
    Node *n = &g->nodes[node];
    if (op_want_rank(g, node, 3, "(n, height, width, channels)", "")) return -1;
    const Attrs *a = &n->attr;
    if (a->padding == PAD_CAUSAL) {
        diag_error(n->loc, "%s: padding = causal is for conv1d; use valid or same", op_name(n->op));
        return -1;
    }
    Value *x = op_in(g, node, 0);
    nnc_rt_conv2d p;
    memset(&p, 0, sizeof p);
    p.h = x->dims[0]; p.w = x->dims[1]; p.c = x->dims[2];
    p.kh = a->kernel_size[0]; p.kw = a->kernel_size[1];
    p.sh = a->strides[0]; p.sw = a->strides[1];
    p.dh = a->dilation[0]; p.dw = a->dilation[1];
    p.groups = p.c;
    p.oc = p.c * a->depth_multiplier;
    if (op_window(p.h, p.kh, p.sh, p.dh, a->padding, &p.oh, &p.pt) ||
        op_window(p.w, p.kw, p.sw, p.dw, a->padding, &p.ow, &p.pl)) {
        char buf[96];
        diag_error(n->loc, "%s: the %dx%d kernel%s is larger than the input %s; "
                   "use padding = same or a smaller kernel", op_name(n->op), p.kh, p.kw,
                   p.dh > 1 || p.dw > 1 ? " (dilated)" : "", ir_shape_str(x, buf, sizeof buf));
        return -1;
    }
    n->attr.conv = p;
    nnc_rt_conv2d q = pointwise_of(&p, a->filters);
    int dims[3] = { p.oh, p.ow, a->filters }, mid[3] = { p.oh, p.ow, p.oc };
    op_make_out(g, node, 1, 3, dims);
    op_extra_out(g, node, 1, "depthwise", 1, 3, mid);
    int scratch = scratch_floats(&p) > scratch_floats(&q) ? scratch_floats(&p) : scratch_floats(&q);
    op_extra_out(g, node, 2, "scratch", 0, 1, &scratch);
    return 0;
}

static void separable_params(Graph *g, int node) {
    Node *n = &g->nodes[node];
    nnc_rt_conv2d p = n->attr.conv;
    Attrs a = n->attr;
    int field = p.kh * p.kw, dk[4] = { p.kh, p.kw, p.c, a.depth_multiplier }, pk[4] = { 1, 1, p.oc, a.filters };
    op_new_param(g, node, "depthwise_kernel", 4, dk, a.kernel_init, field * p.c, field * a.depth_multiplier,
                 a.kernel_l1, a.kernel_l2);
    op_new_param(g, node, "pointwise_kernel", 4, pk, a.recurrent_init, p.oc, a.filters, a.rec_l1, a.rec_l2);
    if (a.use_bias) op_new_param(g, node, "bias", 1, &a.filters, a.bias_init, 0, 0, a.bias_l1, a.bias_l2);
}

/* the pointwise convolution's gradients from dz, then the depthwise one's
 * from d(out[1]), each node carrying its own convolution in attr.conv */
static void separable_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node], pw = n;
    pw.attr.conv = pointwise_of(&n.attr.conv, n.attr.filters);
    int dz = op_epilogue_grad(g, &n, dout[0]);
    int ind[2] = { dz, n.in[2] };
    int dmid = op_bwd(g, OP_CONV_GRAD_DATA, ind, 2, &pw, n.out[1]);
    add_scratch(g, &pw.attr.conv);
    int inf[2] = { n.out[1], dz };
    din[2] = op_bwd(g, OP_CONV_GRAD_FILTER, inf, 2, &pw, n.in[2]);
    add_scratch(g, &pw.attr.conv);
    if (n.nin > 3) din[3] = op_bwd(g, OP_BIAS_GRAD, &dz, 1, &n, n.in[3]);
    if (g->values[n.in[0]].requires_grad) {
        int in[2] = { dmid, n.in[1] };
        din[0] = op_bwd(g, OP_CONV_GRAD_DATA, in, 2, &n, n.in[0]);
        add_scratch(g, &n.attr.conv);
    }
    int in[2] = { n.in[0], dmid };
    din[1] = op_bwd(g, OP_CONV_GRAD_FILTER, in, 2, &n, n.in[1]);
    add_scratch(g, &n.attr.conv);
}

static long separable_flops(const Graph *g, const Node *n) {
    (void)g;
    const nnc_rt_conv2d *p = &n->attr.conv;
    long pix = (long)p->oh * p->ow, out = pix * n->attr.filters;
    return 2 * pix * p->oc * p->kh * p->kw + 2 * out * p->oc + (n->nin > 3 ? out : 0) +
           (n->attr.act == NNC_RT_ACT_LINEAR ? 0 : out);
}

static void separable_emit(EmitCtx *e, const Node *n) {
    nnc_rt_conv2d q = pointwise_of(&n->attr.conv, n->attr.filters);
    emit_line(e, "nnc_rt_conv2d_forward(%s, %s, %s, %s, NULL, %s, n, 0); /* %s: depthwise */",
              emit_conv(e, &n->attr.conv), emit_ptr(e, n->out[1]), emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]),
              emit_ptr(e, n->out[2]), n->layer);
    emit_line(e, "nnc_rt_conv2d_forward(%s, %s, %s, %s, %s, %s, n, %d); /* %s: pointwise */", emit_conv(e, &q),
              emit_ptr(e, n->out[0]), emit_ptr(e, n->out[1]), emit_ptr(e, n->in[2]),
              n->nin > 3 ? emit_ptr(e, n->in[3]) : "NULL", emit_ptr(e, n->out[2]), n->attr.act, n->layer);
}

/* a pointwise convolution is a dense layer over the pixels (the runtime's
 * nnc_rt_conv2d_path): its product, (samples * h * w, oc, c); the other
 * paths are not one GEMM */
static int conv_gemm(const Graph *g, const Node *n, long batch, long mnk[3], int *ta, int *tb) {
    const nnc_rt_conv2d *p = &n->attr.conv;
    const Value *x = &g->values[n->in[0]];
    if (nnc_rt_conv2d_path(p, 0) != NNC_RT_CONV_POINTWISE) return 0;
    long pix = (long)p->h * p->w;
    mnk[0] = ir_size(x) * (x->batched ? batch : 1) / (pix * p->c) * pix;
    mnk[1] = p->oc;
    mnk[2] = p->c;
    *ta = *tb = 0;
    return 1;
}


/* convolution and pooling of a whole NHWC tensor (the importer transposes
 * around them): the batch is the literal attr.samples, not the run-time n; the
 * activation epilogue is fuse_nd_conv's */
static void nd_conv_emit(EmitCtx *e, const Node *n) {
    if (n->nin > 3) {
        residual_emit(e, n, emit_per_n(e, n, n->attr.samples));
        return;
    }
    emit_line(e, "nnc_rt_conv2d_forward%s(%s, %s, %s, %s, %s, %s, %s, %d);", packed(e, n), emit_conv(e, &n->attr.conv),
              emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]),
              n->nin > 2 ? emit_ptr(e, n->in[2]) : "NULL", emit_ptr(e, n->out[1]), emit_per_n(e, n, n->attr.samples), n->attr.act);
}

/* ConvTranspose: the data gradient of the forward convolution attr.conv */
static void nd_conv_t_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_conv2d_backward_data(%s, %s, %s, %s, %s, %s);", emit_conv(e, &n->attr.conv),
              emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), emit_ptr(e, n->out[1]),
              emit_per_n(e, n, n->attr.samples));
}


/* an imported convolution: the layer's count for each of its attr.samples samples */
static long nd_conv_flops(const Graph *g, const Node *n) { return conv_flops(g, n) * n->attr.samples; }

#define CONV(a) { .rt = RT_CONV | RT_GEMM | RT_ACT, .layer = 1, .ninputs = 1, \
                         .epilogue = 1, .conv = 1, .gemm = conv_gemm, .attrs = a, .nattrs = COUNT(a), \
                         .shape = conv_shape, .params = conv_params, .grad = conv_grad, .flops = conv_flops, \
                         .emit = conv_emit, .fold = conv_fold }
const OpDef op_conv2d = CONV(conv_attrs);
const OpDef op_depthwise_conv2d = CONV(depthwise_attrs);
const OpDef op_conv1d = CONV(conv1d_attrs);
const OpDef op_conv2d_transpose = { .rt = RT_CONV | RT_GEMM | RT_ACT, .layer = 1, .ninputs = 1, .epilogue = 1,
                                    .attrs = transpose_attrs, .nattrs = COUNT(transpose_attrs),
                                    .shape = transpose_shape, .params = transpose_params, .grad = transpose_grad,
                                    .flops = transpose_flops, .emit = transpose_emit };
const OpDef op_separable_conv2d = { .rt = RT_CONV | RT_GEMM | RT_ACT, .layer = 1, .ninputs = 1, .epilogue = 1,
                                    .attrs = separable_attrs, .nattrs = COUNT(separable_attrs),
                                    .shape = separable_shape, .params = separable_params, .grad = separable_grad,
                                    .flops = separable_flops, .emit = separable_emit };
const OpDef op_conv_t_grad_data = INTERNAL(RT_CONV, 2, op_no_shape, transpose_grad_data_emit);
const OpDef op_conv_grad_data = INTERNAL(RT_CONV, 2, op_no_shape, conv_grad_data_emit);
const OpDef op_conv_grad_filter = INTERNAL(RT_CONV, 2, op_no_shape, conv_grad_filter_emit);
const OpDef op_nd_conv = ND(-1, nd_conv_emit, .epilogue = 1, .conv = 1, .gemm = conv_gemm,
                           .flops = nd_conv_flops);
const OpDef op_nd_conv_t = ND(2, nd_conv_t_emit, .flops = nd_conv_flops);
