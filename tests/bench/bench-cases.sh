# make bench's dom0 side (sourced by dom0's /init, which defines pass and
# fail): one bench guest per mode, each running the same fio
# workloads (tests/bench/guest-init.sh) against a fresh image of the same
# size.  dom0 samples the backend's CPU time at each workload's start and
# end, and prints for the host (tests/bench/report.py):
#   BENCH ROW MODE WORKLOAD cpu_ticks=N <fio terse line>
#   BENCH STATS MODE <the device process's closing report>
#   BENCH STATS BEGIN|END MODE WORKLOAD <its "stats:" reply to SIGUSR1>
#   BENCH GRANTS BEGIN|END MODE WORKLOAD <vg-grant-peak's reply to SIGUSR1>
# /vg/bench holds the level: smoke (make check) or full (make bench).
BENCH_LEVEL=$(cat /vg/bench 2>/dev/null || echo smoke)
BENCH_IMAGES=/run/bench-images
BENCH_MIB=128
BENCH_RT=5
[ "$BENCH_LEVEL" = smoke ] && BENCH_MIB=32 BENCH_RT=2
# Seconds a bench guest may take (VG_E2E_BENCH_TIMEOUT overrides).
BENCH_TIMEOUT=$(cat /vg/bench-timeout 2>/dev/null)
[ -n "$BENCH_TIMEOUT" ] || BENCH_TIMEOUT=$([ "$BENCH_LEVEL" = smoke ] && echo 240 || echo 1200)

bench_image() {
    losetup -d /dev/loop2 2>/dev/null
    rm -f /run/bench.img
    dd if=/dev/zero of=/run/bench.img bs=1M count=0 seek=$((BENCH_MIB + 8)) 2>/dev/null
    losetup /dev/loop2 /run/bench.img || return 1
    mkdir -p $BENCH_IMAGES && rm -f $BENCH_IMAGES/bench && mknod $BENCH_IMAGES/bench b 7 2
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

# bench_ask PID FILE PATTERN: send SIGUSR1 to PID and print the line matching
# PATTERN it adds to FILE (the reply to the signal), waiting up to 2 s.
bench_ask() {
    [ -n "$1" ] || return
    n=$(grep -c "$3" "$2" 2>/dev/null)
    kill -USR1 "$1" 2>/dev/null || return
    j=0
    while [ $j -lt 40 ]; do
        [ "$(grep -c "$3" "$2" 2>/dev/null)" -gt "${n:-0}" ] && break
        j=$((j + 1))
        sleep 0.05
    done
    grep "$3" "$2" 2>/dev/null | sed -n "$((${n:-0} + 1))p" | tr -d '\r'
}

# bench_snapshot MODE KIND LABEL: the device process's counters and peaks
# since its previous report (SIGUSR1: "stats: ..."), and the guest's granted
# pages sampled by vg-grant-peak, for the samples file.
bench_snapshot() {
    if [ "$2" != blkback ]; then
        l=$(bench_ask "$(bench_pids "$1" "$2")" "/run/be-bench-$1.log" 'info: stats: chains ')
        [ -n "$l" ] && echo "STATS $3 ${l#*stats: }" >> "/run/bench-$1.samples"
    fi
    l=$(bench_ask "$GP_PID" "/run/gp-bench-$1.out" '^granted now ')
    [ -n "$l" ] && echo "GRANTS $3 $l" >> "/run/bench-$1.samples"
}

# bench_watch MODE KIND SECONDS: until the guest is gone, sample at each
# VGBENCH-BEGIN/END line of its console.
bench_watch() {
    seen=0 t0=$(cut -d. -f1 /proc/uptime)
    : > "/run/bench-$1.samples"
    while xl domid "bench-$1" >/dev/null 2>&1; do
        log=$(guest_log "bench-$1")
        n=$(grep -c 'VGBENCH-\(BEGIN\|END\)' "$log" 2>/dev/null)
        n=${n:-0}
        while [ "$seen" -lt "$n" ]; do
            seen=$((seen + 1))
            l=$(grep 'VGBENCH-\(BEGIN\|END\)' "$log" | sed -n "${seen}p" | tr -d '\r')
            pids=$(bench_pids "$1" "$2")
            # shellcheck disable=SC2086
            echo "$l $(cpu_ticks $pids)" | sed 's/.*VGBENCH-//' >> "/run/bench-$1.samples"
            bench_snapshot "$1" "$2" "$(echo "$l" | sed 's/.*VGBENCH-\([A-Z]*\) \([^ ]*\).*/\1 \2/')"
            # shellcheck disable=SC2086
            [ "$seen" = 1 ] && echo "BENCH $1 INFO CPU sampled from: $(for p in $pids; do
                printf '%s(%s) ' "$p" "$(cat /proc/$p/comm 2>/dev/null)"; done)"
        done
        if [ $(($(cut -d. -f1 /proc/uptime) - t0)) -gt "$3" ]; then
            fail "bench/$1: the guest did not finish in $3 s; its console ends:"
            tr -d '\r' < "$(guest_log "bench-$1")" | tail -n 15 | sed "s/^/[bench-$1] /"
            xl destroy "bench-$1"
        fi
        sleep 0.2
    done
}

