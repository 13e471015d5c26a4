#!/usr/bin/python3
"""torch_act.py — N-step training parity against PyTorch of small models
using the activations Keras users reach for beyond relu/sigmoid/tanh
(leaky_relu, elu, gelu in both forms, swish/silu, hard_sigmoid, softplus),
prelu and layer_normalization, each as a layer and, where it takes no
argument, as a dense/conv `activation =`; and Keras' merging layers
subtract, average, maximum and minimum; Permute and RepeatVector.

The machinery is tests/torch_parity.py's (imported): write the .nn text,
compile it with bin/nnc, run tests/torch_parity.c (initial parameters, one
batch, the losses of 10 train_batch calls, outputs before and after, every
parameter after), rebuild the model in torch from the same initial weights
and batch, take the same 10 steps, compare.  Added here: EVERY parameter
after the steps is compared too (with sgd that is the sum of the ten
gradients, so a wrong backward shows even where the loss hides it).

The torch side, Keras' meaning written with torch's own functions:

* leaky_relu as a LAYER: Keras' LeakyReLU default negative_slope 0.3; as an
  activation argument keras.activations.leaky_relu's 0.2 (F.leaky_relu).
* elu: F.elu (alpha 1, or the layer's); gelu: F.gelu (erf) and
  F.gelu(approximate='tanh') for approximate = true; swish and silu:
  F.silu; hard_sigmoid: F.hardsigmoid (relu6(x + 3) / 6, Keras 3's);
  softplus: F.softplus.
* prelu: alpha of the input's per-sample shape with the shared axes 1;
  per channel on an image (shared_axes = 1, 2) it is F.prelu on the
  channels-first tensor, otherwise where(x > 0, x, alpha x).
* layer_normalization: F.layer_norm over the last axis with eps 1e-3
  (nn.LayerNorm's math with Keras' epsilon), gamma and beta as weight and
  bias (None where scale / center = false).

Tolerances are torch_parity.py's: loss rel err 1e-4, outputs (and here
every final parameter) 1e-5 + 1e-4 |torch|.

Usage: tests/torch_act.py [--nnc bin/nnc] [--rt build/libnnc_rt.a] [--keep] [-v] [name...]
Prints `PASS name: ...` / `FAIL ...` per model and `torch act: N passed, M
failed`; exit status 1 on any failure, 0 with a `skipped` line without torch.
"""

import argparse
import os
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import torch
    import torch_parity as tp
except ImportError:
    print("torch act: skipped (python3-torch not installed)")
    sys.exit(0)

F = torch.nn.functional
ROOT = tp.ROOT

# the activation arguments (no parameters: the activation functions' defaults)
tp.ACTS.update({
    "leaky_relu": lambda z: F.leaky_relu(z, 0.2),
    "elu": F.elu,
    "gelu": F.gelu,
    "swish": F.silu,
    "silu": F.silu,
    "hard_sigmoid": F.hardsigmoid,
    "softplus": F.softplus,
})


def dense(x, P, layer, units, act="linear"):
    return tp.dense(x, P, layer, units, act)


def prelu(x, P, layer, shared=()):
    """Keras PReLU: alpha shaped like a sample with the shared axes (1-based) 1"""
    shape = [1 if i + 1 in shared else d for i, d in enumerate(x.shape[1:])]
    alpha = P(layer + ".alpha", tuple(shape))
    if x.dim() == 4 and tuple(shared) == (1, 2):  # per channel: torch's own PReLU
        return tp.to_cl(F.prelu(tp.to_cf(x), alpha.reshape(-1)))
    return torch.where(x > 0, x, alpha * x)


def layer_norm(x, P, layer, eps=1e-3, center=True, scale=True):
    c = (x.shape[-1],)
    return F.layer_norm(x, c, P(layer + ".gamma", c) if scale else None,
                        P(layer + ".beta", c) if center else None, eps=eps)


SCCE = tp.SCCE
SGD = "sgd(lr = 0.1)"

