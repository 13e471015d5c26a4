/* attention.c — the Transformer's layers: multi_head_attention (Keras
 * MultiHeadAttention) and position_embedding (keras_hub PositionEmbedding),
 * and the attention softmax the first is partly made of.
 *
 * multi_head_attention(query, value[, key], num_heads = H, key_dim = D, ...)
 * is composed at lowering (attention_lower, called by lower.c) of ops that
 * already have kernels and gradient rules, in Keras' order:
 *   q = dense(query, H*D), k = dense(key, H*D), v = dense(value, H*Dv)
 *       (per step: Keras' EinsumDense kernels (dim, H, D) are these (dim, H*D)
 *       kernels element for element, its biases (H, D) these (H*D))
 *   qh (H, Tq, D), kt (H, D, Tk), vh (H, Tk, Dv): nd_copy transposes
 *   scores (H, Tq, Tk) = qh . kt                  (nd_matmul over the heads)
 *   p = attn_softmax(scores / sqrt(D)[, causal]), dropout(p) while training
 *   ctx (H, Tq, Dv) = p . vh, back to (Tq, H*Dv), then dense(ctx, output dim)
 * Why composed rather than one fused kernel: every piece but the softmax
 * already had its kernel, gradient and tests; the batched products are
 * GEMM calls per (sample, head), the transposes copies of a few KB, so a
 * fused kernel would save little at the sizes a microcontroller or a small
 * classifier uses, and dropout on the weights is the existing layer.  Keras
 * scales the projected query by 1/sqrt(D) before the product; scaling the
 * scores inside the softmax is the same number up to rounding, and needs no
 * constant tensor (.nn models have none).
 *
 * position_embedding(x[, sequence_length][, initializer]) returns a
 * trainable (sequence_length, features) table broadcast over the batch,
 * like keras_hub's layer: the caller adds it (add(x, position_embedding(x))),
 * which is keras.io's TokenAndPositionEmbedding.  sequence_length defaults to
 * x's steps; a longer table uses its first rows, as Keras slices it. */
#include <stdio.h>
#include "ops/rules.h"

/* ---- position_embedding ------------------------------------------------------- */

static const AttrDef pe_attrs[] = {
    { "sequence_length", AT_INT, offsetof(Attrs, units), "0" },     /* 0: the input's steps */
    { "initializer", AT_INIT, offsetof(Attrs, kernel_init), "glorot_uniform" },
};

static int pe_shape(Graph *g, int node) {
    Node *n = &g->nodes[node];
    Value *x = op_in(g, node, 0);
    char buf[96];
    if (op_want_rank(g, node, 2, "(n, steps, features)", "")) return -1;
    if (n->attr.units && n->attr.units < x->dims[0]) {
        diag_error(n->loc, "position_embedding: sequence_length = %d is shorter than its input's %d steps %s",
                   n->attr.units, x->dims[0], ir_shape_str(x, buf, sizeof buf));
        return -1;
    }
    return op_same_shape(g, node);
}

static void pe_params(Graph *g, int node) {
    Node *n = &g->nodes[node];
    const Value *x = op_in(g, node, 0);
    int dims[2] = { n->attr.units ? n->attr.units : x->dims[0], x->dims[1] };
    op_new_param(g, node, "embeddings", 2, dims, n->attr.kernel_init, dims[0], dims[1], 0, 0);
}

/* the output does not depend on x's values: only the table gets a gradient */
static void pe_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    if (g->values[n.in[1]].requires_grad) din[1] = op_bwd(g, OP_POSITION_EMBEDDING_GRAD, dout, 1, &n, n.in[1]);
}

static long pe_flops(const Graph *g, const Node *n) { return ir_size(&g->values[n->out[0]]); }

static void pe_emit(EmitCtx *e, const Node *n) {
    const Graph *g = emit_graph(e);
    emit_line(e, "nnc_rt_position_embedding_forward(%s, %s, %s, %ld); /* %s */", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[1]), emit_times_n(e, g->values[n->out[0]].batched, 1),
              ir_size(&g->values[n->out[0]]), n->layer);
}

static void pe_grad_emit(EmitCtx *e, const Node *n) {
    const Graph *g = emit_graph(e);
    emit_line(e, "nnc_rt_position_embedding_backward(%s, %s, %s, %ld, %ld);", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_times_n(e, g->values[n->in[0]].batched, 1), ir_size(&g->values[n->in[0]]),
              ir_size(&g->values[n->out[0]]));
}

