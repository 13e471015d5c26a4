/* map_misc.c — the builders of ONNX's small ops that are formulas over
 * existing N-d ops: the optimizer steps of ai.onnx.preview.training
 * (Adagrad, Adam, Momentum), Dropout's training mode where its result is
 * deterministic, the window functions (Hann, Hamming, Blackman), the mel
 * filter bank (MelWeightMatrix) and Det.
 *
 * Decisions:
 *  - The training ops are element-wise formulas composed from nd_binary
 *    and nd_unary, exactly as ONNX's reference writes them; the iteration
 *    count T switches a coefficient at T == 0, done arithmetically with a
 *    0/1 flag (T > 0) so no branch depends on run-time data.
 *  - Dropout in training mode is random unless its ratio is 0: only that
 *    case is built (the identity, and a mask of ones); a ratio or mode
 *    computed at run time is refused, naming it.
 *  - A window or a mel filter bank needs its sizes to know its shape:
 *    constant sizes fold to a constant, run-time ones are refused.
 *  - Det: 1x1, 2x2 and 3x3 matrices by their cofactor formula over strided
 *    views (run time or constant alike); larger constant matrices fold by
 *    Gaussian elimination with partial pivoting (in double); larger
 *    run-time ones are refused.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx.h"

#define PI 3.14159265358979323846

/* a node's intermediate names: "<output 0>/<what><k>", k counting up */
typedef struct Names {
    Ctx *c;
    int k;
    char buf[170];
} Names;

static const char *next_name(Names *nm, const char *what) {
    char part[64];
    snprintf(part, sizeof part, "%s%d", what, nm->k++);
    return onnx_part(nm->c, part, nm->buf);
}

/* a binary op of this node to `out` (a final output's name) or an intermediate */
static Tensor *bin(Names *nm, int fn, Tensor *a, Tensor *b, const char *out) {
    return onnx_binary_of(nm->c, fn, a, b, out ? out : next_name(nm, "t"));
}

static Tensor *un(Names *nm, int fn, Tensor *x) {
    char part[64];
    snprintf(part, sizeof part, "u%d", nm->k++);
    return onnx_unary_of(nm->c, fn, x, part);
}

static Tensor *cst(Names *nm, float v) {
    char part[64];
    snprintf(part, sizeof part, "k%d", nm->k++);
    return onnx_scalar(nm->c, part, v);
}

/* ---- ai.onnx.preview.training ---------------------------------------------------- */

/* R and T (scalars) then `groups` lists of n tensors: n, or -1 after reporting */
static int optimizer_inputs(Ctx *c, int groups) {
    int n = (c->nin - 2) / groups;
    if (c->nin < 2 + groups || (c->nin - 2) % groups || (int)c->n->n_output != (groups - 1) * n) {
        onnx_invalid(c->im, "%s takes R, T and %d lists of equal length, and returns %d lists of that length "
                     "(it has %d inputs and %zu outputs)", c->n->op_type, groups, groups - 1, c->nin, c->n->n_output);
        return -1;
    }
    for (int i = 0; i < c->nin; i++)
        if (!c->in[i]) { onnx_invalid(c->im, "%s's inputs are all required (input %d is empty)", c->n->op_type, i); return -1; }
    for (int i = 0; i < 2; i++)
        if (onnx_numel(c->in[i]->dims, c->in[i]->rank) != 1) {
            onnx_invalid(c->im, "%s's %s must be a single value", c->n->op_type, i ? "T" : "R");
            return -1;
        }
    for (int i = 0; i < n; i++)
        for (int g = 1; g < groups; g++) {
            const Tensor *x = c->in[2 + i], *o = c->in[2 + g * n + i];
            if (o->rank != x->rank || memcmp(o->dims, x->dims, (size_t)x->rank * sizeof *x->dims)) {
                onnx_invalid(c->im, "%s's input %d does not have the shape of the tensor it updates (input %d)",
                             c->n->op_type, 2 + g * n + i, 2 + i);
                return -1;
            }
        }
    return n;
}

/* norm_coefficient * X + G */
static Tensor *regularized(Names *nm, Tensor *x, Tensor *g, float norm) {
    if (norm == 0.0f) return g;
    return bin(nm, NNC_RT_BIN_ADD, bin(nm, NNC_RT_BIN_MUL, cst(nm, norm), x, NULL), g, NULL);
}

