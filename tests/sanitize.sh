#!/usr/bin/env bash
# tests/sanitize.sh — the sanitizers over what users feed nnc and what nnc
# writes (make check-sanitize, part of make test):
#   1. every ONNX model of Debian's test data through the ASan/UBSan nnc,
#      as given and with --train mse: no sanitizer report, no signal (a
#      refusal, exit 1 or 3, is fine);
#   2. the generated code of every example, built with the runtime under
#      ASan/UBSan and driven by tests/model_check.c (predict, three training
#      steps, save/load, a NaN input);
#   3. a portable nnc (no -march=native, so valgrind can run it) under
#      valgrind on a .nn example and an imported CNN.
# Usage: tests/sanitize.sh ASAN_NNC PORTABLE_NNC
set -uo pipefail
cd "$(dirname "$0")/.."
asan_nnc=$1
portable_nnc=$2
data=/usr/share/libonnx-testdata/data
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
SAN=86     # the sanitizers' exit status here, told apart from nnc's own 1, 2, 3
export ASAN_OPTIONS="exitcode=$SAN:detect_leaks=1" UBSAN_OPTIONS="halt_on_error=1:exitcode=$SAN:print_stacktrace=1"

# 1: one line per model that a sanitizer or a signal stopped
one_model() {   # $1 model, $2 scratch folder, extra nnc arguments after
    local m=$1 d=$2; shift 2
    "$asan_nnc" "$m" "$@" -o "$d/m.c" >"$d/log" 2>&1
    local rc=$?
    if [ $rc = $SAN ] || [ $rc -ge 128 ]; then echo "FAIL ($rc): nnc $m $*"; tail -n 20 "$d/log"; fi
}
export -f one_model
export asan_nnc SAN
models=$(ls $data/node/*/model.onnx $data/pytorch-converted/*/model.onnx $data/pytorch-operator/*/model.onnx \
         $data/simple/*/model.onnx 2>/dev/null)
n=$(echo "$models" | wc -l)
out=$(echo "$models" | awk -v t="$tmp" '{ print NR, $0, t }' | xargs -P 2 -n 3 bash -c \
    'mkdir -p "$2/$0" && one_model "$1" "$2/$0" && one_model "$1" "$2/$0" --train mse; rm -rf "$2/$0"' 2>&1)
if [ -n "$out" ]; then echo "$out" | head -n 60; failed=1
else echo "sanitize: $n ONNX test-data models, as given and with --train mse: no sanitizer report"; fi

# 2: the generated code of every example under the sanitizers, on the
# runtime compiled once with them (two compilers at a time).  The model's
# file at -O0: at -O1 GCC takes minutes over the instrumented training step
# of the larger ones (vww_mobilenet.c: more than 3 minutes, 2 s at -O0)
SANFLAGS="-std=c99 -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer"
mkdir -p "$tmp/rt"
export SANFLAGS tmp
if ! ls runtime/*.c | xargs -P 2 -I{} sh -c 'cc $SANFLAGS -Iruntime -c "$1" -o "$tmp/rt/$(basename "$1" .c).o"' _ {} \
        2>"$tmp/cc.log" || ! ar rcs "$tmp/rt.a" "$tmp"/rt/*.o; then
    echo "FAIL: building the runtime with the sanitizers"; cat "$tmp/cc.log"; failed=1
fi
for c in generated/*.c; do
    name=$(basename "$c" .c)
    upper=$(echo "$name" | tr a-z A-Z)
    exe="$tmp/$name"
    [ -f "$tmp/rt.a" ] || break
    if ! cc $SANFLAGS -O0 -Iruntime -Igenerated \
        "-DNNC_MODEL=$name" "-DNNC_UPPER=$upper" "-DNNC_HEADER=\"$name.h\"" \
        tests/model_check.c "$c" "$tmp/rt.a" -lm -o "$exe" 2>"$tmp/cc.log"; then
        echo "FAIL: building $name with the sanitizers"; cat "$tmp/cc.log"; failed=1; continue
    fi
    for mode in outputs saveload nonfinite; do
        "$exe" $mode >"$tmp/run.log" 2>&1
        rc=$?
        if [ $rc != 0 ]; then echo "FAIL ($rc): $name $mode"; tail -n 20 "$tmp/run.log"; failed=1; fi
    done
done
[ $failed = 0 ] && echo "sanitize: the generated code of $(ls generated/*.c | wc -l) examples runs clean (predict, training, save/load, a NaN input)"

# 3: valgrind on the portable compiler
if command -v valgrind >/dev/null; then
    for m in examples/fashion_cnn_small/fashion_cnn_small.nn $data/pytorch-converted/test_Conv2d_groups/model.onnx; do
        if ! valgrind -q --error-exitcode=$SAN --leak-check=full "$portable_nnc" "$m" -o "$tmp/v.c" >"$tmp/v.log" 2>&1; then
            echo "FAIL: valgrind nnc $m"; tail -n 30 "$tmp/v.log"; failed=1
        fi
    done
    [ $failed = 0 ] && echo "sanitize: valgrind finds nothing in nnc on a .nn CNN and an imported one"
else
    echo "FAIL: valgrind is not installed (make deps installs it)"; failed=1
fi
exit $failed
