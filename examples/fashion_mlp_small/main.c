/* fashion_mlp_small driver: like fashion_mlp, but the model is trained with
 * categorical cross-entropy on one-hot float labels, so the driver expands
 * the class indices first.  Usage: fashion_mlp_small [--epochs N] [--seed S]
 * [--limit N] [--test-limit N]; the last stdout line is the result. */
#include <stdio.h>
#include <stdlib.h>

#include "data.h"
#include "fashion_mlp_small.h"

#if FASHION_MLP_SMALL_SPARSE_LABELS || FASHION_MLP_SMALL_LABEL_SIZE != 10 || \
    FASHION_MLP_SMALL_INPUT_SIZE != 784 || FASHION_MLP_SMALL_OUTPUT_SIZE != 10
#error "fashion_mlp_small.nn must take 28x28 images and one-hot labels of 10 classes"
#endif

static fashion_mlp_small_t model;

int main(int argc, char **argv)
{
    data_args args = { FASHION_MLP_SMALL_EPOCHS, 1, 0, 0, NULL };
    data_set train, test;
    data_progress_state prog;
    nnc_rt_metrics m;
    int32_t *order = NULL;
    float *ytrain = NULL, *ytest = NULL;
    long epoch;
    int rc = data_parse_args(argc, argv, &args);

    if (rc)
        return rc < 0 ? 0 : 2;
    if (data_load_fashion("train", args.limit, &train))
        return 1;
    if (data_load_fashion("t10k", args.test_limit, &test)) {
        data_free(&train);
        return 1;
    }
    rc = 1;
    order = data_alloc((size_t)train.n, sizeof *order, "shuffle order");
    ytrain = data_alloc((size_t)train.n * 10, sizeof *ytrain, "one-hot training labels");
    ytest = data_alloc((size_t)test.n * 10, sizeof *ytest, "one-hot test labels");
    if (order == NULL || ytrain == NULL || ytest == NULL)
        goto out;
    data_one_hot(train.y, train.n, 10, ytrain);
    data_one_hot(test.y, test.n, 10, ytest);

    fashion_mlp_small_init(&model, args.seed);
    for (epoch = 1; epoch <= args.epochs; epoch++) {
        double t0 = data_now();
        nnc_rt_shuffle(order, train.n, args.seed * 1000 + (uint64_t)epoch);
        data_progress_begin(&prog);
        rc = fashion_mlp_small_train_epoch(&model, train.x, ytrain, train.n, order, &m,
                                           data_progress, &prog);
        data_progress_end(&prog);
        if (rc == FASHION_MLP_SMALL_ERR_NAN) {
            data_report_nan(epoch);
            rc = 1;
            goto out;
        }
        if (rc != FASHION_MLP_SMALL_OK) {
            fprintf(stderr, "training failed at epoch %ld (error %d)\n", epoch, rc);
            rc = 1;
            goto out;
        }
        data_print_epoch(epoch, args.epochs, &m, DATA_SHOW_ACCURACY, data_now() - t0);
    }

    data_progress_begin(&prog);
    rc = fashion_mlp_small_evaluate(&model, test.x, ytest, test.n, &m, data_progress, &prog);
    data_progress_end(&prog);
    if (rc != FASHION_MLP_SMALL_OK) {
        fprintf(stderr, "evaluation failed (error %d)\n", rc);
        rc = 1;
        goto out;
    }
    printf("test accuracy: %.1f%%\n", data_percent(m.accuracy));
    rc = 0;
out:
    free(order);
    free(ytrain);
    free(ytest);
    data_free(&train);
    data_free(&test);
    return rc;
}
