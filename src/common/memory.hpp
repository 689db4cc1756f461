#pragma once
// Memory for bulk data and for many small records. On many machines (virtual ones above all)
// touching fresh pages costs far more than copying: this project's CI VM fills fresh memory at
// 0.2-0.5 GB/s (a page fault per 4 KiB page) but copies into memory it touched before at
// 12 GB/s, and faults on 2 MiB pages at 0.5-1.4 GB/s.
//
// So crew's processes (1) keep freed blocks for reuse: glibc hands large blocks back to the
// kernel on free() (mmap above 128 KiB-32 MiB, heap trimming above 128 KiB), so every large
// message would fault its pages in anew; the long-lived ones give them back when idle
// (release_unused_memory); and (2) ask for transparent huge pages for their heap, so that what
// does grow (a controller holding a million task records, a client holding a million results)
// faults 512 times less often. Measured here: 1.6x the load-balanced task rate, half the CPU.

namespace crew {

/// Keeps freed blocks of up to 1 GiB in the heap for reuse and asks for huge pages for the heap
/// (mallopt, madvise; on systems where transparent huge pages are "madvise" or "always").
/// Call once, early.
void keep_freed_memory_for_reuse() noexcept;
/// Returns unused heap memory to the kernel (malloc_trim); for idle moments.
void release_unused_memory() noexcept;

}  // namespace crew
