/* main.c — the program behind `nnc fit|evaluate|predict`: options into an
 * nnc_fit_config, data through nnc_host_xy_load, then nnc_fit_run, the
 * model's evaluate or predict, and the output files.
 *
 * Design: every option is one row of `options` (its name, the verbs that
 * take it, how its value is parsed and where it goes), so the parser, the
 * checks and the usage text come from one place.  Callback options take
 * Keras' keyword arguments as "key=value,..." (optionally wrapped as
 * "name(...)"); their keys are rows of small tables too.  Strings the
 * config points at are copies owned by the run and freed at its end.
 * Exit status: 0, 1 for bad input (data, files, a failed run), 2 for a
 * usage error.
 */
#include "fit_internal.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { V_FIT = 1, V_EVALUATE = 2, V_PREDICT = 4, V_ALL = 7 };

typedef struct host_args {
    nnc_fit_config cfg;
    const char *data, *labels, *label_column, *validation, *validation_labels, *output;
    int help;
    void **owned;           /* malloc'ed blocks the config points into */
    size_t nowned, capowned;
} host_args;

static void *keep(host_args *a, void *p)
{
    if (p != NULL && a->nowned == a->capowned) {
        size_t ncap = a->capowned ? a->capowned * 2 : 8;
        void **n = realloc(a->owned, ncap * sizeof *n);
        if (n == NULL) {
            free(p);
            return NULL;
        }
        a->owned = n;
        a->capowned = ncap;
    }
    if (p != NULL)
        a->owned[a->nowned++] = p;
    return p;
}

static char *copy(host_args *a, const char *s, size_t len)
{
    char *c = keep(a, malloc(len + 1));
    if (c != NULL) {
        memcpy(c, s, len);
        c[len] = '\0';
    }
    return c;
}

/* ---- values ------------------------------------------------------------------- */

enum kind { K_STR, K_INT, K_LONG, K_U64, K_DOUBLE, K_BOOL, K_MODE, K_SET, K_CLEAR, K_FN };

static int parse_double(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return end == s || *end != '\0' || errno != 0 || !isfinite(*v);
}

static int parse_long(const char *s, long *v)
{
    char *end;
    errno = 0;
    *v = strtol(s, &end, 10);
    return end == s || *end != '\0' || errno != 0;
}

/* one value of kind k at p, range-checked; 0, or 1 after saying why */
static int set_value(const char *what, int k, void *p, const char *s, double lo, double hi)
{
    double d;
    long l;
    switch (k) {
    case K_STR:
        if (*s == '\0') {
            fprintf(stderr, "%s: an empty value\n", what);
            return 1;
        }
        *(const char **)p = s;
        return 0;
    case K_INT: case K_LONG:
        if (parse_long(s, &l) || l < lo || l > hi) {
            fprintf(stderr, "%s: '%s' is not a whole number in [%.0f, %.0f]\n", what, s, lo, hi);
            return 1;
        }
        if (k == K_INT)
            *(int *)p = (int)l;
        else
            *(long *)p = l;
        return 0;
    case K_U64: {
        char *end;
        unsigned long long u;
        errno = 0;
        u = strtoull(s, &end, 10);
        if (end == s || *end != '\0' || errno != 0 || *s == '-') {
            fprintf(stderr, "%s: '%s' is not a non-negative whole number\n", what, s);
            return 1;
        }
        *(uint64_t *)p = (uint64_t)u;
        return 0;
    }
    case K_DOUBLE:
        if (parse_double(s, &d) || d < lo || d > hi) {
            fprintf(stderr, "%s: '%s' is not a number in [%g, %g]\n", what, s, lo, hi);
            return 1;
        }
        *(double *)p = d;
        return 0;
    case K_BOOL:
        if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "1"))
            *(int *)p = 1;
        else if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "0"))
            *(int *)p = 0;
        else {
            fprintf(stderr, "%s: '%s' is not true or false\n", what, s);
            return 1;
        }
        return 0;
    case K_MODE:
        if (!strcmp(s, "auto")) *(int *)p = 0;
        else if (!strcmp(s, "min")) *(int *)p = -1;
        else if (!strcmp(s, "max")) *(int *)p = 1;
        else {
            fprintf(stderr, "%s: '%s' is not auto, min or max\n", what, s);
            return 1;
        }
        return 0;
    default:
        return 1;
    }
}

