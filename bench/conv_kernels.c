/* conv_kernels.c — times the runtime's convolution kernels (runtime/conv.c)
 * on the shapes that matter: the seed small CNN's first layer (28x28x1 ->
 * 32, 3x3 valid, relu) at batch 1/32/256 forward and its training kernels,
 * ResNet-18's 3x3 convolutions (stride 1 and 2), 1x1 pointwise and the
 * ResNet stem, MobileNetV2's depthwise 3x3 and pointwise layers.  Each row
 * is the median of 9 rounds, a round being enough calls to last ~20 ms;
 * prints microseconds per call and GFLOP/s, counting 2*n*oh*ow*oc*kh*kw*c/groups
 * flops (padding taps included).  Single-threaded.
 *
 *   cc -O3 -march=native -Iruntime bench/conv_kernels.c build/libnnc_rt.a -lm -o conv_kernels
 *   ./conv_kernels [substring]     only the rows whose name contains it
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nnc_rt.h"
#include "conv_bench.h"

enum { FWD, BWD_DATA, BWD_FILTER };

typedef struct shape {
    const char *name;
    int kind, n, h, w, c, oc, k, s, pad, groups, act;
} shape;

/* pad is symmetric ("same" for odd k at stride 1 = k/2); Keras-style
 * same-with-stride-2 is approximated by the symmetric pad k/2 */
static const shape shapes[] = {
    /* name                  kind        n   h    w    c    oc   k  s  pad g    act */
    {"cnn1 28x28x1->32 b1",   FWD,        1,  28,  28,  1,   32,  3, 1, 0, 1,   NNC_RT_ACT_RELU},
    {"cnn1 28x28x1->32 b32",  FWD,        32, 28,  28,  1,   32,  3, 1, 0, 1,   NNC_RT_ACT_RELU},
    {"cnn1 28x28x1->32 b256", FWD,        256, 28, 28,  1,   32,  3, 1, 0, 1,   NNC_RT_ACT_RELU},
    {"cnn1 dw b32",           BWD_FILTER, 32, 28,  28,  1,   32,  3, 1, 0, 1,   0},
    {"cnn1 dx b32",           BWD_DATA,   32, 28,  28,  1,   32,  3, 1, 0, 1,   0},
    {"rgb 32x32x3->32 b1",    FWD,        1,  32,  32,  3,   32,  3, 1, 0, 1,   NNC_RT_ACT_RELU},
    {"rgb 32x32x3->32 b32",   FWD,        32, 32,  32,  3,   32,  3, 1, 0, 1,   NNC_RT_ACT_RELU},
    {"rgb dw b32",            BWD_FILTER, 32, 32,  32,  3,   32,  3, 1, 0, 1,   0},
    {"resnet 28x28x1->16 same b1", FWD,   1,  28,  28,  1,   16,  3, 1, 1, 1,   NNC_RT_ACT_RELU},
    {"r18 56x56 64->64",      FWD,        1,  56,  56,  64,  64,  3, 1, 1, 1,   NNC_RT_ACT_RELU},
    {"r18 28x28 128->128",    FWD,        1,  28,  28,  128, 128, 3, 1, 1, 1,   NNC_RT_ACT_RELU},
    {"r18 14x14 256->256",    FWD,        1,  14,  14,  256, 256, 3, 1, 1, 1,   NNC_RT_ACT_RELU},
    {"r18 7x7 512->512",      FWD,        1,  7,   7,   512, 512, 3, 1, 1, 1,   NNC_RT_ACT_RELU},
    {"r18 56->28 64->128 s2", FWD,        1,  56,  56,  64,  128, 3, 2, 1, 1,   NNC_RT_ACT_RELU},
    {"r18 1x1 s2 64->128",    FWD,        1,  56,  56,  64,  128, 1, 2, 0, 1,   NNC_RT_ACT_LINEAR},
    {"r18 stem 224x3->64 7x7s2", FWD,     1,  224, 224, 3,   64,  7, 2, 3, 1,   NNC_RT_ACT_RELU},
    {"r18 14x14 256 dw",      BWD_FILTER, 1,  14,  14,  256, 256, 3, 1, 1, 1,   0},
    {"r18 7x7 512 dw",        BWD_FILTER, 1,  7,   7,   512, 512, 3, 1, 1, 1,   0},
    {"r18 28x28 128 dw",      BWD_FILTER, 1,  28,  28,  128, 128, 3, 1, 1, 1,   0},
    {"r18 stem dw",           BWD_FILTER, 1,  224, 224, 3,   64,  7, 2, 3, 1,   0},
    {"r18 28x28 128 dx",      BWD_DATA,   1,  28,  28,  128, 128, 3, 1, 1, 1,   0},
    {"mnv2 pw 56x56 24->144", FWD,        1,  56,  56,  24,  144, 1, 1, 0, 1,   NNC_RT_ACT_RELU},
    {"mnv2 pw 56x56 144->24", FWD,        1,  56,  56,  144, 24,  1, 1, 0, 1,   NNC_RT_ACT_LINEAR},
    {"mnv2 pw 112x112 16->96", FWD,       1,  112, 112, 16,  96,  1, 1, 0, 1,   NNC_RT_ACT_RELU6},
    {"mnv2 pw 112x112 32->16", FWD,       1,  112, 112, 32,  16,  1, 1, 0, 1,   NNC_RT_ACT_LINEAR},
    {"mnv2 pw 28x28 32->192", FWD,        1,  28,  28,  32,  192, 1, 1, 0, 1,   NNC_RT_ACT_RELU6},
    {"mnv2 pw 14x14 384->64", FWD,        1,  14,  14,  384, 64,  1, 1, 0, 1,   NNC_RT_ACT_LINEAR},
    {"mnv2 pw 7x7 960->160",  FWD,        1,  7,   7,   960, 160, 1, 1, 0, 1,   NNC_RT_ACT_LINEAR},
    {"mnv2 pw 7x7 320->1280", FWD,        1,  7,   7,   320, 1280, 1, 1, 0, 1,  NNC_RT_ACT_RELU6},
    {"mnv2 dw 112x112 32",    FWD,        1,  112, 112, 32,  32,  3, 1, 1, 32,  NNC_RT_ACT_RELU},
    {"mnv2 dw 56x56 144",     FWD,        1,  56,  56,  144, 144, 3, 1, 1, 144, NNC_RT_ACT_RELU},
    {"mnv2 dw 56->28 144 s2", FWD,        1,  56,  56,  144, 144, 3, 2, 1, 144, NNC_RT_ACT_RELU},
    {"mnv2 dw 112->56 96 s2", FWD,        1,  112, 112, 96,  96,  3, 2, 1, 96,  NNC_RT_ACT_RELU6},
    {"mnv2 dw 28x28 192",     FWD,        1,  28,  28,  192, 192, 3, 1, 1, 192, NNC_RT_ACT_RELU6},
    {"mnv2 dw 7x7 960",       FWD,        1,  7,   7,   960, 960, 3, 1, 1, 960, NNC_RT_ACT_RELU6},
    {"mnv2 dw 14x14 576",     FWD,        1,  14,  14,  576, 576, 3, 1, 1, 576, NNC_RT_ACT_RELU},
    {"mnv2 dw 56x56 144 dw",  BWD_FILTER, 1,  56,  56,  144, 144, 3, 1, 1, 144, 0},
    {"mnv2 dw 56x56 144 dx",  BWD_DATA,   1,  56,  56,  144, 144, 3, 1, 1, 144, 0},
};
#define NSHAPES ((int)(sizeof shapes / sizeof shapes[0]))
#define ROUNDS 9

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void run(const shape *sh, const nnc_rt_conv2d *p, float *y, float *x, float *w, float *b,
                float *scratch)
{
    switch (sh->kind) {
    case FWD:
        nnc_rt_conv2d_forward(p, y, x, w, b, scratch, sh->n, sh->act);
        break;
    case BWD_DATA: /* x is dx, y is dy */
        nnc_rt_conv2d_backward_data(p, x, y, w, scratch, sh->n);
        break;
    default:       /* w is dw, y is dy */
        nnc_rt_conv2d_backward_filter(p, w, y, x, scratch, sh->n);
        break;
    }
}

