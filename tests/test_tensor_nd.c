/* test_tensor_nd.c — unit tests for the runtime's N-d kernels with ONNX
 * semantics (runtime/tensor_nd.c) against plain references written here.
 *
 * The kernels walk an iteration space by moving offsets incrementally; the
 * references compute each element's offsets from its multi-index by
 * division, so a wrong carry, a broadcast stride or a first-element offset
 * shows up.  The spaces are random: rank 0 to 5, odd extents, operands
 * transposed, sliced, broadcast (stride 0) and offset, outputs written
 * into the middle of larger buffers (whose other cells must stay NaN).
 * Element-wise functions are checked against their definitions in double
 * (every unary and binary function, with the special values their ONNX
 * definitions name); axis kernels against loops over (outer, axis, inner);
 * the softmax gradients against central differences of the reference.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nnc_rt.h"
#include "kernel_check.h"

/* ---- random iteration spaces ----------------------------------------------------- */

static long space_size(const nnc_rt_nd *p)
{
    long n = 1;
    int d;
    for (d = 0; d < p->rank; d++)
        n *= p->dims[d];
    return n;
}

/* the offsets of element k of the space (row-major) and of c (strides cs),
 * by division */
static void offsets(const nnc_rt_nd *p, const long *cs, long k, long *yo, long *ao, long *bo,
                    long *co)
{
    int d;
    *yo = p->yoff; *ao = p->aoff; *bo = p->boff; *co = 0;
    for (d = p->rank - 1; d >= 0; d--) {
        long i = k % p->dims[d];
        k /= p->dims[d];
        *yo += i * p->ys[d]; *ao += i * p->as[d]; *bo += i * p->bs[d];
        *co += cs ? i * cs[d] : 0;
    }
}

static uint32_t pick(nnc_rt_rng *r, uint32_t n) { return nnc_rt_rng_u32(r) % n; }

/* strides of an operand over the space: laid out in a random axis order,
 * each axis maybe one longer than the space (a slice, or a place in a
 * concatenation) or (bcast) broadcast; returns the floats it spans from
 * its offset */
static long random_strides(const nnc_rt_nd *p, long *s, nnc_rt_rng *r, int bcast)
{
    int perm[NNC_RT_ND_MAX], d, j;
    long stride = 1, span = 1;
    for (d = 0; d < p->rank; d++)
        perm[d] = d;
    for (d = p->rank - 1; d > 0; d--) { /* Fisher-Yates */
        int t = (int)pick(r, (uint32_t)d + 1), v = perm[d];
        perm[d] = perm[t];
        perm[t] = v;
    }
    for (j = p->rank - 1; j >= 0; j--) {
        d = perm[j];
        s[d] = bcast && pick(r, 4) == 0 ? 0 : stride;
        stride *= p->dims[d] + (long)pick(r, 2);
    }
    for (d = 0; d < p->rank; d++)
        span += (p->dims[d] - 1) * s[d];
    return span;
}

/* a random space of the given rank, and its operands: y NaN with guards,
 * a and b uniform in [-1, 1), each as long as its strides and offset need */
typedef struct nd_case {
    nnc_rt_nd p;
    long ny, na, nb;
    float *y, *a, *b;
} nd_case;

static void nd_case_new(nd_case *c, nnc_rt_rng *r, int rank)
{
    nnc_rt_nd *p = &c->p;
    int d;
    memset(p, 0, sizeof *p);
    p->rank = rank;
    for (d = 0; d < rank; d++)
        p->dims[d] = 1 + (long)pick(r, 4);
    p->yoff = pick(r, 3);
    p->aoff = pick(r, 3);
    p->boff = pick(r, 3);
    c->ny = p->yoff + random_strides(p, p->ys, r, 0);
    c->na = p->aoff + random_strides(p, p->as, r, 1);
    c->nb = p->boff + random_strides(p, p->bs, r, 1);
    c->y = guarded(c->ny);
    c->a = falloc(c->na);
    c->b = falloc(c->nb);
    fill_uniform(c->a, c->na, r, -1, 1);
    fill_uniform(c->b, c->nb, r, -1, 1);
}

/* ---- copy, fill, binary, where ----------------------------------------------------- */

