/* lower.c — AST -> IR.
 *
 * Layers are looked up in the op table, so the language grows with it: a
 * call's leading tensor arguments are its inputs (or, in the sequential
 * form, the previous statement's value), the rest bind to the op's
 * attribute schema by position or keyword.  A layer's activation argument
 * becomes a separate activation node; fusing it back is the optimizer's job.
 * Shapes are inferred node by node as they are built, so a shape error points
 * at the layer that caused it.
 */
#include <stdlib.h>
#include <string.h>
#include "ast.h"
#include "ir.h"
#include "lower.h"
#include "nnc_rt.h"

typedef struct Binding { const char *name; int value; } Binding;

/* bound to a name whose definition failed: uses stay silent, no cascade */
#define POISONED (-2)

typedef struct Lower {
    Graph *g;
    Binding env[256];
    int nenv;
    int counters[128];   /* per op: how many layers of that kind so far */
    int reverse;        /* lowering bidirectional()'s backward layer */
    int per_step;       /* lowering inside time_distributed()          */
    int bidi;           /* lowering bidirectional()'s halves (their names are its) */
} Lower;

/* the value bound to name, POISONED, or -1 when unbound */
static int env_find(Lower *L, const char *name) {
    for (int i = L->nenv - 1; i >= 0; i--)
        if (!strcmp(L->env[i].name, name)) return L->env[i].value;
    return -1;
}

/* a name the user gives: short enough that every name nnc builds from it
 * (a layer's "NAME.recurrent_kernel", its gradient's "dNAME...") stays whole */
static int name_fits(const char *name, Loc loc, const char *what) {
    size_t len = strlen(name);
    if (len <= IR_NN_NAME) return 1;
    diag_error(loc, "%s name '%.20s...' is %zu characters long; nnc keeps names of up to %d", what, name, len,
               IR_NN_NAME);
    return 0;
}

/* rebind: a name assigned again (x = f(x)) names the new value from here
 * on, as in the Python code being translated; else (an input) once */
static int env_bind(Lower *L, const char *name, Loc loc, int value, int rebind) {
    int fits = name_fits(name, loc, "the");
    if (!fits) value = POISONED;    /* bound all the same: its uses stay silent */
    for (int i = 0; rebind && i < L->nenv; i++)
        if (!strcmp(L->env[i].name, name)) {
            L->env[i].value = value;
            return fits ? 0 : -1;
        }
    if (env_find(L, name) != -1) {
        diag_error(loc, "'%s' is already defined in this model", name);
        return -1;
    }
    if (L->nenv == (int)(sizeof L->env / sizeof L->env[0])) {
        diag_error(loc, "too many named values (the limit is 256)");
        return -1;
    }
    L->env[L->nenv++] = (Binding){ name, value };
    return fits ? 0 : -1;
}

/* ---- attribute values (lower_args.c reads the plain ones) ---------------------- */

/* l1(0.01) | l2(0.01) | l1_l2(l1 = .., l2 = ..) | none; Keras' classes L1, L2, L1L2 too */
static int bind_reg(const Expr *written, float *l1l2) {
    static const char *const regs[] = { "l1", "l2", "l1_l2", "none" };
    Expr keras;
    const Expr *e = written;
    if (written->kind == EX_CALL && (!strcmp(written->name, "L1") || !strcmp(written->name, "L2") ||
                                     !strcmp(written->name, "L1L2"))) {
        keras = *written;
        keras.name = written->name[2] ? "l1_l2" : written->name[1] == '1' ? "l1" : "l2";
        e = &keras;
    }
    l1l2[0] = l1l2[1] = 0;
    if (e->kind == EX_IDENT && (!strcmp(e->name, "none") || !strcmp(e->name, "None"))) return 0;
    if (e->kind != EX_CALL || (strcmp(e->name, "l1") && strcmp(e->name, "l2") && strcmp(e->name, "l1_l2"))) {
        const char *name = e->kind == EX_NUMBER ? "" : e->name;
        diag_error(e->loc, "expected a regularizer: l1(x), l2(x), l1_l2(l1 = x, l2 = y) or none%s",
                   diag_did_you_mean(name, regs, 4));
        return -1;
    }
    int both = !strcmp(e->name, "l1_l2");
    for (int i = 0; i < e->nargs; i++) {
        const Arg *a = &e->args[i];
        int slot = both ? (a->name ? !strcmp(a->name, "l2") : i) : !strcmp(e->name, "l2");
        double v;
        if ((!both && i > 0) || (both && i > 1) ||
            (a->name && strcmp(a->name, both ? (slot ? "l2" : "l1") : e->name))) {
            diag_error(a->value->loc, "unexpected argument to %s()", e->name);
            return -1;
        }
        if (lower_number_arg(a->value, "a regularization factor", 0, &v)) return -1;
        if (v < 0) { diag_error(a->value->loc, "a regularization factor must be >= 0"); return -1; }
        l1l2[slot] = (float)v;
    }
    if (!both && e->nargs != 1) {
        diag_error(e->loc, "%s() takes one factor, e.g. %s(0.01)", e->name, e->name);
        return -1;
    }
    return 0;
}

/* an integer in [lo, 1e8], or a tuple of `want` of them (want 0: not a tuple) */
static int int_in(const Expr *e, int lo, int *out) {
    if (e->kind != EX_NUMBER || !e->is_int || e->num < lo || e->num > 1e8) return -1;
    *out = (int)e->num;
    return 0;
}
static int int_pair(const Expr *e, int lo, int *out) {
    if (e->kind != EX_TUPLE || e->nargs != 2) return -1;
    return int_in(e->args[0].value, lo, &out[0]) || int_in(e->args[1].value, lo, &out[1]) ? -1 : 0;
}

