#!/usr/bin/python3
"""onnx_rnn.py — nnc's ONNX LSTM, GRU and RNN against a float64 numpy
reference of ONNX's own equations (the operator spec's, in ONNX's gate
order), over the attributes the spec has: direction, layout, initial_h /
initial_c as graph inputs (the streaming form) or constants, sequence_lens,
clip, activations with their alpha / beta, peepholes, input_forget, GRU's
linear_before_reset 0 and 1, and any combination of the optional outputs.

Each case is written as a conformance folder (model.onnx and
test_data_set_0) and run by tests/onnx_conformance.py's run_case, so the
compile / build / compare path is the one the conformance data takes.
Cases nnc must refuse (exit 3) are listed apart and must be refused.

Then the streaming check: a small torch.nn.LSTM exported with h0 / c0 as
inputs and hn / cn as outputs, run by nnc on three chunks of a sequence,
each call fed the state the previous one returned, must equal PyTorch on
the whole sequence.

Prints one line per case, then `onnx rnn: N passed, M failed`; exit 1 on
any failure.
"""

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import warnings

try:
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper, TensorProto
except ImportError:
    print("onnx rnn: skipped (python3-onnx not installed)")
    sys.exit(0)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location("conf", os.path.join(ROOT, "tests", "onnx_conformance.py"))
conf = importlib.util.module_from_spec(spec)
spec.loader.exec_module(conf)

GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
DEFAULT_ACTS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"], "RNN": ["Tanh"]}
TAKES = {"hardsigmoid": (0.2, 0.5, 2), "leakyrelu": (0.01, 0, 1), "thresholdedrelu": (1.0, 0, 1),
         "scaledtanh": (1.0, 1.0, 2), "affine": (1.0, 0.0, 2), "elu": (1.0, 0, 1)}


def act_fn(name, alpha, beta):
    n = name.lower()
    return {
        "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
        "tanh": np.tanh,
        "relu": lambda x: np.maximum(x, 0),
        "hardsigmoid": lambda x: np.clip(alpha * x + beta, 0, 1),
        "leakyrelu": lambda x: np.where(x < 0, alpha * x, x),
        "thresholdedrelu": lambda x: np.where(x > alpha, x, 0),
        "scaledtanh": lambda x: alpha * np.tanh(beta * x),
        "affine": lambda x: alpha * x + beta,
        "elu": lambda x: np.where(x < 0, alpha * (np.exp(x) - 1), x),
        "softsign": lambda x: x / (1 + np.abs(x)),
        "softplus": lambda x: np.log1p(np.exp(x)),
    }.get(n, lambda x: np.full_like(x, np.nan))     # one nnc must refuse


def resolve_acts(op, dirs, acts, alphas, betas):
    """per direction, the list of callables; alpha / beta consumed in list order"""
    count = len(DEFAULT_ACTS[op])
    acts = acts or DEFAULT_ACTS[op]
    ia = ib = 0
    fns = []
    for name in acts:
        da, db, k = TAKES.get(name.lower(), (0, 0, 0))
        a, b = da, db
        if k >= 1 and alphas is not None and ia < len(alphas):
            a = alphas[ia]
            ia += 1
        if k >= 2 and betas is not None and ib < len(betas):
            b = betas[ib]
            ib += 1
        fns.append(act_fn(name, a, b))
    if len(fns) == count:
        fns = fns * dirs
    return [fns[d * count:(d + 1) * count] for d in range(dirs)]


