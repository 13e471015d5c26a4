/* model_check.c — a generic driver compiled against any generated model
 * (cc -DNNC_MODEL=name -DNNC_UPPER=NAME -DNNC_HEADER='"name.h"'), used by test_models.c.
 *
 *   model_check gradcheck   central differences of gradients() vs m->grads
 *   model_check outputs     prints predict() outputs and 3 train_batch losses
 *   model_check saveload    save/load round trip, corrupted/foreign buffers
 *   model_check save FILE [STEPS]  writes the parameters (init(7), then STEPS
 *                           train_batch steps) to FILE, for nnc --weights
 *   model_check nonfinite [SCALE]  a NaN in the input, then clean batches
 *                           (inputs times SCALE): what train_batch/train_epoch
 *                           return, and whether the parameters stay finite
 *   model_check fpmode      each entry point runs with flush-to-zero (inputs of
 *                           1e-39, subnormal, give exactly 0 through a dense layer
 *                           without bias) and gives the caller's setting back, off
 *                           or on
 * (gradcheck and the losses need a train block; the rest works without) 
 *
 * Each mode prints "key value" lines that the test parses and asserts on.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include NNC_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define F(x) CAT(NNC_MODEL, CAT(_, x))
#define U(x) CAT(NNC_UPPER, CAT(_, x))
#define T CAT(NNC_MODEL, _t)
#define LABEL_T CAT(NNC_MODEL, _label_t)

static T model, copy;
#define N 5
typedef CAT(NNC_MODEL, _input_t) INPUT_T;
/* at least the model's sizes (a 96x96x3 input is 27,648 values) */
#define AT_LEAST(a, b) ((a) > (b) ? (a) : (b))
#define OUT_CAP AT_LEAST(1024, U(OUTPUT_SIZE))
static INPUT_T x[N * AT_LEAST(4096, U(INPUT_SIZE))];
static LABEL_T y[N * AT_LEAST(OUT_CAP, U(LABEL_SIZE))];

/* labels: LABEL_SIZE per sample; sparse ones are classes below out / LABEL_SIZE
 * (an imported model's output holds LABEL_SIZE rows of classes) */
static void make_batch(long in, long out, int sparse, nnc_rt_rng *r) {
    long i, per = sparse ? U(LABEL_SIZE) : 1;
    for (i = 0; i < N * in; i++)
        x[i] = U(INPUT_IDS) ? (INPUT_T)(nnc_rt_rng_u32(r) % (U(INPUT_IDS) ? U(INPUT_IDS) : 1))
                            : (INPUT_T)(2 * nnc_rt_rng_uniform(r) - 1);
    for (i = 0; i < N * (sparse ? per : out); i++) {
        if (sparse) y[i] = (LABEL_T)(nnc_rt_rng_u32(r) % (uint32_t)(out / per));
        else y[i] = (LABEL_T)(nnc_rt_rng_uniform(r) < 0.5f ? 0.0f : 1.0f);
    }
    /* one-hot rows for categorical targets with several outputs */
    if (!sparse && out > 1)
        for (i = 0; i < N; i++) {
            long j, hot = (long)(nnc_rt_rng_u32(r) % (uint32_t)out);
            for (j = 0; j < out; j++) y[i * out + j] = (LABEL_T)(j == hot);
        }
}

#if U(HAS_TRAINING)
/* a NaN in one input value: no step, the parameters as they were, the NaN
 * code from train_epoch; then a clean batch: does its step stay finite? */
