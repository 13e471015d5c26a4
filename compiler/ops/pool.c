/* pool.c — pooling: max/avg 2-D and 1-D, global, their gradient nodes,
 * and the imported MaxPool/AveragePool (nd_pool).  Calls into
 * runtime/pool.c. */
#include "ops/rules.h"

/* POOL_2D_ONLY / POOL_1D_ONLY: Keras' global_*_pooling2d / 1d, one rank each */
enum { POOL_AVG = 1, POOL_GLOBAL = 2, POOL_1D = 4, POOL_2D_ONLY = 8, POOL_1D_ONLY = 16 };
static int pool_kind(int op) {
    switch (op) {
    case OP_GLOBAL_MAX_POOLING1D: return POOL_GLOBAL | POOL_1D_ONLY;
    case OP_GLOBAL_MAX_POOLING2D: return POOL_GLOBAL | POOL_2D_ONLY;
    case OP_GLOBAL_AVERAGE_POOLING1D: return POOL_GLOBAL | POOL_AVG | POOL_1D_ONLY;
    case OP_GLOBAL_AVERAGE_POOLING2D: return POOL_GLOBAL | POOL_AVG | POOL_2D_ONLY;
    case OP_AVG_POOL2D: return POOL_AVG;
    case OP_MAX_POOL1D: return POOL_1D;
    case OP_AVG_POOL1D: return POOL_AVG | POOL_1D;
    case OP_GLOBAL_MAX_POOL: return POOL_GLOBAL;
    case OP_GLOBAL_AVG_POOL: return POOL_GLOBAL | POOL_AVG;
    default: return 0;      /* max_pool2d */
    }
}

static const AttrDef pool_attrs[] = {
    { "pool_size", AT_PAIR, offsetof(Attrs, pool_size), "2" },
    { "strides", AT_PAIR, offsetof(Attrs, strides), "0" },      /* 0: pool_size */
    { "padding", AT_PADDING, offsetof(Attrs, padding), "valid" },
};
static const AttrDef pool1d_attrs[] = {
    { "pool_size", AT_INT, offsetof(Attrs, pool_size), "2" },
    { "strides", AT_INT, offsetof(Attrs, strides), "0" },
    { "padding", AT_PADDING, offsetof(Attrs, padding), "valid" },
};

static int pool_shape(Graph *g, int node) {
    Node *n = &g->nodes[node];
    int kind = pool_kind(n->op), one_d = kind & POOL_1D;
    Value *x = op_in(g, node, 0);
    if (kind & (POOL_1D_ONLY | POOL_2D_ONLY)) {
        int one = kind & POOL_1D_ONLY;
        if (op_want_rank(g, node, one ? 2 : 3, one ? "(n, steps, channels)" : "(n, height, width, channels)", ""))
            return -1;
        one_d = one;
    } else if (kind & POOL_GLOBAL) {
        if (x->rank != 2 && x->rank != 3) {
            op_want_rank(g, node, 3, "(n, height, width, channels) or (n, steps, channels)", "");
            return -1;
        }
        one_d = x->rank == 2;
    } else if (op_want_rank(g, node, one_d ? 2 : 3, one_d ? "(n, steps, channels)" : "(n, height, width, channels)", "")) {
        return -1;
    }
    nnc_rt_pool2d p;
    memset(&p, 0, sizeof p);
    p.h = one_d ? 1 : x->dims[0];
    p.w = x->dims[x->rank - 2];
    p.c = x->dims[x->rank - 1];
    if (kind & POOL_GLOBAL) {
        p.kh = p.oh = p.h; p.kw = p.ow = p.w;
        p.kh = p.h; p.kw = p.w; p.sh = p.sw = 1; p.oh = p.ow = 1;
        n->attr.pool = p;
        return op_make_out(g, node, 1, 1, &p.c);
    }
    if (n->attr.padding == PAD_CAUSAL) {
        diag_error(n->loc, "%s: padding = causal is for conv1d; use valid or same", op_name(n->op));
        return -1;
    }
    const int *k = n->attr.pool_size, *s = n->attr.strides;
    p.kh = one_d ? 1 : k[0]; p.kw = k[!one_d];
    p.sh = one_d ? 1 : s[0] ? s[0] : k[0];
    p.sw = s[!one_d] ? s[!one_d] : k[!one_d];
    if (op_window(p.h, p.kh, p.sh, 1, n->attr.padding, &p.oh, &p.pt) ||
        op_window(p.w, p.kw, p.sw, 1, n->attr.padding, &p.ow, &p.pl)) {
        char buf[96], win[32];
        if (p.kh == p.kw || one_d) snprintf(win, sizeof win, "%d", p.kw);
        else snprintf(win, sizeof win, "%dx%d", p.kh, p.kw);
        diag_error(n->loc, "%s: the pool window %s is larger than the input %s; use padding = same "
                   "or a smaller pool_size", op_name(n->op), win, ir_shape_str(x, buf, sizeof buf));
        return -1;
    }
    n->attr.pool = p;
    int dims[3] = { p.oh, p.ow, p.c };
    return op_make_out(g, node, 1, one_d ? 2 : 3, one_d ? dims + 1 : dims);
}

