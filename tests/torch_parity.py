#!/usr/bin/python3
"""torch_parity.py — N-step loss parity of nnc-generated training code against
an independent PyTorch implementation of the same Keras math.

For each model in MODELS (dense stacks) and CNN_MODELS (convolutions,
pooling, batch norm, a residual add) below: write its .nn text, compile it
with bin/nnc into a temporary directory under build/, build
tests/torch_parity.c against it, run it with every parameter name of the
generated params_ table (initial parameters, one fixed batch, the losses of
STEPS train_batch calls on that batch, predictions after them, every
parameter after them), then rebuild the model in torch from the very same
initial weights and batch, take STEPS optimizer steps with the Keras update
rule, and compare the per-step losses and the outputs before and after the
steps; for batch_norm models also the moving mean/variance after the steps.

The CNN side is written in torch ops (F.conv1d/conv2d, pooling, F.pad) on
channels-first tensors, permuted from/to the channels-last layout nnc and
Keras use; parameters stay in Keras' layout (conv2d kernels (kh, kw,
cin/groups, cout), depthwise (kh, kw, cin, multiplier), conv1d (k, cin,
cout)) and are permuted inside each op.  Keras' 'same' padding (the odd
cell at the bottom/right) is applied with F.pad, 'same' average pooling
divides by the cells inside the input, and batch_norm is written out
(biased batch variance; moving = momentum moving + (1 - momentum) batch, by
hand: torch's BatchNorm uses 1 - momentum and the unbiased variance).

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
within 2e-7 (CNN rows: loss 8e-8 .. 3.4e-7, outputs within 7.2e-7, moving
statistics within 6.2e-7).  We allow a loss relative error of 1e-4 and an
output (and moving-statistics) error of 1e-5 + 1e-4 |ref|: ~100x above that
noise, and below what the formula slips we tried on the reference side
produce: l2 penalty halved 1.9e-1,
mse summed over outputs 6.7e-1, nesterov off 1.1e-1, adamw wd 0.04 for 0.05
9.7e-4, RMSprop's eps as torch places it 3.2e-3.  (Adam's eps as torch
places it gives 3e-5 .. 1.3e-4: at the edge, which is why KerasEps exists.)
CNN slips, loss / output / moving err: 'same' padding split with the odd cell
first 1.2e-1 / 1.7e-1 (strided rows); depthwise output channels m*C + c
8.2e-3 / 5.4e-2; 'same' avg pool dividing by the window 5.1e-1; flatten in
channels-first order >= 5.3e-2; conv1d kernel flipped 1.3e-1; batch_norm
eps 1e-5 2.5e-3; torch's momentum convention moving err 5.2e-1; the unbiased
variance in the moving update moving err 7.4e-5, which is why the moving
statistics are compared by their change over the steps (see compare): the
part inherited from the initial 1 is identical on both sides and, under the
relative tolerance, would hide that slip.

Usage: tests/torch_parity.py [--keep] [--ref torch|keras] [--double] [-v] [name...]
Prints `PASS name: max loss rel err ...` / `FAIL ...` per model and
`torch parity: N passed, M failed`; exit status 1 on any failure.
"""

import argparse
import os
import re
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


