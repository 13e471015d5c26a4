/* test_act.c — the activations Keras users reach for beyond relu/sigmoid/
 * tanh (leaky_relu, elu, gelu in both forms, swish/silu, hard_sigmoid,
 * softplus), prelu and layer_normalization.
 *
 * Kernels (runtime/act.c, norm.c): each forward against its formula in
 * double at points across the range (far tails, the kinks' neighbours),
 * each backward against the formula's derivative and against central
 * differences of the float forward; prelu for every way alpha can
 * broadcast (one alpha, per channel, per element, two runs of axes);
 * layer norm against a literal double version, with and without gamma and
 * beta, dx in place.  Outputs are pre-filled with NaN and guarded.
 *
 * Whole models (bin/nnc -> C -> run, tests/model_check.c): a gradient
 * check through autodiff, fusion and the planner for every new layer and
 * for each activation as a dense/conv `activation =`, at -O0 and -O2;
 * -O0 and -O2 outputs agree; the errors the new layers give, by text.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc_rt.h"
#include "nnc_rt_kernels.h"
#include "kernel_check.h"
#include "model_build.h"

/* ---- the formulas, in double ---------------------------------------------------- */

static double sigm(double x) { return 1.0 / (1.0 + exp(-x)); }
#define K0 0.79788456080286535588   /* sqrt(2/pi) */
#define K1 0.044715

static double ref_f(int act, double a, double x)
{
    switch (act) {
    case NNC_RT_ACT_LEAKY_RELU: return x > 0 ? x : a * x;
    case NNC_RT_ACT_ELU: return x > 0 ? x : a * expm1(x);
    case NNC_RT_ACT_GELU: return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    case NNC_RT_ACT_GELU_TANH: return 0.5 * x * (1.0 + tanh(K0 * (x + K1 * x * x * x)));
    case NNC_RT_ACT_SWISH: case NNC_RT_ACT_SILU: return x * sigm(x);
    case NNC_RT_ACT_HARD_SIGMOID: return x <= -3 ? 0.0 : x >= 3 ? 1.0 : (x + 3.0) / 6.0;
    case NNC_RT_ACT_SOFTPLUS: return x > 30 ? x : log1p(exp(x));
    }
    ck_abort_msg("no formula for act %d", act);
    return 0;
}

static double ref_df(int act, double a, double x)
{
    double t;
    switch (act) {
    case NNC_RT_ACT_LEAKY_RELU: return x > 0 ? 1.0 : a;
    case NNC_RT_ACT_ELU: return x > 0 ? 1.0 : a * exp(x);
    case NNC_RT_ACT_GELU:
        return 0.5 * (1.0 + erf(x / sqrt(2.0))) + x * exp(-0.5 * x * x) / sqrt(2.0 * 3.14159265358979323846);
    case NNC_RT_ACT_GELU_TANH:
        t = tanh(K0 * (x + K1 * x * x * x));
        return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * K0 * (1.0 + 3.0 * K1 * x * x);
    case NNC_RT_ACT_SWISH: case NNC_RT_ACT_SILU: return sigm(x) * (1.0 + x * (1.0 - sigm(x)));
    case NNC_RT_ACT_HARD_SIGMOID: return x > -3 && x < 3 ? 1.0 / 6.0 : 0.0;
    case NNC_RT_ACT_SOFTPLUS: return sigm(x);
    }
    ck_abort_msg("no derivative for act %d", act);
    return 0;
}

static const struct { int act; float a; } kinds[] = {
    { NNC_RT_ACT_LEAKY_RELU, 0.2f }, { NNC_RT_ACT_LEAKY_RELU, 0.3f }, { NNC_RT_ACT_LEAKY_RELU, 0.0f },
    { NNC_RT_ACT_ELU, 1.0f }, { NNC_RT_ACT_ELU, 0.5f }, { NNC_RT_ACT_GELU, 0 }, { NNC_RT_ACT_GELU_TANH, 0 },
    { NNC_RT_ACT_SWISH, 0 }, { NNC_RT_ACT_SILU, 0 }, { NNC_RT_ACT_HARD_SIGMOID, 0 }, { NNC_RT_ACT_SOFTPLUS, 0 },
};
#define NKINDS ((int)(sizeof kinds / sizeof kinds[0]))

/* the points: the tails, around the kinks (0, +-3) but off them, and random ones */
#define NX 64
static void act_points(float *x)
{
    static const float fixed[] = { -100.0f, -30.0f, -9.0f, -3.5f, -3.01f, -2.99f, -1.0f, -0.3f, -1e-3f, 1e-3f,
                                   0.3f, 1.0f, 2.99f, 3.01f, 3.5f, 9.0f, 30.0f, 100.0f };
    const int nf = (int)(sizeof fixed / sizeof fixed[0]);
    nnc_rt_rng r;
    int i;
    nnc_rt_rng_seed(&r, 5);
    for (i = 0; i < NX; i++)
        x[i] = i < nf ? fixed[i] : -6.0f + 12.0f * nnc_rt_rng_uniform(&r);
}

