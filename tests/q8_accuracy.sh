#!/bin/sh
# q8_accuracy.sh — `make check-q8`: nnc's post-training int8 quantization
# end to end (nnc --quantize int8, issue 20's floor).
#
#  1. fashion_mlp and fashion_cnn_small: the float weights (trained for one
#     epoch by the example's driver when build/q8/NAME.bin does not exist),
#     calibrated on the first 1000 training images, built float and int8 and
#     run on the full Fashion-MNIST test set: the int8 accuracy must be within
#     1.0 point of the float one; the share of test images whose class the two
#     builds agree on is printed (and must be >= 97 %).
#  2. tests/q8_mixed.nn, every int8 op (3x3, depthwise and pointwise
#     convolutions, add, relu, concat, max/avg/global pools, flatten, dense,
#     softmax) and a float island: random weights, random inputs; the int8
#     outputs within 0.03 of the float ones for every calibration method.
#  3. the refusals: a training build and an ONNX model (exit 3), a missing
#     --calibrate (exit 2); --summary prints scales and zero points.
# Usage: tests/q8_accuracy.sh [BUILD_DIR]   (run from the repository root)
set -eu
B=${1:-build}
NNC=${NNC:-bin/nnc}
PY=${PYTHON:-/usr/bin/python3}
D=${NNC_FASHION_DIR:-/usr/share/datasets/fashion-mnist}
W=$B/q8
mkdir -p "$W"
CFLAGS="-std=c99 -O2 -march=native -Wall -Wextra -Wpedantic -Werror -Iruntime -Ihost"
LIBS="$B/libnnc_host.a $B/libnnc_rt.a -lz -lm"
fail=0

# harness NAME UPPER HEADER_DIR STEM: the q8_eval harness around STEM.c
harness() {
    cc $CFLAGS -I"$3" -DPREFIX="$1" -DUPPER="$2" -DHEADER="\"$4.h\"" tests/q8_eval.c "$3/$4.c" $LIBS -o "$3/$4"
}