# CNN rows: the model body as .nn text (channels-last, Keras semantics), and
# a torch forward written independently from the same description.  The torch
# side keeps every parameter in nnc's (= Keras') layout as a leaf tensor and
# permutes inside the ops, so optimizers see the same tensors element for
# element and the gradients land in Keras' layout.  Each forward takes the
# parameter lookup P (name -> tensor; see run_torch_cnn), the input batch in
# channels-last layout and `train` (batch_norm: batch statistics and the
# moving-average update vs the moving statistics).
CNN_MODELS = [
    # name, input shape, .nn body, torch forward, loss, optimizer, label kind
    ("cnn_adam", (12, 12, 1), """
        conv2d(8, 3, activation = relu)
        max_pool2d(2)
        flatten
        dense(10, softmax)
    """, lambda P, x, train: dense(flatten(pool(
        conv(x, P, "conv2d", 8, 3, act="relu"), 2, "max")), P, "dense", 10, "softmax"),
     SCCE, "adam(lr = 0.01)", "sparse"),
    # 11x10 -> 6x5 (stride 2, 'same': rows padded 1+1, columns 0+1), a dilated
    # grouped 'same' conv, a 'same' avg pool whose last column holds one cell
    ("cnn_strided_grouped", (11, 10, 4), """
        conv2d(6, 3, strides = 2, padding = same, activation = tanh)
        conv2d(4, 3, dilation_rate = 2, padding = same, groups = 2)
        avg_pool2d(2, padding = same)
        flatten
        dense(3, softmax)
    """, lambda P, x, train: dense(flatten(pool(conv(conv(
        x, P, "conv2d", 6, 3, strides=2, padding="same", act="tanh"),
        P, "conv2d_1", 4, 3, dilation=2, padding="same", groups=2), 2, "avg", padding="same")),
        P, "dense", 3, "softmax"),
     SCCE, "sgd(lr = 0.1, momentum = 0.9)", "sparse"),
    ("depthwise_rmsprop", (8, 8, 3), """
        depthwise_conv2d(3, padding = same, depth_multiplier = 2)
        global_avg_pool
        dense(2, softmax)
    """, lambda P, x, train: dense(global_avg_pool(
        conv(x, P, "depthwise_conv2d", 0, 3, padding="same", depth_multiplier=2)),
        P, "dense", 2, "softmax"),
     SCCE, "rmsprop(lr = 0.01)", "sparse"),
    # batch_norm in training mode; the moving statistics are compared too
    ("resnet_bn", (8, 8, 2), """
        s = relu(batch_norm(conv2d(x, 8, 3, padding = same, use_bias = false)))
        b = batch_norm(conv2d(s, 8, 3, padding = same, use_bias = false))
        r = relu(add(s, b))
        y = dense(global_avg_pool(r), 4, softmax)
        output y
    """, lambda P, x, train: resnet_bn(P, x, train),
     SCCE, "adam(lr = 0.01)", "sparse"),
    # 16 steps -> 8 (stride 2, 'same': padded 0+1) -> 4
    ("conv1d_adam", (16, 4), """
        conv1d(6, 3, strides = 2, padding = same, activation = relu)
        max_pool1d(2)
        flatten
        dense(3, softmax)
    """, lambda P, x, train: dense(flatten(pool(
        conv(x, P, "conv1d", 6, 3, strides=2, padding="same", act="relu"), 2, "max")),
        P, "dense", 3, "softmax"),
     SCCE, "adam(lr = 0.01)", "sparse"),
]


def resnet_bn(P, x, train):
    # layer names: auto (conv2d, batch_norm, conv2d_1) or the assigned value (b, y)
    s = torch.relu(batch_norm(conv(x, P, "conv2d", 8, 3, padding="same", use_bias=False),
                              P, "batch_norm", train))
    b = batch_norm(conv(s, P, "conv2d_1", 8, 3, padding="same", use_bias=False), P, "b", train)
    r = torch.relu(s + b)
    return dense(global_avg_pool(r), P, "y", 4, "softmax")


def nn_text_cnn(name, shape, body, loss, opt):
    lines = ["# written by tests/torch_parity.py", "model %s {" % name,
             "    input x: f32[%s]" % ", ".join(str(d) for d in shape)]
    lines += ["    " + l.strip() for l in body.strip().splitlines()]
    lines += ["}", "train %s {" % name, "    loss      %s" % loss,
              "    optimizer %s" % opt, "    batch 8", "    epochs 1", "}", ""]
    return "\n".join(lines)


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

PARAM_ROW = re.compile(r'^\s*\{ "([^"]+)", (\d+), (\d+),', re.M)


