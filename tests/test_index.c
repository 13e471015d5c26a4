/* test_index.c — the indexing kernels of runtime/index.c (ScatterElements,
 * ScatterND, GatherND, TopK and the backward kernels) against plain
 * references written here, and the gradient rules of ops/index.c against
 * central differences.
 *
 * The references compute every position from a multi-index by division
 * and apply the ONNX definitions literally (negative indices counted from
 * the end, TopK by a stable sort); the shapes include empty index sets,
 * indices larger than the data off the axis, ties and NaN for TopK.  The
 * gradient checks build the op's node in a graph, let its gradient rule
 * append the backward nodes and run every node through the op table's
 * fold hooks (the runtime's kernels): the gradient of L = sum(w * y) wrt
 * each differentiable input must match (L(x + h) - L(x - h)) / 2h.
 * Einsum's composition (compiler/onnx/map_index.c) is checked end to end:
 * a one-node model imported, its graph run through the same fold hooks,
 * against a literal sum over every assignment of the letters.
 */
#include <check.h>
#include "check_run.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ir.h"
#include "nnc_rt.h"
#include "onnx.pb-c.h"
#include "onnx_model.h"

static float rnd(unsigned *s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 8) / 16777216.0f * 2.0f - 1.0f;
}

static long numel(const long *d, int r) {
    long n = 1;
    for (int i = 0; i < r; i++) n *= d[i];
    return n;
}

/* coordinates of element k of a row-major shape */
static void coords(long k, const long *d, int r, long *c) {
    for (int i = r - 1; i >= 0; i--) { c[i] = k % d[i]; k /= d[i]; }
}

static long offset(const long *c, const long *d, int r) {
    long o = 0;
    for (int i = 0; i < r; i++) o = o * d[i] + c[i];
    return o;
}

static float reduce_ref(int red, float old, float v) {
    switch (red) {
    case NNC_RT_SCATTER_ADD: return old + v;
    case NNC_RT_SCATTER_MUL: return old * v;
    case NNC_RT_SCATTER_MAX: return fmaxf(old, v);
    case NNC_RT_SCATTER_MIN: return fminf(old, v);
    default: return v;
    }
}

/* the scatter/gather-elements descriptor of the importer: space over the
 * indices, ys data's strides, as the indices' */
static void elem_desc(nnc_rt_nd *p, int r, const long *xd, const long *id) {
    memset(p, 0, sizeof *p);
    p->rank = r;
    memcpy(p->dims, id, (size_t)r * sizeof *id);
    nd_strides(r, id, p->as);
    nd_strides(r, xd, p->ys);
}

/* ---- ScatterElements and its transpose ---------------------------------------------- */

START_TEST(scatter_elements_vs_reference) {
    unsigned s = 7u + (unsigned)_i;
    /* shapes: data (3, 4, 5), indices smaller off the axis, of 0 to 3 along it */
    long xd[3] = { 3, 4, 5 }, id[3];
    for (int axis = 0; axis < 3; axis++)
        for (int red = 0; red < 5; red++)
            for (int empty = 0; empty < 2; empty++) {
                for (int d = 0; d < 3; d++) id[d] = d == axis ? (empty ? 0 : 3) : xd[d] - (long)(rnd(&s) > 0);
                long nx = numel(xd, 3), ni = numel(id, 3);
                float x[60], y[60], want[60], idx[60], upd[60], g[60], gwant[60];
                for (long i = 0; i < nx; i++) x[i] = rnd(&s);
                for (long i = 0; i < ni; i++) {
                    /* negative and positive, some duplicates; for none, distinct per line */
                    long v = (long)((rnd(&s) + 1.0f) * (float)xd[axis]) - xd[axis];
                    if (red == NNC_RT_SCATTER_NONE) {
                        long c[3];
                        coords(i, id, 3, c);
                        v = (c[axis] * 2 + (long)_i) % xd[axis] - (c[axis] % 2 ? xd[axis] : 0);
                    }
                    idx[i] = (float)v;
                    upd[i] = rnd(&s);
                }
                memcpy(want, x, sizeof want);
                for (long i = 0; i < ni; i++) {
                    long c[3];
                    coords(i, id, 3, c);
                    long k = (long)idx[i];
                    c[axis] = k < 0 ? k + xd[axis] : k;
                    long o = offset(c, xd, 3);
                    want[o] = reduce_ref(red, want[o], upd[i]);
                    gwant[i] = x[o];
                }
                nnc_rt_nd p;
                elem_desc(&p, 3, xd, id);
                nnc_rt_scatter_elements(y, x, idx, upd, &p, axis, xd[axis], nx, red);
                for (long i = 0; i < nx; i++)
                    ck_assert_msg(fabsf(y[i] - want[i]) <= 1e-6f * (1 + fabsf(want[i])), "axis %d red %d [%ld]: %g, want %g",
                                  axis, red, i, y[i], want[i]);
                nnc_rt_gather_elements_nd(g, x, idx, &p, axis, xd[axis]);
                for (long i = 0; i < ni; i++) ck_assert_float_eq(g[i], gwant[i]);
                /* in place, and NULL updates write zeros */
                memcpy(y, x, sizeof y);
                nnc_rt_scatter_elements(y, y, idx, NULL, &p, axis, xd[axis], nx, NNC_RT_SCATTER_NONE);
                for (long i = 0; i < ni; i++) {
                    long c[3];
                    coords(i, id, 3, c);
                    long k = (long)idx[i];
                    c[axis] = k < 0 ? k + xd[axis] : k;
                    ck_assert_float_eq(y[offset(c, xd, 3)], 0.0f);
                }
            }
}
END_TEST

