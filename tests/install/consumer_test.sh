#!/usr/bin/env bash
# Installs crew into a temporary prefix, builds examples/ as a separate project against the
# installed package (find_package(crew) -> crew::client, crew::engine), and runs the demo with
# the installed `crew` on a real cluster.
set -eu
build_dir=$1
source_dir=$2
prefix=$(mktemp -d /tmp/crew-install.XXXXXX)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build_dir" --prefix "$prefix" > "$prefix.install.log" 2>&1 || { cat "$prefix.install.log"; exit 1; }
rm -f "$prefix.install.log"
cmake -S "$source_dir/examples" -B "$prefix/examples-build" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release > "$prefix/configure.log" 2>&1 || { cat "$prefix/configure.log"; exit 1; }
cmake --build "$prefix/examples-build" -j 2 > "$prefix/build.log" 2>&1 || { cat "$prefix/build.log"; exit 1; }
# The demo must find nothing of the build tree: only the prefix.
if ldd "$prefix/examples-build/crew-demo" | grep -q "$build_dir"; then
  echo "crew-demo links libraries from the build tree:"; ldd "$prefix/examples-build/crew-demo"; exit 1
fi
"$source_dir/tests/support/with_cluster.sh" "$prefix/bin/crew" 2 -- "$prefix/examples-build/crew-demo"
