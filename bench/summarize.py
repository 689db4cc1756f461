#!/usr/bin/env python3
"""Summarize bench/run.sh's raw.jsonl (anchors' JSON-lines format) into medians.md.

  summarize.py OUT/raw.jsonl [--md OUT/medians.md] [--json OUT/medians.jsonl] [--env OUT/env.txt]

medians.md holds:
  1. Targets (DESIGN.md section 11 / the issues), per N, each PASS / FAIL:
     - startup <= 1.2 x bare `mpirun -n N mpi-hello` (ratio of medians, same run)
     - direct1 no-op throughput >= 50,000 tasks/s
     - latency p50 (direct and load-balanced) <= 1.5 x zmq_tcp_rt_hops1_w1_win1_8B_lat_p50
     - load-balanced no-op >= 200,000 tasks/s at N = 4; map with automatic chunks >= 1M items/s;
       controller RSS after 10^5 tasks <= 80 MiB
     - data path at 512 MiB: scatter and gather >= 2.5 GB/s, push_all >= 4 GB/s (N = 4), pull_one
       >= 2.5 GB/s, controller RSS after the data run <= 150 MiB; bulk rates beside the machine's
       first-touch copy rate (bench/memory_limits.cpp)
  2. crew vs ipyparallel and mpi4py.futures per workload and N: medians, and a ratio oriented so
     that > 1 means crew is better (other/crew for times, crew/other for rates).
  3. Every median (system, workload, N) with min..max and reps, like the anchors' summarize.py.
Python 3 standard library only.
"""
import argparse
import json
import statistics
from collections import OrderedDict

ap = argparse.ArgumentParser()
ap.add_argument("raw")
ap.add_argument("--md")
ap.add_argument("--json")
ap.add_argument("--env", help="env.txt to quote at the top of medians.md")
a = ap.parse_args()

# ---------------------------------------------------------------------------------------------
# read and group: (system, workload, engines, unit) -> values per rep

groups = OrderedDict()
loads = []
for line in open(a.raw):
    line = line.strip()
    if not line.startswith("{"):
        continue
    try:
        r = json.loads(line)
    except ValueError:
        continue
    if not all(k in r for k in ("system", "workload", "engines", "unit")):
        continue
    if r["workload"] in ("scatter", "gather") and "size_mb" in r:  # the anchors' naming: one workload, sizes
        r["workload"] = "%s@%sMB" % (r["workload"], r["size_mb"])
    key = (r["system"], r["workload"], r["engines"], r["unit"])
    g = groups.setdefault(key, {"vals": [], "by_rep": {}, "errors": [], "over": r.get("oversubscribed"),
                                "extra": {}, "loads": []})
    if r.get("value") is None:
        g["errors"].append(str(r.get("error") or r.get("skipped") or "no value"))
    else:
        g["vals"].append(float(r["value"]))
        if "rep" in r:
            g["by_rep"][r["rep"]] = float(r["value"])
    if r.get("loadavg1") is not None:
        g["loads"].append(r["loadavg1"])
        loads.append(r["loadavg1"])
    for k in ("calls", "tasks", "items", "not_ready_after_rc_wait", "alive_after_stop"):
        if k in r:
            g["extra"][k] = g["extra"].get(k, 0) + r[k] if k in ("not_ready_after_rc_wait", "alive_after_stop") else r[k]


def family(system):
    if system.startswith("crew-"):
        return "crew"
    if system.startswith("ipyparallel-"):
        return "ipp"
    if system.startswith("mpi4py"):
        return "mpi4py"
    return system


def find(fam, workload, n):
    """The group of (family, workload, N), or None."""
    for (system, wl, en, unit), g in groups.items():
        if family(system) == fam and wl == workload and en == n:
            return system, unit, g
    return None


def find_any(workload, n):
    for (system, wl, en, unit), g in groups.items():
        if wl == workload and en == n:
            return system, unit, g
    return None


def med(g):
    return statistics.median(g["vals"]) if g and g["vals"] else None


def fmt(v):
    if v is None:
        return "n/a"
    if abs(v) >= 1000:
        return "{:,.0f}".format(v)
    if abs(v) >= 100:
        return "%.0f" % v
    if abs(v) >= 1:
        return "%.2f" % v
    return "%.3f" % v


