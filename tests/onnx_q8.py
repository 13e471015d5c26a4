#!/usr/bin/python3
"""onnx_q8.py — quantized ONNX models on nnc's int8 kernels (issue 20 part 4).

Random QLinearMatMul and QLinearConv models (int8 and uint8 activations and
weights, per-tensor and per-channel weight scales, scales that make exact
ties of ONNX's half-to-even rounding and scales that do not) are compiled by
nnc twice: as they import (the int8 ops in ONNX's requantization mode) and
with --no-q8-import (the float composition).  The int8 build must give
exactly the integers of ONNX's reference arithmetic (written out below as
onnx/reference/ops computes it: int32 sums, the float32 multiplier
x_scale * w_scale / y_scale, the product in float64, rounded half to even,
plus the zero point, saturated), and --summary must show the product in int8.
The float composition is compared too and its differences counted (it
rounds in float32, so a value within an ulp of a tie may differ by one).
ONNX's own QLinear cases run with their parameters bound (--bind), so that
they take the int8 path, and must give their expected outputs exactly.

    /usr/bin/python3 tests/onnx_q8.py        (make check-onnx-q8)
"""
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NNC = os.path.join(ROOT, "bin", "nnc")
STATS = [0, 0]     # outputs on an exact half, outputs
TY = {np.int8: TensorProto.INT8, np.uint8: TensorProto.UINT8}


def build_and_run(work, path, x, extra=()):
    """nnc's outputs (floats) for x, and its --summary"""
    c_file = os.path.join(work, "m.c")
    r = subprocess.run([NNC, path, "-o", c_file, "--summary"] + list(extra), capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError("nnc exited %d: %s" % (r.returncode, r.stderr.strip()[:400]))
    exe = os.path.join(work, "m")
    subprocess.run(["cc", "-std=c99", "-O1", "-I" + os.path.join(ROOT, "runtime"), "-I" + work, "-DNNC_MODEL=m",
                    "-DNNC_UPPER=M", '-DNNC_HEADER="m.h"', c_file, os.path.join(ROOT, "tests", "onnx_case.c"),
                    os.path.join(ROOT, "build", "libnnc_rt.a"), "-lm", "-o", exe], check=True)
    p = subprocess.run([exe], input=x.astype(np.float32).tobytes(), capture_output=True)
    if p.returncode:
        raise RuntimeError("the model exited %d" % p.returncode)
    return np.frombuffer(p.stdout, dtype=np.float32), r.stdout


def requantize(acc, mult, zp, dtype):
    """ONNX's requantization: acc (int32) times the float32 multiplier in float64 (as onnx's
    reference computes it), rounded half to even, plus zp (the operator's definition
    saturate(round(x / y_scale) + zp), and ONNX Runtime's order), saturated"""
    d = acc * mult
    STATS[0] += int(np.sum(d - np.floor(d) == 0.5))
    STATS[1] += int(d.size)
    info = np.iinfo(dtype)
    return np.clip(np.rint(d) + zp, info.min, info.max).astype(dtype)


def qtensor(rng, dtype, shape):
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max + 1, size=shape).astype(dtype)


def near(rng, dtype, zp, shape, axis0=False):
    """values within 4 of the zero point (per element of axis 0 when axis0, else of the last
    axis): small sums, so halves are common and nothing saturates"""
    info = np.iinfo(dtype)
    z = np.asarray(zp, np.int64)
    if axis0 and z.ndim:
        z = z.reshape((-1,) + (1,) * (len(shape) - 1))
    return np.clip(z + rng.integers(-4, 5, size=shape), info.min, info.max).astype(dtype)


def scales(rng, tie, n=None):
    """float32 scales: 1/2 or 1 when tie (multipliers that land on halves), else random"""
    shape = () if n is None else (n,)
    if tie:
        return (2.0 ** rng.integers(-1, 1, size=shape)).astype(np.float32)
    return rng.uniform(0.001, 0.05, size=shape).astype(np.float32)


def y_scale_for(acc_real):
    """an output scale that keeps the results mostly inside the type (|y - zp| up to ~100)"""
    return np.float32(max(float(np.max(np.abs(acc_real))), 1e-3) / 100)


