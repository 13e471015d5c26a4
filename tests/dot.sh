#!/bin/bash
# tests/dot.sh — nnc --dot and --dot-train for every example model and for
# ONNX models (inference, and fine-tuning with --train): each file must
# parse with Graphviz (dot -Tsvg), and the training graph must hold the
# three phases' colours.
set -e
cd "$(dirname "$0")/.."
NNC=${NNC:-bin/nnc}
command -v dot >/dev/null || { echo "dot: Graphviz is missing (make deps installs graphviz)"; exit 1; }
out=build/dot
mkdir -p $out
ONNX=${ONNX_DATA:-/usr/share/libonnx-testdata/data}/pytorch-converted
fail=0
# Graphviz lays out a few hundred nodes in seconds but a MobileNet's training
# graph (1,500 nodes) in tens of minutes: past 300 nodes the file is only
# parsed (gc, Graphviz's own reader), not laid out
render() {      # path without .dot
    if [ "$(gc -n "$1.dot" 2>/dev/null | awk '{ print $1 }')" -le 300 ]; then
        dot -Tsvg "$1.dot" -o "$1.svg"
    else
        local err
        err=$(gc -n "$1.dot" 2>&1 >/dev/null) && [ -z "$err" ] || { echo "$err"; return 1; }
    fi
}
check() {       # name, nnc arguments...
    local name=$1; shift
    if ! "$NNC" "$@" -o $out/$name.dot || ! render $out/$name; then
        echo "FAIL $name: nnc $*"; fail=1; return
    fi
    case " $* " in *" --dot-train "*)
        for c in cfe2f3 f4cccc d9ead3; do     # forward, backward, update
            grep -q "fillcolor=\"#$c\"" $out/$name.dot || { echo "FAIL $name: no node of colour #$c"; fail=1; }
        done;;
    esac
    echo "ok   $name: $(grep -c '^  n[0-9]* \[' $out/$name.dot) nodes"
}
for nn in examples/*/*.nn; do
    name=$(basename "$nn" .nn)
    check $name "$nn" --dot
    check $name.train "$nn" --dot-train
done
check onnx_conv2d $ONNX/test_Conv2d/model.onnx --dot
check onnx_linear.train $ONNX/test_Linear/model.onnx --train mse --dot-train
# ONNX names with quotes, backslashes, braces and a newline stay one string
${PYTHON:-/usr/bin/python3} - $out/quoted.onnx <<'PY'
import sys, onnx, onnx.helper as h
x, y = 'x "in\\put" {1}', 'y\\"\nout'
g = h.make_graph([h.make_node('Relu', [x], [y], name='n"1\\')], 'g',
                 [h.make_tensor_value_info(x, onnx.TensorProto.FLOAT, [1, 4])],
                 [h.make_tensor_value_info(y, onnx.TensorProto.FLOAT, [1, 4])])
onnx.save(h.make_model(g, opset_imports=[h.make_opsetid('', 13)]), sys.argv[1])
PY
check quoted $out/quoted.onnx --dot
# stdout when there is no -o
"$NNC" examples/fashion_mlp/fashion_mlp.nn --dot | dot -Tsvg > /dev/null || { echo "FAIL --dot to stdout"; fail=1; }
# --dot with --standalone is a usage error (status 2), and writes nothing
rm -f $out/both.c $out/both.h
set +e
"$NNC" examples/fashion_mlp/fashion_mlp.nn --dot --standalone -o $out/both.c 2>/dev/null
status=$?
set -e
[ $status = 2 ] && [ ! -e $out/both.c ] || { echo "FAIL --dot --standalone: status $status, want 2 and no file"; fail=1; }
[ $fail = 0 ] && echo "dot: every graph parses with Graphviz"
exit $fail
