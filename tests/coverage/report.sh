#!/bin/sh
# Line and branch coverage of each backend file, from the profiles the
# instrumented suites left in BUILD/prof (make coverage), and the floors of
# tests/coverage/floors.txt: any file below its floor fails the run.
# usage: tests/coverage/report.sh BUILD
set -eu
b=${1:?usage: $0 BUILD}
here=$(dirname "$0")
prof=$b/prof
ls "$prof"/*.profraw > /dev/null 2>&1 || { echo "coverage: no profiles in $prof" >&2; exit 1; }
llvm-profdata-14 merge -sparse "$prof"/*.profraw -o "$b/all.profdata"
objs=""
for f in "$b"/virtio-grant-sim "$b"/tests/*; do
    [ -f "$f" ] && [ -x "$f" ] && objs="$objs -object $f"
done
# shellcheck disable=SC2086 # one -object per binary
llvm-cov-14 export -format=text -summary-only -instr-profile="$b/all.profdata" $objs \
    > "$b/coverage.json"
python3 "$here/floors.py" "$b/coverage.json" "$here/floors.txt"
