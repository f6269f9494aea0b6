# The guest lifecycle cases (issue 15), sourced by dom0's /init after
# cases.sh, whose helpers they use: a reboot that re-creates the domain with a
# new domid, a destroy with I/O in flight, and the soak (many of those).

# device_pid CASE DOMID: the pid the launcher started for that domain's vda.
device_pid() {
    grep -o "dom$2 device 51712: started pid [0-9]*" "/run/be-$1.log" | head -n1 | grep -o '[0-9]*$'
}

# device_gone_check CASE DOMID WHY: that domain's vda process has exited, with
# as many unmaps as maps, and Xen has freed the domain (it keeps a nameless
# zombie while any of its pages are still mapped).
device_gone_check() {
    pid=$(device_pid "$1" "$2")
    if [ -z "$pid" ] || ! wait_line "/run/be-$1.log" "dom$2 device 51712: pid $pid exited" 60; then
        fail "$1/device-exit: dom$2's device process ${pid:-?} still runs 60 s $3"
        return
    fi
    pass "$1/device-exit $3: $(grep -o "dom$2 device 51712: pid $pid exited.*" "/run/be-$1.log")"
    stats=$(grep -o "dom$2 device 51712 says: .*served .*" "/run/be-$1.log" | tail -n1)
    maps=$(echo "$stats" | sed -n 's/.* maps \([0-9]*\) unmaps.*/\1/p')
    unmaps=$(echo "$stats" | sed -n 's/.* unmaps \([0-9]*\) pages.*/\1/p')
    if [ -n "$maps" ] && [ "$maps" = "$unmaps" ]; then
        pass "$1/unmapped $3: $maps grant maps, $unmaps unmaps"
    else
        fail "$1/unmapped $3: maps ${maps:-?} unmaps ${unmaps:-?}"
    fi
    if grep -q "dom$2 device 51712: Closed" "/run/be-$1.log"; then
        pass "$1/closed $3: the launcher wrote Closed once the process was gone"
    else
        fail "$1/closed $3: no Closed for dom$2"
    fi
    # libxl waits for the backend's Closed, then removes the directory.
    dir=/local/domain/0/backend/virtio_disk/$2
    i=0
    while xenstore-exists "$dir" 2>/dev/null && [ $i -lt 20 ]; do i=$((i + 1)); sleep 0.5; done
    if xenstore-exists "$dir" 2>/dev/null; then
        fail "$1/dir-removed $3: $dir still there, state $(xenstore-read "$dir/51712/state" 2>&1)"
    else
        pass "$1/dir-removed $3: the toolstack removed $dir"
    fi
    i=0
    while xl list | grep -q '(null)'; do
        i=$((i + 1))
        [ $i -gt 30 ] && break
        sleep 1
    done
    if xl list | grep -q '(null)'; then
        fail "$1/no-zombie $3: $(xl list | grep '(null)')"
    else
        pass "$1/no-zombie $3: dom$2 is gone from Xen"
    fi
}

# reboot_check CASE: once the guest has written and marked its disk, reboot
# it; the toolstack re-creates it under a new domid, a new device process
# serves that, and the old one has let go of everything.
reboot_check() {
    log=$(guest_log "$1")
    d1=$(xl domid "$1") || { fail "$1/reboot: no domid"; return; }
    wait_line "$log" 'VGTEST SYNC reboot-ready' 300 ||
        { fail "$1/reboot: the guest never got to the reboot"; return; }
    xl reboot "$1" || { fail "$1/reboot: xl reboot failed"; return; }
    i=0 d2=""
    while [ $i -lt 120 ]; do
        d2=$(xl domid "$1" 2>/dev/null || true)
        [ -n "$d2" ] && [ "$d2" != "$d1" ] && break
        i=$((i + 1))
        sleep 1
    done
    if [ -z "$d2" ] || [ "$d2" = "$d1" ]; then
        fail "$1/reboot: no new domain in 120 s"
        return
    fi
    pass "$1/reboot: dom$d1 came back as dom$d2"
    if wait_line "/run/be-$1.log" "dom$d2 device 51712: started pid" 60; then
        pass "$1/new-device: $(grep -o "dom$d2 device 51712: started pid [0-9]*" "/run/be-$1.log")"
    else
        fail "$1/new-device: nothing serves dom$d2 after 60 s"
    fi
    device_gone_check "$1" "$d1" "after the reboot"
}

