#!/usr/bin/python3
"""onnx_dtypes.py — integer and 16-bit float ONNX tensors against numpy.

Each case builds a small model with onnx.helper whose inputs, outputs and
initializers are uint8, int8, int16, uint16, uint32 or float16, compiles it
with nnc, runs it through tests/onnx_case.c (values passed as floats, as
the generated API takes them) and compares with what numpy gives for the
same types, exactly: wrap-around of Add/Sub/Mul/Neg/Abs in the type's
width, Div truncating toward zero, Cast truncating then wrapping, Cast to
float16 rounding, BitShift.  One case folds the arithmetic at compile time
(initializers only) and must give the same.  The header must name the
ONNX type of each input and output.  Ops nnc cannot compute exactly on
such types must be refused with exit status 3.

Prints one line per failure and `dtypes: N passed, M failed`; exit status
1 on any failure.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import onnx
    from onnx import TensorProto as TP, helper, numpy_helper
except ImportError:
    print("dtypes: skipped (python3-onnx and python3-numpy are not installed)")
    sys.exit(0)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NNC = os.environ.get("NNC", os.path.join(ROOT, "bin", "nnc"))
NP = {TP.UINT8: np.uint8, TP.INT8: np.int8, TP.UINT16: np.uint16, TP.INT16: np.int16, TP.UINT32: np.uint32,
      TP.FLOAT16: np.float16, TP.FLOAT: np.float32}


def model(nodes, inputs, outputs, inits=(), opset=13):
    """inputs/outputs: (name, type, shape); inits: (name, numpy array)"""
    g = helper.make_graph(nodes, "dtypes", [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
                          [helper.make_tensor_value_info(n, t, s) for n, t, s in outputs],
                          [numpy_helper.from_array(a, n) for n, a in inits])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def wrap(v, t):
    """int64 values as numpy's integers of type t (modular)"""
    return np.asarray(v, dtype=np.int64).astype(t)


def compile_run(m, xs, work):
    """-> (status, stderr, header, outputs as float32)"""
    path = os.path.join(work, "m.onnx")
    onnx.save(m, path)
    c = os.path.join(work, "m.c")
    r = subprocess.run([NNC, path, "-o", c], capture_output=True, text=True, timeout=120)
    if r.returncode:
        return r.returncode, r.stderr, "", None
    exe = os.path.join(work, "m")
    b = subprocess.run(["cc", "-std=c99", "-O1", "-I" + os.path.join(ROOT, "runtime"), "-I" + work,
                        "-DNNC_MODEL=m", "-DNNC_UPPER=M", '-DNNC_HEADER="m.h"', c,
                        os.path.join(ROOT, "tests", "onnx_case.c"), os.path.join(ROOT, "build", "libnnc_rt.a"),
                        "-lm", "-o", exe], capture_output=True, text=True, timeout=300)
    if b.returncode:
        return -1, b.stderr, "", None
    header = open(os.path.join(work, "m.h")).read()
    # per sample when nnc gave the graph a batch (axis 0 of every input): each sample's inputs side by side
    batched = re.search(r"^ \*   input  .*: \S+ \(n[,)]", header, re.M) is not None
    n = xs[0].shape[0] if batched and xs else 1
    data = np.concatenate([np.asarray(x, dtype=np.float32).reshape(n, -1) for x in xs], axis=1).tobytes() \
        if xs else b""
    p = subprocess.run([exe], input=data, capture_output=True, timeout=60)
    if p.returncode:
        return -1, p.stderr.decode(errors="replace"), header, None
    return 0, "", header, np.frombuffer(p.stdout, dtype=np.float32)


