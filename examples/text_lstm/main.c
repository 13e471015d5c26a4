/* text_lstm driver: "does token A occur before token B?" over sequences of
 * 20 token ids (see text_lstm.nn), 8000 training and 2000 test sequences
 * from a fixed seed, half of each class.  Fixed-length sequences, no
 * padding: the whole sequence is the text.
 * Usage: text_lstm [--epochs N] [--seed S] [--limit N] [--test-limit N];
 * the last stdout line is "test accuracy: 9x.x%". */
#include <stdio.h>
#include <stdlib.h>

#include "data.h"
#include "text_lstm.h"

#if TEXT_LSTM_INPUT_SIZE != 20 || TEXT_LSTM_INPUT_IDS != 30 || TEXT_LSTM_OUTPUT_SIZE != 1
#error "text_lstm.nn must read 20 token ids below 30 and output one probability"
#endif

enum { TRAIN = 8000, TEST = 2000, LEN = 20, TOKEN_A = 1, TOKEN_B = 2, FIRST_FILLER = 3 };
#define DATA_SEED 20240617u

static text_lstm_t model;
static int32_t xtrain[TRAIN * LEN], xtest[TEST * LEN], order[TRAIN];
static float ytrain[TRAIN], ytest[TEST];

static void make_texts(nnc_rt_rng *r, int32_t *x, float *y, long n)
{
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
    data_args args = { TEXT_LSTM_EPOCHS, 1, 0, 0, NULL };
    nnc_rt_metrics m;
    nnc_rt_rng rng;
    long epoch, ntrain = TRAIN, ntest = TEST;
    int rc = data_parse_args(argc, argv, &args);

    if (rc)
        return rc < 0 ? 0 : 2;
    if (args.limit > 0 && args.limit < ntrain)
        ntrain = args.limit;
    if (args.test_limit > 0 && args.test_limit < ntest)
        ntest = args.test_limit;
    nnc_rt_rng_seed(&rng, DATA_SEED);
    make_texts(&rng, xtrain, ytrain, TRAIN);
    make_texts(&rng, xtest, ytest, TEST);

    text_lstm_init(&model, args.seed);
    for (epoch = 1; epoch <= args.epochs; epoch++) {
        double t0 = data_now();
        nnc_rt_shuffle(order, ntrain, args.seed * 1000 + (uint64_t)epoch);
        rc = text_lstm_train_epoch(&model, xtrain, ytrain, ntrain, order, &m, NULL, NULL);
        if (rc == TEXT_LSTM_ERR_NAN) {
            data_report_nan(epoch);
            return 1;
        }
        if (rc != TEXT_LSTM_OK) {
            fprintf(stderr, "training failed at epoch %ld (error %d)\n", epoch, rc);
            return 1;
        }
        data_print_epoch(epoch, args.epochs, &m, DATA_SHOW_ACCURACY, data_now() - t0);
    }
    rc = text_lstm_evaluate(&model, xtest, ytest, ntest, &m, NULL, NULL);
    if (rc != TEXT_LSTM_OK) {
        fprintf(stderr, "evaluation failed (error %d)\n", rc);
        return 1;
    }
    printf("test accuracy: %.1f%%\n", data_percent(m.accuracy));
    return 0;
}