/* Keras' forms of a size per spatial axis: n, (h, w); padding and cropping
 * also ((top, bottom), (left, right)), and for 1-D (left, right) */
static int bind_pairs(const AttrDef *d, const Expr *e, int *f) {
    int lo = d->type == AT_PAIR ? 1 : 0, v[2];
    if (d->type == AT_PAIR0 && e->kind == EX_IDENT && (!strcmp(e->name, "none") || !strcmp(e->name, "None"))) {
        f[0] = f[1] = -1;
        return 0;
    }
    if (!int_in(e, lo, &v[0])) {
        if (d->type == AT_PADS1) f[0] = f[1] = 0, f[2] = f[3] = v[0];
        else if (d->type == AT_PADS2) f[0] = f[1] = f[2] = f[3] = v[0];
        else f[0] = f[1] = v[0];
        return 0;
    }
    if (!int_pair(e, lo, v)) {
        if (d->type == AT_PADS1) f[0] = f[1] = 0, f[2] = v[0], f[3] = v[1];
        else if (d->type == AT_PADS2) f[0] = f[1] = v[0], f[2] = f[3] = v[1];
        else f[0] = v[0], f[1] = v[1];
        return 0;
    }
    if (d->type == AT_PADS2 && e->kind == EX_TUPLE && e->nargs == 2 && !int_pair(e->args[0].value, 0, f) &&
        !int_pair(e->args[1].value, 0, f + 2))
        return 0;
    static const char *const forms[] = {
        [AT_PAIR] = "an integer >= 1 or a pair of them, e.g. (3, 5)",
        [AT_PAIR0] = "an integer >= 0, a pair of them, e.g. (1, 0), or none",
        [AT_PADS1] = "an integer >= 0 or a pair (left, right)",
        [AT_PADS2] = "an integer >= 0, a pair (height, width) or ((top, bottom), (left, right))",
    };
    diag_error(e->loc, "%s must be %s", d->name, forms[d->type]);
    return -1;
}

static void attr_default(const AttrDef *d, Attrs *a);

/* errors that refuse valid Keras nnc cannot compile (exit 3 when they are all) */
static int unsupported;
int lower_unsupported_count(void) { return unsupported; }
void lower_refused(void) { unsupported++; }

static int bind_attr(const AttrDef *d, const Expr *e, Attrs *a) {
    char *field = (char *)a + d->offset;
    double num;
    /* Keras' strides = None of a pooling layer: its default, the pool size */
    if (!strcmp(d->name, "strides") && d->dflt && !strcmp(d->dflt, "0") && e->kind == EX_IDENT &&
        !strcmp(e->name, "None")) {
        attr_default(d, a);
        return 0;
    }
    switch (d->type) {
    case AT_INT:
        if (e->kind == EX_TUPLE && e->nargs == 1) e = e->args[0].value;   /* Keras' (3,) */
        if (lower_number_arg(e, d->name, 1, &num)) return -1;
        if (num < 1 || num > 1e8) { diag_error(e->loc, "%s must be between 1 and 100000000", d->name); return -1; }
        *(int *)field = (int)num;
        return 0;
    case AT_FLOAT:
        if (lower_number_arg(e, d->name, 0, &num)) return -1;
        /* checked here, not only by the shape rule, so that it is reported
         * with the model's other errors even after a failed line */
        if (!strcmp(d->name, "rate") && !(num >= 0 && num < 1)) {
            diag_error(e->loc, "rate must be in [0, 1), got %g", num);
            return -1;
        }
        *(float *)field = (float)num;
        return 0;
    case AT_BOOL:
        return lower_bool_arg(e, d->name, (int *)field);
    case AT_ACT:   /* Keras' activation = None is linear */
        if (e->kind == EX_IDENT && !strcmp(e->name, "None")) return *(int *)field = NNC_RT_ACT_LINEAR, 0;
        return lower_enum_arg(e, "activation", act_names, act_count, (int *)field);
    case AT_INIT: {     /* Keras' names and classes too: GlorotUniform() */
        int i = e->kind == EX_NUMBER || (e->kind == EX_CALL && e->nargs) ? -1 : lower_init_index(e->name);
        if (i >= 0) return *(int *)field = i, 0;
        return lower_enum_arg(e, "initializer", init_names, init_count, (int *)field);
    }
    case AT_REG:
        return bind_reg(e, (float *)field);
    case AT_PADDING: {
        static const char *const paddings[] = { "valid", "same", "causal" };
        return lower_enum_arg(e, "padding", paddings, 3, (int *)field);
    }
    case AT_PAIR: case AT_PAIR0: case AT_PADS1: case AT_PADS2:
        return bind_pairs(d, e, (int *)field);
    case AT_INTERP: {   /* Keras 3's five; nnc computes the first two */
        static const char *const modes[] = { "nearest", "bilinear", "bicubic", "lanczos3", "lanczos5" };
        if (lower_enum_arg(e, "interpolation", modes, 5, (int *)field)) return -1;
        if (*(int *)field < 2) return 0;
        diag_error(e->loc, "interpolation = %s is not supported by nnc; it computes nearest and bilinear", e->name);
        unsupported++;
        return -1;
    }
    case AT_AXIS:
    case AT_BATCH_AXIS:
        if (lower_number_arg(e, d->name, 1, &num)) return -1;
        if (num < -IR_MAX_RANK || num > IR_MAX_RANK) { diag_error(e->loc, "axis %g is out of range", num); return -1; }
        if (d->type == AT_BATCH_AXIS && num == 0) {
            diag_error(e->loc, "axis 0 is the batch (axes count as in Keras: a sample's are 1, 2, ..., or -1 for "
                       "the last)");
            return -1;
        }
        *(int *)field = d->type == AT_BATCH_AXIS && num > 0 ? (int)num - 1 : (int)num;
        return 0;
    case AT_DIMS:   /* one dimension per positional argument: see lower_call */
        if (e->kind == EX_TUPLE) {  /* Keras' Reshape((2, 4)), PReLU(shared_axes = (1, 2)) */
            for (int i = 0; i < e->nargs; i++)
                if (bind_attr(d, e->args[i].value, a)) return -1;
            return 0;
        }
        if (e->kind == EX_IDENT && !strcmp(e->name, "None") && d->dflt && !d->dflt[0]) return 0;   /* none */
        if (lower_number_arg(e, "a dimension", 1, &num)) return -1;
        if (num != -1 && (num < 1 || num > 1e8)) {
            diag_error(e->loc, "a dimension is a positive integer, or -1 to infer it");
            return -1;
        }
        if (a->ndims == IR_MAX_RANK) { diag_error(e->loc, "at most %d dimensions", IR_MAX_RANK); return -1; }
        a->dims[a->ndims++] = (int)num;
        return 0;
    }
    return -1;
}

