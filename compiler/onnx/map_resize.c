/* map_resize.c — the builders of ONNX's Resize (opsets 10 to 19) and
 * Upsample (7, 9): nearest, n-linear and cubic interpolation.
 *
 * Decisions:
 *  - Every mode is separable, so a resize is one nd_resize node per axis
 *    whose extent changes: along that axis each output is a weighted sum of
 *    a few inputs (its taps), computed here, at compile time, from the
 *    node's scales or sizes, roi and attributes.  The taps reproduce ONNX's
 *    reference implementation (onnx/reference/ops/op_resize.py): the same
 *    coordinate transformations, the same choice of neighbours (the n
 *    nearest positions of the edge-padded input, the lower one on a tie),
 *    the same coefficients, exclude_outside's renormalisation and
 *    antialiasing's widened filter; a position past the edge reads the edge
 *    element.  tf_crop_and_resize's outputs outside the box are one
 *    constant tap (index -1) holding extrapolation_value: the other axes'
 *    taps, whose weights sum to one, keep it.
 *  - Scales, sizes and roi must be known here (constants after folding, or
 *    --bind); computed at run time they are refused (exit 3).
 *  - Resize-10 and Upsample predate coordinate_transformation_mode: they
 *    work as the runtimes of their time did (ONNX Runtime's "simple"
 *    mode): asymmetric coordinates, nearest truncating when enlarging and
 *    rounding up when shrinking.
 *  - The tables are constants of the graph that are never trained: a
 *    fine-tuned model (--train) trains through the resize (nd_resize's
 *    gradient scatters through the same taps), not the resize itself.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx.h"

enum { RS_NEAREST, RS_LINEAR, RS_CUBIC };
enum { CT_HALF_PIXEL, CT_PYTORCH_HALF_PIXEL, CT_ALIGN_CORNERS, CT_ASYMMETRIC, CT_TF_CROP, CT_HALF_PIXEL_SYMMETRIC,
       CT_TF_HALF_PIXEL_FOR_NN };
enum { NM_ROUND_PREFER_FLOOR, NM_ROUND_PREFER_CEIL, NM_FLOOR, NM_CEIL, NM_SIMPLE };

#define RS_MAX_TAPS 1024    /* taps of one output (antialiasing widens the filter as it shrinks) */

typedef struct Resize {
    int mode, ctm, nearest;
    float cubic_a, extrapolation;
    int exclude_outside, antialias;
} Resize;

/* the ONNX reference's coordinate in the input of output j along an axis
 * of L inputs and M outputs at scale s (roi r0 .. r1); *outside: beyond a
 * tf_crop_and_resize box */
static double source_coord(const Resize *r, long j, long L, long M, double s, double r0, double r1, int *outside) {
    double ow = s * (double)L, x = 0;   /* the reference's "output width": scale times input, not rounded */
    int one = fabs(ow - 1.0) < 1e-9;
    *outside = 0;
    switch (r->ctm) {
    case CT_ALIGN_CORNERS: x = one ? 0.0 : (double)j * (double)(L - 1) / (ow - 1.0); break;
    case CT_ASYMMETRIC: x = (double)j / s; break;
    case CT_TF_CROP:
        x = one ? (r1 - r0) * (double)(L - 1) / 2 : (double)j * (r1 - r0) * (double)(L - 1) / (ow - 1.0);
        x += r0 * (double)(L - 1);
        *outside = x < 0 || x > (double)(L - 1);
        break;
    case CT_PYTORCH_HALF_PIXEL: x = one ? -0.5 : ((double)j + 0.5) / s - 0.5; break;
    case CT_HALF_PIXEL_SYMMETRIC: {
        double adjustment = (double)M / ow, center = (double)L / 2;
        x = center * (1 - adjustment) + ((double)j + 0.5) / s - 0.5;
        break;
    }
    case CT_TF_HALF_PIXEL_FOR_NN: x = ((double)j + 0.5) / s; break;    /* opsets 11 and 12 */
    default: x = ((double)j + 0.5) / s - 0.5; break;
    }
    return x;
}

static double cubic_weight(double x, double A) {
    x = fabs(x);
    if (x <= 1) return ((A + 2) * x - (A + 3)) * x * x + 1;
    if (x < 2) return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
    return 0;
}

/* the coefficients of the taps at positions floor + start + k, k < n, for a
 * coordinate `ratio` past floor (ratio in (0, 1]); their count */
