/* lower_train.c — a train block -> the graph's TrainConfig: the loss (and
 * whether the output holds logits), the optimizer with Keras' defaults,
 * metrics, batch and epochs; for a .nn file's train block and for an
 * imported graph's recipe given on the command line (--train, --optimizer),
 * which is parsed as the train block it stands for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ast.h"
#include "ir.h"
#include "lower.h"
#include "nnc_rt.h"

/* the model's settings, then the training loop's (fit_settings.c) */
static const char *const settings[] = { "loss", "optimizer", "metrics", "batch", "epochs", "class_weight",
                                        "loss_weights",
                                        "validation_split", "shuffle", "callbacks", "schedule" };
enum { NSETTINGS = 7, NALL = sizeof settings / sizeof settings[0] };
static const char *const metric_names[] = { "accuracy", "precision", "recall", "f1", "mae", "mse" };

static void optimizer_defaults(TrainConfig *t, int opt) {
    t->opt = opt;
    t->lr = opt == OPT_SGD ? 0.01f : 0.001f;
    t->beta1 = 0.9f; t->beta2 = 0.999f; t->eps = 1e-7f;
    t->momentum = 0; t->rho = 0.9f; t->nesterov = 0;
    t->weight_decay = opt == OPT_ADAMW ? 0.004f : 0;
    t->clipnorm = t->clipvalue = t->global_clipnorm = 0;
}

// optimizer = NAME | NAME "(" key "=" value, ... ")"
static int lower_optimizer(TrainConfig *t, const Expr *e) {
    int opt = e->kind == EX_NUMBER ? -1 : lower_optimizer_index(e->name);   /* adam, Adam, ... */
    if (opt < 0) {
        lower_unknown(e->kind == EX_CALL ? e->name_loc : e->loc, "optimizer", lower_expr_text(e), opt_names, 4);
        return -1;
    }
    optimizer_defaults(t, opt);
    static const char *const keys[] = { "lr", "learning_rate", "momentum", "nesterov", "rho",
                                        "beta_1", "beta_2", "epsilon", "weight_decay",
                                        "clipnorm", "clipvalue", "global_clipnorm" };
    enum { NKEYS = sizeof keys / sizeof keys[0], CLIPS = 0xe00 };
    /* which keys each optimizer accepts, by bit (every one clips, as Keras' base optimizer) */
    static const unsigned accepts[] = { 0x0f | CLIPS, 0x97 | CLIPS, 0xe3 | CLIPS, 0x1e3 | CLIPS };
    int errors = 0, clip_at = -1;
    for (int i = 0; i < (e->kind == EX_CALL ? e->nargs : 0); i++) {
        const Arg *a = &e->args[i];
        const char *key = a->name ? a->name : (i == 0 ? "lr" : NULL);
        int k = -1;
        for (int j = 0; key && j < NKEYS; j++)
            if (!strcmp(key, keys[j])) k = j;
        if (!key) {
            diag_error(a->value->loc, "optimizer settings after the first are named, e.g. momentum = 0.9");
            errors++;
            continue;
        }
        if (k < 0 || !(accepts[opt] >> k & 1)) {
            const char *valid[NKEYS];
            int nvalid = 0;
            for (int j = 0; j < NKEYS; j++)
                if (accepts[opt] >> j & 1) valid[nvalid++] = keys[j];
            diag_error(a->name_loc, "%s has no setting '%s'%s", opt_names[opt], key,
                       diag_did_you_mean(key, valid, nvalid));
            errors++;
            continue;
        }
        if (k == 3) {
            if (lower_bool_arg(a->value, "nesterov", &t->nesterov)) errors++;
            continue;
        }
        double v;
        if (lower_number_arg(a->value, key, 0, &v)) { errors++; continue; }
        if (v < 0 || ((k <= 1 || k == 7 || k >= 9) && v == 0) || ((k == 4 || k == 5 || k == 6) && v >= 1) ||
            (float)v - (float)v != 0) {
            diag_error(a->value->loc, "%s = %g is out of range", key, v);
            errors++;
            continue;
        }
        if (k >= 9 && clip_at >= 0) {   /* Keras refuses two as well */
            diag_error(a->name_loc, "only one of clipnorm, clipvalue and global_clipnorm can be set; "
                       "%s is set already", keys[clip_at]);
            errors++;
            continue;
        }
        if (k >= 9) clip_at = k;
        float *fields[] = { &t->lr, &t->lr, &t->momentum, NULL, &t->rho, &t->beta1, &t->beta2,
                            &t->eps, &t->weight_decay, &t->clipnorm, &t->clipvalue, &t->global_clipnorm };
        *fields[k] = (float)v;
    }
    return errors ? -1 : 0;
}

