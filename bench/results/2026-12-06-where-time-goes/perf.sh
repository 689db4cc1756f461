#!/usr/bin/env bash
set -u
n=$1; wl=${2:-latency_lb}
B=/work/main/build-bench
export CREW_HOME=$(mktemp -d) OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
$B/src/crew cluster start -n $n --profile perf > /dev/null 2>&1
cpid=$(pgrep -f "crew controller --profile perf")
$B/bench/crew-bench --profile perf --engines $n --reps 1 --latency-calls 8000 --workloads $wl > /tmp/lat/perf-bench.txt 2>/dev/null &
bpid=$!
sleep 1
perf record -F 4999 -g -p $cpid -o /tmp/lat/perf.data -- sleep 2 > /dev/null 2>&1
wait $bpid
strace -c -f -p $cpid -o /tmp/lat/strace.txt & spid=$!
$B/bench/crew-bench --profile perf --engines $n --reps 1 --latency-calls 3000 --workloads $wl > /dev/null 2>&1
kill -INT $spid; wait $spid 2>/dev/null
$B/src/crew cluster stop --profile perf > /dev/null 2>&1
rm -rf $CREW_HOME
