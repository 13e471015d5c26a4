/* quant.c — the int8 ops of a `--quantize int8` build (passes/quantize.c
 * makes them; runtime/nnc_rt_q8.h holds their kernels and the scheme).
 *
 * Each op's constants — int8 weights, int32 biases, requantization
 * multipliers and shifts, scales and zero points — are in its Q8
 * (Attrs.q8), computed at build time.  The emitter prints them as static
 * const arrays inside the op's block of the forward function, so they land
 * in flash and nothing of them is float.  Scales and zero points are plain
 * attributes: an importer of quantized ONNX (QDQ) models can build the same
 * nodes from its own numbers.  Inference only: none of these has a
 * gradient (a quantized build refuses training). */
#include <stdlib.h>
#include <string.h>
#include "rules.h"
#include "nnc_rt_q8_kernels.h"

Q8 *q8_new(Graph *g) {
    Q8 *q = calloc(1, sizeof *q);
    if (!q) abort();
    q->next = g->q8;
    g->q8 = q;
    q->lo = -128;
    q->hi = 127;
    return q;
}

void q8_free_all(Graph *g) {
    for (Q8 *q = g->q8, *next; q; q = next) {
        next = q->next;
        free(q->w);
        free(q->bias);
        free(q->mult);
        free(q->shift);
        free(q->w_scale);
        free(q->onnx_mult);
        free(q->w_zp);
        free(q);
    }
    g->q8 = NULL;
}

/* the int8 (or float) storage of a value as a C expression */
static const char *q8_ptr(EmitCtx *e, int v) {
    const Value *x = &emit_graph(e)->values[v];
    if (x->dtype != DT_I8) return emit_ptr(e, v);
    char *b = e->bufs[e->next++ % 16];
    snprintf(b, 192, "(int8_t *)(%s)", emit_ptr(e, v));
    return b;
}

/* static const T name[n] = { ... }; inside the op's block, 16 to a line */
static void q8_array(EmitCtx *e, const char *type, const char *name, long n, const void *data, int bytes) {
    fprintf(e->out, "        static const %s %s[%ld] = {", type, name, n ? n : 1);
    for (long i = 0; i < n; i++) {
        long v = bytes == 1 ? ((const int8_t *)data)[i] : ((const int32_t *)data)[i];
        fprintf(e->out, "%s%ld%s", i % 16 ? " " : "\n            ", v, i + 1 < n ? "," : "");
    }
    if (!n) fprintf(e->out, " 0");
    fprintf(e->out, "\n        };\n");
}

/* the output stage (nnc_rt_q8_out) of a product, named o */
static void q8_out_stage(EmitCtx *e, const Q8 *q) {
    q8_array(e, "int32_t", "mult", q->nch, q->mult, 4);
    q8_array(e, "int8_t", "shift", q->nch, q->shift, 1);
    int checked = 1;    /* what the kernels would check before every call (nnc_rt_q8_out.checked) */
    for (int j = 0; j < q->nch; j++)
        if (q->shift[j] > 0 || q->shift[j] < -31 || q->mult[j] == INT32_MIN) checked = 0;
    fprintf(e->out, "        static const nnc_rt_q8_out o = { mult, shift, %d, %ld, %ld, %ld, %s };\n",
            q->nch > 1, (long)q->y_zp, (long)q->lo, (long)q->hi, checked ? "NNC_RT_Q8_CHECKED" : "0");
}

static const char *layer_of(const Node *n) { return n->layer[0] ? n->layer : op_name(n->op); }

static void quantize_emit(EmitCtx *e, const Node *n) {
    const Q8 *q = n->attr.q8;
    const Graph *g = emit_graph(e);
    if (g->values[ir_storage(g, n->out[0])].role == ROLE_INPUT) {     /* passes/quantize.c's int8_input */
        emit_line(e, "/* %s: x arrives int8 (scale %s, zero point %ld): NAME_predict quantizes it */", layer_of(n),
                  emit_float(e, q->y_scale), (long)q->y_zp);
        return;
    }
    emit_line(e, "nnc_rt_q8_quantize(%s, %s, %s, %s, %ld); /* %s */", q8_ptr(e, n->out[0]), q8_ptr(e, n->in[0]),
              emit_count(e, n->in[0]), emit_float(e, q->y_scale), (long)q->y_zp, layer_of(n));
}

