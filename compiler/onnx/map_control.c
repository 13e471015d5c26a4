/* map_control.c — ONNX control flow (If, Loop, Scan), imported by copying
 * their subgraphs into the graph, so that what comes out is one straight
 * line of nodes: the planner, autodiff and emitter see nothing new, and the
 * generated C has no branches and no loops over nodes.
 *
 * Decisions:
 *  - If whose condition is known here (a constant, or one that folds once
 *    --shape / --bind fix the inputs): only the chosen branch is imported,
 *    its nodes inline, its outputs the If's.  The other branch is validated
 *    (validate.c) but never built, so it may use what nnc cannot compile.
 *  - If whose condition is computed at run time: both branches are
 *    imported and each output is Where(cond, then, else), when the two
 *    branches give it one shape (the one-element condition broadcast);
 *    else the node is unsupported (exit 3).  Why not a branch in the C:
 *    the code stays branch-free, with static shapes and one arena plan,
 *    and trainable (Where's gradient gives the branch not taken zeros).
 *    The cost: both branches run every time, and a value the branch not
 *    taken makes (a NaN, an inf) is computed, though never selected.
 *  - Loop: unrolled when its trip count is known here: M a constant (or
 *    absent), cond a constant (or absent), and, when cond is given, the
 *    body's condition output folding to a constant in every iteration; a
 *    condition computed at run time (a data-dependent end) is unsupported.
 *    Loop-carried values go from one copy of the body to the next; scan
 *    outputs are stacked on a new axis 0 (each a view of shape (1, ...),
 *    then Concat).
 *  - Scan: unrolled over the scan axis, each scan input read one slice
 *    per iteration (a strided copy, from the end when its direction is 1),
 *    state variables threaded, scan outputs stacked on their axis (in
 *    reverse order when their direction is 1).  Opset 8's batched form
 *    runs each sample on its own and stacks the samples back; its
 *    sequence_lens, when given, must be a constant of full lengths.
 *  - Scopes: a copy of a subgraph names its tensors prefix + ONNX name
 *    (prefix "<node output>/then/", "<node output>/3/" for iteration 3, one
 *    inside the other when nested), so every IR value and parameter has a
 *    name of its own; lookups use the ONNX name, newest first, so the
 *    subgraph's names (its inputs may reuse an outer name) shadow the outer
 *    ones while the copy is imported, and outer values are read by their
 *    names.  When the copy ends its tensors leave the table
 *    (Importer.dead): the outer graph and the next iteration see only their
 *    own, and the lookups stay as short as the graph being imported.
 *  - Size: unrolling imports at most ONNX_MAX_UNROLLED nodes in all (body
 *    nodes times iterations, nested loops included); beyond it the loop is
 *    unsupported with the count.  Subgraphs nest at most ONNX_MAX_DEPTH.
 *  - --train: the outer graph's initializers (where exporters put weights)
 *    stay one parameter however many iterations read them; a constant made
 *    inside a Loop or Scan body (a Constant node, a body initializer) is a
 *    parameter of each iteration's copy.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx.h"

/* ---- copies of a subgraph ----------------------------------------------------------- */

typedef struct Scope {
    int start;                      /* the copy's first tensor in im->t */
    char *prefix;                   /* the enclosing copy's, restored at the end */
    const Onnx__NodeProto *node;    /* the control-flow node, for messages after the copy */
} Scope;

/* a copy of a subgraph begins: its tensors are named <prefix><tag>/<ONNX name>; -1 after reporting */
static int scope_open(Importer *im, Scope *s, const char *tag) {
    if (im->depth >= ONNX_MAX_DEPTH) {
        onnx_unsupported(im, "control flow nested more than 64 deep");
        return -1;
    }
    s->start = im->nt;
    s->prefix = im->prefix;
    s->node = im->node;
    const char *up = im->prefix ? im->prefix : "";
    size_t len = strlen(up) + strlen(tag) + 2;
    im->prefix = malloc(len);
    if (!im->prefix) abort();
    snprintf(im->prefix, len, "%s%s/", up, tag);
    im->depth++;
    return 0;
}

