#!/bin/sh
# Every seccomp rule of the device process is exercised, in the spirit of
# Firecracker's unused-rule check: run the simulator suites with every
# backend process traced, take each process's system calls after its
# seccomp() call (the jail), and fail if a rule that says the suites reach it
# ('serve' or 'teardown' in `virtio-grant sandbox-rules MODE ENGINE`) was never hit.
# Rules marked 'xen-only' or 'rare' are listed with their reasons instead.
# Also fails if any traced process died of SIGSYS outside the probe tests.
# A hit is matched on the call (and an ioctl's request), not on its fd: rules
# that allow one call on different fds count as one here; that each rule
# allows only its own fd is shown by test_sandbox.c's write-to-every-fd probe.
#
# usage: rule-coverage.sh BUILD_DIR      (e.g. build/gcc, after `make test`)
set -eu
build=${1:?usage: rule-coverage.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/vg-rulecov.XXXXXX)
trap '[ -n "${VG_KEEP_TRACES:-}" ] || rm -rf "$work"' EXIT
command -v strace >/dev/null || { echo "rule-coverage: strace is needed" >&2; exit 2; }

# VG_UNDER_TRACE: tests that measure time skip themselves under strace.
export VG_UNDER_TRACE=1 VG_TRACE_DIR="$work/traces" VG_REAL_BACKEND="$build/virtio-grant-sim"
export VG_BACKEND="$here/traced-backend.sh" VG_PROBE_BACKEND="$build/tests/virtio-grant-probe"
mkdir -p "$VG_TRACE_DIR"
# The suites whose devices run normally: plain serving, both memory modes,
# hostile guests, and launcher-started devices (CLOSE, DOWN).
for t in test_sim_blk test_launcher test_launcher_dd test_double_fetch; do
    echo "== rule coverage: $t under strace"
    "$build/tests/$t" > "$work/$t.log" 2>&1 || { tail -n 40 "$work/$t.log"; exit 1; }
done

# Post-jail calls of every process: everything after the filter's load
# (strace -X raw: seccomp(0x1 = SECCOMP_SET_MODE_FILTER, ...) = 0).
jail='^seccomp(0x1, .*) = 0$'
for f in "$VG_TRACE_DIR"/t.*; do
    sed -n "/$jail/,\$p" "$f" | sed 1d
done > "$work/after-jail"
ntr=$(ls "$VG_TRACE_DIR" | wc -l)
njail=$(grep -l "$jail" "$VG_TRACE_DIR"/t.* | wc -l)
echo "rule coverage: $ntr processes traced, $njail of them jailed"
[ "$njail" -gt 0 ] || { echo "rule coverage: no jailed process was traced" >&2; exit 1; }
if grep -l 'killed by SIGSYS' "$VG_TRACE_DIR"/t.* >/dev/null 2>&1; then
    echo "rule coverage: a backend process died of SIGSYS:" >&2
    grep -B3 'killed by SIGSYS' "$VG_TRACE_DIR"/t.* | tail -n 8 >&2
    exit 1
fi

hit() { # hit NAME [IOCTLNUM]
    if [ $# -eq 2 ]; then
        grep -q "^ioctl([0-9]*, $2[,)]" "$work/after-jail"
    else
        grep -q "^$1(" "$work/after-jail"
    fi
}

fails=0
# Both image engines: test_sim_blk runs the sync one (--aio=sync, and a host
# refusing io_uring) beside the default io_uring one.
for mode in grant grant-copy foreign; do
    for engine in io_uring sync; do
        "$build/virtio-grant-sim" sandbox-rules $mode $engine
    done
done | sort -u > "$work/rules"
while IFS="$(printf '\t')" read -r sc cond reach why; do
    num=""
    case "$cond" in IOCTL_*=*) num=${cond#*=} ;; esac
    if [ -n "$num" ]; then hit "$sc" "$num" && seen=yes || seen=no
    else hit "$sc" && seen=yes || seen=no; fi
    case "$seen/$reach" in
    yes/*) printf 'hit      %-10s %-42s %s\n' "$sc" "$cond" "$reach" ;;
    no/xen-only|no/rare) printf 'listed   %-10s %-42s %s: %s\n' "$sc" "$cond" "$reach" "$why" ;;
    *) printf 'UNUSED   %-10s %-42s %s: %s\n' "$sc" "$cond" "$reach" "$why"; fails=$((fails + 1)) ;;
    esac
done < "$work/rules"
if [ $fails -gt 0 ]; then
    echo "rule coverage: $fails rule(s) the suites should reach were never hit" >&2
    exit 1
fi
echo "rule coverage: every serve/teardown rule was hit"