/* an index outside its axis is skipped (scatter) or reads 0 (gather), never out of bounds */
START_TEST(out_of_range_indices_stay_inside) {
    long xd[1] = { 4 }, id[1] = { 4 };
    float x[4] = { 1, 2, 3, 4 }, y[6] = { 0, 0, 0, 0, 99, 99 }, idx[4] = { 4, -5, NAN, 1e30f }, upd[4] = { 9, 9, 9, 9 };
    nnc_rt_nd p;
    elem_desc(&p, 1, xd, id);
    nnc_rt_scatter_elements(y, x, idx, upd, &p, 0, 4, 4, NNC_RT_SCATTER_NONE);
    for (int i = 0; i < 4; i++) ck_assert_float_eq(y[i], x[i]);
    ck_assert_float_eq(y[4], 99);
    nnc_rt_gather_elements_nd(y, x, idx, &p, 0, 4);
    for (int i = 0; i < 4; i++) ck_assert_float_eq(y[i], 0);
    nnc_rt_nd q;
    memset(&q, 0, sizeof q);
    q.rank = 1; q.dims[0] = 4; q.ys[0] = 1;
    nnc_rt_gather_nd(y, x, idx, &q, 1, 4, 1, 4);
    for (int i = 0; i < 4; i++) ck_assert_float_eq(y[i], 0);
    nnc_rt_scatter_nd(y, x, idx, upd, &q, 4, 1, 4, NNC_RT_SCATTER_ADD);
    for (int i = 0; i < 4; i++) ck_assert_float_eq(y[i], x[i]);
}
END_TEST

/* ---- ScatterND, GatherND ------------------------------------------------------------- */

START_TEST(scatter_nd_vs_reference) {
    unsigned s = 11u + (unsigned)_i;
    long xd[4] = { 3, 4, 2, 3 };
    long nx = numel(xd, 4);
    for (int k = 1; k <= 4; k++)
        for (int red = 0; red < 5; red++)
            for (long tuples = 0; tuples <= 5; tuples += 5) {
                long slice = numel(xd + k, 4 - k);
                float x[72], y[72], want[72], idx[20], upd[360];
                for (long i = 0; i < nx; i++) x[i] = rnd(&s);
                for (long t = 0; t < tuples; t++)
                    for (int j = 0; j < k; j++) {
                        long v = (long)((rnd(&s) + 1.0f) * (float)xd[j]) - xd[j];  /* -d .. d-1 */
                        idx[t * k + j] = (float)(red == NNC_RT_SCATTER_NONE && j == 0 ? (t % xd[0]) - (t > 2 ? 0 : xd[0]) : v);
                    }
                if (red == NNC_RT_SCATTER_NONE && tuples > xd[0]) tuples = xd[0];   /* distinct first coordinates */
                for (long i = 0; i < tuples * slice; i++) upd[i] = rnd(&s);
                memcpy(want, x, sizeof want);
                for (long t = 0; t < tuples; t++) {
                    long c[4] = { 0, 0, 0, 0 };
                    for (int j = 0; j < k; j++) {
                        long v = (long)idx[t * k + j];
                        c[j] = v < 0 ? v + xd[j] : v;
                    }
                    long o = offset(c, xd, 4);
                    for (long e = 0; e < slice; e++) want[o + e] = reduce_ref(red, want[o + e], upd[t * slice + e]);
                }
                nnc_rt_nd p;
                memset(&p, 0, sizeof p);
                p.rank = k;
                long xs[4];
                nd_strides(4, xd, xs);
                for (int j = 0; j < k; j++) { p.dims[j] = xd[j]; p.ys[j] = xs[j]; }
                nnc_rt_scatter_nd(y, x, idx, upd, &p, tuples, slice, nx, red);
                for (long i = 0; i < nx; i++)
                    ck_assert_msg(fabsf(y[i] - want[i]) <= 1e-6f * (1 + fabsf(want[i])), "k %d red %d [%ld]", k, red, i);
            }
}
END_TEST

