#pragma once
// Memory for bulk data and for many small records. On many machines (virtual ones above all)
// touching fresh pages costs far more than copying: this project's CI VM copies into fresh
// memory at 0.26 GB/s (a page fault per 4 KiB page), into fresh memory advised for huge pages at
// 4.5 GB/s, and into memory it touched before at 14 GB/s (bench/memory_limits.cpp).
//
// So crew's processes (1) keep freed blocks for reuse: glibc hands large blocks back to the
// kernel on free() (mmap above 128 KiB-32 MiB, heap trimming above 128 KiB), so every large
// message would fault its pages in anew; the long-lived ones give them back when idle
// (release_unused_memory); and (2) ask for transparent huge pages for their heap, so that what
// does grow (a controller holding its 100,000 newest task records, a client a million results)
// faults 512 times less often. Measured here: 1.6x the load-balanced task rate, half the CPU.

#include <cstddef>

#include "common/internal_api.hpp"

namespace crew {

/// Keeps freed blocks of up to 2 GiB in the heap for reuse and asks for huge pages for the heap
/// (mallopt, madvise; on systems where transparent huge pages are "madvise" or "always").
/// Call once, early. `small_pages`: that much of the heap's bottom keeps small pages, for the
/// small, long-lived allocations a process makes first: an engine rank's MPI_Init and its own
/// records use 1.7 MiB there, which on huge pages held 4.7 MiB (each 2 MiB page zeroed at its
/// first touch) in every idle rank.
CREW_INTERNAL_API void keep_freed_memory_for_reuse(std::size_t small_pages = 0) noexcept;
/// Returns unused heap memory to the kernel (malloc_trim); for idle moments. Keeps it all while
/// at most `keep_warm` bytes of it are resident: a trim costs the next burst a page fault for
/// every page it touches again (1.5x the controller's CPU per task, here).
CREW_INTERNAL_API void release_unused_memory(std::size_t keep_warm = 0) noexcept;
/// Heap memory that is resident but free (resident anonymous memory less what malloc hands out),
/// in bytes; an estimate, for the decision above.
CREW_INTERNAL_API std::size_t free_resident_heap() noexcept;

}  // namespace crew
