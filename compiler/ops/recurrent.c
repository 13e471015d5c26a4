/* recurrent.c — sequences: embedding, the simple_rnn/lstm/gru layers (the
 * math is runtime/rnn.c's), their gradient nodes, the bidirectional and
 * time_distributed wrappers (lower.c expands them from the layer inside),
 * and the imported LSTM/GRU/RNN (nd_rnn).
 *
 * Keras' mask (embedding(mask_zero = true); compiler/lower_mask.c decides
 * who takes it): a masked recurrent layer or masked_mean has the token ids
 * as its LAST input (after the parameters) and attr.mask_zero set; the
 * runtime reads "id 0 = padding" straight from them, so no mask tensor
 * exists.  The ids are i32 and get no gradient. */
#include "ops/rules.h"

/* ---- embedding(vocab, dim): a table lookup per token ------------------------- */

static const AttrDef embedding_attrs[] = {
    { "vocab", AT_INT, offsetof(Attrs, vocab), NULL },
    { "dim", AT_INT, offsetof(Attrs, units), NULL },
    { "embeddings_initializer", AT_INIT, offsetof(Attrs, kernel_init), "uniform" },
    { "embeddings_regularizer", AT_REG, offsetof(Attrs, kernel_l1), "none" },
    { "mask_zero", AT_BOOL, offsetof(Attrs, mask_zero), "false" },   /* lower_mask.c carries it */
};

static int embedding_shape(Graph *g, int node) {
    Node *n = &g->nodes[node];
    Value *x = op_in(g, node, 0);
    char buf[96];
    if (x->dtype != DT_I32 || !x->batched || x->rank + 1 > IR_MAX_RANK) {
        diag_error(n->loc, "embedding takes token ids, an input like 'input x: i32[20]'; got f32 %s",
                   ir_shape_str(x, buf, sizeof buf));
        return -1;
    }
    int dims[IR_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    dims[x->rank] = n->attr.units;
    return op_make_out(g, node, 1, x->rank + 1, dims);
}

static void embedding_params(Graph *g, int node) {
    Attrs a = g->nodes[node].attr;
    int dims[2] = { a.vocab, a.units };
    op_new_param(g, node, "embeddings", 2, dims, a.kernel_init, a.vocab, a.units, a.kernel_l1, a.kernel_l2);
}

static void embedding_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    int in[2] = { dout[0], n.in[0] };
    din[1] = op_bwd(g, OP_EMBEDDING_GRAD, in, 2, &n, n.in[1]);
}

static void embedding_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_embedding_forward(%s, %s, %s, %s, %d, %d); /* %s */", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), emit_count(e, n->in[0]), n->attr.vocab,
              n->attr.units, n->layer);
}

static void embedding_grad_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_embedding_backward(%s, %s, %s, %s, %d, %d);", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), emit_count(e, n->in[1]), n->attr.vocab,
              n->attr.units);
}

/* ---- recurrent layers: simple_rnn, lstm, gru (runtime/rnn.c has the math) ------
 * Outputs: y, then (return_state) h and, for lstm, c, then the workspace the
 * forward pass saves for back-propagation through time. */

/* in Keras' order, so that positional arguments mean what they mean in Keras:
 * units, activation, [recurrent_activation], use_bias, the initializers,
 * [unit_forget_bias], the regularizers, dropout, recurrent_dropout,
 * return_sequences, return_state, stateful, unroll, [reset_after] (Keras'
 * constraints, seed, go_backwards and the like sit between them, taken by
 * keyword at the one value nnc computes: lower_keras.c) */
#define RNN_INIT \
    { "use_bias", AT_BOOL, offsetof(Attrs, use_bias), "true" }, \
    { "kernel_initializer", AT_INIT, offsetof(Attrs, kernel_init), "glorot_uniform" }, \
    { "recurrent_initializer", AT_INIT, offsetof(Attrs, recurrent_init), "orthogonal" }, \
    { "bias_initializer", AT_INIT, offsetof(Attrs, bias_init), "zeros" }
