#!/usr/bin/env bash
# tests/torch_parity.sh — N-step loss parity of nnc's generated training code
# against PyTorch (Debian's python3-torch, hence /usr/bin/python3: the first
# python3 on PATH may lack torch).  The model table, the .nn text, the
# compile/run of tests/torch_parity.c and the torch side all live in
# tests/torch_parity.py; this wrapper only checks for torch and the build.
#
# Prints `PASS name: max loss rel err ...` / `FAIL ...` per model, then
# `torch parity: N passed, M failed`; exits nonzero on any failure.  Without
# torch it prints `torch parity: skipped (python3-torch not installed)` and
# exits 0.  Usage: tests/torch_parity.sh [torch_parity.py options] [name...]
set -uo pipefail
cd "$(dirname "$0")/.."

PY=${TORCH_PYTHON:-/usr/bin/python3}
NNC=${NNC:-bin/nnc}
RT=${NNC_RT_LIB:-build/libnnc_rt.a}

if ! [ -x "$PY" ] || ! "$PY" -c 'import torch' >/dev/null 2>&1; then
    echo "torch parity: skipped (python3-torch not installed)"
    exit 0
fi
for f in "$NNC" "$RT"; do
    if ! [ -e "$f" ]; then
        echo "torch parity: $f is missing (make bin/nnc build/libnnc_rt.a)" >&2
        echo "torch parity: 0 passed, 1 failed"
        exit 1
    fi
done
exec "$PY" tests/torch_parity.py --nnc "$NNC" --rt "$RT" "$@"
