/* test_convlayers.c — the convolution-family .nn layers of issue 18
 * (conv2d_transpose, upsampling, zero padding, cropping, causal and
 * non-square convolutions, separable_conv2d, Keras' global pooling names).
 *
 * Three kinds of check:
 *  - kernels: runtime/spatial.c's loops and conv2d_transpose's forward
 *    (nnc_rt_conv2d_backward_data + nnc_rt_bias_act_forward) against plain
 *    references written here in the most literal form, at odd sizes, with
 *    outputs pre-filled with NaN;
 *  - gradients: whole models through bin/nnc and tests/model_check.c,
 *    central differences against the generated backward pass, at -O0 and
 *    -O2, and -O0 agreeing with -O2 (PyTorch parity is
 *    tests/torch_conv_parity.py);
 *  - shapes and diagnostics: --summary shapes and the exact error text.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ir.h"
#include "nnc_rt.h"
#include "model_build.h"

/* ---- kernels against plain references ------------------------------------------ */

static unsigned seed = 12345;
static float frand(void) {
    seed = seed * 1103515245u + 12345u;
    return (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
}
static float *randv(long n) {
    float *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    for (long i = 0; i < n; i++) v[i] = frand();
    return v;
}
static float *nanv(long n) {
    float *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    for (long i = 0; i < n; i++) v[i] = NAN;
    return v;
}
static void expect_close(const float *a, const double *ref, long n, const char *what) {
    for (long i = 0; i < n; i++)
        ck_assert_msg(fabs(a[i] - ref[i]) <= 1e-5 + 1e-5 * fabs(ref[i]), "%s: [%ld] %g vs reference %g", what, i,
                      (double)a[i], ref[i]);
}

/* conv2d_transpose, literally: every input cell scatters its kernel-weighted
 * values to out[i*s - pad + k*d], then bias and activation */
typedef struct tcase_t { int n, h, w, c, f, kh, kw, sh, sw, dh, dw, oh, ow, pt, pl, act, bias; } tcase_t;

static void transpose_ref(const tcase_t *t, double *y, const float *x, const float *k, const float *b) {
    long ny = (long)t->n * t->oh * t->ow * t->f;
    for (long i = 0; i < ny; i++) y[i] = 0;
    for (int s = 0; s < t->n; s++)
        for (int i = 0; i < t->h; i++)
            for (int j = 0; j < t->w; j++)
                for (int ky = 0; ky < t->kh; ky++)
                    for (int kx = 0; kx < t->kw; kx++) {
                        int oy = i * t->sh - t->pt + ky * t->dh, ox = j * t->sw - t->pl + kx * t->dw;
                        if (oy < 0 || oy >= t->oh || ox < 0 || ox >= t->ow) continue;
                        for (int o = 0; o < t->f; o++) {
                            double acc = 0;
                            for (int c = 0; c < t->c; c++)   /* kernel (kh, kw, filters, c) */
                                acc += (double)x[(((long)s * t->h + i) * t->w + j) * t->c + c] *
                                       k[(((long)ky * t->kw + kx) * t->f + o) * t->c + c];
                            y[(((long)s * t->oh + oy) * t->ow + ox) * t->f + o] += acc;
                        }
                    }
    for (long i = 0; i < ny; i++) {
        double v = y[i] + (t->bias ? b[i % t->f] : 0);
        y[i] = t->act == NNC_RT_ACT_RELU ? (v > 0 ? v : 0) : t->act == NNC_RT_ACT_TANH ? tanh(v) : v;
    }
}

START_TEST(kernel_conv2d_transpose) {
    static const tcase_t cases[] = {
        /* n h  w  c  f kh kw sh sw dh dw oh  ow pt pl act bias */
        { 1, 3, 4, 2, 3, 3, 3, 1, 1, 1, 1, 5, 6, 0, 0, 0, 1 },                       /* valid, stride 1 */
        { 3, 4, 3, 3, 2, 3, 2, 2, 1, 1, 1, 8, 3, 0, 0, NNC_RT_ACT_RELU, 1 },         /* same (2, 1) */
        { 2, 5, 5, 1, 4, 2, 2, 2, 2, 1, 1, 10, 10, 0, 0, NNC_RT_ACT_TANH, 0 },       /* k = s */
        { 1, 3, 2, 5, 3, 2, 3, 3, 3, 1, 1, 9, 6, 0, 0, 0, 1 },                       /* k < s: gaps */
        { 2, 4, 4, 2, 2, 3, 3, 1, 1, 2, 2, 8, 8, 0, 0, 0, 1 },                       /* dilated, valid */
        { 1, 4, 3, 3, 5, 3, 3, 2, 2, 1, 1, 8, 6, 0, 0, 0, 1 },                       /* same, op 1: pt 0 */
        { 3, 7, 5, 17, 19, 3, 1, 2, 1, 1, 1, 13, 5, 1, 0, NNC_RT_ACT_RELU, 1 },      /* tile edges, padded */
        { 2, 4, 4, 2, 3, 4, 4, 2, 2, 1, 1, 6, 6, 2, 2, 0, 1 },   /* same, k 4, output_padding 0: 2 cropped each side */
    };
    for (unsigned ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const tcase_t *t = &cases[ci];
        nnc_rt_conv2d p = { t->oh, t->ow, t->f, t->h, t->w, t->c, t->kh, t->kw, t->sh, t->sw, t->dh, t->dw,
                            t->pt, t->pl, 1 };
        long nx = (long)t->n * t->h * t->w * t->c, ny = (long)t->n * t->oh * t->ow * t->f;
        float *x = randv(nx), *k = randv((long)t->kh * t->kw * t->f * t->c), *b = randv(t->f), *y = nanv(ny);
        float *scratch = malloc((size_t)NNC_RT_CONV2D_SCRATCH(&p) * sizeof(float) + 64);
        double *ref = malloc((size_t)ny * sizeof *ref);
        nnc_rt_conv2d_backward_data(&p, y, x, k, scratch, t->n);
        nnc_rt_bias_act_forward(y, t->bias ? b : NULL, t->n * t->oh * t->ow, t->f, t->act);
        transpose_ref(t, ref, x, k, b);
        char what[64];
        snprintf(what, sizeof what, "conv2d_transpose case %u", ci);
        expect_close(y, ref, ny, what);
        free(x); free(k); free(b); free(y); free(scratch); free(ref);
    }
}
END_TEST

/* the literal half-pixel source of output o along an axis scaled by s from n cells */
static void ref_tap(int o, int s, int n, int *i0, int *i1, double *f) {
    double src = (o + 0.5) / s - 0.5;
    if (src < 0) src = 0;
    *i0 = (int)floor(src);
    *i1 = *i0 + 1 < n ? *i0 + 1 : n - 1;
    *f = src - *i0;
}

static double dot(const float *a, const float *b, long n) {
    double s = 0;
    for (long i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* <forward(x), r> = <x, backward(r)>: the backward kernel is the forward's adjoint */
static void expect_adjoint(const float *y, const float *r, long ny, const float *x, const float *dx, long nx,
                           const char *what) {
    double a = dot(y, r, ny), b = dot(x, dx, nx);
    ck_assert_msg(fabs(a - b) <= 1e-4 * (1 + fabs(a)), "%s: <f(x), r> %g but <x, f'(r)> %g", what, a, b);
}

START_TEST(kernel_upsampling) {
    static const int cases[][6] = {   /* n, h, w, c, sh, sw */
        { 1, 1, 1, 1, 2, 2 }, { 3, 3, 5, 2, 2, 3 }, { 2, 4, 3, 17, 3, 1 }, { 1, 1, 7, 3, 1, 4 }, { 2, 5, 2, 1, 5, 2 },
    };
    for (unsigned ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        int n = cases[ci][0], h = cases[ci][1], w = cases[ci][2], c = cases[ci][3], sh = cases[ci][4], sw = cases[ci][5];
        int oh = h * sh, ow = w * sw;
        long nx = (long)n * h * w * c, ny = (long)n * oh * ow * c;
        float *x = randv(nx), *r = randv(ny), *y = nanv(ny), *dx = nanv(nx);
        double *ref = malloc((size_t)ny * sizeof *ref);
        char what[64];
        for (int bil = 0; bil < 2; bil++) {
            for (int b = 0; b < n; b++)
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++)
                        for (int k = 0; k < c; k++) {
                            double v;
                            if (!bil) {
                                v = x[(((long)b * h + i / sh) * w + j / sw) * c + k];
                            } else {
                                int r0, r1, c0, c1;
                                double fr, fc;
                                ref_tap(i, sh, h, &r0, &r1, &fr);
                                ref_tap(j, sw, w, &c0, &c1, &fc);
#define X(R, C) (double)x[(((long)b * h + (R)) * w + (C)) * c + k]
                                v = (1 - fr) * ((1 - fc) * X(r0, c0) + fc * X(r0, c1)) +
                                    fr * ((1 - fc) * X(r1, c0) + fc * X(r1, c1));
#undef X
                            }
                            ref[(((long)b * oh + i) * ow + j) * c + k] = v;
                        }
            if (bil) {
                nnc_rt_upsample_bilinear(y, x, n, h, w, c, sh, sw);
                nnc_rt_upsample_bilinear_backward(dx, r, n, h, w, c, sh, sw);
            } else {
                nnc_rt_upsample_nearest(y, x, n, h, w, c, sh, sw);
                nnc_rt_upsample_nearest_backward(dx, r, n, h, w, c, sh, sw);
            }
            snprintf(what, sizeof what, "upsampling %s case %u", bil ? "bilinear" : "nearest", ci);
            expect_close(y, ref, ny, what);
            expect_adjoint(y, r, ny, x, dx, nx, what);
        }
        free(x); free(r); free(y); free(dx); free(ref);
    }
}
END_TEST

START_TEST(kernel_shift2d) {
    static const int cases[][7] = {   /* n, h, w, c, top, left, and oh - h, ow - w */
        { 1, 3, 4, 2, 1, 2 }, { 2, 5, 5, 3, -1, -2 }, { 3, 1, 9, 5, 0, 3 }, { 1, 4, 6, 17, -3, 0 }, { 2, 2, 3, 1, 2, -1 },
    };
    static const int grow[][2] = { { 2, 5 }, { -3, -2 }, { 0, 3 }, { -3, -1 }, { 3, 0 } };
    for (unsigned ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        int n = cases[ci][0], h = cases[ci][1], w = cases[ci][2], c = cases[ci][3], top = cases[ci][4],
            left = cases[ci][5], oh = h + grow[ci][0], ow = w + grow[ci][1];
        long nx = (long)n * h * w * c, ny = (long)n * oh * ow * c;
        float *x = randv(nx), *r = randv(ny), *y = nanv(ny), *dx = nanv(nx);
        double *ref = malloc((size_t)ny * sizeof *ref);
        for (int b = 0; b < n; b++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                    for (int k = 0; k < c; k++) {
                        int si = i - top, sj = j - left;
                        ref[(((long)b * oh + i) * ow + j) * c + k] =
                            si >= 0 && si < h && sj >= 0 && sj < w ? x[(((long)b * h + si) * w + sj) * c + k] : 0;
                    }
        nnc_rt_shift2d(y, x, n, h, w, c, oh, ow, top, left);
        nnc_rt_shift2d(dx, r, n, oh, ow, c, h, w, -top, -left);
        char what[64];
        snprintf(what, sizeof what, "shift2d case %u", ci);
        expect_close(y, ref, ny, what);
        expect_adjoint(y, r, ny, x, dx, nx, what);
        free(x); free(r); free(y); free(dx); free(ref);
    }
}
END_TEST

/* ---- whole models: gradients, -O0 against -O2, shapes, diagnostics ------------- */

static void gradcheck(const char *name, const char *src, const char *flags) {
    char cmd[512], out[8192];
    snprintf(cmd, sizeof cmd, "%s gradcheck 3e-3", build_model(name, src, flags, "gcc"));
    ck_assert_int_eq(run(cmd, out, sizeof out), 0);
    ck_assert_msg(field(out, "checked") >= 10, "%s", out);
    ck_assert_msg(field(out, "kinked") <= 0.1 * field(out, "checked"), "%s %s: too many kinks\n%s", name, flags, out);
    ck_assert_msg(field(out, "bad") == 0, "%s %s: gradient mismatch\n%s", name, flags, out);
}

/* predictions and training losses of -O0 and -O2 agree line by line */
static void o0_agrees(const char *name, const char *src) {
    static char a[65536], b[65536];
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s outputs", build_model(name, src, "-O0", "gcc"));
    ck_assert_int_eq(run(cmd, a, sizeof a), 0);
    snprintf(cmd, sizeof cmd, "%s outputs", build_model(name, src, "-O2", "gcc"));
    ck_assert_int_eq(run(cmd, b, sizeof b), 0);
    char *sa, *sb, *pa = strtok_r(a, "\n", &sa), *pb = strtok_r(b, "\n", &sb);
    int lines = 0;
    for (; pa && pb; pa = strtok_r(NULL, "\n", &sa), pb = strtok_r(NULL, "\n", &sb), lines++) {
        double va = atof(strchr(pa, ' ') + 1), vb = atof(strchr(pb, ' ') + 1);
        ck_assert_msg(fabs(va - vb) <= 1e-5 + 1e-4 * fabs(va), "%s: %s vs %s", name, pa, pb);
    }
    ck_assert_ptr_null(pa);
    ck_assert_ptr_null(pb);
    ck_assert_int_gt(lines, 3);
}

/* nnc --summary on src: exit 0 and each of the wanted strings in its table */
static void expect_summary(const char *src, const char *const *want, int nwant) {
    char path[256], cmd[1024], out[8192];
    snprintf(path, sizeof path, "%s/shape.nn", dir);
    write_text(path, src);
    snprintf(cmd, sizeof cmd, "%s --summary %s", nnc, path);
    ck_assert_int_eq(run(cmd, out, sizeof out), 0);
    for (int i = 0; i < nwant; i++) ck_assert_msg(strstr(out, want[i]) != NULL, "no '%s' in\n%s", want[i], out);
}

/* nnc on src fails with exit `status` (1: a user error, 3: valid Keras nnc
 * cannot compile) and exactly this text, and writes nothing */
static void expect_exit(const char *src, int status, const char *expected) {
    char path[256], cmd[1024], out[8192], c[256];
    snprintf(path, sizeof path, "%s/bad.nn", dir);
    snprintf(c, sizeof c, "%s/bad.c", dir);
    write_text(path, src);
    snprintf(cmd, sizeof cmd, "cd %s && %s bad.nn -o bad.c", dir, nnc);
    ck_assert_int_eq(run(cmd, out, sizeof out), status);
    ck_assert_str_eq(out, expected);
    ck_assert_int_ne(access(c, F_OK), 0);
}
static void expect_error(const char *src, const char *expected) { expect_exit(src, 1, expected); }

#define MODEL(name, in, body, loss) \
    "model " name " {\n  input x: f32[" in "]\n" body "}\n" \
    "train " name " {\n  loss " loss "\n  optimizer adam\n  batch 5\n}\n"

/* every form: valid and same, k < s, k = s, output_padding, dilation,
 * non-square kernels and strides, bias off, activations fused or not */
static const char *const transpose_model = MODEL("ct", "3, 4, 2",
    "  conv2d_transpose(3, (3, 2), strides = (2, 1), padding = same, activation = tanh)\n"
    "  conv2d_transpose(2, 2, strides = 2, use_bias = false)\n"
    "  conv2d_transpose(2, 1, strides = 3, activation = sigmoid)\n"
    "  flatten\n  dense(3, softmax)\n", "sparse_categorical_crossentropy");
static const char *const transpose_model2 = MODEL("ct2", "4, 3, 3",
    "  a = conv2d_transpose(x, 4, 3, strides = 2, padding = same, output_padding = 1)\n"
    "  b = conv2d_transpose(a, 2, 3, dilation_rate = (2, 1), activation = tanh)\n"
    "  c = conv2d(b, 2, (3, 5), strides = (2, 3), padding = same)\n"
    "  d = conv2d_transpose(c, 1, (2, 3), strides = (1, 2), output_padding = (0, 1))\n"
    "  y = flatten(d)\n  output y\n", "mse");

START_TEST(grad_conv2d_transpose) {
    gradcheck("ct", transpose_model, "-O2");
    gradcheck("ct", transpose_model, "-O0");
    gradcheck("ct2", transpose_model2, "-O2");
    o0_agrees("ct", transpose_model);
    o0_agrees("ct2", transpose_model2);
}
END_TEST

START_TEST(shape_conv2d_transpose) {
    static const char *const want[] = {
        "(n, 14, 6, 4)",    /* 7x6 same (2, 1): 7*2, 6 */
        "(n, 29, 12, 2)",   /* valid, strides 2: k 3: 14*2 + 1; k 2: 6*2 + 0 */
        "(n, 58, 23, 2)",   /* same, output_padding (1, 0): (29-1)*2 + 3 - 2 + 1, (12-1)*2 + 3 - 2 + 0 */
        "(n, 174, 69, 1)",  /* k 1, strides 3, valid: 58*3 + 0 (k < s) */
        "(n, 346, 136, 2)", /* same, even kernel, output_padding 0: (174-1)*2 + 0 + 0, (69-1)*2 */
    };
    expect_summary("model m {\n  input x: f32[7, 6, 3]\n"
                   "  conv2d_transpose(4, 3, strides = (2, 1), padding = same)\n"
                   "  conv2d_transpose(2, (3, 2), strides = 2)\n"
                   "  conv2d_transpose(2, 3, strides = 2, padding = same, output_padding = (1, 0))\n"
                   "  conv2d_transpose(1, 1, strides = 3)\n"
                   "  conv2d_transpose(2, 2, strides = 2, padding = same, output_padding = 0)\n}\n", want, 5);
}
END_TEST

START_TEST(diag_conv2d_transpose) {
    expect_error("model m {\n  input x: f32[4, 4, 1]\n  conv2d_transpose(2, 3, strides = 2, output_padding = 2)\n}\n",
                 "bad.nn:3:3: error: conv2d_transpose: output_padding (2) must be smaller than strides (2) along the rows\n"
                 "  conv2d_transpose(2, 3, strides = 2, output_padding = 2)\n"
                 "  ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n");
    expect_error("model m {\n  input x: f32[4, 4, 1]\n  conv2d_transpose(2, 3, strides = 2, dilation_rate = 2)\n}\n",
                 "bad.nn:3:3: error: conv2d_transpose: strides > 1 and dilation_rate > 1 cannot be combined (as in Keras)\n"
                 "  conv2d_transpose(2, 3, strides = 2, dilation_rate = 2)\n"
                 "  ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n");
    expect_error("model m {\n  input x: f32[4, 4, 1]\n  conv2d_transpose(2, (3, 0))\n}\n",
                 "bad.nn:3:23: error: kernel_size must be an integer >= 1 or a pair of them, e.g. (3, 5)\n"
                 "  conv2d_transpose(2, (3, 0))\n"
                 "                      ^~~~~~\n");
}
END_TEST

/* upsampling (nearest and bilinear, 1-D and 2-D), zero padding and cropping in
 * every argument form, between convolutions so their gradients reach parameters */
static const char *const spatial_model = MODEL("sp", "3, 4, 2",
    "  a = conv2d(x, 3, 2, padding = same, activation = tanh)\n"
    "  b = upsampling2d(a, (2, 3))\n"
    "  c = conv2d(b, 2, 3, strides = 2, activation = tanh)\n"
    "  d = upsampling2d(c, 3, interpolation = bilinear)\n"
    "  e = zero_padding2d(d, ((1, 0), (2, 3)))\n"
    "  f = cropping2d(e, ((2, 1), (0, 4)))\n"
    "  g = zero_padding2d(f)\n"
    "  h = cropping2d(g, (1, 2))\n"
    "  i = conv2d(h, 2, (3, 2), strides = (3, 2))\n"
    "  y = flatten(i)\n  output y\n", "mse");
static const char *const spatial1d_model = MODEL("sp1", "5, 3",
    "  a = conv1d(x, 4, 2, activation = tanh)\n"
    "  b = upsampling1d(a, 3)\n"
    "  c = zero_padding1d(b, (2, 0))\n"
    "  d = cropping1d(c)\n"
    "  e = zero_padding1d(d, 1)\n"
    "  f = cropping1d(e, (0, 2))\n"
    "  g = conv1d(f, 3, 3, strides = 2)\n"
    "  y = flatten(g)\n  output y\n", "mse");

START_TEST(grad_spatial) {
    gradcheck("sp", spatial_model, "-O2");
    gradcheck("sp", spatial_model, "-O0");
    gradcheck("sp1", spatial1d_model, "-O2");
    o0_agrees("sp", spatial_model);
    o0_agrees("sp1", spatial1d_model);
}
END_TEST

START_TEST(shape_spatial) {
    static const char *const want[] = {
        "a (upsampling2d)                   (n, 6, 12, 2)",
        "b (upsampling2d)                   (n, 12, 24, 2)",
        "c (zero_padding2d)                 (n, 13, 29, 2)",
        "d (cropping2d)                     (n, 10, 25, 2)",
        "e (zero_padding2d)                 (n, 12, 27, 2)",
        "f (cropping2d)                     (n, 10, 23, 2)",
        "g (upsampling1d)                   (n, 30, 46)",
        "h (zero_padding1d)                 (n, 32, 46)",
        "i (cropping1d)                     (n, 30, 46)",
        "j (global_average_pooling1d)       (n, 46)",
        "k (global_max_pooling2d)           (n, 2)",
    };
    expect_summary("model m {\n  input x: f32[3, 4, 2]\n"
                   "  a = upsampling2d(x, (2, 3))\n  b = upsampling2d(a, 2, interpolation = bilinear)\n"
                   "  c = zero_padding2d(b, ((1, 0), (2, 3)))\n  d = cropping2d(c, ((2, 1), (0, 4)))\n"
                   "  e = zero_padding2d(d)\n  f = cropping2d(e, (1, 2))\n  r = reshape(f, 10, 46)\n"
                   "  g = upsampling1d(r, 3)\n  h = zero_padding1d(g, (2, 0))\n  i = cropping1d(h)\n"
                   "  j = global_average_pooling1d(i)\n  k = global_max_pooling2d(f)\n  output j, k\n}\n", want, 11);
}
END_TEST

START_TEST(diag_spatial) {
    expect_error("model m {\n  input x: f32[4, 4, 1]\n  cropping2d(((1, 2), (0, 1)))\n  cropping2d((1, 2))\n}\n",
                 "bad.nn:4:3: error: cropping2d: cropping 1 + 1 rows leaves nothing of the input (n, 1, 3, 1)\n"
                 "  cropping2d((1, 2))\n"
                 "  ^~~~~~~~~~~~~~~~~~\n");
    expect_error("model m {\n  input x: f32[4, 4, 1]\n  zero_padding2d(((1, 2), 3))\n}\n",
                 "bad.nn:3:18: error: padding must be an integer >= 0, a pair (height, width) or "
                 "((top, bottom), (left, right))\n"
                 "  zero_padding2d(((1, 2), 3))\n"
                 "                 ^~~~~~~~~~~\n");
    expect_error("model m {\n  input x: f32[4, 4, 1]\n  upsampling2d(2, interpolation = cubic)\n}\n",
                 "bad.nn:3:35: error: unknown interpolation 'cubic'; valid: bicubic, nearest, bilinear, lanczos3, lanczos5\n"
                 "  upsampling2d(2, interpolation = cubic)\n"
                 "                                  ^~~~~\n");
    expect_exit("model m {\n  input x: f32[4, 4, 1]\n  upsampling2d(2, interpolation = lanczos3)\n}\n", 3,
                "bad.nn:3:35: error: interpolation = lanczos3 is not supported by nnc; it computes nearest and bilinear\n"
                "  upsampling2d(2, interpolation = lanczos3)\n"
                "                                  ^~~~~~~~\n");
    expect_error("model m {\n  input x: f32[4, 4, 1]\n  global_max_pooling1d\n}\n",
                 "bad.nn:3:3: error: global_max_pooling1d expects input of shape (n, steps, channels), "
                 "got (n, 4, 4, 1)\n"
                 "  global_max_pooling1d\n"
                 "  ^~~~~~~~~~~~~~~~~~~~\n");
}
END_TEST

/* padding = causal with dilation and strides; non-square kernels, strides,
 * dilations and pool windows in conv2d, depthwise_conv2d and the pools */
static const char *const causal_model = MODEL("tcn", "9, 3",
    "  a = conv1d(x, 4, 3, padding = causal, activation = tanh)\n"
    "  b = conv1d(a, 3, 2, padding = causal, dilation_rate = 3)\n"
    "  c = conv1d(b, 2, 3, strides = 2, padding = causal, dilation_rate = 2, activation = sigmoid)\n"
    "  y = flatten(c)\n  output y\n", "mse");
static const char *const nonsquare_model = MODEL("nsq", "7, 8, 2",
    "  a = conv2d(x, 3, (3, 1), strides = (1, 2), dilation_rate = (2, 1), padding = same, activation = tanh)\n"
    "  b = depthwise_conv2d(a, (1, 3), strides = (2, 1), depth_multiplier = 2, padding = same)\n"
    "  c = avg_pool2d(b, (2, 3), strides = (1, 2), padding = same)\n"
    "  d = max_pool2d(c, (3, 1))\n"
    "  y = dense(flatten(d), 3, softmax)\n  output y\n", "sparse_categorical_crossentropy");

START_TEST(grad_causal_nonsquare) {
    gradcheck("tcn", causal_model, "-O2");
    gradcheck("tcn", causal_model, "-O0");
    gradcheck("nsq", nonsquare_model, "-O2");
    o0_agrees("tcn", causal_model);
    o0_agrees("nsq", nonsquare_model);
}
END_TEST

START_TEST(shape_causal_nonsquare) {
    static const char *const want[] = {
        "a (conv1d)                         (n, 10, 4)",     /* causal keeps the steps */
        "b (conv1d)                         (n, 4, 2)",      /* causal, strides 3: ceil(10 / 3) */
        "c (conv2d)                         (n, 5, 2, 3)",   /* (3, 5) valid, strides (1, 2) */
        "d (depthwise_conv2d)               (n, 3, 2, 6)",   /* same, strides (2, 1) */
        "e (max_pool2d)                     (n, 3, 1, 6)",   /* window (1, 2) */
    };
    expect_summary("model m {\n  input x: f32[10, 2]\n  input z: f32[7, 8, 1]\n"
                   "  a = conv1d(x, 4, (5,), padding = causal, dilation_rate = (2,))\n"
                   "  b = conv1d(a, 2, 2, strides = 3, padding = causal)\n"
                   "  c = conv2d(z, 3, (3, 5), strides = (1, 2))\n"
                   "  d = depthwise_conv2d(c, (3, 1), strides = (2, 1), padding = same, depth_multiplier = 2)\n"
                   "  e = max_pool2d(d, (1, 2))\n  output b, e\n}\n", want, 5);
}
END_TEST

START_TEST(diag_causal_tuples) {
    expect_error("model m {\n  input x: f32[4, 4, 1]\n  conv2d(2, 3, padding = causal)\n}\n",
                 "bad.nn:3:3: error: conv2d: padding = causal is for conv1d; use valid or same\n"
                 "  conv2d(2, 3, padding = causal)\n"
                 "  ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n");
    expect_error("model m {\n  input x: f32[4, 4, 1]\n  max_pool2d(2, padding = causal)\n}\n",
                 "bad.nn:3:3: error: max_pool2d: padding = causal is for conv1d; use valid or same\n"
                 "  max_pool2d(2, padding = causal)\n"
                 "  ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n");
    expect_error("model m {\n  input x: f32[4, 4, 1]\n  conv2d(2, (3, 3, 3))\n}\n",
                 "bad.nn:3:13: error: kernel_size must be an integer >= 1 or a pair of them, e.g. (3, 5)\n"
                 "  conv2d(2, (3, 3, 3))\n"
                 "            ^~~~~~~~~\n");
    expect_error("model m {\n  input x: f32[4, 3]\n  conv1d(2, (3, 3))\n}\n",
                 "bad.nn:3:13: error: kernel_size must be an integer\n"
                 "  conv1d(2, (3, 3))\n"
                 "            ^~~~~~\n");
    expect_error("model m {\n  input x: f32[4, 3]\n  (2, 3)\n}\n",
                 "bad.nn:3:3: error: expected a layer, got a tuple\n"
                 "  (2, 3)\n"
                 "  ^~~~~~\n");
    expect_error("model m {\n  input x: f32[4, 4, 1]\n  max_pool2d(((1, 1), 2))\n}\n",
                 "bad.nn:3:14: error: pool_size must be an integer >= 1 or a pair of them, e.g. (3, 5)\n"
                 "  max_pool2d(((1, 1), 2))\n"
                 "             ^~~~~~~~~~~\n");
}
END_TEST

/* separable_conv2d: depth multipliers, bias off, non-square kernels, a frozen layer */
static const char *const separable_model = MODEL("sep", "6, 7, 3",
    "  a = separable_conv2d(x, 4, 3, padding = same, depth_multiplier = 2, activation = tanh)\n"
    "  b = separable_conv2d(a, 3, (2, 3), strides = (2, 1), use_bias = false)\n"
    "  c = separable_conv2d(b, 2, 1, dilation_rate = (1, 2), activation = sigmoid)\n"
    "  y = flatten(c)\n  output y\n", "mse");

START_TEST(grad_separable) {
    gradcheck("sep", separable_model, "-O2");
    gradcheck("sep", separable_model, "-O0");
    o0_agrees("sep", separable_model);
    static const char *const want[] = {
        "a (separable_conv2d, tanh)         (n, 6, 7, 4)                 82",   /* 3*3*3*2 + 6*4 + 4 */
        "b (separable_conv2d)               (n, 3, 5, 3)                 36",   /* 2*3*4 + 4*3 */
    };
    expect_summary(separable_model, want, 2);
}
END_TEST

/* lower.c binds a call's arguments in arrays of 32 slots */
START_TEST(attribute_schemas_fit) {
    for (int op = 0; op < OP_COUNT; op++) ck_assert_int_le(op_table[op]->nattrs, 32);
    ck_assert_int_eq(op_table[OP_SEPARABLE_CONV2D]->nattrs, 14);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("convlayers");
    TCase *k = tcase_create("kernels");
    tcase_add_test(k, kernel_conv2d_transpose);
    tcase_add_test(k, attribute_schemas_fit);
    tcase_add_test(k, kernel_upsampling);
    tcase_add_test(k, kernel_shift2d);
    suite_add_tcase(s, k);
    TCase *g = tcase_create("models");
    tcase_set_timeout(g, 300);
    tcase_add_test(g, grad_conv2d_transpose);
    tcase_add_test(g, shape_conv2d_transpose);
    tcase_add_test(g, diag_conv2d_transpose);
    tcase_add_test(g, grad_spatial);
    tcase_add_test(g, shape_spatial);
    tcase_add_test(g, diag_spatial);
    tcase_add_test(g, grad_causal_nonsquare);
    tcase_add_test(g, shape_causal_nonsquare);
    tcase_add_test(g, diag_causal_tuples);
    tcase_add_test(g, grad_separable);
    suite_add_tcase(s, g);
    return s;
}

int main(void) {
    if (model_build_init("tmp-convlayers")) return 1;
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    if (model_build_done()) return 1;
    return failed ? 1 : 0;
}
