/* norm.c — batch normalisation over the last axis, and dropout: the two
 * layers whose training behaviour differs from their inference behaviour.
 *
 * Batch norm, x is (rows, c), statistics per channel j over the rows:
 *   mean_j = (1/R) sum_r x[r,j]        var_j = (1/R) sum_r (x[r,j] - mean_j)^2
 *   invstd_j = 1/sqrt(var_j + eps)     xhat = (x - mean) invstd
 *   y = gamma xhat + beta
 *   moving = momentum*moving + (1-momentum)*batch statistic   (Keras)
 * and its exact gradient (g = gamma, sums over the R rows of channel j):
 *   dbeta = sum dy      dgamma = sum dy xhat
 *   dx = g invstd/R (R dy - sum dy - xhat sum dy xhat)
 * Inference uses the moving statistics in place of the batch ones.
 *
 * Design: the statistics are accumulated in double, channels in blocks of
 * CBLOCK on the stack, with the mean subtracted before squaring (two
 * passes): a batch of 32 28x28 images is 25k rows per channel, where a float
 * running sum, or E[x^2] - E[x]^2, would lose digits that the moving
 * statistics then carry for the rest of training.  Every pass reads rows of
 * contiguous channels, so the loops vectorise.  y may equal x and dx may
 * equal dy: each output element is written after everything it depends on
 * has been read.  gamma and beta may be NULL (Keras scale=False /
 * center=False: 1 and 0), as may moving_mean/moving_var (no update) and
 * dgamma/dbeta (not wanted).
 *
 * Dropout: mask = 0 with probability rate, else 1/(1-rate) (inverted
 * dropout: the expectation of y is x, so inference is the identity); one
 * nnc_rt_rng_uniform draw per element, u < rate drops, as Keras' kept =
 * uniform >= rate.  rate <= 0 draws nothing and keeps everything; rate >= 1
 * drops everything.
 */
/* Layer norm (Keras LayerNormalization over the last axis), x is (rows, c),
 * statistics per row over its c values, the same formulas with the sums
 * along the row:
 *   dbeta_j = sum_r dy      dgamma_j = sum_r dy xhat
 *   dx = invstd (g - mean_j g - xhat mean_j (g xhat)),  g = dy gamma
 * A row is short and in cache: the statistics are two passes in float (the
 * mean subtracted before squaring), no double, which a Cortex-M4F would
 * emulate.
 */
#include <math.h>
#include <string.h>

#include "nnc_rt.h"

#define CBLOCK 64

/* x is (rows, c); y is (rows, c); mean, invstd, gamma, beta, moving_* are (c) */
void nnc_rt_batchnorm_forward_train(float *y, float *mean, float *invstd, const float *x,
                                    const float *gamma, const float *beta,
                                    float *moving_mean, float *moving_var,
                                    long rows, int c, float momentum, float eps)
{
    long r;
    int c0, j;
    for (c0 = 0; c0 < c; c0 += CBLOCK) {
        int nc = c - c0 < CBLOCK ? c - c0 : CBLOCK;
        double sum[CBLOCK] = {0}, sq[CBLOCK] = {0}, mu[CBLOCK];
        float scale[CBLOCK], m[CBLOCK];
        for (r = 0; r < rows; r++) {
            const float *xr = x + r * c + c0;
            for (j = 0; j < nc; j++)
                sum[j] += xr[j];
        }
        for (j = 0; j < nc; j++)
            mu[j] = rows > 0 ? sum[j] / (double)rows : 0.0;
        for (r = 0; r < rows; r++) {
            const float *xr = x + r * c + c0;
            for (j = 0; j < nc; j++) {
                double d = xr[j] - mu[j];
                sq[j] += d * d;
            }
        }
        for (j = 0; j < nc; j++) {
            double var = rows > 0 ? sq[j] / (double)rows : 0.0;
            m[j] = (float)mu[j];
            mean[c0 + j] = m[j];
            invstd[c0 + j] = (float)(1.0 / sqrt(var + (double)eps));
            scale[j] = invstd[c0 + j] * (gamma ? gamma[c0 + j] : 1.0f);
            /* a batch whose statistics are not finite (a NaN or inf in
             * the data) leaves the moving ones as they were: the training
             * step refuses that batch, and the model must stay usable */
            if (!(m[j] - m[j] == 0.0f) || !(var - var == 0.0))
                continue;
            if (moving_mean)
                moving_mean[c0 + j] = momentum * moving_mean[c0 + j] + (1.0f - momentum) * m[j];
            if (moving_var)
                moving_var[c0 + j] = momentum * moving_var[c0 + j] + (1.0f - momentum) * (float)var;
        }
        for (r = 0; r < rows; r++) {
            const float *xr = x + r * c + c0;
            float *yr = y + r * c + c0;
            for (j = 0; j < nc; j++)
                yr[j] = (xr[j] - m[j]) * scale[j] + (beta ? beta[c0 + j] : 0.0f);
        }
    }
}

