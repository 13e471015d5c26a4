/* main.c — the nnc command line: parse the options, hand the model file to
 * its front end (front.c) and the graph to the passes (passes/pipeline.c),
 * then print what was asked and write model.c and model.h.
 *
 * Outputs are written to temporaries and renamed into place only when
 * complete, so a failed run never leaves a half-written file.  Exit status:
 * 0 success, 1 an error in the user's model, 2 a usage error, 3 a model
 * nnc cannot compile.  --dot/--dot-train write the graph instead (to -o's
 * file or stdout); --standalone carries the runtime inside model.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ast.h"
#include "build.h"

static void usage(FILE *out) {
    fprintf(out,
        "usage: nnc [options] MODEL.nn|MODEL.onnx [-o MODEL.c]\n"
        "       nnc fit|evaluate|predict MODEL [options]   train or run it on data files (nnc fit --help)\n"
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
        "  --check-numerics  the training step checks each node's output and names\n"
        "                  the first that holds inf/NaN in m->nonfinite_at (slower)\n"
        "  --weights FILE  bake parameters saved by this model's save() into const arrays\n"
        "                  (all of them with --inference; the frozen ones otherwise)\n"
        "  --weights-from M  the parameter buffer (--weights, NAME_load_from) is model M's\n"
        "                  save(), M another model of the file: each parameter taken by name\n"
        "                  (a sub-model, the encoder of an autoencoder)\n"
        "  --freeze A,B    do not train the parameters of layers A and B\n"
        "  --batch N       the largest batch an entry point takes (default: the train block's;\n"
        "                  ONNX: the exported batch, or 32 to train a dynamic one)\n"
        "  --train LOSS    (ONNX) fine-tune the imported model with this loss\n"
        "  --optimizer O   (ONNX, with --train) e.g. 'adam(lr = 1e-4)' (default rmsprop)\n"
        "  --bind N=F.pb   (ONNX) fix graph input N to the tensor in F.pb (a specialised build)\n"
        "  --shape D=N     (ONNX) the size of a named dimension (dim_param), or\n"
        "  --shape X=AxB   an input's dimensions; axis 0 of the inputs is the batch (--batch)\n"
        "  --shape D<=N    (ONNX) a bound: the time steps, set at run time (NAME_set_steps)\n"
        "  --no-q8-import  (ONNX) QLinearMatMul/QLinearConv and QDQ groups as float ops, not nnc's int8 kernels\n"
        "  --dot           write the model's graph for Graphviz (to -o FILE.dot, or stdout)\n"
        "  --dot-train     the same for the training step: forward, loss, backward, update\n"
        "  --quantize int8 an int8 build (with --inference, --weights and --calibrate): TFLite's scheme\n"
        "  --calibrate F   sample inputs for the activation ranges (.npy, IDX, raw .f32)\n"
        "  --calibrate-samples N  use the first N samples (default: all)\n"
        "  --calibrate-method M   minmax (default), percentile (99.99 %%) or mse\n"
        "  --standalone    model.c carries the runtime kernels it calls: cc model.c -lm\n"
        "  --version       print the version\n");
}


/* --dot: the graph to path, or stdout when there is none */
static int write_dot(const Graph *g, int training, const char *path) {
    if (!path) {
        dot_print(g, training, stdout);
        return fflush(stdout) != 0;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) abort();
    dot_print(g, training, f);
    fclose(f);
    int status = write_file(path, text, len);
    free(text);
    return status;
}

/* the output would overwrite the model it is made from */
static int same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
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

/* what main does besides the build: the printing options */
typedef struct Outputs {
    int summary, report, dump;
    int dot;            /* 1 --dot, 2 --dot-train */
    int standalone;
    const Target *target;
} Outputs;

/* one option at argv[*i] (its argument consumed too); -1 to go on, else
 * the exit status (0 after --help, --version, --target list) */
static int parse_option(int argc, char **argv, int *i, Build *b, Outputs *o) {
    int taken = build_option(argc, argv, i, b);
    if (taken) return taken == 1 ? -1 : 2;
    const char *a = argv[*i], *next = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (next && (!strcmp(a, "-o") || !strcmp(a, "--weights") || !strcmp(a, "--target")))
        ++*i;
    else next = NULL;
    if (!strcmp(a, "-o") && next) b->output = next;
    else if (!strcmp(a, "--summary")) o->summary = 1;
    else if (!strcmp(a, "--report")) o->report = 1;
    else if (!strcmp(a, "--target") && next) {
        if (!strcmp(next, "list")) {
            target_list(stdout);
            return 0;
        }
        if (!(o->target = target_find(next))) {
            fprintf(stderr, "nnc: unknown target '%s'; the targets are:\n", next);
            target_list(stderr);
            return 2;
        }
    }
    else if (!strcmp(a, "--dump-ir")) o->dump = 1;
    else if (!strcmp(a, "--dot")) o->dot = 1;
    else if (!strcmp(a, "--dot-train")) o->dot = 2;
    else if (!strcmp(a, "--standalone")) o->standalone = 1;
    else if (!strcmp(a, "--inference")) b->inference = 1;
    else if (!strcmp(a, "--weights") && next) b->weights = next;
    else if (!strcmp(a, "--version")) { printf("nnc %s\n", NNC_VERSION); return 0; }
    else if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
    else if (a[0] == '-' && a[1]) {
        fprintf(stderr, "nnc: unknown option '%s'\n", a);
        usage(stderr);
        return 2;
    } else if (b->input) {
        fprintf(stderr, "nnc: one model file at a time ('%s' and '%s')\n", b->input, a);
        return 2;
    } else b->input = a;
    return -1;
}

