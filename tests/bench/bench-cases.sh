# make bench's dom0 side (sourced by dom0's /init, which defines pass and
# fail): one bench guest per mode, each running the same fio
# workloads (tests/bench/guest-init.sh) against a fresh image of the same
# size.  dom0 samples the backend's CPU time at each workload's start and
# end, and prints for the host (tests/bench/report.py):
#   BENCH ROW MODE WORKLOAD cpu_ticks=N <fio terse line>
#   BENCH STATS MODE <the device process's closing report>
# /vg/bench holds the level: smoke (make check) or full (make bench).
BENCH_LEVEL=$(cat /vg/bench 2>/dev/null || echo smoke)
BENCH_IMAGES=/run/bench-images
BENCH_MIB=128
BENCH_RT=5
[ "$BENCH_LEVEL" = smoke ] && BENCH_MIB=32 BENCH_RT=2

bench_image() {
    losetup -d /dev/loop2 2>/dev/null
    rm -f /run/bench.img
    dd if=/dev/zero of=/run/bench.img bs=1M count=0 seek=$((BENCH_MIB + 8)) 2>/dev/null
    losetup /dev/loop2 /run/bench.img || return 1
    mkdir -p $BENCH_IMAGES && rm -f $BENCH_IMAGES/bench && mknod $BENCH_IMAGES/bench b 7 2
}

bench_guest_log() {
    for f in "/var/log/xen/guest-bench-$1.log" "/var/log/xen/console/guest-bench-$1.log"; do
        [ -f "$f" ] && { echo "$f"; return; }
    done
    echo "/var/log/xen/guest-bench-$1.log"
}

# bench_pids MODE KIND: the tasks that serve the disk: the device process the
# launcher started last, or blkback's kernel threads for the guest (Linux
# 6.1 names them DOMID.DEVICE-QUEUE, e.g. 23.xvda-0).
bench_pids() {
    if [ "$2" = blkback ]; then
        dom=$(xl domid "bench-$1" 2>/dev/null)
        for d in /proc/[0-9]*; do
            case "$(cat "$d/comm" 2>/dev/null)" in "$dom".xvda*) echo "${d#/proc/}" ;; esac
        done
    else
        grep -o 'started pid [0-9]*' "/run/be-bench-$1.log" 2>/dev/null | tail -n1 | cut -d' ' -f3
    fi
}

# cpu_ticks PID...: user + system time, in USER_HZ ticks (100 on arm64).
cpu_ticks() {
    t=0
    for p in "$@"; do
        [ -r "/proc/$p/stat" ] || continue
        # shellcheck disable=SC2046
        set -- $(sed 's/.*) //' "/proc/$p/stat")
        t=$((t + ${12} + ${13}))
    done
    echo $t
}

# bench_watch MODE KIND SECONDS: until the guest is gone, sample at each
# VGBENCH-BEGIN/END line of its console.
bench_watch() {
    seen=0 i=0
    : > "/run/bench-$1.samples"
    while xl domid "bench-$1" >/dev/null 2>&1; do
        log=$(bench_guest_log "$1")
        n=$(grep -c 'VGBENCH-\(BEGIN\|END\)' "$log" 2>/dev/null)
        n=${n:-0}
        while [ "$seen" -lt "$n" ]; do
            seen=$((seen + 1))
            l=$(grep 'VGBENCH-\(BEGIN\|END\)' "$log" | sed -n "${seen}p" | tr -d '\r')
            pids=$(bench_pids "$1" "$2")
            # shellcheck disable=SC2086
            echo "$l $(cpu_ticks $pids)" | sed 's/.*VGBENCH-//' >> "/run/bench-$1.samples"
            # shellcheck disable=SC2086
            [ "$seen" = 1 ] && echo "BENCH $1 INFO CPU sampled from: $(for p in $pids; do
                printf '%s(%s) ' "$p" "$(cat /proc/$p/comm 2>/dev/null)"; done)"
        done
        i=$((i + 1))
        [ $i -gt $(($3 * 5)) ] && { fail "bench/$1: the guest did not finish in $3 s"; xl destroy "bench-$1"; }
        sleep 0.2
    done
}

