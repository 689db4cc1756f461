// common/memory.hpp: an idle trim keeps freed memory warm up to the amount asked and gives back
// what is beyond it (measured on this process's own resident memory).
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/memory.hpp"

using namespace crew;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool sanitizer_allocator = true;  // malloc is the sanitizer's: nothing to trim
#else
constexpr bool sanitizer_allocator = false;
#endif

constexpr std::size_t mib = std::size_t{1} << 20;

/// Allocates `total` bytes in 1 MiB blocks, touches every byte, and frees them all.
void touch_and_free(std::size_t total) {
  std::vector<void*> blocks;
  for (std::size_t done = 0; done < total; done += mib) {
    void* b = std::malloc(mib);
    REQUIRE(b != nullptr);
    std::memset(b, 0x5a, mib);
    blocks.push_back(b);
  }
  for (void* b : blocks) std::free(b);
}

}  // namespace

TEST_SUITE("unit.memory") {

  TEST_CASE("an idle trim keeps freed memory warm up to the amount asked, and gives back beyond it" *
            doctest::skip(sanitizer_allocator)) {
    keep_freed_memory_for_reuse();
    release_unused_memory();
    const std::size_t base = free_resident_heap();

    touch_and_free(32 * mib);
    const std::size_t freed = free_resident_heap();
    CHECK(freed >= base + 24 * mib);  // free() kept the pages (no trim on its own)

    release_unused_memory(256 * mib);  // less than that is free: all of it stays resident
    CHECK(free_resident_heap() >= base + 24 * mib);

    release_unused_memory(8 * mib);  // more than that is free: given back
    CHECK(free_resident_heap() < base + 8 * mib);
  }
}
