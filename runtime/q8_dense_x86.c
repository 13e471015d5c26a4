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
 * AVX2: int8 widened to int16 and vpmaddwd (int16 pairs to int32, exact);
 * vpmaddubsw would saturate its int16 pair sums (2 x 255 x 128 > 32767).
 */
#include "nnc_rt_q8_kernels.h"

#if defined(__AVX2__)
#include <immintrin.h>

#include "q8_internal.h"

static int32_t dot_tail(const int8_t *x, const int8_t *w, int from, int k) {
    int32_t s = 0;
    for (int t = from; t < k; t++) s += (int32_t)x[t] * w[t];
    return s;
}

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

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
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

NNC_RT_Q8_DENSE_KERNEL(nnc_rt_q8_dense_4x4__avx512vnni) {
    q8_epi e = q8_epi_of(o, m);
    if (k > NNC_RT_Q8_KMAX || !e.ok) return 0;
    const __m512i off = _mm512_set1_epi8((char)0x80);
    int nk = k / 64, rem = k % 64;
    __mmask64 mk = rem ? (((__mmask64)1 << rem) - 1) : 0;
    for (int j0 = 0; j0 < m; j0 += 4) {
        int mj = m - j0 < 4 ? m - j0 : 4;
        const int8_t *wr[4];
        for (int jj = 0; jj < 4; jj++) wr[jj] = w + (long)(j0 + (jj < mj ? jj : 0)) * k;
        /* 128 sum_k w[j, k] per channel */
        __m512i cs[4];
        for (int jj = 0; jj < 4; jj++) {
            cs[jj] = _mm512_setzero_si512();
            for (int c = 0; c < nk; c++)
                cs[jj] = _mm512_dpbusd_epi32(cs[jj], off, _mm512_loadu_si512(wr[jj] + 64 * c));
            if (rem) cs[jj] = _mm512_dpbusd_epi32(cs[jj], off, _mm512_maskz_loadu_epi8(mk, wr[jj] + 64 * nk));
        }
        int32_t corr[16];
        _mm512_storeu_si512(corr, hsum16(hsum4(cs[0], cs[1], cs[2], cs[3]), _mm512_setzero_si512(),
                                         _mm512_setzero_si512(), _mm512_setzero_si512()));
        for (int i0 = 0; i0 < n; i0 += 4) {
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
        a00 = _mm512_dpbusd_epi32(a00, x0, w0); a01 = _mm512_dpbusd_epi32(a01, x0, w1);   \
        a02 = _mm512_dpbusd_epi32(a02, x0, w2); a03 = _mm512_dpbusd_epi32(a03, x0, w3);   \
        a10 = _mm512_dpbusd_epi32(a10, x1, w0); a11 = _mm512_dpbusd_epi32(a11, x1, w1);   \
        a12 = _mm512_dpbusd_epi32(a12, x1, w2); a13 = _mm512_dpbusd_epi32(a13, x1, w3);   \
        a20 = _mm512_dpbusd_epi32(a20, x2, w0); a21 = _mm512_dpbusd_epi32(a21, x2, w1);   \
        a22 = _mm512_dpbusd_epi32(a22, x2, w2); a23 = _mm512_dpbusd_epi32(a23, x2, w3);   \
        a30 = _mm512_dpbusd_epi32(a30, x3, w0); a31 = _mm512_dpbusd_epi32(a31, x3, w1);   \
        a32 = _mm512_dpbusd_epi32(a32, x3, w2); a33 = _mm512_dpbusd_epi32(a33, x3, w3);   \
    } while (0)
#define LOAD_FULL(p) _mm512_loadu_si512((p) + 64 * c)
#define LOAD_TAIL(p) _mm512_maskz_loadu_epi8(mk, (p) + 64 * nk)
            for (int c = 0; c < nk; c++) VNNI_STEP(LOAD_FULL, LOAD_FULL);
            if (rem) VNNI_STEP(LOAD_TAIL, LOAD_TAIL);
#undef LOAD_FULL
#undef LOAD_TAIL
#undef VNNI_STEP
            int32_t s[16];
            _mm512_storeu_si512(s, hsum16(hsum4(a00, a01, a02, a03), hsum4(a10, a11, a12, a13),
                                          hsum4(a20, a21, a22, a23), hsum4(a30, a31, a32, a33)));
            store_tile(y, s, corr, i0, j0, mi, mj, m, bias, &e);
        }
    }
    return 1;
}
#endif

/* per 128-bit lane [sum a, sum b, sum c, sum d], then both lanes added */
static inline __m128i hsum4_256(__m256i a, __m256i b, __m256i c, __m256i d) {
    __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, d));
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

NNC_RT_Q8_DENSE_KERNEL(nnc_rt_q8_dense_4x4__avx2) {
    q8_epi e = q8_epi_of(o, m);
    if (k > NNC_RT_Q8_KMAX || !e.ok) return 0;
    static const int32_t zero4[4] = {0, 0, 0, 0};
    int kv = k / 16 * 16;
    for (int j0 = 0; j0 < m; j0 += 4) {
        int mj = m - j0 < 4 ? m - j0 : 4;
        const int8_t *wr[4];
        for (int jj = 0; jj < 4; jj++) wr[jj] = w + (long)(j0 + (jj < mj ? jj : 0)) * k;
        for (int i0 = 0; i0 < n; i0 += 4) {
            int mi = n - i0 < 4 ? n - i0 : 4;
            const int8_t *xr[4];
            for (int ii = 0; ii < 4; ii++) xr[ii] = x + (long)(i0 + (ii < mi ? ii : 0)) * k;
            __m256i a[4][4];
            for (int ii = 0; ii < 4; ii++)
                for (int jj = 0; jj < 4; jj++) a[ii][jj] = _mm256_setzero_si256();
            for (int t = 0; t < kv; t += 16) {
                __m256i xv[4], wv[4];
                for (int ii = 0; ii < 4; ii++)
                    xv[ii] = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(xr[ii] + t)));
                for (int jj = 0; jj < 4; jj++)
                    wv[jj] = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(wr[jj] + t)));
                for (int ii = 0; ii < 4; ii++)
                    for (int jj = 0; jj < 4; jj++)
                        a[ii][jj] = _mm256_add_epi32(a[ii][jj], _mm256_madd_epi16(xv[ii], wv[jj]));
            }
            int32_t s[16];
            for (int ii = 0; ii < 4; ii++) {
                __m128i r = hsum4_256(a[ii][0], a[ii][1], a[ii][2], a[ii][3]);
                _mm_storeu_si128((__m128i *)(s + 4 * ii), r);
                if (kv < k)
                    for (int jj = 0; jj < 4; jj++) s[4 * ii + jj] += dot_tail(xr[ii], wr[jj], kv, k);
            }
            store_tile(y, s, zero4, i0, j0, mi, mj, m, bias, &e);
        }
    }
    return 1;
}

#else
typedef int nnc_rt_q8_dense_x86_empty; /* ISO C: a translation unit is not empty */
#endif
