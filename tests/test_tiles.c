/* test_tiles.c — tiling (passes/tile.c, runtime/gemm.c's
 * nnc_rt_gemm_tiles_for), the targets (compiler/target.c), the constant
 * kernels in panels (passes/pack_weights.c) and nnc --report. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "ast.h"
#include "ir.h"
#include "nnc_rt.h"

static Graph *compile(const char *src) {
    diag_init("t.nn", src);
    diag_set_output(stderr);
    Program *p = ast_parse("t.nn", src);
    ck_assert_int_eq(diag_error_count(), 0);
    Graph *g = lower_program(p, NULL);
    ck_assert_ptr_nonnull(g);
    fuse_loss(g);
    fuse_act(g);
    ad_build(g);
    ast_free(p);
    return g;
}

static const char *mlp =
    "model m {\n  input x: f32[784]\n  dense(256, relu)\n  dense(10, softmax)\n}\n"
    "train m {\n  loss sparse_categorical_crossentropy\n  optimizer adam\n  batch 32\n}\n";

/* the default target describes the kernels of the runtime nnc is linked
 * with, field for field: the table cannot drift from runtime/gemm.c */
START_TEST(default_target_is_the_runtime) {
    const nnc_rt_gemm_target *n = nnc_rt_gemm_native(), *t = &target_default()->gemm;
    ck_assert_str_eq(t->isa, n->isa);
    ck_assert_int_eq(t->mr, n->mr);
    ck_assert_int_eq(t->nr, n->nr);
    ck_assert_int_eq(t->narrow_mr, n->narrow_mr);
    ck_assert_int_eq(t->narrow_nr, n->narrow_nr);
    ck_assert_int_eq(t->l1_bytes, n->l1_bytes);
    ck_assert_int_eq(t->buf_floats, n->buf_floats);
    ck_assert_int_eq(t->small_m_cols, n->small_m_cols);
    ck_assert_int_eq(t->narrow_at, n->narrow_at);
    ck_assert_ptr_null(target_find("x86-64-avx1024"));
    ck_assert_ptr_nonnull(target_find("cortex-m"));
}
END_TEST

/* the decisions themselves, on the AVX-512 target's description */
START_TEST(tiles_by_shape) {
    const nnc_rt_gemm_target *t = &target_find("x86-64-avx512")->gemm;
    nnc_rt_gemm_tiles tl;
    nnc_rt_gemm_tiles_for(t, 0, 0, 32, 256, 784, 0, &tl);        /* the MLP's first layer, batch 32 */
    ck_assert_int_eq(tl.path, NNC_RT_GEMM_BLOCKED);
    ck_assert_int_eq(tl.mr, 8);
    ck_assert_int_eq(tl.nr, 32);
    ck_assert_int_eq(tl.kblocks, 4);                        /* 784 = 4 x 196, each <= 256 */
    ck_assert_int_eq(tl.kc, 196);
    ck_assert_int_eq(tl.b, NNC_RT_GEMM_B_IN_PLACE);
    nnc_rt_gemm_tiles_for(t, 0, 0, 256, 10, 128, 0, &tl);         /* ten classes: the narrow kernel */
    ck_assert_int_eq(tl.mr, 16);
    ck_assert_int_eq(tl.nr, 16);
    ck_assert_int_eq(tl.b, NNC_RT_GEMM_B_PACKED);           /* 256 rows: packing pays */
    nnc_rt_gemm_tiles_for(t, 0, 0, 256, 256, 784, 1, &tl);     /* ... unless B is in 32-wide panels */
    ck_assert_int_eq(tl.b, NNC_RT_GEMM_B_IN_PLACE);
    nnc_rt_gemm_tiles_for(t, 0, 1, 32, 256, 128, 0, &tl);         /* B transposed: always packed */
    ck_assert_int_eq(tl.b, NNC_RT_GEMM_B_PACKED);
    nnc_rt_gemm_tiles_for(t, 0, 0, 1, 256, 784, 0, &tl);          /* one sample */
    ck_assert_int_eq(tl.path, NNC_RT_GEMM_SMALL_M);
    ck_assert_int_eq(tl.nr, 64);
    nnc_rt_gemm_tiles_for(t, 0, 0, 784, 256, 1, 0, &tl);          /* a rank-1 update */
    ck_assert_int_eq(tl.path, NNC_RT_GEMM_SMALL_K);
    nnc_rt_gemm_tiles_for(t, 1, 0, 21632, 10, 32, 0, &tl);       /* dW of ten classes: the 16x16 kernel here */
    ck_assert_int_eq(tl.path, NNC_RT_GEMM_BLOCKED);
    /* AVX2: that product by rows of 16 (gemm_small.c), up to 12 columns, A^T only */
    t = &target_find("x86-64-avx2")->gemm;
    nnc_rt_gemm_tiles_for(t, 1, 0, 21632, 10, 32, 0, &tl);
    ck_assert_int_eq(tl.path, NNC_RT_GEMM_NARROW_AT);
    ck_assert_int_eq(tl.mr, 6);                             /* the blocked tiling beside it */
    nnc_rt_gemm_tiles_for(t, 1, 0, 21632, 13, 32, 0, &tl);
    ck_assert_int_eq(tl.path, NNC_RT_GEMM_BLOCKED);
    nnc_rt_gemm_tiles_for(t, 0, 0, 21632, 10, 32, 0, &tl);
    ck_assert_int_eq(tl.path, NNC_RT_GEMM_BLOCKED);
    nnc_rt_gemm_tiles_for(t, 1, 0, 15, 10, 32, 0, &tl);
    ck_assert_int_eq(tl.path, NNC_RT_GEMM_BLOCKED);
    nnc_rt_gemm_tiles_for(t, 0, 0, 32, 10, 21632, 0, &tl);      /* its forward product: dot products */
    ck_assert_int_eq(tl.path, NNC_RT_GEMM_NARROW_DOT);
    nnc_rt_gemm_tiles_for(t, 0, 0, 256, 10, 21632, 1, &tl);     /* ... up to 128 rows */
    ck_assert_int_eq(tl.path, NNC_RT_GEMM_BLOCKED);
    nnc_rt_gemm_tiles_for(t, 0, 0, 32, 10, 16, 0, &tl);         /* ... and from K = 32 */
    ck_assert_int_eq(tl.path, NNC_RT_GEMM_BLOCKED);
    /* no cache and a 4 KiB buffer: K blocks that fit it, the narrow small-M path */
    t = &target_find("cortex-m")->gemm;
    nnc_rt_gemm_tiles_for(t, 0, 0, 32, 256, 784, 0, &tl);
    ck_assert_int_le((long)tl.kc * (tl.mr + tl.nr), t->buf_floats);
    ck_assert_int_ge((long)tl.kc * tl.kblocks, 784);
    nnc_rt_gemm_tiles_for(t, 0, 0, 1, 256, 784, 0, &tl);
    ck_assert_int_eq(tl.nr, 8);
}
END_TEST

