/* gemm.c — single-precision GEMM: the reference oracle, the blocked driver
 * and its tiling, the entry points (one per micro-kernel, and the best),
 * and dense_forward (GEMM with a fused bias + activation epilogue).  The
 * micro-kernels are in gemm_ukernel.c, the packing in gemm_pack.c, the
 * paths for tiny M or K in gemm_small.c (gemm_internal.h joins them).
 *
 *   C[M,N] = alpha * op(A)[M,K] . op(B)[K,N] + beta * C,  op(X) = X or X^T
 *
 * Design.  K is cut into blocks (nnc_rt_gemm_tiles_for).  For each K block, each
 * NR-column sliver of op(B) is packed once into a contiguous (kc, NR) panel
 * (or read in place when B is not transposed and C has at most INPLACE_B_M
 * rows, or B is a constant already in 32-wide panels), and all of M then
 * sweeps it, MR rows at a time: a
 * register-blocked micro-kernel computes one MR x NR tile of C per call,
 * broadcasting the values of op(A) straight from A through two strides
 * (A row-major or transposed alike), so A is never copied and B is copied
 * once per product.  The B panel stays in L1 (32 KiB at 256 x 32) while the
 * rows of A stream from L2.  Edge tiles: the last M rows are packed
 * zero-padded (once per K block), and a partial N sliver is zero-padded and
 * stored through a small tile buffer, so the kernels never branch on size.
 *
 * No global mutable state and no malloc: the buffers live on the stack of
 * the blocked path (41 KiB; 4 KiB on M-profile microcontrollers).
 *
 * Fewer than SMALL_M rows (inference on one sample) skip packing
 * altogether: see gemm_small.c.  So do rank-K updates with K < SMALL_M.
 *
 * Micro-kernels, the best chosen at compile time; each is also exported as
 * a whole GEMM under its own name and listed by nnc_rt_gemm_f32_variants(),
 * so tests check every one the library contains against the reference:
 *   nnc_rt_f32_gemm_6x16__c        portable C written for auto-vectorisation
 *   nnc_rt_f32_gemm_6x16_1x8__c    the same with a narrow small-M path (M-profile)
 *   nnc_rt_f32_gemm_6x16__avx2     AVX2 + FMA intrinsics
 *   nnc_rt_f32_gemm_8x32__avx512   AVX-512F intrinsics
 *   nnc_rt_f32_gemm_16x16__avx512  AVX-512F, for N <= 16 (chosen there)
 * All of them accumulate each C element in float over p in order, one
 * K block at a time, so results are deterministic for a given build.
 * Measured with bench/gemm.c (make bench): 92-97 % of this core's FMA peak
 * at 256^3 and at the MLP's batch-32 shapes on a Zen 4 (AVX-512 on 256-bit
 * units).  On a Sapphire Rapids under KVM (two 512-bit FMA pipes, twice
 * the peak per cycle, so loads, packing and edges weigh twice as much),
 * timed in thread CPU time: 57-75 %, against 69 % for OpenBLAS 0.3.21 at
 * 256^3 and 48 % at 32x256x784 there.  What was tried there and did not
 * pay (within the +-3 % the shared machine allows): 12x32 and 14x32 tiles
 * (24/28 accumulators; in L1 no faster than 8x32's 86-88 %, slower at
 * M = 32), the K loop unrolled by 4 with the pointer updates shared,
 * software prefetch of B and C, shallower K blocks, packing B at M <= 64.
 * Prefetching the rows of A^T ahead gave +5 % at 256^3 A^T only.
 */
#include <string.h>

#include "gemm_internal.h"

#include "parallel.h"

/* The packing buffer lives on the stack of the blocked path only (small M
 * never allocates it).  Microcontrollers (M profile) get a small one: their
 * stacks are a few KiB, and their caches, if any, are tiny. */
#define MR_MAX 16
#define BUF_ALIGN 16                /* floats: 64-byte alignment */
#if defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'
#define BUF_FLOATS 1024             /* 4 KiB */
#define L1_BYTES 0                  /* no data cache to fit */
#else
#define BUF_FLOATS (KC_LIMIT * (NR_MAX + MR_MAX) + 2 * BUF_ALIGN) /* 48 KiB at most */
#if defined(__AVX512F__)
#define L1_BYTES (48 * 1024)        /* Ice Lake, Sapphire Rapids, Zen 5 */
#else
#define L1_BYTES (32 * 1024)
#endif
#endif
#define KC_LIMIT 256                /* the deepest K block, whatever the cache */
/* Up to this many rows of C, the kernels read a sliver of B (when not
 * transposed) in place rather than packed: for so few rows the copy costs
 * more than the strided reads (batch-32 training: 194 -> 236 GFLOP/s). */
#define INPLACE_B_M 64

/* ---- reference ------------------------------------------------------------
 * The oracle: a plain triple loop, accumulated in double so that it is the
 * most accurate thing in the tests. */