static void nonfinite(int n, double scale) {
    long i;
    INPUT_T keep = x[0];
    memcpy(&copy, &model, sizeof model);
    x[0] = (INPUT_T)NAN;
    float loss = F(train_batch)(&model, x, y, n);
    printf("nan_input_loss_nan %d\n", loss != loss);
    printf("params_unchanged %d\n", !memcmp(model.params, copy.params, sizeof model.params));
    printf("epoch_status %d\n", F(train_epoch)(&model, x, y, n, NULL, NULL, NULL, NULL));
    printf("params_unchanged_after_epoch %d\n", !memcmp(model.params, copy.params, sizeof model.params));
#if U(CHECK_NUMERICS)
    printf("nonfinite_at %s\n", model.nonfinite_at ? model.nonfinite_at : "-");
#endif
    x[0] = keep;
    for (i = 0; i < n * U(INPUT_SIZE); i++) x[i] = (INPUT_T)(x[i] * scale);
    int nan_steps = 0, ok_but_nonfinite = 0, step;
    for (step = 0; step < 5; step++) {   /* clean batches: a NaN return is the only way to non-finite */
        int finite = 1;
        loss = F(train_batch)(&model, x, y, n);
        for (i = 0; i < U(PARAM_COUNT); i++) finite &= model.params[i] - model.params[i] == 0;
        nan_steps += loss != loss;
        ok_but_nonfinite |= loss == loss && !finite;
    }
    printf("clean_nan_steps %d\nok_but_nonfinite %d\n", nan_steps, ok_but_nonfinite);
}
#endif

/* the flush bits after CALL are the caller's: called with them off, then on */
static nnc_rt_fpmode bits, off;
static int same_bits(nnc_rt_fpmode want) {
    int ok = (nnc_rt_fp_get() & bits) == (want & bits);
    nnc_rt_fp_set(off);
    return ok;
}
#define KEEPS_MODE(CALL) \
    (nnc_rt_fp_set(off), (CALL), same_bits(off) && (nnc_rt_fp_set(off | bits), (CALL), same_bits(off | bits)))

static void fpmode(int n) {
    static float out[N * OUT_CAP];
    long i, nonzero = 0;
    bits = nnc_rt_fp_flush_bits();
    off = nnc_rt_fp_get() & ~bits;
    for (i = 0; i < n * U(INPUT_SIZE); i++) x[i] = (INPUT_T)(1e-39 * (i % 7 + 1));
    printf("flush_bits %lu\n", (unsigned long)bits);
    printf("predict_keeps %d\n", KEEPS_MODE(F(predict)(&model, x, out, n)));
    F(predict)(&model, x, out, n);      /* called with flushing off */
    for (i = 0; i < n * U(OUTPUT_SIZE); i++) nonzero += out[i] != 0;
    printf("subnormal_outputs %ld\n", nonzero);
#if U(HAS_TRAINING)
    printf("gradients_keeps %d\n", KEEPS_MODE(F(gradients)(&model, x, y, n)));
    printf("train_batch_keeps %d\n", KEEPS_MODE(F(train_batch)(&model, x, y, n)));
    printf("train_epoch_keeps %d\n", KEEPS_MODE(F(train_epoch)(&model, x, y, n, NULL, NULL, NULL, NULL)));
    printf("evaluate_keeps %d\n", KEEPS_MODE(F(evaluate)(&model, x, y, n, NULL, NULL, NULL)));
#endif
}

static void saveload(void) {
    static unsigned char buf[U(SAVE_BYTES)];
    size_t len = F(save)(&model, buf, sizeof buf);
    printf("saved %ld\n", (long)len);
    printf("small_cap %ld\n", (long)F(save)(&model, buf, sizeof buf - 1));
    F(init)(&copy, 99);
    printf("load %d\n", F(load)(&copy, buf, len));
    printf("same %d\n", !memcmp(copy.params, model.params, sizeof model.params));
    buf[len / 2] ^= 0x40;
    printf("corrupt %d\n", F(load)(&copy, buf, len));
    buf[len / 2] ^= 0x40;
    buf[9] ^= 1;   /* another model's fingerprint */
    printf("foreign %d\n", F(load)(&copy, buf, len));
    buf[9] ^= 1;
    printf("truncated %d\n", F(load)(&copy, buf, len - 1));
    printf("garbage %d\n", F(load)(&copy, "hello world, not a model", 24));
}

