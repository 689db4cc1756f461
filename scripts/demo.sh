#!/usr/bin/env bash
# README command 1: install the dependencies, build and install crew, start a local cluster of
# 4 MPI-rank engines, run the demo (examples/demo.cpp) and the Python quickstart
# (examples/python/quickstart.py, with the installed `import crew`) against it, and stop the cluster.
#   PREFIX (default /usr/local as root, else ~/.local), ENGINES (default 4), PROFILE (default demo)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ "$(id -u)" -eq 0 ]; then prefix=${PREFIX:-/usr/local}; else prefix=${PREFIX:-$HOME/.local}; fi
engines=${ENGINES:-4}
profile=${PROFILE:-demo}
build="$root/build-release"

bash "$root/scripts/setup-deps.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCREW_BUILD_TESTS=OFF \
  -DCREW_BUILD_EXAMPLES=ON -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=8 \
  -DCMAKE_INSTALL_PREFIX="$prefix" > /dev/null
cmake --build "$build" -j "$(nproc)"
cmake --install "$build" > /dev/null
export PATH="$prefix/bin:$PATH"
echo "installed $(crew --version) into $prefix"

crew cluster start -n "$engines" --profile "$profile"
trap 'crew cluster stop --profile "$profile"' EXIT
"$build/examples/crew-demo" "$profile"
# Debian's python3 (the one whose numpy the module uses) finds the installed package in /usr/local
# or ~/.local; another prefix needs PYTHONPATH (the README says where it goes).
PYTHONPATH="$(echo "$prefix"/lib/python3*/*-packages):${PYTHONPATH:-}" /usr/bin/python3 \
  "$root/examples/python/quickstart.py" --profile "$profile" --plugin "$build/examples/libcrew_demo_functions.so"