void nnc_rt_batchnorm_forward_infer(float *y, const float *x, const float *gamma,
                                    const float *beta, const float *moving_mean,
                                    const float *moving_var, long rows, int c, float eps)
{
    long r;
    int c0, j;
    for (c0 = 0; c0 < c; c0 += CBLOCK) {
        int nc = c - c0 < CBLOCK ? c - c0 : CBLOCK;
        float scale[CBLOCK], shift[CBLOCK];
        for (j = 0; j < nc; j++) {
            scale[j] = (float)(1.0 / sqrt((double)moving_var[c0 + j] + (double)eps)) *
                       (gamma ? gamma[c0 + j] : 1.0f);
            shift[j] = beta ? beta[c0 + j] : 0.0f;
        }
        for (r = 0; r < rows; r++) {
            const float *xr = x + r * c + c0;
            float *yr = y + r * c + c0;
            for (j = 0; j < nc; j++)
                yr[j] = (xr[j] - moving_mean[c0 + j]) * scale[j] + shift[j];
        }
    }
}

/* dy, x, dx are (rows, c); mean, invstd, gamma, dgamma, dbeta are (c) */
void nnc_rt_batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                               const float *x, const float *mean, const float *invstd,
                               const float *gamma, long rows, int c)
{
    long r;
    int c0, j;
    for (c0 = 0; c0 < c; c0 += CBLOCK) {
        int nc = c - c0 < CBLOCK ? c - c0 : CBLOCK;
        double sdy[CBLOCK] = {0}, sdyx[CBLOCK] = {0};
        float k[CBLOCK], a[CBLOCK], b[CBLOCK];
        for (r = 0; r < rows; r++) {
            const float *xr = x + r * c + c0, *dyr = dy + r * c + c0;
            for (j = 0; j < nc; j++) {
                float xhat = (xr[j] - mean[c0 + j]) * invstd[c0 + j];
                sdy[j] += dyr[j];
                sdyx[j] += (double)dyr[j] * xhat;
            }
        }
        for (j = 0; j < nc; j++) {
            if (dbeta)
                dbeta[c0 + j] = (float)sdy[j];
            if (dgamma)
                dgamma[c0 + j] = (float)sdyx[j];
            /* dx = k (dy - a - xhat b) with k = g invstd, a = mean dy, b = mean dy xhat */
            k[j] = (gamma ? gamma[c0 + j] : 1.0f) * invstd[c0 + j];
            a[j] = rows > 0 ? (float)(sdy[j] / (double)rows) : 0.0f;
            b[j] = rows > 0 ? (float)(sdyx[j] / (double)rows) : 0.0f;
        }
        if (!dx)
            continue;
        for (r = 0; r < rows; r++) {
            const float *xr = x + r * c + c0, *dyr = dy + r * c + c0;
            float *dxr = dx + r * c + c0;
            for (j = 0; j < nc; j++) {
                float xhat = (xr[j] - mean[c0 + j]) * invstd[c0 + j];
                dxr[j] = k[j] * (dyr[j] - a[j] - xhat * b[j]);
            }
        }
    }
}

/* y, mask, x are (size) */
void nnc_rt_dropout_forward(float *y, float *mask, const float *x, long size, float rate,
                            nnc_rt_rng *r)
{
    long i;
    if (rate <= 0.0f || rate >= 1.0f) {
        float keep = rate <= 0.0f ? 1.0f : 0.0f;
        for (i = 0; i < size; i++) {
            mask[i] = keep;
            y[i] = x[i] * keep;
        }
        return;
    }
    {
        float scale = 1.0f / (1.0f - rate);
        for (i = 0; i < size; i++) {
            float m = nnc_rt_rng_uniform(r) < rate ? 0.0f : scale;
            mask[i] = m;
            y[i] = x[i] * m;
        }
    }
}

