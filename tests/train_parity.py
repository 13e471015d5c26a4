#!/usr/bin/python3
"""train_parity.py — models train step by step as PyTorch trains them.

Two kinds of case, both compiled by bin/nnc, built with tests/train_parity.c
and driven through STEPS train_batch calls, one fresh batch per step:

* imported: a torch module exported to ONNX with torch.onnx.export (the
  module's own weights), compiled with `--train
  'sparse_categorical_crossentropy(from_logits = true)' --optimizer ...
  --batch MAX`.  nnc's parameters are the ONNX initializers in nnc's
  layouts (a Gemm weight transposed, a Conv kernel as (kh, kw, cin/groups,
  cout), a GRU's gates reordered); each is matched to the torch parameter
  whose values it holds at the start, exactly.
* .nn: the seed models (examples/fashion_mlp, fashion_cnn_small, text_lstm)
  as shipped (from_logits = false: the softmax/sigmoid output) and ending in
  a linear layer with from_logits = true, with the optimizer and batch
  replaced.  A torch module mirrors the layers; its initial weights are
  loaded into nnc's parameter block in Keras' layouts (the generated
  params_ table gives the offsets).

PyTorch trains the torch module on the same batches (CrossEntropyLoss or
BCEWithLogitsLoss on the logits, the same optimizer) and the two are
compared:

* per-step loss within 1e-4 relative (a loss below 0.01, which one sample
  can reach, within 1e-6 absolute: log-sum-exp minus the true logit of O(1)
  logits rounds to ~1e-7 however small their difference);
* every trained parameter after the steps within 1e-3 relative to the
  tensor's largest value (max |nnc - torch| / max |torch|);
* the predictions on one more batch after the steps, likewise.

Each case runs with Adam and with SGD with momentum, at n = 1, an odd n and
n = MAX (the compiled batch): a model whose batch nnc mishandles fails here,
at any n below the compiled one.  Once more at -O0 (Adam, n = 5): the
unoptimised graph must train the same.

Rules both sides share, and where nnc's parameterisation is not torch's:
Adam with nnc's default epsilon 1e-7, which Keras adds to sqrt(v) and torch
to sqrt(v) / sqrt(1 - b2^t), so the torch side sets its eps to 1e-7 /
sqrt(1 - b2^t) at step t (with any fixed eps, the ~1e-8 gradients of a
784-input layer move 10-20 % differently); SGD with momentum (Keras' v = m v - lr g, w += v is torch's buf = m buf + g, w -= lr
buf).  An LSTM has one bias in nnc (Keras'), so the torch side trains
b_ih + b_hh as b_ih with b_hh = 0.  BatchNormalization's running variance
is ONNX's population variance, torch's the sample variance: the torch side
keeps the population one for its eval-mode predictions.

Usage: train_parity.py [--nnc bin/nnc] [--rt build/libnnc_rt.a] [name...]
Prints one line per case and `training parity: N passed, M failed`.
"""

import argparse
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
    print("training parity: skipped (python3-torch not installed)")
    sys.exit(0)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS = 20
LOSS_TOL, PARAM_TOL = 1e-4, 1e-3
LOSS_FLOOR = 1e-2   # a loss below it is compared to 1e-2: log-sum-exp - z rounds to ~1e-7 absolute
OPTIMIZERS = {
    "adam": ("adam(lr = 0.001)", lambda p: torch.optim.Adam(p, lr=0.001)),
    "sgd": ("sgd(lr = 0.05, momentum = 0.9)", lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
}
KERAS_EPS = 1e-7    # nnc's (Keras') Adam epsilon, added to sqrt(v)


def keras_eps(o, step):
    """torch's Adam adds eps to sqrt(v) / sqrt(1 - b2^t); Keras to sqrt(v):
    the same rule when torch's eps is Keras' over sqrt(1 - b2^t) at step t"""
    for grp in o.param_groups:
        if "betas" in grp:
            grp["eps"] = KERAS_EPS / (1 - grp["betas"][1] ** step) ** 0.5


# ---- the models --------------------------------------------------------------------

class Block(nn.Module):
    """a ResNet basic block (two 3x3 convolutions and the identity) or a
    MobileNetV2 inverted residual (1x1 expand, ReLU6, 3x3 depthwise, ReLU6,
    1x1 project, and the identity), then global average pooling and a
    linear head, as those networks end"""

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
        self.head = nn.Linear(c, classes)

    def forward(self, x):
        s = torch.relu(self.stem(x))
        y = self.body(s) + s
        if self.kind == "resnet":
            y = torch.relu(y)
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(y, 1), 1))


