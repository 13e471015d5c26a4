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
 *  - What the kernels do not model (an initial state that is not a zero
 *    constant (the streaming case, state in and out of every call), GRU's
 *    linear_before_reset = 0, activations other than the defaults, clip,
 *    peepholes, input_forget, sequence_lens, weights computed at run time) is
 *    unrolled into N-d ops in ONNX's own equations (rnn_unrolled), up to
 *    RNN_MAX_UNROLL steps; --train of that form is unsupported.
 */
#include <stdio.h>
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

/* the stem of this node's intermediate names: its first named output (Y
 * may be omitted, and two nodes without Y must not share names) */
static const char *rnn_base(Ctx *c) {
    for (size_t i = 0; i < c->n->n_output; i++)
        if (*c->n->output[i]) return c->n->output[i];
    return "rnn";
}

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

typedef struct Act { int fn; float alpha, beta; int scaled; } Act;

static int same_name(const ProtobufCBinaryData *s, const char *name) {
    size_t n = strlen(name);
    if (s->len != n) return 0;
    for (size_t i = 0; i < n; i++) {
        int a = s->data[i], b = (unsigned char)name[i];
        if (a >= 'A' && a <= 'Z') a += 'a' - 'A';
        if (b >= 'A' && b <= 'Z') b += 'a' - 'A';
        if (a != b) return 0;
    }
    return 1;
}

/* the activations of each direction: acts[d * 3 + k] for the cell's k-th
 * function (LSTM f g h, GRU f g, RNN f); alpha and beta are consumed in list
 * order by the functions that take them; -1 after reporting */
static int rnn_acts(Ctx *c, const Rnn *s, Act *acts) {
    static const struct { const char *name; int fn, nalpha, nbeta; float alpha, beta; } known[] = {
        { "sigmoid", NNC_RT_UN_SIGMOID, 0, 0, 0, 0 }, { "tanh", NNC_RT_UN_TANH, 0, 0, 0, 0 },
        { "relu", NNC_RT_UN_RELU, 0, 0, 0, 0 }, { "hardsigmoid", NNC_RT_UN_HARD_SIGMOID, 1, 1, 0.2f, 0.5f },
        { "leakyrelu", NNC_RT_UN_LEAKY_RELU, 1, 0, 0.01f, 0 }, { "thresholdedrelu", NNC_RT_UN_THRESHOLDED_RELU, 1, 0, 1, 0 },
        { "scaledtanh", NNC_RT_UN_TANH, 1, 1, 1, 1 }, { "affine", NNC_RT_UN_AFFINE, 1, 1, 1, 0 },
        { "elu", NNC_RT_UN_ELU, 1, 0, 1, 0 }, { "softsign", NNC_RT_UN_SOFTSIGN, 0, 0, 0, 0 },
        { "softplus", NNC_RT_UN_SOFTPLUS, 0, 0, 0, 0 },
    };
    int count = s->cell == NNC_RT_CELL_LSTM ? 3 : s->cell == NNC_RT_CELL_GRU ? 2 : 1;
    for (int d = 0; d < s->dirs; d++)
        for (int k = 0; k < count; k++) {
            int tanh_first = s->cell == NNC_RT_CELL_SIMPLE || k > 0;
            acts[d * 3 + k] = (Act){ tanh_first ? NNC_RT_UN_TANH : NNC_RT_UN_SIGMOID, 0, 0, 0 };
        }
    const Onnx__AttributeProto *at = onnx_attr(c->n, "activations");
    if (!at) return 0;
    int n = (int)at->n_strings;
    if (n != count && n != count * s->dirs) {
        onnx_invalid(c->im, "activations lists %d functions; this cell takes %d per direction", n, count);
        return -1;
    }
    const Onnx__AttributeProto *aa = onnx_attr(c->n, "activation_alpha"), *ab = onnx_attr(c->n, "activation_beta");
    size_t ia = 0, ib = 0;
    for (int i = 0; i < n; i++) {
        int j = 0, nk = (int)(sizeof known / sizeof *known);
        while (j < nk && !same_name(&at->strings[i], known[j].name)) j++;
        if (j == nk) {
            char why[200];
            snprintf(why, sizeof why, "activation '%.*s' (nnc maps Sigmoid, Tanh, Relu, HardSigmoid, LeakyRelu, "
                     "ThresholdedRelu, ScaledTanh, Affine, Elu, Softsign, Softplus)", (int)(at->strings[i].len > 60 ? 60 :
                     at->strings[i].len), (const char *)at->strings[i].data);
            onnx_unsupported(c->im, why);
            return -1;
        }
        Act a = { known[j].fn, known[j].alpha, known[j].beta, same_name(&at->strings[i], "scaledtanh") };
        if (known[j].nalpha && aa && ia < aa->n_floats) a.alpha = aa->floats[ia++];
        if (known[j].nbeta && ab && ib < ab->n_floats) a.beta = ab->floats[ib++];
        for (int d = i / count; d < (n == count ? s->dirs : i / count + 1); d++) acts[d * 3 + i % count] = a;
    }
    return 0;
}

