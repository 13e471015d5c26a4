/* q8_cases.h — the int8 kernels (nnc_rt_q8_kernels.h) against the
 * references, bit for bit, at tile edges and extremes; shared by the host's
 * unit test (tests/test_q8_kernels.c) and the same checks on the Cortex-M4
 * under qemu (tests/q8_m4_bench.c) and on AArch64, so no libc beyond
 * string.h: static buffers, a counter of failures, and a callback that is
 * told of each failure.
 *
 * The variants are the runtime's lists (nnc_rt_q8_dense_variants,
 * nnc_rt_q8_conv2d_variants: what this build has), then the public entry
 * points and nnc_rt_q8_dense_packed; a kernel that returns 0 (operands it
 * does not take) is not compared. */
#ifndef NNC_Q8_CASES_H
#define NNC_Q8_CASES_H

#include <string.h>

#include "nnc_rt_q8_kernels.h"

typedef void (*q8_fail_fn)(const char *what, const char *kernel, int a, int b, int c, int d);

static uint32_t q8c_seed = 12345u;
static uint32_t q8c_rand(void) {
    q8c_seed = q8c_seed * 1664525u + 1013904223u;
    return q8c_seed >> 8;
}
/* bytes: 0 random, 1 all -128, 2 all 127, 3 alternating extremes */
static void q8c_fill(int8_t *p, long n, int mode) {
    for (long i = 0; i < n; i++)
        p[i] = mode == 1 ? -128 : mode == 2 ? 127 : mode == 3 ? (i & 1 ? 127 : -128) : (int8_t)(q8c_rand() & 255);
}

#define Q8C_X (40 * 1200)
#define Q8C_W (70000)
#define Q8C_Y (40 * 80)
#define Q8C_M 80
static int8_t q8c_x[Q8C_X], q8c_w[Q8C_W], q8c_y[Q8C_Y + 16], q8c_yr[Q8C_Y + 16];
static int8_t q8c_wp[Q8C_W] __attribute__((aligned(16)));
static int32_t q8c_bias[Q8C_M], q8c_mult[Q8C_M];
static int8_t q8c_shift[Q8C_M];
static int16_t q8c_scratch[8 * 1200 + 64] __attribute__((aligned(16)));

/* output settings: kind 0 typical per-channel, 1 per-tensor, 2 extremes
 * (saturating rescale, left shifts, mult INT32_MIN, wide clamps), 3 relu6-like,
 * 4 every right shift from 1 to 31 and zero points near what the vector
 * output steps take (q8_x86.h) */
static void q8c_out(nnc_rt_q8_out *o, int m, int kind) {
    for (int j = 0; j < m; j++) {
        q8c_mult[j] = (int32_t)((1u << 30) + (q8c_rand() & 0x3FFFFFFF));
        q8c_shift[j] = (int8_t)(-(int)(q8c_rand() % 12) - 4);
        if (kind == 4) q8c_shift[j] = (int8_t)(-1 - (int)(q8c_rand() % 31));
        if (kind == 2) {
            int r = (int)(q8c_rand() % 6);
            if (r == 0) q8c_mult[j] = INT32_MIN;
            if (r == 1) q8c_shift[j] = (int8_t)(q8c_rand() % 4);
            if (r == 2) q8c_shift[j] = 0, q8c_mult[j] = INT32_MAX;
            if (r == 3) q8c_shift[j] = -31;
            if (r == 4) q8c_shift[j] = 31;
        }
    }
    o->mult = q8c_mult;
    o->shift = q8c_shift;
    o->per_channel = kind != 1;
    o->zp = kind == 2 ? (int32_t)((int64_t)(q8c_rand() % 3) * 2147483600 - 2147483600) : (int32_t)(q8c_rand() % 256) - 128;
    if (kind == 4) o->zp = (int32_t)(q8c_rand() % 5) - 2;
    o->lo = kind == 3 ? o->zp < -128 ? -128 : o->zp : -128;
    o->hi = kind == 3 ? 100 : 127;
    if (kind == 2 && q8c_rand() % 2) o->lo = -1000, o->hi = 1000; /* int8 casts of wide values */
    o->checked = 0;     /* the kernels check the channels themselves */
}

