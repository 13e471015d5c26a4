/* q8_conv_x86.c — int8 conv2d on AVX-512 VNNI (nnc_rt_q8_kernels.h), two
 * kernels for groups == 1 (depthwise stays with the portable one):
 *  - rows_8x32 (below; nnc_rt_q8_conv2d tries it first): dilation 1
 *    across, any c: the input rows padded once as x + 128, each pixel's
 *    kernel rows broadcast 4 bytes at a time from there against 32
 *    channels' weights, 8 pixels a tile, the output step in float with its
 *    exact fallback (q8_x86.h);
 *  - bcast_1x16 (what rows_8x32 leaves: dilation across, or an output
 *    step it does not take): at most 256 taps: a pixel's taps
 *    (x, the padding as x_zp) are read as groups of 4 bytes, each broadcast
 *    to 16 lanes and multiplied by the weights of 16 output channels laid
 *    out [group][channel][4] on the stack once per call (vpdpbusd, x + 128
 *    unsigned: 128 + x_zp times each channel's weight sum subtracted); the
 *    output step is q8v_out's, 16 channels at a time.  One pixel, all
 *    channels, per step. */
#include "nnc_rt_q8_kernels.h"

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "q8_internal.h"
#include "q8_x86.h"

#define MAXTAPS 256
#define MAXW 16384      /* bytes of weights in the stack layout */

