#!/usr/bin/python3
"""multi_output_torch.py — models with several outputs train as PyTorch trains them.

Each case is a .nn model with two or three heads on one trunk, a loss per
output and loss_weights, compiled by bin/nnc and driven by
tests/multi_output_check.c: the initial parameters are nnc's (init seed 1)
copied into a torch module that mirrors the layers (a dense kernel is
Keras' [in][out], torch's weight its transpose), both train on the same
batches with Adam, and after every step these must agree:

* the total loss train_batch returns (sum of weight_k * loss_k) and each
  output's loss (m->output_loss), within 1e-5 relative (1e-7 absolute);
* the gradient of every parameter (m->grads after the step, computed at
  the parameters before it), within 1e-4 of the tensor's largest |grad|;
* every parameter after the step, within 1e-4 of its largest |value|.

At n = 1, 7 and 32 (the compiled batch), at -O2, and at -O0 for n = 7.
Then evaluate on 100 samples (four batches, the last short): the total
loss and each output's loss, accuracy, mae and mse (NAME_output_metrics)
against numpy on the torch model's outputs.

Label rules exercised: a mix of a sparse and a dense loss (float labels,
the class index as an exact float), all sparse (int32 labels) and all
dense; and one output read by the other (its gradient is the sum over
both losses).  Then the diagnostics of the train block's several-output
settings, with their exact text, and a sub-model extracted with --model
and --weights-from (see the README): its outputs equal the trained
whole's inner value.

Adam: Keras adds epsilon to sqrt(v), torch to sqrt(v) / sqrt(1 - b2^t),
so torch's eps is 1e-7 / sqrt(1 - b2^t) at step t (tests/train_parity.py).

Usage: multi_output_torch.py [--nnc bin/nnc] [--rt build/libnnc_rt.a]
Prints one line per case and `multi-output: N passed, M failed`.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    print("multi-output: skipped (python3-torch not installed)")
    sys.exit(0)
torch.set_num_threads(1)   # as the other torch checks: make test runs a second job beside it

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS = 8
BATCH = 32
LOSS_TOL, GRAD_TOL, PARAM_TOL = 1e-5, 1e-4, 1e-4
KERAS_EPS = 1e-7
torch.set_default_dtype(torch.float32)

# ---- the models: (name, .nn text, heads) -------------------------------------------
# a head: (output name, units, activation, loss, from_logits, weight[, the head it reads])
CASES = [
    ("mixed", [("cls", 4, "softmax", "sparse_categorical_crossentropy", False, 1.0),
               ("reg", 2, None, "mse", False, 0.5)]),
    ("sparse2", [("a", 3, "softmax", "sparse_categorical_crossentropy", False, 0.3),
                 ("b", 5, None, "sparse_categorical_crossentropy", True, 2.0)]),
    ("dense3", [("p", 3, "softmax", "categorical_crossentropy", False, 1.0),
                ("q", 1, "sigmoid", "binary_crossentropy", False, 1.0),
                ("r", 2, None, "mae", False, 0.25)]),
    # one output read by the other: its gradient is the sum of both losses'
    ("chain", [("c", 3, "softmax", "sparse_categorical_crossentropy", False, 1.0),
               ("v", 2, "tanh", "mse", False, 2.0, "c")]),
]
IN = 6


def nn_source(name, heads):
    lines = [f"model {name} {{", f"    input x: f32[{IN}]", "    h = dense(x, 16, tanh)",
             "    g = dense(h, 12, relu)"]
    for out, units, act, *rest in heads:
        src = rest[3] if len(rest) > 3 else "g"
        lines.append(f"    {out} = dense({src}, {units}{', ' + act if act else ''})")
    lines.append("    output " + ", ".join(h[0] for h in heads))
    lines.append("}")
    losses = ", ".join(f"{h[3]}(from_logits = true)" if h[4] else h[3] for h in heads)
    weights = ", ".join(repr(h[5]) for h in heads)
    lines += [f"train {name} {{", f"    loss {losses}", f"    loss_weights {weights}",
              "    optimizer adam(lr = 0.01)", "    metrics accuracy, mae, mse", f"    batch {BATCH}", "}", ""]
    return "\n".join(lines)


class Torch(nn.Module):
    def __init__(self, heads):
        super().__init__()
        self.h = nn.Linear(IN, 16)
        self.g = nn.Linear(16, 12)
        self.spec = heads
        self.heads = nn.ModuleList([nn.Linear(12 if len(h) < 7 else self.units(heads, h[6]), h[1]) for h in heads])

    @staticmethod
    def units(heads, name):
        return [h[1] for h in heads if h[0] == name][0]

    def forward(self, x):
        """each head's pre-activation (logits or the linear output)"""
        values = {"g": torch.relu(self.g(torch.tanh(self.h(x))))}
        zs = []
        for spec, head in zip(self.spec, self.heads):
            z = head(values[spec[6] if len(spec) > 6 else "g"])
            values[spec[0]] = activate(spec, z)
            zs.append(z)
        return zs


