#!/usr/bin/env bash
# Latency of one task, where it goes, against the one-proxy ZeroMQ round trip and mpi4py.futures, in one loop.
set -u
REPS=${REPS:-3}
B=/work/main/build-bench
OUT=${OUT:-/tmp/lat/lat.jsonl}; : > $OUT
export CREW_HOME=$(mktemp -d) OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
tag() { sed "s/^{/{\"build\":\"$1\",/" >> $OUT; }
for rep in $(seq $REPS); do
  for n in 2 4; do
    timeout 120 $B/src/crew cluster start -n $n --profile lat > /dev/null 2>&1 || { echo "start failed $n"; continue; }
    timeout 900 $B/bench/crew-bench --profile lat --engines $n --reps 1 --first-rep $rep --latency-calls 2000 \
      --workloads latency_direct1,latency_direct_lastrank,latency_lb,lb_noop_throughput --tasks 20000 2>/dev/null | tag crew
    timeout 120 $B/src/crew cluster stop --profile lat > /dev/null 2>&1
    for args in "1 1 10000 1 8" "1 1 100000 256 100"; do
      timeout 120 /tmp/ab/zmq_bench rt tcp $args 2>/dev/null | awk -v n=$n -v r=$rep '$1=="RESULT"{printf "{\"workload\":\"%s\",\"engines\":%s,\"value\":%s,\"unit\":\"%s\",\"rep\":%s}\n",$2,n,$3,$4,r}' | tag limit
    done
    timeout 600 mpirun -n $((n+1)) --oversubscribe /usr/bin/python3 -m mpi4py.futures /work/shared/bench/anchors/mpi4py_bench.py --engines $n --rep $rep --tasks 20000 --items 20000 2>/dev/null | tag mpi4py
  done
done
rm -rf "$CREW_HOME"
