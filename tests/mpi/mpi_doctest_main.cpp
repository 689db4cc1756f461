// The main of crew's MPI tests (run as `mpirun -n K test_mpi_...`): every rank runs every case in
// the same order, so that collectives meet. Rank 0 reports as usual; the other ranks report only
// their failures. The process fails if any rank failed, so a failure on rank 2 fails the run.
// (Debian's doctest has no MPI extension; this is the little of it crew needs.)
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <mpi.h>

#include <cstdio>

#include "mpi_world.hpp"

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  doctest::Context context(argc, argv);
  if (rank != 0) context.setOption("minimal", true);  // failures only, each naming its rank below
  context.setOption("order-by", "file");              // the same order on every rank
  const int failed = context.run() != 0 ? 1 : 0;
  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (failed != 0) std::fprintf(stderr, "[rank %d] failed\n", rank);
  crew::testing::close_rank_engine();
  MPI_Finalize();
  return any_failed;
}