START_TEST(act_forward_matches_formula)
{
    float x[NX], *y = guarded(NX);
    int k, i;
    act_points(x);
    for (k = 0; k < NKINDS; k++) {
        fill_nan(y, NX);
        nnc_rt_act_forward_alpha(kinds[k].act, kinds[k].a, y, x, 4, NX / 4);
        for (i = 0; i < NX; i++) {
            double want = ref_f(kinds[k].act, kinds[k].a, x[i]);
            ck_assert_msg(near(y[i], want, 1e-7, 2e-6), "act %d (a %g) at %g: %.9g, want %.9g", kinds[k].act,
                          kinds[k].a, x[i], y[i], want);
        }
        ck_assert(guard_ok(y, NX));
    }
    free(y);
}
END_TEST

START_TEST(act_backward_matches_derivative)
{
    float x[NX], y[NX], dy[NX], *dx = guarded(NX), dxi[NX];
    nnc_rt_rng r;
    int k, i;
    act_points(x);
    nnc_rt_rng_seed(&r, 6);
    fill_uniform(dy, NX, &r, -1.0f, 1.0f);
    for (k = 0; k < NKINDS; k++) {
        const int act = kinds[k].act;
        const float a = kinds[k].a;
        const float *saved = nnc_rt_act_needs_input(act) ? x : y;   /* what the backward kernel reads */
        nnc_rt_act_forward_alpha(act, a, y, x, 2, NX / 2);
        fill_nan(dx, NX);
        nnc_rt_act_backward_alpha(act, a, dx, dy, saved, 2, NX / 2);
        memcpy(dxi, dy, sizeof dxi);   /* dx may be dy */
        nnc_rt_act_backward_alpha(act, a, dxi, dxi, saved, 2, NX / 2);
        for (i = 0; i < NX; i++) {
            double want = dy[i] * ref_df(act, a, x[i]);
            ck_assert_msg(near(dx[i], want, 1e-7, 1e-5), "act %d (a %g) at %g: dx %.9g, want %.9g", act, a,
                          x[i], dx[i], want);
            ck_assert(dxi[i] == dx[i]);
        }
        ck_assert(guard_ok(dx, NX));
    }
    free(dx);
}
END_TEST

/* L = sum w act(x): its central differences against the backward kernel */
START_TEST(act_backward_finite_differences)
{
    float x[NX], y[NX], w[NX], dx[NX];
    nnc_rt_rng r;
    int k, i;
    nnc_rt_rng_seed(&r, 7);
    fill_uniform(x, NX, &r, -5.0f, 5.0f);
    fill_uniform(w, NX, &r, -1.0f, 1.0f);
    for (i = 0; i < NX; i++)   /* the kinks out of the step's reach */
        if (fabsf(x[i]) < 0.05f || fabsf(fabsf(x[i]) - 3.0f) < 0.05f)
            x[i] = 1.5f;
    for (k = 0; k < NKINDS; k++) {
        const int act = kinds[k].act;
        const float a = kinds[k].a, h = 1e-2f;
        nnc_rt_act_forward_alpha(act, a, y, x, 1, NX);
        nnc_rt_act_backward_alpha(act, a, dx, w, nnc_rt_act_needs_input(act) ? x : y, 1, NX);
        for (i = 0; i < NX; i++) {
            float xp = x[i] + h, xm = x[i] - h, yp, ym;
            double num;
            nnc_rt_act_forward_alpha(act, a, &yp, &xp, 1, 1);
            nnc_rt_act_forward_alpha(act, a, &ym, &xm, 1, 1);
            num = w[i] * ((double)yp - ym) / ((double)xp - xm);
            ck_assert_msg(near(dx[i], num, 2e-4, 2e-3), "act %d at %g: dx %g, numeric %g", act, x[i], dx[i], num);
        }
    }
}
END_TEST

/* gelu and swish run vectorised bodies (runtime/act.c): against the libm
 * reference at every length up to 40 (vector tails) and over [-20, 20],
 * values and gradients within 1e-7 + 4e-6 |reference| (observed: half that) */
