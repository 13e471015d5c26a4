/* test_models.c — whole-pipeline tests: .nn text -> bin/nnc -> C compiled
 * with the strict flags of the generated-code contract -> run.
 *
 * Gradient checks here exercise every op's gradient rule and every loss
 * through autodiff, fusion and the planner together (the runtime kernels
 * are checked alone in test_runtime.c).  Also: -O0 and -O2 agree,
 * determinism, save/load, semantic diagnostics with their exact text, and
 * that a failed compile leaves no output behind.
 */
#include <check.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ir.h"

#include "model_build.h"

static void expect_error(const char *src, const char *expected);
static void gradcheck_h(const char *name, const char *src, const char *flags, const char *h);
static void gradcheck(const char *name, const char *src, const char *flags) {
    gradcheck_h(name, src, flags, "3e-3");
}

/* h: the finite-difference step; smaller where a max may change hands */
static void gradcheck_h(const char *name, const char *src, const char *flags, const char *h) {
    char cmd[512], out[8192];
    snprintf(cmd, sizeof cmd, "%s gradcheck %s", build_model(name, src, flags, "gcc"), h);
    ck_assert_int_eq(run(cmd, out, sizeof out), 0);
    ck_assert_msg(field(out, "checked") >= 10, "%s", out);
    ck_assert_msg(field(out, "kinked") <= 0.1 * field(out, "checked"), "%s %s: too many kinks\n%s", name, flags, out);
    ck_assert_msg(field(out, "bad") == 0, "%s %s: gradient mismatch\n%s", name, flags, out);
}

#define MLP(name, layers, loss) \
    "model " name " {\n  input x: f32[2, 3]\n  flatten\n" layers "}\n" \
    "train " name " {\n  loss " loss "\n  optimizer adam\n  batch 8\n}\n"

/* ---- gradient checks: every op, activation and loss ------------------------------- */

START_TEST(grad_sparse_cce_relu) {
    const char *m = MLP("g1", "  dense(7, relu)\n  dense(4, softmax)\n", "sparse_categorical_crossentropy");
    gradcheck("g1", m, "-O2");
    gradcheck("g1", m, "-O0");
}
END_TEST

START_TEST(grad_bce_tanh_sigmoid) {
    const char *m = MLP("g2", "  dense(5, tanh)\n  dense(1, sigmoid)\n", "binary_crossentropy");
    gradcheck("g2", m, "-O2");
    gradcheck("g2", m, "-O0");
}
END_TEST

START_TEST(grad_mse_mae) {
    gradcheck("g3", MLP("g3", "  dense(5, sigmoid)\n  dense(3)\n", "mse"), "-O2");
    gradcheck("g4", MLP("g4", "  dense(5, relu)\n  dense(3, linear)\n", "mae"), "-O2");
}
END_TEST

START_TEST(grad_cce_unfused) {
    /* one-hot cce on softmax (fused to logits) and on sigmoid outputs (clipped log) */
    gradcheck("g5", MLP("g5", "  dense(6, tanh)\n  dense(4, softmax)\n", "categorical_crossentropy"), "-O2");
    gradcheck("g6", MLP("g6", "  dense(6, tanh)\n  dense(4, sigmoid)\n", "categorical_crossentropy"), "-O0");
}
END_TEST

START_TEST(grad_from_logits) {
    /* the three cross-entropies on a linear output, read as logits */
    const char *s = MLP("g7", "  dense(6, tanh)\n  dense(4)\n", "sparse_categorical_crossentropy(from_logits = true)");
    gradcheck("g7", s, "-O2");
    gradcheck("g7", s, "-O0");
    gradcheck("g8", MLP("g8", "  dense(6, relu)\n  dense(3, linear)\n", "categorical_crossentropy(from_logits = true)"),
              "-O2");
    gradcheck("g9", MLP("g9", "  dense(5, tanh)\n  dense(1)\n", "binary_crossentropy(from_logits = true)"), "-O0");
}
END_TEST

/* nnc FLAGS on src: its exit status and everything it printed */
static void expect_output(const char *src, const char *flags, int status, const char *expected) {
    char path[256], cmd[1024], out[8192];
    snprintf(path, sizeof path, "%s/warn.nn", dir);
    write_text(path, src);
    snprintf(cmd, sizeof cmd, "cd %s && %s %s warn.nn -o warn.c", dir, nnc, flags);
    ck_assert_int_eq(run(cmd, out, sizeof out), status);
    ck_assert_str_eq(out, expected);
}

START_TEST(warn_loss_output) {
    const char *linear = MLP("w", "  dense(4)\n", "sparse_categorical_crossentropy");
    const char *warning = "warn.nn:7:8: %s: sparse_categorical_crossentropy expects probabilities, but output "
                          "'dense' comes from 'dense', not a softmax; if it holds logits, write "
                          "sparse_categorical_crossentropy(from_logits = true) [%s-Wloss-output]\n"
                          "  loss sparse_categorical_crossentropy\n       ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n";
    char want[1024];
    snprintf(want, sizeof want, warning, "warning", "");
    expect_output(linear, "", 0, want);
    snprintf(want, sizeof want, warning, "error", "-Werror,");
    expect_output(linear, "-Werror", 1, want);
    expect_output(linear, "-w", 0, "");
    /* the reverse: logits declared on a softmax */
    expect_output(MLP("w", "  dense(4, softmax)\n", "categorical_crossentropy(from_logits = true)"), "", 0,
                  "warn.nn:7:8: warning: categorical_crossentropy(from_logits = true) on output 'dense_softmax', "
                  "which is already a probability (softmax); the loss applies a second softmax. Use "
                  "from_logits = false [-Wloss-output]\n"
                  "  loss categorical_crossentropy(from_logits = true)\n"
                  "       ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n");
    expect_output(MLP("w", "  dense(4)\n", "mse(from_logits = true)"), "", 1,
                  "warn.nn:7:12: error: from_logits applies to the cross-entropy losses, not to mse\n"
                  "  loss mse(from_logits = true)\n           ^~~~~~~~~~~\n");
}
END_TEST