static void attr_default(const AttrDef *d, Attrs *a) {
    char *field = (char *)a + d->offset;
    switch (d->type) {
    case AT_INT: *(int *)field = atoi(d->dflt); break;
    case AT_FLOAT: *(float *)field = (float)atof(d->dflt); break;
    case AT_BOOL: *(int *)field = !strcmp(d->dflt, "true"); break;
    case AT_ACT: *(int *)field = name_index(d->dflt, act_names, act_count); break;
    case AT_INIT: *(int *)field = name_index(d->dflt, init_names, init_count); break;
    case AT_REG: ((float *)field)[0] = ((float *)field)[1] = 0; break;
    case AT_PADDING: *(int *)field = strcmp(d->dflt, "same") ? PAD_VALID : PAD_SAME; break;
    case AT_AXIS: case AT_BATCH_AXIS: *(int *)field = atoi(d->dflt); break;
    case AT_DIMS: break;
    case AT_PAIR: case AT_PAIR0: case AT_PADS1: case AT_PADS2: {
        int v = strcmp(d->dflt, "none") ? atoi(d->dflt) : -1, *f = (int *)field;
        f[0] = f[1] = v;
        if (d->type == AT_PADS1 || d->type == AT_PADS2) f[2] = f[3] = v;
        if (d->type == AT_PADS1) f[0] = f[1] = 0;
        break;
    }
    case AT_INTERP: *(int *)field = !strcmp(d->dflt, "bilinear"); break;
    }
}

/* ---- layers ----------------------------------------------------------------------- */

static int lower_expr(Lower *L, const Expr *e, int implicit, const char *target);

static int is_tensor(Lower *L, const Expr *e) {
    if (e->kind == EX_IDENT) return env_find(L, e->name) != -1;
    if (e->kind == EX_CALL) return lower_layer_op(e->name) >= 0 || lower_is_activation_layer(e->name);
    return 0;
}

/* a name where a value belongs that is no value of this model:
 * "unknown value 'aa'; did you mean 'a'?" (or the values there are) */
static void unknown_value(Lower *L, const Expr *e) {
    const char *names[sizeof L->env / sizeof L->env[0]];
    for (int i = 0; i < L->nenv; i++) names[i] = L->env[i].name;
    if (L->nenv) lower_unknown(e->loc, "value", e->name, names, L->nenv);
    else diag_error(e->loc, "unknown value '%s'; no value is defined before this line", e->name);
}

static int near_value(Lower *L, const char *name) {
    const char *names[sizeof L->env / sizeof L->env[0]];
    for (int i = 0; i < L->nenv; i++) names[i] = L->env[i].name;
    return diag_suggest(name, names, L->nenv) != NULL;
}

/* a word an argument may be besides a value (an activation, an
 * initializer, a padding, a bool, none, a layer) */
static int known_word(const char *w) {
    return name_index(w, act_names, act_count) >= 0 || name_index(w, init_names, init_count) >= 0 ||
           !strcmp(w, "same") || !strcmp(w, "valid") || lower_is_true(w) || lower_is_false(w) ||
           !strcmp(w, "none") || !strcmp(w, "None") || lower_layer_op(w) >= 0;
}

static int layer_taken(const Graph *g, const char *name) {
    for (int i = 0; i < g->nnodes; i++)
        if (!strcmp(g->nodes[i].layer, name)) return 1;
    return 0;
}

/* Keras' name = '...' as written (add_layer_node refuses a taken one); else
 * the name the value is assigned to, or for a name assigned again (x =
 * f(x), as Python code rebinds) the next of x_1, x_2, ... that no layer
 * has; else the next of op's own (dense, dense_1, ...) that no layer has */
static void layer_name(Lower *L, int op, const char *kname, const char *target, char *out) {
    int k = L->counters[op]++;
    if (kname || (target && !layer_taken(L->g, target))) {
        snprintf(out, IR_NAME, "%s", kname ? kname : target);
        return;
    }
    const char *base = target ? target : op_name(op);
    if (target) k = 1;
    for (;;) {
        if (k) snprintf(out, IR_NAME, "%.50s_%d", base, k);
        else snprintf(out, IR_NAME, "%s", base);
        if (!layer_taken(L->g, out)) return;
        k = target ? k + 1 : L->counters[op]++;
    }
}