def cases():
    """-> (name, model, inputs, expected output (numpy, its type))"""
    u8a, u8b = np.array([200, 255, 0, 17, 3], np.uint8), np.array([100, 1, 0, 250, 5], np.uint8)
    yield ("uint8 Add wraps (200 + 100 = 44)",
           model([helper.make_node("Add", ["a", "b"], ["y"])], [("a", TP.UINT8, [5]), ("b", TP.UINT8, [5])],
                 [("y", TP.UINT8, [5])]), [u8a, u8b], u8a + u8b)
    yield ("uint8 Sub wraps (3 - 5 = 254)",
           model([helper.make_node("Sub", ["a", "b"], ["y"])], [("a", TP.UINT8, [5]), ("b", TP.UINT8, [5])],
                 [("y", TP.UINT8, [5])]), [u8a, u8b], u8a - u8b)
    yield ("uint8 Mul wraps",
           model([helper.make_node("Mul", ["a", "b"], ["y"])], [("a", TP.UINT8, [5]), ("b", TP.UINT8, [5])],
                 [("y", TP.UINT8, [5])]), [u8a, u8b], u8a * u8b)
    # folded at compile time: 200 + 100 of two initializers, then added to the input
    c1, c2 = np.array([200, 100, 255], np.uint8), np.array([100, 200, 255], np.uint8)
    yield ("uint8 Add folded at compile time",
           model([helper.make_node("Add", ["c1", "c2"], ["s"]), helper.make_node("Add", ["a", "s"], ["y"])],
                 [("a", TP.UINT8, [3])], [("y", TP.UINT8, [3])], [("c1", c1), ("c2", c2)]),
           [np.array([1, 60, 2], np.uint8)], np.array([1, 60, 2], np.uint8) + (c1 + c2))
    i8a, i8b = np.array([-7, 7, -128, 5, -5, 100, 0], np.int8), np.array([2, -2, -1, 3, 3, 7, 9], np.int8)
    yield ("int8 Div truncates toward zero (-7 / 2 = -3, -128 / -1 = -128)",
           model([helper.make_node("Div", ["a", "b"], ["y"])], [("a", TP.INT8, [7]), ("b", TP.INT8, [7])],
                 [("y", TP.INT8, [7])]), [i8a, i8b],
           wrap(np.fix(i8a.astype(np.float64) / i8b.astype(np.float64)), np.int8))
    yield ("int8 Mod follows the divisor's sign",
           model([helper.make_node("Mod", ["a", "b"], ["y"])], [("a", TP.INT8, [7]), ("b", TP.INT8, [7])],
                 [("y", TP.INT8, [7])]), [i8a, i8b], np.mod(i8a, i8b))
    yield ("int8 Neg and Abs wrap (-(-128) = -128)",
           model([helper.make_node("Neg", ["a"], ["n"]), helper.make_node("Abs", ["n"], ["y"])],
                 [("a", TP.INT8, [7])], [("y", TP.INT8, [7])]), [i8a], np.abs(-i8a))
    i16a, i16b = np.array([30000, -32768, 181, 255, -3], np.int16), np.array([30000, -32768, 181, 257, 7], np.int16)
    yield ("int16 Mul wraps (30000 * 30000, beyond float's 2^24)",
           model([helper.make_node("Mul", ["a", "b"], ["y"])], [("a", TP.INT16, [5]), ("b", TP.INT16, [5])],
                 [("y", TP.INT16, [5])]), [i16a, i16b], i16a * i16b)
    u16 = np.array([65535, 1, 40000], np.uint16)
    yield ("uint16 Sum of three wraps",
           model([helper.make_node("Sum", ["a", "a", "a"], ["y"])], [("a", TP.UINT16, [3])],
                 [("y", TP.UINT16, [3])]), [u16], u16 + u16 + u16)
    f = np.array([300.7, -1.5, 255.9, -128.5, 0.2, 1e6], np.float32)
    yield ("Cast float to uint8 truncates, then wraps",
           model([helper.make_node("Cast", ["x"], ["y"], to=TP.UINT8)], [("x", TP.FLOAT, [6])],
                 [("y", TP.UINT8, [6])]), [f], wrap(np.trunc(f), np.uint8))
    yield ("Cast float to int8 truncates, then wraps",
           model([helper.make_node("Cast", ["x"], ["y"], to=TP.INT8)], [("x", TP.FLOAT, [6])],
                 [("y", TP.INT8, [6])]), [f], wrap(np.trunc(f), np.int8))
    yield ("Cast int16 to uint8 wraps",
           model([helper.make_node("Cast", ["a"], ["y"], to=TP.UINT8)], [("a", TP.INT16, [5])],
                 [("y", TP.UINT8, [5])]), [i16a], i16a.astype(np.uint8))
    h = np.array([0.1, 1 / 3, 2049, 65519, 65520, -70000, 6e-8, 1e-8, 0.5488135], np.float32)
    with np.errstate(over="ignore"):    # 65520 and beyond: inf
        h16 = h.astype(np.float16)
    yield ("Cast float to float16 rounds to nearest even",
           model([helper.make_node("Cast", ["x"], ["y"], to=TP.FLOAT16)], [("x", TP.FLOAT, [9])],
                 [("y", TP.FLOAT16, [9])]), [h], h16)
    hx = np.array([1.5, -2.25, 65504, 0.000061], np.float16)
    yield ("float16 input Max float16 initializer",
           model([helper.make_node("Max", ["a", "c"], ["y"])], [("a", TP.FLOAT16, [4])], [("y", TP.FLOAT16, [4])],
                 [("c", np.array([1, -3, 2, 0.5], np.float16))]), [hx], np.maximum(hx, np.float16([1, -3, 2, 0.5])))
    s8, k8 = np.array([1, 128, 255, 3], np.uint8), np.array([1, 1, 4, 9], np.uint8)
    yield ("uint8 BitShift LEFT wraps",
           model([helper.make_node("BitShift", ["a", "k"], ["y"], direction="LEFT")],
                 [("a", TP.UINT8, [4]), ("k", TP.UINT8, [4])], [("y", TP.UINT8, [4])], opset=11),
           [s8, k8], wrap(s8.astype(np.int64) << np.minimum(k8, 40).astype(np.int64), np.uint8))
    s32 = np.array([16777215, 1, 4096, 7], np.uint32)
    yield ("uint32 BitShift RIGHT",
           model([helper.make_node("BitShift", ["a", "k"], ["y"], direction="RIGHT")],
                 [("a", TP.UINT32, [4]), ("k", TP.UINT32, [4])], [("y", TP.UINT32, [4])], opset=11),
           [s32, np.array([4, 1, 12, 31], np.uint32)], s32 >> np.array([4, 1, 12, 31], np.uint32))

    i64a, i64b = np.array([-7, 7, 9, -9, 0], np.int64), np.array([2, 2, -4, -4, 5], np.int64)
    yield ("int64 Div truncates toward zero (no wrap-around: exact up to 2^24)",
           model([helper.make_node("Div", ["a", "b"], ["y"])], [("a", TP.INT64, [5]), ("b", TP.INT64, [5])],
                 [("y", TP.INT64, [5])]), [i64a, i64b], np.fix(i64a / i64b).astype(np.int64))
    pb, pe = np.array([2, 10, 3, 5], np.int32), np.array([0.5, -1, 1.5, 2], np.float32)
    yield ("int32 Pow to a float exponent truncates to int32",
           model([helper.make_node("Pow", ["a", "e"], ["y"])], [("a", TP.INT32, [4]), ("e", TP.FLOAT, [4])],
                 [("y", TP.INT32, [4])]), [pb, pe], np.power(pb.astype(np.float64), pe).astype(np.int32))
    # a QDQ chain: uint8 -> float (per channel of axis 1) -> Relu -> int8, ties rounded to even
    q = np.array([[0, 10, 255, 7], [3, 130, 129, 128]], np.uint8)
    sc, zp = np.array([0.5, 0.25], np.float32), np.array([10, 128], np.uint8)
    deq = (q.astype(np.float32) - zp.reshape(2, 1).astype(np.float32)) * sc.reshape(2, 1)
    want = np.clip(np.rint(np.maximum(deq, 0) / np.float32(0.5)) + np.float32(-3), -128, 127).astype(np.int8)
    yield ("DequantizeLinear (uint8, per axis) -> Relu -> QuantizeLinear (int8)",
           model([helper.make_node("DequantizeLinear", ["q", "s", "z"], ["f"], axis=0),
                  helper.make_node("Relu", ["f"], ["r"]),
                  helper.make_node("QuantizeLinear", ["r", "s2", "z2"], ["y"])],
                 [("q", TP.UINT8, [2, 4])], [("y", TP.INT8, [2, 4])],
                 [("s", sc), ("z", zp), ("s2", np.array(0.5, np.float32)), ("z2", np.array(-3, np.int8))]),
           [q], want)
    # quantized products: ConvInteger with a weight zero point per output
    # channel, and QLinearMatMul with per-row and per-column scales
    rng = np.random.default_rng(5)
    x = rng.integers(0, 256, (1, 2, 5, 5)).astype(np.uint8)
    w = rng.integers(-128, 128, (3, 2, 3, 3)).astype(np.int8)
    wz = np.array([0, 5, -7], np.int8)
    xc, wc = x.astype(np.int64) - 17, w.astype(np.int64) - wz.reshape(3, 1, 1, 1)
    conv = np.array([[[[(xc[0, :, i:i + 3, j:j + 3] * wc[m]).sum() for j in range(3)] for i in range(3)]
                      for m in range(3)]], np.int32)
    yield ("ConvInteger (uint8 x int8, per-channel weight zero point)",
           model([helper.make_node("ConvInteger", ["x", "w", "xz", "wz"], ["y"])], [("x", TP.UINT8, [1, 2, 5, 5])],
                 [("y", TP.INT32, [1, 3, 3, 3])], [("w", w), ("xz", np.array(17, np.uint8)), ("wz", wz)]),
           [x], conv)
    a8 = rng.integers(0, 256, (3, 4)).astype(np.uint8)
    b8 = rng.integers(0, 256, (4, 2)).astype(np.uint8)
    sa, sb = np.array([0.02, 0.05, 0.01], np.float32), np.array([0.03, 0.004], np.float32)
    acc = (a8.astype(np.int64) - 100) @ (b8.astype(np.int64) - 120)
    real = acc.astype(np.float32) * sa.reshape(3, 1) * sb
    want = np.clip(np.rint(real / np.float32(0.1)) + 128, 0, 255).astype(np.uint8)
    yield ("QLinearMatMul (per-row and per-column scales, requantized)",
           model([helper.make_node("QLinearMatMul", ["a", "sa", "za", "b", "sb", "zb", "sy", "zy"], ["y"])],
                 [("a", TP.UINT8, [3, 4])], [("y", TP.UINT8, [3, 2])],
                 [("sa", sa), ("za", np.array(100, np.uint8)), ("b", b8), ("sb", sb), ("zb", np.array(120, np.uint8)),
                  ("sy", np.array(0.1, np.float32)), ("zy", np.array(128, np.uint8))], opset=10),
           [a8], want)
    # sums beyond 2^24 (600 terms of 255 x 127): exact, then rounded once to
    # float32 as the int32 result becomes when cast (nnc splits the activation)
    a8 = np.concatenate([np.full((1, 600), 255), rng.integers(0, 256, (2, 600))]).astype(np.uint8)
    b8 = np.concatenate([np.full((600, 1), 127), rng.integers(-128, 128, (600, 2))], axis=1).astype(np.int8)
    yield ("MatMulInteger with sums beyond 2^24, exact",
           model([helper.make_node("MatMulInteger", ["a", "b"], ["y"])], [("a", TP.UINT8, [3, 600])],
                 [("y", TP.INT32, [3, 3])], [("b", b8)], opset=10),
           [a8], (a8.astype(np.int64) @ b8.astype(np.int64)).astype(np.int32))