static int coefficients(const Resize *r, double ratio, double s, double *cf) {
    if (r->mode == RS_LINEAR && !r->antialias) {
        cf[0] = 1 - ratio;
        cf[1] = ratio;
        return 2;
    }
    if (r->mode == RS_CUBIC && !r->antialias) {
        double A = r->cubic_a;
        cf[0] = cubic_weight(ratio + 1, A);
        cf[1] = cubic_weight(ratio, A);
        cf[2] = cubic_weight(1 - ratio, A);
        cf[3] = cubic_weight(2 - ratio, A);
        return 4;
    }
    /* antialiased: the filter stretched by 1 / scale when shrinking, normalised */
    double sc = s > 1.0 ? 1.0 : s, sum = 0;
    long start = r->mode == RS_LINEAR ? (long)floor(-1.0 / sc) + 1 : (long)floor(-2.0 / sc) + 1;
    long n = 2 - 2 * start;
    if (n > RS_MAX_TAPS) return -1;
    for (long k = 0; k < n; k++) {
        double a = sc * ((double)(start + k) - ratio);
        cf[k] = r->mode == RS_LINEAR ? (fabs(a) < 1 ? 1 - fabs(a) : 0) : cubic_weight(a, r->cubic_a);
        sum += cf[k];
    }
    for (long k = 0; k < n; k++) cf[k] /= sum;
    return (int)n;
}

/* the n positions nearest to x among -p .. L + p - 1 (the input padded by
 * p = ceil(n / 2) on each side), the lower one on a tie, in order: the
 * reference's _get_neighbor; they are consecutive, the first is returned */
static long neighbours(double x, int n, long L) {
    long p = (n + 1) / 2, lo = -p, hi = L + p - 1;    /* the padded range */
    double c = floor(x);
    long first = (long)(c < (double)lo ? (double)lo : c > (double)hi ? (double)hi : c) - n;
    if (first < lo) first = lo;
    /* slide the window of n while the position after it is nearer than its first */
    while (first + n <= hi && fabs((double)(first + n) - x) < fabs((double)first - x)) first++;
    while (first > lo && fabs((double)(first - 1) - x) <= fabs((double)(first + n - 1) - x)) first--;
    return first;
}

/* the taps of output j: (index, weight) pairs, merged on equal indices; their count, -1 past RS_MAX_TAPS */
static int taps_of(const Resize *r, long j, long L, long M, double s, double r0, double r1, long *ti, double *tw) {
    int outside;
    double x = source_coord(r, j, L, M, s, r0, r1, &outside);
    if (outside) {
        ti[0] = -1;
        tw[0] = r->extrapolation;
        return 1;
    }
    if (r->mode == RS_NEAREST) {
        double f = floor(x), ratio = x - f;
        long k;
        switch (r->nearest) {
        case NM_SIMPLE: k = s < 1 ? (long)ceil(x) : (long)f; break;    /* x >= 0: asymmetric */
        case NM_FLOOR: k = (long)f; break;
        case NM_CEIL: k = (long)ceil(x); break;
        case NM_ROUND_PREFER_CEIL: k = ratio == 0 ? (long)f : ratio < 0.5 ? (long)f : (long)f + 1; break;
        default: k = ratio == 0 ? (long)f : ratio <= 0.5 ? (long)f : (long)f + 1; break;
        }
        ti[0] = k < 0 ? 0 : k > L - 1 ? L - 1 : k;
        tw[0] = 1;
        return 1;
    }
    static double cf[RS_MAX_TAPS];
    double f = floor(x), ratio = x == f ? 1.0 : x - f;
    int n = coefficients(r, ratio, s, cf);
    if (n < 0) return -1;
    long first = neighbours(x, n, L);
    if (r->exclude_outside) {
        double sum = 0;
        for (int k = 0; k < n; k++) {
            if (first + k < 0 || first + k >= L) cf[k] = 0;
            sum += cf[k];
        }
        for (int k = 0; k < n && sum != 0; k++) cf[k] /= sum;
    }
    int m = 0;
    for (int k = 0; k < n; k++) {
        long at = first + k < 0 ? 0 : first + k > L - 1 ? L - 1 : first + k;
        if (cf[k] == 0) continue;
        if (m && ti[m - 1] == at) { tw[m - 1] += cf[k]; continue; }   /* positions are ascending: equal ones adjoin */
        ti[m] = at;
        tw[m++] = cf[k];
    }
    if (!m) { ti[0] = 0; tw[0] = 0; m = 1; }    /* all weights zero (exclude_outside on a one-element axis) */
    return m;
}

