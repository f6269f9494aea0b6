#!/bin/sh
# The patch series against virtio-spec master, as `git format-patch` output
# in spec/patches/, built from what this repository holds:
#   spec/virtio/*.tex          the files the series adds (the requirement
#                              IDs the standalone draft prints are dropped)
#   spec/virtio/edits/N.diff   its edits of existing virtio-spec files
#   spec/virtio/edits/N.msg    its commit messages
# usage: mkpatch.sh VIRTIO_SPEC_GIT [OUT_DIR]
#   VIRTIO_SPEC_GIT: a clone of oasis-tcs/virtio-spec that has the base
#   commit below (CI has none: `make spec` then checks the committed series
#   against spec/virtio/ without it, spec/check-patches.sh).
# The series has no author and no Signed-off-by: the person who posts it
# fills in the From line and signs off (the DCO is theirs to certify).
set -eu
base=15f488c162107f7b52fb2e4d0f36a2349fe9d3a9
top=$(cd "$(dirname "$0")/.." && pwd)
src=${1:?usage: mkpatch.sh VIRTIO_SPEC_GIT [OUT_DIR]}
out=${2:-$top/spec/patches}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

git -C "$src" cat-file -e "$base^{commit}" 2>/dev/null ||
    { echo "mkpatch: $src has no commit $base (virtio-spec master, 2026-04-08)" >&2; exit 1; }
git clone -q --no-checkout "$src" "$work/vs"
git -C "$work/vs" checkout -q -b grant-addressing "$base"

# The new files of each patch, in order.
files_1="grant-addressing.tex grant-xen.tex"
files_2=""
files_3="grant-pool.tex"

export GIT_AUTHOR_NAME="sender" GIT_AUTHOR_EMAIL="sender@invalid"
export GIT_COMMITTER_NAME="sender" GIT_COMMITTER_EMAIL="sender@invalid"
export GIT_AUTHOR_DATE="2026-12-03T00:00:00Z" GIT_COMMITTER_DATE="2026-12-03T00:00:00Z"
for n in 1 2 3; do
    git -C "$work/vs" apply --whitespace=nowarn "$top/spec/virtio/edits/000$n.diff"
    eval "files=\$files_$n"
    for f in $files; do
        sed 's/\\reqid{[A-Z0-9-]*} *//' "$top/spec/virtio/$f" > "$work/vs/$f"
    done
    git -C "$work/vs" add -A
    git -C "$work/vs" commit -q -F "$top/spec/virtio/edits/000$n.msg"
done
rm -rf "$out"
mkdir -p "$out"
git -C "$work/vs" format-patch -q --no-signature --zero-commit --subject-prefix="PATCH RFC" \
    -o "$out" "$base"
# No identity is made up: the sender's goes on the From line.
for p in "$out"/*.patch; do
    sed -i 's/^From: sender <sender@invalid>$/From: (the sender fills in name and address, and adds Signed-off-by)/' "$p"
done
echo "mkpatch: $(ls "$out" | wc -l) patches in $out"
