#!/usr/bin/env bash
# bench/train.sh — nnc vs PyTorch training, side by side on this machine:
# one of the seed models — examples/fashion_mlp (784-256-128-10) or
# examples/fashion_cnn_small (conv 32 3x3 -> dense 10), Adam, batch 32 —
# trained on Fashion-MNIST by nnc's generated C (build/examples/EXAMPLE) and
# by bench/train_torch.py (Debian's python3-torch, hence /usr/bin/python3),
# both single-threaded float32, for each seed.  The runs are sequential, never
# concurrent, so they do not compete with each other for cores.
#
# Prints a table — per seed and tool: test accuracy, wall seconds per epoch
# (median, min, max, epoch 1 on its own), CPU seconds per epoch, cpu/wall and
# torch/nnc — then the per-epoch times, and writes the same to
# bench/results/EXAMPLE.txt.  The last line is the summary, e.g.
#   fashion_mlp: nnc 0.61 s/epoch, torch 15.0 s/epoch (24.6x), accuracy nnc 87.4% / torch 87.4%
#
# Wall seconds per epoch.  Median/min/max are over epochs 2..N (steady
# state); epoch 1, which also pays for page faults and cold caches, is its
# own column.  nnc's driver prints its epoch time to 0.1 s only, too coarse
# for a ratio, so this script timestamps each epoch line as it arrives (the
# driver flushes stdout after every epoch and does nothing else between
# epochs) and takes epoch k as the gap between lines k-1 and k: shuffle +
# train_epoch, to about a millisecond.  Epoch 1's start is not visible from
# outside (data loading precedes it), so nnc's epoch-1 column is the driver's
# own 0.1 s figure.  torch's times come from perf_counter() around the same
# work.  The summary line pools epochs 2..N of all seeds (median) and
# averages the test accuracy over the seeds.
#
# CPU seconds per epoch (epochs 2..N, median) — nnc: the nanosecond on-CPU
# time of all its threads (/proc/PID/task/*/schedstat) sampled at each epoch
# line; torch:
# process_time() — and cpu/wall, their sum over the wall time.  On an idle
# machine a single-threaded process gets cpu/wall ~1 and the two columns
# agree.  This machine is shared: below 0.95 something else had the core,
# the wall times are inflated, and the table and the summary line say so and
# give the CPU-time figures, which time slicing does not inflate (caches and
# memory bandwidth are still shared) — better, rerun when the machine is idle.
#
# Threads: THREADS=N (default 1) runs both sides on N threads: nnc's example
# built on the runtime compiled with -fopenmp (build/omp/examples/EXAMPLE,
# OMP_NUM_THREADS=N), PyTorch with torch.set_num_threads(N) and
# OPENBLAS_NUM_THREADS=N.  With N > 1 the results go to EXAMPLE_tN.txt and
# the rows say "N threads"; cpu/wall is then up to N.
#
# OpenMP's waiting, each side at its best: with THREADS > 1 and
# OMP_WAIT_POLICY unset, PyTorch runs with OMP_WAIT_POLICY=passive and nnc
# with its default.  PyTorch's intra-op pool is libgomp's, which by default
# spins up to 300000 iterations before a waiting thread sleeps, and on 2
# cores those spinning threads take the cores OpenBLAS's own threads need:
# 2 threads, default, took 13.7 s an epoch of the seed MLP and 26.4 s of
# the small CNN, passive 3.4 and 11.9 (Zen 3, quiet).  nnc's pool spins
# ~50 us (runtime/parallel.c); passive made it slower on 2 threads than
# on 1, every loop then waiting for a futex wake (the seed MLP's step, 2
# threads, median 752 us passive against 527 us default, 592 us on 1
# thread).  Until 2026-12-07 both sides ran passive.  A caller's
# OMP_WAIT_POLICY applies to both; the header lines record what ran, and
# the load average.
# Usage: bench/train.sh EXAMPLE [SEED...]      (default seeds: 0 1)
# Environment: TORCH_PYTHON (default /usr/bin/python3), EPOCHS (default 5),
# THREADS (default 1), NNC_FASHION_DIR (data directory, read by both sides).
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C   # '.' in $EPOCHREALTIME and printf

