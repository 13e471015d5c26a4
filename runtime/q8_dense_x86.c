/* q8_dense_x86.c — int8 dense on x86 (nnc_rt_q8_kernels.h).
 *
 * Both kernels compute 4 rows of x by 4 output channels as 16 dot products
 * along k held in 16 vector accumulators, reduced across lanes once at the
 * end of k (a transposing add tree: 45 instructions for 16 zmm sums).
 *
 * AVX-512 VNNI: vpdpbusd multiplies unsigned by signed bytes, so x enters
 * as x + 128 (an XOR of the sign bit) and 128 sum_k w[j, k], computed per
 * channel once per call with the same instruction, is subtracted: both
 * sums are exact in int32 for k <= NNC_RT_Q8_KMAX (|sum| <= k 255 128).
 * A k % 64 tail is read with masked loads (zeros, x's then 0x80 times a
 * zero weight).
 *
 * AVX2 (below): int8 widened to int16 and vpmaddwd (int16 pairs to int32,
 * exact); vpmaddubsw would saturate its int16 pair sums (2 x 255 x 128 >
 * 32767).
 */
#include "nnc_rt_q8_kernels.h"

#if defined(__AVX2__)
#include <immintrin.h>

#include <string.h>

#include "q8_internal.h"
#include "q8_x86.h"

static int32_t dot_tail(const int8_t *x, const int8_t *w, int from, int k) {
    int32_t s = 0;
    for (int t = from; t < k; t++) s += (int32_t)x[t] * w[t];
    return s;
}

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
/* the 16 results of tile (ii, jj) -> out[4 ii + jj] */
static void store_tile(int8_t *y, const int32_t *s, const int32_t *corr, int i0, int j0, int mi,
                       int mj, int m, const int32_t *bias, const q8_epi *e) {
    for (int ii = 0; ii < mi; ii++)
        for (int jj = 0; jj < mj; jj++) {
            int j = j0 + jj;
            int32_t acc = s[4 * ii + jj] - corr[jj];
            y[(long)(i0 + ii) * m + j] = q8_epi_out(e, q8_sat_add(bias ? bias[j] : 0, acc), j);
        }
}

/* sum of 4 vectors' lanes: per 128-bit lane L, [sum a, sum b, sum c, sum d] of lane L */
static inline __m512i hsum4(__m512i a, __m512i b, __m512i c, __m512i d) {
    __m512i ab = _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
    __m512i cd = _mm512_add_epi32(_mm512_unpacklo_epi32(c, d), _mm512_unpackhi_epi32(c, d));
    return _mm512_add_epi32(_mm512_unpacklo_epi64(ab, cd), _mm512_unpackhi_epi64(ab, cd));
}
/* u0..u3 from hsum4 -> lane-sums in order u0 (dwords 0-3), u1, u2, u3 */
static inline __m512i hsum16(__m512i u0, __m512i u1, __m512i u2, __m512i u3) {
    __m512i v = _mm512_add_epi32(_mm512_shuffle_i32x4(u0, u1, 0x88), _mm512_shuffle_i32x4(u0, u1, 0xDD));
    __m512i z = _mm512_add_epi32(_mm512_shuffle_i32x4(u2, u3, 0x88), _mm512_shuffle_i32x4(u2, u3, 0xDD));
    return _mm512_add_epi32(_mm512_shuffle_i32x4(v, z, 0x88), _mm512_shuffle_i32x4(v, z, 0xDD));
}

#define IB 32   /* rows of x per pass over w: 32 x k bytes stay in L1 */

