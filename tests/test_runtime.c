/* test_runtime.c — unit tests for the runtime (runtime/nnc_rt.h).
 *
 * Every kernel is checked against numbers: GEMM variants against the double
 * reference, backward kernels against central finite differences of their
 * forward, optimizers against their update formulas written out here,
 * metrics against a hand-counted batch.  Finite differences evaluate the
 * float forward kernels and sum in double; the step actually taken is
 * (float)(x+h) - (float)(x-h), so rounding of x itself does not bias the
 * slope.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nnc_rt.h"
#include "gemm_cases.h"

/* ---- helpers ------------------------------------------------------------------ */

#define ck_near(got, want, atol, rtol) \
    ck_assert_msg(near((got), (want), (atol), (rtol)), "%s = %.9g, want %.9g", #got, \
                  (double)(got), (double)(want))

/* ---- GEMM ----------------------------------------------------------------------- */

/* C = alpha op(A) op(B) + beta C with fn and with the reference (gemm_cases.h) */
static void check_gemm(gemm_fn fn, const char *name, int ta, int tb, int M, int N, int K,
                       float alpha, float beta, int pad, uint64_t seed, int packed)
{
    char msg[300];
    ck_assert_msg(gemm_compare(fn, name, ta, tb, M, N, K, alpha, beta, pad, seed, packed, msg, sizeof msg),
                  "%s", msg);
}

static void gemm_all_variants(int ta, int tb, int M, int N, int K, float alpha, float beta,
                              int pad, uint64_t seed)
{
    const nnc_rt_gemm_f32_variant *v;
    int nv = nnc_rt_gemm_f32_variants(&v), i;
    int packed;
    for (packed = 0; packed <= (!tb && !pad); packed++) {
        check_gemm(nnc_rt_gemm_f32, "nnc_rt_gemm_f32", ta, tb, M, N, K, alpha, beta, pad, seed, packed);
        for (i = 0; i < nv; i++)
            check_gemm(v[i].fn, v[i].name, ta, tb, M, N, K, alpha, beta, pad, seed, packed);
    }
}

START_TEST(test_gemm_variants_listed)
{
    const nnc_rt_gemm_f32_variant *v;
    int nv = nnc_rt_gemm_f32_variants(&v);
    ck_assert_int_ge(nv, 1);
    ck_assert_str_eq(v[0].name, "6x16__c");
#if defined(__AVX2__) && defined(__FMA__)
    ck_assert_int_ge(nv, 2); /* a test built with -mavx2 -mfma: the library should have it too */
#endif
}
END_TEST

START_TEST(test_gemm_small_shapes)
{
    const nnc_rt_gemm_f32_variant *v;
    int nv = nnc_rt_gemm_f32_variants(&v), i;
    char msg[300];
    ck_assert_msg(gemm_sweep(nnc_rt_gemm_f32, "nnc_rt_gemm_f32", msg, sizeof msg), "%s", msg);
    for (i = 0; i < nv; i++)
        ck_assert_msg(gemm_sweep(v[i].fn, v[i].name, msg, sizeof msg), "%s", msg);
}
END_TEST

START_TEST(test_gemm_mlp_shapes)
{
    /* the demo's three products, all four transposes, plain and padded */
    static const int shapes[][3] = {{32, 256, 784}, {784, 256, 32}, {32, 784, 256}};
    unsigned s;
    int t;
    for (s = 0; s < 3; s++)
        for (t = 0; t < 4; t++)
            gemm_all_variants(t & 1, t >> 1, shapes[s][0], shapes[s][1], shapes[s][2],
                              1.0f, t == 3 ? 0.5f : 0.0f, t == 2 ? 5 : 0, 77 + s * 4 + t);
}
END_TEST

START_TEST(test_gemm_degenerate)
{
    /* K == 0 or alpha == 0: C = beta C (beta == 0 clears NaN) */
    float A[4] = {1, 2, 3, 4}, B[4] = {NAN, 1, 2, 3}, C[4] = {1, 2, NAN, 4};
    const nnc_rt_gemm_f32_variant *v;
    int nv = nnc_rt_gemm_f32_variants(&v), i;
    for (i = -1; i < nv; i++) {
        gemm_fn fn = i < 0 ? nnc_rt_gemm_f32 : v[i].fn;
        float c1[4] = {1, 2, 3, 4}, c2[4];
        memcpy(c2, C, sizeof c2);
        fn(0, 0, 2, 2, 0, 1.0f, A, 2, B, 2, 0.5f, c1, 2);
        ck_near(c1[0], 0.5, 0, 0);
        ck_near(c1[3], 2.0, 0, 0);
        fn(0, 0, 2, 2, 2, 0.0f, A, 2, A, 2, 0.0f, c2, 2);
        ck_near(c2[2], 0.0, 0, 0);
        /* M == 0 / N == 0: nothing is touched */
        fn(0, 0, 0, 2, 2, 1.0f, A, 2, A, 2, 0.0f, c1, 2);
        fn(0, 0, 2, 0, 2, 1.0f, A, 2, A, 2, 0.0f, c1, 2);
        ck_near(c1[1], 1.0, 0, 0);
    }
    /* a 2x2 product by hand: [1 2; 3 4] [1 2; 3 4] = [7 10; 15 22] */
    {
        float c[4];
        nnc_rt_gemm_f32(0, 0, 2, 2, 2, 1.0f, A, 2, A, 2, 0.0f, c, 2);
        ck_near(c[0], 7, 0, 0);
        ck_near(c[1], 10, 0, 0);
        ck_near(c[2], 15, 0, 0);
        ck_near(c[3], 22, 0, 0);
        nnc_rt_gemm_f32(1, 1, 2, 2, 2, 1.0f, A, 2, A, 2, 0.0f, c, 2); /* A^T A^T = (AA)^T */
        ck_near(c[1], 15, 0, 0);
        ck_near(c[2], 10, 0, 0);
    }
}
END_TEST

