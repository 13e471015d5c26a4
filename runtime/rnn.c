/* rnn.c — embedding and the recurrent layers (SimpleRNN, LSTM, GRU), forward
 * and back-propagation through time.
 *
 * Design: the input projection x.W of every time step is one GEMM over all
 * n*T rows before the recurrence starts; only h_{t-1}.R stays inside the
 * time loop (a GEMM over the n rows of one step).  The backward pass mirrors
 * that: the gate gradients of every step are stored, and dW, db and dx are
 * one GEMM each after the loop.  The forward pass saves, per sample and per
 * time step, exactly what the backward pass reads (see NNC_RT_RNN_SLOT);
 * slots are indexed by input time t, also when the layer runs backwards in
 * time (bidirectional), so every buffer lines up with x.
 *
 * Gate order and formulas are Keras':
 *   SimpleRNN  h = act(x.W + h_prev.R + b)
 *   LSTM       [i f g o] = x.W + h_prev.R + b   (W: (F,4U), R: (U,4U))
 *              i, f, o = sigmoid; g = tanh; c = f*c_prev + i*g; h = o*tanh(c)
 *   GRU        (reset_after = true; b is (2, 3U): input bias, recurrent bias)
 *              [xz xr xh] = x.W + b_in; [rz rr rh] = h_prev.R + b_rec
 *              z = sigmoid(xz + rz); r = sigmoid(xr + rr)
 *              hh = tanh(xh + r*rh); h = z*h_prev + (1-z)*hh
 * The initial state is zero.
 *
 * Masking (Keras' mask_zero; the _masked entry points): step t of sample b
 * is padding when its token id ids[b*T + t] is 0.  Keras' rule
 * (backend.rnn with a mask): at a padded step the state (h, and c for LSTM)
 * is carried over unchanged, and the output is the previous step's output
 * (which for these cells is the carried h; zero before the first real step),
 * or zero when zero_output_for_mask is set (Keras sets it on both halves of a
 * Bidirectional layer that returns sequences).  So a padded step is the
 * identity on the state: backward, its gate gradients are zero, dh and dc
 * pass through it unchanged, and its input gets no gradient.
 */
#include <math.h>
#include <string.h>

#include "nnc_rt.h"


/* ---- embedding ------------------------------------------------------------- */

/* y[r,:] = table[ids[r],:] for each of the rows ids; an id outside
 * [0, vocab) reads as a zero vector (and receives no gradient). */
void nnc_rt_embedding_forward(float *y, const int32_t *ids, const float *table, long rows,
                              int vocab, int dim)
{
    long r;
    for (r = 0; r < rows; r++) {
        int32_t id = ids[r];
        if (id >= 0 && id < vocab)
            memcpy(y + r * dim, table + (long)id * dim, (size_t)dim * sizeof *y);
        else
            memset(y + r * dim, 0, (size_t)dim * sizeof *y);
    }
}

/* dtable = 0, then dtable[ids[r],:] += dy[r,:]: only the used rows are touched
 * after the clear */
void nnc_rt_embedding_backward(float *dtable, const float *dy, const int32_t *ids, long rows,
                               int vocab, int dim)
{
    long r;
    int j;
    memset(dtable, 0, (size_t)vocab * dim * sizeof *dtable);
    for (r = 0; r < rows; r++) {
        int32_t id = ids[r];
        if (id < 0 || id >= vocab)
            continue;
        for (j = 0; j < dim; j++)
            dtable[(long)id * dim + j] += dy[r * dim + j];
    }
}

/* ---- recurrent layers -------------------------------------------------------- */

/* the time step processed k-th, and the one before it */
static int step_time(const nnc_rt_rnn *p, int k) { return p->reverse ? p->steps - 1 - k : k; }
static int prev_time(const nnc_rt_rnn *p, int t) { return p->reverse ? t + 1 : t - 1; }

/* offsets inside one slot of the workspace */
static long h_at(const nnc_rt_rnn *p)
{
    return p->cell == NNC_RT_CELL_LSTM ? 5L * p->units :
           p->cell == NNC_RT_CELL_GRU ? 4L * p->units : 0;
}

/* sample bi's step t is padding (ids NULL: nothing is) */
static int padded(const nnc_rt_rnn *p, const int32_t *ids, int bi, int t)
{
    return ids && ids[(long)bi * p->steps + t] == 0;
}

