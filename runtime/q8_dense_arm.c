/* q8_dense_arm.c — int8 dense on the Cortex-M4/M7 DSP extension
 * (nnc_rt_q8_kernels.h): SXTB16 sign-extends bytes 0 and 2 (or, rotated by
 * 8, bytes 1 and 3) of a word into two int16 halves, SMLAD multiplies both
 * halves and adds both products, so a word of x and a word of a row of w
 * give 4 MACs in 2 SMLADs once the word of x has been split (once per pass
 * over x, for 4 output channels).
 *
 * Counted in instructions (qemu's mps2-an386, tests/q8_m4_bench.sh): the
 * packed kernel's inner step is, per 4 k and 4 channels, LDR x, 2 SXTB16,
 * 2 LDRD w, 8 SXTB16, 8 SMLAD: 21 for 16 MACs, two steps per loop branch
 * (1.38 instructions per MAC with the loop).
 */
#include "nnc_rt_q8_kernels.h"

#if defined(__ARM_FEATURE_DSP)
/* the firmware is built with -Os; these loops are where its time goes */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2")
#endif
#include <arm_acle.h>
#include <string.h>

#include "q8_internal.h"

static inline int32_t ld32(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}
static inline int32_t ror8(int32_t v) { return (int32_t)(((uint32_t)v >> 8) | ((uint32_t)v << 24)); }

/* the epilogue: saturating bias add (QADD), then the exact output step */
Q8_INLINE int8_t out_dsp(int32_t acc, const int32_t *bias, int j, const q8_epi *e) {
    return q8_epi_out_fast(e, bias ? __qadd(bias[j], acc) : acc, j);
}

#if defined(__GNUC__) && defined(__thumb2__)
/* The steps, one group of 4 k: X splits a word of x into (x0, x2) and
 * (x1, x3); ROW(a, v) takes a word of weights in v into accumulator a. */
#define X_STEP                                                                           \
    "ldr    %[x13], [%[xp]], #4\n\t"                                                     \
    "sxtb16 %[x02], %[x13]\n\t"                                                          \
    "sxtb16 %[x13], %[x13], ror #8\n\t"
#define ROW(a, v)                                                                        \
    "sxtb16 %[t], %[" v "]\n\t"                                                          \
    "smlad  %[" a "], %[x02], %[t], %[" a "]\n\t"                                        \
    "sxtb16 %[" v "], %[" v "], ror #8\n\t"                                              \
    "smlad  %[" a "], %[x13], %[" v "], %[" a "]\n\t"
/* packed blocks: 4 rows (two LDRDs), 3, 2, 1 */
#define P4_STEP X_STEP "ldrd %[w0], %[w1], [%[wp]], #8\n\t" ROW("a0", "w0") ROW("a1", "w1") \
    "ldrd %[w0], %[w1], [%[wp]], #8\n\t" ROW("a2", "w0") ROW("a3", "w1")
#define P3_STEP X_STEP "ldrd %[w0], %[w1], [%[wp]], #8\n\t" ROW("a0", "w0") ROW("a1", "w1") \
    "ldr %[w0], [%[wp]], #4\n\t" ROW("a2", "w0")
#define P2_STEP X_STEP "ldrd %[w0], %[w1], [%[wp]], #8\n\t" ROW("a0", "w0") ROW("a1", "w1")
#define P1_STEP X_STEP "ldr %[w0], [%[wp]], #4\n\t" ROW("a0", "w0")
/* (m, k) rows: 2 rows through 2 pointers */
#define R2_STEP X_STEP "ldr %[w0], [%[wp]], #4\n\t" "ldr %[w1], [%[wq]], #4\n\t" \
    ROW("a0", "w0") ROW("a1", "w1")

#define DSP_OPERANDS                                                                     \
    : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [xp] "+r"(xp),       \
      [wp] "+r"(wp), [wq] "+r"(wq), [n] "+r"(cnt), [x02] "=&r"(x02), [x13] "=&r"(x13),  \
      [t] "=&r"(t), [w0] "=&r"(w0), [w1] "=&r"(w1)                                      \
    :                                                                                    \
    : "cc", "memory"
