/* gemm.c — single-precision GEMM: the reference oracle, the fast blocked
 * version, and dense_forward (GEMM with a fused bias + activation epilogue).
 *
 *   C[M,N] = alpha * op(A)[M,K] . op(B)[K,N] + beta * C,  op(X) = X or X^T
 *
 * Design.  K is cut into blocks (nnc_rt_gemm_tiles_for).  For each K block, each
 * NR-column sliver of op(B) is packed once into a contiguous (kc, NR) panel
 * (or read in place when B is not transposed and C has at most INPLACE_B_M
 * rows, or B is a constant already in 32-wide panels), and all of M then
 * sweeps it, MR rows at a time: a
 * register-blocked micro-kernel computes one MR x NR tile of C per call,
 * broadcasting the values of op(A) straight from A through two strides
 * (A row-major or transposed alike), so A is never copied and B is copied
 * once per product.  The B panel stays in L1 (32 KiB at 256 x 32) while the
 * rows of A stream from L2.  Edge tiles: the last M rows are packed
 * zero-padded (once per K block), and a partial N sliver is zero-padded and
 * stored through a small tile buffer, so the kernels never branch on size.
 *
 * No global mutable state and no malloc: the buffers live on the stack of
 * the blocked path (41 KiB; 4 KiB on M-profile microcontrollers).
 *
 * Fewer than SMALL_M rows (inference on one sample) skip packing
 * altogether: see gemm_small_m.  So do rank-K updates with K < SMALL_M.
 *
 * Micro-kernels, the best chosen at compile time; each is also exported as
 * a whole GEMM under its own name and listed by nnc_rt_gemm_f32_variants(),
 * so tests check every one the library contains against the reference:
 *   nnc_rt_f32_gemm_6x16__c        portable C written for auto-vectorisation
 *   nnc_rt_f32_gemm_6x16_1x8__c    the same with a narrow small-M path (M-profile)
 *   nnc_rt_f32_gemm_6x16__avx2     AVX2 + FMA intrinsics
 *   nnc_rt_f32_gemm_8x32__avx512   AVX-512F intrinsics
 *   nnc_rt_f32_gemm_16x16__avx512  AVX-512F, for N <= 16 (chosen there)
 * All of them accumulate each C element in float over p in order, one
 * K block at a time, so results are deterministic for a given build.
 * Measured with bench/gemm.c (make bench): 92-97 % of this core's FMA peak
 * at 256^3 and at the MLP's batch-32 shapes.
 */
#include <math.h>
#include <string.h>

#include "nnc_rt.h"

/* a*b + c, fused when the target has a fast fmaf (C99's FP_FAST_FMAF, or
 * the compiler's own macro where the C library does not define it: newlib
 * on a Cortex-M4F, whose FPU has VFMA) */
#if defined(FP_FAST_FMAF) || defined(__FP_FAST_FMAF)
#define MADD(a, b, c) fmaf(a, b, c)
#else
#define MADD(a, b, c) ((a) * (b) + (c))
#endif

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#elif defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>
#define HAVE_NEON 1
#endif

/* The packing buffer lives on the stack of the blocked path only (small M
 * never allocates it).  Microcontrollers (M profile) get a small one: their
 * stacks are a few KiB, and their caches, if any, are tiny. */
#define NR_MAX 32
#define MR_MAX 16
#define BUF_ALIGN 16                /* floats: 64-byte alignment */
#if defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'
#define BUF_FLOATS 1024             /* 4 KiB */
#define L1_BYTES 0                  /* no data cache to fit */
#else
#define BUF_FLOATS (KC_LIMIT * (NR_MAX + MR_MAX) + 2 * BUF_ALIGN) /* 48 KiB at most */
#if defined(__AVX512F__)
#define L1_BYTES (48 * 1024)        /* Ice Lake, Sapphire Rapids, Zen 5 */
#else
#define L1_BYTES (32 * 1024)
#endif
#endif
#define KC_LIMIT 256                /* the deepest K block, whatever the cache */
/* Up to this many rows of C, the kernels read a sliver of B (when not
 * transposed) in place rather than packed: for so few rows the copy costs
 * more than the strided reads (batch-32 training: 194 -> 236 GFLOP/s). */
#define INPLACE_B_M 64
#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

/* ---- reference ------------------------------------------------------------
 * The oracle: a plain triple loop, accumulated in double so that it is the
 * most accurate thing in the tests. */
void nnc_rt_gemm_f32_ref(int ta, int tb, int M, int N, int K, float alpha,
                         const float *A, int lda, const float *B, int ldb,
                         float beta, float *C, int ldc)
{
    long i, j, p;
    for (i = 0; i < M; i++)
        for (j = 0; j < N; j++) {
            double s = 0.0;
            float *c = &C[i * (long)ldc + j];
            for (p = 0; p < K; p++) {
                float a = ta ? A[p * (long)lda + i] : A[i * (long)lda + p];
                float b = tb ? B[j * (long)ldb + p] : B[p * (long)ldb + j];
                s += (double)a * (double)b;
            }
            *c = beta == 0.0f ? (float)(alpha * s) : (float)(alpha * s + (double)beta * *c);
        }
}

/* ---- micro-kernels -----------------------------------------------------------
 * c[MR,NR] = alpha * a . b (+ beta * c when beta != 0), where b is a packed
 * sliver (kc, NR) — b[p*NR + j] = op(B)[p,j] — and a is read in place with
 * strides: op(A)[i,p] = a[i*rs + p*cs] (rs = lda, cs = 1 for A; rs = 1,
 * cs = lda for A^T).  beta == 0 never reads c.  The epilogue of the last K
 * block, in registers before the store: + bias[0:NR] when bias is not
 * NULL, then clamp 1 (relu) to [0, inf) or clamp 2 (relu6) to [0, 6]. */