int main(int argc, char **argv) {
    nnc_rt_rng r;
    const char *mode = argc > 1 ? argv[1] : "gradcheck";
    int n = N < U(BATCH) ? N : U(BATCH);
    nnc_rt_rng_seed(&r, 42);
    F(init)(&model, 7);
    make_batch(U(INPUT_SIZE), U(OUTPUT_SIZE), U(SPARSE_LABELS), &r);
    (void)n;
#if U(HAS_TRAINING)
    if (!strcmp(mode, "gradcheck")) {
        /* every call draws the same dropout masks: the rng is reset each time.
         * A parameter whose step crosses a kink (relu at 0, a max changing
         * hands) shows as disagreeing one-sided differences; it is counted
         * as kinked and skipped, since no derivative exists there. */
        static float grads[U(TRAINABLE_COUNT)];
        long i, step = U(TRAINABLE_COUNT) / 300 + 1, checked = 0, bad = 0, kinked = 0;
        double worst = 0;
        const float h = argc > 2 ? (float)atof(argv[2]) : 3e-3f;
        nnc_rt_rng rng = model.rng;
        float loss = F(gradients)(&model, x, y, n);
        memcpy(grads, model.grads, sizeof grads);
        for (i = 0; i < U(TRAINABLE_COUNT); i += step) {
            float keep = model.params[i], lp, lm;
            double num, up, down, err;
            model.params[i] = keep + h;
            model.rng = rng;
            lp = F(gradients)(&model, x, y, n);
            model.params[i] = keep - h;
            model.rng = rng;
            lm = F(gradients)(&model, x, y, n);
            model.params[i] = keep;
            up = ((double)lp - loss) / h;
            down = ((double)loss - lm) / h;
            if (fabs(up - down) > 0.2 * (fabs(up) + fabs(down)) + 2e-3) {
                kinked++;
                continue;
            }
            num = ((double)lp - lm) / (2.0 * h);
            err = fabs(num - grads[i]) / (1e-3 + fabs(num) + fabs(grads[i]));
            if (err > worst) worst = err;
            if (err > 5e-2) {
                bad++;
                if (bad < 5) fprintf(stderr, "param %ld: numeric %.6g analytic %.6g\n", i, num, grads[i]);
            }
            checked++;
        }
        model.rng = rng;
        F(gradients)(&model, x, y, n);
        printf("loss %.6f\nchecked %ld\nkinked %ld\nbad %ld\nworst %.3g\n", loss, checked, kinked, bad, worst);
    }
#endif
    if (!strcmp(mode, "saveload")) saveload();
    if (!strcmp(mode, "fpmode")) fpmode(n);
#if U(HAS_TRAINING)
    if (!strcmp(mode, "nonfinite")) nonfinite(n, argc > 2 ? atof(argv[2]) : 1.0);
#endif
    if (!strcmp(mode, "save") && argc > 2) {
        static unsigned char buf[U(SAVE_BYTES)];
#if U(HAS_TRAINING)
        for (int step = argc > 3 ? atoi(argv[3]) : 0; step > 0; step--) F(train_batch)(&model, x, y, n);
#endif
        size_t len = F(save)(&model, buf, sizeof buf);
        FILE *f = fopen(argv[2], "wb");
        if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) return 1;
        printf("saved %ld\n", (long)len);
    }
    if (!strcmp(mode, "outputs")) {
        static float out[N * OUT_CAP];
        int i;
        F(predict)(&model, x, out, N);
        for (i = 0; i < N * U(OUTPUT_SIZE); i++) printf("out %.7g\n", out[i]);
#if U(HAS_TRAINING)
        for (i = 0; i < 3; i++) printf("loss %.7g\n", F(train_batch)(&model, x, y, n));
#endif
    }
    return 0;
}

