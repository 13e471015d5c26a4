/* lower_args.c — reading a .nn argument's value, with an error that names
 * the argument and what would be valid (the did-you-mean list), for the
 * model's layers (lower.c) and the train block (lower_train.c) alike. */
#include <ctype.h>
#include <string.h>
#include "diag.h"
#include "lower.h"

const char *lower_expr_text(const Expr *e) {
    return e->kind == EX_NUMBER ? "a number" : e->kind == EX_TUPLE ? "a tuple" : e->name;
}

static int contains(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i])) i++;
        if (i == n) return n > 0;
    }
    return 0;
}

/* "unknown WHAT 'NAME'; did you mean 'X'?" or, with no close match, the valid
 * names, the closest first (a long list: the closest few and how many) */
void lower_unknown(Loc loc, const char *what, const char *name, const char *const *names, int n) {
    const char *near = diag_suggest(name, names, n);
    if (near) {
        diag_error(loc, "unknown %s '%s'; did you mean '%s'?", what, name, near);
        return;
    }
    enum { SHOW_ALL = 12, SHOW = 8 };
    const char *best[SHOW_ALL];
    int dist[SHOW_ALL], m = 0, show = n <= SHOW_ALL ? n : SHOW;
    for (int i = 0; i < n; i++) {   /* insertion into the closest `show`, ties in list order */
        int d = diag_distance(name, names[i]), j;
        if (contains(names[i], name) || contains(name, names[i])) d -= 1000;   /* glorot: glorot_uniform */
        j = m < show ? m++ : show;
        if (j == show && d >= dist[show - 1]) continue;
        if (j == show) j--;
        for (; j > 0 && dist[j - 1] > d; j--) {
            best[j] = best[j - 1];
            dist[j] = dist[j - 1];
        }
        best[j] = names[i];
        dist[j] = d;
    }
    char list[512];
    size_t len = 0;
    for (int i = 0; i < m && len < sizeof list; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", best[i]);
    if (m < n)
        diag_error(loc, "unknown %s '%s'; the closest of the %d valid: %s, ...", what, name, n, list);
    else
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
    if (e->kind != EX_IDENT || (!lower_is_true(e->name) && !lower_is_false(e->name))) {
        diag_error(e->loc, "%s must be true or false", what);
        return -1;
    }
    *out = lower_is_true(e->name);
    return 0;
}
