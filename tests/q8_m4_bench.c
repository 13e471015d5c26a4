/* q8_m4_bench.c — the int8 kernels on the Cortex-M4 (qemu mps2-an386,
 * tests/q8_m4_bench.sh): first every kernel of this build against the
 * references bit for bit (tests/q8_cases.h), then the seed networks' layer
 * shapes timed with tests/firmware.sh's method (SysTick ticks x 40 under
 * -icount shift=0: instructions), printed per layer and in total beside
 * CMSIS-NN's whole-network figures from issue 20.
 *
 *   seed MLP 784-256-128-10 (int8, batch 1): three dense layers, packed
 *   weights (nnc_rt_q8_dense_packed) and (m, k) weights (nnc_rt_q8_dense);
 *   seed small CNN: conv 32 3x3 valid on 28x28x1 + relu, dense 21632 -> 10.
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
static int8_t bx[21632 + 64] __attribute__((aligned(8)));
static int8_t by[21632 + 64] __attribute__((aligned(8)));
static int8_t bw[216320 + 64] __attribute__((aligned(8)));
static int8_t bwp[216320 + 64] __attribute__((aligned(8)));
static int32_t bb[256], bm[256];
static int8_t bs[256];
static int16_t cscratch[10 * 9 + 64] __attribute__((aligned(16)));

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
    return bad || failures ? 1 : 0;
}
