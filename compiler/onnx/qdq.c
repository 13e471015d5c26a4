/* qdq.c — QDQ-quantized ONNX models (ONNX Runtime's quantize_static,
 * PyTorch's quantizers) on nnc's int8 ops.
 *
 * Such a model is float ops between DequantizeLinear and QuantizeLinear:
 *     DQ(x_q), DQ(w_q), DQ(b_q) -> Conv -> [Relu | Clip] -> Q -> y_q
 * Imported node by node, that is the float composition (map_quant.c):
 * correct, but float speed and size.  Here the importer, reaching the float
 * op at the head of such a group, looks ahead in the graph: when every
 * condition below holds it builds the group as one int8 op whose result is
 * y_q, and the nodes after the head (the activation, the Q) are skipped when
 * reached.  The DQs' float values are still built as the file says; nothing
 * reads them once the group is fused, and onnx_qdq_close drops them (and the
 * float copies of int8 results no float op reads) after the import.
 *
 * Decisions:
 *  - A group is fused only when exactly met, else it stays the composition:
 *    the head's float output and the activation's are read by the next node
 *    of the group only (not graph outputs); every scale and zero point is a
 *    constant (scales float32, scalar but for the weights' per output
 *    channel), types int8/uint8 (the bias int32, zero point 0, scale
 *    float32(x_scale w_scale) exactly, so that its integers are in the sum's
 *    units); weights constant; no control flow in the model (a subgraph may
 *    read a name from outside).  --no-q8-import keeps every group composed.
 *  - Products (Conv 2-D, MatMul, Gemm with alpha = beta = 1, transA = 0) run
 *    as map_quant.c's QLinearConv / QLinearMatMul int8 ops: int32 sums, one
 *    requantization in ONNX's arithmetic (onnx_q8_*), which is what ONNX
 *    Runtime runs for the same group (it fuses QDQ the same way).  The float
 *    composition rounds the float sum instead, so the two may differ by one
 *    in the output integer where the real result is within rounding of a
 *    half; tests/onnx_qdq.py counts it.
 *  - Relu and Clip become the output clamp: Q is monotone, so
 *    Q(clip(r, a, b)) = clamp(Q(r), Q(a), Q(b)) with Q(a) computed as the Q
 *    node would; exact.
 *  - Data movement on quantized values with the same scale and zero point
 *    on both sides (MaxPool, Reshape, Flatten, Transpose, Squeeze,
 *    Unsqueeze, Concat) is exact on the integers: MaxPool runs on the int8
 *    kernel where its window is plain, the others as their builders on the
 *    integers (held in floats); a Flatten of a convolution's NHWC result
 *    stays int8 and the next product reads its weights' rows in that order.
 *  - Add of two quantized tensors of one shape runs as the int8 add
 *    (TFLite's fixed-point rescale, runtime/nnc_rt_q8.h): it may differ by
 *    one from the float composition, and from ONNX Runtime's QLinearAdd, on
 *    near-halves.
 *  - Not fused (left composed): AveragePool and GlobalAveragePool (nnc's
 *    int8 average rounds halves away from zero, ONNX Runtime's to even:
 *    exact halves are common there), Softmax, per-channel activation scales,
 *    16-bit types.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx.h"

#define TY(x) ONNX__TENSOR_PROTO__DATA_TYPE__##x

static int has_subgraph(const Onnx__NodeProto *n) {
    for (size_t i = 0; i < n->n_attribute; i++)
        if (n->attribute[i]->g || n->attribute[i]->n_graphs) return 1;
    return 0;
}

void onnx_qdq_open(Importer *im, const Onnx__GraphProto *gp) {
    im->qdq = NULL;
    if ((im->shapes && im->shapes->no_q8) || im->trainable) return;   /* int8 ops have no gradient */
    int dq = 0;
    for (size_t i = 0; i < gp->n_node; i++) {
        if (has_subgraph(gp->node[i])) return;
        dq |= !strcmp(gp->node[i]->op_type, "DequantizeLinear");
    }
    if (dq) im->qdq = gp;
}

