/* fuzz_common.h — what the libFuzzer harnesses (fuzz_nn.c, fuzz_onnx.c,
 * fuzz_weights.c) share: the input written to a per-process file (the front
 * ends and --weights read paths, as bin/nnc does), diagnostics sent to
 * /dev/null, and the back half of main.c (pipeline_finish, --summary,
 * --report, --dump-ir, emit_c) with every output written to /dev/null.
 *
 * Decision: the harnesses drive the same functions main.c calls, in the same
 * order, rather than a test-only entry point, so a crash found here is a
 * crash of bin/nnc.  Everything is freed after each input (libFuzzer's leak
 * check runs on every input that grows the corpus); the only state kept
 * across inputs is diag.c's, which is reset by diag_init and the warning
 * mode set per input.
 */
#ifndef NNC_FUZZ_COMMON_H
#define NNC_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ast.h"
#include "ir.h"

static FILE *fz_null;   /* every output of a run goes here */

/* once per process: /dev/null for the outputs and the diagnostics */
static void fz_init(void) {
    if (fz_null) return;
    fz_null = fopen("/dev/null", "w");
    if (!fz_null) abort();
    diag_set_output(fz_null);
}

/* the bytes as a file the front ends can open: /dev/shm (memory) when there
 * is one, one name per process and kind, so parallel fuzzers do not meet;
 * the caller removes it (fz_remove) after the run */
static const char *fz_write(const char *ext, const uint8_t *data, size_t size, char *path, size_t cap) {
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(path, cap, "%s/nnc-fuzz-%ld%s", dir, (long)getpid(), ext);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f)) abort();
    return path;
}

static void fz_remove(const char *path) { unlink(path); }

/* the start of a run, as main.c's is: warnings as given, diagnostics quiet */
static void fz_begin(int warn_mode) {
    fz_init();
    diag_set_output(fz_null);
    diag_set_warnings(warn_mode);
}

/* main.c after the front end: the passes, every printing option, the code
 * (the .c to `c` when not NULL, for a harness that checks it) */
static void fz_finish(Graph *g, const Build *b, const Target *t, FILE *c) {
    if (!g) return;
    diag_set_output(fz_null);   /* front_onnx sets stderr back */
    Plan plan;
    if (pipeline_finish(g, b, t, &plan)) abort();   /* a placement outside the arena: a bug to find */
    summary_print(g, &plan, fz_null);
    report_print(g, &plan, t, fz_null);
    ir_dump(g, fz_null);
    EmitOptions o = { "model.h", b->input, "nnc fuzz" };
    emit_c(g, &plan, &o, c ? c : fz_null, fz_null);
    plan_free(&plan);
    ir_free(g);
}

#endif
