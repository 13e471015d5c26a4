/* map_common.c — the small vocabulary every builder (map_*.c) uses: output
 * names, a node's intermediate names, axes, an axis' (outer, alen, inner)
 * view.  Below the builders and the table, so they only call down. */
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

/* the axes of Squeeze/Unsqueeze/Reduce*: an attribute before opset 13 (18
 * for most reductions), an optional input after */
int onnx_axes_of(Ctx *c, int input, long *axes) {
    int k = onnx_attr_ints(c->n, "axes", axes, MAX_T);
    if (k >= 0) return k;
    if (c->nin > input && c->in[input]) return onnx_const_ints(c->im, c->in[input], axes, MAX_T, "axes");
    return -2;  /* none given */
}