/* the definition of each binary function, in double */
static double bin_ref(int fn, double a, double b)
{
    switch (fn) {
    case NNC_RT_BIN_ADD: return a + b;
    case NNC_RT_BIN_SUB: return a - b;
    case NNC_RT_BIN_MUL: return a * b;
    case NNC_RT_BIN_DIV: return a / b;
    case NNC_RT_BIN_POW: return pow(a, b);
    case NNC_RT_BIN_MAX: return a > b ? a : b;
    case NNC_RT_BIN_MIN: return a < b ? a : b;
    case NNC_RT_BIN_MOD: return a - b * floor(a / b); /* Python's %: the divisor's sign */
    case NNC_RT_BIN_FMOD: return fmod(a, b);
    case NNC_RT_BIN_PRELU: return a < 0 ? a * b : a;
    case NNC_RT_BIN_EQUAL: return a == b;
    case NNC_RT_BIN_LESS: return a < b;
    case NNC_RT_BIN_LESS_EQUAL: return a <= b;
    case NNC_RT_BIN_GREATER: return a > b;
    case NNC_RT_BIN_GREATER_EQUAL: return a >= b;
    case NNC_RT_BIN_AND: return a != 0 && b != 0;
    case NNC_RT_BIN_OR: return a != 0 || b != 0;
    default: return (a != 0) != (b != 0); /* XOR */
    }
}

/* operands each function is defined on: small integers (equalities and
 * zeros happen) for the comparisons and logic, a positive base for pow,
 * divisors away from zero */
static void bin_operands(int fn, float *a, long na, float *b, long nb, nnc_rt_rng *r)
{
    long i;
    for (i = 0; i < na; i++)
        a[i] = fn == NNC_RT_BIN_POW ? 0.5f + 1.5f * nnc_rt_rng_uniform(r)
               : fn >= NNC_RT_BIN_EQUAL ? (float)((int)pick(r, 5) - 2) : 6 * nnc_rt_rng_uniform(r) - 3;
    for (i = 0; i < nb; i++) {
        float v = fn >= NNC_RT_BIN_EQUAL ? (float)((int)pick(r, 5) - 2) : 4 * nnc_rt_rng_uniform(r) - 2;
        if (fn == NNC_RT_BIN_DIV || fn == NNC_RT_BIN_MOD || fn == NNC_RT_BIN_FMOD)
            v = (v < 0 ? -0.5f : 0.5f) + v;
        b[i] = v;
    }
}

/* the cells of y outside the space must keep their NaN, the guards
 * theirs; then c's buffers are freed */
static void nd_case_done(nd_case *c, const char *what, int t)
{
    char *hit = calloc((size_t)c->ny, 1);
    long k, yo, ao, bo, co;
    ck_assert_ptr_nonnull(hit);
    for (k = 0; k < space_size(&c->p); k++) {
        offsets(&c->p, NULL, k, &yo, &ao, &bo, &co);
        hit[yo] = 1;
    }
    for (k = 0; k < c->ny; k++)
        ck_assert_msg(hit[k] || isnan(c->y[k]), "%s #%d: y[%ld] written outside the space", what, t, k);
    ck_assert_msg(guard_ok(c->y, c->ny), "%s #%d: wrote past y", what, t);
    free(hit);
    free(c->y);
    free(c->a);
    free(c->b);
}

START_TEST(test_copy_nd_and_fill)
{
    nnc_rt_rng r;
    int t;
    nnc_rt_rng_seed(&r, 41);
    for (t = 0; t < 300; t++) {
        nd_case c;
        long k, yo, ao, bo, co;
        nd_case_new(&c, &r, t % 6);
        nnc_rt_copy_nd(c.y, c.a, &c.p);
        for (k = 0; k < space_size(&c.p); k++) {
            offsets(&c.p, NULL, k, &yo, &ao, &bo, &co);
            ck_assert_msg(c.y[yo] == c.a[ao], "copy #%d rank %d: element %ld", t, c.p.rank, k);
        }
        nd_case_done(&c, "copy", t);
    }
    {
        float *y = guarded(13);
        nnc_rt_fill(y, 13, -2.5f);
        for (t = 0; t < 13; t++)
            ck_assert_float_eq(y[t], -2.5f);
        ck_assert(guard_ok(y, 13));
        free(y);
    }
}
END_TEST

/* the short-row path of copy_nd: NCHW -> NHWC layout changes of 1..8
 * channels, rows of 9..40 pixels, with a batch, with offsets, rank 2 */
