/* resnet_layers.c — times ResNet-18's convolutions at batch 1 (224x224
 * input) as the generated code calls them: the weights in GEMM panels
 * (nnc_rt_conv2d_forward_packed), the second conv of each block with its
 * residual add and relu fused (nnc_rt_conv2d_forward_residual), the 1x1
 * stride-2 shortcuts linear.  Per layer: the median and the best of 11
 * rounds of 20 calls in thread CPU time (CLOCK_THREAD_CPUTIME_ID, so other
 * jobs on the machine count less), GFLOP/s counting 2*oh*ow*oc*kh*kw*c
 * (what the direct sum does, whatever the kernel), and the layer's share
 * of the network (times its count).  Compare with ONNX Runtime's profile
 * of the same model (enableProfiling) node by node.  Single-threaded.
 *
 *   make bench-resnet-layers        (or: cc -O3 -march=native -Iruntime
 *       bench/resnet_layers.c build/libnnc_rt.a -lm; ./a.out [substring])
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nnc_rt.h"
#include "conv_bench.h"

typedef struct layer {
    const char *name;
    int h, c, oc, k, s, pad, residual, count; /* square input h x h; count: times in the net */
} layer;

static const layer layers[] = {
    {"stem 224 7x7/2 3->64",      224, 3,   64,  7, 2, 3, 0, 1},
    {"layer1 56 64->64",          56,  64,  64,  3, 1, 1, 0, 2},
    {"layer1 56 64->64 +res",     56,  64,  64,  3, 1, 1, 1, 2},
    {"layer2 56->28 64->128 /2",  56,  64,  128, 3, 2, 1, 0, 1},
    {"layer2 shortcut 1x1/2",     56,  64,  128, 1, 2, 0, 0, 1},
    {"layer2 28 128->128",        28,  128, 128, 3, 1, 1, 0, 1},
    {"layer2 28 128->128 +res",   28,  128, 128, 3, 1, 1, 1, 2},
    {"layer3 28->14 128->256 /2", 28,  128, 256, 3, 2, 1, 0, 1},
    {"layer3 shortcut 1x1/2",     28,  128, 256, 1, 2, 0, 0, 1},
    {"layer3 14 256->256",        14,  256, 256, 3, 1, 1, 0, 1},
    {"layer3 14 256->256 +res",   14,  256, 256, 3, 1, 1, 1, 2},
    {"layer4 14->7 256->512 /2",  14,  256, 512, 3, 2, 1, 0, 1},
    {"layer4 shortcut 1x1/2",     14,  256, 512, 1, 2, 0, 0, 1},
    {"layer4 7 512->512",         7,   512, 512, 3, 1, 1, 0, 1},
    {"layer4 7 512->512 +res",    7,   512, 512, 3, 1, 1, 1, 2},
};
#define NLAYERS ((int)(sizeof layers / sizeof layers[0]))
#define ROUNDS 11
#define CALLS 20

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    double total = 0.0;
    int i, r, k;
    printf("%-28s %5s %10s %10s %8s %10s\n", "layer", "count", "median us", "best us", "GFLOP/s", "x count");
    for (i = 0; i < NLAYERS; i++) {
        const layer *l = &layers[i];
        const int act = l->k == 1 ? NNC_RT_ACT_LINEAR : NNC_RT_ACT_RELU;
        nnc_rt_conv2d p;
        long nx, ny, K;
        double t[ROUNDS], t0;
        float *x, *y, *w, *wp, *b, *res, *scratch;
        if (argc > 1 && !strstr(l->name, argv[1]))
            continue;
        memset(&p, 0, sizeof p);
        p.h = p.w = l->h; p.c = l->c; p.oc = l->oc; p.kh = p.kw = l->k;
        p.sh = p.sw = l->s; p.dh = p.dw = 1; p.pt = p.pl = l->pad; p.groups = 1;
        p.oh = p.ow = (l->h + 2 * l->pad - l->k) / l->s + 1;
        nx = (long)p.h * p.w * p.c;
        ny = (long)p.oh * p.ow * p.oc;
        K = (long)l->k * l->k * p.c;
        x = fill(nx, 1); y = fill(ny, 2); w = fill(K * p.oc, 3); b = fill(p.oc, 4); res = fill(ny, 6);
        scratch = fill(NNC_RT_CONV2D_SCRATCH(&p), 5);
        wp = fill(K * p.oc, 7);
        nnc_rt_gemm_pack_b(wp, w, (int)K, p.oc);
        for (r = -1; r < ROUNDS; r++) { /* round -1: warm-up */
            t0 = now();
            for (k = 0; k < CALLS; k++) {
                if (l->residual)
                    nnc_rt_conv2d_forward_residual(&p, y, x, wp, 1, b, res, scratch, 1, act);
                else
                    nnc_rt_conv2d_forward_packed(&p, y, x, wp, b, scratch, 1, act);
            }
            if (r >= 0)
                t[r] = (now() - t0) / CALLS * 1e6;
        }
        qsort(t, ROUNDS, sizeof t[0], cmp_double);
        printf("%-28s %5d %10.1f %10.1f %8.1f %10.1f\n", l->name, l->count, t[ROUNDS / 2], t[0],
               2.0 * ny * K / t[ROUNDS / 2] * 1e-3, t[ROUNDS / 2] * l->count);
        total += t[ROUNDS / 2] * l->count;
        free(x); free(y); free(w); free(wp); free(b); free(res); free(scratch);
    }
    printf("convolutions of the network: %.1f us (medians x counts)\n", total);
    return 0;
}
