/* rules.h — what the op family files (ops/<family>.c) share and nothing else
 * includes: the helpers their shape and gradient rules use (ops/rules.c),
 * the emitter's printing helpers (emit_expr.c, through ir.h) and the
 * initializer shorthands for the table's internal and N-d rows. */
#ifndef NNC_OPS_RULES_H
#define NNC_OPS_RULES_H

#include <assert.h>
#include <math.h>
#include <stddef.h>
#include <string.h>
#include "ir.h"
#include "nnc_rt.h"

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* an N-d op (built by the importer with its shape); the rest: its FLOPs,
 * gradient rule and compile-time evaluation, if any */
#define ND(nin, em, ...) { .rt = RT_TENSOR | RT_GEMM, .ninputs = nin, .shape = op_no_shape, \
                               .emit = em, __VA_ARGS__ }
/* a node only passes create, its outputs made by them */
#define INTERNAL(rtm, nin, shp, em) { .rt = rtm, .ninputs = nin, .shape = shp, .emit = em }

Value *op_in(Graph *g, int node, int i);   /* the node's input i */
/* create out[0] if missing, then give it this shape */
int  op_make_out(Graph *g, int node, int batched, int rank, const int *shape);
/* create out[index] (scratch, saved statistics, a mask) once; its value */
int  op_extra_out(Graph *g, int node, int index, const char *suffix, int batched, int rank, const int *dims);
int  op_same_shape(Graph *g, int node);    /* out[0] shaped like in[0] */
/* append a backward node `op` reading in[], computing a value shaped like `like` */
int  op_bwd(Graph *g, int op, const int *in, int nin, const Node *from, int like);
/* d(pre-activation) of a layer with a fused activation (n->attr.act) from dy = d(out[0]) */
int  op_epilogue_grad(Graph *g, const Node *n, int dy);
long op_last_dim(const Value *v);
int  op_shapes_equal(const Value *a, const Value *b);
/* 0 when input 0 is batched with this per-sample rank; else an error naming the layout */
int  op_want_rank(Graph *g, int node, int rank, const char *layout, const char *hint);
/* a parameter of the node's layer, appended to its inputs */
int  op_new_param(Graph *g, int node, const char *suffix, int rank, const int *dims,
                  int init, int fan_in, int fan_out, float l1, float l2);
/* one spatial axis under Keras' padding rules: -1 when a valid window does not fit */
int  op_window(int in, int k, int stride, int dilation, int padding, int *out, int *before);
int  op_no_shape(Graph *g, int node);

#endif