def cell(found):
    """'median (min..max, k reps)' for a found group."""
    if not found:
        return "-"
    _, _, g = found
    if not g["vals"]:
        return "FAILED (%s)" % "; ".join(sorted(set(g["errors"])))[:60]
    s = fmt(med(g))
    if len(g["vals"]) > 1:
        s += " (%s..%s, %d reps)" % (fmt(min(g["vals"])), fmt(max(g["vals"])), len(g["vals"]))
    if g["errors"]:
        s += " +%d failed" % len(g["errors"])
    return s


engines = sorted({k[2] for k in groups if isinstance(k[2], int)})
md = []
md.append("# crew benchmark medians")
md.append("")
md.append("Source: `%s`. Medians over reps; the machine is shared, so `loadavg1` (1-min load average "
          "when each line was written) is shown: %s." % (
              a.raw, ("min %.2f, median %.2f, max %.2f" % (min(loads), statistics.median(loads), max(loads)))
              if loads else "n/a"))
if a.env:
    try:
        md.append("")
        md.append("```")
        md.extend(l.rstrip("\n") for l in open(a.env))
        md.append("```")
    except OSError:
        pass

# ---------------------------------------------------------------------------------------------
# 1. targets

LIMIT_KEY = "zmq_tcp_rt_hops1_w1_win1_8B_lat_p50"
rows_json = []
md.append("")
md.append("## Targets")
md.append("")
md.append("| N | target | crew (median) | baseline (median) | ratio | limit | result |")
md.append("|---|---|---|---|---|---|---|")


def verdict(ok):
    return "n/a (missing data)" if ok is None else ("**PASS**" if ok else "**FAIL**")


def over_note(*founds):
    return " (oversubscribed)" if any(f and f[2]["over"] for f in founds) else ""


