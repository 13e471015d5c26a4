/* conv.c — 2-D convolution (channels-last, grouped, strided, dilated,
 * padded): forward with a fused bias + activation epilogue, and the two
 * backward kernels.
 *
 * For one sample and one group g (cg = c/groups input channels, og =
 * oc/groups output channels, K = kh*kw*cg, q = an output pixel):
 *
 *   cols[q, (ky*kw + kx)*cg + i] = x[qy*sh - pt + ky*dh, qx*sw - pl + kx*dw, g*cg + i]
 *                                  (0 outside the input)
 *   y[q, g*og + o] = act(b[g*og + o] + sum_k cols[q, k] w[k, g*og + o])
 *   dcols          = dy[:, group g] . w_g^T,   dx = col2im(dcols) (the adjoint of im2col)
 *   dw_g           = sum over samples of cols^T . dy[:, group g]
 *
 * Design: im2col + nnc_rt_gemm_f32.  The Keras kernel layout (kh, kw, cg, oc)
 * already is the (K, oc) matrix the im2col rows multiply, so weights are
 * never repacked here: the GEMM reads one group's columns through ldb = oc.
 * im2col copies runs: with groups == 1 and dw == 1 the kw cells of a kernel
 * row are adjacent in x, so each (pixel, kernel row) is one copy of up to
 * kw*c floats, the clipped edges zero-filled.
 *
 * Orientation.  A group with few output channels (og < WIDE_N) would give
 * a GEMM only og columns wide — narrower than the micro-kernel's NR = 32 on
 * AVX-512, so half of every tile computed for nothing, and the big im2col
 * matrix packed for a handful of FMAs per element.  Those groups compute the
 * transpose instead, y_g^T = w_g^T . cols^T (and dw_g^T = dy_g^T . cols),
 * where the pixels are the wide dimension, then transpose the small result
 * back: 2-2.5x faster at og = 16.  The transposed result needs room of its
 * own, so the pixels go in chunks whose cols rows plus that result fit in
 * the scratch the header promises (NNC_RT_CONV2D_SCRATCH: one sample's
 * cols for one group); tiny images where no chunk fits use the plain
 * orientation.  backward_data's product is kh*kw*cg wide and always plain.
 *
 * Two shapes skip im2col altogether (and leave the scratch untouched):
 *   - pointwise (1x1, stride 1, no padding): x of the whole batch already is
 *     the (n*h*w, c) matrix, so each group is one GEMM over the batch;
 *   - depthwise (cg == 1 with groups > 1): per group, a GEMM with K = kh*kw
 *     and N = the multiplier would be almost all overhead, so direct loops
 *     vectorised over the channels are used.  (c == 1 with groups == 1, a
 *     first layer on grey images, stays on the GEMM path: all oc outputs
 *     share one input channel and the transposed GEMM is faster there.)
 */
#include <string.h>

#include "nnc_rt.h"

#define WIDE_N 64            /* groups with og >= this use the plain orientation */
#define CHUNK_FLOATS (1L << 17) /* at most 512 KiB of cols per chunk: stays in L2 */
#define MIN_CHUNK 8

static int imax(int a, int b) { return a > b ? a : b; }
static int imin(int a, int b) { return a < b ? a : b; }

/* the x-range of kernel columns that land inside the input for an output
 * column starting at input column ix0: kx in [*lo, *hi) */
static void valid_kx(const nnc_rt_conv2d *p, int ix0, int *lo, int *hi)
{
    int l = 0, h = p->kw;
    if (ix0 < 0)
        l = imin((-ix0 + p->dw - 1) / p->dw, h);
    if (ix0 + (h - 1) * p->dw >= p->w)
        h = (p->w - 1 - ix0) / p->dw + 1;
    if (ix0 >= p->w)
        h = 0;
    *lo = l;
    *hi = imax(h, l);
}

/* the same for rows */
static void valid_ky(const nnc_rt_conv2d *p, int iy0, int *lo, int *hi)
{
    int l = 0, h = p->kh;
    if (iy0 < 0)
        l = imin((-iy0 + p->dh - 1) / p->dh, h);
    if (iy0 + (h - 1) * p->dh >= p->h)
        h = (p->h - 1 - iy0) / p->dh + 1;
    if (iy0 >= p->h)
        h = 0;
    *lo = l;
    *hi = imax(h, l);
}

