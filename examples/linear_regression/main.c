/* linear_regression driver: fits y = 2x + 1 from 100 noisy points and prints
 * the learned slope and intercept, read back through the generated
 * linear_regression_param() accessor.  Usage: linear_regression [--epochs N]
 * [--seed S] [--limit N]; the last stdout line is the result
 * ("slope: 2.003, intercept: 0.998").
 *
 * The data use their own fixed seed so that --seed changes only the
 * initialisation and the shuffling, never the problem. */
#include <stdio.h>
#include <stdlib.h>

#include "data.h"
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

static linear_regression_t model;
static float xs[POINTS];
static linear_regression_label_t ys[POINTS];
static int32_t order[POINTS];

int main(int argc, char **argv)
{
    data_args args = { LINEAR_REGRESSION_EPOCHS, 1, 0, 0, NULL };
    nnc_rt_metrics m;
    nnc_rt_rng rng;
    float *kernel, *bias;
    long epoch, n = POINTS, ksize = 0, bsize = 0, i;
    int rc = data_parse_args(argc, argv, &args);

    if (rc)
        return rc < 0 ? 0 : 2;
    if (args.limit > 0 && args.limit < n)
        n = args.limit;

    nnc_rt_rng_seed(&rng, DATA_SEED);
    for (i = 0; i < POINTS; i++) {
        xs[i] = 2.0f * nnc_rt_rng_uniform(&rng) - 1.0f;
        ys[i] = TRUE_SLOPE * xs[i] + TRUE_INTERCEPT + NOISE_STD * nnc_rt_rng_normal(&rng);
    }

    linear_regression_init(&model, args.seed);
    for (epoch = 1; epoch <= args.epochs; epoch++) {
        double t0 = data_now();
        nnc_rt_shuffle(order, n, args.seed * 1000 + (uint64_t)epoch);
        rc = linear_regression_train_epoch(&model, xs, ys, n, order, &m, NULL, NULL);
        if (rc == LINEAR_REGRESSION_ERR_NAN) {
            data_report_nan(epoch);
            return 1;
        }
        if (rc != LINEAR_REGRESSION_OK) {
            fprintf(stderr, "training failed at epoch %ld (error %d)\n", epoch, rc);
            return 1;
        }
        data_print_epoch(epoch, args.epochs, &m, DATA_SHOW_MAE, data_now() - t0);
    }

    kernel = linear_regression_param(&model, "dense.kernel", &ksize);
    bias = linear_regression_param(&model, "dense.bias", &bsize);
    if (kernel == NULL || bias == NULL || ksize != 1 || bsize != 1) {
        fprintf(stderr, "linear_regression: expected parameters dense.kernel[1] and dense.bias[1]\n");
        return 1;
    }
    printf("slope: %.3f, intercept: %.3f\n", (double)kernel[0], (double)bias[0]);
    return 0;
}
