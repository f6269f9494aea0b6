#!/bin/busybox sh
# The driver domain's /init for the e2e run (Debian's arm64 kernel, this
# initramfs).  It loads the Xen device modules the backend needs, then serves
# the commands dom0 writes to data/vg-req in its own xenstore home
# ("<seq> <command> [args]"), answering "<seq> <exit status>" in data/vg-rsp.
# What it prints goes to its console, which xenconsoled logs in dom0; lines
# starting "E2E " there are the driver domain's verdicts.
/bin/busybox --install -s /bin
export PATH=/vg:/usr/sbin:/usr/bin:/sbin:/bin
mkdir -p /proc /sys /dev /run /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
exec > /dev/console 2>&1

# Linux 6.1.y's privcmd, in a domU, confines every fd to the domain named by
# the domU's xenstore "target" node (a stub domain's one guest), or to none:
# a driver domain serving many guests loads it unrestricted, and relies on
# Xen's policy (and each device process's xentoolcore_restrict_all) instead.
for m in $(cat /vg/modules); do
    case $m in */xen-privcmd.ko) arg=unrestricted=1 ;; *) arg= ;; esac
    insmod "$m" $arg || echo "E2E FAIL dd/insmod $m $arg"
done
IMAGES=/run/vg-images
BE_PID=
# Verdicts go to the console as they are; dom0 collects them.
pass() { echo "E2E PASS $*"; }
fail() { echo "E2E FAIL $*"; }
. /vg/jail-check.sh

# images SEED MIB: vda empty (sparse), vdb holding a known pattern, read-only,
# both files in this domain's RAM behind loop devices.
cmd_images() {
    rm -f /run/vda.img /run/vdb.img
    dd if=/dev/zero of=/run/vda.img bs=1M count=0 seek=$(($2 + 8)) 2>/dev/null
    vg-e2e-blk fill /run/vdb.img $(($1 + 1)) 4 || return 1
    losetup -d /dev/loop0 2>/dev/null
    losetup -d /dev/loop1 2>/dev/null
    losetup /dev/loop0 /run/vda.img && losetup -r /dev/loop1 /run/vdb.img || return 1
    mkdir -p $IMAGES && rm -f $IMAGES/vda $IMAGES/vdb
    mknod $IMAGES/vda b 7 0 && mknod $IMAGES/vdb b 7 1
}

# backend CASE ARGS...: the launcher, logging to /run/be-CASE.log.
cmd_backend() {
    c=$1
    shift
    virtio-grant watch --images $IMAGES "$@" > "/run/be-$c.log" 2>&1 &
    BE_PID=$!
    sleep 1
    kill -0 $BE_PID 2>/dev/null
}

# stop CASE: SIGTERM the launcher; every device process must have exited 0.
cmd_stop() {
    kill -TERM $BE_PID 2>/dev/null
    wait $BE_PID
    rc=$?
    sed "s/^/[dd backend $1] /" "/run/be-$1.log"
    if grep -q "killed by signal" "/run/be-$1.log"; then
        echo "E2E FAIL $1/dd-backend-alive: a device process died of a signal"
    elif grep "exited" "/run/be-$1.log" | grep -vq "exited 0$"; then
        echo "E2E FAIL $1/dd-backend-exit: a device process failed"
    elif [ $rc -ne 0 ]; then
        echo "E2E FAIL $1/dd-backend-exit: launcher exited $rc"
    else
        echo "E2E PASS $1/dd-backend-exit clean"
    fi
}

# verify CASE SEED MIB: the guest's data reached this domain's image, and the
# read-only image kept its pattern.
cmd_verify() {
    if vg-e2e-blk verify /dev/loop0 "$2" "$3"; then
        echo "E2E PASS $1/image in the driver domain holds the guest's $3 MiB"
    else
        echo "E2E FAIL $1/image: the driver domain does not see the guest's data"
    fi
    if vg-e2e-blk verify /dev/loop1 $(($2 + 1)) 4; then
        echo "E2E PASS $1/ro-image unchanged"
    else
        echo "E2E FAIL $1/ro-image: the read-only disk changed"
    fi
}

# jail CASE: each task of each live device process is confined, as in dom0.
cmd_jail() {
    jail_check "$1" dd-jail
}

# probe ARGS...: vg-xenprobe, its exit status passed on.
cmd_probe() {
    vg-xenprobe "$@"
}

echo "VGDD UP: domid $(xenstore-read domid), $(ls /dev/xen | tr '\n' ' ')"
last=""
while :; do
    req=$(xenstore-read data/vg-req 2>/dev/null)
    seq=${req%% *}
    if [ -n "$req" ] && [ "$seq" != "$last" ]; then
        last=$seq
        set -- ${req#* }
        cmd=$1
        shift
        echo "VGDD RUN $seq: $cmd $*"
        case $cmd in
        images | backend | stop | verify | jail | probe) "cmd_$cmd" "$@" ;;
        poweroff) xenstore-write data/vg-rsp "$seq 0"; poweroff -f ;;
        *) echo "VGDD unknown command $cmd"; false ;;
        esac
        rc=$?
        xenstore-write data/vg-rsp "$seq $rc"
    fi
    sleep 0.2
done
