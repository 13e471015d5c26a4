/* q8_m4_bench.c — the int8 kernels on the Cortex-M4 (qemu mps2-an386,
 * tests/q8_m4_bench.sh): first every kernel of this build against the
 * references bit for bit (tests/q8_cases.h), then the seed networks' layer
 * shapes timed with tests/firmware.sh's method (SysTick ticks x 40 under
 * -icount shift=0: instructions), printed per layer and in total beside
 * CMSIS-NN's whole-network figures from issue 20.
 *
 *   seed MLP 784-256-128-10 (int8, batch 1): three dense layers, packed
 *   weights (nnc_rt_q8_dense_packed) and (m, k) weights (nnc_rt_q8_dense);
 *   seed small CNN: conv 32 3x3 valid on 28x28x1 + relu, dense 21632 -> 10;
 *   the depthwise 3x3 layers of the MLPerf Tiny DS-CNN (4 x 25x5x64, stride
 *   1) and MobileNetV1 0.25 (48x48x8 .. 3x3x256, strides 1 and 2, 'same'),
 *   by the public entry point and by the portable direct loop beside it.
 */
#include <string.h>

#include "board.h"
#include "nnc_rt.h"
#include "nnc_rt_q8_kernels.h"
#include "q8_cases.h"

static int failures;
static void on_fail(const char *what, const char *kernel, int a, int b, int c, int d) {
    char buf[4][24];
    failures++;
    fw_puts("FAIL", what, kernel);
    fw_puts(fw_long_str(a, buf[0]), fw_long_str(b, buf[1]), fw_long_str(c, buf[2]));
    (void)d;
    (void)buf[3];
}

/* the layers' operands (values do not change the instruction count much:
 * no data-dependent branches in the kernels but the clamp) */
static int8_t bx[48 * 48 * 16 + 64] __attribute__((aligned(8)));
static int8_t by[48 * 48 * 16 + 64] __attribute__((aligned(8)));
static int8_t bw[216320 + 64] __attribute__((aligned(8)));
static int8_t bwp[216320 + 64] __attribute__((aligned(8)));
static int32_t bb[256], bm[256];
static int8_t bs[256];
static int16_t cscratch[10 * 9 + 64] __attribute__((aligned(16)));
static int16_t dscratch[2048] __attribute__((aligned(16)));

static long ticks_of(int which, int n, int k, int m, const nnc_rt_q8_out *o) {
    uint64_t t0 = board_cycles();
    if (which == 0) nnc_rt_q8_dense_packed(by, bx, bwp, bb, n, k, m, o);
    else nnc_rt_q8_dense(by, bx, bw, bb, n, k, m, o);
    return (long)(board_cycles() - t0);
}

static long dense_layer(const char *name, int k, int m, int packed, const nnc_rt_q8_out *o) {
    char buf[24];
    q8c_fill(bx, k, 0);
    q8c_fill(bw, (long)m * k, 0);
    if (packed) nnc_rt_q8_dense_pack(bwp, bw, m, k);
    long best = -1;
    for (int r = 0; r < 3; r++) {
        long t = ticks_of(packed ? 0 : 1, 1, k, m, o);
        if (best < 0 || t < best) best = t;
    }
    long ins = best * 40;
    fw_puts("  ", name, packed ? "(packed)" : "(m, k)");
    fw_put_long("    instructions", ins);
    fw_puts("    per MAC x1000", fw_long_str(ins * 1000 / ((long)k * m), buf), "");
    return ins;
}

static long conv_layer(const nnc_rt_q8_out *o, int oc) {
    nnc_rt_conv2d p = q8c_geom(28, 28, 1, oc, 3, 3, 1, 1, 0, 1);
    q8c_fill(bx, 784, 0);
    q8c_fill(bw, 32 * 9, 0);
    long best = -1;
    for (int r = 0; r < 3; r++) {
        uint64_t t0 = board_cycles();
        nnc_rt_q8_conv2d(&p, by, bx, -3, bw, bb, cscratch, 1, o);
        long t = (long)(board_cycles() - t0);
        if (best < 0 || t < best) best = t;
    }
    fw_puts("  conv 3x3 28x28x1 -> 26x26x32 + relu", "", "");
    fw_put_long("    instructions", best * 40);
    return best * 40;
}

/* a depthwise 3x3 layer on h x w x c with stride s, padded as TensorFlow's 'same'
 * (stride 2 on an even size: nothing before, one after), relu; instructions
 * of the public entry (which) 0 or the portable direct loop 1 */
static long dw_layer(int h, int w, int c, int s, int which, const nnc_rt_q8_out *o) {
    nnc_rt_conv2d p = q8c_geom(h, w, c, c, 3, 3, s, 1, s == 1 ? 1 : 0, c);
    p.oh = (h + s - 1) / s, p.ow = (w + s - 1) / s;
    if (NNC_RT_Q8_CONV2D_SCRATCH(&p) > (long)sizeof dscratch) return -1;
    q8c_fill(bx, (long)h * w * c, 0);
    q8c_fill(bw, (long)c * 9, 0);
    long best = -1;
    for (int r = 0; r < 2; r++) {
        uint64_t t0 = board_cycles();
        if (which == 0) nnc_rt_q8_conv2d(&p, by, bx, -3, bw, bb, dscratch, 1, o);
        else nnc_rt_q8_conv2d_direct__c(&p, by, bx, -3, bw, bb, dscratch, 1, o);
        long t = (long)(board_cycles() - t0);
        if (best < 0 || t < best) best = t;
    }
    return best * 40;
}

