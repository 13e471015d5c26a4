/* validate.c — the graph-level rules of an ONNX model, checked before any
 * node is built: the default domain's opset is one nnc implements, the
 * graph has at most ONNX_MAX_NODES nodes, every name ONNX requires is
 * there (protobuf lets a file leave any out), every name has one writer (SSA:
 * a graph input, an initializer or one node output), and the graph
 * declares at least one output, each of them written by something.
 *
 * Decisions:
 *  - A model that breaks a rule is invalid (exit 1) and the message names
 *    both parties (the two writers of a name); an opset outside the range
 *    nnc implements is unsupported (exit 3): the model may be fine, nnc
 *    does not know that opset's semantics.
 *  - An initializer may also be listed as a graph input (a default value
 *    for it, ONNX's rule before IR version 4): that is one value, not two
 *    writers.
 *  - Names are checked with a hash table, so a graph of a million nodes
 *    costs a million lookups, not a million squared.
 *  - Subgraphs (If's branches, Loop's and Scan's bodies, any graph
 *    attribute) are checked like the graph, each with its own table inside
 *    the tables of the graphs around it, as ONNX's checker does: a
 *    subgraph reads names of its own written before the reader, or names
 *    an enclosing graph defines before the node that holds the subgraph;
 *    its inputs may shadow an outer name, its nodes' outputs may not (SSA
 *    holds across the nesting); it declares outputs, each defined.  Both
 *    branches of an If are checked, though only one may be imported.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx.h"

/* who writes a name: a graph input, an initializer, or node `index` */
enum { W_INPUT, W_INIT, W_NODE };
typedef struct Writer {
    const char *name;   /* NULL: a free slot */
    int kind;
    size_t index;
} Writer;

typedef struct Names {
    Writer *slot;
    size_t cap;         /* a power of two, at least twice the names */
} Names;

static size_t hash_name(const char *s) {
    uint64_t h = 1469598103934665603ULL;     /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (size_t)h;
}

/* the slot of name: its writer, or the free slot where it goes */
static Writer *lookup(Names *t, const char *name) {
    size_t i = hash_name(name) & (t->cap - 1);
    while (t->slot[i].name && strcmp(t->slot[i].name, name)) i = (i + 1) & (t->cap - 1);
    return &t->slot[i];
}

/* "node 'n' (Relu)", "graph input 'x'", "initializer 'w'" */
static void describe(const Onnx__GraphProto *gp, const Writer *w, char *buf, size_t cap) {
    if (w->kind == W_INPUT) snprintf(buf, cap, "graph input '%.100s'", w->name);
    else if (w->kind == W_INIT) snprintf(buf, cap, "initializer '%.100s'", w->name);
    else {
        const Onnx__NodeProto *n = gp->node[w->index];
        if (n->name && *n->name) snprintf(buf, cap, "node '%.100s' (%.60s)", n->name, n->op_type);
        else snprintf(buf, cap, "node %zu (%.60s)", w->index, n->op_type);
    }
}

/* name gets writer w; -1 after reporting when it has another one */
static int claim(Names *t, const Onnx__GraphProto *gp, const char *name, int kind, size_t index) {
    Writer *s = lookup(t, name);
    if (!s->name) {
        *s = (Writer){ name, kind, index };
        return 0;
    }
    if (s->kind == W_INIT && kind == W_INPUT) return 0;     /* an initializer's default-value input */
    if (s->kind == W_INPUT && kind == W_INIT) { s->kind = W_INIT; return 0; }
    Writer w = { name, kind, index };
    char a[200], b[200];
    describe(gp, s, a, sizeof a);
    describe(gp, &w, b, sizeof b);
    diag_error(onnx_nowhere(), "invalid model: '%s' is written twice, by %s and by %s (each name in an ONNX graph "
               "has exactly one writer)", name, a, b);
    return -1;
}

/* the names ONNX requires and protobuf may leave out (NULL once unpacked):
 * every graph input, output and initializer, every node's op_type and
 * every attribute's name; -1 after reporting */
