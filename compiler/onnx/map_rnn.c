/* map_rnn.c — the builders of ONNX's LSTM, GRU and RNN, onto
 * runtime/rnn.c's Keras-layout kernels.
 *
 * Decisions:
 *  - Weights are folded at import into Keras' layout and gate order (ONNX
 *    i o f c -> Keras i f c o for the LSTM), one constant per direction;
 *    an LSTM's two biases become their sum (GRU keeps both: nnc's GRU is
 *    Keras' reset_after = true, ONNX's linear_before_reset = 1).  Under
 *    --train they train in that folded form.
 *  - A bidirectional layer is two nodes, one per direction, whose outputs
 *    are concatenated on ONNX's direction axis.
 *  - What the kernels do not model (other activations, clip, a nonzero
 *    initial state, peepholes, shorter sequences) is unsupported, not
 *    approximated.
 */
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx.h"

/* one recurrent node's geometry */
typedef struct Rnn {
    int cell, gates;        /* NNC_RT_CELL_*, and its gate count         */
    int layout, dirs, reverse;
    long T, N, F, H;        /* steps, batch, features, hidden units      */
    const int *perm;        /* Keras' gate k is ONNX's gate perm[k]     */
} Rnn;

static int all_zero(const Tensor *t) {
    long n = onnx_numel(t->dims, t->rank);
    for (long i = 0; i < n; i++) if (t->data[i] != 0.0f) return 0;
    return 1;
}

/* the node against ONNX's rules, before any weight is read: X (T, N, F) (or
 * (N, T, F) with layout 1), W (dirs, gates * H, F), R (dirs, gates * H, H),
 * B (dirs, 2 * gates * H), a known direction, hidden_size >= 1; -1 after
 * reporting an invalid node */
static int rnn_invalid(Ctx *c, Rnn *s) {
    Tensor *x = c->in[0], *w = c->in[1], *r = c->in[2], *b = c->nin > 3 ? c->in[3] : NULL;
    const Onnx__AttributeProto *dir = onnx_attr(c->n, "direction");
    if (dir && !onnx_attr_is(c->n, "direction", "forward") && !onnx_attr_is(c->n, "direction", "reverse") &&
        !onnx_attr_is(c->n, "direction", "bidirectional")) {
        onnx_invalid(c->im, "direction must be forward, reverse or bidirectional");
        return -1;
    }
    if (s->layout != 0 && s->layout != 1) { onnx_invalid(c->im, "layout must be 0 or 1"); return -1; }
    if (x->rank != 3 || w->rank != 3 || r->rank != 3 || (b && b->rank != 2)) {
        onnx_invalid(c->im, "X, W and R must have rank 3 and B rank 2");
        return -1;
    }
    if (!onnx_attr(c->n, "hidden_size")) s->H = r->dims[2];    /* optional in ONNX: R says it */
    if (s->H < 1 || s->H > (1L << 24)) {
        onnx_invalid(c->im, "hidden_size is %ld; it must be from 1 to 2^24 and match R", s->H);
        return -1;
    }
    long gh = s->gates * s->H;
    if (w->dims[0] != s->dirs || w->dims[1] != gh || w->dims[2] != x->dims[2] ||
        r->dims[0] != s->dirs || r->dims[1] != gh || r->dims[2] != s->H ||
        (b && (b->dims[0] != s->dirs || b->dims[1] != 2 * gh))) {
        onnx_invalid(c->im, "the weights do not match hidden_size %ld, %d direction%s and %ld features: W must be "
                     "(%d, %ld, %ld), R (%d, %ld, %ld), B (%d, %ld)", s->H, s->dirs, s->dirs == 1 ? "" : "s", x->dims[2],
                     s->dirs, gh, x->dims[2], s->dirs, gh, s->H, s->dirs, 2 * gh);
        return -1;
    }
    return 0;
}

/* what the kernels cannot compute, reported; 0 when the node is supported */
static int rnn_unsupported(Ctx *c, const Rnn *s) {
    Tensor *x = c->in[0], *w = c->in[1], *r = c->in[2];
    Tensor *b = c->nin > 3 ? c->in[3] : NULL, *lens = c->nin > 4 ? c->in[4] : NULL;
    Tensor *h0 = c->nin > 5 ? c->in[5] : NULL, *c0 = c->nin > 6 ? c->in[6] : NULL, *peep = c->nin > 7 ? c->in[7] : NULL;
    if (x->rank != 3 || !w->data || !r->data || (b && !b->data)) { onnx_unsupported(c->im, "weights computed at run time"); return -1; }
    if (onnx_attr(c->n, "activations") || onnx_attr(c->n, "clip") || onnx_attr_i(c->n, "input_forget", 0)) {
        onnx_unsupported(c->im, "activations, clip or input_forget other than the defaults");
        return -1;
    }
    if (s->cell == NNC_RT_CELL_GRU && !onnx_attr_i(c->n, "linear_before_reset", 0)) {
        onnx_unsupported(c->im, "GRU with linear_before_reset = 0 (nnc's GRU is Keras' reset_after = true)");
        return -1;
    }
    if ((h0 && (!h0->data || !all_zero(h0))) || (c0 && (!c0->data || !all_zero(c0))) ||
        (peep && (!peep->data || !all_zero(peep)))) {
        onnx_unsupported(c->im, "a nonzero initial state or peepholes");
        return -1;
    }
    if (lens) {
        if (!lens->data) { onnx_unsupported(c->im, "sequence_lens computed at run time"); return -1; }
        for (long i = 0; i < onnx_numel(lens->dims, lens->rank); i++)
            if (lens->data[i] != (float)s->T) { onnx_unsupported(c->im, "sequences shorter than the input"); return -1; }
    }
    return 0;
}

