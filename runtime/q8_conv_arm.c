/* q8_conv_arm.c — int8 conv2d on the Cortex-M4/M7 DSP extension
 * (nnc_rt_q8_kernels.h).  Two output pixels' columns, x - x_zp widened to
 * int16 once, are stored with each group of 4 taps reordered (t0, t2, t1,
 * t3): the halves SXTB16 gives of a word of weights (w0, w2) and, rotated,
 * (w1, w3), so one SMLAD takes two products with no shuffling of x.  Each
 * pair of output channels' weight words is split once for both pixels.
 */
#include "nnc_rt_q8_kernels.h"

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>
#include <string.h>

#include "q8_internal.h"

static inline int32_t ld32(const void *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}
static inline int32_t ror8(int32_t v) { return (int32_t)(((uint32_t)v >> 8) | ((uint32_t)v << 24)); }

/* pixel q's column, reordered by groups of 4 taps, the K % 4 last in order */
static void im2col_dsp(const nnc_rt_conv2d *p, int16_t *col, const int8_t *xs, int32_t x_zp, int q) {
    int oy = q / p->ow, ox = q % p->ow, c = p->c, at = 0;
    for (int ky = 0; ky < p->kh; ky++) {
        int iy = oy * p->sh + ky * p->dh - p->pt;
        for (int kx = 0; kx < p->kw; kx++) {
            int ix = ox * p->sw + kx * p->dw - p->pl;
            if (iy < 0 || iy >= p->h || ix < 0 || ix >= p->w) {
                for (int ci = 0; ci < c; ci++) col[at++] = 0;
            } else {
                const int8_t *src = xs + ((long)iy * p->w + ix) * c;
                for (int ci = 0; ci < c; ci++) col[at++] = (int16_t)(src[ci] - x_zp);
            }
        }
    }
    for (int t = 0; t + 4 <= at; t += 4) {
        int16_t v1 = col[t + 1];
        col[t + 1] = col[t + 2];
        col[t + 2] = v1;
    }
}

static inline int8_t out_dsp(int32_t acc, const int32_t *bias, int j, const nnc_rt_q8_out *o) {
    return q8_out1(bias ? __qadd(bias[j], acc) : acc, j, o);
}

NNC_RT_Q8_CONV2D_KERNEL(nnc_rt_q8_conv2d_im2col_2x2__dsp) {
    long taps = (long)p->kh * p->kw * p->c;
    if (p->groups != 1 || taps > NNC_RT_Q8_KMAX || x_zp < -128 || x_zp > 127 || !q8_out_ok(o, p->oc))
        return 0;
    int K = (int)taps, Kp = (K + 3) / 4 * 4, Kq = K / 4 * 4, oc = p->oc, npix = p->oh * p->ow;
    int16_t *c0 = (int16_t *)scratch, *c1 = c0 + Kp;
    for (int i = 0; i < n; i++) {
        const int8_t *xs = x + (long)i * p->h * p->w * p->c;
        int8_t *ys = y + (long)i * npix * oc;
        for (int q = 0; q < npix; q += 2) {
            int two = q + 1 < npix;
            im2col_dsp(p, c0, xs, x_zp, q);
            if (two) im2col_dsp(p, c1, xs, x_zp, q + 1);
            else memcpy(c1, c0, (size_t)K * sizeof *c1);
            int8_t *y0 = ys + (long)q * oc, *y1 = y0 + oc;
            int j = 0;
            for (; j + 2 <= oc; j += 2) {
                const int8_t *w0 = w + (long)j * K, *w1 = w0 + K;
                int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
                for (int t = 0; t < Kq; t += 4) {
                    int32_t va = ld32(w0 + t), vb = ld32(w1 + t);
                    int32_t wa02 = __sxtb16(va), wa13 = __sxtb16(ror8(va));
                    int32_t wb02 = __sxtb16(vb), wb13 = __sxtb16(ror8(vb));
                    int32_t p02 = ld32(c0 + t), p13 = ld32(c0 + t + 2);
                    a00 = __smlad(p02, wa02, a00); a00 = __smlad(p13, wa13, a00);
                    a01 = __smlad(p02, wb02, a01); a01 = __smlad(p13, wb13, a01);
                    p02 = ld32(c1 + t); p13 = ld32(c1 + t + 2);
                    a10 = __smlad(p02, wa02, a10); a10 = __smlad(p13, wa13, a10);
                    a11 = __smlad(p02, wb02, a11); a11 = __smlad(p13, wb13, a11);
                }
                for (int t = Kq; t < K; t++) {
                    int32_t va = w0[t], vb = w1[t];
                    a00 += c0[t] * va; a01 += c0[t] * vb;
                    a10 += c1[t] * va; a11 += c1[t] * vb;
                }
                y0[j] = out_dsp(a00, bias, j, o);
                y0[j + 1] = out_dsp(a01, bias, j + 1, o);
                if (two) {
                    y1[j] = out_dsp(a10, bias, j, o);
                    y1[j + 1] = out_dsp(a11, bias, j + 1, o);
                }
            }
            if (j < oc) {
                const int8_t *w0 = w + (long)j * K;
                int32_t a0 = 0, a1 = 0;
                for (int t = 0; t < Kq; t += 4) {
                    int32_t va = ld32(w0 + t), wa02 = __sxtb16(va), wa13 = __sxtb16(ror8(va));
                    a0 = __smlad(ld32(c0 + t), wa02, a0); a0 = __smlad(ld32(c0 + t + 2), wa13, a0);
                    a1 = __smlad(ld32(c1 + t), wa02, a1); a1 = __smlad(ld32(c1 + t + 2), wa13, a1);
                }
                for (int t = Kq; t < K; t++) { a0 += c0[t] * w0[t]; a1 += c1[t] * w0[t]; }
                y0[j] = out_dsp(a0, bias, j, o);
                if (two) y1[j] = out_dsp(a1, bias, j, o);
            }
        }
    }
    return 1;
}

#else
typedef int nnc_rt_q8_conv_arm_empty; /* ISO C: a translation unit is not empty */
#endif
