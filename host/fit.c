/* fit.c — the Keras-style training loop: validation split, a seeded shuffle
 * every epoch, learning-rate schedules, reduce_lr_on_plateau, early
 * stopping, model checkpoints, the progress bar and epoch lines, Ctrl-C.
 *
 * Design: one run is a loop over epochs around the model's own
 * train_epoch and evaluate; everything per optimizer step happens in the
 * progress callback train_epoch calls after each batch (the next step's
 * learning rate, the bar, Ctrl-C), everything per epoch after evaluate,
 * in Keras' order: the history row and epoch line, then the checkpoint,
 * early stopping and reduce_lr_on_plateau.  The learning rate of a step
 * is the schedule's value at the number of steps taken before it (Keras'
 * optimizer.iterations), times reduce_lr_on_plateau's factor so far.
 * Best weights are kept as the model's own save() buffer, so restoring
 * them is load(), exactly what --save and --weights exchange.
 */
#include "fit_internal.h"

#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* the generated models' codes (NAME_ERR_NAN, NAME_ERR_STOPPED) */
enum { FIT_ERR_NAN = -1, FIT_ERR_STOPPED = -2 };

void nnc_fit_config_defaults(nnc_fit_config *c)
{
    memset(c, 0, sizeof *c);
    c->seed = 1;
    c->shuffle = 1;
    c->verbose = 1;
    c->early_stopping.monitor = "val_loss";
    c->checkpoint.monitor = "val_loss";
    c->reduce_lr.monitor = "val_loss";
    c->reduce_lr.factor = 0.1;
    c->reduce_lr.patience = 10;
    c->reduce_lr.min_delta = 1e-4;
    c->schedule.kind = NNC_FIT_CONSTANT;
}

/* ---- schedules --------------------------------------------------------------- */

static double cosine(const nnc_fit_schedule *s, double step, double decay_steps, double from)
{
    const double pi = 3.14159265358979323846;
    double decayed;
    if (decay_steps <= 0)
        return from;
    decayed = 0.5 * (1.0 + cos(pi * (step / decay_steps)));
    return from * ((1.0 - s->alpha) * decayed + s->alpha);
}

double nnc_fit_schedule_rate(const nnc_fit_schedule *s, double lr0, long step)
{
    double init = s->initial > 0 ? s->initial : lr0;
    double t = step > 0 ? (double)step : 0.0;
    long i;

    switch (s->kind) {
    case NNC_FIT_EXPONENTIAL_DECAY: {
        double e;
        if (s->decay_steps <= 0)
            return init;
        e = t / (double)s->decay_steps;
        if (s->staircase)
            e = floor(e);
        return init * pow(s->decay_rate, e);
    }
    case NNC_FIT_COSINE_DECAY: {
        double ds = s->decay_steps > 0 ? (double)s->decay_steps : 0.0;
        double ws = s->warmup_steps > 0 ? (double)s->warmup_steps : 0.0;
        if (s->warmup_target == 0)
            return cosine(s, t < ds ? t : ds, ds, init);
        if (t > ds + ws)
            t = ds + ws;
        if (t < ws)
            return (s->warmup_target - init) * (t / ws) + init;
        return cosine(s, t - ws, ds, s->warmup_target);
    }
    case NNC_FIT_PIECEWISE_CONSTANT:
        if (s->values == NULL)
            return init;
        for (i = 0; i < s->nboundaries; i++)
            if (step <= s->boundaries[i])
                return s->values[i];
        return s->values[s->nboundaries];
    case NNC_FIT_CONSTANT:
    default:
        return init;
    }
}

/* ---- Ctrl-C --------------------------------------------------------------------- */

static volatile sig_atomic_t fit_interrupts;

static void on_sigint(int sig)
{
    static const char msg[] =
        "\ninterrupted: stopping after this batch (Ctrl-C again to quit at once)\n";
    if (fit_interrupts) {   /* the second one kills as usual */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    fit_interrupts = 1;
    if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
        /* nothing to do about it in a handler */
    }
}

/* ---- one run -------------------------------------------------------------------- */

/* the best value of a monitored quantity so far */
typedef struct tracker {
    const char *monitor;
    int higher;          /* larger is better */
    int has_best;
    double best;
} tracker;

static void tracker_init(tracker *t, const char *monitor, int mode)
{
    t->monitor = monitor;
    t->higher = mode > 0 || (mode == 0 && fit_metric_higher_is_better(monitor));
    t->has_best = 0;
    t->best = 0;
}

