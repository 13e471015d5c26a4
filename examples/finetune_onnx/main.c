/* finetune_onnx driver: fine-tunes an imported PyTorch model on the device.
 *
 * examples/finetune_onnx/pretrain.py trained a CNN on Fashion-MNIST classes
 * 0-4 in PyTorch, gave it a new head and exported it to ONNX; nnc compiled
 * that file with --train into finetune.c (see the Makefile).  This program
 * is what a device runs: it fine-tunes the imported weights on classes 5-9
 * (sandal, shirt, sneaker, bag, ankle boot; labels 0-4 here), in file order,
 * batch 32, and reports the test accuracy on those classes.  The PyTorch
 * fine-tuning of the same file (pretrain.py wrote it to torch_finetune.txt
 * beside the model) is printed before it, for comparison.
 *
 * Usage: finetune_onnx [--epochs N] [--limit N] [--test-limit N] [--torch FILE]
 * (--limit: the training images of classes 5-9 kept, default 12000, as
 * pretrain.py's; they must match for the comparison).  The last line of
 * stdout is the result. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "finetune.h"

#if !FINETUNE_SPARSE_LABELS || FINETUNE_INPUT_SIZE != 784 || FINETUNE_OUTPUT_SIZE != 5
#error "finetune.c must take 1x28x28 images and sparse labels and output 5 classes"
#endif

static finetune_t model;

/* keeps the images of classes 5-9, renumbered 0-4, in order; at most limit */
static void new_classes(data_set *ds, long limit) {
    long k = 0;
    for (long i = 0; i < ds->n && (limit <= 0 || k < limit); i++) {
        if (ds->y[i] < 5) continue;
        memmove(ds->x + k * 784, ds->x + i * 784, 784 * sizeof *ds->x);
        ds->y[k++] = ds->y[i] - 5;
    }
    ds->n = k;
}

int main(int argc, char **argv) {
#ifdef TORCH_RESULT
    const char *torch_file = TORCH_RESULT;  /* where the Makefile's pretrain.py run wrote it */
#else
    const char *torch_file = NULL;
#endif
    /* --torch FILE is ours; the rest are the examples' common options */
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--torch")) {
            torch_file = argv[i + 1];
            memmove(argv + i, argv + i + 2, (size_t)(argc - i - 1) * sizeof *argv);
            argc -= 2;
            break;
        }
    data_args args = { FINETUNE_EPOCHS, 1, 12000, 0, NULL };   /* pretrain.py's default --limit */
    data_set train, test;
    nnc_rt_metrics m;
    int rc = data_parse_args(argc, argv, &args);
    if (rc) return rc < 0 ? 0 : 2;
    if (data_load_fashion("train", 0, &train)) return 1;
    if (data_load_fashion("t10k", 0, &test)) {
        data_free(&train);
        return 1;
    }
    new_classes(&train, args.limit);
    new_classes(&test, args.test_limit);

    finetune_init(&model, args.seed);   /* the imported weights, as exported */
    rc = finetune_evaluate(&model, test.x, test.y, test.n, &m, NULL, NULL);
    printf("before fine-tuning (new head untrained): test accuracy %.1f%%\n", data_percent(m.accuracy));
    for (long epoch = 1; rc == FINETUNE_OK && epoch <= args.epochs; epoch++) {
        double t0 = data_now();
        rc = finetune_train_epoch(&model, train.x, train.y, train.n, NULL, &m, NULL, NULL);
        if (rc == FINETUNE_ERR_NAN) data_report_nan(epoch);
        else if (rc == FINETUNE_OK) data_print_epoch(epoch, args.epochs, &m, DATA_SHOW_ACCURACY, data_now() - t0);
    }
    if (rc == FINETUNE_OK) rc = finetune_evaluate(&model, test.x, test.y, test.n, &m, NULL, NULL);
    if (rc != FINETUNE_OK) {
        fprintf(stderr, "fine-tuning failed (error %d)\n", rc);
        rc = 1;
    } else {
        FILE *f = torch_file ? fopen(torch_file, "r") : NULL;
        double torch_acc;
        if (f && fscanf(f, "%lf", &torch_acc) == 1)
            printf("PyTorch, the same fine-tuning from the same ONNX file: test accuracy %.1f%%\n", torch_acc);
        if (f) fclose(f);
        printf("test accuracy: %.1f%%\n", data_percent(m.accuracy));
    }
    data_free(&train);
    data_free(&test);
    return rc;
}