def torch_losses(heads, zs, labels):
    """each output's loss as Keras defines it, from the pre-activations"""
    out = []
    for head, z, t in zip(heads, zs, labels):
        loss = head[3]
        if head[2] == "tanh":   # not a logits loss: on the output itself
            z = torch.tanh(z)
        if loss == "sparse_categorical_crossentropy":
            out.append(F.cross_entropy(z, t.long()))
        elif loss == "categorical_crossentropy":
            out.append(F.cross_entropy(z, t))
        elif loss == "binary_crossentropy":
            out.append(F.binary_cross_entropy_with_logits(z, t))
        elif loss == "mse":
            out.append(F.mse_loss(z, t))
        elif loss == "mae":
            out.append(F.l1_loss(z, t))
    return out


def activate(head, z):
    act = head[2]
    return torch.softmax(z, -1) if act == "softmax" else torch.sigmoid(z) if act == "sigmoid" else \
        torch.tanh(z) if act == "tanh" else z


def compile_case(work, name, source, level, extra=()):
    nn_path = os.path.join(work, f"{name}.nn")
    with open(nn_path, "w") as f:
        f.write(source)
    c_file = os.path.join(work, f"{name}{level}.c")
    r = subprocess.run([ARGS.nnc, nn_path, level, "-o", c_file, *extra], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"nnc failed: {r.stderr}")
    return c_file


def build(work, name, c_file, driver):
    exe = c_file[:-2] + "_" + os.path.basename(driver)[:-2]
    h = os.path.basename(c_file)[:-2] + ".h"
    b = subprocess.run(["cc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Wpedantic", "-Werror",
                        "-I" + os.path.join(ROOT, "runtime"), "-I" + work, f"-DNNC_MODEL={name}",
                        f"-DNNC_UPPER={name.upper()}", f'-DNNC_HEADER="{h}"', driver, c_file, ARGS.rt, "-lm",
                        "-o", exe], capture_output=True, text=True)
    if b.returncode:
        raise RuntimeError(f"cc failed: {b.stderr}")
    return exe


def header_int(c_file, key):
    with open(c_file[:-2] + ".h") as f:
        m = re.search(r"#define \w+_" + key + r" (-?\d+)", f.read())
    return int(m.group(1))


def param_table(c_file):
    with open(c_file) as f:
        return [(n, int(o), int(s)) for n, o, s in re.findall(r'\{ "([^"]+)", (\d+), (\d+),', f.read())]


def torch_param(model, heads, name):
    layer, kind = name.split(".")
    if layer in ("h", "g"):
        lin = getattr(model, layer)
    else:
        lin = model.heads[[h[0] for h in heads].index(layer)]
    return lin.weight if kind == "kernel" else lin.bias


def to_nnc(model, heads, table, count):
    flat = np.zeros(count, np.float32)
    for name, off, size in table:
        p = torch_param(model, heads, name).detach()
        flat[off:off + size] = (p.T if p.dim() == 2 else p).reshape(-1).numpy()
    return flat


