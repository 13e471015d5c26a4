/* q8_conv_arm.c — int8 conv2d on the Cortex-M4/M7 DSP extension
 * (nnc_rt_q8_kernels.h).  Two output pixels' columns, x - x_zp widened to
 * int16 once, are stored with each group of 4 taps reordered (t0, t2, t1,
 * t3): the halves SXTB16 gives of a word of weights (w0, w2) and, rotated,
 * (w1, w3), so one SMLAD takes two products with no shuffling of x.  Each
 * pair of output channels' weight words is split once for both pixels.
 * Depthwise convolutions have their own kernel below: 4 channels' input
 * rows turned into int16 planes, SMLAD over pairs of a channel's taps.
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


/* ---- depthwise (groups == c == oc, dilation 1) -----------------------------------
 * A depthwise output sums kh kw products of one channel, so SMLAD's two
 * halves must hold two taps of the same channel, while NHWC stores the
 * channels of a pixel together.  The input is therefore turned round once:
 * 4 channels at a time, each row of x - x_zp the window needs is widened to
 * int16 into a planar buffer (one row of columns per channel, the padding
 * columns 0), kh rows in a ring, so that a word of a row is two horizontally
 * adjacent taps of one channel.  Converting 2 pixels x 4 channels costs 2
 * LDR, 4 SXTAB16 (sign-extend and subtract x_zp in one), 4 PKH and 4 STR,
 * and each value then serves kh kw / (sh sw) products.
 *
 * A channel's weights, widened once per group, are per row the pairs
 * P_j = (w[2j], w[2j+1]) and the pairs shifted by one, Q_j = (w[2j+1],
 * w[2j+2]) (w[kw] = 0).  With stride 1 two neighbouring outputs share
 * their words X(ox + 2j) = (x[ox+2j], x[ox+2j+1]):
 *     out(ox)   = sum_j X(ox + 2j) . P_j
 *     out(ox+1) = x[ox+1] w[0] + sum_j X(ox + 2 + 2j) . Q_j
 * (the first term SMLATB, the last P of an odd kw, (w[kw-1], 0), the top
 * half of the last Q: SMLABT), so a 3x3 row costs 2 LDR and 4 MACs for 6
 * products.  The 3x3 rows (strides 1 and 2) are assembly: each channel of
 * the group sweeps the output row with its six weight words in registers
 * (21 instructions for 2 outputs at stride 1, 24 at stride 2), its sums
 * into the scratch, then the output step over them, the exact rescale
 * (SMLAL onto b mult + 2^30, the bias folded in, and a 64-bit add, as
 * rescale_h), the zero point and SSAT: 11 instructions an output.  Other
 * shapes, and channels whose constants the assembly does not take (a
 * clamp narrower than int8, a positive shift, a bias near the int32 limits),
 * take the same products in C and the general output step.
 *
 * Counted on qemu's mps2-an386 (tests/q8_m4_bench.sh): 5.6 instructions a
 * MAC over the DS-CNN's four 25x5x64 layers, 4.7 over MobileNet's thirteen
 * (3.2 on its 48x48x8 layer), against 17.6 and 18.4 for the portable loop;
 * a depthwise output has only 9 MACs, so the output step and each row's
 * setup weigh as much as the products on narrow rows.
 */
#define DWG 4       /* channels a pass over the rows */
#define DW_KHMAX 16 /* the tallest kernel taken (its rows' pointers on the stack) */

/* x - x_zp of 4 channels, as two words of int16 halves */
Q8_INLINE int32_t sxtab16_ror8(int32_t a, int32_t b) {
    int32_t d;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(d) : "r"(a), "r"(b));
    return d;
}
Q8_INLINE void st32(void *p, int32_t v) { memcpy(p, &v, 4); }
/* (lo of a, lo of b) and (hi of a, hi of b) */
Q8_INLINE int32_t pk_lo(int32_t a, int32_t b) { return (int32_t)(((uint32_t)a & 0xFFFFu) | ((uint32_t)b << 16)); }
Q8_INLINE int32_t pk_hi(int32_t a, int32_t b) { return (int32_t)(((uint32_t)a >> 16) | ((uint32_t)b & 0xFFFF0000u)); }

