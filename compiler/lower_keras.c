/* lower_keras.c — Keras' spellings of what nnc has, so a Keras model
 * translates line by line: layer classes (Dense, Conv2D, BatchNormalization)
 * and their functional names (batch_normalization, max_pooling2d), loss names and classes (mean_squared_error,
 * SparseCategoricalCrossentropy(from_logits = True)), optimizer classes
 * (Adam, SGD, RMSprop, AdamW), metric aliases and True/False.
 *
 * Decisions:
 *  - An alias is accepted only where it means exactly what nnc's name
 *    means; it resolves to the same op or enum, so the graph, the layer
 *    names nnc makes (dense_1, ...) and the generated code are those of the
 *    canonical spelling.  The op table's own names come first: a layer
 *    another file adds under a Keras name shadows the alias here.
 *  - A CamelCase name is read as Keras' class: converted to snake_case the
 *    way Keras names its functional layers (MaxPooling2D -> max_pooling2d,
 *    SimpleRNN -> simple_rnn; ReLU is relu), then looked up as written.
 *  - A layer class written in CamelCase gets one note per op naming nnc's
 *    spelling (lower_keras_note): accepted, so the model compiles, and the
 *    user learns the name the README and the other diagnostics use.  A
 *    note, not a warning: nothing is wrong, so -Werror must not stop it.
 *  - Metrics get no CamelCase reading: Keras' Accuracy class is exact
 *    equality, not the 'accuracy' string's class-aware accuracy.
 *  - Keras arguments naming what nnc does anyway (data_format =
 *    'channels_last', keepdims = False, seed, use_cudnn, a constraint of
 *    None, ...: lower_keras_fixed_arg) are accepted at that value and
 *    refused, as valid Keras nnc cannot compile, at any other.
 *  - alpha is Keras 2's name of LeakyReLU's negative_slope (Keras 3 still
 *    takes it, deprecated); ELU's alpha is its own attribute.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include "ir.h"
#include "lower.h"

typedef struct Alias { const char *keras, *nnc; } Alias;

static const Alias layer_aliases[] = {
    { "batch_normalization", "batch_norm" },
    { "max_pooling2d", "max_pool2d" }, { "average_pooling2d", "avg_pool2d" },
    { "max_pooling1d", "max_pool1d" }, { "average_pooling1d", "avg_pool1d" },
    { "global_avg_pool2d", "global_avg_pool" }, { "global_avg_pool1d", "global_avg_pool" },
    { "global_max_pool2d", "global_max_pool" }, { "global_max_pool1d", "global_max_pool" },
    { "concatenate", "concat" },
    { "up_sampling1d", "upsampling1d" }, { "up_sampling2d", "upsampling2d" },   /* UpSampling2D */
    { "identity", "linear" },   /* Keras 3's Identity layer */
};

static const Alias loss_aliases[] = {
    { "mean_squared_error", "mse" }, { "mean_absolute_error", "mae" },
    { "MSE", "mse" }, { "MAE", "mae" },
};

static const Alias metric_aliases[] = {
    { "acc", "accuracy" },
    /* accuracy for one loss: checked against it (lower_metric_loss) */
    { "sparse_categorical_accuracy", "accuracy" }, { "SparseCategoricalAccuracy", "accuracy" },
    { "categorical_accuracy", "accuracy" }, { "CategoricalAccuracy", "accuracy" },
    { "binary_accuracy", "accuracy" }, { "BinaryAccuracy", "accuracy" },
    { "mean_squared_error", "mse" }, { "mean_absolute_error", "mae" },
    { "MeanSquaredError", "mse" }, { "MeanAbsoluteError", "mae" },
};

/* argument names: Embedding(input_dim, output_dim), Reshape(target_shape) */
static const Alias attr_aliases[] = {
    { "input_dim", "vocab" }, { "output_dim", "dim" }, { "target_shape", "shape" },
    { "alpha", "negative_slope" },
};

static const Alias init_aliases[] = { { "random_uniform", "uniform" } };

#define N(a) (int)(sizeof a / sizeof a[0])

static const char *alias_of(const Alias *t, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcmp(t[i].keras, name)) return t[i].nnc;
    return NULL;
}

/* Keras' class name in snake_case (Conv2D -> conv2d, SimpleRNN -> simple_rnn,
 * GlobalAveragePooling2D -> global_average_pooling2d), or NULL when name
 * has no capital letter or does not fit out */