START_TEST(act_vectorised_match_reference)
{
    static const int vec[] = { NNC_RT_ACT_GELU, NNC_RT_ACT_GELU_TANH, NNC_RT_ACT_SWISH, NNC_RT_ACT_SILU };
    enum { N = 4001 };
    float *x = falloc(N), *dy = falloc(N), *y = guarded(N), *yr = falloc(N), *dx = guarded(N), *dxr = falloc(N);
    nnc_rt_rng r;
    int k, len;
    long i;
    nnc_rt_rng_seed(&r, 9);
    for (i = 0; i < N; i++)
        x[i] = -20.0f + 40.0f * (float)i / (N - 1);
    fill_uniform(dy, N, &r, -1.0f, 1.0f);
    for (k = 0; k < 4; k++) {
        const int act = vec[k];
        nnc_rt_act_forward_ref(act, 0, yr, x, 1, N);
        nnc_rt_act_backward_ref(act, 0, dxr, dy, x, 1, N);
        for (len = 1; len <= 40; len++) {   /* lengths around the vector widths: the tail loops */
            fill_nan(y, len);
            y[len] = GUARD_VALUE;
            nnc_rt_act_forward_alpha(act, 0, y, x + 2000 - len / 2, 1, len);
            ck_assert(y[len] == GUARD_VALUE);
            for (i = 0; i < len; i++)
                ck_assert_msg(near(y[i], yr[2000 - len / 2 + i], 1e-7, 4e-6), "act %d len %d: %g vs %g", act, len,
                              y[i], yr[2000 - len / 2 + i]);
        }
        fill_nan(y, N);
        fill_nan(dx, N);
        nnc_rt_act_forward_alpha(act, 0, y, x, 1, N);
        nnc_rt_act_backward_alpha(act, 0, dx, dy, x, 1, N);
        for (i = 0; i < N; i++) {
            ck_assert_msg(near(y[i], yr[i], 1e-7, 4e-6), "act %d at %g: y %.9g, reference %.9g", act, x[i], y[i],
                          yr[i]);
            ck_assert_msg(near(dx[i], dxr[i], 1e-7, 4e-6), "act %d at %g: dx %.9g, reference %.9g", act, x[i],
                          dx[i], dxr[i]);
        }
        ck_assert(guard_ok(y, N) && guard_ok(dx, N));
    }
    free(x); free(dy); free(y); free(yr); free(dx); free(dxr);
}
END_TEST

/* the _alpha entry points compute the older kinds as nnc_rt_act_forward and
 * _backward do (those stop at relu6, so that a model without the newer
 * kinds links none of their code) */
START_TEST(act_older_kinds_through_alpha)
{
    float x[NX], y[NX], y2[NX], dy[NX], dx[NX], dx2[NX];
    nnc_rt_rng r;
    int act;
    act_points(x);
    nnc_rt_rng_seed(&r, 8);
    fill_uniform(dy, NX, &r, -1.0f, 1.0f);
    for (act = NNC_RT_ACT_LINEAR; act <= NNC_RT_ACT_RELU6; act++) {
        nnc_rt_act_forward(act, y, x, 4, NX / 4);
        nnc_rt_act_forward_alpha(act, 0.5f, y2, x, 4, NX / 4);
        ck_assert(!memcmp(y, y2, sizeof y));
        nnc_rt_act_backward(act, dx, dy, y, 4, NX / 4);
        nnc_rt_act_backward_alpha(act, 0.5f, dx2, dy, y, 4, NX / 4);
        ck_assert(!memcmp(dx, dx2, sizeof dx));
    }
}
END_TEST

/* hard-swish as an epilogue (imported inference graphs): nnc_rt_act_forward
 * computes nnc_rt_unary's HARD_SWISH to the bit, across the kinks (-3, 3),
 * at NaN and the infinities; and a convolution with it equals the linear
 * convolution then that unary, through each kernel the runtime picks (3x3
 * direct, depthwise, pointwise by GEMM, strided), with channel counts below,
 * at and past the vector widths and tiles */
