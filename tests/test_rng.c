/* test_rng.c — unit tests for the runtime's random numbers, shuffle and
 * initialisers (runtime/rng.c) and the serialisation helpers (serial.c):
 * determinism, the distributions' moments, the initialisers' scales, CRC-32
 * check values and byte order.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nnc_rt.h"
#include "kernel_check.h"

/* ---- rng, shuffle, initialisers -------------------------------------------------------- */

START_TEST(test_rng_determinism)
{
    nnc_rt_rng a, b, c;
    int i, differ = 0, same = 0;
    nnc_rt_rng_seed(&a, 0);
    /* splitmix64's published first outputs for seed 0:
     * 0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f */
    ck_assert_uint_eq(nnc_rt_rng_u32(&a), 0xe220a839u);
    ck_assert_uint_eq(nnc_rt_rng_u32(&a), 0x6e789e6au);
    ck_assert_uint_eq(nnc_rt_rng_u32(&a), 0x06c45d18u);
    nnc_rt_rng_seed(&a, 12345);
    nnc_rt_rng_seed(&b, 12345);
    nnc_rt_rng_seed(&c, 12346);
    for (i = 0; i < 1000; i++) {
        uint32_t x = nnc_rt_rng_u32(&a);
        same += x == nnc_rt_rng_u32(&b);
        differ += x != nnc_rt_rng_u32(&c);
    }
    ck_assert_int_eq(same, 1000);
    ck_assert_int_ge(differ, 990);
    /* pinned: uniform = (u32 >> 8) 2^-24 of 0xe220a839 -> 14819496 / 2^24 */
    nnc_rt_rng_seed(&a, 0);
    ck_near(nnc_rt_rng_uniform(&a), 14819496.0 / 16777216.0, 0, 0);
    /* pinned once (gcc and clang, -O0 to -O3 -march=native agree): any
     * change here changes every model's initial weights */
    nnc_rt_rng_seed(&a, 42);
    ck_assert(nnc_rt_rng_uniform(&a) == 0x1.7bae64p-1f);
    ck_assert(nnc_rt_rng_normal(&a) == -0x1.5e754p-2f);
    ck_assert(nnc_rt_rng_normal(&a) == 0x1.6b4508p+0f);
    {
        static const int32_t want[10] = {4, 2, 8, 1, 9, 3, 0, 6, 7, 5};
        int32_t idx[10];
        float w[3];
        nnc_rt_shuffle(idx, 10, 1);
        ck_assert(memcmp(idx, want, sizeof want) == 0);
        nnc_rt_rng_seed(&a, 5);
        nnc_rt_init(NNC_RT_INIT_HE_NORMAL, w, 3, 10, 10, &a);
        ck_assert(w[0] == 0x1.4cd888p-7f && w[1] == 0x1.68b154p-1f && w[2] == -0x1.5c31c6p-1f);
    }
}
END_TEST

START_TEST(test_rng_distributions)
{
    nnc_rt_rng r;
    const long n = 100000;
    double su = 0, sn = 0, sn2 = 0;
    float lo = 1, hi = 0;
    long i, bad = 0;
    nnc_rt_rng_seed(&r, 7);
    for (i = 0; i < n; i++) {
        float u = nnc_rt_rng_uniform(&r), z = nnc_rt_rng_normal(&r);
        bad += !(u >= 0.0f && u < 1.0f) || !isfinite(z);
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
        su += u;
        sn += z;
        sn2 += (double)z * z;
    }
    ck_assert_int_eq(bad, 0);
    ck_near(su / n, 0.5, 0.005, 0);
    ck_assert(lo < 0.001f && hi > 0.999f);
    ck_near(sn / n, 0.0, 0.01, 0);
    ck_near(sqrt(sn2 / n - (sn / n) * (sn / n)), 1.0, 0.01, 0);
}
END_TEST