# name, input shape, .nn body, torch forward, loss, optimizer, label kind
MODELS = [
    ("act_arguments", (12,), """
        dense(16, leaky_relu)
        dense(14, elu)
        dense(12, gelu)
        dense(10, swish)
        dense(10, silu)
        dense(8, softplus)
        dense(6, hard_sigmoid)
        dense(4, softmax)
    """, lambda P, x, train: dense(dense(dense(dense(dense(dense(dense(dense(
        x, P, "dense", 16, "leaky_relu"), P, "dense_1", 14, "elu"), P, "dense_2", 12, "gelu"),
        P, "dense_3", 10, "swish"), P, "dense_4", 10, "silu"), P, "dense_5", 8, "softplus"),
        P, "dense_6", 6, "hard_sigmoid"), P, "dense_7", 4, "softmax"),
     SCCE, SGD, "sparse"),
    ("act_layers", (12,), """
        dense(16)
        leaky_relu
        dense(14)
        leaky_relu(negative_slope = 0.05)
        dense(12)
        elu(alpha = 0.5)
        dense(12)
        gelu(approximate = true)
        dense(10)
        gelu
        dense(10)
        swish
        dense(8)
        silu
        dense(8)
        softplus
        dense(6)
        hard_sigmoid
        dense(4, softmax)
    """, lambda P, x, train: dense(F.hardsigmoid(dense(F.softplus(dense(F.silu(dense(F.silu(dense(
        F.gelu(dense(F.gelu(dense(F.elu(dense(F.leaky_relu(dense(F.leaky_relu(dense(
            x, P, "dense", 16), 0.3), P, "dense_1", 14), 0.05), P, "dense_2", 12), alpha=0.5),
            P, "dense_3", 12), approximate="tanh"), P, "dense_4", 10)), P, "dense_5", 10)),
        P, "dense_6", 8)), P, "dense_7", 8)), P, "dense_8", 6)), P, "dense_9", 4, "softmax"),
     SCCE, SGD, "sparse"),
    # the epilogues of conv2d / conv1d, and the activations on 4-D tensors
    ("act_conv", (8, 8, 2), """
        conv2d(6, 3, padding = same, activation = gelu)
        conv2d(6, 3, activation = leaky_relu)
        elu
        conv2d(4, 3, strides = 2, padding = same, activation = swish)
        flatten
        dense(3, softmax)
    """, lambda P, x, train: dense(tp.flatten(tp.conv(F.elu(tp.conv(tp.conv(
        x, P, "conv2d", 6, 3, padding="same", act="gelu"), P, "conv2d_1", 6, 3, act="leaky_relu")),
        P, "conv2d_2", 4, 3, strides=2, padding="same", act="swish")), P, "dense", 3, "softmax"),
     SCCE, SGD, "sparse"),
    ("act_conv1d_mse", (10, 3), """
        conv1d(5, 3, activation = softplus)
        conv1d(4, 3, padding = same, activation = hard_sigmoid)
        flatten
        dense(2, silu)
    """, lambda P, x, train: dense(tp.flatten(tp.conv(tp.conv(
        x, P, "conv1d", 5, 3, act="softplus"), P, "conv1d_1", 4, 3, padding="same", act="hard_sigmoid")),
        P, "dense", 2, "silu"),
     "mse", SGD, "real"),
    # prelu: Keras' default (an alpha per element, zeros), initialised alphas,
    # per channel on a conv output, per row of a sequence; trained with sgd so
    # the alphas' gradients show in the final parameters
    ("prelu_dense", (12,), """
        dense(16)
        prelu
        dense(8)
        prelu(alpha_initializer = glorot_uniform)
        dense(4, softmax)
    """, lambda P, x, train: dense(prelu(dense(prelu(dense(x, P, "dense", 16), P, "prelu"),
                                               P, "dense_1", 8), P, "prelu_1"), P, "dense_2", 4, "softmax"),
     SCCE, SGD, "sparse"),
    ("prelu_conv", (8, 8, 2), """
        conv2d(6, 3, padding = same)
        prelu(shared_axes = 1, 2, alpha_initializer = glorot_uniform)
        conv2d(4, 3)
        prelu(3, alpha_initializer = glorot_uniform)
        flatten
        dense(3, softmax)
    """, lambda P, x, train: dense(tp.flatten(prelu(tp.conv(prelu(tp.conv(
        x, P, "conv2d", 6, 3, padding="same"), P, "prelu", (1, 2)), P, "conv2d_1", 4, 3),
        P, "prelu_1", (3,))), P, "dense", 3, "softmax"),
     SCCE, SGD, "sparse"),
    # layer norm: on dense features, without center / scale, over the
    # channels of every step of a sequence and of every pixel, straight on
    # the input; adam as well as sgd
    ("layer_norm_dense", (12,), """
        dense(16)
        layer_normalization
        relu
        dense(8)
        layer_normalization(center = false, epsilon = 0.01)
        gelu
        dense(6)
        layer_normalization(scale = false)
        dense(4, softmax)
    """, lambda P, x, train: dense(layer_norm(dense(F.gelu(layer_norm(dense(torch.relu(layer_norm(
        dense(x, P, "dense", 16), P, "layer_normalization")), P, "dense_1", 8),
        P, "layer_normalization_1", eps=0.01, center=False)), P, "dense_2", 6),
        P, "layer_normalization_2", scale=False), P, "dense_3", 4, "softmax"),
     SCCE, SGD, "sparse"),
    ("layer_norm_seq_adam", (6, 5), """
        layer_normalization
        conv1d(8, 3, activation = gelu)
        layer_normalization(gamma_initializer = glorot_uniform, beta_initializer = glorot_uniform)
        flatten
        dense(3, softmax)
    """, lambda P, x, train: dense(tp.flatten(layer_norm(tp.conv(layer_norm(
        x, P, "layer_normalization"), P, "conv1d", 8, 3, act="gelu"), P, "layer_normalization_1")),
        P, "dense", 3, "softmax"),
     SCCE, "adam(lr = 0.01)", "sparse"),
    ("layer_norm_conv", (6, 6, 3), """
        conv2d(8, 3, padding = same)
        layer_normalization
        swish
        global_avg_pool
        dense(3, softmax)
    """, lambda P, x, train: dense(tp.global_avg_pool(F.silu(layer_norm(tp.conv(
        x, P, "conv2d", 8, 3, padding="same"), P, "layer_normalization"))), P, "dense", 3, "softmax"),
     SCCE, SGD, "sparse"),
]


