/* test_optim.c — unit tests for the runtime's regulariser, optimizer
 * updates and metrics (runtime/optim.c, metrics.c): each update against
 * its formula written out here, step by step; the metrics against a
 * hand-counted batch.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nnc_rt.h"
#include "kernel_check.h"

/* ---- regulariser and optimizers ------------------------------------------------------ */

START_TEST(test_regularize)
{
    float w[4] = {1, -2, 0, 0.5f}, g[4] = {1, 1, 1, 1};
    float v = nnc_rt_regularize(g, w, 4, 0.01f, 0.1f);
    ck_near(v, 0.01 * 3.5 + 0.1 * 5.25, 0, 1e-6);
    ck_near(g[0], 1 + 0.01 + 0.2, 0, 1e-6);
    ck_near(g[1], 1 - 0.01 - 0.4, 0, 1e-6);
    ck_near(g[2], 1, 0, 0);
    ck_near(g[3], 1 + 0.01 + 0.1, 0, 1e-6);
    ck_near(nnc_rt_regularize(NULL, w, 4, 0.0f, 1.0f), 5.25, 0, 1e-6);
}
END_TEST

START_TEST(test_sgd)
{
    float w[2] = {1, -2}, g[2] = {0.5f, 0.25f}, v[2] = {0, 0};
    nnc_rt_sgd_update(w, g, NULL, 2, 0.1f, 0.0f, 0);
    ck_near(w[0], 0.95, 0, 1e-6);
    ck_near(w[1], -2.025, 0, 1e-6);
    /* momentum 0.9: v1 = -lr g = (-.05, -.025); v2 = .9 v1 - lr g = (-.095, -.0475) */
    w[0] = 1; w[1] = -2;
    nnc_rt_sgd_update(w, g, v, 2, 0.1f, 0.9f, 0);
    ck_near(v[0], -0.05, 0, 1e-6);
    ck_near(w[0], 0.95, 0, 1e-6);
    nnc_rt_sgd_update(w, g, v, 2, 0.1f, 0.9f, 0);
    ck_near(v[0], -0.095, 0, 1e-6);
    ck_near(v[1], -0.0475, 0, 1e-6);
    ck_near(w[0], 0.855, 0, 1e-6);
    ck_near(w[1], -2.0725, 0, 1e-6);
    /* nesterov: w += .9 v - lr g: step 1 -.095, step 2 .9(-.095) - .05 = -.1355 */
    w[0] = 1; w[1] = -2; v[0] = v[1] = 0;
    nnc_rt_sgd_update(w, g, v, 2, 0.1f, 0.9f, 1);
    ck_near(w[0], 0.905, 0, 1e-6);
    ck_near(w[1], -2.0475, 0, 1e-6);
    nnc_rt_sgd_update(w, g, v, 2, 0.1f, 0.9f, 1);
    ck_near(v[0], -0.095, 0, 1e-6);
    ck_near(w[0], 0.905 - 0.1355, 0, 1e-6);
    ck_near(w[1], -2.0475 - 0.06775, 0, 1e-6);
}
END_TEST

START_TEST(test_rmsprop)
{
    const double lr = 0.01, rho = 0.9, eps = 1e-7, g1 = 0.5, g2 = -0.25;
    float w[1] = {1}, g[1] = {(float)g1}, ms[1] = {0}, mom[1] = {0};
    double s1 = (1 - rho) * g1 * g1, inc1 = lr * g1 / sqrt(s1 + eps);
    double s2 = rho * s1 + (1 - rho) * g2 * g2, inc2 = lr * g2 / sqrt(s2 + eps);
    nnc_rt_rmsprop_update(w, g, ms, NULL, 1, (float)lr, (float)rho, 0.0f, (float)eps);
    ck_near(ms[0], s1, 0, 1e-6);
    ck_near(w[0], 1 - inc1, 0, 1e-6);
    g[0] = (float)g2;
    nnc_rt_rmsprop_update(w, g, ms, NULL, 1, (float)lr, (float)rho, 0.0f, (float)eps);
    ck_near(ms[0], s2, 0, 1e-6);
    ck_near(w[0], 1 - inc1 - inc2, 0, 1e-6);
    /* momentum 0.5: mom1 = inc1, mom2 = .5 inc1 + inc2 */
    w[0] = 1; g[0] = (float)g1; ms[0] = 0;
    nnc_rt_rmsprop_update(w, g, ms, mom, 1, (float)lr, (float)rho, 0.5f, (float)eps);
    ck_near(mom[0], inc1, 0, 1e-6);
    ck_near(w[0], 1 - inc1, 0, 1e-6);
    g[0] = (float)g2;
    nnc_rt_rmsprop_update(w, g, ms, mom, 1, (float)lr, (float)rho, 0.5f, (float)eps);
    ck_near(mom[0], 0.5 * inc1 + inc2, 0, 1e-5);
    ck_near(w[0], 1 - inc1 - (0.5 * inc1 + inc2), 0, 1e-6);
}
END_TEST