START_TEST(grad_activation_layers) {
    /* activations as separate layers, bias off, an explicit linear layer */
    const char *m = MLP("g7", "  dense(6, use_bias = false)\n  tanh\n  dense(5)\n  relu\n  linear\n"
                              "  dense(4)\n  sigmoid\n  dense(3)\n  softmax\n", "sparse_categorical_crossentropy");
    gradcheck("g7", m, "-O0");
    gradcheck("g7", m, "-O2");
}
END_TEST

START_TEST(grad_regularizers) {
    const char *m = MLP("g8", "  dense(6, relu, kernel_regularizer = l2(0.05), bias_regularizer = l1(0.02))\n"
                              "  dense(3, softmax, kernel_regularizer = l1_l2(l1 = 0.01, l2 = 0.03))\n",
                        "sparse_categorical_crossentropy");
    gradcheck("g8", m, "-O2");
}
END_TEST

START_TEST(grad_two_consumers) {
    /* a is read by b's dense and by the add: its gradient is the sum of both */
    const char *m =
        "model res {\n  input x: f32[6]\n  a = dense(x, 8, tanh)\n  b = dense(a, 8, tanh)\n"
        "  c = add(a, b)\n  y = dense(c, 3, softmax)\n  output y\n}\n"
        "train res {\n  loss sparse_categorical_crossentropy\n  optimizer sgd(lr = 0.1)\n  batch 4\n}\n";
    gradcheck("res", m, "-O2");
    gradcheck("res", m, "-O0");
}
END_TEST

/* ---- convolutional ops: every mode ------------------------------------------------ */

#define NET(name, input, layers, loss) \
    "model " name " {\n  input x: f32[" input "]\n" layers "}\n" \
    "train " name " {\n  loss " loss "\n  optimizer adam\n  batch 8\n}\n"

START_TEST(grad_conv2d_modes) {
    /* valid and same padding, strides, dilation, groups, 1x1, fused and separate activations */
    const char *m = NET("c1", "7, 7, 4",
        "  conv2d(6, 3, activation = sigmoid)\n"
        "  conv2d(4, 3, strides = 2, padding = same, groups = 2)\n  tanh\n"
        "  conv2d(4, 1, use_bias = false)\n"
        "  flatten\n  dense(3, softmax)\n", "sparse_categorical_crossentropy");
    gradcheck("c1", m, "-O2");
    gradcheck("c1", m, "-O0");
    gradcheck("c2", NET("c2", "9, 8, 2",
        "  conv2d(3, 3, dilation_rate = 2, padding = same, activation = sigmoid)\n"
        "  conv2d(2, 2, strides = 2)\n  flatten\n  dense(1, sigmoid)\n", "binary_crossentropy"), "-O2");
}
END_TEST

START_TEST(grad_depthwise_conv1d) {
    gradcheck("c3", NET("c3", "6, 6, 3",
        "  depthwise_conv2d(3, padding = same, depth_multiplier = 2, activation = tanh)\n"
        "  depthwise_conv2d(2, strides = 2)\n  flatten\n  dense(3)\n", "mse"), "-O2");
    gradcheck("c4", NET("c4", "11, 3",
        "  conv1d(4, 3, strides = 2, padding = same, activation = tanh)\n"
        "  conv1d(2, 2, dilation_rate = 2)\n  max_pool1d(2)\n  flatten\n  dense(2, softmax)\n",
        "sparse_categorical_crossentropy"), "-O2");
}
END_TEST

START_TEST(grad_relu6) {
    /* relu6 fused into dense and conv epilogues and as a layer; kernels of
     * ones put many pre-activations past 6 (and below 0) */
    const char *m = MLP("g9", "  dense(12, kernel_initializer = ones)\n"
                              "  dense(6, relu6, kernel_initializer = ones)\n  dense(5)\n  relu6\n"
                              "  dense(3, softmax)\n", "sparse_categorical_crossentropy");
    gradcheck("g9", m, "-O2");
    gradcheck("g9", m, "-O0");
    gradcheck("c5", NET("c5", "6, 6, 2",
        "  conv2d(4, 3, activation = relu6, kernel_initializer = ones)\n"
        "  depthwise_conv2d(3, activation = relu6)\n  flatten\n  dense(3, softmax)\n",
        "sparse_categorical_crossentropy"), "-O2");
}
END_TEST

START_TEST(grad_pooling) {
    gradcheck_h("p1", NET("p1", "8, 7, 3",
        "  conv2d(4, 2, activation = tanh)\n  max_pool2d(2, padding = same)\n"
        "  avg_pool2d(3, strides = 1, padding = same)\n  avg_pool2d(2)\n  flatten\n  dense(2, softmax)\n",
        "sparse_categorical_crossentropy"), "-O2", "1e-3");
    gradcheck_h("p2", "model p2 {\n  input x: f32[5, 5, 2]\n  a = conv2d(x, 3, 2, activation = tanh)\n"
        "  b = concat(global_avg_pool(a), global_max_pool(a))\n  y = dense(b, 2, softmax)\n}\n"
        "train p2 {\n  loss categorical_crossentropy\n  batch 4\n}\n", "-O2", "1e-3");
}
END_TEST

