/* nnc_rt.h — the runtime every nnc-generated model links against.
 *
 * Design: plain C99, no allocation, no I/O.  Every kernel has one portable
 * reference body; SIMD variants (when they exist) are chosen at compile time
 * by the target's macros and must agree with the reference within float
 * tolerance.  Shapes are passed as ints; the batch extent `n` is the one
 * dimension known only at run time.  All matrices are row-major.
 *
 * Backward kernels take gradient outputs first and OVERWRITE them (the
 * compiler inserts explicit add nodes where a value has several consumers),
 * so the buffer planner never has to zero a gradient before use.
 */
#ifndef NNC_RT_H
#define NNC_RT_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#define NNC_RT_VERSION "0.1.0"

/* For the declaration of a model's state: `static NAME_t m NNC_RT_ALIGN64;`
 * puts it on a cache line, so the 64-byte vector loads of the AVX-512 (and
 * other) kernels on its parameters and activations never straddle two
 * lines (measured: 5 % of a training epoch when the struct is only 32-byte
 * aligned).  The type itself is not over-aligned: a malloc'ed state stays
 * valid. */
#if defined(__GNUC__) || defined(__clang__)
#define NNC_RT_ALIGN64 __attribute__((aligned(64)))
#else
#define NNC_RT_ALIGN64
#endif

/* ---- floating-point mode (fpmode.c) ------------------------------------
 * Every public entry point of a generated model runs with flush-to-zero on
 * (subnormals as zero: x86 MXCSR FTZ+DAZ, Arm FPCR/FPSCR.FZ) and restores the
 * caller's mode before it returns, so subnormal values never stall a core. */
typedef unsigned long nnc_rt_fpmode;
nnc_rt_fpmode nnc_rt_fp_enter(void);            /* flush-to-zero on; returns the caller's mode */
void          nnc_rt_fp_leave(nnc_rt_fpmode saved);   /* the caller's flush setting back (flags stay) */
nnc_rt_fpmode nnc_rt_fp_get(void);              /* this thread's mode (for threads to copy) */
void          nnc_rt_fp_set(nnc_rt_fpmode mode);
nnc_rt_fpmode nnc_rt_fp_flush_bits(void);       /* the mode's flush-to-zero bits; 0: the target has none */

/* ---- random numbers (deterministic, platform independent) ------------- */
typedef struct nnc_rt_rng { uint64_t state; } nnc_rt_rng;
void     nnc_rt_rng_seed(nnc_rt_rng *r, uint64_t seed);
uint32_t nnc_rt_rng_u32(nnc_rt_rng *r);
float    nnc_rt_rng_uniform(nnc_rt_rng *r);           /* [0, 1) */
float    nnc_rt_rng_normal(nnc_rt_rng *r);            /* N(0, 1) */
/* idx[i] = a uniformly random permutation of 0..n-1 (Fisher-Yates) */
void     nnc_rt_shuffle(int32_t *idx, long n, uint64_t seed);

/* ---- initialisers (Keras semantics) ------------------------------------ */
enum nnc_rt_init {
    NNC_RT_INIT_ZEROS, NNC_RT_INIT_ONES,
    NNC_RT_INIT_GLOROT_UNIFORM, NNC_RT_INIT_GLOROT_NORMAL,
    NNC_RT_INIT_HE_UNIFORM, NNC_RT_INIT_HE_NORMAL,
    NNC_RT_INIT_ORTHOGONAL,     /* rows (or columns) orthonormal; w is (fan_in, fan_out) */
    NNC_RT_INIT_UNIFORM,        /* U(-0.05, 0.05): Keras' RandomUniform default (embeddings) */
    NNC_RT_INIT_UNIT_FORGET     /* LSTM bias: zeros, ones for the forget gate [U, 2U), U = fan_in */
};
/* normal variants are truncated at 2 stddev, as Keras does */
void nnc_rt_init(int kind, float *w, long size, int fan_in, int fan_out, nnc_rt_rng *r);

/* ---- GEMM ---------------------------------------------------------------
 * C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C
 * op(X) = X or X^T (ta/tb != 0).  lda/ldb/ldc are row strides of the stored
 * matrices.  beta == 0 means C is write-only (may hold NaN on entry).
 * ldb == 0 with tb == 0: B is in panels, as nnc_rt_gemm_pack_b lays it out. */
void nnc_rt_gemm_f32(int ta, int tb, int M, int N, int K, float alpha,
                     const float *A, int lda, const float *B, int ldb,
                     float beta, float *C, int ldc);
/* B[K,N] (row-major) into panels of NNC_RT_GEMM_PANEL columns, each panel
 * its K rows one after another; a last panel N mod 32 wide is stored
 * transposed (its columns one after another): the layout the kernels
 * stream without packing.  nnc lays constant weights out this way at
 * compile time.  dst holds K*N floats. */
#define NNC_RT_GEMM_PANEL 32
void nnc_rt_gemm_pack_b(float *dst, const float *B, int K, int N);
void nnc_rt_gemm_f32_ref(int ta, int tb, int M, int N, int K, float alpha,
                         const float *A, int lda, const float *B, int ldb,
                         float beta, float *C, int ldc);
/* C = op(A) op(B) (alpha 1, beta 0), then C = act'(C) from the forward
 * output y (nnc_rt_act_backward's dx from dy = C): the gradient of the
 * activation before a layer folded into the product that gives the layer's
 * input gradient.  act elementwise (not softmax). */
void nnc_rt_gemm_f32_act_grad(int ta, int tb, int M, int N, int K, const float *A, int lda,
                              const float *B, int ldb, float *C, int ldc, int act,
                              const float *y, int ldy);
/* The same blocked GEMM with one named micro-kernel (MRxNR__isa), for tests
 * and benchmarks; nnc_rt_gemm_f32 uses the best one the target's macros
 * allow (avx512 > avx2 > portable C; neon on AArch64). */
void nnc_rt_f32_gemm_6x16__c(int ta, int tb, int M, int N, int K, float alpha,
                             const float *A, int lda, const float *B, int ldb,
                             float beta, float *C, int ldc);
/* ... with the narrow small-M kernel (rows < 4: 8 columns at a time, for
 * cores with few registers; the default on Cortex-M) */
void nnc_rt_f32_gemm_6x16_1x8__c(int ta, int tb, int M, int N, int K, float alpha,
                                 const float *A, int lda, const float *B, int ldb,
                                 float beta, float *C, int ldc);
#if defined(__AVX2__) && defined(__FMA__)
void nnc_rt_f32_gemm_6x16__avx2(int ta, int tb, int M, int N, int K, float alpha,
                                const float *A, int lda, const float *B, int ldb,
                                float beta, float *C, int ldc);
#endif
#if defined(__AVX512F__)
void nnc_rt_f32_gemm_8x32__avx512(int ta, int tb, int M, int N, int K, float alpha,
                                  const float *A, int lda, const float *B, int ldb,
                                  float beta, float *C, int ldc);
void nnc_rt_f32_gemm_16x16__avx512(int ta, int tb, int M, int N, int K, float alpha,
                                   const float *A, int lda, const float *B, int ldb,
                                   float beta, float *C, int ldc);