void nnc_rt_gemm_f32_ref(int ta, int tb, int M, int N, int K, float alpha,
                         const float *A, int lda, const float *B, int ldb,
                         float beta, float *C, int ldc)
{
    long i, j, p;
    for (i = 0; i < M; i++)
        for (j = 0; j < N; j++) {
            double s = 0.0;
            float *c = &C[i * (long)ldc + j];
            for (p = 0; p < K; p++) {
                float a = ta ? A[p * (long)lda + i] : A[i * (long)lda + p];
                float b = tb ? B[j * (long)ldb + p] : B[p * (long)ldb + j];
                s += (double)a * (double)b;
            }
            *c = beta == 0.0f ? (float)(alpha * s) : (float)(alpha * s + (double)beta * *c);
        }
}

/* ---- epilogue ------------------------------------------------------------------
 * What is applied to C once its last K block is in: C = act(C + bias) (bias
 * may be NULL, act elementwise or LINEAR); or, with y, the gradient form
 * C = act'(C) from the forward output y (act_backward: C is dy, becomes dz) */
typedef struct gemm_epi {
    const float *bias;
    int act;
    const float *y;     /* the gradient form, or NULL */
    long ldy;
} gemm_epi;

static int epi_none(const gemm_epi *e) { return !e->bias && !e->y && e->act == NNC_RT_ACT_LINEAR; }

#ifndef PF_AHEAD
#define PF_AHEAD 1      /* slivers ahead (1, 2 and 4 tried: 1 best) */
#endif
#if defined(__GNUC__)
#define PREFETCH_ROW(p, n) do { long pf_; for (pf_ = 0; pf_ < (n); pf_ += 16) __builtin_prefetch((p) + pf_); } while (0)
#else
#define PREFETCH_ROW(p, n) ((void)0)
#endif
/* e on c[rows, cols], which are rows i0.., columns j0.. of the product */
static void epilogue(float *c, long ldc, int rows, int cols, const gemm_epi *e, long i0, long j0)
{
    const float *bias = e->bias ? e->bias + j0 : NULL;
    const int act = e->act;
    int i, j;
    if (e->y) {
        /* relu and relu6 inline: through nnc_rt_act_backward this was one
         * call (a thread split, a switch) per row of at most 32 floats, 12 %
         * of the small CNN's training step; here one loop gcc vectorises.
         * The rows of y and C the next sliver of columns will need are
         * prefetched: an N-wide product (the small CNN's 32 x 21632 dz)
         * walks all M rows of both at once, more streams than the hardware
         * prefetchers follow (that dz product: 340 -> 245 us) */
        if (act == NNC_RT_ACT_RELU || act == NNC_RT_ACT_RELU6) {
            for (i = 0; i < rows; i++) {
                float *restrict ci = c + i * ldc;
                const float *restrict yi = e->y + (i0 + i) * e->ldy + j0;
                if (j0 + (PF_AHEAD + 1) * cols <= e->ldy && j0 + (PF_AHEAD + 1) * cols <= ldc) {
                    PREFETCH_ROW(yi + PF_AHEAD * cols, cols);
                    PREFETCH_ROW(ci + PF_AHEAD * cols, cols);
                }
                if (act == NNC_RT_ACT_RELU)
                    for (j = 0; j < cols; j++)
                        ci[j] = yi[j] > 0.0f ? ci[j] : 0.0f;
                else
                    for (j = 0; j < cols; j++)
                        ci[j] = yi[j] > 0.0f && yi[j] < 6.0f ? ci[j] : 0.0f;
            }
            return;
        }
        for (i = 0; i < rows; i++)
            nnc_rt_act_backward(act, c + i * ldc, c + i * ldc, e->y + (i0 + i) * e->ldy + j0, 1, cols);
        return;
    }
    if (act == NNC_RT_ACT_HARD_SWISH) {
        /* inline for the reason above: PaddleOCR's 1x1 convolutions have
         * 16 to 64 columns */
        const float one = nnc_rt_opaque_one();   /* nnc_rt_hard_swish_one says why */
        for (i = 0; i < rows; i++) {
            float *restrict ci = c + i * ldc;
            if (bias)
                for (j = 0; j < cols; j++)
                    ci[j] = nnc_rt_hard_swish_one(ci[j] + bias[j], one);
            else
                for (j = 0; j < cols; j++)
                    ci[j] = nnc_rt_hard_swish_one(ci[j], one);
        }
        return;
    }
    for (i = 0; i < rows; i++) {
        float *restrict ci = c + i * ldc;
        if (bias && nnc_rt_act_clamp(act)) { /* the common case, in one vectorised loop */
            const float hi = nnc_rt_clamp_hi(nnc_rt_act_clamp(act));
            for (j = 0; j < cols; j++) {
                float v = ci[j] + bias[j];
                v = v > 0.0f ? v : 0.0f;
                ci[j] = v < hi ? v : hi;
            }
            continue;
        }
        if (bias)
            for (j = 0; j < cols; j++)
                ci[j] += bias[j];
        if (act != NNC_RT_ACT_LINEAR)
            nnc_rt_act_forward(act, ci, ci, 1, cols);
    }
}

