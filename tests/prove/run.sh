#!/bin/sh
# make prove: Frama-C's EVA over the ring walker (backend/virtq/), the
# guest-memory accessor (backend/gmem/span.c), the virtio-mmio register
# file (backend/transport/mmio.c, its serving engine as a contract) and the
# serving engine (the walker as the envelope its own runs prove), every
# byte of guest memory, every ring index, address and register access
# nondeterministic (see the harnesses).  Each run
# lists its alarms; an alarm not explained in tests/prove/alarms.txt fails,
# and so does an explanation no run needs any more.
# usage: run.sh [OUT_DIR]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
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
model="tests/prove/env.c tests/prove/model_gmem.c backend/virtq/ring.c backend/virtq/virtq.c backend/gmem/span.c"

found="$out/alarms.found"
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
    # never returns, a recursion cut short, a call to code that is neither
    # analysed nor specified, a contract used in place of code (only the
    # analyser's builtins, strerror's libc contract, and in mmio-regs the
    # serving engine's contract are).
    if grep -q "NON TERMINATING\|Recursive call\|Neither code nor specification" "$log"; then
        echo "prove: $name analysed less than it should (see $log):" >&2
        grep "NON TERMINATING\|Recursive call\|Neither code nor specification" "$log" | head -n 5 >&2
        fail=1
        return
    fi
    specs=$(grep -o "using specification for function [A-Za-z_0-9]*" "$log" | awk '{print $5}' |
        sort -u | grep -v "^Frama_C_\|^strerror$" || true)
    [ "$name" = mmio-regs ] && specs=$(echo "$specs" | grep -v "^process_queue$" || true)
    if [ -n "$specs" ]; then
        echo "prove: $name used contracts in place of code: $specs (see $log)" >&2
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
    # The serving engine's run reaches every statement of the functions that
    # take, hand over, finish and publish a chain, on both paths.
    if [ "$name" = mmio-serve ]; then
        for f in start_chain publish_chain batch_member_done finish_chain; do
            if ! grep -q "^ *$f: \([0-9]*\) stmts out of \1 (100.0%)" "$log"; then
                echo "prove: $name did not reach every statement of $f (see $log)" >&2
                fail=1
            fi
        done
    fi
    # ... and a batch of two is handed over (queue size 2), not only of one.
    if [ "$name" = mmio-serve ] &&
        ! grep -Eq "show_each_batch_members: \{([0-9]+; )*2[;}]" "$log"; then
        echo "prove: $name never handed over a batch of two (see $log)" >&2
        fail=1
    fi
    python3 tests/prove/alarms.py "$name" "$log" >> "$found"
    n=$(grep -c "^$name|" "$found" || true)
    echo "  $name: $n alarm(s), $(( $(date +%s) - start )) s"
}

echo "== EVA: the ring walker, each queue size vq_start accepts"
# -from-verify-assigns: each call assigns only what the harness's contracts
# list (the envelope the transport's proof relies on, model_virtq.c).
for q in 1 2 4 8 16 32 64 128 256; do
    # shellcheck disable=SC2086
    run "virtq-q$q" "-DPROVE_QSIZE=$q" tests/prove/eva_virtq.c $model $eva -eva-mlevel 8 \
        -from-verify-assigns -then -metrics -metrics-eva-cover
done
echo "== EVA: no other queue size is accepted"
# shellcheck disable=SC2086
run qsize "" tests/prove/eva_qsize.c $model $eva -eva-alloc-builtin fresh
echo "== EVA: the transport's register file, any 8 accesses after any bring-up"
# The serving engine behind QueueNotify is its contract here (see the harness).
# shellcheck disable=SC2086
run mmio-regs "-DPROVE_ACCESSES=8" tests/prove/eva_mmio_regs.c tests/prove/env.c \
    tests/prove/model_alias.c backend/transport/saved.c backend/virtq/ring.c backend/virtq/virtq.c \
    backend/gmem/span.c $eva -eva-use-spec process_queue
echo "== EVA: the transport's serving engine, the walker as its proven envelope"
# Why each option: the slot and batch loops unrolled (64 at most), so a slot
# is one slot, never a range of them; slevel 200 keeps a notify's outcomes
# apart (a chain taken or not, mapped or not, pending or done).
serve="tests/prove/eva_mmio_serve.c tests/prove/env.c tests/prove/model_alias.c"
serve="$serve tests/prove/model_virtq.c backend/virtq/ring.c backend/transport/saved.c"
serve="$serve $eva -eva-auto-loop-unroll 64 -eva-slevel 200 -then -metrics -metrics-eva-cover"
# shellcheck disable=SC2086
run mmio-serve "-DPROVE_LIVE=0" $serve
echo "== EVA: a poll while the device serves, in each gmem mode"
# Both queues notified, then the poll that completes chains and resumes the
# queue left waiting.  Queues of one entry and one chain pending at most:
# that is the least that makes a queue wait beside a chain in flight.  The
# optional features, ACCESS_PLATFORM and the queue notified first stay any.
# Grant mode runs twice: without a pool it batches each notify's chains,
# with one it maps each chain alone, and together the two did not finish in
# 3 minutes.  Grant-copy also at queue size 2 with two chains pending at
# once; the batching modes at that size did not finish in 10 minutes (see
# the harness).
# name:gmem mode (0 grant, 1 foreign, 2 foreign-premap, 3 grant-copy):queue size:defines
for live in m0:0:1:-DPROVE_POOL=0 m0-pool:0:1:-DPROVE_POOL=1 m1:1:1: m2:2:1: m3:3:1: m3-q2:3:2:; do
    IFS=: read -r name mode qsize defs <<EOF_LIVE
$live
EOF_LIVE
    name=mmio-live-$name
    # shellcheck disable=SC2086
    run "$name" "-DPROVE_LIVE=1 -DPROVE_MODE=$mode -DPROVE_QSIZE=$qsize -DPENDING_MAX=$qsize $defs" $serve
    # A run where no queue waits, or none is resumed, proves nothing here;
    # nor one where the device never holds as many chains as it may.
    for seen in poll_meets_waiting resumed_chain "pending_full: {$qsize}"; do
        if ! grep -q "show_each_$seen" "$out/$name.log"; then
            echo "prove: $name never reached $seen (see its log)" >&2
            fail=1
        fi
    done
    # The batching modes map through a batch, and complete one.
    case $name in mmio-live-m0|mmio-live-m1)
        for f in gmem_map_batch batch_member_done; do
            if ! grep -q "^ *$f: [0-9]* stmts out of" "$out/$name.log"; then
                echo "prove: $name never reached $f (see its log)" >&2
                fail=1
            fi
        done
    esac
done
echo "== EVA: the accessor, spans of these lengths, any offset"
for l in "1 4096 16" "0 4095 4097" "8192 2 512"; do
    set -- $l
    # shellcheck disable=SC2086
    run "span-$1-$2-$3" "-DPROVE_LEN0=$1 -DPROVE_LEN1=$2 -DPROVE_LEN2=$3" \
        tests/prove/eva_span.c tests/prove/env.c backend/gmem/span.c $eva
done

python3 tests/prove/alarms.py --check tests/prove/alarms.txt "$found" || fail=1
exit $fail
