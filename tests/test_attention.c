/* test_attention.c — multi_head_attention, position_embedding and the
 * gradient of batched matrix products.
 *
 * Kernels (runtime/attention.c): nnc_rt_matmul_nd_grad against a literal
 * double version and against central differences of nnc_rt_matmul_nd, with
 * operands broadcast along either axis of the space (their gradients must
 * sum over it) and with an offset; the attention softmax against its
 * formula in double, causal and not, with tq < tk and tq > tk, and its
 * backward against central differences; the position table's broadcast and
 * its gradient's sum.  Outputs are pre-filled with NaN and guarded.
 *
 * Whole models (bin/nnc -> C -> run, tests/model_check.c): a gradient check
 * through autodiff and the planner of self- and cross-attention (causal,
 * without biases, value_dim, output_shape, a key of its own), a position
 * embedding, the example's block, at -O0 and -O2; -O0 and -O2 outputs
 * agree; dropout in the attention leaves inference alone; trainable =
 * false freezes its projections; the errors, by text.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc_rt.h"
#include "kernel_check.h"
#include "model_build.h"

/* ---- batched matmul gradient ---------------------------------------------------- */

/* the space (2, 3), A (2 or 1, 3 or 1, M, K), B likewise (K, N): broadcast
 * per `bcast` bit 0 A along axis 1, bit 1 A along axis 0, bit 2 B along
 * axis 1, bit 3 B along axis 0; Y (2, 3, M, N) dense */
static void space(nnc_rt_nd *p, int bcast, int M, int N, int K, long *asz, long *bsz)
{
    long a1 = bcast & 1 ? 1 : 3, a0 = bcast & 2 ? 1 : 2, b1 = bcast & 4 ? 1 : 3, b0 = bcast & 8 ? 1 : 2;
    memset(p, 0, sizeof *p);
    p->rank = 2;
    p->dims[0] = 2;
    p->dims[1] = 3;
    p->ys[1] = (long)M * N;
    p->ys[0] = 3 * p->ys[1];
    p->as[1] = a1 == 1 ? 0 : (long)M * K;
    p->as[0] = a0 == 1 ? 0 : a1 * M * K;
    p->bs[1] = b1 == 1 ? 0 : (long)K * N;
    p->bs[0] = b0 == 1 ? 0 : b1 * K * N;
    *asz = a0 * a1 * M * K;
    *bsz = b0 * b1 * K * N;
}

START_TEST(matmul_grad_against_reference)
{
    int bcast = _i, M = 3 + _i % 3, N = 2 + _i % 4, K = 4 + _i % 2;
    nnc_rt_nd p;
    long asz, bsz, ysz = 6L * M * N, s, i, j, k, q;
    space(&p, bcast, M, N, K, &asz, &bsz);
    nnc_rt_rng r;
    nnc_rt_rng_seed(&r, 100u + (unsigned)_i);
    float *a = falloc(asz), *b = falloc(bsz), *dy = falloc(ysz), *y = falloc(ysz);
    float *da = guarded(asz), *db = guarded(bsz);
    double *wa = dalloc(asz), *wb = dalloc(bsz);
    fill_uniform(a, asz, &r, -1, 1);
    fill_uniform(b, bsz, &r, -1, 1);
    fill_uniform(dy, ysz, &r, -1, 1);
    nnc_rt_matmul_nd_grad(0, da, asz, dy, b, &p, M, N, K);
    nnc_rt_matmul_nd_grad(1, db, bsz, dy, a, &p, M, N, K);
    ck_assert(guard_ok(da, asz) && guard_ok(db, bsz));
    /* literally: each point of the space adds its products into its operands' blocks */
    for (s = 0; s < 6; s++) {
        long ao = (s / 3) * p.as[0] + (s % 3) * p.as[1], bo = (s / 3) * p.bs[0] + (s % 3) * p.bs[1];
        const float *g = dy + s * M * N;
        for (i = 0; i < M; i++)
            for (k = 0; k < K; k++)
                for (j = 0; j < N; j++) {
                    wa[ao + i * K + k] += (double)g[i * N + j] * b[bo + k * N + j];
                    wb[bo + k * N + j] += (double)a[ao + i * K + k] * g[i * N + j];
                }
    }
    ck_assert_int_eq(first_bad(da, wa, asz, 1e-5, 1e-5), asz);
    ck_assert_int_eq(first_bad(db, wb, bsz, 1e-5, 1e-5), bsz);
    /* and against central differences of L = sum(dy * matmul(a, b)): L is
     * linear in each operand, so the difference is exact but for rounding */
    for (q = 0; q < asz + bsz; q += 3) {
        float *x = q < asz ? a + q : b + (q - asz), keep = *x;
        double l[2];
        for (int side = 0; side < 2; side++) {
            *x = keep + (side ? 0.01f : -0.01f);
            nnc_rt_matmul_nd(y, a, b, &p, M, N, K);
            l[side] = 0;
            for (i = 0; i < ysz; i++) l[side] += (double)dy[i] * y[i];
        }
        *x = keep;
        double fd = (l[1] - l[0]) / ((double)(keep + 0.01f) - (double)(keep - 0.01f));
        ck_near(q < asz ? da[q] : db[q - asz], fd, 1e-3, 1e-3);
    }
    free(a); free(b); free(dy); free(y); free(da); free(db); free(wa); free(wb);
}
END_TEST