static int add_layer_node(Lower *L, int op, const int *in, int nin, Attrs attr, Loc loc,
                          const char *name) {
    Graph *g = L->g;
    for (int i = 0; i < nin; i++)
        if (g->values[in[i]].dtype == DT_I32 && !op_table[op]->int_input) {
            diag_error(loc, "'%s' takes f32 values, but '%s' holds i32 token ids; "
                       "map them to vectors with embedding(vocab, dim) first", op_name(op),
                       g->values[in[i]].name);
            return -1;
        }
    if (op_table[op]->params)   /* their parameters are found by name: one layer per name */
        for (int i = 0; i < g->nnodes; i++)
            if (op_table[g->nodes[i].op]->params && !strcmp(g->nodes[i].layer, name)) {
                diag_error(loc, "a layer named '%s' is already defined (line %d); layer names are unique",
                           name, g->nodes[i].loc.line);
                return -1;
            }
    int out = shape_layer_node(g, op, in, nin, &attr, loc, name);
    if (out < 0) return -1;
    if (lower_mask_node(g, g->values[out].producer)) return -1;   /* Keras' mask: honoured, passed on or refused */
    return out;
}

static int lower_call(Lower *L, const Expr *e, int implicit, const char *target);

// wrapper = ("bidirectional" | "time_distributed") "(" [value ","] layer ["," "merge_mode" "=" mode] ")"
static int lower_wrapper(Lower *L, const Expr *e, int implicit, const char *target) {
    int bidi = lower_layer_op(e->name) == OP_BIDIRECTIONAL, in = implicit, merge = 0;
    const Expr *inner = NULL;
    static const char *const modes[] = { "concat", "sum", "mul" };
    for (int i = 0; i < e->nargs; i++) {
        const Arg *a = &e->args[i];
        if (a->name && bidi && !strcmp(a->name, "merge_mode")) {
            if (lower_enum_arg(a->value, "merge_mode", modes, 3, &merge)) return -1;
        } else if (a->name && !strcmp(a->name, "name")) {
            continue;   /* Keras' layer name: lower_keras_layer_name */
        } else if (a->name) {
            diag_error(a->name_loc, "'%s' has no argument '%s'%s", e->name, a->name,
                       bidi ? "; it takes a layer and merge_mode" : "; it takes a layer");
            return -1;
        } else if (a->value->kind == EX_IDENT && !inner && env_find(L, a->value->name) != -1) {
            in = lower_expr(L, a->value, -1, NULL);
            if (in < 0) return -1;
        } else if (a->value->kind == EX_IDENT && !inner && lower_layer_op(a->value->name) < 0) {
            unknown_value(L, a->value);
            return -1;
        } else if (a->value->kind == EX_CALL && !inner) {
            inner = a->value;
        } else {
            diag_error(a->value->loc, "%s takes one layer, e.g. %s", e->name,
                       bidi ? "bidirectional(lstm(16))" : "time_distributed(dense(10))");
            return -1;
        }
    }
    if (!inner) {
        diag_error(e->loc, "%s needs the layer it wraps, e.g. %s", e->name,
                   bidi ? "bidirectional(lstm(16))" : "time_distributed(dense(10))");
        return -1;
    }
    if (in == POISONED) return -1;
    if (in < 0) {
        diag_error(e->loc, "'%s' has no input: name it as the first argument, "
                   "or put an 'input' line before it", e->name);
        return -1;
    }
    for (int i = 0; i < inner->nargs; i++)
        if (!inner->args[i].name && is_tensor(L, inner->args[i].value)) {
            diag_error(inner->args[i].value->loc, "the layer inside %s takes its input from %s; "
                       "name the input as %s's first argument", e->name, e->name, e->name);
            return -1;
        }
    if (!bidi) {
        L->per_step = 1;
        int v = lower_call(L, inner, in, target);
        L->per_step = 0;
        return v;
    }
    int op = lower_layer_op(inner->name);
    if (op < 0 || !op_table[op]->recurrent) {
        diag_error(inner->loc, "bidirectional wraps a recurrent layer (simple_rnn, lstm, gru), not '%s'",
                   inner->name);
        return -1;
    }
    char name[IR_NAME], half[IR_NAME];
    const char *kname = lower_keras_layer_name(e);
    if (kname && !name_fits(kname, e->loc, "the layer")) return -1;
    layer_name(L, OP_BIDIRECTIONAL, kname, target, name);
    snprintf(half, sizeof half, "%.50s_forward", name);
    L->bidi = 1;
    int f = lower_call(L, inner, in, half);
    L->bidi = 0;
    if (f < 0) return -1;
    if (L->g->nodes[L->g->values[f].producer].attr.return_state) {
        diag_error(inner->loc, "return_state inside bidirectional is not supported");
        return -1;
    }
    snprintf(half, sizeof half, "%.50s_backward", name);
    L->reverse = L->bidi = 1;
    int b = lower_call(L, inner, in, half);
    L->reverse = L->bidi = 0;
    if (b < 0) return -1;
    lower_mask_bidirectional(L->g, f, b);
    static const int merge_ops[] = { OP_CONCAT, OP_ADD, OP_MULTIPLY };
    Attrs attr;
    memset(&attr, 0, sizeof attr);
    attr.axis = -1;
    int both[2] = { f, b };
    return add_layer_node(L, merge_ops[merge], both, 2, attr, e->loc, name);
}

// layer = NAME | NAME "(" [tensor-args] [attr-args] ")"
/* a call's leading tensor arguments (or the implicit one) into in[]; the
 * index of its first attribute argument, or -1 after reporting.
 * *poisoned: the implicit input failed, so the call is only checked */