class Seq(nn.Module):
    """a recurrent classifier: the last step's output through a linear head"""

    def __init__(self, rnn, classes=3, vocab=0):
        super().__init__()
        self.embed = nn.Embedding(vocab, rnn.input_size) if vocab else None
        self.rnn = rnn
        self.head = nn.Linear(rnn.hidden_size, classes)

    def forward(self, x):
        y, _ = self.rnn(self.embed(x.long()) if self.embed else x)
        return self.head(y[:, -1, :])


class FinalState(nn.Module):
    """a recurrent classifier on the final hidden state (h_n)"""

    def __init__(self, rnn, classes=3):
        super().__init__()
        self.rnn = rnn
        self.head = nn.Linear(rnn.hidden_size, classes)

    def forward(self, x):
        _, (h, _) = self.rnn(x)
        return self.head(h[-1])


class ChannelsLast(nn.Module):
    """a torch CNN fed and flattened channels-last, as a .nn model is"""

    def __init__(self, conv, head):
        super().__init__()
        self.conv, self.head = conv, head

    def forward(self, x):
        y = torch.relu(self.conv(x.permute(0, 3, 1, 2)))
        return self.head(y.permute(0, 2, 3, 1).flatten(1))


class LiteralBatch(nn.Module):
    """x.view(B, -1) with the batch as a number, as a static export traces it;
    any batch in PyTorch (the reference trains at other sizes)"""

    def __init__(self, batch):
        super().__init__()
        self.batch = batch

    def forward(self, x):
        return x.view(self.batch if torch.onnx.is_in_onnx_export() else x.shape[0], -1)


def one_bias(lstm):
    """an LSTM trained as nnc trains it: one bias (b_ih + b_hh, b_hh = 0)"""
    with torch.no_grad():
        lstm.bias_ih_l0 += lstm.bias_hh_l0
        lstm.bias_hh_l0.zero_()
    lstm.bias_hh_l0.requires_grad_(False)
    return lstm


def mlp12():
    return nn.Sequential(nn.Flatten(), nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 4))


def onnx_cases():
    """name, module, per-sample input shape, classes, batch, export options;
    the loss is sparse_categorical_crossentropy(from_logits = true) but where
    export has "loss": None, nnc's own reading of the output"""
    torch.manual_seed(0)
    yield "mlp_logits", mlp12(), (12,), 4, 8, {}
    # the regression: no from_logits on a linear output (nnc decides logits)
    yield "mlp_dynamic_batch", mlp12(), (12,), 4, 8, {"dynamic_axes": {"x": {0: "batch"}, "y": {0: "batch"}},
                                                      "loss": None}
    # a static export whose forward writes its batch as a literal (x.view(8, -1)),
    # compiled for batch 12: the Reshape follows the compiled batch
    yield "mlp_literal_batch", nn.Sequential(LiteralBatch(8), nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 4)), \
        (3, 4), 4, 8, {"nnc_batch": 12}
    # ends in Softmax: nnc decides probabilities (and fuses the pair)
    yield "mlp_softmax", nn.Sequential(mlp12(), nn.Softmax(1)), (12,), 4, 7, {"loss": None}
    yield "cnn", nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                               nn.Conv2d(4, 6, 3, stride=1), nn.ReLU(), nn.Flatten(),
                               nn.Linear(6 * 2 * 2, 5)), (1, 8, 8), 5, 8, {}
    # (no bias before the batch norm: its gradient is 0 but for rounding, which Adam would amplify)
    bn = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                       nn.Flatten(), nn.Linear(4 * 3 * 3, 3))
    with torch.no_grad():
        bn[1].running_mean.uniform_(-0.5, 0.5)
        bn[1].running_var.uniform_(0.5, 2.0)
        bn[1].weight.uniform_(0.5, 1.5)
    yield "cnn_batchnorm", bn, (1, 6, 6), 3, 8, {"training": torch.onnx.TrainingMode.TRAINING,
                                                  "do_constant_folding": False}
    yield "resnet_block", Block("resnet"), (1, 6, 6), 3, 8, {}
    yield "mobilenet_v2_block", Block("mobilenet"), (1, 6, 6), 3, 8, {}
    yield "lstm", Seq(one_bias(nn.LSTM(4, 8, batch_first=True))), (5, 4), 3, 8, {}
    yield "gru", Seq(nn.GRU(4, 8, batch_first=True)), (5, 4), 3, 8, {}
    # sequences of 1..9 steps, one length per batch, through one build
    # (--shape seq<=9): the classifier reads the final state
    yield "lstm_run_time_steps", FinalState(one_bias(nn.LSTM(4, 8, batch_first=True))), (9, 4), 3, 8, \
        {"dynamic_axes": {"x": {0: "batch", 1: "seq"}, "y": {0: "batch"}}, "steps": 9}


