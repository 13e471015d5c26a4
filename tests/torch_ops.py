#!/usr/bin/python3
"""torch_ops.py — the runtime's conv2d, pooling and batch-norm kernels against
PyTorch, one op at a time.

For every case in the tables below: random inputs (numpy, fixed seeds) go
through tests/torch_ops.c (built here against build/libnnc_rt.a) and through
the same op written with torch.nn.functional; forward outputs, and the
gradients torch's autograd gives for a random upstream gradient dy, must
agree within TOL.  The error of a tensor is max |nnc - torch| / max(1, |torch|).
torch runs in float64 on the very float32 inputs, so the error is nnc's own:
observed up to ~2e-5, on weight gradients summed over 3000 pixels (torch
in float32 is itself 5e-5 off there, which is why it is not the reference).

Where Keras and torch differ, the reference is built to Keras' meaning from
torch pieces, not taken from torch's default:

* layout: nnc is channels-last with Keras kernels (kh, kw, c/groups, oc);
  torch is NCHW with (oc, c/groups, kh, kw) — inputs are permuted going in,
  results coming out.
* 'same' padding: Keras pads total = max((ceil(h/s)-1)*s + (k-1)*d + 1 - h, 0)
  with the odd cell at the bottom/right.  torch pads symmetrically, so the
  input is padded explicitly with F.pad (zeros for conv, -inf for max
  pooling) and the torch op runs unpadded.
* average pooling counts only real cells (count_include_pad=False), for
  asymmetric pads too: the average is sum_pool(x padded with 0) divided by
  sum_pool(ones padded with 0).
* batch norm, training: normalise with the batch mean and biased variance
  (as torch does); but the moving statistics follow Keras —
  moving = momentum*moving + (1-momentum)*batch, with the *biased* variance
  (torch's running_var uses the unbiased one) — so they are checked
  against that formula in float64 numpy rather than against torch.

Usage: tests/torch_ops.py [--rt build/libnnc_rt.a] [--bin build/torch_ops] [--no-build] [-v]
                          [name...]
Prints `PASS name: max err ...` / `FAIL ...` per case and
`torch ops: N passed, M failed`; exit status 1 on any failure.
"""

import argparse
import os
import subprocess
import sys

import numpy as np

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the shell wrapper checks first; this is for direct runs
    print("torch ops: skipped (python3-torch not installed)")
    sys.exit(0)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOL = 1e-4
ACTS = {"linear": 0, "relu": 1, "sigmoid": 2, "tanh": 3, "softmax": 4}


# ---- geometry -------------------------------------------------------------------

def same_pads(size, k, s, d=1):
    """Keras 'same': (before, after), the odd cell after."""
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def out_size(size, k, s, d, before, after):
    return (size + before + after - d * (k - 1) - 1) // s + 1


def pads_of(case, h, w, kh, kw, sh, sw, dh=1, dw=1):
    """(pt, pb, pl, pr) from a case's padding: 'same', 'valid' or explicit."""
    pad = case.get("padding", "valid")
    if pad == "same":
        return same_pads(h, kh, sh, dh) + same_pads(w, kw, sw, dw)
    if pad == "valid":
        return (0, 0, 0, 0)
    return tuple(pad)


