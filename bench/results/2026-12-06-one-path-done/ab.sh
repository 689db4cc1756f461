#!/usr/bin/env bash
# A/B/A in one run: builds `base`, `new` and `base` again as `base2` (the noise between two runs of
# one build), rotating per rep and N; the one-proxy ZeroMQ limits and mpi4py.futures in the same
# loop (LIMITS=1). Each build is a Release build with -DCREW_BUILD_BENCH=ON; a build is DIR or
# DIR:program (another `crew` program in DIR/src, e.g. a copy of an older controller).
#
#   ab.sh                                  # ab.jsonl: everything, 3 reps, 20,000 tasks
#   REPS=8 TASKS=100000 LIMITS=0 STREAMED=0 DATA="--sizes 8 --only scatter,push" \
#     WORKLOADS=direct1_noop_throughput,directall_noop_throughput,lb_noop_throughput,map_lb_chunk_default ab.sh
#                                          # ab-focus.jsonl
#   REPS=8 TASKS=100000 LIMITS=0 STREAMED=0 DATA= BASE=/work/wt-startup/build-ab \
#     WORKLOADS=lb_noop_throughput,map_lb_chunk_default,latency_lb ab.sh     # ab-balancer.jsonl
set -u
REPS=${REPS:-3} TASKS=${TASKS:-20000} LIMITS=${LIMITS:-1} STREAMED=${STREAMED:-1}
WORKLOADS=${WORKLOADS:-lb_noop_throughput,direct1_noop_throughput,directall_noop_throughput,latency_direct1,latency_lb,map_lb_chunk_default}
DATA=${DATA---sizes 8,128}
BASE=${BASE:-/work/wt-base/build} NEW=${NEW:-/work/main/build-bench}
declare -A BUILD=([base]=$BASE [new]=$NEW [base2]=$BASE)
OUT=${OUT:-/tmp/ab/ab.jsonl}; : > $OUT
ZMQ_BENCH=${ZMQ_BENCH:-/tmp/ab/zmq_bench} MPI4PY_BENCH=${MPI4PY_BENCH:-/work/shared/bench/anchors/mpi4py_bench.py}
export CREW_HOME=$(mktemp -d) OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
tag() { sed "s/^{/{\"build\":\"$1\",/" >> $OUT; }
for rep in $(seq $REPS); do
  case $((rep % 3)) in 1) order="base new base2";; 2) order="new base2 base";; 0) order="base2 base new";; esac
  for n in 2 4; do
    for b in $order; do
      dir=${BUILD[$b]%%:*} crew=crew
      [[ ${BUILD[$b]} == *:* ]] && crew=${BUILD[$b]#*:}
      timeout 120 $dir/src/$crew cluster start -n $n --profile ab > /dev/null 2>&1 || { echo "start failed $b $n"; continue; }
      timeout 900 $dir/bench/crew-bench --profile ab --engines $n --reps 1 --first-rep $rep --tasks $TASKS --latency-calls 2000 \
        --workloads $WORKLOADS 2>/dev/null | tag $b
      [ -n "$DATA" ] && timeout 900 $dir/bench/crew-data-bench --profile ab --reps 1 --first-rep $rep $DATA 2>/dev/null | tag $b
      # the same scatter streamed through the controller (as to engines on another host)
      [ "$STREAMED" = 1 ] && CREW_SINGLE_COPY=0 timeout 900 $dir/bench/crew-data-bench --profile ab --reps 1 --first-rep $rep \
        --sizes 128 --only scatter 2>/dev/null | sed 's/"workload":"\([a-z_]*@[0-9]*MB[a-z_]*\)"/"workload":"streamed_\1"/' | tag $b
      timeout 120 $dir/src/$crew cluster stop --profile ab > /dev/null 2>&1
    done
    [ "$LIMITS" = 1 ] || continue
    for args in "1 1 10000 1 8" "1 1 100000 256 100"; do
      timeout 120 $ZMQ_BENCH rt tcp $args 2>/dev/null | awk -v n=$n -v r=$rep '$1=="RESULT"{printf "{\"workload\":\"%s\",\"engines\":%s,\"value\":%s,\"unit\":\"%s\",\"rep\":%s}\n",$2,n,$3,$4,r}' | tag limit
    done
    timeout 600 mpirun -n $((n+1)) --oversubscribe /usr/bin/python3 -m mpi4py.futures $MPI4PY_BENCH --engines $n --rep $rep --tasks 20000 --items 20000 2>/dev/null | tag mpi4py
  done
done
rm -rf "$CREW_HOME"
