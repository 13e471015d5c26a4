/* import.c — the ONNX front end's entry point: a ModelProto (protobuf-c code
 * generated at build time from Debian's onnx.proto) -> the same IR the .nn
 * front end builds, for inference.
 *
 * Decisions:
 *  - The graph-level rules (validate.c) are checked first; then the graph
 *    is imported in the file's order: initializers, --bind
 *    inputs, graph inputs, then each node (map.c), then the outputs, which
 *    must each be computed by a node of their own.
 *  - Fine-tuning (--train): a BatchNormalization becomes the .nn batch_norm
 *    layer, whose running statistics are state (map_nn.c), and
 *    passes/batch.c then makes axis 0 of the inputs nnc's run-time batch.
 *  - What nnc cannot compile is collected, all of it, and reported at once
 *    with node names and the opset; nnc then exits with status 3.  An
 *    invalid model stops the import at its first error (exit 1).
 */
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx.h"

/* the importer's state for model m read from path: its folder (external
 * data is relative to it), the default domain's opset, an empty graph */
static void importer_open(Importer *im, const Onnx__ModelProto *m, const char *path, const char *model_name,
                          int trainable, OnnxShapes *shapes) {
    memset(im, 0, sizeof *im);
    im->opset = 1;
    im->trainable = trainable;
    im->shapes = shapes;
    snprintf(im->dir, sizeof im->dir, "%s", path);
    char *slash = strrchr(im->dir, '/');
    if (slash) *slash = 0;
    else snprintf(im->dir, sizeof im->dir, ".");
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        if ((!o->domain || !*o->domain || !strcmp(o->domain, "ai.onnx")) && o->has_version) im->opset = (int)o->version;
    }
    im->g = ir_new(model_name);
}

void onnx_add_initializers(Importer *im, const Onnx__GraphProto *gp) {
    for (size_t i = 0; i < gp->n_initializer; i++) {
        long count, dims[MAX_T];
        const Onnx__TensorProto *tp = gp->initializer[i];
        if (tp->n_dims > MAX_T) {
            diag_error(onnx_nowhere(), "unsupported: initializer '%s' has rank %zu; nnc's limit is %d", tp->name,
                       tp->n_dims, MAX_T);
            im->unsupported++;
            onnx_add_tensor(im, tp->name, 0, NULL)->failed = 1;    /* its readers are skipped quietly */
            continue;
        }
        float *d = onnx_tensor_data(im, tp, &count);
        if (!d) { onnx_add_tensor(im, tp->name, 0, NULL)->failed = 1; continue; }
        for (size_t k = 0; k < tp->n_dims; k++) dims[k] = (long)tp->dims[k];
        int type = tp->data_type;
        Tensor *t = onnx_add_constant(im, tp->name, (int)tp->n_dims, dims, d);
        t->dtype = type;
        t->param = type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ||
                   type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16 || type == ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16;
    }
}

/* the graph inputs no initializer or --bind defines: IR inputs, packed in
 * the file's order */
static void add_inputs(Importer *im, const Onnx__GraphProto *gp, OnnxShapes *shapes) {
    Graph *g = im->g;
    long col = 0;
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        if (onnx_find(im, vi->name)) continue;     /* an initializer (a default input) */
        int rank;
        long dims[MAX_T];
        if (onnx_input_shape(im, vi, &rank, dims, shapes, g->ninputs == 0)) {
            onnx_add_tensor(im, vi->name, 0, NULL)->failed = 1;   /* its readers are skipped quietly */
            continue;
        }
        if (g->ninputs == IR_MAX_GRAPH_IO) {
            if (!im->unsupported++) diag_error(onnx_nowhere(), "unsupported: more than %d graph inputs", IR_MAX_GRAPH_IO);
            else im->unsupported--;
            onnx_add_tensor(im, vi->name, 0, NULL)->failed = 1;
            continue;
        }
        int di[MAX_T];
        for (int d = 0; d < rank; d++) di[d] = (int)dims[d];
        char name[IR_NAME];
        ir_format_name(name, "%s", vi->name);
        int v = ir_value(g, name, ROLE_INPUT, 0, rank, di);
        g->values[v].pack_offset = col;
        col += ir_size(&g->values[v]);
        if (g->input < 0) g->input = v;
        g->inputs[g->ninputs++] = v;
        Tensor *t = onnx_add_tensor(im, vi->name, rank, dims);
        t->value = v;
        t->dtype = vi->type->tensor_type->elem_type;     /* checked by onnx_input_shape */
        if (t->dtype != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) g->values[v].elem_note = onnx_dtype_name(t->dtype);
    }
    for (int i = 0; shapes && i < shapes->nspecs; i++)
        if (!(shapes->used >> i & 1))
            diag_error(onnx_nowhere(), "--shape %s: no graph input and no named dimension (dim_param) of one is called "
                       "'%.*s'", shapes->specs[i], (int)strcspn(shapes->specs[i], "<="), shapes->specs[i]);
}