static void q8c_bias_fill(int m, int mode) {
    for (int j = 0; j < m; j++)
        q8c_bias[j] = mode == 1 ? INT32_MAX - (int32_t)(q8c_rand() % 1000)
                    : mode == 2 ? INT32_MIN + (int32_t)(q8c_rand() % 1000)
                                : (int32_t)(q8c_rand() % 200001) - 100000;
}

typedef int (*q8_dense_fn)(int8_t *, const int8_t *, const int8_t *, const int32_t *, int, int, int,
                           const nnc_rt_q8_out *);
typedef int (*q8_conv_fn)(const nnc_rt_conv2d *, int8_t *, const int8_t *, int32_t, const int8_t *,
                          const int32_t *, void *, int, const nnc_rt_q8_out *);

static int q8c_public_dense(int8_t *y, const int8_t *x, const int8_t *w, const int32_t *b, int n, int k,
                            int m, const nnc_rt_q8_out *o) {
    nnc_rt_q8_dense(y, x, w, b, n, k, m, o);
    return 1;
}
static int q8c_public_conv(const nnc_rt_conv2d *p, int8_t *y, const int8_t *x, int32_t zp, const int8_t *w,
                           const int32_t *b, void *s, int n, const nnc_rt_q8_out *o) {
    nnc_rt_q8_conv2d(p, y, x, zp, w, b, s, n, o);
    return 1;
}

/* one dense shape through every variant and the packed entry; failures counted */
static int q8c_dense_case(int n, int k, int m, int xmode, int wmode, int bmode, int okind, q8_fail_fn on_fail) {
    nnc_rt_q8_out o;
    int bad = 0;
    if ((long)n * k > Q8C_X || (long)m * k > Q8C_W || (long)n * m > Q8C_Y || m > Q8C_M) return 0;
    q8c_fill(q8c_x, (long)n * k, xmode);
    q8c_fill(q8c_w, (long)m * k, wmode);
    q8c_bias_fill(m, bmode);
    q8c_out(&o, m, okind);
    const int32_t *bias = bmode == 3 ? NULL : q8c_bias;
    nnc_rt_q8_dense_ref(q8c_yr, q8c_x, q8c_w, bias, n, k, m, &o);
    nnc_rt_q8_dense_pack(q8c_wp, q8c_w, m, k);
    for (const nnc_rt_q8_dense_variant *v = nnc_rt_q8_dense_variants;; v++) {
        const char *name = v->name ? v->name : "nnc_rt_q8_dense";
        memset(q8c_y, 0x5A, (size_t)n * m + 16);
        if (v->name ? !v->fn(q8c_y, q8c_x, v->packed ? q8c_wp : q8c_w, bias, n, k, m, &o)
                    : !q8c_public_dense(q8c_y, q8c_x, q8c_w, bias, n, k, m, &o))
            continue;
        if (memcmp(q8c_y, q8c_yr, (size_t)n * m) || q8c_y[n * m] != 0x5A) {
            on_fail("dense", name, n, k, m, okind);
            bad++;
        }
        if (!v->name) break;
    }
    memset(q8c_y, 0x5A, (size_t)n * m + 16);
    nnc_rt_q8_dense_packed(q8c_y, q8c_x, q8c_wp, bias, n, k, m, &o);
    if (memcmp(q8c_y, q8c_yr, (size_t)n * m) || q8c_y[n * m] != 0x5A) {
        on_fail("dense", "nnc_rt_q8_dense_packed", n, k, m, okind);
        bad++;
    }
    return bad;
}

static int q8c_conv_case(const nnc_rt_conv2d *p, int n, int32_t zp, int xmode, int wmode, int bmode, int okind,
                         q8_fail_fn on_fail) {
    nnc_rt_q8_out o;
    int bad = 0;
    long nx = (long)n * p->h * p->w * p->c, nw = (long)p->oc * p->kh * p->kw * (p->c / p->groups);
    long ny = (long)n * p->oh * p->ow * p->oc;
    if (nx > Q8C_X || nw > Q8C_W || ny > Q8C_Y || p->oc > Q8C_M ||
        NNC_RT_Q8_CONV2D_SCRATCH(p) > (long)sizeof q8c_scratch)
        return 0;
    q8c_fill(q8c_x, nx, xmode);
    q8c_fill(q8c_w, nw, wmode);
    q8c_bias_fill(p->oc, bmode);
    q8c_out(&o, p->oc, okind);
    const int32_t *bias = bmode == 3 ? NULL : q8c_bias;
    nnc_rt_q8_conv2d_ref(p, q8c_yr, q8c_x, zp, q8c_w, bias, n, &o);
    for (const nnc_rt_q8_conv2d_variant *v = nnc_rt_q8_conv2d_variants;; v++) {
        const char *name = v->name ? v->name : "nnc_rt_q8_conv2d";
        memset(q8c_y, 0x5A, (size_t)ny + 16);
        if (v->name ? !v->fn(p, q8c_y, q8c_x, zp, q8c_w, bias, q8c_scratch, n, &o)
                    : !q8c_public_conv(p, q8c_y, q8c_x, zp, q8c_w, bias, q8c_scratch, n, &o))
            continue;
        if (memcmp(q8c_y, q8c_yr, (size_t)ny) || q8c_y[ny] != 0x5A) {
            on_fail("conv2d", name, p->kh, p->c, p->oc, p->groups);
            bad++;
        }
        if (!v->name) break;
    }
    return bad;
}

