/* test_fitstate.c — what the generated training code offers `nnc fit` and
 * firmware (issue 19): the learning rate as run-time state, the progress
 * callback's numbers, Keras' gradient clipping (clipnorm, clipvalue,
 * global_clipnorm) and class_weight.
 *
 * The runtime's new kernels (nnc_rt_clip_norm, nnc_rt_clip_value, the
 * class-weighted losses) against hand computations and central differences;
 * the train block's new settings and their errors; then generated models
 * driven by tests/fitstate_check.c: the rate and metrics macros and
 * sizeof(NAME_t) against the number the header prints, an SGD step at lr
 * 0.1 then 0.01 against w - lr g, every optimizer with its rate set at run
 * time giving the very bits of the rate written in the train block, the
 * progress struct against gradients() on a copy of the state, and a
 * clipped step against the clipping done by hand.  fitstate_torch.py
 * (make check-fitstate) checks the same against PyTorch.
 */
#include <math.h>

#include "model_build.h"
#include "nnc_rt.h"

#define ck_close(got, want, tol) \
    ck_assert_msg(fabs((double)(got) - (double)(want)) <= (tol) * (1 + fabs((double)(want))), \
                  "%s = %.9g, want %.9g", #got, (double)(got), (double)(want))

/* ---- kernels ----------------------------------------------------------------------- */

START_TEST(clip_norm_kernel) {
    float g[3] = { 3, 4, 0 };
    /* ||g|| = 5: scaled by 2/5 */
    ck_close(nnc_rt_clip_norm(g, 3, 2.0f), 5.0, 1e-7);
    ck_close(g[0], 1.2, 1e-7);
    ck_close(g[1], 1.6, 1e-7);
    ck_assert(g[2] == 0);
    /* within the norm: untouched, bit for bit */
    float h[4] = { 0.1f, -0.2f, 0.3f, 1e-30f }, h0[4];
    memcpy(h0, h, sizeof h);
    float n = nnc_rt_clip_norm(h, 4, 1.0f);
    ck_close(n, sqrt(0.01 + 0.04 + 0.09), 1e-7);
    ck_assert(!memcmp(h, h0, sizeof h));
    /* exactly at the norm: untouched; zeros: norm 0, no NaN */
    float e[2] = { 0.6f, 0.8f }, z[2] = { 0, 0 };
    nnc_rt_clip_norm(e, 2, (float)sqrt((double)0.6f * 0.6f + (double)0.8f * 0.8f) + 1e-7f);
    ck_assert(e[0] == 0.6f && e[1] == 0.8f);
    ck_assert(nnc_rt_clip_norm(z, 2, 1.0f) == 0 && z[0] == 0 && z[1] == 0);
    ck_assert(nnc_rt_clip_norm(z, 0, 1.0f) == 0);
    /* a long vector: the norm after is c */
    enum { L = 1001 };
    static float v[L];
    double s = 0;
    for (int i = 0; i < L; i++) v[i] = (float)sin(i * 0.37) * 3;
    nnc_rt_clip_norm(v, L, 0.5f);
    for (int i = 0; i < L; i++) s += (double)v[i] * v[i];
    ck_close(sqrt(s), 0.5, 1e-6);
}
END_TEST

START_TEST(clip_value_kernel) {
    float g[6] = { -3, -0.5f, 0, 0.25f, 0.5f, 7 };
    nnc_rt_clip_value(g, 6, 0.5f);
    float want[6] = { -0.5f, -0.5f, 0, 0.25f, 0.5f, 0.5f };
    for (int i = 0; i < 6; i++) ck_assert_msg(g[i] == want[i], "g[%d] = %g", i, (double)g[i]);
}
END_TEST

/* sum_r w[c_r] loss_r / n, the rows' losses from the unweighted kernel on one row each */
static double weighted_by_hand(int kind, const float *p, const void *t, int n, int m, const float *w,
                               const int *classes) {
    double s = 0;
    int sparse = kind == NNC_RT_LOSS_SPARSE_CCE || kind == NNC_RT_LOSS_SPARSE_CCE_LOGITS;
    for (int r = 0; r < n; r++) {
        const void *tr = sparse ? (const void *)((const int32_t *)t + r) : (const void *)((const float *)t + r * m);
        s += (classes[r] >= 0 ? w[classes[r]] : 1.0) * nnc_rt_loss_forward(kind, p + r * m, tr, 1, m);
    }
    return s / n;
}

/* central differences of the weighted forward against the weighted backward */
static void fd_check(int kind, float *p, const void *t, int n, int m, const float *w, int classes) {
    float d[64];
    nnc_rt_loss_backward_weighted(kind, d, p, t, n, m, w, classes);
    for (int i = 0; i < n * m; i++) {
        float keep = p[i], h = 1e-3f;
        p[i] = keep + h;
        double up = nnc_rt_loss_forward_weighted(kind, p, t, n, m, w, classes);
        p[i] = keep - h;
        double dn = nnc_rt_loss_forward_weighted(kind, p, t, n, m, w, classes);
        p[i] = keep;
        ck_assert_msg(fabs((up - dn) / (2 * h) - d[i]) <= 2e-3 * (1 + fabs(d[i])),
                      "kind %d element %d: fd %g, backward %g", kind, i, (up - dn) / (2 * h), (double)d[i]);
    }
}

START_TEST(class_weighted_losses) {
    const float w[3] = { 1.0f, 2.5f, 0.5f };
    /* sparse, probabilities and logits: the class is the label; 7 has no weight (1) */
    float prob[12] = { 0.2f, 0.5f, 0.3f, 0.7f, 0.2f, 0.1f, 0.1f, 0.1f, 0.8f, 0.3f, 0.3f, 0.4f };
    int32_t lab[4] = { 1, 0, 2, 7 };
    int cls[4] = { 1, 0, 2, -1 };
    for (int kind = NNC_RT_LOSS_SPARSE_CCE; kind <= NNC_RT_LOSS_SPARSE_CCE_LOGITS; kind += 3) {
        double want = weighted_by_hand(kind, prob, lab, 4, 3, w, cls);
        ck_close(nnc_rt_loss_forward_weighted(kind, prob, lab, 4, 3, w, 3), want, 1e-6);
        fd_check(kind, prob, lab, 3, 3, w, 3);   /* the first 3 rows: label 7's is 0 */
    }
    /* normalised by n, not by the sum of the weights: row 0 alone */
    ck_close(nnc_rt_loss_forward_weighted(NNC_RT_LOSS_SPARSE_CCE, prob, lab, 1, 3, w, 3), 2.5 * -log(0.5), 1e-6);
    /* one-hot (and soft) targets: the class is the row's first maximum */
    float onehot[12] = { 0, 1, 0, 1, 0, 0, 0.2f, 0.2f, 0.6f, 0.5f, 0.5f, 0 };
    int ocls[4] = { 1, 0, 2, 0 };
    for (int kind = NNC_RT_LOSS_CCE; kind <= NNC_RT_LOSS_CCE_LOGITS; kind += NNC_RT_LOSS_CCE_LOGITS - NNC_RT_LOSS_CCE) {
        ck_close(nnc_rt_loss_forward_weighted(kind, prob, onehot, 4, 3, w, 3),
                 weighted_by_hand(kind, prob, onehot, 4, 3, w, ocls), 1e-6);
        fd_check(kind, prob, onehot, 4, 3, w, 3);
    }
    /* binary, one output: the label rounded half to even (0.5 -> 0, 0.7 -> 1) */
    const float bw[2] = { 0.25f, 4.0f };
    float bp[5] = { 0.3f, 0.8f, 0.6f, 0.1f, 0.45f }, bt[5] = { 0, 1, 0.5f, 0.7f, 1.5f };
    int bcls[5] = { 0, 1, 0, 1, -1 };
    for (int kind = NNC_RT_LOSS_BCE; kind <= NNC_RT_LOSS_BCE_LOGITS; kind += NNC_RT_LOSS_BCE_LOGITS - NNC_RT_LOSS_BCE) {
        ck_close(nnc_rt_loss_forward_weighted(kind, bp, bt, 5, 1, bw, 2), weighted_by_hand(kind, bp, bt, 5, 1, bw, bcls),
                 1e-6);
        fd_check(kind, bp, bt, 5, 1, bw, 2);
    }
    /* weights of 1: the unweighted kernels, bit for bit */
    const float ones[3] = { 1, 1, 1 };
    float d1[12], d2[12];
    ck_assert(nnc_rt_loss_forward_weighted(NNC_RT_LOSS_CCE_LOGITS, prob, onehot, 4, 3, ones, 3) ==
              nnc_rt_loss_forward(NNC_RT_LOSS_CCE_LOGITS, prob, onehot, 4, 3));
    nnc_rt_loss_backward_weighted(NNC_RT_LOSS_CCE_LOGITS, d1, prob, onehot, 4, 3, ones, 3);
    nnc_rt_loss_backward(NNC_RT_LOSS_CCE_LOGITS, d2, prob, onehot, 4, 3);
    ck_assert(!memcmp(d1, d2, sizeof d1));
}
END_TEST

/* ---- the train block ------------------------------------------------------------------ */

#define HEAD "model m {\n  input x: f32[4]\n  dense(3, softmax)\n}\ntrain m {\n"

static void expect_error(const char *src, const char *expected) {
    char path[256], cmd[1024], out[8192];
    snprintf(path, sizeof path, "%s/bad.nn", dir);
    write_text(path, src);
    snprintf(cmd, sizeof cmd, "%s %s -o %s/bad.c", nnc, path, dir);
    ck_assert_int_eq(run(cmd, out, sizeof out), 1);
    ck_assert_msg(strstr(out, expected) != NULL, "want '%s' in:\n%s", expected, out);
}

START_TEST(diag_settings) {
    expect_error(HEAD "  loss mse\n  class_weight 1, 2, 3\n}\n",
                 "bad.nn:7:3: error: class_weight needs a classification loss (categorical_crossentropy, "
                 "sparse_categorical_crossentropy or binary_crossentropy), not mse");
    expect_error(HEAD "  loss sparse_categorical_crossentropy\n  class_weight 1, 2\n}\n",
                 "error: class_weight has 2 weights, but the model has 3 classes");
    expect_error("model m {\n  input x: f32[4]\n  dense(1, sigmoid)\n}\ntrain m {\n  loss binary_crossentropy\n"
                 "  class_weight 1, 2, 3\n}\n", "class_weight has 3 weights, but the model has 2 classes "
                 "(labels 0 and 1 of one sigmoid output)");
    expect_error(HEAD "  loss sparse_categorical_crossentropy\n  class_weight 1, -2, 1\n}\n",
                 "bad.nn:7:19: error: class_weight -2 (class 1) is out of range");
    expect_error(HEAD "  loss sparse_categorical_crossentropy\n  optimizer adam(clipnorm = 1, clipvalue = 0.5)\n}\n",
                 "bad.nn:7:32: error: only one of clipnorm, clipvalue and global_clipnorm can be set; "
                 "clipnorm is set already");
    expect_error(HEAD "  loss sparse_categorical_crossentropy\n  optimizer sgd(global_clipnorm = 0)\n}\n",
                 "error: global_clipnorm = 0 is out of range");
    expect_error(HEAD "  loss sparse_categorical_crossentropy\n  optimizer rmsprop(clip_norm = 1)\n}\n",
                 "error: rmsprop has no setting 'clip_norm'; did you mean 'clipnorm'?");
    expect_error(HEAD "  loss sparse_categorical_crossentropy\n  class_weights 1, 2, 3\n}\n",
                 "error: unknown train setting 'class_weights'; did you mean 'class_weight'?");
}
END_TEST

/* ---- generated models ------------------------------------------------------------------ */

/* writes SRC (model m) as TAG.nn, compiles it with nnc FLAGS into its own
 * folder and builds fitstate_check.c against it; returns the driver */
static const char *build_fit(const char *tag, const char *src, const char *flags) {
    static char exe[4][512];
    static int k;
    char *e = exe[k++ % 4], sub[300], cmd[4096], out[8192], path[400];
    snprintf(sub, sizeof sub, "%s/%s", dir, tag);
    snprintf(cmd, sizeof cmd, "mkdir -p %s", sub);
    must_succeed(cmd, out, sizeof out);
    snprintf(path, sizeof path, "%s/m.nn", sub);
    write_text(path, src);
    snprintf(cmd, sizeof cmd, "%s %s %s -o %s/m.c", nnc, flags, path, sub);
    must_succeed(cmd, out, sizeof out);
    snprintf(e, 512, "%s/fit", sub);
    snprintf(cmd, sizeof cmd, "cc -std=c99 -Wall -Wextra -Wpedantic -Werror -O2 -Iruntime -I%s -DNNC_MODEL=m -DNNC_UPPER=M "
             "'-DNNC_HEADER=\"m.h\"' %s/m.c tests/fitstate_check.c build/libnnc_rt.a -lm -o %s", sub, sub, e);
    must_succeed(cmd, out, sizeof out);
    return e;
}

static void drive(const char *exe, const char *args, char *out, size_t cap) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s", exe, args);
    must_succeed(cmd, out, cap);
}

