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
/* lower_train.c: the train block b into g->train (imported: g came from ONNX) */
int  lower_train(Graph *g, const Block *b, int imported);
/* fit_settings.c: a train-block setting for the training loop (validation_split,
 * shuffle, callbacks, schedule) checked: -1 not one of them, 0 valid, 1 reported */
int  fit_setting_check(const Stmt *s);

#endif