START_TEST(grad_batch_norm_residual) {
    /* batch norm in training mode; s feeds both the block and the add.
     * tanh rather than relu: a relu kink under a batch-norm's shared
     * statistics moves every output a little, which no step size isolates */
    const char *m =
        "model bn {\n  input x: f32[6, 6, 2]\n"
        "  s = tanh(batch_norm(conv2d(x, 4, 3, padding = same, use_bias = false)))\n"
        "  a = tanh(batch_norm(conv2d(s, 4, 3, padding = same), momentum = 0.9))\n"
        "  b = batch_norm(conv2d(a, 4, 3, padding = same, use_bias = false), epsilon = 0.01)\n"
        "  r = tanh(add(s, b))\n  y = dense(global_avg_pool(r), 3, softmax)\n  output y\n}\n"
        "train bn {\n  loss sparse_categorical_crossentropy\n  optimizer adam\n  batch 8\n}\n";
    gradcheck("bn", m, "-O2");
    gradcheck("bn", m, "-O0");
}
END_TEST

START_TEST(grad_dropout_multiply_concat_reshape) {
    gradcheck("dr", "model dr {\n  input x: f32[12]\n  a = dense(x, 8, tanh)\n  d = dropout(a, 0.3)\n"
        "  b = dense(x, 8, sigmoid)\n  c = concat(multiply(d, b), a, axis = -1)\n"
        "  r = reshape(c, 4, -1)\n  y = dense(flatten(r), 3, softmax)\n  output y\n}\n"
        "train dr {\n  loss sparse_categorical_crossentropy\n  batch 8\n}\n", "-O2");
}
END_TEST

START_TEST(diag_conv_shapes) {
    expect_error("model m {\n  input x: f32[4, 4, 3]\n  conv2d(8, 5)\n}\n",
                 "bad.nn:3:3: error: conv2d: the 5x5 kernel is larger than the input (n, 4, 4, 3); "
                 "use padding = same or a smaller kernel\n  conv2d(8, 5)\n  ^~~~~~~~~~~~\n");
    expect_error("model m {\n  input x: f32[8, 8, 3]\n  conv2d(8, 3, groups = 2)\n}\n",
                 "bad.nn:3:3: error: conv2d: input channels (3) is not divisible by groups (2)\n"
                 "  conv2d(8, 3, groups = 2)\n  ^~~~~~~~~~~~~~~~~~~~~~~~\n");
    expect_error("model m {\n  input x: f32[28, 28]\n  conv2d(8, 3)\n}\n",
                 "bad.nn:3:3: error: conv2d expects input of shape (n, height, width, channels), got "
                 "(n, 28, 28); images are channels-last, e.g. 'input x: f32[28, 28, 1]'\n"
                 "  conv2d(8, 3)\n  ^~~~~~~~~~~~\n");
    expect_error("model m {\n  input x: f32[3, 3, 1]\n  max_pool2d(4)\n}\n",
                 "bad.nn:3:3: error: max_pool2d: the pool window 4 is larger than the input (n, 3, 3, 1); "
                 "use padding = same or a smaller pool_size\n  max_pool2d(4)\n  ^~~~~~~~~~~~~\n");
    expect_error("model m {\n  input x: f32[10]\n  reshape(3, 4)\n}\n",
                 "bad.nn:3:3: error: cannot reshape (n, 10): it has 10 values per sample, the new shape 12\n"
                 "  reshape(3, 4)\n  ^~~~~~~~~~~~~\n");
}
END_TEST


/* ---- embedding and recurrent layers: back-propagation through time -------------- */

#define SEQ(name, input, layers, loss) \
    "model " name " {\n  input x: f32[" input "]\n" layers "}\n" \
    "train " name " {\n  loss " loss "\n  optimizer adam\n  batch 8\n}\n"

START_TEST(grad_recurrent_cells) {
    /* every cell, last state and whole sequence, over 6 steps; stacked */
    gradcheck("r1", SEQ("r1", "6, 3", "  simple_rnn(4, return_sequences = true)\n"
        "  simple_rnn(3, activation = sigmoid)\n  dense(2, softmax)\n", "sparse_categorical_crossentropy"), "-O2");
    gradcheck("r2", SEQ("r2", "6, 3", "  lstm(4, return_sequences = true)\n  lstm(3)\n  dense(2)\n", "mse"), "-O2");
    gradcheck("r3", SEQ("r3", "7, 2", "  gru(4, return_sequences = true)\n  gru(3, use_bias = false)\n"
        "  dense(1, sigmoid)\n", "binary_crossentropy"), "-O2");
    gradcheck("r3", SEQ("r3", "7, 2", "  gru(4, return_sequences = true)\n  gru(3, use_bias = false)\n"
        "  dense(1, sigmoid)\n", "binary_crossentropy"), "-O0");
}
END_TEST

START_TEST(grad_embedding_states_bidirectional) {
    /* token ids through an embedding; lstm states used as values; a
     * bidirectional gru (both halves); time_distributed dense; s feeds two layers */
    const char *m =
        "model st {\n  input x: i32[6]\n  e = embedding(x, 11, 4)\n"
        "  s, h, c = lstm(e, 3, return_sequences = true, return_state = true)\n"
        "  b = bidirectional(s, gru(3, return_sequences = true))\n"
        "  t = time_distributed(b, dense(2, tanh))\n"
        "  y = dense(concat(flatten(t), h, c, flatten(s)), 3, softmax)\n  output y\n}\n"
        "train st {\n  loss sparse_categorical_crossentropy\n  optimizer adam\n  batch 8\n}\n";
    gradcheck("st", m, "-O2");
    gradcheck("st", m, "-O0");
    gradcheck("bs", SEQ("bs", "5, 3", "  bidirectional(simple_rnn(4), merge_mode = sum)\n"
        "  dense(3)\n", "mae"), "-O2");
    gradcheck("bl", SEQ("bl", "5, 3", "  bidirectional(lstm(3, return_sequences = true), merge_mode = mul)\n"
        "  time_distributed(dense(2))\n", "mse"), "-O2");
}
END_TEST

/* Keras' merging layers beyond add and multiply; maximum/minimum route the
 * gradient to the winning operand (random values: no ties) */