#define MLP(opt, rest) \
    "model m {\n  input x: f32[6]\n  dense(5, tanh)\n  dense(3, softmax)\n}\n" \
    "train m {\n  loss sparse_categorical_crossentropy\n  optimizer " opt "\n" rest "  batch 4\n}\n"

START_TEST(rate_and_metrics_macros) {
    char out[8192], hdr[400];
    const char *e = build_fit("macros", MLP("adam(learning_rate = 0.003)", "  metrics f1, accuracy, f1\n"), "");
    drive(e, "info", out, sizeof out);
    ck_close(field(out, "macro_lr"), 0.003, 1e-7);
    ck_close(field(out, "init_lr"), 0.003, 1e-7);
    ck_close(field(out, "set_lr"), 0.25, 0);
    ck_assert_msg(strstr(out, "metrics [f1,accuracy]") != NULL, "%s", out);
    /* the header's comment gives sizeof(m_t) as a number, and the macro reads 0.003 */
    snprintf(hdr, sizeof hdr, "grep -c 'state: %ld bytes' %s/macros/m.h && grep -c 'M_LEARNING_RATE 0.003f$' "
             "%s/macros/m.h", (long)field(out, "sizeof"), dir, dir);
    must_succeed(hdr, out, sizeof out);
    /* no metrics: "" */
    e = build_fit("nometrics", MLP("sgd", ""), "");
    drive(e, "info", out, sizeof out);
    ck_assert_msg(strstr(out, "metrics []") != NULL, "%s", out);
    ck_close(field(out, "macro_lr"), 0.01, 1e-7);   /* Keras' SGD default */
}
END_TEST