def nn_source(example, head, loss):
    """an example's .nn text as model `tp`, its last layer and loss replaced"""
    text = open(os.path.join(ROOT, "examples", example, example + ".nn")).read()
    text = re.sub(r"\b(model|train) %s\b" % example, r"\1 tp", text)
    if head:
        text = re.sub(r"dense\((\d+), (softmax|sigmoid)\)", r"dense(\1)", text)
    return re.sub(r"loss +\w+", "loss " + loss, text)


def nn_cases():
    """name, .nn text, module (logits out), input kind, classes (1: binary), batch"""
    torch.manual_seed(1)
    for logits in (False, True):
        tag = "_logits" if logits else ""
        ce = "sparse_categorical_crossentropy" + ("(from_logits = true)" if logits else "")
        bce = "binary_crossentropy" + ("(from_logits = true)" if logits else "")
        yield ("nn_fashion_mlp" + tag, nn_source("fashion_mlp", logits, ce),
               nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                             nn.Linear(128, 10)), (28, 28), 10, 8)
        yield ("nn_fashion_cnn_small" + tag, nn_source("fashion_cnn_small", logits, ce),
               ChannelsLast(nn.Conv2d(1, 32, 3), nn.Linear(26 * 26 * 32, 10)), (28, 28, 1), 10, 8)
        yield ("nn_text_lstm" + tag, nn_source("text_lstm", logits, bce),
               Seq(one_bias(nn.LSTM(8, 16, batch_first=True)), classes=1, vocab=30), "tokens20", 1, 8)


# ---- parameters in nnc's layouts -----------------------------------------------------

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


def in_layout(t, how):
    return dict(layouts(t.detach()))[how].contiguous().reshape(-1).numpy()


def match_values(model, nnc_flat):
    """imported: each trained torch parameter's offset and layout in nnc's block,
    found by its values"""
    found = []
    for name, p in model.named_parameters():
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


def keras_layout(module, name):
    """.nn: how Keras keeps a torch module's parameter"""
    owner = module.get_submodule(name.rsplit(".", 1)[0]) if "." in name else module
    kind = name.rsplit(".", 1)[-1]
    if isinstance(owner, nn.Conv2d) and kind == "weight":
        return "kh kw cin cout"
    if isinstance(owner, (nn.Linear, nn.LSTM)) and kind.startswith("weight"):
        return "transposed"
    return "as is"


def match_table(model, c_text, count):
    """.nn: the trained torch parameters in order against the generated
    params_ table in order"""
    table = [(n, int(o), int(s)) for n, o, s in re.findall(r'\{ "([^"]+)", (\d+), (\d+),', c_text)]
    ours = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if len(table) != len(ours) or sum(s for _, _, s in table) != count:
        raise RuntimeError("nnc's parameters %s do not pair with torch's %s" % (table, [n for n, _ in ours]))
    found = []
    for (nname, off, size), (tname, p) in zip(table, ours):
        if p.numel() != size:
            raise RuntimeError("%s (%d) does not pair with %s (%d)" % (nname, size, tname, p.numel()))
        found.append((tname, p, off, keras_layout(model, tname)))
    return found


# ---- one case ---------------------------------------------------------------------------

