#!/usr/bin/env bash
# CurveZMQ on against off, in one run: one build, two clusters of 4 engines side by side (one
# started --no-curve, "base"; one --curve, "new"), alternating rep by rep (ABBA):
#   lb_noop_throughput    balanced no-ops per second (every message encrypted twice: client to
#                         controller, controller to bridge, and back)
#   latency_direct1       one direct no-op's round trip
#   push/pull/reduce      crew-data-bench's push, pull and reduce of 128 MB per engine: on one host
#                         the bytes skip ZeroMQ (single copies between processes), so a second
#   *_zmq                 run with CREW_SINGLE_COPY=0 sends them through the controller, as to
#                         engines on other hosts: encrypted on both hops
#
#   BUILD=build bash bench/curve_ab.sh
#
# Knobs: REPS (6), TASKS (20000), WORLDS (4: every engine a rank 0, all traffic on ZeroMQ),
# OUT (/tmp/crew-bench/curve-<stamp>). Writes $OUT/raw.jsonl (each line with "build":
# "base" (plaintext) or "new" (CURVE)) and prints medians and the paired CURVE/plaintext ratios.
set -uo pipefail
BUILD="$(cd "${BUILD:-build}" && pwd)"
REPS="${REPS:-6}"
TASKS="${TASKS:-20000}"
WORLDS="${WORLDS:-4}"
OUT="${OUT:-/tmp/crew-bench/curve-$(date +%Y%m%d-%H%M%S)}"
source "$(dirname "${BASH_SOURCE[0]}")/prepare.sh"
bench_prepare "$OUT" "$BUILD"

stop_all() {
  "$BUILD/src/crew" cluster stop --profile ab-base >/dev/null 2>&1
  "$BUILD/src/crew" cluster stop --profile ab-new >/dev/null 2>&1
  rm -rf "$CREW_HOME"
}
trap stop_all EXIT INT TERM

"$BUILD/src/crew" cluster start -n 4 --worlds "$WORLDS" --no-curve --profile ab-base >/dev/null || exit 1
"$BUILD/src/crew" cluster start -n 4 --worlds "$WORLDS" --curve --profile ab-new >/dev/null || exit 1
"$BUILD/src/crew" cluster status --profile ab-new | grep security

for rep in $(seq 1 "$REPS"); do
  if [ $((rep % 2)) -eq 1 ]; then order="base new"; else order="new base"; fi
  for w in lb_noop_throughput latency_direct1 data data_zmq; do
    for b in $order; do
      if [ "$w" = data ]; then
        "$BUILD/bench/crew-data-bench" --profile "ab-$b" --reps 1 --first-rep "$rep" --sizes 128 --only push \
          2>>"$OUT/stderr.log" | sed "s/^{/{\"build\": \"$b\", /" >>"$OUT/raw.jsonl"
      elif [ "$w" = data_zmq ]; then
        CREW_SINGLE_COPY=0 "$BUILD/bench/crew-data-bench" --profile "ab-$b" --reps 1 --first-rep "$rep" --sizes 128 \
          --only push 2>>"$OUT/stderr.log" |
          sed -e "s/^{/{\"build\": \"$b\", /" -e 's/"workload":"\([a-z_0-9]*\)"/"workload":"\1_zmq"/' >>"$OUT/raw.jsonl"
      else
        "$BUILD/bench/crew-bench" --profile "ab-$b" --engines 4 --reps 1 --first-rep "$rep" --tasks "$TASKS" \
          --workloads "$w" 2>>"$OUT/stderr.log" | sed "s/^{/{\"build\": \"$b\", /" >>"$OUT/raw.jsonl"
      fi
    done
  done
done
"$BUILD/src/crew" cluster status --profile ab-new | grep security

here="$(dirname "${BASH_SOURCE[0]}")"
python3 "$here/ab_compare.py" --others new "$OUT/raw.jsonl"
python3 "$here/ab_compare.py" --paired --others new "$OUT/raw.jsonl"
echo "raw: $OUT/raw.jsonl"
