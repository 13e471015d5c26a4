#!/usr/bin/python3
"""torch_parity.py — N-step loss parity of nnc-generated training code against
an independent PyTorch implementation of the same Keras math.

For each model in MODELS below: write its .nn text, compile it with bin/nnc
into a temporary directory under build/, build tests/torch_parity.c against
it, run it (initial weights, one fixed batch, the losses of STEPS train_batch
calls on that batch, predictions after them), then rebuild the model in torch
from the very same initial weights and batch, take STEPS optimizer steps with
the Keras update rule, and compare the per-step losses and final outputs.

The reference side follows Keras 3, not torch defaults:

* losses: Keras computes cross-entropy on the *probabilities* the softmax /
  sigmoid layer outputs: q = p / sum(p), clipped to [1e-7, 1 - 1e-7], and
  -sum t log q averaged over the batch; BCE clips p the same way and
  averages over batch and outputs; MSE averages over batch and outputs.
  We compute exactly that (not torch's from-logits CE; the two agree to
  float rounding for moderate logits, which is what the clipped form is
  meant to be, but the clipped form is literally what nnc claims to match).
* regularizers: Keras adds l2 * sum(w^2) per regularized kernel to the loss
  that train_step reports and differentiates.
* optimizers: where a torch.optim class implements the same update we use
  it (the point is an implementation nnc's authors did not write): SGD
  (momentum, nesterov; dampening 0 makes it Keras' rule exactly), Adam and
  AdamW (with a per-step eps that moves torch's eps to where Keras adds it,
  see KerasEps).  RMSprop's eps placement differs from torch's in a way no
  setting fixes (sqrt(v + eps) vs sqrt(v) + eps), so that Keras rule is
  written out by hand with torch ops.  --ref keras runs the hand-written
  Keras rules for every optimizer; both references agree with nnc to ~1e-7.

Tolerances.  Both sides are float32; nnc sums its losses in double and its
GEMM blocks/FMAs differ from torch's, so each op differs by a few ulps
(~1e-7 relative), and ten steps of training amplify that by about an order
of magnitude at most.  Observed: loss rel err 1e-7 .. 1.5e-6, outputs
within 2e-7.  We allow a loss relative error of 1e-4 and an output error of
1e-5 + 1e-4 |ref|: ~100x above that noise, and below what the formula
slips we tried on the reference side produce: l2 penalty halved 1.9e-1,
mse summed over outputs 6.7e-1, nesterov off 1.1e-1, adamw wd 0.04 for 0.05
9.7e-4, RMSprop's eps as torch places it 3.2e-3.  (Adam's eps as torch
places it gives 3e-5 .. 1.3e-4: at the edge, which is why KerasEps exists.)

Usage: tests/torch_parity.py [--keep] [--ref torch|keras] [--double] [-v] [name...]
Prints `PASS name: max loss rel err ...` / `FAIL ...` per model and
`torch parity: N passed, M failed`; exit status 1 on any failure.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

try:
    import torch
except ImportError:  # the shell wrapper checks first; this is for direct runs
    print("torch parity: skipped (python3-torch not installed)")
    sys.exit(0)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS = 10
LOSS_RTOL = 1e-4
OUT_ATOL, OUT_RTOL = 1e-5, 1e-4

# ---- the model table ---------------------------------------------------------
# layers: (units, activation, l2 factor of the kernel regularizer or 0)
HIDDEN = [(16, "relu", 0.0), (8, "tanh", 0.0)]
SOFTMAX4 = HIDDEN + [(4, "softmax", 0.0)]
SCCE = "sparse_categorical_crossentropy"

MODELS = [
    # name, input size, layers, loss, optimizer (.nn text), label kind
    ("adam", 12, SOFTMAX4, SCCE, "adam(lr = 0.01)", "sparse"),
    ("sgd", 12, SOFTMAX4, SCCE, "sgd(lr = 0.1)", "sparse"),
    ("sgd_momentum", 12, SOFTMAX4, SCCE, "sgd(lr = 0.1, momentum = 0.9)", "sparse"),
    ("sgd_nesterov", 12, SOFTMAX4, SCCE, "sgd(lr = 0.1, momentum = 0.9, nesterov = true)", "sparse"),
    ("rmsprop", 12, SOFTMAX4, SCCE, "rmsprop(lr = 0.01)", "sparse"),
    ("rmsprop_momentum", 12, SOFTMAX4, SCCE, "rmsprop(lr = 0.01, momentum = 0.9)", "sparse"),
    ("adamw", 12, SOFTMAX4, SCCE, "adamw(lr = 0.01, weight_decay = 0.05)", "sparse"),
    ("mse_adam", 12, HIDDEN + [(3, "linear", 0.0)], "mse", "adam(lr = 0.01)", "real"),
    ("bce_adam", 12, HIDDEN + [(1, "sigmoid", 0.0)], "binary_crossentropy", "adam(lr = 0.01)", "binary"),
    ("cce_onehot", 12, SOFTMAX4, "categorical_crossentropy", "adam(lr = 0.01)", "onehot"),
    ("l2_reg", 12, [(16, "relu", 0.01), (8, "tanh", 0.01), (4, "softmax", 0.001)], SCCE,
     "sgd(lr = 0.1, momentum = 0.9)", "sparse"),
]


def nn_text(name, n_in, layers, loss, opt):
    lines = ["# written by tests/torch_parity.py", "model %s {" % name,
             "    input x: f32[%d]" % n_in]
    for units, act, l2 in layers:
        reg = ", kernel_regularizer = l2(%g)" % l2 if l2 else ""
        lines.append("    dense(%d, %s%s)" % (units, act, reg))
    lines += ["}", "train %s {" % name, "    loss      %s" % loss,
              "    optimizer %s" % opt, "    batch 8", "    epochs 1", "}", ""]
    return "\n".join(lines)


def parse_opt(text):
    """'sgd(lr = 0.1, nesterov = true)' -> ('sgd', {'lr': 0.1, 'nesterov': True})"""
    kind, _, rest = text.partition("(")
    args = {}
    for item in rest.rstrip(")").split(","):
        if item.strip():
            k, v = (s.strip() for s in item.split("="))
            args[k] = {"true": True, "false": False}.get(v, None)
            if args[k] is None:
                args[k] = float(v)
    return kind.strip(), args


# ---- the C side ----------------------------------------------------------------

def run_c(tmp, name, n_in, layers, loss, opt, labels, args):
    """compile the model and the driver, run it; returns the parsed dump"""
    d = os.path.join(tmp, name)
    os.makedirs(d)
    model = "tp_" + name
    src = os.path.join(d, model + ".nn")
    with open(src, "w") as f:
        f.write(nn_text(model, n_in, layers, loss, opt))
    cc = os.environ.get("CC", "cc").split()

    def sh(cmd):
        p = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True)
        if p.returncode != 0:
            err = p.stderr.strip()
            raise RuntimeError("%s failed (%d)%s" % (cmd[0], p.returncode, ":\n" + err if err else ""))
        return p.stdout

    sh([args.nnc, src, "-o", os.path.join(d, model + ".c")])
    exe = os.path.join(d, "driver")
    sh(cc + ["-std=c99", "-O2", "-Iruntime", "-I" + d, "-DNNC_MODEL=" + model,
             "-DNNC_UPPER=" + model.upper(), '-DNNC_HEADER="%s.h"' % model,
             "tests/torch_parity.c", os.path.join(d, model + ".c"), args.rt, "-lm", "-o", exe])
    out = sh([exe, labels, str(STEPS)])
    dump = {"params": []}
    for line in out.splitlines():
        tok = line.split()
        if tok[0] == "param":
            dump["params"].append((tok[1], [float(v) for v in tok[3:]]))
            assert len(dump["params"][-1][1]) == int(tok[2])
        elif tok[0] == "dims":
            dump["dims"] = [int(v) for v in tok[1:]]
        else:
            dump[tok[0]] = [float(v) for v in tok[1:]]
    return dump


# ---- the torch side ------------------------------------------------------------

ACTS = {
    "relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
    "softmax": lambda z: torch.softmax(z, dim=-1), "linear": lambda z: z,
}
EPS = 1e-7  # Keras' backend epsilon, used for the loss clip


def keras_loss(kind, p, y):
    if kind == "mse":
        return ((p - y) ** 2).mean()
    if kind == "binary_crossentropy":
        c = p.clamp(EPS, 1 - EPS)
        return -(y * torch.log(c) + (1 - y) * torch.log(1 - c)).mean()
    q = (p / p.sum(dim=-1, keepdim=True)).clamp(EPS, 1 - EPS)
    if kind == SCCE:
        return -torch.log(q.gather(1, y.long().view(-1, 1))).mean()
    if kind == "categorical_crossentropy":
        return -(y * torch.log(q)).sum(dim=-1).mean()
    raise ValueError(kind)


class KerasByHand:
    """Keras 3's update rules written out (keras/src/optimizers/*.py),
    applied to a list of torch tensors under no_grad."""

    def __init__(self, params, kind, a):
        self.p, self.kind, self.t = params, kind, 0
        self.lr = a.get("lr", 0.01 if kind == "sgd" else 0.001)
        self.mom = a.get("momentum", 0.0)
        self.nesterov = a.get("nesterov", False)
        self.rho = a.get("rho", 0.9)
        self.b1, self.b2 = a.get("beta_1", 0.9), a.get("beta_2", 0.999)
        self.eps = a.get("epsilon", 1e-7)
        self.wd = a.get("weight_decay", 0.004 if kind == "adamw" else 0.0)
        self.s1 = [torch.zeros_like(w) for w in params]
        self.s2 = [torch.zeros_like(w) for w in params]

    def zero_grad(self):
        for w in self.p:
            w.grad = None

    @torch.no_grad()
    def step(self):
        self.t += 1
        for w, s1, s2 in zip(self.p, self.s1, self.s2):
            g = w.grad
            if self.kind == "sgd":
                if self.mom == 0:
                    w.sub_(self.lr * g)
                else:  # v = m v - lr g ; w += v  (nesterov: w += m v - lr g)
                    s1.copy_(self.mom * s1 - self.lr * g)
                    w.add_(self.mom * s1 - self.lr * g if self.nesterov else s1)
            elif self.kind == "rmsprop":
                # v = rho v + (1 - rho) g^2 ; inc = lr g / sqrt(v + eps)
                # (torch.optim.RMSprop: lr g / (sqrt(v) + eps), hence by hand)
                s1.copy_(self.rho * s1 + (1 - self.rho) * g * g)
                inc = self.lr * g / torch.sqrt(s1 + self.eps)
                if self.mom > 0:  # Keras: mom = momentum mom + inc ; w -= mom
                    s2.copy_(self.mom * s2 + inc)
                    w.sub_(s2)
                else:
                    w.sub_(inc)
            else:  # adam / adamw
                if self.kind == "adamw":  # decoupled, before the step
                    w.sub_(w * self.wd * self.lr)
                alpha = self.lr * (1 - self.b2 ** self.t) ** 0.5 / (1 - self.b1 ** self.t)
                s1.add_((g - s1) * (1 - self.b1))
                s2.add_((g * g - s2) * (1 - self.b2))
                w.sub_(s1 * alpha / (torch.sqrt(s2) + self.eps))


class KerasEps:
    """torch.optim.Adam(W) with eps_t = eps / sqrt(1 - b2^t) at step t, which
    turns torch's lr/(1-b1^t) m / (sqrt(v/(1-b2^t)) + eps_t) into Keras'
    lr sqrt(1-b2^t)/(1-b1^t) m / (sqrt(v) + eps) exactly."""

    def __init__(self, opt, eps, b2):
        self.opt, self.eps, self.b2, self.t = opt, eps, b2, 0

    def zero_grad(self):
        self.opt.zero_grad()

    def step(self):
        self.t += 1
        for group in self.opt.param_groups:
            group["eps"] = self.eps / (1 - self.b2 ** self.t) ** 0.5
        self.opt.step()


def make_optimizer(params, text, ref):
    kind, a = parse_opt(text)
    if ref == "keras" or kind == "rmsprop":
        return KerasByHand(params, kind, a), "keras rule by hand"
    lr = a["lr"]
    if kind == "sgd":
        # torch: b = m b + g ; w -= lr b   (nesterov: w -= lr (g + m b)).
        # With v = -lr b this is Keras' v = m v - lr g ; w += v (and
        # w += m v - lr g), exactly, for a constant lr and dampening 0.
        return torch.optim.SGD(params, lr=lr, momentum=a.get("momentum", 0.0),
                               dampening=0, nesterov=a.get("nesterov", False)), "torch.optim.SGD"
    if kind in ("adam", "adamw"):
        # Keras: w -= lr sqrt(1-b2^t)/(1-b1^t) m / (sqrt(v) + eps); torch adds
        # eps to the bias-corrected sqrt(v / (1-b2^t)), i.e. Keras' eps is
        # torch's eps / sqrt(1-b2^t) (x32 at t=1).  That is NOT negligible
        # here: Adam's m / (sqrt(v) + eps) is sign-like, so a weight whose
        # |g| is ~1e-6 (a nearly dead relu unit) takes a full step with one
        # placement and a fraction of it with the other; measured with a
        # fixed eps = 1e-7 in torch: loss rel err 3e-5 .. 1.3e-4 over 10 steps
        # (vs 1e-7 with the Keras placement).  So we feed torch the
        # per-step eps that makes its formula Keras' exactly (KerasEps).
        # torch.optim.AdamW decays w *= 1 - lr wd before the Adam step, as
        # Keras' AdamW does (every variable, biases included).
        cls = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
        kw = {"weight_decay": a.get("weight_decay", 0.004)} if kind == "adamw" else {}
        b2 = a.get("beta_2", 0.999)
        opt = cls(params, lr=lr, betas=(a.get("beta_1", 0.9), b2), eps=a.get("epsilon", 1e-7), **kw)
        return KerasEps(opt, a.get("epsilon", 1e-7), b2), "torch.optim.%s, Keras eps" % cls.__name__
    raise ValueError(kind)


def run_torch(dump, n_in, layers, loss, opt, labels, ref, dtype):
    n_in_c, m, n, steps = dump["dims"]
    assert n_in_c == n_in and m == layers[-1][0]
    params = dict(dump["params"])
    linears, regs, prev = [], [], n_in
    for i, (units, act, l2) in enumerate(layers):
        key = "dense" if i == 0 else "dense_%d" % i
        lin = torch.nn.Linear(prev, units).to(dtype)
        with torch.no_grad():  # nnc kernels are [in][out]; torch weights [out][in]
            lin.weight.copy_(torch.tensor(params[key + ".kernel"]).view(prev, units).t())
            lin.bias.copy_(torch.tensor(params[key + ".bias"]))
        linears.append((lin, ACTS[act]))
        regs.append(l2)
        prev = units
    x = torch.tensor(dump["x"], dtype=dtype).view(n, n_in)
    y = torch.tensor(dump["y"], dtype=dtype)
    if labels != "sparse":
        y = y.view(n, m)

    def forward(x):
        for lin, act in linears:
            x = act(lin(x))
        return x

    plist = [t for lin, _ in linears for t in (lin.weight, lin.bias)]
    optim, how = make_optimizer(plist, opt, ref)
    with torch.no_grad():
        out0 = forward(x).flatten().tolist()
    losses = []
    for _ in range(steps):
        optim.zero_grad()
        l = keras_loss(loss, forward(x), y)
        for (lin, _), l2 in zip(linears, regs):
            if l2:
                l = l + l2 * (lin.weight ** 2).sum()
        l.backward()
        losses.append(l.item())
        optim.step()
    with torch.no_grad():
        out = forward(x).flatten().tolist()
    return losses, out0, out, how


# ---- compare -------------------------------------------------------------------

def compare(dump, losses, out0, out):
    """outputs before (the forward pass alone) and after the steps, and the losses"""
    loss_err = max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(dump["loss"], losses))
    pairs = list(zip(dump["out0"], out0)) + list(zip(dump["out"], out))
    out_bad = max(abs(a - b) - OUT_RTOL * abs(b) for a, b in pairs)
    out_err = max(abs(a - b) for a, b in pairs)
    ok = (loss_err <= LOSS_RTOL and out_bad <= OUT_ATOL and len(dump["loss"]) == len(losses)
          and len(dump["out"]) == len(out) and len(dump["out0"]) == len(out0))
    return ok, loss_err, out_err


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("names", nargs="*", help="models to run (default: all)")
    ap.add_argument("--nnc", default="bin/nnc")
    ap.add_argument("--rt", default="build/libnnc_rt.a")
    ap.add_argument("--ref", choices=("torch", "keras"), default="torch",
                    help="torch: torch.optim where it matches Keras (default); "
                         "keras: the Keras rules by hand for every optimizer")
    ap.add_argument("--double", action="store_true", help="run the torch side in float64")
    ap.add_argument("--keep", action="store_true", help="keep the build directory")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every step")
    args = ap.parse_args()
    torch.set_num_threads(1)
    dtype = torch.float64 if args.double else torch.float32
    models = [t for t in MODELS if not args.names or t[0] in args.names]
    unknown = set(args.names) - {t[0] for t in MODELS}
    if unknown:
        print("torch_parity: unknown model(s): %s" % ", ".join(sorted(unknown)), file=sys.stderr)
        return 2

    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="torch_parity.", dir=os.path.join(ROOT, "build"))
    passed = failed = 0
    try:
        def job(t):
            try:
                return run_c(tmp, t[0], *t[1:], args=args)
            except Exception as e:  # reported per model below
                return e
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            dumps = list(pool.map(job, models))
        for (name, n_in, layers, loss, opt, labels), dump in zip(models, dumps):
            if isinstance(dump, Exception):
                failed += 1
                print("FAIL %s: %s" % (name, dump))
                continue
            losses, out0, out, how = run_torch(dump, n_in, layers, loss, opt, labels, args.ref, dtype)
            ok, loss_err, out_err = compare(dump, losses, out0, out)
            passed += ok
            failed += not ok
            print("%s %s: max loss rel err %.1e, max output err %.1e  [%s, %s]"
                  % ("PASS" if ok else "FAIL", name, loss_err, out_err, opt, how))
            if args.verbose or not ok:
                for i, (a, b) in enumerate(zip(dump["loss"], losses)):
                    print("    step %2d  nnc %.9g  torch %.9g  rel %.1e"
                          % (i + 1, a, b, abs(a - b) / max(abs(b), 1e-12)))
    finally:
        if args.keep:
            print("kept %s" % os.path.relpath(tmp, ROOT))
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("torch parity: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
