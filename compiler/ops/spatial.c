/* spatial.c — Keras' layers that move pixels without parameters:
 * upsampling1d/2d (nearest, bilinear), zero_padding1d/2d, cropping1d/2d,
 * and their gradient nodes.  Calls into runtime/spatial.c.
 *
 * Each rule fills attr.conv as a plain geometry record (h, w, c: the input;
 * oh, ow: the output; sh, sw: the upsampling factors; pt, pl: where the
 * input's first cell lands, negative for a crop), so the forward and the
 * gradient node print their calls from one place.  1-D layers are the 2-D
 * ones with h = 1 on (n, steps, channels). */
#include "ops/rules.h"

static int is_1d(int op) { return op == OP_UPSAMPLING1D || op == OP_ZERO_PADDING1D || op == OP_CROPPING1D; }

static const AttrDef up2_attrs[] = {
    { "size", AT_PAIR, offsetof(Attrs, size), "2" },
    { "interpolation", AT_INTERP, offsetof(Attrs, interp), "nearest" },
};
static const AttrDef up1_attrs[] = {
    { "size", AT_INT, offsetof(Attrs, size), "2" },
};
static const AttrDef pad2_attrs[] = { { "padding", AT_PADS2, offsetof(Attrs, pads), "1" } };
static const AttrDef pad1_attrs[] = { { "padding", AT_PADS1, offsetof(Attrs, pads), "1" } };
static const AttrDef crop2_attrs[] = { { "cropping", AT_PADS2, offsetof(Attrs, pads), "0" } };
static const AttrDef crop1_attrs[] = { { "cropping", AT_PADS1, offsetof(Attrs, pads), "1" } };

/* the input's geometry into attr.conv; -1 after reporting a wrong rank */
static int geometry(Graph *g, int node, nnc_rt_conv2d *p) {
    int one_d = is_1d(g->nodes[node].op);
    if (op_want_rank(g, node, one_d ? 2 : 3, one_d ? "(n, steps, channels)" : "(n, height, width, channels)", ""))
        return -1;
    Value *x = op_in(g, node, 0);
    memset(p, 0, sizeof *p);
    p->h = one_d ? 1 : x->dims[0];
    p->w = x->dims[x->rank - 2];
    p->c = x->dims[x->rank - 1];
    p->sh = p->sw = p->groups = 1;
    return 0;
}

static int finish(Graph *g, int node, const nnc_rt_conv2d *p) {
    Node *n = &g->nodes[node];
    n->attr.conv = *p;
    int dims[3] = { p->oh, p->ow, p->c }, one_d = is_1d(n->op);
    return op_make_out(g, node, 1, one_d ? 2 : 3, one_d ? dims + 1 : dims);
}

static int upsampling_shape(Graph *g, int node) {
    nnc_rt_conv2d p;
    if (geometry(g, node, &p)) return -1;
    const Attrs *a = &g->nodes[node].attr;
    p.sh = is_1d(g->nodes[node].op) ? 1 : a->size[0];
    p.sw = is_1d(g->nodes[node].op) ? a->size[0] : a->size[1];
    if ((double)p.h * p.sh * p.w * p.sw * p.c > 1e9) {
        diag_error(g->nodes[node].loc, "%s: the output would hold %.0f values per sample", op_name(g->nodes[node].op),
                   (double)p.h * p.sh * p.w * p.sw * p.c);
        return -1;
    }
    p.oh = p.h * p.sh;
    p.ow = p.w * p.sw;
    return finish(g, node, &p);
}

/* zero padding (sign +1) and cropping (sign -1): pads are top, bottom, left, right */
static int shift_shape(Graph *g, int node) {
    nnc_rt_conv2d p;
    Node *n = &g->nodes[node];
    if (geometry(g, node, &p)) return -1;
    int crop = n->op == OP_CROPPING1D || n->op == OP_CROPPING2D, sign = crop ? -1 : 1;
    const int *q = n->attr.pads;
    double oh = p.h + sign * ((double)q[0] + q[1]), ow = p.w + sign * ((double)q[2] + q[3]);
    if (oh < 1 || ow < 1) {
        char buf[96];
        int rows = oh < 1;
        diag_error(n->loc, "%s: cropping %d + %d %s leaves nothing of the input %s", op_name(n->op),
                   q[rows ? 0 : 2], q[rows ? 1 : 3], rows ? "rows" : is_1d(n->op) ? "steps" : "columns",
                   ir_shape_str(op_in(g, node, 0), buf, sizeof buf));
        return -1;
    }
    if (oh * ow * p.c > 1e9) {
        diag_error(n->loc, "%s: the output would hold %.0f values per sample", op_name(n->op), oh * ow * p.c);
        return -1;
    }
    p.oh = (int)oh;
    p.ow = (int)ow;
    p.pt = sign * q[0];
    p.pl = sign * q[2];
    return finish(g, node, &p);
}

