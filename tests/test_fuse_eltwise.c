/* test_fuse_eltwise.c — passes/fuse_eltwise.c: the hard-swish chains an
 * exporter writes out node by node (Add 3, Clip 0..6, Mul, Div 6; the Div
 * before the Mul; HardSigmoid(1/6, 1/2) and Mul) become one HardSwish node,
 * after which passes/layout.c removes the NCHW <-> NHWC copies around it.
 * Graphs built by hand like the importer's, run by a small interpreter (the
 * op table's fold hooks, the runtime's convolution) before and after the
 * passes, at batch 1 and 3; chains that must stay (a shared intermediate,
 * other constants, a trained parameter upstream) stay.  x * a + b with
 * scalars a, b becomes one affine node, which passes/fuse_nd.c folds into the
 * convolution before it, or after it when that reads no padded cell. */
#include <check.h>
#include "check_run.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ir.h"
#include "nnc_rt.h"

static const int TO_NHWC[4] = { 0, 2, 3, 1 }, TO_NCHW[4] = { 0, 3, 1, 2 };

static float rnd(unsigned *s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 8) / 16777216.0f * 2.0f - 1.0f;
}

static Graph *new_graph(void) {
    Graph *g = ir_new("t");
    g->train.batch = 1;
    return g;
}

static int input(Graph *g, int rank, const int *dims) {
    int v = ir_value(g, "x", ROLE_INPUT, 0, rank, dims);
    g->inputs[g->ninputs++] = v;
    g->input = v;
    return v;
}

/* a baked constant: random values in [-scale, scale] (seeded), or trained */
static int param(Graph *g, const char *name, int rank, const int *dims, unsigned seed, float scale, int trainable) {
    int v = ir_new_constant(g, name, rank, dims, NULL);
    float *d = g->baked + g->values[v].baked_at;
    for (long i = 0; i < ir_size(&g->values[v]); i++) d[i] = scale * rnd(&seed);
    if (trainable) {
        g->values[v].constant = 0;
        g->values[v].trainable = 1;
    }
    return v;
}

static int scalar(Graph *g, const char *name, float value) {
    int one = 1, v = ir_new_constant(g, name, 1, &one, NULL);
    g->baked[g->values[v].baked_at] = value;
    return v;
}

static int node(Graph *g, int op, const int *in, int nin, const Attrs *a, const char *name, int rank, const int *dims) {
    int n = ir_node(g, op, in, nin, (Loc){ 0, 0, 0, 0 });
    g->nodes[n].attr = *a;
    ir_add_output(g, n, ir_value(g, name, ROLE_ACT, 0, rank, dims));
    return g->nodes[n].out[0];
}

static void strides_of(const int *dims, int rank, long *s) {
    long ext[NNC_RT_ND_MAX];
    for (int d = 0; d < rank; d++) ext[d] = dims[d];
    nd_strides(rank, ext, s);
}

static int transpose(Graph *g, int x, const int *perm, const char *name) {
    Attrs a;
    memset(&a, 0, sizeof a);
    const Value *xv = &g->values[x];
    int dims[4];
    long xs[4];
    strides_of(xv->dims, 4, xs);
    for (int d = 0; d < 4; d++) dims[d] = xv->dims[perm[d]];
    a.nd.rank = 4;
    for (int d = 0; d < 4; d++) { a.nd.dims[d] = dims[d]; a.nd.as[d] = xs[perm[d]]; }
    strides_of(dims, 4, a.nd.ys);
    return node(g, OP_ND_COPY, &x, 1, &a, name, 4, dims);
}

static int unary(Graph *g, int fn, int x, float alpha, float beta, const char *name) {
    Attrs a;
    memset(&a, 0, sizeof a);
    a.fn = fn; a.alpha = alpha; a.beta = beta;
    Value xv = g->values[x];
    return node(g, OP_ND_UNARY, &x, 1, &a, name, xv.rank, xv.dims);
}

/* a op b, b broadcast into a's shape (the importer's rule), or a into b's
 * when b is the larger (a scalar first: 3 + x) */