static int call_inputs(Lower *L, const Expr *e, const OpDef *def, int implicit, int *in, int *nin, int *poisoned) {
    int first_attr = 0;
    *nin = 0;
    for (; first_attr < e->nargs; first_attr++) {
        const Arg *a = &e->args[first_attr];
        if (a->name || !is_tensor(L, a->value) || *nin == (def->ninputs < 0 ? IR_MAX_IO : def->ninputs))
            break;
        int v = lower_expr(L, a->value, -1, NULL);
        if (v < 0) return -1;
        in[(*nin)++] = v;
    }
    /* the first argument after the inputs, where an input is still missing
     * or where a number belongs, is an unknown value (h = dense(aa, 32)),
     * reported alone rather than as the wrong kind of argument */
    if (first_attr < e->nargs && !e->args[first_attr].name) {
        const Expr *v = e->args[first_attr].value;
        int need = def->ninputs < 0 ? 2 : def->ninputs;
        int missing = *nin < need && !(*nin == 0 && implicit != -1 && def->ninputs == 1);
        AttrType slot = def->nattrs ? def->attrs[0].type : AT_INT;
        int numeric = !def->nattrs || slot == AT_INT || slot == AT_FLOAT || slot == AT_AXIS || slot == AT_BATCH_AXIS || slot == AT_DIMS;
        for (int k = 0; k < def->nattrs && v->kind == EX_IDENT; k++)   /* dense(units): the argument's name */
            if (!strcmp(def->attrs[k].name, v->name)) numeric = 0;
        if (v->kind == EX_IDENT && env_find(L, v->name) == -1 &&
            (missing || (numeric && (near_value(L, v->name) || !known_word(v->name))))) {
            unknown_value(L, v);
            return -1;
        }
        if (v->kind == EX_CALL && missing) {
            lower_expr(L, v, -1, NULL);     /* reports the unknown layer */
            return -1;
        }
    }
    /* after a failed statement the implicit input is poisoned: still check
     * this call's arguments, but do not report its missing input */
    *poisoned = *nin == 0 && implicit == POISONED && def->ninputs == 1;
    if (*nin == 0 && implicit >= 0 && def->ninputs == 1) in[(*nin)++] = implicit;
    if (def->ninputs < 0 ? *nin < 2 : *nin != def->ninputs && !*poisoned) {
        if (def->ninputs < 0)
            diag_error(e->loc, "'%s' takes two or more inputs (at most %d), got %d", e->name,
                       IR_MAX_IO, *nin);
        else if (*nin == 0 && implicit < 0)
            diag_error(e->loc, "'%s' has no input: name it as the first argument, "
                       "or put an 'input' line before it", e->name);
        else
            diag_error(e->loc, "'%s' takes %d input%s, got %d", e->name, def->ninputs,
                       def->ninputs == 1 ? "" : "s", *nin);
        return -1;
    }
    return first_attr;
}

/* which attribute argument a (by keyword or position) sets: its index in
 * def->attrs, -1 after reporting, -2 for trainable (set here); *pos: the
 * next positional one */
static int attr_slot(const Expr *e, const OpDef *def, const Arg *a, int *pos, Attrs *attr, int *errors) {
    const char *attr_names[32];   /* nattrs: at most 32 (separable_conv2d has 14; tests/test_convlayers.c) */
    for (int i = 0; i < def->nattrs; i++) attr_names[i] = def->attrs[i].name;
    /* trainable = false: any layer with parameters (Keras' layer.trainable; multi_head_attention
     * passes it to the projections it is made of) */
    if (a->name && !strcmp(a->name, "trainable") && (def->params || def == op_table[OP_MULTI_HEAD_ATTENTION])) {
        int on;
        if (lower_bool_arg(a->value, "trainable", &on)) ++*errors;
        else attr->frozen = !on;
        return -2;
    }
    if (a->name) {
        const char *alias = lower_attr_alias(a->name);     /* Keras' input_dim: vocab */
        for (int j = 0; j < def->nattrs; j++)
            if (!strcmp(def->attrs[j].name, a->name) || (alias && !strcmp(def->attrs[j].name, alias))) return j;
        int fixed = lower_keras_fixed_arg(lower_layer_op(e->name), e->name, a);
        if (fixed > 0) return -2;
        if (fixed < 0) {
            unsupported++;
            ++*errors;
            return -1;
        }
        if (!strcmp(a->name, "input_shape") || !strcmp(a->name, "batch_input_shape") ||
            !strcmp(a->name, "input_dim"))     /* Keras' first layer of a Sequential model */
            diag_error(a->name_loc, "'%s' has no argument '%s': a model's input is declared by an 'input' line "
                       "before its first layer, e.g. input x: f32[28, 28]", e->name, a->name);
        else if (def->nattrs)
            diag_error(a->name_loc, "'%s' has no argument '%s'%s", e->name, a->name,
                       diag_did_you_mean(a->name, attr_names, def->nattrs));
        else
            diag_error(a->name_loc, "'%s' takes no arguments", e->name);
        ++*errors;
        return -1;
    }
    if (*pos < def->nattrs && def->attrs[*pos].type == AT_DIMS)
        return *pos;    /* takes every remaining positional argument */
    if (*pos >= def->nattrs) {
        diag_error(a->value->loc, "too many arguments to '%s' (it takes %d)", e->name,
                   def->ninputs + def->nattrs);
        ++*errors;
        return -1;
    }
    return (*pos)++;
}

/* the call's attribute arguments from first on, then the defaults, into
 * *attr; the number of errors reported */
static int call_attrs(const Expr *e, const OpDef *def, int first, Attrs *attr) {
    int set[32] = { 0 }, pos = 0, errors = 0;
    memset(attr, 0, sizeof *attr);
    attr->use_bias = 1;
    for (int i = first; i < e->nargs; i++) {
        const Arg *a = &e->args[i];
        int k = attr_slot(e, def, a, &pos, attr, &errors);
        if (k < 0) continue;
        if (set[k] && (a->name || def->attrs[k].type != AT_DIMS)) {   /* positional dims: all of them */
            diag_error(a->name ? a->name_loc : a->value->loc, "'%s' is given twice", def->attrs[k].name);
            errors++;
            continue;
        }
        set[k] = 1;
        if (bind_attr(&def->attrs[k], a->value, attr)) errors++;
    }
    for (int k = 0; k < def->nattrs; k++) {
        if (set[k]) continue;
        if (!def->attrs[k].dflt) {
            diag_error(e->loc, "'%s' needs '%s'", e->name, def->attrs[k].name);
            errors++;
        } else {
            attr_default(&def->attrs[k], attr);
        }
    }
    return errors;
}

