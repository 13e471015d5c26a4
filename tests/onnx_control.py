#!/usr/bin/python3
"""onnx_control.py — ONNX control flow (If, Loop, Scan) through nnc.

Small models built with onnx.helper, each compiled by nnc, built with
tests/onnx_case.c and run; the outputs must match numpy's answer (rtol
1e-5, atol 1e-5): an If whose condition is a constant or folds once
--bind fixes an input, an If whose condition is a run-time input (both
branches and a Where, run with the condition true and false), Loops with a
constant trip count whose body reads outer values, a Loop ended by a
condition the body computes from the iteration number, Scans over
several inputs and axes in both directions, control flow nested both ways,
a subgraph input that shadows an outer name, and ONNX's own test_loop11
with its trip count bound.  Then the models nnc must refuse: unsupported
(exit 3, naming the node) for a data-dependent end of a Loop, an If whose
run-time branches differ in shape and a Loop past the unrolling limit;
invalid (exit 1) for subgraphs that break ONNX's rules.  No output file
may be left behind by a refused model.

Prints one line per failure and `control: N passed, M failed`; exit
status 1 on any failure.
"""

import os
import re
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError:
    print("control: skipped (python3-onnx and python3-numpy are not installed)")
    sys.exit(0)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NNC = os.environ.get("NNC", os.path.join(ROOT, "bin", "nnc"))
RT = os.path.join(ROOT, "build", "libnnc_rt.a")
F, B, I64 = TensorProto.FLOAT, TensorProto.BOOL, TensorProto.INT64
rng = np.random.default_rng(7)
failures = []
passed = 0


def vi(name, shape, t=F):
    return helper.make_tensor_value_info(name, t, shape)


def const(name, value, t=F):
    a = np.asarray(value, dtype={F: np.float32, B: np.bool_, I64: np.int64}[t])
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(a, name))


def init(name, value):
    return numpy_helper.from_array(np.asarray(value, dtype=np.float32), name)


def model(nodes, inputs, outputs, inits=(), opset=13):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def graph(nodes, inputs, outputs, name="body"):
    return helper.make_graph(nodes, name, inputs, outputs)


def compile_model(m, work, binds=()):
    path = os.path.join(work, "model.onnx")
    onnx.save(m, path)
    args = [NNC, path, "-o", os.path.join(work, "model.c")]
    for name, value in binds:
        pb = os.path.join(work, name + ".pb")
        with open(pb, "wb") as f:
            f.write(numpy_helper.from_array(np.asarray(value), name).SerializeToString())
        args += ["--bind", "%s=%s" % (name, pb)]
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


def check_run(label, m, feeds, want, binds=()):
    """m compiled and run on each of feeds (a list of input lists) gives want (a list of output lists)"""
    global passed
    with tempfile.TemporaryDirectory(prefix="nnc-control-") as work:
        r = compile_model(m, work, binds)
        if r.returncode != 0:
            failures.append("%s: nnc exited %d: %s" % (label, r.returncode, r.stderr.strip()[:400]))
            return
        exe = os.path.join(work, "case")
        b = subprocess.run(["cc", "-std=c99", "-O1", "-I" + os.path.join(ROOT, "runtime"), "-I" + work,
                            "-DNNC_MODEL=model", "-DNNC_UPPER=MODEL", '-DNNC_HEADER="model.h"',
                            os.path.join(work, "model.c"), os.path.join(ROOT, "tests", "onnx_case.c"), RT, "-lm",
                            "-o", exe], capture_output=True, text=True, timeout=300)
        if b.returncode != 0:
            failures.append("%s: the generated C does not compile: %s" % (label, b.stderr.strip()[:400]))
            return
        for ins, outs in zip(feeds, want):
            data = b"".join(np.asarray(a, dtype=np.float32).tobytes() for a in ins)
            p = subprocess.run([exe], input=data, capture_output=True, timeout=120)
            if p.returncode != 0:
                failures.append("%s: the model exited %d" % (label, p.returncode))
                return
            got = np.frombuffer(p.stdout, dtype=np.float32)
            w = np.concatenate([np.asarray(o, dtype=np.float64).ravel() for o in outs])
            if got.size != w.size or not np.allclose(got, w, rtol=1e-5, atol=1e-5):
                failures.append("%s: got %s, want %s" % (label, got[:12], w[:12]))
                return
    passed += 1