static int is_pointwise(const nnc_rt_conv2d *p)
{
    return p->kh == 1 && p->kw == 1 && p->sh == 1 && p->sw == 1 && p->pt == 0 && p->pl == 0 &&
           p->oh == p->h && p->ow == p->w;
}

/* Copies and clears of one kernel row's run of floats.  Zero-length runs
 * (clipped edges) are frequent, and so are runs of a few floats (c = 1):
 * those are moved by a fixed-length loop the compiler turns into a few
 * masked vector moves, instead of a libc call that costs more than the
 * copy. */
#define SHORT_RUN 8

static void copy_floats(float *restrict d, const float *restrict s, long k)
{
    int i;
    if (k > SHORT_RUN)
        memcpy(d, s, (size_t)k * sizeof *d);
    else
        for (i = 0; i < SHORT_RUN; i++)
            if (i < k)
                d[i] = s[i];
}

static void zero_floats(float *d, long k)
{
    int i;
    if (k > SHORT_RUN)
        memset(d, 0, (size_t)k * sizeof *d);
    else
        for (i = 0; i < SHORT_RUN; i++)
            if (i < k)
                d[i] = 0.0f;
}

/* rows [q0, q0 + np) of cols (oh*ow, kh*kw*cg), from xs = one sample's x
 * offset to the group's first channel */
static void im2col(const nnc_rt_conv2d *p, float *restrict cols, const float *restrict xs, int cg,
                   long q0, long np)
{
    const int c = p->c, kw = p->kw;
    const long kdim = (long)p->kh * kw * cg, run = (long)kw * cg;
    const int contiguous = p->dw == 1 && cg == c;
    int oy = (int)(q0 / p->ow), ox = (int)(q0 % p->ow), ky, kx;
    long q;
    for (q = 0; q < np; q++) {
        float *row = cols + q * kdim;
        int iy0 = oy * p->sh - p->pt, ix0 = ox * p->sw - p->pl, ky_lo, ky_hi, lo, hi;
        valid_ky(p, iy0, &ky_lo, &ky_hi);
        valid_kx(p, ix0, &lo, &hi);
        zero_floats(row, ky_lo * run);
        for (ky = ky_lo; ky < ky_hi; ky++) {
            /* offsets, not pointers: ix0 may be left of the input */
            long src = ((long)(iy0 + ky * p->dh) * p->w + ix0) * c;
            float *dst = row + ky * run;
            zero_floats(dst, (long)lo * cg);
            if (contiguous)
                copy_floats(dst + lo * cg, xs + src + (long)lo * c, (long)(hi - lo) * c);
            else
                for (kx = lo; kx < hi; kx++)
                    copy_floats(dst + (long)kx * cg, xs + src + (long)kx * p->dw * c, cg);
            zero_floats(dst + (long)hi * cg, (long)(kw - hi) * cg);
        }
        zero_floats(row + ky_hi * run, (p->kh - ky_hi) * run);
        if (++ox == p->ow) {
            ox = 0;
            oy++;
        }
    }
}

/* y[q*ldy + o] = t[o*np + q] for q < np, o < m: a transposed (m, np) block
 * back into rows of y, in tiles of 16 rows so the reads stay in L1 */
static void untranspose(float *restrict y, long ldy, const float *restrict t, int m, long np)
{
    long q0, q;
    int o;
    for (q0 = 0; q0 < np; q0 += 16) {
        long qn = np - q0 < 16 ? np - q0 : 16;
        for (q = q0; q < q0 + qn; q++)
            for (o = 0; o < m; o++)
                y[q * ldy + o] = t[o * np + q];
    }
}

/* dxs[cells, group channels] += the columns of dcols that read them
 * (the adjoint of im2col); dxs is offset to the group's first channel */
