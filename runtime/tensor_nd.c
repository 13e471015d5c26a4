/* tensor_nd.c — N-dimensional kernels with ONNX semantics: element-wise
 * functions, broadcasting binary operators, strided copies, reductions,
 * softmax over an axis and batched matrix products.  The ONNX importer
 * maps most of its operators onto these few.
 *
 * Design: every kernel that moves data walks an iteration space given by
 * one descriptor (nnc_rt_nd): the space's extents and, per operand, the
 * stride each axis advances it by (0 on a broadcast or reduced axis).  One
 * strided copy then serves Transpose, Slice, Expand, Concat, Split, Pad and
 * the layout changes; one broadcasting loop serves every binary operator.
 * Tensors are float32 whatever their ONNX type: integer and boolean tensors
 * (shapes, indices, masks) are carried as floats, exact up to 2^24.
 */
#include <math.h>
#include <string.h>

#include "nnc_rt.h"

long nnc_rt_nd_space(const nnc_rt_nd *p)
{
    long n = 1;
    int d;
    for (d = 0; d < p->rank; d++)
        n *= p->dims[d];
    return n;
}

/* Walks the space in row-major order, keeping the three operand offsets;
 * calls body(y offset, a offset, b offset) through the macro below. */
#define ND_LOOP(p, BODY)                                                        \
    do {                                                                        \
        long idx_[NNC_RT_ND_MAX] = { 0 }, yo_ = (p)->yoff, ao_ = (p)->aoff,     \
             bo_ = (p)->boff, n_ = nnc_rt_nd_space(p), k_;                                \
        int d_;                                                                 \
        for (k_ = 0; k_ < n_; k_++) {                                           \
            { long yo = yo_, ao = ao_, bo = bo_; (void)bo; BODY; }              \
            for (d_ = (p)->rank - 1; d_ >= 0; d_--) {                           \
                yo_ += (p)->ys[d_]; ao_ += (p)->as[d_]; bo_ += (p)->bs[d_];     \
                if (++idx_[d_] < (p)->dims[d_])                                 \
                    break;                                                      \
                yo_ -= (p)->ys[d_] * (p)->dims[d_];                             \
                ao_ -= (p)->as[d_] * (p)->dims[d_];                             \
                bo_ -= (p)->bs[d_] * (p)->dims[d_];                             \
                idx_[d_] = 0;                                                   \
            }                                                                   \
        }                                                                       \
    } while (0)

/* The same walk a row at a time (a row: the innermost axis), for kernels
 * whose per-row loops the compiler can vectorise: BODY sees the row's
 * first offsets yo, ao, bo, its length len and strides ysl, asl, bsl. */
#define ND_ROWS(p, BODY)                                                        \
    do {                                                                        \
        int last_ = (p)->rank - 1, d_;                                          \
        long idx_[NNC_RT_ND_MAX] = { 0 }, yo_ = (p)->yoff, ao_ = (p)->aoff,     \
             bo_ = (p)->boff, r_, rows_;                                        \
        long len = last_ >= 0 ? (p)->dims[last_] : 1;                           \
        long ysl = last_ >= 0 ? (p)->ys[last_] : 0;                             \
        long asl = last_ >= 0 ? (p)->as[last_] : 0;                             \
        long bsl = last_ >= 0 ? (p)->bs[last_] : 0;                             \
        rows_ = len ? nnc_rt_nd_space(p) / len : 0;                                       \
        (void)bsl;                                                              \
        for (r_ = 0; r_ < rows_; r_++) {                                        \
            { long yo = yo_, ao = ao_, bo = bo_; (void)bo; BODY; }              \
            for (d_ = last_ - 1; d_ >= 0; d_--) {                               \
                yo_ += (p)->ys[d_]; ao_ += (p)->as[d_]; bo_ += (p)->bs[d_];     \
                if (++idx_[d_] < (p)->dims[d_])                                 \
                    break;                                                      \
                yo_ -= (p)->ys[d_] * (p)->dims[d_];                             \
                ao_ -= (p)->as[d_] * (p)->dims[d_];                             \
                bo_ -= (p)->bs[d_] * (p)->dims[d_];                             \
                idx_[d_] = 0;                                                   \
            }                                                                   \
        }                                                                       \
    } while (0)