/* the geometry of a conv with the output size derived */
static nnc_rt_conv2d q8c_geom(int h, int w, int c, int oc, int kh, int kw, int s, int d, int pad, int groups) {
    nnc_rt_conv2d p;
    p.h = h; p.w = w; p.c = c; p.oc = oc; p.kh = kh; p.kw = kw;
    p.sh = p.sw = s; p.dh = p.dw = d; p.pt = p.pl = pad; p.groups = groups;
    p.oh = (h + 2 * pad - d * (kh - 1) - 1) / s + 1;
    p.ow = (w + 2 * pad - d * (kw - 1) - 1) / s + 1;
    return p;
}

/* every dense shape: n, k, m of 1, odd, tile +-1 and large; then extremes */
static int q8c_dense_all(q8_fail_fn on_fail) {
    static const int ns[] = {1, 2, 3, 4, 5, 9};
    static const int ks[] = {1, 3, 4, 5, 7, 8, 15, 16, 17, 63, 64, 65, 100, 129, 784};
    static const int ms[] = {1, 2, 3, 4, 5, 7, 8, 9, 17, 33};
    int bad = 0;
    for (unsigned a = 0; a < sizeof ns / sizeof ns[0]; a++)
        for (unsigned b = 0; b < sizeof ks / sizeof ks[0]; b++)
            for (unsigned c = 0; c < sizeof ms / sizeof ms[0]; c++)
                bad += q8c_dense_case(ns[a], ks[b], ms[c], 0, 0, (int)((a + b + c) % 4), (int)((a + c) % 5), on_fail);
    /* extremes: products of -128 x -128, biases at the int32 limits, rescale edges */
    for (int xm = 0; xm < 4; xm++)
        for (int wm = 0; wm < 4; wm++)
            for (int bm = 0; bm < 4; bm++) {
                bad += q8c_dense_case(3, 1000, 6, xm, wm, bm, 2, on_fail);
                bad += q8c_dense_case(5, 67, 9, xm, wm, bm, (xm + wm + bm) % 5, on_fail);
                bad += q8c_dense_case(9, 300, 40, xm, wm, bm, 4, on_fail);
            }
    /* several passes over 16-channel blocks (k 1000: two blocks' weights a pass on
     * AVX2) and row tiles, k at the AVX2 6x16 tile's bound and past it */
    bad += q8c_dense_case(13, 1000, 40, 0, 0, 0, 0, on_fail);
    bad += q8c_dense_case(7, 1024, 33, 0, 0, 1, 4, on_fail);
    bad += q8c_dense_case(7, 1025, 20, 3, 0, 0, 3, on_fail);
    /* k beyond the int32 bound: the reference */
    bad += q8c_dense_case(1, NNC_RT_Q8_KMAX + 3, 2, 1, 1, 0, 0, on_fail);
    return bad;
}

