/* test_quantize.c — --quantize int8's compiler side on small graphs:
 * calibration ranges (calibrate.c: minmax, a percentile clipping an
 * outlier), the rewrite into int8 ops (passes/quantize.c: which ops, the
 * float islands), the constants against TFLite's definitions (weights
 * symmetric per output channel, int32 biases with dense's input zero point
 * folded in, multipliers), and the refusals naming the layer.  The int8
 * kernels themselves are test_q8_ops.c's (and the products' own tests);
 * tests/q8_accuracy.sh runs whole models. */
#include <check.h>
#include "check_run.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ast.h"
#include "build.h"
#include "nnc_rt.h"

static char diag_text[8192];
static int owner;     /* the test program's pid: its scratch files' names (tests run in forked children) */

/* the model lowered, inference, every parameter baked from a fixed pattern, activations fused */
static Graph *baked_graph(const char *src) {
    diag_init("t.nn", src);
    static FILE *out;
    if (out) fclose(out);
    memset(diag_text, 0, sizeof diag_text);
    out = fmemopen(diag_text, sizeof diag_text - 1, "w");
    setvbuf(out, NULL, _IONBF, 0);
    diag_set_output(out);
    Program *p = ast_parse("t.nn", src);
    ck_assert_int_eq(diag_error_count(), 0);
    Graph *g = lower_program(p, NULL);
    ck_assert_ptr_nonnull(g);
    ast_free(p);
    deploy_inference_only(g);
    long at = 0;
    for (int v = 0; v < g->nvalues; v++)
        if (g->values[v].role == ROLE_PARAM) at += ir_size(&g->values[v]);
    g->baked = malloc((size_t)(at + 1) * sizeof *g->baked);
    ck_assert_ptr_nonnull(g->baked);
    at = 0;
    for (int v = 0; v < g->nvalues; v++) {
        Value *x = &g->values[v];
        if (x->role != ROLE_PARAM) continue;
        x->baked_at = at;
        x->constant = 1;
        for (long i = 0; i < ir_size(x); i++)   /* a spread of signs and sizes, a few exact zeros */
            g->baked[at + i] = (float)(((i * 37 + v * 11) % 29) - 14) / 23.0f * (i % 7 == 3 ? 0.0f : 1.0f);
        at += ir_size(x);
    }
    fold_bn(g);
    fuse_act(g);
    return g;
}

/* n samples of size values into a raw .f32 file: x[i] = f(i) */
static const char *write_f32(const char *name, long count, float (*f)(long)) {
    static char path[128];
    snprintf(path, sizeof path, "/tmp/nnc_test_quantize_%d_%s.f32", owner, name);
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    for (long i = 0; i < count; i++) {
        float v = f(i);
        ck_assert_int_eq(fwrite(&v, 4, 1, fp), 1);
    }
    fclose(fp);
    return path;
}

static float ramp(long i) { return (float)(i % 101) / 100.0f; }       /* [0, 1] */
static float with_outlier(long i) { return i == 777 ? 50.0f : ramp(i); }

static const char *mlp =
    "model m {\n  input x: f32[6]\n  dense(5, relu)\n  dense(3, softmax)\n}\n";

static int find_op(const Graph *g, int op, int nth) {
    for (int i = 0; i < g->nnodes; i++)
        if (!g->nodes[i].dead && g->nodes[i].op == op && nth-- == 0) return i;
    return -1;
}

START_TEST(calibration_ranges) {
    calibrate_load = nnc_host_array_load;
    Graph *g = baked_graph(mlp);
    Build b = { .calibrate = write_f32("ramp", 6 * 200, ramp), .quantize = "int8" };
    float *lo, *hi;
    ck_assert_int_eq(calibrate_ranges(g, &b, &lo, &hi), 0);
    ck_assert_float_eq(lo[g->input], 0.0f);
    ck_assert_float_eq(hi[g->input], 1.0f);
    int d0 = find_op(g, OP_DENSE, 0);
    ck_assert_float_eq(lo[g->nodes[d0].out[0]], 0.0f);     /* after the relu */
    int d1 = find_op(g, OP_DENSE, 1);
    ck_assert(hi[g->nodes[d1].out[0]] <= 1.0f);               /* softmax's output; its logits apart */
    ck_assert(lo[g->nvalues + d1] < hi[g->nvalues + d1]);
    free(lo);
    free(hi);
    /* a percentile leaves one outlier out; minmax takes it */
    b.calibrate = write_f32("outlier", 6 * 2000, with_outlier);
    b.calibrate_method = "percentile";
    ck_assert_int_eq(calibrate_ranges(g, &b, &lo, &hi), 0);
    ck_assert_msg(hi[g->input] < 2.0f, "percentile top %g", (double)hi[g->input]);
    free(lo);
    free(hi);
    b.calibrate_method = NULL;
    ck_assert_int_eq(calibrate_ranges(g, &b, &lo, &hi), 0);
    ck_assert_float_eq(hi[g->input], 50.0f);
    free(lo);
    free(hi);
    b.calibrate_method = "mse";
    ck_assert_int_eq(calibrate_ranges(g, &b, &lo, &hi), 0);
    ck_assert(hi[g->input] >= 0.9f && hi[g->input] <= 50.0f);   /* one outlier in 12000 costs less kept than clipped */
    free(lo);
    free(hi);
    ir_free(g);
}
END_TEST

