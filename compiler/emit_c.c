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
#include <stdlib.h>
#include <string.h>
#include "ir.h"
#include "nnc_rt.h"

/* an int8 build whose input arrives int8 (passes/quantize.c's int8_input):
 * the quantize node that writes that input, or NULL */
/* a float scale as a C literal that reads back as the same float */
static const char *scale_literal(float x) {
    static char b[48];
    snprintf(b, sizeof b, "%.9gf", (double)x);
    return b;
}
static const Node *q8_input_node(const Graph *g);
/* ... and whose output leaves int8 (quantize.c's int8_output): the
 * dequantize the emitter does in NAME_predict, or NULL */
static const Node *q8_output_node(const Graph *g) {
    for (int k = 0; g->q8 && k < g->nnodes; k++) {
        const Node *n = &g->nodes[k];
        if (ir_in_schedule(n, 0) && n->op == OP_Q8_DEQUANTIZE && g->values[n->out[0]].alias_of == n->in[0] &&
            g->values[n->in[0]].role == ROLE_LABEL)
            return q8_input_node(g) ? n : NULL;
    }
    return NULL;
}
static const Node *q8_input_node(const Graph *g) {
    for (int k = 0; g->q8 && k < g->nnodes; k++) {
        const Node *n = &g->nodes[k];
        if (ir_in_schedule(n, 0) && n->op == OP_Q8_QUANTIZE && g->values[ir_storage(g, n->out[0])].role == ROLE_INPUT)
            return n;
    }
    return NULL;
}

/* ---- helpers -------------------------------------------------------------------- */

void emit_upper(const char *s, char *out) {
    while (*s) *out++ = (char)toupper((unsigned char)*s++);
    *out = 0;
}

/* the shortest decimal that reads back as x (a finite float), for a macro
 * the user reads: 0.001 rather than 0.00100000005 */
static const char *float_literal(float x) {
    static char b[48];
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(b, sizeof b, "%.*g", digits, x);
        if ((float)strtod(b, NULL) == x) break;
    }
    if (!strpbrk(b, ".en")) strcat(b, ".0");
    return b;
}

/* --check-numerics: after each node of the training step, its output
 * checked; the first to hold inf/NaN is named in m->nonfinite_at and the
 * step returns NaN (the generated code never prints) */
static void check_numerics(EmitCtx *e, const Node *n) {
    const Graph *g = e->g;
    if (!n->nout) return;
    const Value *v = &g->values[n->out[0]];
    if (v->role != ROLE_ACT && v->role != ROLE_GRAD && v->role != ROLE_PARAM_GRAD) return;
    char what[2 * IR_NAME + 32];
    snprintf(what, sizeof what, "%s (%s)", n->layer[0] ? n->layer : v->name, op_name(n->op));
    emit_line(e, "if (!nnc_rt_finite(%s, %s)) { m->nonfinite_at = %s; return NAN; }", emit_ptr(e, n->out[0]),
              emit_count(e, n->out[0]), emit_string(e, what));
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
        if (!ir_in_schedule(n, training) || (int)n->phase < phase_lo || (int)n->phase > phase_hi) continue;
        op_table[n->op]->emit(e, n);
        if (training && g->check_numerics && phase_hi < PH_UPDATE) check_numerics(e, n);
    }
}

static int int_input(const Graph *g) { return g->input >= 0 && g->values[g->input].dtype == DT_I32; }

/* token ids run over [0, vocab) of the embedding that reads them */
static int input_vocab(const Graph *g) {
    for (int i = 0; i < g->nnodes; i++)
        if (!g->nodes[i].dead && op_table[g->nodes[i].op]->int_input && g->nodes[i].in[0] == g->input)
            return g->nodes[i].attr.vocab;
    return 0;
}

/* ---- several outputs trained (lower_train.c) -----------------------------------------
 * Each output has its own label value and loss node; a sample's labels are
 * packed side by side in output order, as predict packs the outputs.  The
 * labels are int32 class indices when every output's loss is sparse, else
 * floats: with a mix, a sparse output's class index is one float column
 * holding the exact integer (one label type keeps the API one array, as
 * it is for one output; floats hold every index below 2^24 exactly). */
static int multi(const Graph *g) { return g->train.present && g->noutputs > 1 && g->train.out_loss; }

/* output k's label value */
static int label_of(const Graph *g, int k) {
    for (int i = 0; i < g->nnodes; i++)
        if (!g->nodes[i].dead && g->nodes[i].op == OP_LOSS && g->nodes[i].attr.loss_output == k)
            return g->nodes[i].in[1];
    return -1;
}

static int label_sparse(const Graph *g, int k) {
    int l = label_of(g, k);
    return l >= 0 && g->values[l].dtype == DT_I32;
}

/* the caller's labels are int32 (every loss sparse; one output: its loss) */
static int sparse_labels(const Graph *g) {
    if (!multi(g)) return g->label >= 0 && g->values[g->label].dtype == DT_I32;
    for (int k = 0; k < g->noutputs; k++)
        if (!label_sparse(g, k)) return 0;
    return 1;
}

/* label values per sample: packed over the outputs when there are several */
static long label_size(const Graph *g) {
    if (!multi(g)) return sparse_labels(g) ? ir_sample_rows(&g->values[g->output]) : ir_size(&g->values[g->output]);
    long n = 0;
    for (int k = 0; k < g->noutputs; k++) n += ir_size(&g->values[label_of(g, k)]);
    return n;
}

/* ---- header ------------------------------------------------------------------------ */