def data(rng, heads, n):
    x = rng.standard_normal((n, IN)).astype(np.float32)
    labels = []
    for _, units, act, loss, *_ in heads:
        if loss == "sparse_categorical_crossentropy":
            labels.append(rng.integers(0, units, n).astype(np.int32))
        elif loss == "categorical_crossentropy":
            labels.append(np.eye(units, dtype=np.float32)[rng.integers(0, units, n)])
        elif loss == "binary_crossentropy":
            labels.append(rng.integers(0, 2, (n, units)).astype(np.float32))
        else:
            labels.append(rng.standard_normal((n, units)).astype(np.float32))
    return x, labels


def packed(labels, sparse_all):
    """a sample's labels side by side in output order: int32 when every
    loss is sparse, else floats (a class index as an exact float)"""
    cols = [lab.reshape(len(lab), -1) for lab in labels]
    return np.concatenate(cols, 1).astype(np.int32 if sparse_all else np.float32)


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12)) if b.size else 0.0


def run_case(work, name, heads, level, n):
    c_file = compile_case(work, name, nn_source(name, heads), level)
    exe = build(work, name, c_file, os.path.join(ROOT, "tests", "multi_output_check.c"))
    count, trainable = header_int(c_file, "PARAM_COUNT"), header_int(c_file, "TRAINABLE_COUNT")
    sparse_all = header_int(c_file, "SPARSE_LABELS") == 1
    table = param_table(c_file)
    torch.manual_seed(0)
    model = Torch(heads)
    rng = np.random.default_rng(n * 7 + len(heads))
    feed = [np.array([n, STEPS], np.int32).tobytes(), to_nnc(model, heads, table, count).tobytes()]
    batches = [data(rng, heads, n) for _ in range(STEPS)]
    for x, labels in batches:
        feed += [x.tobytes(), packed(labels, sparse_all).tobytes()]
    ex, elabels = data(rng, heads, 100)
    feed += [np.array([100], np.int32).tobytes(), ex.tobytes(), packed(elabels, sparse_all).tobytes()]
    p = subprocess.run([exe], input=b"".join(feed), capture_output=True)
    if p.returncode:
        return f"driver exit {p.returncode}"
    got = np.frombuffer(p.stdout, np.float32)
    K = len(heads)
    per_step = 1 + K + trainable + count
    if got.size != STEPS * per_step + 7 * (1 + K):
        return f"driver wrote {got.size} floats"
    opt = torch.optim.Adam(model.parameters(), lr=0.01, betas=(0.9, 0.999))
    weights = [h[5] for h in heads]
    worst = {"loss": 0.0, "grad": 0.0, "param": 0.0}
    for s, (x, labels) in enumerate(batches):
        row = got[s * per_step:(s + 1) * per_step]
        opt.zero_grad()
        zs = model(torch.from_numpy(x))
        losses = torch_losses(heads, zs, [torch.from_numpy(t) for t in labels])
        total = sum(w * l for w, l in zip(weights, losses))
        total.backward()
        for a, b in zip(row[:1 + K], [total.item()] + [l.item() for l in losses]):
            err = abs(a - b) / max(abs(b), 1e-2)
            worst["loss"] = max(worst["loss"], err)
            if err > LOSS_TOL and abs(a - b) > 1e-7:
                return f"step {s + 1}: loss {a:.7g} (nnc) vs {b:.7g} (torch)"
        grads = row[1 + K:1 + K + trainable]
        for pname, off, size in table:
            tp = torch_param(model, heads, pname)
            want = (tp.grad.T if tp.dim() == 2 else tp.grad).reshape(-1).numpy()
            err = rel(grads[off:off + size], want)
            worst["grad"] = max(worst["grad"], err)
            if err > GRAD_TOL:
                return f"step {s + 1}: gradient of {pname} off by {err:.2e}"
        for grp in opt.param_groups:
            grp["eps"] = KERAS_EPS / (1 - 0.999 ** (s + 1)) ** 0.5
        opt.step()
        params = row[1 + K + trainable:]
        for pname, off, size in table:
            tp = torch_param(model, heads, pname).detach()
            err = rel(params[off:off + size], (tp.T if tp.dim() == 2 else tp).reshape(-1).numpy())
            worst["param"] = max(worst["param"], err)
            if err > PARAM_TOL:
                return f"step {s + 1}: parameter {pname} off by {err:.2e}"
    # evaluate: the total and each output's loss and metrics
    ev = got[STEPS * per_step:].reshape(1 + K, 7)
    with torch.no_grad():
        zs = model(torch.from_numpy(ex))
        losses = [l.item() for l in torch_losses(heads, zs, [torch.from_numpy(t) for t in elabels])]
    total = sum(w * l for w, l in zip(weights, losses))
    if abs(ev[0][0] - total) > 1e-4 * max(abs(total), 1e-2):
        return f"evaluate: loss {ev[0][0]:.7g} vs {total:.7g}"
    for k, (head, z, t) in enumerate(zip(heads, zs, elabels)):
        pred = activate(head, z).numpy().astype(np.float64)
        onehot = np.eye(head[1])[t] if t.dtype == np.int32 else t
        if head[1] > 1:
            acc = np.mean(pred.argmax(1) == (t if t.dtype == np.int32 else t.argmax(1)))
        else:
            acc = np.mean((pred[:, 0] > 0.5) == (t[:, 0] > 0.5))
        want = {"loss": losses[k], "accuracy": acc, "mae": np.mean(np.abs(pred - onehot)),
                "mse": np.mean((pred - onehot) ** 2)}
        have = dict(zip(["loss", "accuracy", "precision", "recall", "f1", "mae", "mse"], ev[1 + k]))
        for key, v in want.items():
            if abs(have[key] - v) > 1e-4 * max(abs(v), 1e-2):
                return f"evaluate: output {head[0]} {key} {have[key]:.7g} vs {v:.7g}"
    if abs(ev[0][1] - ev[1][1]) > 0:
        return "evaluate: *out's accuracy is not the first output's"
    return "ok (loss %.1e, grad %.1e, param %.1e)" % (worst["loss"], worst["grad"], worst["param"])


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc", default=os.path.join(ROOT, "bin", "nnc"))
    ap.add_argument("--rt", default=os.path.join(ROOT, "build", "libnnc_rt.a"))
    ARGS = ap.parse_args()
    ARGS.nnc, ARGS.rt = os.path.abspath(ARGS.nnc), os.path.abspath(ARGS.rt)
    passed = failed = 0
    with tempfile.TemporaryDirectory() as work:
        runs = [(name, heads, "-O2", n) for name, heads in CASES for n in (1, 7, BATCH)]
        runs += [(name, heads, "-O0", 7) for name, heads in CASES]
        for name, heads, level, n in runs:
            try:
                result = run_case(work, name, heads, level, n)
            except RuntimeError as e:
                result = str(e)
            ok = result.startswith("ok")
            passed += ok
            failed += not ok
            print(f"{'PASS' if ok else 'FAIL'} {name} {level} n={n}: {result}")
        for label, result in diagnostics(work) + submodel(work):
            ok = result == "ok"
            passed += ok
            failed += not ok
            print(f"{'PASS' if ok else 'FAIL'} {label}: {result}")
    print(f"multi-output: {passed} passed, {failed} failed")
    return 1 if failed else 0