NNC_RT_Q8_DENSE_KERNEL(nnc_rt_q8_dense_4x4__avx512vnni) {
    q8_epi e = q8_epi_of(o, m);
    if (k > NNC_RT_Q8_KMAX || !e.ok) return 0;
    const __m512i off = _mm512_set1_epi8((char)0x80);
    int nk = k / 64, rem = k % 64, vec = q8v_ok(&e, bias, m, k);
    __mmask64 mk = rem ? (((__mmask64)1 << rem) - 1) : 0;
    for (int ib = 0; ib < n; ib += IB) {
        int iend = n - ib < IB ? n : ib + IB;
        for (int j0 = 0; j0 < m; j0 += 4) {
            int mj = m - j0 < 4 ? m - j0 : 4;
            const int8_t *wr[4];
            int ch[16];
            for (int jj = 0; jj < 4; jj++) wr[jj] = w + (long)(j0 + (jj < mj ? jj : 0)) * k;
            for (int l = 0; l < 16; l++) ch[l] = j0 + ((l & 3) < mj ? (l & 3) : 0);
            /* 128 sum_k w[j, k] per channel */
            __m512i cs[4];
            for (int jj = 0; jj < 4; jj++) {
                cs[jj] = _mm512_setzero_si512();
                for (int c = 0; c < nk; c++)
                    cs[jj] = q8_dpbusd(cs[jj], off, _mm512_loadu_si512(wr[jj] + 64 * c));
                if (rem) cs[jj] = q8_dpbusd(cs[jj], off, _mm512_maskz_loadu_epi8(mk, wr[jj] + 64 * nk));
            }
            __m512i zero = _mm512_setzero_si512();
            __m512i corr4 = hsum16(hsum4(cs[0], cs[1], cs[2], cs[3]), zero, zero, zero);
            __m512i corr = _mm512_shuffle_i32x4(corr4, corr4, 0);     /* lanes 4ii + jj: channel jj */
            int32_t corr_s[16];
            _mm512_storeu_si512(corr_s, corr);
            q8v v;
            if (vec) q8v_set(&v, &e, bias, ch);
            for (int i0 = ib; i0 < iend; i0 += 4) {
                int mi = n - i0 < 4 ? n - i0 : 4;
                const int8_t *xr[4];
                for (int ii = 0; ii < 4; ii++) xr[ii] = x + (long)(i0 + (ii < mi ? ii : 0)) * k;
                __m512i a00 = _mm512_setzero_si512(), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00,
                        a12 = a00, a13 = a00, a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00,
                        a31 = a00, a32 = a00, a33 = a00;
#define VNNI_STEP(LX, LW)                                                                 \
    do {                                                                                  \
        __m512i x0 = _mm512_xor_si512(LX(xr[0]), off), x1 = _mm512_xor_si512(LX(xr[1]), off); \
        __m512i x2 = _mm512_xor_si512(LX(xr[2]), off), x3 = _mm512_xor_si512(LX(xr[3]), off); \
        __m512i w0 = LW(wr[0]), w1 = LW(wr[1]), w2 = LW(wr[2]), w3 = LW(wr[3]);           \
        a00 = q8_dpbusd(a00, x0, w0); a01 = q8_dpbusd(a01, x0, w1);   \
        a02 = q8_dpbusd(a02, x0, w2); a03 = q8_dpbusd(a03, x0, w3);   \
        a10 = q8_dpbusd(a10, x1, w0); a11 = q8_dpbusd(a11, x1, w1);   \
        a12 = q8_dpbusd(a12, x1, w2); a13 = q8_dpbusd(a13, x1, w3);   \
        a20 = q8_dpbusd(a20, x2, w0); a21 = q8_dpbusd(a21, x2, w1);   \
        a22 = q8_dpbusd(a22, x2, w2); a23 = q8_dpbusd(a23, x2, w3);   \
        a30 = q8_dpbusd(a30, x3, w0); a31 = q8_dpbusd(a31, x3, w1);   \
        a32 = q8_dpbusd(a32, x3, w2); a33 = q8_dpbusd(a33, x3, w3);   \
    } while (0)
/* a last block of 1 or 2 channels (m = 10: 4 + 4 + 2): half the products */
#define VNNI_STEP2(LX, LW)                                                                \
    do {                                                                                  \
        __m512i x0 = _mm512_xor_si512(LX(xr[0]), off), x1 = _mm512_xor_si512(LX(xr[1]), off); \
        __m512i x2 = _mm512_xor_si512(LX(xr[2]), off), x3 = _mm512_xor_si512(LX(xr[3]), off); \
        __m512i w0 = LW(wr[0]), w1 = LW(wr[1]);                                           \
        a00 = q8_dpbusd(a00, x0, w0); a01 = q8_dpbusd(a01, x0, w1);   \
        a10 = q8_dpbusd(a10, x1, w0); a11 = q8_dpbusd(a11, x1, w1);   \
        a20 = q8_dpbusd(a20, x2, w0); a21 = q8_dpbusd(a21, x2, w1);   \
        a30 = q8_dpbusd(a30, x3, w0); a31 = q8_dpbusd(a31, x3, w1);   \
    } while (0)
#define LOAD_FULL(p) _mm512_loadu_si512((p) + 64 * c)
#define LOAD_TAIL(p) _mm512_maskz_loadu_epi8(mk, (p) + 64 * nk)
                if (mj <= 2) {      /* channels 2 and 3 of the tile are not stored: their sums stay 0 */
                    for (int c = 0; c < nk; c++) VNNI_STEP2(LOAD_FULL, LOAD_FULL);
                    if (rem) VNNI_STEP2(LOAD_TAIL, LOAD_TAIL);
                } else {
                    for (int c = 0; c < nk; c++) VNNI_STEP(LOAD_FULL, LOAD_FULL);
                    if (rem) VNNI_STEP(LOAD_TAIL, LOAD_TAIL);
                }
#undef LOAD_FULL
#undef LOAD_TAIL
#undef VNNI_STEP
#undef VNNI_STEP2
                __m512i sum = _mm512_sub_epi32(hsum16(hsum4(a00, a01, a02, a03), hsum4(a10, a11, a12, a13),
                                                      hsum4(a20, a21, a22, a23), hsum4(a30, a31, a32, a33)),
                                               corr);
                if (vec) {
                    int8_t b[16];
                    _mm_storeu_si128((__m128i *)b, q8v_out(&v, sum));
                    for (int ii = 0; ii < mi; ii++) memcpy(y + (long)(i0 + ii) * m + j0, b + 4 * ii, (size_t)mj);
                } else {
                    int32_t sv[16];
                    _mm512_storeu_si512(sv, _mm512_add_epi32(sum, corr));
                    store_tile(y, sv, corr_s, i0, j0, mi, mj, m, bias, &e);
                }
            }
        }
    }
    return 1;
}