PY=${TORCH_PYTHON:-/usr/bin/python3}
EPOCHS=${EPOCHS:-5}
EXAMPLE=${1:?usage: bench/train.sh fashion_mlp|fashion_cnn_small [SEED...]}
shift
SEEDS=("$@")
[ ${#SEEDS[@]} -gt 0 ] || SEEDS=(0 1)
THREADS=${THREADS:-1}
NNC_BIN=build/examples/$EXAMPLE
OUT=bench/results/$EXAMPLE.txt
if [ "$THREADS" -gt 1 ]; then
    NNC_BIN=build/omp/examples/$EXAMPLE
    OUT=bench/results/${EXAMPLE}_t$THREADS.txt
fi
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS

if ! [ -x "$PY" ] || ! "$PY" -c 'import torch, numpy' >/dev/null 2>&1; then
    echo "train bench: $PY cannot import torch and numpy (apt-get install python3-torch python3-numpy)" >&2
    exit 1
fi
if ! [ -r /proc/self/schedstat ]; then
    echo "train bench: needs /proc/PID/schedstat (Linux with CONFIG_SCHED_INFO)" >&2
    exit 1
fi

make -s "$NNC_BIN"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkfifo "$tmp/nnc_out"

{
    echo "# date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "# cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(nproc) cpu(s) online"
    rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
    git diff --quiet HEAD -- 2>/dev/null || rev="$rev + uncommitted changes"
    echo "# nnc: $NNC_BIN at $rev, $(${CC:-cc} --version | head -1), runtime -O3 -march=native$([ "$THREADS" -gt 1 ] && echo " -fopenmp"), $THREADS thread(s) (OMP_NUM_THREADS=$THREADS${OMP_WAIT_POLICY:+ OMP_WAIT_POLICY=$OMP_WAIT_POLICY}${GOMP_SPINCOUNT:+ GOMP_SPINCOUNT=$GOMP_SPINCOUNT})"
} > "$tmp/header"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
TORCH_WAIT=${OMP_WAIT_POLICY:-}
if [ "$THREADS" -gt 1 ] && [ -z "$TORCH_WAIT" ]; then
    TORCH_WAIT=passive
fi
echo "# torch: ${TORCH_WAIT:+OMP_WAIT_POLICY=$TORCH_WAIT, }OPENBLAS_NUM_THREADS=$THREADS" >> "$tmp/header"

# nnc_run SEED: each stdout line of the driver as "WALL_S CPU_NS LINE"
nnc_run() {
    local pid line cpu_ns=-1 ns
    "$NNC_BIN" --seed "$1" --epochs "$EPOCHS" > "$tmp/nnc_out" &
    pid=$!
    while IFS= read -r line; do
        # schedstat: on-CPU ns, run-queue wait ns, timeslices; one per thread
        # in task/ (the runtime's helper threads with THREADS > 1), summed.
        # After the last line the process may be gone: keep the previous value.
        ns=$(cat /proc/$pid/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { if (NR) printf "%.0f", s }') || ns=
        if [ -n "$ns" ]; then
            cpu_ns=$ns
        fi
        printf '%s %s %s\n' "$EPOCHREALTIME" "$cpu_ns" "$line"
    done < "$tmp/nnc_out"
    wait "$pid"
}

for s in "${SEEDS[@]}"; do
    echo "nnc   seed $s ..." >&2
    nnc_run "$s" > "$tmp/nnc_$s.log"
    echo "torch seed $s ..." >&2
    ${TORCH_WAIT:+env OMP_WAIT_POLICY=$TORCH_WAIT} "$PY" bench/train_torch.py --model "$EXAMPLE" --seed "$s" \
        --epochs "$EPOCHS" --threads "$THREADS" > "$tmp/torch_$s.log"
done
echo "# load average (1/5/15 min) before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)" > "$tmp/load"

mkdir -p bench/results
"$PY" - "$tmp" "$EXAMPLE" "$THREADS" "${SEEDS[@]}" <<'EOF' | tee "$OUT"
import re, statistics, sys

tmp, example, threads, seeds = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
nthreads = "1 thread" if threads == 1 else "%d threads" % threads
TOOLS = ("nnc", "torch")
EPOCH = re.compile(r"Epoch (\d+)/(\d+) - .*? - ([0-9.]+)s(?: - cpu ([0-9.]+)s)?$")
ACC = re.compile(r"test accuracy: ([0-9.]+)%")

def parse(path, stamped):
    """-> dict: wall (per-epoch s), cpu (per-epoch s, epoch 1 = nan for nnc),
    acc (test %), notes ('#' lines)"""
    wall, cpu, stamps, cpu_ns, acc, notes = [], [], [], [], None, []
    for line in open(path):
        line = line.rstrip("\n")
        if stamped:
            stamp, ns, line = line.split(" ", 2)
        if line.startswith("#"):
            notes.append(line)
        elif EPOCH.match(line):
            m = EPOCH.match(line)
            wall.append(float(m.group(3)))
            cpu.append(float(m.group(4) or "nan"))
            if stamped:
                stamps.append(float(stamp))
                cpu_ns.append(int(ns))
        elif ACC.match(line):
            acc = float(ACC.match(line).group(1))
    if acc is None or not wall:
        sys.exit("train bench: %s: no epoch lines or no test accuracy" % path)
    if stamped:  # epochs 2..N from the gaps between lines; epoch 1: the driver's 0.1 s figure
        gaps = [b - a for a, b in zip(stamps, stamps[1:])]
        for k, (gap, printed) in enumerate(zip(gaps, wall[1:]), 2):
            if abs(gap - printed) > 0.06 + 0.01 * printed:
                notes.append("# warning: nnc epoch %d: %.3f s between lines, driver says %.1f s" % (k, gap, printed))
        wall = wall[:1] + gaps
        cpu = [float("nan")] + [(b - a) * 1e-9 for a, b in zip(cpu_ns, cpu_ns[1:])]
    return dict(wall=wall, cpu=cpu, acc=acc, notes=notes)

steady = lambda xs: xs[1:] if len(xs) > 1 else xs
runs, notes = {}, []
for s in seeds:
    for tool in TOOLS:
        r = runs[s, tool] = parse("%s/%s_%s.log" % (tmp, tool, s), tool == "nnc")
        r["cpu_med"] = statistics.median(steady(r["cpu"]))
        r["wall_med"] = statistics.median(steady(r["wall"]))
        r["frac"] = sum(steady(r["cpu"])) / sum(steady(r["wall"]))
        notes += [n for n in r["notes"] if n not in notes]

# on one thread cpu/wall below 0.95 means another process had the core; with
# N threads it is anything up to N and says nothing of the load
busy = [(s, t, r["frac"]) for (s, t), r in runs.items() if threads == 1 and not r["frac"] >= 0.95]
out = open(tmp + "/header").read().splitlines() + notes + open(tmp + "/load").read().splitlines()
for s, t, frac in busy:
    out.append("# WARNING: seed %s %s was on the CPU only %.0f%% of its wall time: the machine was busy and"
               " its wall times are inflated; compare the cpu column, or rerun when idle" % (s, t, 100 * frac))
out += ["# wall s/epoch: median, min, max over epochs 2..N (steady state); epoch 1 separately",
        "#   (nnc's epoch 1 is its driver's 0.1 s figure).  cpu s/epoch: median over epochs 2..N.",
        "# cpu/wall: CPU time / wall time over epochs 2..N (~1.00 = had a core to itself).",
        "# torch/nnc: ratio of the wall medians (of the cpu medians).",
        "",
        "%-5s %-6s %8s %11s %7s %7s %8s %9s %8s  %s" % (
            "seed", "tool", "test acc", "wall median", "min", "max", "epoch 1", "cpu s/ep", "cpu/wall",
            "torch/nnc"),
        "-" * 98]
for s in seeds:
    for tool in TOOLS:
        r = runs[s, tool]
        st = steady(r["wall"])
        ratio = ""
        if tool == "torch":
            n = runs[s, "nnc"]
            ratio = "%.1fx (%.1fx)" % (r["wall_med"] / n["wall_med"], r["cpu_med"] / n["cpu_med"])
        out.append("%-5s %-6s %7.1f%% %11.3f %7.3f %7.3f %8.3f %9.3f %8.2f  %s" % (
            s, tool, r["acc"], r["wall_med"], min(st), max(st), r["wall"][0], r["cpu_med"], r["frac"], ratio))
out += ["", "per-epoch wall seconds, epoch 1 first:"]
for s in seeds:
    for tool in TOOLS:
        out.append("  seed %-3s %-6s %s" % (s, tool, " ".join("%.3f" % x for x in runs[s, tool]["wall"])))
out.append("")

def pooled(key):
    return {t: statistics.median([x for s in seeds for x in steady(runs[s, t][key])]) for t in TOOLS}
fmt = lambda x: "%.2f" % x if x < 10 else "%.1f" % x
wall, cpu = pooled("wall"), pooled("cpu")
accs = {t: statistics.mean(runs[s, t]["acc"] for s in seeds) for t in TOOLS}
line = "%s, %s: nnc %s s/epoch, torch %s s/epoch (%.1fx), accuracy nnc %.1f%% / torch %.1f%%" % (
    example, nthreads, fmt(wall["nnc"]), fmt(wall["torch"]), wall["torch"] / wall["nnc"], accs["nnc"], accs["torch"])
if busy:
    line += " [machine busy, wall times inflated; CPU time: nnc %s, torch %s s/epoch (%.1fx)]" % (
        fmt(cpu["nnc"]), fmt(cpu["torch"]), cpu["torch"] / cpu["nnc"])
out.append(line)
print("\n".join(l.rstrip() for l in out))

# the same figures as rows for bench/summary.py (bench/results/summary.json)
import json
allw = {t: [x for s in seeds for x in steady(runs[s, t]["wall"])] for t in TOOLS}
rows = [{"model": example, "figure": "training time per epoch, " + nthreads, "unit": "s",
         "nnc": wall["nnc"], "peers": {"pytorch": wall["torch"]},
         "ratio": {"pytorch/nnc": wall["torch"] / wall["nnc"]},
         "min_max": {t: [min(allw[t]), max(allw[t])] for t in TOOLS},
         "cpu": {"nnc": cpu["nnc"], "pytorch": cpu["torch"]}, "busy": bool(busy)},
        {"model": example, "figure": "test accuracy after %d epochs (mean of seeds %s)" % (
            len(runs[seeds[0], "nnc"]["wall"]), " ".join(seeds)), "unit": "%",
         "nnc": accs["nnc"], "peers": {"pytorch": accs["torch"]},
         "ratio": {"nnc-pytorch (points)": accs["nnc"] - accs["torch"]}}]
if threads > 1:   # the accuracy row once, from the 1-thread run
    rows = rows[:1]
json.dump(rows, open("bench/results/train_%s%s.json" % (example, "" if threads == 1 else "_t%d" % threads), "w"),
          indent=1)
EOF
