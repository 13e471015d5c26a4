/* grid_sample.c — ONNX GridSample (opset 16) / PyTorch grid_sample on 4-D
 * tensors: each output pixel reads the input at the location its grid
 * entry names.
 *
 * x (n, c, h, w), grid (n, ho, wo, 2) holding (x, y) in [-1, 1] (-1: the
 * left/top edge), y (n, c, ho, wo).  align_corners: -1 and 1 are the
 * centres of the corner pixels, else their outer edges.  Modes: bilinear
 * (the four neighbours), nearest (rounded half to even), bicubic (the 4x4
 * neighbours, cubic convolution with A = -0.75).  Padding: zeros (a
 * neighbour outside reads 0), border (a location is clamped into the
 * image), reflection (reflected at the borders, then clamped).  Bilinear
 * and nearest apply the padding to the location; bicubic applies it to
 * each of its 16 taps, as PyTorch and ONNX Runtime do.  One plain loop: the
 * reads are data-dependent gathers. */
#include <math.h>

#include "nnc_rt.h"

/* a coordinate reflected into [lo2 / 2, hi2 / 2] */
static double reflect(double v, double lo2, double hi2) {
    if (lo2 == hi2) return 0;
    double lo = lo2 / 2, span = (hi2 - lo2) / 2;
    v = fabs(v - lo);
    double extra = fmod(v, span);
    long flips = (long)floor(v / span);
    return flips % 2 == 0 ? extra + lo : span - extra + lo;
}

static double clampd(double v, double hi) { return v < 0 ? 0 : v > hi ? hi : v; }

/* the padding mode applied to one pixel coordinate along an axis of size len */
static double pad_coord(double v, long len, int padding, int align) {
    if (padding == NNC_RT_GRID_BORDER) return clampd(v, (double)(len - 1));
    if (padding == NNC_RT_GRID_REFLECTION) {
        v = align ? reflect(v, 0, 2.0 * (double)(len - 1)) : reflect(v, -1, 2.0 * (double)len - 1);
        return clampd(v, (double)(len - 1));
    }
    return v;
}

static double unnormalize(double g, long len, int align) {
    return align ? (g + 1) / 2 * (double)(len - 1) : ((g + 1) * (double)len - 1) / 2;
}

/* plane[yy][xx], or 0 outside */
static double at(const float *plane, long h, long w, long yy, long xx) {
    return yy >= 0 && yy < h && xx >= 0 && xx < w ? plane[yy * w + xx] : 0.0;
}

static void cubic_weights(double t, double *k) {
    const double A = -0.75;
    double x;
    x = t + 1; k[0] = ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
    x = t;     k[1] = ((A + 2) * x - (A + 3)) * x * x + 1;
    x = 1 - t; k[2] = ((A + 2) * x - (A + 3)) * x * x + 1;
    x = 2 - t; k[3] = ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
}

static double sample(const float *plane, long h, long w, double gx, double gy, int mode, int padding, int align) {
    double ix = unnormalize(gx, w, align), iy = unnormalize(gy, h, align);
    if (mode == NNC_RT_GRID_BICUBIC) {
        double x0 = floor(ix), y0 = floor(iy), kx[4], ky[4], s = 0;
        cubic_weights(ix - x0, kx);
        cubic_weights(iy - y0, ky);
        for (int j = 0; j < 4; j++)
            for (int i = 0; i < 4; i++) {
                double xx = pad_coord(x0 - 1 + i, w, padding, align), yy = pad_coord(y0 - 1 + j, h, padding, align);
                s += kx[i] * ky[j] * at(plane, h, w, (long)floor(yy), (long)floor(xx));
            }
        return s;
    }
    ix = pad_coord(ix, w, padding, align);
    iy = pad_coord(iy, h, padding, align);
    if (mode == NNC_RT_GRID_NEAREST) return at(plane, h, w, (long)nearbyint(iy), (long)nearbyint(ix));
    double x0 = floor(ix), y0 = floor(iy), tx = ix - x0, ty = iy - y0;
    long a = (long)x0, b = (long)y0;
    return (1 - tx) * (1 - ty) * at(plane, h, w, b, a) + tx * (1 - ty) * at(plane, h, w, b, a + 1) +
           (1 - tx) * ty * at(plane, h, w, b + 1, a) + tx * ty * at(plane, h, w, b + 1, a + 1);
}

void nnc_rt_grid_sample(float *y, const float *x, const float *grid, long n, long c, long h, long w, long ho,
                        long wo, int mode, int padding, int align) {
    for (long s = 0; s < n; s++)
        for (long ch = 0; ch < c; ch++) {
            const float *plane = x + (s * c + ch) * h * w, *g = grid + s * ho * wo * 2;
            float *out = y + (s * c + ch) * ho * wo;
            for (long p = 0; p < ho * wo; p++) {
                double gx = g[2 * p], gy = g[2 * p + 1];
                /* a NaN location reads nothing (PyTorch gives 0 for zeros padding) */
                out[p] = gx == gx && gy == gy && fabs(gx) < 1e9 && fabs(gy) < 1e9 ?
                         (float)sample(plane, h, w, gx, gy, mode, padding, align) : 0.0f;
            }
        }
}
