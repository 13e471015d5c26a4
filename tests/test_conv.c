/* test_conv.c — unit tests for the runtime's convolution kernels
 * (runtime/conv*.c): the entry points, and each named kernel of
 * nnc_rt_conv2d_variants against the plain C reference.
 *
 * The entry points are checked against a plain-C reference written here in the
 * most literal form (direct convolution loops accumulated in double, windows
 * scanned cell by cell) on a table of settings that reaches every path of
 * the fast code: im2col runs clipped on either side, the pointwise and
 * depthwise shortcuts, groups, dilation, strides, asymmetric padding, conv1d,
 * sizes that are not multiples of the GEMM tiles.  Backward kernels are
 * checked twice: against the reference adjoint loops and against central
 * finite differences of their forward kernel on L = sum(y * r) for a fixed
 * random r.  That reference also checks the runtime's own
 * (nnc_rt_conv2d_*_ref, the oracle of the named kernels); then every named
 * kernel this build has — the portable ones and each ISA's, an AVX-512 build
 * running the AVX2 kernels too — is run on the table and on generated
 * tile-edge cases (tile_case) against it, and must compute at least 20 of
 * them.  Outputs are pre-filled with NaN (every kernel overwrites, and one
 * that declines a convolution writes nothing) and scratch buffers are
 * exactly NNC_RT_CONV2D_SCRATCH floats followed by guard values that must
 * survive.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nnc_rt.h"
#include "nnc_rt_kernels.h"
#include "kernel_check.h"

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
    {"c130 two chunks",  1, 4,  5, 130, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, /* > 1024 taps */
    {"c400 run chunks",  1, 2,  6, 400, 9, 1, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1},  /* a run > 1024 */
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
    /* the 3-wide row kernels: at stride 1 tiles of 4, 5 and 6 pixels, at
     * stride 2 of 4 and 7 (by the row's width), partial last tiles, rows
     * dilated, windows reaching wholly into a wide left padding */
    {"depthwise 3x3 w7",  1, 7,  7, 24, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 24},
    {"depthwise 3x3 w14", 2, 4, 14, 19, 19, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 19},
    {"depthwise 3x3 w31", 1, 3, 31, 40, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 40},
    {"depthwise 3x3 dh2", 1, 9, 13,  8,  8, 3, 3, 1, 1, 2, 1, 2, 2, 1, 1, 8},
    {"depthwise 3x3 pl4", 1, 4,  9, 12, 12, 3, 3, 1, 1, 1, 1, 1, 0, 4, 2, 12},
    {"depthwise s2 w28",  2, 6, 28, 24, 24, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 24},
    {"depthwise s2 w29",  1, 5, 29, 13, 13, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 13},
    {"depthwise s2 keras", 1, 8, 28, 40, 40, 3, 3, 2, 2, 1, 1, 0, 1, 0, 1, 40},
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

/* ---- the named kernels (nnc_rt_kernels.h) against the plain C reference --------------- */

/* the runtime's references against the literal loops above: the oracle
 * the variants are held to is itself right */
START_TEST(test_conv_reference_is_literal)
{
    int k;
    for (k = 0; k < NCONV; k++) {
        conv_data d;
        double *ry, *rdx, *rdw;
        float *y, *dx, *dw;
        long bad;
        conv_data_init(&d, &conv_cases[k], 500 + k);
        ry = dalloc(d.ny); rdx = dalloc(d.nx); rdw = dalloc(d.nw);
        y = guarded(d.ny); dx = guarded(d.nx); dw = guarded(d.nw);
        conv_ref_forward(&d.p, ry, d.x, d.w, d.b, d.n, NNC_RT_ACT_TANH);
        conv_ref_backward(&d.p, rdx, rdw, d.r, d.x, d.w, d.n);
        nnc_rt_conv2d_forward_ref(&d.p, y, d.x, d.w, d.b, d.n, NNC_RT_ACT_TANH);
        nnc_rt_conv2d_backward_data_ref(&d.p, dx, d.r, d.w, d.n);
        nnc_rt_conv2d_backward_filter_ref(&d.p, dw, d.r, d.x, d.n);
        bad = first_bad(y, ry, d.ny, 1e-6, 1e-6);
        ck_assert_msg(bad == d.ny, "ref %s: y[%ld] wrong", conv_cases[k].name, bad);
        bad = first_bad(dx, rdx, d.nx, 1e-6, 1e-6);
        ck_assert_msg(bad == d.nx, "ref %s: dx[%ld] wrong", conv_cases[k].name, bad);
        bad = first_bad(dw, rdw, d.nw, 1e-6, 1e-6);
        ck_assert_msg(bad == d.nw, "ref %s: dw[%ld] wrong", conv_cases[k].name, bad);
        ck_assert(guard_ok(y, d.ny) && guard_ok(dx, d.nx) && guard_ok(dw, d.nw));
        free(ry); free(rdx); free(rdw); free(y); free(dx); free(dw);
        conv_data_free(&d);
    }
}
END_TEST