/* the copy ends: its tensors leave the table (still owned, and pointers to them stay valid) */
static void scope_close(Importer *im, Scope *s) {
    for (int i = s->start; i < im->nt; i++) {
        if (im->ndead == im->dead_cap) {
            im->dead_cap = im->dead_cap ? 2 * im->dead_cap : 64;
            im->dead = realloc(im->dead, (size_t)im->dead_cap * sizeof *im->dead);
            if (!im->dead) abort();
        }
        im->dead[im->ndead++] = im->t[i];
    }
    im->nt = s->start;
    free(im->prefix);
    im->prefix = s->prefix;
    im->node = s->node;
    im->depth--;
}

/* `name` is t: the same IR value, or a copy of the same constant */
static Tensor *bind(Importer *im, const char *name, const Tensor *t) {
    Tensor *a = onnx_add_tensor(im, name, t->rank, t->dims);
    a->value = t->value;
    a->failed = t->failed;
    if (t->data) {
        long n = onnx_numel(t->dims, t->rank);
        a->data = malloc((size_t)(n ? n : 1) * sizeof *a->data);
        if (!a->data) abort();
        memcpy(a->data, t->data, (size_t)n * sizeof *a->data);
    }
    return a;
}

/* one copy of subgraph gp: its inputs bound to in[0..nin), its nodes imported, its
 * outputs into out[]; 1 when an output failed (a node nnc could not build, reported),
 * -1 after reporting an invalid model */
static int copy_body(Ctx *c, const Onnx__GraphProto *gp, const char *tag, Tensor **in, int nin, Tensor **out) {
    Importer *im = c->im;
    Scope s;
    if (scope_open(im, &s, tag)) return 1;
    onnx_add_initializers(im, gp);
    for (int i = 0; i < nin; i++) bind(im, gp->input[i]->name, in[i]);
    for (size_t i = 0; i < gp->n_node && diag_error_count() <= im->unsupported; i++)
        onnx_import_node(im, gp->node[i]);
    im->node = c->n;
    int status = diag_error_count() > im->unsupported ? -1 : 0;
    for (size_t k = 0; k < gp->n_output && !status; k++) {
        out[k] = onnx_find(im, gp->output[k]->name);
        if (!out[k]) {      /* validated: an outer value would be found, so this is nnc's own failure */
            onnx_unsupported(im, "a subgraph output nnc did not compute");
            status = 1;
        } else if (out[k]->failed) {
            status = 1;
        }
    }
    scope_close(im, &s);
    return status;
}

/* the node's outputs, all failed (the reason was reported): their readers are skipped quietly */
static Tensor *poisoned(Ctx *c) {
    Tensor *r = NULL;
    for (size_t i = 0; i < c->n->n_output; i++)
        if (*c->n->output[i] && !onnx_find(c->im, c->n->output[i])) {
            r = onnx_add_tensor(c->im, c->n->output[i], 0, NULL);
            r->failed = 1;
        }
    return r ? r : onnx_find(c->im, c->n->output[0]);
}

/* a graph attribute the op requires; NULL after reporting */
static const Onnx__GraphProto *graph_attr(Ctx *c, const char *name) {
    const Onnx__AttributeProto *a = onnx_attr(c->n, name);
    if (!a || !a->g) onnx_invalid(c->im, "%s needs the graph attribute '%s'", c->n->op_type, name);
    return a ? a->g : NULL;
}

/* the name a node's copies are tagged with: its first named output */
static const char *tag_of(Ctx *c) {
    for (size_t i = 0; i < c->n->n_output; i++)
        if (*c->n->output[i]) return c->n->output[i];
    return "control";
}

static int same_shape(const Tensor *a, const Tensor *b) {
    if (a->rank != b->rank) return 0;
    for (int d = 0; d < a->rank; d++)
        if (a->dims[d] != b->dims[d]) return 0;
    return 1;
}

static void shape_text(const Tensor *t, char *buf, size_t cap) {
    int at = snprintf(buf, cap, "(");
    for (int d = 0; d < t->rank && at < (int)cap; d++) at += snprintf(buf + at, cap - at, d ? ", %ld" : "%ld", t->dims[d]);
    if (at < (int)cap) snprintf(buf + at, cap - at, ")");
}

/* a Scan's body against its N states and M scan inputs: the number of
 * scan outputs it gives; -1 after reporting an invalid node */
