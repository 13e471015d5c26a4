/* ir.h — the intermediate representation and everything that works on it.
 *
 * One internal header with a section per file (chibicc style): ir.c, ops/
 * (the op table), lower.c (AST -> IR), the passes, emit_expr.c and emit_c.c.
 *
 * Decisions:
 *  - A Graph holds Values (tensors) and Nodes (ops) in growable arrays and
 *    refers to them by index, so passes can append without invalidating.
 *  - Shapes are per sample: a Value with `batched` set has a leading run-time
 *    batch extent n (<= the compiled batch) in front of dims[].  Everything
 *    else is a compile-time constant, which the emitter prints as literals.
 *  - Layout is channels-last (Keras' NHWC for .nn models): the per-sample
 *    shape is stored exactly as the user wrote it, so flatten is a no-op
 *    reshape and dense reads rows contiguously.
 *  - Training is one graph: forward nodes, the loss node, backward nodes
 *    appended by autodiff, then regulariser and optimizer-update nodes.
 *    Each node records its phase; inference is the forward slice.
 */
#ifndef NNC_IR_H
#define NNC_IR_H

#include <stdio.h>
#include "diag.h"
#include "nnc_rt.h"
#include "ops/op_list.h"

#define NNC_VERSION "0.1.0"
#define IR_MAX_RANK 8
#define IR_MAX_IO   16     /* inputs and outputs of one node (wider ONNX nodes are split) */
#define IR_MAX_GRAPH_IO 1024   /* inputs and outputs of a model, checked where they are added */
#define IR_NAME     128   /* names longer than this are stored as head~hash (ir_format_name) */
#define IR_NN_NAME  96    /* a .nn name, so that every name built from it fits whole */

typedef enum DType { DT_F32, DT_I32, DT_I8 } DType;   /* DT_I8: --quantize int8's activations */

typedef enum Role {
    ROLE_INPUT,      /* caller's input x                                  */
    ROLE_LABEL,      /* caller's training target y                         */
    ROLE_ACT,        /* activation, lives in the arena                     */
    ROLE_GRAD,       /* gradient of an activation, lives in the arena      */
    ROLE_PARAM,      /* trainable parameter, in the params block           */
    ROLE_PARAM_GRAD, /* gradient of a parameter, in the grads block        */
    ROLE_SCALAR,     /* the loss: a local variable of the train step       */
} Role;

typedef enum Phase { PH_FORWARD, PH_LOSS, PH_BACKWARD, PH_UPDATE } Phase;

typedef struct Value {
    char name[IR_NAME];
    DType dtype;
    Role role;
    int batched;            /* leading run-time batch dimension            */
    int rank;
    int dims[IR_MAX_RANK];  /* per sample when batched                     */
    int producer;           /* node index, -1 for inputs/params            */
    int alias_of;           /* value whose storage this one shares, or -1  */
    int requires_grad;      /* depends on a trainable parameter            */
    /* parameters */
    int trainable;          /* 0: state the optimizer never touches (moving stats), or frozen */
    int state;              /* updated by the forward pass while training (moving stats) */
    int constant;           /* baked from --weights into a const array (flash); never written */
    long baked_at;          /* its first float in g->baked (the weights file's layout)    */
    int panels;             /* a constant stored in GEMM panels (nnc_rt_gemm_pack_b)       */
    int init, fan_in, fan_out;
    float l1, l2;
    int grad;               /* ROLE_PARAM: its ROLE_PARAM_GRAD value, or -1 */
    int param;              /* ROLE_PARAM_GRAD: the parameter, or -1        */
    /* placement (plan.c): float offset in the params/grads block, or -1 */
    long offset;
    /* one of several inputs/outputs: its first column in the packed rows of
     * the caller's x / y (each sample is [in1 | in2 | ...]) */
    long pack_offset;
    const char *elem_note;  /* an ONNX graph input/output: its element type ("uint8"), or NULL */
    /* Keras' mask of a sequence (lower_mask.c): the i32 token ids whose zeros
     * mark its padded steps (embedding(mask_zero = true)), or -1 */
    int mask;
    Loc loc;
} Value;

