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

#include "nnc_rt_q8_kernels.h"

#if defined(__GNUC__)
#define Q8_INLINE static inline __attribute__((always_inline))
#else
#define Q8_INLINE static inline
#endif

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>
#endif

/* bias + s saturated to int32: the reference's int64 sum then clamp */
Q8_INLINE int32_t q8_sat_add(int32_t bias, int32_t s) {
#if defined(__ARM_FEATURE_DSP)
    return __qadd(bias, s);
#else
    int64_t v = (int64_t)bias + s;
    return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
#endif
}

/* nnc_rt_q8_rescale for shift <= 0 and mult != INT32_MIN in one 64-bit sum
 * and one shift.  With A = acc mult + 2^30 (so hi = floor(A / 2^31), of A's
 * sign) and r = -shift >= 1, the rounding right shift of hi (half away from
 * zero) is floor((hi + 2^(r-1) - [hi < 0]) / 2^r), and since
 * floor((floor(A / B) + c) / D) = floor((A + c B) / (B D)) for integers,
 * that is floor((A + 2^(30+r) - [A < 0] 2^31) / 2^(31+r)): the upper word
 * of that sum shifted right by r - 1. */
Q8_INLINE int32_t q8_rescale_r(int32_t acc, int32_t mult, int r) {
    int64_t a = (int64_t)acc * mult + ((int64_t)1 << 30);
    if (r == 0) return (int32_t)(a >> 31);
    a += (a >> 63) * ((int64_t)1 << 31) + ((int64_t)1 << (30 + r));
    return (int32_t)(a >> 32) >> (r - 1);
}

static inline int32_t q8_rescale_fast(int32_t acc, int32_t mult, int shift) {
    if (shift > 0 || shift < -31 || mult == INT32_MIN) return nnc_rt_q8_rescale(acc, mult, shift);
    return q8_rescale_r(acc, mult, -shift);
}

/* the output constants of a call, copied out of the nnc_rt_q8_out (int8
 * stores alias everything: fields read through o would be read again after
 * every output), and whether every channel takes q8_rescale_r */
typedef struct q8_epi {
    const int32_t *mult;
    const int8_t *shift;
    int pcmask;     /* channel c = j & pcmask: -1 per channel, 0 per tensor */
    int ok;         /* every shift in [-31, 31], where the reference is defined */
    int fast;       /* every channel takes q8_rescale_r (shift <= 0, mult != INT32_MIN) */
    int32_t zp, lo, hi;
} q8_epi;

static inline q8_epi q8_epi_of(const nnc_rt_q8_out *o, int m) {
    q8_epi e;
    int nc = o->per_channel ? m : 1;
    e.mult = o->mult; e.shift = o->shift; e.pcmask = o->per_channel ? -1 : 0;
    e.zp = o->zp; e.lo = o->lo; e.hi = o->hi;
    e.ok = e.fast = 1;
    for (int j = 0; j < nc && o->checked != NNC_RT_Q8_CHECKED; j++) {
        int s = o->shift[j];
        if (s > 0 || o->mult[j] == INT32_MIN) e.fast = 0;
        if (s < -31 || s > 31) e.ok = 0;
    }
    return e;
}

#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__) && defined(__thumb2__)
/* q8_rescale_r in 32-bit halves: SMLAL onto 2^30, then (2^(r-1) - [A < 0])
 * << 31 added as a 64-bit value (ADDS/ADC), the upper word shifted */
Q8_INLINE int32_t q8_rescale_dsp(int32_t acc, int32_t mult, int r) {
    uint32_t lo = 0x40000000u;
    int32_t hi = 0;
    __asm__("smlal %0, %1, %2, %3" : "+r"(lo), "+r"(hi) : "r"(acc), "r"(mult));
    if (r == 0) return (int32_t)((lo >> 31) | ((uint32_t)hi << 1));
    int32_t d = (1 << (r - 1)) + (hi >> 31);
    __asm__("adds %0, %0, %2, lsl #31\n\tadc %1, %1, %2, lsr #1" : "+r"(lo), "+r"(hi) : "r"(d) : "cc");
    return hi >> (r - 1);
}
#define Q8_RESCALE_R q8_rescale_dsp
#else
#define Q8_RESCALE_R q8_rescale_r
#endif

/* y for channel j from its saturated int32 sum acc */
Q8_INLINE int8_t q8_epi_clamp(const q8_epi *e, int32_t r) {
    int32_t v = q8_sat_add(e->zp, r);
    v = v < e->lo ? e->lo : v;
    v = v > e->hi ? e->hi : v;
    return (int8_t)v;
}
Q8_INLINE int8_t q8_epi_out(const q8_epi *e, int32_t acc, int j) {
    int c = j & e->pcmask;
    return q8_epi_clamp(e, e->fast ? Q8_RESCALE_R(acc, e->mult[c], -e->shift[c])
                                   : nnc_rt_q8_rescale(acc, e->mult[c], e->shift[c]));
}
/* the same when e->fast (the kernels that require it) */
Q8_INLINE int8_t q8_epi_out_fast(const q8_epi *e, int32_t acc, int j) {
    int c = j & e->pcmask;
    return q8_epi_clamp(e, Q8_RESCALE_R(acc, e->mult[c], -e->shift[c]));
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

#endif
