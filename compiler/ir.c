/* ir.c — building and inspecting the IR graph.
 *
 * Values and nodes are appended to growable arrays and named by index, so
 * a pass may add nodes while iterating without invalidating references.
 * Out of memory is the one condition the compiler treats as fatal.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ir.h"

static void *grow(void *p, int *cap, size_t elem) {
    *cap = *cap ? *cap * 2 : 32;
    p = realloc(p, (size_t)*cap * elem);
    if (!p) { fprintf(stderr, "nnc: out of memory\n"); abort(); }
    return p;
}

Graph *ir_new(const char *name) {
    Graph *g = calloc(1, sizeof *g);
    if (!g) { fprintf(stderr, "nnc: out of memory\n"); abort(); }
    snprintf(g->name, sizeof g->name, "%s", name);
    g->input = g->output = g->label = g->loss = -1;
    g->opt_level = 2;
    g->train.batch = 32;    /* predict's chunk when there is no train block */
    g->train.epochs = 1;
    return g;
}

void ir_free(Graph *g) {
    if (!g) return;
    free(g->values);
    free(g->nodes);
    free(g->baked);
    free(g->train.class_weight);
    free(g->train.out_loss);
    free(g->train.loss_weights);
    ir_free(g->weights_from);
    q8_free_all(g);
    free(g);
}

void ir_format_name(char *out, const char *fmt, ...) {
    char full[4096];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(full, sizeof full, fmt, ap);
    va_end(ap);
    if (len < IR_NAME) {
        memcpy(out, full, (size_t)len + 1);
        return;
    }
    uint32_t h = 2166136261u;       /* FNV-1a over all of it */
    for (const char *c = full; *c; c++) h = (h ^ (unsigned char)*c) * 16777619u;
    snprintf(out, IR_NAME, "%.*s~%08x", IR_NAME - 10, full, (unsigned)h);
}

int ir_value(Graph *g, const char *name, Role role, int batched, int rank, const int *dims) {
    assert(rank >= 0 && rank <= IR_MAX_RANK);
    /* name and dims may point into g->values, which growing moves */
    char keep_name[IR_NAME];
    int keep_dims[IR_MAX_RANK];
    ir_format_name(keep_name, "%s", name);
    if (rank) memcpy(keep_dims, dims, (size_t)rank * sizeof *dims);
    name = keep_name;
    dims = keep_dims;
    if (g->nvalues == g->cap_values) g->values = grow(g->values, &g->cap_values, sizeof(Value));
    Value *v = &g->values[g->nvalues];
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s", name);
    v->dtype = DT_F32;
    v->role = role;
    v->batched = batched;
    v->rank = rank;
    if (rank) memcpy(v->dims, dims, (size_t)rank * sizeof *dims);
    v->producer = v->alias_of = v->grad = v->param = v->mask = -1;
    v->offset = -1;
    return g->nvalues++;
}

int ir_node(Graph *g, int op, const int *in, int nin, Loc loc) {
    assert(nin <= IR_MAX_IO);
    if (g->nnodes == g->cap_nodes) g->nodes = grow(g->nodes, &g->cap_nodes, sizeof(Node));
    Node *n = &g->nodes[g->nnodes];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->nin = nin;
    if (nin) memcpy(n->in, in, (size_t)nin * sizeof *in);
    n->loc = loc;
    n->attr.use_bias = 1;
    return g->nnodes++;
}

void ir_add_output(Graph *g, int node, int value) {
    Node *n = &g->nodes[node];
    assert(n->nout < IR_MAX_IO);
    n->out[n->nout++] = value;
    g->values[value].producer = node;
}

long ir_size(const Value *v) {
    long s = 1;
    for (int i = 0; i < v->rank; i++) s *= v->dims[i];
    return s;
}

long ir_packed_size(const Graph *g, const int *values, int n) {
    long s = 0;
    for (int i = 0; i < n; i++) s += ir_size(&g->values[values[i]]);
    return s;
}

int ir_is_output(const Graph *g, int value) {
    for (int i = 0; i < g->noutputs; i++)
        if (g->outputs[i] == value) return 1;
    return 0;
}

int ir_consumers(const Graph *g, int value, int *first) {
    int count = 0;
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] == value) {
                if (!count && first) *first = i;
                count++;
            }
    }
    return count;
}

void ir_uses(const Graph *g, Uses *u) {
    u->count = calloc((size_t)g->nvalues + 1, sizeof *u->count);
    u->first = malloc(((size_t)g->nvalues + 1) * sizeof *u->first);
    if (!u->count || !u->first) abort();
    for (int v = 0; v < g->nvalues; v++) u->first[v] = -1;
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int j = 0; j < n->nin; j++) {
            int v = n->in[j];
            if (!u->count[v]++) u->first[v] = i;
        }
    }
}

void ir_uses_free(Uses *u) {
    free(u->count);
    free(u->first);
}

int ir_storage(const Graph *g, int value) {
    while (g->values[value].alias_of >= 0) value = g->values[value].alias_of;
    return value;
}

