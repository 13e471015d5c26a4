/* conv_winograd.h — 3x3 stride-1 convolutions by Winograd's minimal
 * filtering F(2x2, 3x3), written once in conv_simd.h's vector operations
 * after conv_direct.h (whose register-blocked forward kernel does the
 * products) and included by each ISA's file, which names the kernel
 * CONV_WINOGRAD for its tile and ISA.  Included once per translation unit:
 * no include guard.
 *
 * For groups == 1, kh = kw = 3, stride and dilation 1, any padding: the
 * output goes in 2x2 tiles, each read from the 4x4 input patch d at rows
 * 2*ty - pt .. +3 and columns 2*tx - pl .. +3 (0 outside the input):
 *   U[xi][i][o] = (G g[i, o] G^T)[xi]          g = the 3x3 kernel of (i, o)
 *   V[xi][t][i] = (B^T d[t, i] B)[xi]          xi = one of the 16 cells
 *   M[xi][t][o] = sum_i V[xi][t][i] U[xi][i][o]   (16 products of matrices)
 *   y[tile t, o] = act(b[o] + r + A^T M[.][t][o] A)
 * with  B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
 *       G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
 *       A^T = [1 1 1 0; 0 1 -1 -1].
 * The 16 products take 16*c*oc multiply-adds per tile of 4 outputs where
 * the direct kernel takes 36*c*oc: 2.25x fewer, for transforms that are
 * additions only (per tile: 32 additions per input channel in, 24 per
 * output channel out).  The rounding stays close to the direct sum's: the
 * transforms multiply by 1, -1 and 1/2 only (F(4x4, 3x3), with 2.25x more
 * saved again, multiplies by up to 8 and loses about three more digits).
 *
 * Design.  U is computed on every call from the (K, oc) kernel, plain or in
 * panels, into the scratch: 16*c*oc floats, a few microseconds against the
 * milliseconds of the products (nnc's packing of constant kernels does not
 * know this layout).  The tiles go in blocks of T whose V and M (16*T*(c +
 * oc) floats) stay in L2 while the 16 products run; each thread has its own
 * block buffers after U in the scratch.  A product is the direct forward
 * kernel with one run of c taps: V's rows are its pixels, U[xi]'s block of
 * 2*VW output channels (stored side by side, tap after tap) its weights.
 * The kernel declines (returns 0) unless c is a multiple of VW, oc of
 * 2*VW and of NNC_RT_GEMM_PANEL (full panels), and U plus a block of at
 * least DP tiles per thread fit in NNC_RT_CONV2D_SCRATCH: the im2col room
 * has them for ResNet-18's 56x56 and 28x28 layers, NNC_RT_CONV2D_WINOGRAD_ROOM
 * adds them for its 14x14 ones; not for 7x7x512, where U (16 MiB) would be
 * rebuilt, from 9 MiB of weights read from memory anyway, for 16 tiles. */

#define WINO_BLOCK_FLOATS 65536 /* V and M of one block of tiles: 256 KiB, half of L2 */
/* ... but at least this many tiles, each block reading all of U once (at
 * 14x14x256, U is 4 MiB: read from L3 for every 8 tiles it would cost
 * more than the products) */
#define WINO_MIN_TILES 32
/* U[xi], V[xi] and M[xi] lie WINO_SKEW floats past a multiple of their
 * size: a power of two apart (8 KiB, 256 KiB), the 16 cells of one patch
 * fell into one set of L1 (12 ways), and the transforms, which touch all
 * 16 at once, ran 3x slower */
#define WINO_SKEW 16

typedef struct wino_kernel_job {
    float *u;
    const float *w;
    int panels, c, oc;
} wino_kernel_job;

/* U[xi][ob][i][0 : 2*VW] (U[xi] c*oc + WINO_SKEW floats apart) for the
 * output-channel blocks ob in [ba, bb) of 2*VW, from w (plain (K, oc), or
 * in panels of NNC_RT_GEMM_PANEL when panels) */