/* 8 rows of x by 32 output channels, the f32 GEMM's way: the channels'
 * weights are laid out once per call per block of 32, [k/4][32][4] as
 * w + 128 (unsigned) on the stack, each group of 4 bytes of a row of x
 * broadcast (signed) against them; sum (w + 128) x = sum w x + 128 sum x,
 * the row sums of x (vpdpbusd of 0x80 bytes with x) subtracted.  k <= 1024
 * (32 k bytes of stack); the accumulators are channels in lanes, so the
 * output step is q8v_out's with no reduction across lanes. */
#define KPACK 1024
static inline int32_t ld4(const int8_t *p) {
    int32_t q;
    memcpy(&q, p, 4);
    return q;
}
static inline int32_t ld_part(const int8_t *p, int r) {
    int32_t q = 0;
    memcpy(&q, p, (size_t)r);
    return q;
}
/* where the 4 bytes of group g of row j are: (m, k), or the packed layout
 * (nnc_rt_q8_kernels.h: blocks of 4 rows from byte j0 k, groups of the
 * block's b rows interleaved, then each row's k % 4 last bytes) */
static const int8_t *wsrc(const int8_t *w, int j, int g, int m, int k, int packed) {
    if (!packed) return w + (long)j * k + 4 * g;
    int j0 = j / 4 * 4, b = m - j0 < 4 ? m - j0 : 4, r = j - j0, kq = k / 4;
    const int8_t *blk = w + (long)j0 * k;
    return g < kq ? blk + (long)g * 4 * b + 4 * r : blk + (long)b * 4 * kq + (long)r * (k - 4 * kq);
}