/* ---- the blocked driver ----------------------------------------------------- */
static float *align_buf(float *p)
{
    uintptr_t u = (uintptr_t)p, a = BUF_ALIGN * sizeof(float);
    return (float *)(void *)((u + a - 1) / a * a);
}

static long cdiv(long a, long b) { return (a + b - 1) / b; }

static void store_tile(float *restrict c, long ldc, const float *restrict t,
                       int rows, int cols, int ldt, float beta)
{
    int i, j;
    if (beta == 0.0f)
        for (i = 0; i < rows; i++)
            for (j = 0; j < cols; j++)
                c[i * ldc + j] = t[i * ldt + j];
    else
        for (i = 0; i < rows; i++)
            for (j = 0; j < cols; j++)
                c[i * ldc + j] = t[i * ldt + j] + beta * c[i * ldc + j];
}

/* The packed path (M >= SMALL_M, K >= 1).  K is cut into near-equal blocks
 * (tl->kc deep); for each, every nr-column sliver of op(B) is packed
 * once (kc x nr floats: 32 KiB at 256 x 32, which stays in L1) and then
 * swept by all of M, mr rows at a time, the kernel reading those rows of A
 * in place (they stream from L2).  Only B is packed, once per product, so
 * the packing cost is K*N copies against M*N*K multiply-adds.  The last mr
 * rows, when M is not a multiple of mr, are packed zero-padded once per K
 * block; edge tiles go through a small tile buffer. */
static NOINLINE void gemm_blocked(gemm_ukernel_fn ukernel, gemm_ukernel_fn half, const nnc_rt_gemm_tiles *tl,
                                  int ta, int tb, int M, int N, int K, float alpha,
                                  const float *A, long lda, const float *B, long ldb,
                                  float beta, float *C, long ldc, const gemm_epi *e)
{
    float buf_raw[BUF_FLOATS + BUF_ALIGN];
    float tile[MR_MAX * NR_MAX + BUF_ALIGN];
    float *bbuf = align_buf(buf_raw), *abuf, *t = align_buf(tile);
    long rs = ta ? 1 : lda, cs = ta ? lda : 1; /* op(A)[i,p] = A[i*rs + p*cs] */
    int mr = tl->mr, nr = tl->nr;
    /* what the kernels apply themselves: bias + relu/relu6 (or bias alone),
     * or the gradient of relu/relu6 */
    const int clamp = nnc_rt_act_clamp(e->act);
    const int reg_epi = e->y ? clamp != 0 : clamp || e->act == NNC_RT_ACT_LINEAR;
    long kc_blk = tl->kc, mfull = M / mr * mr, pc, jr, ir;

    /* B sliver and edge sliver of A side by side in the buffer */
    abuf = bbuf + cdiv(kc_blk * nr, BUF_ALIGN) * BUF_ALIGN;

    for (pc = 0; pc < K; pc += kc_blk) {
        int kc = (int)(K - pc < kc_blk ? K - pc : kc_blk);
        float beta_blk = pc == 0 ? beta : 1.0f;
        int last_k = pc + kc >= K;
        if (mfull < M)
            nnc_rt_gemm_pack_a_edge(abuf, ta, A, lda, mfull, pc, (int)(M - mfull), kc, mr, pc == 0);
        for (jr = 0; jr < N; jr += nr) {
            int ncols = (int)(N - jr < nr ? N - jr : nr);
            const float *b = bbuf;
            long bs = nr;
            if (tb) {
                nnc_rt_gemm_pack_b_sliver(bbuf, 1, B, ldb, pc, jr, kc, ncols, nr);
            } else {
                long bc;
                const float *bj = nnc_rt_gemm_bcols(B, ldb, K, N, jr, &bs, &bc);
                if (bc != 1) { /* a transposed panel */
                    nnc_rt_gemm_pack_b_sliver(bbuf, 1, bj, bc, pc, 0, kc, ncols, nr);
                    bs = nr;
                } else if (ncols == nr && tl->b == NNC_RT_GEMM_B_IN_PLACE) { /* B's rows are the sliver's */
                    b = bj + pc * bs;
                } else {
                    nnc_rt_gemm_pack_b_sliver(bbuf, 0, bj, bs, pc, 0, kc, ncols, nr);
                    bs = nr;
                }
            }
            /* a last sliver at most half as wide (N = 24 on a 16-wide
             * kernel) takes the half-width kernel where there is one: half
             * the FMAs, and no tile buffer when it is exactly half */
            gemm_ukernel_fn uk = half && 2 * ncols <= nr ? half : ukernel;
            int kcols = uk == half ? nr / 2 : nr;
            for (ir = 0; ir < M; ir += mr) {
                int nrows = (int)(M - ir < mr ? M - ir : mr);
                float *c = C + ir * ldc + jr;
                const float *a = A + ir * rs + pc * cs;
                long ars = rs, acs = cs;
                if (nrows < mr) {
                    a = abuf;
                    ars = 1;
                    acs = mr;
                }
                if (nrows == mr && ncols == kcols) { /* the epilogue in registers */
                    uk(kc, a, ars, acs, b, bs, c, ldc, alpha, beta_blk,
                       last_k && !e->y && e->bias && reg_epi ? e->bias + jr : NULL, last_k && reg_epi ? clamp : 0,
                       last_k && e->y && reg_epi ? e->y + ir * e->ldy + jr : NULL, e->ldy);
                } else { /* edge tile: compute whole, store the valid part */
                    uk(kc, a, ars, acs, b, bs, t, nr, alpha, 0.0f, NULL, 0, NULL, 0);
                    store_tile(c, ldc, t, nrows, ncols, nr, beta_blk);
                    if (last_k && reg_epi && !epi_none(e))
                        epilogue(c, ldc, nrows, ncols, e, ir, jr);
                }
            }
            /* the rest once for the whole sliver, not per tile: a call per
             * 6 x 16 tile was 12 % of the small CNN's training step (its
             * 32 x 21632 relu' product) */
            if (last_k && !reg_epi)
                epilogue(C + jr, ldc, M, ncols, e, 0, jr);
        }
    }
}

