#!/bin/sh
# triage.sh — groups the inputs a fuzzer found by what went wrong: each file
# is run once through the harness and filed under its sanitizer's summary
# and the first frames inside nnc's own code, so a hundred crash files that
# are one bug read as one line.
# usage: tests/fuzz/triage.sh HARNESS FILE...   (e.g. build/fuzz/fuzz_onnx build/fuzz/artifacts/onnx/*)
# prints: count  kind  frame <- frame <- frame  first-file
set -u
bin=$1
shift
tmp=$(mktemp)
for f in "$@"; do
    out=$(ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
          timeout 60 "$bin" -timeout=20 "$f" 2>&1)
    kind=$(printf '%s\n' "$out" | grep -o 'SUMMARY: [A-Za-z]*Sanitizer: [a-z-]*\|ERROR: libFuzzer: [a-z-]*\|runtime error: [a-z ]*' | head -n 1)
    [ -n "$kind" ] || kind="no failure"
    frames=$(printf '%s\n' "$out" | grep -o ' in [A-Za-z_0-9]* /[^ ]*/\(compiler\|runtime\)/[^ ]*' | head -n 3 |
             sed 's#.* in \([A-Za-z_0-9]*\) .*/\(compiler/\|runtime/\)\([^ ]*\).*#\1 (\2\3)#' | paste -sd '<' -)
    printf '%s\t%s\t%s\n' "$kind" "$frames" "$f" >> "$tmp"
done
sort "$tmp" | awk -F'\t' '{ key = $1 "\t" $2; if (!(key in n)) first[key] = $3; n[key]++ }
    END { for (k in n) { split(k, a, "\t"); printf "%4d  %s  %s  %s\n", n[k], a[1], a[2], first[k] } }' | sort -rn
rm -f "$tmp"
