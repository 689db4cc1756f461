#!/usr/bin/env bash
# Launchers on a real Slurm (tests/schedulers' testbed), side by side in one run, alternating:
#   slurm_hello_wait    sbatch --wait of a job running `mpirun -n N mpi-hello` (submit to done)
#   crew_start_slurm    crew cluster start --launcher slurm -n N (submit to all engines registered)
#   crew_stop_slurm     crew cluster stop (to every job gone from the queue)
# Targets (issue 20): start <= 1.3x the hello job; stop to an empty queue <= 2 s.
#   REPS (default 7), ENGINES (default 2), CREW_BIN (default build/src), OUT (default /tmp/crew-bench/launchers-<stamp>)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
reps=${REPS:-7}
n=${ENGINES:-2}
bin=${CREW_BIN:-$root/build/src}
out=${OUT:-/tmp/crew-bench/launchers-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
source "$root/tests/schedulers/env.sh"
started_slurm=0
if ! crewtb_slurm_up; then bash "$root/tests/schedulers/slurm-up.sh" > /dev/null; started_slurm=1; fi
export CREW_HOME=$(mktemp -d)
work=$(mktemp -d)
cleanup() {
  "$bin/crew" cluster stop > /dev/null 2>&1 || true
  rm -rf "$CREW_HOME" "$work"
  [ "$started_slurm" = 1 ] && bash "$root/tests/schedulers/slurm-down.sh" > /dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM

mpicc -O2 -o "$work/mpi-hello" "$root/bench/mpi_hello.c"
cat > "$work/hello.sh" <<JOB
#!/bin/bash
#SBATCH --ntasks=$n
#SBATCH --output=$work/hello-%j.log
mpirun --allow-run-as-root -n $n $work/mpi-hello
JOB
now() { date +%s.%N; }
raw="$out/raw.jsonl"
: > "$raw"
queue_empty() { [ -z "$(squeue --noheader --format=%i)" ]; }
for rep in $(seq 1 "$reps"); do
  # A: the bare MPI job through the same scheduler
  t0=$(now); sbatch --wait --quiet "$work/hello.sh" > /dev/null; t1=$(now)
  echo "{\"workload\":\"slurm_hello_wait\",\"n\":$n,\"rep\":$rep,\"seconds\":$(echo "$t1 - $t0" | bc)}" >> "$raw"
  # B: crew through the slurm launcher, then its stop
  t0=$(now); "$bin/crew" cluster start --launcher slurm -n "$n" > /dev/null 2>&1; t1=$(now)
  echo "{\"workload\":\"crew_start_slurm\",\"n\":$n,\"rep\":$rep,\"seconds\":$(echo "$t1 - $t0" | bc)}" >> "$raw"
  t0=$(now); "$bin/crew" cluster stop > /dev/null; until queue_empty; do sleep 0.02; done; t1=$(now)
  echo "{\"workload\":\"crew_stop_slurm\",\"n\":$n,\"rep\":$rep,\"seconds\":$(echo "$t1 - $t0" | bc)}" >> "$raw"
done
python3 - "$raw" > "$out/summary.md" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for r in rows: by.setdefault(r["workload"], []).append(r["seconds"])
med = {k: statistics.median(v) for k, v in by.items()}
print("| workload | median s | reps (s) |\n|---|---|---|")
for k, v in by.items(): print(f"| {k} | {med[k]:.2f} | {', '.join(f'{x:.2f}' for x in v)} |")
ratio = med["crew_start_slurm"] / med["slurm_hello_wait"]
print(f"\ncrew start / sbatch --wait hello: {ratio:.2f}x (target <= 1.3x: {'met' if ratio <= 1.3 else 'NOT met'})")
print(f"stop to empty queue: {med['crew_stop_slurm']:.2f} s (target <= 2 s: {'met' if med['crew_stop_slurm'] <= 2 else 'NOT met'})")
PY
cat "$out/summary.md"
echo "launcher_bench: $out"
