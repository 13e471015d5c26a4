/* test_onnx.c — the ONNX front end on files built here with protobuf-c:
 * a valid model compiles; malformed ones (truncated, not protobuf, a cycle,
 * a missing input, negative or overflowing dimensions) get one clear error
 * each, exit status 1 and no output file; unsupported operators are all
 * listed at once with node names and the opset, exit status 3.
 * (Conformance against ONNX's own test data: tests/onnx_conformance.py.)
 */
#include <check.h>
#include "check_run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "model_build.h"
#include "onnx.pb-c.h"
#include "onnx_model.h"

/* ---- building models ------------------------------------------------------------- */

typedef struct Spec {
    const char *nodes[8][4];    /* op, input, input2 (or NULL), output */
    int nnodes;
    int64_t in_dims[4];         /* the graph input "x" */
    int in_rank;
    const char *dim_param;      /* a symbolic dimension, at axis param_axis */
    int64_t init_dims[2];       /* an initializer "w" when init_rank > 0 */
    int init_rank;
    const char *output;
    int param_axis;
} Spec;

static size_t build(const Spec *s, unsigned char **buf) {
    Onnx__ModelProto m;
    Onnx__GraphProto g;
    Onnx__OperatorSetIdProto opset, *opsets[1];
    test_onnx_model(&m, &g, &opset, opsets, 13);
    /* nodes */
    Onnx__NodeProto nodes[8], *np[8];
    char *ins[8][2], *outs[8][1];
    for (int i = 0; i < s->nnodes; i++) {
        Onnx__NodeProto n = ONNX__NODE_PROTO__INIT;
        nodes[i] = n;
        nodes[i].op_type = (char *)s->nodes[i][0];
        nodes[i].name = (char *)s->nodes[i][3];
        ins[i][0] = (char *)s->nodes[i][1];
        ins[i][1] = (char *)s->nodes[i][2];
        nodes[i].n_input = s->nodes[i][2] ? 2 : 1;
        nodes[i].input = ins[i];
        outs[i][0] = (char *)s->nodes[i][3];
        nodes[i].n_output = 1;
        nodes[i].output = outs[i];
        np[i] = &nodes[i];
    }
    g.n_node = (size_t)s->nnodes;
    g.node = np;
    /* input x: float with the given shape */
    Onnx__TensorShapeProto__Dimension dims[4], *dp[4];
    for (int d = 0; d < s->in_rank; d++) {
        Onnx__TensorShapeProto__Dimension dim = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
        dims[d] = dim;
        if (d == s->param_axis && s->dim_param) {
            dims[d].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            dims[d].dim_param = (char *)s->dim_param;
        } else {
            dims[d].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            dims[d].dim_value = s->in_dims[d];
        }
        dp[d] = &dims[d];
    }
    Onnx__TensorShapeProto shape = ONNX__TENSOR_SHAPE_PROTO__INIT;
    shape.n_dim = (size_t)s->in_rank;
    shape.dim = dp;
    Onnx__TypeProto__Tensor tt = ONNX__TYPE_PROTO__TENSOR__INIT;
    tt.has_elem_type = 1;
    tt.elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt.shape = &shape;
    Onnx__TypeProto type = ONNX__TYPE_PROTO__INIT;
    type.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    type.tensor_type = &tt;
    Onnx__ValueInfoProto in = ONNX__VALUE_INFO_PROTO__INIT, out = ONNX__VALUE_INFO_PROTO__INIT;
    Onnx__ValueInfoProto *inp[1] = { &in }, *outp[1] = { &out };
    in.name = "x";
    in.type = &type;
    out.name = (char *)s->output;
    out.type = &type;
    g.n_input = 1;
    g.input = inp;
    g.n_output = 1;
    g.output = outp;
    /* initializer w */
    Onnx__TensorProto w = ONNX__TENSOR_PROTO__INIT, *wp[1] = { &w };
    float wdata[4] = { 1, 2, 3, 4 };
    int64_t wdims[2];
    if (s->init_rank) {
        w.name = "w";
        w.has_data_type = 1;
        w.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
        memcpy(wdims, s->init_dims, sizeof wdims);
        w.n_dims = (size_t)s->init_rank;
        w.dims = wdims;
        w.n_float_data = 4;
        w.float_data = wdata;
        g.n_initializer = 1;
        g.initializer = wp;
    }
    size_t len = onnx__model_proto__get_packed_size(&m);
    *buf = malloc(len);
    onnx__model_proto__pack(&m, *buf);
    return len;
}

