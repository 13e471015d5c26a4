/* test_nd_passes.c — the passes over imported (N-d) graphs: the layout
 * pass, conv + scale/shift + activation folding and the run-time batch
 * (passes/batch.c), on graphs built by hand and run by a small interpreter
 * (the op table's fold hooks, the runtime's kernels) before and after the
 * rewrite. */
#include <check.h>
#include "check_run.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ir.h"
#include "nnc_rt.h"

/* the graph as ir_dump prints it */
static char *dump(const Graph *g) {
    static char buf[16384];
    FILE *f = fmemopen(buf, sizeof buf, "w");
    ir_dump(g, f);
    fclose(f);
    return buf;
}

/* ---- imported graphs: hand-built nd nodes and an interpreter ------------------------ */

static const int TO_NHWC[4] = { 0, 2, 3, 1 }, TO_NCHW[4] = { 0, 3, 1, 2 };

static float rnd(unsigned *s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 8) / 16777216.0f * 2.0f - 1.0f;
}

static Graph *nd_graph(void) {
    Graph *g = ir_new("t");
    g->train.batch = 1;
    return g;
}

static int nd_input(Graph *g, int rank, const int *dims) {
    int v = ir_value(g, "x", ROLE_INPUT, 0, rank, dims);
    g->inputs[g->ninputs++] = v;
    g->input = v;
    return v;
}

/* a baked constant of random values (seeded), or a trained parameter */
static int nd_param(Graph *g, const char *name, int rank, const int *dims, unsigned seed, int trainable) {
    int v = ir_new_constant(g, name, rank, dims, NULL);
    float *d = g->baked + g->values[v].baked_at;
    for (long i = 0; i < ir_size(&g->values[v]); i++) d[i] = rnd(&seed);
    if (trainable) {
        g->values[v].constant = 0;
        g->values[v].trainable = 1;
    }
    return v;
}

static int nd_node(Graph *g, int op, const int *in, int nin, const Attrs *a, const char *name, int rank,
                   const int *dims) {
    int n = ir_node(g, op, in, nin, (Loc){ 0, 0, 0, 0 });
    g->nodes[n].attr = *a;
    ir_add_output(g, n, ir_value(g, name, ROLE_ACT, 0, rank, dims));
    return g->nodes[n].out[0];
}

/* row-major strides of an IR value's (int) extents: ops/nd.c's rule */
static void dense_of(const int *dims, int rank, long *s) {
    long ext[NNC_RT_ND_MAX];
    for (int d = 0; d < rank; d++) ext[d] = dims[d];
    nd_strides(rank, ext, s);
}

static void space_of(nnc_rt_nd *p, const Value *v) {
    memset(p, 0, sizeof *p);
    p->rank = v->rank;
    for (int d = 0; d < v->rank; d++) p->dims[d] = v->dims[d];
    dense_of(v->dims, v->rank, p->ys);
}

/* the importer's transpose: y's axis d is x's axis perm[d] */
static int nd_transpose(Graph *g, int x, const int *perm, const char *name) {
    Attrs a;
    memset(&a, 0, sizeof a);
    const Value *xv = &g->values[x];
    int dims[4];
    long xs[4];
    dense_of(xv->dims, 4, xs);
    for (int d = 0; d < 4; d++) dims[d] = xv->dims[perm[d]];
    a.nd.rank = 4;
    for (int d = 0; d < 4; d++) { a.nd.dims[d] = dims[d]; a.nd.as[d] = xs[perm[d]]; }
    dense_of(dims, 4, a.nd.ys);
    return nd_node(g, OP_ND_COPY, &x, 1, &a, name, 4, dims);
}

static int nd_unary(Graph *g, int fn, int x, float alpha, float beta, const char *name) {
    Attrs a;
    memset(&a, 0, sizeof a);
    a.fn = fn; a.alpha = alpha; a.beta = beta;
    Value xv = g->values[x];
    return nd_node(g, OP_ND_UNARY, &x, 1, &a, name, xv.rank, xv.dims);
}

/* x op y, y broadcast numpy-style (aligned at the last axis) over x's shape
 * by the importer's rule (nd_broadcast); x is read densely */
