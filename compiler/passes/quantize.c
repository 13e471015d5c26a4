/* passes/quantize.c — `--quantize int8`: the optimized float inference
 * graph rewritten into int8 ops (ops/quant.c), post-training.
 *
 * Runs after batch norms are folded and activations fused, before weights
 * are packed.  The scheme is TFLite's (runtime/nnc_rt_q8.h): activations
 * asymmetric per tensor from calibrated ranges (calibrate.c), weights
 * symmetric per output channel, int32 biases with dense's input zero point
 * folded in, fixed-point requantization, relu/relu6 as the output clamp.
 *
 * The nodes are rebuilt in order.  Every activation value may exist as
 * float, as int8 (its "twin", a new DT_I8 value), or both: an op with an
 * int8 form takes int8 inputs (a quantize node is made where one exists
 * only as float), an op without one takes float inputs (a dequantize node
 * recreates the float value).  Each such float island is reported with a
 * note naming the layer, because it costs time and accuracy.  The graph's
 * input is quantized by the first int8 op and its outputs are float again
 * (dequantized, or a softmax that writes float), so the model's API stays
 * the float one.  The float weights the int8 ops replaced are dropped: the
 * build carries only the int8 constants.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ir.h"

typedef struct QP { float scale; int32_t zp; } QP;

typedef struct Pass {
    Graph *g;
    int nold;               /* values before the pass: the arrays below index them */
    int *qv;                /* the int8 twin, or -1 */
    int *fok;               /* the float value is computed in the new graph */
    QP *qp;                 /* the twin's quantization */
    const float *lo, *hi;   /* calibrated ranges: values, then nodes' pre-activations */
    int notes;
} Pass;

/* TFLite's asymmetric int8 choice for a range: 0 exactly representable */
static QP qparams(float lo, float hi) {
    if (lo > 0) lo = 0;
    if (hi < 0) hi = 0;
    QP q = { 1.0f, 0 };
    if (!(hi > lo) || !isfinite(hi - lo)) return q;
    q.scale = (hi - lo) / 255.0f;
    double zp = nearbyint(-128.0 - lo / q.scale);
    q.zp = zp < -128 ? -128 : zp > 127 ? 127 : (int32_t)zp;
    return q;
}

static int new_node(Pass *p, int op, const int *in, int nin, const Node *from) {
    int k = ir_node(p->g, op, in, nin, from->loc);
    Node *n = &p->g->nodes[k];
    n->phase = PH_FORWARD;
    memcpy(n->layer, from->layer, sizeof n->layer);
    return k;
}

/* a DT_I8 value shaped like old value v */
static int new_q_value(Pass *p, int v, const char *suffix) {
    char name[IR_NAME];
    Value x = p->g->values[v];
    ir_format_name(name, "%s%s", x.name, suffix);
    int q = ir_value(p->g, name, ROLE_ACT, x.batched, x.rank, x.dims);
    p->g->values[q].dtype = DT_I8;
    p->g->values[q].loc = x.loc;
    return q;
}

static const char *who(const Pass *p, const Node *n) { return node_who(p->g, n); }

/* old value v as int8: its twin, or a quantize node made now */
static int need_q(Pass *p, int v, const Node *from) {
    if (p->qv[v] >= 0) return p->qv[v];
    if (!(p->lo[v] <= p->hi[v])) {
        diag_error(from->loc, "--quantize int8: '%s' (read by %s) has no calibrated range", p->g->values[v].name,
                   who(p, from));
        return -1;
    }
    p->qp[v] = qparams(p->lo[v], p->hi[v]);
    int q = new_q_value(p, v, "/q8");
    int k = new_node(p, OP_Q8_QUANTIZE, &v, 1, from);
    ir_add_output(p->g, k, q);
    Q8 *a = q8_new(p->g);
    p->g->nodes[k].attr.q8 = a;
    a->y_scale = p->qp[v].scale;
    a->y_zp = p->qp[v].zp;
    if (ir_storage(p->g, v) != p->g->input) {     /* the model's input (or a view of it): no island */
        diag_note(from->loc, "--quantize int8: '%s' is quantized again for %s (a float op before it has no "
                  "int8 form)", p->g->values[v].name, who(p, from));
        p->notes++;
    }
    return p->qv[v] = q;
}