static int binary(Graph *g, int fn, int a_, int b_, const char *name) {
    Attrs a;
    memset(&a, 0, sizeof a);
    Value av = g->values[a_], bv = g->values[b_];
    int big = ir_size(&bv) > ir_size(&av);
    const Value *out = big ? &bv : &av;
    long ad[NNC_RT_ND_MAX], bd[NNC_RT_ND_MAX], od[NNC_RT_ND_MAX];
    for (int d = 0; d < av.rank; d++) ad[d] = av.dims[d];
    for (int d = 0; d < bv.rank; d++) bd[d] = bv.dims[d];
    int rank;
    ck_assert_int_eq(nd_broadcast(av.rank, ad, bv.rank, bd, &rank, od, a.nd.as, a.nd.bs), 0);
    a.nd.rank = rank;
    for (int d = 0; d < rank; d++) a.nd.dims[d] = od[d];
    strides_of(out->dims, out->rank, a.nd.ys);
    a.fn = fn;
    int in[2] = { a_, b_ };
    return node(g, OP_ND_BINARY, in, 2, &a, name, out->rank, out->dims);
}

/* k x k (w is (k, k, c, oc)), stride 1, padding pad on each side, over the whole (n, h, w, c) tensor */
static int conv_pad(Graph *g, int x, int w, int pad, const char *name) {
    Attrs a;
    memset(&a, 0, sizeof a);
    const Value *xv = &g->values[x], *wv = &g->values[w];
    nnc_rt_conv2d *p = &a.conv;
    p->h = xv->dims[1]; p->w = xv->dims[2]; p->c = xv->dims[3];
    p->kh = p->kw = wv->dims[0]; p->oc = wv->dims[3];
    p->oh = p->h + 2 * pad - p->kh + 1; p->ow = p->w + 2 * pad - p->kw + 1;
    p->sh = p->sw = p->dh = p->dw = 1; p->pt = p->pl = pad; p->groups = 1;
    a.samples = xv->dims[0];
    int in[2] = { x, w }, dims[4] = { xv->dims[0], p->oh, p->ow, p->oc };
    int y = node(g, OP_ND_CONV, in, 2, &a, name, 4, dims);
    int scratch = (int)NNC_RT_CONV2D_SCRATCH(p) * xv->dims[0];
    ir_add_output(g, g->values[y].producer, ir_value(g, "scratch", ROLE_ACT, 0, 1, &scratch));
    return y;
}

static int conv(Graph *g, int x, int w, const char *name) { return conv_pad(g, x, w, 1, name); }

static void output(Graph *g, int v) {
    g->outputs[g->noutputs++] = v;
    g->output = v;
}

static int count_op(const Graph *g, int op) {
    int k = 0;
    for (int i = 0; i < g->nnodes; i++) k += !g->nodes[i].dead && g->nodes[i].op == op;
    return k;
}

static int count_fn(const Graph *g, int fn) {
    int k = 0;
    for (int i = 0; i < g->nnodes; i++)
        k += !g->nodes[i].dead && g->nodes[i].op == OP_ND_UNARY && g->nodes[i].attr.fn == fn;
    return k;
}

/* ---- a small interpreter: every live node in order, one buffer per storage ---- */

typedef struct Run { const Graph *g; float **buf; const float *x; } Run;

static float *at(Run *r, int v) {
    const Graph *g = r->g;
    int s = ir_storage(g, v);
    const Value *x = &g->values[s];
    if (x->role == ROLE_INPUT) return (float *)r->x;
    if (x->role == ROLE_PARAM) return g->baked + x->baked_at;
    if (!r->buf[s]) r->buf[s] = calloc((size_t)ir_size(x) + 1, sizeof(float));
    return r->buf[s];
}

