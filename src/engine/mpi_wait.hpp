#pragma once
// Waiting for MPI requests without spinning a core: a world may have more ranks than cores, and
// a rank that spins in MPI_Wait takes the CPU from the one it waits for.

#include <mpi.h>

#include <thread>
#include <vector>

#include "engine/idle_backoff.hpp"
#include "engine/mpi_check.hpp"
#include "engine/mpi_frames.hpp"

namespace crew::detail {

inline void wait_napping(std::vector<MPI_Request>& requests) {
  IdleBackoff idle;
  for (;;) {
    int done = 0;
    CREW_MPI_CHECK(MPI_Testall, (static_cast<int>(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE));
    if (done) return;
    if (const auto nap = idle.next(); nap.count() > 0) std::this_thread::sleep_for(nap);
  }
}

}  // namespace crew::detail
