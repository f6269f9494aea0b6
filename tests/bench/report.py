#!/usr/bin/env python3
"""make bench's host side: turn the BENCH lines of a serial log into
results.csv, summary.md (ratios against foreign-premap and blkback) and PNG
plots (gnuplot).

usage: report.py SERIAL-LOG OUT-DIR
       report.py RESULTS.csv OUT-DIR --simulated   (make bench-sim's rows)

Every number comes from the log: fio's terse v3 line per workload (run in
the guest); what dom0 sampled at the workload's start and end: the
backend's CPU ticks, the device process's reply to SIGUSR1 (map and copy
calls, pages mapped peak) and vg-grant-peak's (guest pages granted, a
sampled peak); and each device process's closing report (whole run, in the
summary).  Nothing is filled in: a figure not sampled stays empty.
"""
import csv
import os
import re
import subprocess
import sys

USER_HZ = 100  # /proc/PID/stat ticks on arm64 and x86 Linux
SECTION = 41   # fields per direction in fio's terse v3 output
COLUMNS = ["mode", "workload", "iops", "mb_s", "p50_us", "p99_us", "cpu_s_per_gb",
           "map_or_copy_calls_per_request", "backend_pages_mapped_peak",
           "guest_pages_granted_peak", "verify", "simulated"]


def direction(fields, start):
    sec = fields[start:start + SECTION]
    pct = {}
    for f in sec[12:32]:
        if "=" in f:
            k, v = f.split("=", 1)
            pct[k.rstrip("%")] = float(v)
    return {"kb": float(sec[0]), "bw_kib": float(sec[1]), "iops": float(sec[2]),
            "p50": pct.get("50.000000"), "p99": pct.get("99.000000")}


def parse_terse(line):
    f = line.split(";")
    if len(f) < 5 + 2 * SECTION or f[0] != "3":
        raise ValueError("not a terse v3 line")
    return int(f[4]), direction(f, 5), direction(f, 5 + SECTION)


def parse_stats(text):
    """The device process's closing report, as numbers (per mode, whole run)."""
    out = {}
    for key, pat in [("chains", r"served (\d+) chains"), ("maps", r"maps (\d+) unmaps"),
                     ("copies", r"grant copies (\d+)"), ("peak", r"pages mapped peak (\d+)"),
                     ("engine", r"image I/O ([a-z_]+):"),
                     ("by_queue", r"chains by queue:((?: \d+)+)")]:
        m = re.search(pat, text)
        if m:
            out[key] = m.group(1).strip() if key in ("engine", "by_queue") else int(m.group(1))
    return out


def parse_window(kind, text):
    """A reply to SIGUSR1: the device's "stats:" line or vg-grant-peak's line."""
    pats = {"STATS": [("chains", r"chains (\d+)"), ("maps", r"maps (\d+)"),
                      ("copies", r"grant copies (\d+)"), ("peak", r"mapped now \d+ peak (\d+)")],
            "GRANTS": [("granted_peak", r"peak (\d+)")]}[kind]
    out = {}
    for key, pat in pats:
        m = re.search(pat, text)
        if m:
            out[key] = int(m.group(1))
    return out


def read_log(path):
    """ROW lines, closing reports per mode, and per-workload windows:
    windows[(mode, workload)][kind][BEGIN|END]."""
    rows, stats, windows = [], {}, {}
    for raw in open(path, errors="replace"):
        line = raw.strip().replace("\r", "")
        m = re.match(r"BENCH ROW (\S+) (\S+) cpu_ticks=(-?\d+) (.*)$", line)
        if m:
            rows.append((m.group(1), m.group(2), int(m.group(3)), m.group(4)))
            continue
        m = re.match(r"BENCH (STATS|GRANTS) (BEGIN|END) (\S+) (\S+) (.*)$", line)
        if m:
            w = windows.setdefault((m.group(3), m.group(4)), {})
            w.setdefault(m.group(1), {})[m.group(2)] = parse_window(m.group(1), m.group(5))
            continue
        m = re.match(r"BENCH STATS (\S+) (.*)$", line)
        if m:
            stats.setdefault(m.group(1), "")
            stats[m.group(1)] += " " + m.group(2)
    return rows, {k: parse_stats(v) for k, v in stats.items()}, windows


