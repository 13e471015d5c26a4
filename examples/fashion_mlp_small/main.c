/* fashion_mlp_small driver: like fashion_mlp, but the model is trained with
 * categorical cross-entropy on one-hot float labels, so the driver expands
 * the class indices first.  Usage: fashion_mlp_small [--epochs N] [--seed S]
 * [--limit N] [--test-limit N] [--save FILE]; the last stdout line is the
 * result.  The shared driver (examples/common/driver.h) does the rest. */
#include "data.h"
#include "driver.h"
#include "fashion_mlp_small.h"

#if FASHION_MLP_SMALL_SPARSE_LABELS || FASHION_MLP_SMALL_LABEL_SIZE != 10 || \
    FASHION_MLP_SMALL_INPUT_SIZE != 784 || FASHION_MLP_SMALL_OUTPUT_SIZE != 10
#error "fashion_mlp_small.nn must take 28x28 images and one-hot labels of 10 classes"
#endif

static fashion_mlp_small_t model NNC_RT_ALIGN64;
DRIVER_MODEL(fashion_mlp_small, FASHION_MLP_SMALL, model);

/* Fashion-MNIST with one-hot labels; the images stay the loader's */
static int load(const data_args *a, driver_data *d)
{
    float *ytrain, *ytest;
    if (driver_load_fashion(a, d))
        return 1;
    ytrain = driver_alloc(d, (size_t)d->train.n * 10, sizeof *ytrain, "one-hot training labels");
    ytest = driver_alloc(d, (size_t)d->test.n * 10, sizeof *ytest, "one-hot test labels");
    if (ytrain == NULL || ytest == NULL)
        return 1;
    data_one_hot(d->train.y, d->train.n, 10, ytrain);
    data_one_hot(d->test.y, d->test.n, 10, ytest);
    d->ytrain = ytrain;
    d->ytest = ytest;
    return 0;
}

int main(int argc, char **argv)
{
    static const driver_spec spec = {
        .model = &fashion_mlp_small_driver,
        .show = DATA_SHOW_ACCURACY,
        .bars = DRIVER_BARS_TRAIN | DRIVER_BARS_EVAL,
        .load = load,
    };
    return driver_main(&spec, argc, argv);
}
