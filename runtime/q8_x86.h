/* q8_x86.h — the output steps the x86 int8 kernels share (q8_dense_x86.c,
 * q8_conv_x86.c, q8_conv_avx2.c): exact in 64-bit halves (q8v_sum), and in
 * float with a check that hands the rare uncertain vector to the exact one
 * (q8f_sum). */
#ifndef NNC_RT_Q8_X86_H
#define NNC_RT_Q8_X86_H

#include "q8_internal.h"

/* whether the float output step (q8f_sum below; the AVX2 conv's own) is
 * exact, given its check, for every output of m channels with sums of k
 * products: see q8f_sum */
static inline int q8f_ok(const q8_epi *e, const int32_t *bias, int m, long k) {
    int nc = e->pcmask ? m : 1;
    if (!e->fast || e->lo < -128 || e->hi > 127 || e->lo > e->hi || e->zp < -256 || e->zp > 256) return 0;
    for (int j = 0; j < nc; j++)
        if (-e->shift[j] < 6 || -e->shift[j] > 31) return 0;
    int64_t room = ((int64_t)1 << 24) - k * 32768;
    if (room <= 0) return 0;
    if (bias)
        for (int j = 0; j < m; j++)
            if (bias[j] >= room || bias[j] <= -room) return 0;
    return 1;
}


/* whether the exact vector output step (q8v_out, q8v8_out below) computes
 * every output of m channels with sums of k products */
static inline int q8v_ok(const q8_epi *e, const int32_t *bias, int m, long k) {
    int nc = e->pcmask ? m : 1;
    int64_t room = INT32_MAX - k * 32768, zp = e->zp < 0 ? -(int64_t)e->zp : e->zp;
    if (!e->fast) return 0;
    for (int j = 0; j < nc; j++) {
        int r = -e->shift[j];
        if (r < 1 || (zp && (r > 29 || zp > ((int64_t)1 << (29 - r))))) return 0;
    }
    if (bias)
        for (int j = 0; j < m; j++)
            if (bias[j] > room || bias[j] < -room) return 0;
    return 1;
}

#if defined(__AVX512F__) && defined(__AVX512BW__)
#include <immintrin.h>
#include <math.h>

#if defined(__AVX512VNNI__)
/* acc += u8 . s8 in place: GCC copies the accumulator of the intrinsic to a
 * fresh register every time (a move per multiply-add in the inner loops) */
static inline __m512i q8_dpbusd(__m512i acc, __m512i u8, __m512i s8) {
#if defined(__GNUC__) && !defined(__clang__)
    __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u8), "v"(s8));
    return acc;
#else
    return _mm512_dpbusd_epi32(acc, u8, s8);
#endif
}
#endif

/* ---- the output step on 16 lanes ------------------------------------------------
 * q8_rescale_r per lane in 64-bit halves (even lanes, odd lanes), the zero
 * point folded in: with A = acc mult + 2^30 and r = -shift >= 1,
 *   zp + floor((A + 2^(30+r) - [A < 0] 2^31) / 2^(31+r))
 *     = floor((acc mult + C - [acc mult < -2^30] 2^31) / 2^(31+r)),
 *   C = 2^30 + 2^(30+r) + zp 2^(31+r),
 * the even lanes' quotient shifted down to their low word, the odd lanes'
 * to their high word (a shift by r - 1).  Taken when every channel has
 * r >= 1 and mult != INT32_MIN, |zp| <= 2^(29-r) or zp = 0 (C and the sum stay in
 * int64, no saturating add differs), and the biases leave room for k
 * products (|bias| <= 2^31 - 1 - k 2^15). */
typedef struct q8v {
    __m512i mult_e, mult_o, c_e, c_o, sh_e, sh_o, bias, lo, hi;
} q8v;

/* lane L's channel is ch[L]; the constants of those channels */
static inline void q8v_set(q8v *v, const q8_epi *e, const int32_t *bias, const int *ch) {
    int64_t me[8], mo[8], ce[8], co[8], se[8], so[8];
    int32_t b[16];
    for (int l = 0; l < 16; l++) {
        int c = ch[l] & e->pcmask, r = -e->shift[c];
        int64_t cr = ((int64_t)1 << 30) + ((int64_t)1 << (30 + r)) + (int64_t)e->zp * ((int64_t)1 << (31 + r));
        int64_t m = e->mult[c];
        if (l & 1) mo[l / 2] = m, co[l / 2] = cr, so[l / 2] = r - 1;
        else me[l / 2] = m, ce[l / 2] = cr, se[l / 2] = 31 + r;
        b[l] = bias ? bias[ch[l]] : 0;
    }
    v->mult_e = _mm512_loadu_si512(me); v->mult_o = _mm512_loadu_si512(mo);
    v->c_e = _mm512_loadu_si512(ce); v->c_o = _mm512_loadu_si512(co);
    v->sh_e = _mm512_loadu_si512(se); v->sh_o = _mm512_loadu_si512(so);
    v->bias = _mm512_loadu_si512(b);
    v->lo = _mm512_set1_epi32(e->lo); v->hi = _mm512_set1_epi32(e->hi);
}

