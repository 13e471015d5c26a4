#!/usr/bin/python3
"""onnx_torch.py — models exported from PyTorch with torch.onnx.export,
compiled by nnc, against PyTorch's own outputs.

Each model (random weights, eval mode, fixed seeds) is exported to ONNX,
compiled with `nnc model.onnx -o model.c`, built with tests/onnx_case.c and
run on a random input; its output must be within 1e-4 of PyTorch's,
relative to the output's scale (max |nnc - torch| / max |torch|).  Models: an MLP (also with its
weights in an external data file), a small CNN (conv,
batch norm, relu, max pool, linear), ReLU6 after convolutions and a linear
layer, an LSTM and a GRU sequence model, and
torchvision's ResNet-18 and MobileNetV2 (when python3-torchvision is
installed).  Then the
MLP and a small CNN (grouped strided convolution, global average pooling)
compiled for fine-tuning (--train): gradients against finite differences,
and three Adam steps that must lower the loss.

F.interpolate (nearest, bilinear, bicubic; align_corners false and true;
scale 2 and odd sizes) between two convolutions, exported as ONNX Resize,
at -O2 and -O0; a CNN with a bilinear upsample and a bicubic resize
fine-tuned with --train.  Resize's opset 18 and 19 attributes (antialias,
axes, keep_aspect_ratio_policy, half_pixel_symmetric) on hand-built graphs
against PyTorch or numpy.

Then two graphs that once gave wrong answers with exit 0 (a Slice to
INT64_MAX, Conv -> Transpose -> Reshape), at -O2 and -O0, against numpy.

Prints `PASS name: max err ...` per model and `torch onnx: N passed, M
failed`; exit status 1 on any failure.
"""

import os
import re
import subprocess
import sys
import tempfile
import warnings

try:
    import numpy as np
    import torch
    import torch.nn as nn
except ImportError:
    print("torch onnx: skipped (python3-torch not installed)")
    sys.exit(0)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOL = 1e-4


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                                 nn.Linear(128, 10), nn.Softmax(dim=1))

    def forward(self, x):
        return self.net(x)


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(8, 16, 3, stride=2, groups=2), nn.ReLU(),
                                      nn.AdaptiveAvgPool2d(1))
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        return self.head(torch.flatten(self.features(x), 1))


class SmoothCnn(nn.Module):
    """convolutions (one grouped, strided), tanh, global average pooling and
    a linear head: smooth everywhere, for finite differences"""
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.Tanh(), nn.Conv2d(4, 8, 3, stride=2, groups=2),
                                 nn.Tanh(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))

    def forward(self, x):
        return self.net(x)


class Interp(nn.Module):
    """a convolution, then F.interpolate (ONNX Resize), then a 1x1 convolution"""
    def __init__(self, **kw):
        super().__init__()
        self.kw = kw
        self.a = nn.Conv2d(2, 3, 3, padding=1)
        self.b = nn.Conv2d(3, 2, 1)

    def forward(self, x):
        return self.b(nn.functional.interpolate(self.a(x), **self.kw))


class SmoothUp(nn.Module):
    """SmoothCnn with a bilinear 2x upsample (and a bicubic resize to 17x17)
    in the middle: fine-tuning trains through Resize"""
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(1, 4, 3, padding=1, stride=2)
        self.b = nn.Conv2d(4, 8, 3, stride=2, groups=2)
        self.head = nn.Linear(8, 10)

    def forward(self, x):
        f = nn.functional
        y = f.interpolate(torch.tanh(self.a(x)), scale_factor=2, mode="bilinear", align_corners=False)
        y = f.interpolate(y, size=(17, 17), mode="bicubic", align_corners=False)
        return self.head(torch.flatten(f.adaptive_avg_pool2d(torch.tanh(self.b(y)), 1), 1))


class GridNet(nn.Module):
    """F.grid_sample (ONNX GridSample) of the input at locations a
    convolution computes from it, some outside [-1, 1] (the padding modes)"""
    def __init__(self, mode, padding, align):
        super().__init__()
        self.where = nn.Conv2d(3, 2, 3, padding=1)
        self.kw = dict(mode=mode, padding_mode=padding, align_corners=align)

    def forward(self, x):
        grid = 1.4 * torch.tanh(3 * self.where(x)).permute(0, 2, 3, 1)
        return nn.functional.grid_sample(x, grid, **self.kw)


