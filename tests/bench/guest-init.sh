#!/bin/busybox sh
# /init of the bench guest: fio against one disk, every workload in turn.
# Kernel command line:
#   vgbench=full|smoke   the workload set (smoke: one small write with verify)
#   vgbenchdev=vda|xvda  the disk (virtio-blk, or the PV blkfront baseline)
#   vgbenchrt=SECONDS    runtime of each workload (default 5)
#   vgbenchmib=N         the part of the disk the workloads use (default 128)
#   vgbenchjobs=N        fio jobs per workload (default 1): each takes its own
#                        1/N of the area and of the queue depth, on its own CPU
#                        (a workload of queue depth below N runs min(N, QD) jobs)
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
njobs=$(arg vgbenchjobs)
rt=${rt:-5} mib=${mib:-128} njobs=${njobs:-1}
for i in $(seq 1 50); do [ -b "$dev" ] && break; sleep 0.2; done
[ -b "$dev" ] || { echo "VGBENCH-FAIL no disk $dev"; poweroff -f; }
# blk-mq's hardware queues: one per virtqueue the driver set up (MQ), or one
queues=$(ls -d /sys/block/"${dev#/dev/}"/mq/* 2>/dev/null | wc -l)
echo "VGBENCH-INFO $(fio --version) on $dev, ${mib} MiB, ${rt} s per workload ($level)," \
     "$(nproc) CPUs, $queues request queues, $njobs jobs"

# job NAME QD FIO-ARGS...: one workload of queue depth QD, O_DIRECT through
# libaio, in n jobs: each its own 1/n of the area (so the verify of one never
# reads another's writes) and of the depth, one line for the group.
job() {
    name=$1 qd=$2
    shift 2
    n=$njobs
    [ "$qd" -lt "$n" ] && n=$qd
    split=""
    [ "$n" -gt 1 ] && split="--numjobs=$n --offset_increment=$((mib / n))M --group_reporting
        --cpus_allowed=0-$(($(nproc) - 1)) --cpus_allowed_policy=split"
    echo "VGBENCH-BEGIN $name"
    sleep 1
    # shellcheck disable=SC2086 # $split is words
    fio --minimal --thread --name="$name" --filename="$dev" --direct=1 --ioengine=libaio \
        --size="$((mib / n))M" --iodepth="$((qd / n))" $split \
        --randrepeat=1 --norandommap=0 "$@" > /tmp/out 2> /tmp/err
    rc=$?
    echo "VGBENCH-END $name rc=$rc"
    # fio's terse lines, and apart what else it said on stdout (a warning)
    grep '^3;' /tmp/out | sed "s/^/VGBENCH-TERSE $name /"
    grep -v '^3;' /tmp/out | sed "s/^/VGBENCH-INFO $name: /"
    [ $rc = 0 ] || sed "s/^/VGBENCH-ERR $name /" /tmp/err | head -n 5
    sleep 1
}
# Reads run for the runtime.  Writes write a fixed amount (fio skips the
# verify phase of a job its runtime ended), then read every block back and
# check it.
rd() { job "$1" "$4" --rw="$2" --bs="$3" --runtime="$rt" --time_based; }
# IO: MiB written in all, shared among the jobs
wr() {
    n=$njobs
    [ "$4" -lt "$n" ] && n=$4
    job "$1" "$4" --rw="$2" --bs="$3" --io_size="$(($5 / n))M" --verify=crc32c --verify_fatal=1
}

# The same data under every read, whatever the mode: fill the area first (not measured).
fio --minimal --thread --name=fill --filename="$dev" --direct=1 --ioengine=libaio \
    --size="${mib}M" --rw=write --bs=1M --iodepth=8 > /dev/null 2>&1 ||
    echo "VGBENCH-FAIL fill"
case "$level" in
smoke)
    wr randwrite-4k-qd8 randwrite 4k 8 4
    ;;
*)
    for qd in 1 8 32; do rd randread-4k-qd$qd randread 4k $qd; done
    for qd in 1 8 32; do wr randwrite-4k-qd$qd randwrite 4k $qd 4; done
    rd read-64k-qd8 read 64k 8
    wr write-64k-qd8 write 64k 8 16
    rd read-1m-qd8 read 1M 8
    wr write-1m-qd8 write 1M 8 32
    ;;
esac
echo "VGBENCH-DONE"
poweroff -f
