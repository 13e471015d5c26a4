/* conv.c — 2-D convolution (channels-last, grouped, strided, dilated,
 * padded): the entry points (forward with a fused bias + activation
 * epilogue, and the two backward kernels), which pick a kernel for each
 * convolution; the portable im2col + GEMM kernels; and the list of every
 * kernel in the build (nnc_rt_conv2d_variants).  The other kernels are in
 * conv_depthwise.c and conv_avx2.c / conv_avx512.c (conv_internal.h says
 * which file has what), the references in conv_ref.c.
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
 *     conv_depthwise.h); no scratch;
 *   - pointwise (1x1, stride 1, no padding): x of the whole batch already is
 *     the (n*h*w, c) matrix, so each group is one GEMM over the batch; no
 *     scratch;
 *   - groups == 1, forward and filter: the direct kernels (conv_direct.h),
 *     which read the taps in place instead of writing an im2col matrix: on a grey or RGB first layer (K = 9 or 27, where the
 *     GEMM has almost no depth to work with) forward 3.5-7x and filter 4-12x
 *     faster than im2col + GEMM; 1.1-1.9x on ResNet-18's 3x3 layers and
 *     1.7x on its 7x7 stem.  The scratch holds at most a zero-padded copy of
 *     one sample;
 *   - the rest (grouped convolutions, backward_data, targets without those
 *     intrinsics): im2col + GEMM as above.
 * nnc_rt_conv2d_forward_packed (groups == 1, constant weights that nnc laid
 * out in GEMM panels) takes the same paths, the GEMM ones through the dense
 * product with panels, which does not pack B on every call; it and
 * nnc_rt_conv2d_forward_residual (inference only) first offer a 3x3
 * stride-1 layer to the Winograd kernel (conv_winograd.h), which takes
 * those with channels its vectors divide and room in the scratch
 * (ResNet-18's 56x56, 28x28 and 14x14 layers: 2x, 2.2x and 1.4x faster
 * than the direct kernel; not 7x7x512, see there).  Training's
 * forward keeps the direct kernel, whose sums its gradients were checked
 * against.
 */
#include "conv_internal.h"

#define WIDE_N 64            /* groups with og >= this use the plain orientation */
#define CHUNK_FLOATS (1L << 17) /* at most 512 KiB of cols per chunk: stays in L2 */
#define MIN_CHUNK 8
#define SMALL_POINTWISE 256  /* pixels of a batch a packed pointwise layer runs direct */

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
void nnc_rt_conv2d_epilogue(float *y, long rows, int oc, const float *b, int act)
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

/* 1, and *v set up, when the direct kernels can do p with its scratch */
int nnc_rt_conv2d_direct_plan(const nnc_rt_conv2d *p, direct_view *v)
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
    if (is_depthwise(p))
        return NNC_RT_CONV_DEPTHWISE;
    if (is_pointwise(p) && p->groups == 1)
        return NNC_RT_CONV_POINTWISE;
    if (direct && nnc_rt_conv2d_direct_plan(p, &v))
        return NNC_RT_CONV_DIRECT;
    return NNC_RT_CONV_GEMM;
}

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

/* ---- the portable kernels: im2col + GEMM ------------------------------------------ */

/* x is (n, h, w, c), w is (kh, kw, c/groups, oc), y is (n, oh, ow, oc) */
NNC_RT_CONV2D_FORWARD_KERNEL(nnc_rt_f32_conv2d_im2col__c)
{
    const int G = p->groups, cg = p->c / G, og = p->oc / G, oc = p->oc;
    const long pix = (long)p->oh * p->ow, kdim = (long)p->kh * p->kw * cg;
    const long xs = (long)p->h * p->w * p->c, ys = pix * oc;
    int s, g;
    if (is_pointwise(p)) { /* x already is the (n*pix, c) matrix */
        for (g = 0; g < G; g++)
            nnc_rt_gemm_f32(0, 0, (int)(n * pix), og, cg, 1.0f, x + g * cg, p->c, w + g * og, oc,
                            0.0f, y + g * og, oc);
        nnc_rt_conv2d_epilogue(y, n * pix, oc, b, act);
        return 1;
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
        nnc_rt_conv2d_epilogue(y + s * ys, pix, oc, b, act);
    }
    return 1;
}

