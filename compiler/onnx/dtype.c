/* dtype.c — ONNX element types carried in float32: each importer Tensor
 * keeps its ONNX type (from its initializer, graph input or Constant, else
 * by the rules below from its node), and the builders of integer
 * arithmetic use it to give results ONNX's (numpy's) semantics.
 *
 * Decisions:
 *  - Values stay floats: an integer of any width is exact while it is
 *    within +-2^24.  Add, Sub, Mul, Neg, Abs, Div, Sum and BitShift on the
 *    8- and 16-bit types and on uint32/uint64 wrap around in the type's
 *    width (an element-wise WRAP after the float operation, exact because
 *    the float result is exact there; a 16-bit product goes through MUL16,
 *    computed in double).  int32 and int64 do not wrap: their results are
 *    exact up to 2^24, as everywhere in nnc.
 *  - Integer Div truncates toward zero; by zero it gives 0 (numpy's integer
 *    result; ONNX leaves it undefined).  Mod is the float kernel, exact on
 *    integers up to 2^24.
 *  - An op nnc cannot compute exactly on a wrapping type (Pow of an integer
 *    base, MatMul, Conv, reductions that sum, ...) is refused (exit 3)
 *    when its input has that type, rather than computed in float and
 *    silently different; float16 and bfloat16 are computed in float32 (more
 *    precise than the type), only a Cast to them rounds.
 */
#include <math.h>
#include <string.h>

#include "onnx/onnx.h"

#define TY(x) ONNX__TENSOR_PROTO__DATA_TYPE__##x

int onnx_type_int(int t) {
    return t == TY(UINT8) || t == TY(INT8) || t == TY(UINT16) || t == TY(INT16) || t == TY(INT32) ||
           t == TY(INT64) || t == TY(UINT32) || t == TY(UINT64);
}

static int bits_of(int t) {
    return t == TY(UINT8) || t == TY(INT8) ? 8 : t == TY(UINT16) || t == TY(INT16) ? 16 :
           t == TY(INT32) || t == TY(UINT32) ? 32 : 64;
}

static int signed_type(int t) { return t == TY(INT8) || t == TY(INT16) || t == TY(INT32) || t == TY(INT64); }

int onnx_type_wraps(int t) { return onnx_type_int(t) && t != TY(INT32) && t != TY(INT64); }

Tensor *onnx_wrap(Ctx *c, Tensor *x, int t, const char *name) {
    if (!x) return NULL;
    Attrs a;
    memset(&a, 0, sizeof a);
    a.fn = NNC_RT_UN_WRAP;
    a.alpha = ldexpf(1.0f, bits_of(t));
    a.beta = signed_type(t) ? -ldexpf(1.0f, bits_of(t) - 1) : 0.0f;
    Tensor *y = onnx_apply(c->im, OP_ND_UNARY, &x, 1, &a, name, x->rank, x->dims);
    if (y) y->dtype = t;
    return y;
}

/* ---- what nnc computes exactly on a wrapping integer type ----------------------- */

/* ops that move, select or compare elements (exact on any integer held in
 * a float), or whose builders give them their type's semantics */
static const char *const exact_ops[] = {
    "Add", "Sub", "Mul", "Div", "Mod", "Neg", "Abs", "Sum", "Max", "Min", "Clip", "Sign", "Relu", "BitShift",
    "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "Cast", "CastLike", "Identity",
    "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Slice", "Concat", "Split", "Gather",
    "GatherElements", "GatherND", "Expand", "Tile", "Pad", "Where", "DepthToSpace", "SpaceToDepth",
    "Trilu", "Shape", "Size", "ReduceMax", "ReduceMin", "ArgMax", "ArgMin", "MaxPool", "GlobalMaxPool",
    "Compress", "ReverseSequence", "NonZero", "TopK", "ScatterND", "ScatterElements", "Scatter", "OneHot",
    "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear",
    "ConvInteger", "MatMulInteger", "QLinearConv", "QLinearMatMul",   /* zero points subtracted first */
    "EyeLike", "ConstantOfShape", "Range", "If", "Loop", "Scan",   /* their bodies' nodes are checked one by one */
};

