#!/bin/bash
# tests/standalone.sh [MODEL...] — nnc --standalone for every example model
# (or the ones given): model.c must build alone with
#   cc -std=c99 -Wall -Wextra -Wpedantic -Werror m.c -lm
# (and so at -O2, with gcc and clang when present), and a driver built on
# it must print exactly what the same driver prints on the normal build
# (model.c + build/libnnc_rt.a, both at the runtime's flags).
set -e
cd "$(dirname "$0")/.."
NNC=${NNC:-bin/nnc}
RT_FLAGS="-std=c99 -Wall -Wextra -Wpedantic -Werror -O3 -march=native"
STRICT="-std=c99 -Wall -Wextra -Wpedantic -Werror"
out=build/standalone
rm -rf "$out"; mkdir -p "$out"
models=("$@")
[ ${#models[@]} -gt 0 ] || models=($(ls examples/*/*.nn))
fail=0
for nn in "${models[@]}"; do
    name=$(basename "$nn" .nn)
    d=$out/$name
    mkdir -p "$d/normal" "$d/alone"
    "$NNC" "$nn" -o "$d/normal/$name.c"
    "$NNC" "$nn" --standalone -o "$d/alone/$name.c"
    if grep -q '#include "nnc_rt' "$d/alone/$name.c" "$d/alone/$name.h"; then
        echo "FAIL $name: the standalone files still include the runtime's headers"; fail=1; continue
    fi
    # the files alone: the command the README gives (a main of the user's own)
    for cc in gcc clang; do
        command -v $cc >/dev/null || continue
        for o in "" -O2; do
            $cc $STRICT $o -c "$d/alone/$name.c" -o "$d/alone/$name.o" ||
                { echo "FAIL $name: $cc $STRICT $o $name.c"; fail=1; }
        done
    done
    upper=$(echo "$name" | tr a-z A-Z)
    defs=(-DMODEL=$name -DUPPER=$upper "-DHEADER=\"$name.h\"")
    cc $RT_FLAGS -Iruntime -I"$d/normal" "${defs[@]}" "$d/normal/$name.c" \
        tests/standalone_main.c build/libnnc_rt.a -lm -o "$d/normal/run"
    cc $RT_FLAGS -I"$d/alone" "${defs[@]}" "$d/alone/$name.c" tests/standalone_main.c \
        -lm -o "$d/alone/run"
    "$d/normal/run" > "$d/normal/out.txt"
    "$d/alone/run" > "$d/alone/out.txt"
    if cmp -s "$d/normal/out.txt" "$d/alone/out.txt"; then
        echo "ok   $name: $(wc -l < "$d/alone/out.txt") numbers equal, $(grep -c '^/\* ---- runtime/' "$d/alone/$name.c") runtime files and headers inside"
    else
        echo "FAIL $name: outputs differ"; diff "$d/normal/out.txt" "$d/alone/out.txt" | head -5; fail=1
    fi
done
[ $fail = 0 ] && echo "standalone: every model builds alone and computes what the library build does"
exit $fail
