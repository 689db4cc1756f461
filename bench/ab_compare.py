#!/usr/bin/env python3
"""Compares builds measured side by side in one run (JSON lines with a "build" field, as the A/B
scripts under bench/results/ write them).

  ab_compare.py FILE...                      medians per workload and N, with new/base and base2/base
  ab_compare.py --paired FILE...             per-rep ratios against base (each rep runs the builds back
                                             to back, so its ratio cancels the machine's drift)
  --base A --others B,C                      other build labels (default base; new,base2)
"""
import argparse, collections, json, statistics

ap = argparse.ArgumentParser()
ap.add_argument("files", nargs="+")
ap.add_argument("--paired", action="store_true")
ap.add_argument("--base", default="base")
ap.add_argument("--others", default="new,base2")
a = ap.parse_args()
others = a.others.split(",")

runs = {}  # (file, workload, engines, rep, build) -> value
for f in a.files:
    for line in open(f):
        try:
            r = json.loads(line)
        except ValueError:
            continue
        v = r.get("value")
        if isinstance(v, (int, float)):
            runs[(f, r["workload"], r.get("engines") or r.get("n"), r.get("rep"), r["build"])] = v

if a.paired:
    for other in others:
        ratios = collections.defaultdict(list)
        for (f, w, n, rep, b), v in runs.items():
            base = runs.get((f, w, n, rep, a.base))
            if b == other and base:
                ratios[(w, n)].append(v / base)
        for (w, n), rs in sorted(ratios.items()):
            rs.sort()
            print(f"{w:32} N={n} paired {other}/{a.base} median {statistics.median(rs):.2f}"
                  f"  (n={len(rs)}, range {rs[0]:.2f}..{rs[-1]:.2f})")
else:
    values = collections.defaultdict(list)
    for (f, w, n, rep, b), v in runs.items():
        values[(w, n, b)].append(v)
    labels = list(dict.fromkeys([a.base] + others + ["limit", "mpi4py"]))
    for w, n in sorted({(w, n) for (w, n, b) in values}, key=lambda k: (str(k[0]), k[1])):
        row = [f"{b} med {statistics.median(xs):.4g} [{min(xs):.4g}..{max(xs):.4g}]"
               for b in labels if (xs := values.get((w, n, b)))]
        ratio = " ".join(f"{o}/{a.base} {statistics.median(values[(w, n, o)]) / statistics.median(values[(w, n, a.base)]):.2f}"
                         for o in others
                         if (w, n, o) in values and (w, n, a.base) in values and statistics.median(values[(w, n, a.base)]) != 0)
        print(f"{w:45} N={n} {ratio:30} " + " | ".join(row))