/* Keras' test: v beats the best by more than min_delta (>= 0) */
static int tracker_improves(const tracker *t, double v, double min_delta)
{
    if (!t->has_best)
        return !isnan(v);
    return t->higher ? v - min_delta > t->best : v + min_delta < t->best;
}

typedef struct fit_state {
    const nnc_fit_model *model;
    const nnc_fit_config *cfg;
    double lr0;            /* the schedule's start when it has none */
    double factor;         /* reduce_lr_on_plateau's reductions so far */
    long step;             /* optimizer steps taken in this run */
    float lr;              /* the rate of the next step */
    float used;            /* the rate the last step used */
    fit_bar bar;
} fit_state;

/* the rate of the next step, into the model */
static void apply_rate(fit_state *s)
{
    const nnc_fit_config *c = s->cfg;
    double r = nnc_fit_schedule_rate(&c->schedule, s->lr0, s->step) * s->factor;
    if (s->factor < 1.0 && r < c->reduce_lr.min_lr)
        r = c->reduce_lr.min_lr;
    s->lr = (float)r;
    if (s->model->set_learning_rate != NULL)
        s->model->set_learning_rate(s->model->m, s->lr);
}

static int on_train_batch(void *ctx, const nnc_rt_progress *p)
{
    fit_state *s = ctx;
    s->used = s->lr;
    s->step++;
    apply_rate(s);
    fit_bar_draw(&s->bar, p);
    return fit_interrupts != 0;
}

/* samples [from, from + n) of d as a view (both element types are 4 bytes) */
static nnc_host_xy view(const nnc_host_xy *d, long from, long n)
{
    nnc_host_xy v = *d;
    v.n = n;
    v.x.shape[0] = n;
    if (d->x.data != NULL)
        v.x.data = (char *)d->x.data + (size_t)from * (size_t)nnc_host_array_sample_size(&d->x) * 4;
    if (d->y.data != NULL) {
        v.y.shape[0] = n;
        v.y.data = (char *)d->y.data + (size_t)from * (size_t)nnc_host_array_sample_size(&d->y) * 4;
    }
    return v;
}

/* a monitor the run can compute, or a message why not */
static int check_monitor(const char *who, const char *monitor, const nnc_fit_model *model, int has_val)
{
    const char *name = monitor, *p = model->metrics, *m;
    size_t len;
    nnc_rt_metrics dummy;
    int known = 0;
    if (monitor == NULL || *monitor == '\0') {
        fprintf(stderr, "fit: %s needs a monitor (loss, val_loss, ...)\n", who);
        return 1;
    }
    if (strncmp(name, "val_", 4) == 0)
        name += 4;
    if (strcmp(name, "loss") == 0)
        known = 1;
    while (!known && (p = fit_metric_next(p, &m, &len)) != NULL)
        if (strlen(name) == len && memcmp(name, m, len) == 0 &&
            fit_metric_field(&dummy, m, len) != NULL)
            known = 1;
    if (!known) {
        fprintf(stderr, "fit: %s monitors '%s', which this model does not compute "
                "(it has loss%s%s, each also as val_...)\n", who, monitor,
                model->metrics && *model->metrics ? ", " : "",
                model->metrics ? model->metrics : "");
        return 1;
    }
    if (name != monitor && !has_val) {
        fprintf(stderr, "fit: %s monitors '%s', but there is no validation data "
                "(give --validation-split or --validation, or monitor '%s')\n", who, monitor, name);
        return 1;
    }
    return 0;
}

/* path with "{epoch}" (or "{epoch:0Nd}") replaced by the epoch number; malloc'ed */
static char *checkpoint_name(const char *path, long epoch)
{
    size_t cap = strlen(path) + 1, n = 0;
    const char *p = path;
    char *out;
    for (p = path; (p = strstr(p, "{epoch")) != NULL; p++)
        cap += 32;
    out = malloc(cap);
    if (out == NULL)
        return NULL;
    p = path;
    while (*p != '\0') {
        if (strncmp(p, "{epoch", 6) == 0) {
            const char *q = p + 6;
            int width = 0;
            if (q[0] == ':' && q[1] == '0' && q[2] >= '1' && q[2] <= '9' && q[3] == 'd' && q[4] == '}') {
                width = q[2] - '0';
                q += 4;
            }
            if (*q == '}') {
                n += (size_t)snprintf(out + n, cap - n, "%0*ld", width, epoch);
                p = q + 1;
                continue;
            }
        }
        out[n++] = *p++;
    }
    out[n] = '\0';
    return out;
}

