/* test_parser.c — the .nn front end: the tree it builds (via ast_dump), the
 * locations it records, and the exact text of its syntax errors. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "diag.h"
#include "testutil.h"

/* Parse `src` as "f.nn"; *errs gets everything diag printed (caller frees). */
static Program *parse(const char *src, char **errs)
{
    TuCapture c;
    tu_diag_begin(&c);
    Program *p = ast_parse("f.nn", src);
    *errs = tu_diag_end(&c);
    return p;
}

static char *dump(const Program *p)
{
    TuCapture c;
    tu_begin(&c);
    ast_dump(p, c.f);
    return tu_end(&c);
}

/* Parse and compare the dump; there must be no errors. */
static void check_dump(const char *src, const char *expected)
{
    char *errs;
    Program *p = parse(src, &errs);
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(errs, "");
    ck_assert_int_eq(diag_error_count(), 0);
    char *d = dump(p);
    ck_assert_str_eq(d, expected);
    free(d);
    free(errs);
    ast_free(p);
}

/* Parse and compare the complete diagnostics output. */
static void check_errors(const char *src, const char *expected, int nerrors)
{
    char *errs;
    Program *p = parse(src, &errs);
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(errs, expected);
    ck_assert_int_eq(diag_error_count(), nerrors);
    free(errs);
    ast_free(p);
}

static void assert_loc(Loc l, int line, int col, int end_line, int end_col)
{
    ck_assert_int_eq(l.line, line);
    ck_assert_int_eq(l.col, col);
    ck_assert_int_eq(l.end_line, end_line);
    ck_assert_int_eq(l.end_col, end_col);
}

static const char *EXAMPLE =
    "# comment\n"
    "model fashion_mlp {\n"
    "    input x: f32[28, 28]\n"
    "    flatten\n"
    "    dense(256, relu)\n"
    "    dense(128, activation = relu, kernel_initializer = he_normal, kernel_regularizer = l2(0.001))\n"
    "    dense(10, softmax)\n"
    "}\n"
    "train fashion_mlp {\n"
    "    loss      sparse_categorical_crossentropy\n"
    "    optimizer adam(lr = 0.001)\n"
    "    metrics   accuracy, precision\n"
    "    batch 32\n"
    "    epochs 5\n"
    "}\n"
    "model tiny_resnet {\n"
    "    input x: f32[32, 32, 3]\n"
    "    a = conv2d(x, 16, 3, padding = same, activation = relu)\n"
    "    b = conv2d(a, 16, 3, padding = same)\n"
    "    c = relu(add(a, b))\n"
    "    y = dense(global_avg_pool(c), 10, softmax)\n"
    "    output y\n"
    "}\n";

/* ---- trees ---------------------------------------------------------------- */

START_TEST(example_dump)
{
    check_dump(EXAMPLE,
        "model fashion_mlp\n"
        "  input x f32[28,28]\n"
        "  layer flatten\n"
        "  layer dense(256, relu)\n"
        "  layer dense(128, activation=relu, kernel_initializer=he_normal, kernel_regularizer=l2(0.001))\n"
        "  layer dense(10, softmax)\n"
        "train fashion_mlp\n"
        "  setting loss sparse_categorical_crossentropy\n"
        "  setting optimizer adam(lr=0.001)\n"
        "  setting metrics accuracy, precision\n"
        "  setting batch 32\n"
        "  setting epochs 5\n"
        "model tiny_resnet\n"
        "  input x f32[32,32,3]\n"
        "  assign a = conv2d(x, 16, 3, padding=same, activation=relu)\n"
        "  assign b = conv2d(a, 16, 3, padding=same)\n"
        "  assign c = relu(add(a, b))\n"
        "  assign y = dense(global_avg_pool(c), 10, softmax)\n"
        "  output y\n");
}
END_TEST