START_TEST(dense_constants) {
    calibrate_load = nnc_host_array_load;
    Graph *g = baked_graph(mlp);
    int d0 = find_op(g, OP_DENSE, 0);
    const Value *kv = &g->values[g->nodes[d0].in[1]], *bv = &g->values[g->nodes[d0].in[2]];
    float w[30], bias[5];
    memcpy(w, g->baked + kv->baked_at, sizeof w);      /* (6, 5): [in][out] */
    memcpy(bias, g->baked + bv->baked_at, sizeof bias);
    Build b = { .calibrate = write_f32("ramp2", 6 * 200, ramp), .quantize = "int8" };
    ck_assert_int_eq(quantize_graph(g, &b), 0);
    /* the ops: quantize the input, two int8 products, a softmax that writes float */
    int q = find_op(g, OP_Q8_QUANTIZE, 0), k0 = find_op(g, OP_Q8_DENSE, 0), k1 = find_op(g, OP_Q8_DENSE, 1),
        s = find_op(g, OP_Q8_SOFTMAX, 0);
    ck_assert(q >= 0 && q < k0 && k0 < k1 && k1 < s);
    ck_assert_int_eq(find_op(g, OP_DENSE, 0), -1);
    ck_assert_int_eq(find_op(g, OP_Q8_DEQUANTIZE, 0), -1);
    ck_assert_int_eq(g->values[g->output].dtype, DT_F32);
    ck_assert_int_eq(g->values[g->nodes[k0].out[0]].dtype, DT_I8);
    const Q8 *a = g->nodes[k0].attr.q8;
    ck_assert_int_eq(a->nch, 5);
    ck_assert_int_eq(a->nw, 30);
    ck_assert_float_eq(a->x_scale, 1.0f / 255.0f);         /* [0, 1] */
    ck_assert_int_eq(a->x_zp, -128);
    ck_assert_int_eq(a->lo, a->y_zp > -128 ? a->y_zp : -128);  /* the relu is the clamp */
    for (int j = 0; j < 5; j++) {
        float top = 0;
        for (int i = 0; i < 6; i++) top = fmaxf(top, fabsf(w[i * 5 + j]));
        float sw = top / 127.0f;          /* in float, as the pass computes it */
        long sum = 0, peak = 0;
        for (int i = 0; i < 6; i++) {
            long want = lrintf(w[i * 5 + j] / sw);
            ck_assert_int_eq(a->w[j * 6 + i], want);           /* (m, k), symmetric per channel */
            sum += want;
            peak = labs(want) > peak ? labs(want) : peak;
        }
        ck_assert_int_eq(peak, 127);
        long want_b = lrint(bias[j] / ((double)a->x_scale * sw)) - (long)a->x_zp * sum;
        ck_assert_msg(labs((long)a->bias[j] - want_b) <= 1, "bias %d: %d, want %ld", j, a->bias[j], want_b);
        double M = a->mult[j] * ldexp(1.0, a->shift[j] - 31), want_m = (double)a->x_scale * sw / a->y_scale;
        ck_assert_msg(fabs(M - want_m) <= 1e-8 * want_m, "multiplier %d: %g, want %g", j, M, want_m);
    }
    /* no float weights are left: the build carries only the int8 ones */
    for (int v = 0; v < g->nvalues; v++) ck_assert_int_ne(g->values[v].role, ROLE_PARAM);
    ir_free(g);
}
END_TEST

START_TEST(float_island_reported) {
    calibrate_load = nnc_host_array_load;
    Graph *g = baked_graph("model m {\n  input x: f32[6]\n  dense(4)\n  gelu\n  dense(3, softmax)\n}\n");
    Build b = { .calibrate = write_f32("ramp3", 6 * 50, ramp), .quantize = "int8" };
    ck_assert_int_eq(quantize_graph(g, &b), 0);
    int dq = find_op(g, OP_Q8_DEQUANTIZE, 0), ge = find_op(g, OP_GELU, 0), q = find_op(g, OP_Q8_QUANTIZE, 1);
    ck_assert(dq >= 0 && dq < ge && ge < q);
    ck_assert_msg(strstr(diag_text, "'gelu' (gelu) has no int8 form") != NULL, "notes: %s", diag_text);
    ck_assert_msg(strstr(diag_text, "t.nn:4:") != NULL, "the note names the line: %s", diag_text);
    ir_free(g);
}
END_TEST

START_TEST(refusals) {
    calibrate_load = nnc_host_array_load;
    /* an op the calibration cannot evaluate: refused, naming the layer */
    Graph *g = baked_graph("model m {\n  input x: f32[4, 4, 1]\n  upsampling2d(2)\n  flatten\n  dense(3)\n}\n");
    Build b = { .calibrate = write_f32("ramp4", 16 * 10, ramp), .quantize = "int8" };
    int before = diag_error_count();
    ck_assert_int_eq(quantize_graph(g, &b), -1);
    ck_assert_int_gt(diag_error_count(), before);
    ck_assert_msg(strstr(diag_text, "upsampling2d") != NULL && strstr(diag_text, "t.nn:3:") != NULL, "%s", diag_text);
    ir_free(g);
    /* a calibration file of the wrong sample size */
    g = baked_graph(mlp);
    b.calibrate = write_f32("short", 7 * 3, ramp);
    ck_assert_int_eq(quantize_graph(g, &b), -1);
    ir_free(g);
}
END_TEST

int main(void) {
    owner = (int)getpid();
    const TTest *tests[] = { calibration_ranges, dense_constants, float_island_reported, refusals, NULL };
    const kernel_case cases[] = { { "quantize", tests, 30, 0 } };
    int status = run_cases("quantize", cases, 1);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -f /tmp/nnc_test_quantize_%d_*.f32", owner);
    if (system(cmd)) return 1;
    return status;
}
