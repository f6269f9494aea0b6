#!/bin/sh
# Build the minimal arm64 domU kernel from Debian's linux-source-6.1.
#   stock: the unpatched 6.1 tree (puts guest-physical addresses on the ring
#          when libxl gives the device no "iommus" link, i.e. a dom0 backend)
#   grant: the same tree with frontend-linux/patches/*.patch applied, and
#          /dev/mem and gntalloc (domu-hostile.config) for the guest that
#          drives its device from userspace (guest/pool_outside.c)
#   debug: the grant kernel with KASAN, DMA-API debugging and
#          CONFIG_XEN_VIRTIO_FORCE_GRANT (domu-debug.config), for the
#          unbind/rebind case
#   v1:    the tree with the first series (frontend-linux/v1), only to
#          compare the pool's throughput with it
#   bench: the grant kernel with what fio and the PV block frontend need
#          (tests/bench/domu-bench.config), for make bench
#   bench-stock: the unpatched tree with the same configuration, make bench's
#          stock frontend (through the driver domain)
# stock, grant and v1 share one object directory so switching is an
# incremental rebuild (grant's two extra options make it a ccache-hit one); debug, whose configuration differs throughout, has its
# own.
# Prints the path of the Image.
set -eu
. "$(dirname "$0")/lib.sh"
variant=${1:?usage: build-domu-kernel.sh stock|grant|debug|v1|bench|bench-stock}
ver=$(installed_version "$LINUX_SRC_PKG")
[ -n "$ver" ] || die "$LINUX_SRC_PKG is not installed (run tests/e2e/host-deps.sh)"
patches="" frags="$E2E_DIR/domu.config" obj="$E2E_CACHE/linux-obj"
case $variant in
stock|bench-stock) ;;
grant|debug|bench) patches=$(ls "$REPO_DIR"/frontend-linux/patches/*.patch 2>/dev/null || true)
       [ -n "$patches" ] || die "no patches in frontend-linux/patches" ;;
v1) patches=$(ls "$REPO_DIR"/frontend-linux/v1/*.patch 2>/dev/null || true)
    [ -n "$patches" ] || die "no patches in frontend-linux/v1" ;;
*) die "unknown domU kernel variant '$variant'" ;;
esac
if [ "$variant" = grant ]; then
    frags="$frags $E2E_DIR/domu-hostile.config"
elif [ "$variant" = debug ]; then
    frags="$frags $E2E_DIR/domu-debug.config" obj="$E2E_CACHE/linux-obj-debug"
elif [ "$variant" = bench ] || [ "$variant" = bench-stock ]; then
    frags="$frags $REPO_DIR/tests/bench/domu-bench.config" obj="$E2E_CACHE/linux-obj-$variant"
fi
# shellcheck disable=SC2086
out="$E2E_CACHE/domu-$variant-$(key "$ver" $frags "$0" $patches)"
if [ -f "$out/Image" ]; then echo "$out/Image"; exit 0; fi

tree="$E2E_CACHE/linux-tree"
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
# shellcheck disable=SC2086
"$tree/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" $frags >/dev/null
mk olddefconfig >&2
for opt in XEN XEN_VIRTIO XEN_GRANT_DMA_OPS VIRTIO_MMIO VIRTIO_BLK HVC_XEN BLK_DEV_INITRD DEVTMPFS; do
    grep -qx "CONFIG_$opt=y" "$obj/.config" || die "domU config lacks CONFIG_$opt"
done
if [ "$variant" = bench ] || [ "$variant" = bench-stock ]; then
    for opt in FUTEX AIO XEN_BLKDEV_FRONTEND; do
        grep -qx "CONFIG_$opt=y" "$obj/.config" || die "bench domU config lacks CONFIG_$opt"
    done
fi
if [ "$variant" = grant ]; then
    for opt in DEVMEM XEN_GRANT_DEV_ALLOC; do
        grep -qx "CONFIG_$opt=y" "$obj/.config" || die "grant domU config lacks CONFIG_$opt"
    done
fi
if [ "$variant" = debug ]; then
    for opt in KASAN DMA_API_DEBUG XEN_VIRTIO_FORCE_GRANT CMA DMA_CMA; do
        grep -qx "CONFIG_$opt=y" "$obj/.config" || die "debug domU config lacks CONFIG_$opt"
    done
fi
mk -j"$(nproc)" Image >&2
mkdir -p "$out.tmp"
cp "$obj/arch/arm64/boot/Image" "$obj/.config" "$out.tmp/"
rm -rf "$out" && mv "$out.tmp" "$out"
echo "$out/Image"