START_TEST(example_structure)
{
    char *errs;
    Program *p = parse(EXAMPLE, &errs);
    ck_assert_str_eq(errs, "");
    free(errs);
    ck_assert_str_eq(p->filename, "f.nn");
    Block *b = p->blocks;
    ck_assert_int_eq(b->kind, BLOCK_MODEL);
    ck_assert_int_eq(b->next->kind, BLOCK_TRAIN);
    ck_assert_str_eq(b->next->name, "fashion_mlp");
    ck_assert_ptr_null(b->next->next->next);

    Stmt *in = b->stmts;
    ck_assert_int_eq(in->kind, ST_INPUT);
    ck_assert_str_eq(in->name, "x");
    ck_assert_str_eq(in->type.dtype, "f32");
    ck_assert_int_eq(in->type.rank, 2);
    ck_assert_int_eq(in->type.dims[0], 28);
    ck_assert_int_eq(in->type.dims[1], 28);

    Expr *d = in->next->next->value;               /* dense(256, relu) */
    ck_assert_int_eq(d->kind, EX_CALL);
    ck_assert_str_eq(d->name, "dense");
    ck_assert_int_eq(d->nargs, 2);
    ck_assert_ptr_null(d->args[0].name);
    ck_assert_int_eq(d->args[0].value->kind, EX_NUMBER);
    ck_assert_int_eq(d->args[0].value->is_int, 1);
    ck_assert(d->args[0].value->num == 256);
    ck_assert_int_eq(d->args[1].value->kind, EX_IDENT);
    ck_assert_str_eq(d->args[1].value->name, "relu");

    Expr *d2 = in->next->next->next->value;        /* dense(128, activation = relu, ...) */
    ck_assert_int_eq(d2->nargs, 4);
    ck_assert_str_eq(d2->args[1].name, "activation");
    ck_assert_str_eq(d2->args[3].name, "kernel_regularizer");
    Expr *l2 = d2->args[3].value;
    ck_assert_int_eq(l2->kind, EX_CALL);
    ck_assert_int_eq(l2->args[0].value->is_int, 0);
    ck_assert_double_eq_tol(l2->args[0].value->num, 0.001, 1e-15);

    Stmt *metrics = b->next->stmts->next->next;
    ck_assert_int_eq(metrics->kind, ST_SETTING);
    ck_assert_str_eq(metrics->name, "metrics");
    ck_assert_int_eq(metrics->nvalues, 2);
    ck_assert_str_eq(metrics->values[1]->name, "precision");

    Stmt *out = b->next->next->stmts;
    while (out->next)
        out = out->next;
    ck_assert_int_eq(out->kind, ST_OUTPUT);
    ck_assert_int_eq(out->nvalues, 1);
    ck_assert_int_eq(out->values[0]->kind, EX_IDENT);
    ck_assert_str_eq(out->values[0]->name, "y");
    ast_free(p);
}
END_TEST

START_TEST(locations)
{
    char *errs;
    Program *p = parse(EXAMPLE, &errs);
    free(errs);
    Block *b = p->blocks;
    assert_loc(b->loc, 2, 1, 8, 2);                /* model ... { ... } */
    assert_loc(b->name_loc, 2, 7, 2, 18);          /* fashion_mlp */

    Stmt *in = b->stmts;                           /*     input x: f32[28, 28] */
    assert_loc(in->loc, 3, 5, 3, 25);
    assert_loc(in->name_loc, 3, 11, 3, 12);
    assert_loc(in->type.loc, 3, 14, 3, 25);
    assert_loc(in->type.dtype_loc, 3, 14, 3, 17);

    assert_loc(in->next->loc, 4, 5, 4, 12);        /* flatten */
    assert_loc(in->next->value->loc, 4, 5, 4, 12);

    Stmt *dense = in->next->next;                  /*     dense(256, relu) */
    assert_loc(dense->loc, 5, 5, 5, 21);
    assert_loc(dense->value->loc, 5, 5, 5, 21);
    assert_loc(dense->value->name_loc, 5, 5, 5, 10);
    assert_loc(dense->value->args[0].value->loc, 5, 11, 5, 14);
    assert_loc(dense->value->args[1].value->loc, 5, 16, 5, 20);

    Expr *d2 = dense->next->value;                 /* dense(128, activation = relu, */
    assert_loc(d2->args[1].name_loc, 6, 16, 6, 26);
    assert_loc(d2->args[1].value->loc, 6, 29, 6, 33);
    assert_loc(d2->args[3].value->loc, 6, 88, 6, 97); /* l2(0.001) */

    Stmt *opt = b->next->stmts->next;              /*     optimizer adam(lr = 0.001) */
    assert_loc(opt->loc, 11, 5, 11, 31);
    assert_loc(opt->name_loc, 11, 5, 11, 14);
    assert_loc(opt->values[0]->loc, 11, 15, 11, 31);

    Stmt *a = b->next->next->stmts->next;          /*     a = conv2d(x, 16, ...) */
    ck_assert_int_eq(a->kind, ST_ASSIGN);
    assert_loc(a->name_loc, 18, 5, 18, 6);
    assert_loc(a->value->loc, 18, 9, 18, 60);
    assert_loc(a->loc, 18, 5, 18, 60);
    ast_free(p);
}
END_TEST

