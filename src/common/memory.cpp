// Allocator settings for bulk data and many small records (see memory.hpp).
#include "common/memory.hpp"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <mutex>
#include <string>

namespace crew {
namespace {

// Under AddressSanitizer malloc is the sanitizer's, not glibc's: the settings mean nothing to it,
// and the reserve would cost a poisoned shadow of 1.5 GiB in every process.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool glibc_allocator = false;
#else
constexpr bool glibc_allocator = true;
#endif

/// How much of the heap to mark for huge pages up front: an eighth of the machine's memory,
/// between 512 MiB and 1.5 GiB. The processes crew starts have every later growth marked too
/// (glibc.malloc.hugetlb=1); a client program started otherwise has only this.
std::size_t heap_reserve() noexcept {
  constexpr std::size_t mib = std::size_t{1} << 20;
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  const std::size_t eighth = pages > 0 && page > 0 ? static_cast<std::size_t>(pages) * page / 8 : 0;
  return std::clamp(eighth, 512 * mib, 1536 * mib);
}

/// Bytes at the bottom of the reserve that keep small pages (keep_freed_memory_for_reuse).
std::size_t small_pages_first = 0;

/// Grows the heap by `bytes` at once (address space only: nothing is touched) and marks that
/// stretch for huge pages. The block is freed right away and the trim threshold keeps it in the
/// heap, so the heap's next `bytes` come from marked memory. (Growth beyond it gets a mapping of
/// its own, unmarked: glibc's tunable glibc.malloc.hugetlb=1, which crew's launchers set for the
/// processes they start, marks every growth.) The first `small_pages_first` bytes of the block
/// are marked for small pages instead (that tunable marked them too).
void advise_heap_hugepages(std::size_t bytes) noexcept {
  constexpr std::uintptr_t huge = std::uintptr_t{2} << 20;
  constexpr std::uintptr_t page = 4096;
  void* block = std::malloc(bytes);
  if (block == nullptr) return;
  const auto at = reinterpret_cast<std::uintptr_t>(block);
  // From the first huge-page boundary in the block (after the small pages) up to the heap's end
  // (the break): the mapping the heap grows from next must be the marked one.
  const auto start = (at + std::min(small_pages_first, bytes) + huge - 1) & ~(huge - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(::sbrk(0)) + page - 1) & ~(page - 1);
  if (small_pages_first > 0) {
    const auto small = (at + page - 1) & ~(page - 1);
    if (std::min(start, end) > small)
      (void)::madvise(reinterpret_cast<void*>(small), std::min(start, end) - small, MADV_NOHUGEPAGE);
  }
  if (end > start) (void)::madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE);
  // malloc wrote the heap's top chunk header just past the block, at the end of the marked
  // stretch, which faulted in a (huge) page there; once the block is back in the top chunk
  // (whose header is then at the block's start) that page holds nothing: give it back.
  const auto tail = std::max(start, (at + bytes) & ~(huge - 1));
  std::free(block);
  if (end > tail) (void)::madvise(reinterpret_cast<void*>(tail), end - tail, MADV_DONTNEED);
}

}  // namespace

void keep_freed_memory_for_reuse(std::size_t small_pages) noexcept {
  if (!glibc_allocator) return;
  static std::once_flag once;
  std::call_once(once, [small_pages] {
    small_pages_first = small_pages;
    // Blocks below 2 GiB come from the heap (and go back to it), not from mappings of their own;
    // the heap is never trimmed on its own (-1: the reserve below plus one large freed array
    // would pass any finite threshold), only by release_unused_memory.
    constexpr int two_gib = std::numeric_limits<int>::max();
    mallopt(M_MMAP_THRESHOLD, two_gib);
    mallopt(M_TRIM_THRESHOLD, -1);
    // One arena: ZeroMQ's I/O thread allocates received messages, the main thread frees them;
    // per-thread arenas give their freed heaps back to the kernel regardless of the threshold.
    mallopt(M_ARENA_MAX, 1);
    advise_heap_hugepages(heap_reserve());
  });
}

std::size_t free_resident_heap() noexcept {
  if (!glibc_allocator) return 0;
  std::size_t anon = 0;
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("RssAnon:", 0) == 0) anon = std::strtoull(line.c_str() + 8, nullptr, 10) * 1024;
  const struct mallinfo2 m = mallinfo2();
  const std::size_t used = m.uordblks + m.hblkhd;
  return anon > used ? anon - used : 0;
}

void release_unused_memory(std::size_t keep_warm) noexcept {
  if (!glibc_allocator) return;
  if (keep_warm > 0 && free_resident_heap() <= keep_warm) return;
  malloc_trim(0);
  advise_heap_hugepages(heap_reserve());  // trimming gave the marked stretch back; mark anew
}

}  // namespace crew
