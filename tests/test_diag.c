/* test_diag.c — the exact text of diagnostics (header, source line, caret)
 * and the did-you-mean suggestions. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "testutil.h"

static Loc L(int line, int col, int end_line, int end_col)
{
    Loc l = { line, col, end_line, end_col };
    return l;
}

static const char *SRC =
    "model fashion {\n"
    "    dense2(128, relu)\n"
    "\tdense(10)\n"
    "  x = \xc3\xa9t\xc3\xa9 + y\n"
    "}\n";

/* Report one error at `loc` on SRC and return the text printed (freed by the
 * caller). */
static char *error_text(Loc loc, const char *msg)
{
    TuCapture c;
    diag_init("fashion.nn", SRC);
    tu_diag_begin(&c);
    diag_error(loc, "%s", msg);
    return tu_diag_end(&c);
}

START_TEST(error_with_range)
{
    char *s = error_text(L(2, 5, 2, 11), "unknown layer 'dense2'; did you mean 'dense'?");
    ck_assert_str_eq(s,
        "fashion.nn:2:5: error: unknown layer 'dense2'; did you mean 'dense'?\n"
        "    dense2(128, relu)\n"
        "    ^~~~~~\n");
    free(s);
    ck_assert_int_eq(diag_error_count(), 1);
}
END_TEST

/* a new run may name the current one's file (nnc --train parses its recipe
 * under the name diag_filename() gives) */
START_TEST(init_with_the_current_file_name)
{
    TuCapture c;
    char *out;
    diag_init("--train/--optimizer", "first");
    diag_init(diag_filename(), "loss bogus\n");
    ck_assert_str_eq(diag_filename(), "--train/--optimizer");
    tu_diag_begin(&c);
    diag_error(L(1, 6, 1, 11), "unknown loss 'bogus'");
    out = tu_diag_end(&c);
    ck_assert_str_eq(out, "--train/--optimizer:1:6: error: unknown loss 'bogus'\nloss bogus\n     ^~~~~\n");
    free(out);
}
END_TEST

START_TEST(range_of_one_is_a_caret)
{
    char *s = error_text(L(2, 11, 2, 12), "here");
    ck_assert_str_eq(s,
        "fashion.nn:2:11: error: here\n"
        "    dense2(128, relu)\n"
        "          ^\n");
    free(s);
    /* an empty range (end == start) is a caret too */
    s = error_text(L(2, 11, 2, 11), "here");
    ck_assert_str_eq(s,
        "fashion.nn:2:11: error: here\n"
        "    dense2(128, relu)\n"
        "          ^\n");
    free(s);
}
END_TEST

START_TEST(tab_is_copied_in_caret_line)
{
    char *s = error_text(L(3, 2, 3, 7), "unknown layer");
    ck_assert_str_eq(s,
        "fashion.nn:3:2: error: unknown layer\n"
        "\tdense(10)\n"
        "\t^~~~~\n");
    free(s);
}
END_TEST

START_TEST(utf8_takes_one_column_in_caret_line)
{
    /* "  x = été + y": 'y' is byte column 15 but the 13th character */
    char *s = error_text(L(4, 15, 4, 16), "unknown name 'y'");
    ck_assert_str_eq(s,
        "fashion.nn:4:15: error: unknown name 'y'\n"
        "  x = \xc3\xa9t\xc3\xa9 + y\n"
        "            ^\n");
    free(s);
    /* a range over "été" is three characters wide */
    s = error_text(L(4, 7, 4, 12), "here");
    ck_assert_str_eq(s,
        "fashion.nn:4:7: error: here\n"
        "  x = \xc3\xa9t\xc3\xa9 + y\n"
        "      ^~~\n");
    free(s);
}
END_TEST

START_TEST(multiline_range_stops_at_end_of_line)
{
    char *s = error_text(L(2, 5, 3, 4), "statement");
    ck_assert_str_eq(s,
        "fashion.nn:2:5: error: statement\n"
        "    dense2(128, relu)\n"
        "    ^~~~~~~~~~~~~~~~~\n");
    free(s);
}
END_TEST

START_TEST(caret_after_end_of_line)
{
    /* "expected ... end of line" points just past the last character */
    char *s = error_text(L(5, 2, 5, 3), "missing");
    ck_assert_str_eq(s,
        "fashion.nn:5:2: error: missing\n"
        "}\n"
        " ^\n");
    free(s);
}
END_TEST

START_TEST(note_format_and_count)
{
    TuCapture c;
    diag_init("fashion.nn", SRC);
    tu_diag_begin(&c);
    diag_note(L(1, 15, 1, 16), "to match this '%c'", '{');
    char *s = tu_diag_end(&c);
    ck_assert_str_eq(s,
        "fashion.nn:1:15: note: to match this '{'\n"
        "model fashion {\n"
        "              ^\n");
    free(s);
    ck_assert_int_eq(diag_error_count(), 0);    /* notes are not errors */
}
END_TEST

