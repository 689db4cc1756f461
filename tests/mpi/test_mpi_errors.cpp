// MPI failures on crew's own communicators come back as crew::MpiError naming the routine and
// the error class, and the world goes on; the application's communicator keeps its handler.
// A plain main under mpirun at 1, 2 and 3 ranks (Boost.MPI's habit); every rank returns the same
// exit code.
#include <mpi.h>

#include <cstdio>
#include <string>
#include <vector>

#include "crew/error.hpp"
#include "engine/mpi_check.hpp"

namespace {

int rank = 0, size = 1, failures = 0;

void check(bool ok, const std::string& what) {
  if (ok) return;
  ++failures;
  std::fprintf(stderr, "rank %d: FAILED: %s\n", rank, what.c_str());
}

bool returns_errors(MPI_Comm comm) {
  MPI_Errhandler handler = MPI_ERRHANDLER_NULL;
  MPI_Comm_get_errhandler(comm, &handler);
  const bool returns = handler == MPI_ERRORS_RETURN;
  if (handler != MPI_ERRHANDLER_NULL) MPI_Errhandler_free(&handler);
  return returns;
}

/// Each rank sends 8 ints to the next and receives them into room for 4: MPI_ERR_TRUNCATE.
/// (Not MPI_Sendrecv: Open MPI 4.1 copies a message to oneself without checking its size.)
void truncated_receive_is_an_mpi_error(MPI_Comm comm) {
  std::vector<int> out(8, rank), in(4, -1);
  const int next = (rank + 1) % size, previous = (rank + size - 1) % size;
  MPI_Request sent = MPI_REQUEST_NULL;
  CREW_MPI_CHECK(MPI_Isend, (out.data(), 8, MPI_INT, next, 5, comm, &sent));
  try {
    CREW_MPI_CHECK(MPI_Recv, (in.data(), 4, MPI_INT, previous, 5, comm, MPI_STATUS_IGNORE));
    check(false, "a truncated MPI_Recv did not throw");
  } catch (const crew::MpiError& e) {
    const std::string what = e.what();
    check(e.code() == crew::errc::mpi_failed, "code is mpi.failed");
    check(e.routine() == "MPI_Recv", "routine is MPI_Recv, not " + e.routine());
    check(e.error_class() == MPI_ERR_TRUNCATE, "class is MPI_ERR_TRUNCATE, not " + std::to_string(e.error_class()));
    check(what.rfind("[crew.mpi.failed] MPI_Recv failed: MPI_ERR_TRUNCATE", 0) == 0, "message: " + what);
  }
  CREW_MPI_CHECK(MPI_Wait, (&sent, MPI_STATUS_IGNORE));
}

/// A root that is not a rank: every rank's MPI_Bcast returns MPI_ERR_ROOT (argument checking).
void bad_root_is_an_mpi_error_on_every_rank(MPI_Comm comm) {
  int value = 0;
  try {
    CREW_MPI_CHECK(MPI_Bcast, (&value, 1, MPI_INT, size, comm));
    check(false, "MPI_Bcast with root = size did not throw");
  } catch (const crew::MpiError& e) {
    check(e.routine() == "MPI_Bcast", "routine is MPI_Bcast, not " + e.routine());
    check(e.error_class() == MPI_ERR_ROOT, "class is MPI_ERR_ROOT, not " + std::to_string(e.error_class()));
    check(std::string(e.what()).find("MPI_Bcast failed: MPI_ERR_ROOT") != std::string::npos, e.what());
  }
}

void world_goes_on(MPI_Comm comm) {
  int one = 1, total = 0;
  CREW_MPI_CHECK(MPI_Allreduce, (&one, &total, 1, MPI_INT, MPI_SUM, comm));
  check(total == size, "an Allreduce after the errors adds up to the world's size");
}

}  // namespace

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  try {
    MPI_Comm owned = crew::detail::own_comm(MPI_COMM_WORLD);
    check(returns_errors(owned), "own_comm returns errors");
    check(!returns_errors(MPI_COMM_WORLD), "the application's communicator keeps its handler");
    std::vector<int> evens;
    for (int r = 0; r < size; r += 2) evens.push_back(r);
    MPI_Comm sub = MPI_COMM_NULL;
    if (rank % 2 == 0) {
      sub = crew::detail::own_sub_comm(owned, evens);
      check(returns_errors(sub), "own_sub_comm returns errors");
    }
    truncated_receive_is_an_mpi_error(owned);
    bad_root_is_an_mpi_error_on_every_rank(owned);
    if (sub != MPI_COMM_NULL) {
      int sub_size = 0;
      MPI_Comm_size(sub, &sub_size);
      int value = 0;
      try {
        CREW_MPI_CHECK(MPI_Bcast, (&value, 1, MPI_INT, sub_size, sub));
        check(false, "a bad root on the sub-communicator did not throw");
      } catch (const crew::MpiError& e) {
        check(e.error_class() == MPI_ERR_ROOT, std::string("sub-communicator: ") + e.what());
      }
      MPI_Comm_free(&sub);
    }
    world_goes_on(owned);
    MPI_Comm_free(&owned);
  } catch (const std::exception& e) {
    check(false, std::string("unexpected exception: ") + e.what());
  }
  int any = failures, all = 0;
  MPI_Allreduce(&any, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) std::printf("%s: %d failure(s) over %d rank(s)\n", all ? "FAILED" : "passed", all, size);
  MPI_Finalize();
  return all ? 1 : 0;
}
