#!/usr/bin/env bash
# tests/firmware.sh — generated models on a microcontroller and on an ARM
# application processor, under emulation:
#
#   infer NAME    the example compiled with --inference --weights --batch 1
#                 for qemu's mps2-an386 (Cortex-M4F, -Os, hard float), run
#                 on 20 inputs; its outputs must equal the host build's
#                 within 1e-5, and its memory must match nnc --summary.
#                 fashion_mlp uses trained weights and real test images;
#                 other examples freshly initialised weights and random inputs.
#   finetune      fashion_mlp pretrained on the host on 1000 samples, then its
#                 last layer trained on the device (the other two baked and
#                 frozen) on 400 new samples for 3 epochs: the training loss
#                 must fall, held-out (300 samples) loss fall and accuracy rise
#                 by 2 points, RAM stay <= 32 KiB, and the numbers equal the
#                 host build's.
#   aarch64       the runtime's GEMM variants (the NEON kernel among them)
#                 against the reference (tests/gemm_check.c), and three
#                 generated models, built with aarch64-linux-gnu-gcc, run
#                 under qemu-aarch64: gradient checks pass and outputs equal
#                 the x86 build's within 1e-4.
#
# Usage: tests/firmware.sh infer NAME | finetune | aarch64 | test
# (test: what make test runs).  Every check prints PASS/FAIL; the exit
# status is nonzero on any failure.  The figures the device prints end with
# its `firmware: ram N bytes, flash N bytes, stack N bytes` line, which is
# the last line of `infer NAME` (make firmware).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=build/firmware
PY=${PYTHON:-/usr/bin/python3}
ARMCC=arm-none-eabi-gcc
ARMFLAGS=(-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os -std=c99
          -Wall -Wextra -Werror -ffunction-sections -fdata-sections)
QEMU=(qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none -icount shift=0)
failed=0

need() {
    for t in "$@"; do
        command -v "$t" >/dev/null || { echo "firmware: $t is missing (make deps installs it)"; exit 1; }
    done
}
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }
upper() { tr '[:lower:]' '[:upper:]' <<<"$1"; }
# field FILE KEY: the value after "KEY " on its line
field() { sed -n "s/^$2 \\(-\\{0,1\\}[0-9.]*\\).*/\\1/p" "$1" | tail -n 1; }