START_TEST(test_copy_nd_transpose)
{
    static const int chans[] = {1, 2, 3, 5, 8}, widths[] = {9, 16, 40};
    int ci, wi, n;
    for (ci = 0; ci < 5; ci++)
        for (wi = 0; wi < 3; wi++)
            for (n = 1; n <= 2; n++) {
                const long c = chans[ci], w = widths[wi], h = 3, hw = h * w;
                const long size = n * c * hw, yoff = (ci + wi) % 2 ? 5 : 0, aoff = n == 2 ? 3 : 0;
                nnc_rt_nd p = {4, {n, h, w, c}, {hw * c, w * c, c, 1}, {c * hw, w, 1, hw}, {0},
                               yoff, aoff, 0};
                float *a = falloc(size + aoff), *y = guarded(size + yoff);
                long s, i, j, k, bad = 0;
                for (i = 0; i < size + aoff; i++)
                    a[i] = (float)i;
                fill_nan(y, size + yoff);
                if (wi == 2 && n == 1) { /* rank 2: (c, hw) -> (hw, c) */
                    nnc_rt_nd q = {2, {hw, c}, {c, 1}, {1, hw}, {0}, yoff, aoff, 0};
                    p = q;
                }
                nnc_rt_copy_nd(y, a, &p);
                for (s = 0; s < n; s++)
                    for (i = 0; i < hw; i++)
                        for (k = 0; k < c; k++) {
                            j = ((s * hw + i) * c + k) + yoff;
                            bad += y[j] != a[(s * c + k) * hw + i + aoff];
                        }
                for (j = 0; j < yoff; j++)
                    bad += !isnan(y[j]);
                ck_assert_msg(bad == 0 && guard_ok(y, size + yoff),
                              "copy_nd transpose c %ld w %ld n %d: %ld wrong", c, w, n, bad);
                free(a);
                free(y);
            }
}
END_TEST

START_TEST(test_binary_nd)
{
    nnc_rt_rng r;
    int fn, t;
    nnc_rt_rng_seed(&r, 43);
    for (fn = NNC_RT_BIN_ADD; fn <= NNC_RT_BIN_XOR; fn++)
        for (t = 0; t < 40; t++) {
            nd_case c;
            long k, yo, ao, bo, co;
            nd_case_new(&c, &r, t % 6);
            bin_operands(fn, c.a, c.na, c.b, c.nb, &r);
            nnc_rt_binary_nd(fn, c.y, c.a, c.b, &c.p);
            for (k = 0; k < space_size(&c.p); k++) {
                double want;
                offsets(&c.p, NULL, k, &yo, &ao, &bo, &co);
                want = bin_ref(fn, c.a[ao], c.b[bo]);
                ck_assert_msg(near(c.y[yo], want, 1e-6, 1e-5), "binary %d #%d: %g op %g = %.9g, want %.9g",
                              fn, t, c.a[ao], c.b[bo], c.y[yo], want);
            }
            nd_case_done(&c, "binary", t);
        }
}
END_TEST

/* the spaces nnc_rt_binary_nd merges into long rows (dense operands, a
 * scalar or per-channel operand, size-1 axes, an output inside a larger
 * buffer) and one it must not (a sliced operand), for the vectorised
 * functions, max and min with NaN on either side (NaN wins, as binary1
 * has it) */
START_TEST(test_binary_nd_merged_rows)
{
    static const int fns[] = {NNC_RT_BIN_ADD, NNC_RT_BIN_MUL, NNC_RT_BIN_DIV, NNC_RT_BIN_MAX, NNC_RT_BIN_MIN};
    const long D[4] = {1, 7, 5, 24};
    nnc_rt_rng r;
    int f, kind;
    nnc_rt_rng_seed(&r, 47);
    for (f = 0; f < 5; f++)
        for (kind = 0; kind < 5; kind++) {
            nnc_rt_nd p;
            long na = 2 * 7 * 5 * 24 + 8, nb = na, ny = 7 * 5 * 24 + 3, k, yo, ao, bo, co;
            float *a = falloc(na), *b = falloc(nb), *y = guarded(ny);
            int d;
            memset(&p, 0, sizeof p);
            p.rank = 4;
            for (d = 0; d < 4; d++)
                p.dims[d] = D[d];
            p.ys[3] = p.as[3] = p.bs[3] = 1;
            for (d = 2; d >= 0; d--) {
                p.ys[d] = p.as[d] = p.bs[d] = p.ys[d + 1] * D[d + 1];
            }
            p.yoff = 3;
            if (kind == 1) /* b a scalar */
                memset(p.bs, 0, sizeof p.bs), p.boff = 5;
            if (kind == 2) /* a one value per channel */
                p.as[0] = p.as[1] = p.as[2] = 0;
            if (kind == 3) /* a scalar, first */
                memset(p.as, 0, sizeof p.as);
            if (kind == 4) /* b: every other row of a wider tensor */
                p.bs[2] = 2 * 24, p.bs[1] = 2 * 24 * 5, p.bs[0] = 0;
            fill_uniform(a, na, &r, -2, 2);
            fill_uniform(b, nb, &r, -2, 2);
            for (k = 0; k < na; k += 11)
                a[k] = NAN;
            for (k = 3; k < nb; k += 13)
                b[k] = NAN;
            fill_nan(y, ny);
            nnc_rt_binary_nd(fns[f], y, a, b, &p);
            for (k = 0; k < space_size(&p); k++) {
                double want;
                offsets(&p, NULL, k, &yo, &ao, &bo, &co);
                want = isnan(a[ao]) || isnan(b[bo]) ? NAN : bin_ref(fns[f], a[ao], b[bo]);
                ck_assert_msg(isnan(want) ? isnan(y[yo]) : near(y[yo], want, 1e-6, 1e-6),
                              "binary %d kind %d element %ld: %g op %g = %g", fns[f], kind, k, a[ao], b[bo], y[yo]);
            }
            for (k = 0; k < 3; k++)
                ck_assert(isnan(y[k]));
            ck_assert(guard_ok(y, ny));
            free(a); free(b); free(y);
        }
}
END_TEST