// activation = "activation" "(" [value ","] NAME ")"   (Keras' Activation layer)
/* lowered as the layer of that name: activation(relu) is relu */
static int lower_activation(Lower *L, const Expr *e, int implicit, const char *target) {
    Arg args[IR_MAX_IO];
    const Expr *act = NULL;
    int n = 0;
    for (int i = 0; i < e->nargs; i++) {
        const Arg *a = &e->args[i];
        if (!a->name && !act && n < IR_MAX_IO && is_tensor(L, a->value)) {
            args[n++] = *a;
        } else if (!act && (!a->name || !strcmp(a->name, "activation"))) {
            act = a->value;
        } else {
            diag_error(a->name ? a->name_loc : a->value->loc, "%s takes one activation, e.g. activation(relu)",
                       e->name);
            return -1;
        }
    }
    if (!act) {
        diag_error(e->loc, "%s needs the activation, e.g. activation(relu)", e->name);
        return -1;
    }
    /* the activation layer of that name (its arguments at their defaults),
     * else the layer of that activation function; None is linear */
    int op = -1, k = act->kind == EX_IDENT ? name_index(act->name, act_names, act_count) : -1;
    if (act->kind == EX_IDENT && !strcmp(act->name, "None")) {
        op = OP_LINEAR;
    } else if (act->kind == EX_IDENT) {
        int o = lower_layer_op(act->name);
        const OpDef *d = o >= 0 ? op_table[o] : NULL;
        int defaults = d != NULL;
        for (int j = 0; d && j < d->nattrs; j++) defaults &= d->attrs[j].dflt != NULL;
        if (d && (d->rt & RT_ACT) && d->ninputs == 1 && !d->params && !d->wrapper && defaults) op = o;
        else if (k >= 0) op = k == NNC_RT_ACT_LINEAR ? OP_LINEAR : op_for_act(k);
    }
    if (op < 0) {
        if (act->kind == EX_IDENT && k < 0)
            lower_unknown(act->loc, "activation", act->name, act_names, act_count);
        else
            diag_error(act->loc, "expected an activation name here, e.g. activation(relu)");
        return -1;
    }
    Expr call = *e;
    call.kind = EX_CALL;
    call.name = op_name(op);
    call.args = args;
    call.nargs = n;
    return lower_call(L, &call, implicit, target);
}

// call = LAYER "(" [tensor args] [attribute args] ")"
static int lower_call(Lower *L, const Expr *e, int implicit, const char *target) {
    int op = lower_layer_op(e->name);
    lower_keras_note(e->name, e->name_loc.line ? e->name_loc : e->loc);
    if (op < 0 && lower_is_activation_layer(e->name)) return lower_activation(L, e, implicit, target);
    if (op >= 0 && op_table[op]->wrapper) return lower_wrapper(L, e, implicit, target);
    if (op < 0) {
        const char *names[OP_COUNT + 32];
        int nnames = lower_layer_names(names, OP_COUNT + 32);
        /* a bare name near a value and far from every layer is a misspelt value */
        if (e->kind == EX_IDENT && near_value(L, e->name) && !diag_suggest(e->name, names, nnames))
            unknown_value(L, e);
        else
            lower_unknown(e->name_loc.line ? e->name_loc : e->loc, "layer", e->name, names, nnames);
        return -1;
    }
    const OpDef *def = op_table[op];
    int in[IR_MAX_IO], nin, poisoned;
    int first_attr = call_inputs(L, e, def, implicit, in, &nin, &poisoned);
    if (first_attr < 0) return -1;
    Attrs attr;
    if (call_attrs(e, def, first_attr, &attr) || poisoned) return -1;
    if (op == OP_MULTI_HEAD_ATTENTION) {    /* made of other ops (ops/attention.c) */
        char name[IR_NAME];
        layer_name(L, op, NULL, target, name);
        return attention_lower(L->g, in, nin, &attr, e->loc, name);
    }

    /* a layer's output activation becomes its own node; fuse_act may merge it
     * (a recurrent layer's activation is part of its cell and stays) */
    attr.reverse = L->reverse;
    attr.per_step = L->per_step;
    int act = def->epilogue ? attr.act : NNC_RT_ACT_LINEAR;
    if (def->epilogue) attr.act = NNC_RT_ACT_LINEAR;
    char name[IR_NAME];
    const char *kname = L->bidi ? NULL : lower_keras_layer_name(e);   /* Keras' name = '...' */
    if (kname && !name_fits(kname, e->loc, "the layer")) return -1;
    layer_name(L, op, kname, target, name);
    int out = add_layer_node(L, op, in, nin, attr, e->loc, name);
    if (out < 0 || act == NNC_RT_ACT_LINEAR) return out;
    Attrs none;
    memset(&none, 0, sizeof none);
    none.alpha = nnc_rt_act_alpha(act);   /* leaky_relu, elu: Keras' activation functions' defaults */
    char act_layer[IR_NAME];
    snprintf(act_layer, sizeof act_layer, "%.50s_%s", name, act_name(act));
    int r = add_layer_node(L, op_for_act(act), &out, 1, none, e->loc, act_layer);
    if (r >= 0) L->g->nodes[L->g->values[r].producer].layer[0] = 0;  /* shown as part of its layer */
    if (!target) target = kname;    /* Dense(1, activation = 'sigmoid', name = 'predictions') */
    if (r >= 0 && target) {     /* code = dense(h, 4, relu): 'code' is what the activation gives */
        snprintf(L->g->values[out].name, IR_NAME, "%.100s.pre", target);
        snprintf(L->g->values[r].name, IR_NAME, "%s", target);
    }
    return r;
}

