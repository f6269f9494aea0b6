#!/bin/sh
# Debian amd64 packages for the x86 e2e, unpacked without a chroot into
#   root/      dom0's userspace: busybox, Xen's toolstack, QEMU as the HVM
#              device model (qemu-system-xen), SeaBIOS, and every library
#              they link (the dependency closure, minus interpreters and
#              package machinery dom0 never runs)
#   xen.gz     Debian's hypervisor (it has IOREQ servers; no FLASK)
#   vmlinuz    Debian's kernel: dom0's, and the stock HVM guest's
# Keyed on the exact package versions.  Prints the output directory.
set -eu
E2E_DIR=$(cd "$(dirname "$0")/.." && pwd)
. "$E2E_DIR/lib.sh"
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
       awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$kpkg" ] || die "cannot resolve linux-image-amd64"
top="xen-hypervisor-4.17-amd64 xen-utils-4.17 xenstore-utils qemu-system-xen qemu-system-data
seabios busybox-static kmod libseccomp2 liburing2 $kpkg"
# With arm64 added as a foreign architecture (the arm64 e2e adds it), apt also
# lists name:arm64 alternatives; their binaries would overwrite dom0's.
# Never run in dom0 (scripts for hotplug, which these guests do not use, and
# the package system): left out of the closure with what only they pull in.
skip="perl perl-base perl-modules-5.36 libperl5.36 python3 python3-minimal python3.11
python3.11-minimal libpython3-stdlib libpython3.11-minimal libpython3.11-stdlib debconf cdebconf
adduser passwd udev iso-codes install-info ucf sensible-utils mime-support mailcap media-types
lsb-base sysvinit-utils dpkg libdebian-installer4 libnewt0.52 libslang2 libtextwrap1
readline-common libreadline8 linux-base initramfs-tools initramfs-tools-core klibc-utils
libklibc busybox cpio"
# shellcheck disable=SC2086
pkgs=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
        --no-replaces --no-enhances $top 2>/dev/null | grep -v '^[ <]' | grep -v : | sort -u |
       grep -vxF "$(echo $skip | tr ' ' '\n')")
# One apt-cache call for every candidate (one per package took two minutes).
# shellcheck disable=SC2086
versions=$(LC_ALL=C apt-cache policy $pkgs | awk '
    /^[^ ].*:$/ { p = substr($0, 1, length($0) - 1) }
    /^  Candidate:/ { print p "=" $2 }')
for p in $pkgs; do
    echo "$versions" | awk -F= -v p="$p" '$1 == p { f = 1 } END { exit !f }' ||
        die "no amd64 candidate for $p"
done
if echo "$versions" | grep -q '=(none)$'; then
    die "no amd64 candidate for $(echo "$versions" | grep '=(none)$' | head -n1)"
fi
out="$E2E_CACHE/amd64-$(key "$versions" "$0")"
if [ -f "$out/done" ]; then echo "$out"; exit 0; fi
say "fetching amd64 packages ($kpkg, $(echo "$pkgs" | wc -l) packages)"
rm -rf "$out" && mkdir -p "$out/debs" "$out/root"
# shellcheck disable=SC2086
(cd "$out/debs" && apt-get download -qq $pkgs >&2) || die "apt-get download of amd64 packages failed"
for d in "$out"/debs/*.deb; do
    dpkg-deb -x "$d" "$out/root"
done
cp "$out/root/boot/xen-4.17-amd64.gz" "$out/xen.gz"
cp "$(ls "$out"/root/boot/vmlinuz-* | head -n1)" "$out/vmlinuz"
rm -rf "$out/debs" "$out/root/boot" "$out/root/usr/share/doc" "$out/root/usr/share/man" \
    "$out/root/usr/share/locale" "$out/root/usr/lib/debug"
echo "$versions" > "$out/versions"
touch "$out/done"
echo "$out"
