/* torch_ops.c — the C side of tests/torch_ops.py: runs single runtime
 * kernels (conv2d, max/avg pooling, batch norm) on tensors it is given and
 * writes the results back, so the script can compare them with PyTorch.
 *
 * Protocol (stdin -> stdout, any number of records until EOF): a record is
 * one text line naming the op and its integer/float parameters, followed
 * by the input tensors as raw native float32, in the order listed below.
 * For each record the outputs are written as raw float32 in the order
 * listed.  Shapes follow runtime/nnc_rt.h (channels-last, Keras kernels).
 *
 *   conv2d n h w c oh ow oc kh kw sh sw dh dw pt pl groups act bias
 *       in:  x (n,h,w,c), w (kh,kw,c/groups,oc), [b (oc) if bias], dy (n,oh,ow,oc)
 *       out: y = act(conv + b), dx, dw (the backward of the pre-activation)
 *   maxpool|avgpool n h w c oh ow kh kw sh sw pt pl
 *       in:  x, dy          out: y, dx
 *   bn_train rows c momentum eps
 *       in:  x (rows,c), gamma, beta, moving_mean, moving_var, dy
 *       out: y, mean, invstd, moving_mean', moving_var', dx, dgamma, dbeta
 *   bn_infer rows c eps
 *       in:  x, gamma, beta, moving_mean, moving_var     out: y
 *
 * Exit status 0 on success, 2 on a malformed record (message on stderr).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc_rt.h"

static float *read_floats(long n)
{
    float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    if (!p || (n > 0 && fread(p, sizeof(float), (size_t)n, stdin) != (size_t)n)) {
        fprintf(stderr, "torch_ops: short input (wanted %ld floats)\n", n);
        exit(2);
    }
    return p;
}

static void write_floats(const float *p, long n)
{
    if (n > 0 && fwrite(p, sizeof(float), (size_t)n, stdout) != (size_t)n) {
        fprintf(stderr, "torch_ops: write failed\n");
        exit(2);
    }
}

static float *alloc_floats(long n)
{
    float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    if (!p) {
        fprintf(stderr, "torch_ops: out of memory\n");
        exit(2);
    }
    return p;
}

static void run_conv(const char *args)
{
    nnc_rt_conv2d p;
    int n, act, bias;
    long nx, nw, ny;
    float *x, *w, *b = NULL, *dy, *y, *dx, *dw, *scratch;
    if (sscanf(args, "%d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d", &n, &p.h, &p.w,
               &p.c, &p.oh, &p.ow, &p.oc, &p.kh, &p.kw, &p.sh, &p.sw, &p.dh, &p.dw, &p.pt, &p.pl,
               &p.groups, &act, &bias) != 18) {
        fprintf(stderr, "torch_ops: bad conv2d record: %s\n", args);
        exit(2);
    }
    nx = (long)n * p.h * p.w * p.c;
    nw = (long)p.kh * p.kw * (p.c / p.groups) * p.oc;
    ny = (long)n * p.oh * p.ow * p.oc;
    x = read_floats(nx);
    w = read_floats(nw);
    if (bias)
        b = read_floats(p.oc);
    dy = read_floats(ny);
    y = alloc_floats(ny);
    dx = alloc_floats(nx);
    dw = alloc_floats(nw);
    scratch = alloc_floats(NNC_RT_CONV2D_SCRATCH(&p));
    nnc_rt_conv2d_forward(&p, y, x, w, b, scratch, n, act);
    nnc_rt_conv2d_backward_data(&p, dx, dy, w, scratch, n);
    nnc_rt_conv2d_backward_filter(&p, dw, dy, x, scratch, n);
    write_floats(y, ny);
    write_floats(dx, nx);
    write_floats(dw, nw);
    free(x); free(w); free(b); free(dy); free(y); free(dx); free(dw); free(scratch);
}

static void run_pool(const char *args, int is_max)
{
    nnc_rt_pool2d p;
    int n;
    long nx, ny;
    float *x, *dy, *y, *dx;
    if (sscanf(args, "%d %d %d %d %d %d %d %d %d %d %d %d", &n, &p.h, &p.w, &p.c, &p.oh, &p.ow,
               &p.kh, &p.kw, &p.sh, &p.sw, &p.pt, &p.pl) != 12) {
        fprintf(stderr, "torch_ops: bad pool record: %s\n", args);
        exit(2);
    }
    nx = (long)n * p.h * p.w * p.c;
    ny = (long)n * p.oh * p.ow * p.c;
    x = read_floats(nx);
    dy = read_floats(ny);
    y = alloc_floats(ny);
    dx = alloc_floats(nx);
    if (is_max) {
        nnc_rt_maxpool2d_forward(&p, y, x, n);
        nnc_rt_maxpool2d_backward(&p, dx, dy, x, n);
    } else {
        nnc_rt_avgpool2d_forward(&p, y, x, n);
        nnc_rt_avgpool2d_backward(&p, dx, dy, n);
    }
    write_floats(y, ny);
    write_floats(dx, nx);
    free(x); free(dy); free(y); free(dx);
}

static void run_bn(const char *args, int train)
{
    long rows;
    int c;
    float momentum = 0.0f, eps;
    float *x, *g, *b, *mm, *mv, *y;
    int ok = train ? sscanf(args, "%ld %d %f %f", &rows, &c, &momentum, &eps) == 4
                   : sscanf(args, "%ld %d %f", &rows, &c, &eps) == 3;
    if (!ok) {
        fprintf(stderr, "torch_ops: bad batch norm record: %s\n", args);
        exit(2);
    }
    x = read_floats(rows * c);
    g = read_floats(c);
    b = read_floats(c);
    mm = read_floats(c);
    mv = read_floats(c);
    y = alloc_floats(rows * c);
    if (train) {
        float *dy = read_floats(rows * c), *mean = alloc_floats(c), *invstd = alloc_floats(c);
        float *dx = alloc_floats(rows * c), *dg = alloc_floats(c), *db = alloc_floats(c);
        nnc_rt_batchnorm_forward_train(y, mean, invstd, x, g, b, mm, mv, rows, c, momentum, eps);
        nnc_rt_batchnorm_backward(dx, dg, db, dy, x, mean, invstd, g, rows, c);
        write_floats(y, rows * c);
        write_floats(mean, c);
        write_floats(invstd, c);
        write_floats(mm, c);
        write_floats(mv, c);
        write_floats(dx, rows * c);
        write_floats(dg, c);
        write_floats(db, c);
        free(dy); free(mean); free(invstd); free(dx); free(dg); free(db);
    } else {
        nnc_rt_batchnorm_forward_infer(y, x, g, b, mm, mv, rows, c, eps);
        write_floats(y, rows * c);
    }
    free(x); free(g); free(b); free(mm); free(mv); free(y);
}

int main(void)
{
    char line[512];
    while (fgets(line, sizeof line, stdin)) {
        char op[32];
        int used = 0;
        if (sscanf(line, "%31s %n", op, &used) != 1)
            continue;
        if (strcmp(op, "conv2d") == 0)
            run_conv(line + used);
        else if (strcmp(op, "maxpool") == 0)
            run_pool(line + used, 1);
        else if (strcmp(op, "avgpool") == 0)
            run_pool(line + used, 0);
        else if (strcmp(op, "bn_train") == 0)
            run_bn(line + used, 1);
        else if (strcmp(op, "bn_infer") == 0)
            run_bn(line + used, 0);
        else {
            fprintf(stderr, "torch_ops: unknown op '%s'\n", op);
            return 2;
        }
    }
    return fflush(stdout) == 0 ? 0 : 2;
}
