#!/bin/sh
# make frontend-check: each patch series, patches/ against the pinned
# linux-source-6.1 (the e2e domU kernel) and patches-6.12/ against
# linux-source-6.12 (the current long-term kernel), must apply in order, be
# `checkpatch.pl --strict` clean (that tree's checkpatch), and build:
#   - for x86_64 after every patch (every C file touched so far, with Xen
#     virtio, virtio-blk and debugfs on, FORCE_GRANT off);
#   - the virtio core, virtio-blk and swiotlb files it touches, without Xen;
#   - for x86_64 once more with FORCE_GRANT on and no debugfs;
#   - for arm64 with 4 KiB pages (FORCE_GRANT off, debugfs on) and with
#     64 KiB pages (FORCE_GRANT on, no debugfs).
# (The e2e boots the 6.1 series on arm64 with 4 KiB pages, FORCE_GRANT off
# with debugfs and on with KASAN.)
# Each result is cached on its patches and this script, like the e2e
# artifacts.
set -eu
E2E_DIR=$(cd "$(dirname "$0")/../tests/e2e" && pwd)
. "$E2E_DIR/lib.sh"
"$E2E_DIR/host-deps.sh"
export CCACHE_DIR="$E2E_CACHE/ccache"

# mk OBJDIR ARGS...: make in $tree for $karch, objects in OBJDIR.
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
# require OBJDIR WHAT y|n OPTION...: each option set (y) or not (n).
require() {
    o=$1 what=$2 want=$3
    shift 3
    for opt in "$@"; do
        if grep -qx "CONFIG_$opt=y" "$o/.config"; then
            [ "$want" = y ] || die "$what config has CONFIG_$opt"
        else
            [ "$want" = n ] || die "$what config lacks CONFIG_$opt"
        fi
    done
}

# The virtio transport and device the series touches, in every configuration.
virtio_frag="CONFIG_VIRTIO_MENU=y
CONFIG_VIRTIO=y
CONFIG_VIRTIO_MMIO=y
CONFIG_BLOCK=y
CONFIG_BLK_DEV=y
CONFIG_VIRTIO_BLK=y"

