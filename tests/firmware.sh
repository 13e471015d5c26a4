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
#   infer NAME int8  (make firmware EXAMPLE=NAME QUANT=int8) the float32
#                 build as above, then the same weights quantized:
#                 nnc --quantize int8 --calibrate CALIB.npy (500 samples of
#                 the example's training data: Fashion-MNIST as the example's
#                 driver shapes it, firmware/export.c --as; random inputs
#                 from prep for the examples on synthetic data), run on the
#                 same inputs on the board and on the host: the outputs must
#                 be equal (int8 arithmetic is exact; a float softmax at the
#                 end may differ by the two libms' expf, 1e-5), and the
#                 instructions, RAM and flash are printed beside float32's.
#                 An nnc that refuses --quantize is reported as such.
#   accuracy NAME [COUNT]  (make int8-accuracy EXAMPLE=NAME) on the host:
#                 the example trained briefly (tests/examples.sh's settings),
#                 compiled for inference as float32 and as int8 (calibrated
#                 as above), both evaluated on the first COUNT (2000) test
#                 samples of its stand-in data: accuracy, or an
#                 autoencoder's reconstruction mse, side by side, and how
#                 often the two builds agree on the class; int8 must be
#                 within 1.0 point of float32 (an mse within 5 %), issue
#                 20's floors.  Examples trained on Fashion-MNIST only.
#   aarch64       the runtime's GEMM variants (the NEON kernel among them)
#                 against the reference (tests/gemm_check.c), and three
#                 generated models, built with aarch64-linux-gnu-gcc, run
#                 under qemu-aarch64: gradient checks pass and outputs equal
#                 the x86 build's within 1e-4.
#
#   int8-test     (make check-firmware-int8, in make test) infer fashion_mlp
#                 int8 as above; its instructions, RAM and flash must be
#                 within issue 20's floors (372,000 / 2,340 B / 250,000 B).
#
# Usage: tests/firmware.sh infer NAME [int8] | accuracy NAME [COUNT] | finetune | aarch64 | int8-test | test
# (test: what make test runs).  Every check prints PASS/FAIL; the exit
# status is nonzero on any failure.  The figures the device prints end with
# its `firmware: ram N bytes, flash N bytes, stack N bytes` line, which is
# the last line of `infer NAME` (make firmware).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=build/firmware
PY=${PYTHON:-/usr/bin/python3}
NNC_Q8=${NNC_Q8:-bin/nnc}   # the nnc that makes the int8 builds
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

# rt_archive CC AR LIB FLAGS...: the runtime's files compiled once into LIB
# (the first call of a run; later builds link it): the same objects as
# giving runtime/*.c to each build, without compiling them again each time
rt_archive() {
    local cc=$1 ar=$2 lib=$3 objs
    shift 3
    [ -f "$lib.done" ] && return 0
    objs=$(dirname "$lib")/$(basename "$lib" .a).objs
    rm -rf "$objs" "$lib"; mkdir -p "$objs"
    (cd "$objs" && "$cc" "$@" -I"$OLDPWD/runtime" -c "${RT_SRCS[@]/#/$OLDPWD/}") && "$ar" rcs "$lib" "$objs"/*.o &&
        touch "$lib.done"
}
RT_SRCS=(runtime/*.c)
rm -f "$OUT"/rt_*.a.done   # a new run compiles the runtime as it is now

# device and host programs from firmware/MAIN.c and the generated DIR/NAME.c
build_pair() {
    local name=$1 dir=$2 main=$3 up
    up=$(upper "$name")
    local defs=(-DNNC_MODEL="$name" -DNNC_UPPER="$up" "-DNNC_HEADER=\"$name.h\"")
    # an int8 build that takes int8 input: the harness calls predict_int8,
    # and the float entry point and its input buffer are left out
    if grep -q "^#define ${up}_INT8_INPUT 1" "$dir/$name.h"; then defs+=("-D${up}_INT8_INPUT_ONLY"); fi
    "$ARMCC" "${ARMFLAGS[@]}" -c firmware/board_mps2.c -o "$dir/board.o"
    rt_archive "$ARMCC" arm-none-eabi-ar "$OUT/rt_m4.a" "${ARMFLAGS[@]}" -Wpedantic
    "$ARMCC" "${ARMFLAGS[@]}" -Wpedantic -Iruntime -I"$dir" -Ifirmware "${defs[@]}" \
        "firmware/$main.c" firmware/fw_format.c "$dir/$name.c" "$OUT/rt_m4.a" "$dir/board.o" \
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

# the stand-in data (examples/common/standin.h) an example is trained on,
# when it is Fashion-MNIST: fashion (the images as they are), kws, vww, ic, ad
standin_kind() {
    case "$1" in
    fashion_*) echo fashion ;;
    cnn_32x32 | ic_*) echo ic ;;
    kws_* | vww_* | ad_*) echo "${1%%_*}" ;;
    esac
}

# the figures of a device report: "instructions ram flash"
figures() {
    local ins ram flash
    ins=$(field "$1" "instructions per inference (ticks x 40 under qemu -icount shift=0)")
    ram=$(sed -n 's/^firmware: ram \([0-9]*\) bytes.*/\1/p' "$1")
    flash=$(sed -n 's/^firmware: ram .* flash \([0-9]*\) bytes.*/\1/p' "$1")
    echo "${ins:-?} ${ram:-?} ${flash:-?}"
}