/* ---- "key=value,..." specs ---------------------------------------------------------- */

typedef struct spec_key {
    const char *key;
    int kind;            /* K_STR ... K_MODE, or K_FN: a list (piecewise_constant) */
    size_t off;          /* in the struct the spec fills */
    double lo, hi;
} spec_key;

#define BIG 1e18
#define ES(f) offsetof(nnc_fit_early_stopping, f)
static const spec_key early_stopping_keys[] = {
    { "monitor", K_STR, ES(monitor), 0, 0 },
    { "min_delta", K_DOUBLE, ES(min_delta), -BIG, BIG },
    { "patience", K_LONG, ES(patience), 0, BIG },
    { "mode", K_MODE, ES(mode), 0, 0 },
    { "restore_best_weights", K_BOOL, ES(restore_best_weights), 0, 0 },
    { "start_from_epoch", K_LONG, ES(start_from_epoch), 0, BIG },
    { NULL, 0, 0, 0, 0 }
};
#define RL(f) offsetof(nnc_fit_reduce_lr, f)
static const spec_key reduce_lr_keys[] = {
    { "monitor", K_STR, RL(monitor), 0, 0 },
    { "factor", K_DOUBLE, RL(factor), 1e-300, 0.999999999 },
    { "patience", K_LONG, RL(patience), 0, BIG },
    { "mode", K_MODE, RL(mode), 0, 0 },
    { "min_delta", K_DOUBLE, RL(min_delta), -BIG, BIG },
    { "cooldown", K_LONG, RL(cooldown), 0, BIG },
    { "min_lr", K_DOUBLE, RL(min_lr), 0, BIG },
    { NULL, 0, 0, 0, 0 }
};
#define SC(f) offsetof(nnc_fit_schedule, f)
static const spec_key exponential_keys[] = {
    { "initial_learning_rate", K_DOUBLE, SC(initial), 1e-300, BIG },
    { "decay_steps", K_LONG, SC(decay_steps), 1, BIG },
    { "decay_rate", K_DOUBLE, SC(decay_rate), 1e-300, BIG },
    { "staircase", K_BOOL, SC(staircase), 0, 0 },
    { NULL, 0, 0, 0, 0 }
};
static const spec_key cosine_keys[] = {
    { "initial_learning_rate", K_DOUBLE, SC(initial), 0, BIG },
    { "decay_steps", K_LONG, SC(decay_steps), 1, BIG },
    { "alpha", K_DOUBLE, SC(alpha), 0, 1 },
    { "warmup_target", K_DOUBLE, SC(warmup_target), 0, BIG },
    { "warmup_steps", K_LONG, SC(warmup_steps), 0, BIG },
    { NULL, 0, 0, 0, 0 }
};
static const spec_key piecewise_keys[] = {
    { "boundaries", K_FN, SC(boundaries), 0, 0 },
    { "values", K_FN, SC(values), 0, 0 },
    { NULL, 0, 0, 0, 0 }
};

/* "[a, b, c]" into a malloc'ed array of doubles; the count into *n */
static int parse_list(host_args *a, const char *what, char *s, double **out, long *n)
{
    size_t len = strlen(s), cap = 1;
    char *p, *item;
    double *v;
    if (len < 2 || s[0] != '[' || s[len - 1] != ']') {
        fprintf(stderr, "%s: '%s' is not a list [a, b, ...]\n", what, s);
        return 1;
    }
    s[len - 1] = '\0';
    for (p = s + 1; *p; p++)
        cap += *p == ',';
    v = keep(a, malloc(cap * sizeof *v));
    if (v == NULL) {
        fprintf(stderr, "%s: out of memory\n", what);
        return 1;
    }
    *n = 0;
    for (item = strtok(s + 1, ","); item != NULL; item = strtok(NULL, ",")) {
        while (*item == ' ')
            item++;
        for (p = item + strlen(item); p > item && p[-1] == ' '; p--)
            p[-1] = '\0';
        if (parse_double(item, &v[*n])) {
            fprintf(stderr, "%s: '%s' is not a number\n", what, item);
            return 1;
        }
        (*n)++;
    }
    *out = v;
    return 0;
}

/* Fills base from "key=value,key=value" (commas inside [] do not split);
 * list keys go to lists[0..1] with their counts.  text is a copy we own. */
