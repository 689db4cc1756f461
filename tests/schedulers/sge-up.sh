#!/usr/bin/env bash
# sge-up.sh: starts a PRIVATE one-host Son of Grid Engine (sge_qmaster + sge_execd) for tests,
# and waits until the queue all.q@localhost reports a load. Idempotent: when it is already up
# it only checks.
#
# Private means: its own cell "crewtb" (SGE_ROOT=/var/lib/gridengine, SGE_CELL=crewtb; the cell
# directory is a symlink to $CREW_TESTBED_ROOT/sge/cell), its own spool in
# $CREW_TESTBED_ROOT/sge, and its own ports 16444 (qmaster) and 16445 (execd), passed as
# SGE_QMASTER_PORT / SGE_EXECD_PORT. The package's cell "default" is neither used nor changed,
# and an SGE already running on the machine is not disturbed. Clients need
# SGE_ROOT, SGE_CELL, SGE_QMASTER_PORT, SGE_EXECD_PORT: source env.sh.
#
# The cell: host "localhost" (the machine's hostname is aliased to it in host_aliases, else
# commlib refuses clients: "client IP resolved to host name localhost. This is not identical
# to clients host name"); global config min_uid 0, min_gid 0 (root may run jobs),
# load_report_time 5 s, accounting flushed every second (qacct); scheduler
# schedule_interval 1 s, flush_submit_sec 1, flush_finish_sec 1; PE "mpi" and queue "all.q"
# with slots = nproc; localhost is an admin and submit host.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
tb_need_root "$@"

tb_sge_environment
admin=sgeadmin
slots=$(nproc)

for f in /usr/lib/gridengine/sge_qmaster /usr/lib/gridengine/sge_execd /usr/lib/gridengine/spoolinit \
         /usr/lib/gridengine/spooldefaults /usr/share/gridengine/default-configuration; do
  [ -e "$f" ] || tb_die "$f not found: run install.sh first"
done
id -u "$admin" > /dev/null 2>&1 || tb_die "user $admin missing: run install.sh first"

queue_ready() {
  qstat -f -q all.q 2> /dev/null |
    grep -Eq "^all\.q@localhost +BIP +[0-9]+/[0-9]+/$slots +[0-9.]+ +lx-amd64 *\$"
}

qmaster=$(tb_pid_from "$G/qmaster/qmaster.pid" sge_qmaster || true)
execd=$(tb_pid_from "$G/execd/localhost/execd.pid" sge_execd || true)
if [ -n "$qmaster" ] && [ -n "$execd" ]; then
  tb_wait 60 "all.q@localhost to report a load" queue_ready ||
    tb_die "SGE is running (qmaster $qmaster, execd $execd) but all.q is not ready: $(qstat -f 2>&1 | tail -n 3)"
  tb_say "already up (qmaster $qmaster, execd $execd); SGE_CELL=$SGE_CELL SGE_QMASTER_PORT=$SGE_QMASTER_PORT"
  exit 0
fi
[ -z "$qmaster$execd" ] || tb_die "half up (qmaster '$qmaster', execd '$execd'): run sge-down.sh first"

# --- the cell (made anew each time: sge-down.sh removes it) -----------------------------------
rm -rf "$G"
mkdir -p "$G"/{cell/common,spooldb,qmaster/job_scripts,execd}
chown -R "$admin:$admin" "$G"
chmod 755 "$G"
if [ -L "$cell" ]; then rm -f "$cell"; elif [ -e "$cell" ]; then tb_die "$cell exists and is not our symlink"; fi
ln -s "$G/cell" "$cell"

cat > "$G/cell/common/bootstrap" <<EOF
# Version: 6.2
admin_user              $admin
default_domain          none
ignore_fqdn             false
spooling_method         berkeleydb
spooling_lib            libspoolb
spooling_params         $G/spooldb
binary_path             /usr/sbin
qmaster_spool_dir       $G/qmaster
security_mode           none
listener_threads        2
worker_threads          2
scheduler_threads       1
EOF
echo localhost > "$G/cell/common/act_qmaster"
host=$(hostname)
[ "$host" = localhost ] || echo "localhost $host" > "$G/cell/common/host_aliases"
sed -e "s|^execd_spool_dir .*|execd_spool_dir        $G/execd|" \
    -e 's|^mailer .*|mailer                 /bin/true|' \
    -e 's|^min_uid .*|min_uid                0|' \
    -e 's|^min_gid .*|min_gid                0|' \
    -e 's|^load_report_time .*|load_report_time       00:00:05|' \
    -e 's|^reporting_params .*|reporting_params       accounting=true reporting=false flush_time=00:00:01 joblog=false sharelog=00:00:00|' \
    /usr/share/gridengine/default-configuration > "$G/cell/global_configuration"
