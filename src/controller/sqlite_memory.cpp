#include "controller/sqlite_memory.hpp"

#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace crew::sqlite {

namespace {

// Block sizes, header included: powers of two, and one for a page of the cache (4 KiB of data
// plus the cache's own header, which 4 KiB + 512 B holds).
constexpr std::array<std::size_t, 10> class_bytes{32, 64, 128, 256, 512, 1024, 2048, 4096, 4096 + 512, 8192};
constexpr std::size_t header = 16;              // the block's size; keeps 16-byte alignment
constexpr std::size_t cached_per_class = 1024;  // at most ~15 MiB kept per thread

int class_of(std::size_t bytes) {
  for (std::size_t c = 0; c < class_bytes.size(); ++c)
    if (bytes <= class_bytes[c]) return static_cast<int>(c);
  return -1;
}

struct Cache {
  std::array<std::vector<void*>, class_bytes.size()> free;
  ~Cache() {
    for (auto& list : free)
      for (void* p : list) std::free(p);
  }
};

// The calling thread's free blocks. A plain pointer, so that an allocation after the thread's
// destructors ran (SQLite closing a database from a static destructor) finds none and goes to
// malloc and free directly.
thread_local Cache* cache = nullptr;
thread_local bool cache_gone = false;
struct CacheOwner {
  ~CacheOwner() {
    delete cache;
    cache = nullptr;
    cache_gone = true;
  }
};
thread_local CacheOwner owner;

Cache* my_cache() {
  if (cache == nullptr && !cache_gone) {
    (void)&owner;  // its destructor now runs at the thread's end
    cache = new Cache;
  }
  return cache;
}

void* allocate(int n) {
  const std::size_t need = static_cast<std::size_t>(n) + header;
  const int c = class_of(need);
  void* base = nullptr;
  if (Cache* k = c >= 0 ? my_cache() : nullptr; k != nullptr && !k->free[c].empty()) {
    base = k->free[c].back();
    k->free[c].pop_back();
  } else {
    base = std::malloc(c >= 0 ? class_bytes[c] : need);
    if (base == nullptr) return nullptr;
  }
  const std::uint64_t usable = (c >= 0 ? class_bytes[c] : need) - header;
  std::memcpy(base, &usable, sizeof usable);
  return static_cast<char*>(base) + header;
}

int size_of(void* p) {
  std::uint64_t usable = 0;
  std::memcpy(&usable, static_cast<char*>(p) - header, sizeof usable);
  return static_cast<int>(usable);
}

void release(void* p) {
  if (p == nullptr) return;
  void* base = static_cast<char*>(p) - header;
  const int c = class_of(static_cast<std::size_t>(size_of(p)) + header);
  if (Cache* k = c >= 0 ? my_cache() : nullptr; k != nullptr &&
                                                class_bytes[c] == static_cast<std::size_t>(size_of(p)) + header &&
                                                k->free[c].size() < cached_per_class) {
    k->free[c].push_back(base);
    return;
  }
  std::free(base);
}

void* reallocate(void* p, int n) {
  if (n <= size_of(p)) return p;
  void* q = allocate(n);
  if (q == nullptr) return nullptr;
  std::memcpy(q, p, static_cast<std::size_t>(size_of(p)));
  release(p);
  return q;
}

int round_up(int n) {
  const int c = class_of(static_cast<std::size_t>(n) + header);
  return c >= 0 ? static_cast<int>(class_bytes[c] - header) : n;
}

int init(void*) { return SQLITE_OK; }
void shutdown(void*) {}

}  // namespace

void use_thread_caching_allocator() {
  static const sqlite3_mem_methods methods{allocate, release, reallocate, size_of, round_up, init, shutdown, nullptr};
  (void)sqlite3_config(SQLITE_CONFIG_MALLOC, &methods);
}

}  // namespace crew::sqlite
