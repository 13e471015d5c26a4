/* act.c — activations (forward and backward), PReLU, bias gradient,
 * elementwise add.
 *
 * Design: backward kernels take the forward OUTPUT y, not the input, so the
 * planner can drop x as soon as y exists (and relu/sigmoid/tanh/softmax can
 * all run in place).  gelu and swish are the exception: they are not
 * monotonic, y does not determine x, so theirs take x
 * (nnc_rt_act_needs_input).  PReLU's alpha may be 0 (Keras' initial value),
 * so its backward takes x as well.  Plain C throughout: gelu and swish have
 * bodies written for gcc to vectorise (below), beside their libm reference;
 * the other new kinds are a compare (vectorised as it is) or one libm call.
 * Every formula below is written so that it never overflows: sigmoid splits
 * on the sign of x, softmax subtracts the row max.
 * (dense_forward lives in gemm.c: it is a GEMM with a fused epilogue.)
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nnc_rt.h"
#include "nnc_rt_kernels.h"
#include "parallel.h"

/* sigmoid(x) = 1/(1+e^-x) for x >= 0, e^x/(1+e^x) for x < 0: the exponent
 * is never positive, so nothing overflows and small outputs keep precision. */
float nnc_rt_sigmoid(float x)
{
    if (x >= 0.0f)
        return 1.0f / (1.0f + expf(-x));
    else {
        float e = expf(x);
        return e / (1.0f + e);
    }
}

/* softmax(x)_j = e^(x_j - max x) / sum_i e^(x_i - max x), per row.
 * y is (n, m), x is (n, m); y may equal x. */
static void softmax_forward(float *y, const float *x, int n, int m)
{
    long r;
    int j;
    if (m <= 0)
        return;
    for (r = 0; r < n; r++) {
        const float *xr = x + r * m;
        float *yr = y + r * m;
        float mx = xr[0], s = 0.0f, inv;
        for (j = 1; j < m; j++)
            mx = xr[j] > mx ? xr[j] : mx;
        for (j = 0; j < m; j++) {
            yr[j] = expf(xr[j] - mx);
            s += yr[j];
        }
        inv = 1.0f / s;
        for (j = 0; j < m; j++)
            yr[j] *= inv;
    }
}

/* gelu's two forms and swish, one element: the forward value and the
 * derivative, both from x */
#define GELU_K0 0.7978845608f  /* sqrt(2/pi) */
#define GELU_K1 0.044715f
#define INV_SQRT2 0.70710678f
#define INV_SQRT_2PI 0.39894228f

/* Phi(x) = erfc(-x / sqrt 2) / 2: erfc keeps the left tail's digits, which
 * 1 + erf(x / sqrt 2) cancels away */
static float gelu(float x) { return 0.5f * x * erfcf(-x * INV_SQRT2); }

/* Phi(x) + x phi(x) */
static float gelu_grad(float x)
{
    return 0.5f * erfcf(-x * INV_SQRT2) + x * INV_SQRT_2PI * expf(-0.5f * x * x);
}

/* x/2 (1 + tanh u) = x sigmoid(2u), u = k0 (x + k1 x^3): no cancellation as t -> -1 */
static float gelu_tanh(float x)
{
    return x * nnc_rt_sigmoid(2.0f * GELU_K0 * (x + GELU_K1 * x * x * x));
}

/* with s = sigmoid(2u): s + 2 x s (1 - s) k0 (1 + 3 k1 x^2), 1 - s = sigmoid(-2u) */
static float gelu_tanh_grad(float x)
{
    float u2, s;
    if (fabsf(x) > 10.0f)   /* s is 0 or 1 in float: 0 * inf would be NaN for huge x */
        return x > 0.0f ? 1.0f : 0.0f;
    u2 = 2.0f * GELU_K0 * (x + GELU_K1 * x * x * x);
    s = nnc_rt_sigmoid(u2);
    return s + 2.0f * x * s * nnc_rt_sigmoid(-u2) * GELU_K0 * (1.0f + 3.0f * GELU_K1 * x * x);
}

