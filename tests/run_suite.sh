#!/usr/bin/env bash
# tests/run_suite.sh — make test's runner: the suite's make targets, as many
# at a time as the machine has cores (NNC_TEST_JOBS overrides), so that a
# single-threaded check does not leave the second core idle.
#
# Each argument is a job: one target, or several separated by spaces that
# run one after the other because they write the same build outputs (the
# firmware builds under build/firmware).  Jobs are taken in the
# order given (longest first keeps the cores busy to the end).  A target's
# output goes to build/test-logs/TARGET.log and is printed whole when it
# ends, under a lock, so that two targets' lines never mix.  Every target
# runs even after a failure; the summary at the end lists each target's
# status and seconds, and the exit status is 1 when any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
logs=build/test-logs
rm -rf "$logs"
mkdir -p "$logs"
jobs=${NNC_TEST_JOBS:-$(nproc 2>/dev/null || echo 2)}

run_job() {   # $1: the job's targets
    local t start rc
    for t in $1; do
        start=$(date +%s)
        # the target's CPU seconds (its processes' user + system time, from
        # the subshell's `times`) beside its wall seconds: on a loaded
        # machine the wall figure says little about the target itself
        cpu=$( (make --no-print-directory "$t" >"$logs/$t.log" 2>&1; echo $? >"$logs/$t.exit"; times) |
               awk 'END { split($1, u, "m"); split($2, s, "m"); printf "%d", u[1] * 60 + u[2] + s[1] * 60 + s[2] }')
        rc=$(cat "$logs/$t.exit"); rm -f "$logs/$t.exit"
        echo "$rc $(( $(date +%s) - start )) $cpu" >"$logs/$t.rc"
        flock "$logs/.lock" sh -c 'echo "== make $1"; cat "$2"; [ "$3" = 0 ] || echo "== make $1: FAILED (exit $3)"' \
            _ "$t" "$logs/$t.log" "$rc"
    done
}
export -f run_job
export logs

echo "make test: ${#@} jobs, $jobs at a time; each target's output appears when it ends"
start=$(date +%s)
printf '%s\n' "$@" | xargs -d '\n' -P "$jobs" -I{} bash -c 'run_job "$1"' _ {}

failed=0
echo
echo "== make test: summary ($(( $(date +%s) - start )) s on $jobs jobs)"
for job in "$@"; do
    for t in $job; do
        if [ -f "$logs/$t.rc" ]; then
            read -r rc secs cpu <"$logs/$t.rc"
        else
            rc=missing secs=- cpu=-
        fi
        if [ "$rc" = 0 ]; then printf '  ok      %5s s %5s s cpu  %s\n' "$secs" "$cpu" "$t"
        else printf '  FAILED  %5s s %5s s cpu  %s (build/test-logs/%s.log)\n' "$secs" "$cpu" "$t" "$t"; failed=1; fi
    done
done
exit $failed
