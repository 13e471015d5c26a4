/* passes/batch.c — the run-time batch of an imported graph.
 *
 * The ONNX importer builds whole tensors: every value has its full shape,
 * the samples included.  This pass proves that axis 0 of the graph inputs
 * is a batch — that no node mixes samples or moves that axis — and then
 * turns the graph into the form a .nn model has: each value per sample with
 * the run-time extent n in front (Value.batched), so every entry point takes
 * 1 <= n <= BATCH samples and its cost scales with n.
 *
 * Decisions:
 *  - The proof is structural, on the descriptors the importer computed at
 *    the compiled batch B (> 1, so that axis 0 is visible): a node may read
 *    a batched operand only with stride "one sample" on axis 0 of its
 *    iteration space and a constant one only with stride 0 there; a reshape
 *    must keep axis 0's extent (row-major, so each sample keeps its own
 *    elements); a softmax, gather, cumsum or reduction must run over other
 *    axes.  A node that fails names itself; the caller then refuses to train
 *    the graph, or compiles it whole (n = 1 evaluation of the exported
 *    shapes) for inference.  Never a batch that is silently wrong.
 *  - After the proof the descriptors describe one sample (axis 0 of extent
 *    1, outer counts and GEMM rows divided by B) and Attrs.batched tells the
 *    emitter to print n for them; nothing else in the graph depends on B.
 *  - Imported convolutions, pools and recurrent layers become the .nn
 *    layers (same parameter layouts, same runtime calls), which have
 *    gradient rules.
 */
#include <stdlib.h>
#include <string.h>
#include "ir.h"

typedef struct Batch {
    Graph *g;
    int B;
    char *lead;     /* per value: axis 0 is the batch */
    char why[200];
} Batch;

static long sample_size(const Batch *b, int v) { return ir_size(&b->g->values[v]) / b->B; }

static int fail(Batch *b, const char *why) {
    snprintf(b->why, sizeof b->why, "%s", why);
    return -1;
}

/* an operand read through strides s (offset off) over a space whose axis 0 is
 * the batch: a batched one one sample per step, any other one not at all */
static int operand_ok(Batch *b, int v, const long *s, long off) {
    if (b->lead[v]) return s[0] == sample_size(b, v) && off < sample_size(b, v) ? 0 : fail(b, "it reads across samples");
    return s[0] == 0 ? 0 : fail(b, "a constant or computed operand the size of the batch meets the batch");
}

/* an N-d space whose axis 0 runs over the samples of the output */
static int space_ok(Batch *b, const Node *n, int out_lead) {
    const nnc_rt_nd *p = &n->attr.nd;
    if (p->rank < 1 || p->dims[0] != b->B) return fail(b, "axis 0 of its input is not axis 0 of its work");
    if (out_lead && (p->ys[0] != sample_size(b, n->out[0]) || p->yoff >= sample_size(b, n->out[0])))
        return fail(b, "it moves the batch axis");
    return 0;
}

/* outer (the axes before the op's axis) holds the batch: the axis is not 0 */
static int outer_ok(Batch *b, long outer) {
    return outer % b->B == 0 && outer >= b->B ? 0 : fail(b, "it works along the batch axis");
}


/* can node i keep the batch, given which inputs are batched?  Sets lead[] of
 * its outputs; returns 0, or -1 with b->why */
