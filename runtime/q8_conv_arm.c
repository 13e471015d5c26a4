/* q8_conv_arm.c — int8 conv2d on the Cortex-M4/M7 DSP extension
 * (nnc_rt_q8_kernels.h).  Two output pixels' columns, x - x_zp widened to
 * int16 once, are stored with each group of 4 taps reordered (t0, t2, t1,
 * t3): the halves SXTB16 gives of a word of weights (w0, w2) and, rotated,
 * (w1, w3), so one SMLAD takes two products with no shuffling of x.  Each
 * pair of output channels' weight words is split once for both pixels.
 */
#include "nnc_rt_q8_kernels.h"

#if defined(__ARM_FEATURE_DSP)
/* the firmware is built with -Os; these loops are where its time goes */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2")
#endif
#include <arm_acle.h>
#include <string.h>

#include "q8_internal.h"

static inline int32_t ld32(const void *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}
static inline int32_t ror8(int32_t v) { return (int32_t)(((uint32_t)v >> 8) | ((uint32_t)v << 24)); }

/* pixel q's column x - x_zp as int16: a row of taps wholly inside the input
 * (dilation 1) is one contiguous run */
static void im2col_s16(const nnc_rt_conv2d *p, int16_t *out, const int8_t *xs, int32_t x_zp, int q) {
    int oy = q / p->ow, ox = q - oy * p->ow, c = p->c, run = p->kw * c;
    int ix0 = ox * p->sw - p->pl, inside = p->dw == 1 && ix0 >= 0 && ix0 + p->kw <= p->w;
    for (int ky = 0; ky < p->kh; ky++) {
        int iy = oy * p->sh + ky * p->dh - p->pt;
        if (iy < 0 || iy >= p->h) {
            for (int t = 0; t < run; t++) *out++ = 0;
        } else if (inside) {
            const int8_t *src = xs + ((long)iy * p->w + ix0) * c;
            for (int t = 0; t < run; t++) *out++ = (int16_t)(src[t] - x_zp);
        } else {
            for (int kx = 0; kx < p->kw; kx++) {
                int ix = ix0 + kx * p->dw;
                if (ix < 0 || ix >= p->w) {
                    for (int ci = 0; ci < c; ci++) *out++ = 0;
                } else {
                    const int8_t *src = xs + ((long)iy * p->w + ix) * c;
                    for (int ci = 0; ci < c; ci++) *out++ = (int16_t)(src[ci] - x_zp);
                }
            }
        }
    }
}

/* PIX pixels' columns in the scratch, interleaved by groups of 4 taps: for
 * each group g, pixel 0's taps (t0, t2, t1, t3) as two words, then pixel
 * 1's, ...; then the K % 4 last taps of each pixel (4 slots a pixel) */
#define PIX 4
static void columns(const nnc_rt_conv2d *p, int16_t *sc, int16_t *tmp, const int8_t *xs, int32_t x_zp,
                    int q, int np, int K) {
    int nq = K / 4, kr = K - nq * 4;
    for (int u = 0; u < PIX; u++) {
        if (u < np) im2col_s16(p, tmp, xs, x_zp, q + u);
        else for (int t = 0; t < K; t++) tmp[t] = 0;
        int16_t *d = sc + 4 * u;
        for (int g = 0; g < nq; g++, d += 4 * PIX) {
            const int16_t *t4 = tmp + 4 * g;
            d[0] = t4[0]; d[1] = t4[2]; d[2] = t4[1]; d[3] = t4[3];
        }
        for (int t = 0; t < kr; t++) d[t] = tmp[4 * nq + t];
    }
}

/* rescale with r = -shift's constants hoisted: as q8_rescale_dsp */
Q8_INLINE int32_t rescale_h(int32_t acc, int32_t mult, int r, int32_t half) {
    uint32_t lo = 0x40000000u;
    int32_t hi = 0;
    __asm__("smlal %0, %1, %2, %3" : "+r"(lo), "+r"(hi) : "r"(acc), "r"(mult));
    if (r == 0) return (int32_t)((lo >> 31) | ((uint32_t)hi << 1));
    int32_t d = half + (hi >> 31);
    __asm__("adds %0, %0, %2, lsl #31\n\tadc %1, %1, %2, lsr #1" : "+r"(lo), "+r"(hi) : "r"(d) : "cc");
    return hi >> (r - 1);
}

