/* test_pool_norm.c — unit tests for the runtime's pooling, batch-norm,
 * dropout and element-wise kernels (runtime/pool.c, norm.c, tensor.c):
 * each against a plain-C reference written here in the most literal form,
 * backward kernels also against central finite differences of their
 * forward.  Outputs are pre-filled with NaN (every kernel overwrites) and
 * followed by guard values that must survive.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nnc_rt.h"
#include "kernel_check.h"

/* ---- pooling ------------------------------------------------------------------------ */

typedef struct pool_case {
    const char *name;
    int n, h, w, c, kh, kw, sh, sw, pt, pb, pl, pr;
} pool_case;

static const pool_case pool_cases[] = {
    /* name              n  h  w  c  kh kw sh sw pt pb pl pr */
    {"2x2 valid",        1, 6, 6, 3, 2, 2, 2, 2, 0, 0, 0, 0},
    {"3x3 s2 same odd",  2, 7, 7, 2, 3, 3, 2, 2, 1, 1, 1, 1},
    {"3x3 s2 same even", 3, 8, 6, 3, 3, 3, 2, 2, 0, 1, 0, 1},
    {"3x3 s1 same",      1, 5, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1},
    {"2x2 s2 same odd",  2, 5, 7, 3, 2, 2, 2, 2, 0, 1, 0, 1},
    {"global",           3, 5, 4, 5, 5, 4, 1, 1, 0, 0, 0, 0},
    {"2x3 s(1,2)",       1, 6, 9, 3, 2, 3, 1, 2, 0, 0, 0, 0},
    {"pool1d",           2, 1, 9, 3, 1, 2, 1, 2, 0, 0, 0, 1},
    {"overlap 3x3 s1",   1, 6, 5, 2, 3, 3, 1, 1, 0, 0, 0, 0},
    {"70 channels",      2, 4, 5, 70, 2, 2, 2, 2, 0, 0, 0, 1},
    {"odd valid 3x3 s2", 3, 9, 7, 1, 3, 3, 2, 2, 0, 0, 0, 0},
    {"pad > kernel",     1, 3, 3, 2, 1, 2, 1, 1, 1, 1, 2, 0},
    /* max pool's channel blocks of 16: whole ones only, one and a tail */
    {"32 ch 3x3 s2 same", 2, 7, 6, 32, 3, 3, 2, 2, 1, 1, 1, 1},
    {"17 ch 3x3 s2",     1, 6, 7, 17, 3, 3, 2, 2, 1, 0, 1, 0},
};
#define NPOOL ((int)(sizeof pool_cases / sizeof pool_cases[0]))

static nnc_rt_pool2d pool_params(const pool_case *k)
{
    nnc_rt_pool2d p;
    p.h = k->h; p.w = k->w; p.c = k->c; p.kh = k->kh; p.kw = k->kw;
    p.sh = k->sh; p.sw = k->sw; p.pt = k->pt; p.pl = k->pl;
    p.oh = (k->h + k->pt + k->pb - k->kh) / k->sh + 1;
    p.ow = (k->w + k->pl + k->pr - k->kw) / k->sw + 1;
    return p;
}