def check_refused(label, m, status, pattern, binds=()):
    """nnc refuses m with this exit status, stderr matching pattern, no output left"""
    global passed
    with tempfile.TemporaryDirectory(prefix="nnc-control-") as work:
        r = compile_model(m, work, binds)
        left = [f for f in ("model.c", "model.h") if os.path.exists(os.path.join(work, f))]
        if r.returncode != status or not re.search(pattern, r.stderr) or left:
            failures.append("%s: exit %d (want %d), left %s, stderr: %s" % (label, r.returncode, status, left,
                                                                             r.stderr.strip()[:400]))
            return
    passed += 1


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


# ---- If --------------------------------------------------------------------------------

def if_node(cond, then_nodes, then_out, else_nodes, else_out, outputs, name="if"):
    return helper.make_node("If", [cond], outputs, name=name,
                            then_branch=graph(then_nodes, [], then_out, "then"),
                            else_branch=graph(else_nodes, [], else_out, "else"))


def test_if():
    x = rng.standard_normal((2, 3)).astype(np.float32)
    w = rng.standard_normal((2, 3)).astype(np.float32)
    # a condition that folds: the batch is 2; the else branch holds an op nnc lacks, never built
    nodes = [helper.make_node("Shape", ["x"], ["s"]), const("zero", 0, I64), const("two", [2], I64),
             helper.make_node("Gather", ["s", "zero"], ["n"]), helper.make_node("Equal", ["n", "two"], ["c"]),
             if_node("c", [helper.make_node("Relu", ["x"], ["t0"]), helper.make_node("Mul", ["t0", "w"], ["t"])],
                     [vi("t", [2, 3])], [helper.make_node("NonZero", ["x"], ["e"])], [vi("e", None, I64)], ["y"])]
    m = model(nodes, [vi("x", [2, 3])], [vi("y", [2, 3])], [init("w", w)])
    check_run("If, condition folded from a shape", m, [[x]], [[np.maximum(x, 0) * w]])

    # a condition fixed by --bind (a sample rate): 16000 takes else
    nodes = [const("k8", 8000.0), helper.make_node("Equal", ["sr", "k8"], ["c"]),
             if_node("c", [helper.make_node("Neg", ["x"], ["t"])], [vi("t", [2, 3])],
                     [helper.make_node("Sigmoid", ["x"], ["e"])], [vi("e", [2, 3])], ["y"])]
    m = model(nodes, [vi("x", [2, 3]), vi("sr", [])], [vi("y", [2, 3])])
    check_run("If, condition fixed by --bind", m, [[x]], [[sigmoid(x)]], binds=[("sr", np.float32(16000))])

    # a run-time condition: both branches, Where; an outer value read in a branch
    nodes = [if_node("c", [helper.make_node("Mul", ["x", "w"], ["t0"]), helper.make_node("Add", ["t0", "x"], ["t"])],
                     [vi("t", [2, 3])], [helper.make_node("Sigmoid", ["x"], ["e"])], [vi("e", [2, 3])], ["y"]),
             helper.make_node("Add", ["y", "x"], ["z"])]
    m = model(nodes, [vi("x", [2, 3]), vi("c", [], B)], [vi("z", [2, 3])], [init("w", w)])
    check_run("If, condition computed at run time", m, [[x, [1.0]], [x, [0.0]]],
              [[x * w + x + x], [sigmoid(x) + x]])

    # two outputs, one of them an outer value returned as is
    nodes = [if_node("c", [helper.make_node("Neg", ["x"], ["t"])], [vi("t", [2, 3]), vi("w", [2, 3])],
                     [helper.make_node("Abs", ["x"], ["e"]), helper.make_node("Exp", ["x"], ["e2"])],
                     [vi("e", [2, 3]), vi("e2", [2, 3])], ["y1", "y2"])]
    m = model(nodes, [vi("x", [2, 3]), vi("c", [], B)], [vi("y1", [2, 3]), vi("y2", [2, 3])], [init("w", w)])
    check_run("If with two outputs, one an outer value", m, [[x, [1.0]], [x, [0.0]]],
              [[-x, w], [np.abs(x), np.exp(x)]])

    # run-time condition, branches of different shapes: refused naming the node
    nodes = [if_node("c", [helper.make_node("Neg", ["x"], ["t"])], [vi("t", [2, 3])],
                     [helper.make_node("ReduceSum", ["x"], ["e"], keepdims=0)], [vi("e", [])], ["y"], name="pick")]
    m = model(nodes, [vi("x", [2, 3]), vi("c", [], B)], [vi("y", None)])
    check_refused("If of branches of two shapes at run time", m, 3, r"node 'pick' \(If.*differs in shape")