/* ---- activations ---------------------------------------------------------------- */

START_TEST(test_act_forward_values)
{
    float x[6] = {-100.0f, -1.0f, 0.0f, 0.5f, 2.0f, 100.0f}, y[6];
    float s[4] = {1000.0f, 1000.0f, 1.0f, 2.0f}, sy[4];
    nnc_rt_act_forward(NNC_RT_ACT_RELU, y, x, 1, 6);
    ck_near(y[1], 0.0, 0, 0);
    ck_near(y[3], 0.5, 0, 0);
    nnc_rt_act_forward(NNC_RT_ACT_SIGMOID, y, x, 2, 3);
    ck_assert(y[0] >= 0.0f && y[0] < 1e-40f); /* e^-100: tiny, not NaN */
    ck_near(y[1], 1.0 / (1.0 + exp(1.0)), 0, 1e-6);
    ck_near(y[2], 0.5, 0, 0);
    ck_near(y[5], 1.0, 0, 0);
    nnc_rt_act_forward(NNC_RT_ACT_TANH, y, x, 3, 2);
    ck_near(y[3], tanh(0.5), 0, 1e-6);
    ck_near(y[0], -1.0, 0, 0);
    nnc_rt_act_forward(NNC_RT_ACT_LINEAR, y, x, 1, 6);
    ck_near(y[4], 2.0, 0, 0);
    nnc_rt_act_forward(NNC_RT_ACT_RELU6, y, x, 2, 3);
    ck_near(y[0], 0.0, 0, 0);
    ck_near(y[3], 0.5, 0, 0);
    ck_near(y[4], 2.0, 0, 0);
    ck_near(y[5], 6.0, 0, 0);
    /* softmax: rows of 2, huge logits do not overflow */
    nnc_rt_act_forward(NNC_RT_ACT_SOFTMAX, sy, s, 2, 2);
    ck_near(sy[0], 0.5, 0, 1e-6);
    ck_near(sy[1], 0.5, 0, 1e-6);
    ck_near(sy[2], 1.0 / (1.0 + exp(1.0)), 0, 1e-6);
    ck_near(sy[3], 1.0 / (1.0 + exp(-1.0)), 0, 1e-6);
    /* in place */
    nnc_rt_act_forward(NNC_RT_ACT_SOFTMAX, s, s, 2, 2);
    ck_near(s[3], sy[3], 0, 0);
}
END_TEST

/* L(x) = sum_i w_i act(x)_i, so dL/dx = act_backward(dy = w, y = act(x)) */
static double act_objective(int act, const float *x, const float *w, int n, int m)
{
    float y[64];
    double s = 0.0;
    int i;
    nnc_rt_act_forward(act, y, x, n, m);
    for (i = 0; i < n * m; i++)
        s += (double)w[i] * y[i];
    return s;
}

START_TEST(test_act_backward_gradcheck)
{
    static const int acts[] = {NNC_RT_ACT_LINEAR, NNC_RT_ACT_RELU, NNC_RT_ACT_SIGMOID,
                               NNC_RT_ACT_TANH, NNC_RT_ACT_SOFTMAX, NNC_RT_ACT_RELU6};
    const int n = 3, m = 5;
    const double h = 1e-2;
    unsigned a;
    for (a = 0; a < 6; a++) {
        nnc_rt_rng r;
        float x[15], w[15], y[15], dx[15], dxi[15];
        const float span = acts[a] == NNC_RT_ACT_RELU6 ? 8.0f : 2.0f; /* past 6 too */
        int i;
        nnc_rt_rng_seed(&r, 42 + a);
        fill_uniform(x, 15, &r, -span, span);
        fill_uniform(w, 15, &r, -1.0f, 1.0f);
        for (i = 0; i < 15; i++) /* keep the kinks (0, 6) out of reach of the step */
            if (fabsf(x[i]) < 0.1f || fabsf(x[i] - 6.0f) < 0.1f)
                x[i] = 0.5f;
        nnc_rt_act_forward(acts[a], y, x, n, m);
        nnc_rt_act_backward(acts[a], dx, w, y, n, m);
        memcpy(dxi, w, sizeof dxi); /* dx may alias dy */
        nnc_rt_act_backward(acts[a], dxi, dxi, y, n, m);
        for (i = 0; i < 15; i++) {
            float save = x[i], xp, xm;
            double fp, fm, num;
            x[i] = (float)(save + h); xp = x[i];
            fp = act_objective(acts[a], x, w, n, m);
            x[i] = (float)(save - h); xm = x[i];
            fm = act_objective(acts[a], x, w, n, m);
            x[i] = save;
            num = (fp - fm) / ((double)xp - xm);
            ck_assert_msg(near(dx[i], num, 1e-3, 1e-2), "act %d: dx[%d] = %g, numeric %g",
                          acts[a], i, dx[i], num);
            ck_assert_msg(dxi[i] == dx[i], "act %d: in-place dx[%d] differs", acts[a], i);
        }
    }
}
END_TEST

/* ---- dense + bias ---------------------------------------------------------------- */