for ex in fashion_mlp fashion_cnn_small; do
    up=$(echo $ex | tr a-z A-Z)
    if [ ! -s "$W/$ex.bin" ]; then
        echo "q8: training $ex for one epoch (its float weights: $W/$ex.bin)"
        make --no-print-directory -s "$B/examples/$ex" >/dev/null
        "$B/examples/$ex" --epochs 1 --save "$W/$ex.bin" >/dev/null 2>&1
    fi
    "$NNC" "examples/$ex/$ex.nn" --inference --weights "$W/$ex.bin" -o "$W/${ex}_f.c"
    "$NNC" "examples/$ex/$ex.nn" --inference --weights "$W/$ex.bin" --quantize int8 \
        --calibrate "$D/train-images-idx3-ubyte.gz" --calibrate-samples 1000 -o "$W/${ex}_q.c"
    harness $ex $up "$W" "${ex}_f"
    harness $ex $up "$W" "${ex}_q"
    f=$("$W/${ex}_f" acc "$D/t10k-images-idx3-ubyte.gz" "$D/t10k-labels-idx1-ubyte.gz" "$W/${ex}_f.arg")
    q=$("$W/${ex}_q" acc "$D/t10k-images-idx3-ubyte.gz" "$D/t10k-labels-idx1-ubyte.gz" "$W/${ex}_q.arg")
    agree=$("$PY" -c "
import sys
a, b = open(sys.argv[1], 'rb').read(), open(sys.argv[2], 'rb').read()
print('%.2f' % (100.0 * sum(x == y for x, y in zip(a, b)) / len(a)))" "$W/${ex}_f.arg" "$W/${ex}_q.arg")
    ok=$("$PY" -c "print(int(abs($f - $q) <= 1.0 and $agree >= 97.0))")
    echo "q8: $ex test accuracy float32 $f %, int8 $q % (10000 images); the same class for $agree % of them"
    [ "$ok" = 1 ] || { echo "q8: FAIL: $ex int8 is more than 1.0 point from float32 (or agrees < 97 %)"; fail=1; }
done

# every int8 op against its float build
M=$W/mixed
mkdir -p "$M"
"$NNC" tests/q8_mixed.nn -o "$M/init.c"
harness q8_mixed Q8_MIXED "$M" init
"$M/init" save "$M/w.bin"
"$PY" -c "
import numpy as np
r = np.random.default_rng(0)
r.random((300, 12, 12, 2), dtype=np.float32).tofile('$M/calib.f32')
r.random((200, 12, 12, 2), dtype=np.float32).tofile('$M/test.f32')"
"$NNC" tests/q8_mixed.nn --inference --weights "$M/w.bin" -o "$M/f.c"
harness q8_mixed Q8_MIXED "$M" f
"$M/f" run "$M/test.f32" "$M/f.out"
for how in "-O2" "-O0" "--calibrate-method percentile" "--calibrate-method mse --calibrate-samples 100"; do
    # shellcheck disable=SC2086
    "$NNC" tests/q8_mixed.nn --inference --weights "$M/w.bin" --quantize int8 --calibrate "$M/calib.f32" $how \
        -o "$M/q.c" 2>"$M/notes.txt"
    grep -q "has no int8 form: it runs in float32" "$M/notes.txt" || { echo "q8: FAIL: the float island is not reported"; fail=1; }
    harness q8_mixed Q8_MIXED "$M" q
    "$M/q" run "$M/test.f32" "$M/q.out"
    r=$("$PY" -c "
import numpy as np
f = np.fromfile('$M/f.out', np.float32).reshape(-1, 5)
q = np.fromfile('$M/q.out', np.float32).reshape(-1, 5)
d = float(abs(f - q).max())
print('%.4f %d' % (d, d < 0.03 and (f.argmax(1) == q.argmax(1)).mean() >= 0.97))")
    echo "q8: q8_mixed ($how): the int8 outputs within ${r% *} of the float ones"
    [ "${r#* }" = 1 ] || { echo "q8: FAIL: q8_mixed ($how) int8 outputs too far from float"; fail=1; }
done

# refusals and the summary
status() { "$@" >/dev/null 2>&1 && echo 0 || echo $?; }
s=$(status "$NNC" tests/q8_mixed.nn --weights "$M/w.bin" --quantize int8 --calibrate "$M/calib.f32" -o "$M/x.c")
[ "$s" = 3 ] || { echo "q8: FAIL: a training build with --quantize exits $s, want 3"; fail=1; }
onnx=$M/relu.onnx
if "$PY" -c "
import onnx
from onnx import helper as h, TensorProto as T
g = h.make_graph([h.make_node('Relu', ['x'], ['y'])], 'g', [h.make_tensor_value_info('x', T.FLOAT, [1, 4])],
                 [h.make_tensor_value_info('y', T.FLOAT, [1, 4])])
onnx.save(h.make_model(g), '$onnx')" 2>/dev/null; then
    s=$(status "$NNC" "$onnx" --inference --quantize int8 --weights "$M/w.bin" --calibrate "$M/calib.f32" -o "$M/x.c")
    [ "$s" = 3 ] || { echo "q8: FAIL: an ONNX model with --quantize exits $s, want 3"; fail=1; }
fi
s=$(status "$NNC" tests/q8_mixed.nn --inference --weights "$M/w.bin" --quantize int8 -o "$M/x.c")
[ "$s" = 2 ] || { echo "q8: FAIL: --quantize without --calibrate exits $s, want 2"; fail=1; }
"$NNC" tests/q8_mixed.nn --inference --weights "$M/w.bin" --quantize int8 --calibrate "$M/calib.f32" --summary \
    2>/dev/null | grep -q "add/q8 *q8_add" || { echo "q8: FAIL: --summary lacks the int8 tensors"; fail=1; }
[ $fail = 0 ] && echo "q8: int8 quantization checks pass"
exit $fail