for n in engines:
    # startup vs bare mpirun
    c = find("crew", "startup", n)
    b = find_any("startup_bare_mpirun", n)
    cm, bm = med(c[2]) if c else None, med(b[2]) if b else None
    ratio = cm / bm if cm is not None and bm else None
    paired = []
    if c and b:
        for rep, v in c[2]["by_rep"].items():
            if rep in b[2]["by_rep"] and b[2]["by_rep"][rep] > 0:
                paired.append(v / b[2]["by_rep"][rep])
    ok = None if ratio is None else ratio <= 1.2
    extra = "; per-rep ratios median %.2f" % statistics.median(paired) if len(paired) > 1 else ""
    md.append("| %s | startup <= 1.2 x bare `mpirun -n %s mpi-hello`%s | %s s | %s s | %s x (crew/bare)%s | <= 1.2 x | %s |" % (
        n, n, over_note(c, b), fmt(cm), fmt(bm), fmt(ratio), extra, verdict(ok)))
    rows_json.append({"target": "startup_vs_bare_mpirun", "engines": n, "crew": cm, "baseline": bm,
                      "ratio": ratio, "limit": 1.2, "pass": ok})

    # direct1 throughput
    t = find("crew", "direct1_noop_throughput", n)
    tm = med(t[2]) if t else None
    ok = None if tm is None else tm >= 50000
    md.append("| %s | direct1 no-op throughput >= 50,000 tasks/s%s | %s tasks/s | - | - | >= 50,000 | %s |" % (
        n, over_note(t), fmt(tm), verdict(ok)))
    rows_json.append({"target": "direct1_noop_throughput", "engines": n, "crew": tm, "limit": 50000, "pass": ok})

    # latency p50 vs one-proxy-hop ZeroMQ round trip (measured in the same loop)
    z = find_any(LIMIT_KEY, n)
    zm = med(z[2]) if z else None
    for wl, label in (("latency_direct1_median", "latency p50 (engine 0)"),
                      ("latency_direct_lastrank_median", "latency p50 (last engine, rank != 0; crew-specific)")):
        l = find("crew", wl, n)
        lm = med(l[2]) if l else None
        if l is None and wl.endswith("lastrank_median"):
            continue
        ratio = lm / zm if lm is not None and zm else None
        ok = None if ratio is None else ratio <= 1.5
        md.append("| %s | %s <= 1.5 x `%s`%s | %s us | %s us | %s x (crew/zmq) | <= 1.5 x | %s |" % (
            n, label, LIMIT_KEY, over_note(l), fmt(lm), fmt(zm), fmt(ratio), verdict(ok)))
        rows_json.append({"target": wl + "_vs_zmq_hops1", "engines": n, "crew": lm, "baseline": zm,
                          "ratio": ratio, "limit": 1.5, "pass": ok})

    # load balancer, map, memory; the data path: (workload, label, at least / at most, bound, N or None)
    for wl, label, kind, bound, only_n in (
            ("lb_noop_throughput", "load-balanced no-op >= 200,000 tasks/s (10^4 tasks)", "min", 200000, 4),
            ("lb_noop_throughput_100k", "load-balanced no-op >= 200,000 tasks/s (10^5 tasks)", "min", 200000, 4),
            ("map_lb_chunk_default", "map, automatic chunks >= 1M items/s", "min", 1e6, None),
            ("hub_rss_after100k", "controller RSS after >= 10^5 tasks <= 80 MiB", "max", 80, None),
            ("hub_rss_after100k_quiet", "the same, after a quiet heartbeat period <= 80 MiB", "max", 80, None),
            ("scatter@512MB", "scatter 512 MiB >= 2.5 GB/s", "min", 2.5, None),
            ("gather@512MB", "gather 512 MiB >= 2.5 GB/s", "min", 2.5, None),
            ("scatter@512MB_again", "scatter 512 MiB again (warm memory) >= 2.5 GB/s", "min", 2.5, None),
            ("gather@512MB_again", "gather 512 MiB again (warm memory) >= 2.5 GB/s", "min", 2.5, None),
            ("push_all", "push_all 128 MiB >= 4 GB/s aggregate", "min", 4, 4),
            ("pull_one", "pull_one 128 MiB >= 2.5 GB/s", "min", 2.5, None),
            ("controller_rss_idle_after", "controller RSS after the data run <= 150 MiB", "max", 150, None)):
        if only_n is not None and n != only_n:
            continue
        t = find("crew", wl, n)
        if t is None:
            continue
        tm = med(t[2])
        ok = None if tm is None else (tm >= bound if kind == "min" else tm <= bound)
        # Bulk rates beside the machine's: a copy into fresh memory (4 KiB pages, and huge pages),
        # the floor under any transfer into a process that has not held that much before.
        base, ratio = "-", "-"
        if t[1] == "GB/s" and wl.endswith("_again"):
            warm = find_any("memcpy_warm_512MB", n)
            if warm and med(warm[2]):
                base = "warm memcpy %s GB/s (one core)" % fmt(med(warm[2]))
                ratio = "%s x warm memcpy" % fmt(tm / med(warm[2])) if tm is not None else "-"
        elif t[1] == "GB/s":
            cold, thp = find_any("first_touch_copy_512MB", n), find_any("first_touch_copy_512MB_thp", n)
            if cold and thp and med(cold[2]) and med(thp[2]):
                base = "first touch %s / %s GB/s (4K / THP)" % (fmt(med(cold[2])), fmt(med(thp[2])))
                ratio = "%s x THP first touch" % fmt(tm / med(thp[2])) if tm is not None else "-"
        md.append("| %s | %s%s | %s %s | %s | %s | %s %s | %s |" % (
            n, label, over_note(t), fmt(tm), t[1], base, ratio, ">=" if kind == "min" else "<=", fmt(bound),
            verdict(ok)))
        rows_json.append({"target": wl, "engines": n, "crew": tm, "limit": bound, "pass": ok})

    # load-balanced latency vs the same limit
    l = find("crew", "latency_lb_median", n)
    if l is not None:
        lm = med(l[2])
        ratio = lm / zm if lm is not None and zm else None
        ok = None if ratio is None else ratio <= 1.5
        md.append("| %s | load-balanced latency p50 <= 1.5 x `%s`%s | %s us | %s us | %s x (crew/zmq) | <= 1.5 x | %s |" % (
            n, LIMIT_KEY, over_note(l), fmt(lm), fmt(zm), fmt(ratio), verdict(ok)))
        rows_json.append({"target": "latency_lb_median_vs_zmq_hops1", "engines": n, "crew": lm, "baseline": zm,
                          "ratio": ratio, "limit": 1.5, "pass": ok})