int main(int argc, char **argv)
{
    static const char *kinds[] = {"fwd", "bwd_data", "bwd_filter"};
    int i, r;
    printf("%-28s %-10s %4s %12s %9s\n", "shape", "kernel", "n", "us", "GFLOP/s");
    for (i = 0; i < NSHAPES; i++) {
        const shape *sh = &shapes[i];
        nnc_rt_conv2d p;
        long nx, ny, nw, ns, reps, k;
        double flops, t[ROUNDS], t0, once;
        float *x, *y, *w, *b, *scratch;
        if (argc > 1 && !strstr(sh->name, argv[1]))
            continue;
        p.h = sh->h; p.w = sh->w; p.c = sh->c; p.oc = sh->oc;
        p.kh = p.kw = sh->k; p.sh = p.sw = sh->s; p.dh = p.dw = 1;
        p.pt = p.pl = sh->pad; p.groups = sh->groups;
        p.oh = (sh->h + 2 * sh->pad - sh->k) / sh->s + 1;
        p.ow = (sh->w + 2 * sh->pad - sh->k) / sh->s + 1;
        nx = (long)sh->n * p.h * p.w * p.c;
        ny = (long)sh->n * p.oh * p.ow * p.oc;
        nw = (long)p.kh * p.kw * (p.c / p.groups) * p.oc;
        ns = NNC_RT_CONV2D_SCRATCH(&p);
        x = fill(nx, 1); y = fill(ny, 2); w = fill(nw, 3); b = fill(p.oc, 4); scratch = fill(ns, 5);
        flops = 2.0 * ny * p.kh * p.kw * (p.c / p.groups); /* padding taps included */
        run(sh, &p, y, x, w, b, scratch); /* warm up, and size the rounds */
        t0 = now();
        run(sh, &p, y, x, w, b, scratch);
        once = now() - t0;
        reps = (long)(0.02 / (once > 1e-9 ? once : 1e-9)) + 1;
        for (r = 0; r < ROUNDS; r++) {
            t0 = now();
            for (k = 0; k < reps; k++)
                run(sh, &p, y, x, w, b, scratch);
            t[r] = (now() - t0) / reps;
        }
        qsort(t, ROUNDS, sizeof t[0], cmp_double);
        printf("%-28s %-10s %4d %12.2f %9.2f\n", sh->name, kinds[sh->kind], sh->n,
               t[ROUNDS / 2] * 1e6, flops / t[ROUNDS / 2] * 1e-9);
        fflush(stdout);
        free(x); free(y); free(w); free(b); free(scratch);
    }
    return 0;
}