# Keras' merging layers beyond add / multiply / concat: subtract, average,
# maximum and minimum (TensorFlow's tie rule: the first operand takes the
# gradient where a >= b for maximum, a <= b for minimum; torch.where with the
# same masks), on features and on images
MODELS += [
    ("merge_dense", (12,), """
        a = dense(x, 10, tanh)
        b = dense(x, 10, tanh)
        s = subtract(a, b)
        m = maximum(a, b)
        n = minimum(b, a)
        v = average(s, m)
        w = add(v, n)
        dense(w, 4, softmax)
    """, lambda P, x, train: (lambda a, b: dense(
        ((a - b) + torch.where(a >= b, a, b)) * 0.5 + torch.where(b <= a, b, a), P, "dense_2", 4, "softmax"))(
        dense(x, P, "a", 10, "tanh"), dense(x, P, "b", 10, "tanh")),
     SCCE, SGD, "sparse"),
    ("merge_conv_keras", (6, 6, 2), """
        a = Conv2D(4, 3, padding = 'same')(x)
        b = Conv2D(4, 3, padding = 'same', activation = 'relu')(x)
        m = Maximum()([a, b])
        d = Subtract()([m, b])
        n = layers.minimum([d, a])
        Flatten()(Average()([n, m]))
        Dense(3, activation = 'softmax')
    """, lambda P, x, train: (lambda a, b: (lambda m: dense(tp.flatten(
        (torch.where(m - b <= a, m - b, a) + m) * 0.5), P, "dense", 3, "softmax"))(torch.where(a >= b, a, b)))(
        tp.conv(x, P, "a", 4, 3, padding="same"), tp.conv(x, P, "b", 4, 3, padding="same", act="relu")),
     SCCE, "adam(lr = 0.01)", "sparse"),
]