#endif
#if defined(__aarch64__) && defined(__ARM_NEON)
void nnc_rt_f32_gemm_6x16__neon(int ta, int tb, int M, int N, int K, float alpha,
                                const float *A, int lda, const float *B, int ldb,
                                float beta, float *C, int ldc);
#endif
/* Tiling: how a product of a given shape is computed on a target — which
 * path, which micro-kernel tile, how deep the K blocks are and how B is
 * read.  One function decides: the runtime calls it with the target it was
 * compiled for (nnc_rt_gemm_native), nnc with its --target's, to record
 * and report the tiles (nnc --report). */
typedef struct nnc_rt_gemm_target {
    const char *isa;      /* the kernels' instruction set: "avx512", "avx2", "neon", "c" */
    int mr, nr;           /* the main micro-kernel's tile of C */
    int narrow_mr, narrow_nr; /* narrow_nr > 0: a second kernel for N <= narrow_nr */
    int l1_bytes;         /* the data cache a B sliver should fit; 0: none */
    int buf_floats;       /* the blocked path's packing buffer (on the stack) */
    int small_m_cols;     /* the small-M path's column block: 64, or 8 for few registers */
    int narrow_at;        /* > 0: products with N <= narrow_at by gemm_small.c's paths */
} nnc_rt_gemm_target;
enum { NNC_RT_GEMM_SMALL_K = 1, NNC_RT_GEMM_SMALL_M, NNC_RT_GEMM_BLOCKED, NNC_RT_GEMM_NARROW_AT,
       NNC_RT_GEMM_NARROW_DOT };
enum { NNC_RT_GEMM_B_PACKED = 1, NNC_RT_GEMM_B_IN_PLACE };
typedef struct nnc_rt_gemm_tiles {
    int path;             /* NNC_RT_GEMM_SMALL_K (K < 4), _SMALL_M (M < 4), _BLOCKED, or
                           * for N <= narrow_at _NARROW_AT (A^T B) or _NARROW_DOT (A op(B),
                           * K >= 32); the blocked fields are filled in too: a beta, or
                           * an epilogue for A^T B, runs that way */
    int mr, nr;           /* blocked: the kernel's tile; small M: nr = column block */
    int kc, kblocks;      /* blocked: K block depth and count */
    int b;                /* blocked: NNC_RT_GEMM_B_PACKED once per product, or _IN_PLACE */
} nnc_rt_gemm_tiles;
/* panels: B is in panels (nnc_rt_gemm_pack_b) */
void nnc_rt_gemm_tiles_for(const nnc_rt_gemm_target *t, int ta, int tb, int M, int N, int K, int panels,
                           nnc_rt_gemm_tiles *out);
const nnc_rt_gemm_target *nnc_rt_gemm_native(void);
/* Every variant compiled into this build of the library (whatever flags the
 * caller was compiled with), portable first: returns the count and points
 * *list at a constant table.  Tests check each against the reference. */
typedef void (*nnc_rt_gemm_f32_fn)(int ta, int tb, int M, int N, int K, float alpha,
                                   const float *A, int lda, const float *B, int ldb,
                                   float beta, float *C, int ldc);
typedef struct nnc_rt_gemm_f32_variant {
    const char *name;
    nnc_rt_gemm_f32_fn fn;
} nnc_rt_gemm_f32_variant;
int nnc_rt_gemm_f32_variants(const nnc_rt_gemm_f32_variant **list);

/* ---- activations ------------------------------------------------------- */
enum nnc_rt_act {
    NNC_RT_ACT_LINEAR, NNC_RT_ACT_RELU, NNC_RT_ACT_SIGMOID,
    NNC_RT_ACT_TANH, NNC_RT_ACT_SOFTMAX,
    NNC_RT_ACT_RELU6, /* min(max(x, 0), 6) (MobileNet's; ONNX Clip(0, 6)) */
    NNC_RT_ACT_LEAKY_RELU,   /* x > 0 ? x : a x      (a: the negative slope) */
    NNC_RT_ACT_ELU,          /* x > 0 ? x : a (e^x - 1)                        */
    NNC_RT_ACT_GELU,         /* x Phi(x) = x/2 (1 + erf(x / sqrt 2))           */
    NNC_RT_ACT_SWISH,        /* x sigmoid(x)                                   */
    NNC_RT_ACT_SILU,         /* the same function: Keras' other name for it    */
    NNC_RT_ACT_HARD_SIGMOID, /* relu6(x + 3) / 6 (Keras 3's; Keras 2 had 0.2 x + 0.5) */
    NNC_RT_ACT_SOFTPLUS,     /* log(1 + e^x)                                   */
    NNC_RT_ACT_GELU_TANH,    /* gelu(approximate = true):
                              * x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
    NNC_RT_ACT_HARD_SWISH    /* x clamp(x (1/6) + 1/2, 0, 1), nnc_rt_unary's HARD_SWISH
                              * to the bit: an epilogue kind of imported
                              * inference graphs only (no backward kernel) */
};
/* the parameter a of leaky_relu and elu where an activation is named without
 * one (dense(..., activation = leaky_relu)): the defaults of Keras' activation
 * functions, keras.activations.leaky_relu's negative_slope 0.2 and elu's
 * alpha 1 (Keras' LeakyReLU LAYER defaults to 0.3).  0 for the other kinds. */
static inline float nnc_rt_act_alpha(int act)
{
    return act == NNC_RT_ACT_LEAKY_RELU ? 0.2f : act == NNC_RT_ACT_ELU ? 1.0f : 0.0f;
}
/* 1 for the kinds whose derivative is not a function of their output (gelu
 * and swish are not monotonic): their backward kernels take the forward
 * INPUT x where the others take the output y */
static inline int nnc_rt_act_needs_input(int act)
{
    return act == NNC_RT_ACT_GELU || act == NNC_RT_ACT_GELU_TANH || act == NNC_RT_ACT_SWISH ||
           act == NNC_RT_ACT_SILU;
}
/* relu and relu6 as the clamps the GEMM and convolution kernels apply in
 * registers before a store: clamp 1 to [0, inf), clamp 2 to [0, 6]; 0 for
 * the other activations (applied after) */
static inline int nnc_rt_act_clamp(int act)
{
    return act == NNC_RT_ACT_RELU ? 1 : act == NNC_RT_ACT_RELU6 ? 2 : 0;
}
static inline float nnc_rt_clamp_hi(int clamp) { return clamp == 2 ? 6.0f : HUGE_VALF; }
/* x clamp(x (1/6) + 1/2, 0, 1): ONNX's HardSwish (alpha 1/6), the one
 * formula of the unary op, the activation and the GEMM epilogue (the same
 * bits wherever it is fused).  Loops pass `one` read from a volatile (1,
 * but not a constant to the compiler): with the literal, gcc turns x *
 * min(v, 1) into a branch (x 1 is x) around a product it then will not
 * compute for every element, and leaves the loop scalar — a quarter of
 * PaddleOCR's recogniser on Zen 3 */