START_TEST(gather_nd_vs_reference) {
    unsigned s = 5u;
    long xd[4] = { 2, 3, 4, 2 };
    float x[48], y[200], idx[64], dy[200], dx[48], dxw[48];
    for (long i = 0; i < 48; i++) x[i] = rnd(&s);
    for (int b = 0; b <= 2; b++)
        for (int k = 1; b + k <= 4; k++)
            for (long tuples = 0; tuples <= 3; tuples += 3) {
                long batches = numel(xd, b), slice = numel(xd + b + k, 4 - b - k), xbatch = numel(xd + b, 4 - b);
                long xs[4];
                nd_strides(4, xd, xs);
                for (long i = 0; i < batches * tuples * k; i++) {
                    int j = (int)(i % k);
                    idx[i] = (float)((long)((rnd(&s) + 1.0f) * (float)xd[b + j]) - xd[b + j]);
                }
                for (long i = 0; i < batches * tuples * slice; i++) dy[i] = rnd(&s);
                memset(dxw, 0, sizeof dxw);
                nnc_rt_nd p;
                memset(&p, 0, sizeof p);
                p.rank = k;
                for (int j = 0; j < k; j++) { p.dims[j] = xd[b + j]; p.ys[j] = xs[b + j]; }
                nnc_rt_gather_nd(y, x, idx, &p, batches, tuples, slice, xbatch);
                for (long q = 0; q < batches; q++)
                    for (long t = 0; t < tuples; t++) {
                        long c[4];
                        coords(q, xd, b, c);
                        for (int j = 0; j < k; j++) {
                            long v = (long)idx[(q * tuples + t) * k + j];
                            c[b + j] = v < 0 ? v + xd[b + j] : v;
                        }
                        for (int j = b + k; j < 4; j++) c[j] = 0;
                        long o = offset(c, xd, 4);
                        for (long e = 0; e < slice; e++) {
                            ck_assert_float_eq(y[(q * tuples + t) * slice + e], x[o + e]);
                            dxw[o + e] += dy[(q * tuples + t) * slice + e];
                        }
                    }
                nnc_rt_gather_nd_backward(dx, dy, idx, &p, batches, tuples, slice, xbatch);
                for (long i = 0; i < 48; i++) ck_assert_msg(fabsf(dx[i] - dxw[i]) < 1e-6f, "b %d k %d [%ld]", b, k, i);
            }
}
END_TEST

/* ---- TopK ---------------------------------------------------------------------------- */

static int before_ref(float a, long ia, float b, long ib, int largest) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b) ? ia < ib : largest ? isnan(a) : isnan(b);
    if (a != b) return largest ? a > b : a < b;
    return ia < ib;
}

