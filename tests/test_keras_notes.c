/* test_keras_notes.c — Keras' CamelCase layer classes are accepted with a
 * note naming nnc's spelling (one per op, whatever the spelling's count;
 * not a warning: -Werror compiles the model), and Keras 2's `alpha =` of
 * LeakyReLU means Keras 3's negative_slope.  Every text pinned exactly. */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "model_build.h"

/* nnc FLAGS on src as m.nn: its exit status and everything it printed in out */
static int compile(const char *src, const char *flags, char *out, size_t cap) {
    char path[256], cmd[1024];
    snprintf(path, sizeof path, "%s/m.nn", dir);
    write_text(path, src);
    snprintf(cmd, sizeof cmd, "cd %s && rm -f m.c m.h && %s %s m.nn -o m.c", dir, nnc, flags);
    return run(cmd, out, cap);
}

static void expect(const char *src, const char *flags, int status, const char *expected) {
    char out[8192];
    ck_assert_int_eq(compile(src, flags, out, sizeof out), status);
    ck_assert_str_eq(out, expected);
}

/* the generated model.c of src (compiled quietly but for notes) */
static char *code_of(const char *src) {
    char out[8192], path[256];
    ck_assert_msg(compile(src, "-w", out, sizeof out) == 0, "%s\n%s", src, out);
    snprintf(path, sizeof path, "%s/m.c", dir);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    static char buf[3][1 << 16];
    static int k;
    char *b = buf[k++ % 3];
    size_t n = fread(b, 1, sizeof buf[0] - 1, f);
    b[n] = 0;
    fclose(f);
    return b;
}

/* one class per line: the note, the line, the caret under the class name */
#define NOTE(line, col, cls, nnc_name, text, caret) \
    "m.nn:" #line ":" #col ": note: '" cls "' is spelt '" nnc_name "' in nnc\n  " text "\n  " caret "\n"

START_TEST(camel_case_notes) {
    const char *src =
        "model m {\n  input x: f32[8, 8, 3]\n"
        "  Conv2D(4, 3, activation = 'relu')\n"
        "  Conv2D(4, 3)\n"
        "  BatchNormalization()\n"
        "  LeakyReLU()\n"
        "  UpSampling2D(2)\n"
        "  MaxPooling2D(2)\n"
        "  Activation('relu')\n"
        "  GlobalAveragePooling2D()\n"
        "  Dense(3, activation = 'softmax')\n}\n";
    const char *want =
        NOTE(3, 3, "Conv2D", "conv2d", "Conv2D(4, 3, activation = 'relu')", "^~~~~~")
        NOTE(5, 3, "BatchNormalization", "batch_norm", "BatchNormalization()", "^~~~~~~~~~~~~~~~~~")
        NOTE(6, 3, "LeakyReLU", "leaky_relu", "LeakyReLU()", "^~~~~~~~~")
        NOTE(7, 3, "UpSampling2D", "upsampling2d", "UpSampling2D(2)", "^~~~~~~~~~~~")
        NOTE(8, 3, "MaxPooling2D", "max_pool2d", "MaxPooling2D(2)", "^~~~~~~~~~~~")
        NOTE(9, 3, "Activation", "activation", "Activation('relu')", "^~~~~~~~~~")
        NOTE(10, 3, "GlobalAveragePooling2D", "global_average_pooling2d", "GlobalAveragePooling2D()",
             "^~~~~~~~~~~~~~~~~~~~~~")
        NOTE(11, 3, "Dense", "dense", "Dense(3, activation = 'softmax')", "^~~~~");
    expect(src, "", 0, want);
    expect(src, "-Werror", 0, want);    /* a note is no warning */
}
END_TEST

START_TEST(recurrent_class_notes) {
    expect("model m {\n  input t: i32[6]\n  Embedding(20, 8, mask_zero = True)\n"
           "  Bidirectional(LSTM(4, return_sequences = True))\n  SimpleRNN(3)\n  GRU(2)\n}\n", "", 1,
           NOTE(3, 3, "Embedding", "embedding", "Embedding(20, 8, mask_zero = True)", "^~~~~~~~~")
           NOTE(4, 3, "Bidirectional", "bidirectional", "Bidirectional(LSTM(4, return_sequences = True))",
                "^~~~~~~~~~~~~")
           NOTE(4, 17, "LSTM", "lstm", "Bidirectional(LSTM(4, return_sequences = True))",
                "              ^~~~")
           NOTE(5, 3, "SimpleRNN", "simple_rnn", "SimpleRNN(3)", "^~~~~~~~~")
           NOTE(6, 3, "GRU", "gru", "GRU(2)", "^~~")
           "m.nn:6:3: error: gru expects input of shape (n, steps, features), got (n, 3); sequences are "
           "'input x: f32[steps, features]', or come from embedding\n"
           "  GRU(2)\n  ^~~~~~\n");
}
END_TEST

/* snake_case names and nnc's own: no note */
START_TEST(no_note_for_snake_case) {
    expect("model m {\n  input x: f32[8]\n  dense(4, relu)\n  batch_normalization\n  leaky_relu\n"
           "  global_max_pool1d\n}\n", "", 1,
           "m.nn:6:3: error: global_max_pool expects input of shape (n, height, width, channels) or (n, "
           "steps, channels), got (n, 4)\n  global_max_pool1d\n  ^~~~~~~~~~~~~~~~~\n");
}
END_TEST

/* LeakyReLU(alpha = a) is negative_slope = a (Keras 2's name; Keras 3 takes it, deprecated) */
START_TEST(leaky_relu_alpha) {
    const char *a = code_of("model m {\n  input x: f32[8]\n  dense(4)\n  LeakyReLU(alpha = 0.1)\n}\n");
    const char *b = code_of("model m {\n  input x: f32[8]\n  dense(4)\n  leaky_relu(negative_slope = 0.1)\n}\n");
    const char *c = code_of("model m {\n  input x: f32[8]\n  dense(4)\n  leaky_relu\n}\n");
    ck_assert_str_eq(a, b);
    ck_assert_ptr_nonnull(strstr(a, "0.100000001f"));
    ck_assert_str_ne(a, c);
    ck_assert_ptr_nonnull(strstr(c, "0.300000012f"));   /* the layer's default */
    expect("model m {\n  input x: f32[8]\n  leaky_relu(alpha = 0.1, negative_slope = 0.2)\n}\n", "", 1,
           "m.nn:3:27: error: 'negative_slope' is given twice\n"
           "  leaky_relu(alpha = 0.1, negative_slope = 0.2)\n                          ^~~~~~~~~~~~~~\n");
    expect("model m {\n  input x: f32[8]\n  leaky_relu(alpha = -1)\n}\n", "", 1,
           "m.nn:3:3: error: leaky_relu needs negative_slope >= 0, got -1\n"
           "  leaky_relu(alpha = -1)\n  ^~~~~~~~~~~~~~~~~~~~~~\n");
    /* ELU's alpha is its own */
    const char *d = code_of("model m {\n  input x: f32[8]\n  dense(4)\n  elu(alpha = 0.5)\n}\n");
    ck_assert_ptr_nonnull(strstr(d, "0.5f"));
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("keras_notes");
    TCase *t = tcase_create("notes");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, camel_case_notes);
    tcase_add_test(t, recurrent_class_notes);
    tcase_add_test(t, no_note_for_snake_case);
    tcase_add_test(t, leaky_relu_alpha);
    suite_add_tcase(s, t);
    return s;
}

int main(void) {
    if (model_build_init("tmp-keras-notes")) return 1;
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    if (model_build_done()) return 1;
    return failed ? 1 : 0;
}