# ---- diagnostics of the several-output settings, exact text --------------------------

TWO = "model m {\n  input x: f32[4]\n  a = dense(x, 3, softmax)\n  b = dense(x, 2)\n  output a, b\n}\n"
DIAGS = [
    ("three losses for two outputs", TWO + "train m {\n  loss mse, mse, mae\n}\n",
     "bad.nn:8:3: error: loss lists 3 losses, but model 'm' has 2 outputs; give one per output, in output order, "
     "or one for all\n  loss mse, mse, mae\n  ^~~~~~~~~~~~~~~~~~\n"),
    ("one weight for two outputs", TWO + "train m {\n  loss mse\n  loss_weights 1.0\n}\n",
     "bad.nn:9:3: error: loss_weights has 1 weight, but model 'm' has 2 outputs; give one per output, in output "
     "order\n  loss_weights 1.0\n  ^~~~~~~~~~~~~~~~\n"),
    ("a negative weight", TWO + "train m {\n  loss mse\n  loss_weights 1.0, -2\n}\n",
     "bad.nn:9:21: error: loss weight -2 (output 'b') is out of range: a weight is >= 0 and finite\n"
     "  loss_weights 1.0, -2\n                    ^~\n"),
    ("loss_weights on one output", "model m {\n  input x: f32[4]\n  dense(2)\n}\n"
     "train m {\n  loss mse\n  loss_weights 2.0\n}\n",
     "bad.nn:7:3: error: loss_weights weigh the losses of a model with several outputs; model 'm' has one\n"
     "  loss_weights 2.0\n  ^~~~~~~~~~~~\n"),
    ("two losses for one output", "model m {\n  input x: f32[4]\n  dense(2)\n}\ntrain m {\n  loss mse, mae\n}\n",
     "bad.nn:6:3: error: 'loss' takes one value: model 'm' has one output\n  loss mse, mae\n  ^~~~~~~~~~~~~\n"),
    ("class_weight on two outputs", TWO + "train m {\n  loss sparse_categorical_crossentropy, mse\n"
     "  class_weight 1.0, 2.0, 1.0\n}\n",
     "bad.nn:9:3: error: class_weight applies to a model with one output (as in Keras); model 'm' has 2\n"
     "  class_weight 1.0, 2.0, 1.0\n  ^~~~~~~~~~~~~~~~~~~~~~~~~~\n"),
    ("a sparse loss on one unit", TWO.replace("dense(x, 2)", "dense(x, 1)").replace("3, softmax", "3") +
     "train m {\n  loss mse, sparse_categorical_crossentropy\n}\n",
     "bad.nn:8:13: error: sparse_categorical_crossentropy needs an output with at least 2 classes, but output 'b' "
     "has 1\n  loss mse, sparse_categorical_crossentropy\n            ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n"),
]


