# shellcheck shell=bash disable=SC2034
# env.sh: source this (bash) to talk to the testbed's schedulers:
#
#   source tests/schedulers/env.sh
#
# Exports:
#   CREW_TESTBED_ROOT     the testbed root (default /opt/crew-testbed)
#   SLURM_CONF            the private Slurm's config: sbatch, squeue, scontrol, scancel, srun,
#                         sinfo talk to it (and the PBS wrappers and the LSF shim, which call them)
#   SGE_ROOT SGE_CELL SGE_QMASTER_PORT SGE_EXECD_PORT
#                         the private SGE cell "crewtb": /usr/bin/qsub, qstat, qdel, qacct
#                         talk to it
# Sets (not exported) and provides:
#   CREW_TB_PBS_BIN       directory of the PBS/Torque-style qsub, qstat, qdel (wrappers over
#                         Slurm); put it FIRST on PATH for PBS tests:  PATH=$CREW_TB_PBS_BIN:$PATH
#   CREW_TB_LSF_BIN       directory of the LSF-style bsub, bjobs, bkill (shim over Slurm); put it
#                         first on PATH for LSF tests:              PATH=$CREW_TB_LSF_BIN:$PATH
#   CREW_TB_SSH_BIN       directory with an `ssh` that uses the testbed's key and config; put it
#                         first on PATH where a program runs plain `ssh` to hosta/hostb
#   CREW_TB_SSH_CONFIG    the ssh config file (ssh -F "$CREW_TB_SSH_CONFIG" hostb CMD)
#   CREW_TB_MPI_SSH_ARGS  OpenMPI options for a two-host mpirun over hosta/hostb (an array)
#   crewtb_pbs_path / crewtb_lsf_path   print PATH with that directory first:
#                         PATH=$(crewtb_pbs_path) qsub job.sh
#   crewtb_on_host a|b COMMAND...       run COMMAND on hosta / hostb (root; see ssh-up.sh)
#   crewtb_slurm_up / crewtb_sge_up / crewtb_ssh_up
#                         true when that testbed is running (its daemons' PID files are live)
# SGE's real qsub stays /usr/bin/qsub, so without a PATH change qsub means SGE.
# Nothing here starts or stops anything.

CREW_TESTBED_ROOT=${CREW_TESTBED_ROOT:-/opt/crew-testbed}
export CREW_TESTBED_ROOT
export SLURM_CONF=$CREW_TESTBED_ROOT/slurm/etc/slurm.conf
export SGE_ROOT=/var/lib/gridengine SGE_CELL=crewtb
export SGE_QMASTER_PORT=${CREW_TB_SGE_QMASTER_PORT:-16444} SGE_EXECD_PORT=${CREW_TB_SGE_EXECD_PORT:-16445}
CREW_TB_PBS_BIN=$CREW_TESTBED_ROOT/torque/bin
CREW_TB_LSF_BIN=$CREW_TESTBED_ROOT/lsf/bin
CREW_TB_SSH_BIN=$CREW_TESTBED_ROOT/ssh/bin
CREW_TB_SSH_CONFIG=$CREW_TESTBED_ROOT/ssh/ssh_config
CREW_TB_MPI_SSH_ARGS=(--mca plm_rsh_agent "$CREW_TB_SSH_BIN/ssh" --mca btl "self,tcp"
  --mca btl_tcp_if_include 10.200.0.0/24 --mca oob_tcp_if_include 10.200.0.0/24)
CREW_TB_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

crewtb_pbs_path() { echo "$CREW_TB_PBS_BIN:$PATH"; }
crewtb_lsf_path() { echo "$CREW_TB_LSF_BIN:$PATH"; }
crewtb_on_host() { "$CREW_TB_SCRIPTS/on-host.sh" "$@"; }

_crewtb_live() { # _crewtb_live PIDFILE NAME
  local pid
  pid=$(head -n1 "$1" 2> /dev/null | tr -dc '0-9')
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2> /dev/null)" = "$2" ]
}
crewtb_slurm_up() {
  _crewtb_live "$CREW_TESTBED_ROOT/slurm/run/slurmctld.pid" slurmctld &&
    _crewtb_live "$CREW_TESTBED_ROOT/slurm/run/slurmd.pid" slurmd
}
crewtb_sge_up() {
  _crewtb_live "$CREW_TESTBED_ROOT/sge/qmaster/qmaster.pid" sge_qmaster &&
    _crewtb_live "$CREW_TESTBED_ROOT/sge/execd/localhost/execd.pid" sge_execd
}
crewtb_ssh_up() {
  _crewtb_live "$CREW_TESTBED_ROOT/ssh/sshd_a.pid" sshd && _crewtb_live "$CREW_TESTBED_ROOT/ssh/sshd_b.pid" sshd
}
