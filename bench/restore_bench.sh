#!/usr/bin/env bash
# Restore time: a cluster with --db sqlite holding RECORDS task records (balanced no-ops run by
# crew-bench), its controller killed with SIGKILL, then `crew cluster start` restoring it: the
# seconds until every engine is back with its id (what the command reports), REPS times in a row
# (each kill and restore on the grown file), and the controller's RSS after each restore.
#
#   bash bench/restore_bench.sh                       # build-bench, N = 4 in 2 worlds, 1e5 records
#   BUILD=/path/to/build HEARTBEAT_MS=250 REPS=5 bash bench/restore_bench.sh
#
# Knobs: BUILD (<repo>/build-bench), ENGINES (4), WORLDS (2), HEARTBEAT_MS (1000), REPS (3),
# OUT (/tmp/crew-bench/restore-<stamp>). Writes $OUT/raw.jsonl, one line per restore.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD="$(cd "${BUILD:-$HERE/../build-bench}" && pwd)"
ENGINES="${ENGINES:-4}"
WORLDS="${WORLDS:-2}"
HEARTBEAT_MS="${HEARTBEAT_MS:-1000}"
REPS="${REPS:-3}"
OUT="${OUT:-/tmp/crew-bench/restore-$(date +%Y%m%d-%H%M%S)}"
source "$HERE/prepare.sh"
bench_prepare "$OUT" "$BUILD"
CREW="$BUILD/src/crew"
trap '"$CREW" cluster stop --profile restore >/dev/null 2>&1; rm -rf "$CREW_HOME"' EXIT INT TERM

controller_pid() { "$CREW" cluster status --profile restore --json | grep -o '"pid":[0-9]*' | head -n1 | cut -d: -f2; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

"$CREW" cluster start -n "$ENGINES" --worlds "$WORLDS" --heartbeat-ms "$HEARTBEAT_MS" --profile restore \
  --db sqlite >/dev/null || exit 1
"$BUILD/bench/crew-bench" --profile restore --engines "$ENGINES" --reps 1 --workloads lb_noop_throughput_100k \
  >>"$OUT/fill.jsonl" 2>>"$OUT/stderr.log" || exit 1
records=$("$CREW" history --profile restore --json | grep -o '"msg_id"' | wc -l)
for rep in $(seq 1 "$REPS"); do
  pid=$(controller_pid)
  kill -9 "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
  line=$("$CREW" cluster start --profile restore --json 2>>"$OUT/stderr.log") || { echo "restore failed" >&2; exit 1; }
  seconds=$(echo "$line" | grep -o '"seconds":[0-9.e+-]*' | cut -d: -f2)
  engines=$(echo "$line" | grep -o '"engines":\[[0-9,]*\]' | tr -cd ',' | wc -c)
  echo "{\"workload\": \"restore_s\", \"rep\": $rep, \"engines\": $ENGINES, \"heartbeat_ms\": $HEARTBEAT_MS," \
    "\"engines_back\": $((engines + 1)), \"records\": $records, \"seconds\": $seconds," \
    "\"controller_rss_kib\": $(rss_kib "$(controller_pid)")}" | tee -a "$OUT/raw.jsonl"
done
