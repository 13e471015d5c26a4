/* summary.c — `nnc --summary`: a Keras-style table of the layers with
 * output shapes, parameter counts and FLOPs, then the memory the generated
 * code will need (parameters, gradients, optimizer state, arena). */
#include <string.h>
#include "ir.h"

/* Cortex-M4 code bytes of each runtime file (arm-none-eabi-gcc 12, -Os,
 * hard float, measured with arm-none-eabi-size), by RT_* bit; the estimate
 * counts a whole file even when the linker keeps part of it */
static const struct { unsigned bit; long bytes; } rt_code[] = {
    { RT_GEMM, 7182 },  /* gemm*.c, measured again 2026-12-07 */
    { RT_ACT, 676 }, { RT_CONV, 4868 }, { RT_POOL, 1324 }, { RT_NORM, 1924 },
    { RT_RNN, 2932 }, { RT_LOSS, 2390 }, { RT_OPTIM, 892 }, { RT_TENSOR, 158 }, { RT_RNG, 1452 },
    { RT_Q8, 2392 },    /* q8_ops.c, q8.c and q8_ref.c as of the reference products */
};
#define CODE_BASE 2900      /* the API, save/load (serial.c), and libm/libc's share */
#define CODE_PER_NODE 40    /* one emitted kernel call */
#define CODE_TRAINING 1500  /* train_epoch/evaluate and metrics.c */

/* sizeof the model's struct on a 32-bit microcontroller (4-byte long and
 * pointers, 8-byte-aligned uint64_t), from emit_c.c's own walk over its
 * members; *io: the inputs and outputs of one batch */
static long device_state_bytes(const Graph *g, const Plan *p, long *io) {
    long in = ir_packed_size(g, g->inputs, g->ninputs), out = ir_packed_size(g, g->outputs, g->noutputs);
    *io = 4L * g->train.batch * (in + out);
    return emit_state_bytes(g, p, 4, 4, 8);
}

/* the int8 ops' constants (--quantize int8): weights, int32 biases, multipliers, shifts */
static long q8_flash(const Graph *g) {
    long flash = 0;
    for (int i = 0; i < g->nnodes; i++) {
        const Q8 *q = g->nodes[i].attr.q8;
        if (ir_in_schedule(&g->nodes[i], 0) && q)
            flash += q->nw + (q->bias ? 4L * q->nch : 0) + (q->mult ? 5L * q->nch : 0);
    }
    return flash;
}

static void device_summary(const Graph *g, const Plan *p, FILE *out) {
    unsigned used = 0;
    long nodes = 0, code = CODE_BASE, io;
    for (int i = 0; i < g->nnodes; i++)
        if (ir_in_schedule(&g->nodes[i], g->train.present)) {
            used |= op_table[g->nodes[i].op]->rt;
            nodes++;
        }
    if (!g->baked) used |= RT_RNG;   /* init draws the parameters */
    for (unsigned k = 0; k < sizeof rt_code / sizeof rt_code[0]; k++)
        if (used & rt_code[k].bit) code += rt_code[k].bytes;
    code += CODE_PER_NODE * nodes + (g->train.present ? CODE_TRAINING : 0);
    long consts = (g->baked ? 4 * p->param_floats : 0) + q8_flash(g);   /* baked_[]: every parameter's value */
    long state = device_state_bytes(g, p, &io);
    fprintf(out, "Device RAM: %ld bytes: model state %ld bytes + inputs/outputs of one batch %ld bytes "
                 "(+ stack)\n", state + io, state, io);
    fprintf(out, "Device flash: about %ld bytes: code about %ld bytes (Cortex-M4, -Os) + constants %ld bytes\n",
            code + consts, code, consts);
}

