/* names.c — the names of the enumerations attributes take (activations,
 * losses, initializers, optimizers), indexed by the runtime's enums, as a
 * .nn file writes them.  Apart from the table so that the op files use
 * them without reading the table. */
#include <stdio.h>
#include <string.h>
#include "ir.h"

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