START_TEST(sgd_rate_at_run_time) {
    char out[8192];
    const char *e = build_fit("sgdlr", MLP("sgd(lr = 0.5)", ""), "");
    drive(e, "sgdlr", out, sizeof out);
    ck_assert_msg(field(out, "moved") == 1, "%s", out);
    ck_assert_msg(field(out, "err_lr_0.1") <= 1e-7, "%s", out);
    ck_assert_msg(field(out, "err_lr_0.01") <= 1e-7, "%s", out);
    ck_close(field(out, "lr_after"), 0.01, 1e-7);
    ck_assert_int_eq((int)field(out, "step"), 2);
}
END_TEST

/* the rate set at run time takes the place of the literal: the same bits */
START_TEST(every_optimizer_reads_the_rate) {
    static const char *const opts[][2] = {
        { "sgd(lr = 0.03)", "sgd(lr = 0.5)" },
        { "sgd(lr = 0.03, momentum = 0.9, nesterov = true)", "sgd(lr = 0.5, momentum = 0.9, nesterov = true)" },
        { "rmsprop(lr = 0.03, momentum = 0.5)", "rmsprop(lr = 0.5, momentum = 0.5)" },
        { "adam(lr = 0.03)", "adam" },
        { "adamw(lr = 0.03, weight_decay = 0.1)", "adamw(weight_decay = 0.1)" },
    };
    for (unsigned i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        char out[8192], ta[32], tb[32];
        snprintf(ta, sizeof ta, "opt%ua", i);
        snprintf(tb, sizeof tb, "opt%ub", i);
        char src_a[1024], src_b[1024];
        snprintf(src_a, sizeof src_a, "model m {\n  input x: f32[6]\n  dense(5, tanh)\n  dense(3, softmax)\n}\n"
                 "train m {\n  loss sparse_categorical_crossentropy\n  optimizer %s\n  batch 4\n}\n", opts[i][0]);
        snprintf(src_b, sizeof src_b, "model m {\n  input x: f32[6]\n  dense(5, tanh)\n  dense(3, softmax)\n}\n"
                 "train m {\n  loss sparse_categorical_crossentropy\n  optimizer %s\n  batch 4\n}\n", opts[i][1]);
        drive(build_fit(ta, src_a, ""), "crc 4", out, sizeof out);
        double crc_a = field(out, "crc"), loss_a = field(out, "loss_last");
        const char *eb = build_fit(tb, src_b, "");
        drive(eb, "crc 4 0.03", out, sizeof out);
        ck_assert_msg(field(out, "crc") == crc_a && field(out, "loss_last") == loss_a,
                      "%s: the rate set at run time differs from the literal\n%s", opts[i][0], out);
        drive(eb, "crc 4", out, sizeof out);
        ck_assert_msg(field(out, "crc") != crc_a, "%s: the rate made no difference", opts[i][1]);
    }
}
END_TEST