static int nd_binary(Graph *g, int fn, int x, int y, const char *name) {
    Attrs a;
    memset(&a, 0, sizeof a);
    Value xv = g->values[x], yv = g->values[y];
    space_of(&a.nd, &xv);
    long xd[NNC_RT_ND_MAX], yd[NNC_RT_ND_MAX], out[NNC_RT_ND_MAX], xs[NNC_RT_ND_MAX];
    for (int d = 0; d < xv.rank; d++) xd[d] = xv.dims[d];
    for (int d = 0; d < yv.rank; d++) yd[d] = yv.dims[d];
    int rank;
    ck_assert_int_eq(nd_broadcast(xv.rank, xd, yv.rank, yd, &rank, out, xs, a.nd.bs), 0);
    ck_assert_int_eq(rank, xv.rank);   /* y broadcasts into x's shape */
    for (int d = 0; d < rank; d++) ck_assert_int_eq(out[d], xd[d]);
    memcpy(a.nd.as, a.nd.ys, sizeof a.nd.as);
    a.fn = fn;
    int in[2] = { x, y };
    return nd_node(g, OP_ND_BINARY, in, 2, &a, name, xv.rank, xv.dims);
}

/* k x k, stride 1, pad on each side; x is (1, h, w, c), w (k, k, c, oc); b may be -1 */
static int nd_conv(Graph *g, int x, int w, int b, int pad, const char *name) {
    Attrs a;
    memset(&a, 0, sizeof a);
    const Value *xv = &g->values[x], *wv = &g->values[w];
    nnc_rt_conv2d *p = &a.conv;
    p->h = xv->dims[1]; p->w = xv->dims[2]; p->c = xv->dims[3];
    p->kh = p->kw = wv->dims[0]; p->oc = wv->dims[3];
    p->oh = p->h + 2 * pad - p->kh + 1; p->ow = p->w + 2 * pad - p->kw + 1;
    p->sh = p->sw = p->dh = p->dw = 1; p->pt = p->pl = pad; p->groups = 1;
    a.samples = 1;
    int in[3] = { x, w, b }, dims[4] = { 1, p->oh, p->ow, p->oc };
    int y = nd_node(g, OP_ND_CONV, in, b >= 0 ? 3 : 2, &a, name, 4, dims);
    int scratch = (int)NNC_RT_CONV2D_SCRATCH(p);
    ir_add_output(g, g->values[y].producer, ir_value(g, "scratch", ROLE_ACT, 0, 1, &scratch));
    return y;
}

/* a 2 x 2 pool with stride 2 over (1, h, w, c); avg 0: max */
static int nd_pool(Graph *g, int x, int avg, const char *name) {
    Attrs a;
    memset(&a, 0, sizeof a);
    const Value *xv = &g->values[x];
    nnc_rt_pool2d *p = &a.pool;
    p->h = xv->dims[1]; p->w = xv->dims[2]; p->c = xv->dims[3];
    p->kh = p->kw = p->sh = p->sw = 2; p->oh = p->h / 2; p->ow = p->w / 2;
    a.samples = 1;
    a.fn = avg;
    int dims[4] = { 1, p->oh, p->ow, p->c };
    return nd_node(g, OP_ND_POOL, &x, 1, &a, name, 4, dims);
}

/* GlobalAveragePool: the mean over axes 2 and 3 of (n, c, h, w), kept as size 1 */
static int nd_gap(Graph *g, int x, const char *name) {
    Attrs a;
    memset(&a, 0, sizeof a);
    Value xv = g->values[x];
    space_of(&a.nd, &xv);
    int dims[4] = { xv.dims[0], xv.dims[1], 1, 1 };
    long ys[4];
    dense_of(dims, 4, ys);
    memcpy(a.nd.as, a.nd.ys, sizeof a.nd.as);
    for (int d = 0; d < 4; d++) a.nd.ys[d] = d >= 2 ? 0 : ys[d];
    a.fn = NNC_RT_RED_MEAN;
    a.ny = dims[0] * dims[1];
    a.count = xv.dims[2] * xv.dims[3];
    return nd_node(g, OP_ND_REDUCE, &x, 1, &a, name, 4, dims);
}

static int nd_flatten(Graph *g, int x, const char *name) {
    Attrs a;
    memset(&a, 0, sizeof a);
    Value xv = g->values[x];
    int dims[2] = { xv.dims[0], (int)(ir_size(&xv) / xv.dims[0]) };
    int f = nd_node(g, OP_VIEW, &x, 1, &a, name, 2, dims);
    g->values[f].alias_of = x;
    return f;
}

static int nd_matmul(Graph *g, int x, int w, const char *name) {
    Attrs a;
    memset(&a, 0, sizeof a);
    a.M = g->values[x].dims[0]; a.K = g->values[x].dims[1]; a.N = g->values[w].dims[1];
    int in[2] = { x, w }, dims[2] = { a.M, a.N };
    return nd_node(g, OP_ND_MATMUL, in, 2, &a, name, 2, dims);
}

static void nd_output(Graph *g, int v) {
    g->outputs[g->noutputs++] = v;
    g->output = v;
}