# ---- Loop ------------------------------------------------------------------------------

def loop_node(m_name, cond_name, carried, outputs, body_nodes, body_inputs, body_outputs, name="loop"):
    return helper.make_node("Loop", [m_name, cond_name] + carried, outputs, name=name,
                            body=graph(body_nodes, body_inputs, body_outputs))


def test_loop():
    x = rng.standard_normal((3,)).astype(np.float32)
    w = rng.standard_normal((3,)).astype(np.float32)
    # for i < 4: y = y * w + x + i; scan out y; the body reads outer w and x
    body = [helper.make_node("Identity", ["cin"], ["cout"]), helper.make_node("Cast", ["i"], ["fi"], to=F),
            helper.make_node("Mul", ["yin", "w"], ["a"]), helper.make_node("Add", ["a", "x"], ["b"]),
            helper.make_node("Add", ["b", "fi"], ["yout"]), helper.make_node("Identity", ["yout"], ["sc"])]
    nodes = [const("M", 4, I64), const("T", True, B),
             loop_node("M", "T", ["x"], ["yf", "ys"], body, [vi("i", [], I64), vi("cin", [], B), vi("yin", [3])],
                       [vi("cout", [], B), vi("yout", [3]), vi("sc", [3])])]
    m = model(nodes, [vi("x", [3])], [vi("yf", [3]), vi("ys", [4, 3])], [init("w", w)])
    y, rows = x.copy(), []
    for i in range(4):
        y = y * w + x + i
        rows.append(y)
    check_run("Loop, constant M, body reads outer values", m, [[x]], [[y, np.stack(rows)]])

    # M absent: the body ends it at i == 2 (a condition folding each iteration)
    body = [const("two", 2, I64), helper.make_node("Less", ["i", "two"], ["cout"]),
            helper.make_node("Add", ["yin", "yin"], ["yout"])]
    nodes = [const("T", True, B),
             loop_node("", "T", ["x"], ["yf"], body, [vi("i", [], I64), vi("cin", [], B), vi("yin", [3])],
                       [vi("cout", [], B), vi("yout", [3])])]
    m = model(nodes, [vi("x", [3])], [vi("yf", [3])])
    check_run("Loop ended by a condition the body folds", m, [[x]], [[x * 8]])
    nodes = [const("T", True, B), const("M", np.iinfo(np.int64).max, I64),
             loop_node("M", "T", ["x"], ["yf"], body, [vi("i", [], I64), vi("cin", [], B), vi("yin", [3])],
                       [vi("cout", [], B), vi("yout", [3])])]
    m = model(nodes, [vi("x", [3])], [vi("yf", [3])])
    check_run("Loop with M = INT64_MAX ended by its condition", m, [[x]], [[x * 8]])

    # a subgraph input that shadows an outer name: the body's x is the carried value
    body = [helper.make_node("Identity", ["cin"], ["cout"]), helper.make_node("Mul", ["x", "w"], ["xo"])]
    nodes = [const("M", 3, I64), const("T", True, B), helper.make_node("Neg", ["x"], ["nx"]),
             loop_node("M", "T", ["nx"], ["yf"], body, [vi("i", [], I64), vi("cin", [], B), vi("x", [3])],
                       [vi("cout", [], B), vi("xo", [3])]),
             helper.make_node("Add", ["yf", "x"], ["z"])]
    m = model(nodes, [vi("x", [3])], [vi("z", [3])], [init("w", w)])
    check_run("Loop body input shadowing an outer name", m, [[x]], [[-x * w ** 3 + x]])

    # data-dependent end: refused
    body = [helper.make_node("ReduceSum", ["yin"], ["s"], keepdims=0), const("ten", 10.0),
            helper.make_node("Less", ["s", "ten"], ["cout"]), helper.make_node("Add", ["yin", "yin"], ["yout"])]
    nodes = [const("T", True, B),
             loop_node("", "T", ["x"], ["yf"], body, [vi("i", [], I64), vi("cin", [], B), vi("yin", [3])],
                       [vi("cout", [], B), vi("yout", [3])], name="until")]
    m = model(nodes, [vi("x", [3])], [vi("yf", [3])])
    check_refused("Loop with a data-dependent end", m, 3, r"node 'until' \(Loop.*condition at run time")

    # beyond the unrolling limit: refused with the count
    body = [helper.make_node("Identity", ["cin"], ["cout"]), helper.make_node("Add", ["yin", "yin"], ["yout"])]
    nodes = [const("M", 1000000, I64),
             loop_node("M", "", ["x"], ["yf"], body, [vi("i", [], I64), vi("cin", [], B), vi("yin", [3])],
                       [vi("cout", [], B), vi("yout", [3])], name="long")]
    m = model(nodes, [vi("x", [3])], [vi("yf", [3])])
    check_refused("Loop past the unrolling limit", m, 3, r"node 'long' \(Loop.*1000000 iterations.*2000000 nodes")

    # a while loop whose condition stays true: refused when it reaches the limit
    nodes = [const("T", True, B), const("M", np.iinfo(np.int64).max, I64),
             loop_node("M", "T", ["x"], ["yf"], body, [vi("i", [], I64), vi("cin", [], B), vi("yin", [3])],
                       [vi("cout", [], B), vi("yout", [3])], name="forever")]
    m = model(nodes, [vi("x", [3])], [vi("yf", [3])])
    check_refused("while loop past the unrolling limit", m, 3, r"node 'forever' \(Loop.*ran 10000 iterations")

    # a trip count computed at run time: refused, as a constant it must be
    nodes = [loop_node("n", "", ["x"], ["yf"], body, [vi("i", [], I64), vi("cin", [], B), vi("yin", [3])],
                       [vi("cout", [], B), vi("yout", [3])], name="dyn")]
    m = model(nodes, [vi("x", [3]), vi("n", [], I64)], [vi("yf", [3])])
    check_refused("Loop with a run-time trip count", m, 3, r"node 'dyn' \(Loop.*must be a constant")

    # ONNX's own test_loop11, its trip count and condition bound
    case = "/usr/share/libonnx-testdata/data/node/test_loop11"
    if os.path.isdir(case):
        m = onnx.load(os.path.join(case, "model.onnx"))
        d = os.path.join(case, "test_data_set_0")
        t = [numpy_helper.to_array(onnx.load_tensor(os.path.join(d, "input_%d.pb" % k))) for k in range(3)]
        o = [numpy_helper.to_array(onnx.load_tensor(os.path.join(d, "output_%d.pb" % k))) for k in range(2)]
        check_run("test_loop11 with M and cond bound", m, [[t[2]]], [o],
                  binds=[("trip_count", t[0]), ("cond", t[1])])


