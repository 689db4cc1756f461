#!/usr/bin/env bash
# crew's benchmark harness: one command that builds crew (Release, CREW_BUILD_BENCH=ON) and measures
#   - crew: startup / shutdown of `crew cluster start|stop -n N`, then crew-bench's workloads
#     (direct1/directall no-op throughput, latency to engine 0 and to the last engine);
#   - the baselines in the same loop: bare `mpirun -n N mpi-hello`, memory-limits (first-touch and
#     warm copies) and the ZeroMQ round trip limit (direct and through one proxy hop, from
#     $LIMITS/zmq_bench.cpp);
#   - the ipyparallel 7.1 anchors for the same workloads ($ANCHORS/run_all.sh);
# ANCHORS and LIMITS default to ../shared/bench/{anchors,limits} beside the repository (the project
# root holds the repository and shared/). Without them crew's own figures still run: the rows that
# need them are skipped, with a note saying so.
# and writes everything to $OUT/raw.jsonl (anchors' JSON-lines format), then $OUT/medians.md.
#
#   bash bench/run.sh                                   # N = 2 and 4, 3 reps, with ipyparallel
#   REPS=1 ENGINES=2 SKIP_IPP=1 bash bench/run.sh       # quick check (~1 min once built)
#
# Knobs (environment): ENGINES ("2 4"), REPS (3), OUT (/tmp/crew-bench/<stamp>), BUILD_DIR
# (<repo>/build-bench), SKIP_BUILD (0), TASKS (10000), LATENCY_CALLS (1000), CREW_WORKLOADS (all),
# SKIP_DATA (0: run crew-data-bench), DATA_SIZES (8,128,512 MiB), IPP_WORKLOADS, SKIP_LIMITS (0), LIMIT_RT_N (10000 round trips per zmq_bench run), SKIP_IPP (0), IPP_REPS ($REPS),
# SKIP_MPI4PY (0: the mpi4py.futures anchor too), MPI4PY_TASKS (10000), MPI4PY_ITEMS (100000),
# IPP_BUDGET (5 s per ipyparallel throughput rep), INSTALL_IPP (1: apt-get the Debian packages if
# missing), ANCHORS, LIMITS (the shared benchmark directories), CMD_TIMEOUT (180 s per command),
# BENCH_TIMEOUT (900 s per crew-bench run), JOBS (2).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
ENGINES="${ENGINES:-2 4}"
REPS="${REPS:-3}"
OUT="${OUT:-/tmp/crew-bench/$(date +%Y%m%d-%H%M%S)}"
BUILD_DIR="${BUILD_DIR:-$ROOT/build-bench}"
SKIP_BUILD="${SKIP_BUILD:-0}"
JOBS="${JOBS:-2}"
TASKS="${TASKS:-10000}"
LATENCY_CALLS="${LATENCY_CALLS:-1000}"
CREW_WORKLOADS="${CREW_WORKLOADS:-all}"
SKIP_DATA="${SKIP_DATA:-0}"
DATA_SIZES="${DATA_SIZES:-8,128,512}"
IPP_WORKLOADS="${IPP_WORKLOADS:-startup,throughput,latency,broadcast,map,scatter,pushpull}"
SKIP_MPI4PY="${SKIP_MPI4PY:-0}"
MPI4PY_TASKS="${MPI4PY_TASKS:-10000}"
MPI4PY_ITEMS="${MPI4PY_ITEMS:-100000}"
SKIP_LIMITS="${SKIP_LIMITS:-0}"
LIMIT_RT_N="${LIMIT_RT_N:-10000}"
SKIP_IPP="${SKIP_IPP:-0}"
IPP_REPS="${IPP_REPS:-$REPS}"
IPP_BUDGET="${IPP_BUDGET:-5}"
INSTALL_IPP="${INSTALL_IPP:-1}"
PROJECT="$(cd "$ROOT/.." && pwd)"   # the project root: the repository and shared/ beside it
ANCHORS="${ANCHORS:-$PROJECT/shared/bench/anchors}"
LIMITS="${LIMITS:-$PROJECT/shared/bench/limits}"
CMD_TIMEOUT="${CMD_TIMEOUT:-180}"
BENCH_TIMEOUT="${BENCH_TIMEOUT:-900}"
PY="${PYTHON:-python3}"
SYSPY=/usr/bin/python3   # Debian's interpreter: the only one with ipyparallel

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
CORES="$(nproc)"

