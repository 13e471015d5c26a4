/* rng.c — random numbers, shuffling and weight initialisers.
 *
 * Design: the generator is splitmix64 — a 64-bit state, integer-only
 * arithmetic, so the same seed yields the same bits on every machine and
 * compiler.  Floats are made from integer bits with exact scalings (a 24-bit
 * integer times 2^-24 is exact in float).  Normals use Box-Muller in double
 * and are rounded to float once; only log/sqrt/cos of libm are involved, and
 * their last-ulp differences in double vanish in that rounding in all but
 * astronomically rare cases.  The second Box-Muller value is discarded so the
 * state stays a single uint64_t (no hidden cache in the struct).
 */
#include <math.h>

#include "nnc_rt.h"

/* splitmix64 (Steele, Lea, Flood 2014): state += golden gamma; mix. */
static uint64_t rng_next64(nnc_rt_rng *r)
{
    uint64_t z = (r->state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

void nnc_rt_rng_seed(nnc_rt_rng *r, uint64_t seed)
{
    r->state = seed;
}

/* the high half: splitmix64's best-mixed bits */
uint32_t nnc_rt_rng_u32(nnc_rt_rng *r)
{
    return (uint32_t)(rng_next64(r) >> 32);
}

/* u = k * 2^-24, k uniform in [0, 2^24): exactly representable, in [0, 1) */
float nnc_rt_rng_uniform(nnc_rt_rng *r)
{
    return (float)(nnc_rt_rng_u32(r) >> 8) * (1.0f / 16777216.0f);
}

/* Box-Muller: z = sqrt(-2 ln u1) cos(2 pi u2), u1 in (0, 1], u2 in [0, 1),
 * both with 53 random bits. */
float nnc_rt_rng_normal(nnc_rt_rng *r)
{
    const double two_pi = 6.283185307179586476925286766559;
    double u1 = (double)((rng_next64(r) >> 11) + 1) * (1.0 / 9007199254740992.0);
    double u2 = (double)(rng_next64(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(two_pi * u2));
}

/* uniform integer in [0, range), range >= 1, without modulo bias:
 * reject the lowest (2^64 mod range) values so every residue is equally likely. */
static uint64_t rng_below(nnc_rt_rng *r, uint64_t range)
{
    uint64_t threshold = (0 - range) % range;
    for (;;) {
        uint64_t x = rng_next64(r);
        if (x >= threshold)
            return x % range;
    }
}

/* Fisher-Yates: for i = n-1..1 swap idx[i] with idx[j], j uniform in [0, i]. */
void nnc_rt_shuffle(int32_t *idx, long n, uint64_t seed)
{
    nnc_rt_rng r;
    long i;
    nnc_rt_rng_seed(&r, seed);
    for (i = 0; i < n; i++)
        idx[i] = (int32_t)i;
    for (i = n - 1; i > 0; i--) {
        long j = (long)rng_below(&r, (uint64_t)i + 1);
        int32_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

/* Keras' truncated normal: resample until |z| <= 2, then scale by stddev.
 * 0.87962566103423978 is the stddev of a unit normal truncated at +-2, so
 * dividing by it gives the truncated distribution the intended variance. */
static void init_truncated_normal(float *w, long size, double stddev, nnc_rt_rng *r)
{
    long i;
    for (i = 0; i < size; i++) {
        float z;
        do
            z = nnc_rt_rng_normal(r);
        while (z < -2.0f || z > 2.0f);
        w[i] = (float)(z * stddev);
    }
}

/* U(-limit, limit) */
static void init_uniform(float *w, long size, double limit, nnc_rt_rng *r)
{
    long i;
    for (i = 0; i < size; i++)
        w[i] = (float)((2.0 * nnc_rt_rng_uniform(r) - 1.0) * limit);
}

/* Keras' orthogonal initialiser for w (a, b): the m = min(a, b) rows
 * (a < b) or columns (a >= b) are orthonormal.  Draw them from N(0, 1) and
 * orthonormalise in place with modified Gram-Schmidt; vector v starts at
 * w + v*vs and its elements are es apart. */
static void init_orthogonal(float *w, int a, int b, nnc_rt_rng *r)
{
    int rows = a < b, m = rows ? a : b, len = rows ? b : a;
    long vs = rows ? b : 1, es = rows ? 1 : b, i;
    int u, v;
    for (i = 0; i < (long)a * b; i++)
        w[i] = nnc_rt_rng_normal(r);
    for (v = 0; v < m; v++) {
        float *x = w + v * vs;
        double norm = 0;
        for (u = 0; u < v; u++) {
            const float *q = w + u * vs;
            double dot = 0;
            for (i = 0; i < len; i++)
                dot += (double)q[i * es] * x[i * es];
            for (i = 0; i < len; i++)
                x[i * es] -= (float)(dot * q[i * es]);
        }
        for (i = 0; i < len; i++)
            norm += (double)x[i * es] * x[i * es];
        norm = norm > 0 ? 1.0 / sqrt(norm) : 0.0;
        for (i = 0; i < len; i++)
            x[i * es] = (float)(x[i * es] * norm);
    }
}

/* Keras variance scaling:
 *   glorot_uniform  limit  = sqrt(6 / (fan_in + fan_out))
 *   glorot_normal   stddev = sqrt(2 / (fan_in + fan_out)) / .8796...
 *   he_uniform      limit  = sqrt(6 / fan_in)
 *   he_normal       stddev = sqrt(2 / fan_in) / .8796...
 * A fan below 1 is taken as 1 (Keras: max(1, fan)). An unknown kind zeroes w. */
void nnc_rt_init(int kind, float *w, long size, int fan_in, int fan_out, nnc_rt_rng *r)
{
    const double trunc_std = .87962566103423978;
    double fi = fan_in < 1 ? 1.0 : (double)fan_in;
    double fo = fan_out < 1 ? 1.0 : (double)fan_out;
    long i;

    switch (kind) {
    case NNC_RT_INIT_ONES:
        for (i = 0; i < size; i++)
            w[i] = 1.0f;
        break;
    case NNC_RT_INIT_GLOROT_UNIFORM:
        init_uniform(w, size, sqrt(6.0 / (fi + fo)), r);
        break;
    case NNC_RT_INIT_GLOROT_NORMAL:
        init_truncated_normal(w, size, sqrt(2.0 / (fi + fo)) / trunc_std, r);
        break;
    case NNC_RT_INIT_HE_UNIFORM:
        init_uniform(w, size, sqrt(6.0 / fi), r);
        break;
    case NNC_RT_INIT_HE_NORMAL:
        init_truncated_normal(w, size, sqrt(2.0 / fi) / trunc_std, r);
        break;
    case NNC_RT_INIT_ORTHOGONAL:
        if ((long)fan_in * fan_out == size) {
            init_orthogonal(w, fan_in, fan_out, r);
            break;
        }
        init_uniform(w, size, sqrt(6.0 / (fi + fo)), r);  /* not a matrix: glorot */
        break;
    case NNC_RT_INIT_UNIFORM:
        init_uniform(w, size, 0.05, r);
        break;
    case NNC_RT_INIT_UNIT_FORGET:
        for (i = 0; i < size; i++)
            w[i] = i >= fan_in && i < 2L * fan_in ? 1.0f : 0.0f;
        break;
    case NNC_RT_INIT_ZEROS:
    default:
        for (i = 0; i < size; i++)
            w[i] = 0.0f;
        break;
    }
}
