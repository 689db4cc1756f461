#!/usr/bin/env bash
# CPU time per process (ms, user+sys) during a latency loop at N engines
set -u
n=$1; wl=${2:-latency_direct1}
B=${B:-/work/main/build-bench}
export CREW_HOME=$(mktemp -d) OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
$B/src/crew cluster start -n $n --profile cpu > /dev/null 2>&1
sleep 2
pids=$(pgrep -f "crew-engine|crew controller|crew cluster|prterun|prted|mpirun" | tr '\n' ' ')
snap() { for p in $pids; do [ -r /proc/$p/stat ] && awk -v p=$p '{printf "%s %d\n", p, $14+$15}' /proc/$p/stat; done; }
snap > /tmp/lat/before
/usr/bin/time -f "client cpu %U user %S sys %e wall" $B/bench/crew-bench --profile cpu --engines $n --reps 1 --latency-calls 5000 --tasks ${TASKS:-100000} --workloads $wl 2>/tmp/lat/client-time | python3 -c "
import sys,json
for l in sys.stdin:
  r=json.loads(l); print(r['workload'], r['value'])"
snap > /tmp/lat/after
join /tmp/lat/before /tmp/lat/after | while read p a b; do echo "$((b-a))0 ms  $(tr '\0' ' ' < /proc/$p/cmdline | cut -c1-90)"; done | sort -rn | head -12
$B/src/crew cluster stop --profile cpu > /dev/null 2>&1
rm -rf $CREW_HOME
