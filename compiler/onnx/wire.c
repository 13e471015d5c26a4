/* wire.c — a look at a model file's protobuf bytes before protobuf-c
 * unpacks them: how deeply its messages nest, and how many nodes its
 * graphs hold.
 *
 * Why: protobuf-c unpacks nested messages by recursion, so a file of a few
 * kilobytes (3,000 If nodes, each holding the next in its then_branch)
 * overflows nnc's stack before any check of ours could run; and a million
 * nodes cost memory before validate.c could count them.  This walk is
 * iterative (an explicit stack of ONNX_MAX_DEPTH frames) and descends only
 * into the fields through which ONNX's messages can recurse (graph -> node
 * -> attribute -> graph, type -> sequence/map/optional -> type, functions,
 * training info); the other messages (tensors, shapes, ...) are leaves of
 * bounded depth, which unpacking handles.  Bytes that are not well-formed
 * protobuf are left to protobuf-c to reject.
 */
#include <stdint.h>
#include <string.h>

#include "onnx/onnx.h"

enum { M_MODEL, M_GRAPH, M_NODE, M_ATTR, M_VALUE, M_TYPE, M_SEQ, M_MAP, M_OPT, M_FUNC, M_TRAIN };

/* the message fields ONNX can recurse through: parent, field number, child */
static const struct { unsigned char parent, field, child; } edges[] = {
    { M_MODEL, 7, M_GRAPH }, { M_MODEL, 20, M_TRAIN }, { M_MODEL, 25, M_FUNC },
    { M_TRAIN, 1, M_GRAPH }, { M_TRAIN, 2, M_GRAPH },
    { M_GRAPH, 1, M_NODE }, { M_GRAPH, 11, M_VALUE }, { M_GRAPH, 12, M_VALUE }, { M_GRAPH, 13, M_VALUE },
    { M_FUNC, 7, M_NODE }, { M_NODE, 5, M_ATTR },
    { M_ATTR, 6, M_GRAPH }, { M_ATTR, 11, M_GRAPH }, { M_ATTR, 14, M_TYPE }, { M_ATTR, 15, M_TYPE },
    { M_VALUE, 2, M_TYPE }, { M_TYPE, 4, M_SEQ }, { M_TYPE, 5, M_MAP }, { M_TYPE, 9, M_OPT },
    { M_SEQ, 1, M_TYPE }, { M_MAP, 2, M_TYPE }, { M_OPT, 1, M_TYPE },
};

/* a varint at *p (before end); 0 when it runs past the end or past 64 bits */
static int varint(const unsigned char **p, const unsigned char *end, uint64_t *v) {
    *v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        unsigned char b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return 1;
    }
    return 0;
}

static int child_of(int parent, uint64_t field) {
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        if (edges[i].parent == parent && edges[i].field == field) return edges[i].child;
    return -1;
}

int onnx_wire_check(const unsigned char *buf, size_t len, const char *path) {
    struct { int type; const unsigned char *end; } stack[ONNX_MAX_DEPTH + 1];
    int depth = 0;
    long nodes = 0;
    const unsigned char *p = buf;
    stack[0].type = M_MODEL;
    stack[0].end = buf + len;
    while (depth >= 0) {
        if (p >= stack[depth].end) {    /* this message is done */
            p = stack[depth--].end;
            continue;
        }
        uint64_t tag, v;
        if (!varint(&p, stack[depth].end, &tag)) return 0;
        switch (tag & 7) {
        case 0: if (!varint(&p, stack[depth].end, &v)) return 0; break;
        case 1: p += 8; break;
        case 5: p += 4; break;
        case 2: {
            if (!varint(&p, stack[depth].end, &v) || v > (uint64_t)(stack[depth].end - p)) return 0;
            int child = child_of(stack[depth].type, tag >> 3);
            if (child < 0) { p += v; break; }
            if (child == M_NODE && ++nodes > ONNX_MAX_NODES) {
                diag_error(onnx_nowhere(), "refusing %s: more than %d nodes (nnc's limit for a model)", path,
                           ONNX_MAX_NODES);
                return -1;
            }
            if (depth == ONNX_MAX_DEPTH) {
                diag_error(onnx_nowhere(), "refusing %s: its messages nest more than %d deep (subgraphs within "
                           "subgraphs, or types within types); nnc's limit is %d", path, ONNX_MAX_DEPTH, ONNX_MAX_DEPTH);
                return -1;
            }
            depth++;
            stack[depth].type = child;
            stack[depth].end = p + v;
            break;
        }
        default: return 0;     /* groups (deprecated) or garbage: protobuf-c's to judge */
        }
        if (p > stack[depth].end) return 0;
    }
    return 0;
}