/* y is (n, m), x is (n, m).  The kinds up to relu6: what the GEMM and
 * convolution epilogues apply (and the compiler fuses, act_fusable), and
 * nothing else, so that a model of these links none of the others' code
 * (erfcf alone is kilobytes of a Cortex-M's flash) */
static void act_forward_rows(int act, float *y, const float *x, int n, int m)
{
    long i, size = (long)n * m;
    switch (act) {
    case NNC_RT_ACT_RELU:
        for (i = 0; i < size; i++)
            y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case NNC_RT_ACT_SIGMOID:
        for (i = 0; i < size; i++)
            y[i] = nnc_rt_sigmoid(x[i]);
        break;
    case NNC_RT_ACT_TANH:
        for (i = 0; i < size; i++)
            y[i] = tanhf(x[i]);
        break;
    case NNC_RT_ACT_SOFTMAX:
        softmax_forward(y, x, n, m);
        break;
    case NNC_RT_ACT_RELU6:
        for (i = 0; i < size; i++)
            y[i] = x[i] > 0.0f ? (x[i] < 6.0f ? x[i] : 6.0f) : 0.0f;
        break;
    case NNC_RT_ACT_HARD_SWISH: {
        const float one = nnc_rt_opaque_one();   /* nnc_rt_hard_swish_one says why */
        for (i = 0; i < size; i++)
            y[i] = nnc_rt_hard_swish_one(x[i], one);
        break;
    }
    case NNC_RT_ACT_LINEAR:
    default:
        if (y != x)
            memmove(y, x, (size_t)size * sizeof *y);
        break;
    }
}

/* the other kinds through libm, as their formulas read: the kernels of
 * leaky_relu, elu, hard_sigmoid and softplus, the reference of gelu and
 * swish; a: the parameter of leaky_relu and elu */
static void more_forward(int act, float a, float *y, const float *x, long size)
{
    long i;
    switch (act) {
    case NNC_RT_ACT_LEAKY_RELU:
        for (i = 0; i < size; i++)
            y[i] = x[i] > 0.0f ? x[i] : a * x[i];
        break;
    case NNC_RT_ACT_ELU:   /* expm1: a (e^x - 1) keeps its digits near 0 */
        for (i = 0; i < size; i++)
            y[i] = x[i] > 0.0f ? x[i] : a * expm1f(x[i]);
        break;
    case NNC_RT_ACT_GELU:
        for (i = 0; i < size; i++)
            y[i] = gelu(x[i]);
        break;
    case NNC_RT_ACT_GELU_TANH:
        for (i = 0; i < size; i++)
            y[i] = gelu_tanh(x[i]);
        break;
    case NNC_RT_ACT_SWISH:
    case NNC_RT_ACT_SILU:
        for (i = 0; i < size; i++)
            y[i] = x[i] * nnc_rt_sigmoid(x[i]);
        break;
    case NNC_RT_ACT_HARD_SIGMOID:   /* relu6(x + 3) / 6, as Keras 3 writes it */
        for (i = 0; i < size; i++) {
            float v = x[i] + 3.0f;
            y[i] = (v > 0.0f ? (v < 6.0f ? v : 6.0f) : 0.0f) / 6.0f;
        }
        break;
    case NNC_RT_ACT_SOFTPLUS:   /* max(x, 0) + log(1 + e^-|x|): no overflow, no cancellation */
        for (i = 0; i < size; i++)
            y[i] = (x[i] > 0.0f ? x[i] : 0.0f) + log1pf(expf(-fabsf(x[i])));
        break;
    }
}

void nnc_rt_act_forward_ref(int act, float a, float *y, const float *x, int n, int m)
{
    if (act < NNC_RT_ACT_LEAKY_RELU || act == NNC_RT_ACT_HARD_SWISH)
        nnc_rt_act_forward(act, y, x, n, m);
    else
        more_forward(act, a, y, x, (long)n * m);
}

