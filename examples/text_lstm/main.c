/* text_lstm driver: "does token A occur before token B?" over sequences of
 * 20 token ids (see text_lstm.nn), 8000 training and 2000 test sequences
 * from a fixed seed, half of each class.  Fixed-length sequences, no
 * padding: the whole sequence is the text.
 * Usage: text_lstm [--epochs N] [--seed S] [--limit N] [--test-limit N]
 * [--save FILE]; the last stdout line is "test accuracy: 9x.x%".  The
 * shared driver (examples/common/driver.h) does the training; this file
 * makes the data. */
#include "data.h"
#include "driver.h"
#include "text_lstm.h"

#if TEXT_LSTM_INPUT_SIZE != 20 || TEXT_LSTM_INPUT_IDS != 30 || TEXT_LSTM_OUTPUT_SIZE != 1
#error "text_lstm.nn must read 20 token ids below 30 and output one probability"
#endif

enum { TRAIN = 8000, TEST = 2000, LEN = 20, TOKEN_A = 1, TOKEN_B = 2, FIRST_FILLER = 3 };
#define DATA_SEED 20240617u

static text_lstm_t model NNC_RT_ALIGN64;
DRIVER_MODEL(text_lstm, TEXT_LSTM, model);
static int32_t xtrain[TRAIN * LEN], xtest[TEST * LEN];
static float ytrain[TRAIN], ytest[TEST];

static void make_texts(nnc_rt_rng *r, void *xs, void *ys, long n)
{
    int32_t *x = xs;
    float *y = ys;
    long i;
    int t;
    for (i = 0; i < n; i++) {
        int32_t *s = x + i * LEN;
        int a = (int)(nnc_rt_rng_u32(r) % LEN), b;
        do
            b = (int)(nnc_rt_rng_u32(r) % LEN);
        while (b == a);
        for (t = 0; t < LEN; t++)
            s[t] = FIRST_FILLER + (int32_t)(nnc_rt_rng_u32(r) % (TEXT_LSTM_INPUT_IDS - FIRST_FILLER));
        s[a] = TOKEN_A;
        s[b] = TOKEN_B;
        y[i] = a < b ? 1.0f : 0.0f;
    }
}

int main(int argc, char **argv)
{
    static const driver_spec spec = {
        .model = &text_lstm_driver,
        .show = DATA_SHOW_ACCURACY,
        .make = make_texts,
        .data_seed = DATA_SEED,
        .arrays = { xtrain, ytrain, TRAIN, xtest, ytest, TEST },
    };
    return driver_main(&spec, argc, argv);
}
