// Chunked bulk transfers over MPI.
#include "engine/mpi_bulk.hpp"

#include <algorithm>
#include <climits>
#include <cstring>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "common/env.hpp"
#include "engine/mpi_check.hpp"
#include "engine/mpi_frames.hpp"

namespace crew::detail::mpi_bulk {
namespace {

constexpr int tag_bulk = 7201;

int as_int(std::uint64_t n) { return static_cast<int>(n); }

std::uint64_t total_of(const std::vector<std::uint64_t>& counts) {
  return std::accumulate(counts.begin(), counts.end(), std::uint64_t{0});
}

/// One MPI_Scatterv / MPI_Gatherv can carry it: every count and displacement fits the limit.
bool fits_one_call(const std::vector<std::uint64_t>& counts) { return total_of(counts) <= chunk_bytes(); }

void send_chunked(MPI_Comm comm, int dest, const std::byte* data, std::uint64_t n, std::vector<MPI_Request>& reqs) {
  const std::size_t chunk = chunk_bytes();
  for (std::uint64_t at = 0; at < n; at += chunk) {
    reqs.emplace_back();
    CREW_MPI_CHECK(MPI_Isend, (data + at, as_int(std::min<std::uint64_t>(chunk, n - at)), MPI_BYTE, dest, tag_bulk,
                               comm, &reqs.back()));
  }
}

void recv_chunked(MPI_Comm comm, int source, std::byte* data, std::uint64_t n, std::vector<MPI_Request>& reqs) {
  const std::size_t chunk = chunk_bytes();
  for (std::uint64_t at = 0; at < n; at += chunk) {
    reqs.emplace_back();
    CREW_MPI_CHECK(MPI_Irecv, (data + at, as_int(std::min<std::uint64_t>(chunk, n - at)), MPI_BYTE, source, tag_bulk,
                               comm, &reqs.back()));
  }
}

void wait_all(std::vector<MPI_Request>& reqs) {
  if (!reqs.empty()) CREW_MPI_CHECK(MPI_Waitall, (static_cast<int>(reqs.size()), reqs.data(), MPI_STATUSES_IGNORE));
}

/// The int counts and displacements of a *v collective that fits one call.
std::pair<std::vector<int>, std::vector<int>> counts_and_displacements(const std::vector<std::uint64_t>& counts) {
  std::vector<int> c(counts.size()), d(counts.size());
  std::uint64_t at = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    c[i] = as_int(counts[i]);
    d[i] = as_int(at);
    at += counts[i];
  }
  return {std::move(c), std::move(d)};
}

}  // namespace

std::size_t chunk_bytes() {
  static const auto bytes = static_cast<std::size_t>(env_integer("CREW_MPI_CHUNK_BYTES", 1, 1LL << 30, 1LL << 30));
  return bytes;
}

MPI_Datatype datatype_of(dtype t) {
  switch (t) {
  case dtype::int8: return MPI_INT8_T;
  case dtype::int16: return MPI_INT16_T;
  case dtype::int32: return MPI_INT32_T;
  case dtype::int64: return MPI_INT64_T;
  case dtype::uint8: return MPI_UINT8_T;
  case dtype::uint16: return MPI_UINT16_T;
  case dtype::uint32: return MPI_UINT32_T;
  case dtype::uint64: return MPI_UINT64_T;
  case dtype::float32: return MPI_FLOAT;
  case dtype::float64: return MPI_DOUBLE;
  }
  return MPI_BYTE;
}

MPI_Op op_of(op o) {
  switch (o) {
  case op::sum: return MPI_SUM;
  case op::prod: return MPI_PROD;
  case op::min: return MPI_MIN;
  case op::max: return MPI_MAX;
  }
  return MPI_SUM;
}