#define RNN_TAIL \
    { "kernel_regularizer", AT_REG, offsetof(Attrs, kernel_l1), "none" }, \
    { "recurrent_regularizer", AT_REG, offsetof(Attrs, rec_l1), "none" }, \
    { "bias_regularizer", AT_REG, offsetof(Attrs, bias_l1), "none" }, \
    { "dropout", AT_FLOAT, offsetof(Attrs, rate), "0" }, \
    { "recurrent_dropout", AT_FLOAT, offsetof(Attrs, rec_dropout), "0" }, \
    { "return_sequences", AT_BOOL, offsetof(Attrs, return_sequences), "false" }, \
    { "return_state", AT_BOOL, offsetof(Attrs, return_state), "false" }, \
    { "stateful", AT_BOOL, offsetof(Attrs, stateful), "false" }, \
    { "unroll", AT_BOOL, offsetof(Attrs, unroll), "false" }
/* LSTM's and GRU's activations: what the cells compute (tanh, sigmoid), checked */
#define GATED_ACTS \
    { "activation", AT_ACT, offsetof(Attrs, act), "tanh" }, \
    { "recurrent_activation", AT_ACT, offsetof(Attrs, rec_act), "sigmoid" }
#define UNITS { "units", AT_INT, offsetof(Attrs, units), NULL }

static const AttrDef simple_rnn_attrs[] = {
    UNITS, { "activation", AT_ACT, offsetof(Attrs, act), "tanh" }, RNN_INIT, RNN_TAIL };
static const AttrDef lstm_attrs[] = {
    UNITS, GATED_ACTS, RNN_INIT, { "unit_forget_bias", AT_BOOL, offsetof(Attrs, unit_forget_bias), "true" },
    RNN_TAIL };
static const AttrDef gru_attrs[] = {
    UNITS, GATED_ACTS, RNN_INIT, RNN_TAIL, { "reset_after", AT_BOOL, offsetof(Attrs, reset_after), "true" } };

static int rnn_shape(Graph *g, int node) {
    Node *n = &g->nodes[node];
    const char *name = op_name(n->op);
    if (op_want_rank(g, node, 2, "(n, steps, features)",
                  "; sequences are 'input x: f32[steps, features]', or come from embedding"))
        return -1;
    int cell = n->op == OP_LSTM ? NNC_RT_CELL_LSTM : n->op == OP_GRU ? NNC_RT_CELL_GRU : NNC_RT_CELL_SIMPLE;
    if (cell == NNC_RT_CELL_SIMPLE && n->attr.act != NNC_RT_ACT_LINEAR && n->attr.act != NNC_RT_ACT_RELU &&
        n->attr.act != NNC_RT_ACT_SIGMOID &&
        n->attr.act != NNC_RT_ACT_TANH) {   /* what the cell kernels differentiate (runtime/rnn.c) */
        diag_error(n->loc, "%s: %s is not a state activation; use tanh, relu, sigmoid or linear", name,
                   act_name(n->attr.act));
        return -1;
    }
    /* Keras' arguments of which nnc computes one value (an imported layer has them zeroed) */
    int imported = n->attr.batched || n->attr.samples;
    const char *only = NULL;
    if (cell != NNC_RT_CELL_SIMPLE && !imported && n->attr.act != NNC_RT_ACT_TANH) only = "activation = tanh";
    else if (cell != NNC_RT_CELL_SIMPLE && !imported && n->attr.rec_act != NNC_RT_ACT_SIGMOID)
        only = "recurrent_activation = sigmoid";
    else if (cell == NNC_RT_CELL_GRU && !imported && !n->attr.reset_after) only = "reset_after = true";
    else if (n->attr.rate != 0 || n->attr.rec_dropout != 0) only = "dropout = 0 and recurrent_dropout = 0";
    else if (n->attr.stateful) only = "stateful = false";
    if (only) {
        diag_error(n->loc, "%s: nnc computes %s only", name, only);
        return -1;
    }
    Value *x = op_in(g, node, 0);
    nnc_rt_rnn p = { x->dims[0], x->dims[1], n->attr.units, cell,
                     cell == NNC_RT_CELL_SIMPLE ? n->attr.act : NNC_RT_ACT_LINEAR,   /* the gated cells' are fixed */
                     n->attr.return_sequences, n->attr.reverse };
    n->attr.rnn = p;
    int seq[2] = { p.steps, p.units }, work = (int)NNC_RT_RNN_WORK(&p);
    op_make_out(g, node, 1, p.return_sequences ? 2 : 1, p.return_sequences ? seq : seq + 1);
    n = &g->nodes[node];
    n->attr.outputs = 1;
    if (n->attr.return_state) {
        op_extra_out(g, node, 1, "h", 1, 1, &p.units);
        if (p.cell == NNC_RT_CELL_LSTM) op_extra_out(g, node, 2, "c", 1, 1, &p.units);
        g->nodes[node].attr.outputs = p.cell == NNC_RT_CELL_LSTM ? 3 : 2;
    }
    op_extra_out(g, node, g->nodes[node].attr.outputs, "work", 1, 1, &work);
    return 0;
}