static int scan_outputs(Importer *im, const Onnx__NodeProto *n, const Onnx__GraphProto *body, int N, long M) {
    if ((long)body->n_input != N + M || (int)body->n_output < N) {
        onnx_invalid(im, "its body takes %zu inputs and gives %zu outputs; with %d state variable%s and %ld scan "
                     "input%s it takes %ld and gives at least %d", body->n_input, body->n_output, N, N == 1 ? "" : "s",
                     M, M == 1 ? "" : "s", N + M, N);
        return -1;
    }
    int K = (int)body->n_output - N;
    if ((int)n->n_output > N + K) {
        onnx_invalid(im, "the node declares %zu outputs; its body gives %d state variable%s and %d scan output%s",
                     n->n_output, N, N == 1 ? "" : "s", K, K == 1 ? "" : "s");
        return -1;
    }
    return K;
}

/* iteration `it`'s K scan outputs into rows (rows[it * K + k]), one shape
 * for every iteration as ONNX stacks them; -1 after reporting */
static int stack_rows(Importer *im, Tensor **rows, int K, long it, Tensor *const *out, const char *what) {
    for (int k = 0; k < K; k++) {
        rows[it * K + k] = out[k];
        if (!same_shape(out[k], rows[k])) {
            char s1[120], s2[120];
            shape_text(rows[k], s1, sizeof s1);
            shape_text(out[k], s2, sizeof s2);
            onnx_invalid(im, "scan output %d has shape %s in %s 0 and %s in %s %ld (ONNX stacks them: one shape)",
                         k, s1, what, s2, what, it);
            return -1;
        }
    }
    return 0;
}

/* a one-element input (If's condition, Loop's M and cond): -1 after reporting a node with more */
static int one_value(Ctx *c, const Tensor *t, const char *what) {
    long n = onnx_numel(t->dims, t->rank);
    if (n == 1) return 0;
    onnx_invalid(c->im, "%s must hold one value, it has %ld", what, n);
    return -1;
}

/* `name`: parts[0], parts[step], ... (np of them, each of one shape) stacked on a
 * new axis, in reverse order when `reverse`; NULL after reporting */
static Tensor *stack(Ctx *c, const char *name, Tensor **parts, long np, int step, int axis, int reverse) {
    const Tensor *x = parts[0];
    if (x->rank + 1 > MAX_T) { onnx_unsupported(c->im, "a scan output above rank 8"); return NULL; }
    long ud[MAX_T], dims[MAX_T];
    for (int d = 0, k = 0; d <= x->rank; d++) ud[d] = d == axis ? 1 : x->dims[k++];
    Tensor **row = malloc((size_t)np * sizeof *row);
    if (!row) abort();
    char buf[170];
    Tensor *r = NULL;
    for (long p = 0; p < np; p++) {
        ir_format_name(buf, "%s/row%ld", name, p);
        row[p] = onnx_reshaped(c, parts[(reverse ? np - 1 - p : p) * step], x->rank + 1, ud, np == 1 ? name : buf);
        if (!row[p]) goto out;
    }
    /* Concat takes IR_MAX_IO operands: a tree of them, its root named for the output */
    Attrs a;
    memset(&a, 0, sizeof a);
    a.axis = axis;
    for (int level = 0; np > 1; level++) {
        long groups = (np + IR_MAX_IO - 1) / IR_MAX_IO;
        for (long g = 0; g < groups; g++) {
            int k = (int)(np - g * IR_MAX_IO < IR_MAX_IO ? np - g * IR_MAX_IO : IR_MAX_IO);
            memcpy(dims, ud, sizeof dims);
            dims[axis] = 0;
            for (int i = 0; i < k; i++) dims[axis] += row[g * IR_MAX_IO + i]->dims[axis];
            ir_format_name(buf, "%s/cat%d_%ld", name, level, g);
            row[g] = onnx_apply(c->im, OP_ND_CONCAT, row + g * IR_MAX_IO, k, &a, groups == 1 ? name : buf, x->rank + 1,
                                dims);
            if (!row[g]) goto out;
        }
        np = groups;
    }
    r = row[0];
out:
    free(row);
    return r;
}

