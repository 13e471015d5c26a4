/* map_quant.c — the builders of ONNX's linear quantization: QuantizeLinear,
 * DequantizeLinear and DynamicQuantizeLinear, the ops of QDQ-quantized
 * models, and the quantized products ConvInteger, MatMulInteger,
 * QLinearConv and QLinearMatMul, composed from the N-d element-wise ops and
 * nnc's Conv and MatMul (values stay floats; the quantized ones are
 * integers held in floats, typed by dtype.c).
 *
 * Decisions:
 *  - DequantizeLinear is (x - zero_point) * scale, QuantizeLinear
 *    saturate(round_half_even(x / scale) + zero_point) into the zero
 *    point's type (uint8 without one), each step one float32 operation, as
 *    ONNX's reference computes it.  A scale and zero point are a scalar, or
 *    one value per element of x along `axis` (shaped to broadcast there).
 *  - Blocked quantization (block_size, opset 21) and the float8 types are
 *    refused (exit 3).
 *  - A quantized product subtracts the zero points, multiplies the integers
 *    with the float kernels and (QLinear*) scales the int32 sums by the
 *    input scales and requantizes.  The sums are exact: below 2^24 directly,
 *    beyond by splitting the activation (integer_product); one wrong bit
 *    would flip a later dynamic quantization and grow through the graph.
 *  - QLinearMatMul (one constant weight matrix) and 2-D QLinearConv
 *    (constant weights and bias, explicit pads or VALID) of 8-bit types
 *    with float32 scales run instead on int8 ops (ops/quant.c) in ONNX's
 *    requantization (nnc_rt_q8_onnx), exact as the composition; see the
 *    section at the end.  --no-q8-import keeps the composition.  qdq.c
 *    builds a QDQ model's groups (DequantizeLinear, a float op,
 *    QuantizeLinear) on the same int8 ops.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx.h"

#define TY(x) ONNX__TENSOR_PROTO__DATA_TYPE__##x

/* an element-wise function of x with its parameters, named name */
static Tensor *fn_of(Ctx *c, int fn, Tensor *x, float alpha, float beta, const char *name) {
    if (!x) return NULL;
    Attrs a;
    memset(&a, 0, sizeof a);
    a.fn = fn; a.alpha = alpha; a.beta = beta;
    return onnx_apply(c->im, OP_ND_UNARY, &x, 1, &a, name, x->rank, x->dims);
}

/* a scale or zero point of x: a scalar as it is, one value per element
 * along axis shaped (n, 1, ..., 1) to broadcast there; NULL after reporting */
static Tensor *along(Ctx *c, Tensor *v, Tensor *x, int axis, const char *what) {
    long n = onnx_numel(v->dims, v->rank), dims[MAX_T];
    if (n == 1 && v->rank <= 1) return v;
    if (v->rank != 1) {
        onnx_unsupported(c->im, "a scale or zero point of rank above 1 (blocked quantization)");
        return NULL;
    }
    if (n != x->dims[axis]) {
        onnx_invalid(c->im, "the %s has %ld values; per-axis quantization needs one per element of axis %d (%ld)",
                     what, n, axis, x->dims[axis]);
        return NULL;
    }
    dims[0] = n;
    for (int d = 1; d < x->rank - axis; d++) dims[d] = 1;
    char name[170];
    return onnx_reshaped(c, v, x->rank - axis, dims, onnx_part(c, what, name));
}

/* the same along the node's `axis` attribute (default 1) */
static Tensor *along_axis(Ctx *c, Tensor *v, Tensor *x, const char *what) {
    if (onnx_numel(v->dims, v->rank) == 1 && v->rank <= 1) return v;    /* per tensor: axis unused */
    int axis = onnx_axis(c, onnx_attr_i(c->n, "axis", 1), x->rank, 0, "axis");
    return axis < 0 ? NULL : along(c, v, x, axis, what);
}

/* the range of a quantized type: 0 after refusing one nnc does not quantize to */
static int range_of(Ctx *c, int t, float *lo, float *hi) {
    switch (t) {
    case TY(UINT8): *lo = 0; *hi = 255; return 1;
    case TY(INT8): *lo = -128; *hi = 127; return 1;
    case TY(UINT16): *lo = 0; *hi = 65535; return 1;
    case TY(INT16): *lo = -32768; *hi = 32767; return 1;
    default: {
        char why[96];
        snprintf(why, sizeof why, "quantization to %s", onnx_dtype_name(t));
        onnx_unsupported(c->im, why);
        return 0;
    }
    }
}

static int blocked(Ctx *c) {
    if (onnx_attr_i(c->n, "block_size", 0) == 0) return 0;
    onnx_unsupported(c->im, "blocked quantization (block_size)");
    return 1;
}