/* the literal definitions: y, and the gradient of sum(dy * y) */
static void pool_ref(const nnc_rt_pool2d *p, int is_max, double *y, double *dx, const float *x,
                     const float *dy, int n)
{
    long nx = (long)n * p->h * p->w * p->c;
    int s, oy, ox, ch, ky, kx;
    memset(dx, 0, sizeof(double) * (size_t)nx);
    for (s = 0; s < n; s++)
        for (oy = 0; oy < p->oh; oy++)
            for (ox = 0; ox < p->ow; ox++)
                for (ch = 0; ch < p->c; ch++) {
                    long yi = (((long)s * p->oh + oy) * p->ow + ox) * p->c + ch, arg = -1;
                    double acc = 0.0, best = 0.0;
                    int count = 0;
                    for (ky = 0; ky < p->kh; ky++)
                        for (kx = 0; kx < p->kw; kx++) {
                            int iy = oy * p->sh - p->pt + ky, ix = ox * p->sw - p->pl + kx;
                            long xi = (((long)s * p->h + iy) * p->w + ix) * p->c + ch;
                            if (iy < 0 || iy >= p->h || ix < 0 || ix >= p->w)
                                continue;
                            if (count == 0 || x[xi] > best) {
                                best = x[xi];
                                arg = xi;
                            }
                            acc += x[xi];
                            count++;
                        }
                    if (is_max) {
                        y[yi] = best;
                        if (arg >= 0)
                            dx[arg] += dy[yi];
                    } else {
                        y[yi] = count ? acc / count : 0.0;
                        for (ky = 0; ky < p->kh; ky++)
                            for (kx = 0; kx < p->kw; kx++) {
                                int iy = oy * p->sh - p->pt + ky, ix = ox * p->sw - p->pl + kx;
                                if (iy >= 0 && iy < p->h && ix >= 0 && ix < p->w)
                                    dx[(((long)s * p->h + iy) * p->w + ix) * p->c + ch] +=
                                        dy[yi] / count;
                            }
                    }
                }
}

static void pool_forward(const nnc_rt_pool2d *p, int is_max, float *y, const float *x, int n)
{
    if (is_max)
        nnc_rt_maxpool2d_forward(p, y, x, n);
    else
        nnc_rt_avgpool2d_forward(p, y, x, n);
}

static void pool_backward(const nnc_rt_pool2d *p, int is_max, float *dx, const float *dy,
                          const float *x, int n)
{
    if (is_max)
        nnc_rt_maxpool2d_backward(p, dx, dy, x, n);
    else
        nnc_rt_avgpool2d_backward(p, dx, dy, n);
}

/* distinct values at least 0.01 apart in random order: no ties, and a step
 * of 1e-3 never changes which cell wins a window */
static void fill_distinct(float *x, long n, uint64_t seed)
{
    int32_t *perm = malloc(sizeof(int32_t) * (size_t)n);
    long i;
    ck_assert_ptr_nonnull(perm);
    nnc_rt_shuffle(perm, n, seed);
    for (i = 0; i < n; i++)
        x[i] = -1.0f + 0.01f * (float)perm[i];
    free(perm);
}

START_TEST(test_pool_reference_and_gradcheck)
{
    int k, is_max;
    for (k = 0; k < NPOOL; k++)
        for (is_max = 0; is_max < 2; is_max++) {
            nnc_rt_pool2d p = pool_params(&pool_cases[k]);
            int n = pool_cases[k].n;
            long nx = (long)n * p.h * p.w * p.c, ny = (long)n * p.oh * p.ow * p.c, i, bad;
            float *x = falloc(nx), *dy = falloc(ny), *y = guarded(ny), *dx = guarded(nx);
            double *ry = dalloc(ny), *rdx = dalloc(nx);
            const char *name = pool_cases[k].name, *kind = is_max ? "max" : "avg";
            nnc_rt_rng rng;
            nnc_rt_rng_seed(&rng, 500 + k);
            fill_distinct(x, nx, 600 + k);
            fill_uniform(dy, ny, &rng, -1, 1);
            pool_ref(&p, is_max, ry, rdx, x, dy, n);
            pool_forward(&p, is_max, y, x, n);
            pool_backward(&p, is_max, dx, dy, x, n);
            bad = first_bad(y, ry, ny, 1e-6, 1e-6);
            ck_assert_msg(bad == ny, "%spool %s: y[%ld] = %.7g, want %.7g", kind, name, bad,
                          bad < ny ? y[bad] : 0.0, bad < ny ? ry[bad] : 0.0);
            bad = first_bad(dx, rdx, nx, 1e-6, 1e-5);
            ck_assert_msg(bad == nx, "%spool %s: dx[%ld] = %.7g, want %.7g", kind, name, bad,
                          bad < nx ? dx[bad] : 0.0, bad < nx ? rdx[bad] : 0.0);
            ck_assert_msg(guard_ok(y, ny) && guard_ok(dx, nx), "%spool %s: wrote past the end",
                          kind, name);
            /* finite differences of L = sum dy * pool(x) */
            for (i = 0; i < nx; i += nx / 80 + 1) {
                const double h = 1e-3;
                float save = x[i], xp, xm;
                double fp = 0, fm = 0, num;
                long j;
                x[i] = (float)(save + h); xp = x[i];
                pool_forward(&p, is_max, y, x, n);
                for (j = 0; j < ny; j++)
                    fp += (double)dy[j] * y[j];
                x[i] = (float)(save - h); xm = x[i];
                pool_forward(&p, is_max, y, x, n);
                for (j = 0; j < ny; j++)
                    fm += (double)dy[j] * y[j];
                x[i] = save;
                num = (fp - fm) / ((double)xp - xm);
                ck_assert_msg(near(dx[i], num, 1e-3, 1e-2), "%spool %s: dx[%ld] = %.7g, numeric %.7g",
                              kind, name, i, dx[i], num);
            }
            free(x); free(dy); free(y); free(dx); free(ry); free(rdx);
        }
}
END_TEST

