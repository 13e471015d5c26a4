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

int build_is_onnx(const char *path) {
    size_t len = path ? strlen(path) : 0;
    return len > 5 && !strcmp(path + len - 5, ".onnx");
}

int compile_model(const Build *b, const Target *t, Compiled *m) {
    int onnx = build_is_onnx(b->input);
    memset(m, 0, sizeof *m);
    m->g = onnx ? front_onnx(b, &m->unsupported) : front_nn(b, &m->src, &m->prog);
    if (!m->g) {
        if (!onnx) m->unsupported = lower_unsupported_count();
        return compiled_status(m, 1);
    }
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

int build_option(int argc, char **argv, int *i, Build *b) {
    static const char *const valued[] = { "--model", "--weights-from", "--freeze", "--train", "--optimizer", "--bind",
                                          "--shape", "--batch", "--quantize", "--calibrate",
                                          "--calibrate-samples", "--calibrate-method" };
    const char *a = argv[*i], *next = NULL;
    for (size_t k = 0; k < sizeof valued / sizeof valued[0] && !next; k++)
        if (!strcmp(a, valued[k])) {
            if (*i + 1 >= argc) {
                fprintf(stderr, "nnc: %s needs a value\n", a);
                return 2;
            }
            next = argv[++*i];
        }
    if (!strcmp(a, "--model") && next) b->model = next;
    else if (!strcmp(a, "-O0")) b->opt = 0;
    else if (!strcmp(a, "-O2") || !strcmp(a, "-O")) b->opt = 2;
    else if (!strcmp(a, "-Werror")) diag_set_warnings(DIAG_WERROR);
    else if (!strcmp(a, "-w")) diag_set_warnings(DIAG_NOWARN);
    else if (!strcmp(a, "--check-numerics")) b->check_numerics = 1;
    else if (!strcmp(a, "--weights-from")) b->weights_from = next;
    else if (!strcmp(a, "--freeze")) b->freeze = next;
    else if (!strcmp(a, "--train"))
        b->train_loss = strncmp(next, "loss=", 5) ? next : next + 5;   /* --train loss=NAME */
    else if (!strcmp(a, "--optimizer")) b->optimizer = next;
    else if ((!strcmp(a, "--bind") || !strcmp(a, "--shape")) && (a[2] == 'b' ? b->nbinds : b->nshapes) == 32) {
        fprintf(stderr, "nnc: at most 32 %s options\n", a);
        return 2;
    }
    else if (!strcmp(a, "--bind")) b->binds[b->nbinds++] = next;
    else if (!strcmp(a, "--shape")) {
        b->shapes[b->nshapes++] = next;
        if (!strchr(next, '=') || *next == '=') {
            fprintf(stderr, "nnc: --shape takes NAME=N (a named dimension) or INPUT=AxBx... (an input's "
                    "dimensions), got '%s'\n", next);
            return 2;
        }
    }
    else if (!strcmp(a, "--quantize")) {
        if (strcmp(next, "int8")) {
            fprintf(stderr, "nnc: --quantize takes int8, got '%s'\n", next);
            return 2;
        }
        b->quantize = next;
    }
    else if (!strcmp(a, "--calibrate")) b->calibrate = next;
    else if (!strcmp(a, "--no-q8-import")) b->no_q8_import = 1;
    else if (!strcmp(a, "--calibrate-method")) {
        if (strcmp(next, "minmax") && strcmp(next, "percentile") && strcmp(next, "mse")) {
            fprintf(stderr, "nnc: --calibrate-method takes minmax, percentile or mse, got '%s'\n", next);
            return 2;
        }
        b->calibrate_method = next;
    }
    else if (!strcmp(a, "--calibrate-samples")) {
        char *end;
        long n = strtol(next, &end, 10);
        if (*end || n < 1) {
            fprintf(stderr, "nnc: --calibrate-samples takes a number >= 1, got '%s'\n", next);
            return 2;
        }
        b->calibrate_samples = n;
    }
    else if (!strcmp(a, "--batch")) {
        char *end;
        long n = strtol(next, &end, 10);
        if (*end || n < 1 || n > 1000000) {
            fprintf(stderr, "nnc: --batch takes a number from 1 to 1000000, got '%s'\n", next);
            return 2;
        }
        b->batch = (int)n;
    }
    else return 0;
    return 1;
}
