/* onnx_model.h — the ModelProto around a test's hand-built graph (opset
 * `version` of the default domain, IR version 8, graph named "g"), for the
 * C tests that write ONNX files with protobuf-c. */
#ifndef NNC_TEST_ONNX_MODEL_H
#define NNC_TEST_ONNX_MODEL_H

#include "onnx.pb-c.h"

static inline void test_onnx_model(Onnx__ModelProto *m, Onnx__GraphProto *g, Onnx__OperatorSetIdProto *opset,
                                   Onnx__OperatorSetIdProto **opsets, int version) {
    Onnx__ModelProto m0 = ONNX__MODEL_PROTO__INIT;
    Onnx__GraphProto g0 = ONNX__GRAPH_PROTO__INIT;
    Onnx__OperatorSetIdProto o0 = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    *m = m0; *g = g0; *opset = o0;
    opset->domain = "";
    opset->has_version = 1;
    opset->version = version;
    opsets[0] = opset;
    m->has_ir_version = 1;
    m->ir_version = 8;
    m->n_opset_import = 1;
    m->opset_import = opsets;
    m->graph = g;
    g->name = "g";
}

#endif