Tensor *onnx_dequantize(Ctx *c) {
    Tensor *x = c->in[0], *zp = c->nin > 2 ? c->in[2] : NULL;
    if (blocked(c)) return NULL;
    Tensor *s = along_axis(c, c->in[1], x, "scale");
    if (!s) return NULL;
    char name[170];
    if (zp) {
        Tensor *z = along_axis(c, zp, x, "zero_point");
        x = z ? onnx_binary_of(c, NNC_RT_BIN_SUB, x, z, onnx_part(c, "centered", name)) : NULL;
    }
    Tensor *y = x ? onnx_binary_of(c, NNC_RT_BIN_MUL, x, s, onnx_out_name(c, 0)) : NULL;
    if (y) {    /* where it came from, for qdq.c's groups */
        y->dq_x = c->in[0];
        y->dq_scale = c->in[1];
        y->dq_zp = zp;
        y->dq_axis = (int)onnx_attr_i(c->n, "axis", 1);
        if (y->dq_axis < 0) y->dq_axis += c->in[0]->rank;
    }
    return y;
}

/* saturate(round(x / s) + zp) into [lo, hi], named name */
static Tensor *quantize(Ctx *c, Tensor *x, Tensor *s, Tensor *zp, float lo, float hi, const char *name,
                        const char *part) {
    char n1[170], n2[170], n3[170], w[40];
    snprintf(w, sizeof w, "%s_scaled", part);
    Tensor *q = onnx_binary_of(c, NNC_RT_BIN_DIV, x, s, onnx_part(c, w, n1));
    snprintf(w, sizeof w, "%s_rounded", part);
    q = fn_of(c, NNC_RT_UN_ROUND, q, 0, 0, onnx_part(c, w, n2));
    snprintf(w, sizeof w, "%s_shifted", part);
    if (q && zp) q = onnx_binary_of(c, NNC_RT_BIN_ADD, q, zp, onnx_part(c, w, n3));
    return fn_of(c, NNC_RT_UN_CLIP, q, lo, hi, name);
}

Tensor *onnx_quantize(Ctx *c) {
    Tensor *x = c->in[0], *zp = c->nin > 2 ? c->in[2] : NULL;
    int t = zp ? zp->dtype : (int)onnx_attr_i(c->n, "output_dtype", TY(UINT8));
    float lo, hi;
    if (blocked(c) || !range_of(c, t ? t : TY(UINT8), &lo, &hi)) return NULL;
    Tensor *s = along_axis(c, c->in[1], x, "scale");
    Tensor *z = zp && s ? along_axis(c, zp, x, "zero_point") : NULL;
    if (!s || (zp && !z)) return NULL;
    return quantize(c, x, s, z, lo, hi, onnx_out_name(c, 0), "y");
}

/* y, y_scale, y_zero_point of x over uint8: the range of x widened to hold 0,
 * over 255 steps */
Tensor *onnx_dynamic_quantize(Ctx *c) {
    Tensor *x = c->in[0];
    int mark[MAX_T];
    for (int d = 0; d < MAX_T; d++) mark[d] = d < x->rank;
    char n1[170], n2[170], n3[170], n4[170], n5[170], n6[170], n7[170], n8[170];
    const char *scale_name = c->n->n_output > 1 && *c->n->output[1] ? c->n->output[1] : onnx_part(c, "y_scale", n7);
    const char *zp_name = c->n->n_output > 2 && *c->n->output[2] ? c->n->output[2] : onnx_part(c, "y_zero_point", n8);
    Tensor *zero = onnx_scalar(c, "zero", 0.0f);
    Tensor *mn = onnx_reduce_mark(c, NNC_RT_RED_MIN, x, mark, 0, onnx_part(c, "min", n1));
    Tensor *mx = onnx_reduce_mark(c, NNC_RT_RED_MAX, x, mark, 0, onnx_part(c, "max", n2));
    mn = mn ? onnx_binary_of(c, NNC_RT_BIN_MIN, mn, zero, onnx_part(c, "lo", n3)) : NULL;
    mx = mx ? onnx_binary_of(c, NNC_RT_BIN_MAX, mx, zero, onnx_part(c, "hi", n4)) : NULL;
    Tensor *r = mn && mx ? onnx_binary_of(c, NNC_RT_BIN_SUB, mx, mn, onnx_part(c, "range", n5)) : NULL;
    Tensor *s = r ? onnx_binary_of(c, NNC_RT_BIN_DIV, r, onnx_scalar(c, "steps", 255.0f), scale_name) : NULL;
    /* zero point: saturate(round(0 - min / scale)) */
    Tensor *m = s ? onnx_binary_of(c, NNC_RT_BIN_DIV, mn, s, onnx_part(c, "min_steps", n6)) : NULL;
    Tensor *zp = m ? quantize(c, fn_of(c, NNC_RT_UN_NEG, m, 0, 0, onnx_part(c, "zp_raw", n1)),
                              onnx_scalar(c, "one", 1.0f), NULL, 0, 255, zp_name, "zp") : NULL;
    if (s) s->dtype = TY(FLOAT);
    if (zp) zp->dtype = TY(UINT8);
    return zp ? quantize(c, x, s, zp, 0, 255, onnx_out_name(c, 0), "y") : NULL;
}