// class_weight = NUMBER, NUMBER, ...   (the weight of class 0, 1, ...)
static int lower_class_weight(TrainConfig *t, const Stmt *s) {
    if (t->class_weight) {
        diag_error(s->name_loc, "class_weight is set twice");
        return -1;
    }
    if (s->nvalues < 1) {
        diag_error(s->loc, "class_weight takes one weight per class, e.g. class_weight 1.0, 2.0");
        return -1;
    }
    float *w = malloc((size_t)s->nvalues * sizeof *w);
    if (!w) {
        diag_error(s->loc, "out of memory");
        return -1;
    }
    for (int i = 0; i < s->nvalues; i++) {
        double v;
        if (lower_number_arg(s->values[i], "class_weight", 0, &v)) {
            free(w);
            return -1;
        }
        if (!(v >= 0) || (float)v - (float)v != 0) {
            diag_error(s->values[i]->loc, "class_weight %g (class %d) is out of range: a weight is >= 0 and finite",
                       v, i);
            free(w);
            return -1;
        }
        w[i] = (float)v;
    }
    t->class_weight = w;
    t->nclass_weight = s->nvalues;
    return 0;
}

/* class_weight weights each sample's loss by its label's class, so it needs
 * a loss with classes and one weight per class: m of the output's values per
 * sample, or 2 (labels 0 and 1) for binary_crossentropy on one output */
static int check_class_weight(const TrainConfig *t, Loc loc, int m) {
    if (t->loss != NNC_RT_LOSS_CCE && t->loss != NNC_RT_LOSS_SPARSE_CCE && t->loss != NNC_RT_LOSS_BCE) {
        diag_error(loc, "class_weight needs a classification loss (categorical_crossentropy, "
                   "sparse_categorical_crossentropy or binary_crossentropy), not %s: its labels have no classes",
                   loss_name(t->loss));
        return -1;
    }
    int classes = t->loss == NNC_RT_LOSS_BCE && m == 1 ? 2 : m;
    if (t->nclass_weight != classes) {
        diag_error(loc, "class_weight has %d weight%s, but the model has %d classes (%s); give one per class",
                   t->nclass_weight, t->nclass_weight == 1 ? "" : "s", classes,
                   t->loss == NNC_RT_LOSS_BCE && m == 1 ? "labels 0 and 1 of one sigmoid output" : "its output's values per sample");
        return -1;
    }
    return 0;
}