START_TEST(tabs_are_one_column)
{
    char *errs;
    Program *p = parse("model m {\n\t\tdense(3)\n}\n", &errs);
    free(errs);
    assert_loc(p->blocks->stmts->loc, 2, 3, 2, 11);
    ast_free(p);
}
END_TEST

START_TEST(multiline_call_location)
{
    char *errs;
    Program *p = parse("model m {\n  dense(3,\n        relu)\n}\n", &errs);
    ck_assert_str_eq(errs, "");
    free(errs);
    assert_loc(p->blocks->stmts->loc, 2, 3, 3, 14);
    assert_loc(p->blocks->stmts->value->args[1].value->loc, 3, 9, 3, 13);
    ast_free(p);
}
END_TEST

START_TEST(comments_blank_lines_semicolons)
{
    check_dump(
        "\n"
        "# leading comment\n"
        "\n"
        "model m   # trailing comment\n"
        "{\n"
        "\n"
        "    # inside\n"
        "    flatten; dense(3) ;\n"
        "    a = dense(      # newlines inside ( ) are ignored\n"
        "        10,\n"
        "        activation = softmax,\n"
        "    )\n"
        "    input x: f32[\n"
        "        28,\n"
        "        28,\n"
        "    ]\n"
        "    output a   # comment after a statement\n"
        "}\n"
        "model one { flatten }  model two { input x: i32[1]; relu }\n"
        "train m { loss mse; batch 1 }\n"
        "# trailing comment without newline",
        "model m\n"
        "  layer flatten\n"
        "  layer dense(3)\n"
        "  assign a = dense(10, activation=softmax)\n"
        "  input x f32[28,28]\n"
        "  output a\n"
        "model one\n"
        "  layer flatten\n"
        "model two\n"
        "  input x i32[1]\n"
        "  layer relu\n"
        "train m\n"
        "  setting loss mse\n"
        "  setting batch 1\n");
}
END_TEST

START_TEST(crlf_line_endings)
{
    check_dump("model m {\r\n  flatten\r\n  dense(2)\r\n}\r\n",
               "model m\n  layer flatten\n  layer dense(2)\n");
}
END_TEST

START_TEST(keywords_only_start_statements)
{
    /* `input` / `output` are ordinary names outside statement starts */
    check_dump(
        "model m {\n"
        "  input input: f32[2]\n"
        "  output = dense(input, 3)\n"
        "  output\n"
        "  output output, input\n"
        "}\n"
        "train m { input output }\n",
        "model m\n"
        "  input input f32[2]\n"
        "  assign output = dense(input, 3)\n"
        "  layer output\n"
        "  output output, input\n"
        "train m\n"
        "  setting input output\n");
}
END_TEST

START_TEST(numbers)
{
    char *errs;
    Program *p = parse("train m { v 7, -1, 1e-3, .5, 2., -2.5E+2, 0, true, f() }\n", &errs);
    ck_assert_str_eq(errs, "");
    free(errs);
    Stmt *s = p->blocks->stmts;
    ck_assert_int_eq(s->nvalues, 9);
    static const double want[] = { 7, -1, 1e-3, .5, 2., -250, 0 };
    static const int want_int[] = { 1, 1, 0, 0, 0, 0, 1 };
    for (int i = 0; i < 7; i++) {
        ck_assert_int_eq(s->values[i]->kind, EX_NUMBER);
        ck_assert(s->values[i]->num == want[i]);
        ck_assert_int_eq(s->values[i]->is_int, want_int[i]);
    }
    ck_assert_int_eq(s->values[7]->kind, EX_IDENT);     /* true is a name */
    ck_assert_int_eq(s->values[8]->kind, EX_CALL);
    ck_assert_int_eq(s->values[8]->nargs, 0);
    char *d = dump(p);
    ck_assert_str_eq(d, "train m\n  setting v 7, -1, 0.001, 0.5, 2, -250, 0, true, f()\n");
    free(d);
    ast_free(p);
}
END_TEST

