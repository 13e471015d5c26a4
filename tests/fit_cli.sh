#!/bin/bash
# fit_cli.sh — `nnc fit`, `nnc evaluate` and `nnc predict` end to end, as a
# user runs them: no C written, data files in, weights, history, plot and
# predictions out.
#
#  1. Fashion-MNIST's MLP (examples/fashion_mlp) trained from Debian's IDX
#     files for its 5 epochs: the test accuracy nnc evaluate prints must
#     reach 87.0 % (the issue's floor), and nnc predict's .npy must give the
#     same accuracy when NumPy scores it.
#  2. A CSV written by NumPy, a label column, a validation split and the
#     train block's early stopping; an .npz; --emit-main built by hand.
#  3. Bad input: a truncated .npy, a wrong shape, a non-numeric CSV cell,
#     an unknown option, a model error: exit 1 (2 for usage), a message
#     naming the file and place, and no output file.
# Usage: tests/fit_cli.sh   (from the repository root, after make)
set -u
NNC=${NNC:-bin/nnc}
PY=${PYTHON:-/usr/bin/python3}
F=${NNC_FASHION_DIR:-/usr/share/datasets/fashion-mnist}
W=$(mktemp -d /tmp/nnc-fit-test.XXXXXX)
trap 'rm -rf "$W"' EXIT
passed=0 failed=0

ok()  { echo "PASS $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1${2:+: $2}"; failed=$((failed + 1)); }
# expect NAME STATUS PATTERN CMD...: the command exits STATUS and its stderr matches PATTERN
expect() {
    local name=$1 want=$2 pattern=$3; shift 3
    "$@" > "$W/out" 2> "$W/err"
    local got=$?
    if [ "$got" != "$want" ]; then bad "$name" "exit $got, want $want: $(head -c 300 "$W/err")"
    elif ! grep -qE -- "$pattern" "$W/err"; then bad "$name" "stderr lacks /$pattern/: $(head -c 300 "$W/err")"
    else ok "$name"; fi
}

# ---- 1. Fashion-MNIST ----------------------------------------------------------
if [ -f "$F/train-images-idx3-ubyte.gz" ]; then
    M=examples/fashion_mlp/fashion_mlp.nn
    if $NNC fit $M --data "$F/train-images-idx3-ubyte.gz" --labels "$F/train-labels-idx1-ubyte.gz" \
            --save "$W/w.bin" --history "$W/h.csv" --plot "$W/c.svg" > "$W/fit.out" 2> "$W/fit.err"; then
        ok "fashion_mlp: nnc fit, 5 epochs from IDX"
    else bad "fashion_mlp: nnc fit" "$(tail -5 "$W/fit.err")"; fi
    cat "$W/fit.out"
    [ "$(wc -l < "$W/h.csv")" = 6 ] && head -1 "$W/h.csv" | grep -q '^epoch,loss,accuracy,lr' \
        && ok "history.csv: a header and 5 epochs" || bad "history.csv" "$(cat "$W/h.csv")"
    grep -q '<svg' "$W/c.svg" 2>/dev/null && ok "curves.svg written" || bad "curves.svg"
    $NNC evaluate $M --weights "$W/w.bin" --data "$F/t10k-images-idx3-ubyte.gz" \
        --labels "$F/t10k-labels-idx1-ubyte.gz" > "$W/eval.out" 2> "$W/eval.err"
    acc=$(sed -n 's/.* - accuracy: \([0-9.]*\).*/\1/p' "$W/eval.out")
    echo "nnc evaluate: $(cat "$W/eval.out")"
    if [ -n "$acc" ] && $PY -c "import sys; sys.exit(0 if float('$acc') >= 0.870 else 1)"; then
        ok "fashion_mlp test accuracy $acc >= 0.870"
    else bad "fashion_mlp test accuracy" "'$acc' (want >= 0.870): $(cat "$W/eval.err")"; fi
    if $NNC predict $M --weights "$W/w.bin" --data "$F/t10k-images-idx3-ubyte.gz" -o "$W/y.npy" 2> "$W/pred.err"; then
        $PY - "$W/y.npy" "$F/t10k-labels-idx1-ubyte.gz" "$acc" <<'EOF' && ok "nnc predict's .npy scores as evaluate does" || bad "predict"
import gzip, sys
import numpy as np
y = np.load(sys.argv[1])
labels = np.frombuffer(gzip.open(sys.argv[2]).read()[8:], dtype=np.uint8)
acc = float(np.mean(np.argmax(y, axis=1) == labels))
print("numpy on the predictions: shape %s, accuracy %.4f" % (y.shape, acc))
sys.exit(0 if y.shape == (10000, 10) and abs(acc - float(sys.argv[3])) < 1e-4 else 1)
EOF
    else bad "nnc predict" "$(cat "$W/pred.err")"; fi
else
    echo "SKIP fashion_mlp: $F is missing (Debian's dataset-fashion-mnist)"
fi