GRID_SAMPLES = [(m, p, (i + j) % 2 == 1) for i, m in enumerate(("bilinear", "nearest", "bicubic"))
                for j, p in enumerate(("zeros", "border", "reflection"))]


class RoiNet(nn.Module):
    """torchvision.ops.roi_align (ONNX RoiAlign, opset 16) on a feature map,
    at regions a small head computes from the image: the rois and their
    image indices are run-time data, some regions partly outside"""
    def __init__(self, sampling, aligned):
        super().__init__()
        self.feat = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.box = nn.Linear(3, 10)
        self.kw = dict(output_size=(3, 4), spatial_scale=0.5, sampling_ratio=sampling, aligned=aligned)

    def forward(self, x):
        from torchvision.ops import roi_align
        n, _, h, w = x.shape
        t = torch.sigmoid(4 * self.box(x.mean((2, 3)))).reshape(2 * n, 5)
        x1, y1 = w * (t[:, 0] - 0.2), h * (t[:, 1] - 0.3)
        boxes = torch.stack([(t[:, 4] > t[:, 3]).float(), x1, y1, x1 + 0.8 * w * t[:, 2], y1 + 0.8 * h * t[:, 3]], 1)
        return roi_align(torch.tanh(self.feat(x)), boxes, **self.kw)


# F.interpolate's modes, exported as ONNX Resize: (name, arguments)
INTERPOLATIONS = [
    ("nearest x2", dict(scale_factor=2, mode="nearest")),
    ("nearest to 7x10", dict(size=(7, 10), mode="nearest")),
    ("bilinear x2", dict(scale_factor=2, mode="bilinear", align_corners=False)),
    ("bilinear x2 align_corners", dict(scale_factor=2, mode="bilinear", align_corners=True)),
    ("bilinear to 7x10", dict(size=(7, 10), mode="bilinear", align_corners=False)),
    ("bilinear to 3x4 align_corners", dict(size=(3, 4), mode="bilinear", align_corners=True)),
    ("bicubic x2", dict(scale_factor=2, mode="bicubic", align_corners=False)),
    ("bicubic to 7x10 align_corners", dict(size=(7, 10), mode="bicubic", align_corners=True)),
    ("bicubic to 3x5", dict(size=(3, 5), mode="bicubic", align_corners=False)),
]


class Relu6Net(nn.Module):
    """ReLU6 (ONNX Clip(0, 6)) after a 3x3 conv, a 1x1 conv and a linear
    layer: nnc fuses each into its layer's epilogue"""
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU6(), nn.Conv2d(8, 8, 1), nn.ReLU6(),
                                 nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 8), nn.ReLU6(),
                                 nn.Linear(8, 3))

    def forward(self, x):
        return self.net(x)


class Seq(nn.Module):
    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn
        self.head = nn.Linear(rnn.hidden_size * (2 if rnn.bidirectional else 1), 3)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.head(y[:, -1, :])


def models():
    torch.manual_seed(0)
    yield "mlp", Mlp(), (2, 1, 28, 28)
    yield "mlp_external", Mlp(), (1, 1, 28, 28)
    cnn = Cnn()
    with torch.no_grad():   # non-trivial batch-norm statistics
        cnn.features[1].running_mean.uniform_(-0.5, 0.5)
        cnn.features[1].running_var.uniform_(0.5, 2.0)
    yield "cnn", cnn, (2, 1, 28, 28)
    relu6 = Relu6Net()
    with torch.no_grad():   # pre-activations on both sides of 0 and of 6
        for p in relu6.parameters():
            p.mul_(6.0)
    yield "relu6", relu6, (2, 1, 12, 12)
    yield "lstm", Seq(nn.LSTM(4, 16, batch_first=True)), (3, 7, 4)
    yield "lstm_bidirectional", Seq(nn.LSTM(4, 8, batch_first=True, bidirectional=True)), (2, 6, 4)
    yield "gru", Seq(nn.GRU(5, 12, batch_first=True)), (3, 6, 5)
    try:
        import torchvision
        yield "resnet18", torchvision.models.resnet18(), (1, 3, 224, 224)
        yield "mobilenet_v2", torchvision.models.mobilenet_v2(), (1, 3, 224, 224)
    except ImportError:
        print("SKIP resnet18: python3-torchvision is not installed")


