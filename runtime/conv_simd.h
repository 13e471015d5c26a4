/* conv_simd.h — the vector operations the convolution's SIMD kernels
 * (conv_direct.h, conv_depthwise_simd.h) are written in, and their tiles,
 * for one ISA: CONV_ISA_AVX512 or CONV_ISA_AVX2 defined before it is
 * included (by conv_avx512.c, conv_avx2.c).
 *
 * Design: one kernel body, two instances.  The ISAs differ only in the
 * vector type and width, masked loads and stores, and how many pixels or
 * taps fit the register file (the tiles below); every instance is compiled
 * where the compiler's flags allow it and named for its tile and ISA, so
 * that tests check each one (an AVX-512 build has the AVX2 kernels too).
 * Included once per translation unit: no include guard.
 */
#include <immintrin.h>

#if defined(__GNUC__)
#define UNROLL _Pragma("GCC unroll 16")
#else
#define UNROLL
#endif

#if defined(CONV_ISA_AVX512)
typedef __m512 vec;
typedef __mmask16 vmask;
#define VW 16
#define V_ZERO() _mm512_setzero_ps()
#define V_LOAD(p) _mm512_loadu_ps(p)
#define V_LOADM(p, m) _mm512_maskz_loadu_ps(m, p)
#define V_STORE(p, v) _mm512_storeu_ps(p, v)
#define V_STOREM(p, m, v) _mm512_mask_storeu_ps(p, m, v)
#define V_BCAST(p) _mm512_set1_ps(*(p))
#define V_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define V_MAX(a, b) _mm512_max_ps(a, b)
#define V_MIN(a, b) _mm512_min_ps(a, b)
#define V_SET(x) _mm512_set1_ps(x)
#define V_ADD(a, b) _mm512_add_ps(a, b)
#define V_SUB(a, b) _mm512_sub_ps(a, b)
#define V_MUL(a, b) _mm512_mul_ps(a, b)
static vmask lanes(int n) { return (vmask)(n >= VW ? 0xFFFFu : (1u << n) - 1u); }
#define DP 8    /* forward: pixels per tile, 8 x 2 zmm = 16 accumulators */
#define DP_ALT 7  /* ... or 7, where it fits the pixels better (7x7) */
#define DKB 12  /* filter: taps per block, 12 x 2 zmm = 24 accumulators */
#define DKB_ALT 9 /* ... or 9, for K = 9 or 27 */
#define DKC 256 /* forward: taps per chunk, 256 x 2 zmm = 32 KiB of weights */
#define CONV_DIRECT nnc_rt_f32_conv2d_direct_8x32__avx512
#define CONV_DIRECT_PACKED nnc_rt_f32_conv2d_direct_packed_8x32__avx512
#define CONV_DIRECT_RESIDUAL nnc_rt_f32_conv2d_direct_residual_8x32__avx512
#define CONV_DIRECT_FILTER nnc_rt_f32_conv2d_direct_filter_12x32__avx512
#define CONV_DIRECT_FILTER_BIAS nnc_rt_f32_conv2d_direct_filter_bias_12x32__avx512
#define CONV_DEPTHWISE nnc_rt_f32_conv2d_depthwise_8x16__avx512
#define CONV_DEPTHWISE_DATA nnc_rt_f32_conv2d_depthwise_data_8x16__avx512
#define CONV_DEPTHWISE_FILTER nnc_rt_f32_conv2d_depthwise_filter3x3__avx512
#define CONV_WINOGRAD nnc_rt_f32_conv2d_winograd2x2_8x32__avx512
#elif defined(CONV_ISA_AVX2)
typedef __m256 vec;
typedef __m256i vmask;
#define VW 8
#define V_ZERO() _mm256_setzero_ps()
#define V_LOAD(p) _mm256_loadu_ps(p)
#define V_LOADM(p, m) _mm256_maskload_ps(p, m)
#define V_STORE(p, v) _mm256_storeu_ps(p, v)
#define V_STOREM(p, m, v) _mm256_maskstore_ps(p, m, v)
#define V_BCAST(p) _mm256_broadcast_ss(p)
#define V_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define V_MAX(a, b) _mm256_max_ps(a, b)
#define V_MIN(a, b) _mm256_min_ps(a, b)
#define V_SET(x) _mm256_set1_ps(x)
#define V_ADD(a, b) _mm256_add_ps(a, b)
#define V_SUB(a, b) _mm256_sub_ps(a, b)
#define V_MUL(a, b) _mm256_mul_ps(a, b)
static vmask lanes(int n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
#define DP 6    /* 6 x 2 ymm = 12 accumulators, of 16 registers */
#define DP_ALT 5
#define DKB 6
#define DKB_ALT 5 /* for K = 9 */
/* 1024 x 2 ymm = 64 KiB, twice L1: on Zen 3 (512 KiB L2) half of that
 * chunked MobileNetV2's 1x1 layers of 576 and 960 channels in two, 1.05-1.08x
 * slower, and ResNet-18's 7x7x512 layers 1.03x */
#define DKC 1024
#define CONV_DIRECT nnc_rt_f32_conv2d_direct_6x16__avx2
#define CONV_DIRECT_PACKED nnc_rt_f32_conv2d_direct_packed_6x16__avx2
#define CONV_DIRECT_RESIDUAL nnc_rt_f32_conv2d_direct_residual_6x16__avx2
#define CONV_DIRECT_FILTER nnc_rt_f32_conv2d_direct_filter_6x16__avx2
#define CONV_DIRECT_FILTER_BIAS nnc_rt_f32_conv2d_direct_filter_bias_6x16__avx2
#define CONV_DEPTHWISE nnc_rt_f32_conv2d_depthwise_6x8__avx2
#define CONV_DEPTHWISE_DATA nnc_rt_f32_conv2d_depthwise_data_6x8__avx2
#define CONV_DEPTHWISE_FILTER nnc_rt_f32_conv2d_depthwise_filter3x3__avx2
#define CONV_WINOGRAD nnc_rt_f32_conv2d_winograd2x2_6x16__avx2
#else
#error "conv_simd.h: define CONV_ISA_AVX512 or CONV_ISA_AVX2 first"
#endif
/* keeps v in a register: gcc otherwise folds a load that several FMAs
 * share back into each of them as a memory operand, loading it again */
#if defined(__GNUC__)
#define V_PIN(v) __asm__("" : "+x"(v))
#else
#define V_PIN(v) ((void)0)
#endif
/* relu (clamp 1) or relu6 (clamp 2) of a vector */
#define V_CLAMP(a, clamp) V_MIN(V_MAX(a, V_ZERO()), V_SET(nnc_rt_clamp_hi(clamp)))