static void col2im_add(const nnc_rt_conv2d *p, float *restrict dxs, const float *restrict dcols,
                       int cg)
{
    const int c = p->c, kw = p->kw;
    const long kdim = (long)p->kh * kw * cg, run = (long)kw * cg;
    const int contiguous = p->dw == 1 && cg == c;
    int oy, ox, ky, kx;
    long i;
    for (oy = 0; oy < p->oh; oy++) {
        int iy0 = oy * p->sh - p->pt, ky_lo, ky_hi;
        valid_ky(p, iy0, &ky_lo, &ky_hi);
        for (ox = 0; ox < p->ow; ox++) {
            const float *row = dcols + ((long)oy * p->ow + ox) * kdim;
            int ix0 = ox * p->sw - p->pl, lo, hi;
            valid_kx(p, ix0, &lo, &hi);
            for (ky = ky_lo; ky < ky_hi; ky++) {
                long dst = ((long)(iy0 + ky * p->dh) * p->w + ix0) * c; /* as in im2col */
                const float *src = row + ky * run;
                if (contiguous) {
                    float *restrict d = dxs + dst + (long)lo * c;
                    const float *restrict s = src + (long)lo * c;
                    long k = (long)(hi - lo) * c;
                    for (i = 0; i < k; i++)
                        d[i] += s[i];
                } else
                    for (kx = lo; kx < hi; kx++) {
                        float *restrict d = dxs + dst + (long)kx * p->dw * c;
                        const float *restrict s = src + (long)kx * cg;
                        for (i = 0; i < cg; i++)
                            d[i] += s[i];
                    }
            }
        }
    }
}

/* y[rows, oc] = act(y + b) */
static void epilogue(float *y, long rows, int oc, const float *b, int act)
{
    long r;
    int o;
    if (b && act == NNC_RT_ACT_RELU) { /* the common pair in one pass */
        for (r = 0; r < rows; r++) {
            float *restrict yr = y + r * oc;
            for (o = 0; o < oc; o++) {
                float v = yr[o] + b[o];
                yr[o] = v > 0.0f ? v : 0.0f;
            }
        }
        return;
    }
    if (b)
        for (r = 0; r < rows; r++) {
            float *restrict yr = y + r * oc;
            for (o = 0; o < oc; o++)
                yr[o] += b[o];
        }
    if (act != NNC_RT_ACT_LINEAR)
        nnc_rt_act_forward(act, y, y, (int)rows, oc);
}

/* ---- depthwise (cg == 1, groups = c > 1, multiplier m = oc/c): direct loops ----
 *   y[q, i*m + j] = b[i*m + j] + sum_{ky,kx} x[cell(q, ky, kx), i] w[ky, kx, 0, i*m + j]
 * i.e. output o reads input channel o/m.  m == 1 (Keras DepthwiseConv2D's
 * default) gets a register-blocked kernel for the interior of each row;
 * edges and m > 1 take a plain loop over the pixel's outputs. */

/* yr[o] += xr[o / m] * wr[o] over the oc outputs of one pixel and one tap */
static void dw_tap(float *restrict yr, const float *restrict xr, const float *restrict wr, int c,
                   int m)
{
    int i, j;
    if (m == 1)
        for (i = 0; i < c; i++)
            yr[i] += xr[i] * wr[i];
    else
        for (i = 0; i < c; i++)
            for (j = 0; j < m; j++)
                yr[i * m + j] += xr[i] * wr[i * m + j];
}

/* DW_PIX adjacent output pixels of one row whose taps all fall inside the
 * input columns, for m == 1: y[q, ch] for q < DW_PIX (rows are clipped by
 * ky_lo/ky_hi).  The channels go in blocks of DW_CB with DW_PIX x DW_CB
 * accumulators that the compiler keeps in vector registers — independent
 * chains, so the adds of consecutive taps do not wait for each other as
 * they would through memory.  (DW_PIX is spelled out as a0..a3 below.) */
#define DW_PIX 4
#define DW_CB 16
static void depthwise_interior(const nnc_rt_conv2d *p, float *restrict yr,
                               const float *restrict xs, long off0, const float *restrict w,
                               const float *restrict b, int ky_lo, int ky_hi)
{
    const int c = p->c;
    const long xstep = (long)p->sw * c; /* from one output pixel's cells to the next */
    int c0, q, o, ky, kx;
    for (c0 = 0; c0 + DW_CB <= c; c0 += DW_CB) {
        /* four named rows, as in gemm.c's portable micro-kernel: a 2-D
         * array would be kept in memory */
        float a0[DW_CB], a1[DW_CB], a2[DW_CB], a3[DW_CB];
        for (o = 0; o < DW_CB; o++)
            a0[o] = a1[o] = a2[o] = a3[o] = b ? b[c0 + o] : 0.0f;
        for (ky = ky_lo; ky < ky_hi; ky++)
            for (kx = 0; kx < p->kw; kx++) {
                const float *restrict xr =
                    xs + off0 + ((long)ky * p->dh * p->w + (long)kx * p->dw) * c + c0;
                const float *restrict wr = w + ((long)ky * p->kw + kx) * c + c0;
                for (o = 0; o < DW_CB; o++) {
                    a0[o] += xr[o] * wr[o];
                    a1[o] += xr[xstep + o] * wr[o];
                    a2[o] += xr[2 * xstep + o] * wr[o];
                    a3[o] += xr[3 * xstep + o] * wr[o];
                }
            }
        for (o = 0; o < DW_CB; o++) {
            yr[o + c0] = a0[o];
            yr[c + o + c0] = a1[o];
            yr[2L * c + o + c0] = a2[o];
            yr[3L * c + o + c0] = a3[o];
        }
    }
    for (; c0 < c; c0++) /* the channels past the last whole block */
        for (q = 0; q < DW_PIX; q++) {
            float a = b ? b[c0] : 0.0f;
            for (ky = ky_lo; ky < ky_hi; ky++)
                for (kx = 0; kx < p->kw; kx++)
                    a += xs[off0 + q * xstep + ((long)ky * p->dh * p->w + (long)kx * p->dw) * c + c0] *
                         w[((long)ky * p->kw + kx) * c + c0];
            yr[(long)q * c + c0] = a;
        }
}

