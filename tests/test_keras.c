/* test_keras.c — a Keras model translated line by line: Keras' spellings
 * compile to exactly the code of nnc's own (the generated .c and .h are
 * compared byte for byte), a misspelt value is one error, not a cascade,
 * names get did-you-mean, the warnings for what no output uses and for a
 * regression loss on a softmax, all of a file's errors in one run, and the
 * header's per-input and per-output macros. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model_build.h"

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot read %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq((long)fread(s, 1, (size_t)n, f), n);
    s[n] = 0;
    fclose(f);
    return s;
}

/* nnc on src as SUB/m.nn (flags after nnc): its exit status, and in out
 * everything it printed */
static int compile_in(const char *sub, const char *src, const char *flags, char *out, size_t cap) {
    char path[256], cmd[1024];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/m.nn", dir, sub);
    write_text(path, src);
    snprintf(cmd, sizeof cmd, "cd %s/%s && rm -f m.c m.h && %s %s m.nn -o m.c", dir, sub, nnc, flags);
    return run(cmd, out, cap);
}

/* out without its notes (each a line, the source line and the caret line):
 * a CamelCase class gets a note naming nnc's spelling (tests/test_keras_notes.c) */
static void strip_notes(char *out) {
    char *w = out;
    for (char *r = out; *r;) {
        char *end = strchr(r, '\n');
        size_t len = end ? (size_t)(end - r + 1) : strlen(r);
        char *colon = strstr(r, ": note: ");
        if (colon && colon < r + len) {     /* skip it and its two display lines */
            for (int k = 0; k < 3 && *r; k++) {
                char *e = strchr(r, '\n');
                r = e ? e + 1 : r + strlen(r);
            }
            continue;
        }
        memmove(w, r, len);
        w += len;
        r += len;
    }
    *w = 0;
}

/* the Keras spelling compiles, quietly but for its notes, to the very code of the canonical one */
static void same_code(const char *keras, const char *canonical) {
    char out[8192];
    ck_assert_msg(compile_in("k", keras, "", out, sizeof out) == 0, "keras spelling failed:\n%s\n%s", keras, out);
    strip_notes(out);
    ck_assert_msg(out[0] == 0, "keras spelling printed:\n%s", out);
    ck_assert_msg(compile_in("c", canonical, "", out, sizeof out) == 0, "canonical failed:\n%s", out);
    ck_assert_msg(out[0] == 0, "canonical printed:\n%s", out);
    static const char *const files[] = { "m.c", "m.h" };
    for (int i = 0; i < 2; i++) {
        char a[256], b[256];
        snprintf(a, sizeof a, "%s/k/%s", dir, files[i]);
        snprintf(b, sizeof b, "%s/c/%s", dir, files[i]);
        char *x = slurp(a), *y = slurp(b);
        ck_assert_msg(!strcmp(x, y), "%s differs for\n%s\nand\n%s", files[i], keras, canonical);
        free(x);
        free(y);
    }
}

/* nnc FLAGS on src: exit status and the exact text printed */
static void expect(const char *src, const char *flags, int status, const char *expected) {
    char out[8192];
    ck_assert_int_eq(compile_in("d", src, flags, out, sizeof out), status);
    ck_assert_str_eq(out, expected);
}

/* the text printed starts with `prefix` (a list that grows as layers are added) */
static void expect_prefix(const char *src, const char *prefix) {
    char out[8192];
    ck_assert_int_eq(compile_in("d", src, "", out, sizeof out), 1);
    ck_assert_msg(!strncmp(out, prefix, strlen(prefix)), "got:\n%s\nwanted it to start with:\n%s", out, prefix);
}

/* ---- spellings ------------------------------------------------------------------ */