/* x resized along `axis` from L to M by a table of taps: an nd_resize node
 * (or x itself when the table is the identity) */
static Tensor *resize_axis(Ctx *c, const Resize *r, Tensor *x, int axis, long M, double s, double r0, double r1,
                           const char *name) {
    long L = x->dims[axis], T = 1;
    if (L == 0) { onnx_unsupported(c->im, "resizing an axis of extent 0"); return NULL; }
    long *ti = malloc(RS_MAX_TAPS * sizeof *ti);
    double *tw = malloc(RS_MAX_TAPS * sizeof *tw);
    int *count = malloc((size_t)M * sizeof *count);
    if (!ti || !tw || !count) abort();
    /* the widest row first, then the table */
    for (long j = 0; j < M; j++) {
        count[j] = taps_of(r, j, L, M, s, r0, r1, ti, tw);
        if (count[j] < 0) {
            onnx_unsupported(c->im, "an antialiased filter of more than 1024 taps (a scale below 1/512)");
            free(ti); free(tw); free(count);
            return NULL;
        }
        if (count[j] > T) T = count[j];
    }
    long dims2[2] = { M, T };
    if (onnx_checked_numel(c->im, dims2, 2, ONNX_MAX_CONST, "Resize's table of taps") < 0) {
        free(ti); free(tw); free(count);
        return NULL;
    }
    float *idx = malloc((size_t)(M * T) * sizeof *idx), *w = malloc((size_t)(M * T) * sizeof *w);
    if (!idx || !w) abort();
    int identity = M == L;
    for (long j = 0; j < M; j++) {
        int m = taps_of(r, j, L, M, s, r0, r1, ti, tw);
        for (long k = 0; k < T; k++) {
            idx[j * T + k] = (float)ti[k < m ? k : 0];   /* padded with its own first index, weight 0 */
            w[j * T + k] = k < m ? (float)tw[k] : 0.0f;
        }
        identity &= m == 1 && ti[0] == j && w[j * T] == 1.0f;
    }
    free(ti); free(tw); free(count);
    if (identity) { free(idx); free(w); return x; }
    char n1[170], n2[170], what[40];
    snprintf(what, sizeof what, "taps%d", axis);
    onnx_part(c, what, n1);
    snprintf(what, sizeof what, "weights%d", axis);
    onnx_part(c, what, n2);
    Tensor *in[3] = { x, onnx_add_constant(c->im, n1, 2, dims2, idx), onnx_add_constant(c->im, n2, 2, dims2, w) };
    Attrs a;
    memset(&a, 0, sizeof a);
    onnx_around(x, axis, &a);
    a.ny = M;
    a.count = T;
    long dims[MAX_T];
    memcpy(dims, x->dims, sizeof dims);
    dims[axis] = M;
    Tensor *y = onnx_apply(c->im, OP_ND_RESIZE, in, 3, &a, name, x->rank, dims);
    if (y && !y->data) {    /* the table is the op's definition, never a trained parameter */
        Graph *g = c->im->g;
        const Node *nd = &g->nodes[g->values[y->value].producer];
        for (int k = 1; k < 3; k++) {
            g->values[nd->in[k]].trainable = 0;
            g->values[nd->in[k]].constant = 1;
        }
    }
    return y;
}

/* the float values of an optional input (scales, roi): their count (0 when
 * omitted or empty), -1 after reporting one computed at run time */
static long float_input(Ctx *c, int i, const float **v, const char *what) {
    *v = NULL;
    if (i >= c->nin || !c->in[i]) return 0;
    Tensor *t = c->in[i];
    long n = onnx_numel(t->dims, t->rank);
    if (!n) return 0;
    if (!t->data) {
        char why[128];
        snprintf(why, sizeof why, "'%s' must be a constant (it is computed at run time)", what);
        onnx_unsupported(c->im, why);
        return -1;
    }
    *v = t->data;
    return n;
}

/* a string attribute among the values listed (NULL-terminated): its index,
 * dflt when absent, -1 after reporting one ONNX does not define */
static int attr_choice(Ctx *c, const char *name, const char *const *values, int dflt) {
    const Onnx__AttributeProto *a = onnx_attr(c->n, name);
    if (!a) return dflt;
    for (int k = 0; values[k]; k++)
        if (onnx_attr_is(c->n, name, values[k])) return k;
    onnx_invalid(c->im, "%s '%.*s' is not one ONNX defines", name, (int)(a->s.len > 40 ? 40 : a->s.len),
                 (const char *)a->s.data);
    return -1;
}

