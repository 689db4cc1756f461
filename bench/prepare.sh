# shellcheck shell=bash
# Sourced by the bench scripts that run clusters of their own (db_ab.sh, balancer_ab.sh,
# restore_bench.sh): bench_prepare OUT BUILD... makes OUT, gives the run a private CREW_HOME,
# lets mpirun run as root, and checks that each BUILD has crew, crew-engine and crew-bench.
bench_prepare() {
  local out=$1 build p
  shift
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  CREW_HOME="$(mktemp -d)"
  export CREW_HOME
  mkdir -p "$out"
  for build in "$@"; do
    for p in src/crew src/crew-engine bench/crew-bench; do
      [ -x "$build/$p" ] || { echo "missing $build/$p: build it with -DCREW_BUILD_BENCH=ON" >&2; exit 2; }
    done
  done
}
