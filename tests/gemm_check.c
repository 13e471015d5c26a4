/* gemm_check.c — every GEMM variant of the runtime it is linked with (and
 * nnc_rt_gemm_f32, the build's best) against the plain C reference over the
 * shapes of gemm_cases.h, without a test framework: for cross builds run
 * under an emulator (tests/firmware.sh builds it for aarch64, where the
 * NEON kernel is chosen, and runs it under qemu-aarch64).
 * Prints "gemm VARIANT ok" per variant, or the first disagreement; exit
 * status 1 on any. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc_rt.h"
#include "gemm_cases.h"

int main(void)
{
    const nnc_rt_gemm_f32_variant *v;
    int nv = nnc_rt_gemm_f32_variants(&v), i, bad = 0;
    char msg[300];
    for (i = -1; i < nv; i++) {
        gemm_fn fn = i < 0 ? nnc_rt_gemm_f32 : v[i].fn;
        const char *name = i < 0 ? "nnc_rt_gemm_f32" : v[i].name;
        if (gemm_sweep(fn, name, msg, sizeof msg)) {
            printf("gemm %s ok\n", name);
        } else {
            printf("gemm %s FAILED: %s\n", name, msg);
            bad = 1;
        }
    }
    return bad;
}
