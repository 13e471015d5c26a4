/* cnn_32x32 driver: trains the generated CNN for 32x32x3 images on
 * Fashion-MNIST, each 28x28 image padded by 2 zero pixels on every side and
 * replicated into 3 channels (channels-last, data_pad_images), and reports
 * the test accuracy.  Usage: cnn_32x32 [--epochs N] [--seed S] [--limit N]
 * [--test-limit N] [--save FILE].  stdout is one line per epoch, then the
 * result as the last line ("test accuracy: 90.3%"); errors and the progress
 * bar go to stderr.  The shared driver (examples/common/driver.h) does the
 * rest; the model is static: its struct holds every parameter, gradient,
 * optimizer state and activation and is too big for the stack. */
#include "data.h"
#include "driver.h"
#include "cnn_32x32.h"

#if !CNN_32X32_SPARSE_LABELS || CNN_32X32_INPUT_SIZE != 32 * 32 * 3 || CNN_32X32_OUTPUT_SIZE != 10
#error "cnn_32x32.nn must take 32x32x3 images and sparse labels and output 10 classes"
#endif

static cnn_32x32_t model NNC_RT_ALIGN64;
DRIVER_MODEL(cnn_32x32, CNN_32X32, model);

/* Fashion-MNIST in the shape of CIFAR: 28x28 -> 32x32x3 */
static int load(const data_args *a, driver_data *d)
{
    return driver_load_fashion(a, d) || data_pad_images(&d->train, 2, 3) ||
           data_pad_images(&d->test, 2, 3);
}

int main(int argc, char **argv)
{
    static const driver_spec spec = {
        .model = &cnn_32x32_driver,
        .show = DATA_SHOW_ACCURACY,
        .bars = DRIVER_BARS_TRAIN | DRIVER_BARS_EVAL,
        .load = load,
    };
    return driver_main(&spec, argc, argv);
}