/* outputs: each must be computed by a node of its own (a copy otherwise),
 * packed in the file's order */
static void add_outputs(Importer *im, const Onnx__GraphProto *gp) {
    Graph *g = im->g;
    for (size_t i = 0; i < gp->n_output && diag_error_count() == im->unsupported; i++) {
        Tensor *t = onnx_find(im, gp->output[i]->name);
        if (!t) { diag_error(onnx_nowhere(), "graph output '%s' is not computed by any node", gp->output[i]->name); break; }
        if (t->failed) continue;
        int v = t->value;
        if (v < 0 || g->values[ir_storage(g, v)].role != ROLE_ACT || ir_is_output(g, v)) {
            Attrs a;
            memset(&a, 0, sizeof a);
            a.fn = NNC_RT_UN_IDENTITY;
            char name[160];
            ir_format_name(name, "%s/out", t->name);
            v = onnx_node_out(im, OP_ND_UNARY, &t, 1, &a, name, t->rank, t->dims)->value;
        }
        if (g->noutputs == IR_MAX_GRAPH_IO) {
            diag_error(onnx_nowhere(), "unsupported: more than %d graph outputs", IR_MAX_GRAPH_IO);
            im->unsupported++;
            break;
        }
        g->outputs[g->noutputs++] = v;
        const Onnx__TypeProto *ty = gp->output[i]->type;    /* the type the file declares for it */
        int et = ty && ty->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && ty->tensor_type ?
                 ty->tensor_type->elem_type : t->dtype;
        if (et && et != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) g->values[v].elem_note = onnx_dtype_name(et);
    }
    if (g->ninputs > 1)
        for (int i = 0; i < g->ninputs; i++) g->values[g->inputs[i]].role = ROLE_ACT;
    long col = 0;
    for (int i = 0; i < g->noutputs; i++) {
        g->values[g->outputs[i]].pack_offset = col;
        col += ir_size(&g->values[g->outputs[i]]);
    }
    if (g->noutputs) g->output = g->outputs[0];
    g->train.batch = 1;
}

Graph *onnx_import(const char *path, const char *model_name, int trainable, const char *const *binds, int nbinds,
                   OnnxShapes *shapes, int *unsupported_count) {
    *unsupported_count = 0;
    Onnx__ModelProto *m = onnx_load_model(path);
    if (!m) return NULL;
    Importer im;
    importer_open(&im, m, path, model_name, trainable, shapes);
    Graph *g = im.g;
    const Onnx__GraphProto *gp = m->graph;
    if (onnx_validate(&im, m)) {
        *unsupported_count = im.unsupported;
        free(im.order);
        onnx__model_proto__free_unpacked(m, NULL);
        ir_free(g);
        return NULL;
    }
    onnx_add_initializers(&im, gp);
    for (int i = 0; i < nbinds; i++) onnx_bind_input(&im, binds[i]);
    add_inputs(&im, gp, shapes);
    onnx_qdq_open(&im, gp);
    for (size_t i = 0; i < gp->n_node && !(diag_error_count() > im.unsupported); i++)
        onnx_import_node(&im, gp->node[im.order ? im.order[i] : i]);
    im.node = NULL;
    free(im.order);
    add_outputs(&im, gp);
    onnx_qdq_close(&im);
    for (int i = 0; i < im.nt; i++) { free(im.t[i]->name); free(im.t[i]->data); free(im.t[i]); }
    for (int i = 0; i < im.ndead; i++) { free(im.dead[i]->name); free(im.dead[i]->data); free(im.dead[i]); }
    free(im.t);
    free(im.dead);
    onnx__model_proto__free_unpacked(m, NULL);
    *unsupported_count = im.unsupported;
    if (diag_error_count()) {
        ir_free(g);
        return NULL;
    }
    return g;
}
