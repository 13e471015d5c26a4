#!/usr/bin/python3
"""onnx_malformed.py — hostile and malformed ONNX files never crash nnc.

Each case writes one model into a temporary folder (with onnx.helper, or
as raw protobuf bytes where onnx.helper cannot express it: 3,000 nested
If subgraphs, a million nodes, truncated raw_data, external data through
a symbolic link, a file above 2 GiB as a sparse file), runs
`nnc FILE -o out.c` and checks:

  * the exit status: 1 for an invalid model, 3 for a valid one nnc cannot
    compile (an opset, a rank or a size beyond what nnc implements);
  * stderr names the problem (a regular expression per case);
  * no output file is left behind (out.c and out.h absent);
  * no crash (a status below 128; ASan/UBSan reports count as failures).

NNC=path runs another nnc (make check-asan's sanitized build).  Prints
one line per failure and `malformed: N passed, M failed`; exit status 1 on
any failure.
"""

import os
import subprocess
import sys
import tempfile

try:
    import onnx
    from onnx import TensorProto, helper
except ImportError:
    print("malformed: skipped (python3-onnx is not installed)")
    sys.exit(0)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NNC = os.environ.get("NNC", os.path.join(ROOT, "bin", "nnc"))
F = TensorProto.FLOAT

# ---- building models -------------------------------------------------------------------


def vi(name, shape, t=F):
    return helper.make_tensor_value_info(name, t, shape)


def model(nodes, inputs, outputs, inits=(), opset=13):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def init(name, dims, vals=None, t=F):
    n = 1
    for d in dims:
        n *= d
    return helper.make_tensor(name, t, dims, vals if vals is not None else [0.5] * n)


def raw_tensor(name, dims, raw):
    """a float tensor whose dims and raw_data need not agree (make_tensor checks them)"""
    t = TensorProto()
    t.name = name
    t.data_type = F
    t.dims.extend(dims)
    t.raw_data = raw
    return t


def unary_model(op, x_shape, y_shape=None, **attrs):
    return model([helper.make_node(op, ["x"], ["y"], name="n", **attrs)], [vi("x", x_shape)],
                 [vi("y", y_shape)])


def save(m, folder, name="model.onnx"):
    path = os.path.join(folder, name)
    with open(path, "wb") as f:
        f.write(m.SerializeToString() if not isinstance(m, bytes) else m)
    return path


# ---- protobuf wire bytes, for what onnx.helper cannot express ---------------------------


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def field(num, payload):     # a length-delimited field
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def vfield(num, v):          # a varint field
    return varint(num << 3) + varint(v)


def model_bytes(graph):      # ModelProto: ir_version 8, opset 13, graph
    return vfield(1, 8) + field(8, vfield(2, 13)) + field(7, graph)


def nested_if(depth):
    """If nodes nested `depth` deep through then_branch"""
    g = field(1, field(1, b"c") + field(2, b"y") + field(4, b"Identity")) + field(12, field(1, b"y"))
    for _ in range(depth):
        attr = field(1, b"then_branch") + vfield(20, 5) + field(6, g)
        node = field(1, b"c") + field(2, b"y") + field(4, b"If") + field(5, attr)
        g = field(1, node) + field(12, field(1, b"y"))
    return model_bytes(g)


def nested_sequence(depth):
    """a graph input whose type is a sequence of a sequence of ... `depth` deep"""
    t = field(1, vfield(1, 1))      # TypeProto { tensor_type { elem_type: FLOAT } }
    for _ in range(depth):
        t = field(4, field(1, t))   # TypeProto { sequence_type { elem_type: t } }
    node = field(1, b"x") + field(2, b"y") + field(4, b"Identity")
    return model_bytes(field(1, node) + field(11, field(1, b"x") + field(2, t)) + field(12, field(1, b"y")))


def many_nodes(n):
    node = field(1, b"x") + field(2, b"x") + field(4, b"Relu")
    return model_bytes(field(1, node) * n + field(12, field(1, b"x")))


