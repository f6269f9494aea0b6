#!/bin/sh
# libxl's hotplug script for the bench's PV blkback disk.  Debian's
# /etc/xen/scripts/block is a bash script and dom0 here has busybox: this
# does the part of it a loop device needs.  libxl runs it with add or remove
# and XENBUS_PATH (the vbd's backend directory); blkback binds the device
# once physical-device (major:minor in hex) is there.
set -eu
case "$1" in
add)
    dev=$(xenstore-read "$XENBUS_PATH/params")
    mm=$(cat "/sys/class/block/$(basename "$dev")/dev")
    xenstore-write "$XENBUS_PATH/physical-device" "$(printf '%x:%x' "${mm%%:*}" "${mm##*:}")" \
        "$XENBUS_PATH/physical-device-path" "$dev" "$XENBUS_PATH/hotplug-status" connected
    ;;
remove) ;;
esac