START_TEST(topk_vs_reference) {
    unsigned s = 3u + (unsigned)_i;
    /* a small shape on every axis, and a long axis (heaps deeper than 2 levels) */
    long shapes[2][3] = { { 3, 7, 4 }, { 2, 61, 1 } }, *shape = shapes[_i % 2];
    float x[128], y[128], yi[128], dy[128], dx[128];
    for (int i = 0; i < 128; i++) x[i] = (float)(int)(rnd(&s) * (_i % 2 ? 20 : 3));   /* many ties */
    x[5] = NAN; x[40] = NAN; x[41] = INFINITY; x[42] = -INFINITY;
    for (int axis = 0; axis < 3; axis++)
        for (int largest = 0; largest < 2; largest++)
            for (long k = 0; k <= shape[axis]; k++) {
                long outer = numel(shape, axis), alen = shape[axis], inner = numel(shape + axis + 1, 2 - axis);
                nnc_rt_topk(y, x, outer, alen, inner, k, largest, 0);
                nnc_rt_topk(yi, x, outer, alen, inner, k, largest, 1);
                for (long i = 0; i < outer * k * inner; i++) dy[i] = (float)i + 1;
                nnc_rt_topk_backward(dx, dy, yi, outer, alen, inner, k);
                for (long o = 0; o < outer; o++)
                    for (long in = 0; in < inner; in++) {
                        /* a stable insertion sort of the row's positions */
                        long ord[64];
                        for (long j = 0; j < alen; j++) {
                            long m = j;
                            while (m > 0 && before_ref(x[(o * alen + j) * inner + in], j,
                                                       x[(o * alen + ord[m - 1]) * inner + in], ord[m - 1], largest)) {
                                ord[m] = ord[m - 1];
                                m--;
                            }
                            ord[m] = j;
                        }
                        for (long j = 0; j < alen; j++) {
                            float g = dx[(o * alen + ord[j]) * inner + in];
                            ck_assert_float_eq(g, j < k ? dy[(o * k + j) * inner + in] : 0.0f);
                        }
                        for (long j = 0; j < k; j++) {
                            float v = x[(o * alen + ord[j]) * inner + in], got = y[(o * k + j) * inner + in];
                            ck_assert_msg(got == v || (isnan(got) && isnan(v)), "axis %d largest %d k %ld", axis, largest, k);
                            ck_assert_float_eq(yi[(o * k + j) * inner + in], (float)ord[j]);
                        }
                    }
            }
}
END_TEST

/* ---- gradient rules against central differences --------------------------------------- */

typedef struct Run { Graph *g; float *mem[64]; } Run;

static float *mem_of(Run *r, int v) {
    if (!r->mem[v]) {
        long n = ir_size(&r->g->values[v]);
        r->mem[v] = calloc((size_t)(n + 1), sizeof(float));
    }
    return r->mem[v];
}

/* node i through its op's fold hook (the runtime kernel) */
static void run_node(Run *r, int i) {
    const Node *n = &r->g->nodes[i];
    long dims[IR_MAX_IO + 1][NNC_RT_ND_MAX];
    const Value *yv = &r->g->values[n->out[0]];
    for (int d = 0; d < yv->rank; d++) dims[IR_MAX_IO][d] = yv->dims[d];
    Fold f;
    memset(&f, 0, sizeof f);
    f.a = &n->attr;
    f.y = mem_of(r, n->out[0]);
    f.ny = ir_size(yv);
    f.rank = yv->rank;
    f.dims = dims[IR_MAX_IO];
    f.nin = n->nin;
    for (int k = 0; k < n->nin; k++) {
        const Value *v = &r->g->values[n->in[k]];
        for (int d = 0; d < v->rank; d++) dims[k][d] = v->dims[d];
        f.in[k] = mem_of(r, n->in[k]);
        f.in_rank[k] = v->rank;
        f.in_dims[k] = dims[k];
    }
    ck_assert_ptr_nonnull(op_table[n->op]->fold);
    op_table[n->op]->fold(&f);
}

static int value(Graph *g, const char *name, int rank, const long *dims) {
    int d[NNC_RT_ND_MAX];
    for (int i = 0; i < rank; i++) d[i] = (int)dims[i];
    return ir_value(g, name, ROLE_ACT, 0, rank, d);
}

/* L = sum(w * y) of the forward node; its analytic gradient wrt input
 * `wrt` (from the op's gradient rule) against central differences */