def diagnostics(work):
    out = []
    for label, src, want in DIAGS:
        path = os.path.join(work, "bad.nn")
        with open(path, "w") as f:
            f.write(src)
        r = subprocess.run([ARGS.nnc, "bad.nn", "-o", "bad.c"], cwd=work, capture_output=True, text=True)
        if r.returncode != 1:
            out.append((label, f"exit {r.returncode}: {r.stderr}"))
        elif r.stderr != want:
            out.append((label, f"message differs:\n{r.stderr}---- wanted:\n{want}"))
        else:
            out.append((label, "ok"))
    return out


# ---- a sub-model: the encoder of a trained autoencoder, by parameter name -----------

AUTOENCODER = """model autoencoder {
    input x: f32[16]
    h = dense(x, 8, relu)
    code = dense(h, 4, tanh)
    d = dense(code, 8, relu)
    y = dense(d, 16)
    output y
}
train autoencoder {
    loss mse
    optimizer adam(lr = 0.01)
    batch 8
}
model encoder {
    input x: f32[16]
    h = dense(x, 8, relu)
    code = dense(h, 4, tanh)
}
model renamed {
    input x: f32[16]
    hh = dense(x, 8, relu)
    code = dense(hh, 6, tanh)
}
"""
SUB_ERRORS = (
    "ae.nn:21:10: error: --weights-from autoencoder: model 'autoencoder' has no parameter 'hh.kernel'; a parameter "
    "is taken by its layer's name, so name the layer as model 'autoencoder' does\n"
    "    hh = dense(x, 8, relu)\n         ^~~~~~~~~~~~~~~~~\n"
    "ae.nn:21:10: error: --weights-from autoencoder: model 'autoencoder' has no parameter 'hh.bias'; a parameter "
    "is taken by its layer's name, so name the layer as model 'autoencoder' does\n"
    "    hh = dense(x, 8, relu)\n         ^~~~~~~~~~~~~~~~~\n"
    "ae.nn:22:12: error: --weights-from autoencoder: parameter 'code.kernel' is (8, 6) here but (8, 4) in model "
    "'autoencoder'\n    code = dense(hh, 6, tanh)\n           ^~~~~~~~~~~~~~~~~~\n"
    "ae.nn:22:12: error: --weights-from autoencoder: parameter 'code.bias' is (6) here but (4) in model "
    "'autoencoder'\n    code = dense(hh, 6, tanh)\n           ^~~~~~~~~~~~~~~~~~\n")


