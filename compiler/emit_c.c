/* emit_c.c — prints the scheduled, planned IR as a C99 source and header.
 *
 * The generated code follows the contract in DESIGN.md: one state struct of
 * compile-time size (parameters, gradients, optimizer state, arena, staging
 * for shuffled batches), no malloc, a prefix per model, and shapes as
 * literals so the C compiler sees constant loop bounds.  The batch extent n
 * is the only run-time size.  Each node prints itself through its op-table
 * emit hook; this file prints everything around the nodes.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "ir.h"
#include "nnc_rt.h"

struct EmitCtx {
    const Graph *g;
    const long *off;        /* arena offsets of the schedule being printed */
    int training;           /* printing the training step (or inference)   */
    FILE *out;
    char bufs[16][192];
    int next;
};

static char *buf(EmitCtx *e) { return e->bufs[e->next++ % 16]; }

void emit_line(EmitCtx *e, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("    ", e->out);
    vfprintf(e->out, fmt, ap);
    fputc('\n', e->out);
    va_end(ap);
}

const Graph *emit_graph(EmitCtx *e) { return e->g; }

const char *emit_ptr(EmitCtx *e, int value) {
    const Graph *g = e->g;
    int s = ir_storage(g, value);
    const Value *v = &g->values[s];
    char *b = buf(e);
    switch (v->role) {
    case ROLE_INPUT: snprintf(b, 192, "x"); break;
    case ROLE_LABEL: snprintf(b, 192, "y"); break;
    case ROLE_PARAM: snprintf(b, 192, "%s + %ld", v->constant ? "baked_" : "m->params", v->offset); break;
    case ROLE_PARAM_GRAD: snprintf(b, 192, "m->grads + %ld", v->offset); break;
    default: snprintf(b, 192, "m->arena + %ld", e->off[s]); break;
    }
    return b;
}

const char *emit_rows(EmitCtx *e, int value) {
    const Value *v = &e->g->values[value];
    long outer = ir_size(v) / emit_cols(e->g, value);
    char *b = buf(e);
    if (!v->batched) snprintf(b, 192, "%ld", outer);
    else if (outer == 1) snprintf(b, 192, "n");
    else snprintf(b, 192, "n * %ld", outer);
    return b;
}

long emit_cols(const Graph *g, int value) {
    const Value *v = &g->values[value];
    return v->rank ? v->dims[v->rank - 1] : 1;
}

const char *emit_count(EmitCtx *e, int value) {
    const Value *v = &e->g->values[value];
    char *b = buf(e);
    if (v->batched) snprintf(b, 192, "(long)n * %ld", ir_size(v));
    else snprintf(b, 192, "%ldL", ir_size(v));
    return b;
}

int emit_training(EmitCtx *e) { return e->training; }

const char *emit_times_n(EmitCtx *e, int batched, long v) {
    char *b = buf(e);
    if (!batched) snprintf(b, 192, "%ld", v);
    else if (v == 1) snprintf(b, 192, "n");
    else snprintf(b, 192, "n * %ld", v);
    return b;
}

const char *emit_conv(EmitCtx *e, const nnc_rt_conv2d *c) {
    char *b = buf(e);
    snprintf(b, 192, "&(const nnc_rt_conv2d){ %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d }",
             c->h, c->w, c->c, c->oh, c->ow, c->oc, c->kh, c->kw, c->sh, c->sw, c->dh, c->dw,
             c->pt, c->pl, c->groups);
    return b;
}

const char *emit_pool(EmitCtx *e, const nnc_rt_pool2d *p) {
    char *b = buf(e);
    snprintf(b, 192, "&(const nnc_rt_pool2d){ %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d }",
             p->h, p->w, p->c, p->oh, p->ow, p->kh, p->kw, p->sh, p->sw, p->pt, p->pl);
    return b;
}