static void copy_row(float *y, long ys, const float *a, long as, long n)
{
    long k;
    if (ys == 1 && as == 1)
        for (k = 0; k < n; k++)
            y[k] = a[k];
    else if (ys == 1 && as == 0)
        for (k = 0; k < n; k++)
            y[k] = a[0];
    else
        for (k = 0; k < n; k++)
            y[k * ys] = a[k * as];
}

/* the lowest and highest offsets a walk of p reaches with strides s from off */
static void nd_extent(const nnc_rt_nd *p, const long *s, long off, long *lo, long *hi)
{
    int d;
    *lo = *hi = off;
    for (d = 0; d < p->rank; d++) {
        long e = (p->dims[d] - 1) * s[d];
        if (p->dims[d] <= 0)
            return;
        if (e < 0)
            *lo += e;
        else
            *hi += e;
    }
}

/* y[j*ysj + k*ysk] = a[j*asj + k] for j < nj, k < nk */
static void copy_block(float *y, long ysj, long ysk, const float *a, long asj, long nj, long nk)
{
    long j, k;
    for (j = 0; j < nj; j++)
        for (k = 0; k < nk; k++)
            y[j * ysj + k * ysk] = a[j * asj + k];
}

#define SHORT_ROW 8
void nnc_rt_copy_nd(float *y, const float *a, const nnc_rt_nd *p)
{
    const int r = p->rank;
    long ylo, yhi, alo, ahi;
    /* Rows of a few floats (a layout change whose last axis is an image's
     * 3 channels: NCHW -> NHWC) cost the walk's bookkeeping for each few
     * floats; when the axis before reads a contiguously, the last two axes
     * go as one block, the inner loop along that axis (the NCHW input of
     * ResNet-18 and MobileNetV2: 5x faster).  Only when y and a do not
     * overlap: the order of the writes then cannot matter. */
    if (r >= 2 && p->dims[r - 1] <= SHORT_ROW && p->as[r - 2] == 1 && p->dims[r - 2] > SHORT_ROW) {
        nd_extent(p, p->ys, p->yoff, &ylo, &yhi);
        nd_extent(p, p->as, p->aoff, &alo, &ahi);
        if (y + yhi < a + alo || a + ahi < y + ylo) {
            nnc_rt_nd q = *p;
            q.rank = r - 2; /* the outer axes; rank 0: one block */
            ND_LOOP(&q, copy_block(y + yo, p->ys[r - 1], p->ys[r - 2], a + ao, p->as[r - 1],
                                   p->dims[r - 1], p->dims[r - 2]));
            return;
        }
    }
    ND_ROWS(p, copy_row(y + yo, ysl, a + ao, asl, len));
}

void nnc_rt_fill(float *y, long n, float v)
{
    long i;
    for (i = 0; i < n; i++)
        y[i] = v;
}

/* the double x modulo m (a power of two), in [0, m) */
static double mod_pos(double x, double m)
{
    return x - m * floor(x / m);
}

static float binary1(int fn, float a, float b)
{
    switch (fn) {
    case NNC_RT_BIN_ADD: return a + b;
    case NNC_RT_BIN_SUB: return a - b;
    case NNC_RT_BIN_MUL: return a * b;
    case NNC_RT_BIN_DIV: return a / b;
    case NNC_RT_BIN_POW: return powf(a, b);
    case NNC_RT_BIN_MAX: return a > b || a != a ? a : b;
    case NNC_RT_BIN_MIN: return a < b || a != a ? a : b;
    case NNC_RT_BIN_FMOD: return fmodf(a, b);
    case NNC_RT_BIN_MOD: {          /* the sign of the divisor, as Python's % */
        float r = fmodf(a, b);
        return r != 0.0f && (r < 0.0f) != (b < 0.0f) ? r + b : r;
    }
    case NNC_RT_BIN_PRELU: return a < 0.0f ? a * b : a;
    case NNC_RT_BIN_EQUAL: return a == b;
    case NNC_RT_BIN_LESS: return a < b;
    case NNC_RT_BIN_LESS_EQUAL: return a <= b;
    case NNC_RT_BIN_GREATER: return a > b;
    case NNC_RT_BIN_GREATER_EQUAL: return a >= b;
    case NNC_RT_BIN_AND: return a != 0.0f && b != 0.0f;
    case NNC_RT_BIN_OR: return a != 0.0f || b != 0.0f;
    case NNC_RT_BIN_XOR: return (a != 0.0f) != (b != 0.0f);
    case NNC_RT_BIN_IDIV: return b == 0.0f ? 0.0f : (float)trunc((double)a / (double)b);
    case NNC_RT_BIN_MUL16: return (float)mod_pos((double)a * (double)b, 65536.0);
    default: return 0.0f;
    }
}