/* the 0/1 flag T > 0 */
static Tensor *t_positive(Names *nm) {
    return bin(nm, NNC_RT_BIN_GREATER, nm->c->in[1], cst(nm, 0.0f), NULL);
}

/* r = R / (1 + T decay); G' = norm X + G; H' = H + G'^2; X' = X - r G' / (sqrt(H') + eps) */
Tensor *onnx_adagrad(Ctx *c) {
    int n = optimizer_inputs(c, 3);
    if (n < 0) return NULL;
    Names nm = { c, 0, { 0 } };
    float decay = onnx_attr_f(c->n, "decay_factor", 0), eps = onnx_attr_f(c->n, "epsilon", 1e-6f),
          norm = onnx_attr_f(c->n, "norm_coefficient", 0);
    Tensor *td = bin(&nm, NNC_RT_BIN_MUL, c->in[1], cst(&nm, decay), NULL);
    Tensor *r = bin(&nm, NNC_RT_BIN_DIV, c->in[0], bin(&nm, NNC_RT_BIN_ADD, cst(&nm, 1.0f), td, NULL), NULL);
    Tensor *first = NULL;
    for (int i = 0; i < n; i++) {
        Tensor *x = c->in[2 + i], *g = c->in[2 + n + i], *h = c->in[2 + 2 * n + i];
        Tensor *gr = regularized(&nm, x, g, norm);
        Tensor *hn = bin(&nm, NNC_RT_BIN_ADD, h, bin(&nm, NNC_RT_BIN_MUL, gr, gr, NULL), c->n->output[n + i]);
        Tensor *hs = bin(&nm, NNC_RT_BIN_ADD, un(&nm, NNC_RT_UN_SQRT, hn), cst(&nm, eps), NULL);
        Tensor *step = bin(&nm, NNC_RT_BIN_DIV, bin(&nm, NNC_RT_BIN_MUL, r, gr, NULL), hs, NULL);
        Tensor *xn = bin(&nm, NNC_RT_BIN_SUB, x, step, c->n->output[i]);
        if (!xn) return NULL;
        if (!first) first = xn;
    }
    return first;
}

/* G' = norm X + G; V' = alpha V + (1 - alpha) G'; H' = beta H + (1 - beta) G'^2;
 * r = T > 0 ? R sqrt(1 - beta^T) / (1 - alpha^T) : R;
 * X' = (1 - norm_post) (X - r V' / (sqrt(H') + eps)) */