def run_driver(exe, n, steps, x, labels, ex, count, outs, args=(), status=False):
    feed = [np.array([n, steps], np.int32).tobytes()]
    for s in range(steps):
        feed += [x[s].tobytes(), labels[s].tobytes()]
    feed += [np.array([len(ex)], np.int32).tobytes(), ex.tobytes()]
    p = subprocess.run([exe, *args], input=b"".join(feed), capture_output=True)
    if p.returncode:
        raise RuntimeError(f"{os.path.basename(exe)} exit {p.returncode}")
    got = p.stdout
    rc = None
    if status:
        rc, got = int(np.frombuffer(got[:4], np.int32)[0]), got[4:]
    got = np.frombuffer(got, np.float32)
    return rc, got[:count], got[count:].reshape(len(ex), outs)


def submodel(work):
    """the autoencoder trained by its generated C and saved; the encoder,
    compiled with --weights-from autoencoder, baked (--weights) and loaded
    at run time (encoder_load_from), gives the autoencoder's inner value
    `code` on the same inputs; a parameter missing or of another shape,
    another model's buffer and a damaged one are refused"""
    results = []
    drv = os.path.join(ROOT, "tests", "submodel_check.c")
    with open(os.path.join(work, "ae.nn"), "w") as f:
        f.write(AUTOENCODER)
    rng = np.random.default_rng(5)
    xs = [rng.standard_normal((8, 16)).astype(np.float32) for _ in range(6)]
    ex = rng.standard_normal((13, 16)).astype(np.float32)
    saved = os.path.join(work, "ae.bin")

    def nnc(*args):
        return subprocess.run([ARGS.nnc, "ae.nn", *args], cwd=work, capture_output=True, text=True)

    def compiled(c_name, *args, defines=()):
        r = nnc(*args, "-o", c_name + ".c")
        if r.returncode:
            raise RuntimeError(f"nnc {' '.join(args)}: {r.stderr}")
        model = args[args.index("--model") + 1]
        c_file = os.path.join(work, c_name + ".c")
        exe = os.path.join(work, c_name)
        b = subprocess.run(["cc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Wpedantic", "-Werror",
                            "-I" + os.path.join(ROOT, "runtime"), "-I" + work, f"-DNNC_MODEL={model}",
                            f"-DNNC_UPPER={model.upper()}", f'-DNNC_HEADER="{c_name}.h"', *defines, drv, c_file,
                            ARGS.rt, "-lm", "-o", exe], capture_output=True, text=True)
        if b.returncode:
            raise RuntimeError(f"cc failed: {b.stderr}")
        return c_file, exe

    try:
        c_file, exe = compiled("ae", "--model", "autoencoder")
        _, params, y = run_driver(exe, 8, 6, xs, xs, ex, header_int(c_file, "PARAM_COUNT"), 16, [saved])
        # the inner value, from the trained parameters the driver printed
        w = {name: params[off:off + size] for name, off, size in param_table(c_file)}

        def dense(v, name, units):
            return v @ w[name + ".kernel"].reshape(-1, units) + w[name + ".bias"]
        code = np.tanh(dense(np.maximum(dense(ex, "h", 8), 0), "code", 4))
        whole = dense(np.maximum(dense(code, "d", 8), 0), "y", 16)
        if rel(y, whole) > 1e-5:
            raise RuntimeError(f"the autoencoder's predict is not its layers' ({rel(y, whole):.1e})")
        # baked: every parameter a constant, from the autoencoder's buffer by name
        _, exe = compiled("enc_baked", "--model", "encoder", "--weights-from", "autoencoder", "--weights", "ae.bin",
                          "--inference")
        _, _, got = run_driver(exe, 1, 0, [], [], ex, 0, 4)
        results.append(("encoder baked from the autoencoder's save()",
                        "ok" if rel(got, code) <= 1e-5 else f"off by {rel(got, code):.1e}"))
        # at run time: encoder_load_from
        c_enc, exe = compiled("enc_rt", "--model", "encoder", "--weights-from", "autoencoder", defines=["-DLOAD_FROM"])
        count = header_int(c_enc, "PARAM_COUNT")
        rc, _, got = run_driver(exe, 1, 0, [], [], ex, count, 4, [saved], status=True)
        results.append(("encoder_load_from the autoencoder's save()",
                        "ok" if rc == 0 and rel(got, code) <= 1e-5 else f"status {rc}, off by {rel(got, code):.1e}"))
        # a damaged buffer: refused, the parameters untouched
        _, init, _ = run_driver(exe, 1, 0, [], [], ex, count, 4)
        _, exe = compiled("enc_cut", "--model", "encoder", "--weights-from", "autoencoder",
                          defines=["-DLOAD_FROM", "-DLOAD_FROM_BYTES=100"])
        rc, p, _ = run_driver(exe, 1, 0, [], [], ex, count, 4, [saved], status=True)
        results.append(("encoder_load_from a truncated buffer",
                        "ok" if rc == -4 and np.array_equal(p, init) else f"status {rc}"))
        # the encoder's own buffer is not the autoencoder's
        own = os.path.join(work, "enc_own.bin")
        _, exe = compiled("enc_save", "--model", "encoder", "--weights-from", "autoencoder", defines=["-DLOAD_FROM"])
        with open(saved, "rb") as f:
            data = bytearray(f.read())
        data[8] ^= 1    # another fingerprint
        with open(own, "wb") as f:
            f.write(bytes(data))
        rc, p, _ = run_driver(exe, 1, 0, [], [], ex, count, 4, [own], status=True)
        results.append(("encoder_load_from another model's buffer",
                        "ok" if rc == -5 and np.array_equal(p, init) else f"status {rc}"))
    except RuntimeError as e:
        results.append(("sub-model", str(e)))
        return results
    cases = [
        ("--weights-from: parameters missing or of another shape",
         ["--model", "renamed", "--weights-from", "autoencoder"], SUB_ERRORS),
        ("--weights: the autoencoder's buffer for the encoder",
         ["--model", "encoder", "--weights", "ae.bin"],
         "ae.nn: error: weights file ae.bin holds the parameters of another model (its layout fingerprint is not "
         "model 'encoder''s); a buffer of another model of the file loads by name with --weights-from MODEL\n"),
        ("--weights-from: a buffer of another layout", ["--model", "encoder", "--weights-from", "autoencoder",
                                                          "--weights", "enc_own.bin"],
         "ae.nn: error: weights file enc_own.bin holds the parameters of another model (its layout fingerprint is "
         "not model 'autoencoder''s)\n"),
        ("--weights-from: an unknown model", ["--model", "encoder", "--weights-from", "autoencodr"],
         "ae.nn: error: no model named 'autoencodr' in this file; did you mean 'autoencoder'?\n"
         "ae.nn: error: --weights-from: cannot use model 'autoencodr' of this file (see above)\n"),
    ]
    for label, args, want in cases:
        r = nnc(*args, "-o", "bad.c")
        if r.returncode != 1 or os.path.exists(os.path.join(work, "bad.c")):
            results.append((label, f"exit {r.returncode}: {r.stderr}"))
        elif r.stderr != want:
            results.append((label, f"message differs:\n{r.stderr}---- wanted:\n{want}"))
        else:
            results.append((label, "ok"))
    return results


if __name__ == "__main__":
    sys.exit(main())