static int save_checkpoint(const nnc_fit_model *model, const char *path, long epoch, int verbose,
                           const char *why)
{
    char *name = checkpoint_name(path, epoch);
    int rc;
    if (name == NULL) {
        fprintf(stderr, "fit: out of memory\n");
        return 1;
    }
    rc = fit_save_weights(model, name);
    if (rc == 0 && verbose > 0)
        printf("Epoch %ld: %s, saving model to %s\n", epoch, why, name);
    free(name);
    return rc;
}

static void print_epoch(const nnc_fit_model *model, const nnc_fit_epoch *e, long epochs)
{
    printf("Epoch %ld/%ld", e->epoch, epochs);
    fit_print_metrics(stdout, &e->train, model->metrics, "");
    if (e->has_val)
        fit_print_metrics(stdout, &e->val, model->metrics, "val_");
    printf(" - lr: %.1e - %.1fs\n", (double)e->learning_rate, e->seconds);
    fflush(stdout);
}

static int add_epoch(nnc_fit_history *h, long *cap, const nnc_fit_epoch *e)
{
    if (h->count == *cap) {
        long ncap = *cap ? *cap * 2 : 16;
        nnc_fit_epoch *ne = realloc(h->epochs, (size_t)ncap * sizeof *ne);
        if (ne == NULL) {
            fprintf(stderr, "fit: out of memory for the history\n");
            return 1;
        }
        h->epochs = ne;
        *cap = ncap;
    }
    h->epochs[h->count++] = *e;
    return 0;
}

static int check_data(const char *what, const nnc_host_xy *d, const nnc_fit_model *model)
{
    if (d->x.data == NULL || d->y.data == NULL) {
        fprintf(stderr, "fit: the %s data has no %s\n", what, d->x.data == NULL ? "features" : "labels");
        return 1;
    }
    if (d->n > INT32_MAX) {
        fprintf(stderr, "fit: %ld %s samples: at most %ld can be shuffled\n", d->n, what,
                (long)INT32_MAX);
        return 1;
    }
    if (model->io.input_size > 0 && nnc_host_array_sample_size(&d->x) != model->io.input_size) {
        fprintf(stderr, "fit: the %s features have %ld values per sample, the model takes %ld\n",
                what, nnc_host_array_sample_size(&d->x), model->io.input_size);
        return 1;
    }
    return 0;
}

