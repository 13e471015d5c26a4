/* test_ops.c — the op table as a whole: every OP_* row is an OpDef with a
 * unique name that op_find returns, the hooks each kind of op needs are
 * there, and the FLOP counts of the imported whole-tensor ops are the
 * layer's count times their samples (they were 0 for pooling and
 * recurrences before the table was split by family).
 */
#include <check.h>
#include "check_run.h"
#include <stdlib.h>
#include <string.h>

#include "ir.h"

START_TEST(every_row_is_named_once)
{
    for (int i = 0; i < OP_COUNT; i++) {
        const OpDef *d = op_table[i];
        ck_assert_ptr_nonnull(d);
        ck_assert_msg(op_find(op_name(i)) == i, "op %d ('%s'): op_find gives %d", i, op_name(i), op_find(op_name(i)));
    }
    ck_assert_int_eq(op_find("no_such_op"), -1);
    ck_assert_int_eq(op_find("dense"), OP_DENSE);
    ck_assert_int_eq(op_find("nd_binary"), OP_ND_BINARY);
}
END_TEST

START_TEST(rows_have_their_hooks)
{
    for (int i = 0; i < OP_COUNT; i++) {
        const OpDef *d = op_table[i];
        if (d->wrapper) {   /* lowered from the layer inside: nothing of its own */
            ck_assert_ptr_null(d->emit);
            continue;
        }
        ck_assert_msg(d->emit != NULL, "'%s' has no emit hook", op_name(i));
        ck_assert_msg(d->shape != NULL, "'%s' has no shape rule", op_name(i));
        if (d->layer) ck_assert_msg(d->ninputs != 0, "layer '%s' takes no input", op_name(i));
        if (d->nattrs) ck_assert_ptr_nonnull(d->attrs);
        if (d->params) ck_assert_msg(d->grad != NULL, "'%s' has parameters and no gradient", op_name(i));
        if (d->conv) ck_assert_msg(d->gemm != NULL, "convolution '%s' cannot say its GEMM", op_name(i));
        if (!strncmp(op_name(i), "nd_", 3))
            ck_assert_msg(d->flops != NULL, "'%s' has no FLOP count", op_name(i));
    }
}
END_TEST

START_TEST(activations_map_to_their_ops)
{
    ck_assert_int_eq(op_for_act(NNC_RT_ACT_LINEAR), -1);
    for (int act = NNC_RT_ACT_RELU; act < act_count; act++) {
        int op = op_for_act(act);
        ck_assert_int_ge(op, 0);
        ck_assert_str_eq(op_name(op), act_name(act));
    }
}
END_TEST

/* a node of `op` with these attributes in a graph of one input and output */
static Graph *one_node(int op, const Attrs *a, int out_rank, const int *out_dims) {
    Graph *g = ir_new("t");
    int d = 1;
    int x = ir_value(g, "x", ROLE_INPUT, 0, 1, &d);
    int n = ir_node(g, op, &x, 1, (Loc){ 0, 0, 0, 0 });
    g->nodes[n].attr = *a;
    ir_add_output(g, n, ir_value(g, "y", ROLE_ACT, 0, out_rank, out_dims));
    return g;
}

START_TEST(whole_tensor_flops_count_every_sample)
{
    Attrs a;
    memset(&a, 0, sizeof a);
    /* MaxPool 2x2 stride 2 of a 3-sample (8, 8, 4) batch */
    a.pool = (nnc_rt_pool2d){ 8, 8, 4, 4, 4, 2, 2, 2, 2, 0, 0 };
    a.samples = 3;
    int dims[4] = { 3, 4, 4, 4 };
    Graph *g = one_node(OP_ND_POOL, &a, 4, dims);
    long per = op_table[OP_MAX_POOL2D]->flops(g, &g->nodes[0]);
    ck_assert_int_eq(per, 4L * 4 * 4 * 2 * 2);
    ck_assert_int_eq(op_table[OP_ND_POOL]->flops(g, &g->nodes[0]), 3 * per);
    ir_free(g);

    /* an LSTM of 5 steps, 6 features, 7 units over 2 sequences */
    memset(&a, 0, sizeof a);
    a.rnn = (nnc_rt_rnn){ 5, 6, 7, NNC_RT_CELL_LSTM, NNC_RT_ACT_TANH, 1, 0 };
    a.samples = 2;
    int ydims[3] = { 2, 5, 7 };
    g = one_node(OP_ND_RNN, &a, 3, ydims);
    long gates = 4 * 7;
    per = 5L * (2 * gates * (6 + 7) + 4 * gates);
    ck_assert_int_eq(op_table[OP_LSTM]->flops(g, &g->nodes[0]), per);
    ck_assert_int_eq(op_table[OP_ND_RNN]->flops(g, &g->nodes[0]), 2 * per);
    ir_free(g);

    /* a batched MatMul: 3 products of (4 x 5) . (5 x 6) */
    memset(&a, 0, sizeof a);
    a.nd.rank = 1;
    a.nd.dims[0] = 3;
    a.M = 4; a.N = 6; a.K = 5;
    int mdims[3] = { 3, 4, 6 };
    g = one_node(OP_ND_MATMUL, &a, 3, mdims);
    ck_assert_int_eq(op_table[OP_ND_MATMUL]->flops(g, &g->nodes[0]), 2L * 3 * 4 * 6 * 5);
    ir_free(g);
}
END_TEST

int main(void) {
    const TTest *tests[] = { every_row_is_named_once, rows_have_their_hooks, activations_map_to_their_ops,
                             whole_tensor_flops_count_every_sample, NULL };
    const kernel_case cases[] = { { "table", tests, 0, 0 } };
    return run_cases("ops", cases, 1);
}