START_TEST(grad_merging_layers) {
    const char *m =
        "model mg {\n  input x: f32[7]\n  a = dense(x, 6, tanh)\n  b = dense(x, 6, tanh)\n"
        "  s = subtract(a, b)\n  p = maximum(a, s)\n  q = minimum(b, s)\n  v = average(p, q)\n"
        "  y = dense(v, 3, softmax)\n  output y\n}\n"
        "train mg {\n  loss sparse_categorical_crossentropy\n  optimizer adam\n  batch 5\n}\n";
    gradcheck("mg", m, "-O2");
    gradcheck("mg", m, "-O0");
    /* Keras' Permute between layers: its gradient is the inverse permute */
    const char *p =
        "model pm {\n  input x: f32[3, 4]\n  dense(5, tanh)\n  permute(2, 1)\n  dense(2, tanh)\n"
        "  flatten\n  dense(3, softmax)\n}\n"
        "train pm {\n  loss sparse_categorical_crossentropy\n  optimizer adam\n  batch 5\n}\n";
    gradcheck("pm", p, "-O2");
    /* Keras' RepeatVector: its gradient sums the copies */
    const char *r =
        "model rv {\n  input x: f32[4]\n  dense(3, tanh)\n  repeat_vector(2)\n  dense(2, tanh)\n"
        "  flatten\n  dense(3, softmax)\n}\n"
        "train rv {\n  loss sparse_categorical_crossentropy\n  optimizer adam\n  batch 5\n}\n";
    gradcheck("rv", r, "-O2");
}
END_TEST

START_TEST(diag_recurrent) {
    expect_error("model m {\n  input x: i32[8]\n  dense(4)\n}\n",
                 "bad.nn:3:3: error: 'dense' takes f32 values, but 'x' holds i32 token ids; "
                 "map them to vectors with embedding(vocab, dim) first\n  dense(4)\n  ^~~~~~~~\n");
    expect_error("model m {\n  input x: f32[8]\n  embedding(10, 4)\n}\n",
                 "bad.nn:3:3: error: embedding takes token ids, an input like 'input x: i32[20]'; got f32 (n, 8)\n"
                 "  embedding(10, 4)\n  ^~~~~~~~~~~~~~~~\n");
    expect_error("model m {\n  input x: f32[8]\n  lstm(4)\n}\n",
                 "bad.nn:3:3: error: lstm expects input of shape (n, steps, features), got (n, 8); "
                 "sequences are 'input x: f32[steps, features]', or come from embedding\n"
                 "  lstm(4)\n  ^~~~~~~\n");
    expect_error("model m {\n  input x: f32[8, 2]\n  bidirectional(dense(4))\n}\n",
                 "bad.nn:3:17: error: bidirectional wraps a recurrent layer (simple_rnn, lstm, gru), not 'dense'\n"
                 "  bidirectional(dense(4))\n                ^~~~~~~~\n");
    expect_error("model m {\n  input x: f32[8, 2]\n  y, h = gru(x, 4)\n}\n",
                 "bad.nn:3:6: error: this layer gives 1 value, not 2; recurrent layers give their "
                 "states with return_state = true\n  y, h = gru(x, 4)\n     ^\n");
    expect_error("model m {\n  input x: f32[8, 2]\n  simple_rnn(4, activation = softmax)\n}\n",
                 "bad.nn:3:3: error: simple_rnn: softmax is not a state activation; use tanh, relu, "
                 "sigmoid or linear\n  simple_rnn(4, activation = softmax)\n  ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n");
}
END_TEST

/* ---- -O0 and -O2 agree; same seed gives the same bits --------------------------- */

static void outputs(const char *name, const char *src, const char *flags, char *out, size_t cap) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s outputs", build_model(name, src, flags, "gcc"));
    ck_assert_int_eq(run(cmd, out, cap), 0);
}

/* the outputs and losses of a model built with `flags_a` and with `flags_b`
 * agree within float tolerance, line for line; returns the number of lines */
static int expect_agrees(const char *name, const char *src, const char *flags_a, const char *flags_b) {
    static char a[65536], b[65536];
    outputs(name, src, flags_a, a, sizeof a);
    outputs(name, src, flags_b, b, sizeof b);
    char *sa, *sb, *pa = strtok_r(a, "\n", &sa), *pb = strtok_r(b, "\n", &sb);
    int lines = 0;
    for (; pa && pb; pa = strtok_r(NULL, "\n", &sa), pb = strtok_r(NULL, "\n", &sb), lines++) {
        double va = atof(strchr(pa, ' ') + 1), vb = atof(strchr(pb, ' ') + 1);
        ck_assert_msg(fabs(va - vb) <= 1e-5 + 1e-4 * fabs(va), "%s: %s vs %s", name, pa, pb);
    }
    ck_assert_ptr_null(pa);
    ck_assert_ptr_null(pb);
    return lines;
}

static int expect_o0_agrees(const char *name, const char *src, const char *flags) {
    return expect_agrees(name, src, "-O0", flags);
}

START_TEST(o0_matches_o2) {
    const char *m = MLP("agree", "  dense(16, relu)\n  dense(8, tanh)\n  dense(4, softmax)\n",
                        "sparse_categorical_crossentropy");
    ck_assert_int_eq(expect_o0_agrees("agree", m, "-O2"), 5 * 4 + 3);
}
END_TEST

/* every example: -O0 (no optional pass) and -O2 give the same predictions
 * and training losses within float tolerance */
