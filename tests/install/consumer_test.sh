#!/usr/bin/env bash
# Installs crew into a temporary prefix, builds examples/ as a separate project against the
# installed package (find_package(crew) -> crew::client, crew::engine), and runs the demo with
# the installed `crew` on a real cluster. Checks the public boundary on the way: no installed
# header or CMake file mentions nlohmann, every installed header compiles where
# <nlohmann/json.hpp> is an #error, and the libraries do not export crew's internals.
set -eu
build_dir=$1
source_dir=$2
prefix=$(mktemp -d /tmp/crew-install.XXXXXX)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build_dir" --prefix "$prefix" > "$prefix.install.log" 2>&1 || { cat "$prefix.install.log"; exit 1; }
rm -f "$prefix.install.log"

# nlohmann/json is crew's private dependency: no installed header or package file names it.
if grep -rl nlohmann "$prefix/include" "$prefix/lib"*/cmake; then
  echo "the installed files above mention nlohmann (it must stay a private dependency)"; exit 1
fi
# A consumer whose <nlohmann/json.hpp> is an #error (the system's copy is on the default include
# path, so a header that included it would still compile without this): examples/ and one file
# that includes every installed header.
poison=$prefix/poison/nlohmann
mkdir -p "$poison"
echo '#error "an installed crew header included <nlohmann/json.hpp>"' > "$poison/json.hpp"
mkdir -p "$prefix/all-headers"
for h in "$prefix/include/crew/"*.hpp; do echo "#include <crew/$(basename "$h")>"; done > "$prefix/all-headers/all.cpp"
echo 'int main() { return crew::parse_json("[1]").size() == 1 ? 0 : 1; }' >> "$prefix/all-headers/all.cpp"
cat > "$prefix/all-headers/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(crew_all_headers LANGUAGES C CXX)
set(CMAKE_CXX_STANDARD 20)
find_package(crew 0.1 REQUIRED)
add_executable(all_headers all.cpp)
target_link_libraries(all_headers PRIVATE crew::client crew::engine)
CMAKE
cmake -S "$prefix/all-headers" -B "$prefix/all-headers/build" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_CXX_FLAGS="-I$prefix/poison" > "$prefix/all-headers.log" 2>&1 &&
  cmake --build "$prefix/all-headers/build" >> "$prefix/all-headers.log" 2>&1 &&
  "$prefix/all-headers/build/all_headers" || { cat "$prefix/all-headers.log"; exit 1; }

# Symbols are hidden unless marked: the functions of the client's engine room (detail::ClientCore)
# and of the engine's loop (detail::EngineImpl) stay inside their libraries (std templates
# instantiated for them may still show); the public classes are exported.
exported() { nm -D --defined-only "$1" | c++filt; }
for pair in "libcrew_client.so:crew::detail::ClientCore::" "libcrew_engine.so:crew::detail::EngineImpl::"; do
  lib=$(ls "$prefix"/lib*/"${pair%%:*}"); internal=${pair#*:}
  if exported "$lib" | grep -E "^[0-9a-f]+ [TWi] ${internal}"; then echo "$lib exports the internals above"; exit 1; fi
done
exported "$(ls "$prefix"/lib*/libcrew_client.so)" | grep -q "crew::Client::ids() const" ||
  { echo "libcrew_client.so does not export crew::Client"; exit 1; }

cmake -S "$source_dir/examples" -B "$prefix/examples-build" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS="-I$prefix/poison" > "$prefix/configure.log" 2>&1 ||
  { cat "$prefix/configure.log"; exit 1; }
cmake --build "$prefix/examples-build" -j 2 > "$prefix/build.log" 2>&1 || { cat "$prefix/build.log"; exit 1; }
# The demo must find nothing of the build tree: only the prefix.
if ldd "$prefix/examples-build/crew-demo" | grep -q "$build_dir"; then
  echo "crew-demo links libraries from the build tree:"; ldd "$prefix/examples-build/crew-demo"; exit 1
fi
"$source_dir/tests/support/with_cluster.sh" "$prefix/bin/crew" 2 -- "$prefix/examples-build/crew-demo"

# The Python package (when crew was built with it): beside the libraries, it finds them there and
# nothing of the build tree, and the quickstart runs with it against the installed crew.
python_dir=$(ls -d "$prefix"/lib/python3*/*-packages 2> /dev/null | head -n 1)
if [ -f "$build_dir/python/crew/__init__.py" ]; then
  module=$(ls "$python_dir"/crew/_crew*.so 2> /dev/null) || { echo "no crew Python module under $prefix/lib"; exit 1; }
  if ldd "$module" | grep -E "$build_dir|not found"; then echo "$module: the libraries above"; exit 1; fi
  PYTHONPATH="$python_dir" "$source_dir/tests/support/with_cluster.sh" "$prefix/bin/crew" 2 -- /usr/bin/python3 \
    "$source_dir/examples/python/quickstart.py" --plugin "$prefix/examples-build/libcrew_demo_functions.so"
fi
