#!/bin/sh
# The XSM/FLASK policy the e2e hypervisor enforces: Xen's own
# tools/flask/policy from the same Debian source as the hypervisor, plus the
# project's module policy/flask/vg.te, compiled with Debian's checkpolicy.
# Prints the path of the binary policy.
set -eu
. "$(dirname "$0")/lib.sh"
# VG_E2E_POLICY_MODULE swaps the module, to see which denials a rule prevents.
mod=${VG_E2E_POLICY_MODULE:-$REPO_DIR/policy/flask/vg.te}
out="$E2E_CACHE/policy-$(key "$XEN_SRC_VERSION" "$mod" "$0" "$(checkpolicy -V)")"
if [ -f "$out/xenpolicy" ]; then echo "$out/xenpolicy"; exit 0; fi
src="$E2E_CACHE/src/xen-${XEN_SRC_VERSION%-*}"
[ -d "$src/tools/flask/policy" ] || die "no Xen source at $src (run tests/e2e/build-xen.sh)"
say "building the FLASK policy (Xen's tools/flask/policy + policy/flask/vg.te)"
b="$E2E_CACHE/build-policy"
rm -rf "$b" && mkdir -p "$b/tools/flask" "$b/xen/xsm/flask"
cp -a "$src/tools/flask/policy" "$b/tools/flask/"
cp -a "$src/xen/xsm/flask/policy" "$b/xen/xsm/flask/"
cp "$mod" "$b/tools/flask/policy/modules/vg.te"
printf '\n# virtio-grant driver domain\nvg = on\n' >> "$b/tools/flask/policy/modules/modules.conf"
rm -rf "$out.tmp" && mkdir -p "$out.tmp"
make -s -f Makefile.common -C "$b/tools/flask/policy" FLASK_BUILD_DIR="$out.tmp" \
    POLICY_FILENAME="$out.tmp/xenpolicy" >&2 || die "checkpolicy rejected the policy"
rm -rf "$out" && mv "$out.tmp" "$out"
rm -rf "$b"
echo "$out/xenpolicy"