typedef void (*gemm_ukernel_fn)(long kc, const float *a, long rs, long cs, const float *b,
                                long bs, float *c, long ldc, float alpha, float beta,
                                const float *bias, int clamp);


/* Portable: six row accumulators of 16 floats (the compiler keeps each in
 * one zmm or two ymm registers); the innermost loop runs over the 16
 * contiguous columns of b so it vectorises, and MADD becomes a fused
 * multiply-add when the target has one (FP_FAST_FMAF). */
static void ukernel_6x16_c(long kc, const float *restrict a, long rs, long cs,
                           const float *restrict b, long bs, float *restrict c, long ldc,
                           float alpha, float beta, const float *restrict bias, int clamp)
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
                    add, max, min)                                                       \
static void name(long kc, const float *restrict a, long rs, long cs,                     \
                 const float *restrict b, long bs, float *restrict c, long ldc,          \
                 float alpha, float beta, const float *restrict bias, int clamp)         \
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
            if (bias)                                                                    \
                r = add(r, loadu(bias + v * W));                                         \
            if (clamp)                                                                   \
                r = min(max(r, zero()), hi);                                             \
            storeu(ci, r);                                                               \
        }                                                                                \
}

#if defined(__AVX2__) && defined(__FMA__)
/* 6 rows x 2 ymm: 12 accumulators + 2 b vectors + 1 broadcast = 15 of 16 ymm */
SIMD_UKERNEL(ukernel_6x16_avx2, 6, 2, __m256, 8, _mm256_setzero_ps, _mm256_loadu_ps,
             _mm256_loadu_ps, _mm256_storeu_ps, _mm256_broadcast_ss, _mm256_fmadd_ps,
             _mm256_mul_ps, _mm256_set1_ps, _mm256_add_ps, _mm256_max_ps, _mm256_min_ps)
#endif

#if defined(__AVX512F__)
#define BCAST512(p) _mm512_set1_ps(*(p))
/* 8 rows x 2 zmm: 16 accumulators + 2 b vectors + broadcasts, of 32 zmm */
SIMD_UKERNEL(ukernel_8x32_avx512, 8, 2, __m512, 16, _mm512_setzero_ps, _mm512_loadu_ps,
             _mm512_loadu_ps, _mm512_storeu_ps, BCAST512, _mm512_fmadd_ps,
             _mm512_mul_ps, _mm512_set1_ps, _mm512_add_ps, _mm512_max_ps, _mm512_min_ps)
/* 16 rows x 1 zmm, for products at most 16 columns wide (a classifier's
 * ten outputs), where 8x32 would compute two thirds of every tile for
 * nothing */
SIMD_UKERNEL(ukernel_16x16_avx512, 16, 1, __m512, 16, _mm512_setzero_ps, _mm512_loadu_ps,
             _mm512_loadu_ps, _mm512_storeu_ps, BCAST512, _mm512_fmadd_ps,
             _mm512_mul_ps, _mm512_set1_ps, _mm512_add_ps, _mm512_max_ps, _mm512_min_ps)
#endif

#if defined(HAVE_NEON)
#define NEON_ZERO() vdupq_n_f32(0.0f)
#define NEON_FMA(a, b, c) vfmaq_f32(c, a, b)
/* AArch64: 6 rows x 4 q registers: 24 accumulators + 4 b vectors + a
 * broadcast, of 32 */
SIMD_UKERNEL(ukernel_6x16_neon, 6, 4, float32x4_t, 4, NEON_ZERO, vld1q_f32, vld1q_f32, vst1q_f32,
             vld1q_dup_f32, NEON_FMA, vmulq_f32, vdupq_n_f32, vaddq_f32, vmaxq_f32, vminq_f32)
#endif

/* ---- packing -------------------------------------------------------------- */

/* ap = rows [i0, i0 + rows) of op(A), columns [p0, p0 + kc), as one (kc, mr)
 * sliver — ap[p*mr + i] — with rows past `rows` zero: the M edge, which the
 * kernels (reading mr rows of A in place) would otherwise run off */
static void pack_a_edge(float *restrict ap, int ta, const float *restrict A, long lda,
                        long i0, long p0, int rows, int kc, int mr)
{
    int i, p;
    for (p = 0; p < kc; p++)
        for (i = 0; i < mr; i++)
            ap[p * mr + i] = i >= rows ? 0.0f
                             : ta ? A[(p0 + p) * lda + i0 + i] : A[(i0 + i) * lda + p0 + p];
}

#if defined(__AVX2__)
/* dst[l*ldd + j] = src[j*lds + l] for an 8 x 8 block: the classic
 * unpack / shuffle / permute transpose, 24 shuffles for 64 floats. */