START_TEST(o0_matches_o2_examples) {
    static const char *const examples[] = {
        "binary_classifier", "char_gru", "cnn_32x32", "fashion_cnn_small", "fashion_mlp",
        "fashion_mlp_small", "fashion_resnet", "linear_regression", "logistic_regression",
        "lstm_sine", "text_lstm" };
    for (unsigned i = 0; i < sizeof examples / sizeof examples[0]; i++) {
        char path[256];
        long len;
        snprintf(path, sizeof path, "examples/%s/%s.nn", examples[i], examples[i]);
        char *src = file_read(path, &len);
        ck_assert_msg(src != NULL, "cannot read %s", path);
        ck_assert_int_gt(expect_o0_agrees(examples[i], src, "-O2"), 3);
        free(src);
    }
}
END_TEST

/* ---- several inputs and outputs travel packed side by side in each row ------------ */

static void expect_same_outputs(const char *a_name, const char *a, const char *b_name, const char *b) {
    static char oa[65536], ob[65536];
    outputs(a_name, a, "-O2", oa, sizeof oa);
    outputs(b_name, b, "-O2", ob, sizeof ob);
    ck_assert_msg(strstr(oa, "out ") != NULL, "%s", oa);
    ck_assert_str_eq(oa, ob);
}

START_TEST(several_inputs) {
    /* [a | b] through concat is the same computation as one input x: the
     * same parameters in the same order give the same bits, trained too */
    expect_same_outputs(
        "two_in", "model two_in {\n  input a: f32[3]\n  input b: f32[2]\n  c = concat(a, b)\n"
                  "  y = dense(c, 4, softmax)\n}\ntrain two_in {\n  loss sparse_categorical_crossentropy\n}\n",
        "one_in", "model one_in {\n  input x: f32[5]\n  y = dense(x, 4, softmax)\n}\n"
                  "train one_in {\n  loss sparse_categorical_crossentropy\n}\n");
}
END_TEST

START_TEST(several_outputs) {
    expect_same_outputs(
        "two_out", "model two_out {\n  input x: f32[5]\n  h = dense(x, 4, tanh)\n  p = dense(h, 2)\n"
                   "  q = dense(h, 3, sigmoid)\n  output p, q\n}\n",
        "one_out", "model one_out {\n  input x: f32[5]\n  h = dense(x, 4, tanh)\n  p = dense(h, 2)\n"
                   "  q = dense(h, 3, sigmoid)\n  y = concat(p, q)\n  output y\n}\n");
    /* several outputs train (tests/multi_output_torch.py); a loss per output or one for all */
    expect_error("model m {\n  input x: f32[4]\n  a = dense(x, 2)\n  b = dense(x, 3)\n  output a, b\n}\n"
                 "train m {\n  loss mse, mae, mse\n}\n",
                 "bad.nn:8:3: error: loss lists 3 losses, but model 'm' has 2 outputs; give one per output, "
                 "in output order, or one for all\n  loss mse, mae, mse\n  ^~~~~~~~~~~~~~~~~~\n");
}
END_TEST

START_TEST(deterministic) {
    const char *m = MLP("det", "  dense(9, relu)\n  dense(3, softmax)\n", "sparse_categorical_crossentropy");
    static char a[65536], b[65536];
    outputs("det", m, "-O2", a, sizeof a);
    outputs("det", m, "-O2", b, sizeof b);
    ck_assert_str_eq(a, b);
}
END_TEST

START_TEST(save_load) {
    const char *m = MLP("sl", "  dense(9, relu)\n  dense(3, softmax)\n", "sparse_categorical_crossentropy");
    char cmd[512], out[4096];
    snprintf(cmd, sizeof cmd, "%s saveload", build_model("sl", m, "", "gcc"));
    ck_assert_int_eq(run(cmd, out, sizeof out), 0);
    ck_assert_int_eq((long)field(out, "saved"), 20 + 4 * (6 * 9 + 9 + 9 * 3 + 3));
    ck_assert_int_eq((long)field(out, "small_cap"), 0);
    ck_assert_int_eq((long)field(out, "load"), 0);
    ck_assert_int_eq((long)field(out, "same"), 1);
    ck_assert_int_eq((long)field(out, "corrupt"), -4);
    ck_assert_int_eq((long)field(out, "foreign"), -5);
    ck_assert_int_eq((long)field(out, "truncated"), -4);
    ck_assert_int_eq((long)field(out, "garbage"), -4);
}
END_TEST

START_TEST(strict_clang) {
    /* the contract: -std=c99 -Wall -Wextra -Wpedantic -Werror on gcc and clang */
    const char *m = MLP("cl", "  dense(9, relu, kernel_regularizer = l2(0.01))\n  dense(1, sigmoid)\n",
                        "binary_crossentropy");
    char cmd[512], out[4096];
    if (system("command -v clang >/dev/null 2>&1") != 0) {
        fprintf(stderr, "strict_clang: clang not installed, compiled with gcc only\n");
        build_model("cl", m, "", "gcc");
        return;
    }
    snprintf(cmd, sizeof cmd, "%s saveload", build_model("cl", m, "", "clang"));
    ck_assert_int_eq(run(cmd, out, sizeof out), 0);
    ck_assert_int_eq((long)field(out, "load"), 0);
}
END_TEST

/* ---- semantic diagnostics: exact text, exit status, no output left --------------- */

static void expect_error(const char *src, const char *expected) {
    char path[256], cmd[1024], out[8192], c[256], h[256];
    snprintf(path, sizeof path, "%s/bad.nn", dir);
    snprintf(c, sizeof c, "%s/bad.c", dir);
    snprintf(h, sizeof h, "%s/bad.h", dir);
    write_text(path, src);
    snprintf(cmd, sizeof cmd, "cd %s && %s bad.nn -o bad.c", dir, nnc);
    ck_assert_int_eq(run(cmd, out, sizeof out), 1);
    ck_assert_str_eq(out, expected);
    ck_assert_int_ne(access(c, F_OK), 0);
    ck_assert_int_ne(access(h, F_OK), 0);
}

