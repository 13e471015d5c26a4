/* test_passes.c — the IR passes on small graphs: lowering from .nn text,
 * shape inference, the fusions, autodiff's structure and the buffer
 * planner's invariants (no two live buffers overlap; the arena is smaller
 * than the sum of the buffers).  The passes over imported graphs are
 * test_nd_passes.c's. */
#include <check.h>
#include "check_run.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ast.h"
#include "ir.h"
#include "nnc_rt.h"

static Graph *compile(const char *src, int fuse, int train) {
    diag_init("t.nn", src);
    diag_set_output(stderr);
    Program *p = ast_parse("t.nn", src);
    ck_assert_int_eq(diag_error_count(), 0);
    Graph *g = lower_program(p, NULL);
    ck_assert_ptr_nonnull(g);
    fuse_loss(g);
    if (fuse) fuse_act(g);
    if (train) ad_build(g);
    ast_free(p);
    return g;
}

static char *dump(const Graph *g) {
    static char buf[16384];
    FILE *f = fmemopen(buf, sizeof buf, "w");
    ir_dump(g, f);
    fclose(f);
    return buf;
}

static const char *mlp =
    "model m {\n  input x: f32[4, 5]\n  flatten\n  dense(16, relu)\n  dense(3, softmax)\n}\n"
    "train m {\n  loss sparse_categorical_crossentropy\n  optimizer sgd\n  batch 8\n}\n";

START_TEST(lower_sequential) {
    Graph *g = compile(mlp, 0, 0);
    ck_assert_str_eq(dump(g),
        "fwd flatten x -> flatten(n, 20)\n"
        "fwd dense flatten, dense.kernel, dense.bias -> dense(n, 16)\n"
        "fwd relu dense -> dense_relu(n, 16)\n"
        "fwd dense dense_relu, dense_1.kernel, dense_1.bias -> dense_1(n, 3)\n"
        "fwd softmax dense_1 -> dense_1_softmax(n, 3)\n"
        "loss loss dense_1, y -> loss()\n");
    /* the loss was rewritten to the fused logits form */
    ck_assert_int_eq(g->nodes[5].attr.loss, NNC_RT_LOSS_SPARSE_CCE_LOGITS);
    ck_assert_int_eq(g->values[g->input].batched, 1);
    ir_free(g);
}
END_TEST

START_TEST(lower_graph_form) {
    Graph *g = compile("model r {\n  input x: f32[6]\n  a = dense(x, 8)\n  b = relu(a)\n"
                       "  c = add(a, b)\n  d = dense(c, units = 2)\n  output d\n}\n", 1, 0);
    /* a has two consumers, so relu is not fused into its dense */
    ck_assert_str_eq(dump(g),
        "fwd dense x, a.kernel, a.bias -> a(n, 8)\n"
        "fwd relu a -> b(n, 8)\n"
        "fwd add a, b -> c(n, 8)\n"
        "fwd dense c, d.kernel, d.bias -> d(n, 2)\n");
    ck_assert_int_eq(g->output, g->nodes[3].out[0]);
    ir_free(g);
}
END_TEST

START_TEST(fuse_dense) {
    Graph *g = compile(mlp, 1, 0);
    /* relu folds into the first dense; softmax cannot (the loss reads the logits) */
    ck_assert_str_eq(dump(g),
        "fwd flatten x -> flatten(n, 20)\n"
        "fwd dense flatten, dense.kernel, dense.bias -> dense_relu(n, 16)\n"
        "fwd dense dense_relu, dense_1.kernel, dense_1.bias -> dense_1(n, 3)\n"
        "fwd softmax dense_1 -> dense_1_softmax(n, 3)\n"
        "loss loss dense_1, y -> loss()\n");
    ck_assert_int_eq(g->nodes[1].attr.act, NNC_RT_ACT_RELU);
    ir_free(g);
}
END_TEST

START_TEST(autodiff_structure) {
    Graph *g = compile(mlp, 1, 1);
    const char *d = dump(g);
    /* no gradient for the input: the first dense computes only dW and db */
    ck_assert_ptr_null(strstr(d, "-> dflatten"));
    ck_assert_ptr_nonnull(strstr(d, "bwd matmul flatten, ddense_relu -> ddense.kernel(20, 16)"));
    ck_assert_ptr_nonnull(strstr(d, "bwd bias_grad ddense_relu -> ddense.bias(16)"));
    ck_assert_ptr_nonnull(strstr(d, "upd update ->"));
    /* every parameter has a gradient of its own shape in the grads block */
    int params = 0;
    for (int v = 0; v < g->nvalues; v++) {
        const Value *p = &g->values[v];
        if (p->role != ROLE_PARAM) continue;
        params++;
        ck_assert_int_ge(p->grad, 0);
        ck_assert_int_eq(g->values[p->grad].role, ROLE_PARAM_GRAD);
        ck_assert_int_eq(ir_size(&g->values[p->grad]), ir_size(p));
    }
    ck_assert_int_eq(params, 4);
    ir_free(g);
}
END_TEST

