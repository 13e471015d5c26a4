/* map.c — the ONNX op -> builder table (one row per ONNX op type nnc
 * imports) and the node loop: each node's inputs looked up, its row found,
 * its builder run.
 *
 * Decisions:
 *  - Element-wise ONNX ops need no builder: their row names the runtime's
 *    unary or binary function, and unary_params reads ONNX's defaults.
 *    Everything else has a builder in the family file that owns it
 *    (map_math, map_tensor, map_const, map_nn, map_rnn).
 *  - A node that fails poisons its outputs: the nodes reading them are
 *    skipped quietly, so each unsupported feature is reported once, and all
 *    of them in one run.
 */
#include <string.h>

#include "onnx/onnx.h"

/* ---- the table ------------------------------------------------------------------- */

/* the operator table of the importer: ONNX op type -> what builds it */
typedef struct OnnxOp {
    const char *name;
    int unary;          /* an element-wise function (nnc_rt_unary), or -1 */
    int binary;         /* a broadcasting binary (nnc_rt_binary), or -1    */
    Tensor *(*build)(Ctx *c);
} OnnxOp;

/* the builders with a parameter, one per ONNX op */
static Tensor *op_identity(Ctx *c) { return onnx_unary(c, NNC_RT_UN_IDENTITY, 0, 0); }
static Tensor *op_max(Ctx *c) { return onnx_variadic(c, NNC_RT_BIN_MAX, 0); }
static Tensor *op_min(Ctx *c) { return onnx_variadic(c, NNC_RT_BIN_MIN, 0); }
static Tensor *op_sum(Ctx *c) { return onnx_variadic(c, NNC_RT_BIN_ADD, 0); }
static Tensor *op_mean(Ctx *c) { return onnx_variadic(c, NNC_RT_BIN_ADD, 1); }
static Tensor *op_squeeze1(Ctx *c) { return onnx_squeeze(c, 0); }
static Tensor *op_unsqueeze(Ctx *c) { return onnx_squeeze(c, 1); }
static Tensor *op_softmax1(Ctx *c) { return onnx_softmax(c, NNC_RT_SOFTMAX_PLAIN); }
static Tensor *op_logsoftmax(Ctx *c) { return onnx_softmax(c, NNC_RT_SOFTMAX_LOG); }
static Tensor *op_hardmax(Ctx *c) { return onnx_softmax(c, NNC_RT_SOFTMAX_HARD); }
#define RED(nm, fn) static Tensor *op_##nm(Ctx *c) { return onnx_reduce(c, fn); }
RED(rsum, NNC_RT_RED_SUM) RED(rmean, NNC_RT_RED_MEAN) RED(rmax, NNC_RT_RED_MAX) RED(rmin, NNC_RT_RED_MIN)
RED(rprod, NNC_RT_RED_PROD) RED(rl1, NNC_RT_RED_L1) RED(rl2, NNC_RT_RED_L2) RED(rlogsum, NNC_RT_RED_LOG_SUM)
RED(rlse, NNC_RT_RED_LOG_SUM_EXP) RED(rsumsq, NNC_RT_RED_SUM_SQUARE)
static Tensor *op_argmax(Ctx *c) { return onnx_arg(c, NNC_RT_RED_MAX); }
static Tensor *op_argmin(Ctx *c) { return onnx_arg(c, NNC_RT_RED_MIN); }
static Tensor *op_maxpool(Ctx *c) { return onnx_pool(c, 0); }
static Tensor *op_avgpool(Ctx *c) { return onnx_pool(c, 1); }
static Tensor *op_gap(Ctx *c) { return onnx_global_pool(c, NNC_RT_RED_MEAN); }
static Tensor *op_gmp(Ctx *c) { return onnx_global_pool(c, NNC_RT_RED_MAX); }
static Tensor *op_lstm(Ctx *c) { return onnx_recurrent(c, NNC_RT_CELL_LSTM); }
static Tensor *op_gru(Ctx *c) { return onnx_recurrent(c, NNC_RT_CELL_GRU); }
static Tensor *op_rnn(Ctx *c) { return onnx_recurrent(c, NNC_RT_CELL_SIMPLE); }