static const char *snake_case(const char *name, char *out, size_t cap) {
    int upper = 0;
    for (const char *p = name; *p; p++) upper |= isupper((unsigned char)*p);
    if (!upper || strlen(name) * 2 + 1 > cap) return NULL;
    size_t n = 0;
    for (size_t i = 0; name[i]; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!strncmp(name + i, "ReLU", 4)) {    /* ReLU, LeakyReLU: one word */
            if (i > 1 && name[i - 1] != '_') out[n++] = '_';   /* PReLU: prelu */
            memcpy(out + n, "relu", 4);
            n += 4;
            i += 3;
            continue;
        }
        if (isupper(c) && i > 0) {
            unsigned char before = (unsigned char)name[i - 1], after = (unsigned char)name[i + 1];
            /* a new word: after a lower-case letter, or the last capital of a run before one */
            if (islower(before) || (isupper(before) && islower(after))) out[n++] = '_';
        }
        out[n++] = (char)tolower(c);
    }
    out[n] = 0;
    return out;
}

const char *lower_snake_name(const char *name, char *out, size_t cap) {
    const char *s = snake_case(name, out, cap);
    return s ? s : name;
}

int lower_layer_op(const char *name) {
    char snake[2 * IR_NAME + 1];
    const char *names[2] = { name, snake_case(name, snake, sizeof snake) };
    for (int k = 0; k < 2; k++) {
        if (!names[k]) continue;
        int op = op_find(names[k]);
        if (op >= 0 && op_table[op]->layer) return op;
        const char *a = alias_of(layer_aliases, N(layer_aliases), names[k]);
        if (a) return op_find(a);
    }
    return -1;
}

/* a layer class in CamelCase: "note: 'Conv2D' is spelt 'conv2d' in nnc", once per op */
void lower_keras_note(const char *name, Loc loc) {
    static unsigned char noted[OP_COUNT + 1];
    char snake[2 * IR_NAME + 1];
    int activation = lower_is_activation_layer(name);
    int op = activation ? OP_COUNT : lower_layer_op(name);
    if (op < 0 || !snake_case(name, snake, sizeof snake) || noted[op]) return;
    noted[op] = 1;
    diag_note(loc, "'%s' is spelt '%s' in nnc", name, activation ? "activation" : op_name(op));
}

int lower_is_activation_layer(const char *name) {
    return !strcmp(name, "activation") || !strcmp(name, "Activation");
}

int lower_loss_index(const char *name) {
    char snake[2 * IR_NAME + 1];
    const char *names[2] = { name, snake_case(name, snake, sizeof snake) };
    for (int k = 0; k < 2; k++) {
        if (!names[k]) continue;
        int i = name_index(names[k], loss_names, loss_count);
        if (i >= 0) return i;
        const char *a = alias_of(loss_aliases, N(loss_aliases), names[k]);
        if (a) return name_index(a, loss_names, loss_count);
    }
    return -1;
}

/* Keras' classes Adam, SGD, RMSprop, AdamW (and its strings adam, ...) */
int lower_optimizer_index(const char *name) {
    for (int i = 0; i < 4; i++) {
        size_t j = 0;
        while (name[j] && tolower((unsigned char)name[j]) == opt_names[i][j]) j++;
        if (!name[j] && !opt_names[i][j]) return i;
    }
    return -1;
}

const char *lower_metric_name(const char *name) {
    const char *a = alias_of(metric_aliases, N(metric_aliases), name);
    return a ? a : name;
}

const char *lower_setting_name(const char *name) {
    return !strcmp(name, "batch_size") ? "batch" : name;
}

int lower_is_true(const char *name) { return !strcmp(name, "true") || !strcmp(name, "True"); }
int lower_is_false(const char *name) { return !strcmp(name, "false") || !strcmp(name, "False"); }

const char *lower_attr_alias(const char *name) {
    return alias_of(attr_aliases, N(attr_aliases), name);
}

/* glorot_uniform, GlorotUniform, random_uniform, RandomUniform -> init_names index */
int lower_init_index(const char *name) {
    char snake[2 * IR_NAME + 1];
    const char *names[2] = { name, snake_case(name, snake, sizeof snake) };
    for (int k = 0; k < 2; k++) {
        if (!names[k]) continue;
        int i = name_index(names[k], init_names, init_count);
        if (i >= 0) return i;
        const char *a = alias_of(init_aliases, N(init_aliases), names[k]);
        if (a) return name_index(a, init_names, init_count);
    }
    return -1;
}

