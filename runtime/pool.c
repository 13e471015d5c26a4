/* pool.c — 2-D max and average pooling (channels-last), forward and backward.
 *
 * For output pixel (oy, ox) the window is the kh x kw cells starting at
 * (oy*sh - pt, ox*sw - pl), clipped to the input: W = its valid cells.
 *
 *   max:  y[oy, ox, ch] = max over W of x[cell, ch]
 *         dx[cell*, ch] += dy[oy, ox, ch], cell* = the first maximum of W in
 *         row-major order (ties go to the earliest cell)
 *   avg:  y[oy, ox, ch] = (1/|W|) sum over W of x[cell, ch]
 *         dx[cell, ch] += dy[oy, ox, ch] / |W| for every cell of W
 *
 * Design: padding is handled by clipping the window, never by reading or
 * inventing padded values — so a padded cell can never win a max and is not
 * counted by an average (Keras 'same'; for 'valid' windows nothing is
 * clipped and |W| = kh*kw).  All loops run innermost over the contiguous
 * channels, so they vectorise.  The max backward recomputes the argmax from
 * x instead of storing indices: no extra buffer in the arena, and the
 * forward pass stays a pure function.  A window with no valid cell (only
 * possible with padding larger than the kernel) yields 0 and no gradient.
 */
#include <string.h>

#include "nnc_rt.h"

typedef struct window { int y0, y1, x0, x1; } window;

/* the valid cells [y0, y1) x [x0, x1) of output pixel (oy, ox) */
static window window_at(const nnc_rt_pool2d *p, int oy, int ox)
{
    window r;
    int iy = oy * p->sh - p->pt, ix = ox * p->sw - p->pl;
    r.y0 = iy > 0 ? iy : 0;
    r.x0 = ix > 0 ? ix : 0;
    r.y1 = iy + p->kh < p->h ? iy + p->kh : p->h;
    r.x1 = ix + p->kw < p->w ? ix + p->kw : p->w;
    if (r.y1 < r.y0)
        r.y1 = r.y0;
    if (r.x1 < r.x0)
        r.x1 = r.x0;
    return r;
}

/* x is (n, h, w, c), y is (n, oh, ow, c) */
#define MAX_BLOCK 16
void nnc_rt_maxpool2d_forward(const nnc_rt_pool2d *p, float *y, const float *x, int n)
{
    const int c = p->c;
    const long xs = (long)p->h * p->w * c;
    int s, oy, ox, iy, ix, ch, c0;
    for (s = 0; s < n; s++)
        for (oy = 0; oy < p->oh; oy++)
            for (ox = 0; ox < p->ow; ox++) {
                float *restrict yr = y + (((long)s * p->oh + oy) * p->ow + ox) * c;
                window r = window_at(p, oy, ox);
                if (r.y0 == r.y1 || r.x0 == r.x1) {
                    memset(yr, 0, (size_t)c * sizeof *yr);
                    continue;
                }
                /* blocks of MAX_BLOCK channels kept in registers over the
                 * window (ResNet-18's 3x3 pool of 64 channels: 2x faster
                 * than y's row loaded and stored for every cell), the rest
                 * through y; the same comparisons either way */
                for (c0 = 0; c0 + MAX_BLOCK <= c; c0 += MAX_BLOCK) {
                    float m[MAX_BLOCK];
                    const float *x0 = x + s * xs + ((long)r.y0 * p->w + r.x0) * c + c0;
                    for (ch = 0; ch < MAX_BLOCK; ch++)
                        m[ch] = x0[ch];
                    for (iy = r.y0; iy < r.y1; iy++)
                        for (ix = iy == r.y0 ? r.x0 + 1 : r.x0; ix < r.x1; ix++) {
                            const float *restrict xr = x + s * xs + ((long)iy * p->w + ix) * c + c0;
                            for (ch = 0; ch < MAX_BLOCK; ch++)
                                m[ch] = xr[ch] > m[ch] ? xr[ch] : m[ch];
                        }
                    for (ch = 0; ch < MAX_BLOCK; ch++)
                        yr[c0 + ch] = m[ch];
                }
                if (c0 == c)
                    continue;
                memcpy(yr + c0, x + s * xs + ((long)r.y0 * p->w + r.x0) * c + c0,
                       (size_t)(c - c0) * sizeof *yr);
                for (iy = r.y0; iy < r.y1; iy++)
                    for (ix = iy == r.y0 ? r.x0 + 1 : r.x0; ix < r.x1; ix++) {
                        const float *restrict xr = x + s * xs + ((long)iy * p->w + ix) * c;
                        for (ch = c0; ch < c; ch++)
                            yr[ch] = xr[ch] > yr[ch] ? xr[ch] : yr[ch];
                    }
            }
}