# ---- the tables ------------------------------------------------------------------
# conv: n, h, w, c, oc, k=(kh, kw), s=(sh, sw), d=(dh, dw), padding, groups, act, bias
CONV = [
    dict(name="conv 3x3 same 28x28 16->16", n=4, h=28, w=28, c=16, oc=16, k=(3, 3), padding="same", act="relu"),
    dict(name="conv 3x3 valid", n=3, h=9, w=11, c=3, oc=8, k=(3, 3)),
    dict(name="conv 3x3 same s2 even", n=2, h=8, w=8, c=4, oc=6, k=(3, 3), s=(2, 2), padding="same"),
    dict(name="conv 3x3 same s2 odd", n=2, h=7, w=9, c=5, oc=7, k=(3, 3), s=(2, 2), padding="same"),
    dict(name="conv 5x5 same", n=2, h=10, w=9, c=3, oc=5, k=(5, 5), padding="same", act="tanh"),
    dict(name="conv 4x4 same (pads 1/2)", n=2, h=9, w=8, c=3, oc=4, k=(4, 4), padding="same"),
    dict(name="conv 2x2 same (pads 0/1)", n=1, h=6, w=7, c=2, oc=3, k=(2, 2), padding="same"),
    dict(name="conv 3x2 stride (2,1) valid", n=2, h=9, w=8, c=3, oc=4, k=(3, 2), s=(2, 1)),
    dict(name="conv dilation 2 same", n=2, h=11, w=10, c=3, oc=5, k=(3, 3), d=(2, 2), padding="same"),
    dict(name="conv dilation (2,1) 3x2 valid", n=1, h=12, w=9, c=4, oc=3, k=(3, 2), d=(2, 1)),
    dict(name="conv explicit pads 2/0/1/3", n=2, h=6, w=7, c=3, oc=4, k=(3, 3), padding=(2, 0, 1, 3)),
    dict(name="conv groups 2 same", n=2, h=8, w=8, c=6, oc=8, k=(3, 3), padding="same", groups=2),
    dict(name="conv groups 4 s2 valid", n=3, h=9, w=9, c=8, oc=12, k=(3, 3), s=(2, 2), groups=4),
    dict(name="depthwise 3x3 same", n=2, h=12, w=12, c=35, oc=35, k=(3, 3), padding="same", groups=35),
    dict(name="depthwise x2 s2 same", n=2, h=9, w=8, c=4, oc=8, k=(3, 3), s=(2, 2), padding="same", groups=4),
    dict(name="depthwise 5x5 dilation 2", n=1, h=14, w=13, c=16, oc=16, k=(5, 5), d=(2, 2), padding="same", groups=16),
    dict(name="pointwise 1x1", n=3, h=7, w=6, c=12, oc=20, k=(1, 1), act="sigmoid"),
    dict(name="pointwise 1x1 groups 3", n=2, h=5, w=5, c=9, oc=6, k=(1, 1), groups=3),
    dict(name="1x1 stride 2", n=2, h=9, w=8, c=5, oc=7, k=(1, 1), s=(2, 2)),
    dict(name="conv1d k5 same", n=3, h=1, w=30, c=4, oc=6, k=(1, 5), padding="same"),
    dict(name="conv1d k3 s2 d2 valid", n=2, h=1, w=25, c=3, oc=5, k=(1, 3), s=(1, 2), d=(1, 2)),
    dict(name="first layer 28x28 1->8", n=4, h=28, w=28, c=1, oc=8, k=(3, 3), padding="same", act="relu"),
    dict(name="conv softmax over oc", n=2, h=6, w=6, c=3, oc=5, k=(3, 3), padding="same", act="softmax"),
    dict(name="conv 7x7 32->64 same", n=4, h=7, w=7, c=32, oc=64, k=(3, 3), padding="same", act="relu"),
    dict(name="conv 14x14 16->32 s2 same", n=3, h=14, w=14, c=16, oc=32, k=(3, 3), s=(2, 2), padding="same"),
    dict(name="conv no bias", n=2, h=6, w=5, c=3, oc=4, k=(3, 3), padding="same", bias=False),
]