NNC_RT_CONV2D_DATA_KERNEL(nnc_rt_f32_conv2d_im2col_data__c)
{
    const int G = p->groups, cg = p->c / G, og = p->oc / G;
    const long pix = (long)p->oh * p->ow, kdim = (long)p->kh * p->kw * cg;
    const long xs = (long)p->h * p->w * p->c, ys = pix * p->oc;
    int s, g;
    if (is_pointwise(p)) { /* dx[:, group] = dy[:, group] . w_g^T */
        for (g = 0; g < G; g++)
            nnc_rt_gemm_f32(0, 1, (int)(n * pix), cg, og, 1.0f, dy + g * og, p->oc, w + g * og,
                            p->oc, 0.0f, dx + g * cg, p->c);
        return 1;
    }
    for (s = 0; s < n; s++) {
        zero_floats(dx + s * xs, xs);
        for (g = 0; g < G; g++) { /* dcols (pix, kdim) = dy_g . w_g^T */
            nnc_rt_gemm_f32(0, 1, (int)pix, (int)kdim, og, 1.0f, dy + s * ys + g * og, p->oc,
                            w + g * og, p->oc, 0.0f, scratch, (int)kdim);
            col2im_add(p, dx + s * xs + g * cg, scratch, cg);
        }
    }
    return 1;
}

NNC_RT_CONV2D_FILTER_KERNEL(nnc_rt_f32_conv2d_im2col_filter__c)
{
    const int G = p->groups, cg = p->c / G, og = p->oc / G, oc = p->oc;
    const long pix = (long)p->oh * p->ow, kdim = (long)p->kh * p->kw * cg;
    const long xs = (long)p->h * p->w * p->c, ys = pix * oc;
    int s, g;
    if (n <= 0) {
        zero_floats(dw, kdim * oc);
        return 1;
    }
    if (is_pointwise(p)) { /* dw_g = x[:, group]^T . dy[:, group] over the whole batch */
        for (g = 0; g < G; g++)
            nnc_rt_gemm_f32(1, 0, cg, og, (int)(n * pix), 1.0f, x + g * cg, p->c, dy + g * og, oc,
                            0.0f, dw + g * og, oc);
        return 1;
    }
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
    return 1;
}

/* w in panels (nnc_rt_gemm_pack_b of the (K, oc) kernel), groups == 1: the
 * dense product with the panels over x itself (pointwise) or over each
 * sample's im2col matrix, which for one group is the plain orientation's
 * (pix, K) and fits the scratch */
NNC_RT_CONV2D_FORWARD_KERNEL(nnc_rt_f32_conv2d_im2col_packed__c)
{
    const long pix = (long)p->oh * p->ow, kdim = (long)p->kh * p->kw * p->c;
    const long xs = (long)p->h * p->w * p->c, ys = pix * p->oc;
    int s;
    if (p->groups != 1)
        return 0;
    if (is_pointwise(p)) {
        nnc_rt_dense_forward_packed(y, x, w, b, (int)(n * pix), p->c, p->oc, act);
        return 1;
    }
    for (s = 0; s < n; s++) {
        im2col(p, scratch, x + s * xs, p->c, 0, pix);
        nnc_rt_dense_forward_packed(y + s * ys, scratch, w, b, (int)pix, (int)kdim, p->oc, act);
    }
    return 1;
}

/* ---- threads: the depthwise forward by output rows (parallel.h) ----------------------
 * The depthwise kernels compute every output row on its own, so rows [u0,
 * u1) of the batch's n*oh are, per sample, one call of the kernel on a
 * layer cut to those rows: the input from the first row they read (the
 * rows above dropped, or the top padding kept), the same taps summed in the
 * same order, so the bits of any split are the one call's.  Only where
 * every output row's window starts inside the input or in the top padding
 * (a layer whose bottom padding holds whole windows stays whole). */
#if defined(_OPENMP)
typedef struct depthwise_rows_job {
    const nnc_rt_conv2d *p;
    float *y;
    const float *x, *w, *b;
    float *scratch;
    int act;
} depthwise_rows_job;

static void depthwise_rows(void *ctx, long u0, long u1)
{
    const depthwise_rows_job *j = ctx;
    const nnc_rt_conv2d *p = j->p;
    const long xs = (long)p->h * p->w * p->c, yrow = (long)p->ow * p->oc;
    while (u0 < u1) {
        const long s = u0 / p->oh;
        const int r0 = (int)(u0 % p->oh), r1 = u1 - u0 < p->oh - r0 ? r0 + (int)(u1 - u0) : p->oh;
        const int iy0 = r0 * p->sh - p->pt, skip = iy0 > 0 ? iy0 : 0;
        nnc_rt_conv2d q = *p;
        q.oh = r1 - r0;
        q.h = p->h - skip;
        q.pt = iy0 > 0 ? 0 : -iy0;
        CONV_BEST_DEPTHWISE(&q, j->y + (s * p->oh + r0) * yrow, j->x + s * xs + (long)skip * p->w * p->c, j->w,
                            j->b, j->scratch, 1, j->act);
        u0 += r1 - r0;
    }
}
#endif