/* ---- products of quantized tensors ------------------------------------------------ */

/* x - zero_point (a scalar, or one per element of x's axis): the integers a
 * quantized product multiplies, exact in float32; x itself without one */
static Tensor *centred(Ctx *c, Tensor *x, Tensor *zp, int axis, const char *what) {
    if (!x || !zp) return x;
    char name[170];
    Tensor *z = along(c, zp, x, axis, what);
    Tensor *y = z ? onnx_binary_of(c, NNC_RT_BIN_SUB, x, z, onnx_part(c, what, name)) : NULL;
    if (y) y->dtype = TY(INT32);
    return y;
}

/* the largest |sum| of products a product with b reaches for |a| <= 1:
 * the largest sum of |b| over what one output reads (a conv's output
 * channel, axis 0; a matmul's column), from b's values when they are
 * constants, else 255 for each of those terms */
static double sum_bound(const Tensor *b, int conv) {
    long n = onnx_numel(b->dims, b->rank);
    long per = conv ? n / (b->dims[0] ? b->dims[0] : 1) : b->dims[b->rank - 2];
    if (!b->data) return 255.0 * (double)per;
    double worst = 0;
    if (conv) {
        for (long m = 0; m < b->dims[0]; m++) {
            double s = 0;
            for (long k = 0; k < per; k++) s += fabs(b->data[m * per + k]);
            if (s > worst) worst = s;
        }
    } else {
        long cols = b->dims[b->rank - 1], mats = per * cols != 0 ? n / (per * cols) : 0;
        for (long t = 0; t < mats; t++)
            for (long j = 0; j < cols; j++) {
                double s = 0;
                for (long k = 0; k < per; k++) s += fabs(b->data[(t * per + k) * cols + j]);
                if (s > worst) worst = s;
            }
    }
    return worst;
}

/* Conv or MatMul (build) of a and b (plus bias), under a name of its own */
static Tensor *product(Ctx *c, Tensor *(*build)(Ctx *), Tensor *a, Tensor *b, Tensor *bias, const char *name) {
    Tensor *in[3] = { a, b, bias };
    return onnx_build_on(c, build, in, bias ? 3 : 2, name);
}

/* Conv or MatMul (build) of the centred operands a (|a| <= 255: an 8-bit
 * activation less its zero point) and b: the int32 sums.  Float32 holds
 * them exactly below 2^24; where b's values allow sums beyond that, a is
 * split as 16 * hi + lo (|hi| <= 16, 0 <= lo < 16) and the two products,
 * each exact, are added in one rounding: the float an int32 result becomes
 * when the graph casts it, as ONNX Runtime's exact sums do.  Beyond even
 * that (sums of |b| above 2^20) nnc refuses (exit 3). */
static Tensor *integer_product(Ctx *c, Tensor *(*build)(Ctx *), Tensor *a, Tensor *b, Tensor *bias) {
    if (!a || !b) return NULL;
    double s = sum_bound(b, build == onnx_conv);
    const char *out = onnx_out_name(c, 0);
    Tensor *y;
    if (255.0 * s < 16777216.0) {
        y = product(c, build, a, b, bias, out);
    } else if (16.0 * s < 16777216.0) {
        char n1[170], n2[170], n3[170], n4[170], n5[170], n6[170];
        Tensor *hi = fn_of(c, NNC_RT_UN_FLOOR, onnx_binary_of(c, NNC_RT_BIN_MUL, a, onnx_scalar(c, "sixteenth", 0.0625f),
                                                              onnx_part(c, "a_by16", n1)), 0, 0, onnx_part(c, "a_hi", n2));
        Tensor *lo = hi ? onnx_binary_of(c, NNC_RT_BIN_SUB, a, onnx_binary_of(c, NNC_RT_BIN_MUL, hi,
                          onnx_scalar(c, "sixteen", 16.0f), onnx_part(c, "a_hi16", n3)), onnx_part(c, "a_lo", n4)) : NULL;
        Tensor *ph = lo ? product(c, build, hi, b, NULL, onnx_part(c, "sum_hi", n5)) : NULL;
        Tensor *pl = ph ? product(c, build, lo, b, bias, onnx_part(c, "sum_lo", n6)) : NULL;
        Tensor *ph16 = pl ? onnx_binary_of(c, NNC_RT_BIN_MUL, ph, onnx_scalar(c, "sixteen", 16.0f),
                                           onnx_part(c, "sum_hi16", n1)) : NULL;
        y = ph16 ? onnx_binary_of(c, NNC_RT_BIN_ADD, ph16, pl, out) : NULL;
    } else {
        char why[160];
        snprintf(why, sizeof why, "%s whose int32 sums can reach %.3g (float32 holds them exactly to 2^24, "
                 "nnc's split to 2^28)", c->n->op_type, 255.0 * s);
        onnx_unsupported(c->im, why);
        return NULL;
    }
    if (y) y->dtype = TY(INT32);
    return y;
}

