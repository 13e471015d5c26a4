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
generated code on the same order of samples).
Usage: bench/fit_epoch.py [ROUNDS]    (after make and make build/examples/fashion_mlp)"""
import statistics
import subprocess
import sys
import time

F = "/usr/share/datasets/fashion-mnist"
RUNS = {
    "C driver (examples/fashion_mlp/main.c)": ["build/examples/fashion_mlp", "--test-limit", "1"],
    "nnc fit": ["bin/nnc", "fit", "examples/fashion_mlp/fashion_mlp.nn", "--data", F + "/train-images-idx3-ubyte.gz",
                "--labels", F + "/train-labels-idx1-ubyte.gz", "--verbose", "2"],
}


def epochs(cmd):
    """-> (gaps between epoch lines 2..N in seconds, the last epoch line)"""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    stamps, last = [], ""
    for line in p.stdout:
        if line.startswith("Epoch "):
            stamps.append(time.perf_counter())
            last = line.strip()
    if p.wait() != 0:
        sys.exit("%s exited %d" % (" ".join(cmd), p.returncode))
    return [b - a for a, b in zip(stamps, stamps[1:])], last


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    times = {k: [] for k in RUNS}
    lasts = {}
    for _ in range(rounds):
        for name, cmd in RUNS.items():
            gaps, lasts[name] = epochs(cmd)
            times[name] += gaps
    for name in RUNS:
        print("%-40s %.3f s/epoch (median of %d epochs; min %.3f, max %.3f)   %s" % (
            name, statistics.median(times[name]), len(times[name]), min(times[name]), max(times[name]),
            lasts[name].split(" - ")[1]))
    c, f = (statistics.median(times[k]) for k in RUNS)
    print("nnc fit / C driver: %.3f (epochs 2..5 of %d rounds)" % (f / c, rounds))


if __name__ == "__main__":
    main()