static int count_op(const Graph *g, int op) {
    int k = 0;
    for (int i = 0; i < g->nnodes; i++) k += !g->nodes[i].dead && g->nodes[i].op == op;
    return k;
}

static const float *baked(const Graph *g, int v) { return g->baked + g->values[v].baked_at; }

/* runs the live nodes in order (forward, and with `train` the loss's
 * backward slice) with the kernels the emitted code calls; one buffer per
 * storage, parameters read from the baked array */
typedef struct Run { const Graph *g; float **buf; const float *x, *label; } Run;

static float *at(Run *r, int v) {
    const Graph *g = r->g;
    int s = ir_storage(g, v);
    const Value *x = &g->values[s];
    if (x->role == ROLE_INPUT) return (float *)r->x;
    if (x->role == ROLE_LABEL) return (float *)r->label;
    if (x->role == ROLE_PARAM) return g->baked + x->baked_at;
    if (!r->buf[s]) r->buf[s] = calloc((size_t)ir_size(x) + 1, sizeof(float));
    return r->buf[s];
}

static Run run(const Graph *g, const float *x, const float *label, int train) {
    Run r = { g, calloc((size_t)g->nvalues, sizeof(float *)), x, label };
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead || n->phase == PH_UPDATE || (n->phase == PH_BACKWARD && !train)) continue;
        const Value *y = &g->values[n->out[0]], *x0 = &g->values[n->in[0]];
        if (n->op == OP_VIEW || n->op == OP_LOSS || n->op == OP_REGULARIZE) continue;
        if (n->op == OP_ND_CONV && n->nin > 3) {   /* with a residual (fuse_nd_residual) */
            nnc_rt_conv2d_forward_residual(&n->attr.conv, at(&r, n->out[0]), at(&r, n->in[0]), at(&r, n->in[1]), 0,
                                           at(&r, n->in[2]), at(&r, n->in[3]), at(&r, n->out[1]), n->attr.samples,
                                           n->attr.act);
        } else if (n->op == OP_ND_CONV) {
            nnc_rt_conv2d_forward(&n->attr.conv, at(&r, n->out[0]), at(&r, n->in[0]), at(&r, n->in[1]),
                                  n->nin > 2 ? at(&r, n->in[2]) : NULL, at(&r, n->out[1]), n->attr.samples, n->attr.act);
        } else if (n->op == OP_ND_POOL) {
            (n->attr.fn ? nnc_rt_avgpool2d_forward : nnc_rt_maxpool2d_forward)(&n->attr.pool, at(&r, n->out[0]),
                                                                                at(&r, n->in[0]), n->attr.samples);
        } else if (n->op == OP_DENSE) {
            int k = g->values[n->in[1]].dims[0];
            nnc_rt_dense_forward(at(&r, n->out[0]), at(&r, n->in[0]), at(&r, n->in[1]),
                                 n->attr.use_bias ? at(&r, n->in[2]) : NULL, (int)(ir_size(x0) / k), k, n->attr.units,
                                 n->attr.act);
        } else if (n->op == OP_LOSS_GRAD) {
            long rows = ir_sample_rows(x0);
            nnc_rt_loss_backward(n->attr.loss, at(&r, n->out[0]), at(&r, n->in[0]), at(&r, n->in[1]), (int)rows,
                                 (int)(ir_size(x0) / rows));
        } else if (n->op == OP_ACT_GRAD) {
            long cols = x0->dims[x0->rank - 1];
            nnc_rt_act_backward(n->attr.act, at(&r, n->out[0]), at(&r, n->in[0]), at(&r, n->in[1]),
                                (int)(ir_size(x0) / cols), (int)cols);
        } else if (n->op == OP_ADD) {
            nnc_rt_add(at(&r, n->out[0]), at(&r, n->in[0]), at(&r, n->in[1]), ir_size(y));
        } else {
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
    }
    return r;
}

/* a copy of what value v holds after the run */
static float *take(Run *r, int v) {
    long n = ir_size(&r->g->values[v]);
    float *c = malloc((size_t)n * sizeof *c);
    memcpy(c, at(r, v), (size_t)n * sizeof *c);
    return c;
}

static void run_free(Run *r) {
    for (int v = 0; v < r->g->nvalues; v++) free(r->buf[v]);
    free(r->buf);
}

static float *infer(const Graph *g, const float *x) {
    Run r = run(g, x, NULL, 0);
    float *y = take(&r, g->output);
    run_free(&r);
    return y;
}

static void assert_close(const float *a, const float *b, long n, float tol) {
    for (long i = 0; i < n; i++)
        ck_assert_msg(fabsf(a[i] - b[i]) <= tol * (1 + fabsf(b[i])), "element %ld: %g vs %g", i, a[i], b[i]);
}