/* ---- If ------------------------------------------------------------------------------ */

/* If = then_branch or else_branch: the one cond picks when it is known
 * here, else both, each output Where(cond, then's, else's) */
Tensor *onnx_if(Ctx *c) {
    Importer *im = c->im;
    const Onnx__NodeProto *n = c->n;
    const Onnx__GraphProto *br[2] = { graph_attr(c, "then_branch"), NULL };
    if (!br[0] || !(br[1] = graph_attr(c, "else_branch"))) return NULL;
    static const char *side[2] = { "then", "else" };
    for (int b = 0; b < 2; b++) {
        if (br[b]->n_output != n->n_output) {
            onnx_invalid(im, "its %s branch gives %zu output%s, the node declares %zu", side[b], br[b]->n_output,
                         br[b]->n_output == 1 ? "" : "s", n->n_output);
            return NULL;
        }
        if (br[b]->n_input) {
            onnx_invalid(im, "its %s branch declares %zu inputs (an If's branches take none)", side[b], br[b]->n_input);
            return NULL;
        }
    }
    Tensor *cond = c->in[0];
    if (one_value(c, cond, "If's condition")) return NULL;
    size_t no = n->n_output;
    Tensor **out = calloc(2 * no, sizeof *out), *r = NULL;
    if (!out) abort();
    char tag[170];
    if (cond->data) {       /* known here: the chosen branch alone */
        int b = cond->data[0] != 0 ? 0 : 1;
        ir_format_name(tag, "%s/%s", tag_of(c), side[b]);
        int st = copy_body(c, br[b], tag, NULL, 0, out);
        if (st) { r = st > 0 ? poisoned(c) : NULL; goto done; }
        for (size_t i = 0; i < no; i++)
            if (*n->output[i]) r = bind(im, n->output[i], out[i]);
        goto done;
    }
    /* computed at run time: both branches, then a Where per output */
    for (int b = 0; b < 2; b++) {
        ir_format_name(tag, "%s/%s", tag_of(c), side[b]);
        int st = copy_body(c, br[b], tag, NULL, 0, out + b * no);
        if (st) { r = st > 0 ? poisoned(c) : NULL; goto done; }
    }
    for (size_t i = 0; i < no; i++)
        if (!same_shape(out[i], out[no + i])) {
            char why[400], s1[120], s2[120];
            shape_text(out[i], s1, sizeof s1);
            shape_text(out[no + i], s2, sizeof s2);
            snprintf(why, sizeof why, "its condition is computed at run time and output %zu differs in shape between "
                     "the branches (then %s, else %s), so no Where can select it", i, s1, s2);
            onnx_unsupported(im, why);
            goto done;
        }
    char buf[170];
    Tensor *c0 = cond->rank ? onnx_reshaped(c, cond, 0, NULL, onnx_part(c, "cond", buf)) : cond;
    if (!c0) goto done;
    for (size_t i = 0; i < no; i++) {
        if (!*n->output[i]) continue;
        Onnx__NodeProto one = *n;      /* Where's builder names its result after output 0 */
        one.output = n->output + i;
        one.n_output = 1;
        Ctx w = *c;
        w.n = &one;
        w.in[0] = c0;
        w.in[1] = out[i];
        w.in[2] = out[no + i];
        w.nin = 3;
        if (!(r = onnx_where(&w))) goto done;
    }
done:
    free(out);
    return r;
}

/* ---- Loop ---------------------------------------------------------------------------- */

/* a scalar constant, not in the table (copy_body binds a copy of it) */
static Tensor scalar(float *v) {
    Tensor t;
    memset(&t, 0, sizeof t);
    t.value = -1;
    t.data = v;
    return t;
}

/* -1 after reporting when `more` copies of gp would bring the nodes unrolled past
 * ONNX_MAX_UNROLLED (a body of no nodes counts one: each copy still costs) */
