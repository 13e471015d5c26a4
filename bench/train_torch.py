#!/usr/bin/python3
"""train_torch.py — a seed model of examples/ trained in PyTorch for
bench/train.sh's side-by-side timing.

Same models and recipe as examples/fashion_mlp/fashion_mlp.nn (784 ->
dense(256, relu) -> dense(128, relu) -> dense(10, softmax)) and
examples/fashion_cnn_small (conv2d(32, 3x3, relu) -> flatten -> dense(10,
softmax); torch's NCHW against nnc's NHWC only permutes the dense layer's
rows, the same model): sparse categorical cross-entropy, Adam(lr 1e-3, betas
0.9/0.999, eps 1e-7), batch 32, a fresh shuffle every epoch, glorot_uniform
kernels (xavier_uniform_: torch computes a conv's fans as channels x kernel
area, as Keras does, and the limit sqrt(6 / (in + out)) is symmetric in
fan-in and fan-out, so it is the same distribution) and zero biases.  float32,
--threads intra-op threads (default 1; torch.set_num_threads, and OpenBLAS's
own count through OPENBLAS_NUM_THREADS, which bench/train.sh sets to the same
number; nnc runs its OpenMP build with as many).

This is the ordinary way to write it in PyTorch, not a bit-exact twin of nnc
(tests/torch_parity.py is that): the softmax is folded into
nn.CrossEntropyLoss on the logits, and torch.optim.Adam adds eps to the
bias-corrected sqrt(v_hat) where Keras adds it to sqrt(v) — a ~1e-7
difference in the update that does not matter here.  Batches are sliced from
one preloaded tensor (no DataLoader, whose per-batch Python overhead would
only make torch look slower).

Timed per epoch with time.perf_counter(): the shuffle, forward, backward,
optimizer step and the running loss/accuracy (nnc's train_epoch computes
those too).  Data loading and the test evaluation are not timed.

Usage: train_torch.py [--model fashion_mlp|fashion_cnn_small] [--seed S] [--epochs N] [--threads T] [--data DIR]
DIR defaults to $NNC_FASHION_DIR or /usr/share/datasets/fashion-mnist.
stdout: `Epoch i/N - loss: L - accuracy: A - 3.123456s - cpu 3.120000s` per
epoch (wall-clock, then this process's CPU time: less than the wall time
means something else had the core), then
`test accuracy: 87.7%`; a `# ...` line first says which torch/BLAS ran.
"""

import argparse
import gzip
import os
import sys
import time

import numpy as np

try:
    import torch
    from torch import nn
except ImportError:
    sys.exit("train_torch.py: PyTorch is not installed for %s "
             "(Debian: apt-get install python3-torch; run it with /usr/bin/python3)"
             % sys.executable)


def read_idx(path, ndims):
    """An IDX file of unsigned bytes (magic 00 00 08 ndims, big-endian
    32-bit dimensions, then the data) as a numpy uint8 array."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 + 4 * ndims or raw[:4] != bytes([0, 0, 8, ndims]):
        sys.exit("%s: not an IDX%d unsigned-byte file" % (path, ndims))
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndims, offset=4))
    body = 4 + 4 * ndims
    count = int(np.prod(dims))
    if len(raw) - body != count:
        sys.exit("%s: %d data bytes, expected %d" % (path, len(raw) - body, count))
    return np.frombuffer(raw, dtype=np.uint8, offset=body).reshape(dims)


def load(data_dir, split):
    x = read_idx(os.path.join(data_dir, split + "-images-idx3-ubyte.gz"), 3)
    y = read_idx(os.path.join(data_dir, split + "-labels-idx1-ubyte.gz"), 1)
    if len(x) != len(y):
        sys.exit("%s: %d images but %d labels" % (split, len(x), len(y)))
    x = torch.from_numpy(x.astype(np.float32) / np.float32(255.0))
    y = torch.from_numpy(y.astype(np.int64))
    return x, y


def make_model(name):
    if name == "fashion_mlp":
        model = nn.Sequential(
            nn.Flatten(),
            nn.Linear(784, 256), nn.ReLU(),
            nn.Linear(256, 128), nn.ReLU(),
            nn.Linear(128, 10),  # softmax: inside CrossEntropyLoss / argmax
        )
    else:
        model = nn.Sequential(
            nn.Unflatten(1, (1, 28)),  # (n, 28, 28) -> (n, 1, 28, 28)
            nn.Conv2d(1, 32, 3), nn.ReLU(),
            nn.Flatten(),
            nn.Linear(26 * 26 * 32, 10),
        )
    for m in model:
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(m.weight)  # = Keras glorot_uniform
            nn.init.zeros_(m.bias)
    return model


def blas_library():
    """The BLAS shared object this process actually mapped (torch's Debian
    build links the generic libblas.so.3, i.e. whatever the alternatives
    system points at), resolved to its real file."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "/" in line}
    except OSError:
        return "unknown"
    hits = sorted(os.path.realpath(p) for p in paths
                  if any(k in os.path.basename(p).lower() for k in ("blas", "mkl_rt", "mkl_core")))
    return ", ".join(dict.fromkeys(hits)) or "none mapped"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="fashion_mlp", choices=("fashion_mlp", "fashion_cnn_small"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", default=os.environ.get("NNC_FASHION_DIR",
                                                     "/usr/share/datasets/fashion-mnist"))
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.set_default_dtype(torch.float32)
    torch.manual_seed(args.seed)

    x_train, y_train = load(args.data, "train")
    x_test, y_test = load(args.data, "t10k")
    n = len(x_train)

    model = make_model(args.model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    shuffle_gen = torch.Generator().manual_seed(args.seed)

    # one throwaway matmul so /proc/self/maps shows the BLAS torch uses
    torch.mm(torch.ones(2, 2), torch.ones(2, 2))
    blas = blas_library()
    print("# torch %s, %d thread(s), BLAS %s" % (torch.__version__, torch.get_num_threads(), blas), flush=True)
    if "/blas/libblas" in blas:     # Debian's reference BLAS (libblas3): no user trains on it
        sys.exit("train_torch.py: PyTorch runs on the reference BLAS (%s); a ratio against it is not a result: "
                 "apt-get install libopenblas0-pthread (make bench does)" % blas)

    for epoch in range(1, args.epochs + 1):
        model.train()
        t0, c0 = time.perf_counter(), time.process_time()
        order = torch.randperm(n, generator=shuffle_gen)
        loss_sum = torch.zeros((), dtype=torch.float64)
        correct = torch.zeros((), dtype=torch.int64)
        for start in range(0, n, args.batch):
            idx = order[start:start + args.batch]
            xb, yb = x_train[idx], y_train[idx]
            logits = model(xb)
            loss = loss_fn(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                loss_sum += loss.detach().double() * len(idx)
                correct += (logits.argmax(1) == yb).sum()
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        print("Epoch %d/%d - loss: %.4f - accuracy: %.4f - %.6fs - cpu %.6fs"
              % (epoch, args.epochs, loss_sum.item() / n, correct.item() / n, seconds, cpu), flush=True)

    model.eval()
    with torch.no_grad():
        correct = sum(int((model(x_test[i:i + 1000]).argmax(1) == y_test[i:i + 1000]).sum())
                      for i in range(0, len(x_test), 1000))
    print("test accuracy: %.1f%%" % (100.0 * correct / len(x_test)), flush=True)


if __name__ == "__main__":
    main()
