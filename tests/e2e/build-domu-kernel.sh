#!/bin/sh
# Build the minimal arm64 domU kernel from Debian's linux-source-6.1.
#   stock: the unpatched 6.1 tree (puts guest-physical addresses on the ring
#          when libxl gives the device no "iommus" link, i.e. a dom0 backend)
#   grant: the same tree with frontend-linux/patches/*.patch applied
# Both variants share one object directory so switching is an incremental
# rebuild.  Prints the path of the Image.
set -eu
. "$(dirname "$0")/lib.sh"
variant=${1:?usage: build-domu-kernel.sh stock|grant}
ver=$(installed_version "$LINUX_SRC_PKG")
[ -n "$ver" ] || die "$LINUX_SRC_PKG is not installed (run tests/e2e/host-deps.sh)"
patches=""
case $variant in
stock) ;;
grant) patches=$(ls "$REPO_DIR"/frontend-linux/patches/*.patch 2>/dev/null || true)
       [ -n "$patches" ] || die "no patches in frontend-linux/patches" ;;
*) die "unknown domU kernel variant '$variant'" ;;
esac
# shellcheck disable=SC2086
out="$E2E_CACHE/domu-$variant-$(key "$ver" "$E2E_DIR/domu.config" "$0" $patches)"
if [ -f "$out/Image" ]; then echo "$out/Image"; exit 0; fi

tree="$E2E_CACHE/linux-tree"
obj="$E2E_CACHE/linux-obj"
mkdir -p "$obj"
reset_linux_tree "$ver" "$tree"
for p in $patches; do
    patch -d "$tree" -p1 --quiet --forward < "$p" || die "patch $(basename "$p") does not apply to $ver"
done
say "building domU kernel ($variant, $ver)"
# A change to any Kconfig file (the series documents its option there) makes
# kconfig rewrite autoconf.h and make rebuild everything; ccache turns that
# rebuild into cache hits.
export CCACHE_DIR="$E2E_CACHE/ccache"
mk() { make -s -C "$tree" O="$obj" ARCH=arm64 CROSS_COMPILE="$CROSS" CC="ccache ${CROSS}gcc" "$@"; }
mk tinyconfig >&2
"$tree/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$E2E_DIR/domu.config" >/dev/null
mk olddefconfig >&2
for opt in XEN XEN_VIRTIO XEN_GRANT_DMA_OPS VIRTIO_MMIO VIRTIO_BLK HVC_XEN BLK_DEV_INITRD DEVTMPFS; do
    grep -qx "CONFIG_$opt=y" "$obj/.config" || die "domU config lacks CONFIG_$opt"
done
mk -j"$(nproc)" Image >&2
mkdir -p "$out.tmp"
cp "$obj/arch/arm64/boot/Image" "$obj/.config" "$out.tmp/"
rm -rf "$out" && mv "$out.tmp" "$out"
echo "$out/Image"
