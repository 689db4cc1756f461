#!/usr/bin/env bash
# ssh-up.sh: two fake hosts for tests of the ssh launcher, each a network namespace with its
# own address, hostname and sshd, joined by a veth pair:
#
#   host "hosta"  netns crewtb-<id>-a  10.200.0.1/24  sshd on 10.200.0.1:22   (the controller's side)
#   host "hostb"  netns crewtb-<id>-b  10.200.0.2/24  sshd on 10.200.0.2:22
#
# <id> is new at each bring-up and kept in $CREW_TESTBED_ROOT/ssh/netns_{a,b}, and the veth pair
# is made inside the namespaces, so two testbeds (two CI runs on one kernel, each with its own
# CREW_TESTBED_ROOT) never meet over a name, and ssh-down.sh deletes only its own namespaces.
# Both ends are namespaces, so the two hosts see only each other (and their own loopback),
# never the machine's root namespace, and the controller on hosta is reachable from hostb at
# 10.200.0.1. Inside the namespaces /etc/hosts is /etc/netns/<ns>/hosts (localhost, hosta,
# hostb), so both names resolve on both hosts. A command runs "on host A" with
#   tests/schedulers/on-host.sh a COMMAND...     (or crewtb_on_host a COMMAND... from env.sh)
# which enters hosta's network, UTS and mount namespaces (nsenter; root needed) in the
# current directory; the file system is the machine's, so binaries and the build tree are the
# same on both hosts. ssh between them uses the testbed's own key, host key, known_hosts and
# config in $CREW_TESTBED_ROOT/ssh (not ~/.ssh, not /etc/ssh):
#   ssh -F $CREW_TESTBED_ROOT/ssh/ssh_config hostb CMD,  or  $CREW_TESTBED_ROOT/ssh/bin/ssh hostb CMD
# Ready = from hosta, `ssh hostb hostname` prints hostb and `ssh hosta hostname` prints hosta;
# on a fresh start it also checks that one mpirun spans both hosts (prints hosta and hostb),
# unless CREW_TB_SSH_SKIP_MPI_CHECK=1. Idempotent: when it is already up it only checks ssh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
tb_need_root "$@"

D=$TB/ssh
id=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
ns_a=crewtb-$id-a ns_b=crewtb-$id-b
addr_a=10.200.0.1 addr_b=10.200.0.2
for b in ip sshd ssh ssh-keygen nsenter unshare; do
  command -v "$b" > /dev/null || [ -x "/usr/sbin/$b" ] || tb_die "$b not found: run install.sh first"
done

on() { # on a|b COMMAND...: run in that host's namespaces (those of its sshd)
  local pid
  pid=$(tb_pid_from "$D/sshd_$1.pid" sshd) || { echo "$TB_NAME: sshd of host$1 is not running" >&2; return 1; }
  nsenter --target "$pid" --net --uts --mount --wd="$PWD" -- "${@:2}"
}
ssh_hostname_is() { [ "$(on "$1" ssh -F "$D/ssh_config" "$2" hostname 2> /dev/null)" = "$2" ]; }
mpi_check() {
  local out
  out=$(on a env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
    mpirun --mca plm_rsh_agent "$D/bin/ssh" --mca btl self,tcp \
           --mca btl_tcp_if_include 10.200.0.0/24 --mca oob_tcp_if_include 10.200.0.0/24 \
           -H hosta,hostb -n 2 hostname 2>&1) || { echo "$out" >&2; return 1; }
  [ "$(printf '%s\n' "$out" | sort | paste -sd' ')" = "hosta hostb" ] ||
    { echo "$TB_NAME: mpirun over hosta,hostb printed: $out" >&2; return 1; }
}
check() { # check [mpi]
  tb_wait 20 "ssh from hosta to hostb" ssh_hostname_is a hostb || return 1
  tb_wait 20 "ssh from hosta to hosta" ssh_hostname_is a hosta || return 1
  tb_wait 20 "ssh from hostb to hosta" ssh_hostname_is b hosta || return 1
  if [ "${1:-}" = mpi ] && [ "${CREW_TB_SSH_SKIP_MPI_CHECK:-0}" != 1 ]; then
    command -v mpirun > /dev/null || { echo "$TB_NAME: mpirun not found (openmpi-bin)" >&2; return 1; }
    mpi_check || return 1
  fi
}

a=$(tb_pid_from "$D/sshd_a.pid" sshd || true)
b=$(tb_pid_from "$D/sshd_b.pid" sshd || true)
if [ -n "$a" ] && [ -n "$b" ]; then
  check || tb_die "the hosts are up (sshd $a, $b) but the checks above failed"
  tb_say "already up: hosta ($addr_a, sshd $a), hostb ($addr_b, sshd $b)"
  exit 0