/* In terms of the forward output y:
 *   relu          dx = dy * (y > 0)
 *   relu6         dx = dy * (0 < y < 6)
 *   sigmoid       dx = dy * y * (1 - y)
 *   tanh          dx = dy * (1 - y^2)
 *   softmax       dx = y * (dy - sum_j dy_j y_j), per row
 *   leaky_relu    dx = dy * (y > 0 ? 1 : a)           (a >= 0: y > 0 iff x > 0)
 *   elu           dx = dy * (y > 0 ? 1 : y + a)       (a e^x = y + a for x <= 0)
 *   hard_sigmoid  dx = dy / 6 * (0 < y < 1)
 *   softplus      dx = dy * sigmoid(x) = dy * (1 - e^-y)
 * and of the forward INPUT x (here the argument y, nnc_rt_act_needs_input):
 *   gelu          dx = dy * (Phi(x) + x phi(x))
 *   gelu (tanh)   dx = dy * d/dx of its formula
 *   swish         dx = dy * s (1 + x (1 - s)),  s = sigmoid(x)
 * dx, dy, y are (n, m); dx may equal dy.  The kinds up to relu6 here, as
 * for the forward kernel */
static void act_backward_rows(int act, float *dx, const float *dy, const float *y, int n, int m)
{
    long i, size = (long)n * m;
    switch (act) {
    case NNC_RT_ACT_RELU:
        for (i = 0; i < size; i++)
            dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
        break;
    case NNC_RT_ACT_RELU6:
        for (i = 0; i < size; i++)
            dx[i] = y[i] > 0.0f && y[i] < 6.0f ? dy[i] : 0.0f;
        break;
    case NNC_RT_ACT_SIGMOID:
        for (i = 0; i < size; i++)
            dx[i] = dy[i] * y[i] * (1.0f - y[i]);
        break;
    case NNC_RT_ACT_TANH:
        for (i = 0; i < size; i++)
            dx[i] = dy[i] * (1.0f - y[i] * y[i]);
        break;
    case NNC_RT_ACT_SOFTMAX: {
        long r;
        int j;
        for (r = 0; r < n; r++) {
            const float *dyr = dy + r * m, *yr = y + r * m;
            float *dxr = dx + r * m, dot = 0.0f;
            for (j = 0; j < m; j++)
                dot += dyr[j] * yr[j];
            for (j = 0; j < m; j++)
                dxr[j] = yr[j] * (dyr[j] - dot);
        }
        break;
    }
    case NNC_RT_ACT_LINEAR:
    default:
        if (dx != dy)
            memmove(dx, dy, (size_t)size * sizeof *dx);
        break;
    }
}

static void more_backward(int act, float a, float *dx, const float *dy, const float *y, long size)
{
    long i;
    switch (act) {
    case NNC_RT_ACT_LEAKY_RELU:
        for (i = 0; i < size; i++)
            dx[i] = y[i] > 0.0f ? dy[i] : a * dy[i];
        break;
    case NNC_RT_ACT_ELU:
        for (i = 0; i < size; i++)
            dx[i] = y[i] > 0.0f ? dy[i] : dy[i] * (y[i] + a);
        break;
    case NNC_RT_ACT_HARD_SIGMOID:
        for (i = 0; i < size; i++)
            dx[i] = y[i] > 0.0f && y[i] < 1.0f ? dy[i] / 6.0f : 0.0f;
        break;
    case NNC_RT_ACT_SOFTPLUS:   /* -expm1(-y): exact where sigmoid(x) is tiny */
        for (i = 0; i < size; i++)
            dx[i] = -dy[i] * expm1f(-y[i]);
        break;
    case NNC_RT_ACT_GELU:
        for (i = 0; i < size; i++)
            dx[i] = dy[i] * gelu_grad(y[i]);
        break;
    case NNC_RT_ACT_GELU_TANH:
        for (i = 0; i < size; i++)
            dx[i] = dy[i] * gelu_tanh_grad(y[i]);
        break;
    case NNC_RT_ACT_SWISH:
    case NNC_RT_ACT_SILU:
        for (i = 0; i < size; i++) {
            const float s = nnc_rt_sigmoid(y[i]);
            dx[i] = dy[i] * s * (1.0f + y[i] * (1.0f - s));
        }
        break;
    }
}