reboot_case() {
    c=reboot
    echo "=== case $c: domU kernel Image-grant, xl reboot between a write and its read"
    start_images || { fail "$c/images"; return; }
    start_backend "$c" grant || { fail "$c/backend-start"; stop_images; return; }
    GMIB=8 guest_cfg "$c" Image-grant "xen.grant_dma_backend_domid=0 vgtest=reboot" \
        "vdev=xvda,target=$IMAGES/vda"
    run_guest "$c" 600 reboot_check
    stop_backend "$c"
    stop_images
}

# destroy_check CASE: with the guest's writes and reads in flight, destroy it.
destroy_check() {
    log=$(guest_log "$1")
    d=$(xl domid "$1") || { fail "$1/destroy: no domid"; return; }
    wait_line "$log" 'VGTEST SYNC busy' 300 ||
        { fail "$1/destroy: the guest's I/O never started"; return; }
    sleep 2
    t0=$(cut -d' ' -f1 /proc/uptime)
    if xl destroy "$1"; then
        # libxl gives a backend 10 s to say Closed before it goes on without it
        pass "$1/xl-destroy with I/O in flight, in $(echo "$(cut -d' ' -f1 /proc/uptime) $t0" |
            awk '{ printf "%.1f", $1 - $2 }') s"
    else
        fail "$1/xl-destroy"
        return
    fi
    device_gone_check "$1" "$d" "after the destroy"
    if grep -q 'VGTEST FAIL' "$log"; then
        fail "$1/guest-io: $(grep -m1 -o 'VGTEST FAIL.*' "$log")"
    else
        pass "$1/guest-io: no error in the guest before the destroy"
    fi
}

destroy_case() {
    c=destroy
    echo "=== case $c: domU kernel Image-grant, xl destroy with I/O in flight"
    start_images || { fail "$c/images"; return; }
    start_backend "$c" grant || { fail "$c/backend-start"; stop_images; return; }
    GMIB=16 guest_cfg "$c" Image-grant "xen.grant_dma_backend_domid=0 vgtest=busy" \
        "vdev=xvda,target=$IMAGES/vda"
    if xl create "/run/$c.cfg"; then
        pass "$c/xl-create"
        destroy_check "$c"
    else
        fail "$c/xl-create"
    fi
    sed "s/^/[domU $c] /" "$(guest_log "$c")" 2>/dev/null | tail -n 5
    stop_backend "$c"
    stop_images
}


# launcher_kill_check CASE: once the guest's test has started, SIGKILL the
# launcher: its device processes serve on; a new launcher (logging to the
# same file, the old log kept as be-CASE-1.log) adopts both.
launcher_kill_check() {
    log=$(guest_log "$1")
    d=$(xl domid "$1") || { fail "$1/launcher-kill: no domid"; return; }
    wait_line "$log" 'VGTEST START' 300 || { fail "$1/launcher-kill: the guest never started"; return; }
    sleep 1
    pids=$(grep -o "dom$d device [0-9]*: started pid [0-9]*" "/run/be-$1.log" | grep -o '[0-9]*$')
    kill -KILL "$BE_PID"
    wait "$BE_PID" 2>/dev/null
    alive=0
    for p in $pids; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
    if [ -n "$pids" ] && [ "$alive" = "$(echo "$pids" | wc -l)" ]; then
        pass "$1/serves-on: the launcher killed, device processes $(echo $pids) still run"
    else
        fail "$1/serves-on: $alive of $(echo "$pids" | wc -l) device processes left"
    fi
    cp "/run/be-$1.log" "/run/be-$1-1.log"
    t0=$(cut -d' ' -f1 /proc/uptime)
    start_backend "$1" grant || { fail "$1/relaunch"; return; }
    for p in $pids; do
        if wait_line "/run/be-$1.log" "adopted pid $p," 10; then
            pass "$1/adopted: $(grep -o "dom$d device [0-9]*: adopted pid $p" "/run/be-$1.log")"
        else
            fail "$1/adopted: pid $p was not adopted"
        fi
    done
    echo "E2E INFO $1: the new launcher adopted them $(echo "$(cut -d' ' -f1 /proc/uptime) $t0" |
        awk '{ printf "%.1f", $1 - $2 }') s after it was started"
    LAUNCHER_KILL_PIDS=$pids LAUNCHER_KILL_DOM=$d
}

