/* mpi-hello: the startup baseline. `mpirun -n N mpi-hello` starts N ranks that initialise MPI
 * and finalise it, nothing else; bench/run.sh times it as `startup_bare_mpirun` next to
 * `crew cluster start -n N`. Rank 0 prints one line so a failed launch is visible. */
#include <mpi.h>
#include <stdio.h>

int main(int argc, char** argv) {
  int rank = 0, size = 0;
  if (MPI_Init(&argc, &argv) != MPI_SUCCESS) return 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (rank == 0) {
    printf("mpi-hello: %d ranks\n", size);
    fflush(stdout); /* seen at once in a batch job's output file (bench/launcher_bench.sh waits on it) */
  }
  MPI_Finalize();
  return 0;
}