def reference(op, x, w, r, b, lens, h0, c0, p, attrs):
    """ONNX's equations in float64; returns Y, Y_h, Y_c in the node's layout"""
    layout = attrs.get("layout", 0)
    if layout:
        x = x.transpose(1, 0, 2)
        h0 = None if h0 is None else h0.transpose(1, 0, 2)
        c0 = None if c0 is None else c0.transpose(1, 0, 2)
    T, N, _ = x.shape
    direction = attrs.get("direction", "forward")
    dirs = 2 if direction == "bidirectional" else 1
    H = attrs["hidden_size"]
    G = GATES[op]
    clip = attrs.get("clip")
    lbr = attrs.get("linear_before_reset", 0)
    fns = resolve_acts(op, dirs, attrs.get("activations"), attrs.get("activation_alpha"), attrs.get("activation_beta"))
    lens = np.full(N, T) if lens is None else lens
    Y = np.zeros((T, dirs, N, H))
    Yh = np.zeros((dirs, N, H))
    Yc = np.zeros((dirs, N, H))

    def cl(v):
        return np.clip(v, -clip, clip) if clip is not None else v

    for d in range(dirs):
        f = fns[d]
        W, R = w[d].astype(np.float64), r[d].astype(np.float64)
        B = b[d].astype(np.float64) if b is not None else np.zeros(2 * G * H)
        Wb, Rb = B[:G * H], B[G * H:]
        P = p[d].astype(np.float64) if p is not None else np.zeros(3 * H)
        for n in range(N):
            h = h0[d, n].astype(np.float64) if h0 is not None else np.zeros(H)
            c = c0[d, n].astype(np.float64) if c0 is not None else np.zeros(H)
            L = int(lens[n])
            steps = range(L) if (direction == "forward" or d == 0) and direction != "reverse" else range(L - 1, -1, -1)
            for t in steps:
                xt = x[t, n].astype(np.float64)
                if op == "LSTM":
                    g = xt @ W.T + h @ R.T + Wb + Rb
                    gi, go, gf, gc = np.split(g, 4)
                    i = f[0](cl(gi + P[:H] * c))
                    fg = f[0](cl(gf + P[2 * H:] * c))
                    if attrs.get("input_forget", 0):
                        fg = 1 - i
                    cc = f[1](cl(gc))
                    c = fg * c + i * cc
                    o = f[0](cl(go + P[H:2 * H] * c))
                    h = o * f[2](c)    # clip bounds the gates' inputs, not C (onnxruntime)
                elif op == "GRU":
                    gx = xt @ W.T + Wb
                    z = f[0](cl(gx[:H] + h @ R[:H].T + Rb[:H]))
                    rr = f[0](cl(gx[H:2 * H] + h @ R[H:2 * H].T + Rb[H:2 * H]))
                    if lbr:
                        hh = f[1](cl(gx[2 * H:] + rr * (h @ R[2 * H:].T + Rb[2 * H:])))
                    else:
                        hh = f[1](cl(gx[2 * H:] + (rr * h) @ R[2 * H:].T + Rb[2 * H:]))
                    h = (1 - z) * hh + z * h
                else:
                    h = f[0](cl(xt @ W.T + h @ R.T + Wb + Rb))
                Y[t, d, n] = h
            Yh[d, n] = h
            Yc[d, n] = c
    if layout:
        return Y.transpose(2, 0, 1, 3), Yh.transpose(1, 0, 2), Yc.transpose(1, 0, 2)
    return Y, Yh, Yc