/* the pass records, in each GEMM node, what the function decides for the
 * node's shape at the full batch */
START_TEST(pass_records_tiles) {
    Graph *g = compile(mlp);
    const Target *t = target_find("x86-64-avx2");
    int gemms = 0;
    tile_gemms(g, t);
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        long mnk[3];
        int ta, tb;
        if (n->dead || !op_table[n->op]->gemm) {
            ck_assert_int_eq(n->tiles.path, 0);
            continue;
        }
        ck_assert(op_table[n->op]->gemm(g, n, 32, mnk, &ta, &tb));
        nnc_rt_gemm_tiles tl;
        nnc_rt_gemm_tiles_for(&t->gemm, ta, tb, (int)mnk[0], (int)mnk[1], (int)mnk[2], 0, &tl);
        ck_assert_int_eq(memcmp(&tl, &n->tiles, sizeof tl), 0);
        gemms++;
    }
    ck_assert_int_eq(gemms, 2 + 3);   /* two dense; dx of the second, dW of both */
    ir_free(g);
}
END_TEST

/* --report: a line per scheduled node with its tiles and fusions */
START_TEST(report_lines) {
    Graph *g = compile(mlp);
    const Target *t = target_find("x86-64-avx512");
    Plan p;
    static char buf[1 << 16];
    tile_gemms(g, t);
    plan_build(g, &p);
    FILE *f = fmemopen(buf, sizeof buf, "w");
    report_print(g, &p, t, f);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(buf, "target x86-64-avx512: avx512 kernels 8x32 (16x16 for N <= 16)"));
    const char *d = strstr(buf, "forward  dense");
    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_nonnull(strstr(d, "8x32, kc 196 x4, B in place"));
    ck_assert_ptr_nonnull(strstr(d, "bias relu epilogue"));
    ck_assert_ptr_nonnull(strstr(buf, "adam over the flat parameter block"));
    /* 2 * 32 * (784*256 + 256*10) forward, as the dense FLOPs say */
    ck_assert_ptr_nonnull(strstr(buf, "12861.4"));
    plan_free(&p);
    ir_free(g);
}
END_TEST

/* --report on convolutions: the kernel each takes on the target (the
 * runtime's nnc_rt_conv2d_path), and a pointwise one's GEMM tiles */
static void report_of(const char *src, const char *target, char *buf, size_t cap) {
    Graph *g = compile(src);
    const Target *t = target_find(target);
    Plan p;
    tile_gemms(g, t);
    plan_build(g, &p);
    FILE *f = fmemopen(buf, cap, "w");
    report_print(g, &p, t, f);
    fclose(f);
    plan_free(&p);
    ir_free(g);
}

