#!/usr/bin/python3
"""inference_torch.py — the models of bench/inference.sh: builds them with
fixed seeds, exports each to ONNX at batch 1 and batch 256 (the file every
tool then runs, so all three compute the same function) plus an Identity
model (ORT's per-call cost), and times PyTorch itself (1 thread, eval,
no_grad): median, min and max microseconds per forward over 7 rounds.
torchvision's ResNet-18 and MobileNetV2 (random weights, 1x3x224x224) are
timed at batch 1 only, when python3-torchvision is installed.
Usage: inference_torch.py OUTDIR  -> OUTDIR/*.onnx, prints one JSON object."""

import json
import os
import sys
import time
import warnings

import torch
import torch.nn as nn


def models():
    torch.manual_seed(0)
    yield "mlp", nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                               nn.Linear(128, 10), nn.Softmax(dim=1)), (1, 28, 28)
    yield "cnn_small", nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Flatten(), nn.Linear(26 * 26 * 32, 10),
                                     nn.Softmax(dim=1)), (1, 28, 28)


def vision_models():
    try:
        import torchvision
    except ImportError:
        return
    torch.manual_seed(0)
    yield "resnet18", torchvision.models.resnet18(), (3, 224, 224)
    yield "mobilenet_v2", torchvision.models.mobilenet_v2(), (3, 224, 224)


def time_us(f, reps):
    for _ in range(10):
        f()
    us = []
    for _ in range(7):
        t0 = time.perf_counter()
        for _ in range(reps):
            f()
        us.append((time.perf_counter() - t0) / reps * 1e6)
    us.sort()
    return [us[3], us[0], us[6]]


def main():
    warnings.simplefilter("ignore")
    torch.set_num_threads(int(os.environ.get("THREADS", "1")))
    out = sys.argv[1]
    res = {}
    runs = [(name, m, shape, ((1, 2000), (256, 20))) for name, m, shape in models()]
    runs += [(name, m, shape, ((1, 20),)) for name, m, shape in vision_models()]
    for name, m, shape, batches in runs:
        m.eval()
        for batch, reps in batches:
            x = torch.rand(batch, *shape)
            torch.onnx.export(m, x, os.path.join(out, "%s_b%d.onnx" % (name, batch)), opset_version=13,
                              input_names=["x"], output_names=["y"])
            with torch.no_grad():
                res["%s_b%d" % (name, batch)] = time_us(lambda: m(x), reps)
    import onnx
    from onnx import TensorProto, helper
    g = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "identity",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 28, 28])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 28, 28])])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), os.path.join(out, "identity.onnx"))
    print(json.dumps(res))


if __name__ == "__main__":
    main()