# ---- the cases --------------------------------------------------------------------------

def ext_model(folder, location, length=None, offset=None):
    """an initializer 'w' (4 floats) whose data is external at location"""
    t = TensorProto()
    t.name = "w"
    t.data_type = F
    t.dims.extend([4])
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", offset), ("length", length)):
        if v is not None:
            e = t.external_data.add()
            e.key, e.value = k, str(v)
    return model([helper.make_node("Add", ["x", "w"], ["y"], name="add")], [vi("x", [4])], [vi("y", [4])], [t])


def case_list():
    C = []

    def add(name, exit_code, pattern, make):
        C.append((name, exit_code, pattern, make))

    x4 = [vi("x", [2, 4])]
    y = [vi("y", None)]
    node = helper.make_node
    # graph-level rules
    add("two writers of one name", 1, r"'y' is written twice, by node 'a' \(Relu\) and by node 'b' \(Relu\)",
        lambda d: save(model([node("Relu", ["x"], ["y"], name="a"), node("Relu", ["x"], ["y"], name="b")], x4, y), d))
    add("a node writing an initializer's name", 1, r"'w' is written twice, by initializer 'w' and by node 'a'",
        lambda d: save(model([node("Relu", ["x"], ["w"], name="a")], x4, [vi("w", None)], [init("w", [2])]), d))
    add("no outputs", 1, r"the graph declares no output",
        lambda d: save(model([node("Relu", ["x"], ["y"], name="a")], x4, []), d))
    add("an output nothing computes", 1, r"graph output 'z' is not computed by any node",
        lambda d: save(model([node("Relu", ["x"], ["y"], name="a")], x4, [vi("z", None)]), d))
    add("opset 99", 3, r"opset 99 of the default ONNX domain; nnc implements opsets 1 to \d+",
        lambda d: save(model([node("Relu", ["x"], ["y"], name="a")], x4, y, opset=99), d))
    # shapes and attributes
    add("MatMul with mismatched inner sizes", 1, r"node 'mm' \(MatMul.*inner sizes differ",
        lambda d: save(model([node("MatMul", ["x", "w"], ["y"], name="mm")], x4, y, [init("w", [3, 5])]), d))
    add("impossible Reshape", 1, r"node 'r' \(Reshape.*cannot give the 8 elements",
        lambda d: save(model([node("Reshape", ["x", "s"], ["y"], name="r")], x4, y,
                             [helper.make_tensor("s", TensorProto.INT64, [2], [3, 3])]), d))
    add("Reshape with two -1", 1, r"Reshape's shape entry 1 is -1",
        lambda d: save(model([node("Reshape", ["x", "s"], ["y"], name="r")], x4, y,
                             [helper.make_tensor("s", TensorProto.INT64, [2], [-1, -1])]), d))
    add("negative input dimension", 1, r"graph input 'x' has a negative dimension -3",
        lambda d: save(model([node("Relu", ["x"], ["y"], name="a")], [vi("x", [2, -3])], y), d))
    add("negative initializer dimension", 1, r"tensor 'w' has a negative or huge dimension",
        lambda d: save(model([node("Add", ["x", "w"], ["y"], name="a")], x4, y,
                             [raw_tensor("w", [-4], b"")]), d))
    add("Gemm transB = 7", 1, r"node 'g' \(Gemm.*transB is 7; it must be 0 or 1",
        lambda d: save(model([node("Gemm", ["x", "w"], ["y"], name="g", transB=7)], x4, y, [init("w", [4, 3])]), d))
    add("rank 33 input", 3, r"graph input 'x' has rank 33; nnc's limit is 8",
        lambda d: save(model([node("Relu", ["x"], ["y"], name="a")], [vi("x", [1] * 33)], y), d))
    add("rank 9 initializer", 3, r"initializer 'w' has rank 9",
        lambda d: save(model([node("Add", ["x", "w"], ["y"], name="a")], x4, y, [init("w", [1] * 9)]), d))
    add("Add with one input", 1, r"node 'a' \(Add.*Add needs at least 2 inputs, input 1 is missing",
        lambda d: save(model([node("Add", ["x"], ["y"], name="a")], x4, y), d))
    add("PRelu with one input", 1, r"PRelu needs at least 2 inputs",
        lambda d: save(model([node("PRelu", ["x"], ["y"], name="p")], x4, y), d))
    add("Reshape without its shape", 1, r"Reshape needs at least 2 inputs at this opset, input 1 is missing",
        lambda d: save(model([node("Reshape", ["x"], ["y"], name="r")], x4, y), d))
    add("Gather with an empty indices input", 1, r"Gather needs at least 2 inputs, input 1 is empty",
        lambda d: save(model([node("Gather", ["x", ""], ["y"], name="g")], x4, y), d))
    add("Concat with an empty operand", 1, r"input 1 of Concat is empty",
        lambda d: save(model([node("Concat", ["x", "", "x"], ["y"], name="c", axis=0)], x4, y), d))
    add("Concat without inputs", 1, r"Concat needs at least 1 input, input 0 is missing",
        lambda d: save(model([node("Concat", [], ["y"], name="c", axis=0), node("Add", ["x", "y"], ["z"], name="a")],
                             x4, [vi("z", None)]), d))
    add("a node without outputs", 1, r"a node needs at least one output",
        lambda d: save(model([node("Relu", ["x"], [], name="a"), node("Relu", ["x"], ["y"], name="b")], x4, y), d))
    add("GRU declaring 3 outputs", 1, r"GRU has at most 2 outputs, the node declares 3",
        lambda d: save(model([node("GRU", ["x", "w", "r"], ["y", "h", "c"], name="gru", hidden_size=2)],
                             [vi("x", [3, 1, 4])], y, [init("w", [1, 6, 4]), init("r", [1, 6, 2])]), d))
    add("LSTM weights not matching hidden_size", 1, r"weights do not match hidden_size 3",
        lambda d: save(model([node("LSTM", ["x", "w", "r"], ["y"], name="lstm", hidden_size=3)],
                             [vi("x", [3, 1, 4])], y, [init("w", [1, 8, 4]), init("r", [1, 8, 2])]), d))
    add("LSTM with hidden_size 2^62", 1, r"hidden_size is 4611686018427387904",
        lambda d: save(model([node("LSTM", ["x", "w", "r"], ["y"], name="lstm", hidden_size=1 << 62)],
                             [vi("x", [3, 1, 4])], y, [init("w", [1, 8, 4]), init("r", [1, 8, 2])]), d))
    add("BatchNormalization with a short scale", 1, r"BatchNormalization's scale has 2 values for 3 channels",
        lambda d: save(model([node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], name="bn")],
                             [vi("x", [1, 3, 2, 2])], y,
                             [init("s", [2]), init("b", [3]), init("m", [3]), init("v", [3])]), d))
    add("Conv with a rank-2 weight", 1, r"Conv's weight has rank 2 for an input of rank 4",
        lambda d: save(model([node("Conv", ["x", "w"], ["y"], name="conv")], [vi("x", [1, 3, 5, 5])], y,
                             [init("w", [2, 3])]), d))
    add("Conv with group 0", 1, r"group is 0; it must be at least 1",
        lambda d: save(model([node("Conv", ["x", "w"], ["y"], name="conv", group=0)], [vi("x", [1, 3, 5, 5])], y,
                             [init("w", [2, 3, 3, 3])]), d))
    add("Conv with group 2^62", 1, r"Conv's channels do not match its groups",
        lambda d: save(model([node("Conv", ["x", "w"], ["y"], name="conv", group=1 << 62)], [vi("x", [1, 3, 5, 5])], y,
                             [init("w", [2, 3, 3, 3])]), d))
    add("Conv with stride 0", 1, r"strides\[0\] is 0; it must be at least 1",
        lambda d: save(model([node("Conv", ["x", "w"], ["y"], name="conv", strides=[0, 1])],
                             [vi("x", [1, 3, 5, 5])], y, [init("w", [2, 3, 3, 3])]), d))
    add("Conv with a negative pad", 1, r"pads\[1\] is -1; it must be non-negative",
        lambda d: save(model([node("Conv", ["x", "w"], ["y"], name="conv", pads=[0, -1, 0, 0])],
                             [vi("x", [1, 3, 5, 5])], y, [init("w", [2, 3, 3, 3])]), d))
    add("Conv with a short bias", 1, r"Conv's bias has 1 values for 2 output channels",
        lambda d: save(model([node("Conv", ["x", "w", "b"], ["y"], name="conv")], [vi("x", [1, 3, 5, 5])], y,
                             [init("w", [2, 3, 3, 3]), init("b", [1])]), d))
    add("MaxPool with a 3-entry kernel on a 2-D input", 1, r"kernel_shape has 3 entries; a 2-D window needs 2",
        lambda d: save(unary_model("MaxPool", [1, 1, 4, 4], kernel_shape=[2, 2, 2]), d))
    add("Transpose perm out of range", 1, r"perm must list each axis 0 to 1 once; entry 1 is 5",
        lambda d: save(unary_model("Transpose", [2, 4], perm=[0, 5]), d))
    add("Transpose perm with a duplicate", 1, r"perm must list each axis 0 to 1 once; entry 1 is 0",
        lambda d: save(unary_model("Transpose", [2, 4], perm=[0, 0]), d))
    add("Transpose perm of 40 entries", 1, r"perm has 40 entries for an input of rank 2",
        lambda d: save(unary_model("Transpose", [2, 4], perm=list(range(40))), d))
    add("Concat axis out of range", 1, r"axis 5 is out of range for an input of rank 2",
        lambda d: save(model([node("Concat", ["x", "x"], ["y"], name="c", axis=5)], x4, y), d))
    add("Softmax axis out of range", 1, r"axis -3 is out of range",
        lambda d: save(unary_model("Softmax", [2, 4], axis=-3), d))
    add("ReduceSum axes out of range", 1, r"axes entry 9 is out of range",
        lambda d: save(model([node("ReduceSum", ["x", "a"], ["y"], name="r")], x4, y,
                             [helper.make_tensor("a", TensorProto.INT64, [1], [9])]), d))
    add("Split axis out of range", 1, r"axis 2 is out of range",
        lambda d: save(model([node("Split", ["x"], ["y", "z"], name="s", axis=2)], x4, y), d))
    add("Squeeze of an axis of extent 4", 1, r"Squeeze's axis 1 has extent 4",
        lambda d: save(model([node("Squeeze", ["x", "a"], ["y"], name="s")], x4, y,
                             [helper.make_tensor("a", TensorProto.INT64, [1], [1])]), d))
    add("Gather axis out of range", 1, r"axis -7 is out of range",
        lambda d: save(model([node("Gather", ["x", "i"], ["y"], name="g", axis=-7)], x4, y,
                             [helper.make_tensor("i", TensorProto.INT64, [1], [0])]), d))
    add("Slice axes out of range", 1, r"axes entry 4 is out of range",
        lambda d: save(model([node("Slice", ["x", "s", "e", "a"], ["y"], name="sl")], x4, y,
                             [helper.make_tensor(n, TensorProto.INT64, [1], [v]) for n, v in
                              (("s", 0), ("e", 1), ("a", 4))]), d))
    add("LayerNormalization axis out of range", 1, r"axis 3 is out of range",
        lambda d: save(model([node("LayerNormalization", ["x", "s"], ["y"], name="ln", axis=3)], x4, y,
                             [init("s", [4])]), d))
    add("Clip with an empty min", 1, r"Clip's min.* must be a single value \(a scalar\), it has 0",
        lambda d: save(model([node("Clip", ["x", "lo"], ["y"], name="c")], x4, y, [init("lo", [0])]), d))
    add("Range with delta 0", 1, r"Range's delta is 0",
        lambda d: save(model([node("Range", ["a", "b", "c"], ["y"], name="r")], x4, y,
                             [init("a", [], [0.0]), init("b", [], [4.0]), init("c", [], [0.0])]), d))
    add("ConstantOfShape of 2^60 elements", 3, r"ConstantOfShape's shape of more than \d+ elements",
        lambda d: save(model([node("ConstantOfShape", ["s"], ["y"], name="k")], x4, y,
                             [helper.make_tensor("s", TensorProto.INT64, [2], [1 << 30, 1 << 30])]), d))
    add("Expand to a negative shape", 1, r"Expand's shape has a negative extent",
        lambda d: save(model([node("Expand", ["x", "s"], ["y"], name="e")], x4, y,
                             [helper.make_tensor("s", TensorProto.INT64, [2], [2, -4])]), d))
    add("Tile by 2^40", 1, r"Tile's repeat 1 is",
        lambda d: save(model([node("Tile", ["x", "r"], ["y"], name="t")], x4, y,
                             [helper.make_tensor("r", TensorProto.INT64, [2], [1, 1 << 40])]), d))
    add("Add of shapes that do not broadcast", 1, r"operands of shapes \(2, 4\) and \(3\) do not broadcast",
        lambda d: save(model([node("Add", ["x", "w"], ["y"], name="a")], x4, y, [init("w", [3])]), d))
    add("Add of a zero-size axis against 129 (a zero extent is no 1)", 1,
        r"operands of shapes \(1, 0, 3\) and \(1, 129, 3\) do not broadcast",
        lambda d: save(model([node("Add", ["z", "w"], ["y"], name="a")], [vi("z", [1, 0, 3])], y,
                             [init("w", [1, 129, 3])]), d))
    add("a Constant of rank 9", 3, r"a Constant of rank above 8",
        lambda d: save(model([node("Constant", [], ["k"], name="k", value=init("v", [1] * 9)),
                              node("Add", ["x", "k"], ["y"], name="a")], x4, y), d))
    # tensor data
    add("raw_data shorter than its dims", 1, r"tensor 'w' holds 2 values but its shape needs 8",
        lambda d: save(model([node("Add", ["x", "w"], ["y"], name="a")], x4, y,
                             [raw_tensor("w", [2, 4], b"\0" * 8)]), d))
    add("dims whose product overflows", 1, r"tensor 'w' has a negative or huge dimension",
        lambda d: save(model([node("Add", ["x", "w"], ["y"], name="a")], x4, y,
                             [raw_tensor("w", [1 << 31, 1 << 31, 1 << 31, 4], b"")]), d))
    add("a dimension of 2^62", 1, r"tensor 'w' has a negative or huge dimension",
        lambda d: save(model([node("Add", ["x", "w"], ["y"], name="a")], x4, y,
                             [raw_tensor("w", [1 << 62], b"")]), d))
    # external data

    def ext(location, length=None, offset=None, setup=None):
        def make(d):
            if setup:
                setup(d)
            return save(ext_model(d, location, length, offset), d)
        return make

    def data_file(d, size=16):
        with open(os.path.join(d, "w.bin"), "wb") as f:
            f.write(b"\0" * size)

    add("external data at '.'", 1, r"external data .* is not a regular file", ext("."))
    add("external data at /etc/passwd", 1, r"external data needs a relative 'location'", ext("/etc/passwd"))
    add("external data at ../x", 1, r"external data needs a relative 'location'", ext("../x"))
    add("external data at sub/../../x", 1, r"external data needs a relative 'location'", ext("sub/../../x"))
    add("external data through a symlink to /etc/passwd", 1, r"resolves to /etc/passwd, outside the model's folder",
        ext("link", setup=lambda d: os.symlink("/etc/passwd", os.path.join(d, "link"))))
    add("external data through a symlink inside the folder", 1, r"is a symbolic link",
        ext("link", setup=lambda d: (data_file(d), os.symlink("w.bin", os.path.join(d, "link")))))
    add("external data of length 2^62", 1, r"offset 0 \+ length 4611686018427387904 runs past its end",
        ext("w.bin", length=1 << 62, setup=data_file))
    add("external data at an offset past the end", 1, r"offset 64 \+ length .* runs past its end",
        ext("w.bin", offset=64, setup=data_file))
    add("external data shorter than the tensor", 1, r"is less than the tensor's shape needs",
        ext("w.bin", length=8, setup=data_file))
    add("external data with a negative offset", 1, r"non-negative decimal 'offset'", ext("w.bin", offset=-8,
                                                                                     setup=data_file))
    add("external data that is a device", 1, r"resolves to /dev/zero, outside|not a regular file",
        ext("zero", setup=lambda d: os.symlink("/dev/zero", os.path.join(d, "zero"))))
    # the file itself
    add("3000 nested If subgraphs", 1, r"messages nest more than 64 deep",
        lambda d: save(nested_if(3000), d))
    add("a type nested 5000 deep", 1, r"messages nest more than 64 deep",
        lambda d: save(nested_sequence(5000), d))
    add("1,000,001 nodes", 1, r"more than 1000000 nodes", lambda d: save(many_nodes(1000001), d))
    add("a graph output without a name", 1, r"a graph output has no name",
        lambda d: save(model_bytes(field(1, field(1, b"x") + field(2, b"y") + field(4, b"Relu")) +
                                   field(11, field(1, b"x")) + field(12, b"")), d))
    add("a node without an op_type", 1, r"a node's op_type has no name",
        lambda d: save(model_bytes(field(1, field(1, b"x") + field(2, b"y")) + field(11, field(1, b"x")) +
                                   field(12, field(1, b"y"))), d))
    add("a truncated file", 1, r"not an ONNX model",
        lambda d: save(model([node("Relu", ["x"], ["y"], name="a")], x4, y).SerializeToString()[:-7], d))
    add("a folder named model.onnx", 1, r"is a directory", lambda d: (os.mkdir(os.path.join(d, "m.onnx")),
                                                                      os.path.join(d, "m.onnx"))[1])

    def sparse_big(d):
        path = os.path.join(d, "big.onnx")
        with open(path, "wb") as f:
            f.truncate((2 << 30) + 1)
        return path
    add("a file above 2 GiB", 1, r"above nnc's limit of 2 GiB", sparse_big)
    return C