START_TEST(empty_inputs)
{
    static const char *const srcs[] = { "", "\n\n\n", "# only a comment", " \t;\n;" };
    for (int i = 0; i < 4; i++) {
        char *errs;
        Program *p = parse(srcs[i], &errs);
        ck_assert_ptr_nonnull(p);
        ck_assert_ptr_null(p->blocks);
        ck_assert_str_eq(errs, "");
        free(errs);
        ast_free(p);
    }
    Program *p = ast_parse("f.nn", NULL);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_null(p->blocks);
    ast_free(p);
    /* an empty block is a block */
    check_dump("model m {}\ntrain m {\n}\n", "model m\ntrain m\n");
}
END_TEST

/* ---- syntax errors: exact text -------------------------------------------- */

START_TEST(error_unexpected_token)
{
    check_errors("model m {\n    dense(256 relu)\n}\n",
        "f.nn:2:15: error: unexpected name 'relu', expected ',' or ')'\n"
        "    dense(256 relu)\n"
        "              ^~~~\n", 1);
    check_errors("model m {\n    y = dense(10,, 3)\n}\n",
        "f.nn:2:18: error: unexpected ',', expected a name, a number, '(' or ')'\n"
        "    y = dense(10,, 3)\n"
        "                 ^\n", 1);
    check_errors("model m {\n    input x f32[3]\n}\n",
        "f.nn:2:13: error: unexpected name 'f32', expected ':'\n"
        "    input x f32[3]\n"
        "            ^~~\n", 1);
    check_errors("model m {\n    a b\n}\n",
        "f.nn:2:7: error: unexpected name 'b', expected '=', ',', '(', end of line or '}'\n"
        "    a b\n"
        "      ^\n", 1);
    check_errors("model m {\n    dense(3); flatten )\n}\n",
        "f.nn:2:23: error: unexpected ')', expected '=', ',', '(', end of line or '}'\n"
        "    dense(3); flatten )\n"
        "                      ^\n", 1);
    check_errors("model m {\n    dense(3;)\n}\n",
        "f.nn:2:12: error: unexpected ';', expected ',' or ')'\n"
        "    dense(3;)\n"
        "           ^\n", 1);
}
END_TEST

START_TEST(error_end_of_line)
{
    /* the caret sits right after the last token, not after the comment */
    check_errors("model m {\n    x =    # todo\n}\n",
        "f.nn:2:8: error: unexpected end of line, expected a name, a number or '('\n"
        "    x =    # todo\n"
        "       ^\n", 1);
    check_errors("train m {\n    loss\n}\n",
        "f.nn:2:9: error: unexpected end of line, expected a name, a number, '=', '[' or '('\n"
        "    loss\n"
        "        ^\n", 1);
}
END_TEST

START_TEST(error_unexpected_character)
{
    check_errors("model m {\n    dense(3) @ 4\n}\n",
        "f.nn:2:14: error: unexpected character '@'\n"
        "    dense(3) @ 4\n"
        "             ^\n", 1);
    check_errors("model m {\n\tx = \x01\n}\n",
        "f.nn:2:6: error: unexpected character '\\x01'\n"
        "\tx = \x01\n"
        "\t    ^\n", 1);
    check_errors("model m {\n  x = \xc3\xa9\n}\n",
        "f.nn:2:7: error: unexpected character '\xc3\xa9'\n"
        "  x = \xc3\xa9\n"
        "      ^\n", 1);
}
END_TEST

START_TEST(error_tab_in_caret_line)
{
    check_errors("model m {\n\tdense(\t256 relu)\n}\n",
        "f.nn:2:13: error: unexpected name 'relu', expected ',' or ')'\n"
        "\tdense(\t256 relu)\n"
        "\t      \t    ^~~~\n", 1);
}
END_TEST

