/* nnc_rt_q8_kernels.h — the int8 kernels behind nnc_rt_q8_dense and
 * nnc_rt_q8_conv2d (nnc_rt_q8.h) by name: for tests and benchmarks, which
 * check each against the references (nnc_rt_q8_dense_ref,
 * nnc_rt_q8_conv2d_ref) bit for bit.  Generated code calls the public
 * entry points, which pick the best of these the target's macros allow.
 *
 * Naming as the float kernels': nnc_rt_q8_<op>_<tile>__<isa>, the tile
 * being x rows (or pixels) x output channels per pass.  Each kernel is a
 * whole operation with the public signature; it returns 1 when it computed
 * the product, or 0, having written nothing, when the operands are outside
 * what it handles (k > NNC_RT_Q8_KMAX, a shift the reference leaves
 * undefined, a zero point outside int8 for the convolutions), and the
 * caller then takes the reference.
 */
#ifndef NNC_RT_Q8_KERNELS_H
#define NNC_RT_Q8_KERNELS_H

#include "nnc_rt.h"

/* the longest product (k, or kh kw c/groups taps) the kernels sum in int32 */
#define NNC_RT_Q8_KMAX 32768

#define NNC_RT_Q8_DENSE_KERNEL(name)                                                       \
    int name(int8_t *y, const int8_t *x, const int8_t *w, const int32_t *bias, int n, int k, \
             int m, const nnc_rt_q8_out *o)
#define NNC_RT_Q8_CONV2D_KERNEL(name)                                                      \
    int name(const nnc_rt_conv2d *p, int8_t *y, const int8_t *x, int32_t x_zp,             \
             const int8_t *w, const int32_t *bias, void *scratch, int n,                   \
             const nnc_rt_q8_out *o)

/* ---- dense, w (m, k) as nnc_rt_q8.h holds it ------------------------------------ */
/* portable: 2 rows of x x 4 output channels, the k loop written for the
 * compiler's vectoriser (int32 accumulators of widened int8 products) */
NNC_RT_Q8_DENSE_KERNEL(nnc_rt_q8_dense_2x4__c);
#if defined(__ARM_FEATURE_DSP)
/* Cortex-M4/M7 DSP: 2 output channels per pass over x (registers for the
 * rows' pointers run out beyond), 4 bytes of each row a step: x's pairs
 * sign-extended once (SXTB16), dual 16-bit MACs (SMLAD) */
NNC_RT_Q8_DENSE_KERNEL(nnc_rt_q8_dense_1x2__dsp);
#endif
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
/* AVX-512 VNNI, k <= 1024 and the vector output step's bounds (q8_x86.h):
 * 8 rows of x x 32 output channels, a group of 4 k a step, the weights of
 * 32 channels laid out [k/4][32][4] (+128, unsigned) on the stack per call,
 * x's groups broadcast (vpdpbusd; 128 sum_k x subtracted per row) */
NNC_RT_Q8_DENSE_KERNEL(nnc_rt_q8_dense_8x32__avx512vnni);
/* AVX-512 VNNI, any k: 4 rows of x x 4 output channels, 64 k a step (vpdpbusd,
 * x + 128 as the unsigned operand, 128 sum_k w subtracted per channel) */
NNC_RT_Q8_DENSE_KERNEL(nnc_rt_q8_dense_4x4__avx512vnni);
#endif
#if defined(__AVX2__)
/* AVX2, k <= 1024: 6 rows of x x 16 output channels, a pair of k a step,
 * the weights widened to int16 and laid out [k/2][16][2] on the stack per
 * call, each row's pairs broadcast against them (vpmaddwd), the exact
 * output step on 8 lanes (q8_x86.h) where it applies */
NNC_RT_Q8_DENSE_KERNEL(nnc_rt_q8_dense_6x16__avx2);
/* AVX2, any k: 5 rows of x x 2 output channels, 16 k a step, dot products
 * along k (x and w widened in the loop, vpmaddwd), for what the 6x16 tile
 * leaves: k > 1024, or m < 16 (the seed CNN's 21632 -> 10) */
NNC_RT_Q8_DENSE_KERNEL(nnc_rt_q8_dense_5x2__avx2);
#endif
#if defined(__ARM_NEON) && defined(__aarch64__)
/* AArch64: 4 rows x 4 channels, 16 k a step: sdot where the target has
 * __ARM_FEATURE_DOTPROD, widening multiplies (smull/sadalp) otherwise */
NNC_RT_Q8_DENSE_KERNEL(nnc_rt_q8_dense_4x4__neon);
#endif

/* ---- dense, w packed for the Cortex-M4 ----------------------------------------------
 * The packed layout, m x k bytes like (m, k): the rows in blocks of four
 * (the last block the m % 4 last rows, if any); in a block of b rows, for
 * each of the k/4 whole groups of 4 k, the group of row 0, row 1, ..., row
 * b-1 (4 b bytes), then the k % 4 last bytes of each row of the block.
 * Block j/4 starts at byte j k.  The M4 kernel
 * reads a block's groups with one LDM.  nnc_rt_q8_dense_pack converts
 * (m, k) to it (host side: the compiler calls it on constant weights;
 * wp must not alias w).  nnc_rt_q8_dense_packed is nnc_rt_q8_dense on
 * packed weights, equal to it bit for bit on every target; wp must be
 * 4-byte aligned. */