START_TEST(report_convolutions) {
    static const char *cnn =
        "model c {\n  input x: f32[8, 8, 3]\n  conv2d(16, 3, activation = relu)\n"
        "  depthwise_conv2d(3, padding = same)\n  conv2d(24, 1)\n  flatten\n  dense(10, softmax)\n}\n"
        "train c {\n  loss sparse_categorical_crossentropy\n  optimizer adam\n  batch 4\n}\n";
    static char buf[1 << 16];
    report_of(cnn, "x86-64-avx512", buf, sizeof buf);
    const char *c0 = strstr(buf, "forward  conv2d"), *dw = strstr(buf, "forward  depthwise_conv2d");
    ck_assert_ptr_nonnull(c0);
    ck_assert_ptr_nonnull(dw);
    ck_assert_ptr_nonnull(strstr(c0, "direct kernel"));
    ck_assert_ptr_nonnull(strstr(dw, "depthwise kernel"));
    const char *pw = strstr(dw, "forward  conv2d");   /* 1x1: a dense layer over 4 * 6 * 6 pixels */
    ck_assert_ptr_nonnull(pw);
    ck_assert_ptr_nonnull(strstr(pw, "8x32, kc 16 x1, B packed"));
    /* 2 * 4 * 6*6*16 * 3*3*3 + bias + relu for the first */
    ck_assert_ptr_nonnull(strstr(c0, " 129.0 "));
    report_of(cnn, "generic", buf, sizeof buf);   /* no direct kernels there */
    ck_assert_ptr_nonnull(strstr(strstr(buf, "forward  conv2d"), "im2col + GEMM"));
}
END_TEST

/* --report names Winograd for a 3x3 layer whose constant kernel is in
 * panels when this build's kernels take it, and the direct kernel for the
 * same layer trained (its kernel row-major) */
START_TEST(report_winograd) {
    static const char *src =
        "model w {\n  input x: f32[16, 16, 64]\n  conv2d(64, 3, padding = same)\n  flatten\n  dense(10)\n}\n"
        "train w {\n  loss sparse_categorical_crossentropy\n  optimizer adam\n  batch 2\n}\n";
    static char buf[1 << 16];
    for (int constant = 0; constant < 2; constant++) {
        Graph *g = compile(src);
        const Target *t = target_default();
        const Node *conv = NULL;
        Plan p;
        for (int i = 0; i < g->nnodes; i++)
            if (g->nodes[i].op == OP_CONV2D && !conv) conv = &g->nodes[i];
        ck_assert_ptr_nonnull(conv);
        if (constant) {
            g->values[conv->in[1]].constant = 1;
            pack_weights(g);
            ck_assert_int_eq(g->values[conv->in[1]].panels, 1);
        }
        tile_gemms(g, t);
        plan_build(g, &p);
        FILE *f = fmemopen(buf, sizeof buf, "w");
        report_print(g, &p, t, f);
        fclose(f);
        const char *line = strstr(buf, "forward  conv2d");
        ck_assert_ptr_nonnull(line);
        int direct = !strcmp(t->gemm.isa, "avx512") || !strcmp(t->gemm.isa, "avx2");
        const char *want = constant && direct && nnc_rt_conv2d_winograd(&conv->attr.conv) ? "Winograd F(2x2,3x3)"
                           : direct ? "direct kernel" : "im2col + GEMM";
        ck_assert_msg(strstr(line, want) && strstr(line, want) < strchr(line, '\n'), "want %s in: %.160s", want, line);
        plan_free(&p);
        ir_free(g);
    }
}
END_TEST

/* a baked constant kernel no other node reads goes into panels; one the
 * backward pass also reads (dx of the layer above a trained one, here)
 * stays row-major.  (The constants are marked after autodiff to keep the
 * second reader: a frozen layer below a trained one has it too.) */
START_TEST(pack_constant_kernels) {
    Graph *g = compile(mlp);
    int first = -1, second = -1;
    for (int v = 0; v < g->nvalues; v++) {
        if (g->values[v].role != ROLE_PARAM) continue;
        g->values[v].constant = 1;
        if (!strcmp(g->values[v].name, "dense.kernel")) first = v;
        if (!strcmp(g->values[v].name, "dense_1.kernel")) second = v;
    }
    ck_assert_int_ge(first, 0);
    ck_assert_int_ge(second, 0);
    pack_weights(g);
    ck_assert_int_eq(g->values[first].panels, 1);
    ck_assert_int_eq(g->values[second].panels, 0);
    for (int v = 0; v < g->nvalues; v++)   /* biases: not a GEMM's B */
        if (v != first) ck_assert_int_eq(g->values[v].panels, 0);
    ir_free(g);
}
END_TEST

Suite *tiles_suite(void) {
    Suite *s = suite_create("tiles");
    TCase *t = tcase_create("tiles");
    tcase_add_test(t, default_target_is_the_runtime);
    tcase_add_test(t, tiles_by_shape);
    tcase_add_test(t, pass_records_tiles);
    tcase_add_test(t, report_lines);
    tcase_add_test(t, report_convolutions);
    tcase_add_test(t, report_winograd);
    tcase_add_test(t, pack_constant_kernels);
    suite_add_tcase(s, t);
    return s;
}

int main(void) {
    SRunner *r = srunner_create(tiles_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
