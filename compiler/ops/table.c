/* table.c — the op table: one row per op kind (ops/op_list.h), each row the
 * OpDef its family file defines with everything the compiler knows about
 * the op (name, .nn attribute schema, shape rule, parameters, gradient
 * rule, FLOPs, GEMM shape, emission, folding).  Adding an op means a line in
 * op_list.h, its OpDef in the family's file, its runtime kernel and tests;
 * no other file switches on ops.
 *
 * Gradient rules append backward nodes that overwrite fresh values; where a
 * value has several consumers autodiff sums the contributions with `add`.
 * Also here: the names of the enumerations attributes take. */
#include <string.h>
#include "ir.h"

#define DECLARE(ID, def) extern const OpDef def;
NNC_OPS(DECLARE)
#undef DECLARE

const OpDef *const op_table[OP_COUNT] = {
#define ROW(ID, def) [OP_##ID] = &def,
    NNC_OPS(ROW)
#undef ROW
};

int op_find(const char *name) {
    for (int i = 0; i < OP_COUNT; i++)
        if (!strcmp(op_table[i]->name, name)) return i;
    return -1;
}

/* ---- names of enumerations used in attributes --------------------------- */

/* indexed by the runtime's enums (nnc_rt_act, nnc_rt_loss, nnc_rt_init) */
const char *const act_names[] = { "linear", "relu", "sigmoid", "tanh", "softmax", "relu6" };
const int act_count = 6;
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

