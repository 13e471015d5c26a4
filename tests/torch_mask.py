#!/usr/bin/python3
"""torch_mask.py — PyTorch parity of Keras' mask (embedding(mask_zero = true))
through whole generated models: the forward outputs, the loss and the
gradient of EVERY parameter (the embedding table included) of nnc's
`gradients()` against a masked recurrence written out in torch.

The torch side is Keras' rule (keras backend.rnn with a mask), by hand: a
loop over the steps in float64 with Keras' layouts (x.W + h.R + b; LSTM
gates i f g o; GRU z r h with reset_after and two biases), and at a step
whose token id is 0 the state (h, c) carried over unchanged; the output at
that step is the carried h, or zero in the halves of a bidirectional layer
that returns sequences (Keras' zero_output_for_mask).  The backward half of
bidirectional runs from the last step to the first, its output sequence
aligned with the input.  global_average_pooling1d under a mask is the mean
over the real steps.  torch's autograd gives the gradients.

Token ids: 7 steps; per sample padding at the end, in the middle, at the
start, or none, at random (every sample keeps at least one real token).
Each model is compiled at -O0 and -O2 for batch 8 and run with n = 1, 3
and 8.  Error of a tensor: max |nnc - torch| / max(1, |torch|) <= 1e-4.

Usage: tests/torch_mask.py [--nnc bin/nnc] [--rt build/libnnc_rt.a] [-v]
Prints `PASS name: ...` / `FAIL ...` per model, opt level and batch, and
`torch mask: N passed, M failed`; exit status 1 on any failure.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
except ImportError:
    print("torch mask: skipped (python3-torch not installed)")
    sys.exit(0)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOL = 1e-4
T, VOCAB, DIM, OUT, BATCH = 7, 12, 5, 3, 8
PARAM_ROW = re.compile(r'^\s*\{ "([^"]+)", (\d+), (\d+),', re.M)

# ---- the reference -------------------------------------------------------------------


def cell_step(cell, P, name, x, h, c):
    """one step of Keras' cell on x (n, F) from h, c: the new h, c"""
    W, R = P[name + ".kernel"], P[name + ".recurrent_kernel"]
    b = P[name + ".bias"]
    u = R.shape[0]
    if cell == "gru":
        xz = x @ W + b[0]
        rz = h @ R + b[1]
        z = torch.sigmoid(xz[:, :u] + rz[:, :u])
        r = torch.sigmoid(xz[:, u:2 * u] + rz[:, u:2 * u])
        hh = torch.tanh(xz[:, 2 * u:] + r * rz[:, 2 * u:])
        return z * h + (1 - z) * hh, c
    a = x @ W + h @ R + b
    if cell == "simple_rnn":
        return torch.tanh(a), c
    i, f = torch.sigmoid(a[:, :u]), torch.sigmoid(a[:, u:2 * u])
    g, o = torch.tanh(a[:, 2 * u:3 * u]), torch.sigmoid(a[:, 3 * u:])
    c = f * c + i * g
    return o * torch.tanh(c), c


def rnn(cell, P, name, x, mask, seq, reverse=False, zero_output=False):
    """Keras' masked recurrence over x (n, T, F); mask (n, T) True at real steps"""
    n, steps = x.shape[0], x.shape[1]
    u = P[name + ".recurrent_kernel"].shape[0]
    h = torch.zeros(n, u, dtype=torch.float64)
    c = torch.zeros(n, u, dtype=torch.float64)
    ys = [None] * steps
    for t in (reversed(range(steps)) if reverse else range(steps)):
        hn, cn = cell_step(cell, P, name, x[:, t], h, c)
        m = mask[:, t:t + 1]
        h, c = torch.where(m, hn, h), torch.where(m, cn, c)
        ys[t] = torch.where(m, h, torch.zeros_like(h)) if zero_output else h
    return torch.stack(ys, 1) if seq else h


def bidirectional(cell, P, name, x, mask, seq):
    f = rnn(cell, P, name + "_forward", x, mask, seq, False, seq)
    b = rnn(cell, P, name + "_backward", x, mask, seq, True, seq)
    return torch.cat([f, b], -1)


def masked_mean(x, mask):
    m = mask.to(x.dtype).unsqueeze(-1)
    return (x * m).sum(1) / m.sum(1)


def dense(P, name, x):
    return x @ P[name + ".kernel"] + P[name + ".bias"]