START_TEST(quoted_names_bools_and_train_recipe) {
    same_code("model m {\n  input x: f32[8]\n"
              "  Dense(16, activation = 'relu', use_bias = False, kernel_initializer = HeNormal())\n"
              "  Dense(4, activation = \"softmax\", kernel_regularizer = None)\n}\n"
              "train m {\n  loss = 'sparse_categorical_crossentropy'\n  optimizer = Adam(learning_rate = 1e-3)\n"
              "  metrics = ['acc']\n  batch_size = 16\n  epochs = 3\n}\n",
              "model m {\n  input x: f32[8]\n"
              "  dense(16, relu, use_bias = false, kernel_initializer = he_normal)\n"
              "  dense(4, softmax)\n}\n"
              "train m {\n  loss sparse_categorical_crossentropy\n  optimizer adam(lr = 0.001)\n"
              "  metrics accuracy\n  batch 16\n  epochs 3\n}\n");
}
END_TEST

START_TEST(conv_layer_aliases) {
    same_code("model m {\n  input x: f32[8, 8, 3]\n  Conv2D(4, 3, padding = 'same')\n  batch_normalization()\n"
              "  activation('relu')\n  MaxPooling2D(pool_size = 2)\n  average_pooling2d(2)\n"
              "  GlobalAveragePooling2D()\n  Dense(3)\n  Activation(activation = 'softmax')\n}\n",
              "model m {\n  input x: f32[8, 8, 3]\n  conv2d(4, 3, padding = same)\n  batch_norm\n"
              "  relu\n  max_pool2d(2)\n  avg_pool2d(2)\n  global_average_pooling2d\n  dense(3)\n  softmax\n}\n");
    same_code("model m {\n  input x: f32[12, 3]\n  Conv1D(4, 3, activation = 'tanh')\n  max_pooling1d(2)\n"
              "  AveragePooling1D(2)\n  global_max_pooling1d\n  Flatten()\n  Dense(2, activation = None)\n}\n",
              "model m {\n  input x: f32[12, 3]\n  conv1d(4, 3, activation = tanh)\n  max_pool1d(2)\n"
              "  avg_pool1d(2)\n  global_max_pooling1d\n  flatten\n  dense(2)\n}\n");
}
END_TEST

START_TEST(graph_and_recurrent_aliases) {
    same_code("model m {\n  input t: i32[6]\n  e = Embedding(t, input_dim = 20, output_dim = 8)\n"
              "  a = LSTM(e, 5, return_sequences = True)\n  b = GRU(e, 5, return_sequences = True)\n"
              "  c = Concatenate(a, b)\n  d = Add(a, b)\n  f = Multiply(c, concatenate(d, d))\n"
              "  g = TimeDistributed(f, Dense(3))\n  h = Bidirectional(g, SimpleRNN(4))\n"
              "  y = Dense(Dropout(h, rate = 0.5), 2, activation = 'sigmoid')\n}\n"
              "train m {\n  loss BinaryCrossentropy()\n  optimizer RMSprop(learning_rate = 0.01, rho = 0.8)\n}\n",
              "model m {\n  input t: i32[6]\n  e = embedding(t, 20, 8)\n"
              "  a = lstm(e, 5, return_sequences = true)\n  b = gru(e, 5, return_sequences = true)\n"
              "  c = concat(a, b)\n  d = add(a, b)\n  f = multiply(c, concat(d, d))\n"
              "  g = time_distributed(f, dense(3))\n  h = bidirectional(g, simple_rnn(4))\n"
              "  y = dense(dropout(h, 0.5), 2, sigmoid)\n}\n"
              "train m {\n  loss binary_crossentropy\n  optimizer rmsprop(lr = 0.01, rho = 0.8)\n}\n");
}
END_TEST