static int check_present(const Onnx__GraphProto *gp) {
    const char *missing = NULL;
    for (size_t i = 0; i < gp->n_input && !missing; i++) if (!gp->input[i]->name) missing = "a graph input";
    for (size_t i = 0; i < gp->n_output && !missing; i++) if (!gp->output[i]->name) missing = "a graph output";
    for (size_t i = 0; i < gp->n_initializer && !missing; i++) if (!gp->initializer[i]->name) missing = "an initializer";
    for (size_t i = 0; i < gp->n_node && !missing; i++) {
        const Onnx__NodeProto *n = gp->node[i];
        if (!n->op_type) missing = "a node's op_type";
        for (size_t k = 0; k < n->n_attribute && !missing; k++) if (!n->attribute[k]->name) missing = "an attribute";
    }
    if (missing) diag_error(onnx_nowhere(), "invalid model: %s has no name", missing);
    return missing ? -1 : 0;
}

/* a graph being checked, inside the graphs that enclose it */
typedef struct Scope {
    Names t;
    size_t at;                  /* the node whose subgraphs are being checked */
    const struct Scope *up;
    const size_t *pos;          /* each node's place in the import order (NULL: the file's) */
} Scope;

/* name is defined where a subgraph of the node at s->at (and of its enclosing ones) reads it */
static int visible_above(const Scope *s, const char *name) {
    for (; s; s = s->up) {
        Writer *w = lookup((Names *)&s->t, name);
        if (w->name && (w->kind != W_NODE || (s->pos ? s->pos[w->index] < s->pos[s->at] : w->index < s->at)))
            return 1;
    }
    return 0;
}

static int check_graph(const Onnx__GraphProto *gp, const Scope *up, const char *where);

/* the graph attributes of node n (inside scope s, at the node); -1 after reporting */
static int check_subgraphs(const Onnx__NodeProto *n, const Scope *s) {
    for (size_t k = 0; k < n->n_attribute; k++) {
        const Onnx__AttributeProto *a = n->attribute[k];
        char where[300];
        if (n->name && *n->name) snprintf(where, sizeof where, "the subgraph '%.60s' of node '%.100s' (%.60s)", a->name, n->name, n->op_type);
        else snprintf(where, sizeof where, "the subgraph '%.60s' of the node computing '%.100s' (%.60s)", a->name,
                      n->n_output ? n->output[0] : "?", n->op_type);
        if (a->g && check_graph(a->g, s, where)) return -1;
        for (size_t i = 0; i < a->n_graphs; i++)
            if (a->graphs[i] && check_graph(a->graphs[i], s, where)) return -1;
    }
    return 0;
}

/* a subgraph: its names, its nodes' reads (its own names written before, or an
 * enclosing graph's), its subgraphs, its outputs; -1 after reporting */
static int check_graph(const Onnx__GraphProto *gp, const Scope *up, const char *where) {
    if (check_present(gp)) return -1;
    size_t count = gp->n_input + gp->n_initializer;
    for (size_t i = 0; i < gp->n_node; i++) count += gp->node[i]->n_output;
    Scope s = { { NULL, 16 }, 0, up, NULL };
    while (s.t.cap < 2 * count) s.t.cap *= 2;
    s.t.slot = calloc(s.t.cap, sizeof *s.t.slot);
    if (!s.t.slot) {
        diag_error(onnx_nowhere(), "out of memory checking %zu names", count);
        return -1;
    }
    int bad = 0;
    for (size_t i = 0; i < gp->n_initializer && !bad; i++) bad = claim(&s.t, gp, gp->initializer[i]->name, W_INIT, i);
    for (size_t i = 0; i < gp->n_input && !bad; i++) bad = claim(&s.t, gp, gp->input[i]->name, W_INPUT, i);
    for (size_t i = 0; i < gp->n_node && !bad; i++) {
        const Onnx__NodeProto *n = gp->node[i];
        char who[200];
        Writer me = { "", W_NODE, i };
        describe(gp, &me, who, sizeof who);
        for (size_t k = 0; k < n->n_input && !bad; k++)
            if (*n->input[k] && !lookup(&s.t, n->input[k])->name && !visible_above(up, n->input[k])) {
                diag_error(onnx_nowhere(), "invalid model: in %s, %s reads '%s', which neither the subgraph (before "
                           "it) nor an enclosing graph defines", where, who, n->input[k]);
                bad = -1;
            }
        s.at = i;
        if (!bad) bad = check_subgraphs(n, &s);
        for (size_t k = 0; k < n->n_output && !bad; k++) {
            if (!*n->output[k]) continue;
            if (visible_above(up, n->output[k])) {
                diag_error(onnx_nowhere(), "invalid model: in %s, %s writes '%s', a name an enclosing graph already "
                           "defines (SSA holds across subgraphs)", where, who, n->output[k]);
                bad = -1;
            } else {
                bad = claim(&s.t, gp, n->output[k], W_NODE, i);
            }
        }
    }
    if (!bad && gp->n_output == 0) {
        diag_error(onnx_nowhere(), "invalid model: %s declares no output (a graph needs at least one)", where);
        bad = -1;
    }
    for (size_t i = 0; i < gp->n_output && !bad; i++)
        if (!lookup(&s.t, gp->output[i]->name)->name && !visible_above(up, gp->output[i]->name)) {
            diag_error(onnx_nowhere(), "invalid model: output '%s' of %s is not computed by any of its nodes (nor is "
                       "it an input, an initializer or a value of an enclosing graph)", gp->output[i]->name, where);
            bad = -1;
        }
    free(s.t.slot);
    return bad;
}