START_TEST(progress_numbers) {
    char out[8192];
    const char *e = build_fit("progress", MLP("adam", "  metrics accuracy, f1, mse\n"), "");
    drive(e, "progress 13 2", out, sizeof out);   /* batches of 4, 4, 4, 1 */
    ck_assert_int_eq((int)field(out, "epoch_status"), 0);
    ck_assert_int_eq((int)field(out, "batches"), 4);
    ck_assert_msg(field(out, "batch_loss_err") == 0, "batch_loss is not gradients()' loss\n%s", out);
    ck_assert_msg(field(out, "running_loss_rel_err") <= 1e-6, "%s", out);
    ck_assert_msg(field(out, "field_mismatches") == 0, "%s", out);
    ck_assert_msg(field(out, "last_running_is_out") == 1, "%s", out);
    ck_assert_msg(field(out, "params_match") == 1, "%s", out);
    ck_assert_int_eq((int)field(out, "eval_status"), 0);
    ck_assert_int_eq((int)field(out, "eval_batches"), 4);
    ck_assert_msg(field(out, "eval_running_rel_err") <= 1e-6, "%s", out);
    ck_assert_msg(field(out, "eval_mismatches") == 0, "%s", out);
    ck_assert_msg(field(out, "eval_last_is_out") == 1, "%s", out);
    ck_assert_msg(field(out, "stop_ok") == 1 && field(out, "stop_step") == 2 && field(out, "stop_batches") == 2,
                  "%s", out);
}
END_TEST

