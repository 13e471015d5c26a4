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
            nnc_rt_conv2d_epilogue(y + s * ys, (long)p->oh * p->ow, c, NULL, act);
    }
}
