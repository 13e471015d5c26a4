/* conv.c — 2-D convolution (channels-last, grouped, strided, dilated,
 * padded): forward with a fused bias + activation epilogue, and the two
 * backward kernels.
 *
 * For one sample and one group g (cg = c/groups input channels, og =
 * oc/groups output channels, K = kh*kw*cg, q = an output pixel):
 *
 *   cols[q, (ky*kw + kx)*cg + i] = x[qy*sh - pt + ky*dh, qx*sw - pl + kx*dw, g*cg + i]
 *                                  (0 outside the input)
 *   y[q, g*og + o] = act(b[g*og + o] + sum_k cols[q, k] w[k, g*og + o])
 *   dcols          = dy[:, group g] . w_g^T,   dx = col2im(dcols) (the adjoint of im2col)
 *   dw_g           = sum over samples of cols^T . dy[:, group g]
 *
 * Design: im2col + nnc_rt_gemm_f32.  The Keras kernel layout (kh, kw, cg, oc)
 * already is the (K, oc) matrix the im2col rows multiply, so weights are
 * never repacked here: the GEMM reads one group's columns through ldb = oc.
 * im2col copies runs: with groups == 1 and dw == 1 the kw cells of a kernel
 * row are adjacent in x, so each (pixel, kernel row) is one copy of up to
 * kw*c floats, the clipped edges zero-filled.
 *
 * Orientation.  A group with few output channels (og < WIDE_N) would give
 * a GEMM only og columns wide — narrower than the micro-kernel's NR = 32 on
 * AVX-512, so half of every tile computed for nothing, and the big im2col
 * matrix packed for a handful of FMAs per element.  Those groups compute the
 * transpose instead, y_g^T = w_g^T . cols^T (and dw_g^T = dy_g^T . cols),
 * where the pixels are the wide dimension, then transpose the small result
 * back: 2-2.5x faster at og = 16.  The transposed result needs room of its
 * own, so the pixels go in chunks whose cols rows plus that result fit in
 * the scratch the header promises (NNC_RT_CONV2D_SCRATCH: one sample's
 * cols for one group); tiny images where no chunk fits use the plain
 * orientation.  backward_data's product is kh*kw*cg wide and always plain.
 *
 * Which path (first match; the direct kernels need AVX-512, or AVX2 + FMA):
 *   - depthwise (cg == 1 with groups > 1): per group, a GEMM with K = kh*kw
 *     and N = the multiplier would be almost all overhead, so direct loops
 *     vectorised over the channels are used (multiplier 1, with the SIMD
 *     kernels: row kernels for the forward, for backward_data at stride 1
 *     as the forward with the kernel flipped, and for a 3x3 filter; see
 *     depthwise_row); no scratch;
 *   - pointwise (1x1, stride 1, no padding): x of the whole batch already is
 *     the (n*h*w, c) matrix, so each group is one GEMM over the batch; no
 *     scratch;
 *   - groups == 1, forward and filter: the direct kernels (section "direct
 *     kernels" below), which read the taps in place instead of writing an
 *     im2col matrix: on a grey or RGB first layer (K = 9 or 27, where the
 *     GEMM has almost no depth to work with) forward 3.5-7x and filter 4-12x
 *     faster than im2col + GEMM; 1.1-1.9x on ResNet-18's 3x3 layers and
 *     1.7x on its 7x7 stem.  The scratch holds at most a zero-padded copy of
 *     one sample;
 *   - the rest (grouped convolutions, backward_data, targets without those
 *     intrinsics): im2col + GEMM as above.
 */
#include <math.h>
#include <string.h>

#include "nnc_rt.h"

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#define HAVE_DIRECT 1 /* the direct kernels below */
#else
#define HAVE_DIRECT 0
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

#define WIDE_N 64            /* groups with og >= this use the plain orientation */
#define CHUNK_FLOATS (1L << 17) /* at most 512 KiB of cols per chunk: stays in L2 */
#define MIN_CHUNK 8

static int imax(int a, int b) { return a > b ? a : b; }
static int imin(int a, int b) { return a < b ? a : b; }

/* the x-range of kernel columns that land inside the input for an output
 * column starting at input column ix0: kx in [*lo, *hi) */
static void valid_kx(const nnc_rt_conv2d *p, int ix0, int *lo, int *hi)
{
    int l = 0, h = p->kw;
    if (ix0 < 0)
        l = imin((-ix0 + p->dw - 1) / p->dw, h);
    if (ix0 + (h - 1) * p->dw >= p->w)
        h = (p->w - 1 - ix0) / p->dw + 1;
    if (ix0 >= p->w)
        h = 0;
    *lo = l;
    *hi = imax(h, l);
}

/* the same for rows */
static void valid_ky(const nnc_rt_conv2d *p, int iy0, int *lo, int *hi)
{
    int l = 0, h = p->kh;
    if (iy0 < 0)
        l = imin((-iy0 + p->dh - 1) / p->dh, h);
    if (iy0 + (h - 1) * p->dh >= p->h)
        h = (p->h - 1 - iy0) / p->dh + 1;
    if (iy0 >= p->h)
        h = 0;
    *lo = l;
    *hi = imax(h, l);
}

static int is_pointwise(const nnc_rt_conv2d *p)
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

static void copy_floats(float *restrict d, const float *restrict s, long k)
{
    int i;
    if (k > SHORT_RUN)
        memcpy(d, s, (size_t)k * sizeof *d);
    else
        for (i = 0; i < SHORT_RUN; i++)
            if (i < k)
                d[i] = s[i];
}

static void zero_floats(float *d, long k)
{
    int i;
    if (k > SHORT_RUN)
        memset(d, 0, (size_t)k * sizeof *d);
    else
        for (i = 0; i < SHORT_RUN; i++)
            if (i < k)
                d[i] = 0.0f;
}

/* rows [q0, q0 + np) of cols (oh*ow, kh*kw*cg), from xs = one sample's x
 * offset to the group's first channel */
static void im2col(const nnc_rt_conv2d *p, float *restrict cols, const float *restrict xs, int cg,
                   long q0, long np)
{
    const int c = p->c, kw = p->kw;
    const long kdim = (long)p->kh * kw * cg, run = (long)kw * cg;
    const int contiguous = p->dw == 1 && cg == c;
    int oy = (int)(q0 / p->ow), ox = (int)(q0 % p->ow), ky, kx;
    long q;
    for (q = 0; q < np; q++) {
        float *row = cols + q * kdim;
        int iy0 = oy * p->sh - p->pt, ix0 = ox * p->sw - p->pl, ky_lo, ky_hi, lo, hi;
        valid_ky(p, iy0, &ky_lo, &ky_hi);
        valid_kx(p, ix0, &lo, &hi);
        zero_floats(row, ky_lo * run);
        for (ky = ky_lo; ky < ky_hi; ky++) {
            /* offsets, not pointers: ix0 may be left of the input */
            long src = ((long)(iy0 + ky * p->dh) * p->w + ix0) * c;
            float *dst = row + ky * run;
            zero_floats(dst, (long)lo * cg);
            if (contiguous)
                copy_floats(dst + lo * cg, xs + src + (long)lo * c, (long)(hi - lo) * c);
            else
                for (kx = lo; kx < hi; kx++)
                    copy_floats(dst + (long)kx * cg, xs + src + (long)kx * p->dw * c, cg);
            zero_floats(dst + (long)hi * cg, (long)(kw - hi) * cg);
        }
        zero_floats(row + ky_hi * run, (p->kh - ky_hi) * run);
        if (++ox == p->ow) {
            ox = 0;
            oy++;
        }
    }
}

/* y[q*ldy + o] = t[o*np + q] for q < np, o < m: a transposed (m, np) block
 * back into rows of y, in tiles of 16 rows so the reads stay in L1 */
