#!/bin/bash
# make fuzz / make fuzz-long: run each harness for SECONDS from its committed
# corpus (tests/fuzz/corpus/NAME, read only) plus a working corpus in
# build/fuzz/corpus/NAME, JOBS harnesses at a time (the cores), then print
# execs, execs/s, edges and findings per harness.  A crash leaves its input in
# build/fuzz/artifacts/ and fails the run.  MERGE=1 then replaces each
# committed corpus with the minimal set (libFuzzer -merge=1) that covers it
# and what the run found, plus the named seeds: that is how the corpora in
# the repo grow and stay minimal.
# usage: run.sh BIN_DIR SECONDS NAME...
set -eu
bin=$1 secs=$2
shift 2
top=$(cd "$(dirname "$0")/../.." && pwd)
out="$top/build/fuzz"
jobs=${JOBS:-2}
rm -rf "$out/artifacts" # findings are this run's
mkdir -p "$out/artifacts"

run_one() {
    local name=$1 work="$out/corpus/$1" log="$out/fuzz_$1.log"
    mkdir -p "$work"
    if "$bin/fuzz_$name" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
        -rss_limit_mb=2048 -artifact_prefix="$out/artifacts/$name-" \
        "$work" "$top/tests/fuzz/corpus/$name" > "$log" 2>&1; then
        echo ok > "$out/fuzz_$name.status"
    else
        echo FAILED > "$out/fuzz_$name.status"
    fi
}

for name in "$@"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
        wait -n || true
    done
    echo "== fuzz_$name for $secs s"
    rm -f "$out/fuzz_$name.status"
    run_one "$name" &
done
wait

rc=0
printf '\n%-15s %-7s %11s %8s %6s %6s %8s\n' harness result execs exec/s edges feats findings
for name in "$@"; do
    log="$out/fuzz_$name.log"
    st=$(cat "$out/fuzz_$name.status" 2>/dev/null || echo FAILED)
    if [ "$st" != ok ]; then
        rc=1
        grep -E "ERROR|SUMMARY|still mapped|Test unit written|fuzz_$name:" "$log" | head -n 10 >&2 || true
    fi
    execs=$(awk -F: '/stat::number_of_executed_units/ { gsub(/ /, "", $4); print $4 }' "$log")
    rate=$(awk -F: '/stat::average_exec_per_sec/ { gsub(/ /, "", $4); print $4 }' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n1 | cut -d' ' -f2)
    found=$(find "$out/artifacts" -name "$name-*" 2>/dev/null | wc -l)
    printf '%-15s %-7s %11s %8s %6s %6s %8s\n' "fuzz_$name" "$st" "${execs:-?}" "${rate:-?}" \
        "${cov:-?}" "${ft:-?}" "$found"
done

if [ "${MERGE:-0}" = 1 ] && [ $rc = 0 ]; then
    for name in "$@"; do
        keep="$top/tests/fuzz/corpus/$name" new="$out/merged/$name"
        rm -rf "$new"
        mkdir -p "$new"
        "$bin/fuzz_$name" -merge=1 "$new" "$keep" "$out/corpus/$name" > "$out/merge_$name.log" 2>&1
        # The committed corpus becomes the minimal set that keeps every feature seen.
        rm -f "$keep"/*
        cp "$new"/* "$keep"/
    done
    # The named seeds come back under their names (make-seeds.py drops their hash-named copies).
    python3 "$top/tests/fuzz/make-seeds.py"
    for name in "$@"; do
        echo "corpus $name: $(find "$top/tests/fuzz/corpus/$name" -type f | wc -l) files"
    done
fi
exit $rc
