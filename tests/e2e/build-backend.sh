#!/bin/sh
# Cross-compile the backend for arm64 against the unpacked Debian arm64
# libraries (fetch-arm64.sh).  Keyed on the project's backend sources and the
# sysroot.  Prints the path of the binary.
set -eu
. "$(dirname "$0")/lib.sh"
arm=${1:?usage: build-backend.sh ARM64_DIR}
srcs=$(cd "$REPO_DIR" && find backend -type f | sort)
# shellcheck disable=SC2086
out="$E2E_CACHE/backend-$(key "$arm" "$REPO_DIR/Makefile" "$0" $(cd "$REPO_DIR" && sha256sum $srcs))"
if [ -x "$out/virtio-grant" ]; then echo "$out/virtio-grant"; exit 0; fi
sys="$arm/sysroot"
lib="$sys/usr/lib/aarch64-linux-gnu"
say "cross-compiling the backend for arm64"
rm -rf "$out.build"
make -s -C "$REPO_DIR" CC=${CROSS}gcc BUILD="$out.build" \
    XEN_CFLAGS="-I$sys/usr/include" XEN_LDFLAGS="-L$lib -Wl,-rpath-link,$lib" \
    "$out.build/virtio-grant" >&2
mkdir -p "$out.tmp"
cp "$out.build/virtio-grant" "$out.tmp/"
rm -rf "$out" "$out.build" && mv "$out.tmp" "$out"
echo "$out/virtio-grant"