static float *random_input(const Graph *g, unsigned seed) {
    long n = ir_size(&g->values[g->input]);
    float *x = malloc((size_t)n * sizeof *x);
    for (long i = 0; i < n; i++) x[i] = rnd(&seed);
    return x;
}

/* conv -> relu -> conv between the importer's copies: the inner pair cancels,
 * relu becomes the first convolution's epilogue, the values stay */
START_TEST(layout_cancels_pairs) {
    Graph *g = nd_graph();
    int xd[4] = { 1, 2, 5, 5 }, w1d[4] = { 3, 3, 2, 4 }, b1d[1] = { 4 }, w2d[4] = { 3, 3, 4, 3 };
    int x = nd_input(g, 4, xd);
    int w1 = nd_param(g, "w1", 4, w1d, 1, 0), b1 = nd_param(g, "b1", 1, b1d, 2, 0), w2 = nd_param(g, "w2", 4, w2d, 3, 0);
    int c1 = nd_conv(g, nd_transpose(g, x, TO_NHWC, "x.nhwc"), w1, b1, 1, "c1");
    int r = nd_unary(g, NNC_RT_UN_RELU, nd_transpose(g, c1, TO_NCHW, "c1.nchw"), 0, 0, "r");
    int c2 = nd_conv(g, nd_transpose(g, r, TO_NHWC, "r.nhwc"), w2, -1, 1, "c2");
    nd_output(g, nd_transpose(g, c2, TO_NCHW, "y"));
    float *x_in = random_input(g, 7), *want = infer(g, x_in);
    layout_nd(g);
    ck_assert_str_eq(dump(g),
        "fwd nd_copy x -> x.nhwc(1, 5, 5, 2)\n"
        "fwd nd_conv x.nhwc, w1, b1 -> c1(1, 5, 5, 4) scratch(450)\n"
        "fwd nd_unary c1 -> r/t(1, 5, 5, 4)\n"
        "fwd nd_conv r/t, w2 -> c2(1, 5, 5, 3) scratch(900)\n"
        "fwd nd_copy c2 -> y(1, 3, 5, 5)\n");
    float *got = infer(g, x_in);
    assert_close(got, want, 75, 1e-6f);
    free(got);
    fuse_nd_conv(g);
    ck_assert_str_eq(dump(g),
        "fwd nd_copy x -> x.nhwc(1, 5, 5, 2)\n"
        "fwd nd_conv x.nhwc, w1, b1 -> r/t(1, 5, 5, 4) scratch(450)\n"
        "fwd nd_conv r/t, w2 -> c2(1, 5, 5, 3) scratch(900)\n"
        "fwd nd_copy c2 -> y(1, 3, 5, 5)\n");
    ck_assert_int_eq(g->nodes[1].attr.act, NNC_RT_ACT_RELU);
    got = infer(g, x_in);
    assert_close(got, want, 75, 1e-6f);
    free(got); free(want); free(x_in);
    ir_free(g);
}
END_TEST

/* a one-channel image's NCHW -> NHWC copy moves nothing: a view of the input */
START_TEST(layout_unit_axes_alias) {
    Graph *g = nd_graph();
    int xd[4] = { 1, 1, 4, 4 }, wd[4] = { 3, 3, 1, 2 };
    int x = nd_input(g, 4, xd), w = nd_param(g, "w", 4, wd, 4, 0);
    nd_output(g, nd_transpose(g, nd_conv(g, nd_transpose(g, x, TO_NHWC, "x.nhwc"), w, -1, 0, "c"), TO_NCHW, "y"));
    float *x_in = random_input(g, 8), *want = infer(g, x_in);
    layout_nd(g);
    ck_assert_str_eq(dump(g),
        "fwd view x -> x.nhwc(1, 4, 4, 1)\n"
        "fwd nd_conv x.nhwc, w -> c(1, 2, 2, 2) scratch(36)\n"
        "fwd nd_copy c -> y(1, 2, 2, 2)\n");
    ck_assert_int_eq(ir_storage(g, g->nodes[1].in[0]), x);
    float *got = infer(g, x_in);
    assert_close(got, want, 8, 0);
    free(got); free(want); free(x_in);
    ir_free(g);
}
END_TEST

/* a ResNet block: conv, batch-norm scale and shift, the residual add, relu,
 * global average pooling and the classifier.  Every copy but the input's
 * goes; the scale and shift are read through permuted strides, then fold
 * into the convolution's kernel and bias. */