START_TEST(test_where_nd)
{
    nnc_rt_rng r;
    int t;
    nnc_rt_rng_seed(&r, 47);
    for (t = 0; t < 100; t++) {
        nd_case c;
        long cs[NNC_RT_ND_MAX], nc, k, yo, ao, bo, co;
        float *cond;
        nd_case_new(&c, &r, t % 6);
        nc = random_strides(&c.p, cs, &r, 1);
        cond = falloc(nc);
        for (k = 0; k < nc; k++)
            cond[k] = (float)pick(&r, 3) - 1.0f; /* -1, 0, 1: nonzero is true */
        nnc_rt_where_nd(c.y, cond, c.a, c.b, &c.p, cs);
        for (k = 0; k < space_size(&c.p); k++) {
            offsets(&c.p, cs, k, &yo, &ao, &bo, &co);
            ck_assert_msg(c.y[yo] == (cond[co] != 0.0f ? c.a[ao] : c.b[bo]), "where #%d: element %ld", t, k);
        }
        nd_case_done(&c, "where", t);
        free(cond);
    }
}
END_TEST

/* ---- unary ----------------------------------------------------------------------- */

/* each function's definition in double, with its ONNX parameters alpha, beta */
static double un_ref(int fn, double x, double al, double be)
{
    switch (fn) {
    case NNC_RT_UN_IDENTITY: return x;
    case NNC_RT_UN_ABS: return fabs(x);
    case NNC_RT_UN_NEG: return -x;
    case NNC_RT_UN_EXP: return exp(x);
    case NNC_RT_UN_LOG: return log(x);
    case NNC_RT_UN_SQRT: return sqrt(x);
    case NNC_RT_UN_RECIPROCAL: return 1 / x;
    case NNC_RT_UN_FLOOR: return floor(x);
    case NNC_RT_UN_CEIL: return ceil(x);
    case NNC_RT_UN_ROUND: return nearbyint(x); /* halves to even */
    case NNC_RT_UN_SIGN: return (x > 0) - (x < 0);
    case NNC_RT_UN_SIN: return sin(x);
    case NNC_RT_UN_COS: return cos(x);
    case NNC_RT_UN_TAN: return tan(x);
    case NNC_RT_UN_ASIN: return asin(x);
    case NNC_RT_UN_ACOS: return acos(x);
    case NNC_RT_UN_ATAN: return atan(x);
    case NNC_RT_UN_SINH: return sinh(x);
    case NNC_RT_UN_COSH: return cosh(x);
    case NNC_RT_UN_ASINH: return asinh(x);
    case NNC_RT_UN_ACOSH: return acosh(x);
    case NNC_RT_UN_ATANH: return atanh(x);
    case NNC_RT_UN_ERF: return erf(x);
    case NNC_RT_UN_RELU: return x > 0 ? x : 0;
    case NNC_RT_UN_SIGMOID: return 1 / (1 + exp(-x));
    case NNC_RT_UN_TANH: return tanh(x);
    case NNC_RT_UN_SOFTPLUS: return log1p(exp(x));
    case NNC_RT_UN_SOFTSIGN: return x / (1 + fabs(x));
    case NNC_RT_UN_LEAKY_RELU: return x < 0 ? al * x : x;
    case NNC_RT_UN_ELU: return x < 0 ? al * (exp(x) - 1) : x;
    case NNC_RT_UN_SELU: return be * (x > 0 ? x : al * (exp(x) - 1)); /* beta: gamma */
    case NNC_RT_UN_CELU: return (x > 0 ? x : 0) + fmin(0, al * (exp(x / al) - 1));
    case NNC_RT_UN_HARD_SIGMOID: return fmax(0, fmin(1, al * x + be));
    case NNC_RT_UN_HARD_SWISH: return x * fmax(0, fmin(1, x / 6 + 0.5));
    case NNC_RT_UN_THRESHOLDED_RELU: return x > al ? x : 0;
    case NNC_RT_UN_CLIP: return fmin(fmax(x, al), be);
    case NNC_RT_UN_NOT: return x == 0;
    case NNC_RT_UN_ISNAN: return isnan(x);
    case NNC_RT_UN_ISINF: return isinf(x) && ((al != 0 && x > 0) || (be != 0 && x < 0));
    case NNC_RT_UN_SHRINK: return x < -al ? x + be : x > al ? x - be : 0; /* lambd, bias */
    case NNC_RT_UN_MISH: return x * tanh(log1p(exp(x)));
    default: return al * x + be; /* AFFINE */
    }
}

