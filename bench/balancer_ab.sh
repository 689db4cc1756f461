#!/usr/bin/env bash
# The load balancer, A/B in one run: two builds (OLD and NEW, each a build folder with crew,
# crew-engine and crew-bench) run side by side on 2 worlds of 2 engines each, and this script
# alternates between them, rep by rep:
#   lb_noop_throughput   each build's own crew-bench: balanced no-ops per second (tiny tasks)
#   lb_mixed_makespan    NEW's crew-bench against both clusters (a client-side workload, the same
#                        client code in both): 10,000 no-ops, then 8 x sleep(2 s) behind them;
#                        the makespan over the ideal (the no-ops' own time + 4 s)
#   lb_skewed_makespan   likewise: engine 0 busy with a direct sleep(3 s) while 8 x sleep(2 s)
#                        are balanced; the makespan over the ideal (6 s)
# Both clusters stay up for the whole run (idle engines sleep), each under the private CREW_HOME.
#
#   OLD=/work/wt-bal-base/build NEW=build bash bench/balancer_ab.sh
#
# Knobs: REPS (5), TASKS (10000), OUT (/tmp/crew-bench/balancer-<stamp>). Writes $OUT/raw.jsonl
# (each line with "build": "old"|"new") and prints the medians and NEW/OLD ratios.
set -uo pipefail
OLD="$(cd "${OLD:?OLD=<old build dir>}" && pwd)"
NEW="$(cd "${NEW:?NEW=<new build dir>}" && pwd)"
REPS="${REPS:-5}"
TASKS="${TASKS:-10000}"
OUT="${OUT:-/tmp/crew-bench/balancer-$(date +%Y%m%d-%H%M%S)}"
source "$(dirname "${BASH_SOURCE[0]}")/prepare.sh"
bench_prepare "$OUT" "$OLD" "$NEW"

stop_all() {
  "$OLD/src/crew" cluster stop --profile ab-old >/dev/null 2>&1
  "$NEW/src/crew" cluster stop --profile ab-new >/dev/null 2>&1
  rm -rf "$CREW_HOME"
}
trap stop_all EXIT INT TERM

"$OLD/src/crew" cluster start -n 4 --worlds 2 --profile ab-old >/dev/null || exit 1
"$NEW/src/crew" cluster start -n 4 --worlds 2 --profile ab-new >/dev/null || exit 1

run() {  # build-name bench-binary profile workload reps
  "$2" --profile "$3" --engines 4 --reps "$5" --tasks "$TASKS" --workloads "$4" 2>>"$OUT/stderr.log" |
    sed "s/^{/{\"build\": \"$1\", /" >>"$OUT/raw.jsonl"
}

for rep in $(seq 1 "$REPS"); do
  # ABBA within a rep: drift in the machine's load falls on both alike.
  if [ $((rep % 2)) -eq 1 ]; then order="old new"; else order="new old"; fi
  for b in $order; do
    if [ "$b" = old ]; then dir="$OLD"; else dir="$NEW"; fi
    run "$b" "$dir/bench/crew-bench" "ab-$b" lb_noop_throughput 1
  done
  for b in $order; do
    run "$b" "$NEW/bench/crew-bench" "ab-$b" lb_mixed_makespan 1
    run "$b" "$NEW/bench/crew-bench" "ab-$b" lb_skewed_makespan 1
  done
done

python3 - "$OUT/raw.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
med = {}
for w in ("lb_noop_throughput", "lb_mixed_makespan", "lb_skewed_makespan"):
    for b in ("old", "new"):
        v = [r["value"] for r in rows if r["workload"] == w and r["build"] == b and r.get("value") is not None]
        med[w, b] = statistics.median(v) if v else None
        print(f"{w:22s} {b}: median {med[w, b]}  ({len(v)} reps: {v})")
    if med[w, "old"] and med[w, "new"]:
        print(f"{w:22s} new/old: {med[w, 'new'] / med[w, 'old']:.3f}")
for b in ("old", "new"):
    for w in ("lb_mixed_makespan", "lb_skewed_makespan"):
        spans = [(r["makespan_s"], r["ideal_s"]) for r in rows if r["workload"] == w and r["build"] == b and "makespan_s" in r]
        print(f"{w:22s} {b}: (makespan s, ideal s) {spans}")
PY
echo "raw: $OUT/raw.jsonl"
