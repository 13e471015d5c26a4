/* map_detect.c — the builder of ONNX's object-detection op RoiAlign
 * (opsets 10 and 16).
 *
 * Decisions:
 *  - RoiAlign is one IR op (nd_roi_align, runtime/roi_align.c): its regions
 *    and their image indices are data in real models (a detector's
 *    proposals), read at run time; with every input constant it folds.
 *  - coordinate_transformation_mode: honoured when present (ONNX Runtime
 *    reads it at any opset); absent, half_pixel from opset 16 on and
 *    output_half_pixel before (opset 10's behaviour).
 *  - mode max is ONNX's definition (the largest weighted neighbour of any
 *    sample), which is not the maximum of the interpolated values: nnc
 *    computes what ONNX and ONNX Runtime compute.
 *  - batch_indices known at compile time must name images of X (invalid
 *    otherwise); at run time a region with a bad index gives NaN.
 *  - No gradient: training through it is refused by autodiff; an imported
 *    graph with it is compiled whole (each region picks its image at run
 *    time, so there is no batch of independent samples).
 */
#include <string.h>

#include "onnx/onnx.h"

/* RoiAlign: X (N, C, H, W), rois (R, 4), batch_indices (R) -> (R, C, oh, ow) */
Tensor *onnx_roi_align(Ctx *c) {
    Tensor *x = c->in[0], *rois = c->in[1], *bi = c->in[2];
    const Onnx__NodeProto *n = c->n;
    if (x->rank != 4 || rois->rank != 2 || rois->dims[1] != 4 || bi->rank != 1 || bi->dims[0] != rois->dims[0]) {
        onnx_invalid(c->im, "RoiAlign needs X (N, C, H, W), rois (num_rois, 4) and batch_indices (num_rois); "
                     "their ranks are %d, %d and %d", x->rank, rois->rank, bi->rank);
        return NULL;
    }
    int mode = NNC_RT_ROI_AVG;
    if (onnx_attr(n, "mode")) {
        if (onnx_attr_is(n, "mode", "max")) mode = NNC_RT_ROI_MAX;
        else if (!onnx_attr_is(n, "mode", "avg")) {
            onnx_invalid(c->im, "RoiAlign's mode must be 'avg' or 'max'");
            return NULL;
        }
    }
    int half_pixel = c->im->opset >= 16;
    if (onnx_attr(n, "coordinate_transformation_mode")) {
        half_pixel = onnx_attr_is(n, "coordinate_transformation_mode", "half_pixel");
        if (!half_pixel && !onnx_attr_is(n, "coordinate_transformation_mode", "output_half_pixel")) {
            onnx_invalid(c->im, "RoiAlign's coordinate_transformation_mode must be 'half_pixel' or "
                         "'output_half_pixel'");
            return NULL;
        }
    }
    long oh = onnx_attr_i(n, "output_height", 1), ow = onnx_attr_i(n, "output_width", 1);
    long sampling = onnx_attr_i(n, "sampling_ratio", 0);
    float scale = onnx_attr_f(n, "spatial_scale", 1.0f);
    if (oh < 1 || ow < 1 || sampling < 0) {
        onnx_invalid(c->im, "RoiAlign needs output_height and output_width >= 1 and sampling_ratio >= 0 "
                     "(they are %ld, %ld and %ld)", oh, ow, sampling);
        return NULL;
    }
    long dims[4] = { rois->dims[0], x->dims[1], oh, ow };
    if (onnx_checked_numel(c->im, dims, 4, ONNX_MAX_ELEMS, "RoiAlign's result") < 0) return NULL;
    if (sampling > 1 << 15) {
        onnx_unsupported(c->im, "a RoiAlign sampling_ratio above 32768");
        return NULL;
    }
    for (int d = 0; d < 4; d++)
        if (!x->dims[d] || !dims[d]) {
            onnx_unsupported(c->im, "a RoiAlign of an empty tensor or with no regions");
            return NULL;
        }
    for (long r = 0; bi->data && r < bi->dims[0]; r++)     /* known here: checked here */
        if (!(bi->data[r] >= 0 && bi->data[r] < (float)x->dims[0])) {
            onnx_invalid(c->im, "RoiAlign's batch_indices[%ld] is %g, outside X's %ld images", r,
                         (double)bi->data[r], x->dims[0]);
            return NULL;
        }
    Attrs a;
    memset(&a, 0, sizeof a);
    a.samples = (int)x->dims[0];
    a.alen = x->dims[1];
    a.dims[0] = (int)x->dims[2];
    a.dims[1] = (int)x->dims[3];
    a.dims[2] = (int)oh;
    a.dims[3] = (int)ow;
    a.dims[4] = (int)rois->dims[0];
    a.dims[5] = (int)sampling;
    a.ndims = 6;
    a.fn = mode;
    a.alpha = scale;
    a.align_corners = half_pixel;
    return onnx_apply(c->im, OP_ND_ROI_ALIGN, c->in, 3, &a, onnx_out_name(c, 0), 4, dims);
}
