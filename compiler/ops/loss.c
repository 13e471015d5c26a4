/* loss.c — the training ops: loss (the batch mean of a loss of prediction
 * and label) with its gradient, regularize (a penalty's gradient added to
 * a parameter's) and update (the optimizer step over the parameter
 * block).  Calls into runtime/loss.c and runtime/optim.c. */
#include "ops/rules.h"

/* ---- loss: scalar = mean over the batch of loss(pred, label) ---------------- */

static int loss_shape(Graph *g, int node) {
    Node *n = &g->nodes[node];
    if (n->nout == 0) {
        int v = ir_value(g, "loss", ROLE_SCALAR, 0, 0, NULL);
        ir_add_output(g, node, v);
    }
    return 0;
}

static void loss_grad(Graph *g, int node, const int *dout, int *din) {
    (void)dout;
    Node n = g->nodes[node];
    din[0] = op_bwd(g, OP_LOSS_GRAD, n.in, 2, &n, n.in[0]);
}

/* the samples a loss averages over and the values per sample: the batch n,
 * or for a whole-tensor (imported) output its first axis */
static void loss_view(EmitCtx *e, int v, char *rows, size_t cap, long *m) {
    const Value *x = &emit_graph(e)->values[v];
    long r = ir_sample_rows(x);
    if (x->batched) snprintf(rows, cap, "n");
    else snprintf(rows, cap, "%ld", r);
    *m = r ? ir_size(x) / r : 0;    /* an empty output: no rows */
}

/* A model with several outputs: each output's labels, unpacked from the
 * caller's packed rows by the training step, lie in m->labels at BATCH
 * times the label's first column; each loss is kept in m->output_loss (the
 * per-output numbers of train_epoch) and adds to the total with its weight,
 * which scales its gradient too. */
static const char *label_ptr(EmitCtx *e, const Node *n, char *buf, size_t cap) {
    const Graph *g = emit_graph(e);
    if (g->noutputs < 2) return "y";
    snprintf(buf, cap, "m->labels + BATCH * %ldL", g->values[n->in[1]].pack_offset);
    return buf;
}

static void loss_emit_output(EmitCtx *e, const Node *n, const char *rows, long m) {
    const Graph *g = emit_graph(e);
    int k = n->attr.loss_output;
    char lab[64];
    emit_line(e, "m->output_loss[%d] = nnc_rt_loss_forward(%d, %s, %s, %s, %ld); /* %s, output %s */", k,
              n->attr.loss, emit_ptr(e, n->in[0]), label_ptr(e, n, lab, sizeof lab), rows, m,
              loss_name(n->attr.loss), g->values[g->outputs[k]].name);
    if (n->attr.loss_weight == 1.0f) emit_line(e, "loss += m->output_loss[%d];", k);
    else emit_line(e, "loss += %s * m->output_loss[%d];", emit_float(e, n->attr.loss_weight), k);
}

/* with class_weight, the weighted kernels read the table the emitter
 * prints at the top of the source (class_weight_, CLASS_WEIGHTS entries) */
static void loss_emit(EmitCtx *e, const Node *n) {
    char rows[32];
    long m;
    loss_view(e, n->in[0], rows, sizeof rows, &m);
    if (emit_graph(e)->noutputs > 1)
        loss_emit_output(e, n, rows, m);
    else if (emit_graph(e)->train.class_weight)
        emit_line(e, "loss = nnc_rt_loss_forward_weighted(%d, %s, y, %s, %ld, class_weight_, CLASS_WEIGHTS); /* %s */",
                  n->attr.loss, emit_ptr(e, n->in[0]), rows, m, loss_name(n->attr.loss));
    else
        emit_line(e, "loss = nnc_rt_loss_forward(%d, %s, y, %s, %ld); /* %s */", n->attr.loss,
                  emit_ptr(e, n->in[0]), rows, m, loss_name(n->attr.loss));
}

static void loss_grad_emit(EmitCtx *e, const Node *n) {
    char rows[32];
    long m;
    loss_view(e, n->in[0], rows, sizeof rows, &m);
    char lab[64];
    if (emit_graph(e)->noutputs > 1)
        emit_line(e, "nnc_rt_loss_backward_scaled(%d, %s, %s, %s, %s, %ld, %s);", n->attr.loss,
                  emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), label_ptr(e, n, lab, sizeof lab), rows, m,
                  emit_float(e, n->attr.loss_weight));
    else if (emit_graph(e)->train.class_weight)
        emit_line(e, "nnc_rt_loss_backward_weighted(%d, %s, %s, y, %s, %ld, class_weight_, CLASS_WEIGHTS);",
                  n->attr.loss, emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), rows, m);
    else
        emit_line(e, "nnc_rt_loss_backward(%d, %s, %s, y, %s, %ld);", n->attr.loss,
                  emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), rows, m);
}

/* ---- regularize: adds the penalty's gradient to a parameter's gradient ------ */

static void regularize_emit(EmitCtx *e, const Node *n) {
    const Graph *g = emit_graph(e);
    const Value *p = &g->values[n->in[0]];
    emit_line(e, "loss += nnc_rt_regularize(%s, %s, %ld, %s, %s); /* %s */",
              emit_ptr(e, p->grad), emit_ptr(e, n->in[0]), ir_size(p), emit_float(e, p->l1),
              emit_float(e, p->l2), p->name);
}

/* ---- update: the optimizer step, one flat pass over the parameter block ----
 * The rate is run-time state (m->learning_rate, set by init from the train
 * block and by NAME_set_learning_rate), so a schedule costs nothing. */

static void update_emit(EmitCtx *e, const Node *n) {
    (void)n;
    const TrainConfig *t = &emit_graph(e)->train;
    switch (t->opt) {
    case OPT_SGD:
        emit_line(e, "nnc_rt_sgd_update(m->params, m->grads, %s, TRAINABLE_COUNT, %s, %s, %d);",
                  t->momentum != 0 ? "m->opt[0]" : "NULL", "m->learning_rate",
                  emit_float(e, t->momentum), t->nesterov);
        break;
    case OPT_RMSPROP:
        emit_line(e, "nnc_rt_rmsprop_update(m->params, m->grads, m->opt[0], %s, TRAINABLE_COUNT, "
                  "%s, %s, %s, %s);", t->momentum != 0 ? "m->opt[1]" : "NULL", "m->learning_rate",
                  emit_float(e, t->rho), emit_float(e, t->momentum), emit_float(e, t->eps));
        break;
    case OPT_ADAM: case OPT_ADAMW:
        emit_line(e, "nnc_rt_adam_update(m->params, m->grads, m->opt[0], m->opt[1], TRAINABLE_COUNT, "
                  "m->step, %s, %s, %s, %s, %s);", "m->learning_rate", emit_float(e, t->beta1),
                  emit_float(e, t->beta2), emit_float(e, t->eps),
                  emit_float(e, t->opt == OPT_ADAMW ? t->weight_decay : 0.0f));
        break;
    }
}


const OpDef op_loss = { .rt = RT_LOSS, .ninputs = 2, .shape = loss_shape, .grad = loss_grad,
                        .emit = loss_emit };
const OpDef op_loss_grad = INTERNAL(RT_LOSS, 2, op_no_shape, loss_grad_emit);
const OpDef op_regularize = INTERNAL(RT_OPTIM, 1, op_no_shape, regularize_emit);
const OpDef op_update = INTERNAL(RT_OPTIM, 0, op_no_shape, update_emit);
