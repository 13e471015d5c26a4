#!/bin/sh
# smoke.sh — one harness's smoke test (make fuzz-smoke): every file of
# tests/fuzz/regress/TARGET must pass, then RUNS inputs generated from the
# seeds with a fixed random seed (the same inputs every run) must too.
# usage: smoke.sh TARGET RUNS "LIBFUZZER OPTIONS"
set -u
t=$1 runs=$2 opts=$3
b=build/fuzz
bin=$b/fuzz_$t log=$b/smoke/$t.log
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
rm -rf "$b/smoke/$t" && mkdir -p "$b/smoke/$t" "$b/artifacts/$t"

n=$(ls tests/fuzz/regress/$t 2>/dev/null | wc -l)
if [ "$n" -gt 0 ] && ! "$bin" tests/fuzz/regress/$t/* >"$log" 2>&1; then
    grep -A 12 'ERROR\|runtime error' "$log" | head -n 40
    echo "fuzz-smoke: fuzz_$t fails on a regression input of tests/fuzz/regress/$t (above; the last 'Running:' line of $log names it)"
    exit 1
fi

# shellcheck disable=SC2086
if "$bin" $opts -artifact_prefix="$b/artifacts/$t/" -runs="$runs" -seed=1 "$b/smoke/$t" "$b/seeds/$t" >"$log" 2>&1; then
    echo "fuzz_$t: $n regression inputs pass; $runs generated: $(grep -o 'DONE .*ft: [0-9]*' "$log" | tail -n 1)"
    exit 0
fi
first=$(grep -o ' /[^ ]*/\(compiler\|runtime\|tests\)/[^ :]*' "$log" | head -n 1 | sed 's#.*/\(compiler/\|runtime/\|tests/\)#\1#')
unit=$(grep -o "Test unit written to [^ ]*" "$log" | tail -n 1 | cut -d' ' -f5)
grep -A 12 'ERROR\|runtime error' "$log" | head -n 40
echo "fuzz-smoke: fuzz_$t fails on a generated input (first nnc frame: ${first:-none}); the input is $unit, the log $log"
exit 1
