/* fuzz_nn.c — libFuzzer harness for the .nn front end: the input is a .nn
 * file, compiled in-process as `nnc FILE.nn --summary --report --dump-ir -o`
 * would (front_nn, pipeline_finish, the printers, emit_c; outputs to
 * /dev/null).
 *
 * Options: an input whose first line is "#!" followed by options (a .nn
 * comment, so the file stays a valid model for bin/nnc) is built with them:
 *     #! -O0 --inference --batch 3 --freeze d1,d2 --model m -Werror -w --target T
 * so a regression file says how it was built, and the dictionary's option
 * words let the fuzzer reach the -O0 and inference builds too.
 */
#include "fuzz_common.h"

/* the first line's options into b (strings copied to opts) */
static const Target *nn_options(const char *src, Build *b, int *warn, char *opts, size_t cap) {
    const Target *t = target_default();
    if (strncmp(src, "#!", 2)) return t;
    size_t len = strcspn(src + 2, "\n");
    if (len >= cap) len = cap - 1;
    memcpy(opts, src + 2, len);
    opts[len] = 0;
    char *save = NULL;
    for (char *a = strtok_r(opts, " \t\r", &save); a; a = strtok_r(NULL, " \t\r", &save)) {
        if (!strcmp(a, "-O0")) b->opt = 0;
        else if (!strcmp(a, "--inference")) b->inference = 1;
        else if (!strcmp(a, "-Werror")) *warn = DIAG_WERROR;
        else if (!strcmp(a, "-w")) *warn = DIAG_NOWARN;
        else {
            char *v = strtok_r(NULL, " \t\r", &save);
            if (!v) break;
            if (!strcmp(a, "--freeze")) b->freeze = v;
            else if (!strcmp(a, "--model")) b->model = v;
            else if (!strcmp(a, "--target") && target_find(v)) t = target_find(v);
            else if (!strcmp(a, "--batch")) {   /* main.c's range */
                long n = strtol(v, NULL, 10);
                if (n >= 1 && n <= 1000000) b->batch = (int)n;
            }
        }
    }
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[128], opts[256];
    char *text = malloc(size + 1);   /* the options line, as a string */
    if (!text) abort();
    memcpy(text, data, size);
    text[size] = 0;
    Build b = { .opt = 2 };
    int warn = DIAG_WARN;
    const Target *t = nn_options(text, &b, &warn, opts, sizeof opts);
    fz_begin(warn);
    b.input = fz_write(".nn", data, size, path, sizeof path);
    char *src = NULL;
    struct Program *prog = NULL;
    fz_finish(front_nn(&b, &src, &prog), &b, t, NULL);
    ast_free(prog);
    free(src);
    free(text);
    fz_remove(path);
    return 0;
}
