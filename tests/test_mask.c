/* test_mask.c — Keras' mask (embedding(mask_zero = true)) end to end:
 *
 *  - the runtime's masked recurrent kernels (nnc_rt_rnn_forward_masked /
 *    _backward_masked) against a reference written here from Keras' rule
 *    (backend.rnn with a mask: at a padded step the state is carried over,
 *    the output is the carried h, or 0 with zero_output_for_mask), stepped
 *    one sample and one step at a time in double, and their gradients
 *    against central differences of that reference; padding at the end, in
 *    the middle, at the start, everywhere, for every cell, both directions,
 *    both output forms, with and without a bias;
 *  - masked_mean (global_average_pooling1d under a mask) the same way;
 *  - the compiler: which layers honour, pass on or refuse a mask, with the
 *    exact diagnostics, and that a masked model's code calls the masked
 *    kernels.  PyTorch parity of whole models: tests/torch_mask.py.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nnc_rt.h"
#include "kernel_check.h"
#include "model_build.h"

/* ---- the reference ------------------------------------------------------------------ */

static double sigm(double v) { return 1.0 / (1.0 + exp(-v)); }

typedef struct mcase {
    nnc_rt_rnn p;
    int n, bias, zero_output;
    long nx, nw, nr, nb, ny, nh, G;
    int32_t ids[4 * 7];
    double *x, *w, *r, *b, *dy, *dh, *dc;
} mcase;

