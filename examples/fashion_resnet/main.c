/* fashion_resnet driver: trains the generated Fashion-MNIST residual network
 * (batch norm, global average pooling) and reports the test accuracy.
 * Usage: fashion_resnet [--epochs N] [--seed S] [--limit N]
 * [--test-limit N] [--save FILE].  stdout is one line per epoch, then the
 * result as the last line ("test accuracy: 92.1%"); errors and the progress
 * bar go to stderr.  The loader's 28x28 floats per image are already the
 * model's channels-last 28x28x1 input, so the shared driver
 * (examples/common/driver.h) needs no hook.  The model is static: its struct
 * holds every parameter, gradient, optimizer state and activation and is too
 * big for the stack. */
#include "data.h"
#include "driver.h"
#include "fashion_resnet.h"

#if !FASHION_RESNET_SPARSE_LABELS || FASHION_RESNET_INPUT_SIZE != 784 || \
    FASHION_RESNET_OUTPUT_SIZE != 10
#error "fashion_resnet.nn must take 28x28x1 images and sparse labels and output 10 classes"
#endif

static fashion_resnet_t model NNC_RT_ALIGN64;
DRIVER_MODEL(fashion_resnet, FASHION_RESNET, model);

int main(int argc, char **argv)
{
    static const driver_spec spec = {
        .model = &fashion_resnet_driver,
        .show = DATA_SHOW_ACCURACY,
        .bars = DRIVER_BARS_TRAIN | DRIVER_BARS_EVAL,
    };
    return driver_main(&spec, argc, argv);
}
