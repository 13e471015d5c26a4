/* gemm_internal.h — what the GEMM's files (gemm.c, gemm_ukernel.c,
 * gemm_pack.c, gemm_small.c) share and nothing else includes: the fused
 * multiply-add macro, the micro-kernel contract, and the packing and
 * small-shape paths the blocked driver calls.  Split so that each file has
 * one job; the symbols carry the runtime's prefix because, no longer
 * static, they share the library's namespace with generated code.
 */
#ifndef NNC_GEMM_INTERNAL_H
#define NNC_GEMM_INTERNAL_H

#include <math.h>

#include "nnc_rt.h"

/* a*b + c, fused when the target has a fast fmaf (C99's FP_FAST_FMAF, or
 * the compiler's own macro where the C library does not define it: newlib
 * on a Cortex-M4F, whose FPU has VFMA) */
#if defined(FP_FAST_FMAF) || defined(__FP_FAST_FMAF)
#define MADD(a, b, c) fmaf(a, b, c)
#else
#define MADD(a, b, c) ((a) * (b) + (c))
#endif

#if defined(__aarch64__) && defined(__ARM_NEON) && !defined(__AVX2__) && !defined(__AVX512F__)
#define HAVE_NEON 1
#endif

#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

#define NR_MAX 32                   /* the widest micro-kernel tile */
#define SMALL_M 4                   /* fewer rows (or K) than this: no packing (gemm_small.c) */

/* ---- micro-kernels (gemm_ukernel.c) ----------------------------------------
 * c[MR,NR] = alpha * a . b (+ beta * c when beta != 0), where b is a packed
 * sliver (kc, NR) — b[p*bs + j] = op(B)[p,j] — and a is read in place with
 * strides: op(A)[i,p] = a[i*rs + p*cs] (rs = lda, cs = 1 for A; rs = 1,
 * cs = lda for A^T).  beta == 0 never reads c.  The epilogue of the last K
 * block, in registers before the store: + bias[0:NR] when bias is not
 * NULL, then clamp 1 (relu) to [0, inf) or clamp 2 (relu6) to [0, 6].
 * With y (the activation's forward output, y[i*ldy + j] beside c[i*ldc +
 * j]; bias is then NULL) clamp is the gradient instead: each value is
 * kept where y > 0 (and, clamp 2, y < 6), else 0 — relu' applied as the
 * tile is stored, not in a second pass over C and y. */
typedef void (*gemm_ukernel_fn)(long kc, const float *a, long rs, long cs, const float *b,
                                long bs, float *c, long ldc, float alpha, float beta,
                                const float *bias, int clamp, const float *y, long ldy);
#define GEMM_UKERNEL(name)                                                                  \
    void name(long kc, const float *restrict a, long rs, long cs, const float *restrict b, \
              long bs, float *restrict c, long ldc, float alpha, float beta,                \
              const float *restrict bias, int clamp, const float *restrict y, long ldy)
GEMM_UKERNEL(nnc_rt_f32_gemm_ukernel_6x16__c);
#if defined(__AVX2__) && defined(__FMA__)
GEMM_UKERNEL(nnc_rt_f32_gemm_ukernel_6x16__avx2);
GEMM_UKERNEL(nnc_rt_f32_gemm_ukernel_6x8__avx2);
#endif
#if defined(__AVX512F__)
GEMM_UKERNEL(nnc_rt_f32_gemm_ukernel_8x32__avx512);
GEMM_UKERNEL(nnc_rt_f32_gemm_ukernel_16x16__avx512);
#endif
#if defined(HAVE_NEON)
GEMM_UKERNEL(nnc_rt_f32_gemm_ukernel_6x16__neon);
#endif

/* ---- packing (gemm_pack.c) -------------------------------------------------- */
/* ap = rows [i0, i0 + rows) of op(A), columns [p0, p0 + kc), as one (kc, mr)
 * sliver, rows past `rows` zero */
void nnc_rt_gemm_pack_a_edge(float *restrict ap, int ta, const float *restrict A, long lda,
                             long i0, long p0, int rows, int kc, int mr, int zero);
/* bp = the (kc, nr) sliver of op(B) at (p0, j0), nc <= nr valid columns */
void nnc_rt_gemm_pack_b_sliver(float *restrict bp, int tb, const float *restrict B, long ldb,
                               long p0, long j0, int kc, int nc, int nr);
/* where column j of a B that is not transposed starts, and its strides:
 * op(B)[p, j + l] = b[p*rs + l*cs] (ldb == 0: B in panels) */
const float *nnc_rt_gemm_bcols(const float *B, long ldb, long K, long N, long j, long *rs,
                               long *cs);

/* ---- a narrow C from A^T (gemm_small.c) --------------------------------------
 * rows [i0, i1) of C = alpha A^T B for N <= NARROW_AT_N (0: no such path in
 * this build): A is K x M (lda), B is K x N (ldb), row-major; and A op(B)
 * by dot products along K */
#if defined(__AVX2__) && defined(__FMA__) && !defined(__AVX512F__)
#define NARROW_AT_N 12
void nnc_rt_gemm_narrow_at(long i0, long i1, int N, int K, float alpha, const float *A, long lda,
                           const float *B, long ldb, float *C, long ldc);
/* rows [i0, i1) of C = alpha A op(B), N <= NARROW_AT_N, A row-major:
 * op(B)[p, j] = B[p*ldb + j], or with tb B[j*ldb + p] */
void nnc_rt_gemm_narrow_dot(long i0, long i1, int N, int K, float alpha, const float *A, long lda,
                            const float *B, long ldb, int tb, float *C, long ldc);
#else
#define NARROW_AT_N 0
#endif

#if defined(__AVX2__)
#include <immintrin.h>
/* r[l][j] = r[j][l] for an 8 x 8 block in registers: the classic unpack /
 * shuffle / permute transpose, 24 shuffles for 64 floats */
static inline void nnc_rt_transpose_8x8(__m256 r[8])
{
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}
/* dst[l*ldd + j] = src[j*lds + l] for an 8 x 8 block */
static inline void nnc_rt_transpose_8x8_copy(float *dst, long ldd, const float *src, long lds)
{
    __m256 r[8];
    int l;
    for (l = 0; l < 8; l++)
        r[l] = _mm256_loadu_ps(src + l * lds);
    nnc_rt_transpose_8x8(r);
    for (l = 0; l < 8; l++)
        _mm256_storeu_ps(dst + l * ldd, r[l]);
}
#endif

/* ---- the small shapes (gemm_small.c): C = alpha op(A) op(B) + beta C ---------- */
/* M < SMALL_M; narrow: 8 columns at a time (few registers) instead of 64 */
void nnc_rt_gemm_small_m(int ta, int tb, int M, int N, int K, float alpha, const float *A,
                         long lda, const float *B, long ldb, float beta, float *C, long ldc,
                         int narrow);
/* K < SMALL_M */
void nnc_rt_gemm_small_k(int ta, int tb, int M, int N, int K, float alpha, const float *A,
                         long lda, const float *B, long ldb, float beta, float *C, long ldc);

#endif
