/* fit_settings.c — what a train block says about the training loop rather
 * than the model: validation_split, shuffle, callbacks and a learning-rate
 * schedule, with Keras' names and defaults.
 *
 *     train m {
 *         ...
 *         validation_split 0.1
 *         callbacks early_stopping(patience = 3, restore_best_weights = true),
 *                   reduce_lr_on_plateau(factor = 0.5, patience = 2)
 *         schedule  cosine_decay(decay_steps = 2000, warmup_steps = 200, warmup_target = 0.001)
 *     }
 *
 * Decisions:
 *  - One table of callbacks and schedules, their arguments and the
 *    nnc_fit_config field each sets (host/nnc_host.h).  Lowering checks a
 *    setting against it (so `nnc model.nn -o` reports a misspelt patience
 *    too, with the file's line and column); `nnc fit` writes the same
 *    settings into the driver as assignments over Keras' defaults, and the
 *    driver's options override them.  The generated model itself never
 *    sees them.
 *  - Keras' classes name them too: EarlyStopping(patience = 3),
 *    CosineDecay(...).
 *  - model_checkpoint takes no path in the .nn file (its strings are names
 *    only): it writes MODEL.checkpoint.bin unless --checkpoint says where.  piecewise_constant_decay takes lists, so it is given with
 *    --schedule only.
 */
#include <stdio.h>
#include <string.h>
#include "ast.h"
#include "build.h"
#include "lower.h"

typedef enum ArgKind { A_NUM, A_INT, A_BOOL, A_MONITOR, A_MODE, A_FRACTION } ArgKind;

typedef struct FitArg {
    const char *name;
    ArgKind kind;
    const char *field;      /* in the callback's struct of nnc_fit_config; NULL: accepted, no effect */
} FitArg;

typedef struct FitCall {
    const char *setting;    /* the train-block setting it is written under */
    const char *name;       /* Keras' name, snake_case */
    const char *target;     /* the struct in nnc_fit_config */
    const char *on;         /* the assignment that turns it on */
    const FitArg *args;
    int nargs;
} FitCall;

static const FitArg early_stopping[] = {
    { "monitor", A_MONITOR, "monitor" }, { "min_delta", A_NUM, "min_delta" }, { "patience", A_INT, "patience" },
    { "mode", A_MODE, "mode" }, { "restore_best_weights", A_BOOL, "restore_best_weights" },
    { "start_from_epoch", A_INT, "start_from_epoch" }, { "verbose", A_INT, NULL },
};
static const FitArg model_checkpoint[] = {
    { "monitor", A_MONITOR, "monitor" }, { "save_best_only", A_BOOL, "save_best_only" }, { "mode", A_MODE, "mode" },
    { "verbose", A_INT, NULL },
};
static const FitArg reduce_lr[] = {
    { "monitor", A_MONITOR, "monitor" }, { "factor", A_FRACTION, "factor" }, { "patience", A_INT, "patience" },
    { "mode", A_MODE, "mode" }, { "min_delta", A_NUM, "min_delta" }, { "cooldown", A_INT, "cooldown" },
    { "min_lr", A_NUM, "min_lr" }, { "verbose", A_INT, NULL },
};
static const FitArg exponential[] = {
    { "initial_learning_rate", A_NUM, "initial" }, { "decay_steps", A_INT, "decay_steps" },
    { "decay_rate", A_NUM, "decay_rate" }, { "staircase", A_BOOL, "staircase" },
};
static const FitArg cosine[] = {
    { "initial_learning_rate", A_NUM, "initial" }, { "decay_steps", A_INT, "decay_steps" },
    { "alpha", A_NUM, "alpha" }, { "warmup_target", A_NUM, "warmup_target" },
    { "warmup_steps", A_INT, "warmup_steps" },
};

