#!/usr/bin/python3
"""onnx_qdq.py — QDQ-quantized ONNX models on nnc's int8 ops (issue 20 part 4).

A small float CNN (conv 3x3 + relu or relu6, maxpool 2x2, conv 3x3 'same',
add of the two, flatten, gemm; PyTorch's layers, random weights) and an
MLP (reshape, matmul, a float bias add, relu, matmul with uint8 weights)
are quantized the way ONNX Runtime's quantize_static writes them: its input
quantized, every activation a QuantizeLinear -> DequantizeLinear pair
(per tensor, uint8 or int8, ranges calibrated on the float model), the
weights int8 symmetric per tensor or per output channel through a
DequantizeLinear, the biases int32 of scale x_scale * w_scale, the last
result dequantized.  Each model is compiled by nnc twice, as it imports (the
groups fused into int8 ops, qdq.c) and with --no-q8-import (the float
composition), and run by ONNX Runtime (onnxruntime-node, which fuses QDQ
groups itself), on odd batches; so is a chain of two QLinearConv, whose
int8 result must pass from one to the other without a float round trip.

Asserted: the fused build used the int8 ops (--summary's int8 nodes, the
generated C's q8 kernel calls; no float conv or gemm left); its outputs
are within one step of the output's quantization (1 LSB) of ONNX Runtime's
and of the composition's everywhere, the count of differing outputs is
small, and the differences are reported.  Without onnxruntime-node
(bench/.node, as bench/inference.sh installs it) the ORT comparison is
skipped, said so.

    /usr/bin/python3 tests/onnx_qdq.py        (part of make check-onnx-q8)
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from onnx_q8 import build_and_run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NNC = os.path.join(ROOT, "bin", "nnc")
NODE_DIR = os.path.join(ROOT, "bench", ".node", "node_modules")
ORT_RUN = os.path.join(ROOT, "tests", "real", "ort_run.js")


class Net(torch.nn.Module):
    def __init__(self, relu6, c=3, m=8, hw=10, classes=5):
        super().__init__()
        self.relu6 = relu6
        self.conv1 = torch.nn.Conv2d(c, m, 3)
        self.pool = torch.nn.MaxPool2d(2)
        self.conv2 = torch.nn.Conv2d(m, m, 3, padding=1)
        side = (hw - 2) // 2
        self.fc = torch.nn.Linear(m * side * side, classes)

    def stages(self, x):
        a = self.conv1(x)
        a = torch.clamp(a, 0, 6) if self.relu6 else torch.relu(a)
        p = self.pool(a)
        b = self.conv2(p)
        s = p + b
        return {"a": a, "p": p, "b": b, "s": s, "y": self.fc(s.flatten(1))}


def qparams(lo, hi, dtype):
    """ORT's asymmetric activation parameters: the range widened to hold 0, over the type's steps"""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    info = np.iinfo(dtype)
    scale = np.float32((hi - lo) / (info.max - info.min) if hi > lo else 1.0)
    zp = int(np.clip(round(info.min - lo / float(scale)), info.min, info.max))
    return scale, np.asarray(zp, dtype)


def quant_weight(w, per_channel):
    """int8 symmetric: per tensor, or per output channel (axis 0)"""
    axes = tuple(range(1, w.ndim))
    top = np.max(np.abs(w), axis=axes) if per_channel else np.max(np.abs(w))
    scale = (np.maximum(top, 1e-8) / 127.0).astype(np.float32)
    s = scale.reshape((-1,) + (1,) * (w.ndim - 1)) if per_channel else scale
    return np.clip(np.rint(w / s), -127, 127).astype(np.int8), scale


class Writer:
    """a QDQ graph written as quantize_static writes one"""

    def __init__(self, act_type):
        self.nodes, self.inits, self.act_type = [], [], act_type

    def init(self, name, value):
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def qdq(self, t, scale, zp):
        """t -> QuantizeLinear -> DequantizeLinear: the quantized name and the float one"""
        s, z = self.init(t + "_scale", np.asarray(scale, np.float32)), self.init(t + "_zero_point", zp)
        self.nodes.append(helper.make_node("QuantizeLinear", [t, s, z], [t + "_q"], name=t + "_Q"))
        self.nodes.append(helper.make_node("DequantizeLinear", [t + "_q", s, z], [t + "_dq"], name=t + "_DQ"))
        return t + "_dq"

    def weight(self, name, w, per_channel, axis=0):
        q, scale = quant_weight(w, per_channel)
        zp = np.zeros(scale.shape, np.int8)
        ins = [self.init(name + "_q", q), self.init(name + "_scale", scale), self.init(name + "_zero_point", zp)]
        self.nodes.append(helper.make_node("DequantizeLinear", ins, [name], name=name + "_DQ",
                                           **({"axis": axis} if per_channel else {})))
        return name, scale

    def bias(self, name, b, x_scale, w_scale):
        scale = (np.float32(x_scale) * w_scale).astype(np.float32)
        q = np.rint(b / scale).astype(np.int32)
        ins = [self.init(name + "_q", q), self.init(name + "_scale", scale),
               self.init(name + "_zero_point", np.zeros(scale.shape, np.int32))]
        self.nodes.append(helper.make_node("DequantizeLinear", ins, [name], name=name + "_DQ",
                                           **({"axis": 0} if scale.ndim else {})))
        return name


def qdq_model(net, calib, act_type, per_channel, batch, path, pool_rescaled=False):
    with torch.no_grad():
        st = net.stages(torch.from_numpy(calib))
    ranges = {k: (float(v.min()), float(v.max())) for k, v in st.items()}
    ranges["x"] = (float(calib.min()), float(calib.max()))
    qp = {k: qparams(lo, hi, act_type) for k, (lo, hi) in ranges.items()}
    qp["p"] = qp["a"]       # a pool keeps its input's parameters (quantize_static's rule)
    if pool_rescaled:       # unless not: then it is no data movement and stays the float composition
        qp["p"] = (np.float32(qp["a"][0] * 1.5), qp["a"][1])
    W = Writer(act_type)
    sd = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    x = W.qdq("x", *qp["x"])
    w1, ws1 = W.weight("conv1.w", sd["conv1.weight"], per_channel)
    b1 = W.bias("conv1.b", sd["conv1.bias"], qp["x"][0], ws1)
    W.nodes.append(helper.make_node("Conv", [x, w1, b1], ["conv1"], kernel_shape=[3, 3], name="conv1"))
    if net.relu6:
        lo, hi = W.init("clip_lo", np.float32(0)), W.init("clip_hi", np.float32(6))
        W.nodes.append(helper.make_node("Clip", ["conv1", lo, hi], ["a"], name="relu6"))
    else:
        W.nodes.append(helper.make_node("Relu", ["conv1"], ["a"], name="relu"))
    a = W.qdq("a", *qp["a"])
    W.nodes.append(helper.make_node("MaxPool", [a], ["p"], kernel_shape=[2, 2], strides=[2, 2], name="pool"))
    p = W.qdq("p", *qp["p"])
    w2, ws2 = W.weight("conv2.w", sd["conv2.weight"], per_channel)
    b2 = W.bias("conv2.b", sd["conv2.bias"], qp["p"][0], ws2)
    W.nodes.append(helper.make_node("Conv", [p, w2, b2], ["b"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                                    name="conv2"))
    b = W.qdq("b", *qp["b"])
    W.nodes.append(helper.make_node("Add", [p, b], ["s"], name="add"))
    s = W.qdq("s", *qp["s"])
    W.nodes.append(helper.make_node("Flatten", [s], ["f"], axis=1, name="flatten"))
    f = W.qdq("f", *qp["s"])
    w3, ws3 = W.weight("fc.w", sd["fc.weight"], per_channel)
    b3 = W.bias("fc.b", sd["fc.bias"], qp["s"][0], ws3)
    W.nodes.append(helper.make_node("Gemm", [f, w3, b3], ["y0"], transB=1, name="fc"))
    y = W.qdq("y0", *qp["y"])
    W.nodes.append(helper.make_node("Identity", [y], ["y"], name="out"))
    shape = [batch] + list(calib.shape[1:])
    # the quantized integers of the first convolution and of the add are outputs too: more values compared
    side = calib.shape[2] - 2
    aq = [batch, net.conv1.out_channels, side, side]
    sq = [batch, net.conv1.out_channels, side // 2, side // 2]
    ty = TensorProto.UINT8 if act_type == np.uint8 else TensorProto.INT8
    g = helper.make_graph(W.nodes, "qdq", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 5]),
                           helper.make_tensor_value_info("a_q", ty, aq), helper.make_tensor_value_info("s_q", ty, sq)],
                          W.inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
    # each output's step (y's scale, 1 for the integers), the outputs' sizes
    sizes = [batch * 5, int(np.prod(aq)), int(np.prod(sq))]
    return np.concatenate([np.full(sizes[0], qp["y"][0], np.float64), np.ones(sizes[1] + sizes[2])]), sizes


def mlp_model(rng, act_type, batch, path):
    """x (N, 4, 6) -> Reshape (N, 24) -> MatMul (24, 16) int8 per column -> Add bias (a float op: composed) ->
    Relu -> MatMul (16, 8) uint8 weights with a zero point, per tensor -> y; a pass-through Reshape and products
    without Gemm's bias"""
    W = Writer(act_type)
    x = rng.normal(0, 1, size=(64, 4, 6)).astype(np.float32)
    w1 = rng.normal(0, 0.3, size=(24, 16)).astype(np.float32)
    b1 = rng.normal(0, 0.1, size=(16,)).astype(np.float32)
    w2 = rng.normal(0, 0.3, size=(16, 8)).astype(np.float32)
    h = x.reshape(64, 24) @ w1
    a = np.maximum(h + b1, 0)
    y = a @ w2
    qx, qh, qa, qy = (qparams(v.min(), v.max(), act_type) for v in (x, h, a, y))
    t = W.qdq("x", *qx)
    W.nodes.append(helper.make_node("Reshape", [t, W.init("shape", np.asarray([-1, 24], np.int64))], ["r"]))
    t = W.qdq("r", *qx)
    q1, s1 = quant_weight(w1.T, True)      # per column: axis 1 of (24, 16)
    ins = [W.init("w1_q", q1.T.copy()), W.init("w1_scale", s1), W.init("w1_zero_point", np.zeros(16, np.int8))]
    W.nodes.append(helper.make_node("DequantizeLinear", ins, ["w1"], axis=1))
    W.nodes.append(helper.make_node("MatMul", [t, "w1"], ["h"]))
    t = W.qdq("h", *qh)
    W.nodes.append(helper.make_node("Add", [t, W.init("b1", b1)], ["hb"]))
    W.nodes.append(helper.make_node("Relu", ["hb"], ["a"]))
    t = W.qdq("a", *qa)
    s2 = np.float32((w2.max() - w2.min()) / 255)
    z2 = np.uint8(np.clip(round(-w2.min() / s2), 0, 255))
    q2 = np.clip(np.rint(w2 / s2) + z2, 0, 255).astype(np.uint8)
    ins = [W.init("w2_q", q2), W.init("w2_scale", s2), W.init("w2_zero_point", z2)]
    W.nodes.append(helper.make_node("DequantizeLinear", ins, ["w2"]))
    W.nodes.append(helper.make_node("MatMul", [t, "w2"], ["y0"]))
    t = W.qdq("y0", *qy)
    W.nodes.append(helper.make_node("Identity", [t], ["y"]))
    g = helper.make_graph(W.nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 4, 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 8])], W.inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
    return np.full(batch * 8, qy[0], np.float64), [batch * 8]


