#pragma once
// MPI calls that report failure instead of aborting the world (Boost.MPI's BOOST_MPI_CHECK_RESULT).
//
// Every communicator crew owns (the engine's duplicates of its world, and the sub-communicators
// of collectives over some of its ranks) is made through own_comm / with MPI_ERRORS_RETURN, so a
// failing MPI routine returns its error code; CREW_MPI_CHECK turns that into crew::MpiError
// [crew.mpi.failed] naming the routine and MPI's error class, which the executor sends to the
// client as the task's error. (The communicator user code gets, Context::comm(), keeps the
// application's own error handler: code written for MPI's default does not check results.)
//
//   CREW_MPI_CHECK(MPI_Bcast, (data, n, MPI_BYTE, root, comm));

#include <mpi.h>

#include "common/internal_api.hpp"

#include <string_view>
#include <vector>

namespace crew::detail {

/// Throws crew::MpiError "<routine> failed: <MPI_ERR_CLASS>: <MPI's error string>" unless `rc`
/// is MPI_SUCCESS.
CREW_INTERNAL_API void mpi_check(int rc, const char* routine);

/// The name of an MPI error class ("MPI_ERR_TRUNCATE"), or "MPI error class <n>".
CREW_INTERNAL_API std::string_view mpi_error_class_name(int error_class);

/// Makes `comm` return errors instead of aborting (MPI_ERRORS_RETURN).
CREW_INTERNAL_API void return_errors(MPI_Comm comm);

/// A duplicate of `parent` that crew owns: MPI_Comm_dup, then return_errors. The caller frees it.
CREW_INTERNAL_API MPI_Comm own_comm(MPI_Comm parent);

/// A communicator of `ranks` of `parent` (MPI_Comm_create_group; collective over `ranks` only),
/// returning errors. The caller frees it.
CREW_INTERNAL_API MPI_Comm own_sub_comm(MPI_Comm parent, const std::vector<int>& ranks);

}  // namespace crew::detail

/// Calls `routine` with the parenthesised `args` and throws crew::MpiError if it fails.
#define CREW_MPI_CHECK(routine, args) ::crew::detail::mpi_check(routine args, #routine)
