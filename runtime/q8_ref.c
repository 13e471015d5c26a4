/* q8_ref.c — the plain definitions of the int8 products (nnc_rt_q8.h) and
 * the build-time multiplier split: the oracle every int8 kernel is checked
 * against, bit for bit. */
#include <math.h>

#include "nnc_rt.h"

void nnc_rt_q8_multiplier(double M, int32_t *mult, int *shift) {
    if (!(M > 0)) { *mult = 0; *shift = 0; return; }
    int e;
    double f = frexp(M, &e);             /* M = f 2^e, f in [0.5, 1) */
    int64_t q = (int64_t)llround(f * 2147483648.0);
    if (q == ((int64_t)1 << 31)) { q /= 2; e++; }
    if (e < -31) { *mult = 0; *shift = 0; return; }  /* below the int32 resolution */
    *mult = (int32_t)q;
    *shift = e;
}

static int8_t q8_out(int64_t acc, int j, const nnc_rt_q8_out *o) {
    int c = o->per_channel ? j : 0;
    int32_t a = acc > INT32_MAX ? INT32_MAX : acc < INT32_MIN ? INT32_MIN : (int32_t)acc;
    /* in int64: zp + the rescaled sum may leave int32, and is then clamped */
    int64_t v = (int64_t)o->zp + nnc_rt_q8_rescale(a, o->mult[c], o->shift[c]);
    if (v < o->lo) v = o->lo;
    if (v > o->hi) v = o->hi;
    return (int8_t)v;
}

void nnc_rt_q8_dense_ref(int8_t *y, const int8_t *x, const int8_t *w, const int32_t *bias,
                         int n, int k, int m, const nnc_rt_q8_out *o) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++) {
            int64_t acc = bias ? bias[j] : 0;
            for (int t = 0; t < k; t++) acc += (int64_t)x[(long)i * k + t] * w[(long)j * k + t];
            y[(long)i * m + j] = q8_out(acc, j, o);
        }
}

void nnc_rt_q8_conv2d_ref(const nnc_rt_conv2d *p, int8_t *y, const int8_t *x, int32_t x_zp,
                          const int8_t *w, const int32_t *bias, int n, const nnc_rt_q8_out *o) {
    int cg = p->c / p->groups, og = p->oc / p->groups;
    for (int i = 0; i < n; i++)
        for (int oy = 0; oy < p->oh; oy++)
            for (int ox = 0; ox < p->ow; ox++)
                for (int oc = 0; oc < p->oc; oc++) {
                    int g = oc / og;
                    int64_t acc = bias ? bias[oc] : 0;
                    for (int ky = 0; ky < p->kh; ky++) {
                        int iy = oy * p->sh + ky * p->dh - p->pt;
                        if (iy < 0 || iy >= p->h) continue;
                        for (int kx = 0; kx < p->kw; kx++) {
                            int ix = ox * p->sw + kx * p->dw - p->pl;
                            if (ix < 0 || ix >= p->w) continue;
                            const int8_t *xs = x + (((long)i * p->h + iy) * p->w + ix) * p->c + (long)g * cg;
                            const int8_t *ws = w + (((long)oc * p->kh + ky) * p->kw + kx) * cg;
                            for (int ci = 0; ci < cg; ci++) acc += (int64_t)(xs[ci] - x_zp) * ws[ci];
                        }
                    }
                    y[(((long)i * p->oh + oy) * p->ow + ox) * p->oc + oc] = q8_out(acc, oc, o);
                }
}