/* a network's depthwise layers {h, w, c, stride, count}, both ways */
static void dw_net(const char *name, const int (*l)[5], int nl, const nnc_rt_q8_out *o) {
    char buf[3][24];
    long tot[2] = {0, 0}, macs = 0;
    fw_puts(name, "depthwise 3x3 layers, int8 + relu: instructions, x1000 a MAC,", "then the portable direct loop's");
    for (int i = 0; i < nl; i++) {
        int s = l[i][3], oh = (l[i][0] + s - 1) / s, ow = (l[i][1] + s - 1) / s;
        long m = (long)oh * ow * l[i][2] * 9 * l[i][4];
        long t0 = dw_layer(l[i][0], l[i][1], l[i][2], s, 0, o) * l[i][4];
        long t1 = dw_layer(l[i][0], l[i][1], l[i][2], s, 1, o) * l[i][4];
        fw_puts("  ", fw_long_str(l[i][0], buf[0]), fw_long_str(l[i][1], buf[1]));
        fw_puts("   c, stride, layers", fw_long_str(l[i][2], buf[0]), fw_long_str(s, buf[1]));
        fw_puts("     ", fw_long_str(l[i][4], buf[2]), "");
        fw_puts("   dsp", fw_long_str(t0, buf[0]), fw_long_str((long)((long long)t0 * 1000 / m), buf[1]));
        fw_puts("   direct__c", fw_long_str(t1, buf[0]), fw_long_str((long)((long long)t1 * 1000 / m), buf[1]));
        tot[0] += t0; tot[1] += t1; macs += m;
    }
    fw_put_long("  depthwise MACs", macs);
    fw_put_long("  depthwise instructions", tot[0]);
    fw_put_long("  the same by the portable direct loop", tot[1]);
}

int fw_main(void) {
    board_init();
    {   /* calibration: 100000 x (subs, bne) = 200000 instructions */
        int cnt = 100000;
        uint64_t t0 = board_cycles();
        __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(cnt) : : "cc");
        fw_put_long("calibration: 200000 instructions measure as", (long)(board_cycles() - t0) * 40);
    }
    int bad = q8c_dense_all(on_fail) + q8c_conv_all(on_fail);
    fw_puts(bad ? "FAIL" : "PASS", "int8 kernels on the cortex-m4 equal the references, bit for bit", "");
    fw_put_long("  failures", bad);
    for (int j = 0; j < 256; j++) {
        bb[j] = (int32_t)(q8c_rand() % 20001) - 10000;
        bm[j] = (int32_t)((1u << 30) + (q8c_rand() & 0x3FFFFFFF));
        bs[j] = (int8_t)(-8 - (int)(q8c_rand() % 4));
    }
    nnc_rt_q8_out o = {bm, bs, 1, -5, -128, 127, 0}, relu = {bm, bs, 1, -128, -128, 127, 0};
    for (int packed = 1; packed >= 0; packed--) {
        fw_puts("seed MLP 784-256-128-10, int8 dense layers", packed ? "(packed weights)" : "((m, k) weights)", "");
        long t = dense_layer("dense 784 -> 256", 784, 256, packed, &relu);
        t += dense_layer("dense 256 -> 128", 256, 128, packed, &relu);
        t += dense_layer("dense 128 -> 10", 128, 10, packed, &o);
        fw_put_long("  MLP dense layers, instructions", t);
        fw_put_long("  CMSIS-NN, the whole MLP (issue 20)", 465360);
        fw_put_long("  floor for the whole MLP (0.8 x CMSIS-NN)", 372000);
    }
    fw_puts("seed small CNN, int8 layers", "", "");
    long c = conv_layer(&relu, 32);
    c += dense_layer("dense 21632 -> 10", 21632, 10, 1, &o);
    fw_put_long("  CNN conv + dense, instructions", c);
    fw_put_long("  CMSIS-NN, the whole CNN (issue 20)", 2100720);
    fw_put_long("  floor for the whole CNN (0.8 x CMSIS-NN)", 1680000);
    static const int kws[][5] = {{25, 5, 64, 1, 4}};
    static const int vww[][5] = {{48, 48, 8, 1, 1},  {48, 48, 16, 2, 1}, {24, 24, 32, 1, 1}, {24, 24, 32, 2, 1},
                                 {12, 12, 64, 1, 1}, {12, 12, 64, 2, 1}, {6, 6, 128, 1, 5},  {6, 6, 128, 2, 1},
                                 {3, 3, 256, 1, 1}};
    dw_net("kws_dscnn", kws, 1, &relu);
    dw_net("vww_mobilenet", vww, 9, &relu);
    return bad || failures ? 1 : 0;
}