START_TEST(functional_calls_and_module_paths) {
    same_code("model m {\n  input x: f32[8]\n  input s: f32[4]\n"
              "  h = layers.Dense(16, activation = keras.activations.relu)(x)\n"
              "  g = keras.layers.Dense(16, activation = 'relu')(s)\n"
              "  c = concatenate([h, g])\n  d = layers.Concatenate(axis = -1)([h, g])\n"
              "  e = Add()([c, d])\n  f = add([c, d])\n"
              "  y = tf.keras.layers.Dense(3, activation = 'softmax')(Dropout(0.2)(e))\n"
              "  z = Flatten()(f)\n  output y, z\n}\n",
              "model m {\n  input x: f32[8]\n  input s: f32[4]\n"
              "  h = dense(x, 16, relu)\n  g = dense(s, 16, relu)\n"
              "  c = concat(h, g)\n  d = concat(h, g, axis = -1)\n  e = add(c, d)\n  f = add(c, d)\n"
              "  y = dense(dropout(e, 0.2), 3, softmax)\n  z = flatten(f)\n  output y, z\n}\n");
    same_code("model m {\n  input x: f32[6, 3]\n  Bidirectional(LSTM(4, return_sequences = True))(x)\n"
              "  TimeDistributed(Dense(2))\n  Flatten()\n}\n"
              "train m {\n  loss keras.losses.MeanSquaredError()\n"
              "  optimizer keras.optimizers.SGD(learning_rate = 0.05)\n}\n",
              "model m {\n  input x: f32[6, 3]\n  bidirectional(x, lstm(4, return_sequences = true))\n"
              "  time_distributed(dense(2))\n  flatten\n}\n"
              "train m {\n  loss mse\n  optimizer sgd(lr = 0.05)\n}\n");
    expect("model m {\n  input x: f32[8]\n  np.Dense(3)\n}\n", "", 1,
           "m.nn:3:3: error: unknown module 'np'; a dotted name is one of Keras' (keras.layers.Dense, "
           "keras.optimizers.Adam), read as its last part\n"
           "  np.Dense(3)\n  ^~~~~~~~\n");
}
END_TEST

/* concat's axis counts as Keras' does, the batch being axis 0: Concatenate(axis = 1) on
 * (n, steps, features) joins the steps (it joined the features, silently, before) */
START_TEST(concat_axis_as_keras_counts) {
    same_code("model m {\n  input x: f32[6, 3]\n  c = concat(x, x, axis = 1)\n  flatten(c)\n}\n",
              "model m {\n  input x: f32[6, 3]\n  c = concat(x, x, axis = -2)\n  flatten(c)\n}\n");
    same_code("model m {\n  input x: f32[6, 3]\n  c = Concatenate(axis = 2)([x, x])\n  flatten(c)\n}\n",
              "model m {\n  input x: f32[6, 3]\n  c = concat(x, x)\n  flatten(c)\n}\n");
    expect("model m {\n  input x: f32[6, 3]\n  c = concat(x, x, axis = 0)\n  flatten(c)\n}\n", "", 1,
           "m.nn:3:27: error: axis 0 is the batch (axes count as in Keras: a sample's are 1, 2, ..., or -1 for "
           "the last)\n"
           "  c = concat(x, x, axis = 0)\n                          ^\n");
    expect("model m {\n  input x: f32[6, 3]\n  c = concat(x, x, axis = 3)\n  flatten(c)\n}\n", "", 1,
           "m.nn:3:7: error: concat axis 3 is out of range for operands of rank 3 (with the batch, axes 1..2)\n"
           "  c = concat(x, x, axis = 3)\n      ^~~~~~~~~~~~~~~~~~~~~~\n");
}
END_TEST

/* Keras' Dense on (n, steps, features) maps the last axis of every step, as
 * time_distributed(dense) does; a cross-entropy on such an output (Keras: per
 * step) is refused, not computed over the whole sample */
START_TEST(dense_on_steps_and_per_step_loss) {
    same_code("model m {\n  input x: f32[6, 3]\n  Dense(4)\n  flatten\n}\n",
              "model m {\n  input x: f32[6, 3]\n  time_distributed(dense(4))\n  flatten\n}\n");
    expect("model m {\n  input x: f32[28, 28]\n  dense(10, softmax)\n}\n"
           "train m {\n  loss sparse_categorical_crossentropy\n  optimizer adam\n}\n", "", 3,
           "m.nn:6:8: error: sparse_categorical_crossentropy on output 'dense_softmax' of shape (n, 28, 10): "
           "a cross-entropy per step (over the last axis, as Keras computes it) is not supported yet; flatten or "
           "pool the steps before the classifier\n"
           "  loss sparse_categorical_crossentropy\n       ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n");
}
END_TEST

