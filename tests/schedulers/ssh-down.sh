#!/usr/bin/env bash
# ssh-down.sh: removes the two fake hosts of ssh-up.sh: stops every process still inside their
# network namespaces (test leftovers such as orted or crew engines; SIGTERM, SIGKILL after
# 10 s), stops both sshd by PID, waits until all are gone, deletes the namespaces (which
# deletes the veth pair) and their /etc/netns/<ns>; the names are those ssh-up.sh wrote in
# $CREW_TESTBED_ROOT/ssh/netns_{a,b}, so other testbeds' namespaces are never touched. Keys and configs in
# $CREW_TESTBED_ROOT/ssh are kept for the next ssh-up.sh. Idempotent.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
tb_need_root "$@"

D=$TB/ssh
status=0 did=0
for h in a b; do
  ns=$(cat "$D/netns_$h" 2> /dev/null || true)
  sshd=$(tb_pid_from "$D/sshd_$h.pid" sshd || true)
  others=()
  if [ -n "$ns" ] && ip netns list | grep -qw "$ns"; then
    for p in $(ip netns pids "$ns" 2> /dev/null || true); do
      [ "$p" = "$sshd" ] || others+=("$p")
    done
  fi
  for p in "${others[@]}"; do
    echo "$TB_NAME: stopping leftover process $p on host$h: $(tr '\0' ' ' < "/proc/$p/cmdline" 2> /dev/null | cut -c1-80)"
    kill -TERM "$p" 2> /dev/null || true
  done
  for p in "${others[@]}"; do
    tb_wait 10 "process $p to exit" tb_gone "$p" || { kill -KILL "$p" 2> /dev/null || true; tb_wait 5 "process $p to exit" tb_gone "$p" || status=1; }
  done
  [ -n "$sshd" ] && { did=1; tb_stop_pid "$sshd" "sshd of host$h" 10 || status=1; }
  rm -f "$D/sshd_$h.pid"
  if [ -n "$ns" ]; then
    if ip netns list | grep -qw "$ns"; then did=1; ip netns del "$ns" || status=1; fi
    rm -rf "/etc/netns/$ns"
    [ $status -ne 0 ] || rm -f "$D/netns_$h"
  fi
done
rmdir /etc/netns 2> /dev/null || true
[ $status -eq 0 ] || tb_die "some processes did not stop or a namespace could not be deleted (see above)"
if [ $did -eq 0 ]; then tb_say "nothing was running"; else tb_say "down"; fi