void nnc_rt_act_backward_ref(int act, float a, float *dx, const float *dy, const float *y, int n, int m)
{
    if (act < NNC_RT_ACT_LEAKY_RELU)
        nnc_rt_act_backward(act, dx, dy, y, n, m);
    else
        more_backward(act, a, dx, dy, y, (long)n * m);
}

/* ---- gelu and swish without libm: loops gcc vectorises --------------------------
 * gelu (9 to 13 ns an element through erff/expf/tanhf, as much as the dense
 * layer before it) and swish are written with one exponential of our own:
 * branch-free selects, so at -O3 each loop becomes SIMD for the target
 * (8 or 16 lanes on AVX2 / AVX-512), and plain float code on a Cortex-M.
 *
 * exp: x = k ln2 + r, |r| <= ln2/2, e^r by its Taylor series to r^7
 * (truncation 5e-9 relative), 2^k from the exponent bits; ln2 in two parts
 * so r is exact.  Below -87.3 it is 0, above 88.7 inf (no subnormals).
 * Phi (gelu's erf form) through erfc, which has no cancellation in the
 * left tail where 1 + erf(x/sqrt 2) has: erfc(z) = t exp(-z^2 + P(t)),
 * t = 1/(1 + z/2), P a degree-9 polynomial (Numerical Recipes' erfcc,
 * fractional error < 1.2e-7).  The tanh form as x sigmoid(2u), exactly
 * x/2 (1 + tanh u).  tests/test_act.c holds them to the references above
 * (nnc_rt_act_*_ref, nnc_rt_kernels.h) and to the formulas in double. */
static inline float exp_v(float x)
{
    const float c = x < -87.3f ? -87.3f : x > 88.7f ? 88.7f : x;
    const float big = c * 1.44269504f + 12582912.0f;   /* 1.5 * 2^23: its last bit is the units */
    const float k = big - 12582912.0f;   /* x / ln2 rounded: stored first, so x87 rounds it too */
    const float r = (c - k * 0.693145752f) - k * 1.42860677e-6f;
    const float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.66666667e-1f + r * (4.16666667e-2f +
                    r * (8.33333333e-3f + r * (1.38888889e-3f + r * 1.98412698e-4f))))));
    const int32_t bits = ((int32_t)k + 127) * 8388608;   /* 2^k: k + 127 in the exponent field */
    float s;
    memcpy(&s, &bits, sizeof s);
    return x < -87.3f ? 0.0f : x > 88.7f ? HUGE_VALF : p * s;
}

/* Phi(x) = P(X <= x) for X ~ N(0, 1) */
static inline float phi_cdf(float x)
{
    const float z = (x < 0.0f ? -x : x) * INV_SQRT2, t = 1.0f / (1.0f + 0.5f * z);
    const float q = -1.26551223f + t * (1.00002368f + t * (0.37409196f + t * (0.09678418f +
                    t * (-0.18628806f + t * (0.27886807f + t * (-1.13520398f + t * (1.48851587f +
                    t * (-0.82215223f + t * 0.17087277f))))))));
    const float half_erfc = 0.5f * t * exp_v(q - z * z);
    return x < 0.0f ? half_erfc : 1.0f - half_erfc;
}

static void gelu_forward_v(float *y, const float *x, long size)
{
    long i;
    for (i = 0; i < size; i++)
        y[i] = x[i] * phi_cdf(x[i]);
}

/* Phi(x) + x phi(x); dx may be dy */
static void gelu_backward_v(float *dx, const float *dy, const float *x, long size)
{
    long i;
    for (i = 0; i < size; i++) {
        const float v = x[i];
        dx[i] = dy[i] * (phi_cdf(v) + v * INV_SQRT_2PI * exp_v(-0.5f * v * v));
    }
}

/* s = sigmoid(2u), u = k0 (x + k1 x^3): y = x s */
static void gelu_tanh_forward_v(float *y, const float *x, long size)
{
    long i;
    for (i = 0; i < size; i++) {
        const float v = x[i];
        y[i] = v / (1.0f + exp_v(-2.0f * GELU_K0 * (v + GELU_K1 * v * v * v)));
    }
}