static inline float nnc_rt_hard_swish_one(float x, float one)
{
    float v = x * (1.0f / 6.0f) + 0.5f;
    v = v > 0.0f ? v : 0.0f;
    return x * (v < one ? v : one);
}
static inline float nnc_rt_hard_swish(float x) { return nnc_rt_hard_swish_one(x, 1.0f); }
/* 1, read where a loop starts from a volatile: the `one` those loops pass */
static inline float nnc_rt_opaque_one(void)
{
    volatile float one = 1.0f;
    return one;
}
/* 1/(1+e^-x), computed so that nothing overflows */
float nnc_rt_sigmoid(float x);
/* y[n,m] = act(x[n,m]); softmax is over each row of m.  y may equal x.
 * The kinds up to NNC_RT_ACT_RELU6 (the ones GEMM and convolution epilogues
 * apply); the others go through nnc_rt_act_forward_alpha, so that a model
 * without them links none of their code. */
void nnc_rt_act_forward(int act, float *y, const float *x, int n, int m);
/* dx[n,m] = dL/dx given dy = dL/dy and the forward OUTPUT y.  dx may equal
 * dy.  The kinds up to NNC_RT_ACT_RELU6, as for the forward kernel. */
void nnc_rt_act_backward(int act, float *dx, const float *dy, const float *y, int n, int m);
/* every kind, with the parameter a of leaky_relu (a >= 0) and elu (a >= 0,
 * so that the sign of y is the sign of x); the backward kernel takes the
 * forward INPUT x in place of y where nnc_rt_act_needs_input(act) */
void nnc_rt_act_forward_alpha(int act, float a, float *y, const float *x, int n, int m);
void nnc_rt_act_backward_alpha(int act, float a, float *dx, const float *dy, const float *y, int n, int m);
/* the same, and db[m] = the sum over the n rows of dx */
void nnc_rt_act_bias_backward(int act, float *dx, float *db, const float *dy, const float *y,
                              int n, int m);

/* ---- PReLU: y = x > 0 ? x : alpha x, a trainable alpha per element of a
 * sample, broadcast along Keras' shared_axes ------------------------------------
 * A sample is size floats; alpha's index for the sample's element i is the
 * sum over its runs b < runs of (i / inner[b]) % len[b] * stride[b] (a run:
 * consecutive axes alpha varies along, merged; none: one alpha for all). */
#define NNC_RT_PRELU_RUNS 4
typedef struct nnc_rt_prelu {
    long size;
    int runs;
    long inner[NNC_RT_PRELU_RUNS], len[NNC_RT_PRELU_RUNS], stride[NNC_RT_PRELU_RUNS];
} nnc_rt_prelu;
/* x, y are (n, size); y may equal x */
void nnc_rt_prelu_forward(const nnc_rt_prelu *p, float *y, const float *x, const float *alpha, int n);
/* dx = dy (x > 0 ? 1 : alpha) (dx may be NULL, may equal dy); dalpha = the
 * sum of dy min(x, 0) over the batch and the shared axes (overwrites) */
void nnc_rt_prelu_backward(const nnc_rt_prelu *p, float *dx, float *dalpha, const float *dy, const float *x,
                           const float *alpha, int n);

/* ---- dense ---------------------------------------------------------------
 * y[n,m] = act(x[n,k] . w[k,m] + b[m]); b may be NULL. */
void nnc_rt_dense_forward(float *y, const float *x, const float *w, const float *b,
                          int n, int k, int m, int act);
/* the same with w in panels (nnc_rt_gemm_pack_b): constant weights */
void nnc_rt_dense_forward_packed(float *y, const float *x, const float *wp, const float *b,
                                 int n, int k, int m, int act);
/* db[m] = sum over the n rows of dy[n,m] */
void nnc_rt_bias_backward(float *db, const float *dy, int n, int m);
/* y = a + b, elementwise over size (gradient accumulation) */
void nnc_rt_add(float *y, const float *a, const float *b, long size);

/* ---- convolution (channels-last) -------------------------------------------
 * x is (n, h, w, c), y is (n, oh, ow, oc), the kernel w is (kh, kw, c/groups, oc)
 * as Keras stores it, b is (oc) or NULL.  Output channel o belongs to group
 * o / (oc/groups) and reads input channels [g*c/groups, (g+1)*c/groups).
 * Padding: pt/pl rows/columns of zeros before the input; the ones after are
 * implied by oh/ow: oh = (h + pt + pb - dh*(kh-1) - 1)/sh + 1.
 * `scratch` holds NNC_RT_CONV2D_SCRATCH(p) floats: one sample's im2col
 * matrix for one group, (oh*ow, kh*kw*c/groups), or for some 3x3 layers
 * more (NNC_RT_CONV2D_WINOGRAD_ROOM).  conv1d is conv2d with h = kh = 1. */
typedef struct nnc_rt_conv2d {
    int h, w, c;        /* input, per sample */
    int oh, ow, oc;     /* output, per sample */
    int kh, kw;         /* kernel */
    int sh, sw;         /* strides */
    int dh, dw;         /* dilation */
    int pt, pl;         /* zero padding before the first row / column */
    int groups;
} nnc_rt_conv2d;
#define NNC_RT_CONV2D_IM2COL(p) ((long)(p)->oh * (p)->ow * (p)->kh * (p)->kw * ((p)->c / (p)->groups))
/* A 3x3 stride-1 layer of one group with c a multiple of 16 and oc of 32,
 * at least 14x14 pixels, whose Winograd kernel (16*c*oc floats: the
 * inference kernels compute it by F(2x2, 3x3), runtime/conv_winograd.h)
 * is more than half its im2col matrix (ResNet-18's 14x14x256) has room
 * for that kernel and two blocks of 32 tiles (a block per thread), a
 * little more for their alignment.  The
 * layers with more pixels per channel fit in the im2col room already. */
#define NNC_RT_CONV2D_WINOGRAD_ROOM(p)                                                       \
    ((p)->kh == 3 && (p)->kw == 3 && (p)->sh == 1 && (p)->sw == 1 && (p)->dh == 1 &&         \
             (p)->dw == 1 && (p)->groups == 1 && (p)->c % 16 == 0 && (p)->oc % 32 == 0 &&    \
             (long)(p)->oh * (p)->ow >= 196 && 32L * (p)->oc > 9L * (p)->oh * (p)->ow        \
         ? 16L * (p)->c * (p)->oc + 1024L * ((p)->c + (p)->oc) + 2048L                       \
         : 0L)
#define NNC_RT_CONV2D_SCRATCH(p)                                                             \
    (NNC_RT_CONV2D_IM2COL(p) > NNC_RT_CONV2D_WINOGRAD_ROOM(p) ? NNC_RT_CONV2D_IM2COL(p)      \
                                                              : NNC_RT_CONV2D_WINOGRAD_ROOM(p))
/* How nnc_rt_conv2d_forward computes p on a build with the direct kernels
 * (direct = 1: AVX-512, or AVX2 and FMA) or without; nnc --report asks it
 * for the target's */
enum nnc_rt_conv_path {
    NNC_RT_CONV_DEPTHWISE,  /* one input channel per group: vectorised over channels */
    NNC_RT_CONV_POINTWISE,  /* 1x1, stride 1, one group: a dense layer over the pixels */
    NNC_RT_CONV_DIRECT,     /* register-blocked taps read in place, no im2col */
    NNC_RT_CONV_GEMM        /* im2col (unless 1x1) + GEMM per sample and group */
};
int nnc_rt_conv2d_path(const nnc_rt_conv2d *p, int direct);
/* 1 when nnc_rt_conv2d_forward_packed and nnc_rt_conv2d_forward_residual
 * compute p by Winograd F(2x2, 3x3) on this build (conv_winograd.h) */
