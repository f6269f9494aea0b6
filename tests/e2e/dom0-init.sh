#!/bin/busybox sh
# dom0's /init for the e2e run: bring up the Xen toolstack, then run each case
# (a domU created by libxl with virtio disks served by `virtio-grant watch`)
# and print "E2E PASS|FAIL <case>/<step>" lines; the host turns them into an
# exit status.  Ends with a power-off so QEMU exits.
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
# only GROUP: whether that group of cases runs (all, unless VG_E2E_ONLY named one).
E2E_ONLY=$(cat /vg/only 2>/dev/null)
only() { [ -z "$E2E_ONLY" ] || [ "$E2E_ONLY" = "$1" ]; }
die() { fail "$*"; echo "E2E DONE failures=$FAILS"; poweroff -f; }

for m in $(cat /vg/modules); do insmod "$m" || die "dom0/insmod $m"; done
# The daemon as an operator gets it: the cross-built package, installed
# with dpkg against the status file of what dom0's root holds (its
# dependencies are checked), maintainer scripts run.
deb=$(ls /vg/virtio-grant_*_arm64.deb)
dpkg -i "$deb" > /run/dpkg.log 2>&1 || { cat /run/dpkg.log; die "dom0/package dpkg -i $deb"; }
[ "$(command -v virtio-grant)" = /usr/sbin/virtio-grant ] || die "dom0/package: virtio-grant is not /usr/sbin's"
pass "dom0/package $(dpkg-query -W -f '${Package} ${Version} ${Architecture} ${Status}' virtio-grant)"
mount -t xenfs xenfs /proc/xen || die "dom0/xenfs"
xenstored --pid-file /run/xenstored.pid || die "dom0/xenstored"
xen-init-dom0 || die "dom0/xen-init-dom0"
xenconsoled --log=guest --log-dir=/var/log/xen || die "dom0/xenconsoled"
pass "dom0/toolstack up after $(cut -d' ' -f1 /proc/uptime) s"
# Every case runs under the XSM/FLASK policy (tests/e2e/build-policy.sh).
echo "E2E INFO dom0: FLASK $(xl getenforce 2>&1)"

. /vg/dom0-lib.sh
. /vg/bench-cases.sh
# make bench boots for the bench alone; make e2e runs every case and a smoke
# of the bench (one workload, three modes).
if [ "$BENCH_LEVEL" = full ]; then
    bench_cases
    echo "E2E DONE failures=$FAILS"
    poweroff -f
fi
. /vg/jail-check.sh
. /vg/cases.sh
. /vg/dd-cases.sh
. /vg/lifecycle-cases.sh
only bench && bench_cases
# Throughput of every data case, measured side by side in this one run.
for c in grant grant-copy pool pool-v1 foreign dd-stock dd-pool; do
    [ -s /run/$c.wr ] && printf 'E2E RESULT %-10s write %s  read %s\n' $c "$(cat /run/$c.wr)" "$(cat /run/$c.rd)"
done
echo "E2E DONE failures=$FAILS"
poweroff -f