# ---- Scan ------------------------------------------------------------------------------

def test_scan():
    s0 = rng.standard_normal((2,)).astype(np.float32)
    a = rng.standard_normal((4, 2)).astype(np.float32)     # scanned on axis 0, forward
    b = rng.standard_normal((2, 4)).astype(np.float32)     # scanned on axis 1, backward
    body = [helper.make_node("Add", ["sin", "ai"], ["t"]), helper.make_node("Mul", ["t", "bi"], ["sout"]),
            helper.make_node("Sigmoid", ["sout"], ["o1"]), helper.make_node("Neg", ["ai"], ["o2"])]
    node = helper.make_node("Scan", ["s0", "a", "b"], ["sf", "y1", "y2"], num_scan_inputs=2,
                            scan_input_axes=[0, 1], scan_input_directions=[0, 1],
                            scan_output_axes=[1, 0], scan_output_directions=[0, 1],
                            body=graph(body, [vi("sin", [2]), vi("ai", [2]), vi("bi", [2])],
                                       [vi("sout", [2]), vi("o1", [2]), vi("o2", [2])]))
    m = model([node], [vi("s0", [2]), vi("a", [4, 2]), vi("b", [2, 4])],
              [vi("sf", [2]), vi("y1", [2, 4]), vi("y2", [4, 2])], opset=11)
    s, o1, o2 = s0.copy(), [], []
    for t in range(4):
        s = (s + a[t]) * b[:, 3 - t]
        o1.append(sigmoid(s))
        o2.append(-a[t])
    check_run("Scan, two inputs, axes and directions", m, [[s0, a, b]],
              [[s, np.stack(o1, axis=1), np.stack(o2[::-1], axis=0)]])


    # opset 8's batched form: each sample scanned on its own, reversed input
    s0 = rng.standard_normal((2, 3)).astype(np.float32)
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    body = [const("half", 0.5), helper.make_node("Mul", ["sin", "half"], ["h"]),
            helper.make_node("Add", ["h", "xi"], ["sout"]), helper.make_node("Tanh", ["sout"], ["o"])]
    node = helper.make_node("Scan", ["", "s0", "x"], ["sf", "ys"], num_scan_inputs=1, directions=[1],
                            body=graph(body, [vi("sin", [3]), vi("xi", [3])], [vi("sout", [3]), vi("o", [3])]))
    m = model([node], [vi("s0", [2, 3]), vi("x", [2, 4, 3])], [vi("sf", [2, 3]), vi("ys", [2, 4, 3])], opset=8)
    s, ys = s0.copy(), np.zeros((2, 4, 3), np.float32)
    for t in range(4):
        s = s * 0.5 + x[:, 3 - t]
        ys[:, t] = np.tanh(s)
    check_run("Scan-8 over a batch of 2, reversed", m, [[s0, x]], [[s, ys]])


