#!/bin/busybox sh
# The stock x86 guest's /init: Debian's kernel has virtio as modules, so load
# them (the list, in dependency order, is /modules), then become the test.
/bin/busybox mkdir -p /proc /sys /dev
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec > /dev/console 2>&1
for m in $(/bin/busybox cat /modules); do
    /bin/busybox insmod "$m" || echo "VGTEST FAIL insmod $m"
done
exec /vg-e2e-blk