START_TEST(test_pool_ties_and_padding)
{
    /* a 2x2 window of equal values: the first (top-left) cell gets it all */
    nnc_rt_pool2d p = {2, 2, 1, 1, 1, 2, 2, 2, 2, 0, 0};
    float x[4] = {3, 3, 3, 3}, y[1], dy[1] = {1.5f}, dx[4];
    /* 'same' 3x3 stride 1 over a 2x2 negative input: padding never wins a
     * max (the max is -1, not 0) and is not counted by the average */
    nnc_rt_pool2d q = {2, 2, 1, 2, 2, 3, 3, 1, 1, 1, 1};
    float xn[4] = {-1, -2, -3, -4}, yq[4];
    nnc_rt_maxpool2d_forward(&p, y, x, 1);
    ck_near(y[0], 3, 0, 0);
    nnc_rt_maxpool2d_backward(&p, dx, dy, x, 1);
    ck_near(dx[0], 1.5, 0, 0);
    ck_near(dx[1] + dx[2] + dx[3], 0, 0, 0);
    nnc_rt_maxpool2d_forward(&q, yq, xn, 1);
    ck_near(yq[0], -1, 0, 0);
    ck_near(yq[3], -1, 0, 0);
    nnc_rt_avgpool2d_forward(&q, yq, xn, 1);
    ck_near(yq[0], -2.5, 0, 1e-7); /* (-1-2-3-4)/4, not /9 */
}
END_TEST

/* ---- batch normalisation ----------------------------------------------------------- */

/* literal definition in double: y, mean, invstd */
static void bn_ref(double *y, double *mean, double *invstd, const float *x, const float *gamma,
                   const float *beta, long rows, int c, double eps)
{
    long r;
    int j;
    for (j = 0; j < c; j++) {
        double s = 0, v = 0;
        for (r = 0; r < rows; r++)
            s += x[r * c + j];
        mean[j] = s / rows;
        for (r = 0; r < rows; r++)
            v += (x[r * c + j] - mean[j]) * (x[r * c + j] - mean[j]);
        invstd[j] = 1.0 / sqrt(v / rows + eps);
        for (r = 0; r < rows; r++)
            y[r * c + j] = (x[r * c + j] - mean[j]) * invstd[j] * (gamma ? gamma[j] : 1.0) +
                           (beta ? beta[j] : 0.0);
    }
}

typedef struct bn_case { long rows; int c; int affine; } bn_case;
static const bn_case bn_cases[] = {{24, 5, 1}, {7, 70, 1}, {50, 3, 0}, {2, 4, 1}};

