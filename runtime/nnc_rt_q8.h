/* nnc_rt_q8.h — the int8 kernels of a model built with `--quantize int8`
 * (included by nnc_rt.h).
 *
 * The scheme is TFLite's int8 specification, so a user can check nnc against
 * the references they know:
 *  - a real value r is represented by an int8 q with r = scale (q - zp);
 *  - weights symmetric (zp 0) per output channel, activations asymmetric per
 *    tensor, biases int32 with scale = input scale x weight scale and zp 0;
 *  - a product's int32 sum is brought to the output's scale by a fixed-point
 *    multiplier and shift (nnc_rt_q8_rescale, no float in the inner loop),
 *    the output zero point added and the result clamped to [lo, hi]: relu and
 *    relu6 are that clamp, folded in by the compiler.
 * Layout as the float kernels: row-major, NHWC, the batch extent n the one
 * run-time dimension.  The compiler computes every constant at build time
 * (multipliers, shifts, folded zero-point terms); kernels never see a float
 * scale except the quantize/dequantize/softmax boundaries.
 */
#ifndef NNC_RT_Q8_H
#define NNC_RT_Q8_H

#include <stdint.h>

/* ---- requantization ----------------------------------------------------------
 * A real multiplier M > 0 is mult x 2^(shift - 31) with mult in [2^30, 2^31)
 * (nnc_rt_q8_multiplier computes the pair; the compiler calls it at build
 * time).  nnc_rt_q8_rescale(acc, mult, shift) = round(acc x M) exactly as
 * TFLite's MultiplyByQuantizedMultiplier: acc << max(shift, 0), then the
 * rounding doubling high multiply by mult (saturating at INT32_MAX for
 * INT32_MIN x INT32_MIN), then a rounding (half away from zero) right
 * shift by max(-shift, 0).  Every int8 kernel, reference and SIMD, must
 * produce exactly these integers: int8 results are compared bit for bit. */
static inline int32_t nnc_rt_q8_rescale(int32_t acc, int32_t mult, int shift) {
    int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    int64_t a = (int64_t)acc * ((int64_t)1 << left);
    int32_t x = a > INT32_MAX ? INT32_MAX : a < INT32_MIN ? INT32_MIN : (int32_t)a;
    int32_t hi;
    if (x == INT32_MIN && mult == INT32_MIN) {
        hi = INT32_MAX;
    } else {
        int64_t ab = (int64_t)x * mult;
        int64_t nudge = ab >= 0 ? ((int64_t)1 << 30) : 1 - ((int64_t)1 << 30);
        hi = (int32_t)((ab + nudge) / ((int64_t)1 << 31));
    }
    if (right == 0) return hi;
    int32_t mask = (int32_t)(((int64_t)1 << right) - 1);
    int32_t rem = hi & mask, threshold = (mask >> 1) + (hi < 0 ? 1 : 0);
    return (hi >> right) + (rem > threshold ? 1 : 0);
}
/* M -> (mult, shift) as above; M == 0 gives mult 0.  Host/compiler side. */
void nnc_rt_q8_multiplier(double M, int32_t *mult, int *shift);

/* How a product's int32 sums become int8 outputs:
 *   y = clamp(zp + nnc_rt_q8_rescale(acc, mult[j], shift[j]), lo, hi)
 * with j the output channel (per_channel) or 0. */
typedef struct nnc_rt_q8_out {
    const int32_t *mult;
    const int8_t *shift;
    int per_channel;
    int32_t zp, lo, hi;
    /* NNC_RT_Q8_CHECKED: the caller (nnc, at build time) has checked that
     * every channel's shift is in [-31, 0] and no mult is INT32_MIN, so the
     * kernels need not look at each channel before a call; any other value
     * (0, an initializer without it): they check.  A struct filled field by
     * field should set it to 0; a magic number rather than 1, so that one
     * left unset is all but certainly not taken for checked. */
    int32_t checked;
} nnc_rt_q8_out;
#define NNC_RT_Q8_CHECKED 0x43484B44

/* ---- dense ---------------------------------------------------------------------
 * y[i,j] = out(bias[j] + sum_k x[i,k] w[j,k]) for i < n, j < m.
 * x is (n, k) int8 as stored (the compiler folds -x_zp sum_k w[j,k] into
 * bias), w is (m, k): output-channel major, as CMSIS-NN and TFLite hold it.
 * bias may be NULL (zeros). */
void nnc_rt_q8_dense(int8_t *y, const int8_t *x, const int8_t *w, const int32_t *bias,
                     int n, int k, int m, const nnc_rt_q8_out *o);