static int parse_spec(const char *opt, char *text, const spec_key *keys, void *base,
                      char **lists)
{
    char *p = text;
    while (*p) {
        char *item = p, *eq, *val, *end;
        const spec_key *k;
        int depth = 0;
        for (; *p && (depth > 0 || *p != ','); p++)
            depth += (*p == '[') - (*p == ']');
        if (*p)
            *p++ = '\0';
        while (*item == ' ')
            item++;
        if (*item == '\0')
            continue;
        eq = strchr(item, '=');
        if (eq == NULL) {
            fprintf(stderr, "%s: '%s' is not key=value\n", opt, item);
            return 2;
        }
        *eq = '\0';
        val = eq + 1;
        for (end = eq; end > item && end[-1] == ' '; end--)
            end[-1] = '\0';
        while (*val == ' ')
            val++;
        for (end = val + strlen(val); end > val && end[-1] == ' '; end--)
            end[-1] = '\0';
        if ((*val == '\'' || *val == '"') && strlen(val) >= 2 && val[strlen(val) - 1] == *val) {
            val[strlen(val) - 1] = '\0';
            val++;
        }
        for (k = keys; k->key != NULL && strcmp(k->key, item) != 0; k++)
            ;
        if (k->key == NULL) {
            fprintf(stderr, "%s: unknown key '%s' (known:", opt, item);
            for (k = keys; k->key != NULL; k++)
                fprintf(stderr, " %s", k->key);
            fprintf(stderr, ")\n");
            return 2;
        }
        if (k->kind == K_FN) {
            lists[k - keys] = val;   /* piecewise_keys: boundaries, values */
            continue;
        }
        {
            char what[128];
            snprintf(what, sizeof what, "%s %s", opt, k->key);
            if (set_value(what, k->kind, (char *)base + k->off, val, k->lo, k->hi))
                return 2;
        }
    }
    return 0;
}

/* the body of "name(body)", or the text itself without a name; NULL if malformed */
static char *call_body(char *text, const char *name)
{
    size_t n = strlen(name), len;
    if (strncmp(text, name, n) != 0 || text[n] != '(')
        return text;
    len = strlen(text);
    if (text[len - 1] != ')')
        return NULL;
    text[len - 1] = '\0';
    return text + n + 1;
}

/* a callback's spec, NAME(key=value, ...) or key=value,...; off/none turns it off */
static int opt_callback(host_args *a, const char *opt, const char *val, const char *name, int *on,
                        const spec_key *keys, void *target)
{
    char *t = copy(a, val, strlen(val)), *body;
    if (t == NULL)
        return 1;
    if (!strcmp(t, "off") || !strcmp(t, "none")) {
        *on = 0;
        return 0;
    }
    body = call_body(t, name);
    if (body == NULL) {
        fprintf(stderr, "%s: '%s' lacks its closing ')'\n", opt, val);
        return 2;
    }
    *on = 1;
    return parse_spec(opt, body, keys, target, NULL);
}

static int opt_early_stopping(host_args *a, const char *opt, const char *val)
{
    return opt_callback(a, opt, val, "early_stopping", &a->cfg.early_stopping.on, early_stopping_keys,
                        &a->cfg.early_stopping);
}

static int opt_reduce_lr(host_args *a, const char *opt, const char *val)
{
    return opt_callback(a, opt, val, "reduce_lr_on_plateau", &a->cfg.reduce_lr.on, reduce_lr_keys,
                        &a->cfg.reduce_lr);
}