/* one direction's weights in Keras' layout and gate order, folded */
static Tensor *keras_gates(Ctx *c, const Tensor *w, int dir, int gates, long H, long in, const int *perm,
                           const char *suffix) {
    long dims[2] = { in, gates * H };
    float *d = malloc((size_t)(in * gates * H) * sizeof *d);
    const float *src = w->data + (long)dir * gates * H * in;
    for (long f = 0; f < in; f++)
        for (int k = 0; k < gates; k++)
            for (long j = 0; j < H; j++)
                d[f * gates * H + k * H + j] = src[((long)perm[k] * H + j) * in + f];
    char name[170];
    ir_format_name(name, "%s/%s%d", onnx_out_name(c, 0), suffix, dir);
    Tensor *t = onnx_add_constant(c->im, name, 2, dims, d);
    t->param = w->param;
    return t;
}

/* direction d's bias in Keras' gate order: the LSTM's and RNN's two summed,
 * the GRU's two kept as rows (input, recurrent) */
static Tensor *keras_bias(Ctx *c, const Tensor *b, int d, const Rnn *s) {
    int gates = s->gates, gru = s->cell == NNC_RT_CELL_GRU;
    long H = s->H;
    long bn = gru ? 2 * gates * H : gates * H, bd[2] = { 2, gates * H };
    float *bv = malloc((size_t)bn * sizeof *bv);
    const float *src = b->data + (long)d * 2 * gates * H;
    for (int k = 0; k < gates; k++)
        for (long j = 0; j < H; j++) {
            float wb = src[s->perm[k] * H + j], rb = src[gates * H + s->perm[k] * H + j];
            if (gru) { bv[k * H + j] = wb; bv[gates * H + k * H + j] = rb; }
            else bv[k * H + j] = wb + rb;
        }
    char name[170];
    ir_format_name(name, "%s/B%d", onnx_out_name(c, 0), d);
    long one = bn;
    Tensor *t = onnx_add_constant(c->im, name, gru ? 2 : 1, gru ? bd : &one, bv);
    t->param = b->param;
    return t;
}

/* X as (N, T, F), the kernels' order */
static Tensor *batch_major(Ctx *c, Tensor *x, const Rnn *s) {
    char n0[170];
    onnx_part(c, "xbt", n0);
    if (s->layout) return x;
    long dims[3] = { s->N, s->T, s->F }, xs[3];
    nd_strides(3, x->dims, xs);
    Attrs t;
    memset(&t, 0, sizeof t);
    nd_dense(&t.nd, 3, dims);
    t.nd.as[0] = xs[1]; t.nd.as[1] = xs[0]; t.nd.as[2] = xs[2];
    return onnx_apply(c->im, OP_ND_COPY, &x, 1, &t, n0, 3, dims);
}

/* direction d's node on xb (N, T, F): its sequence (N, T, H), and its final
 * states h (and c for the LSTM) and workspace as further outputs */
static Tensor *rnn_direction(Ctx *c, Tensor *xb, int d, const Rnn *s, Tensor **h, Tensor **cst) {
    Tensor *w = c->in[1], *r = c->in[2], *b = c->nin > 3 ? c->in[3] : NULL;
    long N = s->N, T = s->T, H = s->H;
    Tensor *wk = keras_gates(c, w, d, s->gates, H, s->F, s->perm, "W");
    Tensor *rk = keras_gates(c, r, d, s->gates, H, H, s->perm, "R");
    Tensor *bk = b ? keras_bias(c, b, d, s) : NULL;
    Attrs a;
    memset(&a, 0, sizeof a);
    nnc_rt_rnn p = { (int)T, (int)s->F, (int)H, s->cell, NNC_RT_ACT_TANH, 1, d == 1 || s->reverse };
    a.rnn = p;
    a.samples = (int)N;
    Tensor *in[4] = { xb, wk, rk, bk };
    char yn[170];
    ir_format_name(yn, "%s/y%d", onnx_out_name(c, 0), d);
    long ydims[3] = { N, T, H };
    Tensor *y = onnx_apply(c->im, OP_ND_RNN, in, bk ? 4 : 3, &a, yn, 3, ydims);
    if (!y) return NULL;
    Graph *g = c->im->g;
    int node = g->values[y->value].producer, nh[2] = { (int)N, (int)H };
    if (N * NNC_RT_RNN_WORK(&p) > ONNX_MAX_ELEMS) { onnx_unsupported(c->im, "a workspace above 2^31 floats"); return NULL; }
    int work = (int)(N * NNC_RT_RNN_WORK(&p));
    for (int k = 0; k < (s->cell == NNC_RT_CELL_LSTM ? 2 : 1); k++) {
        ir_format_name(yn, "%s/%c%d", onnx_out_name(c, 0), k ? 'c' : 'h', d);
        int v = ir_value(g, yn, ROLE_ACT, 0, 2, nh);
        ir_add_output(g, node, v);
        long hd[2] = { N, H };
        Tensor *t = onnx_add_tensor(c->im, yn, 2, hd);
        t->value = v;
        if (k) *cst = t; else *h = t;
    }
    int wv = ir_value(g, "rnn.work", ROLE_ACT, 0, 1, &work);
    ir_add_output(g, node, wv);
    return y;
}