#define OPT_IN(i) (c->nin > (i) ? c->in[i] : NULL)

Tensor *onnx_conv_integer(Ctx *c) {
    Tensor *x = c->in[0], *w = c->in[1];
    return integer_product(c, onnx_conv, centred(c, x, OPT_IN(2), 1, "x_centred"),
                           centred(c, w, OPT_IN(3), 0, "w_centred"), NULL);
}

Tensor *onnx_matmul_integer(Ctx *c) {
    Tensor *a = c->in[0], *b = c->in[1];
    if (a->rank < 2 || b->rank < 2) { onnx_unsupported(c->im, "MatMulInteger of 1-D operands"); return NULL; }
    return integer_product(c, onnx_matmul, centred(c, a, OPT_IN(2), a->rank - 2, "a_centred"),
                           centred(c, b, OPT_IN(3), b->rank - 1, "b_centred"), NULL);
}

/* the int32 sums of a QLinear product, times the input scales (a, b: one
 * scalar, or per axis), requantized to y_scale and y_zero_point's type */
static Tensor *requantize(Ctx *c, Tensor *sum, Tensor *as, int a_axis, Tensor *bs, int b_axis, Tensor *ys, Tensor *yzp) {
    char n1[170], n2[170];
    float lo = 0, hi = 255;
    if (!sum || (yzp && !range_of(c, yzp->dtype ? yzp->dtype : TY(UINT8), &lo, &hi))) return NULL;
    Tensor *sa = along(c, as, sum, a_axis, "a_scale"), *sb = sa ? along(c, bs, sum, b_axis, "b_scale") : NULL;
    Tensor *r = sb ? onnx_binary_of(c, NNC_RT_BIN_MUL, sum, sa, onnx_part(c, "real_a", n1)) : NULL;
    r = r ? onnx_binary_of(c, NNC_RT_BIN_MUL, r, sb, onnx_part(c, "real", n2)) : NULL;
    Tensor *zp = yzp && r ? along(c, yzp, r, 0, "y_zero_point") : NULL;
    return r && (!yzp || zp) ? quantize(c, r, ys, zp, lo, hi, onnx_out_name(c, 0), "y") : NULL;
}

/* ---- QLinear products on nnc's int8 kernels ------------------------------------------
 * Where the operands allow, a QLinear product runs as an int8 op of ops/quant.c in
 * ONNX's rescale mode (nnc_rt_q8_onnx: the reference's own arithmetic, so the integers
 * are ONNX's, not TFLite's fixed-point ones).  The activation, an integer held in a
 * float, enters int8 storage by a quantize of scale 1 (uint8 less 128) and the result
 * leaves by a dequantize of scale 1: both exact.  The int8 result stays attached to the
 * float one as its twin (Tensor.q8), so that the next int8 op reads it directly; the
 * float copy, if nothing else reads it, is dropped after the import (onnx_qdq_close).
 * What the int8 op does not cover (an activation that is a constant, weights that are
 * not, a per-row activation scale, 16-bit types, multipliers that are not finite and
 * positive) keeps the float composition above, as does --no-q8-import. */

/* int8 storage of a quantized ONNX type: the offset (uint8: -128), 0 after saying no */
static int q8_type(int t, int32_t *off) {
    if (t == TY(INT8)) { *off = 0; return 1; }
    if (t == TY(UINT8)) { *off = -128; return 1; }
    return 0;
}

int onnx_q8_storage(int t, int32_t *off) { return q8_type(t, off); }

static int q8_scalar(const Tensor *t) { return t && t->data && onnx_numel(t->dims, t->rank) == 1 && t->rank <= 1; }

/* scales of float32 (opset 21's float16 ones make the reference compute in float16) */
static int q8_f32(const Tensor *a, const Tensor *b, const Tensor *c) {
    return (!a->dtype || a->dtype == TY(FLOAT)) && (!b->dtype || b->dtype == TY(FLOAT)) &&
           (!c->dtype || c->dtype == TY(FLOAT));
}

/* a constant of one value or of n (a per-channel scale or zero point) */
static int q8_per(const Tensor *t, long n) {
    return q8_scalar(t) || (t && t->data && t->rank == 1 && t->dims[0] == n);
}

static int q8_import_off(Ctx *c) { return c->im->shapes && c->im->shapes->no_q8; }

