/* gemm_ukernel.c — the GEMM's register-blocked micro-kernels, one per tile
 * and ISA (nnc_rt_f32_gemm_ukernel_MRxNR__isa), all to the contract in
 * gemm_internal.h; gemm.c's blocked driver calls them and picks the best
 * the target's macros allow.
 *
 * Design: one portable kernel written for auto-vectorisation, and one
 * macro body (SIMD_UKERNEL) for every intrinsic ISA, so that AVX2, AVX-512
 * and NEON differ only in their vector type, width and tile: one place to
 * get the loop, the broadcasts and the epilogue right.
 */
#include "gemm_internal.h"

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#elif defined(HAVE_NEON)
#include <arm_neon.h>
#endif

/* Portable: six row accumulators of 16 floats (the compiler keeps each in
 * one zmm or two ymm registers); the innermost loop runs over the 16
 * contiguous columns of b so it vectorises, and MADD becomes a fused
 * multiply-add when the target has one (FP_FAST_FMAF). */
GEMM_UKERNEL(nnc_rt_f32_gemm_ukernel_6x16__c)
{
    float c0[16] = {0}, c1[16] = {0}, c2[16] = {0}, c3[16] = {0}, c4[16] = {0}, c5[16] = {0};
    float *acc[6];
    long p;
    int i, j;
    for (p = 0; p < kc; p++) {
        const float *restrict bp = b + p * bs, *restrict ap = a + p * cs;
        float a0 = ap[0], a1 = ap[rs], a2 = ap[2 * rs];
        float a3 = ap[3 * rs], a4 = ap[4 * rs], a5 = ap[5 * rs];
        for (j = 0; j < 16; j++) {
            float bj = bp[j];
            c0[j] = MADD(a0, bj, c0[j]);
            c1[j] = MADD(a1, bj, c1[j]);
            c2[j] = MADD(a2, bj, c2[j]);
            c3[j] = MADD(a3, bj, c3[j]);
            c4[j] = MADD(a4, bj, c4[j]);
            c5[j] = MADD(a5, bj, c5[j]);
        }
    }
    acc[0] = c0; acc[1] = c1; acc[2] = c2; acc[3] = c3; acc[4] = c4; acc[5] = c5;
    for (i = 0; i < 6; i++) {
        float *restrict ci = c + i * ldc;
        if (beta == 0.0f)
            for (j = 0; j < 16; j++)
                ci[j] = alpha * acc[i][j];
        else
            for (j = 0; j < 16; j++)
                ci[j] = alpha * acc[i][j] + beta * ci[j];
        if (y) {
            const float *restrict yi = y + i * ldy;
            for (j = 0; j < 16; j++)
                ci[j] = yi[j] > 0.0f && (clamp != 2 || yi[j] < 6.0f) ? ci[j] : 0.0f;
            continue;
        }
        if (bias)
            for (j = 0; j < 16; j++)
                ci[j] += bias[j];
        if (clamp) {
            const float hi = nnc_rt_clamp_hi(clamp);
            for (j = 0; j < 16; j++) {
                float v = ci[j] > 0.0f ? ci[j] : 0.0f;
                ci[j] = v < hi ? v : hi;
            }
        }
    }
}

/* The SIMD kernels: MR rows of NV vectors.  Accumulators are an array the
 * compiler keeps in registers (every index is a constant once the fixed
 * loops are unrolled); each step loads NV vectors of b and broadcasts MR
 * values of a. */
#if defined(__GNUC__)
#define UNROLL _Pragma("GCC unroll 16")
#else
#define UNROLL
#endif

/* kc steps of acc += a(:, p) b(p, :).  Row i of a is read through one of
 * MR/4 pointers (rows 4g..4g+3 from a + 4g*rs), each moved by cs a step, at
 * offsets 0, rs, 2rs, 3rs: a few registers for 16 rows, where a + i*rs for
 * every i would not fit in the general-purpose registers (the 16-row kernel
 * spilled them, 1.5x slower) */
#define SIMD_STEPS(MR, NV, vec, W, RS, load, bcast, fma)                                    \
    do {                                                                                 \
        const long r1 = (RS), r2 = 2 * (RS), r3 = 3 * (RS);                              \
        const float *ab[(MR + 3) / 4];                                                   \
        UNROLL for (i = 0; i < (MR + 3) / 4; i++)                                        \
            ab[i] = a + 4 * i * (RS);                                                    \
        for (p = 0; p < kc; p++) {                                                       \
            vec bv[NV];                                                                  \
            UNROLL for (v = 0; v < NV; v++)                                              \
                bv[v] = load(b + p * bs + v * W);                                        \
            UNROLL for (i = 0; i < MR; i++) {                                            \
                const float *q = ab[i / 4] + (i % 4 == 0 ? 0 : i % 4 == 1 ? r1           \
                                              : i % 4 == 2 ? r2 : r3);                   \
                vec ai = bcast(q);                                                       \
                UNROLL for (v = 0; v < NV; v++)                                          \
                    acc[i][v] = fma(ai, bv[v], acc[i][v]);                               \
            }                                                                            \
            UNROLL for (i = 0; i < (MR + 3) / 4; i++)                                    \
                ab[i] += cs;                                                             \
        }                                                                                \
    } while (0)

#define SIMD_UKERNEL(name, MR, NV, vec, W, zero, load, loadu, storeu, bcast, fma, mul, set1, \
                    add, max, min, keep_gt)                                              \