START_TEST(clipping_by_hand) {
    static const char *const kinds[][3] = {
        { "clipnorm = 0.05", "norm 0.05", "dense.kernel dense.bias dense_1.kernel dense_1.bias" },
        { "clipvalue = 0.01", "value 0.01", "" },
        { "global_clipnorm = 0.1", "global 0.1", "" },
    };
    for (int i = 0; i < 3; i++) {
        char src[1024], tag[16], args[256], out[8192];
        snprintf(src, sizeof src, "model m {\n  input x: f32[6]\n  dense(5, tanh)\n  dense(3, softmax)\n}\n"
                 "train m {\n  loss sparse_categorical_crossentropy\n  optimizer sgd(lr = 0.5, %s)\n  batch 4\n}\n",
                 kinds[i][0]);
        snprintf(tag, sizeof tag, "clip%d", i);
        snprintf(args, sizeof args, "clip %s 0.5 %s", kinds[i][1], kinds[i][2]);
        drive(build_fit(tag, src, ""), args, out, sizeof out);
        ck_assert_msg(field(out, "clipped") == 1, "%s: nothing to clip\n%s", kinds[i][0], out);
        ck_assert_msg(field(out, "clip_err") <= 1e-6, "%s\n%s", kinds[i][0], out);
    }
}
END_TEST