static int lower_expr(Lower *L, const Expr *e, int implicit, const char *target) {
    if (e->kind == EX_IDENT) {
        int v = env_find(L, e->name);
        if (v >= 0) return v;
        if (v == POISONED) return -1;
    }
    if (e->kind == EX_NUMBER || e->kind == EX_TUPLE) {
        diag_error(e->loc, "expected a layer, got %s", lower_expr_text(e));
        return -1;
    }
    return lower_call(L, e, implicit, target);
}

/* ---- model block -------------------------------------------------------------------- */

static int lower_input(Lower *L, const Stmt *s) {
    Graph *g = L->g;
    static const char *const types[] = { "f32", "i32" };
    int dtype = name_index(s->type.dtype, types, 2);
    if (dtype < 0) {
        diag_error(s->type.dtype_loc, "unsupported input type '%s'%s; supported: f32, i32 (token ids)",
                   s->type.dtype, diag_did_you_mean(s->type.dtype, types, 2));
        return -1;
    }
    if (g->ninputs && (dtype == DT_I32 || g->values[g->inputs[0]].dtype == DT_I32)) {
        diag_error(s->loc, "a model with an i32 input takes no other inputs");
        return -1;
    }
    if (g->ninputs == IR_MAX_GRAPH_IO) {
        diag_error(s->loc, "a model takes at most %d inputs", IR_MAX_GRAPH_IO);
        return -1;
    }
    int v = ir_value(g, s->name, ROLE_INPUT, 1, s->type.rank, s->type.dims);
    g->values[v].loc = s->loc;
    g->values[v].dtype = dtype == 1 ? DT_I32 : DT_F32;
    double floats = 1;     /* not ir_size: three large dims overflow a long */
    for (int i = 0; i < s->type.rank; i++) floats *= s->type.dims[i];
    if (floats > (1L << 28) / 32) {
        diag_error(s->type.loc, "input '%s' has %.0f values per sample; the limit is %ld", s->name,
                   floats, (1L << 28) / 32);
        return -1;
    }
    if (g->input < 0) g->input = v;
    g->inputs[g->ninputs++] = v;
    return env_bind(L, s->name, s->name_loc, v, 0) ? -1 : v;
}

/* y, h, c = lstm(...): the further names bind the layer's further outputs */
static int lower_more_outputs(Lower *L, const Stmt *s, int v) {
    Graph *g = L->g;
    int have = 0;
    const Node *n = NULL;
    if (v >= 0 && g->values[v].producer >= 0) {
        n = &g->nodes[g->values[v].producer];
        have = n->attr.outputs > 1 ? n->attr.outputs : 1;
    }
    if (v >= 0 && 1 + s->nvalues > have) {
        diag_error(s->values[0]->loc, "this layer gives %d value%s, not %d%s", have, have == 1 ? "" : "s",
                   1 + s->nvalues, have == 1 ? "; recurrent layers give their states with return_state = true" : "");
        v = -1;
    }
    int status = 0;
    for (int i = 0; i < s->nvalues; i++) {
        int out = v >= 0 ? g->nodes[g->values[v].producer].out[1 + i] : POISONED;
        if (env_bind(L, s->values[i]->name, s->values[i]->loc, out, 1)) status = -1;
    }
    return v < 0 ? -1 : status;
}

/* what no output depends on: an input (-Wunused-input), a layer whose
 * value nothing reads (-Wunused-layer; once per dead chain, at its end).
 * The graph holds the forward nodes in the order they were built, which is
 * an order of dependence, so one backward sweep marks what the outputs need. */
static void warn_unused(Graph *g) {
    char *live = calloc((size_t)g->nvalues, 1), *read = calloc((size_t)g->nvalues, 1);
    if (!live || !read) {
        free(live);
        free(read);
        return;
    }
    for (int i = 0; i < g->noutputs; i++) live[g->outputs[i]] = 1;
    for (int i = g->nnodes - 1; i >= 0; i--) {
        const Node *n = &g->nodes[i];
        int needed = 0;
        for (int j = 0; j < n->nout; j++) needed |= live[n->out[j]];
        for (int j = 0; j < n->nin; j++) {
            read[n->in[j]] = 1;
            if (needed) live[n->in[j]] = 1;
        }
    }
    for (int i = 0; i < g->ninputs; i++)
        if (!live[g->inputs[i]])
            diag_warning(g->values[g->inputs[i]].loc, "-Wunused-input", "input '%s' is not used: no output "
                         "depends on it", g->values[g->inputs[i]].name);
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        int needed = 0, unread = 1;
        for (int j = 0; j < n->nout; j++) {
            needed |= live[n->out[j]];
            unread &= !read[n->out[j]];
        }
        if (needed || !unread || !n->nout) continue;
        /* an activation node is shown as its layer: name the layer's value */
        const char *name = g->values[n->out[0]].name;
        if (!n->layer[0] && n->nin && g->values[n->in[0]].producer >= 0 &&
            g->nodes[g->values[n->in[0]].producer].layer[0] && strchr(name, '.') == NULL)
            name = g->nodes[g->values[n->in[0]].producer].layer;
        diag_warning(n->loc, "-Wunused-layer", "'%s' is computed but never used: no output depends on it", name);
    }
    free(live);
    free(read);
}

