#!/usr/bin/env bash
# The controller's memory over a long run: STEPS x TASKS balanced no-ops (crew-bench's
# lb_noop_throughput) on N engines of one cluster, the controller's RSS after each step.
#
#   BUILD=build bash bench/soak.sh                  # 5 x 200,000 tasks on 4 engines
#
# Knobs: BUILD (build), N (4), STEPS (5), TASKS (200000), ARGS (more `crew cluster start`
# options, e.g. "--db sqlite"). Prints one line per step: tasks so far, tasks/s, RSS in MiB.
set -uo pipefail
BUILD="$(cd "${BUILD:-build}" && pwd)"
N="${N:-4}"
STEPS="${STEPS:-5}"
TASKS="${TASKS:-200000}"
OUT="${OUT:-/tmp/crew-bench/soak-$(date +%Y%m%d-%H%M%S)}"
source "$(dirname "${BASH_SOURCE[0]}")/prepare.sh"
bench_prepare "$OUT" "$BUILD"
trap '"$BUILD/src/crew" cluster stop --profile soak >/dev/null 2>&1; rm -rf "$CREW_HOME"' EXIT INT TERM

# shellcheck disable=SC2086
"$BUILD/src/crew" cluster start -n "$N" --profile soak ${ARGS:-} >/dev/null || exit 1
pid=$("$BUILD/src/crew" cluster status --profile soak --json | grep -o '"pid":[0-9]*' | head -n1 | cut -d: -f2)
rss() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status"; }
echo "controller pid $pid: RSS $(rss) MiB before any task"
for step in $(seq 1 "$STEPS"); do
  rate=$("$BUILD/bench/crew-bench" --profile soak --engines "$N" --reps 1 --first-rep "$step" --tasks "$TASKS" \
    --workloads lb_noop_throughput 2>>"$OUT/stderr.log" | tee -a "$OUT/raw.jsonl" |
    grep -o '"value": *[0-9.e+]*' | head -n1 | grep -o '[0-9.e+]*$')
  echo "$((step * TASKS)) tasks: ${rate%.*} tasks/s, controller RSS $(rss) MiB"
done