static void rnn_params(Graph *g, int node) {
    Attrs a = g->nodes[node].attr;
    const nnc_rt_rnn *p = &a.rnn;
    int G = NNC_RT_RNN_GATES(p), U = p->units;
    int kd[2] = { p->features, G }, rd[2] = { U, G }, bd[2] = { 2, G };
    op_new_param(g, node, "kernel", 2, kd, a.kernel_init, p->features, G, a.kernel_l1, a.kernel_l2);
    op_new_param(g, node, "recurrent_kernel", 2, rd, a.recurrent_init, U, G, a.rec_l1, a.rec_l2);
    if (!a.use_bias) return;
    int lstm_forget = p->cell == NNC_RT_CELL_LSTM && a.unit_forget_bias;
    if (p->cell == NNC_RT_CELL_GRU)   /* reset_after: input and recurrent biases */
        op_new_param(g, node, "bias", 2, bd, a.bias_init, 0, 0, a.bias_l1, a.bias_l2);
    else
        op_new_param(g, node, "bias", 1, &G, lstm_forget ? NNC_RT_INIT_UNIT_FORGET : a.bias_init, U, 0, a.bias_l1,
                     a.bias_l2);
}

/* a layer's bias input, or -1: inputs are x, W, R, [b], [the masking ids] */
static int rnn_bias(const Node *n) { return n->nin - (n->attr.mask_zero ? 1 : 0) > 3 ? n->in[3] : -1; }
static int rnn_ids(const Node *n) { return n->attr.mask_zero ? n->in[n->nin - 1] : -1; }

/* rename a backward output "d" + the value it is the gradient of */
static void grad_name(Graph *g, int dv, int of) {
    char name[IR_NAME];
    ir_format_name(name, "d%s", g->values[of].name);
    memcpy(g->values[dv].name, name, sizeof name);
}

/* one rnn_grad node: inputs x, W, R, work, then the output gradients that
 * exist; outputs dW, dR, [db], scratch, [dx] */