fi
[ -z "$a$b" ] || tb_die "half up (sshd a '$a', b '$b'): run ssh-down.sh first"
for h in a b; do
  [ ! -s "$D/netns_$h" ] || ! ip netns list | grep -qw "$(cat "$D/netns_$h")" ||
    tb_die "host$h's network namespace $(cat "$D/netns_$h") is left from an earlier run: run ssh-down.sh first"
done
for ns in $ns_a $ns_b; do
  ! ip netns list | grep -qw "$ns" || tb_die "network namespace $ns exists already (a chance in 2^24): run ssh-up.sh again"
done

# --- keys and configs (kept between runs) ----------------------------------------------------
mkdir -p /run/sshd   # sshd's privilege separation directory (sshd -t checks it too)
mkdir -p "$D/bin"
chmod 755 "$D"
[ -s "$D/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C crew-testbed -f "$D/id_ed25519"
[ -s "$D/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C crew-testbed-host -f "$D/ssh_host_ed25519_key"
cp "$D/id_ed25519.pub" "$D/authorized_keys"
echo "hosta,$addr_a,hostb,$addr_b $(cut -d' ' -f1,2 "$D/ssh_host_ed25519_key.pub")" > "$D/known_hosts"
chmod 600 "$D/id_ed25519" "$D/ssh_host_ed25519_key"
chmod 644 "$D/authorized_keys" "$D/known_hosts"
cat > "$D/ssh_config" <<EOF
# crew testbed (written by tests/schedulers/ssh-up.sh): use as ssh -F $D/ssh_config
Host hosta
  HostName $addr_a
Host hostb
  HostName $addr_b
Host *
  User root
  IdentityFile $D/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $D/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 10
  LogLevel ERROR
EOF
cat > "$D/bin/ssh" <<EOF
#!/bin/sh
# ssh with the crew testbed's config: put this directory first on PATH, or use it as
# OpenMPI's plm_rsh_agent.
exec /usr/bin/ssh -F $D/ssh_config "\$@"
EOF
chmod 755 "$D/bin/ssh"
for h in a b; do
  if [ $h = a ]; then addr=$addr_a; else addr=$addr_b; fi
  cat > "$D/sshd_config_$h" <<EOF
# sshd of host$h in the crew testbed (written by tests/schedulers/ssh-up.sh)
ListenAddress $addr:22
HostKey $D/ssh_host_ed25519_key
PidFile $D/sshd_$h.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
AuthorizedKeysFile $D/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
X11Forwarding no
PrintMotd no
AcceptEnv LANG LC_* OMPI_* CREW_*
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
  /usr/sbin/sshd -t -f "$D/sshd_config_$h" || tb_die "sshd rejects $D/sshd_config_$h"
done

# --- namespaces, addresses, names --------------------------------------------------------------
for ns in $ns_a $ns_b; do
  mkdir -p "/etc/netns/$ns"
  printf '127.0.0.1\tlocalhost\n%s\thosta\n%s\thostb\n' "$addr_a" "$addr_b" > "/etc/netns/$ns/hosts"
  ip netns add "$ns"
  ip -n "$ns" link set lo up
done
echo "$ns_a" > "$D/netns_a"
echo "$ns_b" > "$D/netns_b"
ip link add crewtb-va netns "$ns_a" type veth peer name crewtb-vb netns "$ns_b"
ip -n $ns_a addr add $addr_a/24 dev crewtb-va
ip -n $ns_b addr add $addr_b/24 dev crewtb-vb
ip -n $ns_a link set crewtb-va up
ip -n $ns_b link set crewtb-vb up

# --- sshd on each host, in its own UTS namespace (so `hostname` there is hosta / hostb) -------
rm -f "$D"/sshd_?.pid
for h in a b; do
  if [ $h = a ]; then ns=$ns_a; else ns=$ns_b; fi
  ip netns exec "$ns" unshare --uts sh -c "hostname host$h && exec /usr/sbin/sshd -f '$D/sshd_config_$h'" ||
    tb_die "sshd of host$h did not start"
  tb_wait 10 "sshd of host$h to write its PID file" tb_pid_from "$D/sshd_$h.pid" sshd ||
    tb_die "sshd of host$h is not running"
done

check mpi || tb_die "the hosts did not become ready (see above); run ssh-down.sh to clean up"
tb_say "up: hosta ($addr_a, netns $ns_a, sshd $(cat "$D/sshd_a.pid")), hostb ($addr_b, netns $ns_b," \
       "sshd $(cat "$D/sshd_b.pid")); ssh -F $D/ssh_config; run on a host with on-host.sh a|b CMD"