NNC_RT_Q8_CONV2D_KERNEL(nnc_rt_q8_conv2d_bcast_1x16__avx512vnni) {
    (void)scratch;
    long taps = (long)p->kh * p->kw * p->c;
    int nq = (int)((taps + 3) / 4), oc = p->oc, nch = (oc + 15) / 16;
    if (p->groups != 1 || taps > MAXTAPS || (long)nch * nq * 64 > MAXW || x_zp < -128 || x_zp > 127) return 0;
    q8_epi e = q8_epi_of(o, oc);
    if (!e.ok || !q8v_ok(&e, bias, oc, taps)) return 0;
    int K = (int)taps;
    static const int max_chunks = MAXW / 64;
    int8_t wt[MAXW] __attribute__((aligned(64)));
    int32_t corr[MAXW / 64 * 16] __attribute__((aligned(64)));
    q8v v[8];
    (void)max_chunks;
    /* weights [chunk][group][16 channels][4 taps], zero beyond K and oc */
    for (int c = 0; c < nch; c++)
        for (int g = 0; g < nq; g++)
            for (int l = 0; l < 16; l++)
                for (int b = 0; b < 4; b++) {
                    int j = c * 16 + l, t = 4 * g + b;
                    wt[((long)(c * nq + g) * 16 + l) * 4 + b] = j < oc && t < K ? w[(long)j * K + t] : 0;
                }
    for (int j = 0; j < nch * 16; j++) {
        int32_t s = 0;
        if (j < oc)
            for (int t = 0; t < K; t++) s += w[(long)j * K + t];
        corr[j] = (128 + x_zp) * s;
    }
    int cv = nch <= 8;      /* the output constants of up to 8 chunks kept */
    if (cv)
        for (int c = 0; c < nch; c++) {
            int ch[16];
            for (int l = 0; l < 16; l++) ch[l] = c * 16 + l < oc ? c * 16 + l : oc - 1;
            q8v_set(&v[c], &e, bias, ch);
            v[c].bias = _mm512_sub_epi32(v[c].bias, _mm512_load_si512(corr + 16 * c));
        }
    const uint8_t pad = (uint8_t)(x_zp ^ 0x80);
    uint8_t col[MAXTAPS + 64] __attribute__((aligned(64)));
    int c = p->c, npix = p->oh * p->ow, run = p->kw * c;
    /* K <= 64: a pixel's taps are one vector; an interior pixel's rows of
     * taps (dilation 1 across) are masked loads placed at their lanes */
    int vec1 = K <= 64 && p->dw == 1;
    __mmask64 rowmask[64];
    if (vec1)
        for (int ky = 0; ky < p->kh; ky++)     /* run == 64: one row, all 64 lanes (a shift by 64 is undefined) */
            rowmask[ky] = run >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << run) - 1) << (ky * run);
    const __m512i off = _mm512_set1_epi8((char)0x80);
    for (int i = 0; i < n; i++) {
        const int8_t *xs = x + (long)i * p->h * p->w * c;
        int8_t *ys = y + (long)i * npix * oc;
        for (int oy = 0; oy < p->oh; oy++)
            for (int ox = 0; ox < p->ow; ox++) {
                int iy0 = oy * p->sh - p->pt, ix0 = ox * p->sw - p->pl;
                int inside = iy0 >= 0 && iy0 + (p->kh - 1) * p->dh < p->h && ix0 >= 0 && ix0 + p->kw <= p->w;
                __m512i colv = _mm512_setzero_si512();
                if (vec1 && inside) {
                    /* lanes [ky run, (ky + 1) run) from row ky: loaded from ky run bytes
                     * before it, those lanes masked off (never read) */
                    for (int ky = 0; ky < p->kh; ky++) {
                        const int8_t *src = xs + ((long)(iy0 + ky * p->dh) * p->w + ix0) * c;
                        colv = _mm512_mask_loadu_epi8(colv, rowmask[ky],
                                                      (const void *)((uintptr_t)src - (uintptr_t)(ky * run)));
                    }
                    colv = _mm512_xor_si512(colv, off);
                } else {
                    /* the pixel's taps as x + 128, the padding as x_zp + 128 */
                    uint8_t *d = col;
                    for (int ky = 0; ky < p->kh; ky++) {
                        int iy = iy0 + ky * p->dh;
                        for (int kx = 0; kx < p->kw; kx++, d += c) {
                            int ix = ix0 + kx * p->dw;
                            if (iy < 0 || iy >= p->h || ix < 0 || ix >= p->w) {
                                memset(d, pad, (size_t)c);
                            } else {
                                const int8_t *src = xs + ((long)iy * p->w + ix) * c;
                                for (int ci = 0; ci < c; ci++) d[ci] = (uint8_t)(src[ci] ^ 0x80);
                            }
                        }
                    }
                    for (int t = K; t < 4 * nq + 64; t++) col[t] = 0x80;
                    if (vec1) colv = _mm512_load_si512(col);
                }
                int8_t *yp = ys + ((long)oy * p->ow + ox) * oc;
                for (int ch = 0; ch < nch; ch++) {
                    const int8_t *wc = wt + (long)ch * nq * 64;
                    __m512i a0 = _mm512_setzero_si512(), a1 = a0;
                    int g = 0;
                    if (vec1) {
                        for (; g + 2 <= nq; g += 2) {
                            a0 = q8_dpbusd(a0, _mm512_permutexvar_epi32(_mm512_set1_epi32(g), colv),
                                                     _mm512_load_si512(wc + 64 * g));
                            a1 = q8_dpbusd(a1, _mm512_permutexvar_epi32(_mm512_set1_epi32(g + 1), colv),
                                                     _mm512_load_si512(wc + 64 * g + 64));
                        }
                        if (g < nq)
                            a0 = q8_dpbusd(a0, _mm512_permutexvar_epi32(_mm512_set1_epi32(g), colv),
                                                     _mm512_load_si512(wc + 64 * g));
                    } else {
                        for (; g + 2 <= nq; g += 2) {
                            int32_t q0, q1;
                            memcpy(&q0, col + 4 * g, 4);
                            memcpy(&q1, col + 4 * g + 4, 4);
                            a0 = q8_dpbusd(a0, _mm512_set1_epi32(q0), _mm512_load_si512(wc + 64 * g));
                            a1 = q8_dpbusd(a1, _mm512_set1_epi32(q1), _mm512_load_si512(wc + 64 * g + 64));
                        }
                        if (g < nq) {
                            int32_t q0;
                            memcpy(&q0, col + 4 * g, 4);
                            a0 = q8_dpbusd(a0, _mm512_set1_epi32(q0), _mm512_load_si512(wc + 64 * g));
                        }
                    }
                    __m512i acc = _mm512_add_epi32(a0, a1);
                    q8v vv;
                    const q8v *vp = &v[ch < 8 ? ch : 0];
                    if (!cv) {
                        int chl[16];
                        for (int l = 0; l < 16; l++) chl[l] = ch * 16 + l < oc ? ch * 16 + l : oc - 1;
                        q8v_set(&vv, &e, bias, chl);
                        vv.bias = _mm512_sub_epi32(vv.bias, _mm512_load_si512(corr + 16 * ch));
                        vp = &vv;
                    }
                    __m128i r = q8v_out(vp, acc);
                    int left = oc - ch * 16;
                    if (left >= 16) _mm_storeu_si128((__m128i *)(yp + ch * 16), r);
                    else _mm_mask_storeu_epi8(yp + ch * 16, (__mmask16)((1u << left) - 1), r);
                }
            }
    }
    return 1;
}

