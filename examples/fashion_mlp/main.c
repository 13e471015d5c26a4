/* fashion_mlp driver: trains the generated Fashion-MNIST MLP and reports the
 * test accuracy.  Usage: fashion_mlp [--epochs N] [--seed S] [--limit N]
 * [--test-limit N] [--save FILE]; --save writes the trained parameters (the
 * input of nnc --weights).  stdout is one line per epoch, then the result as the
 * last line ("test accuracy: 87.9%"); errors and the progress bar go to
 * stderr.  The shared driver (examples/common/driver.h) does all of it; the
 * model is static: its struct holds every parameter, gradient, optimizer
 * state and activation and is too big for the stack. */
#include "data.h"
#include "driver.h"
#include "fashion_mlp.h"

#if !FASHION_MLP_SPARSE_LABELS || FASHION_MLP_INPUT_SIZE != 784 || FASHION_MLP_OUTPUT_SIZE != 10
#error "fashion_mlp.nn must take 28x28 images and sparse labels and output 10 classes"
#endif

static fashion_mlp_t model NNC_RT_ALIGN64;
DRIVER_MODEL(fashion_mlp, FASHION_MLP, model);

int main(int argc, char **argv)
{
    static const driver_spec spec = {
        .model = &fashion_mlp_driver,
        .show = DATA_SHOW_ACCURACY,
        .bars = DRIVER_BARS_TRAIN | DRIVER_BARS_EVAL,
    };
    return driver_main(&spec, argc, argv);
}
