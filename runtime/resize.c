/* resize.c — ONNX Resize (and Upsample) along one axis as a table of taps.
 *
 * Every interpolation ONNX defines (nearest, n-linear, cubic, with any
 * coordinate transformation, antialiasing, exclude_outside, or the constant
 * outside a tf_crop_and_resize box) is separable: along each resized axis,
 * output j is a weighted sum of at most `taps` input positions.  The
 * compiler computes that table (idx, w: ny rows of taps entries) from the
 * node's attributes, and a resize is one call per resized axis.  An index
 * below 0 is a constant term: its weight is added as it is (the
 * extrapolation value), and it carries no gradient.
 *
 * x is (outer, alen, inner), y (outer, ny, inner); the backward pass
 * scatters dy through the same table into dx (zeroed first).  Along the
 * last axis (inner 1) each output is a short dot product: the table's
 * indices are converted to int a block at a time on the stack (no malloc
 * in a step), and a block without constant taps runs without a branch
 * (2 taps, linear, unrolled): ten times faster than the general loop there.
 */
#include "nnc_rt.h"

#define RESIZE_CHUNK 512 /* table entries converted to int at a time (on the stack) */

void nnc_rt_resize_axis(float *y, const float *x, const float *idx, const float *w, long outer, long alen,
                        long inner, long ny, long taps)
{
    long o, j, t, i;
    if (inner == 1 && taps <= RESIZE_CHUNK) {
        /* the last axis: per output a dot product of its taps, held in a
         * register; the table's indices converted once per block of outputs */
        long j0, jn = RESIZE_CHUNK / taps, q;
        int at[RESIZE_CHUNK], constants;
        for (j0 = 0; j0 < ny; j0 += jn) {
            long je = j0 + jn < ny ? j0 + jn : ny;
            const float *wj = w + j0 * taps;
            for (q = 0, constants = 0; q < (je - j0) * taps; q++) {
                at[q] = (int)idx[j0 * taps + q];
                constants |= at[q] < 0;
            }
            for (o = 0; o < outer; o++) {
                const float *xo = x + o * alen;
                float *yo = y + o * ny;
                if (taps == 2 && !constants) /* linear, or nearest padded */
                    for (j = j0; j < je; j++) {
                        const int *aj = at + (j - j0) * 2;
                        const float *wt = wj + (j - j0) * 2;
                        yo[j] = wt[0] * xo[aj[0]] + wt[1] * xo[aj[1]];
                    }
                else if (!constants)
                    for (j = j0; j < je; j++) {
                        const int *aj = at + (j - j0) * taps;
                        const float *wt = wj + (j - j0) * taps;
                        float acc = 0.0f;
                        for (t = 0; t < taps; t++)
                            acc += wt[t] * xo[aj[t]];
                        yo[j] = acc;
                    }
                else
                    for (j = j0; j < je; j++) {
                        const int *aj = at + (j - j0) * taps;
                        const float *wt = wj + (j - j0) * taps;
                        float acc = 0.0f;
                        for (t = 0; t < taps; t++)
                            acc += wt[t] * (aj[t] < 0 ? 1.0f : xo[aj[t]]);
                        yo[j] = acc;
                    }
            }
        }
        return;
    }
    for (o = 0; o < outer; o++) {
        const float *xo = x + o * alen * inner;
        for (j = 0; j < ny; j++) {
            float *yr = y + (o * ny + j) * inner;
            for (i = 0; i < inner; i++)
                yr[i] = 0.0f;
            for (t = 0; t < taps; t++) {
                long k = (long)idx[j * taps + t];
                float wt = w[j * taps + t];
                const float *xr;
                if (wt == 0.0f)
                    continue;
                if (k < 0) {
                    for (i = 0; i < inner; i++)
                        yr[i] += wt;
                    continue;
                }
                xr = xo + k * inner;
                for (i = 0; i < inner; i++)
                    yr[i] += wt * xr[i];
            }
        }
    }
}

void nnc_rt_resize_axis_backward(float *dx, const float *dy, const float *idx, const float *w, long outer, long alen,
                                 long inner, long ny, long taps)
{
    long o, j, t, i;
    for (i = 0; i < outer * alen * inner; i++)
        dx[i] = 0.0f;
    if (inner == 1 && taps <= RESIZE_CHUNK) { /* the last axis: the indices converted once per block */
        long j0, jn = RESIZE_CHUNK / taps, q;
        int at[RESIZE_CHUNK];
        for (j0 = 0; j0 < ny; j0 += jn) {
            long je = j0 + jn < ny ? j0 + jn : ny;
            const float *wj = w + j0 * taps;
            for (q = 0; q < (je - j0) * taps; q++)
                at[q] = (int)idx[j0 * taps + q];
            for (o = 0; o < outer; o++) {
                float *dxo = dx + o * alen;
                const float *dyo = dy + o * ny;
                for (j = j0; j < je; j++) {
                    const int *aj = at + (j - j0) * taps;
                    const float *wt = wj + (j - j0) * taps;
                    float d = dyo[j];
                    for (t = 0; t < taps; t++)
                        if (aj[t] >= 0)
                            dxo[aj[t]] += wt[t] * d;
                }
            }
        }
        return;
    }
    for (o = 0; o < outer; o++) {
        float *dxo = dx + o * alen * inner;
        for (j = 0; j < ny; j++) {
            const float *dyr = dy + (o * ny + j) * inner;
            for (t = 0; t < taps; t++) {
                long k = (long)idx[j * taps + t];
                float wt = w[j * taps + t];
                float *dxr;
                if (k < 0 || wt == 0.0f)
                    continue;
                dxr = dxo + k * inner;
                for (i = 0; i < inner; i++)
                    dxr[i] += wt * dyr[i];
            }
        }
    }
}
