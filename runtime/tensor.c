/* tensor.c — element-wise helpers and concatenation: the data-movement
 * kernels the emitter needs between layers (dropout's mask multiply,
 * copies, concat along an axis and its gradient).
 *
 *   mul:     y = a * b elementwise
 *   concat:  y[r, offset + j] = x[r, j],  j < width    (y is (rows, total))
 *   its gradient: dx[r, j] = dy[r, offset + j]
 *
 * Design: concat is done one operand at a time, so a k-way concat is k
 * calls and the emitter needs no variadic signature; "rows" is the product
 * of the dimensions before the axis and width/total the products from it
 * on, so one pair of kernels covers every axis.  Each row is a memcpy —
 * when rows == 1 (concat along the first axis) the whole operand is one.
 */
#include <string.h>

#include "nnc_rt.h"
#include "parallel.h"

void nnc_rt_mul(float *y, const float *a, const float *b, long size)
{
    long i;
    for (i = 0; i < size; i++)
        y[i] = a[i] * b[i];
}

void nnc_rt_sub(float *y, const float *a, const float *b, long size)
{
    long i;
    for (i = 0; i < size; i++)
        y[i] = a[i] - b[i];
}

void nnc_rt_scale(float *y, const float *x, float s, long size)
{
    long i;
    for (i = 0; i < size; i++)
        y[i] = s * x[i];
}

/* the first operand wins ties, as the gradient below routes them */
void nnc_rt_max(float *y, const float *a, const float *b, long size)
{
    long i;
    for (i = 0; i < size; i++)
        y[i] = a[i] >= b[i] ? a[i] : b[i];
}

void nnc_rt_min(float *y, const float *a, const float *b, long size)
{
    long i;
    for (i = 0; i < size; i++)
        y[i] = a[i] <= b[i] ? a[i] : b[i];
}

void nnc_rt_minmax_backward(float *dx, const float *dy, const float *a, const float *b, long size, int is_max,
                            int first)
{
    long i;
    for (i = 0; i < size; i++) {
        int a_wins = is_max ? a[i] >= b[i] : a[i] <= b[i];
        dx[i] = a_wins == first ? dy[i] : 0.0f;
    }
}

void nnc_rt_permute(float *y, const float *x, long n, int rank, const int *dims, const int *perm)
{
    long xs[8], size = 1, s, i;
    int d;
    for (d = rank - 1; d >= 0; d--) {
        xs[d] = size;
        size *= dims[d];
    }
    for (s = 0; s < n; s++)
        for (i = 0; i < size; i++) {   /* y's element i: its index, axis by axis from the last */
            long rem = i, off = 0;
            for (d = rank - 1; d >= 0; d--) {
                long yd = dims[perm[d]];
                off += rem % yd * xs[perm[d]];
                rem /= yd;
            }
            y[s * size + i] = x[s * size + off];
        }
}

void nnc_rt_repeat(float *y, const float *x, long n, int times, int features)
{
    long s;
    int t;
    for (s = 0; s < n; s++)
        for (t = 0; t < times; t++)
            memcpy(y + (s * times + t) * features, x + s * features, (size_t)features * sizeof *y);
}

void nnc_rt_repeat_backward(float *dx, const float *dy, long n, int times, int features)
{
    long s;
    int t, j;
    for (s = 0; s < n; s++) {
        float *d = dx + s * features;
        for (j = 0; j < features; j++)
            d[j] = 0.0f;
        for (t = 0; t < times; t++)
            for (j = 0; j < features; j++)
                d[j] += dy[(s * times + t) * features + j];
    }
}

/* Every value finite: no exponent field all ones (inf, NaN).  On the bits,
 * so the check vectorizes without -ffast-math and a NaN cannot compare its
 * way past it; the training step runs it over the gradients before the
 * optimizer and over the parameters after (two passes over the seed MLP's
 * 940 KB of parameters: threads split them, parallel.h). */
typedef struct finite_job {
    const float *x;
    int bad;            /* set by any range that found one */
} finite_job;

static void finite_range(void *ctx, long b, long e)
{
    finite_job *j = ctx;
    unsigned bad = 0;
    long i;
    for (i = b; i < e; i++) {
        uint32_t u;
        memcpy(&u, j->x + i, sizeof u);
        bad |= (u & 0x7f800000u) == 0x7f800000u;
    }
    if (bad) {          /* only ever 1: which range writes it does not matter */
#if defined(_OPENMP) && defined(__GNUC__)
        __atomic_store_n(&j->bad, 1, __ATOMIC_RELAXED);
#else
        j->bad = 1;
#endif
    }
}

int nnc_rt_finite(const float *x, long size)
{
    finite_job j;
    j.x = x;
    j.bad = 0;
    nnc_rt_par_for(size, 1024, (double)size, finite_range, &j);
    return !j.bad;
}

void nnc_rt_copy(float *y, const float *x, long size)
{
    if (y != x && size > 0)
        memmove(y, x, (size_t)size * sizeof *y);
}

void nnc_rt_concat_forward(float *y, const float *x, long rows, long width, long offset,
                           long total)
{
    long r;
    if (width <= 0)
        return;
    for (r = 0; r < rows; r++)
        memcpy(y + r * total + offset, x + r * width, (size_t)width * sizeof *y);
}

void nnc_rt_concat_backward(float *dx, const float *dy, long rows, long width, long offset,
                            long total)
{
    long r;
    if (width <= 0)
        return;
    for (r = 0; r < rows; r++)
        memcpy(dx + r * width, dy + r * total + offset, (size_t)width * sizeof *dx);
}
