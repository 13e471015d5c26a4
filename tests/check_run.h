/* check_run.h — a test program's main() as a table: its test cases (a
 * name, its tests, a timeout, loop runs) run as one Check suite.  Needs only
 * Check, so the runtime's kernel tests (kernel_check.h, built without the
 * compiler's headers) and the compiler's tests share it. */
#ifndef NNC_CHECK_RUN_H
#define NNC_CHECK_RUN_H

#include <check.h>
#include <stdlib.h>

/* a test case of a program: its name, its tests (NULL-terminated), its
 * timeout in seconds (0: Check's default) and, for loop tests, the number
 * of runs of each (_i = 0 .. loops-1) */
typedef struct kernel_case {
    const char *name;
    const TTest *const *tests;
    int timeout, loops;
} kernel_case;

/* the suite of cases[0 .. n), run: the exit status of a test program */
static inline int run_cases(const char *suite, const kernel_case *c, int n)
{
    Suite *s = suite_create(suite);
    SRunner *sr;
    int i, j, failed;
    for (i = 0; i < n; i++) {
        TCase *tc = tcase_create(c[i].name);
        if (c[i].timeout)
            tcase_set_timeout(tc, c[i].timeout);
        for (j = 0; c[i].tests[j]; j++)
            if (c[i].loops)
                tcase_add_loop_test(tc, c[i].tests[j], 0, c[i].loops);
            else
                tcase_add_test(tc, c[i].tests[j]);
        suite_add_tcase(s, tc);
    }
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