static const OnnxOp onnx_ops[] = {
    { "Abs", NNC_RT_UN_ABS, -1, NULL }, { "Neg", NNC_RT_UN_NEG, -1, NULL },
    { "Exp", NNC_RT_UN_EXP, -1, NULL }, { "Log", NNC_RT_UN_LOG, -1, NULL },
    { "Sqrt", NNC_RT_UN_SQRT, -1, NULL }, { "Reciprocal", NNC_RT_UN_RECIPROCAL, -1, NULL },
    { "Floor", NNC_RT_UN_FLOOR, -1, NULL }, { "Ceil", NNC_RT_UN_CEIL, -1, NULL },
    { "Round", NNC_RT_UN_ROUND, -1, NULL }, { "Sign", NNC_RT_UN_SIGN, -1, NULL },
    { "Sin", NNC_RT_UN_SIN, -1, NULL }, { "Cos", NNC_RT_UN_COS, -1, NULL }, { "Tan", NNC_RT_UN_TAN, -1, NULL },
    { "Asin", NNC_RT_UN_ASIN, -1, NULL }, { "Acos", NNC_RT_UN_ACOS, -1, NULL }, { "Atan", NNC_RT_UN_ATAN, -1, NULL },
    { "Sinh", NNC_RT_UN_SINH, -1, NULL }, { "Cosh", NNC_RT_UN_COSH, -1, NULL },
    { "Asinh", NNC_RT_UN_ASINH, -1, NULL }, { "Acosh", NNC_RT_UN_ACOSH, -1, NULL },
    { "Atanh", NNC_RT_UN_ATANH, -1, NULL }, { "Erf", NNC_RT_UN_ERF, -1, NULL },
    { "Relu", NNC_RT_UN_RELU, -1, NULL }, { "Sigmoid", NNC_RT_UN_SIGMOID, -1, NULL },
    { "Tanh", NNC_RT_UN_TANH, -1, NULL }, { "Softplus", NNC_RT_UN_SOFTPLUS, -1, NULL },
    { "Softsign", NNC_RT_UN_SOFTSIGN, -1, NULL }, { "LeakyRelu", NNC_RT_UN_LEAKY_RELU, -1, NULL },
    { "Elu", NNC_RT_UN_ELU, -1, NULL }, { "Selu", NNC_RT_UN_SELU, -1, NULL }, { "Celu", NNC_RT_UN_CELU, -1, NULL },
    { "HardSigmoid", NNC_RT_UN_HARD_SIGMOID, -1, NULL }, { "HardSwish", NNC_RT_UN_HARD_SWISH, -1, NULL },
    { "ThresholdedRelu", NNC_RT_UN_THRESHOLDED_RELU, -1, NULL }, { "Not", NNC_RT_UN_NOT, -1, NULL },
    { "IsNaN", NNC_RT_UN_ISNAN, -1, NULL }, { "IsInf", NNC_RT_UN_ISINF, -1, NULL },
    { "Shrink", NNC_RT_UN_SHRINK, -1, NULL }, { "Mish", NNC_RT_UN_MISH, -1, NULL },
    { "Add", -1, NNC_RT_BIN_ADD, NULL }, { "Sub", -1, NNC_RT_BIN_SUB, NULL },
    { "Mul", -1, NNC_RT_BIN_MUL, NULL }, { "Div", -1, NNC_RT_BIN_DIV, NULL },
    { "Pow", -1, NNC_RT_BIN_POW, NULL }, { "Mod", -1, NNC_RT_BIN_MOD, NULL },
    { "PRelu", -1, NNC_RT_BIN_PRELU, NULL }, { "Equal", -1, NNC_RT_BIN_EQUAL, NULL },
    { "Less", -1, NNC_RT_BIN_LESS, NULL }, { "LessOrEqual", -1, NNC_RT_BIN_LESS_EQUAL, NULL },
    { "Greater", -1, NNC_RT_BIN_GREATER, NULL }, { "GreaterOrEqual", -1, NNC_RT_BIN_GREATER_EQUAL, NULL },
    { "And", -1, NNC_RT_BIN_AND, NULL }, { "Or", -1, NNC_RT_BIN_OR, NULL }, { "Xor", -1, NNC_RT_BIN_XOR, NULL },
    { "Max", -1, -1, op_max }, { "Min", -1, -1, op_min }, { "Sum", -1, -1, op_sum }, { "Mean", -1, -1, op_mean },
    { "Clip", -1, -1, onnx_clip }, { "Identity", -1, -1, op_identity }, { "Dropout", -1, -1, onnx_dropout },
    { "Cast", -1, -1, onnx_cast }, { "CastLike", -1, -1, onnx_cast },
    { "Reshape", -1, -1, onnx_reshape }, { "Flatten", -1, -1, onnx_flatten },
    { "Squeeze", -1, -1, op_squeeze1 }, { "Unsqueeze", -1, -1, op_unsqueeze },
    { "Transpose", -1, -1, onnx_transpose }, { "Slice", -1, -1, onnx_slice }, { "Concat", -1, -1, onnx_concat },
    { "Split", -1, -1, onnx_split }, { "Gather", -1, -1, onnx_gather }, { "Expand", -1, -1, onnx_expand },
    { "Tile", -1, -1, onnx_tile }, { "Pad", -1, -1, onnx_pad }, { "Where", -1, -1, onnx_where },
    { "MatMul", -1, -1, onnx_matmul }, { "Gemm", -1, -1, onnx_gemm },
    { "ArgMax", -1, -1, op_argmax }, { "ArgMin", -1, -1, op_argmin },
    { "GatherElements", -1, -1, onnx_gather_elements }, { "LayerNormalization", -1, -1, onnx_layernorm },
    { "NegativeLogLikelihoodLoss", -1, -1, onnx_nll }, { "SoftmaxCrossEntropyLoss", -1, -1, onnx_sce },
    { "Conv", -1, -1, onnx_conv }, { "ConvTranspose", -1, -1, onnx_conv_transpose }, { "MaxPool", -1, -1, op_maxpool }, { "AveragePool", -1, -1, op_avgpool },
    { "GlobalAveragePool", -1, -1, op_gap }, { "GlobalMaxPool", -1, -1, op_gmp },
    { "BatchNormalization", -1, -1, onnx_batchnorm }, { "InstanceNormalization", -1, -1, onnx_instancenorm },
    { "LSTM", -1, -1, op_lstm }, { "GRU", -1, -1, op_gru }, { "RNN", -1, -1, op_rnn },
    { "DepthToSpace", -1, -1, onnx_depth_to_space }, { "SpaceToDepth", -1, -1, onnx_space_to_depth },
    { "Trilu", -1, -1, onnx_trilu }, { "EyeLike", -1, -1, onnx_eyelike }, { "CumSum", -1, -1, onnx_cumsum },
    { "Softmax", -1, -1, op_softmax1 }, { "LogSoftmax", -1, -1, op_logsoftmax }, { "Hardmax", -1, -1, op_hardmax },
    { "ReduceSum", -1, -1, op_rsum }, { "ReduceMean", -1, -1, op_rmean }, { "ReduceMax", -1, -1, op_rmax },
    { "ReduceMin", -1, -1, op_rmin }, { "ReduceProd", -1, -1, op_rprod }, { "ReduceL1", -1, -1, op_rl1 },
    { "ReduceL2", -1, -1, op_rl2 }, { "ReduceLogSum", -1, -1, op_rlogsum },
    { "ReduceLogSumExp", -1, -1, op_rlse }, { "ReduceSumSquare", -1, -1, op_rsumsq },
    { "Constant", -1, -1, onnx_constant }, { "Shape", -1, -1, onnx_shape }, { "Size", -1, -1, onnx_size },
    { "ConstantOfShape", -1, -1, onnx_constant_of_shape }, { "Range", -1, -1, onnx_range },
};

