/* act.c — activations (forward and backward), PReLU, bias gradient,
 * elementwise add.
 *
 * Design: backward kernels take the forward OUTPUT y, not the input, so the
 * planner can drop x as soon as y exists (and relu/sigmoid/tanh/softmax can
 * all run in place).  gelu and swish are the exception: they are not
 * monotonic, y does not determine x, so theirs take x
 * (nnc_rt_act_needs_input).  PReLU's alpha may be 0 (Keras' initial value),
 * so its backward takes x as well.  Plain C throughout: the new kinds are
 * one libm call per element (erff, expf, tanhf) or a compare, and gcc
 * vectorises the compares by itself.  Every formula below is written so that it never
 * overflows: sigmoid splits on the sign of x, softmax subtracts the row max.
 * (dense_forward lives in gemm.c: it is a GEMM with a fused epilogue.)
 */
#include <math.h>
#include <string.h>

#include "nnc_rt.h"

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

static float gelu(float x) { return 0.5f * x * (1.0f + erff(x * INV_SQRT2)); }

/* Phi(x) + x phi(x) */
static float gelu_grad(float x)
{
    return 0.5f * (1.0f + erff(x * INV_SQRT2)) + x * INV_SQRT_2PI * expf(-0.5f * x * x);
}

static float gelu_tanh(float x)
{
    return 0.5f * x * (1.0f + tanhf(GELU_K0 * (x + GELU_K1 * x * x * x)));
}

/* with t = tanh(u), u = k0 (x + k1 x^3): (1 + t)/2 + x/2 (1 - t^2) k0 (1 + 3 k1 x^2) */
static float gelu_tanh_grad(float x)
{
    float t;
    if (fabsf(x) > 10.0f)   /* t is +-1 in float: 0 * inf would be NaN for huge x */
        return x > 0.0f ? 1.0f : 0.0f;
    t = tanhf(GELU_K0 * (x + GELU_K1 * x * x * x));
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * GELU_K0 * (1.0f + 3.0f * GELU_K1 * x * x);
}

/* y is (n, m), x is (n, m); a: the parameter of leaky_relu and elu */
void nnc_rt_act_forward_alpha(int act, float a, float *y, const float *x, int n, int m)
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
    case NNC_RT_ACT_LINEAR:
    default:
        if (y != x)
            memmove(y, x, (size_t)size * sizeof *y);
        break;
    }
}

void nnc_rt_act_forward(int act, float *y, const float *x, int n, int m)
{
    nnc_rt_act_forward_alpha(act, nnc_rt_act_alpha(act), y, x, n, m);
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
 * dx, dy, y are (n, m); dx may equal dy. */
void nnc_rt_act_backward_alpha(int act, float a, float *dx, const float *dy, const float *y, int n, int m)
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
    case NNC_RT_ACT_LINEAR:
    default:
        if (dx != dy)
            memmove(dx, dy, (size_t)size * sizeof *dx);
        break;
    }
}

void nnc_rt_act_backward(int act, float *dx, const float *dy, const float *y, int n, int m)
{
    nnc_rt_act_backward_alpha(act, nnc_rt_act_alpha(act), dx, dy, y, n, m);
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

void nnc_rt_bias_backward(float *db, const float *dy, int n, int m)
{
    memset(db, 0, (size_t)m * sizeof *db);
    add_rows(db, dy, n, m);
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