/* ---- tiling: how a product of a given shape is computed ---------------------- */

void nnc_rt_gemm_tiles_for(const nnc_rt_gemm_target *t, int ta, int tb, int M, int N, int K, int panels,
                           nnc_rt_gemm_tiles *out)
{
    long kmax, kblocks;
    memset(out, 0, sizeof *out);
    if (K < SMALL_M) {          /* a rank-K update (a weight gradient at batch 1) */
        out->path = NNC_RT_GEMM_SMALL_K;
        return;
    }
    if (M < SMALL_M) {          /* one sample: rows of C straight from A and B */
        out->path = NNC_RT_GEMM_SMALL_M;
        out->nr = t->small_m_cols;
        return;
    }
    out->path = NNC_RT_GEMM_BLOCKED;
    out->mr = t->narrow_nr && N <= t->narrow_nr ? t->narrow_mr : t->mr;
    out->nr = t->narrow_nr && N <= t->narrow_nr ? t->narrow_nr : t->nr;
    /* the deepest K block whose B sliver fills at most two thirds of L1 (the
     * rest for the rows of A and C passing through) and which, with the A
     * edge sliver, fits the buffer; then K in near-equal blocks */
    kmax = (t->buf_floats - 2 * BUF_ALIGN) / (out->nr + out->mr);
    if (t->l1_bytes && t->l1_bytes * 2 / 3 / (4 * out->nr) < kmax)
        kmax = t->l1_bytes * 2 / 3 / (4 * out->nr);
    if (kmax > KC_LIMIT)
        kmax = KC_LIMIT;
    kmax = kmax / 8 * 8;
    kblocks = cdiv(K, kmax);
    out->kblocks = (int)kblocks;
    out->kc = (int)cdiv(K, kblocks);
    /* B read in place: for few rows (the copy would cost more than the
     * strided reads), or from panels exactly as wide as the kernel's sliver */
    out->b = !tb && N >= out->nr && (M <= INPLACE_B_M || (panels && out->nr == NNC_RT_GEMM_PANEL))
             ? NNC_RT_GEMM_B_IN_PLACE : NNC_RT_GEMM_B_PACKED;   /* (a last partial sliver is packed) */
    /* A^T B with few columns and rows enough for a block of 16 (a weight
     * gradient of a classifier layer): vectors along M (gemm_small.c) */
    if (ta && !tb && !panels && N <= t->narrow_at && M >= 16)
        out->path = NNC_RT_GEMM_NARROW_AT;
    /* A op(B), few columns, K deep enough for chunks of dot products and
     * rows few enough (the same layer's forward product at a training
     * batch; at 256 rows, 10 columns and 21632 deep the blocked path was
     * faster: 2.5 against 2.9 ms, at 128 rows slower: 1.13 against 0.90) */
    if (!ta && N <= t->narrow_at && K >= 32 && M <= 128)
        out->path = NNC_RT_GEMM_NARROW_DOT;
}

/* ---- the host's L1 data cache --------------------------------------------------
 * The tiling fits a B sliver to the L1 data cache the target description
 * names: a constant of the build (48 KiB for AVX-512, as Ice Lake and
 * Sapphire Rapids have), or, on an Intel x86, what the processor reports
 * (CPUID leaf 4), so that a Skylake-X (32 KiB) gets shallower K blocks
 * than a Sapphire Rapids.  Read once and remembered (CPUID traps to the
 * hypervisor in a virtual machine: microseconds); no file is read and
 * nothing allocated.  AMD keeps the constant its figures were measured
 * with (Zen 4 reports 32 KiB and reaches 0.85-0.96 of its FMA peak with
 * the 48 KiB blocking), as does every other machine. */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__) && !defined(NNC_RT_NO_CPUID)