/* ---- the row kernel ------------------------------------------------------------
 * groups == 1 and dilation 1 across, any kernel, stride, padding and c: the
 * kw taps of a kernel row are kw c bytes in a row of x.  The input rows a
 * band of output rows reads are copied once, as x + 128 (an XOR) and padded
 * with x_zp + 128, into a buffer on the stack, so that a pixel's kernel row
 * is read in place 4 bytes at a time, each broadcast to 16 lanes (kw c
 * rounded up to a multiple of 4: the extra bytes meet zero weights).  A tile
 * is 8 pixels of an output row x 32 channels, 16 accumulators seeded with
 * the bias less (128 + x_zp) sum w; the weights of 32 channels are laid out
 * [kh][groups of 4][32][4] once per call (of as many 32-channel blocks as
 * the stack area holds: more blocks take more passes over the input).  The
 * output step is q8v_sum's, 4 vectors packed to 64 int8 with saturation,
 * then clamped as bytes. */
#define RW_BAND 16384   /* bytes of padded input rows */
#define RW_WBYTES 32768 /* bytes of laid-out weights */
#define RW_BLOCKS 8     /* 32-channel blocks a pass */
#define RW_TILE 8       /* pixels a tile */

typedef struct rw_call {
    long rowstep;           /* bytes from kernel row ky to ky + 1 in the band */
    int pixstep;            /* bytes from one pixel to the next (sw c) */
    int kh, gr;             /* kernel rows, groups of 4 bytes in a kernel row */
    int oc;
    __m512i lo32, hi32;     /* the clamp */
    __m512i lo, hi;         /* the same as 64 bytes */
    int clamp_lo, clamp_hi; /* lo > -128, hi < 127 */
} rw_call;

/* acc[p NC + c] = the sums of R pixels (the first's taps at s) x 16 NC
 * channels (the block's weights wb: [kh][gr][32][4], its first 16 NC
 * channels), bias included */
Q8_INLINE void rw_sums(const rw_call *k, const uint8_t *s, const int8_t *wb, const q8v *v, int R, int NC,
                       __m512i *acc) {
    for (int p = 0; p < R; p++)
        for (int c = 0; c < NC; c++) acc[p * NC + c] = v[c].bias;
    for (int ky = 0; ky < k->kh; ky++, s += k->rowstep)
        for (int q = 0; q < k->gr; q++, wb += 128) {    /* the block holds 32 channels */
            __m512i w0 = _mm512_load_si512(wb), w1 = NC > 1 ? _mm512_load_si512(wb + 64) : w0;
            const uint8_t *sq = s + 4 * q;
            for (int p = 0; p < R; p++) {
                int32_t b;
                memcpy(&b, sq + (long)p * k->pixstep, 4);
                __m512i xb = _mm512_set1_epi32(b);
                acc[p * NC] = q8_dpbusd(acc[p * NC], xb, w0);
                if (NC > 1) acc[p * NC + 1] = q8_dpbusd(acc[p * NC + 1], xb, w1);
            }
        }
}