# refused WHAT STATUS ERRFILE: nnc did not make the int8 build; why, plainly
refused() {
    case "$2" in
    3) fail "$1: nnc refused to quantize it (exit 3): $(head -n 1 "$3")" ;;
    2) fail "$1: this nnc does not take --quantize int8 --calibrate (exit 2: $(head -n 1 "$3"))" ;;
    *) fail "$1: nnc failed (exit $2): $(head -n 1 "$3")" ;;
    esac
}

# infer_int8 NAME: after infer NAME (its weights and inputs), the int8 build
infer_int8() {
    local name=$1 d=$OUT/$1 q=$OUT/$1/int8 kind dims calib status tol err same total
    rm -rf "$q"     # nothing of an earlier run may pass for this one's
    mkdir -p "$q/gen"
    kind=$(standin_kind "$name")
    if [ -n "$kind" ]; then
        dims=$(sed -n 's/^ *input [A-Za-z0-9_]*: *f32\[\([0-9, ]*\)\].*/\1/p' "examples/$name/$name.nn" |
               head -n 1 | tr -d ' ')
        calib=$q/calib.npy
        "$OUT/export" --as "$kind" train 0 500 "$calib" "$dims"
    else    # synthetic data: prep's random inputs (the same generator as the inputs)
        calib=$q/calib.f32
        "$d/prep" "$q/unused.bin" "$calib" 500
    fi
    status=0
    "$NNC_Q8" "examples/$name/$name.nn" --inference --weights "$d/weights.bin" --batch 1 \
        --quantize int8 --calibrate "$calib" -o "$q/gen/$name.c" 2>"$q/nnc.err" || status=$?
    if [ "$status" != 0 ]; then
        refused "$name int8" "$status" "$q/nnc.err"
        return
    fi
    "$NNC_Q8" "examples/$name/$name.nn" --inference --weights "$d/weights.bin" --batch 1 \
        --quantize int8 --calibrate "$calib" --summary >"$q/summary.txt" 2>&1 || true
    build_pair "$name" "$q/gen" infer_main
    run_device "$q/gen/infer_main.elf" "$q/device.txt" "$d/inputs.bin" "$q/device.bin" 20 || true
    "$q/gen/infer_main.host" "$d/inputs.bin" "$q/host.bin" 20 >"$q/host.txt"
    [ "$single" = 1 ] || cat "$q/device.txt"
    # int8 is integer arithmetic: equal bits, but for a float softmax at the
    # end (the last layer of the float model's summary), which goes through
    # each side's own expf
    tol=0
    if sed -n '/^=====/q;p' "$d/summary.txt" | tail -n 1 | grep -q softmax; then tol=1e-5; fi
    err=$(max_err "$q/device.bin" "$q/host.bin")
    same=$(cmp -l "$q/device.bin" "$q/host.bin" 2>/dev/null | wc -l || true)
    total=$(stat -c %s "$q/host.bin")
    if awk -v e="$err" -v t="$tol" 'BEGIN { exit !(e <= t) }'; then
        pass "$name int8 on cortex-m4: outputs equal the host build's (max err $err, tolerance $tol; $same of $total bytes differ)"
    else
        fail "$name int8 on cortex-m4: outputs differ from the host build's (max err $err, tolerance $tol)"
    fi
    # the packed dense weights (the device's layout) against (m, k) (the
    # host's), both on the host, same libm: the same bits
    local up defs
    up=$(upper "$name")
    defs=(-DNNC_MODEL="$name" -DNNC_UPPER="$up" "-DNNC_HEADER=\"$name.h\"")
    if grep -q "^#define ${up}_INT8_INPUT 1" "$q/gen/$name.h"; then defs+=("-D${up}_INT8_INPUT_ONLY"); fi
    cc -std=c99 -O2 -Wall -Wextra -Werror -Iruntime -I"$q/gen" -Ifirmware "${defs[@]}" -DNNC_RT_Q8_PACKED=1 \
        firmware/infer_main.c firmware/fw_format.c firmware/board_host.c "$q/gen/$name.c" \
        build/libnnc_rt.a -lm -o "$q/gen/infer_main.packed"
    "$q/gen/infer_main.packed" "$d/inputs.bin" "$q/host_packed.bin" 20 >/dev/null
    if grep -q "NNC_RT_Q8_DENSE(" "$q/gen/$name.c" && cmp -s "$q/host_packed.bin" "$q/host.bin"; then
        pass "$name int8: packed dense weights give the bits of (m, k) ones (host, both layouts)"
    elif ! grep -q "NNC_RT_Q8_DENSE(" "$q/gen/$name.c"; then
        pass "$name int8: no int8 dense layer (the weight layouts not compared)"
    else
        fail "$name int8: packed dense weights give other outputs than (m, k) ones"
    fi
    # predict_int8 on the quantized inputs against predict on the floats
    # (the host, without INT8_INPUT_ONLY): the same bits
    if grep -q "^#define ${up}_INT8_INPUT 1" "$q/gen/$name.h"; then
        cc -std=c99 -O2 -Wall -Wextra -Werror -Iruntime -I"$q/gen" -Ifirmware -DNNC_MODEL="$name" -DNNC_UPPER="$up" \
            "-DNNC_HEADER=\"$name.h\"" -DFW_FLOAT_API firmware/infer_main.c firmware/fw_format.c \
            firmware/board_host.c "$q/gen/$name.c" build/libnnc_rt.a -lm -o "$q/gen/infer_main.float_api"
        "$q/gen/infer_main.float_api" "$d/inputs.bin" "$q/host_float_api.bin" 20 >/dev/null
        if cmp -s "$q/host_float_api.bin" "$q/host.bin"; then
            pass "$name int8: ${name}_predict_int8 on quantized inputs gives predict's bits on the floats (host)"
        else
            fail "$name int8: ${name}_predict_int8 differs from ${name}_predict (host)"
        fi
    fi
    local f32 i8
    read -r -a f32 <<<"$(figures "$d/device.txt")"
    read -r -a i8 <<<"$(figures "$q/device.txt")"
    echo "--- $name on qemu mps2-an386 (Cortex-M4F): instructions / RAM / flash per inference"
    printf '%-8s %14s %12s %12s\n' build instructions "RAM bytes" "flash bytes" \
        float32 "${f32[0]}" "${f32[1]}" "${f32[2]}" int8 "${i8[0]}" "${i8[1]}" "${i8[2]}"
    awk -v a="${f32[0]}" -v b="${i8[0]}" -v c="${f32[1]}" -v d="${i8[1]}" -v e="${f32[2]}" -v f="${i8[2]}" \
        'BEGIN { if (a + 0 && b + 0 && c + 0 && d + 0 && e + 0 && f + 0)
                   printf "%-8s %14.3f %12.3f %12.3f\n", "int8/f32", b / a, d / c, f / e }'
}

