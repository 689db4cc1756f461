#!/usr/bin/env bash
# record.sh: records what the REAL scheduler commands print, for parser unit tests, into
# recorded/ beside this script: for each command and situation NAME.stdout (always, raw
# bytes) and NAME.stderr (when anything was printed there), and recorded/README.md listing
# the exact command line, the situation, the exit status and the date of each.
#
# Needs slurm-up.sh and sge-up.sh to have run, and at least 2 CPUs. Takes about 3 minutes
# (a Slurm job must reach its 1-minute time limit). Leaves no job running. Overwrites the
# recorded/slurm, recorded/pbs, recorded/sge and recorded/lsf-shim directories; keeps
# recorded/lsf-real (samples of a real LSF, collected by hand).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
source "$TB_HERE/env.sh"

crewtb_slurm_up || tb_die "Slurm is not up: run slurm-up.sh first"
crewtb_sge_up || tb_die "SGE is not up: run sge-up.sh first"
cpus=$(nproc)
[ "$cpus" -ge 2 ] || tb_die "needs at least 2 CPUs to make a job pend for resources"

R=$TB_HERE/recorded
work=$(mktemp -d /tmp/crew-record.XXXXXX)
index=$(mktemp)
trap 'rm -rf "$work" "$index"' EXIT
cd "$work"
for d in slurm pbs sge lsf-shim; do rm -rf "${R:?}/$d"; mkdir -p "$R/$d"; done