/* Tile edges, generated: case k of TILE_CASES.  The first DIRECT_TILES
 * are ordinary convolutions (groups 1) whose output pixels (1, 5..9, 14,
 * 16, 18) and channels (1 .. 65) fall below, on, above and between the
 * direct kernels' tiles (6 or 8 pixels; 8- or 16-float vectors, two a
 * block) with K = kh*kw*c across the filter's tap blocks (5, 6, 9, 12);
 * the rest are depthwise, channels 1 .. 33 around the vector widths, rows
 * of 1 .. 17 pixels around the row kernels' 6 or 8, every sixth with a
 * multiplier of 2.  Each cycles through six geometries: 3x3 valid, 3x3
 * same, 3x3 stride 2, 3x3 dilation 2, 2x2, 5x5 same; the input is sized so
 * that the output has the wanted pixels. */
static const int tile_pix[][2] = {{1, 1}, {1, 5}, {2, 3}, {1, 7}, {2, 4}, {3, 3}, {2, 7}, {4, 4}, {3, 6}};
static const int tile_oc[] = {1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 48, 65};
static const int tile_c[] = {1, 3, 2, 5};
static const int tile_dwc[] = {1, 7, 8, 9, 15, 16, 17, 32, 33};
static const int tile_row[] = {1, 5, 6, 7, 8, 9, 17};
/* kh = kw, stride, dilation, padding on each side */
static const int tile_geom[][4] = {{3, 1, 1, 0}, {3, 1, 1, 1}, {3, 2, 1, 1}, {3, 1, 2, 2}, {2, 1, 1, 0}, {5, 1, 1, 2}};
#define DIRECT_TILES 108
#define TILE_CASES (DIRECT_TILES + 63)

static conv_case tile_case(int k)
{
    conv_case t;
    const int *g = tile_geom[k % 6];
    int oh, ow;
    memset(&t, 0, sizeof t);
    t.name = k < DIRECT_TILES ? "direct tile" : "depthwise tile";
    if (k < DIRECT_TILES) {
        oh = tile_pix[k % 9][0];
        ow = tile_pix[k % 9][1];
        t.oc = tile_oc[k / 9];
        t.c = tile_c[k % 4];
        t.groups = 1;
    } else {
        int j = k - DIRECT_TILES;
        oh = 1 + j % 3;
        ow = tile_row[j % 7];
        t.c = t.groups = tile_dwc[j / 7];
        t.oc = t.c * (j % 6 == 5 ? 2 : 1);
    }
    t.n = 1 + k % 2;
    t.kh = t.kw = g[0];
    t.sh = t.sw = g[1];
    t.dh = t.dw = g[2];
    t.pt = t.pb = t.pl = t.pr = g[3];
    t.h = (oh - 1) * t.sh + t.dh * (t.kh - 1) + 1 - 2 * g[3];
    t.w = (ow - 1) * t.sw + t.dw * (t.kw - 1) + 1 - 2 * g[3];
    return t;
}

/* v's operation on d into out (y, dx or dw): v's own kernel, or (ref) the
 * reference; 1 when it computed d */
static int run_kernel(const nnc_rt_conv2d_variant *v, int ref, conv_data *d, float *out,
                      const float *b, int act)
{
    if (v->forward && ref)
        nnc_rt_conv2d_forward_ref(&d->p, out, d->x, d->w, b, d->n, act);
    else if (v->forward)
        return v->forward(&d->p, out, d->x, d->w, b, d->scratch, d->n, act);
    else if (v->backward_data && ref)
        nnc_rt_conv2d_backward_data_ref(&d->p, out, d->r, d->w, d->n);
    else if (v->backward_data)
        return v->backward_data(&d->p, out, d->r, d->w, d->scratch, d->n);
    else if (ref)
        nnc_rt_conv2d_backward_filter_ref(&d->p, out, d->r, d->x, d->n);
    else
        return v->backward_filter(&d->p, out, d->r, d->x, d->scratch, d->n);
    return 1;
}

/* v on case k against the reference: forward with and without the bias,
 * linear, relu, relu6 (the bias moved up by 6 so that outputs straddle
 * it) and sigmoid; the gradients once.  1 when v computed the case; when
 * it declines, it must leave its output alone. */
