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
 *
 * --weights-from MODEL: the buffer is another model's save() — MODEL, a
 * model of the same .nn file, say the autoencoder whose encoder this build
 * is.  nnc lowers MODEL to learn the buffer's layout (its parameters, in
 * the order its save() writes them, and the fingerprint its load() checks),
 * checks the buffer against it, and takes each parameter of this model
 * from it by name ("h.kernel" is the layer h's kernel in both).  A
 * parameter MODEL does not have, or has with another shape, is an error
 * naming it: never a silent mismatch.  Without --weights the generated
 * NAME_load_from() does the same at run time.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "ir.h"

static Loc nowhere(void) { return (Loc){ 0, 0, 0, 0 }; }

int deploy_source_param(const Graph *src, const Graph *g, int v) {
    for (int s = 0; s < src->nvalues; s++)
        if (src->values[s].role == ROLE_PARAM && !strcmp(src->values[s].name, g->values[v].name)) return s;
    return -1;
}

int deploy_weights_from(Graph *g, const struct Program *p, const char *model) {
    Graph *src = lower_program(p, model);
    if (!src) {
        diag_error(nowhere(), "--weights-from: cannot use model '%s' of this file (see above)", model);
        return -1;
    }
    plan_params(src, NULL, NULL);   /* the layout its save() writes */
    int errors = 0;
    char s1[96], s2[96];
    for (int v = 0; v < g->nvalues; v++) {
        const Value *x = &g->values[v];
        if (x->role != ROLE_PARAM) continue;
        int s = deploy_source_param(src, g, v);
        int same = s >= 0 && src->values[s].rank == x->rank;
        for (int d = 0; same && d < x->rank; d++) same = src->values[s].dims[d] == x->dims[d];
        if (s < 0)
            diag_error(x->loc, "--weights-from %s: model '%s' has no parameter '%s'; a parameter is taken by "
                       "its layer's name, so name the layer as model '%s' does", model, model, x->name, model);
        else if (!same)
            diag_error(x->loc, "--weights-from %s: parameter '%s' is %s here but %s in model '%s'", model, x->name,
                       ir_shape_str(x, s1, sizeof s1), ir_shape_str(&src->values[s], s2, sizeof s2), model);
        errors += s < 0 || !same;
    }
    if (errors) {
        ir_free(src);
        return -1;
    }
    g->weights_from = src;
    return 0;
}

int deploy_bake(Graph *g, const char *path) {
    long len;
    unsigned char *buf = (unsigned char *)file_read(path, &len);
    if (!buf) {
        diag_error(nowhere(), "cannot read weights file %s: %s", path, strerror(errno));
        return -1;
    }
    long count = plan_params(g, NULL, NULL);   /* the layout save() wrote */
    const Graph *src = g->weights_from ? g->weights_from : g;    /* the model whose save() wrote it */
    long src_count = g->weights_from ? plan_params(g->weights_from, NULL, NULL) : count;
    float *file = malloc((size_t)(src_count ? src_count : 1) * sizeof *file);
    if (!file) abort();
    int rc = nnc_rt_params_load(file, src_count, ir_fingerprint(src, 0), buf, (size_t)len);
    free(buf);
    if (rc == NNC_RT_ERR_OTHER_MODEL) {
        free(file);
        diag_error(nowhere(), "weights file %s holds the parameters of another model "
                   "(its layout fingerprint is not model '%s''s)%s", path, src->name,
                   g->weights_from ? "" : "; a buffer of another model of the file loads by name with "
                   "--weights-from MODEL");
        return -1;
    }
    if (rc) {
        free(file);
        diag_error(nowhere(), "weights file %s is not a parameter buffer written by a model's save(), "
                   "or it is damaged (format or checksum)", path);
        return -1;
    }
    g->baked = file;
    if (g->weights_from) {   /* this model's layout, each parameter by name */
        g->baked = malloc((size_t)(count ? count : 1) * sizeof *g->baked);
        if (!g->baked) abort();
        for (int v = 0; v < g->nvalues; v++) {
            const Value *x = &g->values[v];
            if (x->role != ROLE_PARAM) continue;
            const Value *from = &src->values[deploy_source_param(src, g, v)];
            memcpy(g->baked + x->offset, file + from->offset, (size_t)ir_size(x) * sizeof *file);
        }
        free(file);
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