START_TEST(test_dense_forward_matches_parts)
{
    static const int acts[] = {NNC_RT_ACT_LINEAR, NNC_RT_ACT_RELU, NNC_RT_ACT_SIGMOID,
                               NNC_RT_ACT_TANH, NNC_RT_ACT_SOFTMAX, NNC_RT_ACT_RELU6};
    static const int dims[][3] = {{1, 784, 256}, {3, 20, 10}, {32, 784, 256}, {7, 13, 33}, {32, 128, 10}};
    unsigned a, d;
    for (d = 0; d < 5; d++)
        for (a = 0; a < 6; a++) {
            int n = dims[d][0], k = dims[d][1], m = dims[d][2], use_bias = (a + d) % 2 == 0;
            /* relu6: outputs that reach past 6 */
            const float ws = acts[a] == NNC_RT_ACT_RELU6 ? 20.0f / sqrtf((float)k) : 0.2f;
            float *x = malloc(sizeof(float) * n * k), *w = malloc(sizeof(float) * k * m);
            float *b = malloc(sizeof(float) * m), *y = malloc(sizeof(float) * n * m);
            float *ref = malloc(sizeof(float) * n * m);
            nnc_rt_rng r;
            long i;
            int j;
            nnc_rt_rng_seed(&r, 7 * d + a);
            fill_uniform(x, (long)n * k, &r, -1, 1);
            fill_uniform(w, (long)k * m, &r, -ws, ws);
            fill_uniform(b, m, &r, -0.5f, 0.5f);
            nnc_rt_gemm_f32_ref(0, 0, n, m, k, 1.0f, x, k, w, m, 0.0f, ref, m);
            if (use_bias)
                for (i = 0; i < n; i++)
                    for (j = 0; j < m; j++)
                        ref[i * m + j] += b[j];
            nnc_rt_act_forward(acts[a], ref, ref, n, m);
            for (i = 0; i < (long)n * m; i++)
                y[i] = NAN;
            nnc_rt_dense_forward(y, x, w, use_bias ? b : NULL, n, k, m, acts[a]);
            for (i = 0; i < (long)n * m; i++)
                if (!near(y[i], ref[i], 1e-5, 1e-4))
                    break;
            ck_assert_msg(i == (long)n * m, "dense n=%d k=%d m=%d act=%d: y[%ld] = %g, want %g",
                          n, k, m, acts[a], i, i < (long)n * m ? y[i] : 0.0, i < (long)n * m ? ref[i] : 0.0);
            free(x); free(w); free(b); free(y); free(ref);
        }
}
END_TEST

enum { DN = 3, DK = 5, DM = 4 };
struct dense_case { float x[DN * DK], w[DK * DM], b[DM], dy[DN * DM]; int act; };

/* L = sum dy * dense_forward(x, w, b, act) */
static double dense_objective(const struct dense_case *c)
{
    float y[DN * DM];
    double s = 0.0;
    int i;
    nnc_rt_dense_forward(y, c->x, c->w, c->b, DN, DK, DM, c->act);
    for (i = 0; i < DN * DM; i++)
        s += (double)c->dy[i] * y[i];
    return s;
}

static void gradcheck_param(struct dense_case *c, float *p, const float *analytic, int n,
                            const char *what)
{
    const double h = 1e-2;
    int i;
    for (i = 0; i < n; i++) {
        float save = p[i], xp, xm;
        double fp, fm, num;
        p[i] = (float)(save + h); xp = p[i];
        fp = dense_objective(c);
        p[i] = (float)(save - h); xm = p[i];
        fm = dense_objective(c);
        p[i] = save;
        num = (fp - fm) / ((double)xp - xm);
        ck_assert_msg(near(analytic[i], num, 1e-3, 1e-2), "dense act=%d %s[%d] = %g, numeric %g",
                      c->act, what, i, analytic[i], num);
    }
}

/* The compiler's dense backward: dz = act_backward(dy, y); dx = dz w^T
 * (tb = 1); dw = x^T dz (ta = 1); db = bias_backward(dz). */
START_TEST(test_dense_backward_gradcheck)
{
    static const int acts[] = {NNC_RT_ACT_LINEAR, NNC_RT_ACT_RELU, NNC_RT_ACT_SIGMOID,
                               NNC_RT_ACT_TANH, NNC_RT_ACT_SOFTMAX, NNC_RT_ACT_RELU6};
    unsigned a;
    for (a = 0; a < 6; a++) {
        struct dense_case c;
        float y[DN * DM], dz[DN * DM], dx[DN * DK], dw[DK * DM], db[DM];
        nnc_rt_rng r;
        int i;
        nnc_rt_rng_seed(&r, 99 + a);
        fill_uniform(c.x, DN * DK, &r, -1, 1);
        fill_uniform(c.w, DK * DM, &r, -1, 1);
        fill_uniform(c.b, DM, &r, -0.5f, 0.5f);
        fill_uniform(c.dy, DN * DM, &r, -1, 1);
        c.act = acts[a];
        if (c.act == NNC_RT_ACT_RELU6) /* pre-activations past 6 as well */
            for (i = 0; i < DK * DM; i++)
                c.w[i] *= 4.0f;
        nnc_rt_dense_forward(y, c.x, c.w, c.b, DN, DK, DM, c.act);
        if (c.act == NNC_RT_ACT_RELU || c.act == NNC_RT_ACT_RELU6) /* ... and off the kinks */
            for (i = 0; i < DN * DM; i++) {
                float z[DN * DM];
                nnc_rt_dense_forward(z, c.x, c.w, c.b, DN, DK, DM, NNC_RT_ACT_LINEAR);
                ck_assert_msg(fabsf(z[i]) > 0.05f && fabsf(z[i] - 6.0f) > 0.05f,
                              "relu case too close to a kink: reseed");
            }
        nnc_rt_act_backward(c.act, dz, c.dy, y, DN, DM);
        nnc_rt_gemm_f32(0, 1, DN, DK, DM, 1.0f, dz, DM, c.w, DM, 0.0f, dx, DK);
        nnc_rt_gemm_f32(1, 0, DK, DM, DN, 1.0f, c.x, DK, dz, DM, 0.0f, dw, DM);
        nnc_rt_bias_backward(db, dz, DN, DM);
        gradcheck_param(&c, c.x, dx, DN * DK, "dx");
        gradcheck_param(&c, c.w, dw, DK * DM, "dw");
        gradcheck_param(&c, c.b, db, DM, "db");
    }
}
END_TEST

