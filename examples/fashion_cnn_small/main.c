/* fashion_cnn_small driver: trains the generated Fashion-MNIST small CNN
 * (conv 32 3x3 relu -> dense 10 softmax) and reports the test accuracy.
 * Usage: fashion_cnn_small [--epochs N] [--seed S] [--limit N]
 * [--test-limit N] [--save FILE].  stdout is one line per epoch, then the
 * result as the last line ("test accuracy: 90.3%"); errors and the progress
 * bar go to stderr.  The loader's 28x28 floats per image are already the
 * model's channels-last 28x28x1 input, so the shared driver
 * (examples/common/driver.h) needs no hook.  The model is static: its struct
 * holds every parameter, gradient, optimizer state and activation and is too
 * big for the stack. */
#include "data.h"
#include "driver.h"
#include "fashion_cnn_small.h"

#if !FASHION_CNN_SMALL_SPARSE_LABELS || FASHION_CNN_SMALL_INPUT_SIZE != 784 || \
    FASHION_CNN_SMALL_OUTPUT_SIZE != 10
#error "fashion_cnn_small.nn must take 28x28x1 images and sparse labels and output 10 classes"
#endif

static fashion_cnn_small_t model NNC_RT_ALIGN64;
DRIVER_MODEL(fashion_cnn_small, FASHION_CNN_SMALL, model);

int main(int argc, char **argv)
{
    static const driver_spec spec = {
        .model = &fashion_cnn_small_driver,
        .show = DATA_SHOW_ACCURACY,
        .bars = DRIVER_BARS_TRAIN | DRIVER_BARS_EVAL,
    };
    return driver_main(&spec, argc, argv);
}