START_TEST(autodiff_accumulates) {
    Graph *g = compile("model r {\n  input x: f32[6]\n  a = dense(x, 8, tanh)\n  b = dense(a, 8)\n"
                       "  c = add(a, b)\n  d = dense(c, 1, sigmoid)\n  output d\n}\n"
                       "train r {\n  loss binary_crossentropy\n}\n", 1, 1);
    /* a feeds b and c: its gradient is the sum of two contributions */
    ck_assert_ptr_nonnull(strstr(dump(g), "bwd add "));
    ir_free(g);
}
END_TEST

/* the planner's invariant, checked independently of how it was reached */
static void check_plan(const Graph *g, const Plan *p, int training) {
    const long *off = training ? p->train_off : p->infer_off;
    int nv = g->nvalues;
    int *def = calloc((size_t)nv, sizeof *def), *last = calloc((size_t)nv, sizeof *last);
    long sum = 0;
    for (int v = 0; v < nv; v++) def[v] = last[v] = -1;
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        if (!ir_in_schedule(n, training)) continue;
        for (int j = 0; j < n->nin; j++) last[ir_storage(g, n->in[j])] = i;
        for (int j = 0; j < n->nout; j++) {
            int s = ir_storage(g, n->out[j]);
            if (def[s] < 0) def[s] = i;
            if (last[s] < i) last[s] = i;
        }
    }
    last[ir_storage(g, g->output)] = g->nnodes;
    long batch = g->train.batch;
    for (int a = 0; a < nv; a++) {
        const Value *va = &g->values[a];
        if (off[a] < 0 || def[a] < 0) continue;
        long sa = ir_size(va) * (va->batched ? batch : 1);
        sum += sa;
        ck_assert_int_le(off[a] + sa, training ? p->train_arena : p->infer_arena);
        for (int b = 0; b < nv; b++) {
            const Value *vb = &g->values[b];
            if (b == a || off[b] < 0 || def[b] < 0) continue;
            long sb = ir_size(vb) * (vb->batched ? batch : 1);
            int live_together = def[a] <= last[b] && def[b] <= last[a];
            int overlap = off[a] < off[b] + sb && off[b] < off[a] + sa;
            /* in place: b dies at the node that writes a over it */
            int inplace = off[a] == off[b] && (def[a] == last[b] || def[b] == last[a]);
            ck_assert_msg(!(live_together && overlap) || inplace, "%s and %s overlap while live",
                          va->name, vb->name);
        }
    }
    ck_assert_int_gt(sum, 0);
    free(def);
    free(last);
}

START_TEST(plan_no_overlap) {
    const char *deep =
        "model d {\n  input x: f32[30]\n  dense(64, relu)\n  dense(64, tanh)\n  dense(64)\n  relu\n"
        "  dense(32, sigmoid)\n  dense(10, softmax)\n}\n"
        "train d {\n  loss categorical_crossentropy\n  optimizer adam\n  batch 16\n}\n";
    for (int fuse = 0; fuse <= 1; fuse++) {
        Graph *g = compile(deep, fuse, 1);
        Plan p;
        plan_build(g, &p);
        check_plan(g, &p, 1);
        check_plan(g, &p, 0);
        ck_assert_int_lt(p.train_arena, p.buffers_sum);
        ck_assert_int_le(p.infer_arena, p.train_arena);
        ck_assert_int_eq(p.param_floats, 30 * 64 + 64 + 64 * 64 * 2 + 128 + 64 * 32 + 32 + 32 * 10 + 10);
        ck_assert_int_eq(p.opt_slots, 2);
        plan_free(&p);
        ir_free(g);
    }
}
END_TEST

START_TEST(plan_params_contiguous) {
    Graph *g = compile(mlp, 1, 1);
    Plan p;
    plan_build(g, &p);
    long next = 0;
    for (int v = 0; v < g->nvalues; v++) {
        const Value *x = &g->values[v];
        if (x->role != ROLE_PARAM) continue;
        ck_assert_int_eq(x->offset, next);
        ck_assert_int_eq(g->values[x->grad].offset, x->offset);
        next += ir_size(x);
    }
    ck_assert_int_eq(p.param_floats, next);
    ck_assert_int_eq(p.opt_slots, 0);   /* plain sgd keeps no state */
    plan_free(&p);
    ir_free(g);
}
END_TEST

int main(void) {
    const TTest *tests[] = { lower_sequential, lower_graph_form, fuse_dense, autodiff_structure,
                             autodiff_accumulates, plan_no_overlap, plan_params_contiguous, NULL };
    const kernel_case cases[] = { { "core", tests, 0, 0 } };
    return run_cases("passes", cases, 1);
}
