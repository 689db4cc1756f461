// Allocator settings for bulk data (see memory.hpp).
#include "common/memory.hpp"

#include <malloc.h>

namespace crew {

void keep_freed_memory_for_reuse() noexcept {
  constexpr int one_gib = 1 << 30;
  mallopt(M_MMAP_THRESHOLD, one_gib);
  mallopt(M_TRIM_THRESHOLD, one_gib);
  // One arena: ZeroMQ's I/O thread allocates received messages, the main thread frees them;
  // per-thread arenas give their freed heaps back to the kernel regardless of the threshold.
  mallopt(M_ARENA_MAX, 1);
}

void release_unused_memory() noexcept { malloc_trim(0); }

}  // namespace crew
