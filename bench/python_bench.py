#!/usr/bin/python3
"""crew's Python client against an already running cluster, in the anchors' JSON-lines format
(the same workload names as crew-bench and ipyparallel's anchor, ../shared/bench/anchors):

  lb_noop_throughput     lbv.apply_async("echo") x K (K = --tasks), then rc.wait(): tasks/s
  latency_direct1        20 warm-ups, then 1,000 sequential rc[0].apply_sync("echo"): _median, _p99 (us)
  map_lb_chunk_default   lbv.map("echo", range(M)).get() with the automatic chunk size: items/s
  map_lb_chunk1000       the same with chunksize=1000
  map_direct             rc[:].map("echo", range(M)).get(): one part per engine

Usage: PYTHONPATH=<build>/python /usr/bin/python3 bench/python_bench.py --profile P --engines N
           [--reps R] [--first-rep r] [--tasks K] [--map-items M] [--workloads a,b,...]
"""
import argparse
import json
import os
import statistics
import sys
import time

import crew

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--profile", default="default")
ap.add_argument("--engines", type=int, required=True)
ap.add_argument("--reps", type=int, default=3)
ap.add_argument("--first-rep", type=int, default=0)
ap.add_argument("--tasks", type=int, default=10000)
ap.add_argument("--map-items", type=int, default=100000)
ap.add_argument("--workloads", default="lb_noop_throughput,latency_direct1,map_lb_chunk_default,map_lb_chunk1000,map_direct")
ARGS = ap.parse_args()
SYSTEM = "crew-python-" + crew.__version__


def emit(workload, value, unit, **extra):
    record = {"system": SYSTEM, "workload": workload, "engines": ARGS.engines, "value": round(value, 3), "unit": unit}
    record.update(extra)
    record["oversubscribed"] = ARGS.engines > os.cpu_count()
    record["loadavg1"] = round(os.getloadavg()[0], 2)
    print(json.dumps(record), flush=True)


def percentile(xs, p):
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100.0
    f = int(k)
    c = min(f + 1, len(xs) - 1)
    return xs[f] + (xs[c] - xs[f]) * (k - f)


def lb_noop_throughput(rc, rep):
    lbv = rc.load_balanced_view()
    t0 = time.perf_counter()
    ars = [lbv.apply_async("echo") for _ in range(ARGS.tasks)]
    rc.wait(timeout=600)
    dt = time.perf_counter() - t0
    if ars[-1].get() is not None:
        sys.exit("echo() did not return None")
    emit("lb_noop_throughput", ARGS.tasks / dt, "tasks/s", rep=rep, calls=ARGS.tasks, tasks=ARGS.tasks,
         seconds=round(dt, 3))


def latency_direct1(rc, rep, calls=1000):
    one = rc[0]
    for _ in range(20):
        one.apply_sync("echo")
    lat = []
    for _ in range(calls):
        t0 = time.perf_counter_ns()
        one.apply_sync("echo")
        lat.append((time.perf_counter_ns() - t0) / 1000.0)
    emit("latency_direct1_median", statistics.median(lat), "us", rep=rep, calls=calls)
    emit("latency_direct1_p99", percentile(lat, 99), "us", rep=rep, calls=calls)


def map_case(name, submit):
    def run(rc, rep):
        m = ARGS.map_items
        t0 = time.perf_counter()
        out = submit(rc, m).get(timeout=600)
        dt = time.perf_counter() - t0
        if len(out) != m or out[-1] != m - 1:
            sys.exit(name + ": wrong results")
        emit(name, m / dt, "items/s", rep=rep, items=m, seconds=round(dt, 3))
    return run


WORKLOADS = {
    "lb_noop_throughput": lb_noop_throughput,
    "latency_direct1": latency_direct1,
    "map_lb_chunk_default": map_case("map_lb_chunk_default", lambda rc, m: rc.load_balanced_view().map("echo", range(m))),
    "map_lb_chunk1000": map_case("map_lb_chunk1000",
                                 lambda rc, m: rc.load_balanced_view().map("echo", range(m), chunksize=1000)),
    "map_direct": map_case("map_direct", lambda rc, m: rc[:].map("echo", range(m))),
}

rc = crew.Client(profile=ARGS.profile)
rc.wait_for_engines(ARGS.engines, timeout=60)
rc.load_balanced_view().map("echo", range(1000)).get()  # once per process: the first array imports NumPy (~80 ms)
for rep in range(ARGS.first_rep, ARGS.first_rep + ARGS.reps):
    for name in ARGS.workloads.split(","):
        WORKLOADS[name](rc, rep)
rc.close()