START_TEST(test_batchnorm_forward)
{
    unsigned k;
    const float eps = 1e-3f, momentum = 0.99f;
    for (k = 0; k < sizeof bn_cases / sizeof bn_cases[0]; k++) {
        long rows = bn_cases[k].rows, size = rows * bn_cases[k].c, bad;
        int c = bn_cases[k].c, aff = bn_cases[k].affine, j;
        float *x = falloc(size), *y = guarded(size), *g = falloc(c), *b = falloc(c);
        float *mean = falloc(c), *invstd = falloc(c), *mm = falloc(c), *mv = falloc(c);
        float *mm0 = falloc(c), *mv0 = falloc(c);
        double *ry = dalloc(size), *rmean = dalloc(c), *rinv = dalloc(c);
        nnc_rt_rng rng;
        nnc_rt_rng_seed(&rng, 700 + k);
        fill_uniform(x, size, &rng, 3, 7); /* a mean far from 0 */
        fill_uniform(g, c, &rng, 0.5f, 1.5f);
        fill_uniform(b, c, &rng, -0.5f, 0.5f);
        fill_uniform(mm0, c, &rng, -1, 1);
        fill_uniform(mv0, c, &rng, 0.5f, 2);
        memcpy(mm, mm0, sizeof(float) * (size_t)c);
        memcpy(mv, mv0, sizeof(float) * (size_t)c);
        bn_ref(ry, rmean, rinv, x, aff ? g : NULL, aff ? b : NULL, rows, c, eps);
        nnc_rt_batchnorm_forward_train(y, mean, invstd, x, aff ? g : NULL, aff ? b : NULL, mm, mv,
                                       rows, c, momentum, eps);
        bad = first_bad(y, ry, size, 1e-5, 1e-5);
        ck_assert_msg(bad == size, "bn rows=%ld c=%d: y[%ld] = %.7g, want %.7g", rows, c, bad,
                      bad < size ? y[bad] : 0.0, bad < size ? ry[bad] : 0.0);
        ck_assert(guard_ok(y, size));
        for (j = 0; j < c; j++) {
            double var = 1.0 / (rinv[j] * rinv[j]) - eps;
            ck_near(mean[j], rmean[j], 1e-6, 1e-6);
            ck_near(invstd[j], rinv[j], 0, 1e-6);
            /* Keras: moving = momentum * moving + (1 - momentum) * batch, biased var */
            ck_near(mm[j], momentum * mm0[j] + (1 - momentum) * rmean[j], 1e-6, 1e-6);
            ck_near(mv[j], momentum * mv0[j] + (1 - momentum) * var, 1e-6, 1e-5);
        }
        /* inference with the moving statistics; in place */
        memcpy(y, x, sizeof(float) * (size_t)size);
        nnc_rt_batchnorm_forward_infer(y, y, aff ? g : NULL, aff ? b : NULL, mm, mv, rows, c, eps);
        for (bad = 0; bad < size; bad++) {
            int jj = (int)(bad % c);
            double want = (x[bad] - mm[jj]) / sqrt((double)mv[jj] + eps) * (aff ? g[jj] : 1.0) +
                          (aff ? b[jj] : 0.0);
            if (!near(y[bad], want, 1e-5, 1e-5))
                break;
        }
        ck_assert_msg(bad == size, "bn infer rows=%ld c=%d: y[%ld] wrong", rows, c, bad);
        free(x); free(y); free(g); free(b); free(mean); free(invstd); free(mm); free(mv);
        free(mm0); free(mv0); free(ry); free(rmean); free(rinv);
    }
}
END_TEST

typedef struct bn_fd {
    float *x, *g, *b, *r, *y, *mean, *invstd;
    long rows;
    int c, affine;
} bn_fd;

