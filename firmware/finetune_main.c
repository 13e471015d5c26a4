/* finetune_main.c — on-device training: the model's frozen layers are baked
 * constants and the trainable ones start from the weights file; samples
 * come from a host file one at a time (each 784 floats and its class as a
 * float), so RAM holds one sample, not a dataset.  Reports the held-out
 * loss and accuracy before and after, the mean training loss of each
 * epoch, and the memory, like infer_main.c.
 * Arguments: TRAIN.bin NTRAIN HELD.bin NHELD EPOCHS. */
#include <math.h>
#include <stdlib.h>

#include "board.h"
#include NNC_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define F(x) CAT(NNC_MODEL, CAT(_, x))
#define U(x) CAT(NNC_UPPER, CAT(_, x))

#if !U(SPARSE_LABELS) || U(BATCH) != 1
#error "finetune_main.c wants a classifier with sparse labels compiled with --batch 1"
#endif

static CAT(NNC_MODEL, _t) model;
static float x[U(INPUT_SIZE)], y[U(OUTPUT_SIZE)];

/* the next sample of an open file into x and *label; 0 at the end */
static int next_sample(int h, CAT(NNC_MODEL, _label_t) *label)
{
    float l;
    if (board_read(h, x, (long)sizeof x) != (long)sizeof x || board_read(h, &l, 4) != 4)
        return 0;
    *label = (CAT(NNC_MODEL, _label_t))l;
    return 1;
}

/* held-out mean cross-entropy and accuracy of the model as it is */
static int held_out(const char *path, long n, double *loss, double *acc)
{
    CAT(NNC_MODEL, _label_t) label;
    long i, right = 0;
    int h = board_open(path, 0), k, best;
    *loss = 0;
    if (h < 0)
        return -1;
    for (i = 0; i < n && next_sample(h, &label); i++) {
        F(predict)(&model, x, y, 1);
        for (best = 0, k = 1; k < U(OUTPUT_SIZE); k++)
            if (y[k] > y[best])
                best = k;
        right += best == label;
        *loss -= log(y[label] > 1e-7f ? y[label] : 1e-7f);
    }
    board_close(h);
    *loss /= (double)i;
    *acc = (double)right / (double)i;
    return i == n ? 0 : -1;
}

int fw_main(void)
{
    const char *train, *held;
    long ntrain, nheld, epochs, e, i;
    double loss0, acc0, loss1, acc1;
    board_init();
    train = board_arg(1);
    held = board_arg(3);
    if (!train || !board_arg(2) || !held || !board_arg(4) || !board_arg(5)) {
        board_puts("usage: finetune TRAIN.bin NTRAIN HELD.bin NHELD EPOCHS\n");
        return 2;
    }
    ntrain = atol(board_arg(2));
    nheld = atol(board_arg(4));
    epochs = atol(board_arg(5));
    F(init)(&model, 1);
    if (held_out(held, nheld, &loss0, &acc0)) {
        fw_puts("firmware: cannot read", held, 0);
        return 1;
    }
    for (e = 1; e <= epochs; e++) {
        CAT(NNC_MODEL, _label_t) label;
        double sum = 0;
        int h = board_open(train, 0);
        char buf[24], lb[40];
        if (h < 0) {
            fw_puts("firmware: cannot open", train, 0);
            return 1;
        }
        for (i = 0; i < ntrain && next_sample(h, &label); i++) {
            float l = F(train_batch)(&model, x, &label, 1);
            if (!(l - l == 0)) {
                board_puts("firmware: the loss became NaN\n");
                return 1;
            }
            sum += l;
        }
        board_close(h);
        if (i < ntrain) {
            fw_puts("firmware: short training file", train, 0);
            return 1;
        }
        board_puts("epoch ");
        board_puts(fw_long_str(e, buf));
        fw_puts(" loss", fw_float_str(sum / (double)ntrain, 4, lb), 0);
    }
    if (held_out(held, nheld, &loss1, &acc1))
        return 1;
    fw_put_float("held-out loss before", loss0, 4);
    fw_put_float("held-out loss after", loss1, 4);
    fw_put_float("held-out accuracy before", acc0 * 100, 1);
    fw_put_float("held-out accuracy after", acc1 * 100, 1);
    fw_report_memory((long)sizeof model);
    return 0;
}
