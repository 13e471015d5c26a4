/* test_dtypes.c — unit tests for the runtime's functions that give ONNX
 * element types their semantics in float32 (runtime/tensor_nd.c): WRAP
 * (integer wrap-around), TRUNC, ROUND_F16, ROUND_BF16 and the binary IDIV
 * and MUL16, against plain references written here with integer
 * arithmetic and bit-level conversions (no float tricks shared with the
 * kernels), on edge values and random ones.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nnc_rt.h"
#include "kernel_check.h"

static float unary(int fn, float x, float alpha, float beta)
{
    float y;
    nnc_rt_unary(fn, &y, &x, 1, alpha, beta);
    return y;
}

/* a and b as 1-element operands of nnc_rt_binary_nd */
static float binary(int fn, float a, float b)
{
    nnc_rt_nd p;
    float y;
    memset(&p, 0, sizeof p);
    p.rank = 1;
    p.dims[0] = 1;
    p.ys[0] = p.as[0] = p.bs[0] = 1;
    nnc_rt_binary_nd(fn, &y, &a, &b, &p);
    return y;
}

/* ---- WRAP ------------------------------------------------------------------------ */

/* x in the integer type of `bits` bits, signed or not, with C's modular
 * unsigned arithmetic */
static long long ref_wrap(long long x, int bits, int is_signed)
{
    unsigned long long m = bits == 64 ? ~0ULL : (1ULL << bits) - 1, u = (unsigned long long)x & m;
    if (is_signed && bits < 64 && u >> (bits - 1))
        return (long long)u - (long long)(1ULL << bits);
    return (long long)u;
}

static void check_wrap(long long x, int bits, int is_signed)
{
    float alpha = ldexpf(1.0f, bits), beta = is_signed ? -ldexpf(1.0f, bits - 1) : 0.0f;
    float got = unary(NNC_RT_UN_WRAP, (float)x, alpha, beta);
    float want = (float)ref_wrap(x, bits, is_signed);
    ck_assert_msg(got == want, "wrap(%lld) to %s%d: %.9g, want %.9g", x, is_signed ? "int" : "uint", bits,
                  (double)got, (double)want);
}

START_TEST(test_wrap)
{
    static const long long edges[] = { 0, 1, -1, 100, 127, 128, 129, 200 + 100, 255, 256, 257, -128, -129,
                                       -255, -256, -257, 32767, 32768, 65535, 65536, 65537, -32768, -32769,
                                       -65536, 40000, 200 * 200, -200 * 200, 1 << 23, (1 << 24) - 1, 1 << 24,
                                       -(1 << 24) };
    const int bits[] = { 8, 16, 32 };
    nnc_rt_rng r;
    size_t i;
    int b, s, k;
    for (i = 0; i < sizeof edges / sizeof edges[0]; i++)
        for (b = 0; b < 3; b++)
            for (s = 0; s < 2; s++)
                check_wrap(edges[i], bits[b], s);
    nnc_rt_rng_seed(&r, 7);
    for (k = 0; k < 20000; k++) {   /* every integer a float holds exactly */
        long long x = (long long)(nnc_rt_rng_u32(&r) % (1u << 25)) - (1 << 24);
        check_wrap(x, bits[k % 3], k / 3 % 2);
    }
    /* uint32: a negative result wraps to 2^32 - |x|, as close as a float gets */
    ck_assert(unary(NNC_RT_UN_WRAP, -1.0f, ldexpf(1, 32), 0) == (float)4294967295.0);
    /* not a number, or infinite: 0 (what a float -> int conversion gives on x86, truncated) */
    ck_assert(unary(NNC_RT_UN_WRAP, NAN, 256, 0) == 0.0f);
    ck_assert(unary(NNC_RT_UN_WRAP, INFINITY, 256, -128) == 0.0f);
    ck_assert(unary(NNC_RT_UN_WRAP, -INFINITY, 65536, 0) == 0.0f);
}
END_TEST

/* ---- TRUNC ----------------------------------------------------------------------- */

START_TEST(test_trunc)
{
    static const float xs[] = { 0.0f, 0.5f, -0.5f, 0.999f, -0.999f, 1.0f, -1.0f, 2.5f, -2.5f, 3.7f, -3.7f,
                                255.9f, -128.9f, 8388607.5f, -8388607.5f, 16777216.0f, 1e10f, -1e10f };
    nnc_rt_rng r;
    size_t i;
    for (i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        float want = fabsf(xs[i]) < 1e9f ? (float)(long long)xs[i] : xs[i];   /* C's conversion truncates */
        ck_assert_msg(unary(NNC_RT_UN_TRUNC, xs[i], 0, 0) == want, "trunc(%g)", (double)xs[i]);
    }
    nnc_rt_rng_seed(&r, 3);
    for (i = 0; i < 10000; i++) {
        float x = ((float)nnc_rt_rng_u32(&r) / 4294967296.0f - 0.5f) * 2e6f;
        ck_assert(unary(NNC_RT_UN_TRUNC, x, 0, 0) == (float)(long long)x);
    }
    ck_assert(isnan(unary(NNC_RT_UN_TRUNC, NAN, 0, 0)));
}
END_TEST