int nnc_fit_run(const nnc_fit_model *model, const nnc_fit_config *cfg,
                const nnc_host_xy *train, const nnc_host_xy *val, nnc_fit_history *h)
{
    const nnc_fit_early_stopping *es = &cfg->early_stopping;
    const nnc_fit_checkpoint *ck = &cfg->checkpoint;
    const nnc_fit_reduce_lr *rl = &cfg->reduce_lr;
    nnc_host_xy tr, va;
    fit_state s;
    tracker es_best, ck_best, rl_best;
    long epochs, epoch, cap = 0, es_wait = 0, rl_wait = 0, rl_cooldown = 0, stopped_epoch = 0;
    long es_best_epoch = 0;
    int32_t *order = NULL;
    unsigned char *best_weights = NULL;
    size_t best_len = 0;   /* bytes in best_weights, 0 before the first */
    int result = 0, es_warned = 0;
    struct sigaction sa, old_sa;

    memset(h, 0, sizeof *h);
    memset(&va, 0, sizeof va);
    tr = *train;
    if (val != NULL && val->n > 0) {
        va = *val;
    } else if (cfg->validation_split > 0) {
        /* Keras: the last fraction, before any shuffling */
        long split_at;
        if (cfg->validation_split >= 1) {
            fprintf(stderr, "fit: validation_split %g is not below 1\n", cfg->validation_split);
            return 1;
        }
        split_at = (long)ceil((double)train->n * (1.0 - cfg->validation_split));
        if (split_at <= 0 || split_at >= train->n) {
            fprintf(stderr, "fit: %ld samples cannot be split into a training and a validation "
                    "set by validation_split %g\n", train->n, cfg->validation_split);
            return 1;
        }
        tr = view(train, 0, split_at);
        va = view(train, split_at, train->n - split_at);
    }
    if (tr.n <= 0) {
        fprintf(stderr, "fit: no training samples\n");
        return 1;
    }
    if (check_data("training", &tr, model) || (va.n > 0 && check_data("validation", &va, model)))
        return 1;
    epochs = cfg->epochs > 0 ? cfg->epochs : model->epochs;
    if (epochs <= 0) {
        fprintf(stderr, "fit: no epoch count (give --epochs N)\n");
        return 1;
    }
    if ((es->on && check_monitor("early stopping", es->monitor, model, va.n > 0)) ||
        (ck->path != NULL && ck->save_best_only &&
         check_monitor("the checkpoint", ck->monitor, model, va.n > 0)) ||
        (rl->on && check_monitor("reduce_lr_on_plateau", rl->monitor, model, va.n > 0)))
        return 1;
    if (model->set_learning_rate == NULL &&
        (cfg->schedule.kind != NNC_FIT_CONSTANT || cfg->schedule.initial > 0 || rl->on)) {
        fprintf(stderr, "fit: this model's learning rate is fixed (no set_learning_rate): "
                "no schedule or reduce_lr_on_plateau\n");
        return 1;
    }
    if (rl->on && !(rl->factor > 0 && rl->factor < 1)) {
        fprintf(stderr, "fit: reduce_lr_on_plateau's factor %g is not in (0, 1)\n", rl->factor);
        return 1;
    }

    memset(&s, 0, sizeof s);
    s.model = model;
    s.cfg = cfg;
    s.lr0 = model->learning_rate;
    s.factor = 1.0;
    tracker_init(&es_best, es->monitor, es->mode);
    tracker_init(&ck_best, ck->monitor, ck->mode);
    tracker_init(&rl_best, rl->monitor, rl->mode);

    /* init always (the optimizer state and the dropout generator), then the
     * starting parameters over it */
    model->init(model->m, cfg->seed);
    if (cfg->weights != NULL && fit_load_weights(model, cfg->weights))
        return 1;
    if (cfg->shuffle) {
        order = malloc((size_t)tr.n * sizeof *order);
        if (order == NULL) {
            fprintf(stderr, "fit: out of memory for the shuffle order of %ld samples\n", tr.n);
            return 1;
        }
    }
    if (es->on && es->restore_best_weights) {
        best_weights = malloc(model->save_bytes ? model->save_bytes : 1);
        if (best_weights == NULL) {
            fprintf(stderr, "fit: out of memory for a copy of the best weights\n");
            free(order);
            return 1;
        }
    }

    fit_interrupts = 0;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_sa);

    for (epoch = 1; epoch <= epochs; epoch++) {
        nnc_fit_epoch e;
        double t0 = fit_now(), v;
        int rc, stop = 0;

        memset(&e, 0, sizeof e);
        e.epoch = epoch;
        if (order != NULL)
            nnc_rt_shuffle(order, tr.n, cfg->seed * 1000 + (uint64_t)epoch);
        apply_rate(&s);
        s.used = s.lr;
        fit_bar_begin(&s.bar, cfg->verbose == 1 && isatty(STDERR_FILENO), model->batch,
                      model->metrics);
        rc = model->train_epoch(model->m, tr.x.data, tr.y.data, tr.n, order, &e.train,
                                on_train_batch, &s);
        fit_bar_end(&s.bar);
        if (rc != 0 && fit_interrupts) {
            h->interrupted = 1;
            break;
        }
        if (rc == FIT_ERR_NAN || (rc == 0 && !isfinite(e.train.loss))) {
            fflush(stdout);
            fprintf(stderr, "fit: training stopped: the loss became %s at epoch %ld (step %ld, "
                    "learning rate %.3g); try a lower learning rate\n",
                    rc == 0 && isinf(e.train.loss) ? "infinite" : "NaN", epoch, s.step,
                    (double)s.used);
            result = 1;
            break;
        }
        if (rc != 0) {
            fprintf(stderr, "fit: training failed at epoch %ld (error %d)\n", epoch, rc);
            result = 1;
            break;
        }
        if (va.n > 0) {
            rc = model->evaluate(model->m, va.x.data, va.y.data, va.n, &e.val, NULL, NULL);
            if (rc != 0) {
                fprintf(stderr, "fit: validation failed at epoch %ld (error %d)\n", epoch, rc);
                result = 1;
                break;
            }
            e.has_val = 1;
        }
        e.learning_rate = s.used;
        e.seconds = fit_now() - t0;
        if (add_epoch(h, &cap, &e)) {
            result = 1;
            break;
        }
        if (cfg->verbose > 0)
            print_epoch(model, &e, epochs);

        /* the checkpoint: Keras' ModelCheckpoint (a strict improvement) */
        if (ck->path != NULL) {
            if (!ck->save_best_only) {
                if (save_checkpoint(model, ck->path, epoch, 0, "")) {
                    result = 1;
                    break;
                }
            } else if (fit_monitor_value(&e, ck->monitor, &v) && tracker_improves(&ck_best, v, 0)) {
                char why[160];
                if (ck_best.has_best)
                    snprintf(why, sizeof why, "%s improved from %.5f to %.5f", ck->monitor,
                             ck_best.best, v);
                else
                    snprintf(why, sizeof why, "%s improved to %.5f", ck->monitor, v);
                ck_best.best = v;
                ck_best.has_best = 1;
                if (!es->on)
                    h->best_epoch = epoch;
                if (save_checkpoint(model, ck->path, epoch, cfg->verbose, why)) {
                    result = 1;
                    break;
                }
            }
        }

        /* early stopping: Keras' EarlyStopping without a baseline */
        if (es->on && epoch - 1 >= es->start_from_epoch) {
            if (!fit_monitor_value(&e, es->monitor, &v)) {
                if (!es_warned)
                    fprintf(stderr, "fit: early stopping: no '%s' after epoch %ld\n", es->monitor, epoch);
                es_warned = 1;
            } else {
                if (best_weights != NULL && best_len == 0) {
                    /* the first epoch watched: its weights are the best so far */
                    best_len = model->save(model->m, best_weights, model->save_bytes);
                    es_best_epoch = epoch;
                }
                es_wait++;
                if (tracker_improves(&es_best, v, fabs(es->min_delta))) {
                    es_best.best = v;
                    es_best.has_best = 1;
                    es_best_epoch = epoch;
                    if (best_weights != NULL)
                        best_len = model->save(model->m, best_weights, model->save_bytes);
                    es_wait = 0;
                } else if (es_wait >= es->patience && epoch > 1) {
                    stopped_epoch = epoch;
                    stop = 1;
                }
                h->best_epoch = es_best_epoch;
            }
        }

        /* reduce_lr_on_plateau: Keras' ReduceLROnPlateau */
        if (rl->on && fit_monitor_value(&e, rl->monitor, &v)) {
            if (rl_cooldown > 0) {
                rl_cooldown--;
                rl_wait = 0;
            }
            if (tracker_improves(&rl_best, v, fabs(rl->min_delta))) {
                rl_best.best = v;
                rl_best.has_best = 1;
                rl_wait = 0;
            } else if (rl_cooldown == 0 && ++rl_wait >= rl->patience) {
                if (s.lr > rl->min_lr) {
                    s.factor *= rl->factor;
                    apply_rate(&s);
                    if (cfg->verbose > 0)
                        printf("Epoch %ld: ReduceLROnPlateau reducing learning rate to %.4g.\n",
                               epoch, (double)s.lr);
                    rl_cooldown = rl->cooldown;
                    rl_wait = 0;
                }
            }
        }

        if (fit_interrupts) {
            h->interrupted = 1;
            break;
        }
        if (stop) {
            h->stopped_early = 1;
            break;
        }
    }

    if (h->interrupted && cfg->verbose > 0)
        printf("Training interrupted during epoch %ld; %ld complete epoch(s) kept.\n",
               h->count + 1, h->count);
    if (stopped_epoch > 0 && cfg->verbose > 0)
        printf("Epoch %ld: early stopping\n", stopped_epoch);
    if (best_len > 0) {
        if (model->load(model->m, best_weights, best_len) != 0) {
            fprintf(stderr, "fit: the model refused its own best weights\n");
            result = 1;
        } else if (cfg->verbose > 0) {
            printf("Restoring model weights from the end of the best epoch: %ld.\n", es_best_epoch);
        }
    }
    fflush(stdout);
    sigaction(SIGINT, &old_sa, NULL);
    free(order);
    free(best_weights);
    return result;
}

void nnc_fit_history_free(nnc_fit_history *h)
{
    free(h->epochs);
    memset(h, 0, sizeof *h);
}
