/* main.c — the nnc command line: read a .nn file, lower it, run the
 * passes, plan memory, write model.c and model.h.
 *
 * Outputs are written to temporaries and renamed into place only when
 * complete, so a failed run never leaves a half-written file.  Exit status:
 * 0 success, 1 an error in the user's model, 2 a usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ast.h"
#include "ir.h"

static void usage(FILE *out) {
    fprintf(out,
        "usage: nnc [options] MODEL.nn|MODEL.onnx [-o MODEL.c]\n"
        "  -o FILE.c       write FILE.c and FILE.h (the generated model and its API)\n"
        "  -O0 | -O2       optimisation level (default -O2; -O0 skips optional passes)\n"
        "  --model NAME    which model of the file to compile (default: the trained one)\n"
        "  --summary       print the layers, parameters, FLOPs and memory\n"
        "  --report        print per node: FLOPs, bytes, GEMM tiles, fusions, arena offsets\n"
        "  --target T      the machine the code is for (tiling, --report); default: this host's\n"
        "                  (--target list shows them)\n"
        "  --dump-ir       print the IR after all passes\n"
        "  -Werror | -w    warnings become errors | are not shown\n"
        "  --inference     predict only: no loss, gradients or optimizer\n"
        "  --weights FILE  bake parameters saved by this model's save() into const arrays\n"
        "                  (all of them with --inference; the frozen ones otherwise)\n"
        "  --freeze A,B    do not train the parameters of layers A and B\n"
        "  --batch N       the largest batch an entry point takes (default: the train block's;\n"
        "                  ONNX: the exported batch, or 32 to train a dynamic one)\n"
        "  --train LOSS    (ONNX) fine-tune the imported model with this loss\n"
        "  --optimizer O   (ONNX, with --train) e.g. 'adam(lr = 1e-4)' (default rmsprop)\n"
        "  --bind N=F.pb   (ONNX) fix graph input N to the tensor in F.pb (a specialised build)\n"
        "  --shape D=N     (ONNX) the size of a named dimension (dim_param), or\n"
        "  --shape X=AxB   an input's dimensions; axis 0 of the inputs is the batch (--batch)\n"
        "  --shape D<=N    (ONNX) a bound: the time steps, set at run time (NAME_set_steps)\n"
        "  --version       print the version\n");
}


/* write both files to temporaries, then rename: all or nothing */
static int write_outputs(const Graph *g, const Plan *plan, const char *c_path, const char *src,
                         const char *cmd) {
    size_t len = strlen(c_path);
    char *h_path = malloc(len + 1), *c_tmp = malloc(len + 16), *h_tmp = malloc(len + 16);
    if (!h_path || !c_tmp || !h_tmp) abort();
    memcpy(h_path, c_path, len + 1);
    h_path[len - 1] = 'h';
    snprintf(c_tmp, len + 16, "%s.tmp%ld", c_path, (long)getpid());
    snprintf(h_tmp, len + 16, "%s.tmp%ld", h_path, (long)getpid());
    const char *base = strrchr(h_path, '/');
    EmitOptions o = { base ? base + 1 : h_path, src, cmd };
    FILE *c = fopen(c_tmp, "w"), *h = fopen(h_tmp, "w");
    int status = 0;
    if (!c || !h) {
        fprintf(stderr, "nnc: cannot write %s: %s\n", !c ? c_tmp : h_tmp, strerror(errno));
        status = 1;
    } else if (emit_c(g, plan, &o, c, h)) {
        fprintf(stderr, "nnc: error writing %s\n", c_path);
        status = 1;
    }
    if (c && fclose(c)) status = 1;
    if (h && fclose(h)) status = 1;
    if (!status && (rename(c_tmp, c_path) || rename(h_tmp, h_path))) {
        fprintf(stderr, "nnc: cannot write %s: %s\n", c_path, strerror(errno));
        status = 1;
    }
    if (status) { remove(c_tmp); remove(h_tmp); remove(c_path); }
    free(h_path); free(c_tmp); free(h_tmp);
    return status;
}

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

/* the command for the header's comment: every option that shapes the code,
 * as given (quoted for a shell where needed), the optimisation level always;
 * -o and what only prints (--summary, --report, --dump-ir) are left out so
 * the same build from another folder writes the same files */