const char *emit_rnn(EmitCtx *e, const Node *n) {
    const nnc_rt_rnn *p = &n->attr.rnn;
    char *b = buf(e), steps[32];
    if (n->attr.dyn_steps) snprintf(steps, sizeof steps, "m->steps");   /* --shape NAME<=N */
    else snprintf(steps, sizeof steps, "%d", p->steps);
    snprintf(b, 192, "&(const nnc_rt_rnn){ %s, %d, %d, %d, %d, %d, %d }", steps, p->features,
             p->units, p->cell, p->act, p->return_sequences, p->reverse);
    return b;
}

const char *emit_float(EmitCtx *e, float v) {
    char *b = buf(e);
    if (v != v) return "NAN";
    if (v - v != 0) return v > 0 ? "HUGE_VALF" : "-HUGE_VALF";   /* infinities */
    snprintf(b, 192, "%.9g", v);
    if (!strpbrk(b, ".en")) strcat(b, ".0");
    strcat(b, "f");
    return b;
}

/* ---- helpers -------------------------------------------------------------------- */

static void upper(const char *s, char *out) {
    while (*s) *out++ = (char)toupper((unsigned char)*s++);
    *out = 0;
}

static void print_nodes(EmitCtx *e, int training, int phase_lo, int phase_hi) {
    const Graph *g = e->g;
    for (int k = 0; g->ninputs > 1 && phase_lo == PH_FORWARD && k < g->ninputs; k++) {
        const Value *v = &g->values[g->inputs[k]];
        emit_line(e, "nnc_rt_concat_backward(%s, x, n, %ld, %ld, IN_SIZE); /* input %s */",
                  emit_ptr(e, g->inputs[k]), ir_size(v), v->pack_offset, v->name);
    }
    for (int i = 0; i < e->g->nnodes; i++) {
        const Node *n = &e->g->nodes[i];
        if (!plan_in_schedule(n, training) || (int)n->phase < phase_lo || (int)n->phase > phase_hi) continue;
        op_table[n->op].emit(e, n);
    }
}

static int int_input(const Graph *g) { return g->values[g->input].dtype == DT_I32; }

/* token ids run over [0, vocab) of the embedding that reads them */
static int input_vocab(const Graph *g) {
    for (int i = 0; i < g->nnodes; i++)
        if (!g->nodes[i].dead && op_table[g->nodes[i].op].int_input && g->nodes[i].in[0] == g->input)
            return g->nodes[i].attr.vocab;
    return 0;
}

/* ---- header ------------------------------------------------------------------------ */

