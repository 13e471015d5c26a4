/* test_cli.c — what the command line does with hostile or careless input:
 * an output path that is the model itself, a byte-order mark, a file
 * without end, names too long to keep, a weights file no training wrote,
 * and that a failed run leaves no file or temporary behind.  Runs bin/nnc (or $NNC, e.g. a sanitizer build) in a
 * scratch folder; names built past IR_NAME are checked in-process.
 */
#include <check.h>
#include "check_run.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ast.h"
#include "ir.h"
#include "model_build.h"

static const char *model =
    "model m {\n    input x: f32[4]\n    dense(3, relu)\n    dense(2, softmax)\n}\n"
    "train m {\n    loss sparse_categorical_crossentropy\n    optimizer adam\n}\n";

/* nnc ARGS in the scratch folder */
static int nnc_in_dir(const char *args, char *out, size_t cap) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cd %s && %s %s", dir, nnc, args);
    return run(cmd, out, cap);
}

static void write_file(const char *name, const char *prefix, const char *text) {
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(prefix, f);
    fputs(text, f);
    fclose(f);
}

static char *read_file(const char *name) {
    static char buf[8192];
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* files in the scratch folder whose name contains s */
static int files_with(const char *s) {
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int k = 0;
    for (struct dirent *e; (e = readdir(d));) k += strstr(e->d_name, s) != NULL;
    closedir(d);
    return k;
}

START_TEST(output_is_not_the_input)
{
    char out[4096];
    write_file("self.c", "", model);
    ck_assert_int_eq(nnc_in_dir("self.c -o self.c", out, sizeof out), 2);
    ck_assert_ptr_nonnull(strstr(out, "is the input file"));
    ck_assert_str_eq(read_file("self.c"), model);
    write_file("self.h", "", model);      /* the header beside the output is the model */
    ck_assert_int_eq(nnc_in_dir("self.h -o self.c", out, sizeof out), 2);
    ck_assert_str_eq(read_file("self.h"), model);
}
END_TEST

START_TEST(byte_order_mark_is_skipped)
{
    char out[4096];
    write_file("bom.nn", "\xEF\xBB\xBF", model);
    ck_assert_int_eq(nnc_in_dir("bom.nn -o bom.c", out, sizeof out), 0);
    ck_assert_ptr_nonnull(read_file("bom.h"));
}
END_TEST

START_TEST(endless_input_is_refused)
{
    char out[4096];
    ck_assert_int_eq(nnc_in_dir("/dev/zero -o zero.c", out, sizeof out), 1);
    ck_assert_ptr_nonnull(strstr(out, "larger than 64 MiB"));
    ck_assert_ptr_null(read_file("zero.c"));
}
END_TEST

START_TEST(long_names_refused_not_cut)
{
    char out[4096], text[1024], name[101];
    memset(name, 'a', 100);
    name[100] = 0;
    snprintf(text, sizeof text, "model m {\n    input x: f32[4]\n    %s = dense(x, 2)\n    output %s\n}\n", name, name);
    write_file("long.nn", "", text);
    ck_assert_int_eq(nnc_in_dir("long.nn -o long.c", out, sizeof out), 1);
    ck_assert_ptr_nonnull(strstr(out, "long.nn:3:5: error: the name 'aaaaaaaaaaaaaaaaaaaa...' is 100 characters "
                                      "long; nnc keeps names of up to 96"));
    ck_assert_ptr_null(strstr(out, "unknown layer"));   /* its use is not a second error */
    ck_assert_ptr_null(read_file("long.c"));
}
END_TEST

START_TEST(failed_runs_leave_nothing)
{
    char out[4096];
    write_file("bad.nn", "", "model m {\n    input x: f32[4]\n    dense(0)\n}\n");
    ck_assert_int_eq(nnc_in_dir("bad.nn -o bad.c", out, sizeof out), 1);
    ck_assert_int_eq(files_with("bad.c"), 0);
    ck_assert_int_eq(files_with("bad.h"), 0);
    ck_assert_int_eq(files_with(".tmp"), 0);
}
END_TEST

/* a weights file whose batch norm variance is negative (no training writes
 * one; folded into the layer it would become NaN) is refused, naming it */
START_TEST(negative_variance_refused)
{
    const char *src = "model bn {\n    input x: f32[3]\n    batch_norm\n    dense(2, softmax)\n}\n"
                      "train bn {\n    loss sparse_categorical_crossentropy\n    optimizer adam\n}\n";
    write_file("bn.nn", "", src);
    Program *p = ast_parse("bn.nn", src);   /* the layout save() writes, as deploy_bake reads it */
    Graph *g = p ? lower_program(p, NULL) : NULL;
    ck_assert_ptr_nonnull(g);
    long count = plan_params(g, NULL, NULL);
    float *params = calloc((size_t)count, sizeof *params);
    ck_assert_ptr_nonnull(params);
    for (int v = 0; v < g->nvalues; v++)
        if (strstr(g->values[v].name, ".moving_variance")) params[g->values[v].offset + 1] = -0.5f;
    static unsigned char buf[1 << 16];
    size_t len = nnc_rt_params_save(buf, sizeof buf, params, count, ir_fingerprint(g, 0));
    ck_assert_uint_gt(len, 0);
    char path[128], out[4096];
    snprintf(path, sizeof path, "%s/bn.weights", dir);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
    fclose(f);
    ck_assert_int_eq(nnc_in_dir("bn.nn --inference --weights bn.weights -o bn.c", out, sizeof out), 1);
    ck_assert_msg(strstr(out, "holds a negative moving variance in 'batch_norm.moving_variance' (channel 1)"), "%s", out);
    ck_assert_ptr_null(read_file("bn.c"));
    free(params);
    ir_free(g);
    ast_free(p);
}
END_TEST

/* names nnc builds past IR_NAME keep their head and differ by a hash */
START_TEST(built_names_never_collide)
{
    char a[IR_NAME], b[IR_NAME], c[IR_NAME], head[300];
    memset(head, 'n', 250);
    head[250] = 0;
    ir_format_name(a, "%s/%s", head, "kernel");
    ir_format_name(b, "%s/%s", head, "bias");
    ir_format_name(c, "%s/%s", head, "kernel");
    ck_assert_int_eq((int)strlen(a), IR_NAME - 1);
    ck_assert_str_ne(a, b);
    ck_assert_str_eq(a, c);
    ck_assert_int_eq(strncmp(a, head, IR_NAME - 10), 0);
    ir_format_name(a, "%s.%s", "dense", "kernel");     /* short names are kept as they are */
    ck_assert_str_eq(a, "dense.kernel");
}
END_TEST

int main(void) {
    const TTest *tests[] = { output_is_not_the_input, byte_order_mark_is_skipped, endless_input_is_refused,
                             long_names_refused_not_cut, failed_runs_leave_nothing, built_names_never_collide,
                             negative_variance_refused, NULL };
    const kernel_case cases[] = { { "cli", tests, 0, 0 } };
    if (model_build_init("tmp-cli")) return 1;
    int status = run_cases("cli", cases, 1);
    return model_build_done() ? 1 : status;
}