static int unroll_budget(Ctx *c, const Onnx__GraphProto *gp, long more, long done) {
    long room = ONNX_MAX_UNROLLED - c->im->unrolled, per = gp->n_node ? (long)gp->n_node : 1;
    if (more <= room / per) return 0;
    char why[300];
    if (more > 1)
        snprintf(why, sizeof why, "unrolling %ld iterations of its %zu-node body would import %s%ld nodes; nnc unrolls "
                 "at most %d in all", more, gp->n_node, more > LONG_MAX / per ? "more than " : "",
                 more > LONG_MAX / per ? LONG_MAX : more * per, ONNX_MAX_UNROLLED);
    else
        snprintf(why, sizeof why, "it ran %ld iterations of its %zu-node body and goes on; nnc unrolls at most %d nodes "
                 "in all", done, gp->n_node, ONNX_MAX_UNROLLED);
    onnx_unsupported(c->im, why);
    return -1;
}

/* Loop: for (i = 0; i < M && cond; i++) (cond, v...) = body(i, cond, v...),
 * unrolled; each iteration's scan outputs stacked */
Tensor *onnx_loop(Ctx *c) {
    Importer *im = c->im;
    const Onnx__NodeProto *n = c->n;
    const Onnx__GraphProto *body = graph_attr(c, "body");
    if (!body) return NULL;
    if (n->n_input < 2) {
        onnx_invalid(im, "Loop takes M and cond first (either may be empty), the node has %zu input%s", n->n_input,
                     n->n_input == 1 ? "" : "s");
        return NULL;
    }
    int N = c->nin - 2;
    for (int j = 0; j < N; j++)
        if (!c->in[2 + j]) { onnx_invalid(im, "its loop-carried input %d is empty", j); return NULL; }
    if ((int)body->n_input != 2 + N || (int)body->n_output < 1 + N) {
        onnx_invalid(im, "its body takes %zu inputs and gives %zu outputs; with %d loop-carried value%s it takes %d "
                     "(iteration number, condition, the values) and gives at least %d", body->n_input, body->n_output,
                     N, N == 1 ? "" : "s", 2 + N, 1 + N);
        return NULL;
    }
    int K = (int)body->n_output - 1 - N;
    if ((int)n->n_output > N + K) {
        onnx_invalid(im, "the node declares %zu outputs; its body gives %d loop-carried value%s and %d scan output%s",
                     n->n_output, N, N == 1 ? "" : "s", K, K == 1 ? "" : "s");
        return NULL;
    }
    Tensor *m = c->in[0], *cond = c->in[1];
    long trips = -1;      /* none: until cond */
    if (m) {
        if (one_value(c, m, "Loop's trip count M")) return NULL;
        if (!m->data) { onnx_unsupported(im, "Loop's trip count M must be a constant (it is computed at run time)"); return NULL; }
        trips = onnx_to_long(m->data[0]);
        if (trips < 0) trips = 0;
    }
    int go = 1;
    if (cond) {
        if (one_value(c, cond, "Loop's condition")) return NULL;
        if (!cond->data) { onnx_unsupported(im, "Loop's condition cond must be a constant (it is computed at run time)"); return NULL; }
        go = cond->data[0] != 0;
    }
    if (!m && !cond) { onnx_unsupported(im, "a Loop with neither a trip count M nor a condition (it never ends)"); return NULL; }
    /* a for loop is measured whole before it starts; a while loop (M may be INT64_MAX) as it goes */
    if (!cond && trips > 0 && unroll_budget(c, body, trips, 0)) return NULL;

    Tensor **io = calloc((size_t)(2 + N) + body->n_output, sizeof *io), **out = io + 2 + N, *r = NULL;
    Tensor **rows = NULL;       /* iteration i's scan output k at i * K + k */
    long cap = 0, done = 0;
    float one = 1;
    Tensor truth = scalar(&one);
    if (!io) abort();
    for (int j = 0; j < N; j++) io[2 + j] = c->in[2 + j];
    io[1] = cond ? cond : &truth;
    for (; go && (trips < 0 || done < trips); done++) {
        if (cond && unroll_budget(c, body, 1, done)) goto end;
        float it = (float)done;
        Tensor iter = scalar(&it);
        io[0] = &iter;
        char tag[170];
        ir_format_name(tag, "%s/%ld", tag_of(c), done);
        int st = copy_body(c, body, tag, io, 2 + N, out);
        im->unrolled += body->n_node ? (long)body->n_node : 1;
        if (st) { r = st > 0 ? poisoned(c) : NULL; goto end; }
        if (cond) {     /* a while loop: its end must be known here */
            if (one_value(c, out[0], "the body's condition output")) goto end;
            if (!out[0]->data) {
                onnx_unsupported(im, "its body computes the loop's condition at run time (the number of iterations "
                                 "depends on the data)");
                goto end;
            }
            go = out[0]->data[0] != 0;
        }
        io[1] = out[0];
        for (int j = 0; j < N; j++) io[2 + j] = out[1 + j];
        if (done == cap) {
            cap = cap ? 2 * cap : 16;
            rows = realloc(rows, (size_t)(cap * K + 1) * sizeof *rows);
            if (!rows) abort();
        }
        if (stack_rows(im, rows, K, done, out + 1 + N, "iteration")) goto end;
    }
    for (int j = 0; j < (int)n->n_output; j++) {
        if (!*n->output[j]) continue;
        if (j < N) {
            r = bind(im, n->output[j], io[2 + j]);
        } else if (done == 0) {
            onnx_unsupported(im, "a Loop that runs no iteration and has scan outputs (their shape is unknown)");
            r = NULL;
            goto end;
        } else if (!(r = stack(c, n->output[j], rows + (j - N), done, K, 0, 0))) {
            goto end;
        }
    }
    if (!r) r = poisoned(c);    /* every output unnamed: nothing to give */
end:
    free(rows);
    free(io);
    return r;
}