static float *infer(const Graph *g, const float *x) {
    Run r = { g, calloc((size_t)g->nvalues, sizeof(float *)), x };
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead || n->phase != PH_FORWARD || n->op == OP_VIEW) continue;
        const Value *y = &g->values[n->out[0]];
        if (n->op == OP_ND_CONV && n->nin > 3) {   /* with a residual (fuse_nd_residual) */
            nnc_rt_conv2d_forward_residual(&n->attr.conv, at(&r, n->out[0]), at(&r, n->in[0]), at(&r, n->in[1]), 0,
                                           at(&r, n->in[2]), at(&r, n->in[3]), at(&r, n->out[1]), n->attr.samples,
                                           n->attr.act);
            continue;
        }
        if (n->op == OP_ND_CONV) {
            nnc_rt_conv2d_forward(&n->attr.conv, at(&r, n->out[0]), at(&r, n->in[0]), at(&r, n->in[1]),
                                  n->nin > 2 ? at(&r, n->in[2]) : NULL, at(&r, n->out[1]), n->attr.samples,
                                  n->attr.act);
            continue;
        }
        ck_assert_msg(op_table[n->op]->fold != NULL, "the test cannot run %s", op_name(n->op));
        long dims[8], in_dims[IR_MAX_IO][8];
        for (int d = 0; d < y->rank; d++) dims[d] = y->dims[d];
        Fold f = { &n->attr, at(&r, n->out[0]), ir_size(y), y->rank, dims, n->nin, { NULL }, { 0 }, { NULL }, n->op };
        for (int j = 0; j < n->nin; j++) {
            const Value *v = &g->values[n->in[j]];
            for (int d = 0; d < v->rank; d++) in_dims[j][d] = v->dims[d];
            f.in[j] = at(&r, n->in[j]);
            f.in_rank[j] = v->rank;
            f.in_dims[j] = in_dims[j];
        }
        op_table[n->op]->fold(&f);
    }
    long size = ir_size(&g->values[g->output]);
    float *y = malloc((size_t)size * sizeof *y);
    memcpy(y, at(&r, g->output), (size_t)size * sizeof *y);
    for (int v = 0; v < g->nvalues; v++) free(r.buf[v]);
    free(r.buf);
    return y;
}

static void assert_close(const float *a, const float *b, long n, float tol) {
    for (long i = 0; i < n; i++)
        ck_assert_msg(fabsf(a[i] - b[i]) <= tol * (1 + fabsf(b[i])), "element %ld: %g vs %g", i, a[i], b[i]);
}

/* ---- the chains --------------------------------------------------------------- */

enum { DIV_LAST, DIV_FIRST, MUL_SIXTH_LAST, HARD_SIGMOID, SCALAR_FIRST, NFORMS };

/* hard_swish(x) written out the way `form` says */
static int hard_swish_chain(Graph *g, int x, int form) {
    if (form == HARD_SIGMOID)
        return binary(g, NNC_RT_BIN_MUL, unary(g, NNC_RT_UN_HARD_SIGMOID, x, 1.0f / 6.0f, 0.5f, "hs.s"), x, "hs");
    int three = scalar(g, "three", 3.0f);
    int a = form == SCALAR_FIRST ? binary(g, NNC_RT_BIN_ADD, three, x, "hs.a") : binary(g, NNC_RT_BIN_ADD, x, three, "hs.a");
    int c = unary(g, NNC_RT_UN_CLIP, a, 0.0f, 6.0f, "hs.c");
    if (form == DIV_FIRST)
        return binary(g, NNC_RT_BIN_MUL, x, binary(g, NNC_RT_BIN_DIV, c, scalar(g, "six", 6.0f), "hs.d"), "hs");
    int m = binary(g, NNC_RT_BIN_MUL, x, c, "hs.m");
    if (form == MUL_SIXTH_LAST) return binary(g, NNC_RT_BIN_MUL, m, scalar(g, "sixth", 1.0f / 6.0f), "hs");
    return binary(g, NNC_RT_BIN_DIV, m, scalar(g, "six", 6.0f), "hs");
}

/* conv -> NCHW -> hard-swish -> NHWC -> conv -> NCHW (the importer's graph
 * of two convolutions with a hard-swish between), input NCHW (n, 3, 5, 4) */
static Graph *two_convs(int n, int form, int trained, float **x_in) {
    Graph *g = new_graph();
    int xd[4] = { n, 3, 5, 4 }, w1d[4] = { 3, 3, 3, 6 }, w2d[4] = { 3, 3, 6, 2 };
    int x = input(g, 4, xd);
    int w1 = param(g, "w1", 4, w1d, 1, 2.0f, trained), w2 = param(g, "w2", 4, w2d, 2, 1.0f, 0);
    int c1 = conv(g, transpose(g, x, TO_NHWC, "x.nhwc"), w1, "c1");
    int h = hard_swish_chain(g, transpose(g, c1, TO_NCHW, "c1.nchw"), form);
    int c2 = conv(g, transpose(g, h, TO_NHWC, "h.nhwc"), w2, "c2");
    output(g, transpose(g, c2, TO_NCHW, "y"));
    long size = ir_size(&g->values[x]);
    *x_in = malloc((size_t)size * sizeof **x_in);
    unsigned seed = 7 + (unsigned)n;
    for (long i = 0; i < size; i++) (*x_in)[i] = 3.0f * rnd(&seed);   /* all three pieces of the function */
    return g;
}

