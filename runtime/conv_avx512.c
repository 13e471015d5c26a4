/* conv_avx512.c — the convolution kernels for AVX-512F (512-bit vectors, masked tails): the
 * direct forward and filter kernels (conv_direct.h), the Winograd 3x3
 * kernel (conv_winograd.h) and the depthwise
 * kernels (conv_depthwise_simd.h, conv_depthwise.h), instantiated with
 * this ISA's vectors and tiles (conv_simd.h) under their own names
 * (nnc_rt_kernels.h).  Compiled to nothing where the target's macros do
 * not allow the ISA.
 */
#include "conv_internal.h"

#if defined(__AVX512F__)
#define CONV_ISA_AVX512 1
#include "conv_simd.h"
#include "conv_direct.h"
#include "conv_winograd.h"
#include "conv_depthwise_simd.h"
#include "conv_depthwise.h"
#else
typedef int nnc_rt_conv_avx512_absent; /* ISO C: a translation unit declares something */
#endif