/* the element-wise functions' parameters, ONNX defaults */
static void unary_params(const Onnx__NodeProto *n, int fn, float *alpha, float *beta) {
    *alpha = 0; *beta = 0;
    switch (fn) {
    case NNC_RT_UN_LEAKY_RELU: *alpha = onnx_attr_f(n, "alpha", 0.01f); break;
    case NNC_RT_UN_ELU: case NNC_RT_UN_CELU: case NNC_RT_UN_THRESHOLDED_RELU: *alpha = onnx_attr_f(n, "alpha", 1.0f); break;
    case NNC_RT_UN_SELU: *alpha = onnx_attr_f(n, "alpha", 1.67326319217681884765625f);
                         *beta = onnx_attr_f(n, "gamma", 1.05070102214813232421875f); break;
    case NNC_RT_UN_HARD_SIGMOID: *alpha = onnx_attr_f(n, "alpha", 0.2f); *beta = onnx_attr_f(n, "beta", 0.5f); break;
    case NNC_RT_UN_ISINF: *alpha = (float)onnx_attr_i(n, "detect_positive", 1); *beta = (float)onnx_attr_i(n, "detect_negative", 1); break;
    case NNC_RT_UN_SHRINK: *alpha = onnx_attr_f(n, "lambd", 0.5f); *beta = onnx_attr_f(n, "bias", 0.0f); break;
    default: break;
    }
}

