/* conv_depthwise.h — the depthwise convolution (c/groups == 1, groups = c
 * > 1, multiplier m = oc/c), forward and both gradients, as direct loops:
 *   y[q, i*m + j] = b[i*m + j] + sum_{ky,kx} x[cell(q, ky, kx), i] w[ky, kx, 0, i*m + j]
 * i.e. output o reads input channel o/m.  A GEMM per group (K = kh*kw, N =
 * m) would be almost all overhead.  m == 1 (Keras DepthwiseConv2D's
 * default) gets a register-blocked kernel for the interior of each row;
 * edges and m > 1 take a plain loop over the pixel's outputs.
 *
 * Written once, included by conv_depthwise.c (the portable kernels:
 * DEPTHWISE_SIMD 0, its depthwise_interior and mul_add) and by each ISA's
 * file after conv_depthwise_simd.h (DEPTHWISE_SIMD 1: the row kernels, the
 * 3x3 filter rows and a vector mul_add), which name the three kernels
 * CONV_DEPTHWISE, CONV_DEPTHWISE_DATA and CONV_DEPTHWISE_FILTER.  Included
 * once per translation unit: no include guard.
 */

/* yr[o] += xr[o / m] * wr[o] over the oc outputs of one pixel and one tap
 * (the forward's step, and the filter gradient's with dy for w) */
static void dw_tap(float *restrict yr, const float *restrict xr, const float *restrict wr, int c,
                   int m)
{
    int i, j;
    if (m == 1)
        mul_add(yr, xr, wr, c);
    else
        for (i = 0; i < c; i++)
            for (j = 0; j < m; j++)
                yr[i * m + j] += xr[i] * wr[i * m + j];
}