/* every form at batch 1 and 3: one HardSwish node, and only the input's and
 * the output's copies left once the layout pass has run; the same values */
START_TEST(hard_swish_forms) {
    for (int form = 0; form < NFORMS; form++)
        for (int n = 1; n <= 3; n += 2) {
            float *x_in;
            Graph *g = two_convs(n, form, 0, &x_in);
            float *want = infer(g, x_in);
            int copies = count_op(g, OP_ND_COPY);
            ck_assert_int_eq(copies, 4);
            fuse_nd_eltwise(g);
            ck_assert_int_eq(count_op(g, OP_ND_BINARY), 0);
            ck_assert_int_eq(count_fn(g, NNC_RT_UN_HARD_SWISH), 1);
            ck_assert_int_eq(count_op(g, OP_ND_UNARY), 1);
            float *got = infer(g, x_in);
            assert_close(got, want, ir_size(&g->values[g->output]), 1e-5f);
            free(got);
            layout_nd(g);
            ck_assert_int_eq(count_op(g, OP_ND_COPY), 2);
            got = infer(g, x_in);
            assert_close(got, want, ir_size(&g->values[g->output]), 1e-5f);
            free(got); free(want); free(x_in);
            ir_free(g);
        }
}
END_TEST

/* the function itself against its definition, across the breakpoints */
START_TEST(hard_swish_values) {
    for (int form = 0; form < NFORMS; form++) {
        Graph *g = new_graph();
        int d[4] = { 1, 1, 1, 41 };
        int x = input(g, 4, d);
        output(g, hard_swish_chain(g, x, form));
        float xs[41];
        for (int i = 0; i < 41; i++) xs[i] = -5.0f + 0.25f * (float)i;
        fuse_nd_eltwise(g);
        ck_assert_int_eq(count_fn(g, NNC_RT_UN_HARD_SWISH), 1);
        float *got = infer(g, xs);
        for (int i = 0; i < 41; i++) {
            float r = xs[i] + 3.0f;
            r = r < 0.0f ? 0.0f : r > 6.0f ? 6.0f : r;
            ck_assert_float_eq_tol(got[i], xs[i] * r / 6.0f, 1e-6f);
        }
        free(got);
        ir_free(g);
    }
}
END_TEST

/* what must stay: an intermediate something else reads (here: a second
 * output), other constants (x + 2, clip to 5, / 5), and a chain that
 * depends on a trained kernel (HardSwish has no gradient rule) */
START_TEST(hard_swish_left_alone) {
    int d[4] = { 1, 2, 3, 4 };
    /* the clip's output is a graph output too */
    Graph *g = new_graph();
    int x = input(g, 4, d);
    int c = unary(g, NNC_RT_UN_CLIP, binary(g, NNC_RT_BIN_ADD, x, scalar(g, "three", 3.0f), "a"), 0.0f, 6.0f, "c");
    output(g, binary(g, NNC_RT_BIN_DIV, binary(g, NNC_RT_BIN_MUL, x, c, "m"), scalar(g, "six", 6.0f), "y"));
    g->outputs[g->noutputs++] = c;
    fuse_nd_eltwise(g);
    ck_assert_int_eq(count_fn(g, NNC_RT_UN_HARD_SWISH), 0);
    ck_assert_int_eq(count_op(g, OP_ND_BINARY), 3);
    ir_free(g);
    /* other constants */
    const float add[3] = { 2.0f, 3.0f, 3.0f }, hi[3] = { 6.0f, 5.0f, 6.0f }, div[3] = { 6.0f, 6.0f, 5.0f };
    for (int k = 0; k < 3; k++) {
        g = new_graph();
        x = input(g, 4, d);
        c = unary(g, NNC_RT_UN_CLIP, binary(g, NNC_RT_BIN_ADD, x, scalar(g, "a.c", add[k]), "a"), 0.0f, hi[k], "c");
        output(g, binary(g, NNC_RT_BIN_DIV, binary(g, NNC_RT_BIN_MUL, x, c, "m"), scalar(g, "d.c", div[k]), "y"));
        fuse_nd_eltwise(g);
        ck_assert_int_eq(count_fn(g, NNC_RT_UN_HARD_SWISH), 0);
        ir_free(g);
    }
    /* a hard sigmoid of another slope */
    g = new_graph();
    x = input(g, 4, d);
    output(g, binary(g, NNC_RT_BIN_MUL, x, unary(g, NNC_RT_UN_HARD_SIGMOID, x, 0.2f, 0.5f, "s"), "y"));
    fuse_nd_eltwise(g);
    ck_assert_int_eq(count_fn(g, NNC_RT_UN_HARD_SWISH), 0);
    ir_free(g);
    /* a trained kernel upstream */
    float *x_in;
    g = two_convs(1, DIV_LAST, 1, &x_in);
    fuse_nd_eltwise(g);
    ck_assert_int_eq(count_fn(g, NNC_RT_UN_HARD_SWISH), 0);
    free(x_in);
    ir_free(g);
}
END_TEST