/* ---- the node loop ---------------------------------------------------------------- */

/* one node: its builder's tensors for its outputs, or its outputs poisoned */
void onnx_import_node(Importer *im, const Onnx__NodeProto *n) {
    im->node = n;
    Ctx c = { im, n, { NULL }, 0 };
    int failed_input = 0;
    if (n->n_input > CTX_INPUTS) {
        char why[96];
        snprintf(why, sizeof why, "%zu inputs (nnc reads up to %d)", n->n_input, CTX_INPUTS);
        onnx_unsupported(im, why);
        failed_input = 1;
    }
    for (size_t i = 0; i < n->n_input && i < CTX_INPUTS; i++) {
        c.in[i] = *n->input[i] ? onnx_find(im, n->input[i]) : NULL;
        if (*n->input[i] && !c.in[i]) {
            diag_error(onnx_nowhere(), "%s reads '%s', which no earlier node or graph input defines "
                       "(the graph is not in topological order, has a cycle or misses an input)",
                       onnx_which_node(im), n->input[i]);
            failed_input = 1;
        } else if (c.in[i] && c.in[i]->failed) {
            failed_input = 1;
        }
        c.nin = (int)i + 1;
    }
    const OnnxOp *op = NULL;
    if (n->domain && *n->domain && strcmp(n->domain, "ai.onnx")) op = NULL;
    else
        for (size_t k = 0; k < sizeof onnx_ops / sizeof onnx_ops[0]; k++)
            if (!strcmp(onnx_ops[k].name, n->op_type)) op = &onnx_ops[k];
    Tensor *r = NULL;
    if (!op && !failed_input) onnx_unsupported(im, "no such operator in nnc");
    else if (!failed_input && c.nin > 0 && !c.in[0] && op->build != onnx_range)
        onnx_unsupported(im, "a missing first input");
    else if (!failed_input && op->unary >= 0) {
        float alpha, beta;
        unary_params(n, op->unary, &alpha, &beta);
        r = onnx_unary(&c, op->unary, alpha, beta);
    } else if (!failed_input && op->binary >= 0) {
        int fn = op->binary;
        if (fn == NNC_RT_BIN_MOD && onnx_attr_i(n, "fmod", 0)) fn = NNC_RT_BIN_FMOD;
        /* PRelu from older exporters: a slope per channel (axis 1) */
        Tensor *sl = c.in[1];
        if (fn == NNC_RT_BIN_PRELU && c.in[0]->rank > 2 && sl->rank == 1 && sl->dims[0] == c.in[0]->dims[1] &&
            sl->dims[0] != c.in[0]->dims[c.in[0]->rank - 1]) {
            c.in[1] = onnx_per_channel(&c, sl, c.in[0]->rank, "slope");
        }
        r = onnx_binary_of(&c, fn, c.in[0], c.in[1], n->output[0]);
    } else if (!failed_input) {
        r = op->build(&c);
    }
    if (!r)     /* every output of this node is poisoned: its users are skipped quietly */
        for (size_t i = 0; i < n->n_output; i++)
            if (!onnx_find(im, n->output[i])) onnx_add_tensor(im, n->output[i], 0, NULL)->failed = 1;
    for (size_t i = 0; r && i < n->n_output; i++)
        if (*n->output[i] && !onnx_find(im, n->output[i])) {
            diag_error(onnx_nowhere(), "%s: output %zu ('%s') is not supported", onnx_which_node(im), i, n->output[i]);
            im->unsupported++;
        }
}
