/* conv_depthwise.c — the portable depthwise convolution kernels
 * (nnc_rt_f32_conv2d_depthwise_4x16__c and its two gradients): the walk of
 * conv_depthwise.h with plain C inner loops, for targets without the SIMD
 * kernels (and, on those that have them, as one more variant under test).
 */
#include "conv_internal.h"

#define DEPTHWISE_SIMD 0
#define CONV_DEPTHWISE nnc_rt_f32_conv2d_depthwise_4x16__c
#define CONV_DEPTHWISE_DATA nnc_rt_f32_conv2d_depthwise_data__c
#define CONV_DEPTHWISE_FILTER nnc_rt_f32_conv2d_depthwise_filter__c

/* out[0:c] += a[0:c] * b[0:c] */
static void mul_add(float *restrict out, const float *restrict a, const float *restrict b, int c)
{
    int i;
    for (i = 0; i < c; i++)
        out[i] += a[i] * b[i];
}

/* DW_PIX adjacent output pixels of one row whose taps all fall inside the
 * input columns, for m == 1: y[q, ch] for q < DW_PIX (rows are clipped by
 * ky_lo/ky_hi).  The channels go in blocks of DW_CB with DW_PIX x DW_CB
 * accumulators that the compiler keeps in vector registers — independent
 * chains, so the adds of consecutive taps do not wait for each other as
 * they would through memory.  (DW_PIX is spelled out as a0..a3 below.) */
#define DW_PIX 4
#define DW_CB 16
static void depthwise_interior(const nnc_rt_conv2d *p, float *restrict yr,
                               const float *restrict xs, long off0, const float *restrict w,
                               const float *restrict b, int ky_lo, int ky_hi)
{
    const int c = p->c;
    const long xstep = (long)p->sw * c; /* from one output pixel's cells to the next */
    int c0, q, o, ky, kx;
    for (c0 = 0; c0 + DW_CB <= c; c0 += DW_CB) {
        /* four named rows, as in gemm.c's portable micro-kernel: a 2-D
         * array would be kept in memory */
        float a0[DW_CB], a1[DW_CB], a2[DW_CB], a3[DW_CB];
        for (o = 0; o < DW_CB; o++)
            a0[o] = a1[o] = a2[o] = a3[o] = b ? b[c0 + o] : 0.0f;
        for (ky = ky_lo; ky < ky_hi; ky++)
            for (kx = 0; kx < p->kw; kx++) {
                const float *restrict xr =
                    xs + off0 + ((long)ky * p->dh * p->w + (long)kx * p->dw) * c + c0;
                const float *restrict wr = w + ((long)ky * p->kw + kx) * c + c0;
                for (o = 0; o < DW_CB; o++) {
                    a0[o] += xr[o] * wr[o];
                    a1[o] += xr[xstep + o] * wr[o];
                    a2[o] += xr[2 * xstep + o] * wr[o];
                    a3[o] += xr[3 * xstep + o] * wr[o];
                }
            }
        for (o = 0; o < DW_CB; o++) {
            yr[o + c0] = a0[o];
            yr[c + o + c0] = a1[o];
            yr[2L * c + o + c0] = a2[o];
            yr[3L * c + o + c0] = a3[o];
        }
    }
    for (; c0 < c; c0++) /* the channels past the last whole block */
        for (q = 0; q < DW_PIX; q++) {
            float a = b ? b[c0] : 0.0f;
            for (ky = ky_lo; ky < ky_hi; ky++)
                for (kx = 0; kx < p->kw; kx++)
                    a += xs[off0 + q * xstep + ((long)ky * p->dh * p->w + (long)kx * p->dw) * c + c0] *
                         w[((long)ky * p->kw + kx) * c + c0];
            yr[(long)q * c + c0] = a;
        }
}

#include "conv_depthwise.h"
