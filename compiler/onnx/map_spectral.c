/* map_spectral.c — DFT and STFT: spectra as products with constant
 * matrices, the audio front ends' ops (a spectrogram before a keyword
 * spotter).
 *
 * Decisions:
 *  - A DFT of length L over n input samples is one MatMul of the signal's
 *    rows (re, im interleaved, as ONNX lays them out) with a constant
 *    (n * comps, 2K) matrix of cos and sin computed in double at compile
 *    time: K = L, or L / 2 + 1 one-sided; rows past L are zero (truncation)
 *    and samples past n are the zeros ONNX pads with.  A matrix costs
 *    O(n * K) flash and time where an FFT costs O(n log n): right for the
 *    frame lengths audio models use (256 to 1024 samples), where a
 *    vectorized product beats a scalar FFT; a signal longer than 8192
 *    samples is refused (exit 3) rather than baked as a huge matrix.
 *  - STFT takes its frames as a strided view of the signal (no copy per
 *    frame in the graph), folds the window into the DFT matrix, and is one
 *    product.  Overlapping frames have no gradient through the view, so
 *    training through an STFT whose frames overlap is refused.
 *  - dft_length, frame_step, frame_length and the window are constants
 *    (after folding or --bind); anything else is refused, since they fix
 *    the output's shape.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx.h"

#define MAX_DFT 8192    /* samples or bins of one transform nnc bakes a matrix for */
#define TWO_PI 6.28318530717958647692

/* x with its axes permuted: axis d of the result is axis perm[d] of x */
static Tensor *permute(Ctx *c, Tensor *x, const int *perm, const char *name) {
    long xs[MAX_T], dims[MAX_T];
    nd_strides(x->rank, x->dims, xs);
    Attrs a;
    memset(&a, 0, sizeof a);
    for (int d = 0; d < x->rank; d++) dims[d] = x->dims[perm[d]];
    nd_dense(&a.nd, x->rank, dims);
    for (int d = 0; d < x->rank; d++) a.nd.as[d] = xs[perm[d]];
    return onnx_apply(c->im, OP_ND_COPY, &x, 1, &a, name, x->rank, dims);
}

/* rows (R, n * comps) times the DFT matrix: (R, 2K), each bin's re and im
 * side by side; window (n values, or NULL) scales each sample first */
static Tensor *dft_rows(Ctx *c, Tensor *rows, long n, int comps, long L, int onesided, int inverse,
                        const float *window, const char *name) {
    long K = onesided ? L / 2 + 1 : L, dims[2] = { n * comps, 2 * K };
    if (!rows) return NULL;
    if (n > MAX_DFT || L > MAX_DFT) {
        char why[128];
        snprintf(why, sizeof why, "a transform of %ld samples into %ld bins (nnc bakes a matrix up to %d)", n, L,
                 MAX_DFT);
        onnx_unsupported(c->im, why);
        return NULL;
    }
    float *w = calloc((size_t)(n * comps * 2 * K), sizeof *w);
    if (!w) abort();
    double scale = inverse ? 1.0 / (double)L : 1.0, sign = inverse ? 1.0 : -1.0;
    for (long t = 0; t < n && t < L; t++) {
        double g = scale * (window ? window[t] : 1.0);
        for (long k = 0; k < K; k++) {
            double ang = TWO_PI * (double)((t * k) % L) / (double)L;   /* t * k mod L: exact angles */
            float cs = (float)(g * cos(ang)), sn = (float)(g * sign * sin(ang));
            float *re = w + (t * comps) * 2 * K + 2 * k;     /* the row of sample t's real part */
            re[0] = cs;
            re[1] = sn;
            if (comps == 2) {       /* the imaginary part's row: i * (cs + i sn) = -sn + i cs */
                re[2 * K] = -sn;
                re[2 * K + 1] = cs;
            }
        }
    }
    char mname[170], part[170];
    Tensor *m = onnx_add_constant(c->im, onnx_part(c, "dft_matrix", mname), 2, dims, w);
    m->dtype = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    Tensor *in[2] = { rows, m };
    return onnx_build_on(c, onnx_matmul, in, 2, onnx_part(c, name, part));
}

/* a constant scalar integer input, or dflt when it is absent; -2 after reporting */
static long const_int(Ctx *c, int input, long dflt, const char *what) {
    if (c->nin <= input || !c->in[input]) return dflt;
    long v[2];
    int k = onnx_const_ints(c->im, c->in[input], v, 2, what);
    if (k < 0) return -2;
    if (k != 1) {
        onnx_invalid(c->im, "%s must hold one integer, it has %d", what, k);
        return -2;
    }
    return v[0];
}