# ---------------------------------------------------------------------------------------------
# 2. crew vs ipyparallel and mpi4py.futures

# (crew workload, ipyparallel workload, "lower" or "higher" is better)
PAIRS = [
    ("startup", "startup_ipcluster", "lower"),
    ("startup", "startup_ipcluster_mpi", "lower"),
    ("shutdown", "shutdown_ipcluster", "lower"),
    ("direct1_noop_throughput", "direct1_noop_throughput", "higher"),
    ("directall_noop_throughput", "directall_noop_throughput", "higher"),
    ("latency_direct1_median", "latency_direct1_median", "lower"),
    ("latency_direct1_p99", "latency_direct1_p99", "lower"),
    ("latency_direct_lastrank_median", "latency_direct1_median", "lower"),
    ("latency_direct_lastrank_p99", "latency_direct1_p99", "lower"),
    ("lb_noop_throughput", "lb_noop_throughput", "higher"),
    ("lb_noop_throughput_100k", "lb_noop_throughput", "higher"),
    ("latency_lb_median", "latency_lb_median", "lower"),
    ("latency_lb_p99", "latency_lb_p99", "lower"),
    ("broadcast_apply_sync_median", "broadcast_apply_sync_median", "lower"),
    ("directall_apply_sync_median", "directall_apply_sync_median", "lower"),
    ("map_lb_chunk_default", "map_lb_chunk_default", "higher"),
    ("map_lb_chunk1000", "map_lb_chunk1000", "higher"),
    ("map_direct", "map_direct", "higher"),
    ("hub_rss_after100k", "hub_rss_after100k", "lower"),
    ("scatter@8MB", "scatter@8MB", "higher"),
    ("gather@8MB", "gather@8MB", "higher"),
    ("scatter@128MB", "scatter@128MB", "higher"),
    ("gather@128MB", "gather@128MB", "higher"),
    ("scatter@512MB", "scatter@512MB", "higher"),
    ("gather@512MB", "gather@512MB", "higher"),
    ("push_all", "push_all", "higher"),
    ("pull_one", "pull_one", "higher"),
]
# (crew workload, mpi4py.futures workload, better): the executor anchor of the load balancer
MPI4PY_PAIRS = [
    ("lb_noop_throughput", "submit_noop_throughput", "higher"),
    ("lb_noop_throughput_100k", "submit_noop_throughput", "higher"),
    ("latency_lb_median", "latency_submit_median", "lower"),
    ("latency_lb_p99", "latency_submit_p99", "lower"),
    ("map_lb_chunk_default", "map_chunk_default", "higher"),
    ("map_lb_chunk1000", "map_chunk1000", "higher"),
    ("startup", "startup_mpirun", "lower"),
]
def compare(cm, om, better, short, name):
    """(ratio oriented so that > 1 means crew is better, its text, who is better) of two medians."""
    if not cm or not om:
        return None, "n/a", "-"
    ratio = om / cm if better == "lower" else cm / om
    how = "%s/crew" % short if better == "lower" else "crew/%s" % short
    return ratio, "%s (%s)" % (fmt(ratio), how), "crew" if ratio > 1 else (name if ratio < 1 else "tie")


md.append("")
md.append("## crew vs ipyparallel")
md.append("")
md.append("Ratio > 1 means crew is better: for times (s, us) it is ipp/crew (how many times faster crew is), "
          "for rates (tasks/s) crew/ipp. The lastrank rows compare crew's last engine with ipyparallel's "
          "engine 0 (ipyparallel has no ranks). Throughput: crew runs the full 10,000 tasks; ipyparallel "
          "caps K by its time budget (see `calls`/`tasks` in raw.jsonl).")