static void rnn_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    int in[IR_MAX_IO] = { n.in[0], n.in[1], n.in[2], n.out[n.nout - 1] }, nin = 4;
    n.attr.grads = 0;
    for (int i = 0; i < n.attr.outputs; i++)
        if (dout[i] >= 0) { in[nin++] = dout[i]; n.attr.grads |= 1 << i; }
    if (rnn_ids(&n) >= 0) in[nin++] = rnn_ids(&n);   /* last, as in the layer */
    din[1] = op_bwd(g, OP_RNN_GRAD, in, nin, &n, n.in[1]);
    int b = g->nnodes - 1, k = 1;
    const Value *r = &g->values[n.in[2]];
    din[2] = op_extra_out(g, b, k++, "r", 0, r->rank, r->dims);
    grad_name(g, din[2], n.in[2]);
    if (rnn_bias(&n) >= 0) {
        const Value *bias = &g->values[n.in[3]];
        din[3] = op_extra_out(g, b, k++, "b", 0, bias->rank, bias->dims);
        grad_name(g, din[3], n.in[3]);
    }
    int scratch = (int)NNC_RT_RNN_SCRATCH(&n.attr.rnn);
    op_extra_out(g, b, k++, "scratch", 1, 1, &scratch);
    if (g->values[n.in[0]].requires_grad) {
        const Value *x = &g->values[n.in[0]];
        din[0] = op_extra_out(g, b, k, "x", 1, x->rank, x->dims);
        grad_name(g, din[0], n.in[0]);
    }
}

static long rnn_flops(const Graph *g, const Node *n) {
    (void)g;
    const nnc_rt_rnn *p = &n->attr.rnn;
    long G = NNC_RT_RNN_GATES(p);
    return (long)p->steps * (2 * G * (p->features + p->units) + 4 * G);
}

/* the call's name tail and first arguments: "(desc, " or "_masked(desc, ids, zero_output, " */
static const char *rnn_call(EmitCtx *e, const Node *n, char *buf, size_t cap) {
    if (rnn_ids(n) < 0) snprintf(buf, cap, "(%s, ", emit_rnn(e, n));
    else snprintf(buf, cap, "_masked(%s, %s, %d, ", emit_rnn(e, n), emit_ptr(e, rnn_ids(n)), n->attr.mask_zero == 2);
    return buf;
}

static void rnn_emit(EmitCtx *e, const Node *n) {
    int st = n->attr.return_state, b = rnn_bias(n);
    char call[256];
    const char *head = rnn_call(e, n, call, sizeof call);
    emit_line(e, "nnc_rt_rnn_forward%s%s, %s, %s, %s, %s, %s, %s, %s, n); /* %s */", head,
              emit_ptr(e, n->out[0]), st ? emit_ptr(e, n->out[1]) : "NULL",
              st && n->attr.outputs > 2 ? emit_ptr(e, n->out[2]) : "NULL", emit_ptr(e, n->out[n->nout - 1]),
              emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), emit_ptr(e, n->in[2]),
              b >= 0 ? emit_ptr(e, b) : "NULL", n->layer);
}

static void rnn_grad_emit(EmitCtx *e, const Node *n) {
    const char *d[3] = { "NULL", "NULL", "NULL" };
    for (int i = 0, k = 4; i < 3; i++)
        if (n->attr.grads >> i & 1) d[i] = emit_ptr(e, n->in[k++]);
    int k = n->attr.use_bias ? 3 : 2;   /* the scratch output */
    char call[256];
    const char *head = rnn_call(e, n, call, sizeof call);
    emit_line(e, "nnc_rt_rnn_backward%s%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, n);", head,
              n->nout > k + 1 ? emit_ptr(e, n->out[k + 1]) : "NULL",
              emit_ptr(e, n->out[0]), emit_ptr(e, n->out[1]), n->attr.use_bias ? emit_ptr(e, n->out[2]) : "NULL",
              d[0], d[1], d[2], emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), emit_ptr(e, n->in[2]),
              emit_ptr(e, n->in[3]), emit_ptr(e, n->out[k]));
}



/* ---- masked_mean: global_average_pooling1d under Keras' mask -------------------
 * x (n, steps, features), the ids (n, steps) -> (n, features): the mean over
 * the steps whose id is not 0 (runtime/rnn.c).  lower_mask.c turns a
 * global_average_pooling1d whose input carries a mask into this op. */

