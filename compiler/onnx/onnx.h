/* onnx.h — the ONNX importer's internal header (compiler/onnx/): the
 * importer's state and the helpers its files share, one section per file.
 * Only compiler/onnx/ includes it; the rest of nnc sees onnx_import() and
 * OnnxShapes in ir.h.
 *
 * The importer works by job: decode.c turns protobuf into plain data,
 * fold.c keeps the table of named tensors and builds or evaluates IR nodes,
 * wire.c bounds the file's nesting before protobuf-c unpacks it,
 * validate.c checks the graph-level rules (opset, SSA, outputs) before
 * any node is built, map.c holds the ONNX op -> builder table (with each
 * op's input and output counts, checked before its builder runs), the
 * map_*.c files build each family of ONNX ops from nnc's N-d ops,
 * import.c is the entry point.
 * Everything is float32 inside: a Tensor's constant data is floats whatever
 * the ONNX type, which is what lets one folding path serve shapes, indices
 * and weights alike; each Tensor keeps its ONNX element type, which the
 * builders of integer arithmetic read (dtype.c). */
#ifndef NNC_ONNX_H
#define NNC_ONNX_H

#include "ir.h"
#include "onnx.pb-c.h"

#define MAX_T 8            /* the highest rank nnc imports (NNC_RT_ND_MAX) */
#define CTX_INPUTS 256     /* a node's inputs nnc reads; more is refused, never truncated */

/* limits on what a file may ask of nnc, checked before anything is allocated */
#define ONNX_MAX_FILE (1L << 31)    /* bytes of a model file (protobuf's own limit is 2 GiB) */
#define ONNX_MAX_DEPTH 64           /* messages nested in messages (subgraphs in subgraphs, ...) */
#define ONNX_MAX_NODES 1000000      /* nodes of one graph */
#define ONNX_MAX_ELEMS 2147483647L /* elements of one tensor (the IR's extents are ints) */
#define ONNX_MAX_CONST (1L << 28)   /* elements of a constant nnc computes at import (1 GiB of floats) */
#define ONNX_MAX_UNROLLED 20000     /* nodes imported from subgraphs (unrolled Loop and Scan bodies, If branches) */
#define ONNX_OPSET_MIN 1            /* the default domain's opsets whose semantics nnc implements */
#define ONNX_OPSET_MAX 21

/* one named ONNX value: an IR value, a constant, or not computable */
typedef struct Tensor {
    char *name;
    int rank;
    long dims[MAX_T];
    int value;          /* IR value, or -1 for a constant */
    float *data;        /* constant data (owned), or NULL */
    int failed;         /* produced by an unsupported node */
    int param;          /* a float initializer, or folded from one: trained under --train (the
                         * constants nnc makes itself, and integer or bool ones, never are) */
    int key;            /* where the ONNX name starts in name: past the prefix of the subgraph copy that made it */
    int dtype;          /* its ONNX element type (ONNX__TENSOR_PROTO__DATA_TYPE__*); 0: not known, float */
    /* quantized values (map_quant.c, qdq.c) */
    struct Tensor *q8;  /* an integer tensor's int8 twin: the same integers, less q8_off, in int8 storage, written
                         * by an int8 op; readers of the integers take it instead of entering them again */
    int q8_off;         /* the twin's storage offset (-128 for uint8) */
    int q8_layout;      /* Q8_SAME: the twin is laid out as this tensor; Q8_NHWC: a 4-D (N, C, H, W) tensor's twin
                         * is (N, H, W, C); Q8_FLAT_NHWC: a 2-D (N, C*H*W) one's is (N, H*W*C) of q8_chw */
    long q8_chw[3];
    const struct Tensor *dq_x, *dq_scale, *dq_zp;   /* made by a DequantizeLinear of these (zero point: or NULL) */
    int dq_axis;        /* that node's axis, normalised (a per-axis scale's) */
} Tensor;

enum { Q8_SAME, Q8_NHWC, Q8_FLAT_NHWC };