NNC_RT_Q8_CONV2D_KERNEL(nnc_rt_q8_conv2d_im2col_4x1__dsp) {
    long taps = (long)p->kh * p->kw * p->c;
    q8_epi e = q8_epi_of(o, p->oc);
    if (p->groups != 1 || taps > NNC_RT_Q8_KMAX || x_zp < -128 || x_zp > 127 || !e.ok || !e.fast)
        return 0;
    int K = (int)taps, nq = K / 4, kr = K - 4 * nq, oc = p->oc, npix = p->oh * p->ow;
    /* the scratch: PIX columns (PIX (K + 3) int16), then one column unordered */
    int16_t *sc = (int16_t *)scratch, *tmp = sc + PIX * (nq + 1) * 4;
    const int16_t *tail = sc + PIX * 4 * nq;
    for (int i = 0; i < n; i++) {
        const int8_t *xs = x + (long)i * p->h * p->w * p->c;
        int8_t *ys = y + (long)i * npix * oc;
        for (int q = 0; q < npix; q += PIX) {
            int np = npix - q < PIX ? npix - q : PIX;
            columns(p, sc, tmp, xs, x_zp, q, np, K);
            int8_t *yq = ys + (long)q * oc;
            const int8_t *wj = w;
            for (int j = 0; j < oc; j++, wj += K) {
                int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, v, s, p02, p13;
                const int16_t *cp = sc;
                const int8_t *wp = wj;
                int cnt = nq;
                if (cnt)
                    __asm__ volatile(
                        "1:\n\t"
                        "ldr    %[v], [%[wp]], #4\n\t"
                        "sxtb16 %[s], %[v]\n\t"
                        "sxtb16 %[v], %[v], ror #8\n\t"
                        "ldrd   %[p02], %[p13], [%[cp]], #8\n\t"
                        "smlad  %[a0], %[p02], %[s], %[a0]\n\t"
                        "smlad  %[a0], %[p13], %[v], %[a0]\n\t"
                        "ldrd   %[p02], %[p13], [%[cp]], #8\n\t"
                        "smlad  %[a1], %[p02], %[s], %[a1]\n\t"
                        "smlad  %[a1], %[p13], %[v], %[a1]\n\t"
                        "ldrd   %[p02], %[p13], [%[cp]], #8\n\t"
                        "smlad  %[a2], %[p02], %[s], %[a2]\n\t"
                        "smlad  %[a2], %[p13], %[v], %[a2]\n\t"
                        "ldrd   %[p02], %[p13], [%[cp]], #8\n\t"
                        "smlad  %[a3], %[p02], %[s], %[a3]\n\t"
                        "smlad  %[a3], %[p13], %[v], %[a3]\n\t"
                        "subs   %[cnt], %[cnt], #1\n\t"
                        "bne    1b\n\t"
                        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [wp] "+r"(wp),
                          [cp] "+r"(cp), [cnt] "+r"(cnt), [v] "=&r"(v), [s] "=&r"(s), [p02] "=&r"(p02),
                          [p13] "=&r"(p13)
                        :
                        : "cc", "memory");
                for (int t = 0; t < kr; t++) {
                    int32_t wt = wp[t];
                    a0 += tail[t] * wt; a1 += tail[4 + t] * wt;
                    a2 += tail[8 + t] * wt; a3 += tail[12 + t] * wt;
                }
                int c = j & e.pcmask, r = -e.shift[c];
                int32_t mult = e.mult[c], half = r ? 1 << (r - 1) : 0, b = bias ? bias[j] : 0;
                int32_t lo = e.lo, hi = e.hi, zp = e.zp;
                int32_t acc[PIX];
                acc[0] = a0; acc[1] = a1; acc[2] = a2; acc[3] = a3;
                for (int u = 0; u < np; u++) {
                    int32_t vv = __qadd(zp, rescale_h(__qadd(b, acc[u]), mult, r, half));
                    vv = vv < lo ? lo : vv;
                    vv = vv > hi ? hi : vv;
                    yq[(long)u * oc + j] = (int8_t)vv;
                }
            }
        }
    }
    return 1;
}

#else
typedef int nnc_rt_q8_conv_arm_empty; /* ISO C: a translation unit is not empty */
#endif
