/* roi_align.c — ONNX RoiAlign (opsets 10, 16): each region of interest of
 * an image, pooled to a fixed (oh, ow) grid of bins from bilinear samples.
 *
 * x (n, c, h, w); rois (nr, 4) holding (x1, y1, x2, y2) in input pixels;
 * batch (nr) the image of each region (integers held in floats); y (nr, c,
 * oh, ow).  Region corners are scaled by `scale` and, with half_pixel,
 * moved by -0.5 (pixel centres at integers); without it (output_half_pixel,
 * opset 10's only mode) a region is at least 1 x 1.  Each bin is sampled on
 * a gh x gw grid of points at the centres of its cells: sampling points a
 * side, or ceil(region extent / bins) when sampling is 0.
 *
 * A sample's value is bilinear: its four neighbours, weighted.  A sample
 * more than one pixel outside the image contributes nothing (avg adds 0;
 * max sees 0); one within that margin is clamped onto the border pixels.
 * avg: the sum of the samples' values over gh * gw.  max: as ONNX defines
 * it (its reference and ONNX Runtime): the largest, over the samples, of
 * each sample's largest weighted neighbour (w_i * x_i), not of the
 * interpolated values.  Coordinates are float32 arithmetic in ONNX
 * Runtime's order, so results match it (and torchvision's roi_align) to
 * rounding.
 *
 * Beyond ONNX (which leaves them undefined): a region whose image index is
 * not an integer in [0, n), or with a coordinate that is not finite, gives
 * NaN for all its outputs (never a read outside x); an adaptive grid is
 * capped at 2^15 points a side (the cast stays defined on absurd regions).
 * No scratch memory: per bin, each sample's weights are computed once and
 * applied to every channel. */
#include <math.h>

#include "nnc_rt.h"

#define GRID_CAP (1L << 15)   /* gh * gw stays within a 32-bit long */

/* the sample count along one side of a bin */
static long grid_of(int sampling, float extent, long bins) {
    if (sampling > 0) return sampling;
    float g = ceilf(extent / (float)bins);
    return g > 0 ? (g < (float)GRID_CAP ? (long)g : GRID_CAP) : 0;
}

/* one axis of a sample: low and high neighbours and the high one's weight;
 * 0 when the sample is outside the margin */
static int axis_of(float v, long len, long *lo, long *hi, float *t) {
    if (v < -1.0f || v > (float)len) return 0;
    if (v <= 0) v = 0;
    long l = (long)v;
    if (l >= len - 1) {
        *lo = *hi = len - 1;
        v = (float)(len - 1);
    } else {
        *lo = l;
        *hi = l + 1;
    }
    *t = v - (float)*lo;
    return 1;
}

void nnc_rt_roi_align(float *y, const float *x, const float *rois, const float *batch, long n, long c, long h,
                      long w, long nr, long oh, long ow, int sampling, float scale, int mode, int half_pixel) {
    long plane = h * w, bins = oh * ow;
    for (long r = 0; r < nr; r++) {
        const float *roi = rois + 4 * r;
        float *out = y + r * c * bins;
        float b = batch[r];
        int ok = b == b && b >= 0 && b < (float)n && b == floorf(b);
        for (int k = 0; k < 4; k++) ok &= roi[k] - roi[k] == 0;   /* finite */
        if (!ok) {
            for (long i = 0; i < c * bins; i++) out[i] = NAN;
            continue;
        }
        const float *img = x + (long)b * c * plane;
        float off = half_pixel ? 0.5f : 0.0f;
        float x0 = roi[0] * scale - off, y0 = roi[1] * scale - off;
        float rw = roi[2] * scale - off - x0, rh = roi[3] * scale - off - y0;
        if (!half_pixel) {
            rw = rw > 1.0f ? rw : 1.0f;
            rh = rh > 1.0f ? rh : 1.0f;
        }
        float bh = rh / (float)oh, bw = rw / (float)ow;
        long gh = grid_of(sampling, rh, oh), gw = grid_of(sampling, rw, ow);
        float count = gh * gw > 1 ? (float)(gh * gw) : 1.0f;
        for (long ph = 0; ph < oh; ph++)
            for (long pw = 0; pw < ow; pw++) {
                long o = ph * ow + pw;
                for (long ch = 0; ch < c; ch++) out[ch * bins + o] = 0;
                for (long iy = 0; iy < gh; iy++) {
                    float sy = y0 + (float)ph * bh + ((float)iy + 0.5f) * bh / (float)gh;
                    for (long ix = 0; ix < gw; ix++) {
                        float sx = x0 + (float)pw * bw + ((float)ix + 0.5f) * bw / (float)gw;
                        int first = iy == 0 && ix == 0;
                        long ylo = 0, yhi = 0, xlo = 0, xhi = 0;
                        float ty = 0, tx = 0;
                        int in = axis_of(sy, h, &ylo, &yhi, &ty) && axis_of(sx, w, &xlo, &xhi, &tx);
                        float w1 = (1 - ty) * (1 - tx), w2 = (1 - ty) * tx, w3 = ty * (1 - tx), w4 = ty * tx;
                        long p1 = ylo * w + xlo, p2 = ylo * w + xhi, p3 = yhi * w + xlo, p4 = yhi * w + xhi;
                        for (long ch = 0; ch < c; ch++) {
                            const float *xp = img + ch * plane;
                            float *yp = out + ch * bins + o;
                            if (mode == NNC_RT_ROI_AVG) {
                                if (in) *yp += w1 * xp[p1] + w2 * xp[p2] + w3 * xp[p3] + w4 * xp[p4];
                            } else {
                                float v = 0;
                                if (in) {
                                    float a1 = w1 * xp[p1], a2 = w2 * xp[p2], a3 = w3 * xp[p3], a4 = w4 * xp[p4];
                                    v = a1 < a2 ? a2 : a1;
                                    v = v < a3 ? a3 : v;
                                    v = v < a4 ? a4 : v;
                                }
                                if (first || *yp < v) *yp = v;
                            }
                        }
                    }
                }
                if (mode == NNC_RT_ROI_AVG)
                    for (long ch = 0; ch < c; ch++) out[ch * bins + o] /= count;
            }
    }
}
