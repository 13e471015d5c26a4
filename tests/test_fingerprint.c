/* test_fingerprint.c — the layout fingerprint save() writes and load()
 * checks: it must tell apart every two layouts a parameter buffer can have,
 * or load() would put parameters in the wrong places without a word. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "ir.h"
#include "testutil.h"

static Graph *lower_text(const char *src, Program **p)
{
    TuCapture c;
    tu_diag_begin(&c);
    *p = ast_parse("f.nn", src);
    Graph *g = *p ? lower_program(*p, NULL) : NULL;
    free(tu_diag_end(&c));
    ck_assert_ptr_nonnull(g);
    return g;
}

/* --freeze moves a layer's parameters behind the trained ones: another layout */
START_TEST(freezing_changes_the_fingerprint)
{
    Program *p;
    Graph *g = lower_text("model m {\n  input x: f32[4]\n  a = dense(x, 8, relu)\n  b = dense(a, 3)\n}\n", &p);
    uint32_t plain = ir_fingerprint(g, 1);
    for (int v = 0; v < g->nvalues; v++)      /* what deploy_freeze does to layer a */
        if (g->values[v].role == ROLE_PARAM && !strncmp(g->values[v].name, "a.", 2)) g->values[v].trainable = 0;
    ck_assert_uint_ne(ir_fingerprint(g, 1), plain);
    ir_free(g);
    ast_free(p);
}
END_TEST

/* a model with many parameters: a change in the last one still shows */
START_TEST(every_parameter_counts)
{
    char src[16384];
    uint32_t f[2];
    for (int k = 0; k < 2; k++) {
        int len = snprintf(src, sizeof src, "model m {\n  input x: f32[4]\n  h0 = dense(x, 4)\n");
        for (int i = 1; i < 200; i++)
            len += snprintf(src + len, sizeof src - len, "  h%d_a_rather_long_layer_name = dense(h%d%s, 4)\n", i,
                            i - 1, i > 1 ? "_a_rather_long_layer_name" : "");
        snprintf(src + len, sizeof src - len, "  y = dense(h199_a_rather_long_layer_name, %d)\n}\n", k ? 3 : 2);
        Program *p;
        Graph *g = lower_text(src, &p);
        f[k] = ir_fingerprint(g, 1);
        ir_free(g);
        ast_free(p);
    }
    ck_assert_uint_ne(f[0], f[1]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fingerprint");
    TCase *tc = tcase_create("layout");
    tcase_add_test(tc, freezing_changes_the_fingerprint);
    tcase_add_test(tc, every_parameter_counts);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