#define REG(loss, opt, metrics) \
    "model m {\n  input x: f32[4]\n  dense(8, relu)\n  dense(3)\n}\n" \
    "train m {\n  loss " loss "\n  optimizer " opt "\n  metrics " metrics "\n}\n"

START_TEST(loss_optimizer_metric_aliases) {
    same_code(REG("mean_squared_error", "SGD(learning_rate = 0.1, momentum = 0.9)", "mean_absolute_error"),
              REG("mse", "sgd(lr = 0.1, momentum = 0.9)", "mae"));
    same_code(REG("MeanSquaredError()", "AdamW(weight_decay = 0.01)", "MeanSquaredError()"),
              REG("mse", "adamw(weight_decay = 0.01)", "mse"));
    same_code(REG("MeanAbsoluteError()", "'adam'", "'mae'"), REG("mae", "adam", "mae"));
    same_code(REG("SparseCategoricalCrossentropy(from_logits = True)", "Adam", "acc"),
              REG("sparse_categorical_crossentropy(from_logits = true)", "adam", "accuracy"));
    same_code(REG("CategoricalCrossentropy(from_logits = True)", "RMSprop()", "categorical_accuracy"),
              REG("categorical_crossentropy(from_logits = true)", "rmsprop", "accuracy"));
    same_code(REG("SparseCategoricalCrossentropy(from_logits = True)", "Adam", "SparseCategoricalAccuracy()"),
              REG("sparse_categorical_crossentropy(from_logits = true)", "adam", "accuracy"));
    /* Keras' accuracy for another loss is refused, not read as accuracy */
    expect(REG("mse", "adam", "binary_accuracy"), "", 1,
           "m.nn:9:11: error: binary_accuracy is Keras' accuracy for binary_crossentropy, but the loss is mse; "
           "write accuracy (nnc's accuracy follows the loss, as Keras' 'accuracy' does)\n"
           "  metrics binary_accuracy\n          ^~~~~~~~~~~~~~~\n");
    /* regularizer classes */
    same_code("model m {\n  input x: f32[4]\n  Dense(3, kernel_regularizer = regularizers.L2(0.01), "
              "bias_regularizer = L1L2(l1 = 0.1))\n}\ntrain m {\n  loss mse\n}\n",
              "model m {\n  input x: f32[4]\n  dense(3, kernel_regularizer = l2(0.01), "
              "bias_regularizer = l1_l2(l1 = 0.1))\n}\ntrain m {\n  loss mse\n}\n");
}
END_TEST

START_TEST(quoted_text_that_is_no_name) {
    expect("model m {\n  input x: f32[4]\n  dense(2, 'soft max')\n}\n", "", 1,
           "m.nn:3:12: error: a quoted name holds letters, digits and '_' (starting with a letter or '_'); "
           ".nn files have no other strings\n"
           "  dense(2, 'soft max')\n           ^~~~~~~~~~\n");
    expect("model m {\n  input x: f32[4]\n  dense(2, 'relu)\n}\n", "", 1,
           "m.nn:3:12: error: missing closing \"'\"\n"
           "  dense(2, 'relu)\n           ^~~~~\n");
}
END_TEST

/* ---- one misspelt value, one error ------------------------------------------------ */

START_TEST(misspelt_value_in_a_layer) {
    expect("model m {\n  input a: f32[8]\n  h = dense(aa, 32, relu)\n  dense(h, 2)\n}\n", "", 1,
           "m.nn:3:13: error: unknown value 'aa'; did you mean 'a'?\n"
           "  h = dense(aa, 32, relu)\n            ^~\n");
}
END_TEST

START_TEST(misspelt_second_input) {
    expect("model m {\n  input a: f32[8]\n  b = dense(a, 8)\n  c = add(a, bb)\n}\n", "", 1,
           "m.nn:4:14: error: unknown value 'bb'; did you mean 'b'?\n"
           "  c = add(a, bb)\n             ^~\n");
    expect("model m {\n  input a: f32[8]\n  c = concat(a, zz)\n}\n", "", 1,
           "m.nn:3:17: error: unknown value 'zz'; valid: a\n"
           "  c = concat(a, zz)\n                ^~\n");
}
END_TEST

