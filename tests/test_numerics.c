/* test_numerics.c — non-finite values in training are caught where they
 * start: a NaN in one input value (which ReLU turns into a finite loss but
 * NaN gradients) makes train_batch return NaN and train_epoch the NaN code
 * with every parameter as it was; a step that overflows (a learning rate
 * of 1e10 on gradients of 1e30) returns NaN instead of OK.  Each model is compiled by bin/nnc
 * and driven by tests/model_check.c ("nonfinite" mode).
 */
#include <check.h>
#include "check_run.h"
#include <math.h>
#include "model_build.h"

static const char *relu_mlp =
    "model %s {\n    input x: f32[6]\n    dense(8, relu)\n    dense(3, softmax)\n}\n"
    "train %s {\n    loss sparse_categorical_crossentropy\n    optimizer %s\n    batch 5\n}\n";

static char *nonfinite_with(const char *name, const char *optimizer, const char *scale, const char *flags) {
    static char out[8192];
    char src[512], cmd[512];
    snprintf(src, sizeof src, relu_mlp, name, name, optimizer);
    snprintf(cmd, sizeof cmd, "%s nonfinite %s", build_model(name, src, flags, "gcc"), scale);
    ck_assert_int_eq(run(cmd, out, sizeof out), 0);
    return out;
}

static char *nonfinite(const char *name, const char *optimizer, const char *scale) {
    return nonfinite_with(name, optimizer, scale, "");
}

START_TEST(nan_input_takes_no_step)
{
    const char *opts[] = { "adam", "sgd(lr = 0.1, momentum = 0.9)", "rmsprop" };
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof name, "nf%d", i);
        char *out = nonfinite(name, opts[i], "1");
        ck_assert_msg(field(out, "nan_input_loss_nan") == 1, "%s: %s", opts[i], out);
        ck_assert_msg(field(out, "params_unchanged") == 1, "%s: %s", opts[i], out);
        ck_assert_msg(field(out, "epoch_status") == -1, "%s: %s", opts[i], out);   /* NF_ERR_NAN */
        ck_assert_msg(field(out, "params_unchanged_after_epoch") == 1, "%s: %s", opts[i], out);
        ck_assert_msg(field(out, "clean_nan_steps") == 0 && field(out, "ok_but_nonfinite") == 0, "%s: %s", opts[i], out);
    }
}
END_TEST

/* batch normalisation updates its moving statistics in the forward pass: a
 * NaN batch must leave them as they were too, or every later prediction is NaN */
START_TEST(nan_input_keeps_moving_statistics)
{
    static char out[8192];
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s nonfinite 1",
             build_model("nfbn", "model nfbn {\n    input x: f32[6]\n    dense(8)\n    batch_norm\n    relu\n"
                                 "    dense(3, softmax)\n}\n"
                                 "train nfbn {\n    loss sparse_categorical_crossentropy\n    optimizer adam\n"
                                 "    batch 5\n}\n", "", "gcc"));
    ck_assert_int_eq(run(cmd, out, sizeof out), 0);
    ck_assert_msg(field(out, "nan_input_loss_nan") == 1, "%s", out);
    ck_assert_msg(field(out, "params_unchanged") == 1, "%s", out);
    ck_assert_msg(field(out, "params_unchanged_after_epoch") == 1, "%s", out);
}
END_TEST

START_TEST(overflowing_step_is_not_ok)
{
    /* inputs of 1e30 give finite gradients of about 1e30; times the rate, 1e40 */
    char *out = nonfinite("nfhuge", "sgd(lr = 1e10)", "1e30");
    ck_assert_msg(field(out, "clean_nan_steps") >= 1, "the learning rate did not blow up: %s", out);
    ck_assert_msg(field(out, "ok_but_nonfinite") == 0, "a step returned OK with non-finite parameters: %s", out);
}
END_TEST

/* every entry point computes with flush-to-zero (subnormal inputs through a
 * dense layer without bias give exactly 0) and gives the caller's setting
 * back, whether the caller had it off or on */
START_TEST(entry_points_flush_subnormals)
{
    static char out[8192];
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s fpmode",
             build_model("fz", "model fz {\n    input x: f32[6]\n    dense(3, use_bias = false)\n}\n"
                               "train fz {\n    loss mse\n    optimizer adam\n    batch 5\n}\n", "", "gcc"));
    ck_assert_int_eq(run(cmd, out, sizeof out), 0);
    ck_assert_msg(field(out, "flush_bits") > 0, "this host has a flush-to-zero mode: %s", out);
    ck_assert_msg(field(out, "subnormal_outputs") == 0, "subnormals computed inside predict: %s", out);
    const char *keys[] = { "predict_keeps", "gradients_keeps", "train_batch_keeps", "train_epoch_keeps",
                           "evaluate_keeps" };
    for (int i = 0; i < 5; i++) ck_assert_msg(field(out, keys[i]) == 1, "%s: %s", keys[i], out);
}
END_TEST

/* --check-numerics names the first node whose output held the NaN: ReLU
 * turns the NaN input into 0 on the way forward, so it first shows in the
 * kernel gradient x^T dz */
START_TEST(check_numerics_names_the_node)
{
    char *out = nonfinite_with("nfcheck", "adam", "1", " --check-numerics");
    ck_assert_msg(field(out, "params_unchanged") == 1 && field(out, "epoch_status") == -1, "%s", out);
    ck_assert_msg(strstr(out, "\nnonfinite_at ddense.kernel (matmul)\n") != NULL, "%s", out);
}
END_TEST

int main(void) {
    const TTest *tests[] = { nan_input_takes_no_step, nan_input_keeps_moving_statistics, overflowing_step_is_not_ok,
                             entry_points_flush_subnormals,
                             check_numerics_names_the_node, NULL };
    const kernel_case cases[] = { { "numerics", tests, 60, 0 } };
    if (model_build_init("tmp-numerics")) return 1;
    int status = run_cases("numerics", cases, 1);
    return model_build_done() ? 1 : status;
}
