#!/usr/bin/env python3
"""Print line and branch coverage per backend file; fail on a file below its floor.

usage: floors.py COVERAGE_JSON FLOORS_TXT
FLOORS_TXT: "<path> <lines %> <branches %>" per line, '#' comments; a file the
suites reach that has no floor is reported and fails too (it needs one).
"""
import json
import os
import sys


def main():
    cov_path, floors_path = sys.argv[1], sys.argv[2]
    with open(cov_path) as f:
        data = json.load(f)
    root = os.getcwd() + os.sep
    files = {}
    for d in data["data"]:
        for entry in d["files"]:
            name = entry["filename"]
            if name.startswith(root):
                name = name[len(root):]
            if not name.startswith("backend/"):
                continue
            s = entry["summary"]
            if s["lines"]["count"] == 0:
                continue  # a header with no code of its own
            files[name] = (s["lines"]["percent"], s["branches"]["percent"],
                           s["lines"]["count"], s["branches"]["count"])
    floors = {}
    with open(floors_path) as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            if len(line) == 3:
                floors[line[0]] = (float(line[1]), float(line[2]))
    bad = 0
    print(f"{'file':34} {'lines':>8} {'branches':>9}   floor")
    for name in sorted(files):
        lp, bp, ln, bn = files[name]
        fl = floors.get(name)
        mark = ""
        if fl is None:
            mark = "  NO FLOOR"
            bad += 1
        elif lp + 1e-9 < fl[0] or (bn and bp + 1e-9 < fl[1]):
            mark = "  BELOW FLOOR"
            bad += 1
        floor = f"{fl[0]:.0f}/{fl[1]:.0f}" if fl else "-"
        print(f"{name:34} {lp:7.1f}% {bp:8.1f}%   {floor}{mark}")
    for name in sorted(set(floors) - set(files)):
        print(f"{name:34} not reached by any suite  FLOOR WITHOUT DATA")
        bad += 1
    if bad:
        print(f"coverage: {bad} file(s) below their floor or without one", file=sys.stderr)
        return 1
    print("coverage: every backend file at or above its floor")
    return 0


if __name__ == "__main__":
    sys.exit(main())
