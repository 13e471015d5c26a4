/* q8_conv_avx2.c — int8 conv2d on AVX2 + FMA (nnc_rt_q8_kernels.h), the
 * row kernel of q8_conv_x86.c without VNNI: groups == 1, dilation 1 across.
 * The input rows a band of output rows reads are widened once to int16 as
 * x - x_zp (|x - x_zp| <= 255; the padding is 0, the real value 0) into a
 * buffer on the stack, so a pixel's kernel row is read in place two taps
 * (4 bytes) at a time, broadcast to 8 lanes and multiplied by 8 channels'
 * weights (int16 pairs, vpmaddwd: exact int32 sums; vpmaddubsw would
 * saturate).  A tile is 6 pixels, taken in order across the band's output
 * rows, x 16 channels (12 accumulators); the weights of 16 channels are
 * laid out [kh][pairs][16][2] once per call.  The output step is
 * q8_x86.h's float one on 8 lanes (a vector its check rejects is done
 * again by the exact one, q8v8_out: rare), so the kernel takes the
 * settings q8f_ok allows and leaves the rest to the portable kernels. */
#include "nnc_rt_q8_kernels.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "q8_internal.h"
#include "q8_x86.h"

#define RA_BAND 16384   /* bytes of widened input rows */
#define RA_WBYTES 32768 /* bytes of laid-out weights */
#define RA_BLOCKS 8     /* 16-channel blocks a pass */

typedef struct ra_call {
    long rowstep;               /* int16s from kernel row ky to ky + 1 in the band */
    int pixstep;                /* int16s from one pixel to the next (sw c) */
    int kh, gp, oc;             /* kernel rows, pairs of taps a kernel row, channels */
    q8_epi e;
    int vexact;                 /* q8v_ok: a vector the float step is unsure of takes q8v8_out */
    __m256i lo, hi;             /* the clamp, as 32 bytes */
} ra_call;

/* the float output step's constants for 16 channels (two vectors of 8) */
typedef struct ra_consts {
    __m256 m[2], c[2], theta[2], floor;     /* floor: lo - 1.5 */
    __m256i bias[2];
    q8v8 exact[2];              /* the exact step, the bias already in the sums */
    int ch[16];
} ra_consts;

static void ra_set(ra_consts *k, const q8_epi *e, const int32_t *bias, int j0, int oc, int vexact) {
    float mm[16], cc[16], th[16];
    int32_t b[16];
    for (int l = 0; l < 16; l++) {
        int j = j0 + l < oc ? j0 + l : oc - 1, c = j & e->pcmask, r = -e->shift[c];
        double rho = ldexp(1.0, -(r + 1)), em = ldexp(1.0, -14);
        k->ch[l] = j;
        mm[l] = (float)ldexp((double)e->mult[c], -31 - r);
        cc[l] = (float)(e->zp + 0.5 + rho + em);
        th[l] = (float)(2 * rho + 4 * em);
        b[l] = bias ? bias[j] : 0;
    }
    if (vexact) {
        q8v8_set(&k->exact[0], e, NULL, k->ch);
        q8v8_set(&k->exact[1], e, NULL, k->ch + 8);
    }
    k->floor = _mm256_set1_ps((float)e->lo - 1.5f);
    for (int h = 0; h < 2; h++) {
        k->m[h] = _mm256_loadu_ps(mm + 8 * h);
        k->c[h] = _mm256_loadu_ps(cc + 8 * h);
        k->theta[h] = _mm256_loadu_ps(th + 8 * h);
        k->bias[h] = _mm256_loadu_si256((const __m256i *)(b + 8 * h));
    }
}

/* zp + the rescaled sums of a pixel's 16 channels (c0: channels 0-7 of the
 * block, c1: 8-15) as 16 int16 in packs' order (0-3, 8-11, 4-7, 12-15), not
 * clamped where the float step is sure, clamped by the exact step
 * (q8v8_out, or the scalar one outside q8v_ok) where it is not.  u is raised to lo - 1.5 first: below lo - 1 the
 * result and floor(u) both clamp to lo (q8_x86.h), and lo - 1.5 is no
 * closer to an integer than theta, so those lanes (a relu's negative half)
 * pass the check; the two halves' checks are taken together. */