START_TEST(test_shuffle)
{
    enum { N = 1000 };
    int32_t a[N], b[N], c[N];
    char seen[N];
    int i, moved = 0, differ = 0, bad = 0, same = 0;
    nnc_rt_shuffle(a, N, 3);
    nnc_rt_shuffle(b, N, 3);
    nnc_rt_shuffle(c, N, 4);
    memset(seen, 0, sizeof seen);
    for (i = 0; i < N; i++) {
        if (a[i] < 0 || a[i] >= N || seen[a[i]]) { /* out of range or repeated */
            bad++;
            continue;
        }
        seen[a[i]] = 1;
        same += a[i] == b[i];
        moved += a[i] != i;
        differ += a[i] != c[i];
    }
    ck_assert_int_eq(bad, 0);
    ck_assert_int_eq(same, N);
    ck_assert_int_ge(moved, 950);
    ck_assert_int_ge(differ, 950);
    nnc_rt_shuffle(a, 1, 3);
    ck_assert_int_eq(a[0], 0);
    nnc_rt_shuffle(a, 0, 3); /* no-op */
}
END_TEST

/* mean, std and max |w| of 100k initialised weights */
static void init_stats(int kind, int fan_in, int fan_out, double *mean, double *std, double *maxabs)
{
    enum { N = 100000 };
    static float w[N];
    nnc_rt_rng r;
    double s = 0, s2 = 0, mx = 0;
    long i;
    nnc_rt_rng_seed(&r, 11);
    nnc_rt_init(kind, w, N, fan_in, fan_out, &r);
    for (i = 0; i < N; i++) {
        s += w[i];
        s2 += (double)w[i] * w[i];
        mx = fabs(w[i]) > mx ? fabs(w[i]) : mx;
    }
    *mean = s / N;
    *std = sqrt(s2 / N - *mean * *mean);
    *maxabs = mx;
}

START_TEST(test_initialisers)
{
    const double fi = 784, fo = 256;
    double mean, std, mx, l, sd;
    /* uniform(-l, l): std l / sqrt(3), max just under l */
    l = sqrt(6 / (fi + fo));
    init_stats(NNC_RT_INIT_GLOROT_UNIFORM, 784, 256, &mean, &std, &mx);
    ck_near(mean, 0, 0.01 * l, 0);
    ck_near(std, l / sqrt(3.0), 0, 0.01);
    ck_assert(mx <= l && mx > 0.999 * l);
    l = sqrt(6 / fi);
    init_stats(NNC_RT_INIT_HE_UNIFORM, 784, 256, &mean, &std, &mx);
    ck_near(std, l / sqrt(3.0), 0, 0.01);
    ck_assert(mx <= l && mx > 0.999 * l);
    /* truncated normal: the .8796 correction restores the target std;
     * samples stop at 2 raw stddevs */
    sd = sqrt(2 / (fi + fo));
    init_stats(NNC_RT_INIT_GLOROT_NORMAL, 784, 256, &mean, &std, &mx);
    ck_near(mean, 0, 0.01 * sd, 0);
    ck_near(std, sd, 0, 0.01);
    ck_assert(mx <= 2 * sd / .87962566103423978 * (1 + 1e-6) && mx > 1.9 * sd / .8796);
    sd = sqrt(2 / fi);
    init_stats(NNC_RT_INIT_HE_NORMAL, 784, 256, &mean, &std, &mx);
    ck_near(std, sd, 0, 0.01);
    ck_assert(mx <= 2 * sd / .87962566103423978 * (1 + 1e-6));
    init_stats(NNC_RT_INIT_ZEROS, 1, 1, &mean, &std, &mx);
    ck_assert(mx == 0.0);
    init_stats(NNC_RT_INIT_ONES, 1, 1, &mean, &std, &mx);
    ck_assert(mean == 1.0 && std == 0.0);
}
END_TEST

/* ---- serialisation ------------------------------------------------------------------- */