/* ---- Scan ---------------------------------------------------------------------------- */

/* x at index `at` of `axis`, that axis dropped: a strided copy (folded when x is a constant) */
static Tensor *take(Importer *im, Tensor *x, int axis, long at, const char *name) {
    long xs[MAX_T], dims[MAX_T];
    nd_strides(x->rank, x->dims, xs);
    int r = 0;
    for (int d = 0; d < x->rank; d++)
        if (d != axis) dims[r++] = x->dims[d];
    Attrs a;
    memset(&a, 0, sizeof a);
    nd_dense(&a.nd, r, dims);
    for (int d = 0, k = 0; d < x->rank; d++)
        if (d != axis) a.nd.as[k++] = xs[d];
    a.nd.aoff = at * xs[axis];
    return onnx_apply(im, OP_ND_COPY, &x, 1, &a, name, r, dims);
}

/* an ints attribute of `count` values (default 0 each): -1 after reporting one of another length */
static int ints_attr(Ctx *c, const char *name, long *out, int count) {
    for (int i = 0; i < count; i++) out[i] = 0;
    int k = onnx_attr_ints(c->n, name, out, count);
    if (k < 0 || k == count) return 0;
    onnx_invalid(c->im, "'%s' has %d values, the node has %d of those %s", name, k, count,
                 strstr(name, "input") ? "scan inputs" : "scan outputs");
    return -1;
}

/* Scan-8: the same over a batch: inputs (sequence_lens, states (B, ...), scan
 * inputs (B, T, ...)), each sample scanned on its own (its slices of the
 * states and inputs), the results stacked back on axis 0; sequence_lens
 * (when given) a constant of full lengths */