static inline __m256i ra_out16(const ra_call *k, const ra_consts *kc, __m256i c0, __m256i c1) {
    __m256 u0 = _mm256_max_ps(_mm256_fmadd_ps(_mm256_cvtepi32_ps(c0), kc->m[0], kc->c[0]), kc->floor);
    __m256 u1 = _mm256_max_ps(_mm256_fmadd_ps(_mm256_cvtepi32_ps(c1), kc->m[1], kc->c[1]), kc->floor);
    __m256 f0 = _mm256_floor_ps(u0), f1 = _mm256_floor_ps(u1);
    __m256 amb = _mm256_or_ps(_mm256_cmp_ps(_mm256_sub_ps(u0, f0), kc->theta[0], _CMP_LT_OQ),
                              _mm256_cmp_ps(_mm256_sub_ps(u1, f1), kc->theta[1], _CMP_LT_OQ));
    __m256i r0 = _mm256_cvttps_epi32(f0), r1 = _mm256_cvttps_epi32(f1);
    if (__builtin_expect(_mm256_movemask_ps(amb) != 0, 0)) {
        if (k->vexact) {
            r0 = q8v8_out(&kc->exact[0], c0);
            r1 = q8v8_out(&kc->exact[1], c1);
        } else {
            int32_t a[16], v[16];
            _mm256_storeu_si256((__m256i *)a, c0);
            _mm256_storeu_si256((__m256i *)(a + 8), c1);
            for (int l = 0; l < 16; l++) v[l] = q8_epi_out_fast(&k->e, a[l], kc->ch[l]);
            r0 = _mm256_loadu_si256((const __m256i *)v);
            r1 = _mm256_loadu_si256((const __m256i *)(v + 8));
        }
    }
    return _mm256_packs_epi32(r0, r1);     /* r0 0-3, r1 0-3, r0 4-7, r1 4-7 */
}

/* the sums of 6 pixels (sp[u]: pixel u's tap (0, 0) in the band, anywhere)
 * x 16 channels, seeded with the bias: c[2u + h] pixel u's channels 8h ..
 * 8h + 7.  Each pair of taps of a pixel is broadcast (4 bytes) against the
 * two vectors of 8 channels' pairs, vpmaddwd + vpaddd into 12 accumulators,
 * in inline assembly (as q8_dense_x86.c's tile: the intrinsics spill). */
Q8_INLINE void ra_sums6(const ra_call *k, __m256i c[12], const int16_t *const sp[6], const int16_t *wb,
                        const ra_consts *kc) {
#if defined(__GNUC__)
    __m256i c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11;
    long radj = 2 * k->rowstep - 4L * k->gp, gp = k->gp, rows = k->kh, q, t = 0;
    __asm__(
#define RA_SEED(A, B) "vmovdqa %[b0], %" A "\n\tvmovdqa %[b1], %" B "\n\t"
        RA_SEED("[c0]", "[c1]") RA_SEED("[c2]", "[c3]") RA_SEED("[c4]", "[c5]")
        RA_SEED("[c6]", "[c7]") RA_SEED("[c8]", "[c9]") RA_SEED("[c10]", "[c11]")
#undef RA_SEED
        "2:\n\t"
        "mov %[gp], %[q]\n\t"
        "1:\n\t"
        "vmovdqa (%[w]), %%ymm12\n\t"
        "vmovdqa 32(%[w]), %%ymm13\n\t"
#define RA_PIX(X, A, B) "vpbroadcastd (%[" X "],%[t]), %%ymm14\n\t" Q8_ASM_MADD2(A, B)
        RA_PIX("p0", "[c0]", "[c1]")
        RA_PIX("p1", "[c2]", "[c3]")
        RA_PIX("p2", "[c4]", "[c5]")
        RA_PIX("p3", "[c6]", "[c7]")
        RA_PIX("p4", "[c8]", "[c9]")
        RA_PIX("p5", "[c10]", "[c11]")
#undef RA_PIX
        "add $64, %[w]\n\t"
        "add $4, %[t]\n\t"
        "dec %[q]\n\t"
        "jnz 1b\n\t"
        "add %[radj], %[t]\n\t"
        "dec %[rows]\n\t"
        "jnz 2b\n\t"
        : [w] "+r"(wb), [t] "+r"(t), [rows] "+r"(rows), [q] "=&r"(q), [c0] "=&x"(c0), [c1] "=&x"(c1),
          [c2] "=&x"(c2), [c3] "=&x"(c3), [c4] "=&x"(c4), [c5] "=&x"(c5), [c6] "=&x"(c6), [c7] "=&x"(c7),
          [c8] "=&x"(c8), [c9] "=&x"(c9), [c10] "=&x"(c10), [c11] "=&x"(c11)
        : [p0] "r"(sp[0]), [p1] "r"(sp[1]), [p2] "r"(sp[2]), [p3] "r"(sp[3]), [p4] "r"(sp[4]), [p5] "r"(sp[5]),
          [radj] "r"(radj), [gp] "m"(gp), [b0] "m"(kc->bias[0]), [b1] "m"(kc->bias[1])
        : "xmm12", "xmm13", "xmm14", "xmm15", "cc", "memory");
    c[0] = c0; c[1] = c1; c[2] = c2; c[3] = c3; c[4] = c4; c[5] = c5;
    c[6] = c6; c[7] = c7; c[8] = c8; c[9] = c9; c[10] = c10; c[11] = c11;
#else
    for (int u = 0; u < 6; u++) c[2 * u] = kc->bias[0], c[2 * u + 1] = kc->bias[1];
    for (int ky = 0; ky < k->kh; ky++)
        for (int q = 0; q < k->gp; q++, wb += 32) {
            __m256i w0 = _mm256_load_si256((const __m256i *)wb), w1 = _mm256_load_si256((const __m256i *)(wb + 16));
            for (int u = 0; u < 6; u++) {
                int32_t t;
                memcpy(&t, sp[u] + ky * k->rowstep + 2 * q, 4);
                __m256i xb = _mm256_set1_epi32(t);
                c[2 * u] = _mm256_add_epi32(c[2 * u], _mm256_madd_epi16(xb, w0));
                c[2 * u + 1] = _mm256_add_epi32(c[2 * u + 1], _mm256_madd_epi16(xb, w1));
            }
        }
#endif
}

