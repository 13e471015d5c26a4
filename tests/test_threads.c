/* test_threads.c — the runtime's threads (parallel.h) never change a result:
 * the kernels that split their work (GEMM by columns and by rows, one
 * sample's product by columns, a narrow A^T B by rows, the direct
 * convolution forward and filter kernels, activations and their gradients,
 * bias gradients, Adam, the depthwise forward by rows) give bit-identical
 * outputs on one thread and on two, at shapes above the split threshold
 * with ragged edges; loops inside loops, two callers at once and the
 * caller's flush-to-zero mode on the pool's threads.  Built without
 * -fopenmp (make unit-tests) it checks nnc_rt_par_for's ranges and the
 * kernels against their plain references; make check-openmp runs it with
 * threads. */
#include <string.h>

#include "nnc_rt.h"
#include "nnc_rt_kernels.h"
#include "../runtime/parallel.h"
#include "kernel_check.h"

#if defined(_OPENMP)
#include <omp.h>
static void threads(int t) { omp_set_num_threads(t); }
#else
static void threads(int t) { (void)t; }
#endif

static void fill(float *x, long n, unsigned seed)
{
    long i;
    for (i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

static void same(const float *a, const float *b, long n, const char *what)
{
    ck_assert_msg(memcmp(a, b, (size_t)n * sizeof *a) == 0, "%s: one thread and two differ", what);
}

/* every element of [0, count) exactly once, range bounds on the grain */
static void mark(void *ctx, long b, long e)
{
    int *seen = ctx;
    long i;
    ck_assert_msg(b % 7 == 0, "range start %ld not on the grain", b);
    for (i = b; i < e; i++)
        seen[i]++;
}

START_TEST(test_par_for_ranges)
{
    int seen[1000];
    int i, t;
    for (t = 1; t <= 2; t++) {
        threads(t);
        memset(seen, 0, sizeof seen);
        nnc_rt_par_for(1000, 7, 1e9, mark, seen);
        for (i = 0; i < 1000; i++)
            ck_assert_int_eq(seen[i], 1);
    }
}
END_TEST

START_TEST(test_gemm_split)
{
    /* wide (split by columns) and narrow N = 10 (split by rows) */
    static const int shapes[][3] = {{75, 300, 333}, {301, 10, 1500}, {2000, 10, 33}, {3137, 96, 16},
                                    {1031, 200, 40}};
    int s;
    for (s = 0; s < 5; s++) {
        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *A = falloc((long)M * K), *B = falloc((long)K * N), *C1 = falloc((long)M * N),
              *C2 = falloc((long)M * N), *R = falloc((long)M * N);
        fill(A, (long)M * K, 1);
        fill(B, (long)K * N, 2);
        threads(1);
        nnc_rt_gemm_f32(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, C1, N);
        threads(2);
        nnc_rt_gemm_f32(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, C2, N);
        same(C1, C2, (long)M * N, "gemm");
        nnc_rt_gemm_f32_ref(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, R, N);
        long i;
        for (i = 0; i < (long)M * N && near(C2[i], R[i], 1e-4, 1e-4); i++)
            ;
        if (i < (long)M * N)   /* one assertion, not one a value (each is a write to Check's pipe) */
            ck_near(C2[i], R[i], 1e-4, 1e-4);
        free(A); free(B); free(C1); free(C2); free(R);
    }
}
END_TEST

/* products with few columns (gemm_small.c): A^T B split by rows of 16
 * (the small CNN's weight gradient, and a ragged one), A B and A B^T by
 * rows (its forward product, ragged) */
START_TEST(test_gemm_narrow_split)
{
    static const int shapes[][4] = {{21632, 10, 32, 1}, {3001, 7, 200, 1}, {32, 10, 21632, 0}, {101, 11, 5000, 0},
                                    {101, 11, 5000, 2}};
    int s;
    for (s = 0; s < 5; s++) {
        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2], ta = shapes[s][3] == 1, tb = shapes[s][3] == 2;
        int lda = ta ? M : K, ldb = tb ? K : N;
        float *A = falloc((long)K * M), *B = falloc((long)K * N), *C1 = falloc((long)M * N),
              *C2 = falloc((long)M * N), *R = falloc((long)M * N);
        long i;
        fill(A, (long)K * M, 14);
        fill(B, (long)K * N, 15);
        threads(1);
        nnc_rt_gemm_f32(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C1, N);
        threads(2);
        nnc_rt_gemm_f32(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C2, N);
        same(C1, C2, (long)M * N, "gemm, narrow");
        nnc_rt_gemm_f32_ref(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, R, N);
        for (i = 0; i < (long)M * N && near(C2[i], R[i], 1e-4, 1e-4); i++)
            ;
        if (i < (long)M * N)
            ck_near(C2[i], R[i], 1e-4, 1e-4);
        free(A); free(B); free(C1); free(C2); free(R);
    }
}
END_TEST

/* one sample (the small-M path, split by 64 columns): row-major B, and B
 * in panels with a narrow last one, with bias + relu; M = 3 too */
START_TEST(test_gemm_small_m_split)
{
    static const int shapes[][3] = {{1, 300, 784}, {3, 200, 500}, {1, 130, 1000}};
    int s, pan;
    for (s = 0; s < 3; s++)
        for (pan = 0; pan < 2; pan++) {
            int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
            float *A = falloc((long)M * K), *B = falloc((long)K * N), *Bp = falloc((long)K * N + 64);
            float *bias = falloc(N), *C1 = falloc((long)M * N), *C2 = falloc((long)M * N), *R = falloc((long)M * N);
            long i;
            fill(A, (long)M * K, 11);
            fill(B, (long)K * N, 12);
            fill(bias, N, 13);
            nnc_rt_gemm_pack_b(Bp, B, K, N);
            threads(1);
            if (pan)
                nnc_rt_dense_forward_packed(C1, A, Bp, bias, M, K, N, NNC_RT_ACT_RELU);
            else
                nnc_rt_dense_forward(C1, A, B, bias, M, K, N, NNC_RT_ACT_RELU);
            threads(2);
            if (pan)
                nnc_rt_dense_forward_packed(C2, A, Bp, bias, M, K, N, NNC_RT_ACT_RELU);
            else
                nnc_rt_dense_forward(C2, A, B, bias, M, K, N, NNC_RT_ACT_RELU);
            same(C1, C2, (long)M * N, pan ? "dense, one sample, B in panels" : "dense, one sample");
            nnc_rt_gemm_f32_ref(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, R, N);
            for (i = 0; i < (long)M * N; i++) {
                float r = R[i] + bias[i % N];
                R[i] = r > 0.0f ? r : 0.0f;
            }
            for (i = 0; i < (long)M * N && near(C2[i], R[i], 1e-4, 1e-4); i++)
                ;
            if (i < (long)M * N)
                ck_near(C2[i], R[i], 1e-4, 1e-4);
            free(A); free(B); free(Bp); free(bias); free(C1); free(C2); free(R);
        }
}
END_TEST

START_TEST(test_conv_split)
{
    /* 28x28x3 -> 26x26x40 (ragged pixel and channel blocks), batch 3 */
    nnc_rt_conv2d p = {28, 28, 3, 26, 26, 40, 3, 3, 1, 1, 1, 1, 0, 0, 1};
    const int n = 3;
    long xs = (long)n * 28 * 28 * 3, ys = (long)n * 26 * 26 * 40, ws = 3L * 3 * 3 * 40;
    float *x = falloc(xs), *w = falloc(ws), *b = falloc(40), *dy = falloc(ys);
    float *y1 = falloc(ys), *y2 = falloc(ys), *dw1 = falloc(ws), *dw2 = falloc(ws);
    float *scratch = falloc(NNC_RT_CONV2D_SCRATCH(&p) + 65536);
    fill(x, xs, 3); fill(w, ws, 4); fill(b, 40, 5); fill(dy, ys, 6);
    threads(1);
    nnc_rt_conv2d_forward(&p, y1, x, w, b, scratch, n, NNC_RT_ACT_TANH);
    nnc_rt_conv2d_backward_filter(&p, dw1, dy, x, scratch, n);
    threads(2);
    nnc_rt_conv2d_forward(&p, y2, x, w, b, scratch, n, NNC_RT_ACT_TANH);
    nnc_rt_conv2d_backward_filter(&p, dw2, dy, x, scratch, n);
    same(y1, y2, ys, "conv2d forward");
    same(dw1, dw2, ws, "conv2d filter gradient");
    free(x); free(w); free(b); free(dy); free(y1); free(y2); free(dw1); free(dw2); free(scratch);
}
END_TEST

/* the seed CNN's layer (28x28x1 -> 32, valid: whole samples per thread) and
 * a padded one (per sample, pixels per thread), batch 32, relu; the filter
 * gradient with the bias gradient; the dense layer's input gradient with
 * relu' in the GEMM epilogue */
START_TEST(test_cnn_step_split)
{
    static const nnc_rt_conv2d ps[] = {{28, 28, 1, 26, 26, 32, 3, 3, 1, 1, 1, 1, 0, 0, 1},
                                       {28, 28, 1, 28, 28, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1}};
    const int n = 32;
    int k;
    for (k = 0; k < 2; k++) {
        const nnc_rt_conv2d *p = &ps[k];
        long xs = (long)n * 28 * 28, ys = (long)n * p->oh * p->ow * 32, ws = 9L * 32;
        float *x = falloc(xs), *w = falloc(ws), *b = falloc(32), *dy = falloc(ys);
        float *y1 = falloc(ys), *y2 = falloc(ys), *dw1 = falloc(ws), *dw2 = falloc(ws);
        float *db1 = falloc(32), *db2 = falloc(32);
        float *scratch = falloc(NNC_RT_CONV2D_SCRATCH(p) + 65536);
        fill(x, xs, 7); fill(w, ws, 8); fill(b, 32, 9); fill(dy, ys, 10);
        threads(1);
        nnc_rt_conv2d_forward(p, y1, x, w, b, scratch, n, NNC_RT_ACT_RELU);
        nnc_rt_conv2d_backward_filter_bias(p, dw1, db1, dy, x, scratch, n);
        threads(2);
        nnc_rt_conv2d_forward(p, y2, x, w, b, scratch, n, NNC_RT_ACT_RELU);
        nnc_rt_conv2d_backward_filter_bias(p, dw2, db2, dy, x, scratch, n);
        same(y1, y2, ys, "conv2d forward, batch 32");
        same(dw1, dw2, ws, "conv2d filter gradient, batch 32");
        same(db1, db2, 32, "conv2d bias gradient, batch 32");
        free(x); free(w); free(b); free(dy); free(y1); free(y2); free(dw1); free(dw2);
        free(db1); free(db2); free(scratch);
    }
    {
        const int M = 32, N = 13001, K = 10; /* above the split threshold, ragged */
        float *A = falloc((long)M * K), *B = falloc((long)N * K), *Y = falloc((long)M * N);
        float *C1 = falloc((long)M * N), *C2 = falloc((long)M * N);
        fill(A, (long)M * K, 11); fill(B, (long)N * K, 12); fill(Y, (long)M * N, 13);
        threads(1);
        nnc_rt_gemm_f32_act_grad(0, 1, M, N, K, A, K, B, K, C1, N, NNC_RT_ACT_RELU, Y, N);
        threads(2);
        nnc_rt_gemm_f32_act_grad(0, 1, M, N, K, A, K, B, K, C2, N, NNC_RT_ACT_RELU, Y, N);
        same(C1, C2, (long)M * N, "gemm with relu'");
        free(A); free(B); free(Y); free(C1); free(C2);
    }
}
END_TEST

START_TEST(test_elementwise_split)
{
    const int n = 333, m = 517;
    const long size = (long)n * m;
    float *x = falloc(size), *y1 = falloc(size), *y2 = falloc(size), *dy = falloc(size);
    float *db1 = falloc(m), *db2 = falloc(m), *w1 = falloc(size), *w2 = falloc(size);
    float *m1 = falloc(size), *m2 = falloc(size), *v1 = falloc(size), *v2 = falloc(size);
    static const int acts[] = {NNC_RT_ACT_RELU, NNC_RT_ACT_TANH, NNC_RT_ACT_SOFTMAX};
    int a;
    fill(x, size, 7);
    fill(dy, size, 8);
    for (a = 0; a < 3; a++) {
        threads(1);
        nnc_rt_act_forward(acts[a], y1, x, n, m);
        threads(2);
        nnc_rt_act_forward(acts[a], y2, x, n, m);
        same(y1, y2, size, "activation");
        threads(1);
        nnc_rt_act_backward(acts[a], w1, dy, y1, n, m);
        threads(2);
        nnc_rt_act_backward(acts[a], w2, dy, y1, n, m);
        same(w1, w2, size, "activation gradient");
    }
    threads(1);
    nnc_rt_bias_backward(db1, dy, n, m);
    threads(2);
    nnc_rt_bias_backward(db2, dy, n, m);
    same(db1, db2, m, "bias gradient");
    for (a = 0; a < m; a++) {
        double s = 0;
        for (long r = 0; r < n; r++)
            s += dy[r * m + a];
        ck_near(db2[a], s, 1e-3, 1e-4);
    }
    fill(w1, size, 9);
    memcpy(w2, w1, (size_t)size * sizeof *w1);
    memset(m1, 0, (size_t)size * sizeof *m1); memset(m2, 0, (size_t)size * sizeof *m2);
    memset(v1, 0, (size_t)size * sizeof *v1); memset(v2, 0, (size_t)size * sizeof *v2);
    threads(1);
    nnc_rt_adam_update(w1, dy, m1, v1, size, 1, 1e-3f, 0.9f, 0.999f, 1e-7f, 0.01f);
    nnc_rt_adam_update(w1, x, m1, v1, size, 2, 1e-3f, 0.9f, 0.999f, 1e-7f, 0.01f);
    threads(2);
    nnc_rt_adam_update(w2, dy, m2, v2, size, 1, 1e-3f, 0.9f, 0.999f, 1e-7f, 0.01f);
    nnc_rt_adam_update(w2, x, m2, v2, size, 2, 1e-3f, 0.9f, 0.999f, 1e-7f, 0.01f);
    same(w1, w2, size, "adam");
    same(v1, v2, size, "adam second moment");
    /* the finiteness check, split: a NaN or an inf anywhere, in any range */
    for (a = 1; a <= 2; a++) {
        long at;
        threads(a);
        ck_assert_int_eq(nnc_rt_finite(x, size), 1);
        for (at = 0; at < size; at += size / 7) {
            float keep = x[at];
            x[at] = at % 2 ? NAN : -INFINITY;
            ck_assert_msg(!nnc_rt_finite(x, size), "%d threads: value %ld not finite, not seen", a, at);
            x[at] = keep;
        }
        x[size - 1] = NAN;
        ck_assert_int_eq(nnc_rt_finite(x, size), 0);
        x[size - 1] = 0.0f;
    }
    free(x); free(y1); free(y2); free(dy); free(db1); free(db2); free(w1); free(w2);
    free(m1); free(m2); free(v1); free(v2);
}
END_TEST


/* batch 1 layers of few pixels and many channels (split by channel blocks):
 * plain, weights in panels, a residual, and an activation after the blocks */
START_TEST(test_conv_channels_split)
{
    static const nnc_rt_conv2d ps[] = {{7, 7, 64, 7, 7, 160, 3, 3, 1, 1, 1, 1, 1, 1, 1},
                                       {15, 15, 48, 7, 7, 136, 3, 3, 2, 2, 1, 1, 0, 0, 1},
                                       {7, 7, 96, 7, 7, 200, 1, 1, 1, 1, 1, 1, 0, 0, 1}};
    int k;
    for (k = 0; k < 3; k++) {
        const nnc_rt_conv2d *p = &ps[k];
        long xs = (long)p->h * p->w * p->c, ys = (long)p->oh * p->ow * p->oc, ws = (long)p->kh * p->kw * p->c * p->oc;
        float *x = falloc(xs), *w = falloc(ws), *wp = falloc(ws), *b = falloc(p->oc), *res = falloc(ys);
        float *y1 = falloc(ys), *y2 = falloc(ys), *r = falloc(ys);
        float *scratch = falloc(NNC_RT_CONV2D_SCRATCH(p) + 65536);
        long i;
        int v;
        fill(x, xs, 60 + k); fill(w, ws, 70 + k); fill(b, p->oc, 80 + k); fill(res, ys, 90 + k);
        nnc_rt_gemm_pack_b(wp, w, (int)(ws / p->oc), p->oc);
        for (v = 0; v < 3; v++) {
            int t;
            for (t = 1; t <= 2; t++) {
                float *y = t == 1 ? y1 : y2;
                threads(t);
                if (v == 0)
                    nnc_rt_conv2d_forward(p, y, x, w, b, scratch, 1, NNC_RT_ACT_TANH);
                else if (v == 1)
                    nnc_rt_conv2d_forward_packed(p, y, x, wp, b, scratch, 1, NNC_RT_ACT_RELU);
                else
                    nnc_rt_conv2d_forward_residual(p, y, x, wp, 1, b, res, scratch, 1, NNC_RT_ACT_RELU);
            }
            same(y1, y2, ys, v == 0 ? "conv, channel blocks" : v == 1 ? "conv in panels, channel blocks"
                                                                       : "conv with a residual, channel blocks");
            nnc_rt_conv2d_forward_ref(p, r, x, w, b, 1, v == 0 ? NNC_RT_ACT_TANH : NNC_RT_ACT_LINEAR);
            for (i = 0; i < ys; i++) {
                float want = r[i];
                if (v == 2)
                    want += res[i];
                if (v > 0)
                    want = want > 0.0f ? want : 0.0f;
                if (!near(y2[i], want, 1e-3, 1e-3))
                    break;
            }
            if (i < ys)
                ck_assert_msg(0, "variant %d, layer %d: y[%ld] = %g, want about %g", v, k, i, (double)y2[i],
                              (double)r[i]);
        }
        free(x); free(w); free(wp); free(b); free(res); free(y1); free(y2); free(r); free(scratch);
    }
}
END_TEST

/* the depthwise forward, split by output rows: padded and not, strides 1
 * and 2, a multiplier of 2, dilation, batch 1 and 3, against one thread
 * bit for bit and against the reference */
START_TEST(test_depthwise_split)
{
    static const nnc_rt_conv2d ps[] = {
        {56, 56, 48, 56, 56, 48, 3, 3, 1, 1, 1, 1, 1, 1, 48},     /* same */
        {57, 57, 40, 29, 29, 40, 3, 3, 2, 2, 1, 1, 1, 1, 40},     /* stride 2, odd */
        {30, 30, 24, 14, 14, 24, 5, 5, 2, 2, 1, 1, 1, 2, 24},     /* 5x5, pads 1 and 2 */
        {40, 40, 16, 40, 40, 32, 3, 3, 1, 1, 1, 1, 1, 1, 16},     /* multiplier 2 */
        {40, 40, 32, 36, 36, 32, 3, 3, 1, 1, 2, 2, 0, 0, 32},     /* dilated, valid */
        {20, 20, 32, 22, 22, 32, 3, 3, 1, 1, 1, 1, 2, 2, 32},     /* pads of 2 */
        {20, 20, 32, 21, 21, 32, 3, 3, 1, 1, 1, 1, 0, 0, 32},     /* a last row wholly in the padding: whole */
    };
    int k, n;
    for (k = 0; k < (int)(sizeof ps / sizeof ps[0]); k++)
        for (n = 1; n <= 3; n += 2) {
            const nnc_rt_conv2d *p = &ps[k];
            long xs = (long)n * p->h * p->w * p->c, ys = (long)n * p->oh * p->ow * p->oc, ws = (long)p->kh * p->kw * p->oc;
            float *x = falloc(xs), *w = falloc(ws), *b = falloc(p->oc), *y1 = falloc(ys), *y2 = falloc(ys),
                  *r = falloc(ys);
            long i;
            fill(x, xs, 20 + k); fill(w, ws, 30 + k); fill(b, p->oc, 40 + k);
            threads(1);
            nnc_rt_conv2d_forward(p, y1, x, w, b, NULL, n, NNC_RT_ACT_RELU6);
            threads(2);
            nnc_rt_conv2d_forward(p, y2, x, w, b, NULL, n, NNC_RT_ACT_RELU6);
            same(y1, y2, ys, "depthwise forward");
            nnc_rt_conv2d_forward_ref(p, r, x, w, b, n, NNC_RT_ACT_RELU6);
            for (i = 0; i < ys && near(y2[i], r[i], 1e-4, 1e-4); i++)
                ;
            if (i < ys)   /* one assertion, not one a value (each is a write to Check's pipe) */
                ck_near(y2[i], r[i], 1e-4, 1e-4);
            free(x); free(w); free(b); free(y1); free(y2); free(r);
        }
}
END_TEST

static void mark1(void *ctx, long b, long e);

/* a loop inside a chunk runs in that chunk's thread, whole; every element
 * of every loop once, over many loops in a row (the helpers between
 * spinning and sleeping) */
static void inner(void *ctx, long b, long e)
{
    int *seen = ctx;
    nnc_rt_par_for(e - b, 1, 1e9, mark1, seen + b);
}

static void mark1(void *ctx, long b, long e)
{
    int *seen = ctx;
    long i;
    for (i = b; i < e; i++)
        seen[i]++;
}

START_TEST(test_par_for_nested)
{
    int seen[999];
    int i, r;
    threads(2);
    for (r = 0; r < 3000; r++) {
        memset(seen, 0, sizeof seen);
        if (r % 2)
            nnc_rt_par_for(999, 1, 1e9, inner, seen);
        else
            nnc_rt_par_for(999, 3, 1e9, mark1, seen);
        for (i = 0; i < 999 && seen[i] == 1; i++)
            ;
        if (i < 999)
            ck_assert_msg(0, "loop %d: element %d done %d times", r, i, seen[i]);
    }
}
END_TEST

#if defined(_OPENMP)
#include <pthread.h>
/* two threads of the program in the runtime at once: one gets the pool,
 * the other runs its loops itself; both get one thread's bits */
typedef struct gemm_call {
    const float *A, *B;
    float *C;
    int M, N, K, reps;
} gemm_call;

static void *gemm_thread(void *arg)
{
    gemm_call *g = arg;
    int r;
    for (r = 0; r < g->reps; r++)
        nnc_rt_gemm_f32(0, 0, g->M, g->N, g->K, 1.0f, g->A, g->K, g->B, g->N, 0.0f, g->C, g->N);
    return NULL;
}

START_TEST(test_concurrent_callers)
{
    const int M = 300, N = 200, K = 100;
    float *A = falloc((long)M * K), *B = falloc((long)K * N), *C0 = falloc((long)M * N);
    gemm_call g[2];
    pthread_t t[2];
    int i;
    fill(A, (long)M * K, 50);
    fill(B, (long)K * N, 51);
    threads(1);
    nnc_rt_gemm_f32(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, C0, N);
    threads(2);
    for (i = 0; i < 2; i++) {
        g[i].A = A; g[i].B = B; g[i].C = falloc((long)M * N); g[i].M = M; g[i].N = N; g[i].K = K; g[i].reps = 200;
        ck_assert_int_eq(pthread_create(&t[i], NULL, gemm_thread, &g[i]), 0);
    }
    for (i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        same(C0, g[i].C, (long)M * N, "gemm from two threads of the program");
        free(g[i].C);
    }
    free(A); free(B); free(C0);
}
END_TEST

#include <sys/wait.h>
#include <unistd.h>
/* a child of fork() after the pool started (its helpers are not copied)
 * splits with helpers of its own */
START_TEST(test_fork_child)
{
    const int M = 300, N = 200, K = 100;
    float *A = falloc((long)M * K), *B = falloc((long)K * N), *C0 = falloc((long)M * N), *C = falloc((long)M * N);
    int status = -1;
    pid_t pid;
    fill(A, (long)M * K, 52);
    fill(B, (long)K * N, 53);
    threads(2);
    nnc_rt_gemm_f32(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, C0, N);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int r, ok = 1;
        for (r = 0; r < 50 && ok; r++) {
            nnc_rt_gemm_f32(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
            ok = memcmp(C, C0, (size_t)M * N * sizeof *C) == 0;
        }
        _exit(ok ? 0 : 1);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the forked child's products differ (or it hung)");
    free(A); free(B); free(C0); free(C);
}
END_TEST
#endif

/* the helpers compute in the caller's floating-point mode: products that
 * are subnormal flush to zero on every thread under nnc_rt_fp_enter */
START_TEST(test_split_fp_mode)
{
    const int M = 64, N = 300, K = 64;
    float *A = falloc((long)M * K), *B = falloc((long)K * N), *C1 = falloc((long)M * N), *C2 = falloc((long)M * N);
    nnc_rt_fpmode saved;
    long i;
    for (i = 0; i < (long)M * K; i++)
        A[i] = 1e-20f;
    for (i = 0; i < (long)K * N; i++)
        B[i] = 1e-20f;
    saved = nnc_rt_fp_enter();
    threads(1);
    nnc_rt_gemm_f32(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, C1, N);
    threads(2);
    nnc_rt_gemm_f32(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, C2, N);
    nnc_rt_fp_leave(saved);
    same(C1, C2, (long)M * N, "gemm under flush-to-zero");
    for (i = 0; nnc_rt_fp_flush_bits() && i < (long)M * N && C2[i] == 0.0f; i++)
        ;
    ck_assert_msg(!nnc_rt_fp_flush_bits() || i == (long)M * N, "C[%ld] = %g: a subnormal product was not flushed",
                  i, (double)C2[i < (long)M * N ? i : 0]);
    free(A); free(B); free(C1); free(C2);
}
END_TEST

int main(void)
{
    const TTest *t[] = {test_par_for_ranges, test_gemm_split, test_gemm_narrow_split, test_gemm_small_m_split, test_conv_split, test_cnn_step_split,
                        test_elementwise_split, test_depthwise_split, test_conv_channels_split, test_par_for_nested, test_split_fp_mode,
#if defined(_OPENMP)
                        test_concurrent_callers, test_fork_child,
#endif
                        NULL};
    const kernel_case cases[] = {{"threads", t, 0, 0}};
    return run_cases("threads", cases, 1);
}