START_TEST(error_missing_close_paren)
{
    check_errors("model m {\n    dense(256, relu\n    dense(10)\n    flatten\n}\n",
        "f.nn:3:5: error: unexpected name 'dense', expected '=', ',', '(' or ')'\n"
        "    dense(10)\n"
        "    ^~~~~\n"
        "f.nn:2:10: note: to match this '('\n"
        "    dense(256, relu\n"
        "         ^\n", 1);
}
END_TEST

START_TEST(error_unclosed_block_at_eof)
{
    check_errors("model m {\n    flatten\n",
        "f.nn:1:9: error: '{' opened here is never closed\n"
        "model m {\n"
        "        ^\n", 1);
    check_errors("model m {\n    dense(10,\n",
        "f.nn:2:10: error: '(' opened here is never closed\n"
        "    dense(10,\n"
        "         ^\n"
        "f.nn:1:9: error: '{' opened here is never closed\n"
        "model m {\n"
        "        ^\n", 2);
    /* the statements before the end are kept */
    char *errs;
    Program *p = parse("model m {\n  flatten\n  relu\n", &errs);
    free(errs);
    char *d = dump(p);
    ck_assert_str_eq(d, "model m\n  layer flatten\n  layer relu\n");
    free(d);
    ast_free(p);
}
END_TEST

START_TEST(error_missing_brace_before_next_block)
{
    char *errs;
    Program *p = parse("model m {\n    flatten\n\ntrain m {\n    loss mse\n}\n", &errs);
    ck_assert_str_eq(errs,
        "f.nn:4:1: error: expected '}' before 'train'\n"
        "train m {\n"
        "^~~~~\n"
        "f.nn:1:9: note: to match this '{'\n"
        "model m {\n"
        "        ^\n");
    ck_assert_int_eq(diag_error_count(), 1);
    free(errs);
    /* the next block is parsed normally */
    char *d = dump(p);
    ck_assert_str_eq(d, "model m\n  layer flatten\ntrain m\n  setting loss mse\n");
    free(d);
    assert_loc(p->blocks->next->loc, 4, 1, 6, 2);
    ast_free(p);
}
END_TEST

START_TEST(error_block_header)
{
    check_errors("modle m {\n    flatten\n}\nmodel k { relu }\n",
        "f.nn:1:1: error: unexpected name 'modle', expected 'model' or 'train'; did you mean 'model'?\n"
        "modle m {\n"
        "^~~~~\n", 1);
    check_errors("model m",
        "f.nn:1:8: error: unexpected end of file, expected '{'\n"
        "model m\n"
        "       ^\n", 1);
    check_errors("model m {\n}\n}\n",
        "f.nn:3:1: error: unexpected '}', expected 'model' or 'train'\n"
        "}\n"
        "^\n", 1);
    check_errors("model {\n}\n",
        "f.nn:1:7: error: unexpected '{', expected a name\n"
        "model {\n"
        "      ^\n", 1);
}
END_TEST

START_TEST(error_misspelt_statement_keyword)
{
    check_errors("model m {\n    inptu x: f32[3]\n\toutptu y\n}\n",
        "f.nn:2:5: error: unknown statement 'inptu'; did you mean 'input'?\n"
        "    inptu x: f32[3]\n"
        "    ^~~~~\n"
        "f.nn:3:2: error: unknown statement 'outptu'; did you mean 'output'?\n"
        "\toutptu y\n"
        "\t^~~~~~\n", 2);
}
END_TEST

START_TEST(error_dims)
{
    check_errors("model m {\n  input x: f32[0, 99999999999, 2.5]\n}\n",
        "f.nn:2:16: error: dimension '0' must be a positive integer\n"
        "  input x: f32[0, 99999999999, 2.5]\n"
        "               ^\n"
        "f.nn:2:19: error: dimension '99999999999' is too large (at most 2147483647)\n"
        "  input x: f32[0, 99999999999, 2.5]\n"
        "                  ^~~~~~~~~~~\n"
        "f.nn:2:32: error: dimension '2.5' must be a positive integer\n"
        "  input x: f32[0, 99999999999, 2.5]\n"
        "                               ^~~\n", 3);
    check_errors("model m {\n  input x: f32[-4]\n}\n",
        "f.nn:2:16: error: dimension '-4' must be a positive integer\n"
        "  input x: f32[-4]\n"
        "               ^~\n", 1);
    check_errors("model m {\n  input x: f32[1,1,1,1,1,1,1,1,1,1]\n}\n",
        "f.nn:2:32: error: too many dimensions: at most 8\n"
        "  input x: f32[1,1,1,1,1,1,1,1,1,1]\n"
        "                               ^\n", 1);
    check_errors("model m {\n  input x: f32[]\n}\n",
        "f.nn:2:16: error: unexpected ']', expected a number\n"
        "  input x: f32[]\n"
        "               ^\n", 1);
}
END_TEST

