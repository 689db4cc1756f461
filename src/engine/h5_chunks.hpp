#pragma once
// The chunk shape of a dataset save_h5 creates (engine/h5_collectives.cpp). HDF5 allocates whole
// chunks, so a chunk larger than the data makes the file larger than the data: 20 doubles in
// chunks of 4 MiB made a 4.2 MB file. Like h5py's guess_chunk, the chunk starts as the whole
// dataset and is halved until it is at most the target size; crew halves the rows first (each
// engine writes whole rows, and appends grow the first axis), then the trailing axes in order.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace crew::detail::h5 {

/// About 1 MiB: large enough for fast parallel writes, small enough that a small dataset's one
/// chunk is hardly larger than the data.
inline constexpr std::uint64_t chunk_target_bytes = 1u << 20;

/// Chunk dimensions for a dataset of `dims` (rows first) with elements of `element_size` bytes:
/// never more rows than `dims` has (at least 1: a chunk dimension is never 0), at most
/// `target_bytes` per chunk unless one element is larger.
inline std::vector<std::uint64_t> chunk_dims(std::vector<std::uint64_t> dims, std::size_t element_size,
                                             std::uint64_t target_bytes = chunk_target_bytes) {
  for (auto& d : dims) d = d == 0 ? 1 : d;
  auto bytes = [&] {
    std::uint64_t n = element_size;
    for (auto d : dims) n *= d;
    return n;
  };
  if (dims.empty()) return dims;
  // Rows first: as many as fit (dividing rather than halving: the same result, in one step).
  std::uint64_t row = element_size;
  for (std::size_t i = 1; i < dims.size(); ++i) row *= dims[i];
  if (bytes() > target_bytes) dims[0] = target_bytes / row > 0 ? target_bytes / row : 1;
  // One row is still too large: halve the trailing axes, the first one first.
  for (std::size_t axis = 1; axis < dims.size() && bytes() > target_bytes; ++axis)
    while (dims[axis] > 1 && bytes() > target_bytes) dims[axis] = (dims[axis] + 1) / 2;
  return dims;
}

}  // namespace crew::detail::h5