#define CBLOCK 64 /* channels whose running argmax is kept on the stack */

void nnc_rt_maxpool2d_backward(const nnc_rt_pool2d *p, float *dx, const float *dy,
                               const float *x, int n)
{
    const int c = p->c;
    const long xs = (long)p->h * p->w * c;
    int s, oy, ox, iy, ix, ch, c0;
    if (n <= 0)
        return;
    memset(dx, 0, (size_t)(n * xs) * sizeof *dx);
    for (s = 0; s < n; s++)
        for (oy = 0; oy < p->oh; oy++)
            for (ox = 0; ox < p->ow; ox++) {
                const float *dyr = dy + (((long)s * p->oh + oy) * p->ow + ox) * c;
                window r = window_at(p, oy, ox);
                if (r.y0 == r.y1 || r.x0 == r.x1)
                    continue;
                for (c0 = 0; c0 < c; c0 += CBLOCK) {
                    float best[CBLOCK];
                    long at[CBLOCK]; /* offset of the winning cell in x */
                    int nc = c - c0 < CBLOCK ? c - c0 : CBLOCK;
                    long first = s * xs + ((long)r.y0 * p->w + r.x0) * c + c0;
                    for (ch = 0; ch < nc; ch++) {
                        best[ch] = x[first + ch];
                        at[ch] = first;
                    }
                    for (iy = r.y0; iy < r.y1; iy++)
                        for (ix = iy == r.y0 ? r.x0 + 1 : r.x0; ix < r.x1; ix++) {
                            long cell = s * xs + ((long)iy * p->w + ix) * c + c0;
                            for (ch = 0; ch < nc; ch++) { /* selects: vectorises */
                                int win = x[cell + ch] > best[ch];
                                best[ch] = win ? x[cell + ch] : best[ch];
                                at[ch] = win ? cell : at[ch];
                            }
                        }
                    for (ch = 0; ch < nc; ch++)
                        dx[at[ch] + ch] += dyr[c0 + ch];
                }
            }
}

void nnc_rt_avgpool2d_forward(const nnc_rt_pool2d *p, float *y, const float *x, int n)
{
    const int c = p->c;
    const long xs = (long)p->h * p->w * c;
    int s, oy, ox, iy, ix, ch;
    for (s = 0; s < n; s++)
        for (oy = 0; oy < p->oh; oy++)
            for (ox = 0; ox < p->ow; ox++) {
                float *restrict yr = y + (((long)s * p->oh + oy) * p->ow + ox) * c;
                window r = window_at(p, oy, ox);
                long count = (long)(r.y1 - r.y0) * (r.x1 - r.x0);
                float inv = count > 0 ? 1.0f / (float)count : 0.0f;
                memset(yr, 0, (size_t)c * sizeof *yr);
                for (iy = r.y0; iy < r.y1; iy++)
                    for (ix = r.x0; ix < r.x1; ix++) {
                        const float *restrict xr = x + s * xs + ((long)iy * p->w + ix) * c;
                        for (ch = 0; ch < c; ch++)
                            yr[ch] += xr[ch];
                    }
                for (ch = 0; ch < c; ch++)
                    yr[ch] *= inv;
            }
}

void nnc_rt_avgpool2d_backward(const nnc_rt_pool2d *p, float *dx, const float *dy, int n)
{
    const int c = p->c;
    const long xs = (long)p->h * p->w * c;
    int s, oy, ox, iy, ix, ch;
    if (n <= 0)
        return;
    memset(dx, 0, (size_t)(n * xs) * sizeof *dx);
    for (s = 0; s < n; s++)
        for (oy = 0; oy < p->oh; oy++)
            for (ox = 0; ox < p->ow; ox++) {
                const float *restrict dyr = dy + (((long)s * p->oh + oy) * p->ow + ox) * c;
                window r = window_at(p, oy, ox);
                long count = (long)(r.y1 - r.y0) * (r.x1 - r.x0);
                float inv = count > 0 ? 1.0f / (float)count : 0.0f;
                for (iy = r.y0; iy < r.y1; iy++)
                    for (ix = r.x0; ix < r.x1; ix++) {
                        float *restrict dxr = dx + s * xs + ((long)iy * p->w + ix) * c;
                        for (ch = 0; ch < c; ch++)
                            dxr[ch] += dyr[ch] * inv;
                    }
            }
}