# ---- 2. CSV, npz, the train block's callbacks, --emit-main --------------------
cat > "$W/blobs.nn" <<'EOF'
# two Gaussian blobs in 3-D; stops early on the validation loss
model blobs {
    input x: f32[3]
    dense(8, relu)
    dense(2, softmax)
}
train blobs {
    loss sparse_categorical_crossentropy
    optimizer adam(lr = 0.05)
    metrics accuracy
    batch 16
    epochs 200
    validation_split 0.2
    callbacks early_stopping(patience = 3, restore_best_weights = true)
}
EOF
$PY - "$W" <<'EOF'
import sys
import numpy as np
rng = np.random.default_rng(0)
n = 301                                   # an odd count: the last batch is partial
y = rng.integers(0, 2, n)
x = (rng.normal(size=(n, 3)) + np.where(y[:, None] == 1, 1.5, -1.5)).astype(np.float32)
with open(sys.argv[1] + "/blobs.csv", "w") as f:
    f.write("a,b,c,label\n")
    for row, lab in zip(x, y):
        f.write("%r,%r,%r,%d\n" % (float(row[0]), float(row[1]), float(row[2]), lab))
np.savez_compressed(sys.argv[1] + "/blobs.npz", x=x, y=y.astype(np.int64))
np.save(sys.argv[1] + "/x.npy", x)
np.save(sys.argv[1] + "/truncated.npy", x)
open(sys.argv[1] + "/truncated.npy", "r+b").truncate(500)
np.save(sys.argv[1] + "/wrong.npy", x[:, :2])
with open(sys.argv[1] + "/cell.csv", "w") as f:
    f.write("a,b,c,label\n1,2,3,0\n1,oops,3,1\n")
EOF
if $NNC fit "$W/blobs.nn" --data "$W/blobs.csv" --label-column label --save "$W/b.bin" --history "$W/b.csv" \
        > "$W/b.out" 2> "$W/b.err"; then
    epochs=$(($(wc -l < "$W/b.csv") - 1))
    [ "$epochs" -lt 200 ] && ok "CSV + early stopping: stopped after $epochs of 200 epochs" \
        || bad "early stopping" "ran all $epochs epochs"
    grep -q val_loss "$W/b.csv" && ok "validation_split from the train block" || bad "validation_split" "$(head -1 "$W/b.csv")"
else bad "nnc fit on a CSV" "$(tail -3 "$W/b.err")"; fi
$NNC evaluate "$W/blobs.nn" --weights "$W/b.bin" --data "$W/blobs.npz" > "$W/e.out" 2> "$W/e.err" &&
    acc=$(sed -n 's/.* - accuracy: \([0-9.]*\).*/\1/p' "$W/e.out") &&
    $PY -c "import sys; sys.exit(0 if float('$acc') > 0.9 else 1)" &&
    ok "the same weights evaluated on the .npz: accuracy $acc" || bad "evaluate on .npz" "$(cat "$W/e.out" "$W/e.err")"

mkdir -p "$W/emit"
if $NNC fit "$W/blobs.nn" --emit-main -o "$W/emit/trainer.c" 2> "$W/emit.err" &&
   cc -std=c99 -O2 -Iruntime -Ihost -I"$W/emit" "$W/emit/trainer.c" "$W/emit/blobs.c" build/libnnc_host.a \
      build/libnnc_rt.a -lz -lm -o "$W/emit/trainer" 2>> "$W/emit.err" &&
   "$W/emit/trainer" fit --data "$W/blobs.npz" --epochs 3 --history "$W/emit/h.csv" > /dev/null 2>> "$W/emit.err" &&
   [ "$(wc -l < "$W/emit/h.csv")" = 4 ]; then
    ok "--emit-main: trainer.c and blobs.c built with cc, 3 epochs"
else bad "--emit-main" "$(tail -5 "$W/emit.err")"; fi

# ---- 3. bad input --------------------------------------------------------------
expect "truncated .npy: exit 1, the file and the byte offset" 1 "truncated.npy.*(byte|offset)" \
    $NNC fit "$W/blobs.nn" --data "$W/truncated.npy" --labels "$W/blobs.npz" --save "$W/t.bin"
[ -e "$W/t.bin" ] && bad "no weights after a failed run" || ok "no weights after a failed run"
expect "features of the wrong shape: expected and found" 1 "wrong.npy.*3.*2|wrong.npy.*2.*3" \
    $NNC fit "$W/blobs.nn" --data "$W/wrong.npy" --labels "$W/blobs.npz" --epochs 1
expect "a non-numeric CSV cell: row and column" 1 "cell.csv.*row 3.*column 2" \
    $NNC fit "$W/blobs.nn" --data "$W/cell.csv" --label-column label --epochs 1
expect "an unknown option: usage error" 2 "unknown option" \
    $NNC fit "$W/blobs.nn" --data "$W/blobs.npz" --epoch 3
expect "predict without -o: usage error" 2 "-o" \
    $NNC predict "$W/blobs.nn" --weights "$W/b.bin" --data "$W/x.npy"
sed 's/patience = 3/patiense = 3/' "$W/blobs.nn" > "$W/typo.nn"
expect "a misspelt callback argument: the model's line and column" 1 "typo.nn:14:.*patiense.*did you mean 'patience'" \
    $NNC fit "$W/typo.nn" --data "$W/blobs.npz"
expect "no model file: usage error" 2 "model file comes first" $NNC fit --data "$W/blobs.npz"

echo "fit cli: $passed passed, $failed failed"
[ "$failed" = 0 ]