static void wino_kernel(void *ctx, long ba, long bb)
{
    const wino_kernel_job *jk = ctx;
    const int c = jk->c, oc = jk->oc, panels = jk->panels;
    const float *w = jk->w;
    float *u = jk->u;
    const long K = 9L * c, ustr = (long)c * oc + WINO_SKEW;
    const vec half = V_SET(0.5f);
    int i, o, ky, kx;
    for (o = (int)ba * 2 * VW; o < (int)bb * 2 * VW; o += VW) /* U's 16 streams written in order */
        for (i = 0; i < c; i++) {
            vec g[3][3], h[4][3], q[4][4];
            int a, s;
            for (ky = 0; ky < 3; ky++)
                for (kx = 0; kx < 3; kx++) {
                    long t = (long)(ky * 3 + kx) * c + i;
                    g[ky][kx] = V_LOAD(panels ? w + (long)(o / NNC_RT_GEMM_PANEL) * NNC_RT_GEMM_PANEL * K +
                                                    t * NNC_RT_GEMM_PANEL + o % NNC_RT_GEMM_PANEL
                                              : w + t * oc + o);
                }
            for (kx = 0; kx < 3; kx++) { /* G g: along the kernel's rows */
                vec e = V_ADD(g[0][kx], g[2][kx]);
                h[0][kx] = g[0][kx];
                h[1][kx] = V_MUL(half, V_ADD(e, g[1][kx]));
                h[2][kx] = V_MUL(half, V_SUB(e, g[1][kx]));
                h[3][kx] = g[2][kx];
            }
            for (a = 0; a < 4; a++) { /* (G g) G^T: along its columns */
                vec e = V_ADD(h[a][0], h[a][2]);
                q[a][0] = h[a][0];
                q[a][1] = V_MUL(half, V_ADD(e, h[a][1]));
                q[a][2] = V_MUL(half, V_SUB(e, h[a][1]));
                q[a][3] = h[a][2];
            }
            for (a = 0; a < 4; a++)
                for (s = 0; s < 4; s++)
                    V_STORE(u + (a * 4 + s) * ustr + ((long)(o / (2 * VW)) * c + i) * 2 * VW + o % (2 * VW),
                            q[a][s]);
        }
}

/* V[xi][tl][0 : c] (V[xi] vstr floats apart) for the tiles [t0, t0 + nt)
 * of one sample xs (tiles numbered row by row, tw a row) */
static void wino_input(const nnc_rt_conv2d *p, float *vb, long vstr, const float *xs, long t0, int nt,
                       int tw)
{
    const int c = p->c, h = p->h, w = p->w;
    int tl, c0, r, s;
    for (tl = 0; tl < nt; tl++) {
        const int ty = (int)((t0 + tl) / tw), tx = (int)((t0 + tl) % tw);
        const int iy0 = 2 * ty - p->pt, ix0 = 2 * tx - p->pl;
        const int inside = iy0 >= 0 && ix0 >= 0 && iy0 + 3 < h && ix0 + 3 < w;
        for (c0 = 0; c0 < c; c0 += VW) {
            vec e[4][4]; /* d B, a row of the patch at a time (few registers live) */
            float *v = vb + (long)tl * c + c0;
            UNROLL for (r = 0; r < 4; r++) {
                vec d[4];
                const int iy = iy0 + r;
                UNROLL for (s = 0; s < 4; s++) {
                    const int ix = ix0 + s;
                    d[s] = inside || (iy >= 0 && iy < h && ix >= 0 && ix < w)
                               ? V_LOAD(xs + ((long)iy * w + ix) * c + c0) : V_ZERO();
                }
                e[r][0] = V_SUB(d[0], d[2]);
                e[r][1] = V_ADD(d[1], d[2]);
                e[r][2] = V_SUB(d[2], d[1]);
                e[r][3] = V_SUB(d[1], d[3]);
            }
            UNROLL for (s = 0; s < 4; s++) { /* B^T (d B): cell (r, s) at V[r*4 + s] */
                V_STORE(v + (long)s * vstr, V_SUB(e[0][s], e[2][s]));
                V_STORE(v + (long)(4 + s) * vstr, V_ADD(e[1][s], e[2][s]));
                V_STORE(v + (long)(8 + s) * vstr, V_SUB(e[2][s], e[1][s]));
                V_STORE(v + (long)(12 + s) * vstr, V_SUB(e[1][s], e[3][s]));
            }
        }
    }
}