#include <cpuid.h>
#define HAVE_CPUID 1
/* bytes of the level-1 data cache CPUID leaf 4 describes, or 0 (not an
 * Intel processor, or no such leaf) */
static long cpuid_l1d_intel(void)
{
    unsigned a, b, c, d, i;
    if (!__get_cpuid(0, &a, &b, &c, &d))
        return 0;
    /* the vendor string "GenuineIntel" in ebx, edx, ecx */
    if (b != 0x756e6547u || d != 0x49656e69u || c != 0x6c65746eu || a < 4)
        return 0;
    for (i = 0; i < 32; i++) {
        unsigned type, level;
        __cpuid_count(4, i, a, b, c, d);
        type = a & 31u;
        level = (a >> 5) & 7u;
        if (type == 0) /* no more caches */
            break;
        if (level == 1 && (type == 1 || type == 3)) /* data or unified */
            return (long)((b >> 22) + 1) * (((b >> 12) & 0x3ffu) + 1) * ((b & 0xfffu) + 1) * ((long)c + 1);
    }
    return 0;
}
#endif

/* the L1 bytes to tile for, where the build says `built` (0: no cache) */
static int host_l1_bytes(int built)
{
#if defined(HAVE_CPUID)
    /* 0: not read yet; -1: no usable answer.  Threads that race here
     * compute and store the same value. */
    static volatile long cached = 0;
    long l1 = cached;
    if (l1 == 0) {
        l1 = cpuid_l1d_intel();
        if (l1 < 8 * 1024 || l1 > 1024 * 1024) /* not an answer to trust */
            l1 = -1;
        cached = l1;
    }
    if (built > 0 && l1 > 0)
        return (int)l1;
#endif
    return built;
}

/* a build's kernels: the target description the tiling reads, and the code */
typedef struct gemm_kernels {
    nnc_rt_gemm_target t;
    gemm_ukernel_fn main, narrow;
    gemm_ukernel_fn half;   /* main's rows, half its columns (or NULL) */
} gemm_kernels;

#if defined(_OPENMP)
/* ---- threads: one product cut into independent ones ----------------------------
 * Below this many multiply-adds (~10 us on one core) a product runs on one
 * thread: each chunk packs its own B slivers (the row split all of B) and
 * has its own edge tiles.  4e6 left the seed MLP's three 1M products on
 * one thread; at 1e6 its 2-thread step went 740/627 -> 492/452 us (median
 * of two runs, Zen 3; 565 us on one thread): the pool hands a loop to a
 * spinning helper in well under a microsecond (parallel.c). */
#define GEMM_PAR_WORK 1e6
/* rows of C per thread from which a product is split by rows; with one
 * panel of columns, from which it is split at all.  The seed CNN's dense
 * layer, 32 x 10 x 21632, split in two row blocks packed all of B twice
 * (it streams A and B once: memory-bound), so that when the machine was
 * busy and the second thread did not come, the caller computed both
 * blocks: 1.2x its one-thread time */
#define GEMM_SPLIT_ROWS 512
#define GEMM_SPLIT_ROWS_NARROW 128

typedef struct gemm_split {
    gemm_ukernel_fn uk, half;
    const nnc_rt_gemm_tiles *tl;
    int ta, tb, M, N, K;
    float alpha, beta;
    const float *A, *B;
    long lda, ldb, ldc;
    float *C;
    const gemm_epi *e;
} gemm_split;

/* panels [c0, c1) of C's columns: B's columns from j0 are at B + j0
 * row-major, B + j0*ldb transposed, B + j0*K in panels */
static void gemm_split_cols(void *ctx, long c0, long c1)
{
    const gemm_split *j = ctx;
    long j0 = c0 * NNC_RT_GEMM_PANEL, j1 = c1 * NNC_RT_GEMM_PANEL < j->N ? c1 * NNC_RT_GEMM_PANEL : j->N;
    const float *bj = j->tb ? j->B + j0 * j->ldb : j->ldb ? j->B + j0 : j->B + j0 * j->K;
    gemm_epi ej = *j->e;
    if (ej.bias)
        ej.bias += j0;
    if (ej.y)
        ej.y += j0;
    gemm_blocked(j->uk, j->half, j->tl, j->ta, j->tb, j->M, (int)(j1 - j0), j->K, j->alpha, j->A, j->lda, bj, j->ldb,
                 j->beta, j->C + j0, j->ldc, &ej);
}

/* one sample's product (the small-M path), columns [64 c0, 64 c1): each
 * thread streams its share of B, which is what bounds it (the seed MLP's
 * first layer at batch 1 reads 800 KB of weights for 200k multiply-adds) */