# ---- nesting ---------------------------------------------------------------------------

def test_nested():
    x = rng.standard_normal((3,)).astype(np.float32)
    w = rng.standard_normal((3,)).astype(np.float32)
    # a Loop whose body holds an If on the iteration number (folds each time) reading outer w
    inner = if_node("small", [helper.make_node("Mul", ["yin", "w"], ["t"])], [vi("t", [3])],
                    [helper.make_node("Add", ["yin", "w"], ["e"])], [vi("e", [3])], ["yout"])
    body = [helper.make_node("Identity", ["cin"], ["cout"]), const("two", 2, I64),
            helper.make_node("Less", ["i", "two"], ["small"]), inner]
    nodes = [const("M", 4, I64),
             loop_node("M", "", ["x"], ["yf"], body, [vi("i", [], I64), vi("cin", [], B), vi("yin", [3])],
                       [vi("cout", [], B), vi("yout", [3])])]
    m = model(nodes, [vi("x", [3])], [vi("yf", [3])], [init("w", w)])
    check_run("If nested in a Loop", m, [[x]], [[x * w * w + w + w]])

    # a Loop nested in an If whose condition is a run-time input; the Loop's scan output stacked
    lbody = [helper.make_node("Identity", ["cin"], ["cout"]), helper.make_node("Mul", ["yin", "w"], ["yout"]),
             helper.make_node("Identity", ["yout"], ["sc"])]
    loop = loop_node("M", "", ["x"], ["lf", "ls"], lbody, [vi("i", [], I64), vi("cin", [], B), vi("yin", [3])],
                     [vi("cout", [], B), vi("yout", [3]), vi("sc", [3])])
    nodes = [const("M", 2, I64),
             if_node("c", [loop], [vi("ls", [2, 3])],
                     [helper.make_node("Concat", ["x", "w"], ["cat"], axis=0),
                      const("shp", [2, 3], I64), helper.make_node("Reshape", ["cat", "shp"], ["e"])],
                     [vi("e", [2, 3])], ["y"])]
    m = model(nodes, [vi("x", [3]), vi("c", [], B)], [vi("y", [2, 3])], [init("w", w)])
    check_run("Loop nested in a run-time If", m, [[x, [1.0]], [x, [0.0]]],
              [[np.stack([x * w, x * w * w])], [np.stack([x, w])]])

    # Loops nested in Loops: the inner body reads the outer body's value
    ibody = [helper.make_node("Identity", ["c2"], ["c2o"]), helper.make_node("Add", ["zin", "v"], ["zout"])]
    obody = [helper.make_node("Identity", ["cin"], ["cout"]), helper.make_node("Mul", ["yin", "w"], ["v"]),
             loop_node("three", "", ["yin"], ["yout"], ibody, [vi("j", [], I64), vi("c2", [], B), vi("zin", [3])],
                       [vi("c2o", [], B), vi("zout", [3])])]
    nodes = [const("M", 2, I64), const("three", 3, I64),
             loop_node("M", "", ["x"], ["yf"], obody, [vi("i", [], I64), vi("cin", [], B), vi("yin", [3])],
                       [vi("cout", [], B), vi("yout", [3])])]
    m = model(nodes, [vi("x", [3])], [vi("yf", [3])], [init("w", w)])
    y = x.copy()
    for _ in range(2):
        y = y + 3 * (y * w)
    check_run("Loop nested in a Loop", m, [[x]], [[y]])