def matmul_case(rng, at, bt, yt, per_col, tie, ashape, n):
    k = ashape[-1]
    a_s, b_s = scales(rng, tie), scales(rng, tie, n if per_col else None)
    a_zp, b_zp, y_zp = qtensor(rng, at, ()), qtensor(rng, bt, (n,) if per_col else ()), qtensor(rng, yt, ())
    a = near(rng, at, a_zp, ashape) if tie else qtensor(rng, at, ashape)
    b = near(rng, bt, b_zp, (k, n)) if tie else qtensor(rng, bt, (k, n))
    acc = np.matmul(a.astype(np.int32) - a_zp.astype(np.int32), b.astype(np.int32) - b_zp.astype(np.int32))
    y_s = np.float32(1) if tie else y_scale_for(acc * (a_s * b_s))
    inits = [numpy_helper.from_array(np.asarray(v), name) for v, name in
             ((a_s, "a_scale"), (a_zp, "a_zero_point"), (b, "b"), (b_s, "b_scale"), (b_zp, "b_zero_point"),
              (np.asarray(y_s, np.float32), "y_scale"), (y_zp, "y_zero_point"))]
    node = helper.make_node("QLinearMatMul", ["a", "a_scale", "a_zero_point", "b", "b_scale", "b_zero_point",
                                              "y_scale", "y_zero_point"], ["y"])
    out_shape = list(ashape[:-1]) + [n]
    g = helper.make_graph([node], "q", [helper.make_tensor_value_info("a", TY[at], list(ashape))],
                          [helper.make_tensor_value_info("y", TY[yt], out_shape)], inits)
    want = requantize(acc, a_s * b_s / np.asarray(y_s, np.float32), y_zp, yt)
    return g, a, want


