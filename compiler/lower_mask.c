/* lower_mask.c — Keras' mask through a .nn model: embedding(mask_zero =
 * true) marks token id 0 as padding, and the layers after it see which
 * steps are padding, as Keras' layers see `_keras_mask`.
 *
 * Decisions:
 *  - No mask tensor.  A value's mask is named by Value.mask: the embedding
 *    output that started it.  The layer that honours the mask gets that
 *    embedding's token ids as an extra last input (attr.mask_zero set) and
 *    its kernel reads "id == 0" itself.  A .nn model with an i32 input has no
 *    other input, so every mask of a model is the same one.
 *  - Who does what, Keras 3's rules:
 *      honour it: simple_rnn, lstm, gru (and both halves of bidirectional):
 *        runtime/rnn.c's masked kernels; a layer returning sequences passes
 *        the mask on, one returning its last state ends it.
 *        global_average_pooling1d: the mean over the real steps (masked_mean).
 *      pass it on unchanged: layers working on each step alone (the
 *        activation layers, dropout, layer_normalization over the last axis,
 *        time_distributed(dense)), and add / multiply / concat on the last
 *        axis (Keras ANDs the inputs' masks: here all are the one mask).
 *      refuse it: every other layer (conv1d, flatten, pooling, batch_norm,
 *        which would average padding into its statistics, ...): a compile
 *        error naming the line, as Keras 2 raised.  Keras 3 only warns and
 *        drops the mask, which would change the model's meaning silently.
 *  - An output that still carries the mask is refused: Keras weights the
 *    loss by the output's mask, which nnc's losses do not.
 */
#include <string.h>
#include "ir.h"
#include "lower.h"

/* the token ids behind a mask (the embedding's input) */
static int mask_ids(const Graph *g, int mask) { return g->nodes[g->values[mask].producer].in[0]; }

static void mask_source_note(const Graph *g, int mask) {
    diag_note(g->nodes[g->values[mask].producer].loc, "the mask comes from this embedding(mask_zero = true)");
}

/* a layer that works on each step alone: the mask passes through */
static int per_step(const Graph *g, const Node *n) {
    const OpDef *d = op_table[n->op];
    const Value *x = &g->values[n->in[0]];
    if ((d->noise && n->op != OP_SPATIAL_DROPOUT2D) || n->op == OP_LINEAR || n->op == OP_LAYER_NORMALIZATION)
        return 1;
    if (n->op == OP_DENSE) return x->rank >= 2;   /* on the last axis of every step */
    if (n->op == OP_ADD || n->op == OP_MULTIPLY) return 1;
    if (n->op == OP_CONCAT) {
        int axis = n->attr.axis < 0 ? n->attr.axis + x->rank : n->attr.axis;
        return axis == x->rank - 1;
    }
    return d->rt == RT_ACT && d->ninputs == 1 && d->layer;   /* the activation layers, prelu */
}

int lower_mask_node(Graph *g, int node) {
    Node *n = &g->nodes[node];
    if (n->op == OP_EMBEDDING) {
        if (n->attr.mask_zero) g->values[n->out[0]].mask = n->out[0];
        return 0;
    }
    int mask = -1;
    for (int i = 0; i < n->nin && mask < 0; i++) mask = g->values[n->in[i]].mask;
    if (mask < 0) return 0;
    const Value *x = &g->values[n->in[0]];
    const Value *ids = &g->values[mask_ids(g, mask)];
    int steps_match = x->rank >= 2 && ids->rank == x->rank - 1 &&
                      !memcmp(ids->dims, x->dims, (size_t)ids->rank * sizeof *ids->dims);
    if (op_table[n->op]->recurrent || n->op == OP_GLOBAL_AVERAGE_POOLING1D) {
        if (!steps_match) {     /* the layers between kept the steps, so this holds; checked all the same */
            diag_error(n->loc, "%s: its input's steps do not line up with the token ids of its mask",
                       op_name(n->op));
            return -1;
        }
        if (n->nin == IR_MAX_IO) {
            diag_error(n->loc, "%s: too many inputs", op_name(n->op));
            return -1;
        }
        n->in[n->nin++] = mask_ids(g, mask);
        n->attr.mask_zero = 1;
        if (n->op == OP_GLOBAL_AVERAGE_POOLING1D) n->op = OP_MASKED_MEAN;   /* same shape, the masked mean */
        else if (n->attr.return_sequences) g->values[n->out[0]].mask = mask;
        return 0;
    }
    if (per_step(g, n)) {
        g->values[n->out[0]].mask = mask;
        return 0;
    }
    diag_error(n->loc, "'%s' does not support masking, but its input carries the mask of "
               "embedding(mask_zero = true); consume the mask first (a recurrent layer without "
               "return_sequences, or global_average_pooling1d) or drop mask_zero", op_name(n->op));
    mask_source_note(g, mask);
    return -1;
}

void lower_mask_bidirectional(Graph *g, int forward, int backward) {
    int v[2] = { forward, backward };
    for (int i = 0; i < 2; i++) {
        Node *n = &g->nodes[g->values[v[i]].producer];
        if (n->attr.mask_zero && n->attr.return_sequences) n->attr.mask_zero = 2;   /* Keras' zero_output_for_mask */
    }
}

int lower_mask_outputs(Graph *g) {
    int errors = 0;
    for (int i = 0; i < g->noutputs; i++) {
        const Value *y = &g->values[g->outputs[i]];
        if (y->mask < 0) continue;
        diag_error(y->producer >= 0 ? g->nodes[y->producer].loc : y->loc,
                   "output '%s' carries the mask of embedding(mask_zero = true); Keras would weight the loss by "
                   "it, nnc does not: consume the mask first (a recurrent layer without return_sequences, or "
                   "global_average_pooling1d)", y->name);
        mask_source_note(g, y->mask);
        errors++;
    }
    return errors ? -1 : 0;
}