def check(name, model, shape, work, opt="-O2", opset=13):
    model.eval()
    x = torch.rand(*shape)
    with torch.no_grad():
        want = model(x).numpy()
    path = os.path.join(work, name.replace(" ", "_") + ".onnx")
    torch.onnx.export(model, x, path, opset_version=opset, input_names=["x"], output_names=["y"])
    if name.endswith("_external"):  # the weights in a file beside the model
        import onnx
        from onnx.external_data_helper import convert_model_to_external_data
        m = onnx.load(path)
        convert_model_to_external_data(m, all_tensors_to_one_file=True, location=name + ".data", size_threshold=0)
        onnx.save(m, path)
    c_file = os.path.join(work, "model.c")
    r = subprocess.run([os.path.join(ROOT, "bin", "nnc"), opt, path, "-o", c_file], capture_output=True, text=True)
    if r.returncode:
        return "nnc exited %d: %s" % (r.returncode, r.stderr.strip()[:400])
    exe = os.path.join(work, name.replace(" ", "_"))
    b = subprocess.run(["cc", "-std=c99", "-O2", "-I" + os.path.join(ROOT, "runtime"), "-I" + work,
                        "-DNNC_MODEL=model", "-DNNC_UPPER=MODEL", '-DNNC_HEADER="model.h"', c_file,
                        os.path.join(ROOT, "tests", "onnx_case.c"), os.path.join(ROOT, "build", "libnnc_rt.a"),
                        "-lm", "-o", exe], capture_output=True, text=True)
    if b.returncode:
        return "the generated C does not compile: " + b.stderr[:400]
    p = subprocess.run([exe], input=x.numpy().astype(np.float32).tobytes(), capture_output=True)
    if p.returncode:
        return "the model exited %d" % p.returncode
    got = np.frombuffer(p.stdout, dtype=np.float32).reshape(want.shape)
    # relative to the output's scale (a random MobileNetV2's logits are ~1e-10)
    return float(np.max(np.abs(got - want)) / max(float(np.max(np.abs(want))), 1e-30))


def run_onnx(work, path, x, opt):
    """nnc's outputs for input x (per sample when the graph has a batch)"""
    c_file = os.path.join(work, "reg.c")
    r = subprocess.run([os.path.join(ROOT, "bin", "nnc"), opt, path, "-o", c_file], capture_output=True, text=True)
    if r.returncode:
        return "nnc exited %d: %s" % (r.returncode, r.stderr.strip()[:300])
    exe = os.path.join(work, "reg")
    subprocess.run(["cc", "-std=c99", "-O1", "-I" + os.path.join(ROOT, "runtime"), "-I" + work, "-DNNC_MODEL=reg",
                    "-DNNC_UPPER=REG", '-DNNC_HEADER="reg.h"', c_file, os.path.join(ROOT, "tests", "onnx_case.c"),
                    os.path.join(ROOT, "build", "libnnc_rt.a"), "-lm", "-o", exe], check=True)
    p = subprocess.run([exe], input=x.astype(np.float32).tobytes(), capture_output=True)
    return np.frombuffer(p.stdout, dtype=np.float32)


def graph_cases(work, cases, opset):
    """each (name, graph, x, want) at -O2 and -O0: within 1e-5 of want,
    relative to its largest value when that is above 1 -> [(name, error or None)]"""
    import onnx
    from onnx import helper as h
    out = []
    for name, graph, x, want in cases:
        path = os.path.join(work, "case.onnx")
        onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", opset)]), path)
        for opt in ("-O2", "-O0"):
            got = run_onnx(work, path, x, opt)
            if isinstance(got, str):
                out.append(("%s %s" % (name, opt), got))
            elif got.size != want.size:
                out.append(("%s %s" % (name, opt), "%d values, want %d" % (got.size, want.size)))
            else:
                err = float(np.max(np.abs(got - want.reshape(-1)))) / max(1.0, float(np.max(np.abs(want))))
                out.append(("%s %s" % (name, opt), None if err < 1e-5 else "error %.1e" % err))
    return out