int onnx_types_check(Ctx *c) {
    const char *op = c->n->op_type;
    for (int i = 0; i < c->nin; i++) {
        if (!c->in[i] || !onnx_type_wraps(c->in[i]->dtype)) continue;
        if (!strcmp(op, "Pow") && i == 1) continue;     /* an integer exponent of a float base */
        int ok = 0;
        for (size_t k = 0; !ok && k < sizeof exact_ops / sizeof exact_ops[0]; k++) ok = !strcmp(op, exact_ops[k]);
        if (onnx_attr(c->n, "reduction") && !onnx_attr_is(c->n, "reduction", "none"))
            ok = 0;     /* ScatterND/ScatterElements adding or multiplying into the data */
        if (ok) continue;
        char why[200];
        snprintf(why, sizeof why, "%s on %s tensors (input %d): nnc computes in float32 and gives integer "
                 "semantics (wrap-around) only to element-wise arithmetic, comparisons and data movement",
                 op, onnx_dtype_name(c->in[i]->dtype), i);
        onnx_unsupported(c->im, why);
        return -1;
    }
    return 0;
}

/* ---- the element types of a node's results ------------------------------------- */

static int is_op(Ctx *c, const char *const *names) {
    for (; *names; names++)
        if (!strcmp(c->n->op_type, *names)) return 1;
    return 0;
}

/* the type of output i of the node just built */
static int out_type(Ctx *c, int i) {
    static const char *const bools[] = { "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "Not", "And",
                                         "Or", "Xor", "IsNaN", "IsInf", NULL };
    static const char *const longs[] = { "Shape", "Size", "ArgMax", "ArgMin", "NonZero", NULL };
    static const char *const second_long[] = { "MaxPool", "TopK", "Unique", NULL };
    const char *op = c->n->op_type;
    if (is_op(c, bools) || (i == 1 && !strcmp(op, "Dropout"))) return TY(BOOL);
    if (is_op(c, longs) || (i >= 1 && is_op(c, second_long))) return TY(INT64);
    if (!strcmp(op, "Cast")) return (int)onnx_attr_i(c->n, "to", TY(FLOAT));
    if (!strcmp(op, "CastLike")) return c->in[1]->dtype ? c->in[1]->dtype : TY(FLOAT);
    if (!strcmp(op, "Where")) return c->in[1]->dtype;
    if (!strcmp(op, "Constant") || !strcmp(op, "ConstantOfShape")) {
        for (size_t k = 0; k < c->n->n_attribute; k++) {
            const Onnx__AttributeProto *a = c->n->attribute[k];
            if (!strcmp(a->name, "value") && a->t) return a->t->data_type;
            if (!strcmp(a->name, "value_int") || !strcmp(a->name, "value_ints")) return TY(INT64);
        }
        return TY(FLOAT);
    }
    if (!strcmp(op, "EyeLike") && onnx_attr(c->n, "dtype")) return (int)onnx_attr_i(c->n, "dtype", TY(FLOAT));
    if (!strcmp(op, "OneHot")) return c->nin > 2 && c->in[2] ? c->in[2]->dtype : 0;
    /* If, Loop, Scan: the types their bodies declare (Loop's body first returns its condition) */
    const char *body = !strcmp(op, "If") ? "then_branch" : !strcmp(op, "Loop") || !strcmp(op, "Scan") ? "body" : NULL;
    if (body) {
        const Onnx__AttributeProto *a = onnx_attr(c->n, body);
        size_t k = (size_t)i + !strcmp(op, "Loop");
        const Onnx__TypeProto *ty = a && a->g && k < a->g->n_output ? a->g->output[k]->type : NULL;
        return ty && ty->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && ty->tensor_type ?
               ty->tensor_type->elem_type : 0;
    }
    /* ops whose results have a type of their own that nnc does not track: unknown, computed as floats */
    if (!strcmp(op, "DequantizeLinear")) return c->in[1]->dtype;     /* the scale's */
    if (!strcmp(op, "QuantizeLinear"))
        return c->nin > 2 && c->in[2] && c->in[2]->dtype ? c->in[2]->dtype :
               (int)onnx_attr_i(c->n, "output_dtype", TY(UINT8));
    if (!strcmp(op, "DynamicQuantizeLinear")) return i == 1 ? TY(FLOAT) : TY(UINT8);
    if (!strcmp(op, "ConvInteger") || !strcmp(op, "MatMulInteger")) return TY(INT32);
    if (!strcmp(op, "TfIdfVectorizer")) return TY(FLOAT);     /* counts of integer tokens */
    if (!strcmp(op, "QLinearConv") || !strcmp(op, "QLinearMatMul")) return c->in[7]->dtype ? c->in[7]->dtype : TY(UINT8);
    static const char *const own[] = { "Multinomial", "RandomNormal",
                                       "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Bernoulli",
                                       "SequenceAt", "Optional", "OptionalGetElement", NULL };
    if (is_op(c, own)) return 0;
    for (int k = 0; k < c->nin; k++)
        if (c->in[k]) return c->in[k]->dtype;
    return 0;
}