static void emit_header(const Graph *g, const Plan *p, const EmitOptions *o, FILE *h,
                        const char *P, const char *U) {
    const Value *in = &g->values[g->input], *out = &g->values[g->output];
    const TrainConfig *t = &g->train;
    char s1[96], s2[96];
    fprintf(h, "/* %s — generated by nnc %s from %s; do not edit.\n", o->header_name, NNC_VERSION,
            o->source_name);
    fprintf(h, " * command: %s\n *\n", o->command_line);
    fprintf(h, " * model %s\n", g->name);
    for (int i = 0; i < g->ninputs; i++) {
        in = &g->values[g->inputs[i]];
        fprintf(h, " *   input  %s: %s %s", in->name, in->dtype == DT_I32 ? "i32 (token ids)" : "f32",
                ir_shape_str(in, s1, sizeof s1));
        if (g->ninputs > 1) fprintf(h, ", columns %ld..%ld of each row of x", in->pack_offset,
                                    in->pack_offset + ir_size(in) - 1);
        fputc('\n', h);
    }
    for (int i = 0; i < g->noutputs; i++) {
        out = &g->values[g->outputs[i]];
        fprintf(h, " *   output %s: f32 %s", out->name, ir_shape_str(out, s2, sizeof s2));
        if (g->noutputs > 1) fprintf(h, ", columns %ld..%ld of each row of y", out->pack_offset,
                                     out->pack_offset + ir_size(out) - 1);
        fputc('\n', h);
    }
    fprintf(h, " *   parameters: %ld (%ld bytes)", p->param_floats, p->param_floats * 4);
    if (g->baked) fprintf(h, ", baked from the weights file: %ld in RAM, %ld as constants (flash)",
                          p->param_floats - p->const_floats, p->const_floats);
    fprintf(h, "\n");
    fprintf(h, " *   arena: %ld bytes (training step %ld, inference %ld; %ld if every buffer had its own)\n",
            p->arena_floats * 4, p->train_arena * 4, p->infer_arena * 4, p->buffers_sum * 4);
    if (t->present) {
        fprintf(h, " *   trainable %ld; gradients %ld bytes, optimizer state %ld bytes\n",
                p->trainable_floats, p->trainable_floats * 4, p->opt_slots * p->trainable_floats * 4);
        fprintf(h, " *   train: loss %s, optimizer %s(lr=%g), batch %d, epochs %d\n",
                loss_spelling(t->loss), opt_names[t->opt], t->lr, t->batch, t->epochs);
        if (t->loss_note[0]) fprintf(h, " *   loss: %s\n", t->loss_note);
    }
    fprintf(h, " *   state: sizeof(%s_t) bytes, all of it in one struct; no malloc anywhere.\n", P);
    if (g->steps_max)
        fprintf(h, " *\n * The time steps ('%s') are a run-time extent too: %s_set_steps(m, T),\n"
                   " * 1 <= T <= %s_STEPS_MAX, before the calls; each sample is then T steps of\n"
                   " * input (%s_INPUT_SIZE counts %d).\n", g->steps_name, P, U, U, g->steps_max);
    if (g->whole[0])
        fprintf(h, " *\n * This graph runs whole: one sample is one set of the inputs above, exported\n"
                   " * shapes and all (nnc cannot keep a batch axis through it: %s).\n */\n", g->whole);
    else
        fprintf(h, " *\n * n, the batch, is the one run-time extent: train_batch takes 1..%s_BATCH\n"
                   " * samples, predict and evaluate any number (in chunks of %s_BATCH).\n */\n", U, U);
    fprintf(h, "#ifndef %s_H\n#define %s_H\n\n#include <stddef.h>\n#include <stdint.h>\n"
               "#include \"nnc_rt.h\"\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n", U, U);
    int sparse = g->label >= 0 && g->values[g->label].dtype == DT_I32;
    fprintf(h, "#define %s_BATCH %d\n", U, t->batch);
    fprintf(h, "#define %s_EPOCHS %d\n", U, t->epochs);
    if (g->steps_max)
        fprintf(h, "#define %s_STEPS_MAX %d   /* the time steps '%s': %s_set_steps */\n", U, g->steps_max,
                g->steps_name, P);
    fprintf(h, "#define %s_INPUT_SIZE %ld     /* %s per sample%s */\n", U,
            ir_packed_size(g, g->inputs, g->ninputs), int_input(g) ? "token ids" : "floats",
            g->ninputs > 1 ? ", all inputs side by side" : "");
    fprintf(h, "#define %s_INPUT_IDS %d     /* i32 inputs: ids in [0, %s_INPUT_IDS); 0: f32 input */\n",
            U, int_input(g) ? input_vocab(g) : 0, U);
    fprintf(h, "#define %s_OUTPUT_SIZE %ld\n", U, ir_packed_size(g, g->outputs, g->noutputs));
    fprintf(h, "#define %s_HAS_TRAINING %d\n", U, t->present);
    fprintf(h, "#define %s_LABEL_SIZE %ld\n", U,
            sparse ? ir_sample_rows(&g->values[g->output]) : ir_size(&g->values[g->output]));
    fprintf(h, "#define %s_SPARSE_LABELS %d\n", U, sparse);
    fprintf(h, "#define %s_PARAM_COUNT %ld   /* in m->params (baked constants are not) */\n", U,
            p->param_floats - p->const_floats);
    fprintf(h, "#define %s_CONST_COUNT %ld   /* baked into flash */\n", U, p->const_floats);
    fprintf(h, "#define %s_TRAINABLE_COUNT %ld   /* the first ones; the rest (moving statistics) are not trained */\n",
            U, p->trainable_floats);
    fprintf(h, "#define %s_SAVE_BYTES %ld\n", U, (long)NNC_RT_PARAMS_BYTES(p->param_floats - p->const_floats));
    fprintf(h, "#define %s_ARENA_BYTES %ld\n\n", U, p->arena_floats * 4);
    fprintf(h, "typedef %s %s_input_t;\n", int_input(g) ? "int32_t" : "float", P);
    fprintf(h, "typedef %s %s_label_t;\n\n", sparse ? "int32_t" : "float", P);
    fprintf(h, "typedef struct %s {\n", P);
    long ram = p->param_floats - p->const_floats;
    fprintf(h, "    float params[%ld];\n", ram ? ram : 1);
    if (t->present) {
        long tf = p->trainable_floats ? p->trainable_floats : 1;
        fprintf(h, "    float grads[%ld];\n", tf);
        if (p->opt_slots) fprintf(h, "    float opt[%ld][%ld];   /* %s state */\n", p->opt_slots, tf,
                                  opt_names[t->opt]);
        fprintf(h, "    long step;\n");
        fprintf(h, "    nnc_rt_rng rng;        /* dropout masks */\n");
    }
    fprintf(h, "    float arena[%ld];\n", p->arena_floats);
    if (g->steps_max) fprintf(h, "    int steps;             /* the time steps of every sample now */\n");
    if (t->present) {
        fprintf(h, "    %s_input_t xbatch[%ld];      /* a shuffled batch, gathered */\n", P,
                t->batch * ir_packed_size(g, g->inputs, g->ninputs));
        fprintf(h, "    %s_label_t ybatch[%ld];\n", P, t->batch * (sparse ? 1L : ir_size(&g->values[g->output])));
    }
    fprintf(h, "} %s_t;\n\n", P);
    fprintf(h, "/* return nonzero to stop the work early */\n");
    fprintf(h, "typedef int (*%s_progress_fn)(void *ctx, long done, long total);\n\n", P);
    fprintf(h, "enum {\n    %s_OK = 0,\n    %s_ERR_NAN = -1,        /* the loss became NaN or infinite */\n"
               "    %s_ERR_STOPPED = -2,    /* the progress callback asked to stop */\n"
               "    %s_ERR_ARG = -3,        /* a count out of range */\n"
               "    %s_ERR_FORMAT = NNC_RT_ERR_FORMAT,         /* not a parameter buffer, or damaged */\n"
               "    %s_ERR_OTHER_MODEL = NNC_RT_ERR_OTHER_MODEL /* another model's parameters */\n};\n\n",
            U, U, U, U, U, U);
    fprintf(h, "/* parameters from `seed` (Keras initialisers), optimizer state zeroed */\n");
    fprintf(h, "void %s_init(%s_t *m, uint64_t seed);\n", P, P);
    fprintf(h, "/* y[n][%s_OUTPUT_SIZE] = model(x[n][%s_INPUT_SIZE]), any n >= 0 */\n", U, U);
    fprintf(h, "void %s_predict(%s_t *m, const %s_input_t *x, float *y, long n);\n", P, P, P);
    if (t->present) {
        fprintf(h, "/* loss of one batch (1 <= n <= %s_BATCH) and its gradients in m->grads;\n"
                   " * parameters unchanged.  Returns -1 when n is out of range. */\n", U);
        fprintf(h, "float %s_gradients(%s_t *m, const %s_input_t *x, const %s_label_t *y, int n);\n", P, P, P, P);
        fprintf(h, "/* one optimizer step on one batch; returns its loss (before the step).\n"
                   " * A NaN/inf loss leaves the parameters unchanged. */\n");
        fprintf(h, "float %s_train_batch(%s_t *m, const %s_input_t *x, const %s_label_t *y, int n);\n", P, P, P, P);
        fprintf(h, "/* one pass over n samples in `order` (NULL: as stored); *out gets the\n"
                   " * mean loss and the metrics of the training predictions */\n");
        fprintf(h, "int %s_train_epoch(%s_t *m, const %s_input_t *x, const %s_label_t *y, long n,\n"
                   "    const int32_t *order, nnc_rt_metrics *out, %s_progress_fn cb, void *ctx);\n", P, P, P, P, P);
        fprintf(h, "int %s_evaluate(%s_t *m, const %s_input_t *x, const %s_label_t *y, long n,\n"
                   "    nnc_rt_metrics *out, %s_progress_fn cb, void *ctx);\n", P, P, P, P, P);
    }
    if (g->steps_max)
        fprintf(h, "/* the time steps of the samples the next calls take, 1..%s_STEPS_MAX (init:\n"
                   " * the most); returns %s_ERR_ARG out of range */\nint %s_set_steps(%s_t *m, int steps);\n",
                U, U, P, P);
    fprintf(h, "/* a parameter by name (\"dense.kernel\" is [in][out]); NULL if unknown */\n");
    fprintf(h, "float *%s_param(%s_t *m, const char *name, long *size);\n", P, P);
    fprintf(h, "/* parameters to a versioned, checksummed buffer: returns %s_SAVE_BYTES,\n"
               " * or 0 when cap is too small */\n", U);
    fprintf(h, "size_t %s_save(const %s_t *m, void *buf, size_t cap);\n", P, P);
    fprintf(h, "int %s_load(%s_t *m, const void *buf, size_t len);\n\n", P, P);
    fprintf(h, "#ifdef __cplusplus\n}\n#endif\n#endif\n");
}