# ---- invalid subgraphs -----------------------------------------------------------------

def test_invalid():
    def body_if(then_nodes, then_out):
        return model([if_node("c", then_nodes, then_out, [helper.make_node("Neg", ["x"], ["e"])], [vi("e", [3])],
                              ["y"], name="branch")],
                     [vi("x", [3]), vi("c", [], B)], [vi("y", [3])])
    check_refused("a subgraph reading an undefined name", body_if([helper.make_node("Neg", ["nowhere"], ["t"])],
                                                                [vi("t", [3])]),
                  1, r"subgraph 'then_branch' of node 'branch'.*reads 'nowhere'")
    check_refused("a subgraph node writing an outer name", body_if([helper.make_node("Neg", ["x"], ["c"])],
                                                                 [vi("c", [3])]),
                  1, r"subgraph 'then_branch' of node 'branch'.*writes 'c'.*SSA")
    check_refused("a subgraph output nothing computes", body_if([helper.make_node("Neg", ["x"], ["t"])],
                                                              [vi("nothing", [3])]),
                  1, r"output 'nothing' of the subgraph 'then_branch' of node 'branch'")
    check_refused("a subgraph reading a name before it is written",
                  body_if([helper.make_node("Neg", ["u"], ["t"]), helper.make_node("Abs", ["x"], ["u"])],
                          [vi("t", [3])]),
                  1, r"reads 'u'")
    body = [helper.make_node("Identity", ["cin"], ["cout"])]
    nodes = [const("M", 2, I64),
             loop_node("M", "", ["x"], ["yf"], body, [vi("i", [], I64), vi("cin", [], B)], [vi("cout", [], B)],
                       name="short")]
    check_refused("a Loop body without its carried input", model(nodes, [vi("x", [3])], [vi("yf", [3])]),
                  1, r"node 'short' \(Loop.*body takes 2 inputs")


def main():
    for test in (test_if, test_loop, test_scan, test_nested, test_invalid):
        test()
    for f in failures:
        print("FAILED " + f)
    print("control: %d passed, %d failed" % (passed, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