typedef struct Attrs {
    int units;          /* dense                                          */
    int act;            /* nnc_rt_act: dense epilogue, act, act_grad      */
    int use_bias;       /* dense                                          */
    int kernel_init, bias_init;
    float kernel_l1, kernel_l2, bias_l1, bias_l2;
    int trans_a, trans_b;   /* matmul                                     */
    int loss;           /* nnc_rt_loss: loss, loss_grad                   */
    int loss_output;    /* loss, loss_grad of a model with several outputs: which one (its index) */
    float loss_weight;  /* ... and its weight in the total loss (loss_weights) */
    /* convolution and pooling, as written */
    /* pairs are (height, width); a 1-D layer's extent is in [0] */
    int filters, kernel_size[2], strides[2], dilation[2], groups, padding, depth_multiplier;
    int pool_size[2];
    int out_pad[2];             /* conv2d_transpose's output_padding; -1: none (inferred) */
    int pads[4];                /* zero_padding, cropping: top, bottom, left, right (1-D: left, right in [2], [3]) */
    int size[2];                /* upsampling: the factors                */
    int interp;                 /* upsampling2d: 0 nearest, 1 bilinear    */
    float rate;                 /* dropout                                */
    float momentum, epsilon;    /* batch_norm                             */
    int axis;                   /* concat                                 */
    /* embedding and recurrent layers */
    int vocab;                  /* embedding: ids in [0, vocab); units is its dim */
    int return_sequences, return_state, unit_forget_bias, recurrent_init;
    float rec_l1, rec_l2;       /* recurrent_regularizer                  */
    int reverse;                /* runs backwards in time (bidirectional) */
    int per_step;               /* dense inside time_distributed: any rank */
    int outputs;                /* outputs a statement can name (return_state) */
    int grads;                  /* rnn_grad: bit i set = input 4+ holds d(out[i]) */
    int frozen;                 /* trainable = false: its parameters are not trained */
    int dims[IR_MAX_RANK], ndims;   /* reshape (-1: inferred)             */
    /* derived by the shape rules */
    nnc_rt_conv2d conv;
    nnc_rt_pool2d pool;
    nnc_rt_rnn rnn;
    /* N-d tensor ops (ONNX): the iteration space and the function */
    nnc_rt_nd nd;
    int fn;                     /* nnc_rt_unary / _binary / _reduce / softmax kind */
    float alpha, beta;          /* the function's parameters                */
    long outer, inner, alen;    /* softmax over an axis: (outer, alen, inner) */
    long ny, count;             /* reduce: output cells, elements per cell  */
    int M, N, K;                /* nd_matmul: (M x K) . (K x N) products    */
    int samples;                /* nd_conv, nd_conv_t, nd_pool, nd_rnn: the whole tensor's samples */
    long cs[NNC_RT_ND_MAX];     /* where: the condition's strides           */
    long offset, width, total;  /* concat: this operand's columns         */
    int align_corners;          /* grid_sample (fn: mode, padding: padding mode, dims: h, w, ho, wo) */
    /* an imported node per sample (passes/batch.c): axis 0 of nd, outer, M, samples
     * and ny count samples and are printed times n */
    int batched;
    int dyn_steps;              /* a recurrent layer whose time steps are Graph.steps_name, set at run time */
    int approximate;            /* gelu: the tanh form                    */
    int center, scale;          /* layer_normalization: beta, gamma       */
    nnc_rt_prelu prelu;         /* prelu: how alpha broadcasts (derived)  */
    int num_heads, key_dim, value_dim, output_dim, causal;   /* multi_head_attention (0: Keras' default) */
    /* embedding: mask_zero (1: id 0 is padding).  A recurrent layer or
     * masked_mean: its last input is the token ids whose zeros mask steps
     * (lower_mask.c); rnn 1: a masked step carries the state and the output
     * over, 2: it carries the state and outputs zeros (bidirectional) */
    int mask_zero;
    /* Keras' recurrent arguments nnc computes one value of (ops/recurrent.c
     * refuses the others): recurrent_activation, reset_after, stateful,
     * recurrent_dropout (dropout is `rate`); unroll changes nothing here */
    int rec_act, reset_after, stateful, unroll;
    float rec_dropout;
    struct Q8 *q8;              /* an int8 op (ops/quant.c): its constants, owned by Graph.q8 */
} Attrs;

typedef struct Node {
    int op;             /* OP_* (ops/op_list.h): its row of op_table      */
    Attrs attr;
    nnc_rt_gemm_tiles tiles;  /* its product's tiling on the target (passes/tile.c); path 0: none */
    int in[IR_MAX_IO], nin;
    int out[IR_MAX_IO], nout;
    Phase phase;
    int dead;           /* removed by a pass; skipped everywhere          */
    int folded;         /* per-channel scales and shifts (a batch norm) folded into its kernel and bias */
    char layer[IR_NAME];/* Keras-style layer name ("dense_1"), or ""      */
    Loc loc;            /* the .nn text that produced it                  */
} Node;

typedef enum OptKind { OPT_SGD, OPT_RMSPROP, OPT_ADAM, OPT_ADAMW } OptKind;

