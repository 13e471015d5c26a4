#!/usr/bin/env bash
# tests/q8_aarch64.sh — the int8 kernels built for AArch64 (NEON with and
# without the dot-product extension) against the references, under
# qemu-aarch64 (tests/q8_check.c).  Exit status 1 on a difference.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=build/q8_aarch64
mkdir -p "$OUT"
status=0
for arch in armv8-a armv8.2-a+dotprod; do
    aarch64-linux-gnu-gcc -std=c99 -O2 -march=$arch -Wall -Wextra -Wpedantic -Werror -Iruntime -Itests \
        tests/q8_check.c runtime/*.c -lm -static -o "$OUT/q8_check_${arch%%+*}"
    echo "== -march=$arch"
    qemu-aarch64 -cpu max "$OUT/q8_check_${arch%%+*}" | tail -n 4 || status=1
done
exit $status