# int8_floors NAME INS RAM FLASH: the int8 device's figures against issue
# 20's floors (0.8x CMSIS-NN's instructions; its RAM and flash), printed
int8_floors() {
    local name=$1 i8
    read -r -a i8 <<<"$(figures "$OUT/$name/int8/device.txt")"
    if awk -v a="${i8[0]}" -v b="${i8[1]}" -v c="${i8[2]}" -v x="$2" -v y="$3" -v z="$4" \
           'BEGIN { exit !(a + 0 > 0 && a <= x && b + 0 > 0 && b <= y && c + 0 > 0 && c <= z) }'; then
        pass "$name int8 on cortex-m4 within its floors: instructions ${i8[0]} <= $2, RAM ${i8[1]} <= $3 B, flash ${i8[2]} <= $4 B"
    else
        fail "$name int8 on cortex-m4 misses its floors: instructions ${i8[0]} (<= $2), RAM ${i8[1]} B (<= $3), flash ${i8[2]} B (<= $4)"
    fi
}

# the training run of accuracy NAME: tests/examples.sh's short settings
train_args() {
    case "$1" in
    kws_dscnn) echo "--epochs 3 --limit 10000 --test-limit 1" ;;
    vww_mobilenet) echo "--epochs 1 --limit 6000 --test-limit 1" ;;
    ic_resnet8) echo "--epochs 2 --limit 8000 --test-limit 1" ;;
    ad_autoencoder) echo "--test-limit 100" ;;
    fashion_cnn_small | fashion_mlp | fashion_mlp_small) echo "--epochs 2 --limit 20000 --test-limit 1" ;;
    *) echo "--epochs 1 --limit 10000 --test-limit 1" ;;
    esac
}