/* s + 2 x s (1 - s) k0 (1 + 3 k1 x^2); past |x| > 10, 1 or 0 (0 * inf otherwise) */
static void gelu_tanh_backward_v(float *dx, const float *dy, const float *x, long size)
{
    long i;
    for (i = 0; i < size; i++) {
        const float v = x[i], s = 1.0f / (1.0f + exp_v(-2.0f * GELU_K0 * (v + GELU_K1 * v * v * v)));
        const float d = s + 2.0f * v * s * (1.0f - s) * GELU_K0 * (1.0f + 3.0f * GELU_K1 * v * v);
        dx[i] = dy[i] * (v > 10.0f ? 1.0f : v < -10.0f ? 0.0f : d);
    }
}

static void swish_forward_v(float *y, const float *x, long size)
{
    long i;
    for (i = 0; i < size; i++)
        y[i] = x[i] / (1.0f + exp_v(-x[i]));
}

/* s (1 + x (1 - s)) */
static void swish_backward_v(float *dx, const float *dy, const float *x, long size)
{
    long i;
    for (i = 0; i < size; i++) {
        const float v = x[i], s = 1.0f / (1.0f + exp_v(-v));
        dx[i] = dy[i] * s * (1.0f + v * (1.0f - s));
    }
}

/* the two above over rows split between threads (parallel.h) */
typedef struct act_job {
    int act, m;
    float *out;
    const float *in, *y;
} act_job;

static void act_forward_range(void *ctx, long b, long e)
{
    const act_job *j = ctx;
    act_forward_rows(j->act, j->out + b * j->m, j->in + b * j->m, (int)(e - b), j->m);
}

static void act_backward_range(void *ctx, long b, long e)
{
    const act_job *j = ctx;
    act_backward_rows(j->act, j->out + b * j->m, j->in + b * j->m, j->y + b * j->m, (int)(e - b), j->m);
}

void nnc_rt_act_forward(int act, float *y, const float *x, int n, int m)
{
    act_job j = { act, m, y, x, NULL };
    nnc_rt_par_for(n, 1, (double)n * m, act_forward_range, &j);
}

void nnc_rt_act_backward(int act, float *dx, const float *dy, const float *y, int n, int m)
{
    act_job j = { act, m, dx, dy, y };
    nnc_rt_par_for(n, 1, (double)n * m, act_backward_range, &j);
}

/* every kind: the vectorised bodies for gelu and swish, the libm ones for the rest */
void nnc_rt_act_forward_alpha(int act, float a, float *y, const float *x, int n, int m)
{
    const long size = (long)n * m;
    switch (act) {
    case NNC_RT_ACT_GELU: gelu_forward_v(y, x, size); break;
    case NNC_RT_ACT_GELU_TANH: gelu_tanh_forward_v(y, x, size); break;
    case NNC_RT_ACT_SWISH: case NNC_RT_ACT_SILU: swish_forward_v(y, x, size); break;
    default: nnc_rt_act_forward_ref(act, a, y, x, n, m);
    }
}

void nnc_rt_act_backward_alpha(int act, float a, float *dx, const float *dy, const float *y, int n, int m)
{
    const long size = (long)n * m;
    switch (act) {
    case NNC_RT_ACT_GELU: gelu_backward_v(dx, dy, y, size); break;
    case NNC_RT_ACT_GELU_TANH: gelu_tanh_backward_v(dx, dy, y, size); break;
    case NNC_RT_ACT_SWISH: case NNC_RT_ACT_SILU: swish_backward_v(dx, dy, y, size); break;
    default: nnc_rt_act_backward_ref(act, a, dx, dy, y, n, m);
    }
}

/* db[m] = sum_r dy[r, m]; dy is (n, m).  Accumulates row by row so the inner
 * loop is contiguous and vectorises. */
static void add_rows(float *db, const float *dy, long n, int m)
{
    long r;
    int j;
    for (r = 0; r < n; r++) {
        const float *dyr = dy + r * m;
        for (j = 0; j < m; j++)
            db[j] += dyr[j];
    }
}