int onnx_qdq_absorbed(Importer *im, const Onnx__NodeProto *n) {
    for (int i = 0; i < im->nabsorbed; i++)
        if (im->absorbed[i] == n) return 1;
    return 0;
}

static void absorb(Importer *im, const Onnx__NodeProto *n) {
    if (im->nabsorbed == im->absorbed_cap) {
        im->absorbed_cap = im->absorbed_cap ? 2 * im->absorbed_cap : 16;
        im->absorbed = realloc(im->absorbed, (size_t)im->absorbed_cap * sizeof *im->absorbed);
        if (!im->absorbed) abort();
    }
    im->absorbed[im->nabsorbed++] = n;
}

/* the one node of the default domain reading name, when it is the only reader and name is no graph output */
static const Onnx__NodeProto *only_reader(const Importer *im, const char *name) {
    const Onnx__GraphProto *gp = im->qdq;
    const Onnx__NodeProto *r = NULL;
    if (!name || !*name) return NULL;
    for (size_t i = 0; i < gp->n_output; i++)
        if (!strcmp(gp->output[i]->name, name)) return NULL;
    for (size_t i = 0; i < gp->n_node; i++)
        for (size_t k = 0; k < gp->node[i]->n_input; k++)
            if (!strcmp(gp->node[i]->input[k], name)) {
                if (r) return NULL;
                r = gp->node[i];
            }
    return r && (!r->domain || !*r->domain || !strcmp(r->domain, "ai.onnx")) ? r : NULL;
}

static int scalar_const(const Tensor *t) {
    return t && t->data && onnx_numel(t->dims, t->rank) == 1 && t->rank <= 1;
}

static int f32(const Tensor *t) { return !t->dtype || t->dtype == TY(FLOAT); }

/* the end of a group: QuantizeLinear after the head's output `out`, through
 * a Relu or Clip at most; its y_scale, y_zero_point (a made zero when absent)
 * and the clamp the activation adds, in the output type's integers */
typedef struct Tail {
    const Onnx__NodeProto *act, *q;
    Tensor *ys, *yzp;
    int32_t lo, hi;
} Tail;

/* Q(v) of the tail's Q node, in float32 as QuantizeLinear computes it, unsaturated */
static double q_of(const Tail *t, float v) {
    return (double)nearbyintf(v / t->ys->data[0]) + (double)t->yzp->data[0];
}

static int tail_of(Ctx *c, const char *out, Tail *t) {
    Importer *im = c->im;
    memset(t, 0, sizeof *t);
    t->lo = -32768, t->hi = 32767;
    const Onnx__NodeProto *n = only_reader(im, out);
    float a = -INFINITY, b = INFINITY;
    if (n && (!strcmp(n->op_type, "Relu") || !strcmp(n->op_type, "Clip"))) {
        t->act = n;
        if (n->n_input < 1 || strcmp(n->input[0], out)) return 0;
        if (!strcmp(n->op_type, "Relu")) {
            a = 0;
        } else if (im->opset < 11) {
            a = onnx_attr_f(n, "min", -INFINITY);
            b = onnx_attr_f(n, "max", INFINITY);
        } else {
            for (size_t i = 1; i < n->n_input && i < 3; i++) {
                if (!*n->input[i]) continue;
                Tensor *v = onnx_find(im, n->input[i]);
                if (!scalar_const(v) || !f32(v)) return 0;
                *(i == 1 ? &a : &b) = v->data[0];
            }
        }
        if (isnan(a) || isnan(b) || a > b) return 0;
        n = only_reader(im, n->output[0]);
    }
    if (!n || strcmp(n->op_type, "QuantizeLinear") || n->n_input < 2 || n->n_output != 1 ||
        strcmp(n->input[0], t->act ? t->act->output[0] : out) || onnx_attr_i(n, "block_size", 0))
        return 0;
    t->q = n;
    t->ys = onnx_find(im, n->input[1]);
    t->yzp = n->n_input > 2 && *n->input[2] ? onnx_find(im, n->input[2]) : NULL;
    if (!scalar_const(t->ys) || !f32(t->ys) || !(t->ys->data[0] > 0) || !isfinite(t->ys->data[0])) return 0;
    if (t->yzp && !scalar_const(t->yzp)) return 0;
    int32_t off;
    int type = t->yzp ? t->yzp->dtype : (int)onnx_attr_i(n, "output_dtype", 0);
    if (!onnx_q8_storage(type ? type : TY(UINT8), &off)) return 0;
    if (!t->yzp) {
        t->yzp = onnx_scalar(c, "y_zero_point", 0.0f);
        t->yzp->dtype = type ? type : TY(UINT8);
    }
    if (a > -INFINITY) { double q = q_of(t, a); if (q > t->lo) t->lo = q > 32767 ? 32767 : (int32_t)q; }
    if (b < INFINITY) { double q = q_of(t, b); if (q < t->hi) t->hi = q < -32768 ? -32768 : (int32_t)q; }
    return 1;
}