Tensor *onnx_adam(Ctx *c) {
    int n = optimizer_inputs(c, 4);
    if (n < 0) return NULL;
    /* the schema's default epsilon is 1e-6, but ONNX's own test of two tensors
     * (test_adam_multiple, onnx/onnx#7749) omits it and expects 1e-2, and that
     * issue reads the default as 0: a value in dispute is asked for, not guessed */
    if (!onnx_attr(c->n, "epsilon")) { onnx_unsupported(c->im, "Adam without an epsilon attribute (its default is in dispute)"); return NULL; }
    Names nm = { c, 0, { 0 } };
    float alpha = onnx_attr_f(c->n, "alpha", 0.9f), beta = onnx_attr_f(c->n, "beta", 0.999f),
          eps = onnx_attr_f(c->n, "epsilon", 1e-6f), norm = onnx_attr_f(c->n, "norm_coefficient", 0),
          post = onnx_attr_f(c->n, "norm_coefficient_post", 0);
    /* T' = T > 0 ? T : 1 keeps the correction finite where it is not used */
    Tensor *pos = t_positive(&nm);
    Tensor *notpos = bin(&nm, NNC_RT_BIN_SUB, cst(&nm, 1.0f), pos, NULL);
    Tensor *ts = bin(&nm, NNC_RT_BIN_ADD, bin(&nm, NNC_RT_BIN_MUL, c->in[1], pos, NULL), notpos, NULL);
    Tensor *bt = bin(&nm, NNC_RT_BIN_POW, cst(&nm, beta), ts, NULL), *at = bin(&nm, NNC_RT_BIN_POW, cst(&nm, alpha), ts, NULL);
    Tensor *num = bin(&nm, NNC_RT_BIN_SUB, cst(&nm, 1.0f), bt, NULL), *den = bin(&nm, NNC_RT_BIN_SUB, cst(&nm, 1.0f), at, NULL);
    Tensor *sq = num ? un(&nm, NNC_RT_UN_SQRT, num) : NULL;
    Tensor *corr = bin(&nm, NNC_RT_BIN_DIV, sq, den, NULL);
    Tensor *factor = bin(&nm, NNC_RT_BIN_ADD, bin(&nm, NNC_RT_BIN_MUL, corr, pos, NULL), notpos, NULL);
    Tensor *r = bin(&nm, NNC_RT_BIN_MUL, c->in[0], factor, NULL);
    Tensor *first = NULL;
    for (int i = 0; i < n; i++) {
        Tensor *x = c->in[2 + i], *g = c->in[2 + n + i], *v = c->in[2 + 2 * n + i], *h = c->in[2 + 3 * n + i];
        Tensor *gr = regularized(&nm, x, g, norm);
        Tensor *vn = bin(&nm, NNC_RT_BIN_ADD, bin(&nm, NNC_RT_BIN_MUL, cst(&nm, alpha), v, NULL),
                         bin(&nm, NNC_RT_BIN_MUL, cst(&nm, 1.0f - alpha), gr, NULL), c->n->output[n + i]);
        Tensor *hn = bin(&nm, NNC_RT_BIN_ADD, bin(&nm, NNC_RT_BIN_MUL, cst(&nm, beta), h, NULL),
                         bin(&nm, NNC_RT_BIN_MUL, cst(&nm, 1.0f - beta), bin(&nm, NNC_RT_BIN_MUL, gr, gr, NULL), NULL),
                         c->n->output[2 * n + i]);
        Tensor *hs = hn ? bin(&nm, NNC_RT_BIN_ADD, un(&nm, NNC_RT_UN_SQRT, hn), cst(&nm, eps), NULL) : NULL;
        Tensor *step = bin(&nm, NNC_RT_BIN_MUL, r, bin(&nm, NNC_RT_BIN_DIV, vn, hs, NULL), NULL);
        Tensor *xn = bin(&nm, NNC_RT_BIN_SUB, x, step, post == 0.0f ? c->n->output[i] : NULL);
        if (xn && post != 0.0f) xn = bin(&nm, NNC_RT_BIN_MUL, cst(&nm, 1.0f - post), xn, c->n->output[i]);
        if (!xn) return NULL;
        if (!first) first = xn;
    }
    return first;
}

/* G' = norm X + G; b = T > 0 ? beta : 1; V' = alpha V + b G';
 * standard: X' = X - R V'; nesterov: X' = X - R (G' + alpha V') */
Tensor *onnx_momentum(Ctx *c) {
    int n = optimizer_inputs(c, 3);
    if (n < 0) return NULL;
    const Onnx__NodeProto *nd = c->n;
    if (!onnx_attr(nd, "alpha") || !onnx_attr(nd, "beta") || !onnx_attr(nd, "norm_coefficient") || !onnx_attr(nd, "mode")) {
        onnx_invalid(c->im, "Momentum needs its attributes alpha, beta, norm_coefficient and mode");
        return NULL;
    }
    int nesterov = onnx_attr_is(nd, "mode", "nesterov");
    if (!nesterov && !onnx_attr_is(nd, "mode", "standard")) {
        onnx_invalid(c->im, "Momentum's mode must be \"standard\" or \"nesterov\"");
        return NULL;
    }
    Names nm = { c, 0, { 0 } };
    float alpha = onnx_attr_f(nd, "alpha", 0), beta = onnx_attr_f(nd, "beta", 0), norm = onnx_attr_f(nd, "norm_coefficient", 0);
    Tensor *pos = t_positive(&nm);
    Tensor *b = bin(&nm, NNC_RT_BIN_ADD, bin(&nm, NNC_RT_BIN_MUL, pos, cst(&nm, beta), NULL),
                    bin(&nm, NNC_RT_BIN_SUB, cst(&nm, 1.0f), pos, NULL), NULL);
    Tensor *first = NULL;
    for (int i = 0; i < n; i++) {
        Tensor *x = c->in[2 + i], *g = c->in[2 + n + i], *v = c->in[2 + 2 * n + i];
        Tensor *gr = regularized(&nm, x, g, norm);
        Tensor *vn = bin(&nm, NNC_RT_BIN_ADD, bin(&nm, NNC_RT_BIN_MUL, cst(&nm, alpha), v, NULL),
                         bin(&nm, NNC_RT_BIN_MUL, b, gr, NULL), c->n->output[n + i]);
        Tensor *dir = nesterov ? bin(&nm, NNC_RT_BIN_ADD, gr, bin(&nm, NNC_RT_BIN_MUL, cst(&nm, alpha), vn, NULL), NULL) : vn;
        Tensor *xn = bin(&nm, NNC_RT_BIN_SUB, x, bin(&nm, NNC_RT_BIN_MUL, c->in[0], dir, NULL), c->n->output[i]);
        if (!xn) return NULL;
        if (!first) first = xn;
    }
    return first;
}

