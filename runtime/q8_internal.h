/* q8_internal.h — what the int8 kernels (q8_dense*.c, q8_conv*.c) share:
 * the exact output step y = clamp(zp + rescale(acc)) in a form cheaper than
 * nnc_rt_q8_rescale but equal to it bit for bit, and the bound under which
 * an int32 accumulator cannot overflow.
 *
 * Why the fast form is exact: TFLite's rounding doubling high multiply,
 * (ab + nudge) / 2^31 truncated toward zero with nudge = 2^30 (ab >= 0) or
 * 1 - 2^30 (ab < 0), equals floor((ab + 2^30) / 2^31) for both signs
 * (ceil(a/b) = floor((a + b - 1)/b)), which is one multiply-accumulate and
 * a shift.  It differs only for acc == mult == INT32_MIN (saturation) and
 * needs shift <= 0; both cases take nnc_rt_q8_rescale itself.
 *
 * Accumulation: a kernel sums sum_k x w in int32 (|x w| <= 2^14, so exact
 * while k <= NNC_RT_Q8_KMAX even with a zero-point or +128 correction of the
 * same size) and adds the bias with saturation: the int64 sum the reference
 * clamps to int32, exactly.  Longer products go to the reference. */
#ifndef NNC_RT_Q8_INTERNAL_H
#define NNC_RT_Q8_INTERNAL_H

#include "nnc_rt.h"

#define NNC_RT_Q8_KMAX 32768

/* bias + s saturated to int32: the reference's int64 sum then clamp */
static inline int32_t q8_sat_add(int32_t bias, int32_t s) {
    int64_t v = (int64_t)bias + s;
    return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
}

static inline int32_t q8_rescale_fast(int32_t acc, int32_t mult, int shift) {
    if (shift > 0 || mult == INT32_MIN) return nnc_rt_q8_rescale(acc, mult, shift);
    int32_t hi = (int32_t)(((int64_t)acc * mult + ((int64_t)1 << 30)) >> 31);
    int right = -shift;
    if (right == 0) return hi;
    uint32_t mask = (uint32_t)(((uint64_t)1 << right) - 1);
    uint32_t rem = (uint32_t)hi & mask, threshold = (mask >> 1) + (hi < 0 ? 1u : 0u);
    return (hi >> right) + (rem > threshold ? 1 : 0);
}

/* the output of channel j from its saturated int32 sum acc */
static inline int8_t q8_out1(int32_t acc, int j, const nnc_rt_q8_out *o) {
    int c = o->per_channel ? j : 0;
    int32_t r = q8_rescale_fast(acc, o->mult[c], o->shift[c]);
    int32_t v = q8_sat_add(o->zp, r);
    if (v < o->lo) v = o->lo;
    if (v > o->hi) v = o->hi;
    return (int8_t)v;
}

/* shifts the reference itself defines (a right shift of at most 31, a left
 * shift that keeps int64 exact): the kernels take the reference elsewhere */
static inline int q8_out_ok(const nnc_rt_q8_out *o, int m) {
    int nc = o->per_channel ? m : 1;
    for (int j = 0; j < nc; j++)
        if (o->shift[j] < -31 || o->shift[j] > 31) return 0;
    return 1;
}

#endif