START_TEST(error_numbers)
{
    check_errors("model m {\n  dense(1e999, 32abc)\n}\n",
        "f.nn:2:9: error: number '1e999' is out of range\n"
        "  dense(1e999, 32abc)\n"
        "        ^~~~~\n"
        "f.nn:2:16: error: invalid number '32abc'\n"
        "  dense(1e999, 32abc)\n"
        "               ^~~~~\n", 2);
}
END_TEST

START_TEST(several_errors_in_one_run)
{
    char *errs;
    Program *p = parse(
        "model m {\n"
        "    input x: f32[28, 28]\n"
        "    dense(256 relu)\n"
        "    x = \n"
        "    dense(128, relu)\n"
        "    @foo\n"
        "    dense(10, softmax)\n"
        "}\n", &errs);
    ck_assert_int_eq(diag_error_count(), 3);
    ck_assert_str_eq(errs,
        "f.nn:3:15: error: unexpected name 'relu', expected ',' or ')'\n"
        "    dense(256 relu)\n"
        "              ^~~~\n"
        "f.nn:4:8: error: unexpected end of line, expected a name, a number or '('\n"
        "    x = \n"
        "       ^\n"
        "f.nn:6:5: error: unexpected character '@'\n"
        "    @foo\n"
        "    ^\n");
    free(errs);
    /* the good lines around the bad ones are all there */
    char *d = dump(p);
    ck_assert_str_eq(d,
        "model m\n"
        "  input x f32[28,28]\n"
        "  layer dense(128, relu)\n"
        "  layer dense(10, softmax)\n");
    free(d);
    ast_free(p);
}
END_TEST

START_TEST(consecutive_bad_lines_each_reported)
{
    check_errors("train m {\n  = 1\n  = 2\n  = 3\n}\n",
        "f.nn:2:3: error: unexpected '=', expected a name, end of line or '}'\n"
        "  = 1\n"
        "  ^\n"
        "f.nn:3:3: error: unexpected '=', expected a name, end of line or '}'\n"
        "  = 2\n"
        "  ^\n"
        "f.nn:4:3: error: unexpected '=', expected a name, end of line or '}'\n"
        "  = 3\n"
        "  ^\n", 3);
}
END_TEST

/* ---- robustness ----------------------------------------------------------- */

START_TEST(deep_nesting)
{
    int depth = 1000;
    size_t n = (size_t)depth * 3 + 64;
    char *src = malloc(n);
    strcpy(src, "model m {\n  x = ");
    for (int i = 0; i < depth; i++)
        strcat(src, "f(");
    strcat(src, "1");
    for (int i = 0; i < depth; i++)
        strcat(src, ")");
    strcat(src, "\n}\n");
    char *errs;
    Program *p = parse(src, &errs);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(diag_error_count(), 1);
    ck_assert_ptr_nonnull(strstr(errs, "f.nn:2:"));
    ck_assert_ptr_nonnull(strstr(errs, ": error: expression nested too deeply"));
    free(errs);
    ast_free(p);

    /* 100 levels are fine */
    strcpy(src, "model m {\n  x = ");
    for (int i = 0; i < 100; i++)
        strcat(src, "f(");
    for (int i = 0; i < 100; i++)
        strcat(src, ")");
    strcat(src, "\n}\n");
    p = parse(src, &errs);
    ck_assert_str_eq(errs, "");
    free(errs);
    ast_free(p);

    /* 1000 open parens: one error, no crash, later blocks still parsed */
    strcpy(src, "model m {\n  x = ");
    for (int i = 0; i < depth; i++)
        strcat(src, "(");
    strcat(src, "\n}\nmodel k { relu }\n");
    p = parse(src, &errs);
    ck_assert_int_eq(diag_error_count(), 1);
    ck_assert_str_eq(p->blocks->next->name, "k");
    free(errs);
    ast_free(p);
    free(src);
}
END_TEST