START_TEST(misspelt_output) {
    expect("model m {\n  input x: f32[8]\n  y = dense(x, 2)\n  output yy\n}\n", "", 1,
           "m.nn:4:10: error: unknown value 'yy'; did you mean 'y'?\n"
           "  output yy\n         ^~\n");
}
END_TEST

/* ---- did-you-mean for every kind of name ------------------------------------------- */

START_TEST(did_you_mean_everywhere) {
    expect("model m {\n  input x: f32[4]\n  batch_normalisation\n  dense(2)\n}\n", "", 1,
           "m.nn:3:3: error: unknown layer 'batch_normalisation'; did you mean 'batch_normalization'?\n"
           "  batch_normalisation\n  ^~~~~~~~~~~~~~~~~~~\n");
    expect(REG("mse", "Adamax", "mse"), "", 1,
           "m.nn:8:13: error: unknown optimizer 'Adamax'; did you mean 'adam'?\n"
           "  optimizer Adamax\n            ^~~~~~\n");
    expect(REG("mean_squared_eror", "adam", "mse"), "", 1,
           "m.nn:7:8: error: unknown loss 'mean_squared_eror'; did you mean 'mean_squared_error'?\n"
           "  loss mean_squared_eror\n       ^~~~~~~~~~~~~~~~~\n");
    /* no close name: the valid ones, the closest first */
    expect(REG("mse", "adam", "precision, auc"), "", 1,
           "m.nn:9:22: error: unknown metric 'auc'; valid: f1, mae, mse, accuracy, recall, precision\n"
           "  metrics precision, auc\n                     ^~~\n");
    expect(REG("mse", "adam", "mse"
               "\n  batchsize 3"), "", 1,
           "m.nn:10:3: error: unknown train setting 'batchsize'; did you mean 'batch_size'?\n"
           "  batchsize 3\n  ^~~~~~~~~\n");
    expect("model m {\n  input x: f32[4]\n  Dense(2, input_dim = 4)\n}\n", "", 1,
           "m.nn:3:3: note: 'Dense' is spelt 'dense' in nnc\n"
           "  Dense(2, input_dim = 4)\n  ^~~~~\n"
           "m.nn:3:12: error: 'Dense' has no argument 'input_dim': a model's input is declared by an 'input' line "
           "before its first layer, e.g. input x: f32[28, 28]\n"
           "  Dense(2, input_dim = 4)\n           ^~~~~~~~~\n");
    expect_prefix("model m {\n  input x: f32[4]\n  frobnicate(3)\n}\n",
                  "m.nn:3:3: error: unknown layer 'frobnicate'; the closest of the ");
}
END_TEST

/* ---- warnings ----------------------------------------------------------------------- */

#define UNUSED \
    "model m {\n  input a: f32[8]\n  input b: f32[4]\n  h = dense(a, 8, relu)\n  d = dense(h, 3)\n" \
    "  dense(2)\n  y = dense(h, 4, softmax)\n  output y\n}\n"

START_TEST(warn_unused_input_and_layer) {
    const char *text =
        "m.nn:3:3: %s: input 'b' is not used: no output depends on it [%s-Wunused-input]\n"
        "  input b: f32[4]\n  ^~~~~~~~~~~~~~~\n"
        "m.nn:6:3: %s: 'dense_2' is computed but never used: no output depends on it [%s-Wunused-layer]\n"
        "  dense(2)\n  ^~~~~~~~\n";
    char want[2048];
    snprintf(want, sizeof want, text, "warning", "", "warning", "");
    expect(UNUSED, "", 0, want);
    snprintf(want, sizeof want, text, "error", "-Werror,", "error", "-Werror,");
    expect(UNUSED, "-Werror", 1, want);
    expect(UNUSED, "-w", 0, "");
    /* the last layer of a dead chain is named, with its activation */
    expect("model m {\n  input a: f32[8]\n  h = dense(a, 8)\n  k = dense(h, 3, relu)\n  output h\n}\n", "", 0,
           "m.nn:4:7: warning: 'k' is computed but never used: no output depends on it [-Wunused-layer]\n"
           "  k = dense(h, 3, relu)\n      ^~~~~~~~~~~~~~~~~\n");
}
END_TEST

