# shellcheck shell=bash disable=SC2034
# Shared helpers for the scheduler testbed scripts (sourced, not run). Not for tests: tests
# source env.sh instead.
#
# Everything the testbed creates lives under one root, CREW_TESTBED_ROOT (default
# /opt/crew-testbed), except what the Debian packages themselves own (SGE's
# /var/lib/gridengine and /var/spool/gridengine, /etc/netns/<ns>/hosts for the ssh hosts).

CREW_TESTBED_ROOT=${CREW_TESTBED_ROOT:-/opt/crew-testbed}
TB=$CREW_TESTBED_ROOT
TB_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TB_NAME=$(basename "$0")

tb_die() { echo "$TB_NAME: $*" >&2; exit 1; }
tb_say() { echo "$TB_NAME: $*"; }

# Re-runs the calling script under sudo when not root (like scripts/setup-deps.sh).
tb_need_root() {
  [ "$(id -u)" -eq 0 ] && return 0
  command -v sudo > /dev/null || tb_die "must run as root, and sudo is not installed"
  exec sudo --preserve-env=CREW_TESTBED_ROOT "$0" "$@"
}

# tb_wait SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.1 s until it succeeds; fails
# with DESCRIPTION when SECONDS have passed.
tb_wait() {
  local limit=$1 what=$2; shift 2
  local deadline=$(( $(date +%s%N) + limit * 1000000000 ))
  until "$@" > /dev/null 2>&1; do
    [ "$(date +%s%N)" -lt "$deadline" ] || { echo "$TB_NAME: timed out after ${limit}s waiting for $what" >&2; return 1; }
    sleep 0.1
  done
}

# tb_pid_is PID NAME: true when PID is alive and its command name (/proc/PID/comm) is NAME, so
# that a stale PID file never makes us signal an unrelated process that reused the PID.
tb_pid_is() {
  local pid=$1 name=$2
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "${name:0:15}" ] || return 1
  ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null
}

# tb_pid_from FILE NAME: prints the PID in FILE when that process is alive and is NAME.
tb_pid_from() {
  local f=$1 name=$2 pid
  [ -s "$f" ] || return 1
  pid=$(head -n1 "$f" | tr -dc '0-9')
  tb_pid_is "$pid" "$name" || return 1
  echo "$pid"
}

tb_gone() { ! [ -d "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# tb_stop_pid PID WHAT [SECONDS]: SIGTERM, wait until gone; SIGKILL after SECONDS (default 20).
tb_stop_pid() {
  local pid=$1 what=$2 limit=${3:-20}
  kill -TERM "$pid" 2>/dev/null || true
  if ! tb_wait "$limit" "$what (pid $pid) to exit after SIGTERM" tb_gone "$pid"; then
    echo "$TB_NAME: sending SIGKILL to $what (pid $pid)" >&2
    kill -KILL "$pid" 2>/dev/null || true
    tb_wait 10 "$what (pid $pid) to exit after SIGKILL" tb_gone "$pid" || return 1
  fi
}

tb_nproc() { nproc; }

# The private Grid Engine cell (sge-up.sh, sge-down.sh): G its testbed folder, cell its SGE folder.
tb_sge_environment() {
  G=$TB/sge
  export SGE_ROOT=/var/lib/gridengine SGE_CELL=crewtb
  export SGE_QMASTER_PORT=${CREW_TB_SGE_QMASTER_PORT:-16444} SGE_EXECD_PORT=${CREW_TB_SGE_EXECD_PORT:-16445}
  cell=$SGE_ROOT/$SGE_CELL
}