/* ---- ROUND_F16 ------------------------------------------------------------------- */

/* float -> float16 bits, ties to even, by integer operations on the bits */
static uint16_t ref_f2h(float f)
{
    uint32_t x, ax, sign, e, mant, q, rem, half, shift;
    memcpy(&x, &f, 4);
    sign = (x >> 16) & 0x8000u;
    ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u)
        return (uint16_t)(sign | 0x7e00u);
    if (ax >= 0x477ff000u)                  /* 65520 and above, inf */
        return (uint16_t)(sign | 0x7c00u);
    e = ax >> 23;
    if (ax < 0x38800000u) {                 /* below 2^-14: a subnormal float16, units of 2^-24 */
        if (e == 0)
            return (uint16_t)sign;
        mant = (ax & 0x7fffffu) | 0x800000u;    /* the value is mant * 2^(e - 150) */
        shift = 126 - e;                        /* mant * 2^(e-150) / 2^-24 = mant >> shift */
        if (shift > 24)
            return (uint16_t)sign;
        q = mant >> shift;
        rem = mant & ((1u << shift) - 1);
        half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1)))
            q++;
        return (uint16_t)(sign | q);
    }
    q = ((e - 112) << 10) | ((ax & 0x7fffffu) >> 13);
    rem = ax & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (q & 1)))
        q++;                                /* a carry into the exponent is right */
    return (uint16_t)(sign | q);
}

static float ref_h2f(uint16_t h)
{
    int e = (h >> 10) & 0x1f;
    unsigned m = h & 0x3ffu;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m | 0x400u, e - 25);
    return (float)(h & 0x8000u ? -v : v);
}

static void check_f16(float x)
{
    float got = unary(NNC_RT_UN_ROUND_F16, x, 0, 0), want = ref_h2f(ref_f2h(x));
    ck_assert_msg((isnan(want) && isnan(got)) || (got == want && signbit(got) == signbit(want)),
                  "round_f16(%.9g): %.9g, want %.9g", (double)x, (double)got, (double)want);
}

START_TEST(test_round_f16)
{
    static const float xs[] = { 0.0f, -0.0f, 1.0f, -1.0f, 0.1f, 1.0f / 3.0f, 2049.0f, 2051.0f, 2050.0f,
                                65504.0f, 65519.99f, 65520.0f, -65520.0f, 70000.0f, 1e30f, 0x1p-14f,
                                0x1p-24f, 0x1p-25f, 0x1.8p-25f, 0x1.8p-24f, 0x1p-26f, 6.1e-5f,
                                0.5488135f, 0.71518934f };
    nnc_rt_rng r;
    size_t i;
    unsigned h;
    for (i = 0; i < sizeof xs / sizeof xs[0]; i++)
        check_f16(xs[i]);
    check_f16(INFINITY);
    check_f16(-INFINITY);
    check_f16(NAN);
    for (h = 0; h < 0x7c00u; h++) {     /* every float16, and the midpoints to the next */
        float v = ref_h2f((uint16_t)h), w = ref_h2f((uint16_t)(h + 1));
        ck_assert(unary(NNC_RT_UN_ROUND_F16, v, 0, 0) == v);
        check_f16(-v);
        check_f16((v + w) / 2);
        check_f16(nextafterf((v + w) / 2, 0.0f));
        check_f16(nextafterf((v + w) / 2, 1e9f));
    }
    nnc_rt_rng_seed(&r, 11);
    for (i = 0; i < 20000; i++) {
        uint32_t u = nnc_rt_rng_u32(&r);
        float x;
        memcpy(&x, &u, 4);
        if (isfinite(x) && fabsf(x) >= FLT_MIN)    /* float32 subnormals: flushed on some targets */
            check_f16(x);
    }
}
END_TEST

/* ---- ROUND_BF16 ------------------------------------------------------------------ */

/* x to bfloat16's 8 significant bits, by arithmetic in double: ties to even
 * or truncated; overflow past FLT_MAX to inf */