/* the header's comment: what the model is and how it was made */
static void header_comment(const Graph *g, const Plan *p, const EmitOptions *o, FILE *h,
                           const char *P, const char *U) {
    const Value *in, *out;
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
        if (in->elem_note) fprintf(h, ", ONNX %s (its values as floats)", in->elem_note);
        if (g->ninputs > 1) fprintf(h, ", columns %ld..%ld of each row of x", in->pack_offset,
                                    in->pack_offset + ir_size(in) - 1);
        fputc('\n', h);
    }
    for (int i = 0; i < g->noutputs; i++) {
        out = &g->values[g->outputs[i]];
        fprintf(h, " *   output %s: f32 %s", out->name, ir_shape_str(out, s2, sizeof s2));
        if (out->elem_note) fprintf(h, ", ONNX %s (its values as floats)", out->elem_note);
        if (g->noutputs > 1) fprintf(h, ", columns %ld..%ld of each row of y", out->pack_offset,
                                     out->pack_offset + ir_size(out) - 1);
        fputc('\n', h);
    }
    for (int k = 0; multi(g) && k < g->noutputs; k++) {
        const Value *l = &g->values[label_of(g, k)];
        out = &g->values[g->outputs[k]];
        fprintf(h, " *   label  %s (output %s): ", l->name, out->name);
        if (l->dtype == DT_I32)
            fprintf(h, "class index in [0, %ld)%s", ir_size(out), sparse_labels(g) ? "" : " as an exact float");
        else
            fprintf(h, "f32 %s", ir_shape_str(l, s2, sizeof s2));
        fprintf(h, ", column%s %ld", ir_size(l) > 1 ? "s" : "", l->pack_offset);
        if (ir_size(l) > 1) fprintf(h, "..%ld", l->pack_offset + ir_size(l) - 1);
        fprintf(h, " of each row of y; loss %s, weight %g\n", loss_spelling(t->out_loss[k]), t->loss_weights[k]);
    }
    fprintf(h, " *   parameters: %ld (%ld bytes)", p->param_floats, p->param_floats * 4);
    if (g->baked) fprintf(h, ", baked from the weights file: %ld in RAM, %ld as constants (flash)",
                          p->param_floats - p->const_floats, p->const_floats);
    fprintf(h, "\n");
    if (g->q8) {    /* --quantize int8 */
        long w = 0, other = 0;
        int onnx = 0;   /* an imported QLinear product: ONNX's requantization, not TFLite's */
        for (int i = 0; i < g->nnodes; i++) {
            const Q8 *q = g->nodes[i].attr.q8;
            if (!ir_in_schedule(&g->nodes[i], 0) || !q) continue;
            w += q->nw;
            other += (q->bias ? 4L * q->nch : 0) + (q->mult ? 5L * q->nch : 0);
            onnx |= q->onnx_mult != NULL;
        }
        fprintf(h, " *   int8 (%s): %ld weights + %ld bytes of biases and\n"
                   " *   requantization constants, const arrays in flash; predict takes and gives floats%s\n",
                onnx ? "the model's QLinear products, ONNX's requantization" : "--quantize int8, TFLite's scheme", w, other,
                q8_input_node(g) ? (q8_output_node(g) ? ",\n *   predict_int8 int8 (the scales and zero points below)"
                                                     : ",\n *   predict_int8 takes int8 (the scale and zero point below)") : "");
    }
    fprintf(h, " *   arena: %ld bytes (training step %ld, inference %ld; %ld if every buffer had its own)\n",
            p->arena_floats * 4, p->train_arena * 4, p->infer_arena * 4, p->buffers_sum * 4);
    if (t->present) {
        fprintf(h, " *   trainable %ld; gradients %ld bytes, optimizer state %ld bytes\n",
                p->trainable_floats, p->trainable_floats * 4, p->opt_slots * p->trainable_floats * 4);
        if (multi(g))
            fprintf(h, " *   train: loss sum of weight * loss over the %d outputs, optimizer %s(lr=%g", g->noutputs,
                    opt_names[t->opt], t->lr);
        else
            fprintf(h, " *   train: loss %s, optimizer %s(lr=%g", loss_spelling(t->loss), opt_names[t->opt], t->lr);
        if (t->clipnorm) fprintf(h, ", clipnorm=%g", t->clipnorm);
        if (t->clipvalue) fprintf(h, ", clipvalue=%g", t->clipvalue);
        if (t->global_clipnorm) fprintf(h, ", global_clipnorm=%g", t->global_clipnorm);
        fprintf(h, "), batch %d, epochs %d\n", t->batch, t->epochs);
        if (t->class_weight) {
            fprintf(h, " *   class_weight");
            for (int i = 0; i < t->nclass_weight; i++) fprintf(h, "%s%g", i ? ", " : " ", t->class_weight[i]);
            fprintf(h, " (each sample's loss times its class's weight, divided by n as Keras does)\n");
        }
        if (t->loss_note[0]) fprintf(h, " *   loss: %s\n", t->loss_note);
    }
    long lp64 = emit_state_bytes(g, p, 8, 8, 8), ilp32 = emit_state_bytes(g, p, 4, 4, 8);
    fprintf(h, " *   state: %ld bytes (sizeof(%s_t)", lp64, P);
    if (ilp32 != lp64) fprintf(h, " on LP64 hosts, %ld on 32-bit Arm", ilp32);
    fprintf(h, "), all of it in one struct; no malloc anywhere.\n"
               " *   declare it static, on a cache line: static %s_t m NNC_RT_ALIGN64;\n", P);
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
}

/* a name in capitals with '_' for what a macro cannot hold */
static void io_plain(const char *s, char *out) {
    size_t k = 0;
    for (; s[k] && k < IR_NAME - 1; k++) out[k] = isalnum((unsigned char)s[k]) ? (char)toupper((unsigned char)s[k]) : '_';
    out[k] = 0;
}

/* value i of vals[n] as a macro's key: io_plain of its name, or its index
 * (for all of them) when two names would give one macro */
static void io_key(const Graph *g, const int *vals, int n, int i, char *key) {
    char a[IR_NAME], b[IR_NAME];
    int clash = 0;
    for (int j = 0; j < n && !clash; j++) {
        io_plain(g->values[vals[j]].name, a);
        clash = !a[0];
        for (int q = 0; q < j && !clash; q++) {
            io_plain(g->values[vals[q]].name, b);
            clash = !strcmp(a, b);
        }
    }
    if (clash) snprintf(key, IR_NAME, "%d", i);
    else io_plain(g->values[vals[i]].name, key);
}

/* Several inputs (outputs) travel side by side in each row of x (y): where
 * each one is, as NAME_INPUT_<IN>_OFFSET / _SIZE (NAME_OUTPUT_<OUT>_...,
 * with its _INDEX); a model with several outputs trained takes its labels
 * packed the same way: NAME_LABEL_<OUT>_OFFSET / _SIZE / _SPARSE. */
static void io_defines(FILE *h, const Graph *g, const char *U, const char *kind, const int *vals, int n) {
    if (n < 2) return;
    int out = kind[0] == 'O';
    if (out) fprintf(h, "#define %s_OUTPUTS %d\n", U, n);
    for (int i = 0; i < n; i++) {
        char key[IR_NAME];
        io_key(g, vals, n, i, key);
        const Value *v = &g->values[vals[i]];
        fprintf(h, "#define %s_%s_%s_OFFSET %ld   /* %s '%s': columns %ld..%ld of each row of %s */\n", U, kind, key,
                v->pack_offset, out ? "output" : "input", strstr(v->name, "*/") ? key : v->name,
                v->pack_offset, v->pack_offset + ir_size(v) - 1, out ? "y" : "x");
        fprintf(h, "#define %s_%s_%s_SIZE %ld\n", U, kind, key, ir_size(v));
        if (!out) continue;
        fprintf(h, "#define %s_OUTPUT_%s_INDEX %d\n", U, key, i);
        if (!multi(g)) continue;
        const Value *l = &g->values[label_of(g, i)];
        fprintf(h, "#define %s_LABEL_%s_SIZE %ld\n#define %s_LABEL_%s_OFFSET %ld\n"
                   "#define %s_LABEL_%s_SPARSE %d   /* 1: class indices */\n", U, key, ir_size(l), U, key,
                l->pack_offset, U, key, l->dtype == DT_I32);
    }
}

