#!/usr/bin/env bash
# A/B: base (31feffb, before one-transport) vs new (main), builds alternating per rep;
# the ZeroMQ limits and mpi4py.futures measured in the same loop.
set -u
REPS=${REPS:-3}
declare -A BIN=([base]=/work/wt-base/build [new]=/work/main/build-bench)
OUT=${OUT:-/tmp/ab/ab.jsonl}; : > $OUT
export CREW_HOME=$(mktemp -d) OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
tag() { sed "s/^{/{\"build\":\"$1\",/" >> $OUT; }
for rep in $(seq $REPS); do
  order="base new"; [ $((rep % 2)) = 0 ] && order="new base"
  for n in 2 4; do
    for b in $order; do
      B=${BIN[$b]}
      timeout 120 $B/src/crew cluster start -n $n --profile ab > /dev/null 2>&1 || { echo "start failed $b $n"; continue; }
      timeout 900 $B/bench/crew-bench --profile ab --engines $n --reps 1 --first-rep $rep --tasks 20000 --latency-calls 2000 \
        --workloads lb_noop_throughput,direct1_noop_throughput,directall_noop_throughput,latency_direct1,latency_lb,map_lb_chunk_default 2>/dev/null | tag $b
      timeout 900 $B/bench/crew-data-bench --profile ab --reps 1 --first-rep $rep --sizes 8,128 2>/dev/null | tag $b
      timeout 120 $B/src/crew cluster stop --profile ab > /dev/null 2>&1
    done
    for args in "1 1 10000 1 8" "1 1 100000 256 100"; do
      timeout 120 /tmp/ab/zmq_bench rt tcp $args 2>/dev/null | awk -v n=$n -v r=$rep '$1=="RESULT"{printf "{\"workload\":\"%s\",\"engines\":%s,\"value\":%s,\"unit\":\"%s\",\"rep\":%s}\n",$2,n,$3,$4,r}' | tag limit
    done
    timeout 600 mpirun -n $((n+1)) --oversubscribe /usr/bin/python3 -m mpi4py.futures /work/shared/bench/anchors/mpi4py_bench.py --engines $n --rep $rep --tasks 20000 --items 20000 2>/dev/null | tag mpi4py
  done
done
rm -rf "$CREW_HOME"