static Tensor *scan8(Ctx *c) {
    Importer *im = c->im;
    const Onnx__NodeProto *n = c->n;
    const Onnx__GraphProto *body = graph_attr(c, "body");
    if (!body) return NULL;
    long M = onnx_attr_i(n, "num_scan_inputs", -1);
    if (M < 1 || M > c->nin - 1) {
        onnx_invalid(im, "num_scan_inputs is %ld; it must be 1 to the node's %d inputs after sequence_lens", M, c->nin - 1);
        return NULL;
    }
    int N = c->nin - 1 - (int)M;
    for (int j = 1; j < c->nin; j++)
        if (!c->in[j] || c->in[j]->rank < (j > N ? 2 : 1)) {
            onnx_invalid(im, "its input %d is %s (Scan-8's states are (batch, ...), its scan inputs (batch, steps, ...))",
                         j, c->in[j] ? "of too low a rank" : "empty");
            return NULL;
        }
    int K = scan_outputs(im, n, body, N, M);
    if (K < 0) return NULL;
    long batch = c->in[1]->dims[0], len = c->in[1 + N]->dims[1];
    for (int j = 1; j < c->nin; j++)
        if (c->in[j]->dims[0] != batch || (j > N && c->in[j]->dims[1] != len)) {
            onnx_invalid(im, "its input %d has %ld samples and %ld steps where input 1 has %ld samples and scan input "
                         "0 %ld steps", j, c->in[j]->dims[0], j > N ? c->in[j]->dims[1] : len, batch, len);
            return NULL;
        }
    if (c->in[0]) {
        Tensor *sl = c->in[0];
        if (!sl->data) { onnx_unsupported(im, "Scan's sequence_lens must be a constant (it is computed at run time)"); return NULL; }
        for (long b = 0; b < onnx_numel(sl->dims, sl->rank); b++)
            if (onnx_to_long(sl->data[b]) != len) {
                onnx_unsupported(im, "Scan's sequence_lens shorter than the scan inputs (only full lengths are unrolled)");
                return NULL;
            }
    }
    if ((len == 0 || batch == 0) && K) { onnx_unsupported(im, "a Scan over zero steps with scan outputs (their shape is unknown)"); return NULL; }
    if (unroll_budget(c, body, batch && len > LONG_MAX / batch ? LONG_MAX : batch * len, 0)) return NULL;
    long *dir = calloc((size_t)M + 1, sizeof *dir);
    Tensor **io = calloc((size_t)(N + M) + body->n_output, sizeof *io), **out = io + N + M, *r = NULL;
    Tensor **rows = malloc((size_t)(len * K + 1) * sizeof *rows);          /* one sample's step t, output k */
    Tensor **per = malloc((size_t)(batch * (N + K) + 1) * sizeof *per);     /* sample b's output j */
    Tensor **xs = calloc((size_t)M + (size_t)K + 1, sizeof *xs), **first = xs + M;   /* first: sample 0's step 0 */
    if (!dir || !io || !rows || !per || !xs) abort();
    if (ints_attr(c, "directions", dir, (int)M)) goto end;
    for (long b = 0; b < batch; b++) {
        char tag[170], name[170];
        for (int j = 0; j < N; j++) {
            ir_format_name(name, "%s/%ld/s%d", tag_of(c), b, j);
            if (!(io[j] = take(im, c->in[1 + j], 0, b, name))) goto end;
        }
        for (int j = 0; j < M; j++) {
            ir_format_name(name, "%s/%ld/x%d", tag_of(c), b, j);
            if (!(xs[j] = take(im, c->in[1 + N + j], 0, b, name))) goto end;
        }
        for (long t = 0; t < len; t++) {
            ir_format_name(tag, "%s/%ld/%ld", tag_of(c), b, t);
            for (int j = 0; j < M; j++) {
                ir_format_name(name, "%s/x%d", tag, j);
                if (!(io[N + j] = take(im, xs[j], 0, dir[j] ? len - 1 - t : t, name))) goto end;
            }
            int st = copy_body(c, body, tag, io, N + (int)M, out);
            im->unrolled += body->n_node ? (long)body->n_node : 1;
            if (st) { r = st > 0 ? poisoned(c) : NULL; goto end; }
            for (int j = 0; j < N; j++) io[j] = out[j];
            for (int k = 0; k < K; k++) {
                rows[t * K + k] = out[N + k];
                if (!first[k]) first[k] = out[N + k];
                if (!same_shape(out[N + k], first[k])) {
                    onnx_invalid(im, "scan output %d changes shape between steps or samples (ONNX stacks them: one shape)", k);
                    goto end;
                }
            }
        }
        for (int j = 0; j < N; j++) {
            per[b * (N + K) + j] = io[j];
            if (!same_shape(io[j], per[j])) {
                onnx_invalid(im, "state variable %d ends in another shape for sample %ld than for sample 0", j, b);
                goto end;
            }
        }
        for (int k = 0; k < K; k++) {      /* sample b's scan output k: its steps stacked on axis 0 */
            ir_format_name(name, "%s/%ld/y%d", tag_of(c), b, k);
            if (!(per[b * (N + K) + N + k] = stack(c, name, rows + k, len, K, 0, 0))) goto end;
        }
    }
    for (int j = 0; j < (int)n->n_output; j++) {
        if (!*n->output[j]) continue;
        if (!(r = stack(c, n->output[j], per + j, batch, N + K, 0, 0))) goto end;
    }
    if (!r) r = poisoned(c);
end:
    free(xs);
    free(per);
    free(rows);
    free(io);
    free(dir);
    return r;
}