/* one row of a binary operator: the common operators and stride patterns
 * (both operands along the row, or one of them broadcast) as loops the
 * compiler vectorises; the rest element by element */
#define BIN_ROW(EXPR)                                                           \
    do {                                                                        \
        if (as == 1 && bs == 1)                                                 \
            for (k = 0; k < n; k++) { float u = a[k], v = b[k]; y[k] = EXPR; }  \
        else if (as == 1 && bs == 0)                                            \
            for (k = 0; k < n; k++) { float u = a[k], v = b[0]; y[k] = EXPR; }  \
        else if (as == 0 && bs == 1)                                            \
            for (k = 0; k < n; k++) { float u = a[0], v = b[k]; y[k] = EXPR; }  \
        else                                                                    \
            for (k = 0; k < n; k++) {                                           \
                float u = a[k * as], v = b[k * bs];                             \
                y[k] = EXPR;                                                    \
            }                                                                   \
    } while (0)

static void binary_row(int fn, float *y, long ys, const float *a, long as,
                       const float *b, long bs, long n)
{
    long k;
    if (ys != 1) {
        for (k = 0; k < n; k++)
            y[k * ys] = binary1(fn, a[k * as], b[k * bs]);
        return;
    }
    switch (fn) {
    case NNC_RT_BIN_ADD: BIN_ROW(u + v); break;
    case NNC_RT_BIN_SUB: BIN_ROW(u - v); break;
    case NNC_RT_BIN_MUL: BIN_ROW(u * v); break;
    case NNC_RT_BIN_DIV: BIN_ROW(u / v); break;
    case NNC_RT_BIN_MAX: BIN_ROW(u > v || u != u ? u : v); break;   /* binary1's NaN rule */
    case NNC_RT_BIN_MIN: BIN_ROW(u < v || u != u ? u : v); break;
    default:
        for (k = 0; k < n; k++)
            y[k] = binary1(fn, a[k * as], b[k * bs]);
    }
}

/* q: the space p walks, with size-1 axes dropped and each axis merged into
 * the next one where every operand steps over it as one longer row (stride
 * = the next axis' stride times its length; broadcasts 0 on both): the same
 * elements in the same order, in longer rows.  An imported convolution's
 * output (1, 74, 32, 24) by a scalar is then one row of 56832, not 2368
 * rows of 24. */
static void nd_merge(const nnc_rt_nd *p, nnc_rt_nd *q)
{
    int d;
    *q = *p;
    q->rank = 0;
    for (d = 0; d < p->rank; d++) {
        int r = q->rank;
        if (p->dims[d] == 1)
            continue;
        if (r > 0 && q->ys[r - 1] == p->ys[d] * p->dims[d] && q->as[r - 1] == p->as[d] * p->dims[d] &&
            q->bs[r - 1] == p->bs[d] * p->dims[d]) {
            q->dims[r - 1] *= p->dims[d];
            q->ys[r - 1] = p->ys[d];
            q->as[r - 1] = p->as[d];
            q->bs[r - 1] = p->bs[d];
            continue;
        }
        q->dims[r] = p->dims[d];
        q->ys[r] = p->ys[d];
        q->as[r] = p->as[d];
        q->bs[r] = p->bs[d];
        q->rank = r + 1;
    }
    if (!q->rank && nnc_rt_nd_space(p)) {   /* one element */
        q->rank = 1;
        q->dims[0] = 1;
        q->ys[0] = q->as[0] = q->bs[0] = 0;
    }
}

void nnc_rt_binary_nd(int fn, float *y, const float *a, const float *b, const nnc_rt_nd *p)
{
    nnc_rt_nd q;
    if (!nnc_rt_nd_space(p))
        return;
    nd_merge(p, &q);
    ND_ROWS((&q), binary_row(fn, y + yo, ysl, a + ao, asl, b + bo, bsl, len));
}

