/* conv_ref.c — the plain C references of the convolution kernels: the
 * oracle every variant (nnc_rt_conv2d_variants) is tested against, as
 * nnc_rt_gemm_f32_ref is the GEMM's.
 *
 * Design: each output element is one sum, written as the definition reads
 * and accumulated in double, so that it is the most accurate thing in the
 * tests; nothing is shared with the fast kernels (no im2col, no clipping
 * helpers) and nothing is allocated.  The data gradient gathers: dx at an
 * input cell sums the outputs whose windows cover it, where the kernels
 * scatter or run a flipped forward.  Slow: for tests only.
 */
#include "nnc_rt_kernels.h"

/* x[s, iy, ix, ch] of a (n, h, w, c) tensor */
static long xat(const nnc_rt_conv2d *p, int s, int iy, int ix, int ch)
{
    return (((long)s * p->h + iy) * p->w + ix) * p->c + ch;
}

/* y[s, oy, ox, o] of a (n, oh, ow, oc) tensor */
static long yat(const nnc_rt_conv2d *p, int s, int oy, int ox, int o)
{
    return (((long)s * p->oh + oy) * p->ow + ox) * p->oc + o;
}

/* w[ky, kx, i, o] of the (kh, kw, c/groups, oc) kernel */
static long wat(const nnc_rt_conv2d *p, int ky, int kx, int i, int o)
{
    return (((long)ky * p->kw + kx) * (p->c / p->groups) + i) * p->oc + o;
}

/* the input cell (*iy, *ix) that tap (ky, kx) of output pixel (oy, ox)
 * reads: 1 when it is inside the input, 0 when in the padding */
static int tap_cell(const nnc_rt_conv2d *p, int oy, int ox, int ky, int kx, int *iy, int *ix)
{
    *iy = oy * p->sh - p->pt + ky * p->dh;
    *ix = ox * p->sw - p->pl + kx * p->dw;
    return *iy >= 0 && *iy < p->h && *ix >= 0 && *ix < p->w;
}

/* y[s, oy, ox, o] = act(b[o] + sum over the taps (ky, kx) inside the input
 * and the group's input channels i of x[s, iy, ix, g*cg + i] w[ky, kx, i, o]),
 * one output element q at a time */
void nnc_rt_conv2d_forward_ref(const nnc_rt_conv2d *p, float *y, const float *x, const float *w,
                               const float *b, int n, int act)
{
    const int cg = p->c / p->groups, og = p->oc / p->groups;
    const long pix = (long)p->oh * p->ow;
    long q;
    int ky, kx, i, iy, ix;
    for (q = 0; q < n * pix * p->oc; q++) {
        const int o = (int)(q % p->oc), s = (int)(q / p->oc / pix);
        const int oy = (int)(q / p->oc % pix / p->ow), ox = (int)(q / p->oc % p->ow);
        double acc = b ? b[o] : 0.0;
        for (ky = 0; ky < p->kh; ky++)
            for (kx = 0; kx < p->kw; kx++)
                for (i = 0; i < cg && tap_cell(p, oy, ox, ky, kx, &iy, &ix); i++)
                    acc += (double)x[xat(p, s, iy, ix, o / og * cg + i)] * w[wat(p, ky, kx, i, o)];
        y[q] = (float)acc;
    }
    if (act != NNC_RT_ACT_LINEAR && n > 0)
        nnc_rt_act_forward(act, y, y, (int)(n * pix), p->oc);
}

/* dx[s, iy, ix, g*cg + i] = sum over the taps (ky, kx) whose output pixel
 * (oy, ox) exists — oy*sh = iy + pt - ky*dh — and the group's outputs o of
 * dy[s, oy, ox, o] w[ky, kx, i, o], one input element q at a time */
void nnc_rt_conv2d_backward_data_ref(const nnc_rt_conv2d *p, float *dx, const float *dy,
                                     const float *w, int n)
{
    const int cg = p->c / p->groups, og = p->oc / p->groups;
    const long cells = (long)p->h * p->w;
    long q;
    int ky, kx, o;
    for (q = 0; q < n * cells * p->c; q++) {
        const int ch = (int)(q % p->c), s = (int)(q / p->c / cells), g = ch / cg, i = ch % cg;
        const int iy = (int)(q / p->c % cells / p->w), ix = (int)(q / p->c % p->w);
        double acc = 0.0;
        for (ky = 0; ky < p->kh; ky++)
            for (kx = 0; kx < p->kw; kx++) {
                int ry = iy + p->pt - ky * p->dh, rx = ix + p->pl - kx * p->dw;
                int oy = ry / p->sh, ox = rx / p->sw;
                if (ry < 0 || rx < 0 || ry % p->sh || rx % p->sw || oy >= p->oh || ox >= p->ow)
                    continue;
                for (o = g * og; o < (g + 1) * og; o++)
                    acc += (double)dy[yat(p, s, oy, ox, o)] * w[wat(p, ky, kx, i, o)];
            }
        dx[q] = (float)acc;
    }
}

/* dw[ky, kx, i, o] = sum over the samples and output pixels whose tap
 * (ky, kx) is inside the input of x[s, iy, ix, g*cg + i] dy[s, oy, ox, o],
 * one weight q at a time */
void nnc_rt_conv2d_backward_filter_ref(const nnc_rt_conv2d *p, float *dw, const float *dy,
                                       const float *x, int n)
{
    const int cg = p->c / p->groups, og = p->oc / p->groups;
    long q;
    int s, oy, ox, iy, ix;
    for (q = 0; q < (long)p->kh * p->kw * cg * p->oc; q++) {
        const int o = (int)(q % p->oc), i = (int)(q / p->oc % cg);
        const int kx = (int)(q / p->oc / cg % p->kw), ky = (int)(q / p->oc / cg / p->kw);
        double acc = 0.0;
        for (s = 0; s < n; s++)
            for (oy = 0; oy < p->oh; oy++)
                for (ox = 0; ox < p->ow; ox++)
                    if (tap_cell(p, oy, ox, ky, kx, &iy, &ix))
                        acc += (double)x[xat(p, s, iy, ix, o / og * cg + i)] *
                               dy[yat(p, s, oy, ox, o)];
        dw[q] = (float)acc;
    }
}