static void dequantize_emit(EmitCtx *e, const Node *n) {
    const Q8 *q = n->attr.q8;
    const Graph *g = emit_graph(e);
    if (g->values[n->out[0]].alias_of == n->in[0]) {     /* passes/quantize.c's int8_output */
        emit_line(e, "/* the output leaves int8 (scale %s, zero point %ld) in y: NAME_predict dequantizes it */",
                  emit_float(e, q->x_scale), (long)q->x_zp);
        return;
    }
    emit_line(e, "nnc_rt_q8_dequantize(%s, %s, %s, %s, %ld); /* %s */", q8_ptr(e, n->out[0]), q8_ptr(e, n->in[0]),
              emit_count(e, n->in[0]), emit_float(e, q->x_scale), (long)q->x_zp, layer_of(n));
}

/* an imported QLinear product's constants and output stage (nnc_rt_q8_onnx), named o;
 * the multipliers as float32 bit patterns, exact whatever the C compiler's parsing */
static void q8_onnx_stage(EmitCtx *e, const Q8 *q) {
    q8_array(e, "int8_t", "w", q->nw, q->w, 1);
    if (q->bias) q8_array(e, "int32_t", "b", q->nch, q->bias, 4);
    q8_array(e, "int32_t", "w_zp", q->nch, q->w_zp, 4);
    int32_t *bits = malloc((size_t)(q->nch ? q->nch : 1) * sizeof *bits);
    if (!bits) abort();
    memcpy(bits, q->onnx_mult, (size_t)q->nch * sizeof *bits);
    q8_array(e, "int32_t", "mult_bits", q->nch, bits, 4);
    free(bits);
    emit_line(e, "    static float mult[%d];", q->nch ? q->nch : 1);
    emit_line(e, "    memcpy(mult, mult_bits, sizeof mult);");
    emit_line(e, "    const nnc_rt_q8_onnx o = { mult, w_zp, %d, %ld, %ld, %ld, %ld, %ld };", q->nch > 1, (long)q->x_zp,
              (long)q->y_zp, (long)q->lo, (long)q->hi, (long)q->y_off);
}

static void dense_onnx_emit(EmitCtx *e, const Node *n) {
    const Graph *g = emit_graph(e);
    const Q8 *q = n->attr.q8;
    long k = emit_cols(g, n->in[0]);
    emit_line(e, "{   /* %s: int8 dense %ld -> %d, ONNX's requantization */", layer_of(n), k, n->attr.units);
    q8_onnx_stage(e, q);
    emit_line(e, "    nnc_rt_q8_dense_onnx(%s, %s, w, %s, %s, %ld, %d, &o);", q8_ptr(e, n->out[0]), q8_ptr(e, n->in[0]),
              q->bias ? "b" : "NULL", emit_rows(e, n->in[0]), k, n->attr.units);
    emit_line(e, "}");
}

static void dense_emit(EmitCtx *e, const Node *n) {
    const Graph *g = emit_graph(e);
    const Q8 *q = n->attr.q8;
    long k = emit_cols(g, n->in[0]);
    if (q->onnx_mult) { dense_onnx_emit(e, n); return; }
    emit_line(e, "{   /* %s: int8 dense %ld -> %d */", layer_of(n), k, n->attr.units);
    /* the weights in the layout the target's kernels read fastest (the
     * packed one on the Cortex-M4/M7: runtime/nnc_rt_q8_kernels.h), the
     * choice the preprocessor's (NNC_RT_Q8_PACKED, set from the runtime's
     * NNC_RT_Q8_DENSE_PACKED_PREFERRED in the file's preamble): one array
     * is compiled, and the code is the same for every target */
    int8_t *wp = malloc((size_t)(q->nw ? q->nw : 1));
    if (!wp) abort();
    nnc_rt_q8_dense_pack(wp, q->w, n->attr.units, (int)k);
    fprintf(e->out, "#if NNC_RT_Q8_PACKED\n");
    q8_array(e, "int8_t NNC_RT_Q8_ALIGN4", "w", q->nw, wp, 1);
    fprintf(e->out, "#else\n");
    q8_array(e, "int8_t", "w", q->nw, q->w, 1);
    fprintf(e->out, "#endif\n");
    free(wp);
    q8_array(e, "int32_t", "b", q->nch, q->bias, 4);
    q8_out_stage(e, q);
    emit_line(e, "    NNC_RT_Q8_DENSE(%s, %s, w, b, %s, %ld, %d, &o);", q8_ptr(e, n->out[0]), q8_ptr(e, n->in[0]),
              emit_rows(e, n->in[0]), k, n->attr.units);
    emit_line(e, "}");
}