/* old value v as float: itself, or a dequantize node made now; note: say so */
static int need_f(Pass *p, int v, const Node *from, int note) {
    if (p->fok[v]) return v;
    p->g->values[v].alias_of = -1;      /* a view's float self gets a buffer of its own */
    int k = new_node(p, OP_Q8_DEQUANTIZE, &p->qv[v], 1, from);
    ir_add_output(p->g, k, v);
    Q8 *a = q8_new(p->g);
    p->g->nodes[k].attr.q8 = a;
    a->x_scale = p->qp[v].scale;
    a->x_zp = p->qp[v].zp;
    p->fok[v] = 1;
    if (note) {
        diag_note(from->loc, "--quantize int8: %s (%s) has no int8 form: it runs in float32 between a dequantize "
                  "and a quantize", who(p, from), op_name(from->op));
        p->notes++;
    }
    return v;
}

/* the clamp of an output quantized as y for activation act */
static void clamp_for(int act, QP y, Q8 *a) {
    a->lo = -128, a->hi = 127;
    if (act == NNC_RT_ACT_RELU || act == NNC_RT_ACT_RELU6) a->lo = y.zp > -128 ? y.zp : -128;
    if (act == NNC_RT_ACT_RELU6) {
        double top = y.zp + nearbyint(6.0 / y.scale);
        a->hi = top < 127 ? (int32_t)top : 127;
    }
}

static int32_t *alloc_i32(long n) {
    int32_t *x = calloc((size_t)(n > 0 ? n : 1), sizeof *x);
    if (!x) abort();
    return x;
}

/* dense or convolution: int8 weights (m, k) per output channel from the
 * float kernel w laid out (k, m) (dense; conv: (kh kw c/groups, oc), the same
 * view), int32 biases, multipliers.  fold_zp: dense folds -x_zp sum w in. */
static int product(Pass *p, const Node *n, Q8 *a, QP x, QP y, long k, long m, int fold_zp) {
    const float *w = p->g->baked + p->g->values[n->in[1]].baked_at;
    const float *b = n->nin > 2 ? p->g->baked + p->g->values[n->in[2]].baked_at : NULL;
    a->nw = k * m;
    a->w = malloc((size_t)(a->nw ? a->nw : 1));
    a->bias = alloc_i32(m);
    a->mult = alloc_i32(m);
    a->shift = malloc((size_t)(m ? m : 1));
    a->w_scale = malloc((size_t)(m ? m : 1) * sizeof(float));
    if (!a->w || !a->shift || !a->w_scale) abort();
    a->nch = (int)m;
    a->x_scale = x.scale, a->x_zp = x.zp, a->y_scale = y.scale, a->y_zp = y.zp;
    for (long j = 0; j < m; j++) {
        float top = 0;
        for (long i = 0; i < k; i++) top = fmaxf(top, fabsf(w[i * m + j]));
        if (!isfinite(top)) {
            diag_error(n->loc, "--quantize int8: %s has a weight that is not finite", who(p, n));
            return -1;
        }
        float s = top > 0 ? top / 127.0f : 1.0f;
        int64_t sum = 0;
        for (long i = 0; i < k; i++) {
            long q = lrintf(w[i * m + j] / s);
            q = q < -127 ? -127 : q > 127 ? 127 : q;
            a->w[j * k + i] = (int8_t)q;
            sum += q;
        }
        double bias = b ? nearbyint((double)b[j] / ((double)x.scale * s)) : 0;
        if (fold_zp) bias -= (double)x.zp * (double)sum;
        if (!(fabs(bias) < 2147483647.0)) {
            diag_error(n->loc, "--quantize int8: %s's bias of output %ld does not fit int32 at the calibrated "
                       "scales; nnc cannot quantize this layer correctly", who(p, n), j);
            return -1;
        }
        a->bias[j] = (int32_t)bias;
        a->w_scale[j] = s;
        int sh;
        nnc_rt_q8_multiplier((double)x.scale * s / y.scale, &a->mult[j], &sh);
        if (sh < -31 || sh > 30) {
            diag_error(n->loc, "--quantize int8: %s's requantization factor %g is out of range", who(p, n),
                       (double)x.scale * s / y.scale);
            return -1;
        }
        a->shift[j] = (int8_t)sh;
    }
    return 0;
}