static int dense_8x32(int8_t *y, const int8_t *x, const int8_t *w, const int32_t *bias, int n, int k, int m,
                      const nnc_rt_q8_out *o, int packed) {
    q8_epi e = q8_epi_of(o, m);
    if (k > KPACK || !e.ok || !q8v_ok(&e, bias, m, k)) return 0;
    int nq = (k + 3) / 4, kq = k / 4;
    int32_t wt32[KPACK * 8] __attribute__((aligned(64)));
    int8_t *wt = (int8_t *)wt32;
    const __m512i off = _mm512_set1_epi8((char)0x80);
    for (int j0 = 0; j0 < m; j0 += 32) {
        int mj = m - j0 < 32 ? m - j0 : 32;
        /* w + 128 (a padding weight is 0 + 128; its x is 0, or its channel unused) */
        for (int l = 0; l < 32; l++) {
            int32_t *dst = wt32 + l;
            for (int g = 0; g < nq; g++, dst += 32) {
                int32_t q = 0;
                if (l < mj) memcpy(&q, wsrc(w, j0 + l, g, m, k, packed), g < kq ? 4 : (size_t)(k - 4 * kq));
                *dst = q ^ (int32_t)0x80808080u;
            }
        }
        int ch[32];
        for (int l = 0; l < 32; l++) ch[l] = j0 + (l < mj ? l : 0);
        q8v v0, v1;
        q8v_set(&v0, &e, bias, ch);
        q8v_set(&v1, &e, bias, ch + 16);
        for (int i0 = 0; i0 < n; i0 += 8) {
            int mi = n - i0 < 8 ? n - i0 : 8;
            const int8_t *xr[8];
            for (int ii = 0; ii < 8; ii++) xr[ii] = x + (long)(i0 + (ii < mi ? ii : 0)) * k;
            __m512i acc[8][2], rs[8];
            __m512i c00 = _mm512_setzero_si512(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
                    c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00,
                    c61 = c00, c70 = c00, c71 = c00;
            const int8_t *x0 = xr[0], *x1 = xr[1], *x2 = xr[2], *x3 = xr[3], *x4 = xr[4], *x5 = xr[5],
                         *x6 = xr[6], *x7 = xr[7];
#define ROW8(r, q)                                                                        \
    do {                                                                                  \
        __m512i xb = _mm512_set1_epi32(q);                                                \
        c##r##0 = q8_dpbusd(c##r##0, w0, xb);                                   \
        c##r##1 = q8_dpbusd(c##r##1, w1, xb);                                   \
    } while (0)
#define LD4(p, g) ld4(p + 4 * (g))
            for (int g = 0; g < kq; g++) {
                __m512i w0 = _mm512_load_si512(wt + g * 128), w1 = _mm512_load_si512(wt + g * 128 + 64);
                ROW8(0, LD4(x0, g)); ROW8(1, LD4(x1, g)); ROW8(2, LD4(x2, g)); ROW8(3, LD4(x3, g));
                ROW8(4, LD4(x4, g)); ROW8(5, LD4(x5, g)); ROW8(6, LD4(x6, g)); ROW8(7, LD4(x7, g));
            }
            if (kq < nq) {      /* the last k % 4 bytes, zero-filled */
                __m512i w0 = _mm512_load_si512(wt + kq * 128), w1 = _mm512_load_si512(wt + kq * 128 + 64);
                int r = k - 4 * kq;
                ROW8(0, ld_part(x0 + 4 * kq, r)); ROW8(1, ld_part(x1 + 4 * kq, r));
                ROW8(2, ld_part(x2 + 4 * kq, r)); ROW8(3, ld_part(x3 + 4 * kq, r));
                ROW8(4, ld_part(x4 + 4 * kq, r)); ROW8(5, ld_part(x5 + 4 * kq, r));
                ROW8(6, ld_part(x6 + 4 * kq, r)); ROW8(7, ld_part(x7 + 4 * kq, r));
            }
#undef ROW8
#undef LD4
            acc[0][0] = c00; acc[0][1] = c01; acc[1][0] = c10; acc[1][1] = c11;
            acc[2][0] = c20; acc[2][1] = c21; acc[3][0] = c30; acc[3][1] = c31;
            acc[4][0] = c40; acc[4][1] = c41; acc[5][0] = c50; acc[5][1] = c51;
            acc[6][0] = c60; acc[6][1] = c61; acc[7][0] = c70; acc[7][1] = c71;
            /* 128 sum_k x[i, k] per row */
            int nk = k / 64, rem = k % 64;
            __mmask64 mk = rem ? (((__mmask64)1 << rem) - 1) : 0;
            for (int ii = 0; ii < mi; ii++) {
                __m512i r = _mm512_setzero_si512();
                for (int c = 0; c < nk; c++) r = q8_dpbusd(r, off, _mm512_loadu_si512(xr[ii] + 64 * c));
                if (rem) r = q8_dpbusd(r, off, _mm512_maskz_loadu_epi8(mk, xr[ii] + 64 * nk));
                rs[ii] = _mm512_set1_epi32(_mm512_reduce_add_epi32(r));
            }
            for (int ii = 0; ii < mi; ii++) {
                int8_t *yr = y + (long)(i0 + ii) * m + j0;
                __m128i r0 = q8v_out(&v0, _mm512_sub_epi32(acc[ii][0], rs[ii]));
                __m128i r1 = q8v_out(&v1, _mm512_sub_epi32(acc[ii][1], rs[ii]));
                if (mj == 32) {
                    _mm_storeu_si128((__m128i *)yr, r0);
                    _mm_storeu_si128((__m128i *)(yr + 16), r1);
                } else {
                    _mm_mask_storeu_epi8(yr, (__mmask16)(mj >= 16 ? 0xFFFF : (1u << mj) - 1), r0);
                    if (mj > 16) _mm_mask_storeu_epi8(yr + 16, (__mmask16)((1u << (mj - 16)) - 1), r1);
                }
            }
        }
    }
    return 1;
}

NNC_RT_Q8_DENSE_KERNEL(nnc_rt_q8_dense_8x32__avx512vnni) {
    return dense_8x32(y, x, w, bias, n, k, m, o, 0);
}
NNC_RT_Q8_DENSE_KERNEL(nnc_rt_q8_dense_packed_8x32__avx512vnni) {
    return dense_8x32(y, x, w, bias, n, k, m, o, 1);
}
#endif

/* ---- AVX2: 6 rows x 16 channels ---------------------------------------------------
 * The float GEMM's tile with int16 pairs: the weights of up to D6_WBYTES / 2
 * int16 are laid out [k/2][16][2] per block of 16 channels (widened once
 * per call, 8x8 transposes of pairs), a tile's 6 rows of x widened once per
 * pass over those blocks; each pair of a row is broadcast (4 bytes) against
 * two vectors of 8 channels' pairs, vpmaddwd + vpaddd into 12 int32
 * accumulators.  Zen 3 runs vpmaddwd twice a cycle (16 int16 products
 * each) against its two 8-lane FMAs: this loop's ceiling is 1.6x the
 * float tile's.  GCC and clang keep the 12 accumulators, two weight
 * vectors, the broadcast and the product in the 16 ymm registers only when
 * told (inline assembly; the intrinsics spill). */
#define D6_KMAX 1024            /* k of a laid-out block: 32 KB */
#define D6_WBYTES 65536         /* laid-out weights a pass */
#define D6_BLOCKS 16            /* 16-channel blocks a pass */

/* wt[p][l][2] = w[j0 + l][2p + u] for p < kp (0 beyond k and the mb channels) */
static void d6_layout(int16_t *wt, const int8_t *w, int j0, int mb, int k, int kp) {
    static const int8_t zero[16];
    int kv = k / 16 * 16;
    for (int t0 = 0; t0 < kv; t0 += 16) {
        for (int h = 0; h < 2; h++) {
            __m256i r[8], u[8], v[8];
            for (int l = 0; l < 8; l++) {
                int j = 8 * h + l;
                const int8_t *src = j < mb ? w + (long)(j0 + j) * k + t0 : zero;
                r[l] = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)src));
            }
            /* 8 x 8 pairs: row l (channel), column p (pair) -> column p's 8 channels */
            for (int l = 0; l < 8; l += 2) {
                u[l] = _mm256_unpacklo_epi32(r[l], r[l + 1]);
                u[l + 1] = _mm256_unpackhi_epi32(r[l], r[l + 1]);
            }
            for (int l = 0; l < 8; l += 4) {
                v[l] = _mm256_unpacklo_epi64(u[l], u[l + 2]);
                v[l + 1] = _mm256_unpackhi_epi64(u[l], u[l + 2]);
                v[l + 2] = _mm256_unpacklo_epi64(u[l + 1], u[l + 3]);
                v[l + 3] = _mm256_unpackhi_epi64(u[l + 1], u[l + 3]);
            }
            int16_t *d = wt + (long)(t0 / 2) * 32 + 16 * h;
            for (int p = 0; p < 4; p++) {
                _mm256_store_si256((__m256i *)(d + 32 * p), _mm256_permute2x128_si256(v[p], v[p + 4], 0x20));
                _mm256_store_si256((__m256i *)(d + 32 * (p + 4)), _mm256_permute2x128_si256(v[p], v[p + 4], 0x31));
            }
        }
    }
    for (int p = kv / 2; p < kp; p++)
        for (int l = 0; l < 16; l++)
            for (int u = 0; u < 2; u++) {
                int t = 2 * p + u;
                wt[(long)p * 32 + 2 * l + u] = (int16_t)(l < mb && t < k ? w[(long)(j0 + l) * k + t] : 0);
            }
}