START_TEST(act_hard_swish_epilogue)
{
    static const struct { int h, w, c, oc, k, s, pad, groups; } convs[] = {
        {5, 6, 3, 4, 3, 1, 1, 1}, {9, 7, 8, 33, 3, 2, 1, 1}, {6, 7, 16, 16, 3, 1, 1, 16},
        {7, 5, 21, 21, 3, 2, 1, 21}, {5, 4, 5, 7, 1, 1, 0, 1}, {6, 9, 24, 40, 1, 1, 0, 1},
        {12, 11, 17, 33, 3, 1, 1, 1}};
    enum { N = 203 };
    float x[N], y[N], u[N];
    nnc_rt_rng r;
    int i, k, n;
    for (i = 0; i < N; i++)
        x[i] = -5.0f + 10.0f * (float)i / (N - 1);
    x[0] = NAN, x[1] = INFINITY, x[2] = -INFINITY, x[3] = -3.0f, x[4] = 3.0f;
    nnc_rt_act_forward(NNC_RT_ACT_HARD_SWISH, y, x, 7, 29);
    nnc_rt_unary(NNC_RT_UN_HARD_SWISH, u, x, N, 0, 0);
    ck_assert(isnan(y[0]) && isnan(u[0]));
    ck_assert(!memcmp(y + 1, u + 1, sizeof y - sizeof y[0]));
    for (i = 5; i < N; i++) {
        double v = x[i] + 3.0;
        ck_assert(near(y[i], x[i] * (v < 0 ? 0 : v > 6 ? 6 : v) / 6.0, 1e-7, 1e-6));
    }
    nnc_rt_act_forward_ref(NNC_RT_ACT_HARD_SWISH, 0, y, x, 1, N);
    ck_assert(!memcmp(y + 1, u + 1, sizeof y - sizeof y[0]));
    nnc_rt_rng_seed(&r, 17);
    for (k = 0; k < (int)(sizeof convs / sizeof convs[0]); k++)
        for (n = 1; n <= 2; n++) {
            nnc_rt_conv2d p;
            long nx, nw, ny, ns, j;
            float *cx, *cw, *cb, *y1, *y2, *scratch;
            memset(&p, 0, sizeof p);
            p.h = convs[k].h, p.w = convs[k].w, p.c = convs[k].c, p.oc = convs[k].oc;
            p.kh = p.kw = convs[k].k, p.sh = p.sw = convs[k].s, p.dh = p.dw = 1;
            p.pt = p.pl = convs[k].pad, p.groups = convs[k].groups;
            p.oh = (p.h + 2 * p.pt - p.kh) / p.sh + 1, p.ow = (p.w + 2 * p.pl - p.kw) / p.sw + 1;
            nx = (long)n * p.h * p.w * p.c, nw = (long)p.kh * p.kw * (p.c / p.groups) * p.oc;
            ny = (long)n * p.oh * p.ow * p.oc, ns = NNC_RT_CONV2D_SCRATCH(&p) * n + 1;
            cx = falloc(nx), cw = falloc(nw), cb = falloc(p.oc), scratch = falloc(ns);
            y1 = guarded(ny), y2 = guarded(ny);
            fill_uniform(cx, nx, &r, -2, 2);
            fill_uniform(cw, nw, &r, -1, 1);
            fill_uniform(cb, p.oc, &r, -2, 2);   /* outputs on both sides of the kinks */
            fill_nan(y1, ny);
            fill_nan(y2, ny);
            nnc_rt_conv2d_forward(&p, y1, cx, cw, cb, scratch, n, NNC_RT_ACT_LINEAR);
            nnc_rt_unary(NNC_RT_UN_HARD_SWISH, y1, y1, ny, 0, 0);
            nnc_rt_conv2d_forward(&p, y2, cx, cw, cb, scratch, n, NNC_RT_ACT_HARD_SWISH);
            for (j = 0; j < ny; j++)
                ck_assert_msg(near(y2[j], y1[j], 1e-6, 1e-6), "conv %d n %d: y[%ld] %.9g, conv then unary %.9g",
                              k, n, j, y2[j], y1[j]);
            ck_assert(guard_ok(y1, ny) && guard_ok(y2, ny));
            free(cx); free(cw); free(cb); free(scratch); free(y1); free(y2);
        }
}
END_TEST

/* no overflow or NaN at the float range's ends */
START_TEST(act_extremes_are_finite)
{
    float x[4] = { -FLT_MAX, -1e30f, 1e30f, FLT_MAX }, y[4], dx[4], dy[4] = { 1, 1, 1, 1 };
    int k, i;
    for (k = 0; k < NKINDS; k++) {
        nnc_rt_act_forward_alpha(kinds[k].act, kinds[k].a, y, x, 1, 4);
        nnc_rt_act_backward_alpha(kinds[k].act, kinds[k].a, dx, dy,
                                  nnc_rt_act_needs_input(kinds[k].act) ? x : y, 1, 4);
        for (i = 0; i < 4; i++) {
            ck_assert_msg(!isnan(y[i]), "act %d at %g: y NaN", kinds[k].act, x[i]);
            ck_assert_msg(isfinite(dx[i]), "act %d at %g: dx %g", kinds[k].act, x[i], dx[i]);
        }
    }
}
END_TEST

/* ---- prelu ------------------------------------------------------------------------- */

/* a sample of dims[0..rank) with the shared axes (0-based here) set: the
 * descriptor the compiler would emit, built here independently: alpha's
 * index from the coordinates */
typedef struct prelu_case {
    const char *name;
    int rank, dims[4], shared[4];
} prelu_case;

static const prelu_case prelu_cases[] = {
    { "per element (Keras' default)", 3, { 3, 4, 5 }, { 0, 0, 0 } },
    { "per channel (shared 1, 2)", 3, { 3, 4, 5 }, { 1, 1, 0 } },
    { "one alpha", 2, { 4, 6 }, { 1, 1 } },
    { "per row (shared 3)", 3, { 3, 4, 5 }, { 0, 0, 1 } },
    { "two runs (shared 2)", 3, { 3, 4, 5 }, { 0, 1, 0 } },
    { "two runs, unit axes", 4, { 2, 1, 3, 5 }, { 0, 1, 1, 0 } },
    { "vector", 1, { 7 }, { 0 } },
};
#define NPRELU ((int)(sizeof prelu_cases / sizeof prelu_cases[0]))

static long ref_alpha_at(const prelu_case *c, long i)
{
    long k = 0, mul = 1;
    int d;
    for (d = c->rank - 1; d >= 0; d--) {
        long coord = i % c->dims[d];
        i /= c->dims[d];
        if (!c->shared[d]) {
            k += coord * mul;
            mul *= c->dims[d];
        }
    }
    return k;
}