# device and host programs from firmware/MAIN.c and the generated DIR/NAME.c
build_pair() {
    local name=$1 dir=$2 main=$3 up
    up=$(upper "$name")
    local defs=(-DNNC_MODEL="$name" -DNNC_UPPER="$up" "-DNNC_HEADER=\"$name.h\"")
    "$ARMCC" "${ARMFLAGS[@]}" -c firmware/board_mps2.c -o "$dir/board.o"
    "$ARMCC" "${ARMFLAGS[@]}" -Wpedantic -Iruntime -I"$dir" -Ifirmware "${defs[@]}" \
        "firmware/$main.c" firmware/fw_format.c "$dir/$name.c" runtime/*.c "$dir/board.o" \
        -T firmware/mps2_an386.ld -nostartfiles --specs=nano.specs -Wl,--gc-sections -lm -o "$dir/$main.elf"
    cc -std=c99 -O2 -Wall -Wextra -Werror -Iruntime -I"$dir" -Ifirmware "${defs[@]}" \
        "firmware/$main.c" firmware/fw_format.c firmware/board_host.c "$dir/$name.c" \
        build/libnnc_rt.a -lm -o "$dir/$main.host"
}

# run_device ELF LOG ARGS...: qemu with semihosting arguments
run_device() {
    local elf=$1 log=$2 args=arg=fw
    shift 2
    for a in "$@"; do args="$args,arg=$a"; done
    timeout 600 "${QEMU[@]}" -semihosting-config "enable=on,target=native,$args" -kernel "$elf" >"$log" 2>&1
}

host_tools() {
    mkdir -p "$OUT"
    make -s bin/nnc build/libnnc_rt.a
    cc -std=c99 -O2 -Wall -Wextra -D_POSIX_C_SOURCE=200809L -Iexamples/common -Iruntime \
        firmware/export.c examples/common/data.c build/libnnc_rt.a -lz -lm -o "$OUT/export"
}

# max |a - b| / max(1, |b|) over two float32 files
max_err() {
    "$PY" -c 'import array, sys
a, b = array.array("f"), array.array("f")
a.frombytes(open(sys.argv[1], "rb").read()); b.frombytes(open(sys.argv[2], "rb").read())
print("inf" if len(a) != len(b) or not a else max(abs(x - y) / max(1.0, abs(y)) for x, y in zip(a, b)))' "$1" "$2"
}

infer() {
    local name=$1 d=$OUT/$1 up
    up=$(upper "$name")
    mkdir -p "$d/gen"
    if [ "$name" = fashion_mlp ]; then
        make -s "build/examples/fashion_mlp"
        build/examples/fashion_mlp ${FW_TRAIN_ARGS---epochs 1 --limit 10000} --save "$d/weights.bin" | tail -n 1
        "$OUT/export" t10k 0 20 "$d/inputs.bin"
    else
        cc -std=c99 -O2 -Wall -Wextra -Werror -Iruntime -Igenerated -DNNC_MODEL="$name" -DNNC_UPPER="$up" \
            "-DNNC_HEADER=\"$name.h\"" firmware/prep.c "generated/$name.c" build/libnnc_rt.a -lm -o "$d/prep"
        "$d/prep" "$d/weights.bin" "$d/inputs.bin" 20
    fi
    bin/nnc "examples/$name/$name.nn" --inference --weights "$d/weights.bin" --batch 1 -o "$d/gen/$name.c"
    bin/nnc "examples/$name/$name.nn" --inference --weights "$d/weights.bin" --batch 1 --summary >"$d/summary.txt"
    build_pair "$name" "$d/gen" infer_main
    run_device "$d/gen/infer_main.elf" "$d/device.txt" "$d/inputs.bin" "$d/device.bin" 20 || true
    "$d/gen/infer_main.host" "$d/inputs.bin" "$d/host.bin" 20 >"$d/host.txt"
    [ "$single" = 1 ] || cat "$d/device.txt"
    local err
    err=$(max_err "$d/device.bin" "$d/host.bin")
    if awk -v e="$err" 'BEGIN { exit !(e <= 1e-5) }'; then
        pass "$name on cortex-m4: outputs equal the host build's (max err $err)"
    else
        fail "$name on cortex-m4: outputs differ from the host build's (max err $err)"
    fi
    # nnc's memory figures against what the device binary has
    local state est_state consts rodata code text
    state=$(field "$d/device.txt" "model state (sizeof)")
    code=$(sed -n 's/^Device flash: .* code about \([0-9]*\) bytes.*/\1/p' "$d/summary.txt")
    text=$(field "$d/device.txt" ".text")
    if [ -n "$code" ] && awk -v c="$code" -v t="$text" 'BEGIN { exit !(t >= 0.5 * c && t <= 1.5 * c) }'; then
        pass "$name: nnc --summary's code estimate ($code bytes) is within 50% of .text ($text bytes, with the harness)"
    else
        fail "$name: nnc --summary's code estimate (${code:-?} bytes) is off from .text (${text:-?} bytes)"
    fi
    est_state=$(sed -n 's/^Device RAM: .* model state \([0-9]*\) bytes.*/\1/p' "$d/summary.txt")
    consts=$(sed -n 's/^Device flash: .* constants \([0-9]*\) bytes.*/\1/p' "$d/summary.txt")
    rodata=$(field "$d/device.txt" ".rodata")
    if [ -n "$state" ] && [ "$state" = "$est_state" ] && [ -n "$consts" ] &&
       awk -v r="$rodata" -v c="$consts" 'BEGIN { exit !(r >= c && r <= c + 16384) }'; then
        pass "$name: nnc --summary's model state ($est_state bytes) and constants ($consts bytes) match the image (state $state, .rodata $rodata)"
    else
        fail "$name: nnc --summary (state ${est_state:-?}, constants ${consts:-?}) does not match the image (state ${state:-?}, .rodata ${rodata:-?})"
    fi
}

finetune() {
    local d=$OUT/finetune
    mkdir -p "$d/gen"
    make -s "build/examples/fashion_mlp"
    build/examples/fashion_mlp --epochs 1 --limit 1000 --save "$d/pretrained.bin" | tail -n 1
    "$OUT/export" train 30000 400 "$d/train.bin" labels
    "$OUT/export" t10k 1000 300 "$d/held.bin" labels
    bin/nnc examples/fashion_mlp/fashion_mlp.nn --weights "$d/pretrained.bin" --freeze dense,dense_1 \
        --batch 1 -o "$d/gen/fashion_mlp.c"
    build_pair fashion_mlp "$d/gen" finetune_main
    run_device "$d/gen/finetune_main.elf" "$d/device.txt" "$d/train.bin" 400 "$d/held.bin" 300 3 || true
    "$d/gen/finetune_main.host" "$d/train.bin" 400 "$d/held.bin" 300 3 >"$d/host.txt"
    cat "$d/device.txt"
    local l1 l3 b a lb la ram
    l1=$(sed -n 's/^epoch 1 loss //p' "$d/device.txt")
    l3=$(sed -n 's/^epoch 3 loss //p' "$d/device.txt")
    b=$(field "$d/device.txt" "held-out accuracy before")
    a=$(field "$d/device.txt" "held-out accuracy after")
    lb=$(field "$d/device.txt" "held-out loss before")
    la=$(field "$d/device.txt" "held-out loss after")
    ram=$(sed -n 's/^firmware: ram \([0-9]*\) bytes.*/\1/p' "$d/device.txt")
    if [ -n "$l3" ] && [ -n "$a" ] && [ -n "$ram" ] &&
       awk -v l1="$l1" -v l3="$l3" -v b="$b" -v a="$a" -v lb="$lb" -v la="$la" -v r="$ram" \
           'BEGIN { exit !(l3 < l1 && la < lb && a >= b + 2 && r <= 32768) }'; then
        pass "fine-tuning on cortex-m4: loss $l1 -> $l3, held-out $b% -> $a% (loss $lb -> $la), ram $ram bytes"
    else
        fail "fine-tuning on cortex-m4: loss ${l1:-?} -> ${l3:-?}, held-out ${b:-?}% -> ${a:-?}%, ram ${ram:-?} bytes"
    fi
    if diff <(grep -E '^(epoch|held-out)' "$d/device.txt") <(grep -E '^(epoch|held-out)' "$d/host.txt") >/dev/null; then
        pass "fine-tuning on cortex-m4 prints the host build's losses and accuracies"
    else
        fail "fine-tuning on cortex-m4 differs from the host build:"
        diff <(grep -E '^(epoch|held-out)' "$d/device.txt") <(grep -E '^(epoch|held-out)' "$d/host.txt") || true
    fi
}