def compile_model(work, source_args, batch, nnc, rt, steps=0):
    c_file = os.path.join(work, "tp.c")
    shape = ["--shape", "seq<=%d" % steps] if steps else []
    r = subprocess.run([nnc] + source_args + shape + ["--batch", str(batch), "-o", c_file], capture_output=True,
                       text=True)
    if r.returncode:
        raise RuntimeError("nnc exited %d: %s" % (r.returncode, r.stderr.strip()[:400]))
    exe = os.path.join(work, "tp")
    b = subprocess.run(["cc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Wpedantic", "-Werror"] +
                       (["-DSET_STEPS=tp_set_steps"] if steps else []) + [
                        "-I" + os.path.join(ROOT, "runtime"), "-I" + work, "-DNNC_MODEL=tp", "-DNNC_UPPER=TP",
                        '-DNNC_HEADER="tp.h"', c_file, os.path.join(ROOT, "tests", "train_parity.c"), rt, "-lm",
                        "-o", exe], capture_output=True, text=True)
    if b.returncode:
        raise RuntimeError("the generated C does not compile: " + b.stderr[:400])
    h = open(os.path.join(work, "tp.h")).read()
    return exe, int(h.split("#define TP_PARAM_COUNT ")[1].split()[0]), open(c_file).read()


def batches(rng, n, shape, classes, steps=0):
    """STEPS + 1 input batches and STEPS label batches; with steps, each input
    batch has its own number of time steps, 1..steps (axis 0 of shape)"""
    def x():
        if shape == "tokens20":
            return rng.integers(0, 30, (n, 20)).astype(np.int32)
        if steps:
            return rng.uniform(-1, 1, (n, int(rng.integers(1, steps + 1)), *shape[1:])).astype(np.float32)
        return rng.uniform(-1, 1, (n, *shape)).astype(np.float32)

    def y():
        if classes == 1:
            return rng.integers(0, 2, (n, 1)).astype(np.float32)
        return rng.integers(0, classes, n).astype(np.int32)
    return [x() for _ in range(STEPS + 1)], [y() for _ in range(STEPS)]


class PopulationVariance:
    """the running variance of every BatchNorm as ONNX keeps it (population
    variance of each training batch), for the torch side's predictions"""

    def __init__(self, model):
        self.var = {}
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                self.var[m] = m.running_var.clone()
                m.register_forward_pre_hook(self.hook)

    def hook(self, m, inputs):
        if m.training:
            v = inputs[0].detach().var(dim=(0, 2, 3), unbiased=False)
            self.var[m] = (1 - m.momentum) * self.var[m] + m.momentum * v

    def apply(self):
        for m, v in self.var.items():
            m.running_var.copy_(v)


def run_case(exe, count, found_fn, model, shape, classes, opt, n, load, out_fn, probs=False, steps=0):
    rng = np.random.default_rng(n * 7 + count % 1000)
    xs, ys = batches(rng, n, shape, classes, steps)
    feed = np.array([n, STEPS, 1 if load is not None else 0], dtype=np.int32).tobytes()
    if load is not None:
        feed += load.tobytes()
    lead = (lambda b: np.int32(b.shape[1]).tobytes()) if steps else (lambda b: b"")   # the batch's time steps
    for s in range(STEPS):
        feed += lead(xs[s]) + xs[s].tobytes() + ys[s].tobytes()
    feed += lead(xs[STEPS]) + xs[STEPS].tobytes()
    p = subprocess.run([exe], input=feed, capture_output=True)
    if p.returncode:
        raise RuntimeError("the model exited %d" % p.returncode)
    out = np.frombuffer(p.stdout, dtype=np.float32)
    width = classes
    want = 2 * count + STEPS + n * width
    if out.size != want:
        raise RuntimeError("expected %d floats from the driver, got %d" % (want, out.size))
    before, losses = out[:count], out[count:count + STEPS]
    after, pred = out[count + STEPS:2 * count + STEPS], out[2 * count + STEPS:]
    params = found_fn(before)
    # torch: the same module, the same batches
    bn = PopulationVariance(model)
    model.train()
    o = OPTIMIZERS[opt][1]([q for q in model.parameters() if q.requires_grad])
    loss_fn = nn.BCEWithLogitsLoss() if classes == 1 else nn.CrossEntropyLoss()
    if probs:   # the module's output is probabilities
        loss_fn = lambda p, t: nn.functional.nll_loss(torch.log(p), t)
    ref_losses = []
    for s in range(STEPS):
        o.zero_grad()
        target = torch.from_numpy(ys[s]) if classes == 1 else torch.from_numpy(ys[s]).long()
        loss = loss_fn(model(torch.from_numpy(xs[s])), target)
        loss.backward()
        keras_eps(o, s + 1)
        o.step()
        ref_losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        bn.apply()
        ref_pred = out_fn(model(torch.from_numpy(xs[STEPS]))).numpy().reshape(-1)
    loss_err = float(np.max(np.abs(losses - ref_losses) / np.maximum(np.abs(ref_losses), LOSS_FLOOR)))
    param_err = 0.0
    for pname, tp, off, how in params:
        ref = in_layout(tp, how)
        got = after[off:off + ref.size]
        e = float(np.max(np.abs(got - ref)) / max(float(np.max(np.abs(ref))), 1e-6))
        param_err = max(param_err, e)
    pred_err = float(np.max(np.abs(pred - ref_pred)) / max(float(np.max(np.abs(ref_pred))), 1e-6))
    return loss_err, param_err, pred_err