/* every axis resized: out[d] and the scale s[d]; then one node per changed axis */
static Tensor *resize_all(Ctx *c, const Resize *r, const long *out, const double *s, const double *roi) {
    Tensor *x = c->in[0];
    int order[MAX_T], k = 0;
    for (int d = 0; d < x->rank; d++)
        if (out[d] != x->dims[d] || r->ctm == CT_TF_CROP || s[d] != 1.0) order[k++] = d;
    long total = onnx_numel(out, x->rank);
    if (onnx_checked_numel(c->im, out, x->rank, ONNX_MAX_ELEMS, "Resize's result") < 0) return NULL;
    if (!total) { onnx_unsupported(c->im, "a Resize to an empty tensor"); return NULL; }
    /* shrinking axes first: the later passes work on less */
    for (int i = 1; i < k; i++)
        for (int j = i; j > 0 && (double)out[order[j]] / (double)x->dims[order[j]] <
                                 (double)out[order[j - 1]] / (double)x->dims[order[j - 1]]; j--) {
            int t = order[j]; order[j] = order[j - 1]; order[j - 1] = t;
        }
    Tensor *cur = x;
    int last = k - 1;
    for (int i = 0; i < k && cur; i++) {
        int d = order[i];
        char name[170], what[32];
        snprintf(what, sizeof what, "axis%d", d);
        onnx_part(c, what, name);
        Tensor *y = resize_axis(c, r, cur, d, out[d], s[d], roi[d], roi[x->rank + d], i == last ? onnx_out_name(c, 0) : name);
        if (!y) return NULL;
        cur = y;
    }
    if (cur == x) return onnx_unary(c, NNC_RT_UN_IDENTITY, 0, 0);
    if (strcmp(cur->name, onnx_out_name(c, 0))) {   /* the last axis was the identity: name the result */
        Ctx u = *c;
        u.in[0] = cur;
        return onnx_unary(&u, NNC_RT_UN_IDENTITY, 0, 0);
    }
    return cur;
}

/* Upsample (7: scales an attribute, 9: an input) and Resize-10: scales only */
static Tensor *resize_old(Ctx *c, const float *sc, long ns) {
    static const char *const modes[] = { "nearest", "linear", "bilinear", NULL };
    Tensor *x = c->in[0];
    Resize r = { RS_NEAREST, CT_ASYMMETRIC, NM_SIMPLE, -0.75f, 0, 0, 0 };
    int mode = attr_choice(c, "mode", modes, 0);
    if (mode < 0) return NULL;
    r.mode = mode ? RS_LINEAR : RS_NEAREST;
    if (ns != x->rank) {
        onnx_invalid(c->im, "%s has %ld scales for an input of rank %d", c->n->op_type, ns, x->rank);
        return NULL;
    }
    long out[MAX_T];
    double s[MAX_T], roi[2 * MAX_T];
    for (int d = 0; d < x->rank; d++) {
        if (!(sc[d] > 0) || sc[d] > 1e9f) { onnx_invalid(c->im, "scale %d is %g; scales must be positive", d, sc[d]); return NULL; }
        s[d] = sc[d];
        out[d] = (long)floor(s[d] * (double)x->dims[d]);
        roi[d] = 0;
        roi[x->rank + d] = 1;
    }
    return resize_all(c, &r, out, s, roi);
}

Tensor *onnx_upsample(Ctx *c) {
    const float *sc;
    long ns;
    if (c->im->opset < 9) {
        const Onnx__AttributeProto *a = onnx_attr(c->n, "scales");
        if (!a) { onnx_invalid(c->im, "Upsample needs its scales attribute"); return NULL; }
        float tmp[MAX_T];
        ns = (long)a->n_floats;
        for (long d = 0; d < ns && d < MAX_T; d++) tmp[d] = a->floats[d];
        if (ns > MAX_T) ns = MAX_T + 1;
        return resize_old(c, tmp, ns);
    }
    if (c->nin < 2 || !c->in[1]) { onnx_invalid(c->im, "Upsample needs its scales input"); return NULL; }
    if ((ns = float_input(c, 1, &sc, "scales")) < 0) return NULL;
    return resize_old(c, sc, ns);
}