/* the int8 value of x (integers held in floats, storage offset off), named name */
static Tensor *q8_enter(Ctx *c, Tensor *x, int32_t off, const char *name) {
    Attrs a;
    memset(&a, 0, sizeof a);
    a.q8 = q8_new(c->im->g);
    a.q8->y_scale = 1.0f;
    a.q8->y_zp = off;
    Tensor *q = x ? onnx_node_out(c->im, OP_Q8_QUANTIZE, &x, 1, &a, name, x->rank, x->dims) : NULL;
    if (q) c->im->g->values[q->value].dtype = DT_I8;
    return q;
}

static Tensor *q8_relayout(Ctx *c, Tensor *x, int to_nhwc, const char *name);

/* An int8 op reads its operand's twin when it has one in the layout it wants;
 * otherwise the integers enter int8 storage here (relaid out first for
 * NHWC), and that becomes the twin, so that the next reader finds it */
Tensor *onnx_q8_input(Ctx *c, Tensor *x, int32_t off, int layout) {
    if (x->q8 && x->q8_off == off && x->q8_layout == layout) {
        c->im->q8_twins++;      /* x's float copy may now be unread: onnx_qdq_close */
        return x->q8;
    }
    char n1[170], n2[170];
    ir_format_name(n1, "%s/nhwc", x->name);
    ir_format_name(n2, "%s/int8%s", x->name, layout == Q8_NHWC ? "_nhwc" : "");
    Tensor *f = layout == Q8_NHWC ? q8_relayout(c, x, 1, n1) : x;
    Tensor *q = q8_enter(c, f, off, n2);
    if (q && !x->data && !x->q8) {
        x->q8 = q;
        x->q8_off = off;
        x->q8_layout = layout;
    }
    return q;
}

/* The int8 op's result back as integers held in floats, ONNX type t, as output
 * 0: what a float reader takes (and a graph output); qdq.c's groups read the
 * twin instead, and onnx_qdq_close drops this when nothing else does */
Tensor *onnx_q8_output(Ctx *c, Tensor *q, int32_t off, int t, int layout, int out_rank, const long *out_dims) {
    if (!q) return NULL;
    Attrs a;
    memset(&a, 0, sizeof a);
    a.q8 = q8_new(c->im->g);
    a.q8->x_scale = 1.0f;
    a.q8->x_zp = off;
    char name[170];
    Tensor *y;
    if (layout == Q8_NHWC) {
        Tensor *yn = onnx_node_out(c->im, OP_Q8_DEQUANTIZE, &q, 1, &a, onnx_part(c, "nhwc_out", name), q->rank, q->dims);
        y = q8_relayout(c, yn, 0, onnx_out_name(c, 0));
    } else {
        y = onnx_node_out(c->im, OP_Q8_DEQUANTIZE, &q, 1, &a, onnx_out_name(c, 0), out_rank, out_dims);
    }
    if (!y) return NULL;
    y->dtype = t;
    y->q8 = q;
    y->q8_off = off;
    y->q8_layout = layout;
    return y;
}

/* the multiplier of channel j: float32(float32(x_scale w_scale) / y_scale), as the reference */
static float q8_mult(float xs, const Tensor *ws, long j, float ys) {
    float p = xs * ws->data[q8_scalar(ws) ? 0 : j];
    float m = p / ys;
    return m;
}

/* every multiplier finite and positive */
static int q8_mults_ok(long nch, float xs, const Tensor *ws, float ys) {
    for (long j = 0; j < nch; j++) {
        float m = q8_mult(xs, ws, j, ys);
        if (!(m > 0) || !isfinite(m)) return 0;
    }
    return 1;
}

/* the output stage of an ONNX-mode product over nch channels: the multipliers, the
 * weights' zero points in storage */
static void q8_onnx_stage(Q8 *q, long nch, float xs, const Tensor *ws, const Tensor *wzp, int32_t w_off, float ys) {
    q->nch = (int)nch;
    q->onnx_mult = malloc((size_t)nch * sizeof *q->onnx_mult);
    q->w_zp = malloc((size_t)nch * sizeof *q->w_zp);
    if (!q->onnx_mult || !q->w_zp) abort();
    for (long j = 0; j < nch; j++) {
        q->onnx_mult[j] = q8_mult(xs, ws, j, ys);
        q->w_zp[j] = (int32_t)wzp->data[q8_scalar(wzp) ? 0 : j] + w_off;
    }
}

/* an int32 bias of m output channels (b: constant integers below 2^24): each channel gets a stage of its own */
static void q8_onnx_bias(Q8 *q, const Tensor *b, long m) {
    if (q->nch == 1 && m > 1) {
        float m0 = q->onnx_mult[0];
        int32_t z0 = q->w_zp[0];
        free(q->onnx_mult);
        free(q->w_zp);
        q->onnx_mult = malloc((size_t)m * sizeof *q->onnx_mult);
        q->w_zp = malloc((size_t)m * sizeof *q->w_zp);
        if (!q->onnx_mult || !q->w_zp) abort();
        for (long o = 0; o < m; o++) q->onnx_mult[o] = m0, q->w_zp[o] = z0;
        q->nch = (int)m;
    }
    q->bias = malloc((size_t)m * sizeof *q->bias);
    if (!q->bias) abort();
    for (long o = 0; o < m; o++) q->bias[o] = (int32_t)b->data[o];
}

