#!/usr/bin/python3
"""fitstate_torch.py — gradient clipping and class weights of nnc's generated
training step against PyTorch (make check-fitstate).

For each case below: the .nn model is compiled with bin/nnc and
tests/fitstate_check.c is built against it; its `dump` mode prints one batch,
the initial parameters, the loss and gradients of NAME_gradients, and the
parameters after one NAME_train_batch (SGD, no momentum).  The same dense
network is rebuilt in torch (float64, on the very float32 values), and:

* class_weight: the loss is Keras' — each sample's loss times its class's
  weight, the sum divided by the batch size n (Keras' sum_over_batch_size),
  NOT by the sum of the weights as torch's CrossEntropyLoss(weight=w) does
  with its default reduction='mean'.  The reference is therefore
  CrossEntropyLoss(weight=w, reduction='none').sum() / n (and the same with
  BCEWithLogitsLoss(weight=w[class], reduction='none') for the binary case;
  the class of a binary label is round(label), of a one-hot row its argmax).
  nnc's loss, every parameter's gradient (torch's autograd) and the step must
  agree.  The torch mean (divided by the sum of weights) is printed next to
  it, to show the two are different numbers.
* clipping: the step nnc took, (before - after) / lr, against torch's
  gradient after torch.nn.utils.clip_grad_norm_ on each parameter tensor
  alone (clipnorm), on all of them together (global_clipnorm), or
  clip_grad_value_ (clipvalue).  torch scales by max_norm / (norm + 1e-6)
  where Keras uses max_norm / norm; the difference (~1e-6 relative) is far
  below the tolerance.

Then an ONNX model exported from torch and compiled with --train: its rate
is run-time state too (the fitstate_check sgdlr and info modes).

Tolerances: errors are max |nnc - torch| / max(1, max |torch|); loss and
gradients within 2e-6 (float32 against float64 through two dense layers:
observed ~1e-7), steps within 1e-5.

Usage: tests/fitstate_torch.py [--nnc bin/nnc] [--rt build/libnnc_rt.a]
Prints PASS/FAIL per case and `fitstate torch: N passed, M failed`; exit 1 on a failure.
"""

import argparse
import os
import subprocess
import sys
import tempfile

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print("fitstate torch: skipped (python3-torch not installed)")
    sys.exit(0)

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)   # as the other torch checks: make test runs a second job beside it

NAMES = ["dense.kernel", "dense.bias", "dense_1.kernel", "dense_1.bias"]


def model_text(out, act, loss, optimizer, extra=""):
    return (f"model m {{\n  input x: f32[6]\n  dense(5, tanh)\n  dense({out}, {act})\n}}\n"
            f"train m {{\n  loss {loss}\n  optimizer {optimizer}\n{extra}  batch 8\n}}\n")


# name: (.nn text, kind of check, settings)
CASES = {
    "class_weight_sparse": (model_text(3, "softmax", "sparse_categorical_crossentropy", "sgd(lr = 0.1)",
                                       "  class_weight 1.0, 2.5, 0.5\n"), "weight", [1.0, 2.5, 0.5]),
    "class_weight_onehot": (model_text(3, "softmax", "categorical_crossentropy", "sgd(lr = 0.1)",
                                       "  class_weight 0.5, 1, 3\n"), "weight", [0.5, 1.0, 3.0]),
    "class_weight_binary": (model_text(1, "sigmoid", "binary_crossentropy", "sgd(lr = 0.1)",
                                       "  class_weight 0.3, 2\n"), "weight", [0.3, 2.0]),
    "clipnorm": (model_text(3, "softmax", "sparse_categorical_crossentropy", "sgd(lr = 0.5, clipnorm = 0.05)"),
                 "clipnorm", 0.05),
    "global_clipnorm": (model_text(3, "softmax", "sparse_categorical_crossentropy",
                                   "sgd(learning_rate = 0.5, global_clipnorm = 0.1)"), "global_clipnorm", 0.1),
    "clipvalue": (model_text(3, "softmax", "sparse_categorical_crossentropy", "sgd(lr = 0.5, clipvalue = 0.02)"),
                  "clipvalue", 0.02),
}


def build(work, tag, nn_text, nnc, rt, source=None, flags=()):
    sub = os.path.join(work, tag)
    os.makedirs(sub, exist_ok=True)
    src = source
    if src is None:
        src = os.path.join(sub, "m.nn")
        with open(src, "w") as f:
            f.write(nn_text)
    r = subprocess.run([nnc, src, *flags, "-o", os.path.join(sub, "m.c")], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"nnc failed: {r.stderr}")
    exe = os.path.join(sub, "fit")
    r = subprocess.run(["cc", "-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-O2", "-Iruntime", "-I" + sub,
                        "-DNNC_MODEL=m", "-DNNC_UPPER=M", '-DNNC_HEADER="m.h"', os.path.join(sub, "m.c"),
                        "tests/fitstate_check.c", rt, "-lm", "-o", exe], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"cc failed: {r.stderr}")
    return exe


def run(exe, *args):
    r = subprocess.run([exe, *args], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"{exe} {' '.join(args)} failed: {r.stdout}{r.stderr}")
    out = {}
    for line in r.stdout.splitlines():
        parts = line.split()
        if parts[0] == "metrics":
            out["metrics"] = line[len("metrics "):]
        elif parts[0] in ("param", "grad", "after"):
            out[(parts[0], parts[1])] = [float(v) for v in parts[2:]]
        else:
            out[parts[0]] = [float(v) for v in parts[1:]] if len(parts) > 2 or parts[0] in "xy" else float(parts[1])
    return out


def err(a, b):
    a, b = torch.as_tensor(a).flatten(), torch.as_tensor(b).flatten()
    return float((a - b).abs().max() / max(1.0, float(b.abs().max())))


