# The guest lifecycle cases (issue 15), sourced by dom0's /init after
# cases.sh, whose helpers they use: a reboot that re-creates the domain with a
# new domid, and a destroy with I/O in flight.

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
    if xl destroy "$1"; then
        pass "$1/xl-destroy with I/O in flight"
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

reboot_case
destroy_case