static void check_grad(Graph *g, int node, Run *r, int wrt, const char *what) {
    Node *n = &g->nodes[node];
    int y = n->out[0], wv = value(g, "w", g->values[y].rank, (long[]){ 0 });
    g->values[wv] = g->values[y];   /* shaped as y */
    snprintf(g->values[wv].name, sizeof g->values[wv].name, "w");
    g->values[wv].producer = -1;
    unsigned s = 99u;
    float *w = mem_of(r, wv);
    for (long i = 0; i < ir_size(&g->values[y]); i++) w[i] = rnd(&s);
    for (int k = 0; k < n->nin; k++) g->values[n->in[k]].requires_grad = k == wrt;
    int first = g->nnodes, dout[IR_MAX_IO], din[IR_MAX_IO];
    for (int k = 0; k < IR_MAX_IO; k++) dout[k] = din[k] = -1;
    dout[0] = wv;
    int errors = diag_error_count();
    op_table[g->nodes[node].op]->grad(g, node, dout, din);
    ck_assert_int_eq(diag_error_count(), errors);
    ck_assert_msg(din[wrt] >= 0, "%s: no gradient", what);
    for (int i = first; i < g->nnodes; i++) run_node(r, i);
    const float *an = mem_of(r, din[wrt]);
    int xv = g->nodes[node].in[wrt];
    float *x = mem_of(r, xv);
    for (long i = 0; i < ir_size(&g->values[xv]); i++) {
        float keep = x[i], h = 1e-2f;
        double l[2];
        for (int side = 0; side < 2; side++) {
            x[i] = keep + (side ? -h : h);
            run_node(r, node);
            const float *yy = mem_of(r, y);
            l[side] = 0;
            for (long j = 0; j < ir_size(&g->values[y]); j++) l[side] += (double)w[j] * yy[j];
        }
        x[i] = keep;
        double fd = (l[0] - l[1]) / (2 * h);
        ck_assert_msg(fabs(fd - an[i]) <= 1e-3 + 1e-3 * fabs(fd), "%s: d/dx[%ld] = %g, differences give %g", what, i,
                      an[i], fd);
    }
    run_node(r, node);
}

static void fill(Run *r, int v, unsigned seed) {
    float *p = mem_of(r, v);
    for (long i = 0; i < ir_size(&r->g->values[v]); i++) p[i] = rnd(&seed);
}

static void free_run(Run *r) {
    for (int i = 0; i < 64; i++) free(r->mem[i]);
    ir_free(r->g);
}

START_TEST(scatter_elements_gradient) {
    for (int red = 0; red < 2; red++) {     /* none and add */
        Run r = { ir_new("t"), { NULL } };
        Graph *g = r.g;
        long xd[2] = { 4, 3 }, id[2] = { 2, 3 };
        int x = value(g, "x", 2, xd), idx = value(g, "i", 2, id), u = value(g, "u", 2, id);
        fill(&r, x, 1);
        fill(&r, u, 2);
        float iv[6] = { 0, -1, 2, 3, 1, -4 };   /* distinct along axis 0 per column */
        memcpy(mem_of(&r, idx), iv, sizeof iv);
        Attrs a;
        memset(&a, 0, sizeof a);
        elem_desc(&a.nd, 2, xd, id);
        a.axis = 0; a.alen = 4; a.ny = 12; a.fn = red;
        int in[3] = { x, idx, u };
        int n = ir_node(g, OP_ND_SCATTER, in, 3, (Loc){ 0, 0, 0, 0 });
        g->nodes[n].attr = a;
        ir_add_output(g, n, value(g, "y", 2, xd));
        run_node(&r, n);
        check_grad(g, n, &r, 0, red ? "scatter add wrt data" : "scatter wrt data");
        check_grad(g, n, &r, 2, red ? "scatter add wrt updates" : "scatter wrt updates");
        free_run(&r);
    }
}
END_TEST

/* mul, max, min: refused with a message, never a wrong gradient */
START_TEST(scatter_refuses_other_reductions) {
    Run r = { ir_new("t"), { NULL } };
    Graph *g = r.g;
    long xd[1] = { 3 };
    int x = value(g, "x", 1, xd), idx = value(g, "i", 1, xd), u = value(g, "u", 1, xd);
    Attrs a;
    memset(&a, 0, sizeof a);
    elem_desc(&a.nd, 1, xd, xd);
    a.alen = 3; a.ny = 3; a.fn = NNC_RT_SCATTER_MAX;
    int in[3] = { x, idx, u };
    int n = ir_node(g, OP_ND_SCATTER, in, 3, (Loc){ 0, 0, 0, 0 });
    g->nodes[n].attr = a;
    ir_add_output(g, n, value(g, "y", 1, xd));
    g->values[x].requires_grad = 1;
    int dout[IR_MAX_IO], din[IR_MAX_IO];
    for (int k = 0; k < IR_MAX_IO; k++) dout[k] = din[k] = -1;
    dout[0] = g->nodes[n].out[0];
    FILE *quiet = fopen("/dev/null", "w");
    diag_set_output(quiet);
    int errors = diag_error_count();
    op_table[OP_ND_SCATTER]->grad(g, n, dout, din);
    diag_set_output(NULL);
    fclose(quiet);
    ck_assert_int_eq(diag_error_count(), errors + 1);
    ck_assert_int_eq(din[0], -1);
    /* ScatterND has no gradient rule: autodiff refuses to train through it */
    ck_assert_ptr_null(op_table[OP_ND_SCATTER_ND]->grad);
    free_run(&r);
}
END_TEST

