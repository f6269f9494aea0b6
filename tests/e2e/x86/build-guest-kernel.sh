#!/bin/sh
# The x86_64 HVM domU kernel for make e2e-x86: Debian's linux-source-6.1
# with frontend-linux/patches applied (the grant guest), on tinyconfig plus
# domu-x86.config.  Its own tree and object directory, beside the arm64
# ones.  Prints the path of the bzImage.
set -eu
E2E_DIR=$(cd "$(dirname "$0")/.." && pwd)
. "$E2E_DIR/lib.sh"
ver=$(installed_version "$LINUX_SRC_PKG")
[ -n "$ver" ] || die "$LINUX_SRC_PKG is not installed (run tests/e2e/host-deps.sh)"
frag="$E2E_DIR/x86/domu-x86.config"
patches=$(ls "$REPO_DIR"/frontend-linux/patches/*.patch)
# shellcheck disable=SC2086
out="$E2E_CACHE/domu-x86-grant-$(key "$ver" "$frag" "$0" $patches)"
if [ -f "$out/bzImage" ]; then echo "$out/bzImage"; exit 0; fi
tree="$E2E_CACHE/linux-tree-x86" obj="$E2E_CACHE/linux-obj-x86"
mkdir -p "$obj"
reset_linux_tree "$ver" "$tree"
for p in $patches; do
    patch -d "$tree" -p1 --quiet --forward < "$p" || die "patch $(basename "$p") does not apply to $ver"
done
say "building the x86 domU kernel (grant, $ver)"
export CCACHE_DIR="$E2E_CACHE/ccache"
mk() { make -s -C "$tree" O="$obj" ARCH=x86_64 CC="ccache gcc" "$@"; }
mk tinyconfig >&2
"$tree/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$frag" >/dev/null
mk olddefconfig >&2
for opt in XEN XEN_PVHVM_GUEST XEN_VIRTIO XEN_GRANT_DMA_OPS VIRTIO_PCI VIRTIO_BLK PCI_MSI ACPI \
           SERIAL_8250_CONSOLE BLK_DEV_INITRD DEVTMPFS; do
    grep -qx "CONFIG_$opt=y" "$obj/.config" || die "x86 domU config lacks CONFIG_$opt"
done
mk -j"$(nproc)" bzImage >&2
mkdir -p "$out.tmp"
cp "$obj/arch/x86/boot/bzImage" "$obj/.config" "$out.tmp/"
rm -rf "$out" && mv "$out.tmp" "$out"
echo "$out/bzImage"
