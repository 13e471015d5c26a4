/* linear_regression driver: fits y = 2x + 1 from 100 noisy points and prints
 * the learned slope and intercept, read back through the generated
 * linear_regression_param() accessor.  Usage: linear_regression [--epochs N]
 * [--seed S] [--limit N] [--save FILE]; the last stdout line is the result
 * ("slope: 2.003, intercept: 0.998").  There is no test set: the result is
 * the parameters themselves.  The shared driver (examples/common/driver.h)
 * does the training.
 *
 * The data use their own fixed seed so that --seed changes only the
 * initialisation and the shuffling, never the problem. */
#include <stdio.h>

#include "data.h"
#include "driver.h"
#include "linear_regression.h"

#if LINEAR_REGRESSION_SPARSE_LABELS || LINEAR_REGRESSION_INPUT_SIZE != 1 || \
    LINEAR_REGRESSION_OUTPUT_SIZE != 1 || LINEAR_REGRESSION_LABEL_SIZE != 1
#error "linear_regression.nn must map one float to one float"
#endif

enum { POINTS = 100 };
#define DATA_SEED 20240601u
#define TRUE_SLOPE 2.0f
#define TRUE_INTERCEPT 1.0f
#define NOISE_STD 0.1f

static linear_regression_t model NNC_RT_ALIGN64;
DRIVER_MODEL(linear_regression, LINEAR_REGRESSION, model);
static float xtrain[POINTS];
static linear_regression_label_t ytrain[POINTS];

static void make_points(nnc_rt_rng *rng, void *xs, void *ys, long n)
{
    float *x = xs;
    linear_regression_label_t *y = ys;
    long i;
    for (i = 0; i < n; i++) {
        x[i] = 2.0f * nnc_rt_rng_uniform(rng) - 1.0f;
        y[i] = TRUE_SLOPE * x[i] + TRUE_INTERCEPT + NOISE_STD * nnc_rt_rng_normal(rng);
    }
}

static int report(const data_args *a, const driver_data *d, const nnc_rt_metrics *m)
{
    long ksize = 0, bsize = 0;
    float *kernel = linear_regression_param(&model, "dense.kernel", &ksize);
    float *bias = linear_regression_param(&model, "dense.bias", &bsize);
    (void)a, (void)d, (void)m;
    if (kernel == NULL || bias == NULL || ksize != 1 || bsize != 1) {
        fprintf(stderr, "linear_regression: expected parameters dense.kernel[1] and dense.bias[1]\n");
        return 1;
    }
    printf("slope: %.3f, intercept: %.3f\n", (double)kernel[0], (double)bias[0]);
    return 0;
}

int main(int argc, char **argv)
{
    static const driver_spec spec = {
        .model = &linear_regression_driver,
        .show = DATA_SHOW_MAE,
        .make = make_points,
        .data_seed = DATA_SEED,
        .arrays = { xtrain, ytrain, POINTS, NULL, NULL, 0 },
        .report = report,
    };
    return driver_main(&spec, argc, argv);
}