START_TEST(warn_regression_loss_on_softmax) {
    expect("model m {\n  input x: f32[4]\n  dense(3, softmax)\n}\ntrain m {\n  loss mean_squared_error\n}\n", "", 0,
           "m.nn:6:8: warning: mse on output 'dense_softmax', a softmax: the loss of class probabilities is a "
           "cross-entropy; use categorical_crossentropy (one-hot labels) or sparse_categorical_crossentropy "
           "(class ids) [-Wloss-output]\n"
           "  loss mean_squared_error\n       ^~~~~~~~~~~~~~~~~~\n");
    expect("model m {\n  input x: f32[4]\n  y = dense(x, 3, activation = 'softmax')\n}\n"
           "train m {\n  loss mae\n}\n", "-w", 0, "");
}
END_TEST

/* ---- all of a file's errors in one run ------------------------------------------------ */

START_TEST(errors_in_one_run) {
    expect("model m {\n  input x: f32[8]\n  dense(16, rleu)\n  dropout(1.5)\n  dense(4, softmax)\n}\n"
           "train m {\n  loss mse\n  optimizer Adam(learning_rate = 1e-3, beta1 = 0.8)\n  metrics acuracy\n}\n",
           "", 1,
           "m.nn:3:13: error: unknown activation 'rleu'; did you mean 'relu'?\n"
           "  dense(16, rleu)\n            ^~~~\n"
           "m.nn:4:11: error: rate must be in [0, 1), got 1.5\n"
           "  dropout(1.5)\n          ^~~\n"
           "m.nn:9:40: error: adam has no setting 'beta1'; did you mean 'beta_1'?\n"
           "  optimizer Adam(learning_rate = 1e-3, beta1 = 0.8)\n                                       ^~~~~\n"
           "m.nn:10:11: error: unknown metric 'acuracy'; did you mean 'accuracy'?\n"
           "  metrics acuracy\n          ^~~~~~~\n");
    expect("model m {\n  input x: f32[8]\n  Dropout(rate = 1)\n  dense(2)\n}\n", "", 1,
           "m.nn:3:3: note: 'Dropout' is spelt 'dropout' in nnc\n"
           "  Dropout(rate = 1)\n  ^~~~~~~\n"
           "m.nn:3:18: error: rate must be in [0, 1), got 1\n"
           "  Dropout(rate = 1)\n                 ^\n");
}
END_TEST

/* ---- several inputs and outputs: the header's macros, the names as written ------------ */

