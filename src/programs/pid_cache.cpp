// getpid() that asks the kernel once per process, for crew's own programs (crew, crew-engine).
//
// libzmq checks getpid() around every signal between a socket and its I/O thread, to notice a
// forked child using its parent's context: about 22 calls per load-balanced round trip in the
// controller and 10 in a bridge, each a system call since glibc 2.25 stopped caching the pid.
// On a virtual machine a system call costs about 1 µs (this project's CI VM: 1.0 µs per
// getpid), so those checks were a tenth of the controller's CPU per task.
//
// This definition takes the place of glibc's for every library in the program (the executable
// comes first in symbol lookup). The pid lives in a page the kernel wipes in a forked child
// (MADV_WIPEONFORK, Linux 4.14), so a child asks the kernel again, however it was forked and
// whatever runs first in it; where the page cannot be had, every call asks the kernel, as before.
// It is safe in signal handlers and between fork() and exec(). A vfork() child shares the page,
// so a program that calls getpid() in one must not link this file (glibc's posix_spawn does not
// call it). Libraries that embed crew (an engine in a simulation, a client) do not get it.
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <new>

namespace {

std::atomic<pid_t>* cached_pid = nullptr;  ///< in a page a forked child sees zeroed; null: no cache

pid_t kernel_pid() noexcept { return static_cast<pid_t>(::syscall(SYS_getpid)); }

__attribute__((constructor(101))) void make_pid_cache() noexcept {
  const long page_size = ::sysconf(_SC_PAGESIZE);
  void* page =
      ::mmap(nullptr, static_cast<std::size_t>(page_size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return;
  if (::madvise(page, static_cast<std::size_t>(page_size), MADV_WIPEONFORK) != 0) {
    ::munmap(page, static_cast<std::size_t>(page_size));
    return;
  }
  cached_pid = new (page) std::atomic<pid_t>(0);
}

}  // namespace

extern "C" pid_t getpid() noexcept {
  if (cached_pid == nullptr) return kernel_pid();
  pid_t pid = cached_pid->load(std::memory_order_relaxed);
  if (pid == 0) {
    pid = kernel_pid();
    cached_pid->store(pid, std::memory_order_relaxed);
  }
  return pid;
}
