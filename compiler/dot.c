/* dot.c — the graph for Graphviz (--dot, --dot-train): one box per live
 * node of the optimised IR, one edge per value it reads, labelled with the
 * value's shape; the values nothing in the graph computes (inputs, labels,
 * parameters, constants) are ellipses and notes of their own.
 *
 * --dot draws what inference runs (the forward phase); --dot-train the
 * whole training step, each phase in its colour: forward blue, the loss
 * yellow, backward red, the optimizer's update green.  Names are escaped
 * (an ONNX name may hold any byte), so the file always parses. */
#include <stdlib.h>
#include <string.h>
#include "ir.h"

static const char *const phase_name[] = { "forward", "loss", "backward", "update" };
static const char *const phase_color[] = { "#cfe2f3", "#fff2cc", "#f4cccc", "#d9ead3" };

/* a name or label inside "..." : quotes and backslashes escaped, control
 * bytes shown as '?', bytes of UTF-8 kept */
static void dot_str(FILE *out, const char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
        else if (c < 32 || c == 127) fputc('?', out);
        else fputc(c, out);
    }
}

static void value_label(FILE *out, const Value *v) {
    char buf[160];
    dot_str(out, v->name);
    fputs("\\n", out);
    dot_str(out, ir_shape_str(v, buf, sizeof buf));
}

void dot_print(const Graph *g, int training, FILE *out) {
    training = training && g->train.present;
    fputs("digraph nnc {\n  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n"
          "  edge [fontname=\"Helvetica\", fontsize=8];\n  label=\"", out);
    dot_str(out, g->name);
    fprintf(out, training ? " (training step)\";\n" : " (inference)\";\n");
    /* the values a live node reads that no live node writes */
    char *source = calloc((size_t)g->nvalues + 1, 1);
    if (!source) abort();
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        if (!ir_in_schedule(n, training)) continue;
        for (int j = 0; j < n->nin; j++) {
            int v = n->in[j], p = g->values[v].producer;
            if (p < 0 || !ir_in_schedule(&g->nodes[p], training)) source[v] = 1;
        }
    }
    for (int v = 0; v < g->nvalues; v++) {
        if (!source[v]) continue;
        const Value *x = &g->values[v];
        const char *shape = x->role == ROLE_PARAM ? (x->constant ? "note" : "box3d") : "ellipse";
        fprintf(out, "  v%d [shape=%s, label=\"", v, shape);
        value_label(out, x);
        fputs("\"];\n", out);
    }
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        if (!ir_in_schedule(n, training)) continue;
        fprintf(out, "  n%d [shape=box, style=\"rounded,filled\", fillcolor=\"%s\", label=\"", i,
                phase_color[n->phase]);
        dot_str(out, op_name(n->op));
        if (op_table[n->op]->epilogue && n->attr.act && act_name(n->attr.act)) {
            fputs(" + ", out);
            dot_str(out, act_name(n->attr.act));
        }
        if (n->layer[0] && strcmp(n->layer, op_name(n->op))) {
            fputs("\\n", out);
            dot_str(out, n->layer);
        }
        fputs("\"];\n", out);
        for (int j = 0; j < n->nin; j++) {
            int v = n->in[j], p = g->values[v].producer;
            if (source[v]) fprintf(out, "  v%d -> n%d;\n", v, i);
            else {
                fprintf(out, "  n%d -> n%d [label=\"", p, i);
                value_label(out, &g->values[v]);
                fputs("\"];\n", out);
            }
        }
    }
    /* an update that reads the flat gradient block (no inputs of its own):
     * from each parameter gradient's producer, dashed */
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        if (!ir_in_schedule(n, training) || n->phase != PH_UPDATE || n->nin) continue;
        for (int v = 0; v < g->nvalues; v++) {
            int p = g->values[v].producer;
            if (g->values[v].role != ROLE_PARAM_GRAD || p < 0 || !ir_in_schedule(&g->nodes[p], training)) continue;
            fprintf(out, "  n%d -> n%d [style=dashed, label=\"", p, i);
            dot_str(out, g->values[v].name);
            fputs("\"];\n", out);
        }
    }
    /* the model's outputs (and the loss while training) as sinks */
    for (int k = 0; k < g->noutputs + (training && g->loss >= 0); k++) {
        int v = k < g->noutputs ? g->outputs[k] : g->loss, p = g->values[v].producer;
        if (p < 0 || !ir_in_schedule(&g->nodes[p], training)) continue;
        fprintf(out, "  out%d [shape=doublecircle, label=\"", k);
        value_label(out, &g->values[v]);
        fprintf(out, "\"];\n  n%d -> out%d;\n", p, k);
    }
    if (training) {
        fputs("  subgraph cluster_legend {\n    label=\"phases\";\n", out);
        for (int p = 0; p < 4; p++)
            fprintf(out, "    legend_%s [shape=box, style=\"rounded,filled\", fillcolor=\"%s\", label=\"%s\"];\n",
                    phase_name[p], phase_color[p], phase_name[p]);
        fputs("  }\n", out);
    }
    fputs("}\n", out);
    free(source);
}
