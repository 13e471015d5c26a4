/* lower_args.c — reading a .nn argument's value, with an error that names
 * the argument and what would be valid (the did-you-mean list), for the
 * model's layers (lower.c) and the train block (lower_train.c) alike. */
#include <string.h>
#include "diag.h"
#include "lower.h"

const char *lower_expr_text(const Expr *e) {
    return e->kind == EX_NUMBER ? "a number" : e->kind == EX_CALL ? "a call" : e->kind == EX_TUPLE ? "a tuple" : e->name;
}

/* "unknown WHAT 'NAME'; did you mean 'X'?" or, with no close match, the valid names */
void lower_unknown(Loc loc, const char *what, const char *name, const char *const *names, int n) {
    const char *near = diag_suggest(name, names, n);
    if (near) {
        diag_error(loc, "unknown %s '%s'; did you mean '%s'?", what, name, near);
        return;
    }
    char list[512];
    size_t len = 0;
    for (int i = 0; i < n && len < sizeof list; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", names[i]);
    diag_error(loc, "unknown %s '%s'; valid: %s", what, name, list);
}

int lower_enum_arg(const Expr *e, const char *what, const char *const *names, int n, int *out) {
    if (e->kind != EX_IDENT) {
        diag_error(e->loc, "expected %s name here", what);
        return -1;
    }
    int v = name_index(e->name, names, n);
    if (v < 0) {
        lower_unknown(e->loc, what, e->name, names, n);
        return -1;
    }
    *out = v;
    return 0;
}

int lower_number_arg(const Expr *e, const char *what, int integer, double *out) {
    if (e->kind != EX_NUMBER || (integer && !e->is_int)) {
        diag_error(e->loc, "%s must be %s", what, integer ? "an integer" : "a number");
        return -1;
    }
    *out = e->num;
    return 0;
}

int lower_bool_arg(const Expr *e, const char *what, int *out) {
    if (e->kind != EX_IDENT || (strcmp(e->name, "true") && strcmp(e->name, "false"))) {
        diag_error(e->loc, "%s must be true or false", what);
        return -1;
    }
    *out = !strcmp(e->name, "true");
    return 0;
}