#define N(a) (int)(sizeof a / sizeof a[0])
static const FitCall calls[] = {
    { "callbacks", "early_stopping", "early_stopping", "on = 1", early_stopping, N(early_stopping) },
    { "callbacks", "model_checkpoint", "checkpoint", NULL, model_checkpoint, N(model_checkpoint) },
    { "callbacks", "reduce_lr_on_plateau", "reduce_lr", "on = 1", reduce_lr, N(reduce_lr) },
    { "schedule", "exponential_decay", "schedule", "kind = NNC_FIT_EXPONENTIAL_DECAY", exponential, N(exponential) },
    { "schedule", "cosine_decay", "schedule", "kind = NNC_FIT_COSINE_DECAY", cosine, N(cosine) },
};

static const char *const monitors[] = {
    "loss", "accuracy", "precision", "recall", "f1", "mae", "mse",
    "val_loss", "val_accuracy", "val_precision", "val_recall", "val_f1", "val_mae", "val_mse",
};

static int is_bool(const Expr *e, int *v) {
    if (e->kind != EX_IDENT) return 0;
    if (!strcmp(e->name, "true") || !strcmp(e->name, "True")) return *v = 1, 1;
    if (!strcmp(e->name, "false") || !strcmp(e->name, "False")) return *v = 0, 1;
    return 0;
}

/* one argument's value: 0 when it fits its kind, else 1 after reporting */
static int check_value(const FitCall *c, const FitArg *a, const Expr *e) {
    int b;
    switch (a->kind) {
    case A_NUM:
        if (e->kind == EX_NUMBER && e->num >= 0) return 0;
        break;
    case A_FRACTION:
        if (e->kind == EX_NUMBER && e->num > 0 && e->num < 1) return 0;
        break;
    case A_INT:
        if (e->kind == EX_NUMBER && e->is_int && e->num >= 0) return 0;
        break;
    case A_BOOL:
        if (is_bool(e, &b)) return 0;
        break;
    case A_MODE:
        if (e->kind == EX_IDENT && (!strcmp(e->name, "auto") || !strcmp(e->name, "min") || !strcmp(e->name, "max")))
            return 0;
        break;
    case A_MONITOR:
        for (int i = 0; e->kind == EX_IDENT && i < N(monitors); i++)
            if (!strcmp(e->name, monitors[i])) return 0;
        lower_unknown(e->loc, "quantity to monitor", e->kind == EX_NUMBER ? lower_expr_text(e) : e->name, monitors,
                      N(monitors));
        return 1;
    }
    static const char *const want[] = { "a number >= 0", "a whole number >= 0", "true or false",
                                        "a metric such as val_loss", "auto, min or max", "a number between 0 and 1" };
    if (e->kind == EX_NUMBER) diag_error(e->loc, "%s's %s must be %s, got %g", c->name, a->name, want[a->kind], e->num);
    else diag_error(e->loc, "%s's %s must be %s, got '%s'", c->name, a->name, want[a->kind], e->name);
    return 1;
}

/* by Keras' function name or its class (EarlyStopping, CosineDecay) */
static const FitCall *find_call(const char *setting, const Expr *e) {
    char buf[2 * IR_NAME + 1];
    const char *name = lower_snake_name(e->name, buf, sizeof buf);
    for (int i = 0; i < N(calls); i++)
        if (!strcmp(calls[i].setting, setting) && !strcmp(calls[i].name, name)) return &calls[i];
    return NULL;
}