# pool: kind, n, h, w, c, k, s, padding
POOL = [
    dict(name="maxpool 2x2 s2 valid", kind="max", n=2, h=8, w=8, c=3, k=(2, 2), s=(2, 2)),
    dict(name="maxpool 3x3 s2 same odd", kind="max", n=2, h=7, w=7, c=4, k=(3, 3), s=(2, 2), padding="same"),
    dict(name="maxpool 3x3 s2 same even", kind="max", n=2, h=8, w=6, c=3, k=(3, 3), s=(2, 2), padding="same"),
    dict(name="maxpool 2x2 s2 same odd", kind="max", n=3, h=7, w=9, c=5, k=(2, 2), s=(2, 2), padding="same"),
    dict(name="maxpool 3x3 s1 same", kind="max", n=1, h=6, w=5, c=70, k=(3, 3), s=(1, 1), padding="same"),
    dict(name="maxpool global", kind="max", n=3, h=5, w=6, c=4, k=(5, 6), s=(1, 1)),
    dict(name="maxpool1d 3 s2 same", kind="max", n=2, h=1, w=11, c=3, k=(1, 3), s=(1, 2), padding="same"),
    dict(name="avgpool 2x2 s2 valid", kind="avg", n=2, h=8, w=8, c=3, k=(2, 2), s=(2, 2)),
    dict(name="avgpool 3x3 s1 same", kind="avg", n=2, h=6, w=7, c=4, k=(3, 3), s=(1, 1), padding="same"),
    dict(name="avgpool 3x3 s2 same even", kind="avg", n=2, h=8, w=8, c=3, k=(3, 3), s=(2, 2), padding="same"),
    dict(name="avgpool 2x2 s2 same odd", kind="avg", n=3, h=7, w=5, c=2, k=(2, 2), s=(2, 2), padding="same"),
    dict(name="avgpool global", kind="avg", n=3, h=7, w=7, c=16, k=(7, 7), s=(1, 1)),
    dict(name="avgpool1d 4 s3 same", kind="avg", n=2, h=1, w=13, c=3, k=(1, 4), s=(1, 3), padding="same"),
]

# batch norm: x is (n, h, w, c); loc shifts the data away from 0
BN = [
    dict(name="batchnorm train 4d", mode="train", shape=(8, 5, 5, 6), momentum=0.99, eps=1e-3),
    dict(name="batchnorm train 70 channels", mode="train", shape=(64, 70), momentum=0.9, eps=1e-3),
    dict(name="batchnorm train mean 5", mode="train", shape=(4, 6, 6, 8), momentum=0.99, eps=1e-5, loc=5.0),
    dict(name="batchnorm train 28x28 16", mode="train", shape=(16, 28, 28, 16), momentum=0.99, eps=1e-3),
    dict(name="batchnorm infer 4d", mode="infer", shape=(8, 5, 5, 6), eps=1e-3),
    dict(name="batchnorm infer 70 channels", mode="infer", shape=(16, 70), eps=1e-3),
]


# ---- records for tests/torch_ops.c, and the torch reference ----------------------

def f32(a):
    return np.ascontiguousarray(a, dtype=np.float32)


def t64(a):
    """The reference runs in float64, so the error measured is nnc's own."""
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))


def nchw(a):
    return t64(a.transpose(0, 3, 1, 2)).requires_grad_(True)


def to_nhwc(t):
    return t.detach().permute(0, 2, 3, 1).contiguous().numpy()


def conv_case(case, rng):
    n, h, w, c, oc = case["n"], case["h"], case["w"], case["c"], case["oc"]
    kh, kw = case["k"]
    sh, sw = case.get("s", (1, 1))
    dh, dw = case.get("d", (1, 1))
    groups = case.get("groups", 1)
    act = case.get("act", "linear")
    bias = case.get("bias", True)
    pt, pb, pl, pr = pads_of(case, h, w, kh, kw, sh, sw, dh, dw)
    oh, ow = out_size(h, kh, sh, dh, pt, pb), out_size(w, kw, sw, dw, pl, pr)
    cg = c // groups
    x = f32(rng.uniform(-1, 1, (n, h, w, c)))
    wt = f32(rng.uniform(-1, 1, (kh, kw, cg, oc)) / np.sqrt(kh * kw * cg))
    b = f32(rng.uniform(-0.5, 0.5, oc))
    dy = f32(rng.uniform(-1, 1, (n, oh, ow, oc)))
    header = "conv2d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d\n" % (
        n, h, w, c, oh, ow, oc, kh, kw, sh, sw, dh, dw, pt, pl, groups, ACTS[act], int(bias))
    record = header.encode() + x.tobytes() + wt.tobytes() + (b.tobytes() if bias else b"") + dy.tobytes()
    sizes = [("y", (n, oh, ow, oc)), ("dx", (n, h, w, c)), ("dw", (kh, kw, cg, oc))]

    def reference():
        xt = nchw(x)
        wtt = t64(wt.transpose(3, 2, 0, 1)).requires_grad_(True)
        z = F.conv2d(F.pad(xt, (pl, pr, pt, pb)), wtt, t64(b) if bias else None,
                     stride=(sh, sw), dilation=(dh, dw), groups=groups)
        z.backward(t64(dy.transpose(0, 3, 1, 2)))
        y = {"linear": lambda t: t, "relu": torch.relu, "sigmoid": torch.sigmoid,
             "tanh": torch.tanh, "softmax": lambda t: torch.softmax(t, dim=1)}[act](z.detach())
        return {"y": to_nhwc(y), "dx": to_nhwc(xt.grad),
                "dw": wtt.grad.permute(2, 3, 1, 0).contiguous().numpy()}

    return record, sizes, reference