int nnc_rt_conv2d_winograd(const nnc_rt_conv2d *p);
/* y = act(conv(x, w) + b) */
void nnc_rt_conv2d_forward(const nnc_rt_conv2d *p, float *y, const float *x, const float *w,
                           const float *b, float *scratch, int n, int act);
/* the same with w, groups == 1, in panels: nnc_rt_gemm_pack_b of w as the
 * (kh*kw*c, oc) matrix it is (nnc lays constant kernels out so at compile
 * time, and the kernels then read them in place instead of copying blocks
 * of them for every call) */
void nnc_rt_conv2d_forward_packed(const nnc_rt_conv2d *p, float *y, const float *x, const float *wp,
                                  const float *b, float *scratch, int n, int act);
/* y = act(conv(x, w) + b + r): a residual r of y's shape (not y itself)
 * added before the activation, in the first pass over y (ResNet's
 * conv -> add -> relu as one layer); w in panels when `panels` (then
 * groups == 1), as for nnc_rt_conv2d_forward_packed */
void nnc_rt_conv2d_forward_residual(const nnc_rt_conv2d *p, float *y, const float *x, const float *w,
                                    int panels, const float *b, const float *r, float *scratch, int n,
                                    int act);
/* dx = dL/dx given dy (overwrites dx) */
void nnc_rt_conv2d_backward_data(const nnc_rt_conv2d *p, float *dx, const float *dy,
                                 const float *w, float *scratch, int n);
/* dw = dL/dw summed over the batch (overwrites dw) */
void nnc_rt_conv2d_backward_filter(const nnc_rt_conv2d *p, float *dw, const float *dy,
                                   const float *x, float *scratch, int n);
/* the same and db[oc] = the sums of dy's channels over the batch's pixels
 * (nnc_rt_bias_backward's bits), in one pass over dy where the kernel can */
void nnc_rt_conv2d_backward_filter_bias(const nnc_rt_conv2d *p, float *dw, float *db, const float *dy,
                                        const float *x, float *scratch, int n);
/* the kernels behind these three, by name and ISA, and their plain C
 * references, for tests and benchmarks: nnc_rt_kernels.h */

/* ---- spatial.c: pixels moved, not learnt (channels-last, 1-D as h = 1) ----------
 * conv2d_transpose's epilogue: y[r, j] = act(y[r, j] + b[j]) over (rows, m), b may be NULL */
void nnc_rt_bias_act_forward(float *y, const float *b, int rows, int m, int act);
/* y (n, oh, ow, c)[i, j] = x (n, h, w, c)[i - top, j - left], zero outside x
 * (zero padding: top, left >= 0; cropping: <= 0; each the other's gradient) */
void nnc_rt_shift2d(float *y, const float *x, int n, int h, int w, int c, int oh, int ow, int top, int left);
/* upsampling x (n, h, w, c) by (sh, sw) to y (n, h*sh, w*sw, c): nearest
 * (y[i, j] = x[i / sh, j / sw]) and bilinear (half-pixel centres, edges
 * clamped: tf.image.resize, torch's align_corners = False); backward
 * overwrites dx */
void nnc_rt_upsample_nearest(float *y, const float *x, int n, int h, int w, int c, int sh, int sw);
void nnc_rt_upsample_nearest_backward(float *dx, const float *dy, int n, int h, int w, int c, int sh, int sw);
void nnc_rt_upsample_bilinear(float *y, const float *x, int n, int h, int w, int c, int sh, int sw);
void nnc_rt_upsample_bilinear_backward(float *dx, const float *dy, int n, int h, int w, int c, int sh, int sw);

/* ---- pooling (channels-last) ------------------------------------------------
 * x is (n, h, w, c), y is (n, oh, ow, c); windows of kh x kw with strides
 * sh, sw, starting pt/pl cells before the input.  Padded cells never win a
 * max and are not counted by an average (Keras 'same').  Global pooling is
 * a window the size of the input. */
typedef struct nnc_rt_pool2d {
    int h, w, c, oh, ow, kh, kw, sh, sw, pt, pl;
} nnc_rt_pool2d;
void nnc_rt_maxpool2d_forward(const nnc_rt_pool2d *p, float *y, const float *x, int n);
/* routes dy to the first maximum of each window, recomputed from x (overwrites dx) */
void nnc_rt_maxpool2d_backward(const nnc_rt_pool2d *p, float *dx, const float *dy,
                               const float *x, int n);
void nnc_rt_avgpool2d_forward(const nnc_rt_pool2d *p, float *y, const float *x, int n);
void nnc_rt_avgpool2d_backward(const nnc_rt_pool2d *p, float *dx, const float *dy, int n);

/* ---- batch normalisation over the last axis ------------------------------------
 * x is (rows, c) with rows = n*h*w.  Training: normalise with this batch's
 * mean and biased variance, save mean and invstd = 1/sqrt(var + eps) for the
 * backward pass, and update moving = momentum*moving + (1-momentum)*batch
 * (Keras: the biased variance).  Inference: use the moving statistics.
 * gamma/beta may be NULL (Keras scale/center = False: 1 and 0), so may
 * moving_mean/moving_var (no update) and dgamma/dbeta; y may equal x and
 * dx may equal dy. */
void nnc_rt_batchnorm_forward_train(float *y, float *mean, float *invstd, const float *x,
                                    const float *gamma, const float *beta,
                                    float *moving_mean, float *moving_var,
                                    long rows, int c, float momentum, float eps);
void nnc_rt_batchnorm_forward_infer(float *y, const float *x, const float *gamma,
                                    const float *beta, const float *moving_mean,
                                    const float *moving_var, long rows, int c, float eps);
/* dx (may be NULL), dgamma, dbeta from dy and the saved statistics (overwrites) */
void nnc_rt_batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                               const float *x, const float *mean, const float *invstd,
                               const float *gamma, long rows, int c);

/* ---- layer normalisation over the last axis (Keras LayerNormalization) -----------
 * x is (rows, c), each row normalised by its own mean and biased variance:
 * y = (x - mean) invstd gamma + beta, invstd = 1/sqrt(var + eps); mean and
 * invstd (rows) are saved for the backward pass (either may be NULL in
 * inference).  gamma/beta may be NULL (scale/center = False), so may dgamma,
 * dbeta and dx; y may equal x, dx may equal dy. */
void nnc_rt_layernorm_forward(float *y, float *mean, float *invstd, const float *x, const float *gamma,
                              const float *beta, long rows, int c, float eps);
/* dgamma, dbeta (c): sums over the rows (overwritten) */
void nnc_rt_layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                               const float *mean, const float *invstd, const float *gamma, long rows, int c);

/* ---- dropout and element-wise helpers ------------------------------------------- */
/* mask[i] = 0 with probability rate, else 1/(1-rate); y = x * mask (y may
 * equal x).  One nnc_rt_rng_uniform draw per element; rate <= 0 draws none. */
void nnc_rt_dropout_forward(float *y, float *mask, const float *x, long size, float rate,
                            nnc_rt_rng *r);
