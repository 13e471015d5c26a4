/* fuzz_weights.c — libFuzzer harness for the weights loader (--weights,
 * deploy_bake): the input is one mode byte, then a parameter buffer as a
 * generated model's save() writes it; one of four small .nn models built
 * in here is compiled with `--weights FILE` in-process (front_nn, whose
 * pipeline_forward bakes the file; pipeline_finish, the printers, emit_c).
 *
 * The mode byte:
 *   bits 0-1  the model (models[] below)
 *   bit 2     repair the buffer before loading it: the header (magic,
 *             version, the model's fingerprint and float count), the length
 *             and the CRC are made right, so mutated floats get past the
 *             checks (NaN/inf refusal, batch-norm folding, emission) instead
 *             of all failing the checksum
 *   bit 3     --inference     bit 4  --freeze <the model's first layer>
 *   bit 5     -O0
 * Every baked float that reaches the generated C must be a C literal: the
 * harness aborts when the baked_ array holds "nan" or "inf".
 *
 * Replay: NNC_FUZZ_KEEP=DIR writes DIR/model.nn, DIR/model.weights (as
 * repaired) and DIR/options (the command line's options), for bin/nnc.
 *
 * Seeds: run with NNC_FUZZ_WRITE_SEEDS=DIR (fuzz-seeds.sh does) and the
 * harness writes, for each model, the buffer save() writes (the runtime's
 * nnc_rt_params_save over the model's layout and fingerprint) under a few
 * mode bytes, then exits.
 */
#include "fuzz_common.h"

static const char *const models[4] = {
    "model mlp {\n    input x: f32[4]\n    dense(3, relu)\n    dense(2, softmax)\n}\n"
    "train mlp {\n    loss sparse_categorical_crossentropy\n    optimizer adam(lr = 0.01)\n    batch 4\n}\n",

    "model cnn {\n    input x: f32[6, 6, 2]\n"
    "    a = relu(batch_norm(conv2d(x, 3, 3, padding = same, use_bias = false), momentum = 0.9))\n"
    "    b = batch_norm(conv2d(a, 3, 3, padding = same))\n"
    "    d = batch_norm(depthwise_conv2d(b, 3, padding = same), epsilon = 0.01)\n"
    "    c = relu(add(a, d))\n    y = dense(global_avg_pool(c), 2, softmax)\n    output y\n}\n"
    "train cnn {\n    loss sparse_categorical_crossentropy\n    optimizer sgd(lr = 0.1, momentum = 0.9)\n    batch 2\n}\n",

    "model rnn {\n    input t: i32[5]\n    embedding(7, 3)\n    lstm(4, return_sequences = true)\n"
    "    gru(3)\n    dense(1, sigmoid)\n}\n"
    "train rnn {\n    loss binary_crossentropy\n    optimizer rmsprop\n    batch 3\n}\n",

    "model seq {\n    input x: f32[8, 2]\n    conv1d(3, 3, padding = same)\n    batch_norm\n"
    "    max_pool1d(2)\n    flatten\n    dense(4)\n    batch_norm\n    dense(1)\n}\n"
    "train seq {\n    loss mse\n    optimizer adam\n    batch 5\n}\n",
};

/* what the model's save() writes: its float count, its fingerprint, the
 * first layer with parameters (for --freeze) */
static struct { long count; uint32_t fingerprint; char layer[IR_NAME]; } info[4];

static Graph *lower_text(const char *text, struct Program **prog) {
    diag_init("model.nn", text);
    *prog = ast_parse("model.nn", text);
    return *prog && !diag_error_count() ? lower_program(*prog, NULL) : NULL;
}

