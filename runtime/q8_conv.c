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

/* any groups (depthwise among them): the reference's loop in int32 */
NNC_RT_Q8_CONV2D_KERNEL(nnc_rt_q8_conv2d_direct__c) {
    (void)scratch;
    q8_epi e = q8_epi_of(o, p->oc);
    if (!conv_ok(p, x_zp, &e)) return 0;
    int cg = p->c / p->groups, og = p->oc / p->groups;
    for (int i = 0; i < n; i++)
        for (int oy = 0; oy < p->oh; oy++)
            for (int ox = 0; ox < p->ow; ox++) {
                int8_t *yp = y + (((long)i * p->oh + oy) * p->ow + ox) * p->oc;
                for (int oc = 0; oc < p->oc; oc++) {
                    int g = oc / og;
                    int32_t acc = 0;
                    for (int ky = 0; ky < p->kh; ky++) {
                        int iy = oy * p->sh + ky * p->dh - p->pt;
                        if (iy < 0 || iy >= p->h) continue;
                        for (int kx = 0; kx < p->kw; kx++) {
                            int ix = ox * p->sw + kx * p->dw - p->pl;
                            if (ix < 0 || ix >= p->w) continue;
                            const int8_t *restrict xs =
                                x + (((long)i * p->h + iy) * p->w + ix) * p->c + (long)g * cg;
                            const int8_t *restrict ws = w + (((long)oc * p->kh + ky) * p->kw + kx) * cg;
                            for (int ci = 0; ci < cg; ci++) acc += (xs[ci] - x_zp) * ws[ci];
                        }
                    }
                    yp[oc] = q8_epi_out(&e, q8_sat_add(bias ? bias[oc] : 0, acc), oc);
                }
            }
    return 1;
}