def run_c(tmp, name, text, labels, args):
    """compile the model (.nn text) and the driver, run it; returns the parsed dump"""
    d = os.path.join(tmp, name)
    os.makedirs(d)
    model = "tp_" + name
    src = os.path.join(d, model + ".nn")
    with open(src, "w") as f:
        f.write(text)
    cc = os.environ.get("CC", "cc").split()

    def sh(cmd):
        p = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True)
        if p.returncode != 0:
            err = p.stderr.strip()
            raise RuntimeError("%s failed (%d)%s" % (cmd[0], p.returncode, ":\n" + err if err else ""))
        return p.stdout

    csrc = os.path.join(d, model + ".c")
    sh([args.nnc, src, "-o", csrc])
    # the parameter names, from the generated table params_[] ({ "name", offset,
    # size, ... }): the driver dumps each by name through NAME_param(), so
    # every parameter, moving statistics included, is compared or copied
    with open(csrc) as f:
        names = [m.group(1) for m in PARAM_ROW.finditer(f.read())]
    exe = os.path.join(d, "driver")
    sh(cc + ["-std=c99", "-O2", "-Iruntime", "-I" + d, "-DNNC_MODEL=" + model,
             "-DNNC_UPPER=" + model.upper(), '-DNNC_HEADER="%s.h"' % model,
             "tests/torch_parity.c", csrc, args.rt, "-lm", "-o", exe])
    out = sh([exe, labels, str(STEPS)] + names)
    dump = {"params": [], "final": []}
    for line in out.splitlines():
        tok = line.split()
        if tok[0] in ("param", "final"):  # before / after the steps
            key = "params" if tok[0] == "param" else "final"
            dump[key].append((tok[1], [float(v) for v in tok[3:]]))
            assert len(dump[key][-1][1]) == int(tok[2])
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


# ---- the torch side: convolutional models --------------------------------------
# Channels-last tensors between ops, as in nnc and Keras; each op permutes to
# torch's channels-first layout and back.  Keras' 'same' padding: ceil(in /
# stride) outputs, the total padding (out-1)*stride + dilation*(k-1) + 1 - in
# split with the odd cell after (bottom/right), applied with F.pad.  Every
# parameter is looked up as P(name, Keras shape): the flat dump must have
# exactly that many floats, so a kernel stored in another layout or size fails
# here rather than training on a scrambled kernel.

F = torch.nn.functional