static int check_node(Batch *b, int i) {
    Graph *g = b->g;
    Node *n = &g->nodes[i];
    int any = 0;
    for (int k = 0; k < n->nin; k++) any |= b->lead[n->in[k]];
    if (!any || n->op == OP_LOSS) return 0;     /* constants only: not per sample */
    int y = n->out[0];
    if (g->values[y].rank < 1 || g->values[y].dims[0] != b->B) return fail(b, "its output does not keep the batch axis");
    const nnc_rt_nd *p = &n->attr.nd;
    if (n->op == OP_VIEW || n->op == OP_ND_UNARY || n->op == OP_RELU || n->op == OP_SIGMOID || n->op == OP_TANH ||
        n->op == OP_RELU6 || (n->op == OP_SOFTMAX && g->values[y].rank >= 2)) {
        if (!b->lead[n->in[0]]) return fail(b, "unexpected operand");
    } else if (n->op == OP_BATCH_NORM) {        /* statistics over the batch, as the layer means */
        for (int k = 1; k < n->nin; k++)
            if (b->lead[n->in[k]]) return fail(b, "its parameters depend on the samples");
        if (!b->lead[n->in[0]]) return fail(b, "unexpected operand");
    } else if (n->op == OP_ND_COPY || n->op == OP_ND_PAD) {
        if (space_ok(b, n, 1) || operand_ok(b, n->in[0], p->as, p->aoff)) return -1;
    } else if (n->op == OP_ND_BINARY) {
        if (space_ok(b, n, 1) || operand_ok(b, n->in[0], p->as, p->aoff) || operand_ok(b, n->in[1], p->bs, p->boff))
            return -1;
    } else if (n->op == OP_ND_MATMUL || n->op == OP_DENSE) {
        if (!b->lead[n->in[0]] || b->lead[n->in[1]]) return fail(b, "only the first operand may hold the samples");
        if (n->op == OP_ND_MATMUL && p->rank == 0 && n->attr.M != b->B) return fail(b, "its rows are not the samples");
        if (n->op == OP_ND_MATMUL && p->rank && (space_ok(b, n, 1) || operand_ok(b, n->in[0], p->as, p->aoff) ||
                                                operand_ok(b, n->in[1], p->bs, p->boff)))
            return -1;
    } else if (n->op == OP_ND_SOFTMAX || n->op == OP_ND_ARG || n->op == OP_ND_CUMSUM) {
        if (outer_ok(b, n->attr.outer)) return -1;
    } else if (n->op == OP_ND_GATHER) {
        if (!b->lead[n->in[0]] || b->lead[n->in[1]] || outer_ok(b, n->attr.outer)) return fail(b, "it gathers across samples");
    } else if (n->op == OP_ND_RESIZE) {
        if (!b->lead[n->in[0]] || b->lead[n->in[1]] || b->lead[n->in[2]] || outer_ok(b, n->attr.outer))
            return fail(b, "it resizes the batch axis");
    } else if (n->op == OP_ND_GRID_SAMPLE) {
        if (n->attr.samples != b->B || !b->lead[n->in[0]] || !b->lead[n->in[1]])
            return fail(b, "its samples and their grids are not the batch");
    } else if (n->op == OP_ND_ROI_ALIGN) {
        return fail(b, "each of its regions picks its image at run time");
    } else if (n->op == OP_ND_TFIDF) {
        if (n->attr.samples != b->B || !b->lead[n->in[0]] || b->lead[n->in[1]] || b->lead[n->in[2]])
            return fail(b, "its rows of tokens are not the samples");
    } else if (n->op == OP_ND_REDUCE) {
        if (space_ok(b, n, 1) || operand_ok(b, n->in[0], p->as, p->aoff)) return fail(b, "it reduces over the batch axis");
    } else if (n->op == OP_ND_CONCAT) {
        if (n->attr.axis == 0) return fail(b, "it concatenates along the batch axis");
        for (int k = 0; k < n->nin; k++)
            if (!b->lead[n->in[k]]) return fail(b, "it concatenates a constant to the samples");
    } else if (n->op == OP_ND_CONV || n->op == OP_ND_POOL || n->op == OP_ND_CONV_T || n->op == OP_ND_RNN) {
        if (n->attr.samples != b->B || !b->lead[n->in[0]]) return fail(b, "its samples are not the batch");
        for (int k = 1; k < n->nin; k++)   /* a convolution's residual (input 3) is per sample */
            if (b->lead[n->in[k]] != (n->op == OP_ND_CONV && k == 3))
                return fail(b, k == 3 ? "its residual is not per sample" : "its weights depend on the samples");
        for (int k = 1; k < n->nout; k++) {   /* states (recurrent) are per sample, the scratch is not */
            const Value *o = &g->values[n->out[k]];
            b->lead[n->out[k]] = n->op == OP_ND_RNN && k < n->nout - 1 && o->rank >= 1 && o->dims[0] == b->B;
        }
    } else {
        return fail(b, "nnc cannot yet tell whether it keeps the samples apart");
    }
    b->lead[y] = 1;
    return 0;
}

/* the value per sample: axis 0 becomes the run-time n */
static void to_batched(Value *v) {
    v->batched = 1;
    v->rank--;
    memmove(v->dims, v->dims + 1, (size_t)v->rank * sizeof *v->dims);
}

/* the node's descriptors per sample; Attrs.batched: print n for them */
static void per_sample(Batch *b, Node *n) {
    int any = 0;
    for (int k = 0; k < n->nin; k++) any |= b->lead[n->in[k]];
    if (!any) return;
    n->attr.batched = 1;
    if (n->attr.nd.rank) n->attr.nd.dims[0] = 1;
    n->attr.outer /= b->B;
    if (n->op == OP_ND_REDUCE) n->attr.ny /= b->B;
    if (n->op == OP_ND_MATMUL && n->attr.nd.rank == 0) n->attr.M /= b->B;
    if (n->op == OP_ND_CONV || n->op == OP_ND_POOL || n->op == OP_ND_CONV_T || n->op == OP_ND_RNN ||
        n->op == OP_ND_GRID_SAMPLE || n->op == OP_ND_TFIDF)
        n->attr.samples = 1;
    if (n->op == OP_ND_CONV) n->op = n->attr.conv.groups == n->attr.conv.c && n->attr.conv.c > 1 ?
                                    OP_DEPTHWISE_CONV2D : OP_CONV2D;
    if (n->op == OP_ND_POOL) n->op = n->attr.fn ? OP_AVG_POOL2D : OP_MAX_POOL2D;
    if (n->op == OP_ND_RNN) {   /* outputs y, h, [c], then the workspace, per sample like the layer's */
        Value *work = &b->g->values[n->out[n->nout - 1]];
        work->batched = 1;
        work->dims[0] /= b->B;
        n->attr.return_state = 1;
        n->attr.outputs = n->nout - 1;
        n->attr.use_bias = n->nin > 3;
        n->attr.units = n->attr.rnn.units;
        n->op = n->attr.rnn.cell == NNC_RT_CELL_LSTM ? OP_LSTM : n->attr.rnn.cell == NNC_RT_CELL_GRU ? OP_GRU :
                OP_SIMPLE_RNN;
    }
}