/* a single-factor requantization (M = from/to) into a Q8's first channel */
static void one_factor(Q8 *a, double M) {
    a->nch = 1;
    a->mult = alloc_i32(1);
    a->shift = malloc(1);
    if (!a->shift) abort();
    int sh;
    nnc_rt_q8_multiplier(M, &a->mult[0], &sh);
    a->shift[0] = (int8_t)sh;
}

static int is_pool(int op, int *avg) {
    *avg = op == OP_AVG_POOL2D || op == OP_AVG_POOL1D || op == OP_GLOBAL_AVG_POOL ||
           op == OP_GLOBAL_AVERAGE_POOLING1D || op == OP_GLOBAL_AVERAGE_POOLING2D;
    return *avg || op == OP_MAX_POOL2D || op == OP_MAX_POOL1D || op == OP_GLOBAL_MAX_POOL ||
           op == OP_GLOBAL_MAX_POOLING1D || op == OP_GLOBAL_MAX_POOLING2D;
}

/* a parameter baked from --weights into a constant */
static int baked(const Graph *g, int v) {
    const Value *x = &g->values[v];
    return g->baked && x->role == ROLE_PARAM && x->constant;
}

/* dense or a convolution with constant weights: relu and relu6 become the
 * clamp; another fused activation is split off after the int8 product (a
 * softmax reading int8, the others in float after a dequantize) */
static int product_ok(const Pass *p, const Node *n) {
    int act = n->attr.act;
    return (n->op == OP_DENSE || n->op == OP_CONV2D || n->op == OP_DEPTHWISE_CONV2D || n->op == OP_CONV1D) &&
           baked(p->g, n->in[1]) && (n->nin < 3 || baked(p->g, n->in[2])) &&
           (act == NNC_RT_ACT_LINEAR || op_for_act(act) >= 0);
}