/* 4 vectors of int32 outputs -> 64 bytes in their order, saturated, clamped */
Q8_INLINE __m512i rw_pack(const rw_call *k, __m512i a, __m512i b, __m512i c, __m512i d) {
    const __m512i order = _mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0);
    __m512i r = _mm512_permutexvar_epi32(order, _mm512_packs_epi16(_mm512_packs_epi32(a, b), _mm512_packs_epi32(c, d)));
    if (k->clamp_lo) r = _mm512_max_epi8(r, k->lo);     /* -128 and 127 are the saturation's */
    if (k->clamp_hi) r = _mm512_min_epi8(r, k->hi);
    return r;
}

/* zp + the rescaled sums of one vector (not clamped): q8f_sum's, or
 * q8v_sum's where its check fails or FL is 0 */
Q8_INLINE __m512i rw_out(const q8v *v, const q8f *f, __m512i acc, int FL) {
    if (FL) {
        __mmask16 amb;
        __m512i r = q8f_sum(f, acc, &amb);
        if (__builtin_expect(amb != 0, 0)) r = q8v_sum(v, acc);
        return r;
    }
    return q8v_sum(v, acc);
}

/* R pixels (8, or 1) x the block of mb <= 16 NC channels at y (pixel 0, the block's first channel) */
Q8_INLINE void rw_tile(const rw_call *k, int8_t *y, const uint8_t *s, const int8_t *wb, const q8v *v, const q8f *f,
                       int R, int NC, int mb, int FL) {
    __m512i acc[RW_TILE * 2];
    rw_sums(k, s, wb, v, R, NC, acc);
    if (R == 1) {
        for (int c = 0; c < NC; c++) {
            __m512i r = rw_out(&v[c], &f[c], acc[c], FL);
            r = _mm512_min_epi32(_mm512_max_epi32(r, k->lo32), k->hi32);
            int left = mb - 16 * c;
            _mm_mask_storeu_epi8(y + 16 * c, (__mmask16)(left >= 16 ? 0xFFFF : (1u << left) - 1),
                                 _mm512_cvtepi32_epi8(r));
        }
        return;
    }
    int per = 16 * NC;              /* bytes a pixel in a packed vector */
#pragma GCC unroll 4
    for (int i = 0; i < R * NC; i += 4) {
        __m512i r = rw_pack(k, rw_out(&v[0], &f[0], acc[i], FL), rw_out(&v[NC - 1], &f[NC - 1], acc[i + 1], FL),
                            rw_out(&v[0], &f[0], acc[i + 2], FL), rw_out(&v[NC - 1], &f[NC - 1], acc[i + 3], FL));
        int p0 = i / NC;            /* the vector's first pixel */
        if (k->oc == per) {         /* the pixels' outputs are contiguous */
            _mm512_storeu_si512(y + (long)p0 * k->oc, r);
        } else {
            for (int u = 0; u < 4 / NC; u++) {
                __mmask64 m = (((__mmask64)1 << mb) - 1) << (u * per);
                uintptr_t at = (uintptr_t)(y + (long)(p0 + u) * k->oc) - (uintptr_t)(u * per);
                _mm512_mask_storeu_epi8((void *)at, m, r);
            }
        }
    }
}

