#!/bin/sh
# make prove: Frama-C's EVA over the ring walker (backend/virtq/virtq.c), the
# guest-memory accessor (backend/gmem/span.c) and the virtio-mmio register
# file (backend/transport/mmio.c, its serving engine as a contract), every
# byte of guest memory, every ring index, address and register access
# nondeterministic (see the harnesses).  Each run
# lists its alarms; an alarm not explained in tests/prove/alarms.txt fails,
# and so does an explanation no run needs any more.
# usage: run.sh [OUT_DIR]
#        run.sh --mmio [OUT_DIR]   the transport's serving engine, still being
#                                  built: lists its alarms, checks nothing
#                                  (PROVE_EVA: more EVA options, e.g. -eva-plevel 2000)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
mmio=0
if [ "${1:-}" = --mmio ]; then
    mmio=1
    shift
fi
out=${1:-$top/build/prove}
mkdir -p "$out"
cd "$top"
arch=$(gcc -dumpmachine)
cpp="-D_GNU_SOURCE -D__XEN_TOOLS__ -Ibackend -Itests/prove -include tests/prove/prove_libc.h"
cpp="$cpp -idirafter /usr/include -idirafter /usr/include/$arch"
# Why each option: split-return keeps a failed map's state (span host NULL)
# apart from a successful one; alloc never NULL because the mapping models
# fail on their own, by returning an errno, as the real calls do; recursion:
# an indirect table is walked by a second call of walk, never a third.
eva="-eva -eva-no-show-progress -eva-slevel 50 -eva-split-return full -eva-no-alloc-returns-null"
eva="$eva -eva-unroll-recursive-calls 2 -eva-print-callstacks"
model="tests/prove/env.c tests/prove/model_gmem.c backend/virtq/virtq.c backend/gmem/span.c"

found="$out/alarms.found"
if [ $mmio = 1 ]; then
    # The transport's serving engine (eva_mmio_serve.c), not yet a proof:
    # lists its alarms, checks nothing.  PROVE_DEFS: e.g. -DPROVE_BATCH=0.
    log="$out/mmio-serve.log"
    start=$(date +%s)
    # shellcheck disable=SC2086
    frama-c -machdep gcc_x86_64 \
        -cpp-extra-args="$cpp -DPROVE_STEPS=${PROVE_STEPS:-3} ${PROVE_DEFS:-}" \
        tests/prove/eva_mmio_serve.c tests/prove/env.c tests/prove/model_alias.c \
        backend/transport/saved.c backend/virtq/virtq.c backend/gmem/span.c \
        $eva ${PROVE_EVA:-} > "$log" 2>&1 || true
    python3 tests/prove/alarms.py mmio-serve "$log" > "$out/mmio-serve.alarms"
    echo "mmio-serve: $(wc -l < "$out/mmio-serve.alarms") alarm(s) in $(( $(date +%s) - start )) s, not a proof yet; log $log"
    exit 0
fi
: > "$found"
fail=0
run() { # name defines sources... -- extra eva options
    name=$1 defs=$2
    shift 2
    log="$out/$name.log"
    start=$(date +%s)
    # shellcheck disable=SC2086
    if ! frama-c -machdep gcc_x86_64 -cpp-extra-args="$cpp $defs" "$@" > "$log" 2>&1 ||
        ! grep -q "ANALYSIS SUMMARY" "$log" || grep -q "User Error\|degeneration" "$log"; then
        echo "prove: $name did not complete (see $log)" >&2
        tail -n 5 "$log" >&2
        fail=1
        return
    fi
    # A pass that analysed less than it claims is no pass: a function that
    # never returns, a recursion interpreted by a (missing) contract, a call
    # to code that is neither analysed nor specified.
    if grep -q "NON TERMINATING\|Recursive call\|using specification for function walk\|Neither code nor specification" "$log"; then
        echo "prove: $name analysed less than it should (see $log):" >&2
        grep "NON TERMINATING\|Recursive call\|using specification for function walk\|Neither code nor specification" "$log" | head -n 5 >&2
        fail=1
        return
    fi
    # The walker analysed whole, or the run proves less than it says.  Not
    # with one descriptor: a second buffer (wrong order, too many, 4 GiB) is
    # then impossible, and EVA rightly finds those statements dead.
    case $name in virtq-q1) ;; virtq-*)
        if ! grep -q "walk: \([0-9]*\) stmts out of \1 (100.0%)" "$log"; then
            echo "prove: $name did not reach every statement of walk (see $log)" >&2
            fail=1
        fi
    esac
    python3 tests/prove/alarms.py "$name" "$log" >> "$found"
    n=$(grep -c "^$name|" "$found" || true)
    echo "  $name: $n alarm(s), $(( $(date +%s) - start )) s"
}

echo "== EVA: the ring walker, each queue size vq_start accepts"
for q in 1 2 4 8 16 32 64 128 256; do
    # shellcheck disable=SC2086
    run "virtq-q$q" "-DPROVE_QSIZE=$q" tests/prove/eva_virtq.c $model $eva -eva-mlevel 8 \
        -then -metrics -metrics-eva-cover
done
echo "== EVA: no other queue size is accepted"
# shellcheck disable=SC2086
run qsize "" tests/prove/eva_qsize.c $model $eva -eva-alloc-builtin fresh
echo "== EVA: the transport's register file, any 8 accesses after any bring-up"
# The serving engine behind QueueNotify is its contract here (see the harness).
# shellcheck disable=SC2086
run mmio-regs "-DPROVE_ACCESSES=8" tests/prove/eva_mmio_regs.c tests/prove/env.c \
    tests/prove/model_alias.c backend/transport/saved.c backend/virtq/virtq.c \
    backend/gmem/span.c $eva -eva-use-spec process_queue
echo "== EVA: the accessor, spans of these lengths, any offset"
for l in "1 4096 16" "0 4095 4097" "8192 2 512"; do
    set -- $l
    # shellcheck disable=SC2086
    run "span-$1-$2-$3" "-DPROVE_LEN0=$1 -DPROVE_LEN1=$2 -DPROVE_LEN2=$3" \
        tests/prove/eva_span.c tests/prove/env.c backend/gmem/span.c $eva
done

python3 tests/prove/alarms.py --check tests/prove/alarms.txt "$found" || fail=1
exit $fail
