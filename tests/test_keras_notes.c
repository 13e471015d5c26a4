/* test_keras_notes.c — Keras' CamelCase layer classes are accepted with a
 * note naming nnc's spelling (one per op, whatever the spelling's count;
 * not a warning: -Werror compiles the model), Keras 2's `alpha =` of
 * LeakyReLU means Keras 3's negative_slope, a tuple where Keras writes one
 * (Reshape((2, 4)), PReLU(shared_axes = (1,))) and None for "none", and the
 * recurrent layers' arguments of which nnc computes one value (accepted at
 * that value, refused at any other).  Every text pinned exactly. */
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

/* a tuple and None where Keras writes them */
START_TEST(tuples_and_none) {
    const char *a = code_of("model m {\n  input x: f32[8]\n  Reshape((2, 4))\n  PReLU(shared_axes = (1,))\n"
                            "  Reshape(target_shape = (8,))\n  PReLU(shared_axes = None)\n  dense(2)\n}\n");
    const char *b = code_of("model m {\n  input x: f32[8]\n  reshape(2, 4)\n  prelu(shared_axes = 1)\n"
                            "  reshape(8)\n  prelu\n  dense(2)\n}\n");
    ck_assert_str_eq(a, b);
    a = code_of("model m {\n  input x: f32[8, 8, 2]\n  MaxPooling2D(2, strides = None)\n"
                "  AveragePooling2D(pool_size = (2, 2), strides = None)\n  flatten\n  dense(2)\n}\n");
    b = code_of("model m {\n  input x: f32[8, 8, 2]\n  max_pool2d(2)\n  avg_pool2d(2)\n  flatten\n  dense(2)\n}\n");
    ck_assert_str_eq(a, b);
    a = code_of("model m {\n  input x: f32[8, 2]\n  MaxPooling1D(2, strides = None)\n  flatten\n  dense(2)\n}\n");
    b = code_of("model m {\n  input x: f32[8, 2]\n  max_pool1d(2)\n  flatten\n  dense(2)\n}\n");
    ck_assert_str_eq(a, b);
    a = code_of("model m {\n  input x: f32[4, 4, 2]\n  Conv2DTranspose(3, 3, output_padding = None)\n}\n");
    b = code_of("model m {\n  input x: f32[4, 4, 2]\n  conv2d_transpose(3, 3)\n}\n");
    ck_assert_str_eq(a, b);
}
END_TEST

