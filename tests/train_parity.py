#!/usr/bin/python3
"""train_parity.py — imported models train step by step as PyTorch trains them.

Each case is a torch module exported to ONNX with torch.onnx.export (eval
mode, the module's own weights), compiled by `nnc --train
'sparse_categorical_crossentropy(from_logits = true)' --optimizer ... --batch
MAX`, built with tests/train_parity.c and driven through STEPS train_batch
calls, one fresh batch per step.  PyTorch trains the very module that was
exported on the same batches (CrossEntropyLoss on the logits, the same
optimizer) and the two are compared:

* per-step loss within 1e-4 relative;
* every parameter after the steps within 1e-3 relative to the tensor's
  largest value (max |nnc - torch| / max |torch|);
* the predictions on one more batch after the steps, likewise.

Each case runs with Adam and with SGD with momentum, at n = 1, an odd n and
n = MAX (the compiled batch): a graph whose batch nnc mishandles fails
here, at any n below the exported batch.

nnc's parameters are the ONNX initializers in nnc's layouts (a Gemm weight
transposed, a Conv kernel as (kh, kw, cin/groups, cout)); each is matched to
the torch parameter whose values it holds at the start, in one of those
layouts, exactly.

The optimizers are written so both sides compute the same rule: Adam with
epsilon 1e-10 (Keras adds it to sqrt(v), torch to sqrt(v)/sqrt(1 - b2^t);
at 1e-10 the placements agree to float rounding) and SGD with momentum
(Keras' v = m v - lr g, w += v is torch's buf = m buf + g, w -= lr buf).

Usage: train_parity.py [--nnc bin/nnc] [--rt build/libnnc_rt.a] [name...]
Prints one line per case and `training parity: N passed, M failed`.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import warnings

try:
    import numpy as np
    import torch
    import torch.nn as nn
except ImportError:
    print("training parity: skipped (python3-torch not installed)")
    sys.exit(0)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS = 20
LOSS_TOL, PARAM_TOL = 1e-4, 1e-3
OPTIMIZERS = {
    "adam": ("adam(lr = 0.003, epsilon = 1e-10)", lambda p: torch.optim.Adam(p, lr=0.003, eps=1e-10)),
    "sgd": ("sgd(lr = 0.05, momentum = 0.9)", lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
}


class Block(nn.Module):
    """a ResNet basic block (two 3x3 convolutions and the identity) or a
    MobileNetV2 inverted residual (1x1 expand, ReLU6, 3x3 depthwise, ReLU6,
    1x1 project, and the identity), then a linear head on the flattened map"""

    def __init__(self, kind, c=4, hw=6, classes=3):
        super().__init__()
        self.kind = kind
        self.stem = nn.Conv2d(1, c, 3, padding=1)
        if kind == "resnet":
            self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, c, 3, padding=1))
        else:
            e = 3 * c
            self.body = nn.Sequential(nn.Conv2d(c, e, 1), nn.ReLU6(), nn.Conv2d(e, e, 3, padding=1, groups=e),
                                      nn.ReLU6(), nn.Conv2d(e, c, 1))
        self.head = nn.Linear(c * hw * hw, classes)

    def forward(self, x):
        s = torch.relu(self.stem(x))
        y = self.body(s) + s
        if self.kind == "resnet":
            y = torch.relu(y)
        return self.head(torch.flatten(y, 1))


class Seq(nn.Module):
    """a recurrent classifier: the last step's output through a linear head"""

    def __init__(self, rnn, classes=3):
        super().__init__()
        self.rnn = rnn
        self.head = nn.Linear(rnn.hidden_size, classes)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.head(y[:, -1, :])