/* the include guard and the sizes as macros */
static void header_defines(const Graph *g, const Plan *p, FILE *h, const char *P, const char *U) {
    const TrainConfig *t = &g->train;
    fprintf(h, "#ifndef %s_H\n#define %s_H\n\n#include <stddef.h>\n#include <stdint.h>\n"
               "#include \"nnc_rt.h\"\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n", U, U);
    int sparse = sparse_labels(g);
    fprintf(h, "#define %s_BATCH %d\n", U, t->batch);
    fprintf(h, "#define %s_EPOCHS %d\n", U, t->epochs);
    /* the train block's rate (what init sets; NAME_set_learning_rate changes it) and metrics */
    fprintf(h, "#define %s_LEARNING_RATE %sf\n", U, t->present ? float_literal(t->lr) : "0.0");
    fprintf(h, "#define %s_METRICS \"%s\"\n", U, t->present ? t->metrics_text : "");
    if (g->steps_max)
        fprintf(h, "#define %s_STEPS_MAX %d   /* the time steps '%s': %s_set_steps */\n", U, g->steps_max,
                g->steps_name, P);
    fprintf(h, "#define %s_INPUT_SIZE %ld     /* %s per sample%s */\n", U,
            ir_packed_size(g, g->inputs, g->ninputs), int_input(g) ? "token ids" : "floats",
            g->ninputs > 1 ? ", all inputs side by side" : "");
    fprintf(h, "#define %s_INPUT_IDS %d     /* i32 inputs: ids in [0, %s_INPUT_IDS); 0: f32 input */\n",
            U, int_input(g) ? input_vocab(g) : 0, U);
    fprintf(h, "#define %s_OUTPUT_SIZE %ld\n", U, ir_packed_size(g, g->outputs, g->noutputs));
    io_defines(h, g, U, "INPUT", g->inputs, g->ninputs);
    io_defines(h, g, U, "OUTPUT", g->outputs, g->noutputs);
    fprintf(h, "#define %s_HAS_TRAINING %d\n", U, t->present);
    if (g->q8) fprintf(h, "#define %s_INT8 1   /* built with --quantize int8 */\n", U);
    const Node *qin = q8_input_node(g);
    if (qin) {
        fprintf(h, "#define %s_INT8_INPUT 1   /* %s_predict_int8 takes the input as int8: */\n", U, P);
        fprintf(h, "#define %s_INPUT_SCALE %s   /* real = scale (q - zero point) */\n", U,
                scale_literal(qin->attr.q8->y_scale));
        fprintf(h, "#define %s_INPUT_ZERO_POINT %ld\n", U, (long)qin->attr.q8->y_zp);
        const Node *qout = q8_output_node(g);
        if (qout) {
            fprintf(h, "#define %s_INT8_OUTPUT 1   /* and writes the output as int8: */\n", U);
            fprintf(h, "#define %s_OUTPUT_SCALE %s\n", U, scale_literal(qout->attr.q8->x_scale));
            fprintf(h, "#define %s_OUTPUT_ZERO_POINT %ld\n", U, (long)qout->attr.q8->x_zp);
        }
    }
    fprintf(h, "#define %s_CHECK_NUMERICS %d   /* 1: m->nonfinite_at names the node making inf/NaN */\n", U,
            g->check_numerics && t->present);
    fprintf(h, "#define %s_LABEL_SIZE %ld%s\n", U, label_size(g), multi(g) ? "   /* every output's labels side by side */" : "");
    fprintf(h, "#define %s_SPARSE_LABELS %d\n", U, sparse);
    fprintf(h, "#define %s_PARAM_COUNT %ld   /* in m->params (baked constants are not) */\n", U,
            p->param_floats - p->const_floats);
    fprintf(h, "#define %s_CONST_COUNT %ld   /* baked into flash */\n", U, p->const_floats);
    fprintf(h, "#define %s_TRAINABLE_COUNT %ld   /* the first ones; the rest (moving statistics) are not trained */\n",
            U, p->trainable_floats);
    fprintf(h, "#define %s_SAVE_BYTES %ld\n", U, (long)NNC_RT_PARAMS_BYTES(p->param_floats - p->const_floats));
    fprintf(h, "#define %s_ARENA_BYTES %ld\n\n", U, p->arena_floats * 4);
}

/* One walk over the state struct's members, in order: prints them when h
 * is not NULL, and returns the struct's size under an ABI with longs and
 * pointers of lsize and psize bytes and uint64_t aligned to u64 bytes, so
 * the header's comment can give sizeof(NAME_t) as a number. */
static long yb_multi(const Graph *g) { return (long)g->train.batch * label_size(g); }
#define MEMBER(bytes, align, ...) do { \
        off = (off + (align) - 1) / (align) * (align) + (bytes); \
        if ((align) > most) most = (align); \
        if (h) fprintf(h, __VA_ARGS__); \
    } while (0)
static long state_walk(const Graph *g, const Plan *p, FILE *h, const char *P, const char *U, int lsize, int psize,
                       int u64) {
    const TrainConfig *t = &g->train;
    long off = 0, most = 4, ram = p->param_floats - p->const_floats;
    MEMBER(4 * (ram ? ram : 1), 4, "    float params[%ld];\n", ram ? ram : 1);
    if (t->present) {
        long tf = p->trainable_floats ? p->trainable_floats : 1;
        MEMBER(4 * tf, 4, "    float grads[%ld];\n", tf);
        if (p->opt_slots) MEMBER(4 * p->opt_slots * tf, 4, "    float opt[%ld][%ld];   /* %s state */\n",
                                 p->opt_slots, tf, opt_names[t->opt]);
        MEMBER(lsize, lsize, "    long step;\n");
        MEMBER(8, u64, "    nnc_rt_rng rng;        /* dropout masks */\n");
        MEMBER(4, 4, "    float learning_rate;   /* the optimizer's: set_learning_rate */\n");
    }
    MEMBER(4 * p->arena_floats, 4, "    float arena[%ld];\n", p->arena_floats);
    if (g->steps_max) MEMBER(4, 4, "    int steps;             /* the time steps of every sample now */\n");
    if (g->check_numerics && t->present)
        MEMBER(psize, psize, "    const char *nonfinite_at;   /* --check-numerics: the first node whose output held inf/NaN */\n");
    if (t->present) {
        long xb = t->batch * ir_packed_size(g, g->inputs, g->ninputs);
        long yb = t->batch * (multi(g) ? label_size(g) : sparse_labels(g) ? 1L : ir_size(&g->values[g->output]));
        MEMBER(4 * xb, 4, "    %s_input_t xbatch[%ld];      /* a shuffled batch, gathered */\n", P, xb);
        MEMBER(4 * yb, 4, "    %s_label_t ybatch[%ld];\n", P, yb);
    }
    if (multi(g)) {
        MEMBER(4 * yb_multi(g), 4, "    float labels[%ld];   /* each output's labels of the batch, unpacked (int32 when sparse) */\n",
               yb_multi(g));
        MEMBER(4L * g->noutputs, 4, "    float output_loss[%d];   /* each output's loss in the last batch */\n", g->noutputs);
        MEMBER(28L * g->noutputs, 4, "    nnc_rt_metrics output_metrics[%d];   /* each output's, of the last pass */\n",
               g->noutputs);
    }
    if (q8_input_node(g)) {
        long xq = (long)g->train.batch * ir_packed_size(g, g->inputs, g->ninputs);
        MEMBER(xq, 1, "#ifndef %s_INT8_INPUT_ONLY\n    int8_t xq[%ld];   /* predict's input, quantized "
               "(predict_int8 reads the caller's) */\n", U, xq);
        if (q8_output_node(g)) {
            long yq = (long)g->train.batch * ir_packed_size(g, g->outputs, g->noutputs);
            MEMBER(yq, 1, "    int8_t yq[%ld];   /* its output before it is dequantized */\n", yq);
        }
        if (h) fprintf(h, "#endif\n");
    }
    return (off + most - 1) / most * most;
}
#undef MEMBER

long emit_state_bytes(const Graph *g, const Plan *p, int lsize, int psize, int u64) {
    return state_walk(g, p, NULL, "", "", lsize, psize, u64);
}