/* one old node into the new graph; -1 after reporting */
static int rewrite(Pass *p, const Node *n, int index) {
    Graph *g = p->g;
    int in0 = n->nin ? n->in[0] : -1, out = n->nout ? n->out[0] : -1, avg;
    int any_q = 0;
    for (int j = 0; j < n->nin; j++) any_q |= g->values[n->in[j]].role == ROLE_ACT && p->qv[n->in[j]] >= 0;
    int act = act_kind(n);
    if (product_ok(p, n)) {
        int x = need_q(p, in0, n);
        if (x < 0) return -1;
        int act = n->attr.act;
        int split = act != NNC_RT_ACT_LINEAR && act != NNC_RT_ACT_RELU && act != NNC_RT_ACT_RELU6;
        int t = split ? p->nold + index : out;     /* the range of what the product writes */
        if (!(p->lo[t] <= p->hi[t])) {
            diag_error(n->loc, "--quantize int8: %s has no calibrated range", who(p, n));
            return -1;
        }
        QP y = qparams(p->lo[t], p->hi[t]);
        int q = new_q_value(p, out, split ? "/pre_q8" : "/q8");
        int k = new_node(p, n->op == OP_DENSE ? OP_Q8_DENSE : OP_Q8_CONV2D, &x, 1, n);
        g->nodes[k].attr = n->attr;
        Q8 *a = q8_new(g);
        g->nodes[k].attr.q8 = a;
        ir_add_output(g, k, q);
        const Value *xv = &g->values[in0];
        long kk = n->op == OP_DENSE ? (xv->rank ? xv->dims[xv->rank - 1] : 1)
                                    : (long)n->attr.conv.kh * n->attr.conv.kw * (n->attr.conv.c / n->attr.conv.groups);
        long m = n->op == OP_DENSE ? n->attr.units : n->attr.conv.oc;
        if (product(p, n, a, p->qp[in0], y, kk, m, n->op == OP_DENSE)) return -1;
        clamp_for(split ? NNC_RT_ACT_LINEAR : act, y, a);
        g->nodes[k].attr.act = split ? NNC_RT_ACT_LINEAR : act;    /* what the int8 op applies: its clamp */
        if (n->op != OP_DENSE) {
            int dims[1] = { (int)NNC_RT_Q8_CONV2D_SCRATCH(&n->attr.conv) };
            char name[IR_NAME];
            ir_format_name(name, "%s/q8_scratch", g->values[out].name);
            int s = ir_value(g, name, ROLE_ACT, 0, 1, dims);
            g->values[s].dtype = DT_I8;
            ir_add_output(g, k, s);
        }
        if (!split) {
            p->qv[out] = q;
            p->qp[out] = y;
            return 0;
        }
        if (act == NNC_RT_ACT_SOFTMAX) {
            int sk = new_node(p, OP_Q8_SOFTMAX, &q, 1, n);
            Q8 *sa = q8_new(g);
            g->nodes[sk].attr.q8 = sa;
            sa->x_scale = y.scale, sa->x_zp = y.zp, sa->out_f32 = 1;
            ir_add_output(g, sk, out);
            p->fok[out] = 1;
            return 0;
        }
        /* the activation in float, on the dequantized pre-activation */
        char name[IR_NAME];
        Value o = g->values[out];
        ir_format_name(name, "%s/pre", o.name);
        int pre = ir_value(g, name, ROLE_ACT, o.batched, o.rank, o.dims);
        int dk = new_node(p, OP_Q8_DEQUANTIZE, &q, 1, n);
        Q8 *da = q8_new(g);
        g->nodes[dk].attr.q8 = da;
        da->x_scale = y.scale, da->x_zp = y.zp;
        ir_add_output(g, dk, pre);
        int ak = new_node(p, op_for_act(act), &pre, 1, n);
        g->nodes[ak].attr = n->attr;
        g->nodes[ak].attr.act = NNC_RT_ACT_LINEAR;
        ir_add_output(g, ak, out);
        p->fok[out] = 1;
        diag_note(n->loc, "--quantize int8: the activation %s of %s has no int8 form: it runs in float32 after a "
                  "dequantize", act_name(act), who(p, n));
        p->notes++;
        return 0;
    }
    if (op_table[n->op]->alias || op_table[n->op]->noise) {   /* a view (dropout, noise: the identity here) */
        if (p->qv[in0] >= 0) {      /* int8 wherever the input is: no requantization after it */
            int q = new_q_value(p, out, "/q8");
            int k = new_node(p, OP_VIEW, &p->qv[in0], 1, n);
            ir_add_output(g, k, q);
            g->values[q].alias_of = p->qv[in0];
            p->qv[out] = q;
            p->qp[out] = p->qp[in0];
            return 0;
        }
    } else if (any_q && is_pool(n->op, &avg)) {
        int x = need_q(p, in0, n);
        if (x < 0) return -1;
        int q = new_q_value(p, out, "/q8");
        int k = new_node(p, avg ? OP_Q8_AVG_POOL : OP_Q8_MAX_POOL, &x, 1, n);
        g->nodes[k].attr = n->attr;
        Q8 *a = q8_new(g);
        g->nodes[k].attr.q8 = a;
        a->x_scale = a->y_scale = p->qp[in0].scale;
        a->x_zp = a->y_zp = p->qp[in0].zp;
        ir_add_output(g, k, q);
        p->qv[out] = q;
        p->qp[out] = p->qp[in0];      /* pools keep the input's scale */
        return 0;
    } else if (any_q && (act == NNC_RT_ACT_RELU || act == NNC_RT_ACT_RELU6)) {
        int x = need_q(p, in0, n);
        if (x < 0) return -1;
        int q = new_q_value(p, out, "/q8");
        int k = new_node(p, OP_Q8_REQUANTIZE, &x, 1, n);
        Q8 *a = q8_new(g);
        g->nodes[k].attr.q8 = a;
        ir_add_output(g, k, q);
        QP y = p->qp[in0];              /* the same scale: only the clamp */
        a->x_scale = a->y_scale = y.scale;
        a->x_zp = a->y_zp = y.zp;
        one_factor(a, 1.0);
        clamp_for(act, y, a);
        p->qv[out] = q;
        p->qp[out] = y;
        return 0;
    } else if (any_q && act == NNC_RT_ACT_SOFTMAX) {
        int x = need_q(p, in0, n);
        if (x < 0) return -1;
        int k = new_node(p, OP_Q8_SOFTMAX, &x, 1, n);
        Q8 *a = q8_new(g);
        g->nodes[k].attr.q8 = a;
        a->x_scale = p->qp[in0].scale, a->x_zp = p->qp[in0].zp, a->out_f32 = 1;
        ir_add_output(g, k, out);
        p->fok[out] = 1;
        return 0;
    } else if (any_q && ((n->op == OP_ADD && ir_size(&g->values[n->in[0]]) == ir_size(&g->values[out]) &&
                          ir_size(&g->values[n->in[1]]) == ir_size(&g->values[out])) || n->op == OP_CONCAT)) {
        int ins[IR_MAX_IO];
        for (int j = 0; j < n->nin; j++)
            if ((ins[j] = need_q(p, n->in[j], n)) < 0) return -1;
        QP y = qparams(p->lo[out], p->hi[out]);
        int q = new_q_value(p, out, "/q8");
        int k = new_node(p, n->op == OP_ADD ? OP_Q8_ADD : OP_Q8_CONCAT, ins, n->nin, n);
        g->nodes[k].attr = n->attr;
        Q8 *a = q8_new(g);
        g->nodes[k].attr.q8 = a;
        ir_add_output(g, k, q);
        a->y_scale = y.scale, a->y_zp = y.zp;
        if (n->op == OP_ADD) {
            a->x_scale = p->qp[n->in[0]].scale, a->x_zp = p->qp[n->in[0]].zp;
            a->b_scale = p->qp[n->in[1]].scale, a->b_zp = p->qp[n->in[1]].zp;
        } else {
            a->nch = n->nin;
            a->mult = alloc_i32(n->nin);
            a->bias = alloc_i32(n->nin);      /* each operand's zero point */
            a->shift = malloc((size_t)n->nin);
            if (!a->shift) abort();
            for (int j = 0; j < n->nin; j++) {
                int sh;
                nnc_rt_q8_multiplier((double)p->qp[n->in[j]].scale / y.scale, &a->mult[j], &sh);
                if (p->qp[n->in[j]].scale == y.scale && p->qp[n->in[j]].zp == y.zp) a->mult[j] = 0, sh = 0;  /* a copy */
                a->shift[j] = (int8_t)sh;
                a->bias[j] = p->qp[n->in[j]].zp;
            }
        }
        p->qv[out] = q;
        p->qp[out] = y;
        return 0;
    }
    /* float: as it was, on float inputs (dequantized first where they are int8) */
    Node copy = *n;
    for (int j = 0; j < copy.nin; j++)
        if (copy.in[j] < p->nold && g->values[copy.in[j]].role == ROLE_ACT)
            copy.in[j] = need_f(p, copy.in[j], n, 1);
    int k = new_node(p, n->op, copy.in, copy.nin, n);
    Node *nn = &g->nodes[k];
    nn->attr = copy.attr;
    nn->folded = copy.folded;
    nn->tiles = copy.tiles;
    for (int j = 0; j < copy.nout; j++) {
        ir_add_output(g, k, copy.out[j]);
        if (copy.out[j] < p->nold) p->fok[copy.out[j]] = 1;
    }
    return 0;
}

