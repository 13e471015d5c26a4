/* lstm_sine driver: noisy sine waves y(t) = a sin(w t + phi) + noise, with a
 * in [0.5, 1], w in [0.15, 0.6] rad per step, phi in [0, 2 pi) and Gaussian
 * noise of stddev 0.05, drawn per series from a fixed seed.  The model sees
 * 10 steps and predicts the next 10 (clean values plus the same noise).
 * Predicting 0 scores the target's variance (printed next to the result);
 * predicting the last seen value for all 10 steps is the naive baseline
 * (also printed).  Writes an SVG of a few test series -- seen, true and
 * predicted -- to build/lstm_sine.svg (or $NNC_PLOT).
 * Usage: lstm_sine [--epochs N] [--seed S] [--limit N] [--test-limit N]
 * [--save FILE]; the last stdout line is
 * "test mse: 0.0xxx (target variance 0.xxx, ...)".  The shared driver
 * (examples/common/driver.h) does the training; this file makes the data
 * and the report. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "data.h"
#include "driver.h"
#include "lstm_sine.h"

#if LSTM_SINE_INPUT_SIZE != 10 || LSTM_SINE_OUTPUT_SIZE != 10 || LSTM_SINE_SPARSE_LABELS
#error "lstm_sine.nn must map 10 values to the next 10"
#endif

enum { TRAIN = 4000, TEST = 500, SEEN = 10, AHEAD = 10, PLOTTED = 4 };
#define DATA_SEED 20240611u

static lstm_sine_t model NNC_RT_ALIGN64;
DRIVER_MODEL(lstm_sine, LSTM_SINE, model);
static float xtrain[TRAIN * SEEN], ytrain[TRAIN * AHEAD], xtest[TEST * SEEN], ytest[TEST * AHEAD];
static float pred[TEST * AHEAD];

static void make_series(nnc_rt_rng *r, void *xs, void *ys, long n)
{
    float *x = xs, *y = ys;
    const double pi = 3.14159265358979323846;
    long i;
    int t;
    for (i = 0; i < n; i++) {
        double a = 0.5 + 0.5 * nnc_rt_rng_uniform(r), w = 0.15 + 0.45 * nnc_rt_rng_uniform(r);
        double phi = 2 * pi * nnc_rt_rng_uniform(r);
        for (t = 0; t < SEEN + AHEAD; t++) {
            float v = (float)(a * sin(w * t + phi) + 0.05 * nnc_rt_rng_normal(r));
            if (t < SEEN)
                x[i * SEEN + t] = v;
            else
                y[i * AHEAD + t - SEEN] = v;
        }
    }
}

/* one panel per series: seen (grey), true next values (blue), predicted (red) */
static int write_plot(const char *path, long n)
{
    FILE *f = fopen(path, "w");
    long s;
    int t;
    const int w = 320, h = 160, pad = 10;
    if (!f) {
        fprintf(stderr, "lstm_sine: cannot write %s\n", path);
        return 1;
    }
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%ld\" "
               "font-family=\"sans-serif\" font-size=\"11\">\n", w + 2 * pad, (h + pad) * n + pad);
    for (s = 0; s < n; s++) {
        double y0 = pad + (h + pad) * s + h / 2.0, sy = h / 2.4, sx = (double)w / (SEEN + AHEAD - 1);
        const float *rows[3] = { xtest + s * SEEN, ytest + s * AHEAD, pred + s * AHEAD };
        const char *colors[3] = { "#888", "#1f77b4", "#d62728" };
        int k;
        fprintf(f, "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#ddd\"/>\n",
                pad, y0 - h / 2.0, w, h);
        for (k = 0; k < 3; k++) {
            int first = k ? SEEN : 0, len = k ? AHEAD : SEEN;
            fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", colors[k]);
            if (k)   /* continue from the last seen point */
                fprintf(f, "%.1f,%.1f ", pad + sx * (SEEN - 1), y0 - sy * xtest[s * SEEN + SEEN - 1]);
            for (t = 0; t < len; t++)
                fprintf(f, "%.1f,%.1f ", pad + sx * (first + t), y0 - sy * rows[k][t]);
            fprintf(f, "\"/>\n");
        }
    }
    fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"#888\">seen</text><text x=\"%d\" y=\"%d\" fill=\"#1f77b4\">"
               "true</text><text x=\"%d\" y=\"%d\" fill=\"#d62728\">predicted</text>\n</svg>\n",
            pad + 4, pad + 12, pad + 40, pad + 12, pad + 76, pad + 12);
    if (fclose(f)) {
        fprintf(stderr, "lstm_sine: cannot write %s\n", path);
        return 1;
    }
    return 0;
}

/* the test mse next to its two baselines, and the plot */
static int report(const data_args *a, const driver_data *d, const nnc_rt_metrics *m)
{
    const char *plot = getenv("NNC_PLOT") ? getenv("NNC_PLOT") : "build/lstm_sine.svg";
    long ntest = d->ntest, i;
    double var = 0, mean = 0, naive = 0;
    (void)a;
    lstm_sine_predict(&model, xtest, pred, ntest);
    for (i = 0; i < ntest * AHEAD; i++)
        mean += ytest[i];
    mean /= (double)(ntest * AHEAD);
    for (i = 0; i < ntest * AHEAD; i++) {
        double last = xtest[(i / AHEAD) * SEEN + SEEN - 1];
        var += (ytest[i] - mean) * (ytest[i] - mean);
        naive += (ytest[i] - last) * (ytest[i] - last);
    }
    if (write_plot(plot, ntest < PLOTTED ? ntest : PLOTTED) == 0)
        printf("plot: %s\n", plot);
    printf("test mse: %.4f (target variance %.3f, repeating the last value %.3f)\n", m->mse,
           var / (double)(ntest * AHEAD), naive / (double)(ntest * AHEAD));
    return 0;
}

int main(int argc, char **argv)
{
    static const driver_spec spec = {
        .model = &lstm_sine_driver,
        .show = DATA_SHOW_MAE,
        .make = make_series,
        .data_seed = DATA_SEED,
        .arrays = { xtrain, ytrain, TRAIN, xtest, ytest, TEST },
        .report = report,
    };
    return driver_main(&spec, argc, argv);
}
