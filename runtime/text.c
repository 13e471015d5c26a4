/* text.c — ONNX TfIdfVectorizer (opset 9) on integer tokens: counts of the
 * n-grams of a pool in each row of tokens, weighted.
 *
 * Tokens are integers held in floats, as everywhere in nnc: exact while
 * |v| < 2^24.  The importer refuses a pool holding a larger token, so a
 * larger input token (which float32 may round) can never equal a pool
 * entry by rounding: it simply matches nothing, as it would exactly.
 *
 * x (rows, len) of tokens; pool (npool, 2 + maxn): each row one n-gram of
 * the pool as (n, output column, its n tokens, zeros up to maxn), the rows
 * sorted by (n, tokens), no two alike (the importer builds it); weights
 * (out); y (rows, out).
 *
 * For each skip distance d = 1 .. max_skip + 1 and each start s, the n-gram
 * x[s], x[s + d], ..., x[s + (n - 1) d] of every size n in [min_n, maxn]
 * that fits in the row is looked up (binary search) and, when the pool has
 * it, counts once in its column; unigrams count at d = 1 only (skips do not
 * change them).  This is ONNX Runtime's and ONNX's reference's count.
 * mode TF: y = count; IDF: y = weight if count > 0, else 0; TFIDF: y =
 * weight * count (the weights are indexed by output column, as ONNX Runtime
 * does; all 1 when the model gives none).  Counts are exact to 2^24. */
#include "nnc_rt.h"

/* -1, 0, 1 as pool row r orders before, equal to, after the n-gram (n, key) */
static int order(const float *row, int n, const float *key, long step) {
    if (row[0] != (float)n) return row[0] < (float)n ? -1 : 1;
    for (int k = 0; k < n; k++) {
        float v = key[k * step];
        if (row[2 + k] != v) return row[2 + k] < v ? -1 : 1;
    }
    return 0;
}

/* the pool row of the n-gram, or NULL */
static const float *find(const float *pool, long npool, int maxn, int n, const float *key, long step) {
    long lo = 0, hi = npool, width = 2 + maxn;
    while (lo < hi) {
        long mid = lo + (hi - lo) / 2;
        int o = order(pool + mid * width, n, key, step);
        if (!o) return pool + mid * width;
        if (o < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

void nnc_rt_tfidf(float *y, const float *x, const float *pool, const float *weights, long rows, long len,
                  long npool, int maxn, int min_n, int max_skip, long out, int mode) {
    for (long r = 0; r < rows; r++) {
        const float *row = x + r * len;
        float *yr = y + r * out;
        for (long j = 0; j < out; j++) yr[j] = 0;
        for (long d = 1; d <= (long)max_skip + 1 && d <= len; d++) {   /* d >= len: no n-gram of 2 fits */
            int first = d == 1 || min_n > 1 ? min_n : 2;
            if (first > maxn) break;
            for (long s = 0; s < len; s++)
                for (int n = first; n <= maxn && s + d * (n - 1) < len; n++) {
                    const float *hit = find(pool, npool, maxn, n, row + s, d);
                    if (hit) yr[(long)hit[1]] += 1;
                }
        }
        for (long j = 0; j < out; j++)
            if (mode == NNC_RT_TFIDF_IDF) yr[j] = yr[j] > 0 ? weights[j] : 0.0f;
            else if (mode == NNC_RT_TFIDF_TFIDF) yr[j] *= weights[j];
    }
}