/* the descriptor by the rule the compiler applies (ops/activation.c prelu_shape) */
static nnc_rt_prelu prelu_desc(const prelu_case *c, long *na)
{
    nnc_rt_prelu p;
    long inner, stride = 1;
    int k;
    memset(&p, 0, sizeof p);
    p.size = 1;
    for (k = 0; k < c->rank; k++) {
        p.size *= c->dims[k];
        if (!c->shared[k]) stride *= c->dims[k];
    }
    *na = stride;
    inner = p.size;
    for (k = 0; k < c->rank; k++) {
        long d = c->dims[k];
        inner /= d;
        if (c->shared[k] || d == 1) continue;
        stride /= d;
        if (p.runs && p.inner[p.runs - 1] == inner * d) {
            p.inner[p.runs - 1] = inner;
            p.len[p.runs - 1] *= d;
            p.stride[p.runs - 1] = stride;
            continue;
        }
        p.inner[p.runs] = inner;
        p.len[p.runs] = d;
        p.stride[p.runs++] = stride;
    }
    return p;
}

START_TEST(prelu_against_reference)
{
    const prelu_case *c = &prelu_cases[_i];
    const int n = 3;
    long na, i, s;
    nnc_rt_prelu p = prelu_desc(c, &na);
    long total = n * p.size;
    float *x = falloc(total), *dy = falloc(total), *alpha = falloc(na);
    float *y = guarded(total), *dx = guarded(total), *da = guarded(na), *dai = guarded(na);
    double *wda = dalloc(na);
    nnc_rt_rng r;
    nnc_rt_rng_seed(&r, 11 + (uint64_t)_i);
    fill_uniform(x, total, &r, -2.0f, 2.0f);
    fill_uniform(dy, total, &r, -1.0f, 1.0f);
    fill_uniform(alpha, na, &r, -0.5f, 0.8f);
    nnc_rt_prelu_forward(&p, y, x, alpha, n);
    nnc_rt_prelu_backward(&p, dx, da, dy, x, alpha, n);
    for (s = 0; s < n; s++)
        for (i = 0; i < p.size; i++) {
            long q = s * p.size + i, k = ref_alpha_at(c, i);
            double want = x[q] > 0 ? x[q] : (double)alpha[k] * x[q];
            ck_assert_msg(y[q] == (float)want, "%s: y[%ld] = %g, want %g", c->name, q, y[q], want);
            want = x[q] > 0 ? dy[q] : (double)dy[q] * alpha[k];
            ck_assert_msg(near(dx[q], want, 1e-7, 1e-6), "%s: dx[%ld] = %g, want %g", c->name, q, dx[q], want);
            if (x[q] <= 0) wda[k] += (double)dy[q] * x[q];
        }
    ck_assert(first_bad(da, wda, na, 1e-5, 1e-5) == na);
    ck_assert(guard_ok(y, total) && guard_ok(dx, total) && guard_ok(da, na));
    /* dx not wanted; y and dx in place */
    nnc_rt_prelu_backward(&p, NULL, dai, dy, x, alpha, n);
    ck_assert(!memcmp(dai, da, sizeof(float) * (size_t)na) && guard_ok(dai, na));
    nnc_rt_prelu_backward(&p, dy, dai, dy, x, alpha, n);
    ck_assert(!memcmp(dy, dx, sizeof(float) * (size_t)total));
    nnc_rt_prelu_forward(&p, x, x, alpha, n);
    ck_assert(!memcmp(x, y, sizeof(float) * (size_t)total));
    free(x); free(dy); free(alpha); free(y); free(dx); free(da); free(dai); free(wda);
}
END_TEST

/* ---- layer norm -------------------------------------------------------------------- */

static void ln_ref(double *y, const float *x, const float *g, const float *b, long rows, int c, double eps)
{
    long r;
    int j;
    for (r = 0; r < rows; r++) {
        double mu = 0, var = 0;
        for (j = 0; j < c; j++) mu += x[r * c + j];
        mu /= c;
        for (j = 0; j < c; j++) var += (x[r * c + j] - mu) * (x[r * c + j] - mu);
        var /= c;
        for (j = 0; j < c; j++)
            y[r * c + j] = (x[r * c + j] - mu) / sqrt(var + eps) * (g ? g[j] : 1.0) + (b ? b[j] : 0.0);
    }
}

/* L = sum w ln(x) in double, for central differences */
static double ln_objective(const float *x, const float *g, const float *b, const float *w, long rows, int c,
                           double eps, double *scratch)
{
    double s = 0;
    long i;
    ln_ref(scratch, x, g, b, rows, c, eps);
    for (i = 0; i < rows * c; i++) s += w[i] * scratch[i];
    return s;
}

