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
 * [--save FILE] (--limit: the training images of classes 5-9 kept, default
 * 12000, as pretrain.py's; they must match for the comparison).  The last
 * line of stdout is the result.  The shared driver (examples/common/driver.h)
 * does the fine-tuning, in file order; this file picks the classes and adds
 * the two comparisons. */
#include <stdio.h>
#include <string.h>

#include "data.h"
#include "driver.h"
#include "finetune.h"

#if !FINETUNE_SPARSE_LABELS || FINETUNE_INPUT_SIZE != 784 || FINETUNE_OUTPUT_SIZE != 5
#error "finetune.c must take 1x28x28 images and sparse labels and output 5 classes"
#endif

static finetune_t model NNC_RT_ALIGN64;
DRIVER_MODEL(finetune, FINETUNE, model);

/* PyTorch's accuracy for the same fine-tuning: --torch FILE, or where the
 * Makefile's pretrain.py run wrote it; NULL, none */
#ifdef TORCH_RESULT
static const char *torch_file = TORCH_RESULT;
#else
static const char *torch_file = NULL;
#endif

/* keeps the images of classes 5-9, renumbered 0-4, in order; at most limit */
static void new_classes(data_set *ds, long limit)
{
    long i, k = 0;
    for (i = 0; i < ds->n && (limit <= 0 || k < limit); i++) {
        if (ds->y[i] < 5)
            continue;
        memmove(ds->x + k * 784, ds->x + i * 784, 784 * sizeof *ds->x);
        ds->y[k++] = ds->y[i] - 5;
    }
    ds->n = k;
}

/* all of Fashion-MNIST, then its classes 5-9: --limit counts kept images */
static int load(const data_args *a, driver_data *d)
{
    if (data_load_fashion("train", 0, &d->train) || data_load_fashion("t10k", 0, &d->test))
        return 1;
    new_classes(&d->train, a->limit);
    new_classes(&d->test, a->test_limit);
    return 0;
}

/* the imported weights as exported, before any fine-tuning */
static int start(const driver_data *d)
{
    nnc_rt_metrics m;
    int rc;
    memset(&m, 0, sizeof m);
    rc = finetune_evaluate(&model, d->xtest, d->ytest, d->ntest, &m, NULL, NULL);
    printf("before fine-tuning (new head untrained): test accuracy %.1f%%\n", data_percent(m.accuracy));
    if (rc != FINETUNE_OK) {
        fprintf(stderr, "evaluation failed (error %d)\n", rc);
        return 1;
    }
    return 0;
}

/* PyTorch's line first, when it ran, so ours stays the last */
static int report(const data_args *a, const driver_data *d, const nnc_rt_metrics *m)
{
    FILE *f = torch_file ? fopen(torch_file, "r") : NULL;
    double torch_acc;
    (void)a, (void)d;
    if (f && fscanf(f, "%lf", &torch_acc) == 1)
        printf("PyTorch, the same fine-tuning from the same ONNX file: test accuracy %.1f%%\n", torch_acc);
    if (f)
        fclose(f);
    printf("test accuracy: %.1f%%\n", data_percent(m->accuracy));
    return 0;
}

int main(int argc, char **argv)
{
    static const driver_spec spec = {
        .model = &finetune_driver,
        .show = DATA_SHOW_ACCURACY,
        .in_order = 1,      /* file order, as pretrain.py fine-tunes */
        .limit = 12000,     /* pretrain.py's default --limit */
        .load = load,
        .start = start,
        .report = report,
    };
    int i;
    /* --torch FILE is ours; the rest are the examples' common options */
    for (i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--torch")) {
            torch_file = argv[i + 1];
            memmove(argv + i, argv + i + 2, (size_t)(argc - i - 1) * sizeof *argv);
            argc -= 2;
            break;
        }
    return driver_main(&spec, argc, argv);
}