def pool_case(case, rng):
    n, h, w, c = case["n"], case["h"], case["w"], case["c"]
    kh, kw = case["k"]
    sh, sw = case["s"]
    is_max = case["kind"] == "max"
    pt, pb, pl, pr = pads_of(case, h, w, kh, kw, sh, sw)
    oh, ow = out_size(h, kh, sh, 1, pt, pb), out_size(w, kw, sw, 1, pl, pr)
    x = f32(rng.uniform(-1, 1, (n, h, w, c)))
    dy = f32(rng.uniform(-1, 1, (n, oh, ow, c)))
    header = "%s %d %d %d %d %d %d %d %d %d %d %d %d\n" % (
        "maxpool" if is_max else "avgpool", n, h, w, c, oh, ow, kh, kw, sh, sw, pt, pl)
    record = header.encode() + x.tobytes() + dy.tobytes()
    sizes = [("y", (n, oh, ow, c)), ("dx", (n, h, w, c))]

    def reference():
        xt = nchw(x)
        pads = (pl, pr, pt, pb)
        if is_max:
            y = F.max_pool2d(F.pad(xt, pads, value=float("-inf")), (kh, kw), (sh, sw))
        else:  # count only the real cells, whatever the padding
            total = F.avg_pool2d(F.pad(xt, pads), (kh, kw), (sh, sw))
            count = F.avg_pool2d(F.pad(torch.ones_like(xt), pads), (kh, kw), (sh, sw))
            y = total / count
        y.backward(t64(dy.transpose(0, 3, 1, 2)))
        return {"y": to_nhwc(y), "dx": to_nhwc(xt.grad)}

    return record, sizes, reference


def bn_case(case, rng):
    shape = case["shape"]
    c = shape[-1]
    rows = int(np.prod(shape[:-1]))
    train = case["mode"] == "train"
    eps = case["eps"]
    x = f32(rng.normal(case.get("loc", 0.0), 1.5, shape))
    g = f32(rng.uniform(0.5, 1.5, c))
    b = f32(rng.uniform(-0.5, 0.5, c))
    mm = f32(rng.uniform(-1, 1, c))
    mv = f32(rng.uniform(0.5, 2, c))
    dy = f32(rng.uniform(-1, 1, shape))
    if train:
        header = "bn_train %d %d %.9g %.9g\n" % (rows, c, case["momentum"], eps)
        record = header.encode() + b"".join(a.tobytes() for a in (x, g, b, mm, mv, dy))
        sizes = [("y", shape), ("mean", (c,)), ("invstd", (c,)), ("moving_mean", (c,)),
                 ("moving_var", (c,)), ("dx", shape), ("dgamma", (c,)), ("dbeta", (c,))]
    else:
        header = "bn_infer %d %d %.9g\n" % (rows, c, eps)
        record = header.encode() + b"".join(a.tobytes() for a in (x, g, b, mm, mv))
        sizes = [("y", shape)]

    def as_torch(a):  # (..., c) -> (N, C, ...) as torch wants it
        return a.reshape(-1, c) if len(shape) == 2 else a.transpose(0, 3, 1, 2)

    def from_torch(t):
        t = t.detach()
        return t.numpy() if len(shape) == 2 else t.permute(0, 2, 3, 1).contiguous().numpy()

    def reference():
        xt = t64(as_torch(x)).requires_grad_(True)
        gt = t64(g).requires_grad_(True)
        bt = t64(b).requires_grad_(True)
        if not train:
            y = F.batch_norm(xt, t64(mm), t64(mv), gt, bt, training=False, eps=eps)
            return {"y": from_torch(y)}
        y = F.batch_norm(xt, None, None, gt, bt, training=True, eps=eps)
        y.backward(t64(as_torch(dy)))
        # Keras' moving statistics, in float64 (biased variance)
        x64 = x.reshape(rows, c).astype(np.float64)
        mean, var = x64.mean(axis=0), x64.var(axis=0)
        m = case["momentum"]
        return {"y": from_torch(y), "mean": mean, "invstd": 1.0 / np.sqrt(var + eps),
                "moving_mean": m * mm + (1 - m) * mean, "moving_var": m * mv + (1 - m) * var,
                "dx": from_torch(xt.grad), "dgamma": gt.grad.numpy(), "dbeta": bt.grad.numpy()}

    return record, sizes, reference


