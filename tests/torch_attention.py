#!/usr/bin/python3
"""torch_attention.py — multi_head_attention and position_embedding against
PyTorch: the forward pass, every parameter's gradient and the input's, and a
few training steps, at batch sizes 1, 3 and 8, with nnc -O0 and -O2; then a
few Adam steps of the whole text_transformer example; and an imported ONNX
model whose batched MatMuls broadcast along the batch and a head axis,
fine-tuned (--train): its gradients against central differences.

For each model below: write its .nn text, compile it with bin/nnc (-O0 and
-O2), build tests/torch_attention.c against it for each batch size (initial
parameters, one batch, predict(), gradients() and every gradient, STEPS
train_batch losses, predict() and every parameter after), rebuild the model
in torch (float64) from the very same initial parameters and batch, and
compare: the outputs before and after the steps, every gradient, the losses
and every final parameter, each within 1e-5 + 1e-4 |torch| (losses 1e-4
relative).

The torch side, Keras' meaning written with torch's own functions:

* multi_head_attention: the projections x @ kernel + bias (Keras'
  EinsumDense kernels (dim, H, D) are nnc's (dim, H*D) element for element),
  heads split as (n, H, steps, D), softmax(q k^T / sqrt(D)) v per head
  (torch.softmax; when causal, the scores outside a boolean lower triangle
  from the top left set to -inf: Keras' use_causal_mask), heads merged back
  (n, steps, H*Dv) and the output projection.
* position_embedding: the (sequence_length, features) table's first `steps`
  rows, broadcast over the batch (keras_hub's PositionEmbedding).
* The input's gradient: each model adds a position table to its input and
  feeds the sum only to the attention (directly or through a conv1d or a
  per-step dense), so the table's gradient is the sum over the batch of the
  attention's input gradient (at batch 1, that gradient itself), and the
  conv1d/dense kernels carry the gradient of a query or key of their own.

Usage: tests/torch_attention.py [--nnc bin/nnc] [--rt build/libnnc_rt.a] [-v] [name...]
Prints `PASS name N flags: ...` / `FAIL ...` per run and `torch attention:
N passed, M failed`; exit status 1 on any failure, 0 with a `skipped` line
without torch.
"""

import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import torch
    import torch_parity as tp
except ImportError:
    print("torch attention: skipped (python3-torch not installed)")
    sys.exit(0)

F = torch.nn.functional
ROOT = tp.ROOT
ATOL, RTOL, LOSS_RTOL = 1e-5, 1e-4, 1e-4
BATCHES = (1, 3, 8)
FLAGS = ("-O0", "-O2")
STEPS = 3
SCCE = tp.SCCE


# ---- the torch side of the layers ----------------------------------------------

def mha(P, layer, query, value, key=None, heads=1, key_dim=1, value_dim=None, out_dim=None,
        use_bias=True, causal=False):
    """Keras MultiHeadAttention on (n, steps, features) tensors"""
    key = value if key is None else key
    value_dim = value_dim or key_dim
    out_dim = out_dim or query.shape[-1]

    def proj(x, sub, units):
        y = x @ P("%s.%s.kernel" % (layer, sub), (x.shape[-1], units))
        return y + P("%s.%s.bias" % (layer, sub), (units,)) if use_bias else y

    n, tq, tk = query.shape[0], query.shape[1], key.shape[1]
    q = proj(query, "query", heads * key_dim).view(n, tq, heads, key_dim).transpose(1, 2)
    k = proj(key, "key", heads * key_dim).view(n, tk, heads, key_dim).transpose(1, 2)
    v = proj(value, "value", heads * value_dim).view(n, tk, heads, value_dim).transpose(1, 2)
    s = q @ k.transpose(-2, -1) / math.sqrt(key_dim)
    if causal:   # query step i sees key steps j <= i
        s = s.masked_fill(~torch.ones(tq, tk, dtype=torch.bool).tril(), float("-inf"))
    c = torch.softmax(s, dim=-1) @ v
    return proj(c.transpose(1, 2).reshape(n, tq, heads * value_dim), "attention_output", out_dim)


