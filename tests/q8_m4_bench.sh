#!/usr/bin/env bash
# tests/q8_m4_bench.sh — the int8 kernels on qemu's mps2-an386 (Cortex-M4F):
# bit-exactness against the references and instructions per layer of the
# seed MLP and small CNN and of the DS-CNN's and MobileNet's depthwise
# layers (tests/q8_m4_bench.c), built as tests/firmware.sh
# builds firmware (-Os, the DSP extension of -mcpu=cortex-m4) and measured
# by its method (SysTick x 40 under -icount shift=0).  Exit status 1 when a
# kernel differs from its reference.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=build/q8_m4
mkdir -p "$OUT"
OPT=${Q8_M4_OPT:--Os}
FLAGS=(-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 "$OPT" -std=c99
       -Wall -Wextra -Werror -ffunction-sections -fdata-sections)
arm-none-eabi-gcc "${FLAGS[@]}" -c firmware/board_mps2.c -o "$OUT/board.o"
arm-none-eabi-gcc "${FLAGS[@]}" -Iruntime -Ifirmware -Itests tests/q8_m4_bench.c firmware/fw_format.c \
    runtime/*.c "$OUT/board.o" -T firmware/mps2_an386.ld -nostartfiles --specs=nano.specs \
    -Wl,--gc-sections -lm -o "$OUT/q8_m4_bench.elf"
timeout 600 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none -icount shift=0 \
    -semihosting-config enable=on,target=native,arg=q8 -kernel "$OUT/q8_m4_bench.elf" | tee "$OUT/log.txt"