/* x made by a DequantizeLinear of integers (of type `type` when nonzero,
 * else int8/uint8) that are computed (or, const_ok, constant), with a scale
 * of float32 (per tensor unless per_axis) and a zero point; the zero point as
 * a tensor (a made zero when absent) in *zp */
static int dq_of(Ctx *c, const Tensor *x, int type, int const_ok, int per_axis, Tensor **zp) {
    int32_t off;
    if (!x || !x->dq_x || !x->dq_scale) return 0;
    const Tensor *q = x->dq_x, *s = x->dq_scale, *z = x->dq_zp;
    if ((q->data != NULL) != const_ok || (type ? q->dtype != type : !onnx_q8_storage(q->dtype, &off))) return 0;
    if (!s->data || !f32(s) || !(scalar_const(s) || (per_axis && s->rank == 1))) return 0;
    for (long i = 0; i < onnx_numel(s->dims, s->rank); i++)
        if (!(s->data[i] > 0) || !isfinite(s->data[i])) return 0;
    if (z && (!z->data || z->dtype != q->dtype || onnx_numel(z->dims, z->rank) != onnx_numel(s->dims, s->rank)))
        return 0;
    if (z) {
        *zp = (Tensor *)z;
    } else {
        char name[40];
        snprintf(name, sizeof name, "zero_point_%d", q->dtype);
        *zp = onnx_scalar(c, name, 0.0f);
        (*zp)->dtype = q->dtype;
        if (per_axis && !scalar_const(s)) {     /* one per channel, as the scale */
            long n = onnx_numel(s->dims, s->rank);
            float *d = calloc((size_t)n, sizeof *d);
            if (!d) abort();
            snprintf(name, sizeof name, "%s/zero_points", onnx_out_name(c, 0));
            *zp = onnx_add_constant(c->im, name, 1, &n, d);
            (*zp)->dtype = q->dtype;
        }
    }
    return 1;
}

/* the node as the fused group's: its attributes, the tail's output, op type `as` for messages */
static void group_node(Ctx *c, Onnx__NodeProto *node, const Tail *t, const char *as) {
    *node = *c->n;
    node->op_type = (char *)as;
    node->output = t->q->output;
    node->n_output = 1;
}

static void fused(Ctx *c, const Tail *t) {
    if (t->act) absorb(c->im, t->act);
    absorb(c->im, t->q);
    c->im->q8_twins++;
}

/* a bias DQ(b_q int32) in the sum's units: zero point 0, scale x_scale w_scale[j] (float32) exactly */
static Tensor *bias_of(Ctx *c, const Tensor *b, float xs, const Tensor *ws, long m) {
    Tensor *zp;
    if (!dq_of(c, b, TY(INT32), 1, 1, &zp) || onnx_numel(b->dq_x->dims, b->dq_x->rank) != m) return NULL;
    const Tensor *s = b->dq_scale;
    long ns = onnx_numel(s->dims, s->rank), nw = onnx_numel(ws->dims, ws->rank);
    if ((ns != 1 && ns != m) || (nw != 1 && nw != m) || (ns == m && m > 1 && b->dq_axis != 0)) return NULL;
    for (long j = 0; j < m; j++) {
        float want = xs * ws->data[nw == 1 ? 0 : j];
        if (s->data[ns == 1 ? 0 : j] != want || zp->data[ns == 1 ? 0 : j] != 0) return NULL;
    }
    return (Tensor *)b->dq_x;
}