START_TEST(test_act_bias_backward_fused)
{
    /* the fused pass gives act_backward's dx and bias_backward's db, bit for
     * bit: several blocks of rows (m = 3), one row per block (m = 1500), in
     * place (dx == dy) */
    static const int dims[][2] = {{1000, 3}, {5, 1500}, {1, 7}};
    static const int acts[] = {NNC_RT_ACT_RELU, NNC_RT_ACT_TANH, NNC_RT_ACT_SOFTMAX, NNC_RT_ACT_RELU6};
    unsigned d, a;
    for (d = 0; d < 3; d++)
        for (a = 0; a < 4; a++) {
            int n = dims[d][0], m = dims[d][1];
            long size = (long)n * m;
            float *x = malloc(sizeof(float) * size), *y = malloc(sizeof(float) * size);
            float *dy = malloc(sizeof(float) * size), *dx = malloc(sizeof(float) * size);
            float *ref = malloc(sizeof(float) * size), *db = malloc(sizeof(float) * m);
            float *dbref = malloc(sizeof(float) * m);
            nnc_rt_rng r;
            nnc_rt_rng_seed(&r, 5 + d * 4 + a);
            fill_uniform(x, size, &r, -8, 8);
            fill_uniform(dy, size, &r, -1, 1);
            nnc_rt_act_forward(acts[a], y, x, n, m);
            nnc_rt_act_backward(acts[a], ref, dy, y, n, m);
            nnc_rt_bias_backward(dbref, ref, n, m);
            nnc_rt_act_bias_backward(acts[a], dx, db, dy, y, n, m);
            ck_assert_msg(!memcmp(dx, ref, sizeof(float) * size), "act %d n=%d m=%d: dx differs", acts[a], n, m);
            ck_assert_msg(!memcmp(db, dbref, sizeof(float) * m), "act %d n=%d m=%d: db differs", acts[a], n, m);
            nnc_rt_act_bias_backward(acts[a], dy, db, dy, y, n, m);
            ck_assert_msg(!memcmp(dy, ref, sizeof(float) * size), "act %d: in place differs", acts[a]);
            free(x); free(y); free(dy); free(dx); free(ref); free(db); free(dbref);
        }
}
END_TEST

START_TEST(test_gemm_act_grad)
{
    /* C = act'(op(A) op(B)) from y, against the reference product then
     * act_backward: the blocked path (edge tiles, several K blocks), small
     * M, small K, all four transposes, each elementwise activation */
    static const int dims[][3] = {{32, 300, 10}, {37, 45, 600}, {2, 70, 40}, {50, 20, 3}, {8, 32, 8}};
    static const int acts[] = {NNC_RT_ACT_RELU, NNC_RT_ACT_RELU6, NNC_RT_ACT_SIGMOID, NNC_RT_ACT_TANH};
    unsigned d, a;
    int t;
    for (d = 0; d < 5; d++)
        for (t = 0; t < 4; t++)
            for (a = 0; a < 4; a++) {
                int M = dims[d][0], N = dims[d][1], K = dims[d][2], ta = t & 1, tb = t >> 1;
                int lda = ta ? M : K, ldb = tb ? K : N, ldy = N + 3;
                float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N);
                float *y = malloc(sizeof(float) * M * ldy), *C = malloc(sizeof(float) * M * N);
                float *R = malloc(sizeof(float) * M * N);
                nnc_rt_rng r;
                long i;
                nnc_rt_rng_seed(&r, 300 + d * 16 + t * 4 + a);
                fill_uniform(A, (long)M * K, &r, -1, 1);
                fill_uniform(B, (long)K * N, &r, -1, 1);
                fill_uniform(y, (long)M * ldy, &r, -1, 7); /* relu6: on both sides of 0 and of 6 */
                if (acts[a] == NNC_RT_ACT_SIGMOID)
                    for (i = 0; i < (long)M * ldy; i++)
                        y[i] = nnc_rt_sigmoid(y[i]);
                if (acts[a] == NNC_RT_ACT_TANH)
                    for (i = 0; i < (long)M * ldy; i++)
                        y[i] = tanhf(y[i]);
                nnc_rt_gemm_f32_ref(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, R, N);
                for (i = 0; i < M; i++)
                    nnc_rt_act_backward(acts[a], R + i * N, R + i * N, y + i * ldy, 1, N);
                nnc_rt_gemm_f32_act_grad(ta, tb, M, N, K, A, lda, B, ldb, C, N, acts[a], y, ldy);
                for (i = 0; i < (long)M * N; i++)
                    if (!near(C[i], R[i], 2e-6 * K + 1e-6, 1e-5))
                        break;
                ck_assert_msg(i == (long)M * N, "act %d ta=%d tb=%d %dx%dx%d: C[%ld] = %g, want %g", acts[a],
                              ta, tb, M, N, K, i, i < (long)M * N ? C[i] : 0.0, i < (long)M * N ? R[i] : 0.0);
                free(A); free(B); free(y); free(C); free(R);
            }
}
END_TEST

START_TEST(test_bias_backward_and_add)
{
    float dy[6] = {1, 2, 3, 4, 5, 6}, db[3] = {NAN, NAN, NAN}, a[3] = {1, 2, 3}, y[3];
    nnc_rt_bias_backward(db, dy, 2, 3); /* overwrites */
    ck_near(db[0], 5, 0, 0);
    ck_near(db[1], 7, 0, 0);
    ck_near(db[2], 9, 0, 0);
    nnc_rt_add(y, a, db, 3);
    ck_near(y[0], 6, 0, 0);
    ck_near(y[2], 12, 0, 0);
    nnc_rt_add(a, a, a, 3); /* in place */
    ck_near(a[1], 4, 0, 0);
}
END_TEST

/* ---- losses ------------------------------------------------------------------------ */

