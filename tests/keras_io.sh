#!/usr/bin/env bash
# tests/keras_io.sh — keras.io code examples translated line by line
# (tests/keras_io/*.nn: Keras' class names, keyword arguments, quoted
# strings, `x = f(x)` rebinding, callbacks as written): each compiles with
# notes only (no error, no warning), its generated C compiles -Werror, and
# the image and sequence ones train an epoch with `nnc fit` on 256 random
# samples to a finite loss.  make check-keras-io.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
for f in tests/keras_io/*.nn; do
    n=$(basename "$f" .nn)
    if ! bin/nnc "$f" -o "$tmp/$n.c" > "$tmp/$n.log" 2>&1; then
        echo "FAIL $n: nnc refused it"; cat "$tmp/$n.log"; fail=1; continue
    fi
    if grep -E "(error|warning):" "$tmp/$n.log"; then
        echo "FAIL $n: diagnostics beyond notes"; fail=1; continue
    fi
    if ! cc -std=c99 -Wall -Wextra -Werror -O1 -Iruntime -c "$tmp/$n.c" -o "$tmp/$n.o"; then
        echo "FAIL $n: its C does not compile"; fail=1; continue
    fi
    echo "ok   $n: compiles ($(grep -c "note:" "$tmp/$n.log") notes of nnc's spellings)"
done
# an epoch each on random data of the models' shapes
"$PY" - "$tmp" <<'PYEOF'
import numpy as np, sys
t, r = sys.argv[1], np.random.default_rng(0)
np.save(t + "/img.npy", r.random((256, 28, 28, 1), dtype=np.float32))
np.save(t + "/onehot.npy", np.eye(10, dtype=np.float32)[r.integers(0, 10, 256)])
np.save(t + "/series.npy", r.standard_normal((256, 500, 1)).astype(np.float32))
np.save(t + "/cls.npy", r.integers(0, 2, 256).astype(np.int32))
np.save(t + "/tokens.npy", r.integers(0, 20000, (256, 200)).astype(np.int32))
PYEOF
fit() {   # name data labels
    local out
    if ! out=$(bin/nnc fit "tests/keras_io/$1.nn" --data "$tmp/$2" --labels "$tmp/$3" --epochs 1 2>&1); then
        echo "FAIL $1: nnc fit failed"; echo "$out" | grep -v "note:" | tail -5; fail=1; return
    fi
    local line
    line=$(echo "$out" | grep "^Epoch 1/1" | tail -1)
    if ! [[ $line =~ loss:\ [0-9]+\.[0-9]+ ]]; then
        echo "FAIL $1: no finite loss in: $line"; fail=1; return
    fi
    echo "ok   $1: trains ($line)"
}
fit mnist_convnet img.npy onehot.npy
fit conv_autoencoder img.npy img.npy
fit timeseries_fcn series.npy cls.npy
fit text_transformer tokens.npy cls.npy
fit noise_layers series.npy cls.npy
exit $fail
