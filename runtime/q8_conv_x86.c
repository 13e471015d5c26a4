/* q8_conv_x86.c — int8 conv2d on AVX-512 VNNI (nnc_rt_q8_kernels.h) for
 * groups == 1 and a short product (kh kw c <= 256 taps, as the first layers
 * of small CNNs have): a pixel's taps (x, the padding as x_zp) are read as
 * groups of 4 bytes, each broadcast to 16 lanes and multiplied by the
 * weights of 16 output channels laid out [group][channel][4] on the stack
 * once per call (vpdpbusd, x + 128 unsigned: 128 + x_zp times each
 * channel's weight sum subtracted); the output step is q8v_out's, 16
 * channels at a time.  One pixel, all channels, per step. */
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
        for (int ky = 0; ky < p->kh; ky++) rowmask[ky] = (((__mmask64)1 << run) - 1) << (ky * run);
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

#else
typedef int nnc_rt_q8_conv_x86_empty; /* ISO C: a translation unit is not empty */
#endif