static void rnn_forward(const nnc_rt_rnn *p, const int32_t *ids, int zero_output, float *y, float *h_last,
                        float *c_last, float *ws, const float *x, const float *w, const float *r, const float *b,
                        int n)
{
    const int T = p->steps, U = p->units, G = NNC_RT_RNN_GATES(p);
    const long S = NNC_RT_RNN_SLOT(p), rows = (long)n * T, hoff = h_at(p);
    const long ld = T * S;      /* from one sample's slot t to the next sample's */
    float *rec = ws + rows * S; /* GRU: one step's recurrent projection, (n, G), after the slots */
    long q;
    int k, j, bi;

    /* input projection of every step (plus the input bias) */
    nnc_rt_gemm_f32(0, 0, (int)rows, G, p->features, 1.0f, x, p->features, w, G, 0.0f, ws, (int)S);
    if (b)
        for (q = 0; q < rows; q++)
            for (j = 0; j < G; j++)
                ws[q * S + j] += b[j];

    for (k = 0; k < T; k++) {
        int t = step_time(p, k), tp = prev_time(p, t);
        float *slot = ws + (long)t * S;
        const float *hprev = k ? ws + (long)tp * S + hoff : NULL;
        if (p->cell == NNC_RT_CELL_GRU) {
            /* [rz rr rh] = h_prev.R + b_rec into the step's scratch rows */
            for (q = 0; q < (long)n * G; q++)
                rec[q] = b ? b[G + q % G] : 0.0f;
            if (hprev)
                nnc_rt_gemm_f32(0, 0, n, G, U, 1.0f, hprev, (int)ld, r, G, 1.0f, rec, G);
        } else if (hprev) {
            nnc_rt_gemm_f32(0, 0, n, G, U, 1.0f, hprev, (int)ld, r, G, 1.0f, slot, (int)ld);
        }
        for (bi = 0; bi < n; bi++) {
            float *z = slot + bi * ld, *h = z + hoff;
            const float *hp = hprev ? hprev + bi * ld : NULL;
            switch (p->cell) {
            case NNC_RT_CELL_SIMPLE:
                nnc_rt_act_forward(p->act, h, z, 1, U);
                break;
            case NNC_RT_CELL_LSTM: {
                float *c = z + 4 * U;
                const float *cp = hp ? hp - U : NULL;     /* c sits just before h */
                for (j = 0; j < U; j++) {
                    float i = nnc_rt_sigmoid(z[j]), f = nnc_rt_sigmoid(z[U + j]), g = tanhf(z[2 * U + j]),
                          o = nnc_rt_sigmoid(z[3 * U + j]);
                    c[j] = i * g + (cp ? f * cp[j] : 0.0f);
                    h[j] = o * tanhf(c[j]);
                    z[j] = i; z[U + j] = f; z[2 * U + j] = g; z[3 * U + j] = o;
                }
                break;
            }
            case NNC_RT_CELL_GRU: {
                const float *rb = rec + (long)bi * G;
                for (j = 0; j < U; j++) {
                    float zz = nnc_rt_sigmoid(z[j] + rb[j]), rr = nnc_rt_sigmoid(z[U + j] + rb[U + j]);
                    float hh = tanhf(z[2 * U + j] + rr * rb[2 * U + j]);
                    h[j] = (1.0f - zz) * hh + (hp ? zz * hp[j] : 0.0f);
                    z[j] = zz; z[U + j] = rr; z[2 * U + j] = hh;
                    z[3 * U + j] = rb[2 * U + j];   /* rh, which the backward pass reads */
                }
                break;
            }
            }
            if (padded(p, ids, bi, t)) {    /* the state carried over (c sits just before h) */
                for (j = 0; j < U; j++)
                    h[j] = hp ? hp[j] : 0.0f;
                if (p->cell == NNC_RT_CELL_LSTM)
                    for (j = 0; j < U; j++)
                        h[j - U] = hp ? hp[j - U] : 0.0f;
            }
        }
    }

    /* outputs: the whole sequence or the last state, aligned with x */
    {
        int last = step_time(p, T - 1);
        for (bi = 0; bi < n; bi++) {
            const float *row = ws + bi * ld;
            if (p->return_sequences)
                for (k = 0; k < T; k++) {
                    float *yk = y + ((long)bi * T + k) * U;
                    if (zero_output && padded(p, ids, bi, k))
                        memset(yk, 0, (size_t)U * sizeof *y);
                    else
                        memcpy(yk, row + k * S + hoff, (size_t)U * sizeof *y);
                }
            else
                memcpy(y + (long)bi * U, row + last * S + hoff, (size_t)U * sizeof *y);
            if (h_last)
                memcpy(h_last + (long)bi * U, row + last * S + hoff, (size_t)U * sizeof *y);
            if (c_last && p->cell == NNC_RT_CELL_LSTM)
                memcpy(c_last + (long)bi * U, row + last * S + 4 * U, (size_t)U * sizeof *y);
        }
    }
}