/* an operand at an offset (a view into a larger buffer) and a rank-1 space */
START_TEST(matmul_grad_offsets)
{
    enum { M = 2, N = 3, K = 2, B = 4 };
    nnc_rt_nd p;
    memset(&p, 0, sizeof p);
    p.rank = 1;
    p.dims[0] = B;
    p.ys[0] = M * N;
    p.as[0] = M * K + 1;      /* A's blocks one float apart, starting at 2 */
    p.aoff = 2;
    p.bs[0] = 0;              /* one B for all: its gradient sums the B products */
    float a[2 + B * (M * K + 1)], b[K * N], dy[B * M * N], da[2 + B * (M * K + 1)], db[K * N];
    for (int i = 0; i < (int)(sizeof a / sizeof *a); i++) a[i] = 0.1f * (float)(i % 7) - 0.3f;
    for (int i = 0; i < K * N; i++) b[i] = 0.2f * (float)i - 0.5f;
    for (int i = 0; i < B * M * N; i++) dy[i] = 0.05f * (float)(i % 5) + 0.1f;
    nnc_rt_matmul_nd_grad(0, da, (long)(sizeof da / sizeof *da), dy, b, &p, M, N, K);
    nnc_rt_matmul_nd_grad(1, db, K * N, dy, a, &p, M, N, K);
    for (int s = 0; s < B; s++)
        for (int i = 0; i < M; i++)
            for (int k = 0; k < K; k++) {
                double w = 0;
                for (int j = 0; j < N; j++) w += (double)dy[s * M * N + i * N + j] * b[k * N + j];
                ck_near(da[2 + s * (M * K + 1) + i * K + k], w, 1e-6, 1e-6);
            }
    ck_assert(da[0] == 0 && da[1] == 0 && da[2 + M * K] == 0);   /* the gaps: zeroed, never written */
    for (int k = 0; k < K; k++)
        for (int j = 0; j < N; j++) {
            double w = 0;
            for (int s = 0; s < B; s++)
                for (int i = 0; i < M; i++) w += (double)a[2 + s * (M * K + 1) + i * K + k] * dy[s * M * N + i * N + j];
            ck_near(db[k * N + j], w, 1e-6, 1e-6);
        }
}
END_TEST

/* ---- attention softmax ------------------------------------------------------------ */

static const int sm_shapes[][4] = {   /* outer, tq, tk, causal */
    { 1, 1, 1, 0 }, { 3, 4, 4, 0 }, { 3, 4, 4, 1 }, { 2, 3, 7, 1 }, { 2, 6, 3, 1 }, { 5, 2, 9, 0 },
};
#define NSM ((int)(sizeof sm_shapes / sizeof sm_shapes[0]))

