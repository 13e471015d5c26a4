/* char_gru driver: trains the GRU character model on windows of six license
 * texts from Debian's base-files, one after the other (~113k characters;
 * windows at every 3rd position of the first 90%; the last 10% is the test
 * set, every 2nd position), reports the held-out cross-entropy per character in nats
 * next to two baselines -- the uniform guess, ln 96, and the text's own
 * character frequencies (a model that ignores the context) -- then samples
 * text from a prompt.  $NNC_TEXT names another text file to use instead.
 * Usage: char_gru [--epochs N] [--seed S] [--limit N] [--test-limit N]
 * [--save FILE]; the last stdout line is
 * "test loss: X nats per character (...)".  The shared driver
 * (examples/common/driver.h) does the training; this file makes the
 * windows and the report. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "char_gru.h"
#include "data.h"
#include "driver.h"

enum { CONTEXT = 32, VOCAB = 96, SAMPLE = 240, TRAIN_STRIDE = 3, TEST_STRIDE = 2 };
#if CHAR_GRU_INPUT_SIZE != 32 || CHAR_GRU_INPUT_IDS != 96 || CHAR_GRU_OUTPUT_SIZE != 96 || \
    !CHAR_GRU_SPARSE_LABELS
#error "char_gru.nn must read 32 character ids below 96 and predict one of 96"
#endif

static char_gru_t model NNC_RT_ALIGN64;
DRIVER_MODEL(char_gru, CHAR_GRU, model);

/* the whole text as ids, for the report; the test windows start at
 * corpus_split */
static const int32_t *corpus;
static long corpus_n, corpus_split;

/* newline -> 0, ' '..'~' -> 1..95, anything else reads as a space */
static int32_t char_id(int c) { return c == '\n' ? 0 : c >= 32 && c <= 126 ? c - 31 : 1; }
static int id_char(int32_t id) { return id == 0 ? '\n' : id + 31; }

/* appends the file's characters as ids to *ids (*n used, *cap allocated) */
static int read_file(const char *path, int32_t **ids, long *n, long *cap)
{
    FILE *f = fopen(path, "rb");
    int c;
    if (!f) {
        fprintf(stderr, "char_gru: cannot open %s (Debian's base-files ships it; or set NNC_TEXT)\n", path);
        return 1;
    }
    while ((c = getc(f)) != EOF) {
        if (*n == *cap) {
            int32_t *grown = realloc(*ids, sizeof **ids * (size_t)(*cap = *cap ? 2 * *cap : 65536));
            if (!grown) {
                fprintf(stderr, "char_gru: out of memory reading %s\n", path);
                fclose(f);
                return 1;
            }
            *ids = grown;
        }
        (*ids)[(*n)++] = char_id(c);
    }
    fclose(f);
    return 0;
}

/* the texts one after the other */
static int32_t *read_texts(const char *const *paths, int count, long *n)
{
    int32_t *ids = NULL;
    long cap = 0;
    int i;
    *n = 0;
    for (i = 0; i < count; i++)
        if (read_file(paths[i], &ids, n, &cap)) {
            free(ids);
            return NULL;
        }
    if (*n < 20 * CONTEXT) {
        fprintf(stderr, "char_gru: the text is too short (%ld characters)\n", *n);
        free(ids);
        return NULL;
    }
    return ids;
}

/* windows starting every `stride` characters of text[from, to) */
static long make_windows(const int32_t *text, long from, long to, long stride, long limit,
                         int32_t *x, int32_t *y)
{
    long n = 0, s;
    for (s = from; s + CONTEXT < to && (limit <= 0 || n < limit); s += stride, n++) {
        memcpy(x + n * CONTEXT, text + s, CONTEXT * sizeof *x);
        y[n] = text[s + CONTEXT];
    }
    return n;
}

/* ln-probability of each held-out character under the training text's frequencies */
static double unigram_loss(const int32_t *text, long split, long n)
{
    double count[VOCAB], loss = 0;
    long i;
    for (i = 0; i < VOCAB; i++)
        count[i] = 1;   /* add-one smoothing */
    for (i = 0; i < split; i++)
        count[text[i]]++;
    for (i = split + CONTEXT; i < n; i++)
        loss -= log(count[text[i]] / (double)(split + VOCAB));
    return loss / (double)(n - split - CONTEXT);
}