/* a bias an int8 product takes: absent, or m constant integers below 2^24 */
static int q8_bias_ok(const Tensor *b, long m) {
    if (!b) return 1;
    if (!b->data || onnx_numel(b->dims, b->rank) != m) return 0;
    for (long i = 0; i < m; i++)
        if (!(fabsf(b->data[i]) < 16777216.0f) || b->data[i] != nearbyintf(b->data[i])) return 0;
    return 1;
}

/* the output clamp: the type's range (storage: lo, hi less the offset) narrowed to [lo, hi] */
static void q8_clamp(Q8 *q, int32_t y_off, int32_t lo, int32_t hi) {
    q->lo = y_off ? 0 : -128;
    q->hi = y_off ? 255 : 127;
    if (lo > q->lo) q->lo = lo;
    if (hi < q->hi) q->hi = hi;
}

/* QLinearMatMul as nnc_rt_q8_dense_onnx, or NULL (nothing reported) where it does not apply */
Tensor *onnx_q8_matmul(Ctx *c, int32_t lo, int32_t hi) {
    Tensor *a = c->in[0], *b = c->in[3], *as = c->in[1], *azp = c->in[2], *bs = c->in[4], *bzp = c->in[5];
    Tensor *ys = c->in[6], *yzp = c->nin > 7 ? c->in[7] : NULL, *bias = c->nin > 8 ? c->in[8] : NULL;
    int32_t a_off, b_off, y_off;
    if (q8_import_off(c) || a->data || a->rank < 2 || !b->data || b->rank < 2 || b->rank > a->rank ||
        onnx_numel(b->dims, b->rank - 2) != 1 || !q8_scalar(as) || !q8_scalar(azp) ||
        !q8_scalar(ys) || !q8_scalar(yzp) || !q8_type(a->dtype, &a_off) || !q8_type(b->dtype, &b_off) ||
        !q8_type(yzp->dtype, &y_off) || azp->dtype != a->dtype || bzp == NULL || bzp->dtype != b->dtype ||
        !q8_f32(as, bs, ys))
        return NULL;
    long k = b->dims[b->rank - 2], m = b->dims[b->rank - 1];     /* one matrix: its (k, m) */
    if (a->dims[a->rank - 1] != k || k < 1 || m < 1 || !q8_per(bs, m) || !q8_per(bzp, m) || !q8_bias_ok(bias, m))
        return NULL;
    long nch = q8_scalar(bs) && q8_scalar(bzp) ? 1 : m;
    if (!q8_mults_ok(nch, as->data[0], bs, ys->data[0])) return NULL;
    /* a's twin flattened from NHWC (qdq.c's Flatten): the rows of b taken in that order instead */
    const long *chw = a->q8_chw;
    int flat = a->q8 && a->q8_layout == Q8_FLAT_NHWC && a->q8_off == a_off && a->rank == 2 &&
               chw[0] * chw[1] * chw[2] == k;
    if (flat) c->im->q8_twins++;
    Tensor *x = flat ? a->q8 : onnx_q8_input(c, a, a_off, Q8_SAME);
    if (!x) return NULL;
    Q8 *q = q8_new(c->im->g);
    q8_onnx_stage(q, nch, as->data[0], bs, bzp, b_off, ys->data[0]);
    q->nw = k * m;
    q->w = malloc((size_t)q->nw);
    if (!q->w) abort();
    for (long j = 0; j < m; j++)    /* (k, m) -> output-channel major (m, k) */
        for (long t = 0; t < k; t++) {
            long r = t;     /* flat: t runs over (h, w, c), b's rows over (c, h, w) */
            if (flat) r = (t % chw[0]) * chw[1] * chw[2] + t / chw[0];
            q->w[j * k + t] = (int8_t)((int32_t)b->data[r * m + j] + b_off);
        }
    if (bias) q8_onnx_bias(q, bias, m);
    q->x_zp = (int32_t)azp->data[0] + a_off;
    q->x_scale = as->data[0];
    q->y_scale = ys->data[0];
    q->y_zp = (int32_t)yzp->data[0];
    q->y_off = y_off;
    q8_clamp(q, y_off, lo, hi);
    Attrs at;
    memset(&at, 0, sizeof at);
    at.q8 = q;
    at.units = (int)m;
    long dims[MAX_T];
    memcpy(dims, a->dims, sizeof dims);
    dims[a->rank - 1] = m;
    char name[170];
    Tensor *y = onnx_node_out(c->im, OP_Q8_DENSE, &x, 1, &at, onnx_part(c, "int8_out", name), a->rank, dims);
    if (y) c->im->g->values[y->value].dtype = DT_I8;
    return onnx_q8_output(c, y, y_off, yzp->dtype, Q8_SAME, a->rank, dims);
}