/* ---- conv2d (NHWC) ---------------------------------------------------------------
 * The geometry is the float kernels' nnc_rt_conv2d (h w c, oh ow oc, kh kw,
 * strides, dilations, padding before, groups).  w is (oc, kh, kw, c/groups).
 * y[i,oy,ox,o] = out(bias[o] + sum over the taps inside the input of
 *                (x[...] - x_zp) w[o,ky,kx,ci]);
 * a tap in the zero padding contributes nothing (it is the real value 0).
 * Depthwise is groups == c (c/groups == 1, oc a multiple of c).
 * scratch: NNC_RT_Q8_CONV2D_SCRATCH(p) bytes, 16-byte aligned (the kernel's
 * im2col of 4 pixels as int16, 10 bytes a tap with the Cortex-M4's copy);
 * the compiler reserves it in the arena. */
struct nnc_rt_conv2d;
#define NNC_RT_Q8_CONV2D_SCRATCH(p) \
    ((long)10 * (p)->kh * (p)->kw * ((p)->c / (p)->groups) + 64 + \
     ((p)->groups == (p)->c && (p)->oc == (p)->c ? NNC_RT_Q8_DW_SCRATCH(p) : 0))
/* depthwise (groups == c == oc) on the Cortex-M4 adds a 4 channels' int16
 * copy of kh padded input rows (every column a window reads, + 4, even)
 * , their weights widened in pairs and a row's int32 sums (q8_conv_arm.c) */
#define NNC_RT_Q8_DW_COLS(p)                                                                 \
    (((((p)->pl + (p)->w > ((p)->ow - 1) * (p)->sw + (p)->kw) ? (p)->pl + (p)->w                \
                                                               : ((p)->ow - 1) * (p)->sw + (p)->kw) + 5) & ~1)
#define NNC_RT_Q8_DW_SCRATCH(p) \
    ((long)16 * (p)->kh * (p)->kw + (long)8 * (p)->kh * NNC_RT_Q8_DW_COLS(p) + (long)4 * ((p)->ow + 1) + 8)
void nnc_rt_q8_conv2d(const struct nnc_rt_conv2d *p, int8_t *y, const int8_t *x, int32_t x_zp,
                      const int8_t *w, const int32_t *bias, void *scratch, int n,
                      const nnc_rt_q8_out *o);

/* the literal definitions above, one output at a time, in int64: the oracle
 * the kernels are tested against (no scratch) */
void nnc_rt_q8_dense_ref(int8_t *y, const int8_t *x, const int8_t *w, const int32_t *bias,
                         int n, int k, int m, const nnc_rt_q8_out *o);
void nnc_rt_q8_conv2d_ref(const struct nnc_rt_conv2d *p, int8_t *y, const int8_t *x, int32_t x_zp,
                          const int8_t *w, const int32_t *bias, int n, const nnc_rt_q8_out *o);

/* ---- the non-product int8 kernels (q8_ops.c) -----------------------------------
 * Plain integer arithmetic (float only at the quantize, dequantize and
 * softmax boundaries); every SIMD variant must give the same integers. */

/* y = clamp(zp + round(x / scale), -128, 127), rounding half away from zero
 * (TFLite's quantize); NaN becomes zp */
void nnc_rt_q8_quantize(int8_t *y, const float *x, long count, float scale, int32_t zp);
/* y = scale (x - zp) */
void nnc_rt_q8_dequantize(float *y, const int8_t *x, long count, float scale, int32_t zp);
/* rows of cols int8 brought to another scale and placed at y + r ystride:
 * y = clamp(y_zp + nnc_rt_q8_rescale(x - x_zp, mult, shift), lo, hi)
 * (concat's operands into the shared scale; mult 0 with shift 0 and equal
 * zero points means a plain copy, done as one) */
void nnc_rt_q8_requantize(int8_t *y, long ystride, const int8_t *x, long rows, long cols, int32_t x_zp,
                          int32_t mult, int shift, int32_t y_zp, int32_t lo, int32_t hi);
/* pools keep the input's scale and zero point (TFLite's rule); the windows
 * are nnc_rt_maxpool2d_forward's, cells in the padding left out; the result
 * is clamped to [lo, hi] (a fused relu).  avg: the sum over the valid cells
 * divided by their count, rounded half away from zero, as TFLite's
 * reference average pool */
void nnc_rt_q8_maxpool2d(const struct nnc_rt_pool2d *p, int8_t *y, const int8_t *x, int n,
                         int32_t lo, int32_t hi);
void nnc_rt_q8_avgpool2d(const struct nnc_rt_pool2d *p, int8_t *y, const int8_t *x, int n,
                         int32_t lo, int32_t hi);
/* y = a + b of the same shape, each in its own scale, as TFLite's int8 add:
 * both operands shifted left by left_shift (20) and rescaled to twice the
 * larger input scale, summed, rescaled to the output, zp added, clamped */