# Keras' Permute: a sample's axes reordered (1-based), on a sequence and an image
MODELS += [
    ("permute", (5, 4), """
        permute(2, 1)
        conv1d(3, 2, activation = tanh)
        Permute((2, 1))
        flatten
        dense(3, softmax)
    """, lambda P, x, train: dense(tp.flatten(tp.conv(
        x.permute(0, 2, 1), P, "conv1d", 3, 2, act="tanh").permute(0, 2, 1)), P, "dense", 3, "softmax"),
     SCCE, SGD, "sparse"),
    ("permute_image", (4, 6, 2), """
        permute(3, 1, 2)
        conv2d(3, 2, activation = tanh)
        flatten
        dense(3, softmax)
    """, lambda P, x, train: dense(tp.flatten(tp.conv(
        x.permute(0, 3, 1, 2), P, "conv2d", 3, 2, act="tanh")), P, "dense", 3, "softmax"),
     SCCE, SGD, "sparse"),
]

# Keras' RepeatVector: a vector repeated along new steps; its gradient sums them
MODELS += [
    ("repeat_vector", (6,), """
        dense(4, tanh)
        RepeatVector(3)
        conv1d(2, 2, activation = tanh)
        flatten
        dense(3, softmax)
    """, lambda P, x, train: dense(tp.flatten(tp.conv(
        dense(x, P, "dense", 4, "tanh").unsqueeze(1).repeat(1, 3, 1), P, "conv1d", 2, 2, act="tanh")),
        P, "dense_1", 3, "softmax"),
     SCCE, SGD, "sparse"),
]


def params_err(dump, final):
    """max over every parameter after the steps of |nnc - torch| - rtol |torch|,
    and the plain max |nnc - torch|"""
    pairs = []
    for name, v in dump["final"]:
        if len(v) != len(final[name]):
            raise ValueError("%s: nnc has %d floats, torch %d" % (name, len(v), len(final[name])))
        pairs += list(zip(v, final[name]))
    return tp.close(pairs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("names", nargs="*", help="models to run (default: all)")
    ap.add_argument("--nnc", default="bin/nnc")
    ap.add_argument("--rt", default="build/libnnc_rt.a")
    ap.add_argument("--keep", action="store_true", help="keep the build directory")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every step")
    args = ap.parse_args()
    args.ref = "torch"
    torch.set_num_threads(1)
    rows = [t for t in MODELS if not args.names or t[0] in args.names]
    unknown = set(args.names) - {t[0] for t in MODELS}
    if unknown:
        print("torch_act: unknown model(s): %s" % ", ".join(sorted(unknown)), file=sys.stderr)
        return 2
    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="torch_act.", dir=os.path.join(ROOT, "build"))
    passed = failed = 0
    try:
        def job(t):
            try:
                text = tp.nn_text_cnn("tp_" + t[0], t[1], t[2], t[4], t[5])
                return tp.run_c(tmp, t[0], text, t[6], args=args)
            except Exception as e:  # reported per model below
                return e
        with ThreadPoolExecutor(max_workers=2) as ex:
            dumps = list(ex.map(job, rows))
        for t, dump in zip(rows, dumps):
            name, opt = t[0], t[5]
            if isinstance(dump, Exception):
                failed += 1
                print("FAIL %s: %s" % (name, dump))
                continue
            try:
                losses, out0, out, how, final = tp.run_torch_cnn(
                    dump, t[1], t[3], t[4], t[5], t[6], args.ref, torch.float32)
                ok, loss_err, out_err, _ = tp.compare(dump, losses, out0, out, final)
                p_bad, p_err = params_err(dump, final)
            except (KeyError, ValueError, RuntimeError) as e:
                failed += 1
                print("FAIL %s: torch side: %s" % (name, e))
                continue
            ok = ok and p_bad <= tp.OUT_ATOL
            passed += ok
            failed += not ok
            print("%s %s: max loss rel err %.1e, max output err %.1e, max parameter err %.1e  [%s, %s]"
                  % ("PASS" if ok else "FAIL", name, loss_err, out_err, p_err, opt, how))
            if args.verbose or not ok:
                for i, (a, b) in enumerate(zip(dump["loss"], losses)):
                    print("    step %2d  nnc %.9g  torch %.9g  rel %.1e"
                          % (i + 1, a, b, abs(a - b) / max(abs(b), 1e-12)))
                for pname, v in dump["final"]:
                    err = max(abs(a - b) for a, b in zip(v, final[pname]))
                    print("    final %-28s max abs err %.1e (max |torch| %.2g)"
                          % (pname, err, max(abs(b) for b in final[pname])))
    finally:
        if args.keep:
            print("kept %s" % os.path.relpath(tmp, ROOT))
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("torch act: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