/* ---- Dropout in training mode ----------------------------------------------------- */

/* training_mode true: only ratio 0 is deterministic (y = x, mask all true) */
Tensor *onnx_dropout_train(Ctx *c) {
    Tensor *mode = c->nin > 2 ? c->in[2] : NULL, *ratio = c->nin > 1 ? c->in[1] : NULL;
    if (!mode) return onnx_dropout(c);
    if (onnx_numel(mode->dims, mode->rank) != 1) { onnx_invalid(c->im, "Dropout's training_mode must be a single value"); return NULL; }
    if (!mode->data) { onnx_unsupported(c->im, "Dropout's training_mode computed at run time"); return NULL; }
    if (mode->data[0] == 0.0f) return onnx_dropout(c);
    if (!ratio) { onnx_unsupported(c->im, "Dropout in training mode (its default ratio 0.5 drops at random)"); return NULL; }
    if (onnx_numel(ratio->dims, ratio->rank) != 1) { onnx_invalid(c->im, "Dropout's ratio must be a single value"); return NULL; }
    if (!ratio->data) { onnx_unsupported(c->im, "Dropout's ratio computed at run time (in training mode)"); return NULL; }
    if (ratio->data[0] != 0.0f) { onnx_unsupported(c->im, "Dropout in training mode with a nonzero ratio (random)"); return NULL; }
    Ctx d = *c;     /* ratio 0: what inference does */
    d.in[2] = NULL;
    return onnx_dropout(&d);
}

/* ---- window functions ------------------------------------------------------------- */

/* w[i] = a0 - a1 cos(2 pi i / N') + a2 cos(4 pi i / N'), N' = N (periodic) or N - 1 */
static Tensor *window(Ctx *c, double a0, double a1, double a2) {
    Tensor *s = c->in[0];
    if (onnx_numel(s->dims, s->rank) != 1) { onnx_invalid(c->im, "%s's size must be a single value", c->n->op_type); return NULL; }
    if (!s->data) { onnx_unsupported(c->im, "a window whose size is computed at run time (its shape depends on it)"); return NULL; }
    long n = onnx_to_long(s->data[0]);
    if (n < 0) { onnx_invalid(c->im, "%s's size is %ld; it must be non-negative", c->n->op_type, n); return NULL; }
    if (n > ONNX_MAX_CONST) { onnx_unsupported(c->im, "a window above 2^28 values"); return NULL; }
    long ot = onnx_attr_i(c->n, "output_datatype", 1);
    if (!onnx_dtype_ok((int)ot)) { onnx_unsupported(c->im, "a window of an element type nnc does not read as floats"); return NULL; }
    double den = onnx_attr_i(c->n, "periodic", 1) ? (double)n : (double)(n - 1);
    float *w = malloc((size_t)(n ? n : 1) * sizeof *w);
    if (!w) abort();
    for (long i = 0; i < n; i++) {
        double t = den > 0 ? (double)i / den : 0.0;     /* N' = 0 (a symmetric window of 1): cos(0) */
        w[i] = (float)(a0 - a1 * cos(2 * PI * t) + a2 * cos(4 * PI * t));
    }
    return onnx_add_constant(c->im, onnx_out_name(c, 0), 1, &n, w);
}