typedef struct Importer {
    Graph *g;
    Tensor **t;         /* each allocated on its own: a Tensor * stays valid as tensors are added */
    int nt, cap;
    int opset;
    int unsupported;
    int trainable;                  /* constants the graph computes with become trained parameters */
    const Onnx__NodeProto *node;    /* the node being imported, for messages */
    const OnnxShapes *shapes;       /* --shape, and the batch the inputs were pinned to */
    char dir[4096];                 /* the model's folder: external data is relative to it */
    size_t *order;                  /* the nodes' import order when the file's is not topological, or NULL */
    /* subgraphs (map_control.c): a copy of a subgraph names its tensors prefix + ONNX name, looked up by the
     * ONNX name; when the copy ends they move from t to dead (out of sight, still owned) */
    char *prefix;                   /* NULL at the top level */
    Tensor **dead;
    int ndead, dead_cap;
    int depth;                      /* subgraphs being imported, one inside the other */
    long unrolled;                  /* nodes imported from subgraphs so far (ONNX_MAX_UNROLLED) */
    /* qdq.c: the top-level graph, while QDQ groups are fused (NULL: not fused); the nodes a fused group
     * absorbed (skipped when reached); int8 values read through their twins (fused groups, chained
     * QLinear ops), which may leave float copies unread */
    const Onnx__GraphProto *qdq;
    const Onnx__NodeProto **absorbed;
    int nabsorbed, absorbed_cap, q8_twins;
} Importer;

/* what a builder sees: the node and its inputs (NULL for an omitted optional one) */
typedef struct Ctx {
    Importer *im;
    const Onnx__NodeProto *n;
    Tensor *in[CTX_INPUTS];
    int nin;
} Ctx;

/* ---- decode.c: protobuf -> plain data ---------------------------------------------- */
const Onnx__AttributeProto *onnx_attr(const Onnx__NodeProto *n, const char *name);   /* NULL if absent */
long onnx_attr_i(const Onnx__NodeProto *n, const char *name, long dflt);
float onnx_attr_f(const Onnx__NodeProto *n, const char *name, float dflt);
/* up to max integers into out; their count (which may exceed max: only max are read), or -1 when absent */
int onnx_attr_ints(const Onnx__NodeProto *n, const char *name, long *out, int max);
int onnx_attr_is(const Onnx__NodeProto *n, const char *name, const char *value);   /* a string attribute */
int onnx_dtype_ok(int t);                    /* an element type nnc reads as floats */
const char *onnx_dtype_name(int t);
/* TensorProto -> floats (owned by the caller); NULL (and says why) for what nnc cannot read */
float *onnx_tensor_data(Importer *im, const Onnx__TensorProto *tp, long *count);
/* the file at path as a ModelProto with a graph; NULL after reporting */
Onnx__ModelProto *onnx_load_model(const char *path);
/* a graph input's static shape: the file's, or --shape's; -1 after reporting */
int onnx_input_shape(Importer *im, const Onnx__ValueInfoProto *vi, int *rank, long *dims, OnnxShapes *sh,
                     int first);
int onnx_bind_input(Importer *im, const char *spec);   /* --bind NAME=FILE.pb; -1 after reporting */

/* ---- fold.c: the tensor table; nodes built, or folded when their inputs are constants */
long onnx_numel(const long *dims, int rank);
/* the elements of a shape from the file: -1 (reported as invalid) for a negative extent,
 * -2 (reported as unsupported) when there are more than `limit` */
long onnx_checked_numel(Importer *im, const long *dims, int rank, long limit, const char *what);
Tensor *onnx_find(Importer *im, const char *name);     /* the latest of that name, or NULL */
Tensor *onnx_add_tensor(Importer *im, const char *name, int rank, const long *dims);
Tensor *onnx_add_constant(Importer *im, const char *name, int rank, const long *dims, float *data);
/* a new IR node of `op` on these inputs with an output of this shape */
Tensor *onnx_node_out(Importer *im, int op, Tensor **in, int nin, const Attrs *a, const char *out_name, int rank,
                      const long *dims);
/* the same, evaluated here (the op table's fold) when every input is a constant */
Tensor *onnx_apply(Importer *im, int op, Tensor **in, int nin, const Attrs *a, const char *out_name, int rank,
                   const long *dims);
long onnx_to_long(float v);                  /* an integer held in a float, saturating */
/* the constant integer values of an input (shape, axes, pads, ...); their count, or -1 after reporting */
int onnx_const_ints(Importer *im, Tensor *t, long *out, int max, const char *what);

