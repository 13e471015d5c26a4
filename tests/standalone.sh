#!/bin/bash
# tests/standalone.sh [MODEL...] — nnc --standalone for every example model
# (or the ones given): model.c must build alone with
#   cc -std=c99 -Wall -Wextra -Wpedantic -Werror m.c -lm
# (and so at -O2, with gcc and clang when present), and a driver built on
# it must print exactly what the same driver prints on the normal build
# (model.c + build/libnnc_rt.a at the runtime's flags; the standalone one
# at -O1 -march=native, RUN_FLAGS); three of them also when built with
# -fopenmp at the runtime's flags and run on two threads (the threads'
# code is the same for all: one dense, one conv, one depthwise model).
set -e
cd "$(dirname "$0")/.."
NNC=${NNC:-bin/nnc}
RT_FLAGS="-std=c99 -Wall -Wextra -Wpedantic -Werror -O3 -march=native"
# the standalone program compared with the library build: the same kernels
# (-march=native picks them) and, C99 contracting no floating-point
# expression, the same numbers at -O1, which compiles the whole runtime in
# model.c in half the time of -O3; the -fopenmp builds below are at the
# runtime's own flags, so a standalone file still builds -Werror clean there
RUN_FLAGS="-std=c99 -Wall -Wextra -Wpedantic -Werror -O1 -march=native"
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
    cc $RUN_FLAGS -I"$d/alone" "${defs[@]}" "$d/alone/$name.c" tests/standalone_main.c \
        -lm -o "$d/alone/run"
    "$d/normal/run" > "$d/normal/out.txt"
    "$d/alone/run" > "$d/alone/out.txt"
    # and with -fopenmp: the runtime's threads come along (parallel.c), and
    # two of them print the same numbers
    case " fashion_mlp fashion_cnn_small kws_dscnn " in *" $name "*)
        cc $RT_FLAGS -fopenmp -I"$d/alone" "${defs[@]}" "$d/alone/$name.c" tests/standalone_main.c \
            -lm -o "$d/alone/run_omp"
        OMP_NUM_THREADS=2 "$d/alone/run_omp" > "$d/alone/out_omp.txt"
        if ! cmp -s "$d/normal/out.txt" "$d/alone/out_omp.txt"; then
            echo "FAIL $name: outputs differ with -fopenmp, 2 threads"; fail=1
        fi;;
    esac
    if cmp -s "$d/normal/out.txt" "$d/alone/out.txt"; then
        echo "ok   $name: $(wc -l < "$d/alone/out.txt") numbers equal, $(grep -c '^/\* ---- runtime/' "$d/alone/$name.c") runtime files and headers inside"
    else
        echo "FAIL $name: outputs differ"; diff "$d/normal/out.txt" "$d/alone/out.txt" | head -5; fail=1
    fi
done
# an int8 build (--quantize int8): its model.c includes the int8 kernels'
# header itself, and the kernels' internal headers come with them
if [ ${#@} = 0 ]; then
    d=$out/q8_mixed
    mkdir -p "$d/normal" "$d/alone" "$d/init"
    defs=(-DMODEL=q8_mixed -DUPPER=Q8_MIXED)
    "$NNC" tests/q8_mixed.nn -o "$d/init/q8_mixed.c"
    cat > "$d/init/save.c" <<'C'
#include <stdio.h>
#include "q8_mixed.h"
static q8_mixed_t m;
static unsigned char buf[Q8_MIXED_SAVE_BYTES];
int main(void) {   /* fresh parameters (seed 7) to w.bin, calibration samples to calib.f32 */
    q8_mixed_init(&m, 7);
    FILE *f = fopen("w.bin", "wb"), *g = fopen("calib.f32", "wb");
    if (!f || !g || !q8_mixed_save(&m, buf, sizeof buf) || fwrite(buf, 1, sizeof buf, f) != sizeof buf) return 1;
    for (long i = 0; i < 64L * Q8_MIXED_INPUT_SIZE; i++) {
        float v = (float)((i * 37 % 101) / 101.0);
        fwrite(&v, sizeof v, 1, g);
    }
    return fclose(f) | fclose(g);
}
C
    cc $RT_FLAGS -Iruntime -I"$d/init" "$d/init/q8_mixed.c" "$d/init/save.c" build/libnnc_rt.a -lm -o "$d/init/save"
    (cd "$d/init" && ./save)
    q8=(--inference --weights "$d/init/w.bin" --quantize int8 --calibrate "$d/init/calib.f32")
    "$NNC" tests/q8_mixed.nn "${q8[@]}" -o "$d/normal/q8_mixed.c" 2>/dev/null
    "$NNC" tests/q8_mixed.nn "${q8[@]}" --standalone -o "$d/alone/q8_mixed.c" 2>/dev/null
    for cc in gcc clang; do
        command -v $cc >/dev/null || continue
        for o in "" -O2 "-O2 -march=native"; do
            $cc $STRICT $o -c "$d/alone/q8_mixed.c" -o "$d/alone/q8_mixed.o" ||
                { echo "FAIL q8_mixed (int8): $cc $STRICT $o q8_mixed.c"; fail=1; }
        done
    done
    cc $RT_FLAGS -Iruntime -I"$d/normal" "${defs[@]}" '-DHEADER="q8_mixed.h"' "$d/normal/q8_mixed.c" \
        tests/standalone_main.c build/libnnc_rt.a -lm -o "$d/normal/run"
    cc $RUN_FLAGS -I"$d/alone" "${defs[@]}" '-DHEADER="q8_mixed.h"' "$d/alone/q8_mixed.c" tests/standalone_main.c \
        -lm -o "$d/alone/run"
    "$d/normal/run" > "$d/normal/out.txt"
    "$d/alone/run" > "$d/alone/out.txt"
    if cmp -s "$d/normal/out.txt" "$d/alone/out.txt"; then
        echo "ok   q8_mixed --quantize int8: $(wc -l < "$d/alone/out.txt") numbers equal"
    else
        echo "FAIL q8_mixed --quantize int8: outputs differ"; fail=1
    fi
fi
[ $fail = 0 ] && echo "standalone: every model builds alone and computes what the library build does"
exit $fail