static void pool_grad(Graph *g, int node, const int *dout, int *din) {
    Node n = g->nodes[node];
    if (pool_kind(n.op) & POOL_AVG) {
        din[0] = op_bwd(g, OP_AVG_POOL_GRAD, dout, 1, &n, n.in[0]);
    } else {
        int in[2] = { dout[0], n.in[0] };
        din[0] = op_bwd(g, OP_MAX_POOL_GRAD, in, 2, &n, n.in[0]);
    }
}

static long pool_flops(const Graph *g, const Node *n) {
    (void)g;
    const nnc_rt_pool2d *p = &n->attr.pool;
    /* a window of 10^8 with padding = same is allowed: stop at 2^52 before a long overflows */
    double f = (double)p->oh * p->ow * p->c * p->kh * p->kw;
    return f < 0x1p52 ? (long)f : (long)0x1p52;
}

static void pool_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_%spool2d_forward(%s, %s, %s, n); /* %s */",
              pool_kind(n->op) & POOL_AVG ? "avg" : "max", emit_pool(e, &n->attr.pool),
              emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), n->layer);
}

/* at build time (calibration): the samples are ny over one sample's outputs */
static int pool_samples(const Fold *f) {
    const nnc_rt_pool2d *p = &f->a->pool;
    long per = (long)p->oh * p->ow * p->c;
    return per ? (int)(f->ny / per) : 0;
}
static void max_pool_fold(const Fold *f) { nnc_rt_maxpool2d_forward(&f->a->pool, f->y, f->in[0], pool_samples(f)); }
static void avg_pool_fold(const Fold *f) { nnc_rt_avgpool2d_forward(&f->a->pool, f->y, f->in[0], pool_samples(f)); }

static void max_pool_grad_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_maxpool2d_backward(%s, %s, %s, %s, n);", emit_pool(e, &n->attr.pool),
              emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]));
}

static void avg_pool_grad_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_avgpool2d_backward(%s, %s, %s, n);", emit_pool(e, &n->attr.pool),
              emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]));
}


static void nd_pool_emit(EmitCtx *e, const Node *n) {
    emit_line(e, "nnc_rt_%spool2d_forward(%s, %s, %s, %s);", n->attr.fn ? "avg" : "max",
              emit_pool(e, &n->attr.pool), emit_ptr(e, n->out[0]), emit_ptr(e, n->in[0]), emit_per_n(e, n, n->attr.samples));
}


/* an imported pooling: the layer's count for each of its attr.samples samples */
static long nd_pool_flops(const Graph *g, const Node *n) { return pool_flops(g, n) * n->attr.samples; }

#define POOL(k) { .rt = RT_POOL, .layer = 1, .ninputs = 1, \
                      .attrs = (k) & POOL_GLOBAL ? NULL : (k) & POOL_1D ? pool1d_attrs : pool_attrs, \
                      .nattrs = (k) & POOL_GLOBAL ? 0 : 3, \
                      .shape = pool_shape, .grad = pool_grad, .flops = pool_flops, .emit = pool_emit, \
                      .fold = (k) & POOL_AVG ? avg_pool_fold : max_pool_fold }
const OpDef op_max_pool2d = POOL(0);
const OpDef op_avg_pool2d = POOL(POOL_AVG);
const OpDef op_max_pool1d = POOL(POOL_1D);
const OpDef op_avg_pool1d = POOL(POOL_AVG | POOL_1D);
const OpDef op_global_max_pool = POOL(POOL_GLOBAL);
const OpDef op_global_avg_pool = POOL(POOL_GLOBAL | POOL_AVG);
const OpDef op_global_max_pooling1d = POOL(POOL_GLOBAL | POOL_1D_ONLY);
const OpDef op_global_max_pooling2d = POOL(POOL_GLOBAL | POOL_2D_ONLY);
const OpDef op_global_average_pooling1d = POOL(POOL_GLOBAL | POOL_AVG | POOL_1D_ONLY);
const OpDef op_global_average_pooling2d = POOL(POOL_GLOBAL | POOL_AVG | POOL_2D_ONLY);
const OpDef op_max_pool_grad = INTERNAL(RT_POOL, 2, op_no_shape, max_pool_grad_emit);
const OpDef op_avg_pool_grad = INTERNAL(RT_POOL, 1, op_no_shape, avg_pool_grad_emit);
const OpDef op_nd_pool = ND(1, nd_pool_emit, .flops = nd_pool_flops);