Tensor *onnx_hann(Ctx *c) { return window(c, 0.5, 0.5, 0.0); }
Tensor *onnx_hamming(Ctx *c) { return window(c, 25.0 / 46.0, 1.0 - 25.0 / 46.0, 0.0); }
Tensor *onnx_blackman(Ctx *c) { return window(c, 0.42, 0.5, 0.08); }

/* ---- MelWeightMatrix ---------------------------------------------------------------- */

/* ONNX's mel filter bank: num_mel_bins + 2 edges evenly spaced on the mel
 * scale (mel(f) = 2595 log10(1 + f / 700)) between the two edge frequencies,
 * each turned back into a spectrogram bin floor((dft_length + 1) f / rate);
 * band i rises linearly from edge i to 1 at edge i + 1 and falls to edge
 * i + 2 (exclusive).  Every input is a constant (they fix the shape). */
Tensor *onnx_mel_weight_matrix(Ctx *c) {
    double v[5];
    for (int k = 0; k < 5; k++) {
        Tensor *t = c->in[k];
        if (onnx_numel(t->dims, t->rank) != 1) { onnx_invalid(c->im, "MelWeightMatrix's inputs must be single values (input %d is not)", k); return NULL; }
        if (!t->data) { onnx_unsupported(c->im, "MelWeightMatrix of inputs computed at run time (the shape depends on them)"); return NULL; }
        v[k] = t->data[0];
    }
    long mels = (long)v[0], dft = (long)v[1], rate = (long)v[2];
    if (mels < 1 || dft < 1 || rate < 1 || !(v[3] >= 0 && v[3] < v[4])) {
        onnx_invalid(c->im, "MelWeightMatrix needs num_mel_bins, dft_length and sample_rate >= 1 and 0 <= lower_edge_hertz "
                     "< upper_edge_hertz (got %ld, %ld, %ld, %g, %g)", mels, dft, rate, v[3], v[4]);
        return NULL;
    }
    long bins = dft / 2 + 1, dims[2] = { bins, mels };
    if (bins * mels > ONNX_MAX_CONST) { onnx_unsupported(c->im, "a MelWeightMatrix above 2^28 values"); return NULL; }
    if (!onnx_dtype_ok((int)onnx_attr_i(c->n, "output_datatype", 1))) {
        onnx_unsupported(c->im, "a MelWeightMatrix of an element type nnc does not read as floats");
        return NULL;
    }
    long *edge = malloc((size_t)(mels + 2) * sizeof *edge);
    float *w = calloc((size_t)(bins * mels), sizeof *w);
    if (!edge || !w) abort();
    double lo = 2595 * log10(1 + v[3] / 700), hi = 2595 * log10(1 + v[4] / 700), step = (hi - lo) / (double)(mels + 2);
    for (long i = 0; i < mels + 2; i++) {
        double f = 700 * (pow(10, (lo + (double)i * step) / 2595) - 1);
        edge[i] = (long)floor((double)(dft + 1) * f / (double)rate);
    }
    int bad = 0;
    for (long i = 0; i < mels && !bad; i++) {
        long a = edge[i], m = edge[i + 1], b = edge[i + 2];
        bad = a < 0 || b > bins || (m == a && m >= bins);
        for (long j = a; j <= m && j < bins && !bad; j++) w[j * mels + i] = m == a ? 1.0f : (float)(j - a) / (float)(m - a);
        for (long j = m; j < b && !bad; j++) w[j * mels + i] = (float)(b - j) / (float)(b - m);
    }
    free(edge);
    if (bad) {
        free(w);
        onnx_invalid(c->im, "MelWeightMatrix's upper_edge_hertz %g lies above the spectrogram's %ld bins at sample_rate %ld",
                     v[4], bins, rate);
        return NULL;
    }
    return onnx_add_constant(c->im, onnx_out_name(c, 0), 2, dims, w);
}

/* ---- Det -------------------------------------------------------------------------- */

