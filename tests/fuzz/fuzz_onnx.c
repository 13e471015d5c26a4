/* fuzz_onnx.c — libFuzzer harness for the ONNX importer: the input is one
 * mode byte, then an .onnx file, compiled in-process as bin/nnc would
 * (front_onnx, which reads the file; pipeline_finish, the printers, emit_c;
 * outputs to /dev/null).
 *
 * The mode byte picks the options, so the training path (--train, which
 * appends a loss, autodiff and an optimizer to the imported graph) is fuzzed
 * as well as inference:
 *   bits 0-1  0: no --train; 1: --train sparse_categorical_crossentropy;
 *             2: --train mse --optimizer 'adam(lr = 1e-3)';
 *             3: --train <loss by bits 5-7> --optimizer 'sgd(lr = 0.1, momentum = 0.9, nesterov = true)'
 *   bit 2     -O0            bit 3  --inference          bit 4  --batch 3
 * To replay a file with bin/nnc: `tail -c +2 FILE > m.onnx` and those options.
 */
#include "fuzz_common.h"

static const char *const losses[8] = {
    "mse", "mae", "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
    "loss=mse", "categorical_crossentropy(from_logits = true)", "sparse_categorical_crossentropy(from_logits = true)" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    unsigned mode = data[0];
    char path[128];
    Build b = { .opt = mode & 4 ? 0 : 2, .inference = !!(mode & 8), .batch = mode & 16 ? 3 : 0 };
    switch (mode & 3) {
    case 1: b.train_loss = "sparse_categorical_crossentropy"; break;
    case 2: b.train_loss = "mse"; b.optimizer = "adam(lr = 1e-3)"; break;
    case 3:
        b.train_loss = losses[mode >> 5];
        if (!strncmp(b.train_loss, "loss=", 5)) b.train_loss += 5;   /* as main.c reads --train loss=NAME */
        b.optimizer = "sgd(lr = 0.1, momentum = 0.9, nesterov = true)";
        break;
    }
    fz_begin(DIAG_WARN);
    b.input = fz_write(".onnx", data + 1, size - 1, path, sizeof path);
    int unsupported = 0;
    fz_finish(front_onnx(&b, &unsupported), &b, target_default(), NULL);
    fz_remove(path);
    return 0;
}