static void upsampling_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    din[0] = op_bwd(g, OP_UPSAMPLING_GRAD, dout, 1, &n, n.in[0]);
}

static void shift_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    din[0] = op_bwd(g, OP_SHIFT_GRAD, dout, 1, &n, n.in[0]);
}

static long spatial_flops(const Graph *g, const Node *n) {
    (void)g;
    const nnc_rt_conv2d *p = &n->attr.conv;
    /* bilinear: 3 lerps of 3 flops per output; the rest copy */
    return n->attr.interp ? 9L * p->oh * p->ow * p->c : 0;
}

/* attr.interp: 1 only on upsampling2d(interpolation = bilinear) and its gradient node */
static const char *interp_name(const Node *n) { return n->attr.interp ? "bilinear" : "nearest"; }

static void upsampling_emit(EmitCtx *e, const Node *n) {
    const nnc_rt_conv2d *p = &n->attr.conv;
    emit_line(e, "nnc_rt_upsample_%s(%s, %s, n, %d, %d, %d, %d, %d); /* %s */", interp_name(n),
              emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), p->h, p->w, p->c, p->sh, p->sw, n->layer);
}

static void upsampling_grad_emit(EmitCtx *e, const Node *n) {
    const nnc_rt_conv2d *p = &n->attr.conv;
    emit_line(e, "nnc_rt_upsample_%s_backward(%s, %s, n, %d, %d, %d, %d, %d);", interp_name(n),
              emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), p->h, p->w, p->c, p->sh, p->sw);
}

static void shift_emit(EmitCtx *e, const Node *n) {
    const nnc_rt_conv2d *p = &n->attr.conv;
    emit_line(e, "nnc_rt_shift2d(%s, %s, n, %d, %d, %d, %d, %d, %d, %d); /* %s */", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), p->h, p->w, p->c, p->oh, p->ow, p->pt, p->pl, n->layer);
}

/* padding's gradient is the crop of dy and the reverse */
static void shift_grad_emit(EmitCtx *e, const Node *n) {
    const nnc_rt_conv2d *p = &n->attr.conv;
    emit_line(e, "nnc_rt_shift2d(%s, %s, n, %d, %d, %d, %d, %d, %d, %d);", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), p->oh, p->ow, p->c, p->h, p->w, -p->pt, -p->pl);
}

#define SPATIAL(a, shp, grd, em) { .rt = RT_CONV, .layer = 1, .ninputs = 1, .attrs = a, .nattrs = COUNT(a), \
                                   .shape = shp, .grad = grd, .flops = spatial_flops, .emit = em }
const OpDef op_upsampling1d = SPATIAL(up1_attrs, upsampling_shape, upsampling_grad, upsampling_emit);
const OpDef op_upsampling2d = SPATIAL(up2_attrs, upsampling_shape, upsampling_grad, upsampling_emit);
const OpDef op_zero_padding1d = SPATIAL(pad1_attrs, shift_shape, shift_grad, shift_emit);
const OpDef op_zero_padding2d = SPATIAL(pad2_attrs, shift_shape, shift_grad, shift_emit);
const OpDef op_cropping1d = SPATIAL(crop1_attrs, shift_shape, shift_grad, shift_emit);
const OpDef op_cropping2d = SPATIAL(crop2_attrs, shift_shape, shift_grad, shift_emit);
const OpDef op_upsampling_grad = INTERNAL(RT_CONV, 1, op_no_shape, upsampling_grad_emit);
const OpDef op_shift_grad = INTERNAL(RT_CONV, 1, op_no_shape, shift_grad_emit);