/* Keras' SpatialDropout1D/2D on x of (n, inner, c): a draw per sample and
 * channel, shared by its steps or pixels (mask as above, full size) */
void nnc_rt_spatial_dropout_forward(float *y, float *mask, const float *x, long n, long inner, int c, float rate,
                                    nnc_rt_rng *r);
/* Keras' GaussianDropout (mask ~ N(1, rate / (1 - rate))) and GaussianNoise
 * (y = x + N(0, stddev^2)), training only */
void nnc_rt_gaussian_dropout_forward(float *y, float *mask, const float *x, long size, float rate, nnc_rt_rng *r);
void nnc_rt_gaussian_noise_forward(float *y, const float *x, long size, float stddev, nnc_rt_rng *r);
void nnc_rt_mul(float *y, const float *a, const float *b, long size);   /* y = a * b */
void nnc_rt_sub(float *y, const float *a, const float *b, long size);   /* y = a - b */
/* Keras' RepeatVector: y (n, times, features) holds x (n, features) times;
 * the backward pass sums dy over the copies (overwrites dx) */
void nnc_rt_repeat(float *y, const float *x, long n, int times, int features);
void nnc_rt_repeat_backward(float *dx, const float *dy, long n, int times, int features);
/* Keras' Permute: n samples of per-sample shape dims[rank] (rank <= 8), y's
 * axis i x's axis perm[i] (0-based); y must not overlap x */
void nnc_rt_permute(float *y, const float *x, long n, int rank, const int *dims, const int *perm);
void nnc_rt_scale(float *y, const float *x, float s, long size);       /* y = s x; y may equal x */
/* y = max(a, b), min(a, b); a wins ties */
void nnc_rt_max(float *y, const float *a, const float *b, long size);
void nnc_rt_min(float *y, const float *a, const float *b, long size);
/* their gradient as Keras' (TensorFlow's): dy goes to a where a wins (a >= b
 * for max, a <= b for min), to b elsewhere; dx is a's share (first = 1) or
 * b's (first = 0), zeros where the other operand won */
void nnc_rt_minmax_backward(float *dx, const float *dy, const float *a, const float *b, long size, int is_max,
                            int first);
void nnc_rt_copy(float *y, const float *x, long size);                  /* y may equal x */
int  nnc_rt_finite(const float *x, long size);     /* 1: no inf or NaN among the size values */
/* concatenation along an axis, one operand at a time: y is (rows, total),
 * x is (rows, width), placed at columns [offset, offset + width) */
void nnc_rt_concat_forward(float *y, const float *x, long rows, long width, long offset,
                           long total);
/* its gradient: dx (rows, width) = dy[:, offset : offset + width] */
void nnc_rt_concat_backward(float *dx, const float *dy, long rows, long width, long offset,
                            long total);

/* ---- embedding and recurrent layers (rnn.c) ---------------------------------
 * Sequences are (n, T, features), time-major inside each sample.
 * embedding: ids is (rows) int32, table (vocab, dim), y (rows, dim). */
void nnc_rt_embedding_forward(float *y, const int32_t *ids, const float *table, long rows,
                              int vocab, int dim);
/* overwrites dtable: zero, then the rows of the ids that occur get dy's sums */
void nnc_rt_embedding_backward(float *dtable, const float *dy, const int32_t *ids, long rows,
                               int vocab, int dim);

enum nnc_rt_cell { NNC_RT_CELL_SIMPLE, NNC_RT_CELL_LSTM, NNC_RT_CELL_GRU };
typedef struct nnc_rt_rnn {
    int steps, features, units;
    int cell;               /* nnc_rt_cell */
    int act;                /* SimpleRNN's activation (nnc_rt_act) */
    int return_sequences;   /* y is (n, T, U), else (n, U) */
    int reverse;            /* runs from the last step to the first; y stays aligned with x */
} nnc_rt_rnn;
/* gate columns: w is (features, G*units), r is (units, G*units); b is
 * (G*units), for GRU (2, G*units): the input and the recurrent bias */
#define NNC_RT_RNN_GATES(p) ((p)->cell == NNC_RT_CELL_LSTM ? 4 * (p)->units : \
                             (p)->cell == NNC_RT_CELL_GRU ? 3 * (p)->units : (p)->units)
/* floats saved per sample and step for the backward pass: SimpleRNN h;
 * LSTM i f g o c h; GRU z r hh rh h (rh = h_prev.R_h + b_rec_h) */
#define NNC_RT_RNN_SLOT(p) ((long)(p)->units * ((p)->cell == NNC_RT_CELL_LSTM ? 6 : \
                            (p)->cell == NNC_RT_CELL_GRU ? 5 : 1))
/* the workspace per sample: the slots, and for GRU one step's recurrent projection */
#define NNC_RT_RNN_WORK(p) ((long)(p)->steps * NNC_RT_RNN_SLOT(p) + \
                            ((p)->cell == NNC_RT_CELL_GRU ? 3L * (p)->units : 0))
#define NNC_RT_RNN_SCRATCH(p) ((long)(p)->steps * NNC_RT_RNN_GATES(p) * \
                               ((p)->cell == NNC_RT_CELL_GRU ? 2 : 1) + 2L * (p)->units)
/* y as above; h_last, c_last (n, U) the final states (may be NULL; c only
 * for LSTM); ws (n, NNC_RT_RNN_WORK) saved for the backward pass */
void nnc_rt_rnn_forward(const nnc_rt_rnn *p, float *y, float *h_last, float *c_last, float *ws,
                        const float *x, const float *w, const float *r, const float *b, int n);
/* back-propagation through time.  dy, dh_last, dc_last: gradients of the
 * outputs (each may be NULL: no gradient flows from it); overwrites dx (may
 * be NULL), dw, dr, db (NULL when the layer has no bias); scratch holds
 * n * NNC_RT_RNN_SCRATCH floats. */
void nnc_rt_rnn_backward(const nnc_rt_rnn *p, float *dx, float *dw, float *dr, float *db,
                         const float *dy, const float *dh_last, const float *dc_last,
                         const float *x, const float *w, const float *r, const float *ws,
                         float *scratch, int n);
/* the same with Keras' mask (rnn.c): step t of sample b is padding when
 * ids[b * steps + t] == 0; there the state carries over, and the output is
 * the carried h, or 0 with zero_output (a Bidirectional's halves) */
void nnc_rt_rnn_forward_masked(const nnc_rt_rnn *p, const int32_t *ids, int zero_output, float *y,
                               float *h_last, float *c_last, float *ws, const float *x, const float *w,
                               const float *r, const float *b, int n);
void nnc_rt_rnn_backward_masked(const nnc_rt_rnn *p, const int32_t *ids, int zero_output, float *dx,
                                float *dw, float *dr, float *db, const float *dy, const float *dh_last,
                                const float *dc_last, const float *x, const float *w, const float *r,
                                const float *ws, float *scratch, int n);
/* Keras' GlobalAveragePooling1D under a mask: x (n, steps, features) averaged
 * over the steps whose id is not 0 into y (n, features); 0 for all padding */
void nnc_rt_masked_mean_forward(float *y, const float *x, const int32_t *ids, int n, int steps, int features);
void nnc_rt_masked_mean_backward(float *dx, const float *dy, const int32_t *ids, int n, int steps, int features);

