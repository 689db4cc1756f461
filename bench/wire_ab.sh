#!/usr/bin/env bash
# Seals and descriptor capture, A/B in one run: two builds (OLD and NEW, each a build folder with
# crew, crew-engine and crew-bench) run side by side on 4 one-rank worlds each (every engine a
# rank 0 with its own bridge), alternating rep by rep (ABBA), each build driven by its own
# crew-bench (the two speak different protocol versions):
#   lb_noop_throughput    balanced no-ops per second: every message sealed and checked, every task
#                         ending with a look at the captured descriptors
#   latency_direct1       one direct no-op's round trip (client, controller, bridge and back)
#   lb_print_throughput   balanced tasks that print a 40-byte line (nobody following): through
#                         stdio and the pipe in NEW, an in-memory stream in OLD
#
#   OLD=/tmp/old/build NEW=build bash bench/wire_ab.sh
#   WORLDS=1 WORKLOADS="lb_print_throughput lb_print_followed" OLD=... NEW=... bash bench/wire_ab.sh
#                         one world of 4 ranks: engines 1-3 are ranks other than 0, whose output
#                         goes over MPI to the bridge
#
# Knobs: REPS (6), TASKS (10000), WORLDS (4), WORKLOADS (the three above), OUT
# (/tmp/crew-bench/wire-<stamp>). Writes $OUT/raw.jsonl (each line with "build": "base"|"new")
# and prints medians and the paired NEW/OLD ratios.
set -uo pipefail
OLD="$(cd "${OLD:?OLD=<old build dir>}" && pwd)"
NEW="$(cd "${NEW:?NEW=<new build dir>}" && pwd)"
REPS="${REPS:-6}"
TASKS="${TASKS:-10000}"
WORLDS="${WORLDS:-4}"
WORKLOADS="${WORKLOADS:-lb_noop_throughput latency_direct1 lb_print_throughput}"
OUT="${OUT:-/tmp/crew-bench/wire-$(date +%Y%m%d-%H%M%S)}"
source "$(dirname "${BASH_SOURCE[0]}")/prepare.sh"
bench_prepare "$OUT" "$OLD" "$NEW"

stop_all() {
  "$OLD/src/crew" cluster stop --profile ab-base >/dev/null 2>&1
  "$NEW/src/crew" cluster stop --profile ab-new >/dev/null 2>&1
  rm -rf "$CREW_HOME"
}
trap stop_all EXIT INT TERM

"$OLD/src/crew" cluster start -n 4 --worlds "$WORLDS" --profile ab-base >/dev/null || exit 1
"$NEW/src/crew" cluster start -n 4 --worlds "$WORLDS" --profile ab-new >/dev/null || exit 1

for rep in $(seq 1 "$REPS"); do
  if [ $((rep % 2)) -eq 1 ]; then order="base new"; else order="new base"; fi
  for w in $WORKLOADS; do
    for b in $order; do
      if [ "$b" = base ]; then dir="$OLD"; else dir="$NEW"; fi
      "$dir/bench/crew-bench" --profile "ab-$b" --engines 4 --reps 1 --first-rep "$rep" --tasks "$TASKS" \
        --workloads "$w" 2>>"$OUT/stderr.log" | sed "s/^{/{\"build\": \"$b\", /" >>"$OUT/raw.jsonl"
    done
  done
done

here="$(dirname "${BASH_SOURCE[0]}")"
python3 "$here/ab_compare.py" --others new "$OUT/raw.jsonl"
python3 "$here/ab_compare.py" --paired --others new "$OUT/raw.jsonl"
echo "raw: $OUT/raw.jsonl"
