#!/usr/bin/env python3
"""EVA alarms as 'run|file|message' lines, and the check against the explained ones.

alarms.py RUN LOG            print the alarms of one run, each with its call stack
alarms.py --check EXPLAINED FOUND
    every alarm found must match an entry of EXPLAINED ('run-glob|file|message',
    comments above it say why it is a false positive), and every entry must
    still match an alarm: a fixed alarm takes its explanation with it.
"""
import fnmatch
import re
import sys


def alarms(run, log):
    lines = open(log, errors="replace").read().split("\n")
    out = set()
    for i, line in enumerate(lines):
        m = re.match(r"\[eva:alarm\] ([^:]+):\d+: Warning: ?(.*)", line)
        if not m:
            continue
        msg, stack = m.group(2), []
        j = i + 1
        while j < len(lines) and lines[j].startswith("  "):
            part = lines[j].strip()
            # -eva-print-callstacks: "stack: f :: file:line <-", then one frame a line
            frame = re.match(r"(?:stack: )?(\w+) :: \S+ <-$|(?:stack: )?(\w+)$", part)
            if frame and (stack or part.startswith("stack:")):
                stack.append(frame.group(1) or frame.group(2))
            else:
                msg += " " + part
            j += 1
        where = "<-".join(stack)
        out.add(f"{run}|{m.group(1)}|{' '.join(msg.split())} [{where}]")
    return sorted(out)


def check(explained_path, found_path):
    entries = []
    for line in open(explained_path):
        line = line.strip()
        if line and not line.startswith("#"):
            entries.append(line.split("|", 2))
    found = [l.rstrip("\n").split("|", 2) for l in open(found_path) if l.strip()]
    used = set()
    bad = 0
    for run, f, msg in found:
        hit = [k for k, (g, ef, em) in enumerate(entries)
               if fnmatch.fnmatch(run, g) and ef == f and em == msg]
        if not hit:
            print(f"prove: unexplained alarm in {run}: {f}: {msg}", file=sys.stderr)
            bad = 1
        used.update(hit)
    for k, e in enumerate(entries):
        if k not in used:
            print(f"prove: explained alarm no longer raised (drop it): {'|'.join(e)}",
                  file=sys.stderr)
            bad = 1
    per_file = {}
    for run, f, msg in found:
        per_file[f] = per_file.get(f, 0) + 1
    print("== EVA alarms left, all explained in tests/prove/alarms.txt:" if not bad
          else "== EVA alarms:")
    for f in sorted(per_file):
        print(f"  {f}: {per_file[f]} (over all runs)")
    if not per_file:
        print("  none")
    return bad


if __name__ == "__main__":
    if sys.argv[1] == "--check":
        sys.exit(check(sys.argv[2], sys.argv[3]))
    for a in alarms(sys.argv[1], sys.argv[2]):
        print(a)
