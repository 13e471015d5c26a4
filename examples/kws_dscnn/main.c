/* kws_dscnn driver: trains the generated DS-CNN of MLPerf Tiny's keyword
 * spotting benchmark on Fashion-MNIST made into 49x10 "spectrograms" of 12
 * classes (examples/common/standin.h says how) and reports the test
 * accuracy.  Usage: kws_dscnn [--epochs N] [--seed S] [--limit N]
 * [--test-limit N] [--save FILE].  stdout is one line per epoch, then the
 * result as the last line ("test accuracy: 90.3%"); errors and the progress
 * bar go to stderr.  The shared driver (examples/common/driver.h) does the
 * rest. */
#include "data.h"
#include "driver.h"
#include "standin.h"
#include "kws_dscnn.h"

#if !KWS_DSCNN_SPARSE_LABELS || KWS_DSCNN_INPUT_SIZE != 49 * 10 || KWS_DSCNN_OUTPUT_SIZE != 12
#error "kws_dscnn.nn must take 49 * 10 floats and sparse labels and output 12 classes"
#endif

static kws_dscnn_t model NNC_RT_ALIGN64;
DRIVER_MODEL(kws_dscnn, KWS_DSCNN, model);

/* one set as the benchmark's input, in blocks the driver frees */
static int convert(driver_data *d, const data_set *ds, const void **x, const void **y)
{
    float *cx = driver_alloc(d, (size_t)(ds->n ? ds->n : 1) * 49 * 10, sizeof *cx, "kws samples");
    int32_t *cy = driver_alloc(d, (size_t)(ds->n ? ds->n : 1), sizeof *cy, "kws labels");
    if (cx == NULL || cy == NULL)
        return 1;
    standin_set(STANDIN_KWS, ds, cx, cy);
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
        .model = &kws_dscnn_driver,
        .show = DATA_SHOW_ACCURACY,
        .bars = DRIVER_BARS_TRAIN | DRIVER_BARS_EVAL,
        .load = load,
    };
    return driver_main(&spec, argc, argv);
}