const OpDef op_position_embedding = { .rt = RT_TENSOR, .layer = 1, .ninputs = 1, .attrs = pe_attrs,
                                      .nattrs = COUNT(pe_attrs), .shape = pe_shape, .params = pe_params,
                                      .grad = pe_grad, .flops = pe_flops, .emit = pe_emit };
const OpDef op_position_embedding_grad = INTERNAL(RT_TENSOR, 1, op_no_shape, pe_grad_emit);

/* ---- attn_softmax: softmax(alpha * s) over the last axis, causal when fn --------- */

/* s is (..., tq, tk) per sample: the blocks in front of the last two axes */
static const char *attn_outer(EmitCtx *e, const Value *v) {
    return emit_times_n(e, v->batched, ir_size(v) / ((long)v->dims[v->rank - 2] * v->dims[v->rank - 1]));
}

static void attn_softmax_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    int in[2] = { dout[0], n.out[0] };
    din[0] = op_bwd(g, OP_ATTN_SOFTMAX_GRAD, in, 2, &n, n.in[0]);
}

static long attn_softmax_flops(const Graph *g, const Node *n) { return 5 * ir_size(&g->values[n->out[0]]); }

static void attn_softmax_emit(EmitCtx *e, const Node *n) {
    const Value *s = &emit_graph(e)->values[n->in[0]];
    emit_line(e, "nnc_rt_attn_softmax_forward(%s, %s, %s, %d, %d, %s, %d);", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), attn_outer(e, s), s->dims[s->rank - 2], s->dims[s->rank - 1],
              emit_float(e, n->attr.alpha), n->attr.fn);
}

static void attn_softmax_grad_emit(EmitCtx *e, const Node *n) {
    const Value *s = &emit_graph(e)->values[n->in[0]];
    emit_line(e, "nnc_rt_attn_softmax_backward(%s, %s, %s, %s, %d, %d, %s);", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), attn_outer(e, s), s->dims[s->rank - 2],
              s->dims[s->rank - 1], emit_float(e, n->attr.alpha));
}

const OpDef op_attn_softmax = { .rt = RT_TENSOR, .ninputs = 1, .shape = op_same_shape, .grad = attn_softmax_grad,
                                .flops = attn_softmax_flops, .emit = attn_softmax_emit };
const OpDef op_attn_softmax_grad = { .rt = RT_TENSOR, .ninputs = 2, .shape = op_no_shape,
                                     .flops = attn_softmax_flops, .emit = attn_softmax_grad_emit };

/* ---- multi_head_attention ------------------------------------------------------- */

static const AttrDef mha_attrs[] = {
    { "num_heads", AT_INT, offsetof(Attrs, num_heads), NULL },
    { "key_dim", AT_INT, offsetof(Attrs, key_dim), NULL },
    { "value_dim", AT_INT, offsetof(Attrs, value_dim), "0" },       /* 0: key_dim */
    { "dropout", AT_FLOAT, offsetof(Attrs, rate), "0" },
    { "use_bias", AT_BOOL, offsetof(Attrs, use_bias), "true" },
    { "output_shape", AT_INT, offsetof(Attrs, output_dim), "0" },   /* 0: the query's features */
    { "kernel_initializer", AT_INIT, offsetof(Attrs, kernel_init), "glorot_uniform" },
    { "bias_initializer", AT_INIT, offsetof(Attrs, bias_init), "zeros" },
    { "kernel_regularizer", AT_REG, offsetof(Attrs, kernel_l1), "none" },
    { "bias_regularizer", AT_REG, offsetof(Attrs, bias_l1), "none" },
    { "use_causal_mask", AT_BOOL, offsetof(Attrs, causal), "false" },   /* Keras: an argument of the call */
};

/* never a node: lower.c builds the ops attention_lower composes */
static int mha_shape(Graph *g, int node) {
    diag_error(g->nodes[node].loc, "multi_head_attention is lowered into other ops");
    return -1;
}

static void mha_emit(EmitCtx *e, const Node *n) { (void)n; emit_line(e, "/* multi_head_attention */"); }

