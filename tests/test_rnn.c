/* test_rnn.c — unit tests for the runtime's embedding and recurrent
 * kernels (runtime/rnn.c) against plain references written here.
 *
 * The reference forward is Keras' cell formulas (nnc_rt.h, rnn.c's
 * comment) stepped one sample and one step at a time in double: no GEMM,
 * no workspace.  The reference gradients are central differences, in
 * double, of that reference forward on L = sum(dy*y) + sum(dh*h_last) +
 * sum(dc*c_last) with fixed random dy, dh, dc — so back-propagation through
 * time is checked against the definition, not against a second copy of its
 * own algebra.  Sizes are odd (features 7, units 5, 5 steps, 3 samples) and
 * every combination of cell, direction, output form and bias is run.
 * Outputs are pre-filled with NaN and followed by guards.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc_rt.h"
#include "kernel_check.h"

/* embedding: rows looked up, an id out of range reads zeros and gets no gradient */
START_TEST(test_embedding)
{
    const float table[4 * 2] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    const int32_t ids[5] = { 2, 0, 2, -1, 4 };
    const float dy[5 * 2] = { 1, 1, 10, 10, 100, 100, 7, 7, 9, 9 };
    const float want_y[5 * 2] = { 5, 6, 1, 2, 5, 6, 0, 0, 0, 0 };
    const float want_d[4 * 2] = { 10, 10, 0, 0, 101, 101, 0, 0 };
    float y[10], d[8];
    int i;
    nnc_rt_embedding_forward(y, ids, table, 5, 4, 2);
    for (i = 0; i < 10; i++)
        ck_assert_float_eq(y[i], want_y[i]);
    for (i = 0; i < 8; i++)
        d[i] = 12345.0f;    /* overwritten, not accumulated into */
    nnc_rt_embedding_backward(d, dy, ids, 5, 4, 2);
    for (i = 0; i < 8; i++)
        ck_assert_float_eq(d[i], want_d[i]);
}
END_TEST

/* a random table: every row reaches the right place, out-of-range ids
 * read zeros, and the gradient rows are the sums of dy over their ids */
START_TEST(test_embedding_reference)
{
    enum { V = 7, D = 5, R = 23 };
    float table[V * D], y[R * D], dy[R * D], *dt = guarded(V * D);
    double want[V * D] = {0};
    int32_t ids[R];
    nnc_rt_rng rng;
    int r, j;
    nnc_rt_rng_seed(&rng, 31);
    fill_uniform(table, V * D, &rng, -1, 1);
    fill_uniform(dy, R * D, &rng, -1, 1);
    for (r = 0; r < R; r++)
        ids[r] = (int32_t)(nnc_rt_rng_u32(&rng) % (V + 2)) - 1; /* -1 .. V: two out of range */
    nnc_rt_embedding_forward(y, ids, table, R, V, D);
    nnc_rt_embedding_backward(dt, dy, ids, R, V, D);
    for (r = 0; r < R; r++)
        for (j = 0; j < D; j++) {
            int in = ids[r] >= 0 && ids[r] < V;
            ck_assert_float_eq(y[r * D + j], in ? table[ids[r] * D + j] : 0.0f);
            if (in)
                want[ids[r] * D + j] += dy[r * D + j];
        }
    ck_assert_int_eq(first_bad(dt, want, V * D, 1e-6, 1e-6), V * D);
    ck_assert(guard_ok(dt, V * D));
    free(dt);
}
END_TEST

/* ---- recurrent layers ----------------------------------------------------------------- */

static double sigm(double v) { return 1.0 / (1.0 + exp(-v)); }

static double act1(int act, double v)
{
    switch (act) {
    case NNC_RT_ACT_TANH: return tanh(v);
    case NNC_RT_ACT_SIGMOID: return sigm(v);
    case NNC_RT_ACT_RELU: return v > 0 ? v : 0;
    default: return v;
    }
}

/* one layer's tensors, in double for the reference: x (n,T,F), w (F,G), r
 * (U,G), b (G, or 2G for GRU; may be absent) */
typedef struct rnn_data {
    nnc_rt_rnn p;
    int n, bias;
    long nx, nw, nr, nb, ny, nh, G;
    double *x, *w, *r, *b, *dy, *dh, *dc;
} rnn_data;

/* the reference forward of sample s: y (its rows of (n, T or 1, U)), the
 * final h and c (U each) */
