/* vww_mobilenet driver: trains the generated MobileNetV1 0.25 of MLPerf
 * Tiny's visual wake words benchmark on Fashion-MNIST made into 96x96x3
 * images of two classes (examples/common/standin.h says how) and reports the
 * test accuracy.  By default the first 6000 training and 2000 test images
 * (96x96x3 floats are 110 KB a sample).  Usage: vww_mobilenet [--epochs N]
 * [--seed S] [--limit N] [--test-limit N] [--save FILE].  stdout is one line
 * per epoch, then the result as the last line ("test accuracy: 90.3%");
 * errors and the progress bar go to stderr.  The shared driver
 * (examples/common/driver.h) does the rest. */
#include "data.h"
#include "driver.h"
#include "standin.h"
#include "vww_mobilenet.h"

#if !VWW_MOBILENET_SPARSE_LABELS || VWW_MOBILENET_INPUT_SIZE != 96 * 96 * 3 || VWW_MOBILENET_OUTPUT_SIZE != 2
#error "vww_mobilenet.nn must take 96 * 96 * 3 floats and sparse labels and output 2 classes"
#endif

static vww_mobilenet_t model NNC_RT_ALIGN64;
DRIVER_MODEL(vww_mobilenet, VWW_MOBILENET, model);

/* one set as the benchmark's input, in blocks the driver frees */
static int convert(driver_data *d, const data_set *ds, const void **x, const void **y)
{
    float *cx = driver_alloc(d, (size_t)(ds->n ? ds->n : 1) * 96 * 96 * 3, sizeof *cx, "vww samples");
    int32_t *cy = driver_alloc(d, (size_t)(ds->n ? ds->n : 1), sizeof *cy, "vww labels");
    if (cx == NULL || cy == NULL)
        return 1;
    standin_set(STANDIN_VWW, ds, cx, cy);
    *x = cx;
    *y = cy;
    return 0;
}

/* 96x96x3 floats are 110 KB a sample: without --test-limit, the first
 * TEST_DEFAULT test images (the training set is cut by spec.limit) */
enum { TEST_DEFAULT = 2000 };

static int load(const data_args *a, driver_data *d)
{
    if (data_load_fashion("train", a->limit, &d->train) ||
        data_load_fashion("t10k", a->test_limit ? a->test_limit : TEST_DEFAULT, &d->test) || convert(d, &d->train, &d->xtrain, &d->ytrain) ||
        convert(d, &d->test, &d->xtest, &d->ytest))
        return 1;
    d->ntrain = d->train.n;
    d->ntest = d->test.n;
    return 0;
}

int main(int argc, char **argv)
{
    static const driver_spec spec = {
        .model = &vww_mobilenet_driver,
        .show = DATA_SHOW_ACCURACY,
        .bars = DRIVER_BARS_TRAIN | DRIVER_BARS_EVAL,
        .load = load,
        .limit = 6000,
    };
    return driver_main(&spec, argc, argv);
}