def exported_buffers(module, path):
    """the module's buffers (running statistics) as the ONNX file holds them:
    exporting in training mode runs the module once, which moves them"""
    import onnx
    from onnx import numpy_helper
    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer}
    return [(b, torch.from_numpy(inits[n].copy())) for n, b in module.named_buffers() if n in inits]


def once(build):
    """a build shared by the runs at each n: compiled at the first, reused
    (the runs of one build follow each other, so its files are still there)"""
    done = []
    return lambda: done[0] if done else done.append(build()) or done[0]


def runs(batch):
    """(optimizer, nnc's -O level, the n to train at): -O0 once per model"""
    return [("adam", "-O2", (1, 5, batch)), ("sgd", "-O2", (1, 5, batch)), ("adam", "-O0", (5,))]


def all_cases(work, nnc, rt, names):
    """(name, opt, n, runner) for every case; runner() -> the three errors"""
    for name, module, shape, classes, batch, export in onnx_cases():
        if names and name not in names:
            continue
        state = {k: v.clone() for k, v in module.state_dict().items()}
        loss = export.pop("loss", "sparse_categorical_crossentropy(from_logits = true)")
        exported, batch = batch, export.pop("nnc_batch", batch)
        steps = export.pop("steps", 0)
        probs = isinstance(module, nn.Sequential) and isinstance(module[-1], nn.Softmax)
        for opt, level, ns in runs(batch):
            @once
            def built(opt=opt, level=level, module=module, name=name, shape=shape, batch=batch, export=export,
                      loss=loss, exported=exported, steps=steps):
                path = os.path.join(work, name + ".onnx")
                module.load_state_dict(state)
                module.train(export.get("training") == torch.onnx.TrainingMode.TRAINING)
                torch.onnx.export(module, torch.rand(exported, *shape), path, opset_version=15, input_names=["x"],
                                  output_names=["y"], **export)
                buffers = exported_buffers(module, path)
                return compile_model(work, [path, level, "--train", loss or "sparse_categorical_crossentropy",
                                            "--optimizer", OPTIMIZERS[opt][0]], batch, nnc, rt, steps) + (buffers,)
            for n in ns:
                def runner(opt=opt, n=n, built=built, module=module, shape=shape, classes=classes, steps=steps):
                    exe, count, _, buffers = built()
                    module.load_state_dict(state)
                    with torch.no_grad():
                        for b, v in buffers:
                            b.copy_(v)
                    return run_case(exe, count, lambda before: match_values(module, before), module, shape, classes,
                                    opt, n, None, lambda y: y, probs, steps)
                yield name, opt + (" " + level if level != "-O2" else ""), n, runner
    for name, source, module, shape, classes, batch in nn_cases():
        if names and name not in names:
            continue
        state = {k: v.clone() for k, v in module.state_dict().items()}
        logits = "from_logits = true" in source
        out_fn = (lambda y: y) if logits else (torch.sigmoid if classes == 1 else lambda y: torch.softmax(y, 1))
        for opt, level, ns in runs(batch):
            @once
            def built(opt=opt, level=level, source=source):
                path = os.path.join(work, "tp.nn")
                with open(path, "w") as f:
                    f.write(re.sub(r"optimizer .*", "optimizer " + OPTIMIZERS[opt][0], source))
                return compile_model(work, [path, level], batch, nnc, rt)
            for n in ns:
                def runner(opt=opt, n=n, built=built, module=module, shape=shape, classes=classes, out_fn=out_fn):
                    exe, count, c_text = built()
                    module.load_state_dict(state)
                    found = match_table(module, c_text, count)
                    load = np.zeros(count, dtype=np.float32)
                    for _, p, off, how in found:
                        v = in_layout(p, how)
                        load[off:off + v.size] = v
                    return run_case(exe, count, lambda before: found, module, shape, classes, opt, n, load, out_fn)
                yield name, opt + (" " + level if level != "-O2" else ""), n, runner