static int lower_model(Lower *L, const Block *b) {
    Graph *g = L->g;
    int prev = -1, errors = 0;
    for (const Stmt *s = b->stmts; s; s = s->next) {
        int v = -1;
        switch (s->kind) {
        case ST_INPUT:
            v = lower_input(L, s);
            break;
        case ST_LAYER:
            v = lower_expr(L, s->value, prev, NULL);
            break;
        case ST_ASSIGN:
            v = lower_expr(L, s->value, prev, s->name);
            if (env_bind(L, s->name, s->name_loc, v < 0 ? POISONED : v, 1)) v = -1;
            if (s->nvalues && lower_more_outputs(L, s, v)) v = -1;
            break;
        case ST_OUTPUT:
            if (g->noutputs + s->nvalues > IR_MAX_GRAPH_IO) {
                diag_error(s->loc, "a model has at most %d outputs", IR_MAX_GRAPH_IO);
                break;
            }
            for (int i = 0; i < s->nvalues; i++) {
                if (s->values[i]->kind == EX_IDENT && env_find(L, s->values[i]->name) == -1) {
                    unknown_value(L, s->values[i]);
                    v = -1;
                    break;
                }
                v = lower_expr(L, s->values[i], -1, NULL);
                if (v < 0) break;
                if (ir_is_output(g, v)) {
                    diag_error(s->values[i]->loc, "'%s' is already an output", g->values[v].name);
                    v = -1;
                    break;
                }
                g->outputs[g->noutputs++] = v;
            }
            break;
        case ST_SETTING:
            diag_error(s->name_loc, "'%s' is a train setting; it belongs in a 'train' block", s->name);
            break;
        }
        if (v < 0) errors++;
        prev = v < 0 ? POISONED : v;
    }
    if (!errors && g->input < 0) {
        diag_error(b->name_loc, "model '%s' has no input; add a line like 'input x: f32[28, 28]'", b->name);
        errors++;
    }
    if (!errors && g->noutputs == 0) g->outputs[g->noutputs++] = prev;
    for (int i = 0; !errors && i < g->noutputs; i++)
        if (g->values[ir_storage(g, g->outputs[i])].role == ROLE_INPUT) {
            diag_error(b->name_loc, "output '%s' of model '%s' is an input or a view of one; "
                       "an output must be computed by a layer", g->values[g->outputs[i]].name, b->name);
            errors++;
        }
    if (errors || lower_mask_outputs(g)) return -1;
    g->output = g->outputs[0];
    warn_unused(g);
    /* several inputs/outputs travel packed in the caller's rows */
    long col = 0;
    for (int i = 0; g->ninputs > 1 && i < g->ninputs; i++) {
        Value *in = &g->values[g->inputs[i]];
        in->role = ROLE_ACT;
        in->pack_offset = col;
        col += ir_size(in);
    }
    col = 0;
    for (int i = 0; i < g->noutputs; i++) {
        g->values[g->outputs[i]].pack_offset = col;
        col += ir_size(&g->values[g->outputs[i]]);
    }
    return 0;
}

/* ---- program ------------------------------------------------------------------------------ */

static const Block *find_block(const Program *p, BlockKind kind, const char *name) {
    for (const Block *b = p->blocks; b; b = b->next)
        if (b->kind == kind && (!name || !strcmp(b->name, name))) return b;
    return NULL;
}

static int count_blocks(const Program *p, BlockKind kind, const char **names, int max) {
    int n = 0;
    for (const Block *b = p->blocks; b; b = b->next)
        if (b->kind == kind) { if (n < max) names[n] = b->name; n++; }
    return n;
}

Graph *lower_program(const Program *p, const char *model_name) {
    const char *models[64], *trains[64];
    int nmodels = count_blocks(p, BLOCK_MODEL, models, 64);
    int ntrains = count_blocks(p, BLOCK_TRAIN, trains, 64);
    Loc none = { 0, 0, 0, 0 };
    int errors = 0;
    unsupported = 0;
    /* names are unique per kind */
    for (const Block *b = p->blocks; b; b = b->next)
        for (const Block *c = p->blocks; c != b; c = c->next)
            if (c->kind == b->kind && !strcmp(c->name, b->name)) {
                diag_error(b->name_loc, "%s '%s' is defined twice", b->kind == BLOCK_MODEL ?
                           "model" : "train block for", b->name);
                diag_note(c->name_loc, "the first is here");
                errors++;
                break;
            }
    /* every train block must name a model of this file */
    for (const Block *b = p->blocks; b; b = b->next)
        if (b->kind == BLOCK_TRAIN && !find_block(p, BLOCK_MODEL, b->name)) {
            diag_error(b->name_loc, "train block for unknown model '%s'%s", b->name,
                       diag_did_you_mean(b->name, models, nmodels < 64 ? nmodels : 64));
            errors++;
        }
    if (errors) return NULL;
    const Block *mb = NULL;
    if (model_name) {
        mb = find_block(p, BLOCK_MODEL, model_name);
        if (!mb) diag_error(none, "no model named '%s' in this file%s", model_name,
                            diag_did_you_mean(model_name, models, nmodels < 64 ? nmodels : 64));
    } else if (nmodels == 1) {
        mb = find_block(p, BLOCK_MODEL, NULL);
    } else if (nmodels == 0) {
        diag_error(none, "no model in this file; a model starts with 'model NAME {'");
    } else if (ntrains == 1) {
        mb = find_block(p, BLOCK_MODEL, trains[0]);
    } else {
        diag_error(none, "this file has %d models; choose one with --model NAME", nmodels);
    }
    if (!mb) return NULL;

    Lower L;
    memset(&L, 0, sizeof L);
    if (!name_fits(mb->name, mb->name_loc, "the model")) return NULL;
    L.g = ir_new(mb->name);
    int status = lower_model(&L, mb);
    const Block *tb = find_block(p, BLOCK_TRAIN, mb->name);
    /* after the model's errors, the train block's: all of a file's in one run */
    if (status) L.g->output = -1;
    if (tb && lower_train(L.g, tb, 0)) status = -1;
    if (status || diag_error_count()) {
        ir_free(L.g);
        return NULL;
    }
    return L.g;
}
