// memory-limits: what one process can do with fresh and with reused memory, the floor under every
// bulk transfer into a process that has not held that much memory before.
//
//   first_touch_copy_<M>MB      memcpy of M MiB from a warm buffer into a fresh mapping (page faults:
//                               the kernel zeroes, and on a VM the hypervisor backs, every new page)
//   first_touch_copy_<M>MB_thp  the same into a mapping advised for transparent huge pages (as crew's
//                               heaps are: common/memory.cpp)
//   memcpy_warm_<M>MB           the same copy again into the same, now resident, destination
//
// Output: `RESULT <key> <value> GB/s` lines (GB = 1e9 bytes), as zmq_bench's; the median of --reps.
// Usage: memory-limits [--mib M] [--reps R]
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

std::byte* fresh_mapping(std::size_t bytes, bool huge) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    std::perror("memory-limits: mmap");
    std::exit(1);
  }
  if (huge) (void)::madvise(p, bytes, MADV_HUGEPAGE);
  return static_cast<std::byte*>(p);
}

/// GB/s of one copy of `bytes` from `from` into `to`.
double copy_rate(std::byte* to, const std::byte* from, std::size_t bytes) {
  const auto t0 = std::chrono::steady_clock::now();
  std::memcpy(to, from, bytes);
  asm volatile("" : : "r"(to) : "memory");
  return static_cast<double>(bytes) / seconds_since(t0) / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t mib = 512;
  int reps = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--mib")
      mib = std::strtoull(argv[i + 1], nullptr, 10);
    else if (k == "--reps")
      reps = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "memory-limits: unknown option %s (options: --mib M, --reps R)\n", k.c_str());
      return 2;
    }
  }
  if (mib == 0 || reps <= 0) {
    std::fprintf(stderr, "memory-limits: --mib and --reps must be positive\n");
    return 2;
  }
  const std::size_t bytes = mib << 20;
  std::byte* source = fresh_mapping(bytes, false);
  std::memset(source, 1, bytes);
  std::vector<double> cold, cold_thp, warm;
  for (int r = 0; r < reps; ++r) {
    for (bool huge : {false, true}) {
      std::byte* to = fresh_mapping(bytes, huge);
      (huge ? cold_thp : cold).push_back(copy_rate(to, source, bytes));
      if (huge) warm.push_back(copy_rate(to, source, bytes));
      ::munmap(to, bytes);
    }
  }
  const std::string m = std::to_string(mib) + "MB";
  std::printf("RESULT first_touch_copy_%s %.4g GB/s\n", m.c_str(), median(cold));
  std::printf("RESULT first_touch_copy_%s_thp %.4g GB/s\n", m.c_str(), median(cold_thp));
  std::printf("RESULT memcpy_warm_%s %.4g GB/s\n", m.c_str(), median(warm));
  return 0;
}
