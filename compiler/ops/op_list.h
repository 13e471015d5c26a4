/* op_list.h — every op kind, once: the enum (OP_DENSE, ...) and the op
 * table (ops/table.c) are both generated from this list, so an op is named
 * by a constant the C compiler checks, never by a string looked up at run
 * time.  X(ID, def) declares OP_ID and the OpDef `op_def` its family file
 * (ops/<family>.c) defines; the order is the order layer names are listed
 * in diagnostics. */
#ifndef NNC_OP_LIST_H
#define NNC_OP_LIST_H

#define NNC_OPS(X)                                                         \
    /* layers: usable in .nn files */                                      \
    X(FLATTEN, op_flatten)  X(RESHAPE, op_reshape)  X(LINEAR, op_linear)   \
    X(RELU, op_relu)  X(SIGMOID, op_sigmoid)  X(TANH, op_tanh)             \
    X(SOFTMAX, op_softmax)  X(RELU6, op_relu6)                             \
    X(DENSE, op_dense)                                                     \
    X(CONV2D, op_conv2d)  X(DEPTHWISE_CONV2D, op_depthwise_conv2d)         \
    X(CONV1D, op_conv1d)                                                   \
    X(MAX_POOL2D, op_max_pool2d)  X(AVG_POOL2D, op_avg_pool2d)             \
    X(MAX_POOL1D, op_max_pool1d)  X(AVG_POOL1D, op_avg_pool1d)             \
    X(GLOBAL_MAX_POOL, op_global_max_pool)                                 \
    X(GLOBAL_AVG_POOL, op_global_avg_pool)                                 \
    X(BATCH_NORM, op_batch_norm)  X(DROPOUT, op_dropout)                   \
    X(ADD, op_add)  X(MULTIPLY, op_multiply)  X(CONCAT, op_concat)         \
    X(EMBEDDING, op_embedding)                                             \
    X(SIMPLE_RNN, op_simple_rnn)  X(LSTM, op_lstm)  X(GRU, op_gru)         \
    X(BIDIRECTIONAL, op_bidirectional)                                     \
    X(TIME_DISTRIBUTED, op_time_distributed)                               \
    /* internal: created by passes, never written in .nn files */          \
    X(VIEW, op_view)  X(ACT_GRAD, op_act_grad)  X(MATMUL, op_matmul)       \
    X(BIAS_GRAD, op_bias_grad)                                             \
    X(CONV_GRAD_DATA, op_conv_grad_data)                                   \
    X(CONV_GRAD_FILTER, op_conv_grad_filter)                               \
    X(MAX_POOL_GRAD, op_max_pool_grad)  X(AVG_POOL_GRAD, op_avg_pool_grad) \
    X(BATCH_NORM_GRAD, op_batch_norm_grad)                                 \
    X(CONCAT_GRAD, op_concat_grad)  X(EMBEDDING_GRAD, op_embedding_grad)   \
    X(RNN_GRAD, op_rnn_grad)                                               \
    X(LOSS, op_loss)  X(LOSS_GRAD, op_loss_grad)                           \
    X(REGULARIZE, op_regularize)                                           \
    /* N-d tensor ops, built by the ONNX importer */                       \
    X(ND_COPY, op_nd_copy)  X(ND_FILL, op_nd_fill)  X(ND_PAD, op_nd_pad)   \
    X(ND_UNARY, op_nd_unary)  X(ND_BINARY, op_nd_binary)                   \
    X(ND_WHERE, op_nd_where)  X(ND_REDUCE, op_nd_reduce)                   \
    X(ND_SOFTMAX, op_nd_softmax)  X(ND_MATMUL, op_nd_matmul)               \
    X(ND_SOFTMAX_GRAD, op_nd_softmax_grad)                                 \
    X(ND_ARG, op_nd_arg)  X(ND_CUMSUM, op_nd_cumsum)                       \
    X(ND_GATHER, op_nd_gather)  X(ND_NLL, op_nd_nll)                       \
    X(ND_CONCAT, op_nd_concat)  X(ND_CONV, op_nd_conv)                     \
    X(ND_POOL, op_nd_pool)  X(ND_CONV_T, op_nd_conv_t)                     \
    X(ND_RNN, op_nd_rnn)                                                   \
    X(UPDATE, op_update)

#endif