static void depthwise_forward(const nnc_rt_conv2d *p, float *y, const float *x, const float *w,
                              const float *b, int n, int act)
{
    const int c = p->c, oc = p->oc, m = oc / c;
    const long xs = (long)p->h * p->w * c, ys = (long)p->oh * p->ow * oc;
    int s, oy, ox, ky, kx;
    for (s = 0; s < n; s++) {
        for (oy = 0; oy < p->oh; oy++) {
            int iy0 = oy * p->sh - p->pt, ky_lo, ky_hi;
            valid_ky(p, iy0, &ky_lo, &ky_hi);
            for (ox = 0; ox < p->ow; ox++) {
                float *yr = y + s * ys + ((long)oy * p->ow + ox) * oc;
                int ix0 = ox * p->sw - p->pl, lo, hi, last_ix;
                /* the last input column that the DW_PIX-th pixel from here reads */
                last_ix = ix0 + (DW_PIX - 1) * p->sw + (p->kw - 1) * p->dw;
                if (m == 1 && ix0 >= 0 && last_ix < p->w && ox + DW_PIX <= p->ow) {
                    /* the offset of cell (iy0, ix0): iy0 may be above the input */
                    depthwise_interior(p, yr, x + s * xs, ((long)iy0 * p->w + ix0) * c, w, b,
                                       ky_lo, ky_hi);
                    ox += DW_PIX - 1;
                    continue;
                }
                valid_kx(p, ix0, &lo, &hi);
                if (b)
                    copy_floats(yr, b, oc);
                else
                    zero_floats(yr, oc);
                for (ky = ky_lo; ky < ky_hi; ky++)
                    for (kx = lo; kx < hi; kx++)
                        dw_tap(yr, x + s * xs + ((long)(iy0 + ky * p->dh) * p->w + ix0 + kx * p->dw) * c,
                               w + ((long)ky * p->kw + kx) * oc, c, m);
            }
        }
        epilogue(y + s * ys, (long)p->oh * p->ow, oc, NULL, act); /* act while hot */
    }
}

/* acc[i] += sum_j dyr[i*m + j] * wr[i*m + j] over the c inputs */
static void dw_dot(float *restrict acc, const float *restrict dyr, const float *restrict wr,
                   int c, int m)
{
    int i, j;
    if (m == 1)
        for (i = 0; i < c; i++)
            acc[i] += dyr[i] * wr[i];
    else
        for (i = 0; i < c; i++) {
            float s = 0.0f;
            for (j = 0; j < m; j++)
                s += dyr[i * m + j] * wr[i * m + j];
            acc[i] += s;
        }
}

/* acc[o] += xr[o / m] * dyr[o] over the oc outputs */
static void dw_outer(float *restrict acc, const float *restrict xr, const float *restrict dyr,
                     int c, int m)
{
    int i, j;
    if (m == 1)
        for (i = 0; i < c; i++)
            acc[i] += xr[i] * dyr[i];
    else
        for (i = 0; i < c; i++)
            for (j = 0; j < m; j++)
                acc[i * m + j] += xr[i] * dyr[i * m + j];
}

/* The two depthwise backward kernels: one walk over (sample, output pixel,
 * valid tap), accumulating into dx (DW_DATA) or dw (DW_FILTER). */