/* (k, n) -> (n, k) of a constant, keeping its type */
static Tensor *transposed(Ctx *c, const Tensor *w) {
    long k = w->dims[0], n = w->dims[1], dims[2] = { n, k };
    float *d = malloc((size_t)(k * n > 0 ? k * n : 1) * sizeof *d);
    if (!d) abort();
    for (long i = 0; i < k; i++)
        for (long j = 0; j < n; j++) d[j * k + i] = w->data[i * n + j];
    char name[170];
    Tensor *t = onnx_add_constant(c->im, onnx_part(c, "b_t", name), 2, dims, d);
    t->dtype = w->dtype;
    return t;
}

static Tensor *max_pool(Ctx *c) { return onnx_pool(c, 0); }
static Tensor *squeeze(Ctx *c) { return onnx_squeeze(c, 0); }
static Tensor *unsqueeze(Ctx *c) { return onnx_squeeze(c, 1); }

/* Conv, MatMul, Gemm of DQ'd operands, then the tail: a QLinear int8 op */
static int fuse_product(Ctx *c, int conv, int gemm) {
    Tensor *x = c->in[0], *w = c->in[1], *b = c->nin > 2 ? c->in[2] : NULL, *xzp, *wzp;
    if (!dq_of(c, x, 0, 0, 0, &xzp) || !dq_of(c, w, 0, 1, 1, &wzp)) return 0;
    Tensor *wq = (Tensor *)w->dq_x, *ws = (Tensor *)w->dq_scale;
    if (wq->rank != (conv ? 4 : 2)) return 0;
    int trans_b = gemm && onnx_attr_i(c->n, "transB", 0);
    if (gemm && (onnx_attr_i(c->n, "transA", 0) || onnx_attr_f(c->n, "alpha", 1.0f) != 1.0f ||
                 onnx_attr_f(c->n, "beta", 1.0f) != 1.0f || x->rank != 2))
        return 0;
    long m = conv || trans_b ? wq->dims[0] : wq->dims[1];
    int w_axis = conv || trans_b ? 0 : 1;
    if (!scalar_const(ws) && w->dq_axis != w_axis) return 0;    /* per output channel only */
    Tensor *bq = NULL;
    if (b && (conv || gemm) && !(bq = bias_of(c, b, x->dq_scale->data[0], ws, m))) return 0;
    Tail t;
    if (!tail_of(c, c->n->output[0], &t)) return 0;
    Onnx__NodeProto node;
    group_node(c, &node, &t, conv ? "QLinearConv (a QDQ group)" : "QLinearMatMul (a QDQ group)");
    Ctx q = *c;
    q.n = &node;
    if (trans_b) wq = transposed(&q, wq);
    Tensor *in[9] = { (Tensor *)x->dq_x, (Tensor *)x->dq_scale, xzp, wq, ws, wzp, t.ys, t.yzp, bq };
    memcpy(q.in, in, sizeof in);
    q.nin = bq ? 9 : 8;
    Tensor *y = conv ? onnx_q8_conv(&q, t.lo, t.hi) : onnx_q8_matmul(&q, t.lo, t.hi);
    if (!y) return 0;
    fused(c, &t);
    return 1;
}

/* the same scale, zero point and type on a DQ and the tail's Q: the integers pass through unchanged */
static int same_params(const Tensor *x, const Tensor *xzp, const Tail *t) {
    return x->dq_scale->data[0] == t->ys->data[0] && xzp->data[0] == t->yzp->data[0] &&
           x->dq_x->dtype == t->yzp->dtype;
}

