/* map.c — the ONNX op -> builder table (one row per ONNX op type nnc
 * imports) and the node loop: each node's inputs looked up, its row found,
 * its builder run.
 *
 * Decisions:
 *  - Element-wise ONNX ops need no builder: their row names the runtime's
 *    unary or binary function, and unary_params reads ONNX's defaults.
 *    Everything else has a builder in the family file that owns it
 *    (map_math, map_tensor, map_const, map_nn, map_rnn).
 *  - Each row holds ONNX's input and output counts for its op (the union
 *    over the opsets nnc implements, with the opset from which more inputs
 *    are required); onnx_import_node checks them before the builder runs,
 *    so a builder may read every required c->in[i] without a NULL check.
 *    A node breaking them is invalid (exit 1).
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
    int min_in, max_in;     /* the inputs ONNX defines (VAR: any number, all named) */
    int max_out;            /* the outputs ONNX defines */
    int since, min_since;   /* from opset `since` on, min_since inputs are required */
} OnnxOp;

#define VAR CTX_INPUTS
#define OPT_VAR (1 << 30)   /* any number, some of them empty (Loop's M and cond): the builder checks them */
#define UN(nm, fn) { nm, fn, -1, NULL, 1, 1, 1, 0, 0 }
#define BI(nm, fn) { nm, -1, fn, NULL, 2, 2, 1, 0, 0 }
#define OP(nm, build, lo, hi, outs) { nm, -1, -1, build, lo, hi, outs, 0, 0 }

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
    UN("Abs", NNC_RT_UN_ABS), UN("Neg", NNC_RT_UN_NEG),
    UN("Exp", NNC_RT_UN_EXP), UN("Log", NNC_RT_UN_LOG),
    UN("Sqrt", NNC_RT_UN_SQRT), UN("Reciprocal", NNC_RT_UN_RECIPROCAL),
    UN("Floor", NNC_RT_UN_FLOOR), UN("Ceil", NNC_RT_UN_CEIL),
    UN("Round", NNC_RT_UN_ROUND), UN("Sign", NNC_RT_UN_SIGN),
    UN("Sin", NNC_RT_UN_SIN), UN("Cos", NNC_RT_UN_COS), UN("Tan", NNC_RT_UN_TAN),
    UN("Asin", NNC_RT_UN_ASIN), UN("Acos", NNC_RT_UN_ACOS), UN("Atan", NNC_RT_UN_ATAN),
    UN("Sinh", NNC_RT_UN_SINH), UN("Cosh", NNC_RT_UN_COSH),
    UN("Asinh", NNC_RT_UN_ASINH), UN("Acosh", NNC_RT_UN_ACOSH),
    UN("Atanh", NNC_RT_UN_ATANH), UN("Erf", NNC_RT_UN_ERF),
    UN("Relu", NNC_RT_UN_RELU), UN("Sigmoid", NNC_RT_UN_SIGMOID),
    UN("Tanh", NNC_RT_UN_TANH), UN("Softplus", NNC_RT_UN_SOFTPLUS),
    UN("Softsign", NNC_RT_UN_SOFTSIGN), UN("LeakyRelu", NNC_RT_UN_LEAKY_RELU),
    UN("Elu", NNC_RT_UN_ELU), UN("Selu", NNC_RT_UN_SELU), UN("Celu", NNC_RT_UN_CELU),
    UN("HardSigmoid", NNC_RT_UN_HARD_SIGMOID), UN("HardSwish", NNC_RT_UN_HARD_SWISH),
    UN("ThresholdedRelu", NNC_RT_UN_THRESHOLDED_RELU), UN("Not", NNC_RT_UN_NOT),
    UN("IsNaN", NNC_RT_UN_ISNAN), UN("IsInf", NNC_RT_UN_ISINF),
    UN("Shrink", NNC_RT_UN_SHRINK), UN("Mish", NNC_RT_UN_MISH),
    BI("Add", NNC_RT_BIN_ADD), BI("Sub", NNC_RT_BIN_SUB),
    BI("Mul", NNC_RT_BIN_MUL), BI("Div", NNC_RT_BIN_DIV),
    BI("Pow", NNC_RT_BIN_POW), BI("Mod", NNC_RT_BIN_MOD),
    BI("PRelu", NNC_RT_BIN_PRELU), BI("Equal", NNC_RT_BIN_EQUAL),
    BI("Less", NNC_RT_BIN_LESS), BI("LessOrEqual", NNC_RT_BIN_LESS_EQUAL),
    BI("Greater", NNC_RT_BIN_GREATER), BI("GreaterOrEqual", NNC_RT_BIN_GREATER_EQUAL),
    BI("And", NNC_RT_BIN_AND), BI("Or", NNC_RT_BIN_OR), BI("Xor", NNC_RT_BIN_XOR),
    OP("Max", op_max, 1, VAR, 1), OP("Min", op_min, 1, VAR, 1), OP("Sum", op_sum, 1, VAR, 1), OP("Mean", op_mean, 1, VAR, 1),
    OP("Clip", onnx_clip, 1, 3, 1), OP("Identity", op_identity, 1, 1, 1), OP("Dropout", onnx_dropout_train, 1, 3, 2),
    OP("Cast", onnx_cast, 1, 1, 1), OP("CastLike", onnx_cast, 2, 2, 1),
    OP("BitShift", onnx_bitshift, 2, 2, 1),
    OP("QuantizeLinear", onnx_quantize, 2, 3, 1), OP("DequantizeLinear", onnx_dequantize, 2, 3, 1),
    OP("DynamicQuantizeLinear", onnx_dynamic_quantize, 1, 1, 3),
    OP("ConvInteger", onnx_conv_integer, 2, 4, 1), OP("MatMulInteger", onnx_matmul_integer, 2, 4, 1),
    OP("QLinearConv", onnx_qlinear_conv, 8, 9, 1), OP("QLinearMatMul", onnx_qlinear_matmul, 8, 8, 1),
    { "Reshape", -1, -1, onnx_reshape, 1, 2, 1, 5, 2 }, OP("Flatten", onnx_flatten, 1, 1, 1),
    OP("Squeeze", op_squeeze1, 1, 2, 1), { "Unsqueeze", -1, -1, op_unsqueeze, 1, 2, 1, 13, 2 },
    OP("Transpose", onnx_transpose, 1, 1, 1), { "Slice", -1, -1, onnx_slice, 1, 5, 1, 10, 3 }, OP("Concat", onnx_concat, 1, VAR, 1),
    OP("Split", onnx_split, 1, 2, VAR), OP("Gather", onnx_gather, 2, 2, 1), OP("Expand", onnx_expand, 2, 2, 1),
    OP("Tile", onnx_tile, 2, 3, 1), { "Pad", -1, -1, onnx_pad, 1, 4, 1, 11, 2 }, OP("Where", onnx_where, 3, 3, 1),
    OP("MatMul", onnx_matmul, 2, 2, 1), OP("Gemm", onnx_gemm, 2, 3, 1),
    OP("ArgMax", op_argmax, 1, 1, 1), OP("ArgMin", op_argmin, 1, 1, 1),
    OP("GatherElements", onnx_gather_elements, 2, 2, 1), OP("LayerNormalization", onnx_layernorm, 2, 3, 3),
    OP("NegativeLogLikelihoodLoss", onnx_nll, 2, 3, 1), OP("SoftmaxCrossEntropyLoss", onnx_sce, 2, 3, 2),
    OP("Conv", onnx_conv, 2, 3, 1), OP("ConvTranspose", onnx_conv_transpose, 2, 3, 1), OP("MaxPool", op_maxpool, 1, 1, 2), OP("AveragePool", op_avgpool, 1, 1, 1),
    OP("GlobalAveragePool", op_gap, 1, 1, 1), OP("GlobalMaxPool", op_gmp, 1, 1, 1),
    OP("BatchNormalization", onnx_batchnorm, 5, 5, 5), OP("InstanceNormalization", onnx_instancenorm, 3, 3, 1),
    OP("LSTM", op_lstm, 3, 8, 3), OP("GRU", op_gru, 3, 6, 2), OP("RNN", op_rnn, 3, 6, 2),
    OP("DepthToSpace", onnx_depth_to_space, 1, 1, 1), OP("SpaceToDepth", onnx_space_to_depth, 1, 1, 1),
    OP("Trilu", onnx_trilu, 1, 2, 1), OP("EyeLike", onnx_eyelike, 1, 1, 1), OP("CumSum", onnx_cumsum, 2, 2, 1),
    OP("Softmax", op_softmax1, 1, 1, 1), OP("LogSoftmax", op_logsoftmax, 1, 1, 1), OP("Hardmax", op_hardmax, 1, 1, 1),
    OP("ReduceSum", op_rsum, 1, 2, 1), OP("ReduceMean", op_rmean, 1, 2, 1), OP("ReduceMax", op_rmax, 1, 2, 1),
    OP("ReduceMin", op_rmin, 1, 2, 1), OP("ReduceProd", op_rprod, 1, 2, 1), OP("ReduceL1", op_rl1, 1, 2, 1),
    OP("ReduceL2", op_rl2, 1, 2, 1), OP("ReduceLogSum", op_rlogsum, 1, 2, 1),
    OP("ReduceLogSumExp", op_rlse, 1, 2, 1), OP("ReduceSumSquare", op_rsumsq, 1, 2, 1),
    OP("Constant", onnx_constant, 0, 0, 1), OP("Shape", onnx_shape, 1, 1, 1), OP("Size", onnx_size, 1, 1, 1),
    OP("ConstantOfShape", onnx_constant_of_shape, 1, 1, 1), OP("Range", onnx_range, 3, 3, 1),
    OP("Resize", onnx_resize, 1, 4, 1), OP("Upsample", onnx_upsample, 1, 2, 1),
    OP("ScatterElements", onnx_scatter_elements, 3, 3, 1), OP("Scatter", onnx_scatter_elements, 3, 3, 1),
    OP("ScatterND", onnx_scatter_nd, 3, 3, 1), OP("GatherND", onnx_gather_nd, 2, 2, 1),
    { "TopK", -1, -1, onnx_topk, 1, 2, 2, 10, 2 }, OP("OneHot", onnx_onehot, 3, 3, 1),
    OP("Compress", onnx_compress, 2, 2, 1), OP("ReverseSequence", onnx_reverse_sequence, 2, 2, 1),
    OP("NonZero", onnx_nonzero, 1, 1, 1), OP("Unique", onnx_unique, 1, 1, 4), OP("Einsum", onnx_einsum, 1, VAR, 1),
    OP("If", onnx_if, 1, 1, OPT_VAR), OP("Loop", onnx_loop, 0, OPT_VAR, OPT_VAR), OP("Scan", onnx_scan, 0, OPT_VAR, OPT_VAR),
    OP("HannWindow", onnx_hann, 1, 1, 1), OP("HammingWindow", onnx_hamming, 1, 1, 1),
    OP("BlackmanWindow", onnx_blackman, 1, 1, 1), OP("Det", onnx_det, 1, 1, 1),
    OP("MelWeightMatrix", onnx_mel_weight_matrix, 5, 5, 1), OP("GridSample", onnx_grid_sample, 2, 2, 1),
    OP("DFT", onnx_dft, 1, 3, 1), OP("STFT", onnx_stft, 2, 4, 1),
    OP("RoiAlign", onnx_roi_align, 3, 3, 1), OP("TfIdfVectorizer", onnx_tfidf, 1, 1, 1),
    OP("LRN", onnx_lrn, 1, 1, 1), OP("MeanVarianceNormalization", onnx_mvn, 1, 1, 1), OP("MaxUnpool", onnx_maxunpool, 2, 3, 1),
};