/* y (one sample) at the tiles [t0, t0 + nt) = A^T M A (M[xi] mstr floats
 * apart) plus the bias and the
 * residual rs (y's layout), clamped (relu, relu6) when clamp */
static void wino_output(const nnc_rt_conv2d *p, float *ys, const float *mb, long mstr, const float *b,
                        const float *rs, int clamp, long t0, int nt, int tw)
{
    const int oc = p->oc;
    int tl, o, r, s, i, j;
    for (tl = 0; tl < nt; tl++) {
        const int ty = (int)((t0 + tl) / tw), tx = (int)((t0 + tl) % tw);
        const int ni = imin(2, p->oh - 2 * ty), nj = imin(2, p->ow - 2 * tx);
        for (o = 0; o < oc; o += VW) {
            vec a[2][4], out[2][2], bias = b ? V_LOAD(b + o) : V_ZERO();
            for (s = 0; s < 4; s++) { /* A^T M */
                const float *m = mb + s * mstr + (long)tl * oc + o;
                vec m0 = V_LOAD(m), m1 = V_LOAD(m + 4 * mstr), m2 = V_LOAD(m + 8 * mstr),
                    m3 = V_LOAD(m + 12 * mstr);
                a[0][s] = V_ADD(V_ADD(m0, m1), m2);
                a[1][s] = V_SUB(V_SUB(m1, m2), m3);
            }
            for (r = 0; r < 2; r++) { /* (A^T M) A */
                out[r][0] = V_ADD(V_ADD(a[r][0], a[r][1]), a[r][2]);
                out[r][1] = V_SUB(V_SUB(a[r][1], a[r][2]), a[r][3]);
            }
            for (i = 0; i < ni; i++)
                for (j = 0; j < nj; j++) {
                    const long q = ((long)(2 * ty + i) * p->ow + 2 * tx + j) * oc + o;
                    vec v = V_ADD(bias, out[i][j]);
                    if (rs)
                        v = V_ADD(v, V_LOAD(rs + q));
                    if (clamp)
                        v = V_CLAMP(v, clamp);
                    V_STORE(ys + q, v);
                }
        }
    }
}

typedef struct wino_job {
    const nnc_rt_conv2d *p;
    const float *u, *xs, *b, *rs;
    float *ys, *buf;    /* buf: the threads' block buffers, `per` floats each */
    long per, T, tiles;
    int tw, clamp, nslots;
} wino_job;

/* the blocks slot, slot + nslots, ... of one sample, in slot's buffers */
static void wino_slots(void *ctx, long sa, long sb)
{
    const wino_job *j = ctx;
    const nnc_rt_conv2d *p = j->p;
    const int c = p->c, oc = p->oc, nob = oc / (2 * VW);
    const long T = j->T, vstr = T * c + WINO_SKEW, mstr = T * oc + WINO_SKEW;
    const float *xq[DP];
    long slot, t0;
    for (slot = sa; slot < sb; slot++) {
        float *vb = j->buf + slot * j->per, *mb = vb + 16 * vstr;
        for (t0 = slot * T; t0 < j->tiles; t0 += j->nslots * T) {
            const int nt = (int)(j->tiles - t0 < T ? j->tiles - t0 : T);
            int xi, ob, q0, i;
            const long roff0 = 0;
            wino_input(p, vb, vstr, j->xs, t0, nt, j->tw);
            for (xi = 0; xi < 16; xi++)
                for (ob = 0; ob < nob; ob++) {
                    const float *uw = j->u + xi * ((long)c * oc + WINO_SKEW) + (long)ob * c * 2 * VW;
                    for (q0 = 0; q0 < nt; q0 += DP) {
                        const int np = imin(DP, nt - q0);
                        for (i = 0; i < DP; i++) /* past np, the last row again */
                            xq[i] = vb + xi * vstr + (long)(q0 + imin(i, np - 1)) * c;
                        direct_forwards[0][0](xq, &roff0, 1, 0, c, uw, 0, 2 * VW, lanes(VW), NULL, 0,
                                              mb + xi * mstr + (long)q0 * oc + ob * 2 * VW, oc, np, 0,
                                              NULL);
                    }
                }
            wino_output(p, j->ys, mb, mstr, j->b, j->rs, j->clamp, t0, nt, j->tw);
        }
    }
}