/* where: y = c ? a : b, with c the third operand at offset coff/cs */
void nnc_rt_where_nd(float *y, const float *c, const float *a, const float *b, const nnc_rt_nd *p,
                     const long *cs)
{
    long idx[NNC_RT_ND_MAX] = { 0 }, n = nnc_rt_nd_space(p), k, yo = p->yoff, ao = p->aoff, bo = p->boff, co = 0;
    int d;
    for (k = 0; k < n; k++) {
        y[yo] = c[co] != 0.0f ? a[ao] : b[bo];
        for (d = p->rank - 1; d >= 0; d--) {
            yo += p->ys[d]; ao += p->as[d]; bo += p->bs[d]; co += cs[d];
            if (++idx[d] < p->dims[d])
                break;
            yo -= p->ys[d] * p->dims[d]; ao -= p->as[d] * p->dims[d];
            bo -= p->bs[d] * p->dims[d]; co -= cs[d] * p->dims[d];
            idx[d] = 0;
        }
    }
}

/* v rounded to the nearest integer, ties to even (|v| < 2^23) */
static float round_even(float v)
{
    float r = floorf(v), d = v - r;
    if (d > 0.5f || (d == 0.5f && fmodf(r, 2.0f) != 0.0f))
        r += 1.0f;
    return r;
}

/* x rounded to the nearest float16 (ties to even), as a float: the step
 * of float16's grid is 2^(e - 11) for |x| in [2^(e-1), 2^e), 2^-24 below
 * its smallest normal 2^-14; from 65520 on the rounding overflows to inf */
static float round_f16(float x)
{
    float a = fabsf(x), q;
    int e;
    if (a != a)
        return x;
    if (a >= 65520.0f)
        return x > 0.0f ? INFINITY : -INFINITY;
    if (a < 0x1p-14f) {
        q = 0x1p-24f;
    } else {
        (void)frexpf(a, &e);
        q = ldexpf(1.0f, e - 11);
    }
    a = round_even(a / q) * q;
    return copysignf(a, x);
}

/* x to bfloat16 (float32's top 16 bits): ties to even, or truncated */
static float round_bf16(float x, int truncate)
{
    uint32_t u;
    if (x != x)
        return x;
    memcpy(&u, &x, sizeof u);
    if (!truncate)
        u += 0x7FFFu + ((u >> 16) & 1u);
    u &= 0xFFFF0000u;
    memcpy(&x, &u, sizeof x);
    return x;
}