chown -R "$admin:$admin" "$G/cell"
as_admin() { runuser -u "$admin" -- env SGE_ROOT="$SGE_ROOT" SGE_CELL="$SGE_CELL" "$@"; }
{
  as_admin /usr/lib/gridengine/spoolinit berkeleydb libspoolb "$G/spooldb" init &&
  as_admin /usr/lib/gridengine/spooldefaults configuration "$G/cell/global_configuration" &&
  as_admin /usr/lib/gridengine/spooldefaults complexes /usr/share/gridengine/util/resources/centry &&
  as_admin /usr/lib/gridengine/spooldefaults usersets /usr/share/gridengine/util/resources/usersets &&
  as_admin /usr/lib/gridengine/spooldefaults managers "$admin"
} > "$G/init.log" 2>&1 || { cat "$G/init.log" >&2; tb_die "could not initialise the cell's spool"; }

# --- qmaster and configuration ----------------------------------------------------------------
/usr/sbin/sge_qmaster || tb_die "sge_qmaster did not start; see $G/qmaster/messages"
tb_wait 30 "sge_qmaster to answer on port $SGE_QMASTER_PORT" qconf -sh ||
  { tail -n 5 "$G/qmaster/messages" >&2 || true; tb_die "sge_qmaster does not answer"; }

quiet() { local out; out=$("$@" 2>&1) || { echo "$out" >&2; tb_die "failed: $*"; }; }
qconf -ssconf | sed -e 's/^schedule_interval .*/schedule_interval                 0:0:1/' \
                    -e 's/^flush_submit_sec .*/flush_submit_sec                  1/' \
                    -e 's/^flush_finish_sec .*/flush_finish_sec                  1/' > "$G/sched.conf"
quiet qconf -Msconf "$G/sched.conf"
cat > "$G/exechost.conf" <<EOF
hostname              localhost
load_scaling          NONE
complex_values        NONE
user_lists            NONE
xuser_lists           NONE
projects              NONE
xprojects             NONE
usage_scaling         NONE
report_variables      NONE
EOF
cat > "$G/pe_mpi.conf" <<EOF
pe_name            mpi
slots              $slots
user_lists         NONE
xuser_lists        NONE
start_proc_args    NONE
stop_proc_args     NONE
allocation_rule    \$fill_up
control_slaves     TRUE
job_is_first_task  FALSE
urgency_slots      min
accounting_summary FALSE
qsort_args         NONE
EOF
{
  cat <<EOF
qname                 all.q
hostlist              localhost
seq_no                0
load_thresholds       NONE
suspend_thresholds    NONE
nsuspend              1
suspend_interval      00:05:00
priority              0
min_cpu_interval      00:05:00
processors            UNDEFINED
qtype                 BATCH INTERACTIVE
ckpt_list             NONE
pe_list               mpi
rerun                 FALSE
slots                 $slots
tmpdir                /tmp
shell                 /bin/bash
prolog                NONE
epilog                NONE
shell_start_mode      posix_compliant
starter_method        NONE
suspend_method        NONE
resume_method         NONE
terminate_method      NONE
notify                00:00:60
owner_list            NONE
user_lists            NONE
xuser_lists           NONE
subordinate_list      NONE
complex_values        NONE
projects              NONE
xprojects             NONE
calendar              NONE
initial_state         default
EOF
  for l in s_rt h_rt s_cpu h_cpu s_fsize h_fsize s_data h_data s_stack h_stack s_core h_core s_rss h_rss s_vmem h_vmem; do
    printf '%-21s INFINITY\n' "$l"
  done
} > "$G/queue_all.conf"
quiet qconf -Ae "$G/exechost.conf"
quiet qconf -Ap "$G/pe_mpi.conf"
quiet qconf -Aq "$G/queue_all.conf"
qconf -ah localhost > /dev/null 2>&1 || true   # admin host (already is: the qmaster host)
qconf -as localhost > /dev/null 2>&1 || true   # submit host
qconf -ss | grep -qx localhost || tb_die "localhost is not a submit host: $(qconf -ss 2>&1)"

# --- execd --------------------------------------------------------------------------------------
/usr/sbin/sge_execd || tb_die "sge_execd did not start; see $G/execd/localhost/messages"
if ! tb_wait 60 "all.q@localhost to report a load" queue_ready; then
  qstat -f >&2 || true
  tail -n 5 "$G/execd/localhost/messages" "$G/qmaster/messages" >&2 || true
  tb_die "SGE did not become ready"
fi
tb_say "up: qmaster $(cat "$G/qmaster/qmaster.pid"), execd $(cat "$G/execd/localhost/execd.pid");" \
       "SGE_ROOT=$SGE_ROOT SGE_CELL=$SGE_CELL SGE_QMASTER_PORT=$SGE_QMASTER_PORT SGE_EXECD_PORT=$SGE_EXECD_PORT;" \
       "queue all.q and PE mpi with $slots slots"