/* one channel's output constants; fast: the 3x3 assembly's output step
 * applies (shift in [-31, -1], mult not INT32_MIN, a bias that cannot
 * overflow the sums, the clamp [-128, 127]): klo, khi the 64-bit start
 * b mult + 2^30 of SMLAL ((acc + b) mult + 2^30 = acc mult + b mult + 2^30,
 * the bias folded in), half = 2^(r-1), r1 = r - 1 for r = -shift */
typedef struct dw_chan {
    uint32_t klo;
    int32_t khi, mult, half, r1, zp, b;
    int fast;
} dw_chan;

/* one channel, one output row, any kernel: rows[ky] its planar rows
 * (column 0 = the first padding column), wk its (P, Q) words by row, y its
 * output at ox = 0 (then every c bytes); the general output step */
static void dw_sweep(int8_t *y, int c, int ow, const int16_t *const *rows, const int32_t *wk, int32_t b,
                     const q8_epi *e, int ch, int kh, int kw, int s) {
    const int np = (kw + 1) / 2, nq = kw / 2;
    int ox = 0;
    if (s == 1)
        for (; ox + 2 <= ow; ox += 2, y += 2 * c) {
            int32_t a0 = 0, a1 = 0;
            for (int ky = 0; ky < kh; ky++) {
                const int16_t *rp = rows[ky] + ox;
                const int32_t *w = wk + ky * kw;
                int32_t x0 = ld32(rp);
                a0 = __smlad(x0, w[0], a0);
                a1 = __smlatb(x0, w[0], a1);
                for (int j = 1; j <= nq; j++) {
                    int32_t xj = ld32(rp + 2 * j);
                    if (j < np) a0 = (kw & 1) && j == np - 1 ? __smlabt(xj, w[np + nq - 1], a0) : __smlad(xj, w[j], a0);
                    a1 = __smlad(xj, w[np + j - 1], a1);
                }
            }
            y[0] = q8_epi_out(e, __qadd(b, a0), ch);
            y[c] = q8_epi_out(e, __qadd(b, a1), ch);
        }
    for (; ox < ow; ox++, y += c) {
        int32_t a0 = 0;
        for (int ky = 0; ky < kh; ky++) {
            const int16_t *rp = rows[ky] + ox * s;
            const int32_t *w = wk + ky * kw;
            for (int j = 0; j < np; j++)
                a0 = (kw & 1) && kw > 1 && j == np - 1 ? __smlabt(ld32(rp + 2 * j), w[np + nq - 1], a0)
                                                       : __smlad(ld32(rp + 2 * j), w[j], a0);
        }
        y[0] = q8_epi_out(e, __qadd(b, a0), ch);
    }
}

/* the cg channels of a group, one output row, any kernel: rows[] channel
 * 0's planar rows (channel u's are cols further), y channel 0's output */
__attribute__((noinline)) static void dw_row_any(int8_t *y, int c, int ow, const int16_t *const *rows0, long cols,
                                                 const int32_t *wq, const dw_chan *ks, int cg, const q8_epi *e,
                                                 int g0, int kh, int kw, int s) {
    const int16_t *rows[DW_KHMAX];
    for (int ky = 0; ky < kh; ky++) rows[ky] = rows0[ky];
    for (int u = 0; u < cg; u++) {
        dw_sweep(y + u, c, ow, rows, wq + u * kh * kw, ks[u].b, e, g0 + u, kh, kw, s);
        for (int ky = 0; ky < kh; ky++) rows[ky] += cols;
    }
}

