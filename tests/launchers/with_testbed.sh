#!/usr/bin/env bash
# with_testbed.sh LAUNCHER COMMAND...: runs COMMAND where LAUNCHER's scheduler answers: the
# testbed's environment (tests/schedulers/env.sh), PBS's and LSF's commands first on PATH, and a
# check that the testbed runs, failing with the reason if it does not.
set -euo pipefail
launcher=$1; shift
source "$(dirname "${BASH_SOURCE[0]}")/../schedulers/env.sh"
case $launcher in
  slurm) crewtb_slurm_up || { echo "with_testbed: the testbed's Slurm is not running (tests/schedulers/slurm-up.sh)" >&2; exit 1; } ;;
  pbs)   crewtb_slurm_up || { echo "with_testbed: the testbed's Slurm (under the PBS wrappers) is not running" >&2; exit 1; }
         PATH=$(crewtb_pbs_path) ;;
  lsf)   crewtb_slurm_up || { echo "with_testbed: the testbed's Slurm (under the LSF shim) is not running" >&2; exit 1; }
         PATH=$(crewtb_lsf_path) ;;
  sge)   crewtb_sge_up || { echo "with_testbed: the testbed's Grid Engine is not running (tests/schedulers/sge-up.sh)" >&2; exit 1; } ;;
  ssh)   crewtb_ssh_up || { echo "with_testbed: the testbed's ssh hosts are not up (tests/schedulers/ssh-up.sh)" >&2; exit 1; }
         export CREW_TB_SSH_BIN CREW_TB_SCRIPTS
         # The cluster runs on host A (10.200.0.1), whose only other host is B.
         exec "$CREW_TB_SCRIPTS/on-host.sh" a "$@" ;;
  *) echo "with_testbed: unknown launcher $launcher" >&2; exit 2 ;;
esac
export PATH
exec "$@"