/* after the chain is one HardSwish node and the layout pass has moved it
 * next to the first convolution, passes/fuse_act.c's fuse_act_inference
 * makes it that convolution's epilogue: no nd_unary left, the same values;
 * a convolution whose output something else reads too keeps its unary */
START_TEST(hard_swish_into_conv_epilogue) {
    for (int form = 0; form < NFORMS; form++)
        for (int n = 1; n <= 3; n += 2) {
            float *x_in;
            Graph *g = two_convs(n, form, 0, &x_in);
            float *want = infer(g, x_in);
            fuse_nd_eltwise(g);
            layout_nd(g);
            fuse_nd_conv(g);
            fuse_act_inference(g);
            ck_assert_int_eq(count_op(g, OP_ND_UNARY), 0);
            int acts = 0;
            for (int i = 0; i < g->nnodes; i++)
                acts += !g->nodes[i].dead && g->nodes[i].op == OP_ND_CONV &&
                        g->nodes[i].attr.act == NNC_RT_ACT_HARD_SWISH;
            ck_assert_int_eq(acts, 1);
            float *got = infer(g, x_in);
            assert_close(got, want, ir_size(&g->values[g->output]), 1e-5f);
            free(got); free(want); free(x_in);
            ir_free(g);
        }
    /* conv -> hard-swish, the conv's output a graph output too */
    Graph *g = new_graph();
    int xd[4] = { 1, 5, 4, 3 }, wd[4] = { 3, 3, 3, 4 };
    int x = input(g, 4, xd), w = param(g, "w", 4, wd, 3, 1.0f, 0);
    int c = conv(g, x, w, "c");
    output(g, unary(g, NNC_RT_UN_HARD_SWISH, c, 0.0f, 0.0f, "y"));
    g->outputs[g->noutputs++] = c;
    fuse_act_inference(g);
    ck_assert_int_eq(count_fn(g, NNC_RT_UN_HARD_SWISH), 1);
    ir_free(g);
}
END_TEST

/* ---- x * a + b with scalars: one affine node, folded into a convolution ---------- */

/* conv1 -> NCHW -> relu -> x * a + b (or - b) -> NHWC -> conv2 (k x k, padding pad);
 * a conv2 that reads no padded cell takes the affine into its kernel and
 * bias, a padded one only a pure scale (b = 0); otherwise one affine pass */