static int check_variant(const nnc_rt_conv2d_variant *v, const conv_case *k, int idx, uint64_t seed)
{
    static const int acts[] = {NNC_RT_ACT_LINEAR, NNC_RT_ACT_RELU, NNC_RT_ACT_RELU6,
                               NNC_RT_ACT_SIGMOID};
    conv_data d;
    long no, bad, i;
    float *got, *want, *b6;
    double *wantd;
    int a, o, done = 0;
    conv_data_init(&d, k, seed);
    no = v->forward ? d.ny : v->backward_data ? d.nx : d.nw;
    got = guarded(no);
    want = falloc(no);
    wantd = dalloc(no);
    b6 = falloc(d.p.oc);
    for (o = 0; o < d.p.oc; o++)
        b6[o] = d.b[o] + 6.0f;
    for (a = 0; a < (v->forward ? 4 : 1); a++) {
        const float *b = a == 2 ? b6 : (a + idx) % 2 ? NULL : d.b;
        fill_nan(got, no);
        fill_nan(d.scratch, d.nscratch);
        if (!run_kernel(v, 0, &d, got, b, acts[a])) {
            for (i = 0; i < no && isnan(got[i]); i++)
                ;
            ck_assert_msg(i == no, "%s declined %s #%d but wrote to its output", v->name, k->name, idx);
            break;
        }
        done = 1;
        run_kernel(v, 1, &d, want, b, acts[a]);
        for (i = 0; i < no; i++)
            wantd[i] = want[i];
        bad = first_bad(got, wantd, no, 1e-5, 1e-4);
        ck_assert_msg(bad == no, "%s on %s #%d (act %d, bias %d): [%ld] = %.7g, want %.7g",
                      v->name, k->name, idx, acts[a], b != NULL, bad, bad < no ? got[bad] : 0.0,
                      bad < no ? want[bad] : 0.0);
        ck_assert_msg(guard_ok(got, no) && guard_ok(d.scratch, d.nscratch),
                      "%s on %s #%d: wrote past its output or the scratch", v->name, k->name, idx);
    }
    free(got); free(want); free(wantd); free(b6);
    conv_data_free(&d);
    return done;
}

START_TEST(test_conv_variants_listed)
{
    const nnc_rt_conv2d_variant *v;
    int nv = nnc_rt_conv2d_variants(&v), i, avx2 = 0, avx512 = 0;
    ck_assert_int_ge(nv, 6);
    ck_assert_str_eq(v[0].name, "im2col__c"); /* the portable kernels first */
    for (i = 0; i < nv; i++) {
        ck_assert_msg(!!v[i].forward + !!v[i].backward_data + !!v[i].backward_filter == 1,
                      "%s: not exactly one operation", v[i].name);
        avx2 += strstr(v[i].name, "__avx2") != NULL;
        avx512 += strstr(v[i].name, "__avx512") != NULL;
    }
#if defined(__AVX2__) && defined(__FMA__)
    ck_assert_int_eq(avx2, 5); /* a test built for AVX2: the library should have them too */
#endif
#if defined(__AVX512F__)
    ck_assert_int_eq(avx512, 5);
#endif
    (void)avx2;
    (void)avx512;
}
END_TEST

/* one variant (the loop index) on the table's cases and the tile edges:
 * right wherever it computes, and computing at least 20 of them */
START_TEST(test_conv_variant_reference)
{
    const nnc_rt_conv2d_variant *v;
    int nv = nnc_rt_conv2d_variants(&v), k, done = 0;
    ck_assert_int_lt(_i, nv);
    for (k = 0; k < NCONV; k++)
        done += check_variant(&v[_i], &conv_cases[k], k, 600 + k);
    for (k = 0; k < TILE_CASES; k++) {
        conv_case t = tile_case(k);
        done += check_variant(&v[_i], &t, k, 700 + k);
    }
    ck_assert_msg(done >= 20, "%s computed only %d cases", v[_i].name, done);
}
END_TEST

/* The filter gradient with the bias gradient (nnc_rt_conv2d_backward_filter_bias,
 * and each named kernel of it this build has) on the table and the tile
 * edges: dw the same bits as the filter gradient alone (the entry point's,
 * or the named kernel's without the bias), db the same bits as
 * nnc_rt_bias_backward over the batch's pixels (the fused kernel sums in
 * their order), and both near the double-precision reference; nothing
 * written past either; an empty batch zeroes both. */
typedef int (*filter_bias_fn)(const nnc_rt_conv2d *p, float *dw, float *db, const float *dy,
                              const float *x, float *scratch, int n);
typedef int (*filter_fn)(const nnc_rt_conv2d *p, float *dw, const float *dy, const float *x,
                         float *scratch, int n);