# ---- driver ------------------------------------------------------------------------

def build(rt, out):
    cmd = ["cc", "-std=c99", "-O2", "-I" + os.path.join(ROOT, "runtime"),
           os.path.join(ROOT, "tests", "torch_ops.c"), rt, "-lm", "-o", out]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(" ".join(cmd) + "\n" + r.stderr)
        return False
    return True


def max_err(got, want):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.size == 0:
        return 0.0
    if not np.all(np.isfinite(got)):
        return float("inf")
    return float(np.max(np.abs(got - want) / np.maximum(1.0, np.abs(want))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rt", default=os.path.join(ROOT, "build", "libnnc_rt.a"))
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "torch_ops"))
    ap.add_argument("--no-build", action="store_true",
                    help="use --bin as it is (e.g. a sanitizer build) instead of building it")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every tensor's error")
    ap.add_argument("names", nargs="*", help="run only cases whose name contains one of these")
    args = ap.parse_args()

    torch.set_num_threads(1)
    if not args.no_build and not build(args.rt, args.bin):
        print("torch ops: 0 passed, 1 failed (could not build tests/torch_ops.c)")
        return 1

    cases = [(c, conv_case) for c in CONV] + [(c, pool_case) for c in POOL] + [(c, bn_case) for c in BN]
    if args.names:
        cases = [(c, f) for c, f in cases if any(s in c["name"] for s in args.names)]
    made = []
    for i, (case, make) in enumerate(cases):
        rng = np.random.default_rng(1000 + i)
        made.append((case["name"],) + make(case, rng))

    run = subprocess.run([args.bin], input=b"".join(m[1] for m in made), capture_output=True)
    if run.returncode != 0:
        sys.stderr.write(run.stderr.decode(errors="replace"))
        print("torch ops: 0 passed, %d failed (tests/torch_ops.c exited %d)" % (len(made), run.returncode))
        return 1
    out = np.frombuffer(run.stdout, dtype=np.float32)
    pos, passed, failed = 0, 0, 0
    for name, _, sizes, reference in made:
        ref = reference()
        errs = []
        for what, shape in sizes:
            size = int(np.prod(shape))
            got = out[pos:pos + size].reshape(shape)
            pos += size
            errs.append((what, max_err(got, ref[what].reshape(shape))))
        worst = max(e for _, e in errs)
        ok = worst <= TOL
        passed += ok
        failed += not ok
        detail = ", ".join("%s %.1e" % e for e in errs)
        if ok and not args.verbose:
            print("PASS %s: max err %.1e" % (name, worst))
        else:
            print("%s %s: max err %.1e (%s)" % ("PASS" if ok else "FAIL", name, worst, detail))
    if pos != out.size:
        print("FAIL protocol: %d floats read, %d written" % (pos, out.size))
        failed += 1
    print("torch ops: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