def run_case(name, want, pattern, make):
    import re
    with tempfile.TemporaryDirectory(prefix="nnc-malformed-") as d:
        path = make(d)
        out = os.path.join(d, "out.c")
        try:
            r = subprocess.run([NNC, path, "-o", out], capture_output=True, text=True, errors="replace", timeout=60)
        except subprocess.TimeoutExpired:
            return "timed out"
        problems = []
        if r.returncode < 0 or r.returncode >= 128:
            problems.append("crashed (status %d)" % r.returncode)
        elif r.returncode != want:
            problems.append("exit %d, expected %d" % (r.returncode, want))
        if "Sanitizer" in r.stderr or "runtime error" in r.stderr:
            problems.append("sanitizer report")
        if not re.search(pattern, r.stderr):
            problems.append("no message matching /%s/" % pattern)
        left = [f for f in ("out.c", "out.h") if os.path.exists(os.path.join(d, f))]
        if left:
            problems.append("left %s behind" % " and ".join(left))
        if problems:
            return "; ".join(problems) + "\n    stderr: " + r.stderr.strip()[:600].replace("\n", "\n    ")
        return None


def main():
    verbose = "-v" in sys.argv
    passed = failed = 0
    for name, want, pattern, make in case_list():
        why = run_case(name, want, pattern, make)
        if why:
            failed += 1
            print("FAIL %s: %s" % (name, why))
        else:
            passed += 1
            if verbose:
                print("PASS %s (exit %d)" % (name, want))
    print("malformed: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
