/* fpmode.c — flush-to-zero around the generated entry points.
 *
 * Adam's second moments, small gradients and long products of small
 * activations go subnormal in training.  Intel cores take a microcode
 * assist for every operation on a subnormal (tens to hundreds of cycles;
 * AMD's cost little), so a model could train several times slower on one
 * machine than on another for values below 1.2e-38 that change nothing.
 * Each public entry point of a generated model therefore runs with the
 * FPU's flush-to-zero mode on and gives the caller's setting back on return:
 *
 *   x86 (SSE)        MXCSR: FTZ (bit 15, results) and DAZ (bit 6, inputs)
 *   AArch64          FPCR.FZ (bit 24: inputs and results, scalar and NEON)
 *   32-bit Arm VFP   FPSCR.FZ (bit 24; Cortex-M4F/M7 and Cortex-A)
 *   anything else    nothing (the generic target keeps IEEE subnormals)
 *
 * All three flush the same values (inputs and results below FLT_MIN become
 * a zero of the same sign), so a host and a device build still agree bit
 * for bit.  Threads (an OpenMP build) start from their own mode: the
 * parallel regions set the caller's mode in each thread (nnc_rt_fp_get /
 * nnc_rt_fp_set) so that the thread count never changes a result. */
#include "nnc_rt.h"

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#define FTZ_BITS 0x8040ul
static nnc_rt_fpmode get_mode(void) { return _mm_getcsr(); }
static void set_mode(nnc_rt_fpmode m) { _mm_setcsr((unsigned)m); }
#elif defined(__aarch64__)
#define FTZ_BITS (1ul << 24)
static nnc_rt_fpmode get_mode(void) {
    uint64_t m;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(m));
    return (nnc_rt_fpmode)m;
}
static void set_mode(nnc_rt_fpmode m) {
    uint64_t v = m;
    __asm__ __volatile__("msr fpcr, %0" : : "r"(v));
}
#elif defined(__arm__) && defined(__ARM_FP)
#define FTZ_BITS (1ul << 24)
static nnc_rt_fpmode get_mode(void) {
    uint32_t m;
    __asm__ __volatile__("vmrs %0, fpscr" : "=r"(m));
    return m;
}
static void set_mode(nnc_rt_fpmode m) {
    uint32_t v = (uint32_t)m;
    __asm__ __volatile__("vmsr fpscr, %0" : : "r"(v));
}
#else
#define FTZ_BITS 0ul
static nnc_rt_fpmode get_mode(void) { return 0; }
static void set_mode(nnc_rt_fpmode m) { (void)m; }
#endif

nnc_rt_fpmode nnc_rt_fp_get(void) { return get_mode(); }

void nnc_rt_fp_set(nnc_rt_fpmode mode) {
    if (FTZ_BITS) set_mode(mode);
}

nnc_rt_fpmode nnc_rt_fp_enter(void) {
    nnc_rt_fpmode old = get_mode();
    if ((old & FTZ_BITS) != FTZ_BITS) set_mode(old | FTZ_BITS);
    return old;
}

/* only the flush bits go back: the status flags the body raised (inexact,
 * overflow, ...) stay visible to a caller that tests them */
void nnc_rt_fp_leave(nnc_rt_fpmode saved) {
    nnc_rt_fpmode now = get_mode();
    if ((now & FTZ_BITS) != (saved & FTZ_BITS)) set_mode((now & ~FTZ_BITS) | (saved & FTZ_BITS));
}

nnc_rt_fpmode nnc_rt_fp_flush_bits(void) { return FTZ_BITS; }