#if defined(__GNUC__) && defined(__thumb2__)
/* The 3x3 products of one channel over a row as assembly (gcc's allocation
 * of the C above reloads weights and pointers inside the step): the sums of
 * output pixels 0 .. 2 npair - 1 into acc, starting at 0 (the bias is
 * folded into the output step).  Registers: the three rows' pointers, the
 * six weight words (P_0, Q_0 of each row), two sums, one word of x, the
 * sums' pointer and the count: 14, all there are but sp and pc.
 *   stride 1, per row: X(ox) . P_0 -> out 0, top(X(ox)) w0 -> out 1,
 *     bottom(X(ox+2)) w2 -> out 0, X(ox+2) . Q_0 -> out 1: 2 LDR, 4 MACs;
 *   stride 2, per row: X(2ox) . P_0 -> out 0, bottom(X(2ox+2)) w2 -> out 0,
 *     X(2ox+2) . P_0 -> out 1, bottom(X(2ox+4)) w2 -> out 1: 3 LDR, 4 MACs.
 * An odd row's last step computes one output too many from the columns
 * beyond (in the planes, NNC_RT_Q8_DW_COLS) into acc[ow], not stored. */
__attribute__((noinline)) static void dw3_s1_sums(int32_t *acc, int npair, const int16_t *r0, const int16_t *r1, const int16_t *r2,
                        const int32_t *wk) {
    int32_t w0a = wk[0], w0b = wk[2], w1a = wk[3], w1b = wk[5], w2a = wk[6], w2b = wk[8], x, a0, a1;
    __asm__ volatile(
        "1:\n\t"
        "ldr    %[x], [%[p0]], #4\n\t"
        "smuad  %[a0], %[x], %[w0a]\n\t"
        "smultb %[a1], %[x], %[w0a]\n\t"
        "ldr    %[x], [%[p0]]\n\t"
        "smlabt %[a0], %[x], %[w0b], %[a0]\n\t"
        "smlad  %[a1], %[x], %[w0b], %[a1]\n\t"
        "ldr    %[x], [%[p1]], #4\n\t"
        "smlad  %[a0], %[x], %[w1a], %[a0]\n\t"
        "smlatb %[a1], %[x], %[w1a], %[a1]\n\t"
        "ldr    %[x], [%[p1]]\n\t"
        "smlabt %[a0], %[x], %[w1b], %[a0]\n\t"
        "smlad  %[a1], %[x], %[w1b], %[a1]\n\t"
        "ldr    %[x], [%[p2]], #4\n\t"
        "smlad  %[a0], %[x], %[w2a], %[a0]\n\t"
        "smlatb %[a1], %[x], %[w2a], %[a1]\n\t"
        "ldr    %[x], [%[p2]]\n\t"
        "smlabt %[a0], %[x], %[w2b], %[a0]\n\t"
        "smlad  %[a1], %[x], %[w2b], %[a1]\n\t"
        "strd   %[a0], %[a1], [%[acc]], #8\n\t"
        "subs   %[n], %[n], #1\n\t"
        "bne    1b\n\t"
        : [p0] "+r"(r0), [p1] "+r"(r1), [p2] "+r"(r2), [acc] "+r"(acc), [n] "+r"(npair), [x] "=&r"(x),
          [a0] "=&r"(a0), [a1] "=&r"(a1)
        : [w0a] "r"(w0a), [w0b] "r"(w0b), [w1a] "r"(w1a), [w1b] "r"(w1b), [w2a] "r"(w2a), [w2b] "r"(w2b)
        : "cc", "memory");
}
__attribute__((noinline)) static void dw3_s2_sums(int32_t *acc, int npair, const int16_t *r0, const int16_t *r1, const int16_t *r2,
                        const int32_t *wk) {
    int32_t w0a = wk[0], w0b = wk[2], w1a = wk[3], w1b = wk[5], w2a = wk[6], w2b = wk[8], x, a0, a1;
    __asm__ volatile(
        "1:\n\t"
        "ldr    %[x], [%[p0]], #4\n\t"
        "smuad  %[a0], %[x], %[w0a]\n\t"
        "ldr    %[x], [%[p0]], #4\n\t"
        "smlabt %[a0], %[x], %[w0b], %[a0]\n\t"
        "smuad  %[a1], %[x], %[w0a]\n\t"
        "ldr    %[x], [%[p0]]\n\t"
        "smlabt %[a1], %[x], %[w0b], %[a1]\n\t"
        "ldr    %[x], [%[p1]], #4\n\t"
        "smlad  %[a0], %[x], %[w1a], %[a0]\n\t"
        "ldr    %[x], [%[p1]], #4\n\t"
        "smlabt %[a0], %[x], %[w1b], %[a0]\n\t"
        "smlad  %[a1], %[x], %[w1a], %[a1]\n\t"
        "ldr    %[x], [%[p1]]\n\t"
        "smlabt %[a1], %[x], %[w1b], %[a1]\n\t"
        "ldr    %[x], [%[p2]], #4\n\t"
        "smlad  %[a0], %[x], %[w2a], %[a0]\n\t"
        "ldr    %[x], [%[p2]], #4\n\t"
        "smlabt %[a0], %[x], %[w2b], %[a0]\n\t"
        "smlad  %[a1], %[x], %[w2a], %[a1]\n\t"
        "ldr    %[x], [%[p2]]\n\t"
        "smlabt %[a1], %[x], %[w2b], %[a1]\n\t"
        "strd   %[a0], %[a1], [%[acc]], #8\n\t"
        "subs   %[n], %[n], #1\n\t"
        "bne    1b\n\t"
        : [p0] "+r"(r0), [p1] "+r"(r1), [p2] "+r"(r2), [acc] "+r"(acc), [n] "+r"(npair), [x] "=&r"(x),
          [a0] "=&r"(a0), [a1] "=&r"(a1)
        : [w0a] "r"(w0a), [w0b] "r"(w0b), [w1a] "r"(w1a), [w1b] "r"(w1b), [w2a] "r"(w2a), [w2b] "r"(w2b)
        : "cc", "memory");
}