/* why the kernels cannot compute this node (it is then unrolled), or NULL
 * when they can: constant weights, the default activations, no clip,
 * peepholes or input_forget, GRU's linear_before_reset = 1, a zero initial
 * state, whole sequences */
static const char *rnn_kernel_misfit(Ctx *c, const Rnn *s, const long *lens, const Act *acts) {
    Tensor *w = c->in[1], *r = c->in[2], *b = c->nin > 3 ? c->in[3] : NULL;
    Tensor *h0 = c->nin > 5 ? c->in[5] : NULL, *c0 = c->nin > 6 ? c->in[6] : NULL, *peep = c->nin > 7 ? c->in[7] : NULL;
    if (!w->data || !r->data || (b && !b->data)) return "weights computed at run time";
    for (int d = 0; d < s->dirs; d++)
        for (int k = 0; k < 3; k++) {   /* the defaults; a SimpleRNN's kernel also has Sigmoid and Relu */
            const Act *a = &acts[d * 3 + k];
            int want = s->cell == NNC_RT_CELL_SIMPLE || k ? NNC_RT_UN_TANH : NNC_RT_UN_SIGMOID;
            if (k >= (s->cell == NNC_RT_CELL_LSTM ? 3 : s->cell == NNC_RT_CELL_GRU ? 2 : 1)) continue;
            if (a->scaled || (a->fn != want && !(s->cell == NNC_RT_CELL_SIMPLE &&
                                                 (a->fn == NNC_RT_UN_SIGMOID || a->fn == NNC_RT_UN_RELU))))
                return "activations";
        }
    if (onnx_attr(c->n, "clip")) return "clip";
    if (onnx_attr_i(c->n, "input_forget", 0)) return "input_forget";
    if (s->cell == NNC_RT_CELL_GRU && !onnx_attr_i(c->n, "linear_before_reset", 0)) return "linear_before_reset = 0";
    if ((h0 && (!h0->data || !all_zero(h0))) || (c0 && (!c0->data || !all_zero(c0))))
        return "an initial state that is not a zero constant";
    if (peep && (!peep->data || !all_zero(peep))) return "peepholes";
    if (lens)
        for (long i = 0; i < s->N; i++)
            if (lens[i] != s->T) return "sequence_lens shorter than X";
    return NULL;
}

/* the optional inputs' shapes and sequence_lens' values (into lens, N of
 * them, or lens[0] = -1 when absent); -1 after reporting */
