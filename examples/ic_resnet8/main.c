/* ic_resnet8 driver: trains the generated ResNet-8 of MLPerf Tiny's image
 * classification benchmark on Fashion-MNIST made into 32x32x3 images
 * (examples/common/standin.h says how) and reports the test accuracy.  Usage:
 * ic_resnet8 [--epochs N] [--seed S] [--limit N] [--test-limit N] [--save
 * FILE].  stdout is one line per epoch, then the result as the last line
 * ("test accuracy: 90.3%"); errors and the progress bar go to stderr.  The
 * shared driver (examples/common/driver.h) does the rest. */
#include "data.h"
#include "driver.h"
#include "standin.h"
#include "ic_resnet8.h"

#if !IC_RESNET8_SPARSE_LABELS || IC_RESNET8_INPUT_SIZE != 32 * 32 * 3 || IC_RESNET8_OUTPUT_SIZE != 10
#error "ic_resnet8.nn must take 32 * 32 * 3 floats and sparse labels and output 10 classes"
#endif

static ic_resnet8_t model NNC_RT_ALIGN64;
DRIVER_MODEL(ic_resnet8, IC_RESNET8, model);

/* one set as the benchmark's input, in blocks the driver frees */
static int convert(driver_data *d, const data_set *ds, const void **x, const void **y)
{
    float *cx = driver_alloc(d, (size_t)(ds->n ? ds->n : 1) * 32 * 32 * 3, sizeof *cx, "ic samples");
    int32_t *cy = driver_alloc(d, (size_t)(ds->n ? ds->n : 1), sizeof *cy, "ic labels");
    if (cx == NULL || cy == NULL)
        return 1;
    standin_set(STANDIN_IC, ds, cx, cy);
    *x = cx;
    *y = cy;
    return 0;
}

static int load(const data_args *a, driver_data *d)
{
    if (driver_load_fashion(a, d) || convert(d, &d->train, &d->xtrain, &d->ytrain) ||
        convert(d, &d->test, &d->xtest, &d->ytest))
        return 1;
    d->ntrain = d->train.n;
    d->ntest = d->test.n;
    return 0;
}

int main(int argc, char **argv)
{
    static const driver_spec spec = {
        .model = &ic_resnet8_driver,
        .show = DATA_SHOW_ACCURACY,
        .bars = DRIVER_BARS_TRAIN | DRIVER_BARS_EVAL,
        .load = load,
    };
    return driver_main(&spec, argc, argv);
}
