#!/bin/sh
# Host packages for the real-Xen e2e: an arm64 cross toolchain, QEMU, and the
# Debian source archive (Xen, linux-source-6.1; linux-source-6.12 for the
# second frontend series).  Idempotent; needs root only
# when something is missing.
set -eu
tools="gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross make flex bison
bc python3 qemu-system-arm dpkg-dev cpio xz-utils device-tree-compiler libssl-dev libelf-dev
linux-source-6.1 linux-source-6.12 ca-certificates rsync patch kmod ccache checkpolicy m4
gnuplot-nox"
missing=""
for p in $tools; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
need_update=0
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
    need_update=1
fi
# deb-src for `apt-get source xen`: enable it on the Debian entries.
src=/etc/apt/sources.list.d/debian.sources
if [ -f "$src" ] && grep -q '^Types: deb$' "$src"; then
    sed -i 's/^Types: deb$/Types: deb deb-src/' "$src"
    need_update=1
elif [ ! -f "$src" ] && ! grep -qs '^deb-src .*bookworm' /etc/apt/sources.list; then
    grep '^deb .*debian' /etc/apt/sources.list | sed 's/^deb /deb-src /' >> /etc/apt/sources.list
    need_update=1
fi
[ -z "$missing" ] && [ $need_update = 0 ] && exit 0
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
[ -z "$missing" ] || apt-get install -y -qq --no-install-recommends $missing