# name, .nn body after the embedding, torch forward (P, embedded x, mask)
MODELS = [
    ("lstm_last", "  lstm(6)\n  dense(3)\n",
     lambda P, x, m: dense(P, "dense", rnn("lstm", P, "lstm", x, m, False))),
    ("simple_seq_gru_last", "  simple_rnn(4, return_sequences = true)\n  gru(5)\n  dense(3)\n",
     lambda P, x, m: dense(P, "dense", rnn("gru", P, "gru", rnn("simple_rnn", P, "simple_rnn", x, m, True),
                                           m, False))),
    ("bidi_lstm_seq_mean", "  bidirectional(lstm(4, return_sequences = true))\n  global_average_pooling1d\n"
                           "  dense(3)\n",
     lambda P, x, m: dense(P, "dense", masked_mean(bidirectional("lstm", P, "bidirectional", x, m, True), m))),
    ("bidi_gru_last", "  bidirectional(gru(4))\n  dense(3)\n",
     lambda P, x, m: dense(P, "dense", bidirectional("gru", P, "bidirectional", x, m, False))),
    ("gru_seq_dropout_mean", "  gru(5, return_sequences = true)\n  dropout(0.0)\n  global_average_pooling1d\n"
                             "  dense(3)\n",
     lambda P, x, m: dense(P, "dense", masked_mean(rnn("gru", P, "gru", x, m, True), m))),
    ("bidi_simple_sum_lstm", "  bidirectional(simple_rnn(4, return_sequences = true), merge_mode = sum)\n"
                             "  time_distributed(dense(4, tanh))\n  lstm(3)\n  dense(3)\n",
     lambda P, x, m: dense(P, "dense_1", rnn("lstm", P, "lstm", torch.tanh(dense(P, "dense", (
         rnn("simple_rnn", P, "bidirectional_forward", x, m, True, False, True) +
         rnn("simple_rnn", P, "bidirectional_backward", x, m, True, True, True)))), m, False))),
    ("embedding_mean", "  global_average_pooling1d\n  dense(3)\n",
     lambda P, x, m: dense(P, "dense", masked_mean(x, m))),
]


def batch(n, rng):
    ids = rng.integers(1, VOCAB, size=(n, T))
    for s in range(n):
        kind = (s + n) % 4
        if kind == 0:  # padding at the end
            ids[s, rng.integers(1, T):] = 0
        elif kind == 1:  # in the middle
            a = rng.integers(1, T - 2)
            ids[s, a:a + rng.integers(1, T - a - 1)] = 0
        elif kind == 2:  # at the start
            ids[s, :rng.integers(1, T)] = 0
    y = rng.uniform(-1, 1, size=(n, OUT))
    return ids, y


def reference(fwd, params, ids, y):
    P = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    ids_t = torch.tensor(ids, dtype=torch.long)
    x = P["embedding.embeddings"][ids_t]
    out = fwd(P, x, ids_t != 0)
    loss = ((out - torch.tensor(y, dtype=torch.float64)) ** 2).mean()
    loss.backward()
    return out.detach().numpy(), float(loss), {k: v.grad.numpy() for k, v in P.items()}


def max_err(got, want):
    got, want = np.asarray(got, np.float64).ravel(), np.asarray(want, np.float64).ravel()
    if got.size != want.size or not np.all(np.isfinite(got)):
        return float("inf")
    return float(np.max(np.abs(got - want) / np.maximum(1.0, np.abs(want)))) if got.size else 0.0


def build(args, work, name, body, opt):
    d = os.path.join(work, "%s%s" % (name, opt))
    os.makedirs(d)
    src = ("model m {\n  input t: i32[%d]\n  embedding(%d, %d, mask_zero = true)\n%s}\n"
           "train m {\n  loss mse\n  optimizer sgd(lr = 0.1)\n  batch %d\n}\n" % (T, VOCAB, DIM, body, BATCH))
    with open(os.path.join(d, "m.nn"), "w") as f:
        f.write(src)
    r = subprocess.run([args.nnc, opt, "m.nn", "-o", "m.c"], cwd=d, capture_output=True, text=True)
    if r.returncode:
        return None, None, "nnc: " + r.stderr
    exe = os.path.join(d, "run")
    r = subprocess.run(["cc", "-std=c99", "-O2", "-I" + os.path.join(ROOT, "runtime"), "-I" + d, "-DNNC_MODEL=m",
                        "-DNNC_UPPER=M", '-DNNC_HEADER="m.h"', os.path.join(ROOT, "tests", "torch_mask.c"),
                        os.path.join(d, "m.c"), args.rt, "-lm", "-o", exe], capture_output=True, text=True)
    if r.returncode:
        return None, None, "cc: " + r.stderr
    with open(os.path.join(d, "m.c")) as f:
        names = [m.group(1) for m in PARAM_ROW.finditer(f.read())]
    return exe, names, None