def regressions(work):
    """graphs exporters write that once gave wrong answers with exit 0: a
    Slice whose end is INT64_MAX (x[:, 129:] from PyTorch) read as an empty
    tensor; Conv -> Transpose(0, 2, 3, 1) -> Reshape (detection heads) read
    its output from arena offset -1 at -O2; a Concat or Sum of more than 16
    operands lost the rest; nine graph outputs were refused.  And Clip with
    bounds computed at run time, once refused; forty graph inputs and
    forty-one outputs; --train training a bool mask, an index and a
    Constant node's scalar as if they were weights; nodes out of
    topological order (exit 1 before; ORT runs such files).
    -> [(name, error or message)]"""
    import onnx
    from onnx import helper as h, numpy_helper as nh, TensorProto as T
    rng = np.random.default_rng(3)
    out = []
    x = rng.uniform(-1, 1, (2, 200, 3)).astype(np.float32)
    g = h.make_graph([h.make_node("Slice", ["x", "st", "en", "ax"], ["y"])], "slice",
                     [h.make_tensor_value_info("x", T.FLOAT, [2, 200, 3])], [h.make_tensor_value_info("y", T.FLOAT, None)],
                     [nh.from_array(np.array([129], np.int64), "st"), nh.from_array(np.array([2**63 - 1], np.int64), "en"),
                      nh.from_array(np.array([1], np.int64), "ax")])
    cases = [("slice to INT64_MAX", g, x, x[:, 129:, :])]
    w = rng.uniform(-1, 1, (4, 3, 3, 3)).astype(np.float32)
    x = rng.uniform(-1, 1, (2, 3, 4, 6)).astype(np.float32)
    g = h.make_graph([h.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
                      h.make_node("Transpose", ["c"], ["t"], perm=[0, 2, 3, 1]), h.make_node("Reshape", ["t", "sh"], ["y"])],
                     "head", [h.make_tensor_value_info("x", T.FLOAT, [2, 3, 4, 6])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)],
                     [nh.from_array(w, "w"), nh.from_array(np.array([2, 48, 2], np.int64), "sh")])
    want = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), padding=1).permute(0, 2, 3, 1)
    cases.append(("conv, transpose, reshape", g, x, want.reshape(2, 48, 2).numpy()))
    # 20 operands: more than a node of nnc takes (Concat is split) and more
    # than the importer once read (the rest were dropped without a word)
    x = rng.uniform(-1, 1, (2, 3)).astype(np.float32)
    ks = [nh.from_array(rng.uniform(-1, 1, (2, 3)).astype(np.float32), "k%d" % i) for i in range(19)]
    names = ["x"] + ["k%d" % i for i in range(19)]
    for op in ("Concat", "Sum"):
        g = h.make_graph([h.make_node(op, names, ["y"], **({"axis": 1} if op == "Concat" else {}))], op.lower(),
                         [h.make_tensor_value_info("x", T.FLOAT, [2, 3])], [h.make_tensor_value_info("y", T.FLOAT, None)],
                         ks)
        parts = [x] + [np.broadcast_to(nh.to_array(k), (2, 3)) for k in ks]
        want = np.concatenate(parts, axis=1) if op == "Concat" else sum(parts)
        cases.append(("%s of 20 operands" % op, g, x, want))
    # nine outputs (an age/gender model has nine): more than nnc once took
    x = rng.uniform(-1, 1, (1, 3)).astype(np.float32)
    g = h.make_graph([h.make_node("Mul", ["x", "c%d" % i], ["y%d" % i]) for i in range(9)], "nine",
                     [h.make_tensor_value_info("x", T.FLOAT, [1, 3])],
                     [h.make_tensor_value_info("y%d" % i, T.FLOAT, None) for i in range(9)],
                     [nh.from_array(np.array([i + 1.0], np.float32), "c%d" % i) for i in range(9)])
    cases.append(("nine outputs", g, x, np.concatenate([x * (i + 1) for i in range(9)], axis=1)))
    # Clip with bounds computed at run time (once refused): the mean of x as
    # min; then min above max (every value becomes max)
    x = rng.uniform(-1, 1, (2, 5)).astype(np.float32)
    for name, lo, hi, want in (("Clip above a computed min", "m", "", np.maximum(x, x.mean())),
                               ("Clip between a computed min and a constant max", "m", "c", np.clip(x, x.mean(), 0.25)),
                               ("Clip with a computed min above a computed max", "hi", "lo",
                                np.full_like(x, x.min()))):
        g = h.make_graph([h.make_node("ReduceMean", ["x"], ["m"], keepdims=0),
                          h.make_node("ReduceMax", ["x"], ["hi"], keepdims=0),
                          h.make_node("ReduceMin", ["x"], ["lo"], keepdims=0),
                          h.make_node("Clip", ["x", lo, hi], ["y"])], "clip",
                         [h.make_tensor_value_info("x", T.FLOAT, [2, 5])], [h.make_tensor_value_info("y", T.FLOAT, None)],
                         [nh.from_array(np.array(0.25, np.float32), "c")])
        cases.append((name, g, x, want))
    # forty inputs, a Concat of them all and forty Relu outputs beside it:
    # more graph inputs and outputs than a node of nnc has
    xs = [rng.uniform(-1, 1, (1, 2)).astype(np.float32) for i in range(40)]
    g = h.make_graph([h.make_node("Concat", ["x%d" % i for i in range(40)], ["y"], axis=1)] +
                     [h.make_node("Relu", ["x%d" % i], ["r%d" % i]) for i in range(40)], "forty",
                     [h.make_tensor_value_info("x%d" % i, T.FLOAT, [1, 2]) for i in range(40)],
                     [h.make_tensor_value_info("y", T.FLOAT, None)] +
                     [h.make_tensor_value_info("r%d" % i, T.FLOAT, None) for i in range(40)])
    x = np.concatenate(xs, axis=1)
    cases.append(("forty inputs, forty-one outputs", g, x, np.concatenate([x] + [np.maximum(a, 0) for a in xs], axis=1)))
    # nodes out of topological order, one read inside an If's branch (a
    # float16 converter appends its Casts after their readers; ORT runs it)
    x = rng.uniform(-1, 1, (2, 3)).astype(np.float32)
    branch = lambda op, out: h.make_graph([h.make_node(op, ["a", "a"], [out])], out, [],
                                          [h.make_tensor_value_info(out, T.FLOAT, None)])
    g = h.make_graph([h.make_node("Add", ["a", "b"], ["y"]),
                      h.make_node("If", ["c"], ["b"], then_branch=branch("Mul", "t"), else_branch=branch("Sub", "e")),
                      h.make_node("Relu", ["x"], ["a"]),
                      h.make_node("Constant", [], ["c"], value=nh.from_array(np.array(True)))], "unordered",
                     [h.make_tensor_value_info("x", T.FLOAT, [2, 3])], [h.make_tensor_value_info("y", T.FLOAT, None)])
    cases.append(("nodes out of topological order", g, x, np.maximum(x, 0) + np.maximum(x, 0) ** 2))
    out += graph_cases(work, cases, 13)
    # inf, -inf and NaN constants: written into the C as expressions that
    # compile (a bare `inf` did not), and computed with
    x = rng.uniform(-1, 1, (1, 3)).astype(np.float32)
    g = h.make_graph([h.make_node("Add", ["x", "c"], ["y"])], "nonfinite", [h.make_tensor_value_info("x", T.FLOAT, [1, 3])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)],
                     [nh.from_array(np.array([np.inf, -np.inf, np.nan], np.float32), "c")])
    path = os.path.join(work, "nonfinite.onnx")
    onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 13)]), path)
    for opt in ("-O2", "-O0"):
        got = run_onnx(work, path, x, opt)
        want = np.array([np.inf, -np.inf, np.nan], np.float32)
        ok = not isinstance(got, str) and got.size == 3 and np.array_equal(got, want, equal_nan=True)
        out.append(("inf and NaN constants %s" % opt, None if ok else "got %s" % (got,)))
    # --train trains the float initializers only: a bool mask, an int64
    # index and a Constant node's scalar stay what the file says
    w = rng.uniform(-1, 1, (4, 6)).astype(np.float32)
    g = h.make_graph([h.make_node("MatMul", ["x", "w"], ["a"]), h.make_node("Mul", ["a", "mask"], ["b"]),
                      h.make_node("Constant", [], ["half"], value=nh.from_array(np.array(0.5, np.float32))),
                      h.make_node("Sub", ["b", "half"], ["c"]), h.make_node("Cast", ["k"], ["kf"], to=T.FLOAT),
                      h.make_node("Add", ["c", "kf"], ["y"])],
                     "consts", [h.make_tensor_value_info("x", T.FLOAT, ["N", 4])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)],
                     [nh.from_array(w, "w"), nh.from_array(np.array([1, 0, 1, 1, 0, 1], np.bool_), "mask"),
                      nh.from_array(np.arange(6, dtype=np.int64), "k")])
    path = os.path.join(work, "consts.onnx")
    onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 13)]), path)
    r = subprocess.run([os.path.join(ROOT, "bin", "nnc"), path, "--train", "mse", "--summary"], capture_output=True,
                       text=True)
    m = re.search(r"Trainable: (\d+)", r.stdout)
    out.append(("--train trains float initializers only",
                None if m and m.group(1) == "24" else "Trainable: %s, want 24 (w alone)\n%s" %
                (m.group(1) if m else "?", r.stdout + r.stderr)))
    return out


