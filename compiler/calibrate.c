/* calibrate.c — `--calibrate FILE`: each tensor's range over sample inputs,
 * for --quantize int8's activation scales.
 *
 * The float inference graph runs here, at build time, on the samples of the
 * file (read by the host library's readers, so IDX u1 images are scaled to
 * [0, 1] exactly as `nnc fit` and the examples scale them), through the same
 * runtime kernels the generated code calls.  The evaluator walks the
 * forward nodes in order; an op it cannot evaluate is refused by name
 * (exit 3), never guessed.  Samples go through in chunks, so memory is a
 * chunk's activations whatever the file's size.
 *
 * The ranges: minmax (the extremes seen), percentile (the 0.01 % and
 * 99.99 % quantiles, from a 2048-bin histogram of a second pass), or mse
 * (of a few clipping quantiles, the one whose 256-level quantization of the
 * histogram has the least squared error).  A node with a fused activation
 * also gets its pre-activation's range (tensor nvalues + node): the int8
 * build splits off a softmax and needs the logits' scale.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "build.h"

int (*calibrate_load)(const char *path, const char *member, const char *exclude, nnc_host_dtype want,
                      const long *shape_hint, int dims, nnc_host_array *a);

#define CHUNK 64        /* samples evaluated at a time */
#define BINS 2048

typedef struct Stats {
    float *lo, *hi;     /* per tensor: nvalues + nnodes */
    long *hist;         /* BINS per tensor (second pass) */
    int pass;           /* 0: extremes, 1: histogram */
} Stats;

static void record(Stats *s, int t, const float *x, long count) {
    if (s->pass == 0) {
        float lo = s->lo[t], hi = s->hi[t];
        for (long i = 0; i < count; i++) {
            if (x[i] < lo) lo = x[i];
            if (x[i] > hi) hi = x[i];
        }
        s->lo[t] = lo, s->hi[t] = hi;
        return;
    }
    float lo = s->lo[t], w = (s->hi[t] - lo) / BINS;
    long *h = s->hist + (long)t * BINS;
    for (long i = 0; i < count; i++) {
        long b = w > 0 ? (long)((x[i] - lo) / w) : 0;
        h[b < 0 ? 0 : b >= BINS ? BINS - 1 : b]++;
    }
}

static float *alloc_floats(long n) {
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    if (!p) abort();
    return p;
}

/* one node on S samples; buf[v]: each value's floats (NULL: not computed);
 * 0, or -1 after reporting what it cannot evaluate */