def qlinear_chain_model(rng, batch, path):
    """x -> QuantizeLinear -> QLinearConv -> QLinearConv -> DequantizeLinear: the second convolution reads the
    first's int8 result directly (its twin), no float round trip between them"""
    W = Writer(np.uint8)
    x = rng.normal(0, 1, size=(16, 2, 7, 7)).astype(np.float32)
    qx = qparams(x.min(), x.max(), np.uint8)
    ins = [W.init("x_scale", qx[0]), W.init("x_zero_point", qx[1])]
    W.nodes.append(helper.make_node("QuantizeLinear", ["x"] + ins, ["xq"]))
    prev, prev_s, prev_z = "xq", "x_scale", "x_zero_point"
    for i, (c, m) in enumerate(((2, 6), (6, 4))):
        w = rng.integers(-127, 128, size=(m, c, 3, 3)).astype(np.int8)
        ws = rng.uniform(0.002, 0.01, size=(m,)).astype(np.float32)
        b = rng.integers(-2000, 2000, size=(m,)).astype(np.int32)
        names = [prev, prev_s, prev_z, W.init("w%d" % i, w), W.init("w%d_scale" % i, ws),
                 W.init("w%d_zero_point" % i, np.zeros(m, np.int8)), W.init("y%d_scale" % i, np.float32(0.05)),
                 W.init("y%d_zero_point" % i, np.uint8(100 + 20 * i)), W.init("b%d" % i, b)]
        W.nodes.append(helper.make_node("QLinearConv", names, ["y%d" % i], pads=[1, 1, 1, 1]))
        prev, prev_s, prev_z = "y%d" % i, "y%d_scale" % i, "y%d_zero_point" % i
    W.nodes.append(helper.make_node("DequantizeLinear", [prev, prev_s, prev_z], ["y"]))
    g = helper.make_graph(W.nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 2, 7, 7])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 4, 7, 7])], W.inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
    return np.full(batch * 4 * 49, 0.05, np.float64), [batch * 4 * 49]