/* optimizer updates over 37 equal elements: the SIMD body and the scalar
 * tail must produce the same bits (50 random states, 3 update rules) */
START_TEST(test_optim_simd_tail_agree)
{
    enum { N = 37 };
    float w[N], g[N], m[N], v[N], x[4];
    nnc_rt_rng r;
    int i, k, t, same = 0;
    nnc_rt_rng_seed(&r, 2024);
    for (t = 0; t < 50; t++) {
        fill_uniform(x, 4, &r, 0.0f, 1.0f);
        for (k = 0; k < 3; k++) {
            for (i = 0; i < N; i++) {
                w[i] = x[0] - 0.5f; g[i] = x[1] - 0.5f; m[i] = 0.1f * x[2]; v[i] = 0.1f * x[3];
            }
            if (k == 0)
                nnc_rt_adam_update(w, g, m, v, N, 3, 1e-3f, 0.9f, 0.999f, 1e-7f, 0.01f);
            else
                nnc_rt_rmsprop_update(w, g, v, k == 2 ? m : NULL, N, 1e-3f, 0.9f, 0.5f, 1e-7f);
            for (i = 0; i < N; i++)
                same += memcmp(&w[i], &w[N - 1], sizeof(float)) == 0
                     && memcmp(&m[i], &m[N - 1], sizeof(float)) == 0
                     && memcmp(&v[i], &v[N - 1], sizeof(float)) == 0;
        }
    }
    ck_assert_int_eq(same, 50 * 3 * N);
}
END_TEST

START_TEST(test_adam)
{
    const double lr = 0.001, b1 = 0.9, b2 = 0.999, eps = 1e-7, wd = 0.004;
    const double g1 = 0.5, g2 = -0.25;
    double m1 = (1 - b1) * g1, v1 = (1 - b2) * g1 * g1;
    double a1 = lr * sqrt(1 - b2) / (1 - b1);
    double m2 = m1 + (1 - b1) * (g2 - m1), v2 = v1 + (1 - b2) * (g2 * g2 - v1);
    double a2 = lr * sqrt(1 - b2 * b2) / (1 - b1 * b1);
    double w1 = 1 - a1 * m1 / (sqrt(v1) + eps), w2 = w1 - a2 * m2 / (sqrt(v2) + eps);
    float w[1] = {1}, g[1] = {(float)g1}, m[1] = {0}, v[1] = {0};
    ck_near(a1, 3.16227766e-4, 0, 1e-8); /* the formula, once by hand */
    nnc_rt_adam_update(w, g, m, v, 1, 1, (float)lr, (float)b1, (float)b2, (float)eps, 0.0f);
    ck_near(m[0], 0.05, 0, 1e-6);
    ck_near(v[0], 0.00025, 0, 1e-4); /* 1 - 0.999f is 1.3e-5 off in float */
    ck_near(w[0], w1, 0, 1e-7);
    g[0] = (float)g2;
    nnc_rt_adam_update(w, g, m, v, 1, 2, (float)lr, (float)b1, (float)b2, (float)eps, 0.0f);
    ck_near(m[0], m2, 0, 1e-6);
    ck_near(v[0], v2, 0, 1e-4);
    ck_near(w[0], w2, 0, 1e-7);
    /* adamw: w -= lr wd w before each step */
    {
        double x1 = 2 * (1 - lr * wd), x2;
        x1 -= a1 * m1 / (sqrt(v1) + eps);
        x2 = x1 * (1 - lr * wd) - a2 * m2 / (sqrt(v2) + eps);
        w[0] = 2; g[0] = (float)g1; m[0] = v[0] = 0;
        nnc_rt_adam_update(w, g, m, v, 1, 1, (float)lr, (float)b1, (float)b2, (float)eps, (float)wd);
        ck_near(w[0], x1, 0, 1e-7);
        g[0] = (float)g2;
        nnc_rt_adam_update(w, g, m, v, 1, 2, (float)lr, (float)b1, (float)b2, (float)eps, (float)wd);
        ck_near(w[0], x2, 0, 1e-7);
    }
}
END_TEST

/* ---- metrics ------------------------------------------------------------------------ */