enum { MET_ACCURACY = 1, MET_PRECISION = 2, MET_RECALL = 4, MET_F1 = 8,
       MET_MAE = 16, MET_MSE = 32 };

typedef struct TrainConfig {
    int present;        /* the file has a train block for this model      */
    int loss;           /* nnc_rt_loss (before fusion): a *_LOGITS kind with from_logits */
    int from_logits;    /* as written: 1, 0, or -1 when not said           */
    char loss_note[240];/* how nnc read the output when from_logits was not said (ONNX) */
    int opt;            /* OptKind                                        */
    float lr, beta1, beta2, eps, momentum, rho, weight_decay;
    int nesterov;
    int batch, epochs;
    unsigned metrics;   /* MET_* bits                                     */
    char metrics_text[64]; /* the metrics as written, comma-separated ("accuracy,f1") */
    /* Keras' optimizer arguments clipnorm (each tensor's gradient), clipvalue
     * (each element), global_clipnorm (all gradients as one); 0: off, at most one set */
    float clipnorm, clipvalue, global_clipnorm;
    float *class_weight;   /* class_weight: a weight per class (malloc'ed), or NULL */
    int nclass_weight;
    /* a model with several outputs: each output's loss (nnc_rt_loss, from_logits
     * applied; `loss` holds the first's) and weight in the total, malloc'ed
     * with noutputs entries; NULL with one output */
    int *out_loss;
    float *loss_weights;
} TrainConfig;

typedef struct Graph {
    char name[IR_NAME];
    Value *values; int nvalues, cap_values;
    Node *nodes;   int nnodes, cap_nodes;
    int input, output, label, loss;   /* value indices, -1 when absent; the first input/output */
    int inputs[IR_MAX_GRAPH_IO], ninputs;   /* in declaration order */
    int outputs[IR_MAX_GRAPH_IO], noutputs; /* in `output` order */
    TrainConfig train;
    int opt_level;
    float *baked;           /* --weights: every parameter's value, or NULL (deploy.c) */
    /* --weights-from MODEL: that model of the file, lowered, its parameters
     * placed as its save() writes them (deploy.c); owned, or NULL */
    struct Graph *weights_from;
    char whole[240];        /* imported and run whole (no run-time batch): why; "" otherwise */
    char steps_name[IR_NAME]; /* --shape NAME<=N: a run-time extent (the time steps), or "" */
    int steps_max;            /* its bound N                                   */
    int check_numerics;       /* --check-numerics: the training step names the first node making inf/NaN */
    struct Q8 *q8;            /* --quantize int8: every int8 op's constants (a list, freed with the graph) */
} Graph;

/* ---- ir.c ------------------------------------------------------------------ */
Graph *ir_new(const char *name);
void   ir_free(Graph *g);
int    ir_value(Graph *g, const char *name, Role role, int batched, int rank, const int *dims);
/* a name built from parts into out (IR_NAME bytes): whole when it fits, else
 * its head, '~' and a hash of all of it, so two long names never become one */
