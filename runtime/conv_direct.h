/* conv_direct.h — the direct convolution kernels (groups == 1, forward and
 * filter gradient), written once in conv_simd.h's vector operations and
 * included by each ISA's file (conv_avx2.c, conv_avx512.c), which names
 * them CONV_DIRECT and CONV_DIRECT_FILTER for its tile and ISA.  Included
 * once per translation unit: no include guard.
 *
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
 *   forward: DP (or DP_ALT) pixels x NV vectors of accumulators stay in registers over
 *            a chunk of at most DKC taps (per tap: NV weight loads, DP
 *            broadcasts of x, DP*NV FMAs); the bias (plus a residual's row,
 *            when the layer adds one) is their initial value,
 *            relu and relu6 clamp before the last chunk's store, the
 *            other activations run after each sample;
 *   filter:  DKB (or DKB_ALT) taps x NV vectors of dw stay in registers
 *            while all the pixels of a sample stream past (per pixel: NV dy
 *            loads, DKB broadcasts of x), added to dw once per sample;
 *            with the bias gradient (nnc_rt_conv2d_backward_filter_bias),
 *            the first block of taps also sums dy into NV more vectors, so
 *            db costs no pass of its own over dy (on the small CNN that
 *            pass read 2.7 MB from L3 each step: 8 % of the step).  Each
 *            db[o] is summed over the pixels in order, sample after sample,
 *            exactly as nnc_rt_bias_backward sums the rows: the same bits.
 * Padding: when a window can leave the input, each sample is first copied
 * zero-padded into the scratch (the windows' span, (oh-1)*sh + (kh-1)*dh + 1
 * rows by the like columns), so the kernels never clip; when that copy does
 * not fit in NNC_RT_CONV2D_SCRATCH the im2col path is taken.  So are
 * grouped convolutions, and every convolution on targets without these
 * intrinsics: a portable C form of these loops is not kept in registers by
 * gcc across the tap loop (it spills the accumulators to the stack), which
 * makes it no faster than the GEMM.
 * The depthwise row kernels (conv_depthwise_simd.h) are the same idea for
 * cg == 1: vectorised over the channels, DP pixels of a row at a time. */

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
#define DIRECT_TAPS(NR, NJ, NV, MASKED, LOOP, TP)                                        \
    LOOP for (r = 0; r < NR; r++) {                                                      \
        const float *wj = w + r * wrun;                                                  \
        const long o = roff[r];                                                          \
        LOOP for (j = 0; j < NJ; j++, wj += ldw) {                                       \
            vec wv[NV];                                                                  \
            LOAD_ROW(wv, wj, m, NV, MASKED);                                             \
            UNROLL for (i = 0; i < TP; i++) {                                            \
                vec xi = V_BCAST(x[i] + o + j);                                          \
                UNROLL for (v = 0; v < NV; v++)                                          \
                    acc[i][v] = V_FMA(xi, wv[v], acc[i][v]);                             \
            }                                                                            \
        }                                                                                \
    }

/* One chunk of the taps for TP pixels: for i < np (xq[i] past np repeats
 * a valid pixel)
 *   y[i*ldy + 0 : NV*VW] = act(init_i + sum_{r < nruns, j < nj}
 *                                  xq[i][roff[r] + j0 + j] w[r*wrun + j*ldw + 0 : NV*VW])
 * where init_i is y's row itself when accumulate, else b (or 0) plus, with
 * a residual res, its row i (rows ldy apart, as y's) */