static void ref_sample(const rnn_data *d, int s, double *y, double *hl, double *cl)
{
    const nnc_rt_rnn *p = &d->p;
    const int U = p->units, F = p->features, T = p->steps, G = (int)d->G;
    double h[64] = {0}, c[64] = {0}, z[256], rec[256];
    int k, t, g, j, i;
    for (k = 0; k < T; k++) {
        t = p->reverse ? T - 1 - k : k;
        for (g = 0; g < G; g++) {
            z[g] = d->bias ? d->b[g] : 0.0;
            rec[g] = d->bias && p->cell == NNC_RT_CELL_GRU ? d->b[G + g] : 0.0;
            for (i = 0; i < F; i++)
                z[g] += d->x[((long)s * T + t) * F + i] * d->w[(long)i * G + g];
            for (j = 0; j < U; j++)
                rec[g] += h[j] * d->r[(long)j * G + g];
        }
        for (j = 0; j < U; j++) {
            if (p->cell == NNC_RT_CELL_SIMPLE) {
                h[j] = act1(p->act, z[j] + rec[j]);
            } else if (p->cell == NNC_RT_CELL_LSTM) {
                double ig = sigm(z[j] + rec[j]), fg = sigm(z[U + j] + rec[U + j]);
                double gg = tanh(z[2 * U + j] + rec[2 * U + j]), og = sigm(z[3 * U + j] + rec[3 * U + j]);
                c[j] = fg * c[j] + ig * gg;
                h[j] = og * tanh(c[j]);
            } else {
                double zz = sigm(z[j] + rec[j]), rr = sigm(z[U + j] + rec[U + j]);
                double hh = tanh(z[2 * U + j] + rr * rec[2 * U + j]);
                h[j] = zz * h[j] + (1 - zz) * hh;
            }
        }
        if (p->return_sequences)
            for (j = 0; j < U; j++)
                y[(long)t * U + j] = h[j];
    }
    for (j = 0; j < U; j++) {
        if (!p->return_sequences)
            y[j] = h[j];
        hl[j] = h[j];
        cl[j] = c[j];
    }
}

/* the reference forward of the batch */
static void ref_forward(const rnn_data *d, double *y, double *hl, double *cl)
{
    const long ys = d->ny / d->n, U = d->p.units;
    int s;
    for (s = 0; s < d->n; s++)
        ref_sample(d, s, y + s * ys, hl + s * U, cl + s * U);
}

/* L = sum dy*y + dh*h_last (+ dc*c_last for LSTM) of the reference */
static double ref_objective(const rnn_data *d)
{
    double *y = malloc(sizeof(double) * (size_t)d->ny), *hl = malloc(sizeof(double) * (size_t)d->nh);
    double *cl = malloc(sizeof(double) * (size_t)d->nh), L = 0;
    long i;
    ck_assert(y && hl && cl);
    ref_forward(d, y, hl, cl);
    for (i = 0; i < d->ny; i++)
        L += d->dy[i] * y[i];
    for (i = 0; i < d->nh; i++)
        L += d->dh[i] * hl[i] + (d->p.cell == NNC_RT_CELL_LSTM ? d->dc[i] * cl[i] : 0.0);
    free(y); free(hl); free(cl);
    return L;
}

/* dL/dv by central differences of the reference, for every element of v */
static void ref_grad(rnn_data *d, double *v, long nv, double *g)
{
    const double h = 1e-6;
    long i;
    for (i = 0; i < nv; i++) {
        double save = v[i], fp, fm;
        v[i] = save + h;
        fp = ref_objective(d);
        v[i] = save - h;
        fm = ref_objective(d);
        v[i] = save;
        g[i] = (fp - fm) / (2 * h);
    }
}

/* case k of RNN_CASES: six cells (SimpleRNN with tanh, relu, sigmoid and
 * linear; LSTM; GRU) x sequences or last state x forwards or reversed x
 * with or without a bias, each at one of three odd sizes */
#define RNN_CASES 48
static const int rnn_sizes[][4] = {{3, 5, 7, 5}, {1, 1, 3, 3}, {2, 4, 1, 9}}; /* n, T, F, U */

static float *rnd(long n, nnc_rt_rng *rng, float lo, float hi)
{
    float *p = falloc(n);
    fill_uniform(p, n, rng, lo, hi);
    return p;
}

static double *widen(const float *f, long n)
{
    double *p = dalloc(n);
    long i;
    for (i = 0; i < n; i++)
        p[i] = f ? f[i] : 0.0;
    return p;
}

typedef struct rnn_floats { float *x, *w, *r, *b, *dy, *dh, *dc; } rnn_floats;

