/* loss.c — loss values and their exact gradients (Keras 3 semantics).
 *
 * Design: each kind is written once as a per-row function returning the
 * row's loss and (optionally) writing its gradient, so forward and backward
 * can never drift apart; sums run in double and are rounded to float once.
 * The gradient is the exact derivative of the forward as Keras/TensorFlow
 * would compute it by autodiff, including its choices at the edges:
 *
 *  - clipping: p is clipped to [eps, 1-eps] with eps = 1e-7 as
 *    tf.clip_by_value / torch.clamp do; their gradient passes where
 *    eps <= p <= 1-eps (boundary included) and is zero outside.
 *  - CCE on probabilities first renormalises each row, q = p / sum(p), then
 *    clips q (Keras 3's categorical_crossentropy on every backend), so the
 *    gradient carries the normalisation term.  Sparse CCE does the same
 *    (the JAX/torch/NumPy backends; TF clips p before normalising — the two
 *    agree whenever nothing is clipped).
 *  - MAE uses sign(p - t) with sign(0) = 0, as d|x|/dx does in TF.
 *  - CCE_LOGITS is sum_i t_i (lse(z) - z_i), so for targets not summing to
 *    1 its gradient is softmax(z) * sum(t) - t (= softmax(z) - t for
 *    one-hot or smoothed labels).
 *  - a sparse label outside [0, m) counts as an all-zero target row: zero
 *    loss and zero gradient, and no out-of-bounds read (the runtime has no
 *    way to report the error; the caller validates labels).
 *  - NaN inputs propagate to the loss and the gradient, so a diverging
 *    model is visible to the caller.
 *
 * Reductions: mse/mae/bce average over the m outputs, cce sums over
 * classes; then everything averages over the n samples.  With class_weight
 * each row's loss is first multiplied by its class's weight, and the mean
 * over the samples still divides by n (Keras' sum_over_batch_size), not by
 * the sum of the weights (PyTorch's weighted mean).
 */
#include <math.h>
#include <string.h>

#include "nnc_rt.h"

#define EPS 1e-7

/* clip bounds as float32 values, as Keras stores them */
static const float clip_lo = (float)EPS, clip_hi = (float)(1.0 - EPS);

static int clip_passes(float p) { return !(p < clip_lo || p > clip_hi); }
static double clip(double p)
{
    return p < clip_lo ? clip_lo : p > clip_hi ? clip_hi : p;
}

/* log(sum_j e^z_j), stable: max + log(sum e^(z - max)) */
static double logsumexp(const float *z, int m)
{
    double mx = z[0], s = 0.0;
    int j;
    for (j = 1; j < m; j++)
        mx = z[j] > mx ? z[j] : mx;
    for (j = 0; j < m; j++)
        s += exp((double)z[j] - mx);
    return mx + log(s);
}

/* One row.  p is (m), t is (m) floats or a label; returns the row's loss
 * before the reduction; when g is non-NULL writes scale * d(row loss)/dp. */