static void untranspose(float *restrict y, long ldy, const float *restrict t, int m, long np)
{
    long q0, q;
    int o;
    for (q0 = 0; q0 < np; q0 += 16) {
        long qn = np - q0 < 16 ? np - q0 : 16;
        for (q = q0; q < q0 + qn; q++)
            for (o = 0; o < m; o++)
                y[q * ldy + o] = t[o * np + q];
    }
}

/* dxs[cells, group channels] += the columns of dcols that read them
 * (the adjoint of im2col); dxs is offset to the group's first channel */
static void col2im_add(const nnc_rt_conv2d *p, float *restrict dxs, const float *restrict dcols,
                       int cg)
{
    const int c = p->c, kw = p->kw;
    const long kdim = (long)p->kh * kw * cg, run = (long)kw * cg;
    const int contiguous = p->dw == 1 && cg == c;
    int oy, ox, ky, kx;
    long i;
    for (oy = 0; oy < p->oh; oy++) {
        int iy0 = oy * p->sh - p->pt, ky_lo, ky_hi;
        valid_ky(p, iy0, &ky_lo, &ky_hi);
        for (ox = 0; ox < p->ow; ox++) {
            const float *row = dcols + ((long)oy * p->ow + ox) * kdim;
            int ix0 = ox * p->sw - p->pl, lo, hi;
            valid_kx(p, ix0, &lo, &hi);
            for (ky = ky_lo; ky < ky_hi; ky++) {
                long dst = ((long)(iy0 + ky * p->dh) * p->w + ix0) * c; /* as in im2col */
                const float *src = row + ky * run;
                if (contiguous) {
                    float *restrict d = dxs + dst + (long)lo * c;
                    const float *restrict s = src + (long)lo * c;
                    long k = (long)(hi - lo) * c;
                    for (i = 0; i < k; i++)
                        d[i] += s[i];
                } else
                    for (kx = lo; kx < hi; kx++) {
                        float *restrict d = dxs + dst + (long)kx * p->dw * c;
                        const float *restrict s = src + (long)kx * cg;
                        for (i = 0; i < cg; i++)
                            d[i] += s[i];
                    }
            }
        }
    }
}

/* y[rows, oc] = act(y + b) */
static void epilogue(float *y, long rows, int oc, const float *b, int act)
{
    long r;
    int o;
    if (b && nnc_rt_act_clamp(act)) { /* the common pairs in one pass */
        const float hi = nnc_rt_clamp_hi(nnc_rt_act_clamp(act));
        for (r = 0; r < rows; r++) {
            float *restrict yr = y + r * oc;
            for (o = 0; o < oc; o++) {
                float v = yr[o] + b[o];
                v = v > 0.0f ? v : 0.0f;
                yr[o] = v < hi ? v : hi;
            }
        }
        return;
    }
    if (b)
        for (r = 0; r < rows; r++) {
            float *restrict yr = y + r * oc;
            for (o = 0; o < oc; o++)
                yr[o] += b[o];
        }
    if (act != NNC_RT_ACT_LINEAR)
        nnc_rt_act_forward(act, y, y, (int)rows, oc);
}

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

/* 1, and *v set up, when the direct kernels can do p with its scratch */
static int direct_plan(const nnc_rt_conv2d *p, direct_view *v)
{
    const int c = p->c, rows = p->dw == 1 || p->kw == 1;
    int r;
    if (p->groups != 1)
        return 0;
    v->nruns = rows ? p->kh : p->kh * p->kw;
    v->run = rows ? p->kw * c : c;
    v->K = p->kh * p->kw * c;
    if (v->nruns > DIRECT_MAX_RUNS)
        return 0;
    v->R = (p->oh - 1) * p->sh + (p->kh - 1) * p->dh + 1;
    v->C = (p->ow - 1) * p->sw + (p->kw - 1) * p->dw + 1;
    v->padded = p->pt > 0 || p->pl > 0 || v->R > p->h || v->C > p->w;
    if (v->padded && (long)v->R * v->C * c > NNC_RT_CONV2D_SCRATCH(p))
        return 0;
    v->row = (long)(v->padded ? v->C : p->w) * c;
    v->rstep = p->sh * v->row;
    v->cstep = (long)p->sw * c;
    for (r = 0; r < v->nruns; r++)
        v->roff[r] = rows ? r * p->dh * v->row
                          : (r / p->kw) * p->dh * v->row + (long)(r % p->kw) * p->dw * c;
    return 1;
}

int nnc_rt_conv2d_path(const nnc_rt_conv2d *p, int direct)
{
    direct_view v;
    if (p->c / p->groups == 1 && p->groups > 1)
        return NNC_RT_CONV_DEPTHWISE;
    if (is_pointwise(p) && p->groups == 1)
        return NNC_RT_CONV_POINTWISE;
    if (direct && direct_plan(p, &v))
        return NNC_RT_CONV_DIRECT;
    return NNC_RT_CONV_GEMM;
}

/* ---- direct kernels (AVX-512, or AVX2 + FMA) -------------------------------------
 * For groups == 1:
 *   y[q, o]  = act(b[o] + sum_t xv[win(q) + off(t)] w[t, o])
 *   dw[t, o] = sum over samples and pixels q of xv[win(q) + off(t)] dy[q, o]
 * where win(q) is where output pixel q's window starts in the sample's view
 * xv and off(t) is where tap t = (ky*kw + kx)*c + i lies in a window.  The
 * taps are read in place — no im2col matrix is written and read back, which
 * for a first layer on grey or RGB images (K = kh*kw*c = 9 or 27) costs more
 * than the FMAs, and elsewhere is a pass over K times the input.  A window
 * is `nruns` runs of `run` contiguous floats (a kernel row, kw*c floats,
 * when dw == 1; one tap's c channels otherwise), and the weight rows of
 * consecutive taps are consecutive, so both are walked linearly.  The
 * output channels go in blocks of NV = 2 vectors (1 for a last block of at
 * most VW), and only a last block that oc does not fill uses masked loads
 * and stores (they are slower than plain ones on Zen 5):
 *   forward: DP pixels x NV vectors of accumulators stay in registers over
 *            a chunk of at most DKC taps (per tap: NV weight loads, DP
 *            broadcasts of x, DP*NV FMAs); the bias is their initial value,
 *            relu and relu6 clamp before the last chunk's store, the
 *            other activations run after each sample;
 *   filter:  DKB (or DKB_ALT) taps x NV vectors of dw stay in registers
 *            while all the pixels of a sample stream past (per pixel: NV dy
 *            loads, DKB broadcasts of x), added to dw once per sample.
 * Padding: when a window can leave the input, each sample is first copied
 * zero-padded into the scratch (the windows' span, (oh-1)*sh + (kh-1)*dh + 1
 * rows by the like columns), so the kernels never clip; when that copy does
 * not fit in NNC_RT_CONV2D_SCRATCH the im2col path is taken.  So are
 * grouped convolutions, and every convolution on targets without these
 * intrinsics: a portable C form of these loops is not kept in registers by
 * gcc across the tap loop (it spills the accumulators to the stack), which
 * makes it no faster than the GEMM.
 * The depthwise row kernels at the end of the section are the same idea
 * for cg == 1: vectorised over the channels, DP pixels of a row at a time. */
#if HAVE_DIRECT
#include <immintrin.h>

#if defined(__GNUC__)
#define UNROLL _Pragma("GCC unroll 16")
#else
#define UNROLL
#endif