static int masked_mean_shape(Graph *g, int node) {
    if (op_want_rank(g, node, 2, "(n, steps, features)", "")) return -1;
    Value *x = op_in(g, node, 0);
    return op_make_out(g, node, 1, 1, &x->dims[1]);
}

static void masked_mean_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    int in[2] = { dout[0], n.in[1] };
    din[0] = op_bwd(g, OP_MASKED_MEAN_GRAD, in, 2, &n, n.in[0]);
}

static long masked_mean_flops(const Graph *g, const Node *n) { return ir_size(&g->values[n->in[0]]); }

static void masked_mean_emit(EmitCtx *e, const Node *n) {
    const Value *x = &emit_graph(e)->values[n->in[0]];
    emit_line(e, "nnc_rt_masked_mean_forward(%s, %s, %s, n, %d, %d); /* %s */", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), x->dims[0], x->dims[1], n->layer);
}

static void masked_mean_grad_emit(EmitCtx *e, const Node *n) {
    const Value *dx = &emit_graph(e)->values[n->out[0]];
    emit_line(e, "nnc_rt_masked_mean_backward(%s, %s, %s, n, %d, %d);", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), dx->dims[0], dx->dims[1]);
}

/* a recurrent layer over a whole tensor: batch attr.samples (ONNX LSTM/GRU/RNN) */
static void nd_rnn_emit(EmitCtx *e, const Node *n) {
    int lstm = n->attr.rnn.cell == NNC_RT_CELL_LSTM;
    emit_line(e, "nnc_rt_rnn_forward(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s);", emit_rnn(e, n),
              emit_ptr(e, n->out[0]), emit_ptr(e, n->out[1]), lstm ? emit_ptr(e, n->out[2]) : "NULL",
              emit_ptr(e, n->out[n->nout - 1]), emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]),
              emit_ptr(e, n->in[2]), n->nin > 3 ? emit_ptr(e, n->in[3]) : "NULL", emit_per_n(e, n, n->attr.samples));
}


/* an imported recurrence: the layer's count for each of its attr.samples sequences */
static long nd_rnn_flops(const Graph *g, const Node *n) { return rnn_flops(g, n) * n->attr.samples; }

#define RNN(a) { .rt = RT_RNN | RT_GEMM | RT_ACT, .layer = 1, .ninputs = 1, \
                        .recurrent = 1, .attrs = a, .nattrs = COUNT(a), .shape = rnn_shape, .params = rnn_params, \
                        .grad = rnn_grad, .flops = rnn_flops, .emit = rnn_emit }
const OpDef op_embedding = { .rt = RT_RNN, .layer = 1, .ninputs = 1, .int_input = 1,
                             .attrs = embedding_attrs, .nattrs = COUNT(embedding_attrs), .shape = embedding_shape,
                             .params = embedding_params, .grad = embedding_grad, .emit = embedding_emit };
const OpDef op_embedding_grad = INTERNAL(RT_RNN, 2, op_no_shape, embedding_grad_emit);
const OpDef op_simple_rnn = RNN(simple_rnn_attrs);
const OpDef op_lstm = RNN(lstm_attrs);
const OpDef op_gru = RNN(gru_attrs);
const OpDef op_rnn_grad = INTERNAL(RT_RNN, 4, op_no_shape, rnn_grad_emit);
const OpDef op_bidirectional = { .layer = 1, .wrapper = 1 };
const OpDef op_time_distributed = { .layer = 1, .wrapper = 1 };
const OpDef op_nd_rnn = ND(-1, nd_rnn_emit, .flops = nd_rnn_flops);
const OpDef op_masked_mean = { .rt = RT_RNN, .ninputs = 2, .shape = masked_mean_shape, .grad = masked_mean_grad,
                               .flops = masked_mean_flops, .emit = masked_mean_emit };
const OpDef op_masked_mean_grad = INTERNAL(RT_RNN, 2, op_no_shape, masked_mean_grad_emit);