# launcher_crash_case: the launcher dies (SIGKILL) under a guest's verified
# write and read-back; the guest must not notice, and the adopted devices are
# closed, and Closed written, when it is gone.
launcher_crash_case() {
    c=launcher-crash
    echo "=== case $c: domU kernel Image-grant, the launcher killed under I/O and restarted"
    start_images || { fail "$c/images"; return; }
    start_backend "$c" grant || { fail "$c/backend-start"; stop_images; return; }
    guest_cfg "$c" Image-grant "xen.grant_dma_backend_domid=0 vgtest=rw" \
        "vdev=xvda,target=$IMAGES/vda" "vdev=xvdb,access=ro,target=$IMAGES/vdb"
    LAUNCHER_KILL_PIDS=""
    run_guest "$c" 300 launcher_kill_check
    for p in $LAUNCHER_KILL_PIDS; do
        if wait_line "/run/be-$c.log" "adopted pid $p exited" 30; then
            pass "$c/adopted-closed: pid $p stopped once dom$LAUNCHER_KILL_DOM was gone"
        else
            fail "$c/adopted-closed: adopted pid $p still runs"
        fi
    done
    n=$(grep -c "dom$LAUNCHER_KILL_DOM device [0-9]*: Closed" "/run/be-$c.log")
    if [ "$n" = 2 ]; then pass "$c/closed: Closed written for both disks"
    else fail "$c/closed: $n of 2 disks Closed"; fi
    image_check "$c" "$MIB"
    stop_backend "$c"
    stop_images
}

# restart_device_pid CASE DOMID: the pid serving that domain's vda now: the
# last one the launcher started or put in for it.
restart_device_pid() {
    grep -oE "dom$2 device 51712: (started pid [0-9]+|pid [0-9]+ replaces)" "/run/be-$1.log" |
        tail -n1 | grep -oE '[0-9]+' | tail -n1
}

# restart_kill_check CASE: once the guest's verified I/O runs, SIGKILL vda's
# device process RESTART_KILLS times, each at a random point; after each the
# launcher must have put in a replacement that serves again.
restart_kill_check() {
    local log d k pid before waited
    log=$(guest_log "$1")
    d=$(xl domid "$1") || { fail "$1/restart: no domid"; return; }
    wait_line "$log" 'VGTEST SYNC restart-io' 300 ||
        { fail "$1/restart: the guest's I/O never started"; return; }
    k=0
    while [ "$k" -lt "$RESTART_KILLS" ]; do
        k=$((k + 1))
        sleep "$(awk -v s="$(cut -d' ' -f1 /proc/uptime | tr -d .)$k" \
            'BEGIN { srand(s); printf "%.2f", 0.2 + rand() * 1.3 }')"
        if grep -q 'VGTEST DONE' "$log"; then
            fail "$1/restart: the guest's I/O ended after $((k - 1)) kills"
            return
        fi
        pid=$(restart_device_pid "$1" "$d")
        before=$(grep -c "dom$d device 51712: pid [0-9]* serving again" "/run/be-$1.log")
        kill -KILL "$pid" 2>/dev/null || { fail "$1/restart: kill $k: pid ${pid:-?} not there"; return; }
        waited=0
        until [ "$(grep -c "dom$d device 51712: pid [0-9]* serving again" "/run/be-$1.log")" -gt "$before" ]; do
            waited=$((waited + 1))
            if [ "$waited" -gt 60 ]; then
                fail "$1/restart: kill $k (pid $pid): no replacement serving within 30 s"
                xl destroy "$1" # its vCPUs wait on a server nobody serves
                return
            fi
            sleep 0.5
        done
    done
    pass "$1/restart-kills: vda's device process killed $RESTART_KILLS times under I/O, each time replaced"
}