START_TEST(attn_softmax_against_formula)
{
    long outer = sm_shapes[_i][0];
    int tq = sm_shapes[_i][1], tk = sm_shapes[_i][2], causal = sm_shapes[_i][3];
    long size = outer * tq * tk, o;
    float scale = 0.35355339f;
    nnc_rt_rng r;
    nnc_rt_rng_seed(&r, 7u + (unsigned)_i);
    float *s = falloc(size), *y = guarded(size), *dy = falloc(size), *ds = guarded(size), *yp = falloc(size);
    double *want = dalloc(size);
    fill_uniform(s, size, &r, -6, 6);
    fill_uniform(dy, size, &r, -1, 1);
    nnc_rt_attn_softmax_forward(y, s, outer, tq, tk, scale, causal);
    ck_assert(guard_ok(y, size));
    for (o = 0; o < outer * tq; o++) {
        int i = (int)(o % tq), len = causal && i + 1 < tk ? i + 1 : tk;
        double m = -INFINITY, sum = 0;
        for (int j = 0; j < len; j++) m = fmax(m, scale * (double)s[o * tk + j]);
        for (int j = 0; j < len; j++) sum += exp(scale * (double)s[o * tk + j] - m);
        for (int j = 0; j < tk; j++) want[o * tk + j] = j < len ? exp(scale * (double)s[o * tk + j] - m) / sum : 0;
    }
    ck_assert_int_eq(first_bad(y, want, size, 1e-6, 1e-5), size);
    for (o = 0; o < size; o++)   /* masked weights are exactly 0 */
        if (want[o] == 0) ck_assert(y[o] == 0.0f);
    /* backward against central differences of L = sum(dy * softmax(s)) */
    nnc_rt_attn_softmax_backward(ds, dy, y, outer, tq, tk, scale);
    ck_assert(guard_ok(ds, size));
    for (o = 0; o < size; o++) {
        float keep = s[o];
        double l[2];
        for (int side = 0; side < 2; side++) {
            s[o] = keep + (side ? 1e-2f : -1e-2f);
            nnc_rt_attn_softmax_forward(yp, s, outer, tq, tk, scale, causal);
            l[side] = 0;
            for (long k = 0; k < size; k++) l[side] += (double)dy[k] * yp[k];
        }
        s[o] = keep;
        ck_near(ds[o], (l[1] - l[0]) / ((double)(keep + 1e-2f) - (double)(keep - 1e-2f)), 2e-4, 2e-3);
    }
    free(s); free(y); free(dy); free(ds); free(yp); free(want);
}
END_TEST

START_TEST(position_embedding_kernels)
{
    enum { NB = 3, SIZE = 10, TABLE = 14 };
    float table[TABLE], y[NB * SIZE + GUARD], dy[NB * SIZE], dt[TABLE + GUARD];
    for (int i = 0; i < TABLE; i++) table[i] = (float)i - 3.5f;
    for (int i = 0; i < NB * SIZE; i++) dy[i] = 0.25f * (float)(i % 9) - 1;
    fill_nan(y, NB * SIZE);
    fill_nan(dt, TABLE);
    for (int i = 0; i < GUARD; i++) y[NB * SIZE + i] = dt[TABLE + i] = GUARD_VALUE;
    nnc_rt_position_embedding_forward(y, table, NB, SIZE);
    nnc_rt_position_embedding_backward(dt, dy, NB, SIZE, TABLE);
    ck_assert(guard_ok(y, NB * SIZE) && guard_ok(dt, TABLE));
    for (int b = 0; b < NB; b++)
        for (int i = 0; i < SIZE; i++) ck_assert(y[b * SIZE + i] == table[i]);
    for (int i = 0; i < TABLE; i++) {
        double w = 0;
        for (int b = 0; i < SIZE && b < NB; b++) w += dy[b * SIZE + i];
        ck_near(dt[i], w, 1e-6, 1e-6);
    }
}
END_TEST