START_TEST(diag_unknown_layer) {
    expect_error("model m {\n  input x: f32[4]\n  dense2(128, relu)\n}\n",
                 "bad.nn:3:3: error: unknown layer 'dense2'; did you mean 'dense'?\n"
                 "  dense2(128, relu)\n  ^~~~~~\n");
}
END_TEST

START_TEST(diag_shape_at_layer) {
    expect_error("model m {\n  input x: f32[784]\n  conv2d(8, 3)\n}\n",
                 "bad.nn:3:3: error: conv2d expects input of shape (n, height, width, channels), got (n, 784); "
                 "images are channels-last, e.g. 'input x: f32[28, 28, 1]'\n  conv2d(8, 3)\n  ^~~~~~~~~~~~\n");
}
END_TEST

START_TEST(diag_several) {
    expect_error("model m {\n  input x: f32[4]\n  dense(8, rleu)\n  dense(4, units = 3)\n"
                 "  dense(2, softmax, kernel_initializer = glorot)\n}\n"
                 "train m {\n  loss sparse_categorical_crossentopy\n  optimizer adam(lr = 0.01, beta1 = 0.8)\n"
                 "  metrics accuracy, acuracy\n  batches 10\n}\n",
                 "bad.nn:3:12: error: unknown activation 'rleu'; did you mean 'relu'?\n"
                 "  dense(8, rleu)\n           ^~~~\n"
                 "bad.nn:4:12: error: 'units' is given twice\n"
                 "  dense(4, units = 3)\n           ^~~~~\n"
                 "bad.nn:5:42: error: unknown initializer 'glorot'; valid: glorot_normal, glorot_uniform, "
                 "zeros, ones, uniform, he_normal, orthogonal, he_uniform\n"
                 "  dense(2, softmax, kernel_initializer = glorot)\n"
                 "                                         ^~~~~~\n"
                 /* the train block's errors in the same run */
                 "bad.nn:8:8: error: unknown loss 'sparse_categorical_crossentopy'; "
                 "did you mean 'sparse_categorical_crossentropy'?\n"
                 "  loss sparse_categorical_crossentopy\n       ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n"
                 "bad.nn:9:29: error: adam has no setting 'beta1'; did you mean 'beta_1'?\n"
                 "  optimizer adam(lr = 0.01, beta1 = 0.8)\n                            ^~~~~\n"
                 "bad.nn:10:21: error: unknown metric 'acuracy'; did you mean 'accuracy'?\n"
                 "  metrics accuracy, acuracy\n                    ^~~~~~~\n"
                 "bad.nn:11:3: error: unknown train setting 'batches'; did you mean 'batch'?\n"
                 "  batches 10\n  ^~~~~~~\n");
}
END_TEST

START_TEST(diag_train_block) {
    expect_error("model m {\n  input x: f32[4]\n  dense(2, softmax)\n}\n"
                 "train m {\n  loss sparse_categorical_crossentopy\n  optimizer adam(lr = 0.01, beta1 = 0.8)\n"
                 "  metrics accuracy, acuracy\n  batches 10\n}\n",
                 "bad.nn:6:8: error: unknown loss 'sparse_categorical_crossentopy'; "
                 "did you mean 'sparse_categorical_crossentropy'?\n"
                 "  loss sparse_categorical_crossentopy\n       ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n"
                 "bad.nn:7:29: error: adam has no setting 'beta1'; did you mean 'beta_1'?\n"
                 "  optimizer adam(lr = 0.01, beta1 = 0.8)\n                            ^~~~~\n"
                 "bad.nn:8:21: error: unknown metric 'acuracy'; did you mean 'accuracy'?\n"
                 "  metrics accuracy, acuracy\n                    ^~~~~~~\n"
                 "bad.nn:9:3: error: unknown train setting 'batches'; did you mean 'batch'?\n"
                 "  batches 10\n  ^~~~~~~\n");
}
END_TEST

START_TEST(diag_loss_shape_and_train_name) {
    expect_error("model m {\n  input x: f32[4]\n  dense(1, sigmoid)\n}\n"
                 "train m {\n  loss sparse_categorical_crossentropy\n}\n",
                 "bad.nn:6:8: error: sparse_categorical_crossentropy needs a model output with at least "
                 "2 classes, but the output has 1\n"
                 "  loss sparse_categorical_crossentropy\n       ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n");
    expect_error("model mlp {\n  input x: f32[4]\n  dense(2)\n}\ntrain mpl {\n  loss mse\n}\n",
                 "bad.nn:5:7: error: train block for unknown model 'mpl'; did you mean 'mlp'?\n"
                 "train mpl {\n      ^~~\n");
}
END_TEST

START_TEST(diag_no_cascade_and_limits) {
    /* the bad input poisons what follows it: no "has no input" errors, but
     * the later line's own mistake is still reported */
    expect_error("model m {\n  input x: f32[100000, 100000]\n  flatten\n  dense(10, relux)\n}\n",
                 "bad.nn:2:12: error: input 'x' has 10000000000 values per sample; the limit is 8388608\n"
                 "  input x: f32[100000, 100000]\n           ^~~~~~~~~~~~~~~~~~~\n"
                 "bad.nn:4:13: error: unknown activation 'relux'; did you mean 'relu'?\n"
                 "  dense(10, relux)\n            ^~~~~\n");
    expect_error("model m {\n  input x: f32[1000, 1000]\n  flatten\n  dense(1000)\n}\n",
                 "bad.nn:4:3: error: 'dense.kernel' with shape (1000000, 1000) is too large: "
                 "more than 268435456 floats (1 GiB)\n  dense(1000)\n  ^~~~~~~~~~~\n");
    expect_error("model m {\n  input x: f32[4]\n  dense(2)\n}\nmodel m {\n  input x: f32[3]\n  dense(1)\n}\n",
                 "bad.nn:5:7: error: model 'm' is defined twice\nmodel m {\n      ^\n"
                 "bad.nn:1:7: note: the first is here\nmodel m {\n      ^\n");
}
END_TEST

