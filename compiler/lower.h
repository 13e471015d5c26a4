/* lower.h — what lower.c and lower_train.c share: reading an argument's
 * value with an error that names it, and the did-you-mean report.  The
 * public entry points (lower_program, lower_train_text) are in ir.h. */
#ifndef NNC_LOWER_H
#define NNC_LOWER_H

#include "ast.h"
#include "ir.h"

/* lower_args.c: what an expression is, for messages: its name, "a number" or "a call" */
const char *lower_expr_text(const Expr *e);
/* "unknown WHAT 'NAME'; did you mean 'X'?" or, with no close match, the valid names */
void lower_unknown(Loc loc, const char *what, const char *name, const char *const *names, int n);
/* an identifier among names -> its index in *out; 0, or -1 after reporting */
int  lower_enum_arg(const Expr *e, const char *what, const char *const *names, int n, int *out);
/* a number (an integer when asked) -> *out; 0, or -1 after reporting */
int  lower_number_arg(const Expr *e, const char *what, int integer, double *out);
/* true | false -> *out; 0, or -1 after reporting */
int  lower_bool_arg(const Expr *e, const char *what, int *out);
/* lower_keras.c: Keras' spellings (lower_keras.c says which) resolved to nnc's */
int  lower_layer_op(const char *name);          /* a layer name or class -> OP_*, -1 */
int  lower_is_activation_layer(const char *name);
void lower_keras_note(const char *name, Loc loc);
/* a Keras argument nnc takes at one value only (data_format = 'channels_last'):
 * 1 accepted (nothing to set), -1 another value (reported), 0 not one of them */
int  lower_keras_fixed_arg(int op, const char *layer, const Arg *a);
/* the error just reported refuses valid Keras nnc cannot compile yet (exit 3) */
void lower_refused(void);
const char *lower_keras_layer_name(const Expr *call);   /* Keras' name = '...' of a layer call, or NULL */   /* Conv2D: a note naming conv2d, once per op */
int  lower_layer_names(const char **names, int max);   /* layers and Keras aliases, for did-you-mean */   /* activation(relu) / Activation('relu') */
int  lower_loss_index(const char *name);        /* -> nnc_rt_loss (user-visible ones), -1 */
int  lower_loss_names(const char **names, int max);    /* losses and Keras aliases, for did-you-mean */
int  lower_optimizer_index(const char *name);   /* -> OptKind, -1 */
const char *lower_metric_name(const char *name);    /* acc -> accuracy, ...; else name */
/* Keras' class name in snake_case (EarlyStopping -> early_stopping) into out, or name as it is */
const char *lower_snake_name(const char *name, char *out, size_t cap);
int  lower_metric_loss(const char *name);       /* binary_accuracy -> the loss it needs, -1 */
const char *lower_setting_name(const char *name);   /* batch_size -> batch; else name */
const char *lower_attr_alias(const char *name);     /* input_dim -> vocab, ...; else NULL */
int  lower_init_index(const char *name);        /* glorot_uniform, GlorotUniform -> init, -1 */
int  lower_is_true(const char *name);           /* true | True */
int  lower_is_false(const char *name);          /* false | False */
/* lower_mask.c: Keras' mask (embedding(mask_zero = true)) after node was
 * built: honoured (the ids become its last input), passed on, or refused (-1) */
int  lower_mask_node(Graph *g, int node);
/* bidirectional's halves (their outputs) returning sequences output zeros at padding */
void lower_mask_bidirectional(Graph *g, int forward, int backward);
int  lower_mask_outputs(Graph *g);      /* -1 after reporting an output that carries a mask */
/* lower_train.c: the train block b into g->train (imported: g came from ONNX) */
int  lower_train(Graph *g, const Block *b, int imported);
/* fit_settings.c: a train-block setting for the training loop (validation_split,
 * shuffle, callbacks, schedule) checked: -1 not one of them, 0 valid, 1 reported */
int  fit_setting_check(const Stmt *s);

#endif