/* ---- whole models ------------------------------------------------------------------ */

static void gradcheck(const char *name, const char *src, const char *flags)
{
    char cmd[512], out[8192];
    snprintf(cmd, sizeof cmd, "%s gradcheck 3e-3", build_model(name, src, flags, "gcc"));
    ck_assert_int_eq(run(cmd, out, sizeof out), 0);
    ck_assert_msg(field(out, "checked") >= 10, "%s", out);
    ck_assert_msg(field(out, "kinked") <= 0.1 * field(out, "checked"), "%s %s: too many kinks\n%s", name, flags,
                  out);
    ck_assert_msg(field(out, "bad") == 0, "%s %s: gradient mismatch\n%s", name, flags, out);
}

#define MODEL(name, input, body, loss) \
    "model " name " {\n  input x: " input "\n" body "}\n" \
    "train " name " {\n  loss " loss "\n  optimizer adam\n  batch 8\n}\n"
#define SCCE "sparse_categorical_crossentropy"

static const char *const models[][2] = {
    /* self-attention after a position embedding */
    { "m_self", MODEL("m_self", "f32[6, 4]", "  p = position_embedding(x)\n  h = add(x, p)\n"
                      "  a = multi_head_attention(h, h, num_heads = 2, key_dim = 3)\n"
                      "  global_average_pooling1d(a)\n  dense(3, softmax)\n", SCCE) },
    /* cross-attention: a query of other steps and features, its own key,
     * causal (tq < tk), no biases, value_dim, output_shape, one head */
    { "m_cross", MODEL("m_cross", "f32[7, 4]", "  q = conv1d(x, 5, 3)\n  k = time_distributed(x, dense(3))\n"
                       "  a = multi_head_attention(q, x, k, num_heads = 3, key_dim = 2, value_dim = 4,\n"
                       "                           output_shape = 6, use_bias = false, use_causal_mask = true)\n"
                       "  b = multi_head_attention(a, q, num_heads = 1, key_dim = 4, use_causal_mask = true)\n"
                       "  layer_normalization(b)\n  flatten\n  dense(3, softmax)\n", SCCE) },
    /* causal with tq > tk; a longer position table than the sequence */
    { "m_long", MODEL("m_long", "f32[3, 4]", "  v = conv1d(x, 4, 2)\n  p = position_embedding(x, sequence_length = 5)\n"
                      "  h = add(x, p)\n"
                      "  a = multi_head_attention(h, v, num_heads = 2, key_dim = 2, use_causal_mask = true)\n"
                      "  flatten(add(h, a))\n  dense(1, sigmoid)\n", "binary_crossentropy") },
    /* the example's block on token ids */
    { "m_block", "model m_block {\n  input t: i32[5]\n  e = embedding(t, 6, 8)\n  x = add(e, position_embedding(e))\n"
                 "  a = multi_head_attention(x, x, num_heads = 2, key_dim = 4)\n"
                 "  h = layer_normalization(add(x, a))\n  f = time_distributed(h, dense(8, relu))\n"
                 "  o = layer_normalization(add(h, f))\n  global_average_pooling1d(o)\n  dense(2, softmax)\n}\n"
                 "train m_block {\n  loss " SCCE "\n  optimizer adam\n  batch 8\n}\n" },
};
#define NMODELS ((int)(sizeof models / sizeof models[0]))

START_TEST(grad_attention_models)
{
    gradcheck(models[_i][0], models[_i][1], "-O2");
    gradcheck(models[_i][0], models[_i][1], "-O0");
}
END_TEST

/* the outputs and three training losses at -O0 and -O2 agree */
static void same_numbers(const char *what, char *a, char *b)
{
    char *sa, *sb, *pa = a, *pb = b;
    for (;;) {
        char *ta = strtok_r(pa, " \n", &sa), *tb = strtok_r(pb, " \n", &sb);
        pa = pb = NULL;
        if (!ta || !tb) {
            ck_assert_msg(!ta && !tb, "%s: different amounts printed", what);
            break;
        }
        char *ea, *eb;
        double va = strtod(ta, &ea), vb = strtod(tb, &eb);
        if (*ea || *eb || ea == ta) ck_assert_str_eq(ta, tb);
        else ck_assert_msg(near(va, vb, 1e-5, 1e-4), "%s: %s against %s", what, ta, tb);
    }
}

