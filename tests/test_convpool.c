/* test_convpool.c — the ONNX windows nnc composes from N-d ops (3-D Conv,
 * 1-D/3-D ConvTranspose, dilated 3-D MaxPool with its indices, AveragePool
 * counting the padding, LRN) against plain loops written here, at edges
 * (padding on both sides, strides, dilations, output_padding, ceil_mode);
 * and, compiled with --train, their gradients against central differences
 * (tests/model_check.c's gradcheck).  Models are single nodes (after a Mul
 * by a trained per-channel scale, so a pool has a parameter upstream) built
 * here with protobuf-c. */
#include <check.h>
#include "check_run.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model_build.h"
#include "onnx.pb-c.h"
#include "onnx_model.h"

#define MAXR 5

typedef struct Attr {
    const char *name;
    int n;              /* ints; 0: the float f; -1: the string s; -2: one int, ints[0] */
    int64_t ints[10];
    float f;
    const char *s;
} Attr;

typedef struct Case {
    const char *op;
    int xr;
    int64_t x[MAXR];        /* the input */
    int wr;
    int64_t w[MAXR];        /* a weight initializer "w" (wr 0: none) */
    int64_t bias;           /* a bias of this many values (0: none) */
    Attr attr[6];
    int nattr;
    int yr;
    int64_t y[MAXR];        /* the expected output shape */
    int indices;            /* MaxPool's second output */
    int scale;              /* a Mul by a per-channel "s" before the node */
} Case;

static float rnd(unsigned *s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 8) / 16777216.0f * 2.0f - 1.0f;
}

static long numel(const int64_t *d, int r) {
    long n = 1;
    for (int i = 0; i < r; i++) n *= (long)d[i];
    return n;
}

static const Attr *attr_of(const Case *c, const char *name) {
    for (int i = 0; i < c->nattr; i++)
        if (!strcmp(c->attr[i].name, name)) return &c->attr[i];
    return NULL;
}

/* an integer list attribute, or dflt for each of n entries */
static void ints_of(const Case *c, const char *name, int n, long dflt, long *out) {
    const Attr *a = attr_of(c, name);
    for (int i = 0; i < n; i++) out[i] = a ? (long)a->ints[i] : dflt;
}

/* ---- the model file ---------------------------------------------------------------- */

static Onnx__ValueInfoProto *value_info(const char *name, int r, const int64_t *dims) {
    Onnx__ValueInfoProto *v = calloc(1, sizeof *v);
    Onnx__TypeProto *t = calloc(1, sizeof *t);
    Onnx__TypeProto__Tensor *tt = calloc(1, sizeof *tt);
    Onnx__TensorShapeProto *sh = calloc(1, sizeof *sh);
    onnx__value_info_proto__init(v);
    onnx__type_proto__init(t);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sh);
    sh->n_dim = (size_t)r;
    sh->dim = calloc((size_t)r + 1, sizeof *sh->dim);
    for (int d = 0; d < r; d++) {
        Onnx__TensorShapeProto__Dimension *dm = calloc(1, sizeof *dm);
        onnx__tensor_shape_proto__dimension__init(dm);
        dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        dm->dim_value = dims[d];
        sh->dim[d] = dm;
    }
    tt->has_elem_type = 1;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt->shape = sh;
    t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    t->tensor_type = tt;
    v->name = (char *)name;
    v->type = t;
    return v;
}

