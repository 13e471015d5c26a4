/* q8_kernels.c — int8 (nnc_rt_q8_dense / nnc_rt_q8_conv2d) against nnc's
 * own float32 kernels (nnc_rt_dense_forward_packed, nnc_rt_conv2d_forward:
 * what a float build of the same model calls) at batch 256 on the layers of
 * the seed MLP (784-256-128-10) and the seed small CNN (conv 32 3x3 valid
 * on 28x28x1 + relu, dense 21632 -> 10); per layer and per network,
 * microseconds per batch and the speed-up of int8 (issue 20's floor: 2x
 * for each network).  Each figure is the fastest of 9 rounds of ~20 ms,
 * in thread CPU time.  "int8 packed" is nnc_rt_q8_dense_packed (the
 * Cortex-M4's layout: on x86 fast for k <= 1024 only).
 * Single-threaded.  `make bench-q8` builds and runs it.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nnc_rt.h"
#include "nnc_rt_q8_kernels.h"

#define BATCH 256

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

typedef struct layer {
    const char *name;
    int conv;           /* 0 dense (k -> m), 1 the 3x3 conv */
    int k, m, act;
} layer;

static void *xmalloc(size_t n) {
    void *p = NULL;
    if (posix_memalign(&p, 64, n + 64)) { fprintf(stderr, "out of memory\n"); exit(1); }
    memset(p, 0, n);
    return p;
}

static unsigned seed = 1;
static int rnd(void) { seed = seed * 1103515245u + 12345u; return (int)(seed >> 16); }

/* the operands of one layer, float and int8 */
typedef struct ops {
    float *xf, *yf, *wf, *wpf, *bf, *scratch;
    int8_t *xq, *yq, *wq, *wpq;
    int32_t *bq, *mult;
    int8_t *shift;
    nnc_rt_q8_out o;
    nnc_rt_conv2d p;
} ops;

static void setup(ops *s, const layer *l) {
    int k = l->k, m = l->m;
    long nx = (long)BATCH * k, nw = (long)k * m, ny = (long)BATCH * m;
    if (l->conv) {
        nnc_rt_conv2d p = {28, 28, 1, 26, 26, 32, 3, 3, 1, 1, 1, 1, 0, 0, 1};
        s->p = p;
        nx = (long)BATCH * 28 * 28; nw = 32 * 9; ny = (long)BATCH * 26 * 26 * 32; m = 32;
    }
    s->xf = xmalloc(sizeof(float) * nx); s->yf = xmalloc(sizeof(float) * ny);
    s->wf = xmalloc(sizeof(float) * nw); s->wpf = xmalloc(sizeof(float) * nw);
    s->bf = xmalloc(sizeof(float) * m);
    s->xq = xmalloc(nx); s->yq = xmalloc(ny); s->wq = xmalloc(nw); s->wpq = xmalloc(nw);
    s->bq = xmalloc(4 * m); s->mult = xmalloc(4 * m); s->shift = xmalloc(m);
    s->scratch = xmalloc(sizeof(float) * (l->conv ? NNC_RT_CONV2D_SCRATCH(&s->p) * BATCH + 64 : 64));
    for (long i = 0; i < nx; i++) s->xq[i] = (int8_t)rnd(), s->xf[i] = s->xq[i] / 128.0f;
    for (long i = 0; i < nw; i++) s->wq[i] = (int8_t)rnd(), s->wf[i] = s->wq[i] / 1024.0f;
    for (int j = 0; j < m; j++) {
        s->bq[j] = rnd() % 1000; s->bf[j] = s->bq[j] / 1e5f;
        int sh; nnc_rt_q8_multiplier(0.0007 + 0.0001 * (j % 7), &s->mult[j], &sh); s->shift[j] = (int8_t)sh;
    }
    if (!l->conv) {
        nnc_rt_gemm_pack_b(s->wpf, s->wf, k, m);
        nnc_rt_q8_dense_pack(s->wpq, s->wq, m, k);
    }
    nnc_rt_q8_out o = {s->mult, s->shift, 1, -3, l->act ? -3 : -128, 127, 0};
    s->o = o;
}

