/* map_common.c — the small vocabulary every builder (map_*.c) uses: output
 * names, a node's intermediate names, axes (range-checked before they index
 * anything: an axis outside -rank .. rank - 1 makes the model invalid), an
 * axis' (outer, alen, inner) view, scalar inputs.  Below the builders and the table, so they only call down. */
#include <string.h>

#include "onnx/onnx.h"

int onnx_norm_axis(long axis, int rank) { return (int)(axis < 0 ? axis + rank : axis); }

const char *onnx_out_name(Ctx *c, int i) { return c->n->output[i]; }

const char *onnx_part(Ctx *c, const char *what, char *buf) {
    ir_format_name(buf, "%s/%s", onnx_out_name(c, 0), what);
    return buf;
}

void onnx_around(const Tensor *x, int axis, Attrs *a) {
    a->outer = onnx_numel(x->dims, axis);
    a->alen = x->dims[axis];
    a->inner = onnx_numel(x->dims + axis + 1, x->rank - axis - 1);
}

int onnx_axis(Ctx *c, long axis, int rank, int end, const char *what) {
    int hi = end ? rank : rank - 1;
    if (axis < -(long)rank || axis > hi || hi < 0) {
        onnx_invalid(c->im, "%s %ld is out of range for an input of rank %d (valid: %d to %d)", what, axis, rank,
                     -rank, hi);
        return -1;
    }
    return (int)(axis < 0 ? axis + rank : axis);
}

int onnx_mark_axes(Ctx *c, const long *axes, int k, int rank, int *mark, const char *what) {
    for (int d = 0; d < MAX_T; d++) mark[d] = 0;
    for (int i = 0; i < k; i++) {
        int a = onnx_axis(c, axes[i], rank, 0, what);
        if (a < 0) return -1;
        if (mark[a]) {
            onnx_invalid(c->im, "%s %ld names axis %d twice", what, axes[i], a);
            return -1;
        }
        mark[a] = 1;
    }
    return 0;
}

const float *onnx_scalar_of(Ctx *c, int input, const char *what) {
    Tensor *t = c->in[input];
    if (onnx_numel(t->dims, t->rank) != 1) {
        onnx_invalid(c->im, "%s must be a single value (a scalar), it has %ld", what, onnx_numel(t->dims, t->rank));
        return NULL;
    }
    if (!t->data) {
        char why[128];
        snprintf(why, sizeof why, "%s computed at run time", what);
        onnx_unsupported(c->im, why);
        return NULL;
    }
    return t->data;
}

/* the axes of Squeeze/Unsqueeze/Reduce*: an attribute before opset 13 (18
 * for most reductions), an optional input after */
int onnx_axes_of(Ctx *c, int input, long *axes) {
    int k = onnx_attr_ints(c->n, "axes", axes, MAX_T);
    if (k > MAX_T) { onnx_unsupported(c->im, "more than 8 axes (nnc's rank limit)"); return -1; }
    if (k >= 0) return k;
    if (c->nin > input && c->in[input]) return onnx_const_ints(c->im, c->in[input], axes, MAX_T, "axes");
    return -2;  /* none given */
}

Tensor *onnx_build_on(Ctx *c, Tensor *(*build)(Ctx *), Tensor *const *in, int nin, const char *name) {
    Onnx__NodeProto n = *c->n;
    char *outs[1] = { (char *)name };
    n.output = outs;
    n.n_output = 1;
    Ctx d = *c;
    d.n = &n;
    for (int i = 0; i < nin; i++) d.in[i] = in[i];
    d.nin = nin;
    return build(&d);
}
