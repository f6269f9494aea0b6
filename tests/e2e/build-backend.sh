#!/bin/sh
# Cross-compile the backend for arm64 against the unpacked Debian arm64
# libraries (fetch-arm64.sh), and its test-only twin virtio-grant-probe (see
# backend/sandbox/probe.h).  Keyed on the project's backend sources and the
# sysroot.  Prints the directory holding both.
set -eu
. "$(dirname "$0")/lib.sh"
arm=${1:?usage: build-backend.sh ARM64_DIR}
srcs=$(cd "$REPO_DIR" && find backend tests/sandbox -type f | sort)
# shellcheck disable=SC2086
out="$E2E_CACHE/backend-$(key "$arm" "$REPO_DIR/Makefile" "$0" $(cd "$REPO_DIR" && sha256sum $srcs))"
if [ -x "$out/virtio-grant-probe" ]; then echo "$out"; exit 0; fi
sys="$arm/sysroot"
lib="$sys/usr/lib/aarch64-linux-gnu"
say "cross-compiling the backend for arm64"
rm -rf "$out.build"
make -s -C "$REPO_DIR" CC=${CROSS}gcc BUILD="$out.build" \
    XEN_CFLAGS="-isystem $sys/usr/include" XEN_LDFLAGS="-L$lib -Wl,-rpath-link,$lib" \
    "$out.build/virtio-grant" "$out.build/virtio-grant-probe" >&2
mkdir -p "$out.tmp"
cp "$out.build/virtio-grant" "$out.build/virtio-grant-probe" "$out.tmp/"
rm -rf "$out" "$out.build" && mv "$out.tmp" "$out"
echo "$out"