static double row_loss(int kind, const float *p, const float *t, int32_t label,
                       int m, float *g, double scale)
{
    double l = 0.0;
    int j;
    switch (kind) {
    case NNC_RT_LOSS_MSE: /* (p - t)^2 ; d = 2 (p - t) */
        for (j = 0; j < m; j++) {
            double d = (double)p[j] - t[j];
            l += d * d;
            if (g)
                g[j] = (float)(scale * 2.0 * d);
        }
        break;
    case NNC_RT_LOSS_MAE: /* |p - t| ; d = sign(p - t) */
        for (j = 0; j < m; j++) {
            double d = (double)p[j] - t[j];
            l += fabs(d);
            if (g)
                g[j] = (float)(scale * (d > 0 ? 1.0 : d < 0 ? -1.0 : d));
        }
        break;
    case NNC_RT_LOSS_BCE: /* -(t log c + (1-t) log(1-c)), c = clip(p) ;
                             d = -t/p + (1-t)/(1-p) inside the clip range */
        for (j = 0; j < m; j++) {
            double c = clip(p[j]), tj = t[j];
            l -= tj * log(c) + (1.0 - tj) * log(1.0 - c);
            if (g)
                g[j] = clip_passes(p[j])
                     ? (float)(scale * (-tj / c + (1.0 - tj) / (1.0 - c))) : 0.0f;
        }
        break;
    case NNC_RT_LOSS_BCE_LOGITS: /* max(z,0) - z t + log1p(e^-|z|) ; d = sigmoid(z) - t */
        for (j = 0; j < m; j++) {
            double z = p[j], tj = t[j];
            l += (z > 0 ? z : 0.0) - z * tj + log1p(exp(-fabs(z)));
            if (g) {
                double s = z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
                g[j] = (float)(scale * (s - tj));
            }
        }
        break;
    case NNC_RT_LOSS_CCE:
    case NNC_RT_LOSS_SPARSE_CCE: {
        /* q = p / S, S = sum p; loss = -sum_i t_i log clip(q_i).
         * With a_i = -t_i / q_i where q_i is inside the clip range (else 0):
         * d/dp_j = (a_j - sum_i a_i q_i) / S. */
        double S = 0.0, aq = 0.0;
        int sparse = kind == NNC_RT_LOSS_SPARSE_CCE;
        for (j = 0; j < m; j++)
            S += p[j];
        for (j = 0; j < m; j++) {
            double tj = sparse ? (j == label ? 1.0 : 0.0) : t[j], q;
            if (tj == 0.0)
                continue;
            q = p[j] / S;
            l -= tj * log(clip(q));
            if (clip_passes((float)q))
                aq -= tj; /* a_j q_j = -t_j */
        }
        if (g)
            for (j = 0; j < m; j++) {
                double tj = sparse ? (j == label ? 1.0 : 0.0) : t[j];
                double q = p[j] / S;
                double a = tj != 0.0 && clip_passes((float)q) ? -tj / q : 0.0;
                g[j] = (float)(scale * (a - aq) / S);
            }
        break;
    }
    case NNC_RT_LOSS_CCE_LOGITS:
    case NNC_RT_LOSS_SPARSE_CCE_LOGITS: {
        /* loss = sum_i t_i (lse(z) - z_i) ; d/dz_j = softmax(z)_j sum(t) - t_j */
        int sparse = kind == NNC_RT_LOSS_SPARSE_CCE_LOGITS;
        double lse = logsumexp(p, m), tsum = 0.0;
        for (j = 0; j < m; j++) {
            double tj = sparse ? (j == label ? 1.0 : 0.0) : t[j];
            l += tj * (lse - p[j]);
            tsum += tj;
        }
        if (g)
            for (j = 0; j < m; j++) {
                double tj = sparse ? (j == label ? 1.0 : 0.0) : t[j];
                g[j] = (float)(scale * (exp((double)p[j] - lse) * tsum - tj));
            }
        break;
    }
    default:
        if (g)
            for (j = 0; j < m; j++)
                g[j] = 0.0f;
        break;
    }
    return l;
}

static int is_sparse(int kind)
{
    return kind == NNC_RT_LOSS_SPARSE_CCE || kind == NNC_RT_LOSS_SPARSE_CCE_LOGITS;
}

/* mse/mae/bce: mean over all n*m elements; cce: sum over classes, mean over n */
static double reduction(int kind, int n, int m)
{
    int per_element = kind == NNC_RT_LOSS_MSE || kind == NNC_RT_LOSS_MAE
                   || kind == NNC_RT_LOSS_BCE || kind == NNC_RT_LOSS_BCE_LOGITS;
    return per_element ? 1.0 / ((double)n * m) : 1.0 / n;
}

/* x rounded to an integer, half to even (numpy's round, which Keras'
 * class_weight applies to a binary label); -1 for NaN or out of int range */
static long round_even(double x)
{
    double r = floor(x), d = x - r;
    if (!(x >= -1e9 && x <= 1e9))
        return -1;
    if (d > 0.5 || (d == 0.5 && fmod(r, 2.0) != 0.0))
        r += 1.0;
    return (long)r;
}