/* the 12 sums of 6 rows (xs, rows xstride int16 apart) x 16 channels over kp pairs */
static inline void d6_sums(__m256i c[12], const int16_t *xs, long xstride, const int16_t *wt, int kp) {
#if defined(__GNUC__)
    __m256i c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11;
    const int16_t *x3 = xs + 3 * xstride;
    long sb = xstride * 2, n = kp;
    __asm__(
#define D6_ZERO(A) "vpxor %x" A ", %x" A ", %x" A "\n\t"
        D6_ZERO("[c0]") D6_ZERO("[c1]") D6_ZERO("[c2]") D6_ZERO("[c3]") D6_ZERO("[c4]") D6_ZERO("[c5]")
        D6_ZERO("[c6]") D6_ZERO("[c7]") D6_ZERO("[c8]") D6_ZERO("[c9]") D6_ZERO("[c10]") D6_ZERO("[c11]")
#undef D6_ZERO
        "1:\n\t"
        "vmovdqa (%[w]), %%ymm12\n\t"
        "vmovdqa 32(%[w]), %%ymm13\n\t"
#define D6_ROW(X, A, B) "vpbroadcastd " X ", %%ymm14\n\t" Q8_ASM_MADD2(A, B)
        D6_ROW("(%[x])", "[c0]", "[c1]")
        D6_ROW("(%[x],%[s],1)", "[c2]", "[c3]")
        D6_ROW("(%[x],%[s],2)", "[c4]", "[c5]")
        D6_ROW("(%[y])", "[c6]", "[c7]")
        D6_ROW("(%[y],%[s],1)", "[c8]", "[c9]")
        D6_ROW("(%[y],%[s],2)", "[c10]", "[c11]")
#undef D6_ROW
        "add $64, %[w]\n\t"
        "add $4, %[x]\n\t"
        "add $4, %[y]\n\t"
        "dec %[n]\n\t"
        "jnz 1b\n\t"
        : [w] "+r"(wt), [x] "+r"(xs), [y] "+r"(x3), [n] "+r"(n), [c0] "=x"(c0), [c1] "=x"(c1), [c2] "=x"(c2),
          [c3] "=x"(c3), [c4] "=x"(c4), [c5] "=x"(c5), [c6] "=x"(c6), [c7] "=x"(c7), [c8] "=x"(c8),
          [c9] "=x"(c9), [c10] "=x"(c10), [c11] "=x"(c11)
        : [s] "r"(sb)
        : "xmm12", "xmm13", "xmm14", "xmm15", "cc", "memory");
    c[0] = c0; c[1] = c1; c[2] = c2; c[3] = c3; c[4] = c4; c[5] = c5;
    c[6] = c6; c[7] = c7; c[8] = c8; c[9] = c9; c[10] = c10; c[11] = c11;
#else
    for (int i = 0; i < 12; i++) c[i] = _mm256_setzero_si256();
    for (int p = 0; p < kp; p++, wt += 32) {
        __m256i w0 = _mm256_load_si256((const __m256i *)wt), w1 = _mm256_load_si256((const __m256i *)(wt + 16));
        for (int i = 0; i < 6; i++) {
            int32_t q;
            memcpy(&q, xs + i * xstride + 2 * p, 4);
            __m256i b = _mm256_set1_epi32(q);
            c[2 * i] = _mm256_add_epi32(c[2 * i], _mm256_madd_epi16(b, w0));
            c[2 * i + 1] = _mm256_add_epi32(c[2 * i + 1], _mm256_madd_epi16(b, w1));
        }
    }
#endif
}