static void depthwise_forward(const nnc_rt_conv2d *p, float *y, const float *x, const float *w,
                              const float *b, float *scratch, int n, int act)
{
#if defined(_OPENMP)
    if ((p->oh - 1) * p->sh - p->pt < p->h) {
        depthwise_rows_job j;
        j.p = p; j.y = y; j.x = x; j.w = w; j.b = b; j.scratch = scratch; j.act = act;
        nnc_rt_par_for((long)n * p->oh, 1, (double)n * p->oh * p->ow * p->oc * p->kh * p->kw, depthwise_rows, &j);
        return;
    }
#endif
    CONV_BEST_DEPTHWISE(p, y, x, w, b, scratch, n, act);
}

/* ---- entry points: the best kernel this build has for p ------------------------------ */

void nnc_rt_conv2d_forward(const nnc_rt_conv2d *p, float *y, const float *x, const float *w,
                           const float *b, float *scratch, int n, int act)
{
    if (n <= 0)
        return;
    switch (nnc_rt_conv2d_path(p, HAVE_DIRECT)) {
    case NNC_RT_CONV_DEPTHWISE:
        depthwise_forward(p, y, x, w, b, scratch, n, act);
        return;
    case NNC_RT_CONV_POINTWISE: /* a dense layer over the pixels, its epilogue fused */
        nnc_rt_dense_forward(y, x, w, b, (int)(n * (long)p->oh * p->ow), p->c, p->oc, act);
        return;
#if HAVE_DIRECT
    case NNC_RT_CONV_DIRECT:
        CONV_BEST_DIRECT(p, y, x, w, b, scratch, n, act);
        return;
#endif
    default:
        nnc_rt_f32_conv2d_im2col__c(p, y, x, w, b, scratch, n, act);
    }
}

void nnc_rt_conv2d_forward_packed(const nnc_rt_conv2d *p, float *y, const float *x, const float *wp,
                                  const float *b, float *scratch, int n, int act)
{
    if (n <= 0)
        return;
#if HAVE_DIRECT
    if (CONV_BEST_WINOGRAD(p, y, x, wp, 1, b, NULL, scratch, n, act))
        return;
    /* A pointwise layer over few pixels (7x7, 14x14 at batch 1) is a GEMM
     * whose M is cut badly by its row tiles (49 rows); the direct kernel's
     * 7-pixel tile covers it exactly: MobileNetV2's 7x7 320->1280 and
     * 960->160 layers 1.15-1.2x faster. */
    if (nnc_rt_conv2d_path(p, 1) == NNC_RT_CONV_DIRECT ||
        (is_pointwise(p) && (long)n * p->oh * p->ow <= SMALL_POINTWISE)) {
        CONV_BEST_DIRECT_PACKED(p, y, x, wp, b, scratch, n, act);
        return;
    }
#endif
    nnc_rt_f32_conv2d_im2col_packed__c(p, y, x, wp, b, scratch, n, act);
}

/* the layer with a linear epilogue, then y = act(y + r) in one pass */
NNC_RT_CONV2D_RESIDUAL_KERNEL(nnc_rt_f32_conv2d_residual__c)
{
    const long size = (long)n * p->oh * p->ow * p->oc;
    long i;
    if (panels && !nnc_rt_f32_conv2d_im2col_packed__c(p, y, x, w, b, scratch, n, NNC_RT_ACT_LINEAR))
        return 0;
    if (!panels)
        nnc_rt_f32_conv2d_im2col__c(p, y, x, w, b, scratch, n, NNC_RT_ACT_LINEAR);
    for (i = 0; i < size; i++)
        y[i] += r[i];
    nnc_rt_conv2d_epilogue(y, size / p->oc, p->oc, NULL, act);
    return 1;
}

void nnc_rt_conv2d_forward_residual(const nnc_rt_conv2d *p, float *y, const float *x, const float *w,
                                    int panels, const float *b, const float *r, float *scratch, int n,
                                    int act)
{
    const long size = (long)n * p->oh * p->ow * p->oc;
    long i;
    if (n <= 0)
        return;
#if HAVE_DIRECT
    if (CONV_BEST_WINOGRAD(p, y, x, w, panels, b, r, scratch, n, act))
        return;
    if (nnc_rt_conv2d_path(p, 1) == NNC_RT_CONV_DIRECT ||
        (panels && is_pointwise(p) && (long)n * p->oh * p->ow <= SMALL_POINTWISE)) {
        CONV_BEST_DIRECT_RESIDUAL(p, y, x, w, panels, b, r, scratch, n, act);
        return;
    }
#endif
    if (panels)
        nnc_rt_conv2d_forward_packed(p, y, x, w, b, scratch, n, NNC_RT_ACT_LINEAR);
    else
        nnc_rt_conv2d_forward(p, y, x, w, b, scratch, n, NNC_RT_ACT_LINEAR);
    for (i = 0; i < size; i++)
        y[i] += r[i];
    nnc_rt_conv2d_epilogue(y, size / p->oc, p->oc, NULL, act);
}