def make_case(folder, name, op, T, N, F, attrs, *, init_h="input", init_c="input", peep=False, lens=None,
              outputs=(1, 1, 1), bias=True, runtime_w=False, lens_input=False, seed=0):
    rng = np.random.default_rng(seed)
    H = attrs["hidden_size"]
    dirs = 2 if attrs.get("direction") == "bidirectional" else 1
    G = GATES[op]
    layout = attrs.get("layout", 0)
    x = rng.uniform(-1, 1, (N, T, F) if layout else (T, N, F)).astype(np.float32)
    w = rng.uniform(-0.6, 0.6, (dirs, G * H, F)).astype(np.float32)
    r = rng.uniform(-0.6, 0.6, (dirs, G * H, H)).astype(np.float32)
    b = rng.uniform(-0.5, 0.5, (dirs, 2 * G * H)).astype(np.float32) if bias else None
    sdims = (N, dirs, H) if layout else (dirs, N, H)
    h0 = rng.uniform(-1, 1, sdims).astype(np.float32) if init_h else None
    c0 = rng.uniform(-1, 1, sdims).astype(np.float32) if init_c and op == "LSTM" else None
    p = rng.uniform(-0.5, 0.5, (dirs, 3 * H)).astype(np.float32) if peep else None
    sl = np.array(lens, dtype=np.int32) if lens is not None else None

    inputs, inits, feed = [], [], []
    node_in = []

    def add(nm, arr, as_input, dtype=TensorProto.FLOAT):
        if arr is None:
            node_in.append("")
            return
        node_in.append(nm)
        if as_input:
            inputs.append(helper.make_tensor_value_info(nm, dtype, list(arr.shape)))
            feed.append(arr)
        else:
            inits.append(numpy_helper.from_array(arr, nm))

    add("X", x, True)
    add("W", w, runtime_w)
    add("R", r, runtime_w)
    add("B", b, False)
    add("sequence_lens", sl, lens_input, TensorProto.INT32)
    add("initial_h", h0, init_h == "input")
    add("initial_c", c0, init_c == "input")
    add("P", p, False)
    while node_in and node_in[-1] == "":
        node_in.pop()
    outs = [nm if k else "" for nm, k in zip(["Y", "Y_h", "Y_c"], outputs)]
    if op != "LSTM":
        outs = outs[:2]
    while outs and outs[-1] == "":
        outs.pop()
    node = helper.make_node(op, node_in, outs, **attrs)
    Y, Yh, Yc = reference(op, x, w, r, b, sl, h0, c0, p, attrs)
    want = [a for a, nm in zip([Y, Yh, Yc], outs) if nm]
    g_outs = [helper.make_tensor_value_info(nm, TensorProto.FLOAT, list(a.shape))
              for nm, a in zip([o for o in outs if o], want)]
    graph = helper.make_graph([node], name, inputs, g_outs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    case = os.path.join(folder, name)
    ds = os.path.join(case, "test_data_set_0")
    os.makedirs(ds)
    onnx.save(model, os.path.join(case, "model.onnx"))
    for i, a in enumerate(feed):
        with open(os.path.join(ds, "input_%d.pb" % i), "wb") as fh:
            fh.write(numpy_helper.from_array(a).SerializeToString())
    for i, a in enumerate(want):
        with open(os.path.join(ds, "output_%d.pb" % i), "wb") as fh:
            fh.write(numpy_helper.from_array(a.astype(np.float32)).SerializeToString())
    return case


def cases():
    """(name, op, T, N, F, attrs, options)"""
    out = []
    for op in ("LSTM", "GRU", "RNN"):
        for direction in ("forward", "reverse", "bidirectional"):
            for layout in (0, 1):
                a = {"hidden_size": 5, "direction": direction, "layout": layout}
                out.append(("%s_%s_l%d_state_in" % (op, direction, layout), op, 4, 3, 2, a, {}))
        a = {"hidden_size": 4}
        out.append(("%s_state_const" % op, op, 5, 2, 3, a, {"init_h": "const", "init_c": "const"}))
        out.append(("%s_no_state_runtime_w" % op, op, 5, 2, 3, dict(a, clip=0.7), {"init_h": None, "init_c": None,
                                                                                   "runtime_w": True}))
        out.append(("%s_clip" % op, op, 6, 2, 3, dict(a, clip=0.5), {}))
        out.append(("%s_lens" % op, op, 6, 3, 2, dict(a), {"lens": [6, 3, 1]}))
        out.append(("%s_lens_zero" % op, op, 4, 3, 2, dict(a), {"lens": [0, 4, 2], "init_h": None, "init_c": None}))
        out.append(("%s_only_yh" % op, op, 3, 2, 2, dict(a), {"outputs": (0, 1, 0)}))
        out.append(("%s_only_y" % op, op, 3, 2, 2, dict(a), {"outputs": (1, 0, 0)}))
        out.append(("%s_no_bias" % op, op, 3, 2, 2, dict(a), {"bias": False}))
        out.append(("%s_17_steps" % op, op, 17, 2, 3, dict(a, direction="bidirectional"), {}))
    acts3 = {"LSTM": ["HardSigmoid", "ScaledTanh", "Affine"], "GRU": ["LeakyRelu", "Softsign"], "RNN": ["Elu"]}
    for op in ("LSTM", "GRU", "RNN"):
        k = len(DEFAULT_ACTS[op])
        out.append(("%s_acts" % op, op, 4, 2, 3, {"hidden_size": 3, "activations": acts3[op],
                                                  "activation_alpha": [0.3, 0.8, 0.5], "activation_beta": [0.4, 1.2]}, {}))
        two = (["Softplus", "ThresholdedRelu", "Relu"][:k] + ["Sigmoid", "Tanh", "Softsign"][:k])
        out.append(("%s_acts_bidir" % op, op, 4, 2, 3, {"hidden_size": 3, "direction": "bidirectional",
                                                        "activations": two, "activation_alpha": [0.1]}, {}))
    # sequences shorter than X in the reverse direction: each one reversed within its length
    out.append(("LSTM_lens_reverse", "LSTM", 5, 3, 2, {"hidden_size": 3, "direction": "reverse"}, {"lens": [5, 2, 0]}))
    out.append(("GRU_lens_bidir", "GRU", 5, 3, 2, {"hidden_size": 3, "direction": "bidirectional"},
                {"lens": [3, 5, 1]}))
    out.append(("RNN_lens_bidir_l1", "RNN", 5, 3, 2, {"hidden_size": 3, "direction": "bidirectional", "layout": 1},
                {"lens": [4, 0, 5], "init_h": None}))
    out.append(("LSTM_lens_bidir_peep_y_only", "LSTM", 5, 2, 2, {"hidden_size": 3, "direction": "bidirectional"},
                {"lens": [2, 4], "peep": True, "outputs": (1, 0, 0)}))
    for lbr in (0, 1):
        for direction in ("forward", "bidirectional"):
            out.append(("GRU_lbr%d_%s" % (lbr, direction), "GRU", 5, 2, 3,
                        {"hidden_size": 4, "linear_before_reset": lbr, "direction": direction}, {"init_h": None}))
    out.append(("LSTM_peep", "LSTM", 5, 2, 3, {"hidden_size": 4}, {"peep": True}))
    out.append(("LSTM_peep_bidir_l1", "LSTM", 5, 2, 3, {"hidden_size": 4, "direction": "bidirectional", "layout": 1},
                {"peep": True}))
    out.append(("LSTM_input_forget", "LSTM", 5, 2, 3, {"hidden_size": 4, "input_forget": 1}, {"peep": True}))
    out.append(("LSTM_peep_no_state", "LSTM", 5, 2, 3, {"hidden_size": 4}, {"peep": True, "init_h": None,
                                                                              "init_c": None}))
    # activations the kernels have (written out, or a SimpleRNN's Sigmoid / Relu): the kernel path
    nostate = {"init_h": None, "init_c": None}
    out.append(("LSTM_acts_written", "LSTM", 4, 2, 3, {"hidden_size": 3, "direction": "bidirectional",
                                                      "activations": ["sigmoid", "TANH", "Tanh"]}, nostate))
    out.append(("GRU_acts_written", "GRU", 4, 2, 3, {"hidden_size": 3, "linear_before_reset": 1,
                                                    "activations": ["Sigmoid", "Tanh"]}, nostate))
    out.append(("RNN_relu_sigmoid_bidir", "RNN", 5, 2, 3, {"hidden_size": 3, "direction": "bidirectional",
                                                          "activations": ["Relu", "Sigmoid"]}, nostate))
    # batch-first without a state input: nnc may keep a run-time batch through the unrolled steps
    for op, extra in (("GRU", {}), ("LSTM", {"clip": 0.6}), ("RNN", {"activations": ["Relu"]})):
        for direction in ("forward", "bidirectional"):
            out.append(("%s_l1_%s_batched" % (op, direction), op, 4, 3, 2,
                        dict({"hidden_size": 3, "layout": 1, "direction": direction}, **extra),
                        {"init_h": None, "init_c": None}))
    return out


# what nnc must refuse with exit 3
REFUSED = [
    ("LSTM_unknown_activation", "LSTM", 4, 2, 2, {"hidden_size": 3, "activations": ["Sigmoid", "Gelu", "Tanh"]}, {}),
    ("GRU_runtime_lens", "GRU", 4, 2, 2, {"hidden_size": 3}, {"lens": [3, 4], "lens_input": True}),
]


def streaming(work):
    """torch LSTM exported with state in and out, run on 3 chunks by nnc"""
    try:
        import torch
    except ImportError:
        print("SKIP streaming: no torch")
        return True
    warnings.filterwarnings("ignore")
    torch.manual_seed(0)
    F, H, T, N = 3, 5, 12, 2
    lstm = torch.nn.LSTM(F, H, num_layers=1)

    class Step(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x, h, c):
            y, (hn, cn) = self.m(x, (h, c))
            return y, hn, cn

    chunk = T // 3
    xs = torch.randn(chunk, N, F)
    h0 = torch.zeros(1, N, H)
    path = os.path.join(work, "stream.onnx")
    torch.onnx.export(Step(lstm), (xs, h0, h0), path, input_names=["x", "h0", "c0"],
                      output_names=["y", "hn", "cn"], opset_version=14)
    c_file = os.path.join(work, "stream.c")
    r = subprocess.run([conf.NNC, path, "-o", c_file], capture_output=True, text=True)
    if r.returncode != 0:
        print("FAIL streaming: nnc exited %d: %s" % (r.returncode, r.stderr[:300]))
        return False
    exe = os.path.join(work, "stream")
    b = subprocess.run(["cc", "-std=c99", "-O1", "-I" + os.path.join(ROOT, "runtime"), "-I" + work,
                        "-DNNC_MODEL=stream", "-DNNC_UPPER=STREAM", '-DNNC_HEADER="stream.h"', c_file,
                        os.path.join(ROOT, "tests", "onnx_case.c"), conf.RT, "-lm", "-o", exe],
                       capture_output=True, text=True)
    if b.returncode != 0:
        print("FAIL streaming: the generated C does not compile: " + b.stderr[:300])
        return False
    x = torch.randn(T, N, F)
    with torch.no_grad():
        y_all, (h_all, c_all) = lstm(x)
    h = np.zeros((1, N, H), np.float32)
    c = np.zeros((1, N, H), np.float32)
    ys = []
    for k in range(3):
        xc = x[k * chunk:(k + 1) * chunk].numpy()
        data = np.concatenate([xc.ravel(), h.ravel(), c.ravel()]).astype(np.float32).tobytes()
        p = subprocess.run([exe], input=data, capture_output=True)
        if p.returncode != 0:
            print("FAIL streaming: the model exited %d" % p.returncode)
            return False
        got = np.frombuffer(p.stdout, dtype=np.float32)
        ny = chunk * N * H
        ys.append(got[:ny].reshape(chunk, N, H))
        h = got[ny:ny + N * H].reshape(1, N, H).copy()
        c = got[ny + N * H:].reshape(1, N, H).copy()
    err = max(np.abs(np.concatenate(ys) - y_all.numpy()).max(), np.abs(h - h_all.numpy()).max(),
              np.abs(c - c_all.numpy()).max())
    ok = err <= 1e-5
    print("%s streaming LSTM, 3 chunks of %d steps: max err %.2g" % ("PASS" if ok else "FAIL", chunk, err))
    return ok


def several(work):
    """four recurrences on one X, none with Y (their names come from Y_h), kernel and unrolled"""
    rng = np.random.default_rng(1)
    T, N, F, H = 4, 2, 3, 5
    x = rng.uniform(-1, 1, (T, N, F)).astype(np.float32)
    inits, nodes, outs, want = [], [], [], []
    for k, (op, attrs) in enumerate([("GRU", {"linear_before_reset": 0}), ("GRU", {"linear_before_reset": 1}),
                                     ("LSTM", {}), ("LSTM", {"clip": 0.5})]):
        G = GATES[op]
        w = rng.uniform(-.5, .5, (1, G * H, F)).astype(np.float32)
        r = rng.uniform(-.5, .5, (1, G * H, H)).astype(np.float32)
        b = rng.uniform(-.5, .5, (1, 2 * G * H)).astype(np.float32)
        inits += [numpy_helper.from_array(w, "W%d" % k), numpy_helper.from_array(r, "R%d" % k),
                  numpy_helper.from_array(b, "B%d" % k)]
        attrs = dict(attrs, hidden_size=H)
        nodes.append(helper.make_node(op, ["X", "W%d" % k, "R%d" % k, "B%d" % k], ["", "h%d" % k], **attrs))
        outs.append(helper.make_tensor_value_info("h%d" % k, TensorProto.FLOAT, [1, N, H]))
        want.append(reference(op, x, w, r, b, None, None, None, None, attrs)[1])
    graph = helper.make_graph(nodes, "several", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [T, N, F])],
                              outs, inits)
    case = os.path.join(work, "several")
    os.makedirs(os.path.join(case, "test_data_set_0"))
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)]), os.path.join(case, "model.onnx"))
    arrays = [("input_0", x)] + [("output_%d" % i, a.astype(np.float32)) for i, a in enumerate(want)]
    for nm, a in arrays:
        with open(os.path.join(case, "test_data_set_0", nm + ".pb"), "wb") as fh:
            fh.write(numpy_helper.from_array(a).SerializeToString())
    _, status, _, detail, _ = conf.run_case(case)
    print("%s several nodes without Y: %s%s" % ("PASS" if status == "passed" else "FAIL", status,
                                                " (" + detail + ")" if detail else ""))
    return status == "passed"


