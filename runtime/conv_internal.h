/* conv_internal.h — what the convolution's files share and nothing else
 * includes: the clipping of windows to the input, short copies, the
 * direct kernels' view of a sample, and which kernel the entry points
 * (conv.c) call on this target.
 *
 *   conv.c             entry points and dispatch, im2col + GEMM, the list
 *   conv_ref.c         the plain C references
 *   conv_depthwise.c   the portable depthwise kernels (conv_depthwise.h)
 *   conv_avx2.c,       the direct and SIMD depthwise kernels for one ISA
 *   conv_avx512.c      each: conv_simd.h, conv_direct.h, conv_winograd.h,
 *                      conv_depthwise_simd.h and conv_depthwise.h instantiated
 *                      with its vectors
 */
#ifndef NNC_CONV_INTERNAL_H
#define NNC_CONV_INTERNAL_H

#include <string.h>

#include "nnc_rt_kernels.h"
#include "parallel.h"

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#define HAVE_DIRECT 1 /* the direct kernels */
#else
#define HAVE_DIRECT 0
#endif

/* the kernels the entry points call: the widest vectors the target has */
#if defined(__AVX512F__)
#define CONV_BEST_DIRECT nnc_rt_f32_conv2d_direct_8x32__avx512
#define CONV_BEST_DIRECT_PACKED nnc_rt_f32_conv2d_direct_packed_8x32__avx512
#define CONV_BEST_DIRECT_RESIDUAL nnc_rt_f32_conv2d_direct_residual_8x32__avx512
#define CONV_BEST_WINOGRAD nnc_rt_f32_conv2d_winograd2x2_8x32__avx512
#define CONV_BEST_DIRECT_FILTER nnc_rt_f32_conv2d_direct_filter_12x32__avx512
#define CONV_BEST_DIRECT_FILTER_BIAS nnc_rt_f32_conv2d_direct_filter_bias_12x32__avx512
#define CONV_BEST_DEPTHWISE nnc_rt_f32_conv2d_depthwise_8x16__avx512
#define CONV_BEST_DEPTHWISE_DATA nnc_rt_f32_conv2d_depthwise_data_8x16__avx512
#define CONV_BEST_DEPTHWISE_FILTER nnc_rt_f32_conv2d_depthwise_filter3x3__avx512
#elif HAVE_DIRECT
#define CONV_BEST_DIRECT nnc_rt_f32_conv2d_direct_6x16__avx2
#define CONV_BEST_DIRECT_PACKED nnc_rt_f32_conv2d_direct_packed_6x16__avx2
#define CONV_BEST_DIRECT_RESIDUAL nnc_rt_f32_conv2d_direct_residual_6x16__avx2
#define CONV_BEST_WINOGRAD nnc_rt_f32_conv2d_winograd2x2_6x16__avx2
#define CONV_BEST_DIRECT_FILTER nnc_rt_f32_conv2d_direct_filter_6x16__avx2
#define CONV_BEST_DIRECT_FILTER_BIAS nnc_rt_f32_conv2d_direct_filter_bias_6x16__avx2
#define CONV_BEST_DEPTHWISE nnc_rt_f32_conv2d_depthwise_6x8__avx2
#define CONV_BEST_DEPTHWISE_DATA nnc_rt_f32_conv2d_depthwise_data_6x8__avx2
#define CONV_BEST_DEPTHWISE_FILTER nnc_rt_f32_conv2d_depthwise_filter3x3__avx2
#else
#define CONV_BEST_DEPTHWISE nnc_rt_f32_conv2d_depthwise_4x16__c
#define CONV_BEST_DEPTHWISE_DATA nnc_rt_f32_conv2d_depthwise_data__c
#define CONV_BEST_DEPTHWISE_FILTER nnc_rt_f32_conv2d_depthwise_filter__c
#endif

/* kernels that get their own register allocation, not inlined into the
 * entry points' (there they were up to 1.3x slower); and a walk that is
 * inlined into each caller, with its `kind` a constant there (out of line,
 * depthwise backward_data was 1.3x slower) */