START_TEST(gather_nd_gradient) {
    Run r = { ir_new("t"), { NULL } };
    Graph *g = r.g;
    long xd[3] = { 2, 3, 4 }, id[3] = { 2, 3, 1 }, yd[3] = { 2, 3, 4 };
    int x = value(g, "x", 3, xd), idx = value(g, "i", 3, id);
    fill(&r, x, 4);
    float iv[6] = { 0, 2, -3, 1, 1, -1 };  /* batch_dims 1: repeats add up */
    memcpy(mem_of(&r, idx), iv, sizeof iv);
    Attrs a;
    memset(&a, 0, sizeof a);
    a.nd.rank = 1; a.nd.dims[0] = 3; a.nd.ys[0] = 4;
    a.outer = 2; a.ny = 3; a.count = 4; a.inner = 12;
    int in[2] = { x, idx };
    int n = ir_node(g, OP_ND_GATHER_ND, in, 2, (Loc){ 0, 0, 0, 0 });
    g->nodes[n].attr = a;
    ir_add_output(g, n, value(g, "y", 3, yd));
    run_node(&r, n);
    check_grad(g, n, &r, 0, "gather_nd wrt data");
    free_run(&r);
}
END_TEST

START_TEST(topk_gradient) {
    Run r = { ir_new("t"), { NULL } };
    Graph *g = r.g;
    long xd[3] = { 2, 5, 3 }, yd[3] = { 2, 2, 3 };
    int x = value(g, "x", 3, xd);
    float *xp = mem_of(&r, x);  /* 0.1 apart: a difference of 0.01 does not reorder them */
    for (int i = 0; i < 30; i++) xp[i] = (float)((i * 7) % 30) * 0.1f - 1.5f;
    Attrs a;
    memset(&a, 0, sizeof a);
    a.outer = 2; a.alen = 5; a.inner = 3; a.count = 2; a.fn = 1;
    int n = ir_node(g, OP_ND_TOPK, &x, 1, (Loc){ 0, 0, 0, 0 });
    g->nodes[n].attr = a;
    ir_add_output(g, n, value(g, "y", 3, yd));
    run_node(&r, n);
    check_grad(g, n, &r, 0, "topk values wrt input");
    free_run(&r);
}
END_TEST


/* ---- Einsum through the importer ------------------------------------------------------ */