def position_embedding(P, layer, x, sequence_length=None):
    table = P(layer + ".embeddings", (sequence_length or x.shape[1], x.shape[2]))
    return table[:x.shape[1]].expand_as(x)


def per_step_dense(x, P, layer, units, act="linear"):
    return tp.dense(x, P, layer, units, act)


def layer_norm(x, P, layer, eps=1e-3):
    c = (x.shape[-1],)
    return F.layer_norm(x, c, P(layer + ".gamma", c), P(layer + ".beta", c), eps=eps)


# ---- the models ----------------------------------------------------------------
# name, input (.nn type), .nn body, torch forward(P, x), loss, optimizer

def self_attention(P, x):
    h = x + position_embedding(P, "p", x)
    a = mha(P, "a", h, h, heads=2, key_dim=3)
    return tp.dense(tp.flatten(a), P, "y", 3, "softmax")


def self_causal(P, x):
    h = x + position_embedding(P, "p", x, 8)
    a = mha(P, "a", h, h, heads=3, key_dim=2, value_dim=5, out_dim=7, use_bias=False, causal=True)
    return tp.dense(tp.flatten(a), P, "y", 3, "softmax")


def cross(P, x):
    h = x + position_embedding(P, "p", x)
    q = tp.conv(h, P, "q", 5, 3)
    k = per_step_dense(h, P, "k", 3)
    a = mha(P, "a", q, h, k, heads=3, key_dim=2, value_dim=4)
    return tp.dense(tp.global_avg_pool(a), P, "y", 1, "sigmoid")


def cross_causal(P, x):   # more query steps than key steps
    h = x + position_embedding(P, "p", x)
    v = tp.conv(h, P, "v", 4, 3)
    k = per_step_dense(v, P, "k", 6)
    a = mha(P, "a", h, v, k, heads=2, key_dim=3, use_bias=False, causal=True, out_dim=5)
    return tp.dense(tp.flatten(layer_norm(a, P, "n")), P, "y", 3, "softmax")


MODELS = [
    ("self_attention", "f32[6, 4]", """
        p = position_embedding(x)
        h = add(x, p)
        a = multi_head_attention(h, h, num_heads = 2, key_dim = 3)
        flatten(a)
        y = dense(3, softmax)
    """, self_attention, SCCE, "sgd(lr = 0.1)"),
    ("self_causal_nobias", "f32[5, 4]", """
        p = position_embedding(x, sequence_length = 8)
        h = add(x, p)
        a = multi_head_attention(h, h, num_heads = 3, key_dim = 2, value_dim = 5, output_shape = 7,
                                 use_bias = false, use_causal_mask = true)
        flatten(a)
        y = dense(3, softmax)
    """, self_causal, SCCE, "sgd(lr = 0.1)"),
    ("cross", "f32[7, 4]", """
        p = position_embedding(x)
        h = add(x, p)
        q = conv1d(h, 5, 3)
        k = time_distributed(h, dense(3))
        a = multi_head_attention(q, h, k, num_heads = 3, key_dim = 2, value_dim = 4)
        global_average_pooling1d(a)
        y = dense(1, sigmoid)
    """, cross, "binary_crossentropy", "sgd(lr = 0.1)"),
    ("cross_causal", "f32[6, 3]", """
        p = position_embedding(x)
        h = add(x, p)
        v = conv1d(h, 4, 3)
        k = time_distributed(v, dense(6))
        a = multi_head_attention(h, v, k, num_heads = 2, key_dim = 3, output_shape = 5,
                                 use_bias = false, use_causal_mask = true)
        n = layer_normalization(a)
        flatten(n)
        y = dense(3, softmax)
    """, cross_causal, SCCE, "adam(lr = 0.01)"),
]