# restart_case: the device process dies (SIGKILL) at random points of a
# guest's verified writes and read-backs (issue 15 item 4); the launcher
# replaces it on the same ioreq server and state, the replacement serves the
# requests in flight again, and the guest sees no error and no wrong byte.
restart_case() {
    c=restart
    echo "=== case $c: domU kernel Image-grant, vda's device process killed $RESTART_KILLS times under verified I/O"
    start_images || { fail "$c/images"; return; }
    # 20 kills in well under a minute: above the default limit of 10 a minute.
    BE_OPTS="--restart-limit 100" start_backend "$c" grant ||
        { fail "$c/backend-start"; stop_images; return; }
    GMIB=8 guest_cfg "$c" Image-grant \
        "xen.grant_dma_backend_domid=0 vgtest=restart vgsecs=$RESTART_SECS" \
        "vdev=xvda,target=$IMAGES/vda"
    run_guest "$c" 600 restart_kill_check
    be=/run/be-$c.log
    gaps=$(grep -o "device 51712: pid [0-9]* serving again, [0-9]* ms" "$be" |
        sed 's/.*again, //; s/ ms//' | sort -n)
    n=$(echo "$gaps" | grep -c .)
    med=$(echo "$gaps" | sed -n "$(((n + 1) / 2))p")
    worst=$(echo "$gaps" | tail -n1)
    again=$(grep -o "restarted on ioreq server [0-9]*: [0-9]* chains" "$be" |
        awk '{ s += $(NF - 1) } END { print s + 0 }')
    echo "E2E RESULT restart: $n replacements; service gap (death seen to replacement ready) median ${med:-?} ms, worst ${worst:-?} ms; $again chains in flight at a kill served again"
    if [ "$n" = "$RESTART_KILLS" ]; then pass "$c/replacements: $n, gap median $med ms, worst $worst ms"
    else fail "$c/replacements: $n of $RESTART_KILLS"; fi
    if grep -q "state was refused" "$be"; then fail "$c/state: a replacement refused the saved state"
    else pass "$c/state: every replacement took the saved state"; fi
    glog=$(guest_log "$c")
    if grep -qE "I/O error|blk_update_request|virtio_blk.*(error|reset)" "$glog"; then
        fail "$c/guest-kernel: $(grep -m1 -E "I/O error|blk_update_request|virtio_blk" "$glog")"
    else
        pass "$c/guest-kernel: no I/O error, no device reset in the guest's log"
    fi
    SIGKILLS_EXPECTED=$RESTART_KILLS stop_backend "$c"
    stop_images
}

# soak_sample: what must not pile up over guest lifetimes: the launcher's
# fds and RSS, gntdev mappings in dom0 (every process's maps), Xen's free
# memory (MiB), nameless zombie domains.
soak_sample() {
    fds=$(ls "/proc/$BE_PID/fd" | wc -l)
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$BE_PID/status") # a tab after the colon
    gnt=$(cat /proc/[0-9]*/maps 2>/dev/null | grep -c '/dev/xen/gntdev')
    free=$(xl info | sed -n 's/^free_memory *: *//p')
    zombies=$(xl list | grep -c '(null)')
    echo "fds=$fds rss_kb=$rss gntdev_maps=$gnt xen_free_mb=$free zombies=$zombies"
}