# bench_mode MODE KIND BACKEND-MODE GUEST-ARGS
bench_mode() {
    m=$1 kind=$2
    echo "=== bench $m ($BENCH_LEVEL)"
    bench_image || { fail "bench/$m/image"; return; }
    dev=vda
    if [ "$kind" = blkback ]; then
        disk="'vdev=xvda,access=rw,script=/vg/bench-block,target=/dev/loop2'"
        dev=xvda
    else
        # shellcheck disable=SC2086
        virtio-grant watch --images $BENCH_IMAGES --mode $3 > "/run/be-bench-$m.log" 2>&1 &
        BE_PID=$!
        sleep 1
        disk="'backendtype=standalone,specification=virtio,vdev=xvda,target=$BENCH_IMAGES/bench'"
    fi
    cat > "/run/bench-$m.cfg" <<CFG
name = "bench-$m"
kernel = "/vg/Image-bench"
ramdisk = "/vg/bench.cpio.gz"
memory = 256
vcpus = 1
extra = "console=hvc0 $4 vgbench=$BENCH_LEVEL vgbenchdev=$dev vgbenchrt=$BENCH_RT vgbenchmib=$BENCH_MIB"
disk = [ $disk ]
on_poweroff = "destroy"
on_crash = "destroy"
CFG
    if xl create "/run/bench-$m.cfg"; then
        bench_watch "$m" "$kind" $([ "$BENCH_LEVEL" = smoke ] && echo 240 || echo 1200)
    else
        fail "bench/$m/xl-create"
    fi
    log=$(bench_guest_log "$m")
    grep -o 'VGBENCH-\(INFO\|FAIL\|ERR\).*' "$log" | sed "s/^VGBENCH-/BENCH $m /"
    grep -o 'VGBENCH-TERSE .*' "$log" | tr -d '\r' | while read -r _ w terse; do
        b=$(sed -n "s/^BEGIN $w \\([0-9]*\\)$/\\1/p" "/run/bench-$m.samples")
        e=$(sed -n "s/^END $w rc=[0-9]* \\([0-9]*\\)$/\\1/p" "/run/bench-$m.samples")
        echo "BENCH ROW $m $w cpu_ticks=$(( ${e:-0} - ${b:-0} )) $terse"
    done
    for w in $(sed -n 's/^END \([^ ]*\) rc=.*/\1/p' "/run/bench-$m.samples"); do
        if grep -q "^END $w rc=0 " "/run/bench-$m.samples"; then
            pass "bench/$m/$w (fio exit 0$(case $w in *write*) echo ', data verified' ;; esac))"
        else
            fail "bench/$m/$w: fio failed: $(grep "VGBENCH-ERR $w" "$log" | head -n1)"
        fi
    done
    grep -q 'VGBENCH-DONE' "$log" || fail "bench/$m: the guest did not finish"
    if [ "$kind" != blkback ]; then
        kill -TERM $BE_PID 2>/dev/null
        wait $BE_PID
        grep -o 'device 51712 says: .*\(image I/O\|served\) .*' "/run/be-bench-$m.log" |
            sed "s/.*says: /BENCH STATS $m /"
        grep -q 'device 51712 says: .*served ' "/run/be-bench-$m.log" ||
            tail -n 6 "/run/be-bench-$m.log" | sed "s/^/BENCH $m INFO no closing report: /"
    fi
    losetup -d /dev/loop2 2>/dev/null
}

bench_cases() {
    g="xen.grant_dma_backend_domid=0"
    bench_mode grant virtio grant "$g xen.grant_dma_ring_ro=1"
    if [ "$BENCH_LEVEL" = full ]; then
        bench_mode pool virtio grant "$g xen.grant_dma_pool_pages=1024"
        bench_mode grant-copy virtio grant-copy "$g xen.grant_dma_ring_ro=1"
        bench_mode foreign virtio foreign ""
    fi
    bench_mode foreign-premap virtio "foreign --premap" ""
    bench_mode blkback blkback - ""
}
