// Allocator settings for bulk data (see memory.hpp).
#include "common/memory.hpp"

#include <malloc.h>

namespace crew {

void keep_freed_memory_for_reuse() noexcept {
  constexpr int one_gib = 1 << 30;
  mallopt(M_MMAP_THRESHOLD, one_gib);
  mallopt(M_TRIM_THRESHOLD, one_gib);
}

void release_unused_memory() noexcept { malloc_trim(0); }

}  // namespace crew