def cases():
    """name, module, per-sample input shape, classes, exported batch, dynamic axis"""
    torch.manual_seed(0)
    mlp = lambda: nn.Sequential(nn.Flatten(), nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 8), nn.Tanh(),
                                nn.Linear(8, 4))
    yield "mlp_logits", mlp(), (12,), 4, 8, False
    yield "mlp_dynamic_batch", mlp(), (12,), 4, 8, True
    yield "cnn", nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                               nn.Conv2d(4, 6, 3, stride=1), nn.ReLU(), nn.Flatten(),
                               nn.Linear(6 * 2 * 2, 5)), (1, 8, 8), 5, 8, False
    yield "resnet_block", Block("resnet"), (1, 6, 6), 3, 8, False
    yield "mobilenet_v2_block", Block("mobilenet"), (1, 6, 6), 3, 8, False
    # nnc trains an LSTM's two biases as their sum (Keras' one bias): the
    # reference trains the same parameterisation, b_ih + b_hh with b_hh = 0
    lstm = Seq(nn.LSTM(4, 8, batch_first=True))
    with torch.no_grad():
        lstm.rnn.bias_ih_l0 += lstm.rnn.bias_hh_l0
        lstm.rnn.bias_hh_l0.zero_()
    lstm.rnn.bias_hh_l0.requires_grad_(False)
    yield "lstm", lstm, (5, 4), 3, 8, False
    yield "gru", Seq(nn.GRU(4, 8, batch_first=True)), (5, 4), 3, 8, False


def layouts(t):
    """the layouts nnc may keep a torch parameter in"""
    yield "as is", t
    if t.dim() == 2:
        yield "transposed", t.t()
    if t.dim() == 4:
        yield "kh kw cin cout", t.permute(2, 3, 1, 0)
    if t.dim() in (1, 2) and t.shape[0] % 3 == 0:   # a GRU's gates: torch r z n, Keras z r n
        r, z, n = t.chunk(3, 0)
        g = torch.cat([z, r, n], 0)
        yield "gru gates", g
        if t.dim() == 2:
            yield "gru gates transposed", g.t()


def match(torch_params, nnc_flat):
    """each torch parameter: the offset and layout of its copy in nnc's block"""
    found = []
    for name, p in torch_params:
        if not p.requires_grad:
            continue
        hit = None
        for how, view in layouts(p.detach()):
            v = view.contiguous().reshape(-1).numpy()
            for off in range(0, len(nnc_flat) - len(v) + 1):
                if np.array_equal(nnc_flat[off:off + len(v)], v):
                    hit = (off, how)
                    break
            if hit:
                break
        if not hit:
            raise RuntimeError("torch parameter %s is nowhere in nnc's parameters" % name)
        found.append((name, p, hit[0], hit[1]))
    return found


def in_layout(t, how):
    return dict(layouts(t))[how].contiguous().reshape(-1).numpy()


def build(work, name, model, shape, batch, dynamic, opt_text, nnc, rt):
    path = os.path.join(work, name + ".onnx")
    model.eval()
    kw = {"dynamic_axes": {"x": {0: "batch"}, "y": {0: "batch"}}} if dynamic else {}
    torch.onnx.export(model, torch.rand(batch, *shape), path, opset_version=13, input_names=["x"],
                      output_names=["y"], **kw)
    c_file = os.path.join(work, "tp.c")
    args = [nnc, path, "--train", "sparse_categorical_crossentropy(from_logits = true)", "--optimizer", opt_text,
            "-o", c_file]
    if dynamic:
        args += ["--batch", str(batch)]
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError("nnc exited %d: %s" % (r.returncode, r.stderr.strip()[:400]))
    exe = os.path.join(work, "tp")
    b = subprocess.run(["cc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Wpedantic", "-Werror",
                        "-I" + os.path.join(ROOT, "runtime"), "-I" + work, "-DNNC_MODEL=tp", "-DNNC_UPPER=TP",
                        '-DNNC_HEADER="tp.h"', c_file, os.path.join(ROOT, "tests", "train_parity.c"), rt, "-lm",
                        "-o", exe], capture_output=True, text=True)
    if b.returncode:
        raise RuntimeError("the generated C does not compile: " + b.stderr[:400])
    h = open(os.path.join(work, "tp.h")).read()
    count = int(h.split("#define TP_PARAM_COUNT ")[1].split()[0])
    return exe, count


