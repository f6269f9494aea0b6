# Shared helpers for the real-Xen e2e scripts (sourced, POSIX sh).
# Built artifacts live outside the clone, keyed on their inputs, so a second
# run on the same machine skips every build.
E2E_CACHE=${VG_E2E_CACHE:-/var/cache/virtio-grant-e2e}
# Scripts outside tests/e2e set E2E_DIR before sourcing this file.
E2E_DIR=${E2E_DIR:-$(cd "$(dirname "$0")" && pwd)}
# The guest test program (vg-e2e-blk), also built for the host.
GUEST_SRCS="$E2E_DIR/guest/vg-e2e-blk.c $E2E_DIR/guest/rebind.c $E2E_DIR/guest/lifecycle.c $E2E_DIR/guest/pool_outside.c"
REPO_DIR=$(cd "$E2E_DIR/../.." && pwd)
XEN_SRC_VERSION=4.17.5+72-g01140da4e8-1
LINUX_SRC_PKG=linux-source-6.1
# The current long-term kernel, for the second frontend series (frontend-check).
LINUX_612_SRC_PKG=linux-source-6.12
CROSS=aarch64-linux-gnu-
mkdir -p "$E2E_CACHE"

say() { echo "e2e: $*" >&2; }
die() { echo "e2e: FAIL: $*" >&2; exit 1; }

# key FILE-OR-STRING...: a short hash over the contents of files and literal strings.
key() {
    for k in "$@"; do
        if [ -f "$k" ]; then sha256sum < "$k"; else echo "$k"; fi
    done | sha256sum | cut -c1-16
}

# installed_version PKG: the installed Debian version, or empty.
installed_version() {
    dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true
}

# reset_linux_tree VER TREE [PKG]: TREE becomes Debian's pristine PKG
# (linux-source-6.1 by default) at VER, unpacked once into the cache; files
# rsync rewrites get a fresh mtime so make rebuilds what a previously applied
# patch had changed.
reset_linux_tree() {
    pristine="$E2E_CACHE/src/linux-$1"
    if [ ! -f "$pristine/Makefile" ]; then
        say "unpacking ${3:-$LINUX_SRC_PKG} $1"
        rm -rf "$pristine" "$pristine.tmp" && mkdir -p "$pristine.tmp"
        tar -xf "/usr/src/${3:-$LINUX_SRC_PKG}.tar.xz" -C "$pristine.tmp" --strip-components=1
        mv "$pristine.tmp" "$pristine"
    fi
    mkdir -p "$2"
    rsync -a --delete --itemize-changes "$pristine/" "$2/" |
        awk '$1 ~ /^>f/ { print $2 }' | (cd "$2" && xargs -r touch)
}
