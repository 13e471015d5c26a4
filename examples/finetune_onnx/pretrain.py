#!/usr/bin/python3
"""pretrain.py — the PyTorch half of the fine-tuning example (torch is used
here only; the device side is nnc's generated C in main.c).

1. Trains a small CNN on Fashion-MNIST classes 0-4 (T-shirt, trouser,
   pullover, dress, coat; one epoch over their 30000 images) and reports
   its accuracy on their test images.
2. Gives it a new, freshly initialised head for classes 5-9 (sandal, shirt,
   sneaker, bag, ankle boot) and exports it to OUT/pretrained.onnx with a
   dynamic batch axis, the way a user ships a model to the device.
3. Fine-tunes that very model (the weights in the ONNX file) in PyTorch on
   classes 5-9 the way main.c does with nnc (Adam, lr 1e-3, batch 32, the
   training images in file order, EPOCHS epochs; cross-entropy on the
   logits) and writes its test accuracy to OUT/torch_finetune.txt, for
   main.c to print beside its own.

Usage: pretrain.py OUT [--limit N] [--epochs N] (defaults: the first 12000
images of classes 5-9, one epoch; main.c's defaults are the same)
"""

import argparse
import gzip
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn

DATA = os.environ.get("NNC_FASHION_DIR", "/usr/share/datasets/fashion-mnist")


def idx(name):
    with gzip.open(os.path.join(DATA, name)) as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    if magic == 2051:
        rows, cols = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, 1, rows, cols).astype(np.float32) / 255
    return np.frombuffer(data, np.uint8, offset=8).astype(np.int64)


def split(name, classes, limit=0):
    """the images of these classes, labels renumbered from 0, in file order"""
    x, y = idx(name + "-images-idx3-ubyte.gz"), idx(name + "-labels-idx1-ubyte.gz")
    keep = np.isin(y, classes)
    x, y = torch.from_numpy(x[keep]), torch.from_numpy(y[keep] - classes[0])
    return (x[:limit], y[:limit]) if limit else (x, y)


class Net(nn.Module):
    def __init__(self, classes=5):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU())
        self.head = nn.Linear(64, classes)

    def forward(self, x):
        return self.head(self.features(x))


def train(model, x, y, epochs, shuffle, seed):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=g) if shuffle else torch.arange(len(x))
        for i in range(0, len(x), 32):
            b = order[i:i + 32]
            opt.zero_grad()
            loss_fn(model(x[b]), y[b]).backward()
            opt.step()


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean()) * 100


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--limit", type=int, default=12000, help="fine-tuning images of classes 5-9 (0: all)")
    ap.add_argument("--epochs", type=int, default=1, help="fine-tuning epochs")
    a = ap.parse_args()
    torch.manual_seed(0)
    # one thread unless asked: this small CNN at batch 32 gains little from
    # a second, and when the core is busy (make test runs two jobs on two
    # cores) torch's waiting threads spin: 283 CPU s against 26 on one
    torch.set_num_threads(int(os.environ.get("PRETRAIN_THREADS", "1")))
    os.makedirs(a.out, exist_ok=True)

    old, new = [0, 1, 2, 3, 4], [5, 6, 7, 8, 9]
    model = Net()
    x, y = split("train", old)
    train(model, x, y, 1, True, 1)
    print("PyTorch pre-training on classes 0-4: test accuracy %.1f%%" % accuracy(model, *split("t10k", old)))

    model.head = Net().head     # a new head for classes 5-9
    path = os.path.join(a.out, "pretrained.onnx")
    model.eval()
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), path, opset_version=13, input_names=["x"],
                      output_names=["logits"], dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}})
    print("exported %s" % path)

    # the same fine-tuning in PyTorch, from the weights in the file
    x, y = split("train", new, a.limit)
    train(model, x, y, a.epochs, False, 0)
    acc = accuracy(model, *split("t10k", new))
    with open(os.path.join(a.out, "torch_finetune.txt"), "w") as f:
        f.write("%.1f\n" % acc)
    print("PyTorch fine-tuning on classes 5-9 from the same weights: test accuracy %.1f%%" % acc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