/* Keras' recurrent arguments at the one value nnc computes: the code of the defaults */
START_TEST(recurrent_arguments) {
    const char *a = code_of("model m {\n  input x: f32[6, 3]\n"
                            "  LSTM(4, activation = 'tanh', recurrent_activation = 'sigmoid', dropout = 0.0, "
                            "recurrent_dropout = 0, stateful = False, unroll = True, return_sequences = True)\n"
                            "  GRU(3, reset_after = True, activation = 'tanh', recurrent_activation = 'sigmoid')\n"
                            "  dense(2)\n}\n");
    const char *b = code_of("model m {\n  input x: f32[6, 3]\n  lstm(4, return_sequences = true)\n  gru(3)\n"
                            "  dense(2)\n}\n");
    ck_assert_str_eq(a, b);
    /* positional arguments in Keras' order: units, activation, [recurrent_activation], use_bias, ... */
    a = code_of("model m {\n  input x: f32[6, 3]\n  LSTM(4, 'tanh', 'sigmoid', False, return_sequences = True)\n"
                "  SimpleRNN(3, 'relu', False, 'he_normal')\n  dense(2)\n}\n");
    b = code_of("model m {\n  input x: f32[6, 3]\n  lstm(4, use_bias = false, return_sequences = true)\n"
                "  simple_rnn(3, activation = relu, use_bias = false, kernel_initializer = he_normal)\n  dense(2)\n}\n");
    ck_assert_str_eq(a, b);
    /* bias_regularizer reaches the loss */
    const char *c = code_of("model m {\n  input x: f32[6, 3]\n  lstm(4, bias_regularizer = l2(0.01))\n"
                            "  dense(1)\n}\ntrain m {\n  loss mse\n}\n");
    ck_assert_ptr_nonnull(strstr(c, "0.00999999978f); /* lstm.bias */"));
    expect("model m {\n  input x: f32[6, 3]\n  lstm(4, activation = relu)\n}\n", "", 1,
           "m.nn:3:3: error: lstm: nnc computes activation = tanh only\n"
           "  lstm(4, activation = relu)\n  ^~~~~~~~~~~~~~~~~~~~~~~~~~\n");
    expect("model m {\n  input x: f32[6, 3]\n  gru(4, recurrent_activation = hard_sigmoid)\n}\n", "", 1,
           "m.nn:3:3: error: gru: nnc computes recurrent_activation = sigmoid only\n"
           "  gru(4, recurrent_activation = hard_sigmoid)\n  ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n");
    expect("model m {\n  input x: f32[6, 3]\n  gru(4, reset_after = false)\n}\n", "", 1,
           "m.nn:3:3: error: gru: nnc computes reset_after = true only\n"
           "  gru(4, reset_after = false)\n  ^~~~~~~~~~~~~~~~~~~~~~~~~~~\n");
    expect("model m {\n  input x: f32[6, 3]\n  simple_rnn(4, recurrent_dropout = 0.1)\n}\n", "", 1,
           "m.nn:3:3: error: simple_rnn: nnc computes dropout = 0 and recurrent_dropout = 0 only\n"
           "  simple_rnn(4, recurrent_dropout = 0.1)\n  ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n");
    expect("model m {\n  input x: f32[6, 3]\n  lstm(4, stateful = true)\n}\n", "", 1,
           "m.nn:3:3: error: lstm: nnc computes stateful = false only\n"
           "  lstm(4, stateful = true)\n  ^~~~~~~~~~~~~~~~~~~~~~~~\n");
}
END_TEST

/* arguments naming what nnc does anyway: accepted at that value (the same code), refused
 * (exit 3: valid Keras nnc cannot compile) at any other */
START_TEST(arguments_at_their_one_value) {
    const char *a = code_of("model m {\n  input x: f32[8, 8, 3]\n"
                            "  Conv2D(4, 3, data_format = 'channels_last', kernel_constraint = None, "
                            "activity_regularizer = None)\n"
                            "  BatchNormalization(axis = -1, center = True, scale = True, synchronized = True)\n"
                            "  Dropout(0.2, seed = 7, noise_shape = None)\n"
                            "  GlobalAveragePooling2D(data_format = 'channels_last', keepdims = False)\n"
                            "  Dense(3, lora_rank = None)\n  ReLU(max_value = None, negative_slope = 0.0, threshold = 0)\n"
                            "  Softmax(axis = -1)\n}\n");
    const char *b = code_of("model m {\n  input x: f32[8, 8, 3]\n  conv2d(4, 3)\n  batch_norm\n  dropout(0.2)\n"
                            "  global_average_pooling2d\n  dense(3)\n  relu\n  softmax\n}\n");
    ck_assert_str_eq(a, b);
    a = code_of("model m {\n  input t: i32[6]\n  Embedding(20, 4, input_length = 6)\n  Identity()\n  LSTM(3)\n}\n");
    b = code_of("model m {\n  input t: i32[6]\n  embedding(20, 4)\n  lstm(3)\n}\n");
    ck_assert_str_eq(a, b);
    expect("model m {\n  input x: f32[8, 8, 3]\n  conv2d(4, 3, data_format = channels_first)\n"
           "  batch_norm(axis = 1)\n  global_max_pooling2d(keepdims = true)\n"
           "  dense(2, kernel_constraint = non_neg)\n}\n", "", 3,
           "m.nn:3:30: error: 'conv2d': nnc computes channels-last tensors (data_format = 'channels_last') only\n"
           "  conv2d(4, 3, data_format = channels_first)\n                             ^~~~~~~~~~~~~~\n"
           "m.nn:4:21: error: 'batch_norm': nnc computes axis = -1 only\n"
           "  batch_norm(axis = 1)\n                    ^\n"
           "m.nn:5:35: error: 'global_max_pooling2d': nnc computes keepdims = False only\n"
           "  global_max_pooling2d(keepdims = true)\n                                  ^~~~\n"
           "m.nn:6:32: error: 'dense': nnc computes kernel_constraint = None only\n"
           "  dense(2, kernel_constraint = non_neg)\n                               ^~~~~~~\n");
    expect("model m {\n  input x: f32[8]\n  relu(max_value = 6)\n}\n", "", 3,
           "m.nn:3:20: error: 'relu': nnc computes max_value = None (use relu6 for a cap of 6) only\n"
           "  relu(max_value = 6)\n                   ^\n");
    /* a layer that has no such argument in Keras still says so */
    expect("model m {\n  input x: f32[8]\n  dense(2, data_format = channels_last)\n}\n", "", 1,
           "m.nn:3:12: error: 'dense' has no argument 'data_format'\n"
           "  dense(2, data_format = channels_last)\n           ^~~~~~~~~~~\n");
}
END_TEST