mkdir -p "$OUT" || exit 1
RAW="$OUT/raw.jsonl"
LOG="$OUT/run.log"
: > "$RAW"
: > "$LOG"

exec 3>&2   # the terminal's stderr, also while a command's stderr goes to the log
say() { echo "[bench $(date +%H:%M:%S)] $*" | tee -a "$LOG" >&3; }
die() { say "ERROR: $*"; exit 1; }

# ---- private cluster home; every cluster this script starts is stopped on any exit -----------
export CREW_HOME
CREW_HOME="$(mktemp -d /tmp/crew-bench-home.XXXXXX)" || die "mktemp failed"
IPYTHONDIR_PRIVATE=""
STARTED=()          # profiles this script started (or tried to)
CREW=""             # set after the build
CHILD=""            # the command run_child is waiting for

# run_child CMD...: runs CMD in the background and waits for it, so that INT/TERM reach the trap at
# once (bash defers traps while a foreground command runs); the trap ends CHILD.
run_child() {
  "$@" &
  CHILD=$!
  wait "$CHILD"
  local rc=$?
  CHILD=""
  return $rc
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$CHILD" ]; then kill -TERM "$CHILD" 2>/dev/null; wait "$CHILD" 2>/dev/null; CHILD=""; fi
  if [ -n "$CREW" ] && [ -x "$CREW" ]; then
    for p in "${STARTED[@]}"; do
      if "$CREW" cluster status --profile "$p" >/dev/null 2>&1; then
        say "cleanup: stopping cluster '$p'"
        timeout "$CMD_TIMEOUT" "$CREW" cluster stop --profile "$p" >>"$LOG" 2>&1 ||
          say "cleanup: 'crew cluster stop --profile $p' failed (exit $?); see $OUT/crew-home"
      fi
    done
  fi
  # keep the clusters' logs with the results, then drop the private home
  if [ -d "$CREW_HOME" ]; then
    mkdir -p "$OUT/crew-home" && cp -r "$CREW_HOME"/. "$OUT/crew-home/" 2>/dev/null
    rm -rf "$CREW_HOME"
  fi
  [ -n "$IPYTHONDIR_PRIVATE" ] && rm -rf "$IPYTHONDIR_PRIVATE"
  exit "$rc"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

# ---- helpers ------------------------------------------------------------------------------------
now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", b - a }'; }
loadavg1() { cut -d' ' -f1 /proc/loadavg; }
oversub() { [ "$1" -gt "$CORES" ] && echo true || echo false; }
# json_num KEY FILE: the first numeric value of "KEY" in a one-line JSON file ("null" if none)
json_num() { local v; v="$(grep -o "\"$1\":[-0-9.eE+]*" "$2" 2>/dev/null | head -1 | cut -d: -f2)"; echo "${v:-null}"; }
# emit SYSTEM WORKLOAD N VALUE UNIT REP [EXTRA [OVERSUBSCRIBED]]: one line in the anchors' format;
# EXTRA is a JSON fragment like '"error": "x", "k": 1' (VALUE may be null); OVERSUBSCRIBED defaults
# to N > cores.
emit() {
  local extra="${7:-}" over="${8:-$(oversub "$3")}"
  [ -n "$extra" ] && extra=", $extra"
  printf '{"system": "%s", "workload": "%s", "engines": %s, "value": %s, "unit": "%s", "rep": %s%s, "oversubscribed": %s, "loadavg1": %s}\n' \
    "$1" "$2" "$3" "$4" "$5" "$6" "$extra" "$over" "$(loadavg1)" | tee -a "$RAW"
}
json_str() { printf '%s' "$1" | tr -d '\n\r' | sed 's/\\/\\\\/g; s/"/\\"/g' | cut -c1-300; }

# ---- environment --------------------------------------------------------------------------------
{
  echo "date: $(date -Is)"; echo "host: $(uname -a)"; echo "cores: $CORES"
  echo "crew source: $ROOT ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ', with local changes'))"
  echo "build dir: $BUILD_DIR (Release, CREW_BUILD_BENCH=ON)"
  mpirun --version 2>/dev/null | head -1
  echo "libzmq: $(pkg-config --modversion libzmq 2>/dev/null || echo '?')"
  echo "knobs: ENGINES='$ENGINES' REPS=$REPS TASKS=$TASKS LATENCY_CALLS=$LATENCY_CALLS LIMIT_RT_N=$LIMIT_RT_N SKIP_IPP=$SKIP_IPP IPP_REPS=$IPP_REPS IPP_BUDGET=$IPP_BUDGET"
  echo "CREW_HOME (private): $CREW_HOME"
  echo "loadavg at start: $(cat /proc/loadavg)"
} > "$OUT/env.txt"
cat "$OUT/env.txt" >&2

# ---- build --------------------------------------------------------------------------------------
if [ "$SKIP_BUILD" != 1 ]; then
  say "building crew (Release, CREW_BUILD_BENCH=ON) in $BUILD_DIR"
  GEN=(); command -v ninja >/dev/null && [ ! -f "$BUILD_DIR/CMakeCache.txt" ] && GEN=(-G Ninja)
  cmake -S "$ROOT" -B "$BUILD_DIR" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release -DCREW_BUILD_BENCH=ON \
      -DCREW_BUILD_TESTS=OFF -DCREW_BUILD_EXAMPLES=OFF >>"$LOG" 2>&1 || die "cmake configure failed; see $LOG"
fi
# Every program this script runs: each is built here, and checked before anything is measured.
PROGRAMS=(src/crew src/crew-engine bench/crew-bench bench/crew-data-bench bench/mpi-hello bench/memory-limits)
if [ "$SKIP_BUILD" != 1 ]; then
  cmake --build "$BUILD_DIR" -j"$JOBS" --target "${PROGRAMS[@]##*/}" >>"$LOG" 2>&1 || die "build failed; see $LOG"
fi
MISSING=()
for f in "${PROGRAMS[@]}"; do [ -x "$BUILD_DIR/$f" ] || MISSING+=("$BUILD_DIR/$f"); done
[ ${#MISSING[@]} -eq 0 ] || die "missing: ${MISSING[*]} (build with SKIP_BUILD=0)"
CREW="$BUILD_DIR/src/crew"
CREW_BENCH="$BUILD_DIR/bench/crew-bench"
CREW_DATA_BENCH="$BUILD_DIR/bench/crew-data-bench"
MPI_HELLO="$BUILD_DIR/bench/mpi-hello"
MEMORY_LIMITS="$BUILD_DIR/bench/memory-limits"
CREW_SYSTEM="crew-$("$CREW" --version | awk '{print $2}')"
MPI_SYSTEM="openmpi-$(mpirun --version 2>/dev/null | head -1 | awk '{print $NF}')"
ZMQ_SYSTEM="zmq-limit-libzmq-$(pkg-config --modversion libzmq 2>/dev/null || echo unknown)"
say "system: $CREW_SYSTEM, $MPI_SYSTEM, $CORES cores; results in $OUT"

# the ZeroMQ round-trip limit: build only zmq_bench (same flags as limits/build.sh), into our build dir
ZMQ_BENCH="$BUILD_DIR/bench/limits/zmq_bench"
ZMQ_LIMITS=1
if [ "$SKIP_LIMITS" != 1 ] && [ ! -f "$LIMITS/zmq_bench.cpp" ]; then
  say "note: no $LIMITS/zmq_bench.cpp: skipping the ZeroMQ round-trip limit rows (set LIMITS=dir to include them)"
  ZMQ_LIMITS=0
fi
if [ "$SKIP_LIMITS" != 1 ] && [ "$ZMQ_LIMITS" = 1 ]; then
  mkdir -p "$(dirname "$ZMQ_BENCH")"
  if [ ! -x "$ZMQ_BENCH" ] || [ "$LIMITS/zmq_bench.cpp" -nt "$ZMQ_BENCH" ]; then
    say "building zmq_bench from $LIMITS"
    ${CXX:-g++} -O2 -std=c++17 -Wall -o "$ZMQ_BENCH" "$LIMITS/zmq_bench.cpp" -lzmq >>"$LOG" 2>&1 ||
      die "zmq_bench build failed; see $LOG"
  fi
fi


# ---- measurements -------------------------------------------------------------------------------
bare_mpirun() {  # N REP
  local n=$1 rep=$2 t0 t1 rc
  t0=$(now)
  run_child timeout "$CMD_TIMEOUT" mpirun -n "$n" --oversubscribe "$MPI_HELLO" >>"$LOG" 2>&1
  rc=$?; t1=$(now)
  if [ $rc -eq 0 ]; then
    emit "$MPI_SYSTEM" startup_bare_mpirun "$n" "$(elapsed "$t0" "$t1")" s "$rep" '"command": "mpirun -n '"$n"' --oversubscribe mpi-hello"'
  else
    emit "$MPI_SYSTEM" startup_bare_mpirun "$n" null s "$rep" "\"error\": \"mpirun exited $rc\""
  fi
}

zmq_limits() {  # N REP: direct (hops0) and one-proxy-hop (hops1) round trips, 8 B, window 1;
                #        and through one proxy with 256 in flight, 100 B (the pipelined rate limit)
  local n=$1 rep=$2 hops tag key val unit rc tmp="$OUT/.zmq.txt" args
  for args in "0 1 $LIMIT_RT_N 1 8" "1 1 $LIMIT_RT_N 1 8" "1 1 $((LIMIT_RT_N * 10)) 256 100"; do
    hops=${args%% *}
    # shellcheck disable=SC2086
    run_child timeout "$CMD_TIMEOUT" "$ZMQ_BENCH" rt tcp $args >"$tmp" 2>>"$LOG"
    rc=$?
    [ $rc -eq 0 ] || emit "$ZMQ_SYSTEM" "zmq_tcp_rt_hops${hops}_w1_win1_8B_lat_p50" "$n" null us "$rep" "\"error\": \"zmq_bench exited $rc\"" false
    while read -r tag key val unit; do
      [ "$tag" = RESULT ] || continue
      emit "$ZMQ_SYSTEM" "$key" "$n" "$val" "$unit" "$rep" "\"calls\": $LIMIT_RT_N, \"note\": \"machine limit (2 or 3 processes, no engines), measured in the N=$n loop\"" false
    done < "$tmp"
  done
  rm -f "$tmp"
}

crew_rep() {  # N REP: start, workloads, stop
  local n=$1 rep=$2 p="bench-n$1-r$2" t0 t1 rc out="$OUT/.start.json" stopj="$OUT/.stop.json" alive pid pids
  STARTED+=("$p")
  say "crew N=$n rep=$rep: crew cluster start -n $n --profile $p"
  t0=$(now)
  run_child timeout "$CMD_TIMEOUT" "$CREW" cluster start -n "$n" --profile "$p" --json >"$out" 2>>"$LOG"
  rc=$?; t1=$(now)
  if [ $rc -ne 0 ]; then
    emit "$CREW_SYSTEM" startup "$n" null s "$rep" "\"error\": \"crew cluster start exited $rc: $(json_str "$(tail -3 "$LOG")")\""
    return 1
  fi
  emit "$CREW_SYSTEM" startup "$n" "$(elapsed "$t0" "$t1")" s "$rep" "\"crew_reported_s\": $(json_num seconds "$out"), \"command\": \"crew cluster start -n $n\""

  say "crew N=$n rep=$rep: crew-bench ($CREW_WORKLOADS)"
  run_child timeout "$BENCH_TIMEOUT" "$CREW_BENCH" --profile "$p" --engines "$n" --reps 1 --first-rep "$rep" \
      --tasks "$TASKS" --latency-calls "$LATENCY_CALLS" --workloads "$CREW_WORKLOADS" >"$OUT/.bench.jsonl" 2>>"$LOG"
  rc=$?
  tee -a "$RAW" < "$OUT/.bench.jsonl"
  rm -f "$OUT/.bench.jsonl"
  if [ "$rc" -ne 0 ]; then
    say "crew-bench exited $rc (124 = timed out after $BENCH_TIMEOUT s); see $LOG"
    emit "$CREW_SYSTEM" crew_bench_failed "$n" null run "$rep" "\"error\": \"crew-bench exited $rc\""
  fi

  if [ "$SKIP_DATA" != 1 ]; then
    say "crew N=$n rep=$rep: crew-data-bench (sizes $DATA_SIZES MiB)"
    run_child timeout "$BENCH_TIMEOUT" "$CREW_DATA_BENCH" --profile "$p" --reps 1 --first-rep "$rep" \
        --sizes "$DATA_SIZES" >"$OUT/.data.jsonl" 2>>"$LOG"
    rc=$?
    tee -a "$RAW" < "$OUT/.data.jsonl"
    rm -f "$OUT/.data.jsonl"
    [ "$rc" -eq 0 ] || emit "$CREW_SYSTEM" crew_data_bench_failed "$n" null run "$rep" "\"error\": \"crew-data-bench exited $rc\""
  fi

  say "crew N=$n rep=$rep: crew cluster stop --profile $p"
  t0=$(now)
  run_child timeout "$CMD_TIMEOUT" "$CREW" cluster stop --profile "$p" --json >"$stopj" 2>>"$LOG"
  rc=$?; t1=$(now)
  if [ $rc -ne 0 ]; then
    emit "$CREW_SYSTEM" shutdown "$n" null s "$rep" "\"error\": \"crew cluster stop exited $rc\""
    return 1
  fi
  # the command promises every process is gone when it returns: check the ones it names
  pids="$(grep -o '"stopped":\[[0-9,]*\]' "$stopj" | grep -o '[0-9][0-9]*')"
  alive=0
  # (a zombie has exited: here PID 1 reaps orphans lazily, so count only live states)
  for pid in $pids; do
    [ -r "/proc/$pid/stat" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] && alive=$((alive + 1))
  done
  local forced; forced="$(grep -o '"forced":[a-z]*' "$stopj" | cut -d: -f2)"
  emit "$CREW_SYSTEM" shutdown "$n" "$(elapsed "$t0" "$t1")" s "$rep" "\"crew_reported_s\": $(json_num seconds "$stopj"), \"processes\": $(echo $pids | wc -w), \"alive_after_stop\": $alive, \"forced\": ${forced:-null}"
  [ $alive -eq 0 ] || say "WARNING: $alive process(es) of '$p' still alive after 'crew cluster stop' returned"
  rm -f "$out" "$stopj"
}

memory_limits() {  # N REP: first-touch and warm copy rates at 512 MiB (bench/memory_limits.cpp)
  local n=$1 rep=$2 tag key val unit rc tmp="$OUT/.mem.txt"
  run_child timeout "$CMD_TIMEOUT" "$MEMORY_LIMITS" --mib 512 --reps 1 >"$tmp" 2>>"$LOG"
  rc=$?
  [ $rc -eq 0 ] || emit "memory-limit" first_touch_copy_512MB "$n" null GB/s "$rep" "\"error\": \"memory-limits exited $rc\"" false
  while read -r tag key val unit; do
    [ "$tag" = RESULT ] || continue
    emit "memory-limit" "$key" "$n" "$val" "$unit" "$rep" "\"note\": \"machine limit (one process), measured in the N=$n loop\"" false
  done < "$tmp"
  rm -f "$tmp"
}

for N in $ENGINES; do
  for ((rep = 0; rep < REPS; rep++)); do
    say "== N=$N rep=$rep/$REPS (loadavg $(loadavg1))"
    bare_mpirun "$N" "$rep"
    crew_rep "$N" "$rep" || say "crew N=$N rep=$rep failed; see $LOG"
    [ "$SKIP_LIMITS" = 1 ] || [ "$ZMQ_LIMITS" = 0 ] || zmq_limits "$N" "$rep"
    [ "$SKIP_LIMITS" = 1 ] || [ "$SKIP_DATA" = 1 ] || memory_limits "$N" "$rep"
  done
done

# ---- ipyparallel anchors ------------------------------------------------------------------------
if [ "$SKIP_IPP" != 1 ] && [ ! -f "$ANCHORS/run_all.sh" ]; then
  say "note: no $ANCHORS/run_all.sh: skipping the ipyparallel and mpi4py.futures rows (set ANCHORS=dir to include them)"
elif [ "$SKIP_IPP" != 1 ]; then
  # mpi4py is needed by the anchors' startup_ipcluster_mpi (engines as `mpiexec python3 -m
  # ipyparallel.engine` ranks); without it that case waits 120 s for engines and fails.
  IPP_PKGS="python3-ipyparallel python3-zmq python3-numpy python3-mpi4py"
  if ! "$SYSPY" -c 'import ipyparallel, zmq, numpy, mpi4py' 2>/dev/null; then
    if [ "$INSTALL_IPP" = 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      say "installing Debian's $IPP_PKGS"
      { DEBIAN_FRONTEND=noninteractive apt-get install -y $IPP_PKGS ||
        { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $IPP_PKGS; }
      } >>"$LOG" 2>&1
    fi
    "$SYSPY" -c 'import mpi4py' 2>/dev/null ||
      say "WARNING: mpi4py is missing for $SYSPY: the anchors' startup_ipcluster_mpi will fail (after 120 s)"
  fi
  if "$SYSPY" -c 'import ipyparallel, zmq, numpy' 2>/dev/null; then
    IPYTHONDIR_PRIVATE="$(mktemp -d /tmp/crew-bench-ipython.XXXXXX)"
    say "ipyparallel anchors: ENGINES='$ENGINES' REPS=$IPP_REPS BUDGET=$IPP_BUDGET WORKLOADS=$IPP_WORKLOADS"
    mkdir -p "$OUT/ipp"
    IPYTHONDIR="$IPYTHONDIR_PRIVATE" OUT="$OUT/ipp" ENGINES="$ENGINES" REPS="$IPP_REPS" BUDGET="$IPP_BUDGET" \
      WORKLOADS="$IPP_WORKLOADS" SKIP_MPI4PY="$SKIP_MPI4PY" SKIP_IPP=0 MPI4PY_TASKS="$MPI4PY_TASKS" \
      MPI4PY_ITEMS="$MPI4PY_ITEMS" \
      run_child timeout 3600 bash "$ANCHORS/run_all.sh" >"$OUT/ipp/run_all.out" 2>&1 ||
      say "the anchors' run_all.sh exited $?; see $OUT/ipp/"
    if [ -s "$OUT/ipp/raw.jsonl" ]; then
      grep '^{' "$OUT/ipp/raw.jsonl" >> "$RAW"
    else
      say "no ipyparallel results; see $OUT/ipp/"
    fi
  else
    say "ipyparallel is not importable from $SYSPY: skipping the anchors (apt-get install python3-ipyparallel python3-zmq python3-numpy)"
  fi
fi

echo "loadavg at end: $(cat /proc/loadavg)" >> "$OUT/env.txt"
"$PY" "$HERE/summarize.py" "$RAW" --md "$OUT/medians.md" --json "$OUT/medians.jsonl" --env "$OUT/env.txt" ||
  die "summarize.py failed"
cat "$OUT/medians.md"
say "results in $OUT (raw.jsonl, medians.md, medians.jsonl, env.txt, run.log, crew-home/ logs)"