START_TEST(layernorm_against_reference)
{
    static const int shapes[][2] = { { 5, 8 }, { 3, 1 }, { 4, 33 }, { 1, 300 } };
    const int affine = _i % 4;   /* bit 0: gamma, bit 1: beta */
    const long rows = shapes[_i / 4][0];
    const int c = shapes[_i / 4][1];
    const float eps = 1e-3f;
    const long size = rows * c;
    float *x = falloc(size), *w = falloc(size), *gm = falloc(c), *bt = falloc(c);
    float *y = guarded(size), *mean = guarded(rows), *invstd = guarded(rows), *dx = guarded(size);
    float *dg = guarded(c), *db = guarded(c), *dxi = falloc(size);
    double *want = dalloc(size), *scratch = dalloc(size);
    const float *g = affine & 1 ? gm : NULL, *b = affine & 2 ? bt : NULL;
    nnc_rt_rng r;
    long i;
    nnc_rt_rng_seed(&r, 21 + (uint64_t)_i);
    fill_uniform(x, size, &r, -3.0f, 5.0f);
    fill_uniform(w, size, &r, -1.0f, 1.0f);
    fill_uniform(gm, c, &r, 0.5f, 1.5f);
    fill_uniform(bt, c, &r, -0.5f, 0.5f);
    nnc_rt_layernorm_forward(y, mean, invstd, x, g, b, rows, c, eps);
    ln_ref(want, x, g, b, rows, c, eps);
    ck_assert_msg(first_bad(y, want, size, 1e-5, 1e-5) == size, "c %d affine %d", c, affine);
    ck_assert(guard_ok(y, size) && guard_ok(mean, rows) && guard_ok(invstd, rows));
    nnc_rt_layernorm_backward(dx, dg, db, w, x, mean, invstd, g, rows, c);
    /* dx, dgamma, dbeta against central differences of the double version */
    for (i = 0; i < size; i++) {
        const float keep = x[i], h = 1e-2f;
        double fp, fm;
        x[i] = keep + h;
        fp = ln_objective(x, g, b, w, rows, c, eps, scratch);
        x[i] = keep - h;
        fm = ln_objective(x, g, b, w, rows, c, eps, scratch);
        x[i] = keep;
        ck_assert_msg(near(dx[i], (fp - fm) / (2.0 * h), 1e-3, 1e-2), "c %d dx[%ld] = %g, numeric %g", c, i, dx[i],
                      (fp - fm) / (2.0 * h));
    }
    for (i = 0; i < c; i++) {
        double sg = 0, sb = 0;
        long q;
        for (q = 0; q < rows; q++) {
            sg += w[q * c + i] * (x[q * c + i] - mean[q]) * invstd[q];
            sb += w[q * c + i];
        }
        ck_near(dg[i], sg, 1e-5, 1e-5);
        ck_near(db[i], sb, 1e-5, 1e-5);
    }
    ck_assert(guard_ok(dx, size) && guard_ok(dg, c) && guard_ok(db, c));
    /* in place, and nothing but dx */
    memcpy(dxi, w, sizeof(float) * (size_t)size);
    nnc_rt_layernorm_backward(dxi, NULL, NULL, dxi, x, mean, invstd, g, rows, c);
    ck_assert(!memcmp(dxi, dx, sizeof(float) * (size_t)size));
    nnc_rt_layernorm_forward(x, NULL, NULL, x, g, b, rows, c, eps);
    ck_assert(!memcmp(x, y, sizeof(float) * (size_t)size));
    free(x); free(w); free(gm); free(bt); free(y); free(mean); free(invstd); free(dx); free(dg); free(db);
    free(dxi); free(want); free(scratch);
}
END_TEST

/* ---- whole models -------------------------------------------------------------------- */

/* h: the step.  3e-3 in general (smaller steps drown small gradients in the
 * float loss's rounding); 1e-3 for the piecewise-linear models (leaky_relu,
 * prelu bend by 0.3 .. 1 at 0): a larger step crosses the kink for a few
 * parameters by too little to be counted as kinked (tests/model_check.c)
 * yet enough to move the difference */
static void gradcheck(const char *name, const char *src, const char *flags, const char *h)
{
    char cmd[512], out[8192];
    snprintf(cmd, sizeof cmd, "%s gradcheck %s", build_model(name, src, flags, "gcc"), h);
    ck_assert_int_eq(run(cmd, out, sizeof out), 0);
    ck_assert_msg(field(out, "checked") >= 10, "%s", out);
    ck_assert_msg(field(out, "kinked") <= 0.1 * field(out, "checked"), "%s %s: too many kinks\n%s", name, flags,
                  out);
    ck_assert_msg(field(out, "bad") == 0, "%s %s: gradient mismatch\n%s", name, flags, out);
}

#define MODEL(name, input, layers, loss) \
    "model " name " {\n  input x: f32[" input "]\n" layers "}\n" \
    "train " name " {\n  loss " loss "\n  optimizer adam\n  batch 8\n}\n"
#define SCCE "sparse_categorical_crossentropy"