def example():
    """examples/text_transformer/text_transformer.nn with its dropout rates 0
    (their masks come from nnc's generator), and its torch forward"""
    with open(os.path.join(ROOT, "examples/text_transformer/text_transformer.nn")) as f:
        text = re.sub(r"dropout\(([^,)]*, )?0\.1\)", r"dropout(\g<1>0)", f.read())
    text = text.replace("model text_transformer", "model ta_example").replace(
        "train text_transformer", "train ta_example")

    def forward(P, t):
        e = P("e.embeddings", (10, 32))[t.long()]
        x = e + position_embedding(P, "position_embedding", e)
        attn = mha(P, "attn", x, x, heads=2, key_dim=32)
        out1 = layer_norm(x + attn, P, "out1", 1e-6)
        ffn = tp.dense(out1, P, "ffn", 32, "relu")
        ffn_out = tp.dense(ffn, P, "ffn_out", 32, "linear")
        out2 = layer_norm(out1 + ffn_out, P, "out2", 1e-6)
        g = F.gelu(tp.global_avg_pool(out2) @ P("dense_2.kernel", (32, 20)) + P("dense_2.bias", (20,)))
        return tp.dense(g, P, "y", 1, "sigmoid")
    return text, forward


# ---- an imported batched MatMul, fine-tuned -----------------------------------------

class BatchedMatMul(torch.nn.Module):
    """products over a batch and a head axis: h (B, 1, T, F) against w (H, F, D)
    reads h along every head (its gradient sums over H) and w for every
    sample (its gradient sums over B); the first product's weight is
    broadcast over the batch too"""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 4)
        self.w = torch.nn.Parameter(torch.randn(2, 4, 3) * 0.5)

    def forward(self, x):
        q = torch.matmul(self.lin(x).unsqueeze(1), self.w)
        return (q * q).sum(dim=(1, 2))


def onnx_batched_matmul(tmp, args):
    """export BatchedMatMul, compile it with --train mse at -O0 and -O2 and
    check the gradients of the generated training step against central
    differences (tests/model_check.c); (ok, report) per level"""
    d = os.path.join(tmp, "onnx_matmul")
    os.makedirs(d)
    path = os.path.join(d, "bm.onnx")
    torch.manual_seed(0)
    torch.onnx.export(BatchedMatMul(), torch.randn(4, 5, 4), path, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "b"}, "y": {0: "b"}}, opset_version=13)
    res = []
    for flags in FLAGS:
        od = os.path.join(d, flags[1:])
        os.makedirs(od)
        csrc = os.path.join(od, "bm.c")
        sh([args.nnc, flags, path, "--shape", "b=4", "--train", "mse", "-o", csrc])
        exe = os.path.join(od, "bm")
        sh(os.environ.get("CC", "cc").split() +
           ["-std=c99", "-O2", "-Iruntime", "-I" + od, "-DNNC_MODEL=bm", "-DNNC_UPPER=BM", '-DNNC_HEADER="bm.h"',
            "tests/model_check.c", csrc, args.rt, "-lm", "-o", exe])
        with open(csrc) as f:
            grads = f.read().count("nnc_rt_matmul_nd_grad(")
        out = dict(line.split() for line in sh([exe, "gradcheck", "3e-3"]).splitlines() if len(line.split()) == 2)
        ok = grads >= 3 and float(out["checked"]) >= 40 and float(out["bad"]) == 0
        res.append((flags, ok, "%d batched-product gradients, %s checked, %s bad, worst %s"
                    % (grads, out["checked"], out["bad"], out["worst"])))
    return res


# ---- running both sides ----------------------------------------------------------

def sh(cmd):
    p = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (cmd[0], p.returncode, p.stderr.strip()))
    return p.stdout


def build(tmp, model, text, flags, args):
    """nnc FLAGS on the .nn text: the generated source and its parameter names"""
    d = os.path.join(tmp, "%s%s" % (model, flags))
    os.makedirs(d)
    src = os.path.join(d, model + ".nn")
    with open(src, "w") as f:
        f.write(text)
    csrc = os.path.join(d, model + ".c")
    sh([args.nnc, flags, src, "-o", csrc])
    with open(csrc) as f:
        names = [m.group(1) for m in tp.PARAM_ROW.finditer(f.read())]
    return d, csrc, names