static void command_line(int argc, char **argv, int opt, char *out, size_t cap) {
    size_t len = (size_t)snprintf(out, cap, "nnc");
    int said_opt = 0;
    for (int i = 1; i < argc && len < cap; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-o") && i + 1 < argc) { i++; continue; }
        if (!strcmp(a, "--summary") || !strcmp(a, "--report") || !strcmp(a, "--dump-ir")) continue;
        said_opt |= !strcmp(a, "-O0") || !strcmp(a, "-O2") || !strcmp(a, "-O");
        int quote = strpbrk(a, " '\"()<>*;&|$`\\") != NULL || !*a;
        len += (size_t)snprintf(out + len, cap - len, " %s", quote ? "'" : "");
        for (const char *c = a; *c && len + 8 < cap; c++) {
            if (*c == '\'') len += (size_t)snprintf(out + len, cap - len, "'\\''");
            else if (*c == '*' && c[1] == '/') len += (size_t)snprintf(out + len, cap - len, "*'");  /* no end of comment */
            else out[len++] = *c, out[len] = 0;
        }
        if (quote && len + 2 < cap) out[len++] = '\'', out[len] = 0;
    }
    if (!said_opt && len < cap) snprintf(out + len, cap - len, " -O%d", opt);
}

/* what the command line asks of a build */
typedef struct Build {
    const char *input, *output, *model, *weights, *freeze, *train_loss, *optimizer;
    const char *binds[32], *shapes[32];
    int nbinds, nshapes;
    int opt, inference, batch;
} Build;

/* the passes before autodiff, and the options that shape a build for a
 * device; -1 after reporting an error */
static int forward_passes(Graph *g, const Build *b) {
    if ((b->weights && deploy_bake(g, b->weights)) || (b->freeze && deploy_freeze(g, b->freeze))) return -1;
    if (b->inference) deploy_inference_only(g);
    deploy_mark_constants(g);
    g->opt_level = b->opt;
    fuse_loss(g);
    if (b->opt >= 2) {
        layout_nd(g);
        fuse_nd_conv(g);
        fuse_nd(g);
        fold_bn(g);
        fuse_act(g);
    }
    return 0;
}

/* the ONNX model imported with axis 0 of its inputs at `batch` samples (0:
 * as the file says), with its training recipe, through the forward passes;
 * *sh: what the import found (the exported batch, a bounded dimension) */
static Graph *onnx_graph(const Build *b, int batch, OnnxShapes *sh, int *unsupported) {
    char name[IR_NAME];     /* the generated prefix: --model, else the output file's name */
    onnx_model_name(b->model ? b->model : b->output, name);
    diag_init(b->input, NULL);
    *sh = (OnnxShapes){ b->shapes, b->nshapes, batch, 0, "", "", 0, 0 };
    Graph *g = onnx_import(b->input, name, b->train_loss != NULL, b->binds, b->nbinds, sh, unsupported);
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
    if (g && forward_passes(g, b)) {
        ir_free(g);
        return NULL;
    }
    return g;
}

/* An imported graph with nnc's run-time batch: imported first (quietly) with
 * axis 0 of the inputs at B > 1 samples, so passes/batch.c can prove that
 * axis is a batch and make the graph per sample.  When it is not, the graph
 * is imported again as the file says and compiled whole (one call computes
 * the exported shapes) for inference; training or --batch is refused with
 * the reason, naming the node. */
