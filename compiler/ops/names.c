/* names.c — the names of the enumerations attributes take (activations,
 * losses, initializers, optimizers), indexed by the runtime's enums, as a
 * .nn file writes them.  Apart from the table so that the op files use
 * them without reading the table. */
#include <stdio.h>
#include <string.h>
#include "ir.h"

/* indexed by the runtime's enums (nnc_rt_act, nnc_rt_loss, nnc_rt_init) */
const char *const act_names[] = { "linear", "relu", "sigmoid", "tanh", "softmax", "relu6", "leaky_relu",
                                   "elu", "gelu", "swish", "silu", "hard_sigmoid", "softplus", "gelu_tanh",
                                   "hard_swish" };
const int act_count = NNC_RT_ACT_SOFTPLUS + 1;   /* gelu_tanh is gelu(approximate = true); hard_swish
                                                   * only an imported graph's epilogue */
const char *const loss_names[] = {
    "mse", "mae", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "binary_crossentropy_logits",
    "categorical_crossentropy_logits", "sparse_categorical_crossentropy_logits" };
const int loss_count = NNC_RT_LOSS_SPARSE_CCE + 1;   /* the *_logits kinds come from fusion */
const char *const init_names[] = { "zeros", "ones", "glorot_uniform", "glorot_normal",
                                   "he_uniform", "he_normal", "orthogonal", "uniform",
                                   "unit_forget" };
const int init_count = 8;   /* unit_forget is the LSTM bias rule, not a user's choice */
const char *const opt_names[] = { "sgd", "rmsprop", "adam", "adamw" };   /* by OptKind */

int name_index(const char *name, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (!strcmp(name, names[i])) return i;
    return -1;
}

const char *act_name(int act) { return act_names[act]; }
const char *loss_name(int loss) { return loss_names[loss]; }
/* as a train block writes it: "sparse_categorical_crossentropy(from_logits = true)" */
const char *loss_spelling(int loss) {
    static char b[96];
    if (loss < NNC_RT_LOSS_BCE_LOGITS) return loss_names[loss];
    snprintf(b, sizeof b, "%s(from_logits = true)", loss_names[loss - NNC_RT_LOSS_BCE_LOGITS + NNC_RT_LOSS_BCE]);
    return b;
}
const char *init_name(int init) { return init_names[init]; }

/* the N-d element-wise and reduction functions (nnc_rt_unary, nnc_rt_binary,
 * the reductions), for messages */
static const char *const unary_names[] = {
    "identity", "abs", "neg", "exp", "log", "sqrt", "reciprocal", "floor", "ceil", "round", "sign", "sin", "cos",
    "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "erf", "relu", "sigmoid", "tanh",
    "softplus", "softsign", "leaky_relu", "elu", "selu", "celu", "hard_sigmoid", "hard_swish", "thresholded_relu",
    "clip", "not", "isnan", "isinf", "shrink", "mish", "affine", "trunc", "wrap", "round_f16", "round_bf16" };
static const char *const binary_names[] = {
    "add", "sub", "mul", "div", "pow", "max", "min", "mod", "fmod", "prelu", "equal", "less", "less_equal",
    "greater", "greater_equal", "and", "or", "xor", "integer div", "mul16" };
static const char *const reduce_names[] = { "sum", "mean", "max", "min", "prod", "l1", "l2", "log_sum",
                                            "log_sum_exp", "sum_square" };
#define NAME_OF(t, i) ((i) >= 0 && (size_t)(i) < sizeof t / sizeof t[0] ? t[i] : "?")
const char *unary_name(int fn) { return NAME_OF(unary_names, fn); }
const char *binary_name(int fn) { return NAME_OF(binary_names, fn); }
const char *reduce_name(int fn) { return NAME_OF(reduce_names, fn); }

/* a node for messages: "'layer'", or "the node computing 'value'" when it has no name */
const char *node_who(const Graph *g, const Node *n) {
    static char b[2 * IR_NAME + 32];
    if (n->layer[0]) snprintf(b, sizeof b, "'%s'", n->layer);
    else snprintf(b, sizeof b, "the node computing '%s'", n->nout ? g->values[n->out[0]].name : "?");
    return b;
}