static void run(const ops *s, const layer *l, int which) {
    if (l->conv) {
        if (which == 0) nnc_rt_conv2d_forward(&s->p, s->yf, s->xf, s->wf, s->bf, s->scratch, BATCH, l->act);
        else nnc_rt_q8_conv2d(&s->p, s->yq, s->xq, -3, s->wq, s->bq, s->scratch, BATCH, &s->o);
    } else if (which == 0) {
        nnc_rt_dense_forward_packed(s->yf, s->xf, s->wpf, s->bf, BATCH, l->k, l->m, l->act);
    } else if (which == 1) {
        nnc_rt_q8_dense(s->yq, s->xq, s->wq, s->bq, BATCH, l->k, l->m, &s->o);
    } else {
        nnc_rt_q8_dense_packed(s->yq, s->xq, s->wpq, s->bq, BATCH, l->k, l->m, &s->o);
    }
}

/* the fastest of 9 rounds of >= 20 ms each, microseconds per call, the
 * float and int8 rounds alternating (the machine may be shared: the least
 * disturbed round is the kernel's speed); thread CPU time, not wall time */
static void time_pair(const ops *s, const layer *l, int wa, int wb, double *ta, double *tb) {
    int calls[2] = {1, 1}, which[2] = {wa, wb};
    for (int u = 0; u < 2; u++)
        for (;;) {
            double t0 = now();
            for (int c = 0; c < calls[u]; c++) run(s, l, which[u]);
            if (now() - t0 > 0.02) break;
            calls[u] *= 2;
        }
    double best[2] = {1e30, 1e30};
    for (int r = 0; r < 9; r++)
        for (int u = 0; u < 2; u++) {
            double t0 = now();
            for (int c = 0; c < calls[u]; c++) run(s, l, which[u]);
            double t = (now() - t0) / calls[u] * 1e6;
            if (t < best[u]) best[u] = t;
        }
    *ta = best[0];
    *tb = best[1];
}

int main(void) {
    static const layer mlp[] = {{"mlp dense 784->256 relu", 0, 784, 256, 1},
                                {"mlp dense 256->128 relu", 0, 256, 128, 1},
                                {"mlp dense 128->10", 0, 128, 10, 0}};
    static const layer cnn[] = {{"cnn conv 3x3 28x28x1->32 relu", 1, 9, 32, 1},
                                {"cnn dense 21632->10", 0, 21632, 10, 0}};
    const struct { const char *name; const layer *l; int n; } nets[] = {{"seed MLP", mlp, 3}, {"seed small CNN", cnn, 2}};
    printf("batch %d, single thread; us per batch; int8 = nnc_rt_q8_dense ((m, k) weights) / nnc_rt_q8_conv2d\n", BATCH);
    printf("%-32s %10s %10s %8s %12s\n", "layer", "float32", "int8", "speedup", "int8 packed");
    for (int ni = 0; ni < 2; ni++) {
        double tf = 0, tq = 0;
        for (int li = 0; li < nets[ni].n; li++) {
            const layer *l = &nets[ni].l[li];
            ops s;
            setup(&s, l);
            double f, q, qp = 0, dummy;
            time_pair(&s, l, 0, 1, &f, &q);
            if (!l->conv) time_pair(&s, l, 2, 2, &qp, &dummy);
            tf += f; tq += q;
            printf("%-32s %10.1f %10.1f %7.2fx", l->name, f, q, f / q);
            if (l->conv) printf(" %12s\n", "-"); else printf(" %12.1f\n", qp);
        }
        printf("%-32s %10.1f %10.1f %7.2fx   (floor 2x: %s)\n", nets[ni].name, tf, tq, tf / tq,
               tf / tq >= 2 ? "met" : "NOT met");
    }
    return 0;
}