NNC_RT_Q8_DENSE_KERNEL(nnc_rt_q8_dense_6x16__avx2) {
    q8_epi e = q8_epi_of(o, m);
    if (k < 1 || k > D6_KMAX || !e.ok) return 0;
    int kp = (k + 1) / 2, xstride = (kp * 2 + 15) / 16 * 16;
    int vec = q8v_ok(&e, bias, m, k) && e.lo >= -128 && e.hi <= 127 && e.lo <= e.hi;
    long wblock = (long)kp * 32;                    /* int16s of a block */
    int nblocks = (m + 15) / 16, per_pass = (int)(D6_WBYTES / 2 / wblock);
    if (per_pass > D6_BLOCKS) per_pass = D6_BLOCKS;
    int16_t wt[D6_WBYTES / 2] __attribute__((aligned(32)));
    int16_t xs[6 * ((D6_KMAX + 15) / 16 * 16)] __attribute__((aligned(32)));
    q8v8 vs[D6_BLOCKS * 2];
    for (int b0 = 0; b0 < nblocks; b0 += per_pass) {
        int b1 = b0 + per_pass < nblocks ? b0 + per_pass : nblocks;
        for (int b = b0; b < b1; b++) {
            int mb = m - 16 * b < 16 ? m - 16 * b : 16;
            d6_layout(wt + (b - b0) * wblock, w, 16 * b, mb, k, kp);
            for (int h = 0; vec && h < 2; h++) {
                int ch[8];
                for (int l = 0; l < 8; l++) ch[l] = 16 * b + 8 * h + l < m ? 16 * b + 8 * h + l : m - 1;
                q8v8_set(&vs[2 * (b - b0) + h], &e, bias, ch);
            }
        }
        for (int i0 = 0; i0 < n; i0 += 6) {
            int mi = n - i0 < 6 ? n - i0 : 6;
            /* the tile's rows widened, 0 beyond k and below row mi */
            for (int ii = 0; ii < 6; ii++) {
                int16_t *d = xs + (long)ii * xstride;
                int t = 0;
                if (ii < mi) {
                    const int8_t *src = x + (long)(i0 + ii) * k;
                    for (; t + 16 <= k; t += 16)
                        _mm256_store_si256((__m256i *)(d + t), _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(src + t))));
                    for (; t < k; t++) d[t] = src[t];
                }
                for (; t < xstride; t++) d[t] = 0;
            }
            for (int b = b0; b < b1; b++) {
                int mb = m - 16 * b < 16 ? m - 16 * b : 16;
                __m256i c[12];
                d6_sums(c, xs, xstride, wt + (b - b0) * wblock, kp);
                if (vec) {
                    const q8v8 *v = &vs[2 * (b - b0)];
                    for (int ii = 0; ii < mi; ii++) {
                        __m256i r = _mm256_packs_epi32(q8v8_out(&v[0], c[2 * ii]), q8v8_out(&v[1], c[2 * ii + 1]));
                        r = _mm256_permute4x64_epi64(r, 0xD8);
                        __m128i q = _mm_packs_epi16(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
                        int8_t *yp = y + (long)(i0 + ii) * m + 16 * b;
                        if (mb == 16) {
                            _mm_storeu_si128((__m128i *)yp, q);
                        } else {
                            int8_t t[16];
                            _mm_storeu_si128((__m128i *)t, q);
                            memcpy(yp, t, (size_t)mb);
                        }
                    }
                } else {
                    int32_t s[12 * 8];
                    for (int q = 0; q < 12; q++) _mm256_storeu_si256((__m256i *)(s + 8 * q), c[q]);
                    for (int ii = 0; ii < mi; ii++)
                        for (int l = 0; l < mb; l++) {
                            int j = 16 * b + l;
                            y[(long)(i0 + ii) * m + j] = q8_epi_out(&e, q8_sat_add(bias ? bias[j] : 0, s[16 * ii + l]), j);
                        }
                }
            }
        }
    }
    return 1;
}