START_TEST(test_loss_values)
{
    float p[4] = {1, 2, 3, 4}, t[4] = {1, 1, 1, 1};
    float pb[2] = {0.5f, 0.0f}, tb[2] = {1, 1};
    float pc[2] = {0.25f, 0.75f}, tc[2] = {0, 1}, pu[2] = {1, 3};
    int32_t lab[1] = {1};
    float z0[1] = {0}, z1[2] = {100, -100}, t1[2] = {1, 1};
    float zl[2] = {1000, 0}, tl[2] = {0, 1};
    ck_near(nnc_rt_loss_forward(NNC_RT_LOSS_MSE, p, t, 2, 2), 3.5, 0, 1e-7);
    ck_near(nnc_rt_loss_forward(NNC_RT_LOSS_MAE, p, t, 2, 2), 1.5, 0, 1e-7);
    /* bce: mean of -log .5 and the clipped -log(1e-7) */
    ck_near(nnc_rt_loss_forward(NNC_RT_LOSS_BCE, pb, tb, 1, 2), (log(2.0) - log(1e-7)) / 2, 0, 1e-5);
    ck_near(nnc_rt_loss_forward(NNC_RT_LOSS_CCE, pc, tc, 1, 2), -log(0.75), 0, 1e-6);
    ck_near(nnc_rt_loss_forward(NNC_RT_LOSS_CCE, pu, tc, 1, 2), -log(0.75), 0, 1e-6); /* renormalised */
    ck_near(nnc_rt_loss_forward(NNC_RT_LOSS_SPARSE_CCE, pc, lab, 1, 2), -log(0.75), 0, 1e-6);
    ck_near(nnc_rt_loss_forward(NNC_RT_LOSS_BCE_LOGITS, z0, t1, 1, 1), log(2.0), 0, 1e-6);
    /* z = 100, t = 1 -> ~0; z = -100, t = 1 -> 100: no overflow */
    ck_near(nnc_rt_loss_forward(NNC_RT_LOSS_BCE_LOGITS, z1, t1, 1, 2), 50.0, 0, 1e-6);
    ck_near(nnc_rt_loss_forward(NNC_RT_LOSS_CCE_LOGITS, zl, tl, 1, 2), 1000.0, 0, 1e-6);
    ck_near(nnc_rt_loss_forward(NNC_RT_LOSS_SPARSE_CCE_LOGITS, zl, lab, 1, 2), 1000.0, 0, 1e-6);
    /* averaged over samples: two rows, losses log 2 and 0 -> log2 / 2 */
    {
        float zz[4] = {0, 0, 50, -50};
        int32_t l2[2] = {0, 0};
        ck_near(nnc_rt_loss_forward(NNC_RT_LOSS_SPARSE_CCE_LOGITS, zz, l2, 2, 2), log(2.0) / 2, 0, 1e-6);
    }
}
END_TEST

struct loss_case { int kind, n, m; float *pred; const void *target; };

static double loss_objective(const struct loss_case *c)
{
    return nnc_rt_loss_forward(c->kind, c->pred, c->target, c->n, c->m);
}

static void gradcheck_loss(int kind, int n, int m, uint64_t seed)
{
    float pred[64], tgt[64], d[64];
    int32_t lab[16];
    struct loss_case c;
    nnc_rt_rng r;
    int i, j, sparse = kind == NNC_RT_LOSS_SPARSE_CCE || kind == NNC_RT_LOSS_SPARSE_CCE_LOGITS;
    const double h = 1e-3;
    nnc_rt_rng_seed(&r, seed);
    switch (kind) {
    case NNC_RT_LOSS_BCE: /* probabilities away from the clip range, soft targets */
        fill_uniform(pred, n * m, &r, 0.05f, 0.95f);
        fill_uniform(tgt, n * m, &r, 0.0f, 1.0f);
        break;
    case NNC_RT_LOSS_CCE: case NNC_RT_LOSS_SPARSE_CCE: /* unnormalised rows */
        fill_uniform(pred, n * m, &r, 0.1f, 1.0f);
        fill_uniform(tgt, n * m, &r, 0.0f, 1.0f); /* soft targets */
        break;
    default:
        fill_uniform(pred, n * m, &r, -3.0f, 3.0f);
        fill_uniform(tgt, n * m, &r, kind == NNC_RT_LOSS_BCE_LOGITS ? 0.0f : -3.0f, 1.0f);
        break;
    }
    if (kind == NNC_RT_LOSS_MAE) /* keep |p - t| clear of the kink */
        for (i = 0; i < n * m; i++)
            if (fabsf(pred[i] - tgt[i]) < 0.01f)
                pred[i] += 0.1f;
    if (kind == NNC_RT_LOSS_CCE_LOGITS) /* one-hot rows, and one smoothed row */
        for (i = 0; i < n; i++)
            for (j = 0; j < m; j++)
                tgt[i * m + j] = i == 0 ? 0.1f + (j == 1 ? 0.6f : 0.0f) : (j == (i % m) ? 1.0f : 0.0f);
    for (i = 0; i < n; i++)
        lab[i] = (int32_t)((i * 3 + 1) % m);
    c.kind = kind; c.n = n; c.m = m; c.pred = pred; c.target = sparse ? (const void *)lab : tgt;
    nnc_rt_loss_backward(kind, d, pred, c.target, n, m);
    for (i = 0; i < n * m; i++) {
        float save = pred[i], xp, xm;
        double fp, fm, num;
        pred[i] = (float)(save + h); xp = pred[i];
        fp = loss_objective(&c);
        pred[i] = (float)(save - h); xm = pred[i];
        fm = loss_objective(&c);
        pred[i] = save;
        num = (fp - fm) / ((double)xp - xm);
        ck_assert_msg(near(d[i], num, 2e-4, 1e-2), "loss %d n=%d m=%d: d[%d] = %g, numeric %g",
                      kind, n, m, i, d[i], num);
    }
}