# accuracy NAME COUNT: float32 against int8 on the host
accuracy() {
    local name=$1 count=$2 d=$OUT/accuracy/$1 up kind dims status b r f32 i8
    up=$(upper "$name")
    kind=$(standin_kind "$name")
    if [ -z "$kind" ] || [ ! -f "examples/$name/$name.nn" ]; then
        fail "$name: accuracy compares builds of the .nn examples trained on Fashion-MNIST"
        return
    fi
    rm -rf "$d"
    mkdir -p "$d/f32" "$d/int8"
    make -s "build/examples/$name"
    # shellcheck disable=SC2046
    "build/examples/$name" ${ACC_TRAIN_ARGS-$(train_args "$name")} --save "$d/trained.bin" >"$d/train.txt"
    dims=$(sed -n 's/^ *input [A-Za-z0-9_]*: *f32\[\([0-9, ]*\)\].*/\1/p' "examples/$name/$name.nn" |
           head -n 1 | tr -d ' ')
    "$OUT/export" --as "$kind" train 0 500 "$d/calib.npy" "$dims"
    "$OUT/export" --as "$kind" t10k 0 "$count" "$d/test.bin" - "$d/labels.bin"
    local defs=(-DNNC_MODEL="$name" -DNNC_UPPER="$up" "-DNNC_HEADER=\"$name.h\"")
    for b in f32 int8; do
        local q=()
        [ "$b" = int8 ] && q=(--quantize int8 --calibrate "$d/calib.npy")
        status=0
        "$([ "$b" = int8 ] && echo "$NNC_Q8" || echo bin/nnc)" "examples/$name/$name.nn" --inference \
            --weights "$d/trained.bin" --batch 1 "${q[@]}" -o "$d/$b/$name.c" 2>"$d/$b/nnc.err" || status=$?
        if [ "$status" != 0 ]; then
            if [ "$b" = int8 ]; then refused "$name int8" "$status" "$d/$b/nnc.err"
            else fail "$name float32: nnc failed (exit $status): $(head -n 1 "$d/$b/nnc.err")"; fi
            return
        fi
        cc -std=c99 -O2 -Wall -Wextra -Werror -Iruntime -I"$d/$b" "${defs[@]}" firmware/eval.c "$d/$b/$name.c" \
            build/libnnc_rt.a -lm -o "$d/$b/eval"
        "$d/$b/eval" "$d/test.bin" "$d/labels.bin" "$count" "$d/$b/out.bin" >"$d/$b/result.txt"
    done
    f32=$(cat "$d/f32/result.txt")
    i8=$(cat "$d/int8/result.txt")
    # how often the builds pick the same class (an autoencoder: its mse's change)
    r=$("$PY" -c 'import array, sys
a, b = array.array("f"), array.array("f")
a.frombytes(open(sys.argv[1], "rb").read()); b.frombytes(open(sys.argv[2], "rb").read())
n, k = int(sys.argv[3]), len(a) // int(sys.argv[3])
same = sum(max(range(k), key=lambda j: a[i * k + j]) == max(range(k), key=lambda j: b[i * k + j]) for i in range(n))
print("%.2f" % (100.0 * same / n))' "$d/f32/out.bin" "$d/int8/out.bin" "$count")
    # issue 20's floors: within 1.0 point of float32, an autoencoder's mse within 5 %
    case "$f32" in
    accuracy*)
        f32=${f32#accuracy }
        i8=${i8#accuracy }
        echo "$name on $count test samples: float32 accuracy $f32%, int8 $i8%; the two builds agree on $r% of the classes"
        if awk -v a="$f32" -v b="$i8" 'BEGIN { exit !(b >= a - 1.0) }'; then
            pass "$name int8: accuracy $i8% within 1.0 point of float32's $f32%"
        else
            fail "$name int8: accuracy $i8% more than 1.0 point below float32's $f32%"
        fi ;;
    *)
        f32=${f32#mse }
        i8=${i8#mse }
        echo "$name on $count test samples: float32 reconstruction mse $f32, int8 $i8"
        if awk -v a="$f32" -v b="$i8" 'BEGIN { exit !(b <= 1.05 * a) }'; then
            pass "$name int8: reconstruction mse $i8 within 5% of float32's $f32"
        else
            fail "$name int8: reconstruction mse $i8 more than 5% above float32's $f32"
        fi ;;
    esac
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
    rt_archive aarch64-linux-gnu-gcc aarch64-linux-gnu-ar "$OUT/rt_aarch64.a" -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror
    aarch64-linux-gnu-gcc -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -Iruntime -Itests tests/gemm_check.c \
        "$OUT/rt_aarch64.a" -lm -o "$d/gemm_check"
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
            tests/model_check.c "generated/$name.c" "$OUT/rt_aarch64.a" -lm -o "$d/$name"
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
    case "${3:-${QUANT:-}}" in
    "" | f32 | float32) quant= ;;
    int8) quant=int8 ;;
    *) echo "usage: tests/firmware.sh infer NAME [int8] (QUANT=${3:-${QUANT:-}} is not a build nnc makes)" >&2
       exit 2 ;;
    esac
    infer "${2:?usage: tests/firmware.sh infer NAME [int8]}"
    if [ -n "$quant" ]; then
        infer_int8 "$2"
        if [ -s "$OUT/$2/int8/device.txt" ]; then
            echo "--- the int8 device's report (qemu mps2-an386):"
            cat "$OUT/$2/int8/device.txt"
        fi
    else
        echo "--- the device's report (qemu mps2-an386):"
        cat "$OUT/$2/device.txt"
    fi
    exit $((failed > 0)) ;;
accuracy)
    host_tools
    accuracy "${2:?usage: tests/firmware.sh accuracy NAME [COUNT]}" "${3:-2000}" ;;
finetune)
    need "$ARMCC" qemu-system-arm
    host_tools
    finetune ;;
int8-test)
    # make test's int8 check: fashion_mlp's int8 build on the device equals
    # the host's, within issue 20's floors (the float32 build it starts from
    # is checked by firmware-test)
    need "$ARMCC" qemu-system-arm
    host_tools
    single=1
    f=$failed
    infer fashion_mlp >"$OUT/fashion_mlp.f32.log"
    failed=$f
    infer_int8 fashion_mlp
    int8_floors fashion_mlp 372000 2340 250000 ;;
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
    echo "usage: tests/firmware.sh infer NAME [int8] | accuracy NAME [COUNT] | finetune | aarch64 | int8-test | test" >&2
    exit 2 ;;
esac
echo "firmware checks: $failed failed"
[ "$failed" = 0 ]
