#!/bin/sh
# make e2e: build (or reuse) every artifact, assemble dom0's initramfs, boot
# Xen + dom0 under qemu-system-aarch64 (TCG) with a hard timeout, and turn the
# E2E PASS/FAIL lines of the serial log into the exit status.
set -eu
. "$(dirname "$0")/lib.sh"
start=$(date +%s)
"$E2E_DIR/host-deps.sh"
xen=$(sh "$E2E_DIR/build-xen.sh")
policy=$(sh "$E2E_DIR/build-policy.sh")
arm=$(sh "$E2E_DIR/fetch-arm64.sh")
backend=$(sh "$E2E_DIR/build-backend.sh" "$arm")
# The daemon itself reaches dom0 as the Debian package, cross-built (issue 17).
deb=$(sh "$E2E_DIR/build-deb.sh" "$arm")
k_stock=$(sh "$E2E_DIR/build-domu-kernel.sh" stock)
k_grant=$(sh "$E2E_DIR/build-domu-kernel.sh" grant)
k_debug=$(sh "$E2E_DIR/build-domu-kernel.sh" debug)
k_v1=$(sh "$E2E_DIR/build-domu-kernel.sh" v1)
# The bench (tests/bench): smoke in every e2e run, full for make bench.
bench=${VG_E2E_BENCH:-smoke}
k_bench=$(sh "$E2E_DIR/build-domu-kernel.sh" bench)
# make bench only: the unpatched kernel for the stock frontend's row.
[ "$bench" = full ] && k_bench_stock=$(sh "$E2E_DIR/build-domu-kernel.sh" bench-stock)
fio=$(sh "$REPO_DIR/tests/bench/fetch-fio.sh" "$arm")
built=$(date +%s)
say "artifacts ready after $((built - start)) s"

work=${VG_E2E_WORK:-$E2E_CACHE/run}
rm -rf "$work" && mkdir -p "$work/guest" "$work/dom0"
log=${VG_E2E_LOG:-$REPO_DIR/build/e2e-serial.log}
mkdir -p "$(dirname "$log")"

# The domU's initramfs is the test binary alone, as /init.
# shellcheck disable=SC2086
${CROSS}gcc -std=gnu11 -O2 -Wall -Wextra -Werror -static -o "$work/vg-e2e-blk" $GUEST_SRCS
cp "$work/vg-e2e-blk" "$work/guest/init"
# The containment probe runs in the driver domain and in dom0, against their libraries.
sys="$arm/sysroot" lib="$arm/sysroot/usr/lib/aarch64-linux-gnu"
${CROSS}gcc -std=gnu11 -O2 -Wall -Wextra -Werror -isystem "$sys/usr/include" -L"$lib" \
    -Wl,-rpath-link,"$lib" -o "$work/vg-xenprobe" "$E2E_DIR/probe/vg-xenprobe.c" \
    -lxenforeignmemory -lxengnttab -lxendevicemodel
(cd "$work/guest" && echo init | cpio -o -H newc --quiet | gzip -1) > "$work/guest.cpio.gz"
# The bench guest: fio, its libraries, busybox, and its /init.
mkdir -p "$work/bench"
cp -a "$fio/root/." "$work/bench/"
cp "$REPO_DIR/tests/bench/guest-init.sh" "$work/bench/init" && chmod +x "$work/bench/init"
(cd "$work/bench" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/bench.cpio.gz"
# The patched kernel once without Xen: virtio_ring without the DMA API.
if [ "$bench" != full ]; then
    say "booting the patched domU kernel without Xen (QEMU's own virtio-mmio disks)"
    sh "$E2E_DIR/run-bare.sh" "$k_grant" "$work/guest.cpio.gz" "$work/bare" >&2 ||
        die "the patched kernel without Xen failed (log: $work/bare/bare.log)"
fi

# dom0: Debian's arm64 userspace without kernel modules we do not load.
r="$work/dom0"
(cd "$arm/root" && tar -cf - --exclude=./lib/modules --exclude=./boot --exclude=./usr/lib/debug .) |
    (cd "$r" && tar -xf -)
kver=$(ls "$arm/root/lib/modules")
mods="$arm/root/lib/modules/$kver"
order=""
add_mod() { # add_mod NAME: its dependencies first
    local f d
    f=$(find "$mods" -name "$1.ko" | head -n1)
    [ -n "$f" ] || die "dom0 kernel has no module $1"
    case " $order " in *" $f "*) return ;; esac
    for d in $(modinfo -F depends "$f" | tr ',' ' '); do add_mod "$d"; done
    order="$order $f"
}
# xen-blkback: the bench's PV baseline.
for m in xen-evtchn xen-privcmd xenfs xen-gntdev xen-gntalloc loop xen-blkback; do add_mod "$m"; done
mkdir -p "$r/vg"
for f in $order; do
    dst="$r/lib/modules/$kver/${f#"$mods"/}"
    mkdir -p "$(dirname "$dst")" && cp "$f" "$dst"
    echo "/lib/modules/$kver/${f#"$mods"/}" >> "$r/vg/modules"
