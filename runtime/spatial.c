/* spatial.c — the Keras layers that move pixels without learning anything
 * (upsampling, zero padding, cropping) and the bias-and-activation epilogue
 * of conv2d_transpose, whose product is nnc_rt_conv2d_backward_data.
 *
 * Everything is channels-last, (n, h, w, c); 1-D layers are h = 1.  Each
 * kernel is a plain loop: these layers move a few bytes per output and are
 * bound by memory, and a loop over the contiguous channels is what the C
 * compiler vectorises.  Backward kernels overwrite dx.
 */
#include <string.h>

#include "nnc_rt.h"

/* y[r, j] = act(y[r, j] + b[j]) over (rows, m); b may be NULL */
void nnc_rt_bias_act_forward(float *y, const float *b, int rows, int m, int act)
{
    long r;
    int j;
    if (b)
        for (r = 0; r < rows; r++)
            for (j = 0; j < m; j++)
                y[r * m + j] += b[j];
    if (act != NNC_RT_ACT_LINEAR)
        nnc_rt_act_forward(act, y, y, rows, m);
}

/* y (n, oh, ow, c)[i, j] = x (n, h, w, c)[i - top, j - left], 0 outside x:
 * zero padding for top, left >= 0, cropping for top, left <= 0.  The
 * gradient of one is the other: the same call with the shapes swapped and
 * the offsets negated. */
void nnc_rt_shift2d(float *y, const float *x, int n, int h, int w, int c, int oh, int ow, int top, int left)
{
    long b;
    int i;
    for (b = 0; b < n; b++) {
        const float *xs = x + b * (long)h * w * c;
        float *ys = y + b * (long)oh * ow * c;
        for (i = 0; i < oh; i++) {
            int si = i - top, j0 = left > 0 ? left : 0, j1 = w + left < ow ? w + left : ow;
            float *row = ys + (long)i * ow * c;
            if (si < 0 || si >= h || j1 <= j0) {
                memset(row, 0, (size_t)ow * c * sizeof *row);
                continue;
            }
            memset(row, 0, (size_t)j0 * c * sizeof *row);
            memcpy(row + (long)j0 * c, xs + ((long)si * w + (j0 - left)) * c, (size_t)(j1 - j0) * c * sizeof *row);
            memset(row + (long)j1 * c, 0, (size_t)(ow - j1) * c * sizeof *row);
        }
    }
}

/* nearest: y (n, h*sh, w*sw, c)[i, j] = x[i / sh, j / sw] */
void nnc_rt_upsample_nearest(float *y, const float *x, int n, int h, int w, int c, int sh, int sw)
{
    long b;
    int i, j;
    const int ow = w * sw;
    for (b = 0; b < (long)n * h * sh; b++) {
        const float *xr = x + (b / ((long)h * sh) * h + (b % ((long)h * sh)) / sh) * (long)w * c;
        float *yr = y + b * (long)ow * c;
        for (j = 0; j < ow; j++)
            for (i = 0; i < c; i++)
                yr[(long)j * c + i] = xr[(long)(j / sw) * c + i];
    }
}

/* dx[i, j] = the sum of dy over the sh x sw block it was copied to */
void nnc_rt_upsample_nearest_backward(float *dx, const float *dy, int n, int h, int w, int c, int sh, int sw)
{
    long b;
    int j, k;
    const int ow = w * sw;
    memset(dx, 0, (size_t)n * h * w * c * sizeof *dx);
    for (b = 0; b < (long)n * h * sh; b++) {
        float *xr = dx + (b / ((long)h * sh) * h + (b % ((long)h * sh)) / sh) * (long)w * c;
        const float *yr = dy + b * (long)ow * c;
        for (j = 0; j < ow; j++)
            for (k = 0; k < c; k++)
                xr[(long)(j / sw) * c + k] += yr[(long)j * c + k];
    }
}

/* the source cells of output o along an axis scaled by s from `in` cells
 * (half-pixel centres, as tf.image.resize and torch's align_corners=False):
 * src = (o + 0.5) / s - 0.5, clamped to 0; i0 = floor(src), i1 = min(i0 + 1,
 * in - 1), weight of i1: src - i0 */
static void bilinear_tap(int o, int s, int in, int *i0, int *i1, float *f)
{
    float src = ((float)o + 0.5f) / (float)s - 0.5f;
    if (src < 0)
        src = 0;
    *i0 = (int)src;
    if (*i0 > in - 1)
        *i0 = in - 1;
    *i1 = *i0 + 1 < in ? *i0 + 1 : in - 1;
    *f = src - (float)*i0;
}

/* bilinear: y (n, h*sh, w*sw, c) */
void nnc_rt_upsample_bilinear(float *y, const float *x, int n, int h, int w, int c, int sh, int sw)
{
    long b;
    int i, j, k;
    const int oh = h * sh, ow = w * sw;
    for (b = 0; b < n; b++) {
        const float *xs = x + b * (long)h * w * c;
        for (i = 0; i < oh; i++) {
            int r0, r1, c0, c1;
            float fr, fc;
            bilinear_tap(i, sh, h, &r0, &r1, &fr);
            for (j = 0; j < ow; j++) {
                const float *a, *bb, *cc, *d;
                float *yo = y + ((b * oh + i) * (long)ow + j) * c;
                bilinear_tap(j, sw, w, &c0, &c1, &fc);
                a = xs + ((long)r0 * w + c0) * c;
                bb = xs + ((long)r0 * w + c1) * c;
                cc = xs + ((long)r1 * w + c0) * c;
                d = xs + ((long)r1 * w + c1) * c;
                for (k = 0; k < c; k++)
                    yo[k] = (1 - fr) * ((1 - fc) * a[k] + fc * bb[k]) + fr * ((1 - fc) * cc[k] + fc * d[k]);
            }
        }
    }
}

void nnc_rt_upsample_bilinear_backward(float *dx, const float *dy, int n, int h, int w, int c, int sh, int sw)
{
    long b;
    int i, j, k;
    const int oh = h * sh, ow = w * sw;
    memset(dx, 0, (size_t)n * h * w * c * sizeof *dx);
    for (b = 0; b < n; b++) {
        float *xs = dx + b * (long)h * w * c;
        for (i = 0; i < oh; i++) {
            int r0, r1, c0, c1;
            float fr, fc;
            bilinear_tap(i, sh, h, &r0, &r1, &fr);
            for (j = 0; j < ow; j++) {
                const float *g = dy + ((b * oh + i) * (long)ow + j) * c;
                float *a, *bb, *cc, *d;
                bilinear_tap(j, sw, w, &c0, &c1, &fc);
                a = xs + ((long)r0 * w + c0) * c;
                bb = xs + ((long)r0 * w + c1) * c;
                cc = xs + ((long)r1 * w + c0) * c;
                d = xs + ((long)r1 * w + c1) * c;
                for (k = 0; k < c; k++) {
                    a[k] += (1 - fr) * (1 - fc) * g[k];
                    bb[k] += (1 - fr) * fc * g[k];
                    cc[k] += fr * (1 - fc) * g[k];
                    d[k] += fr * fc * g[k];
                }
            }
        }
    }
}
