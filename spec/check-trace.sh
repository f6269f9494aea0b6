#!/bin/sh
# make spec-check: list every requirement of the draft with its keyword and
# the test that covers it; fail if a requirement has no trace line, if a cited
# test does not exist, does not run, or does not carry the requirement's
# marker at an assertion, or if a device-side MUST has no such test.  A
# requirement this implementation cannot meet or break (a transport or a
# device type it does not have) is marked n/a, with the reason.
set -eu
cd "$(dirname "$0")/.."
# The requirements are in the text the patch series adds to the base spec.
tex="spec/virtio/grant-addressing.tex spec/virtio/grant-pool.tex"
trace=spec/trace.tsv
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
# ID and the strongest RFC 2119 keyword of its item (items may span lines).
awk '
function flush() { if (id != "") print id "\t" (txt ~ /MUST/ ? "MUST" : txt ~ /SHOULD/ ? "SHOULD" : txt ~ /MAY/ ? "MAY" : "?"); id = "" }
/\\reqid\{[A-Z0-9-]+\}/ { flush(); match($0, /\\reqid\{[A-Z0-9-]+\}/);
                          id = substr($0, RSTART + 7, RLENGTH - 8); txt = "" }
/\\item|\\end\{itemize\}|^$/ && !/\\reqid/ { flush() }
id != "" { txt = txt " " $0 }
END { flush() }
' $tex > "$tmp"
# body FILE FUNCTION: the lines of FUNCTION's body, from its definition (a C
# definition starts its line with the return type, a shell one with
# "name()") to the "}" that starts a line.
body() {
    awk -v fn="$2" '
        !inside && ($0 ~ "^[a-z].*[ *]" fn "\\(" || $0 ~ "^" fn "\\(\\)") && $0 !~ /;$/ {
            inside = 1; print "{"; next }
        inside && /^}/ { exit }
        inside { print }' "$1"
}

# evidence_problem ID FILE:FUNCTION: empty when FUNCTION in FILE carries the
# marker "spec: ID" on an assertion's line or on the line before one, and
# runs: a test its cmocka suite registers, or a helper such a test calls
# (C suites); otherwise why not.  A patch is not evidence: what it does is
# shown by the test that runs it.
evidence_problem() {
    f=${2%%:*} fn=${2#*:}
    case $f in
    tests/*.c | tests/*.sh) ;;
    *) echo "evidence is a test under tests/, not $f"; return ;;
    esac
    [ -f "$f" ] || { echo "no such file"; return; }
    b=$(body "$f" "$fn")
    [ -n "$b" ] || { echo "no function $fn"; return; }
    printf '%s\n' "$b" | awk -v id="$1" '
        armed && /assert|fail|expect|pass[ (]/ { ok = 1 }
        { armed = 0 }
        index($0, "spec: " id) {
            rest = substr($0, index($0, "spec: " id) + length("spec: " id))
            if (rest ~ /^[0-9]/) next  # FEAT-1 is not FEAT-10
            if ($0 ~ /assert|fail|expect|pass[ (]/) ok = 1; else armed = 1
        }
        END { exit !ok }' ||
        { echo "no \"spec: $1\" marker at an assertion in $fn"; return; }
    case $f in
    tests/unit/*.c | tests/integration/*.c) ;;
    *) return ;;
    esac
    registered=$(grep -oE "(cmocka_unit_test[a-z_]*|[^a-z_]TA?)\([a-z0-9_]+" "$f" | sed 's/.*(//')
    for t in $registered; do
        [ "$t" = "$fn" ] && return
    done
    for t in $registered; do
        body "$f" "$t" | grep -q "[^a-z0-9_]$fn(" && return
    done
    echo "$fn is neither a test its suite runs nor called by one"
}

# The checker can refuse: evidence without the marker, a patch, a helper no
# test calls.
for probe in "GRT-DEV-FEAT-1 tests/integration/test_hostile.c:test_c12_wrong_domid" \
             "GRT-DRV-ACC-1 frontend-linux/series:x" \
             "GRT-DEV-ERR-3 tests/integration/test_hostile.c:main"; do
    # shellcheck disable=SC2086
    if [ -z "$(evidence_problem $probe)" ]; then
        echo "spec-check: the checker accepts bad evidence ($probe)" >&2
        exit 1
    fi
done

bad=0
total=0; dev=0; dev_cov=0; dev_na=0; dev_must=0; dev_must_cov=0; drv=0; drv_cov=0
printf '%-16s %-10s %-10s %s\n' ID keyword status evidence
while IFS='	' read -r id kw; do
    total=$((total + 1))
    line=$(awk -F'\t' -v id="$id" '$1 == id' "$trace")
    if [ -z "$line" ]; then
        echo "spec-check: $id has no line in $trace" >&2
        bad=1
        continue
    fi
    status=$(printf '%s' "$line" | cut -f2)
    ev=$(printf '%s' "$line" | cut -f3)
    if [ "$status" = covered ]; then
        [ -n "$ev" ] || { echo "spec-check: $id is covered by nothing" >&2; bad=1; }
        for ref in $ev; do
            why=$(evidence_problem "$id" "$ref")
            if [ -n "$why" ]; then
                echo "spec-check: $id cites $ref: $why" >&2
                bad=1
            fi
        done
    elif [ "$status" = uncovered ] || [ "$status" = n/a ]; then
        [ -n "$ev" ] || { echo "spec-check: $id is $status without a reason" >&2; bad=1; }
    else
        echo "spec-check: $id: status '$status' is not covered, uncovered or n/a" >&2
        bad=1
    fi
    case $id in
    *-DEV-*) dev=$((dev + 1)); [ "$status" = covered ] && dev_cov=$((dev_cov + 1))
             [ "$status" = n/a ] && dev_na=$((dev_na + 1))
             case $kw in MUST) dev_must=$((dev_must + 1))
                 [ "$status" = covered ] && dev_must_cov=$((dev_must_cov + 1))
                 if [ "$status" = uncovered ]; then
                     echo "spec-check: $id is a device-side MUST without a test" >&2
                     bad=1
                 fi ;; esac ;;
    *-DRV-*) drv=$((drv + 1)); [ "$status" = covered ] && drv_cov=$((drv_cov + 1)) ;;
    esac
    printf '%-16s %-10s %-10s %s\n' "$id" "${kw:-?}" "$status" "$ev"
done < "$tmp"
# Trace lines for requirements the draft no longer has are stale.
for id in $(awk -F'\t' '!/^#/ && $1 != "ID" { print $1 }' "$trace"); do
    grep -q "^$id	" "$tmp" || { echo "spec-check: $trace has stale $id" >&2; bad=1; }
done
summary=$(mktemp)
trap 'rm -f "$tmp" "$summary"' EXIT
{
echo "requirements: $total (device $dev, driver $drv)"
echo "device-side: $dev_cov/$dev covered, $dev_na n/a (a transport or device type this implementation does not have); with MUST or MUST NOT: $dev_must_cov/$dev_must covered"
echo "driver-side: $drv_cov/$drv covered"
} > "$summary"
echo
cat "$summary"
# The cover letter quotes these figures: it must quote today's.
while IFS= read -r l; do
    grep -qxF "    $l" spec/proposal.txt ||
        { echo "spec-check: spec/proposal.txt does not quote \"$l\"" >&2; bad=1; }
done < "$summary"
exit $bad
