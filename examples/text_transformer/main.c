/* text_transformer driver: "are the first and the last token the same?"
 * over sequences of 12 token ids below 10 (see text_transformer.nn), 8000
 * training and 2000 test sequences from a fixed seed, half of each class.
 * Usage: text_transformer [--epochs N] [--seed S] [--limit N]
 * [--test-limit N] [--save FILE]; the last stdout line is "test accuracy:
 * 9x.x%".  The shared driver (examples/common/driver.h) does the training;
 * this file makes the data. */
#include "data.h"
#include "driver.h"
#include "text_transformer.h"

#if TEXT_TRANSFORMER_INPUT_SIZE != 12 || TEXT_TRANSFORMER_INPUT_IDS != 10 || TEXT_TRANSFORMER_OUTPUT_SIZE != 1
#error "text_transformer.nn must read 12 token ids below 10 and output one probability"
#endif

enum { TRAIN = 8000, TEST = 2000, LEN = 12, VOCAB = 10 };
#define DATA_SEED 20261207u

static text_transformer_t model NNC_RT_ALIGN64;
DRIVER_MODEL(text_transformer, TEXT_TRANSFORMER, model);
static int32_t xtrain[TRAIN * LEN], xtest[TEST * LEN];
static float ytrain[TRAIN], ytest[TEST];

/* every other sequence ends with its first token; the others with another
 * one, so that the classes are balanced and the tokens in between are noise */
static void make_texts(nnc_rt_rng *r, void *xs, void *ys, long n)
{
    int32_t *x = xs;
    float *y = ys;
    long i;
    int t;
    for (i = 0; i < n; i++) {
        int32_t *s = x + i * LEN;
        int same = (int)(i & 1);
        for (t = 0; t < LEN; t++)
            s[t] = (int32_t)(nnc_rt_rng_u32(r) % VOCAB);
        if (same)
            s[LEN - 1] = s[0];
        else
            s[LEN - 1] = (s[0] + 1 + (int32_t)(nnc_rt_rng_u32(r) % (VOCAB - 1))) % VOCAB;
        y[i] = (float)same;
    }
}

int main(int argc, char **argv)
{
    static const driver_spec spec = {
        .model = &text_transformer_driver,
        .show = DATA_SHOW_ACCURACY,
        .make = make_texts,
        .data_seed = DATA_SEED,
        .arrays = { xtrain, ytrain, TRAIN, xtest, ytest, TEST },
    };
    return driver_main(&spec, argc, argv);
}