GEMM_UKERNEL(name)                                                                       \
{                                                                                        \
    vec acc[MR][NV], va = set1(alpha), vb = set1(beta), hi = set1(nnc_rt_clamp_hi(clamp));      \
    long p;                                                                              \
    int i, v;                                                                            \
    UNROLL for (i = 0; i < MR; i++)                                                      \
        UNROLL for (v = 0; v < NV; v++)                                                  \
            acc[i][v] = zero();                                                          \
    if (rs == 1) /* A^T: the MR values of a step are adjacent */                         \
        SIMD_STEPS(MR, NV, vec, W, 1, load, bcast, fma);                                   \
    else                                                                                 \
        SIMD_STEPS(MR, NV, vec, W, rs, load, bcast, fma);                                   \
    UNROLL for (i = 0; i < MR; i++)                                                      \
        UNROLL for (v = 0; v < NV; v++) {                                                \
            float *ci = c + i * ldc + v * W;                                             \
            vec r = mul(va, acc[i][v]);                                                  \
            if (beta != 0.0f)                                                            \
                r = fma(vb, loadu(ci), r);                                               \
            if (y) {                                                                     \
                vec yv = loadu(y + i * ldy + v * W);                                     \
                r = keep_gt(r, yv, zero());                                              \
                if (clamp == 2)                                                          \
                    r = keep_gt(r, hi, yv);                                              \
            } else {                                                                     \
                if (bias)                                                                \
                    r = add(r, loadu(bias + v * W));                                     \
                if (clamp)                                                               \
                    r = min(max(r, zero()), hi);                                         \
            }                                                                            \
            storeu(ci, r);                                                               \
        }                                                                                \
}

/* keep_gt(r, a, b): r where a > b, else 0 (false for a NaN, as the
 * reference's comparison is) */
#if defined(__AVX2__) && defined(__FMA__)
static inline __m256 keep_gt_avx2(__m256 r, __m256 a, __m256 b)
{
    return _mm256_and_ps(r, _mm256_cmp_ps(a, b, _CMP_GT_OQ));
}
/* 6 rows x 2 ymm: 12 accumulators + 2 b vectors + 1 broadcast = 15 of 16 ymm */
SIMD_UKERNEL(nnc_rt_f32_gemm_ukernel_6x16__avx2, 6, 2, __m256, 8, _mm256_setzero_ps, _mm256_loadu_ps,
             _mm256_loadu_ps, _mm256_storeu_ps, _mm256_broadcast_ss, _mm256_fmadd_ps,
             _mm256_mul_ps, _mm256_set1_ps, _mm256_add_ps, _mm256_max_ps, _mm256_min_ps, keep_gt_avx2)
/* 6 rows x 1 ymm: the last sliver of a product whose N leaves at most 8
 * columns past the 16-wide ones (MobileNetV2's 24-channel layers), where
 * 6x16 would compute half its tile for nothing */
SIMD_UKERNEL(nnc_rt_f32_gemm_ukernel_6x8__avx2, 6, 1, __m256, 8, _mm256_setzero_ps, _mm256_loadu_ps,
             _mm256_loadu_ps, _mm256_storeu_ps, _mm256_broadcast_ss, _mm256_fmadd_ps,
             _mm256_mul_ps, _mm256_set1_ps, _mm256_add_ps, _mm256_max_ps, _mm256_min_ps, keep_gt_avx2)
#endif

#if defined(__AVX512F__)
#define BCAST512(p) _mm512_set1_ps(*(p))
static inline __m512 keep_gt_avx512(__m512 r, __m512 a, __m512 b)
{
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(a, b, _CMP_GT_OQ), r);
}
/* 8 rows x 2 zmm: 16 accumulators + 2 b vectors + broadcasts, of 32 zmm */
SIMD_UKERNEL(nnc_rt_f32_gemm_ukernel_8x32__avx512, 8, 2, __m512, 16, _mm512_setzero_ps, _mm512_loadu_ps,
             _mm512_loadu_ps, _mm512_storeu_ps, BCAST512, _mm512_fmadd_ps,
             _mm512_mul_ps, _mm512_set1_ps, _mm512_add_ps, _mm512_max_ps, _mm512_min_ps, keep_gt_avx512)
/* 16 rows x 1 zmm, for products at most 16 columns wide (a classifier's
 * ten outputs), where 8x32 would compute two thirds of every tile for
 * nothing */
SIMD_UKERNEL(nnc_rt_f32_gemm_ukernel_16x16__avx512, 16, 1, __m512, 16, _mm512_setzero_ps, _mm512_loadu_ps,
             _mm512_loadu_ps, _mm512_storeu_ps, BCAST512, _mm512_fmadd_ps,
             _mm512_mul_ps, _mm512_set1_ps, _mm512_add_ps, _mm512_max_ps, _mm512_min_ps, keep_gt_avx512)
#endif

#if defined(HAVE_NEON)
#define NEON_ZERO() vdupq_n_f32(0.0f)
#define NEON_FMA(a, b, c) vfmaq_f32(c, a, b)
static inline float32x4_t keep_gt_neon(float32x4_t r, float32x4_t a, float32x4_t b)
{
    return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(r), vcgtq_f32(a, b)));
}
/* AArch64: 6 rows x 4 q registers: 24 accumulators + 4 b vectors + a
 * broadcast, of 32 */
SIMD_UKERNEL(nnc_rt_f32_gemm_ukernel_6x16__neon, 6, 4, float32x4_t, 4, NEON_ZERO, vld1q_f32, vld1q_f32, vst1q_f32,
             vld1q_dup_f32, NEON_FMA, vmulq_f32, vdupq_n_f32, vaddq_f32, vmaxq_f32, vminq_f32, keep_gt_neon)
#endif
