/* conv_depthwise_simd.h — the depthwise convolution's SIMD kernels
 * (multiplier 1): the forward a row at a time, DP pixels x one channel
 * vector in registers, and the 3x3 filter gradient a row at a time with the
 * nine sums in registers; written in conv_simd.h's vector operations and
 * included, before conv_depthwise.h (the walk that calls them), by each
 * ISA's file.  Included once per translation unit: no include guard.
 */
#define DEPTHWISE_SIMD 1

/* Depthwise (see conv_depthwise.h), m == 1, along one output row: the npix
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

/* A whole output row of a 3-wide kernel at stride S (1 or 2) and
 * dilation 1, P pixels a tile: the three weights of a kernel row in
 * registers, then each input column the tile reads loaded once and added,
 * times its weight, to every pixel whose window has it (where
 * depthwise_row loads it again for each tap): P + 4 registers, so P sums
 * in flight.  Each sum still adds its taps kernel row by kernel row, left
 * to right, so the bits are depthwise_row's.  A tile does all the channels
 * before the next one.  Tiles that reach into the left or right padding (or
 * past the row) take the same code with those columns zero and the pixels
 * past the row not stored, so no pixel goes the slow way of
 * depthwise_pixel; zero taps add exact zeros.  xr is the row's first valid
 * kernel row at input column 0; output pixel t's window starts at column
 * ix0 + t*S. */
#define DEPTHWISE_ROW3(name, S, P)                                                       \
static NOINLINE void name(const float *xr, int wid, int ix0, int ow, long rs, int nky,   \
                          const float *w, long wrs, long wcs, const float *b, int c,     \
                          float *y, int clamp)                                           \
{                                                                                        \
    int c0, t0;                                                                          \
    for (t0 = 0; t0 < ow; t0 += P) {                                                     \
        const int ixt = ix0 + t0 * S;                                                    \
        if (ixt >= 0 && ixt + S * (P - 1) + 2 < wid && t0 + P <= ow) {                   \
            for (c0 = 0; c0 + VW <= c; c0 += VW)                                         \
                DEPTHWISE_TILE3(S, P, 0, V_LOAD(b + c0), V_LOAD(X), V_STORE(Y, A));      \
            if (c0 < c) {                                                                \
                const vmask m = lanes(c - c0);                                           \
                DEPTHWISE_TILE3(S, P, 0, V_LOADM(b + c0, m), V_LOADM(X, m),              \
                                V_STOREM(Y, m, A));                                      \
            }                                                                            \
        } else {                                                                         \
            for (c0 = 0; c0 + VW <= c; c0 += VW)                                         \
                DEPTHWISE_TILE3(S, P, 1, V_LOAD(b + c0), V_LOAD(X), V_STORE(Y, A));      \
            if (c0 < c) {                                                                \
                const vmask m = lanes(c - c0);                                           \
                DEPTHWISE_TILE3(S, P, 1, V_LOADM(b + c0, m), V_LOADM(X, m),              \
                                V_STOREM(Y, m, A));                                      \
            }                                                                            \
        }                                                                                \
    }                                                                                    \
}
/* pixels [t0, t0 + P) (those before ow when EDGE), channels [c0, c0 + VW):
 * input column j of the tile is tap kx of pixel (j - kx)/S; V_PIN keeps
 * it one load, where gcc would fold it into each of its FMAs */