#if defined(__AVX512F__)
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
static vmask lanes(int n) { return (vmask)(n >= VW ? 0xFFFFu : (1u << n) - 1u); }
#define DP 8    /* forward: pixels per tile, 8 x 2 zmm = 16 accumulators */
#define DKB 12  /* filter: taps per block, 12 x 2 zmm = 24 accumulators */
#define DKB_ALT 9 /* ... or 9, for K = 9 or 27 */
#define DKC 256 /* forward: taps per chunk, 256 x 2 zmm = 32 KiB of weights */
#else
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
static vmask lanes(int n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
#define DP 6    /* 6 x 2 ymm = 12 accumulators, of 16 registers */
#define DKB 6
#define DKB_ALT 5 /* for K = 9 */
#define DKC 512 /* 512 x 2 ymm = 32 KiB */
#endif
/* relu (clamp 1) or relu6 (clamp 2) of a vector */
#define V_CLAMP(a, clamp) V_MIN(V_MAX(a, V_ZERO()), V_SET(nnc_rt_clamp_hi(clamp)))
/* direct_filter's fixed cost per call (DKB*NV accumulators loaded and
 * stored, the offsets) is spread over one sample's pixels: with fewer
 * pixels than this and a K deeper than that the im2col GEMM is faster
 * (1.1x at 7x7x512) */
#define DIRECT_FILTER_MIN_PIX 64
#define DIRECT_FILTER_MIN_K 64

/* the NV vectors of row r, the last one masked by m when MASKED */
#define LOAD_ROW(dst, r, m, NV, MASKED)                                     \
    UNROLL for (v = 0; v < NV; v++)                                         \
        (dst)[v] = MASKED && v == NV - 1 ? V_LOADM((r) + v * VW, m) : V_LOAD((r) + v * VW)
#define STORE_ROW(r, src, m, NV, MASKED)                                    \
    UNROLL for (v = 0; v < NV; v++) {                                       \
        if (MASKED && v == NV - 1)                                          \
            V_STOREM((r) + v * VW, m, (src)[v]);                            \
        else                                                                \
            V_STORE((r) + v * VW, (src)[v]);                                \
    }

/* acc[i] += the taps of runs [0, NR), floats [0, NJ) of each (DIRECT_FORWARD);
 * LOOP is UNROLL for constant NR and NJ, empty otherwise */
#define DIRECT_TAPS(NR, NJ, NV, MASKED, LOOP)                                            \
    LOOP for (r = 0; r < NR; r++) {                                                      \
        const float *wj = w + r * wrun;                                                  \
        const long o = roff[r];                                                          \
        LOOP for (j = 0; j < NJ; j++, wj += ldw) {                                       \
            vec wv[NV];                                                                  \
            LOAD_ROW(wv, wj, m, NV, MASKED);                                             \
            UNROLL for (i = 0; i < DP; i++) {                                            \
                vec xi = V_BCAST(x[i] + o + j);                                          \
                UNROLL for (v = 0; v < NV; v++)                                          \
                    acc[i][v] = V_FMA(xi, wv[v], acc[i][v]);                             \
            }                                                                            \
        }                                                                                \
    }

/* One chunk of the taps for DP pixels: for i < np (xq[i] past np repeats
 * a valid pixel)
 *   y[i*ldy + 0 : NV*VW] = act(init_i + sum_{r < nruns, j < nj}
 *                                  xq[i][roff[r] + j0 + j] w[r*wrun + j*ldw + 0 : NV*VW])
 * where init_i is y's row itself when accumulate, else b (or 0) */
#define DIRECT_FORWARD(name, NV, MASKED)                                                 \
static NOINLINE void name(const float *const *xq, const long *roff, int nruns, int j0,   \
                          int nj, const float *w, long wrun, long ldw, vmask m,          \
                          const float *b, int accumulate, float *y, long ldy, int np,    \
                          int clamp)                                                     \
{                                                                                        \
    const float *x[DP];                                                                  \
    vec acc[DP][NV], init[NV];                                                           \
    int i, v, r, j;                                                                      \
    UNROLL for (i = 0; i < DP; i++)                                                      \
        x[i] = xq[i] + j0;                                                               \
    if (accumulate) {                                                                    \
        UNROLL for (i = 0; i < DP; i++) {                                                \
            LOAD_ROW(acc[i], y + (i < np ? i : 0) * ldy, m, NV, MASKED);                 \
        }                                                                                \
    } else {                                                                             \
        if (b) {                                                                         \
            LOAD_ROW(init, b, m, NV, MASKED);                                            \
        } else                                                                           \
            UNROLL for (v = 0; v < NV; v++)                                              \
                init[v] = V_ZERO();                                                      \
        UNROLL for (i = 0; i < DP; i++)                                                  \
            UNROLL for (v = 0; v < NV; v++)                                              \
                acc[i][v] = init[v];                                                     \
    }                                                                                    \
    if (nruns == 3 && nj == 3) { /* 3x3 on one channel: constant trip counts */         \
        DIRECT_TAPS(3, 3, NV, MASKED, UNROLL);                                           \
    } else {                                                                             \
        DIRECT_TAPS(nruns, nj, NV, MASKED, );                                            \
    }                                                                                    \
    UNROLL for (i = 0; i < DP; i++)                                                      \
        if (i < np) {                                                                    \
            if (clamp)                                                                   \
                UNROLL for (v = 0; v < NV; v++)                                          \
                    acc[i][v] = V_CLAMP(acc[i][v], clamp);                               \
            STORE_ROW(y + i * ldy, acc[i], m, NV, MASKED);                               \
        }                                                                                \
}

/* dw[k*ldw + 0 : NV*VW] (+)= sum over the oh x ow pixels q of
 *   xv[oy*rstep + ox*cstep + off[k]] dy[q*ldy + 0 : NV*VW]
 * for the taps k < kb <= KB (off[] has KB entries, valid ones past kb);
 * accumulate == 0 overwrites dw */
typedef void (*direct_filter_fn)(const float *xv, long rstep, long cstep, int oh, int ow,
                                 const long *off, int kb, const float *dy, long ldy, vmask m,
                                 float *dw, long ldw, int accumulate);
#define DIRECT_FILTER(name, NV, MASKED, KB)                                              \
static NOINLINE void name(const float *xv, long rstep, long cstep, int oh, int ow,       \
                          const long *off, int kb, const float *dy, long ldy, vmask m,   \
                          float *dw, long ldw, int accumulate)                           \
{                                                                                        \
    vec acc[KB][NV];                                                                     \
    long o[KB];                                                                          \
    int k, v, oy, ox;                                                                    \
    UNROLL for (k = 0; k < KB; k++) {                                                    \
        o[k] = off[k];                                                                   \
        if (accumulate && k < kb) {                                                      \
            LOAD_ROW(acc[k], dw + k * ldw, m, NV, MASKED);                               \
        } else                                                                           \
            UNROLL for (v = 0; v < NV; v++)                                              \
                acc[k][v] = V_ZERO();                                                    \
    }                                                                                    \
    for (oy = 0; oy < oh; oy++) {                                                        \
        const float *xr = xv + oy * rstep;                                               \
        for (ox = 0; ox < ow; ox++, dy += ldy) {                                         \
            const float *xq = xr + ox * cstep;                                           \
            vec dv[NV];                                                                  \
            LOAD_ROW(dv, dy, m, NV, MASKED);                                             \
            UNROLL for (k = 0; k < KB; k++) {                                            \
                vec xk = V_BCAST(xq + o[k]);                                             \
                UNROLL for (v = 0; v < NV; v++)                                          \
                    acc[k][v] = V_FMA(xk, dv[v], acc[k][v]);                             \
            }                                                                            \
        }                                                                                \
    }                                                                                    \
    UNROLL for (k = 0; k < KB; k++)                                                      \
        if (k < kb) {                                                                    \
            STORE_ROW(dw + k * ldw, acc[k], m, NV, MASKED);                              \
        }                                                                                \
}

/* full blocks, and the last block of an oc that is not a multiple of 2*VW */
DIRECT_FORWARD(direct_forward_2v, 2, 0)
DIRECT_FORWARD(direct_forward_2v_masked, 2, 1)
DIRECT_FORWARD(direct_forward_1v_masked, 1, 1)
/* [taps per block DKB, DKB_ALT][2 vectors, 2 with the last masked, 1 masked] */
DIRECT_FILTER(direct_filter_2v, 2, 0, DKB)
DIRECT_FILTER(direct_filter_2v_masked, 2, 1, DKB)
DIRECT_FILTER(direct_filter_1v_masked, 1, 1, DKB)
DIRECT_FILTER(direct_filter_2v_alt, 2, 0, DKB_ALT)
DIRECT_FILTER(direct_filter_2v_masked_alt, 2, 1, DKB_ALT)
DIRECT_FILTER(direct_filter_1v_masked_alt, 1, 1, DKB_ALT)
static const direct_filter_fn direct_filters[2][3] = {
    {direct_filter_2v, direct_filter_2v_masked, direct_filter_1v_masked},
    {direct_filter_2v_alt, direct_filter_2v_masked_alt, direct_filter_1v_masked_alt},
};

/* the sample xs as the view reads it: itself, or copied zero-padded into buf */
static const float *direct_sample(const nnc_rt_conv2d *p, const direct_view *v, float *buf,
                                  const float *xs)
{
    const int c = p->c;
    int r, z0, z1;
    if (!v->padded)
        return xs;
    z0 = imin(p->pl, v->C); /* view columns [z0, z1) are input columns [0, z1 - z0) */
    z1 = imax(z0, imin(v->C, p->pl + p->w));
    for (r = 0; r < v->R; r++) {
        float *d = buf + r * v->row;
        int iy = r - p->pt;
        if (iy < 0 || iy >= p->h) {
            zero_floats(d, v->row);
            continue;
        }
        zero_floats(d, (long)z0 * c);
        copy_floats(d + (long)z0 * c, xs + (long)iy * p->w * c, (long)(z1 - z0) * c);
        zero_floats(d + (long)z1 * c, (long)(v->C - z1) * c);
    }
    return buf;
}

/* y of one sample, output channels [o0, o0 + 2*VW), from its view xv.  The
 * taps go in chunks of at most DKC (whole runs, or pieces of one long run)
 * whose weights stay in L1 while all the pixels pass: beyond that the
 * weights would stream from L2 for every tile (1.4x slower on 3x3x512).
 * The first chunk starts from the bias, the others add to y, the last
 * clamps (relu, relu6).  With more output channels than the block, a
 * chunk's weights are copied out first, the block's 2*VW columns of each
 * tap side by side: in place, taps oc floats apart fall into a few L1 sets
 * (oc = 512: a 2 KiB stride, two sets of 64) and evict each other, so every
 * tile would read them from L2 again (3x3x512 at 7x7: 2x slower). */
static void direct_forward_block(const nnc_rt_conv2d *p, const direct_view *v, float *ys,
                                 const float *xv, const float *w, const float *b, int o0,
                                 int clamp)
{
    float wpk[DKC * 2 * VW];
    const int oc = p->oc, run = v->run, width = imin(2 * VW, oc - o0), pack = oc > 2 * VW;
    const int rc = run >= DKC ? 1 : DKC / run;                   /* runs per chunk */
    const int jc = (run + (run + DKC - 1) / DKC - 1) / ((run + DKC - 1) / DKC); /* and taps */
    const long pix = (long)p->oh * p->ow;
    const float *xq[DP];
    int r0, j0;
    for (r0 = 0; r0 < v->nruns; r0 += rc)
        for (j0 = 0; j0 < run; j0 += jc) {
            const int nr = imin(rc, v->nruns - r0), nj = imin(jc, run - j0);
            const int first = r0 == 0 && j0 == 0, last = r0 + nr == v->nruns && j0 + nj == run;
            const float *wc = w + ((long)r0 * run + j0) * oc + o0, *bo = b ? b + o0 : NULL;
            const long *ro = v->roff + r0, wrun = (long)run * oc;
            const float *wk = wc; /* tap j of run r at wk[r * krun + j * kld] */
            long krun = wrun, kld = oc, q0;
            int oy = 0, ox = 0, i, r, j;
            if (pack) { /* nr * nj <= DKC taps */
                for (r = 0; r < nr; r++)
                    for (j = 0; j < nj; j++)
                        copy_floats(wpk + ((long)r * nj + j) * 2 * VW, wc + r * wrun + (long)j * oc,
                                    width);
                wk = wpk;
                krun = (long)nj * 2 * VW;
                kld = 2 * VW;
            }
            for (q0 = 0; q0 < pix; q0 += DP) {
                int np = (int)(pix - q0 < DP ? pix - q0 : DP);
                float *yq = ys + q0 * oc + o0;
                for (i = 0; i < DP; i++) { /* the windows; past np, the last one again */
                    xq[i] = xv + oy * v->rstep + ox * v->cstep;
                    if (i + 1 < np && ++ox == p->ow) {
                        ox = 0;
                        oy++;
                    }
                }
                if (++ox == p->ow) {
                    ox = 0;
                    oy++;
                }
                if (oc - o0 >= 2 * VW)
                    direct_forward_2v(xq, ro, nr, j0, nj, wk, krun, kld, lanes(VW), bo, !first,
                                      yq, oc, np, last ? clamp : 0);
                else if (oc - o0 > VW)
                    direct_forward_2v_masked(xq, ro, nr, j0, nj, wk, krun, kld,
                                             lanes(oc - o0 - VW), bo, !first, yq, oc, np,
                                             last ? clamp : 0);
                else
                    direct_forward_1v_masked(xq, ro, nr, j0, nj, wk, krun, kld, lanes(oc - o0),
                                             bo, !first, yq, oc, np, last ? clamp : 0);
            }
        }
}

static void direct_forward(const nnc_rt_conv2d *p, const direct_view *v, float *y,
                           const float *x, const float *w, const float *b, float *scratch,
                           int n, int act)
{
    const int oc = p->oc, clamp = nnc_rt_act_clamp(act);
    const long pix = (long)p->oh * p->ow, xs = (long)p->h * p->w * p->c, ys = pix * oc;
    int s, o0;
    for (s = 0; s < n; s++) {
        const float *xv = direct_sample(p, v, scratch, x + s * xs);
        for (o0 = 0; o0 < oc; o0 += 2 * VW)
            direct_forward_block(p, v, y + s * ys, xv, w, b, o0, clamp);
        if (act != NNC_RT_ACT_LINEAR && !clamp)
            nnc_rt_act_forward(act, y + s * ys, y + s * ys, (int)pix, oc);
    }
}

/* The taps go in blocks of DKB, or of DKB_ALT when that costs less: a
 * block costs about its taps plus 3 (the dy loads, the loop) per pixel, so
 * DKB_ALT = 9 wins for K = 9 and 27 (grey or RGB 3x3 kernels). */
static void direct_filter(const nnc_rt_conv2d *p, const direct_view *v, float *dw,
                          const float *dy, const float *x, float *scratch, int n)
{
    const int oc = p->oc, K = v->K;
    const long pix = (long)p->oh * p->ow, xs = (long)p->h * p->w * p->c, ys = pix * oc;
    const int alt = (K + DKB_ALT - 1) / DKB_ALT * (DKB_ALT + 3) < (K + DKB - 1) / DKB * (DKB + 3);
    const int kbs = alt ? DKB_ALT : DKB;
    long off[DKB > DKB_ALT ? DKB : DKB_ALT];
    int s, o0, k0, k;
    for (s = 0; s < n; s++) {
        const float *xv = direct_sample(p, v, scratch, x + s * xs);
        for (k0 = 0; k0 < K; k0 += kbs) {
            int kb = imin(kbs, K - k0);
            for (k = 0; k < kbs; k++) { /* past kb, the last tap again */
                int t = imin(k0 + k, K - 1);
                off[k] = v->roff[t / v->run] + t % v->run;
            }
            for (o0 = 0; o0 < oc; o0 += 2 * VW) {
                const int rest = oc - o0, which = rest >= 2 * VW ? 0 : rest > VW ? 1 : 2;
                direct_filters[alt][which](xv, v->rstep, v->cstep, p->oh, p->ow, off, kb,
                                           dy + s * ys + o0, oc,
                                           lanes(which == 2 ? rest : rest - VW),
                                           dw + (long)k0 * oc + o0, oc, s > 0);
            }
        }
    }
}

/* Depthwise (see depthwise_forward), m == 1, along one output row: the npix
 * pixels t whose windows start at x0 + t*pstep (at their first valid
 * kernel row and column),
 *   y[t*c + 0:c] = act(b + sum_{ky < nky, kx < nkx}
 *                             x_t[ky*rs + kx*cs + 0:c] w[ky*wrs + kx*wcs + 0:c]).
 * One channel vector at a time over the whole row, P pixels of it in
 * registers: the rows' slice of that vector stays in L1 across the taps
 * and tiles, where walking all channels of a tile of pixels first would
 * touch more lines at once than the prefetchers follow (1.3-1.5x slower). */
#define DEPTHWISE_ROW(name, P)                                                           \
static NOINLINE void name(const float *x0, int npix, long pstep, long rs, long cs,       \
                          int nky, int nkx, const float *w, long wrs, long wcs,          \
                          const float *b, int c, float *y, int clamp)                    \
{                                                                                        \
    int c0;                                                                              \
    for (c0 = 0; c0 + VW <= c; c0 += VW)                                                 \
        if (nkx == 3) /* a constant trip count: the taps unrolled */                     \
            DEPTHWISE_VECTOR(P, 3, V_LOAD(b + c0), V_LOAD(X), V_STORE(Y, A));            \
        else                                                                             \
            DEPTHWISE_VECTOR(P, nkx, V_LOAD(b + c0), V_LOAD(X), V_STORE(Y, A));          \
    if (c0 < c) {                                                                        \
        const vmask m = lanes(c - c0);                                                   \
        DEPTHWISE_VECTOR(P, nkx, V_LOADM(b + c0, m), V_LOADM(X, m), V_STOREM(Y, m, A));  \
    }                                                                                    \
}
/* channels [c0, c0 + VW) of the row; LOADX(X) loads the vector at X, STORE
 * stores A at Y (both masked for the last partial vector) */
#define DEPTHWISE_VECTOR(P, NKX, LOADB, LOADX, STORE)                                     \
    do {                                                                                 \
        const vec init = b ? LOADB : V_ZERO();                                           \
        int i, t0, ky, kx;                                                               \
        for (t0 = 0; t0 < npix; t0 += P) {                                               \
            const float *xp[P];                                                          \
            vec acc[P];                                                                  \
            UNROLL for (i = 0; i < P; i++) { /* past npix, the last pixel again */       \
                xp[i] = x0 + imin(t0 + i, npix - 1) * pstep + c0;                        \
                acc[i] = init;                                                           \
            }                                                                            \
            for (ky = 0; ky < nky; ky++)                                                 \
                for (kx = 0; kx < NKX; kx++) {                                           \
                    const long o = ky * rs + kx * cs;                                    \
                    const float *X = w + ky * wrs + kx * wcs + c0;                       \
                    const vec wv = LOADX;                                                \
                    UNROLL for (i = 0; i < P; i++) {                                     \
                        X = xp[i] + o;                                                   \
                        acc[i] = V_FMA(LOADX, wv, acc[i]);                               \
                    }                                                                    \
                }                                                                        \
            UNROLL for (i = 0; i < P; i++)                                               \
                if (t0 + i < npix) {                                                     \
                    float *Y = y + (long)(t0 + i) * c + c0;                              \
                    vec A = clamp ? V_CLAMP(acc[i], clamp) : acc[i];                     \
                    STORE;                                                               \
                }                                                                        \
        }                                                                                \
    } while (0)
DEPTHWISE_ROW(depthwise_row, DP)
DEPTHWISE_ROW(depthwise_pixel, 1)

/* channels [c0, c0 + VW): LOAD(X) loads the vector at X, STORE stores A at Y */
#define DEPTHWISE_FILTER_VECTOR(LOAD, STORE)                                             \
    do {                                                                                 \
        const float *X, *xt = x0 + c0, *d = dy + c0;                                     \
        float *Y;                                                                        \
        vec acc[3][3], dv, A;                                                            \
        int t, ky, kx;                                                                   \
        UNROLL for (ky = 0; ky < 3; ky++)                                                \
            UNROLL for (kx = 0; kx < 3; kx++)                                            \
                acc[ky][kx] = V_ZERO();                                                  \
        for (t = 0; t < npix; t++, xt += pstep, d += c) {                                \
            X = d;                                                                       \
            dv = LOAD;                                                                   \
            UNROLL for (ky = 0; ky < 3; ky++)                                            \
                UNROLL for (kx = 0; kx < 3; kx++) {                                      \
                    X = xt + ky * rs + kx * cs;                                          \
                    acc[ky][kx] = V_FMA(LOAD, dv, acc[ky][kx]);                          \
                }                                                                        \
        }                                                                                \
        UNROLL for (ky = 0; ky < 3; ky++)                                                \
            UNROLL for (kx = 0; kx < 3; kx++) {                                          \
                X = Y = dw + (long)(ky * 3 + kx) * c + c0;                               \
                A = V_ADD(LOAD, acc[ky][kx]);                                            \
                STORE;                                                                   \
            }                                                                            \
    } while (0)

/* Depthwise backward_filter, m == 1, 3x3: along one output row, the npix
 * pixels t whose windows (all nine taps inside the input) start at
 * x0 + t*pstep,
 *   dw[(ky*3 + kx)*c + 0:c] += sum_t x_t[ky*rs + kx*cs + 0:c] dy[t*c + 0:c],
 * one channel vector at a time with the nine sums in registers (where the
 * walk in depthwise_backward loads and stores dw for every pixel and tap) */
static NOINLINE void depthwise_filter_row3(const float *x0, int npix, long pstep, long rs,
                                           long cs, const float *dy, int c, float *dw)
{
    int c0;
    for (c0 = 0; c0 + VW <= c; c0 += VW)
        DEPTHWISE_FILTER_VECTOR(V_LOAD(X), V_STORE(Y, A));
    if (c0 < c) {
        const vmask m = lanes(c - c0);
        DEPTHWISE_FILTER_VECTOR(V_LOADM(X, m), V_STOREM(Y, m, A));
    }
}
/* out[0:c] += a[0:c] * b[0:c]: the depthwise backward kernels' step (and
 * forward's at edge pixels without the SIMD kernels), spelled out: the
 * plain loop's code, and speed, varied by up to 1.2x with where gcc
 * inlined it */
static void mul_add(float *out, const float *a, const float *b, int c)
{
    int c0;
    for (c0 = 0; c0 + VW <= c; c0 += VW)
        V_STORE(out + c0, V_FMA(V_LOAD(a + c0), V_LOAD(b + c0), V_LOAD(out + c0)));
    if (c0 < c) {
        const vmask m = lanes(c - c0);
        V_STOREM(out + c0, m,
                 V_FMA(V_LOADM(a + c0, m), V_LOADM(b + c0, m), V_LOADM(out + c0, m)));
    }
}
#else
static void mul_add(float *restrict out, const float *restrict a, const float *restrict b, int c)
{
    int i;
    for (i = 0; i < c; i++)
        out[i] += a[i] * b[i];
}
#endif /* HAVE_DIRECT */

/* ---- depthwise (cg == 1, groups = c > 1, multiplier m = oc/c): direct loops ----
 *   y[q, i*m + j] = b[i*m + j] + sum_{ky,kx} x[cell(q, ky, kx), i] w[ky, kx, 0, i*m + j]
 * i.e. output o reads input channel o/m.  m == 1 (Keras DepthwiseConv2D's
 * default) gets a register-blocked kernel for the interior of each row;
 * edges and m > 1 take a plain loop over the pixel's outputs. */

/* yr[o] += xr[o / m] * wr[o] over the oc outputs of one pixel and one tap */
static void dw_tap(float *restrict yr, const float *restrict xr, const float *restrict wr, int c,
                   int m)
{
    int i, j;
    if (m == 1)
        mul_add(yr, xr, wr, c);
    else
        for (i = 0; i < c; i++)
            for (j = 0; j < m; j++)
                yr[i * m + j] += xr[i] * wr[i * m + j];
}

/* DW_PIX adjacent output pixels of one row whose taps all fall inside the
 * input columns, for m == 1: y[q, ch] for q < DW_PIX (rows are clipped by
 * ky_lo/ky_hi).  The channels go in blocks of DW_CB with DW_PIX x DW_CB
 * accumulators that the compiler keeps in vector registers — independent
 * chains, so the adds of consecutive taps do not wait for each other as
 * they would through memory.  (DW_PIX is spelled out as a0..a3 below.) */
#define DW_PIX 4
#define DW_CB 16
static void depthwise_interior(const nnc_rt_conv2d *p, float *restrict yr,
                               const float *restrict xs, long off0, const float *restrict w,
                               const float *restrict b, int ky_lo, int ky_hi)
{
    const int c = p->c;
    const long xstep = (long)p->sw * c; /* from one output pixel's cells to the next */
    int c0, q, o, ky, kx;
    for (c0 = 0; c0 + DW_CB <= c; c0 += DW_CB) {
        /* four named rows, as in gemm.c's portable micro-kernel: a 2-D
         * array would be kept in memory */
        float a0[DW_CB], a1[DW_CB], a2[DW_CB], a3[DW_CB];
        for (o = 0; o < DW_CB; o++)
            a0[o] = a1[o] = a2[o] = a3[o] = b ? b[c0 + o] : 0.0f;
        for (ky = ky_lo; ky < ky_hi; ky++)
            for (kx = 0; kx < p->kw; kx++) {
                const float *restrict xr =
                    xs + off0 + ((long)ky * p->dh * p->w + (long)kx * p->dw) * c + c0;
                const float *restrict wr = w + ((long)ky * p->kw + kx) * c + c0;
                for (o = 0; o < DW_CB; o++) {
                    a0[o] += xr[o] * wr[o];
                    a1[o] += xr[xstep + o] * wr[o];
                    a2[o] += xr[2 * xstep + o] * wr[o];
                    a3[o] += xr[3 * xstep + o] * wr[o];
                }
            }
        for (o = 0; o < DW_CB; o++) {
            yr[o + c0] = a0[o];
            yr[c + o + c0] = a1[o];
            yr[2L * c + o + c0] = a2[o];
            yr[3L * c + o + c0] = a3[o];
        }
    }
    for (; c0 < c; c0++) /* the channels past the last whole block */
        for (q = 0; q < DW_PIX; q++) {
            float a = b ? b[c0] : 0.0f;
            for (ky = ky_lo; ky < ky_hi; ky++)
                for (kx = 0; kx < p->kw; kx++)
                    a += xs[off0 + q * xstep + ((long)ky * p->dh * p->w + (long)kx * p->dw) * c + c0] *
                         w[((long)ky * p->kw + kx) * c + c0];
            yr[(long)q * c + c0] = a;
        }
}

#if HAVE_DIRECT
/* The depthwise forward for m == 1 with the SIMD row kernels: the interior
 * of each output row in one call, the clipped edge pixels one by one.  The
 * weight of tap (ky, kx) is at w + ky*wrs + kx*wcs (the Keras layout, or
 * backward_data's flipped one, see there). */
static void depthwise_simd(const nnc_rt_conv2d *p, float *y, const float *x, const float *w,
                           long wrs, long wcs, const float *b, int n, int act)
{
    const int c = p->c, clamp = nnc_rt_act_clamp(act);
    const long xs = (long)p->h * p->w * c, ys = (long)p->oh * p->ow * c;
    const long rs = (long)p->dh * p->w * c, cs = (long)p->dw * c, pstep = (long)p->sw * c;
    /* the output columns whose windows lie inside the input: [ox_lo, ox_hi) */
    const int ox_lo = imin((p->pl + p->sw - 1) / p->sw, p->ow);
    const int last = p->w - 1 - (p->kw - 1) * p->dw + p->pl; /* the last ox*sw allowed */
    const int ox_hi = last < 0 ? ox_lo : imax(ox_lo, imin(last / p->sw + 1, p->ow));
    int s, oy, ox, i;
    for (s = 0; s < n; s++) {
        for (oy = 0; oy < p->oh; oy++) {
            int iy0 = oy * p->sh - p->pt, ky_lo, ky_hi, lo, hi;
            const float *xs0 = x + s * xs, *wr;
            float *yr = y + s * ys + (long)oy * p->ow * c;
            long xr; /* the offset of (the first valid kernel row, column -pl) in xs0 */
            valid_ky(p, iy0, &ky_lo, &ky_hi);
            wr = ky_lo < ky_hi ? w + ky_lo * wrs : w;
            xr = (long)(iy0 + ky_lo * p->dh) * p->w * c - (long)p->pl * c;
            if (ox_lo < ox_hi && ky_lo < ky_hi)
                depthwise_row(xs0 + (xr + ox_lo * pstep), ox_hi - ox_lo, pstep, rs, cs,
                              ky_hi - ky_lo, p->kw, wr, wrs, wcs, b, c, yr + (long)ox_lo * c,
                              clamp);
            for (ox = 0; ox < p->ow; ox++) {
                if (ox == ox_lo && ox_lo < ox_hi && ky_lo < ky_hi)
                    ox = ox_hi;
                if (ox >= p->ow)
                    break;
                valid_kx(p, ox * p->sw - p->pl, &lo, &hi);
                if (lo < hi && ky_lo < ky_hi)
                    depthwise_pixel(xs0 + (xr + ox * pstep + lo * cs), 1, pstep, rs, cs,
                                    ky_hi - ky_lo, hi - lo, wr + lo * wcs, wrs, wcs, b, c,
                                    yr + (long)ox * c, clamp);
                else { /* a window wholly in the padding */
                    float *yo = yr + (long)ox * c;
                    if (b)
                        copy_floats(yo, b, c);
                    else
                        zero_floats(yo, c);
                    if (clamp) {
                        const float hi = nnc_rt_clamp_hi(clamp);
                        for (i = 0; i < c; i++)
                            yo[i] = yo[i] > 0.0f ? (yo[i] < hi ? yo[i] : hi) : 0.0f;
                    }
                }
            }
        }
        if (act != NNC_RT_ACT_LINEAR && !clamp)
            epilogue(y + s * ys, (long)p->oh * p->ow, c, NULL, act);
    }
}
#endif

static void depthwise_forward(const nnc_rt_conv2d *p, float *y, const float *x, const float *w,
                              const float *b, int n, int act)
{
    const int c = p->c, oc = p->oc, m = oc / c;
    const long xs = (long)p->h * p->w * c, ys = (long)p->oh * p->ow * oc;
    int s, oy, ox, ky, kx;
#if HAVE_DIRECT
    if (m == 1) {
        depthwise_simd(p, y, x, w, (long)p->kw * c, c, b, n, act);
        return;
    }
#endif
    for (s = 0; s < n; s++) {
        for (oy = 0; oy < p->oh; oy++) {
            int iy0 = oy * p->sh - p->pt, ky_lo, ky_hi;
            valid_ky(p, iy0, &ky_lo, &ky_hi);
            for (ox = 0; ox < p->ow; ox++) {
                float *yr = y + s * ys + ((long)oy * p->ow + ox) * oc;
                int ix0 = ox * p->sw - p->pl, lo, hi, last_ix;
                /* the last input column that the DW_PIX-th pixel from here reads */
                last_ix = ix0 + (DW_PIX - 1) * p->sw + (p->kw - 1) * p->dw;
                if (m == 1 && ix0 >= 0 && last_ix < p->w && ox + DW_PIX <= p->ow) {
                    /* the offset of cell (iy0, ix0): iy0 may be above the input */
                    depthwise_interior(p, yr, x + s * xs, ((long)iy0 * p->w + ix0) * c, w, b,
                                       ky_lo, ky_hi);
                    ox += DW_PIX - 1;
                    continue;
                }
                valid_kx(p, ix0, &lo, &hi);
                if (b)
                    copy_floats(yr, b, oc);
                else
                    zero_floats(yr, oc);
                for (ky = ky_lo; ky < ky_hi; ky++)
                    for (kx = lo; kx < hi; kx++)
                        dw_tap(yr, x + s * xs + ((long)(iy0 + ky * p->dh) * p->w + ix0 + kx * p->dw) * c,
                               w + ((long)ky * p->kw + kx) * oc, c, m);
            }
        }
        epilogue(y + s * ys, (long)p->oh * p->ow, oc, NULL, act); /* act while hot */
    }
}

/* acc[i] += sum_j dyr[i*m + j] * wr[i*m + j] over the c inputs */
static void dw_dot(float *restrict acc, const float *restrict dyr, const float *restrict wr,
                   int c, int m)
{
    int i, j;
    if (m == 1)
        mul_add(acc, dyr, wr, c);
    else
        for (i = 0; i < c; i++) {
            float s = 0.0f;
            for (j = 0; j < m; j++)
                s += dyr[i * m + j] * wr[i * m + j];
            acc[i] += s;
        }
}

/* acc[o] += xr[o / m] * dyr[o] over the oc outputs */
static void dw_outer(float *restrict acc, const float *restrict xr, const float *restrict dyr,
                     int c, int m)
{
    int i, j;
    if (m == 1)
        mul_add(acc, xr, dyr, c);
    else
        for (i = 0; i < c; i++)
            for (j = 0; j < m; j++)
                acc[i * m + j] += xr[i] * dyr[i * m + j];
}

/* The two depthwise backward kernels: one walk over (sample, output pixel,
 * valid tap), accumulating into dx (DW_DATA) or dw (DW_FILTER).  With the
 * SIMD kernels, the filter of a 3x3 multiplier-1 kernel does the interior
 * of each row whose three kernel rows are all inside the input with
 * depthwise_filter_row3 (about 3x faster), and only the rest here. */
enum { DW_DATA, DW_FILTER };

static inline ALWAYS_INLINE void depthwise_backward(const nnc_rt_conv2d *p, int kind, float *out,
                                                    const float *dy, const float *other, int n)
{
    const int c = p->c, oc = p->oc, m = oc / c;
    const long xs = (long)p->h * p->w * c, ys = (long)p->oh * p->ow * oc;
    int s, oy, ox, ky, kx, ox_lo = 0, ox_hi = 0;
#if HAVE_DIRECT
    if (kind == DW_FILTER && m == 1 && p->kh == 3 && p->kw == 3) { /* as in depthwise_simd */
        const int last = p->w - 1 - 2 * p->dw + p->pl;
        ox_lo = imin((p->pl + p->sw - 1) / p->sw, p->ow);
        ox_hi = last < 0 ? ox_lo : imax(ox_lo, imin(last / p->sw + 1, p->ow));
    }
#endif
    for (s = 0; s < n; s++)
        for (oy = 0; oy < p->oh; oy++) {
            int iy0 = oy * p->sh - p->pt, ky_lo, ky_hi, skip = 0;
            valid_ky(p, iy0, &ky_lo, &ky_hi);
#if HAVE_DIRECT
            if (ox_lo < ox_hi && ky_lo == 0 && ky_hi == 3) { /* (kind is DW_FILTER) */
                long cell = s * xs + ((long)iy0 * p->w + ox_lo * p->sw - p->pl) * c;
                depthwise_filter_row3(other + cell, ox_hi - ox_lo, (long)p->sw * c,
                                      (long)p->dh * p->w * c, (long)p->dw * c,
                                      dy + s * ys + ((long)oy * p->ow + ox_lo) * oc, c, out);
                skip = 1;
            }
#endif
            for (ox = 0; ox < p->ow; ox++) {
                long q;
                int ix0, lo, hi;
                if (skip && ox == ox_lo) /* done above */
                    ox = ox_hi;
                if (ox >= p->ow)
                    break;
                q = s * ys + ((long)oy * p->ow + ox) * oc; /* (s, oy, ox) in y */
                ix0 = ox * p->sw - p->pl;
                valid_kx(p, ix0, &lo, &hi);
                for (ky = ky_lo; ky < ky_hi; ky++)
                    for (kx = lo; kx < hi; kx++) {
                        long cell = s * xs + ((long)(iy0 + ky * p->dh) * p->w + ix0 + kx * p->dw) * c;
                        long tap = ((long)ky * p->kw + kx) * oc;
                        if (kind == DW_DATA) /* out = dx, other = w */
                            dw_dot(out + cell, dy + q, other + tap, c, m);
                        else                 /* out = dw, other = x */
                            dw_outer(out + tap, other + cell, dy + q, c, m);
                    }
            }
        }
}

/* ---- entry points -------------------------------------------------------------- */

/* Pixels per chunk for the transposed products of one group, or 0 for the
 * plain orientation.  The scratch (pix*kdim floats) holds `fixed` floats
 * set aside, then the chunk's cols rows (kdim floats a pixel) and `extra`
 * more floats a pixel (its transposed output).  Chunks are whole NR = 32
 * GEMM slivers when they can be, and small enough to stay in L2. */
static long chunk_pixels(long pix, long kdim, int og, long fixed, long extra)
{
    long chunk;
    if (og >= WIDE_N || pix * kdim <= fixed)
        return 0;
    chunk = (pix * kdim - fixed) / (kdim + extra);
    if (chunk > CHUNK_FLOATS / kdim) /* (chunk < pix anyway: the result takes room) */
        chunk = CHUNK_FLOATS / kdim;
    if (chunk >= 32)
        chunk -= chunk % 32;
    return chunk >= MIN_CHUNK ? chunk : 0;
}

/* x is (n, h, w, c), w is (kh, kw, c/groups, oc), y is (n, oh, ow, oc) */
void nnc_rt_conv2d_forward(const nnc_rt_conv2d *p, float *y, const float *x, const float *w,
                           const float *b, float *scratch, int n, int act)
{
    const int G = p->groups, cg = p->c / G, og = p->oc / G, oc = p->oc;
    const long pix = (long)p->oh * p->ow, kdim = (long)p->kh * p->kw * cg;
    const long xs = (long)p->h * p->w * p->c, ys = pix * oc;
    int s, g;
    if (n <= 0)
        return;
    switch (nnc_rt_conv2d_path(p, HAVE_DIRECT)) {
    case NNC_RT_CONV_DEPTHWISE:
        depthwise_forward(p, y, x, w, b, n, act);
        return;
    case NNC_RT_CONV_POINTWISE: /* a dense layer over the pixels, its epilogue fused */
        nnc_rt_dense_forward(y, x, w, b, (int)(n * pix), p->c, oc, act);
        return;
#if HAVE_DIRECT
    case NNC_RT_CONV_DIRECT: {
        direct_view v;
        direct_plan(p, &v);
        direct_forward(p, &v, y, x, w, b, scratch, n, act);
        return;
    }
#endif
    default:
        break;
    }
    if (is_pointwise(p)) { /* grouped */
        for (g = 0; g < G; g++)
            nnc_rt_gemm_f32(0, 0, (int)(n * pix), og, cg, 1.0f, x + g * cg, p->c, w + g * og, oc,
                            0.0f, y + g * og, oc);
        epilogue(y, n * pix, oc, b, act);
        return;
    }
    for (s = 0; s < n; s++) {
        for (g = 0; g < G; g++) {
            const float *xg = x + s * xs + g * cg, *wg = w + g * og;
            float *yg = y + s * ys + g * og;
            long chunk = chunk_pixels(pix, kdim, og, 0, og);
            long q0;
            if (!chunk) { /* y_g (pix, og) = cols . w_g */
                im2col(p, scratch, xg, cg, 0, pix);
                nnc_rt_gemm_f32(0, 0, (int)pix, og, (int)kdim, 1.0f, scratch, (int)kdim, wg, oc,
                                0.0f, yg, oc);
                continue;
            }
            for (q0 = 0; q0 < pix; q0 += chunk) { /* y_g^T (og, np) = w_g^T . cols^T */
                long np = pix - q0 < chunk ? pix - q0 : chunk;
                float *t = scratch + chunk * kdim;
                im2col(p, scratch, xg, cg, q0, np);
                nnc_rt_gemm_f32(1, 1, og, (int)np, (int)kdim, 1.0f, wg, oc, scratch, (int)kdim,
                                0.0f, t, (int)np);
                untranspose(yg + q0 * oc, oc, t, og, np);
            }
        }
        epilogue(y + s * ys, pix, oc, b, act);
    }
}

void nnc_rt_conv2d_backward_data(const nnc_rt_conv2d *p, float *dx, const float *dy,
                                 const float *w, float *scratch, int n)
{
    const int G = p->groups, cg = p->c / G, og = p->oc / G;
    const long pix = (long)p->oh * p->ow, kdim = (long)p->kh * p->kw * cg;
    const long xs = (long)p->h * p->w * p->c, ys = pix * p->oc;
    int s, g;
    if (n <= 0)
        return;
    if (cg == 1 && G > 1) {
#if HAVE_DIRECT
        /* stride 1, multiplier 1: dx[iy, ix] = sum_{ky,kx} dy[iy + pt - ky*dh, ix + pl - kx*dw]
         * w[ky, kx], the depthwise forward of dy with the kernel flipped (tap (ky, kx) of
         * the flipped one is w[kh-1-ky, kw-1-kx]) and padding (kh-1)*dh - pt before the
         * rows: the gather, where the walk below scatters into dx from every output */
        const nnc_rt_conv2d q = {p->oh, p->ow, p->c, p->h, p->w, p->c, p->kh, p->kw, 1, 1,
                                 p->dh, p->dw, (p->kh - 1) * p->dh - p->pt,
                                 (p->kw - 1) * p->dw - p->pl, p->groups};
        if (p->oc == p->c && p->sh == 1 && p->sw == 1 && q.pt >= 0 && q.pl >= 0) {
            depthwise_simd(&q, dx, dy, w + ((long)(p->kh - 1) * p->kw + p->kw - 1) * p->c,
                           -(long)p->kw * p->c, -(long)p->c, NULL, n, NNC_RT_ACT_LINEAR);
            return;
        }
#endif
        zero_floats(dx, n * xs);
        depthwise_backward(p, DW_DATA, dx, dy, w, n);
        return;
    }
    if (is_pointwise(p)) { /* dx[:, group] = dy[:, group] . w_g^T */
        for (g = 0; g < G; g++)
            nnc_rt_gemm_f32(0, 1, (int)(n * pix), cg, og, 1.0f, dy + g * og, p->oc, w + g * og,
                            p->oc, 0.0f, dx + g * cg, p->c);
        return;
    }
    for (s = 0; s < n; s++) {
        zero_floats(dx + s * xs, xs);
        for (g = 0; g < G; g++) { /* dcols (pix, kdim) = dy_g . w_g^T */
            nnc_rt_gemm_f32(0, 1, (int)pix, (int)kdim, og, 1.0f, dy + s * ys + g * og, p->oc,
                            w + g * og, p->oc, 0.0f, scratch, (int)kdim);
            col2im_add(p, dx + s * xs + g * cg, scratch, cg);
        }
    }
}

void nnc_rt_conv2d_backward_filter(const nnc_rt_conv2d *p, float *dw, const float *dy,
                                   const float *x, float *scratch, int n)
{
    const int G = p->groups, cg = p->c / G, og = p->oc / G, oc = p->oc;
    const long pix = (long)p->oh * p->ow, kdim = (long)p->kh * p->kw * cg;
    const long xs = (long)p->h * p->w * p->c, ys = pix * oc;
    int s, g;
    if (n <= 0 || (cg == 1 && G > 1)) {
        zero_floats(dw, kdim * oc);
        if (n > 0)
            depthwise_backward(p, DW_FILTER, dw, dy, x, n);
        return;
    }
    if (is_pointwise(p)) { /* dw_g = x[:, group]^T . dy[:, group] over the whole batch */
        for (g = 0; g < G; g++)
            nnc_rt_gemm_f32(1, 0, cg, og, (int)(n * pix), 1.0f, x + g * cg, p->c, dy + g * og, oc,
                            0.0f, dw + g * og, oc);
        return;
    }
#if HAVE_DIRECT
    {
        direct_view v;
        if (direct_plan(p, &v) && (v.K <= DIRECT_FILTER_MIN_K || pix >= DIRECT_FILTER_MIN_PIX)) {
            direct_filter(p, &v, dw, dy, x, scratch, n);
            return;
        }
    }
#endif
    for (g = 0; g < G; g++) {
        long chunk = chunk_pixels(pix, kdim, og, og * kdim, 0), q0;
        float *t = scratch + chunk * kdim; /* dw_g^T (og, kdim) when chunked */
        for (s = 0; s < n; s++) {
            const float *xg = x + s * xs + g * cg, *dyg = dy + s * ys + g * og;
            if (!chunk) { /* dw_g (kdim, og) += cols^T . dy_g */
                im2col(p, scratch, xg, cg, 0, pix);
                nnc_rt_gemm_f32(1, 0, (int)kdim, og, (int)pix, 1.0f, scratch, (int)kdim, dyg, oc,
                                s == 0 ? 0.0f : 1.0f, dw + g * og, oc);
                continue;
            }
            for (q0 = 0; q0 < pix; q0 += chunk) { /* dw_g^T += dy_g^T . cols */
                long np = pix - q0 < chunk ? pix - q0 : chunk;
                im2col(p, scratch, xg, cg, q0, np);
                nnc_rt_gemm_f32(1, 0, og, (int)kdim, (int)np, 1.0f, dyg + q0 * oc, oc, scratch,
                                (int)kdim, s == 0 && q0 == 0 ? 0.0f : 1.0f, t, (int)kdim);
            }
        }
        if (chunk)
            untranspose(dw + g * og, oc, t, og, kdim);
    }
}