static int rnn_state_inputs(Ctx *c, const Rnn *s, long *lens) {
    Tensor *sl = c->nin > 4 ? c->in[4] : NULL;
    long N = s->N, H = s->H;
    for (int i = 5; i < c->nin && i < 8; i++) {
        Tensor *t = c->in[i];
        if (!t || (i == 7 && s->cell != NNC_RT_CELL_LSTM)) continue;
        int ok = i == 7 ? t->rank == 2 && t->dims[0] == s->dirs && t->dims[1] == 3 * H
                        : t->rank == 3 && t->dims[0] == (s->layout ? N : s->dirs) &&
                          t->dims[1] == (s->layout ? s->dirs : N) && t->dims[2] == H;
        if (!ok) {
            onnx_invalid(c->im, "%s must be %s", i == 5 ? "initial_h" : i == 6 ? "initial_c" : "P",
                         i == 7 ? "(num_directions, 3 * hidden_size)" :
                         s->layout ? "(batch, num_directions, hidden_size) with layout 1"
                                   : "(num_directions, batch, hidden_size)");
            return -1;
        }
    }
    lens[0] = -1;
    if (!sl) return 0;
    if (sl->rank != 1 || sl->dims[0] != N) { onnx_invalid(c->im, "sequence_lens must be (batch)"); return -1; }
    if (!sl->data) { onnx_unsupported(c->im, "sequence_lens computed at run time"); return -1; }
    for (long i = 0; i < N; i++) {
        lens[i] = onnx_to_long(sl->data[i]);
        if (lens[i] < 0 || lens[i] > s->T) {
            onnx_invalid(c->im, "sequence_lens[%ld] is %ld; it must be from 0 to the %ld steps of X", i, lens[i], s->T);
            return -1;
        }
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
    ir_format_name(name, "%s/%s%d", rnn_base(c), suffix, dir);
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
    ir_format_name(name, "%s/B%d", rnn_base(c), d);
    long one = bn;
    Tensor *t = onnx_add_constant(c->im, name, gru ? 2 : 1, gru ? bd : &one, bv);
    t->param = b->param;
    return t;
}

/* X as (N, T, F), the kernels' order */
static Tensor *batch_major(Ctx *c, Tensor *x, const Rnn *s) {
    char n0[170];
    ir_format_name(n0, "%s/xbt", rnn_base(c));
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
static Tensor *rnn_direction(Ctx *c, Tensor *xb, int d, const Rnn *s, const Act *acts, Tensor **h, Tensor **cst) {
    Tensor *w = c->in[1], *r = c->in[2], *b = c->nin > 3 ? c->in[3] : NULL;
    long N = s->N, T = s->T, H = s->H;
    Tensor *wk = keras_gates(c, w, d, s->gates, H, s->F, s->perm, "W");
    Tensor *rk = keras_gates(c, r, d, s->gates, H, H, s->perm, "R");
    Tensor *bk = b ? keras_bias(c, b, d, s) : NULL;
    Attrs a;
    memset(&a, 0, sizeof a);
    int fn = acts[d * 3].fn, act = fn == NNC_RT_UN_RELU ? NNC_RT_ACT_RELU : fn == NNC_RT_UN_SIGMOID && s->cell ==
                                   NNC_RT_CELL_SIMPLE ? NNC_RT_ACT_SIGMOID : NNC_RT_ACT_TANH;   /* SimpleRNN's f */
    nnc_rt_rnn p = { (int)T, (int)s->F, (int)H, s->cell, act, 1, d == 1 || s->reverse };
    a.rnn = p;
    a.samples = (int)N;
    Tensor *in[4] = { xb, wk, rk, bk };
    char yn[170];
    ir_format_name(yn, "%s/y%d", rnn_base(c), d);
    long ydims[3] = { N, T, H };
    Tensor *y = onnx_apply(c->im, OP_ND_RNN, in, bk ? 4 : 3, &a, yn, 3, ydims);
    if (!y) return NULL;
    Graph *g = c->im->g;
    int node = g->values[y->value].producer, nh[2] = { (int)N, (int)H };
    if (N * NNC_RT_RNN_WORK(&p) > ONNX_MAX_ELEMS) { onnx_unsupported(c->im, "a workspace above 2^31 floats"); return NULL; }
    int work = (int)(N * NNC_RT_RNN_WORK(&p));
    for (int k = 0; k < (s->cell == NNC_RT_CELL_LSTM ? 2 : 1); k++) {
        ir_format_name(yn, "%s/%c%d", rnn_base(c), k ? 'c' : 'h', d);
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

/* ---- the general form: the recurrence unrolled into N-d ops --------------------
 * What the kernels do not model (an initial state that is not zero or is
 * computed, as a streaming model feeds its last call's state back; GRU's
 * linear_before_reset = 0; other activations, clip, peepholes,
 * input_forget, shorter sequences, weights computed at run time) is built
 * step by step from nd_matmul, nd_binary, nd_unary and nd_copy, in ONNX's
 * own gate order and equations.  One step is some twenty nodes: meant for
 * the short chunks streaming models run, correct for any length.  The
 * element-wise ops train only through Sigmoid, Tanh and Relu and concat has
 * no gradient, so --train of this form is refused by autodiff, never wrong. */

#define RNN_MAX_UNROLL 2048     /* steps (times directions) unrolled; beyond, compiling gets slow */

/* the running state of one unrolled direction */
typedef struct Unroll {
    Ctx *c;
    const Rnn *s;
    int d, step;
    int clip;
    float th;
} Unroll;

/* "<output>/u<d>.<step>.<what>" */
static void uname(const Unroll *u, char *buf, const char *what) {
    ir_format_name(buf, "%s/u%d.%d.%s", rnn_base(u->c), u->d, u->step, what);
}

/* x read through an N-d space (out dims, strides into x, offset): a slice,
 * transpose or broadcast copy */
static Tensor *view(Unroll *u, Tensor *x, int rank, const long *dims, const long *as, long off, const char *what) {
    if (!x) return NULL;
    char name[170];
    uname(u, name, what);
    Attrs a;
    memset(&a, 0, sizeof a);
    nd_dense(&a.nd, rank, dims);
    for (int k = 0; k < rank; k++) a.nd.as[k] = as[k];
    a.nd.aoff = off;
    return onnx_apply(u->c->im, OP_ND_COPY, &x, 1, &a, name, rank, dims);
}

static Tensor *un(Unroll *u, int fn, float alpha, float beta, Tensor *x, const char *what) {
    if (!x) return NULL;
    char name[170];
    uname(u, name, what);
    Attrs a;
    memset(&a, 0, sizeof a);
    a.fn = fn; a.alpha = alpha; a.beta = beta;
    return onnx_apply(u->c->im, OP_ND_UNARY, &x, 1, &a, name, x->rank, x->dims);
}

static Tensor *bin(Unroll *u, int fn, Tensor *x, Tensor *y, const char *what) {
    char name[170];
    uname(u, name, what);
    return onnx_binary_of(u->c, fn, x, y, name);
}

/* x + y where y may be absent (a zero initial state's term) */
static Tensor *plus(Unroll *u, Tensor *x, Tensor *y, const char *what) {
    return y ? bin(u, NNC_RT_BIN_ADD, x, y, what) : x;
}

/* a (..., M, K) . b (K, N) */
static Tensor *mm(Unroll *u, Tensor *a, Tensor *b, const char *what) {
    if (!a || !b) return NULL;
    char name[170];
    uname(u, name, what);
    Attrs at;
    memset(&at, 0, sizeof at);
    int M = (int)a->dims[a->rank - 2], K = (int)a->dims[a->rank - 1], N = (int)b->dims[1];
    long dims[MAX_T];
    int rank = a->rank - 2;
    memcpy(dims, a->dims, sizeof dims);
    nd_dense(&at.nd, rank, dims);
    for (int d = 0; d < rank; d++) {
        long as[MAX_T];
        nd_strides(rank, dims, as);
        at.nd.as[d] = as[d] * M * K;
        at.nd.bs[d] = 0;
        at.nd.ys[d] = as[d] * M * N;
    }
    at.M = M; at.N = N; at.K = K;
    dims[rank] = M;
    dims[rank + 1] = N;
    Tensor *in[2] = { a, b };
    return onnx_apply(u->c->im, OP_ND_MATMUL, in, 2, &at, name, rank + 2, dims);
}

/* an activation of the node's list, clip first when the node asks for it
 * and the input is a gate's (clip bounds the gates' pre-activations, not the
 * cell state C_t that h() reads, as onnxruntime does) */
static Tensor *act(Unroll *u, const Act *a, Tensor *x, const char *what) {
    char w[40];
    if (u->clip && strcmp(what, "hc")) {
        snprintf(w, sizeof w, "%s.clip", what);
        x = un(u, NNC_RT_UN_CLIP, -u->th, u->th, x, w);
    }
    snprintf(w, sizeof w, "%s.act", what);
    if (!a->scaled) return un(u, a->fn, a->alpha, a->beta, x, w);
    x = un(u, NNC_RT_UN_AFFINE, a->beta, 0, x, w);     /* ScaledTanh: alpha * tanh(beta * x) */
    snprintf(w, sizeof w, "%s.tanh", what);
    x = un(u, NNC_RT_UN_TANH, 0, 0, x, w);
    snprintf(w, sizeof w, "%s.scale", what);
    return un(u, NNC_RT_UN_AFFINE, a->alpha, 0, x, w);
}

/* a frozen constant of this node (a mask): never a trained parameter */
static void freeze(Ctx *c, Tensor *t) {
    if (!t || t->value < 0) return;
    Value *v = &c->im->g->values[t->value];
    v->trainable = 0;
    v->constant = 1;
}

/* x (N, T, W) with each sequence's first lens[b] steps reversed in time and
 * the rest in place: an involution, applied to X before and to Y after a
 * reverse direction whose sequences are shorter than X, which then runs
 * forward over its masked steps */
static Tensor *flip_prefix(Unroll *u, Tensor *x, const long *lens, const char *what) {
    if (!x) return NULL;
    long N = x->dims[0], T = x->dims[1], NT = N * T;
    float *idx = malloc((size_t)NT * sizeof *idx);
    if (!idx) abort();
    for (long b = 0; b < N; b++)
        for (long k = 0; k < T; k++) idx[b * T + k] = (float)(b * T + (k < lens[b] ? lens[b] - 1 - k : k));
    char name[170], iname[170];
    uname(u, name, what);
    ir_format_name(iname, "%s.idx", name);
    Tensor *it = onnx_add_constant(u->c->im, iname, 1, &NT, idx);
    Attrs a;
    memset(&a, 0, sizeof a);
    a.outer = 1; a.alen = NT; a.inner = x->dims[2]; a.ny = NT;
    Tensor *in[2] = { x, it };
    Tensor *y = onnx_apply(u->c->im, OP_ND_GATHER, in, 2, &a, name, 3, x->dims);
    freeze(u->c, it);
    return y;
}

/* direction d unrolled: its sequence (N, T, H) when Y is asked for, its final
 * h and c; -1 after reporting */
static int rnn_unrolled(Ctx *c, Tensor *xb, int d, const Rnn *s, const Act *acts, const long *lens,
                        Tensor **yseq, Tensor **hfin, Tensor **cfin) {
    Tensor *w = c->in[1], *r = c->in[2], *b = c->nin > 3 ? c->in[3] : NULL;
    Tensor *h0 = c->nin > 5 ? c->in[5] : NULL, *c0 = c->nin > 6 ? c->in[6] : NULL, *pp = c->nin > 7 ? c->in[7] : NULL;
    long N = s->N, T = s->T, H = s->H, F = s->F, G = s->gates, GH = G * H;
    int lstm = s->cell == NNC_RT_CELL_LSTM, gru = s->cell == NNC_RT_CELL_GRU;
    int lbr = gru && onnx_attr_i(c->n, "linear_before_reset", 0);
    Unroll u = { c, s, d, 0, onnx_attr(c->n, "clip") != NULL, onnx_attr_f(c->n, "clip", 0) };
    const Act *fa = acts + d * 3;
    char what[40];
    int flip = 0;
    for (long i = 0; (d == 1 || s->reverse) && lens && i < N; i++) flip |= lens[i] < T;
    if (flip) xb = flip_prefix(&u, xb, lens, "xflip");
    /* per gate (ONNX order): W_k^T (F, H), R_k^T (H, H), the input side's bias */
    Tensor *wk[4], *rk[4], *px[4], *rbh = NULL;
    for (int k = 0; k < G; k++) {
        long wd[2] = { F, H }, ws[2] = { 1, F }, rd[2] = { H, H }, rs[2] = { 1, H }, one = 1;
        snprintf(what, sizeof what, "W%d", k);
        wk[k] = view(&u, w, 2, wd, ws, (d * GH + k * H) * F, what);
        snprintf(what, sizeof what, "R%d", k);
        rk[k] = view(&u, r, 2, rd, rs, (d * GH + k * H) * H, what);
        Tensor *bias = NULL;
        if (b) {
            snprintf(what, sizeof what, "Wb%d", k);
            Tensor *wb = view(&u, b, 1, &H, &one, d * 2 * GH + k * H, what);
            snprintf(what, sizeof what, "Rb%d", k);
            Tensor *rb = view(&u, b, 1, &H, &one, d * 2 * GH + GH + k * H, what);
            if (lbr && k == 2) { bias = wb; rbh = rb; }
            else {
                snprintf(what, sizeof what, "b%d", k);
                bias = bin(&u, NNC_RT_BIN_ADD, wb, rb, what);
            }
        }
        snprintf(what, sizeof what, "xw%d", k);
        px[k] = mm(&u, xb, wk[k], what);            /* (N, T, H) */
        snprintf(what, sizeof what, "xwb%d", k);
        if (bias) px[k] = bin(&u, NNC_RT_BIN_ADD, px[k], bias, what);
        if (!px[k]) return -1;
    }
    /* the initial state and the peepholes (i, o, f) of this direction */
    Tensor *h = NULL, *cs = NULL, *pi = NULL, *po = NULL, *pf = NULL;
    long nh[2] = { N, H }, st[2] = { s->layout ? s->dirs * H : H, 1 }, st0 = s->layout ? d * H : d * N * H, one = 1;
    if (h0) h = view(&u, h0, 2, nh, st, st0, "h0");
    if (c0 && lstm) cs = view(&u, c0, 2, nh, st, st0, "c0");
    if (pp && lstm) {
        pi = view(&u, pp, 1, &H, &one, d * 3 * H, "Pi");
        po = view(&u, pp, 1, &H, &one, d * 3 * H + H, "Po");
        pf = view(&u, pp, 1, &H, &one, d * 3 * H + 2 * H, "Pf");
    }
    int reverse = (d == 1 || s->reverse) && !flip;
    Tensor **ys = calloc((size_t)T, sizeof *ys);
    if (!ys) abort();
    for (long k = 0; k < T; k++) {
        long t = reverse ? T - 1 - k : k, sd[2] = { T * H, 1 };
        u.step = (int)t;
        Tensor *x[4], *hr[4] = { NULL, NULL, NULL, NULL };
        for (int g = 0; g < G; g++) {
            snprintf(what, sizeof what, "x%d", g);
            x[g] = view(&u, px[g], 2, nh, sd, t * H, what);
            snprintf(what, sizeof what, "hr%d", g);
            if (h && !(gru && g == 2 && !lbr)) hr[g] = mm(&u, h, rk[g], what);
        }
        Tensor *hn = NULL, *cn = NULL;
        if (lstm) {     /* ONNX's gates i o f c */
            Tensor *ip = plus(&u, x[0], hr[0], "ip"), *fp = plus(&u, x[2], hr[2], "fp");
            if (cs && pi) ip = plus(&u, ip, bin(&u, NNC_RT_BIN_MUL, pi, cs, "pic"), "ipp");
            if (cs && pf) fp = plus(&u, fp, bin(&u, NNC_RT_BIN_MUL, pf, cs, "pfc"), "fpp");
            Tensor *ig = act(&u, &fa[0], ip, "i");
            Tensor *fg = onnx_attr_i(c->n, "input_forget", 0) ? un(&u, NNC_RT_UN_AFFINE, -1, 1, ig, "f1mi")
                                                              : act(&u, &fa[0], fp, "f");
            Tensor *cg = act(&u, &fa[1], plus(&u, x[3], hr[3], "cp"), "c");
            cn = bin(&u, NNC_RT_BIN_MUL, ig, cg, "icc");
            if (cs) cn = bin(&u, NNC_RT_BIN_ADD, cn, bin(&u, NNC_RT_BIN_MUL, fg, cs, "fc"), "C");
            Tensor *op = plus(&u, x[1], hr[1], "op");
            if (po) op = plus(&u, op, bin(&u, NNC_RT_BIN_MUL, po, cn, "poc"), "opp");
            Tensor *og = act(&u, &fa[0], op, "o");
            hn = bin(&u, NNC_RT_BIN_MUL, og, act(&u, &fa[2], cn, "hc"), "H");
        } else if (gru) {   /* z r h */
            Tensor *zg = act(&u, &fa[0], plus(&u, x[0], hr[0], "zp"), "z");
            Tensor *rg = act(&u, &fa[0], plus(&u, x[1], hr[1], "rp"), "r");
            Tensor *hp;
            if (lbr) {      /* r * (h.R_h + Rb_h) */
                Tensor *rec = hr[2] ? plus(&u, hr[2], rbh, "hrb") : rbh;
                hp = rec ? plus(&u, x[2], bin(&u, NNC_RT_BIN_MUL, rg, rec, "rrec"), "hp") : x[2];
            } else {        /* (r * h).R_h, whose bias is in x */
                hp = h ? plus(&u, x[2], mm(&u, bin(&u, NNC_RT_BIN_MUL, rg, h, "rh"), rk[2], "rhr"), "hp") : x[2];
            }
            Tensor *hh = act(&u, &fa[1], hp, "hh");
            if (h)      /* (1 - z) hh + z h = hh + z (h - hh) */
                hn = bin(&u, NNC_RT_BIN_ADD, hh, bin(&u, NNC_RT_BIN_MUL, zg, bin(&u, NNC_RT_BIN_SUB, h, hh, "hmhh"), "zd"), "H");
            else
                hn = bin(&u, NNC_RT_BIN_MUL, un(&u, NNC_RT_UN_AFFINE, -1, 1, zg, "1mz"), hh, "H");
        } else {
            hn = act(&u, &fa[0], plus(&u, x[0], hr[0], "p"), "H");
        }
        Tensor *yt = hn;
        if (lens) {     /* steps past a sequence's end: Y zero, the state kept */
            long live = 0;
            for (long i = 0; i < N; i++) live += lens[i] > t;
            if (live < N) {
                long md[2] = { N, 1 };
                float *m = malloc((size_t)N * sizeof *m);
                if (!m) abort();
                for (long i = 0; i < N; i++) m[i] = lens[i] > t ? 1.0f : 0.0f;
                char mn[170];
                uname(&u, mn, "mask");
                Tensor *mask = onnx_add_constant(c->im, mn, 2, md, m);
                yt = bin(&u, NNC_RT_BIN_MUL, hn, mask, "ym");
                hn = h ? bin(&u, NNC_RT_BIN_ADD, h, bin(&u, NNC_RT_BIN_MUL, mask, bin(&u, NNC_RT_BIN_SUB, hn, h, "dh"), "mdh"),
                             "Hm") : yt;
                if (lstm)
                    cn = cs ? bin(&u, NNC_RT_BIN_ADD, cs, bin(&u, NNC_RT_BIN_MUL, mask, bin(&u, NNC_RT_BIN_SUB, cn, cs, "dc"),
                                                              "mdc"), "Cm") : bin(&u, NNC_RT_BIN_MUL, cn, mask, "Cm");
                freeze(c, mask);
            }
        }
        if (!hn || (lstm && !cn) || !yt) { free(ys); return -1; }
        ys[t] = yt;
        h = hn;
        cs = cn;
    }
    *hfin = h;
    *cfin = cs;
    *yseq = NULL;
    if (*c->n->output[0]) {     /* the steps as (N, 1, H) concatenated in time, IR_MAX_IO at a time */
        long one3[3] = { N, 1, H }, vs[3] = { H, 0, 1 };
        Tensor *in[IR_MAX_IO];
        int n = 0;
        long done = 0;
        Attrs a;
        memset(&a, 0, sizeof a);
        a.axis = 1;
        for (long t = 0; t < T; t++) {
            u.step = (int)t;
            in[n++] = view(&u, ys[t], 3, one3, vs, 0, "y");
            done++;
            if (n == IR_MAX_IO || t == T - 1) {
                long dims[3] = { N, done, H };
                char name[170];
                uname(&u, name, "Y");
                in[0] = onnx_apply(c->im, OP_ND_CONCAT, in, n, &a, name, 3, dims);
                if (!in[0]) { free(ys); return -1; }
                n = 1;
            }
        }
        *yseq = flip ? flip_prefix(&u, in[0], lens, "yflip") : in[0];
        if (!*yseq) { free(ys); return -1; }
    }
    free(ys);
    return 0;
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
    if (rnn_invalid(c, &s)) return NULL;
    if (s.T < 1 || s.N < 1 || s.F < 1) { onnx_unsupported(c->im, "an empty sequence, batch or feature axis"); return NULL; }
    long *lens = malloc((size_t)s.N * sizeof *lens);
    if (!lens) abort();
    if (rnn_state_inputs(c, &s, lens)) { free(lens); return NULL; }
    Tensor *xb = batch_major(c, x, &s);
    Tensor *ys[2], *hs[2], *cs[2];
    Act acts[6];
    if (rnn_acts(c, &s, acts)) { free(lens); return NULL; }
    const char *misfit = rnn_kernel_misfit(c, &s, lens[0] < 0 ? NULL : lens, acts);
    if (misfit && c->im->trainable) {   /* the N-d ops have no gradient for all of the unrolled form */
        char why[200];
        snprintf(why, sizeof why, "training a recurrence with %s (nnc trains the LSTM, GRU and RNN its kernels compute: "
                 "default activations, zero initial state, GRU linear_before_reset = 1)", misfit);
        onnx_unsupported(c->im, why);
        free(lens);
        return NULL;
    }
    if (misfit && s.T * s.dirs > RNN_MAX_UNROLL) {
        char why[200];
        snprintf(why, sizeof why, "%s over %ld steps: nnc unrolls such a recurrence, up to %d steps", misfit,
                 s.T * s.dirs, RNN_MAX_UNROLL);
        onnx_unsupported(c->im, why);
        free(lens);
        return NULL;
    }
    if (!misfit) {
        free(lens);
        for (int d = 0; d < s.dirs; d++)
            if (!(ys[d] = rnn_direction(c, xb, d, &s, acts, &hs[d], &cs[d]))) return NULL;
    } else {
        int bad = 0;
        for (int d = 0; d < s.dirs && !bad; d++)
            bad = rnn_unrolled(c, xb, d, &s, acts, lens[0] < 0 ? NULL : lens, &ys[d], &hs[d], &cs[d]);
        free(lens);
        if (bad) return NULL;
        if (s.cell != NNC_RT_CELL_LSTM && c->n->n_output > 2 && *c->n->output[2]) {
            onnx_invalid(c->im, "only LSTM has a Y_c output");
            return NULL;
        }
    }
    for (int o = 0; o < (int)c->n->n_output; o++)
        if (*c->n->output[o]) rnn_output(c, o, o == 0 ? ys : o == 1 ? hs : cs, &s);
    Tensor *first = onnx_find(c->im, c->n->output[0]);
    return first ? first : ys[0] ? ys[0] : hs[0];
}