/* every activation as a layer (leaky_relu and elu with their arguments) */
static const char *const layer_models[][3] = {
    { "l_leaky", MODEL("l_leaky", "6", "  dense(7)\n  leaky_relu\n  dense(5)\n  leaky_relu(negative_slope = 0.05)\n"
                                       "  dense(3, softmax)\n", SCCE), "1e-3" },
    { "l_elu", MODEL("l_elu", "6", "  dense(7)\n  elu\n  dense(5)\n  elu(alpha = 0.4)\n  dense(3, softmax)\n",
                     SCCE), "3e-3" },
    { "l_gelu", MODEL("l_gelu", "6", "  dense(7)\n  gelu\n  dense(5)\n  gelu(approximate = true)\n"
                                     "  dense(3, softmax)\n", SCCE), "3e-3" },
    { "l_swish", MODEL("l_swish", "6", "  dense(7)\n  swish\n  dense(5)\n  silu\n  dense(3, softmax)\n", SCCE),
      "3e-3" },
    { "l_hsig", MODEL("l_hsig", "6", "  dense(7)\n  hard_sigmoid\n  dense(5)\n  softplus\n  dense(3, softmax)\n",
                      SCCE), "3e-3" },
};

/* each as a dense / conv activation argument (fused into the epilogue where it can be) */
static const char *const arg_models[][3] = {
    { "a_dense", MODEL("a_dense", "6", "  dense(7, leaky_relu)\n  dense(7, elu)\n  dense(6, gelu)\n  dense(6, swish)\n"
                                       "  dense(5, silu)\n  dense(5, hard_sigmoid)\n  dense(4, softplus)\n"
                                       "  dense(3, softmax)\n", SCCE), "3e-3" },
    { "a_conv2d", MODEL("a_conv2d", "6, 6, 2", "  conv2d(4, 3, padding = same, activation = gelu)\n"
                                               "  conv2d(4, 3, activation = leaky_relu)\n  flatten\n"
                                               "  dense(3, softmax)\n", SCCE), "1e-3" },
    { "a_conv1d", MODEL("a_conv1d", "8, 3", "  conv1d(4, 3, activation = swish)\n  conv1d(4, 3, activation = elu)\n"
                                            "  flatten\n  dense(2, hard_sigmoid)\n", "mse"), "3e-3" },
};

static const char *const prelu_ln_models[][3] = {
    /* Keras' default: an alpha per element; glorot so that the check sees both slopes */
    { "p_dense", MODEL("p_dense", "6", "  dense(7)\n  prelu(alpha_initializer = glorot_uniform)\n  dense(5)\n"
                                       "  prelu\n  dense(3, softmax)\n", SCCE), "1e-3" },
    /* per channel on a conv output, per row, and a regularised alpha */
    { "p_conv", MODEL("p_conv", "5, 5, 2",
                      "  conv2d(3, 3, padding = same)\n  prelu(shared_axes = 1, 2, alpha_initializer = uniform)\n"
                      "  conv2d(4, 3)\n  prelu(3, alpha_initializer = uniform, alpha_regularizer = l2(0.1))\n"
                      "  flatten\n  dense(3, softmax)\n", SCCE), "1e-3" },
    { "n_dense", MODEL("n_dense", "6", "  dense(8)\n  layer_normalization\n  relu\n"
                                       "  dense(5)\n  layer_normalization(epsilon = 0.01, center = false)\n"
                                       "  dense(4)\n  layer_normalization(scale = false, beta_regularizer = l2(0.1))\n"
                                       "  dense(3, softmax)\n", SCCE), "3e-3" },
    /* over the features of every step of a sequence, straight on the input (no dx wanted) */
    { "n_seq", MODEL("n_seq", "4, 6", "  layer_normalization(axis = 2)\n  conv1d(5, 2, activation = gelu)\n"
                                      "  layer_normalization(gamma_initializer = uniform, beta_initializer = uniform,\n"
                                      "                      gamma_regularizer = l1_l2(l1 = 0.01, l2 = 0.1))\n"
                                      "  flatten\n  dense(2, softmax)\n", SCCE), "3e-3" },
};

START_TEST(grad_activation_layers)
{
    gradcheck(layer_models[_i][0], layer_models[_i][1], "-O2", layer_models[_i][2]);
    gradcheck(layer_models[_i][0], layer_models[_i][1], "-O0", layer_models[_i][2]);
}
END_TEST

START_TEST(grad_activation_arguments)
{
    gradcheck(arg_models[_i][0], arg_models[_i][1], "-O2", arg_models[_i][2]);
    gradcheck(arg_models[_i][0], arg_models[_i][1], "-O0", arg_models[_i][2]);
}
END_TEST

START_TEST(grad_prelu_layer_norm)
{
    gradcheck(prelu_ln_models[_i][0], prelu_ln_models[_i][1], "-O2", prelu_ln_models[_i][2]);
    gradcheck(prelu_ln_models[_i][0], prelu_ln_models[_i][1], "-O0", prelu_ln_models[_i][2]);
}
END_TEST

