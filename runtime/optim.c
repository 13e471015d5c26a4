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

/* ms = rho ms + (1 - rho) g^2 ; inc = lr g / sqrt(ms + eps)
 * momentum == 0: w -= inc ; else mom = momentum mom + inc ; w -= mom */
void nnc_rt_rmsprop_update(float *w, const float *g, float *ms, float *mom, long size,
                           float lr, float rho, float momentum, float eps)
{
    long i;
    float one_minus_rho = 1.0f - rho;
    for (i = 0; i < size; i++) {
        float s = rho * ms[i] + one_minus_rho * g[i] * g[i];
        float inc = lr * g[i] / sqrtf(s + eps);
        ms[i] = s;
        if (momentum != 0.0f && mom) {
            float m = momentum * mom[i] + inc;
            mom[i] = m;
            w[i] -= m;
        } else {
            w[i] -= inc;
        }
    }
}

/* adamw first: w -= lr wd w (decoupled decay, applied before the step).
 * alpha = lr sqrt(1 - b2^t) / (1 - b1^t), t = step (1-based)
 * m += (1 - b1)(g - m) ; v += (1 - b2)(g^2 - v) ; w -= alpha m / (sqrt(v) + eps) */
void nnc_rt_adam_update(float *w, const float *g, float *m, float *v, long size, long step,
                        float lr, float beta1, float beta2, float eps, float weight_decay)
{
    long i;
    double t = step < 1 ? 1.0 : (double)step;
    float alpha = (float)(lr * sqrt(1.0 - pow(beta2, t)) / (1.0 - pow(beta1, t)));
    float one_minus_b1 = 1.0f - beta1, one_minus_b2 = 1.0f - beta2;
    if (weight_decay != 0.0f) {
        float decay = lr * weight_decay;
        for (i = 0; i < size; i++)
            w[i] -= decay * w[i];
    }
    for (i = 0; i < size; i++) {
        float mi = m[i] + one_minus_b1 * (g[i] - m[i]);
        float vi = v[i] + one_minus_b2 * (g[i] * g[i] - v[i]);
        m[i] = mi;
        v[i] = vi;
        w[i] -= alpha * mi / (sqrtf(vi) + eps);
    }
}