/* write the bytes as DIR/NAME.onnx, run nnc on it; returns the status, out the messages */
static int compile_with(const char *name, const unsigned char *buf, size_t len, const char *flags, char *out,
                        size_t cap) {
    char path[256], cmd[1024];
    snprintf(path, sizeof path, "%s/%s.onnx", dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(buf, 1, len, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "rm -f %s/%s.c %s/%s.h && bin/nnc %s %s -o %s/%s.c", dir, name, dir, name, flags, path,
             dir, name);
    int st = run(cmd, out, cap);
    if (st != 0) {   /* a failed compile leaves nothing behind */
        snprintf(cmd, sizeof cmd, "test ! -e %s/%s.c && test ! -e %s/%s.h", dir, name, dir, name);
        char tmp[256];
        ck_assert_int_eq(run(cmd, tmp, sizeof tmp), 0);
    }
    return st;
}

static int compile(const char *name, const unsigned char *buf, size_t len, char *out, size_t cap) {
    return compile_with(name, buf, len, "", out, cap);
}

static const Spec relu = { { { "Relu", "x", NULL, "y" } }, 1, { 2, 3 }, 2, NULL, { 0 }, 0, "y", 0 };

START_TEST(valid_model) {
    unsigned char *buf;
    char out[4096];
    size_t len = build(&relu, &buf);
    ck_assert_int_eq(compile("relu", buf, len, out, sizeof out), 0);
    free(buf);
}
END_TEST

START_TEST(truncated_and_not_protobuf) {
    unsigned char *buf;
    char out[4096];
    size_t len = build(&relu, &buf);
    ck_assert_int_eq(compile("truncated", buf, len / 2, out, sizeof out), 1);
    ck_assert_msg(strstr(out, "not an ONNX model") != NULL, "%s", out);
    free(buf);
    const char *text = "this is not a model\n";
    ck_assert_int_eq(compile("text", (const unsigned char *)text, strlen(text), out, sizeof out), 1);
    ck_assert_msg(strstr(out, "not an ONNX model") != NULL, "%s", out);
}
END_TEST

START_TEST(cycle_and_missing_input) {
    const Spec cycle = { { { "Relu", "b", NULL, "a" }, { "Relu", "a", NULL, "b" } }, 2, { 4 }, 1, NULL, { 0 }, 0, "b", 0 };
    const Spec missing = { { { "Add", "x", "nope", "y" } }, 1, { 4 }, 1, NULL, { 0 }, 0, "y", 0 };
    unsigned char *buf;
    char out[4096];
    size_t len = build(&cycle, &buf);
    ck_assert_int_eq(compile("cycle", buf, len, out, sizeof out), 1);
    ck_assert_msg(strstr(out, "node 'a' (Relu, opset 13) reads 'b', which no earlier node or graph input defines "
                              "(the graph is not in topological order, has a cycle or misses an input)") != NULL, "%s", out);
    free(buf);
    len = build(&missing, &buf);
    ck_assert_int_eq(compile("missing", buf, len, out, sizeof out), 1);
    ck_assert_msg(strstr(out, "reads 'nope', which no earlier node") != NULL, "%s", out);
    free(buf);
}
END_TEST

START_TEST(bad_dimensions) {
    const Spec negative = { { { "Add", "x", "w", "y" } }, 1, { 4 }, 1, NULL, { -4 }, 1, "y", 0 };
    const Spec huge = { { { "Add", "x", "w", "y" } }, 1, { 4 }, 1, NULL, { 1LL << 31, 1LL << 31 }, 2, "y", 0 };
    const Spec short_data = { { { "Add", "x", "w", "y" } }, 1, { 4 }, 1, NULL, { 3, 3 }, 2, "y", 0 };
    unsigned char *buf;
    char out[4096];
    size_t len = build(&negative, &buf);
    ck_assert_int_eq(compile("negative", buf, len, out, sizeof out), 1);
    ck_assert_msg(strstr(out, "tensor 'w' has a negative or huge dimension") != NULL, "%s", out);
    free(buf);
    len = build(&huge, &buf);
    ck_assert_int_eq(compile("huge", buf, len, out, sizeof out), 1);
    ck_assert_msg(strstr(out, "tensor 'w' has a negative or huge dimension") != NULL, "%s", out);
    free(buf);
    len = build(&short_data, &buf);
    ck_assert_int_eq(compile("short", buf, len, out, sizeof out), 1);
    ck_assert_msg(strstr(out, "tensor 'w' holds 4 values but its shape needs 9") != NULL, "%s", out);
    free(buf);
}
END_TEST

START_TEST(unsupported_listed) {
    /* every op nnc lacks is named, even downstream of another (Twiddle reads Frobnicate's output) */
    const Spec two = { { { "Relu", "x", NULL, "a" }, { "Frobnicate", "a", NULL, "b" }, { "Relu", "b", NULL, "c" },
                         { "Wobble", "a", NULL, "d" }, { "Twiddle", "c", NULL, "e" } }, 5, { 4 }, 1, NULL, { 0 }, 0,
                       "e", 0 };
    const Spec dynamic = { { { "Relu", "x", NULL, "y" } }, 1, { 2, 0 }, 2, "T", { 0 }, 0, "y", 1 };
    unsigned char *buf;
    char out[4096];
    size_t len = build(&two, &buf);
    ck_assert_int_eq(compile("two", buf, len, out, sizeof out), 3);
    ck_assert_msg(strstr(out, "unsupported: node 'b' (Frobnicate, opset 13): no such operator in nnc") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "unsupported: node 'd' (Wobble, opset 13): no such operator in nnc") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "unsupported: node 'e' (Twiddle, opset 13): no such operator in nnc") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "'c'") == NULL, "the supported node after an unsupported one is not reported:\n%s", out);
    free(buf);
    len = build(&dynamic, &buf);
    ck_assert_int_eq(compile("dynamic", buf, len, out, sizeof out), 3);
    ck_assert_msg(strstr(out, "graph input 'x' has a dynamic dimension 1 ('T'); give its size with --shape T=N") != NULL,
                  "%s", out);
    ck_assert_int_eq(compile_with("dynamic", buf, len, "--shape T=5", out, sizeof out), 0);
    ck_assert_int_eq(compile_with("dynamic", buf, len, "--shape x=2x7", out, sizeof out), 0);
    ck_assert_int_eq(compile_with("dynamic", buf, len, "--shape x=2x7x1", out, sizeof out), 1);
    ck_assert_msg(strstr(out, "--shape x=2x7x1: 'x' has rank 2; give 2 extents like 1x3x96x96") != NULL, "%s", out);
    ck_assert_int_eq(compile_with("dynamic", buf, len, "--shape Q=3", out, sizeof out), 1);
    ck_assert_msg(strstr(out, "--shape Q=3: no graph input and no named dimension (dim_param) of one is called 'Q'"),
                  "%s", out);
    /* a run-time extent only recurrent layers can take */
    ck_assert_int_eq(compile_with("dynamic", buf, len, "--shape 'T<=5'", out, sizeof out), 3);
    ck_assert_msg(strstr(out, "--shape T<=5: node 'y' (nd_unary) reads the bounded dimension 'T': nnc bounds only "
                              "the time axis of recurrent layers"), "%s", out);
    free(buf);
}
END_TEST

/* a symbolic batch axis is nnc's run-time n: the header says so */
START_TEST(dynamic_batch) {
    const Spec dynamic = { { { "Relu", "x", NULL, "y" } }, 1, { 0, 3 }, 2, "N", { 0 }, 0, "y", 0 };
    unsigned char *buf;
    char out[4096], path[256];
    size_t len = build(&dynamic, &buf);
    ck_assert_int_eq(compile_with("batch", buf, len, "--batch 16", out, sizeof out), 0);
    snprintf(path, sizeof path, "grep -c 'input  x: f32 (n, 3)\\|define BATCH_BATCH 16' %s/batch.h", dir);
    ck_assert_int_eq(run(path, out, sizeof out), 0);
    ck_assert_str_eq(out, "2\n");
    free(buf);
}
END_TEST

int main(void) {
    const TTest *tests[] = { valid_model, truncated_and_not_protobuf, cycle_and_missing_input, bad_dimensions,
                             unsupported_listed, dynamic_batch, NULL };
    const kernel_case cases[] = { { "import", tests, 60, 0 } };
    if (model_build_init("tmp-onnx")) return 1;
    int status = run_cases("onnx", cases, 1);
    return model_build_done() ? 1 : status;
}
