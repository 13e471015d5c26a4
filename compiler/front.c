/* front.c — a model file to a graph through the forward passes: the .nn
 * front end (read, parse, lower) and the ONNX one with its run-time batch.
 *
 * An imported graph gets nnc's run-time batch by proof, not by assumption:
 * it is imported first (quietly) with axis 0 of the inputs at B > 1 samples,
 * so passes/batch.c can prove that axis is a batch and make the graph per
 * sample.  When it is not, the graph is imported again as the file says and
 * compiled whole (one call computes the exported shapes) for inference;
 * training or --batch is refused with the reason, naming the node.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "ast.h"
#include "ir.h"

/* a C identifier from a path's file name: "out/my-net.c" -> "my_net" */
static void onnx_model_name(const char *path, char *out) {
    const char *base = path ? strrchr(path, '/') : NULL;
    base = base ? base + 1 : path ? path : "model";
    size_t n = 0;
    if (!(*base >= 'a' && *base <= 'z') && !(*base >= 'A' && *base <= 'Z')) { memcpy(out, "m_", 2); n = 2; }
    for (; *base && *base != '.' && n < IR_NAME - 1; base++)
        out[n++] = (*base >= 'a' && *base <= 'z') || (*base >= 'A' && *base <= 'Z') ||
                   (*base >= '0' && *base <= '9') ? *base : '_';
    out[n] = 0;
}

/* the ONNX model imported with axis 0 of its inputs at `batch` samples (0:
 * as the file says), with its training recipe, through the forward passes;
 * *sh: what the import found (the exported batch, a bounded dimension) */
static Graph *onnx_graph(const Build *b, int batch, OnnxShapes *sh, int *unsupported) {
    char name[IR_NAME];     /* the generated prefix: --model, else the output file's name */
    onnx_model_name(b->model ? b->model : b->output, name);
    diag_init(b->input, NULL);
    *sh = (OnnxShapes){ b->shapes, b->nshapes, batch, 0, "", "", 0, b->no_q8_import, 0 };
    Graph *g = onnx_import(b->input, name, b->train_loss != NULL, b->binds, b->nbinds, sh, unsupported);
    if (g && g->noutputs == 0) {    /* the loss, the header and the API all read the output */
        diag_error((Loc){ 0, 0, 0, 0 }, "the graph has no outputs; nnc compiles what a model computes, "
                   "so at least one graph output must be declared");
        ir_free(g);
        return NULL;
    }
    if (g && b->train_loss) {
        /* the training recipe, as the train block a .nn file would hold */
        char text[1024];
        snprintf(text, sizeof text, "train m {\n    loss %.200s\n    optimizer %.400s\n}\n", b->train_loss,
                 b->optimizer ? b->optimizer : "rmsprop");
        diag_init("--train/--optimizer", text);
        if (lower_train_text(g, text)) {
            ir_free(g);
            return NULL;
        }
    }
    if (g && pipeline_forward(g, b)) {
        ir_free(g);
        return NULL;
    }
    return g;
}

/* the imported graph, per sample with a run-time batch when that is proved */
Graph *front_onnx(const Build *b, int *unsupported) {
    if (b->weights_from) {
        diag_init(b->input, NULL);
        diag_error((Loc){ 0, 0, 0, 0 }, "--weights-from names another model of a .nn file; an ONNX file has one");
        return NULL;
    }
    char *log = NULL, why[200] = "";
    size_t loglen = 0;
    FILE *mem = open_memstream(&log, &loglen);
    if (!mem) abort();
    diag_set_output(mem);
    int probe = b->batch > 1 ? b->batch : 2;
    OnnxShapes sh;
    Graph *g = onnx_graph(b, probe, &sh, unsupported);
    int exported = sh.exported_batch;
    /* the batch entry points take: --batch, else the exported one, else
     * Keras' 32 to train; workspaces are sized at the probe, so probe at it */
    int batch = b->batch ? b->batch : exported > 0 ? exported : b->train_loss ? 32 : 1;
    if (exported < 0) {     /* no samples at all: nothing to batch */
        ir_free(g);
        g = NULL;
        snprintf(why, sizeof why, "axis 0 of the first input is empty");
    } else if (batch > 1 && batch != probe) {
        ir_free(g);
        rewind(mem);    /* this attempt's messages only */
        g = onnx_graph(b, probe = batch, &sh, unsupported);
    }
    if (g && batch_imported(g, probe, why, sizeof why)) {
        ir_free(g);
        g = NULL;
    }
    int steps_refused = g && sh.bounded[0] && batch_bounded_steps(g, sh.bounded, sh.bound, why, sizeof why);
    fputc(0, mem);      /* the end of the last attempt's messages */
    diag_set_output(NULL);
    fclose(mem);
    if (steps_refused) {    /* not a reason to run whole: the user asked for the bound */
        free(log);
        ir_free(g);
        diag_init(b->input, NULL);
        diag_error((Loc){ 0, 0, 0, 0 }, "unsupported: --shape %s<=%d: %s", sh.bounded, sh.bound, why);
        (*unsupported)++;
        return NULL;
    }
    if (g) {
        fputs(log, stderr);     /* its warnings */
        free(log);
        g->train.batch = batch;
        return g;
    }
    if (!why[0]) {      /* the import itself failed at this batch: its first error */
        const char *e = log ? strstr(log, "error: ") : NULL;
        snprintf(why, sizeof why, "at %d samples, %.*s", probe, e ? (int)strcspn(e + 7, "\n") : 0, e ? e + 7 : "");
    }
    free(log);
    g = onnx_graph(b, 0, &sh, unsupported);
    if (!g) return NULL;
    if (b->train_loss || b->batch > 1 || sh.bounded[0]) {
        diag_init(b->input, NULL);
        diag_error((Loc){ 0, 0, 0, 0 }, "unsupported: %s needs a run-time batch along axis 0 of the inputs, and "
                   "nnc cannot keep one through this graph: %s", b->train_loss ? "training" : b->batch > 1 ?
                   "--batch" : "a bounded dimension (--shape NAME<=N)", why);
        (*unsupported)++;
        ir_free(g);
        return NULL;
    }
    snprintf(g->whole, sizeof g->whole, "%s", why);
    g->train.batch = 1;
    return g;
}

Graph *front_nn(const Build *b, char **src, struct Program **prog) {
    long len;
    *src = file_read_max(b->input, FILE_MAX_NN, &len);
    if (!*src) {
        if (errno == EFBIG)
            fprintf(stderr, "%s: error: larger than %ld MiB; is it a .nn text file?\n", b->input, FILE_MAX_NN >> 20);
        else
            fprintf(stderr, "nnc: cannot read %s: %s\n", b->input, strerror(errno));
        return NULL;
    }
    if ((long)strlen(*src) != len) {
        fprintf(stderr, "%s: error: the file contains a NUL byte; is it a .nn text file?\n", b->input);
        return NULL;
    }
    const char *text = *src;
    if (!strncmp(text, "\xEF\xBB\xBF", 3)) text += 3;    /* a UTF-8 byte-order mark, as editors write */
    diag_init(b->input, text);
    Graph *g = NULL;
    *prog = ast_parse(b->input, text);
    if (*prog && diag_error_count() == 0) g = lower_program(*prog, b->model);
    if (g && b->weights_from && deploy_weights_from(g, *prog, b->weights_from)) {
        ir_free(g);
        return NULL;
    }
    if (g && pipeline_forward(g, b)) {
        ir_free(g);
        return NULL;
    }
    if (g && b->batch) g->train.batch = b->batch;
    return g;
}