/* ---- AVX2: 5 rows x 2 channels, along k ------------------------------------------
 * For what the 6x16 tile leaves (k > 1024: no room to lay the weights out;
 * m < 16: a 16-channel block mostly empty, as the seed CNN's 21632 -> 10):
 * 10 int32 vector sums of products along k, 16 k a step, x and w read as
 * int8 and widened in the loop (vpmovsxbw), reduced across lanes at the
 * end of k.  In inline assembly: 10 accumulators, 2 weight vectors, a row
 * and a product fill 14 of the 16 registers, which GCC's allocation of the
 * intrinsics does not keep. */
static inline void d52_sums(__m256i c[10], const int8_t *const xr[5], const int8_t *w0, const int8_t *w1, int kv) {
#if defined(__GNUC__)
    __m256i c0, c1, c2, c3, c4, c5, c6, c7, c8, c9;
    long n = kv / 16, t = 0;
    if (n == 0) {
        for (int i = 0; i < 10; i++) c[i] = _mm256_setzero_si256();
        return;
    }
    __asm__(
#define D52_ZERO(A) "vpxor %x" A ", %x" A ", %x" A "\n\t"
        D52_ZERO("[c0]") D52_ZERO("[c1]") D52_ZERO("[c2]") D52_ZERO("[c3]") D52_ZERO("[c4]")
        D52_ZERO("[c5]") D52_ZERO("[c6]") D52_ZERO("[c7]") D52_ZERO("[c8]") D52_ZERO("[c9]")
#undef D52_ZERO
        "1:\n\t"
        "vpmovsxbw (%[w0],%[t]), %%ymm12\n\t"
        "vpmovsxbw (%[w1],%[t]), %%ymm13\n\t"
#define D52_ROW(X, A, B) "vpmovsxbw (%[" X "],%[t]), %%ymm14\n\t" Q8_ASM_MADD2(A, B)
        D52_ROW("x0", "[c0]", "[c1]")
        D52_ROW("x1", "[c2]", "[c3]")
        D52_ROW("x2", "[c4]", "[c5]")
        D52_ROW("x3", "[c6]", "[c7]")
        D52_ROW("x4", "[c8]", "[c9]")
#undef D52_ROW
        "add $16, %[t]\n\t"
        "dec %[n]\n\t"
        "jnz 1b\n\t"
        : [t] "+r"(t), [n] "+r"(n), [c0] "=x"(c0), [c1] "=x"(c1), [c2] "=x"(c2), [c3] "=x"(c3), [c4] "=x"(c4),
          [c5] "=x"(c5), [c6] "=x"(c6), [c7] "=x"(c7), [c8] "=x"(c8), [c9] "=x"(c9)
        : [x0] "r"(xr[0]), [x1] "r"(xr[1]), [x2] "r"(xr[2]), [x3] "r"(xr[3]), [x4] "r"(xr[4]), [w0] "r"(w0),
          [w1] "r"(w1)
        : "xmm12", "xmm13", "xmm14", "xmm15", "cc", "memory");
    c[0] = c0; c[1] = c1; c[2] = c2; c[3] = c3; c[4] = c4; c[5] = c5; c[6] = c6; c[7] = c7; c[8] = c8; c[9] = c9;
#else
    for (int i = 0; i < 10; i++) c[i] = _mm256_setzero_si256();
    for (int t = 0; t < kv; t += 16) {
        __m256i v0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w0 + t)));
        __m256i v1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w1 + t)));
        for (int i = 0; i < 5; i++) {
            __m256i u = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(xr[i] + t)));
            c[2 * i] = _mm256_add_epi32(c[2 * i], _mm256_madd_epi16(u, v0));
            c[2 * i + 1] = _mm256_add_epi32(c[2 * i + 1], _mm256_madd_epi16(u, v1));
        }
    }