static void rnn_init(rnn_data *d, rnn_floats *f, int k)
{
    static const int cells[6][2] = {{NNC_RT_CELL_SIMPLE, NNC_RT_ACT_TANH}, {NNC_RT_CELL_SIMPLE, NNC_RT_ACT_RELU},
                                    {NNC_RT_CELL_SIMPLE, NNC_RT_ACT_SIGMOID}, {NNC_RT_CELL_SIMPLE, NNC_RT_ACT_LINEAR},
                                    {NNC_RT_CELL_LSTM, NNC_RT_ACT_TANH}, {NNC_RT_CELL_GRU, NNC_RT_ACT_TANH}};
    const int *sz = rnn_sizes[(k / 6 + k) % 3];
    nnc_rt_rng rng;
    nnc_rt_rng_seed(&rng, 900 + k);
    d->n = sz[0];
    d->p.steps = sz[1];
    d->p.features = sz[2];
    d->p.units = sz[3];
    d->p.cell = cells[k % 6][0];
    d->p.act = cells[k % 6][1];
    d->p.return_sequences = k / 6 % 2;
    d->p.reverse = k / 12 % 2;
    d->bias = k / 24 == 0;
    d->G = NNC_RT_RNN_GATES(&d->p);
    d->nx = (long)d->n * d->p.steps * d->p.features;
    d->nw = d->p.features * d->G;
    d->nr = d->p.units * d->G;
    d->nb = d->bias ? d->G * (d->p.cell == NNC_RT_CELL_GRU ? 2 : 1) : 0;
    d->ny = (long)d->n * (d->p.return_sequences ? d->p.steps : 1) * d->p.units;
    d->nh = (long)d->n * d->p.units;
    f->x = rnd(d->nx, &rng, -1, 1);
    f->w = rnd(d->nw, &rng, -0.6f, 0.6f);
    f->r = rnd(d->nr, &rng, -0.6f, 0.6f);
    f->b = d->bias ? rnd(d->nb, &rng, -0.5f, 0.5f) : NULL;
    f->dy = rnd(d->ny, &rng, -1, 1);
    f->dh = rnd(d->nh, &rng, -1, 1);
    f->dc = rnd(d->nh, &rng, -1, 1);
    d->x = widen(f->x, d->nx); d->w = widen(f->w, d->nw); d->r = widen(f->r, d->nr);
    d->b = widen(f->b, d->nb); d->dy = widen(f->dy, d->ny); d->dh = widen(f->dh, d->nh);
    d->dc = widen(f->dc, d->nh);
}

static void rnn_free(rnn_data *d, rnn_floats *f)
{
    free(f->x); free(f->w); free(f->r); free(f->b); free(f->dy); free(f->dh); free(f->dc);
    free(d->x); free(d->w); free(d->r); free(d->b); free(d->dy); free(d->dh); free(d->dc);
}

/* a description of case k for messages */
static const char *rnn_name(const rnn_data *d, char *buf, size_t cap)
{
    snprintf(buf, cap, "cell %d act %d seq %d rev %d bias %d n %d T %d F %d U %d", d->p.cell,
             d->p.act, d->p.return_sequences, d->p.reverse, d->bias, d->n, d->p.steps,
             d->p.features, d->p.units);
    return buf;
}

#define CHECK_ALL(got, want, n, atol, rtol, what)                                           \
    do {                                                                                 \
        long bad_ = first_bad((got), (want), (n), (atol), (rtol));                       \
        ck_assert_msg(bad_ == (n), "%s: %s[%ld] = %.7g, want %.7g", name, what, bad_,    \
                      bad_ < (n) ? (got)[bad_] : 0.0, bad_ < (n) ? (want)[bad_] : 0.0);  \
    } while (0)

