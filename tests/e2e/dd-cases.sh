# The driver-domain cases, sourced by dom0's /init after the dom0 cases.
# The backend runs in "vgdd" (seclabel vgdd_t, driver_domain=1, Debian's
# arm64 kernel); the guests it serves are labelled vg_guest_t and name it as
# their disks' backend.  Under the enforcing policy (policy/flask/vg.te) Xen
# lets vgdd_t emulate vg_guest_t and map its grants, and nothing more.
# dom0 drives the driver domain through xenstore (dd-init.sh).

. /vg/dd-lib.sh

# dd_guest_cfg CASE KERNEL EXTRA: a vg_guest_t guest whose disks the driver
# domain serves (the target is a path in the driver domain).
dd_guest_cfg() {
    guest_cfg "$1" "$2" "$3 vgiommu=$DD_ID" \
        "backend=$DD,vdev=xvda,target=$IMAGES/vda" \
        "backend=$DD,vdev=xvdb,access=ro,target=$IMAGES/vdb"
    echo "seclabel = \"$GUEST_LABEL\"" >> "/run/$1.cfg"
}

# dd_dir_gone CASE DOMID: after the guest, its device directories in the
# driver domain's home are gone (the launcher removed them, libxl did not
# have to time out).
dd_dir_gone() {
    d=/local/domain/$DD_ID/backend/virtio_disk/$2
    if ! xenstore-exists "$d" 2>/dev/null; then
        pass "$1/dir-removed: nothing left of the guest's devices in the driver domain"
    else
        fail "$1/dir-removed: left behind: $d: $(xenstore-list "$d" 2>&1 | tr '\n' ' ')"
    fi
}

# dd_rw_case CASE KERNEL EXTRA: the data test through the driver domain.
dd_rw_case() {
    c=$1
    echo "=== case $c: domU kernel $2 ($GUEST_LABEL), backend in the driver domain"
    dd_run images "$SEED" "$MIB" || { fail "$c/dd-images"; return; }
    dd_run backend "$c" --mode grant || { fail "$c/dd-backend-start"; return; }
    # VIRTIO_F_GRANT_ADDRESSING: the patched series only (the device is in grant mode).
    case $2 in Image-grant) ga=1 ;; *) ga=0 ;; esac
    dd_guest_cfg "$c" "$2" "$3 vgtest=rw vgga=$ga"
    t0=$(cut -d' ' -f1 /proc/uptime)
    if xl create "/run/$c.cfg"; then
        pass "$c/xl-create"
        gid=$(xl domid "$c")
        dd_run jail "$c"
        wait_gone "$c" 300 || { fail "$c/guest-timeout"; xl destroy "$c"; }
        dd_dir_gone "$c" "$gid"
    else
        fail "$c/xl-create"
    fi
    echo "case $c: domU ran $t0 .. $(cut -d' ' -f1 /proc/uptime) s"
    guest_lines "$c"
    dd_run verify "$c" "$SEED" "$MIB"
    dd_run stop "$c"
}

avc_count() { xl dmesg | grep -c 'avc:  denied'; }

# dd_probe_line OP DOMID: the driver domain's newest PROBE line for them,
# waiting up to 10 s for its console to reach the log.
dd_probe_line() {
    i=0
    while [ $i -lt 20 ]; do
        l=$(tr -d '\r' < "$DD_LOG" | grep -o "PROBE $1 dom$2[: ].*" | tail -n1)
        [ -n "$l" ] && [ "$l" != "$DD_LAST_PROBE" ] && break
        i=$((i + 1))
        sleep 0.5
    done
    DD_LAST_PROBE=$l
    echo "$l"
}

# probe_expect WHERE CASE STEP WANT CMD...: run vg-xenprobe (in the driver
# domain or in dom0); WANT=refused: Xen refused it (status 3) and logged a
# new AVC denial; WANT=ok: it succeeded (status 0).
probe_expect() {
    where=$1 c=$2 step=$3 want=$4
    shift 4
    before=$(avc_count)
    if [ "$where" = dd ]; then
        dd_run probe "$@"
        rc=$?
        line=$(dd_probe_line "$1" "$2")
    else
        line=$(vg-xenprobe "$@")
        rc=$?
    fi
    after=$(avc_count)
    echo "E2E INFO $c: $where: $line"
    if [ "$want" = refused ] && [ $rc = 3 ] && [ "$after" -gt "$before" ]; then
        pass "$c/$step: $line ($((after - before)) new AVC denial)"
    elif [ "$want" = ok ] && [ $rc = 0 ]; then
        pass "$c/$step: $line"
    else
        fail "$c/$step: wanted $want, got status $rc, AVC denials $before -> $after: $line"
    fi
}

# avc_expect CASE STEP TCLASS TARGET-TYPE: Xen logged a denial of that class
# from vgdd_t against that type.
avc_expect() {
    l=$(xl dmesg | grep 'avc:  denied' | grep 'scontext=system_u:system_r:vgdd_t' |
        grep "tcontext=system_u:system_r:$4" | grep "tclass=$3" | tail -n1)
    if [ -n "$l" ]; then
        pass "$1/$2: ${l#*avc:  }"
    else
        fail "$1/$2: no AVC denial of $3 on $4 in xl dmesg"
    fi
}