const OpDef op_multi_head_attention = { .rt = RT_TENSOR | RT_GEMM, .layer = 1, .ninputs = -1, .attrs = mha_attrs,
                                        .nattrs = COUNT(mha_attrs), .shape = mha_shape, .emit = mha_emit };

/* a layer of the attention (its projections, its dropout), named layer */
static int sub_layer(Graph *g, int op, int x, Attrs a, Loc loc, const char *layer) {
    return shape_layer_node(g, op, &x, 1, &a, loc, layer);
}

/* an N-d node over one sample (space axis 0: the run-time batch), its
 * output a new batched value `name` of per-sample shape dims */
static int nd_node(Graph *g, int op, const int *in, int nin, const Attrs *a, Loc loc, const char *name, int rank,
                   const int *dims) {
    int node = ir_node(g, op, in, nin, loc);
    g->nodes[node].attr = *a;
    g->nodes[node].attr.batched = 1;
    snprintf(g->nodes[node].layer, IR_NAME, "%s", name);   /* a row of its own in --summary */
    int v = ir_value(g, name, ROLE_ACT, 1, rank, dims);
    g->values[v].loc = loc;
    ir_add_output(g, node, v);
    return shape_node(g, node) ? -1 : v;
}

/* x, seen as per-sample shape xd (3 axes), with its axes permuted: y's axis
 * i is x's axis perm[i] */
static int permute3(Graph *g, int x, const int *xd, const int *perm, Loc loc, const char *name) {
    Attrs a;
    memset(&a, 0, sizeof a);
    long xs[3] = { (long)xd[1] * xd[2], xd[2], 1 }, size = (long)xd[0] * xd[1] * xd[2];
    int yd[3];
    nnc_rt_nd *p = &a.nd;
    p->rank = 4;
    p->dims[0] = 1;
    p->ys[0] = p->as[0] = size;
    for (int i = 0; i < 3; i++) {
        yd[i] = xd[perm[i]];
        p->dims[i + 1] = yd[i];
        p->as[i + 1] = xs[perm[i]];
    }
    p->ys[1] = (long)yd[1] * yd[2];
    p->ys[2] = yd[2];
    p->ys[3] = 1;
    return nd_node(g, OP_ND_COPY, &x, 1, &a, loc, name, 3, yd);
}

/* per head h of H: (m x k) a[h] . (k x n) b[h] */
static int heads_matmul(Graph *g, int a, int b, int H, int m, int k, int n, Loc loc, const char *name) {
    Attrs at;
    memset(&at, 0, sizeof at);
    nnc_rt_nd *p = &at.nd;
    p->rank = 2;
    p->dims[0] = 1;
    p->dims[1] = H;
    p->ys[0] = (long)H * m * n; p->ys[1] = (long)m * n;
    p->as[0] = (long)H * m * k; p->as[1] = (long)m * k;
    p->bs[0] = (long)H * k * n; p->bs[1] = (long)k * n;
    at.M = m; at.N = n; at.K = k;
    int in[2] = { a, b }, dims[3] = { H, m, n };
    return nd_node(g, OP_ND_MATMUL, in, 2, &at, loc, name, 3, dims);
}

