/* optim.c — weight regularisation and optimizer updates (Keras 3 rules).
 *
 * Design: parameters, gradients and optimizer state live in contiguous
 * blocks laid out by one size table, so every update here is one flat loop
 * over `size` floats with per-step scalars (bias corrections, etc.) hoisted
 * out of the loop and computed in double.  The operation order inside the
 * loops follows Keras 3's update code, so results match it to float
 * rounding.
 */
#include <math.h>

#include "nnc_rt.h"
#include "parallel.h"

/* g += l1 sign(w) + 2 l2 w ; returns l1 sum|w| + l2 sum w^2.
 * g may be NULL to get only the penalty. sign(0) = 0. */
float nnc_rt_regularize(float *g, const float *w, long size, float l1, float l2)
{
    double s1 = 0.0, s2 = 0.0;
    long i;
    for (i = 0; i < size; i++) {
        s1 += fabs((double)w[i]);
        s2 += (double)w[i] * w[i];
    }
    if (g)
        for (i = 0; i < size; i++) {
            float sgn = w[i] > 0.0f ? 1.0f : w[i] < 0.0f ? -1.0f : 0.0f;
            g[i] += l1 * sgn + 2.0f * l2 * w[i];
        }
    return (float)(l1 * s1 + l2 * s2);
}

/* momentum == 0: w -= lr g
 * else         : v = mom v - lr g; w += v        (nesterov: w += mom v - lr g) */
void nnc_rt_sgd_update(float *w, const float *g, float *vel, long size,
                       float lr, float momentum, int nesterov)
{
    long i;
    if (momentum == 0.0f || !vel) {
        for (i = 0; i < size; i++)
            w[i] -= lr * g[i];
        return;
    }
    if (nesterov)
        for (i = 0; i < size; i++) {
            float v = momentum * vel[i] - lr * g[i];
            vel[i] = v;
            w[i] += momentum * v - lr * g[i];
        }
    else
        for (i = 0; i < size; i++) {
            float v = momentum * vel[i] - lr * g[i];
            vel[i] = v;
            w[i] += v;
        }
}

/* ---- vector helpers ----------------------------------------------------------
 * rmsprop and adam need sqrt and a division per element; with errno
 * semantics (C's default) compilers will not vectorise sqrtf, so those two
 * loops are written once against this tiny vector layer, chosen by the
 * target's macros.  The scalar tail performs the same IEEE operations in
 * the same order, one per statement (so no compiler contracts them into a
 * fused multiply-add), and sqrt and division are correctly rounded in both,
 * so every element gets the same bits whichever path computes it. */
#if defined(__AVX512F__)
#include <immintrin.h>
#define VW 16
typedef __m512 vf;
#define V_LD(p) _mm512_loadu_ps(p)
#define V_ST(p, x) _mm512_storeu_ps(p, x)
#define V_SET(x) _mm512_set1_ps(x)
#define V_ADD(a, b) _mm512_add_ps(a, b)
#define V_SUB(a, b) _mm512_sub_ps(a, b)
#define V_MUL(a, b) _mm512_mul_ps(a, b)
#define V_DIV(a, b) _mm512_div_ps(a, b)
#define V_SQRT(a) _mm512_sqrt_ps(a)
#elif defined(__AVX__)
#include <immintrin.h>
#define VW 8
typedef __m256 vf;
#define V_LD(p) _mm256_loadu_ps(p)
#define V_ST(p, x) _mm256_storeu_ps(p, x)
#define V_SET(x) _mm256_set1_ps(x)
#define V_ADD(a, b) _mm256_add_ps(a, b)
#define V_SUB(a, b) _mm256_sub_ps(a, b)
#define V_MUL(a, b) _mm256_mul_ps(a, b)
#define V_DIV(a, b) _mm256_div_ps(a, b)
#define V_SQRT(a) _mm256_sqrt_ps(a)
#elif defined(__SSE2__)
#include <emmintrin.h>
#define VW 4
typedef __m128 vf;
#define V_LD(p) _mm_loadu_ps(p)
#define V_ST(p, x) _mm_storeu_ps(p, x)
#define V_SET(x) _mm_set1_ps(x)
#define V_ADD(a, b) _mm_add_ps(a, b)
#define V_SUB(a, b) _mm_sub_ps(a, b)
#define V_MUL(a, b) _mm_mul_ps(a, b)
#define V_DIV(a, b) _mm_div_ps(a, b)
#define V_SQRT(a) _mm_sqrt_ps(a)
#endif

/* ms = rho ms + (1 - rho) g^2 ; inc = lr g / sqrt(ms + eps)
 * momentum == 0: w -= inc ; else mom = momentum mom + inc ; w -= mom */