static int eval_node(const Graph *g, int i, int S, float **buf, int *owned, Stats *st) {
    const Node *n = &g->nodes[i];
    const OpDef *d = op_table[n->op];
    const Value *y = &g->values[n->out[0]];
    for (int j = 0; j < n->nin; j++)
        if (!buf[n->in[j]]) {
            diag_error(n->loc, "--calibrate: %s reads '%s', which the calibration cannot compute; nnc cannot "
                       "quantize this model yet", node_who(g, n), g->values[n->in[j]].name);
            return -1;
        }
    if (d->alias) {     /* a view */
        buf[n->out[0]] = buf[n->in[0]];
        record(st, n->out[0], buf[n->out[0]], S * ir_size(y));
        return 0;
    }
    if (!d->fold) {
        diag_error(n->loc, "--calibrate: nnc cannot evaluate %s (%s) at build time yet, so it cannot quantize "
                   "this model", node_who(g, n), op_name(n->op));
        return -1;
    }
    /* the op's fold hook: the runtime kernel of the generated code; a fused
     * activation after it, through the activation layer's own hook, so the
     * pre-activation's range is recorded too */
    long ysize = (long)S * ir_size(y);
    float *out = alloc_floats(ysize);
    Attrs a = n->attr;
    int act = d->epilogue ? a.act : NNC_RT_ACT_LINEAR, act_op = act != NNC_RT_ACT_LINEAR ? op_for_act(act) : -1;
    if (act != NNC_RT_ACT_LINEAR && (act_op < 0 || !op_table[act_op]->fold)) {
        free(out);
        diag_error(n->loc, "--calibrate: nnc cannot evaluate %s's activation %s at build time yet", node_who(g, n),
                   act_name(act));
        return -1;
    }
    a.act = NNC_RT_ACT_LINEAR;
    long dims[IR_MAX_RANK], in_dims[IR_MAX_IO][IR_MAX_RANK];
    Fold f = { &a, out, ysize, y->rank, dims, n->nin, { NULL }, { 0 }, { NULL }, n->op };
    for (int k = 0; k < y->rank; k++) dims[k] = y->dims[k];
    for (int j = 0; j < n->nin; j++) {
        const Value *v = &g->values[n->in[j]];
        f.in[j] = buf[n->in[j]];
        f.in_rank[j] = v->rank;
        for (int k = 0; k < v->rank; k++) in_dims[j][k] = v->dims[k];
        f.in_dims[j] = in_dims[j];
    }
    d->fold(&f);
    if (act != NNC_RT_ACT_LINEAR) {
        record(st, g->nvalues + i, out, ysize);     /* the pre-activation */
        Attrs aa = n->attr;
        Fold fa = { &aa, out, ysize, y->rank, dims, 1, { out }, { y->rank }, { dims }, act_op };
        op_table[act_op]->fold(&fa);                /* in place: element-wise, or softmax by rows */
    }
    buf[n->out[0]] = out;
    owned[n->out[0]] = 1;
    record(st, n->out[0], out, ysize);
    return 0;
}

/* every forward node on S samples at x */
static int eval_chunk(const Graph *g, const float *x, int S, Stats *st) {
    float **buf = calloc((size_t)g->nvalues, sizeof *buf);
    int *owned = calloc((size_t)g->nvalues, sizeof *owned), status = 0;
    if (!buf || !owned) abort();
    for (int v = 0; v < g->nvalues; v++)
        if (g->values[v].role == ROLE_PARAM && g->values[v].constant && g->baked)
            buf[v] = g->baked + g->values[v].baked_at;
    buf[g->input] = (float *)x;
    record(st, g->input, x, (long)S * ir_size(&g->values[g->input]));
    for (int i = 0; i < g->nnodes && !status; i++)
        if (ir_in_schedule(&g->nodes[i], 0)) status = eval_node(g, i, S, buf, owned, st);
    for (int v = 0; v < g->nvalues; v++)
        if (owned[v]) free(buf[v]);
    free(buf);
    free(owned);
    return status;
}

/* the value at quantile q of tensor t's histogram */
static float quantile(const Stats *s, int t, double q) {
    const long *h = s->hist + (long)t * BINS;
    long total = 0;
    for (int b = 0; b < BINS; b++) total += h[b];
    double want = q * (double)total, run = 0;
    float w = (s->hi[t] - s->lo[t]) / BINS;
    for (int b = 0; b < BINS; b++) {
        run += (double)h[b];
        if (run >= want) return s->lo[t] + w * (float)(b + 1);
    }
    return s->hi[t];
}

/* the squared error of quantizing tensor t's histogram to 256 levels over [lo, hi] */
static double quant_error(const Stats *s, int t, float lo, float hi) {
    if (lo > 0) lo = 0;
    if (hi < 0) hi = 0;
    double scale = (hi - lo) / 255.0, err = 0;
    if (!(scale > 0)) return 0;
    const long *h = s->hist + (long)t * BINS;
    float w = (s->hi[t] - s->lo[t]) / BINS;
    double zp = nearbyint(-128 - lo / scale);
    for (int b = 0; b < BINS; b++) {
        if (!h[b]) continue;
        double v = s->lo[t] + w * (b + 0.5), q = nearbyint(v / scale) + zp;
        q = q < -128 ? -128 : q > 127 ? 127 : q;
        double d = v - scale * (q - zp);
        err += d * d * (double)h[b];
    }
    return err;
}

