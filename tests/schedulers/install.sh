#!/usr/bin/env bash
# install.sh: installs everything the scheduler testbeds need, from Debian 12's packages.
# Idempotent and non-interactive: apt-get runs (with one `apt-get update` first) only when a
# package is missing. Starts no service: the *-up.sh scripts start private instances.
#
#   Slurm 22.05 + munge                        slurm-wlm munge
#   PBS-style qsub/qstat/qdel over Slurm       slurm-wlm-torque's Perl wrappers, EXTRACTED (not
#                                              installed) into $CREW_TESTBED_ROOT/torque/bin,
#                                              plus their deps libslurm-perl libslurmdb-perl
#                                              libswitch-perl
#   SGE 8.1.9                                  gridengine-master gridengine-exec gridengine-client
#   LSF-style bsub/bjobs/bkill over Slurm      lsf-shim/* copied to $CREW_TESTBED_ROOT/lsf/bin
#   sshd and two "hosts" in network namespaces openssh-server openssh-client iproute2
#   mpirun for the two-host check              openmpi-bin
#
# Why the torque wrappers are extracted: slurm-wlm-torque and gridengine-client both ship
# /usr/bin/qsub, qstat, qdel and Conflict; installing one removes the other. SGE keeps
# /usr/bin; the wrappers live in their own directory (with sbatch & co symlinked beside them,
# because they run "${FindBin::Bin}/sbatch"), which PBS tests put first on PATH.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
tb_need_root "$@"

packages=(
  slurm-wlm munge
  libslurm-perl libslurmdb-perl libswitch-perl
  gridengine-master gridengine-exec gridengine-client
  openssh-server openssh-client iproute2 util-linux
  openmpi-bin
)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing=()
for p in "${packages[@]}"; do installed "$p" || missing+=("$p"); done

apt_updated=0
if [ ${#missing[@]} -gt 0 ]; then
  tb_say "installing ${missing[*]}"
  # SGE's postinst configures a cell only when debconf says so; answer its questions up front.
  debconf-set-selections <<'PRESEED'
gridengine-common shared/gridengineconfig boolean true
gridengine-common shared/gridenginecell string default
gridengine-common shared/gridenginemaster string localhost
gridengine-master shared/gridengineconfig boolean true
gridengine-master shared/gridenginecell string default
gridengine-master shared/gridenginemaster string localhost
gridengine-client shared/gridengineconfig boolean true
gridengine-client shared/gridenginecell string default
gridengine-client shared/gridenginemaster string localhost
PRESEED
  if installed slurm-wlm-torque; then
    tb_say "note: slurm-wlm-torque is installed; apt will remove it (it conflicts with gridengine-client)." \
           "Its wrappers are extracted under $TB/torque/bin instead."
  fi
  # Keep the packages' own services (munge, slurmctld, slurmd, sshd on port 22, sge_qmaster,
  # sge_execd) from being started by their postinst: a policy-rc.d that denies, unless the
  # machine already has one (Docker-style images do).
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# temporary, from crew tests/schedulers/install.sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -q
  apt_updated=1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  if [ $own_policy -eq 1 ]; then rm -f /usr/sbin/policy-rc.d; trap - EXIT; fi
fi

for p in "${packages[@]}"; do installed "$p" || tb_die "package $p is still not installed"; done
[ -s /var/lib/gridengine/default/common/act_qmaster ] ||
  tb_die "SGE cell /var/lib/gridengine/default was not created by gridengine-master's postinst" \
         "(debconf preseed not applied?); try: dpkg-reconfigure -f noninteractive gridengine-master"

mkdir -p "$TB"
chmod 755 "$TB"

# --- torque wrappers ------------------------------------------------------------------------
slurm_version=$(dpkg-query -W -f='${Version}' slurm-wlm)
torque=$TB/torque
if [ "$(cat "$torque/VERSION" 2>/dev/null)" != "$slurm_version" ] || [ ! -x "$torque/bin/qsub" ]; then
  tb_say "extracting slurm-wlm-torque $slurm_version into $torque/bin"
  work=$(mktemp -d)
  # apt-get download runs as _apt when it can; let it write into the temporary directory.
  chmod 755 "$work"
  chown _apt "$work" 2>/dev/null || true
  if ! (cd "$work" && apt-get download -q "slurm-wlm-torque=$slurm_version"); then
    [ $apt_updated -eq 1 ] || DEBIAN_FRONTEND=noninteractive apt-get update -q
    (cd "$work" && apt-get download -q "slurm-wlm-torque=$slurm_version") ||
      { rm -rf "$work"; tb_die "apt-get download slurm-wlm-torque=$slurm_version failed"; }
  fi
  dpkg-deb -x "$work"/slurm-wlm-torque_*.deb "$work/x"
  rm -rf "$torque"
  mkdir -p "$torque/bin"
  cp -a "$work/x/usr/bin/." "$torque/bin/"
  rm -rf "$work"
  echo "$slurm_version" > "$torque/VERSION"
fi
# The wrappers call "${FindBin::Bin}/sbatch" (and salloc, srun, ...): put Slurm's beside them.
for b in sbatch salloc srun squeue scontrol scancel sinfo; do ln -sfn "/usr/bin/$b" "$torque/bin/$b"; done
for w in qsub qstat qdel; do [ -x "$torque/bin/$w" ] || tb_die "$torque/bin/$w missing after extraction"; done

# --- LSF shim -------------------------------------------------------------------------------
mkdir -p "$TB/lsf/bin"
for s in bsub bjobs bkill; do install -m 755 "$TB_HERE/lsf-shim/$s" "$TB/lsf/bin/$s"; done

tb_say "ok: packages installed; torque wrappers in $torque/bin; LSF shim in $TB/lsf/bin"
