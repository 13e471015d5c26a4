#!/usr/bin/python3
"""keras_coverage.py — how much of Keras 3's core layer set a .nn file can
write: each layer and each of its constructor arguments, asked of bin/nnc.

The Keras side is data written here from keras.io's Keras 3 API pages
(keras.layers: core, convolution, pooling, recurrent, normalization,
regularization, attention, reshaping, merging and activation layers; the
preprocessing layers are not a model's layers and are left out): every
layer class with its own constructor arguments (not the base Layer's
name/dtype/trainable kwargs), each with a value a Keras user would write.

The nnc side is asked, not assumed: a layer is covered when a tiny model
using it, written the Keras way (the class name, its required arguments),
compiles; an argument is covered when that model with `argument = value`
added compiles too.  A layer nnc lacks leaves all its arguments missing.

Usage: /usr/bin/python3 tests/keras_coverage.py [--nnc bin/nnc] [-v]
Prints the missing layers and arguments (with nnc's first error line under
-v), then `layers covered X of Y` and `arguments covered A of B`.  Exit
status 0 (a report, not a test) unless nnc cannot be run.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# model contexts: the input line and lines before the layer; {call} is the layer
SEQ = "  input x: f32[10, 3]\n"          # (steps, features)
IMG = "  input x: f32[8, 8, 3]\n"        # (height, width, channels)
VOL = "  input x: f32[6, 6, 6, 2]\n"     # (depth, height, width, channels)
VEC = "  input x: f32[8]\n"
TOK = "  input x: i32[6]\n"
TWO = "  input x: f32[8]\n  a = dense(x, 4)\n  b = dense(x, 4)\n"
TWO_SEQ = "  input x: f32[10, 3]\n  a = time_distributed(x, dense(4))\n  b = time_distributed(x, dense(4))\n"

INIT, REG, CON = "'he_normal'", "L2(0.01)", "'non_neg'"

# the arguments every conv-like layer shares (Keras 3's Conv base)
CONV_TAIL = [("strides", "1"), ("padding", "'same'"), ("data_format", "'channels_last'"),
             ("dilation_rate", "1"), ("groups", "1"), ("activation", "'relu'"), ("use_bias", "False"),
             ("kernel_initializer", INIT), ("bias_initializer", "'zeros'"), ("kernel_regularizer", REG),
             ("bias_regularizer", REG), ("activity_regularizer", REG), ("kernel_constraint", CON),
             ("bias_constraint", CON)]
SEP_TAIL = [("strides", "1"), ("padding", "'same'"), ("data_format", "'channels_last'"),
            ("dilation_rate", "1"), ("depth_multiplier", "1"), ("activation", "'relu'"), ("use_bias", "False"),
            ("depthwise_initializer", INIT), ("pointwise_initializer", INIT), ("bias_initializer", "'zeros'"),
            ("depthwise_regularizer", REG), ("pointwise_regularizer", REG), ("bias_regularizer", REG),
            ("activity_regularizer", REG), ("depthwise_constraint", CON), ("pointwise_constraint", CON),
            ("bias_constraint", CON)]
DW_TAIL = [("strides", "1"), ("padding", "'same'"), ("depth_multiplier", "1"), ("data_format", "'channels_last'"),
           ("dilation_rate", "1"), ("activation", "'relu'"), ("use_bias", "False"), ("depthwise_initializer", INIT),
           ("bias_initializer", "'zeros'"), ("depthwise_regularizer", REG), ("bias_regularizer", REG),
           ("activity_regularizer", REG), ("depthwise_constraint", CON), ("bias_constraint", CON)]
CT_TAIL = [("strides", "1"), ("padding", "'same'"), ("output_padding", "None"), ("data_format", "'channels_last'"),
           ("dilation_rate", "1"), ("activation", "'relu'"), ("use_bias", "False"), ("kernel_initializer", INIT),
           ("bias_initializer", "'zeros'"), ("kernel_regularizer", REG), ("bias_regularizer", REG),
           ("activity_regularizer", REG), ("kernel_constraint", CON), ("bias_constraint", CON)]
POOL = [("pool_size", "2"), ("strides", "None"), ("padding", "'valid'"), ("data_format", "'channels_last'")]
GPOOL = [("data_format", "'channels_last'"), ("keepdims", "False")]
RNN_COMMON = [("use_bias", "False"), ("kernel_initializer", INIT), ("recurrent_initializer", "'orthogonal'"),
              ("bias_initializer", "'zeros'"), ("kernel_regularizer", REG), ("recurrent_regularizer", REG),
              ("bias_regularizer", REG), ("activity_regularizer", REG), ("kernel_constraint", CON),
              ("recurrent_constraint", CON), ("bias_constraint", CON), ("dropout", "0.0"),
              ("recurrent_dropout", "0.0"), ("seed", "None"), ("return_sequences", "True"),
              ("return_state", "False"), ("go_backwards", "False"), ("stateful", "False"), ("unroll", "False")]
NORM_TAIL = [("beta_initializer", "'zeros'"), ("gamma_initializer", "'ones'"), ("beta_regularizer", REG),
             ("gamma_regularizer", REG), ("beta_constraint", CON), ("gamma_constraint", CON)]
CONVLSTM = [("strides", "1"), ("padding", "'same'"), ("data_format", "'channels_last'"), ("dilation_rate", "1"),
            ("activation", "'tanh'"), ("recurrent_activation", "'sigmoid'"), ("use_bias", "True"),
            ("kernel_initializer", INIT), ("recurrent_initializer", "'orthogonal'"), ("bias_initializer", "'zeros'"),
            ("unit_forget_bias", "True"), ("kernel_regularizer", REG), ("recurrent_regularizer", REG),
            ("bias_regularizer", REG), ("activity_regularizer", REG), ("kernel_constraint", CON),
            ("recurrent_constraint", CON), ("bias_constraint", CON), ("dropout", "0.0"),
            ("recurrent_dropout", "0.0"), ("seed", "None"), ("return_sequences", "False"),
            ("return_state", "False"), ("go_backwards", "False"), ("stateful", "False"), ("unroll", "False")]
ATT_TAIL = [("kernel_initializer", INIT), ("bias_initializer", "'zeros'"), ("kernel_regularizer", REG),
            ("bias_regularizer", REG), ("activity_regularizer", REG), ("kernel_constraint", CON),
            ("bias_constraint", CON), ("seed", "None")]

# (group, class, context, leading tensor arguments, required arguments, optional arguments)
LAYERS = [
    # core
    ("core", "Dense", VEC, "", [("units", "4")],
     [("activation", "'relu'"), ("use_bias", "False"), ("kernel_initializer", INIT), ("bias_initializer", "'zeros'"),
      ("kernel_regularizer", REG), ("bias_regularizer", REG), ("activity_regularizer", REG),
      ("kernel_constraint", CON), ("bias_constraint", CON), ("lora_rank", "None")]),
    ("core", "EinsumDense", SEQ, "", [("equation", "'abc,cd->abd'"), ("output_shape", "(None, 4)")],
     [("activation", "'relu'"), ("bias_axes", "'d'"), ("kernel_initializer", INIT), ("bias_initializer", "'zeros'"),
      ("kernel_regularizer", REG), ("bias_regularizer", REG), ("activity_regularizer", REG),
      ("kernel_constraint", CON), ("bias_constraint", CON), ("lora_rank", "None")]),
    ("core", "Activation", VEC, "", [("activation", "'relu'")], []),
    ("core", "Embedding", TOK, "", [("input_dim", "20"), ("output_dim", "4")],
     [("embeddings_initializer", "'uniform'"), ("embeddings_regularizer", REG), ("embeddings_constraint", CON),
      ("mask_zero", "True"), ("weights", "None"), ("lora_rank", "None")]),
    ("core", "Masking", SEQ, "", [], [("mask_value", "0.0")]),
    ("core", "Lambda", VEC, "", [("function", "relu")], [("output_shape", "None"), ("mask", "None"),
                                                         ("arguments", "None")]),
    ("core", "Identity", VEC, "", [], []),
    # convolution
    ("convolution", "Conv1D", SEQ, "", [("filters", "4"), ("kernel_size", "3")], CONV_TAIL),
    ("convolution", "Conv2D", IMG, "", [("filters", "4"), ("kernel_size", "3")], CONV_TAIL),
    ("convolution", "Conv3D", VOL, "", [("filters", "4"), ("kernel_size", "3")], CONV_TAIL),
    ("convolution", "SeparableConv1D", SEQ, "", [("filters", "4"), ("kernel_size", "3")], SEP_TAIL),
    ("convolution", "SeparableConv2D", IMG, "", [("filters", "4"), ("kernel_size", "3")], SEP_TAIL),
    ("convolution", "DepthwiseConv1D", SEQ, "", [("kernel_size", "3")], DW_TAIL),
    ("convolution", "DepthwiseConv2D", IMG, "", [("kernel_size", "3")], DW_TAIL),
    ("convolution", "Conv1DTranspose", SEQ, "", [("filters", "4"), ("kernel_size", "3")], CT_TAIL),
    ("convolution", "Conv2DTranspose", IMG, "", [("filters", "4"), ("kernel_size", "3")], CT_TAIL),
    ("convolution", "Conv3DTranspose", VOL, "", [("filters", "4"), ("kernel_size", "3")], CT_TAIL),
    # pooling
    ("pooling", "MaxPooling1D", SEQ, "", [], POOL),
    ("pooling", "MaxPooling2D", IMG, "", [], POOL),
    ("pooling", "MaxPooling3D", VOL, "", [], POOL),
    ("pooling", "AveragePooling1D", SEQ, "", [], POOL),
    ("pooling", "AveragePooling2D", IMG, "", [], POOL),
    ("pooling", "AveragePooling3D", VOL, "", [], POOL),
    ("pooling", "GlobalMaxPooling1D", SEQ, "", [], GPOOL),
    ("pooling", "GlobalMaxPooling2D", IMG, "", [], GPOOL),
    ("pooling", "GlobalMaxPooling3D", VOL, "", [], GPOOL),
    ("pooling", "GlobalAveragePooling1D", SEQ, "", [], GPOOL),
    ("pooling", "GlobalAveragePooling2D", IMG, "", [], GPOOL),
    ("pooling", "GlobalAveragePooling3D", VOL, "", [], GPOOL),
    # recurrent
    ("recurrent", "LSTM", SEQ, "", [("units", "4")],
     [("activation", "'tanh'"), ("recurrent_activation", "'sigmoid'"), ("unit_forget_bias", "True"),
      ("use_cudnn", "'auto'")] + RNN_COMMON),
    ("recurrent", "GRU", SEQ, "", [("units", "4")],
     [("activation", "'tanh'"), ("recurrent_activation", "'sigmoid'"), ("reset_after", "True"),
      ("use_cudnn", "'auto'")] + RNN_COMMON),
    ("recurrent", "SimpleRNN", SEQ, "", [("units", "4")], [("activation", "'tanh'")] + RNN_COMMON),
    ("recurrent", "TimeDistributed", SEQ, "", [("layer", "Dense(4)")], []),
    ("recurrent", "Bidirectional", SEQ, "", [("layer", "LSTM(4)")],
     [("merge_mode", "'sum'"), ("weights", "None"), ("backward_layer", "None")]),
    ("recurrent", "ConvLSTM1D", "  input x: f32[5, 10, 3]\n", "", [("filters", "4"), ("kernel_size", "3")], CONVLSTM),
    ("recurrent", "ConvLSTM2D", "  input x: f32[5, 8, 8, 3]\n", "", [("filters", "4"), ("kernel_size", "3")],
     CONVLSTM),
    ("recurrent", "ConvLSTM3D", "  input x: f32[3, 6, 6, 6, 2]\n", "", [("filters", "4"), ("kernel_size", "3")],
     CONVLSTM),
    ("recurrent", "RNN", SEQ, "", [("cell", "LSTMCell(4)")],
     [("return_sequences", "False"), ("return_state", "False"), ("go_backwards", "False"), ("stateful", "False"),
      ("unroll", "False"), ("zero_output_for_mask", "False")]),
    ("recurrent", "LSTMCell", SEQ, "", [("units", "4")], []),
    ("recurrent", "GRUCell", SEQ, "", [("units", "4")], []),
    ("recurrent", "SimpleRNNCell", SEQ, "", [("units", "4")], []),
    ("recurrent", "StackedRNNCells", SEQ, "", [("cells", "[LSTMCell(4)]")], []),
    # normalization
    ("normalization", "BatchNormalization", IMG, "", [],
     [("axis", "-1"), ("momentum", "0.9"), ("epsilon", "0.001"), ("center", "True"), ("scale", "True"),
      ("moving_mean_initializer", "'zeros'"), ("moving_variance_initializer", "'ones'"),
      ("synchronized", "False")] + NORM_TAIL),
    ("normalization", "LayerNormalization", SEQ, "", [],
     [("axis", "-1"), ("epsilon", "0.001"), ("center", "True"), ("scale", "True"), ("rms_scaling", "False")]
     + NORM_TAIL),
    ("normalization", "UnitNormalization", VEC, "", [], [("axis", "-1")]),
    ("normalization", "GroupNormalization", IMG, "", [],
     [("groups", "3"), ("axis", "-1"), ("epsilon", "0.001"), ("center", "True"), ("scale", "True")] + NORM_TAIL),
    ("normalization", "SpectralNormalization", VEC, "", [("layer", "Dense(4)")], [("power_iterations", "1")]),
    # regularization
    ("regularization", "Dropout", VEC, "", [("rate", "0.5")], [("noise_shape", "None"), ("seed", "None")]),
    ("regularization", "SpatialDropout1D", SEQ, "", [("rate", "0.5")], [("seed", "None")]),
    ("regularization", "SpatialDropout2D", IMG, "", [("rate", "0.5")],
     [("data_format", "'channels_last'"), ("seed", "None")]),
    ("regularization", "SpatialDropout3D", VOL, "", [("rate", "0.5")],
     [("data_format", "'channels_last'"), ("seed", "None")]),
    ("regularization", "GaussianDropout", VEC, "", [("rate", "0.5")], [("seed", "None")]),
    ("regularization", "AlphaDropout", VEC, "", [("rate", "0.5")], [("noise_shape", "None"), ("seed", "None")]),
    ("regularization", "GaussianNoise", VEC, "", [("stddev", "0.1")], [("seed", "None")]),
    ("regularization", "ActivityRegularization", VEC, "", [], [("l1", "0.01"), ("l2", "0.01")]),
    # attention
    ("attention", "MultiHeadAttention", SEQ, "x, x, ", [("num_heads", "2"), ("key_dim", "4")],
     [("value_dim", "4"), ("dropout", "0.0"), ("use_bias", "False"), ("output_shape", "None"),
      ("attention_axes", "None"), ("flash_attention", "None")] + ATT_TAIL),
    ("attention", "GroupQueryAttention", SEQ, "x, x, ",
     [("head_dim", "4"), ("num_query_heads", "2"), ("num_key_value_heads", "1")],
     [("dropout", "0.0"), ("use_bias", "False"), ("flash_attention", "None")] + ATT_TAIL),
    ("attention", "Attention", TWO_SEQ, "a, b, ", [],
     [("use_scale", "False"), ("score_mode", "'dot'"), ("dropout", "0.0"), ("seed", "None")]),
    ("attention", "AdditiveAttention", TWO_SEQ, "a, b, ", [], [("use_scale", "True"), ("dropout", "0.0")]),
    # reshaping
    ("reshaping", "Reshape", VEC, "", [("target_shape", "(2, 4)")], []),
    ("reshaping", "Flatten", IMG, "", [], [("data_format", "'channels_last'")]),
    ("reshaping", "RepeatVector", VEC, "", [("n", "3")], []),
    ("reshaping", "Permute", SEQ, "", [("dims", "(2, 1)")], []),
    ("reshaping", "Cropping1D", SEQ, "", [], [("cropping", "(1, 1)")]),
    ("reshaping", "Cropping2D", IMG, "", [], [("cropping", "((1, 1), (1, 1))"), ("data_format", "'channels_last'")]),
    ("reshaping", "Cropping3D", VOL, "", [], [("cropping", "1"), ("data_format", "'channels_last'")]),
    ("reshaping", "UpSampling1D", SEQ, "", [], [("size", "2")]),
    ("reshaping", "UpSampling2D", IMG, "", [],
     [("size", "(2, 2)"), ("data_format", "'channels_last'"), ("interpolation", "'bilinear'")]),
    ("reshaping", "UpSampling3D", VOL, "", [], [("size", "2"), ("data_format", "'channels_last'")]),
    ("reshaping", "ZeroPadding1D", SEQ, "", [], [("padding", "1"), ("data_format", "'channels_last'")]),
    ("reshaping", "ZeroPadding2D", IMG, "", [], [("padding", "(1, 1)"), ("data_format", "'channels_last'")]),
    ("reshaping", "ZeroPadding3D", VOL, "", [], [("padding", "1"), ("data_format", "'channels_last'")]),
    # merging
    ("merging", "Concatenate", TWO, "a, b, ", [], [("axis", "-1")]),
    ("merging", "Average", TWO, "a, b, ", [], []),
    ("merging", "Maximum", TWO, "a, b, ", [], []),
    ("merging", "Minimum", TWO, "a, b, ", [], []),
    ("merging", "Add", TWO, "a, b, ", [], []),
    ("merging", "Subtract", TWO, "a, b, ", [], []),
    ("merging", "Multiply", TWO, "a, b, ", [], []),
    ("merging", "Dot", TWO, "a, b, ", [("axes", "1")], [("normalize", "False")]),
    # activation layers
    ("activation", "ReLU", VEC, "", [], [("max_value", "6.0"), ("negative_slope", "0.0"), ("threshold", "0.0")]),
    ("activation", "Softmax", VEC, "", [], [("axis", "-1")]),
    ("activation", "LeakyReLU", VEC, "", [], [("negative_slope", "0.2")]),
    ("activation", "PReLU", VEC, "", [],
     [("alpha_initializer", "'zeros'"), ("alpha_regularizer", REG), ("alpha_constraint", CON),
      ("shared_axes", "None")]),
    ("activation", "ELU", VEC, "", [], [("alpha", "0.5")]),
]


def compile_model(nnc, work, context, call):
    # a layer after it, so that the output is computed (not a view of the input) and
    # a masked sequence is consumed as Keras' losses would need
    after = "global_average_pooling1d(y)" if context == TOK else "relu(y)"
    src = "model m {\n%s  y = %s\n  z = %s\n  output z\n}\n" % (context, call, after)
    path = os.path.join(work, "m.nn")
    with open(path, "w") as f:
        f.write(src)
    r = subprocess.run([nnc, "m.nn", "-o", "m.c"], cwd=work, capture_output=True, text=True)
    errors = [l for l in r.stderr.splitlines() if ": error: " in l]
    return r.returncode == 0, errors[0].split(": error: ", 1)[1] if errors else r.stderr.strip()[:200]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc", default=os.path.join(ROOT, "bin", "nnc"))
    ap.add_argument("-v", action="store_true", help="nnc's reason for each missing item")
    args = ap.parse_args()
    nnc = os.path.abspath(args.nnc)
    if not os.access(nnc, os.X_OK):
        print("keras coverage: cannot run %s (make all first)" % nnc)
        return 2
    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
    work = tempfile.mkdtemp(prefix="keras-coverage-", dir=os.path.join(ROOT, "build"))
    layers_ok = args_ok = args_total = 0
    missing_layers, missing_args = [], []
    by_group = {}
    try:
        for group, cls, context, lead, required, optional in LAYERS:
            args_total += len(required) + len(optional)
            # the required arguments as Keras users write them: positionally, else by keyword
            forms = [", ".join(v for _, v in required), ", ".join("%s = %s" % kv for kv in required)]
            base, why = None, ""
            for form in forms:
                call = "%s(%s%s)" % (cls, lead, form)
                ok, why = compile_model(nnc, work, context, call.replace(", )", ")"))
                if ok:
                    base = (lead + form).rstrip(", ")
                    break
            g = by_group.setdefault(group, [0, 0])
            g[1] += 1
            if base is None:
                missing_layers.append((group, cls, why))
                missing_args += [(cls, a, "the layer is missing") for a, _ in optional]
                continue
            layers_ok += 1
            g[0] += 1
            args_ok += len(required)
            for name, value in optional:
                call = "%s(%s%s%s = %s)" % (cls, base, ", " if base else "", name, value)
                ok, why = compile_model(nnc, work, context, call)
                if ok:
                    args_ok += 1
                else:
                    missing_args.append((cls, name, why))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("missing layers:")
    for group, cls, why in missing_layers:
        print("  %-14s %s%s" % (group, cls, ("  -- " + why) if args.v else ""))
    print("missing arguments of the layers nnc has:")
    for cls, name, why in missing_args:
        if why != "the layer is missing":
            print("  %s.%s%s" % (cls, name, ("  -- " + why) if args.v else ""))
    print("by group: " + ", ".join("%s %d/%d" % (k, v[0], v[1]) for k, v in by_group.items()))
    print("layers covered %d of %d" % (layers_ok, len(LAYERS)))
    print("arguments covered %d of %d" % (args_ok, args_total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
