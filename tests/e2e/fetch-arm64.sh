#!/bin/sh
# Download Debian arm64 packages and unpack them, without a chroot, into
#   root/     dom0's userspace (busybox, xen-utils, the libraries they need,
#             dpkg and a status file naming what was unpacked)
#   sysroot/  root/ plus headers: what the backend is cross-compiled against
#   Image     the Debian arm64 dom0 kernel (a raw Image on arm64), modules in root/
# Keyed on the exact package versions.  Prints the output directory.
set -eu
. "$(dirname "$0")/lib.sh"
kpkg=$(apt-cache depends linux-image-arm64:arm64 2>/dev/null |
       awk '/Depends: linux-image-[0-9]/ { sub(":arm64", "", $2); print $2; exit }')
[ -n "$kpkg" ] || die "cannot resolve linux-image-arm64 (is arm64 added? run tests/e2e/host-deps.sh)"
runtime="busybox-static libc6 libgcc-s1 xen-utils-4.17 xen-utils-common xenstore-utils
libxencall1 libxenevtchn1 libxenforeignmemory1 libxengnttab1 libxenmisc4.17 libxenstore4
libxentoollog1 libxentoolcore1 libxendevicemodel1 libxenhypfs1 libyajl2 libncurses6 libtinfo6
libfdt1 libuuid1 zlib1g libzstd1 liblzma5 libbz2-1.0 libext2fs2 libcom-err2 libblkid1 libnl-3-200
libnl-route-3-200 libseccomp2 liburing2 dpkg libmd0 libselinux1 libpcre2-8-0 libc-bin tar libacl1 gcc-12-base $kpkg"
dev="libxen-dev libseccomp-dev liburing-dev"
versions=$(for p in $runtime $dev; do
    v=$(apt-cache policy "$p:arm64" | awk '/Candidate:/ { print $2 }')
    [ -n "$v" ] && [ "$v" != "(none)" ] || die "no arm64 candidate for $p"
    echo "$p=$v"
done)
out="$E2E_CACHE/arm64-$(key "$versions" "$0" "$E2E_DIR/dpkg-status.py")"
if [ -f "$out/done" ]; then echo "$out"; exit 0; fi
say "fetching arm64 packages ($kpkg)"
rm -rf "$out" && mkdir -p "$out/debs" "$out/root" "$out/sysroot"
# shellcheck disable=SC2086
(cd "$out/debs" && apt-get download -qq $(echo $runtime $dev | sed 's/\([^ ]*\)/\1:arm64/g') >&2) ||
    die "apt-get download of arm64 packages failed"
for p in $runtime; do
    dpkg-deb -x "$out/debs/${p}_"*.deb "$out/root"
done
# dpkg's database, as if these had been installed (dpkg-status.py says
# which are registered): dom0 installs the project's package with dpkg -i,
# which then checks its dependencies for real.
mkdir -p "$out/root/var/lib/dpkg/info" "$out/root/var/lib/dpkg/updates" "$out/ctl"
: > "$out/root/var/lib/dpkg/available"
for p in $runtime; do
    dpkg-deb -f "$out/debs/${p}_"*.deb > "$out/ctl/$p"
done
python3 "$E2E_DIR/dpkg-status.py" "$out"/ctl/* > "$out/root/var/lib/dpkg/status"
cp -a "$out/root/." "$out/sysroot/"
for p in $dev; do
    dpkg-deb -x "$out/debs/${p}_"*.deb "$out/sysroot"
done
img=$(ls "$out"/root/boot/vmlinuz-* | head -n1)
cp "$img" "$out/Image"
rm -rf "$out/debs" "$out/ctl" "$out/root/usr/share/doc" "$out/root/usr/share/man" "$out/root/usr/share/locale"
echo "$versions" > "$out/versions"
touch "$out/done"
echo "$out"