START_TEST(layout_residual_block) {
    Graph *g = nd_graph();
    int xd[4] = { 1, 3, 4, 4 }, wd[4] = { 3, 3, 3, 3 }, bd[1] = { 3 }, cd[3] = { 3, 1, 1 }, fd[2] = { 3, 2 };
    int x = nd_input(g, 4, xd);
    int w0 = nd_param(g, "w0", 4, wd, 11, 0), w1 = nd_param(g, "w1", 4, wd, 12, 0), b1 = nd_param(g, "b1", 1, bd, 13, 0);
    int s = nd_param(g, "s", 3, cd, 14, 0), t = nd_param(g, "t", 3, cd, 15, 0), fc = nd_param(g, "fc", 2, fd, 16, 0);
    int c0 = nd_conv(g, nd_transpose(g, x, TO_NHWC, "x.nhwc"), w0, -1, 1, "c0");
    int r0 = nd_unary(g, NNC_RT_UN_RELU, nd_transpose(g, c0, TO_NCHW, "c0.nchw"), 0, 0, "r0");
    int c1 = nd_conv(g, nd_transpose(g, r0, TO_NHWC, "r0.nhwc"), w1, b1, 1, "c1");
    int bn = nd_binary(g, NNC_RT_BIN_ADD, nd_binary(g, NNC_RT_BIN_MUL, nd_transpose(g, c1, TO_NCHW, "c1.nchw"), s, "bn.s"),
                       t, "bn");
    int z = nd_unary(g, NNC_RT_UN_RELU, nd_binary(g, NNC_RT_BIN_ADD, bn, r0, "sum"), 0, 0, "z");
    nd_output(g, nd_matmul(g, nd_flatten(g, nd_gap(g, z, "gap"), "flat"), fc, "y"));
    float w1_old[81], b1_old[3], sv[3], tv[3];
    memcpy(w1_old, baked(g, w1), sizeof w1_old);
    memcpy(b1_old, baked(g, b1), sizeof b1_old);
    memcpy(sv, baked(g, s), sizeof sv);
    memcpy(tv, baked(g, t), sizeof tv);
    float *x_in = random_input(g, 9), *want = infer(g, x_in);
    layout_nd(g);
    ck_assert_int_eq(count_op(g, OP_ND_COPY), 1);
    ck_assert_int_eq(g->nodes[0].in[0], x);
    /* the reduction reads the channels-last tensor, writing (1, 3, 1, 1) */
    int gap = g->nodes[g->values[g->output].producer].in[0];
    gap = g->nodes[g->values[gap].producer].in[0];
    ck_assert_int_eq(g->nodes[g->values[gap].producer].op, OP_ND_REDUCE);
    ck_assert_int_eq(g->values[g->nodes[g->values[gap].producer].in[0]].dims[3], 3);
    float *got = infer(g, x_in);
    assert_close(got, want, 2, 1e-5f);
    free(got);
    fuse_nd_conv(g);
    fuse_nd(g);
    ck_assert_str_eq(dump(g),
        "fwd nd_copy x -> x.nhwc(1, 4, 4, 3)\n"
        "fwd nd_conv x.nhwc, w0 -> r0/t(1, 4, 4, 3) scratch(432)\n"
        "fwd nd_conv r0/t, w1, b1 -> bn/t(1, 4, 4, 3) scratch(432)\n"
        "fwd nd_binary bn/t, r0/t -> sum/t(1, 4, 4, 3)\n"
        "fwd nd_unary sum/t -> z/t(1, 4, 4, 3)\n"
        "fwd nd_reduce z/t -> gap(1, 3, 1, 1)\n"
        "fwd view gap -> flat(1, 3)\n"
        "fwd dense flat, fc -> y(1, 2)\n");
    /* W' = W * s per output channel (the kernel's last axis), b' = b * s + t */
    for (int i = 0; i < 81; i++) ck_assert_float_eq_tol(baked(g, w1)[i], w1_old[i] * sv[i % 3], 1e-6);
    for (int o = 0; o < 3; o++) ck_assert_float_eq_tol(baked(g, b1)[o], b1_old[o] * sv[o] + tv[o], 1e-6);
    /* nothing reads s and t any more: no longer parameters */
    ck_assert_int_ne(g->values[s].role, ROLE_PARAM);
    ck_assert_int_ne(g->values[t].role, ROLE_PARAM);
    got = infer(g, x_in);
    assert_close(got, want, 2, 1e-5f);
    free(got);
    /* the block's addition becomes the second convolution's residual, the
     * relu after it its epilogue; the values stay, and the batch pass takes
     * the residual as per sample */
    fuse_nd_residual(g);
    ck_assert_str_eq(dump(g),
        "fwd nd_copy x -> x.nhwc(1, 4, 4, 3)\n"
        "fwd nd_conv x.nhwc, w0 -> r0/t(1, 4, 4, 3) scratch(432)\n"
        "fwd nd_conv r0/t, w1, b1, r0/t -> z/t(1, 4, 4, 3) scratch(432)\n"
        "fwd nd_reduce z/t -> gap(1, 3, 1, 1)\n"
        "fwd view gap -> flat(1, 3)\n"
        "fwd dense flat, fc -> y(1, 2)\n");
    for (int i = 0; i < g->nnodes; i++)
        if (!g->nodes[i].dead && g->nodes[i].nin == 4)
            ck_assert_int_eq(g->nodes[i].attr.act, NNC_RT_ACT_RELU);
    got = infer(g, x_in);
    assert_close(got, want, 2, 1e-5f);
    free(got); free(want); free(x_in);
    char why[200] = "";
    ck_assert_int_eq(batch_imported(g, 1, why, sizeof why), 0);
    ir_free(g);
}
END_TEST

