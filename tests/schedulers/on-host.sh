#!/usr/bin/env bash
# on-host.sh a|b COMMAND [ARGS...]: runs COMMAND on the fake host hosta or hostb of ssh-up.sh,
# i.e. in the network, UTS (hostname) and mount (/etc/hosts) namespaces of that host's sshd,
# in the current directory, with the caller's environment; exits with COMMAND's status.
# Needs root (nsenter); re-runs itself with sudo otherwise.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
[ $# -ge 2 ] && [[ $1 == [ab] ]] || tb_die "usage: on-host.sh a|b COMMAND [ARGS...]"
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo > /dev/null || tb_die "must run as root, and sudo is not installed"
  exec sudo --preserve-env "$0" "$@"
fi
pid=$(tb_pid_from "$TB/ssh/sshd_$1.pid" sshd) || tb_die "host$1 is not up: run ssh-up.sh"
exec nsenter --target "$pid" --net --uts --mount --wd="$PWD" -- "${@:2}"