/* an imported QLinearConv (or QDQ group): the ONNX-mode kernel on weights packed here
 * (windows of up to NNC_RT_Q8_ONNX_TAPS taps; longer ones the plain kernel), the
 * static batch of the import */
static void conv_onnx_emit(EmitCtx *e, const Node *n) {
    const Q8 *q = n->attr.q8;
    const nnc_rt_conv2d *p = &n->attr.conv;
    int packed = (long)p->kh * p->kw * (p->c / p->groups) <= NNC_RT_Q8_ONNX_TAPS;
    emit_line(e, "{   /* %s: int8 conv2d, ONNX's requantization */", layer_of(n));
    Q8 view = *q;
    int8_t *wp = NULL;
    if (packed) {
        view.nw = NNC_RT_Q8_CONV2D_ONNX_PACKED(p);
        wp = malloc((size_t)(view.nw ? view.nw : 1));
        if (!wp) abort();
        nnc_rt_q8_conv2d_onnx_pack(wp, q->w, p);
        view.w = wp;
    }
    q8_onnx_stage(e, &view);
    free(wp);
    emit_line(e, "    nnc_rt_q8_conv2d_onnx%s(%s, %s, %s, w, %s, %d, &o);", packed ? "_packed" : "", emit_conv(e, p),
              q8_ptr(e, n->out[0]), q8_ptr(e, n->in[0]), q->bias ? "b" : "NULL", n->attr.samples);
    emit_line(e, "}");
}

static void conv_emit(EmitCtx *e, const Node *n) {
    const Q8 *q = n->attr.q8;
    if (q->onnx_mult) { conv_onnx_emit(e, n); return; }
    emit_line(e, "{   /* %s: int8 conv2d */", layer_of(n));
    q8_array(e, "int8_t", "w", q->nw, q->w, 1);
    q8_array(e, "int32_t", "b", q->nch, q->bias, 4);
    q8_out_stage(e, q);
    emit_line(e, "    nnc_rt_q8_conv2d(%s, %s, %s, %ld, w, b, %s, n, &o);", emit_conv(e, &n->attr.conv),
              q8_ptr(e, n->out[0]), q8_ptr(e, n->in[0]), (long)q->x_zp, emit_ptr(e, n->out[1]));
    emit_line(e, "}");
}

/* the samples: the run-time n, or an imported pool's (qdq.c) attr.samples */
static void pool_emit(EmitCtx *e, const Node *n) {
    const Q8 *q = n->attr.q8;
    emit_line(e, "nnc_rt_q8_%spool2d(%s, %s, %s, %s, %ld, %ld); /* %s */", n->op == OP_Q8_AVG_POOL ? "avg" : "max",
              emit_pool(e, &n->attr.pool), q8_ptr(e, n->out[0]), q8_ptr(e, n->in[0]),
              n->attr.samples ? emit_per_n(e, n, n->attr.samples) : "n", (long)q->lo, (long)q->hi, layer_of(n));
}

/* add: TFLite's int8 add, its constants from the three scales */
static void add_emit(EmitCtx *e, const Node *n) {
    const Q8 *q = n->attr.q8;
    const int left = 20;
    double twice = 2.0 * (q->x_scale > q->b_scale ? q->x_scale : q->b_scale);
    int32_t am, bm, ym;
    int as, bs, ys;
    nnc_rt_q8_multiplier(q->x_scale / twice, &am, &as);
    nnc_rt_q8_multiplier(q->b_scale / twice, &bm, &bs);
    nnc_rt_q8_multiplier(twice / ((double)(1 << left) * q->y_scale), &ym, &ys);
    emit_line(e, "{   /* %s: int8 add */", layer_of(n));
    emit_line(e, "    static const nnc_rt_q8_add_params p = { %ld, %ld, %ld, %ld, %ld, %ld, %d, %d, %d, %d, %ld, %ld };",
              (long)q->x_zp, (long)q->b_zp, (long)q->y_zp, (long)am, (long)bm, (long)ym, as, bs, ys, left,
              (long)q->lo, (long)q->hi);
    emit_line(e, "    nnc_rt_q8_add(%s, %s, %s, %s, &p);", q8_ptr(e, n->out[0]), q8_ptr(e, n->in[0]),
              q8_ptr(e, n->in[1]), emit_count(e, n->out[0]));
    emit_line(e, "}");
}