START_TEST(test_loss_backward_gradcheck)
{
    int kind;
    for (kind = NNC_RT_LOSS_MSE; kind <= NNC_RT_LOSS_SPARSE_CCE_LOGITS; kind++) {
        gradcheck_loss(kind, 3, 4, 500 + kind);
        gradcheck_loss(kind, 4, 7, 600 + kind);
    }
    gradcheck_loss(NNC_RT_LOSS_BCE, 5, 1, 700);
    gradcheck_loss(NNC_RT_LOSS_BCE_LOGITS, 5, 1, 701);
    gradcheck_loss(NNC_RT_LOSS_MSE, 5, 1, 702);
}
END_TEST

START_TEST(test_loss_backward_edges)
{
    /* clipped probabilities have zero gradient; finite loss */
    float p[3] = {1e-9f, 0.5f, 1.0f}, t[3] = {1, 1, 0}, d[3];
    float z[4] = {0, 0, 0, 0}, tz[4] = {1, 0, 0, 1}, dz[4];
    int32_t lab[2] = {1, 5}; /* 5 is out of range: zero loss, zero gradient */
    float zs[4] = {1, 2, 3, 4}, ds[4];
    nnc_rt_loss_backward(NNC_RT_LOSS_BCE, d, p, t, 1, 3);
    ck_near(d[0], 0.0, 0, 0);
    ck_near(d[1], -2.0 / 3.0, 0, 1e-6);
    ck_near(d[2], 0.0, 0, 0);
    ck_assert(isfinite(nnc_rt_loss_forward(NNC_RT_LOSS_BCE, p, t, 1, 3)));
    /* cce logits: (softmax - t) / n */
    nnc_rt_loss_backward(NNC_RT_LOSS_CCE_LOGITS, dz, z, tz, 2, 2);
    ck_near(dz[0], (0.5 - 1.0) / 2, 0, 1e-6);
    ck_near(dz[1], 0.5 / 2, 0, 1e-6);
    /* bce logits: (sigmoid - t) / (n m) */
    nnc_rt_loss_backward(NNC_RT_LOSS_BCE_LOGITS, dz, z, tz, 2, 2);
    ck_near(dz[0], -0.5 / 4, 0, 1e-6);
    ck_near(dz[1], 0.5 / 4, 0, 1e-6);
    nnc_rt_loss_backward(NNC_RT_LOSS_SPARSE_CCE_LOGITS, ds, zs, lab, 2, 2);
    ck_near(ds[2], 0.0, 0, 0);
    ck_near(ds[3], 0.0, 0, 0);
    ck_near(ds[1], (1.0 / (1.0 + exp(-1.0)) - 1.0) / 2, 0, 1e-6);
    ck_near(nnc_rt_loss_forward(NNC_RT_LOSS_SPARSE_CCE_LOGITS, zs, lab, 2, 2),
            log(1.0 + exp(-1.0)) / 2, 0, 1e-6);
    /* NaN propagates */
    p[1] = NAN;
    ck_assert(isnan(nnc_rt_loss_forward(NNC_RT_LOSS_BCE, p, t, 1, 3)));
}
END_TEST

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

/* ---- rng, shuffle, initialisers -------------------------------------------------------- */

START_TEST(test_rng_determinism)
{
    nnc_rt_rng a, b, c;
    int i, differ = 0, same = 0;
    nnc_rt_rng_seed(&a, 0);
    /* splitmix64's published first outputs for seed 0:
     * 0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f */
    ck_assert_uint_eq(nnc_rt_rng_u32(&a), 0xe220a839u);
    ck_assert_uint_eq(nnc_rt_rng_u32(&a), 0x6e789e6au);
    ck_assert_uint_eq(nnc_rt_rng_u32(&a), 0x06c45d18u);
    nnc_rt_rng_seed(&a, 12345);
    nnc_rt_rng_seed(&b, 12345);
    nnc_rt_rng_seed(&c, 12346);
    for (i = 0; i < 1000; i++) {
        uint32_t x = nnc_rt_rng_u32(&a);
        same += x == nnc_rt_rng_u32(&b);
        differ += x != nnc_rt_rng_u32(&c);
    }
    ck_assert_int_eq(same, 1000);
    ck_assert_int_ge(differ, 990);
    /* pinned: uniform = (u32 >> 8) 2^-24 of 0xe220a839 -> 14819496 / 2^24 */
    nnc_rt_rng_seed(&a, 0);
    ck_near(nnc_rt_rng_uniform(&a), 14819496.0 / 16777216.0, 0, 0);
    /* pinned once (gcc and clang, -O0 to -O3 -march=native agree): any
     * change here changes every model's initial weights */
    nnc_rt_rng_seed(&a, 42);
    ck_assert(nnc_rt_rng_uniform(&a) == 0x1.7bae64p-1f);
    ck_assert(nnc_rt_rng_normal(&a) == -0x1.5e754p-2f);
    ck_assert(nnc_rt_rng_normal(&a) == 0x1.6b4508p+0f);
    {
        static const int32_t want[10] = {4, 2, 8, 1, 9, 3, 0, 6, 7, 5};
        int32_t idx[10];
        float w[3];
        nnc_rt_shuffle(idx, 10, 1);
        ck_assert(memcmp(idx, want, sizeof want) == 0);
        nnc_rt_rng_seed(&a, 5);
        nnc_rt_init(NNC_RT_INIT_HE_NORMAL, w, 3, 10, 10, &a);
        ck_assert(w[0] == 0x1.4cd888p-7f && w[1] == 0x1.68b154p-1f && w[2] == -0x1.5c31c6p-1f);
    }
}
END_TEST

