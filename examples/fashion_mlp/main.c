/* fashion_mlp driver: trains the generated Fashion-MNIST MLP and reports the
 * test accuracy.  Usage: fashion_mlp [--epochs N] [--seed S] [--limit N]
 * [--test-limit N] [--save FILE]; --save writes the trained parameters (the
 * input of nnc --weights).  stdout is one line per epoch, then the result as the
 * last line ("test accuracy: 87.9%"); errors and the progress bar go to
 * stderr.  The model is static: its struct holds every parameter, gradient,
 * optimizer state and activation and is too big for the stack. */
#include <stdio.h>
#include <stdlib.h>

#include "data.h"
#include "fashion_mlp.h"

#if !FASHION_MLP_SPARSE_LABELS || FASHION_MLP_INPUT_SIZE != 784 || FASHION_MLP_OUTPUT_SIZE != 10
#error "fashion_mlp.nn must take 28x28 images and sparse labels and output 10 classes"
#endif

static fashion_mlp_t model;
static unsigned char saved[FASHION_MLP_SAVE_BYTES];

int main(int argc, char **argv)
{
    data_args args = { FASHION_MLP_EPOCHS, 1, 0, 0, NULL };
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

    fashion_mlp_init(&model, args.seed);
    for (epoch = 1; epoch <= args.epochs; epoch++) {
        double t0 = data_now();
        nnc_rt_shuffle(order, train.n, args.seed * 1000 + (uint64_t)epoch);
        data_progress_begin(&prog);
        rc = fashion_mlp_train_epoch(&model, train.x, train.y, train.n, order, &m,
                                     data_progress, &prog);
        data_progress_end(&prog);
        if (rc == FASHION_MLP_ERR_NAN) {
            data_report_nan(epoch);
            rc = 1;
            goto out;
        }
        if (rc != FASHION_MLP_OK) {
            fprintf(stderr, "training failed at epoch %ld (error %d)\n", epoch, rc);
            rc = 1;
            goto out;
        }
        data_print_epoch(epoch, args.epochs, &m, DATA_SHOW_ACCURACY, data_now() - t0);
    }

    data_progress_begin(&prog);
    rc = fashion_mlp_evaluate(&model, test.x, test.y, test.n, &m, data_progress, &prog);
    data_progress_end(&prog);
    if (rc != FASHION_MLP_OK) {
        fprintf(stderr, "evaluation failed (error %d)\n", rc);
        rc = 1;
        goto out;
    }
    rc = data_save_params(args.save, saved, fashion_mlp_save(&model, saved, sizeof saved));
    if (rc)
        goto out;
    printf("test accuracy: %.1f%%\n", data_percent(m.accuracy));
out:
    free(order);
    data_free(&train);
    data_free(&test);
    return rc;
}
