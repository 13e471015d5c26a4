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
 * scatters dy through the same table into dx (zeroed first).
 */
#include "nnc_rt.h"

void nnc_rt_resize_axis(float *y, const float *x, const float *idx, const float *w, long outer, long alen,
                        long inner, long ny, long taps)
{
    long o, j, t, i;
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