/* the layer names and their Keras aliases, for did-you-mean (at most max) */
int lower_layer_names(const char **names, int max) {
    int n = 0;
    for (int i = 0; i < OP_COUNT && n < max; i++)
        if (op_table[i]->layer) names[n++] = op_name(i);
    for (int i = 0; i < N(layer_aliases) && n < max; i++)
        if (op_find(layer_aliases[i].keras) < 0) names[n++] = layer_aliases[i].keras;
    if (n < max) names[n++] = "activation";
    return n;
}

/* the loss names and their Keras aliases, for did-you-mean (at most max) */
int lower_loss_names(const char **names, int max) {
    int n = 0;
    for (int i = 0; i < loss_count && n < max; i++) names[n++] = loss_names[i];
    for (int i = 0; i < N(loss_aliases) && n < max; i++)
        if (islower((unsigned char)loss_aliases[i].keras[0])) names[n++] = loss_aliases[i].keras;
    return n;
}

/* Keras' accuracy metric named for a loss (sparse_categorical_accuracy):
 * that loss, which it is nnc's accuracy with; -1 for any other name */
int lower_metric_loss(const char *name) {
    char snake[2 * IR_NAME + 1];
    const char *n = snake_case(name, snake, sizeof snake);
    n = n ? n : name;
    return !strcmp(n, "sparse_categorical_accuracy") ? NNC_RT_LOSS_SPARSE_CCE :
           !strcmp(n, "categorical_accuracy") ? NNC_RT_LOSS_CCE :
           !strcmp(n, "binary_accuracy") ? NNC_RT_LOSS_BCE : -1;
}

/* ---- Keras arguments nnc accepts at one value ------------------------------------- */

typedef struct Fixed {
    const char *arg;
    const int *ops;         /* the layers that take it (-1 ends), NULL: every layer with parameters, */
                            /* any_layer: every layer */
    const char *values;     /* what is accepted, '|'-separated: a name, a number, "int" (any integer), "*" */
    const char *meaning;    /* what nnc computes, for the refusal */
} Fixed;

static const int any_layer[] = { -1 };
static const int spatial_ops[] = {
    OP_CONV1D, OP_CONV2D, OP_DEPTHWISE_CONV2D, OP_SEPARABLE_CONV2D, OP_CONV2D_TRANSPOSE, OP_MAX_POOL1D,
    OP_MAX_POOL2D, OP_AVG_POOL1D, OP_AVG_POOL2D, OP_GLOBAL_MAX_POOLING1D, OP_GLOBAL_MAX_POOLING2D,
    OP_GLOBAL_AVERAGE_POOLING1D, OP_GLOBAL_AVERAGE_POOLING2D, OP_GLOBAL_MAX_POOL, OP_GLOBAL_AVG_POOL, OP_FLATTEN,
    OP_UPSAMPLING1D, OP_UPSAMPLING2D, OP_ZERO_PADDING1D, OP_ZERO_PADDING2D, OP_CROPPING1D, OP_CROPPING2D, -1 };
static const int global_pools[] = { OP_GLOBAL_MAX_POOLING1D, OP_GLOBAL_MAX_POOLING2D, OP_GLOBAL_AVERAGE_POOLING1D,
                                    OP_GLOBAL_AVERAGE_POOLING2D, OP_GLOBAL_MAX_POOL, OP_GLOBAL_AVG_POOL, -1 };
static const int recurrent_ops[] = { OP_SIMPLE_RNN, OP_LSTM, OP_GRU, -1 };
static const int gated_ops[] = { OP_LSTM, OP_GRU, -1 };
static const int dropout_ops[] = { OP_DROPOUT, OP_SPATIAL_DROPOUT1D, OP_SPATIAL_DROPOUT2D, OP_GAUSSIAN_DROPOUT,
                                   OP_GAUSSIAN_NOISE, OP_SIMPLE_RNN, OP_LSTM, OP_GRU, -1 };
static const int bn_ops[] = { OP_BATCH_NORM, -1 };
static const int softmax_ops[] = { OP_SOFTMAX, -1 };
static const int relu_ops[] = { OP_RELU, -1 };

