/* deploy.c — the command-line options that shape a build for a device:
 * --weights (bake trained parameters into const arrays, so they sit in
 * flash), --freeze (layers whose parameters are not trained), --inference
 * (predict only).  Each works on the lowered graph before the passes run.
 *
 * Decision: a weights file is a buffer written by the model's own save()
 * (magic, version, fingerprint, CRC), so nnc checks it exactly as the
 * generated load() would, with the same runtime function, and maps it by
 * the host build's layout (trainable parameters first), which it computes
 * before freezing changes the order.  Baked parameters that never change on
 * the device (all of them in an inference build; the frozen ones in a
 * training build) become constants; the ones that train, and batch norm's
 * moving statistics while training, stay in RAM and start from the file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "ir.h"

static Loc nowhere(void) { return (Loc){ 0, 0, 0, 0 }; }

int deploy_bake(Graph *g, const char *path) {
    long len;
    unsigned char *buf = (unsigned char *)file_read(path, &len);
    if (!buf) {
        diag_error(nowhere(), "cannot read weights file %s: %s", path, strerror(errno));
        return -1;
    }
    long count = plan_params(g, NULL, NULL);   /* the layout save() wrote */
    g->baked = malloc((size_t)(count ? count : 1) * sizeof *g->baked);
    if (!g->baked) abort();
    int rc = nnc_rt_params_load(g->baked, count, ir_fingerprint(g, 0), buf, (size_t)len);
    free(buf);
    if (rc == NNC_RT_ERR_OTHER_MODEL) {
        diag_error(nowhere(), "weights file %s holds the parameters of another model "
                   "(its layout fingerprint is not model '%s''s)", path, g->name);
        return -1;
    }
    if (rc) {
        diag_error(nowhere(), "weights file %s is not a parameter buffer written by a model's save(), "
                   "or it is damaged (format or checksum)", path);
        return -1;
    }
    for (long i = 0; i < count; i++)
        if (!(g->baked[i] - g->baked[i] == 0)) {
            diag_error(nowhere(), "weights file %s holds a NaN or infinite parameter (float %ld); "
                       "the training that wrote it diverged", path, i);
            return -1;
        }
    for (int v = 0; v < g->nvalues; v++) {     /* a variance below 0 would fold into NaN */
        const Value *x = &g->values[v];
        size_t n = strlen(x->name), k = strlen(".moving_variance");
        if (x->role != ROLE_PARAM || n < k || strcmp(x->name + n - k, ".moving_variance")) continue;
        for (long i = 0; i < ir_size(x); i++)
            if (g->baked[x->offset + i] < 0) {
                diag_error(nowhere(), "weights file %s holds a negative moving variance in '%s' (channel %ld); "
                           "no training writes one", path, x->name, i);
                return -1;
            }
    }
    for (int v = 0; v < g->nvalues; v++)
        if (g->values[v].role == ROLE_PARAM) g->values[v].baked_at = g->values[v].offset;
    return 0;
}

int deploy_freeze(Graph *g, const char *layers) {
    char names[1024];
    snprintf(names, sizeof names, "%s", layers);
    int status = 0;
    for (char *save = NULL, *name = strtok_r(names, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        size_t len = strlen(name);
        int found = 0;
        for (int v = 0; v < g->nvalues; v++) {
            Value *x = &g->values[v];
            if (x->role == ROLE_PARAM && !strncmp(x->name, name, len) && x->name[len] == '.') {
                x->trainable = 0;
                found = 1;
            }
        }
        if (found) continue;
        const char *known[64];
        int n = 0;
        for (int i = 0; i < g->nnodes && n < 64; i++)
            for (int j = 0; j < g->nodes[i].nin; j++)
                if (g->values[g->nodes[i].in[j]].role == ROLE_PARAM && g->nodes[i].layer[0]) {
                    known[n++] = g->nodes[i].layer;
                    break;
                }
        diag_error(nowhere(), "--freeze: model '%s' has no layer '%s' with parameters%s", g->name, name,
                   diag_did_you_mean(name, known, n));
        status = -1;
    }
    return status;
}

void deploy_inference_only(Graph *g) {
    for (int i = 0; i < g->nnodes; i++)
        if (g->nodes[i].phase != PH_FORWARD) g->nodes[i].dead = 1;
    g->train.present = 0;
    g->label = g->loss = -1;
}

void deploy_mark_constants(Graph *g) {
    if (!g->baked) return;
    for (int v = 0; v < g->nvalues; v++) {
        Value *x = &g->values[v];
        if (x->role == ROLE_PARAM)
            x->constant = !g->train.present || (!x->trainable && !x->state);
    }
}