/* a model of one Einsum node over inputs x0.. of these shapes, written to path */
static void einsum_model(const char *path, const char *eq, int nin, const int64_t dims[][4], const int *ranks) {
    Onnx__ModelProto m;
    Onnx__GraphProto g;
    Onnx__OperatorSetIdProto opset, *opsets[1];
    test_onnx_model(&m, &g, &opset, opsets, 13);
    Onnx__AttributeProto at = ONNX__ATTRIBUTE_PROTO__INIT, *atp[1] = { &at };
    at.name = "equation";
    at.has_type = 1;
    at.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
    at.has_s = 1;
    at.s.data = (uint8_t *)eq;
    at.s.len = strlen(eq);
    char names[4][4], *ins[4], *outs[1] = { "y" };
    Onnx__NodeProto node = ONNX__NODE_PROTO__INIT, *np[1] = { &node };
    node.op_type = "Einsum";
    node.name = "e";
    node.n_input = (size_t)nin;
    node.input = ins;
    node.n_output = 1;
    node.output = outs;
    node.n_attribute = 1;
    node.attribute = atp;
    g.n_node = 1;
    g.node = np;
    Onnx__TensorShapeProto__Dimension dm[4][4], *dp[4][4];
    Onnx__TensorShapeProto shape[4];
    Onnx__TypeProto__Tensor tt[5];
    Onnx__TypeProto type[5];
    Onnx__ValueInfoProto vi[5], *vip[5];
    for (int k = 0; k <= nin; k++) {
        Onnx__TensorShapeProto sh = ONNX__TENSOR_SHAPE_PROTO__INIT;
        Onnx__TypeProto__Tensor t = ONNX__TYPE_PROTO__TENSOR__INIT;
        Onnx__TypeProto ty = ONNX__TYPE_PROTO__INIT;
        Onnx__ValueInfoProto v = ONNX__VALUE_INFO_PROTO__INIT;
        tt[k] = t; type[k] = ty; vi[k] = v;
        tt[k].has_elem_type = 1;
        tt[k].elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
        if (k < nin) {
            shape[k] = sh;
            for (int d = 0; d < ranks[k]; d++) {
                Onnx__TensorShapeProto__Dimension one = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
                dm[k][d] = one;
                dm[k][d].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                dm[k][d].dim_value = dims[k][d];
                dp[k][d] = &dm[k][d];
            }
            shape[k].n_dim = (size_t)ranks[k];
            shape[k].dim = dp[k];
            tt[k].shape = &shape[k];
            snprintf(names[k], sizeof names[k], "x%d", k);
            ins[k] = names[k];
        }
        type[k].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
        type[k].tensor_type = &tt[k];
        vi[k].name = k < nin ? names[k] : "y";
        vi[k].type = &type[k];
        vip[k] = &vi[k];
    }
    g.n_input = (size_t)nin;
    g.input = vip;
    g.n_output = 1;
    g.output = vip + nin;
    size_t len = onnx__model_proto__get_packed_size(&m);
    unsigned char *buf = malloc(len);
    onnx__model_proto__pack(&m, buf);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(buf, 1, len, f);
    fclose(f);
    free(buf);
}

/* the imported graph run node by node (fold hooks; views share their input's floats) */
static void run_graph(Graph *g, float **mem) {
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead) continue;
        if (n->op == OP_VIEW) {
            memcpy(mem[n->out[0]], mem[n->in[0]], (size_t)ir_size(&g->values[n->out[0]]) * sizeof(float));
            continue;
        }
        Run r = { g, { NULL } };
        for (int v = 0; v < g->nvalues && v < 64; v++) r.mem[v] = mem[v];
        run_node(&r, i);
    }
}

/* the literal sum: every assignment of the letters, row-major over a..z */
static void einsum_ref(const char *eq, int nin, const float *const *x, const int64_t dims[][4], float *y, long ny) {
    long size[26];
    int lab[5][8], nl[5] = { 0 }, k = 0;
    for (int l = 0; l < 26; l++) size[l] = 1;
    const char *p = eq;
    for (; *p && *p != '-'; p++) {
        if (*p == ',') { k++; continue; }
        lab[k][nl[k]] = *p - 'a';
        size[*p - 'a'] = (long)dims[k][nl[k]];
        nl[k]++;
    }
    for (p += 2; *p; p++) lab[nin][nl[nin]++] = *p - 'a';
    long total = 1, c[26];
    for (int l = 0; l < 26; l++) total *= size[l];
    memset(y, 0, (size_t)ny * sizeof *y);
    for (long a = 0; a < total; a++) {
        long q = a;
        for (int l = 25; l >= 0; l--) { c[l] = q % size[l]; q /= size[l]; }
        double prod = 1;
        for (int j = 0; j < nin; j++) {
            long o = 0;
            for (int d = 0; d < nl[j]; d++) o = o * (long)dims[j][d] + c[lab[j][d]];
            prod *= x[j][o];
        }
        long o = 0;
        for (int d = 0; d < nl[nin]; d++) o = o * size[lab[nin][d]] + c[lab[nin][d]];
        y[o] += (float)prod;
    }
}