/* continue `prompt` by sampling from the model at temperature 0.5 */
static void print_sample(const char *prompt, uint64_t seed)
{
    int32_t ctx[CONTEXT];
    float p[VOCAB];
    nnc_rt_rng r;
    long len = (long)strlen(prompt), i;
    int k;
    nnc_rt_rng_seed(&r, seed);
    for (i = 0; i < CONTEXT; i++)
        ctx[i] = char_id(i < CONTEXT - len ? ' ' : prompt[i - (CONTEXT - len)]);
    printf("sample: %s", prompt);
    for (i = 0; i < SAMPLE; i++) {
        double sum = 0, u;
        char_gru_predict(&model, ctx, p, 1);
        for (k = 0; k < VOCAB; k++)
            sum += p[k] = (float)pow(p[k], 2.0);   /* temperature 0.5 */
        u = nnc_rt_rng_uniform(&r) * sum;
        for (k = 0; k < VOCAB - 1 && (u -= p[k]) > 0; k++)
            ;
        putchar(id_char(k));
        memmove(ctx, ctx + 1, (CONTEXT - 1) * sizeof *ctx);
        ctx[CONTEXT - 1] = k;
    }
    printf("\n");
}

/* the texts, then windows of the first 90% to train and of the rest to test */
static int load(const data_args *a, driver_data *d)
{
    static const char *const licenses[] = {
        "/usr/share/common-licenses/GPL-3", "/usr/share/common-licenses/GPL-2",
        "/usr/share/common-licenses/LGPL-2.1", "/usr/share/common-licenses/Apache-2.0",
        "/usr/share/common-licenses/MPL-2.0", "/usr/share/common-licenses/Artistic" };
    const char *own = getenv("NNC_TEXT");
    int32_t *text, *xtrain, *ytrain, *xtest, *ytest;
    long n, split;

    if (!(text = driver_keep(d, own ? read_texts(&own, 1, &n) : read_texts(licenses, 6, &n))))
        return 1;
    split = n - n / 10;
    corpus = text;
    corpus_n = n;
    corpus_split = split;
    xtrain = driver_alloc(d, (size_t)(split / TRAIN_STRIDE + 1) * CONTEXT, sizeof *xtrain, "training windows");
    ytrain = driver_alloc(d, (size_t)(split / TRAIN_STRIDE + 1), sizeof *ytrain, "training labels");
    xtest = driver_alloc(d, (size_t)(n - split) * CONTEXT, sizeof *xtest, "test windows");
    ytest = driver_alloc(d, (size_t)(n - split), sizeof *ytest, "test labels");
    if (!xtrain || !ytrain || !xtest || !ytest)
        return 1;
    d->ntrain = make_windows(text, 0, split, TRAIN_STRIDE, a->limit, xtrain, ytrain);
    d->ntest = make_windows(text, split, n, TEST_STRIDE, a->test_limit, xtest, ytest);
    d->xtrain = xtrain;
    d->ytrain = ytrain;
    d->xtest = xtest;
    d->ytest = ytest;
    return 0;
}

/* a sample of generated text, then the held-out loss next to its baselines */
static int report(const data_args *a, const driver_data *d, const nnc_rt_metrics *m)
{
    (void)d;
    print_sample("This License", a->seed);
    printf("test loss: %.3f nats per character (accuracy %.1f%%; uniform %.3f, "
           "character frequencies %.3f)\n", m->loss, data_percent(m->accuracy), log((double)VOCAB),
           unigram_loss(corpus, corpus_split, corpus_n));
    return 0;
}

int main(int argc, char **argv)
{
    static const driver_spec spec = {
        .model = &char_gru_driver,
        .show = DATA_SHOW_ACCURACY,
        .bars = DRIVER_BARS_TRAIN,
        .load = load,
        .report = report,
    };
    return driver_main(&spec, argc, argv);
}
