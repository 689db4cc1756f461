#!/usr/bin/env python3
"""Startup A/B: `crew cluster start -n W*R --worlds W` of one or more crew builds against W
parallel `mpirun -n R` of a bare MPI program (MPI_Init, MPI_Barrier, MPI_Finalize), alternating
in one run (the order reverses every rep) on a shared, noisy machine. Per start: wall time and
CPU (user + sys) of everything it started, per rank; for crew, the engines' CPU read from
/proc when `cluster start` returns, and the time `cluster stop` takes.

  python3 bench/startup_ab.py --crew base=/path/a/crew --crew new=build/src/crew --sizes 1x4,4x16,4x64 --reps 3

A build may take environment variables: --crew 'label=/path/crew VAR=value ...'. Each start has
a private CREW_HOME. Needs mpicc and mpirun; standard library only."""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

CLK = os.sysconf('SC_CLK_TCK')
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT='1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM='1')
HELLO_C = r'''
#include <mpi.h>
#include <stdio.h>
int main(int argc, char** argv) {
  int rank = 0, size = 0;
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0) printf("hello: %d ranks\n", size);
  MPI_Finalize();
  return 0;
}
'''


def hellos(worlds, ranks, hello):
    """W parallel mpiruns until all exit: wall, CPU of mpirun and its ranks (wait4)."""
    t0 = time.monotonic()
    procs = [subprocess.Popen(['mpirun', '-n', str(ranks), '--oversubscribe', hello], env=ENV,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(worlds)]
    cpu = 0.0
    for p in procs:
        _, _, usage = os.wait4(p.pid, 0)
        p.returncode = 0
        cpu += usage.ru_utime + usage.ru_stime
    return time.monotonic() - t0, cpu


def stat_fields(pid):
    with open(f'/proc/{pid}/stat') as f:
        s = f.read()
    return s[s.rindex(')') + 2:].split()


def crew_start(worlds, ranks, spec):
    """One start and stop: wall, CPU of engines + mpiruns + controller, engines' CPU, stop time, ok."""
    parts = spec.split()
    crew, extra = parts[0], dict(x.split('=', 1) for x in parts[1:])
    home = tempfile.mkdtemp(prefix='crew-startup-ab-')
    env = dict(ENV, CREW_HOME=home, **extra)
    t0 = time.monotonic()
    r = subprocess.run([crew, 'cluster', 'start', '-n', str(worlds * ranks), '--worlds', str(worlds), '--wait', '600'],
                       env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - t0
    engines, others = [], 0.0
    try:
        with open(os.path.join(home, 'profile_default', 'cluster.json')) as f:
            state = json.load(f)
        leaders = {w['pid'] for w in state['worlds']} | {state['controller_pid']}
        for entry in os.listdir('/proc'):
            if not entry.isdigit():
                continue
            try:
                fields = stat_fields(int(entry))
                if int(fields[3]) not in leaders:  # session id
                    continue
                cpu = (int(fields[11]) + int(fields[12])) / CLK
                if os.readlink(f'/proc/{entry}/exe').endswith('crew-engine'):
                    engines.append(cpu)
                else:
                    others += cpu
            except OSError:
                pass
    except (OSError, ValueError, KeyError):
        pass
    t1 = time.monotonic()
    subprocess.run([crew, 'cluster', 'stop'], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stop = time.monotonic() - t1
    shutil.rmtree(home, ignore_errors=True)
    if r.returncode != 0:
        print(f'  start failed: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.returncode}', flush=True)
    return wall, sum(engines) + others, engines, stop, r.returncode == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--crew', action='append', required=True, help="LABEL=/path/to/crew [VAR=value ...]")
    ap.add_argument('--hello', help='a bare MPI program (default: built here with mpicc)')
    ap.add_argument('--sizes', default='4x16,4x64', help='WORLDSxRANKS,...')
    ap.add_argument('--reps', type=int, default=3)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix='crew-startup-ab-hello-')
    hello = a.hello
    if hello is None:
        with open(os.path.join(tmp, 'hello.c'), 'w') as f:
            f.write(HELLO_C)
        hello = os.path.join(tmp, 'hello')
        subprocess.run(['mpicc', '-O2', '-o', hello, os.path.join(tmp, 'hello.c')], check=True)
    builds = [c.split('=', 1) for c in a.crew]
    sizes = a.sizes.split(',')
    rows = []  # (size, label, wall, cpu, ok)
    for rep in range(a.reps):
        for size in sizes:
            w, r = map(int, size.split('x'))
            order = [('hello', None)] + builds
            if rep % 2:
                order.reverse()
            for label, spec in order:
                if spec is None:
                    wall, cpu = hellos(w, r, hello)
                    ok, extra = True, ''
                else:
                    wall, cpu, engines, stop, ok = crew_start(w, r, spec)
                    per = 1000 * sum(engines) / max(1, len(engines))
                    extra = f'  engines {len(engines)} at {per:4.0f} ms/rank, stop {stop:5.2f} s' + ('' if ok else '  FAILED')
                print(f'rep {rep} {size:6s} {label:10s} wall {wall:7.2f} s  cpu {cpu:7.2f} s ({1000 * cpu / (w * r):4.0f} ms/rank){extra}',
                      flush=True)
                rows.append((size, label, wall, cpu, ok))
                time.sleep(1)
    print('\nmedians; wall ratio to the hellos of the same rep (failed starts left out)')
    for size in sizes:
        base = [x for x in rows if x[0] == size and x[1] == 'hello']
        for label in ['hello'] + [b[0] for b in builds]:
            mine = [x for x in rows if x[0] == size and x[1] == label]
            pairs = [(x, h) for x, h in zip(mine, base) if x[4]]
            if not pairs:
                print(f'{size:6s} {label:10s} every start failed')
                continue
            ratios = [x[2] / h[2] for x, h in pairs]
            print(f'{size:6s} {label:10s} wall {statistics.median(x[2] for x, _ in pairs):7.2f} s  '
                  f'cpu {statistics.median(x[3] for x, _ in pairs):7.2f} s  ratio {statistics.median(ratios):.2f} '
                  f'({" ".join(f"{q:.2f}" for q in ratios)})' + (f'  {len(mine) - len(pairs)} failed' if len(mine) > len(pairs) else ''))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