void   ir_format_name(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int    ir_node(Graph *g, int op, const int *in, int nin, Loc loc);  /* no outputs yet */
void   ir_add_output(Graph *g, int node, int value);
long   ir_size(const Value *v);            /* elements (per sample when batched) */
long   ir_packed_size(const Graph *g, const int *values, int n);  /* sum of ir_size */
int    ir_is_output(const Graph *g, int value);
int    ir_consumers(const Graph *g, int value, int *first);  /* count live uses */
/* every value's live uses, counted in one walk: what a pass asking "one
 * reader?" of each node reads, so it stays linear on long graphs; the pass
 * keeps it true as it rewrites (ir_uses_free releases it) */
typedef struct Uses { int *count, *first; } Uses;
void   ir_uses(const Graph *g, Uses *u);
void   ir_uses_free(Uses *u);
int    ir_storage(const Graph *g, int value);  /* follow alias_of to the owner */
const char *ir_shape_str(const Value *v, char *buf, size_t cap);  /* "(n, 28, 28)" */
void   ir_dump(const Graph *g, FILE *out);
/* the node runs in the training step (training) or in inference */
int    ir_in_schedule(const Node *n, int training);
/* baked constants a pass may rewrite (not trained, not state) */
int    ir_constant(const Graph *g, int value);
/* node's input `input` as a constant only that node reads (copied if shared): its data */
float *ir_writable(Graph *g, int node, int input);
int    ir_new_constant(Graph *g, const char *name, int rank, const int *dims, const float *data);
void   ir_drop_constant(Graph *g, int value);   /* a constant nothing reads: gone */  /* one line per live node, for tests */
/* a fingerprint of the parameter layout a saved buffer depends on (names and
 * sizes in order); ram_only: only the parameters that are not baked constants */
/* which block of m->params a parameter lives in: 0 trained, 1 other RAM
 * (frozen, moving statistics), 2 baked constants (passes/plan.c lays them out so) */
int ir_param_group(const Value *v);
uint32_t ir_fingerprint(const Graph *g, int ram_only);
/* the samples a loss and the metrics see in one value: 1 for a batched
 * value (per sample), the first axis of a whole-tensor (imported) one */
long   ir_sample_rows(const Value *v);

/* ---- ops/: the op table ------------------------------------------------------
 * One entry per op kind holds everything the compiler knows about it
 * (ops/table.c; each kind's OpDef is in its family's file, ops/<family>.c). */
enum {
#define OP_ENUM(ID, name) OP_##ID,
    NNC_OPS(OP_ENUM)
#undef OP_ENUM
    OP_COUNT
};
/* the op's name: "dense", "nd_binary" (inline, so no file needs the table for it) */
static inline const char *op_name(int op) {
#define OP_NAME(ID, name) #name,
    static const char *const names[] = { NNC_OPS(OP_NAME) };
#undef OP_NAME
    return names[op];
}
typedef struct EmitCtx EmitCtx;

typedef enum AttrType {
    AT_INT, AT_FLOAT, AT_BOOL, AT_ACT, AT_INIT, AT_REG,
    AT_PADDING,     /* valid | same                                     */
    AT_DIMS,        /* all remaining positional integers (reshape)      */
    AT_AXIS,        /* any integer, negative counting from the end      */
    AT_BATCH_AXIS,  /* an axis as Keras counts it, the batch being 0;
                       stored counting a sample's axes (k > 0 as k - 1,
                       negative unchanged); 0 is refused                 */
    AT_PAIR,        /* an integer >= 1 or a pair (h, w): two ints       */
    AT_PAIR0,       /* an integer >= 0, a pair of them, or none (-1, -1) */
    AT_PADS1,       /* an integer >= 0 or a pair (left, right): ints [2], [3] of four */
    AT_PADS2,       /* n, (h, w) or ((top, bottom), (left, right)): four ints */
    AT_INTERP,      /* nearest | bilinear                               */
} AttrType;
enum { PAD_VALID, PAD_SAME, PAD_CAUSAL };   /* causal: conv1d only */
typedef struct AttrDef {
    const char *name;
    AttrType type;
    size_t offset;      /* into Attrs (AT_REG: offset of the l1 field; l2 follows) */
    const char *dflt;   /* NULL = required */
} AttrDef;

/* the runtime files an op's emitted calls pull in (summary.c estimates code size) */
enum { RT_GEMM = 1, RT_ACT = 2, RT_CONV = 4, RT_POOL = 8, RT_NORM = 16, RT_RNN = 32,
       RT_LOSS = 64, RT_OPTIM = 128, RT_TENSOR = 256, RT_RNG = 512, RT_Q8 = 1024 };

/* an op evaluated by the compiler on constant inputs (the ONNX importer's
 * constant folding, --quantize int8's calibration): the same runtime kernel
 * the emitted call runs.  A .nn layer's dims are per sample and ny covers
 * all the samples evaluated (ny / ir_size of dims of them). */
typedef struct Fold {
    const Attrs *a;
    float *y;                       /* the output, ny floats of shape dims  */
    long ny;
    int rank;
    const long *dims;
    int nin;
    const float *in[IR_MAX_IO];
    int in_rank[IR_MAX_IO];
    const long *in_dims[IR_MAX_IO];
    int op;                         /* OP_*: the activation layers share one hook (0 from the importer) */
} Fold;

typedef struct OpDef {
    unsigned rt;        /* RT_* bits                                       */
    int layer;          /* usable as a layer in .nn files                 */
    int ninputs;        /* tensor inputs a layer call takes; -1: two or more */
    int epilogue;       /* can apply an activation to its output (fusion)  */
    int conv;           /* a forward convolution: attr.conv, nnc_rt_conv2d_forward */
    const AttrDef *attrs; int nattrs;   /* .nn arguments after the inputs */
    int alias;          /* output shares input 0's storage (reshape)      */
    int noise;          /* dropout and the noise layers: the identity at inference */
    int int_input;      /* input 0 holds i32 token ids (embedding)        */
    int recurrent;      /* a recurrent layer: bidirectional() can wrap it */
    int wrapper;        /* bidirectional/time_distributed: lowered by lower.c from the layer inside */
    int inplace;        /* output may reuse input 0's buffer if it dies   */
    /* infer output shapes from inputs; create outputs if n->nout == 0.
     * Returns 0, or reports through diag at n->loc and returns -1. */
    int  (*shape)(Graph *g, int node);
    /* create the op's parameters (dense: kernel, bias) given input shapes */
    void (*params)(Graph *g, int node);
    /* append backward nodes: dout[i] is the gradient of out[i] (or -1);
     * set din[i] for each input with requires_grad (leave -1 otherwise) */
    void (*grad)(Graph *g, int node, const int *dout, int *din);
    long (*flops)(const Graph *g, const Node *n);  /* per sample */
    /* an op computed by one GEMM: its shape (M at `rows` rows of input) and
     * whether B is transposed; returns 0 when this node has none */
    int  (*gemm)(const Graph *g, const Node *n, long rows, long mnk[3], int *ta, int *tb);
    void (*emit)(EmitCtx *e, const Node *n);
    void (*fold)(const Fold *f);        /* NULL: never evaluated at compile time */
} OpDef;

extern const OpDef *const op_table[OP_COUNT];   /* indexed by OP_* */
int op_find(const char *name);       /* a .nn layer name -> OP_*, -1 if unknown */
int op_for_act(int act);             /* ops/activation.c: the op of an nnc_rt_act (OP_RELU...), -1 for linear */
int act_kind(const Node *n);         /* ops/activation.c: the nnc_rt_act an activation layer computes, -1 for other ops */
/* ops/activation.c: a node of act_kind a, or an act_grad of attr.act a, that a GEMM or convolution epilogue can take over
 * (fuse_act, fuse_grad): relu, relu6, sigmoid, tanh (softmax: forward) */
int act_fusable(int a);
/* ops/attention.c: multi_head_attention as the ops it is made of (dense
 * projections, transposes, batched products, the attention softmax), built
 * by lower.c for a call with inputs in[] (query, value[, key]); its output
 * value, or -1 after reporting */
int attention_lower(Graph *g, const int *in, int nin, const Attrs *a, Loc loc, const char *name);
/* names of the enumerations attributes use, indexed by the runtime's enums */
/* ops/names.c */
extern const char *const act_names[], *const loss_names[], *const init_names[], *const opt_names[];
extern const int act_count, loss_count, init_count;   /* loss: the user-visible ones */
int name_index(const char *name, const char *const *names, int n);   /* -1 if absent */
const char *act_name(int act);
const char *loss_name(int loss);
const char *loss_spelling(int loss);   /* a *_logits kind as NAME(from_logits = true) */
const char *init_name(int init);
const char *unary_name(int fn);      /* nnc_rt_unary, nnc_rt_binary and reduction functions */
const char *binary_name(int fn);
const char *reduce_name(int fn);
const char *node_who(const Graph *g, const Node *n);   /* "'layer'" or "the node computing 'y'" */

/* ---- lower.c: AST -> IR ----------------------------------------------------- */
struct Program;
/* Lower the model `model_name` (NULL: the one model, or the one trained).
 * Returns NULL after reporting errors through diag. */
Graph *lower_program(const struct Program *p, const char *model_name);
/* of the errors the last lower_program reported, those refusing valid Keras
 * that nnc cannot compile (exit 3 when every error is one) */
int lower_unsupported_count(void);
/* a train block as text ("train m {\n loss ...\n optimizer ...\n}") for a graph
 * another front end built; reports through diag, returns -1 on errors */
int lower_train_text(Graph *g, const char *text);

/* ---- passes/ (each ir -> ir, in its own file) --------------------------------- */
int  shape_node(Graph *g, int node);   /* passes/shape.c: its shape rule and size check */
int  shape_check_size(Graph *g, int node, int value);   /* 1 GiB per tensor */
/* a layer's node (op on in, attributes a, layer name): built, shaped, its
 * parameters created and size-checked; its first output, or -1 after reporting */
int  shape_layer_node(Graph *g, int op, const int *in, int nin, const Attrs *a, Loc loc, const char *layer);
void fuse_loss(Graph *g);            /* passes/fuse_loss.c: softmax+CE etc.  */
/* passes/fuse_loss.c: what the op producing `value` makes of it; *src: that
 * op's input (the logits), or -1 */
enum { OUT_OTHER, OUT_SOFTMAX, OUT_LOG_SOFTMAX, OUT_SIGMOID };
int  loss_output_kind(const Graph *g, int value, int *src);
void fuse_act(Graph *g);             /* passes/fuse_act.c: activation epilogues */
void fuse_act_inference(Graph *g);   /* passes/fuse_act.c: nd_unary (and hard-swish) epilogues, no training */
void fuse_nd(Graph *g);              /* passes/fuse_nd.c: imported MatMul + bias + act -> dense */
void fuse_nd_conv(Graph *g);         /* passes/fuse_nd.c: conv + per-channel scale/shift + act */
void fuse_nd_residual(Graph *g);     /* passes/fuse_nd.c: conv + whole-tensor add (+ act) */
void layout_nd(Graph *g);            /* passes/layout.c: transposes cancelled, sunk, folded */
void fuse_nd_eltwise(Graph *g);      /* passes/fuse_eltwise.c: hard-swish chains -> one element-wise node */
void layout_cancel(Graph *g);        /* passes/layout.c: transposes and copies of copies composed only */
/* ops/nd.c: the activation an nd_unary node computes (relu, sigmoid, tanh;
 * Clip(0, inf) is relu, Clip(0, 6) relu6), or -1 */
int  unary_act(const Node *n);
/* ops/nd.c: the N-d family's shape rules, on ranks and extents (rank <= NNC_RT_ND_MAX) */
void nd_strides(int rank, const long *dims, long *s);     /* row-major strides of a shape */
/* numpy broadcasting of shapes a and b: the result's rank and extents, and
 * each operand's strides over it (0 along the axes it is broadcast along);
 * -1 when they do not broadcast */
int  nd_broadcast(int ra, const long *a, int rb, const long *b, int *rank, long *out, long *as, long *bs);
void nd_dense(nnc_rt_nd *p, int rank, const long *dims);  /* zeroed, with y's strides row-major */
void fold_bn(Graph *g);              /* passes/fold_bn.c: baked batch norm into its layer */
void pack_weights(Graph *g);         /* passes/pack_weights.c: constant dense kernels in panels */
/* passes/batch.c: prove axis 0 of an imported graph's inputs is a batch of
 * B samples and make the graph per sample (a run-time n); -1 and `why`
 * (naming the node) when it cannot */
int  batch_imported(Graph *g, int B, char *why, size_t cap);
/* passes/batch.c, after batch_imported: axis 0 of the (one) input's samples,
 * bounded by N, becomes Graph.steps_name, read at run time; it may only be
 * the time axis of recurrent layers whose sequence output is unused.  -1 and
 * `why` (naming the node) when it is anything else */
int  batch_bounded_steps(Graph *g, const char *name, int bound, char *why, size_t cap);
void ad_build(Graph *g);             /* passes/autodiff.c: backward + update */
void fuse_grad(Graph *g);            /* passes/fuse_grad.c: act gradient into the dx GEMM, + bias gradient */

/* ---- target.c: the machines the code is for (--target) ----------------------- */
typedef struct Target {
    const char *name, *about;
    nnc_rt_gemm_target gemm;    /* the runtime's kernels there (tiling reads it) */
    int vector_floats;          /* SIMD width                                    */
    int vector_registers;
    long l2_bytes;
} Target;
const Target *target_find(const char *name);  /* NULL if unknown */
const Target *target_default(void);           /* the host's */
void target_list(FILE *out);
void tile_gemms(Graph *g, const Target *t);   /* passes/tile.c: Node.tiles */
/* the rows of a value's 2-D view at a batch of `batch` samples */
long ir_rows(const Graph *g, int value, long batch);

typedef struct Plan {
    long param_floats;          /* params block: trainable ones first       */
    long trainable_floats;      /* = grads block = each optimizer slot      */
    long opt_slots;             /* optimizer state blocks of param_floats   */
    long arena_floats;          /* max of the two schedules                 */
    long const_floats;          /* the block's tail: baked constants (flash)  */
    long train_arena, infer_arena, buffers_sum;   /* floats */
    long *train_off, *infer_off;  /* per value: float offset in arena, -1 */
} Plan;
int  plan_build(Graph *g, Plan *p);  /* passes/plan.c; -1 (reported) when a buffer falls outside the arena */
/* the parameter block's layout alone: trainable, then state and frozen, then
 * constants; sets each offset, returns the total (*trainable: the first part) */
long plan_params(Graph *g, long *trainable, long *constants);
void plan_free(Plan *p);

/* ---- emit_c.c ----------------------------------------------------------------- */
typedef struct EmitOptions {
    const char *header_name;    /* "fashion_mlp.h" as #included by the .c */
    const char *source_name;    /* the .nn file, for the header comment   */
    const char *command_line;
} EmitOptions;
int emit_c(const Graph *g, const Plan *plan, const EmitOptions *o, FILE *c, FILE *h);
void emit_upper(const char *s, char *out);   /* the macros' prefix: NAME -> UPPER */
/* sizeof(NAME_t) under an ABI: longs and pointers of lsize and psize bytes,
 * uint64_t aligned to u64 (8, 8, 8 on 64-bit hosts; 4, 4, 8 on 32-bit Arm) */
long emit_state_bytes(const Graph *g, const Plan *p, int lsize, int psize, int u64);

/* ---- emit_expr.c: the C expressions the op table's emit hooks print --------- */
struct EmitCtx {
    const Graph *g;
    const long *off;        /* arena offsets of the schedule being printed */
    int training;           /* printing the training step (or inference)   */
    FILE *out;
    char bufs[16][192];     /* the returned strings, reused round robin    */
    int next;
};
void emit_line(EmitCtx *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *emit_ptr(EmitCtx *e, int value);   /* C expression for its storage */
/* the 2-D view kernels take: columns are the last axis, rows the rest */
const char *emit_rows(EmitCtx *e, int value);  /* "n", "n * 784" or a constant */
long emit_cols(const Graph *g, int value);     /* the last axis               */
const char *emit_count(EmitCtx *e, int value); /* all elements: "(long)n * 784" */
const char *emit_float(EmitCtx *e, float v);   /* a C float literal: "0.001f"  */
int emit_training(EmitCtx *e);                 /* printing the training step?  */
const char *emit_times_n(EmitCtx *e, int batched, long v);   /* "n * v", "n" or "v" */
const char *emit_conv(EmitCtx *e, const nnc_rt_conv2d *c);  /* a compound literal */
const char *emit_pool(EmitCtx *e, const nnc_rt_pool2d *p);
const char *emit_rnn(EmitCtx *e, const Node *n);   /* its nnc_rt_rnn; run-time steps if dyn_steps */
const Graph *emit_graph(EmitCtx *e);
/* an N-d descriptor as a compound literal; a per-sample node's axis 0 is n */
const char *emit_nd(EmitCtx *e, const Node *n, const nnc_rt_nd *p);
/* a count of a per-sample node (outer, rows, cells) as printed: times n */
const char *emit_per_n(EmitCtx *e, const Node *n, long v);
/* s as a C string literal: quotes, backslashes and bytes outside ASCII escaped */
const char *emit_string(EmitCtx *e, const char *s);

/* ---- file.c ------------------------------------------------------------------ */
/* the whole file, NUL-terminated, its size in *len; NULL with errno on failure */
char *file_read(const char *path, long *len);             /* up to FILE_MAX bytes */
char *file_read_max(const char *path, long max, long *len);
#define FILE_MAX    (2L << 30)      /* 2 GiB: ONNX's own limit for one protobuf */
#define FILE_MAX_NN (64L << 20)     /* a .nn file is text: 64 MiB is a generous model */

/* ---- onnx/: the ONNX front end (inference) ------------------------------------ */
/* Reports through diag; *unsupported counts the operators and features nnc
 * cannot compile (all of them are reported).  NULL on any error.  binds:
 * "NAME=FILE.pb" fixes graph input NAME to a TensorProto (a specialised
 * build, e.g. a shape or weights given as an input). */
typedef struct OnnxShapes {
    const char *const *specs;   /* --shape NAME=N (a dim_param) | INPUT=AxBxC (an input's dims) */
    int nspecs;
    int batch;                  /* > 0: axis 0 of every graph input has this extent */
    int exported_batch;         /* out: axis 0 of the first input in the file; 0: a dim_param, -1: empty */
    char batch_param[64];       /* out: that axis' dim_param, or "" */
    char bounded[64];           /* out: the dim_param given as --shape NAME<=N (axis 1 of the first input) */
    int bound;                  /* out: its N */
    int no_q8;                  /* --no-q8-import: quantized products composed from float ops */
    unsigned used;              /* out: bit i: specs[i] named something in the file */
} OnnxShapes;
Graph *onnx_import(const char *path, const char *model_name, int trainable, const char *const *binds,
                   int nbinds, OnnxShapes *shapes, int *unsupported);

/* ---- deploy.c: options that shape a build for a device ------------------------ */
/* bake the parameters of a buffer saved by this model's save() (checked:
 * format, checksum, the model's fingerprint); reports and returns -1 */
int  deploy_bake(Graph *g, const char *path);
/* --weights-from MODEL (a model of the .nn file p): lowers it into
 * g->weights_from and checks that every parameter of g is one of its
 * parameters, by name, of the same shape; -1 after naming each that is not */
int  deploy_weights_from(Graph *g, const struct Program *p, const char *model);
/* the parameter of src named like g's parameter v, or -1 */
int  deploy_source_param(const Graph *src, const Graph *g, int v);
/* --freeze a,b: those layers' parameters are not trained */
int  deploy_freeze(Graph *g, const char *layers);
/* --inference: drop the loss, label and training API */
void deploy_inference_only(Graph *g);
/* after the above: which parameters become constants */
void deploy_mark_constants(Graph *g);

/* ---- front.c: a model file -> a graph through the forward passes ------------- */
/* what the command line asks of a build (main.c fills it) */
typedef struct Build {
    const char *input, *output, *model, *weights, *freeze, *train_loss, *optimizer;
    const char *weights_from;   /* --weights-from MODEL: parameters by name from that model's save() */
    const char *binds[32], *shapes[32];
    int nbinds, nshapes;
    int opt, inference, batch, check_numerics;
    /* --quantize int8 --calibrate FILE [--calibrate-samples N] [--calibrate-method M] */
    const char *quantize, *calibrate, *calibrate_method;
    long calibrate_samples;
    int no_q8_import;           /* --no-q8-import: an ONNX model's quantized products as float ops */
} Build;
struct Program;
/* the .nn file b->input, lowered; *src and *prog stay for diagnostics (the
 * caller frees them).  NULL after reporting */
Graph *front_nn(const Build *b, char **src, struct Program **prog);
/* the ONNX file b->input, imported; *unsupported counts what nnc cannot
 * compile yet.  NULL after reporting */
Graph *front_onnx(const Build *b, int *unsupported);
/* ---- passes/pipeline.c: every pass, in order -------------------------------------- */
/* deploy options (--weights, --freeze, --inference), then the forward passes;
 * -1 after reporting an error */
int  pipeline_forward(Graph *g, const Build *b);
/* autodiff, the gradient passes, tiling for t and the memory plan */
int pipeline_finish(Graph *g, const Build *b, const Target *t, Plan *plan);   /* -1: an internal error, reported */

/* ---- passes/quantize.c, calibrate.c, ops/quant.c: --quantize int8 ------------- *
 * A real r is scale (q - zp) (TFLite's scheme, runtime/nnc_rt_q8.h).  An int8
 * op's constants live in its Q8, computed at build time; the emitter prints
 * them as const arrays.  Scales and zero points are attributes, so an importer
 * of quantized ONNX models can build the same ops. */
typedef struct Q8 {
    struct Q8 *next;                /* Graph.q8's list                          */
    float x_scale, y_scale, b_scale;    /* input, output, second input (add)   */
    int32_t x_zp, y_zp, b_zp;
    int32_t lo, hi;                 /* the output clamp (a fused relu/relu6)    */
    int8_t *w; long nw;             /* weights: dense (m, k), conv (oc, kh, kw, c/groups) */
    int32_t *bias;                  /* nch, input zero point folded in (dense)  */
    int32_t *mult; int8_t *shift;   /* requantization per output channel        */
    float *w_scale;                 /* the weights' scale per output channel    */
    int nch;
    int out_f32;                    /* softmax: float out                       */
    /* ONNX's requantization (an imported QLinear product, nnc_rt_q8_onnx): the float32
     * multipliers (nch), the weights' zero points (nch, int8 storage); y_zp, lo, hi then in
     * the ONNX type's range, y_off -128 for a uint8 output held as int8 */
    float *onnx_mult;
    int32_t *w_zp;
    int32_t y_off;
} Q8;
Q8  *q8_new(Graph *g);              /* zeroed, in g's list */
void q8_free_all(Graph *g);
/* quantize.c: the float inference graph -> int8 ops; -1 after reporting (exit 3 for what it cannot do) */
int  quantize_graph(Graph *g, const Build *b);
/* calibrate.c: each forward value's float range over the calibration samples
 * (--calibrate-method: minmax, percentile, mse); lo/hi (malloc'ed by the
 * callee) indexed by value, then at nvalues + node the pre-activation of a
 * node with a fused activation; -1 after reporting */
int  calibrate_ranges(const Graph *g, const Build *b, float **lo, float **hi);
/* summary.c's int8 part */
void summary_q8(const Graph *g, const Plan *p, FILE *out);

/* ---- summary.c ---------------------------------------------------------------- */
void summary_print(const Graph *g, const Plan *p, FILE *out);
/* ---- report.c: per node FLOPs, bytes, tiles, fusions, arena offsets ----------- */
void report_print(const Graph *g, const Plan *p, const Target *t, FILE *out);
/* ---- dot.c: the graph for Graphviz (training: the whole step, phases coloured) -- */
void dot_print(const Graph *g, int training, FILE *out);
/* ---- standalone.c: the generated code with the runtime files it calls inside
 * (--standalone); the texts are malloc'ed, 0 or -1 after reporting an error */
int standalone_bundle(const char *ctext, const char *htext, char **c, size_t *clen, char **h, size_t *hlen);

#endif