/* ---- the import order ------------------------------------------------------------ */

/* Each node's readers: the nodes whose inputs (or whose subgraphs' inputs)
 * name one of its outputs, as edges for Kahn's algorithm */
typedef struct Order {
    const Onnx__GraphProto *gp;
    Names *t;
    size_t *indeg, *head, *next, *to, nedges, cap;
} Order;

static void add_edge(Order *o, const char *name, size_t reader) {
    Writer *w = lookup(o->t, name);
    if (!w->name || w->kind != W_NODE || w->index == reader) return;
    if (o->nedges == o->cap) {
        o->cap = o->cap ? 2 * o->cap : 256;
        o->next = realloc(o->next, o->cap * sizeof *o->next);
        o->to = realloc(o->to, o->cap * sizeof *o->to);
        if (!o->next || !o->to) abort();
    }
    o->to[o->nedges] = reader;
    o->next[o->nedges] = o->head[w->index];
    o->head[w->index] = o->nedges++;
    o->indeg[reader]++;
}

/* every name node `reader` reads, in its inputs and its subgraphs' nodes (depth-bounded by the wire check) */
static void add_reads(Order *o, const Onnx__NodeProto *n, size_t reader) {
    for (size_t k = 0; k < n->n_input; k++)
        if (*n->input[k]) add_edge(o, n->input[k], reader);
    for (size_t k = 0; k < n->n_attribute; k++) {
        const Onnx__AttributeProto *a = n->attribute[k];
        for (size_t g = 0; g < a->n_graphs + (a->g != NULL); g++) {
            const Onnx__GraphProto *sg = g < a->n_graphs ? a->graphs[g] : a->g;
            for (size_t i = 0; sg && i < sg->n_node; i++) add_reads(o, sg->node[i], reader);
        }
    }
}

/* ONNX requires a graph's nodes in topological order, and onnx.checker
 * rejects a file that breaks it; but converters write such files (a float16
 * converter appends its Casts after their readers) and ONNX Runtime runs
 * them.  So nnc imports the nodes in dependency order (the file's order
 * where it can: Kahn's algorithm taking the lowest ready index) and warns.
 * A cycle keeps the file's order: the importer then names the node that
 * reads a value no earlier node wrote.  NULL when the file's order is fine. */
static size_t *import_order(const Onnx__GraphProto *gp, Names *t) {
    size_t n = gp->n_node, late = 0;
    Order o = { gp, t, calloc(n + 1, sizeof(size_t)), malloc((n + 1) * sizeof(size_t)), NULL, NULL, 0, 0 };
    if (!o.indeg || !o.head) abort();
    for (size_t i = 0; i < n; i++) o.head[i] = (size_t)-1;
    for (size_t i = 0; i < n; i++) add_reads(&o, gp->node[i], i);
    for (size_t i = 0; i < n && !late; i++)
        for (size_t e = o.head[i]; e != (size_t)-1; e = o.next[e]) late |= o.to[e] < i;
    size_t *order = NULL;
    if (late) {
        /* a binary heap of ready nodes, lowest index first */
        size_t *heap = malloc((n + 1) * sizeof *heap), nh = 0, done = 0;
        order = malloc((n + 1) * sizeof *order);
        if (!heap || !order) abort();
        for (size_t i = 0; i < n; i++) {
            if (o.indeg[i]) continue;
            size_t c = nh++;
            for (heap[c] = i; c && heap[(c - 1) / 2] > heap[c]; c = (c - 1) / 2) {
                size_t x = heap[c]; heap[c] = heap[(c - 1) / 2]; heap[(c - 1) / 2] = x;
            }
        }
        while (nh) {
            size_t v = heap[0], c = 0;
            heap[0] = heap[--nh];
            for (;;) {
                size_t l = 2 * c + 1, r = l + 1, m = c;
                if (l < nh && heap[l] < heap[m]) m = l;
                if (r < nh && heap[r] < heap[m]) m = r;
                if (m == c) break;
                size_t x = heap[c]; heap[c] = heap[m]; heap[m] = x;
                c = m;
            }
            order[done++] = v;
            for (size_t e = o.head[v]; e != (size_t)-1; e = o.next[e])
                if (!--o.indeg[o.to[e]]) {
                    size_t k = nh++;
                    for (heap[k] = o.to[e]; k && heap[(k - 1) / 2] > heap[k]; k = (k - 1) / 2) {
                        size_t x = heap[k]; heap[k] = heap[(k - 1) / 2]; heap[(k - 1) / 2] = x;
                    }
                }
        }
        free(heap);
        if (done < n) {     /* a cycle: the file's order, and the importer's error */
            free(order);
            order = NULL;
        } else {
            diag_warning(onnx_nowhere(), "-Wnode-order", "the graph's nodes are not in topological order (ONNX "
                         "requires it; onnx.checker rejects this file); nnc imports them in dependency order");
        }
    }
    free(o.indeg); free(o.head); free(o.next); free(o.to);
    return order;
}