typedef struct nnc_rt_q8_add_params {
    int32_t a_zp, b_zp, y_zp;
    int32_t a_mult, b_mult, y_mult;
    int a_shift, b_shift, y_shift, left_shift;
    int32_t lo, hi;
} nnc_rt_q8_add_params;
void nnc_rt_q8_add(int8_t *y, const int8_t *a, const int8_t *b, long count, const nnc_rt_q8_add_params *p);
/* softmax over rows of cols of x = scale (q - zp) (zp cancels: only
 * differences to the row's maximum matter).  _f32: float out; the int8 form
 * writes TFLite's fixed output quantization, scale 1/256 and zp -128.
 * Computed in float with expf (nnc deviates from TFLite's fixed-point exp
 * here: the boundary to the caller is float anyway). */
void nnc_rt_q8_softmax_f32(float *y, const int8_t *x, long rows, long cols, float scale);
void nnc_rt_q8_softmax(int8_t *y, const int8_t *x, long rows, long cols, float scale);

/* ---- ONNX's requantization (quantized ONNX models: QLinearMatMul, QLinearConv) ----
 * ONNX defines the output with a real multiplier and rounding half to even,
 * which TFLite's fixed-point rescale does not reproduce, so an imported
 * model's products use ONNX's arithmetic instead:
 *   acc = bias[j] + sum (x - x_zp)(w - w_zp[j])     (int32, wrapping)
 *   y   = off + clamp(rint((double)acc * (double)mult[j]) + zp, lo, hi)
 * with mult[j] = float32(float32(x_scale w_scale[j]) / y_scale) as the
 * compiler computes it (the product in double, as onnx/reference's numpy),
 * zp, lo and hi in the ONNX type's own range (uint8: 0..255) and off -128
 * for a uint8 output held as int8 (x - 128), else 0.  The zero point is
 * added after rounding, as the operators' definition saturate(round(x /
 * y_scale) + zp) says, as ONNX Runtime and QuantizeLinear do; onnx's
 * Python reference adds it before (rint(x + zp)), which differs from that
 * definition on an exact half with an odd zero point.
 * Zero points are in the int8 storage (a uint8 one less 128); the weights'
 * may be per output channel.  Layouts as nnc_rt_q8_dense/_conv2d. */
typedef struct nnc_rt_q8_onnx {
    const float *mult;
    const int32_t *w_zp;
    int per_channel;
    int32_t x_zp, zp, lo, hi, off;
} nnc_rt_q8_onnx;
void nnc_rt_q8_dense_onnx(int8_t *y, const int8_t *x, const int8_t *w, const int32_t *bias, int n, int k, int m,
                          const nnc_rt_q8_onnx *o);
void nnc_rt_q8_conv2d_onnx(const struct nnc_rt_conv2d *p, int8_t *y, const int8_t *x, const int8_t *w,
                           const int32_t *bias, int n, const nnc_rt_q8_onnx *o);
/* The same convolution on weights packed by nnc_rt_q8_conv2d_onnx_pack (at build
 * time) into blocks of NNC_RT_Q8_ONNX_B output channels, tap-major, zero-padded:
 * NNC_RT_Q8_CONV2D_ONNX_PACKED(p) bytes; for windows (kh kw c/groups) of at most
 * NNC_RT_Q8_ONNX_TAPS taps (sums exact in int32 before the wrap-around) */
#define NNC_RT_Q8_ONNX_B 32
#define NNC_RT_Q8_ONNX_TAPS 32768
#define NNC_RT_Q8_CONV2D_ONNX_PACKED(p) ((long)(p)->groups * \
    (((p)->oc / (p)->groups + NNC_RT_Q8_ONNX_B - 1) / NNC_RT_Q8_ONNX_B) * NNC_RT_Q8_ONNX_B * \
    (p)->kh * (p)->kw * ((p)->c / (p)->groups))
void nnc_rt_q8_conv2d_onnx_pack(int8_t *wp, const int8_t *w, const struct nnc_rt_conv2d *p);
void nnc_rt_q8_conv2d_onnx_packed(const struct nnc_rt_conv2d *p, int8_t *y, const int8_t *x, const int8_t *wp,
                                  const int32_t *bias, int n, const nnc_rt_q8_onnx *o);
/* the same written as the definition, one output at a time: the oracle of the
 * others (nnc_rt_q8_conv2d_onnx is this one; nnc_rt_q8_dense_onnx and the packed
 * convolution rearrange the sums so that the compiler vectorizes them) */
void nnc_rt_q8_dense_onnx_ref(int8_t *y, const int8_t *x, const int8_t *w, const int32_t *bias, int n, int k, int m,
                              const nnc_rt_q8_onnx *o);
void nnc_rt_q8_conv2d_onnx_ref(const struct nnc_rt_conv2d *p, int8_t *y, const int8_t *x, const int8_t *w,
                               const int32_t *bias, int n, const nnc_rt_q8_onnx *o);

#endif