def run_case(work, name, model, shape, classes, batch, dynamic, opt, n, nnc, rt):
    opt_text, make_opt = OPTIMIZERS[opt]
    exe, count = build(work, name, model, shape, batch, dynamic, opt_text, nnc, rt)
    rng = np.random.default_rng(n * 7 + len(name))
    xs = [rng.uniform(-1, 1, (n, *shape)).astype(np.float32) for _ in range(STEPS + 1)]
    ys = [rng.integers(0, classes, n).astype(np.int32) for _ in range(STEPS)]
    feed = np.array([n, STEPS], dtype=np.int32).tobytes()
    for s in range(STEPS):
        feed += xs[s].tobytes() + ys[s].tobytes()
    feed += xs[STEPS].tobytes()
    p = subprocess.run([exe], input=feed, capture_output=True)
    if p.returncode:
        raise RuntimeError("the model exited %d" % p.returncode)
    out = np.frombuffer(p.stdout, dtype=np.float32)
    want = 2 * count + STEPS + n * classes
    if out.size != want:
        raise RuntimeError("expected %d floats from the driver, got %d" % (want, out.size))
    before, losses = out[:count], out[count:count + STEPS]
    after, pred = out[count + STEPS:2 * count + STEPS], out[2 * count + STEPS:]
    params = match(list(model.named_parameters()), before)
    # torch: the exported module itself, the same batches
    model.train()
    o = make_opt([q for q in model.parameters() if q.requires_grad])
    ce = nn.CrossEntropyLoss()
    ref_losses = []
    for s in range(STEPS):
        o.zero_grad()
        loss = ce(model(torch.from_numpy(xs[s])), torch.from_numpy(ys[s]).long())
        loss.backward()
        o.step()
        ref_losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        ref_pred = model(torch.from_numpy(xs[STEPS])).numpy().reshape(-1)
    loss_err = float(np.max(np.abs(losses - ref_losses) / np.maximum(np.abs(ref_losses), 1e-6)))
    param_err = 0.0
    for pname, tp, off, how in params:
        ref = in_layout(tp.detach(), how)
        got = after[off:off + ref.size]
        param_err = max(param_err, float(np.max(np.abs(got - ref)) / max(float(np.max(np.abs(ref))), 1e-6)))
    pred_err = float(np.max(np.abs(pred - ref_pred)) / max(float(np.max(np.abs(ref_pred))), 1e-6))
    return loss_err, param_err, pred_err


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc", default=os.path.join(ROOT, "bin", "nnc"))
    ap.add_argument("--rt", default=os.path.join(ROOT, "build", "libnnc_rt.a"))
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    passed = failed = 0
    print("%-20s %-5s %3s  %12s %12s %12s" % ("model", "opt", "n", "loss rel", "param rel", "predict rel"))
    with tempfile.TemporaryDirectory(prefix="nnc-train-parity-") as work:
        for name, module, shape, classes, batch, dynamic in cases():
            if a.names and name not in a.names:
                continue
            state = {k: v.clone() for k, v in module.state_dict().items()}
            for opt in OPTIMIZERS:
                for n in (1, 5, batch):
                    module.load_state_dict(state)
                    try:
                        le, pe, oe = run_case(work, name, module, shape, classes, batch, dynamic, opt, n, a.nnc, a.rt)
                        ok = le <= LOSS_TOL and pe <= PARAM_TOL and oe <= PARAM_TOL
                        line = "%12.1e %12.1e %12.1e" % (le, pe, oe)
                    except RuntimeError as e:
                        ok, line = False, str(e)
                    passed += ok
                    failed += not ok
                    print("%-20s %-5s %3d  %s  %s" % (name, opt, n, line, "PASS" if ok else "FAIL"), flush=True)
    print("training parity: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