START_TEST(affine_into_next_conv) {
    const struct { int k, pad, sub; float b; int left; } cases[] = {
        { 1, 0, 0, 0.75f, 0 }, { 3, 0, 1, 0.75f, 0 }, { 3, 1, 0, 0.75f, 1 }, { 3, 1, 0, 0.0f, 0 },
    };
    for (unsigned c = 0; c < sizeof cases / sizeof *cases; c++)
        for (int n = 1; n <= 3; n += 2) {
            Graph *g = new_graph();
            int xd[4] = { n, 3, 5, 4 }, w1d[4] = { 3, 3, 3, 6 }, w2d[4] = { cases[c].k, cases[c].k, 6, 2 };
            int x = input(g, 4, xd);
            int w1 = param(g, "w1", 4, w1d, 1, 1.0f, 0), w2 = param(g, "w2", 4, w2d, 2, 1.0f, 0);
            int c1 = conv(g, transpose(g, x, TO_NHWC, "x.nhwc"), w1, "c1");
            int r = unary(g, NNC_RT_UN_RELU, transpose(g, c1, TO_NCHW, "c1.nchw"), 0.0f, 0.0f, "r");
            int m = binary(g, NNC_RT_BIN_MUL, scalar(g, "a", -1.5f), r, "m");
            int s = binary(g, cases[c].sub ? NNC_RT_BIN_SUB : NNC_RT_BIN_ADD, m, scalar(g, "b", cases[c].b), "s");
            int c2 = conv_pad(g, transpose(g, s, TO_NHWC, "s.nhwc"), w2, cases[c].pad, "c2");
            output(g, transpose(g, c2, TO_NCHW, "y"));
            long size = ir_size(&g->values[x]);
            float *x_in = malloc((size_t)size * sizeof *x_in);
            unsigned seed = 5 + c;
            for (long i = 0; i < size; i++) x_in[i] = rnd(&seed);
            float *want = infer(g, x_in);
            fuse_nd_eltwise(g);
            ck_assert_int_eq(count_op(g, OP_ND_BINARY), 0);
            ck_assert_int_eq(count_fn(g, NNC_RT_UN_AFFINE), 1);
            layout_nd(g);
            fuse_nd_conv(g);
            ck_assert_int_eq(count_op(g, OP_ND_COPY), 2);
            ck_assert_int_eq(count_fn(g, NNC_RT_UN_AFFINE), cases[c].left);
            ck_assert_int_eq(count_op(g, OP_ND_UNARY), cases[c].left);    /* relu: conv1's epilogue */
            float *got = infer(g, x_in);
            assert_close(got, want, ir_size(&g->values[g->output]), 1e-5f);
            free(got); free(want); free(x_in);
            ir_free(g);
        }
}
END_TEST

/* conv -> x * a + b: the affine node folds into the convolution before it
 * (its kernel scaled, its bias made); a trained kernel keeps the binaries */
START_TEST(affine_after_conv) {
    for (int trained = 0; trained <= 1; trained++)
        for (int n = 1; n <= 3; n += 2) {
            Graph *g = new_graph();
            int xd[4] = { n, 5, 4, 3 }, wd[4] = { 3, 3, 3, 4 };
            int x = input(g, 4, xd), w = param(g, "w", 4, wd, 3, 1.0f, trained);
            int m = binary(g, NNC_RT_BIN_MUL, conv(g, x, w, "c"), scalar(g, "a", 0.5f), "m");
            output(g, binary(g, NNC_RT_BIN_ADD, scalar(g, "b", -2.0f), m, "y"));
            long size = ir_size(&g->values[x]);
            float *x_in = malloc((size_t)size * sizeof *x_in);
            unsigned seed = 11;
            for (long i = 0; i < size; i++) x_in[i] = rnd(&seed);
            float *want = infer(g, x_in);
            fuse_nd_eltwise(g);
            ck_assert_int_eq(count_fn(g, NNC_RT_UN_AFFINE), !trained);
            fuse_nd_conv(g);
            ck_assert_int_eq(count_op(g, OP_ND_UNARY), 0);
            ck_assert_int_eq(count_op(g, OP_ND_BINARY), trained ? 2 : 0);
            float *got = infer(g, x_in);
            assert_close(got, want, ir_size(&g->values[g->output]), 1e-5f);
            free(got); free(want); free(x_in);
            ir_free(g);
        }
}
END_TEST

/* ---- a transpose with several element-wise readers (passes/layout.c sink_all) ---- */

/* GlobalAveragePool over (n, c, h, w), kept as (n, c, 1, 1) */
static int gap(Graph *g, int x, const char *name) {
    Attrs a;
    memset(&a, 0, sizeof a);
    Value xv = g->values[x];
    a.nd.rank = 4;
    for (int d = 0; d < 4; d++) a.nd.dims[d] = xv.dims[d];
    strides_of(xv.dims, 4, a.nd.as);
    int dims[4] = { xv.dims[0], xv.dims[1], 1, 1 };
    long ys[4];
    strides_of(dims, 4, ys);
    for (int d = 0; d < 4; d++) a.nd.ys[d] = d >= 2 ? 0 : ys[d];
    a.fn = NNC_RT_RED_MEAN;
    a.ny = dims[0] * dims[1];
    a.count = xv.dims[2] * xv.dims[3];
    return node(g, OP_ND_REDUCE, &x, 1, &a, name, 4, dims);
}

