/* metrics.c — accuracy, precision/recall/f1, mae/mse over an evaluation run.
 *
 * Design: metrics are accumulated as exact integer counts (and double error
 * sums) batch by batch, and turned into ratios only once at the end, so the
 * result does not depend on how the data was cut into batches.
 *
 * counts layout: class c has tp = counts[3c], fp = counts[3c+1],
 * fn = counts[3c+2]; counts[3k] (k = number of classes, 1 when m == 1) is
 * the number of correct samples.
 *
 * Decisions (Keras-compatible where Keras defines one):
 *  - binary (m == 1): predicted positive iff pred > 0.5 (Keras'
 *    binary_accuracy threshold test); a float target is positive iff > 0.5,
 *    a sparse target iff != 0.  precision/recall/f1 are for the positive
 *    class.
 *  - multi-class: class = first index of the maximum (argmax) for the
 *    prediction and for a one-hot/probability target.
 *  - macro averages run over the classes that occur in the targets or the
 *    predictions (tp + fp + fn > 0), as scikit-learn does; a ratio with a
 *    zero denominator counts as 0.
 */
#include "nnc_rt.h"

static int argmax(const float *x, int m)
{
    int j, best = 0;
    for (j = 1; j < m; j++)
        if (x[j] > x[best])
            best = j;
    return best;
}

/* pred is (n, m); target is int32_t (n) when sparse, else float (n, m) */
void nnc_rt_metrics_accumulate(long *counts, double *err, const float *pred,
                               const void *target, int sparse, int n, int m)
{
    const float *tf = (const float *)target;
    const int32_t *ti = (const int32_t *)target;
    int classes = m > 1 ? m : 1;
    long r;
    int j;
    for (r = 0; r < n; r++) {
        const float *p = pred + r * m;
        int pc, tc;
        /* errors against the dense (one-hot) view of the target */
        for (j = 0; j < m; j++) {
            double t = sparse ? (m == 1 ? (double)ti[r] : (ti[r] == j ? 1.0 : 0.0))
                              : (double)tf[r * m + j];
            double d = (double)p[j] - t;
            err[0] += d < 0 ? -d : d;
            err[1] += d * d;
        }
        if (m == 1) {
            pc = p[0] > 0.5f;
            tc = sparse ? ti[r] != 0 : tf[r] > 0.5f;
            counts[0] += pc && tc;
            counts[1] += pc && !tc;
            counts[2] += !pc && tc;
        } else {
            pc = argmax(p, m);
            tc = sparse ? ti[r] : argmax(tf + r * m, m);
            if (pc == tc) {
                counts[3 * pc] += 1;
            } else {
                counts[3 * pc + 1] += 1;
                if (tc >= 0 && tc < m) /* an out-of-range label is just wrong */
                    counts[3 * tc + 2] += 1;
            }
        }
        counts[3 * classes] += pc == tc;
    }
}

static double ratio(long num, long den) { return den > 0 ? (double)num / (double)den : 0.0; }

void nnc_rt_metrics_finish(nnc_rt_metrics *out, const long *counts, const double *err,
                           long samples, int m)
{
    int classes = m > 1 ? m : 1, c, present = 0;
    double p = 0.0, r = 0.0, f = 0.0, elems = (double)samples * (m > 0 ? m : 1);
    for (c = 0; c < classes; c++) {
        long tp = counts[3 * c], fp = counts[3 * c + 1], fn = counts[3 * c + 2];
        double pc = ratio(tp, tp + fp), rc = ratio(tp, tp + fn);
        if (m > 1 && tp + fp + fn == 0)
            continue;
        present++;
        p += pc;
        r += rc;
        f += pc + rc > 0.0 ? 2.0 * pc * rc / (pc + rc) : 0.0;
    }
    if (present > 0) {
        p /= present;
        r /= present;
        f /= present;
    }
    out->loss = 0.0f; /* not known here: the caller stores the mean loss */
    out->accuracy = (float)ratio(counts[3 * classes], samples);
    out->precision = (float)p;
    out->recall = (float)r;
    out->f1 = (float)f;
    out->mae = samples > 0 ? (float)(err[0] / elems) : 0.0f;
    out->mse = samples > 0 ? (float)(err[1] / elems) : 0.0f;
}
