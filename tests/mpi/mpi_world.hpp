#pragma once
// One engine per rank of `mpirun -n K`, as a world runs them, without a controller or a bridge:
// the tests hand every participating rank the same task, as the bridge would (the bulk data only
// to rank 0), and read the reply this rank sends.

#include <mpi.h>

#include <optional>
#include <string>
#include <vector>

#include "crew/value.hpp"
#include "engine/executor.hpp"
#include "protocol/wire.hpp"

namespace crew::testing {

int mpi_rank();
int mpi_size();

/// This rank's engine (engine id = rank, one world), made on first use.
detail::Executor& rank_engine();
/// Ends this rank's engine (its communicators) before MPI_Finalize.
void close_rank_engine();

/// The engine ids 0 .. K-1.
std::vector<int> all_engines();

/// Runs `function(args)` on the engines `targets` (rank 0 takes part in every collective): the
/// reply this rank sends, if it sends one. Ranks that do not take part return at once.
std::optional<wire::Packet> run_on_world(const std::string& function, Value::List args,
                                         const std::vector<int>& targets);

/// Rows r of an int64 array of `rows` x 2 hold {2r, 2r + 1}.
Value rows_array(std::uint64_t rows);

}  // namespace crew::testing