START_TEST(test_rnn_forward_reference)
{
    int k;
    for (k = 0; k < RNN_CASES; k++) {
        rnn_data d;
        rnn_floats f;
        char name[160];
        float *y, *hl, *cl, *ws;
        double *ry, *rhl, *rcl;
        int lstm;
        rnn_init(&d, &f, k);
        rnn_name(&d, name, sizeof name);
        lstm = d.p.cell == NNC_RT_CELL_LSTM;
        y = guarded(d.ny); hl = guarded(d.nh); cl = guarded(d.nh);
        ws = guarded(d.n * NNC_RT_RNN_WORK(&d.p));
        ry = dalloc(d.ny); rhl = dalloc(d.nh); rcl = dalloc(d.nh);
        nnc_rt_rnn_forward(&d.p, y, hl, lstm ? cl : NULL, ws, f.x, f.w, f.r, f.b, d.n);
        ref_forward(&d, ry, rhl, rcl);
        CHECK_ALL(y, ry, d.ny, 1e-5, 1e-4, "y");
        CHECK_ALL(hl, rhl, d.nh, 1e-5, 1e-4, "h_last");
        if (lstm)
            CHECK_ALL(cl, rcl, d.nh, 1e-5, 1e-4, "c_last");
        ck_assert_msg(guard_ok(y, d.ny) && guard_ok(hl, d.nh) && guard_ok(cl, d.nh) &&
                      guard_ok(ws, d.n * NNC_RT_RNN_WORK(&d.p)), "%s: wrote past a buffer", name);
        free(y); free(hl); free(cl); free(ws); free(ry); free(rhl); free(rcl);
        rnn_free(&d, &f);
    }
}
END_TEST

/* Back-propagation through time against the reference's central
 * differences.  Every fourth case leaves dy out (NULL: the gradient comes
 * from the final state only), the next dh_last and dc_last, the next dx. */
START_TEST(test_rnn_backward_reference)
{
    int k;
    for (k = 0; k < RNN_CASES; k++) {
        rnn_data d;
        rnn_floats f;
        char name[160];
        float *y, *ws, *sc, *dx, *dw, *dr, *db;
        double *gx, *gw, *gr, *gb;
        const int mode = k % 4, lstm = k % 6 == 4;
        rnn_init(&d, &f, k);
        rnn_name(&d, name, sizeof name);
        if (mode == 1)
            memset(d.dy, 0, sizeof(double) * (size_t)d.ny);
        if (mode == 2) {
            memset(d.dh, 0, sizeof(double) * (size_t)d.nh);
            memset(d.dc, 0, sizeof(double) * (size_t)d.nh);
        }
        y = falloc(d.ny);
        ws = falloc(d.n * NNC_RT_RNN_WORK(&d.p));
        sc = guarded(d.n * NNC_RT_RNN_SCRATCH(&d.p));
        dx = guarded(d.nx); dw = guarded(d.nw); dr = guarded(d.nr); db = guarded(d.nb);
        gx = dalloc(d.nx); gw = dalloc(d.nw); gr = dalloc(d.nr); gb = dalloc(d.nb);
        nnc_rt_rnn_forward(&d.p, y, NULL, NULL, ws, f.x, f.w, f.r, f.b, d.n);
        nnc_rt_rnn_backward(&d.p, mode == 3 ? NULL : dx, dw, dr, d.bias ? db : NULL,
                            mode == 1 ? NULL : f.dy, mode == 2 ? NULL : f.dh,
                            mode == 2 || !lstm ? NULL : f.dc, f.x, f.w, f.r, ws, sc, d.n);
        ref_grad(&d, d.x, d.nx, gx);
        ref_grad(&d, d.w, d.nw, gw);
        ref_grad(&d, d.r, d.nr, gr);
        ref_grad(&d, d.b, d.nb, gb);
        if (mode != 3)
            CHECK_ALL(dx, gx, d.nx, 1e-4, 1e-3, "dx");
        CHECK_ALL(dw, gw, d.nw, 1e-4, 1e-3, "dw");
        CHECK_ALL(dr, gr, d.nr, 1e-4, 1e-3, "dr");
        CHECK_ALL(db, gb, d.nb, 1e-4, 1e-3, "db");
        ck_assert_msg(guard_ok(dx, d.nx) && guard_ok(dw, d.nw) && guard_ok(dr, d.nr) &&
                      guard_ok(db, d.nb) && guard_ok(sc, d.n * NNC_RT_RNN_SCRATCH(&d.p)),
                      "%s: wrote past a buffer", name);
        free(y); free(ws); free(sc); free(dx); free(dw); free(dr); free(db);
        free(gx); free(gw); free(gr); free(gb);
        rnn_free(&d, &f);
    }
}
END_TEST

int main(void)
{
    const TTest *embedding[] = {test_embedding, test_embedding_reference, NULL};
    const TTest *recurrent[] = {test_rnn_forward_reference, test_rnn_backward_reference, NULL};
    const kernel_case cases[] = {{"embedding", embedding, 0, 0}, {"recurrent", recurrent, 60, 0}};
    return run_cases("rnn", cases, (int)(sizeof cases / sizeof cases[0]));
}
