#!/usr/bin/env bash
# Launchers on a real Slurm (tests/schedulers' testbed), side by side in one run, alternating:
#   slurm_hello_wait    sbatch --wait of a job running `mpirun -n N mpi-hello` (submit to done;
#                       sbatch --wait polls every 2 s, so this is coarse)
#   slurm_hello_up      the same job, submit to rank 0's line in the job's output file (every rank
#                       past MPI_Init: the bare job's "registered"), polled every 10 ms
#   crew_start_slurm    crew cluster start --launcher slurm -n N (submit to all engines registered)
#   crew_stop_slurm     crew cluster stop (to every job gone from the queue)
# Targets (issue 20): start <= 1.3x the hello job; stop to an empty queue <= 2 s.
# With WORLDS=W (default 1) each of them is W jobs of ENGINES ranks at once (crew: -n W*ENGINES
# --worlds W; the hellos: W jobs submitted together, until all W printed; no sbatch --wait).
# A Slurm node needs W*ENGINES CPUs for that: CREW_TB_SLURM_CPUS=256 tests/schedulers/slurm-up.sh.
#   REPS (default 7), ENGINES (default 2), CREW_BIN (default build/src), OUT (default /tmp/crew-bench/launchers-<stamp>)
#   BASE_BIN: another build's bin folder, timed as crew_start_slurm_base / crew_stop_slurm_base in the same reps
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
reps=${REPS:-7}
n=${ENGINES:-2}
worlds=${WORLDS:-1}
bin=${CREW_BIN:-$root/build/src}
base=${BASE_BIN:-}
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
record() {
  printf '{"workload":"%s","worlds":%d,"n":%d,"rep":%d,"seconds":%.6f}\n' "$1" "$worlds" "$n" "$rep" \
    "$(echo "$3 - $2" | bc)" >> "$raw"
}
hellos_printed() { [ "$(cat "$work"/hello-*.log 2> /dev/null | grep -c mpi-hello)" -ge "$worlds" ]; }
for rep in $(seq 1 "$reps"); do
  # A: the bare MPI job through the same scheduler
  if [ "$worlds" = 1 ]; then
    t0=$(now); sbatch --wait --quiet "$work/hello.sh" > /dev/null; t1=$(now)
    record slurm_hello_wait "$t0" "$t1"
  fi
  rm -f "$work"/hello-*.log
  t0=$(now)
  for _ in $(seq "$worlds"); do sbatch --quiet "$work/hello.sh" > /dev/null; done
  until hellos_printed; do sleep 0.01; done; t1=$(now)
  record slurm_hello_up "$t0" "$t1"
  until queue_empty; do sleep 0.05; done
  # B: crew through the slurm launcher, then its stop
  for build in ${base:+base} new; do
    b=$bin suffix=
    [ "$build" = base ] && b=$base suffix=_base
    t0=$(now)
    "$b/crew" cluster start --launcher slurm -n $((n * worlds)) --worlds "$worlds" --wait 600 > /dev/null 2>&1
    t1=$(now)
    record "crew_start_slurm$suffix" "$t0" "$t1"
    t0=$(now); "$b/crew" cluster stop > /dev/null; until queue_empty; do sleep 0.02; done; t1=$(now)
    record "crew_stop_slurm$suffix" "$t0" "$t1"
  done
done
python3 - "$raw" > "$out/summary.md" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for r in rows: by.setdefault(r["workload"], []).append(r["seconds"])
med = {k: statistics.median(v) for k, v in by.items()}
print("| workload | median s | reps (s) |\n|---|---|---|")
for k, v in by.items(): print(f"| {k} | {med[k]:.2f} | {', '.join(f'{x:.2f}' for x in v)} |")
print()
if "slurm_hello_wait" in med:
    ratio = med["crew_start_slurm"] / med["slurm_hello_wait"]
    print(f"crew start / sbatch --wait hello: {ratio:.2f}x (target <= 1.3x: {'met' if ratio <= 1.3 else 'NOT met'})")
up = med["crew_start_slurm"] / med["slurm_hello_up"]
print(f"crew start / hello jobs from submission to MPI_Init done: {up:.2f}x (target <= 1.3x: {'met' if up <= 1.3 else 'NOT met'})")
if "crew_start_slurm_base" in med:
    print(f"base build's start / the hellos': {med['crew_start_slurm_base'] / med['slurm_hello_up']:.2f}x")
print(f"stop to empty queue: {med['crew_stop_slurm']:.2f} s (target <= 2 s: {'met' if med['crew_stop_slurm'] <= 2 else 'NOT met'})")
PY
cat "$out/summary.md"
echo "launcher_bench: $out"
