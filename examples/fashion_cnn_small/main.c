/* fashion_cnn_small driver: trains the generated Fashion-MNIST small CNN
 * (conv 32 3x3 relu -> dense 10 softmax) and reports the test accuracy.
 * Usage: fashion_cnn_small [--epochs N] [--seed S] [--limit N]
 * [--test-limit N].  stdout is one line per epoch, then the result as the
 * last line ("test accuracy: 90.3%"); errors and the progress bar go to
 * stderr.  The loader's 28x28 floats per image are already the model's
 * channels-last 28x28x1 input.  The model is static: its struct holds every
 * parameter, gradient, optimizer state and activation and is too big for the
 * stack. */
#include <stdio.h>
#include <stdlib.h>

#include "data.h"
#include "fashion_cnn_small.h"

#if !FASHION_CNN_SMALL_SPARSE_LABELS || FASHION_CNN_SMALL_INPUT_SIZE != 784 || \
    FASHION_CNN_SMALL_OUTPUT_SIZE != 10
#error "fashion_cnn_small.nn must take 28x28x1 images and sparse labels and output 10 classes"
#endif

static fashion_cnn_small_t model;

int main(int argc, char **argv)
{
    data_args args = { FASHION_CNN_SMALL_EPOCHS, 1, 0, 0, NULL };
    data_set train, test;
    data_progress_state prog;
    nnc_rt_metrics m;
    int32_t *order;
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
    order = data_alloc((size_t)train.n, sizeof *order, "shuffle order");
    if (order == NULL) {
        data_free(&train);
        data_free(&test);
        return 1;
    }

    fashion_cnn_small_init(&model, args.seed);
    for (epoch = 1; epoch <= args.epochs; epoch++) {
        double t0 = data_now();
        nnc_rt_shuffle(order, train.n, args.seed * 1000 + (uint64_t)epoch);
        data_progress_begin(&prog);
        rc = fashion_cnn_small_train_epoch(&model, train.x, train.y, train.n, order, &m,
                                           data_progress, &prog);
        data_progress_end(&prog);
        if (rc == FASHION_CNN_SMALL_ERR_NAN) {
            data_report_nan(epoch);
            rc = 1;
            goto out;
        }
        if (rc != FASHION_CNN_SMALL_OK) {
            fprintf(stderr, "training failed at epoch %ld (error %d)\n", epoch, rc);
            rc = 1;
            goto out;
        }
        data_print_epoch(epoch, args.epochs, &m, DATA_SHOW_ACCURACY, data_now() - t0);
    }

    data_progress_begin(&prog);
    rc = fashion_cnn_small_evaluate(&model, test.x, test.y, test.n, &m, data_progress, &prog);
    data_progress_end(&prog);
    if (rc != FASHION_CNN_SMALL_OK) {
        fprintf(stderr, "evaluation failed (error %d)\n", rc);
        rc = 1;
        goto out;
    }
    printf("test accuracy: %.1f%%\n", data_percent(m.accuracy));
    rc = 0;
out:
    free(order);
    data_free(&train);
    data_free(&test);
    return rc;
}