/* conv -> NCHW -> y = x + x * sigmoid(mean(x)) (a squeeze-excite block with a
 * residual: x read by the pool, the product and the sum) -> NHWC -> conv:
 * every copy but the input's and the output's goes, the values stay */
START_TEST(layout_sinks_into_all_readers) {
    for (int n = 1; n <= 3; n += 2) {
        Graph *g = new_graph();
        int xd[4] = { n, 3, 5, 4 }, w1d[4] = { 3, 3, 3, 6 }, w2d[4] = { 3, 3, 6, 2 };
        int x = input(g, 4, xd);
        int w1 = param(g, "w1", 4, w1d, 1, 1.0f, 0), w2 = param(g, "w2", 4, w2d, 2, 1.0f, 0);
        int c1 = transpose(g, conv(g, transpose(g, x, TO_NHWC, "x.nhwc"), w1, "c1"), TO_NCHW, "c1.nchw");
        int se = unary(g, NNC_RT_UN_SIGMOID, gap(g, c1, "gap"), 0.0f, 0.0f, "se");
        int y = binary(g, NNC_RT_BIN_ADD, c1, binary(g, NNC_RT_BIN_MUL, c1, se, "scaled"), "sum");
        int c2 = conv(g, transpose(g, y, TO_NHWC, "y.nhwc"), w2, "c2");
        output(g, transpose(g, c2, TO_NCHW, "y"));
        long size = ir_size(&g->values[x]);
        float *x_in = malloc((size_t)size * sizeof *x_in);
        unsigned seed = 17;
        for (long i = 0; i < size; i++) x_in[i] = rnd(&seed);
        float *want = infer(g, x_in);
        layout_nd(g);
        ck_assert_int_eq(count_op(g, OP_ND_COPY), 2);
        float *got = infer(g, x_in);
        assert_close(got, want, ir_size(&g->values[g->output]), 1e-5f);
        free(got); free(want); free(x_in);
        ir_free(g);
    }
}
END_TEST

/* one reader that cannot follow (a graph output reads x too): the copy stays */
START_TEST(layout_keeps_shared_transpose) {
    Graph *g = new_graph();
    int xd[4] = { 1, 3, 5, 4 }, w1d[4] = { 3, 3, 3, 6 };
    int x = input(g, 4, xd), w1 = param(g, "w1", 4, w1d, 1, 1.0f, 0);
    int c1 = transpose(g, conv(g, transpose(g, x, TO_NHWC, "x.nhwc"), w1, "c1"), TO_NCHW, "c1.nchw");
    int r = unary(g, NNC_RT_UN_RELU, c1, 0.0f, 0.0f, "r");
    output(g, binary(g, NNC_RT_BIN_ADD, c1, r, "sum"));
    g->outputs[g->noutputs++] = c1;
    float x_in[60];
    unsigned seed = 19;
    for (int i = 0; i < 60; i++) x_in[i] = rnd(&seed);
    float *want = infer(g, x_in);
    layout_nd(g);
    ck_assert_int_ge(count_op(g, OP_ND_COPY), 2);
    float *got = infer(g, x_in);
    assert_close(got, want, ir_size(&g->values[g->output]), 1e-6f);
    free(got); free(want);
    ir_free(g);
}
END_TEST

int main(void) {
    const TTest *hs[] = { hard_swish_forms, hard_swish_values, hard_swish_left_alone, hard_swish_into_conv_epilogue,
                          NULL };
    const TTest *affine[] = { affine_into_next_conv, affine_after_conv, NULL };
    const TTest *layout[] = { layout_sinks_into_all_readers, layout_keeps_shared_transpose, NULL };
    const kernel_case cases[] = { { "hard_swish", hs, 0, 0 }, { "affine", affine, 0, 0 }, { "layout", layout, 0, 0 } };
    return run_cases("fuse_eltwise", cases, 3);
}