/* Scan: (state..., y_t...) = body(state..., x_t...) for t along each scan
 * input's axis, unrolled; each y_t stacked on its output axis */
Tensor *onnx_scan(Ctx *c) {
    Importer *im = c->im;
    const Onnx__NodeProto *n = c->n;
    if (im->opset < 9) return scan8(c);
    const Onnx__GraphProto *body = graph_attr(c, "body");
    if (!body) return NULL;
    long M = onnx_attr_i(n, "num_scan_inputs", -1);
    if (M < 1 || M > c->nin) {
        onnx_invalid(im, "num_scan_inputs is %ld; it must be 1 to the node's %d inputs", M, c->nin);
        return NULL;
    }
    int N = c->nin - (int)M;
    for (int j = 0; j < c->nin; j++)
        if (!c->in[j]) { onnx_invalid(im, "its input %d is empty (Scan's inputs are all required)", j); return NULL; }
    int K = scan_outputs(im, n, body, N, M);
    if (K < 0) return NULL;
    long *ax = calloc((size_t)(2 * M + 2 * K + 1), sizeof *ax), *dir = ax + M, *oax = dir + M, *odir = oax + K;
    Tensor **io = calloc((size_t)(N + M) + body->n_output, sizeof *io), **out = io + N + M, *r = NULL;
    Tensor **rows = NULL;       /* step t's scan output k at t * K + k */
    if (!ax || !io) abort();
    if (ints_attr(c, "scan_input_axes", ax, (int)M) || ints_attr(c, "scan_input_directions", dir, (int)M) ||
        ints_attr(c, "scan_output_axes", oax, K) || ints_attr(c, "scan_output_directions", odir, K))
        goto end;
    long len = -1;
    for (int j = 0; j < M; j++) {
        Tensor *x = c->in[N + j];
        int a = onnx_axis(c, ax[j], x->rank, 0, "scan_input_axes");
        if (a < 0) goto end;
        ax[j] = a;
        if (len >= 0 && x->dims[a] != len) {
            onnx_invalid(im, "scan input %d has %ld steps on its axis %d, scan input 0 has %ld", j, x->dims[a], a, len);
            goto end;
        }
        len = x->dims[a];
    }
    if (len == 0 && K) { onnx_unsupported(im, "a Scan over zero steps with scan outputs (their shape is unknown)"); goto end; }
    if (unroll_budget(c, body, len, 0)) goto end;
    rows = malloc((size_t)(len * K + 1) * sizeof *rows);
    if (!rows) abort();
    for (int j = 0; j < N; j++) io[j] = c->in[j];
    for (long t = 0; t < len; t++) {
        char tag[170], name[170];
        ir_format_name(tag, "%s/%ld", tag_of(c), t);
        for (int j = 0; j < M; j++) {
            Tensor *x = c->in[N + j];
            ir_format_name(name, "%s/x%d", tag, j);
            if (!(io[N + j] = take(im, x, (int)ax[j], dir[j] ? len - 1 - t : t, name))) goto end;
        }
        int st = copy_body(c, body, tag, io, N + (int)M, out);
        im->unrolled += body->n_node ? (long)body->n_node : 1;
        if (st) { r = st > 0 ? poisoned(c) : NULL; goto end; }
        for (int j = 0; j < N; j++) io[j] = out[j];
        if (stack_rows(im, rows, K, t, out + N, "step")) goto end;
    }
    for (int j = 0; j < (int)n->n_output; j++) {
        if (!*n->output[j]) continue;
        if (j < N) {
            r = bind(im, n->output[j], io[j]);
            continue;
        }
        int k = j - N, a = onnx_axis(c, oax[k], rows[k]->rank + 1, 0, "scan_output_axes");
        if (a < 0 || !(r = stack(c, n->output[j], rows + k, len, K, a, odir[k] != 0))) { r = NULL; goto end; }
    }
    if (!r) r = poisoned(c);
end:
    free(rows);
    free(io);
    free(ax);
    return r;
}
