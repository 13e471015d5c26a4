#!/bin/sh
# seeds.sh — builds the fuzzers' seed corpora under OUT (build/fuzz/seeds),
# one folder per harness, from what is already on disk, so no binary corpus
# is checked in:
#   nn/       the examples' .nn files and tests/fuzz/seeds/nn/*.nn (snippets
#             for every layer, the train block and the "#!" option line)
#   onnx/     ONNX's node conformance models (Debian's libonnx-testdata):
#             the small ones, up to LIMIT, each behind a mode byte that
#             cycles through the harness's training modes (fuzz_onnx.c)
#   weights/  the save() buffers fuzz_weights writes for its models
# usage: seeds.sh OUT FUZZ_WEIGHTS_BINARY [LIMIT]
set -eu
out=$1 weights_bin=$2 limit=${3:-400}
onnx_data=/usr/share/libonnx-testdata/data

rm -rf "$out.tmp"
mkdir -p "$out.tmp/nn" "$out.tmp/onnx" "$out.tmp/weights"

for f in examples/*/*.nn tests/fuzz/seeds/nn/*.nn; do
    cp "$f" "$out.tmp/nn/$(basename "$(dirname "$f")")-$(basename "$f")"
done

# the smallest models first (they fuzz fastest), several modes per op family
if [ -d "$onnx_data/node" ]; then
    i=0
    for f in $(find "$onnx_data/node" "$onnx_data/simple" "$onnx_data/pytorch-operator" -name model.onnx \
                   -size -3000c -printf '%s %p\n' | sort -n | head -n "$limit" | cut -d' ' -f2); do
        # modes 0 (inference), 1, 2, 3|loss (training), 4 (-O0), 16 (--batch 3)
        case $((i % 6)) in 0) m=000;; 1) m=001;; 2) m=002;; 3) m=243;; 4) m=004;; 5) m=020;; esac
        name=$(basename "$(dirname "$f")")
        { printf "\\$m"; cat "$f"; } > "$out.tmp/onnx/$name-m$m.bin"
        i=$((i + 1))
    done
else
    echo "seeds.sh: $onnx_data is missing (make deps installs libonnx-testdata); no ONNX seeds" >&2
fi

NNC_FUZZ_WRITE_SEEDS="$out.tmp/weights" "$weights_bin" >/dev/null 2>&1

rm -rf "$out"
mv "$out.tmp" "$out"
echo "seeds: $(ls "$out/nn" | wc -l) .nn, $(ls "$out/onnx" | wc -l) ONNX, $(ls "$out/weights" | wc -l) weights in $out"