# contain_case: the backend in the driver domain with its jail switched off
# serves a guest; a probe there, root with fresh handles, tries what a
# compromised backend would.  Xen refuses each (AVC denial logged); the same
# foreign map from dom0 succeeds; the guest's data stay intact.
contain_case() {
    c=contain
    echo "=== case $c: --sandbox=off in the driver domain, vg-xenprobe beside it"
    dd_run images "$SEED" "$MIB" || { fail "$c/dd-images"; return; }
    dd_run backend "$c" --mode grant --sandbox=off || { fail "$c/dd-backend-start"; return; }
    # A bystander the driver domain does not serve (domU_t, no disks).
    guest_cfg bystander Image-stock "vgtest=idle vghold=600"
    c=contain # guest_cfg sets c
    xl create /run/bystander.cfg || fail "$c/bystander-create"
    by=$(xl domid bystander)
    dd_guest_cfg "$c" Image-stock "vgtest=rw vghold=120"
    if ! xl create "/run/$c.cfg"; then
        fail "$c/xl-create"
        xl destroy bystander
        dd_run stop "$c"
        return
    fi
    gid=$(xl domid "$c")
    # The guest's first RAM page (GUEST_RAM0_BASE 0x40000000) by frame number.
    probe_expect dd "$c" foreign-map-served refused foreign-map "$gid" 0x40000
    probe_expect dd "$c" grant-map-bystander refused grant-map "$by" 0
    probe_expect dd "$c" ioreq-server-bystander refused ioreq-server "$by"
    probe_expect dd "$c" grant-table-bystander refused grant-table "$by"
    # What resource_map lets through on a guest it serves: measured, not hidden.
    dd_run probe grant-table "$gid"
    echo "E2E INFO $c: residual: dd: $(dd_probe_line grant-table "$gid")"
    probe_expect dom0 "$c" dom0-foreign-map ok foreign-map "$gid" 0x40000
    avc_expect "$c" avc-mmu mmu vg_guest_t
    avc_expect "$c" avc-grant grant domU_t
    avc_expect "$c" avc-hvm hvm domU_t
    avc_expect "$c" avc-resource domain2 domU_t
    # The guest finishes its data test under the probes, then is let go.
    i=0
    until grep -q 'VGTEST DONE' "/var/log/xen/guest-$c.log" 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt 300 ] && break
        sleep 1
    done
    # The guest is idle now (vghold): no grant allocation races the probe.
    # resource_map made its grant table writable to the driver domain: forge
    # an unused entry granting frame 0x40000, map it, revoke it.
    dd_run probe grant-forge "$gid" 0x40000 "$DD_ID" 500
    frc=$?
    forged=$(dd_probe_line grant-forge "$gid")
    echo "E2E INFO $c: residual: dd: $forged"
    # Measured either way (0 forged and mapped, 3 refused); 4: not tried.
    if [ $frc = 0 ] || [ $frc = 3 ]; then
        pass "$c/grant-forge measured: ${forged#*: }"
    else
        fail "$c/grant-forge: not measured (status $frc): $forged"
    fi
    # The same frame read by dom0's foreign map, now: is it the same page?
    seen=$(vg-xenprobe foreign-map "$gid" 0x40000 | grep -o 'first word 0x[0-9a-f]*')
    if [ $frc = 0 ] && [ -n "$seen" ]; then
        case "$forged" in
        *"$seen") echo "E2E INFO $c: residual: the forged grant showed the driver domain what dom0's foreign map of gfn 0x40000 reads ($seen)" ;;
        *) echo "E2E INFO $c: residual: the forged grant mapped a page; dom0's foreign map of gfn 0x40000 now reads $seen" ;;
        esac
    fi
    xl destroy "$c"
    xl destroy bystander
    wait_gone "$c" 30
    guest_lines "$c"
    dd_run verify "$c" "$SEED" "$MIB"
    dd_run stop "$c"
}

# dd_lines: the driver domain's console into the serial log, and its verdicts.
dd_lines() {
    tr -d '\r' < "$DD_LOG" | grep -v '^E2E ' | tail -n 80 | sed 's/^/[dd] /'
    tr -d '\r' < "$DD_LOG" | grep '^E2E '
    n=$(tr -d '\r' < "$DD_LOG" | grep -c '^E2E FAIL')
    FAILS=$((FAILS + n))
}

if only dd && dd_up; then
    dd_rw_case dd-stock Image-stock ""
    dd_rw_case dd-pool Image-grant "xen.grant_dma_pool_pages=1024 xen.grant_dma_ring_ro=1"
    contain_case
    xl destroy $DD
fi
only dd && dd_lines
# Every denial of the run: the dom0 cases had none, these are the probes'.
xl dmesg | grep 'avc:  denied' | sed 's/^/[xen avc] /'
