#!/usr/bin/env bash
# crew's Python client beside its C++ client, in one run, on one cluster, alternating rep by rep
# (C++ first in odd reps, Python first in even ones), then ipyparallel's Python client (the anchor)
# on the same workloads and engine count:
#   lb_noop_throughput     balanced no-ops submitted one by one, then waited for (tasks/s)
#   latency_direct1        one direct no-op's round trip, 1,000 in a row (median, p99)
#   map_lb_chunk_default, map_lb_chunk1000, map_direct    maps of the no-op over range(M) (items/s)
# C++: bench/crew_bench.cpp; Python: bench/python_bench.py; ipyparallel: the anchors' ipp_bench.py
# (ANCHORS, default ../shared/bench/anchors beside the repository; skipped if it is not there).
#
#   BUILD=build bash bench/python_ab.sh
#
# Knobs: REPS (6), ENGINES (4), TASKS (10000), ITEMS (100000), IPP_BUDGET (5 s per ipyparallel
# throughput rep), SKIP_IPP=1, INSTALL_IPP=0 (do not apt-get install python3-ipyparallel),
# OUT (/tmp/crew-bench/python-<stamp>). Writes $OUT/raw.jsonl, each line with "build": "cpp",
# "python" or "ipp", and prints medians, the paired python/cpp ratios and python/ipp.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD="$(cd "${BUILD:-build}" && pwd)"
REPS="${REPS:-6}"
ENGINES="${ENGINES:-4}"
TASKS="${TASKS:-10000}"
ITEMS="${ITEMS:-100000}"
ANCHORS="${ANCHORS:-$here/../../shared/bench/anchors}"
OUT="${OUT:-/tmp/crew-bench/python-$(date +%Y%m%d-%H%M%S)}"
source "$here/prepare.sh"
bench_prepare "$OUT" "$BUILD"
[ -f "$BUILD/python/crew/__init__.py" ] || { echo "no Python module in $BUILD/python: configure with -DCREW_BUILD_PYTHON=ON" >&2; exit 2; }
workloads=lb_noop_throughput,latency_direct1,map_lb_chunk_default,map_lb_chunk1000,map_direct

stop_all() {
  "$BUILD/src/crew" cluster stop --profile ab >/dev/null 2>&1
  rm -rf "$CREW_HOME"
}
trap stop_all EXIT INT TERM
"$BUILD/src/crew" cluster start -n "$ENGINES" --profile ab >/dev/null || exit 1

label() { sed "s/^{/{\"build\": \"$1\", /"; }
for rep in $(seq 1 "$REPS"); do
  if [ $((rep % 2)) -eq 1 ]; then order="cpp python"; else order="python cpp"; fi
  for w in ${workloads//,/ }; do
    for b in $order; do
      if [ "$b" = cpp ]; then
        "$BUILD/bench/crew-bench" --profile ab --engines "$ENGINES" --reps 1 --first-rep "$rep" --tasks "$TASKS" \
          --map-items "$ITEMS" --workloads "$w" 2>>"$OUT/stderr.log" | label cpp >>"$OUT/raw.jsonl"
      else
        PYTHONPATH="$BUILD/python" /usr/bin/python3 "$here/python_bench.py" --profile ab --engines "$ENGINES" --reps 1 \
          --first-rep "$rep" --tasks "$TASKS" --map-items "$ITEMS" --workloads "$w" 2>>"$OUT/stderr.log" |
          label python >>"$OUT/raw.jsonl"
      fi
    done
  done
done
stop_all

if [ "${SKIP_IPP:-0}" != 1 ] && [ -f "$ANCHORS/ipp_bench.py" ]; then
  if ! /usr/bin/python3 -c "import ipyparallel" 2>/dev/null && [ "${INSTALL_IPP:-1}" = 1 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-ipyparallel python3-zmq >>"$OUT/stderr.log" 2>&1
  fi
  IPYTHONDIR="$(mktemp -d)" /usr/bin/python3 "$ANCHORS/ipp_bench.py" --engines "$ENGINES" --reps "$REPS" \
    --budget "${IPP_BUDGET:-5}" --workloads throughput,latency,map 2>>"$OUT/stderr.log" | label ipp >>"$OUT/raw.jsonl"
fi

python3 "$here/ab_compare.py" --base cpp --others python,ipp "$OUT/raw.jsonl"
python3 "$here/ab_compare.py" --paired --base cpp --others python "$OUT/raw.jsonl"
python3 "$here/ab_compare.py" --base ipp --others python "$OUT/raw.jsonl" | grep -E 'throughput|latency_direct1_median|map_'
echo "raw: $OUT/raw.jsonl"
