/* attention.c — the kernels multi_head_attention and position_embedding
 * need beyond the N-d ops: the gradient of a batched matrix product, the
 * scaled (optionally causal) softmax of attention scores with its gradient,
 * and the broadcast of a position table over the batch with its gradient.
 *
 * Batched product Y = A B over a space p (nnc_rt_matmul_nd's: per point,
 * (M,K) . (K,N) at offsets ao, bo, yo):
 *   dA[ao] += dY[yo] B[bo]^T        dB[bo] += A[ao]^T dY[yo]
 * The gradient is zeroed first and each point accumulates into its operand
 * block through that operand's strides, so an operand broadcast along an
 * axis of the space (stride 0) gets the sum over that axis: the reduction a
 * broadcast's gradient needs falls out of the walk, without a second pass.
 *
 * Attention softmax, s is (outer, tq, tk): each row i of a (tq, tk) block
 *   p[i, j] = exp(scale s[i, j] - m) / sum_j' exp(scale s[i, j'] - m)
 * over j <= i when causal (Keras' use_causal_mask: a lower-triangular mask
 * from the top left; the masked p are exactly 0, as Keras' -1e9 bias makes
 * them after exp underflows), over all j otherwise.  Its gradient:
 *   ds[i, j] = scale p[i, j] (dp[i, j] - sum_j' p[i, j'] dp[i, j'])
 * (0 where masked, since p is).  The scale is applied here rather than by a
 * separate node so the composed attention needs no constant tensor.
 *
 * Position embedding: y[b] = table[0 .. size) for every sample b (keras_hub's
 * PositionEmbedding broadcasts its (sequence_length, features) table over
 * the batch); dtable = sum_b dy[b], and 0 for the rows the sequence does not
 * reach (table_size > size). */
#include <math.h>
#include <string.h>
#include "nnc_rt.h"

void nnc_rt_matmul_nd_grad(int which, float *d, long dsize, const float *dy, const float *other,
                           const nnc_rt_nd *p, int M, int N, int K)
{
    long idx[NNC_RT_ND_MAX] = { 0 }, yo = p->yoff, ao = p->aoff, bo = p->boff, k, total = nnc_rt_nd_space(p);
    int r;
    memset(d, 0, (size_t)dsize * sizeof *d);
    for (k = 0; k < total; k++) {
        if (which == 0)   /* dA (M,K) += dY (M,N) . B^T, B (K,N) */
            nnc_rt_gemm_f32(0, 1, M, K, N, 1.0f, dy + yo, N, other + bo, N, 1.0f, d + ao, K);
        else              /* dB (K,N) += A^T . dY, A (M,K) */
            nnc_rt_gemm_f32(1, 0, K, N, M, 1.0f, other + ao, K, dy + yo, N, 1.0f, d + bo, N);
        for (r = p->rank - 1; r >= 0; r--) {
            yo += p->ys[r]; ao += p->as[r]; bo += p->bs[r];
            if (++idx[r] < p->dims[r])
                break;
            yo -= p->ys[r] * p->dims[r];
            ao -= p->as[r] * p->dims[r];
            bo -= p->bs[r] * p->dims[r];
            idx[r] = 0;
        }
    }
}

void nnc_rt_attn_softmax_forward(float *y, const float *s, long outer, int tq, int tk, float scale, int causal)
{
    long o;
    int i, j;
    for (o = 0; o < outer; o++)
        for (i = 0; i < tq; i++) {
            const float *sr = s + (o * tq + i) * tk;
            float *yr = y + (o * tq + i) * tk;
            int len = causal && i + 1 < tk ? i + 1 : tk;
            float m = scale * sr[0], sum = 0;
            for (j = 1; j < len; j++)
                if (scale * sr[j] > m)
                    m = scale * sr[j];
            for (j = 0; j < len; j++) {
                yr[j] = expf(scale * sr[j] - m);
                sum += yr[j];
            }
            for (j = 0; j < len; j++)
                yr[j] /= sum;
            for (j = len; j < tk; j++)
                yr[j] = 0;
        }
}

void nnc_rt_attn_softmax_backward(float *ds, const float *dy, const float *y, long outer, int tq, int tk,
                                  float scale)
{
    long r, rows = outer * tq;
    int j;
    for (r = 0; r < rows; r++) {
        const float *yr = y + r * tk, *dr = dy + r * tk;
        float *o = ds + r * tk, dot = 0;
        for (j = 0; j < tk; j++)
            dot += yr[j] * dr[j];
        for (j = 0; j < tk; j++)
            o[j] = scale * yr[j] * (dr[j] - dot);
    }
}

void nnc_rt_position_embedding_forward(float *y, const float *table, long n, long size)
{
    long b;
    for (b = 0; b < n; b++)
        memcpy(y + b * size, table, (size_t)size * sizeof *y);
}

void nnc_rt_position_embedding_backward(float *dtable, const float *dy, long n, long size, long table_size)
{
    long b, i;
    memset(dtable, 0, (size_t)table_size * sizeof *dtable);
    for (b = 0; b < n; b++)
        for (i = 0; i < size; i++)
            dtable[i] += dy[b * size + i];
}