def training(work):
    """--train: the kernels' form compiles, the unrolled form is refused (exit 3)"""
    ok = True
    for name, op, attrs, opt, want in [
        ("train_kernel_lstm", "LSTM", {"hidden_size": 4, "layout": 1},
         {"init_h": None, "init_c": None, "outputs": (1, 0, 0)}, 0),
        ("train_kernel_gru", "GRU", {"hidden_size": 4, "layout": 1, "linear_before_reset": 1},
         {"init_h": None, "outputs": (0, 1, 0)}, 0),
        ("train_gru_lbr0", "GRU", {"hidden_size": 4, "layout": 1}, {"init_h": None}, 3),
        ("train_lstm_state", "LSTM", {"hidden_size": 4, "layout": 1}, {"init_h": "const", "init_c": "const"}, 3),
        ("train_rnn_clip", "RNN", {"hidden_size": 4, "layout": 1, "clip": 1.0}, {"init_h": None}, 3),
    ]:
        case = make_case(work, name, op, 3, 4, 2, attrs, **opt)
        r = subprocess.run([conf.NNC, os.path.join(case, "model.onnx"), "--train", "mse", "-o",
                            os.path.join(work, name + ".c")], capture_output=True, text=True)
        good = r.returncode == want
        ok &= good
        print("%s %s: --train exits %d%s" % ("PASS" if good else "FAIL", name, r.returncode,
                                             "" if good else " (want %d): %s" % (want, r.stderr[:300])))
    return ok


def main():
    work = tempfile.mkdtemp(prefix="nnc-onnx-rnn-")
    passed = failed = 0
    try:
        for seed, (name, op, T, N, F, attrs, opt) in enumerate(cases() + REFUSED):
            case = make_case(work, name, op, T, N, F, attrs, seed=seed, **opt)
            refused = (name, op, T, N, F, attrs, opt) in REFUSED
            conf.BIND = not refused     # a refused input must not be bound at compile time instead
            _, status, _, detail, _ = conf.run_case(case)
            want = "unsupported" if refused else "passed"
            ok = status == want
            passed += ok
            failed += not ok
            print("%s %s: %s%s" % ("PASS" if ok else "FAIL", name, status, " (" + detail + ")" if detail else ""))
        if several(work):
            passed += 1
        else:
            failed += 1
        if training(work):
            passed += 1
        else:
            failed += 1
        if streaming(work):
            passed += 1
        else:
            failed += 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("onnx rnn: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