#endif
}

/* the 8 lanes of a and of b summed: [sum a, sum b] */
static inline int64_t d52_hsum2(__m256i a, __m256i b) {
    __m256i h = _mm256_hadd_epi32(a, b);              /* per 128-bit lane: a01 a23 b01 b23 */
    __m128i q = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
    q = _mm_hadd_epi32(q, q);                          /* sum a, sum b, ... */
    return _mm_cvtsi128_si64(q);
}

NNC_RT_Q8_DENSE_KERNEL(nnc_rt_q8_dense_5x2__avx2) {
    q8_epi e = q8_epi_of(o, m);
    if (k > NNC_RT_Q8_KMAX || !e.ok) return 0;
    int kv = k / 16 * 16;
    for (int i0 = 0; i0 < n; i0 += 5) {
        int mi = n - i0 < 5 ? n - i0 : 5;
        const int8_t *xr[5];
        for (int ii = 0; ii < 5; ii++) xr[ii] = x + (long)(i0 + (ii < mi ? ii : 0)) * k;
        for (int j0 = 0; j0 < m; j0 += 2) {
            int mj = m - j0 < 2 ? m - j0 : 2;
            const int8_t *w0 = w + (long)j0 * k, *w1 = mj > 1 ? w0 + k : w0;
            __m256i c[10];
            d52_sums(c, xr, w0, w1, kv);
            for (int ii = 0; ii < mi; ii++) {
                int64_t s2 = d52_hsum2(c[2 * ii], c[2 * ii + 1]);
                int32_t s[2] = {(int32_t)s2, (int32_t)(s2 >> 32)};
                for (int jj = 0; jj < mj; jj++) {
                    int j = j0 + jj;
                    int32_t acc = s[jj] + (kv < k ? dot_tail(xr[ii], jj ? w1 : w0, kv, k) : 0);
                    y[(long)(i0 + ii) * m + j] = q8_epi_out(&e, q8_sat_add(bias ? bias[j] : 0, acc), j);
                }
            }
        }
    }
    return 1;
}

#else
typedef int nnc_rt_q8_dense_x86_empty; /* ISO C: a translation unit is not empty */
#endif