/* a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp */
Tensor *onnx_qlinear_matmul(Ctx *c) {
    Tensor *a = c->in[0], *b = c->in[3];
    Tensor *q = c->nin == 8 ? onnx_q8_matmul(c, -32768, 32767) : NULL;
    if (q) return q;
    if (a->rank < 2 || b->rank < 2) { onnx_unsupported(c->im, "QLinearMatMul of 1-D operands"); return NULL; }
    Tensor *sum = integer_product(c, onnx_matmul, centred(c, a, c->in[2], a->rank - 2, "a_centred"),
                                  centred(c, b, c->in[5], b->rank - 1, "b_centred"), NULL);
    return sum ? requantize(c, sum, c->in[1], sum->rank - 2, c->in[4], sum->rank - 1, c->in[6], c->in[7]) : NULL;
}

/* NCHW <-> NHWC of integers held in floats (a copy, exact) */
static Tensor *q8_relayout(Ctx *c, Tensor *x, int to_nhwc, const char *name) {
    static const long to[4] = { 0, 2, 3, 1 }, back[4] = { 0, 3, 1, 2 };
    const long *perm = to_nhwc ? to : back;
    long dims[4], xs[4];
    if (!x) return NULL;
    nd_strides(4, x->dims, xs);
    Attrs a;
    memset(&a, 0, sizeof a);
    for (int d = 0; d < 4; d++) dims[d] = x->dims[perm[d]];
    nd_dense(&a.nd, 4, dims);
    for (int d = 0; d < 4; d++) a.nd.as[d] = xs[perm[d]];
    Tensor *y = onnx_apply(c->im, OP_ND_COPY, &x, 1, &a, name, 4, dims);
    if (y) y->dtype = x->dtype;
    return y;
}

/* the geometry of a 2-D QLinearConv (explicit pads or VALID) into p; 0 where nnc
 * leaves it to the composition (auto_pad SAME_*, attributes of other lengths) */
static int q8_conv_geometry(Ctx *c, const Tensor *x, const Tensor *w, nnc_rt_conv2d *p) {
    long pads[4] = { 0, 0, 0, 0 }, st[2] = { 1, 1 }, dil[2] = { 1, 1 }, ks[2];
    const Onnx__AttributeProto *ap = onnx_attr(c->n, "auto_pad");
    if (ap && ap->s.len && !onnx_attr_is(c->n, "auto_pad", "NOTSET") && !onnx_attr_is(c->n, "auto_pad", "VALID"))
        return 0;
    int np = onnx_attr_ints(c->n, "pads", pads, 4), ns = onnx_attr_ints(c->n, "strides", st, 2);
    int nd = onnx_attr_ints(c->n, "dilations", dil, 2), nk = onnx_attr_ints(c->n, "kernel_shape", ks, 2);
    if ((np != -1 && np != 4) || (ns != -1 && ns != 2) || (nd != -1 && nd != 2) || (nk != -1 && nk != 2)) return 0;
    if (nk == 2 && (ks[0] != w->dims[2] || ks[1] != w->dims[3])) return 0;
    if (onnx_attr_is(c->n, "auto_pad", "VALID")) memset(pads, 0, sizeof pads);
    for (int i = 0; i < 2; i++)
        if (st[i] < 1 || dil[i] < 1 || pads[i] < 0 || pads[i + 2] < 0 || pads[i] > 65535 || pads[i + 2] > 65535 ||
            st[i] > 65535 || dil[i] > 65535)
            return 0;
    long group = onnx_attr_i(c->n, "group", 1);
    if (group < 1 || w->dims[1] * group != x->dims[1] || w->dims[0] % group) return 0;
    long oh = (x->dims[2] + pads[0] + pads[2] - dil[0] * (w->dims[2] - 1) - 1) / st[0] + 1;
    long ow = (x->dims[3] + pads[1] + pads[3] - dil[1] * (w->dims[3] - 1) - 1) / st[1] + 1;
    if (x->dims[2] + pads[0] + pads[2] < dil[0] * (w->dims[2] - 1) + 1 ||
        x->dims[3] + pads[1] + pads[3] < dil[1] * (w->dims[3] - 1) + 1 || oh < 1 || ow < 1)
        return 0;
    memset(p, 0, sizeof *p);
    p->h = (int)x->dims[2]; p->w = (int)x->dims[3]; p->c = (int)x->dims[1];
    p->oh = (int)oh; p->ow = (int)ow; p->oc = (int)w->dims[0]; p->kh = (int)w->dims[2]; p->kw = (int)w->dims[3];
    p->sh = (int)st[0]; p->sw = (int)st[1]; p->dh = (int)dil[0]; p->dw = (int)dil[1];
    p->pt = (int)pads[0]; p->pl = (int)pads[1];
    p->groups = (int)group;
    return 1;
}

