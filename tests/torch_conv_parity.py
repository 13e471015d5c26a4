#!/usr/bin/python3
"""torch_conv_parity.py — N-step training parity against PyTorch for the
convolution-family .nn layers of issue 18 (conv2d_transpose, upsampling,
zero padding, cropping, causal and non-square convolutions,
separable_conv2d, Keras' global pooling names), at odd batch sizes.

The machinery is tests/torch_parity.py's (the C driver tests/torch_parity.c,
the Keras optimizers and losses, the comparison and its tolerances: loss
relative error 1e-4, outputs 1e-5 + 1e-4 |ref|); this file adds the layers'
torch forwards, written from Keras' definitions, and runs each model at the
batch sizes of its row (the driver's N; the compiled batch is 8).

Keras semantics the torch side builds explicitly:

* conv2d_transpose: as Keras 3's JAX backend computes it (deconv_pads: the
  input dilated by the stride, padded, convolved with the flipped kernel),
  not as nnc does (the data gradient of a convolution).  Kernel (kh, kw,
  filters, in_channels).
* upsampling: nearest repeats; bilinear is tf.image.resize's half-pixel
  form, which is F.interpolate(align_corners=False).
* zero padding and cropping: F.pad with positive and negative pads.
* causal conv1d: dilation*(k-1) zeros on the left, then a valid conv.

Usage: tests/torch_conv_parity.py [--nnc bin/nnc] [--rt build/libnnc_rt.a] [-v] [name...]
Prints PASS/FAIL per model and batch, then `torch conv parity: N passed, M failed`.
"""

import argparse
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import torch
except ImportError:
    print("torch conv parity: skipped (python3-torch not installed)")
    sys.exit(0)

import torch_parity as tp  # noqa: E402

F = torch.nn.functional
ROOT = tp.ROOT


def pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def deconv_pads(n_in, k, s, d, padding, op):
    """Keras 3's conv_transpose as its JAX backend computes it: the input
    dilated by the stride, padded (left, right), convolved with the flipped
    kernel (keras/src/backend/common/backend_utils.py); a formulation apart
    from nnc's scatter, with TensorFlow's cells wherever TF accepts the shape"""
    span = d * (k - 1) + 1
    if padding == "valid":
        op = max(span, s) - span if op is None else op
        return span - 1, span - 1 + op
    pad_len = s + span - 2 if op is None else span + span % 2 - 2 + op
    left = min(pad_len // 2 + pad_len % 2, span - 1)
    return left, pad_len - left


def conv_t(x, P, layer, filters, k, strides=1, padding="valid", output_padding=None, dilation=1,
           act="linear", use_bias=True):
    """Keras Conv2DTranspose on channels-last x"""
    (kh, kw), (sh, sw), (dh, dw) = pair(k), pair(strides), pair(dilation)
    ops = pair(output_padding) if output_padding is not None else (None, None)
    n, h, w, c = x.shape
    xd = torch.zeros(n, c, (h - 1) * sh + 1, (w - 1) * sw + 1, dtype=x.dtype)
    xd[:, :, ::sh, ::sw] = tp.to_cf(x)
    top, bottom = deconv_pads(h, kh, sh, dh, padding, ops[0])
    left, right = deconv_pads(w, kw, sw, dw, padding, ops[1])
    xd = F.pad(xd, [left, right, top, bottom])
    wt = P(layer + ".kernel", (kh, kw, filters, c)).permute(2, 3, 0, 1).flip(2, 3)  # (cout, cin, kh, kw)
    b = P(layer + ".bias", (filters,)) if use_bias else None
    return tp.ACTS[act](tp.to_cl(F.conv2d(xd, wt, b, dilation=(dh, dw))))


def conv2d(x, P, layer, filters, k, strides=1, padding="valid", dilation=1, act="linear", use_bias=True):
    """Keras Conv2D with int-or-pair kernel, strides and dilation"""
    (kh, kw), (sh, sw), (dh, dw) = pair(k), pair(strides), pair(dilation)
    c = x.shape[-1]
    xc = tp.to_cf(x)
    if padding == "same":
        pads = []
        for size, kk, s, d in ((x.shape[2], kw, sw, dw), (x.shape[1], kh, sh, dh)):
            out = -(-size // s)
            total = max((out - 1) * s + d * (kk - 1) + 1 - size, 0)
            pads += [total // 2, total - total // 2]
        xc = F.pad(xc, pads)
    w = P(layer + ".kernel", (kh, kw, c, filters)).permute(3, 2, 0, 1)
    b = P(layer + ".bias", (filters,)) if use_bias else None
    return tp.ACTS[act](tp.to_cl(F.conv2d(xc, w, b, stride=(sh, sw), dilation=(dh, dw))))


def upsample(x, size, mode="nearest"):
    """Keras UpSampling1D/2D: repeat (nearest) or tf.image.resize's bilinear"""
    scale = tuple(size) if isinstance(size, tuple) else (size,) * (x.dim() - 2)
    kw = {"align_corners": False} if mode == "bilinear" else {}
    return tp.to_cl(F.interpolate(tp.to_cf(x), scale_factor=scale, mode=mode, **kw))


def pad2d(x, top, bottom, left, right):
    """zero padding (positive) or cropping (negative) of channels-last (n, h, w, c)"""
    return tp.to_cl(F.pad(tp.to_cf(x), [left, right, top, bottom]))


def pad1d(x, left, right):
    return tp.to_cl(F.pad(tp.to_cf(x), [left, right]))


def conv1d(x, P, layer, filters, k, strides=1, padding="valid", dilation=1, act="linear"):
    """Keras Conv1D, 'causal': dilation*(k-1) zeros on the left, then valid"""
    xc = tp.to_cf(x)
    if padding == "causal":
        xc = F.pad(xc, [dilation * (k - 1), 0])
    w = P(layer + ".kernel", (k, x.shape[-1], filters)).permute(2, 1, 0)
    y = F.conv1d(xc, w, P(layer + ".bias", (filters,)), stride=strides, dilation=dilation)
    return tp.ACTS[act](tp.to_cl(y))


def separable(x, P, layer, filters, k, strides=1, padding="valid", dilation=1, depth_multiplier=1,
              act="linear", use_bias=True):
    """Keras SeparableConv2D: depthwise (channel c's j-th filter is output c*m + j), then 1x1"""
    (kh, kw), (sh, sw), (dh, dw) = pair(k), pair(strides), pair(dilation)
    c, m = x.shape[-1], depth_multiplier
    xc = tp.to_cf(x)
    if padding == "same":
        pads = []
        for size, kk, s, d in ((x.shape[2], kw, sw, dw), (x.shape[1], kh, sh, dh)):
            out = -(-size // s)
            total = max((out - 1) * s + d * (kk - 1) + 1 - size, 0)
            pads += [total // 2, total - total // 2]
        xc = F.pad(xc, pads)
    dk = P(layer + ".depthwise_kernel", (kh, kw, c, m)).reshape(kh, kw, c * m).permute(2, 0, 1).unsqueeze(1)
    mid = F.conv2d(xc, dk, stride=(sh, sw), dilation=(dh, dw), groups=c)
    pk = P(layer + ".pointwise_kernel", (1, 1, c * m, filters)).permute(3, 2, 0, 1)
    b = P(layer + ".bias", (filters,)) if use_bias else None
    return tp.ACTS[act](tp.to_cl(F.conv2d(mid, pk, b)))


def same_pads(sizes, ks, ss, ds):
    """Keras 'same' pads of the spatial axes, in F.pad's order (last axis first)"""
    pads = []
    for size, k, s, d in reversed(list(zip(sizes, ks, ss, ds))):
        out = -(-size // s)
        total = max((out - 1) * s + d * (k - 1) + 1 - size, 0)
        pads += [total // 2, total - total // 2]
    return pads


def depthwise(x, P, layer, k, strides=1, padding="valid", dilation=1, depth_multiplier=1, act="linear"):
    """Keras DepthwiseConv2D with pairs: channel c's j-th filter is output c*m + j"""
    (kh, kw), (sh, sw), (dh, dw) = pair(k), pair(strides), pair(dilation)
    c, m = x.shape[-1], depth_multiplier
    xc = tp.to_cf(x)
    if padding == "same":
        xc = F.pad(xc, same_pads(x.shape[1:3], (kh, kw), (sh, sw), (dh, dw)))
    w = P(layer + ".kernel", (kh, kw, c, m)).reshape(kh, kw, c * m).permute(2, 0, 1).unsqueeze(1)
    y = F.conv2d(xc, w, P(layer + ".bias", (c * m,)), stride=(sh, sw), dilation=(dh, dw), groups=c)
    return tp.ACTS[act](tp.to_cl(y))


def avg_pool2d(x, k, strides=None, padding="valid"):
    """Keras AveragePooling2D with pairs; 'same' averages the cells inside the input only"""
    k, s = pair(k), pair(strides or k)
    xc = tp.to_cf(x)
    if padding != "same":
        return tp.to_cl(F.avg_pool2d(xc, k, s))
    pads = same_pads(x.shape[1:3], k, s, (1, 1))
    ones = F.pad(torch.ones_like(xc[:1, :1]), pads)
    return tp.to_cl(F.avg_pool2d(F.pad(xc, pads), k, s) / F.avg_pool2d(ones, k, s))


def max_pool2d(x, k, strides=None):
    return tp.to_cl(F.max_pool2d(tp.to_cf(x), k, strides or k))


# name, input shape, .nn body, torch forward, loss, optimizer, label kind, batch sizes
MODELS = [
    ("conv_t_autoencoder", (6, 5, 2), """
        a = conv2d(x, 4, 3, strides = 2, padding = same, activation = relu)
        b = conv2d_transpose(a, 3, 3, strides = 2, padding = same, output_padding = (1, 0), activation = tanh)
        c = conv2d_transpose(b, 2, (2, 3), strides = (1, 2))
        d = conv2d_transpose(c, 2, (4, 2), strides = 2, padding = same, output_padding = (0, 1))
        y = flatten(d)
        output y
    """, lambda P, x, train: tp.flatten(conv_t(conv_t(conv_t(
        conv2d(x, P, "a", 4, 3, strides=2, padding="same", act="relu"),
        P, "b", 3, 3, strides=2, padding="same", output_padding=(1, 0), act="tanh"),
        P, "c", 2, (2, 3), strides=(1, 2)),
        P, "d", 2, (4, 2), strides=2, padding="same", output_padding=(0, 1))),
     "mse", "adam(lr = 0.01)", "real", (1, 3, 8)),
    ("conv_t_classifier", (4, 3, 3), """
        conv2d_transpose(4, 3, activation = relu)
        conv2d_transpose(2, 2, strides = 3, use_bias = false)
        conv2d_transpose(3, 3, dilation_rate = (2, 1), padding = same, activation = tanh)
        flatten
        dense(3, softmax)
    """, lambda P, x, train: tp.dense(tp.flatten(conv_t(conv_t(conv_t(
        x, P, "conv2d_transpose", 4, 3, act="relu"),
        P, "conv2d_transpose_1", 2, 2, strides=3, use_bias=False),
        P, "conv2d_transpose_2", 3, 3, dilation=(2, 1), padding="same", act="tanh")),
        P, "dense", 3, "softmax"),
     tp.SCCE, "sgd(lr = 0.1, momentum = 0.9)", "sparse", (5, 7)),
    # a small U-Net: down, up (nearest and bilinear), crop and pad to match, concat
    ("unet_spatial", (6, 7, 2), """
        a = conv2d(x, 4, (3, 2), padding = same, activation = relu)
        b = max_pool2d(a, (2, 3), strides = (2, 2))
        c = conv2d(b, 4, 3, padding = same, activation = tanh)
        d = upsampling2d(c, 2)
        e = zero_padding2d(d, ((0, 0), (0, 1)))
        f = cropping2d(a, ((0, 0), (0, 0)))
        g = concat(e, f)
        h = upsampling2d(g, (1, 2), interpolation = bilinear)
        i = cropping2d(h, ((1, 2), (3, 0)))
        j = conv2d(i, 2, 3, strides = (2, 3))
        y = flatten(j)
        output y
    """, lambda P, x, train: tp.flatten(conv2d(pad2d(upsample(torch.cat([
        pad2d(upsample(conv2d(max_pool2d(a := conv2d(x, P, "a", 4, (3, 2), padding="same", act="relu"),
                                         (2, 3), (2, 2)), P, "c", 4, 3, padding="same", act="tanh"), (2, 2)),
              0, 0, 0, 1),
        a], dim=-1), (1, 2), "bilinear"), -1, -2, -3, 0), P, "j", 2, 3, strides=(2, 3))),
     "mse", "adam(lr = 0.01)", "real", (3, 8)),
    # a temporal convolution network: causal dilated convolutions, padding and cropping in time
    ("tcn_causal", (12, 3), """
        a = conv1d(x, 4, 3, padding = causal, activation = relu)
        b = conv1d(a, 4, 3, padding = causal, dilation_rate = 2, activation = tanh)
        c = conv1d(b, 4, 2, strides = 2, padding = causal, dilation_rate = 4)
        d = upsampling1d(c, 2)
        e = zero_padding1d(d, (1, 2))
        f = cropping1d(e, (2, 0))
        y = global_average_pooling1d(f)
        z = dense(y, 3, softmax)
        output z
    """, lambda P, x, train: tp.dense(pad1d(upsample(conv1d(conv1d(conv1d(
        x, P, "a", 4, 3, padding="causal", act="relu"),
        P, "b", 4, 3, padding="causal", dilation=2, act="tanh"),
        P, "c", 4, 2, strides=2, padding="causal", dilation=4), 2), 1 - 2, 2).mean(dim=1),
        P, "z", 3, "softmax"),
     tp.SCCE, "adam(lr = 0.01)", "sparse", (1, 5)),
    ("separable", (7, 6, 3), """
        a = separable_conv2d(x, 4, 3, padding = same, depth_multiplier = 2, activation = relu)
        b = separable_conv2d(a, 5, (2, 3), strides = (2, 1), dilation_rate = 1, use_bias = false)
        c = global_max_pooling2d(b)
        y = dense(c, 3, softmax)
        output y
    """, lambda P, x, train: tp.dense(separable(separable(
        x, P, "a", 4, 3, padding="same", depth_multiplier=2, act="relu"),
        P, "b", 5, (2, 3), strides=(2, 1), use_bias=False).amax(dim=(1, 2)), P, "y", 3, "softmax"),
     tp.SCCE, "rmsprop(lr = 0.01)", "sparse", (3, 8)),
    # non-square kernels, strides, dilations and pool windows
    ("nonsquare", (7, 8, 2), """
        a = conv2d(x, 3, (3, 1), strides = (1, 2), dilation_rate = (2, 1), padding = same, activation = tanh)
        b = depthwise_conv2d(a, (1, 3), strides = (2, 1), depth_multiplier = 2, padding = same)
        c = avg_pool2d(b, (2, 3), strides = (1, 2), padding = same)
        d = max_pool2d(c, (3, 1))
        y = dense(flatten(d), 3, softmax)
        output y
    """, lambda P, x, train: tp.dense(tp.flatten(max_pool2d(avg_pool2d(depthwise(conv2d(
        x, P, "a", 3, (3, 1), strides=(1, 2), dilation=(2, 1), padding="same", act="tanh"),
        P, "b", (1, 3), strides=(2, 1), depth_multiplier=2, padding="same"),
        (2, 3), (1, 2), padding="same"), (3, 1))), P, "y", 3, "softmax"),
     tp.SCCE, "adam(lr = 0.01)", "sparse", (5, 8)),
]


def nn_text(name, shape, body, loss, opt):
    return tp.nn_text_cnn(name, shape, body, loss, opt)


def run_c(tmp, name, text, labels, n, args):
    """torch_parity.run_c with the driver built for n samples per batch"""
    cc = os.environ.get("CC")
    os.environ["CC"] = "%s -DPARITY_N=%d" % (cc or "cc", n)
    try:
        return tp.run_c(tmp, "%s_n%d" % (name, n), text.replace("tp_" + name, "tp_%s_n%d" % (name, n)), labels,
                        args)
    finally:
        if cc is None:
            del os.environ["CC"]
        else:
            os.environ["CC"] = cc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("names", nargs="*")
    ap.add_argument("--nnc", default="bin/nnc")
    ap.add_argument("--rt", default="build/libnnc_rt.a")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = [m for m in MODELS if not args.names or m[0] in args.names]
    unknown = set(args.names) - {m[0] for m in MODELS}
    if unknown:
        print("torch_conv_parity: unknown model(s): %s" % ", ".join(sorted(unknown)), file=sys.stderr)
        return 2
    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="torch_conv_parity.", dir=os.path.join(ROOT, "build"))
    passed = failed = 0
    try:
        for name, shape, body, forward, loss, opt, labels, batches in rows:
            for n in batches:
                label = "%s (batch %d)" % (name, n)
                try:
                    text = nn_text("tp_" + name, shape, body, loss, opt)
                    dump = run_c(tmp, name, text, labels, n, args)
                    losses, out0, out, how, final = tp.run_torch_cnn(
                        dump, shape, forward, loss, opt, labels, "torch", torch.float32)
                except Exception as e:  # a build failure, a parameter nnc lacks, a shape
                    failed += 1
                    print("FAIL %s: %s" % (label, e))
                    continue
                ok, loss_err, out_err, _ = tp.compare(dump, losses, out0, out, final)
                passed += ok
                failed += not ok
                print("%s %s: max loss rel err %.1e, max output err %.1e  [%s, %s]"
                      % ("PASS" if ok else "FAIL", label, loss_err, out_err, opt, how))
                if args.verbose or not ok:
                    for i, (a, b) in enumerate(zip(dump["loss"], losses)):
                        print("    step %2d  nnc %.9g  torch %.9g" % (i + 1, a, b))
    finally:
        if args.keep:
            print("kept %s" % os.path.relpath(tmp, ROOT))
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("torch conv parity: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