/* 37 inputs (odd: vector tails) inside fn's domain, with the values its
 * definition treats specially: halves for round, zeros for not, NaN and
 * infinities for isnan and isinf */
static void un_inputs(int fn, float *x, int n, nnc_rt_rng *r)
{
    float lo = -3, hi = 3;
    int i;
    if (fn == NNC_RT_UN_LOG || fn == NNC_RT_UN_SQRT || fn == NNC_RT_UN_RECIPROCAL)
        lo = 0.1f;
    if (fn == NNC_RT_UN_ACOSH)
        lo = 1.0f;
    if (fn == NNC_RT_UN_ASIN || fn == NNC_RT_UN_ACOS || fn == NNC_RT_UN_ATANH)
        lo = -0.9f, hi = 0.9f;
    fill_uniform(x, n, r, lo, hi);
    if (fn == NNC_RT_UN_ROUND || fn == NNC_RT_UN_NOT || fn == NNC_RT_UN_SIGN)
        for (i = 0; i < n; i += 2)
            x[i] = 0.5f * (float)((int)pick(r, 13) - 6); /* -3 .. 3 by halves, zeros among them */
    if (fn == NNC_RT_UN_ISNAN || fn == NNC_RT_UN_ISINF) {
        x[0] = NAN;
        x[1] = INFINITY;
        x[2] = -INFINITY;
    }
}

START_TEST(test_unary)
{
    /* alpha, beta for the functions that take them (0 for the rest) */
    static const float params[][3] = {
        {NNC_RT_UN_LEAKY_RELU, 0.1f, 0}, {NNC_RT_UN_ELU, 1.2f, 0}, {NNC_RT_UN_SELU, 1.6732632f, 1.0507010f},
        {NNC_RT_UN_CELU, 0.8f, 0}, {NNC_RT_UN_HARD_SIGMOID, 0.2f, 0.5f}, {NNC_RT_UN_THRESHOLDED_RELU, 0.3f, 0},
        {NNC_RT_UN_CLIP, -0.5f, 0.7f}, {NNC_RT_UN_ISINF, 1, 0}, {NNC_RT_UN_SHRINK, 0.5f, 0.2f},
        {NNC_RT_UN_AFFINE, 2, -1}};
    enum { N = 37 };
    nnc_rt_rng r;
    int fn, i, inplace;
    nnc_rt_rng_seed(&r, 53);
    for (fn = NNC_RT_UN_IDENTITY; fn <= NNC_RT_UN_AFFINE; fn++)
        for (inplace = 0; inplace < 2; inplace++) {
            float x[N], y[N + GUARD], al = 0, be = 0;
            unsigned k;
            for (k = 0; k < sizeof params / sizeof params[0]; k++)
                if ((int)params[k][0] == fn)
                    al = params[k][1], be = params[k][2];
            un_inputs(fn, x, N, &r);
            memcpy(y, x, sizeof x);
            for (i = N; i < N + GUARD; i++)
                y[i] = GUARD_VALUE;
            nnc_rt_unary(fn, y, inplace ? y : x, N, al, be);
            for (i = 0; i < N; i++) {
                double want = un_ref(fn, x[i], al, be);
                ck_assert_msg(near(y[i], want, 1e-6, 2e-6) || (isnan(want) && isnan(y[i])),
                              "unary %d (in place %d): f(%.9g) = %.9g, want %.9g", fn, inplace,
                              x[i], y[i], want);
            }
            ck_assert(guard_ok(y, N));
        }
    /* isinf of the negative side only */
    {
        float x[3] = {INFINITY, -INFINITY, 1}, y[3];
        nnc_rt_unary(NNC_RT_UN_ISINF, y, x, 3, 0, 1);
        ck_assert(y[0] == 0 && y[1] == 1 && y[2] == 0);
    }
}
END_TEST

/* ---- reductions ---------------------------------------------------------------------- */