/* a relu or relu6 left as its own clamp (after an add, a pool, at -O0)
 * folded into the op that writes its input, when it is that op's one
 * reader: the clamp then costs nothing and the relu becomes a view */
static void fold_clamps(Graph *g) {
    for (int k = 0; k < g->nnodes; k++) {
        Node *n = &g->nodes[k];
        if (n->dead || n->op != OP_Q8_REQUANTIZE || n->attr.q8->x_scale != n->attr.q8->y_scale ||
            n->attr.q8->x_zp != n->attr.q8->y_zp)
            continue;
        int x = n->in[0], pk = g->values[x].producer;
        if (pk < 0 || ir_consumers(g, x, NULL) != 1 || ir_is_output(g, x) || g->values[x].alias_of >= 0) continue;
        int op = g->nodes[pk].op;
        if (op != OP_Q8_ADD && op != OP_Q8_DENSE && op != OP_Q8_CONV2D && op != OP_Q8_MAX_POOL && op != OP_Q8_AVG_POOL)
            continue;
        Q8 *a = g->nodes[pk].attr.q8;
        if (n->attr.q8->lo > a->lo) a->lo = n->attr.q8->lo;
        if (n->attr.q8->hi < a->hi) a->hi = n->attr.q8->hi;
        n->op = OP_VIEW;
        g->values[n->out[0]].alias_of = x;
    }
}

/* The model's input read only by its quantize (views aside): the int8 value
 * it writes becomes an input of the forward pass (ROLE_INPUT: outside the
 * arena, "x" in the emitted code), and the emitter quantizes the caller's
 * floats before it in NAME_predict, while NAME_predict_int8 hands the
 * caller's int8 rows to it as they are (no copy, no float input buffer). */
