#!/bin/sh
# Build the arm64 Xen hypervisor from Debian's source with what Debian's own
# arm64 build leaves out: CONFIG_IOREQ_SERVER (offered on Arm only with EXPERT).
# XSM/FLASK is compiled in but not the default, so a later driver-domain run can
# boot with xsm=flask without rebuilding.  Prints the path of the image.
set -eu
. "$(dirname "$0")/lib.sh"
frag="CONFIG_EXPERT=y
CONFIG_UNSUPPORTED=y
CONFIG_IOREQ_SERVER=y
CONFIG_XSM=y
CONFIG_XSM_FLASK=y
CONFIG_XSM_DUMMY_DEFAULT=y
# CONFIG_XSM_FLASK_POLICY is not set"
out="$E2E_CACHE/xen-$(key "$XEN_SRC_VERSION" "$frag" "$0")"
if [ -f "$out/xen" ]; then echo "$out/xen"; exit 0; fi
src="$E2E_CACHE/src/xen-${XEN_SRC_VERSION%-*}"
if [ ! -d "$src" ]; then
    mkdir -p "$E2E_CACHE/src"
    (cd "$E2E_CACHE/src" && apt-get source -qq "xen=$XEN_SRC_VERSION" >&2) ||
        die "apt-get source xen=$XEN_SRC_VERSION (is deb-src enabled? run tests/e2e/host-deps.sh)"
fi
say "building Xen $XEN_SRC_VERSION for arm64"
build="$E2E_CACHE/build-xen"
rm -rf "$build"
cp -a "$src" "$build"
mk="make -C $build/xen XEN_TARGET_ARCH=arm64 CROSS_COMPILE=$CROSS"
$mk defconfig >&2
printf '%s\n' "$frag" >> "$build/xen/.config"
$mk olddefconfig >&2
for opt in IOREQ_SERVER XSM_FLASK; do
    grep -qx "CONFIG_$opt=y" "$build/xen/.config" || die "Xen config lost CONFIG_$opt"
done
$mk -j"$(nproc)" >&2
mkdir -p "$out.tmp"
cp "$build/xen/xen" "$build/xen/.config" "$out.tmp/"
rm -rf "$out" && mv "$out.tmp" "$out"
rm -rf "$build"
echo "$out/xen"
