/* model_build.h — what the tests that run nnc (test_models.c,
 * test_numerics.c, test_cli.c, test_onnx.c) share: run a command and read what it printed, write a
 * .nn file, compile it with bin/nnc (or $NNC: `nnc` below) and build the
 * tests/model_check.c driver against the generated code, read a "key
 * value" line of the driver's output.  model_build_init() picks the
 * compiler and makes the scratch folder; model_build_done() removes it. */
#ifndef NNC_MODEL_BUILD_H
#define NNC_MODEL_BUILD_H

#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];
/* the compiler under test: $NNC (an absolute path, e.g. a sanitizer build) or bin/nnc */
static char nnc[512];

/* run a shell command; return its exit status and its stdout+stderr in out */
static inline int run(const char *cmd, char *out, size_t cap) {
    char full[8192];
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    ck_assert_ptr_nonnull(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Check's messages are short: the command's output goes to stderr */
static inline void must_succeed(const char *cmd, char *out, size_t cap) {
    if (run(cmd, out, cap) != 0) {
        fprintf(stderr, "%s\n%s\n", cmd, out);
        ck_abort_msg("command failed (output above): %.200s", cmd);
    }
}

static inline void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static inline double field(const char *out, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\n%s ", key);
    char *buf = malloc(strlen(out) + 2);
    sprintf(buf, "\n%s", out);
    const char *p = strstr(buf, pat);
    ck_assert_msg(p != NULL, "no '%s' in output:\n%s", key, out);
    double v = atof(p + strlen(pat));
    free(buf);
    return v;
}

/* compile `src` (model NAME) with nnc FLAGS and the strict C flags; build
 * the model_check driver; return the driver path */
static inline const char *build_model(const char *name, const char *src, const char *flags, const char *cc) {
    static char exe[256];
    char cmd[2048], out[8192], path[256], upper[64];
    size_t i;
    for (i = 0; name[i] && i < sizeof upper - 1; i++) upper[i] = (char)toupper((unsigned char)name[i]);
    upper[i] = 0;
    snprintf(path, sizeof path, "%s/%s.nn", dir, name);
    write_text(path, src);
    snprintf(cmd, sizeof cmd, "%s %s %s -o %s/%s.c", nnc, flags, path, dir, name);
    must_succeed(cmd, out, sizeof out);
    snprintf(exe, sizeof exe, "%s/%s_%s%.100s", dir, name, cc, flags[0] ? flags + 1 : "");
    for (char *p = exe + strlen(dir) + 1; *p; p++)   /* flags may hold spaces and paths */
        if (!isalnum((unsigned char)*p)) *p = '_';
    snprintf(cmd, sizeof cmd,
             "%s -std=c99 -Wall -Wextra -Wpedantic -Werror -O2 -Iruntime -I%s "
             "-DNNC_MODEL=%s -DNNC_UPPER=%s '-DNNC_HEADER=\"%s.h\"' %s/%s.c tests/model_check.c build/libnnc_rt.a -lm -o %s",
             cc, dir, name, upper, name, dir, name, exe);
    must_succeed(cmd, out, sizeof out);
    return exe;
}


/* 0 when the compiler is found and the scratch folder made */
static inline int model_build_init(const char *scratch) {
    const char *env = getenv("NNC");
    if (env && *env) snprintf(nnc, sizeof nnc, "%s", env);
    else if (!getcwd(nnc, sizeof nnc - 16) || strlen(nnc) > sizeof nnc - 16) return 1;
    else strcat(nnc, "/bin/nnc");
    snprintf(dir, sizeof dir, "build/%s-XXXXXX", scratch);
    return system("mkdir -p build") != 0 || !mkdtemp(dir);
}

static inline int model_build_done(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) != 0;
}

#endif