START_TEST(test_rng_distributions)
{
    nnc_rt_rng r;
    const long n = 100000;
    double su = 0, sn = 0, sn2 = 0;
    float lo = 1, hi = 0;
    long i, bad = 0;
    nnc_rt_rng_seed(&r, 7);
    for (i = 0; i < n; i++) {
        float u = nnc_rt_rng_uniform(&r), z = nnc_rt_rng_normal(&r);
        bad += !(u >= 0.0f && u < 1.0f) || !isfinite(z);
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
        su += u;
        sn += z;
        sn2 += (double)z * z;
    }
    ck_assert_int_eq(bad, 0);
    ck_near(su / n, 0.5, 0.005, 0);
    ck_assert(lo < 0.001f && hi > 0.999f);
    ck_near(sn / n, 0.0, 0.01, 0);
    ck_near(sqrt(sn2 / n - (sn / n) * (sn / n)), 1.0, 0.01, 0);
}
END_TEST

START_TEST(test_shuffle)
{
    enum { N = 1000 };
    int32_t a[N], b[N], c[N];
    char seen[N];
    int i, moved = 0, differ = 0, bad = 0, same = 0;
    nnc_rt_shuffle(a, N, 3);
    nnc_rt_shuffle(b, N, 3);
    nnc_rt_shuffle(c, N, 4);
    memset(seen, 0, sizeof seen);
    for (i = 0; i < N; i++) {
        if (a[i] < 0 || a[i] >= N || seen[a[i]]) { /* out of range or repeated */
            bad++;
            continue;
        }
        seen[a[i]] = 1;
        same += a[i] == b[i];
        moved += a[i] != i;
        differ += a[i] != c[i];
    }
    ck_assert_int_eq(bad, 0);
    ck_assert_int_eq(same, N);
    ck_assert_int_ge(moved, 950);
    ck_assert_int_ge(differ, 950);
    nnc_rt_shuffle(a, 1, 3);
    ck_assert_int_eq(a[0], 0);
    nnc_rt_shuffle(a, 0, 3); /* no-op */
}
END_TEST

/* mean, std and max |w| of 100k initialised weights */
static void init_stats(int kind, int fan_in, int fan_out, double *mean, double *std, double *maxabs)
{
    enum { N = 100000 };
    static float w[N];
    nnc_rt_rng r;
    double s = 0, s2 = 0, mx = 0;
    long i;
    nnc_rt_rng_seed(&r, 11);
    nnc_rt_init(kind, w, N, fan_in, fan_out, &r);
    for (i = 0; i < N; i++) {
        s += w[i];
        s2 += (double)w[i] * w[i];
        mx = fabs(w[i]) > mx ? fabs(w[i]) : mx;
    }
    *mean = s / N;
    *std = sqrt(s2 / N - *mean * *mean);
    *maxabs = mx;
}

START_TEST(test_initialisers)
{
    const double fi = 784, fo = 256;
    double mean, std, mx, l, sd;
    /* uniform(-l, l): std l / sqrt(3), max just under l */
    l = sqrt(6 / (fi + fo));
    init_stats(NNC_RT_INIT_GLOROT_UNIFORM, 784, 256, &mean, &std, &mx);
    ck_near(mean, 0, 0.01 * l, 0);
    ck_near(std, l / sqrt(3.0), 0, 0.01);
    ck_assert(mx <= l && mx > 0.999 * l);
    l = sqrt(6 / fi);
    init_stats(NNC_RT_INIT_HE_UNIFORM, 784, 256, &mean, &std, &mx);
    ck_near(std, l / sqrt(3.0), 0, 0.01);
    ck_assert(mx <= l && mx > 0.999 * l);
    /* truncated normal: the .8796 correction restores the target std;
     * samples stop at 2 raw stddevs */
    sd = sqrt(2 / (fi + fo));
    init_stats(NNC_RT_INIT_GLOROT_NORMAL, 784, 256, &mean, &std, &mx);
    ck_near(mean, 0, 0.01 * sd, 0);
    ck_near(std, sd, 0, 0.01);
    ck_assert(mx <= 2 * sd / .87962566103423978 * (1 + 1e-6) && mx > 1.9 * sd / .8796);
    sd = sqrt(2 / fi);
    init_stats(NNC_RT_INIT_HE_NORMAL, 784, 256, &mean, &std, &mx);
    ck_near(std, sd, 0, 0.01);
    ck_assert(mx <= 2 * sd / .87962566103423978 * (1 + 1e-6));
    init_stats(NNC_RT_INIT_ZEROS, 1, 1, &mean, &std, &mx);
    ck_assert(mx == 0.0);
    init_stats(NNC_RT_INIT_ONES, 1, 1, &mean, &std, &mx);
    ck_assert(mean == 1.0 && std == 0.0);
}
END_TEST

/* ---- serialisation ------------------------------------------------------------------- */

/* orthogonal: the rows (a < b) or columns (a >= b) of w (a, b) are orthonormal;
 * uniform: U(-0.05, 0.05); unit_forget: ones exactly on [U, 2U) */
START_TEST(test_initialisers_recurrent)
{
    static const int shapes[][2] = { { 8, 32 }, { 32, 8 }, { 7, 7 }, { 1, 5 } };
    static float w[256];
    nnc_rt_rng r;
    int s, i, j, k;
    nnc_rt_rng_seed(&r, 3);
    for (s = 0; s < 4; s++) {
        int a = shapes[s][0], b = shapes[s][1], rows = a < b, m = rows ? a : b, len = rows ? b : a;
        nnc_rt_init(NNC_RT_INIT_ORTHOGONAL, w, (long)a * b, a, b, &r);
        for (i = 0; i < m; i++)
            for (j = 0; j < m; j++) {
                double dot = 0;
                for (k = 0; k < len; k++)
                    dot += (double)(rows ? w[i * b + k] : w[k * b + i]) * (rows ? w[j * b + k] : w[k * b + j]);
                ck_assert_msg(fabs(dot - (i == j)) < 1e-5, "%dx%d: <%d,%d> = %g", a, b, i, j, dot);
            }
    }
    nnc_rt_init(NNC_RT_INIT_UNIFORM, w, 256, 0, 0, &r);
    for (i = 0; i < 256; i++)
        ck_assert(w[i] >= -0.05f && w[i] <= 0.05f);
    nnc_rt_init(NNC_RT_INIT_UNIT_FORGET, w, 16, 4, 0, &r);
    for (i = 0; i < 16; i++)
        ck_assert_float_eq(w[i], i >= 4 && i < 8 ? 1.0f : 0.0f);
}
END_TEST