/* the state struct: everything a model needs, of compile-time size */
static void header_state(const Graph *g, const Plan *p, FILE *h, const char *P, const char *U) {
    (void)U;
    int sparse = sparse_labels(g);
    fprintf(h, "typedef %s %s_input_t;\n", int_input(g) ? "int32_t" : "float", P);
    fprintf(h, "typedef %s %s_label_t;\n\n", sparse ? "int32_t" : "float", P);
    fprintf(h, "typedef struct %s {\n", P);
    state_walk(g, p, h, P, U, 8, 8, 8);
    fprintf(h, "} %s_t;\n\n", P);
}

/* the entry points */
static void header_api(const Graph *g, const Plan *p, FILE *h, const char *P, const char *U) {
    (void)p;
    const TrainConfig *t = &g->train;
    fprintf(h, "/* told after every batch of train_epoch / evaluate (nnc_rt.h's struct\n"
               " * nnc_rt_progress: samples done, step, the batch's loss, the rate, the\n"
               " * pass's running mean loss and metrics); return nonzero to stop early */\n");
    fprintf(h, "typedef nnc_rt_progress_fn %s_progress_fn;\n\n", P);
    fprintf(h, "enum {\n    %s_OK = 0,\n    %s_ERR_NAN = -1,        /* the loss became NaN or infinite */\n"
               "    %s_ERR_STOPPED = -2,    /* the progress callback asked to stop */\n"
               "    %s_ERR_ARG = -3,        /* a count out of range */\n"
               "    %s_ERR_FORMAT = NNC_RT_ERR_FORMAT,         /* not a parameter buffer, or damaged */\n"
               "    %s_ERR_OTHER_MODEL = NNC_RT_ERR_OTHER_MODEL /* another model's parameters */\n};\n\n",
            U, U, U, U, U, U);
    fprintf(h, "/* parameters from `seed` (Keras initialisers), optimizer state zeroed */\n");
    fprintf(h, "void %s_init(%s_t *m, uint64_t seed);\n", P, P);
    fprintf(h, "/* y[n][%s_OUTPUT_SIZE] = model(x[n][%s_INPUT_SIZE]), any n >= 0 */\n", U, U);
    if (q8_input_node(g)) {
        fprintf(h, "#ifndef %s_INT8_INPUT_ONLY\n", U);
        fprintf(h, "void %s_predict(%s_t *m, const %s_input_t *x, float *y, long n);\n#endif\n", P, P, P);
        fprintf(h, "/* the same on inputs quantized already, int8 as %s_INPUT_SCALE and\n"
                   " * %s_INPUT_ZERO_POINT say (x = round(r / scale) + zero point, clamped to\n"
                   " * [-128, 127], as nnc_rt_q8_quantize): no float input buffer; the same\n"
                   " * outputs as predict on the floats these are the quantization of.\n"
                   " * Compiled with %s_INT8_INPUT_ONLY defined, predict and its quantized\n"
                   " * input buffer (m->xq) are left out. */\n", U, U, U);
        if (q8_output_node(g))
            fprintf(h, "/* y is int8 too, as %s_OUTPUT_SCALE and %s_OUTPUT_ZERO_POINT say */\n"
                       "void %s_predict_int8(%s_t *m, const int8_t *x, int8_t *y, long n);\n", U, U, P, P);
        else
            fprintf(h, "void %s_predict_int8(%s_t *m, const int8_t *x, float *y, long n);\n", P, P);
    } else {
        fprintf(h, "void %s_predict(%s_t *m, const %s_input_t *x, float *y, long n);\n", P, P, P);
    }
    if (t->present) {
        fprintf(h, "/* loss of one batch (1 <= n <= %s_BATCH) and its gradients in m->grads;\n"
                   " * parameters unchanged.  Returns -1 when n is out of range. */\n", U);
        fprintf(h, "float %s_gradients(%s_t *m, const %s_input_t *x, const %s_label_t *y, int n);\n", P, P, P, P);
        fprintf(h, "/* one optimizer step on one batch; returns its loss (before the step).\n"
                   " * NaN when the loss or a gradient is NaN/inf (the parameters are left\n"
                   " * unchanged; batch norm's moving statistics may have taken the NaN) or\n"
                   " * when the step made a parameter inf/NaN (a learning rate too large:\n"
                   " * load a saved state); train_epoch then returns %s_ERR_NAN. */\n", U);
        fprintf(h, "float %s_train_batch(%s_t *m, const %s_input_t *x, const %s_label_t *y, int n);\n", P, P, P, P);
        fprintf(h, "/* one pass over n samples in `order` (NULL: as stored); *out gets the\n"
                   " * mean loss and the metrics of the training predictions */\n");
        fprintf(h, "int %s_train_epoch(%s_t *m, const %s_input_t *x, const %s_label_t *y, long n,\n"
                   "    const int32_t *order, nnc_rt_metrics *out, %s_progress_fn cb, void *ctx);\n", P, P, P, P, P);
        fprintf(h, "int %s_evaluate(%s_t *m, const %s_input_t *x, const %s_label_t *y, long n,\n"
                   "    nnc_rt_metrics *out, %s_progress_fn cb, void *ctx);\n", P, P, P, P, P);
        if (multi(g))
            fprintf(h, "/* Several outputs: y holds each sample's labels side by side in output order\n"
                       " * (%s_LABEL_<OUTPUT>_OFFSET / _SIZE; %s, as the header's top says),\n"
                       " * and the training loss is the sum of each output's loss times its weight.\n"
                       " * train_epoch and evaluate give *out the total loss with the metrics of the\n"
                       " * first output (so does the progress callback); each output's own loss\n"
                       " * (unweighted, Keras' <output>_loss) and metrics (<output>_accuracy, ...)\n"
                       " * of the last pass are in %s_output_metrics(m, %s_OUTPUT_<OUTPUT>_INDEX).\n"
                       " * NULL for an index out of range. */\n"
                       "const nnc_rt_metrics *%s_output_metrics(const %s_t *m, int output);\n", U,
                    sparse_labels(g) ? "int32 class indices" : "floats; a class index as an exact float",
                    P, U, P, P);
        fprintf(h, "/* the optimizer's learning rate: run-time state, %s_LEARNING_RATE after\n"
                   " * init; a schedule sets it before each step */\n", U);
        fprintf(h, "void %s_set_learning_rate(%s_t *m, float lr);\n", P, P);
        fprintf(h, "float %s_learning_rate(const %s_t *m);\n", P, P);
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
    fprintf(h, "int %s_load(%s_t *m, const void *buf, size_t len);\n", P, P);
    if (g->weights_from)
        fprintf(h, "/* a buffer written by model %s's save() (nnc --weights-from %s): each\n"
                   " * parameter of this model taken from it by name; the same checks and\n"
                   " * errors as load, nothing written on an error */\n"
                   "int %s_load_from(%s_t *m, const void *buf, size_t len);\n",
                g->weights_from->name, g->weights_from->name, P, P);
    fputc('\n', h);
    fprintf(h, "#ifdef __cplusplus\n}\n#endif\n#endif\n");
}

/* the constants above which baked_ is written as bytes in a string literal:
 * gcc spends ~13 us and ~350 bytes of memory on each float of an
 * initializer list (ResNet-18's 11.7M: 150 s and 4 GB), but parses a string
 * 10x faster in a sixth of the memory.  Below it, the list: any C compiler
 * takes it (MSVC refuses strings over 64 KB) */
#define BAKED_AS_BYTES (1L << 20)

/* the floats as the bytes of little-endian binary32 (whatever the host's
 * order), in one string literal of lines of 20 floats: printable characters
 * as themselves, the rest (and '"', '\\', '?' against trigraphs) as
 * three-digit octal escapes, which a following digit cannot extend */
static void emit_float_bytes(FILE *c, const float *x, long n) {
    static char esc[256][5];
    const union { unsigned u; unsigned char b[sizeof(unsigned)]; } one = { 1 };
    for (int k = 0; k < 256; k++) {
        if (k < 32 || k > 126 || k == '"' || k == '\\' || k == '?') snprintf(esc[k], 5, "\\%03o", k);
        else esc[k][0] = (char)k, esc[k][1] = 0;
    }
    for (long i = 0; i < n; i++) {
        unsigned char b[4];
        memcpy(b, &x[i], 4);
        if (i % 20 == 0) fputs(i ? "\"\n    \"" : "\n    \"", c);
        for (int j = 0; j < 4; j++) fputs(esc[b[one.b[0] ? j : 3 - j]], c);
    }
    fputs("\"", c);
}

/* every parameter's value from the weights file, in this build's layout: the
 * RAM ones are copied into m->params by init, the constants are read in place */
static void emit_baked(const Graph *g, const Plan *p, FILE *c) {
    float *all = calloc((size_t)(p->param_floats ? p->param_floats : 1), sizeof *all);
    if (!all) abort();
    for (int v = 0; v < g->nvalues; v++) {
        const Value *x = &g->values[v];
        if (x->role == ROLE_PARAM && x->panels) /* (K, N): a convolution's kernel, (kh*kw*c, oc) */
            nnc_rt_gemm_pack_b(all + x->offset, g->baked + x->baked_at, (int)(ir_size(x) / x->dims[x->rank - 1]),
                               x->dims[x->rank - 1]);
        else if (x->role == ROLE_PARAM)
            memcpy(all + x->offset, g->baked + x->baked_at, (size_t)ir_size(x) * sizeof *all);
    }
    if (p->param_floats > BAKED_AS_BYTES) {
        fprintf(c, "/* the parameters of the weights file, as the bytes of little-endian\n"
                   " * binary32 floats (%ld of them: a list would take the compiler minutes);\n"
                   " * the last %ld are constants */\n"
                   "#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__\n"
                   "#error \"the model's constants are little-endian floats\"\n#endif\n"
                   "#if defined(__GNUC__)\n#pragma GCC diagnostic ignored \"-Woverlength-strings\"\n#endif\n"
                   "static const union { unsigned char bytes[%ld]; float f[%ld]; } baked_bytes_ = {",
                p->param_floats, p->const_floats, 4 * p->param_floats, p->param_floats);
        emit_float_bytes(c, all, p->param_floats);
        fprintf(c, "\n};\n#define baked_ baked_bytes_.f\n\n");
        free(all);
        return;
    }
    fprintf(c, "/* the parameters of the weights file; the last %ld are constants */\n"
               "static const float baked_[%ld] = {", p->const_floats, p->param_floats ? p->param_floats : 1);
    for (long i = 0; i < p->param_floats; i++) {
        /* the file's floats are finite, but folding a batch norm into them
         * may not be (a negative variance, an overflow): C spells those too */
        const char *sep = i % 8 ? " " : "\n    ", *comma = i + 1 < p->param_floats ? "," : "";
        float x = all[i];
        if (x != x || x - x != 0)
            fprintf(c, "%s%s%s", sep, x != x ? "NAN" : x > 0 ? "HUGE_VALF" : "-HUGE_VALF", comma);
        else
            fprintf(c, "%s%.9g%s", sep, x, comma);
    }
    if (!p->param_floats) fprintf(c, "0");
    fprintf(c, "\n};\n\n");
    free(all);
}

/* ---- source -------------------------------------------------------------------------- */

/* the source's opening: its comment and the macros the functions use */
static void source_prelude(const Graph *g, const Plan *p, const EmitOptions *o, FILE *c,
                           const char *P, const char *U) {
    fprintf(c, "/* %s.c — generated by nnc %s from %s; do not edit.\n * command: %s\n"
               " * See %s for the model and the API. */\n", P, NNC_VERSION, o->source_name,
            o->command_line, o->header_name);
    fprintf(c, "#include \"%s\"\n\n#include <math.h>\n#include <string.h>\n\n", o->header_name);
    if (g->q8)  /* ops/quant.c: the dense weights' layout, the target's preference unless the build says */
        fprintf(c, "#include \"nnc_rt_q8_kernels.h\"\n#ifndef NNC_RT_Q8_PACKED\n"
                   "#define NNC_RT_Q8_PACKED NNC_RT_Q8_DENSE_PACKED_PREFERRED\n#endif\n"
                   "#if NNC_RT_Q8_PACKED\n#define NNC_RT_Q8_DENSE nnc_rt_q8_dense_packed\n"
                   "#if defined(__GNUC__)\n#define NNC_RT_Q8_ALIGN4 __attribute__((aligned(4)))\n#else\n"
                   "#define NNC_RT_Q8_ALIGN4\n#endif\n#else\n#define NNC_RT_Q8_DENSE nnc_rt_q8_dense\n#endif\n\n");
    fprintf(c, "#define TRAINABLE_COUNT %ldL\n", p->trainable_floats);
    /* metrics and the evaluate loss see ROWS samples of CLASSES values per call sample */
    long rows = ir_sample_rows(&g->values[g->output]);
    fprintf(c, "#define ROWS %ldL\n#define CLASSES %ldL\n", rows, (multi(g) ? ir_size(&g->values[g->output]) :
            ir_packed_size(g, g->outputs, g->noutputs)) / rows);
    long in_size = ir_packed_size(g, g->inputs, g->ninputs);
    if (g->steps_max)   /* each sample holds m->steps of its steps */
        fprintf(c, "#define PARAM_COUNT %ldL\n#define IN_SIZE ((long)m->steps * %ldL)\n", p->param_floats - p->const_floats,
                in_size / g->steps_max);
    else
        fprintf(c, "#define PARAM_COUNT %ldL\n#define IN_SIZE %ldL\n", p->param_floats - p->const_floats, in_size);
    fprintf(c, "#define OUT_SIZE %ldL\n#define LABEL_SIZE %s_LABEL_SIZE\n#define BATCH %s_BATCH\n\n",
            ir_packed_size(g, g->outputs, g->noutputs), U, U);
    const TrainConfig *t = &g->train;
    if (t->present && t->class_weight) {   /* read by the loss and its gradient */
        fprintf(c, "/* class_weight: the weight of each class's samples in the training loss */\n"
                   "#define CLASS_WEIGHTS %d\nstatic const float class_weight_[CLASS_WEIGHTS] = {", t->nclass_weight);
        for (int i = 0; i < t->nclass_weight; i++) fprintf(c, "%s%sf", i ? ", " : " ", float_literal(t->class_weight[i]));
        fprintf(c, " };\n\n");
    }

}

/* the parameter table and init */
static void source_params(const Graph *g, const Plan *p, FILE *c, const char *P, const char *U) {
    const TrainConfig *t = &g->train;
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

    if (g->baked && (p->param_floats || !g->q8)) emit_baked(g, p, c);   /* none left in an int8 build: its ops hold theirs */
    fprintf(c, "void %s_init(%s_t *m, uint64_t seed) {\n", P, P);
    fprintf(c, "    nnc_rt_rng r;\n    int i;\n    memset(m, 0, sizeof *m);\n    nnc_rt_rng_seed(&r, seed);\n");
    if (g->baked)
        fprintf(c, "    (void)i;\n    (void)r;\n%s", p->param_floats > p->const_floats ?
                "    memcpy(m->params, baked_, sizeof m->params); /* the weights file's values */\n" : "");
    else
        fprintf(c, "    for (i = 0; i < NPARAMS; i++)\n        nnc_rt_init(params_[i].init, m->params + params_[i].offset, "
                   "params_[i].size, params_[i].fan_in, params_[i].fan_out, &r);\n");
    if (t->present) fprintf(c, "    nnc_rt_rng_seed(&m->rng, seed ^ 0x9e3779b97f4a7c15u);   /* dropout's own stream */\n"
                               "    m->learning_rate = %s_LEARNING_RATE;\n", U);
    if (g->steps_max) fprintf(c, "    m->steps = %s_STEPS_MAX;\n", U);
    fprintf(c, "}\n\n");
    if (t->present)
        fprintf(c, "void %s_set_learning_rate(%s_t *m, float lr) {\n    m->learning_rate = lr;\n}\n\n"
                   "float %s_learning_rate(const %s_t *m) {\n    return m->learning_rate;\n}\n\n", P, P, P, P);
    if (g->steps_max)
        fprintf(c, "int %s_set_steps(%s_t *m, int steps) {\n    if (steps < 1 || steps > %s_STEPS_MAX) return %s_ERR_ARG;\n"
                   "    m->steps = steps;\n    return %s_OK;\n}\n\n", P, P, U, U, U);

}

/* A public entry point: the static body NAME_ run with the FPU's
 * flush-to-zero on (runtime/fpmode.c: subnormals stall Intel cores) and the
 * caller's mode restored on return, whatever path the body returns by. */
static void entry_point(FILE *c, const char *ret, const char *P, const char *name, const char *params,
                        const char *args) {
    fprintf(c, "%s %s_%s(%s) {\n    nnc_rt_fpmode fp = nnc_rt_fp_enter();\n", ret, P, name, params);
    if (strcmp(ret, "void"))
        fprintf(c, "    %s r = %s_(%s);\n    nnc_rt_fp_leave(fp);\n    return r;\n}\n\n", ret, name, args);
    else
        fprintf(c, "    %s_(%s);\n    nnc_rt_fp_leave(fp);\n}\n\n", name, args);
}

/* inference: the forward slice and predict */
static void source_predict(const Graph *g, const Plan *p, FILE *c, const char *P, const char *U) {
    (void)U;
    EmitCtx e = { g, p->infer_off, 0, c, { { 0 } }, 0 };
    long out_infer = p->infer_off[ir_storage(g, g->output)];
    fprintf(c, "/* the forward pass for n <= BATCH samples; leaves the output at arena + %ld */\n", out_infer);
    const Node *qin = q8_input_node(g);
    const Node *qout = q8_output_node(g);
    if (qout) fprintf(c, "static void forward(%s_t *m, const int8_t *x, int8_t *y, int n) {\n", P);
    else if (qin) fprintf(c, "static void forward(%s_t *m, const int8_t *x, int n) {\n", P);
    else fprintf(c, "static void forward(%s_t *m, const %s_input_t *x, int n) {\n", P, P);
    fprintf(c, "    (void)n;   /* whole-tensor (imported) graphs have no run-time batch */\n");
    print_nodes(&e, 0, PH_FORWARD, PH_FORWARD);
    fprintf(c, "}\n\n");
    char params[1024];
    for (int int8 = 0; int8 <= (qin != NULL); int8++) {
        if (int8) snprintf(params, sizeof params, "%s_t *m, const int8_t *x, %s *y, long n", P, qout ? "int8_t" : "float");
        else snprintf(params, sizeof params, "%s_t *m, const %s_input_t *x, float *y, long n", P, P);
        if (qin && !int8) fprintf(c, "#ifndef %s_INT8_INPUT_ONLY\n", U);
        fprintf(c, "static void predict%s_(%s) {\n", int8 ? "_int8" : "", params);
        fprintf(c, "    long i;\n    for (i = 0; i < n; i += BATCH) {\n"
                   "        int k = (int)(n - i < BATCH ? n - i : BATCH);\n");
        if (qin && !int8)
            fprintf(c, "        nnc_rt_q8_quantize(m->xq, x + i * IN_SIZE, k * IN_SIZE, %s, %ld);\n",
                    scale_literal(qin->attr.q8->y_scale), (long)qin->attr.q8->y_zp);
        if (qout && !int8) {
            fprintf(c, "        forward(m, m->xq, m->yq, k);\n");
            fprintf(c, "        nnc_rt_q8_dequantize(y + i * OUT_SIZE, m->yq, k * OUT_SIZE, %s, %ld);\n",
                    scale_literal(qout->attr.q8->x_scale), (long)qout->attr.q8->x_zp);
        } else if (qout) {
            fprintf(c, "        forward(m, x + i * IN_SIZE, y + i * OUT_SIZE, k);\n");
        } else if (qin && !int8) {
            fprintf(c, "        forward(m, m->xq, k);\n");
        } else {
            fprintf(c, "        forward(m, x + i * IN_SIZE, k);\n");
        }
        if (qout) {
            /* the output is written by forward */
        } else if (g->noutputs == 1)
            fprintf(c, "        memcpy(y + i * OUT_SIZE, m->arena + %ld, (size_t)k * OUT_SIZE * sizeof(float));\n",
                    out_infer);
        for (int k = 0; g->noutputs > 1 && k < g->noutputs; k++) {
            const Value *v = &g->values[g->outputs[k]];
            fprintf(c, "        nnc_rt_concat_forward(y + i * OUT_SIZE, m->arena + %ld, k, %ld, %ld, OUT_SIZE); /* %s */\n",
                    p->infer_off[ir_storage(g, g->outputs[k])], ir_size(v), v->pack_offset, v->name);
        }
        fprintf(c, "    }\n}\n\n");
        entry_point(c, "void", P, int8 ? "predict_int8" : "predict", params, "m, x, y, n");
        if (qin && !int8) fprintf(c, "#endif\n\n");
    }
}

/* the end of train_epoch's and evaluate's loop over batches: the batch's
 * metrics from the output at arena + out, the progress callback, and the
 * set's metrics and mean loss */
static void metrics_tail_rest(FILE *c, const char *U, int training, const Graph *g);
static void metrics_tail(FILE *c, const char *U, long out, int sparse, int training) {
    fprintf(c, "        nnc_rt_metrics_accumulate(counts, err, m->arena + %ld, yb, %d, k * (int)ROWS, (int)CLASSES);\n",
            out, sparse);
    metrics_tail_rest(c, U, training, NULL);
}

/* several outputs: the labels of the batch unpacked into m->labels (the
 * training step does it for train_epoch), the declarations of each output's
 * sums, and after a batch each output's loss and metrics: *out and the
 * progress callback get the total loss with the first output's metrics,
 * NAME_output_metrics each output's own */
static void multi_unpack(const Graph *g, FILE *c, const char *indent, const char *y, const char *n) {
    for (int k = 0; k < g->noutputs; k++) {
        const Value *l = &g->values[label_of(g, k)];
        fprintf(c, "%snnc_rt_labels_unpack(m->labels + BATCH * %ldL, %s, %s, %ld, %ld, LABEL_SIZE, %d); /* %s */\n",
                indent, l->pack_offset, y, n, ir_size(l), l->pack_offset, l->dtype == DT_I32 && !sparse_labels(g), l->name);
    }
}

static void multi_decls(const Graph *g, FILE *c) {
    for (int k = 1; k < g->noutputs; k++)
        fprintf(c, "    long counts%d[3 * %ldL + 1];\n    double err%d[2] = { 0, 0 };\n", k, ir_size(&g->values[g->outputs[k]]), k);
    fprintf(c, "    double out_sum[%d];\n", g->noutputs);
    for (int k = 1; k < g->noutputs; k++) fprintf(c, "    memset(counts%d, 0, sizeof counts%d);\n", k, k);
    fprintf(c, "    memset(out_sum, 0, sizeof out_sum);\n");
}

static void multi_tail(const Graph *g, const long *off, FILE *c, const char *U, int training) {
    for (int k = 0; k < g->noutputs; k++) {
        const Value *l = &g->values[label_of(g, k)];
        char counts[32], err[32];
        snprintf(counts, sizeof counts, k ? "counts%d" : "counts", k);
        snprintf(err, sizeof err, k ? "err%d" : "err", k);
        fprintf(c, "        nnc_rt_metrics_accumulate(%s, %s, m->arena + %ld, m->labels + BATCH * %ldL, %d, k, %ld); /* %s */\n",
                counts, err, off[ir_storage(g, g->outputs[k])], l->pack_offset, l->dtype == DT_I32,
                ir_size(&g->values[g->outputs[k]]), g->values[g->outputs[k]].name);
        fprintf(c, "        out_sum[%d] += (double)m->output_loss[%d] * k;\n", k, k);
    }
    metrics_tail_rest(c, U, training, g);
}

static void metrics_tail_rest(FILE *c, const char *U, int training, const Graph *g) {
    /* the running numbers cost O(CLASSES) a batch, and only with a callback */
    fprintf(c, "        if (cb) {\n            nnc_rt_progress pr;\n"
               "            pr.done = i + k;\n            pr.total = n;\n"
               "            pr.step = %s;\n            pr.batch_loss = loss;\n            pr.learning_rate = %s;\n"
               "            nnc_rt_metrics_finish(&pr.running, counts, err, (i + k) * ROWS, (int)CLASSES);\n"
               "            pr.running.loss = (float)(loss_sum / (i + k));\n"
               "            if (cb(ctx, &pr)) status = %s_ERR_STOPPED;\n        }\n    }\n",
            training ? "m->step" : "0", training ? "m->learning_rate" : "0.0f", U);
    if (g) {    /* several outputs: each one's mean loss and metrics */
        fprintf(c, "    if (n > 0) {\n        long done = i < n ? i : n;\n");
        for (int k = 0; k < g->noutputs; k++)
            fprintf(c, "        nnc_rt_metrics_finish(m->output_metrics + %d, counts%.0d, err%.0d, done, %ld);\n"
                       "        m->output_metrics[%d].loss = (float)(out_sum[%d] / done);\n", k, k, k,
                    ir_size(&g->values[g->outputs[k]]), k, k);
        fprintf(c, "    }\n");
    }
    fprintf(c, "    if (out && n > 0) {\n        nnc_rt_metrics_finish(out, counts, err, (i < n ? i : n) * ROWS, (int)CLASSES);\n"
               "        out->loss = (float)(loss_sum / (i < n ? i : n));\n    }\n    return status;\n}\n\n");
}

/* Keras' clipping between the gradients and the update (finite here): each
 * trainable tensor's gradient to clipnorm (the parameter table's entries
 * below TRAINABLE_COUNT: trainable parameters come first), every element to
 * clipvalue, or the whole block, which holds all the trainable gradients,
 * to global_clipnorm */
static void emit_clipping(const Graph *g, FILE *c) {
    const TrainConfig *t = &g->train;
    char v[48];
    if (t->clipnorm) {
        snprintf(v, sizeof v, "%s", float_literal(t->clipnorm));
        fprintf(c, "    {   /* clipnorm: each parameter's gradient */\n        int i;\n"
                   "        for (i = 0; i < NPARAMS; i++)\n"
                   "            if (params_[i].offset < TRAINABLE_COUNT)\n"
                   "                nnc_rt_clip_norm(m->grads + params_[i].offset, params_[i].size, %sf);\n    }\n", v);
    }
    if (t->clipvalue)
        fprintf(c, "    nnc_rt_clip_value(m->grads, TRAINABLE_COUNT, %sf);   /* clipvalue */\n",
                float_literal(t->clipvalue));
    if (t->global_clipnorm)
        fprintf(c, "    nnc_rt_clip_norm(m->grads, TRAINABLE_COUNT, %sf);   /* global_clipnorm */\n",
                float_literal(t->global_clipnorm));
}

/* the training step: gradients, train_batch, and train_epoch over a set */
static void source_train(const Graph *g, const Plan *p, FILE *c, const char *P, const char *U) {
    long out_train = p->train_off[ir_storage(g, g->output)];
    int sparse = sparse_labels(g);
    EmitCtx e = { g, p->train_off, 1, c, { { 0 } }, 0 };
    char params[1024];
    snprintf(params, sizeof params, "%s_t *m, const %s_input_t *x, const %s_label_t *y, int n", P, P, P);
    fprintf(c, "static float gradients_(%s) {\n", params);
    fprintf(c, "    float loss;\n    if (n < 1 || n > BATCH) return -1.0f;\n");
    if (multi(g)) {     /* each loss reads its output's labels, and adds to the total */
        multi_unpack(g, c, "    ", "y", "n");
        fprintf(c, "    loss = 0.0f;\n");
    }
    print_nodes(&e, 1, PH_FORWARD, PH_BACKWARD);
    fprintf(c, "    return loss;\n}\n\n");
    entry_point(c, "float", P, "gradients", params, "m, x, y, n");
    fprintf(c, "static float train_batch_(%s) {\n", params);
    fprintf(c, "    float loss = gradients_(m, x, y, n);\n");
    fprintf(c, "    if (loss < 0 || !(loss - loss == 0)) return loss;   /* bad n, NaN or inf */\n");
    /* the trainable parameters were checked after the last step; of the
     * rest, only the state the forward pass writes (moving statistics) can
     * have changed since */
    fprintf(c, "    /* an inf or NaN from the data (a finite loss can hide one): no step */\n");
    if (p->param_floats - p->const_floats > p->trainable_floats)
        fprintf(c, "    if (!nnc_rt_finite(m->grads, TRAINABLE_COUNT) ||\n"
                   "        !nnc_rt_finite(m->params + TRAINABLE_COUNT, PARAM_COUNT - TRAINABLE_COUNT)) return NAN;\n");
    else
        fprintf(c, "    if (!nnc_rt_finite(m->grads, TRAINABLE_COUNT)) return NAN;\n");
    emit_clipping(g, c);
    fprintf(c, "    m->step++;\n");
    print_nodes(&e, 1, PH_UPDATE, PH_UPDATE);
    fprintf(c, "    /* the step itself overflowed (a learning rate too large) */\n"
               "    if (!nnc_rt_finite(m->params, TRAINABLE_COUNT)) return NAN;\n");
    fprintf(c, "    return loss;\n}\n\n");
    entry_point(c, "float", P, "train_batch", params, "m, x, y, n");

    snprintf(params, sizeof params, "%s_t *m, const %s_input_t *x, const %s_label_t *y, long n,\n"
             "    const int32_t *order, nnc_rt_metrics *out, %s_progress_fn cb, void *ctx", P, P, P, P);
    fprintf(c, "static int train_epoch_(%s) {\n", params);
    fprintf(c, "    long counts[3 * CLASSES + 1], i;\n    double err[2] = { 0, 0 }, loss_sum = 0;\n"
               "    int j, status = %s_OK;\n", U);
    fprintf(c, "    if (n < 0) return %s_ERR_ARG;\n", U);
    fprintf(c, "    memset(counts, 0, sizeof counts);\n");
    if (multi(g)) multi_decls(g, c);
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
    fprintf(c, "        loss = train_batch_(m, xb, yb, k);\n");
    fprintf(c, "        if (!(loss - loss == 0)) return %s_ERR_NAN;\n", U);
    fprintf(c, "        loss_sum += (double)loss * k;\n");
    if (multi(g)) multi_tail(g, p->train_off, c, U, 1);
    else metrics_tail(c, U, out_train, sparse, 1);
    entry_point(c, "int", P, "train_epoch", params, "m, x, y, n, order, out, cb, ctx");
}

/* evaluate: the mean loss and metrics of the forward pass over a set */
static void source_evaluate(const Graph *g, const Plan *p, FILE *c, const char *P, const char *U) {
    const TrainConfig *t = &g->train;
    long out_infer = p->infer_off[ir_storage(g, g->output)];
    int sparse = sparse_labels(g);
    char params[1024];
    snprintf(params, sizeof params, "%s_t *m, const %s_input_t *x, const %s_label_t *y, long n,\n"
             "    nnc_rt_metrics *out, %s_progress_fn cb, void *ctx", P, P, P, P);
    fprintf(c, "static int evaluate_(%s) {\n", params);
    fprintf(c, "    long counts[3 * CLASSES + 1], i;\n    double err[2] = { 0, 0 }, loss_sum = 0;\n"
               "    int status = %s_OK;\n    if (n < 0) return %s_ERR_ARG;\n"
               "    memset(counts, 0, sizeof counts);\n", U, U);
    if (multi(g)) multi_decls(g, c);
    fprintf(c, "    for (i = 0; i < n && status == %s_OK; i += BATCH) {\n", U);
    fprintf(c, "        int k = (int)(n - i < BATCH ? n - i : BATCH);\n"
               "        const %s_label_t *yb = y + i * LABEL_SIZE;\n"
               "        forward(m, x + i * IN_SIZE, k);\n", P);
    if (multi(g)) {     /* each output's loss, weighted into the total */
        fprintf(c, "        float loss = 0.0f;\n");
        multi_unpack(g, c, "        ", "yb", "k");
        for (int k = 0; k < g->noutputs; k++) {
            const Value *l = &g->values[label_of(g, k)];
            fprintf(c, "        m->output_loss[%d] = nnc_rt_loss_forward(%d, m->arena + %ld, m->labels + BATCH * %ldL, k, %ld); /* %s */\n",
                    k, t->out_loss[k], p->infer_off[ir_storage(g, g->outputs[k])], l->pack_offset,
                    ir_size(&g->values[g->outputs[k]]), loss_name(t->out_loss[k]));
            fprintf(c, "        loss += %sf * m->output_loss[%d];\n", float_literal(t->loss_weights[k]), k);
        }
        fprintf(c, "        loss_sum += (double)loss * k;\n");
        multi_tail(g, p->infer_off, c, U, 0);
        entry_point(c, "int", P, "evaluate", params, "m, x, y, n, out, cb, ctx");
        return;
    }
    /* Keras' evaluate weighs no class: the plain loss, with or without class_weight */
    fprintf(c, "        float loss = nnc_rt_loss_forward(%d, m->arena + %ld, yb, k * (int)ROWS, (int)CLASSES); /* %s */\n"
               "        loss_sum += (double)loss * k;\n", t->loss, out_infer, loss_name(t->loss));
    metrics_tail(c, U, out_infer, sparse, 0);
    entry_point(c, "int", P, "evaluate", params, "m, x, y, n, out, cb, ctx");
}

/* --weights-from: model SRC's buffer mapped by name, (to, from, size) per
 * parameter in RAM (deploy_weights_from checked names and shapes) */
static void source_load_from(const Graph *g, FILE *c, const char *P) {
    const Graph *src = g->weights_from;
    fprintf(c, "\n/* the layout of model %s's save(): fingerprint, floats, and where each\n"
               " * parameter of this model is in it (to, from, size) */\n"
               "#define FROM_FINGERPRINT 0x%08xu\n#define FROM_COUNT %ldL\nstatic const long from_map_[] = {\n",
            src->name, ir_fingerprint(src, 0), plan_params((Graph *)src, NULL, NULL));
    int n = 0;
    for (int v = 0; v < g->nvalues; v++) {
        const Value *x = &g->values[v];
        if (x->role != ROLE_PARAM || x->constant) continue;
        fprintf(c, "    %ld, %ld, %ld, /* %s */\n", x->offset, src->values[deploy_source_param(src, g, v)].offset,
                ir_size(x), x->name);
        n++;
    }
    if (!n) fprintf(c, "    0, 0, 0\n");
    fprintf(c, "};\n\nint %s_load_from(%s_t *m, const void *buf, size_t len) {\n"
               "    return nnc_rt_params_load_map(m->params, FROM_FINGERPRINT, FROM_COUNT, from_map_, %d, buf, len);\n}\n",
            P, P, n);
}

/* parameters by name, save and load */
static void source_io(const Graph *g, const Plan *p, FILE *c, const char *P, const char *U) {
    (void)p; (void)U;
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
    if (g->weights_from) source_load_from(g, c, P);
}

int emit_c(const Graph *g, const Plan *p, const EmitOptions *o, FILE *c, FILE *h) {
    char U[IR_NAME];
    emit_upper(g->name, U);
    header_comment(g, p, o, h, g->name, U);
    header_defines(g, p, h, g->name, U);
    header_state(g, p, h, g->name, U);
    header_api(g, p, h, g->name, U);
    source_prelude(g, p, o, c, g->name, U);
    source_params(g, p, c, g->name, U);
    source_predict(g, p, c, g->name, U);
    if (g->train.present) {
        source_train(g, p, c, g->name, U);
        source_evaluate(g, p, c, g->name, U);
        if (multi(g))
            fprintf(c, "const nnc_rt_metrics *%s_output_metrics(const %s_t *m, int output) {\n"
                       "    return output >= 0 && output < %d ? m->output_metrics + output : NULL;\n}\n\n",
                    g->name, g->name, g->noutputs);
    }
    source_io(g, p, c, g->name, U);
    return ferror(c) || ferror(h) ? -1 : 0;
}
