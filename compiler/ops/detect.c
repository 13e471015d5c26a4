/* ops/detect.c — object-detection ops the ONNX importer builds.
 *
 * nd_roi_align: ONNX RoiAlign.  Inputs x (samples, alen, h, w), rois (nr,
 * 4), batch (nr), the last two read at run time (runtime/roi_align.c);
 * output (nr, alen, oh, ow).  Attrs: samples = n, alen = c, dims = h, w,
 * oh, ow, nr, sampling ratio; fn = NNC_RT_ROI_AVG or _MAX; alpha = the
 * spatial scale; align_corners = half_pixel.  No gradient yet (training
 * through it is refused by autodiff), and it never keeps a run-time batch:
 * each region picks its image at run time (passes/batch.c). */
#include "ops/rules.h"

static void nd_roi_align_emit(EmitCtx *e, const Node *n) {
    const Attrs *a = &n->attr;
    const int *d = a->dims;
    emit_line(e, "nnc_rt_roi_align(%s, %s, %s, %s, %d, %ld, %d, %d, %d, %d, %d, %d, %s, %d, %d);",
              emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), emit_ptr(e, n->in[2]),
              a->samples, a->alen, d[0], d[1], d[4], d[2], d[3], d[5], emit_float(e, a->alpha), a->fn,
              a->align_corners);
}

static void nd_roi_align_fold(const Fold *f) {
    const Attrs *a = f->a;
    const int *d = a->dims;
    nnc_rt_roi_align(f->y, f->in[0], f->in[1], f->in[2], a->samples, a->alen, d[0], d[1], d[4], d[2], d[3], d[5],
                     a->alpha, a->fn, a->align_corners);
}

/* per output cell: its samples (4 when adaptive: a guess), each 4 multiply-adds */
static long nd_roi_align_flops(const Graph *g, const Node *n) {
    long s = n->attr.dims[5] > 0 ? (long)n->attr.dims[5] * n->attr.dims[5] : 4;
    return 8 * s * ir_size(&g->values[n->out[0]]);
}

const OpDef op_nd_roi_align = ND(3, nd_roi_align_emit, .fold = nd_roi_align_fold, .flops = nd_roi_align_flops);
