#!/bin/sh
# The bench guest's userspace, from Debian's arm64 packages: fio, the shared
# libraries it loads (the NEEDED closure of the binary, not its packages'
# whole dependency tree: fio's helper scripts want python and perl, the
# binary does not), the dynamic loader and busybox.  Keyed on the package
# versions.  Prints the directory holding root/ (the initramfs tree, without
# /init).
# usage: fetch-fio.sh ARM64_DIR   (tests/e2e/fetch-arm64.sh's output: busybox)
set -eu
E2E_DIR=$(cd "$(dirname "$0")/../e2e" && pwd)
. "$E2E_DIR/lib.sh"
arm=${1:?usage: fetch-fio.sh ARM64_DIR}
# fio and the library packages of its dependency tree (the NEEDED walk below
# takes only what the binary loads).
pkgs=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
        --no-replaces --no-enhances fio:arm64 2>/dev/null |
       sed -n 's/^\(fio\|lib[^ ]*\|zlib1g\):arm64$/\1/p' | sort -u)
[ -n "$pkgs" ] || die "cannot resolve fio:arm64 (is arm64 added? run tests/e2e/host-deps.sh)"
versions=$(for p in $pkgs; do
    v=$(apt-cache policy "$p:arm64" | awk '/Candidate:/ { print $2 }')
    [ -n "$v" ] && [ "$v" != "(none)" ] && echo "$p=$v"
done)
out="$E2E_CACHE/fio-$(key "$versions" "$0" "$arm/versions")"
if [ -f "$out/done" ]; then echo "$out"; exit 0; fi
say "fetching fio:arm64 and its libraries"
rm -rf "$out" && mkdir -p "$out/debs" "$out/x" "$out/root/bin" "$out/root/lib" "$out/root/usr/bin"
# shellcheck disable=SC2086
(cd "$out/debs" && apt-get download -qq $(echo "$versions" | sed 's/=.*/:arm64/') >&2) ||
    die "apt-get download of fio's packages failed"
for d in "$out"/debs/*.deb; do dpkg-deb -x "$d" "$out/x"; done
cp "$out/x/usr/bin/fio" "$out/root/usr/bin/fio"
# find_lib SONAME: the file in the unpacked packages (or dom0's libc), links
# followed; librados finds libceph-common through its RUNPATH, here all of
# them land in /lib.
find_lib() {
    for dir in "$out/x/lib/aarch64-linux-gnu" "$out/x/usr/lib/aarch64-linux-gnu" \
               "$out/x/usr/lib/aarch64-linux-gnu/ceph" \
               "$arm/root/lib/aarch64-linux-gnu" "$arm/root/usr/lib/aarch64-linux-gnu"; do
        [ -e "$dir/$1" ] && { readlink -f "$dir/$1"; return 0; }
    done
    return 1
}
todo=$(readelf -d "$out/root/usr/bin/fio" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p')
done_libs=" "
while [ -n "$todo" ]; do
    next=""
    for so in $todo; do
        case "$done_libs" in *" $so "*) continue ;; esac
        done_libs="$done_libs$so "
        f=$(find_lib "$so") || die "fio needs $so, which no unpacked package holds"
        cp "$f" "$out/root/lib/$so"
        next="$next $(readelf -d "$f" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p')"
    done
    todo=$next
done
# The loader at the path the binaries name.
interp=$(readelf -l "$out/root/usr/bin/fio" | sed -n 's/.*interpreter: \(.*\)\]/\1/p')
mkdir -p "$out/root$(dirname "$interp")"
[ -e "$out/root$interp" ] || cp "$out/root/lib/$(basename "$interp")" "$out/root$interp"
cp "$arm/root/bin/busybox" "$out/root/bin/busybox"
rm -rf "$out/debs" "$out/x"
echo "$versions" > "$out/versions"
say "bench guest userspace: $(du -sh "$out/root" | cut -f1), $(ls "$out/root/lib" | wc -l) libraries"
touch "$out/done"
echo "$out"
