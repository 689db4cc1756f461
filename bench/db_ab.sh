#!/usr/bin/env bash
# The task database's cost, A/B in one run: two clusters of one build side by side, one keeping
# its records in memory (ab-mem) and one also in SQLite (ab-db, --db sqlite in a fresh file), and
# crew-bench alternating between them rep by rep (ABBA), so that the machine's drift falls on both.
#
#   bash bench/db_ab.sh                      # build-bench, N = 4, 5 reps
#   BUILD=/path/to/build ENGINES=2 REPS=8 WORKLOADS=lb_noop_throughput_100k bash bench/db_ab.sh
#   OLD=/path/to/old/build bash bench/db_ab.sh   # a third arm: the old build's --db sqlite cluster
#
# Knobs: BUILD (<repo>/build-bench), ENGINES (4), REPS (5), WORKLOADS
# (lb_noop_throughput_100k,latency_lb,map_lb_chunk_default), DB_ARGS (extra --db options), OUT
# (/tmp/crew-bench/db-<stamp>). Writes $OUT/raw.jsonl (each line with "build": "mem"|"db"), the
# database's size, and the medians (bench/ab_compare.py).
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD="$(cd "${BUILD:-$HERE/../build-bench}" && pwd)"
ENGINES="${ENGINES:-4}"
REPS="${REPS:-5}"
WORKLOADS="${WORKLOADS:-lb_noop_throughput_100k,latency_lb,map_lb_chunk_default}"
DB_ARGS="${DB_ARGS:-}"
OUT="${OUT:-/tmp/crew-bench/db-$(date +%Y%m%d-%H%M%S)}"
OLD="${OLD:+$(cd "$OLD" && pwd)}"
source "$HERE/prepare.sh"
# shellcheck disable=SC2086
bench_prepare "$OUT" "$BUILD" $OLD
CREW="$BUILD/src/crew"

stop_all() {
  "$CREW" cluster stop --profile ab-mem >/dev/null 2>&1
  "$CREW" cluster stop --profile ab-db >/dev/null 2>&1
  [ -z "$OLD" ] || "$OLD/src/crew" cluster stop --profile ab-olddb >/dev/null 2>&1
  rm -rf "$CREW_HOME"
}
trap stop_all EXIT INT TERM

"$CREW" cluster start -n "$ENGINES" --profile ab-mem >/dev/null || exit 1
# shellcheck disable=SC2086
"$CREW" cluster start -n "$ENGINES" --profile ab-db --db sqlite $DB_ARGS >/dev/null || exit 1
# shellcheck disable=SC2086
[ -z "$OLD" ] || "$OLD/src/crew" cluster start -n "$ENGINES" --profile ab-olddb --db sqlite $DB_ARGS >/dev/null || exit 1

run() {  # name profile rep (each arm with its own build's client)
  local build="$BUILD"
  [ "$1" != olddb ] || build="$OLD"
  "$build/bench/crew-bench" --profile "$2" --engines "$ENGINES" --reps 1 --first-rep "$3" --workloads "$WORKLOADS" \
    2>>"$OUT/stderr.log" | sed "s/^{/{\"build\": \"$1\", /" >>"$OUT/raw.jsonl"
}

arms="mem db${OLD:+ olddb}"
for rep in $(seq 1 "$REPS"); do
  if [ $((rep % 2)) -eq 1 ]; then order="$arms"; else order="$(echo "$arms" | tr ' ' '\n' | tac | tr '\n' ' ')"; fi
  for b in $order; do run "$b" "ab-$b" "$rep"; done
  echo "rep $rep done" >&2
done

db_file="$CREW_HOME/profile_ab-db/tasks.db"
echo "task database: $(du -ch "$db_file"* | tail -1 | cut -f1) ($(ls "$db_file"* | xargs -n1 basename | tr '\n' ' '))" |
  tee "$OUT/db_size.txt"
python3 "$HERE/ab_compare.py" --base mem --others "db${OLD:+,olddb}" "$OUT/raw.jsonl" | tee "$OUT/medians.md"