/* 6 pixels (yp[u]: pixel u's outputs of the block) x the block of mb <= 16 channels */
Q8_INLINE void ra_tile6(const ra_call *k, int8_t *const yp[6], const int16_t *const sp[6], const int16_t *wb,
                        const ra_consts *kc, int mb) {
    __m256i c[12];
    ra_sums6(k, c, sp, wb, kc);
    /* packs interleave 4-byte groups: [u 0-3, u 8-11, u+1 0-3, u+1 8-11 | u 4-7, ...] */
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
#pragma GCC unroll 3
    for (int u = 0; u < 6; u += 2) {
        __m256i b = _mm256_packs_epi16(ra_out16(k, kc, c[2 * u], c[2 * u + 1]), ra_out16(k, kc, c[2 * u + 2], c[2 * u + 3]));
        b = _mm256_permutevar8x32_epi32(b, order);
        b = _mm256_min_epi8(_mm256_max_epi8(b, k->lo), k->hi);     /* pixel u, then u + 1 */
        if (mb == 16) {
            _mm_storeu_si128((__m128i *)yp[u], _mm256_castsi256_si128(b));
            _mm_storeu_si128((__m128i *)yp[u + 1], _mm256_extracti128_si256(b, 1));
        } else {
            int8_t t[32];
            _mm256_storeu_si256((__m256i *)t, b);
            memcpy(yp[u], t, (size_t)mb);
            memcpy(yp[u + 1], t + 16, (size_t)mb);
        }
    }
}