/* the weight of row r under class_weight w (classes entries): its class as
 * Keras finds it (the label; the target row's first maximum; a single
 * target rounded); a class without an entry weighs 1 */
static double row_weight(int kind, const void *target, long r, int m, const float *w, int classes)
{
    long c;
    if (is_sparse(kind)) {
        c = ((const int32_t *)target)[r];
    } else if (m == 1) {
        c = round_even(((const float *)target)[r]);
    } else {
        const float *t = (const float *)target + r * m;
        int j;
        c = 0;
        for (j = 1; j < m; j++)
            if (t[j] > t[c])
                c = j;
    }
    return c >= 0 && c < classes ? (double)w[c] : 1.0;
}

/* pred is (n, m); target is int32_t (n) for the sparse kinds, float (n, m)
 * otherwise; w: class weights (classes entries) or NULL */
static double loss_rows(int kind, float *dpred, const float *pred, const void *target,
                        int n, int m, const float *w, int classes, double weight)
{
    double total = 0.0, scale;
    long r;
    if (n <= 0 || m <= 0)
        return 0.0;
    scale = reduction(kind, n, m) * weight;
    for (r = 0; r < n; r++) {
        const float *t = is_sparse(kind) ? NULL : (const float *)target + r * m;
        int32_t label = is_sparse(kind) ? ((const int32_t *)target)[r] : -1;
        double wr = w ? row_weight(kind, target, r, m, w, classes) : 1.0;
        total += wr * row_loss(kind, pred + r * m, t, label, m, dpred ? dpred + r * m : NULL, scale * wr);
    }
    return total * (scale / weight);
}

float nnc_rt_loss_forward(int kind, const float *pred, const void *target, int n, int m)
{
    return (float)loss_rows(kind, NULL, pred, target, n, m, NULL, 0, 1.0);
}

void nnc_rt_loss_backward(int kind, float *dpred, const float *pred, const void *target,
                          int n, int m)
{
    loss_rows(kind, dpred, pred, target, n, m, NULL, 0, 1.0);
}

float nnc_rt_loss_forward_weighted(int kind, const float *pred, const void *target, int n, int m,
                                   const float *class_weight, int classes)
{
    return (float)loss_rows(kind, NULL, pred, target, n, m, class_weight, classes, 1.0);
}

void nnc_rt_loss_backward_weighted(int kind, float *dpred, const float *pred, const void *target,
                                   int n, int m, const float *class_weight, int classes)
{
    loss_rows(kind, dpred, pred, target, n, m, class_weight, classes, 1.0);
}

void nnc_rt_loss_backward_scaled(int kind, float *dpred, const float *pred, const void *target,
                                 int n, int m, float weight)
{
    if (weight == 0.0f) {   /* a head that does not train: no gradient, not 0 * inf */
        long i;
        for (i = 0; i < (long)n * m; i++)
            dpred[i] = 0.0f;
        return;
    }
    loss_rows(kind, dpred, pred, target, n, m, NULL, 0, weight);
}

/* Labels of several outputs travel packed in the caller's rows, [y1 | y2 |
 * ...]; each loss reads its own columns, unpacked.  A float class index
 * (the labels of a model whose outputs mix sparse and dense labels are all
 * floats) must be an integer: anything else (2.5, NaN, beyond int32) becomes
 * -1, which the sparse losses read as an invalid label (no loss, no
 * gradient), like an index outside [0, classes). */
void nnc_rt_labels_unpack(void *dst, const void *y, long rows, long width, long offset, long total,
                          int to_int)
{
    long r, j;
    if (!to_int) {
        for (r = 0; r < rows; r++)
            memcpy((char *)dst + (size_t)(r * width) * 4, (const char *)y + (size_t)(r * total + offset) * 4,
                   (size_t)width * 4);
        return;
    }
    for (r = 0; r < rows; r++)
        for (j = 0; j < width; j++) {
            double v = ((const float *)y)[r * total + offset + j];
            ((int32_t *)dst)[r * width + j] = v >= -2147483648.0 && v <= 2147483647.0 && v == floor(v)
                                            ? (int32_t)v : -1;
        }
}