# check_series PKG PATCHDIR TAG
check_series() {
    pkg=$1 tag=$3
    ver=$(installed_version "$pkg")
    [ -n "$ver" ] || die "$pkg is not installed"
    patches=$(ls "$2"/*.patch)
    frag="CONFIG_64BIT=y
CONFIG_SMP=y
CONFIG_PCI=y
CONFIG_HYPERVISOR_GUEST=y
CONFIG_PARAVIRT=y
CONFIG_XEN=y
CONFIG_XEN_PVHVM_GUEST=y
$virtio_frag
CONFIG_XEN_VIRTIO=y
CONFIG_DEBUG_FS=y"
    # shellcheck disable=SC2086
    out="$E2E_CACHE/frontend-$tag-$(key "$ver" "$frag" "$0" $patches)"
    if [ -f "$out/done" ]; then
        say "frontend series for $tag: checked before for these patches ($(cat "$out/done"))"
        return 0
    fi

    tree="$E2E_CACHE/linux-$tag-check-tree"
    obj="$E2E_CACHE/linux-$tag-x86-obj"
    plain="$E2E_CACHE/linux-$tag-x86-obj-noxen"
    x86fg="$E2E_CACHE/linux-$tag-x86-obj-forcegrant"
    a4k="$E2E_CACHE/linux-$tag-arm64-obj-4k"
    a64="$E2E_CACHE/linux-$tag-arm64-obj-64k"
    mkdir -p "$obj" "$plain" "$x86fg" "$a4k" "$a64"
    reset_linux_tree "$ver" "$tree" "$pkg"

    karch=x86_64 kcross=""
    # The series adds no Kconfig symbol, so one configuration serves every step.
    config "$obj" "$frag"
    require "$obj" "x86_64" y XEN XEN_VIRTIO XEN_GRANT_DMA_OPS VIRTIO VIRTIO_BLK DEBUG_FS
    require "$obj" "x86_64" n XEN_VIRTIO_FORCE_GRANT

    n=0 applied=""
    for p in $patches; do
        n=$((n + 1))
        applied="$applied $p"
        patch -d "$tree" -p1 --quiet --forward < "$p" || die "$(basename "$p") does not apply to $pkg $ver"
        # --no-tree: the tree is already patched; checkpatch judges the patch text.
        if ! perl "$tree/scripts/checkpatch.pl" --strict --no-tree --no-summary --terse "$p" \
            > "$obj/checkpatch.log" 2>&1; then
            cat "$obj/checkpatch.log" >&2
            die "checkpatch --strict ($tag): $(basename "$p")"
        fi
        # Bisectable: after each patch, every C file touched so far builds.
        # shellcheck disable=SC2086
        objs=$(cat $applied | sed -n 's|^+++ b/\(.*\)\.c$|\1.o|p' | sort -u)
        # shellcheck disable=SC2086
        mk "$obj" -j"$(nproc)" W=1 KCFLAGS=-Werror $objs >&2 ||
            die "x86_64 build ($tag) after $(basename "$p") ($(echo $objs))"
    done
    say "frontend series for $tag: $n patches apply to $ver, are checkpatch --strict clean, and build one by one"
    say "built for x86_64 after each patch: $(echo $objs)"

    # The virtio core, virtio-blk and swiotlb as the series touches them, in a
    # kernel without Xen: nothing may depend on the Xen side being there.
    config "$plain" "CONFIG_64BIT=y
CONFIG_PCI=y
$virtio_frag"
    require "$plain" "the no-Xen" n XEN
    core=$(echo "$objs" | grep '^drivers/virtio/\|^drivers/block/\|^kernel/dma/')
    # shellcheck disable=SC2086
    mk "$plain" -j"$(nproc)" W=1 KCFLAGS=-Werror $core >&2 || die "x86_64 build without Xen ($tag)"
    say "without Xen: $(echo $core) build"

    # x86_64 the other way round: FORCE_GRANT on, debugfs off.
    config "$x86fg" "$(echo "$frag" | grep -v DEBUG_FS)
CONFIG_XEN_VIRTIO_FORCE_GRANT=y
# CONFIG_DEBUG_FS is not set"
    require "$x86fg" "x86_64 FORCE_GRANT" y XEN_GRANT_DMA_OPS XEN_VIRTIO_FORCE_GRANT
    require "$x86fg" "x86_64 FORCE_GRANT" n DEBUG_FS
    # shellcheck disable=SC2086
    mk "$x86fg" -j"$(nproc)" W=1 KCFLAGS=-Werror $objs >&2 || die "x86_64 FORCE_GRANT build ($tag)"
    say "x86_64, FORCE_GRANT, no debugfs: $(echo $objs) build"

    karch=arm64 kcross=$CROSS
    a64objs=$(echo "$objs" | grep -v '^arch/x86/')
    arm64_frag="CONFIG_SMP=y
CONFIG_XEN=y
$virtio_frag
CONFIG_XEN_VIRTIO=y"
    # arm64 as the e2e grant kernel: 4 KiB pages, FORCE_GRANT off, debugfs on.
    config "$a4k" "$arm64_frag
CONFIG_ARM64_4K_PAGES=y
CONFIG_DEBUG_FS=y"
    require "$a4k" "arm64 4K" y ARM64_4K_PAGES XEN_GRANT_DMA_OPS DEBUG_FS
    require "$a4k" "arm64 4K" n XEN_VIRTIO_FORCE_GRANT
    # shellcheck disable=SC2086
    mk "$a4k" -j"$(nproc)" W=1 KCFLAGS=-Werror $a64objs >&2 || die "arm64 4K build ($tag)"
    say "arm64, 4 KiB pages, debugfs: $(echo $a64objs) build"

    # And the other way round: 64 KiB pages, where Linux and Xen page frames
    # differ, FORCE_GRANT on, debugfs off.
    config "$a64" "$arm64_frag
CONFIG_ARM64_64K_PAGES=y
CONFIG_XEN_VIRTIO_FORCE_GRANT=y
# CONFIG_DEBUG_FS is not set"
    require "$a64" "arm64 64K" y ARM64_64K_PAGES XEN XEN_GRANT_DMA_OPS XEN_VIRTIO_FORCE_GRANT
    require "$a64" "arm64 64K" n DEBUG_FS
    # shellcheck disable=SC2086
    mk "$a64" -j"$(nproc)" W=1 KCFLAGS=-Werror $a64objs >&2 || die "arm64 64K build ($tag)"
    say "arm64, 64 KiB pages, FORCE_GRANT, no debugfs: $(echo $a64objs) build"
    mkdir -p "$out"
    echo "$n patches, x86_64 after each: $(echo $objs); without Xen: $(echo $core);" \
        "x86_64 FORCE_GRANT; arm64 4K and 64K" > "$out/done"
    say "frontend series for $tag: builds clean (W=1, -Werror)"
}

check_series "$LINUX_SRC_PKG" "$REPO_DIR/frontend-linux/patches" 6.1
check_series "$LINUX_612_SRC_PKG" "$REPO_DIR/frontend-linux/patches-6.12" 6.12
