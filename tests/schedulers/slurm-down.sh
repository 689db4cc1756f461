#!/usr/bin/env bash
# slurm-down.sh: stops the private Slurm of slurm-up.sh: cancels its jobs, stops slurmd,
# slurmctld and munged by their PID files (SIGTERM, waiting until each is gone; SIGKILL after
# 20 s), then empties its state, spool and node-file directories. Idempotent: does nothing when
# nothing runs. Touches no Slurm or munge that it did not start.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
tb_need_root "$@"

S=$TB/slurm
M=$TB/munge
export SLURM_CONF=$S/etc/slurm.conf

ctld=$(tb_pid_from "$S/run/slurmctld.pid" slurmctld || true)
slurmd=$(tb_pid_from "$S/run/slurmd.pid" slurmd || true)
munged=$(tb_pid_from "$M/munged.pid" munged || true)
status=0

# Jobs first, while both daemons can still end them (proctrack/linuxproc leaves a job's
# processes running when slurmd alone is stopped).
if [ -n "$ctld" ] && [ -n "$slurmd" ]; then
  jobs=$(squeue -h -t PD,R,S,CG,CF -o %i 2>/dev/null || true)
  if [ -n "$jobs" ]; then
    # shellcheck disable=SC2086
    scancel $jobs 2>/dev/null || true
    no_jobs() { [ -z "$(squeue -h -t R,S,CG,CF -o %i 2>/dev/null)" ]; }
    tb_wait 30 "jobs to end after scancel" no_jobs || status=1
  fi
fi

# slurmstepd processes of our jobs (their spool sockets are under $S/spool)
steps=()
for p in $(pgrep -x slurmstepd || true); do
  grep -qF "$S/" "/proc/$p/environ" "/proc/$p/cmdline" 2>/dev/null && steps+=("$p")
done

[ -n "$slurmd" ] && { tb_stop_pid "$slurmd" slurmd || status=1; }
[ -n "$ctld" ] && { tb_stop_pid "$ctld" slurmctld || status=1; }
for p in "${steps[@]}"; do tb_pid_is "$p" slurmstepd && { tb_stop_pid "$p" slurmstepd || status=1; }; done
[ -n "$munged" ] && { tb_stop_pid "$munged" munged || status=1; }

rm -rf "${S:?}"/state/* "${S:?}"/spool/* "${S:?}"/aux/* "$S"/run/*.pid
[ $status -eq 0 ] || tb_die "some processes did not stop (see above)"
if [ -z "$ctld$slurmd$munged" ]; then tb_say "nothing was running"; else tb_say "down"; fi
