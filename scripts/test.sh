#!/usr/bin/env bash
# README command 2 (and CI): install the dependencies, build crew with its tests (warnings as
# errors) and run the whole suite; then build again with AddressSanitizer + UndefinedBehavior-
# Sanitizer and run the suite under them.
#   SKIP_SANITIZERS=1 skips the second build; JOBS sets the build parallelism.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=${JOBS:-$(nproc)}
bash "$root/scripts/setup-deps.sh"

run_suite() {  # build-dir, extra cmake args...
  local dir=$1; shift
  cmake -S "$root" -B "$dir" -G Ninja -DCREW_BUILD_TESTS=ON -DCREW_BUILD_EXAMPLES=ON -DCREW_WERROR=ON "$@" > /dev/null
  cmake --build "$dir" -j "$jobs"
  (cd "$dir" && ctest --output-on-failure --timeout 300)
}

start=$(date +%s)
run_suite "$root/build-test" -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "test.sh: suite passed in $(( $(date +%s) - start )) s"

if [ "${SKIP_SANITIZERS:-0}" != 1 ]; then
  start=$(date +%s)
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1"
  export LSAN_OPTIONS="suppressions=$root/tests/support/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
  run_suite "$root/build-asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCREW_SANITIZERS=address,undefined
  echo "test.sh: sanitizer suite passed in $(( $(date +%s) - start )) s"
fi
