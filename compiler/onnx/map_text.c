/* map_text.c — the builder of ONNX's text op TfIdfVectorizer (opset 9).
 *
 * Decisions:
 *  - One IR op (nd_tfidf, runtime/text.c) counts the n-grams at run time;
 *    the pool becomes a constant table built here: one row per n-gram of a
 *    size in [min_gram_length, max_gram_length] as (n, output column,
 *    tokens), sorted for a binary search.  When the pool names an n-gram
 *    twice the later one's column wins, as in ONNX Runtime's trie.  The
 *    n-grams of other sizes keep their place in ngram_indexes' numbering.
 *  - Integer tokens only (int32, int64, held in floats): string inputs and
 *    pool_strings are refused (exit 3), and so is a pool token outside
 *    +-(2^24 - 1), where a float no longer tells integers apart.
 *  - Weights are indexed by output column (what ONNX Runtime and ONNX's
 *    reference do); without weights every weight is 1.
 *  - An empty input or a pool with no n-gram of the wanted sizes gives a
 *    constant of zeros.
 *  - Each row is counted on its own: a (N, C) input keeps a run-time batch.
 */
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx.h"

/* the sort order of the pool table's rows: (n, tokens), then their n-gram number */
static int width_of_rows;
static int by_gram(const void *pa, const void *pb) {
    const float *a = pa, *b = pb;
    for (int k = 0; k < width_of_rows; k++)
        if (k != 1 && a[k] != b[k]) return a[k] < b[k] ? -1 : 1;
    return 0;
}

/* an INTS attribute, all of it (owned by the caller); NULL and *count -1 when absent */
static long *ints_of(const Onnx__NodeProto *n, const char *name, long *count) {
    const Onnx__AttributeProto *a = onnx_attr(n, name);
    *count = a ? (long)a->n_ints : -1;
    if (!a) return NULL;
    long *v = malloc((a->n_ints ? a->n_ints : 1) * sizeof *v);
    if (!v) abort();
    for (size_t i = 0; i < a->n_ints; i++) v[i] = (long)a->ints[i];
    return v;
}

typedef struct Pool {
    long *counts, *indexes, *tokens;
    long ncounts, nindexes, ntokens;
    float *table;
} Pool;

static void pool_free(Pool *p) {
    free(p->counts);
    free(p->indexes);
    free(p->tokens);
    free(p->table);
}

#define TOKEN_MAX 16777215L   /* 2^24 - 1: the integers a float holds exactly, with their neighbours */

/* the table rows (*rows of 2 + *maxn floats); -1 after reporting */
static int build_table(Ctx *c, Pool *p, long min_n, long max_n, long *rows, int *maxn) {
    long id = 0, total = 0;
    *maxn = 0;
    for (long i = 0; i < p->ncounts; i++) {
        long start = p->counts[i], end = i + 1 < p->ncounts ? p->counts[i + 1] : p->ntokens;
        if (start < 0 || start > end || end > p->ntokens) {
            onnx_invalid(c->im, "TfIdfVectorizer's ngram_counts must rise from 0 to at most the pool's %ld "
                         "tokens; entry %ld is %ld", p->ntokens, i, start);
            return -1;
        }
        long size = i + 1, grams = (end - start) / size;
        if (size >= min_n && size <= max_n && grams) {
            total += grams;
            if (size > *maxn) *maxn = (int)size;
        }
    }
    int w = 2 + *maxn;
    p->table = calloc((size_t)(total ? total : 1) * (size_t)w, sizeof *p->table);
    if (!p->table) abort();
    long r = 0;
    for (long i = 0; i < p->ncounts; i++) {
        long start = p->counts[i], end = i + 1 < p->ncounts ? p->counts[i + 1] : p->ntokens;
        long size = i + 1, grams = (end - start) / size;
        for (long j = 0; j < grams; j++, id++) {
            if (size < min_n || size > max_n) continue;
            if (id >= p->nindexes) {
                onnx_invalid(c->im, "TfIdfVectorizer's pool has more n-grams than ngram_indexes' %ld entries",
                             p->nindexes);
                return -1;
            }
            float *row = p->table + r++ * w;
            row[0] = (float)size;
            row[1] = (float)p->indexes[id];
            for (long k = 0; k < size; k++) {
                long t = p->tokens[start + j * size + k];
                if (t > TOKEN_MAX || t < -TOKEN_MAX) {
                    char why[160];
                    snprintf(why, sizeof why, "a TfIdfVectorizer pool token of %ld (nnc holds tokens in float32, "
                             "exact to +-2^24)", t);
                    onnx_unsupported(c->im, why);
                    return -1;
                }
                row[2 + k] = (float)t;
            }
        }
    }
    /* sorted by (n, tokens), equal n-grams in pool order (qsort is not stable: each row
     * carries its number in a scratch copy); the last of each kept */
    float *tmp = malloc((size_t)(total ? total : 1) * (size_t)(w + 1) * sizeof *tmp);
    if (!tmp) abort();
    for (long i = 0; i < total; i++) {
        memcpy(tmp + i * (w + 1), p->table + i * w, (size_t)w * sizeof *tmp);
        tmp[i * (w + 1) + w] = (float)i;
    }
    width_of_rows = w + 1;
    qsort(tmp, (size_t)total, (size_t)(w + 1) * sizeof *tmp, by_gram);
    width_of_rows = w;
    long kept = 0;
    for (long i = 0; i < total; i++) {
        const float *s = tmp + i * (w + 1);
        if (i + 1 < total && !by_gram(s, s + (w + 1))) continue;   /* a later duplicate follows */
        memcpy(p->table + kept++ * w, s, (size_t)w * sizeof *tmp);
    }
    free(tmp);
    *rows = kept;
    return 0;
}

