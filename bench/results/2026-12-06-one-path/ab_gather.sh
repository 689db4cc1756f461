#!/usr/bin/env bash
set -u
REPS=${REPS:-6}
declare -A BIN=([base]=/work/wt-base/build [new]=/work/main/build-bench)
OUT=${OUT:-/tmp/ab/ab5.jsonl}; : > $OUT
export CREW_HOME=$(mktemp -d) OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
tag() { sed "s/^{/{\"build\":\"$1\",/" >> $OUT; }
for rep in $(seq $REPS); do
  order="base new"; [ $((rep % 2)) = 0 ] && order="new base"
  for b in $order; do
    B=${BIN[$b]}
    timeout 120 $B/src/crew cluster start -n 4 --profile abg > /dev/null 2>&1 || { echo "start failed $b"; continue; }
    timeout 300 $B/bench/crew-data-bench --profile abg --reps 1 --first-rep $rep --sizes 128 ${ONLY:+--only $ONLY} 2>/dev/null | tag $b
    timeout 120 $B/src/crew cluster stop --profile abg > /dev/null 2>&1
  done
done
rm -rf "$CREW_HOME"