#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#define ALWAYS_INLINE __attribute__((always_inline))
#else
#define NOINLINE
#define ALWAYS_INLINE
#endif

/* direct_filter's fixed cost per call (DKB*NV accumulators loaded and
 * stored, the offsets) is spread over one sample's pixels: with fewer
 * pixels than this and a K deeper than that the im2col GEMM is faster
 * (1.1x at 7x7x512) */
#define DIRECT_FILTER_MIN_PIX 64
#define DIRECT_FILTER_MIN_K 64

static inline int imax(int a, int b) { return a > b ? a : b; }
static inline int imin(int a, int b) { return a < b ? a : b; }

/* the taps k in [*lo, *hi) of a kernel kn taps long (dilation d) that
 * land inside an input of n cells for a window starting at cell i0 */
static inline void valid_taps(int i0, int kn, int d, int n, int *lo, int *hi)
{
    int l = 0, h = kn;
    if (i0 < 0)
        l = imin((-i0 + d - 1) / d, h);
    if (i0 + (h - 1) * d >= n)
        h = (n - 1 - i0) / d + 1;
    if (i0 >= n)
        h = 0;
    *lo = l;
    *hi = imax(h, l);
}

/* the kernel columns inside the input for an output column starting at
 * input column ix0, and the rows for one starting at row iy0 */
static inline void valid_kx(const nnc_rt_conv2d *p, int ix0, int *lo, int *hi)
{
    valid_taps(ix0, p->kw, p->dw, p->w, lo, hi);
}

static inline void valid_ky(const nnc_rt_conv2d *p, int iy0, int *lo, int *hi)
{
    valid_taps(iy0, p->kh, p->dh, p->h, lo, hi);
}

/* one input channel per group: the depthwise kernels (conv_depthwise.h) */
static inline int is_depthwise(const nnc_rt_conv2d *p) { return p->c / p->groups == 1 && p->groups > 1; }

static inline int is_pointwise(const nnc_rt_conv2d *p)
{
    return p->kh == 1 && p->kw == 1 && p->sh == 1 && p->sw == 1 && p->pt == 0 && p->pl == 0 &&
           p->oh == p->h && p->ow == p->w;
}

/* Copies and clears of one kernel row's run of floats.  Zero-length runs
 * (clipped edges) are frequent, and so are runs of a few floats (c = 1):
 * those are moved by a fixed-length loop the compiler turns into a few
 * masked vector moves, instead of a libc call that costs more than the
 * copy. */
#define SHORT_RUN 8

static inline void copy_floats(float *restrict d, const float *restrict s, long k)
{
    int i;
    if (k > SHORT_RUN)
        memcpy(d, s, (size_t)k * sizeof *d);
    else
        for (i = 0; i < SHORT_RUN; i++)
            if (i < k)
                d[i] = s[i];
}

static inline void zero_floats(float *d, long k)
{
    int i;
    if (k > SHORT_RUN)
        memset(d, 0, (size_t)k * sizeof *d);
    else
        for (i = 0; i < SHORT_RUN; i++)
            if (i < k)
                d[i] = 0.0f;
}

/* y[rows, oc] = act(y + b) (conv.c) */
void nnc_rt_conv2d_epilogue(float *y, long rows, int oc, const float *b, int act);

#define DIRECT_MAX_RUNS 64 /* longer windows take the im2col path */
/* How the direct kernels see a sample: the input itself, or its zero-padded
 * copy in the scratch, the window of output pixel (oy, ox) starting at
 * oy*rstep + ox*cstep. */
typedef struct direct_view {
    int R, C;           /* rows and columns the windows span */
    int padded;         /* 1: through a zero-padded copy */
    long row;           /* floats from one row of the view to the next */
    long rstep, cstep;
    int nruns, run, K;  /* a window: nruns runs of run floats, K taps */
    long roff[DIRECT_MAX_RUNS];
} direct_view;

/* 1, and *v set up, when the direct kernels can do p with its scratch (conv.c) */
int nnc_rt_conv2d_direct_plan(const nnc_rt_conv2d *p, direct_view *v);

#endif