int attention_lower(Graph *g, const int *in, int nin, const Attrs *a, Loc loc, const char *name) {
    static const char *const roles[3] = { "query", "value", "key" };
    char buf[96], vname[IR_NAME];
    if (nin > 3) {
        diag_error(loc, "multi_head_attention takes query, value and optionally key, got %d inputs", nin);
        return -1;
    }
    for (int i = 0; i < nin; i++) {
        const Value *v = &g->values[in[i]];
        if (v->dtype != DT_F32) {
            diag_error(loc, "'multi_head_attention' takes f32 values, but '%s' holds i32 token ids; "
                       "map them to vectors with embedding(vocab, dim) first", v->name);
            return -1;
        }
        if (!v->batched || v->rank != 2) {
            diag_error(loc, "multi_head_attention expects its %s as (n, steps, features), got %s for '%s'",
                       roles[i], ir_shape_str(v, buf, sizeof buf), v->name);
            return -1;
        }
    }
    int query = in[0], value = in[1], key = nin > 2 ? in[2] : in[1];
    int Tq = g->values[query].dims[0], Tk = g->values[key].dims[0];
    if (g->values[value].dims[0] != Tk) {
        diag_error(loc, "multi_head_attention: key and value need the same steps, got %d and %d", Tk,
                   g->values[value].dims[0]);
        return -1;
    }
    if (!(a->rate >= 0 && a->rate < 1)) {
        diag_error(loc, "multi_head_attention: dropout must be in [0, 1), got %g", a->rate);
        return -1;
    }
    int H = a->num_heads, D = a->key_dim, Dv = a->value_dim ? a->value_dim : a->key_dim;
    int O = a->output_dim ? a->output_dim : g->values[query].dims[1];
    if ((long)H * D > 100000000L || (long)H * Dv > 100000000L) {
        diag_error(loc, "multi_head_attention: num_heads * key_dim is too large");
        return -1;
    }

    /* the projections, Keras' sub-layers query, key, value, attention_output */
    Attrs d = *a;
    d.per_step = 1;
    d.act = NNC_RT_ACT_LINEAR;
    d.units = H * D;
    char layer[IR_NAME];
    ir_format_name(layer, "%s.query", name);
    int q = sub_layer(g, OP_DENSE, query, d, loc, layer);
    ir_format_name(layer, "%s.key", name);
    int k = q < 0 ? -1 : sub_layer(g, OP_DENSE, key, d, loc, layer);
    d.units = H * Dv;
    ir_format_name(layer, "%s.value", name);
    int v = k < 0 ? -1 : sub_layer(g, OP_DENSE, value, d, loc, layer);
    if (v < 0) return -1;

    /* heads first: qh (H, Tq, D), kt (H, D, Tk), vh (H, Tk, Dv) */
    int qd[3] = { Tq, H, D }, kd[3] = { Tk, H, D }, vd[3] = { Tk, H, Dv };
    int head_first[3] = { 1, 0, 2 }, key_t[3] = { 1, 2, 0 };
    ir_format_name(vname, "%s.query_heads", name);
    int qh = permute3(g, q, qd, head_first, loc, vname);
    ir_format_name(vname, "%s.key_heads", name);
    int kt = qh < 0 ? -1 : permute3(g, k, kd, key_t, loc, vname);
    ir_format_name(vname, "%s.value_heads", name);
    int vh = kt < 0 ? -1 : permute3(g, v, vd, head_first, loc, vname);
    if (vh < 0) return -1;

    ir_format_name(vname, "%s.scores", name);
    int s = heads_matmul(g, qh, kt, H, Tq, D, Tk, loc, vname);
    if (s < 0) return -1;
    int node = ir_node(g, OP_ATTN_SOFTMAX, &s, 1, loc);
    g->nodes[node].attr.alpha = (float)(1.0 / sqrt((double)D));
    g->nodes[node].attr.fn = a->causal;
    ir_format_name(g->nodes[node].layer, "%s.softmax", name);
    if (shape_node(g, node)) return -1;
    int p = g->nodes[node].out[0];
    ir_format_name(g->values[p].name, "%s.weights", name);
    if (a->rate > 0) {    /* Keras' dropout on the attention weights */
        Attrs dr;
        memset(&dr, 0, sizeof dr);
        dr.rate = a->rate;
        ir_format_name(layer, "%s.dropout", name);
        p = sub_layer(g, OP_DROPOUT, p, dr, loc, layer);
        if (p < 0) return -1;
    }
    ir_format_name(vname, "%s.context_heads", name);
    int ch = heads_matmul(g, p, vh, H, Tq, Tk, Dv, loc, vname);
    int cd[3] = { H, Tq, Dv }, steps_first[3] = { 1, 0, 2 };
    ir_format_name(vname, "%s.context", name);
    int c = ch < 0 ? -1 : permute3(g, ch, cd, steps_first, loc, vname);
    if (c < 0) return -1;
    int cdims[2] = { Tq, H * Dv };     /* (Tq, H, Dv) as the output projection's (Tq, H*Dv) */
    g->values[c].rank = 2;
    memcpy(g->values[c].dims, cdims, sizeof cdims);

    d.units = O;
    ir_format_name(layer, "%s.attention_output", name);
    int y = sub_layer(g, OP_DENSE, c, d, loc, layer);
    if (y >= 0) snprintf(g->values[y].name, IR_NAME, "%s", name);
    return y;
}