#define DEPTHWISE_TILE3(S, P, EDGE, LOADB, LOADX, STORE)                                 \
    do {                                                                                 \
        const float *X;                                                                  \
        vec acc[P], wv[3], xj;                                                           \
        int i, j, ky, kx;                                                                \
        if (b) {                                                                         \
            acc[0] = LOADB;                                                              \
        } else                                                                           \
            acc[0] = V_ZERO();                                                           \
        UNROLL for (i = 1; i < P; i++)                                                   \
            acc[i] = acc[0];                                                             \
        for (ky = 0; ky < nky; ky++) {                                                   \
            UNROLL for (kx = 0; kx < 3; kx++) {                                          \
                X = w + ky * wrs + kx * wcs + c0;                                        \
                wv[kx] = LOADX;                                                          \
            }                                                                            \
            UNROLL for (j = 0; j < S * (P - 1) + 3; j++) {                               \
                if (EDGE && (ixt + j < 0 || ixt + j >= wid)) {                           \
                    xj = V_ZERO();                                                       \
                } else {                                                                 \
                    X = xr + ky * rs + (long)(ixt + j) * c + c0;                         \
                    xj = LOADX;                                                          \
                }                                                                        \
                V_PIN(xj);                                                               \
                UNROLL for (kx = 0; kx < 3; kx++)                                        \
                    if (j >= kx && (j - kx) % S == 0 && (j - kx) / S < P)                \
                        acc[(j - kx) / S] = V_FMA(xj, wv[kx], acc[(j - kx) / S]);        \
            }                                                                            \
        }                                                                                \
        UNROLL for (i = 0; i < P; i++)                                                   \
            if (!EDGE || t0 + i < ow) {                                                  \
                float *Y = y + (long)(t0 + i) * c + c0;                                  \
                vec A = clamp ? V_CLAMP(acc[i], clamp) : acc[i];                         \
                STORE;                                                                   \
            }                                                                            \
    } while (0)
DEPTHWISE_ROW3(depthwise_row3_s1p4, 1, 4)
DEPTHWISE_ROW3(depthwise_row3_s1p5, 1, 5)
DEPTHWISE_ROW3(depthwise_row3_s1p6, 1, 6)
DEPTHWISE_ROW3(depthwise_row3_s2p4, 2, 4)
DEPTHWISE_ROW3(depthwise_row3_s2p7, 2, 7)
typedef void (*depthwise_row3_fn)(const float *, int, int, int, long, int, const float *, long,
                                  long, const float *, int, float *, int);

/* The row kernel for p (3 wide, dilation 1, stride 1 or 2), or NULL: the
 * tile that wastes the least on the row's last, partial tile, a tile
 * costing about its P + 2 input columns.  Stride 1 takes up to 6 pixels
 * (at 7, gcc spills a weight: 112x112x32 1.15x slower on Zen 3), stride 2
 * 7, which cuts MobileNetV2's rows (56, 28, 14, 7) exactly.  Measured on
 * AVX2 (Zen 3) only: the AVX-512 build keeps depthwise_row until someone
 * times this there. */
static depthwise_row3_fn depthwise_row3_for(const nnc_rt_conv2d *p)
{
    static const struct { int P; depthwise_row3_fn f[2]; } tiles[] = {
        {4, {depthwise_row3_s1p4, depthwise_row3_s2p4}}, {5, {depthwise_row3_s1p5, NULL}},
        {6, {depthwise_row3_s1p6, NULL}}, {7, {NULL, depthwise_row3_s2p7}}};
    depthwise_row3_fn best = NULL;
    long cost = 0;
    unsigned k;
    if (VW != 8 || p->kw != 3 || p->dw != 1 || p->sw > 2)
        return NULL;
    for (k = 0; k < sizeof tiles / sizeof tiles[0]; k++) {
        const int P = tiles[k].P;
        const long c = (long)(p->ow + P - 1) / P * (P + 2);
        if (tiles[k].f[p->sw - 1] && (!best || c < cost)) {
            best = tiles[k].f[p->sw - 1];
            cost = c;
        }
    }
    return best;
}

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
/* out[0:c] += a[0:c] * b[0:c]: the depthwise backward kernels' step,
 * spelled out: the
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

/* The depthwise forward for m == 1 with the SIMD row kernels: the interior
 * of each output row in one call, the clipped edge pixels one by one.  The
 * weight of tap (ky, kx) is at w + ky*wrs + kx*wcs (the Keras layout, or
 * backward_data's flipped one: see CONV_DEPTHWISE_DATA in conv_depthwise.h). */
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
    const depthwise_row3_fn row3 = depthwise_row3_for(p);
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
            if (row3 && ky_lo < ky_hi) {
                row3(xs0 + (xr + (long)p->pl * c), p->w, -p->pl, p->ow, rs, ky_hi - ky_lo, wr, wrs,
                     wcs, b, c, yr, clamp);
                continue;
            }
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
            nnc_rt_conv2d_epilogue(y + s * ys, (long)p->oh * p->ow, c, NULL, act);
    }
}
