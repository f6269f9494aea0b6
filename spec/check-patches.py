#!/usr/bin/env python3
"""Check that spec/patches/ is the series spec/virtio/ describes.

Without a virtio-spec clone (CI has none) this checks what the repository
alone can: four patches in order, no identity but the sender's placeholder
and no Signed-off-by (the sender's to give), each new file equal to its
source in spec/virtio/ with the requirement IDs dropped (so the standalone
draft and the series carry the same text), and each edit of an existing
virtio-spec file equal to spec/virtio/edits/000N.diff.  With
VIRTIO_SPEC=<clone>, spec/mkpatch.sh rebuilds the series, and it must come
out byte for byte as committed.
"""
import os
import re
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATCHES = os.path.join(TOP, "spec", "patches")
SOURCES = os.path.join(TOP, "spec", "virtio")
SENDER = "From: (the sender fills in name and address, and adds Signed-off-by)"
N = 3


def fail(msg):
    print("spec: patches: " + msg, file=sys.stderr)
    sys.exit(1)


def split_files(text):
    """{path: (is_new, [hunk lines])} of one patch, hunk lines as written."""
    files, cur = {}, None
    for line in text.split("\n"):
        m = re.match(r"^diff --git a/(\S+) b/(\S+)$", line)
        if m:
            cur = m.group(2)
            files[cur] = [False, []]
            continue
        if cur is None or line.startswith("index "):
            continue
        if line.startswith("new file mode"):
            files[cur][0] = True
        elif line.startswith(("@@", "+", "-", " ")) and not line.startswith(("+++", "---")):
            files[cur][1].append(line)
        elif line == "-- " or line.startswith("2."):
            cur = None  # format-patch trailer
    return files


def hunks(lines):
    # Hunk headers name the enclosing section, which differs with context
    # width and git version; the lines themselves must match.
    return [l for l in lines if not l.startswith("@@")]


def main():
    names = sorted(f for f in os.listdir(PATCHES) if f.endswith(".patch"))
    if len(names) != N or [n[:4] for n in names] != ["%04d" % i for i in range(1, N + 1)]:
        fail("expected 0001..%04d, found %s" % (N, names))
    for i, name in enumerate(names, 1):
        text = open(os.path.join(PATCHES, name)).read()
        if "\n%s\n" % SENDER not in text:
            fail("%s: the From line is not left to the sender" % name)
        if "Signed-off-by:" in text:
            fail("%s: has a Signed-off-by: only the sender can give one" % name)
        if "Subject: [PATCH RFC %d/%d]" % (i, N) not in text:
            fail("%s: not patch %d of %d" % (name, i, N))
        if "\\reqid" in text:
            fail("%s: carries the draft's requirement IDs" % name)
        edits = split_files(open(os.path.join(SOURCES, "edits", "%04d.diff" % i)).read())
        for path, (is_new, lines) in split_files(text).items():
            if is_new:
                src = os.path.join(SOURCES, path)
                if not os.path.exists(src):
                    fail("%s adds %s, which spec/virtio/ does not hold" % (name, path))
                want = re.sub(r"\\reqid\{[A-Z0-9-]*\} *", "", open(src).read())
                got = "".join(l[1:] + "\n" for l in lines if l.startswith("+"))
                if got != want:
                    fail("%s: %s differs from spec/virtio/%s (run spec/mkpatch.sh)" % (name, path, path))
            elif path not in edits or hunks(edits[path][1]) != hunks(lines):
                fail("%s: its edit of %s is not spec/virtio/edits/%04d.diff's" % (name, path, i))
        for path in edits:
            if path not in split_files(text):
                fail("%s lacks the edit of %s in spec/virtio/edits/%04d.diff" % (name, path, i))
    clone = os.environ.get("VIRTIO_SPEC")
    if clone:
        with tempfile.TemporaryDirectory() as d:
            subprocess.run([os.path.join(TOP, "spec", "mkpatch.sh"), clone, d], check=True,
                           stdout=subprocess.DEVNULL)
            for name in names:
                if open(os.path.join(d, name)).read() != open(os.path.join(PATCHES, name)).read():
                    fail("%s: rebuilt from %s, it differs from the committed one" % (name, clone))
        print("spec: patches: %d, rebuilt from %s: identical" % (N, clone))
    else:
        print("spec: patches: %d, new files and edits match spec/virtio/ "
              "(set VIRTIO_SPEC to a virtio-spec clone to rebuild them)" % N)


main()