START_TEST(o0_matches_o2)
{
    char cmd[512], a[16384], b[16384];
    snprintf(cmd, sizeof cmd, "%s outputs", build_model(models[_i][0], models[_i][1], "-O0", "gcc"));
    ck_assert_int_eq(run(cmd, a, sizeof a), 0);
    snprintf(cmd, sizeof cmd, "%s outputs", build_model(models[_i][0], models[_i][1], "-O2", "gcc"));
    ck_assert_int_eq(run(cmd, b, sizeof b), 0);
    same_numbers(models[_i][0], a, b);
}
END_TEST

/* dropout on the attention weights: training only, so predict() is the
 * same as without it (the same parameters: dropout has none) */
START_TEST(attention_dropout_is_training_only)
{
    static const char *const src[2] = {
        MODEL("m_drop", "f32[6, 4]", "  a = multi_head_attention(x, x, num_heads = 2, key_dim = 3%s)\n"
              "  flatten\n  dense(3, softmax)\n", SCCE),
    };
    char text[1024], cmd[512], out[2][16384];
    for (int k = 0; k < 2; k++) {
        snprintf(text, sizeof text, src[0], k ? ", dropout = 0.5" : "");
        snprintf(cmd, sizeof cmd, "%s outputs", build_model("m_drop", text, "-O2", "gcc"));
        ck_assert_int_eq(run(cmd, out[k], sizeof out[k]), 0);
        char *loss = strstr(out[k], "loss");    /* predict()'s outputs come first */
        ck_assert_ptr_nonnull(loss);
        *loss = 0;
    }
    ck_assert_str_eq(out[0], out[1]);
}
END_TEST

/* trainable = false reaches the projections: only the head trains */
START_TEST(attention_trainable_false)
{
    char path[256], cmd[1024], out[8192];
    snprintf(path, sizeof path, "%s/frozen.nn", dir);
    write_text(path, MODEL("frozen", "f32[6, 4]", "  a = multi_head_attention(x, x, num_heads = 2, key_dim = 3, "
                           "trainable = false)\n  flatten\n  dense(3, softmax)\n", SCCE));
    snprintf(cmd, sizeof cmd, "%s %s --summary", nnc, path);
    ck_assert_int_eq(run(cmd, out, sizeof out), 0);
    /* attention: 3 x (4 x 6 + 6) + 6 x 4 + 4 = 118 frozen; the head 24 x 3 + 3 = 75 */
    ck_assert_msg(strstr(out, "Total params: 193 ") && strstr(out, "Trainable: 75;"), "%s", out);
}
END_TEST

static void expect_error(const char *src, const char *expected)
{
    char path[256], cmd[1024], out[8192];
    snprintf(path, sizeof path, "%s/bad.nn", dir);
    write_text(path, src);
    snprintf(cmd, sizeof cmd, "cd %s && %s bad.nn -o bad.c", dir, nnc);
    ck_assert_int_eq(run(cmd, out, sizeof out), 1);
    ck_assert_str_eq(out, expected);
}

