/* test_runtime.c — unit tests for the runtime's GEMM, dense layer,
 * activations and losses (runtime/gemm*.c, act.c, loss.c).  The other
 * kernels have their own files: test_optim.c, test_rng.c, test_rnn.c,
 * test_tensor_nd.c, test_conv.c, test_pool_norm.c.
 *
 * Every kernel is checked against numbers: GEMM variants against the double
 * reference, backward kernels against central finite differences of their
 * forward.  Finite differences evaluate the
 * float forward kernels and sum in double; the step actually taken is
 * (float)(x+h) - (float)(x-h), so rounding of x itself does not bias the
 * slope.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nnc_rt.h"
#include "kernel_check.h"
#include "gemm_cases.h"

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
    /* ... and {70, 40, 24}: 8 columns past the 16-wide tiles, with the epilogue in registers */
    static const int dims[][3] = {{1, 784, 256}, {3, 20, 10}, {32, 784, 256}, {7, 13, 33}, {32, 128, 10},
                                  {70, 40, 24}};
    unsigned a, d;
    for (d = 0; d < sizeof dims / sizeof dims[0]; d++)
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

/* ---- suite ------------------------------------------------------------------------------ */

int main(void)
{
    const TTest *gemm[] = {test_gemm_variants_listed, test_gemm_small_shapes, test_gemm_mlp_shapes,
                           test_gemm_degenerate, NULL};
    const TTest *kernels[] = {test_act_forward_values, test_act_backward_gradcheck,
                              test_dense_forward_matches_parts, test_dense_backward_gradcheck,
                              test_act_bias_backward_fused, test_gemm_act_grad,
                              test_bias_backward_and_add, test_loss_values,
                              test_loss_backward_gradcheck, test_loss_backward_edges, NULL};
    const kernel_case cases[] = {{"gemm", gemm, 60, 0}, {"kernels", kernels, 0, 0}};
    return run_cases("runtime", cases, (int)(sizeof cases / sizeof cases[0]));
}