/* conv -> relu -> Flatten -> MatMul (the small CNN): the copy before the
 * flatten goes and the weight's rows are permuted from (c, h, w) to (h, w, c)
 * order; a trained weight keeps its layout and the copy */
START_TEST(layout_rows_into_matmul) {
    for (int trained = 0; trained <= 1; trained++) {
        Graph *g = nd_graph();
        int xd[4] = { 1, 1, 4, 4 }, wd[4] = { 3, 3, 1, 2 }, fd[2] = { 8, 3 };
        int x = nd_input(g, 4, xd), w = nd_param(g, "w", 4, wd, 21, 0), fc = nd_param(g, "fc", 2, fd, 22, trained);
        int c = nd_conv(g, nd_transpose(g, x, TO_NHWC, "x.nhwc"), w, -1, 0, "c");
        int r = nd_unary(g, NNC_RT_UN_RELU, nd_transpose(g, c, TO_NCHW, "c.nchw"), 0, 0, "r");
        nd_output(g, nd_matmul(g, nd_flatten(g, r, "flat"), fc, "y"));
        float old[24];
        memcpy(old, baked(g, fc), sizeof old);
        float *x_in = random_input(g, 23), *want = infer(g, x_in);
        layout_nd(g);
        ck_assert_int_eq(count_op(g, OP_ND_COPY), trained);
        ck_assert_int_eq(count_op(g, OP_VIEW), 2);
        const float *now = baked(g, fc);
        for (int h = 0; h < 2; h++)
            for (int wc = 0; wc < 2; wc++)
                for (int ch = 0; ch < 2; ch++)
                    for (int j = 0; j < 3; j++) {
                        int nhwc = (h * 2 + wc) * 2 + ch, nchw = (ch * 2 + h) * 2 + wc;
                        ck_assert_float_eq(now[nhwc * 3 + j], old[(trained ? nhwc : nchw) * 3 + j]);
                    }
        float *got = infer(g, x_in);
        assert_close(got, want, 3, 1e-6f);
        free(got); free(want); free(x_in);
        ir_free(g);
    }
}
END_TEST

/* conv without a bias, then + t, then sigmoid: a bias holding t and the
 * sigmoid epilogue; a trained kernel is not folded */
START_TEST(fuse_conv_shift_and_act) {
    Graph *g = nd_graph();
    int xd[4] = { 1, 3, 3, 2 }, wd[4] = { 1, 1, 2, 2 }, td[4] = { 1, 1, 1, 2 };
    int x = nd_input(g, 4, xd), w = nd_param(g, "w", 4, wd, 31, 0), t = nd_param(g, "t", 4, td, 32, 0);
    int y = nd_binary(g, NNC_RT_BIN_ADD, nd_conv(g, x, w, -1, 0, "c"), t, "shifted");
    nd_output(g, nd_unary(g, NNC_RT_UN_SIGMOID, y, 0, 0, "y"));
    float tv[2];
    memcpy(tv, baked(g, t), sizeof tv);
    float *x_in = random_input(g, 33), *want = infer(g, x_in);
    fuse_nd_conv(g);
    ck_assert_int_eq(count_op(g, OP_ND_BINARY) + count_op(g, OP_ND_UNARY), 0);
    const Node *n = &g->nodes[0];
    ck_assert_int_eq(n->nin, 3);
    ck_assert_int_eq(n->attr.act, NNC_RT_ACT_SIGMOID);
    ck_assert_int_eq(n->out[0], g->output);
    ck_assert_float_eq(baked(g, n->in[2])[0], tv[0]);
    ck_assert_float_eq(baked(g, n->in[2])[1], tv[1]);
    float *got = infer(g, x_in);
    assert_close(got, want, 18, 1e-6f);
    free(got); free(want); free(x_in);
    ir_free(g);

    g = nd_graph();
    x = nd_input(g, 4, xd);
    w = nd_param(g, "w", 4, wd, 31, 1);
    t = nd_param(g, "t", 4, td, 32, 0);
    nd_output(g, nd_binary(g, NNC_RT_BIN_MUL, nd_conv(g, x, w, -1, 0, "c"), t, "y"));
    fuse_nd_conv(g);
    ck_assert_int_eq(count_op(g, OP_ND_BINARY), 1);
    ck_assert_int_eq(g->values[t].role, ROLE_PARAM);
    ir_free(g);
}
END_TEST