void nnc_rt_rnn_forward(const nnc_rt_rnn *p, float *y, float *h_last, float *c_last, float *ws,
                        const float *x, const float *w, const float *r, const float *b, int n)
{
    rnn_forward(p, NULL, 0, y, h_last, c_last, ws, x, w, r, b, n);
}

void nnc_rt_rnn_forward_masked(const nnc_rt_rnn *p, const int32_t *ids, int zero_output, float *y,
                               float *h_last, float *c_last, float *ws, const float *x, const float *w,
                               const float *r, const float *b, int n)
{
    rnn_forward(p, ids, zero_output, y, h_last, c_last, ws, x, w, r, b, n);
}

/* dact from the activation's output */
static float act_slope(int act, float h)
{
    switch (act) {
    case NNC_RT_ACT_TANH: return 1.0f - h * h;
    case NNC_RT_ACT_SIGMOID: return h * (1.0f - h);
    case NNC_RT_ACT_RELU: return h > 0.0f ? 1.0f : 0.0f;
    default: return 1.0f;
    }
}

static void rnn_backward(const nnc_rt_rnn *p, const int32_t *ids, int zero_output, float *dx, float *dw,
                         float *dr, float *db, const float *dy, const float *dh_last, const float *dc_last,
                         const float *x, const float *w, const float *r, const float *ws, float *scratch, int n)
{
    const int T = p->steps, U = p->units, G = NNC_RT_RNN_GATES(p), F = p->features;
    const long S = NNC_RT_RNN_SLOT(p), rows = (long)n * T, hoff = h_at(p), ld = T * S;
    const int gru = p->cell == NNC_RT_CELL_GRU;
    /* scratch: dz (n*T, G) for the input side, [GRU: dzr (n*T, G) for the
     * recurrent side,] dh (n, U), dc (n, U) */
    float *dz = scratch, *dzr = gru ? dz + rows * G : dz;
    float *dh = dzr + rows * G, *dc = dh + (long)n * U;
    long q;
    int k, j, bi;

    memset(dr, 0, (size_t)U * G * sizeof *dr);
    for (q = 0; q < (long)n * U; q++) {
        dh[q] = dh_last ? dh_last[q] : 0.0f;
        dc[q] = dc_last ? dc_last[q] : 0.0f;
    }
    if (dy && !p->return_sequences)
        for (q = 0; q < (long)n * U; q++)
            dh[q] += dy[q];

    for (k = T - 1; k >= 0; k--) {
        int t = step_time(p, k), tp = prev_time(p, t);
        const float *slot = ws + (long)t * S;
        for (bi = 0; bi < n; bi++) {
            const float *z = slot + bi * ld, *h = z + hoff;
            const float *hp = k ? ws + (long)tp * S + bi * ld + hoff : NULL;
            float *g = dz + ((long)bi * T + t) * G, *gr = dzr + ((long)bi * T + t) * G;
            float *dhb = dh + (long)bi * U, *dcb = dc + (long)bi * U;
            if (dy && p->return_sequences && !(zero_output && padded(p, ids, bi, t)))
                for (j = 0; j < U; j++)
                    dhb[j] += dy[((long)bi * T + t) * U + j];
            if (padded(p, ids, bi, t)) {    /* the identity on h (and c): dh, dc pass through */
                memset(g, 0, (size_t)G * sizeof *g);
                if (gru)
                    memset(gr, 0, (size_t)G * sizeof *gr);
                continue;
            }
            switch (p->cell) {
            case NNC_RT_CELL_SIMPLE:
                for (j = 0; j < U; j++)
                    g[j] = dhb[j] * act_slope(p->act, h[j]);
                break;
            case NNC_RT_CELL_LSTM: {
                const float *c = z + 4 * U, *cp = hp ? hp - U : NULL;
                for (j = 0; j < U; j++) {
                    float i = z[j], f = z[U + j], gg = z[2 * U + j], o = z[3 * U + j];
                    float tc = tanhf(c[j]), dcj;
                    g[3 * U + j] = dhb[j] * tc * o * (1.0f - o);
                    dcj = dcb[j] + dhb[j] * o * (1.0f - tc * tc);
                    g[j] = dcj * gg * i * (1.0f - i);
                    g[U + j] = cp ? dcj * cp[j] * f * (1.0f - f) : 0.0f;
                    g[2 * U + j] = dcj * i * (1.0f - gg * gg);
                    dcb[j] = dcj * f;
                }
                break;
            }
            case NNC_RT_CELL_GRU:
                for (j = 0; j < U; j++) {
                    float zz = z[j], rr = z[U + j], hh = z[2 * U + j], hpj = hp ? hp[j] : 0.0f;
                    float dah = dhb[j] * (1.0f - zz) * (1.0f - hh * hh);
                    g[j] = gr[j] = dhb[j] * (hpj - hh) * zz * (1.0f - zz);
                    g[U + j] = gr[U + j] = dah * z[3 * U + j] * rr * (1.0f - rr);
                    g[2 * U + j] = dah;
                    gr[2 * U + j] = dah * rr;
                    dhb[j] *= zz;       /* the direct path to h_prev */
                }
                break;
            }
        }
        if (k) {
            /* through R: dR += h_prev^T . dz_t, dh_prev (+)= dz_t . R^T */
            const float *hprev = ws + (long)tp * S + hoff, *dzt = (gru ? dzr : dz) + (long)t * G;
            float beta = gru ? 1.0f : 0.0f;
            if (ids && !gru) {  /* a padded sample keeps its dh; the others' went into dz */
                for (bi = 0; bi < n; bi++)
                    if (!padded(p, ids, bi, t))
                        memset(dh + (long)bi * U, 0, (size_t)U * sizeof *dh);
                beta = 1.0f;
            }
            nnc_rt_gemm_f32(1, 0, U, G, n, 1.0f, hprev, (int)ld, dzt, T * G, 1.0f, dr, G);
            nnc_rt_gemm_f32(0, 1, n, U, G, 1.0f, dzt, T * G, r, G, beta, dh, U);
        }
    }

    nnc_rt_gemm_f32(1, 0, F, G, (int)rows, 1.0f, x, F, dz, G, 0.0f, dw, G);
    if (db) {
        nnc_rt_bias_backward(db, dz, (int)rows, G);
        if (gru)
            nnc_rt_bias_backward(db + G, dzr, (int)rows, G);
    }
    if (dx)
        nnc_rt_gemm_f32(0, 1, (int)rows, F, G, 1.0f, dz, G, w, G, 0.0f, dx, F);
}