def window_figures(win):
    """Map or copy calls per request, the backend's and the guest's peaks, within
    one workload (between the replies at its BEGIN and END); "" if not sampled."""
    st = win.get("STATS", {})
    b, e = st.get("BEGIN", {}), st.get("END", {})
    calls = ""
    if "chains" in b and "chains" in e and e["chains"] > b["chains"]:
        calls = "%.3f" % ((e.get("maps", 0) - b.get("maps", 0) + e.get("copies", 0)
                           - b.get("copies", 0)) / (e["chains"] - b["chains"]))
    return calls, e.get("peak", ""), win.get("GRANTS", {}).get("END", {}).get("granted_peak", "")


def verify_result(err, rd, wr):
    """A write job's check: no error, and every byte written read back."""
    if err:
        return "error %d" % err
    return "ok" if wr["kb"] > 0 and rd["kb"] >= wr["kb"] else "not verified"


def build_rows(rows, windows, simulated):
    out = []
    for mode, w, ticks, terse in rows:
        err, rd, wr = parse_terse(terse)
        main = wr if "write" in w else rd
        moved = (rd["kb"] + wr["kb"]) * 1024  # verify reads included: the device served them
        calls, peak, granted = window_figures(windows.get((mode, w), {}))
        out.append({
            "mode": mode, "workload": w,
            "iops": "%.0f" % main["iops"],
            "mb_s": "%.2f" % (main["bw_kib"] * 1024 / 1e6),
            "p50_us": "%.0f" % main["p50"] if main["p50"] is not None else "",
            "p99_us": "%.0f" % main["p99"] if main["p99"] is not None else "",
            # negative: a sampled task was gone at the end (a guest's blkback threads
            # end with it): not measured
            "cpu_s_per_gb": "%.3f" % ((ticks / USER_HZ) / (moved / 1e9))
                            if moved and ticks >= 0 else "",
            "map_or_copy_calls_per_request": calls,
            "backend_pages_mapped_peak": peak,
            "guest_pages_granted_peak": granted,
            "verify": verify_result(err, rd, wr) if "write" in w else "",
            "simulated": "yes" if simulated else "no",
        })
    return out


def whole_run_table(stats):
    if not stats:
        return ""
    lines = ["| mode | image I/O | chains | chains by queue | map calls | grant copies "
             "| pages mapped (peak) |",
             "|---|---|---|---|---|---|---|"]
    for mode in sorted(stats):
        st = stats[mode]
        lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            mode, st.get("engine", ""), st.get("chains", ""), st.get("by_queue", ""),
            st.get("maps", ""), st.get("copies", ""), st.get("peak", "")))
    return "\n".join(lines) + "\n"


def ratio_table(rows, base, only=None):
    by = {(r["mode"], r["workload"]): r for r in rows}
    modes = sorted({r["mode"] for r in rows if only is None or r["mode"] in only})
    works = []
    for r in rows:
        if r["workload"] not in works:
            works.append(r["workload"])
    if not any(m == base for m in modes):
        return "(no %s rows in this run)\n" % base
    lines = ["| workload | metric | " + " | ".join(modes) + " |",
             "|---|---|" + "---|" * len(modes)]
    for w in works:
        b = by.get((base, w))
        if not b:
            continue
        metric = "iops" if "4k" in w else "mb_s"
        cells = []
        for m in modes:
            r = by.get((m, w))
            cells.append("%.2f" % (float(r[metric]) / float(b[metric]))
                         if r and float(b[metric]) else "")
        lines.append("| %s | %s | %s |" % (w, metric, " | ".join(cells)))
    return "\n".join(lines) + "\n"