static float unary1(int fn, float x, float alpha, float beta)
{
    switch (fn) {
    case NNC_RT_UN_IDENTITY: return x;
    case NNC_RT_UN_ABS: return fabsf(x);
    case NNC_RT_UN_NEG: return -x;
    case NNC_RT_UN_EXP: return expf(x);
    case NNC_RT_UN_LOG: return logf(x);
    case NNC_RT_UN_SQRT: return sqrtf(x);
    case NNC_RT_UN_RECIPROCAL: return 1.0f / x;
    case NNC_RT_UN_FLOOR: return floorf(x);
    case NNC_RT_UN_CEIL: return ceilf(x);
    case NNC_RT_UN_ROUND: {         /* half to even */
        float r = roundf(x);
        if (fabsf(x - truncf(x)) == 0.5f)
            r = 2.0f * roundf(x / 2.0f);
        return r;
    }
    case NNC_RT_UN_SIGN: return (float)((x > 0.0f) - (x < 0.0f));
    case NNC_RT_UN_SIN: return sinf(x);
    case NNC_RT_UN_COS: return cosf(x);
    case NNC_RT_UN_TAN: return tanf(x);
    case NNC_RT_UN_ASIN: return asinf(x);
    case NNC_RT_UN_ACOS: return acosf(x);
    case NNC_RT_UN_ATAN: return atanf(x);
    case NNC_RT_UN_SINH: return sinhf(x);
    case NNC_RT_UN_COSH: return coshf(x);
    case NNC_RT_UN_ASINH: return asinhf(x);
    case NNC_RT_UN_ACOSH: return acoshf(x);
    case NNC_RT_UN_ATANH: return atanhf(x);
    case NNC_RT_UN_ERF: return erff(x);
    case NNC_RT_UN_RELU: return x > 0.0f ? x : 0.0f;
    case NNC_RT_UN_SIGMOID: return nnc_rt_sigmoid(x);
    case NNC_RT_UN_TANH: return tanhf(x);
    case NNC_RT_UN_SOFTPLUS: return x > 0.0f ? x + log1pf(expf(-x)) : log1pf(expf(x));
    case NNC_RT_UN_SOFTSIGN: return x / (1.0f + fabsf(x));
    case NNC_RT_UN_LEAKY_RELU: return x < 0.0f ? alpha * x : x;
    case NNC_RT_UN_ELU: return x < 0.0f ? alpha * expm1f(x) : x;
    case NNC_RT_UN_SELU: return x <= 0.0f ? beta * alpha * expm1f(x) : beta * x;
    case NNC_RT_UN_CELU: return x < 0.0f ? alpha * expm1f(x / alpha) : x;
    case NNC_RT_UN_HARD_SIGMOID: {
        float v = alpha * x + beta;
        return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
    }
    case NNC_RT_UN_HARD_SWISH: return nnc_rt_hard_swish(x);
    case NNC_RT_UN_THRESHOLDED_RELU: return x > alpha ? x : 0.0f;
    case NNC_RT_UN_CLIP: return x < alpha ? alpha : x > beta ? beta : x;
    case NNC_RT_UN_NOT: return x == 0.0f;
    case NNC_RT_UN_ISNAN: return x != x;
    case NNC_RT_UN_ISINF: return (x - x != x - x) && x == x ? (alpha != 0.0f && x > 0) || (beta != 0.0f && x < 0) : 0.0f;
    case NNC_RT_UN_SHRINK: return x < -alpha ? x + beta : x > alpha ? x - beta : 0.0f;
    case NNC_RT_UN_MISH: return x * tanhf(x > 0.0f ? x + log1pf(expf(-x)) : log1pf(expf(x)));
    case NNC_RT_UN_AFFINE: return alpha * x + beta;
    case NNC_RT_UN_TRUNC: return truncf(x);
    case NNC_RT_UN_WRAP:
        return x - x != 0.0f ? 0.0f : (float)((double)beta + mod_pos((double)x - (double)beta, (double)alpha));
    case NNC_RT_UN_ROUND_F16: return round_f16(x);
    case NNC_RT_UN_ROUND_BF16: return round_bf16(x, alpha != 0.0f);
    default: return 0.0f;
    }
}

/* the piecewise-linear functions as loops the compiler vectorises (y may
 * be x: each element is read before it is written); the rest element by
 * element through unary1 */
void nnc_rt_unary(int fn, float *y, const float *x, long n, float alpha, float beta)
{
    long i;
    switch (fn) {
    case NNC_RT_UN_RELU:
        for (i = 0; i < n; i++)
            y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case NNC_RT_UN_CLIP:
        for (i = 0; i < n; i++) {
            float v = x[i];
            y[i] = v < alpha ? alpha : v > beta ? beta : v;
        }
        break;
    case NNC_RT_UN_LEAKY_RELU:
        /* the factor chosen by the sign bit, then one product: the values
         * of x < 0 ? alpha x : x (NaN stays NaN; -0 becomes alpha -0), in
         * a loop gcc vectorises — the branch on the sign of a feature map
         * it made of the comparison was 33 % of openWakeWord's embedding
         * model on Zen 3 */
        for (i = 0; i < n; i++) {
            uint32_t u;
            memcpy(&u, x + i, sizeof u);
            y[i] = (u >> 31 ? alpha : 1.0f) * x[i];
        }
        break;
    case NNC_RT_UN_NEG:
        for (i = 0; i < n; i++)
            y[i] = -x[i];
        break;
    case NNC_RT_UN_HARD_SWISH: {
        const float one = nnc_rt_opaque_one();   /* nnc_rt_hard_swish_one says why */
        for (i = 0; i < n; i++)
            y[i] = nnc_rt_hard_swish_one(x[i], one);
        break;
    }
    case NNC_RT_UN_AFFINE:     /* PP-LCNet's learnable affine block after each activation */
        for (i = 0; i < n; i++)
            y[i] = alpha * x[i] + beta;
        break;
    default:
        for (i = 0; i < n; i++)
            y[i] = unary1(fn, x[i], alpha, beta);
    }
}

/* The space is the input's shape; ys is 0 on the reduced axes, so every
 * input element lands in its output cell.  count: elements per cell. */
