#!/usr/bin/env python3
"""dpkg-status.py CONTROL...: a dpkg status file for packages unpacked without
dpkg (fetch-arm64.sh), from their control paragraphs (dpkg-deb -f output).
Only packages whose Depends and Pre-Depends are met inside the set are
registered, to a fixed point: dpkg refuses to act on a database that holds
an installed package with a dependency missing (the kernel's kmod, say), and
such a package is not one the project's package may depend on anyway.
Versions are not compared: every package comes from the one release."""
import re
import sys


def paragraph(path):
    fields, last = {}, None
    for line in open(path, encoding="utf-8"):
        if line[:1] in " \t" and last:
            fields[last] += line
        elif ":" in line:
            last, value = line.split(":", 1)
            fields[last] = value.strip() + "\n" if value.strip() else "\n"
    return fields


def names(rel):
    """Each clause of a relation field, as the package names that satisfy it."""
    return [[re.split(r"[\s(:\[]", alt.strip())[0] for alt in clause.split("|")]
            for clause in rel.replace("\n", " ").split(",") if clause.strip()]


pkgs = [paragraph(p) for p in sys.argv[1:]]
kept = pkgs
while True:
    have = {p["Package"].strip() for p in kept}
    for p in kept:
        have.update(n[0] for n in names(p.get("Provides", "")))
    still = [p for p in kept
             if all(any(n in have for n in clause)
                    for f in ("Depends", "Pre-Depends")
                    for clause in names(p.get(f, "")))]
    if len(still) == len(kept):
        break
    kept = still
for p in kept:
    out = [f"Package: {p['Package'].strip()}", "Status: install ok installed"]
    for k, v in p.items():
        if k not in ("Package", "Status"):
            out.append(f"{k}: {v.rstrip()}" if not v.startswith("\n") else f"{k}:{v.rstrip()}")
    print("\n".join(out) + "\n")
have = {p["Package"].strip() for p in pkgs}
for p in pkgs:
    if p not in kept:
        missing = [" | ".join(c) for f in ("Depends", "Pre-Depends")
                   for c in names(p.get(f, "")) if not any(n in have for n in c)]
        print(f"dpkg-status: {p['Package'].strip()} not registered, needs "
              f"{', '.join(missing) or 'an unregistered package'}", file=sys.stderr)