/* the ai.onnx.preview.training domain's ops (R, T, then lists of tensors) */
static const OnnxOp onnx_training_ops[] = {
    OP("Adagrad", onnx_adagrad, 5, VAR, VAR), OP("Adam", onnx_adam, 6, VAR, VAR), OP("Momentum", onnx_momentum, 5, VAR, VAR),
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

/* the node against its row: ONNX's input and output counts, every required
 * input named (a builder may read c->in[i] for i < the minimum unchecked);
 * -1 after reporting an invalid node */
static int check_arity(Importer *im, const Onnx__NodeProto *n, const OnnxOp *op) {
    int min = op->since && im->opset >= op->since ? op->min_since : op->min_in;
    if (n->n_output < 1) {
        onnx_invalid(im, "a node needs at least one output");
        return -1;
    }
    if ((int)n->n_output > op->max_out) {
        onnx_invalid(im, "%s has at most %d output%s, the node declares %zu", n->op_type, op->max_out,
                     op->max_out == 1 ? "" : "s", n->n_output);
        return -1;
    }
    if (op->max_in < VAR && (int)n->n_input > op->max_in) {
        onnx_invalid(im, "%s takes at most %d input%s, the node has %zu", n->op_type, op->max_in,
                     op->max_in == 1 ? "" : "s", n->n_input);
        return -1;
    }
    int check = op->max_in == VAR && (int)n->n_input > min ? (int)n->n_input : min;
    for (int i = 0; i < check; i++)
        if (i >= (int)n->n_input || !*n->input[i]) {
            if (op->max_in == VAR && i >= min)
                onnx_invalid(im, "input %d of %s is empty (its inputs are all required)", i, n->op_type);
            else
                onnx_invalid(im, "%s needs at least %d input%s%s, input %d is %s", n->op_type, min, min == 1 ? "" : "s",
                             op->since && im->opset >= op->since ? " at this opset" : "", i,
                             i >= (int)n->n_input ? "missing" : "empty");
            return -1;
        }
    return 0;
}

/* the row of a node's op type, or NULL (another domain, or an op nnc lacks) */
static const OnnxOp *row_of(const Onnx__NodeProto *n) {
    if (n->domain && !strcmp(n->domain, "ai.onnx.preview.training")) {
        for (size_t k = 0; k < sizeof onnx_training_ops / sizeof onnx_training_ops[0]; k++)
            if (!strcmp(onnx_training_ops[k].name, n->op_type)) return &onnx_training_ops[k];
        return NULL;
    }
    if (n->domain && *n->domain && strcmp(n->domain, "ai.onnx")) return NULL;
    for (size_t k = 0; k < sizeof onnx_ops / sizeof onnx_ops[0]; k++)
        if (!strcmp(onnx_ops[k].name, n->op_type)) return &onnx_ops[k];
    return NULL;
}

/* one node: its builder's tensors for its outputs, or its outputs poisoned */
void onnx_import_node(Importer *im, const Onnx__NodeProto *n) {
    if (im->nabsorbed && onnx_qdq_absorbed(im, n)) return;     /* built by the QDQ group before it */
    im->node = n;
    Ctx c = { im, n, { NULL }, 0 };
    const OnnxOp *op = row_of(n);
    int failed_input = 0;
    if (op && check_arity(im, n, op)) return;
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
    Tensor *r = NULL;
    if (!op) onnx_unsupported(im, "no such operator in nnc");   /* listed even after an unsupported input */
    else if (!failed_input && onnx_types_check(&c)) failed_input = 1;  /* refused for its element types */
    else if (!failed_input && im->qdq && onnx_qdq_fuse(&c)) return;   /* a QDQ group as an int8 op (qdq.c) */
    else if (!failed_input && op->unary >= 0) {
        float alpha, beta;
        unary_params(n, op->unary, &alpha, &beta);
        r = onnx_typed_unary(&c, op->unary, alpha, beta);
    } else if (!failed_input && op->binary >= 0) {
        int fn = op->binary;
        if (fn == NNC_RT_BIN_MOD && onnx_attr_i(n, "fmod", 0)) fn = NNC_RT_BIN_FMOD;
        /* PRelu from older exporters: a slope per channel (axis 1) */
        Tensor *sl = c.in[1];
        if (fn == NNC_RT_BIN_PRELU && c.in[0]->rank > 2 && sl->rank == 1 && sl->dims[0] == c.in[0]->dims[1] &&
            sl->dims[0] != c.in[0]->dims[c.in[0]->rank - 1]) {
            c.in[1] = onnx_per_channel(&c, sl, c.in[0]->rank, "slope");
        }
        r = onnx_typed_binary(&c, fn);     /* with the semantics of its element type */
    } else if (!failed_input) {
        int errors = diag_error_count();
        r = op->build(&c);
        if (!r && diag_error_count() == errors)     /* a builder's refusal must never pass unreported */
            onnx_unsupported(im, "its inputs or attributes (nnc could not build the node)");
    }
    if (r) onnx_types_out(&c);
    if (!r)     /* every output of this node is poisoned: its users are skipped quietly */
        for (size_t i = 0; i < n->n_output; i++)
            if (!onnx_find(im, n->output[i])) onnx_add_tensor(im, n->output[i], 0, NULL)->failed = 1;
    for (size_t i = 0; r && i < n->n_output; i++)
        if (*n->output[i] && !onnx_find(im, n->output[i])) {
            diag_error(onnx_nowhere(), "%s: output %zu ('%s') is not supported", onnx_which_node(im), i, n->output[i]);
            im->unsupported++;
        }
}