def conv_case(rng, xt, wt, yt, per_ch, tie, group, bias, pads, strides, dil):
    n, c, h, w, m, kh, kw = 2, 2 * group, 6, 5, 3 * group, 3, 2
    x_s, w_s = scales(rng, tie), scales(rng, tie, m if per_ch else None)
    x_zp, y_zp = qtensor(rng, xt, ()), qtensor(rng, yt, ())
    w_zp = np.zeros((m,) if per_ch else (), wt) if wt == np.int8 else qtensor(rng, wt, (m,) if per_ch else ())
    x = near(rng, xt, x_zp, (n, c, h, w)) if tie else qtensor(rng, xt, (n, c, h, w))
    wq = (near(rng, wt, w_zp, (m, c // group, kh, kw), True) if tie else qtensor(rng, wt, (m, c // group, kh, kw)))
    B = rng.integers(-20, 20, size=(m,)).astype(np.int32) if tie else rng.integers(-3000, 3000, size=(m,)).astype(np.int32)
    # the reference's conv on int32 operands, directly
    X = x.astype(np.int32) - np.int32(x_zp)
    W = wq.astype(np.int32) - (w_zp.astype(np.int32).reshape(-1, 1, 1, 1) if per_ch else np.int32(w_zp))
    Xp = np.pad(X, ((0, 0), (0, 0), (pads[0], pads[0]), (pads[1], pads[1])))
    oh = (h + 2 * pads[0] - dil[0] * (kh - 1) - 1) // strides[0] + 1
    ow = (w + 2 * pads[1] - dil[1] * (kw - 1) - 1) // strides[1] + 1
    acc = np.zeros((n, m, oh, ow), np.int64)
    cg, og = c // group, m // group
    for o in range(m):
        gi = o // og
        for ky in range(kh):
            for kx in range(kw):
                patch = Xp[:, gi * cg:(gi + 1) * cg, ky * dil[0]:ky * dil[0] + strides[0] * (oh - 1) + 1:strides[0],
                           kx * dil[1]:kx * dil[1] + strides[1] * (ow - 1) + 1:strides[1]]
                acc[:, o] += np.einsum("nchw,c->nhw", patch, W[o, :, ky, kx])
    if bias:
        acc += B.reshape(1, -1, 1, 1)
    y_s = np.float32(1) if tie else y_scale_for(acc * (x_s * w_s).reshape(-1, 1, 1) if per_ch else acc * x_s * w_s)
    mult = (x_s * w_s / np.float32(y_s)).astype(np.float32)
    mult = mult.reshape(1, -1, 1, 1) if per_ch else mult
    want = requantize(acc.astype(np.int32), mult, y_zp, yt)
    inits = [numpy_helper.from_array(np.asarray(v), name) for v, name in
             ((x_s, "x_scale"), (x_zp, "x_zero_point"), (wq, "w"), (w_s, "w_scale"), (w_zp, "w_zero_point"),
              (np.asarray(y_s, np.float32), "y_scale"), (y_zp, "y_zero_point"), (B, "B"))]
    names = ["x", "x_scale", "x_zero_point", "w", "w_scale", "w_zero_point", "y_scale", "y_zero_point"]
    node = helper.make_node("QLinearConv", names + (["B"] if bias else []), ["y"], group=group,
                            pads=[pads[0], pads[1], pads[0], pads[1]], strides=strides, dilations=dil)
    g = helper.make_graph([node], "q", [helper.make_tensor_value_info("x", TY[xt], [n, c, h, w])],
                          [helper.make_tensor_value_info("y", TY[yt], list(want.shape))], inits)
    return g, x, want


def check(work, name, g, x, want, product, failures, notes):
    path = os.path.join(work, "m.onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
    try:
        got, summary = build_and_run(work, path, x)
        old, _ = build_and_run(work, path, x, ["--no-q8-import"])
    except (RuntimeError, subprocess.CalledProcessError) as e:
        failures.append("%s: %s" % (name, e))
        return
    want = want.astype(np.float32).ravel()
    if product not in summary or "int8 nodes:" not in summary:
        failures.append("%s: the product did not run in int8:\n%s" % (name, summary[-600:]))
    if got.shape != want.shape or not np.array_equal(got, want):
        bad = np.flatnonzero(got != want) if got.shape == want.shape else []
        failures.append("%s: the int8 build differs from ONNX's integers at %d of %d (first %s: %s, want %s)" % (
            name, len(bad), want.size, bad[:1], got[bad[:1]] if len(bad) else got.shape, want[bad[:1]]))
    if old.shape == want.shape and not np.array_equal(old, want):
        d = int(np.max(np.abs(old - want)))
        notes.append("%s: --no-q8-import's float32 composition differs at %d of %d (by at most %d)" % (
            name, int(np.sum(old != want)), want.size, d))
        if d > 1:
            failures.append("%s: the float composition is off by %d" % (name, d))


def conformance(work, failures):
    """ONNX's QLinear cases with their parameters bound: the int8 path, exact"""
    data = subprocess.run(["dpkg", "-L", "libonnx-testdata"], capture_output=True, text=True).stdout.split()
    node = next((d for d in data if d.endswith("data/node")), None)
    ran = 0
    for case in sorted(glob.glob(os.path.join(node or "/nonexistent", "test_qlinear*"))):
        m = onnx.load(os.path.join(case, "model.onnx"))
        names = [i.name for i in m.graph.input]
        sets = sorted(glob.glob(os.path.join(case, "test_data_set_*")))
        binds = sum((["--bind", "%s=%s" % (names[i], os.path.join(sets[0], "input_%d.pb" % i))]
                     for i in range(1, len(names))), [])
        x = numpy_helper.to_array(onnx.load_tensor(os.path.join(sets[0], "input_0.pb")))
        want = numpy_helper.to_array(onnx.load_tensor(os.path.join(sets[0], "output_0.pb")))
        try:
            got, _ = build_and_run(work, os.path.join(case, "model.onnx"), x, binds)
        except (RuntimeError, subprocess.CalledProcessError) as e:
            failures.append("%s: %s" % (os.path.basename(case), e))
            continue
        ran += 1
        if not np.array_equal(got, want.astype(np.float32).ravel()):
            failures.append("%s (bound): %s, want %s" % (os.path.basename(case), got, want.ravel()))
    return ran


def main():
    rng = np.random.default_rng(20)
    failures, notes, cases = [], [], 0
    with tempfile.TemporaryDirectory(prefix="nnc-onnx-q8-") as work:
        types = [(np.int8, np.int8, np.int8), (np.uint8, np.uint8, np.uint8), (np.uint8, np.int8, np.uint8),
                 (np.int8, np.uint8, np.int8)]
        for i, (at, bt, yt) in enumerate(types):
            for per_col in (0, 1):
                for tie in (0, 1):
                    ashape = (3, 7) if i % 2 else (2, 3, 9)
                    g, a, want = matmul_case(rng, at, bt, yt, per_col, tie, ashape, 5)
                    name = "qlinearmatmul %s%s%s %s%s" % (np.dtype(at).name, np.dtype(bt).name, np.dtype(yt).name,
                                                        "per-column" if per_col else "per-tensor",
                                                        " ties" if tie else "")
                    check(work, name, g, a, want, "q8_dense", failures, notes)
                    cases += 1
        convs = [(np.int8, np.int8, np.int8, 1, 1, 1, (1, 0), (1, 1), (1, 1)),
                 (np.uint8, np.uint8, np.uint8, 0, 0, 1, (0, 1), (2, 1), (1, 1)),
                 (np.uint8, np.int8, np.uint8, 1, 1, 2, (1, 1), (1, 2), (2, 1)),
                 (np.int8, np.int8, np.int8, 1, 0, 2, (0, 0), (1, 1), (1, 1)),
                 (np.uint8, np.uint8, np.uint8, 0, 1, 1, (2, 1), (1, 1), (1, 1))]
        for xt, wt, yt, per_ch, tie, group, pads, strides, dil in convs:
            for bias in (0, 1):
                g, x, want = conv_case(rng, xt, wt, yt, per_ch, tie, group, bias, pads, strides, dil)
                name = "qlinearconv %s%s%s %s%s group %d%s" % (
                    np.dtype(xt).name, np.dtype(wt).name, np.dtype(yt).name, "per-channel" if per_ch else
                    "per-tensor", " ties" if tie else "", group, " bias" if bias else "")
                check(work, name, g, x, want, "q8_conv2d", failures, notes)
                cases += 1
        bound = conformance(work, failures)
    for n in notes:
        print("note: " + n)
    for f in failures:
        print("FAILED " + f)
    print("onnx_q8: %d of %d outputs of the random models were exact halves (ONNX rounds them to even)" % tuple(STATS))
    print("onnx_q8: %d random models and %d ONNX cases bound, %d failed" % (cases, bound, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