START_TEST(garbage_does_not_crash)
{
    /* every byte value once, then pseudo-random bytes and token soup */
    char all[256];
    for (int i = 1; i < 256; i++)
        all[i - 1] = (char)i;
    all[255] = '\0';
    char *errs;
    Program *p = parse(all, &errs);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_ge(diag_error_count(), 1);
    free(errs);
    ast_free(p);

    static const char *const soup[] = { "model", "train", "input", "output", "x", "(", ")",
                                        "[", "]", "{", "}", "=", ":", ",", ";", "\n", "3",
                                        "-", "1e9999", "#", "\t", "\xff", "\xc3" };
    unsigned s = 12345;
    char buf[2048];
    for (int round = 0; round < 300; round++) {
        size_t len = 0;
        int ntok = (int)((s = s * 1103515245u + 12345u) >> 16) % 200;
        for (int t = 0; t < ntok; t++) {
            s = s * 1103515245u + 12345u;
            const char *piece;
            char byte[2] = { 0, 0 };
            if (round % 2) {
                byte[0] = (char)(((s >> 16) % 255) + 1);
                piece = byte;
            } else {
                piece = soup[(s >> 16) % (sizeof soup / sizeof soup[0])];
            }
            size_t pl = strlen(piece);
            if (len + pl + 1 >= sizeof buf)
                break;
            memcpy(buf + len, piece, pl);
            len += pl;
            buf[len++] = ' ';
        }
        buf[len] = '\0';
        p = parse(buf, &errs);
        ck_assert_ptr_nonnull(p);
        /* an error count of zero must mean a clean parse: no silent failures */
        if (diag_error_count() == 0)
            ck_assert_str_eq(errs, "");
        else
            ck_assert_ptr_nonnull(strstr(errs, "error: "));
        free(errs);
        ast_free(p);
    }
}
END_TEST

START_TEST(large_file_is_quick)
{
    size_t n = 20000;
    char *src = malloc(n * 40 + 64);
    char *w = src;
    w += sprintf(w, "model big {\n");
    for (size_t i = 0; i < n; i++)
        w += sprintf(w, "  v%zu = dense(v%zu, %zu, relu)\n", i + 1, i, i % 100 + 1);
    sprintf(w, "}\n");
    char *errs;
    Program *p = parse(src, &errs);
    ck_assert_str_eq(errs, "");
    size_t count = 0;
    for (Stmt *s = p->blocks->stmts; s; s = s->next)
        count++;
    ck_assert_uint_eq(count, n);
    free(errs);
    ast_free(p);
    free(src);
}
END_TEST

static Suite *parser_suite(void)
{
    Suite *s = suite_create("parser");
    TCase *tc = tcase_create("tree");
    tcase_add_test(tc, example_dump);
    tcase_add_test(tc, example_structure);
    tcase_add_test(tc, locations);
    tcase_add_test(tc, tabs_are_one_column);
    tcase_add_test(tc, multiline_call_location);
    tcase_add_test(tc, comments_blank_lines_semicolons);
    tcase_add_test(tc, crlf_line_endings);
    tcase_add_test(tc, keywords_only_start_statements);
    tcase_add_test(tc, numbers);
    tcase_add_test(tc, empty_inputs);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_test(tc, error_unexpected_token);
    tcase_add_test(tc, error_end_of_line);
    tcase_add_test(tc, error_unexpected_character);
    tcase_add_test(tc, error_tab_in_caret_line);
    tcase_add_test(tc, error_missing_close_paren);
    tcase_add_test(tc, error_unclosed_block_at_eof);
    tcase_add_test(tc, error_missing_brace_before_next_block);
    tcase_add_test(tc, error_block_header);
    tcase_add_test(tc, error_misspelt_statement_keyword);
    tcase_add_test(tc, error_dims);
    tcase_add_test(tc, error_numbers);
    tcase_add_test(tc, several_errors_in_one_run);
    tcase_add_test(tc, consecutive_bad_lines_each_reported);
    suite_add_tcase(s, tc);

    tc = tcase_create("robustness");
    tcase_add_test(tc, deep_nesting);
    tcase_add_test(tc, garbage_does_not_crash);
    tcase_add_test(tc, large_file_is_quick);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(parser_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
