#!/bin/sh
# make spec-check: list every requirement of the draft with its keyword and
# the test that covers it; fail if a requirement has no trace line, if a cited
# test does not exist, or if a device-side MUST is neither covered nor marked
# uncovered.
set -eu
cd "$(dirname "$0")/.."
tex=spec/grant-addressing.tex
trace=spec/trace.tsv
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
# ID and the strongest RFC 2119 keyword of its item (items may span lines).
awk '
function flush() { if (id != "") print id "\t" (txt ~ /MUST/ ? "MUST" : txt ~ /SHOULD/ ? "SHOULD" : txt ~ /MAY/ ? "MAY" : "?"); id = "" }
/\\reqid\{[A-Z0-9-]+\}/ { flush(); match($0, /\\reqid\{[A-Z0-9-]+\}/);
                          id = substr($0, RSTART + 7, RLENGTH - 8); txt = "" }
/\\item|\\end\{itemize\}/ && !/\\reqid/ { flush() }
id != "" { txt = txt " " $0 }
END { flush() }
' "$tex" > "$tmp"
bad=0
total=0; dev=0; dev_cov=0; dev_must=0; dev_must_cov=0; drv=0; drv_cov=0
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
            f=${ref%%:*} sym=${ref#*:}
            if [ ! -f "$f" ] || ! grep -q -- "$sym" "$f"; then
                echo "spec-check: $id cites $ref, which does not exist" >&2
                bad=1
            fi
        done
    elif [ "$status" != uncovered ]; then
        echo "spec-check: $id: status '$status' is neither covered nor uncovered" >&2
        bad=1
    fi
    case $id in
    *-DEV-*) dev=$((dev + 1)); [ "$status" = covered ] && dev_cov=$((dev_cov + 1))
             case $kw in MUST) dev_must=$((dev_must + 1))
                 [ "$status" = covered ] && dev_must_cov=$((dev_must_cov + 1)) ;; esac ;;
    *-DRV-*) drv=$((drv + 1)); [ "$status" = covered ] && drv_cov=$((drv_cov + 1)) ;;
    esac
    printf '%-16s %-10s %-10s %s\n' "$id" "${kw:-?}" "$status" "$ev"
done < "$tmp"
# Trace lines for requirements the draft no longer has are stale.
for id in $(awk -F'\t' '!/^#/ && $1 != "ID" { print $1 }' "$trace"); do
    grep -q "^$id	" "$tmp" || { echo "spec-check: $trace has stale $id" >&2; bad=1; }
done
echo
echo "requirements: $total (device $dev, driver $drv)"
echo "device-side: $dev_cov/$dev covered; with MUST or MUST NOT: $dev_must_cov/$dev_must covered, $((dev_must - dev_must_cov)) marked uncovered"
echo "driver-side: $drv_cov/$drv covered"
exit $bad