# bench_wanted MODE: whether /vg/bench-modes (VG_E2E_BENCH_MODES) is empty or names it.
bench_wanted() {
    wanted=$(cat /vg/bench-modes 2>/dev/null)
    [ -z "$wanted" ] && return 0
    for one in $wanted; do [ "$one" = "$1" ] && return 0; done
    return 1
}

# bench_mode MODE KIND BACKEND-MODE GUEST-ARGS [KERNEL] [VCPUS]
# KIND: virtio (the backend in dom0), blkback, or dd (the backend in the
# driver domain, which dom0 can neither sample nor signal: no CPU or map
# figures for that row).
bench_mode() {
    m=$1 kind=$2 kernel=${5:-Image-bench} vcpus=${6:-1}
    bench_wanted "$m" || return
    echo "=== bench $m ($BENCH_LEVEL)"
    dev=vda label=""
    if [ "$kind" = dd ]; then
        # the same size as bench_image's: MIB + 8
        dd_run images 1 "$BENCH_MIB" || { fail "bench/$m/dd-images"; return; }
        dd_run backend "bench-$m" --mode "$3" || { fail "bench/$m/dd-backend"; return; }
        disk="'backendtype=standalone,specification=virtio,backend=$DD,vdev=xvda,target=$DD_IMAGES/vda'"
        label="seclabel = \"$GUEST_LABEL\""
    elif ! bench_image; then
        fail "bench/$m/image"
        return
    elif [ "$kind" = blkback ]; then
        disk="'vdev=xvda,access=rw,script=/vg/bench-block,target=/dev/loop2'"
        dev=xvda
    else
        # shellcheck disable=SC2086
        # --stop-timeout: a premapped device releases all 256 MiB of the guest
        # as it stops, which takes more than the default 2 s under TCG, and a
        # killed device writes no closing report.
        virtio-grant watch --images $BENCH_IMAGES --stop-timeout 60000 --mode $3 \
            > "/run/be-bench-$m.log" 2>&1 &
        BE_PID=$!
        sleep 1
        disk="'backendtype=standalone,specification=virtio,vdev=xvda,target=$BENCH_IMAGES/bench'"
    fi
    cat > "/run/bench-$m.cfg" <<CFG
name = "bench-$m"
kernel = "/vg/$kernel"
ramdisk = "/vg/bench.cpio.gz"
memory = 256
vcpus = $vcpus
extra = "console=hvc0 $4 vgbench=$BENCH_LEVEL vgbenchdev=$dev vgbenchrt=$BENCH_RT vgbenchmib=$BENCH_MIB"
disk = [ $disk ]
on_poweroff = "destroy"
on_crash = "destroy"
$label
CFG
    GP_PID=
    if xl create "/run/bench-$m.cfg"; then
        vg-grant-peak "$(xl domid "bench-$m")" > "/run/gp-bench-$m.out" 2> "/run/gp-bench-$m.err" &
        GP_PID=$!
        bench_watch "$m" "$kind" "$BENCH_TIMEOUT"
    else
        fail "bench/$m/xl-create"
    fi
    [ -n "$GP_PID" ] && { kill -TERM "$GP_PID" 2>/dev/null; wait "$GP_PID"; }
    sed "s/^/BENCH $m INFO /" "/run/gp-bench-$m.err" 2>/dev/null
    log=$(guest_log "bench-$m")
    grep -o 'VGBENCH-\(INFO\|FAIL\|ERR\).*' "$log" | sed "s/^VGBENCH-/BENCH $m /"
    grep -o 'VGBENCH-TERSE .*' "$log" | tr -d '\r' | while read -r _ w terse; do
        b=$(sed -n "s/^BEGIN $w \\([0-9]*\\)$/\\1/p" "/run/bench-$m.samples")
        e=$(sed -n "s/^END $w rc=[0-9]* \\([0-9]*\\)$/\\1/p" "/run/bench-$m.samples")
        t=$(( ${e:-0} - ${b:-0} ))
        [ "$kind" = dd ] && t=-1 # not sampled: the process runs in the driver domain
        echo "BENCH ROW $m $w cpu_ticks=$t $terse"
        for k in STATS GRANTS; do
            for at in BEGIN END; do
                sed -n "s/^$k $at $w /BENCH $k $at $m $w /p" "/run/bench-$m.samples"
            done
        done
    done
    for w in $(sed -n 's/^END \([^ ]*\) rc=.*/\1/p' "/run/bench-$m.samples"); do
        if grep -q "^END $w rc=0 " "/run/bench-$m.samples"; then
            pass "bench/$m/$w (fio exit 0$(case $w in *write*) echo ', data verified' ;; esac))"
        else
            fail "bench/$m/$w: fio failed: $(grep "VGBENCH-ERR $w" "$log" | head -n1)"
        fi
    done
    for w in $(sed -n 's/^END \([^ ]*\) rc=.*/\1/p' "/run/bench-$m.samples"); do
        gpeak=$(sed -n "s/^GRANTS END $w granted now [0-9]* peak \([0-9]*\).*/\1/p" "/run/bench-$m.samples")
        if [ -n "$gpeak" ]; then pass "bench/$m/$w/granted (guest pages granted, sampled peak $gpeak)"
        else fail "bench/$m/$w/granted: vg-grant-peak did not answer"; fi
        [ "$kind" = virtio ] || continue
        c=$(sed -n "s/^STATS END $w chains \([0-9]*\).*/\1/p" "/run/bench-$m.samples")
        if [ -n "$c" ]; then pass "bench/$m/$w/stats (the device answered SIGUSR1 at $c chains)"
        else fail "bench/$m/$w/stats: the device process did not answer SIGUSR1"; fi
    done
    grep -q 'VGBENCH-DONE' "$log" || fail "bench/$m: the guest did not finish"
    if [ "$kind" = dd ]; then
        dd_run stop "bench-$m"
        sleep 2 # its console reaches the log
        tr -d '\r' < "$DD_LOG" | grep -o "\[dd backend bench-$m\] .*says: .*\(image I/O\|served\|chains by queue:\) .*" |
            sed "s/.*says: /BENCH STATS $m /"
    elif [ "$kind" != blkback ]; then
        kill -TERM $BE_PID 2>/dev/null
        wait $BE_PID
        grep -o 'device 51712 says: .*\(image I/O\|served\|chains by queue:\) .*' "/run/be-bench-$m.log" |
            sed "s/.*says: /BENCH STATS $m /"
        # what the device had to say about its guest (a broken device's reason)
        grep -o 'says: .*: warn: .*' "/run/be-bench-$m.log" | head -n 5 |
            sed "s/.*says: /BENCH $m INFO device: /"
        # MQ: the chains of the row that asked for several queues came on several
        bq=$(grep -o 'chains by queue:.*' "/run/be-bench-$m.log" | tail -n1 | cut -d: -f2)
        busy=0
        for c in $bq; do [ "$c" -gt 0 ] && busy=$((busy + 1)); done
        case "$m" in
        *-mq) if [ "$busy" -ge 2 ]; then pass "bench/$m/queues (chains by queue:$bq)"
              else fail "bench/$m/queues: chains came on $busy queue(s):$bq"; fi ;;
        *-1q) if [ "$busy" -eq 1 ]; then pass "bench/$m/queues (chains by queue:$bq)"
              else fail "bench/$m/queues: chains came on $busy queue(s):$bq"; fi ;;
        esac
        grep -q 'device 51712 says: .*served ' "/run/be-bench-$m.log" ||
            tail -n 6 "/run/be-bench-$m.log" | sed "s/^/BENCH $m INFO no closing report: /"
    fi
    losetup -d /dev/loop2 2>/dev/null
}

