#!/usr/bin/env bash
# bench/inference.sh — batch-1 latency and batch-256 throughput of the seed
# models (the Fashion-MNIST MLP and the small CNN), and batch-1 latency of
# torchvision's ResNet-18 and MobileNetV2 (random weights, 1x3x224x224; when
# python3-torchvision is installed), one thread each, in one run on this
# machine: nnc's generated C compiled from the same ONNX file ONNX Runtime
# runs (onnxruntime-node from the npm registry, installed into bench/.node
# with ONNXRUNTIME_NODE_INSTALL=skip: its CPU binding ships in the package)
# and PyTorch (Debian's python3-torch) itself.  ORT's node binding adds a
# fixed cost per call, measured on an Identity model and reported both raw
# and subtracted.  Each figure is the median of 7 rounds (min and max beside
# it); ORT's rounds and nnc's alternate.  Prints a table, writes it to bench/results/inference.txt and the
# rows to bench/results/inference.json (bench/summary.py's input).  NNC=path times another nnc binary
# (e.g. an older build, for a before/after comparison).  THREADS=N (default 1) runs every side on N
# threads — ORT's intraOpNumThreads, torch.set_num_threads, nnc's code on the runtime built with
# -fopenmp (OMP_NUM_THREADS) — and writes inference_tN.txt/.json instead.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${TORCH_PYTHON:-/usr/bin/python3}
NNC=${NNC:-bin/nnc}
W=build/bench
THREADS=${THREADS:-1}
export THREADS OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS
RT=build/libnnc_rt.a OMP= SUFFIX=
if [ "$THREADS" -gt 1 ]; then
    RT=build/libnnc_rt_omp.a OMP=-fopenmp SUFFIX=_t$THREADS W=build/bench/t$THREADS
fi
mkdir -p "$W" bench/results
make -s bin/nnc build/libnnc_rt.a $RT
if [ ! -d bench/.node/node_modules/onnxruntime-node ]; then
    mkdir -p bench/.node
    (cd bench/.node && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --silent onnxruntime-node >/dev/null)
fi
torch=$("$PY" bench/inference_torch.py "$W" 2>/dev/null)
# model:nnc reps:ORT reps:input shape, for the models PyTorch exported
specs=()
for s in mlp_b1:2000:2000:1,1,28,28 mlp_b256:20:20:256,1,28,28 cnn_small_b1:500:500:1,1,28,28 \
         cnn_small_b256:5:5:256,1,28,28 resnet18_b1:5:20:1,3,224,224 mobilenet_v2_b1:10:20:1,3,224,224; do
    m=${s%%:*}
    [[ $torch == *"\"$m\""* ]] && specs+=("$s")
done
ort_args=("$W/identity.onnx:2000:1,1,28,28")
for s in "${specs[@]}"; do IFS=: read -r m _ r shape <<<"$s"; ort_args+=("$W/$m.onnx:$r:$shape"); done
for s in "${specs[@]}"; do
    IFS=: read -r m reps _ _ <<<"$s"
    "$NNC" "$W/$m.onnx" -o "$W/$m.c"
    up=$(tr '[:lower:]' '[:upper:]' <<<"$m")
    cc -std=c99 -O3 -march=native -D_POSIX_C_SOURCE=200809L -Iruntime -I"$W" -DNNC_MODEL="$m" -DNNC_UPPER="$up" \
        "-DNNC_HEADER=\"$m.h\"" -DREPS=$reps $OMP "$W/$m.c" bench/nnc_latency.c $RT -lm -o "$W/$m"
done
# ORT and nnc take turns, one round of every model each, so that a slower
# or faster spell of the machine falls on both
ort="[" nnc="["
for round in 1 2 3 4 5 6 7; do
    ort+="$(ROUNDS=1 NODE_PATH=bench/.node/node_modules node bench/inference_ort.js "${ort_args[@]}"), "
    nnc+="{"
    for s in "${specs[@]}"; do m=${s%%:*}; nnc+="\"$m\": [$("$W/$m" 1)], "; done
    nnc="${nnc%, }}, "
done
ort="${ort%, }]" nnc="${nnc%, }]"
"$PY" - "$torch" "$ort" "$W" "$nnc" "$THREADS" <<'PYEOF' | tee bench/results/inference$SUFFIX.txt
import json, os, sys, platform
torch, w, threads = json.loads(sys.argv[1]), sys.argv[3], int(sys.argv[5])
nthreads = "1 thread" if threads == 1 else "%d threads" % threads
suffix = "" if threads == 1 else "_t%d" % threads
def stats(rounds):   # [{name: [us]}, ...] -> {name: [median, min, max]}
    out = {}
    for k in rounds[0]:
        v = sorted(u for r in rounds for u in r[k])
        out[k] = [v[len(v) // 2], v[0], v[-1]]
    return out
ort, nnc = stats(json.loads(sys.argv[2])), stats(json.loads(sys.argv[4]))
ident = ort[os.path.join(w, "identity.onnx")][0]
print("# " + nthreads + " on every side; microseconds per call, median of 7 rounds [min, max]; ORT net = ORT - Identity (%.1f us)" % ident)
print("%-16s %22s %22s %10s %22s %10s %10s" % ("model", "nnc", "ORT raw", "ORT net", "PyTorch", "nnc/ORTnet", "nnc/torch"))
rows, ratio, raw_ratio = [], {}, {}
for m in nnc:
    o = ort[os.path.join(w, m + ".onnx")]
    net = o[0] - ident
    t = torch[m]
    n = nnc[m]
    fmt = lambda v: "%9.1f [%.1f, %.1f]" % tuple(v)
    print("%-16s %22s %22s %10.1f %22s %10.2f %10.2f" % (m, fmt(n), fmt(o), net, fmt(t), n[0] / net, n[0] / t[0]))
    figure = "latency batch 1" if m.endswith("b1") else "time per batch of 256"
    rows.append({"model": m.rsplit("_", 1)[0], "figure": figure + ", " + nthreads, "unit": "us", "nnc": n[0],
                 "peers": {"ort_raw": o[0], "ort_net": net, "pytorch": t[0]},
                 "ratio": {"nnc/ort_net": n[0] / net, "nnc/pytorch": n[0] / t[0]},
                 "min_max": {"nnc": n[1:], "ort": o[1:], "pytorch": t[1:]}})
    ratio[m], raw_ratio[m] = n[0] / net, n[0] / o[0]
json.dump({"machine": platform.processor() or platform.machine(), "rows": rows},
          open("bench/results/inference%s.json" % suffix, "w"), indent=1)
# issue 17's floors: every row <= 1.0x ORT net; the seed models at batch 1 also <= 0.7x ORT raw
seed = ("mlp_b1", "cnn_small_b1")
nets = ", ".join("%s %.2f" % (m, r) for m, r in ratio.items())
raw = ", ".join("%s %.2f" % (m, raw_ratio[m]) for m in seed if m in ratio)
print("inference, " + nthreads + ": nnc/ORT-net %s (floor 1.0); nnc/ORT-raw %s (floor 0.7)" % (nets, raw))
PYEOF