enum { DW_DATA, DW_FILTER };

static void depthwise_backward(const nnc_rt_conv2d *p, int kind, float *out, const float *dy,
                               const float *other, int n)
{
    const int c = p->c, oc = p->oc, m = oc / c;
    const long xs = (long)p->h * p->w * c, ys = (long)p->oh * p->ow * oc;
    int s, oy, ox, ky, kx;
    for (s = 0; s < n; s++)
        for (oy = 0; oy < p->oh; oy++) {
            int iy0 = oy * p->sh - p->pt, ky_lo, ky_hi;
            valid_ky(p, iy0, &ky_lo, &ky_hi);
            for (ox = 0; ox < p->ow; ox++) {
                long q = s * ys + ((long)oy * p->ow + ox) * oc; /* (s, oy, ox) in y */
                int ix0 = ox * p->sw - p->pl, lo, hi;
                valid_kx(p, ix0, &lo, &hi);
                for (ky = ky_lo; ky < ky_hi; ky++)
                    for (kx = lo; kx < hi; kx++) {
                        long cell = s * xs + ((long)(iy0 + ky * p->dh) * p->w + ix0 + kx * p->dw) * c;
                        long tap = ((long)ky * p->kw + kx) * oc;
                        if (kind == DW_DATA) /* out = dx, other = w */
                            dw_dot(out + cell, dy + q, other + tap, c, m);
                        else                 /* out = dw, other = x */
                            dw_outer(out + tap, other + cell, dy + q, c, m);
                    }
            }
        }
}

/* ---- entry points -------------------------------------------------------------- */

/* Pixels per chunk for the transposed products of one group, or 0 for the
 * plain orientation.  The scratch (pix*kdim floats) holds `fixed` floats
 * set aside, then the chunk's cols rows (kdim floats a pixel) and `extra`
 * more floats a pixel (its transposed output).  Chunks are whole NR = 32
 * GEMM slivers when they can be, and small enough to stay in L2. */
static long chunk_pixels(long pix, long kdim, int og, long fixed, long extra)
{
    long chunk;
    if (og >= WIDE_N || pix * kdim <= fixed)
        return 0;
    chunk = (pix * kdim - fixed) / (kdim + extra);
    if (chunk > CHUNK_FLOATS / kdim) /* (chunk < pix anyway: the result takes room) */
        chunk = CHUNK_FLOATS / kdim;
    if (chunk >= 32)
        chunk -= chunk % 32;
    return chunk >= MIN_CHUNK ? chunk : 0;
}

/* x is (n, h, w, c), w is (kh, kw, c/groups, oc), y is (n, oh, ow, oc) */
void nnc_rt_conv2d_forward(const nnc_rt_conv2d *p, float *y, const float *x, const float *w,
                           const float *b, float *scratch, int n, int act)
{
    const int G = p->groups, cg = p->c / G, og = p->oc / G, oc = p->oc;
    const long pix = (long)p->oh * p->ow, kdim = (long)p->kh * p->kw * cg;
    const long xs = (long)p->h * p->w * p->c, ys = pix * oc;
    int s, g;
    if (n <= 0)
        return;
    if (cg == 1 && G > 1) {
        depthwise_forward(p, y, x, w, b, n, act);
        return;
    }
    if (is_pointwise(p)) {
        for (g = 0; g < G; g++)
            nnc_rt_gemm_f32(0, 0, (int)(n * pix), og, cg, 1.0f, x + g * cg, p->c, w + g * og, oc,
                            0.0f, y + g * og, oc);
        epilogue(y, n * pix, oc, b, act);
        return;
    }
    for (s = 0; s < n; s++) {
        for (g = 0; g < G; g++) {
            const float *xg = x + s * xs + g * cg, *wg = w + g * og;
            float *yg = y + s * ys + g * og;
            long chunk = chunk_pixels(pix, kdim, og, 0, og);
            long q0;
            if (!chunk) { /* y_g (pix, og) = cols . w_g */
                im2col(p, scratch, xg, cg, 0, pix);
                nnc_rt_gemm_f32(0, 0, (int)pix, og, (int)kdim, 1.0f, scratch, (int)kdim, wg, oc,
                                0.0f, yg, oc);
                continue;
            }
            for (q0 = 0; q0 < pix; q0 += chunk) { /* y_g^T (og, np) = w_g^T . cols^T */
                long np = pix - q0 < chunk ? pix - q0 : chunk;
                float *t = scratch + chunk * kdim;
                im2col(p, scratch, xg, cg, q0, np);
                nnc_rt_gemm_f32(1, 1, og, (int)np, (int)kdim, 1.0f, wg, oc, scratch, (int)kdim,
                                0.0f, t, (int)np);
                untranspose(yg + q0 * oc, oc, t, og, np);
            }
        }
        epilogue(y + s * ys, pix, oc, b, act);
    }
}