Tensor *onnx_dft(Ctx *c) {
    Tensor *x = c->in[0];
    int r = x->rank, inverse = (int)onnx_attr_i(c->n, "inverse", 0), onesided = (int)onnx_attr_i(c->n, "onesided", 0);
    long axis_at = c->im->opset >= 20 ? const_int(c, 2, 1, "DFT's axis") : onnx_attr_i(c->n, "axis", 1);
    if (axis_at == -2 && c->im->opset >= 20 && c->nin > 2 && c->in[2]) return NULL;     /* reported */
    if (r < 3 || (x->dims[r - 1] != 1 && x->dims[r - 1] != 2)) {
        onnx_invalid(c->im, "DFT's input is (batch, ..., 1 or 2); this one has rank %d and a last extent of %ld", r,
                     r ? x->dims[r - 1] : 0);
        return NULL;
    }
    if (axis_at < 0 && c->im->opset >= 20) axis_at += r;    /* counted from the end, past the complex axis */
    int axis = (int)axis_at;
    if (axis < 0 || axis > r - 2) {
        onnx_invalid(c->im, "DFT's axis %ld is out of range for an input of rank %d (valid: 0 to %d)", axis_at, r, r - 2);
        return NULL;
    }
    if (inverse && onesided) { onnx_unsupported(c->im, "an inverse one-sided DFT"); return NULL; }
    long n = x->dims[axis], L = const_int(c, 1, n, "DFT's dft_length");
    if (L == -2) return NULL;
    if (L < 1) { onnx_invalid(c->im, "DFT's dft_length is %ld; it must be at least 1", L); return NULL; }
    int comps = (int)x->dims[r - 1], perm[MAX_T], back[MAX_T], k = 0;
    for (int d = 0; d < r - 1; d++)
        if (d != axis) perm[k++] = d;
    perm[k++] = axis;
    perm[k] = r - 1;
    for (int d = 0; d < r; d++) back[perm[d]] = d;
    char n1[170], n2[170], n3[170];
    Tensor *xp = axis == r - 2 ? x : permute(c, x, perm, onnx_part(c, "axis_last", n1));
    if (!xp) return NULL;
    long rows = onnx_numel(xp->dims, r - 2), flat[2] = { rows, n * comps }, K = onesided ? L / 2 + 1 : L, yd[MAX_T];
    Tensor *y = dft_rows(c, onnx_reshaped(c, xp, 2, flat, onnx_part(c, "rows", n2)), n, comps, L, onesided, inverse,
                         NULL, "spectrum");
    if (!y) return NULL;
    memcpy(yd, xp->dims, sizeof yd);
    yd[r - 2] = K;
    yd[r - 1] = 2;
    if (axis == r - 2) return onnx_reshaped(c, y, r, yd, onnx_out_name(c, 0));
    y = onnx_reshaped(c, y, r, yd, onnx_part(c, "axis_last_spectrum", n3));
    return y ? permute(c, y, back, onnx_out_name(c, 0)) : NULL;
}

/* signal (batch, length, 1 or 2), frame_step, window, frame_length -> (batch, frames, bins, 2) */
Tensor *onnx_stft(Ctx *c) {
    Tensor *x = c->in[0], *win = c->nin > 2 ? c->in[2] : NULL;
    int onesided = (int)onnx_attr_i(c->n, "onesided", 1);
    if (x->rank != 3 || (x->dims[2] != 1 && x->dims[2] != 2)) {
        onnx_invalid(c->im, "STFT's signal is (batch, length, 1 or 2); this one has rank %d", x->rank);
        return NULL;
    }
    long step = const_int(c, 1, -1, "STFT's frame_step");
    long L = const_int(c, 3, win ? onnx_numel(win->dims, win->rank) : -1, "STFT's frame_length");
    if (step == -2 || L == -2) return NULL;
    if (L == -1) { onnx_invalid(c->im, "STFT needs a window or a frame_length"); return NULL; }
    if (win && (win->rank != 1 || win->dims[0] != L)) {
        onnx_invalid(c->im, "STFT's window has %ld values for frames of %ld", onnx_numel(win->dims, win->rank), L);
        return NULL;
    }
    if (win && !win->data) { onnx_unsupported(c->im, "an STFT window computed at run time"); return NULL; }
    long len = x->dims[1], comps = x->dims[2];
    if (step < 1 || L < 1 || L > len) {
        onnx_invalid(c->im, "STFT's frames of %ld samples every %ld do not fit a signal of %ld", L, step, len);
        return NULL;
    }
    if (onesided && comps == 2) { onnx_unsupported(c->im, "a one-sided STFT of a complex signal"); return NULL; }
    if (c->im->trainable && step < L) {
        onnx_unsupported(c->im, "training through an STFT whose frames overlap (its framing view has no gradient)");
        return NULL;
    }
    long frames = (len - L) / step + 1, fd[4] = { x->dims[0], frames, L, comps };
    Attrs a;   /* the frames as a view: (batch, frames, L, comps) reading x with the step */
    memset(&a, 0, sizeof a);
    nd_dense(&a.nd, 4, fd);
    a.nd.as[0] = len * comps; a.nd.as[1] = step * comps; a.nd.as[2] = comps; a.nd.as[3] = 1;
    char n1[170], n2[170];
    Tensor *f = onnx_apply(c->im, OP_ND_COPY, &x, 1, &a, onnx_part(c, "frames", n1), 4, fd);
    long flat[2] = { x->dims[0] * frames, L * comps }, K = onesided ? L / 2 + 1 : L, yd[4] = { x->dims[0], frames, K, 2 };
    Tensor *y = f ? dft_rows(c, onnx_reshaped(c, f, 2, flat, onnx_part(c, "rows", n2)), L, (int)comps, L, onesided, 0,
                             win ? win->data : NULL, "spectrum") : NULL;
    return y ? onnx_reshaped(c, y, 4, yd, onnx_out_name(c, 0)) : NULL;
}