# rec DIR/NAME "SITUATION" COMMAND...: runs COMMAND, keeps its stdout and stderr, notes it
rec() {
  local name=$1 situation=$2; shift 2
  local rc=0
  "$@" > "$R/$name.stdout" 2> "$R/$name.stderr" || rc=$?
  [ -s "$R/$name.stderr" ] || rm -f "$R/$name.stderr"
  local shown='' a
  for a in "$@"; do   # the command line as one would type it
    if [[ $a =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then shown+=" $a"; else shown+=" '${a//\'/\'\\\'\'}'"; fi
  done
  shown=${shown# }
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$shown" "$situation" "$rc" "$(date -u '+%Y-%m-%d %H:%M UTC')" >> "$index"
  echo "recorded $name (exit $rc)"
}
poll() { tb_wait "$@"; }   # poll SECONDS WHAT COMMAND...

# ---------------------------------------------------------------------------------------------
# Slurm
F='%i|%T|%r|%L|%e'
sq_state() { [ "$(squeue -h -t all -j "$1" -o %T 2> /dev/null)" = "$2" ]; }
sq_reason() { [ "$(squeue -h -t all -j "$1" -o %r 2> /dev/null)" = "$2" ]; }
printf '#!/bin/bash\n#SBATCH -J recjob\necho hello from $SLURM_JOB_ID\n' > job.sh

# the timeout job first: it holds 1 CPU until its 1-minute limit ends it
E=$(sbatch --parsable -J timeout -t 1 -n 1 --wrap 'sleep 600')
poll 60 "job $E to run" sq_state "$E" RUNNING
rec slurm/sbatch.normal "submission accepted" sbatch job.sh
rec slurm/sbatch.parsable "submission accepted, --parsable" sbatch --parsable job.sh
rec slurm/sbatch.bad-partition "rejected: unknown partition" sbatch -p nosuch job.sh
rec slurm/sbatch.too-many-cpus "rejected: more CPUs than the partition has (EnforcePartLimits=ALL)" sbatch -n $((cpus * 2)) job.sh
rec slurm/sbatch.time-over-limit "rejected: --time above the partition's MaxTime (short: 2 min)" sbatch -p short -t 10 job.sh
scancel --name=recjob
poll 60 "the recjob jobs to end" bash -c '[ -z "$(squeue -h -n recjob -o %i)" ]'

A=$(sbatch --parsable -J holder -n $((cpus - 1)) --wrap 'sleep 600')
poll 60 "job $A to run" sq_state "$A" RUNNING
B=$(sbatch --parsable -J waiter -n 2 --wrap 'sleep 1')
poll 30 "job $B to pend for Resources" sq_reason "$B" Resources
B2=$(sbatch --parsable -J waiter2 -n 1 --wrap 'sleep 1')
sq_pending_reason() { [[ $(squeue -h -t all -j "$1" -o '%T %r' 2> /dev/null) =~ ^PENDING\ (Priority|Resources)$ ]]; }
poll 30 "job $B2 to pend for Priority or Resources" sq_pending_reason "$B2"
rec slurm/squeue.pending-resources "pending: a 2-CPU job while all CPUs are held" squeue -h -t all -j "$B" -o "$F"
rec slurm/squeue.pending-priority "pending behind another pending job" squeue -h -t all -j "$B2" -o "$F"
rec slurm/squeue.running "running (no time limit)" squeue -h -t all -j "$A" -o "$F"
rec slurm/squeue.running-time-limit "running with a 1-minute limit" squeue -h -t all -j "$E" -o "$F"
rec slurm/squeue.list "running and pending jobs in one call" squeue -h -t all -j "$E,$A,$B,$B2" -o "$F"
rec slurm/squeue.default-format "default format, running and pending" squeue -j "$E,$A,$B,$B2"
rec slurm/scontrol.show-job.pending "pending: a 2-CPU job while all CPUs are held" scontrol show job "$B"
rec slurm/scontrol.show-job.running "running" scontrol show job "$A"
rec slurm/scancel.pending "cancel a pending job" scancel "$B"
poll 30 "job $B to be CANCELLED" sq_state "$B" CANCELLED
rec slurm/squeue.cancelled-pending "cancelled while pending" squeue -h -t all -j "$B" -o "$F"
scancel "$B2"
rec slurm/scancel.running "cancel a running job" scancel "$A"
poll 30 "job $A to be CANCELLED" sq_state "$A" CANCELLED
rec slurm/squeue.cancelled-running "cancelled while running" squeue -h -t all -j "$A" -o "$F"
rec slurm/scontrol.show-job.cancelled "cancelled while running" scontrol show job "$A"

C=$(sbatch --parsable -J ok -n 1 --wrap 'true')
D=$(sbatch --parsable -J fails -n 1 --wrap 'exit 3')
poll 60 "job $C to complete" sq_state "$C" COMPLETED
poll 60 "job $D to fail" sq_state "$D" FAILED
rec slurm/squeue.completed "completed (exit 0)" squeue -h -t all -j "$C" -o "$F"
rec slurm/squeue.failed "failed (the job exited 3)" squeue -h -t all -j "$D" -o "$F"
rec slurm/squeue.no-t-all.completed "completed job without -t all" squeue -h -j "$C" -o "$F"
rec slurm/scontrol.show-job.completed "completed (exit 0)" scontrol show job "$C"
rec slurm/scontrol.show-job.failed "failed (the job exited 3)" scontrol show job "$D"
rec slurm/scontrol.show-job-oneliner.failed "failed (the job exited 3), one line per job" scontrol -o show job "$D"
rec slurm/scancel.finished "cancel a job that has already completed" scancel "$C"
rec slurm/squeue.unknown-id "unknown job id" squeue -h -t all -j 999999 -o "$F"
rec slurm/squeue.list-one-unknown "a list of ids with one unknown id" squeue -h -t all -j "$C,999999,$D" -o "$F"
rec slurm/squeue.list-all-unknown "a list of ids that are all unknown" squeue -h -t all -j 999998,999999 -o "$F"
rec slurm/scontrol.show-job.unknown-id "unknown job id" scontrol show job 999999
rec slurm/scancel.unknown-id "unknown job id" scancel 999999
rec slurm/sacct.no-accounting "sacct with accounting disabled (AccountingStorageType=accounting_storage/none)" sacct -j "$C"
rec slurm/sacct.no-accounting-parsable "sacct with accounting disabled, parsable format" sacct -n -P -j "$C" -o JobID,State,ExitCode

poll 240 "job $E to reach its time limit" sq_state "$E" TIMEOUT
rec slurm/squeue.timeout "ended by its 1-minute time limit" squeue -h -t all -j "$E" -o "$F"
rec slurm/scontrol.show-job.timeout "ended by its 1-minute time limit" scontrol show job "$E"
rec slurm/squeue.all-finished "every job of this run, all finished (-t all, no -j)" squeue -h -t all -o "$F"

# ---------------------------------------------------------------------------------------------
# PBS-style wrappers (slurm-wlm-torque) over the same Slurm
(
  PATH=$CREW_TB_PBS_BIN:$PATH
  printf '#!/bin/bash\n#PBS -N pbsjob\n#PBS -l nodes=1:ppn=%s\nsleep 600\n' "$cpus" > hold.pbs
  printf '#!/bin/bash\n#PBS -N pbsquick\necho quick\n' > quick.pbs
  printf '#!/bin/bash\n#PBS -N pbsfail\nexit 3\n' > fail.pbs
  rec pbs/qsub.normal "submission accepted (job then runs)" qsub hold.pbs
  T1=$(tr -dc 0-9 < "$R/pbs/qsub.normal.stdout")
  poll 60 "job $T1 to run" sq_state "$T1" RUNNING
  T2=$(qsub quick.pbs)
  poll 30 "job $T2 to pend" sq_state "$T2" PENDING
  rec pbs/qstat.default "one running (R), one queued (Q) and older completed (C) jobs" qstat
  rec pbs/qstat.ids "running and queued jobs by id" qstat "$T1" "$T2"
  rec pbs/qstat-a.ids "wide format (-a), running and queued" qstat -a "$T1" "$T2"
  rec pbs/qstat-f.running "full format, running" qstat -f "$T1"
  rec pbs/qstat-f.queued "full format, queued" qstat -f "$T2"
  rec pbs/qdel.running "delete a running job" qdel "$T1"
  poll 30 "job $T1 to be CANCELLED" sq_state "$T1" CANCELLED
  poll 60 "job $T2 to complete" sq_state "$T2" COMPLETED
  T3=$(qsub fail.pbs)
  poll 60 "job $T3 to fail" sq_state "$T3" FAILED
  rec pbs/qstat.finished "completed (exit 0), deleted and failed (exit 3) jobs by id" qstat "$T2" "$T1" "$T3"
  rec pbs/qstat-f.completed "full format, completed (exit 0)" qstat -f "$T2"
  rec pbs/qstat-f.deleted "full format, deleted while running" qstat -f "$T1"
  rec pbs/qstat-f.failed "full format, failed (exit 3)" qstat -f "$T3"
  rec pbs/qstat.unknown-id "unknown job id" qstat 999999
  rec pbs/qstat-f.unknown-id "unknown job id, full format" qstat -f 999999
  rec pbs/qdel.finished "delete a completed job" qdel "$T2"
  rec pbs/qdel.unknown-id "unknown job id" qdel 999999
  rec pbs/qsub.bad-queue "rejected: unknown queue" qsub -q nosuch quick.pbs
  rec pbs/qsub.too-many-cpus "rejected: more CPUs than exist" qsub -l nodes=1:ppn=$((cpus * 2)) quick.pbs
)

# ---------------------------------------------------------------------------------------------
# LSF shim over the same Slurm (what the shim prints; see recorded/lsf-real for a real LSF)
(
  PATH=$CREW_TB_LSF_BIN:$PATH
  printf '#!/bin/bash\n#BSUB -J lsfhold\n#BSUB -n %s\n#BSUB -W 0:10\nsleep 600\n' "$cpus" > hold.lsf
  rec lsf-shim/bsub.stdin-default-queue "bsub < script, no -q (the job then runs)" sh -c 'bsub < hold.lsf'
  L1=$(sed 's/^Job <\([0-9]*\)>.*/\1/' "$R/lsf-shim/bsub.stdin-default-queue.stdout")
  poll 60 "job $L1 to run" sq_state "$L1" RUNNING
  rec lsf-shim/bsub.queue "a command, -q short (the job pends)" bsub -q short -J lsfwait -n 1 sleep 1
  L2=$(sed 's/^Job <\([0-9]*\)>.*/\1/' "$R/lsf-shim/bsub.queue.stdout")
  rec lsf-shim/bsub.bad-queue "rejected: unknown queue" bsub -q nosuch sleep 1
  rec lsf-shim/bsub.too-many-slots "rejected: more slots than exist" bsub -n $((cpus * 2)) sleep 1
  rec lsf-shim/bjobs.default "running and pending" bjobs
  rec lsf-shim/bjobs.o-noheader "-o with -noheader, running and pending" bjobs -noheader -o 'jobid stat exit_code queue' "$L1" "$L2"
  rec lsf-shim/bjobs.with-unknown "a list with one unknown id" bjobs "$L1" 999999
  rec lsf-shim/bkill.running "kill a running job" bkill "$L1"
  poll 30 "job $L1 to be CANCELLED" sq_state "$L1" CANCELLED
  poll 60 "job $L2 to complete" sq_state "$L2" COMPLETED
  L3=$(bsub -J lsffail exit 3 | sed 's/^Job <\([0-9]*\)>.*/\1/')
  poll 60 "job $L3 to fail" sq_state "$L3" FAILED
  rec lsf-shim/bjobs.finished "killed (EXIT), done (DONE), failed with exit 3 (EXIT)" bjobs "$L1" "$L2" "$L3"
  rec lsf-shim/bjobs.o-finished "-o with exit codes, finished jobs" bjobs -o "jobid stat exit_code delimiter=','" "$L1" "$L2" "$L3"
  rec lsf-shim/bjobs.no-unfinished "no unfinished job" bjobs
  rec lsf-shim/bjobs.unknown-id "unknown job id" bjobs 999999
  rec lsf-shim/bkill.finished "kill a finished job" bkill "$L2"
  rec lsf-shim/bkill.unknown-id "unknown job id" bkill 999999
)

# ---------------------------------------------------------------------------------------------
# SGE
sge_state() { qstat 2> /dev/null | awk -v j="$1" -v s="$2" '$1 == j && $5 == s { f = 1 } END { exit !f }'; }
sge_gone() { ! qstat -u '*' 2> /dev/null | awk -v j="$1" '$1 == j { f = 1 } END { exit !f }'; }
printf '#!/bin/bash\n#$ -N sgejob\n#$ -cwd\n#$ -S /bin/bash\nsleep 600\n' > hold.sge
printf '#!/bin/bash\n#$ -N sgequick\n#$ -cwd\n#$ -S /bin/bash\necho quick\n' > quick.sge
printf '#!/bin/bash\n#$ -N sgefail\n#$ -cwd\n#$ -S /bin/bash\nexit 3\n' > fail.sge
rec sge/qsub.normal "submission accepted (job then runs, all slots)" qsub -pe mpi "$cpus" hold.sge
S1=$(sed 's/^Your job \([0-9]*\) .*/\1/' "$R/sge/qsub.normal.stdout")
poll 60 "SGE job $S1 to run" sge_state "$S1" r
rec sge/qsub.terse "submission accepted, -terse (job then waits)" qsub -terse quick.sge
S2=$(tr -dc 0-9 < "$R/sge/qsub.terse.stdout")
S3=$(qsub -terse -h quick.sge)
S4=$(qsub -terse -o /nonexistent/dir/out quick.sge)
rec sge/qsub.bad-queue "rejected: unknown queue" qsub -q nosuch.q quick.sge
rec sge/qsub.bad-pe "rejected: unknown parallel environment" qsub -pe nosuch 2 quick.sge
rec sge/qsub.too-many-slots "more slots than the PE has" qsub -pe mpi $((cpus * 2)) quick.sge
S5=$(sed -n 's/^Your job \([0-9]*\) .*/\1/p' "$R/sge/qsub.too-many-slots.stdout")
rec sge/qsub.too-many-slots-w-e "rejected: more slots than the PE has, with -w e (verify)" qsub -w e -pe mpi $((cpus * 2)) quick.sge
poll 30 "SGE job $S2 to wait (qw)" sge_state "$S2" qw
poll 30 "SGE job $S3 to be held (hqw)" sge_state "$S3" hqw
rec sge/qstat.running-pending-held "running (r), pending (qw), held (hqw)" qstat
rec sge/qstat-u-all "all users" qstat -u '*'
rec sge/qstat-xml "XML output, running, pending, held" qstat -xml
rec sge/qstat-j.running "details of a running job" qstat -j "$S1"
rec sge/qstat-j.pending "details of a pending job" qstat -j "$S2"
rec sge/qstat-f "queue view with the jobs" qstat -f
rec sge/qdel.running "delete a running job" qdel "$S1"
if tb_wait 10 "SGE job $S1 to show dr" sge_state "$S1" dr; then
  rec sge/qstat.deleting "deleting (dr)" qstat
else
  echo "note: job $S1 left without showing state dr; no qstat.deleting recorded"
fi
poll 30 "SGE job $S1 to leave" sge_gone "$S1"
qdel "$S3" > /dev/null
[ -n "$S5" ] && qdel "$S5" > /dev/null 2>&1 || true
poll 60 "SGE job $S2 to finish" sge_gone "$S2"
S6=$(qsub -terse fail.sge)
poll 60 "SGE job $S6 to finish" sge_gone "$S6"
if tb_wait 30 "SGE job $S4 to be in error (Eqw)" sge_state "$S4" Eqw; then
  rec sge/qstat.error "error state (Eqw): its -o file's directory does not exist" qstat
  rec sge/qstat-j.error "details of a job in error state (Eqw)" qstat -j "$S4"
  rec sge/qdel.error "delete a job in error state" qdel "$S4"
else
  echo "note: job $S4 did not reach Eqw; state now: $(qstat | awk -v j="$S4" '$1 == j {print $5}')"
  qdel "$S4" > /dev/null 2>&1 || true
fi
rec sge/qstat.empty "no jobs" qstat
rec sge/qstat-s-z "finished jobs that qmaster still remembers (-s z)" qstat -s z
rec sge/qstat-j.unknown-id "unknown (or finished) job id" qstat -j 999999
rec sge/qstat-j.finished "a finished job" qstat -j "$S2"
poll 30 "qacct to know job $S2" qacct -j "$S2"
rec sge/qacct-j.completed "accounting of a completed job (exit 0)" qacct -j "$S2"
rec sge/qacct-j.failed "accounting of a job that exited 3" qacct -j "$S6"
rec sge/qacct-j.deleted "accounting of a job deleted while running" qacct -j "$S1"
rec sge/qacct-j.unknown-id "unknown job id" qacct -j 999999
rec sge/qdel.unknown-id "unknown job id" qdel 999999
rec sge/qdel.finished "a finished job" qdel "$S2"

# ---------------------------------------------------------------------------------------------
{
  cat <<'EOF'
# Recorded scheduler output

Written by `../record.sh` from the REAL daemons of the testbed (`../slurm-up.sh`: Slurm 22.05
with slurm-wlm-torque's PBS wrappers; `../sge-up.sh`: Son of Grid Engine 8.1.9), except
`lsf-shim/` (what the testbed's LSF shim prints) and `lsf-real/` (public samples of a real LSF,
below). For each command and situation: `NAME.stdout` holds exactly what the command printed on
standard output (raw bytes, possibly empty) and `NAME.stderr`, when present, what it printed on
standard error. Regenerate with `tests/schedulers/record.sh` (2 to 4 minutes).

Context of the run: one node `localhost` (hostname `vm`), `nproc` CPUs = SLOTS, user root;
Slurm partitions `debug` (default) and `short` (MaxTime 2 min), no accounting; SGE queue
`all.q` and PE `mpi`. Job ids, times and the host name are those of the recording run.
The squeue format used is `%i|%T|%r|%L|%e` (id|state|reason|time left|end time).

| file | command | situation | exit status | date |
|---|---|---|---|---|
EOF
  while IFS=$'\t' read -r name cmd situation rc date; do
    files="\`$name.stdout\`"
    [ -e "$R/$name.stderr" ] && files+=" \`$name.stderr\`"
    printf '| %s | `%s` | %s | %s | %s |\n' "$files" "${cmd//|/\\|}" "$situation" "$rc" "$date"
  done < "$index"
  echo
  cat "$R/lsf-real/SOURCES.md"
} > "$R/README.md"
sed -i "s/= SLOTS,/= $cpus,/" "$R/README.md"
echo "record.sh: wrote $(wc -l < "$index") recordings and $R/README.md"