void nnc_rt_conv2d_backward_data(const nnc_rt_conv2d *p, float *dx, const float *dy,
                                 const float *w, float *scratch, int n)
{
    const int G = p->groups, cg = p->c / G, og = p->oc / G;
    const long pix = (long)p->oh * p->ow, kdim = (long)p->kh * p->kw * cg;
    const long xs = (long)p->h * p->w * p->c, ys = pix * p->oc;
    int s, g;
    if (n <= 0)
        return;
    if (cg == 1 && G > 1) {
        zero_floats(dx, n * xs);
        depthwise_backward(p, DW_DATA, dx, dy, w, n);
        return;
    }
    if (is_pointwise(p)) { /* dx[:, group] = dy[:, group] . w_g^T */
        for (g = 0; g < G; g++)
            nnc_rt_gemm_f32(0, 1, (int)(n * pix), cg, og, 1.0f, dy + g * og, p->oc, w + g * og,
                            p->oc, 0.0f, dx + g * cg, p->c);
        return;
    }
    for (s = 0; s < n; s++) {
        zero_floats(dx + s * xs, xs);
        for (g = 0; g < G; g++) { /* dcols (pix, kdim) = dy_g . w_g^T */
            nnc_rt_gemm_f32(0, 1, (int)pix, (int)kdim, og, 1.0f, dy + s * ys + g * og, p->oc,
                            w + g * og, p->oc, 0.0f, scratch, (int)kdim);
            col2im_add(p, dx + s * xs + g * cg, scratch, cg);
        }
    }
}

void nnc_rt_conv2d_backward_filter(const nnc_rt_conv2d *p, float *dw, const float *dy,
                                   const float *x, float *scratch, int n)
{
    const int G = p->groups, cg = p->c / G, og = p->oc / G, oc = p->oc;
    const long pix = (long)p->oh * p->ow, kdim = (long)p->kh * p->kw * cg;
    const long xs = (long)p->h * p->w * p->c, ys = pix * oc;
    int s, g;
    if (n <= 0 || (cg == 1 && G > 1)) {
        zero_floats(dw, kdim * oc);
        if (n > 0)
            depthwise_backward(p, DW_FILTER, dw, dy, x, n);
        return;
    }
    if (is_pointwise(p)) { /* dw_g = x[:, group]^T . dy[:, group] over the whole batch */
        for (g = 0; g < G; g++)
            nnc_rt_gemm_f32(1, 0, cg, og, (int)(n * pix), 1.0f, x + g * cg, p->c, dy + g * og, oc,
                            0.0f, dw + g * og, oc);
        return;
    }
    for (g = 0; g < G; g++) {
        long chunk = chunk_pixels(pix, kdim, og, og * kdim, 0), q0;
        float *t = scratch + chunk * kdim; /* dw_g^T (og, kdim) when chunked */
        for (s = 0; s < n; s++) {
            const float *xg = x + s * xs + g * cg, *dyg = dy + s * ys + g * og;
            if (!chunk) { /* dw_g (kdim, og) += cols^T . dy_g */
                im2col(p, scratch, xg, cg, 0, pix);
                nnc_rt_gemm_f32(1, 0, (int)kdim, og, (int)pix, 1.0f, scratch, (int)kdim, dyg, oc,
                                s == 0 ? 0.0f : 1.0f, dw + g * og, oc);
                continue;
            }
            for (q0 = 0; q0 < pix; q0 += chunk) { /* dw_g^T += dy_g^T . cols */
                long np = pix - q0 < chunk ? pix - q0 : chunk;
                im2col(p, scratch, xg, cg, q0, np);
                nnc_rt_gemm_f32(1, 0, og, (int)kdim, (int)np, 1.0f, dyg + q0 * oc, oc, scratch,
                                (int)kdim, s == 0 && q0 == 0 ? 0.0f : 1.0f, t, (int)kdim);
            }
        }
        if (chunk)
            untranspose(dw + g * og, oc, t, og, kdim);
    }
}
