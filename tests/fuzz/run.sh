#!/bin/sh
# make fuzz: run each harness for SECONDS from its committed seeds
# (tests/fuzz/corpus/NAME, never written to) plus a working corpus in
# build/fuzz/corpus/NAME, then print execs, execs/s and coverage per harness.
# A crash leaves its input in build/fuzz/artifacts/ and fails the run.
# usage: run.sh BIN_DIR SECONDS NAME...
set -eu
bin=$1 secs=$2
shift 2
top=$(cd "$(dirname "$0")/../.." && pwd)
out="$top/build/fuzz"
mkdir -p "$out/artifacts"
summary=""
rc=0
for name in "$@"; do
    work="$out/corpus/$name"
    mkdir -p "$work"
    log="$out/fuzz_$name.log"
    echo "== fuzz_$name for $secs s"
    if "$bin/fuzz_$name" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
        -rss_limit_mb=2048 -artifact_prefix="$out/artifacts/$name-" \
        "$work" "$top/tests/fuzz/corpus/$name" > "$log" 2>&1; then
        st=ok
    else
        st=FAILED
        rc=1
        grep -E "ERROR|SUMMARY|still mapped|Test unit written" "$log" | head -n 10 >&2 || true
    fi
    execs=$(awk -F: '/stat::number_of_executed_units/ { gsub(/ /, "", $4); print $4 }' "$log")
    rate=$(awk -F: '/stat::average_exec_per_sec/ { gsub(/ /, "", $4); print $4 }' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n1 | cut -d' ' -f2)
    summary="$summary$(printf '%-14s %-7s %10s %8s %6s %6s' "fuzz_$name" "$st" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}")
"
done
printf '\n%-14s %-7s %10s %8s %6s %6s\n' harness result execs exec/s edges feats
printf '%s' "$summary"
exit $rc