def run_c(d, model, csrc, names, n, labels, steps, args):
    exe = os.path.join(d, "driver%d" % n)
    sh(os.environ.get("CC", "cc").split() +
       ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-Iruntime", "-I" + d, "-DNNC_MODEL=" + model,
        "-DNNC_UPPER=" + model.upper(), '-DNNC_HEADER="%s.h"' % model, "-DPARITY_N=%d" % n,
        "tests/torch_attention.c", csrc, args.rt, "-lm", "-o", exe])
    dump = {"param": [], "grad": [], "final": []}
    for line in sh([exe, labels, str(steps)] + names).splitlines():
        tok = line.split()
        if tok[0] in dump and isinstance(dump[tok[0]], list) and tok[0] in ("param", "grad", "final"):
            dump[tok[0]].append((tok[1], [float(v) for v in tok[3:]]))
            assert len(dump[tok[0]][-1][1]) == int(tok[2])
        elif tok[0] == "dims":
            dump["dims"] = [int(v) for v in tok[1:]]
        else:
            dump[tok[0]] = [float(v) for v in tok[1:]]
    return dump


def run_torch(dump, shape, forward, loss, opt, labels, ids):
    """outputs before, the loss and gradients at the start, the step losses,
    outputs after, final parameters; torch in float64"""
    n_in, m, n, steps = dump["dims"]
    dtype = torch.float64
    flat = dict(dump["param"])
    leaves = {}

    def P(name, shape_):
        if name not in leaves:
            if name not in flat:
                raise KeyError("nnc has no parameter %s" % name)
            t = torch.tensor(flat[name], dtype=dtype)
            numel = 1
            for s in shape_:
                numel *= s
            if t.numel() != numel:
                raise ValueError("%s: nnc has %d floats, the shape %s needs %d" % (name, t.numel(), shape_, numel))
            leaves[name] = t.view(shape_).clone().requires_grad_(True)
        return leaves[name]

    x = torch.tensor(dump["x"], dtype=dtype).view(n, *shape)
    if ids:
        x = x.long()
    y = torch.tensor(dump["y"], dtype=dtype)
    if labels != "sparse":
        y = y.view(n, m)
    out0 = forward(P, x)
    l0 = tp.keras_loss(loss, out0, y)
    if set(leaves) != set(flat):
        raise ValueError("parameters nnc has but torch did not use: %s; used but missing: %s"
                         % (sorted(set(flat) - set(leaves)), sorted(set(leaves) - set(flat))))
    l0.backward()
    grads = {k: v.grad.flatten().tolist() for k, v in leaves.items()}
    plist = [leaves[name] for name, _ in dump["param"]]
    optim, _ = tp.make_optimizer(plist, opt, "torch")
    losses = []
    for _ in range(steps):
        optim.zero_grad()
        l = tp.keras_loss(loss, forward(P, x), y)
        l.backward()
        losses.append(l.item())
        optim.step()
    with torch.no_grad():
        out = forward(P, x).flatten().tolist()
    final = {k: v.detach().flatten().tolist() for k, v in leaves.items()}
    return out0.detach().flatten().tolist(), l0.item(), grads, losses, out, final


def worst(pairs):
    """the largest |a - b| beyond ATOL + RTOL |b| (<= 0: all within), and the largest |a - b|"""
    pairs = list(pairs)
    if not pairs:
        return 0.0, 0.0
    return (max(abs(a - b) - ATOL - RTOL * abs(b) for a, b in pairs), max(abs(a - b) for a, b in pairs))


