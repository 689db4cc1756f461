#!/usr/bin/env bash
# A/B/A: main at bc83e2e (A, and again as C: the noise between two runs of one build) vs rank-loop
# (B), builds rotating per rep and N; crew-bench no-op throughput, 100,000 tasks a figure.
# (ab-long-1 ran A and B only; ab-short 20,000 tasks with latency, A and B only.) A and B are
# Release builds with -DCREW_BUILD_BENCH=ON of `git archive` of each commit under /tmp.
set -u
REPS=${REPS:-3}
declare -A BIN=([A]=/tmp/rankloop-a/build [B]=/tmp/rankloop-b/build [C]=/tmp/rankloop-a/build)
OUT=${OUT:-/tmp/rankloop-ab/ab.jsonl}; : > $OUT
export CREW_HOME=$(mktemp -d) OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
tag() { sed "s/^{/{\"build\":\"$1\",/" >> $OUT; }
for rep in $(seq $REPS); do
  case $((rep % 3)) in 1) order="A B C";; 2) order="B C A";; 0) order="C A B";; esac
  for n in 2 4; do
    for b in $order; do
      B=${BIN[$b]}
      timeout 120 $B/src/crew cluster start -n $n --profile rlab > /dev/null 2>&1 || { echo "start failed $b $n"; continue; }
      timeout 900 $B/bench/crew-bench --profile rlab --engines $n --reps 1 --first-rep $rep --tasks 100000 --latency-calls 2000 \
        --workloads lb_noop_throughput,direct1_noop_throughput,directall_noop_throughput 2>/dev/null | tag $b
      timeout 120 $B/src/crew cluster stop --profile rlab > /dev/null 2>&1
    done
  done
done
rm -rf "$CREW_HOME"