START_TEST(einsum_composition) {
    static const struct { const char *eq; int nin; int64_t dims[3][4]; int ranks[3]; } cases[] = {
        { "ij,jk->ik", 2, { { 3, 4 }, { 4, 5 } }, { 2, 2 } },
        { "bij,bkj->bik", 2, { { 2, 3, 4 }, { 2, 5, 4 } }, { 3, 3 } },
        { "ii->i", 1, { { 4, 4 } }, { 2 } },
        { "ii->", 1, { { 4, 4 } }, { 2 } },
        { "ijk->kji", 1, { { 2, 3, 4 } }, { 3 } },
        { "ij->", 1, { { 3, 5 } }, { 2 } },
        { "i,j->ij", 2, { { 3 }, { 4 } }, { 1, 1 } },
        { "ij,ij->", 2, { { 3, 4 }, { 3, 4 } }, { 2, 2 } },
        { "iij,jk->ki", 2, { { 3, 3, 2 }, { 2, 4 } }, { 3, 2 } },
        { "abc,cd->dba", 2, { { 2, 3, 4 }, { 4, 5 } }, { 3, 2 } },
        { "bhqd,bhkd->bhqk", 2, { { 2, 2, 3, 4 }, { 2, 2, 5, 4 } }, { 4, 4 } },
        { "ij,jk,kl->il", 3, { { 2, 3 }, { 3, 4 }, { 4, 2 } }, { 2, 2, 2 } },
        { "i,i,i->i", 3, { { 5 }, { 5 }, { 5 } }, { 1, 1, 1 } },
        { "ab,bc,ca->", 3, { { 2, 3 }, { 3, 4 }, { 4, 2 } }, { 2, 2, 2 } },
    };
    char dir[] = "/tmp/nnc-index-XXXXXX", path[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/e.onnx", dir);
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        einsum_model(path, cases[t].eq, cases[t].nin, cases[t].dims, cases[t].ranks);
        OnnxShapes sh;
        memset(&sh, 0, sizeof sh);
        int unsupported = 0;
        diag_init(path, NULL);      /* the import fails on any error counted before it */
        Graph *g = onnx_import(path, "m", 0, NULL, 0, &sh, &unsupported);
        ck_assert_msg(g && !unsupported, "%s: not imported", cases[t].eq);
        float *mem[64] = { NULL }, *want;
        ck_assert_int_lt(g->nvalues, 64);
        unsigned seed = 17u + (unsigned)t;
        for (int v = 0; v < g->nvalues; v++) {
            long n = ir_size(&g->values[v]);
            mem[v] = calloc((size_t)n + 1, sizeof(float));
            if (g->values[v].role == ROLE_PARAM) memcpy(mem[v], g->baked + g->values[v].baked_at, (size_t)n * sizeof(float));
        }
        const float *xs[3];
        for (int k = 0; k < g->ninputs; k++) {
            int v = g->inputs[k];
            for (long i = 0; i < ir_size(&g->values[v]); i++) mem[v][i] = rnd(&seed);
            xs[k] = mem[v];
        }
        run_graph(g, mem);
        int y = g->outputs[0];
        long ny = ir_size(&g->values[y]);
        want = calloc((size_t)ny + 1, sizeof *want);
        einsum_ref(cases[t].eq, cases[t].nin, xs, cases[t].dims, want, ny);
        for (long i = 0; i < ny; i++)
            ck_assert_msg(fabsf(mem[y][i] - want[i]) <= 1e-4f * (1 + fabsf(want[i])), "%s [%ld]: %g, want %g",
                          cases[t].eq, i, mem[y][i], want[i]);
        for (int v = 0; v < g->nvalues; v++) free(mem[v]);
        free(want);
        ir_free(g);
    }
    unlink(path);
    rmdir(dir);
    diag_init(NULL, NULL);
}
END_TEST

int main(void) {
    const TTest *const kernels[] = { scatter_elements_vs_reference, scatter_nd_vs_reference, NULL };
    const TTest *const fixed[] = { out_of_range_indices_stay_inside, gather_nd_vs_reference, NULL };
    const TTest *const topk[] = { topk_vs_reference, NULL };
    const TTest *const grads[] = { scatter_elements_gradient, scatter_refuses_other_reductions,
                                          gather_nd_gradient, topk_gradient, NULL };
    const TTest *const import[] = { einsum_composition, NULL };
    const kernel_case cases[] = {
        { "kernels", kernels, 0, 3 }, { "edges", fixed, 0, 0 }, { "topk", topk, 0, 4 }, { "gradients", grads, 0, 0 },
        { "import", import, 0, 0 },
    };
    return run_cases("index", cases, (int)(sizeof cases / sizeof cases[0]));
}
