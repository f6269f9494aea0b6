#!/bin/sh
# make frontend-check: the patch series against the pinned linux-source-6.1
# must apply in order, be `checkpatch.pl --strict` clean, and build for x86_64
# (every C file it touches, with Xen virtio and debugfs on) as a second
# architecture beside the arm64 domU kernel that make e2e boots.  The x86_64
# result is cached on the patches and this script, like the e2e artifacts.
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
mkdir -p "$obj"
reset_linux_tree "$ver" "$tree"
n=0
for p in $patches; do
    n=$((n + 1))
    patch -d "$tree" -p1 --quiet --forward < "$p" || die "$(basename "$p") does not apply to $ver"
    # --no-tree: the tree is already patched; checkpatch judges the patch text.
    if ! perl "$tree/scripts/checkpatch.pl" --strict --no-tree --no-summary --terse "$p" \
        > "$obj/checkpatch.log" 2>&1; then
        cat "$obj/checkpatch.log" >&2
        die "checkpatch --strict: $(basename "$p")"
    fi
done
say "frontend series: $n patches apply to $ver and are checkpatch --strict clean"

export CCACHE_DIR="$E2E_CACHE/ccache"
mk() { make -s -C "$tree" O="$obj" ARCH=x86_64 CC="ccache gcc" "$@"; }
mk tinyconfig >&2
printf '%s\n' "$frag" > "$obj/frag.config"
"$tree/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$obj/frag.config" >/dev/null
mk olddefconfig >&2
for opt in XEN XEN_VIRTIO XEN_GRANT_DMA_OPS VIRTIO DEBUG_FS; do
    grep -qx "CONFIG_$opt=y" "$obj/.config" || die "x86_64 config lacks CONFIG_$opt"
done
objs=$(cat $patches | sed -n 's|^+++ b/\(.*\)\.c$|\1.o|p' | sort -u)
say "building for x86_64: $(echo $objs)"
# shellcheck disable=SC2086
mk -j"$(nproc)" W=1 KCFLAGS=-Werror $objs >&2
mkdir -p "$out"
echo "$n patches, x86_64: $(echo $objs)" > "$out/done"
say "frontend series: x86_64 build of $(echo $objs) clean (W=1, -Werror)"