/* every parameter's value from the weights file, in this build's layout: the
 * RAM ones are copied into m->params by init, the constants are read in place */
static void emit_baked(const Graph *g, const Plan *p, FILE *c) {
    float *all = calloc((size_t)(p->param_floats ? p->param_floats : 1), sizeof *all);
    if (!all) abort();
    for (int v = 0; v < g->nvalues; v++) {
        const Value *x = &g->values[v];
        if (x->role == ROLE_PARAM && x->panels)
            nnc_rt_gemm_pack_b(all + x->offset, g->baked + x->baked_at, x->dims[0], x->dims[1]);
        else if (x->role == ROLE_PARAM)
            memcpy(all + x->offset, g->baked + x->baked_at, (size_t)ir_size(x) * sizeof *all);
    }
    fprintf(c, "/* the parameters of the weights file; the last %ld are constants */\n"
               "static const float baked_[%ld] = {", p->const_floats, p->param_floats ? p->param_floats : 1);
    for (long i = 0; i < p->param_floats; i++)
        fprintf(c, "%s%.9g%s", i % 8 ? " " : "\n    ", all[i], i + 1 < p->param_floats ? "," : "");
    if (!p->param_floats) fprintf(c, "0");
    fprintf(c, "\n};\n\n");
    free(all);
}

