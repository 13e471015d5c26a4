/* submodel_check.c — the C half of tests/multi_output_torch.py's sub-model
 * case: a model trained and saved, and a sub-model of it run on the saved
 * parameters.
 *
 *   cc -DNNC_MODEL=m -DNNC_UPPER=M '-DNNC_HEADER="m.h"' [-DLOAD_FROM] tests/submodel_check.c m.c libnnc_rt.a -lm
 *
 * Reads from stdin (int32, float32): n, steps, then per step n samples of
 * x and labels (train_batch; steps 0 for a model without training), then e
 * and e samples of x.  With argv[1] and steps > 0 it saves the parameters
 * there after the steps; with LOAD_FROM and argv[1] it first loads that
 * file with NAME_load_from, printing its status (int32) before anything
 * else; -DLOAD_FROM_BYTES=N truncates the buffer to N bytes.  Writes the
 * parameters (PARAM_COUNT floats) and predict's outputs for the e samples.
 * Exit status 2 on short input or an unreadable file, 3 when an entry point
 * refuses. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include NNC_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define F(x) CAT(NNC_MODEL, CAT(_, x))
#define U(x) CAT(NNC_UPPER, CAT(_, x))
#define MAX 256

static CAT(NNC_MODEL, _t) model;
static float x[MAX * U(INPUT_SIZE)], out[MAX * U(OUTPUT_SIZE)];
static CAT(NNC_MODEL, _label_t) y[MAX * U(LABEL_SIZE)];
static unsigned char buf[1 << 20];

static int get(void *p, size_t size, size_t count) { return fread(p, size, count, stdin) == count; }
static void put(const void *p, size_t size, size_t count) { fwrite(p, size, count, stdout); }

int main(int argc, char **argv) {
    int32_t n, steps, e;
    (void)argc;
    (void)argv;
    (void)buf;
    F(init)(&model, 1);
#ifdef LOAD_FROM
    if (argc > 1) {
        FILE *f = fopen(argv[1], "rb");
        if (!f) return 2;
        size_t len = fread(buf, 1, sizeof buf, f);
        fclose(f);
#ifdef LOAD_FROM_BYTES
        len = LOAD_FROM_BYTES;
#endif
        int32_t rc = F(load_from)(&model, buf, len);
        put(&rc, 4, 1);
    }
#endif
    if (!get(&n, 4, 1) || !get(&steps, 4, 1) || n < 1 || n > MAX) return 2;
    for (int s = 0; s < steps; s++) {
        if (!get(x, sizeof x[0], (size_t)n * U(INPUT_SIZE)) || !get(y, sizeof y[0], (size_t)n * U(LABEL_SIZE)))
            return 2;
#if U(HAS_TRAINING)
        if (F(train_batch)(&model, x, y, n) < 0) return 3;
#endif
    }
#if U(HAS_TRAINING)
    if (argc > 1 && steps > 0) {
        size_t len = F(save)(&model, buf, sizeof buf);
        FILE *f = fopen(argv[1], "wb");
        if (!len || !f || fwrite(buf, 1, len, f) != len) return 2;
        fclose(f);
    }
#endif
    if (!get(&e, 4, 1) || e < 1 || e > MAX || !get(x, sizeof x[0], (size_t)e * U(INPUT_SIZE))) return 2;
    put(model.params, sizeof(float), U(PARAM_COUNT));
    F(predict)(&model, x, out, e);
    put(out, sizeof(float), (size_t)e * U(OUTPUT_SIZE));
    return 0;
}