aarch64() {
    local d=$OUT/aarch64 name up
    mkdir -p "$d"
    # the GEMM variants of an aarch64 build (the NEON kernel) against the reference
    aarch64-linux-gnu-gcc -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -Iruntime -Itests tests/gemm_check.c \
        runtime/*.c -lm -o "$d/gemm_check"
    if qemu-aarch64 -L /usr/aarch64-linux-gnu "$d/gemm_check" >"$d/gemm_check.out" 2>&1 &&
        grep -q "6x16__neon ok" "$d/gemm_check.out"; then
        pass "GEMM on aarch64 (qemu): $(grep -c ' ok$' "$d/gemm_check.out") entry points, the NEON kernel among them, match the reference"
    else
        fail "GEMM on aarch64 (qemu):"
        cat "$d/gemm_check.out"
    fi
    for name in fashion_cnn_small lstm_sine text_lstm; do
        up=$(upper "$name")
        local defs=(-DNNC_MODEL="$name" -DNNC_UPPER="$up" "-DNNC_HEADER=\"$name.h\"")
        aarch64-linux-gnu-gcc -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -Iruntime -Igenerated "${defs[@]}" \
            tests/model_check.c "generated/$name.c" runtime/*.c -lm -o "$d/$name"
        cc -std=c99 -O2 -Iruntime -Igenerated "${defs[@]}" tests/model_check.c "generated/$name.c" \
            build/libnnc_rt.a -lm -o "$d/$name.x86"
        qemu-aarch64 -L /usr/aarch64-linux-gnu "$d/$name" gradcheck >"$d/$name.grad" 2>&1 || true
        qemu-aarch64 -L /usr/aarch64-linux-gnu "$d/$name" outputs >"$d/$name.out" 2>&1 || true
        "$d/$name.x86" outputs >"$d/$name.x86.out"
        local bad checked err
        bad=$(field "$d/$name.grad" bad)
        checked=$(field "$d/$name.grad" checked)
        err=$(paste -d' ' "$d/$name.out" "$d/$name.x86.out" | awk '$1 == "out" || $1 == "loss" {
                e = $2 - $4; if (e < 0) e = -e; m = $4 < 0 ? -$4 : $4; if (m < 1) m = 1;
                if (e / m > w) w = e / m; n++ } END { print n ? w + 0 : "inf" }')
        if [ "${bad:-1}" = 0 ] && [ "${checked:-0}" -ge 10 ] && awk -v e="$err" 'BEGIN { exit !(e <= 1e-4) }'; then
            pass "$name on aarch64 (qemu): $checked gradients checked, outputs within $err of x86"
        else
            fail "$name on aarch64 (qemu): gradients bad ${bad:-?} of ${checked:-?}, output err $err"
            cat "$d/$name.grad"
        fi
    done
}

single=0
case "${1:-test}" in
infer)
    # one example: the device's own report comes last, ending with its
    # "firmware: ram ..." line; the status tells whether the checks passed
    need "$ARMCC" qemu-system-arm
    host_tools
    single=1
    infer "${2:?usage: tests/firmware.sh infer NAME}"
    echo "--- the device's report (qemu mps2-an386):"
    cat "$OUT/$2/device.txt"
    exit $((failed > 0)) ;;
finetune)
    need "$ARMCC" qemu-system-arm
    host_tools
    finetune ;;
aarch64)
    need aarch64-linux-gnu-gcc qemu-aarch64
    host_tools
    aarch64 ;;
test)
    need "$ARMCC" qemu-system-arm aarch64-linux-gnu-gcc qemu-aarch64
    host_tools
    for e in fashion_mlp fashion_mlp_small binary_classifier lstm_sine text_lstm; do infer "$e"; done
    finetune
    aarch64 ;;
*)
    echo "usage: tests/firmware.sh infer NAME | finetune | aarch64 | test" >&2
    exit 2 ;;
esac
echo "firmware checks: $failed failed"
[ "$failed" = 0 ]
