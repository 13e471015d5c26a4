/* map_const.c — the builders of ONNX ops whose value is known at import:
 * Constant, Shape, Size, ConstantOfShape, Range and EyeLike.
 *
 * Decision: shapes are static (decode.c), so these never reach the IR:
 * each becomes a constant tensor here, which the ops reading it fold
 * through (Shape -> Gather -> Concat -> Reshape becomes a constant shape).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx.h"

Tensor *onnx_constant(Ctx *c) {
    const Onnx__AttributeProto *v = onnx_attr(c->n, "value");
    long one = 1;
    if (v && v->t) {
        long count, dims[MAX_T];
        if (v->t->n_dims > MAX_T) { onnx_unsupported(c->im, "a Constant of rank above 8"); return NULL; }
        float *d = onnx_tensor_data(c->im, v->t, &count);
        if (!d) return NULL;
        for (size_t i = 0; i < v->t->n_dims && i < MAX_T; i++) dims[i] = (long)v->t->dims[i];
        return onnx_add_constant(c->im, onnx_out_name(c, 0), (int)v->t->n_dims, dims, d);
    }
    if ((v = onnx_attr(c->n, "value_float")) || (v = onnx_attr(c->n, "value_int"))) {
        float *d = malloc(sizeof *d);
        *d = !strcmp(v->name, "value_float") ? v->f : (float)v->i;
        return onnx_add_constant(c->im, onnx_out_name(c, 0), 0, &one, d);
    }
    if ((v = onnx_attr(c->n, "value_floats")) || (v = onnx_attr(c->n, "value_ints"))) {
        int fl = !strcmp(v->name, "value_floats");
        long n = (long)(fl ? v->n_floats : v->n_ints);
        float *d = malloc((size_t)(n ? n : 1) * sizeof *d);
        for (long i = 0; i < n; i++) d[i] = fl ? v->floats[i] : (float)v->ints[i];
        return onnx_add_constant(c->im, onnx_out_name(c, 0), 1, &n, d);
    }
    onnx_unsupported(c->im, "a Constant without a numeric value");
    return NULL;
}

Tensor *onnx_constant_of_shape(Ctx *c) {
    long shape[MAX_T];
    int k = onnx_const_ints(c->im, c->in[0], shape, MAX_T, "shape");
    if (k < 0 || onnx_checked_numel(c->im, shape, k, ONNX_MAX_CONST, "ConstantOfShape's shape") < 0) return NULL;
    float v = 0;
    const Onnx__AttributeProto *a = onnx_attr(c->n, "value");
    if (a && a->t) {
        long count;
        float *d = onnx_tensor_data(c->im, a->t, &count);
        if (!d) return NULL;
        v = count ? d[0] : 0;
        free(d);
    }
    long n = onnx_numel(shape, k);
    float *y = malloc((size_t)(n ? n : 1) * sizeof *y);
    for (long i = 0; i < n; i++) y[i] = v;
    return onnx_add_constant(c->im, onnx_out_name(c, 0), k, shape, y);
}

Tensor *onnx_shape(Ctx *c) {
    Tensor *x = c->in[0];
    long start = onnx_attr_i(c->n, "start", 0), end = onnx_attr_i(c->n, "end", x->rank);
    if (start < 0) start += x->rank;
    if (end < 0) end += x->rank;
    if (start < 0) start = 0;
    if (end > x->rank) end = x->rank;
    long n = end > start ? end - start : 0;
    float *d = malloc((size_t)(n ? n : 1) * sizeof *d);
    for (long i = 0; i < n; i++) d[i] = (float)x->dims[start + i];
    return onnx_add_constant(c->im, onnx_out_name(c, 0), 1, &n, d);
}

Tensor *onnx_size(Ctx *c) {
    long one = 1;
    float *d = malloc(sizeof *d);
    *d = (float)onnx_numel(c->in[0]->dims, c->in[0]->rank);
    return onnx_add_constant(c->im, onnx_out_name(c, 0), 0, &one, d);
}

Tensor *onnx_range(Ctx *c) {
    static const char *const what[3] = { "Range's start (Range of values)", "Range's limit (Range of values)",
                                         "Range's delta (Range of values)" };
    for (int i = 0; i < 3; i++)
        if (!onnx_scalar_of(c, i, what[i])) return NULL;
    double s = c->in[0]->data[0], l = c->in[1]->data[0], d = c->in[2]->data[0], steps = ceil((l - s) / d);
    if (d == 0 || steps != steps) { onnx_invalid(c->im, "Range's delta is 0 or its values are not numbers"); return NULL; }
    if (steps > (double)ONNX_MAX_CONST) {
        onnx_unsupported(c->im, "a Range of more than 2^28 values (nnc's limit)");
        return NULL;
    }
    long n = steps > 0 ? (long)steps : 0;
    float *y = malloc((size_t)(n ? n : 1) * sizeof *y);
    for (long i = 0; i < n; i++) y[i] = (float)(s + i * d);
    return onnx_add_constant(c->im, onnx_out_name(c, 0), 1, &n, y);
}

Tensor *onnx_eyelike(Ctx *c) {
    Tensor *x = c->in[0];
    if (x->rank != 2) { onnx_unsupported(c->im, "EyeLike of rank other than 2"); return NULL; }
    long k = onnx_attr_i(c->n, "k", 0), R = x->dims[0], C = x->dims[1];
    k = k > C ? C : k < -R ? -R : k;    /* beyond the matrix: all zeros either way */
    if (onnx_checked_numel(c->im, x->dims, 2, ONNX_MAX_CONST, "EyeLike's result") < 0) return NULL;
    float *y = calloc((size_t)(R * C > 0 ? R * C : 1), sizeof *y);
    for (long i = 0; i < R; i++)
        if (i + k >= 0 && i + k < C) y[i * C + i + k] = 1;
    return onnx_add_constant(c->im, onnx_out_name(c, 0), 2, x->dims, y);
}