#define SMALL_M_PAR_WORK 1e5
#define SMALL_M_PAR_COLS 64   /* small_m's widest step: two panels */
static void gemm_split_small_cols(void *ctx, long c0, long c1)
{
    const gemm_split *j = ctx;
    long j0 = c0 * SMALL_M_PAR_COLS, j1 = c1 * SMALL_M_PAR_COLS < j->N ? c1 * SMALL_M_PAR_COLS : j->N;
    const float *bj = j->ldb ? j->B + j0 : j->B + j0 * j->K;
    gemm_epi ej = *j->e;
    if (ej.bias)
        ej.bias += j0;
    if (ej.y)
        ej.y += j0;
    nnc_rt_gemm_small_m(j->ta, 0, j->M, (int)(j1 - j0), j->K, j->alpha, j->A, j->lda, bj, j->ldb, j->beta,
                        j->C + j0, j->ldc, j->tl->nr == 8);
    if (!epi_none(&ej))
        epilogue(j->C + j0, j->ldc, j->M, (int)(j1 - j0), &ej, 0, 0);
}

#if NARROW_AT_N
/* rows [i0, i1) of a narrow A^T B, or A op(B) */
static void gemm_split_narrow(void *ctx, long i0, long i1)
{
    const gemm_split *j = ctx;
    nnc_rt_gemm_narrow_at(i0, i1, j->N, j->K, j->alpha, j->A, j->lda, j->B, j->ldb, j->C, j->ldc);
}
static void gemm_split_dot(void *ctx, long i0, long i1)
{
    const gemm_split *j = ctx;
    nnc_rt_gemm_narrow_dot(i0, i1, j->N, j->K, j->alpha, j->A, j->lda, j->B, j->ldb, j->tb, j->C, j->ldc);
}
#endif

/* rows [i0, i1) of C */
static void gemm_split_rows(void *ctx, long i0, long i1)
{
    const gemm_split *j = ctx;
    gemm_epi ei = *j->e;
    if (ei.y)
        ei.y += i0 * ei.ldy;
    gemm_blocked(j->uk, j->half, j->tl, j->ta, j->tb, (int)(i1 - i0), j->N, j->K, j->alpha,
                 j->ta ? j->A + i0 : j->A + i0 * j->lda, j->lda, j->B, j->ldb, j->beta, j->C + i0 * j->ldc,
                 j->ldc, &ei);
}
#endif

/* C = alpha op(A) op(B) + beta C, then the epilogue e */
static void gemm_run(const gemm_kernels *k, int ta, int tb, int M, int N, int K, float alpha,
                     const float *A, long lda, const float *B, long ldb,
                     float beta, float *C, long ldc, const gemm_epi *e)
{
    nnc_rt_gemm_tiles tl;
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0 || alpha == 0.0f) { /* no product: C = beta*C */
        long i, j;
        for (i = 0; i < M; i++)
            for (j = 0; j < N; j++)
                C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
        if (!epi_none(e))
            epilogue(C, ldc, M, N, e, 0, 0);
        return;
    }
    nnc_rt_gemm_target t = k->t;
    t.l1_bytes = host_l1_bytes(t.l1_bytes);
    nnc_rt_gemm_tiles_for(&t, ta, tb, M, N, K, !tb && !ldb, &tl);
    if ((tl.path == NNC_RT_GEMM_NARROW_AT && (beta != 0.0f || !epi_none(e))) ||
        (tl.path == NNC_RT_GEMM_NARROW_DOT && beta != 0.0f))
        tl.path = NNC_RT_GEMM_BLOCKED;
#if NARROW_AT_N
    if (tl.path == NNC_RT_GEMM_NARROW_AT) {
#if defined(_OPENMP)
        if (nnc_rt_par_threads() > 1 && (double)M * N * K >= GEMM_PAR_WORK) {
            gemm_split j;
            j.N = N; j.K = K; j.alpha = alpha; j.A = A; j.lda = lda; j.B = B; j.ldb = ldb; j.C = C; j.ldc = ldc;
            nnc_rt_par_for(M, 16, (double)M * N * K, gemm_split_narrow, &j);
            return;
        }
#endif
        nnc_rt_gemm_narrow_at(0, M, N, K, alpha, A, lda, B, ldb, C, ldc);
        return;
    }
    if (tl.path == NNC_RT_GEMM_NARROW_DOT) {
        /* B in panels, fewer than a panel's columns: one panel, stored
         * transposed (nnc_rt_gemm_pack_b) */
        const int dtb = tb || !ldb;
        const long dldb = ldb ? ldb : K;
#if defined(_OPENMP)
        if (nnc_rt_par_threads() > 1 && (double)M * N * K >= GEMM_PAR_WORK) {
            gemm_split j;
            j.tb = dtb; j.N = N; j.K = K; j.alpha = alpha; j.A = A; j.lda = lda; j.B = B; j.ldb = dldb;
            j.C = C; j.ldc = ldc;
            nnc_rt_par_for(M, 2, (double)M * N * K, gemm_split_dot, &j);
        } else
#endif
            nnc_rt_gemm_narrow_dot(0, M, N, K, alpha, A, lda, B, dldb, dtb, C, ldc);
        if (!epi_none(e))
            epilogue(C, ldc, M, N, e, 0, 0);
        return;
    }
