/* map_quant.c — the builders of ONNX's linear quantization: QuantizeLinear,
 * DequantizeLinear and DynamicQuantizeLinear, the ops of QDQ-quantized
 * models, composed from the N-d element-wise ops (values stay floats; the
 * quantized ones are integers held in floats, typed by dtype.c).
 *
 * Decisions:
 *  - DequantizeLinear is (x - zero_point) * scale, QuantizeLinear
 *    saturate(round_half_even(x / scale) + zero_point) into the zero
 *    point's type (uint8 without one), each step one float32 operation, as
 *    ONNX's reference computes it.  A scale and zero point are a scalar, or
 *    one value per element of x along `axis` (shaped to broadcast there).
 *  - Blocked quantization (block_size, opset 21) and the float8 types are
 *    refused (exit 3).
 */
#include <math.h>
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
static Tensor *along_axis(Ctx *c, Tensor *v, Tensor *x, const char *what) {
    long n = onnx_numel(v->dims, v->rank), dims[MAX_T];
    if (n == 1 && v->rank <= 1) return v;
    if (v->rank != 1) {
        onnx_unsupported(c->im, "a scale or zero point of rank above 1 (blocked quantization)");
        return NULL;
    }
    int axis = onnx_axis(c, onnx_attr_i(c->n, "axis", 1), x->rank, 0, "axis");
    if (axis < 0) return NULL;
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
    return x ? onnx_binary_of(c, NNC_RT_BIN_MUL, x, s, onnx_out_name(c, 0)) : NULL;
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
