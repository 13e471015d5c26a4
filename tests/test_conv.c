/* test_conv.c — unit tests for the convolution, pooling, batch-norm,
 * dropout and concat kernels of the runtime (runtime/conv.c, pool.c,
 * norm.c, tensor.c).
 *
 * Every kernel is checked against a plain-C reference written here in the
 * most literal form (direct convolution loops accumulated in double, windows
 * scanned cell by cell) on a table of settings that reaches every path of
 * the fast code: im2col runs clipped on either side, the pointwise and
 * depthwise shortcuts, groups, dilation, strides, asymmetric padding, conv1d,
 * sizes that are not multiples of the GEMM tiles.  Backward kernels are
 * checked twice: against the reference adjoint loops and against central
 * finite differences of their forward kernel on L = sum(y * r) for a fixed
 * random r.  Outputs are pre-filled with NaN (every kernel overwrites) and
 * scratch buffers are exactly NNC_RT_CONV2D_SCRATCH floats followed by guard
 * values that must survive.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nnc_rt.h"

/* ---- helpers ------------------------------------------------------------------ */

static void fill_uniform(float *x, long n, nnc_rt_rng *r, float lo, float hi)
{
    long i;
    for (i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * nnc_rt_rng_uniform(r);
}

static void fill_nan(float *x, long n)
{
    long i;
    for (i = 0; i < n; i++)
        x[i] = NAN;
}

static int near(double got, double want, double atol, double rtol)
{
    return fabs(got - want) <= atol + rtol * fabs(want);
}

#define ck_near(got, want, atol, rtol) \
    ck_assert_msg(near((got), (want), (atol), (rtol)), "%s = %.9g, want %.9g", #got, \
                  (double)(got), (double)(want))

static float *falloc(long n)
{
    float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    ck_assert_ptr_nonnull(p);
    return p;
}

static double *dalloc(long n)
{
    double *p = calloc((size_t)(n > 0 ? n : 1), sizeof(double));
    ck_assert_ptr_nonnull(p);
    return p;
}

/* index of the first got[i] not within tolerance of want[i], or n */
static long first_bad(const float *got, const double *want, long n, double atol, double rtol)
{
    long i;
    for (i = 0; i < n; i++)
        if (!near(got[i], want[i], atol, rtol))
            break;
    return i;
}

#define GUARD 16
#define GUARD_VALUE 12345.0f

static float *guarded(long n) /* n floats, NaN, then GUARD sentinels */
{
    float *p = falloc(n + GUARD);
    long i;
    fill_nan(p, n);
    for (i = 0; i < GUARD; i++)
        p[n + i] = GUARD_VALUE;
    return p;
}

static int guard_ok(const float *p, long n)
{
    long i;
    for (i = 0; i < GUARD; i++)
        if (p[n + i] != GUARD_VALUE)
            return 0;
    return 1;
}

/* ---- convolution: the table ------------------------------------------------------ */

typedef struct conv_case {
    const char *name;
    int n, h, w, c, oc, kh, kw, sh, sw, dh, dw, pt, pb, pl, pr, groups;
} conv_case;

static const conv_case conv_cases[] = {
    /* name              n  h   w   c  oc kh kw sh sw dh dw pt pb pl pr g */
    {"3x3 same",         1, 5,  6,  3, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"3x3 valid s2 n3",  3, 7,  9,  2, 5, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 1},
    {"keras same s2",    2, 8,  8,  3, 4, 3, 3, 2, 2, 1, 1, 0, 1, 0, 1, 1},
    {"asym pad 3x2",     1, 6,  5,  3, 2, 3, 2, 1, 1, 1, 1, 2, 0, 1, 2, 1},
    {"dilation 2",       2, 9,  7,  2, 3, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1},
    {"dil 2x1 k2x3",     1, 7,  8,  3, 5, 2, 3, 1, 2, 2, 1, 1, 0, 1, 1, 1},
    {"groups 2",         2, 6,  5,  4, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2},
    {"groups 2 s2 d2",   3, 9,  9,  6, 4, 3, 3, 2, 2, 2, 2, 2, 1, 1, 2, 2},
    {"groups 3 k1x3",    1, 4,  7,  6, 9, 1, 3, 1, 1, 1, 1, 0, 0, 1, 1, 3},
    {"depthwise",        2, 6,  7,  3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3},
    {"depthwise x2 s2",  3, 7,  6,  3, 6, 3, 3, 2, 2, 1, 1, 1, 1, 0, 1, 3},
    {"depthwise d2 5x3", 1, 9,  8,  4, 8, 5, 3, 1, 1, 2, 1, 4, 4, 1, 1, 4},
    {"depthwise c21",    2, 5, 12, 21, 21, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 21},
    {"depthwise c16 s2", 1, 6, 15, 16, 16, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1, 16},
    {"pointwise",        3, 5,  4,  5, 7, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1},
    {"pointwise g2",     2, 3,  5,  6, 4, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 2},
    {"1x1 stride 2",     2, 7,  6,  4, 3, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1},
    {"1x1 padded",       1, 3,  4,  2, 3, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1},
    {"conv1d",           3, 1, 11,  4, 3, 1, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1},
    {"conv1d s2 d2",     2, 1, 13,  3, 5, 1, 3, 1, 2, 1, 2, 0, 0, 2, 1, 1},
    {"c=1 first layer",  2, 7,  7,  1, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"wide 17->33",      2, 12, 11, 17, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"k5x1",             1, 8,  5,  3, 4, 5, 1, 1, 1, 1, 1, 2, 2, 0, 0, 1},
    {"pad > kernel",     1, 4,  5,  2, 3, 2, 2, 1, 1, 1, 1, 3, 2, 3, 1, 1},
    {"1x1 input same",   3, 1,  1,  3, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"g2 og 32",         1, 5,  6,  8, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2},
    {"16->16 same",      2, 10, 9, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"28x28 16->16",     1, 28, 28, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"24x24 32->8",      1, 24, 24, 32, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"wide 8->64",       2, 6,  7,  8, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"g2 og 64 s2",      1, 7,  8,  4, 128, 3, 2, 2, 1, 1, 1, 1, 1, 0, 1, 2},
    /* the direct kernels (groups == 1): oc around the vector widths (8, 16,
     * 32), c = 1, 3, 5, 17, 33, tiles of pixels cut short, tap chunks, the
     * chunk's weights copied out (oc > 32) */
    {"seed cnn layer 1", 2, 28, 28, 1, 32, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1},
    {"rgb 3->17 same",   2, 9, 10,  3, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"c5 oc1 s2",        2, 9,  8,  5, 1, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
    {"c1 oc15 5x5 same", 1, 9,  9,  1, 15, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 1},
    {"c3 oc31 valid",    1, 6,  7,  3, 31, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1},
    {"c1 oc33 dil2",     2, 10, 9,  1, 33, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1},
    {"c17 oc48 s2",      1, 9,  9, 17, 48, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
    {"c33 oc65",         1, 5,  6, 33, 65, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"c1 oc16 7 pixels", 2, 3,  9,  1, 16, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1},
    {"c2 oc8 8 pixels",  1, 3, 10,  2, 8, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1},
    {"c3 oc32 9 pixels", 1, 5,  5,  3, 32, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1},
    {"1 pixel out",      2, 3,  3,  2, 17, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1},
    {"c40 run chunks",   1, 8,  8, 40, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"c100 oc40 chunks", 1, 6,  5, 100, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, /* copied weights */
    {"c100 long runs",   1, 6,  8, 100, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"c100 dw2 taps",    1, 9,  9, 100, 7, 3, 3, 1, 1, 1, 2, 1, 1, 2, 2, 1},
    {"c300 one tap row", 1, 3,  9, 300, 5, 1, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1},
    {"stem 7x7 s2",      1, 20, 19, 3, 24, 7, 7, 2, 2, 1, 1, 3, 3, 3, 2, 1},
    {"1x1 s2 padded",    2, 7,  7,  4, 5, 1, 1, 2, 2, 1, 1, 1, 1, 1, 1, 1},
    {"pad > kernel c1",  1, 3,  4,  1, 9, 2, 2, 1, 1, 1, 1, 3, 2, 3, 1, 1},
    /* the depthwise row kernels (forward, and backward_data at stride 1 as
     * the flipped forward): channel vectors cut short, rows longer than a
     * tile, no interior at all, windows wholly in the padding, padding that
     * the flipped kernel cannot mirror (pad > kernel) */
    {"depthwise c33 w20", 2, 5, 20, 33, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 33},
    {"depthwise c17 5x5 s2", 1, 11, 13, 17, 17, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 17},
    {"depthwise narrow", 1, 4,  2,  5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 5},
    {"depthwise d2 c16", 1, 8, 12, 16, 16, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 16},
    {"depthwise pad > k", 2, 3, 3,  4, 4, 2, 2, 1, 1, 1, 1, 3, 2, 3, 1, 4},
    {"depthwise asym pad", 2, 6, 7, 18, 18, 3, 3, 1, 1, 1, 1, 0, 2, 2, 0, 18},
    {"depthwise valid",  1, 6,  9, 24, 24, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 24},
    {"depthwise 2x2 same", 1, 5, 6, 40, 40, 2, 2, 1, 1, 1, 1, 0, 1, 0, 1, 40},
    {"c1 oc1 same",      1, 6,  7,  1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
};
#define NCONV ((int)(sizeof conv_cases / sizeof conv_cases[0]))

static nnc_rt_conv2d conv_params(const conv_case *k)
{
    nnc_rt_conv2d p;
    p.h = k->h; p.w = k->w; p.c = k->c; p.oc = k->oc;
    p.kh = k->kh; p.kw = k->kw; p.sh = k->sh; p.sw = k->sw; p.dh = k->dh; p.dw = k->dw;
    p.pt = k->pt; p.pl = k->pl; p.groups = k->groups;
    p.oh = (k->h + k->pt + k->pb - k->dh * (k->kh - 1) - 1) / k->sh + 1;
    p.ow = (k->w + k->pl + k->pr - k->dw * (k->kw - 1) - 1) / k->sw + 1;
    return p;
}

static long xsize(const nnc_rt_conv2d *p, int n) { return (long)n * p->h * p->w * p->c; }
static long ysize(const nnc_rt_conv2d *p, int n) { return (long)n * p->oh * p->ow * p->oc; }
static long wsize(const nnc_rt_conv2d *p) { return (long)p->kh * p->kw * (p->c / p->groups) * p->oc; }

/* Visits every (x index, w index, y index) triple that contributes
 * x[xi] * w[wi] to y[yi] in the literal definition of grouped convolution. */
#define FOR_EACH_TAP(p, n, BODY)                                                           \
    do {                                                                                   \
        int cg_ = (p)->c / (p)->groups, og_ = (p)->oc / (p)->groups;                       \
        int s_, oy_, ox_, o_, ky_, kx_, i_;                                                \
        for (s_ = 0; s_ < (n); s_++)                                                       \
            for (oy_ = 0; oy_ < (p)->oh; oy_++)                                            \
                for (ox_ = 0; ox_ < (p)->ow; ox_++)                                        \
                    for (o_ = 0; o_ < (p)->oc; o_++)                                       \
                        for (ky_ = 0; ky_ < (p)->kh; ky_++)                                \
                            for (kx_ = 0; kx_ < (p)->kw; kx_++) {                          \
                                int iy_ = oy_ * (p)->sh - (p)->pt + ky_ * (p)->dh;         \
                                int ix_ = ox_ * (p)->sw - (p)->pl + kx_ * (p)->dw;         \
                                if (iy_ < 0 || iy_ >= (p)->h || ix_ < 0 || ix_ >= (p)->w)  \
                                    continue;                                              \
                                for (i_ = 0; i_ < cg_; i_++) {                             \
                                    long xi = (((long)s_ * (p)->h + iy_) * (p)->w + ix_) * \
                                                  (p)->c + (o_ / og_) * cg_ + i_;          \
                                    long wi = (((long)ky_ * (p)->kw + kx_) * cg_ + i_) *   \
                                                  (p)->oc + o_;                            \
                                    long yi = (((long)s_ * (p)->oh + oy_) * (p)->ow +      \
                                               ox_) * (p)->oc + o_;                        \
                                    BODY;                                                  \
                                }                                                          \
                            }                                                              \
    } while (0)

/* y = act(conv(x, w) + b), in double; softmax over the oc outputs of a pixel */
static void ref_act(double *y, long rows, int m, int act)
{
    long r;
    int j;
    for (r = 0; r < rows; r++) {
        double *yr = y + r * m, mx, s = 0.0;
        switch (act) {
        case NNC_RT_ACT_RELU:
            for (j = 0; j < m; j++)
                yr[j] = yr[j] > 0 ? yr[j] : 0;
            break;
        case NNC_RT_ACT_RELU6:
            for (j = 0; j < m; j++)
                yr[j] = yr[j] > 0 ? (yr[j] < 6 ? yr[j] : 6) : 0;
            break;
        case NNC_RT_ACT_SIGMOID:
            for (j = 0; j < m; j++)
                yr[j] = 1.0 / (1.0 + exp(-yr[j]));
            break;
        case NNC_RT_ACT_TANH:
            for (j = 0; j < m; j++)
                yr[j] = tanh(yr[j]);
            break;
        case NNC_RT_ACT_SOFTMAX:
            mx = yr[0];
            for (j = 1; j < m; j++)
                mx = yr[j] > mx ? yr[j] : mx;
            for (j = 0; j < m; j++)
                s += (yr[j] = exp(yr[j] - mx));
            for (j = 0; j < m; j++)
                yr[j] /= s;
            break;
        default:
            break;
        }
    }
}

static void conv_ref_forward(const nnc_rt_conv2d *p, double *y, const float *x, const float *w,
                             const float *b, int n, int act)
{
    long i, ny = ysize(p, n);
    for (i = 0; i < ny; i++)
        y[i] = b ? b[i % p->oc] : 0.0;
    FOR_EACH_TAP(p, n, y[yi] += (double)x[xi] * w[wi]);
    ref_act(y, ny / p->oc, p->oc, act);
}

/* the adjoint: dx[xi] += dy[yi] w[wi], dw[wi] += dy[yi] x[xi] */
static void conv_ref_backward(const nnc_rt_conv2d *p, double *dx, double *dw, const float *dy,
                              const float *x, const float *w, int n)
{
    memset(dx, 0, sizeof(double) * (size_t)xsize(p, n));
    memset(dw, 0, sizeof(double) * (size_t)wsize(p));
    FOR_EACH_TAP(p, n, { dx[xi] += (double)dy[yi] * w[wi]; dw[wi] += (double)dy[yi] * x[xi]; });
}

typedef struct conv_data {
    nnc_rt_conv2d p;
    int n;
    float *x, *w, *b, *r, *scratch;
    long nx, nw, ny, nscratch;
} conv_data;

static void conv_data_init(conv_data *d, const conv_case *k, uint64_t seed)
{
    nnc_rt_rng rng;
    d->p = conv_params(k);
    d->n = k->n;
    d->nx = xsize(&d->p, d->n);
    d->nw = wsize(&d->p);
    d->ny = ysize(&d->p, d->n);
    d->nscratch = NNC_RT_CONV2D_SCRATCH(&d->p);
    ck_assert_msg(d->p.oh > 0 && d->p.ow > 0, "%s: bad case", k->name);
    d->x = falloc(d->nx);
    d->w = falloc(d->nw);
    d->b = falloc(d->p.oc);
    d->r = falloc(d->ny);
    d->scratch = guarded(d->nscratch);
    nnc_rt_rng_seed(&rng, seed);
    fill_uniform(d->x, d->nx, &rng, -1, 1);
    fill_uniform(d->w, d->nw, &rng, -0.5f, 0.5f);
    fill_uniform(d->b, d->p.oc, &rng, -0.5f, 0.5f);
    fill_uniform(d->r, d->ny, &rng, -1, 1);
}

static void conv_data_free(conv_data *d)
{
    free(d->x); free(d->w); free(d->b); free(d->r); free(d->scratch);
}

START_TEST(test_conv_forward_reference)
{
    /* relu6 twice: the second with the bias moved up by 6, so that the
     * outputs straddle 6 */
    static const int acts[] = {NNC_RT_ACT_LINEAR, NNC_RT_ACT_RELU, NNC_RT_ACT_SIGMOID,
                               NNC_RT_ACT_TANH, NNC_RT_ACT_SOFTMAX, NNC_RT_ACT_RELU6,
                               NNC_RT_ACT_RELU6};
    int k, a, o;
    for (k = 0; k < NCONV; k++) {
        conv_data d;
        double *ref;
        float *y, *b6;
        conv_data_init(&d, &conv_cases[k], 100 + k);
        ref = dalloc(d.ny);
        y = guarded(d.ny);
        b6 = malloc(sizeof *b6 * d.p.oc);
        for (o = 0; o < d.p.oc; o++)
            b6[o] = d.b[o] + 6.0f;
        for (a = 0; a < 7; a++) {
            const float *b = a == 6 ? b6 : (a + k) % 2 ? NULL : d.b;
            long bad;
            fill_nan(y, d.ny);
            fill_nan(d.scratch, d.nscratch);
            conv_ref_forward(&d.p, ref, d.x, d.w, b, d.n, acts[a]);
            nnc_rt_conv2d_forward(&d.p, y, d.x, d.w, b, d.scratch, d.n, acts[a]);
            bad = first_bad(y, ref, d.ny, 1e-5, 1e-4);
            ck_assert_msg(bad == d.ny, "conv %s act %d bias %d: y[%ld] = %.7g, want %.7g",
                          conv_cases[k].name, acts[a], b != NULL, bad,
                          bad < d.ny ? y[bad] : 0.0, bad < d.ny ? ref[bad] : 0.0);
            ck_assert_msg(guard_ok(y, d.ny) && guard_ok(d.scratch, d.nscratch),
                          "conv %s: wrote past y or the scratch", conv_cases[k].name);
        }
        free(ref);
        free(y);
        free(b6);
        conv_data_free(&d);
    }
}
END_TEST

START_TEST(test_conv_backward_reference)
{
    int k;
    for (k = 0; k < NCONV; k++) {
        conv_data d;
        double *rdx, *rdw;
        float *dx, *dw;
        long bad;
        conv_data_init(&d, &conv_cases[k], 200 + k);
        rdx = dalloc(d.nx);
        rdw = dalloc(d.nw);
        dx = guarded(d.nx);
        dw = guarded(d.nw);
        conv_ref_backward(&d.p, rdx, rdw, d.r, d.x, d.w, d.n);
        fill_nan(d.scratch, d.nscratch);
        nnc_rt_conv2d_backward_data(&d.p, dx, d.r, d.w, d.scratch, d.n);
        bad = first_bad(dx, rdx, d.nx, 1e-5, 1e-4);
        ck_assert_msg(bad == d.nx, "conv %s: dx[%ld] = %.7g, want %.7g", conv_cases[k].name,
                      bad, bad < d.nx ? dx[bad] : 0.0, bad < d.nx ? rdx[bad] : 0.0);
        fill_nan(d.scratch, d.nscratch);
        nnc_rt_conv2d_backward_filter(&d.p, dw, d.r, d.x, d.scratch, d.n);
        bad = first_bad(dw, rdw, d.nw, 1e-5, 1e-4);
        ck_assert_msg(bad == d.nw, "conv %s: dw[%ld] = %.7g, want %.7g", conv_cases[k].name,
                      bad, bad < d.nw ? dw[bad] : 0.0, bad < d.nw ? rdw[bad] : 0.0);
        ck_assert_msg(guard_ok(dx, d.nx) && guard_ok(dw, d.nw) && guard_ok(d.scratch, d.nscratch),
                      "conv %s: wrote past dx, dw or the scratch", conv_cases[k].name);
        /* an empty batch: dw is overwritten with zeros, dx is not touched */
        fill_nan(dw, d.nw);
        nnc_rt_conv2d_backward_filter(&d.p, dw, d.r, d.x, d.scratch, 0);
        ck_assert_msg(dw[0] == 0.0f && dw[d.nw - 1] == 0.0f, "conv %s: n = 0 dw not zero",
                      conv_cases[k].name);
        free(rdx); free(rdw); free(dx); free(dw);
        conv_data_free(&d);
    }
}
END_TEST

/* L = sum r * conv(x, w) + b, linear activation: dL/dx and dL/dw */
static double conv_objective(conv_data *d, float *y)
{
    double s = 0.0;
    long i;
    nnc_rt_conv2d_forward(&d->p, y, d->x, d->w, d->b, d->scratch, d->n, NNC_RT_ACT_LINEAR);
    for (i = 0; i < d->ny; i++)
        s += (double)d->r[i] * y[i];
    return s;
}

/* central differences at (up to) 60 evenly spread elements of v */
static void conv_fd(conv_data *d, float *v, long nv, const float *analytic, float *y,
                    const char *what, const char *name)
{
    const double h = 5e-2;
    long step = nv / 60 + 1, i;
    for (i = 0; i < nv; i += step) {
        float save = v[i], vp, vm;
        double fp, fm, num;
        v[i] = (float)(save + h); vp = v[i];
        fp = conv_objective(d, y);
        v[i] = (float)(save - h); vm = v[i];
        fm = conv_objective(d, y);
        v[i] = save;
        num = (fp - fm) / ((double)vp - vm);
        ck_assert_msg(near(analytic[i], num, 1e-3, 1e-3), "conv %s: %s[%ld] = %.7g, numeric %.7g",
                      name, what, i, analytic[i], num);
    }
}

START_TEST(test_conv_backward_gradcheck)
{
    int k;
    for (k = 0; k < NCONV; k++) {
        conv_data d;
        float *dx, *dw, *y;
        conv_data_init(&d, &conv_cases[k], 300 + k);
        dx = falloc(d.nx);
        dw = falloc(d.nw);
        y = falloc(d.ny);
        nnc_rt_conv2d_backward_data(&d.p, dx, d.r, d.w, d.scratch, d.n);
        nnc_rt_conv2d_backward_filter(&d.p, dw, d.r, d.x, d.scratch, d.n);
        conv_fd(&d, d.x, d.nx, dx, y, "dx", conv_cases[k].name);
        conv_fd(&d, d.w, d.nw, dw, y, "dw", conv_cases[k].name);
        free(dx); free(dw); free(y);
        conv_data_free(&d);
    }
}
END_TEST

/* The pointwise shortcut treats the whole batch as one matrix and the
 * others work sample by sample: either way a batch must give each sample
 * the numbers a batch of one gives it (to rounding: the GEMM may block a
 * taller matrix differently). */
START_TEST(test_conv_batch_independent)
{
    int k;
    for (k = 0; k < NCONV; k++) {
        conv_data d;
        float *y, *y1;
        long per;
        int s;
        if (conv_cases[k].n == 1)
            continue;
        conv_data_init(&d, &conv_cases[k], 400 + k);
        y = falloc(d.ny);
        y1 = falloc(d.ny);
        per = d.ny / d.n;
        nnc_rt_conv2d_forward(&d.p, y, d.x, d.w, d.b, d.scratch, d.n, NNC_RT_ACT_RELU);
        for (s = 0; s < d.n; s++)
            nnc_rt_conv2d_forward(&d.p, y1 + s * per, d.x + s * (d.nx / d.n), d.w, d.b,
                                  d.scratch, 1, NNC_RT_ACT_RELU);
        for (s = 0; s < d.ny; s++)
            if (!near(y[s], y1[s], 1e-6, 1e-6))
                break;
        ck_assert_msg(s == d.ny, "conv %s: batch of %d differs from %d batches of 1 at %d",
                      conv_cases[k].name, d.n, d.n, s);
        free(y); free(y1);
        conv_data_free(&d);
    }
}
END_TEST

/* ---- pooling ------------------------------------------------------------------------ */

typedef struct pool_case {
    const char *name;
    int n, h, w, c, kh, kw, sh, sw, pt, pb, pl, pr;
} pool_case;

static const pool_case pool_cases[] = {
    /* name              n  h  w  c  kh kw sh sw pt pb pl pr */
    {"2x2 valid",        1, 6, 6, 3, 2, 2, 2, 2, 0, 0, 0, 0},
    {"3x3 s2 same odd",  2, 7, 7, 2, 3, 3, 2, 2, 1, 1, 1, 1},
    {"3x3 s2 same even", 3, 8, 6, 3, 3, 3, 2, 2, 0, 1, 0, 1},
    {"3x3 s1 same",      1, 5, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1},
    {"2x2 s2 same odd",  2, 5, 7, 3, 2, 2, 2, 2, 0, 1, 0, 1},
    {"global",           3, 5, 4, 5, 5, 4, 1, 1, 0, 0, 0, 0},
    {"2x3 s(1,2)",       1, 6, 9, 3, 2, 3, 1, 2, 0, 0, 0, 0},
    {"pool1d",           2, 1, 9, 3, 1, 2, 1, 2, 0, 0, 0, 1},
    {"overlap 3x3 s1",   1, 6, 5, 2, 3, 3, 1, 1, 0, 0, 0, 0},
    {"70 channels",      2, 4, 5, 70, 2, 2, 2, 2, 0, 0, 0, 1},
    {"odd valid 3x3 s2", 3, 9, 7, 1, 3, 3, 2, 2, 0, 0, 0, 0},
    {"pad > kernel",     1, 3, 3, 2, 1, 2, 1, 1, 1, 1, 2, 0},
};
#define NPOOL ((int)(sizeof pool_cases / sizeof pool_cases[0]))

static nnc_rt_pool2d pool_params(const pool_case *k)
{
    nnc_rt_pool2d p;
    p.h = k->h; p.w = k->w; p.c = k->c; p.kh = k->kh; p.kw = k->kw;
    p.sh = k->sh; p.sw = k->sw; p.pt = k->pt; p.pl = k->pl;
    p.oh = (k->h + k->pt + k->pb - k->kh) / k->sh + 1;
    p.ow = (k->w + k->pl + k->pr - k->kw) / k->sw + 1;
    return p;
}

/* the literal definitions: y, and the gradient of sum(dy * y) */
static void pool_ref(const nnc_rt_pool2d *p, int is_max, double *y, double *dx, const float *x,
                     const float *dy, int n)
{
    long nx = (long)n * p->h * p->w * p->c;
    int s, oy, ox, ch, ky, kx;
    memset(dx, 0, sizeof(double) * (size_t)nx);
    for (s = 0; s < n; s++)
        for (oy = 0; oy < p->oh; oy++)
            for (ox = 0; ox < p->ow; ox++)
                for (ch = 0; ch < p->c; ch++) {
                    long yi = (((long)s * p->oh + oy) * p->ow + ox) * p->c + ch, arg = -1;
                    double acc = 0.0, best = 0.0;
                    int count = 0;
                    for (ky = 0; ky < p->kh; ky++)
                        for (kx = 0; kx < p->kw; kx++) {
                            int iy = oy * p->sh - p->pt + ky, ix = ox * p->sw - p->pl + kx;
                            long xi = (((long)s * p->h + iy) * p->w + ix) * p->c + ch;
                            if (iy < 0 || iy >= p->h || ix < 0 || ix >= p->w)
                                continue;
                            if (count == 0 || x[xi] > best) {
                                best = x[xi];
                                arg = xi;
                            }
                            acc += x[xi];
                            count++;
                        }
                    if (is_max) {
                        y[yi] = best;
                        if (arg >= 0)
                            dx[arg] += dy[yi];
                    } else {
                        y[yi] = count ? acc / count : 0.0;
                        for (ky = 0; ky < p->kh; ky++)
                            for (kx = 0; kx < p->kw; kx++) {
                                int iy = oy * p->sh - p->pt + ky, ix = ox * p->sw - p->pl + kx;
                                if (iy >= 0 && iy < p->h && ix >= 0 && ix < p->w)
                                    dx[(((long)s * p->h + iy) * p->w + ix) * p->c + ch] +=
                                        dy[yi] / count;
                            }
                    }
                }
}

static void pool_forward(const nnc_rt_pool2d *p, int is_max, float *y, const float *x, int n)
{
    if (is_max)
        nnc_rt_maxpool2d_forward(p, y, x, n);
    else
        nnc_rt_avgpool2d_forward(p, y, x, n);
}

static void pool_backward(const nnc_rt_pool2d *p, int is_max, float *dx, const float *dy,
                          const float *x, int n)
{
    if (is_max)
        nnc_rt_maxpool2d_backward(p, dx, dy, x, n);
    else
        nnc_rt_avgpool2d_backward(p, dx, dy, n);
}

/* distinct values at least 0.01 apart in random order: no ties, and a step
 * of 1e-3 never changes which cell wins a window */
static void fill_distinct(float *x, long n, uint64_t seed)
{
    int32_t *perm = malloc(sizeof(int32_t) * (size_t)n);
    long i;
    ck_assert_ptr_nonnull(perm);
    nnc_rt_shuffle(perm, n, seed);
    for (i = 0; i < n; i++)
        x[i] = -1.0f + 0.01f * (float)perm[i];
    free(perm);
}

START_TEST(test_pool_reference_and_gradcheck)
{
    int k, is_max;
    for (k = 0; k < NPOOL; k++)
        for (is_max = 0; is_max < 2; is_max++) {
            nnc_rt_pool2d p = pool_params(&pool_cases[k]);
            int n = pool_cases[k].n;
            long nx = (long)n * p.h * p.w * p.c, ny = (long)n * p.oh * p.ow * p.c, i, bad;
            float *x = falloc(nx), *dy = falloc(ny), *y = guarded(ny), *dx = guarded(nx);
            double *ry = dalloc(ny), *rdx = dalloc(nx);
            const char *name = pool_cases[k].name, *kind = is_max ? "max" : "avg";
            nnc_rt_rng rng;
            nnc_rt_rng_seed(&rng, 500 + k);
            fill_distinct(x, nx, 600 + k);
            fill_uniform(dy, ny, &rng, -1, 1);
            pool_ref(&p, is_max, ry, rdx, x, dy, n);
            pool_forward(&p, is_max, y, x, n);
            pool_backward(&p, is_max, dx, dy, x, n);
            bad = first_bad(y, ry, ny, 1e-6, 1e-6);
            ck_assert_msg(bad == ny, "%spool %s: y[%ld] = %.7g, want %.7g", kind, name, bad,
                          bad < ny ? y[bad] : 0.0, bad < ny ? ry[bad] : 0.0);
            bad = first_bad(dx, rdx, nx, 1e-6, 1e-5);
            ck_assert_msg(bad == nx, "%spool %s: dx[%ld] = %.7g, want %.7g", kind, name, bad,
                          bad < nx ? dx[bad] : 0.0, bad < nx ? rdx[bad] : 0.0);
            ck_assert_msg(guard_ok(y, ny) && guard_ok(dx, nx), "%spool %s: wrote past the end",
                          kind, name);
            /* finite differences of L = sum dy * pool(x) */
            for (i = 0; i < nx; i += nx / 80 + 1) {
                const double h = 1e-3;
                float save = x[i], xp, xm;
                double fp = 0, fm = 0, num;
                long j;
                x[i] = (float)(save + h); xp = x[i];
                pool_forward(&p, is_max, y, x, n);
                for (j = 0; j < ny; j++)
                    fp += (double)dy[j] * y[j];
                x[i] = (float)(save - h); xm = x[i];
                pool_forward(&p, is_max, y, x, n);
                for (j = 0; j < ny; j++)
                    fm += (double)dy[j] * y[j];
                x[i] = save;
                num = (fp - fm) / ((double)xp - xm);
                ck_assert_msg(near(dx[i], num, 1e-3, 1e-2), "%spool %s: dx[%ld] = %.7g, numeric %.7g",
                              kind, name, i, dx[i], num);
            }
            free(x); free(dy); free(y); free(dx); free(ry); free(rdx);
        }
}
END_TEST

START_TEST(test_pool_ties_and_padding)
{
    /* a 2x2 window of equal values: the first (top-left) cell gets it all */
    nnc_rt_pool2d p = {2, 2, 1, 1, 1, 2, 2, 2, 2, 0, 0};
    float x[4] = {3, 3, 3, 3}, y[1], dy[1] = {1.5f}, dx[4];
    /* 'same' 3x3 stride 1 over a 2x2 negative input: padding never wins a
     * max (the max is -1, not 0) and is not counted by the average */
    nnc_rt_pool2d q = {2, 2, 1, 2, 2, 3, 3, 1, 1, 1, 1};
    float xn[4] = {-1, -2, -3, -4}, yq[4];
    nnc_rt_maxpool2d_forward(&p, y, x, 1);
    ck_near(y[0], 3, 0, 0);
    nnc_rt_maxpool2d_backward(&p, dx, dy, x, 1);
    ck_near(dx[0], 1.5, 0, 0);
    ck_near(dx[1] + dx[2] + dx[3], 0, 0, 0);
    nnc_rt_maxpool2d_forward(&q, yq, xn, 1);
    ck_near(yq[0], -1, 0, 0);
    ck_near(yq[3], -1, 0, 0);
    nnc_rt_avgpool2d_forward(&q, yq, xn, 1);
    ck_near(yq[0], -2.5, 0, 1e-7); /* (-1-2-3-4)/4, not /9 */
}
END_TEST

/* ---- batch normalisation ----------------------------------------------------------- */

/* literal definition in double: y, mean, invstd */
static void bn_ref(double *y, double *mean, double *invstd, const float *x, const float *gamma,
                   const float *beta, long rows, int c, double eps)
{
    long r;
    int j;
    for (j = 0; j < c; j++) {
        double s = 0, v = 0;
        for (r = 0; r < rows; r++)
            s += x[r * c + j];
        mean[j] = s / rows;
        for (r = 0; r < rows; r++)
            v += (x[r * c + j] - mean[j]) * (x[r * c + j] - mean[j]);
        invstd[j] = 1.0 / sqrt(v / rows + eps);
        for (r = 0; r < rows; r++)
            y[r * c + j] = (x[r * c + j] - mean[j]) * invstd[j] * (gamma ? gamma[j] : 1.0) +
                           (beta ? beta[j] : 0.0);
    }
}

typedef struct bn_case { long rows; int c; int affine; } bn_case;
static const bn_case bn_cases[] = {{24, 5, 1}, {7, 70, 1}, {50, 3, 0}, {2, 4, 1}};

START_TEST(test_batchnorm_forward)
{
    unsigned k;
    const float eps = 1e-3f, momentum = 0.99f;
    for (k = 0; k < sizeof bn_cases / sizeof bn_cases[0]; k++) {
        long rows = bn_cases[k].rows, size = rows * bn_cases[k].c, bad;
        int c = bn_cases[k].c, aff = bn_cases[k].affine, j;
        float *x = falloc(size), *y = guarded(size), *g = falloc(c), *b = falloc(c);
        float *mean = falloc(c), *invstd = falloc(c), *mm = falloc(c), *mv = falloc(c);
        float *mm0 = falloc(c), *mv0 = falloc(c);
        double *ry = dalloc(size), *rmean = dalloc(c), *rinv = dalloc(c);
        nnc_rt_rng rng;
        nnc_rt_rng_seed(&rng, 700 + k);
        fill_uniform(x, size, &rng, 3, 7); /* a mean far from 0 */
        fill_uniform(g, c, &rng, 0.5f, 1.5f);
        fill_uniform(b, c, &rng, -0.5f, 0.5f);
        fill_uniform(mm0, c, &rng, -1, 1);
        fill_uniform(mv0, c, &rng, 0.5f, 2);
        memcpy(mm, mm0, sizeof(float) * (size_t)c);
        memcpy(mv, mv0, sizeof(float) * (size_t)c);
        bn_ref(ry, rmean, rinv, x, aff ? g : NULL, aff ? b : NULL, rows, c, eps);
        nnc_rt_batchnorm_forward_train(y, mean, invstd, x, aff ? g : NULL, aff ? b : NULL, mm, mv,
                                       rows, c, momentum, eps);
        bad = first_bad(y, ry, size, 1e-5, 1e-5);
        ck_assert_msg(bad == size, "bn rows=%ld c=%d: y[%ld] = %.7g, want %.7g", rows, c, bad,
                      bad < size ? y[bad] : 0.0, bad < size ? ry[bad] : 0.0);
        ck_assert(guard_ok(y, size));
        for (j = 0; j < c; j++) {
            double var = 1.0 / (rinv[j] * rinv[j]) - eps;
            ck_near(mean[j], rmean[j], 1e-6, 1e-6);
            ck_near(invstd[j], rinv[j], 0, 1e-6);
            /* Keras: moving = momentum * moving + (1 - momentum) * batch, biased var */
            ck_near(mm[j], momentum * mm0[j] + (1 - momentum) * rmean[j], 1e-6, 1e-6);
            ck_near(mv[j], momentum * mv0[j] + (1 - momentum) * var, 1e-6, 1e-5);
        }
        /* inference with the moving statistics; in place */
        memcpy(y, x, sizeof(float) * (size_t)size);
        nnc_rt_batchnorm_forward_infer(y, y, aff ? g : NULL, aff ? b : NULL, mm, mv, rows, c, eps);
        for (bad = 0; bad < size; bad++) {
            int jj = (int)(bad % c);
            double want = (x[bad] - mm[jj]) / sqrt((double)mv[jj] + eps) * (aff ? g[jj] : 1.0) +
                          (aff ? b[jj] : 0.0);
            if (!near(y[bad], want, 1e-5, 1e-5))
                break;
        }
        ck_assert_msg(bad == size, "bn infer rows=%ld c=%d: y[%ld] wrong", rows, c, bad);
        free(x); free(y); free(g); free(b); free(mean); free(invstd); free(mm); free(mv);
        free(mm0); free(mv0); free(ry); free(rmean); free(rinv);
    }
}
END_TEST

typedef struct bn_fd {
    float *x, *g, *b, *r, *y, *mean, *invstd;
    long rows;
    int c, affine;
} bn_fd;

/* L = sum r * batchnorm_train(x) (batch statistics, so every x moves every y) */
static double bn_objective(bn_fd *d)
{
    double s = 0.0;
    long i;
    nnc_rt_batchnorm_forward_train(d->y, d->mean, d->invstd, d->x, d->affine ? d->g : NULL,
                                   d->affine ? d->b : NULL, NULL, NULL, d->rows, d->c, 0.9f,
                                   1e-3f);
    for (i = 0; i < d->rows * d->c; i++)
        s += (double)d->r[i] * d->y[i];
    return s;
}

static void bn_check(bn_fd *d, float *v, long nv, const float *analytic, const char *what)
{
    const double h = 1e-2;
    long i;
    for (i = 0; i < nv; i += nv / 100 + 1) {
        float save = v[i], vp, vm;
        double fp, fm, num;
        v[i] = (float)(save + h); vp = v[i];
        fp = bn_objective(d);
        v[i] = (float)(save - h); vm = v[i];
        fm = bn_objective(d);
        v[i] = save;
        num = (fp - fm) / ((double)vp - vm);
        ck_assert_msg(near(analytic[i], num, 1e-3, 1e-2), "bn rows=%ld c=%d: %s[%ld] = %.7g, numeric %.7g",
                      d->rows, d->c, what, i, analytic[i], num);
    }
}

START_TEST(test_batchnorm_backward_gradcheck)
{
    unsigned k;
    for (k = 0; k < sizeof bn_cases / sizeof bn_cases[0]; k++) {
        bn_fd d;
        long size;
        float *dx, *dg, *db, *dx2, *dy2;
        nnc_rt_rng rng;
        int j;
        d.rows = bn_cases[k].rows;
        d.c = bn_cases[k].c;
        d.affine = bn_cases[k].affine;
        size = d.rows * d.c;
        d.x = falloc(size); d.r = falloc(size); d.y = falloc(size);
        d.g = falloc(d.c); d.b = falloc(d.c); d.mean = falloc(d.c); d.invstd = falloc(d.c);
        dx = guarded(size); dg = guarded(d.c); db = guarded(d.c);
        dx2 = falloc(size); dy2 = falloc(size);
        nnc_rt_rng_seed(&rng, 800 + k);
        fill_uniform(d.x, size, &rng, -2, 2);
        fill_uniform(d.r, size, &rng, -1, 1);
        fill_uniform(d.g, d.c, &rng, 0.5f, 1.5f);
        fill_uniform(d.b, d.c, &rng, -0.5f, 0.5f);
        bn_objective(&d); /* the saved statistics */
        nnc_rt_batchnorm_backward(dx, dg, db, d.r, d.x, d.mean, d.invstd,
                                  d.affine ? d.g : NULL, d.rows, d.c);
        ck_assert(guard_ok(dx, size) && guard_ok(dg, d.c) && guard_ok(db, d.c));
        bn_check(&d, d.x, size, dx, "dx");
        if (d.affine) {
            bn_check(&d, d.g, d.c, dg, "dgamma");
            bn_check(&d, d.b, d.c, db, "dbeta");
        }
        /* dx may be NULL; dx may equal dy */
        fill_nan(dg, d.c);
        nnc_rt_batchnorm_backward(NULL, dg, db, d.r, d.x, d.mean, d.invstd, d.g, d.rows, d.c);
        ck_assert(!isnan(dg[0]) && !isnan(dg[d.c - 1]));
        memcpy(dy2, d.r, sizeof(float) * (size_t)size);
        nnc_rt_batchnorm_backward(dx2, dg, db, d.r, d.x, d.mean, d.invstd,
                                  d.affine ? d.g : NULL, d.rows, d.c);
        nnc_rt_batchnorm_backward(dy2, dg, db, dy2, d.x, d.mean, d.invstd,
                                  d.affine ? d.g : NULL, d.rows, d.c);
        for (j = 0; j < size; j++)
            ck_assert_msg(dy2[j] == dx2[j], "bn: in-place dx differs at %d", j);
        free(d.x); free(d.r); free(d.y); free(d.g); free(d.b); free(d.mean); free(d.invstd);
        free(dx); free(dg); free(db); free(dx2); free(dy2);
    }
}
END_TEST

/* ---- dropout, mul, copy, concat ------------------------------------------------------ */

START_TEST(test_dropout)
{
    enum { N = 100000 };
    static float x[N], y[N], mask[N], mask2[N];
    static const float rates[] = {0.1f, 0.3f, 0.5f};
    unsigned k;
    long i;
    nnc_rt_rng r;
    for (i = 0; i < N; i++)
        x[i] = (float)(i % 7) - 3.0f;
    for (k = 0; k < 3; k++) {
        float rate = rates[k], keep = 1.0f / (1.0f - rate);
        long zeros = 0;
        nnc_rt_rng_seed(&r, 42);
        nnc_rt_dropout_forward(y, mask, x, N, rate, &r);
        for (i = 0; i < N; i++) {
            ck_assert_msg(mask[i] == 0.0f || mask[i] == keep, "mask[%ld] = %g", i, mask[i]);
            ck_assert(y[i] == x[i] * mask[i]);
            zeros += mask[i] == 0.0f;
        }
        /* binomial: sd = sqrt(rate (1-rate) / N) <= 0.0016; allow ~5 sd */
        ck_assert_msg(fabs((double)zeros / N - rate) < 0.008, "rate %g: dropped %g", rate,
                      (double)zeros / N);
        /* the same seed gives the same mask; another seed another */
        nnc_rt_rng_seed(&r, 42);
        nnc_rt_dropout_forward(y, mask2, x, N, rate, &r);
        ck_assert(memcmp(mask, mask2, sizeof mask) == 0);
        nnc_rt_rng_seed(&r, 43);
        nnc_rt_dropout_forward(y, mask2, x, N, rate, &r);
        ck_assert(memcmp(mask, mask2, sizeof mask) != 0);
    }
    /* rate 0: everything kept, y == x; in place works */
    nnc_rt_rng_seed(&r, 1);
    memcpy(y, x, sizeof y);
    nnc_rt_dropout_forward(y, mask, y, N, 0.0f, &r);
    for (i = 0; i < N; i++)
        ck_assert(mask[i] == 1.0f && y[i] == x[i]);
}
END_TEST

START_TEST(test_mul_copy)
{
    float a[5] = {1, 2, 3, 4, 5}, b[5] = {2, 0, -1, 0.5f, 1}, y[5];
    nnc_rt_mul(y, a, b, 5);
    ck_near(y[0], 2, 0, 0);
    ck_near(y[2], -3, 0, 0);
    ck_near(y[3], 2, 0, 0);
    nnc_rt_copy(y, a, 5);
    ck_assert(memcmp(y, a, sizeof a) == 0);
    nnc_rt_copy(y, y, 5); /* aliasing is allowed */
    ck_assert(memcmp(y, a, sizeof a) == 0);
    nnc_rt_mul(a, a, a, 5);
    ck_near(a[4], 25, 0, 0);
}
END_TEST

START_TEST(test_concat_round_trip)
{
    /* (rows=3) x [2 | 4 | 1] columns */
    enum { R = 3, W0 = 2, W1 = 4, W2 = 1, T = W0 + W1 + W2 };
    float a[R * W0], b[R * W1], c[R * W2], y[R * T], da[R * W0], db[R * W1], dc[R * W2];
    int i, r, j;
    for (i = 0; i < R * W0; i++) a[i] = 100 + i;
    for (i = 0; i < R * W1; i++) b[i] = 200 + i;
    for (i = 0; i < R * W2; i++) c[i] = 300 + i;
    fill_nan(y, R * T);
    nnc_rt_concat_forward(y, a, R, W0, 0, T);
    nnc_rt_concat_forward(y, b, R, W1, W0, T);
    nnc_rt_concat_forward(y, c, R, W2, W0 + W1, T);
    for (r = 0; r < R; r++)
        for (j = 0; j < T; j++) {
            float want = j < W0 ? a[r * W0 + j] : j < W0 + W1 ? b[r * W1 + j - W0] : c[r * W2 + j - W0 - W1];
            ck_assert_msg(y[r * T + j] == want, "y[%d,%d] = %g, want %g", r, j, y[r * T + j], want);
        }
    nnc_rt_concat_backward(da, y, R, W0, 0, T);
    nnc_rt_concat_backward(db, y, R, W1, W0, T);
    nnc_rt_concat_backward(dc, y, R, W2, W0 + W1, T);
    ck_assert(memcmp(da, a, sizeof a) == 0);
    ck_assert(memcmp(db, b, sizeof b) == 0);
    ck_assert(memcmp(dc, c, sizeof c) == 0);
}
END_TEST

static Suite *conv_suite(void)
{
    Suite *s = suite_create("conv");
    TCase *conv = tcase_create("conv"), *pool = tcase_create("pool");
    TCase *norm = tcase_create("norm"), *misc = tcase_create("misc");
    tcase_set_timeout(conv, 30);
    tcase_add_test(conv, test_conv_forward_reference);
    tcase_add_test(conv, test_conv_backward_reference);
    tcase_add_test(conv, test_conv_backward_gradcheck);
    tcase_add_test(conv, test_conv_batch_independent);
    tcase_add_test(pool, test_pool_reference_and_gradcheck);
    tcase_add_test(pool, test_pool_ties_and_padding);
    tcase_add_test(norm, test_batchnorm_forward);
    tcase_add_test(norm, test_batchnorm_backward_gradcheck);
    tcase_add_test(misc, test_dropout);
    tcase_add_test(misc, test_mul_copy);
    tcase_add_test(misc, test_concat_round_trip);
    suite_add_tcase(s, conv);
    suite_add_tcase(s, pool);
    suite_add_tcase(s, norm);
    suite_add_tcase(s, misc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(conv_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