/* ---- N-d tensors with ONNX semantics (tensor_nd.c) -----------------------
 * An iteration space and, per operand, the stride of each axis in floats
 * (0: broadcast or reduced); offsets of the first element.  Every tensor is
 * float32: integer and boolean ONNX tensors are carried as floats. */
#define NNC_RT_ND_MAX 8
typedef struct nnc_rt_nd {
    int rank;
    long dims[NNC_RT_ND_MAX];
    long ys[NNC_RT_ND_MAX], as[NNC_RT_ND_MAX], bs[NNC_RT_ND_MAX];
    long yoff, aoff, boff;
} nnc_rt_nd;
long nnc_rt_nd_space(const nnc_rt_nd *p);   /* the space's elements: the product of its dims */
/* y[space] = a[space] (transpose, slice, expand, concat, pad, layout changes) */
void nnc_rt_copy_nd(float *y, const float *a, const nnc_rt_nd *p);
void nnc_rt_fill(float *y, long n, float v);
enum nnc_rt_binary {
    NNC_RT_BIN_ADD, NNC_RT_BIN_SUB, NNC_RT_BIN_MUL, NNC_RT_BIN_DIV, NNC_RT_BIN_POW,
    NNC_RT_BIN_MAX, NNC_RT_BIN_MIN, NNC_RT_BIN_MOD, NNC_RT_BIN_FMOD, NNC_RT_BIN_PRELU,
    NNC_RT_BIN_EQUAL, NNC_RT_BIN_LESS, NNC_RT_BIN_LESS_EQUAL, NNC_RT_BIN_GREATER,
    NNC_RT_BIN_GREATER_EQUAL, NNC_RT_BIN_AND, NNC_RT_BIN_OR, NNC_RT_BIN_XOR,
    /* integer tensors (carried as floats, exact up to 2^24): IDIV divides
     * toward zero (0 for a zero divisor, numpy's integer result); MUL16 is
     * the product modulo 2^16 in [0, 2^16), exact for operands up to 2^24 */
    NNC_RT_BIN_IDIV, NNC_RT_BIN_MUL16
};
void nnc_rt_binary_nd(int fn, float *y, const float *a, const float *b, const nnc_rt_nd *p);
/* y = c ? a : b; cs: c's strides over the space (c starts at offset 0) */
void nnc_rt_where_nd(float *y, const float *c, const float *a, const float *b, const nnc_rt_nd *p,
                     const long *cs);
enum nnc_rt_unary {
    NNC_RT_UN_IDENTITY, NNC_RT_UN_ABS, NNC_RT_UN_NEG, NNC_RT_UN_EXP, NNC_RT_UN_LOG,
    NNC_RT_UN_SQRT, NNC_RT_UN_RECIPROCAL, NNC_RT_UN_FLOOR, NNC_RT_UN_CEIL, NNC_RT_UN_ROUND,
    NNC_RT_UN_SIGN, NNC_RT_UN_SIN, NNC_RT_UN_COS, NNC_RT_UN_TAN, NNC_RT_UN_ASIN, NNC_RT_UN_ACOS,
    NNC_RT_UN_ATAN, NNC_RT_UN_SINH, NNC_RT_UN_COSH, NNC_RT_UN_ASINH, NNC_RT_UN_ACOSH,
    NNC_RT_UN_ATANH, NNC_RT_UN_ERF, NNC_RT_UN_RELU, NNC_RT_UN_SIGMOID, NNC_RT_UN_TANH,
    NNC_RT_UN_SOFTPLUS, NNC_RT_UN_SOFTSIGN, NNC_RT_UN_LEAKY_RELU, NNC_RT_UN_ELU, NNC_RT_UN_SELU,
    NNC_RT_UN_CELU, NNC_RT_UN_HARD_SIGMOID, NNC_RT_UN_HARD_SWISH, NNC_RT_UN_THRESHOLDED_RELU,
    NNC_RT_UN_CLIP, NNC_RT_UN_NOT, NNC_RT_UN_ISNAN, NNC_RT_UN_ISINF, NNC_RT_UN_SHRINK,
    NNC_RT_UN_MISH, NNC_RT_UN_AFFINE,
    /* ONNX element types held in floats: TRUNC toward zero; WRAP into the
     * integer range [beta, beta + alpha) modulo alpha = 2^bits (non-finite
     * x: 0); ROUND_F16 to float16's precision and range (nearest even,
     * overflow to inf); ROUND_BF16 to bfloat16's (nearest even; alpha != 0:
     * truncated toward zero, what ONNX's conformance data before opset 19 has) */
    NNC_RT_UN_TRUNC, NNC_RT_UN_WRAP, NNC_RT_UN_ROUND_F16, NNC_RT_UN_ROUND_BF16
};
/* y[i] = fn(x[i]) with the function's parameters alpha, beta (leaky_relu's
 * slope, clip's bounds, ...; AFFINE: alpha x + beta, a mean's gradient);
 * y may equal x */
void nnc_rt_unary(int fn, float *y, const float *x, long n, float alpha, float beta);
enum nnc_rt_reduce {
    NNC_RT_RED_SUM, NNC_RT_RED_MEAN, NNC_RT_RED_MAX, NNC_RT_RED_MIN, NNC_RT_RED_PROD,
    NNC_RT_RED_L1, NNC_RT_RED_L2, NNC_RT_RED_LOG_SUM, NNC_RT_RED_LOG_SUM_EXP,
    NNC_RT_RED_SUM_SQUARE
};
/* the space is x's shape, p->ys 0 on reduced axes (y has ny cells of count elements) */
void nnc_rt_reduce_nd(int fn, float *y, const float *x, const nnc_rt_nd *p, long ny, long count);
enum { NNC_RT_SOFTMAX_PLAIN, NNC_RT_SOFTMAX_LOG, NNC_RT_SOFTMAX_HARD };
void nnc_rt_softmax_axis(int fn, float *y, const float *x, long outer, long axis, long inner);
/* its gradient from the forward output y (PLAIN and LOG only) */
void nnc_rt_softmax_axis_backward(int fn, float *dx, const float *dy, const float *y, long outer, long alen,
                                  long inner);
/* argmax (fn NNC_RT_RED_MAX) or argmin (NNC_RT_RED_MIN) along the axis of
 * x (outer, alen, inner); ties go to the first index, or the last with last */
void nnc_rt_arg_axis(int fn, float *y, const float *x, long outer, long alen, long inner, int last);
/* Gather (elements 0: idx has nidx entries) and GatherElements (elements 1:
 * idx is (outer, nidx, inner)) along the axis of x (outer, alen, inner) */
void nnc_rt_gather_axis(float *y, const float *x, const float *idx, long outer, long alen, long inner,
                        long nidx, int elements);
/* negative log-likelihood over axis 1 of x (n, c, inner); reduction 0 none,
 * 1 sum, 2 weighted mean; weight may be NULL; targets == ignore skipped */
void nnc_rt_nll_loss(float *y, const float *x, const float *target, const float *weight, long n, long c,
                     long inner, int reduction, long ignore);