static Onnx__TensorProto *initializer(const char *name, int r, const int64_t *dims, const float *data) {
    Onnx__TensorProto *t = calloc(1, sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = (char *)name;
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    t->n_dims = (size_t)r;
    t->dims = (int64_t *)dims;
    t->n_float_data = (size_t)numel(dims, r);
    t->float_data = (float *)data;
    return t;
}

/* the model's bytes (leaks its small parts: a test process) */
static size_t build(const Case *c, const float *w, const float *b, const float *s, unsigned char **buf) {
    Onnx__ModelProto m;
    Onnx__GraphProto g;
    Onnx__OperatorSetIdProto opset, *opsets[1];
    test_onnx_model(&m, &g, &opset, opsets, 13);
    static Onnx__NodeProto nodes[2];
    static Onnx__NodeProto *np[2];
    static char *ins[2][3], *outs[2][2];
    static Onnx__AttributeProto attrs[6], *ap[6];
    int k = 0;
    if (c->scale) {
        onnx__node_proto__init(&nodes[k]);
        nodes[k].op_type = "Mul";
        ins[k][0] = "x";
        ins[k][1] = "s";
        nodes[k].n_input = 2;
        nodes[k].input = ins[k];
        outs[k][0] = "xs";
        nodes[k].n_output = 1;
        nodes[k].output = outs[k];
        np[k] = &nodes[k];
        k++;
    }
    onnx__node_proto__init(&nodes[k]);
    nodes[k].op_type = (char *)c->op;
    ins[k][0] = c->scale ? "xs" : "x";
    ins[k][1] = "w";
    ins[k][2] = "b";
    nodes[k].n_input = c->wr ? (c->bias ? 3 : 2) : 1;
    nodes[k].input = ins[k];
    outs[k][0] = "y";
    outs[k][1] = "i";
    nodes[k].n_output = c->indices ? 2 : 1;
    nodes[k].output = outs[k];
    for (int i = 0; i < c->nattr; i++) {
        onnx__attribute_proto__init(&attrs[i]);
        attrs[i].name = (char *)c->attr[i].name;
        if (c->attr[i].n > 0) {
            attrs[i].has_type = 1;
            attrs[i].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
            attrs[i].n_ints = (size_t)c->attr[i].n;
            attrs[i].ints = (int64_t *)c->attr[i].ints;
        } else if (c->attr[i].n == -2) {
            attrs[i].has_type = 1;
            attrs[i].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
            attrs[i].has_i = 1;
            attrs[i].i = c->attr[i].ints[0];
        } else if (c->attr[i].n == 0) {
            attrs[i].has_type = 1;
            attrs[i].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
            attrs[i].has_f = 1;
            attrs[i].f = c->attr[i].f;
        } else {
            attrs[i].has_type = 1;
            attrs[i].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
            attrs[i].has_s = 1;
            attrs[i].s.data = (uint8_t *)c->attr[i].s;
            attrs[i].s.len = strlen(c->attr[i].s);
        }
        ap[i] = &attrs[i];
    }
    nodes[k].n_attribute = (size_t)c->nattr;
    nodes[k].attribute = ap;
    np[k] = &nodes[k];
    g.n_node = (size_t)k + 1;
    g.node = np;
    static Onnx__ValueInfoProto *inp[1], *outp[2];
    inp[0] = value_info("x", c->xr, c->x);
    outp[0] = value_info("y", c->yr, c->y);
    outp[1] = value_info("i", c->yr, c->y);
    g.n_input = 1;
    g.input = inp;
    g.n_output = c->indices ? 2 : 1;
    g.output = outp;
    static Onnx__TensorProto *init[3];
    static int64_t bdims[1], sdims[MAXR];
    int ni = 0;
    if (c->wr) init[ni++] = initializer("w", c->wr, c->w, w);
    if (c->bias) { bdims[0] = c->bias; init[ni++] = initializer("b", 1, bdims, b); }
    if (c->scale) {
        for (int d = 0; d < c->xr - 1; d++) sdims[d] = d ? 1 : c->x[1];
        init[ni++] = initializer("s", c->xr - 1, sdims, s);
    }
    g.n_initializer = (size_t)ni;
    g.initializer = init;
    size_t len = onnx__model_proto__get_packed_size(&m);
    *buf = malloc(len);
    onnx__model_proto__pack(&m, *buf);
    return len;
}

/* write the model as DIR/NAME.onnx and compile it (nnc FLAGS) and the driver
 * DRIVER (tests/onnx_case.c or tests/model_check.c) against it: the exe */
static const char *compile_case(const char *name, const unsigned char *buf, size_t len, const char *flags,
                                const char *driver) {
    static char exe[256];
    char path[256], cmd[2048], out[8192], upper[64];
    size_t i;
    snprintf(path, sizeof path, "%s/%s.onnx", dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(buf, 1, len, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s %s %s -o %s/%s.c", nnc, flags, path, dir, name);
    must_succeed(cmd, out, sizeof out);
    for (i = 0; name[i] && i < sizeof upper - 1; i++) upper[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
    upper[i] = 0;
    snprintf(exe, sizeof exe, "%s/%s_exe", dir, name);
    snprintf(cmd, sizeof cmd,
             "cc -std=c99 -O1 -Iruntime -I%s -DNNC_MODEL=%s -DNNC_UPPER=%s '-DNNC_HEADER=\"%s.h\"' %s/%s.c %s "
             "build/libnnc_rt.a -lm -o %s", dir, name, upper, name, dir, name, driver, exe);
    must_succeed(cmd, out, sizeof out);
    return exe;
}

/* run the compiled case on x: its outputs (ny floats) */
static void run_case(const char *exe, const float *x, long nx, float *y, long ny) {
    char in[256], cmd[600];
    snprintf(in, sizeof in, "%s/in.bin", dir);
    FILE *f = fopen(in, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(x, sizeof *x, (size_t)nx, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s < %s", exe, in);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t got = fread(y, sizeof *y, (size_t)ny + 1, p);
    ck_assert_int_eq(pclose(p), 0);
    ck_assert_int_eq((long)got, ny);
}

/* ---- plain references ---------------------------------------------------------------- */

/* multi-index of flat i over dims[0..n) */
static void unflat(long i, int n, const int64_t *dims, long *idx) {
    for (int d = n - 1; d >= 0; d--) { idx[d] = i % dims[d]; i /= dims[d]; }
}

/* Conv: y[n, m, o] = b[m] + sum over c of m's group, k of x[n, c, o s + k d - pb] w[m, c, k] */
static void ref_conv(const Case *c, const float *x, const float *w, const float *b, float *y) {
    int sp = c->xr - 2;
    long s[3], d[3], p[6], o[3], k[3], grp;
    ints_of(c, "group", 1, 1, &grp);
    long Cg = c->w[1], Mg = c->w[0] / grp;
    ints_of(c, "strides", sp, 1, s);
    ints_of(c, "dilations", sp, 1, d);
    ints_of(c, "pads", 2 * sp, 0, p);
    long P = numel(c->y + 2, sp), K = numel(c->w + 2, sp), X = numel(c->x + 2, sp);
    for (long n = 0; n < c->x[0]; n++)
        for (long m = 0; m < c->w[0]; m++)
            for (long q = 0; q < P; q++) {
                unflat(q, sp, c->y + 2, o);
                double acc = b ? b[m] : 0;
                for (long cg = 0; cg < Cg; cg++)
                    for (long kk = 0; kk < K; kk++) {
                        long ch = m / Mg * Cg + cg;
                        unflat(kk, sp, c->w + 2, k);
                        long flat = 0, in = 1;
                        for (int a = 0; a < sp; a++) {
                            long pos = o[a] * s[a] + k[a] * d[a] - p[a];
                            in &= pos >= 0 && pos < c->x[2 + a];
                            flat = flat * c->x[2 + a] + pos;
                        }
                        if (in) acc += (double)x[(n * c->x[1] + ch) * X + flat] * w[(m * Cg + cg) * K + kk];
                    }
                y[(n * c->w[0] + m) * P + q] = (float)acc;
            }
}

/* ConvTranspose, group 1: x[n, c, i] w[c, m, k] added at y[n, m, i s + k d - pb] */
static void ref_conv_t(const Case *c, const float *x, const float *w, const float *b, float *y) {
    int sp = c->xr - 2;
    long s[3], d[3], p[6], i3[3], k[3], grp;
    ints_of(c, "group", 1, 1, &grp);
    ints_of(c, "strides", sp, 1, s);
    ints_of(c, "dilations", sp, 1, d);
    ints_of(c, "pads", 2 * sp, 0, p);
    long P = numel(c->y + 2, sp), K = numel(c->w + 2, sp), X = numel(c->x + 2, sp), Mg = c->w[1], M = Mg * grp;
    long Cg = c->x[1] / grp;
    for (long n = 0; n < c->x[0]; n++)
        for (long m = 0; m < M; m++)
            for (long q = 0; q < P; q++) y[(n * M + m) * P + q] = b ? b[m] : 0;
    for (long n = 0; n < c->x[0]; n++)
        for (long ch = 0; ch < c->x[1]; ch++)
            for (long q = 0; q < X; q++) {
                unflat(q, sp, c->x + 2, i3);
                for (long kk = 0; kk < K; kk++) {
                    unflat(kk, sp, c->w + 2, k);
                    long flat = 0, in = 1;
                    for (int a = 0; a < sp; a++) {
                        long pos = i3[a] * s[a] + k[a] * d[a] - p[a];
                        in &= pos >= 0 && pos < c->y[2 + a];
                        flat = flat * c->y[2 + a] + pos;
                    }
                    if (!in) continue;
                    for (long mm = 0; mm < Mg; mm++)
                        y[(n * M + ch / Cg * Mg + mm) * P + flat] += x[(n * c->x[1] + ch) * X + q] * w[(ch * Mg + mm) * K + kk];
                }
            }
}

/* MaxPool (with the flat index of each maximum, the first on ties) or
 * AveragePool (count_include_pad: the window's cells inside the padded input) */
static void ref_pool(const Case *c, int avg, const float *x, float *y, float *idx) {
    int sp = c->xr - 2;
    long s[3], d[3], p[6], kd[3], o[3], k[3];
    int64_t ks[3];
    ints_of(c, "strides", sp, 1, s);
    ints_of(c, "dilations", sp, 1, d);
    ints_of(c, "pads", 2 * sp, 0, p);
    ints_of(c, "kernel_shape", sp, 1, kd);
    for (int a = 0; a < sp; a++) ks[a] = kd[a];
    const Attr *cip = attr_of(c, "count_include_pad");
    long P = numel(c->y + 2, sp), K = numel(ks, sp), X = numel(c->x + 2, sp);
    for (long nc = 0; nc < c->x[0] * c->x[1]; nc++)
        for (long q = 0; q < P; q++) {
            unflat(q, sp, c->y + 2, o);
            double acc = avg ? 0 : -INFINITY;
            long best = -1, cnt = 0;
            for (long kk = 0; kk < K; kk++) {
                unflat(kk, sp, ks, k);
                long flat = 0, in = 1, inpad = 1;
                for (int a = 0; a < sp; a++) {
                    long pos = o[a] * s[a] + k[a] * d[a] - p[a];
                    in &= pos >= 0 && pos < c->x[2 + a];
                    inpad &= pos >= -p[a] && pos < c->x[2 + a] + p[sp + a];
                    flat = flat * c->x[2 + a] + pos;
                }
                cnt += cip && cip->ints[0] ? inpad : in;
                if (!in) continue;
                float v = x[nc * X + flat];
                if (avg) acc += v;
                else if (v > acc) { acc = v; best = nc * X + flat; }
            }
            y[nc * P + q] = (float)(avg ? acc / (double)cnt : acc);
            if (idx) idx[nc * P + q] = (float)best;
        }
}

/* LRN over axis 1 */
static void ref_lrn(const Case *c, const float *x, float *y) {
    const Attr *sz = attr_of(c, "size"), *al = attr_of(c, "alpha"), *be = attr_of(c, "beta"), *bi = attr_of(c, "bias");
    long size = (long)sz->ints[0], C = c->x[1], S = numel(c->x + 2, c->xr - 2);
    for (long n = 0; n < c->x[0]; n++)
        for (long ch = 0; ch < C; ch++)
            for (long q = 0; q < S; q++) {
                double sum = 0;
                for (long j = ch - (size - 1) / 2; j <= ch + size / 2; j++)
                    if (j >= 0 && j < C) sum += (double)x[(n * C + j) * S + q] * x[(n * C + j) * S + q];
                y[(n * C + ch) * S + q] = (float)(x[(n * C + ch) * S + q] / pow(bi->f + al->f / (double)size * sum, be->f));
            }
}

/* ---- the cases --------------------------------------------------------------------------- */

#define INTS(nm, ...) { nm, sizeof((int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t), { __VA_ARGS__ }, 0, NULL }
#define FLT(nm, v) { nm, 0, { 0 }, v, NULL }
#define INT(nm, v) { nm, -2, { v }, 0, NULL }

/* 3-D Conv, asymmetric pads, strides and a dilation, bias */
static const Case conv3d = { "Conv", 5, { 2, 2, 5, 6, 4 }, 5, { 3, 2, 2, 3, 2 }, 3,
    { INTS("pads", 1, 0, 1, 0, 2, 1), INTS("strides", 2, 1, 1), INTS("dilations", 1, 2, 1) }, 3,
    5, { 2, 3, 3, 4, 5 }, 0, 0 };
/* grouped 3-D Conv (4 channels in 2 groups, 6 filters), and depthwise (group = C) */
static const Case conv3d_groups = { "Conv", 5, { 2, 4, 4, 5, 3 }, 5, { 6, 2, 2, 2, 3 }, 6,
    { INTS("pads", 0, 1, 1, 1, 0, 1), INTS("strides", 1, 2, 1), INT("group", 2) }, 3,
    5, { 2, 6, 4, 3, 3 }, 0, 0 };
static const Case conv3d_depthwise = { "Conv", 5, { 1, 3, 3, 4, 4 }, 5, { 3, 1, 2, 3, 2 }, 3,
    { INTS("pads", 1, 1, 0, 0, 1, 0), INTS("dilations", 1, 1, 2), INT("group", 3) }, 3,
    5, { 1, 3, 3, 4, 2 }, 0, 0 };
/* 3-D ConvTranspose: strides, pads, dilation, output_padding */
static const Case convt3d = { "ConvTranspose", 5, { 1, 2, 3, 2, 3 }, 5, { 2, 3, 2, 3, 2 }, 3,
    { INTS("strides", 2, 1, 3), INTS("pads", 0, 1, 1, 1, 0, 0), INTS("dilations", 1, 1, 2), INTS("output_padding", 1, 0, 2) }, 4,
    5, { 1, 3, 6, 3, 10 }, 0, 0 };
/* grouped 3-D ConvTranspose: 4 channels in 2 groups, 3 outputs each, strides */
static const Case convt3d_groups = { "ConvTranspose", 5, { 1, 4, 2, 3, 2 }, 5, { 4, 3, 2, 2, 3 }, 0,
    { INTS("strides", 2, 1, 2), INTS("pads", 1, 0, 0, 0, 1, 1), INT("group", 2) }, 3,
    5, { 1, 6, 3, 3, 4 }, 0, 0 };
/* 1-D ConvTranspose, stride 3, pads */
static const Case convt1d = { "ConvTranspose", 3, { 2, 3, 4 }, 3, { 3, 2, 4 }, 2,
    { INTS("strides", 3), INTS("pads", 2, 1) }, 2, 3, { 2, 2, 10 }, 0, 0 };
/* dilated 3-D MaxPool with padding and its indices */
static const Case maxpool3d = { "MaxPool", 5, { 1, 2, 5, 4, 5 }, 0, { 0 }, 0,
    { INTS("kernel_shape", 2, 2, 3), INTS("pads", 1, 0, 1, 0, 1, 1), INTS("strides", 1, 2, 2), INTS("dilations", 2, 1, 1) }, 4,
    5, { 1, 2, 4, 2, 3 }, 1, 0 };
/* AveragePool counting the padding, 2-D, strides */
static const Case avgpool = { "AveragePool", 4, { 2, 3, 5, 6 }, 0, { 0 }, 0,
    { INTS("kernel_shape", 3, 2), INTS("pads", 1, 1, 2, 0), INTS("strides", 2, 2), INT("count_include_pad", 1) }, 4,
    4, { 2, 3, 3, 3 }, 0, 0 };
/* 3-D AveragePool, not counting the padding */
static const Case avgpool3d = { "AveragePool", 5, { 1, 2, 4, 3, 5 }, 0, { 0 }, 0,
    { INTS("kernel_shape", 2, 2, 3), INTS("pads", 1, 0, 1, 0, 1, 1), INTS("strides", 2, 1, 2) }, 3,
    5, { 1, 2, 2, 3, 3 }, 0, 0 };
static const Case lrn = { "LRN", 4, { 2, 5, 3, 2 }, 0, { 0 }, 0,
    { INT("size", 4), FLT("alpha", 0.3f), FLT("beta", 0.6f), FLT("bias", 1.5f) }, 4, 4, { 2, 5, 3, 2 }, 0, 0 };

/* the case's random weights, bias and scale (fixed seeds) */
static void params(const Case *c, float **w, float **b, float **s) {
    unsigned seed = 11;
    long nw = c->wr ? numel(c->w, c->wr) : 1;
    *w = malloc((size_t)nw * sizeof **w);
    *b = malloc((size_t)(c->bias ? c->bias : 1) * sizeof **b);
    *s = malloc((size_t)c->x[1] * sizeof **s);
    for (long i = 0; i < nw; i++) (*w)[i] = rnd(&seed);
    for (long i = 0; i < c->bias; i++) (*b)[i] = rnd(&seed);
    for (long i = 0; i < c->x[1]; i++) (*s)[i] = 1.0f + 0.25f * rnd(&seed);
}

/* compiled by nnc and run, against the reference */
static void forward_check(const char *name, const Case *c) {
    float *w, *b, *s;
    params(c, &w, &b, &s);
    unsigned char *buf;
    size_t len = build(c, w, b, s, &buf);
    const char *exe = compile_case(name, buf, len, "", "tests/onnx_case.c");
    long nx = numel(c->x, c->xr), ny = numel(c->y, c->yr);
    float *x = malloc((size_t)nx * sizeof *x), *got = malloc((size_t)(2 * ny + 1) * sizeof *got);
    float *want = malloc((size_t)(2 * ny) * sizeof *want);
    unsigned seed = 5;
    for (long i = 0; i < nx; i++) x[i] = rnd(&seed);
    run_case(exe, x, nx, got, c->indices ? 2 * ny : ny);
    if (!strcmp(c->op, "Conv")) ref_conv(c, x, w, c->bias ? b : NULL, want);
    else if (!strcmp(c->op, "ConvTranspose")) ref_conv_t(c, x, w, c->bias ? b : NULL, want);
    else if (!strcmp(c->op, "LRN")) ref_lrn(c, x, want);
    else ref_pool(c, !strcmp(c->op, "AveragePool"), x, want, c->indices ? want + ny : NULL);
    for (long i = 0; i < (c->indices ? 2 * ny : ny); i++)
        ck_assert_msg(fabsf(got[i] - want[i]) <= 1e-4f + 1e-4f * fabsf(want[i]), "%s: value %ld is %.7g, the reference %.7g",
                      name, i, got[i], want[i]);
    free(x); free(got); free(want); free(w); free(b); free(s); free(buf);
}

/* compiled with --train (mse): gradcheck finds no disagreeing parameter */
static void gradient_check(const char *name, const Case *base) {
    Case c = *base;
    c.scale = 1;
    c.indices = 0;
    float *w, *b, *s;
    params(&c, &w, &b, &s);
    unsigned char *buf;
    size_t len = build(&c, w, b, s, &buf);
    char out[8192];
    const char *exe = compile_case(name, buf, len, "--train loss=mse --optimizer sgd", "tests/model_check.c");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s gradcheck", exe);
    must_succeed(cmd, out, sizeof out);
    ck_assert_msg(field(out, "bad") == 0, "%s: gradients disagree with differences:\n%s", name, out);
    ck_assert_msg(field(out, "checked") >= 2, "%s: too few parameters checked:\n%s", name, out);
    free(w); free(b); free(s); free(buf);
}

START_TEST(conv_3d) { forward_check("conv3d", &conv3d); }
END_TEST
START_TEST(conv_3d_groups) {
    forward_check("conv3dg", &conv3d_groups);
    forward_check("conv3ddw", &conv3d_depthwise);
}
END_TEST
START_TEST(conv_transpose_3d) {
    forward_check("convt3d", &convt3d);
    forward_check("convt3dg", &convt3d_groups);
}
END_TEST
START_TEST(conv_transpose_1d) { forward_check("convt1d", &convt1d); }
END_TEST
START_TEST(max_pool_3d_dilated_indices) { forward_check("maxpool3d", &maxpool3d); }
END_TEST
START_TEST(avg_pool_count_include_pad) { forward_check("avgpool", &avgpool); }
END_TEST
START_TEST(avg_pool_3d) { forward_check("avgpool3d", &avgpool3d); }
END_TEST
START_TEST(lrn_channels) { forward_check("lrn", &lrn); }
END_TEST

START_TEST(grad_conv_3d) {
    gradient_check("gconv3d", &conv3d);
    gradient_check("gconv3dg", &conv3d_groups);
}
END_TEST
START_TEST(grad_conv_transpose_3d) {
    gradient_check("gconvt3d", &convt3d);
    gradient_check("gconvt3dg", &convt3d_groups);
}
END_TEST
START_TEST(grad_avg_pools) {
    gradient_check("gavgpool", &avgpool);
    gradient_check("gavgpool3d", &avgpool3d);
}
END_TEST

/* composed from max, pow and div, which have no gradient rule yet: refused
 * at compile time under --train, never trained wrong */
static void refused_under_train(const char *name, const Case *base) {
    Case c = *base;
    c.scale = 1;
    c.indices = 0;
    float *w, *b, *s;
    params(&c, &w, &b, &s);
    unsigned char *buf;
    size_t len = build(&c, w, b, s, &buf);
    char path[256], cmd[1024], out[4096];
    snprintf(path, sizeof path, "%s/%s.onnx", dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(buf, 1, len, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s --train loss=mse --optimizer sgd %s -o %s/%s.c", nnc, path, dir, name);
    ck_assert_int_eq(run(cmd, out, sizeof out), 3);   /* a valid model nnc cannot train yet */
    ck_assert_msg(strstr(out, "not supported") != NULL, "%s: not refused under --train:\n%s", name, out);
    snprintf(path, sizeof path, "%s/%s.c", dir, name);
    ck_assert_msg(access(path, F_OK) != 0, "%s: a refused build left %s behind", name, path);
    free(w); free(b); free(s); free(buf);
}

START_TEST(train_refuses_max_and_lrn) {
    refused_under_train("tmaxpool3d", &maxpool3d);
    refused_under_train("tlrn", &lrn);
}
END_TEST

/* ---- windows of a constant size: folded at import ------------------------------------ */

/* a model whose output is OP(size) (size an initializer) next to x + 0 */
static size_t build_window(const char *op, int periodic, float size, unsigned char **buf) {
    Onnx__ModelProto m;
    Onnx__GraphProto g;
    Onnx__OperatorSetIdProto opset, *opsets[1];
    test_onnx_model(&m, &g, &opset, opsets, 17);
    static Onnx__NodeProto node;
    static Onnx__NodeProto *np[1];
    static char *ins[1] = { "n" }, *outs[1] = { "y" };
    static Onnx__AttributeProto per, *ap[1];
    onnx__node_proto__init(&node);
    node.op_type = (char *)op;
    node.n_input = 1;
    node.input = ins;
    node.n_output = 1;
    node.output = outs;
    onnx__attribute_proto__init(&per);
    per.name = "periodic";
    per.has_type = 1;
    per.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    per.has_i = 1;
    per.i = periodic;
    ap[0] = &per;
    node.n_attribute = 1;
    node.attribute = ap;
    np[0] = &node;
    g.n_node = 1;
    g.node = np;
    static int64_t one[1] = { 1 }, ydim[1];
    static float sz[1];
    sz[0] = size;
    ydim[0] = (int64_t)size;
    static Onnx__ValueInfoProto *inp[1], *outp[1];
    static Onnx__TensorProto *init[1];
    inp[0] = value_info("x", 1, one);
    outp[0] = value_info("y", 1, ydim);
    init[0] = initializer("n", 0, one, sz);
    g.n_input = 1;
    g.input = inp;
    g.n_output = 1;
    g.output = outp;
    g.n_initializer = 1;
    g.initializer = init;
    size_t len = onnx__model_proto__get_packed_size(&m);
    *buf = malloc(len);
    onnx__model_proto__pack(&m, *buf);
    return len;
}

START_TEST(windows_of_constant_size) {
    static const char *const ops[3] = { "HannWindow", "HammingWindow", "BlackmanWindow" };
    static const double a[3][3] = { { 0.5, 0.5, 0 }, { 25.0 / 46, 21.0 / 46, 0 }, { 0.42, 0.5, 0.08 } };
    for (int k = 0; k < 3; k++)
        for (int periodic = 0; periodic < 2; periodic++) {
            const long n = 7;
            unsigned char *buf;
            size_t len = build_window(ops[k], periodic, (float)n, &buf);
            char name[32];
            snprintf(name, sizeof name, "win%d%d", k, periodic);
            const char *exe = compile_case(name, buf, len, "", "tests/onnx_case.c");
            float x = 0, y[7];
            run_case(exe, &x, 1, y, n);
            for (long i = 0; i < n; i++) {
                double t = (double)i / (double)(periodic ? n : n - 1), pi = 3.14159265358979323846;
                double want = a[k][0] - a[k][1] * cos(2 * pi * t) + a[k][2] * cos(4 * pi * t);
                ck_assert_msg(fabs(y[i] - want) < 1e-6, "%s periodic %d [%ld] = %.7g, want %.7g", ops[k], periodic, i, y[i], want);
            }
            free(buf);
        }
}
END_TEST

int main(void) {
    const TTest *fwd[] = { conv_3d, conv_3d_groups, conv_transpose_3d, conv_transpose_1d, max_pool_3d_dilated_indices,
                           avg_pool_count_include_pad, avg_pool_3d, lrn_channels, windows_of_constant_size, NULL };
    const TTest *grad[] = { grad_conv_3d, grad_conv_transpose_3d, grad_avg_pools, train_refuses_max_and_lrn, NULL };
    const kernel_case cases[] = { { "forward", fwd, 120, 0 }, { "gradients", grad, 240, 0 } };
    if (model_build_init("tmp-convpool")) return 1;
    int status = run_cases("convpool", cases, 2);
    return model_build_done() ? 1 : status;
}