/* class weights of 2 double the loss and every gradient, exactly; the
 * weighted gradient passes model_check's finite differences */
START_TEST(class_weight_in_the_model) {
    char out[16384];
    const char *plain = build_fit("cw1", MLP("sgd", ""), "");
    const char *twice = build_fit("cw2", MLP("sgd", "  class_weight 2, 2, 2\n"), "");
    drive(plain, "dump dense.kernel", out, sizeof out);
    double l1 = field(out, "loss");
    char g1[4096];
    snprintf(g1, sizeof g1, "%s", strstr(out, "grad dense.kernel"));
    drive(twice, "dump dense.kernel", out, sizeof out);
    ck_close(field(out, "loss"), 2 * l1, 1e-7);
    const char *p = strstr(g1, "kernel") + 6, *q = strstr(strstr(out, "grad dense.kernel"), "kernel") + 6;
    for (int i = 0; i < 30; i++) {
        char *pe, *qe;
        double a = strtod(p, &pe), b = strtod(q, &qe);
        ck_close(b, 2 * a, 1e-7);
        p = pe;
        q = qe;
    }
    const char *gc = build_model("cwgrad", "model cwgrad {\n  input x: f32[5]\n  dense(4, relu)\n  dense(3, softmax)\n}\n"
                                 "train cwgrad {\n  loss sparse_categorical_crossentropy\n  class_weight 0.5, 3, 1.25\n"
                                 "  batch 5\n}\n", "", "gcc");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s gradcheck 3e-3", gc);
    ck_assert_int_eq(run(cmd, out, sizeof out), 0);
    ck_assert_msg(field(out, "checked") >= 10 && field(out, "bad") == 0, "%s", out);
    gc = build_model("cwbce", "model cwbce {\n  input x: f32[5]\n  dense(4, relu)\n  dense(1, sigmoid)\n}\n"
                     "train cwbce {\n  loss binary_crossentropy\n  class_weight 0.3, 2\n  batch 5\n}\n", "", "gcc");
    snprintf(cmd, sizeof cmd, "%s gradcheck 3e-3", gc);
    ck_assert_int_eq(run(cmd, out, sizeof out), 0);
    ck_assert_msg(field(out, "checked") >= 10 && field(out, "bad") == 0, "%s", out);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("fitstate");
    TCase *k = tcase_create("kernels");
    tcase_add_test(k, clip_norm_kernel);
    tcase_add_test(k, clip_value_kernel);
    tcase_add_test(k, class_weighted_losses);
    suite_add_tcase(s, k);
    TCase *m = tcase_create("models");
    tcase_set_timeout(m, 120);
    tcase_add_test(m, diag_settings);
    tcase_add_test(m, rate_and_metrics_macros);
    tcase_add_test(m, sgd_rate_at_run_time);
    tcase_add_test(m, every_optimizer_reads_the_rate);
    tcase_add_test(m, progress_numbers);
    tcase_add_test(m, clipping_by_hand);
    tcase_add_test(m, class_weight_in_the_model);
    suite_add_tcase(s, m);
    return s;
}

int main(void) {
    if (model_build_init("tmp-fitstate")) return 1;
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    if (model_build_done()) return 1;
    return failed ? 1 : 0;
}