/* one callback or schedule: 0, or the number of errors reported */
static int check_call(const char *setting, const Expr *e) {
    const char *names[N(calls)];
    int n = 0;
    for (int i = 0; i < N(calls); i++)
        if (!strcmp(calls[i].setting, setting)) names[n++] = calls[i].name;
    const FitCall *c = e->kind == EX_NUMBER ? NULL : find_call(setting, e);
    if (!c) {
        lower_unknown(e->kind == EX_CALL ? e->name_loc : e->loc, setting[0] == 'c' ? "callback" : "schedule",
                      e->kind == EX_NUMBER ? lower_expr_text(e) : e->name, names, n);
        return 1;
    }
    int errors = 0;
    for (int i = 0; i < (e->kind == EX_CALL ? e->nargs : 0); i++) {
        const Arg *a = &e->args[i];
        const FitArg *k = NULL;
        for (int j = 0; a->name && j < c->nargs; j++)
            if (!strcmp(a->name, c->args[j].name)) k = &c->args[j];
        if (!a->name) {
            diag_error(a->value->loc, "%s's arguments are named, e.g. %s = ...", c->name, c->args[0].name);
            errors++;
        } else if (!k) {
            const char *valid[8];
            for (int j = 0; j < c->nargs; j++) valid[j] = c->args[j].name;
            diag_error(a->name_loc, "%s has no argument '%s'%s", c->name, a->name,
                       diag_did_you_mean(a->name, valid, c->nargs));
            errors++;
        } else errors += check_value(c, k, a->value);
    }
    return errors;
}

int fit_setting_check(const Stmt *s) {
    if (!strcmp(s->name, "validation_split") || !strcmp(s->name, "shuffle")) {
        int b, v = s->name[0] == 'v';
        if (s->nvalues == 1 && (v ? s->values[0]->kind == EX_NUMBER && s->values[0]->num >= 0 && s->values[0]->num < 1
                                  : is_bool(s->values[0], &b)))
            return 0;
        diag_error(s->loc, "'%s' takes %s", s->name, v ? "one number in [0, 1), e.g. validation_split 0.1"
                                                      : "true or false");
        return 1;
    }
    if (strcmp(s->name, "callbacks") && strcmp(s->name, "schedule")) return -1;
    if (s->name[0] == 's' && s->nvalues != 1) {
        diag_error(s->loc, "'schedule' takes one schedule");
        return 1;
    }
    int errors = 0;
    for (int i = 0; i < s->nvalues; i++) errors += check_call(s->name, s->values[i]);
    return errors > 0;
}

static void emit_value(FILE *f, const FitArg *a, const Expr *e) {
    int b = 0;
    if (a->kind == A_BOOL) is_bool(e, &b), fprintf(f, "%d", b);
    else if (a->kind == A_MODE) fprintf(f, "%d", !strcmp(e->name, "min") ? -1 : !strcmp(e->name, "max"));
    else if (a->kind == A_MONITOR) fprintf(f, "\"%s\"", e->name);
    else if (a->kind == A_INT) fprintf(f, "%ld", (long)e->num);
    else fprintf(f, "%.9g", e->num);
}

void fit_settings_emit(FILE *f, const Program *p, const char *model) {
    const Block *tb = NULL;
    for (const Block *b = p ? p->blocks : NULL; b; b = b->next)
        if (b->kind == BLOCK_TRAIN && !strcmp(b->name, model)) tb = b;
    for (const Stmt *s = tb ? tb->stmts : NULL; s; s = s->next) {
        if (s->kind != ST_SETTING) continue;
        int b;
        if (!strcmp(s->name, "validation_split")) fprintf(f, "    c.validation_split = %.9g;\n", s->values[0]->num);
        if (!strcmp(s->name, "shuffle")) is_bool(s->values[0], &b), fprintf(f, "    c.shuffle = %d;\n", b);
        if (strcmp(s->name, "callbacks") && strcmp(s->name, "schedule")) continue;
        for (int i = 0; i < s->nvalues; i++) {
            const Expr *e = s->values[i];
            const FitCall *c = find_call(s->name, e);
            if (c->on) fprintf(f, "    c.%s.%s;\n", c->target, c->on);
            else fprintf(f, "    c.%s.path = \"%s.checkpoint.bin\";\n", c->target, model);
            for (int k = 0; k < (e->kind == EX_CALL ? e->nargs : 0); k++)
                for (int j = 0; j < c->nargs; j++)
                    if (c->args[j].field && !strcmp(e->args[k].name, c->args[j].name)) {
                        fprintf(f, "    c.%s.%s = ", c->target, c->args[j].field);
                        emit_value(f, &c->args[j], e->args[k].value);
                        fprintf(f, ";\n");
                    }
        }
    }
}
