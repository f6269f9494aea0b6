# The driver domain's helpers, sourced by the driver-domain cases
# (dd-cases.sh) and by make bench (tests/bench/bench-cases.sh): its name,
# console log and labels, dd_run (a command for dd-init.sh) and dd_up.
# The backend runs in "vgdd" (seclabel vgdd_t, driver_domain=1, Debian's
# arm64 kernel); the guests it serves are labelled vg_guest_t.

DD=vgdd
DD_LOG=/var/log/xen/guest-$DD.log
DD_SEQ=0
DD_IMAGES=/run/vg-images # dd-init.sh's IMAGES
GUEST_LABEL="system_u:system_r:vg_guest_t"

# dd_run CMD ARGS...: run a dd-init.sh command in the driver domain; its
# exit status, or 124 if it did not answer within 180 s.
dd_run() {
    DD_SEQ=$((DD_SEQ + 1))
    xenstore-write "/local/domain/$DD_ID/data/vg-req" "$DD_SEQ $*"
    i=0
    while [ $i -lt 900 ]; do
        rsp=$(xenstore-read "/local/domain/$DD_ID/data/vg-rsp" 2>/dev/null)
        case "$rsp" in "$DD_SEQ "*) return "${rsp#* }" ;; esac
        i=$((i + 1))
        sleep 0.2
    done
    fail "dd/rpc: the driver domain did not answer '$*'"
    return 124
}

# dd_up: create the driver domain and wait until it serves commands.
dd_up() {
    echo "=== case dd-up: driver domain $DD (vgdd_t), Debian's kernel"
    cat > /run/$DD.cfg <<CFG
name = "$DD"
kernel = "/vg/Image-dd"
ramdisk = "/vg/dd.cpio.gz"
memory = 384
vcpus = 1
driver_domain = 1
seclabel = "system_u:system_r:vgdd_t"
extra = "console=hvc0 rdinit=/init quiet"
on_poweroff = "destroy"
on_crash = "destroy"
CFG
    t0=$(cut -d' ' -f1 /proc/uptime)
    xl create /run/$DD.cfg || { fail "dd-up/xl-create"; return 1; }
    DD_ID=$(xl domid $DD)
    i=0
    until grep -q "VGDD UP" "$DD_LOG" 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt 600 ] && { tr -d '\r' < "$DD_LOG" | tail -n 30 | sed 's/^/[dd] /'; fail "dd-up: no VGDD UP in 300 s"; return 1; }
        sleep 0.5
    done
    pass "dd-up/driver domain $DD_ID up after $(echo "$(cut -d' ' -f1 /proc/uptime) $t0" | awk '{ printf "%.1f", $1 - $2 }') s: $(grep -o 'VGDD UP.*' "$DD_LOG" | tr -d '\r')"
    xl list -Z | sed 's/^/[dom0 xl list -Z] /'
}