/* through a pool: max pool commutes with relu and a positive scale, not a
 * negative one; average pool with any scale and shift, not with relu */
START_TEST(fuse_conv_through_pool) {
    for (int avg = 0; avg <= 1; avg++) {
        Graph *g = nd_graph();
        int xd[4] = { 1, 4, 4, 2 }, wd[4] = { 3, 3, 2, 2 }, cd[1] = { 2 };
        int x = nd_input(g, 4, xd), w = nd_param(g, "w", 4, wd, 51, 0);
        int s = nd_param(g, "s", 1, cd, 52, 0), t = nd_param(g, "t", 1, cd, 53, 0);
        float *sv = g->baked + g->values[s].baked_at;
        sv[0] = 0.5f; sv[1] = avg ? -2.0f : 3.0f;
        int y = nd_pool(g, nd_conv(g, x, w, -1, 1, "c"), avg, "p");
        y = nd_binary(g, NNC_RT_BIN_ADD, nd_binary(g, NNC_RT_BIN_MUL, y, s, "scaled"), t, "shifted");
        nd_output(g, nd_unary(g, NNC_RT_UN_RELU, y, 0, 0, "y"));
        float *x_in = random_input(g, 54), *want = infer(g, x_in);
        fuse_nd_conv(g);
        ck_assert_int_eq(count_op(g, OP_ND_BINARY), 0);
        ck_assert_int_eq(count_op(g, OP_ND_UNARY), avg);
        ck_assert_int_eq(g->nodes[0].attr.act, avg ? NNC_RT_ACT_LINEAR : NNC_RT_ACT_RELU);
        float *got = infer(g, x_in);
        assert_close(got, want, 8, 1e-6f);
        free(got); free(want); free(x_in);
        ir_free(g);
    }
    Graph *g = nd_graph();
    int xd[4] = { 1, 4, 4, 2 }, wd[4] = { 3, 3, 2, 2 }, cd[1] = { 2 };
    int x = nd_input(g, 4, xd), w = nd_param(g, "w", 4, wd, 51, 0), s = nd_param(g, "s", 1, cd, 52, 0);
    g->baked[g->values[s].baked_at] = -1.0f;
    nd_output(g, nd_binary(g, NNC_RT_BIN_MUL, nd_pool(g, nd_conv(g, x, w, -1, 1, "c"), 0, "p"), s, "y"));
    fuse_nd_conv(g);
    ck_assert_int_eq(count_op(g, OP_ND_BINARY), 1);   /* max(-x) is not -max(x) */
    ir_free(g);
}
END_TEST

/* training through a sunk transpose: a trained per-channel scale and shift
 * read through permuted strides get the same gradients */
static void grads_through_layout(int layout, float *grads) {
    Graph *g = nd_graph();
    int xd[4] = { 1, 3, 3, 2 }, cd[3] = { 2, 1, 1 };
    int x = nd_input(g, 4, xd), s = nd_param(g, "s", 3, cd, 41, 1), t = nd_param(g, "t", 3, cd, 42, 1);
    int y = nd_binary(g, NNC_RT_BIN_MUL, nd_transpose(g, x, TO_NCHW, "x.nchw"), s, "scaled");
    y = nd_unary(g, NNC_RT_UN_RELU, nd_binary(g, NNC_RT_BIN_SUB, y, t, "shifted"), 0, 0, "r");
    nd_output(g, nd_transpose(g, y, TO_NHWC, "y"));
    diag_init("--train", "train t {\n    loss mse\n    optimizer sgd\n}\n");
    ck_assert_int_eq(lower_train_text(g, "train t {\n    loss mse\n    optimizer sgd\n}\n"), 0);
    if (layout) {
        layout_nd(g);
        ck_assert_int_eq(count_op(g, OP_ND_COPY), 1);   /* an identity copy into the output */
    }
    ad_build(g);
    ck_assert_int_eq(diag_error_count(), 0);
    float *x_in = random_input(g, 43), label[18];
    unsigned seed = 44;
    for (int i = 0; i < 18; i++) label[i] = rnd(&seed);
    Run r = run(g, x_in, label, 1);
    memcpy(grads, at(&r, g->values[s].grad), 2 * sizeof *grads);
    memcpy(grads + 2, at(&r, g->values[t].grad), 2 * sizeof *grads);
    run_free(&r);
    free(x_in);
    ir_free(g);
}