/* L = sum r * batchnorm_train(x) (batch statistics, so every x moves every y) */
static double bn_objective(bn_fd *d)
{
    double s = 0.0;
    long i;
    nnc_rt_batchnorm_forward_train(d->y, d->mean, d->invstd, d->x, d->affine ? d->g : NULL,
                                   d->affine ? d->b : NULL, NULL, NULL, d->rows, d->c, 0.9f,
                                   1e-3f);
    for (i = 0; i < d->rows * d->c; i++)
        s += (double)d->r[i] * d->y[i];
    return s;
}

static void bn_check(bn_fd *d, float *v, long nv, const float *analytic, const char *what)
{
    const double h = 1e-2;
    long i;
    for (i = 0; i < nv; i += nv / 100 + 1) {
        float save = v[i], vp, vm;
        double fp, fm, num;
        v[i] = (float)(save + h); vp = v[i];
        fp = bn_objective(d);
        v[i] = (float)(save - h); vm = v[i];
        fm = bn_objective(d);
        v[i] = save;
        num = (fp - fm) / ((double)vp - vm);
        ck_assert_msg(near(analytic[i], num, 1e-3, 1e-2), "bn rows=%ld c=%d: %s[%ld] = %.7g, numeric %.7g",
                      d->rows, d->c, what, i, analytic[i], num);
    }
}

START_TEST(test_batchnorm_backward_gradcheck)
{
    unsigned k;
    for (k = 0; k < sizeof bn_cases / sizeof bn_cases[0]; k++) {
        bn_fd d;
        long size;
        float *dx, *dg, *db, *dx2, *dy2;
        nnc_rt_rng rng;
        int j;
        d.rows = bn_cases[k].rows;
        d.c = bn_cases[k].c;
        d.affine = bn_cases[k].affine;
        size = d.rows * d.c;
        d.x = falloc(size); d.r = falloc(size); d.y = falloc(size);
        d.g = falloc(d.c); d.b = falloc(d.c); d.mean = falloc(d.c); d.invstd = falloc(d.c);
        dx = guarded(size); dg = guarded(d.c); db = guarded(d.c);
        dx2 = falloc(size); dy2 = falloc(size);
        nnc_rt_rng_seed(&rng, 800 + k);
        fill_uniform(d.x, size, &rng, -2, 2);
        fill_uniform(d.r, size, &rng, -1, 1);
        fill_uniform(d.g, d.c, &rng, 0.5f, 1.5f);
        fill_uniform(d.b, d.c, &rng, -0.5f, 0.5f);
        bn_objective(&d); /* the saved statistics */
        nnc_rt_batchnorm_backward(dx, dg, db, d.r, d.x, d.mean, d.invstd,
                                  d.affine ? d.g : NULL, d.rows, d.c);
        ck_assert(guard_ok(dx, size) && guard_ok(dg, d.c) && guard_ok(db, d.c));
        bn_check(&d, d.x, size, dx, "dx");
        if (d.affine) {
            bn_check(&d, d.g, d.c, dg, "dgamma");
            bn_check(&d, d.b, d.c, db, "dbeta");
        }
        /* dx may be NULL; dx may equal dy */
        fill_nan(dg, d.c);
        nnc_rt_batchnorm_backward(NULL, dg, db, d.r, d.x, d.mean, d.invstd, d.g, d.rows, d.c);
        ck_assert(!isnan(dg[0]) && !isnan(dg[d.c - 1]));
        memcpy(dy2, d.r, sizeof(float) * (size_t)size);
        nnc_rt_batchnorm_backward(dx2, dg, db, d.r, d.x, d.mean, d.invstd,
                                  d.affine ? d.g : NULL, d.rows, d.c);
        nnc_rt_batchnorm_backward(dy2, dg, db, dy2, d.x, d.mean, d.invstd,
                                  d.affine ? d.g : NULL, d.rows, d.c);
        for (j = 0; j < size; j++)
            ck_assert_msg(dy2[j] == dx2[j], "bn: in-place dx differs at %d", j);
        free(d.x); free(d.r); free(d.y); free(d.g); free(d.b); free(d.mean); free(d.invstd);
        free(dx); free(dg); free(db); free(dx2); free(dy2);
    }
}
END_TEST