/* the output step of a row of sums: two outputs a step, 11 instructions
 * each and the loop's 3; then an odd row's last */
static void dw3_out(int8_t *y, int c, int ow, const int32_t *ap, const dw_chan *k) {
    const uint32_t klo = k->klo;
    const int32_t khi = k->khi, mult = k->mult, half = k->half, zp = k->zp, r1 = k->r1;
    int n2 = ow / 2;
    if (n2) {
        int32_t l, h, a;
        __asm__ volatile(
            "1:\n\t"
            "ldr    %[a], [%[ap]], #4\n\t"
            "mov    %[l], %[klo]\n\t"
            "mov    %[h], %[khi]\n\t"
            "smlal  %[l], %[h], %[a], %[mult]\n\t"
            "add    %[a], %[half], %[h], asr #31\n\t"
            "adds   %[l], %[l], %[a], lsl #31\n\t"
            "adc    %[h], %[h], %[a], lsr #1\n\t"
            "asr    %[h], %[h], %[r1]\n\t"
            "qadd   %[h], %[zp], %[h]\n\t"
            "ssat   %[h], #8, %[h]\n\t"
            "strb   %[h], [%[yp]]\n\t"
            "ldr    %[a], [%[ap]], #4\n\t"
            "mov    %[l], %[klo]\n\t"
            "mov    %[h], %[khi]\n\t"
            "smlal  %[l], %[h], %[a], %[mult]\n\t"
            "add    %[a], %[half], %[h], asr #31\n\t"
            "adds   %[l], %[l], %[a], lsl #31\n\t"
            "adc    %[h], %[h], %[a], lsr #1\n\t"
            "asr    %[h], %[h], %[r1]\n\t"
            "qadd   %[h], %[zp], %[h]\n\t"
            "ssat   %[h], #8, %[h]\n\t"
            "strb   %[h], [%[yp], %[c]]\n\t"
            "add    %[yp], %[yp], %[c], lsl #1\n\t"
            "subs   %[n], %[n], #1\n\t"
            "bne    1b\n\t"
            : [ap] "+r"(ap), [yp] "+r"(y), [n] "+r"(n2), [l] "=&r"(l), [h] "=&r"(h), [a] "=&r"(a)
            : [klo] "r"(klo), [khi] "r"(khi), [mult] "r"(mult), [half] "r"(half), [r1] "r"(r1), [zp] "r"(zp),
              [c] "r"(c)
            : "cc", "memory");
    }
    if (ow & 1) {
        uint32_t l = klo;
        int32_t h = khi;
        __asm__("smlal %0, %1, %2, %3" : "+r"(l), "+r"(h) : "r"(*ap), "r"(mult));
        int32_t d = half + (h >> 31);
        __asm__("adds %0, %0, %2, lsl #31\n\tadc %1, %1, %2, lsr #1" : "+r"(l), "+r"(h) : "r"(d) : "cc");
        *y = (int8_t)__ssat(__qadd(zp, h >> r1), 8);
    }
}