/* the seeds: each model's save() buffer, over values like trained ones */
static void write_seeds(const char *dir) {
    static const unsigned modes[] = { 0, 4, 8, 16, 32, 4 | 8, 4 | 16 | 32 };
    for (int m = 0; m < 4; m++) {
        struct Program *prog;
        Graph *g = lower_text(models[m], &prog);
        if (!g) abort();
        long count = plan_params(g, NULL, NULL);
        float *params = calloc((size_t)count + 1, sizeof *params);
        size_t cap = (size_t)NNC_RT_PARAMS_BYTES(count);
        unsigned char *buf = malloc(cap + 1);
        if (!params || !buf) abort();
        uint32_t r = 12345u + (uint32_t)m;
        for (int v = 0; v < g->nvalues; v++) {
            const Value *x = &g->values[v];
            if (x->role != ROLE_PARAM) continue;
            int var = strstr(x->name, "variance") != NULL;
            for (long i = 0; i < ir_size(x); i++) {
                r = r * 1664525u + 1013904223u;
                float u = (float)(r >> 8) / 16777216.0f;     /* [0, 1) */
                params[x->offset + i] = var ? 0.5f + u : 2 * u - 1;
            }
        }
        if (nnc_rt_params_save(buf + 1, cap, params, count, ir_fingerprint(g, 0)) != cap) abort();
        for (size_t k = 0; k < sizeof modes / sizeof *modes; k++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s-mode%02x.bin", dir, g->name, modes[k] | (unsigned)m);
            buf[0] = (unsigned char)(modes[k] | (unsigned)m);
            FILE *f = fopen(path, "wb");
            if (!f || fwrite(buf, 1, cap + 1, f) != cap + 1 || fclose(f)) abort();
        }
        free(params);
        free(buf);
        ir_free(g);
        ast_free(prog);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fz_init();
    const char *seeds = getenv("NNC_FUZZ_WRITE_SEEDS");
    if (seeds) {
        write_seeds(seeds);
        exit(0);
    }
    for (int m = 0; m < 4; m++) {
        struct Program *prog;
        Graph *g = lower_text(models[m], &prog);
        if (!g) abort();
        info[m].count = plan_params(g, NULL, NULL);
        info[m].fingerprint = ir_fingerprint(g, 0);
        for (int v = 0; v < g->nvalues && !info[m].layer[0]; v++)
            if (g->values[v].role == ROLE_PARAM)
                snprintf(info[m].layer, IR_NAME, "%.*s", (int)strcspn(g->values[v].name, "."), g->values[v].name);
        ir_free(g);
        ast_free(prog);
    }
    return 0;
}

/* the buffer with a right header, length and CRC around the input's floats */
static unsigned char *repair(const uint8_t *data, size_t size, int m, size_t *len) {
    *len = (size_t)NNC_RT_PARAMS_BYTES(info[m].count);
    unsigned char *p = calloc(*len, 1);
    if (!p) abort();
    memcpy(p, data, size < *len ? size : *len);
    memcpy(p, "NNCP", 4);
    nnc_rt_put_u32(p + 4, NNC_RT_PARAMS_FORMAT);
    nnc_rt_put_u32(p + 8, info[m].fingerprint);
    nnc_rt_put_u32(p + 12, (uint32_t)info[m].count);
    nnc_rt_put_u32(p + *len - 4, nnc_rt_crc32(p, *len - 4));
    return p;
}

/* the run as files, for bin/nnc */
static void keep_files(const char *dir, const Build *b, const uint8_t *w, size_t len, const char *model) {
    char path[4096];
    FILE *f;
    snprintf(path, sizeof path, "%s/model.weights", dir);
    if (!(f = fopen(path, "wb")) || fwrite(w, 1, len, f) != len || fclose(f)) abort();
    snprintf(path, sizeof path, "%s/model.nn", dir);
    if (!(f = fopen(path, "w")) || fputs(model, f) < 0 || fclose(f)) abort();
    snprintf(path, sizeof path, "%s/options", dir);
    if (!(f = fopen(path, "w"))) abort();
    fprintf(f, "--weights %s/model.weights%s%s%s%s\n", dir, b->opt ? "" : " -O0", b->inference ? " --inference" : "",
            b->freeze ? " --freeze " : "", b->freeze ? b->freeze : "");
    if (fclose(f)) abort();
}

/* a baked float printed as "nan" or "inf" is not C */
static void check_literals(const char *c) {
    const char *a = c ? strstr(c, "baked_[") : NULL;
    if (!a) return;
    const char *end = strstr(a, "};");
    for (const char *s = a; (s = strpbrk(s, "ni")) && (!end || s < end); s++)
        if (!strncmp(s, "nan", 3) || !strncmp(s, "inf", 3)) {
            fprintf(stderr, "fuzz_weights: a baked float is not a C literal: %.40s\n", s);
            abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    unsigned mode = data[0];
    int m = (int)(mode & 3);
    data++, size--;
    size_t len = size;
    unsigned char *fixed = mode & 4 ? repair(data, size, m, &len) : NULL;
    char wpath[128], mpath[128];
    Build b = { .opt = mode & 32 ? 0 : 2, .inference = !!(mode & 8), .freeze = mode & 16 ? info[m].layer : NULL };
    fz_begin(DIAG_WARN);
    b.weights = fz_write(".weights", fixed ? fixed : data, len, wpath, sizeof wpath);
    b.input = fz_write(".nn", (const uint8_t *)models[m], strlen(models[m]), mpath, sizeof mpath);
    char *src = NULL, *code = NULL;
    size_t code_len = 0;
    struct Program *prog = NULL;
    FILE *c = open_memstream(&code, &code_len);
    if (!c) abort();
    fz_finish(front_nn(&b, &src, &prog), &b, target_default(), c);
    fclose(c);
    check_literals(code);
    free(code);
    ast_free(prog);
    free(src);
    const char *keep = getenv("NNC_FUZZ_KEEP");
    if (keep) keep_files(keep, &b, fixed ? fixed : data, len, models[m]);
    free(fixed);
    fz_remove(wpath);
    fz_remove(mpath);
    return 0;
}