/* ---- dropout, mul, copy, concat ------------------------------------------------------ */

START_TEST(test_dropout)
{
    enum { N = 100000 };
    static float x[N], y[N], mask[N], mask2[N];
    static const float rates[] = {0.1f, 0.3f, 0.5f};
    unsigned k;
    long i;
    nnc_rt_rng r;
    for (i = 0; i < N; i++)
        x[i] = (float)(i % 7) - 3.0f;
    for (k = 0; k < 3; k++) {
        float rate = rates[k], keep = 1.0f / (1.0f - rate);
        long zeros = 0;
        nnc_rt_rng_seed(&r, 42);
        nnc_rt_dropout_forward(y, mask, x, N, rate, &r);
        for (i = 0; i < N; i++) {
            ck_assert_msg(mask[i] == 0.0f || mask[i] == keep, "mask[%ld] = %g", i, mask[i]);
            ck_assert(y[i] == x[i] * mask[i]);
            zeros += mask[i] == 0.0f;
        }
        /* binomial: sd = sqrt(rate (1-rate) / N) <= 0.0016; allow ~5 sd */
        ck_assert_msg(fabs((double)zeros / N - rate) < 0.008, "rate %g: dropped %g", rate,
                      (double)zeros / N);
        /* the same seed gives the same mask; another seed another */
        nnc_rt_rng_seed(&r, 42);
        nnc_rt_dropout_forward(y, mask2, x, N, rate, &r);
        ck_assert(memcmp(mask, mask2, sizeof mask) == 0);
        nnc_rt_rng_seed(&r, 43);
        nnc_rt_dropout_forward(y, mask2, x, N, rate, &r);
        ck_assert(memcmp(mask, mask2, sizeof mask) != 0);
    }
    /* rate 0: everything kept, y == x; in place works */
    nnc_rt_rng_seed(&r, 1);
    memcpy(y, x, sizeof y);
    nnc_rt_dropout_forward(y, mask, y, N, 0.0f, &r);
    for (i = 0; i < N; i++)
        ck_assert(mask[i] == 1.0f && y[i] == x[i]);
}
END_TEST

/* Keras' SpatialDropout, GaussianDropout, GaussianNoise: the mask's structure
 * and the noise's moments */
START_TEST(test_noise_layers)
{
    enum { S = 50, INNER = 40, C = 32, N = S * INNER * C };
    static float x[N], y[N], mask[N];
    nnc_rt_rng r;
    long i, dropped = 0;
    double sum = 0, sq = 0;
    int s, j;
    for (i = 0; i < N; i++)
        x[i] = (float)(i % 5) + 1.0f;
    nnc_rt_rng_seed(&r, 7);
    nnc_rt_spatial_dropout_forward(y, mask, x, S, INNER, C, 0.25f, &r);
    for (s = 0; s < S; s++)
        for (j = 0; j < C; j++) {
            float m0 = mask[(long)s * INNER * C + j];
            ck_assert_msg(m0 == 0.0f || m0 == 1.0f / 0.75f, "mask %g", m0);
            dropped += m0 == 0.0f;
            for (i = 0; i < INNER; i++) {   /* one draw for every step of a channel */
                long k = ((long)s * INNER + i) * C + j;
                ck_assert(mask[k] == m0 && y[k] == x[k] * m0);
            }
        }
    /* 1600 draws: sd = sqrt(0.25 * 0.75 / 1600) = 0.011 */
    ck_assert_msg(fabs((double)dropped / (S * C) - 0.25) < 0.05, "dropped %g", (double)dropped / (S * C));
    nnc_rt_gaussian_dropout_forward(y, mask, x, N, 0.2f, &r);   /* sd sqrt(0.2 / 0.8) = 0.5 */
    for (i = 0; i < N; i++) {
        ck_assert(y[i] == x[i] * mask[i]);
        sum += mask[i];
        sq += ((double)mask[i] - 1.0) * ((double)mask[i] - 1.0);
    }
    ck_assert_msg(fabs(sum / N - 1.0) < 0.01 && fabs(sqrt(sq / N) - 0.5) < 0.01, "mean %g sd %g", sum / N,
                  sqrt(sq / N));
    nnc_rt_gaussian_noise_forward(y, x, N, 0.3f, &r);
    sum = sq = 0;
    for (i = 0; i < N; i++) {
        double d = (double)y[i] - x[i];
        sum += d;
        sq += d * d;
    }
    ck_assert_msg(fabs(sum / N) < 0.005 && fabs(sqrt(sq / N) - 0.3) < 0.005, "mean %g sd %g", sum / N,
                  sqrt(sq / N));
}
END_TEST