START_TEST(usage_errors) {
    char out[4096], cmd[1024];
    static const struct { const char *args; int status; } cases[] = {
        { "", 2 }, { "--frobnicate x.nn -o x.c", 2 },
        { "examples/fashion_mlp/fashion_mlp.nn -o x.txt", 2 }, { "/nonexistent/m.nn -o /tmp/x.c", 1 },
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(cmd, sizeof cmd, "%s %s", nnc, cases[i].args);
        ck_assert_int_eq(run(cmd, out, sizeof out), cases[i].status);
    }
    ck_assert_msg(strstr(out, "cannot read /nonexistent/m.nn") != NULL, "%s", out);
}
END_TEST

/* ---- device builds: frozen layers, baked weights, inference only ------------------- */

static long header_define(const char *name, const char *key) {
    char path[256], line[512];
    snprintf(path, sizeof path, "%s/%s.h", dir, name);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    long v = -1;
    size_t len = strlen(key);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "#define ", 8) && !strncmp(line + 8, key, len) && line[8 + len] == ' ')
            v = atol(line + 8 + len);
    fclose(f);
    return v;
}

START_TEST(frozen_layers) {
    /* only the last layer trains: its gradients check, and only it has any */
    const char *m = MLP("fz", "  dense(7, tanh, trainable = false)\n  dense(5, tanh)\n  dense(3, softmax)\n",
                        "sparse_categorical_crossentropy");
    gradcheck("fz", m, "--freeze dense_1");
    ck_assert_int_eq(header_define("fz", "FZ_TRAINABLE_COUNT"), 5 * 3 + 3);
    ck_assert_int_eq(header_define("fz", "FZ_PARAM_COUNT"), 6 * 7 + 7 + 7 * 5 + 5 + 5 * 3 + 3);
}
END_TEST

START_TEST(baked_weights) {
    /* a training build's saved parameters, baked: predict gives the same bits */
    const char *m = MLP("bk", "  dense(6, relu)\n  dense(4, softmax)\n", "sparse_categorical_crossentropy");
    static char ref[65536], got[65536];
    char cmd[1024], out[4096], weights[300];
    snprintf(weights, sizeof weights, "%s/bk.bin", dir);
    snprintf(cmd, sizeof cmd, "%s save %s", build_model("bk", m, "-O2", "gcc"), weights);
    must_succeed(cmd, out, sizeof out);
    outputs("bk", m, "-O2", ref, sizeof ref);
    char flags[400];
    snprintf(flags, sizeof flags, "--inference --weights %s --batch 16", weights);
    outputs("bk", m, flags, got, sizeof got);
    ck_assert_int_eq(header_define("bk", "BK_HAS_TRAINING"), 0);
    ck_assert_int_eq(header_define("bk", "BK_CONST_COUNT"), 6 * 6 + 6 + 6 * 4 + 4);
    ck_assert_int_eq(header_define("bk", "BK_BATCH"), 16);
    /* the reference's lines after the outputs are its training losses */
    char *loss = strstr(ref, "loss ");
    ck_assert_ptr_nonnull(loss);
    *loss = 0;
    ck_assert_str_eq(got, ref);
    /* fine-tuning build: the frozen layer is a constant, the last starts from the file */
    snprintf(flags, sizeof flags, "--weights %s --freeze dense", weights);
    outputs("bk", m, flags, got, sizeof got);
    ck_assert_int_eq(header_define("bk", "BK_CONST_COUNT"), 6 * 6 + 6);
    ck_assert_int_eq(header_define("bk", "BK_TRAINABLE_COUNT"), 6 * 4 + 4);
    got[strlen(ref)] = 0;
    ck_assert_str_eq(got, ref);
}
END_TEST

START_TEST(baked_batch_norm_folds) {
    /* a trained model's batch norms (moving statistics away from 0 and 1)
     * fold into the conv, depthwise conv and dense before them at -O2: the
     * predictions agree with -O0's, and gamma, beta and the statistics are
     * gone from flash, the conv (no bias of its own) gaining one */
    const char *m =
        "model fb {\n  input x: f32[6, 6, 2]\n"
        "  c = relu(batch_norm(conv2d(x, 4, 3, padding = same, use_bias = false), momentum = 0.5))\n"
        "  e = batch_norm(depthwise_conv2d(c, 3), momentum = 0.5)\n"
        "  d = batch_norm(dense(flatten(e), 8), momentum = 0.5)\n"
        "  y = dense(relu(d), 3, softmax)\n  output y\n}\n"
        "train fb {\n  loss sparse_categorical_crossentropy\n  optimizer adam(lr = 0.05)\n  batch 5\n}\n";
    char cmd[1024], out[4096], weights[300], o0[400], o2[400];
    snprintf(weights, sizeof weights, "%s/fb.bin", dir);
    snprintf(cmd, sizeof cmd, "%s save %s 20", build_model("fb", m, "-O2", "gcc"), weights);
    must_succeed(cmd, out, sizeof out);
    snprintf(o0, sizeof o0, "-O0 --inference --weights %s", weights);
    snprintf(o2, sizeof o2, "-O2 --inference --weights %s", weights);
    ck_assert_int_eq(expect_agrees("fb", m, o2, o0), 5 * 3);
    long unfolded = header_define("fb", "FB_CONST_COUNT");
    outputs("fb", m, o2, out, sizeof out);
    ck_assert_int_eq(unfolded - header_define("fb", "FB_CONST_COUNT"), 4 * (4 + 4 + 8) - 4);
}
END_TEST