static int opt_schedule(host_args *a, const char *opt, const char *val)
{
    static const struct { const char *name; nnc_fit_schedule_kind kind; const spec_key *keys; } kinds[] = {
        { "exponential_decay", NNC_FIT_EXPONENTIAL_DECAY, exponential_keys },
        { "cosine_decay", NNC_FIT_COSINE_DECAY, cosine_keys },
        { "piecewise_constant", NNC_FIT_PIECEWISE_CONSTANT, piecewise_keys },
    };
    nnc_fit_schedule *s = &a->cfg.schedule;
    char *t = copy(a, val, strlen(val)), *body = NULL, *lists[2] = { NULL, NULL };
    size_t i, n = sizeof kinds / sizeof kinds[0];
    int rc;
    if (t == NULL)
        return 1;
    if (!strcmp(t, "constant")) {
        s->kind = NNC_FIT_CONSTANT;
        return 0;
    }
    for (i = 0; i < n; i++) {
        size_t len = strlen(kinds[i].name);
        if (strncmp(t, kinds[i].name, len) == 0 && t[len] == '(' && t[strlen(t) - 1] == ')') {
            t[strlen(t) - 1] = '\0';
            body = t + len + 1;
            break;
        }
    }
    if (body == NULL) {
        fprintf(stderr, "%s: '%s' is not exponential_decay(...), cosine_decay(...) or "
                "piecewise_constant(...)\n", opt, val);
        return 2;
    }
    memset(s, 0, sizeof *s);
    s->kind = kinds[i].kind;
    rc = parse_spec(opt, body, kinds[i].keys, s, lists);
    if (rc)
        return rc;
    switch (s->kind) {
    case NNC_FIT_EXPONENTIAL_DECAY:
        if (s->decay_steps <= 0 || s->decay_rate <= 0) {
            fprintf(stderr, "%s: exponential_decay needs decay_steps and decay_rate\n", opt);
            return 2;
        }
        break;
    case NNC_FIT_COSINE_DECAY:
        if (s->decay_steps <= 0) {
            fprintf(stderr, "%s: cosine_decay needs decay_steps\n", opt);
            return 2;
        }
        if (s->warmup_steps > 0 && s->warmup_target <= 0) {
            fprintf(stderr, "%s: cosine_decay's warmup_steps needs a warmup_target\n", opt);
            return 2;
        }
        break;
    case NNC_FIT_PIECEWISE_CONSTANT: {
        double *b, *v;
        long nb, nv, j;
        long *bl;
        if (lists[0] == NULL || lists[1] == NULL) {
            fprintf(stderr, "%s: piecewise_constant needs boundaries=[...] and values=[...]\n", opt);
            return 2;
        }
        if (parse_list(a, opt, lists[0], &b, &nb) || parse_list(a, opt, lists[1], &v, &nv))
            return 2;
        if (nb < 1 || nv != nb + 1) {
            fprintf(stderr, "%s: piecewise_constant needs one value more than boundaries "
                    "(%ld boundaries, %ld values)\n", opt, nb, nv);
            return 2;
        }
        bl = keep(a, malloc((size_t)nb * sizeof *bl));
        if (bl == NULL)
            return 1;
        for (j = 0; j < nb; j++) {
            if (b[j] != floor(b[j]) || b[j] < 0 || b[j] > BIG || (j > 0 && b[j] <= b[j - 1])) {
                fprintf(stderr, "%s: the boundaries must be increasing step numbers\n", opt);
                return 2;
            }
            bl[j] = (long)b[j];
        }
        for (j = 0; j < nv; j++)
            if (v[j] <= 0) {
                fprintf(stderr, "%s: the values must be positive learning rates\n", opt);
                return 2;
            }
        s->nboundaries = nb;
        s->boundaries = bl;
        s->values = v;
        break;
    }
    default:
        break;
    }
    return 0;
}

static int opt_validation_split(host_args *a, const char *opt, const char *val)
{
    double d;
    if (parse_double(val, &d) || d < 0 || d >= 1) {
        fprintf(stderr, "%s: '%s' is not a fraction in [0, 1)\n", opt, val);
        return 2;
    }
    a->cfg.validation_split = d;
    return 0;
}

/* ---- the option table ----------------------------------------------------------- */

typedef int (*opt_fn)(host_args *a, const char *opt, const char *val);

typedef struct host_opt {
    const char *name;
    unsigned verbs;
    int kind;
    size_t off;              /* in host_args */
    double lo, hi;
    opt_fn fn;               /* K_FN */
    const char *arg, *help;
} host_opt;