static void check_filter_bias(const char *who, filter_bias_fn f, filter_fn f0, const conv_case *k, int idx,
                              uint64_t seed)
{
    conv_data d;
    float *dw, *db, *dw0, *db0;
    double *rdw, *rdb;
    long bad, q, npix;
    int o, ok;
    conv_data_init(&d, k, seed);
    npix = d.ny / d.p.oc;
    dw = guarded(d.nw);
    db = guarded(d.p.oc);
    dw0 = falloc(d.nw);
    db0 = falloc(d.p.oc);
    rdw = dalloc(d.nw);
    rdb = dalloc(d.p.oc);
    fill_nan(dw, d.nw);
    fill_nan(db, d.p.oc);
    fill_nan(d.scratch, d.nscratch);
    if (f)
        ok = f(&d.p, dw, db, d.r, d.x, d.scratch, d.n);
    else {
        nnc_rt_conv2d_backward_filter_bias(&d.p, dw, db, d.r, d.x, d.scratch, d.n);
        ok = 1;
    }
    if (ok) {
        if (f0)
            f0(&d.p, dw0, d.r, d.x, d.scratch, d.n);
        else
            nnc_rt_conv2d_backward_filter(&d.p, dw0, d.r, d.x, d.scratch, d.n);
        nnc_rt_bias_backward(db0, d.r, (int)npix, d.p.oc);
        ck_assert_msg(memcmp(dw, dw0, (size_t)d.nw * sizeof *dw) == 0,
                      "%s on %s #%d: dw not the bits of backward_filter", who, k->name, idx);
        ck_assert_msg(memcmp(db, db0, (size_t)d.p.oc * sizeof *db) == 0,
                      "%s on %s #%d: db not the bits of bias_backward", who, k->name, idx);
        nnc_rt_conv2d_backward_filter_ref(&d.p, dw0, d.r, d.x, d.n);
        for (o = 0; o < d.p.oc; o++) {
            rdb[o] = 0.0;
            for (q = 0; q < npix; q++)
                rdb[o] += d.r[q * d.p.oc + o];
        }
        for (q = 0; q < d.nw; q++)
            rdw[q] = dw0[q];
        bad = first_bad(dw, rdw, d.nw, 1e-5, 1e-4);
        ck_assert_msg(bad == d.nw, "%s on %s #%d: dw[%ld] = %.7g, want %.7g", who, k->name, idx, bad,
                      bad < d.nw ? dw[bad] : 0.0, bad < d.nw ? rdw[bad] : 0.0);
        bad = first_bad(db, rdb, d.p.oc, 1e-5, 1e-4);
        ck_assert_msg(bad == d.p.oc, "%s on %s #%d: db[%ld] = %.7g, want %.7g", who, k->name, idx, bad,
                      bad < d.p.oc ? db[bad] : 0.0, bad < d.p.oc ? rdb[bad] : 0.0);
        ck_assert_msg(guard_ok(dw, d.nw) && guard_ok(db, d.p.oc) && guard_ok(d.scratch, d.nscratch),
                      "%s on %s #%d: wrote past dw, db or the scratch", who, k->name, idx);
        /* an empty batch: both zero */
        fill_nan(dw, d.nw);
        fill_nan(db, d.p.oc);
        if (f)
            f(&d.p, dw, db, d.r, d.x, d.scratch, 0);
        else
            nnc_rt_conv2d_backward_filter_bias(&d.p, dw, db, d.r, d.x, d.scratch, 0);
        ck_assert_msg(dw[0] == 0.0f && dw[d.nw - 1] == 0.0f && db[0] == 0.0f && db[d.p.oc - 1] == 0.0f,
                      "%s on %s: n = 0, dw or db not zero", who, k->name);
    } else {
        for (q = 0; q < d.nw && isnan(dw[q]); q++)
            ;
        ck_assert_msg(q == d.nw && isnan(db[0]), "%s declined %s #%d but wrote", who, k->name, idx);
    }
    free(dw); free(db); free(dw0); free(db0); free(rdw); free(rdb);
    conv_data_free(&d);
}

START_TEST(test_conv_filter_bias)
{
    static const struct { const char *name; filter_bias_fn f; filter_fn f0; } fns[] = {
        {"backward_filter_bias", NULL, NULL},
#if defined(__AVX2__) && defined(__FMA__)
        {"direct_filter_bias_6x16__avx2", nnc_rt_f32_conv2d_direct_filter_bias_6x16__avx2,
         nnc_rt_f32_conv2d_direct_filter_6x16__avx2},
#endif
#if defined(__AVX512F__)
        {"direct_filter_bias_12x32__avx512", nnc_rt_f32_conv2d_direct_filter_bias_12x32__avx512,
         nnc_rt_f32_conv2d_direct_filter_12x32__avx512},
#endif
    };
    int k, i;
    for (i = 0; i < (int)(sizeof fns / sizeof fns[0]); i++) {
        for (k = 0; k < NCONV; k++)
            check_filter_bias(fns[i].name, fns[i].f, fns[i].f0, &conv_cases[k], k, 800 + k);
        for (k = 0; k < TILE_CASES; k++) {
            conv_case t = tile_case(k);
            check_filter_bias(fns[i].name, fns[i].f, fns[i].f0, &t, k, 900 + k);
        }
    }
}
END_TEST

/* ---- weights in panels (nnc_rt_conv2d_forward_packed) ------------------------------
 * The kernels for constant weights that nnc stores in GEMM panels: the
 * entry point and each named kernel this build has, against the literal
 * reference with the plain kernel, on every groups == 1 case of the table
 * and of the direct tile edges, and on deeper ones: K past a chunk of taps
 * (256 on AVX-512, 512 on AVX2, one long run cut in pieces), output
 * channels with full panels and a narrow last one (stored transposed) or
 * only a narrow one, pointwise over few pixels (the direct kernel) and more
 * (the GEMM). */