Tensor *onnx_resize(Ctx *c) {
    static const char *const modes[] = { "nearest", "linear", "cubic", NULL };
    static const char *const ctms[] = { "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                        "tf_crop_and_resize", "half_pixel_symmetric", "tf_half_pixel_for_nn", NULL };
    static const char *const nearests[] = { "round_prefer_floor", "round_prefer_ceil", "floor", "ceil", NULL };
    static const char *const policies[] = { "stretch", "not_larger", "not_smaller", NULL };
    Tensor *x = c->in[0];
    const float *sc = NULL, *sz = NULL, *rv = NULL;
    if (c->im->opset < 11) {
        long ns;
        if (c->nin < 2 || !c->in[1]) { onnx_invalid(c->im, "Resize-10 needs its scales input"); return NULL; }
        if ((ns = float_input(c, 1, &sc, "scales")) < 0) return NULL;
        return resize_old(c, sc, ns);
    }
    Resize r = { RS_NEAREST, CT_HALF_PIXEL, NM_ROUND_PREFER_FLOOR, -0.75f, 0, 0, 0 };
    if ((r.mode = attr_choice(c, "mode", modes, RS_NEAREST)) < 0 ||
        (r.ctm = attr_choice(c, "coordinate_transformation_mode", ctms, CT_HALF_PIXEL)) < 0 ||
        (r.nearest = attr_choice(c, "nearest_mode", nearests, NM_ROUND_PREFER_FLOOR)) < 0)
        return NULL;
    int policy = attr_choice(c, "keep_aspect_ratio_policy", policies, 0);
    if (policy < 0) return NULL;
    if (r.ctm == CT_HALF_PIXEL_SYMMETRIC && c->im->opset < 19) {
        onnx_invalid(c->im, "coordinate_transformation_mode half_pixel_symmetric is defined from opset 19 on");
        return NULL;
    }
    if (r.ctm == CT_TF_HALF_PIXEL_FOR_NN && c->im->opset >= 13) {
        onnx_invalid(c->im, "coordinate_transformation_mode tf_half_pixel_for_nn was removed in opset 13");
        return NULL;
    }
    r.cubic_a = onnx_attr_f(c->n, "cubic_coeff_a", -0.75f);
    r.exclude_outside = onnx_attr_i(c->n, "exclude_outside", 0) != 0;
    r.extrapolation = onnx_attr_f(c->n, "extrapolation_value", 0.0f);
    r.antialias = onnx_attr_i(c->n, "antialias", 0) != 0 && r.mode != RS_NEAREST;   /* linear and cubic only */
    /* the axes the scales, sizes and roi are for (opset 18): all by default */
    long axes[MAX_T];
    int k = onnx_attr_ints(c->n, "axes", axes, MAX_T), mark[MAX_T], at[MAX_T];
    if (k > MAX_T) { onnx_invalid(c->im, "axes has more entries than the input has axes"); return NULL; }
    if (k < 0) { k = x->rank; for (int d = 0; d < k; d++) axes[d] = d; }
    if (onnx_mark_axes(c, axes, k, x->rank, mark, "axes entry")) return NULL;
    for (int i = 0; i < k; i++) at[i] = onnx_norm_axis(axes[i], x->rank);
    long ns = float_input(c, 2, &sc, "scales"), nz = float_input(c, 3, &sz, "sizes"), nr = 0;
    if (ns < 0 || nz < 0) return NULL;
    if (r.ctm == CT_TF_CROP && (nr = float_input(c, 1, &rv, "roi")) < 0) return NULL;
    if ((ns > 0) == (nz > 0)) {
        onnx_invalid(c->im, "Resize needs exactly one of scales and sizes (%s given)", ns ? "both" : "neither");
        return NULL;
    }
    if ((ns ? ns : nz) != k) {
        onnx_invalid(c->im, "Resize has %ld %s for %d axes", ns ? ns : nz, ns ? "scales" : "sizes", k);
        return NULL;
    }
    if (r.ctm == CT_TF_CROP && nr != 2 * k) {
        onnx_invalid(c->im, "tf_crop_and_resize needs a roi of %d values (starts and ends), it has %ld", 2 * k, nr);
        return NULL;
    }
    long out[MAX_T];
    double s[MAX_T], roi[2 * MAX_T];
    for (int d = 0; d < x->rank; d++) {
        out[d] = x->dims[d];
        s[d] = 1.0;
        roi[d] = 0;
        roi[x->rank + d] = 1;
    }
    for (int i = 0; i < k; i++) {
        int d = at[i];
        if (rv) {
            if (!isfinite(rv[i]) || !isfinite(rv[k + i]) || fabsf(rv[i]) > 1e9f || fabsf(rv[k + i]) > 1e9f) {
                onnx_invalid(c->im, "roi entries %d and %d (%g, %g) must be finite", i, k + i, rv[i], rv[k + i]);
                return NULL;
            }
            roi[d] = rv[i];
            roi[x->rank + d] = rv[k + i];
        }
        if (sc) {
            if (!(sc[i] > 0) || sc[i] > 1e9f) { onnx_invalid(c->im, "scale %d is %g; scales must be positive", i, sc[i]); return NULL; }
            s[d] = sc[i];
            out[d] = (long)floor(s[d] * (double)x->dims[d]);
        } else {
            if (!(sz[i] >= 0) || sz[i] > (float)ONNX_MAX_ELEMS) {
                onnx_invalid(c->im, "size %d is %g; sizes must be non-negative", i, sz[i]);
                return NULL;
            }
            out[d] = onnx_to_long(sz[i]);
            if (!x->dims[d]) { onnx_unsupported(c->im, "resizing an axis of extent 0"); return NULL; }
            s[d] = (double)out[d] / (double)x->dims[d];
        }
    }
    if (sz && policy) {     /* one scale for every listed axis, the smallest or the largest */
        double one = s[at[0]];
        for (int i = 1; i < k; i++) one = policy == 1 ? fmin(one, s[at[i]]) : fmax(one, s[at[i]]);
        for (int i = 0; i < k; i++) {
            s[at[i]] = one;
            out[at[i]] = (long)(one * (double)x->dims[at[i]] + 0.5);
        }
    }
    return resize_all(c, &r, out, s, roi);
}

/* GridSample: x (N, C, H, W) read at grid (N, Ho, Wo, 2)'s locations, a
 * run-time gather (nd_grid_sample); opset 20's names linear/cubic too, 4-D
 * only */
Tensor *onnx_grid_sample(Ctx *c) {
    static const char *const modes[] = { "bilinear", "nearest", "bicubic", "linear", "cubic", NULL };
    static const char *const paddings[] = { "zeros", "border", "reflection", NULL };
    Tensor *x = c->in[0], *g = c->in[1];
    int mode = attr_choice(c, "mode", modes, 0), padding = attr_choice(c, "padding_mode", paddings, 0);
    if (mode < 0 || padding < 0) return NULL;
    if (x->rank != 4 || g->rank != 4) {
        if (x->rank == g->rank && x->rank >= 3) onnx_unsupported(c->im, "GridSample of a 3-D or 5-D input (nnc samples 4-D (N, C, H, W) ones)");
        else onnx_invalid(c->im, "GridSample needs X (N, C, H, W) and grid (N, H_out, W_out, 2); they have ranks %d and %d",
                          x->rank, g->rank);
        return NULL;
    }
    if (g->dims[3] != 2 || g->dims[0] != x->dims[0]) {
        onnx_invalid(c->im, "GridSample's grid must be (N, H_out, W_out, 2) with X's N = %ld; it is (%ld, %ld, %ld, %ld)",
                     x->dims[0], g->dims[0], g->dims[1], g->dims[2], g->dims[3]);
        return NULL;
    }
    Attrs a;
    memset(&a, 0, sizeof a);
    a.fn = mode % 3 == 0 ? NNC_RT_GRID_BILINEAR : mode == 1 ? NNC_RT_GRID_NEAREST : NNC_RT_GRID_BICUBIC;
    a.padding = padding == 0 ? NNC_RT_GRID_ZEROS : padding == 1 ? NNC_RT_GRID_BORDER : NNC_RT_GRID_REFLECTION;
    a.align_corners = onnx_attr_i(c->n, "align_corners", 0) != 0;
    a.samples = (int)x->dims[0];
    a.alen = x->dims[1];
    a.dims[0] = (int)x->dims[2];
    a.dims[1] = (int)x->dims[3];
    a.dims[2] = (int)g->dims[1];
    a.dims[3] = (int)g->dims[2];
    a.ndims = 4;
    long dims[4] = { x->dims[0], x->dims[1], g->dims[1], g->dims[2] };
    return onnx_apply(c->im, OP_ND_GRID_SAMPLE, c->in, 2, &a, onnx_out_name(c, 0), 4, dims);
}