# Every function here shares the shell's one namespace: the guests' grant
# argument gets a name no helper uses (a helper's "g" once took it over).
bench_cases() {
    BENCH_GRANT_ARG="xen.grant_dma_backend_domid=0"
    bench_mode grant virtio grant "$BENCH_GRANT_ARG xen.grant_dma_ring_ro=1"
    if [ "$BENCH_LEVEL" = full ]; then
        bench_mode pool virtio grant "$BENCH_GRANT_ARG xen.grant_dma_pool_pages=1024"
        bench_mode grant-copy virtio grant-copy "$BENCH_GRANT_ARG xen.grant_dma_ring_ro=1"
        # the io_uring engine's share: the same grant mode with preadv/pwritev
        bench_mode grant-sync virtio "grant --aio=sync" "$BENCH_GRANT_ARG xen.grant_dma_ring_ro=1"
        bench_mode foreign virtio foreign ""
        # VIRTIO_BLK_F_MQ: a 2-vCPU guest whose two fio jobs submit from
        # both CPUs, on one queue per CPU, against the same guest told to
        # use one queue (virtio_blk.num_request_queues=1).
        BENCH_POOL_ARG="$BENCH_GRANT_ARG xen.grant_dma_pool_pages=1024 vgbenchjobs=2"
        bench_mode pool-1q virtio grant "$BENCH_POOL_ARG virtio_blk.num_request_queues=1" \
            Image-bench 2
        bench_mode pool-mq virtio grant "$BENCH_POOL_ARG" Image-bench 2
    fi
    bench_mode foreign-premap virtio "foreign --premap" ""
    bench_mode blkback blkback - ""
    if [ "$BENCH_LEVEL" = full ]; then
        # The stock frontend (unpatched 6.1: grant DMA ops from the device
        # tree's iommus link) to a backend in the FLASK-confined driver
        # domain, last: it needs the driver domain up.
        . /vg/dd-lib.sh
        if bench_wanted dd-stock && dd_up; then
            bench_mode dd-stock dd grant "" Image-bench-stock
            xl destroy "$DD"
        fi
    fi
}
