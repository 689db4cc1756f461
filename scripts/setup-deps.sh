#!/usr/bin/env bash
# Installs crew's build and run dependencies from Debian 12's packages. Idempotent and
# non-interactive: does nothing (not even `apt-get update`) when everything is installed.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config          # toolchain
  libopenmpi-dev openmpi-bin                            # MPI: engines are ranks
  libboost-dev                                          # Boost headers (small_vector)
  libzmq3-dev cppzmq-dev                                # ZeroMQ: bridge <-> controller <-> clients
  libcereal-dev                                         # message headers, user types
  libssl-dev                                            # HMAC-SHA256 (libcrypto uses the CPU's SHA extensions)
  libsqlite3-dev                                        # the controller's task database (--db sqlite)
  libhdf5-openmpi-dev hdf5-tools                        # parallel HDF5 (save_h5 / load_h5), h5dump
  libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libtomlplusplus-dev libmstch-dev libpcre2-dev         # launcher files, job-script templates, their patterns
  libreadline-dev                                       # crew shell: line editing, history, completion
  python3-dev pybind11-dev python3-numpy                # the Python module (import crew)
  doctest-dev clang-format python3-pytest               # tests, format check
  python3-ipykernel python3-jupyter-client              # tests: crew in a real Jupyter kernel
  tmux                                                  # tests: crew shell typed at in a real terminal
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo > /dev/null || { echo "setup-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "setup-deps: installing ${missing[*]}"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
