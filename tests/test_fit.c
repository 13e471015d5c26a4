/* test_fit.c — the train block's training-loop settings (fit_settings.c):
 * what each setting writes into the nnc fit driver, and the errors a
 * misspelt or out-of-range one gets, with line and column. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "build.h"
#include "testutil.h"

static const char *MODEL =
    "model m {\n"
    "    input x: f32[4]\n"
    "    dense(3, softmax)\n"
    "}\n"
    "train m {\n"
    "    loss sparse_categorical_crossentropy\n"
    "    optimizer adam(lr = 0.01)\n";

/* MODEL's train block plus `extra`, lowered: the diagnostics printed, and
 * (when it lowered) the driver's settings in *emitted */
static char *lower_with(const char *extra, char **emitted)
{
    char src[2048];
    snprintf(src, sizeof src, "%s%s}\n", MODEL, extra);
    TuCapture c;
    tu_diag_begin(&c);
    Program *p = ast_parse("f.nn", src);
    Graph *g = p ? lower_program(p, NULL) : NULL;
    char *diags = tu_diag_end(&c);
    *emitted = NULL;
    if (g && !diag_error_count()) {
        size_t len = 0;
        FILE *f = open_memstream(emitted, &len);
        fit_settings_emit(f, p, "m");
        fclose(f);
    }
    if (g) ir_free(g);
    ast_free(p);
    return diags;
}

START_TEST(settings_become_driver_defaults)
{
    char *out, *d = lower_with(
        "    validation_split 0.25\n"
        "    shuffle false\n"
        "    callbacks early_stopping(monitor = val_accuracy, patience = 3, mode = max, restore_best_weights = true), "
        "model_checkpoint(save_best_only = True), reduce_lr_on_plateau(factor = 0.5, min_lr = 1e-5)\n"
        "    schedule cosine_decay(decay_steps = 100, warmup_steps = 10, warmup_target = 0.01, alpha = 0.1)\n", &out);
    ck_assert_str_eq(d, "");
    ck_assert_ptr_nonnull(out);
    ck_assert_str_eq(out,
        "    c.validation_split = 0.25;\n"
        "    c.shuffle = 0;\n"
        "    c.early_stopping.on = 1;\n"
        "    c.early_stopping.monitor = \"val_accuracy\";\n"
        "    c.early_stopping.patience = 3;\n"
        "    c.early_stopping.mode = 1;\n"
        "    c.early_stopping.restore_best_weights = 1;\n"
        "    c.checkpoint.path = \"m.checkpoint.bin\";\n"
        "    c.checkpoint.save_best_only = 1;\n"
        "    c.reduce_lr.on = 1;\n"
        "    c.reduce_lr.factor = 0.5;\n"
        "    c.reduce_lr.min_lr = 1e-05;\n"
        "    c.schedule.kind = NNC_FIT_COSINE_DECAY;\n"
        "    c.schedule.decay_steps = 100;\n"
        "    c.schedule.warmup_steps = 10;\n"
        "    c.schedule.warmup_target = 0.01;\n"
        "    c.schedule.alpha = 0.1;\n");
    free(out);
    free(d);
}
END_TEST

/* each mistake is named where it is written, all of them in one run */
START_TEST(mistakes_are_named)
{
    char *out, *d = lower_with(
        "    callbacks early_stopping(patiense = 3), reduce_lr_on_plateau(factor = 2), early_stoping\n"
        "    schedule cosine_decai(decay_steps = 10)\n"
        "    validation_split 1.5\n"
        "    shuffle maybe\n", &out);
    ck_assert_ptr_null(out);
    ck_assert_ptr_nonnull(strstr(d, "f.nn:8:30: error: early_stopping has no argument 'patiense'; did you mean 'patience'?"));
    ck_assert_ptr_nonnull(strstr(d, "f.nn:8:75: error: reduce_lr_on_plateau's factor must be a number between 0 and 1, got 2"));
    ck_assert_ptr_nonnull(strstr(d, "f.nn:8:79: error: unknown callback 'early_stoping'; did you mean 'early_stopping'?"));
    ck_assert_ptr_nonnull(strstr(d, "f.nn:9:14: error: unknown schedule 'cosine_decai'; did you mean 'cosine_decay'?"));
    ck_assert_ptr_nonnull(strstr(d, "f.nn:10:5: error: 'validation_split' takes one number in [0, 1)"));
    ck_assert_ptr_nonnull(strstr(d, "f.nn:11:5: error: 'shuffle' takes true or false"));
    ck_assert_int_eq(diag_error_count(), 6);
    free(d);
}
END_TEST

/* Keras' class names: the same settings */
START_TEST(keras_classes)
{
    char *a, *b, *d1 = lower_with(
        "    callbacks EarlyStopping(patience = 2), ReduceLROnPlateau(factor = 0.2)\n"
        "    schedule ExponentialDecay(decay_steps = 10, decay_rate = 0.5)\n", &a);
    char *d2 = lower_with(
        "    callbacks early_stopping(patience = 2), reduce_lr_on_plateau(factor = 0.2)\n"
        "    schedule exponential_decay(decay_steps = 10, decay_rate = 0.5)\n", &b);
    ck_assert_str_eq(d1, "");
    ck_assert_str_eq(d2, "");
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
    free(d1);
    free(d2);
}
END_TEST

START_TEST(monitor_must_be_a_metric)
{
    char *out, *d = lower_with("    callbacks early_stopping(monitor = val_acc)\n", &out);
    ck_assert_ptr_null(out);
    ck_assert_ptr_nonnull(strstr(d, "f.nn:8:40: error: unknown quantity to monitor 'val_acc'"));
    free(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fit");
    TCase *tc = tcase_create("settings");
    tcase_add_test(tc, settings_become_driver_defaults);
    tcase_add_test(tc, mistakes_are_named);
    tcase_add_test(tc, monitor_must_be_a_metric);
    tcase_add_test(tc, keras_classes);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