/* MaxPool (2-D, a plain window) on the int8 kernel; 0 where its attributes ask for more */
static Tensor *q8_maxpool(Ctx *q, Tensor *xq, const Tail *t) {
    long k[2], s[2] = { 1, 1 }, p[4] = { 0, 0, 0, 0 }, d[2] = { 1, 1 };
    const Onnx__NodeProto *n = q->n;
    const Onnx__AttributeProto *ap = onnx_attr(n, "auto_pad");
    if (xq->rank != 4 || onnx_attr_ints(n, "kernel_shape", k, 2) != 2 || onnx_attr_i(n, "ceil_mode", 0) ||
        onnx_attr_i(n, "storage_order", 0) || (ap && ap->s.len && !onnx_attr_is(n, "auto_pad", "NOTSET")))
        return NULL;
    int ns = onnx_attr_ints(n, "strides", s, 2), np = onnx_attr_ints(n, "pads", p, 4);
    int nd = onnx_attr_ints(n, "dilations", d, 2);
    if ((ns != -1 && ns != 2) || (np != -1 && np != 4) || (nd != -1 && nd != 2) || d[0] != 1 || d[1] != 1)
        return NULL;
    for (int i = 0; i < 2; i++)
        if (k[i] < 1 || s[i] < 1 || p[i] < 0 || p[i + 2] < 0 || p[i] >= k[i] || p[i + 2] >= k[i] ||
            xq->dims[2 + i] + p[i] + p[i + 2] < k[i] || k[i] > 65535 || s[i] > 65535)
            return NULL;
    int32_t off;
    onnx_q8_storage(xq->dtype, &off);
    Tensor *x8 = onnx_q8_input(q, xq, off, Q8_NHWC);
    if (!x8) return NULL;
    Attrs a;
    memset(&a, 0, sizeof a);
    nnc_rt_pool2d *g = &a.pool;
    g->h = (int)xq->dims[2]; g->w = (int)xq->dims[3]; g->c = (int)xq->dims[1];
    g->kh = (int)k[0]; g->kw = (int)k[1]; g->sh = (int)s[0]; g->sw = (int)s[1];
    g->pt = (int)p[0]; g->pl = (int)p[1];
    g->oh = (int)((xq->dims[2] + p[0] + p[2] - k[0]) / s[0] + 1);
    g->ow = (int)((xq->dims[3] + p[1] + p[3] - k[1]) / s[1] + 1);
    a.samples = (int)xq->dims[0];
    a.q8 = q8_new(q->im->g);
    a.q8->lo = (t->lo > (off ? 0 : -128) ? t->lo : (off ? 0 : -128)) + off;
    a.q8->hi = (t->hi < (off ? 255 : 127) ? t->hi : (off ? 255 : 127)) + off;
    long dims[4] = { xq->dims[0], g->oh, g->ow, xq->dims[1] }, nchw[4] = { xq->dims[0], xq->dims[1], g->oh, g->ow };
    char name[170];
    Tensor *y8 = onnx_node_out(q->im, OP_Q8_MAX_POOL, &x8, 1, &a, onnx_part(q, "int8_out", name), 4, dims);
    if (!y8) return NULL;
    q->im->g->values[y8->value].dtype = DT_I8;
    return onnx_q8_output(q, y8, off, xq->dtype, Q8_NHWC, 4, nchw);
}

/* the twin of a data movement's result: a view of its input's (Reshape and
 * Flatten of a twin laid out as the tensor; Flatten at axis 1 of an NHWC
 * one, which the next product reads in that order) */