static void transpose_8x8_avx(float *dst, long ldd, const float *src, long lds)
{
    __m256 r0 = _mm256_loadu_ps(src + 0 * lds), r1 = _mm256_loadu_ps(src + 1 * lds);
    __m256 r2 = _mm256_loadu_ps(src + 2 * lds), r3 = _mm256_loadu_ps(src + 3 * lds);
    __m256 r4 = _mm256_loadu_ps(src + 4 * lds), r5 = _mm256_loadu_ps(src + 5 * lds);
    __m256 r6 = _mm256_loadu_ps(src + 6 * lds), r7 = _mm256_loadu_ps(src + 7 * lds);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_storeu_ps(dst + 0 * ldd, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(dst + 1 * ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(dst + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(dst + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(dst + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(dst + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(dst + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(dst + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
}
#endif

/* Where column j of a B that is not transposed starts, and the strides:
 * op(B)[p, j + l] = b[p*rs + l*cs].  ldb == 0 says B is in panels
 * (nnc_rt_gemm_pack_b): NNC_RT_GEMM_PANEL columns at a time, each panel
 * its K rows one after the other (rs = 64, cs = 1), so a kernel streams it
 * contiguously — except a last, narrower panel, which is stored transposed
 * (rs = 1, cs = K): its few columns are then long contiguous vectors, and
 * one sample's product with them is a handful of dot products (a
 * classifier's ten outputs) instead of a 10-wide loop.  32 columns: the
 * AVX-512 kernel's sliver is one panel, read in place at any M.  Every
 * column group the kernels take (8, 16 or 32 wide, starting at a multiple
 * of its width; the small-M path's 64 as two halves) lies inside one panel. */
static const float *bcols(const float *B, long ldb, long K, long N, long j, long *rs, long *cs)
{
    long j0 = j / NNC_RT_GEMM_PANEL * NNC_RT_GEMM_PANEL;
    *cs = 1;
    if (ldb) {
        *rs = ldb;
        return B + j;
    }
    if (N - j0 < NNC_RT_GEMM_PANEL) { /* the narrow last panel: transposed */
        *rs = 1;
        *cs = K;
        return B + j0 * K + (j - j0) * K;
    }
    *rs = NNC_RT_GEMM_PANEL;
    return B + j0 * K + (j - j0);
}

void nnc_rt_gemm_pack_b(float *dst, const float *B, int K, int N)
{
    long j0, p, j;
    for (j0 = 0; j0 < N; j0 += NNC_RT_GEMM_PANEL) {
        long w = N - j0 < NNC_RT_GEMM_PANEL ? N - j0 : NNC_RT_GEMM_PANEL;
        if (w < NNC_RT_GEMM_PANEL) { /* the narrow last panel, transposed */
            for (j = 0; j < w; j++)
                for (p = 0; p < K; p++)
                    *dst++ = B[p * N + j0 + j];
        } else {
            for (p = 0; p < K; p++)
                for (j = 0; j < w; j++)
                    *dst++ = B[p * N + j0 + j];
        }
    }
}

/* bp = the (kc, nr) sliver of op(B) at (p0, j0), nc <= nr valid columns,
 * the rest zero (B not transposed: B points at the sliver's column 0). */
static void pack_b(float *restrict bp, int tb, const float *restrict B, long ldb,
                   long p0, long j0, int kc, int nc, int nr)
{
    int p, j;
    if (tb) { /* op(B)[p,j] = B[j,p]: each row of B is one column of the sliver */
        j = 0;
#if defined(__AVX2__)
        for (; j + 8 <= nc; j += 8) {
            const float *src = B + (j0 + j) * ldb + p0;
            for (p = 0; p + 8 <= kc; p += 8)
                transpose_8x8_avx(bp + p * nr + j, nr, src + p, ldb);
            for (; p < kc; p++) {
                int l;
                for (l = 0; l < 8; l++)
                    bp[p * nr + j + l] = src[l * ldb + p];
            }
        }
#endif
        for (; j < nc; j++) {
            const float *src = B + (j0 + j) * ldb + p0;
            for (p = 0; p < kc; p++)
                bp[p * nr + j] = src[p];
        }
        for (; j < nr; j++)
            for (p = 0; p < kc; p++)
                bp[p * nr + j] = 0.0f;
    } else if (nc == NR_MAX && nr == NR_MAX) { /* a whole sliver: fixed-width rows */
        for (p = 0; p < kc; p++) {
            const float *restrict src = B + (p0 + p) * ldb + j0;
            for (j = 0; j < NR_MAX; j++)
                bp[p * NR_MAX + j] = src[j];
        }
    } else {
        for (p = 0; p < kc; p++) {
            const float *src = B + (p0 + p) * ldb + j0;
            for (j = 0; j < nc; j++)
                bp[p * nr + j] = src[j];
            for (; j < nr; j++)
                bp[p * nr + j] = 0.0f;
        }
    }
}

/* ---- epilogue ------------------------------------------------------------------
 * What is applied to C once its last K block is in: C = act(C + bias) (bias
 * may be NULL, act elementwise or LINEAR); or, with y, the gradient form
 * C = act'(C) from the forward output y (act_backward: C is dy, becomes dz) */
typedef struct gemm_epi {
    const float *bias;
    int act;
    const float *y;     /* the gradient form, or NULL */
    long ldy;
} gemm_epi;

static int epi_none(const gemm_epi *e) { return !e->bias && !e->y && e->act == NNC_RT_ACT_LINEAR; }

/* e on c[rows, cols], which are rows i0.., columns j0.. of the product */
static void epilogue(float *c, long ldc, int rows, int cols, const gemm_epi *e, long i0, long j0)
{
    const float *bias = e->bias ? e->bias + j0 : NULL;
    const int act = e->act;
    int i, j;
    if (e->y) {
        for (i = 0; i < rows; i++)
            nnc_rt_act_backward(act, c + i * ldc, c + i * ldc, e->y + (i0 + i) * e->ldy + j0, 1, cols);
        return;
    }
    for (i = 0; i < rows; i++) {
        float *restrict ci = c + i * ldc;
        if (bias && nnc_rt_act_clamp(act)) { /* the common case, in one vectorised loop */
            const float hi = nnc_rt_clamp_hi(nnc_rt_act_clamp(act));
            for (j = 0; j < cols; j++) {
                float v = ci[j] + bias[j];
                v = v > 0.0f ? v : 0.0f;
                ci[j] = v < hi ? v : hi;
            }
            continue;
        }
        if (bias)
            for (j = 0; j < cols; j++)
                ci[j] += bias[j];
        if (act != NNC_RT_ACT_LINEAR)
            nnc_rt_act_forward(act, ci, ci, 1, cols);
    }
}

/* ---- small M -----------------------------------------------------------------
 * Fewer rows than SMALL_M: packing B would cost as much as the product, so
 * each row of C is computed straight from A and B (one sample at inference
 * costs one sample).
 *   tb == 0: c[i, j] = sum_p a(i,p) B[p, j], 64 columns at a time held in
 *            four 16-float accumulators while the rows of B stream past;
 *   tb == 1: c[i, j] = a(i,:) . B[j,:], a dot product of two contiguous
 *            rows in 32 independent lanes (vectorises without
 *            reassociation), the lanes summed in a fixed order. */
#define SMALL_M 4

/* out[0:64] = sum_p a[p*as] * (b[p*ldb + 0:32], b2[p*ldb + 0:32]): two
 * 32-column halves (adjacent panels, or b2 = b + 32).  Not inlined: its
 * accumulators (512 bytes on a core without vector registers) would sit in
 * every caller's frame, also where the narrow path runs instead */
static NOINLINE void small_axpy_64(long K, const float *restrict a, long as,
                                   const float *restrict b, const float *restrict b2, long ldb,
                                   float *restrict out)
{
    /* even and odd rows of b in separate accumulators: eight independent
     * chains of multiply-adds, enough to hide the FMA latency */
    float c0[16] = {0}, c1[16] = {0}, c2[16] = {0}, c3[16] = {0};
    float d0[16] = {0}, d1[16] = {0}, d2[16] = {0}, d3[16] = {0};
    long p;
    int l;
    for (p = 0; p + 2 <= K; p += 2) {
        float s = a[p * as], t = a[(p + 1) * as];
        const float *restrict bp = b + p * ldb, *restrict bq = bp + ldb;
        const float *restrict bp2 = b2 + p * ldb, *restrict bq2 = bp2 + ldb;
        for (l = 0; l < 16; l++) {
            c0[l] = MADD(s, bp[l], c0[l]);
            c1[l] = MADD(s, bp[16 + l], c1[l]);
            c2[l] = MADD(s, bp2[l], c2[l]);
            c3[l] = MADD(s, bp2[16 + l], c3[l]);
            d0[l] = MADD(t, bq[l], d0[l]);
            d1[l] = MADD(t, bq[16 + l], d1[l]);
            d2[l] = MADD(t, bq2[l], d2[l]);
            d3[l] = MADD(t, bq2[16 + l], d3[l]);
        }
    }
    if (p < K) {
        float s = a[p * as];
        const float *restrict bp = b + p * ldb, *restrict bp2 = b2 + p * ldb;
        for (l = 0; l < 16; l++) {
            c0[l] = MADD(s, bp[l], c0[l]);
            c1[l] = MADD(s, bp[16 + l], c1[l]);
            c2[l] = MADD(s, bp2[l], c2[l]);
            c3[l] = MADD(s, bp2[16 + l], c3[l]);
        }
    }
    for (l = 0; l < 16; l++) {
        out[l] = c0[l] + d0[l];
        out[16 + l] = c1[l] + d1[l];
        out[32 + l] = c2[l] + d2[l];
        out[48 + l] = c3[l] + d3[l];
    }
}

/* out[0:8] = sum_p a[p*as] * b[p*ldb + 0:8]: the narrow form for cores
 * with few registers (a Cortex-M4F has 32 single-precision ones: eight
 * accumulators and the operands stay in registers; 64 would spill) */
static void small_axpy_8(long K, const float *restrict a, long as,
                         const float *restrict b, long ldb, float *restrict out)
{
    float c0 = 0, c1 = 0, c2 = 0, c3 = 0, c4 = 0, c5 = 0, c6 = 0, c7 = 0;
    long p;
    for (p = 0; p < K; p++) {
        float s = a[p * as];
        const float *restrict bp = b + p * ldb;
        c0 = MADD(s, bp[0], c0); c1 = MADD(s, bp[1], c1);
        c2 = MADD(s, bp[2], c2); c3 = MADD(s, bp[3], c3);
        c4 = MADD(s, bp[4], c4); c5 = MADD(s, bp[5], c5);
        c6 = MADD(s, bp[6], c6); c7 = MADD(s, bp[7], c7);
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
    out[4] = c4; out[5] = c5; out[6] = c6; out[7] = c7;
}

/* out[0:w] = sum_p a[p*as] * b[p*ldb + 0:w], w < 64 */
static void small_axpy_tail(long K, const float *restrict a, long as,
                            const float *restrict b, long ldb, float *restrict out, int w)
{
    long p;
    int l;
    for (l = 0; l < w; l++)
        out[l] = 0.0f;
    for (p = 0; p < K; p++) {
        float s = a[p * as];
        for (l = 0; l < w; l++)
            out[l] = MADD(s, b[p * ldb + l], out[l]);
    }
}

/* x . y over k contiguous floats in DOT_LANES independent lanes (64: four
 * vector accumulators on AVX-512, enough chains to keep the loads flowing;
 * 8 on a microcontroller, whose stack they live on), summed pairwise in a
 * fixed order, then the tail */
#if defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'
#define DOT_LANES 8
#else
#define DOT_LANES 64
#endif
static float small_dot(long k, const float *restrict x, const float *restrict y)
{
    float lane[DOT_LANES] = {0}, s = 0.0f;
    long q, nb = k / DOT_LANES;
    int l, h;
    for (q = 0; q < nb; q++) {
        const float *restrict xq = x + DOT_LANES * q, *restrict yq = y + DOT_LANES * q;
        for (l = 0; l < DOT_LANES; l++)
            lane[l] = MADD(xq[l], yq[l], lane[l]);
    }
    for (h = DOT_LANES / 2; h >= 4; h /= 2) /* pairwise tree: vectorises, fixed order */
        for (l = 0; l < h; l++)
            lane[l] += lane[l + h];
    s = (lane[0] + lane[2]) + (lane[1] + lane[3]);
    for (q = nb * DOT_LANES; q < k; q++)
        s = MADD(x[q], y[q], s);
    return s;
}

/* out[c] = x . y[c*ys : c*ys + k] for c < n: DOT_COLS dot products per
 * pass over x, so that x (a batch-1 input, often larger than L1) streams
 * from cache once per DOT_COLS columns instead of once per column (the
 * last pass repeats its last column to fill up); each in DOT_COL_LANES
 * lanes summed in a fixed order like small_dot's */
#if defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'
#define DOT_COLS 1          /* the lanes live on a small stack */
#define DOT_COL_LANES 8
#else
#define DOT_COLS 4
#define DOT_COL_LANES 32
#endif
static void small_dots(long k, const float *restrict x, const float *y, long ys, int n,
                       float *restrict out)
{
    int c0, c, l, h;
    for (c0 = 0; c0 < n; c0 += DOT_COLS) {
        float lane[DOT_COLS][DOT_COL_LANES] = {{0}};
        const float *yc[DOT_COLS];
        long q, nb = k / DOT_COL_LANES;
        for (c = 0; c < DOT_COLS; c++)
            yc[c] = y + (c0 + c < n ? c0 + c : n - 1) * ys;
        for (q = 0; q < nb; q++) {
            const float *restrict xq = x + DOT_COL_LANES * q;
            for (c = 0; c < DOT_COLS; c++) {
                const float *restrict yq = yc[c] + DOT_COL_LANES * q;
                for (l = 0; l < DOT_COL_LANES; l++)
                    lane[c][l] = MADD(xq[l], yq[l], lane[c][l]);
            }
        }
        for (c = 0; c < DOT_COLS && c0 + c < n; c++) {
            float s;
            for (h = DOT_COL_LANES / 2; h >= 4; h /= 2)
                for (l = 0; l < h; l++)
                    lane[c][l] += lane[c][l + h];
            s = (lane[c][0] + lane[c][2]) + (lane[c][1] + lane[c][3]);
            for (q = nb * DOT_COL_LANES; q < k; q++)
                s = MADD(x[q], yc[c][q], s);
            out[c0 + c] = s;
        }
    }
}

/* x[0], x[xs], ... . y over k floats (A transposed against a contiguous column) */
static float strided_dot(long k, const float *x, long xs, const float *y)
{
    float s = 0.0f;
    long q;
    for (q = 0; q < k; q++)
        s = MADD(x[q * xs], y[q], s);
    return s;
}

static void gemm_small_m(int ta, int tb, int M, int N, int K, float alpha,
                         const float *A, long lda, const float *B, long ldb,
                         float beta, float *C, long ldc, int narrow)
{
    float acc[64];
    long as = ta ? lda : 1, i, j, p;  /* a(i, p) = A[i * ai + p * as] */
    long ai = ta ? 1 : lda;
    int l;
    if (!tb) {
        for (i = 0; i < M; i++) {
            float *c = C + i * ldc;
            int step = narrow ? 8 : 64, w;
            long full = ldb ? N : N / NNC_RT_GEMM_PANEL * NNC_RT_GEMM_PANEL; /* before the narrow panel */
            for (j = 0; j < N; j += w) {
                long bs, bc;
                const float *bj = bcols(B, ldb, K, N, j, &bs, &bc);
                w = N - j < step ? (int)(N - j) : step;
                if (j < full && j + w > full) /* not into the transposed panel */
                    w = (int)(full - j);
                if (bc != 1 && ta) /* a transposed panel: one dot product per column */
                    for (l = 0; l < w; l++)
                        acc[l] = strided_dot(K, A + i, lda, bj + l * bc);
                else if (bc != 1)
                    small_dots(K, A + i * lda, bj, bc, w, acc);
                else if (w == 64) {
                    long bs2, bc2;
                    small_axpy_64(K, A + i * ai, as, bj, bcols(B, ldb, K, N, j + 32, &bs2, &bc2), bs, acc);
                }
                else if (w == 8 && narrow)
                    small_axpy_8(K, A + i * ai, as, bj, bs, acc);
                else
                    small_axpy_tail(K, A + i * ai, as, bj, bs, acc, w);
                for (l = 0; l < w; l++)
                    c[j + l] = beta == 0.0f ? alpha * acc[l] : alpha * acc[l] + beta * c[j + l];
            }
        }
        return;
    }
    /* tb: every row of B is read once and dotted with all M rows of A */
    for (i = 0; i < M; i++)
        for (j = 0; j < N; j++)
            C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
    if (!ta) {
        for (j = 0; j < N; j++)
            for (i = 0; i < M; i++)
                C[i * ldc + j] += alpha * small_dot(K, A + i * lda, B + j * ldb);
        return;
    }
    /* ta and tb with a tiny M: rare; a plain strided loop */
    for (j = 0; j < N; j++)
        for (i = 0; i < M; i++) {
            float s = 0.0f;
            for (p = 0; p < K; p++)
                s = MADD(A[p * lda + i], B[j * ldb + p], s);
            C[i * ldc + j] += alpha * s;
        }
}

/* K < SMALL_M: c[i, j] = alpha sum_p a(i,p) b(p,j) (+ beta c), row by row */
static void gemm_small_k(int ta, int tb, int M, int N, int K, float alpha,
                         const float *A, long lda, const float *B, long ldb,
                         float beta, float *C, long ldc)
{
    long i, j, j0, p;
    for (i = 0; i < M; i++) {
        float *c = C + i * ldc;
        for (j = 0; j < N; j++)
            c[j] = beta == 0.0f ? 0.0f : beta * c[j];
        for (p = 0; p < K; p++) {
            float a = alpha * (ta ? A[p * lda + i] : A[i * lda + p]);
            if (tb)
                for (j = 0; j < N; j++)
                    c[j] = MADD(a, B[j * ldb + p], c[j]);
            else
                for (j0 = 0; j0 < N; j0 += NNC_RT_GEMM_PANEL) {
                    long w = N - j0 < NNC_RT_GEMM_PANEL ? N - j0 : NNC_RT_GEMM_PANEL, bs, bc;
                    const float *bj = bcols(B, ldb, K, N, j0, &bs, &bc) + p * bs;
                    for (j = 0; j < w; j++)
                        c[j0 + j] = MADD(a, bj[j * bc], c[j0 + j]);
                }
        }
    }
}

/* ---- the blocked driver ----------------------------------------------------- */
static float *align_buf(float *p)
{
    uintptr_t u = (uintptr_t)p, a = BUF_ALIGN * sizeof(float);
    return (float *)(void *)((u + a - 1) / a * a);
}

static long cdiv(long a, long b) { return (a + b - 1) / b; }

static void store_tile(float *restrict c, long ldc, const float *restrict t,
                       int rows, int cols, int ldt, float beta)
{
    int i, j;
    for (i = 0; i < rows; i++)
        for (j = 0; j < cols; j++)
            c[i * ldc + j] = beta == 0.0f ? t[i * ldt + j] : t[i * ldt + j] + beta * c[i * ldc + j];
}

/* The packed path (M >= SMALL_M, K >= 1).  K is cut into near-equal blocks
 * (tl->kc deep); for each, every nr-column sliver of op(B) is packed
 * once (kc x nr floats: 32 KiB at 256 x 32, which stays in L1) and then
 * swept by all of M, mr rows at a time, the kernel reading those rows of A
 * in place (they stream from L2).  Only B is packed, once per product, so
 * the packing cost is K*N copies against M*N*K multiply-adds.  The last mr
 * rows, when M is not a multiple of mr, are packed zero-padded once per K
 * block; edge tiles go through a small tile buffer. */
static NOINLINE void gemm_blocked(gemm_ukernel_fn ukernel, const nnc_rt_gemm_tiles *tl,
                                  int ta, int tb, int M, int N, int K, float alpha,
                                  const float *A, long lda, const float *B, long ldb,
                                  float beta, float *C, long ldc, const gemm_epi *e)
{
    float buf_raw[BUF_FLOATS + BUF_ALIGN];
    float tile[MR_MAX * NR_MAX + BUF_ALIGN];
    float *bbuf = align_buf(buf_raw), *abuf, *t = align_buf(tile);
    long rs = ta ? 1 : lda, cs = ta ? lda : 1; /* op(A)[i,p] = A[i*rs + p*cs] */
    int mr = tl->mr, nr = tl->nr;
    /* bias + relu/relu6 (or bias alone) the kernels apply themselves */
    const int clamp = e->y ? 0 : nnc_rt_act_clamp(e->act);
    const int reg_epi = !e->y && (clamp || e->act == NNC_RT_ACT_LINEAR);
    long kc_blk = tl->kc, mfull = M / mr * mr, pc, jr, ir;

    /* B sliver and edge sliver of A side by side in the buffer */
    abuf = bbuf + cdiv(kc_blk * nr, BUF_ALIGN) * BUF_ALIGN;

    for (pc = 0; pc < K; pc += kc_blk) {
        int kc = (int)(K - pc < kc_blk ? K - pc : kc_blk);
        float beta_blk = pc == 0 ? beta : 1.0f;
        int last_k = pc + kc >= K;
        if (mfull < M)
            pack_a_edge(abuf, ta, A, lda, mfull, pc, (int)(M - mfull), kc, mr);
        for (jr = 0; jr < N; jr += nr) {
            int ncols = (int)(N - jr < nr ? N - jr : nr);
            const float *b = bbuf;
            long bs = nr;
            if (tb) {
                pack_b(bbuf, 1, B, ldb, pc, jr, kc, ncols, nr);
            } else {
                long bc;
                const float *bj = bcols(B, ldb, K, N, jr, &bs, &bc);
                if (bc != 1) { /* a transposed panel */
                    pack_b(bbuf, 1, bj, bc, pc, 0, kc, ncols, nr);
                    bs = nr;
                } else if (ncols == nr && tl->b == NNC_RT_GEMM_B_IN_PLACE) { /* B's rows are the sliver's */
                    b = bj + pc * bs;
                } else {
                    pack_b(bbuf, 0, bj, bs, pc, 0, kc, ncols, nr);
                    bs = nr;
                }
            }
            for (ir = 0; ir < M; ir += mr) {
                int nrows = (int)(M - ir < mr ? M - ir : mr);
                float *c = C + ir * ldc + jr;
                const float *a = A + ir * rs + pc * cs;
                long ars = rs, acs = cs;
                if (nrows < mr) {
                    a = abuf;
                    ars = 1;
                    acs = mr;
                }
                if (nrows == mr && ncols == nr) { /* the epilogue in registers */
                    ukernel(kc, a, ars, acs, b, bs, c, ldc, alpha, beta_blk,
                            last_k && e->bias && reg_epi ? e->bias + jr : NULL, last_k && reg_epi ? clamp : 0);
                    if (reg_epi)
                        continue;
                } else { /* edge tile: compute whole, store the valid part */
                    ukernel(kc, a, ars, acs, b, bs, t, nr, alpha, 0.0f, NULL, 0);
                    store_tile(c, ldc, t, nrows, ncols, nr, beta_blk);
                }
                if (last_k && !epi_none(e))
                    epilogue(c, ldc, nrows, ncols, e, ir, jr);
            }
        }
    }
}

/* ---- tiling: how a product of a given shape is computed ---------------------- */

void nnc_rt_gemm_tiles_for(const nnc_rt_gemm_target *t, int tb, int M, int N, int K, int panels,
                           nnc_rt_gemm_tiles *out)
{
    long kmax, kblocks;
    memset(out, 0, sizeof *out);
    if (K < SMALL_M) {          /* a rank-K update (a weight gradient at batch 1) */
        out->path = NNC_RT_GEMM_SMALL_K;
        return;
    }
    if (M < SMALL_M) {          /* one sample: rows of C straight from A and B */
        out->path = NNC_RT_GEMM_SMALL_M;
        out->nr = t->small_m_cols;
        return;
    }
    out->path = NNC_RT_GEMM_BLOCKED;
    out->mr = t->narrow_nr && N <= t->narrow_nr ? t->narrow_mr : t->mr;
    out->nr = t->narrow_nr && N <= t->narrow_nr ? t->narrow_nr : t->nr;
    /* the deepest K block whose B sliver fills at most two thirds of L1 (the
     * rest for the rows of A and C passing through) and which, with the A
     * edge sliver, fits the buffer; then K in near-equal blocks */
    kmax = (t->buf_floats - 2 * BUF_ALIGN) / (out->nr + out->mr);
    if (t->l1_bytes && t->l1_bytes * 2 / 3 / (4 * out->nr) < kmax)
        kmax = t->l1_bytes * 2 / 3 / (4 * out->nr);
    if (kmax > KC_LIMIT)
        kmax = KC_LIMIT;
    kmax = kmax / 8 * 8;
    kblocks = cdiv(K, kmax);
    out->kblocks = (int)kblocks;
    out->kc = (int)cdiv(K, kblocks);
    /* B read in place: for few rows (the copy would cost more than the
     * strided reads), or from panels exactly as wide as the kernel's sliver */
    out->b = !tb && (M <= INPLACE_B_M || (panels && out->nr == NNC_RT_GEMM_PANEL))
             ? NNC_RT_GEMM_B_IN_PLACE : NNC_RT_GEMM_B_PACKED;
}

/* a build's kernels: the target description the tiling reads, and the code */
typedef struct gemm_kernels {
    nnc_rt_gemm_target t;
    gemm_ukernel_fn main, narrow;
} gemm_kernels;

/* C = alpha op(A) op(B) + beta C, then the epilogue e */
static void gemm_run(const gemm_kernels *k, int ta, int tb, int M, int N, int K, float alpha,
                     const float *A, long lda, const float *B, long ldb,
                     float beta, float *C, long ldc, const gemm_epi *e)
{
    nnc_rt_gemm_tiles tl;
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0 || alpha == 0.0f) { /* no product: C = beta*C */
        long i, j;
        for (i = 0; i < M; i++)
            for (j = 0; j < N; j++)
                C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
        if (!epi_none(e))
            epilogue(C, ldc, M, N, e, 0, 0);
        return;
    }
    nnc_rt_gemm_tiles_for(&k->t, tb, M, N, K, !tb && !ldb, &tl);
    if (tl.path == NNC_RT_GEMM_BLOCKED) {
        gemm_ukernel_fn uk = tl.nr == k->t.nr ? k->main : k->narrow;
#if defined(_OPENMP)
        /* Threads (a build with -fopenmp): the columns of C in chunks of
         * whole panels, one independent product each — B's columns from
         * j0 are at B + j0 row-major, B + j0*ldb transposed, B + j0*K in
         * panels — when there is enough work for more than one */
        long chunks = cdiv(N, NNC_RT_GEMM_PANEL), c;
        if (chunks > 1 && (double)M * N * K >= 4e6) {
#pragma omp parallel for schedule(static)
            for (c = 0; c < chunks; c++) {
                long j0 = c * NNC_RT_GEMM_PANEL;
                int w = (int)(N - j0 < NNC_RT_GEMM_PANEL ? N - j0 : NNC_RT_GEMM_PANEL);
                const float *bj = tb ? B + j0 * ldb : ldb ? B + j0 : B + j0 * K;
                gemm_epi ej = *e; /* the columns from j0 */
                if (ej.bias)
                    ej.bias += j0;
                if (ej.y)
                    ej.y += j0;
                gemm_blocked(uk, &tl, ta, tb, M, w, K, alpha, A, lda, bj, ldb, beta, C + j0, ldc, &ej);
            }
            return;
        }
#endif
        gemm_blocked(uk, &tl, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, e);
        return;
    }
    if (tl.path == NNC_RT_GEMM_SMALL_K)
        gemm_small_k(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else
        gemm_small_m(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, tl.nr == 8);
    if (!epi_none(e))
        epilogue(C, ldc, M, N, e, 0, 0);
}

/* ---- the kernels of this build, and the public entry points ------------------- */
#define TARGET(isa, mr, nr, narrow_mr, narrow_nr, small_m_cols) \
    {isa, mr, nr, narrow_mr, narrow_nr, L1_BYTES, BUF_FLOATS, small_m_cols}

static const gemm_kernels k_6x16_c = {TARGET("c", 6, 16, 0, 0, 64), ukernel_6x16_c, NULL};
static const gemm_kernels k_6x16_1x8_c = {TARGET("c", 6, 16, 0, 0, 8), ukernel_6x16_c, NULL};
#if defined(__AVX2__) && defined(__FMA__)
static const gemm_kernels k_6x16_avx2 = {TARGET("avx2", 6, 16, 0, 0, 64), ukernel_6x16_avx2, NULL};
#endif
#if defined(__AVX512F__)
static const gemm_kernels k_8x32_avx512 = {TARGET("avx512", 8, 32, 0, 0, 64), ukernel_8x32_avx512, NULL};
static const gemm_kernels k_16x16_avx512 = {TARGET("avx512", 16, 16, 0, 0, 64), ukernel_16x16_avx512, NULL};
/* the best: 8x32, and 16x16 for at most 16 columns */
static const gemm_kernels k_best = {TARGET("avx512", 8, 32, 16, 16, 64), ukernel_8x32_avx512,
                                    ukernel_16x16_avx512};
#elif defined(__AVX2__) && defined(__FMA__)
#define k_best k_6x16_avx2
#elif defined(HAVE_NEON)
static const gemm_kernels k_6x16_neon = {TARGET("neon", 6, 16, 0, 0, 64), ukernel_6x16_neon, NULL};
#define k_best k_6x16_neon
#elif defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'
#define k_best k_6x16_1x8_c
#else
#define k_best k_6x16_c
#endif

const nnc_rt_gemm_target *nnc_rt_gemm_native(void)
{
    return &k_best.t;
}

#define ENTRY(name, k)                                                                   \
    void name(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, \
              const float *B, int ldb, float beta, float *C, int ldc)                    \
    {                                                                                    \
        const gemm_epi none = {NULL, NNC_RT_ACT_LINEAR, NULL, 0};                        \
        gemm_run(&k, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, &none);       \
    }
ENTRY(nnc_rt_f32_gemm_6x16__c, k_6x16_c)
/* the same with the narrow small-M kernel (1x8), the one microcontrollers use */
ENTRY(nnc_rt_f32_gemm_6x16_1x8__c, k_6x16_1x8_c)
#if defined(__AVX2__) && defined(__FMA__)
ENTRY(nnc_rt_f32_gemm_6x16__avx2, k_6x16_avx2)
#endif
#if defined(__AVX512F__)
ENTRY(nnc_rt_f32_gemm_8x32__avx512, k_8x32_avx512)
ENTRY(nnc_rt_f32_gemm_16x16__avx512, k_16x16_avx512)
#endif
#if defined(HAVE_NEON)
ENTRY(nnc_rt_f32_gemm_6x16__neon, k_6x16_neon)
#endif
ENTRY(nnc_rt_gemm_f32, k_best)

static const nnc_rt_gemm_f32_variant gemm_variants[] = {
    {"6x16__c", nnc_rt_f32_gemm_6x16__c},
    {"6x16_1x8__c", nnc_rt_f32_gemm_6x16_1x8__c},
#if defined(__AVX2__) && defined(__FMA__)
    {"6x16__avx2", nnc_rt_f32_gemm_6x16__avx2},
#endif
#if defined(__AVX512F__)
    {"8x32__avx512", nnc_rt_f32_gemm_8x32__avx512},
    {"16x16__avx512", nnc_rt_f32_gemm_16x16__avx512},
#endif
#if defined(HAVE_NEON)
    {"6x16__neon", nnc_rt_f32_gemm_6x16__neon},
#endif
};

int nnc_rt_gemm_f32_variants(const nnc_rt_gemm_f32_variant **list)
{
    *list = gemm_variants;
    return (int)(sizeof gemm_variants / sizeof gemm_variants[0]);
}

/* y[n,m] = act(x[n,k] . w[k,m] + b[m]).  Elementwise activations and the
 * bias are applied to each tile of y right after its last K block, while it
 * is still in L1; softmax needs whole rows, so it is one extra pass.
 * ldw is m, or 0 for weights in panels (nnc_rt_gemm_pack_b). */
static void dense(float *y, const float *x, const float *w, long ldw, const float *b,
                  int n, int k, int m, int act)
{
    const gemm_epi e = {b, act == NNC_RT_ACT_SOFTMAX ? NNC_RT_ACT_LINEAR : act, NULL, 0};
    gemm_run(&k_best, 0, 0, n, m, k, 1.0f, x, k, w, ldw, 0.0f, y, m, &e);
    if (act == NNC_RT_ACT_SOFTMAX)
        nnc_rt_act_forward(act, y, y, n, m);
}

/* C = op(A) op(B), then C = act'(C) from y: a product that gives dy (a
 * layer's input gradient) and the activation's gradient before that layer,
 * dz, in one pass over C, each tile while it is in L1 */
void nnc_rt_gemm_f32_act_grad(int ta, int tb, int M, int N, int K, const float *A, int lda,
                              const float *B, int ldb, float *C, int ldc, int act,
                              const float *y, int ldy)
{
    const gemm_epi e = {NULL, act, y, ldy};
    gemm_run(&k_best, ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc, &e);
}

void nnc_rt_dense_forward(float *y, const float *x, const float *w, const float *b,
                          int n, int k, int m, int act)
{
    dense(y, x, w, m, b, n, k, m, act);
}

void nnc_rt_dense_forward_packed(float *y, const float *x, const float *wp, const float *b,
                                 int n, int k, int m, int act)
{
    dense(y, x, wp, 0, b, n, k, m, act);
}