START_TEST(layout_keeps_gradients) {
    float want[4], got[4];
    grads_through_layout(0, want);
    grads_through_layout(1, got);
    ck_assert_float_ne(want[0], 0);
    assert_close(got, want, 4, 1e-6f);
}
END_TEST

/* ---- passes/batch.c: axis 0 of an imported graph as the run-time batch ---------- */

/* x (4, 6) by w (6, 3), then + b (3): the importer's MatMul and Add */
static Graph *batch_mlp(int *out) {
    Graph *g = nd_graph();
    int xd[2] = { 4, 6 }, wd[2] = { 6, 3 }, bd[1] = { 3 };
    int x = nd_input(g, 2, xd);
    int y = nd_matmul(g, x, nd_param(g, "w", 2, wd, 1, 0), "y");
    *out = nd_binary(g, NNC_RT_BIN_ADD, y, nd_param(g, "b", 1, bd, 2, 0), "out");
    nd_output(g, *out);
    return g;
}

START_TEST(batch_per_sample) {
    int out;
    Graph *g = batch_mlp(&out);
    char why[200] = "";
    ck_assert_int_eq(batch_imported(g, 4, why, sizeof why), 0);
    ck_assert_str_eq(dump(g),
        "fwd nd_matmul x, w -> y(n, 3)\n"
        "fwd nd_binary y, b -> out(n, 3)\n");
    /* the product's rows and the addition's axis 0 count samples: printed times n */
    ck_assert_int_eq(g->nodes[0].attr.M, 1);
    ck_assert_int_eq(g->nodes[0].attr.batched, 1);
    ck_assert_int_eq(g->nodes[1].attr.nd.dims[0], 1);
    ck_assert_int_eq(g->values[g->nodes[1].in[1]].batched, 0);   /* the bias stays whole */
    ir_free(g);
}
END_TEST

START_TEST(batch_refuses_mixing) {
    /* out - mean over axis 0 of out: the samples meet; the node is named */
    int out, rd[2] = { 1, 3 };
    Graph *g = batch_mlp(&out);
    Attrs a;
    memset(&a, 0, sizeof a);
    Value ov = g->values[out];
    space_of(&a.nd, &ov);
    memcpy(a.nd.as, a.nd.ys, sizeof a.nd.as);
    a.nd.ys[0] = 0;
    a.fn = NNC_RT_RED_MEAN;
    a.ny = 3;
    a.count = 4;
    int m = nd_node(g, OP_ND_REDUCE, &out, 1, &a, "mean", 2, rd);
    int c = nd_binary(g, NNC_RT_BIN_SUB, out, m, "centred");
    g->noutputs = 0;
    nd_output(g, c);
    char why[200] = "";
    ck_assert_int_eq(batch_imported(g, 4, why, sizeof why), -1);
    ck_assert_str_eq(why, "node 'mean' (nd_reduce): its output does not keep the batch axis");
    ck_assert_int_eq(g->values[g->input].batched, 0);   /* the graph is left whole */
    ir_free(g);

    /* a transpose that moves axis 0 (4 x 4, so the extents alone agree) */
    g = nd_graph();
    int xd[2] = { 4, 4 };
    int x = nd_input(g, 2, xd);
    memset(&a, 0, sizeof a);
    space_of(&a.nd, &g->values[x]);
    a.nd.as[0] = 1;
    a.nd.as[1] = 4;
    nd_output(g, nd_node(g, OP_ND_COPY, &x, 1, &a, "t", 2, xd));
    ck_assert_int_eq(batch_imported(g, 4, why, sizeof why), -1);
    ck_assert_str_eq(why, "node 't' (nd_copy): it reads across samples");
    ir_free(g);
}
END_TEST

int main(void) {
    const TTest *tests[] = { layout_cancels_pairs, layout_unit_axes_alias, layout_residual_block,
                             layout_rows_into_matmul, fuse_conv_shift_and_act, fuse_conv_through_pool,
                             layout_keeps_gradients, batch_per_sample, batch_refuses_mixing, NULL };
    const kernel_case cases[] = { { "imported", tests, 0, 0 } };
    return run_cases("nd_passes", cases, 1);
}