def forward_loss(d, params, kind, setting, outputs):
    n = int(d["n"])
    x = torch.tensor(d["x"]).reshape(n, 6)
    w1, b1, w2, b2 = params
    z = torch.tanh(x @ w1 + b1) @ w2 + b2          # logits: nnc fuses softmax/sigmoid into the loss
    y = torch.tensor(d["y"])
    if kind != "weight":
        return F.cross_entropy(z, y.long(), reduction="mean"), None
    w = torch.tensor(setting)
    if outputs == 1:          # binary: the class is the label rounded
        per = F.binary_cross_entropy_with_logits(z.flatten(), y, weight=w[torch.round(y).long()], reduction="none")
        return per.sum() / n, None
    if len(y) == n:           # sparse labels
        per = torch.nn.CrossEntropyLoss(weight=w, reduction="none")(z, y.long())
        torch_mean = torch.nn.CrossEntropyLoss(weight=w)(z, y.long())
    else:                     # one-hot: the class is the argmax
        t = y.reshape(n, -1)
        per = torch.nn.CrossEntropyLoss(weight=w, reduction="none")(z, t.argmax(1))
        torch_mean = torch.nn.CrossEntropyLoss(weight=w)(z, t.argmax(1))
    return per.sum() / n, float(torch_mean)


def check(name, text, kind, setting, exe):
    d = run(exe, "dump", *NAMES)
    outputs = 1 if "sigmoid" in text else 3
    shapes = [(6, 5), (5,), (5, outputs), (outputs,)]
    params = [torch.tensor(d[("param", nm)]).reshape(s).requires_grad_() for nm, s in zip(NAMES, shapes)]
    loss, torch_mean = forward_loss(d, params, kind, setting, outputs)
    loss.backward()
    grads = [p.grad.detach().clone() for p in params]
    errs = {"loss": err([d["loss"]], [float(loss)])}
    errs["grads"] = max(err(d[("grad", nm)], g) for nm, g in zip(NAMES, grads))
    lr = float(text.split("lr = " if "lr = " in text else "learning_rate = ")[1].split(")")[0].split(",")[0])
    if kind == "clipnorm":
        for g in grads:
            torch.nn.utils.clip_grad_norm_([_Holder(g)], setting)
    elif kind == "global_clipnorm":
        torch.nn.utils.clip_grad_norm_([_Holder(g) for g in grads], setting)
    elif kind == "clipvalue":
        torch.nn.utils.clip_grad_value_([_Holder(g) for g in grads], setting)
    steps = [(torch.tensor(d[("param", nm)]) - torch.tensor(d[("after", nm)])) / lr for nm in NAMES]
    errs["step"] = max(err(s, g.flatten()) for s, g in zip(steps, grads))
    # the step must have been clipped (or weighted) for the case to mean anything
    raw = max(float(torch.tensor(d[("grad", nm)]).abs().max()) for nm in NAMES)
    took = max(float(s.abs().max()) for s in steps)
    clipped = kind == "weight" or took < raw * 0.99
    ok = errs["loss"] <= 2e-6 and errs["grads"] <= 2e-6 and errs["step"] <= 1e-5 and clipped
    extra = f", torch's weighted mean {torch_mean:.6g} vs Keras' {float(loss):.6g}" if torch_mean is not None else ""
    print(f"{'PASS' if ok else 'FAIL'} {name}: loss err {errs['loss']:.2g}, grad err {errs['grads']:.2g}, "
          f"step err {errs['step']:.2g}{'' if clipped else ', NOT CLIPPED'}{extra}")
    return ok


class _Holder:
    """a stand-in parameter whose .grad is g, for torch's clipping utilities"""

    def __init__(self, g):
        self.grad = g


def check_onnx(work, nnc, rt):
    net = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3)).float()
    path = os.path.join(work, "net.onnx")
    torch.onnx.export(net, torch.rand(4, 6, dtype=torch.float32), path, opset_version=15, input_names=["x"],
                      output_names=["y"], dynamic_axes={"x": {0: "n"}, "y": {0: "n"}})
    exe = build(work, "onnx_sgd", None, nnc, rt, source=path,
                flags=("--train", "sparse_categorical_crossentropy(from_logits = true)", "--optimizer",
                       "sgd(lr = 0.5, clipnorm = 100)", "--batch", "4"))
    d = run(exe, "sgdlr")
    i = run(exe, "info")
    ok = d["moved"] == 1 and d["err_lr_0.1"] <= 1e-7 and d["err_lr_0.01"] <= 1e-7 and \
        abs(i["macro_lr"] - 0.5) < 1e-7 and abs(i["init_lr"] - 0.5) < 1e-7
    print(f"{'PASS' if ok else 'FAIL'} onnx_sgd_rate: step err at lr 0.1 {d['err_lr_0.1']:.2g}, "
          f"at 0.01 {d['err_lr_0.01']:.2g}")
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc", default="bin/nnc")
    ap.add_argument("--rt", default="build/libnnc_rt.a")
    args = ap.parse_args()
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    os.makedirs("build", exist_ok=True)
    passed = failed = 0
    with tempfile.TemporaryDirectory(dir="build", prefix="fitstate-") as work:
        for name, (text, kind, setting) in CASES.items():
            try:
                ok = check(name, text, kind, setting, build(work, name, text, args.nnc, args.rt))
            except RuntimeError as e:
                print(f"FAIL {name}: {e}")
                ok = False
            passed, failed = passed + ok, failed + (not ok)
        try:
            ok = check_onnx(work, args.nnc, args.rt)
        except (RuntimeError, KeyError) as e:
            print(f"FAIL onnx_sgd_rate: {e}")
            ok = False
        passed, failed = passed + ok, failed + (not ok)
    print(f"fitstate torch: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
