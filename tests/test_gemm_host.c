/* test_gemm_host.c — the GEMM's description of the machine it runs on
 * (runtime/gemm.c's host_l1_bytes, nnc_rt_gemm_native) and what follows
 * from it: the L1 data cache the tiling fits a B sliver to is the one the
 * processor reports on an Intel x86 (CPUID leaf 4), the build's constant
 * elsewhere; nnc's default target (--report) says the same, and the L2
 * Linux reports; a smaller L1
 * gives shallower K blocks; and the products at the host's tiling agree
 * with the reference at the K-block and tile edges. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ir.h"
#include "nnc_rt.h"

/* Linux's view of cpu0: the vendor, and the level-1 data cache in bytes
 * (0 where the files are not there) */
static int vendor_is(const char *name) {
    char line[256];
    int found = 0;
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "vendor_id", 9)) {
            found = strstr(line, name) != NULL;
            break;
        }
    fclose(f);
    return found;
}

/* cpu0's cache of that level (the data or unified one for level 1) in bytes */
static long sysfs_cache(int want) {
    for (int i = 0; i < 8; i++) {
        char path[128], buf[64];
        int level = 0;
        long kib = 0;
        FILE *f;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
        if (!(f = fopen(path, "r"))) break;
        if (fscanf(f, "%d", &level) != 1) level = 0;
        fclose(f);
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/type", i);
        if (!(f = fopen(path, "r"))) break;
        if (!fgets(buf, sizeof buf, f)) buf[0] = 0;
        fclose(f);
        if (level != want || !strncmp(buf, "Instruction", 11)) continue;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
        if (!(f = fopen(path, "r"))) break;
        if (fscanf(f, "%ldK", &kib) != 1) kib = 0;
        fclose(f);
        return kib * 1024;
    }
    return 0;
}

/* the runtime's L1: the processor's on Intel, the table's constant elsewhere;
 * and nnc's default target carries exactly the runtime's description */
START_TEST(host_l1_is_the_processors) {
    const nnc_rt_gemm_target *n = nnc_rt_gemm_native();
    const Target *d = target_default(), *table = target_find(d->name);
    ck_assert_ptr_nonnull(table);
    ck_assert_int_eq(d->gemm.l1_bytes, n->l1_bytes);
    ck_assert_int_eq(d->gemm.mr, n->mr);
    ck_assert_int_eq(d->gemm.nr, n->nr);
    ck_assert_int_eq(d->gemm.buf_floats, n->buf_floats);
    if (sysfs_cache(2) > 0) ck_assert_int_eq(d->l2_bytes, sysfs_cache(2)); /* --report's L2 */
    else ck_assert_int_eq(d->l2_bytes, table->l2_bytes);
#if defined(__x86_64__) || defined(__i386__)
    if (vendor_is("GenuineIntel") && table->gemm.l1_bytes > 0) {
        long l1 = sysfs_cache(1);
        if (l1 > 0) ck_assert_int_eq(n->l1_bytes, l1);
        else ck_assert_int_gt(n->l1_bytes, 0);
        return;
    }
#endif
    ck_assert_int_eq(n->l1_bytes, table->gemm.l1_bytes); /* AMD and the rest: unchanged */
    (void)vendor_is;
}
END_TEST

/* a Skylake-X's 32 KiB instead of 48: the B sliver stays within two thirds
 * of it, in more and shallower K blocks */
START_TEST(smaller_l1_shallower_blocks) {
    nnc_rt_gemm_target t = target_find("x86-64-avx512")->gemm;
    nnc_rt_gemm_tiles big, small;
    nnc_rt_gemm_tiles_for(&t, 0, 0, 32, 256, 784, 0, &big);
    t.l1_bytes = 32 * 1024;
    nnc_rt_gemm_tiles_for(&t, 0, 0, 32, 256, 784, 0, &small);
    ck_assert_int_eq(big.kc, 196);
    ck_assert_int_eq(big.kblocks, 4);
    ck_assert_int_le((long)small.kc * small.nr * 4, 32 * 1024 * 2 / 3);
    ck_assert_int_gt(small.kblocks, big.kblocks);
    ck_assert_int_ge((long)small.kc * small.kblocks, 784);
    ck_assert_int_eq(small.mr, big.mr);         /* the same kernel */
    ck_assert_int_eq(small.nr, big.nr);
}
END_TEST

static float *fill(long n, unsigned seed) {
    float *p = malloc((size_t)n * sizeof *p);
    ck_assert_ptr_nonnull(p);
    for (long i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (float)((seed >> 9) & 0xffff) / 65536.0f - 0.5f;
    }
    return p;
}

/* the products at the host's tiling, K one either side of the host's K
 * block and of two, M and N at the tiles' edges, every transpose */
START_TEST(host_tiling_agrees_with_reference) {
    const nnc_rt_gemm_target *n = nnc_rt_gemm_native();
    nnc_rt_gemm_tiles tl;
    nnc_rt_gemm_tiles_for(n, 0, 0, 64, 256, 4096, 0, &tl);
    int kc = tl.path == NNC_RT_GEMM_BLOCKED ? tl.kc : 64;
    const int Ks[] = {kc - 1, kc, kc + 1, 2 * kc + 1}, Ms[] = {5, 17, 70}, Ns[] = {10, 33, 64};
    for (int ki = 0; ki < 4; ki++)
        for (int mi = 0; mi < 3; mi++)
            for (int ni = 0; ni < 3; ni++)
                for (int tr = 0; tr < 4; tr++) {
                    int K = Ks[ki], M = Ms[mi], N = Ns[ni], ta = tr & 1, tb = tr >> 1;
                    float *A = fill((long)M * K, 3u + (unsigned)K), *B = fill((long)K * N, 5u + (unsigned)N);
                    float *C = fill((long)M * N, 7), *R = malloc((size_t)M * N * sizeof *R);
                    ck_assert_ptr_nonnull(R);
                    memcpy(R, C, (size_t)M * N * sizeof *R);
                    nnc_rt_gemm_f32(ta, tb, M, N, K, 0.5f, A, ta ? M : K, B, tb ? K : N, 0.25f, C, N);
                    nnc_rt_gemm_f32_ref(ta, tb, M, N, K, 0.5f, A, ta ? M : K, B, tb ? K : N, 0.25f, R, N);
                    for (long i = 0; i < (long)M * N; i++)
                        ck_assert_msg(fabsf(C[i] - R[i]) <= 1e-5f * (float)K + 1e-5f,
                                      "M %d N %d K %d ta %d tb %d [%ld]: %g vs %g", M, N, K, ta, tb, i,
                                      (double)C[i], (double)R[i]);
                    free(A);
                    free(B);
                    free(C);
                    free(R);
                }
}
END_TEST

int main(void) {
    Suite *s = suite_create("gemm_host");
    TCase *t = tcase_create("gemm_host");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, host_l1_is_the_processors);
    tcase_add_test(t, smaller_l1_shallower_blocks);
    tcase_add_test(t, host_tiling_agrees_with_reference);
    suite_add_tcase(s, t);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
