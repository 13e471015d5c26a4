/* ops/text.c — text ops the ONNX importer builds.
 *
 * nd_tfidf: ONNX TfIdfVectorizer on integer tokens.  Inputs x (samples,
 * alen) of tokens, the pool table (count, 2 + maxn) and the weights (ny),
 * both constants the importer built (runtime/text.c says their layout);
 * output (samples, ny).  Attrs: dims = maxn, min_n, max_skip; fn =
 * NNC_RT_TFIDF_*.  Rows are independent: it keeps a run-time batch
 * (passes/batch.c).  Not differentiable (counts of tokens). */
#include "ops/rules.h"

static void nd_tfidf_emit(EmitCtx *e, const Node *n) {
    const Attrs *a = &n->attr;
    emit_line(e, "nnc_rt_tfidf(%s, %s, %s, %s, %s, %ld, %ld, %d, %d, %d, %ld, %d);", emit_ptr(e, n->out[0]),
              emit_ptr(e, n->in[0]), emit_ptr(e, n->in[1]), emit_ptr(e, n->in[2]), emit_per_n(e, n, a->samples),
              a->alen, a->count, a->dims[0], a->dims[1], a->dims[2], a->ny, a->fn);
}

static void nd_tfidf_fold(const Fold *f) {
    const Attrs *a = f->a;
    nnc_rt_tfidf(f->y, f->in[0], f->in[1], f->in[2], a->samples, a->alen, a->count, a->dims[0], a->dims[1],
                 a->dims[2], a->ny, a->fn);
}

/* per token: a binary search per skip and n-gram size */
static long nd_tfidf_flops(const Graph *g, const Node *n) {
    long lg = 1;
    while ((1L << lg) < n->attr.count) lg++;
    return ir_size(&g->values[n->in[0]]) * (n->attr.dims[2] + 1L) * n->attr.dims[0] * lg;
}

const OpDef op_nd_tfidf = ND(3, nd_tfidf_emit, .fold = nd_tfidf_fold, .flops = nd_tfidf_flops);
