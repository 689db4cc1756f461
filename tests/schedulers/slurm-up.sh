#!/usr/bin/env bash
# slurm-up.sh: starts a PRIVATE one-node Slurm (munged + slurmctld + slurmd) for tests, and
# waits until `sinfo` shows the node idle. Idempotent: when it is already up it only checks.
#
# Private means: nothing under /etc/slurm or /run/munge is read or written. Config, state,
# spool, logs, PID files and a munge key of its own live in $CREW_TESTBED_ROOT/{slurm,munge};
# the daemons get the config with -f, clients with SLURM_CONF (source env.sh); ports are
# 16817 (slurmctld) and 16818 (slurmd), and munged listens on its own socket, so a real Slurm
# or munge on the machine is neither used nor disturbed.
#
# The cluster: node "localhost" with CPUs = nproc, RealMemory 1000 MB; partitions
#   debug  (default, no time limit)
#   short  (MaxTime 2 minutes; a longer --time is rejected at submission)
# EnforcePartLimits=ALL, so a job that can never run (too many CPUs, too long) is rejected by
# sbatch at once instead of pending forever. No accounting (sacct does not work). Finished jobs
# stay visible to `squeue -t all` and `scontrol show job` for MinJobAge = 600 s.
# Every job gets PBS_* variables (spank_pbs) and PBS_NODEFILE (TaskProlog); jobs submitted by
# the LSF shim (CREW_TB_SCHED=lsf in their environment) get LSB_* variables instead and lose
# SLURM_* (except SLURM_CONF) and PBS_*, so they look like LSF jobs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
tb_need_root "$@"

S=$TB/slurm
M=$TB/munge
conf=$S/etc/slurm.conf
export SLURM_CONF=$conf
ctld_port=${CREW_TB_SLURMCTLD_PORT:-16817}
slurmd_port=${CREW_TB_SLURMD_PORT:-16818}

for b in munged mungekey slurmctld slurmd sinfo scontrol; do
  command -v "$b" > /dev/null || [ -x "/usr/sbin/$b" ] || tb_die "$b not found: run install.sh first"
