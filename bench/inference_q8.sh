#!/usr/bin/env bash
# bench/inference_q8.sh — issue 20's x86 floor: the seed MLP and small CNN
# (examples/fashion_mlp, examples/fashion_cnn_small) built by nnc twice from
# the same float weights, float32 and int8 (--quantize int8, calibrated on
# the first 1000 Fashion-MNIST training images, as tests/q8_accuracy.sh
# builds them), both with --batch 256, and predict() of 256 samples timed
# for each in the same process order (float and int8 rounds alternate), one
# thread, in thread CPU time (the machine may be shared: a round another
# process slows is not the build's speed).  Each figure is the median of 9
# rounds (min and max beside it); the ratio float / int8 is the floor's
# (>= 2).  The weights are each model's own initialisation (seed 1; the
# speed does not depend on their values: every product is computed) unless
# build/q8/NAME.bin holds trained ones (make check-q8 leaves them there).
# Writes bench/results/inference_q8.txt and .json (bench/summary.py's input).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${TORCH_PYTHON:-/usr/bin/python3}
NNC=${NNC:-bin/nnc}
D=${NNC_FASHION_DIR:-/usr/share/datasets/fashion-mnist}
W=build/bench/q8
ROUNDS=9
mkdir -p "$W" bench/results
make -s bin/nnc build/libnnc_rt.a build/libnnc_host.a
CF="-std=c99 -O3 -march=native -D_POSIX_C_SOURCE=200809L -Iruntime -Ihost -I$W"
models=(fashion_mlp:200 fashion_cnn_small:20)
for spec in "${models[@]}"; do
    ex=${spec%%:*} reps=${spec#*:}
    up=$(tr '[:lower:]' '[:upper:]' <<<"$ex")
    wts=build/q8/$ex.bin
    if [ ! -s "$wts" ]; then    # the model's initial weights (seed 1)
        wts=$W/$ex.init.bin
        "$NNC" "examples/$ex/$ex.nn" -o "$W/${ex}_init.c"
        cc $CF -DPREFIX=$ex -DUPPER=$up "-DHEADER=\"${ex}_init.h\"" tests/q8_eval.c "$W/${ex}_init.c" \
            build/libnnc_host.a build/libnnc_rt.a -lz -lm -o "$W/${ex}_init"
        "$W/${ex}_init" save "$wts"
    fi
    "$NNC" "examples/$ex/$ex.nn" --inference --weights "$wts" --batch 256 -o "$W/${ex}_f32.c"
    "$NNC" "examples/$ex/$ex.nn" --inference --weights "$wts" --batch 256 --quantize int8 \
        --calibrate "$D/train-images-idx3-ubyte.gz" --calibrate-samples 1000 -o "$W/${ex}_int8.c"
    for v in f32 int8; do
        cc $CF -DNNC_MODEL=$ex -DNNC_UPPER=$up "-DNNC_HEADER=\"${ex}_$v.h\"" -DREPS=$reps \
            -DNNC_CLOCK=CLOCK_THREAD_CPUTIME_ID "$W/${ex}_$v.c" bench/nnc_latency.c build/libnnc_rt.a -lm -o "$W/${ex}_$v"
    done
done
# one round of every build at a time, float and int8 of a model back to back
runs="["
for round in $(seq $ROUNDS); do
    runs+="{"
    for spec in "${models[@]}"; do
        ex=${spec%%:*}
        for v in f32 int8; do runs+="\"${ex}_$v\": [$("$W/${ex}_$v" 1)], "; done
    done
    runs="${runs%, }}, "
done
runs="${runs%, }]"
"$PY" - "$runs" <<'PYEOF' | tee bench/results/inference_q8.txt
import json, platform, sys
rounds = json.loads(sys.argv[1])
def stat(k):
    v = sorted(u for r in rounds for u in r[k])
    return [v[len(v) // 2], v[0], v[-1]]
print("# int8 against float32, both nnc's, batch 256, 1 thread; microseconds per predict() of 256 samples "
      "(thread CPU time), median of %d rounds [min, max]" % len(rounds))
print("%-18s %24s %24s %9s" % ("model", "float32", "int8", "f32/int8"))
rows, summary = [], []
for ex, name in (("fashion_mlp", "seed MLP"), ("fashion_cnn_small", "seed small CNN")):
    f, q = stat(ex + "_f32"), stat(ex + "_int8")
    fmt = lambda v: "%9.1f [%.1f, %.1f]" % tuple(v)
    print("%-18s %24s %24s %8.2fx" % (ex, fmt(f), fmt(q), f[0] / q[0]))
    rows.append({"model": ex, "figure": "int8 time per batch of 256, 1 thread", "unit": "us", "nnc": q[0],
                 "peers": {"nnc_f32": f[0]}, "ratio": {"nnc_f32/nnc_int8": f[0] / q[0]},
                 "min_max": {"nnc_int8": q[1:], "nnc_f32": f[1:]}})
    summary.append("%s %.2fx" % (name, f[0] / q[0]))
print("int8 / float32 speed-up at batch 256: %s (floor 2x)" % ", ".join(summary))
json.dump({"machine": platform.processor() or platform.machine(), "rows": rows},
          open("bench/results/inference_q8.json", "w"), indent=1)
PYEOF