START_TEST(no_position)
{
    char *s = error_text(L(0, 0, 0, 0), "not an ONNX model");
    ck_assert_str_eq(s, "fashion.nn: error: not an ONNX model\n");
    free(s);
}
END_TEST

START_TEST(no_source_text)
{
    TuCapture c;
    diag_init("m.onnx", NULL);
    tu_diag_begin(&c);
    diag_error(L(3, 4, 3, 5), "bad node");
    diag_error(L(99, 1, 99, 2), "past the end");
    char *s = tu_diag_end(&c);
    ck_assert_str_eq(s, "m.onnx:3:4: error: bad node\n"
                        "m.onnx:99:1: error: past the end\n");
    free(s);
}
END_TEST

START_TEST(line_past_end_prints_header_only)
{
    char *s = error_text(L(42, 1, 42, 2), "nowhere");
    ck_assert_str_eq(s, "fashion.nn:42:1: error: nowhere\n");
    free(s);
}
END_TEST

START_TEST(init_resets_count)
{
    TuCapture c;
    diag_init("a.nn", "x\n");
    tu_diag_begin(&c);
    diag_error(L(1, 1, 1, 2), "one");
    diag_error(L(1, 1, 1, 2), "two");
    ck_assert_int_eq(diag_error_count(), 2);
    ck_assert_str_eq(diag_filename(), "a.nn");
    diag_init("b.nn", "y\n");
    ck_assert_int_eq(diag_error_count(), 0);
    ck_assert_str_eq(diag_filename(), "b.nn");
    free(tu_diag_end(&c));
}
END_TEST

static const char *const LAYERS[] = { "dense", "conv2d", "flatten", "relu", "softmax", "maxpool2d" };
#define NLAYERS ((int)(sizeof LAYERS / sizeof LAYERS[0]))

START_TEST(suggest_close_words)
{
    ck_assert_str_eq(diag_suggest("dense2", LAYERS, NLAYERS), "dense");
    ck_assert_str_eq(diag_suggest("reul", LAYERS, NLAYERS), "relu");        /* swap = 1 edit */
    ck_assert_str_eq(diag_suggest("relu", LAYERS, NLAYERS), "relu");
    ck_assert_str_eq(diag_suggest("Dense", LAYERS, NLAYERS), "dense");      /* case-insensitive */
    ck_assert_str_eq(diag_suggest("flaten", LAYERS, NLAYERS), "flatten");
    ck_assert_str_eq(diag_suggest("maxpool", LAYERS, NLAYERS), "maxpool2d"); /* 2 edits, len 7 */
}
END_TEST

START_TEST(suggest_nothing_for_distant_words)
{
    ck_assert_ptr_null(diag_suggest("lstm", LAYERS, NLAYERS));
    ck_assert_ptr_null(diag_suggest("banana", LAYERS, NLAYERS));
    ck_assert_ptr_null(diag_suggest("rel", LAYERS, 0));
    ck_assert_ptr_null(diag_suggest("", LAYERS, NLAYERS));
    /* "dns" is 2 edits from "dense" but only 1 is allowed for 3 letters */
    ck_assert_ptr_null(diag_suggest("dns", LAYERS, NLAYERS));
    /* very long words do not overflow anything */
    char big[300];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ck_assert_ptr_null(diag_suggest(big, LAYERS, NLAYERS));
}
END_TEST

START_TEST(did_you_mean_text)
{
    ck_assert_str_eq(diag_did_you_mean("dense2", LAYERS, NLAYERS), "; did you mean 'dense'?");
    ck_assert_str_eq(diag_did_you_mean("sofmax", LAYERS, NLAYERS), "; did you mean 'softmax'?");
    ck_assert_str_eq(diag_did_you_mean("lstm", LAYERS, NLAYERS), "");
}
END_TEST

static Suite *diag_suite(void)
{
    Suite *s = suite_create("diag");
    TCase *tc = tcase_create("format");
    tcase_add_test(tc, error_with_range);
    tcase_add_test(tc, range_of_one_is_a_caret);
    tcase_add_test(tc, init_with_the_current_file_name);
    tcase_add_test(tc, tab_is_copied_in_caret_line);
    tcase_add_test(tc, utf8_takes_one_column_in_caret_line);
    tcase_add_test(tc, multiline_range_stops_at_end_of_line);
    tcase_add_test(tc, caret_after_end_of_line);
    tcase_add_test(tc, note_format_and_count);
    tcase_add_test(tc, no_position);
    tcase_add_test(tc, no_source_text);
    tcase_add_test(tc, line_past_end_prints_header_only);
    tcase_add_test(tc, init_resets_count);
    suite_add_tcase(s, tc);
    tc = tcase_create("suggest");
    tcase_add_test(tc, suggest_close_words);
    tcase_add_test(tc, suggest_nothing_for_distant_words);
    tcase_add_test(tc, did_you_mean_text);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(diag_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