#define A(f) offsetof(host_args, f)
static const host_opt options[] = {
    { "--data", V_ALL, K_STR, A(data), 0, 0, NULL, "FILE",
      "features, or features and labels (.npz, .npy, .csv, IDX, .f32)" },
    { "--labels", V_FIT | V_EVALUATE, K_STR, A(labels), 0, 0, NULL, "FILE", "labels, when --data has none" },
    { "--label-column", V_FIT | V_EVALUATE, K_STR, A(label_column), 0, 0, NULL, "NAME",
      "the label column of a .csv --data" },
    { "--validation-split", V_FIT, K_FN, 0, 0, 0, opt_validation_split, "F",
      "validate on the last fraction F of the training data" },
    { "--validation", V_FIT, K_STR, A(validation), 0, 0, NULL, "FILE", "validation features (and labels)" },
    { "--validation-labels", V_FIT, K_STR, A(validation_labels), 0, 0, NULL, "FILE", "validation labels" },
    { "--epochs", V_FIT, K_LONG, A(cfg.epochs), 1, 1e12, NULL, "N", "epochs to train" },
    { "--seed", V_FIT, K_U64, A(cfg.seed), 0, 0, NULL, "S", "seed of the initialisation and shuffling" },
    { "--weights", V_ALL, K_STR, A(cfg.weights), 0, 0, NULL, "FILE", "start from these saved parameters" },
    { "--save", V_FIT, K_STR, A(cfg.save), 0, 0, NULL, "FILE", "write the trained parameters" },
    { "--history", V_FIT, K_STR, A(cfg.history), 0, 0, NULL, "FILE", "write history.csv" },
    { "--plot", V_FIT, K_STR, A(cfg.plot), 0, 0, NULL, "FILE", "write the curves as SVG" },
    { "--verbose", V_ALL, K_INT, A(cfg.verbose), 0, 2, NULL, "N",
      "0 silent, 1 progress bar and epoch lines, 2 epoch lines" },
    { "--no-shuffle", V_FIT, K_CLEAR, A(cfg.shuffle), 0, 0, NULL, NULL, "train in stored order" },
    { "--early-stopping", V_FIT, K_FN, 0, 0, 0, opt_early_stopping, "SPEC",
      "'patience=3,monitor=val_loss,min_delta=0,mode=auto,restore_best_weights=true,start_from_epoch=0'" },
    { "--checkpoint", V_FIT, K_STR, A(cfg.checkpoint.path), 0, 0, NULL, "PATH",
      "save the parameters after each epoch ({epoch} is its number)" },
    { "--checkpoint-monitor", V_FIT, K_STR, A(cfg.checkpoint.monitor), 0, 0, NULL, "NAME",
      "what --save-best-only compares (val_loss)" },
    { "--checkpoint-mode", V_FIT, K_MODE, A(cfg.checkpoint.mode), 0, 0, NULL, "MODE",
      "auto, min or max: which way --checkpoint-monitor improves" },
    { "--save-best-only", V_FIT, K_SET, A(cfg.checkpoint.save_best_only), 0, 0, NULL, NULL,
      "checkpoint only when the monitor improves" },
    { "--reduce-lr-on-plateau", V_FIT, K_FN, 0, 0, 0, opt_reduce_lr, "SPEC",
      "'factor=0.1,patience=10,monitor=val_loss,min_delta=1e-4,cooldown=0,min_lr=0'" },
    { "--schedule", V_FIT, K_FN, 0, 0, 0, opt_schedule, "SCHEDULE",
      "exponential_decay(decay_steps=,decay_rate=,staircase=), cosine_decay(decay_steps=,alpha=,"
      "warmup_steps=,warmup_target=), piecewise_constant(boundaries=[..],values=[..])" },
    { "-o", V_PREDICT, K_STR, A(output), 0, 0, NULL, "FILE", "write the predictions (.npy)" },
    { "--output", V_PREDICT, K_STR, A(output), 0, 0, NULL, "FILE", "same as -o" },
    { "--help", V_ALL, K_SET, A(help), 0, 0, NULL, NULL, "this text" },
    { "-h", V_ALL, K_SET, A(help), 0, 0, NULL, NULL, "this text" },
};
#define NOPTIONS (sizeof options / sizeof options[0])

static const char *const verb_names[] = { "fit", "evaluate", "predict" };

static void usage(FILE *f, const char *prog, unsigned verb)
{
    size_t i;
    fprintf(f, "usage: %s fit|evaluate|predict [options]\n"
            "  fit       train on --data, validating on --validation or --validation-split\n"
            "  evaluate  print the loss and metrics of --weights on --data\n"
            "  predict   write the outputs of --weights on --data to -o FILE.npy\n"
            "options%s%s:\n", prog, verb ? " of " : "",
            verb ? verb_names[verb == V_FIT ? 0 : verb == V_EVALUATE ? 1 : 2] : "");
    for (i = 0; i < NOPTIONS; i++) {
        char left[64];
        if (verb && !(options[i].verbs & verb))
            continue;
        snprintf(left, sizeof left, "%s%s%s", options[i].name, options[i].arg ? " " : "",
                 options[i].arg ? options[i].arg : "");
        fprintf(f, "  %-28s %s\n", left, options[i].help);
    }
}