START_TEST(diagnostics)
{
    expect_error("model m {\n  input x: f32[4, 3]\n  multi_head_attention(x, num_heads = 2, key_dim = 2)\n}\n",
                 "bad.nn:3:3: error: 'multi_head_attention' takes two or more inputs (at most 16), got 1\n"
                 "  multi_head_attention(x, num_heads = 2, key_dim = 2)\n"
                 "  ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n");
    expect_error("model m {\n  input x: f32[4, 3]\n  multi_head_attention(x, x, x, x, num_heads = 2, key_dim = 2)\n}\n",
                 "bad.nn:3:3: error: multi_head_attention takes query, value and optionally key, got 4 inputs\n"
                 "  multi_head_attention(x, x, x, x, num_heads = 2, key_dim = 2)\n"
                 "  ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n");
    expect_error("model m {\n  input x: f32[4, 3]\n  multi_head_attention(x, x, key_dim = 2)\n}\n",
                 "bad.nn:3:3: error: 'multi_head_attention' needs 'num_heads'\n"
                 "  multi_head_attention(x, x, key_dim = 2)\n  ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n");
    expect_error("model m {\n  input x: f32[12]\n  multi_head_attention(x, x, num_heads = 2, key_dim = 2)\n}\n",
                 "bad.nn:3:3: error: multi_head_attention expects its query as (n, steps, features), got (n, 12) "
                 "for 'x'\n  multi_head_attention(x, x, num_heads = 2, key_dim = 2)\n"
                 "  ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n");
    expect_error("model m {\n  input x: f32[4, 3]\n  k = conv1d(x, 3, 2)\n"
                 "  multi_head_attention(x, x, k, num_heads = 2, key_dim = 2)\n}\n",
                 "bad.nn:4:3: error: multi_head_attention: key and value need the same steps, got 3 and 4\n"
                 "  multi_head_attention(x, x, k, num_heads = 2, key_dim = 2)\n"
                 "  ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n");
    expect_error("model m {\n  input x: f32[4, 3]\n  multi_head_attention(x, x, num_heads = 2, key_dim = 2, "
                 "dropout = 1)\n}\n",
                 "bad.nn:3:3: error: multi_head_attention: dropout must be in [0, 1), got 1\n"
                 "  multi_head_attention(x, x, num_heads = 2, key_dim = 2, dropout = 1)\n"
                 "  ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n");
    expect_error("model m {\n  input x: f32[4, 3]\n  multi_head_attention(x, x, num_heads = 2, key_dims = 2)\n}\n",
                 "bad.nn:3:45: error: 'multi_head_attention' has no argument 'key_dims'; did you mean 'key_dim'?\n"
                 "  multi_head_attention(x, x, num_heads = 2, key_dims = 2)\n"
                 "                                            ^~~~~~~~\n"
                 "bad.nn:3:3: error: 'multi_head_attention' needs 'key_dim'\n"
                 "  multi_head_attention(x, x, num_heads = 2, key_dims = 2)\n"
                 "  ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n");
    expect_error("model m {\n  input x: f32[12]\n  position_embedding\n}\n",
                 "bad.nn:3:3: error: position_embedding expects input of shape (n, steps, features), got (n, 12)\n"
                 "  position_embedding\n  ^~~~~~~~~~~~~~~~~~\n");
    expect_error("model m {\n  input x: f32[4, 3]\n  position_embedding(sequence_length = 3)\n}\n",
                 "bad.nn:3:3: error: position_embedding: sequence_length = 3 is shorter than its input's 4 steps "
                 "(n, 4, 3)\n  position_embedding(sequence_length = 3)\n  ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n");
}
END_TEST

int main(void)
{
    const TTest *mm[] = { matmul_grad_against_reference, NULL };
    const TTest *mo[] = { matmul_grad_offsets, position_embedding_kernels, attention_dropout_is_training_only,
                          attention_trainable_false, diagnostics, NULL };
    const TTest *sm[] = { attn_softmax_against_formula, NULL };
    const TTest *gr[] = { grad_attention_models, NULL };
    const TTest *oo[] = { o0_matches_o2, NULL };
    const kernel_case cases[] = {
        { "matmul_grad", mm, 0, 16 },
        { "single", mo, 120, 0 },
        { "attn_softmax", sm, 0, NSM },
        { "models", gr, 240, NMODELS },
        { "o0_o2", oo, 120, NMODELS },
    };
    if (model_build_init("test_attention")) return 1;
    int st = run_cases("attention", cases, (int)(sizeof cases / sizeof cases[0]));
    model_build_done();
    return st;
}
