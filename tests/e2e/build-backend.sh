#!/bin/sh
# Cross-compile the backend for arm64 against the unpacked Debian arm64
# libraries (fetch-arm64.sh), its test-only twin virtio-grant-probe (see
# backend/sandbox/probe.h) and the bench's vg-grant-peak.  Keyed on the
# project's backend sources and the sysroot.  Prints the directory holding them.
set -eu
. "$(dirname "$0")/lib.sh"
arm=${1:?usage: build-backend.sh ARM64_DIR}
srcs=$(cd "$REPO_DIR" && { find backend tests/sandbox -type f; echo tests/bench/grant_peak.c; } | sort)
# shellcheck disable=SC2086
out="$E2E_CACHE/backend-$(key "$arm" "$REPO_DIR/Makefile" "$0" $(cd "$REPO_DIR" && sha256sum $srcs))"
if [ -x "$out/vg-grant-peak" ]; then echo "$out"; exit 0; fi
sys="$arm/sysroot"
lib="$sys/usr/lib/aarch64-linux-gnu"
say "cross-compiling the backend for arm64"
rm -rf "$out.build"
make -s -C "$REPO_DIR" CC=${CROSS}gcc BUILD="$out.build" \
    XEN_CFLAGS="-isystem $sys/usr/include" XEN_LDFLAGS="-L$lib -Wl,-rpath-link,$lib" \
    "$out.build/virtio-grant" "$out.build/virtio-grant-probe" "$out.build/vg-grant-peak" >&2
mkdir -p "$out.tmp"
cp "$out.build/virtio-grant" "$out.build/virtio-grant-probe" "$out.build/vg-grant-peak" "$out.tmp/"
rm -rf "$out" "$out.build" && mv "$out.tmp" "$out"
echo "$out"