done
spank_pbs=$(ls /usr/lib/*/slurm-wlm/spank_pbs.so 2>/dev/null | head -n1)
[ -n "$spank_pbs" ] || tb_die "spank_pbs.so not found (package slurm-wlm-basic-plugins): run install.sh first"

node_idle() { sinfo -h -n localhost -o %T 2>/dev/null | grep -qx 'idle'; }

ctld=$(tb_pid_from "$S/run/slurmctld.pid" slurmctld || true)
slurmd=$(tb_pid_from "$S/run/slurmd.pid" slurmd || true)
if [ -n "$ctld" ] && [ -n "$slurmd" ]; then
  tb_wait 30 "the node to be idle" node_idle || tb_die "Slurm is running (slurmctld $ctld, slurmd $slurmd) but the node is not idle: $(sinfo -h -o '%T %E' 2>&1)"
  tb_say "already up (slurmctld $ctld, slurmd $slurmd); SLURM_CONF=$conf"
  exit 0
fi
[ -z "$ctld$slurmd" ] || tb_die "half up (slurmctld '${ctld}', slurmd '${slurmd}'): run slurm-down.sh first"

# --- munge ----------------------------------------------------------------------------------
mkdir -p "$M"
chown munge:munge "$M"
chmod 755 "$M"        # clients of any user must reach the socket
if [ ! -s "$M/munge.key" ]; then
  runuser -u munge -- mungekey --create --keyfile="$M/munge.key" ||
    tb_die "mungekey could not create $M/munge.key"
fi
munge_pid=$(tb_pid_from "$M/munged.pid" munged || true)
if [ -z "$munge_pid" ]; then
  rm -f "$M/munge.socket.2" "$M/munge.socket.2.lock"
  runuser -u munge -- /usr/sbin/munged --socket="$M/munge.socket.2" --key-file="$M/munge.key" \
    --pid-file="$M/munged.pid" --log-file="$M/munged.log" --seed-file="$M/munged.seed" ||
    tb_die "munged did not start; see $M/munged.log"
fi
munge_ok() { munge -S "$M/munge.socket.2" -n | unmunge -S "$M/munge.socket.2"; }
tb_wait 10 "munged to answer on $M/munge.socket.2" munge_ok || tb_die "munged does not answer; see $M/munged.log"

# --- config ---------------------------------------------------------------------------------
mkdir -p "$S"/{etc,state,spool,log,run,aux}
chmod 1777 "$S/aux"   # node files written by the TaskProlog, which runs as the job's user
# CREW_TB_SLURM_CPUS: a node with more CPUs than the machine has (benchmarks of large starts,
# e.g. bench/launcher_bench.sh STARTUP=4x64); Slurm is told to trust the config over the hardware.
cpus=${CREW_TB_SLURM_CPUS:-$(nproc)}
overrides=
[ "$cpus" -gt "$(nproc)" ] && overrides="SlurmdParameters=config_overrides"
cat > "$conf" <<EOF
# crew scheduler testbed: private one-node Slurm (written by tests/schedulers/slurm-up.sh)
ClusterName=crewtb
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$M/munge.socket.2
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/run/slurmctld.pid
SlurmdPidFile=$S/run/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$S/etc/plugstack.conf
TaskProlog=$S/etc/task_prolog.sh
# no cgroups anywhere: works in containers
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=100000
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
EnforcePartLimits=ALL
ReturnToService=2
MinJobAge=600
KillWait=5
$overrides
NodeName=localhost CPUs=$cpus RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
PartitionName=short Nodes=localhost MaxTime=00:02:00 State=UP
EOF
echo "required $spank_pbs" > "$S/etc/plugstack.conf"

cat > "$S/etc/task_prolog.sh" <<EOF
#!/bin/bash
# Slurm TaskProlog of the crew testbed (written by slurm-up.sh). Lines "export NAME=VALUE" and
# "unset NAME" on stdout change the task's environment.
#   every job:                PBS_NODEFILE (one line per CPU on each node, like Torque's)
#   LSF-shim jobs (CREW_TB_SCHED=lsf): LSB_JOBID LSB_JOBNAME LSB_QUEUE LSB_HOSTS LSB_MCPU_HOSTS
#       LSB_DJOB_HOSTFILE LSB_DJOB_NUMPROC LSB_SUB_HOST LS_SUBCWD, and no SLURM_* (but
#       SLURM_CONF) nor PBS_*, so that they look like LSF jobs.
[ -n "\${SLURM_JOB_ID:-}" ] && [ -n "\${SLURM_JOB_NODELIST:-}" ] || exit 0
aux=$S/aux
hosts=(\$(SLURM_CONF=$conf scontrol show hostnames "\$SLURM_JOB_NODELIST"))
# SLURM_JOB_CPUS_PER_NODE looks like "2(x3),1": expand it to one count per node
counts=()
IFS=, read -ra parts <<< "\${SLURM_JOB_CPUS_PER_NODE:-\${SLURM_CPUS_ON_NODE:-1}}"
for p in "\${parts[@]}"; do
  if [[ \$p =~ ^([0-9]+)\(x([0-9]+)\)\$ ]]; then
    for ((i = 0; i < BASH_REMATCH[2]; i++)); do counts+=("\${BASH_REMATCH[1]}"); done
  else counts+=("\$p"); fi
done
slots=() mcpu=()
for ((k = 0; k < \${#hosts[@]}; k++)); do
  c=\${counts[k]:-1}
  mcpu+=("\${hosts[k]}" "\$c")
  for ((i = 0; i < c; i++)); do slots+=("\${hosts[k]}"); done
done
nodefile=\$aux/\$SLURM_JOB_ID.nodes
if [ ! -s "\$nodefile" ]; then
  printf '%s\n' "\${slots[@]}" > "\$nodefile.\$\$" && mv -f "\$nodefile.\$\$" "\$nodefile"
fi
if [ "\${CREW_TB_SCHED:-}" = lsf ]; then
  echo "export LSB_JOBID=\$SLURM_JOB_ID"
  echo "export LSB_JOBNAME=\${SLURM_JOB_NAME:-}"
  echo "export LSB_QUEUE=\${SLURM_JOB_PARTITION:-}"
  echo "export LSB_HOSTS=\${slots[*]}"
  echo "export LSB_MCPU_HOSTS=\${mcpu[*]}"
  echo "export LSB_DJOB_HOSTFILE=\$nodefile"
  echo "export LSB_DJOB_NUMPROC=\${#slots[@]}"
  echo "export LSB_SUB_HOST=\${SLURM_SUBMIT_HOST:-}"
  echo "export LS_SUBCWD=\${SLURM_SUBMIT_DIR:-}"
  for v in \$(compgen -e); do
    case \$v in SLURM_CONF) ;; SLURM_*|SLURMD_*|PBS_*) echo "unset \$v" ;; esac
  done
else
  echo "export PBS_NODEFILE=\$nodefile"
fi
exit 0
EOF
chmod 755 "$S/etc/task_prolog.sh"

# --- daemons --------------------------------------------------------------------------------
rm -rf "${S:?}"/state/* "${S:?}"/spool/* "${S:?}"/aux/*
/usr/sbin/slurmctld -f "$conf" -c ||
  tb_die "slurmctld did not start; see $S/log/slurmctld.log"
/usr/sbin/slurmd -f "$conf" -N localhost ||
  tb_die "slurmd did not start; see $S/log/slurmd.log"
if ! tb_wait 30 "the node to be idle" node_idle; then
  echo "--- sinfo:" >&2; sinfo -h -o '%P %T %E' >&2 || true
  echo "--- last lines of $S/log/slurmctld.log and slurmd.log:" >&2
  tail -n 15 "$S/log/slurmctld.log" "$S/log/slurmd.log" >&2 || true
  tb_die "Slurm did not become ready"
fi
tb_say "up: slurmctld $(cat "$S/run/slurmctld.pid"), slurmd $(cat "$S/run/slurmd.pid"), munged $(cat "$M/munged.pid");" \
       "SLURM_CONF=$conf; CPUs=$cpus; partitions debug (default), short"
