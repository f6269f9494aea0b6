#!/bin/sh
# The patched domU kernel without Xen: QEMU's own virtio-mmio disks, no
# VIRTIO_F_ACCESS_PLATFORM, so virtio_ring runs without the DMA API, a path
# the Xen cases never take (under Xen every virtio device uses it).  The
# series' first patch changes how completed chains are walked on every
# platform; this boot is where that is exercised: the same 64 MiB data test
# and read-only disk test as in the Xen cases, and the host checks the image.
# usage: run-bare.sh IMAGE GUEST-CPIO WORKDIR; prints E2E lines, exit 1 on failure.
set -eu
. "$(dirname "$0")/lib.sh"
img=$1 cpio=$2 w=$3
seed=$(( $(date +%s) % 100000 + 1 )) mib=64
mkdir -p "$w"
# shellcheck disable=SC2086
gcc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$w/vg-e2e-blk-host" $GUEST_SRCS
rm -f "$w/vda.img" "$w/vdb.img"
truncate -s $(( (mib + 8) * 1024 * 1024 )) "$w/vda.img"
"$w/vg-e2e-blk-host" fill "$w/vdb.img" $((seed + 1)) 4
log="$w/bare.log"
set +e
# The disk added last is the guest's first (lowest-address) virtio-mmio slot.
# vda without indirect descriptors, so its requests are chains in the ring
# itself (what the detach walk follows); vdb with them.
timeout 300 qemu-system-aarch64 -M virt -cpu cortex-a57 -smp 1 -m 256 \
    -nographic -no-reboot -monitor none -serial stdio -nic none \
    -kernel "$img" -initrd "$cpio" \
    -append "console=ttyAMA0 vgtest=rw vgseed=$seed vgmib=$mib" \
    -drive if=none,id=vdb,file="$w/vdb.img",format=raw,readonly=on \
    -device virtio-blk-device,drive=vdb \
    -drive if=none,id=vda,file="$w/vda.img",format=raw \
    -device virtio-blk-device,drive=vda,indirect_desc=off \
    < /dev/null > "$log" 2>&1
rc=$?
set -e
tr -d '\r' < "$log" | grep -o 'VGTEST [A-Z]* .*' | sed 's/^VGTEST \(PASS\|FAIL\|INFO\) /E2E \1 bare\//; s/^VGTEST /E2E INFO bare: /'
fails=$(grep -c 'VGTEST FAIL' "$log" || true)
if ! grep -q 'VGTEST DONE' "$log"; then
    echo "E2E FAIL bare/guest-done: the guest did not finish (qemu rc $rc, log $log)"
    exit 1
fi
if "$w/vg-e2e-blk-host" verify "$w/vda.img" "$seed" "$mib"; then
    echo "E2E PASS bare/image holds the guest's $mib MiB"
else
    echo "E2E FAIL bare/image: the disk does not hold the guest's data"
    exit 1
fi
[ "$fails" -eq 0 ] || exit 1