/* argv[2..] into a; 0, or the exit status (2: a usage error) */
static int parse_options(host_args *a, unsigned verb, int argc, char **argv)
{
    int i;
    for (i = 2; i < argc; i++) {
        const char *arg = argv[i], *val = NULL, *eq;
        char name[64];
        size_t len, j;
        const host_opt *o = NULL;
        int rc;
        eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
        len = eq ? (size_t)(eq - arg) : strlen(arg);
        if (len >= sizeof name)
            len = sizeof name - 1;
        memcpy(name, arg, len);
        name[len] = '\0';
        for (j = 0; j < NOPTIONS && o == NULL; j++)
            if (strcmp(options[j].name, name) == 0)
                o = &options[j];
        if (o == NULL) {
            fprintf(stderr, "%s: unknown option '%s' (see %s %s --help)\n", argv[0], arg, argv[0],
                    argv[1]);
            return 2;
        }
        if (!(o->verbs & verb)) {
            fprintf(stderr, "%s: %s is not an option of %s\n", argv[0], o->name, argv[1]);
            return 2;
        }
        if (o->kind == K_SET || o->kind == K_CLEAR) {
            if (eq != NULL) {
                fprintf(stderr, "%s: %s takes no value\n", argv[0], o->name);
                return 2;
            }
            *(int *)((char *)a + o->off) = o->kind == K_SET;
            continue;
        }
        if (eq != NULL)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else {
            fprintf(stderr, "%s: %s needs a value (%s)\n", argv[0], o->name, o->arg);
            return 2;
        }
        if (o->kind == K_FN)
            rc = o->fn(a, o->name, val);
        else
            rc = set_value(o->name, o->kind, (char *)a + o->off, val, o->lo, o->hi) ? 2 : 0;
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- the verbs ---------------------------------------------------------------------- */

static int run_fit(const nnc_fit_model *model, host_args *a)
{
    nnc_host_xy train, val;
    nnc_fit_history h;
    int rc, status = 0;

    memset(&train, 0, sizeof train);
    memset(&val, 0, sizeof val);
    memset(&h, 0, sizeof h);
    if (nnc_host_xy_load(a->data, a->labels, a->label_column, &model->io, 1, &train))
        return 1;
    if (a->validation != NULL &&
        nnc_host_xy_load(a->validation, a->validation_labels, a->label_column, &model->io, 1, &val)) {
        nnc_host_xy_free(&train);
        return 1;
    }
    rc = nnc_fit_run(model, &a->cfg, &train, &val, &h);
    if (rc)
        status = 1;
    /* what was learnt so far is written even after Ctrl-C or NaN */
    if (h.count > 0 && a->cfg.history != NULL && nnc_fit_history_csv(a->cfg.history, &h, model->metrics))
        status = 1;
    if (h.count > 0 && a->cfg.plot != NULL && nnc_fit_history_svg(a->cfg.plot, &h, model->metrics))
        status = 1;
    if (rc == 0 && a->cfg.save != NULL && fit_save_weights(model, a->cfg.save))
        status = 1;
    nnc_fit_history_free(&h);
    nnc_host_xy_free(&val);
    nnc_host_xy_free(&train);
    return status;
}

/* init, then the --weights parameters over it */
static int load_model(const nnc_fit_model *model, host_args *a, const char *verb)
{
    if (a->cfg.weights == NULL) {
        fprintf(stderr, "%s needs --weights FILE (the parameters nnc fit --save wrote)\n", verb);
        return 2;
    }
    model->init(model->m, a->cfg.seed);
    return fit_load_weights(model, a->cfg.weights);
}

static int bar_progress(void *ctx, const nnc_rt_progress *p)
{
    fit_bar_draw(ctx, p);
    return 0;
}

static int run_evaluate(const nnc_fit_model *model, host_args *a)
{
    nnc_host_xy d;
    nnc_rt_metrics m;
    fit_bar bar;
    long n;
    int rc;

    rc = load_model(model, a, "evaluate");
    if (rc)
        return rc;
    memset(&d, 0, sizeof d);
    if (nnc_host_xy_load(a->data, a->labels, a->label_column, &model->io, 1, &d))
        return 1;
    memset(&m, 0, sizeof m);
    fit_bar_begin(&bar, a->cfg.verbose == 1 && isatty(STDERR_FILENO), model->batch, model->metrics);
    n = d.n;
    rc = model->evaluate(model->m, d.x.data, d.y.data, n, &m, bar_progress, &bar);
    fit_bar_end(&bar);
    nnc_host_xy_free(&d);
    if (rc != 0) {
        fprintf(stderr, "evaluate: the model failed on %s (error %d)\n", a->data, rc);
        return 1;
    }
    printf("%ld samples", n);
    fit_print_metrics(stdout, &m, model->metrics, "");
    printf("\n");
    return 0;
}

static int run_predict(const nnc_fit_model *model, host_args *a)
{
    nnc_host_xy d;
    float *y;
    long shape[2];
    int rc;

    if (a->output == NULL) {
        fprintf(stderr, "predict needs -o FILE.npy\n");
        return 2;
    }
    if (model->io.classes <= 0) {
        fprintf(stderr, "predict: the model does not say its output size (io.classes)\n");
        return 1;
    }
    rc = load_model(model, a, "predict");
    if (rc)
        return rc;
    memset(&d, 0, sizeof d);
    if (nnc_host_xy_load(a->data, NULL, NULL, &model->io, 0, &d))
        return 1;
    shape[0] = d.n;
    shape[1] = model->io.classes;
    y = (size_t)shape[0] > SIZE_MAX / sizeof *y / (size_t)shape[1] ? NULL
        : malloc((size_t)(d.n > 0 ? d.n : 1) * (size_t)shape[1] * sizeof *y);
    if (y == NULL) {
        fprintf(stderr, "predict: out of memory for %ld x %ld predictions\n", shape[0], shape[1]);
        nnc_host_xy_free(&d);
        return 1;
    }
    model->predict(model->m, d.x.data, y, d.n);
    rc = nnc_host_npy_save(a->output, y, shape, 2) ? 1 : 0;
    if (rc == 0 && a->cfg.verbose > 0)
        fprintf(stderr, "%ld predictions of %ld values to %s\n", shape[0], shape[1], a->output);
    free(y);
    nnc_host_xy_free(&d);
    return rc;
}

int nnc_host_main(const nnc_fit_model *model, const nnc_fit_config *defaults, int argc, char **argv)
{
    const char *prog = argc > 0 && argv[0] != NULL ? argv[0] : "nnc";
    host_args a;
    unsigned verb = 0;
    int rc;
    size_t i;

    if (argc < 2) {
        usage(stderr, prog, 0);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout, prog, 0);
        return 0;
    }
    for (i = 0; i < 3; i++)
        if (!strcmp(argv[1], verb_names[i]))
            verb = 1u << i;
    if (verb == 0) {
        fprintf(stderr, "%s: '%s' is not fit, evaluate or predict\n", prog, argv[1]);
        usage(stderr, prog, 0);
        return 2;
    }
    memset(&a, 0, sizeof a);
    if (defaults != NULL)
        a.cfg = *defaults;
    else
        nnc_fit_config_defaults(&a.cfg);
    rc = parse_options(&a, verb, argc, argv);
    if (rc == 0 && a.help) {
        usage(stdout, prog, verb);
    } else if (rc == 0 && a.data == NULL) {
        fprintf(stderr, "%s %s: --data FILE is missing\n", prog, argv[1]);
        rc = 2;
    } else if (rc == 0 && a.validation != NULL && a.cfg.validation_split > 0) {
        fprintf(stderr, "%s fit: give --validation or --validation-split, not both\n", prog);
        rc = 2;
    } else if (rc == 0 && a.validation_labels != NULL && a.validation == NULL) {
        fprintf(stderr, "%s fit: --validation-labels without --validation\n", prog);
        rc = 2;
    } else if (rc == 0) {
        rc = verb == V_FIT ? run_fit(model, &a) : verb == V_EVALUATE ? run_evaluate(model, &a)
                                                                     : run_predict(model, &a);
    }
    for (i = 0; i < a.nowned; i++)
        free(a.owned[i]);
    free(a.owned);
    fflush(stdout);
    return rc;
}
