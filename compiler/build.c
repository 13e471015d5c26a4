/* build.c — one model file through the whole compiler: front end, passes,
 * and the two generated files, for main.c's command and fit.c's verbs.
 *
 * Outputs are printed into memory first and written to temporaries renamed
 * into place only when complete, so a failed run never leaves a
 * half-written file (or a .c without its .h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ast.h"
#include "build.h"

char *header_path(const char *c_path) {
    size_t len = strlen(c_path);
    char *h = malloc(len + 1);
    if (!h) abort();
    memcpy(h, c_path, len + 1);
    h[len - 1] = 'h';
    return h;
}

int write_file(const char *path, const char *text, size_t len) {
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32);
    if (!tmp) abort();
    snprintf(tmp, plen + 32, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    int status = !f || fwrite(text, 1, len, f) != len;
    if (f && fclose(f)) status = 1;
    if (!status && rename(tmp, path)) status = 1;
    if (status) {
        fprintf(stderr, "nnc: cannot write %s: %s\n", path, strerror(errno));
        remove(tmp);
    }
    free(tmp);
    return status;
}

int write_outputs(const Compiled *m, const char *c_path, const char *src, const char *cmd, int standalone) {
    char *h_path = header_path(c_path), *ctext = NULL, *htext = NULL;
    size_t clen = 0, hlen = 0;
    const char *base = strrchr(h_path, '/');
    EmitOptions o = { base ? base + 1 : h_path, src, cmd };
    FILE *c = open_memstream(&ctext, &clen), *h = open_memstream(&htext, &hlen);
    if (!c || !h) abort();
    int status = emit_c(m->g, &m->plan, &o, c, h);
    fclose(c);
    fclose(h);
    if (!status && standalone) {    /* the runtime files the model calls, after it (standalone.c) */
        char *sc, *sh;
        size_t sclen, shlen;
        status = standalone_bundle(ctext, htext, &sc, &sclen, &sh, &shlen);
        if (!status) {
            free(ctext);
            free(htext);
            ctext = sc, clen = sclen, htext = sh, hlen = shlen;
        }
    }
    if (status) fprintf(stderr, "nnc: error writing %s\n", c_path);
    else status = write_file(h_path, htext, hlen) || write_file(c_path, ctext, clen);
    if (status) remove(c_path);     /* never a .c without its .h */
    free(ctext);
    free(htext);
    free(h_path);
    return status;
}

int compile_model(const Build *b, const Target *t, Compiled *m) {
    size_t ilen = strlen(b->input);
    int onnx = ilen > 5 && !strcmp(b->input + ilen - 5, ".onnx");
    memset(m, 0, sizeof *m);
    m->g = onnx ? front_onnx(b, &m->unsupported) : front_nn(b, &m->src, &m->prog);
    if (!m->g) return compiled_status(m, 1);
    if (pipeline_finish(m->g, b, t, &m->plan) || diag_error_count()) {
        plan_free(&m->plan);    /* a model nnc cannot compile correctly: exit 3, nothing written */
        ir_free(m->g);
        m->g = NULL;
        m->unsupported = diag_error_count();   /* every error counts so: exit 3 */
        return 3;
    }
    return 0;
}

int compiled_status(const Compiled *m, int status) {
    if (diag_error_count()) status = m->unsupported && m->unsupported == diag_error_count() ? 3 : 1;
    return status;
}

void compiled_free(Compiled *m) {
    if (m->g) {
        plan_free(&m->plan);
        ir_free(m->g);
    }
    ast_free(m->prog);
    free(m->src);
    memset(m, 0, sizeof *m);
}