static void ref_sample(const mcase *d, int s, double *y, double *hl, double *cl)
{
    const nnc_rt_rnn *p = &d->p;
    const int U = p->units, F = p->features, T = p->steps, G = (int)d->G;
    double h[16] = {0}, c[16] = {0}, z[64], rec[64];
    int k, t, g, j, i;
    for (k = 0; k < T; k++) {
        t = p->reverse ? T - 1 - k : k;
        if (d->ids[s * T + t] == 0) {   /* padding: state carried, output carried or zero */
            if (p->return_sequences)
                for (j = 0; j < U; j++)
                    y[(long)t * U + j] = d->zero_output ? 0.0 : h[j];
            continue;
        }
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
                h[j] = tanh(z[j] + rec[j]);
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

static void ref_forward(const mcase *d, double *y, double *hl, double *cl)
{
    const long ys = d->ny / d->n, U = d->p.units;
    for (int s = 0; s < d->n; s++)
        ref_sample(d, s, y + s * ys, hl + s * U, cl + s * U);
}

static double ref_objective(const mcase *d)
{
    double *y = dalloc(d->ny), *hl = dalloc(d->nh), *cl = dalloc(d->nh), L = 0;
    ref_forward(d, y, hl, cl);
    for (long i = 0; i < d->ny; i++)
        L += d->dy[i] * y[i];
    for (long i = 0; i < d->nh; i++)
        L += d->dh[i] * hl[i] + (d->p.cell == NNC_RT_CELL_LSTM ? d->dc[i] * cl[i] : 0.0);
    free(y); free(hl); free(cl);
    return L;
}

static void ref_grad(mcase *d, double *v, long nv, double *g)
{
    const double h = 1e-6;
    for (long i = 0; i < nv; i++) {
        double save = v[i], fp, fm;
        v[i] = save + h;
        fp = ref_objective(d);
        v[i] = save - h;
        fm = ref_objective(d);
        v[i] = save;
        g[i] = (fp - fm) / (2 * h);
    }
}

/* case k: cell (simple tanh, lstm, gru) x return_sequences x reverse x
 * zero_output x bias; 4 samples of 7 steps, the padding of sample 0 at the
 * end, of 1 in the middle, of 2 at the start, 3 all padding (k odd: one
 * sample, the middle pattern) */
#define MASK_CASES 48
typedef struct mfloats { float *x, *w, *r, *b, *dy, *dh, *dc; } mfloats;

static float *rnd(long n, nnc_rt_rng *rng, float lo, float hi)
{
    float *p = falloc(n);
    fill_uniform(p, n, rng, lo, hi);
    return p;
}

static double *widen(const float *f, long n)
{
    double *p = dalloc(n);
    for (long i = 0; i < n; i++) p[i] = f ? f[i] : 0.0;
    return p;
}

static void case_init(mcase *d, mfloats *f, int k)
{
    static const int32_t pattern[4][7] = {
        { 5, 3, 9, 2, 0, 0, 0 }, { 4, 0, 0, 7, 1, 0, 6 }, { 0, 0, 8, 1, 2, 3, 4 }, { 0, 0, 0, 0, 0, 0, 0 } };
    static const int cells[3] = { NNC_RT_CELL_SIMPLE, NNC_RT_CELL_LSTM, NNC_RT_CELL_GRU };
    nnc_rt_rng rng;
    nnc_rt_rng_seed(&rng, 700 + k);
    memset(d, 0, sizeof *d);
    d->n = k % 2 ? 1 : 4;
    d->p.steps = 7;
    d->p.features = 3;
    d->p.units = 4;
    d->p.cell = cells[k % 3];
    d->p.act = NNC_RT_ACT_TANH;
    d->p.return_sequences = k / 3 % 2;
    d->p.reverse = k / 6 % 2;
    d->zero_output = k / 12 % 2;
    d->bias = k / 24 == 0;
    for (int s = 0; s < d->n; s++)
        memcpy(d->ids + s * 7, pattern[d->n == 1 ? 1 : s], sizeof pattern[0]);
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

static void case_free(mcase *d, mfloats *f)
{
    free(f->x); free(f->w); free(f->r); free(f->b); free(f->dy); free(f->dh); free(f->dc);
    free(d->x); free(d->w); free(d->r); free(d->b); free(d->dy); free(d->dh); free(d->dc);
}

#define CHECK_ALL(got, want, cnt, atol, rtol, what)                                             \
    do {                                                                                     \
        long bad_ = first_bad((got), (want), (cnt), (atol), (rtol));                         \
        ck_assert_msg(bad_ == (cnt), "case %d (cell %d seq %d rev %d zero %d bias %d n %d): %s[%ld] = %.7g, " \
                      "want %.7g", k, d.p.cell, d.p.return_sequences, d.p.reverse, d.zero_output, d.bias, d.n, \
                      what, bad_, bad_ < (cnt) ? (got)[bad_] : 0.0, bad_ < (cnt) ? (want)[bad_] : 0.0);          \
    } while (0)

START_TEST(masked_forward_reference)
{
    for (int k = 0; k < MASK_CASES; k++) {
        mcase d;
        mfloats f;
        case_init(&d, &f, k);
        int lstm = d.p.cell == NNC_RT_CELL_LSTM;
        float *y = guarded(d.ny), *hl = guarded(d.nh), *cl = guarded(d.nh);
        float *ws = guarded(d.n * NNC_RT_RNN_WORK(&d.p));
        double *ry = dalloc(d.ny), *rhl = dalloc(d.nh), *rcl = dalloc(d.nh);
        nnc_rt_rnn_forward_masked(&d.p, d.ids, d.zero_output, y, hl, lstm ? cl : NULL, ws, f.x, f.w, f.r, f.b, d.n);
        ref_forward(&d, ry, rhl, rcl);
        CHECK_ALL(y, ry, d.ny, 1e-5, 1e-4, "y");
        CHECK_ALL(hl, rhl, d.nh, 1e-5, 1e-4, "h_last");
        if (lstm) CHECK_ALL(cl, rcl, d.nh, 1e-5, 1e-4, "c_last");
        ck_assert(guard_ok(y, d.ny) && guard_ok(hl, d.nh) && guard_ok(ws, d.n * NNC_RT_RNN_WORK(&d.p)));
        free(y); free(hl); free(cl); free(ws); free(ry); free(rhl); free(rcl);
        case_free(&d, &f);
    }
}
END_TEST

/* a mask of all ones is no mask: the same bits as the unmasked kernels */
START_TEST(no_padding_is_unmasked)
{
    for (int k = 0; k < 12; k++) {
        mcase d;
        mfloats f;
        case_init(&d, &f, k);
        for (int i = 0; i < 28; i++) d.ids[i] = 1 + i;
        int lstm = d.p.cell == NNC_RT_CELL_LSTM;
        long nws = d.n * NNC_RT_RNN_WORK(&d.p), nsc = d.n * NNC_RT_RNN_SCRATCH(&d.p);
        float *y1 = falloc(d.ny), *y2 = falloc(d.ny), *w1 = falloc(nws), *w2 = falloc(nws);
        float *s1 = falloc(nsc), *s2 = falloc(nsc), *dx1 = falloc(d.nx), *dx2 = falloc(d.nx);
        float *dw1 = falloc(d.nw), *dw2 = falloc(d.nw), *dr1 = falloc(d.nr), *dr2 = falloc(d.nr);
        nnc_rt_rnn_forward(&d.p, y1, NULL, NULL, w1, f.x, f.w, f.r, f.b, d.n);
        nnc_rt_rnn_forward_masked(&d.p, d.ids, d.zero_output, y2, NULL, NULL, w2, f.x, f.w, f.r, f.b, d.n);
        ck_assert(!memcmp(y1, y2, sizeof(float) * (size_t)d.ny));
        nnc_rt_rnn_backward(&d.p, dx1, dw1, dr1, NULL, f.dy, f.dh, lstm ? f.dc : NULL, f.x, f.w, f.r, w1, s1, d.n);
        nnc_rt_rnn_backward_masked(&d.p, d.ids, d.zero_output, dx2, dw2, dr2, NULL, f.dy, f.dh, lstm ? f.dc : NULL,
                                   f.x, f.w, f.r, w2, s2, d.n);
        ck_assert(!memcmp(dx1, dx2, sizeof(float) * (size_t)d.nx));
        ck_assert(!memcmp(dw1, dw2, sizeof(float) * (size_t)d.nw));
        ck_assert(!memcmp(dr1, dr2, sizeof(float) * (size_t)d.nr));
        free(y1); free(y2); free(w1); free(w2); free(s1); free(s2); free(dx1); free(dx2);
        free(dw1); free(dw2); free(dr1); free(dr2);
        case_free(&d, &f);
    }
}
END_TEST

/* back-propagation through padded steps against central differences */
START_TEST(masked_backward_reference)
{
    for (int k = 0; k < MASK_CASES; k++) {
        mcase d;
        mfloats f;
        case_init(&d, &f, k);
        int lstm = d.p.cell == NNC_RT_CELL_LSTM;
        float *y = falloc(d.ny), *ws = falloc(d.n * NNC_RT_RNN_WORK(&d.p));
        float *sc = guarded(d.n * NNC_RT_RNN_SCRATCH(&d.p));
        float *dx = guarded(d.nx), *dw = guarded(d.nw), *dr = guarded(d.nr), *db = guarded(d.nb);
        double *gx = dalloc(d.nx), *gw = dalloc(d.nw), *gr = dalloc(d.nr), *gb = dalloc(d.nb);
        nnc_rt_rnn_forward_masked(&d.p, d.ids, d.zero_output, y, NULL, NULL, ws, f.x, f.w, f.r, f.b, d.n);
        nnc_rt_rnn_backward_masked(&d.p, d.ids, d.zero_output, dx, dw, dr, d.bias ? db : NULL, f.dy, f.dh,
                                   lstm ? f.dc : NULL, f.x, f.w, f.r, ws, sc, d.n);
        ref_grad(&d, d.x, d.nx, gx);
        ref_grad(&d, d.w, d.nw, gw);
        ref_grad(&d, d.r, d.nr, gr);
        ref_grad(&d, d.b, d.nb, gb);
        CHECK_ALL(dx, gx, d.nx, 1e-4, 1e-3, "dx");
        CHECK_ALL(dw, gw, d.nw, 1e-4, 1e-3, "dw");
        CHECK_ALL(dr, gr, d.nr, 1e-4, 1e-3, "dr");
        CHECK_ALL(db, gb, d.nb, 1e-4, 1e-3, "db");
        ck_assert(guard_ok(dx, d.nx) && guard_ok(dw, d.nw) && guard_ok(dr, d.nr) && guard_ok(db, d.nb) &&
                  guard_ok(sc, d.n * NNC_RT_RNN_SCRATCH(&d.p)));
        free(y); free(ws); free(sc); free(dx); free(dw); free(dr); free(db);
        free(gx); free(gw); free(gr); free(gb);
        case_free(&d, &f);
    }
}
END_TEST

/* masked_mean: the mean over the real steps, 0 for all padding; its
 * gradient dy / count at the real steps */
START_TEST(masked_mean_reference)
{
    enum { N = 4, T = 7, F = 5 };
    static const int32_t ids[N * T] = { 5, 3, 9, 2, 0, 0, 0, 4, 0, 0, 7, 1, 0, 6,
                                        0, 0, 8, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0 };
    float x[N * T * F], dy[N * F], *y = guarded(N * F), *dx = guarded(N * T * F);
    double want[N * F] = {0}, wantd[N * T * F] = {0};
    nnc_rt_rng rng;
    nnc_rt_rng_seed(&rng, 77);
    fill_uniform(x, N * T * F, &rng, -1, 1);
    fill_uniform(dy, N * F, &rng, -1, 1);
    for (int s = 0; s < N; s++) {
        int count = 0;
        for (int t = 0; t < T; t++) count += ids[s * T + t] != 0;
        for (int t = 0; t < T; t++)
            for (int j = 0; j < F && ids[s * T + t]; j++) {
                want[s * F + j] += x[(s * T + t) * F + j] / (double)count;
                wantd[(s * T + t) * F + j] = dy[s * F + j] / (double)count;
            }
    }
    nnc_rt_masked_mean_forward(y, x, ids, N, T, F);
    nnc_rt_masked_mean_backward(dx, dy, ids, N, T, F);
    ck_assert_int_eq(first_bad(y, want, N * F, 1e-6, 1e-5), N * F);
    ck_assert_int_eq(first_bad(dx, wantd, N * T * F, 1e-7, 1e-6), N * T * F);
    ck_assert(guard_ok(y, N * F) && guard_ok(dx, N * T * F));
    free(y);
    free(dx);
}
END_TEST

/* ---- the compiler ------------------------------------------------------------------- */

static int compile(const char *src, const char *flags, char *out, size_t cap) {
    char path[256], cmd[1024];
    snprintf(path, sizeof path, "%s/m.nn", dir);
    write_text(path, src);
    snprintf(cmd, sizeof cmd, "cd %s && rm -f m.c m.h && %s %s m.nn -o m.c", dir, nnc, flags);
    return run(cmd, out, cap);
}

static void expect(const char *src, int status, const char *expected) {
    char out[8192];
    ck_assert_int_eq(compile(src, "", out, sizeof out), status);
    ck_assert_str_eq(out, expected);
}

/* the generated code of src (it must compile quietly) */
static char *code(const char *src) {
    static char buf[1 << 17];
    char out[8192], path[256];
    ck_assert_msg(compile(src, "", out, sizeof out) == 0 && !out[0], "%s\n%s", src, out);
    snprintf(path, sizeof path, "%s/m.c", dir);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static int count(const char *s, const char *what) {
    int c = 0;
    for (const char *p = s; (p = strstr(p, what)) != NULL; p++) c++;
    return c;
}

#define TRAIN "train m {\n  loss sparse_categorical_crossentropy\n  optimizer sgd(lr = 0.1)\n}\n"

START_TEST(masked_layers_call_masked_kernels)
{
    /* lstm returning sequences passes the mask to bidirectional gru (both halves zero
     * their padded outputs: the ", x, 1," argument), which hands it to the masked mean */
    const char *c = code("model m {\n  input t: i32[6]\n  embedding(20, 8, mask_zero = true)\n"
                         "  dropout(0.1)\n  lstm(5, return_sequences = true)\n"
                         "  bidirectional(gru(4, return_sequences = true))\n  layer_normalization\n"
                         "  time_distributed(dense(3, relu))\n  global_average_pooling1d\n  dense(2, softmax)\n}\n" TRAIN);
    ck_assert_int_eq(count(c, "nnc_rt_rnn_forward_masked("), 2 * 3);    /* inference and training */
    ck_assert_int_eq(count(c, "nnc_rt_rnn_backward_masked("), 3);
    ck_assert_int_eq(count(c, "{ 6, 5, 4, 2, 0, 1, 0 }, x, 1, "), 3);   /* gru forward half: zero outputs */
    ck_assert_int_eq(count(c, "{ 6, 5, 4, 2, 0, 1, 1 }, x, 1, "), 3);
    ck_assert_int_eq(count(c, "{ 6, 8, 5, 1, 0, 1, 0 }, x, 0, "), 3);   /* lstm: carries */
    ck_assert_int_eq(count(c, "nnc_rt_masked_mean_forward("), 2);
    ck_assert_int_eq(count(c, "nnc_rt_masked_mean_backward("), 1);
    /* the last state ends the mask; without mask_zero nothing is masked */
    c = code("model m {\n  input t: i32[6]\n  embedding(20, 8, mask_zero = true)\n  lstm(5)\n"
             "  dense(2, softmax)\n}\n" TRAIN);
    ck_assert_int_eq(count(c, "nnc_rt_rnn_forward_masked("), 2);
    c = code("model m {\n  input t: i32[6]\n  embedding(20, 8)\n  lstm(5)\n  dense(2, softmax)\n}\n" TRAIN);
    ck_assert_int_eq(count(c, "_masked("), 0);
    c = code("model m {\n  input t: i32[6]\n  embedding(20, 8)\n  global_average_pooling1d\n  dense(2)\n}\n");
    ck_assert_int_eq(count(c, "masked_mean"), 0);
}
END_TEST

START_TEST(layers_that_refuse_a_mask)
{
    expect("model m {\n  input t: i32[6]\n  embedding(20, 8, mask_zero = true)\n  conv1d(4, 3)\n"
           "  global_max_pooling1d\n}\n", 1,
           "m.nn:4:3: error: 'conv1d' does not support masking, but its input carries the mask of "
           "embedding(mask_zero = true); consume the mask first (a recurrent layer without return_sequences, "
           "or global_average_pooling1d) or drop mask_zero\n"
           "  conv1d(4, 3)\n  ^~~~~~~~~~~~\n"
           "m.nn:3:3: note: the mask comes from this embedding(mask_zero = true)\n"
           "  embedding(20, 8, mask_zero = true)\n  ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n");
    expect("model m {\n  input t: i32[6]\n  e = Embedding(20, 8, mask_zero = True)\n"
           "  h = lstm(e, 4, return_sequences = true)\n  flatten(h)\n}\n", 1,
           "m.nn:3:7: note: 'Embedding' is spelt 'embedding' in nnc\n"
           "  e = Embedding(20, 8, mask_zero = True)\n      ^~~~~~~~~\n"
           "m.nn:5:3: error: 'flatten' does not support masking, but its input carries the mask of "
           "embedding(mask_zero = true); consume the mask first (a recurrent layer without return_sequences, "
           "or global_average_pooling1d) or drop mask_zero\n"
           "  flatten(h)\n  ^~~~~~~~~~\n"
           "m.nn:3:7: note: the mask comes from this embedding(mask_zero = true)\n"
           "  e = Embedding(20, 8, mask_zero = True)\n      ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n");
    /* concat along the steps (axis 1, as Keras counts) would change the mask's shape */
    expect("model m {\n  input t: i32[6]\n  e = embedding(20, 8, mask_zero = true)\n"
           "  c = concat(e, e, axis = 1)\n  lstm(c, 2)\n}\n", 1,
           "m.nn:4:7: error: 'concat' does not support masking, but its input carries the mask of "
           "embedding(mask_zero = true); consume the mask first (a recurrent layer without return_sequences, "
           "or global_average_pooling1d) or drop mask_zero\n"
           "  c = concat(e, e, axis = 1)\n      ^~~~~~~~~~~~~~~~~~~~~~\n"
           "m.nn:3:7: note: the mask comes from this embedding(mask_zero = true)\n"
           "  e = embedding(20, 8, mask_zero = true)\n      ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n");
    /* an output with a mask: Keras would mask the loss */
    expect("model m {\n  input t: i32[6]\n  embedding(20, 8, mask_zero = true)\n"
           "  gru(4, return_sequences = true)\n  time_distributed(dense(3, softmax))\n}\n", 1,
           "m.nn:5:20: error: output 'dense_softmax' carries the mask of embedding(mask_zero = true); "
           "Keras would weight the loss by it, nnc does not: consume the mask first (a recurrent layer without "
           "return_sequences, or global_average_pooling1d)\n"
           "  time_distributed(dense(3, softmax))\n                   ^~~~~~~~~~~~~~~~~\n"
           "m.nn:3:3: note: the mask comes from this embedding(mask_zero = true)\n"
           "  embedding(20, 8, mask_zero = true)\n  ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n");
}
END_TEST

int main(void)
{
    const TTest *kernels[] = {masked_forward_reference, no_padding_is_unmasked, masked_backward_reference,
                              masked_mean_reference, NULL};
    const TTest *compiler[] = {masked_layers_call_masked_kernels, layers_that_refuse_a_mask, NULL};
    const kernel_case cases[] = {{"kernels", kernels, 60, 0}, {"compiler", compiler, 120, 0}};
    if (model_build_init("tmp-mask")) return 1;
    int status = run_cases("mask", cases, (int)(sizeof cases / sizeof cases[0]));
    if (model_build_done()) return 1;
    return status;
}