/* zp + the rescaled acc, the bias already in acc (no clamp): 16 int32 */
static inline __m512i q8v_sum(const q8v *v, __m512i acc) {
    const __m512i lim = _mm512_set1_epi64(-((int64_t)1 << 30)), k31 = _mm512_set1_epi64((int64_t)1 << 31);
    __m512i pe = _mm512_mul_epi32(acc, v->mult_e);
    __m512i po = _mm512_mul_epi32(_mm512_srli_epi64(acc, 32), v->mult_o);
    __mmask8 ne = _mm512_cmplt_epi64_mask(pe, lim), no = _mm512_cmplt_epi64_mask(po, lim);
    pe = _mm512_add_epi64(pe, v->c_e);
    po = _mm512_add_epi64(po, v->c_o);
    pe = _mm512_srav_epi64(_mm512_mask_sub_epi64(pe, ne, pe, k31), v->sh_e);
    po = _mm512_srav_epi64(_mm512_mask_sub_epi64(po, no, po, k31), v->sh_o);
    return _mm512_mask_blend_epi32(0xAAAA, pe, po);
}

/* ---- the output step in float, checked -------------------------------------------
 * Cheaper than q8v_sum (6 instructions for 16 lanes, no 64-bit products)
 * and exact where it says so; a vector where it does not is done again by
 * q8v_sum.  With X = acc M the real product (M = mult 2^(shift - 31)) and
 * r = -shift, the reference's zp + rescale is zp + floor(T + d) for T = X +
 * zp + 1/2 and some |d| <= rho = 2^-(r+1) (the doubling high multiply's
 * rounding, seen at the output's scale; the rounding shift's tie too): it
 * is floor(T) whenever [T - rho, T + rho] holds no integer.  In float,
 *   u = fma((float)acc, (float)M, zp + 1/2 + eps),  eps = rho + 2^-14,
 * is T + eps within e = 2^-14 where |u| <= 256: acc is exact in float
 * (|acc| < 2^24), M is rounded once (relative 2^-24 of |X| <= 520), the
 * constant and the fma once each (2^-17 each).  If frac(u) >= theta =
 * 2 rho + 4 2^-14, then n = floor(u) has n < T - rho and T + rho < n + 1,
 * so n is the result.  Where |u| > 256, T is beyond +-255 on u's side and
 * both n and the result are beyond int8 there: the caller saturates to
 * int8 (then clamps to [lo, hi]), which makes them equal.  Lanes with
 * u < lo - 1 are not checked: there the result, at most floor(u) (T + d <=
 * u as eps >= rho + e), is below lo like n, and both clamp to lo (a relu's
 * negative half would otherwise fall back as often as the rest).  Taken when every
 * channel has r >= 6 (theta <= 2^-5.9, ~2^-r: a vector falls back rarely),
 * lo and hi in int8,
 * |zp| <= 256 and |bias| + k 2^15 < 2^24. */
typedef struct q8f {
    __m512 m, c, theta, floor;
} q8f;

static inline void q8f_set(q8f *f, const q8_epi *e, const int *ch) {
    float mm[16], cc[16], th[16];
    for (int l = 0; l < 16; l++) {
        int c = ch[l] & e->pcmask, r = -e->shift[c];
        double rho = ldexp(1.0, -(r + 1)), em = ldexp(1.0, -14);
        mm[l] = (float)ldexp((double)e->mult[c], -31 - r);
        cc[l] = (float)(e->zp + 0.5 + rho + em);
        th[l] = (float)(2 * rho + 4 * em);
    }
    f->m = _mm512_loadu_ps(mm); f->c = _mm512_loadu_ps(cc); f->theta = _mm512_loadu_ps(th);
    f->floor = _mm512_set1_ps((float)e->lo - 1.0f);
}

/* zp + the rescaled sums (bias included), int32, not clamped: to be
 * saturated to int8 and clamped; *amb: the lanes the check rejects */