static Graph *onnx_front(const Build *b, int *unsupported) {
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

int main(int argc, char **argv) {
    Build b = { .opt = 2 };
    int summary = 0, report = 0, dump = 0;
    const Target *target = target_default();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-o") && i + 1 < argc) b.output = argv[++i];
        else if (!strcmp(a, "--model") && i + 1 < argc) b.model = argv[++i];
        else if (!strcmp(a, "-O0")) b.opt = 0;
        else if (!strcmp(a, "-O2") || !strcmp(a, "-O")) b.opt = 2;
        else if (!strcmp(a, "--summary")) summary = 1;
        else if (!strcmp(a, "--report")) report = 1;
        else if (!strcmp(a, "--target") && i + 1 < argc) {
            const char *name = argv[++i];
            if (!strcmp(name, "list")) {
                target_list(stdout);
                return 0;
            }
            if (!(target = target_find(name))) {
                fprintf(stderr, "nnc: unknown target '%s'; the targets are:\n", name);
                target_list(stderr);
                return 2;
            }
        }
        else if (!strcmp(a, "--dump-ir")) dump = 1;
        else if (!strcmp(a, "-Werror")) diag_set_warnings(DIAG_WERROR);
        else if (!strcmp(a, "-w")) diag_set_warnings(DIAG_NOWARN);
        else if (!strcmp(a, "--inference")) b.inference = 1;
        else if (!strcmp(a, "--weights") && i + 1 < argc) b.weights = argv[++i];
        else if (!strcmp(a, "--freeze") && i + 1 < argc) b.freeze = argv[++i];
        else if (!strcmp(a, "--train") && i + 1 < argc) {
            b.train_loss = argv[++i];
            if (!strncmp(b.train_loss, "loss=", 5)) b.train_loss += 5;   /* --train loss=NAME */
        }
        else if (!strcmp(a, "--optimizer") && i + 1 < argc) b.optimizer = argv[++i];
        else if (!strcmp(a, "--bind") && i + 1 < argc && b.nbinds < 32) b.binds[b.nbinds++] = argv[++i];
        else if (!strcmp(a, "--shape") && i + 1 < argc && b.nshapes < 32) {
            b.shapes[b.nshapes++] = argv[++i];
            if (!strchr(argv[i], '=') || *argv[i] == '=') {
                fprintf(stderr, "nnc: --shape takes NAME=N (a named dimension) or INPUT=AxBx... (an input's "
                        "dimensions), got '%s'\n", argv[i]);
                return 2;
            }
        }
        else if (!strcmp(a, "--batch") && i + 1 < argc) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 1 || n > 1000000) {
                fprintf(stderr, "nnc: --batch takes a number from 1 to 1000000, got '%s'\n", argv[i]);
                return 2;
            }
            b.batch = (int)n;
        }
        else if (!strcmp(a, "--version")) { printf("nnc %s\n", NNC_VERSION); return 0; }
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "nnc: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (b.input) {
            fprintf(stderr, "nnc: one model file at a time ('%s' and '%s')\n", b.input, a);
            return 2;
        } else b.input = a;
    }
    const char *input = b.input, *output = b.output;
    if (!input || (!output && !summary && !report && !dump)) {
        fprintf(stderr, "nnc: %s\n", !input ? "no input file" : "nothing to do: give -o FILE.c, --summary or --report");
        usage(stderr);
        return 2;
    }
    size_t olen = output ? strlen(output) : 0;
    if (output && (olen < 3 || strcmp(output + olen - 2, ".c"))) {
        fprintf(stderr, "nnc: the output must be a .c file (its .h is written beside it), got '%s'\n", output);
        return 2;
    }
    size_t ilen = strlen(input);
    int onnx = ilen > 5 && !strcmp(input + ilen - 5, ".onnx"), unsupported = 0;
    if ((b.train_loss || b.optimizer || b.nshapes) && !onnx) {
        fprintf(stderr, "nnc: --train, --optimizer and --shape are for ONNX models; a .nn file has a train block "
                "and declares its shapes\n");
        return 2;
    }
    char *src = NULL;
    Program *prog = NULL;
    Graph *g = NULL;
    if (onnx) {
        g = onnx_front(&b, &unsupported);
    } else {
        long len;
        src = file_read(input, &len);
        if (!src) {
            fprintf(stderr, "nnc: cannot read %s: %s\n", input, strerror(errno));
            return 1;
        }
        if ((long)strlen(src) != len) {
            fprintf(stderr, "%s: error: the file contains a NUL byte; is it a .nn text file?\n", input);
            free(src);
            return 1;
        }
        diag_init(input, src);
        prog = ast_parse(input, src);
        if (prog && diag_error_count() == 0) g = lower_program(prog, b.model);
        if (g && forward_passes(g, &b)) {
            ir_free(g);
            g = NULL;
        }
        if (g && b.batch) g->train.batch = b.batch;
    }
    int status = 1;
    if (g) {
        ad_build(g);
        if (b.opt >= 2) {
            fuse_grad(g);
            pack_weights(g);   /* after autodiff: a gradient's read of a kernel counts */
        }
        tile_gemms(g, target);
        Plan plan;
        plan_build(g, &plan);
        if (summary) summary_print(g, &plan, stdout);
        if (report) report_print(g, &plan, target, stdout);
        if (dump) ir_dump(g, stdout);
        char cmd[2048];
        command_line(argc, argv, b.opt, cmd, sizeof cmd);
        status = output ? write_outputs(g, &plan, output, input, cmd) : 0;
        plan_free(&plan);
        ir_free(g);
    }
    if (diag_error_count()) status = unsupported && unsupported == diag_error_count() ? 3 : 1;
    ast_free(prog);
    free(src);
    return status;
}