/* the view of a concatenation along `axis`: outer rows of width columns */
static void concat_cols(const Value *v, int axis, long *outer, long *width) {
    *outer = 1;
    *width = 1;
    for (int d = 0; d < v->rank; d++) {
        if (d < axis) *outer *= v->dims[d];
        else *width *= v->dims[d];
    }
}

/* concat: each operand rescaled into the output's scale (q->mult/shift[i],
 * its zero point in q->bias[i]), placed at its columns */
static void concat_emit(EmitCtx *e, const Node *n) {
    const Graph *g = emit_graph(e);
    const Q8 *q = n->attr.q8;
    const Value *y = &g->values[n->out[0]];
    int axis = n->attr.axis < 0 ? n->attr.axis + y->rank : n->attr.axis;
    long outer, total, width, offset = 0;
    concat_cols(y, axis, &outer, &total);
    for (int i = 0; i < n->nin; i++) {
        concat_cols(&g->values[n->in[i]], axis, &outer, &width);
        emit_line(e, "nnc_rt_q8_requantize(%s + %ld, %ld, %s, %s, %ld, %ld, %ld, %d, %ld, -128, 127); /* %s */",
                  q8_ptr(e, n->out[0]), offset, total, q8_ptr(e, n->in[i]), emit_times_n(e, y->batched, outer),
                  width, (long)q->bias[i], (long)q->mult[i], q->shift[i], (long)q->y_zp, layer_of(n));
        offset += width;
    }
}

static void requantize_emit(EmitCtx *e, const Node *n) {
    const Q8 *q = n->attr.q8;
    emit_line(e, "nnc_rt_q8_requantize(%s, %ld, %s, %s, %ld, %ld, %ld, %d, %ld, %ld, %ld); /* %s */",
              q8_ptr(e, n->out[0]), emit_cols(emit_graph(e), n->in[0]), q8_ptr(e, n->in[0]), emit_rows(e, n->in[0]),
              emit_cols(emit_graph(e), n->in[0]), (long)q->x_zp, q->mult ? (long)q->mult[0] : 0L,
              q->shift ? q->shift[0] : 0, (long)q->y_zp, (long)q->lo, (long)q->hi, layer_of(n));
}

static void softmax_emit(EmitCtx *e, const Node *n) {
    const Q8 *q = n->attr.q8;
    emit_line(e, "nnc_rt_q8_softmax%s(%s, %s, %s, %ld, %s); /* %s */", q->out_f32 ? "_f32" : "",
              q8_ptr(e, n->out[0]), q8_ptr(e, n->in[0]), emit_rows(e, n->in[0]), emit_cols(emit_graph(e), n->in[0]),
              emit_float(e, q->x_scale), layer_of(n));
}

/* multiply-accumulates per sample, twice (FLOPs, as the float ops count them) */
static long dense_flops(const Graph *g, const Node *n) {
    return 2 * ir_size(&g->values[n->in[0]]) * n->attr.units;
}

static long conv_flops(const Graph *g, const Node *n) {
    (void)g;
    const nnc_rt_conv2d *p = &n->attr.conv;
    return 2L * p->oh * p->ow * p->oc * p->kh * p->kw * (p->c / p->groups);
}

static long elementwise_flops(const Graph *g, const Node *n) { return ir_size(&g->values[n->out[0]]); }

#define Q8OP(nin, em, ...) { .rt = RT_Q8, .ninputs = nin, .shape = op_no_shape, .emit = em, __VA_ARGS__ }
const OpDef op_q8_quantize = Q8OP(1, quantize_emit, .flops = elementwise_flops);
const OpDef op_q8_dequantize = Q8OP(1, dequantize_emit, .flops = elementwise_flops);
const OpDef op_q8_dense = Q8OP(1, dense_emit, .flops = dense_flops);
const OpDef op_q8_conv2d = Q8OP(1, conv_emit, .flops = conv_flops);
const OpDef op_q8_max_pool = Q8OP(1, pool_emit, .flops = elementwise_flops);
const OpDef op_q8_avg_pool = Q8OP(1, pool_emit, .flops = elementwise_flops);
const OpDef op_q8_add = Q8OP(2, add_emit, .flops = elementwise_flops);
const OpDef op_q8_concat = Q8OP(-1, concat_emit);
const OpDef op_q8_requantize = Q8OP(1, requantize_emit, .flops = elementwise_flops);
const OpDef op_q8_softmax = Q8OP(1, softmax_emit, .flops = elementwise_flops);