void nnc_rt_reduce_nd(int fn, float *y, const float *x, const nnc_rt_nd *p, long ny, long count)
{
    float init = fn == NNC_RT_RED_MAX ? -INFINITY : fn == NNC_RT_RED_MIN ? INFINITY :
                 fn == NNC_RT_RED_PROD ? 1.0f : 0.0f;
    long i;
    for (i = 0; i < ny; i++)
        y[i] = init;
    /* a row at a time, in the walk's order (the same sums, to the bit): a
     * global pool, whose rows are whole pixels of channels, is then one
     * vector loop a pixel (MobileNetV2's 7x7x1280: 9x faster) */
#define RED_ROWS(EXPR)                                                          \
    ND_ROWS(p, {                                                                \
        long k_;                                                                \
        for (k_ = 0; k_ < len; k_++) {                                          \
            float *t = y + yo + k_ * ysl;                                       \
            float v = x[ao + k_ * asl];                                         \
            EXPR;                                                               \
        }                                                                       \
    })
    switch (fn) {
    case NNC_RT_RED_MAX: RED_ROWS(*t = v > *t ? v : *t); break;
    case NNC_RT_RED_MIN: RED_ROWS(*t = v < *t ? v : *t); break;
    case NNC_RT_RED_PROD: RED_ROWS(*t *= v); break;
    case NNC_RT_RED_L1: RED_ROWS(*t += fabsf(v)); break;
    case NNC_RT_RED_L2: case NNC_RT_RED_SUM_SQUARE: RED_ROWS(*t += v * v); break;
    case NNC_RT_RED_LOG_SUM_EXP: RED_ROWS(*t += expf(v)); break;
    default: RED_ROWS(*t += v); break;     /* sum, mean, log_sum */
    }
#undef RED_ROWS
    for (i = 0; i < ny; i++)
        switch (fn) {
        case NNC_RT_RED_MEAN: y[i] /= (float)count; break;
        case NNC_RT_RED_L2: y[i] = sqrtf(y[i]); break;
        case NNC_RT_RED_LOG_SUM: case NNC_RT_RED_LOG_SUM_EXP: y[i] = logf(y[i]); break;
        default: break;
        }
}

/* x is (outer, axis, inner); softmax, log-softmax or hardmax along the axis */
void nnc_rt_softmax_axis(int fn, float *y, const float *x, long outer, long axis, long inner)
{
    long o, i, k;
    for (o = 0; o < outer; o++)
        for (i = 0; i < inner; i++) {
            const float *xr = x + o * axis * inner + i;
            float *yr = y + o * axis * inner + i;
            float mx = xr[0], s = 0.0f;
            long arg = 0;
            for (k = 1; k < axis; k++)
                if (xr[k * inner] > mx) {
                    mx = xr[k * inner];
                    arg = k;
                }
            if (fn == NNC_RT_SOFTMAX_HARD) {
                for (k = 0; k < axis; k++)
                    yr[k * inner] = k == arg;
                continue;
            }
            if (fn == NNC_RT_SOFTMAX_PLAIN && inner == 1) {
                /* along the last axis (a classifier's or attention's rows):
                 * each exponential once, kept in y, then one scale */
                float inv;
                for (k = 0; k < axis; k++) {
                    yr[k] = expf(xr[k] - mx);
                    s += yr[k];
                }
                inv = 1.0f / s;
                for (k = 0; k < axis; k++)
                    yr[k] *= inv;
                continue;
            }
            for (k = 0; k < axis; k++)
                s += expf(xr[k * inner] - mx);
            for (k = 0; k < axis; k++)
                yr[k * inner] = fn == NNC_RT_SOFTMAX_LOG ? xr[k * inner] - mx - logf(s)
                                                         : expf(xr[k * inner] - mx) / s;
        }
}

/* y[b] = a[b] . b[b] over the batch space p (strides in floats of whole
 * matrices; y's batch stride is M*N), each an (M, K) x (K, N) product */
void nnc_rt_matmul_nd(float *y, const float *a, const float *b, const nnc_rt_nd *p, int M, int N, int K)
{
    ND_LOOP(p, nnc_rt_gemm_f32(0, 0, M, N, K, 1.0f, a + ao, K, b + bo, N, 0.0f, y + yo, N));
}

/* x is (outer, alen, inner): the index of the largest (ARGMAX) or smallest
 * (ARGMIN) element along the axis, the first one or (last) the last one */