#endif
    if (tl.path == NNC_RT_GEMM_BLOCKED) {
        gemm_ukernel_fn uk = tl.nr == k->t.nr ? k->main : k->narrow;
        gemm_ukernel_fn half = tl.nr == k->t.nr ? k->half : NULL;
#if defined(_OPENMP)
        /* Threads (a build with -fopenmp, parallel.h), when there is enough
         * work: the rows of C in blocks of whole kernel rows when there are
         * many (each block packs B's slivers again: K*N copies against its
         * rows*N*K multiply-adds), else the columns in whole panels, one
         * independent product each (B packed once in all; a pointwise
         * layer's 12544 x 96 x 16 has 3 panels, too few to share evenly),
         * else rows (the N = 10 products of a classifier layer, when it
         * has enough rows) */
        gemm_split j;
        j.uk = uk; j.half = half; j.tl = &tl; j.ta = ta; j.tb = tb; j.M = M; j.N = N; j.K = K; j.alpha = alpha;
        j.A = A; j.lda = lda; j.B = B; j.ldb = ldb; j.beta = beta; j.C = C; j.ldc = ldc; j.e = e;
        if (nnc_rt_par_threads() > 1 && (double)M * N * K >= GEMM_PAR_WORK) {
            long panels = cdiv(N, NNC_RT_GEMM_PANEL);
            if (M >= GEMM_SPLIT_ROWS * nnc_rt_par_threads() ||
                (panels < 2 && M >= GEMM_SPLIT_ROWS_NARROW * nnc_rt_par_threads())) {
                nnc_rt_par_for(M, tl.mr, (double)M * N * K, gemm_split_rows, &j);
                return;
            }
            if (panels > 1) {
                /* one block of panels a thread: each block streams all of A
                 * again for its own slivers (the MLP at batch 256, 2 threads,
                 * in 8 one-panel chunks: 800 us, in 2: 750; ORT 705) */
                nnc_rt_par_for(panels, cdiv(panels, nnc_rt_par_threads()), (double)M * N * K, gemm_split_cols, &j);
                return;
            }
        }
#endif
        gemm_blocked(uk, half, &tl, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, e);
        return;
    }
#if defined(_OPENMP)
    if (tl.path == NNC_RT_GEMM_SMALL_M && !tb && nnc_rt_par_threads() > 1 && (double)M * N * K >= SMALL_M_PAR_WORK &&
        N >= 2 * SMALL_M_PAR_COLS) {
        gemm_split j;
        j.uk = NULL; j.tl = &tl; j.ta = ta; j.tb = tb; j.M = M; j.N = N; j.K = K; j.alpha = alpha;
        j.A = A; j.lda = lda; j.B = B; j.ldb = ldb; j.beta = beta; j.C = C; j.ldc = ldc; j.e = e;
        nnc_rt_par_for(cdiv(N, SMALL_M_PAR_COLS), 1, (double)M * N * K, gemm_split_small_cols, &j);
        return;
    }
#endif
    if (tl.path == NNC_RT_GEMM_SMALL_K)
        nnc_rt_gemm_small_k(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else
        nnc_rt_gemm_small_m(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, tl.nr == 8);
    if (!epi_none(e))
        epilogue(C, ldc, M, N, e, 0, 0);
}

/* ---- the kernels of this build, and the public entry points ------------------- */
#define TARGET(isa, mr, nr, narrow_mr, narrow_nr, small_m_cols, narrow_at) \
    {isa, mr, nr, narrow_mr, narrow_nr, L1_BYTES, BUF_FLOATS, small_m_cols, narrow_at}

static const gemm_kernels k_6x16_c = {TARGET("c", 6, 16, 0, 0, 64, 0), nnc_rt_f32_gemm_ukernel_6x16__c, NULL, NULL};
static const gemm_kernels k_6x16_1x8_c = {TARGET("c", 6, 16, 0, 0, 8, 0), nnc_rt_f32_gemm_ukernel_6x16__c, NULL, NULL};
#if defined(__AVX2__) && defined(__FMA__)
static const gemm_kernels k_6x16_avx2 = {TARGET("avx2", 6, 16, 0, 0, 64, NARROW_AT_N), nnc_rt_f32_gemm_ukernel_6x16__avx2, NULL,
                                         nnc_rt_f32_gemm_ukernel_6x8__avx2};
#endif
#if defined(__AVX512F__)
static const gemm_kernels k_8x32_avx512 = {TARGET("avx512", 8, 32, 0, 0, 64, 0), nnc_rt_f32_gemm_ukernel_8x32__avx512, NULL, NULL};
static const gemm_kernels k_16x16_avx512 = {TARGET("avx512", 16, 16, 0, 0, 64, 0), nnc_rt_f32_gemm_ukernel_16x16__avx512, NULL, NULL};
/* the best: 8x32, and 16x16 for at most 16 columns */
static const gemm_kernels k_best = {TARGET("avx512", 8, 32, 16, 16, 64, 0), nnc_rt_f32_gemm_ukernel_8x32__avx512,
                                    nnc_rt_f32_gemm_ukernel_16x16__avx512, NULL};
