#!/bin/sh
# make frontend-check: the patch series against the pinned linux-source-6.1
# must apply in order, be `checkpatch.pl --strict` clean, and build for x86_64
# after every patch (every C file touched so far, with Xen virtio and debugfs
# on), as a second architecture beside the arm64 domU kernel that make e2e
# boots; and the virtio core it touches must build without Xen.  The result
# is cached on the patches and this script, like the e2e artifacts.
set -eu
E2E_DIR=$(cd "$(dirname "$0")/../tests/e2e" && pwd)
. "$E2E_DIR/lib.sh"
"$E2E_DIR/host-deps.sh"
ver=$(installed_version "$LINUX_SRC_PKG")
[ -n "$ver" ] || die "$LINUX_SRC_PKG is not installed"
patches=$(ls "$REPO_DIR"/frontend-linux/patches/*.patch)
frag="CONFIG_64BIT=y
CONFIG_SMP=y
CONFIG_PCI=y
CONFIG_HYPERVISOR_GUEST=y
CONFIG_PARAVIRT=y
CONFIG_XEN=y
CONFIG_XEN_PVHVM_GUEST=y
CONFIG_VIRTIO_MENU=y
CONFIG_VIRTIO=y
CONFIG_VIRTIO_MMIO=y
CONFIG_BLOCK=y
CONFIG_BLK_DEV=y
CONFIG_VIRTIO_BLK=y
CONFIG_XEN_VIRTIO=y
CONFIG_DEBUG_FS=y"
# shellcheck disable=SC2086
out="$E2E_CACHE/frontend-x86_64-$(key "$ver" "$frag" "$0" $patches)"
if [ -f "$out/done" ]; then
    say "frontend series: checked before for these patches ($(cat "$out/done"))"
    exit 0
fi

tree="$E2E_CACHE/linux-x86-tree"
obj="$E2E_CACHE/linux-x86-obj"
plain="$E2E_CACHE/linux-x86-obj-noxen"
mkdir -p "$obj" "$plain"
reset_linux_tree "$ver" "$tree"

export CCACHE_DIR="$E2E_CACHE/ccache"
# mk OBJDIR ARGS...: make in the tree for $karch, objects in OBJDIR.
karch=x86_64 kcross=""
mk() {
    o=$1
    shift
    make -s -C "$tree" O="$o" ARCH=$karch CROSS_COMPILE="$kcross" CC="ccache ${kcross}gcc" "$@"
}
# config OBJDIR FRAGMENT: tinyconfig plus the fragment, in OBJDIR.
config() {
    mk "$1" tinyconfig >&2
    printf '%s\n' "$2" > "$1/frag.config"
    "$tree/scripts/kconfig/merge_config.sh" -m -O "$1" "$1/.config" "$1/frag.config" >/dev/null
    mk "$1" olddefconfig >&2
}
# The series adds no Kconfig symbol, so one configuration serves every step.
config "$obj" "$frag"
for opt in XEN XEN_VIRTIO XEN_GRANT_DMA_OPS VIRTIO VIRTIO_BLK DEBUG_FS; do
    grep -qx "CONFIG_$opt=y" "$obj/.config" || die "x86_64 config lacks CONFIG_$opt"
done

n=0 applied=""
for p in $patches; do
    n=$((n + 1))
    applied="$applied $p"
    patch -d "$tree" -p1 --quiet --forward < "$p" || die "$(basename "$p") does not apply to $ver"
    # --no-tree: the tree is already patched; checkpatch judges the patch text.
    if ! perl "$tree/scripts/checkpatch.pl" --strict --no-tree --no-summary --terse "$p" \
        > "$obj/checkpatch.log" 2>&1; then
        cat "$obj/checkpatch.log" >&2
        die "checkpatch --strict: $(basename "$p")"
    fi
    # Bisectable: after each patch, every C file touched so far builds.
    # shellcheck disable=SC2086
    objs=$(cat $applied | sed -n 's|^+++ b/\(.*\)\.c$|\1.o|p' | sort -u)
    # shellcheck disable=SC2086
    mk "$obj" -j"$(nproc)" W=1 KCFLAGS=-Werror $objs >&2 ||
        die "x86_64 build after $(basename "$p") ($(echo $objs))"
done
say "frontend series: $n patches apply to $ver, are checkpatch --strict clean, and build one by one"
say "built for x86_64 after each patch: $(echo $objs)"

# The virtio core and virtio-blk as the series touches them, in a kernel
# without Xen: nothing may depend on the Xen side being there.
config "$plain" "CONFIG_64BIT=y
CONFIG_PCI=y
CONFIG_VIRTIO_MENU=y
CONFIG_VIRTIO=y
CONFIG_VIRTIO_MMIO=y
CONFIG_BLOCK=y
CONFIG_BLK_DEV=y
CONFIG_VIRTIO_BLK=y"
! grep -qx "CONFIG_XEN=y" "$plain/.config" || die "the no-Xen config has CONFIG_XEN"
core=$(echo "$objs" | grep '^drivers/virtio/\|^drivers/block/')
# shellcheck disable=SC2086
mk "$plain" -j"$(nproc)" W=1 KCFLAGS=-Werror $core >&2 || die "x86_64 build without Xen"
say "without Xen: $(echo $core) build"

# arm64 the other way round from the e2e domU kernel (4 KiB pages,
# FORCE_GRANT off, debugfs on): 64 KiB pages, where Linux and Xen page frames
# differ, FORCE_GRANT on, debugfs off.
a64="$E2E_CACHE/linux-arm64-obj-64k"
mkdir -p "$a64"
karch=arm64 kcross=$CROSS
config "$a64" "CONFIG_ARM64_64K_PAGES=y
CONFIG_SMP=y
CONFIG_XEN=y
CONFIG_VIRTIO_MENU=y
CONFIG_VIRTIO=y
CONFIG_VIRTIO_MMIO=y
CONFIG_BLOCK=y
CONFIG_BLK_DEV=y
CONFIG_VIRTIO_BLK=y
CONFIG_XEN_VIRTIO=y
CONFIG_XEN_VIRTIO_FORCE_GRANT=y
# CONFIG_DEBUG_FS is not set"
for opt in ARM64_64K_PAGES XEN XEN_GRANT_DMA_OPS XEN_VIRTIO_FORCE_GRANT; do
    grep -qx "CONFIG_$opt=y" "$a64/.config" || die "arm64 64K config lacks CONFIG_$opt"
done
! grep -qx "CONFIG_DEBUG_FS=y" "$a64/.config" || die "arm64 64K config has DEBUG_FS"
# shellcheck disable=SC2086
mk "$a64" -j"$(nproc)" W=1 KCFLAGS=-Werror $objs >&2 || die "arm64 64K build"
say "arm64, 64 KiB pages, FORCE_GRANT, no debugfs: $(echo $objs) build"
mkdir -p "$out"
echo "$n patches, x86_64 after each: $(echo $objs); without Xen: $(echo $core); arm64 64K" > "$out/done"
say "frontend series: x86_64 builds clean (W=1, -Werror)"
