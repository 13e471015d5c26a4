#!/usr/bin/python3
"""torch_rnn.py — the runtime's SimpleRNN, LSTM and GRU kernels against
PyTorch's nn.RNN, nn.LSTM and nn.GRU: forward outputs (sequence, last h,
last c) and, through autograd, dx, dW, dR and db for random upstream
gradients of every output.

nnc keeps Keras' layout and gate order; the reference is torch's own module
with the same weights moved into torch's layout:

* kernels: Keras W (F, G) and R (U, G) multiply from the right; torch's
  weight_ih (G, F) and weight_hh (G, U) from the left: transposed.
* gate order: LSTM is i, f, g(c), o in both.  GRU is z, r, h in Keras and
  r, z, n in torch: the gate blocks are permuted.
* GRU variant: Keras' reset_after=True default applies the reset gate to
  (h.R_h + b_rec_h), which is what torch computes; Keras' input and
  recurrent biases map to bias_ih and bias_hh.  SimpleRNN and LSTM have one
  bias in Keras: it goes to bias_ih, bias_hh is zero.
* reverse (the backward half of bidirectional): x is flipped in time for
  torch and the output sequence flipped back, which is how Keras aligns it.

torch runs in float64 on the same float32 inputs.  Error of a tensor:
max |nnc - torch| / max(1, |torch|), must be <= 1e-4.
Prints `PASS name: max err ...` per case, then `torch rnn: N passed, M failed`.
"""

import os
import subprocess
import sys

try:
    import numpy as np
    import torch
except ImportError:
    print("torch rnn: skipped (python3-torch not installed)")
    sys.exit(0)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOL = 1e-4
CELLS = {"simple": 0, "lstm": 1, "gru": 2}
ACTS = {"tanh": 3, "relu": 1}

# name, cell, n, T, F, U, act, return_sequences, reverse, bias
CASES = [
    ("simple tanh last", "simple", 3, 5, 4, 6, "tanh", 0, 0, 1),
    ("simple relu seq", "simple", 2, 7, 3, 5, "relu", 1, 0, 1),
    ("simple seq reverse", "simple", 3, 6, 2, 4, "tanh", 1, 1, 1),
    ("lstm last", "lstm", 3, 5, 4, 6, "tanh", 0, 0, 1),
    ("lstm seq", "lstm", 4, 8, 3, 10, "tanh", 1, 0, 1),
    ("lstm seq reverse", "lstm", 2, 6, 5, 4, "tanh", 1, 1, 1),
    ("lstm no bias", "lstm", 2, 5, 3, 3, "tanh", 0, 0, 0),
    ("lstm 1 step", "lstm", 3, 1, 4, 5, "tanh", 1, 0, 1),
    ("lstm wide", "lstm", 5, 12, 16, 32, "tanh", 1, 0, 1),
    ("gru last", "gru", 3, 5, 4, 6, "tanh", 0, 0, 1),
    ("gru seq", "gru", 4, 8, 3, 10, "tanh", 1, 0, 1),
    ("gru seq reverse", "gru", 2, 6, 5, 4, "tanh", 1, 1, 1),
    ("gru no bias", "gru", 2, 5, 3, 3, "tanh", 0, 0, 0),
    ("gru wide", "gru", 5, 12, 16, 32, "tanh", 1, 0, 1),
]


def gates(cell, u):
    return {"simple": 1, "lstm": 4, "gru": 3}[cell] * u


def keras_to_torch(cell, m, u):
    """(in, G) Keras matrix or (G,) vector -> torch's (G, in) / (G,) in torch's gate order"""
    m = np.asarray(m, dtype=np.float64)
    if cell == "gru":  # z r h -> r z n
        blocks = np.split(m, 3, axis=-1)
        m = np.concatenate([blocks[1], blocks[0], blocks[2]], axis=-1)
    return m.T if m.ndim == 2 else m


def case_data(case, rng):
    name, cell, n, t, f, u, act, seq, rev, bias = case
    g = gates(cell, u)
    x = rng.uniform(-1, 1, (n, t, f)).astype(np.float32)
    w = rng.uniform(-0.5, 0.5, (f, g)).astype(np.float32)
    r = rng.uniform(-0.5, 0.5, (u, g)).astype(np.float32)
    b = rng.uniform(-0.5, 0.5, (2 * g if cell == "gru" else g,)).astype(np.float32) if bias else None
    dy = rng.uniform(-1, 1, (n, t, u) if seq else (n, u)).astype(np.float32)
    dh = rng.uniform(-1, 1, (n, u)).astype(np.float32)
    dc = rng.uniform(-1, 1, (n, u)).astype(np.float32)
    return x, w, r, b, dy, dh, dc


