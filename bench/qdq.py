#!/usr/bin/python3
"""qdq.py — a QDQ-quantized CNN (tests/onnx_qdq.py's, larger: 3x32x32 input,
32 channels) compiled by nnc with its QDQ groups fused into int8 ops and with
--no-q8-import (the float composition), against onnxruntime-node (one
thread).  Prints microseconds per predict: nnc's are thread CPU time, the
best of 7 rounds; ORT's the median wall time of session.run (its node
binding adds a fixed cost per call, tests/real_models.py measures it), and
the outputs' agreement.

    /usr/bin/python3 bench/qdq.py [BATCH]
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import onnx_qdq as q  # noqa: E402

DRIVER = r"""#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <time.h>
#include NNC_HEADER
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define F(x) CAT(NNC_MODEL, CAT(_, x))
#define U(x) CAT(NNC_UPPER, CAT(_, x))
static CAT(NNC_MODEL, _t) model;
static float x[U(INPUT_SIZE) * U(BATCH)], y[U(OUTPUT_SIZE) * U(BATCH)];
static double cpu(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}
int main(void) {
    F(init)(&model, 1);
    for (long i = 0; i < (long)(sizeof x / sizeof x[0]); i++) x[i] = (float)(i % 17) / 17 - 0.5f;
    int reps = 1;   /* doubled until a round takes 50 ms */
    for (;; reps *= 2) {
        double t0 = cpu();
        for (int i = 0; i < reps; i++) F(predict)(&model, x, y, U(BATCH));
        if (cpu() - t0 > 0.05) break;
    }
    double best = 1e30;
    for (int r = 0; r < 7; r++) {
        double t0 = cpu();
        for (int i = 0; i < reps; i++) F(predict)(&model, x, y, U(BATCH));
        double us = (cpu() - t0) * 1e6 / reps;
        if (us < best) best = us;
    }
    printf("%.1f\n", best);
    return 0;
}
"""


def build(work, path, extra, tag):
    c = os.path.join(work, tag + ".c")
    r = subprocess.run([q.NNC, path, "-o", c, "--summary"] + extra, capture_output=True, text=True, check=True)
    drv = os.path.join(work, "driver.c")
    with open(drv, "w") as f:
        f.write(DRIVER)
    exe = os.path.join(work, tag)
    subprocess.run(["cc", "-std=c99", "-O2", "-march=native", "-I" + os.path.join(ROOT, "runtime"), "-I" + work,
                    "-DNNC_MODEL=" + tag, "-DNNC_UPPER=" + tag.upper(), '-DNNC_HEADER="%s.h"' % tag, c, drv,
                    os.path.join(ROOT, "build", "libnnc_rt.a"), "-lm", "-o", exe], check=True)
    us = float(subprocess.run([exe], capture_output=True, text=True, check=True).stdout)
    return us, r.stdout


def main():
    batch = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    torch.manual_seed(1)
    rng = np.random.default_rng(1)
    net = q.Net(0, c=3, m=32, hw=32).eval()
    calib = rng.normal(0, 1, size=(32, 3, 32, 32)).astype(np.float32)
    x = rng.normal(0, 1, size=(batch, 3, 32, 32)).astype(np.float32)
    with tempfile.TemporaryDirectory(prefix="nnc-qdq-bench-") as work:
        path = os.path.join(work, "m.onnx")
        _, sizes = q.qdq_model(net, calib, np.uint8, 1, batch, path)
        fused_us, summary = build(work, path, [], "fused")
        comp_us, _ = build(work, path, ["--no-q8-import"], "comp")
        print("nnc int8 (QDQ fused): %.1f us per predict of batch %d" % (fused_us, batch))
        print("nnc float composition (--no-q8-import): %.1f us" % comp_us)
        for line in summary.splitlines():
            if line.startswith(("int8 nodes", "Total params", "Arena", "Device flash")):
                print("  fused: " + line)
        if q.have_ort():
            import json
            spec = {"inputs": [{"name": "x", "type": "float32", "dims": list(x.shape)}]}
            sp, ip, op = (os.path.join(work, n) for n in ("spec.json", "in.bin", "out.bin"))
            with open(sp, "w") as f:
                json.dump(spec, f)
            x.tofile(ip)
            r = subprocess.run(["node", q.ORT_RUN, path, sp, ip, op, "50,2000,3000"], capture_output=True, text=True,
                               env=dict(os.environ, NODE_PATH=q.NODE_DIR), check=True)
            print("onnxruntime-node: %.1f us per session.run (median wall time)" % json.loads(r.stdout)["us"])
        # agreement on this input: y (in steps of its scale) and the integers of a_q and s_q
        steps_of, sizes = q.qdq_model(net, calib, np.uint8, 1, batch, path)
        got, summ, _ = q.nnc_run(work, path, x)
        comp, csumm, _ = q.nnc_run(work, path, x, ["--no-q8-import"])
        got, comp = q.whole_order(got, summ, batch, sizes), q.whole_order(comp, csumm, batch, sizes)
        refs = [("the float composition", comp)] + ([("onnxruntime-node", q.ort_run(work, path, x))]
                                                     if q.have_ort() else [])
        for who, ref in refs:
            d = q.steps(got, ref, steps_of)
            print("agreement with %s: %d of %d outputs differ, by at most %d step" % (
                who, int(np.sum(d > 0)), d.size, int(d.max())))


if __name__ == "__main__":
    main()
