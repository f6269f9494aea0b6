#!/bin/sh
# make package: build the Debian package from the committed tree
# (dpkg-buildpackage -us -uc -b, in OUT so nothing lands beside the checkout),
# fail on any lintian error or warning, then install it with dpkg -i and check
# what an operator meets first: the binary runs, `man virtio-grant` finds the
# page, the unit passes systemd-analyze verify.  The package is purged again
# afterwards unless KEEP=1.
# usage: packaging/check-deb.sh [OUT_DIR]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/build/pkg}
ver=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
arch=$(dpkg --print-architecture)
src="$out/virtio-grant-$ver"
rm -rf "$out"
mkdir -p "$src"
# The tracked files only: what a source package of this commit holds.
(cd "$top" && git ls-files -z | tar -cf - --no-recursion --null -T -) | tar -xf - -C "$src"
(cd "$src" && dpkg-buildpackage -us -uc -b) > "$out/build.log" 2>&1 || {
    tail -n 30 "$out/build.log" >&2
    echo "package: dpkg-buildpackage failed (log $out/build.log)" >&2
    exit 1
}
deb="$out/virtio-grant_${ver}_$arch.deb"
echo "== lintian $(basename "$deb")"
# Its status, not a pipe's: sh has no pipefail.
rc=0
lintian --fail-on error,warning --display-info "$out/virtio-grant_${ver}_$arch.changes" \
    > "$out/lintian.txt" 2>&1 || rc=$?
cat "$out/lintian.txt"
echo "lintian: $(grep -c '^[EW]:' "$out/lintian.txt" || true) error(s) and warning(s)"
[ $rc = 0 ] || { echo "package: lintian failed (status $rc)" >&2; exit 1; }

echo "== dpkg -i"
dpkg -i "$deb"
fail=0
check() { # what, command...
    what=$1
    shift
    if "$@" > "$out/check.log" 2>&1; then
        echo "ok: $what"
    else
        echo "FAILED: $what" >&2
        cat "$out/check.log" >&2
        fail=1
    fi
}
check "virtio-grant --version says $ver, as debian/changelog" sh -c \
    "[ \"\$(/usr/sbin/virtio-grant --version)\" = 'virtio-grant $ver' ]"
check "man virtio-grant finds the page" sh -c 'man -w virtio-grant | grep -q "/usr/share/man/man8/virtio-grant.8"'
check "the page renders without warnings" sh -c \
    'out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -Tutf8 -Z virtio-grant 2>&1 >/dev/null); [ -z "$out" ] || { echo "$out"; false; }'
check "systemd-analyze verify virtio-grant.service" \
    systemd-analyze verify /lib/systemd/system/virtio-grant.service
# systemd's own exposure score (0 best, 10 worst): 3.2 when written; fail above 4.
check "systemd-analyze security: exposure 4.0 or less" \
    systemd-analyze security --offline=true --threshold=40 /lib/systemd/system/virtio-grant.service
systemd-analyze security --offline=true /lib/systemd/system/virtio-grant.service 2>/dev/null |
    grep 'Overall exposure' || true
check "the unit is installed, not enabled" sh -c \
    '! [ -e /etc/systemd/system/multi-user.target.wants/virtio-grant.service ]'
check "the FLASK module is installed" test -s /usr/share/virtio-grant/flask/vg.te
if [ "${KEEP:-0}" != 1 ]; then
    dpkg --purge virtio-grant > /dev/null
    check "purged: nothing left" sh -c '! [ -e /usr/sbin/virtio-grant ] && ! [ -e /etc/default/virtio-grant ]'
fi
exit $fail