static float ref_bf16(float x, int truncate)
{
    int e;
    double q, v;
    if (isnan(x) || isinf(x) || x == 0.0f)
        return x;
    (void)frexp(x, &e);
    q = ldexp(1.0, e - 8);
    v = truncate ? trunc(x / q) : nearbyint(x / q);    /* the default rounding: to nearest, ties to even */
    v *= q;
    return fabs(v) > FLT_MAX ? (v > 0 ? INFINITY : -INFINITY) : (float)v;
}

START_TEST(test_round_bf16)
{
    static const float xs[] = { 1.0f, -1.0f, 0.47892547f, 0.48033667f, 0.81910545f, 1.00390625f, 1.01171875f,
                                1.0078125f, 3.0e38f, FLT_MAX, -FLT_MAX, 1e-30f };
    nnc_rt_rng r;
    size_t i;
    int t;
    for (t = 0; t < 2; t++) {
        for (i = 0; i < sizeof xs / sizeof xs[0]; i++)
            ck_assert_msg(unary(NNC_RT_UN_ROUND_BF16, xs[i], (float)t, 0) == ref_bf16(xs[i], t), "bf16(%.9g, %d)",
                          (double)xs[i], t);
        ck_assert(isnan(unary(NNC_RT_UN_ROUND_BF16, NAN, (float)t, 0)));
        ck_assert(unary(NNC_RT_UN_ROUND_BF16, INFINITY, (float)t, 0) == INFINITY);
    }
    /* ONNX's conformance data (before opset 19) truncates: 0.48033667 is 0x3ef5eeb0 -> 0x3ef5 */
    ck_assert(unary(NNC_RT_UN_ROUND_BF16, 0.48033667f, 1, 0) == 0.478515625f);
    ck_assert(unary(NNC_RT_UN_ROUND_BF16, 0.48033667f, 0, 0) == 0.48046875f);
    nnc_rt_rng_seed(&r, 5);
    for (i = 0; i < 20000; i++) {
        uint32_t u = nnc_rt_rng_u32(&r);
        float x;
        memcpy(&x, &u, 4);
        if (!isfinite(x) || fabsf(x) < FLT_MIN)
            continue;
        ck_assert_msg(unary(NNC_RT_UN_ROUND_BF16, x, (float)(i & 1), 0) == ref_bf16(x, (int)(i & 1)),
                      "bf16(%a)", (double)x);
    }
}
END_TEST

/* ---- IDIV and MUL16 -------------------------------------------------------------- */

START_TEST(test_idiv_mul16)
{
    static const long long pairs[][2] = { { 7, 2 }, { -7, 2 }, { 7, -2 }, { -7, -2 }, { 16, 11 }, { 6, 5 },
                                          { 0, 23 }, { 3, 1 }, { -128, -1 }, { 16777215, 2 }, { 16777213, 3 },
                                          { -16777215, 16777214 }, { 5, 0 }, { -5, 0 }, { 0, 0 },
                                          { 30000, 30000 }, { -32768, -32768 }, { 65535, 65535 }, { 255, 255 } };
    nnc_rt_rng r;
    size_t i;
    for (i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        long long a = pairs[i][0], b = pairs[i][1];
        float q = binary(NNC_RT_BIN_IDIV, (float)a, (float)b);
        float m = binary(NNC_RT_BIN_MUL16, (float)a, (float)b);
        ck_assert_msg(q == (b ? (float)(a / b) : 0.0f), "%lld / %lld: %g", a, b, (double)q);
        ck_assert_msg(m == (float)ref_wrap(a * b, 16, 0), "%lld * %lld mod 2^16: %g", a, b, (double)m);
    }
    nnc_rt_rng_seed(&r, 9);
    for (i = 0; i < 20000; i++) {
        long long a = (long long)(nnc_rt_rng_u32(&r) % (1u << 25)) - (1 << 24);
        long long b = (long long)(nnc_rt_rng_u32(&r) % (i & 1 ? 512u : (1u << 25))) - (i & 1 ? 256 : 1 << 24);
        ck_assert(binary(NNC_RT_BIN_IDIV, (float)a, (float)b) == (b ? (float)(a / b) : 0.0f));
        ck_assert(binary(NNC_RT_BIN_MUL16, (float)a, (float)b) == (float)ref_wrap(a * b, 16, 0));
    }
}
END_TEST

int main(void)
{
    const TTest *integers[] = {test_wrap, test_trunc, test_idiv_mul16, NULL};
    const TTest *floats[] = {test_round_f16, test_round_bf16, NULL};
    const kernel_case cases[] = {{"integers", integers, 0, 0}, {"floats", floats, 0, 0}};
    return run_cases("dtypes", cases, (int)(sizeof cases / sizeof cases[0]));
}