#define DIRECT_FORWARD(name, NV, MASKED, TP)                                               \
static NOINLINE void name(const float *const *xq, const long *roff, int nruns, int j0,   \
                          int nj, const float *w, long wrun, long ldw, vmask m,          \
                          const float *b, int accumulate, float *y, long ldy, int np,    \
                          int clamp, const float *res)                                   \
{                                                                                        \
    const float *x[TP];                                                                  \
    vec acc[TP][NV], init[NV];                                                           \
    int i, v, r, j;                                                                      \
    UNROLL for (i = 0; i < TP; i++)                                                      \
        x[i] = xq[i] + j0;                                                               \
    if (accumulate || res) {                                                             \
        const float *src = accumulate ? y : res;                                         \
        UNROLL for (i = 0; i < TP; i++) {                                                \
            LOAD_ROW(acc[i], src + (i < np ? i : 0) * ldy, m, NV, MASKED);               \
        }                                                                                \
        if (!accumulate && b) {                                                          \
            LOAD_ROW(init, b, m, NV, MASKED);                                            \
            UNROLL for (i = 0; i < TP; i++)                                              \
                UNROLL for (v = 0; v < NV; v++)                                          \
                    acc[i][v] = V_ADD(acc[i][v], init[v]);                               \
        }                                                                                \
    } else {                                                                             \
        if (b) {                                                                         \
            LOAD_ROW(init, b, m, NV, MASKED);                                            \
        } else                                                                           \
            UNROLL for (v = 0; v < NV; v++)                                              \
                init[v] = V_ZERO();                                                      \
        UNROLL for (i = 0; i < TP; i++)                                                  \
            UNROLL for (v = 0; v < NV; v++)                                              \
                acc[i][v] = init[v];                                                     \
    }                                                                                    \
    if (nruns == 3 && nj == 3) { /* 3x3 on one channel: constant trip counts */         \
        DIRECT_TAPS(3, 3, NV, MASKED, UNROLL, TP);                                        \
    } else {                                                                             \
        DIRECT_TAPS(nruns, nj, NV, MASKED, , TP);                                        \
    }                                                                                    \
    UNROLL for (i = 0; i < TP; i++)                                                      \
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
 * with BIAS also db[0 : NV*VW] (+)= sum over q of dy[q*ldy + 0 : NV*VW]
 * (db unused without); accumulate == 0 overwrites dw (and db) */
typedef void (*direct_filter_fn)(const float *xv, long rstep, long cstep, int oh, int ow,
                                 const long *off, int kb, const float *dy, long ldy, vmask m,
                                 float *dw, long ldw, float *db, int accumulate);
#define DIRECT_FILTER(name, NV, MASKED, KB, BIAS)                                        \
static NOINLINE void name(const float *xv, long rstep, long cstep, int oh, int ow,       \
                          const long *off, int kb, const float *dy, long ldy, vmask m,   \
                          float *dw, long ldw, float *db, int accumulate)                \
{                                                                                        \
    vec acc[KB][NV], accb[NV];                                                           \
    long o[KB];                                                                          \
    int k, v, oy, ox;                                                                    \
    (void)db;                                                                            \
    if (BIAS && accumulate) {                                                            \
        LOAD_ROW(accb, db, m, NV, MASKED);                                               \
    } else                                                                               \
        UNROLL for (v = 0; v < NV; v++)                                                  \
            accb[v] = V_ZERO();                                                          \
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
            if (BIAS)                                                                    \
                UNROLL for (v = 0; v < NV; v++)                                          \
                    accb[v] = V_ADD(accb[v], dv[v]);                                     \
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
    if (BIAS) {                                                                          \
        STORE_ROW(db, accb, m, NV, MASKED);                                              \
    }                                                                                    \
}

/* [DP, DP_ALT pixels a tile][full blocks, and the last block of an oc that
 * is not a multiple of 2*VW: 2 vectors with the last masked, 1 masked] */
typedef void (*direct_forward_fn)(const float *const *xq, const long *roff, int nruns, int j0,
                                  int nj, const float *w, long wrun, long ldw, vmask m,
                                  const float *b, int accumulate, float *y, long ldy, int np,
                                  int clamp, const float *res);
DIRECT_FORWARD(direct_forward_2v, 2, 0, DP)
DIRECT_FORWARD(direct_forward_2v_masked, 2, 1, DP)
DIRECT_FORWARD(direct_forward_1v_masked, 1, 1, DP)
DIRECT_FORWARD(direct_forward_2v_alt, 2, 0, DP_ALT)
DIRECT_FORWARD(direct_forward_2v_masked_alt, 2, 1, DP_ALT)
DIRECT_FORWARD(direct_forward_1v_masked_alt, 1, 1, DP_ALT)
static const direct_forward_fn direct_forwards[2][3] = {
    {direct_forward_2v, direct_forward_2v_masked, direct_forward_1v_masked},
    {direct_forward_2v_alt, direct_forward_2v_masked_alt, direct_forward_1v_masked_alt},
};
/* [without, with the bias][taps per block DKB, DKB_ALT][2 vectors, 2 with
 * the last masked, 1 masked] */
DIRECT_FILTER(direct_filter_2v, 2, 0, DKB, 0)
DIRECT_FILTER(direct_filter_2v_masked, 2, 1, DKB, 0)
DIRECT_FILTER(direct_filter_1v_masked, 1, 1, DKB, 0)
DIRECT_FILTER(direct_filter_2v_alt, 2, 0, DKB_ALT, 0)
DIRECT_FILTER(direct_filter_2v_masked_alt, 2, 1, DKB_ALT, 0)
DIRECT_FILTER(direct_filter_1v_masked_alt, 1, 1, DKB_ALT, 0)
DIRECT_FILTER(direct_filter_2v_b, 2, 0, DKB, 1)
DIRECT_FILTER(direct_filter_2v_masked_b, 2, 1, DKB, 1)
DIRECT_FILTER(direct_filter_1v_masked_b, 1, 1, DKB, 1)
DIRECT_FILTER(direct_filter_2v_alt_b, 2, 0, DKB_ALT, 1)
DIRECT_FILTER(direct_filter_2v_masked_alt_b, 2, 1, DKB_ALT, 1)
DIRECT_FILTER(direct_filter_1v_masked_alt_b, 1, 1, DKB_ALT, 1)
/* half of DKB_ALT: threads that would otherwise have one block between them */
#define DKB_HALF ((DKB_ALT + 1) / 2)
DIRECT_FILTER(direct_filter_2v_half, 2, 0, DKB_HALF, 0)
DIRECT_FILTER(direct_filter_2v_masked_half, 2, 1, DKB_HALF, 0)
DIRECT_FILTER(direct_filter_1v_masked_half, 1, 1, DKB_HALF, 0)
DIRECT_FILTER(direct_filter_2v_half_b, 2, 0, DKB_HALF, 1)
DIRECT_FILTER(direct_filter_2v_masked_half_b, 2, 1, DKB_HALF, 1)
DIRECT_FILTER(direct_filter_1v_masked_half_b, 1, 1, DKB_HALF, 1)
static const direct_filter_fn direct_filters[2][3][3] = {
    {{direct_filter_2v, direct_filter_2v_masked, direct_filter_1v_masked},
     {direct_filter_2v_alt, direct_filter_2v_masked_alt, direct_filter_1v_masked_alt},
     {direct_filter_2v_half, direct_filter_2v_masked_half, direct_filter_1v_masked_half}},
    {{direct_filter_2v_b, direct_filter_2v_masked_b, direct_filter_1v_masked_b},
     {direct_filter_2v_alt_b, direct_filter_2v_masked_alt_b, direct_filter_1v_masked_alt_b},
     {direct_filter_2v_half_b, direct_filter_2v_masked_half_b, direct_filter_1v_masked_half_b}},
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
 * whose weights stay near while all the pixels pass: beyond that the
 * weights would stream from L2 for every tile (1.4x slower on 3x3x512 on
 * AVX-512, whose chunk is L1's size; AVX2's on Zen 3 is twice that: see
 * conv_simd.h).
 * The first chunk starts from the bias, the others add to y, the last
 * clamps (relu, relu6).  With more output channels than the block, a
 * chunk's weights are copied out first, the block's 2*VW columns of each
 * tap side by side: in place, taps oc floats apart fall into a few L1 sets
 * (oc = 512: a 2 KiB stride, two sets of 64) and evict each other, so every
 * tile would read them from L2 again (3x3x512 at 7x7: 2x slower).
 * Weights in panels (panels = 1: nnc_rt_gemm_pack_b's layout, which nnc
 * gives constant kernels at compile time) already are that copy: a full
 * panel holds NNC_RT_GEMM_PANEL = 32 columns of every tap side by side, so
 * its blocks are read in place, tap after tap 32 floats apart; only the
 * narrow last panel (stored transposed) is gathered.  Where the pixels are
 * few (7x7 at 512 channels: 7 tiles per chunk) the copy was a third of the
 * time, and it read the weights a second time. */
static void direct_forward_block(const nnc_rt_conv2d *p, const direct_view *v, float *ys,
                                 const float *xv, const float *w, const float *b, int o0,
                                 int clamp, long qa, long qb, int panels, int alt,
                                 const float *rs)
{
    const int tp = alt ? DP_ALT : DP;
    float wpk[DKC * 2 * VW];
    const int oc = p->oc, run = v->run, width = imin(2 * VW, oc - o0);
    const long j0p = (long)o0 / NNC_RT_GEMM_PANEL * NNC_RT_GEMM_PANEL; /* o0's panel */
    const int in_panel = panels && oc - j0p >= NNC_RT_GEMM_PANEL;
    const int pack = panels ? !in_panel : oc > 2 * VW;
    const int rc = run >= DKC ? 1 : DKC / run;                   /* runs per chunk */
    const int jc = (run + (run + DKC - 1) / DKC - 1) / ((run + DKC - 1) / DKC); /* and taps */
    const int rest = oc - o0, which = rest >= 2 * VW ? 0 : rest > VW ? 1 : 2;
    const vmask m = lanes(which == 0 ? VW : which == 1 ? rest - VW : rest);
    const float *xq[DP > DP_ALT ? DP : DP_ALT];
    int r0, j0;
    for (r0 = 0; r0 < v->nruns; r0 += rc)
        for (j0 = 0; j0 < run; j0 += jc) {
            const int nr = imin(rc, v->nruns - r0), nj = imin(jc, run - j0);
            const int first = r0 == 0 && j0 == 0, last = r0 + nr == v->nruns && j0 + nj == run;
            const float *wc = w + ((long)r0 * run + j0) * oc + o0, *bo = b ? b + o0 : NULL;
            const long *ro = v->roff + r0, wrun = (long)run * oc;
            const float *wk = wc; /* tap j of run r at wk[r * krun + j * kld] */
            long krun = wrun, kld = oc, q0;
            int oy = (int)(qa / p->ow), ox = (int)(qa % p->ow), i, r, j, l;
            if (in_panel) {
                wk = w + j0p * v->K + ((long)r0 * run + j0) * NNC_RT_GEMM_PANEL + (o0 - j0p);
                krun = (long)run * NNC_RT_GEMM_PANEL;
                kld = NNC_RT_GEMM_PANEL;
            } else if (pack) { /* nr * nj <= DKC taps */
                /* the narrow last panel: column l of tap t at wt[l * K + t] */
                const float *wt = w + j0p * v->K + (o0 - j0p) * (long)v->K + (long)r0 * run + j0;
                for (r = 0; r < nr; r++)
                    for (j = 0; j < nj; j++) {
                        float *d = wpk + ((long)r * nj + j) * 2 * VW;
                        if (panels)
                            for (l = 0; l < width; l++)
                                d[l] = wt[l * (long)v->K + (long)r * run + j];
                        else
                            copy_floats(d, wc + r * wrun + (long)j * oc, width);
                    }
                wk = wpk;
                krun = (long)nj * 2 * VW;
                kld = 2 * VW;
            }
            for (q0 = qa; q0 < qb; q0 += tp) {
                int np = (int)(qb - q0 < tp ? qb - q0 : tp);
                float *yq = ys + q0 * oc + o0;
                for (i = 0; i < tp; i++) { /* the windows; past np, the last one again */
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
                direct_forwards[alt][which](xq, ro, nr, j0, nj, wk, krun, kld, m, bo, !first,
                                            yq, oc, np, last ? clamp : 0,
                                            first && rs ? rs + q0 * oc + o0 : NULL);
            }
        }
}

/* one sample's pixels [qa, qb) (multiples of the tile but the last: threads, parallel.h) */
typedef struct direct_forward_job {
    const nnc_rt_conv2d *p;
    const direct_view *v;
    float *ys;
    const float *xv, *w, *b, *rs;  /* rs: the sample's residual, or NULL */
    int act, panels, alt;
} direct_forward_job;

static void direct_forward_pixels(void *ctx, long qa, long qb)
{
    const direct_forward_job *j = ctx;
    const int oc = j->p->oc, clamp = nnc_rt_act_clamp(j->act);
    int o0;
    for (o0 = 0; o0 < oc; o0 += 2 * VW)
        direct_forward_block(j->p, j->v, j->ys, j->xv, j->w, j->b, o0, clamp, qa, qb, j->panels,
                             j->alt, j->rs);
    if (j->act != NNC_RT_ACT_LINEAR && !clamp)
        nnc_rt_act_forward(j->act, j->ys + qa * oc, j->ys + qa * oc, (int)(qb - qa), oc);
}

/* one sample's output channels in blocks [ba, bb) of 2*VW, over all its
 * pixels (threads: a layer of few pixels and many weights, where chunks of
 * pixels would each read all of the weights) */
static void direct_forward_channels(void *ctx, long ba, long bb)
{
    const direct_forward_job *j = ctx;
    const long pix = (long)j->p->oh * j->p->ow;
    long blk;
    for (blk = ba; blk < bb; blk++)
        direct_forward_block(j->p, j->v, j->ys, j->xv, j->w, j->b, (int)blk * 2 * VW, nnc_rt_act_clamp(j->act), 0,
                             pix, j->panels, j->alt, j->rs);
}

/* samples [sa, sb) whole, read in place (threads: unpadded batches) */
typedef struct direct_samples_job {
    direct_forward_job j;
    float *y;
    const float *x, *r;   /* r: the residual, or NULL */
    long xs, ys, pix;
} direct_samples_job;

static void direct_forward_samples(void *ctx, long sa, long sb)
{
    const direct_samples_job *sj = ctx;
    direct_forward_job j = sj->j;
    long s;
    for (s = sa; s < sb; s++) {
        j.xv = sj->x + s * sj->xs;
        j.ys = sj->y + s * sj->ys;
        j.rs = sj->r ? sj->r + s * sj->ys : NULL;
        direct_forward_pixels(&j, 0, sj->pix);
    }
}

static void direct_forward(const nnc_rt_conv2d *p, const direct_view *v, float *y,
                           const float *x, const float *w, const float *b, float *scratch,
                           int n, int act, int panels, const float *r)
{
    const long pix = (long)p->oh * p->ow, xs = (long)p->h * p->w * p->c, ys = pix * p->oc;
    direct_forward_job j;
    int s;
    j.p = p; j.v = v; j.w = w; j.b = b; j.act = act; j.panels = panels; j.rs = NULL;
    /* the tile that wastes less of its last one, a tile costing about its
     * pixels plus one (7x7 = 49 pixels: 7 tiles of 7, not 7 of 8) */
    j.alt = (pix + DP_ALT - 1) / DP_ALT * (DP_ALT + 1) < (pix + DP - 1) / DP * (DP + 1);
    if (!v->padded && n > 1) {
        /* samples read in place need no scratch: the threads take whole
         * samples, one fork and join for the batch instead of one per
         * sample (the small CNN: 32 a step, each a futex wake and wait
         * for 2 us of work) */
        direct_samples_job sj;
        sj.j = j; sj.y = y; sj.x = x; sj.r = r; sj.xs = xs; sj.ys = ys; sj.pix = pix;
        nnc_rt_par_for(n, 1, (double)n * ys * v->K, direct_forward_samples, &sj);
        return;
    }
    for (s = 0; s < n; s++) {
        const long blocks = (p->oc + 2 * VW - 1) / (2 * VW);
        j.xv = direct_sample(p, v, scratch, x + s * xs);
        j.ys = y + s * ys;
        j.rs = r ? r + s * ys : NULL;
        /* threads: blocks of channels where there are enough and few pixels
         * (ResNet's 14x14 and 7x7 layers, MobileNet's 7x7: the weights read
         * once, not once a chunk of pixels); else chunks of pixels */
        if (pix <= 1024 && blocks >= 2 * nnc_rt_par_threads() && nnc_rt_par_threads() > 1) {
            nnc_rt_par_for(blocks, 1, (double)ys * v->K, direct_forward_channels, &j);
            if (act != NNC_RT_ACT_LINEAR && !nnc_rt_act_clamp(act))
                nnc_rt_act_forward(act, j.ys, j.ys, (int)pix, p->oc);
            continue;
        }
        nnc_rt_par_for(pix, j.alt ? DP_ALT : DP, (double)ys * v->K, direct_forward_pixels, &j);
    }
}

/* one sample's share of dw: the tap blocks [ba, bb) (threads, parallel.h) */
typedef struct direct_filter_job {
    const nnc_rt_conv2d *p;
    const direct_view *v;
    float *dw, *db;     /* db: NULL, or the bias gradient (with the first block) */
    const float *xv, *dy;
    int alt, kbs, accumulate;   /* alt: 0 DKB, 1 DKB_ALT, 2 DKB_HALF taps a block */
    /* the whole batch in each call (samples read in place), else 0 */
    const float *x;
    long xs, ys;
    int n;
} direct_filter_job;

static void direct_filter_taps(void *ctx, long ba, long bb);

/* the tap blocks [ba, bb) over every sample of the batch, in order (the
 * accumulation order of one call per sample) */
static void direct_filter_batch(void *ctx, long ba, long bb)
{
    direct_filter_job j = *(const direct_filter_job *)ctx;
    int s;
    for (s = 0; s < j.n; s++) {
        j.xv = j.x + s * j.xs;
        j.dy = ((const direct_filter_job *)ctx)->dy + s * j.ys;
        j.accumulate = s > 0;
        direct_filter_taps(&j, ba, bb);
    }
}

static void direct_filter_taps(void *ctx, long ba, long bb)
{
    const direct_filter_job *j = ctx;
    const nnc_rt_conv2d *p = j->p;
    const direct_view *v = j->v;
    const int oc = p->oc, K = v->K, kbs = j->kbs;
    long off[DKB > DKB_ALT ? DKB : DKB_ALT], blk;
    int o0, k;
    for (blk = ba; blk < bb; blk++) {
        const int k0 = (int)blk * kbs, kb = imin(kbs, K - k0);
        for (k = 0; k < kbs; k++) { /* past kb, the last tap again */
            int t = imin(k0 + k, K - 1);
            off[k] = v->roff[t / v->run] + t % v->run;
        }
        for (o0 = 0; o0 < oc; o0 += 2 * VW) {
            const int rest = oc - o0, which = rest >= 2 * VW ? 0 : rest > VW ? 1 : 2;
            const int bias = j->db && blk == 0;
            direct_filters[bias][j->alt][which](j->xv, v->rstep, v->cstep, p->oh, p->ow, off, kb, j->dy + o0,
                                                oc, lanes(which == 2 ? rest : rest - VW),
                                                j->dw + (long)k0 * oc + o0, oc, bias ? j->db + o0 : NULL,
                                                j->accumulate);
        }
    }
}

/* The taps go in blocks of DKB, or of DKB_ALT when that costs less: a
 * block costs about its taps plus 3 (the dy loads, the loop) per pixel, so
 * DKB_ALT = 9 wins for K = 9 and 27 (grey or RGB 3x3 kernels).  With
 * threads and a single block (K = 9: the seed CNN's first layer), blocks of
 * DKB_HALF give each thread one: every tap's dw is summed in the same order
 * whatever its block, so the bits do not change.  Samples read in place
 * (no padding) go to each thread whole, one fork and join a batch. */
static void direct_filter(const nnc_rt_conv2d *p, const direct_view *v, float *dw, float *db,
                          const float *dy, const float *x, float *scratch, int n)
{
    const int oc = p->oc, K = v->K;
    const long pix = (long)p->oh * p->ow, xs = (long)p->h * p->w * p->c, ys = pix * oc;
    int alt = (K + DKB_ALT - 1) / DKB_ALT * (DKB_ALT + 3) < (K + DKB - 1) / DKB * (DKB + 3);
    int kbs = alt ? DKB_ALT : DKB;
    direct_filter_job j;
    int s;
    if (K <= kbs && K > DKB_HALF && nnc_rt_par_threads() > 1 && (double)n * ys * K >= NNC_RT_PAR_MIN_WORK) {
        alt = 2;
        kbs = DKB_HALF;
    }
    j.p = p; j.v = v; j.dw = dw; j.db = db; j.alt = alt; j.kbs = kbs;
    if (!v->padded) {
        j.x = x; j.dy = dy; j.xs = xs; j.ys = ys; j.n = n;
        nnc_rt_par_for((K + kbs - 1) / kbs, 1, (double)n * ys * K, direct_filter_batch, &j);
        return;
    }
    for (s = 0; s < n; s++) {
        j.xv = direct_sample(p, v, scratch, x + s * xs);
        j.dy = dy + s * ys;
        j.accumulate = s > 0;
        nnc_rt_par_for((K + kbs - 1) / kbs, 1, (double)ys * K, direct_filter_taps, &j);
    }
}

/* y = act(conv(x, w) + b) for groups == 1, when the windows' view of a
 * sample fits (nnc_rt_conv2d_direct_plan) */
NNC_RT_CONV2D_FORWARD_KERNEL(CONV_DIRECT)
{
    direct_view v;
    if (!nnc_rt_conv2d_direct_plan(p, &v))
        return 0;
    direct_forward(p, &v, y, x, w, b, scratch, n, act, 0, NULL);
    return 1;
}

/* the same with w in panels (nnc_rt_gemm_pack_b of the (K, oc) kernel) */
NNC_RT_CONV2D_FORWARD_KERNEL(CONV_DIRECT_PACKED)
{
    direct_view v;
    if (!nnc_rt_conv2d_direct_plan(p, &v))
        return 0;
    direct_forward(p, &v, y, x, w, b, scratch, n, act, 1, NULL);
    return 1;
}

/* y = act(conv(x, w) + b + r), w plain or (panels) in panels: the residual
 * r (y's shape, not y itself) is where the first chunk of taps starts */
NNC_RT_CONV2D_RESIDUAL_KERNEL(CONV_DIRECT_RESIDUAL)
{
    direct_view v;
    if (!nnc_rt_conv2d_direct_plan(p, &v))
        return 0;
    direct_forward(p, &v, y, x, w, b, scratch, n, act, panels, r);
    return 1;
}

/* dw = sum over the batch of the taps' products with dy, as above */
NNC_RT_CONV2D_FILTER_KERNEL(CONV_DIRECT_FILTER)
{
    direct_view v;
    if (!nnc_rt_conv2d_direct_plan(p, &v))
        return 0;
    if (n <= 0)
        zero_floats(dw, (long)v.K * p->oc);
    direct_filter(p, &v, dw, NULL, dy, x, scratch, n);
    return 1;
}

/* the same and db = the sums of dy's channels over the batch's pixels */
NNC_RT_CONV2D_FILTER_BIAS_KERNEL(CONV_DIRECT_FILTER_BIAS)
{
    direct_view v;
    if (!nnc_rt_conv2d_direct_plan(p, &v))
        return 0;
    if (n <= 0) {
        zero_floats(dw, (long)v.K * p->oc);
        zero_floats(db, p->oc);
    }
    direct_filter(p, &v, dw, db, dy, x, scratch, n);
    return 1;
}