/* orthogonal: the rows (a < b) or columns (a >= b) of w (a, b) are orthonormal;
 * uniform: U(-0.05, 0.05); unit_forget: ones exactly on [U, 2U) */
START_TEST(test_initialisers_recurrent)
{
    static const int shapes[][2] = { { 8, 32 }, { 32, 8 }, { 7, 7 }, { 1, 5 } };
    static float w[256];
    nnc_rt_rng r;
    int s, i, j, k;
    nnc_rt_rng_seed(&r, 3);
    for (s = 0; s < 4; s++) {
        int a = shapes[s][0], b = shapes[s][1], rows = a < b, m = rows ? a : b, len = rows ? b : a;
        nnc_rt_init(NNC_RT_INIT_ORTHOGONAL, w, (long)a * b, a, b, &r);
        for (i = 0; i < m; i++)
            for (j = 0; j < m; j++) {
                double dot = 0;
                for (k = 0; k < len; k++)
                    dot += (double)(rows ? w[i * b + k] : w[k * b + i]) * (rows ? w[j * b + k] : w[k * b + j]);
                ck_assert_msg(fabs(dot - (i == j)) < 1e-5, "%dx%d: <%d,%d> = %g", a, b, i, j, dot);
            }
    }
    nnc_rt_init(NNC_RT_INIT_UNIFORM, w, 256, 0, 0, &r);
    for (i = 0; i < 256; i++)
        ck_assert(w[i] >= -0.05f && w[i] <= 0.05f);
    nnc_rt_init(NNC_RT_INIT_UNIT_FORGET, w, 16, 4, 0, &r);
    for (i = 0; i < 16; i++)
        ck_assert_float_eq(w[i], i >= 4 && i < 8 ? 1.0f : 0.0f);
}
END_TEST

START_TEST(test_crc32)
{
    ck_assert_uint_eq(nnc_rt_crc32("123456789", 9), 0xCBF43926u);
    ck_assert_uint_eq(nnc_rt_crc32("", 0), 0u);
    ck_assert_uint_eq(nnc_rt_crc32("a", 1), 0xE8B7BE43u);
    ck_assert_uint_eq(nnc_rt_crc32("The quick brown fox jumps over the lazy dog", 43), 0x414FA339u);
}
END_TEST

START_TEST(test_put_get)
{
    unsigned char b[4];
    static const float vals[] = {0.0f, -0.0f, 1.5f, -3.25e-30f, 1e30f, INFINITY};
    unsigned i;
    nnc_rt_put_u32(b, 0x12345678u);
    ck_assert_uint_eq(b[0], 0x78);
    ck_assert_uint_eq(b[3], 0x12);
    ck_assert_uint_eq(nnc_rt_get_u32(b), 0x12345678u);
    nnc_rt_put_u32(b, 0xFFFFFFFFu);
    ck_assert_uint_eq(nnc_rt_get_u32(b), 0xFFFFFFFFu);
    nnc_rt_put_f32(b, 1.5f); /* 0x3FC00000 */
    ck_assert_uint_eq(b[0], 0x00);
    ck_assert_uint_eq(b[2], 0xC0);
    ck_assert_uint_eq(b[3], 0x3F);
    for (i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        float v;
        nnc_rt_put_f32(b, vals[i]);
        v = nnc_rt_get_f32(b);
        ck_assert(memcmp(&v, &vals[i], sizeof v) == 0);
    }
    nnc_rt_put_f32(b, NAN);
    ck_assert(isnan(nnc_rt_get_f32(b)));
}
END_TEST

int main(void)
{
    const TTest *rng[] = {test_rng_determinism, test_rng_distributions, test_shuffle,
                          test_initialisers, test_initialisers_recurrent, NULL};
    const TTest *serial[] = {test_crc32, test_put_get, NULL};
    const kernel_case cases[] = {{"rng", rng, 0, 0}, {"serial", serial, 0, 0}};
    return run_cases("rng", cases, (int)(sizeof cases / sizeof cases[0]));
}
