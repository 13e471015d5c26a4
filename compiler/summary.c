/* summary.c — `nnc --summary`: a Keras-style table of the layers with
 * output shapes, parameter counts and FLOPs, then the memory the generated
 * code will need (parameters, gradients, optimizer state, arena). */
#include <string.h>
#include "ir.h"

void summary_print(const Graph *g, const Plan *p, FILE *out_file) {
    FILE *out = out_file;
    char shape[96], label[128];
    long total_flops = 0;
    fprintf(out, "Model: \"%s\"\n", g->name);
    fprintf(out, "%-34s %-18s %12s %14s\n", "Layer (type)", "Output Shape", "Param #", "FLOPs/sample");
    for (int i = 0; i < 81; i++) fputc('-', out);
    fputc('\n', out);
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead || n->phase != PH_FORWARD || !n->layer[0]) continue;
        long params = 0, flops = op_table[n->op].flops ? op_table[n->op].flops(g, n) : 0;
        for (int j = 0; j < n->nin; j++)
            if (g->values[n->in[j]].role == ROLE_PARAM) params += ir_size(&g->values[n->in[j]]);
        const char *act = n->attr.act ? act_name(n->attr.act) : NULL;
        int out = n->out[0];
        /* an unfused activation argument (-O0, or kept for the loss) is shown in its layer's row */
        for (int k = i + 1; k < g->nnodes; k++) {
            const Node *a = &g->nodes[k];
            if (a->dead || a->phase != PH_FORWARD) continue;
            if (!a->layer[0] && a->in[0] == out) {
                act = op_table[a->op].name;
                flops += op_table[a->op].flops ? op_table[a->op].flops(g, a) : 0;
                out = a->out[0];
            }
            break;
        }
        snprintf(label, sizeof label, "%s (%s%s%s)", n->layer, op_table[n->op].name,
                 act ? ", " : "", act ? act : "");
        fprintf(out_file, "%-34s %-18s %12ld %14ld\n", label,
                ir_shape_str(&g->values[out], shape, sizeof shape), params, flops);
        total_flops += flops;
    }
    for (int i = 0; i < 81; i++) fputc('=', out);
    fputc('\n', out);
    fprintf(out, "Total params: %ld (%.2f KB)\n", p->param_floats, p->param_floats * 4 / 1024.0);
    fprintf(out, "FLOPs per sample (forward): %ld\n", total_flops);
    if (g->train.present) {
        fprintf(out, "Trainable: %ld; gradients: %ld bytes; optimizer state (%s): %ld bytes\n",
                p->trainable_floats, p->trainable_floats * 4, opt_names[g->train.opt],
                p->opt_slots * p->trainable_floats * 4);
        fprintf(out, "Arena: %ld bytes (training step %ld, inference %ld) at batch %d; "
                     "%ld bytes if every buffer had its own\n",
                p->arena_floats * 4, p->train_arena * 4, p->infer_arena * 4, g->train.batch,
                p->buffers_sum * 4);
    } else {
        fprintf(out, "Arena: %ld bytes (inference) at batch %d\n", p->infer_arena * 4, g->train.batch);
    }
}