/* x (3, 4, 5) reduced over the axes in mask (bit d: axis d) with fn, by loops */
static void reduce_ref(int fn, double *y, const float *x, const long *dims, int mask)
{
    long i, j, k, ny = 1, count = 1;
    int d;
    for (d = 0; d < 3; d++)
        ny *= mask >> d & 1 ? 1 : dims[d], count *= mask >> d & 1 ? dims[d] : 1;
    for (i = 0; i < ny; i++)
        y[i] = fn == NNC_RT_RED_MAX ? -INFINITY : fn == NNC_RT_RED_MIN ? INFINITY
               : fn == NNC_RT_RED_PROD ? 1 : 0;
    for (i = 0; i < dims[0]; i++)
        for (j = 0; j < dims[1]; j++)
            for (k = 0; k < dims[2]; k++) {
                long yi = 0;
                double v = x[(i * dims[1] + j) * dims[2] + k];
                if (!(mask & 1)) yi = yi * dims[0] + i;
                if (!(mask & 2)) yi = yi * dims[1] + j;
                if (!(mask & 4)) yi = yi * dims[2] + k;
                switch (fn) {
                case NNC_RT_RED_MAX: y[yi] = v > y[yi] ? v : y[yi]; break;
                case NNC_RT_RED_MIN: y[yi] = v < y[yi] ? v : y[yi]; break;
                case NNC_RT_RED_PROD: y[yi] *= v; break;
                case NNC_RT_RED_L1: y[yi] += fabs(v); break;
                case NNC_RT_RED_L2: case NNC_RT_RED_SUM_SQUARE: y[yi] += v * v; break;
                case NNC_RT_RED_LOG_SUM_EXP: y[yi] += exp(v); break;
                default: y[yi] += v; break;
                }
            }
    for (i = 0; i < ny; i++)
        y[i] = fn == NNC_RT_RED_MEAN ? y[i] / (double)count : fn == NNC_RT_RED_L2 ? sqrt(y[i])
               : fn == NNC_RT_RED_LOG_SUM || fn == NNC_RT_RED_LOG_SUM_EXP ? log(y[i]) : y[i];
}

START_TEST(test_reduce_nd)
{
    static const long dims[3] = {3, 4, 5};
    static const int masks[] = {1, 2, 4, 5, 3, 7};
    float x[60], y[60 + GUARD];
    double want[60];
    nnc_rt_rng r;
    int fn, m, d;
    nnc_rt_rng_seed(&r, 59);
    fill_uniform(x, 60, &r, 0.1f, 1.2f); /* positive: log_sum is defined */
    for (fn = NNC_RT_RED_SUM; fn <= NNC_RT_RED_SUM_SQUARE; fn++)
        for (m = 0; m < 6; m++) {
            nnc_rt_nd p;
            long ny = 1, count = 1, stride = 1, i;
            memset(&p, 0, sizeof p);
            p.rank = 3;
            for (d = 2; d >= 0; d--) { /* x contiguous; y's strides 0 on the reduced axes */
                p.dims[d] = dims[d];
                p.as[d] = d == 2 ? 1 : p.as[d + 1] * dims[d + 1];
                p.ys[d] = masks[m] >> d & 1 ? 0 : stride;
                stride *= masks[m] >> d & 1 ? 1 : dims[d];
                ny *= masks[m] >> d & 1 ? 1 : dims[d];
                count *= masks[m] >> d & 1 ? dims[d] : 1;
            }
            fill_nan(y, 60);
            for (i = 0; i < GUARD; i++)
                y[ny + i] = GUARD_VALUE;
            nnc_rt_reduce_nd(fn, y, x, &p, ny, count);
            reduce_ref(fn, want, x, dims, masks[m]);
            i = first_bad(y, want, ny, 1e-6, 1e-5);
            ck_assert_msg(i == ny, "reduce %d over axes %d: y[%ld] = %.9g, want %.9g", fn, masks[m], i,
                          i < ny ? y[i] : 0.0, i < ny ? want[i] : 0.0);
            ck_assert(guard_ok(y, ny));
        }
}
END_TEST

/* ---- along one axis: softmax, arg, gather, nll, cumsum ---------------------------------- */

enum { OUT = 2, AX = 5, IN = 3, AXN = OUT * AX * IN };

/* softmax (PLAIN, LOG, HARD) of x (OUT, AX, IN) along the axis, in double */
static void softmax_ref(int fn, double *y, const double *x)
{
    int o, i, k;
    for (o = 0; o < OUT; o++)
        for (i = 0; i < IN; i++) {
            const double *xr = x + o * AX * IN + i;
            double *yr = y + o * AX * IN + i, mx = xr[0], s = 0;
            int arg = 0;
            for (k = 1; k < AX; k++)
                if (xr[k * IN] > mx)
                    mx = xr[k * IN], arg = k;
            for (k = 0; k < AX; k++)
                s += exp(xr[k * IN] - mx);
            for (k = 0; k < AX; k++)
                yr[k * IN] = fn == NNC_RT_SOFTMAX_HARD ? k == arg
                             : fn == NNC_RT_SOFTMAX_LOG ? xr[k * IN] - mx - log(s)
                                                        : exp(xr[k * IN] - mx) / s;
        }
}