NNC_RT_Q8_CONV2D_KERNEL(nnc_rt_q8_conv2d_rows_6x16__avx2) {
    (void)scratch;
    int c = p->c, oc = p->oc, run = p->kw * c, gp = (run + 1) / 2, K = p->kh * p->kw * c;
    if (p->groups != 1 || p->dw != 1 || x_zp < -128 || x_zp > 127 || K > NNC_RT_Q8_KMAX) return 0;
    if ((long)p->kh * gp * 64 > RA_WBYTES) return 0;
    q8_epi e = q8_epi_of(o, oc);
    if (!e.ok || !q8f_ok(&e, bias, oc, K)) return 0;
    /* the band: rows of pl + w + pr pixels, pr what the last pixel's taps reach past w */
    int pr = (p->ow - 1) * p->sw + p->kw - p->pl - p->w;
    long rb = (long)(p->pl + p->w + (pr > 0 ? pr : 0)) * c;     /* int16s a row */
    int span = (p->kh - 1) * p->dh + 1;
    long rows = (RA_BAND / 2 - 32) / rb;
    if (rows < span) return 0;
    int band_oy = (int)((rows - span) / p->sh) + 1;

    int16_t band[RA_BAND / 2] __attribute__((aligned(32)));
    int16_t wt[RA_WBYTES / 2] __attribute__((aligned(32)));
    ra_call k;
    k.rowstep = (long)p->dh * rb;
    k.pixstep = p->sw * c;
    k.kh = p->kh;
    k.gp = gp;
    k.oc = oc;
    k.e = e;
    k.vexact = q8v_ok(&e, bias, oc, K);
    k.lo = _mm256_set1_epi8((char)e.lo);
    k.hi = _mm256_set1_epi8((char)e.hi);
    long wblock = (long)p->kh * gp * 32;            /* int16s of a block's weights */
    int nblocks = (oc + 15) / 16, per_pass = (int)(RA_WBYTES / 2 / wblock);
    if (per_pass > RA_BLOCKS) per_pass = RA_BLOCKS;
    ra_consts kcs[RA_BLOCKS];
    for (int b0 = 0; b0 < nblocks; b0 += per_pass) {
        int b1 = b0 + per_pass < nblocks ? b0 + per_pass : nblocks;
        for (int b = b0; b < b1; b++) {     /* [kh][gp][16][2], zero beyond the run and oc */
            int16_t *wb = wt + (b - b0) * wblock;
            ra_set(&kcs[b - b0], &e, bias, b * 16, oc, k.vexact);
            for (int ky = 0; ky < p->kh; ky++)
                for (int q = 0; q < gp; q++)
                    for (int l = 0; l < 16; l++)
                        for (int u = 0; u < 2; u++) {
                            int j = b * 16 + l, t = 2 * q + u;
                            *wb++ = (int16_t)(j < oc && t < run ? w[(long)j * K + (long)ky * run + t] : 0);
                        }
        }
        for (int i = 0; i < n; i++) {
            const int8_t *xs = x + (long)i * p->h * p->w * c;
            int8_t *ys = y + (long)i * p->oh * p->ow * oc;
            for (int oy0 = 0; oy0 < p->oh; oy0 += band_oy) {
                int oy1 = oy0 + band_oy < p->oh ? oy0 + band_oy : p->oh;
                int first = oy0 * p->sh - p->pt, nrows = (oy1 - 1 - oy0) * p->sh + span;
                memset(band, 0, (size_t)(nrows * rb + 32) * sizeof band[0]);
                for (int r = 0; r < nrows; r++) {
                    int iy = first + r;
                    if (iy < 0 || iy >= p->h) continue;
                    int16_t *d = band + r * rb + (long)p->pl * c;
                    const int8_t *src = xs + (long)iy * p->w * c;
                    long len = (long)p->w * c, t = 0;
                    const __m256i zp16 = _mm256_set1_epi16((short)x_zp);
                    for (; t + 16 <= len; t += 16)
                        _mm256_storeu_si256((__m256i *)(d + t),
                                            _mm256_sub_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(src + t))), zp16));
                    for (; t < len; t++) d[t] = (int16_t)(src[t] - x_zp);
                }
                /* the band's output pixels 6 at a time, across output rows (the
                 * last group repeats its last pixel: the same outputs stored twice) */
                int npix = (oy1 - oy0) * p->ow, ox = 0;
                const int16_t *srow = band + (long)(oy0 * p->sh - p->pt - first) * rb, *sq = srow;
                int8_t *yq = ys + (long)oy0 * p->ow * oc;   /* the outputs of a sample's pixels are in order */
                for (int q0 = 0; q0 < npix; q0 += 6) {
                    const int16_t *sp[6];
                    int8_t *yp[6];
                    for (int u = 0; u < 6; u++) {
                        sp[u] = sq;
                        yp[u] = yq;
                        if (q0 + u + 1 < npix) {            /* else the last pixel again */
                            sq += k.pixstep, yq += oc;
                            if (++ox == p->ow) ox = 0, srow += (long)p->sh * rb, sq = srow;
                        }
                    }
                    for (int b = b0; b < b1; b++) {
                        int mb = oc - b * 16 < 16 ? oc - b * 16 : 16;
                        int8_t *yb[6];
                        for (int u = 0; u < 6; u++) yb[u] = yp[u] + b * 16;
                        ra_tile6(&k, yb, sp, wt + (b - b0) * wblock, &kcs[b - b0], mb);
                    }
                }
            }
        }
    }
    return 1;
}

#else
typedef int nnc_rt_q8_conv_avx2_empty; /* ISO C: a translation unit is not empty */
#endif