void nnc_rt_arg_axis(int fn, float *y, const float *x, long outer, long alen, long inner, int last)
{
    long o, i, k;
    for (o = 0; o < outer; o++)
        for (i = 0; i < inner; i++) {
            const float *xr = x + o * alen * inner + i;
            long best = 0;
            for (k = 1; k < alen; k++) {
                float v = xr[k * inner], b = xr[best * inner];
                int better = fn == NNC_RT_RED_MAX ? v > b || (last && v == b) : v < b || (last && v == b);
                if (better)
                    best = k;
            }
            y[o * inner + i] = (float)best;
        }
}

/* y[o, j, i] = x[o, idx[o, j, i], i] (GatherElements along the axis; Gather
 * when idx_outer is 0: the same indices for every o) with x (outer, alen,
 * inner) and idx (outer or 1, nidx, inner or 1); negative indices count
 * from the end, out-of-range ones read 0 */
void nnc_rt_gather_axis(float *y, const float *x, const float *idx, long outer, long alen, long inner,
                        long nidx, int elements)
{
    long o, j, i;
    for (o = 0; o < outer; o++)
        for (j = 0; j < nidx; j++)
            for (i = 0; i < inner; i++) {
                long k = (long)(elements ? idx[(o * nidx + j) * inner + i] : idx[j]);
                if (k < 0)
                    k += alen;
                y[(o * nidx + j) * inner + i] = k >= 0 && k < alen ? x[(o * alen + k) * inner + i] : 0.0f;
            }
}

/* negative log-likelihood over class axis 1: x is (n, c, inner), target
 * (n, inner) class indices, weight (c) or NULL.  reduction 0 none (y is
 * (n, inner)), 1 sum, 2 mean (divided by the sum of the weights used);
 * targets equal to ignore are skipped (0 in the unreduced output). */
void nnc_rt_nll_loss(float *y, const float *x, const float *target, const float *weight, long n, long c,
                     long inner, int reduction, long ignore)
{
    double sum = 0, wsum = 0;
    long b, i;
    for (b = 0; b < n; b++)
        for (i = 0; i < inner; i++) {
            long t = (long)target[b * inner + i];
            float w = t == ignore || t < 0 || t >= c ? 0.0f : weight ? weight[t] : 1.0f;
            float l = w == 0.0f ? 0.0f : -x[(b * c + t) * inner + i] * w;
            if (reduction == 0)
                y[b * inner + i] = l;
            sum += l;
            wsum += w;
        }
    if (reduction == 1)
        y[0] = (float)sum;
    if (reduction == 2)
        y[0] = wsum != 0 ? (float)(sum / wsum) : 0.0f;
}

/* the gradient of softmax_axis (fn PLAIN or LOG) from its output y:
 * plain dx = y (dy - sum dy*y); log dx = dy - e^y sum dy (along the axis) */
void nnc_rt_softmax_axis_backward(int fn, float *dx, const float *dy, const float *y, long outer, long alen,
                                  long inner)
{
    long o, i, k;
    for (o = 0; o < outer; o++)
        for (i = 0; i < inner; i++) {
            long base = o * alen * inner + i;
            double s = 0;
            for (k = 0; k < alen; k++)
                s += fn == NNC_RT_SOFTMAX_LOG ? dy[base + k * inner] : dy[base + k * inner] * y[base + k * inner];
            for (k = 0; k < alen; k++) {
                long q = base + k * inner;
                dx[q] = fn == NNC_RT_SOFTMAX_LOG ? dy[q] - expf(y[q]) * (float)s : y[q] * (dy[q] - (float)s);
            }
        }
}

/* running sums along the axis of x (outer, alen, inner); exclusive leaves
 * out the element itself, reverse sums from the end */
void nnc_rt_cumsum_axis(float *y, const float *x, long outer, long alen, long inner, int exclusive, int reverse)
{
    long o, i, k;
    for (o = 0; o < outer; o++)
        for (i = 0; i < inner; i++) {
            double s = 0;
            for (k = 0; k < alen; k++) {
                long q = o * alen * inner + (reverse ? alen - 1 - k : k) * inner + i;
                if (exclusive) {
                    y[q] = (float)s;
                    s += x[q];
                } else {
                    s += x[q];
                    y[q] = (float)s;
                }
            }
        }
}