def spectral(work):
    """DFT and STFT (opset 17) against numpy's FFT at -O2 and -O0: a
    one-sided DFT zero-padded past the signal, an inverse complex DFT
    truncated, a windowed STFT of overlapping frames on two signals
    -> [(name, error or None)]"""
    import onnx
    from onnx import helper as h, numpy_helper as nh, TensorProto as T
    rng = np.random.default_rng(7)
    cases = []
    x = rng.uniform(-1, 1, (2, 30, 3, 1)).astype(np.float32)
    y = np.fft.rfft(x[..., 0].astype(np.float64), n=40, axis=1)
    cases.append(("DFT one-sided, zero-padded to 40", [h.make_node("DFT", ["x", "L"], ["y"], axis=1, onesided=1)],
                  x, np.stack([y.real, y.imag], axis=-1), [nh.from_array(np.array(40, np.int64), "L")]))
    x = rng.uniform(-1, 1, (1, 5, 24, 2)).astype(np.float32)
    y = np.fft.ifft(x[..., 0].astype(np.float64) + 1j * x[..., 1], n=16, axis=2)
    cases.append(("DFT inverse of a complex signal, truncated to 16",
                  [h.make_node("DFT", ["x", "L"], ["y"], axis=2, inverse=1)], x, np.stack([y.real, y.imag], axis=-1),
                  [nh.from_array(np.array(16, np.int64), "L")]))
    x = rng.uniform(-1, 1, (2, 1000, 1)).astype(np.float32)
    win = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 400)).astype(np.float32)
    frames = np.stack([x[:, i * 160:i * 160 + 400, 0] for i in range((1000 - 400) // 160 + 1)], axis=1)
    y = np.fft.rfft(frames.astype(np.float64) * win, axis=2)
    cases.append(("STFT of overlapping Hann-windowed frames", [h.make_node("STFT", ["x", "step", "w"], ["y"])], x,
                  np.stack([y.real, y.imag], axis=-1),
                  [nh.from_array(np.array(160, np.int64), "step"), nh.from_array(win, "w")]))
    graphs = [(name, h.make_graph(nodes, "spectral", [h.make_tensor_value_info("x", T.FLOAT, list(x.shape))],
                                  [h.make_tensor_value_info("y", T.FLOAT, None)], inits), x, want)
              for name, nodes, x, want, inits in cases]
    return graph_cases(work, graphs, 17)


def resize_newer(work):
    """Resize's opset 18 and 19 attributes, on hand-built graphs: antialias
    (with exclude_outside and cubic_coeff_a -0.5 it is PyTorch's
    antialiased bilinear and bicubic), axes, keep_aspect_ratio_policy and
    half_pixel_symmetric.  -> [(name, error or None)]"""
    import onnx
    from onnx import helper as h, numpy_helper as nh, TensorProto as T
    F = torch.nn.functional
    x = np.random.default_rng(4).uniform(-1, 1, (1, 2, 13, 11)).astype(np.float32)
    xt = torch.from_numpy(x)

    def lin(a, axis, n_in, n_out, s):     # half_pixel_symmetric, linear, along one axis
        off = n_in / 2 * (1 - n_out / (s * n_in))
        rows = []
        for j in range(n_out):
            xo = off + (j + 0.5) / s - 0.5
            f = int(np.floor(xo))
            r = xo - f
            rows.append((1 - r) * np.take(a, min(max(f, 0), n_in - 1), axis) +
                        r * np.take(a, min(max(f + 1, 0), n_in - 1), axis))
        return np.stack(rows, axis)

    cases = []
    for mode, tmode in (("linear", "bilinear"), ("cubic", "bicubic")):
        for size in ((5, 4), (20, 5)):
            cases.append(("%s antialias to %dx%d" % (mode, *size), 18, ["x", "", "", "sz"],
                          {"sz": np.array([1, 2, *size], np.int64)},
                          dict(mode=mode, antialias=1, exclude_outside=1, cubic_coeff_a=-0.5),
                          F.interpolate(xt, size=size, mode=tmode, align_corners=False, antialias=True).numpy()))
    cases.append(("axes, keep_aspect_ratio_policy not_larger", 18, ["x", "", "", "sz"],
                  {"sz": np.array([26, 33], np.int64)}, dict(mode="linear", axes=[2, 3], keep_aspect_ratio_policy="not_larger"),
                  F.interpolate(xt, scale_factor=2, mode="bilinear", align_corners=False).numpy()))
    cases.append(("axes, keep_aspect_ratio_policy not_smaller", 18, ["x", "", "", "sz"],
                  {"sz": np.array([7, 26], np.int64)}, dict(mode="nearest", axes=[3, 2], keep_aspect_ratio_policy="not_smaller",
                                                            coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
                  x.repeat(2, axis=2).repeat(2, axis=3)))
    cases.append(("axes with scales", 18, ["x", "", "sc"], {"sc": np.array([3.0, 1.0], np.float32)},
                  dict(mode="nearest", axes=[-1, 2], coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
                  x.repeat(3, axis=3)))
    cases.append(("half_pixel_symmetric at scale 0.6", 19, ["x", "", "sc"], {"sc": np.array([1, 1, 0.6, 0.6], np.float32)},
                  dict(mode="linear", coordinate_transformation_mode="half_pixel_symmetric"),
                  lin(lin(x.astype(np.float64), 2, 13, 7, np.float32(0.6)), 3, 11, 6, np.float32(0.6))))
    out = []
    for name, opset, ins, inits, attrs, want in cases:
        g = h.make_graph([h.make_node("Resize", ins, ["y"], **attrs)], "resize",
                         [h.make_tensor_value_info("x", T.FLOAT, list(x.shape))],
                         [h.make_tensor_value_info("y", T.FLOAT, None)], [nh.from_array(v, k) for k, v in inits.items()])
        m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
        m.ir_version = 8
        path = os.path.join(work, "resize.onnx")
        onnx.save(m, path)
        for opt in ("-O2", "-O0"):
            got = run_onnx(work, path, x, opt)
            if isinstance(got, str):
                out.append(("Resize %s %s" % (name, opt), got))
            elif got.size != want.size:
                out.append(("Resize %s %s" % (name, opt), "%d values, want %d" % (got.size, want.size)))
            else:
                err = float(np.max(np.abs(got - want.reshape(-1))))
                out.append(("Resize %s %s" % (name, opt), None if err < 1e-5 else "max err %.1e" % err))
    return out


def finetune(work, opt, model):
    """a model exported with a batch of 4, compiled with --train: its
    gradients match finite differences and Adam steps lower the loss (-O2
    trains fused dense nodes, -O0 the imported MatMul/Add/Relu/Softmax ops;
    the CNN its convolutions and global average pool, with tanh: no kinks
    for the differences to straddle)"""
    path = os.path.join(work, "finetune.onnx")
    torch.onnx.export(model.eval(), torch.rand(4, 1, 28, 28), path, opset_version=13)
    c_file = os.path.join(work, "ft.c")
    r = subprocess.run([os.path.join(ROOT, "bin", "nnc"), opt, path, "--train", "loss=sparse_categorical_crossentropy",
                        "--optimizer", "adam(lr = 1e-3)", "-o", c_file], capture_output=True, text=True)
    if r.returncode:
        return "nnc exited %d: %s" % (r.returncode, r.stderr.strip()[:400])
    exe = os.path.join(work, "ft")
    b = subprocess.run(["cc", "-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-O2",
                        "-I" + os.path.join(ROOT, "runtime"), "-I" + work, "-DNNC_MODEL=ft", "-DNNC_UPPER=FT",
                        '-DNNC_HEADER="ft.h"', c_file, os.path.join(ROOT, "tests", "model_check.c"),
                        os.path.join(ROOT, "build", "libnnc_rt.a"), "-lm", "-o", exe], capture_output=True, text=True)
    if b.returncode:
        return "the generated C does not compile: " + b.stderr[:400]
    grad = subprocess.run([exe, "gradcheck"], capture_output=True, text=True).stdout
    fields = dict(line.split(" ", 1) for line in grad.splitlines() if " " in line)
    if int(fields.get("checked", 0)) < 10 or int(fields.get("bad", 1)) != 0:
        return "gradient check failed: " + grad.replace("\n", " ")
    out = subprocess.run([exe, "outputs"], capture_output=True, text=True).stdout
    losses = [float(line.split()[1]) for line in out.splitlines() if line.startswith("loss ")]
    if len(losses) != 3 or not losses[0] > losses[1] > losses[2]:
        return "the loss did not fall: %s" % losses
    return "gradients checked %s, loss %.4f -> %.4f -> %.4f" % (fields["checked"], *losses)


def roi_aligns(work):
    """ONNX RoiAlign against torchvision's roi_align: adaptive and fixed
    sampling, aligned (half_pixel) or not, at -O2 and -O0 -> [(name, error or None)].
    torchvision 0.14 writes no coordinate_transformation_mode, which from
    opset 16 on means half_pixel: aligned=False is exported at opset 11
    (output_half_pixel, the only mode before 16), aligned=True at 16"""
    try:
        import torchvision  # noqa: F401
    except ImportError:
        return [("roi_align", "python3-torchvision is not installed")]
    torch.manual_seed(4)
    out = []
    for sampling, aligned in ((0, False), (0, True), (2, False), (2, True)):
        name = "roi_align sampling_ratio %d%s" % (sampling, " aligned" if aligned else "")
        model = RoiNet(sampling, aligned)
        for opt in ("-O2", "-O0"):
            err = check(name, model, (2, 3, 11, 14), work, opt, opset=16 if aligned else 11)
            why = err if isinstance(err, str) else None if err <= TOL else "max err %.1e" % err
            out.append(("%s %s" % (name, opt), why))
    return out


def main():
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="nnc-torch-onnx-") as work:
        for name, model, shape in models():
            err = check(name, model, shape, work)
            ok = not isinstance(err, str) and err <= TOL
            passed += ok
            failed += not ok
            print("%s %s: %s" % ("PASS" if ok else "FAIL", name, "max err %.1e" % err if not isinstance(err, str) else err))
        torch.manual_seed(2)
        for name, kw in INTERPOLATIONS:     # ONNX Resize against F.interpolate
            model = Interp(**kw)
            for opt in ("-O2", "-O0"):
                err = check("interpolate " + name, model, (2, 2, 4, 6), work, opt)
                ok = not isinstance(err, str) and err <= TOL
                passed += ok
                failed += not ok
                print("%s interpolate %s %s: %s" % ("PASS" if ok else "FAIL", name, opt,
                                                     "max err %.1e" % err if not isinstance(err, str) else err))
        torch.manual_seed(3)
        for mode, padding, align in GRID_SAMPLES:   # ONNX GridSample against F.grid_sample
            name = "grid_sample %s %s%s" % (mode, padding, " align_corners" if align else "")
            for opt in ("-O2", "-O0"):
                err = check(name, GridNet(mode, padding, align), (3, 3, 5, 7), work, opt, opset=16)
                ok = not isinstance(err, str) and err <= TOL
                passed += ok
                failed += not ok
                print("%s %s %s: %s" % ("PASS" if ok else "FAIL", name, opt,
                                        "max err %.1e" % err if not isinstance(err, str) else err))
        for name, why in regressions(work) + resize_newer(work) + spectral(work) + roi_aligns(work):
            passed += why is None
            failed += why is not None
            print("%s %s%s" % ("FAIL" if why else "PASS", name, ": " + why if why else ": matches"))
        torch.manual_seed(1)
        for name, model in (("mlp", Mlp()), ("cnn", SmoothCnn()), ("upsampling cnn", SmoothUp())):
            for opt in ("-O2", "-O0"):
                res = finetune(work, opt, model)
                ok = res.startswith("gradients checked")
                passed += ok
                failed += not ok
                print("%s %s fine-tuning (--train %s): %s" % ("PASS" if ok else "FAIL", name, opt, res))
    print("torch onnx: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
