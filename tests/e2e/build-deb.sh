#!/bin/sh
# Cross-build the arm64 Debian package (dpkg-buildpackage -a arm64) from the
# committed tree, against the unpacked Debian arm64 libraries
# (fetch-arm64.sh): libxen-dev is not Multi-Arch, so its arm64 build is not
# installable beside the host's, and the build takes it from the sysroot
# (VG_SYSROOT, debian/rules) with -d.  The libraries' package names come from
# the host's own shlibs files, the same packages in the same release.  Keyed
# on the tracked files and the sysroot.  Prints the directory holding the .deb.
set -eu
. "$(dirname "$0")/lib.sh"
arm=${1:?usage: build-deb.sh ARM64_DIR}
sys="$arm/sysroot"
# shellcheck disable=SC2046
out="$E2E_CACHE/deb-$(key "$arm" "$0" $(cd "$REPO_DIR" && git ls-files -s | sha256sum))"
if ls "$out"/virtio-grant_*_arm64.deb > /dev/null 2>&1; then echo "$out"; exit 0; fi
say "cross-building the arm64 package"
rm -rf "$out.build" && mkdir -p "$out.build/src"
(cd "$REPO_DIR" && git ls-files -z | tar -cf - --no-recursion --null -T -) | tar -xf - -C "$out.build/src"
: > "$out.build/src/debian/shlibs.local"
for soname in libxendevicemodel.so.1 libxenforeignmemory.so.1 libxengnttab.so.1 \
    libxenevtchn.so.1 libxentoolcore.so.1 libxenstore.so.4 libseccomp.so.2 liburing.so.2; do
    pkg=""
    for host in /usr/lib/*-linux-gnu/"$soname" /lib/*-linux-gnu/"$soname"; do
        pkg=$(dpkg -S "$host" 2>/dev/null | cut -d: -f1 | head -n1) && [ -n "$pkg" ] && break
    done
    [ -n "$pkg" ] || die "no host package holds $soname to take its shlibs from"
    name=${soname%%.so.*} ver=${soname##*.so.}
    line=$(cat /var/lib/dpkg/info/"$pkg".shlibs /var/lib/dpkg/info/"$pkg":*.shlibs 2>/dev/null |
        awk -v n="$name" -v v="$ver" '$1 == n && $2 == v' | head -n1)
    [ -n "$line" ] || die "$pkg has no shlibs line for $soname"
    echo "$line" >> "$out.build/src/debian/shlibs.local"
done
# libc: the host's line, and the arm64 loader from the same package.
libc=$(awk '$1 == "libc" && $2 == 6' /var/lib/dpkg/info/libc6:*.shlibs | head -n1)
[ -n "$libc" ] || die "the host's libc6 has no shlibs line for libc.so.6"
echo "$libc" >> "$out.build/src/debian/shlibs.local"
echo "$libc" | sed 's/^libc 6 /ld-linux-aarch64 1 /' >> "$out.build/src/debian/shlibs.local"
(cd "$out.build/src" && VG_SYSROOT="$sys" dpkg-buildpackage -a arm64 -d -us -uc -b) \
    > "$out.build/build.log" 2>&1 || {
    tail -n 30 "$out.build/build.log" >&2
    die "the arm64 package build failed (log $out.build/build.log)"
}
mkdir -p "$out.tmp"
cp "$out.build"/virtio-grant_*_arm64.deb "$out.tmp/"
rm -rf "$out" "$out.build" && mv "$out.tmp" "$out"
echo "$out"