/* the cg channels of a group, one output row, 3x3 with stride s (1 or 2),
 * every channel fast */
__attribute__((noinline)) static void dw_row_3x3(int8_t *y, int c, int ow, const int16_t *r0, const int16_t *r1,
                                                 const int16_t *r2, long cols, const int32_t *wq, const dw_chan *ks,
                                                 int cg, int32_t *acc, int s) {
    int npair = (ow + 1) / 2;
    for (int u = 0; u < cg; u++, r0 += cols, r1 += cols, r2 += cols, wq += 9, y++) {
        if (s == 1) dw3_s1_sums(acc, npair, r0, r1, r2, wq);
        else dw3_s2_sums(acc, npair, r0, r1, r2, wq);
        dw3_out(y, c, ow, acc, &ks[u]);
    }
}
#define DW3_ASM 1
#endif

/* padded row R of sample xs, channels g0 .. g0 + cg - 1, into ring slot sl
 * (DWG planar rows of cols int16); a row in the padding is zeros */
static void dw_load_row(const nnc_rt_conv2d *p, int16_t *sl, int cols, const int8_t *xs, int32_t x_zp, int R,
                        int g0, int cg) {
    int iy = R - p->pt, w = p->w, c = p->c;
    if (iy < 0 || iy >= p->h) {
        for (int u = 0; u < cg; u++)
            for (int ix = 0; ix < w; ix++) sl[u * cols + p->pl + ix] = 0;
        return;
    }
    const int8_t *src = xs + (long)iy * w * c + g0;
    int16_t *d0 = sl + p->pl;
    if (cg < DWG) {
        for (int u = 0; u < cg; u++)
            for (int ix = 0; ix < w; ix++) d0[u * cols + ix] = (int16_t)(src[(long)ix * c + u] - x_zp);
        return;
    }
    int16_t *d1 = d0 + cols, *d2 = d1 + cols, *d3 = d2 + cols;
    int32_t nz = (int32_t)(((uint32_t)(-x_zp) & 0xFFFFu) * 0x10001u);
    int ix = 0;
    for (; ix + 2 <= w; ix += 2, src += 2 * c) {
        int32_t a = ld32(src), b = ld32(src + c);
        int32_t a02 = __sxtab16(nz, a), a13 = sxtab16_ror8(nz, a);
        int32_t b02 = __sxtab16(nz, b), b13 = sxtab16_ror8(nz, b);
        st32(d0 + ix, pk_lo(a02, b02));
        st32(d1 + ix, pk_lo(a13, b13));
        st32(d2 + ix, pk_hi(a02, b02));
        st32(d3 + ix, pk_hi(a13, b13));
    }
    if (ix < w) {
        int32_t a = ld32(src);
        int32_t a02 = __sxtab16(nz, a), a13 = sxtab16_ror8(nz, a);
        d0[ix] = (int16_t)a02; d1[ix] = (int16_t)a13;
        d2[ix] = (int16_t)(a02 >> 16); d3[ix] = (int16_t)(a13 >> 16);
    }
}