def whole_order(out, summary, batch, sizes):
    """nnc's outputs in ONNX Runtime's order: a build with a run-time batch writes each sample's outputs side by
    side (tests/onnx_case.c), one that runs whole each output in full"""
    if "Runs whole" in summary or batch == 1:
        return out
    per = out.reshape(batch, -1)
    cuts = np.cumsum([0] + [n // batch for n in sizes])
    return np.concatenate([per[:, cuts[i]:cuts[i + 1]].ravel() for i in range(len(sizes))])


def nnc_run(work, path, x, extra=()):
    """nnc's outputs for x, its --summary and its C (onnx_q8.py's build and run)"""
    got, summary = build_and_run(work, path, x, extra)
    with open(os.path.join(work, "m.c")) as f:
        return got, summary, f.read()


def have_ort():
    return shutil.which("node") and os.path.isdir(os.path.join(NODE_DIR, "onnxruntime-node"))


def ort_run(work, path, x):
    spec = {"inputs": [{"name": "x", "type": "float32", "dims": list(x.shape)}]}
    sp, ip, op = (os.path.join(work, n) for n in ("spec.json", "in.bin", "out.bin"))
    with open(sp, "w") as f:
        json.dump(spec, f)
    x.astype(np.float32).tofile(ip)
    r = subprocess.run(["node", ORT_RUN, path, sp, ip, op, "0"], capture_output=True, text=True,
                       env=dict(os.environ, NODE_PATH=NODE_DIR))
    if r.returncode:
        raise RuntimeError("onnxruntime-node: " + r.stderr[-400:])
    return np.fromfile(op, dtype=np.float32)


def steps(a, b, scale):
    """|a - b| in steps of the output's quantization"""
    return np.rint(np.abs(a.astype(np.float64) - b) / scale).astype(np.int64)


def main():
    torch.manual_seed(20)
    torch.set_num_threads(1)   # as the other torch checks: make test runs a second job beside it
    rng = np.random.default_rng(20)
    ort = have_ort()
    failures, lines, total = [], [], {"ort": [0, 0, 0], "comp": [0, 0, 0]}
    with tempfile.TemporaryDirectory(prefix="nnc-onnx-qdq-") as work:
        # (activation type, per-channel weights, batch, relu6, the pool requantized, 1: the MLP instead,
        # 2: two chained QLinearConv instead)
        cases = [(np.uint8, 0, 3, 0, 0, 0), (np.uint8, 1, 1, 1, 0, 0), (np.int8, 1, 5, 0, 0, 0),
                 (np.int8, 0, 3, 1, 0, 0), (np.uint8, 1, 3, 0, 1, 0), (np.uint8, 0, 7, 0, 0, 1),
                 (np.int8, 0, 2, 0, 0, 1), (np.uint8, 0, 3, 0, 0, 2)]
        for act_type, per_channel, batch, relu6, rescaled, mlp in cases:
            path = os.path.join(work, "m.onnx")
            if mlp == 2:
                x = rng.normal(0, 1, size=(batch, 2, 7, 7)).astype(np.float32)
                y_scale, sizes = qlinear_chain_model(rng, batch, path)
                name = "QLinearConv -> QLinearConv, batch %d" % batch
            elif mlp:
                x = rng.normal(0, 1, size=(batch, 4, 6)).astype(np.float32)
                y_scale, sizes = mlp_model(rng, act_type, batch, path)
                name = "MLP (Reshape, MatMul per column, uint8 weights), %s, batch %d" % (
                    np.dtype(act_type).name, batch)
            else:
                net = Net(relu6).eval()
                calib = rng.normal(0, 1, size=(16, 3, 10, 10)).astype(np.float32)
                x = rng.normal(0, 1, size=(batch, 3, 10, 10)).astype(np.float32)
                y_scale, sizes = qdq_model(net, calib, act_type, per_channel, batch, path, rescaled)
                name = "CNN, %s activations, %s weights, batch %d, %s%s" % (
                    np.dtype(act_type).name, "per-channel" if per_channel else "per-tensor", batch,
                    "relu6 (Clip)" if relu6 else "relu", ", the pool requantized (not fused)" if rescaled else "")
            try:
                got, summary, code = nnc_run(work, path, x)
                comp, comp_summary, _ = nnc_run(work, path, x, ["--no-q8-import"])
                got = whole_order(got, summary, batch, sizes)
                comp = whole_order(comp, comp_summary, batch, sizes)
                want = ort_run(work, path, x) if ort else None
            except (RuntimeError, subprocess.CalledProcessError) as e:
                failures.append("%s: %s" % (name, e))
                continue
            # the int8 ops ran (the products, the pool unless requantized, the add), no float product left
            want_calls = {"nnc_rt_q8_conv2d_onnx": 2, "nnc_rt_q8_quantize": 1, "nnc_rt_q8_dequantize": 1} if mlp == 2 \
                else {"nnc_rt_q8_dense_onnx": 2} if mlp else {
                "nnc_rt_q8_conv2d_onnx": 2, "nnc_rt_q8_dense_onnx": 1, "nnc_rt_q8_maxpool2d": 0 if rescaled else 1,
                "nnc_rt_q8_add": 1}
            for kernel, count in want_calls.items():
                if len(re.findall(kernel + r"\w*\(", code)) != count:
                    failures.append("%s: the generated C calls %s %d times, not %d" % (
                        name, kernel, len(re.findall(kernel + r"\w*\(", code)), count))
            if "int8 nodes:" not in summary:
                failures.append("%s: --summary shows no int8 nodes" % name)
            if re.search(r"nnc_rt_(conv2d|gemm|matmul|dense)\w*\(", code):
                failures.append("%s: a float product is left in the fused build" % name)
            if rescaled and "maxpool2d_forward(" not in code:
                failures.append("%s: the requantized pool was fused" % name)
            refs = [("comp", comp)] + ([("ort", want)] if ort else [])
            for who, ref in refs:
                if ref.shape != got.shape:
                    failures.append("%s: %d outputs, %s has %d" % (name, got.size, who, ref.size))
                    continue
                d = steps(got, ref, y_scale)
                t = total[who]
                t[0] += int(np.sum(d > 0))
                t[1] += got.size
                t[2] = max(t[2], int(d.max()))
                lines.append("%s: against %s %d of %d outputs differ, by at most %d step" % (
                    name, "onnxruntime-node" if who == "ort" else "nnc's float composition (--no-q8-import)",
                    int(np.sum(d > 0)), got.size, int(d.max())))
                if d.max() > 1:
                    failures.append("%s: %s differs by %d steps of the output's scale" % (name, who, int(d.max())))
    for line in lines:
        print("  " + line)
    if not ort:
        print("onnx_qdq: onnxruntime-node is not installed in bench/.node (bench/inference.sh installs it): "
              "compared with nnc's float composition only")
    for who, t in total.items():
        if t[1]:
            print("onnx_qdq: against %s: %d of %d outputs differ, by at most %d step" % (
                "onnxruntime-node" if who == "ort" else "the float composition", t[0], t[1], t[2]))
            if t[0] * 10 > t[1]:
                failures.append("%s: %d of %d outputs differ (more than one in ten)" % (who, t[0], t[1]))
    for f in failures:
        print("FAILED " + f)
    print("onnx_qdq: %d QDQ models, %d failed" % (len(cases), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
