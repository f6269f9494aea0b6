#!/bin/busybox sh
# /init of the bench guest: fio against one disk, every workload in turn.
# Kernel command line:
#   vgbench=full|smoke   the workload set (smoke: one small write with verify)
#   vgbenchdev=vda|xvda  the disk (virtio-blk, or the PV blkfront baseline)
#   vgbenchrt=SECONDS    runtime of each workload (default 5)
#   vgbenchmib=N         the part of the disk the workloads use (default 128)
# Every workload prints VGBENCH-BEGIN, waits a second (dom0 samples the
# backend's CPU time then), runs, prints VGBENCH-END and fio's terse line
# (VGBENCH-TERSE), and waits a second again.  Write workloads verify what
# they wrote (crc32c, fatal): a verify error fails the job, and the line says
# so; the verify reads show in the terse line's read section.
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs tmp /tmp
export LD_LIBRARY_PATH=/lib PATH=/bin:/usr/bin
arg() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" /proc/cmdline; }
level=$(arg vgbench) dev=/dev/$(arg vgbenchdev) rt=$(arg vgbenchrt) mib=$(arg vgbenchmib)
rt=${rt:-5} mib=${mib:-128}
for i in $(seq 1 50); do [ -b "$dev" ] && break; sleep 0.2; done
[ -b "$dev" ] || { echo "VGBENCH-FAIL no disk $dev"; poweroff -f; }
echo "VGBENCH-INFO $(fio --version) on $dev, ${mib} MiB, ${rt} s per workload ($level)"

# job NAME FIO-ARGS...: one workload, O_DIRECT through libaio.
job() {
    name=$1
    shift
    echo "VGBENCH-BEGIN $name"
    sleep 1
    fio --minimal --thread --name="$name" --filename="$dev" --direct=1 --ioengine=libaio \
        --size="${mib}M" --randrepeat=1 --norandommap=0 "$@" > /tmp/out 2> /tmp/err
    rc=$?
    echo "VGBENCH-END $name rc=$rc"
    sed "s/^/VGBENCH-TERSE $name /" /tmp/out
    [ $rc = 0 ] || sed "s/^/VGBENCH-ERR $name /" /tmp/err | head -n 5
    sleep 1
}
# Reads run for the runtime.  Writes write a fixed amount (fio skips the
# verify phase of a job its runtime ended), then read every block back and
# check it.
rd() { job "$1" --rw="$2" --bs="$3" --iodepth="$4" --runtime="$rt" --time_based; }
wr() { job "$1" --rw="$2" --bs="$3" --iodepth="$4" --io_size="$5" --verify=crc32c \
           --verify_fatal=1; }

# The same data under every read, whatever the mode: fill the area first (not measured).
fio --minimal --thread --name=fill --filename="$dev" --direct=1 --ioengine=libaio \
    --size="${mib}M" --rw=write --bs=1M --iodepth=8 > /dev/null 2>&1 ||
    echo "VGBENCH-FAIL fill"
case "$level" in
smoke)
    wr randwrite-4k-qd8 randwrite 4k 8 4M
    ;;
*)
    for qd in 1 8 32; do rd randread-4k-qd$qd randread 4k $qd; done
    for qd in 1 8 32; do wr randwrite-4k-qd$qd randwrite 4k $qd 4M; done
    rd read-64k-qd8 read 64k 8
    wr write-64k-qd8 write 64k 8 16M
    rd read-1m-qd8 read 1M 8
    wr write-1m-qd8 write 1M 8 32M
    ;;
esac
echo "VGBENCH-DONE"
poweroff -f