/* fold.c: reporting */
Loc onnx_nowhere(void);                      /* ONNX has no source positions */
const char *onnx_which_node(Importer *im);   /* "node 'n' (Op, opset 13)" for messages */
/* the current node breaks an ONNX rule: reported, not counted (exit 1) */
void onnx_invalid(Importer *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* an unsupported feature of the current node: reported, counted (exit 3) */
void onnx_unsupported(Importer *im, const char *why);

/* ---- wire.c: the file's protobuf bytes, before protobuf-c unpacks them --------------- */
/* nesting deeper than ONNX_MAX_DEPTH or more than ONNX_MAX_NODES nodes: -1 after reporting */
int onnx_wire_check(const unsigned char *buf, size_t len, const char *path);

/* ---- validate.c: the graph-level rules, before any node is built ------------------ */
/* opset, node count, SSA, the outputs; -1 after reporting (invalid, or counted unsupported) */
int onnx_validate(Importer *im, const Onnx__ModelProto *m);

/* import.c */
void onnx_add_initializers(Importer *im, const Onnx__GraphProto *gp);   /* a graph's, as constants */
/* ---- dtype.c: ONNX element types carried in floats ---------------------------------- */
int onnx_type_int(int t);                    /* an integer type (not bool) */
int onnx_type_wraps(int t);                  /* an integer type whose wrap-around nnc computes */
/* x brought into type t's range (wrap-around), named name; x itself when t does not wrap */
Tensor *onnx_wrap(Ctx *c, Tensor *x, int t, const char *name);
/* a node's inputs against what nnc computes exactly for their types: -1 after refusing */
int onnx_types_check(Ctx *c);
/* the element types of a node's outputs, after its builder ran */
void onnx_types_out(Ctx *c);
/* Add, Sub, Mul, Div, Pow, Mod with the semantics of input 0's type, to output 0 */
Tensor *onnx_typed_binary(Ctx *c, int fn);
/* Neg, Abs (wrap-around), the rest of the unary ops as they are */
Tensor *onnx_typed_unary(Ctx *c, int fn, float alpha, float beta);
Tensor *onnx_bitshift(Ctx *c);

/* ---- map_quant.c: linear quantization ------------------------------------------------ */
Tensor *onnx_quantize(Ctx *c);
Tensor *onnx_dequantize(Ctx *c);
Tensor *onnx_dynamic_quantize(Ctx *c);
Tensor *onnx_conv_integer(Ctx *c);      /* ConvInteger, MatMulInteger: int32 sums of centred operands */
Tensor *onnx_matmul_integer(Ctx *c);
Tensor *onnx_qlinear_conv(Ctx *c);      /* QLinearConv, QLinearMatMul: the sums requantized */
Tensor *onnx_qlinear_matmul(Ctx *c);
/* the int8 forms: a QLinearConv / QLinearMatMul node's inputs (QLinearMatMul: and an int32 bias as in[8]) on
 * nnc's int8 ops, its result clamped to [lo, hi] of the output's ONNX type (a folded relu or clip); NULL, nothing
 * reported, where they do not apply */
Tensor *onnx_q8_conv(Ctx *c, int32_t lo, int32_t hi);
Tensor *onnx_q8_matmul(Ctx *c, int32_t lo, int32_t hi);
/* the int8 storage of an integer tensor x of 8-bit ONNX type (offset off) in layout (Q8_SAME or Q8_NHWC): its
 * twin, or x entered now; NULL after reporting */
Tensor *onnx_q8_input(Ctx *c, Tensor *x, int32_t off, int layout);
/* int8 storage y (layout: Q8_SAME or Q8_NHWC of out_rank/out_dims) back as integers of ONNX type t held in
 * floats, output 0 of the node, with y as its twin */
Tensor *onnx_q8_output(Ctx *c, Tensor *y, int32_t off, int t, int layout, int out_rank, const long *out_dims);
int onnx_q8_storage(int t, int32_t *off);     /* int8 / uint8: their storage offset; 0 for other types */

/* ---- qdq.c: QDQ groups (DequantizeLinear -> float op -> QuantizeLinear) fused into int8 ops ---- */
void onnx_qdq_open(Importer *im, const Onnx__GraphProto *gp);   /* before the nodes: decides whether to fuse */
int onnx_qdq_absorbed(Importer *im, const Onnx__NodeProto *n);   /* a node a fused group took in: skip it */
/* the node c as the head of a QDQ group: 1 when fused (the group's outputs are defined), 0 to import it as is */
int onnx_qdq_fuse(Ctx *c);
void onnx_qdq_close(Importer *im);    /* after the outputs: the float nodes the fused groups left unread dropped */

/* ---- map.c: the ONNX op -> builder table ---------------------------------------- */
void onnx_import_node(Importer *im, const Onnx__NodeProto *n);

/* ---- map_common.c: what every builder uses ------------------------------------------ */
int onnx_norm_axis(long axis, int rank);     /* a negative axis counted from the end */
const char *onnx_out_name(Ctx *c, int i);
/* the name of an intermediate tensor of this node: "<its output>/<what>" (buf: 170 bytes) */
const char *onnx_part(Ctx *c, const char *what, char *buf);
void onnx_around(const Tensor *x, int axis, Attrs *a);   /* x as (outer, alen, inner) around axis */
int onnx_axes_of(Ctx *c, int input, long *axes);   /* -2: none given, -1 after reporting */
/* an axis attribute or value of a node, from -rank to rank - 1 (to rank with `end`), as
 * 0 .. rank - 1; -1 after reporting an invalid node */
int onnx_axis(Ctx *c, long axis, int rank, int end, const char *what);
/* axes[0..k) normalised into mark[] (rank entries, zeroed here); -1 after reporting
 * one out of range or repeated */
int onnx_mark_axes(Ctx *c, const long *axes, int k, int rank, int *mark, const char *what);
/* the values of an input that ONNX says is a scalar (Clip's bounds, Range's, ...): one
 * element, else invalid; NULL after reporting */
const float *onnx_scalar_of(Ctx *c, int input, const char *what);
/* another builder (onnx_conv, onnx_matmul, ...) run with this node's attributes on
 * other inputs, its output named name: a step of a composed op */
Tensor *onnx_build_on(Ctx *c, Tensor *(*build)(Ctx *), Tensor *const *in, int nin, const char *name);

/* ---- map_math.c: element-wise, matmul, softmax, reductions, losses ------------------ */
Tensor *onnx_unary(Ctx *c, int fn, float alpha, float beta);     /* of input 0, to output 0 */
Tensor *onnx_unary_of(Ctx *c, int fn, Tensor *x, const char *suffix);   /* an intermediate */
Tensor *onnx_binary_of(Ctx *c, int fn, Tensor *x, Tensor *y, const char *name);   /* broadcasting */
void onnx_no_broadcast(Ctx *c, const Tensor *x, const Tensor *y);
Tensor *onnx_scalar(Ctx *c, const char *suffix, float v);       /* a constant of this node */
Tensor *onnx_reduce_mark(Ctx *c, int fn, Tensor *x, const int *mark, int keep, const char *name);
Tensor *onnx_variadic(Ctx *c, int fn, int mean);
Tensor *onnx_cast(Ctx *c);
Tensor *onnx_clip(Ctx *c);
Tensor *onnx_dropout(Ctx *c);
Tensor *onnx_matmul(Ctx *c);
Tensor *onnx_gemm(Ctx *c);
Tensor *onnx_softmax(Ctx *c, int fn);
Tensor *onnx_reduce(Ctx *c, int fn);
Tensor *onnx_arg(Ctx *c, int fn);
Tensor *onnx_cumsum(Ctx *c);
Tensor *onnx_layernorm(Ctx *c);
Tensor *onnx_nll(Ctx *c);
Tensor *onnx_sce(Ctx *c);

/* ---- map_tensor.c: reshapes, copies, gathers, pads --------------------------------- */
Tensor *onnx_reshaped(Ctx *c, Tensor *x, int rank, const long *dims, const char *name);   /* same values */
Tensor *onnx_reshape(Ctx *c);
Tensor *onnx_flatten(Ctx *c);
Tensor *onnx_squeeze(Ctx *c, int unsq);
Tensor *onnx_transpose(Ctx *c);
Tensor *onnx_slice(Ctx *c);
Tensor *onnx_concat(Ctx *c);
Tensor *onnx_split(Ctx *c);
Tensor *onnx_gather(Ctx *c);
Tensor *onnx_gather_elements(Ctx *c);
Tensor *onnx_expand(Ctx *c);
Tensor *onnx_tile(Ctx *c);
Tensor *onnx_pad(Ctx *c);
Tensor *onnx_where(Ctx *c);
Tensor *onnx_depth_to_space(Ctx *c);
Tensor *onnx_space_to_depth(Ctx *c);
Tensor *onnx_trilu(Ctx *c);

/* ---- map_const.c: ops whose value is known here ------------------------------------ */
Tensor *onnx_constant(Ctx *c);
Tensor *onnx_shape(Ctx *c);
Tensor *onnx_size(Ctx *c);
Tensor *onnx_constant_of_shape(Ctx *c);
Tensor *onnx_range(Ctx *c);
Tensor *onnx_eyelike(Ctx *c);

/* ---- map_nn.c: convolution, pooling, normalization --------------------------------- */
Tensor *onnx_per_channel(Ctx *c, Tensor *v, int rank, const char *suffix);   /* (C) as (C, 1, ...) */
Tensor *onnx_conv(Ctx *c);
Tensor *onnx_conv_transpose(Ctx *c);
Tensor *onnx_pool(Ctx *c, int avg);
Tensor *onnx_global_pool(Ctx *c, int fn);
Tensor *onnx_batchnorm(Ctx *c);
Tensor *onnx_instancenorm(Ctx *c);
Tensor *onnx_lrn(Ctx *c);
Tensor *onnx_mvn(Ctx *c);
Tensor *onnx_maxunpool(Ctx *c);

/* ---- map_misc.c: training-op formulas, Dropout's training mode, windows, Det ------- */
Tensor *onnx_adagrad(Ctx *c);     /* ai.onnx.preview.training */
Tensor *onnx_adam(Ctx *c);
Tensor *onnx_momentum(Ctx *c);
Tensor *onnx_dropout_train(Ctx *c);   /* training_mode: ratio 0 only, else onnx_dropout */
Tensor *onnx_hann(Ctx *c);
Tensor *onnx_hamming(Ctx *c);
Tensor *onnx_blackman(Ctx *c);
Tensor *onnx_mel_weight_matrix(Ctx *c);
Tensor *onnx_det(Ctx *c);

/* ---- map_resize.c: Resize and Upsample as tables of taps, one axis at a time; GridSample */
Tensor *onnx_resize(Ctx *c);
Tensor *onnx_upsample(Ctx *c);
Tensor *onnx_grid_sample(Ctx *c);
/* ---- map_detect.c: RoiAlign, a run-time kernel ----------------------------------------- */
Tensor *onnx_roi_align(Ctx *c);
/* ---- map_text.c: TfIdfVectorizer on integer tokens, a run-time kernel --------------- */
Tensor *onnx_tfidf(Ctx *c);
/* ---- map_control.c: If, Loop, Scan: branches inlined, loops unrolled -------------- */
Tensor *onnx_if(Ctx *c);
Tensor *onnx_loop(Ctx *c);
Tensor *onnx_scan(Ctx *c);

/* ---- map_spectral.c: DFT and STFT as products with constant matrices ---------------- */
Tensor *onnx_dft(Ctx *c);
Tensor *onnx_stft(Ctx *c);

/* ---- map_rnn.c: LSTM, GRU, RNN ------------------------------------------------------ */
Tensor *onnx_recurrent(Ctx *c, int cell);

/* ---- map_index.c: scatters, GatherND, TopK, OneHot, Compress, Einsum, ... ---------- */
Tensor *onnx_scatter_elements(Ctx *c);
Tensor *onnx_scatter_nd(Ctx *c);
Tensor *onnx_gather_nd(Ctx *c);
Tensor *onnx_topk(Ctx *c);
Tensor *onnx_onehot(Ctx *c);
Tensor *onnx_compress(Ctx *c);
Tensor *onnx_reverse_sequence(Ctx *c);
Tensor *onnx_nonzero(Ctx *c);
Tensor *onnx_unique(Ctx *c);
Tensor *onnx_einsum(Ctx *c);

#endif