/* ---- source -------------------------------------------------------------------------- */

static void emit_source(const Graph *g, const Plan *p, const EmitOptions *o, FILE *c,
                        const char *P, const char *U) {
    EmitCtx e = { g, p->infer_off, 0, c, { { 0 } }, 0 };
    const TrainConfig *t = &g->train;
    int sparse = g->label >= 0 && g->values[g->label].dtype == DT_I32;
    fprintf(c, "/* %s.c — generated by nnc %s from %s; do not edit.\n * command: %s\n"
               " * See %s for the model and the API. */\n", P, NNC_VERSION, o->source_name,
            o->command_line, o->header_name);
    fprintf(c, "#include \"%s\"\n\n#include <math.h>\n#include <string.h>\n\n", o->header_name);
    fprintf(c, "#define TRAINABLE_COUNT %ldL\n", p->trainable_floats);
    /* metrics and the evaluate loss see ROWS samples of CLASSES values per call sample */
    long rows = ir_sample_rows(&g->values[g->output]);
    fprintf(c, "#define ROWS %ldL\n#define CLASSES %ldL\n", rows, ir_packed_size(g, g->outputs, g->noutputs) / rows);
    long in_size = ir_packed_size(g, g->inputs, g->ninputs);
    if (g->steps_max)   /* each sample holds m->steps of its steps */
        fprintf(c, "#define PARAM_COUNT %ldL\n#define IN_SIZE ((long)m->steps * %ldL)\n", p->param_floats - p->const_floats,
                in_size / g->steps_max);
    else
        fprintf(c, "#define PARAM_COUNT %ldL\n#define IN_SIZE %ldL\n", p->param_floats - p->const_floats, in_size);
    fprintf(c, "#define OUT_SIZE %ldL\n#define LABEL_SIZE %s_LABEL_SIZE\n#define BATCH %s_BATCH\n\n",
            ir_packed_size(g, g->outputs, g->noutputs), U, U);

    /* parameter table */
    fprintf(c, "static const struct { const char *name; long offset, size; int init, fan_in, fan_out; } params_[] = {\n");
    int nparams = 0;
    for (int v = 0; v < g->nvalues; v++) {
        const Value *x = &g->values[v];
        if (x->role != ROLE_PARAM || x->constant) continue;
        fprintf(c, "    { \"%s\", %ld, %ld, %d, %d, %d }, /* %s */\n", x->name, x->offset, ir_size(x),
                x->init, x->fan_in, x->fan_out, init_name(x->init));
        nparams++;
    }
    if (!nparams) fprintf(c, "    { \"\", 0, 0, 0, 0, 0 },\n");
    fprintf(c, "};\n#define NPARAMS %d\n\n", nparams);

    if (g->baked) emit_baked(g, p, c);
    fprintf(c, "void %s_init(%s_t *m, uint64_t seed) {\n", P, P);
    fprintf(c, "    nnc_rt_rng r;\n    int i;\n    memset(m, 0, sizeof *m);\n    nnc_rt_rng_seed(&r, seed);\n");
    if (g->baked)
        fprintf(c, "    (void)i;\n    (void)r;\n%s", p->param_floats > p->const_floats ?
                "    memcpy(m->params, baked_, sizeof m->params); /* the weights file's values */\n" : "");
    else
        fprintf(c, "    for (i = 0; i < NPARAMS; i++)\n        nnc_rt_init(params_[i].init, m->params + params_[i].offset, "
                   "params_[i].size, params_[i].fan_in, params_[i].fan_out, &r);\n");
    if (t->present) fprintf(c, "    nnc_rt_rng_seed(&m->rng, seed ^ 0x9e3779b97f4a7c15u);   /* dropout's own stream */\n");
    if (g->steps_max) fprintf(c, "    m->steps = %s_STEPS_MAX;\n", U);
    fprintf(c, "}\n\n");
    if (g->steps_max)
        fprintf(c, "int %s_set_steps(%s_t *m, int steps) {\n    if (steps < 1 || steps > %s_STEPS_MAX) return %s_ERR_ARG;\n"
                   "    m->steps = steps;\n    return %s_OK;\n}\n\n", P, P, U, U, U);

    /* inference: the forward slice */
    long out_infer = p->infer_off[ir_storage(g, g->output)];
    fprintf(c, "/* the forward pass for n <= BATCH samples; leaves the output at arena + %ld */\n", out_infer);
    fprintf(c, "static void forward(%s_t *m, const %s_input_t *x, int n) {\n", P, P);
    fprintf(c, "    (void)n;   /* whole-tensor (imported) graphs have no run-time batch */\n");
    print_nodes(&e, 0, PH_FORWARD, PH_FORWARD);
    fprintf(c, "}\n\n");
    fprintf(c, "void %s_predict(%s_t *m, const %s_input_t *x, float *y, long n) {\n", P, P, P);
    fprintf(c, "    long i;\n    for (i = 0; i < n; i += BATCH) {\n"
               "        int k = (int)(n - i < BATCH ? n - i : BATCH);\n"
               "        forward(m, x + i * IN_SIZE, k);\n");
    if (g->noutputs == 1)
        fprintf(c, "        memcpy(y + i * OUT_SIZE, m->arena + %ld, (size_t)k * OUT_SIZE * sizeof(float));\n",
                out_infer);
    for (int k = 0; g->noutputs > 1 && k < g->noutputs; k++) {
        const Value *v = &g->values[g->outputs[k]];
        fprintf(c, "        nnc_rt_concat_forward(y + i * OUT_SIZE, m->arena + %ld, k, %ld, %ld, OUT_SIZE); /* %s */\n",
                p->infer_off[ir_storage(g, g->outputs[k])], ir_size(v), v->pack_offset, v->name);
    }
    fprintf(c, "    }\n}\n\n");

    if (t->present) {
        long out_train = p->train_off[ir_storage(g, g->output)];
        e.off = p->train_off;
        e.training = 1;
        fprintf(c, "float %s_gradients(%s_t *m, const %s_input_t *x, const %s_label_t *y, int n) {\n", P, P, P, P);
        fprintf(c, "    float loss;\n    if (n < 1 || n > BATCH) return -1.0f;\n");
        print_nodes(&e, 1, PH_FORWARD, PH_BACKWARD);
        fprintf(c, "    return loss;\n}\n\n");
        fprintf(c, "float %s_train_batch(%s_t *m, const %s_input_t *x, const %s_label_t *y, int n) {\n", P, P, P, P);
        fprintf(c, "    float loss = %s_gradients(m, x, y, n);\n", P);
        fprintf(c, "    if (loss < 0 || !(loss - loss == 0)) return loss;   /* bad n, NaN or inf */\n");
        fprintf(c, "    m->step++;\n");
        print_nodes(&e, 1, PH_UPDATE, PH_UPDATE);
        fprintf(c, "    return loss;\n}\n\n");

        fprintf(c, "int %s_train_epoch(%s_t *m, const %s_input_t *x, const %s_label_t *y, long n,\n"
                   "    const int32_t *order, nnc_rt_metrics *out, %s_progress_fn cb, void *ctx) {\n", P, P, P, P, P);
        fprintf(c, "    long counts[3 * CLASSES + 1], i;\n    double err[2] = { 0, 0 }, loss_sum = 0;\n"
                   "    int j, status = %s_OK;\n", U);
        fprintf(c, "    if (n < 0) return %s_ERR_ARG;\n", U);
        fprintf(c, "    memset(counts, 0, sizeof counts);\n");
        fprintf(c, "    for (i = 0; i < n && status == %s_OK; i += BATCH) {\n", U);
        fprintf(c, "        int k = (int)(n - i < BATCH ? n - i : BATCH);\n"
                   "        const %s_input_t *xb = x + i * IN_SIZE;\n"
                   "        const %s_label_t *yb = y + i * LABEL_SIZE;\n"
                   "        float loss;\n", P, P);
        fprintf(c, "        if (order) {\n"
                   "            for (j = 0; j < k; j++) {\n"
                   "                memcpy(m->xbatch + j * IN_SIZE, x + (long)order[i + j] * IN_SIZE, IN_SIZE * sizeof *x);\n"
                   "                memcpy(m->ybatch + j * LABEL_SIZE, y + (long)order[i + j] * LABEL_SIZE, LABEL_SIZE * sizeof *y);\n"
                   "            }\n"
                   "            xb = m->xbatch;\n            yb = m->ybatch;\n        }\n");
        fprintf(c, "        loss = %s_train_batch(m, xb, yb, k);\n", P);
        fprintf(c, "        if (!(loss - loss == 0)) return %s_ERR_NAN;\n", U);
        fprintf(c, "        loss_sum += (double)loss * k;\n");
        fprintf(c, "        nnc_rt_metrics_accumulate(counts, err, m->arena + %ld, yb, %d, k * (int)ROWS, (int)CLASSES);\n",
                out_train, sparse);
        fprintf(c, "        if (cb && cb(ctx, i + k, n)) status = %s_ERR_STOPPED;\n    }\n", U);
        fprintf(c, "    if (out && n > 0) {\n        nnc_rt_metrics_finish(out, counts, err, (i < n ? i : n) * ROWS, (int)CLASSES);\n"
                   "        out->loss = (float)(loss_sum / (i < n ? i : n));\n    }\n    return status;\n}\n\n");

        fprintf(c, "int %s_evaluate(%s_t *m, const %s_input_t *x, const %s_label_t *y, long n,\n"
                   "    nnc_rt_metrics *out, %s_progress_fn cb, void *ctx) {\n", P, P, P, P, P);
        fprintf(c, "    long counts[3 * CLASSES + 1], i;\n    double err[2] = { 0, 0 }, loss_sum = 0;\n"
                   "    int status = %s_OK;\n    if (n < 0) return %s_ERR_ARG;\n"
                   "    memset(counts, 0, sizeof counts);\n", U, U);
        fprintf(c, "    for (i = 0; i < n && status == %s_OK; i += BATCH) {\n", U);
        fprintf(c, "        int k = (int)(n - i < BATCH ? n - i : BATCH);\n"
                   "        const %s_label_t *yb = y + i * LABEL_SIZE;\n"
                   "        forward(m, x + i * IN_SIZE, k);\n", P);
        fprintf(c, "        loss_sum += (double)nnc_rt_loss_forward(%d, m->arena + %ld, yb, k * (int)ROWS, (int)CLASSES) * k; /* %s */\n",
                t->loss, out_infer, loss_name(t->loss));
        fprintf(c, "        nnc_rt_metrics_accumulate(counts, err, m->arena + %ld, yb, %d, k * (int)ROWS, (int)CLASSES);\n",
                out_infer, sparse);
        fprintf(c, "        if (cb && cb(ctx, i + k, n)) status = %s_ERR_STOPPED;\n    }\n", U);
        fprintf(c, "    if (out && n > 0) {\n        nnc_rt_metrics_finish(out, counts, err, (i < n ? i : n) * ROWS, (int)CLASSES);\n"
                   "        out->loss = (float)(loss_sum / (i < n ? i : n));\n    }\n    return status;\n}\n\n");
    }

    fprintf(c, "float *%s_param(%s_t *m, const char *name, long *size) {\n", P, P);
    fprintf(c, "    int i;\n    for (i = 0; i < NPARAMS; i++)\n"
               "        if (!strcmp(params_[i].name, name)) {\n"
               "            if (size) *size = params_[i].size;\n"
               "            return m->params + params_[i].offset;\n        }\n    return NULL;\n}\n\n");

    fprintf(c, "/* the fingerprint of this model's parameter layout, checked by load */\n"
               "#define FINGERPRINT 0x%08xu\n\n", ir_fingerprint(g, 1));
    fprintf(c, "size_t %s_save(const %s_t *m, void *buf, size_t cap) {\n"
               "    return nnc_rt_params_save(buf, cap, m->params, PARAM_COUNT, FINGERPRINT);\n}\n\n", P, P);
    fprintf(c, "int %s_load(%s_t *m, const void *buf, size_t len) {\n"
               "    return nnc_rt_params_load(m->params, PARAM_COUNT, FINGERPRINT, buf, len);\n}\n", P, P);
}

int emit_c(const Graph *g, const Plan *p, const EmitOptions *o, FILE *c, FILE *h) {
    char U[IR_NAME];
    upper(g->name, U);
    emit_header(g, p, o, h, g->name, U);
    emit_source(g, p, o, c, g->name, U);
    return ferror(c) || ferror(h) ? -1 : 0;
}
