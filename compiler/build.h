/* build.h — one model file through the whole compiler, shared by the
 * `nnc MODEL -o FILE.c` command (main.c) and the `nnc fit|evaluate|predict`
 * verbs (fit.c). */
#ifndef NNC_BUILD_H
#define NNC_BUILD_H

#include <stdio.h>
#include "ir.h"
#include "../host/nnc_host.h"

struct Program;

/* a compiled model: the graph after every pass, its memory plan, and what
 * diagnostics still point into (the .nn source and its syntax tree) */
typedef struct Compiled {
    Graph *g;
    Plan plan;
    char *src;
    struct Program *prog;
    int unsupported;        /* errors that are "nnc cannot compile this yet" */
} Compiled;

/* One option at argv[*i] that shapes the build (both the nnc command and
 * its verbs take these: -O0/-O2, --model, --batch, --freeze, --train,
 * --optimizer, --bind, --shape, --weights-from, --check-numerics, -w,
 * -Werror), its value consumed too: 1 taken, 0 not one of them, 2 a
 * usage error (reported). */
int  build_option(int argc, char **argv, int *i, Build *b);

/* the file is an ONNX model (its name ends in .onnx), else a .nn file */
int  build_is_onnx(const char *path);

/* Front end and passes for b->input.  0 with c->g ready, else the exit
 * status after reporting: 1 an error in the model, 3 unsupported. */
int  compile_model(const Build *b, const Target *t, Compiled *c);
/* The exit status once everything is done: 0, or 1/3 when diagnostics
 * reported errors after compile_model returned (status otherwise). */
int  compiled_status(const Compiled *c, int status);
void compiled_free(Compiled *c);

/* Writes c_path and its .h (the same name ending in .h) from the compiled
 * model: both complete or neither.  src and cmd go into the header's
 * comment; standalone: the runtime files it calls are carried along.
 * 0 on success, else 1 after reporting. */
int  write_outputs(const Compiled *c, const char *c_path, const char *src, const char *cmd, int standalone);
/* "out/m.c" -> "out/m.h" (malloc'ed) */
char *header_path(const char *c_path);
/* text into path through a temporary beside it and a rename */
int  write_file(const char *path, const char *text, size_t len);

/* fit_settings.c: the train block of `model` in p as assignments to an
 * nnc_fit_config named c (the driver's defaults); nothing for ONNX (p NULL) */
void fit_settings_emit(FILE *f, const struct Program *p, const char *model);

/* calibrate.c's reader of --calibrate files: the host library's
 * nnc_host_array_load, set by main.c, so only the nnc command links the
 * host library (the compiler's objects alone do not need it); NULL: none */
extern int (*calibrate_load)(const char *path, const char *member, const char *exclude, nnc_host_dtype want,
                             const long *shape_hint, int dims, nnc_host_array *a);

/* ---- fit.c: the verbs that compile, build and run a model on data files ---- */
int  fit_is_verb(const char *arg);
int  fit_main(int argc, char **argv);

#endif
