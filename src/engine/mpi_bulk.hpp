#pragma once
// Bulk data between the ranks of a (sub)communicator as raw MPI buffers, whatever the size.
//
// MPI counts and displacements are ints: everything here is in bytes (or elements for reduce)
// as 64-bit counts, split into pieces of at most chunk_bytes(). Up to that size scatter and
// gather are one MPI_Scatterv / MPI_Gatherv; above it they are chunked point-to-point messages
// from and to the root (Open MPI's own scatter/gather are linear in the root's sends anyway).
// Broadcast and reduce are chunked MPI_Bcast / MPI_Reduce calls.

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "crew/reduce_op.hpp"
#include "crew/value.hpp"

namespace crew::detail::mpi_bulk {

/// The largest piece moved by one MPI call: 1 GiB, or $CREW_MPI_CHUNK_BYTES (tests make it
/// small to exercise the chunked paths with small data).
std::size_t chunk_bytes();

MPI_Datatype datatype_of(dtype t);
MPI_Op op_of(op o);

/// Root: `send` holds counts[0] bytes for rank 0, then counts[1] for rank 1, ... Every rank
/// (root included) receives counts[rank] bytes into `recv`. `counts` must be the same everywhere.
void scatterv(MPI_Comm comm, int root, const std::byte* send, const std::vector<std::uint64_t>& counts,
              std::byte* recv);
/// The inverse: every rank sends counts[rank] bytes from `send`; root receives them in rank
/// order into `recv`.
void gatherv(MPI_Comm comm, int root, const std::byte* send, const std::vector<std::uint64_t>& counts, std::byte* recv);
/// `data` (count bytes) from root to everyone.
void bcast(MPI_Comm comm, int root, std::byte* data, std::uint64_t count);
/// `n` elements of type `t`, combined with `o` into root's `recv`.
void reduce(MPI_Comm comm, int root, const void* send, void* recv, std::uint64_t n, dtype t, op o);

/// Bytes from root to everyone: a small vector whose size only the root knows.
std::vector<std::byte> bcast_blob(MPI_Comm comm, int root, std::vector<std::byte> blob);
/// Every rank's blob, in rank order, at the root (empty elsewhere).
std::vector<std::vector<std::byte>> gather_blobs(MPI_Comm comm, int root, const std::vector<std::byte>& blob);

}  // namespace crew::detail::mpi_bulk