/* nq groups of STEP: pairs in a loop, then the odd one */
#define DSP_LOOP(STEP)                                                                   \
    do {                                                                                 \
        int cnt = nq >> 1;                                                               \
        if (cnt) __asm__ volatile("1:\n\t" STEP STEP "subs %[n], %[n], #1\n\tbne 1b\n\t" DSP_OPERANDS); \
        if (nq & 1) __asm__ volatile(STEP DSP_OPERANDS);                                 \
    } while (0)

/* sums of x (k) with a block of b rows: packed (interleaved) at wb, or two
 * rows of (m, k) at wb and wq (b = 2; wq = wb for a lone row) */
static void block_dsp(int32_t *acc, const int8_t *xi, const int8_t *wb, const int8_t *wq0, int k, int b,
                      int packed) {
    int nq = k / 4, kq = nq * 4, r = k - kq;
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, x02, x13, t, w0, w1;
    const int8_t *xp = xi, *wp = wb, *wq = wq0;
    if (!packed) DSP_LOOP(R2_STEP);
    else if (b == 4) DSP_LOOP(P4_STEP);
    else if (b == 3) DSP_LOOP(P3_STEP);
    else if (b == 2) DSP_LOOP(P2_STEP);
    else DSP_LOOP(P1_STEP);
    /* the k % 4 last: packed, row u's at wp + u r; else at the rows' ends */
    for (int u = 0; u < r; u++) {
        int32_t xv = xi[kq + u];
        if (!packed) {
            a0 += xv * wb[kq + u];
            a1 += xv * wq0[kq + u];
            continue;
        }
        a0 += xv * wp[u];
        if (b > 1) a1 += xv * wp[r + u];
        if (b > 2) a2 += xv * wp[2 * r + u];
        if (b > 3) a3 += xv * wp[3 * r + u];
    }
    acc[0] = a0; acc[1] = a1; acc[2] = a2; acc[3] = a3;
}

NNC_RT_Q8_DENSE_KERNEL(nnc_rt_q8_dense_1x2__dsp) {
    q8_epi e = q8_epi_of(o, m);
    if (k > NNC_RT_Q8_KMAX || !e.ok || !e.fast) return 0;
    for (int i = 0; i < n; i++) {
        const int8_t *xi = x + (long)i * k;
        int8_t *yi = y + (long)i * m;
        int32_t acc[4];
        for (int j = 0; j < m; j += 2) {
            const int8_t *w0 = w + (long)j * k;
            block_dsp(acc, xi, w0, j + 1 < m ? w0 + k : w0, k, 2, 0);
            yi[j] = out_dsp(acc[0], bias, j, &e);
            if (j + 1 < m) yi[j + 1] = out_dsp(acc[1], bias, j + 1, &e);
        }
    }
    return 1;
}

NNC_RT_Q8_DENSE_KERNEL(nnc_rt_q8_dense_packed_1x4__dsp) {
    q8_epi e = q8_epi_of(o, m);
    if (k > NNC_RT_Q8_KMAX || !e.ok || !e.fast || ((uintptr_t)w & 3)) return 0;
    for (int i = 0; i < n; i++) {
        const int8_t *xi = x + (long)i * k;
        int8_t *yi = y + (long)i * m;
        int32_t acc[4];
        for (int j = 0; j < m; j += 4) {
            int b = m - j < 4 ? m - j : 4;
            block_dsp(acc, xi, w + (long)j * k, w, k, b, 1);
            for (int u = 0; u < b; u++) yi[j + u] = out_dsp(acc[u], bias, j + u, &e);
        }
    }
    return 1;
}
#endif

#else
typedef int nnc_rt_q8_dense_arm_empty; /* ISO C: a translation unit is not empty */
#endif
