#!/usr/bin/env bash
# README command 2 (and CI): install the dependencies, build crew with its tests (warnings as
# errors) and run the whole suite; then build again with AddressSanitizer + UndefinedBehavior-
# Sanitizer and run the suite under them.
#   SKIP_SANITIZERS=1 skips the second build; JOBS sets the build parallelism.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=${JOBS:-$(nproc)}
bash "$root/scripts/setup-deps.sh"
# The schedulers the launcher tests submit to (Slurm, its PBS wrappers, Grid Engine, an LSF shim,
# sshd on two network-namespace hosts): installed here, started and stopped by ctest fixtures.
bash "$root/tests/schedulers/install.sh"

run_suite() {  # build-dir, extra cmake args...
  local dir=$1; shift
  # Unity builds: every source parses the same heavy headers; batches of 8 parse them once (a
  # third less build time here, and a check that no two files define the same internal name).
  cmake -S "$root" -B "$dir" -G Ninja -DCREW_BUILD_TESTS=ON -DCREW_BUILD_EXAMPLES=ON -DCREW_WERROR=ON \
    -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=8 "$@" > /dev/null
  cmake --build "$dir" -j "$jobs"
  # `large` (more than 2 GiB through every hop, ~1 min and ~12 GB here) runs on demand: ctest -L large
  (cd "$dir" && ctest --output-on-failure --timeout 300 -j 2 -LE large)
}

# Formatting first: it takes a second and says exactly where (.clang-format).
(cd "$root" && find include src tests examples bench python -name '*.cpp' -o -name '*.hpp' -o -name '*.c' |
  xargs clang-format --style=file --dry-run --Werror) || { echo "test.sh: run clang-format -i on the files above" >&2; exit 1; }

start=$(date +%s)
# -O2 without debug information: a third less build time (the sanitizer build keeps line tables).
run_suite "$root/build-test" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG"
echo "test.sh: suite passed in $(( $(date +%s) - start )) s"

if [ "${SKIP_SANITIZERS:-0}" != 1 ]; then
  start=$(date +%s)
  # Every sanitized process (also controllers and engines the tests start in the background)
  # writes its reports here; any report fails the run, even if no test noticed.
  reports="$root/build-asan/sanitizer-reports"
  rm -rf "$reports" && mkdir -p "$reports"
  # Full stacks (Open MPI has no frame pointers), and Open MPI keeps its plugins loaded at exit
  # so that leaks inside them are attributed to them (tests/support/lsan.supp) and not lost.
  export ASAN_OPTIONS="detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1:fast_unwind_on_malloc=0:malloc_context_size=30:log_path=$reports/asan"
  export LSAN_OPTIONS="suppressions=$root/tests/support/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan"
  export OMPI_MCA_mca_base_component_disable_dlclose=1
  # Sanitized processes take seconds to exit (the leak check): `crew cluster stop` waits 30 s, not
  # 10, before it signals them (the README's stops took 7.4-10.1 s here, and then said so).
  export CREW_STOP_GRACE=30
  run_suite "$root/build-asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
    -DCREW_SANITIZERS=address,undefined
  if [ -n "$(ls -A "$reports")" ]; then
    echo "test.sh: sanitizer reports from processes the suite started:" >&2
    for f in "$reports"/*; do echo "== $f" >&2; cat "$f" >&2; done
    exit 1
  fi
  echo "test.sh: sanitizer suite passed in $(( $(date +%s) - start )) s, no sanitizer reports"
fi