done
# dom0 installs the daemon from the package with dpkg -i (dom0-init.sh); the
# backend build gives only the test-only tools.
cp "$deb"/virtio-grant_*_arm64.deb "$r/vg/"
cp "$backend/virtio-grant-probe" "$backend/vg-grant-peak" \
    "$work/vg-e2e-blk" "$work/vg-xenprobe" "$E2E_DIR/jail-check.sh" "$r/vg/"
# The driver domain: dom0's Debian kernel, and an initramfs cut from dom0's
# tree (busybox, libraries, xenstore tools, the same modules, the backend and
# the probe) without the toolstack or the guests' kernels.
dd="$work/dd"
mkdir -p "$dd"
(cd "$r" && tar -cf - --exclude=./usr/lib/xen-4.17 --exclude='./usr/lib/linux-image-*' \
    --exclude=./usr/share .) | (cd "$dd" && tar -xf -)
# The driver domain runs no package manager: the package's files, unpacked here.
dpkg-deb -x "$deb"/virtio-grant_*_arm64.deb "$dd"
rm -f "$dd"/vg/virtio-grant_*_arm64.deb
cp "$E2E_DIR/dd-init.sh" "$dd/init" && chmod +x "$dd/init"
(cd "$dd" && find . | cpio -o -H newc --quiet | gzip -1) > "$r/vg/dd.cpio.gz"
cp "$arm/Image" "$r/vg/Image-dd"
say "driver domain initramfs $(du -h "$r/vg/dd.cpio.gz" | cut -f1)"
cp "$k_grant" "$r/vg/Image-grant"
cp "$k_stock" "$r/vg/Image-stock"
cp "$k_debug" "$r/vg/Image-debug"
cp "$k_v1" "$r/vg/Image-v1"
cp "$work/guest.cpio.gz" "$r/vg/"
cp "$E2E_DIR/dom0-cases.sh" "$r/vg/cases.sh"
cp "$E2E_DIR/dd-cases.sh" "$r/vg/dd-cases.sh"
cp "$E2E_DIR/dd-lib.sh" "$r/vg/dd-lib.sh"
cp "$E2E_DIR/dom0-lib.sh" "$r/vg/dom0-lib.sh"
# The soak's cycles (lifecycle-cases.sh): make soak's 200; none unless asked.
echo "${VG_E2E_SOAK:-}" > "$r/vg/soak"
# VG_E2E_ONLY=dom0|dd|lifecycle|bench: only that group of cases (for iterating
# on one; make check always runs them all).
echo "${VG_E2E_ONLY:-}" > "$r/vg/only"
cp "$E2E_DIR/lifecycle-cases.sh" "$r/vg/lifecycle-cases.sh"
cp "$REPO_DIR/tests/bench/bench-cases.sh" "$r/vg/bench-cases.sh"
cp "$REPO_DIR/tests/bench/block-hotplug.sh" "$r/vg/bench-block"
echo "$bench" > "$r/vg/bench"
# VG_E2E_BENCH_MODES="pool grant-copy": only those of the bench's modes.
echo "${VG_E2E_BENCH_MODES:-}" > "$r/vg/bench-modes"
echo "${VG_E2E_BENCH_TIMEOUT:-}" > "$r/vg/bench-timeout"
cp "$k_bench" "$r/vg/Image-bench"
[ "$bench" = full ] && cp "$k_bench_stock" "$r/vg/Image-bench-stock"
cp "$work/bench.cpio.gz" "$r/vg/"
cp "$E2E_DIR/dom0-init.sh" "$r/init" && chmod +x "$r/init"
(cd "$r" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/dom0.cpio.gz"
say "dom0 initramfs $(du -h "$work/dom0.cpio.gz" | cut -f1)"

# Xen at QEMU's default load address; dom0 kernel and initrd through the
# guest-loader, the initrd clear of QEMU's DTB at 0x48000000.  The guest-loader
# cannot describe an XSM policy, so QEMU's device tree is dumped once, given a
# "xen,xsm-policy" module node for the policy loaded at 0x4A000000, and passed
# back with -dtb.  FLASK enforces from the first hypercall (VG_E2E_FLASK=
# permissive only logs, for collecting AVC denials while writing policy).
flask=${VG_E2E_FLASK:-enforcing}
set -- -M virt,virtualization=on,gic-version=3 -cpu cortex-a57 -smp 2 -m 2048 \
    -nographic -no-reboot -monitor none -serial stdio -nic none \
    -kernel "$xen" -append "dom0_mem=768M,max:768M console=dtuart xsm=flask flask=$flask" \
    -device guest-loader,addr=0x42000000,kernel="$arm/Image",bootargs="console=hvc0 earlycon=xen rdinit=/init" \
    -device guest-loader,addr=0x4C000000,initrd="$work/dom0.cpio.gz" \
    -device loader,file="$policy",addr=0x4A000000,force-raw=on
dtb="$work/virt.dtb"
qemu-system-aarch64 "$@" -machine dumpdtb="$dtb" >/dev/null 2>&1 ||
    die "QEMU could not dump its device tree"
node=/chosen/module@4a000000
fdtput -c "$dtb" "$node" &&
    fdtput -t s "$dtb" "$node" compatible "xen,xsm-policy" "multiboot,module" &&
    fdtput -t x "$dtb" "$node" reg 0 4a000000 0 "$(printf '%x' "$(stat -c %s "$policy")")" ||
    die "fdtput: cannot add the XSM policy node"
say "booting Xen (xsm=flask flask=$flask) under qemu-system-aarch64 (serial log: $log)"
set +e
timeout "${VG_E2E_TIMEOUT:-1500}" qemu-system-aarch64 "$@" -dtb "$dtb" < /dev/null > "$log" 2>&1
qrc=$?
set -e
end=$(date +%s)
grep -E '^(E2E|BENCH|=== (case|bench)|\[backend)' "$log" | tr -d '\r' >&2 || true
fails=$(grep -c '^E2E FAIL' "$log" || true)
passes=$(grep -c '^E2E PASS' "$log" || true)
say "build $((built - start)) s, boot+tests $((end - built)) s, total $((end - start)) s"
[ $qrc -eq 124 ] && die "QEMU timed out (serial log: $log)"
grep -q '^E2E DONE' "$log" || die "dom0 did not finish the cases (qemu rc $qrc, serial log: $log)"
[ "$fails" -eq 0 ] || die "$fails step(s) failed: $(grep '^E2E FAIL' "$log" | head -n1 | tr -d '\r')"
[ "$passes" -gt 0 ] || die "no step passed"
# The bench's table from this run's BENCH lines (the smoke's, or make bench's).
bout=${VG_E2E_BENCH_OUT:-$REPO_DIR/build/bench/$bench}
if [ -z "${VG_E2E_ONLY:-}" ] || [ "$VG_E2E_ONLY" = bench ]; then
    python3 "$REPO_DIR/tests/bench/report.py" "$log" "$bout" >&2 ||
        die "bench report: no rows, or a verify error (see $bout)"
fi
say "PASS: $passes steps; bench table in $bout"
