/* act.c — activations (forward and backward), bias gradient, elementwise add.
 *
 * Design: backward kernels take the forward OUTPUT y, not the input, so the
 * planner can drop x as soon as y exists (and relu/sigmoid/tanh/softmax can
 * all run in place).  Every formula below is written so that it never
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

/* y is (n, m), x is (n, m) */
void nnc_rt_act_forward(int act, float *y, const float *x, int n, int m)
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
    case NNC_RT_ACT_LINEAR:
    default:
        if (y != x)
            memmove(y, x, (size_t)size * sizeof *y);
        break;
    }
}

/* In terms of the forward output y:
 *   relu     dx = dy * (y > 0)
 *   relu6    dx = dy * (0 < y < 6)
 *   sigmoid  dx = dy * y * (1 - y)
 *   tanh     dx = dy * (1 - y^2)
 *   softmax  dx = y * (dy - sum_j dy_j y_j), per row
 * dx, dy, y are (n, m); dx may equal dy. */
void nnc_rt_act_backward(int act, float *dx, const float *dy, const float *y, int n, int m)
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