class MixesSamples(nn.Module):
    """centres each feature over the batch: the samples are not independent"""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 4)

    def forward(self, x):
        h = self.fc(x)
        return h - h.mean(0, keepdim=True)


def refusal(work, nnc, rt):
    """a graph that mixes its samples has no run-time batch: training it is
    refused, naming the node (exit 3); for inference it runs whole, and gives
    PyTorch's answer on the exported batch"""
    torch.manual_seed(2)
    model = MixesSamples().eval()
    path = os.path.join(work, "mix.onnx")
    x = torch.rand(5, 6)
    torch.onnx.export(model, x, path, opset_version=15, input_names=["x"], output_names=["y"])
    c_file = os.path.join(work, "mix.c")
    r = subprocess.run([nnc, path, "--train", "mse", "-o", c_file], capture_output=True, text=True)
    if r.returncode != 3 or "ReduceMean" not in r.stderr or os.path.exists(c_file):
        return "training was not refused with the node named: exit %d, %s" % (r.returncode, r.stderr.strip()[:300])
    r = subprocess.run([nnc, path, "-o", c_file], capture_output=True, text=True)
    if r.returncode or "runs whole" not in open(os.path.join(work, "mix.h")).read():
        return "inference did not compile whole: exit %d, %s" % (r.returncode, r.stderr.strip()[:300])
    exe = os.path.join(work, "mix")
    subprocess.run(["cc", "-std=c99", "-O2", "-I" + os.path.join(ROOT, "runtime"), "-I" + work, "-DNNC_MODEL=mix",
                    "-DNNC_UPPER=MIX", '-DNNC_HEADER="mix.h"', c_file, os.path.join(ROOT, "tests", "onnx_case.c"), rt,
                    "-lm", "-o", exe], check=True)
    got = np.frombuffer(subprocess.run([exe], input=x.numpy().tobytes(), capture_output=True).stdout, np.float32)
    with torch.no_grad():
        want = model(x).numpy().reshape(-1)
    err = float(np.max(np.abs(got - want))) if got.size == want.size else float("inf")
    return None if err < 1e-5 else "whole-graph predictions differ from torch's by %g" % err


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc", default=os.path.join(ROOT, "bin", "nnc"))
    ap.add_argument("--rt", default=os.path.join(ROOT, "build", "libnnc_rt.a"))
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    passed = failed = 0
    print("%-28s %-9s %3s  %12s %12s %12s" % ("model", "opt", "n", "loss rel", "param rel", "predict rel"))
    with tempfile.TemporaryDirectory(prefix="nnc-train-parity-") as work:
        for name, opt, n, runner in all_cases(work, a.nnc, a.rt, a.names):
            try:
                le, pe, oe = runner()
                ok = le <= LOSS_TOL and pe <= PARAM_TOL and oe <= PARAM_TOL
                line = "%12.1e %12.1e %12.1e" % (le, pe, oe)
            except RuntimeError as e:
                ok, line = False, str(e)
            passed += ok
            failed += not ok
            print("%-28s %-9s %3d  %s  %s" % (name, opt, n, line, "PASS" if ok else "FAIL"), flush=True)
        if not a.names or "refusal" in a.names:
            why = refusal(work, a.nnc, a.rt)
            passed += why is None
            failed += why is not None
            print("%-28s %s  %s" % ("refusal (samples mixed)", why or "refused to train, runs whole", "FAIL" if why else "PASS"))
    print("training parity: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