/* element (i, j) of each matrix of x (..., m, m), as (...) */
static Tensor *entry(Names *nm, Tensor *x, int i, int j) {
    int r = x->rank;
    long xs[MAX_T], dims[MAX_T], one = 1;
    nd_strides(r, x->dims, xs);
    Attrs a;
    memset(&a, 0, sizeof a);
    int br = r - 2;
    for (int d = 0; d < br; d++) dims[d] = x->dims[d];
    nd_dense(&a.nd, br ? br : 1, br ? dims : &one);
    for (int d = 0; d < br; d++) a.nd.as[d] = xs[d];
    a.nd.aoff = i * xs[r - 2] + j * xs[r - 1];
    return onnx_apply(nm->c->im, OP_ND_COPY, &x, 1, &a, next_name(nm, "e"), br ? br : 1, br ? dims : &one);
}

/* det of a constant (m, m) matrix in double: elimination with partial pivoting */
static float det_of(const float *a, long m) {
    double *t = malloc((size_t)(m * m) * sizeof *t), det = 1;
    if (!t) abort();
    for (long i = 0; i < m * m; i++) t[i] = a[i];
    for (long k = 0; k < m && det != 0; k++) {
        long p = k;
        for (long i = k + 1; i < m; i++) if (fabs(t[i * m + k]) > fabs(t[p * m + k])) p = i;
        if (t[p * m + k] == 0) { det = 0; break; }
        if (p != k) { for (long j = 0; j < m; j++) { double s = t[k * m + j]; t[k * m + j] = t[p * m + j]; t[p * m + j] = s; } det = -det; }
        det *= t[k * m + k];
        for (long i = k + 1; i < m; i++) {
            double f = t[i * m + k] / t[k * m + k];
            for (long j = k; j < m; j++) t[i * m + j] -= f * t[k * m + j];
        }
    }
    free(t);
    return (float)det;
}

Tensor *onnx_det(Ctx *c) {
    Tensor *x = c->in[0];
    if (x->rank < 2 || x->dims[x->rank - 1] != x->dims[x->rank - 2]) {
        onnx_invalid(c->im, "Det needs square matrices (..., M, M); the input has rank %d", x->rank);
        return NULL;
    }
    long m = x->dims[x->rank - 1], nb = onnx_numel(x->dims, x->rank - 2), one = 1;
    int br = x->rank - 2;
    if (x->data && m > 3) {
        float *y = malloc((size_t)(nb ? nb : 1) * sizeof *y);
        if (!y) abort();
        for (long b = 0; b < nb; b++) y[b] = det_of(x->data + b * m * m, m);
        return onnx_add_constant(c->im, onnx_out_name(c, 0), br, br ? x->dims : &one, y);
    }
    if (m > 3 || m < 1) { onnx_unsupported(c->im, "Det of run-time matrices larger than 3x3, or empty"); return NULL; }
    Names nm = { c, 0, { 0 } };
    const char *out = onnx_out_name(c, 0);
    Tensor *y;
    if (m == 1) {
        y = entry(&nm, x, 0, 0);
    } else if (m == 2) {
        y = bin(&nm, NNC_RT_BIN_SUB, bin(&nm, NNC_RT_BIN_MUL, entry(&nm, x, 0, 0), entry(&nm, x, 1, 1), NULL),
                bin(&nm, NNC_RT_BIN_MUL, entry(&nm, x, 0, 1), entry(&nm, x, 1, 0), NULL), NULL);
    } else {    /* along the first row: a (ei - fh) - b (di - fg) + c (dh - eg) */
        Tensor *e[3][3];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) e[i][j] = entry(&nm, x, i, j);
        y = NULL;
        for (int j = 0; j < 3; j++) {
            int j1 = (j + 1) % 3, j2 = (j + 2) % 3;   /* cyclic cofactors carry their sign */
            Tensor *cof = bin(&nm, NNC_RT_BIN_SUB, bin(&nm, NNC_RT_BIN_MUL, e[1][j1], e[2][j2], NULL),
                              bin(&nm, NNC_RT_BIN_MUL, e[1][j2], e[2][j1], NULL), NULL);
            Tensor *term = bin(&nm, NNC_RT_BIN_MUL, e[0][j], cof, NULL);
            y = y ? bin(&nm, NNC_RT_BIN_ADD, y, term, NULL) : term;
        }
    }
    if (!y) return NULL;
    /* (...) batch shape; a single matrix gives a scalar */
    return onnx_reshaped(c, y, br, br ? x->dims : &one, out);
}