/* name = '...': the layer's name (its parameters', its output's), unique; dtype = 'float32' */
START_TEST(layer_names) {
    char out[8192], path[256];
    ck_assert_int_eq(compile("model m {\n  input t: i32[6]\n  Embedding(20, 4, name = 'tokens', dtype = 'float32')\n"
                             "  Bidirectional(LSTM(3, name = 'ignored'), name = 'bi')\n"
                             "  h = Dense(4, activation = 'relu', name = 'hidden')\n"
                             "  Dense(1, activation = 'sigmoid', name = 'predictions')(h)\n}\n", "-w", out, sizeof out), 0);
    snprintf(path, sizeof path, "%s/m.c", dir);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    static char c[1 << 16];
    c[fread(c, 1, sizeof c - 1, f)] = 0;
    fclose(f);
    static const char *const want[] = { "\"tokens.embeddings\"", "\"bi_forward.kernel\"", "\"bi_backward.kernel\"",
                                        "\"hidden.kernel\"", "\"predictions.bias\"" };
    for (unsigned i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(strstr(c, want[i]) != NULL, "m.c lacks %s", want[i]);
    snprintf(path, sizeof path, "%s/m.h", dir);
    f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    c[fread(c, 1, sizeof c - 1, f)] = 0;
    fclose(f);
    ck_assert_ptr_nonnull(strstr(c, " *   output predictions: f32 (n, 1)\n"));
    /* one layer per name; nnc's own names step over a taken one */
    expect("model m {\n  input x: f32[8]\n  dense(4, name = a)\n  dense(2, name = a)\n}\n", "", 1,
           "m.nn:4:3: error: a layer named 'a' is already defined (line 3); layer names are unique\n"
           "  dense(2, name = a)\n  ^~~~~~~~~~~~~~~~~~\n");
    const char *a = code_of("model m {\n  input x: f32[8]\n  dense_1 = dense(x, 4)\n  dense(2)\n  dense(2)\n}\n");
    ck_assert_ptr_nonnull(strstr(a, "\"dense_1.kernel\""));
    ck_assert_ptr_nonnull(strstr(a, "\"dense_2.kernel\""));
    ck_assert_ptr_nonnull(strstr(a, "\"dense_3.kernel\""));
    expect("model m {\n  input x: f32[8]\n  dense(4, dtype = float16)\n}\n", "", 3,
           "m.nn:3:20: error: 'dense': nnc computes dtype = 'float32' only\n"
           "  dense(4, dtype = float16)\n                   ^~~~~~~\n");
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
    tcase_add_test(t, tuples_and_none);
    tcase_add_test(t, recurrent_arguments);
    tcase_add_test(t, arguments_at_their_one_value);
    tcase_add_test(t, layer_names);
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
