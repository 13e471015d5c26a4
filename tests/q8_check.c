/* q8_check.c — tests/q8_cases.h without Check, for targets the unit tests
 * do not run on (AArch64 under qemu-user: tests/q8_aarch64.sh): every int8
 * kernel of this build against the references; exit 1 on a difference. */
#include <stdio.h>

#include "nnc_rt.h"
#include "q8_cases.h"

static void report(const char *what, const char *kernel, int a, int b, int c, int d) {
    printf("FAIL %s %s at (%d, %d, %d, %d)\n", what, kernel, a, b, c, d);
}

int main(void) {
    int bad = q8c_dense_all(report) + q8c_conv_all(report);
    for (const nnc_rt_q8_dense_variant *v = nnc_rt_q8_dense_variants; v->name; v++) printf("dense kernel %s\n", v->name);
    for (const nnc_rt_q8_conv2d_variant *v = nnc_rt_q8_conv2d_variants; v->name; v++) printf("conv kernel %s\n", v->name);
    printf("%s: int8 kernels vs reference, %d failures\n", bad ? "FAIL" : "PASS", bad);
    return bad ? 1 : 0;
}
