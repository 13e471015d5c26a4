/* logistic_regression driver: one sigmoid unit learns a linearly separable
 * 2-D task.  Points are uniform in [-1,1]^2, labelled by which side of the
 * line 1.5*x0 - x1 + 0.25 = 0 they fall on; points closer to the line than
 * MARGIN are redrawn, so the classes are separable with a gap and a trained
 * model should classify almost every held-out point correctly.
 * Usage: logistic_regression [--epochs N] [--seed S] [--limit N]
 * [--test-limit N]; the last stdout line is "test accuracy: 99.0%". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "data.h"
#include "logistic_regression.h"

#if LOGISTIC_REGRESSION_SPARSE_LABELS || LOGISTIC_REGRESSION_INPUT_SIZE != 2 || \
    LOGISTIC_REGRESSION_OUTPUT_SIZE != 1 || LOGISTIC_REGRESSION_LABEL_SIZE != 1
#error "logistic_regression.nn must map two floats to one probability"
#endif

enum { TRAIN = 1000, TEST = 500 };
#define DATA_SEED 20240602u
#define MARGIN 0.05f

static logistic_regression_t model;
static float xtrain[TRAIN * 2], xtest[TEST * 2];
static logistic_regression_label_t ytrain[TRAIN], ytest[TEST];
static int32_t order[TRAIN];

static void make_points(nnc_rt_rng *rng, float *x, logistic_regression_label_t *y, long n)
{
    const float w0 = 1.5f, w1 = -1.0f, b = 0.25f;
    const float norm = sqrtf(w0 * w0 + w1 * w1);
    long i;
    for (i = 0; i < n; i++) {
        float a, c, s;
        do {
            a = 2.0f * nnc_rt_rng_uniform(rng) - 1.0f;
            c = 2.0f * nnc_rt_rng_uniform(rng) - 1.0f;
            s = (w0 * a + w1 * c + b) / norm;
        } while (fabsf(s) < MARGIN);
        x[2 * i] = a;
        x[2 * i + 1] = c;
        y[i] = s > 0.0f ? 1.0f : 0.0f;
    }
}

int main(int argc, char **argv)
{
    data_args args = { LOGISTIC_REGRESSION_EPOCHS, 1, 0, 0, NULL };
    nnc_rt_metrics m;
    nnc_rt_rng rng;
    long epoch, ntrain = TRAIN, ntest = TEST;
    int rc = data_parse_args(argc, argv, &args);

    if (rc)
        return rc < 0 ? 0 : 2;
    if (args.limit > 0 && args.limit < ntrain)
        ntrain = args.limit;
    if (args.test_limit > 0 && args.test_limit < ntest)
        ntest = args.test_limit;

    nnc_rt_rng_seed(&rng, DATA_SEED);
    make_points(&rng, xtrain, ytrain, TRAIN);
    make_points(&rng, xtest, ytest, TEST);

    logistic_regression_init(&model, args.seed);
    for (epoch = 1; epoch <= args.epochs; epoch++) {
        double t0 = data_now();
        nnc_rt_shuffle(order, ntrain, args.seed * 1000 + (uint64_t)epoch);
        rc = logistic_regression_train_epoch(&model, xtrain, ytrain, ntrain, order, &m,
                                             NULL, NULL);
        if (rc == LOGISTIC_REGRESSION_ERR_NAN) {
            data_report_nan(epoch);
            return 1;
        }
        if (rc != LOGISTIC_REGRESSION_OK) {
            fprintf(stderr, "training failed at epoch %ld (error %d)\n", epoch, rc);
            return 1;
        }
        data_print_epoch(epoch, args.epochs, &m, DATA_SHOW_ACCURACY, data_now() - t0);
    }

    rc = logistic_regression_evaluate(&model, xtest, ytest, ntest, &m, NULL, NULL);
    if (rc != LOGISTIC_REGRESSION_OK) {
        fprintf(stderr, "evaluation failed (error %d)\n", rc);
        return 1;
    }
    printf("test accuracy: %.1f%%\n", data_percent(m.accuracy));
    return 0;
}