/* running sums along the axis of x (outer, alen, inner) (ONNX CumSum) */
void nnc_rt_cumsum_axis(float *y, const float *x, long outer, long alen, long inner, int exclusive, int reverse);
/* resize.c: y (outer, ny, inner) = per output j along the axis, the sum over
 * its taps t of w[j, t] * x[outer, idx[j, t], inner] of x (outer, alen,
 * inner); an idx below 0 adds w[j, t] itself (a constant).  The backward
 * pass scatters dy through the same taps into dx (set, not accumulated). */
void nnc_rt_resize_axis(float *y, const float *x, const float *idx, const float *w, long outer, long alen,
                        long inner, long ny, long taps);
void nnc_rt_resize_axis_backward(float *dx, const float *dy, const float *idx, const float *w, long outer, long alen,
                                 long inner, long ny, long taps);

/* grid_sample.c: y (n, c, ho, wo) = x (n, c, h, w) read at grid (n, ho, wo, 2)'s
 * (x, y) locations in [-1, 1] (ONNX GridSample, 4-D) */
enum { NNC_RT_GRID_BILINEAR = 0, NNC_RT_GRID_NEAREST = 1, NNC_RT_GRID_BICUBIC = 2 };
enum { NNC_RT_GRID_ZEROS = 0, NNC_RT_GRID_BORDER = 1, NNC_RT_GRID_REFLECTION = 2 };
void nnc_rt_grid_sample(float *y, const float *x, const float *grid, long n, long c, long h, long w, long ho,
                        long wo, int mode, int padding, int align);
/* roi_align.c: y (nr, c, oh, ow) = x (n, c, h, w) pooled over the regions
 * rois (nr, 4) = (x1, y1, x2, y2) of the images batch (nr) (ONNX RoiAlign) */
enum { NNC_RT_ROI_AVG = 0, NNC_RT_ROI_MAX = 1 };
void nnc_rt_roi_align(float *y, const float *x, const float *rois, const float *batch, long n, long c, long h,
                      long w, long nr, long oh, long ow, int sampling, float scale, int mode, int half_pixel);
/* text.c: y (rows, out) = the weighted counts of the pool's n-grams in each
 * row of tokens x (rows, len) (ONNX TfIdfVectorizer); pool (npool, 2 + maxn) */
enum { NNC_RT_TFIDF_TF = 0, NNC_RT_TFIDF_IDF = 1, NNC_RT_TFIDF_TFIDF = 2 };
void nnc_rt_tfidf(float *y, const float *x, const float *pool, const float *weights, long rows, long len,
                  long npool, int maxn, int min_n, int max_skip, long out, int mode);
/* a batch of (M,K) x (K,N) products over the space p (strides in floats) */
void nnc_rt_matmul_nd(float *y, const float *a, const float *b, const nnc_rt_nd *p, int M, int N, int K);

/* ---- attention (attention.c) ------------------------------------------------
 * which 0: d = dA = the sum over p's points of dY B^T, written through A's
 * strides (an axis A is broadcast along sums); which 1: d = dB = sum A^T dY.
 * `other` is the operand not differentiated; d (dsize floats) is overwritten. */
void nnc_rt_matmul_nd_grad(int which, float *d, long dsize, const float *dy, const float *other,
                           const nnc_rt_nd *p, int M, int N, int K);
/* y (outer, tq, tk) = softmax over each row of scale * s (causal: over j <= i,
 * p = 0 beyond); ds = scale y (dy - sum(y dy)) row by row */
void nnc_rt_attn_softmax_forward(float *y, const float *s, long outer, int tq, int tk, float scale, int causal);
void nnc_rt_attn_softmax_backward(float *ds, const float *dy, const float *y, long outer, int tq, int tk,
                                  float scale);
/* y[b] = table[0 .. size) for each of n samples; dtable (table_size) = sum_b dy[b], 0 beyond size */
void nnc_rt_position_embedding_forward(float *y, const float *table, long n, long size);
void nnc_rt_position_embedding_backward(float *dtable, const float *dy, long n, long size, long table_size);

/* ---- indexing by run-time data (index.c) -----------------------------------
 * Indices are floats holding integers; negative ones count from the end of
 * their axis; one outside its axis is skipped (a gather writes 0). */
enum { NNC_RT_SCATTER_NONE, NNC_RT_SCATTER_ADD, NNC_RT_SCATTER_MUL, NNC_RT_SCATTER_MAX, NNC_RT_SCATTER_MIN };
/* ScatterElements: y = x (nx floats; y may equal x), then over the space p
 * of the index tensor (p->ys: y's strides, p->as: idx's and upd's) y at the
 * cell's coordinates with coordinate `axis` replaced by the index (axis of
 * alen) combined with upd by `reduction`; upd NULL writes 0 */
void nnc_rt_scatter_elements(float *y, const float *x, const float *idx, const float *upd, const nnc_rt_nd *p,
                             int axis, long alen, long nx, int reduction);
/* its transpose (GatherElements of any index extents): y[as] = x[ys, axis by idx] */
void nnc_rt_gather_elements_nd(float *y, const float *x, const float *idx, const nnc_rt_nd *p, int axis, long alen);
/* ScatterND: y = x (nx floats), then for each of `tuples` index tuples (p->rank
 * integers into x's leading axes p->dims, strides p->ys) the slice of `slice`
 * floats there combined with upd's by `reduction` */
void nnc_rt_scatter_nd(float *y, const float *x, const float *idx, const float *upd, const nnc_rt_nd *p,
                       long tuples, long slice, long nx, int reduction);
/* GatherND: for each of `batches` batches (xbatch floats of x each) and its
 * `tuples` index tuples (as for scatter_nd), the slice there; its gradient
 * (overwrites dx, batches * xbatch floats) */
void nnc_rt_gather_nd(float *y, const float *x, const float *idx, const nnc_rt_nd *p, long batches, long tuples,
                      long slice, long xbatch);
void nnc_rt_gather_nd_backward(float *dx, const float *dy, const float *idx, const nnc_rt_nd *p, long batches,
                               long tuples, long slice, long xbatch);
/* TopK along the axis of x (outer, alen, inner; alen < 2^24): the k first
 * values (indices 1: their positions) by value (largest first, or smallest),
 * ties to the lower index, NaN above every number; y is (outer, k, inner).
 * Its gradient wrt x from the positions idx (overwrites dx) */
void nnc_rt_topk(float *y, const float *x, long outer, long alen, long inner, long k, int largest, int indices);
void nnc_rt_topk_backward(float *dx, const float *dy, const float *idx, long outer, long alen, long inner, long k);

/* ---- losses --------------------------------------------------------------
 * pred[n,m]; target is const int32_t[n] (class index) for the SPARSE kinds,
 * const float[n,m] otherwise.  The *_LOGITS kinds take pre-activation logits
 * and fuse softmax/sigmoid into the loss for numerical stability.
 * Keras reductions: mse/mae/bce average over the m outputs, cce sums over
 * classes; then all average over the n samples.  Probability inputs are
 * clipped to [1e-7, 1-1e-7] as Keras does. */
enum nnc_rt_loss {
    NNC_RT_LOSS_MSE, NNC_RT_LOSS_MAE, NNC_RT_LOSS_BCE, NNC_RT_LOSS_CCE,
    NNC_RT_LOSS_SPARSE_CCE, NNC_RT_LOSS_BCE_LOGITS, NNC_RT_LOSS_CCE_LOGITS,
    NNC_RT_LOSS_SPARSE_CCE_LOGITS
};
float nnc_rt_loss_forward(int kind, const float *pred, const void *target, int n, int m);
/* dpred[n,m] = d(loss_forward)/d pred */
void  nnc_rt_loss_backward(int kind, float *dpred, const float *pred, const void *target,
                           int n, int m);