/* drop the N-d nodes nothing reads (an LSTM's unused final states, say):
 * they would otherwise have to keep the batch too */
static void drop_unused(Graph *g) {
    for (int i = g->nnodes - 1; i >= 0; i--) {
        Node *n = &g->nodes[i];
        if (n->dead || n->phase != PH_FORWARD || (strncmp(op_name(n->op), "nd_", 3) && n->op != OP_VIEW))
            continue;
        int used = 0;
        for (int k = 0; k < n->nout; k++) used |= ir_is_output(g, n->out[k]) || ir_consumers(g, n->out[k], NULL) > 0;
        if (used) continue;
        n->dead = 1;
        for (int k = 0; k < n->nout; k++) g->values[n->out[k]].producer = -1;
    }
}

int batch_imported(Graph *g, int B, char *why, size_t cap) {
    layout_cancel(g);       /* (done already at -O2) an exporter's transpose pairs hide the axis */
    drop_unused(g);
    Batch b = { g, B, calloc((size_t)g->nvalues + 1, 1), "" };
    if (!b.lead) abort();
    int status = 0;
    for (int k = 0; k < g->ninputs; k++) {
        const Value *v = &g->values[g->inputs[k]];
        if (v->rank < 1 || v->dims[0] != B) {
            snprintf(why, cap, "graph input '%s' has no batch axis of %d samples", v->name, B);
            status = -1;
        }
        b.lead[g->inputs[k]] = 1;
    }
    if (g->label >= 0) b.lead[g->label] = 1;
    for (int i = 0; !status && i < g->nnodes; i++) {
        if (g->nodes[i].dead || g->nodes[i].phase > PH_LOSS) continue;
        if (check_node(&b, i)) {
            const Node *n = &g->nodes[i];
            snprintf(why, cap, "node '%.60s' (%s): %s", n->layer[0] ? n->layer : g->values[n->out[0]].name,
                     op_name(n->op), b.why);
            status = -1;
        }
    }
    for (int k = 0; !status && k < g->noutputs; k++)
        if (!b.lead[g->outputs[k]]) {
            snprintf(why, cap, "graph output '%s' does not hold one row per sample", g->values[g->outputs[k]].name);
            status = -1;
        }
    if (!status) {
        for (int i = 0; i < g->nnodes; i++)
            if (!g->nodes[i].dead) per_sample(&b, &g->nodes[i]);
        for (int v = 0; v < g->nvalues; v++)
            if (b.lead[v]) to_batched(&g->values[v]);
        /* several inputs/outputs travel side by side in each sample's row */
        long col = 0;
        for (int k = 0; k < g->ninputs; k++) {
            g->values[g->inputs[k]].pack_offset = col;
            col += ir_size(&g->values[g->inputs[k]]);
        }
        col = 0;
        for (int k = 0; k < g->noutputs; k++) {
            g->values[g->outputs[k]].pack_offset = col;
            col += ir_size(&g->values[g->outputs[k]]);
        }
    }
    free(b.lead);
    return status;
}

/* ---- a bounded time axis (--shape NAME<=N) -------------------------------------- */

int batch_bounded_steps(Graph *g, const char *name, int bound, char *why, size_t cap) {
    int x = g->ninputs == 1 ? g->inputs[0] : -1, readers = 0;
    if (x < 0 || !g->values[x].batched || g->values[x].rank < 1 || g->values[x].dims[0] != bound) {
        snprintf(why, cap, "'%s' is bounded on a model with one input of samples (n, %s, ...)", name, name);
        return -1;
    }
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = &g->nodes[i];
        int reads = 0;
        for (int k = 0; k < n->nin; k++) reads |= n->in[k] == x;
        if (n->dead || !reads) continue;
        readers++;
        const char *what = NULL;
        if (!op_table[n->op]->recurrent || n->in[0] != x || n->attr.rnn.steps != bound)
            what = "nnc bounds only the time axis of recurrent layers";
        else if (ir_is_output(g, n->out[0]) || ir_consumers(g, n->out[0], NULL))
            what = "its output sequence is used (only the final states may be, with a run-time length)";
        if (what) {
            snprintf(why, cap, "node '%.60s' (%s) reads the bounded dimension '%s': %s",
                     n->layer[0] ? n->layer : g->values[n->out[0]].name, op_name(n->op), name, what);
            return -1;
        }
        n->attr.dyn_steps = 1;
    }
    if (!readers) {
        snprintf(why, cap, "no recurrent layer reads the bounded dimension '%s'", name);
        return -1;
    }
    snprintf(g->steps_name, sizeof g->steps_name, "%s", name);
    g->steps_max = bound;
    return 0;
}