/* Keras' SpatialDropout1D/2D: x is (n, inner, c); one draw per sample and
 * channel, that channel kept (scaled) or dropped at every step or pixel */
void nnc_rt_spatial_dropout_forward(float *y, float *mask, const float *x, long n, long inner, int c, float rate,
                                    nnc_rt_rng *r)
{
    const float scale = rate > 0.0f ? 1.0f / (1.0f - rate) : 1.0f;
    long s, i;
    int j;
    for (s = 0; s < n; s++) {
        float *ms = mask + s * inner * c;
        for (j = 0; j < c; j++)
            ms[j] = rate > 0.0f && nnc_rt_rng_uniform(r) < rate ? 0.0f : scale;
        for (i = 1; i < inner; i++)
            for (j = 0; j < c; j++)
                ms[i * c + j] = ms[j];
    }
    for (i = 0; i < n * inner * c; i++)
        y[i] = x[i] * mask[i];
}

/* Keras' GaussianDropout: multiplicative noise N(1, rate / (1 - rate)) */
void nnc_rt_gaussian_dropout_forward(float *y, float *mask, const float *x, long size, float rate, nnc_rt_rng *r)
{
    const float sd = rate > 0.0f ? sqrtf(rate / (1.0f - rate)) : 0.0f;
    long i;
    for (i = 0; i < size; i++) {
        mask[i] = 1.0f + sd * nnc_rt_rng_normal(r);
        y[i] = x[i] * mask[i];
    }
}

/* Keras' GaussianNoise: additive noise N(0, stddev^2) */
void nnc_rt_gaussian_noise_forward(float *y, const float *x, long size, float stddev, nnc_rt_rng *r)
{
    long i;
    for (i = 0; i < size; i++)
        y[i] = x[i] + stddev * nnc_rt_rng_normal(r);
}

/* ---- layer norm ------------------------------------------------------------------ */

void nnc_rt_layernorm_forward(float *y, float *mean, float *invstd, const float *x, const float *gamma,
                              const float *beta, long rows, int c, float eps)
{
    long r;
    int j;
    for (r = 0; r < rows; r++) {
        const float *xr = x + r * c;
        float *yr = y + r * c;
        float mu = 0.0f, var = 0.0f, is;
        for (j = 0; j < c; j++)
            mu += xr[j];
        mu = c > 0 ? mu / (float)c : 0.0f;
        for (j = 0; j < c; j++)
            var += (xr[j] - mu) * (xr[j] - mu);
        var = c > 0 ? var / (float)c : 0.0f;
        is = 1.0f / sqrtf(var + eps);
        if (mean)
            mean[r] = mu;
        if (invstd)
            invstd[r] = is;
        for (j = 0; j < c; j++) {
            float v = (xr[j] - mu) * is;
            if (gamma)
                v *= gamma[j];
            yr[j] = beta ? v + beta[j] : v;
        }
    }
}

void nnc_rt_layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                               const float *mean, const float *invstd, const float *gamma, long rows, int c)
{
    long r;
    int j;
    if (dgamma)
        memset(dgamma, 0, (size_t)c * sizeof *dgamma);
    if (dbeta)
        memset(dbeta, 0, (size_t)c * sizeof *dbeta);
    for (r = 0; r < rows; r++) {
        const float *xr = x + r * c, *dyr = dy + r * c;
        const float mu = mean[r], is = invstd[r];
        float sg = 0.0f, sgx = 0.0f;
        for (j = 0; j < c; j++) {
            const float xh = (xr[j] - mu) * is, g = gamma ? dyr[j] * gamma[j] : dyr[j];
            sg += g;
            sgx += g * xh;
            if (dgamma)
                dgamma[j] += dyr[j] * xh;
            if (dbeta)
                dbeta[j] += dyr[j];
        }
        if (!dx)
            continue;
        sg /= (float)c;
        sgx /= (float)c;
        for (j = 0; j < c; j++) {
            const float xh = (xr[j] - mu) * is, g = gamma ? dyr[j] * gamma[j] : dyr[j];
            dx[r * c + j] = is * (g - sg - xh * sgx);
        }
    }
}