/* SSA and the outputs; -1 after reporting */
static int check_names(Importer *im, const Onnx__GraphProto *gp) {
    size_t count = gp->n_input + gp->n_initializer;
    for (size_t i = 0; i < gp->n_node; i++) count += gp->node[i]->n_output;
    Names t = { NULL, 16 };
    while (t.cap < 2 * count) t.cap *= 2;
    t.slot = calloc(t.cap, sizeof *t.slot);
    if (!t.slot) {
        diag_error(onnx_nowhere(), "out of memory checking %zu names", count);
        return -1;
    }
    int bad = 0;
    for (size_t i = 0; i < gp->n_initializer && !bad; i++) bad = claim(&t, gp, gp->initializer[i]->name, W_INIT, i);
    for (size_t i = 0; i < gp->n_input && !bad; i++) bad = claim(&t, gp, gp->input[i]->name, W_INPUT, i);
    for (size_t i = 0; i < gp->n_node && !bad; i++)
        for (size_t k = 0; k < gp->node[i]->n_output && !bad; k++)
            if (*gp->node[i]->output[k]) bad = claim(&t, gp, gp->node[i]->output[k], W_NODE, i);
    if (!bad && gp->n_output == 0) {
        diag_error(onnx_nowhere(), "invalid model: the graph declares no output (a graph needs at least one)");
        bad = -1;
    }
    for (size_t i = 0; i < gp->n_output && !bad; i++)
        if (!lookup(&t, gp->output[i]->name)->name) {
            diag_error(onnx_nowhere(), "invalid model: graph output '%s' is not computed by any node (nor is it a "
                       "graph input or initializer)", gp->output[i]->name);
            bad = -1;
        }
    size_t *pos = NULL;
    if (!bad && (im->order = import_order(gp, &t))) {
        pos = malloc((gp->n_node + 1) * sizeof *pos);
        if (!pos) abort();
        for (size_t i = 0; i < gp->n_node; i++) pos[im->order[i]] = i;
    }
    Scope top = { t, 0, NULL, pos };
    for (size_t i = 0; i < gp->n_node && !bad; i++) {
        top.at = i;
        bad = check_subgraphs(gp->node[i], &top);
    }
    free(pos);
    free(t.slot);
    return bad;
}

int onnx_validate(Importer *im, const Onnx__ModelProto *m) {
    const Onnx__GraphProto *gp = m->graph;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        if ((!o->domain || !*o->domain || !strcmp(o->domain, "ai.onnx")) && o->has_version &&
            (o->version < ONNX_OPSET_MIN || o->version > ONNX_OPSET_MAX)) {
            diag_error(onnx_nowhere(), "unsupported: the model imports opset %lld of the default ONNX domain; nnc "
                       "implements opsets %d to %d", (long long)o->version, ONNX_OPSET_MIN, ONNX_OPSET_MAX);
            im->unsupported++;
            return -1;
        }
    }
    if (gp->n_node > ONNX_MAX_NODES) {
        diag_error(onnx_nowhere(), "unsupported: the graph has %zu nodes; nnc imports at most %d", gp->n_node,
                   ONNX_MAX_NODES);
        im->unsupported++;
        return -1;
    }
    return check_present(gp) ? -1 : check_names(im, gp);
}