static void moved_twin(Ctx *q, const Onnx__NodeProto *n, const Tensor *xq, Tensor *y) {
    const Tensor *x8 = xq->q8;
    int flat = !strcmp(n->op_type, "Flatten");
    if (!x8 || (!flat && strcmp(n->op_type, "Reshape"))) return;
    int layout;
    if (xq->q8_layout == Q8_SAME) layout = Q8_SAME;
    else if (xq->q8_layout == Q8_NHWC && flat && onnx_attr_i(n, "axis", 1) == 1 && y->rank == 2) layout = Q8_FLAT_NHWC;
    else return;
    Attrs a;
    memset(&a, 0, sizeof a);
    long count = onnx_numel(y->dims, y->rank);
    nd_dense(&a.nd, 1, &count);
    a.nd.as[0] = 1;
    char name[170];
    Tensor *in = (Tensor *)x8;
    Tensor *v = onnx_node_out(q->im, OP_VIEW, &in, 1, &a, onnx_part(q, "int8_view", name), y->rank, y->dims);
    if (!v) return;
    q->im->g->values[v->value].dtype = DT_I8;
    q->im->g->values[v->value].alias_of = x8->value;
    y->q8 = v;
    y->q8_off = xq->q8_off;
    y->q8_layout = layout;
    if (layout == Q8_FLAT_NHWC)
        for (int i = 0; i < 3; i++) y->q8_chw[i] = xq->dims[1 + i];
}

/* data movement of DQ'd values to a Q of the same parameters: the integers moved */
static int fuse_move(Ctx *c, Tensor *(*build)(Ctx *), int pool, int all_inputs) {
    Tensor *zp[CTX_INPUTS];
    int nq = all_inputs ? c->nin : 1;
    for (int i = 0; i < nq; i++)
        if (!dq_of(c, c->in[i], 0, 0, 0, &zp[i])) return 0;
    if (pool && c->n->n_output > 1 && *c->n->output[1]) return 0;     /* MaxPool's indices */
    Tail t;
    if (!tail_of(c, c->n->output[0], &t)) return 0;
    if (t.act && !pool) return 0;
    for (int i = 0; i < nq; i++)
        if (!same_params(c->in[i], zp[i], &t)) return 0;
    Onnx__NodeProto node;
    group_node(c, &node, &t, c->n->op_type);
    Ctx q = *c;
    q.n = &node;
    for (int i = 0; i < nq; i++) q.in[i] = (Tensor *)c->in[i]->dq_x;
    Tensor *y = pool ? q8_maxpool(&q, q.in[0], &t) : NULL;
    if (!y && !t.act) {     /* the float builder on the integers: exact */
        int errors = diag_error_count();
        y = build(&q);
        if (!y || diag_error_count() != errors) return 0;
        y->dtype = q.in[0]->dtype;
        moved_twin(&q, c->n, q.in[0], y);
    }
    if (!y) return 0;
    fused(c, &t);
    return 1;
}

/* Add of two DQ'd tensors of one shape: the int8 add */
static int fuse_add(Ctx *c) {
    Tensor *a = c->in[0], *b = c->in[1], *azp, *bzp;
    if (!dq_of(c, a, 0, 0, 0, &azp) || !dq_of(c, b, 0, 0, 0, &bzp) || a->rank != b->rank ||
        memcmp(a->dims, b->dims, (size_t)a->rank * sizeof *a->dims))
        return 0;
    Tail t;
    if (!tail_of(c, c->n->output[0], &t)) return 0;
    Tensor *aq = (Tensor *)a->dq_x, *bq = (Tensor *)b->dq_x;
    float as = a->dq_scale->data[0], bs = b->dq_scale->data[0], ys = t.ys->data[0];
    /* the int8 add's constants (ops/quant.c) in range: each input scale within 2^20 of the output's */
    double twice = 2.0 * (as > bs ? as : bs), top = twice / (1048576.0 * ys);
    if (!(top < 1.0) || !(top > 0x1p-31) || !(as / twice > 0x1p-31) || !(bs / twice > 0x1p-31)) return 0;
    int32_t a_off, b_off, y_off;
    onnx_q8_storage(aq->dtype, &a_off);
    onnx_q8_storage(bq->dtype, &b_off);
    onnx_q8_storage(t.yzp->dtype, &y_off);
    int layout = aq->rank == 4 && aq->q8 && aq->q8_layout == Q8_NHWC && bq->q8 && bq->q8_layout == Q8_NHWC ?
                 Q8_NHWC : Q8_SAME;
    Onnx__NodeProto node;
    group_node(c, &node, &t, "QLinearAdd (a QDQ group)");
    Ctx q = *c;
    q.n = &node;
    Tensor *in[2] = { onnx_q8_input(&q, aq, a_off, layout), NULL };
    in[1] = in[0] ? onnx_q8_input(&q, bq, b_off, layout) : NULL;
    if (!in[1]) return 0;
    Attrs at;
    memset(&at, 0, sizeof at);
    Q8 *p = at.q8 = q8_new(c->im->g);
    p->x_scale = as, p->x_zp = (int32_t)azp->data[0] + a_off;
    p->b_scale = bs, p->b_zp = (int32_t)bzp->data[0] + b_off;
    p->y_scale = ys, p->y_zp = (int32_t)t.yzp->data[0] + y_off;
    int32_t lo = y_off ? 0 : -128, hi = y_off ? 255 : 127;
    p->lo = (t.lo > lo ? t.lo : lo) + y_off;
    p->hi = (t.hi < hi ? t.hi : hi) + y_off;
    char name[170];
    Tensor *y8 = onnx_node_out(c->im, OP_Q8_ADD, in, 2, &at, onnx_part(&q, "int8_out", name), in[0]->rank,
                               in[0]->dims);
    if (!y8) return 0;
    c->im->g->values[y8->value].dtype = DT_I8;
    if (!onnx_q8_output(&q, y8, y_off, t.yzp->dtype, layout, aq->rank, aq->dims)) return 0;
    fused(c, &t);
    return 1;
}