/* TfIdfVectorizer: X (C) or (N, C) of integer tokens -> (out) or (N, out) floats */
Tensor *onnx_tfidf(Ctx *c) {
    Tensor *x = c->in[0];
    const Onnx__NodeProto *n = c->n;
    if (x->dtype == ONNX__TENSOR_PROTO__DATA_TYPE__STRING || onnx_attr(n, "pool_strings")) {
        onnx_unsupported(c->im, "TfIdfVectorizer on strings (nnc counts integer tokens only)");
        return NULL;
    }
    if (x->rank > 2) {
        onnx_invalid(c->im, "TfIdfVectorizer's input must be (C) or (N, C); it has rank %d", x->rank);
        return NULL;
    }
    int mode = onnx_attr_is(n, "mode", "TF") ? NNC_RT_TFIDF_TF : onnx_attr_is(n, "mode", "IDF") ? NNC_RT_TFIDF_IDF :
               onnx_attr_is(n, "mode", "TFIDF") ? NNC_RT_TFIDF_TFIDF : -1;
    long min_n = onnx_attr_i(n, "min_gram_length", -1), max_n = onnx_attr_i(n, "max_gram_length", -1);
    long skip = onnx_attr_i(n, "max_skip_count", -1);
    if (mode < 0 || min_n < 1 || max_n < min_n || skip < 0) {
        onnx_invalid(c->im, "TfIdfVectorizer needs mode TF, IDF or TFIDF, 1 <= min_gram_length <= "
                     "max_gram_length and max_skip_count >= 0");
        return NULL;
    }
    Pool p;
    memset(&p, 0, sizeof p);
    p.counts = ints_of(n, "ngram_counts", &p.ncounts);
    p.indexes = ints_of(n, "ngram_indexes", &p.nindexes);
    p.tokens = ints_of(n, "pool_int64s", &p.ntokens);
    Tensor *y = NULL;
    long out = 0;
    for (long i = 0; i < p.nindexes; i++) out = p.indexes[i] + 1 > out ? p.indexes[i] + 1 : out;
    int bad_index = 0;
    for (long i = 0; i < p.nindexes; i++) bad_index |= p.indexes[i] < 0;
    if (p.ncounts < 1 || p.nindexes < 1 || p.ntokens < 0 || bad_index) {
        onnx_invalid(c->im, "TfIdfVectorizer needs ngram_counts, pool_int64s and ngram_indexes (not empty, "
                     "no negative index)");
        pool_free(&p);
        return NULL;
    }
    const Onnx__AttributeProto *wa = onnx_attr(n, "weights");
    if (wa && wa->n_floats && (long)wa->n_floats < out) {
        onnx_invalid(c->im, "TfIdfVectorizer has %zu weights for its %ld output columns", wa->n_floats, out);
        pool_free(&p);
        return NULL;
    }
    long rows = x->rank == 2 ? x->dims[0] : 1, len = x->rank ? x->dims[x->rank - 1] : 1;
    long dims[2] = { rows, out };
    int rank = x->rank == 2 ? 2 : 1;
    const long *ydims = rank == 2 ? dims : dims + 1;
    long npool = 0;
    int maxn = 0;
    if (onnx_checked_numel(c->im, ydims, rank, ONNX_MAX_ELEMS, "TfIdfVectorizer's result") < 0 ||
        build_table(c, &p, min_n, max_n, &npool, &maxn) < 0) {
        pool_free(&p);
        return NULL;
    }
    if (!npool || rows * len == 0) {      /* nothing can match: zeros */
        float *z = calloc((size_t)(rows * out), sizeof *z);
        if (!z) abort();
        y = onnx_add_constant(c->im, onnx_out_name(c, 0), rank, ydims, z);
        pool_free(&p);
        return y;
    }
    float *w = malloc((size_t)out * sizeof *w);
    if (!w) abort();
    for (long i = 0; i < out; i++) w[i] = wa && wa->n_floats ? wa->floats[i] : 1.0f;
    char b1[170], b2[170];
    long pdims[2] = { npool, 2 + maxn };
    Tensor *in[3] = { x, onnx_add_constant(c->im, onnx_part(c, "pool", b1), 2, pdims, p.table),
                      onnx_add_constant(c->im, onnx_part(c, "weights", b2), 1, &out, w) };
    p.table = NULL;     /* owned by its tensor now */
    Attrs a;
    memset(&a, 0, sizeof a);
    a.samples = (int)rows;
    a.alen = len;
    a.count = npool;
    a.ny = out;
    a.dims[0] = maxn;
    a.dims[1] = (int)min_n;
    a.dims[2] = (int)(skip < len ? skip : len);
    a.ndims = 3;
    a.fn = mode;
    y = onnx_apply(c->im, OP_ND_TFIDF, in, 3, &a, onnx_out_name(c, 0), rank, ydims);
    pool_free(&p);
    return y;
}
