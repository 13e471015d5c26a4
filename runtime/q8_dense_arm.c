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
static inline int8_t out_dsp(int32_t acc, const int32_t *bias, int j, const nnc_rt_q8_out *o) {
    return q8_out1(bias ? __qadd(bias[j], acc) : acc, j, o);
}

static int32_t dot_dsp(const int8_t *x, const int8_t *w, int k) {
    int32_t a = 0;
    int t = 0;
    for (; t + 4 <= k; t += 4) {
        int32_t xv = ld32(x + t), wv = ld32(w + t);
        a = __smlad(__sxtb16(xv), __sxtb16(wv), a);
        a = __smlad(__sxtb16(ror8(xv)), __sxtb16(ror8(wv)), a);
    }
    for (; t < k; t++) a += x[t] * w[t];
    return a;
}

NNC_RT_Q8_DENSE_KERNEL(nnc_rt_q8_dense_1x4__dsp) {
    if (k > NNC_RT_Q8_KMAX || !q8_out_ok(o, m)) return 0;
    int kq = k / 4 * 4;
    for (int i = 0; i < n; i++) {
        const int8_t *xi = x + (long)i * k;
        int8_t *yi = y + (long)i * m;
        int j = 0;
        for (; j + 4 <= m; j += 4) {
            const int8_t *w0 = w + (long)j * k, *w1 = w0 + k, *w2 = w1 + k, *w3 = w2 + k;
            int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            for (int t = 0; t < kq; t += 4) {
                int32_t xv = ld32(xi + t), x02 = __sxtb16(xv), x13 = __sxtb16(ror8(xv)), v;
                v = ld32(w0 + t); a0 = __smlad(x02, __sxtb16(v), a0); a0 = __smlad(x13, __sxtb16(ror8(v)), a0);
                v = ld32(w1 + t); a1 = __smlad(x02, __sxtb16(v), a1); a1 = __smlad(x13, __sxtb16(ror8(v)), a1);
                v = ld32(w2 + t); a2 = __smlad(x02, __sxtb16(v), a2); a2 = __smlad(x13, __sxtb16(ror8(v)), a2);
                v = ld32(w3 + t); a3 = __smlad(x02, __sxtb16(v), a3); a3 = __smlad(x13, __sxtb16(ror8(v)), a3);
            }
            for (int t = kq; t < k; t++) {
                int32_t u = xi[t];
                a0 += u * w0[t]; a1 += u * w1[t]; a2 += u * w2[t]; a3 += u * w3[t];
            }
            yi[j] = out_dsp(a0, bias, j, o);
            yi[j + 1] = out_dsp(a1, bias, j + 1, o);
            yi[j + 2] = out_dsp(a2, bias, j + 2, o);
            yi[j + 3] = out_dsp(a3, bias, j + 3, o);
        }
        for (; j < m; j++) yi[j] = out_dsp(dot_dsp(xi, w + (long)j * k, k), bias, j, o);
    }
    return 1;
}

#if defined(__GNUC__) && defined(__thumb2__)
/* one quad (4 k) of a packed block: 4 words of w, one per row */
#define QUAD_STEP                                                                        \
    "ldr    %[x13], [%[xp]], #4\n\t"                                                     \
    "sxtb16 %[x02], %[x13]\n\t"                                                          \
    "sxtb16 %[x13], %[x13], ror #8\n\t"                                                  \
    "ldrd   %[w0], %[w1], [%[wp]], #8\n\t"                                               \
    "sxtb16 %[t], %[w0]\n\t"                                                             \
    "smlad  %[a0], %[x02], %[t], %[a0]\n\t"                                              \
    "sxtb16 %[w0], %[w0], ror #8\n\t"                                                    \
    "smlad  %[a0], %[x13], %[w0], %[a0]\n\t"                                             \
    "sxtb16 %[t], %[w1]\n\t"                                                             \
    "smlad  %[a1], %[x02], %[t], %[a1]\n\t"                                              \
    "sxtb16 %[w1], %[w1], ror #8\n\t"                                                    \
    "smlad  %[a1], %[x13], %[w1], %[a1]\n\t"                                             \
    "ldrd   %[w0], %[w1], [%[wp]], #8\n\t"                                               \
    "sxtb16 %[t], %[w0]\n\t"                                                             \
    "smlad  %[a2], %[x02], %[t], %[a2]\n\t"                                              \
    "sxtb16 %[w0], %[w0], ror #8\n\t"                                                    \
    "smlad  %[a2], %[x13], %[w0], %[a2]\n\t"                                             \
    "sxtb16 %[t], %[w1]\n\t"                                                             \
    "smlad  %[a3], %[x02], %[t], %[a3]\n\t"                                              \
    "sxtb16 %[w1], %[w1], ror #8\n\t"                                                    \
    "smlad  %[a3], %[x13], %[w1], %[a3]\n\t"

NNC_RT_Q8_DENSE_KERNEL(nnc_rt_q8_dense_packed_1x4__dsp) {
    if (k > NNC_RT_Q8_KMAX || !q8_out_ok(o, m) || ((uintptr_t)w & 3)) return 0;
    int nq = k / 4, kq = nq * 4;
    for (int i = 0; i < n; i++) {
        const int8_t *xi = x + (long)i * k;
        int8_t *yi = y + (long)i * m;
        const int8_t *wb = w;
        int j = 0;
        for (; j + 4 <= m; j += 4) {
            int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, x02, x13, t, w0, w1;
            const int8_t *xp = xi, *wp = wb;
            int pairs = nq >> 1;
            if (pairs)
                __asm__ volatile("1:\n\t" QUAD_STEP QUAD_STEP
                                 "subs   %[n], %[n], #1\n\t"
                                 "bne    1b\n\t"
                                 : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),
                                   [xp] "+r"(xp), [wp] "+r"(wp), [n] "+r"(pairs), [x02] "=&r"(x02),
                                   [x13] "=&r"(x13), [t] "=&r"(t), [w0] "=&r"(w0), [w1] "=&r"(w1)
                                 :
                                 : "cc", "memory");
            if (nq & 1)
                __asm__ volatile(QUAD_STEP
                                 : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),
                                   [xp] "+r"(xp), [wp] "+r"(wp), [x02] "=&r"(x02),
                                   [x13] "=&r"(x13), [t] "=&r"(t), [w0] "=&r"(w0), [w1] "=&r"(w1)
                                 :
                                 : "memory");
            if (kq < k) {
                int r = k - kq;
                for (int u = 0; u < r; u++) {
                    int32_t xv = xi[kq + u];
                    a0 += xv * wp[u]; a1 += xv * wp[r + u];
                    a2 += xv * wp[2 * r + u]; a3 += xv * wp[3 * r + u];
                }
            }
            wb += 4L * k;
            yi[j] = out_dsp(a0, bias, j, o);
            yi[j + 1] = out_dsp(a1, bias, j + 1, o);
            yi[j + 2] = out_dsp(a2, bias, j + 2, o);
            yi[j + 3] = out_dsp(a3, bias, j + 3, o);
        }
        for (; j < m; j++, wb += k) yi[j] = out_dsp(dot_dsp(xi, wb, k), bias, j, o);
    }
    return 1;
}
#endif

#else
typedef int nnc_rt_q8_dense_arm_empty; /* ISO C: a translation unit is not empty */
#endif