void scatterv(MPI_Comm comm, int root, const std::byte* send, const std::vector<std::uint64_t>& counts,
              std::byte* recv) {
  int rank = 0, size = 0;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  if (fits_one_call(counts)) {
    const auto [c, d] = counts_and_displacements(counts);
    CREW_MPI_CHECK(MPI_Scatterv,
                   (send, c.data(), d.data(), MPI_BYTE, recv, c[static_cast<std::size_t>(rank)], MPI_BYTE, root, comm));
    return;
  }
  std::vector<MPI_Request> reqs;
  if (rank == root) {
    std::uint64_t at = 0;
    for (int r = 0; r < size; ++r) {
      const std::uint64_t n = counts[static_cast<std::size_t>(r)];
      if (r == root) {
        if (n) std::memcpy(recv, send + at, n);
      } else {
        send_chunked(comm, r, send + at, n, reqs);
      }
      at += n;
    }
  } else {
    recv_chunked(comm, root, recv, counts[static_cast<std::size_t>(rank)], reqs);
  }
  wait_all(reqs);
}

void gatherv(MPI_Comm comm, int root, const std::byte* send, const std::vector<std::uint64_t>& counts,
             std::byte* recv) {
  int rank = 0, size = 0;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  if (fits_one_call(counts)) {
    const auto [c, d] = counts_and_displacements(counts);
    CREW_MPI_CHECK(MPI_Gatherv,
                   (send, c[static_cast<std::size_t>(rank)], MPI_BYTE, recv, c.data(), d.data(), MPI_BYTE, root, comm));
    return;
  }
  std::vector<MPI_Request> reqs;
  if (rank == root) {
    std::uint64_t at = 0;
    for (int r = 0; r < size; ++r) {
      const std::uint64_t n = counts[static_cast<std::size_t>(r)];
      if (r == root) {
        if (n) std::memcpy(recv + at, send, n);
      } else {
        recv_chunked(comm, r, recv + at, n, reqs);
      }
      at += n;
    }
  } else {
    send_chunked(comm, root, send, counts[static_cast<std::size_t>(rank)], reqs);
  }
  wait_all(reqs);
}

void bcast(MPI_Comm comm, int root, std::byte* data, std::uint64_t count) {
  const std::size_t chunk = chunk_bytes();
  for (std::uint64_t at = 0; at < count; at += chunk)
    CREW_MPI_CHECK(MPI_Bcast, (data + at, as_int(std::min<std::uint64_t>(chunk, count - at)), MPI_BYTE, root, comm));
}

void reduce(MPI_Comm comm, int root, const void* send, void* recv, std::uint64_t n, dtype t, op o) {
  const std::size_t esize = dtype_size(t);
  const std::uint64_t per_call = std::max<std::uint64_t>(1, chunk_bytes() / esize);
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  const auto* in = static_cast<const std::byte*>(send);
  auto* out = static_cast<std::byte*>(recv);
  for (std::uint64_t at = 0; at < n; at += per_call)
    CREW_MPI_CHECK(MPI_Reduce, (in + at * esize, rank == root ? out + at * esize : nullptr,
                                as_int(std::min(per_call, n - at)), datatype_of(t), op_of(o), root, comm));
}

std::vector<std::byte> bcast_blob(MPI_Comm comm, int root, std::vector<std::byte> blob) {
  std::uint64_t n = blob.size();
  CREW_MPI_CHECK(MPI_Bcast, (&n, 1, MPI_UINT64_T, root, comm));
  blob.resize(static_cast<std::size_t>(n));
  bcast(comm, root, blob.data(), n);
  return blob;
}

std::vector<std::vector<std::byte>> gather_blobs(MPI_Comm comm, int root, const std::vector<std::byte>& blob) {
  int rank = 0, size = 0;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  std::uint64_t mine = blob.size();
  std::vector<std::uint64_t> counts(static_cast<std::size_t>(size));
  CREW_MPI_CHECK(MPI_Gather, (&mine, 1, MPI_UINT64_T, counts.data(), 1, MPI_UINT64_T, root, comm));
  CREW_MPI_CHECK(MPI_Bcast, (counts.data(), size, MPI_UINT64_T, root, comm));
  std::vector<std::byte> all(rank == root ? static_cast<std::size_t>(total_of(counts)) : 0);
  gatherv(comm, root, blob.data(), counts, all.data());
  std::vector<std::vector<std::byte>> out;
  if (rank != root) return out;
  std::size_t at = 0;
  for (auto n : counts) {
    out.emplace_back(all.begin() + static_cast<std::ptrdiff_t>(at), all.begin() + static_cast<std::ptrdiff_t>(at + n));
    at += static_cast<std::size_t>(n);
  }
  return out;
}

}  // namespace crew::detail::mpi_bulk
