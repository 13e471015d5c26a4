/* q8_conv.c — the portable int8 convolutions (nnc_rt_q8_kernels.h).
 *
 * The im2col kernel widens x - x_zp to int16 once per output pixel (a tap
 * in the padding is 0, the real value 0) into the scratch, 4 pixels at a
 * time, and multiplies those columns by the weights 4 output channels per
 * pass: |x - x_zp| <= 255 for x_zp in int8, so sums of up to
 * NNC_RT_Q8_KMAX products of 255 x 128 are exact in int32. */
#include "nnc_rt_q8_kernels.h"
#include "q8_internal.h"

/* pixels whose columns the scratch holds (NNC_RT_Q8_CONV2D_SCRATCH) */
#define PIX 4

static int conv_ok(const nnc_rt_conv2d *p, int32_t x_zp, const q8_epi *e) {
    long taps = (long)p->kh * p->kw * (p->c / p->groups);
    return taps <= NNC_RT_Q8_KMAX && x_zp >= -128 && x_zp <= 127 && e->ok;
}

/* the columns of output pixel q (oy * ow + ox) of sample xs: (kh, kw, c) of x - x_zp */
static void im2col_s16(const nnc_rt_conv2d *p, int16_t *col, const int8_t *xs, int32_t x_zp, int q) {
    int oy = q / p->ow, ox = q % p->ow, c = p->c;
    for (int ky = 0; ky < p->kh; ky++) {
        int iy = oy * p->sh + ky * p->dh - p->pt;
        for (int kx = 0; kx < p->kw; kx++, col += c) {
            int ix = ox * p->sw + kx * p->dw - p->pl;
            if (iy < 0 || iy >= p->h || ix < 0 || ix >= p->w) {
                for (int ci = 0; ci < c; ci++) col[ci] = 0;
            } else {
                const int8_t *src = xs + ((long)iy * p->w + ix) * c;
                for (int ci = 0; ci < c; ci++) col[ci] = (int16_t)(src[ci] - x_zp);
            }
        }
    }
}

NNC_RT_Q8_CONV2D_KERNEL(nnc_rt_q8_conv2d_im2col_4x4__c) {
    q8_epi e = q8_epi_of(o, p->oc);
    if (p->groups != 1 || !conv_ok(p, x_zp, &e)) return 0;
    int K = p->kh * p->kw * p->c, oc = p->oc, npix = p->oh * p->ow;
    int16_t *col = (int16_t *)scratch;
    for (int i = 0; i < n; i++) {
        const int8_t *xs = x + (long)i * p->h * p->w * p->c;
        int8_t *ys = y + (long)i * npix * oc;
        for (int q0 = 0; q0 < npix; q0 += PIX) {
            int np = npix - q0 < PIX ? npix - q0 : PIX;
            for (int u = 0; u < np; u++) im2col_s16(p, col + (long)u * K, xs, x_zp, q0 + u);
            for (int u = np; u < PIX; u++)
                for (int t = 0; t < K; t++) col[(long)u * K + t] = 0;
            const int16_t *restrict c0 = col, *restrict c1 = col + K, *restrict c2 = col + 2 * K,
                                    *restrict c3 = col + 3 * K;
            for (int j = 0; j < oc; j++) {
                const int8_t *restrict wj = w + (long)j * K;
                int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                for (int t = 0; t < K; t++) {
                    int32_t v = wj[t];
                    a0 += c0[t] * v; a1 += c1[t] * v; a2 += c2[t] * v; a3 += c3[t] * v;
                }
                int32_t b = bias ? bias[j] : 0, a[PIX];
                a[0] = a0; a[1] = a1; a[2] = a2; a[3] = a3;
                for (int u = 0; u < np; u++) ys[(long)(q0 + u) * oc + j] = q8_epi_out(&e, q8_sat_add(b, a[u]), j);
            }
        }
    }
    return 1;
}

/* depthwise with one output channel a group (oc == c == groups): 4
 * channels a pass, their sums in registers, over the taps inside the input
 * (found once per pixel); w is (oc, kh, kw, 1), a channel's taps in a row */