static const Fixed fixed_args[] = {
    { "data_format", spatial_ops, "channels_last", "channels-last tensors (data_format = 'channels_last')" },
    { "keepdims", global_pools, "False|false", "keepdims = False" },
    { "seed", dropout_ops, "None|none|int", "its own random stream" },
    { "noise_shape", (const int[]){ OP_DROPOUT, -1 }, "None|none", "noise_shape = None" },
    { "use_cudnn", gated_ops, "*", "" },
    { "go_backwards", recurrent_ops, "False|false", "go_backwards = False (bidirectional runs a layer backwards)" },
    { "axis", bn_ops, "-1", "axis = -1" },
    { "center", bn_ops, "True|true", "center = True" },
    { "scale", bn_ops, "True|true", "scale = True" },
    { "synchronized", bn_ops, "True|true|False|false", "" },     /* one device: the same */
    { "moving_mean_initializer", bn_ops, "zeros", "moving_mean_initializer = 'zeros'" },
    { "moving_variance_initializer", bn_ops, "ones", "moving_variance_initializer = 'ones'" },
    { "axis", softmax_ops, "-1", "axis = -1" },
    /* Keras' ReLU layer at its defaults; relu6 and leaky_relu are layers of their own */
    { "max_value", relu_ops, "None|none", "max_value = None (use relu6 for a cap of 6)" },
    { "negative_slope", relu_ops, "0", "negative_slope = 0 (use leaky_relu for a slope)" },
    { "threshold", relu_ops, "0", "threshold = 0" },
    { "name", any_layer, "*", "" },     /* the layer's name: lower_keras_layer_name */
    { "dtype", any_layer, "float32|f32", "dtype = 'float32'" },
    /* Keras 2's Embedding(input_length = T): the input line gives the steps (Keras 2 refused any other T) */
    { "input_length", (const int[]){ OP_EMBEDDING, -1 }, "None|none|int", "" },
    { "activity_regularizer", NULL, "None|none", "activity_regularizer = None" },
    { "lora_rank", NULL, "None|none", "lora_rank = None" },
};

static int fixed_takes(const Fixed *f, int op) {
    if (!f->ops) return op_table[op]->params != NULL || op == OP_DROPOUT;
    if (f->ops == any_layer) return 1;
    for (const int *o = f->ops; *o >= 0; o++)
        if (*o == op) return 1;
    return 0;
}

/* value e among f->values */
static int fixed_accepts(const Fixed *f, const Expr *e) {
    char text[64];
    if (!strcmp(f->values, "*")) return 1;
    if (e->kind == EX_NUMBER) {
        if (e->is_int && strstr(f->values, "int")) return 1;
        snprintf(text, sizeof text, "%g", e->num);
    } else if (e->kind == EX_IDENT) {
        snprintf(text, sizeof text, "%s", e->name);
    } else {
        return 0;
    }
    size_t len = strlen(text);
    for (const char *v = f->values; *v;) {
        const char *end = strchr(v, '|');
        size_t n = end ? (size_t)(end - v) : strlen(v);
        if (n == len && !strncmp(v, text, n)) return 1;
        v += n + (end != NULL);
    }
    return 0;
}

int lower_keras_fixed_arg(int op, const char *layer, const Arg *a) {
    int constraint = strlen(a->name) > 11 && !strcmp(a->name + strlen(a->name) - 11, "_constraint");
    char none[IR_NAME + 16];
    snprintf(none, sizeof none, "%.*s = None", IR_NAME, a->name);
    Fixed c = { a->name, NULL, "None|none", none };
    for (size_t i = 0; i < sizeof fixed_args / sizeof fixed_args[0] + constraint; i++) {
        const Fixed *f = i < sizeof fixed_args / sizeof fixed_args[0] ? &fixed_args[i] : &c;
        if (strcmp(f->arg, a->name) || !fixed_takes(f, op)) continue;
        if (fixed_accepts(f, a->value)) return 1;
        diag_error(a->value->loc, "'%s': nnc computes %s only", layer, f->meaning);
        return -1;
    }
    return 0;
}

/* name = 'encoder_out': Keras' name of the layer (its parameters are NAME.kernel, ...), or NULL */
const char *lower_keras_layer_name(const Expr *call) {
    for (int i = 0; call->kind == EX_CALL && i < call->nargs; i++)
        if (call->args[i].name && !strcmp(call->args[i].name, "name") && call->args[i].value->kind == EX_IDENT)
            return call->args[i].value->name;
    return NULL;
}