def reference(case, x, w, r, b, dy, dh, dc):
    name, cell, n, t, f, u, act, seq, rev, bias = case
    g = gates(cell, u)
    torch.manual_seed(0)
    if cell == "lstm":
        mod = torch.nn.LSTM(f, u, batch_first=True, bias=bool(bias))
    elif cell == "gru":
        mod = torch.nn.GRU(f, u, batch_first=True, bias=bool(bias))
    else:
        mod = torch.nn.RNN(f, u, nonlinearity=act, batch_first=True, bias=bool(bias))
    mod = mod.double()
    with torch.no_grad():
        mod.weight_ih_l0.copy_(torch.from_numpy(keras_to_torch(cell, w, u)))
        mod.weight_hh_l0.copy_(torch.from_numpy(keras_to_torch(cell, r, u)))
        if bias:
            b_in = b[:g]
            b_rec = b[g:] if cell == "gru" else np.zeros(g)
            mod.bias_ih_l0.copy_(torch.from_numpy(keras_to_torch(cell, b_in, u)))
            mod.bias_hh_l0.copy_(torch.from_numpy(keras_to_torch(cell, b_rec, u)))
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    xin = torch.flip(xt, [1]) if rev else xt
    out, state = mod(xin)
    if rev:
        out = torch.flip(out, [1])
    h_last = (state[0] if cell == "lstm" else state)[0]
    c_last = state[1][0] if cell == "lstm" else None
    y = out if seq else h_last
    loss = (y * torch.from_numpy(dy.astype(np.float64))).sum() + \
           (h_last * torch.from_numpy(dh.astype(np.float64))).sum()
    if cell == "lstm":
        loss = loss + (c_last * torch.from_numpy(dc.astype(np.float64))).sum()
    loss.backward()

    def back(grad):  # torch's (G, in) gradient -> Keras' (in, G)
        grad = grad.numpy()
        grad = grad.T if grad.ndim == 2 else grad
        if cell == "gru":  # r z n -> z r h
            blocks = np.split(grad, 3, axis=-1)
            grad = np.concatenate([blocks[1], blocks[0], blocks[2]], axis=-1)
        return grad

    res = {"y": y.detach().numpy(), "h": h_last.detach().numpy(), "dx": xt.grad.numpy(),
           "dw": back(mod.weight_ih_l0.grad), "dr": back(mod.weight_hh_l0.grad)}
    if cell == "lstm":
        res["c"] = c_last.detach().numpy()
    if bias:
        db_in = back(mod.bias_ih_l0.grad)
        res["db"] = np.concatenate([db_in, back(mod.bias_hh_l0.grad)]) if cell == "gru" else db_in
    return res


def max_err(got, want):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if not np.all(np.isfinite(got)):
        return float("inf")
    return float(np.max(np.abs(got - want) / np.maximum(1.0, np.abs(want)))) if got.size else 0.0


def main():
    rt = os.path.join(ROOT, "build", "libnnc_rt.a")
    exe = os.path.join(ROOT, "build", "torch_rnn")
    cmd = ["cc", "-std=c99", "-O2", "-I" + os.path.join(ROOT, "runtime"),
           os.path.join(ROOT, "tests", "torch_rnn.c"), rt, "-lm", "-o", exe]
    built = subprocess.run(cmd, capture_output=True, text=True)
    if built.returncode:
        sys.stderr.write(" ".join(cmd) + "\n" + built.stderr)
        print("torch rnn: 0 passed, 1 failed (could not build tests/torch_rnn.c)")
        return 1
    torch.set_num_threads(1)
    records, data = [], []
    for i, case in enumerate(CASES):
        name, cell, n, t, f, u, act, seq, rev, bias = case
        d = case_data(case, np.random.default_rng(2000 + i))
        data.append(d)
        head = "rnn %d %d %d %d %d %d %d %d %d\n" % (CELLS[cell], n, t, f, u, ACTS[act], seq, rev, bias)
        x, w, r, b, dy, dh, dc = d
        parts = [x, w, r] + ([b] if bias else []) + [dy, dh, dc]
        records.append(head.encode() + b"".join(np.ascontiguousarray(p, np.float32).tobytes() for p in parts))
    run = subprocess.run([exe], input=b"".join(records), capture_output=True)
    if run.returncode:
        sys.stderr.write(run.stderr.decode(errors="replace"))
        print("torch rnn: 0 passed, %d failed (tests/torch_rnn.c exited %d)" % (len(CASES), run.returncode))
        return 1
    out = np.frombuffer(run.stdout, dtype=np.float32)
    pos = passed = failed = 0
    for case, d in zip(CASES, data):
        name, cell = case[0], case[1]
        ref = reference(case, *d)
        order = ["y", "h"] + (["c"] if cell == "lstm" else []) + ["dx", "dw", "dr"] + (["db"] if case[9] else [])
        errs = []
        for key in order:
            size = ref[key].size
            errs.append((key, max_err(out[pos:pos + size].reshape(ref[key].shape), ref[key])))
            pos += size
        worst = max(e for _, e in errs)
        ok = worst <= TOL
        passed += ok
        failed += not ok
        print("%s %s: max err %.1e%s" % ("PASS" if ok else "FAIL", name, worst,
                                         "" if ok else " (" + ", ".join("%s %.1e" % e for e in errs) + ")"))
    if pos != out.size:
        print("FAIL protocol: %d floats read, %d written" % (pos, out.size))
        failed += 1
    print("torch rnn: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