/* sum dy * softmax(x) of the reference */
static double softmax_objective(int fn, const double *x, const float *dy)
{
    double y[AXN], s = 0;
    int i;
    softmax_ref(fn, y, x);
    for (i = 0; i < AXN; i++)
        s += dy[i] * y[i];
    return s;
}

START_TEST(test_softmax_axis)
{
    float x[AXN], y[AXN], dy[AXN], dx[AXN];
    double xd[AXN], want[AXN];
    nnc_rt_rng r;
    int fn, i;
    nnc_rt_rng_seed(&r, 61);
    fill_uniform(x, AXN, &r, -3, 3);
    fill_uniform(dy, AXN, &r, -1, 1);
    x[IN] = x[0]; /* a tie: hardmax takes the first */
    for (i = 0; i < AXN; i++)
        xd[i] = x[i];
    for (fn = NNC_RT_SOFTMAX_PLAIN; fn <= NNC_RT_SOFTMAX_HARD; fn++) {
        nnc_rt_softmax_axis(fn, y, x, OUT, AX, IN);
        softmax_ref(fn, want, xd);
        ck_assert_int_eq(first_bad(y, want, AXN, 1e-6, 1e-5), AXN);
        if (fn == NNC_RT_SOFTMAX_HARD)
            break;
        nnc_rt_softmax_axis_backward(fn, dx, dy, y, OUT, AX, IN);
        for (i = 0; i < AXN; i++) { /* central differences of the reference */
            const double h = 1e-6, save = xd[i];
            double fp, fm;
            xd[i] = save + h;
            fp = softmax_objective(fn, xd, dy);
            xd[i] = save - h;
            fm = softmax_objective(fn, xd, dy);
            xd[i] = save;
            ck_assert_msg(near(dx[i], (fp - fm) / (2 * h), 1e-5, 1e-4), "softmax %d: dx[%d] = %.7g, want %.7g",
                          fn, i, dx[i], (fp - fm) / (2 * h));
        }
    }
}
END_TEST

START_TEST(test_arg_axis)
{
    float x[AXN], y[OUT * IN];
    nnc_rt_rng r;
    int fn, last, o, i, k;
    nnc_rt_rng_seed(&r, 67);
    for (i = 0; i < AXN; i++)
        x[i] = (float)pick(&r, 3); /* ties everywhere */
    for (fn = NNC_RT_RED_MAX; fn <= NNC_RT_RED_MIN; fn++)
        for (last = 0; last < 2; last++) {
            nnc_rt_arg_axis(fn, y, x, OUT, AX, IN, last);
            for (o = 0; o < OUT; o++)
                for (i = 0; i < IN; i++) {
                    int best = 0;
                    for (k = 1; k < AX; k++) {
                        float v = x[(o * AX + k) * IN + i], b = x[(o * AX + best) * IN + i];
                        if (fn == NNC_RT_RED_MAX ? v > b || (last && v == b) : v < b || (last && v == b))
                            best = k;
                    }
                    ck_assert_float_eq(y[o * IN + i], (float)best);
                }
        }
}
END_TEST

START_TEST(test_gather_axis)
{
    /* Gather: the same indices for every outer row, negative ones from the
     * end, out-of-range ones (7, -6) read 0 */
    const float gidx[4] = {-1, 4, 7, -6};
    float x[AXN], y[OUT * 4 * IN], eidx[OUT * 4 * IN];
    nnc_rt_rng r;
    int o, j, i, elements;
    nnc_rt_rng_seed(&r, 71);
    fill_uniform(x, AXN, &r, -1, 1);
    for (i = 0; i < OUT * 4 * IN; i++)
        eidx[i] = (float)((int)pick(&r, 12) - 6); /* -6 .. 5 */
    for (elements = 0; elements < 2; elements++) {
        nnc_rt_gather_axis(y, x, elements ? eidx : gidx, OUT, AX, IN, 4, elements);
        for (o = 0; o < OUT; o++)
            for (j = 0; j < 4; j++)
                for (i = 0; i < IN; i++) {
                    int k = (int)(elements ? eidx[(o * 4 + j) * IN + i] : gidx[j]);
                    int kk = k < 0 ? k + AX : k;
                    float want = kk >= 0 && kk < AX ? x[(o * AX + kk) * IN + i] : 0.0f;
                    ck_assert_msg(y[(o * 4 + j) * IN + i] == want, "gather elements %d: [%d,%d,%d]",
                                  elements, o, j, i);
                }
    }
}
END_TEST