static int positive_int(const Stmt *s, int *out) {
    double v;
    if (s->nvalues != 1 || lower_number_arg(s->values[0], s->name, 1, &v)) {
        if (s->nvalues != 1) diag_error(s->loc, "'%s' takes one integer", s->name);
        return -1;
    }
    if (v < 1 || v > 1e7) {
        diag_error(s->values[0]->loc, "%s must be between 1 and 10000000", s->name);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static const Block *find_block_of(const Program *p, BlockKind kind) {
    for (const Block *b = p->blocks; b; b = b->next)
        if (b->kind == kind) return b;
    return NULL;
}

// loss = NAME | NAME "(" "from_logits" "=" BOOL ")"
static int lower_loss(TrainConfig *t, const Expr *e) {
    if (e->kind == EX_NUMBER) return lower_enum_arg(e, "loss", loss_names, loss_count, &t->loss);
    int loss = lower_loss_index(e->name);   /* Keras' names and classes too: MeanSquaredError() */
    if (loss < 0) {
        const char *known[32];
        lower_unknown(e->kind == EX_CALL ? e->name_loc : e->loc, "loss", e->name, known, lower_loss_names(known, 32));
        return -1;
    }
    t->loss = loss;
    static const char *const keys[] = { "from_logits" };
    for (int i = 0; i < e->nargs; i++) {
        const Arg *a = &e->args[i];
        if (!a->name || strcmp(a->name, "from_logits")) {
            diag_error(a->name ? a->name_loc : a->value->loc, "%s takes one setting, from_logits = true|false%s",
                       loss_name(loss), a->name ? diag_did_you_mean(a->name, keys, 1) : "");
            return -1;
        }
        if (loss != NNC_RT_LOSS_BCE && loss != NNC_RT_LOSS_CCE && loss != NNC_RT_LOSS_SPARSE_CCE) {
            diag_error(a->name_loc, "from_logits applies to the cross-entropy losses, not to %s", loss_name(loss));
            return -1;
        }
        if (lower_bool_arg(a->value, "from_logits", &t->from_logits)) return -1;
    }
    return 0;
}

/* the logits variant of a cross-entropy loss (the others have none) */
static int logits_loss(int loss) {
    return loss == NNC_RT_LOSS_BCE ? NNC_RT_LOSS_BCE_LOGITS : loss == NNC_RT_LOSS_CCE ? NNC_RT_LOSS_CCE_LOGITS :
           loss == NNC_RT_LOSS_SPARSE_CCE ? NNC_RT_LOSS_SPARSE_CCE_LOGITS : loss;
}

/* from_logits: as written; when not said, Keras' default (false) for a .nn
 * model and, for an imported one, what the op producing the output tells
 * (Softmax/Sigmoid: probabilities, LogSoftmax: log-probabilities, anything
 * else: logits, as PyTorch's losses take them).  A choice that contradicts
 * the output is warned about. */
/* one output's loss as written (where), then decided */
typedef struct OutLoss { int loss, from_logits; Loc loc; char note[240]; } OutLoss;

static void decide_logits(Graph *g, Loc loc, int imported, int output, OutLoss *t) {
    if (logits_loss(t->loss) == t->loss) return;    /* not a cross-entropy */
    const char *out = g->values[output].name, *want = t->loss == NNC_RT_LOSS_BCE ? "sigmoid" : "softmax";
    int kind = loss_output_kind(g, output, NULL), p = g->values[output].producer;
    int probs = kind == (t->loss == NNC_RT_LOSS_BCE ? OUT_SIGMOID : OUT_SOFTMAX);
    char from[96];      /* what the output comes from */
    if (kind != OUT_OTHER)
        snprintf(from, sizeof from, "a %s", kind == OUT_SOFTMAX ? "softmax" : kind == OUT_SIGMOID ? "sigmoid" :
                 "log-softmax (log-probabilities, read as logits)");
    else
        snprintf(from, sizeof from, "'%.80s'", p < 0 ? out : g->nodes[p].layer[0] ? g->nodes[p].layer :
                 op_name(g->nodes[p].op));
    if (t->from_logits < 0 && imported) {
        t->from_logits = !probs;
        snprintf(t->note, sizeof t->note, "from_logits = %s: output '%.40s' comes from %s%s",
                 probs ? "false" : "true", out, from, kind == OUT_OTHER ? ", not a softmax or sigmoid" : "");
    } else if (t->from_logits < 0) {
        t->from_logits = 0;
    }
    if (t->from_logits && probs)
        diag_warning(loc, "-Wloss-output", "%s(from_logits = true) on output '%s', which is already a probability "
                     "(%s); the loss applies a second %s. Use from_logits = false", loss_name(t->loss), out, want, want);
    else if (!t->from_logits && !probs)
        diag_warning(loc, "-Wloss-output", "%s expects probabilities, but output '%s' comes from %s, not a %s; "
                     "if it holds logits, write %s(from_logits = true)", loss_name(t->loss), out, from, want,
                     loss_name(t->loss));
    if (t->from_logits) t->loss = logits_loss(t->loss);
}

/* A model with several outputs: `loss` lists one loss per output in output
 * order (or names one for all), `loss_weights` one weight per output
 * (default 1); the training loss is sum_k weight_k * loss_k, as Keras'
 * compile(loss=[...], loss_weights=[...]).  Each output gets its own label
 * value; the caller packs a sample's labels side by side in output order,
 * as predict packs the outputs. */
// loss_weights = NUMBER, NUMBER, ...
static int lower_loss_weights(Graph *g, const Stmt *s) {
    TrainConfig *t = &g->train;
    if (g->noutputs == 0) return 0;     /* the model failed: nothing to weigh */
    if (g->noutputs < 2) {
        diag_error(s->name_loc, "loss_weights weigh the losses of a model with several outputs; "
                   "model '%s' has one", g->name);
        return -1;
    }
    if (s->nvalues != g->noutputs) {
        diag_error(s->loc, "loss_weights has %d weight%s, but model '%s' has %d outputs; give one per output, "
                   "in output order", s->nvalues, s->nvalues == 1 ? "" : "s", g->name, g->noutputs);
        return -1;
    }
    for (int i = 0; i < s->nvalues; i++) {
        double v;
        if (lower_number_arg(s->values[i], "loss_weights", 0, &v)) return -1;
        if (!(v >= 0) || (float)v - (float)v != 0) {
            diag_error(s->values[i]->loc, "loss weight %g (output '%s') is out of range: a weight is >= 0 and finite",
                       v, g->values[g->outputs[i]].name);
            return -1;
        }
        t->loss_weights[i] = (float)v;
    }
    return 0;
}

// loss = LOSS | LOSS "," LOSS ...   (one per output, in output order)
static int lower_losses(Graph *g, const Stmt *s, OutLoss *outs) {
    int k = g->noutputs;
    if (k == 0) {       /* the model failed: each loss is only checked */
        int errors = 0;
        for (int i = 0; i < s->nvalues; i++) {
            TrainConfig one;
            memset(&one, 0, sizeof one);
            one.loss = one.from_logits = -1;
            errors += lower_loss(&one, s->values[i]) != 0;
            if (i == 0) outs[0].loss = one.loss;
        }
        return errors ? -1 : 0;
    }
    if (s->nvalues != 1 && s->nvalues != k) {
        if (k == 1) diag_error(s->loc, "'loss' takes one value: model '%s' has one output", g->name);
        else diag_error(s->loc, "loss lists %d losses, but model '%s' has %d outputs; give one per output, "
                        "in output order, or one for all", s->nvalues, g->name, k);
        return -1;
    }
    int errors = 0;
    for (int i = 0; i < s->nvalues; i++) {
        TrainConfig one;
        memset(&one, 0, sizeof one);
        one.loss = one.from_logits = -1;
        if (lower_loss(&one, s->values[i])) { errors++; continue; }
        outs[i].loss = one.loss;
        outs[i].from_logits = one.from_logits;
        outs[i].loc = s->values[i]->loc;
    }
    for (int i = s->nvalues; !errors && i < k; i++) outs[i] = outs[0];
    return errors ? -1 : 0;
}

/* output `k`'s label value and loss node; the loss and from_logits decided */
static int lower_output_loss(Graph *g, int k, OutLoss *o, Loc class_weight_loc, int imported, long *col) {
    Loc loss_loc = o->loc;
    TrainConfig *t = &g->train;
    int output = g->outputs[k];
    const Value *out = &g->values[output];
    /* the classes of one sample: an imported output's first axis is its samples */
    int m = (int)(ir_size(out) / ir_sample_rows(out));
    int sparse = o->loss == NNC_RT_LOSS_SPARSE_CCE;
    if ((sparse || o->loss == NNC_RT_LOSS_CCE) && m < 2) {
        if (g->noutputs > 1)
            diag_error(loss_loc, "%s needs an output with at least 2 classes, but output '%s' has %d",
                       loss_name(o->loss), out->name, m);
        else
            diag_error(loss_loc, "%s needs a model output with at least 2 classes, but the output has %d",
                       loss_name(o->loss), m);
        return -1;
    }
    /* Keras computes a cross-entropy on (n, steps, classes) per step over the
     * last axis; nnc's loss takes one distribution per sample */
    if ((sparse || o->loss == NNC_RT_LOSS_CCE) && out->batched && out->rank >= 2) {
        char buf[96];
        diag_error(loss_loc, "%s on output '%s' of shape %s: a cross-entropy per step (over the last axis, as "
                   "Keras computes it) is not supported yet; flatten or pool the steps before the classifier",
                   loss_name(o->loss), out->name, ir_shape_str(out, buf, sizeof buf));
        lower_refused();
        return -1;
    }
    if (t->class_weight) {
        t->loss = o->loss;
        if (check_class_weight(t, class_weight_loc, m)) return -1;
    }
    decide_logits(g, loss_loc, imported, output, o);   /* o->loss becomes the logits kind with from_logits */
    if ((o->loss == NNC_RT_LOSS_MSE || o->loss == NNC_RT_LOSS_MAE) && loss_output_kind(g, output, NULL) == OUT_SOFTMAX)
        diag_warning(loss_loc, "-Wloss-output", "%s on output '%s', a softmax: the loss of class probabilities "
                     "is a cross-entropy; use categorical_crossentropy (one-hot labels) or "
                     "sparse_categorical_crossentropy (class ids)", loss_name(o->loss), g->values[output].name);
    /* a whole-tensor (imported) output has its samples along the first axis */
    out = &g->values[output];
    int batched = out->batched, rank = sparse ? (batched ? 0 : out->rank - 1) : out->rank;
    char name[IR_NAME];
    if (g->noutputs > 1) ir_format_name(name, "y_%s", out->name);
    else snprintf(name, sizeof name, "y");
    int label = ir_value(g, name, ROLE_LABEL, batched, rank, g->values[output].dims);
    g->values[label].dtype = sparse ? DT_I32 : DT_F32;
    g->values[label].pack_offset = *col;    /* its columns in the caller's packed label rows */
    *col += ir_size(&g->values[label]);
    if (k == 0) g->label = label;
    int in[2] = { output, label };
    int node = ir_node(g, OP_LOSS, in, 2, loss_loc);
    g->nodes[node].phase = PH_LOSS;
    g->nodes[node].attr.loss = o->loss;
    g->nodes[node].attr.loss_output = k;
    g->nodes[node].attr.loss_weight = t->loss_weights ? t->loss_weights[k] : 1.0f;
    shape_node(g, node);
    if (k == 0) g->loss = g->nodes[node].out[0];
    if (t->out_loss) t->out_loss[k] = o->loss;
    return 0;
}

int lower_train(Graph *g, const Block *b, int imported) {
    TrainConfig *t = &g->train;
    t->present = 1;
    t->loss = -1;
    t->from_logits = -1;
    optimizer_defaults(t, OPT_RMSPROP);     /* Keras' compile() default */
    t->batch = 32;                          /* Keras' fit() defaults */
    t->epochs = 1;
    int errors = 0;
    Loc class_weight_loc = b->name_loc;
    const Stmt *loss_stmt = NULL;
    const Expr *loss_acc = NULL;    /* Keras' accuracy for one loss (binary_accuracy), checked below */
    int nout = g->noutputs;
    OutLoss *outs = calloc((size_t)(nout > 0 ? nout : 1), sizeof *outs);
    if (!outs) abort();
    if (nout > 1) {
        t->out_loss = malloc((size_t)nout * sizeof *t->out_loss);
        t->loss_weights = malloc((size_t)nout * sizeof *t->loss_weights);
        if (!t->out_loss || !t->loss_weights) abort();
        for (int k = 0; k < nout; k++) t->loss_weights[k] = 1.0f;
    }
    for (const Stmt *s = b->stmts; s; s = s->next) {
        if (s->kind != ST_SETTING) {
            diag_error(s->loc, "a train block holds settings (%s), not layers",
                       "loss, optimizer, metrics, batch, epochs, class_weight, validation_split, callbacks, ...");
            errors++;
            continue;
        }
        int k = -1;
        for (int i = 0; i < NSETTINGS; i++)
            if (!strcmp(lower_setting_name(s->name), settings[i])) k = i;   /* batch_size: batch */
        int fit = k < 0 ? fit_setting_check(s) : -1;
        if (fit >= 0) {
            errors += fit;
            continue;
        }
        if (k < 0) {
            const char *known[NALL + 1];   /* and Keras' batch_size */
            memcpy(known, settings, sizeof settings);
            known[NALL] = "batch_size";
            lower_unknown(s->name_loc, "train setting", s->name, known, NALL + 1);
            errors++;
            continue;
        }
        if (k != 0 && k != 2 && k != 5 && k != 6 && s->nvalues != 1) {
            diag_error(s->loc, "'%s' takes one value", s->name);
            errors++;
            continue;
        }
        const Expr *v = s->values[0];
        switch (k) {
        case 0:
            loss_stmt = s;
            if (lower_losses(g, s, outs)) errors++;
            break;
        case 1:
            if (lower_optimizer(t, v)) errors++;
            break;
        case 2:
            for (int i = 0; i < s->nvalues; i++) {
                const Expr *m = s->values[i];
                int j = -1;     /* a name, or Keras' class with no arguments: MeanSquaredError() */
                for (int q = 0; (m->kind == EX_IDENT || (m->kind == EX_CALL && !m->nargs)) && q < 6; q++)
                    if (!strcmp(lower_metric_name(m->name), metric_names[q])) j = q;
                if (j >= 0 && lower_metric_loss(m->name) >= 0) loss_acc = m;
                if (j < 0) {
                    lower_unknown(m->loc, "metric", lower_expr_text(m), metric_names, 6);
                    errors++;
                } else if (!(t->metrics >> j & 1)) {   /* as written, each once: fits metrics_text */
                    t->metrics |= 1u << j;
                    size_t len = strlen(t->metrics_text);
                    snprintf(t->metrics_text + len, sizeof t->metrics_text - len, "%s%s", len ? "," : "",
                             metric_names[j]);
                }
            }
            break;
        case 5:
            if (lower_class_weight(t, s)) errors++;
            class_weight_loc = s->loc;
            break;
        case 6: if (lower_loss_weights(g, s)) errors++; break;
        case 3: if (positive_int(s, &t->batch)) errors++; break;
        case 4: if (positive_int(s, &t->epochs)) errors++; break;
        }
    }
    if (!errors && !loss_stmt) {
        diag_error(b->name_loc, "train block for '%s' has no loss; add e.g. 'loss mse'", b->name);
        errors++;
    }
    /* Keras' accuracy named for a loss (binary_accuracy) must go with that loss (the first output's) */
    int written = outs[0].loss;     /* as written, before from_logits is decided */
    if (!errors && loss_acc && lower_metric_loss(loss_acc->name) != written) {
        diag_error(loss_acc->loc, "%s is Keras' accuracy for %s, but the loss is %s; write accuracy "
                   "(nnc's accuracy follows the loss, as Keras' 'accuracy' does)", loss_acc->name,
                   loss_name(lower_metric_loss(loss_acc->name)), loss_name(written));
        errors++;
    }
    if (errors || g->output < 0) {    /* g->output < 0: the model failed, its train block is only checked */
        free(outs);
        return errors ? -1 : 0;
    }
    if (!errors && nout > 1 && imported) {
        diag_error(b->name_loc, "training an imported graph with several outputs is not supported yet; "
                   "this one has %d", nout);
        errors++;
    }
    if (!errors && nout > 1 && t->class_weight) {
        diag_error(class_weight_loc, "class_weight applies to a model with one output (as in Keras); "
                   "model '%s' has %d", g->name, nout);
        errors++;
    }
    long col = 0;
    for (int k = 0; !errors && k < nout; k++)
        if (lower_output_loss(g, k, &outs[k], class_weight_loc, imported, &col)) errors++;
    if (!errors) {      /* the first output's, for what reads one loss (the header, --summary) */
        t->loss = outs[0].loss;
        t->from_logits = outs[0].from_logits;
        snprintf(t->loss_note, sizeof t->loss_note, "%s", outs[0].note);
    }
    const Value *out0 = &g->values[g->output];
    int m0 = (int)(ir_size(out0) / ir_sample_rows(out0));
    if (!errors && loss_acc && written == NNC_RT_LOSS_BCE && m0 > 1) {
        diag_error(loss_acc->loc, "%s on an output of %d values scores each value (multi-label); nnc's "
                   "accuracy of several values compares their argmax, so this one is not supported", loss_acc->name, m0);
        errors++;
    }
    free(outs);
    return errors ? -1 : 0;
}

/* a train block given as text (nnc model.onnx --train LOSS --optimizer SPEC),
 * for a graph another front end built */
int lower_train_text(Graph *g, const char *text) {
    Program *p = ast_parse(diag_filename(), text);
    const Block *b = p ? find_block_of(p, BLOCK_TRAIN) : NULL;
    int status = b && !diag_error_count() ? lower_train(g, b, 1) : -1;
    ast_free(p);
    return status || diag_error_count() ? -1 : 0;
}