/* ONNX output o (Y, Y_h, Y_c) from the directions' results src[]: Y is
 * (T, dirs, N, H), or (N, T, dirs, H) with layout 1; the states (dirs, N, H)
 * or (N, dirs, H) */
static void rnn_output(Ctx *c, int o, Tensor **src, const Rnn *s) {
    long N = s->N, T = s->T, H = s->H;
    int layout = s->layout, dirs = s->dirs;
    Tensor *parts[2];
    long pd[MAX_T];
    int prank = 0;      /* set by every direction; dirs >= 1 */
    for (int d = 0; d < dirs; d++) {
        long ss[3];
        nd_strides(src[d]->rank, src[d]->dims, ss);
        Attrs t;
        memset(&t, 0, sizeof t);
        if (o == 0) {   /* (N, T, H) -> (T, 1, N, H) or (N, T, 1, H) */
            long dims0[4] = { T, 1, N, H }, dims1[4] = { N, T, 1, H };
            prank = 4;
            memcpy(pd, layout ? dims1 : dims0, sizeof dims0);
            nd_dense(&t.nd, 4, pd);
            if (layout) { t.nd.as[0] = ss[0]; t.nd.as[1] = ss[1]; t.nd.as[3] = ss[2]; }
            else { t.nd.as[0] = ss[1]; t.nd.as[2] = ss[0]; t.nd.as[3] = ss[2]; }
        } else {        /* (N, H) -> (1, N, H) or (N, 1, H) */
            long dims0[3] = { 1, N, H }, dims1[3] = { N, 1, H };
            prank = 3;
            memcpy(pd, layout ? dims1 : dims0, sizeof dims0);
            nd_dense(&t.nd, 3, pd);
            if (layout) { t.nd.as[0] = ss[0]; t.nd.as[2] = ss[1]; }
            else { t.nd.as[1] = ss[0]; t.nd.as[2] = ss[1]; }
        }
        char name[170];
        ir_format_name(name, "%s/part%d", c->n->output[o], d);
        parts[d] = onnx_apply(c->im, OP_ND_COPY, &src[d], 1, &t, dirs == 1 ? c->n->output[o] : name, prank, pd);
    }
    if (dirs == 2) {
        Attrs a;
        memset(&a, 0, sizeof a);
        a.axis = o == 0 ? (layout ? 2 : 1) : (layout ? 1 : 0);
        pd[a.axis] = 2;
        onnx_apply(c->im, OP_ND_CONCAT, parts, 2, &a, c->n->output[o], prank, pd);
    }
}

Tensor *onnx_recurrent(Ctx *c, int cell) {
    static const int lstm_perm[4] = { 0, 2, 3, 1 }, same[3] = { 0, 1, 2 };   /* ONNX i o f c -> Keras i f c o */
    Tensor *x = c->in[0];
    Rnn s;
    s.cell = cell;
    s.gates = cell == NNC_RT_CELL_LSTM ? 4 : cell == NNC_RT_CELL_GRU ? 3 : 1;
    s.perm = cell == NNC_RT_CELL_LSTM ? lstm_perm : same;
    s.H = onnx_attr_i(c->n, "hidden_size", 0);
    s.layout = (int)onnx_attr_i(c->n, "layout", 0);
    s.dirs = onnx_attr_is(c->n, "direction", "bidirectional") ? 2 : 1;
    s.reverse = onnx_attr_is(c->n, "direction", "reverse");
    s.T = s.layout ? x->dims[1] : x->dims[0];
    s.N = s.layout ? x->dims[0] : x->dims[1];
    s.F = x->dims[2];
    if (rnn_invalid(c, &s) || rnn_unsupported(c, &s)) return NULL;
    Tensor *xb = batch_major(c, x, &s);
    Tensor *ys[2], *hs[2], *cs[2];
    for (int d = 0; d < s.dirs; d++)
        if (!(ys[d] = rnn_direction(c, xb, d, &s, &hs[d], &cs[d]))) return NULL;
    for (int o = 0; o < (int)c->n->n_output; o++)
        if (*c->n->output[o]) rnn_output(c, o, o == 0 ? ys : o == 1 ? hs : cs, &s);
    Tensor *first = onnx_find(c->im, c->n->output[0]);
    return first ? first : ys[0];
}