void onnx_types_out(Ctx *c) {
    for (size_t i = 0; i < c->n->n_output; i++) {
        Tensor *t = *c->n->output[i] ? onnx_find(c->im, c->n->output[i]) : NULL;
        if (t && !t->failed) t->dtype = out_type(c, (int)i);
    }
}

/* ---- integer arithmetic ----------------------------------------------------------- */

Tensor *onnx_typed_binary(Ctx *c, int fn) {
    Tensor *x = c->in[0], *y = c->in[1];
    int t = x->dtype ? x->dtype : y->dtype;     /* ONNX gives both the same type; one may be untracked */
    const char *out = onnx_out_name(c, 0);
    if (!onnx_type_int(t)) return onnx_binary_of(c, fn, x, y, out);
    if (fn == NNC_RT_BIN_DIV) fn = NNC_RT_BIN_IDIV;
    if (fn == NNC_RT_BIN_MUL && bits_of(t) == 16) fn = NNC_RT_BIN_MUL16;
    int wrap = onnx_type_wraps(t) && (fn == NNC_RT_BIN_ADD || fn == NNC_RT_BIN_SUB || fn == NNC_RT_BIN_MUL ||
                                      fn == NNC_RT_BIN_MUL16 || fn == NNC_RT_BIN_IDIV || fn == NNC_RT_BIN_POW);
    if (fn == NNC_RT_BIN_POW && wrap) {     /* a power of an integer wraps at every product */
        char why[96];
        snprintf(why, sizeof why, "Pow of a %s base (nnc computes powers in float32)", onnx_dtype_name(t));
        onnx_unsupported(c->im, why);
        return NULL;
    }
    char raw[170];
    onnx_part(c, "raw", raw);
    if (fn == NNC_RT_BIN_POW) {     /* int32/int64 to a float power: toward zero, as a cast to the base's type */
        Tensor *r = onnx_binary_of(c, fn, x, y, raw);
        Attrs a;
        memset(&a, 0, sizeof a);
        a.fn = NNC_RT_UN_TRUNC;
        return r ? onnx_apply(c->im, OP_ND_UNARY, &r, 1, &a, out, r->rank, r->dims) : NULL;
    }
    Tensor *r = onnx_binary_of(c, fn, x, y, wrap ? raw : out);
    return wrap ? onnx_wrap(c, r, t, out) : r;
}

Tensor *onnx_typed_unary(Ctx *c, int fn, float alpha, float beta) {
    Tensor *x = c->in[0];
    if (!onnx_type_wraps(x->dtype) || (fn != NNC_RT_UN_NEG && fn != NNC_RT_UN_ABS))
        return onnx_unary(c, fn, alpha, beta);
    Tensor *r = onnx_unary_of(c, fn, x, "raw");     /* -(-128) is -128 in int8, -(3) is 253 in uint8 */
    return onnx_wrap(c, r, x->dtype, onnx_out_name(c, 0));
}

/* BitShift (unsigned types): LEFT multiplies by 2^s and wraps around,
 * RIGHT divides by 2^s and rounds down; a shift of the width or more gives
 * 0 (2^s is exact in float up to 2^127, inf beyond, which WRAP takes to 0) */
Tensor *onnx_bitshift(Ctx *c) {
    Tensor *x = c->in[0];
    int t = x->dtype, left = onnx_attr_is(c->n, "direction", "LEFT");
    if (!left && !onnx_attr_is(c->n, "direction", "RIGHT")) {
        onnx_invalid(c->im, "BitShift's direction must be \"LEFT\" or \"RIGHT\"");
        return NULL;
    }
    if (t != TY(UINT8) && t != TY(UINT16) && t != TY(UINT32) && t != TY(UINT64)) {
        char why[96];
        snprintf(why, sizeof why, "BitShift of %s tensors (ONNX defines it on unsigned integers)",
                 t ? onnx_dtype_name(t) : "untyped");
        onnx_unsupported(c->im, why);
        return NULL;
    }
    char n1[170], n2[170];
    Tensor *p = onnx_binary_of(c, NNC_RT_BIN_POW, onnx_scalar(c, "two", 2.0f), c->in[1], onnx_part(c, "scale", n1));
    if (!p) return NULL;
    Tensor *r = onnx_binary_of(c, left ? NNC_RT_BIN_MUL : NNC_RT_BIN_DIV, x, p, onnx_part(c, "raw", n2));
    if (!r) return NULL;
    if (left) return onnx_wrap(c, r, t, onnx_out_name(c, 0));
    Attrs a;
    memset(&a, 0, sizeof a);
    a.fn = NNC_RT_UN_FLOOR;
    return onnx_apply(c->im, OP_ND_UNARY, &r, 1, &a, onnx_out_name(c, 0), r->rank, r->dims);
}