static int q8c_conv_all(q8_fail_fn on_fail) {
    int bad = 0;
    /* h w c oc kh kw stride dilation pad groups */
    static const int g[][10] = {
        {28, 28, 1, 32, 3, 3, 1, 1, 0, 1}, {7, 6, 3, 5, 3, 3, 1, 1, 1, 1}, {9, 9, 4, 8, 3, 3, 2, 1, 1, 1},
        {8, 7, 5, 3, 2, 3, 1, 2, 2, 1},    {5, 5, 1, 1, 1, 1, 1, 1, 0, 1}, {6, 6, 8, 16, 1, 1, 1, 1, 0, 1},
        {10, 9, 6, 6, 3, 3, 1, 1, 1, 6},   {10, 9, 6, 12, 3, 3, 2, 1, 1, 6}, {7, 7, 8, 4, 3, 3, 1, 1, 1, 2},
        {5, 4, 3, 7, 5, 5, 1, 1, 2, 1},    {4, 4, 17, 9, 2, 2, 2, 1, 0, 1}, {3, 3, 2, 2, 3, 3, 1, 3, 3, 1},
        {9, 8, 9, 9, 3, 3, 2, 2, 2, 9},    {6, 5, 4, 4, 3, 2, 1, 1, 0, 4},
        /* a kernel row of exactly 64 bytes (kw c): one vector of taps */
        {5, 5, 64, 24, 1, 1, 1, 1, 0, 1},  {4, 5, 16, 8, 1, 4, 1, 1, 0, 1},  {3, 4, 32, 5, 2, 2, 1, 1, 0, 1},
        /* depthwise (the Cortex-M4's planar kernel): 3x3 stride 1 and 2 at odd and even
         * output widths, whole and partial groups of 4 channels, other kernel sizes
         * (even, wide, tall, 1x1), stride 3, DS-CNN's 64 channels, a kernel taller
         * than the planar kernel takes */
        {7, 5, 8, 8, 3, 3, 1, 1, 1, 8},    {6, 6, 4, 4, 3, 3, 1, 1, 1, 4}, {8, 8, 12, 12, 3, 3, 2, 1, 1, 12},
        {9, 9, 5, 5, 3, 3, 2, 1, 0, 5},    {6, 7, 7, 7, 5, 5, 1, 1, 2, 7}, {3, 4, 4, 4, 1, 1, 1, 1, 0, 4},
        {5, 6, 4, 4, 2, 4, 1, 1, 1, 4},    {4, 9, 6, 6, 1, 7, 1, 1, 3, 6}, {7, 3, 3, 3, 4, 1, 1, 1, 1, 3},
        {10, 11, 9, 9, 3, 3, 3, 1, 1, 9},  {9, 5, 64, 64, 3, 3, 1, 1, 1, 64}, {3, 3, 13, 13, 3, 3, 1, 1, 1, 13},
        {20, 3, 4, 4, 17, 1, 1, 1, 8, 4},  {5, 5, 2, 2, 3, 3, 1, 1, 0, 2}, {5, 8, 16, 16, 3, 3, 2, 1, 1, 16},
    };
    static const int32_t zps[] = {0, -128, 127, 5, 200};
    for (unsigned i = 0; i < sizeof g / sizeof g[0]; i++) {
        nnc_rt_conv2d p = q8c_geom(g[i][0], g[i][1], g[i][2], g[i][3], g[i][4], g[i][5], g[i][6], g[i][7],
                                   g[i][8], g[i][9]);
        for (unsigned z = 0; z < sizeof zps / sizeof zps[0]; z++)
            bad += q8c_conv_case(&p, i % 3 == 0 ? 1 : 2, zps[z], (int)(z % 4), (int)(i % 4), (int)((i + z) % 4),
                                 (int)((i + z) % 5), on_fail);
    }
    /* an empty output row (ow 0): nothing written, no kernel loops on it */
    {
        nnc_rt_conv2d p = q8c_geom(4, 4, 4, 4, 3, 3, 1, 1, 1, 4);
        p.ow = 0;
        bad += q8c_conv_case(&p, 1, 0, 0, 0, 0, 0, on_fail);
    }
    /* TensorFlow's 'same' with stride 2 on an even size: no padding before, one after
     * (MobileNet's), and a padding wider than the kernel */
    for (int t = 0; t < 2; t++) {
        nnc_rt_conv2d p = q8c_geom(8, 10, 8, 8, 3, 3, 2, 1, 0, 8);
        if (t == 0) p.oh = 4, p.ow = 5;
        else p = q8c_geom(4, 5, 4, 4, 3, 3, 1, 1, 4, 4);
        for (int kind = 0; kind < 5; kind++)
            bad += q8c_conv_case(&p, 1 + kind % 2, (int32_t)(kind * 50 - 110), kind % 4, (kind + 1) % 4, kind % 3,
                                 kind, on_fail);
    }
    return bad;
}

#endif
