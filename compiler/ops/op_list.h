/* op_list.h — every op kind, once: the enum (OP_DENSE, ...) and the op
 * table (ops/table.c) are both generated from this list, so an op is named
 * by a constant the C compiler checks, never by a string looked up at run
 * time.  X(ID, name) declares OP_ID, the op's name ("name", what a .nn
 * file writes for a layer) and the OpDef `op_name` its family file
 * (ops/<family>.c) defines; the order is the order layer names are listed
 * in diagnostics. */
#ifndef NNC_OP_LIST_H
#define NNC_OP_LIST_H

#define NNC_OPS(X)                                                         \
    /* layers: usable in .nn files */                                      \
    X(FLATTEN, flatten)  X(RESHAPE, reshape)  X(LINEAR, linear)   \
    X(PERMUTE, permute)  X(REPEAT_VECTOR, repeat_vector)              \
    X(RELU, relu)  X(SIGMOID, sigmoid)  X(TANH, tanh)             \
    X(SOFTMAX, softmax)  X(RELU6, relu6)                             \
    X(LEAKY_RELU, leaky_relu)  X(ELU, elu)  X(GELU, gelu)            \
    X(SWISH, swish)  X(SILU, silu)  X(HARD_SIGMOID, hard_sigmoid)    \
    X(SOFTPLUS, softplus)  X(PRELU, prelu)                             \
    X(DENSE, dense)                                                     \
    X(CONV2D, conv2d)  X(DEPTHWISE_CONV2D, depthwise_conv2d)         \
    X(CONV1D, conv1d)                                                   \
    X(CONV2D_TRANSPOSE, conv2d_transpose)                               \
    X(SEPARABLE_CONV2D, separable_conv2d)                               \
    X(UPSAMPLING1D, upsampling1d)  X(UPSAMPLING2D, upsampling2d)     \
    X(ZERO_PADDING1D, zero_padding1d)  X(ZERO_PADDING2D, zero_padding2d) \
    X(CROPPING1D, cropping1d)  X(CROPPING2D, cropping2d)             \
    X(MAX_POOL2D, max_pool2d)  X(AVG_POOL2D, avg_pool2d)             \
    X(MAX_POOL1D, max_pool1d)  X(AVG_POOL1D, avg_pool1d)             \
    X(GLOBAL_MAX_POOL, global_max_pool)                                 \
    X(GLOBAL_AVG_POOL, global_avg_pool)                                 \
    X(GLOBAL_MAX_POOLING1D, global_max_pooling1d)                       \
    X(GLOBAL_MAX_POOLING2D, global_max_pooling2d)                       \
    X(GLOBAL_AVERAGE_POOLING1D, global_average_pooling1d)               \
    X(GLOBAL_AVERAGE_POOLING2D, global_average_pooling2d)               \
    X(BATCH_NORM, batch_norm)  X(DROPOUT, dropout)                   \
    X(SPATIAL_DROPOUT1D, spatial_dropout1d)                             \
    X(SPATIAL_DROPOUT2D, spatial_dropout2d)                             \
    X(GAUSSIAN_DROPOUT, gaussian_dropout)  X(GAUSSIAN_NOISE, gaussian_noise) \
    X(LAYER_NORMALIZATION, layer_normalization)                         \
    X(ADD, add)  X(MULTIPLY, multiply)  X(CONCAT, concat)         \
    X(SUBTRACT, subtract)  X(AVERAGE, average)                         \
    X(MAXIMUM, maximum)  X(MINIMUM, minimum)                           \
    X(EMBEDDING, embedding)                                             \
    X(MULTI_HEAD_ATTENTION, multi_head_attention)                       \
    X(POSITION_EMBEDDING, position_embedding)                           \
    X(SIMPLE_RNN, simple_rnn)  X(LSTM, lstm)  X(GRU, gru)         \
    X(BIDIRECTIONAL, bidirectional)                                     \
    X(TIME_DISTRIBUTED, time_distributed)                               \
    /* internal: created by passes, never written in .nn files */          \
    X(VIEW, view)  X(ACT_GRAD, act_grad)  X(MATMUL, matmul)       \
    X(BIAS_GRAD, bias_grad)                                             \
    X(CONV_GRAD_DATA, conv_grad_data)                                   \
    X(CONV_GRAD_FILTER, conv_grad_filter)                               \
    X(CONV_T_GRAD_DATA, conv_t_grad_data)                               \
    X(UPSAMPLING_GRAD, upsampling_grad)  X(SHIFT_GRAD, shift_grad)     \
    X(MAX_POOL_GRAD, max_pool_grad)  X(AVG_POOL_GRAD, avg_pool_grad) \
    X(BATCH_NORM_GRAD, batch_norm_grad)                                 \
    X(CONCAT_GRAD, concat_grad)  X(EMBEDDING_GRAD, embedding_grad)   \
    X(RNN_GRAD, rnn_grad)                                               \
    X(LOSS, loss)  X(LOSS_GRAD, loss_grad)                           \
    X(REGULARIZE, regularize)                                           \
    X(PRELU_GRAD, prelu_grad)  X(LAYER_NORM_GRAD, layer_norm_grad)   \
    X(SCALE, scale)  X(MINMAX_GRAD, minmax_grad)  X(REPEAT_GRAD, repeat_grad) \
    X(ATTN_SOFTMAX, attn_softmax)  X(ATTN_SOFTMAX_GRAD, attn_softmax_grad) \
    X(POSITION_EMBEDDING_GRAD, position_embedding_grad)                 \
    X(MASKED_MEAN, masked_mean)  X(MASKED_MEAN_GRAD, masked_mean_grad) \
    /* N-d tensor ops, built by the ONNX importer */                       \
    X(ND_COPY, nd_copy)  X(ND_FILL, nd_fill)  X(ND_PAD, nd_pad)   \
    X(ND_UNARY, nd_unary)  X(ND_BINARY, nd_binary)                   \
    X(ND_WHERE, nd_where)  X(ND_REDUCE, nd_reduce)                   \
    X(ND_SOFTMAX, nd_softmax)  X(ND_MATMUL, nd_matmul)               \
    X(ND_MATMUL_GRAD, nd_matmul_grad)                                   \
    X(ND_SOFTMAX_GRAD, nd_softmax_grad)                                 \
    X(ND_ARG, nd_arg)  X(ND_CUMSUM, nd_cumsum)                       \
    X(ND_GATHER, nd_gather)  X(ND_NLL, nd_nll)                       \
    X(ND_CONCAT, nd_concat)  X(ND_CONV, nd_conv)                     \
    X(ND_POOL, nd_pool)  X(ND_CONV_T, nd_conv_t)                     \
    X(ND_RNN, nd_rnn)                                                   \
    X(ND_RESIZE, nd_resize)  X(ND_RESIZE_GRAD, nd_resize_grad)       \
    X(ND_GRID_SAMPLE, nd_grid_sample)                                   \
    X(ND_ROI_ALIGN, nd_roi_align)  X(ND_TFIDF, nd_tfidf)               \
    X(ND_SCATTER, nd_scatter)  X(ND_GATHER_ELEM, nd_gather_elem)       \
    X(ND_SCATTER_ND, nd_scatter_nd)  X(ND_GATHER_ND, nd_gather_nd)     \
    X(ND_GATHER_ND_GRAD, nd_gather_nd_grad)                             \
    X(ND_TOPK, nd_topk)  X(ND_TOPK_GRAD, nd_topk_grad)                 \
    X(UPDATE, update)                                                   \
    /* int8 (--quantize int8, ops/quant.c) */                              \
    X(Q8_QUANTIZE, q8_quantize)  X(Q8_DEQUANTIZE, q8_dequantize)       \
    X(Q8_DENSE, q8_dense)  X(Q8_CONV2D, q8_conv2d)                     \
    X(Q8_MAX_POOL, q8_max_pool)  X(Q8_AVG_POOL, q8_avg_pool)           \
    X(Q8_ADD, q8_add)  X(Q8_CONCAT, q8_concat)                         \
    X(Q8_REQUANTIZE, q8_requantize)  X(Q8_SOFTMAX, q8_softmax)

#endif
