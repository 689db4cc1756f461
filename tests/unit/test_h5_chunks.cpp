// The chunk shape save_h5 gives a new dataset (engine/h5_chunks.hpp): never more rows than the
// data has, about 1 MiB per chunk for large data, whole rows unless a row alone is larger.
#include <doctest/doctest.h>

#include "engine/h5_chunks.hpp"

using crew::detail::h5::chunk_dims;
using Dims = std::vector<std::uint64_t>;

TEST_SUITE("h5_chunks") {
  TEST_CASE("a small dataset is one chunk of exactly its size") {
    CHECK(chunk_dims({20}, 8) == Dims{20});
    CHECK(chunk_dims({5, 2}, 8) == Dims{5, 2});
    CHECK(chunk_dims({1, 3, 4}, 4) == Dims{1, 3, 4});
  }

  TEST_CASE("a large dataset gets chunks of whole rows of at most 1 MiB") {
    CHECK(chunk_dims({10'000'000}, 8) == Dims{131'072});         // 1 MiB of doubles
    CHECK(chunk_dims({1'000'000, 3}, 8) == Dims{43'690, 3});     // 43,690 rows of 24 bytes
    CHECK(chunk_dims({1'000'000, 3}, 8, 4096) == Dims{170, 3});  // another target
  }

  TEST_CASE("rows larger than the target are split along the trailing axes, the first first") {
    CHECK(chunk_dims({10, 1000, 1000}, 8) == Dims{1, 125, 1000});  // 1,000,000 bytes
    CHECK(chunk_dims({4, 1, 1'000'000}, 8) == Dims{1, 1, 125'000});
  }

  TEST_CASE("zero-length dimensions give chunks of one (HDF5 refuses chunk dimensions of 0)") {
    CHECK(chunk_dims({0}, 8) == Dims{1});
    CHECK(chunk_dims({0, 0}, 8) == Dims{1, 1});
  }
}