int onnx_qdq_fuse(Ctx *c) {
    const char *op = c->n->op_type;
    if (!c->im->qdq || c->im->prefix || (c->n->domain && *c->n->domain && strcmp(c->n->domain, "ai.onnx")))
        return 0;
    if (!strcmp(op, "Conv")) return c->in[0]->rank == 4 && fuse_product(c, 1, 0);
    if (!strcmp(op, "MatMul")) return c->nin == 2 && fuse_product(c, 0, 0);
    if (!strcmp(op, "Gemm")) return fuse_product(c, 0, 1);
    if (!strcmp(op, "Add")) return fuse_add(c);
    if (!strcmp(op, "MaxPool")) return fuse_move(c, max_pool, 1, 0);
    if (!strcmp(op, "Reshape")) return fuse_move(c, onnx_reshape, 0, 0);
    if (!strcmp(op, "Flatten")) return fuse_move(c, onnx_flatten, 0, 0);
    if (!strcmp(op, "Transpose")) return fuse_move(c, onnx_transpose, 0, 0);
    if (!strcmp(op, "Squeeze")) return fuse_move(c, squeeze, 0, 0);
    if (!strcmp(op, "Unsqueeze")) return fuse_move(c, unsqueeze, 0, 0);
    if (!strcmp(op, "Concat")) return fuse_move(c, onnx_concat, 0, 1);
    return 0;
}

/* the nodes nothing reads (the fused groups' DQs, the float copies of int8
 * results no float op took), last to first so that a chain goes at once;
 * only in a model where int8 values were read through their twins */
void onnx_qdq_close(Importer *im) {
    free(im->absorbed);
    im->absorbed = NULL;
    im->nabsorbed = im->absorbed_cap = 0;
    if (!im->q8_twins) return;
    Graph *g = im->g;
    int *reads = calloc((size_t)g->nvalues + 1, sizeof *reads);
    if (!reads) abort();
    for (int i = 0; i < g->nnodes; i++)
        if (!g->nodes[i].dead)
            for (int j = 0; j < g->nodes[i].nin; j++) reads[g->nodes[i].in[j]]++;
    for (int i = g->nnodes - 1; i >= 0; i--) {
        Node *n = &g->nodes[i];
        if (n->dead) continue;
        int used = 0;
        for (int k = 0; k < n->nout; k++) used |= ir_is_output(g, n->out[k]) || reads[n->out[k]] > 0;
        if (used) continue;
        n->dead = 1;
        for (int k = 0; k < n->nout; k++) g->values[n->out[k]].producer = -1;
        for (int j = 0; j < n->nin; j++) reads[n->in[j]]--;
    }
    free(reads);
}
