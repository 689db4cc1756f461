#pragma once
// SQLite's memory, kept per thread. crew's programs run glibc's allocator with one arena
// (common/memory.hpp), and Debian's SQLite is built without lookaside memory, so every row the
// task database's writer thread wrote took the arena's lock a few times while the event loop
// allocated under it too: the two threads waited on each other (the loop's CPU per task rose by
// 80%). With this, SQLite's blocks go back to a free list of the thread that frees them and are
// reused from there, without a lock; blocks above 8 KiB, and lists beyond 1024 blocks, go to
// malloc and free as before.

namespace crew::sqlite {

/// Before SQLite's first use in the process (sqlite::Db calls it); later calls change nothing.
void use_thread_caching_allocator();

}  // namespace crew::sqlite
