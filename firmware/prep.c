/* prep.c — host tool for firmware runs of any example: writes a model's
 * freshly initialised parameters (init(seed) then save(), the input of
 * nnc --weights) and COUNT random inputs (uniform [0, 1) floats, or token
 * ids below NAME_INPUT_IDS), for examples whose trained weights and data
 * are not needed to check that the device computes what the host does.
 * Built against the example's ordinary (host, training) generated code:
 *   cc -DNNC_MODEL=name -DNNC_UPPER=NAME '-DNNC_HEADER="name.h"' ...
 * Usage: prep PARAMS.bin INPUTS.bin COUNT */
#include <stdio.h>
#include <stdlib.h>

#include NNC_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define F(x) CAT(NNC_MODEL, CAT(_, x))
#define U(x) CAT(NNC_UPPER, CAT(_, x))

static CAT(NNC_MODEL, _t) model;
static unsigned char saved[U(SAVE_BYTES)];

int main(int argc, char **argv)
{
    FILE *p, *in;
    nnc_rt_rng r;
    long i, count;
    size_t len;
    if (argc != 4) {
        fprintf(stderr, "usage: prep PARAMS.bin INPUTS.bin COUNT\n");
        return 2;
    }
    count = atol(argv[3]) * U(INPUT_SIZE);
    F(init)(&model, 1);
    len = F(save)(&model, saved, sizeof saved);
    p = fopen(argv[1], "wb");
    in = fopen(argv[2], "wb");
    if (!p || !in || fwrite(saved, 1, len, p) != len) {
        fprintf(stderr, "prep: cannot write %s or %s\n", argv[1], argv[2]);
        return 1;
    }
    nnc_rt_rng_seed(&r, 7);
    for (i = 0; i < count; i++) {
        CAT(NNC_MODEL, _input_t) v = U(INPUT_IDS) ? (CAT(NNC_MODEL, _input_t))(nnc_rt_rng_u32(&r) %
                                         (U(INPUT_IDS) ? U(INPUT_IDS) : 1))
                                   : (CAT(NNC_MODEL, _input_t))nnc_rt_rng_uniform(&r);
        fwrite(&v, sizeof v, 1, in);
    }
    return fclose(p) || fclose(in) ? 1 : 0;
}
