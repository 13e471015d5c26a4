#!/usr/bin/python3
"""bench/fit_epoch.py — `nnc fit` against the C driver it replaces: the same
model (examples/fashion_mlp), the same data (Debian's Fashion-MNIST IDX
files), the same seed, the same 5 epochs, run alternately ROUNDS times
(default 3) on this machine, one process at a time.

Epoch k's time is the gap between epoch lines k-1 and k as they arrive on
stdout (both print one line per epoch and flush it), so epochs 2..5 are
timed the same way for both; epoch 1 also holds data loading and nnc fit's
C compilation and is left out.  Prints the median seconds per epoch of
each, the ratio, and both final losses (they must be equal: the same
generated code on the same order of samples).  Wall time suffers from
other work on the machine, so the CPU seconds of whole runs are compared
too: the C driver's against the program nnc fit builds and runs (written
once with --emit-main and built the same way), which has no compiler
child to count.
Usage: bench/fit_epoch.py [ROUNDS]    (after make and make build/examples/fashion_mlp)"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

F = "/usr/share/datasets/fashion-mnist"
RUNS = {
    "C driver (examples/fashion_mlp/main.c)": ["build/examples/fashion_mlp", "--test-limit", "1"],
    "nnc fit": ["bin/nnc", "fit", "examples/fashion_mlp/fashion_mlp.nn", "--data", F + "/train-images-idx3-ubyte.gz",
                "--labels", F + "/train-labels-idx1-ubyte.gz", "--verbose", "2"],
}


def epochs(cmd):
    """-> (gaps between epoch lines 2..N in seconds, the last epoch line, CPU seconds of the process tree)"""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    stamps, last = [], ""
    for line in p.stdout:
        if line.startswith("Epoch "):
            stamps.append(time.perf_counter())
            last = line.strip()
    _, status, use = os.wait4(p.pid, 0)
    if status != 0:
        sys.exit("%s exited with status %d" % (" ".join(cmd), status))
    return [b - a for a, b in zip(stamps, stamps[1:])], last, use.ru_utime + use.ru_stime


def build_trainer(work):
    """the program nnc fit runs, written by --emit-main and built as nnc fit builds it"""
    subprocess.run(["bin/nnc", "fit", "examples/fashion_mlp/fashion_mlp.nn", "--emit-main", "-o",
                    work + "/trainer.c"], check=True)
    subprocess.run(["cc", "-std=c99", "-O3", "-march=native", "-Iruntime", "-Ihost", "-I" + work,
                    work + "/trainer.c", work + "/fashion_mlp.c", "build/libnnc_host.a", "build/libnnc_rt.a",
                    "-lz", "-lm", "-o", work + "/trainer"], check=True)
    return [work + "/trainer", "fit"] + RUNS["nnc fit"][3:]


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    times = {k: [] for k in RUNS}
    lasts, cpu = {}, {"C driver": [], "nnc fit's program": []}
    with tempfile.TemporaryDirectory() as work:
        trainer = build_trainer(work)
        for _ in range(rounds):
            for name, cmd in RUNS.items():
                gaps, lasts[name], c = epochs(cmd)
                times[name] += gaps
                if name.startswith("C"):
                    cpu["C driver"].append(c)
            cpu["nnc fit's program"].append(epochs(trainer)[2])
    for name in RUNS:
        print("%-40s %.3f s/epoch (median of %d epochs; min %.3f, max %.3f)   %s" % (
            name, statistics.median(times[name]), len(times[name]), min(times[name]), max(times[name]),
            lasts[name].split(" - ")[1]))
    c, f = (statistics.median(times[k]) for k in RUNS)
    print("nnc fit / C driver: %.3f wall per epoch (epochs 2..5 of %d rounds)" % (f / c, rounds))
    a, b = (statistics.median(v) for v in cpu.values())
    print("CPU seconds of a whole run (5 epochs, data loading included), median of %d: C driver %.2f, "
          "nnc fit's program %.2f, ratio %.3f" % (rounds, a, b, b / a))


if __name__ == "__main__":
    main()