/* the options together: -1 when they make a build, else the exit status */
static int check_options(const Build *b, const Outputs *o, int onnx) {
    if (o->dot && o->standalone) {
        fprintf(stderr, "nnc: --dot writes a graph, --standalone code: one at a time\n");
        return 2;
    }
    if (!b->input || (!b->output && !o->summary && !o->report && !o->dump && !o->dot)) {
        fprintf(stderr, "nnc: %s\n", !b->input ? "no input file" : "nothing to do: give -o FILE.c, --summary or --report");
        usage(stderr);
        return 2;
    }
    size_t olen = b->output ? strlen(b->output) : 0;
    if (b->output && !o->dot && (olen < 3 || strcmp(b->output + olen - 2, ".c"))) {   /* --dot: any name */
        fprintf(stderr, "nnc: the output must be a .c file (its .h is written beside it), got '%s'\n", b->output);
        return 2;
    }
    char *h_path = b->output && !o->dot ? header_path(b->output) : NULL;
    int clobber = b->output && (same_file(b->output, b->input) || (h_path && same_file(h_path, b->input)));
    free(h_path);
    if (clobber) {
        fprintf(stderr, "nnc: the output %s%s is the input file; give -o another name\n", b->output,
                o->dot ? "" : " (or its .h)");
        return 2;
    }
    if (b->quantize && onnx) {
        fprintf(stderr, "nnc: --quantize int8 of an ONNX model is not supported yet (quantized QDQ models "
                "are later work); quantize a .nn model, or export the ONNX model in float\n");
        return 3;
    }
    if (b->quantize && !b->inference) {
        fprintf(stderr, "nnc: --quantize int8 makes an inference build: add --inference (training an int8 "
                "model is not supported)\n");
        return 3;
    }
    if (b->quantize && (!b->weights || !b->calibrate)) {
        fprintf(stderr, "nnc: --quantize int8 needs the trained weights (--weights FILE) and sample inputs "
                "(--calibrate FILE)\n");
        return 2;
    }
    if (!b->quantize && (b->calibrate || b->calibrate_method || b->calibrate_samples)) {
        fprintf(stderr, "nnc: --calibrate and its options go with --quantize int8\n");
        return 2;
    }
    if (b->calibrate && access(b->calibrate, R_OK)) {
        fprintf(stderr, "nnc: cannot read --calibrate %s: %s\n", b->calibrate, strerror(errno));
        return 2;
    }
    if ((b->train_loss || b->optimizer || b->nshapes) && !onnx) {
        fprintf(stderr, "nnc: --train, --optimizer and --shape are for ONNX models; a .nn file has a train block "
                "and declares its shapes\n");
        return 2;
    }
    return -1;
}

int main(int argc, char **argv) {
    calibrate_load = nnc_host_array_load;   /* --calibrate's files, by the host library's readers */
    if (argc > 1 && fit_is_verb(argv[1])) return fit_main(argc, argv);
    Build b = { .opt = 2 };
    Outputs o = { .target = target_default() };
    for (int i = 1; i < argc; i++) {
        int status = parse_option(argc, argv, &i, &b, &o);
        if (status >= 0) return status;
    }
    int status = check_options(&b, &o, build_is_onnx(b.input));
    if (status >= 0) return status;
    Compiled m;
    status = compile_model(&b, o.target, &m);
    if (!status) {
        if (o.summary) summary_print(m.g, &m.plan, stdout);
        if (o.summary && (b.quantize || m.g->q8)) summary_q8(m.g, &m.plan, stdout);
        if (o.report) report_print(m.g, &m.plan, o.target, stdout);
        if (o.dump) ir_dump(m.g, stdout);
        char cmd[2048];
        command_line(argc, argv, b.opt, cmd, sizeof cmd);
        if (o.dot) status = write_dot(m.g, o.dot == 2, b.output);
        else status = b.output ? write_outputs(&m, b.output, b.input, cmd, o.standalone) : 0;
    }
    status = compiled_status(&m, status);
    compiled_free(&m);
    return status;
}