const char *ir_shape_str(const Value *v, char *buf, size_t cap) {
    size_t len = 0;
    len += (size_t)snprintf(buf + len, cap - len, "(");
    if (v->batched) len += (size_t)snprintf(buf + len, cap - len, "n%s", v->rank ? ", " : "");
    for (int i = 0; i < v->rank && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%d%s", v->dims[i], i + 1 < v->rank ? ", " : "");
    if (len < cap) snprintf(buf + len, cap - len, ")");
    return buf;
}

void ir_dump(const Graph *g, FILE *out) {
    static const char *phase[] = { "fwd", "loss", "bwd", "upd" };
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead) continue;
        fprintf(out, "%s %s", phase[n->phase], op_name(n->op));
        for (int j = 0; j < n->nin; j++) fprintf(out, "%s%s", j ? ", " : " ", g->values[n->in[j]].name);
        fprintf(out, " ->");
        for (int j = 0; j < n->nout; j++) {
            char buf[96];
            const Value *v = &g->values[n->out[j]];
            fprintf(out, " %s%s", v->name, ir_shape_str(v, buf, sizeof buf));
        }
        fputc('\n', out);
    }
}

int ir_param_group(const Value *v) { return v->constant ? 2 : !v->trainable; }

/* A CRC-32 chain over the model's name and each parameter's name and size
 * in the order save() lays them out (trainable, then the other RAM ones,
 * then the constants; ir_param_group), so a build whose layout differs (a
 * --freeze moves a layer's parameters behind the trained ones) has another
 * fingerprint, however many parameters there are. */
uint32_t ir_fingerprint(const Graph *g, int ram_only) {
    char piece[IR_NAME + 40];
    uint32_t h = nnc_rt_crc32(g->name, strlen(g->name));
    for (int group = 0; group < (ram_only ? 2 : 3); group++)
        for (int v = 0; v < g->nvalues; v++) {
            const Value *x = &g->values[v];
            if (x->role != ROLE_PARAM || ir_param_group(x) != group) continue;
            int len = snprintf(piece, sizeof piece, "%08x;%s:%ld", (unsigned)h, x->name, ir_size(x));
            h = nnc_rt_crc32(piece, (size_t)(len < (int)sizeof piece ? len : (int)sizeof piece - 1));
        }
    return h;
}

long ir_sample_rows(const Value *v) {
    return v->batched || !v->rank || !v->dims[0] ? 1 : v->dims[0];
}

long ir_rows(const Graph *g, int value, long batch) {
    const Value *v = &g->values[value];
    long cols = v->rank ? v->dims[v->rank - 1] : 1;
    return ir_size(v) / (cols ? cols : 1) * (v->batched ? batch : 1);
}

int ir_in_schedule(const Node *n, int training) {
    return !n->dead && (training || n->phase == PH_FORWARD);
}

/* ---- baked constants a pass may rewrite (fold_bn, fuse_nd, layout) ---------------- */

int ir_constant(const Graph *g, int v) {
    const Value *p = &g->values[v];
    return g->baked && p->role == ROLE_PARAM && p->constant && !p->trainable && !p->state;
}

/* the end of the baked floats: new constants go after it */
static long baked_end(const Graph *g) {
    long end = 0;
    for (int v = 0; v < g->nvalues; v++) {
        const Value *p = &g->values[v];
        if (p->role == ROLE_PARAM && p->baked_at + ir_size(p) > end) end = p->baked_at + ir_size(p);
    }
    return end;
}

int ir_new_constant(Graph *g, const char *name, int rank, const int *dims, const float *data) {
    int v = ir_value(g, name, ROLE_PARAM, 0, rank, dims);
    long at = baked_end(g), n = ir_size(&g->values[v]);
    g->baked = realloc(g->baked, (size_t)(at + n + 1) * sizeof *g->baked);
    if (!g->baked) abort();
    if (data) memcpy(g->baked + at, data, (size_t)n * sizeof *data);
    else memset(g->baked + at, 0, (size_t)n * sizeof *g->baked);
    g->values[v].baked_at = at;
    g->values[v].constant = 1;
    g->values[v].trainable = 0;
    return v;
}

float *ir_writable(Graph *g, int node, int input) {
    int v = g->nodes[node].in[input];
    if (ir_consumers(g, v, NULL) > 1 || ir_is_output(g, v)) {
        Value p = g->values[v];
        int dims[IR_MAX_RANK];
        memcpy(dims, p.dims, sizeof dims);
        char name[IR_NAME];
        ir_format_name(name, "%s/own", p.name);
        v = ir_new_constant(g, name, p.rank, dims, g->baked + p.baked_at);
        g->nodes[node].in[input] = v;
    }
    return g->baked + g->values[v].baked_at;
}

void ir_drop_constant(Graph *g, int v) {
    if (!ir_constant(g, v) || ir_consumers(g, v, NULL)) return;
    /* no node reads it: not a parameter any more, so neither the parameter
     * block nor the baked array holds it (nothing allocates an unproduced,
     * unread activation) */
    g->values[v].role = ROLE_ACT;
    g->values[v].constant = 0;
    g->values[v].rank = 0;
}