NNC_RT_Q8_CONV2D_KERNEL(nnc_rt_q8_conv2d_dw_2x1__dsp) {
    q8_epi e = q8_epi_of(o, p->oc);
    int c = p->c, kh = p->kh, kw = p->kw, taps = kh * kw;
    if (p->groups != c || p->oc != c || kh > DW_KHMAX || p->dh != 1 || p->dw != 1 || taps > NNC_RT_Q8_KMAX || x_zp < -128 ||
        x_zp > 127 || !e.ok || p->ow < 1)      /* (the assembly's loops take a count of at least 1) */
        return 0;
    int cols = (int)NNC_RT_Q8_DW_COLS(p), np = (kw + 1) / 2, nq = kw / 2;
    /* the scratch, 8-byte aligned: the weights' words of DWG channels, kh slots of DWG rows, ow sums */
    int32_t *wq = (int32_t *)(((uintptr_t)scratch + 7) & ~(uintptr_t)7);
    int16_t *buf = (int16_t *)(wq + DWG * taps);
    int32_t *acc = (int32_t *)(buf + (long)DWG * kh * cols);    /* a row's sums (the 3x3 assembly) */
    int fast3 = kh == 3 && kw == 3 && (p->sw == 1 || p->sw == 2);
    const int32_t bmax = INT32_MAX - taps * 32640;      /* |bias| below it: the sums cannot overflow */
    /* the padding columns stay 0: every row loaded writes columns pl .. pl + w - 1 only */
    for (int32_t *z = (int32_t *)buf, *ze = z + DWG * kh * cols / 2; z < ze; z++) *z = 0;
    for (int i = 0; i < n; i++) {
        const int8_t *xs = x + (long)i * p->h * p->w * c;
        for (int g0 = 0; g0 < c; g0 += DWG) {
            int cg = c - g0 < DWG ? c - g0 : DWG;
            dw_chan ks[DWG];
            int allfast = 1;
            for (int u = 0; u < cg; u++) {
                int ch = g0 + u, cc = ch & e.pcmask, sh = e.shift[cc];
                const int8_t *wc = w + (long)ch * taps;
                for (int ky = 0; ky < kh; ky++) {
                    const int8_t *wr = wc + ky * kw;
                    int32_t *d = wq + (u * kh + ky) * kw;
                    if (kw == 3) {      /* P_0, P_1, Q_0 */
                        d[0] = pk_lo(wr[0], wr[1]); d[1] = pk_lo(wr[2], 0); d[2] = pk_lo(wr[1], wr[2]);
                        continue;
                    }
                    for (int j = 0; j < np; j++)
                        d[j] = pk_lo(wr[2 * j], 2 * j + 1 < kw ? wr[2 * j + 1] : 0);
                    for (int j = 0; j < nq; j++)
                        d[np + j] = pk_lo(wr[2 * j + 1], 2 * j + 2 < kw ? wr[2 * j + 2] : 0);
                }
                dw_chan *k = &ks[u];
                int32_t b = bias ? bias[ch] : 0, mult = e.mult[cc];
                int64_t k0 = (int64_t)b * mult + ((int64_t)1 << 30);
                k->klo = (uint32_t)k0; k->khi = (int32_t)(k0 >> 32);
                k->mult = mult; k->b = b; k->zp = e.zp;
                k->r1 = -sh - 1; k->half = sh < 0 ? 1 << (-sh - 1) : 0;
                k->fast = sh <= -1 && sh >= -31 && mult != INT32_MIN && b <= bmax && b >= -bmax && e.lo == -128 &&
                          e.hi == 127;
                allfast &= k->fast;
            }
            int next = 0;
            for (int oy = 0; oy < p->oh; oy++) {
                int R0 = oy * p->sh;
                for (int R = next > R0 ? next : R0; R < R0 + kh; R++)
                    dw_load_row(p, buf + (long)(R % kh) * DWG * cols, cols, xs, x_zp, R, g0, cg);
                next = R0 + kh;
                int8_t *yr = y + (((long)i * p->oh + oy) * p->ow) * c + g0;
                const int16_t *rows[DW_KHMAX];
                for (int ky = 0, sl = R0 % kh; ky < kh; ky++, sl = sl + 1 == kh ? 0 : sl + 1)
                    rows[ky] = buf + (long)sl * DWG * cols;
#if defined(DW3_ASM)
                if (fast3 && allfast) {
                    dw_row_3x3(yr, c, p->ow, rows[0], rows[1], rows[2], cols, wq, ks, cg, acc, p->sw);
                    continue;
                }
#endif
                dw_row_any(yr, c, p->ow, rows, cols, wq, ks, cg, &e, g0, kh, kw, p->sw);
            }
        }
    }
    return 1;
}

#else
typedef int nnc_rt_q8_conv_arm_empty; /* ISO C: a translation unit is not empty */
#endif
