/* test_resize.c — unit tests for the runtime's resize kernels
 * (runtime/resize.c): nnc_rt_resize_axis against a plain reference written
 * here (each output the sum of its taps, in double), and its backward pass
 * against central differences of that reference.
 *
 * The tables are random: repeated indices, zero weights, constant taps
 * (index -1, the extrapolation of tf_crop_and_resize) in every other shape,
 * at shapes with an outer, an axis and an inner extent of 1 or more (inner
 * 1, the last axis, has its own loops, by blocks of the table); outputs are pre-filled
 * with NaN and followed by guard values.
 */
#include <math.h>
#include <stdlib.h>

#include "nnc_rt.h"
#include "kernel_check.h"

/* the shapes: (outer, alen, inner, ny, taps) */
static const long shapes[][5] = {
    {1, 1, 1, 1, 1}, {1, 4, 1, 8, 2}, {3, 5, 2, 9, 4}, {2, 7, 3, 3, 6}, {1, 6, 5, 12, 1}, {4, 2, 1, 5, 3},
    /* the last axis (inner 1) in several blocks of the kernel's 512 table entries, and wider than a block */
    {2, 40, 1, 300, 2}, {3, 40, 1, 300, 2}, {1, 9, 1, 200, 4}, {2, 9, 1, 200, 4}, {1, 3, 1, 2, 600},
};

/* a random table: indices in -1 .. alen - 1 (-1 now and then when constants), weights in -1 .. 1, some 0 */
static void random_table(float *idx, float *w, long ny, long taps, long alen, int constants, nnc_rt_rng *r)
{
    long k;
    for (k = 0; k < ny * taps; k++) {
        uint32_t u = nnc_rt_rng_u32(r) % 16 + (constants ? 0 : 1);
        idx[k] = u == 0 ? -1.0f : (float)(nnc_rt_rng_u32(r) % (uint32_t)alen);
        w[k] = u == 1 ? 0.0f : -1.0f + 2.0f * nnc_rt_rng_uniform(r);
    }
}

/* y (outer, ny, inner) in double, from x in double */
static void resize_ref(double *y, const double *x, const float *idx, const float *w, const long *s)
{
    long outer = s[0], alen = s[1], inner = s[2], ny = s[3], taps = s[4], o, j, t, i;
    for (o = 0; o < outer; o++)
        for (j = 0; j < ny; j++)
            for (i = 0; i < inner; i++) {
                double acc = 0;
                for (t = 0; t < taps; t++) {
                    long k = (long)idx[j * taps + t];
                    acc += w[j * taps + t] * (k < 0 ? 1.0 : x[(o * alen + k) * inner + i]);
                }
                y[(o * ny + j) * inner + i] = acc;
            }
}

START_TEST(test_resize_forward)
{
    const long *s = shapes[_i];
    long nx = s[0] * s[1] * s[2], ny = s[0] * s[3] * s[2], k;
    float *x = falloc(nx), *idx = falloc(s[3] * s[4]), *w = falloc(s[3] * s[4]), *y = guarded(ny);
    double *xd = dalloc(nx), *want = dalloc(ny);
    nnc_rt_rng r;
    nnc_rt_rng_seed(&r, 101 + (uint64_t)_i);
    fill_uniform(x, nx, &r, -2.0f, 2.0f);
    for (k = 0; k < nx; k++)
        xd[k] = x[k];
    random_table(idx, w, s[3], s[4], s[1], _i % 2 == 0, &r);
    nnc_rt_resize_axis(y, x, idx, w, s[0], s[1], s[2], s[3], s[4]);
    resize_ref(want, xd, idx, w, s);
    ck_assert_int_eq(first_bad(y, want, ny, 1e-6, 1e-5), ny);
    ck_assert(guard_ok(y, ny));
    free(x); free(idx); free(w); free(y); free(xd); free(want);
}
END_TEST

/* dx against central differences of sum(dy * resize_ref(x)); dx is set, not accumulated */
START_TEST(test_resize_backward)
{
    const long *s = shapes[_i];
    long nx = s[0] * s[1] * s[2], ny = s[0] * s[3] * s[2], k, q;
    float *idx = falloc(s[3] * s[4]), *w = falloc(s[3] * s[4]), *dy = falloc(ny), *dx = guarded(nx);
    double *xd = dalloc(nx), *yp = dalloc(ny), *ym = dalloc(ny);
    nnc_rt_rng r;
    nnc_rt_rng_seed(&r, 202 + (uint64_t)_i);
    for (k = 0; k < nx; k++)
        xd[k] = -1.0 + 2.0 * nnc_rt_rng_uniform(&r);
    fill_uniform(dy, ny, &r, -1.0f, 1.0f);
    random_table(idx, w, s[3], s[4], s[1], _i % 2 == 0, &r);
    nnc_rt_resize_axis_backward(dx, dy, idx, w, s[0], s[1], s[2], s[3], s[4]);
    for (k = 0; k < nx; k++) {
        const double h = 1e-3, save = xd[k];
        double fp = 0, fm = 0;
        xd[k] = save + h;
        resize_ref(yp, xd, idx, w, s);
        xd[k] = save - h;
        resize_ref(ym, xd, idx, w, s);
        xd[k] = save;
        for (q = 0; q < ny; q++) {
            fp += dy[q] * yp[q];
            fm += dy[q] * ym[q];
        }
        ck_assert_msg(near(dx[k], (fp - fm) / (2 * h), 1e-5, 1e-4), "shape %d: dx[%ld] = %.7g, want %.7g", _i, k,
                      (double)dx[k], (fp - fm) / (2 * h));
    }
    ck_assert(guard_ok(dx, nx));
    free(idx); free(w); free(dy); free(dx); free(xd); free(yp); free(ym);
}
END_TEST

/* a 2x linear upsample's table (half_pixel, edges clamped) reproduces the
 * interpolation by hand: the kernel is the sum its comment says */
START_TEST(test_resize_linear_2x)
{
    const float x[4] = {1, 2, 4, 8};
    const float idx[16] = {0, 0, 0, 1, 0, 1, 1, 2, 1, 2, 2, 3, 2, 3, 3, 3};
    const float w[16] = {0.75f, 0.25f, 0.75f, 0.25f, 0.25f, 0.75f, 0.75f, 0.25f,
                         0.25f, 0.75f, 0.75f, 0.25f, 0.25f, 0.75f, 0.25f, 0.75f};
    const double want[8] = {1, 1.25, 1.75, 2.5, 3.5, 5, 7, 8};
    float y[8];
    nnc_rt_resize_axis(y, x, idx, w, 1, 4, 1, 8, 2);
    ck_assert_int_eq(first_bad(y, want, 8, 1e-6, 1e-6), 8);
}
END_TEST

int main(void)
{
    const TTest *loops[] = {test_resize_forward, test_resize_backward, NULL};
    const TTest *fixed[] = {test_resize_linear_2x, NULL};
    const kernel_case cases[] = {{"tables", loops, 0, (int)(sizeof shapes / sizeof shapes[0])},
                                 {"linear", fixed, 0, 0}};
    return run_cases("resize", cases, (int)(sizeof cases / sizeof cases[0]));
}
