/* ad_autoencoder driver: trains the generated autoencoder of MLPerf Tiny's
 * anomaly detection benchmark to reproduce 640-value windows cut from
 * Fashion-MNIST images (examples/common/standin.h says how), the way the
 * benchmark trains on normal machine sounds only: bags (class 8) are left
 * out of the training set and play the anomalies.  Reports the
 * reconstruction mse of the test set's normal windows and, as the benchmark
 * scores, the AUC of the per-window reconstruction error separating the
 * test set's bags from its normal windows.  Usage: ad_autoencoder
 * [--epochs N] [--seed S] [--limit N] [--test-limit N] [--save FILE].
 * stdout is one line per epoch, then the result as the last line
 * ("test mse: 0.0123 (...)"). */
#include <stdio.h>
#include <stdlib.h>

#include "data.h"
#include "driver.h"
#include "standin.h"
#include "ad_autoencoder.h"

#if AD_AUTOENCODER_SPARSE_LABELS || AD_AUTOENCODER_INPUT_SIZE != 640 || AD_AUTOENCODER_OUTPUT_SIZE != 640 || \
    AD_AUTOENCODER_LABEL_SIZE != 640
#error "ad_autoencoder.nn must map 640 floats to 640 and train on them as labels"
#endif

enum { ANOMALY = STANDIN_AD_ANOMALY, W = 640 };

static ad_autoencoder_t model NNC_RT_ALIGN64;
DRIVER_MODEL(ad_autoencoder, AD_AUTOENCODER, model);

static float *anomalies;    /* the test set's bags as windows */
static long nanomalies;

/* the windows of ds's samples whose class is (keep) or is not (!keep) the
 * anomaly, in x; returns their count */
static long windows(const data_set *ds, int keep, float *x)
{
    long i, n = 0;
    for (i = 0; i < ds->n; i++)
        if ((ds->y[i] == ANOMALY) == keep)
            standin_sample(STANDIN_AD, ds->x + i * STANDIN_SIDE * STANDIN_SIDE, ds->y[i], i, x + n++ * W);
    return n;
}

static int load(const data_args *a, driver_data *d)
{
    float *xtrain, *xtest;
    if (driver_load_fashion(a, d))
        return 1;
    xtrain = driver_alloc(d, (size_t)d->train.n + 1, W * sizeof(float), "training windows");
    xtest = driver_alloc(d, (size_t)d->test.n + 1, W * sizeof(float), "test windows");
    anomalies = driver_alloc(d, (size_t)d->test.n + 1, W * sizeof(float), "anomalous windows");
    if (xtrain == NULL || xtest == NULL || anomalies == NULL)
        return 1;
    d->ntrain = windows(&d->train, 0, xtrain);
    d->ntest = windows(&d->test, 0, xtest);
    nanomalies = windows(&d->test, 1, anomalies);
    d->xtrain = d->ytrain = xtrain;     /* an autoencoder: the input is the target */
    d->xtest = d->ytest = xtest;
    return 0;
}

/* the mean squared reconstruction error of each of n windows */
static int errors(const float *x, long n, double *err)
{
    float *y = malloc((size_t)(n ? n : 1) * W * sizeof *y);
    long i, j;
    if (y == NULL) {
        fprintf(stderr, "out of memory (reconstructions)\n");
        return 1;
    }
    ad_autoencoder_predict(&model, x, y, n);
    for (i = 0; i < n; i++) {
        double s = 0;
        for (j = 0; j < W; j++)
            s += (double)(y[i * W + j] - x[i * W + j]) * (y[i * W + j] - x[i * W + j]);
        err[i] = s / W;
    }
    free(y);
    return 0;
}

/* the probability that an anomaly's error exceeds a normal window's (ties
 * count half): the area under the ROC curve */
static double auc(const double *normal, long nn, const double *odd, long no)
{
    double wins = 0;
    long i, j;
    for (i = 0; i < no; i++)
        for (j = 0; j < nn; j++)
            wins += odd[i] > normal[j] ? 1.0 : odd[i] == normal[j] ? 0.5 : 0.0;
    return nn && no ? wins / ((double)nn * (double)no) : 0.0;
}

static int report(const data_args *a, const driver_data *d, const nnc_rt_metrics *m)
{
    double *en = malloc((size_t)(d->ntest + 1) * sizeof *en);
    double *ea = malloc((size_t)(nanomalies + 1) * sizeof *ea);
    int status = 1;
    (void)a;
    if (en == NULL || ea == NULL)
        fprintf(stderr, "out of memory (reconstruction errors)\n");
    else if (!errors(d->xtest, d->ntest, en) && !errors(anomalies, nanomalies, ea)) {
        printf("test mse: %.4f (normal windows; anomaly AUC, bags against the rest: %.3f)\n", m->mse,
               auc(en, d->ntest, ea, nanomalies));
        status = 0;
    }
    free(en);
    free(ea);
    return status;
}

int main(int argc, char **argv)
{
    static const driver_spec spec = {
        .model = &ad_autoencoder_driver,
        .show = DATA_SHOW_MSE,
        .bars = DRIVER_BARS_TRAIN | DRIVER_BARS_EVAL,
        .load = load,
        .report = report,
    };
    return driver_main(&spec, argc, argv);
}