/* columns [b, e) of db from those of every row of dy */
typedef struct bias_job {
    float *db;
    const float *dy;
    int n, m;
} bias_job;

static void bias_backward_range(void *ctx, long b, long e)
{
    const bias_job *j = ctx;
    long r, c;
    for (c = b; c < e; c++)
        j->db[c] = 0.0f;
    for (r = 0; r < j->n; r++) {
        const float *dyr = j->dy + r * j->m;
        for (c = b; c < e; c++)
            j->db[c] += dyr[c];
    }
}

void nnc_rt_bias_backward(float *db, const float *dy, int n, int m)
{
    bias_job j = { db, dy, n, m };
    nnc_rt_par_for(m, 16, (double)n * m, bias_backward_range, &j);
}

/* a block of rows at a time (about 4 KiB of dx), summed into db while in L1 */
void nnc_rt_act_bias_backward(int act, float *dx, float *db, const float *dy, const float *y,
                              int n, int m)
{
    const int block = m >= 1024 ? 1 : 1024 / m;
    long r0;
    memset(db, 0, (size_t)m * sizeof *db);
    for (r0 = 0; r0 < n; r0 += block) {
        const int rows = n - r0 < block ? (int)(n - r0) : block;
        nnc_rt_act_backward(act, dx + r0 * m, dy + r0 * m, y + r0 * m, rows, m);
        add_rows(db, dx + r0 * m, rows, m);
    }
}

/* y = a + b over size elements; y may equal a or b */
void nnc_rt_add(float *y, const float *a, const float *b, long size)
{
    long i;
    for (i = 0; i < size; i++)
        y[i] = a[i] + b[i];
}

/* alpha's index for a sample's element i (nnc_rt_prelu in nnc_rt.h) */
static long prelu_at(const nnc_rt_prelu *p, long i)
{
    long k = 0;
    int b;
    for (b = 0; b < p->runs; b++)
        k += i / p->inner[b] % p->len[b] * p->stride[b];
    return k;
}

/* one run (the common cases: alpha per element, per channel, per row) is the
 * loop nest (outer, len, inner) with alpha[a] fixed over the inner loop */
void nnc_rt_prelu_forward(const nnc_rt_prelu *p, float *y, const float *x, const float *alpha, int n)
{
    long s, i;
    for (s = 0; s < n; s++) {
        const float *xs = x + s * p->size;
        float *ys = y + s * p->size;
        if (p->runs <= 1) {
            const long inner = p->runs ? p->inner[0] : p->size, len = p->runs ? p->len[0] : 1;
            const long stride = p->runs ? p->stride[0] : 0;
            long o, a, j;
            for (o = 0; o < p->size; o += len * inner)
                for (a = 0; a < len; a++) {
                    const float al = alpha[a * stride];
                    const float *xr = xs + o + a * inner;
                    float *yr = ys + o + a * inner;
                    for (j = 0; j < inner; j++)
                        yr[j] = xr[j] > 0.0f ? xr[j] : al * xr[j];
                }
            continue;
        }
        for (i = 0; i < p->size; i++)
            ys[i] = xs[i] > 0.0f ? xs[i] : alpha[prelu_at(p, i)] * xs[i];
    }
}

void nnc_rt_prelu_backward(const nnc_rt_prelu *p, float *dx, float *dalpha, const float *dy, const float *x,
                           const float *alpha, int n)
{
    long s, i, na = 1;
    int b;
    for (b = 0; b < p->runs; b++)
        na += (p->len[b] - 1) * p->stride[b];
    memset(dalpha, 0, (size_t)na * sizeof *dalpha);
    for (s = 0; s < n; s++) {
        const float *xs = x + s * p->size, *dys = dy + s * p->size;
        float *dxs = dx ? dx + s * p->size : NULL;
        for (i = 0; i < p->size; i++) {
            const long k = prelu_at(p, i);
            const float g = dys[i];
            if (xs[i] > 0.0f) {
                if (dxs)
                    dxs[i] = g;
            } else {
                dalpha[k] += g * xs[i];
                if (dxs)
                    dxs[i] = g * alpha[k];
            }
        }
    }
}