/* y = act(conv(x, w) + b (+ r)) by F(2x2, 3x3), as above; 0 when p is not
 * one it takes */
NNC_RT_CONV2D_RESIDUAL_KERNEL(CONV_WINOGRAD)
{
    const int c = p->c, oc = p->oc, tw = (p->ow + 1) / 2, th = (p->oh + 1) / 2;
    const long tiles = (long)tw * th, pix = (long)p->oh * p->ow, xs = (long)p->h * p->w * c;
    const int nslots = nnc_rt_par_threads();
    const long ufloats = 16 * ((long)c * oc + WINO_SKEW);
    const long room = NNC_RT_CONV2D_SCRATCH(p) - ufloats; /* for the block buffers */
    long T = imax(WINO_BLOCK_FLOATS / (16 * (c + oc)), WINO_MIN_TILES), per;
    int s;
    wino_job j;
    wino_kernel_job jk;
    if (p->groups != 1 || p->kh != 3 || p->kw != 3 || p->sh != 1 || p->sw != 1 || p->dh != 1 ||
        p->dw != 1 || c % VW || oc % (2 * VW) || oc % NNC_RT_GEMM_PANEL || p->oh < 1 || p->ow < 1)
        return 0;
    /* T tiles a block: whole tiles of the product kernel, no more than a
     * thread's share of the sample, and as many as the scratch holds for
     * every thread */
    if (T > ((tiles + nslots - 1) / nslots + DP - 1) / DP * DP)
        T = ((tiles + nslots - 1) / nslots + DP - 1) / DP * DP;
    if (room > 0 && T > (room / nslots - 32 * WINO_SKEW) / (16L * (c + oc)))
        T = (room / nslots - 32 * WINO_SKEW) / (16L * (c + oc));
    T = T / DP * DP;
    if (room <= 0 || T < DP)
        return 0;
    if (n <= 0 || !y) /* (nnc_rt_conv2d_winograd asks whether p is taken) */
        return 1;
    per = 16 * (T * (c + oc) + 2 * WINO_SKEW);
    jk.u = scratch; jk.w = w; jk.panels = panels; jk.c = c; jk.oc = oc;
    nnc_rt_par_for(oc / (2 * VW), 1, 16.0 * c * oc, wino_kernel, &jk);
    j.p = p; j.u = scratch; j.b = b; j.buf = scratch + ufloats; j.per = per; j.T = T;
    j.tiles = tiles; j.tw = tw; j.clamp = nnc_rt_act_clamp(act); j.nslots = nslots;
    for (s = 0; s < n; s++) {
        j.xs = x + s * xs;
        j.ys = y + s * pix * oc;
        j.rs = r ? r + s * pix * oc : NULL;
        nnc_rt_par_for(nslots, 1, (double)pix * oc * c * 4, wino_slots, &j);
        if (act != NNC_RT_ACT_LINEAR && !j.clamp)
            nnc_rt_act_forward(act, j.ys, j.ys, (int)pix, oc);
    }
    return 1;
}