/* Keras' class_weight: each sample's loss (and gradient) times the weight
 * of its class, the weighted sum divided by n as Keras' default reduction
 * does (not by the sum of the weights): sum_r w[c_r] loss_r / n.  The class
 * c_r is the label (sparse), the first maximum of the target row (m > 1),
 * or the target rounded half to even (m == 1: labels 0 and 1); a class
 * outside [0, classes) weighs 1, as a missing key does in Keras. */
float nnc_rt_loss_forward_weighted(int kind, const float *pred, const void *target, int n, int m,
                                   const float *class_weight, int classes);
void  nnc_rt_loss_backward_weighted(int kind, float *dpred, const float *pred, const void *target,
                                    int n, int m, const float *class_weight, int classes);
/* one output of several: dpred = weight * d(loss_forward)/d pred, its loss
 * weight in the total (loss_weights); weight 0 gives zeros */
void  nnc_rt_loss_backward_scaled(int kind, float *dpred, const float *pred, const void *target,
                                  int n, int m, float weight);
/* columns [offset, offset + width) of each of `rows` rows of y (total
 * 4-byte values wide) to dst (rows, width): copied, or (to_int) float class
 * indices to int32, a value that is not an int32 integer becoming -1 */
void  nnc_rt_labels_unpack(void *dst, const void *y, long rows, long width, long offset, long total,
                           int to_int);

/* ---- regularisers: g += l1*sign(w) + 2*l2*w; returns l1*sum|w| + l2*sum w^2
 * (g may be NULL to compute only the penalty) */
float nnc_rt_regularize(float *g, const float *w, long size, float l1, float l2);

/* ---- optimizers (Keras 3 update rules), one flat pass over `size` ------- */
/* sgd: momentum 0 -> w -= lr*g; else v = mom*v - lr*g; w += v
 * (nesterov: w += mom*v - lr*g).  vel may be NULL when momentum == 0. */
void nnc_rt_sgd_update(float *w, const float *g, float *vel, long size,
                       float lr, float momentum, int nesterov);
/* rmsprop: ms = rho*ms + (1-rho)*g^2; inc = lr*g/sqrt(ms+eps);
 * momentum 0 -> w -= inc; else mom = momentum*mom + inc; w -= mom.
 * mom may be NULL when momentum == 0. */
void nnc_rt_rmsprop_update(float *w, const float *g, float *ms, float *mom, long size,
                           float lr, float rho, float momentum, float eps);
/* adam (weight_decay == 0) and adamw (decoupled: w -= lr*wd*w first);
 * step is 1-based; alpha = lr*sqrt(1-b2^t)/(1-b1^t);
 * m += (1-b1)(g-m); v += (1-b2)(g^2-v); w -= alpha*m/(sqrt(v)+eps) */
void nnc_rt_adam_update(float *w, const float *g, float *m, float *v, long size, long step,
                        float lr, float beta1, float beta2, float eps, float weight_decay);

/* ---- gradient clipping (Keras' optimizer arguments) ----------------------
 * Applied to the gradients between the backward pass and the update; the
 * gradients are finite here (the training step refuses a step otherwise).
 * clip_norm: g *= c / max(||g||, c), Keras' clipnorm on one tensor and its
 * global_clipnorm on the whole gradient block; returns ||g|| before.
 * clip_value: each element into [-c, c] (clipvalue). */
float nnc_rt_clip_norm(float *g, long size, float c);
void  nnc_rt_clip_value(float *g, long size, float c);

/* ---- metrics ---------------------------------------------------------------
 * Accumulate over batches, then finish.  counts has 3*m+1 longs (m>1) or
 * 3*1+1 (m==1): per class tp, fp, fn, then the number of correct samples.
 * err has 2 doubles: sum |pred-target|, sum (pred-target)^2 over elements
 * (a sparse target counts as one-hot).  m == 1 means binary with threshold
 * 0.5; m > 1 means argmax, with macro-averaged precision/recall/f1. */
void nnc_rt_metrics_accumulate(long *counts, double *err, const float *pred,
                               const void *target, int sparse, int n, int m);
typedef struct nnc_rt_metrics {
    float loss, accuracy, precision, recall, f1, mae, mse;
} nnc_rt_metrics;
/* finish sets out->loss to 0: the caller stores its mean loss afterwards */
void nnc_rt_metrics_finish(nnc_rt_metrics *out, const long *counts, const double *err,
                           long samples, int m);

/* What a generated model's train_epoch / evaluate tell their progress
 * callback after every batch: how far the pass is, the batch's own loss,
 * and the running mean loss and metrics of the pass so far.  Returning
 * nonzero from the callback stops the pass after this batch. */
typedef struct nnc_rt_progress {
    long done, total;          /* samples processed so far, of total */
    long step;                 /* optimizer steps taken by the model (0 in evaluate) */
    float batch_loss;          /* loss of the batch just processed */
    float learning_rate;       /* the rate the batch's step used (0 in evaluate) */
    nnc_rt_metrics running;    /* mean loss and metrics of this pass so far */
} nnc_rt_progress;
typedef int (*nnc_rt_progress_fn)(void *ctx, const nnc_rt_progress *p);

/* ---- serialisation helpers ------------------------------------------------ */
uint32_t nnc_rt_crc32(const void *data, size_t len);   /* IEEE 802.3 polynomial */
/* little-endian, independent of the host's byte order */
void     nnc_rt_put_u32(unsigned char *p, uint32_t v);
uint32_t nnc_rt_get_u32(const unsigned char *p);
void     nnc_rt_put_f32(unsigned char *p, float v);
float    nnc_rt_get_f32(const unsigned char *p);

/* A parameter buffer: "NNCP", format version, the model's fingerprint, the
 * float count, the floats, then a CRC-32 of everything before it; all
 * little-endian.  load returns 0, NNC_RT_ERR_FORMAT (not a parameter buffer,
 * or damaged) or NNC_RT_ERR_OTHER_MODEL (another model's parameters); on
 * error `params` is untouched. */
#define NNC_RT_PARAMS_FORMAT 1u
#define NNC_RT_PARAMS_BYTES(count) (20 + 4 * (long)(count))
enum { NNC_RT_ERR_FORMAT = -4, NNC_RT_ERR_OTHER_MODEL = -5 };
size_t nnc_rt_params_save(void *buf, size_t cap, const float *params, long count,
                          uint32_t fingerprint);   /* bytes written, 0 if cap is too small */
int    nnc_rt_params_load(float *params, long count, uint32_t fingerprint,
                          const void *buf, size_t len);
/* another model's buffer (fingerprint, count: that model's), checked as
 * params_load checks it, then nmap ranges copied: map holds (to, from,
 * size) triples, params[to ..] = the buffer's floats [from ..]; nothing
 * written on an error */
int    nnc_rt_params_load_map(float *params, uint32_t fingerprint, long count, const long *map, int nmap,
                              const void *buf, size_t len);

#include "nnc_rt_q8.h"

#endif
