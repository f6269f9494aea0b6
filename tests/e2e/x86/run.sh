#!/bin/sh
# make e2e-x86: Debian's amd64 Xen 4.17 and dom0 under qemu-system-x86_64
# (TCG, nested SVM with NPT: Debian's Xen needs HAP for HVM guests), and HVM
# guests whose disks are this backend's virtio-pci functions, started by hand
# in dom0.  The serial log's E2E PASS/FAIL lines become the exit status.
set -eu
E2E_DIR=$(cd "$(dirname "$0")/.." && pwd)
X86_DIR=$E2E_DIR/x86
. "$E2E_DIR/lib.sh"
start=$(date +%s)
need=""
for p in qemu-system-x86 cpio kmod; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p"
done
if [ -n "$need" ]; then
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >&2 ||
        die "apt-get install$need"
fi
amd=$(sh "$X86_DIR/fetch-amd64.sh")
# The patched guest (VG_E2E_X86_STOCK_ONLY=1 leaves it out, to iterate on the rest).
k_grant=""
[ -n "${VG_E2E_X86_STOCK_ONLY:-}" ] || k_grant=$(sh "$X86_DIR/build-guest-kernel.sh")
# The daemon, native: the host's libxen-dev is the same Xen 4.17 as dom0's libraries.
make -C "$REPO_DIR" -s deps >&2
make -C "$REPO_DIR" -s BUILD=build/e2e-x86 build/e2e-x86/virtio-grant >&2 ||
    die "building the backend"
built=$(date +%s)
say "artifacts ready after $((built - start)) s"

work=${VG_E2E_WORK:-$E2E_CACHE/run-x86}
rm -rf "$work" && mkdir -p "$work/stock" "$work/dom0"
log=${VG_E2E_LOG:-$REPO_DIR/build/e2e-x86-serial.log}
mkdir -p "$(dirname "$log")"
# shellcheck disable=SC2086
gcc -std=gnu11 -O2 -Wall -Wextra -Werror -static -o "$work/vg-e2e-blk" $GUEST_SRCS

kver=$(ls "$amd/root/lib/modules" | head -n1)
mods="$amd/root/lib/modules/$kver"
# mod_order NAME...: module paths, dependencies first.
mod_order() {
    order=""
    for m in "$@"; do add_mod "$m"; done
    echo "$order"
}
add_mod() {
    local f d
    f=$(find "$mods" -name "$1.ko" | head -n1)
    [ -n "$f" ] || die "Debian's kernel has no module $1"
    case " $order " in *" $f "*) return ;; esac
    for d in $(modinfo -F depends "$f" | tr ',' ' '); do add_mod "$d"; done
    order="$order $f"
}
# copy_mods ROOT NAME...: the modules into ROOT, their load order in ROOT/modules.
copy_mods() {
    r=$1
    shift
    list=$(mod_order "$@") # an assignment, so that a missing module stops the run
    for f in $list; do
        dst="$r/lib/modules/$kver/${f#"$mods"/}"
        mkdir -p "$(dirname "$dst")" && cp "$f" "$dst"
        echo "/lib/modules/$kver/${f#"$mods"/}"
    done > "$r/modules"
}

# The stock guest: Debian's kernel, busybox, the virtio modules, the test.
g="$work/stock"
mkdir -p "$g/bin"
cp "$amd/root/bin/busybox" "$g/bin/busybox"
copy_mods "$g" virtio_pci virtio_blk
cp "$X86_DIR/guest-init.sh" "$g/init" && chmod +x "$g/init"
cp "$work/vg-e2e-blk" "$g/vg-e2e-blk"
(cd "$g" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/guest-stock.cpio.gz"

# The grant guest: virtio built in, the test alone as /init.
mkdir -p "$work/grant"
cp "$work/vg-e2e-blk" "$work/grant/init"
(cd "$work/grant" && echo init | cpio -o -H newc --quiet | gzip -1) > "$work/guest-grant.cpio.gz"

# dom0: Debian's amd64 userspace without the modules it does not load.
r="$work/dom0"
(cd "$amd/root" && tar -cf - --exclude=./lib/modules .) | (cd "$r" && tar -xf -)
mkdir -p "$r/vg"
copy_mods "$r" xen-evtchn xen-privcmd xenfs xen-gntdev xen-gntalloc loop
mv "$r/modules" "$r/vg/modules"
cp "$REPO_DIR/build/e2e-x86/virtio-grant" "$work/vg-e2e-blk" "$r/vg/"
cp "$amd/vmlinuz" "$r/vg/vmlinuz-stock"
cp "$work/guest-stock.cpio.gz" "$r/vg/"
if [ -n "$k_grant" ]; then
    cp "$k_grant" "$r/vg/bzImage-grant"
    cp "$work/guest-grant.cpio.gz" "$r/vg/"
fi
cp "$X86_DIR/cases.sh" "$r/vg/cases.sh"
cp "$E2E_DIR/dom0-lib.sh" "$r/vg/dom0-lib.sh"
cp "$X86_DIR/dom0-init.sh" "$r/init" && chmod +x "$r/init"
(cd "$r" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/dom0.cpio.gz"
say "dom0 initramfs $(du -h "$work/dom0.cpio.gz" | cut -f1)"
zcat "$amd/xen.gz" > "$work/xen.elf"

# VG_E2E_X86_CASES: a comma-separated subset (plain is a stock guest alone);
# "+" separates them on the command line, where a comma ends the module.
default=grant,foreign,gpa-refused
[ -z "${VG_E2E_X86_STOCK_ONLY:-}" ] || default=foreign,gpa-refused
cases=${VG_E2E_X86_CASES:-$default}
for c in $(echo "$cases" | tr , ' '); do
    case $c in
    plain | grant | foreign | gpa-refused) ;;
    *) die "VG_E2E_X86_CASES: no case '$c' (plain, grant, foreign, gpa-refused)" ;;
    esac
done
say "booting Xen under qemu-system-x86_64 (serial log: $log)"
set +e
timeout "${VG_E2E_TIMEOUT:-2400}" qemu-system-x86_64 -accel tcg,thread=multi \
    -cpu qemu64,+svm,+npt -smp 2 -m 3072 -nographic -no-reboot -monitor none -serial stdio \
    -nic none -kernel "$work/xen.elf" \
    -append "console=com1 com1=115200,8n1 dom0_mem=1536M,max:1536M noreboot guest_loglvl=all" \
    -initrd "$amd/vmlinuz console=hvc0 earlyprintk=xen rdinit=/init vgcases=$(echo "$cases" | tr , +),$work/dom0.cpio.gz" \
    < /dev/null > "$log" 2>&1
qrc=$?
set -e
end=$(date +%s)
grep -E '^(E2E|=== case|\[backend)' "$log" | tr -d '\r' >&2 || true
fails=$(grep -c '^E2E FAIL' "$log" || true)
passes=$(grep -c '^E2E PASS' "$log" || true)
say "build $((built - start)) s, boot+tests $((end - built)) s, total $((end - start)) s"
[ $qrc -eq 124 ] && die "QEMU timed out (serial log: $log)"
grep -q '^E2E DONE' "$log" || die "dom0 did not finish the cases (qemu rc $qrc, serial log: $log)"
[ "$fails" -eq 0 ] || die "$fails step(s) failed: $(grep '^E2E FAIL' "$log" | head -n1 | tr -d '\r')"
[ "$passes" -gt 0 ] || die "no step passed"
say "PASS: $passes steps"
