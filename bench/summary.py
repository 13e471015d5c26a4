#!/usr/bin/python3
"""summary.py — the table of bench/run.sh from the figures its steps left
in bench/results/ (gemm.txt, train_*.json, inference.json, inference_q8.json), plus the arena
bytes nnc --summary reports for each model; writes the same rows to
bench/results/summary.json: model, figure, unit, nnc's value, each peer's
value, the ratio (and min/max where measured), for scripts that follow
them over time."""

import json
import os
import platform
import re
import subprocess
import sys
import time

R = "bench/results"


def gemm_rows():
    rows, peak = [], None
    for line in open(os.path.join(R, "gemm.txt")):
        f = line.split()
        if f[0] == "peak":
            peak = float(f[4])  # the best round: the closest to the core's limit
            rows.append({"model": "gemm", "figure": "FMA peak, 1 core (%s, best of 7)" % f[5], "unit": "GFLOP/s",
                         "nnc": peak, "peers": {}, "ratio": {}, "min_max": {"peak": [float(f[3]), float(f[4])]},
                         "median": float(f[2])})
        elif f[0] == "gemm":
            name, m, n, k, ta, tb = f[1], f[2], f[3], f[4], f[5], f[6]
            g = float(f[8])
            rows.append({"model": "gemm", "figure": "%s %sx%sx%s%s%s" % (name, m, n, k, " A^T" if ta == "1" else "",
                                                                        " B^T" if tb == "1" else ""),
                         "unit": "GFLOP/s", "nnc": g, "peers": {"fma_peak": peak},
                         "ratio": {"nnc/peak": g / peak}, "min_max": {"nnc": [float(f[9]), float(f[10])]}})
    return rows


def arena(args):
    out = subprocess.run(["bin/nnc"] + args + ["--summary"], capture_output=True, text=True).stdout
    m = re.search(r"Arena: (\d+) bytes", out)
    return int(m.group(1)) if m else None


def main():
    rows = gemm_rows()
    for ex in ("fashion_mlp", "fashion_cnn_small"):
        path = os.path.join(R, "train_%s.json" % ex)
        if os.path.exists(path):
            rows += json.load(open(path))
            two = os.path.join(R, "train_%s_t2.json" % ex)
            if os.path.exists(two) and os.path.getmtime(two) >= os.path.getmtime(path) - 3600:
                rows += json.load(open(two))
            rows.append({"model": ex, "figure": "arena, training step at batch 32", "unit": "bytes",
                         "nnc": arena(["examples/%s/%s.nn" % (ex, ex)]), "peers": {}, "ratio": {}})
    inf = json.load(open(os.path.join(R, "inference.json")))
    two = os.path.join(R, "inference_t2.json")
    if os.path.exists(two):
        inf["rows"] += json.load(open(two))["rows"]
    for r in inf["rows"]:
        rows.append(r)
        onnx = "build/bench/%s_%s.onnx" % (r["model"], "b1" if "batch 1" in r["figure"] else "b256")
        if os.path.exists(onnx) and "batch 1, 1 thread" in r["figure"]:
            rows.append({"model": r["model"], "figure": "arena, prediction at batch 1 (imported)", "unit": "bytes",
                         "nnc": arena([onnx]), "peers": {}, "ratio": {}})

    q8 = os.path.join(R, "inference_q8.json")
    if os.path.exists(q8):
        rows += json.load(open(q8))["rows"]

    print("# %s, %s; each figure on the threads its row says (the same count on every side); medians (min and max in summary.json)" % (
        time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), platform.processor() or platform.machine()))
    print("%-18s %-44s %-8s %11s %11s %11s %11s %11s %11s  %s" % ("model", "figure", "unit", "nnc", "PyTorch",
                                                                  "ORT raw", "ORT net", "FMA peak", "nnc f32", "ratio"))
    fmt = lambda v: "-" if v is None else ("%.1f" % v if isinstance(v, float) and abs(v) < 1e5 else "%.0f" % v if isinstance(v, float) else str(v))
    for r in rows:
        p = r.get("peers", {})
        ratio = ", ".join("%s %.2f" % kv for kv in r.get("ratio", {}).items())
        print("%-18s %-44s %-8s %11s %11s %11s %11s %11s %11s  %s" % (
            r["model"], r["figure"][:44], r["unit"], fmt(r["nnc"]), fmt(p.get("pytorch")), fmt(p.get("ort_raw")),
            fmt(p.get("ort_net")), fmt(p.get("fma_peak")), fmt(p.get("nnc_f32")), ratio))
    json.dump({"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "machine": platform.processor() or platform.machine(), "rows": rows},
              open(os.path.join(R, "summary.json"), "w"), indent=1)


if __name__ == "__main__":
    sys.exit(main())