static int int8_input(Graph *g) {
    int quant = -1;
    for (int k = 0; k < g->nnodes; k++) {
        const Node *n = &g->nodes[k];
        if (!ir_in_schedule(n, 0)) continue;
        for (int j = 0; j < n->nin; j++) {
            if (ir_storage(g, n->in[j]) != g->input) continue;
            if (n->op == OP_Q8_QUANTIZE && quant < 0) quant = k;
            else if (!op_table[n->op]->alias || ir_is_output(g, n->out[0])) return 0;
        }
    }
    if (quant < 0) return 0;
    int t = g->nodes[quant].out[0];
    if (g->values[t].alias_of >= 0 || ir_is_output(g, t)) return 0;
    g->values[t].role = ROLE_INPUT;
    return 1;
}

/* One output, the dequantization of an int8 value nothing else reads: that
 * value becomes the forward pass's output y (ROLE_LABEL: outside the arena,
 * "y" in the emitted code), the float output shares its storage (no float
 * buffer in the arena), and the dequantize is the emitter's: NAME_predict
 * dequantizes into the caller's floats, NAME_predict_int8 has the int8
 * result written into the caller's buffer directly. */
static void int8_output(Graph *g) {
    if (g->noutputs != 1) return;
    int o = g->outputs[0], dq = -1;
    for (int k = 0; k < g->nnodes; k++)
        if (ir_in_schedule(&g->nodes[k], 0) && g->nodes[k].op == OP_Q8_DEQUANTIZE && g->nodes[k].out[0] == o) dq = k;
    if (dq < 0) return;
    int t = g->nodes[dq].in[0];
    if (g->values[o].alias_of >= 0 || g->values[t].alias_of >= 0 || g->values[t].role != ROLE_ACT ||
        ir_consumers(g, t, NULL) != 1 || ir_is_output(g, t))
        return;
    g->values[o].alias_of = t;
    g->values[t].role = ROLE_LABEL;
}

int quantize_graph(Graph *g, const Build *b) {
    Loc none = { 0, 0, 0, 0 };
    if (g->train.present) {
        diag_error(none, "--quantize int8 makes an inference build: add --inference (quantization-aware "
                   "training is not supported)");
        return -1;
    }
    if (!g->baked) {
        diag_error(none, "--quantize int8 needs the trained weights: --weights FILE");
        return -1;
    }
    if (g->ninputs != 1 || g->values[g->input].dtype != DT_F32) {
        diag_error(none, "--quantize int8: nnc quantizes models with one float input for now");
        return -1;
    }
    float *lo, *hi;
    if (calibrate_ranges(g, b, &lo, &hi)) {
        if (!diag_error_count()) diag_error(none, "--quantize int8: the calibration failed");
        return -1;
    }
    Pass p = { g, g->nvalues, malloc((size_t)g->nvalues * sizeof(int)), calloc((size_t)g->nvalues, sizeof(int)),
               calloc((size_t)g->nvalues, sizeof(QP)), lo, hi, 0 };
    if (!p.qv || !p.fok || !p.qp) abort();
    for (int v = 0; v < g->nvalues; v++) {
        p.qv[v] = -1;
        const Value *x = &g->values[v];
        p.fok[v] = x->role != ROLE_ACT;     /* inputs and parameters are there as they are */
        if (x->role == ROLE_ACT) g->values[v].producer = -1;
    }
    int nold = g->nnodes, status = 0;
    Node *old = malloc((size_t)(nold ? nold : 1) * sizeof *old);
    if (!old) abort();
    memcpy(old, g->nodes, (size_t)nold * sizeof *old);
    g->nnodes = 0;
    for (int i = 0; i < nold && !status; i++)
        if (ir_in_schedule(&old[i], 0)) status = rewrite(&p, &old[i], i);
    for (int k = 0; k < g->noutputs && !status && nold; k++)     /* the outputs float again */
        need_f(&p, g->outputs[k], &old[nold - 1], 0);
    if (!status) fold_clamps(g);
    if (!status && int8_input(g)) int8_output(g);
    if (!status)    /* the float weights the int8 ops replaced */
        for (int v = 0; v < p.nold; v++)
            if (baked(g, v) && !ir_consumers(g, v, NULL)) {
                g->values[v].role = ROLE_ACT;   /* as ir_drop_constant: no block or array holds it */
                g->values[v].constant = 0;
                g->values[v].rank = 0;
            }
    free(old);
    free(p.qv);
    free(p.fok);
    free(p.qp);
    free(lo);
    free(hi);
    return status;
}