START_TEST(header_io_macros) {
    char out[8192], path[256];
    ck_assert_int_eq(compile_in("h", "model m {\n  input a: f32[8]\n  input side_info: f32[2, 2]\n"
                                     "  h = dense(concat(a, flatten(side_info)), 8, relu)\n"
                                     "  code = dense(h, 4, relu)\n  z = dense(code, 2)\n  output code, z\n}\n",
                                "", out, sizeof out), 0);
    ck_assert_str_eq(out, "");
    snprintf(path, sizeof path, "%s/h/m.h", dir);
    char *h = slurp(path);
    static const char *const want[] = {
        " *   input  a: f32 (n, 8), columns 0..7 of each row of x\n",
        " *   input  side_info: f32 (n, 2, 2), columns 8..11 of each row of x\n",
        " *   output code: f32 (n, 4), columns 0..3 of each row of y\n",
        " *   output z: f32 (n, 2), columns 4..5 of each row of y\n",
        "#define M_INPUT_A_OFFSET 0   /* input 'a': columns 0..7 of each row of x */\n"
        "#define M_INPUT_A_SIZE 8\n"
        "#define M_INPUT_SIDE_INFO_OFFSET 8   /* input 'side_info': columns 8..11 of each row of x */\n"
        "#define M_INPUT_SIDE_INFO_SIZE 4\n"
        "#define M_OUTPUTS 2\n"
        "#define M_OUTPUT_CODE_OFFSET 0   /* output 'code': columns 0..3 of each row of y */\n"
        "#define M_OUTPUT_CODE_SIZE 4\n"
        "#define M_OUTPUT_CODE_INDEX 0\n"
        "#define M_OUTPUT_Z_OFFSET 4   /* output 'z': columns 4..5 of each row of y */\n"
        "#define M_OUTPUT_Z_SIZE 2\n"
        "#define M_OUTPUT_Z_INDEX 1\n",
    };
    for (unsigned i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(strstr(h, want[i]) != NULL, "m.h lacks:\n%s\n--- m.h:\n%s", want[i], h);
    /* one input, one output: no per-input macros */
    ck_assert_int_eq(compile_in("h", "model m {\n  input x: f32[3]\n  dense(2)\n}\n", "", out, sizeof out), 0);
    free(h);
    h = slurp(path);
    ck_assert_ptr_null(strstr(h, "_OFFSET"));
    free(h);
}
END_TEST

/* the macros name each input, and a program reads them to pack a row */
START_TEST(header_macros_compile) {
    char out[8192], cmd[2048], path[256];
    ck_assert_int_eq(compile_in("p", "model m {\n  input a: f32[3]\n  input b: f32[2]\n"
                                     "  y = dense(concat(a, b), 1)\n}\n", "", out, sizeof out), 0);
    snprintf(path, sizeof path, "%s/p/main.c", dir);
    write_text(path,
               "#include <stdio.h>\n#include \"m.h\"\n"
               "_Static_assert(M_INPUT_A_OFFSET == 0 && M_INPUT_A_SIZE == 3, \"a\");\n"
               "_Static_assert(M_INPUT_B_OFFSET == 3 && M_INPUT_B_SIZE == 2, \"b\");\n"
               "_Static_assert(M_INPUT_B_OFFSET + M_INPUT_B_SIZE == M_INPUT_SIZE, \"all\");\n"
               "int main(void) { printf(\"ok\\n\"); return 0; }\n");
    snprintf(cmd, sizeof cmd, "cc -std=c11 -Wall -Werror -Iruntime -I%s/p %s/p/main.c -o %s/p/main && %s/p/main",
             dir, dir, dir, dir);
    ck_assert_int_eq(run(cmd, out, sizeof out), 0);
    ck_assert_str_eq(out, "ok\n");
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("keras");
    TCase *t = tcase_create("spellings");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, quoted_names_bools_and_train_recipe);
    tcase_add_test(t, conv_layer_aliases);
    tcase_add_test(t, graph_and_recurrent_aliases);
    tcase_add_test(t, loss_optimizer_metric_aliases);
    tcase_add_test(t, functional_calls_and_module_paths);
    tcase_add_test(t, quoted_text_that_is_no_name);
    tcase_add_test(t, concat_axis_as_keras_counts);
    tcase_add_test(t, dense_on_steps_and_per_step_loss);
    suite_add_tcase(s, t);
    t = tcase_create("diagnostics");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, misspelt_value_in_a_layer);
    tcase_add_test(t, misspelt_second_input);
    tcase_add_test(t, misspelt_output);
    tcase_add_test(t, did_you_mean_everywhere);
    tcase_add_test(t, warn_unused_input_and_layer);
    tcase_add_test(t, warn_regression_loss_on_softmax);
    tcase_add_test(t, errors_in_one_run);
    suite_add_tcase(s, t);
    t = tcase_create("header");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, header_io_macros);
    tcase_add_test(t, header_macros_compile);
    suite_add_tcase(s, t);
    return s;
}

int main(void) {
    if (model_build_init("tmp-keras")) return 1;
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    if (model_build_done()) return 1;
    return failed ? 1 : 0;
}