/* QLinearConv (2-D) as nnc_rt_q8_conv2d_onnx on NHWC, or NULL (nothing reported)
 * where it does not apply */
Tensor *onnx_q8_conv(Ctx *c, int32_t lo, int32_t hi) {
    Tensor *x = c->in[0], *xs = c->in[1], *xzp = c->in[2], *w = c->in[3], *ws = c->in[4], *wzp = c->in[5];
    Tensor *ys = c->in[6], *yzp = c->in[7], *b = c->nin > 8 ? c->in[8] : NULL;
    int32_t x_off, w_off, y_off;
    nnc_rt_conv2d geo;
    if (q8_import_off(c) || x->data || x->rank != 4 || !w->data || w->rank != 4 || !q8_scalar(xs) ||
        !q8_scalar(xzp) || !q8_scalar(ys) || !q8_scalar(yzp) || !wzp || !q8_type(x->dtype, &x_off) ||
        !q8_type(w->dtype, &w_off) || !q8_type(yzp->dtype, &y_off) || xzp->dtype != x->dtype ||
        wzp->dtype != w->dtype || !q8_bias_ok(b, w->dims[0]) || !q8_f32(xs, ws, ys))
        return NULL;
    for (int d = 0; d < 4; d++)
        if (x->dims[d] < 1 || w->dims[d] < 1 || x->dims[d] > 65535 || w->dims[d] > 65535) return NULL;
    long m = w->dims[0];
    if (!q8_per(ws, m) || !q8_per(wzp, m) || !q8_conv_geometry(c, x, w, &geo)) return NULL;
    long nch = q8_scalar(ws) && q8_scalar(wzp) ? 1 : m;
    if (!q8_mults_ok(nch, xs->data[0], ws, ys->data[0])) return NULL;
    Tensor *xq = onnx_q8_input(c, x, x_off, Q8_NHWC);
    if (!xq) return NULL;
    Q8 *q = q8_new(c->im->g);
    q8_onnx_stage(q, nch, xs->data[0], ws, wzp, w_off, ys->data[0]);
    long cg = w->dims[1], kh = w->dims[2], kw = w->dims[3];
    q->nw = onnx_numel(w->dims, 4);
    q->w = malloc((size_t)q->nw);
    if (!q->w) abort();
    for (long o = 0; o < m; o++)    /* (M, C/g, kh, kw) -> (M, kh, kw, C/g) */
        for (long ci = 0; ci < cg; ci++)
            for (long ky = 0; ky < kh; ky++)
                for (long kx = 0; kx < kw; kx++)
                    q->w[((o * kh + ky) * kw + kx) * cg + ci] = (int8_t)((int32_t)w->data[((o * cg + ci) * kh + ky) * kw + kx] + w_off);
    if (b) q8_onnx_bias(q, b, m);
    q->x_zp = (int32_t)xzp->data[0] + x_off;
    q->x_scale = xs->data[0];
    q->y_scale = ys->data[0];
    q->y_zp = (int32_t)yzp->data[0];
    q->y_off = y_off;
    q8_clamp(q, y_off, lo, hi);
    Attrs at;
    memset(&at, 0, sizeof at);
    at.q8 = q;
    at.conv = geo;
    at.samples = (int)x->dims[0];
    long dims[4] = { x->dims[0], geo.oh, geo.ow, m }, nchw[4] = { x->dims[0], m, geo.oh, geo.ow };
    char name[170];
    Tensor *yq = onnx_node_out(c->im, OP_Q8_CONV2D, &xq, 1, &at, onnx_part(c, "int8_out", name), 4, dims);
    if (!yq) return NULL;
    c->im->g->values[yq->value].dtype = DT_I8;
    return onnx_q8_output(c, yq, y_off, yzp->dtype, Q8_NHWC, 4, nchw);
}

/* x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp[, B (int32)] */
Tensor *onnx_qlinear_conv(Ctx *c) {
    Tensor *x = c->in[0], *w = c->in[3], *b = OPT_IN(8);
    if (b && b->data)   /* the importer holds constants in float32: int32 beyond 2^24 would be rounded */
        for (long i = 0; i < onnx_numel(b->dims, b->rank); i++)
            if (fabsf(b->data[i]) >= 16777216.0f) {
                onnx_unsupported(c->im, "a QLinearConv bias beyond 2^24 (nnc holds constants in float32)");
                return NULL;
            }
    Tensor *q = onnx_q8_conv(c, -32768, 32767);
    if (q) return q;
    Tensor *sum = integer_product(c, onnx_conv, centred(c, x, c->in[2], 1, "x_centred"),
                                  centred(c, w, c->in[5], 0, "w_centred"), OPT_IN(8));
    /* the weight's scale per output channel: axis 1 of the result (N, M, ...) */
    return requantize(c, sum, c->in[1], 0, c->in[4], 1, c->in[6], c->in[7]);
}