void summary_print(const Graph *g, const Plan *p, FILE *out_file) {
    FILE *out = out_file;
    char shape[96], label[IR_NAME + 64];
    long total_flops = 0;
    fprintf(out, "Model: \"%s\"\n", g->name);
    fprintf(out, "%-34s %-18s %12s %14s\n", "Layer (type)", "Output Shape", "Param #", "FLOPs/sample");
    for (int i = 0; i < 81; i++) fputc('-', out);
    fputc('\n', out);
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead || n->phase != PH_FORWARD || !n->layer[0]) continue;
        long params = 0, flops = op_table[n->op]->flops ? op_table[n->op]->flops(g, n) : 0;
        for (int j = 0; j < n->nin; j++)
            if (g->values[n->in[j]].role == ROLE_PARAM) params += ir_size(&g->values[n->in[j]]);
        if (n->attr.q8 && n->attr.q8->w) params += n->attr.q8->nw + n->attr.q8->nch;   /* int8 weights, int32 biases */
        const char *act = n->attr.act ? act_name(n->attr.act) : NULL;
        int out = n->out[0];
        /* an unfused activation argument (-O0, or kept for the loss) is shown in its layer's row */
        for (int k = i + 1; k < g->nnodes; k++) {
            const Node *a = &g->nodes[k];
            if (a->dead || a->phase != PH_FORWARD) continue;
            if (!a->layer[0] && a->in[0] == out) {
                act = op_name(a->op);
                flops += op_table[a->op]->flops ? op_table[a->op]->flops(g, a) : 0;
                out = a->out[0];
            }
            break;
        }
        snprintf(label, sizeof label, "%s (%s%s%s)", n->layer, op_name(n->op),
                 act ? ", " : "", act ? act : "");
        fprintf(out_file, "%-34s %-18s %12ld %14ld\n", label,
                ir_shape_str(&g->values[out], shape, sizeof shape), params, flops);
        total_flops += flops;
    }
    for (int i = 0; i < 81; i++) fputc('=', out);
    fputc('\n', out);
    long q8_params = 0, q8_bytes = 0;     /* --quantize int8: int8 weights and int32 biases */
    for (int i = 0; i < g->nnodes; i++) {
        const Q8 *q = g->nodes[i].attr.q8;
        if (ir_in_schedule(&g->nodes[i], 0) && q && q->w) q8_params += q->nw + q->nch, q8_bytes += q->nw + 4L * q->nch;
    }
    if (q8_params)
        fprintf(out, "Total params: %ld (%.2f KB; %ld of them int8 weights and int32 biases)\n", p->param_floats + q8_params,
                (p->param_floats * 4 + q8_bytes) / 1024.0, q8_params);
    else
        fprintf(out, "Total params: %ld (%.2f KB)\n", p->param_floats, p->param_floats * 4 / 1024.0);
    fprintf(out, "FLOPs per sample (forward): %ld\n", total_flops);
    if (g->train.present) {
        fprintf(out, "Loss: %s%s%s\n", loss_spelling(g->train.loss), g->train.loss_note[0] ? "; " : "",
                g->train.loss_note);
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
    if (g->whole[0]) fprintf(out, "Runs whole: one sample is one set of the exported inputs (no batch axis: %s)\n", g->whole);
    device_summary(g, p, out);
}

/* --quantize int8 --summary: each int8 tensor's scale and zero point, the
 * int8 constants (flash), the arena (RAM) and the products' MACs */
void summary_q8(const Graph *g, const Plan *p, FILE *out) {
    long flash = q8_flash(g), macs = 0;
    char shape[96];
    fprintf(out, "\nint8 (--quantize int8; real = scale * (q - zero_point)):\n");
    fprintf(out, "%-26s %-14s %-18s %14s %6s\n", "Tensor", "Op", "Shape", "Scale", "ZP");
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        const Q8 *q = n->attr.q8;
        if (!ir_in_schedule(n, 0) || !q) continue;
        if (n->op == OP_Q8_DENSE || n->op == OP_Q8_CONV2D) macs += op_table[n->op]->flops(g, n) / 2;
        const Value *y = &g->values[n->out[0]];
        if (y->dtype != DT_I8) continue;
        fprintf(out, "%-26.26s %-14s %-18s %14.7g %6ld\n", y->name, op_name(n->op), ir_shape_str(y, shape, sizeof shape),
                (double)q->y_scale, (long)q->y_zp);
    }
    fprintf(out, "int8 RAM: arena %ld bytes (inference); flash: int8 constants %ld bytes "
                 "(weights, int32 biases, multipliers, shifts)\n", p->infer_arena * 4, flash);
    fprintf(out, "MACs per sample: %ld (int8 products)\n", macs);
    int all = 0, q8 = 0, products = 0;
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        if (!ir_in_schedule(n, 0) || n->op == OP_VIEW) continue;
        all++;
        q8 += n->attr.q8 != NULL;
        products += n->attr.q8 && (n->op == OP_Q8_DENSE || n->op == OP_Q8_CONV2D);
    }
    fprintf(out, "int8 nodes: %d of %d nodes are int8 ops (%d of them products: dense, conv2d), %d float\n", q8, all,
            products, all - q8);
}
