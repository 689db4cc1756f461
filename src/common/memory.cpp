// Allocator settings for bulk data and many small records (see memory.hpp).
#include "common/memory.hpp"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <mutex>

namespace crew {
namespace {

constexpr std::size_t heap_reserve = std::size_t{512} << 20;

/// Grows the heap by `bytes` at once (address space only: nothing is touched) and marks that
/// stretch for huge pages. The block is freed right away and the trim threshold keeps it in the
/// heap, so the heap's next `bytes` come from marked memory. (Growth beyond it gets a mapping of
/// its own, unmarked: glibc's tunable glibc.malloc.hugetlb=1, which crew's launchers set for the
/// processes they start, marks every growth.)
void advise_heap_hugepages(std::size_t bytes) noexcept {
  constexpr std::uintptr_t huge = std::uintptr_t{2} << 20;
  constexpr std::uintptr_t page = 4096;
  void* block = std::malloc(bytes);
  if (block == nullptr) return;
  // From the first huge-page boundary in the block up to the heap's end (the break): the mapping
  // the heap grows from next must be the marked one.
  const auto start = (reinterpret_cast<std::uintptr_t>(block) + huge - 1) & ~(huge - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(::sbrk(0)) + page - 1) & ~(page - 1);
  if (end > start) (void)::madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE);
  std::free(block);
}

}  // namespace

void keep_freed_memory_for_reuse() noexcept {
  static std::once_flag once;
  std::call_once(once, [] {
    constexpr int one_gib = 1 << 30;
    mallopt(M_MMAP_THRESHOLD, one_gib);
    mallopt(M_TRIM_THRESHOLD, one_gib);
    // One arena: ZeroMQ's I/O thread allocates received messages, the main thread frees them;
    // per-thread arenas give their freed heaps back to the kernel regardless of the threshold.
    mallopt(M_ARENA_MAX, 1);
    advise_heap_hugepages(heap_reserve);
  });
}

void release_unused_memory() noexcept {
  malloc_trim(0);
  advise_heap_hugepages(heap_reserve);  // trimming gave the marked stretch back; mark anew
}

}  // namespace crew
