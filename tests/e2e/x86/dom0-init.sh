#!/bin/busybox sh
# dom0's /init for make e2e-x86: the toolstack, then the x86 cases, each an
# HVM guest served by device processes started by hand (libxl 4.17 has no
# x86 virtio disk); "E2E PASS|FAIL" lines, then power-off.
/bin/busybox --install -s /bin
export PATH=/usr/lib/xen-4.17/bin:/vg:/usr/sbin:/usr/bin:/sbin:/bin
mkdir -p /proc /sys /dev /run /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /var && ln -sfn /run /var/run
mkdir -p /run/xen /run/xenstored /var/lib/xen /var/lib/xenstored /var/log/xen
exec > /dev/console 2>&1

pass() { echo "E2E PASS $*"; }
fail() { echo "E2E FAIL $*"; FAILS=$((FAILS + 1)); }
FAILS=0
die() { fail "$*"; echo "E2E DONE failures=$FAILS"; poweroff -f; sleep 2147483647; }

for m in $(cat /vg/modules); do insmod "$m" || die "dom0/insmod $m"; done
mount -t xenfs xenfs /proc/xen || die "dom0/xenfs"
xenstored --pid-file /run/xenstored.pid || die "dom0/xenstored"
xen-init-dom0 || die "dom0/xen-init-dom0"
xenconsoled --log=guest --log-dir=/var/log/xen || die "dom0/xenconsoled"
pass "dom0/toolstack up after $(cut -d' ' -f1 /proc/uptime) s"
. /vg/dom0-lib.sh
. /vg/cases.sh
echo "E2E DONE failures=$FAILS"
poweroff -f
