/* index.c — the indexing kernels whose positions are run-time data (ONNX
 * ScatterElements, ScatterND, GatherND, TopK) and the backward kernels of
 * the differentiable ones.
 *
 * Decisions:
 *  - Every tensor is float32, indices too (as in tensor_nd.c): an index is
 *    the float's integer part; negative ones count from the end of their
 *    axis.  An index still outside its axis after that breaks ONNX's rules;
 *    the compiler refuses constant ones, and a run-time one is skipped (a
 *    gather writes 0), so a bad index never reads or writes outside a buffer.
 *  - No scratch memory: TopK keeps a heap of its k positions in its own
 *    output row, in a strict total order (value, then the lower index
 *    first, NaN above every number as numpy sorts it), O(axis log k) per
 *    row; positions are floats, exact for axes below 2^24 (the compiler
 *    refuses longer ones).
 *  - Walks compute each cell's offsets from its multi-index by division:
 *    these kernels move data, they do no arithmetic worth vectorising.
 */
#include <math.h>
#include <string.h>

#include "nnc_rt.h"


/* an index held in a float, normalised into [0, len); -1 when outside */
static long norm_index(float v, long len)
{
    long k;
    if (!(v > -9.2e18f && v < 9.2e18f))
        return -1;      /* NaN or beyond long */
    k = (long)v;
    if (k < 0)
        k += len;
    return k >= 0 && k < len ? k : -1;
}

static float combine(int reduction, float old, float v)
{
    switch (reduction) {
    case NNC_RT_SCATTER_ADD: return old + v;
    case NNC_RT_SCATTER_MUL: return old * v;
    case NNC_RT_SCATTER_MAX: return v > old ? v : old;
    case NNC_RT_SCATTER_MIN: return v < old ? v : old;
    default: return v;
    }
}

/* the offsets of cell k of the space in y (without the axis' own term) and
 * in the index/update tensors (strides as); the cell's coordinate on axis */
static void cell(const nnc_rt_nd *p, long k, int axis, long *yo, long *ao, long *c_axis)
{
    int d;
    *yo = p->yoff;
    *ao = p->aoff;
    *c_axis = 0;
    for (d = p->rank - 1; d >= 0; d--) {
        long i = k % p->dims[d];
        k /= p->dims[d];
        if (d == axis)
            *c_axis = i;
        else
            *yo += i * p->ys[d];
        *ao += i * p->as[d];
    }
}

void nnc_rt_scatter_elements(float *y, const float *x, const float *idx, const float *upd, const nnc_rt_nd *p,
                             int axis, long alen, long nx, int reduction)
{
    long n = nnc_rt_nd_space(p), k;
    if (y != x)
        memmove(y, x, (size_t)nx * sizeof *y);
    for (k = 0; k < n; k++) {
        long yo, ao, c, j;
        cell(p, k, axis, &yo, &ao, &c);
        j = norm_index(idx[ao], alen);
        if (j < 0)
            continue;
        yo += j * p->ys[axis];
        y[yo] = upd ? combine(reduction, y[yo], upd[ao]) : 0.0f;
    }
}

void nnc_rt_gather_elements_nd(float *y, const float *x, const float *idx, const nnc_rt_nd *p, int axis, long alen)
{
    long n = nnc_rt_nd_space(p), k;
    for (k = 0; k < n; k++) {
        long xo, ao, c, j;
        cell(p, k, axis, &xo, &ao, &c);
        j = norm_index(idx[ao], alen);
        y[ao] = j < 0 ? 0.0f : x[xo + j * p->ys[axis]];
    }
}

/* the offset tuple t of idx (p->rank integers) points at in x, -1 when one
 * is outside its axis */
static long tuple_offset(const float *idx, const nnc_rt_nd *p)
{
    long off = 0;
    int j;
    for (j = 0; j < p->rank; j++) {
        long i = norm_index(idx[j], p->dims[j]);
        if (i < 0)
            return -1;
        off += i * p->ys[j];
    }
    return off;
}

void nnc_rt_scatter_nd(float *y, const float *x, const float *idx, const float *upd, const nnc_rt_nd *p,
                       long tuples, long slice, long nx, int reduction)
{
    long t, s;
    if (y != x)
        memmove(y, x, (size_t)nx * sizeof *y);
    for (t = 0; t < tuples; t++) {
        long off = tuple_offset(idx + t * p->rank, p);
        if (off < 0)
            continue;
        for (s = 0; s < slice; s++)
            y[off + s] = combine(reduction, y[off + s], upd[t * slice + s]);
    }
}

