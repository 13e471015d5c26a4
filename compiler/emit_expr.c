/* emit_expr.c — the C expressions an op's emit hook prints: where a value
 * lives (m->arena + 128), its rows and counts at the run-time batch n,
 * float literals that survive a round trip, the runtime's descriptors as
 * compound literals.  The op files (ops/<family>.c) call these; emit_c.c builds
 * the EmitCtx and walks the table, so the calls run one way.
 *
 * Each string is returned in one of the context's 16 buffers, reused round
 * robin: enough for every argument of one emit_line. */
#include <stdarg.h>
#include <string.h>
#include "ir.h"

static char *buf(EmitCtx *e) { return e->bufs[e->next++ % 16]; }

void emit_line(EmitCtx *e, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("    ", e->out);
    vfprintf(e->out, fmt, ap);
    fputc('\n', e->out);
    va_end(ap);
}

const Graph *emit_graph(EmitCtx *e) { return e->g; }

const char *emit_ptr(EmitCtx *e, int value) {
    const Graph *g = e->g;
    int s = ir_storage(g, value);
    const Value *v = &g->values[s];
    char *b = buf(e);
    switch (v->role) {
    case ROLE_INPUT: snprintf(b, 192, "x"); break;
    case ROLE_LABEL: snprintf(b, 192, "y"); break;
    case ROLE_PARAM: snprintf(b, 192, "%s + %ld", v->constant ? "baked_" : "m->params", v->offset); break;
    case ROLE_PARAM_GRAD: snprintf(b, 192, "m->grads + %ld", v->offset); break;
    default: snprintf(b, 192, "m->arena + %ld", e->off[s]); break;
    }
    return b;
}

const char *emit_rows(EmitCtx *e, int value) {
    const Value *v = &e->g->values[value];
    long cols = emit_cols(e->g, value), outer = ir_size(v) / (cols ? cols : 1);   /* an empty tensor: 0 rows */
    char *b = buf(e);
    if (!v->batched) snprintf(b, 192, "%ld", outer);
    else if (outer == 1) snprintf(b, 192, "n");
    else snprintf(b, 192, "n * %ld", outer);
    return b;
}

long emit_cols(const Graph *g, int value) {
    const Value *v = &g->values[value];
    return v->rank ? v->dims[v->rank - 1] : 1;
}

const char *emit_count(EmitCtx *e, int value) {
    const Value *v = &e->g->values[value];
    char *b = buf(e);
    if (v->batched) snprintf(b, 192, "(long)n * %ld", ir_size(v));
    else snprintf(b, 192, "%ldL", ir_size(v));
    return b;
}

int emit_training(EmitCtx *e) { return e->training; }

const char *emit_times_n(EmitCtx *e, int batched, long v) {
    char *b = buf(e);
    if (!batched) snprintf(b, 192, "%ld", v);
    else if (v == 1) snprintf(b, 192, "n");
    else snprintf(b, 192, "n * %ld", v);
    return b;
}

const char *emit_conv(EmitCtx *e, const nnc_rt_conv2d *c) {
    char *b = buf(e);
    snprintf(b, 192, "&(const nnc_rt_conv2d){ %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d }",
             c->h, c->w, c->c, c->oh, c->ow, c->oc, c->kh, c->kw, c->sh, c->sw, c->dh, c->dw,
             c->pt, c->pl, c->groups);
    return b;
}

const char *emit_pool(EmitCtx *e, const nnc_rt_pool2d *p) {
    char *b = buf(e);
    snprintf(b, 192, "&(const nnc_rt_pool2d){ %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d }",
             p->h, p->w, p->c, p->oh, p->ow, p->kh, p->kw, p->sh, p->sw, p->pt, p->pl);
    return b;
}

const char *emit_rnn(EmitCtx *e, const Node *n) {
    const nnc_rt_rnn *p = &n->attr.rnn;
    char *b = buf(e), steps[32];
    if (n->attr.dyn_steps) snprintf(steps, sizeof steps, "m->steps");   /* --shape NAME<=N */
    else snprintf(steps, sizeof steps, "%d", p->steps);
    snprintf(b, 192, "&(const nnc_rt_rnn){ %s, %d, %d, %d, %d, %d, %d }", steps, p->features,
             p->units, p->cell, p->act, p->return_sequences, p->reverse);
    return b;
}

const char *emit_string(EmitCtx *e, const char *s) {
    char *b = buf(e);
    int len = 0;
    b[len++] = '"';
    for (; *s && len < 180; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') len += snprintf(b + len, 192 - len, "\\%c", c);
        else if (c < 32 || c > 126 || c == '?') len += snprintf(b + len, 192 - len, "\\%03o", c);   /* '?': no trigraphs */
        else b[len++] = (char)c;
    }
    b[len++] = '"';
    b[len] = 0;
    return b;
}

const char *emit_float(EmitCtx *e, float v) {
    char *b = buf(e);
    if (v != v) return "NAN";
    if (v - v != 0) return v > 0 ? "HUGE_VALF" : "-HUGE_VALF";   /* infinities */
    snprintf(b, 192, "%.9g", v);
    if (!strpbrk(b, ".en")) strcat(b, ".0");
    strcat(b, "f");
    return b;
}

const char *emit_nd(EmitCtx *e, const Node *n, const nnc_rt_nd *p) {
    static char b[8][2048];
    static int k;
    char *s = b[k++ % 8];
    int len = snprintf(s, 2048, "&(const nnc_rt_nd){ %d, {", p->rank);
    const long *rows[4] = { p->dims, p->ys, p->as, p->bs };
    for (int r = 0; r < 4; r++) {
        if (r) len += snprintf(s + len, 2048 - len, "}, {");
        for (int d = 0; d < (p->rank ? p->rank : 1); d++)
            if (p->rank && !r && !d && n->attr.batched && rows[r][d] == 1)
                len += snprintf(s + len, 2048 - len, "n");
            else
                len += snprintf(s + len, 2048 - len, "%s%ld", d ? ", " : "", p->rank ? rows[r][d] : 0L);
    }
    snprintf(s + len, 2048 - len, "}, %ld, %ld, %ld }", p->yoff, p->aoff, p->boff);
    (void)e;
    return s;
}

const char *emit_per_n(EmitCtx *e, const Node *n, long v) { return emit_times_n(e, n->attr.batched, v); }