def same_pad(x, k, stride, dilation, value=0.0):
    """pad the spatial axes (2..) of a channels-first x the way Keras' 'same' does"""
    pads = []
    for size in reversed(x.shape[2:]):  # F.pad lists the last axis first
        out = -(-size // stride)
        total = max((out - 1) * stride + dilation * (k - 1) + 1 - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads, value=value)


def to_cf(x):
    return x.permute(0, x.dim() - 1, *range(1, x.dim() - 1))


def to_cl(x):
    return x.permute(0, *range(2, x.dim()), 1)


def conv(x, P, layer, filters, k, strides=1, padding="valid", dilation=1, groups=1,
         act="linear", use_bias=True, depth_multiplier=0):
    """conv1d / conv2d / depthwise_conv2d (depth_multiplier > 0) on channels-last
    x, the kernel as Keras stores it: (k, cin, cout), (kh, kw, cin/groups, cout),
    (kh, kw, cin, multiplier)"""
    c = x.shape[-1]
    xc = to_cf(x)
    if x.dim() == 3:  # conv1d: (cout, cin, k)
        fn, wt = F.conv1d, P(layer + ".kernel", (k, c // groups, filters)).permute(2, 1, 0)
    elif depth_multiplier:  # output channel c*mult + j is input channel c's j-th filter
        filters, groups = c * depth_multiplier, c
        w = P(layer + ".kernel", (k, k, c, depth_multiplier))
        fn, wt = F.conv2d, w.reshape(k, k, filters).permute(2, 0, 1).unsqueeze(1)
    else:  # (cout, cin/groups, kh, kw)
        fn, wt = F.conv2d, P(layer + ".kernel", (k, k, c // groups, filters)).permute(3, 2, 0, 1)
    if padding == "same":
        xc = same_pad(xc, k, strides, dilation)
    b = P(layer + ".bias", (filters,)) if use_bias else None
    y = fn(xc, wt, b, stride=strides, dilation=dilation, groups=groups)
    return ACTS[act](to_cl(y))


def pool(x, k, kind, strides=None, padding="valid"):
    """max/avg pooling, 2-D or (on (n, steps, c)) 1-D; 'same' max pooling pads
    with -inf, 'same' avg pooling divides by the cells inside the input (Keras
    / TF, not torch's count_include_pad)"""
    s = strides or k
    xc = to_cf(x)
    one_d = x.dim() == 3
    if kind == "max":
        fn = F.max_pool1d if one_d else F.max_pool2d
    else:
        fn = F.avg_pool1d if one_d else F.avg_pool2d
    if padding == "same":
        if kind == "max":
            xc = same_pad(xc, k, s, 1, value=float("-inf"))
        else:
            ones = same_pad(torch.ones_like(xc[:1, :1]), k, s, 1)
            return to_cl(fn(same_pad(xc, k, s, 1), k, s) / fn(ones, k, s))
    return to_cl(fn(xc, k, s))


def flatten(x):
    return x.reshape(x.shape[0], -1)  # channels-last order, as Keras flattens


def global_avg_pool(x):
    return x.mean(dim=tuple(range(1, x.dim() - 1)))


def dense(x, P, layer, units, act):
    return ACTS[act](x @ P(layer + ".kernel", (x.shape[-1], units)) + P(layer + ".bias", (units,)))


def batch_norm(x, P, layer, train, momentum=0.99, eps=1e-3):
    """Keras BatchNormalization over the last axis.  Training: the batch mean
    and *biased* variance normalise, and the moving statistics become
    momentum * moving + (1 - momentum) * batch -- by hand, because torch's
    BatchNorm takes 1 - momentum and updates running_var with the unbiased
    variance.  Inference: the moving statistics."""
    c = (x.shape[-1],)
    gamma, beta = P(layer + ".gamma", c), P(layer + ".beta", c)
    mm, mv = P(layer + ".moving_mean", c), P(layer + ".moving_variance", c)
    if not train:
        return (x - mm) / torch.sqrt(mv + eps) * gamma + beta
    axes = tuple(range(x.dim() - 1))
    mean = x.mean(dim=axes)
    var = ((x - mean) ** 2).mean(dim=axes)
    with torch.no_grad():
        mm.copy_(mm * momentum + mean * (1 - momentum))
        mv.copy_(mv * momentum + var * (1 - momentum))
    return (x - mean) / torch.sqrt(var + eps) * gamma + beta


MOVING = (".moving_mean", ".moving_variance")


def run_torch_cnn(dump, shape, forward, loss, opt, labels, ref, dtype):
    """returns the losses, outputs before/after and the final parameters
    (name -> flat list, moving statistics included)"""
    n_in, m, n, steps = dump["dims"]
    size = 1
    for d in shape:
        size *= d
    assert n_in == size, (n_in, shape)
    flat = dict(dump["params"])
    leaves = {}

    def P(name, keras_shape):
        if name not in leaves:
            if name not in flat:
                raise KeyError("nnc has no parameter %s" % name)
            t = torch.tensor(flat[name], dtype=dtype)
            numel = 1
            for d in keras_shape:
                numel *= d
            if t.numel() != numel:
                raise ValueError("%s: nnc has %d floats, Keras' shape %s needs %d"
                                 % (name, t.numel(), keras_shape, numel))
            leaves[name] = t.view(keras_shape).clone().requires_grad_(not name.endswith(MOVING))
        return leaves[name]

    x = torch.tensor(dump["x"], dtype=dtype).view(n, *shape)
    y = torch.tensor(dump["y"], dtype=dtype)
    if labels != "sparse":
        y = y.view(n, m)
    with torch.no_grad():
        out0 = forward(P, x, False).flatten().tolist()
    if set(leaves) != set(flat):
        raise ValueError("parameters nnc has but torch did not use: %s; used but missing: %s"
                         % (sorted(set(flat) - set(leaves)), sorted(set(leaves) - set(flat))))
    plist = [leaves[name] for name, _ in dump["params"] if not name.endswith(MOVING)]
    optim, how = make_optimizer(plist, opt, ref)
    losses = []
    for _ in range(steps):
        optim.zero_grad()
        l = keras_loss(loss, forward(P, x, True), y)
        l.backward()
        losses.append(l.item())
        optim.step()
    with torch.no_grad():
        out = forward(P, x, False).flatten().tolist()
    final = {name: t.detach().flatten().tolist() for name, t in leaves.items()}
    return losses, out0, out, how, final


# ---- compare -------------------------------------------------------------------

def close(pairs):
    """(max |a - b| - OUT_RTOL |b|, max |a - b|) over (nnc, torch) pairs"""
    return (max(abs(a - b) - OUT_RTOL * abs(b) for a, b in pairs),
            max(abs(a - b) for a, b in pairs))


def compare(dump, losses, out0, out, final=None):
    """outputs before (the forward pass alone) and after the steps, the
    losses, and (given torch's final parameters) the moving statistics after
    the steps, with the output tolerance; returns ok, loss rel err, output
    err, moving-statistics err (None without any)"""
    loss_err = max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(dump["loss"], losses))
    out_bad, out_err = close(list(zip(dump["out0"], out0)) + list(zip(dump["out"], out)))
    ok = (loss_err <= LOSS_RTOL and out_bad <= OUT_ATOL and len(dump["loss"]) == len(losses)
          and len(dump["out"]) == len(out) and len(dump["out0"]) == len(out0))
    moving_err = None
    if final is not None:
        # the moving statistics: their change over the steps, since the part
        # inherited from the initial value (momentum^STEPS * 1 for the
        # variance) is the same bits on both sides and would hide a slip in
        # the accumulated batch part behind the relative tolerance
        init, pairs = dict(dump["params"]), []
        for name, v in dump["final"]:
            if name.endswith(MOVING):
                ok = ok and len(v) == len(final[name])
                pairs += [(a - i, b - i) for a, b, i in zip(v, final[name], init[name])]
        if pairs:
            moving_bad, moving_err = close(pairs)
            ok = ok and moving_bad <= OUT_ATOL
    return ok, loss_err, out_err, moving_err


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
    table = [("mlp", t) for t in MODELS] + [("cnn", t) for t in CNN_MODELS]
    rows = [(kind, t) for kind, t in table if not args.names or t[0] in args.names]
    unknown = set(args.names) - {t[0] for _, t in table}
    if unknown:
        print("torch_parity: unknown model(s): %s" % ", ".join(sorted(unknown)), file=sys.stderr)
        return 2

    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="torch_parity.", dir=os.path.join(ROOT, "build"))
    passed = failed = 0
    try:
        def job(row):
            kind, t = row
            try:
                if kind == "mlp":  # name, input size, layers, loss, optimizer, labels
                    text = nn_text("tp_" + t[0], *t[1:5])
                else:  # name, shape, body, forward, loss, optimizer, labels
                    text = nn_text_cnn("tp_" + t[0], t[1], t[2], t[4], t[5])
                return run_c(tmp, t[0], text, t[-1], args=args)
            except Exception as e:  # reported per model below
                return e
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
            dumps = list(ex.map(job, rows))
        for (kind, t), dump in zip(rows, dumps):
            name, opt = t[0], t[-2]
            if isinstance(dump, Exception):
                failed += 1
                print("FAIL %s: %s" % (name, dump))
                continue
            final = None
            try:
                if kind == "mlp":
                    losses, out0, out, how = run_torch(dump, *t[1:], ref=args.ref, dtype=dtype)
                else:
                    losses, out0, out, how, final = run_torch_cnn(
                        dump, t[1], t[3], t[4], t[5], t[6], args.ref, dtype)
            except (KeyError, ValueError, RuntimeError) as e:  # a parameter nnc lacks, a shape
                failed += 1
                print("FAIL %s: torch side: %s" % (name, e))
                continue
            ok, loss_err, out_err, moving_err = compare(dump, losses, out0, out, final)
            passed += ok
            failed += not ok
            print("%s %s: max loss rel err %.1e, max output err %.1e%s  [%s, %s]"
                  % ("PASS" if ok else "FAIL", name, loss_err, out_err,
                     "" if moving_err is None else ", moving stats err %.1e" % moving_err, opt, how))
            if args.verbose or not ok:
                for i, (a, b) in enumerate(zip(dump["loss"], losses)):
                    print("    step %2d  nnc %.9g  torch %.9g  rel %.1e"
                          % (i + 1, a, b, abs(a - b) / max(abs(b), 1e-12)))
                if final is not None:  # every parameter after the steps, for the diagnosis
                    for pname, v in dump["final"]:
                        err = max(abs(a - b) for a, b in zip(v, final[pname]))
                        print("    final %-28s max abs err %.1e (max |torch| %.2g)"
                              % (pname, err, max(abs(b) for b in final[pname])))
    finally:
        if args.keep:
            print("kept %s" % os.path.relpath(tmp, ROOT))
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("torch parity: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