void nnc_rt_q8_dense_pack(int8_t *wp, const int8_t *w, int m, int k);
/* 1 where nnc_rt_q8_dense_packed is the faster (the Cortex-M4/M7: 1.38
 * instructions a MAC against 1.85 with (m, k) weights), 0 where
 * nnc_rt_q8_dense is (AArch64 and AVX2: their SIMD kernels read (m, k), the
 * packed layout takes the portable loop there, many times slower; AVX-512
 * VNNI reads both alike for k <= 1024) */
#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__) && defined(__thumb2__)
#define NNC_RT_Q8_DENSE_PACKED_PREFERRED 1
#else
#define NNC_RT_Q8_DENSE_PACKED_PREFERRED 0
#endif
void nnc_rt_q8_dense_packed(int8_t *y, const int8_t *x, const int8_t *wp, const int32_t *bias,
                            int n, int k, int m, const nnc_rt_q8_out *o);
NNC_RT_Q8_DENSE_KERNEL(nnc_rt_q8_dense_packed_1x4__c);
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
/* nnc_rt_q8_dense_8x32__avx512vnni reading the packed layout (it lays the
 * weights out again per call anyway) */
NNC_RT_Q8_DENSE_KERNEL(nnc_rt_q8_dense_packed_8x32__avx512vnni);
#endif
#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__) && defined(__thumb2__)
NNC_RT_Q8_DENSE_KERNEL(nnc_rt_q8_dense_packed_1x4__dsp);
#endif

/* ---- conv2d -------------------------------------------------------------------------
 * portable: groups == 1 as im2col of 4 output pixels (int8, padding taps
 * set to x_zp so that sum (x - x_zp) w = sum x w - x_zp sum w) times the
 * weights 4 channels at a time; other groups (depthwise) directly */
NNC_RT_Q8_CONV2D_KERNEL(nnc_rt_q8_conv2d_im2col_4x4__c);
#if defined(__ARM_FEATURE_DSP)
/* Cortex-M4/M7: groups == 1 as an im2col of 4 pixels widened to int16 once,
 * each group of 4 taps reordered to match SXTB16's halves of the weights
 * and the pixels interleaved by group, times one output channel a pass
 * (a word of weights split once for 4 pixels, 2 SMLADs a pixel), the
 * channel's output constants hoisted over its 4 pixels */
NNC_RT_Q8_CONV2D_KERNEL(nnc_rt_q8_conv2d_im2col_4x1__dsp);
/* Cortex-M4/M7: depthwise (groups == c == oc, dilation 1, kh <= 16): 4
 * channels' input rows widened to int16 planes (x - x_zp, padding 0), then
 * per channel 2 output pixels a step, SMLAD over pairs of horizontally
 * adjacent taps (NNC_RT_Q8_CONV2D_SCRATCH holds the planes) */
NNC_RT_Q8_CONV2D_KERNEL(nnc_rt_q8_conv2d_dw_2x1__dsp);
#endif
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
/* AVX-512 VNNI: groups == 1, dilation 1 across, a kernel row's weights of 32
 * channels in 32 KB: 8 pixels of an output row x 32 channels a tile, each
 * pixel's kernel rows read 4 bytes at a time from a padded copy of the
 * input rows (x + 128) and broadcast against 16 channels' weights */
NNC_RT_Q8_CONV2D_KERNEL(nnc_rt_q8_conv2d_rows_8x32__avx512vnni);
/* AVX-512 VNNI: groups == 1 with at most 256 taps (first layers): a pixel's
 * taps 4 at a time broadcast against 16 channels' weights (laid out on the
 * stack once per call), 16 channels' outputs a vector */
NNC_RT_Q8_CONV2D_KERNEL(nnc_rt_q8_conv2d_bcast_1x16__avx512vnni);
#endif
#if defined(__AVX2__) && defined(__FMA__)
/* AVX2 + FMA: the row kernel with int16 pairs (vpmaddwd), 6 pixels (of
 * any output rows of a band) x 16 channels a tile, for the output settings
 * its float output step takes (q8_x86.h: every right shift >= 6, lo and hi
 * in int8, small biases) */
NNC_RT_Q8_CONV2D_KERNEL(nnc_rt_q8_conv2d_rows_6x16__avx2);
#endif
/* every geometry: the direct loop in int32 with the fast exact epilogue */
NNC_RT_Q8_CONV2D_KERNEL(nnc_rt_q8_conv2d_direct__c);

/* ---- the kernels this build of the runtime has, for tests and benchmarks -------------
 * (built with the runtime's flags, so a test compiled for a lesser target
 * still reaches them); each list ends with a NULL name.  The packed dense
 * kernels take the packed layout, the others (m, k). */
typedef struct nnc_rt_q8_dense_variant {
    const char *name;
    NNC_RT_Q8_DENSE_KERNEL((*fn));
    int packed;
} nnc_rt_q8_dense_variant;
typedef struct nnc_rt_q8_conv2d_variant {
    const char *name;
    NNC_RT_Q8_CONV2D_KERNEL((*fn));
} nnc_rt_q8_conv2d_variant;
extern const nnc_rt_q8_dense_variant nnc_rt_q8_dense_variants[];
extern const nnc_rt_q8_conv2d_variant nnc_rt_q8_conv2d_variants[];

#endif
