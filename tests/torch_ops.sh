#!/usr/bin/env bash
# tests/torch_ops.sh — the runtime's conv2d, pooling and batch-norm kernels
# against PyTorch (Debian's python3-torch, hence /usr/bin/python3: the first
# python3 on PATH may lack torch).  The case tables, the build of
# tests/torch_ops.c and the torch side all live in tests/torch_ops.py; this
# wrapper only checks for torch and the runtime library.
#
# Prints `PASS case: max err ...` / `FAIL ...` per case, then
# `torch ops: N passed, M failed`; exits nonzero on any failure.  Without
# torch it prints `torch ops: skipped (python3-torch not installed)` and
# exits 0.  Usage: tests/torch_ops.sh [torch_ops.py options] [name...]
set -uo pipefail
cd "$(dirname "$0")/.."

PY=${TORCH_PYTHON:-/usr/bin/python3}
RT=${NNC_RT_LIB:-build/libnnc_rt.a}

if ! [ -x "$PY" ] || ! "$PY" -c 'import torch, numpy' >/dev/null 2>&1; then
    echo "torch ops: skipped (python3-torch not installed)"
    exit 0
fi
if ! [ -e "$RT" ]; then
    echo "torch ops: $RT is missing (make $RT)" >&2
    echo "torch ops: 0 passed, 1 failed"
    exit 1
fi
exec "$PY" tests/torch_ops.py --rt "$RT" "$@"