# soak_field SAMPLE NAME: one value of a soak_sample line.
soak_field() {
    echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# soak_case N: N guests, one after another, each created, busy with verified
# I/O, destroyed with requests in flight; one launcher serves them all.  The
# first sample is taken after the first cycle, the last after the Nth.
soak_case() {
    n=$1 c=soak
    echo "=== case $c: $n create/busy/destroy cycles, one launcher"
    start_images || { fail "$c/images"; return; }
    start_backend "$c" grant || { fail "$c/backend-start"; stop_images; return; }
    GMIB=4 guest_cfg "$c" Image-grant "xen.grant_dma_backend_domid=0 vgtest=busy" \
        "vdev=xvda,target=$IMAGES/vda"
    # Names of its own: the helpers it calls (wait_line, guest_log...) use i, n, t0.
    cyc=0 first="" last="" soak_t0=$(cut -d' ' -f1 /proc/uptime) soak_log=""
    while [ "$cyc" -lt "$n" ]; do
        cyc=$((cyc + 1))
        busy=0
        [ -n "$soak_log" ] && busy=$(grep -c 'VGTEST SYNC busy' "$soak_log" 2>/dev/null)
        xl create "/run/$c.cfg" >/dev/null 2>&1 || { fail "$c/cycle $cyc: xl create"; break; }
        d=$(xl domid "$c")
        k=0 now=0
        while [ "${now:-0}" -le "${busy:-0}" ] && [ $k -le 240 ]; do
            k=$((k + 1))
            sleep 0.5
            soak_log=$(guest_log "$c") # xenconsoled creates it with the first guest
            now=$(grep -c 'VGTEST SYNC busy' "$soak_log" 2>/dev/null)
        done
        [ $k -gt 240 ] && { fail "$c/cycle $cyc: dom$d never got busy"; xl destroy "$c"; break; }
        xl destroy "$c" || { fail "$c/cycle $cyc: xl destroy"; break; }
        pid=$(device_pid "$c" "$d")
        wait_line "/run/be-$c.log" "dom$d device 51712: pid $pid exited" 60 ||
            { fail "$c/cycle $cyc: dom$d's device process still runs"; break; }
        k=0
        while xl list | grep -q '(null)' && [ $k -lt 30 ]; do k=$((k + 1)); sleep 1; done
        s=$(soak_sample)
        [ "$cyc" = 1 ] && first=$s
        last=$s
        [ "$(soak_field "$s" zombies)" = 0 ] || { fail "$c/cycle $cyc: zombie: $(xl list | grep '(null)')"; break; }
    done
    secs=$(echo "$(cut -d' ' -f1 /proc/uptime) $soak_t0" | awk '{ printf "%.0f", $1 - $2 }')
    echo "E2E RESULT soak: $cyc cycles in $secs s; after cycle 1: $first; after cycle $cyc: $last"
    if [ -n "$soak_log" ] && grep -q 'VGTEST FAIL' "$soak_log"; then
        fail "$c/guest-io: $(grep -m1 -o 'VGTEST FAIL.*' "$soak_log")"
    elif [ "$cyc" = "$n" ] && [ -n "$first" ]; then
        pass "$c/cycles: $n guests created, busy, destroyed; no I/O error in any"
        for k in fds gntdev_maps xen_free_mb; do
            a=$(soak_field "$first" $k) b=$(soak_field "$last" $k)
            if [ "$a" = "$b" ]; then pass "$c/$k: $a after cycle 1 and after cycle $n"
            else fail "$c/$k: $a after cycle 1, $b after cycle $n"; fi
        done
        a=$(soak_field "$first" rss_kb) b=$(soak_field "$last" rss_kb)
        if [ "$b" -le $((a + 64)) ]; then pass "$c/rss: launcher $a kB after cycle 1, $b kB after cycle $n"
        else fail "$c/rss: launcher grew from $a kB to $b kB"; fi
    fi
    stop_backend "$c"
    stop_images
}

if only lifecycle; then
    reboot_case
    destroy_case
    launcher_crash_case
    RESTART_KILLS=20 RESTART_SECS=60
    restart_case
fi
# 20 cycles in make check (about 2 minutes), VG_E2E_SOAK of them in make
# soak (200; run.sh writes /vg/soak).
soak_n=$(cat /vg/soak 2>/dev/null)
only lifecycle && soak_case "${soak_n:-20}"