static inline __m512i q8f_sum(const q8f *f, __m512i acc, __mmask16 *amb) {
    __m512 u = _mm512_fmadd_round_ps(_mm512_cvtepi32_ps(acc), f->m, f->c, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    *amb = _mm512_mask_cmp_ps_mask(_mm512_cmp_ps_mask(u, f->floor, _CMP_GE_OQ),
                                   _mm512_reduce_ps(u, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC), f->theta, _CMP_LT_OQ);
    return _mm512_cvt_roundps_epi32(u, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
}

static inline __m128i q8v_out(const q8v *v, __m512i acc) {
    const __m512i lim = _mm512_set1_epi64(-((int64_t)1 << 30)), k31 = _mm512_set1_epi64((int64_t)1 << 31);
    acc = _mm512_add_epi32(acc, v->bias);
    __m512i pe = _mm512_mul_epi32(acc, v->mult_e);
    __m512i po = _mm512_mul_epi32(_mm512_srli_epi64(acc, 32), v->mult_o);
    __mmask8 ne = _mm512_cmplt_epi64_mask(pe, lim), no = _mm512_cmplt_epi64_mask(po, lim);
    pe = _mm512_add_epi64(pe, v->c_e);
    po = _mm512_add_epi64(po, v->c_o);
    pe = _mm512_srav_epi64(_mm512_mask_sub_epi64(pe, ne, pe, k31), v->sh_e);
    po = _mm512_srav_epi64(_mm512_mask_sub_epi64(po, no, po, k31), v->sh_o);
    __m512i r = _mm512_mask_blend_epi32(0xAAAA, pe, po);
    r = _mm512_min_epi32(_mm512_max_epi32(r, v->lo), v->hi);
    return _mm512_cvtepi32_epi8(r);
}

#endif
#if defined(__AVX2__)
#include <immintrin.h>

/* ---- the exact output step on 8 lanes (AVX2) ---------------------------------------
 * q8v_sum's on 8 lanes, under q8v_ok's conditions.  AVX2 has no 64-bit
 * arithmetic shift: the 64-bit sums V (|V| < 2^63) are shifted logically
 * as V + 2^63 (folded into the constants), which adds 2^(63 - s) to
 * floor(V / 2^s); in the 32-bit word kept (even lanes: the low word of a
 * shift by 31 + r, odd lanes: the high word of one by r - 1) that is
 * 2^(32 - r), subtracted after the blend. */
typedef struct q8v8 {
    __m256i mult_e, mult_o, c_e, c_o, sh_e, sh_o, off, bias, lo, hi;
} q8v8;

/* lane L's channel is ch[L] */
static inline void q8v8_set(q8v8 *v, const q8_epi *e, const int32_t *bias, const int *ch) {
    int64_t me[4], mo[4], ce[4], co[4], se[4], so[4];
    int32_t b[8], off[8];
    for (int l = 0; l < 8; l++) {
        int c = ch[l] & e->pcmask, r = -e->shift[c];
        uint64_t cr = ((uint64_t)1 << 63) + ((uint64_t)1 << 30) + ((uint64_t)1 << (30 + r)) +
                      (uint64_t)((int64_t)e->zp * ((int64_t)1 << (31 + r)));
        int64_t m = e->mult[c];
        if (l & 1) mo[l / 2] = m, co[l / 2] = (int64_t)cr, so[l / 2] = r - 1;
        else me[l / 2] = m, ce[l / 2] = (int64_t)cr, se[l / 2] = 31 + r;
        off[l] = (int32_t)((uint32_t)1 << (32 - r));
        b[l] = bias ? bias[ch[l]] : 0;
    }
    v->mult_e = _mm256_loadu_si256((const __m256i *)me); v->mult_o = _mm256_loadu_si256((const __m256i *)mo);
    v->c_e = _mm256_loadu_si256((const __m256i *)ce); v->c_o = _mm256_loadu_si256((const __m256i *)co);
    v->sh_e = _mm256_loadu_si256((const __m256i *)se); v->sh_o = _mm256_loadu_si256((const __m256i *)so);
    v->off = _mm256_loadu_si256((const __m256i *)off);
    v->bias = _mm256_loadu_si256((const __m256i *)b);
    v->lo = _mm256_set1_epi32(e->lo); v->hi = _mm256_set1_epi32(e->hi);
}

/* The inline-assembly tiles' step (q8_dense_x86.c, q8_conv_avx2.c): ymm14
 * (int16 pairs of x) times the two weight vectors ymm12 and ymm13, the
 * int32 pair sums added to accumulators A and B (operand names); ymm15 is
 * the scratch */
#define Q8_ASM_MADD2(A, B)                                                                \
        "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n\t"                                          \
        "vpaddd %%ymm15, %" A ", %" A "\n\t"                                              \
        "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n\t"                                          \
        "vpaddd %%ymm15, %" B ", %" B "\n\t"

/* the outputs of 8 sums (bias not included), clamped, as int32 */
static inline __m256i q8v8_out(const q8v8 *v, __m256i acc) {
    const __m256i lim = _mm256_set1_epi64x(-((int64_t)1 << 30)), k31 = _mm256_set1_epi64x((int64_t)1 << 31);
    acc = _mm256_add_epi32(acc, v->bias);
    __m256i pe = _mm256_mul_epi32(acc, v->mult_e);
    __m256i po = _mm256_mul_epi32(_mm256_srli_epi64(acc, 32), v->mult_o);
    __m256i ne = _mm256_and_si256(_mm256_cmpgt_epi64(lim, pe), k31), no = _mm256_and_si256(_mm256_cmpgt_epi64(lim, po), k31);
    pe = _mm256_srlv_epi64(_mm256_sub_epi64(_mm256_add_epi64(pe, v->c_e), ne), v->sh_e);
    po = _mm256_srlv_epi64(_mm256_sub_epi64(_mm256_add_epi64(po, v->c_o), no), v->sh_o);
    __m256i r = _mm256_sub_epi32(_mm256_blend_epi32(pe, po, 0xAA), v->off);
    return _mm256_min_epi32(_mm256_max_epi32(r, v->lo), v->hi);
}
#endif

#endif