static const conv_case packed_cases[] = {
    /* name              n  h   w   c   oc kh kw sh sw dh dw pt pb pl pr g */
    {"c64 oc80 3x3",     1, 6,  5,  64, 80, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"c60 oc40 s2",      2, 9,  9,  60, 40, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
    {"c130 oc96 1x3",    1, 3,  7, 130, 96, 1, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1},
    {"c200 oc64 3x3",    1, 4,  4, 200, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"stem c3 oc24 7x7", 1, 15, 13, 3,  24, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1},
    {"7x7 c64 oc33",     1, 7,  7,  64, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"pw c70 oc50",      2, 5,  3,  70, 50, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1},
    {"pw c16 oc144",     1, 4,  5,  16, 144, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1},
    {"pw 272 pixels",    1, 17, 16, 8,  40, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1}, /* past SMALL_POINTWISE */
    {"1x1 s2 c40 oc72",  1, 7,  6,  40, 72, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1},
};
#define NPACKED ((int)(sizeof packed_cases / sizeof packed_cases[0]))

typedef struct packed_kernel {
    const char *name;
    nnc_rt_conv2d_forward_fn fn; /* NULL: the entry point */
} packed_kernel;

static const packed_kernel packed_kernels[] = {
    {"nnc_rt_conv2d_forward_packed", NULL},
    {"im2col_packed__c", nnc_rt_f32_conv2d_im2col_packed__c},
#if defined(__AVX2__) && defined(__FMA__)
    {"direct_packed_6x16__avx2", nnc_rt_f32_conv2d_direct_packed_6x16__avx2},
#endif
#if defined(__AVX512F__)
    {"direct_packed_8x32__avx512", nnc_rt_f32_conv2d_direct_packed_8x32__avx512},
#endif
};
#define NPACKED_KERNELS ((int)(sizeof packed_kernels / sizeof packed_kernels[0]))

/* kernel kn on case k: 1 when it computed it (right, with and without the
 * bias, linear, relu, relu6 across 6) */
static int check_packed(int kn, const conv_case *k, int idx, uint64_t seed)
{
    static const int acts[] = {NNC_RT_ACT_LINEAR, NNC_RT_ACT_RELU, NNC_RT_ACT_RELU6};
    const packed_kernel *pk = &packed_kernels[kn];
    conv_data d;
    double *ref;
    float *y, *wp, *b6;
    int a, o, done = 1;
    conv_data_init(&d, k, seed);
    ref = dalloc(d.ny);
    y = guarded(d.ny);
    wp = guarded(d.nw);
    b6 = falloc(d.p.oc);
    for (o = 0; o < d.p.oc; o++)
        b6[o] = d.b[o] + 6.0f;
    nnc_rt_gemm_pack_b(wp, d.w, (int)(d.nw / d.p.oc), d.p.oc);
    for (a = 0; a < 3 && done; a++) {
        const float *b = a == 2 ? b6 : (a + idx) % 2 ? NULL : d.b;
        long bad;
        fill_nan(y, d.ny);
        fill_nan(d.scratch, d.nscratch);
        if (pk->fn)
            done = pk->fn(&d.p, y, d.x, wp, b, d.scratch, d.n, acts[a]);
        else
            nnc_rt_conv2d_forward_packed(&d.p, y, d.x, wp, b, d.scratch, d.n, acts[a]);
        if (!done)
            break;
        conv_ref_forward(&d.p, ref, d.x, d.w, b, d.n, acts[a]);
        bad = first_bad(y, ref, d.ny, 1e-5, 1e-4);
        ck_assert_msg(bad == d.ny, "%s on %s #%d (act %d, bias %d): y[%ld] = %.7g, want %.7g",
                      pk->name, k->name, idx, acts[a], b != NULL, bad, bad < d.ny ? y[bad] : 0.0,
                      bad < d.ny ? ref[bad] : 0.0);
        ck_assert_msg(guard_ok(y, d.ny) && guard_ok(d.scratch, d.nscratch) && guard_ok(wp, d.nw),
                      "%s on %s #%d: wrote past y or the scratch, or into w", pk->name, k->name, idx);
    }
    free(ref); free(y); free(wp); free(b6);
    conv_data_free(&d);
    return done;
}

/* one packed kernel (the loop index) on every groups == 1 case */
START_TEST(test_conv_packed_reference)
{
    int k, done = 0;
    ck_assert_int_lt(_i, NPACKED_KERNELS);
    for (k = 0; k < NCONV; k++)
        if (conv_cases[k].groups == 1)
            done += check_packed(_i, &conv_cases[k], k, 900 + k);
    for (k = 0; k < DIRECT_TILES; k++) {
        conv_case t = tile_case(k);
        done += check_packed(_i, &t, k, 1000 + k);
    }
    for (k = 0; k < NPACKED; k++)
        ck_assert_msg(check_packed(_i, &packed_cases[k], k, 1200 + k) || packed_kernels[_i].fn,
                      "%s declined %s", packed_kernels[_i].name, packed_cases[k].name),
            done++;
    ck_assert_msg(done >= 100, "%s computed only %d cases", packed_kernels[_i].name, done);
}
END_TEST

/* ---- a residual added before the activation (nnc_rt_conv2d_forward_residual) -------
 * The entry point and each named kernel, with plain weights and in panels,
 * against the reference conv + b + r then the activation, on the table
 * (every case, grouped ones through the entry point with plain weights),
 * the direct tile edges and the packed cases. */
typedef struct residual_kernel {
    const char *name;
    nnc_rt_conv2d_residual_fn fn; /* NULL: the entry point */
} residual_kernel;

static const residual_kernel residual_kernels[] = {
    {"nnc_rt_conv2d_forward_residual", NULL},
    {"residual__c", nnc_rt_f32_conv2d_residual__c},
#if defined(__AVX2__) && defined(__FMA__)
    {"direct_residual_6x16__avx2", nnc_rt_f32_conv2d_direct_residual_6x16__avx2},
#endif
#if defined(__AVX512F__)
    {"direct_residual_8x32__avx512", nnc_rt_f32_conv2d_direct_residual_8x32__avx512},
#endif
};
#define NRESIDUAL_KERNELS ((int)(sizeof residual_kernels / sizeof residual_kernels[0]))

/* kernel kn on case k, w plain and in panels (groups == 1): 1 when it computed it */
static int check_residual(int kn, const conv_case *k, int idx, uint64_t seed)
{
    static const int acts[] = {NNC_RT_ACT_LINEAR, NNC_RT_ACT_RELU, NNC_RT_ACT_RELU6, NNC_RT_ACT_TANH};
    const residual_kernel *rk = &residual_kernels[kn];
    conv_data d;
    double *ref;
    float *y, *wp, *res;
    int a, panels, done = 0;
    long i;
    conv_data_init(&d, k, seed);
    ref = dalloc(d.ny);
    y = guarded(d.ny);
    wp = falloc(d.nw);
    res = falloc(d.ny);
    for (i = 0; i < d.ny; i++) /* outputs straddling 0 and 6 */
        res[i] = 3.0f * d.r[i] + (i % 3 == 0 ? 5.5f : 0.0f);
    nnc_rt_gemm_pack_b(wp, d.w, (int)(d.nw / d.p.oc), d.p.oc);
    for (panels = 0; panels < (d.p.groups == 1 ? 2 : 1); panels++)
        for (a = 0; a < 4; a++) {
            const float *b = (a + idx) % 2 ? NULL : d.b, *w = panels ? wp : d.w;
            long bad;
            fill_nan(y, d.ny);
            fill_nan(d.scratch, d.nscratch);
            if (rk->fn) {
                if (!rk->fn(&d.p, y, d.x, w, panels, b, res, d.scratch, d.n, acts[a]))
                    break;
            } else
                nnc_rt_conv2d_forward_residual(&d.p, y, d.x, w, panels, b, res, d.scratch, d.n, acts[a]);
            done = 1;
            conv_ref_forward(&d.p, ref, d.x, d.w, b, d.n, NNC_RT_ACT_LINEAR);
            for (i = 0; i < d.ny; i++)
                ref[i] += res[i];
            ref_act(ref, d.ny / d.p.oc, d.p.oc, acts[a]);
            bad = first_bad(y, ref, d.ny, 1e-5, 1e-4);
            ck_assert_msg(bad == d.ny, "%s on %s #%d (act %d, bias %d, panels %d): y[%ld] = %.7g, want %.7g",
                          rk->name, k->name, idx, acts[a], b != NULL, panels, bad,
                          bad < d.ny ? y[bad] : 0.0, bad < d.ny ? ref[bad] : 0.0);
            ck_assert_msg(guard_ok(y, d.ny) && guard_ok(d.scratch, d.nscratch),
                          "%s on %s #%d: wrote past y or the scratch", rk->name, k->name, idx);
        }
    free(ref); free(y); free(wp); free(res);
    conv_data_free(&d);
    return done;
}

START_TEST(test_conv_residual_reference)
{
    int k, done = 0;
    ck_assert_int_lt(_i, NRESIDUAL_KERNELS);
    for (k = 0; k < NCONV; k++)
        if (conv_cases[k].groups == 1 || !residual_kernels[_i].fn)
            done += check_residual(_i, &conv_cases[k], k, 1300 + k);
    for (k = 0; k < DIRECT_TILES; k++) {
        conv_case t = tile_case(k);
        done += check_residual(_i, &t, k, 1400 + k);
    }
    for (k = 0; k < NPACKED; k++)
        done += check_residual(_i, &packed_cases[k], k, 1500 + k);
    ck_assert_msg(done >= 100, "%s computed only %d cases", residual_kernels[_i].name, done);
}
END_TEST

/* ---- Winograd F(2x2, 3x3) (conv_winograd.h) ---------------------------------------
 * Each named kernel and the two entry points that offer it layers
 * (nnc_rt_conv2d_forward_packed, nnc_rt_conv2d_forward_residual), against
 * the literal reference: odd output sizes (a last tile row or column half
 * outside), valid, same and asymmetric padding (tiles reading past every
 * edge), one to three panels of output channels, several blocks of tiles
 * and a last one partial, two samples, a layer whose scratch is sized for
 * Winograd (NNC_RT_CONV2D_WINOGRAD_ROOM) rather than im2col, with and without the bias and a
 * residual, plain weights and panels.  The kernels must take every case
 * here (they fit the scratch) and decline the shapes they do not handle.
 * Tolerance: the transforms add up to 16 terms of the products before the
 * output's sum is formed, so the rounding is measured against the sum of
 * the magnitudes of the taps' products (ref_abs), not the result. */
static const conv_case wino_cases[] = {
    /* name               n  h   w   c   oc kh kw sh sw dh dw pt pb pl pr g */
    {"same c16 oc32 odd", 2, 33, 31, 16, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"valid c32 oc64",    1, 30, 29, 32, 64, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1},
    {"asym pad c48",      1, 25, 26, 48, 32, 3, 3, 1, 1, 1, 1, 2, 0, 1, 2, 1},
    {"c64 oc64 20x20",    1, 20, 20, 64, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"c32 oc96 7 wide",   1, 64, 7,  32, 96, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"14x14 room",        1, 14, 14, 16, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, /* WINOGRAD_ROOM */
};
#define NWINO ((int)(sizeof wino_cases / sizeof wino_cases[0]))

/* shapes the kernels must decline: stride 2, dilation, 5x5, grouped, c or
 * oc off the vectors, a transformed kernel too big for the scratch (7x7x512) */
static const conv_case wino_declined[] = {
    {"s2",                1, 20, 20, 32, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
    {"d2",                1, 20, 20, 32, 32, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1},
    {"5x5",               1, 20, 20, 32, 32, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 1},
    {"groups 2",          1, 20, 20, 32, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2},
    {"c3",                1, 20, 20, 3,  32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"oc 40",             1, 20, 20, 32, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"7x7 c512",          1, 7,  7,  512, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
};
#define NWINO_DECLINED ((int)(sizeof wino_declined / sizeof wino_declined[0]))

static const residual_kernel wino_kernels[] = {
    {"nnc_rt_conv2d_forward_residual", NULL},
    {"nnc_rt_conv2d_forward_packed", NULL},
#if defined(__AVX2__) && defined(__FMA__)
    {"winograd2x2_6x16__avx2", nnc_rt_f32_conv2d_winograd2x2_6x16__avx2},
#endif
#if defined(__AVX512F__)
    {"winograd2x2_8x32__avx512", nnc_rt_f32_conv2d_winograd2x2_8x32__avx512},
#endif
};
#define NWINO_KERNELS ((int)(sizeof wino_kernels / sizeof wino_kernels[0]))

START_TEST(test_conv_winograd_reference)
{
    static const int acts[] = {NNC_RT_ACT_LINEAR, NNC_RT_ACT_RELU, NNC_RT_ACT_RELU6, NNC_RT_ACT_TANH};
    const residual_kernel *wk = &wino_kernels[_i];
    const int packed_entry = _i == 1; /* no residual, panels only */
    const nnc_rt_conv2d_variant *v;
    int k, a, panels, res, nv = nnc_rt_conv2d_variants(&v), simd = 0;
    for (k = 0; k < nv; k++) /* the runtime's build has the direct kernels: then Winograd too */
        simd |= strncmp(v[k].name, "direct_", 7) == 0;
    for (k = 0; k < NWINO; k++) {
        nnc_rt_conv2d p = conv_params(&wino_cases[k]);
        ck_assert_msg(nnc_rt_conv2d_winograd(&p) == simd, "the entry points %s %s by Winograd",
                      simd ? "do not take" : "take", wino_cases[k].name);
    }
    for (k = 0; k < NWINO_DECLINED; k++) {
        nnc_rt_conv2d p = conv_params(&wino_declined[k]);
        ck_assert_msg(!nnc_rt_conv2d_winograd(&p), "the entry points take %s by Winograd",
                      wino_declined[k].name);
    }
    for (k = 0; k < NWINO; k++) {
        conv_data d;
        double *ref, *mag;
        float *y, *wp, *rr;
        long i, worst = -1;
        conv_data_init(&d, &wino_cases[k], 2000 + k);
        ref = dalloc(d.ny);
        mag = dalloc(d.ny);
        y = guarded(d.ny);
        wp = falloc(d.nw);
        rr = falloc(d.ny);
        for (i = 0; i < d.ny; i++) /* outputs straddling 0 and 6 */
            rr[i] = 3.0f * d.r[i] + (i % 3 == 0 ? 5.5f : 0.0f);
        nnc_rt_gemm_pack_b(wp, d.w, (int)(d.nw / d.p.oc), d.p.oc);
        memset(mag, 0, sizeof(double) * (size_t)d.ny);
        FOR_EACH_TAP(&d.p, d.n, mag[yi] += fabs((double)d.x[xi] * d.w[wi]));
        for (panels = packed_entry; panels < 2; panels++)
            for (res = _i == 0; res < (packed_entry ? 1 : 2); res++) /* the entry points: one each */
                for (a = 0; a < 4; a++) {
                    const float *b = (a + k) % 2 ? NULL : d.b, *w = panels ? wp : d.w;
                    const float *r = res ? rr : NULL;
                    fill_nan(y, d.ny);
                    fill_nan(d.scratch, d.nscratch);
                    if (wk->fn)
                        ck_assert_msg(wk->fn(&d.p, y, d.x, w, panels, b, r, d.scratch, d.n, acts[a]),
                                      "%s declined %s", wk->name, wino_cases[k].name);
                    else if (packed_entry)
                        nnc_rt_conv2d_forward_packed(&d.p, y, d.x, w, b, d.scratch, d.n, acts[a]);
                    else
                        nnc_rt_conv2d_forward_residual(&d.p, y, d.x, w, panels, b, r, d.scratch, d.n,
                                                       acts[a]);
                    conv_ref_forward(&d.p, ref, d.x, d.w, b, d.n, NNC_RT_ACT_LINEAR);
                    for (i = 0; i < d.ny; i++)
                        ref[i] += r ? r[i] : 0.0;
                    ref_act(ref, d.ny / d.p.oc, d.p.oc, acts[a]);
                    for (i = 0; i < d.ny; i++) {
                        /* |err| <= 1e-5 + 2e-6 * (sum of |products| + |b| + |r|): float
                         * rounding of a few hundred terms, and nothing like a wrong tap */
                        double tol = 1e-5 + 2e-6 * (mag[i] + 1.0 + (r ? fabs(r[i]) : 0.0));
                        double err = fabs((double)y[i] - ref[i]);
                        if (!(err <= tol)) { /* NaN: not written */
                            worst = i;
                            break;
                        }
                    }
                    ck_assert_msg(worst < 0, "%s on %s (act %d, bias %d, residual %d, panels %d): "
                                  "y[%ld] = %.7g, want %.7g", wk->name, wino_cases[k].name, acts[a],
                                  b != NULL, res, panels, worst, worst >= 0 ? y[worst] : 0.0,
                                  worst >= 0 ? ref[worst] : 0.0);
                    ck_assert_msg(guard_ok(y, d.ny) && guard_ok(d.scratch, d.nscratch),
                                  "%s on %s: wrote past y or the scratch", wk->name, wino_cases[k].name);
                }
        free(ref); free(mag); free(y); free(wp); free(rr);
        conv_data_free(&d);
    }
    if (wk->fn)
        for (k = 0; k < NWINO_DECLINED; k++) {
            conv_data d;
            float *y;
            conv_data_init(&d, &wino_declined[k], 2100 + k);
            y = guarded(d.ny);
            fill_nan(y, d.ny);
            ck_assert_msg(!wk->fn(&d.p, y, d.x, d.w, 0, d.b, NULL, d.scratch, d.n, NNC_RT_ACT_RELU),
                          "%s took %s", wk->name, wino_declined[k].name);
            ck_assert_msg(isnan(y[0]) && guard_ok(y, d.ny), "%s wrote y declining %s", wk->name,
                          wino_declined[k].name);
            free(y);
            conv_data_free(&d);
        }
}
END_TEST

int main(void)
{
    const nnc_rt_conv2d_variant *v;
    const TTest *conv[] = {test_conv_forward_reference, test_conv_backward_reference,
                           test_conv_backward_gradcheck, test_conv_batch_independent,
                           test_conv_filter_bias, NULL};
    const TTest *listed[] = {test_conv_reference_is_literal, test_conv_variants_listed, NULL};
    const TTest *variants[] = {test_conv_variant_reference, NULL}; /* one run per variant */
    const TTest *packed[] = {test_conv_packed_reference, NULL};    /* one run per kernel */
    const TTest *residual[] = {test_conv_residual_reference, NULL}; /* one run per kernel */
    const TTest *wino[] = {test_conv_winograd_reference, NULL};     /* one run per kernel */
    const kernel_case cases[] = {{"conv", conv, 30, 0}, {"listed", listed, 60, 0},
                                 {"variants", variants, 60, nnc_rt_conv2d_variants(&v)},
                                 {"packed", packed, 60, NPACKED_KERNELS},
                                 {"residual", residual, 60, NRESIDUAL_KERNELS},
                                 {"winograd", wino, 60, NWINO_KERNELS}};
    return run_cases("conv", cases, (int)(sizeof cases / sizeof cases[0]));
}