static void dw_direct(const nnc_rt_conv2d *p, int8_t *y, const int8_t *x, int32_t x_zp, const int8_t *w,
                      const int32_t *bias, int n, const q8_epi *e) {
    int c = p->c, kk = p->kh * p->kw;
    long rowstep = (long)p->dh * p->w * c, colstep = (long)p->dw * c;
    for (int i = 0; i < n; i++) {
        const int8_t *xs = x + (long)i * p->h * p->w * c;
        for (int oy = 0; oy < p->oh; oy++) {
            int y0 = oy * p->sh - p->pt, ky0 = 0, ky1 = p->kh;
            while (ky0 < ky1 && y0 + ky0 * p->dh < 0) ky0++;
            while (ky1 > ky0 && y0 + (ky1 - 1) * p->dh >= p->h) ky1--;
            for (int ox = 0; ox < p->ow; ox++) {
                int x0 = ox * p->sw - p->pl, kx0 = 0, kx1 = p->kw;
                while (kx0 < kx1 && x0 + kx0 * p->dw < 0) kx0++;
                while (kx1 > kx0 && x0 + (kx1 - 1) * p->dw >= p->w) kx1--;
                int8_t *yp = y + (((long)i * p->oh + oy) * p->ow + ox) * c;
                long base = ((long)y0 * p->w + x0) * c;     /* tap (0, 0) of channel 0: offsets only */
                int ch = 0;
                for (; ch + 4 <= c; ch += 4) {
                    const int8_t *restrict w0 = w + (long)ch * kk;
                    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                    for (int ky = ky0; ky < ky1; ky++)
                        for (int kx = kx0; kx < kx1; kx++) {
                            const int8_t *restrict xt = xs + (base + ky * rowstep + kx * colstep + ch);
                            const int8_t *restrict wt = w0 + ky * p->kw + kx;
                            a0 += (xt[0] - x_zp) * wt[0];
                            a1 += (xt[1] - x_zp) * wt[kk];
                            a2 += (xt[2] - x_zp) * wt[2 * kk];
                            a3 += (xt[3] - x_zp) * wt[3 * kk];
                        }
                    yp[ch] = q8_epi_out(e, q8_sat_add(bias ? bias[ch] : 0, a0), ch);
                    yp[ch + 1] = q8_epi_out(e, q8_sat_add(bias ? bias[ch + 1] : 0, a1), ch + 1);
                    yp[ch + 2] = q8_epi_out(e, q8_sat_add(bias ? bias[ch + 2] : 0, a2), ch + 2);
                    yp[ch + 3] = q8_epi_out(e, q8_sat_add(bias ? bias[ch + 3] : 0, a3), ch + 3);
                }
                for (; ch < c; ch++) {
                    const int8_t *restrict w0 = w + (long)ch * kk;
                    int32_t a0 = 0;
                    for (int ky = ky0; ky < ky1; ky++)
                        for (int kx = kx0; kx < kx1; kx++)
                            a0 += (xs[base + ky * rowstep + kx * colstep + ch] - x_zp) * w0[ky * p->kw + kx];
                    yp[ch] = q8_epi_out(e, q8_sat_add(bias ? bias[ch] : 0, a0), ch);
                }
            }
        }
    }
}

/* any groups (depthwise among them): the reference's sum in int32, the
 * taps inside the input found once per output pixel (no test per tap), a
 * group's channels in order (no division per output channel) */
NNC_RT_Q8_CONV2D_KERNEL(nnc_rt_q8_conv2d_direct__c) {
    (void)scratch;
    q8_epi e = q8_epi_of(o, p->oc);
    if (!conv_ok(p, x_zp, &e)) return 0;
    int cg = p->c / p->groups, og = p->oc / p->groups, c = p->c;
    if (cg == 1 && og == 1) {
        dw_direct(p, y, x, x_zp, w, bias, n, &e);
        return 1;
    }
    long wstep = (long)p->kh * p->kw * cg, rowstep = (long)p->dh * p->w * c, colstep = (long)p->dw * c;
    for (int i = 0; i < n; i++) {
        const int8_t *xs = x + (long)i * p->h * p->w * c;
        for (int oy = 0; oy < p->oh; oy++) {
            int y0 = oy * p->sh - p->pt, ky0 = 0, ky1 = p->kh;
            while (ky0 < ky1 && y0 + ky0 * p->dh < 0) ky0++;
            while (ky1 > ky0 && y0 + (ky1 - 1) * p->dh >= p->h) ky1--;
            for (int ox = 0; ox < p->ow; ox++) {
                int x0 = ox * p->sw - p->pl, kx0 = 0, kx1 = p->kw;
                while (kx0 < kx1 && x0 + kx0 * p->dw < 0) kx0++;
                while (kx1 > kx0 && x0 + (kx1 - 1) * p->dw >= p->w) kx1--;
                int8_t *yp = y + (((long)i * p->oh + oy) * p->ow + ox) * p->oc;
                long base = ((long)y0 * p->w + x0) * c;    /* tap (0, 0) of channel 0: offsets only */
                for (int g = 0, oc = 0; g < p->groups; g++) {
                    for (int j = 0; j < og; j++, oc++) {
                        const int8_t *wo = w + (long)oc * wstep;
                        int32_t acc = 0;
                        for (int ky = ky0; ky < ky1; ky++) {
                            long row = base + ky * rowstep + (long)g * cg;
                            const int8_t *wr = wo + (long)ky * p->kw * cg;
                            if (cg == 1) {      /* depthwise: one tap a step */
                                const int8_t *restrict xt = xs + (row + kx0 * colstep);
                                for (int kx = kx0; kx < kx1; kx++, xt += colstep) acc += (*xt - x_zp) * wr[kx];
                                continue;
                            }
                            for (int kx = kx0; kx < kx1; kx++) {
                                const int8_t *restrict xt = xs + (row + kx * colstep);
                                const int8_t *restrict wt = wr + (long)kx * cg;
                                for (int ci = 0; ci < cg; ci++) acc += (xt[ci] - x_zp) * wt[ci];
                            }
                        }
                        yp[oc] = q8_epi_out(&e, q8_sat_add(bias ? bias[oc] : 0, acc), oc);
                    }
                }
            }
        }
    }
    return 1;
}
