#!/usr/bin/env bash
# sge-down.sh: stops the private SGE of sge-up.sh: deletes its jobs, stops sge_execd and
# sge_qmaster by PID (SIGTERM; SIGKILL if one is still there after 20 / 30 s; waits until
# both processes are gone), then removes the cell "crewtb" ($CREW_TESTBED_ROOT/sge and the
# symlink /var/lib/gridengine/crewtb), so the next sge-up.sh starts from a fresh cell.
# Idempotent. Touches no SGE that it did not start.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
tb_need_root "$@"

tb_sge_environment

qmaster=$(tb_pid_from "$G/qmaster/qmaster.pid" sge_qmaster || true)
execd=$(tb_pid_from "$G/execd/localhost/execd.pid" sge_execd || true)
status=0

no_jobs() { [ -z "$(qstat -u '*' 2> /dev/null)" ]; }
if [ -n "$qmaster" ] && [ -n "$execd" ] && ! no_jobs; then
  qdel -f -u '*' > /dev/null 2>&1 || true
  tb_wait 30 "jobs to leave after qdel" no_jobs || status=1
fi
# sge_shepherd processes of our jobs, if any survived (their cwd is in our execd spool)
shepherds=()
for p in $(pgrep -x sge_shepherd || true); do
  [[ $(readlink "/proc/$p/cwd" 2> /dev/null) == "$G/"* ]] && shepherds+=("$p")
done

# SIGTERM by PID: execd exits in about 1 s, qmaster in about 7 s (a controlled shutdown);
# qconf -ke / -km take longer, as they go through qmaster.
[ -n "$execd" ] && { tb_stop_pid "$execd" sge_execd 20 || status=1; }
for p in "${shepherds[@]}"; do tb_pid_is "$p" sge_shepherd && { tb_stop_pid "$p" sge_shepherd 5 || status=1; }; done
[ -n "$qmaster" ] && { tb_stop_pid "$qmaster" sge_qmaster 30 || status=1; }

[ $status -eq 0 ] || tb_die "some processes did not stop (see above); $G left in place"
[ -L "$cell" ] && rm -f "$cell"
rm -rf "$G"
if [ -z "$qmaster$execd" ]; then tb_say "nothing was running"; else tb_say "down"; fi