int calibrate_ranges(const Graph *g, const Build *b, float **lo_out, float **hi_out) {
    const Value *in = &g->values[g->input];
    long shape[IR_MAX_RANK];
    for (int d = 0; d < in->rank; d++) shape[d] = in->dims[d];
    nnc_host_array a;
    if (!calibrate_load) {
        fprintf(stderr, "nnc: --calibrate: this program was built without the data readers\n");
        return -1;
    }
    if (calibrate_load(b->calibrate, NULL, NULL, NNC_HOST_F32, shape, in->rank, &a)) return -1;
    long size = ir_size(in), have = a.shape[0], per = 1;
    for (int d = 1; d < a.ndim; d++) per *= a.shape[d];
    if (per != size) {
        fprintf(stderr, "nnc: --calibrate %s: a sample has %ld values, the model's input '%s' takes %ld\n",
                b->calibrate, per, in->name, size);
        free(a.data);
        return -1;
    }
    long S = b->calibrate_samples > 0 && b->calibrate_samples < have ? b->calibrate_samples : have;
    if (S < 1) {
        fprintf(stderr, "nnc: --calibrate %s holds no samples\n", b->calibrate);
        free(a.data);
        return -1;
    }
    const char *method = b->calibrate_method ? b->calibrate_method : "minmax";
    int ntensors = g->nvalues + g->nnodes, status = 0;
    Stats st = { calloc((size_t)ntensors, sizeof(float)), calloc((size_t)ntensors, sizeof(float)), NULL, 0 };
    if (!st.lo || !st.hi) abort();
    for (int t = 0; t < ntensors; t++) st.lo[t] = HUGE_VALF, st.hi[t] = -HUGE_VALF;
    const float *x = a.data;
    for (long s0 = 0; s0 < S && !status; s0 += CHUNK)
        status = eval_chunk(g, x + s0 * size, (int)(S - s0 < CHUNK ? S - s0 : CHUNK), &st);
    if (!status && strcmp(method, "minmax")) {
        st.hist = calloc((size_t)ntensors * BINS, sizeof *st.hist);
        if (!st.hist) abort();
        st.pass = 1;
        for (long s0 = 0; s0 < S && !status; s0 += CHUNK)
            status = eval_chunk(g, x + s0 * size, (int)(S - s0 < CHUNK ? S - s0 : CHUNK), &st);
        for (int t = 0; t < ntensors && !status; t++) {
            if (!(st.hi[t] > st.lo[t])) continue;
            float lo, hi;
            if (!strcmp(method, "percentile")) {
                lo = quantile(&st, t, 0.0001);
                hi = quantile(&st, t, 0.9999);
            } else {    /* mse: the best of a few clipping quantiles */
                static const double qs[] = { 0.99, 0.999, 0.9999, 0.99999, 1.0 };
                double best = HUGE_VAL;
                lo = st.lo[t], hi = st.hi[t];
                for (int k = 0; k < 5; k++) {
                    float l = qs[k] < 1 ? quantile(&st, t, 1 - qs[k]) : st.lo[t];
                    float h = qs[k] < 1 ? quantile(&st, t, qs[k]) : st.hi[t];
                    if (l > st.lo[t] && l < st.lo[t] + (st.hi[t] - st.lo[t]) / BINS * 1.5f) l = st.lo[t];
                    double e = quant_error(&st, t, l, h);
                    if (e < best) best = e, lo = l, hi = h;
                }
            }
            if (st.lo[t] >= 0 && lo > 0) lo = st.lo[t];   /* a non-negative tensor keeps its floor */
            st.lo[t] = lo;
            st.hi[t] = hi;
        }
    }
    free(st.hist);
    free(a.data);
    if (status) {
        free(st.lo);
        free(st.hi);
        return -1;
    }
    *lo_out = st.lo;
    *hi_out = st.hi;
    return 0;
}