void nnc_rt_rmsprop_update(float *w, const float *g, float *ms, float *mom, long size,
                           float lr, float rho, float momentum, float eps)
{
    long i = 0;
    float one_minus_rho = 1.0f - rho;
    int use_mom = momentum != 0.0f && mom;
#ifdef VW
    vf vrho = V_SET(rho), vomr = V_SET(one_minus_rho), vlr = V_SET(lr);
    vf veps = V_SET(eps), vmom = V_SET(momentum);
    for (; i + VW <= size; i += VW) {
        vf gi = V_LD(g + i);
        vf s = V_ADD(V_MUL(vrho, V_LD(ms + i)), V_MUL(V_MUL(vomr, gi), gi));
        vf inc = V_DIV(V_MUL(vlr, gi), V_SQRT(V_ADD(s, veps)));
        V_ST(ms + i, s);
        if (use_mom) {
            inc = V_ADD(V_MUL(vmom, V_LD(mom + i)), inc);
            V_ST(mom + i, inc);
        }
        V_ST(w + i, V_SUB(V_LD(w + i), inc));
    }
#endif
    for (; i < size; i++) {
        float a = rho * ms[i];
        float b = one_minus_rho * g[i] * g[i];
        float s = a + b;
        float num = lr * g[i];
        float inc = num / sqrtf(s + eps);
        ms[i] = s;
        if (use_mom) {
            float c = momentum * mom[i];
            inc = c + inc;
            mom[i] = inc;
        }
        w[i] -= inc;
    }
}

/* adamw first: w -= lr wd w (decoupled decay, applied before the step).
 * alpha = lr sqrt(1 - b2^t) / (1 - b1^t), t = step (1-based)
 * m += (1 - b1)(g - m) ; v += (1 - b2)(g^2 - v) ; w -= alpha m / (sqrt(v) + eps) */
typedef struct adam_job {
    float *w, *m, *v;
    const float *g;
    float alpha, one_minus_b1, one_minus_b2, eps, decay;
} adam_job;

/* elements [b, e) of an Adam step (threads: parallel.h) */
static void adam_range(void *ctx, long b, long e)
{
    const adam_job *j = ctx;
    float *w = j->w + b, *m = j->m + b, *v = j->v + b;
    const float *g = j->g + b;
    const float alpha = j->alpha, one_minus_b1 = j->one_minus_b1, one_minus_b2 = j->one_minus_b2;
    const float eps = j->eps;
    long i = 0, size = e - b;
    if (j->decay != 0.0f) {
        long k;
        for (k = 0; k < size; k++)
            w[k] -= j->decay * w[k];
    }
#ifdef VW
    {
        vf vb1 = V_SET(one_minus_b1), vb2 = V_SET(one_minus_b2);
        vf valpha = V_SET(alpha), veps = V_SET(eps);
        for (; i + VW <= size; i += VW) {
            vf gi = V_LD(g + i), mi = V_LD(m + i), vi = V_LD(v + i);
            mi = V_ADD(mi, V_MUL(vb1, V_SUB(gi, mi)));
            vi = V_ADD(vi, V_MUL(vb2, V_SUB(V_MUL(gi, gi), vi)));
            V_ST(m + i, mi);
            V_ST(v + i, vi);
            V_ST(w + i, V_SUB(V_LD(w + i), V_DIV(V_MUL(valpha, mi), V_ADD(V_SQRT(vi), veps))));
        }
    }
#endif
    for (; i < size; i++) {
        float dm = one_minus_b1 * (g[i] - m[i]);
        float g2 = g[i] * g[i];
        float dv = one_minus_b2 * (g2 - v[i]);
        float mi = m[i] + dm, vi = v[i] + dv;
        float num = alpha * mi;
        float den = sqrtf(vi) + eps;
        m[i] = mi;
        v[i] = vi;
        w[i] -= num / den;
    }
}

void nnc_rt_adam_update(float *w, const float *g, float *m, float *v, long size, long step,
                        float lr, float beta1, float beta2, float eps, float weight_decay)
{
    double t = step < 1 ? 1.0 : (double)step;
    adam_job j;
    j.w = w; j.m = m; j.v = v; j.g = g;
    j.alpha = (float)(lr * sqrt(1.0 - pow(beta2, t)) / (1.0 - pow(beta1, t)));
    j.one_minus_b1 = 1.0f - beta1;
    j.one_minus_b2 = 1.0f - beta2;
    j.eps = eps;
    j.decay = lr * weight_decay;
    nnc_rt_par_for(size, 64, 4.0 * size, adam_range, &j);
}

/* ---- gradient clipping -------------------------------------------------------
 * The norm is summed in double and rounded once; a norm at or below c leaves
 * g bit for bit (Keras' g c / max(norm, c) rounds it by an ulp there). */
float nnc_rt_clip_norm(float *g, long size, float c)
{
    double s = 0.0, norm;
    long i;
    for (i = 0; i < size; i++)
        s += (double)g[i] * g[i];
    norm = sqrt(s);
    if (norm > c) {
        float scale = (float)(c / norm);
        for (i = 0; i < size; i++)
            g[i] *= scale;
    }
    return (float)norm;
}

void nnc_rt_clip_value(float *g, long size, float c)
{
    long i;
    for (i = 0; i < size; i++)
        g[i] = g[i] > c ? c : g[i] < -c ? -c : g[i];
}
