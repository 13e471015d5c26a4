/* nnc_rt_kernels.h — the runtime's convolution kernels by name, and the
 * plain C references they are checked against: for tests and benchmarks,
 * not for generated code (which calls nnc_rt_conv2d_forward and its two
 * backward kernels in nnc_rt.h, and those pick the best of these that the
 * target's macros allow).
 *
 * Naming as for the GEMM (XNNPACK / BLIS style): nnc_rt_f32_conv2d_<kernel>
 * _<tile>__<isa>.  The tile is the register block: pixels x output channels
 * (direct forward), taps x output channels (direct filter), pixels x
 * channels (depthwise rows).  Each is a whole operation with the signature
 * of the public kernel it serves, returning 1 when it computed p, or 0 —
 * having written nothing — when p is not a convolution it handles (e.g. the
 * direct kernels take groups == 1 only, when a zero-padded sample fits in
 * the scratch).  The scratch is NNC_RT_CONV2D_SCRATCH(p) floats, as for the
 * public kernels.
 */
#ifndef NNC_RT_KERNELS_H
#define NNC_RT_KERNELS_H

#include "nnc_rt.h"

/* ---- references --------------------------------------------------------------
 * The literal definitions (nnc_rt.h's convolution section), accumulated in
 * double: the oracle the variants are tested against.  No scratch. */
void nnc_rt_conv2d_forward_ref(const nnc_rt_conv2d *p, float *y, const float *x, const float *w,
                               const float *b, int n, int act);
void nnc_rt_conv2d_backward_data_ref(const nnc_rt_conv2d *p, float *dx, const float *dy,
                                     const float *w, int n);
void nnc_rt_conv2d_backward_filter_ref(const nnc_rt_conv2d *p, float *dw, const float *dy,
                                       const float *x, int n);

/* the activations through libm, as their formulas read (runtime/act.c): the
 * reference the vectorised gelu and swish bodies of nnc_rt_act_forward_alpha
 * and nnc_rt_act_backward_alpha are tested against (the other kinds are
 * these bodies) */
void nnc_rt_act_forward_ref(int act, float a, float *y, const float *x, int n, int m);
void nnc_rt_act_backward_ref(int act, float a, float *dx, const float *dy, const float *y, int n, int m);

/* ---- the kernels ----------------------------------------------------------------- */
#define NNC_RT_CONV2D_FORWARD_KERNEL(name)                                                \
    int name(const nnc_rt_conv2d *p, float *y, const float *x, const float *w,            \
             const float *b, float *scratch, int n, int act)
#define NNC_RT_CONV2D_DATA_KERNEL(name)                                                   \
    int name(const nnc_rt_conv2d *p, float *dx, const float *dy, const float *w,          \
             float *scratch, int n)
#define NNC_RT_CONV2D_FILTER_KERNEL(name)                                                 \
    int name(const nnc_rt_conv2d *p, float *dw, const float *dy, const float *x,          \
             float *scratch, int n)
/* the filter gradient and the bias gradient db (oc) in one pass over dy */
#define NNC_RT_CONV2D_FILTER_BIAS_KERNEL(name)                                            \
    int name(const nnc_rt_conv2d *p, float *dw, float *db, const float *dy, const float *x, \
             float *scratch, int n)

/* y = act(conv(x, w) + b + r): w in panels when `panels`, groups == 1 */
#define NNC_RT_CONV2D_RESIDUAL_KERNEL(name)                                               \
    int name(const nnc_rt_conv2d *p, float *y, const float *x, const float *w, int panels, \
             const float *b, const float *r, float *scratch, int n, int act)
typedef int (*nnc_rt_conv2d_residual_fn)(const nnc_rt_conv2d *p, float *y, const float *x,
                                         const float *w, int panels, const float *b,
                                         const float *r, float *scratch, int n, int act);

/* portable: im2col + nnc_rt_gemm_f32 (any p; grouped 1x1 without im2col) */
NNC_RT_CONV2D_FORWARD_KERNEL(nnc_rt_f32_conv2d_im2col__c);
NNC_RT_CONV2D_DATA_KERNEL(nnc_rt_f32_conv2d_im2col_data__c);
NNC_RT_CONV2D_FILTER_KERNEL(nnc_rt_f32_conv2d_im2col_filter__c);
/* the forward kernels of nnc_rt_conv2d_forward_packed: w is the (K, oc)
 * kernel in panels (nnc_rt_gemm_pack_b), groups == 1 only (0 otherwise);
 * portable: im2col (unless pointwise) + the dense product with the panels */
NNC_RT_CONV2D_FORWARD_KERNEL(nnc_rt_f32_conv2d_im2col_packed__c);
/* portable residual: the layer (any groups when not `panels`), then y = act(y + r) */
NNC_RT_CONV2D_RESIDUAL_KERNEL(nnc_rt_f32_conv2d_residual__c);
/* portable depthwise (c/groups == 1, groups > 1): 4 pixels x 16 channels of
 * a row's interior in registers (multiplier 1), a plain loop elsewhere;
 * the backward kernels walk every (pixel, tap) */