def compare(dump, ref):
    out0, l0, grads, losses, out, final = ref
    report, ok = [], True
    # a parameter whose gradient is 0 in exact arithmetic (a key projection's
    # bias: softmax does not change when a row of scores shifts) moves under
    # Adam's sign-like step by the rounding noise of its gradient, float32
    # against float64; its gradient is compared, its final value is not
    moved = [name for name, _ in dump["final"] if max(abs(g) for g in grads[name]) > 1e-12]
    fin = dict(dump["final"])
    checks = [("forward", zip(dump["out0"], out0)),
              ("gradients", (p for name, v in dump["grad"] for p in zip(v, grads[name]))),
              ("after the steps", zip(dump["out"] + [p for name in moved for p in fin[name]],
                                      out + [p for name in moved for p in final[name]]))]
    for what, pairs in checks:
        bad, err = worst(pairs)
        ok = ok and bad <= 0
        report.append("%s err %.1e" % (what, err))
    lerr = max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(dump["loss0"] + dump["loss"], [l0] + losses))
    ok = ok and lerr <= LOSS_RTOL and len(dump["loss"]) == len(losses)
    report.append("loss rel err %.1e" % lerr)
    if not ok:   # which gradient or parameter, for the diagnosis
        for name, v in dump["grad"]:
            bad, err = worst(zip(v, grads[name]))
            if bad > 0:
                report.append("\n    grad %s: max err %.1e" % (name, err))
        for name, v in dump["final"]:
            bad, err = worst(zip(v, final[name]))
            if bad > 0:
                report.append("\n    final %s: max err %.1e (gradients %s)"
                              % (name, err, " ".join("%.1e" % g for g in grads[name][:8])))
    return ok, ", ".join(report)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("names", nargs="*", help="models to run (default: all, and 'example')")
    ap.add_argument("--nnc", default="bin/nnc")
    ap.add_argument("--rt", default="build/libnnc_rt.a")
    ap.add_argument("--keep", action="store_true", help="keep the build directory")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = []
    for name, itype, body, forward, loss, opt in MODELS:
        dims = tuple(int(v) for v in itype[4:-1].split(","))
        text = tp.nn_text_cnn("ta_" + name, dims, body, loss, opt).replace("f32[", "f32[", 1)
        labels = "sparse" if loss == SCCE else "binary"
        for flags in FLAGS:
            rows.append((name, "ta_" + name, text, flags, BATCHES, dims, forward, loss, opt, labels, False, STEPS))
    etext, eforward = example()
    for flags in FLAGS:   # a few Adam steps of the whole example, on its own batch of 32 at most
        rows.append(("example", "ta_example", etext, flags, (8,), (12,), eforward, "binary_crossentropy",
                     "adam(lr = 0.001)", "binary", True, 5))
    rows = [r for r in rows if not args.names or r[0] in args.names]
    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="torch_attention.", dir=os.path.join(ROOT, "build"))
    passed = failed = 0

    def job(row):
        name, model, text, flags, batches, dims, forward, loss, opt, labels, ids, steps = row
        out = []
        try:
            d, csrc, names = build(tmp, model, text, flags, args)
            for n in batches:
                dump = run_c(d, model, csrc, names, n, labels, steps, args)
                out.append((n, compare(dump, run_torch(dump, dims, forward, loss, opt, labels, ids))))
        except (RuntimeError, KeyError, ValueError) as e:
            out.append((0, (False, str(e))))
        return out

    try:
        if not args.names or "onnx_matmul" in args.names:
            try:
                for flags, ok, report in onnx_batched_matmul(tmp, args):
                    passed += ok
                    failed += not ok
                    print("%s onnx_matmul %s: %s" % ("PASS" if ok else "FAIL", flags, report))
            except (RuntimeError, KeyError, ValueError) as e:
                failed += 1
                print("FAIL onnx_matmul: %s" % e)
        with ThreadPoolExecutor(max_workers=2) as ex:
            results = list(ex.map(job, rows))
        for row, res in zip(rows, results):
            for n, (ok, report) in res:
                passed += ok
                failed += not ok
                if ok and not args.verbose:
                    report = report.split("\n")[0]
                print("%s %s n=%d %s: %s" % ("PASS" if ok else "FAIL", row[0], n, row[3], report))
    finally:
        if args.keep:
            print("kept %s" % os.path.relpath(tmp, ROOT))
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("torch attention: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