#elif defined(__AVX2__) && defined(__FMA__)
#define k_best k_6x16_avx2
#elif defined(HAVE_NEON)
static const gemm_kernels k_6x16_neon = {TARGET("neon", 6, 16, 0, 0, 64, 0), nnc_rt_f32_gemm_ukernel_6x16__neon, NULL, NULL};
#define k_best k_6x16_neon
#elif defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'
#define k_best k_6x16_1x8_c
#else
#define k_best k_6x16_c
#endif

/* what the entry points tile for on this machine: the build's best
 * kernels, with the host's L1 where it is read (host_l1_bytes) */
const nnc_rt_gemm_target *nnc_rt_gemm_native(void)
{
    static nnc_rt_gemm_target native;
    nnc_rt_gemm_target t = k_best.t;
    t.l1_bytes = host_l1_bytes(t.l1_bytes);
    native = t;
    return &native;
}

#define ENTRY(name, k)                                                                   \
    void name(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, \
              const float *B, int ldb, float beta, float *C, int ldc)                    \
    {                                                                                    \
        const gemm_epi none = {NULL, NNC_RT_ACT_LINEAR, NULL, 0};                        \
        gemm_run(&k, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, &none);       \
    }
ENTRY(nnc_rt_f32_gemm_6x16__c, k_6x16_c)
/* the same with the narrow small-M kernel (1x8), the one microcontrollers use */
ENTRY(nnc_rt_f32_gemm_6x16_1x8__c, k_6x16_1x8_c)
#if defined(__AVX2__) && defined(__FMA__)
ENTRY(nnc_rt_f32_gemm_6x16__avx2, k_6x16_avx2)
#endif
#if defined(__AVX512F__)
ENTRY(nnc_rt_f32_gemm_8x32__avx512, k_8x32_avx512)
ENTRY(nnc_rt_f32_gemm_16x16__avx512, k_16x16_avx512)
#endif
#if defined(HAVE_NEON)
ENTRY(nnc_rt_f32_gemm_6x16__neon, k_6x16_neon)
#endif
ENTRY(nnc_rt_gemm_f32, k_best)

static const nnc_rt_gemm_f32_variant gemm_variants[] = {
    {"6x16__c", nnc_rt_f32_gemm_6x16__c},
    {"6x16_1x8__c", nnc_rt_f32_gemm_6x16_1x8__c},
#if defined(__AVX2__) && defined(__FMA__)
    {"6x16__avx2", nnc_rt_f32_gemm_6x16__avx2},
#endif
#if defined(__AVX512F__)
    {"8x32__avx512", nnc_rt_f32_gemm_8x32__avx512},
    {"16x16__avx512", nnc_rt_f32_gemm_16x16__avx512},
#endif
#if defined(HAVE_NEON)
    {"6x16__neon", nnc_rt_f32_gemm_6x16__neon},
#endif
};

int nnc_rt_gemm_f32_variants(const nnc_rt_gemm_f32_variant **list)
{
    *list = gemm_variants;
    return (int)(sizeof gemm_variants / sizeof gemm_variants[0]);
}

/* y[n,m] = act(x[n,k] . w[k,m] + b[m]).  Elementwise activations and the
 * bias are applied to each tile of y right after its last K block, while it
 * is still in L1; softmax needs whole rows, so it is one extra pass.
 * ldw is m, or 0 for weights in panels (nnc_rt_gemm_pack_b). */
static void dense(float *y, const float *x, const float *w, long ldw, const float *b,
                  int n, int k, int m, int act)
{
    const gemm_epi e = {b, act == NNC_RT_ACT_SOFTMAX ? NNC_RT_ACT_LINEAR : act, NULL, 0};
    gemm_run(&k_best, 0, 0, n, m, k, 1.0f, x, k, w, ldw, 0.0f, y, m, &e);
    if (act == NNC_RT_ACT_SOFTMAX)
        nnc_rt_act_forward(act, y, y, n, m);
}

/* C = op(A) op(B), then C = act'(C) from y: a product that gives dy (a
 * layer's input gradient) and the activation's gradient before that layer,
 * dz, in one pass over C, each tile while it is in L1 */
void nnc_rt_gemm_f32_act_grad(int ta, int tb, int M, int N, int K, const float *A, int lda,
                              const float *B, int ldb, float *C, int ldc, int act,
                              const float *y, int ldy)
{
    const gemm_epi e = {NULL, act, y, ldy};
    gemm_run(&k_best, ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc, &e);
}

void nnc_rt_dense_forward(float *y, const float *x, const float *w, const float *b,
                          int n, int k, int m, int act)
{
    dense(y, x, w, m, b, n, k, m, act);
}

void nnc_rt_dense_forward_packed(float *y, const float *x, const float *wp, const float *b,
                                 int n, int k, int m, int act)
{
    dense(y, x, wp, 0, b, n, k, m, act);
}