md.append("")
md.append("| workload | N | unit | crew median | ipyparallel median | ratio (>1: crew better) | better | note |")
md.append("|---|---|---|---|---|---|---|---|")
for n in engines:
    for cw, iw, better in PAIRS:
        c = find("crew", cw, n)
        i = find("ipp", iw, n)
        if not c and not i:
            continue
        cm, im = med(c[2]) if c else None, med(i[2]) if i else None
        ratio, rs, who = compare(cm, im, better, "ipp", "ipyparallel")
        unit = (c or i)[1]
        name = cw if cw == iw else "%s vs ipp %s" % (cw, iw)
        notes = []
        if (c and c[2]["over"]) or (i and i[2]["over"]):
            notes.append("oversubscribed")
        if c and c[2]["extra"].get("not_ready_after_rc_wait"):
            notes.append("%d results not ready when rc.wait() returned (sum over reps)" % c[2]["extra"]["not_ready_after_rc_wait"])
        if c and c[2]["extra"].get("alive_after_stop"):
            notes.append("%d processes alive after stop" % c[2]["extra"]["alive_after_stop"])
        md.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (name, n, unit, cell(c), cell(i), rs, who,
                                                                 ", ".join(notes)))
        rows_json.append({"compare": name, "engines": n, "unit": unit, "crew": cm, "ipyparallel": im,
                          "ratio_crew_better": ratio, "better": who})

md.append("")
md.append("## crew vs mpi4py.futures")
md.append("")
md.append("mpi4py.futures runs N worker ranks plus a master rank (always oversubscribed here). Ratio > 1 "
          "means crew is better.")
md.append("")
md.append("| workload | N | unit | crew median | mpi4py.futures median | ratio (>1: crew better) | better |")
md.append("|---|---|---|---|---|---|---|")
for n in engines:
    for cw, mw, better in MPI4PY_PAIRS:
        c = find("crew", cw, n)
        m = find("mpi4py", mw, n)
        if not c or not m:
            continue
        cm, mm = med(c[2]), med(m[2])
        ratio, rs, who = compare(cm, mm, better, "mpi4py", "mpi4py.futures")
        md.append("| %s vs %s | %s | %s | %s | %s | %s | %s |" % (cw, mw, n, c[1], cell(c), cell(m), rs, who))
        rows_json.append({"compare": cw + " vs mpi4py " + mw, "engines": n, "crew": cm, "mpi4py": mm,
                          "ratio_crew_better": ratio, "better": who})

# ---------------------------------------------------------------------------------------------
# 3. every median

md.append("")
md.append("## All medians")
md.append("")
md.append("| system | workload | N | median | unit | min..max | reps | size | note |")
md.append("|---|---|---|---|---|---|---|---|---|")
for (system, wl, n, unit), g in sorted(groups.items(), key=lambda kv: (kv[0][2], kv[0][1], kv[0][0])):
    m = med(g)
    size = ""
    for k in ("tasks", "items", "calls"):
        if k in g["extra"]:
            size = "%s=%s" % (k, g["extra"][k])
            break
    note = "oversubscribed" if g["over"] else ""
    if g["errors"]:
        note += (" " if note else "") + ("%d failed: " % len(g["errors"])) + "; ".join(sorted(set(g["errors"])))[:100]
    md.append("| %s | %s | %s | %s | %s | %s | %d | %s | %s |" % (
        system, wl, n, fmt(m) if m is not None else "FAILED", unit,
        "%s..%s" % (fmt(min(g["vals"])), fmt(max(g["vals"]))) if g["vals"] else "-",
        len(g["vals"]), size, note))
    rows_json.append({"system": system, "workload": wl, "engines": n, "value": m, "unit": unit, "stat": "median",
                      "reps": len(g["vals"]), "min": min(g["vals"]) if g["vals"] else None,
                      "max": max(g["vals"]) if g["vals"] else None, "oversubscribed": g["over"],
                      "errors": g["errors"] or None})

text = "\n".join(md) + "\n"
if a.md:
    with open(a.md, "w") as f:
        f.write(text)
else:
    print(text, end="")
if a.json:
    with open(a.json, "w") as f:
        for r in rows_json:
            f.write(json.dumps(r) + "\n")