START_TEST(diag_deploy_options) {
    const char *m = MLP("dp", "  dense(6, relu)\n  dense(4, softmax)\n", "sparse_categorical_crossentropy");
    const char *other = MLP("dp", "  dense(5, relu)\n  dense(4, softmax)\n", "sparse_categorical_crossentropy");
    char cmd[2048], out[4096], weights[300], path[300];
    snprintf(weights, sizeof weights, "%s/other.bin", dir);
    snprintf(cmd, sizeof cmd, "%s save %s", build_model("dp", other, "-O2", "gcc"), weights);
    must_succeed(cmd, out, sizeof out);
    snprintf(path, sizeof path, "%s/dp.nn", dir);
    write_text(path, m);
    snprintf(cmd, sizeof cmd, "rm -f %s/dp2.c && %s %s --inference --weights %s -o %s/dp2.c", dir, nnc, path,
             weights, dir);
    ck_assert_int_eq(run(cmd, out, sizeof out), 1);
    ck_assert_msg(strstr(out, "holds the parameters of another model") != NULL, "%s", out);
    snprintf(cmd, sizeof cmd, "test ! -e %s/dp2.c", dir);
    ck_assert_int_eq(run(cmd, out, sizeof out), 0);
    snprintf(cmd, sizeof cmd, "%s %s --weights %s -o %s/dp2.c", nnc, path, path, dir);
    ck_assert_int_eq(run(cmd, out, sizeof out), 1);
    ck_assert_msg(strstr(out, "is not a parameter buffer written by a model's save(), or it is damaged") != NULL,
                  "%s", out);
    snprintf(cmd, sizeof cmd, "%s %s --freeze dens -o %s/dp2.c", nnc, path, dir);
    ck_assert_int_eq(run(cmd, out, sizeof out), 1);
    ck_assert_msg(strstr(out, "--freeze: model 'dp' has no layer 'dens' with parameters; did you mean 'dense'?")
                  != NULL, "%s", out);
    snprintf(cmd, sizeof cmd, "%s %s --batch 0 -o %s/dp2.c", nnc, path, dir);
    ck_assert_int_eq(run(cmd, out, sizeof out), 2);
    expect_error("model m {\n  input x: f32[4]\n  relu(trainable = false)\n}\n",
                 "bad.nn:3:8: error: 'relu' takes no arguments\n  relu(trainable = false)\n       ^~~~~~~~~\n");
}
END_TEST

START_TEST(summary_table) {
    char out[8192];
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s --summary examples/fashion_mlp/fashion_mlp.nn", nnc);
    ck_assert_int_eq(run(cmd, out, sizeof out), 0);
    ck_assert_msg(strstr(out, "Total params: 235146") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "dense (dense, relu)") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "(n, 256)") != NULL, "%s", out);
    /* 2*(784*256 + 256*128 + 128*10) multiply-adds plus biases and activations */
    ck_assert_msg(strstr(out, "FLOPs per sample (forward): ") != NULL, "%s", out);
    long flops = atol(strstr(out, "FLOPs per sample (forward): ") + 28);
    ck_assert_int_ge(flops, 2L * (784 * 256 + 256 * 128 + 128 * 10));
    ck_assert_int_le(flops, 2L * (784 * 256 + 256 * 128 + 128 * 10) + 2000);
    ck_assert_msg(strstr(out, "Device RAM: ") != NULL && strstr(out, "Device flash: about ") != NULL, "%s", out);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("models");
    TCase *g = tcase_create("gradcheck");
    tcase_set_timeout(g, 120);
    tcase_add_test(g, grad_sparse_cce_relu);
    tcase_add_test(g, grad_bce_tanh_sigmoid);
    tcase_add_test(g, grad_mse_mae);
    tcase_add_test(g, grad_cce_unfused);
    tcase_add_test(g, grad_from_logits);
    tcase_add_test(g, grad_activation_layers);
    tcase_add_test(g, grad_relu6);
    tcase_add_test(g, grad_regularizers);
    tcase_add_test(g, grad_two_consumers);
    tcase_add_test(g, grad_conv2d_modes);
    tcase_add_test(g, grad_depthwise_conv1d);
    tcase_add_test(g, grad_pooling);
    tcase_add_test(g, grad_batch_norm_residual);
    tcase_add_test(g, grad_dropout_multiply_concat_reshape);
    tcase_add_test(g, grad_recurrent_cells);
    tcase_add_test(g, grad_embedding_states_bidirectional);
    tcase_add_test(g, grad_merging_layers);
    suite_add_tcase(s, g);
    TCase *c = tcase_create("codegen");
    tcase_set_timeout(c, 300);
    tcase_add_test(c, o0_matches_o2);
    tcase_add_test(c, o0_matches_o2_examples);
    tcase_add_test(c, deterministic);
    tcase_add_test(c, several_inputs);
    tcase_add_test(c, several_outputs);
    tcase_add_test(c, save_load);
    tcase_add_test(c, strict_clang);
    tcase_add_test(c, summary_table);
    tcase_add_test(c, frozen_layers);
    tcase_add_test(c, baked_weights);
    tcase_add_test(c, baked_batch_norm_folds);
    suite_add_tcase(s, c);
    TCase *d = tcase_create("diagnostics");
    tcase_add_test(d, diag_unknown_layer);
    tcase_add_test(d, diag_shape_at_layer);
    tcase_add_test(d, diag_several);
    tcase_add_test(d, diag_train_block);
    tcase_add_test(d, diag_loss_shape_and_train_name);
    tcase_add_test(d, diag_no_cascade_and_limits);
    tcase_add_test(d, diag_conv_shapes);
    tcase_add_test(d, diag_recurrent);
    tcase_add_test(d, diag_deploy_options);
    tcase_add_test(d, usage_errors);
    tcase_add_test(d, warn_loss_output);
    suite_add_tcase(s, d);
    return s;
}

int main(void) {
    if (model_build_init("tmp-models")) return 1;
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    if (model_build_done()) return 1;
    return failed ? 1 : 0;
}