START_TEST(test_metrics_binary)
{
    /* predicted positive (> .5): 1 0 1 0 1 ; targets 1 0 0 1 1
     * tp = 2 (0, 4), fp = 1 (2), fn = 1 (3), correct = 3 */
    float pred[5] = {0.9f, 0.2f, 0.7f, 0.4f, 0.6f}, tf[5] = {1, 0, 0, 1, 1};
    int32_t ti[5] = {1, 0, 0, 1, 1};
    int sparse;
    for (sparse = 0; sparse < 2; sparse++) {
        long counts[4] = {0, 0, 0, 0};
        double err[2] = {0, 0};
        nnc_rt_metrics out;
        const void *t = sparse ? (const void *)ti : (const void *)tf;
        /* two batches: 3 then 2 samples */
        nnc_rt_metrics_accumulate(counts, err, pred, t, sparse, 3, 1);
        nnc_rt_metrics_accumulate(counts, err, pred + 3, sparse ? (const void *)(ti + 3)
                                  : (const void *)(tf + 3), sparse, 2, 1);
        ck_assert_int_eq(counts[0], 2);
        ck_assert_int_eq(counts[1], 1);
        ck_assert_int_eq(counts[2], 1);
        ck_assert_int_eq(counts[3], 3);
        nnc_rt_metrics_finish(&out, counts, err, 5, 1);
        ck_near(out.accuracy, 0.6, 0, 1e-6);
        ck_near(out.precision, 2.0 / 3, 0, 1e-6);
        ck_near(out.recall, 2.0 / 3, 0, 1e-6);
        ck_near(out.f1, 2.0 / 3, 0, 1e-6);
        ck_near(out.mae, 2.0 / 5, 0, 1e-6);  /* .1 .2 .7 .6 .4 */
        ck_near(out.mse, 1.06 / 5, 0, 1e-6); /* .01 .04 .49 .36 .16 */
    }
}
END_TEST

START_TEST(test_metrics_multiclass)
{
    /* predicted 0 1 2 0 1 1, targets 0 1 2 1 1 2: correct 4 of 6
     * class 0: tp 1 fp 1 fn 0 -> P .5  R 1   F1 2/3
     * class 1: tp 2 fp 1 fn 1 -> P 2/3 R 2/3 F1 2/3
     * class 2: tp 1 fp 0 fn 1 -> P 1   R .5  F1 2/3
     * m = 4 adds class 3 that never occurs: excluded from the macro average. */
    static const int pc[6] = {0, 1, 2, 0, 1, 1};
    int32_t ti[6] = {0, 1, 2, 1, 1, 2};
    int m;
    for (m = 3; m <= 4; m++) {
        float pred[24], tf[24];
        long counts[13];
        double err[2];
        nnc_rt_metrics out;
        int i, j, sparse;
        for (i = 0; i < 6; i++)
            for (j = 0; j < m; j++) {
                pred[i * m + j] = j == pc[i] ? 0.8f : (j == 3 ? 0.0f : 0.1f);
                tf[i * m + j] = j == ti[i] ? 1.0f : 0.0f;
            }
        for (sparse = 0; sparse < 2; sparse++) {
            memset(counts, 0, sizeof counts);
            err[0] = err[1] = 0;
            nnc_rt_metrics_accumulate(counts, err, pred, sparse ? (const void *)ti : (const void *)tf,
                                      sparse, 6, m);
            ck_assert_int_eq(counts[3 * m], 4);
            ck_assert_int_eq(counts[3 * 1 + 0], 2);
            ck_assert_int_eq(counts[3 * 1 + 1], 1);
            ck_assert_int_eq(counts[3 * 1 + 2], 1);
            nnc_rt_metrics_finish(&out, counts, err, 6, m);
            ck_near(out.accuracy, 4.0 / 6, 0, 1e-6);
            ck_near(out.precision, (0.5 + 2.0 / 3 + 1) / 3, 0, 1e-6);
            ck_near(out.recall, (1 + 2.0 / 3 + 0.5) / 3, 0, 1e-6);
            ck_near(out.f1, 2.0 / 3, 0, 1e-6);
            /* m = 3: correct rows .2+.1+.1, wrong rows .8+.9+.1 (squares .06, 1.46) */
            if (m == 3) {
                ck_near(out.mae, 5.2 / 18, 0, 1e-6);
                ck_near(out.mse, 3.16 / 18, 0, 1e-6);
            }
        }
    }
}
END_TEST

int main(void)
{
    const TTest *optim[] = {test_regularize, test_sgd, test_rmsprop, test_adam,
                            test_optim_simd_tail_agree, NULL};
    const TTest *metrics[] = {test_metrics_binary, test_metrics_multiclass, NULL};
    const kernel_case cases[] = {{"optim", optim, 0, 0}, {"metrics", metrics, 0, 0}};
    return run_cases("optim", cases, (int)(sizeof cases / sizeof cases[0]));
}