void nnc_rt_gather_nd(float *y, const float *x, const float *idx, const nnc_rt_nd *p, long batches, long tuples,
                      long slice, long xbatch)
{
    long b, t, s;
    for (b = 0; b < batches; b++)
        for (t = 0; t < tuples; t++) {
            long r = b * tuples + t, off = tuple_offset(idx + r * p->rank, p);
            for (s = 0; s < slice; s++)
                y[r * slice + s] = off < 0 ? 0.0f : x[b * xbatch + off + s];
        }
}

void nnc_rt_gather_nd_backward(float *dx, const float *dy, const float *idx, const nnc_rt_nd *p, long batches,
                               long tuples, long slice, long xbatch)
{
    long b, t, s;
    memset(dx, 0, (size_t)(batches * xbatch) * sizeof *dx);
    for (b = 0; b < batches; b++)
        for (t = 0; t < tuples; t++) {
            long r = b * tuples + t, off = tuple_offset(idx + r * p->rank, p);
            if (off >= 0)
                for (s = 0; s < slice; s++)
                    dx[b * xbatch + off + s] += dy[r * slice + s];
        }
}

/* does (a, ia) come before (b, ib) in TopK's order? */
static int before(float a, long ia, float b, long ib, int largest)
{
    int na = a != a, nb = b != b;
    if (na || nb) {     /* NaN above every number; NaNs by index */
        if (na && nb)
            return ia < ib;
        return largest ? na : nb;
    }
    if (a != b)
        return largest ? a > b : a < b;
    return ia < ib;
}

/* TopK of one row x[0], x[inner], ... into h[0], h[hs], ...: the positions
 * of its k first elements, best first, as floats (exact below 2^24).  A
 * heap of k positions with the worst of them at the root, kept in h itself
 * (no scratch), then sorted in place: O(alen log k). */
#define AT(j) ((long)h[(j) * hs])
#define BEFORE(p, q) before(x[(p) * inner], (p), x[(q) * inner], (q), largest)

static void sift_down(float *h, long hs, long n, long j, const float *x, long inner, int largest)
{
    for (;;) {
        long c = 2 * j + 1, w = j;
        if (c < n && BEFORE(AT(w), AT(c)))
            w = c;      /* the child comes after: it is worse */
        if (c + 1 < n && BEFORE(AT(w), AT(c + 1)))
            w = c + 1;
        if (w == j)
            return;
        {
            float t = h[j * hs];
            h[j * hs] = h[w * hs];
            h[w * hs] = t;
        }
        j = w;
    }
}

static void topk_row(float *h, long hs, const float *x, long alen, long inner, long k, int largest)
{
    long i, n = 0;
    for (i = 0; i < alen; i++) {
        if (n < k) {    /* add, then up while worse than the parent */
            long j = n++;
            h[j * hs] = (float)i;
            while (j > 0 && BEFORE(AT((j - 1) / 2), AT(j))) {
                float t = h[j * hs];
                h[j * hs] = h[(j - 1) / 2 * hs];
                h[(j - 1) / 2 * hs] = t;
                j = (j - 1) / 2;
            }
        } else if (k > 0 && BEFORE(i, AT(0))) {
            h[0] = (float)i;
            sift_down(h, hs, n, 0, x, inner, largest);
        }
    }
    for (n = k - 1; n > 0; n--) {   /* the worst to the end, repeatedly */
        float t = h[0];
        h[0] = h[n * hs];
        h[n * hs] = t;
        sift_down(h, hs, n, 0, x, inner, largest);
    }
}

#undef AT
#undef BEFORE

void nnc_rt_topk(float *y, const float *x, long outer, long alen, long inner, long k, int largest, int indices)
{
    long o, i, j;
    if (k > alen)
        k = alen;
    for (o = 0; o < outer; o++)
        for (i = 0; i < inner; i++) {
            const float *xr = x + o * alen * inner + i;
            float *yr = y + o * k * inner + i;
            topk_row(yr, inner, xr, alen, inner, k, largest);
            if (!indices)
                for (j = 0; j < k; j++)
                    yr[j * inner] = xr[(long)yr[j * inner] * inner];
        }
}

void nnc_rt_topk_backward(float *dx, const float *dy, const float *idx, long outer, long alen, long inner, long k)
{
    long o, i, j;
    memset(dx, 0, (size_t)(outer * alen * inner) * sizeof *dx);
    if (k > alen)
        k = alen;
    for (o = 0; o < outer; o++)
        for (i = 0; i < inner; i++)
            for (j = 0; j < k; j++) {
                long at = norm_index(idx[(o * k + j) * inner + i], alen);
                if (at >= 0)
                    dx[(o * alen + at) * inner + i] += dy[(o * k + j) * inner + i];
            }
}