/* embedding: rows looked up, an id out of range reads zeros and gets no gradient */
START_TEST(test_embedding)
{
    const float table[4 * 2] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    const int32_t ids[5] = { 2, 0, 2, -1, 4 };
    const float dy[5 * 2] = { 1, 1, 10, 10, 100, 100, 7, 7, 9, 9 };
    const float want_y[5 * 2] = { 5, 6, 1, 2, 5, 6, 0, 0, 0, 0 };
    const float want_d[4 * 2] = { 10, 10, 0, 0, 101, 101, 0, 0 };
    float y[10], d[8];
    int i;
    nnc_rt_embedding_forward(y, ids, table, 5, 4, 2);
    for (i = 0; i < 10; i++)
        ck_assert_float_eq(y[i], want_y[i]);
    for (i = 0; i < 8; i++)
        d[i] = 12345.0f;    /* overwritten, not accumulated into */
    nnc_rt_embedding_backward(d, dy, ids, 5, 4, 2);
    for (i = 0; i < 8; i++)
        ck_assert_float_eq(d[i], want_d[i]);
}
END_TEST

START_TEST(test_crc32)
{
    ck_assert_uint_eq(nnc_rt_crc32("123456789", 9), 0xCBF43926u);
    ck_assert_uint_eq(nnc_rt_crc32("", 0), 0u);
    ck_assert_uint_eq(nnc_rt_crc32("a", 1), 0xE8B7BE43u);
    ck_assert_uint_eq(nnc_rt_crc32("The quick brown fox jumps over the lazy dog", 43), 0x414FA339u);
}
END_TEST

START_TEST(test_put_get)
{
    unsigned char b[4];
    static const float vals[] = {0.0f, -0.0f, 1.5f, -3.25e-30f, 1e30f, INFINITY};
    unsigned i;
    nnc_rt_put_u32(b, 0x12345678u);
    ck_assert_uint_eq(b[0], 0x78);
    ck_assert_uint_eq(b[3], 0x12);
    ck_assert_uint_eq(nnc_rt_get_u32(b), 0x12345678u);
    nnc_rt_put_u32(b, 0xFFFFFFFFu);
    ck_assert_uint_eq(nnc_rt_get_u32(b), 0xFFFFFFFFu);
    nnc_rt_put_f32(b, 1.5f); /* 0x3FC00000 */
    ck_assert_uint_eq(b[0], 0x00);
    ck_assert_uint_eq(b[2], 0xC0);
    ck_assert_uint_eq(b[3], 0x3F);
    for (i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        float v;
        nnc_rt_put_f32(b, vals[i]);
        v = nnc_rt_get_f32(b);
        ck_assert(memcmp(&v, &vals[i], sizeof v) == 0);
    }
    nnc_rt_put_f32(b, NAN);
    ck_assert(isnan(nnc_rt_get_f32(b)));
}
END_TEST

/* ---- suite ------------------------------------------------------------------------------ */

static Suite *runtime_suite(void)
{
    Suite *s = suite_create("runtime");
    TCase *gemm = tcase_create("gemm"), *k = tcase_create("kernels");
    TCase *opt = tcase_create("optim"), *misc = tcase_create("misc");
    tcase_set_timeout(gemm, 60);
    tcase_add_test(gemm, test_gemm_variants_listed);
    tcase_add_test(gemm, test_gemm_small_shapes);
    tcase_add_test(gemm, test_gemm_mlp_shapes);
    tcase_add_test(gemm, test_gemm_degenerate);
    tcase_add_test(k, test_act_forward_values);
    tcase_add_test(k, test_act_backward_gradcheck);
    tcase_add_test(k, test_dense_forward_matches_parts);
    tcase_add_test(k, test_dense_backward_gradcheck);
    tcase_add_test(k, test_act_bias_backward_fused);
    tcase_add_test(k, test_gemm_act_grad);
    tcase_add_test(k, test_bias_backward_and_add);
    tcase_add_test(k, test_loss_values);
    tcase_add_test(k, test_loss_backward_gradcheck);
    tcase_add_test(k, test_loss_backward_edges);
    tcase_add_test(opt, test_regularize);
    tcase_add_test(opt, test_sgd);
    tcase_add_test(opt, test_rmsprop);
    tcase_add_test(opt, test_adam);
    tcase_add_test(opt, test_optim_simd_tail_agree);
    tcase_add_test(misc, test_metrics_binary);
    tcase_add_test(misc, test_metrics_multiclass);
    tcase_add_test(misc, test_rng_determinism);
    tcase_add_test(misc, test_rng_distributions);
    tcase_add_test(misc, test_shuffle);
    tcase_add_test(misc, test_initialisers);
    tcase_add_test(misc, test_initialisers_recurrent);
    tcase_add_test(misc, test_embedding);
    tcase_add_test(misc, test_crc32);
    tcase_add_test(misc, test_put_get);
    suite_add_tcase(s, gemm);
    suite_add_tcase(s, k);
    suite_add_tcase(s, opt);
    suite_add_tcase(s, misc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(runtime_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