def run_case(exe, names, n, rng, work):
    ids, y = batch(n, rng)
    path = os.path.join(work, "batch.txt")
    with open(path, "w") as f:
        f.write("%d\n%s\n%s\n" % (n, " ".join(map(str, ids.ravel())), " ".join("%.9g" % v for v in y.ravel())))
    r = subprocess.run([exe, path] + names, capture_output=True, text=True)
    if r.returncode:
        return None, r.stderr
    params, grads, out, loss = {}, {}, None, None
    for line in r.stdout.splitlines():
        w = line.split()
        if w[0] in ("param", "grad"):
            (params if w[0] == "param" else grads)[w[1]] = np.array(w[3:], np.float64)
        elif w[0] == "out":
            out = np.array(w[1:], np.float64)
        elif w[0] == "loss":
            loss = float(w[1])
    return (ids, y, params, grads, out, loss), None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc", default=os.path.join(ROOT, "bin", "nnc"))
    ap.add_argument("--rt", default=os.path.join(ROOT, "build", "libnnc_rt.a"))
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("-v", action="store_true")
    args = ap.parse_args()
    args.nnc, args.rt = os.path.abspath(args.nnc), os.path.abspath(args.rt)
    torch.set_num_threads(1)
    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
    work = tempfile.mkdtemp(prefix="torch-mask-", dir=os.path.join(ROOT, "build"))
    passed = failed = 0
    for k, (name, body, fwd) in enumerate(MODELS):
        # each recurrent layer's cell, from its name (bidirectional's halves: the model's cell)
        cells = {"lstm": "lstm", "gru": "gru", "simple_rnn": "simple_rnn"}
        for half in ("_forward", "_backward"):
            cells["bidirectional" + half] = "simple_rnn" if "simple" in name else "lstm" if "lstm" in name else "gru"
        for opt in ("-O0", "-O2"):
            exe, names, err = build(args, work, name, body, opt)
            if err:
                print("FAIL %s %s: %s" % (name, opt, err.strip()))
                failed += 1
                continue
            for n in (1, 3, 8):
                rng = np.random.default_rng(1000 * k + n)
                res, err = run_case(exe, names, n, rng, work)
                if err:
                    print("FAIL %s %s n=%d: %s" % (name, opt, n, err.strip()))
                    failed += 1
                    continue
                ids, y, params, grads, out, loss = res
                P = {}
                for p, v in params.items():  # Keras' shapes: kernel (F, G), recurrent (U, G), bias (G) or (2, G)
                    layer, kind = p.rsplit(".", 1)
                    if kind != "recurrent_kernel":
                        continue
                    cell = cells[layer]
                    m = {"lstm": 4, "gru": 3, "simple_rnn": 1}[cell]
                    u = int(round((v.size / m) ** 0.5))
                    G = m * u
                    P[p] = v.reshape(u, G)
                    P[layer + ".kernel"] = params[layer + ".kernel"].reshape(-1, G)
                    if layer + ".bias" in params:
                        P[layer + ".bias"] = params[layer + ".bias"].reshape((2, G) if cell == "gru" else (G,))
                P["embedding.embeddings"] = params["embedding.embeddings"].reshape(VOCAB, DIM)
                for p, v in params.items():  # dense kernels (in, out), by their bias's size
                    if p.endswith(".bias") and p.startswith("dense"):
                        P[p] = v
                        P[p[:-5] + ".kernel"] = params[p[:-5] + ".kernel"].reshape(-1, v.size)
                rout, rloss, rgrads = reference(fwd, P, ids, y)
                errs = [("out", max_err(out, rout)), ("loss", max_err([loss], [rloss]))]
                errs += [("d" + p, max_err(grads[p], rgrads[p])) for p in names]
                worst = max(e for _, e in errs)
                ok = worst <= TOL and len(rgrads) == len(names)
                passed += ok
                failed += not ok
                detail = "" if ok and not args.v else " (" + ", ".join("%s %.1e" % e for e in errs) + ")"
                print("%s %s %s n=%d: max err %.1e over out, loss and %d gradients%s" % (
                    "PASS" if ok else "FAIL", name, opt, n, worst, len(names), detail))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    print("torch mask: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