/* the tiles of one output row and block */
Q8_INLINE void rw_row(const rw_call *k, int8_t *yb, const uint8_t *srow, const int8_t *wb, const q8v *v,
                      const q8f *f, int ow, int mb, int NC, int FL) {
    if (ow >= RW_TILE) {
        for (int ox = 0;; ox += RW_TILE) {
            if (ox > ow - RW_TILE) ox = ow - RW_TILE;   /* the last tile overlaps the one before */
            rw_tile(k, yb + (long)ox * k->oc, srow + (long)ox * k->pixstep, wb, v, f, RW_TILE, NC, mb, FL);
            if (ox == ow - RW_TILE) break;
        }
    } else {
        for (int ox = 0; ox < ow; ox++)
            rw_tile(k, yb + (long)ox * k->oc, srow + (long)ox * k->pixstep, wb, v, f, 1, NC, mb, FL);
    }
}

NNC_RT_Q8_CONV2D_KERNEL(nnc_rt_q8_conv2d_rows_8x32__avx512vnni) {
    (void)scratch;
    int c = p->c, oc = p->oc, run = p->kw * c, gr = (run + 3) / 4, K = p->kh * p->kw * c;
    if (p->groups != 1 || p->dw != 1 || x_zp < -128 || x_zp > 127 || K > NNC_RT_Q8_KMAX) return 0;
    if ((long)p->kh * gr * 128 > RW_WBYTES) return 0;
    q8_epi e = q8_epi_of(o, oc);
    if (!e.ok || !q8v_ok(&e, bias, oc, K) || e.lo < -128 || e.hi > 127 || e.lo > e.hi) return 0;
    /* the band: rows of pl + w + pr pixels, pr what the last pixel's taps reach past w */
    int pr = (p->ow - 1) * p->sw + p->kw - p->pl - p->w;
    long rb = (long)(p->pl + p->w + (pr > 0 ? pr : 0)) * c;
    int span = (p->kh - 1) * p->dh + 1;             /* input rows an output row reads */
    long rows = (RW_BAND - 64) / rb;
    if (rows < span) return 0;
    int band_oy = (int)((rows - span) / p->sh) + 1;  /* output rows a band */

    uint8_t band[RW_BAND] __attribute__((aligned(64)));
    int8_t wt[RW_WBYTES] __attribute__((aligned(64)));
    q8v v[RW_BLOCKS * 2];
    q8f f[RW_BLOCKS * 2];
    const __m512i padv = _mm512_set1_epi8((char)(x_zp ^ 0x80)), off = _mm512_set1_epi8((char)0x80);
    rw_call k;
    k.rowstep = (long)p->dh * rb;
    k.pixstep = p->sw * c;
    k.kh = p->kh;
    k.gr = gr;
    k.oc = oc;
    k.lo32 = _mm512_set1_epi32(e.lo);
    k.hi32 = _mm512_set1_epi32(e.hi);
    k.lo = _mm512_set1_epi8((char)e.lo);
    k.hi = _mm512_set1_epi8((char)e.hi);
    k.clamp_lo = e.lo > -128;
    k.clamp_hi = e.hi < 127;
    int fl = q8f_ok(&e, bias, oc, K);
    long wblock = (long)p->kh * gr * 128;           /* bytes of a block's weights */
    int nblocks = (oc + 31) / 32, per_pass = (int)(RW_WBYTES / wblock);
    if (per_pass > RW_BLOCKS) per_pass = RW_BLOCKS;
    for (int b0 = 0; b0 < nblocks; b0 += per_pass) {
        int b1 = b0 + per_pass < nblocks ? b0 + per_pass : nblocks;
        /* the blocks' weights [kh][gr][32][4] and output constants; the
         * bias less (128 + x_zp) times each channel's weight sum */
        for (int b = b0; b < b1; b++) {
            int8_t *wb = wt + (b - b0) * wblock;
            for (int ky = 0; ky < p->kh; ky++)
                for (int q = 0; q < gr; q++)
                    for (int l = 0; l < 32; l++)
                        for (int u = 0; u < 4; u++) {
                            int j = b * 32 + l, t = 4 * q + u;
                            *wb++ = j < oc && t < run ? w[(long)j * K + (long)ky * run + t] : 0;
                        }
            for (int h = 0; h < 2; h++) {
                int ch[16];
                int32_t corr[16];
                for (int l = 0; l < 16; l++) {
                    int j = b * 32 + h * 16 + l;
                    ch[l] = j < oc ? j : oc - 1;
                    int32_t sw = 0;
                    for (int t = 0; t < K && j < oc; t++) sw += w[(long)j * K + t];
                    corr[l] = (128 + x_zp) * sw;
                }
                q8v *vv = &v[(b - b0) * 2 + h];
                q8v_set(vv, &e, bias, ch);
                if (fl) q8f_set(&f[(b - b0) * 2 + h], &e, ch);
                vv->bias = _mm512_sub_epi32(vv->bias, _mm512_loadu_si512(corr));
            }
        }
        for (int i = 0; i < n; i++) {
            const int8_t *xs = x + (long)i * p->h * p->w * c;
            int8_t *ys = y + (long)i * p->oh * p->ow * oc;
            for (int oy0 = 0; oy0 < p->oh; oy0 += band_oy) {
                int oy1 = oy0 + band_oy < p->oh ? oy0 + band_oy : p->oh;
                int first = oy0 * p->sh - p->pt, nrows = (oy1 - 1 - oy0) * p->sh + span;
                /* the band: input rows first .. first + nrows - 1, padded, as x + 128;
                 * 64 bytes a step, the last step of a row spilling into the next row
                 * (written after it) or the 64 bytes after the band */
                for (int r = 0; r < nrows; r++) {
                    uint8_t *d = band + r * rb;
                    int iy = first + r;
                    long lp = (long)p->pl * c, len = iy < 0 || iy >= p->h ? 0 : (long)p->w * c;
                    const int8_t *src = xs + (long)iy * p->w * c - lp;   /* byte t of the row: src[t] */
                    for (long t = 0; t < rb; t += 64) {
                        /* bytes [lp, lp + len) of the row come from x */
                        long a = lp - t > 0 ? lp - t : 0, b = lp + len - t < 64 ? lp + len - t : 64;
                        __mmask64 m = a < b ? (b - a >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (b - a)) - 1)) << a : 0;
                        __m512i v = _mm512_maskz_loadu_epi8(m, (const void *)((uintptr_t)src + (uintptr_t)t));
                        _mm512_storeu_si512(d + t, _mm512_mask_blend_epi8(m, padv, _mm512_xor_si512(v, off)));
                    }
                }
                _mm512_storeu_si512(band + nrows * rb, padv);      /* what the last groups read past the rows */
                for (int oy = oy0; oy < oy1; oy++) {
                    const uint8_t *srow = band + (long)(oy * p->sh - p->pt - first) * rb;
                    int8_t *yrow = ys + (long)oy * p->ow * oc;
                    for (int b = b0; b < b1; b++) {
                        const int8_t *wb = wt + (b - b0) * wblock;
                        const q8v *vb = &v[(b - b0) * 2];
                        const q8f *fb = &f[(b - b0) * 2];
                        int mb = oc - b * 32 < 32 ? oc - b * 32 : 32, nc2 = mb > 16;
                        int8_t *yb = yrow + b * 32;
                        if (fl) {
                            if (nc2) rw_row(&k, yb, srow, wb, vb, fb, p->ow, mb, 2, 1);
                            else rw_row(&k, yb, srow, wb, vb, fb, p->ow, mb, 1, 1);
                        } else {
                            if (nc2) rw_row(&k, yb, srow, wb, vb, fb, p->ow, mb, 2, 0);
                            else rw_row(&k, yb, srow, wb, vb, fb, p->ow, mb, 1, 0);
                        }
                    }
                }
            }
        }
    }
    return 1;
}

#else
typedef int nnc_rt_q8_conv_x86_empty; /* ISO C: a translation unit is not empty */
#endif