START_TEST(test_mul_copy)
{
    float a[5] = {1, 2, 3, 4, 5}, b[5] = {2, 0, -1, 0.5f, 1}, y[5];
    nnc_rt_mul(y, a, b, 5);
    ck_near(y[0], 2, 0, 0);
    ck_near(y[2], -3, 0, 0);
    ck_near(y[3], 2, 0, 0);
    nnc_rt_copy(y, a, 5);
    ck_assert(memcmp(y, a, sizeof a) == 0);
    nnc_rt_copy(y, y, 5); /* aliasing is allowed */
    ck_assert(memcmp(y, a, sizeof a) == 0);
    nnc_rt_mul(a, a, a, 5);
    ck_near(a[4], 25, 0, 0);
}
END_TEST

START_TEST(test_concat_round_trip)
{
    /* (rows=3) x [2 | 4 | 1] columns */
    enum { R = 3, W0 = 2, W1 = 4, W2 = 1, T = W0 + W1 + W2 };
    float a[R * W0], b[R * W1], c[R * W2], y[R * T], da[R * W0], db[R * W1], dc[R * W2];
    int i, r, j;
    for (i = 0; i < R * W0; i++) a[i] = 100 + i;
    for (i = 0; i < R * W1; i++) b[i] = 200 + i;
    for (i = 0; i < R * W2; i++) c[i] = 300 + i;
    fill_nan(y, R * T);
    nnc_rt_concat_forward(y, a, R, W0, 0, T);
    nnc_rt_concat_forward(y, b, R, W1, W0, T);
    nnc_rt_concat_forward(y, c, R, W2, W0 + W1, T);
    for (r = 0; r < R; r++)
        for (j = 0; j < T; j++) {
            float want = j < W0 ? a[r * W0 + j] : j < W0 + W1 ? b[r * W1 + j - W0] : c[r * W2 + j - W0 - W1];
            ck_assert_msg(y[r * T + j] == want, "y[%d,%d] = %g, want %g", r, j, y[r * T + j], want);
        }
    nnc_rt_concat_backward(da, y, R, W0, 0, T);
    nnc_rt_concat_backward(db, y, R, W1, W0, T);
    nnc_rt_concat_backward(dc, y, R, W2, W0 + W1, T);
    ck_assert(memcmp(da, a, sizeof a) == 0);
    ck_assert(memcmp(db, b, sizeof b) == 0);
    ck_assert(memcmp(dc, c, sizeof c) == 0);
}
END_TEST

int main(void)
{
    const TTest *pool[] = {test_pool_reference_and_gradcheck, test_pool_ties_and_padding, NULL};
    const TTest *norm[] = {test_batchnorm_forward, test_batchnorm_backward_gradcheck, NULL};
    const TTest *misc[] = {test_dropout, test_noise_layers, test_mul_copy, test_concat_round_trip, NULL};
    const kernel_case cases[] = {{"pool", pool, 0, 0}, {"norm", norm, 0, 0}, {"misc", misc, 0, 0}};
    return run_cases("pool_norm", cases, (int)(sizeof cases / sizeof cases[0]));
}