def plot(rows, out):
    if subprocess.call(["sh", "-c", "command -v gnuplot >/dev/null"]) != 0:
        print("report: gnuplot missing: no plots", file=sys.stderr)
        return
    modes = sorted({r["mode"] for r in rows})
    series = {
        "iops-vs-qd": [(m, [(int(r["workload"].split("qd")[1]), float(r["iops"]))
                            for r in rows if r["mode"] == m
                            and r["workload"].startswith("randread-4k")]) for m in modes],
        "mbs-vs-bs": [(m, [({"4k": 4, "64k": 64, "1m": 1024}[r["workload"].split("-")[1]],
                            float(r["mb_s"])) for r in rows if r["mode"] == m
                           and r["workload"] in ("randread-4k-qd8", "read-64k-qd8",
                                                 "read-1m-qd8")]) for m in modes],
        "exposure-vs-mbs": [(m, [(float(r["mb_s"]), float(r["backend_pages_mapped_peak"]))
                                 for r in rows if r["mode"] == m
                                 and r["workload"] == "read-1m-qd8"
                                 and r["backend_pages_mapped_peak"] != ""]) for m in modes],
    }
    labels = {"iops-vs-qd": ("queue depth (4K random read)", "IOPS", "logscale x 2; set logscale y 10"),
              "mbs-vs-bs": ("block size, KiB (read, QD 8)", "MB/s", "logscale x 2; set logscale y 10"),
              "exposure-vs-mbs": ("MB/s (1M read, QD 8)", "backend pages mapped (peak)",
                                  "logscale y 2")}
    for name, data in series.items():
        data = [(m, sorted(p)) for m, p in data if p]
        if not data:
            continue
        dat = os.path.join(out, name + ".dat")
        with open(dat, "w") as f:
            for m, pts in data:
                f.write("# %s\n" % m)
                for x, y in pts:
                    f.write("%g %g\n" % (x, y))
                f.write("\n\n")
        xl, yl, extra = labels[name]
        plots = ", ".join("'%s' index %d with linespoints title '%s'" % (dat, i, m)
                          for i, (m, _) in enumerate(data))
        script = ("set terminal png size 640,400; set output '%s';"
                  "set xlabel '%s'; set ylabel '%s'; set key outside; set %s; plot %s"
                  % (os.path.join(out, name + ".png"), xl, yl, extra, plots))
        subprocess.check_call(["gnuplot", "-e", script])


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    log, out = sys.argv[1], sys.argv[2]
    simulated = "--simulated" in sys.argv[3:]
    os.makedirs(out, exist_ok=True)
    runs = ""
    if log.endswith(".csv"):
        table = list(csv.DictReader(open(log)))
    else:
        rows, stats, windows = read_log(log)
        table = build_rows(rows, windows, simulated)
        runs = whole_run_table(stats)
        with open(os.path.join(out, "results.csv"), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=COLUMNS)
            w.writeheader()
            w.writerows(table)
    if not table:
        print("report: no rows in %s" % log, file=sys.stderr)
        return 1
    summary = ["# virtio-grant bench%s\n" % (" (SIMULATED)" if simulated else ""),
               "From %s: %d rows.  Ratios are measured side by side in this one run; "
               "under software emulation they are ratios, not speeds.\n" % (log, len(table)),
               "## Against foreign-premap\n", ratio_table(table, "foreign-premap"),
               "## Against blkback\n", ratio_table(table, "blkback")]
    if any(r["mode"] == "pool-mq" for r in table):
        summary += ["## Several queues against one (2 vCPUs, 2 fio jobs each)\n",
                    ratio_table(table, "pool-1q", ("pool-1q", "pool-mq"))]
    if runs:
        summary += ["## Each device process's closing report (whole run)\n", runs]
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write("\n".join(summary))
    print("\n".join(summary))
    plot(table, out)
    bad = [r for r in table if r["verify"] not in ("", "ok")]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
