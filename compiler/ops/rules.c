/* rules.c — the helpers the op families' rules share: creating a node's
 * outputs, appending a backward node, a parameter, Keras' window
 * arithmetic.  Only ops/<family>.c include rules.h. */
#include "ops/rules.h"

Value *op_in(Graph *g, int node, int i) { return &g->values[g->nodes[node].in[i]]; }

/* Create out[0] if missing, then give it this shape. */
int op_make_out(Graph *g, int node, int batched, int rank, const int *shape) {
    int dims[IR_MAX_RANK];      /* shape may point into g->values, which may move */
    memcpy(dims, shape, (size_t)rank * sizeof *dims);
    Node *n = &g->nodes[node];
    if (n->nout == 0) {
        char name[IR_NAME];
        ir_format_name(name, "%s%d", op_name(n->op), node);
        if (n->layer[0]) snprintf(name, sizeof name, "%s", n->layer);
        int v = ir_value(g, name, ROLE_ACT, batched, rank, dims);
        g->values[v].loc = n->loc;
        ir_add_output(g, node, v);
        n = &g->nodes[node];
    }
    Value *o = &g->values[n->out[0]];
    o->batched = batched;
    o->rank = rank;
    memcpy(o->dims, dims, (size_t)rank * sizeof *dims);
    return 0;
}

/* Create out[index] (an extra output: scratch, saved statistics, a mask) once. */
int op_extra_out(Graph *g, int node, int index, const char *suffix, int batched, int rank,
                     const int *dims) {
    Node *n = &g->nodes[node];
    if (n->nout > index) return n->out[index];
    assert(n->nout == index);
    char name[IR_NAME];
    ir_format_name(name, "%s.%s", g->values[n->out[0]].name, suffix);
    int v = ir_value(g, name, n->phase == PH_BACKWARD ? ROLE_GRAD : ROLE_ACT, batched, rank, dims);
    g->values[v].loc = n->loc;
    ir_add_output(g, node, v);
    return v;
}

int op_same_shape(Graph *g, int node) {
    Value *x = op_in(g, node, 0);
    return op_make_out(g, node, x->batched, x->rank, x->dims);
}

/* Append a backward node computing a value shaped like `like`. */
int op_bwd(Graph *g, int op, const int *in, int nin, const Node *from, int like) {
    int n = ir_node(g, op, in, nin, from->loc);
    g->nodes[n].phase = PH_BACKWARD;
    g->nodes[n].attr = from->attr;
    Value lv = g->values[like];
    char name[IR_NAME];
    ir_format_name(name, "d%s", lv.name);
    int v = ir_value(g, name, ROLE_GRAD, lv.batched, lv.rank, lv.dims);
    ir_add_output(g, n, v);
    return v;
}

int op_epilogue_grad(Graph *g, const Node *n, int dy) {
    if (n->attr.act == NNC_RT_ACT_LINEAR) return dy;
    int in[2] = { dy, n->out[0] };
    return op_bwd(g, OP_ACT_GRAD, in, 2, n, n->out[0]);
}

long op_last_dim(const Value *v) { return v->rank ? v->dims[v->rank - 1] : 1; }

int op_shapes_equal(const Value *a, const Value *b) {
    return a->batched == b->batched && a->rank == b->rank &&
           !memcmp(a->dims, b->dims, (size_t)a->rank * sizeof(int));
}

int op_want_rank(Graph *g, int node, int rank, const char *layout, const char *hint) {
    Value *x = op_in(g, node, 0);
    if (x->batched && x->rank == rank) return 0;
    char buf[96];
    diag_error(g->nodes[node].loc, "%s expects input of shape %s, got %s%s", op_name(g->nodes[node].op),
               layout, ir_shape_str(x, buf, sizeof buf), hint);
    return -1;
}


int op_new_param(Graph *g, int node, const char *suffix, int rank, const int *dims,
                     int init, int fan_in, int fan_out, float l1, float l2) {
    Node *n = &g->nodes[node];
    char name[IR_NAME];
    ir_format_name(name, "%s.%s", n->layer, suffix);
    int p = ir_value(g, name, ROLE_PARAM, 0, rank, dims);
    Value *v = &g->values[p];
    v->init = init; v->fan_in = fan_in; v->fan_out = fan_out;
    v->l1 = l1; v->l2 = l2;
    v->trainable = !n->attr.frozen;
    v->loc = g->nodes[node].loc;
    n = &g->nodes[node];
    n->in[n->nin++] = p;
    return p;
}


/* One spatial axis: output extent and the padding before it (Keras rules:
 * 'same' gives ceil(in/stride) outputs and puts the odd padding cell after;
 * 'causal' pads dilation*(k-1) cells before only).
 * Returns -1 when the (dilated) window does not fit a 'valid' input. */
int op_window(int in, int k, int stride, int dilation, int padding, int *out, int *before) {
    int span = dilation * (k - 1) + 1;
    if (padding == PAD_CAUSAL) {    /* span - 1 zeros before: output t sees inputs up to t * stride */
        *out = (in - 1) / stride + 1;
        *before = span - 1;
        return 0;
    }
    if (padding == PAD_SAME) {
        *out = (in + stride - 1) / stride;
        int total = (*out - 1) * stride + span - in;
        *before = total > 0 ? total / 2 : 0;
        return 0;
    }
    *before = 0;
    if (span > in) return -1;
    *out = (in - span) / stride + 1;
    return 0;
}


/* the rule of ops whose builder (a pass, the importer) already made their outputs */
int op_no_shape(Graph *g, int node) { (void)g; (void)node; return 0; }