void nnc_rt_conv2d_backward_data(const nnc_rt_conv2d *p, float *dx, const float *dy,
                                 const float *w, float *scratch, int n)
{
    if (n <= 0)
        return;
    if (is_depthwise(p))
        CONV_BEST_DEPTHWISE_DATA(p, dx, dy, w, scratch, n);
    else
        nnc_rt_f32_conv2d_im2col_data__c(p, dx, dy, w, scratch, n);
}

void nnc_rt_conv2d_backward_filter(const nnc_rt_conv2d *p, float *dw, const float *dy,
                                   const float *x, float *scratch, int n)
{
#if HAVE_DIRECT
    const long pix = (long)p->oh * p->ow;
    direct_view v;
#endif
    if (n > 0 && is_depthwise(p)) {
        CONV_BEST_DEPTHWISE_FILTER(p, dw, dy, x, scratch, n);
        return;
    }
#if HAVE_DIRECT
    if (n > 0 && !is_pointwise(p) && nnc_rt_conv2d_direct_plan(p, &v) &&
        (v.K <= DIRECT_FILTER_MIN_K || pix >= DIRECT_FILTER_MIN_PIX)) {
        CONV_BEST_DIRECT_FILTER(p, dw, dy, x, scratch, n);
        return;
    }
#endif
    nnc_rt_f32_conv2d_im2col_filter__c(p, dw, dy, x, scratch, n);
}

void nnc_rt_conv2d_backward_filter_bias(const nnc_rt_conv2d *p, float *dw, float *db, const float *dy,
                                        const float *x, float *scratch, int n)
{
#if HAVE_DIRECT
    const long pix = (long)p->oh * p->ow;
    direct_view v;
    if (n > 0 && !is_depthwise(p) && !is_pointwise(p) && nnc_rt_conv2d_direct_plan(p, &v) &&
        (v.K <= DIRECT_FILTER_MIN_K || pix >= DIRECT_FILTER_MIN_PIX)) {
        CONV_BEST_DIRECT_FILTER_BIAS(p, dw, db, dy, x, scratch, n);
        return;
    }
#endif
    nnc_rt_conv2d_backward_filter(p, dw, dy, x, scratch, n);
    nnc_rt_bias_backward(db, dy, n > 0 ? (int)(n * (long)p->oh * p->ow) : 0, p->oc);
}

int nnc_rt_conv2d_winograd(const nnc_rt_conv2d *p)
{
#if HAVE_DIRECT
    return CONV_BEST_WINOGRAD(p, NULL, NULL, NULL, 1, NULL, NULL, NULL, 0, NNC_RT_ACT_LINEAR);
#else
    (void)p;
    return 0;
#endif
}

/* ---- the list -----------------------------------------------------------------------
 * (not the packed forward kernels: their weights are in another layout;
 * tests/test_conv.c checks them by name) */
#define FORWARD(name) {#name, nnc_rt_f32_conv2d_##name, NULL, NULL}
#define DATA(name) {#name, NULL, nnc_rt_f32_conv2d_##name, NULL}
#define FILTER(name) {#name, NULL, NULL, nnc_rt_f32_conv2d_##name}
static const nnc_rt_conv2d_variant conv_variants[] = {
    FORWARD(im2col__c), DATA(im2col_data__c), FILTER(im2col_filter__c),
    FORWARD(depthwise_4x16__c), DATA(depthwise_data__c), FILTER(depthwise_filter__c),
#if defined(__AVX2__) && defined(__FMA__)
    FORWARD(direct_6x16__avx2), FILTER(direct_filter_6x16__avx2),
    FORWARD(depthwise_6x8__avx2), DATA(depthwise_data_6x8__avx2),
    FILTER(depthwise_filter3x3__avx2),
#endif
#if defined(__AVX512F__)
    FORWARD(direct_8x32__avx512), FILTER(direct_filter_12x32__avx512),
    FORWARD(depthwise_8x16__avx512), DATA(depthwise_data_8x16__avx512),
    FILTER(depthwise_filter3x3__avx512),
#endif
};

int nnc_rt_conv2d_variants(const nnc_rt_conv2d_variant **list)
{
    *list = conv_variants;
    return (int)(sizeof conv_variants / sizeof conv_variants[0]);
}
