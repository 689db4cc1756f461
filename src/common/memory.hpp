#pragma once
// Memory for bulk data. On many machines (virtual ones above all) touching fresh pages costs far
// more than copying: this project's CI VM fills fresh memory at 0.2-0.5 GB/s but copies into
// memory it touched before at 12 GB/s. glibc hands large blocks back to the kernel on free()
// (mmap above 128 KiB-32 MiB, heap trimming above 128 KiB), so every large message would fault
// its pages in anew. crew's processes keep freed blocks for reuse instead, and the long-lived
// ones give them back when idle (release_unused_memory).

namespace crew {

/// Keeps freed blocks of up to 1 GiB in the heap for reuse (mallopt). Call once, early.
void keep_freed_memory_for_reuse() noexcept;
/// Returns unused heap memory to the kernel (malloc_trim); for idle moments.
void release_unused_memory() noexcept;

}  // namespace crew