void nnc_rt_rnn_backward(const nnc_rt_rnn *p, float *dx, float *dw, float *dr, float *db,
                         const float *dy, const float *dh_last, const float *dc_last,
                         const float *x, const float *w, const float *r, const float *ws,
                         float *scratch, int n)
{
    rnn_backward(p, NULL, 0, dx, dw, dr, db, dy, dh_last, dc_last, x, w, r, ws, scratch, n);
}

void nnc_rt_rnn_backward_masked(const nnc_rt_rnn *p, const int32_t *ids, int zero_output, float *dx,
                                float *dw, float *dr, float *db, const float *dy, const float *dh_last,
                                const float *dc_last, const float *x, const float *w, const float *r,
                                const float *ws, float *scratch, int n)
{
    rnn_backward(p, ids, zero_output, dx, dw, dr, db, dy, dh_last, dc_last, x, w, r, ws, scratch, n);
}

/* ---- the mean over a sequence's real steps ---------------------------------------
 * Keras' GlobalAveragePooling1D with a mask: sum of x over the steps whose id
 * is not 0, divided by their count.  A sequence that is all padding gives 0
 * (Keras divides 0 by 0: NaN, which would poison training). */

static int real_steps(const int32_t *ids, int steps)
{
    int t, count = 0;
    for (t = 0; t < steps; t++)
        count += ids[t] != 0;
    return count;
}

/* x (n, steps, features) -> y (n, features) */
void nnc_rt_masked_mean_forward(float *y, const float *x, const int32_t *ids, int n, int steps, int features)
{
    int bi, t, j;
    for (bi = 0; bi < n; bi++) {
        const int32_t *id = ids + (long)bi * steps;
        int count = real_steps(id, steps);
        float *yb = y + (long)bi * features;
        memset(yb, 0, (size_t)features * sizeof *yb);
        for (t = 0; t < steps; t++)
            if (id[t] != 0)
                for (j = 0; j < features; j++)
                    yb[j] += x[((long)bi * steps + t) * features + j];
        if (count)
            for (j = 0; j < features; j++)
                yb[j] /= (float)count;
    }
}

/* dx[b,t,:] = dy[b,:] / count at a real step, 0 at padding (overwrites dx) */
void nnc_rt_masked_mean_backward(float *dx, const float *dy, const int32_t *ids, int n, int steps, int features)
{
    int bi, t, j;
    for (bi = 0; bi < n; bi++) {
        const int32_t *id = ids + (long)bi * steps;
        int count = real_steps(id, steps);
        for (t = 0; t < steps; t++) {
            float *d = dx + ((long)bi * steps + t) * features;
            for (j = 0; j < features; j++)
                d[j] = id[t] != 0 ? dy[(long)bi * features + j] / (float)count : 0.0f;
        }
    }
}