NNC_RT_CONV2D_FORWARD_KERNEL(nnc_rt_f32_conv2d_depthwise_4x16__c);
NNC_RT_CONV2D_DATA_KERNEL(nnc_rt_f32_conv2d_depthwise_data__c);
NNC_RT_CONV2D_FILTER_KERNEL(nnc_rt_f32_conv2d_depthwise_filter__c);

/* AVX2 + FMA: direct (groups == 1) forward 6 pixels x 16 channels, filter
 * 6 (or 5) taps x 16 channels; depthwise rows of 6 pixels x 8 channels
 * (forward; backward_data at stride 1 as the flipped forward), the 3x3
 * filter gradient a row at a time (the rest as the portable walk) */
#if defined(__AVX2__) && defined(__FMA__)
NNC_RT_CONV2D_FORWARD_KERNEL(nnc_rt_f32_conv2d_direct_6x16__avx2);
NNC_RT_CONV2D_FORWARD_KERNEL(nnc_rt_f32_conv2d_direct_packed_6x16__avx2); /* w in panels */
NNC_RT_CONV2D_RESIDUAL_KERNEL(nnc_rt_f32_conv2d_direct_residual_6x16__avx2);
/* 3x3 stride 1 by Winograd F(2x2, 3x3), r may be NULL (conv_winograd.h) */
NNC_RT_CONV2D_RESIDUAL_KERNEL(nnc_rt_f32_conv2d_winograd2x2_6x16__avx2);
NNC_RT_CONV2D_FILTER_KERNEL(nnc_rt_f32_conv2d_direct_filter_6x16__avx2);
NNC_RT_CONV2D_FILTER_BIAS_KERNEL(nnc_rt_f32_conv2d_direct_filter_bias_6x16__avx2);
NNC_RT_CONV2D_FORWARD_KERNEL(nnc_rt_f32_conv2d_depthwise_6x8__avx2);
NNC_RT_CONV2D_DATA_KERNEL(nnc_rt_f32_conv2d_depthwise_data_6x8__avx2);
NNC_RT_CONV2D_FILTER_KERNEL(nnc_rt_f32_conv2d_depthwise_filter3x3__avx2);
#endif
/* AVX-512F: the same with 8 pixels x 32 channels, 12 (or 9) taps x 32
 * channels, depthwise rows of 8 pixels x 16 channels */
#if defined(__AVX512F__)
NNC_RT_CONV2D_FORWARD_KERNEL(nnc_rt_f32_conv2d_direct_8x32__avx512);
NNC_RT_CONV2D_FORWARD_KERNEL(nnc_rt_f32_conv2d_direct_packed_8x32__avx512); /* w in panels */
NNC_RT_CONV2D_RESIDUAL_KERNEL(nnc_rt_f32_conv2d_direct_residual_8x32__avx512);
NNC_RT_CONV2D_RESIDUAL_KERNEL(nnc_rt_f32_conv2d_winograd2x2_8x32__avx512);
NNC_RT_CONV2D_FILTER_KERNEL(nnc_rt_f32_conv2d_direct_filter_12x32__avx512);
NNC_RT_CONV2D_FILTER_BIAS_KERNEL(nnc_rt_f32_conv2d_direct_filter_bias_12x32__avx512);
NNC_RT_CONV2D_FORWARD_KERNEL(nnc_rt_f32_conv2d_depthwise_8x16__avx512);
NNC_RT_CONV2D_DATA_KERNEL(nnc_rt_f32_conv2d_depthwise_data_8x16__avx512);
NNC_RT_CONV2D_FILTER_KERNEL(nnc_rt_f32_conv2d_depthwise_filter3x3__avx512);
#endif

/* ---- the list -------------------------------------------------------------------
 * Every convolution kernel compiled into this build of the library
 * (whatever flags the caller was compiled with), portable first: returns
 * the count and points *list at a constant table.  Exactly one of the three
 * function pointers of an entry is set: the operation it computes. */
typedef int (*nnc_rt_conv2d_forward_fn)(const nnc_rt_conv2d *p, float *y, const float *x,
                                        const float *w, const float *b, float *scratch, int n,
                                        int act);
typedef int (*nnc_rt_conv2d_data_fn)(const nnc_rt_conv2d *p, float *dx, const float *dy,
                                     const float *w, float *scratch, int n);
typedef int (*nnc_rt_conv2d_filter_fn)(const nnc_rt_conv2d *p, float *dw, const float *dy,
                                       const float *x, float *scratch, int n);
typedef struct nnc_rt_conv2d_variant {
    const char *name;       /* the kernel's name without "nnc_rt_f32_conv2d_" */
    nnc_rt_conv2d_forward_fn forward;
    nnc_rt_conv2d_data_fn backward_data;
    nnc_rt_conv2d_filter_fn backward_filter;
} nnc_rt_conv2d_variant;
int nnc_rt_conv2d_variants(const nnc_rt_conv2d_variant **list);

#endif