def refusals():
    """-> (name, model): nnc must exit 3 naming the node"""
    yield "MatMul of uint8", model([helper.make_node("MatMul", ["a", "b"], ["y"])],
                                   [("a", TP.UINT8, [2, 2]), ("b", TP.UINT8, [2, 2])], [("y", TP.UINT8, [2, 2])])
    yield "Pow of an int8 base", model([helper.make_node("Pow", ["a", "b"], ["y"])],
                                       [("a", TP.INT8, [3]), ("b", TP.INT8, [3])], [("y", TP.INT8, [3])])
    yield "ReduceSum of uint16", model([helper.make_node("ReduceSum", ["a"], ["y"], keepdims=0)],
                                       [("a", TP.UINT16, [3])], [("y", TP.UINT16, [])])
    yield "Cast to string", model([helper.make_node("Cast", ["a"], ["y"], to=TP.STRING)],
                                  [("a", TP.FLOAT, [3])], [("y", TP.STRING, [3])])


def main():
    passed = failed = 0
    work = tempfile.mkdtemp(prefix="nnc-dtypes-")
    try:
        for name, m, xs, want in cases():
            status, err, header, got = compile_run(m, xs, work)
            w = np.asarray(want).astype(np.float32).ravel()
            types = [onnx.TensorProto.DataType.Name(v.type.tensor_type.elem_type).lower()
                     for v in list(m.graph.input) + list(m.graph.output)]
            notes = re.findall(r"^ \*   (?:input|output) .*$", header, re.M)
            if status:
                print("FAILED %s: status %d: %s" % (name, status, err.strip()[:300]))
            elif got.size != w.size or not np.array_equal(got, w):
                print("FAILED %s: got %s, numpy gives %s" % (name, got, w))
            elif any(t != "float" and "ONNX " + t not in n for t, n in zip(types, notes)):
                print("FAILED %s: the header does not name the ONNX types %s:\n%s" % (name, types, "\n".join(notes)))
            else:
                passed += 1
                continue
            failed += 1
        for name, m in refusals():
            status, err, _, _ = compile_run(m, [], work)
            if status != 3 or "unsupported" not in err:
                print("FAILED %s: nnc exited %d, not 3 (unsupported): %s" % (name, status, err.strip()[:200]))
                failed += 1
            else:
                passed += 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("dtypes: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
