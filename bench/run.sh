#!/usr/bin/env bash
# bench/run.sh — `make bench`: every side-by-side figure of nnc against
# PyTorch and ONNX Runtime on this machine, in one run, then the table
# (bench/summary.py) and bench/results/summary.json.
#   1. bench/gemm.c: the core's measured FMA peak and the runtime GEMM's
#      GFLOP/s at the seed MLP's shapes and 256^3 (results/gemm.txt)
#   2. bench/train.sh: training seconds per epoch and test accuracy, nnc vs
#      PyTorch, 1 thread: the MLP (seeds 0 and 1, 5 epochs) and the small CNN
#      (seed 0, $CNN_EPOCHS epochs, default 3: PyTorch takes ~25 s per epoch);
#      then each again on 2 threads (nnc's OpenMP build, seed 0)
#   3. bench/inference.sh: batch-1 latency and batch-256 time, nnc vs ORT vs
#      PyTorch, 1 thread
#   4. bench/inference_q8.sh: the seed MLP and small CNN at batch 256, nnc's
#      int8 build against nnc's float32 one (issue 20's x86 floor: 2x)
# The steps run one after another, never concurrently.  Takes ~15 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build/bench bench/results
make -s all build/examples/fashion_mlp build/examples/fashion_cnn_small
cc -std=c99 -D_POSIX_C_SOURCE=200809L -O3 -march=native -Wall -Wextra -Iruntime bench/gemm.c \
    build/libnnc_rt.a -lm -o build/bench/gemm
echo "== GEMM against this core's FMA peak" >&2
build/bench/gemm | tee bench/results/gemm.txt
echo "== training: fashion_mlp" >&2
bash bench/train.sh fashion_mlp 0 1
echo "== training: fashion_mlp, 2 threads" >&2
THREADS=2 bash bench/train.sh fashion_mlp 0
echo "== training: fashion_cnn_small" >&2
EPOCHS=${CNN_EPOCHS:-3} bash bench/train.sh fashion_cnn_small 0
echo "== training: fashion_cnn_small, 2 threads" >&2
THREADS=2 EPOCHS=${CNN_EPOCHS:-3} bash bench/train.sh fashion_cnn_small 0
echo "== inference" >&2
bash bench/inference.sh
echo "== inference, 2 threads" >&2
THREADS=2 bash bench/inference.sh
echo "== inference, int8 against float32" >&2
bash bench/inference_q8.sh
echo "== summary" >&2
"${TORCH_PYTHON:-/usr/bin/python3}" bench/summary.py | tee bench/results/summary.txt
