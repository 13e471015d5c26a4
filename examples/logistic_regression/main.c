/* logistic_regression driver: one sigmoid unit learns a linearly separable
 * 2-D task.  Points are uniform in [-1,1]^2, labelled by which side of the
 * line 1.5*x0 - x1 + 0.25 = 0 they fall on; points closer to the line than
 * MARGIN are redrawn, so the classes are separable with a gap and a trained
 * model should classify almost every held-out point correctly.
 * Usage: logistic_regression [--epochs N] [--seed S] [--limit N]
 * [--test-limit N] [--save FILE]; the last stdout line is
 * "test accuracy: 99.0%".  The shared driver (examples/common/driver.h)
 * does the training; this file makes the data. */
#include <math.h>

#include "data.h"
#include "driver.h"
#include "logistic_regression.h"

#if LOGISTIC_REGRESSION_SPARSE_LABELS || LOGISTIC_REGRESSION_INPUT_SIZE != 2 || \
    LOGISTIC_REGRESSION_OUTPUT_SIZE != 1 || LOGISTIC_REGRESSION_LABEL_SIZE != 1
#error "logistic_regression.nn must map two floats to one probability"
#endif

enum { TRAIN = 1000, TEST = 500 };
#define DATA_SEED 20240602u
#define MARGIN 0.05f

static logistic_regression_t model NNC_RT_ALIGN64;
DRIVER_MODEL(logistic_regression, LOGISTIC_REGRESSION, model);
static float xtrain[TRAIN * 2], xtest[TEST * 2];
static logistic_regression_label_t ytrain[TRAIN], ytest[TEST];

static void make_points(nnc_rt_rng *rng, void *xs, void *ys, long n)
{
    float *x = xs;
    logistic_regression_label_t *y = ys;
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
    static const driver_spec spec = {
        .model = &logistic_regression_driver,
        .show = DATA_SHOW_ACCURACY,
        .make = make_points,
        .data_seed = DATA_SEED,
        .arrays = { xtrain, ytrain, TRAIN, xtest, ytest, TEST },
    };
    return driver_main(&spec, argc, argv);
}