/* the outputs and three training losses at -O0 and -O2 agree */
START_TEST(o0_matches_o2)
{
    const char *const *m = _i < 5 ? layer_models[_i] : _i < 8 ? arg_models[_i - 5] : prelu_ln_models[_i - 8];
    char cmd[512], a[16384], b[16384];
    snprintf(cmd, sizeof cmd, "%s outputs", build_model(m[0], m[1], "-O0", "gcc"));
    ck_assert_int_eq(run(cmd, a, sizeof a), 0);
    snprintf(cmd, sizeof cmd, "%s outputs", build_model(m[0], m[1], "-O2", "gcc"));
    ck_assert_int_eq(run(cmd, b, sizeof b), 0);
    /* token by token within float tolerance */
    char *sa, *sb, *pa = a, *pb = b;
    for (;;) {
        char *ta = strtok_r(pa, " \n", &sa), *tb = strtok_r(pb, " \n", &sb);
        pa = pb = NULL;
        if (!ta || !tb) {
            ck_assert_msg(!ta && !tb, "%s: -O0 and -O2 print different amounts", m[0]);
            break;
        }
        char *ea, *eb;
        double va = strtod(ta, &ea), vb = strtod(tb, &eb);
        if (*ea || *eb || ea == ta) ck_assert_str_eq(ta, tb);
        else ck_assert_msg(near(va, vb, 1e-5, 1e-4), "%s: -O0 %s, -O2 %s", m[0], ta, tb);
    }
}
END_TEST

/* nnc's exit status and what it printed */
static void expect_error(const char *src, const char *expected)
{
    char path[256], cmd[1024], out[8192];
    snprintf(path, sizeof path, "%s/bad.nn", dir);
    write_text(path, src);
    snprintf(cmd, sizeof cmd, "cd %s && %s bad.nn -o bad.c", dir, nnc);
    ck_assert_int_eq(run(cmd, out, sizeof out), 1);
    ck_assert_str_eq(out, expected);
}

START_TEST(diagnostics)
{
    expect_error("model m {\n  input x: f32[4]\n  leaky_relu(negative_slope = -0.1)\n}\n",
                 "bad.nn:3:3: error: leaky_relu needs negative_slope >= 0, got -0.1\n"
                 "  leaky_relu(negative_slope = -0.1)\n  ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n");
    expect_error("model m {\n  input x: f32[4]\n  elu(-1)\n}\n",
                 "bad.nn:3:3: error: elu needs alpha >= 0, got -1\n  elu(-1)\n  ^~~~~~~\n");
    expect_error("model m {\n  input x: f32[4, 3]\n  layer_normalization(axis = 1)\n}\n",
                 "bad.nn:3:3: error: layer_normalization normalises the last axis only (axis = -1 or 2 for input "
                 "(n, 4, 3)), got axis = 1\n  layer_normalization(axis = 1)\n  ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n");
    expect_error("model m {\n  input x: f32[4, 3]\n  prelu(shared_axes = 3)\n}\n",
                 "bad.nn:3:3: error: prelu: shared axis 3 is not an axis of its input (n, 4, 3) (1 .. 2; 0 is the "
                 "batch)\n  prelu(shared_axes = 3)\n  ^~~~~~~~~~~~~~~~~~~~~~\n");
    expect_error("model m {\n  input x: f32[4, 3]\n  simple_rnn(5, activation = gelu)\n}\n",
                 "bad.nn:3:3: error: simple_rnn: gelu is not a state activation; use tanh, relu, sigmoid or "
                 "linear\n  simple_rnn(5, activation = gelu)\n  ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n");
    expect_error("model m {\n  input x: f32[4]\n  dense(3, activation = leakyrelu)\n}\n",
                 "bad.nn:3:25: error: unknown activation 'leakyrelu'; did you mean 'leaky_relu'?\n"
                 "  dense(3, activation = leakyrelu)\n                        ^~~~~~~~~\n");
}
END_TEST

int main(void)
{
    const TTest *kernels[] = { act_hard_swish_epilogue, act_forward_matches_formula, act_backward_matches_derivative,
                               act_backward_finite_differences, act_vectorised_match_reference,
                               act_older_kinds_through_alpha, act_extremes_are_finite, NULL };
    const TTest *prelu[] = { prelu_against_reference, NULL };
    const TTest *ln[] = { layernorm_against_reference, NULL };
    const TTest *layers[] = { grad_activation_layers, NULL };
    const TTest *args[] = { grad_activation_arguments, NULL };
    const TTest *pl[] = { grad_prelu_layer_norm, NULL };
    const TTest *opt[] = { o0_matches_o2, NULL };
    const TTest *diag[] = { diagnostics, NULL };
    const kernel_case cases[] = {
        { "kernels", kernels, 0, 0 },
        { "prelu", prelu, 0, NPRELU },
        { "layer_norm", ln, 0, 16 },
        { "layers", layers, 120, 5 },
        { "arguments", args, 120, 3 },
        { "prelu_layer_norm", pl, 120, 4 },
        { "o0_o2", opt, 120, 12 },
        { "diagnostics", diag, 60, 0 },
    };
    if (model_build_init("test_act")) return 1;
    int st = run_cases("act", cases, (int)(sizeof cases / sizeof cases[0]));
    model_build_done();
    return st;
}