static void depthwise_forward(const nnc_rt_conv2d *p, float *y, const float *x, const float *w,
                              const float *b, int n, int act)
{
    const int c = p->c, oc = p->oc, m = oc / c;
    const long xs = (long)p->h * p->w * c, ys = (long)p->oh * p->ow * oc;
    int s, oy, ox, ky, kx;
#if DEPTHWISE_SIMD
    if (m == 1) {
        depthwise_simd(p, y, x, w, (long)p->kw * c, c, b, n, act);
        return;
    }
#endif
    for (s = 0; s < n; s++) {
        for (oy = 0; oy < p->oh; oy++) {
            int iy0 = oy * p->sh - p->pt, ky_lo, ky_hi;
            valid_ky(p, iy0, &ky_lo, &ky_hi);
            for (ox = 0; ox < p->ow; ox++) {
                float *yr = y + s * ys + ((long)oy * p->ow + ox) * oc;
                int ix0 = ox * p->sw - p->pl, lo, hi;
#if !DEPTHWISE_SIMD /* (with them, m == 1 took depthwise_simd above) */
                /* the last input column that the DW_PIX-th pixel from here reads */
                int last_ix = ix0 + (DW_PIX - 1) * p->sw + (p->kw - 1) * p->dw;
                if (m == 1 && ix0 >= 0 && last_ix < p->w && ox + DW_PIX <= p->ow) {
                    /* the offset of cell (iy0, ix0): iy0 may be above the input */
                    depthwise_interior(p, yr, x + s * xs, ((long)iy0 * p->w + ix0) * c, w, b,
                                       ky_lo, ky_hi);
                    ox += DW_PIX - 1;
                    continue;
                }
#endif
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
        nnc_rt_conv2d_epilogue(y + s * ys, (long)p->oh * p->ow, oc, NULL, act); /* act while hot */
    }
}

/* acc[i] += sum_j dyr[i*m + j] * wr[i*m + j] over the c inputs */
static void dw_dot(float *restrict acc, const float *restrict dyr, const float *restrict wr,
                   int c, int m)
{
    int i, j;
    if (m == 1)
        mul_add(acc, dyr, wr, c);
    else
        for (i = 0; i < c; i++) {
            float s = 0.0f;
            for (j = 0; j < m; j++)
                s += dyr[i * m + j] * wr[i * m + j];
            acc[i] += s;
        }
}

/* The two depthwise backward kernels: one walk over (sample, output pixel,
 * valid tap), accumulating into dx (DW_DATA) or dw (DW_FILTER).  With the
 * SIMD kernels, the filter of a 3x3 multiplier-1 kernel does the interior
 * of each row whose three kernel rows are all inside the input with
 * depthwise_filter_row3 (about 3x faster), and only the rest here. */
enum { DW_DATA, DW_FILTER };

static inline ALWAYS_INLINE void depthwise_backward(const nnc_rt_conv2d *p, int kind, float *out,
                                                    const float *dy, const float *other, int n)
{
    const int c = p->c, oc = p->oc, m = oc / c;
    const long xs = (long)p->h * p->w * c, ys = (long)p->oh * p->ow * oc;
    int s, oy, ox, ky, kx, ox_lo = 0, ox_hi = 0;
#if DEPTHWISE_SIMD
    if (kind == DW_FILTER && m == 1 && p->kh == 3 && p->kw == 3) { /* as in depthwise_simd */
        const int last = p->w - 1 - 2 * p->dw + p->pl;
        ox_lo = imin((p->pl + p->sw - 1) / p->sw, p->ow);
        ox_hi = last < 0 ? ox_lo : imax(ox_lo, imin(last / p->sw + 1, p->ow));
    }
#endif
    for (s = 0; s < n; s++)
        for (oy = 0; oy < p->oh; oy++) {
            int iy0 = oy * p->sh - p->pt, ky_lo, ky_hi, skip = 0;
            valid_ky(p, iy0, &ky_lo, &ky_hi);
#if DEPTHWISE_SIMD
            if (ox_lo < ox_hi && ky_lo == 0 && ky_hi == 3) { /* (kind is DW_FILTER) */
                long cell = s * xs + ((long)iy0 * p->w + ox_lo * p->sw - p->pl) * c;
                depthwise_filter_row3(other + cell, ox_hi - ox_lo, (long)p->sw * c,
                                      (long)p->dh * p->w * c, (long)p->dw * c,
                                      dy + s * ys + ((long)oy * p->ow + ox_lo) * oc, c, out);
                skip = 1;
            }
#endif
            for (ox = 0; ox < p->ow; ox++) {
                long q;
                int ix0, lo, hi;
                if (skip && ox == ox_lo) /* done above */
                    ox = ox_hi;
                if (ox >= p->ow)
                    break;
                q = s * ys + ((long)oy * p->ow + ox) * oc; /* (s, oy, ox) in y */
                ix0 = ox * p->sw - p->pl;
                valid_kx(p, ix0, &lo, &hi);
                for (ky = ky_lo; ky < ky_hi; ky++)
                    for (kx = lo; kx < hi; kx++) {
                        long cell = s * xs + ((long)(iy0 + ky * p->dh) * p->w + ix0 + kx * p->dw) * c;
                        long tap = ((long)ky * p->kw + kx) * oc;
                        if (kind == DW_DATA) /* out = dx, other = w */
                            dw_dot(out + cell, dy + q, other + tap, c, m);
                        else                 /* out = dw, other = x */
                            dw_tap(out + tap, other + cell, dy + q, c, m);
                    }
            }
        }
}

NNC_RT_CONV2D_FORWARD_KERNEL(CONV_DEPTHWISE)
{
    (void)scratch;
    if (!is_depthwise(p))
        return 0;
    if (n > 0)
        depthwise_forward(p, y, x, w, b, n, act);
    return 1;
}

NNC_RT_CONV2D_DATA_KERNEL(CONV_DEPTHWISE_DATA)
{
    (void)scratch;
    if (!is_depthwise(p))
        return 0;
    if (n <= 0)
        return 1;
#if DEPTHWISE_SIMD
    {
        /* stride 1, multiplier 1: dx[iy, ix] = sum_{ky,kx} dy[iy + pt - ky*dh, ix + pl - kx*dw]
         * w[ky, kx], the depthwise forward of dy with the kernel flipped (tap (ky, kx) of
         * the flipped one is w[kh-1-ky, kw-1-kx]) and padding (kh-1)*dh - pt before the
         * rows: the gather, where the walk below scatters into dx from every output */
        const nnc_rt_conv2d q = {p->oh, p->ow, p->c, p->h, p->w, p->c, p->kh, p->kw, 1, 1,
                                 p->dh, p->dw, (p->kh - 1) * p->dh - p->pt,
                                 (p->kw - 1) * p->dw - p->pl, p->groups};
        if (p->oc == p->c && p->sh == 1 && p->sw == 1 && q.pt >= 0 && q.pl >= 0) {
            depthwise_simd(&q, dx, dy, w + ((long)(p->kh - 1) * p->kw + p->kw - 1) * p->c,
                           -(long)p->kw * p->c, -(long)p->c, NULL, n, NNC_RT_ACT_LINEAR);
            return 1;
        }
    }
#endif
    zero_floats(dx, n * (long)p->h * p->w * p->c);
    depthwise_backward(p, DW_DATA, dx, dy, w, n);
    return 1;
}

NNC_RT_CONV2D_FILTER_KERNEL(CONV_DEPTHWISE_FILTER)
{
    (void)scratch;
    if (!is_depthwise(p))
        return 0;
    zero_floats(dw, (long)p->kh * p->kw * p->oc);
    if (n > 0)
        depthwise_backward(p, DW_FILTER, dw, dy, x, n);
    return 1;
}