START_TEST(test_nll_loss)
{
    enum { NB = 3, C = 4, INNER = 2 };
    /* class indices; 2 is ignored, 9 and -1 are out of range (no loss) */
    const float target[NB * INNER] = {0, 3, 2, 1, 9, -1};
    const float weight[C] = {0.5f, 2, 1, 3};
    float x[NB * C * INNER], y[NB * INNER];
    nnc_rt_rng r;
    int red, wt, b, i;
    nnc_rt_rng_seed(&r, 73);
    fill_uniform(x, NB * C * INNER, &r, -3, 0);
    for (wt = 0; wt < 2; wt++)
        for (red = 0; red < 3; red++) {
            double sum = 0, wsum = 0;
            nnc_rt_nll_loss(y, x, target, wt ? weight : NULL, NB, C, INNER, red, 2);
            for (b = 0; b < NB; b++)
                for (i = 0; i < INNER; i++) {
                    int t = (int)target[b * INNER + i];
                    double w = t == 2 || t < 0 || t >= C ? 0 : wt ? weight[t] : 1;
                    double l = w ? -x[(b * C + t) * INNER + i] * w : 0;
                    if (red == 0)
                        ck_near(y[b * INNER + i], l, 1e-6, 1e-6);
                    sum += l;
                    wsum += w;
                }
            if (red == 1)
                ck_near(y[0], sum, 1e-5, 1e-6);
            if (red == 2)
                ck_near(y[0], sum / wsum, 1e-5, 1e-6);
        }
}
END_TEST

START_TEST(test_cumsum_axis)
{
    float x[AXN], y[AXN];
    nnc_rt_rng r;
    int ex, rev, o, i, k;
    nnc_rt_rng_seed(&r, 79);
    fill_uniform(x, AXN, &r, -1, 1);
    for (ex = 0; ex < 2; ex++)
        for (rev = 0; rev < 2; rev++) {
            nnc_rt_cumsum_axis(y, x, OUT, AX, IN, ex, rev);
            for (o = 0; o < OUT; o++)
                for (i = 0; i < IN; i++)
                    for (k = 0; k < AX; k++) {
                        double s = 0;
                        int q;
                        for (q = 0; q < AX; q++) /* the elements before k (after, reversed) */
                            if (rev ? q > k || (!ex && q == k) : q < k || (!ex && q == k))
                                s += x[(o * AX + q) * IN + i];
                        ck_near(y[(o * AX + k) * IN + i], s, 1e-6, 1e-6);
                    }
        }
}
END_TEST

/* ---- batched products ---------------------------------------------------------------- */

START_TEST(test_matmul_nd)
{
    /* a batch space (2, 3): a varies along the first axis only, b along the
     * second only (both broadcast), y contiguous; (3, 7) x (7, 5) each */
    enum { M = 3, N = 5, K = 7, B0 = 2, B1 = 3 };
    float a[B0 * M * K], b[B1 * K * N], y[B0 * B1 * M * N + GUARD];
    nnc_rt_nd p;
    nnc_rt_rng r;
    int i0, i1, i, j, k;
    nnc_rt_rng_seed(&r, 83);
    fill_uniform(a, B0 * M * K, &r, -1, 1);
    fill_uniform(b, B1 * K * N, &r, -1, 1);
    fill_nan(y, B0 * B1 * M * N);
    for (i = 0; i < GUARD; i++)
        y[B0 * B1 * M * N + i] = GUARD_VALUE;
    memset(&p, 0, sizeof p);
    p.rank = 2;
    p.dims[0] = B0; p.dims[1] = B1;
    p.ys[0] = B1 * M * N; p.ys[1] = M * N;
    p.as[0] = M * K; p.as[1] = 0;
    p.bs[0] = 0; p.bs[1] = K * N;
    nnc_rt_matmul_nd(y, a, b, &p, M, N, K);
    for (i0 = 0; i0 < B0; i0++)
        for (i1 = 0; i1 < B1; i1++)
            for (i = 0; i < M; i++)
                for (j = 0; j < N; j++) {
                    double s = 0;
                    for (k = 0; k < K; k++)
                        s += (double)a[i0 * M * K + i * K + k] * b[i1 * K * N + k * N + j];
                    ck_near(y[(i0 * B1 + i1) * M * N + i * N + j], s, 1e-5, 1e-5);
                }
    ck_assert(guard_ok(y, B0 * B1 * M * N));
}
END_TEST

int main(void)
{
    const TTest *space[] = {test_copy_nd_and_fill, test_copy_nd_transpose, test_binary_nd, test_binary_nd_merged_rows,
                            test_where_nd, test_matmul_nd,
                            NULL};
    const TTest *functions[] = {test_unary, test_reduce_nd, NULL};
    const TTest *axis[] = {test_softmax_axis, test_arg_axis, test_gather_axis, test_nll_loss,
                           test_cumsum_axis, NULL};
    const kernel_case cases[] = {{"space", space, 0, 0}, {"functions", functions, 0, 0},
                                 {"axis", axis, 0, 0}};
    return run_cases("tensor_nd", cases, (int)(sizeof cases / sizeof cases[0]));
}
