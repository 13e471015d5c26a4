/* target.c — the machines nnc can write code for (--target): the GEMM
 * kernels the runtime has for each, the registers and caches the tiling
 * reads (runtime/gemm.c's nnc_rt_gemm_tiles_for decides, for the runtime at
 * run time and for nnc here, so the two cannot disagree), and what
 * --report prints.  The generated C is the same for every target: the
 * runtime picks its kernels from the compiler macros it is built with, and
 * the target says which of them will run. */
#include <string.h>
#include "ir.h"

/* buf_floats matches runtime/gemm.c's BUF_FLOATS for that build (checked by
 * tests/test_passes.c against the runtime this nnc is linked with) */
static const Target targets[] = {
    { "x86-64-avx512", "x86-64 with AVX-512F (Skylake-X and later, Zen 4/5): 32 zmm, 48 KiB L1d",
      { "avx512", 8, 32, 16, 16, 48 * 1024, 12320, 64, 0 }, 16, 32, 1024 * 1024 },
    { "x86-64-avx2", "x86-64 with AVX2 and FMA (Haswell and later, Zen 1-3): 16 ymm, 32 KiB L1d",
      { "avx2", 6, 16, 0, 0, 32 * 1024, 12320, 64, 12 }, 8, 16, 512 * 1024 },
    { "cortex-a-neon", "AArch64 Cortex-A with NEON: the 6x16 NEON kernel, 32 q registers, 32 KiB L1d",
      { "neon", 6, 16, 0, 0, 32 * 1024, 12320, 64, 0 }, 4, 32, 512 * 1024 },
    { "cortex-m", "Cortex-M4F/M7 (M profile, single-precision FPU): no data cache, a 4 KiB buffer",
      { "c", 6, 16, 0, 0, 0, 1024, 8, 0 }, 1, 32, 0 },
    { "generic", "any C99 target: the portable kernels",
      { "c", 6, 16, 0, 0, 32 * 1024, 12320, 64, 0 }, 1, 16, 256 * 1024 },
};

const Target *target_find(const char *name) {
    for (unsigned i = 0; i < sizeof targets / sizeof targets[0]; i++)
        if (!strcmp(targets[i].name, name)) return &targets[i];
    return NULL;
}

/* the host's level-2 cache in bytes as Linux describes cpu0's caches, or 0
 * (another system, or no such files): what --report prints for the host */
static long host_l2_bytes(void) {
    for (int i = 0; i < 8; i++) {
        char path[96];
        int level = 0;
        long kib = 0;
        FILE *f;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
        if (!(f = fopen(path, "r"))) break;
        if (fscanf(f, "%d", &level) != 1) level = 0;
        fclose(f);
        if (level != 2) continue;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
        if (!(f = fopen(path, "r"))) break;
        if (fscanf(f, "%ldK", &kib) != 1) kib = 0;
        fclose(f);
        return kib * 1024;
    }
    return 0;
}

/* the target whose kernels the runtime this nnc was built with has: the
 * host, with the runtime's own description of it (the L1 data cache it
 * tiles for is the one the processor reports where the runtime reads it:
 * runtime/gemm.c's host_l1_bytes), so that --report shows the tiles that
 * will run here, and the L2 Linux reports */
const Target *target_default(void) {
    static Target host;
    const nnc_rt_gemm_target *n = nnc_rt_gemm_native();
    for (unsigned i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        const nnc_rt_gemm_target *t = &targets[i].gemm;
        if (!strcmp(t->isa, n->isa) && t->mr == n->mr && t->nr == n->nr && t->small_m_cols == n->small_m_cols) {
            host = targets[i];
            long l2 = host_l2_bytes();
            host.gemm.l1_bytes = n->l1_bytes;
            if (l2 > 0) host.l2_bytes = l2;
            return &host;
        }
    }
    return target_find("generic");
}

void target_list(FILE *out) {
    for (unsigned i = 0; i < sizeof targets / sizeof targets[0]; i++)
        fprintf(out, "  %-14s %s\n", targets[i].name, targets[i].about);
}
