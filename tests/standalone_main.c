/* standalone_main.c — a driver for any generated model (tests/standalone.sh):
 * -DMODEL=prefix -DUPPER=PREFIX -DHEADER='"dir/prefix.h"'.  A few training
 * steps on fixed data (when the model trains), then predict on three
 * samples; prints every loss and output with 9 digits, so two builds of one
 * model can be compared with cmp. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define M(name) CAT(MODEL, name)
#define U(name) CAT(UPPER, name)

static CAT(MODEL, _t) model;

int main(void) {
    enum { N = U(_BATCH) };
    static M(_input_t) x[N * U(_INPUT_SIZE)];
    static float y[N * U(_OUTPUT_SIZE)];
    for (long i = 0; i < (long)N * U(_INPUT_SIZE); i++) {
#if U(_INPUT_IDS)
        x[i] = (M(_input_t))((i * 7 + 3) % U(_INPUT_IDS));
#else
        x[i] = (M(_input_t))sin(0.37 * (double)i);
#endif
    }
    M(_init)(&model, 7);
#if U(_HAS_TRAINING)
    static M(_label_t) t[N * U(_LABEL_SIZE)];
    for (long i = 0; i < (long)N * U(_LABEL_SIZE); i++) {
#if U(_SPARSE_LABELS)
        t[i] = (M(_label_t))(i % U(_OUTPUT_SIZE));
#else
        t[i] = (M(_label_t))(i % 2);
#endif
    }
    for (int step = 0; step < 3; step++) printf("loss %.9g\n", (double)M(_train_batch)(&model, x, t, N));
#endif
    long n = N < 3 ? N : 3;
    M(_predict)(&model, x, y, n);
    for (long i = 0; i < n * U(_OUTPUT_SIZE); i++) printf("%.9g\n", (double)y[i]);
    return 0;
}
