// Single-copy transfers with a process on the same host (see peer_memory.hpp).
#include "engine/peer_memory.hpp"

#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace crew::detail::peer_memory {
namespace {

/// One call moves at most this much (the kernel may also stop short: the loop goes on from there).
constexpr std::uint64_t max_call = std::uint64_t{1} << 30;

std::string why(const char* call, std::uint64_t pid, std::uint64_t address, std::uint64_t done, std::uint64_t n,
                int error) {
  return std::string(call) + " in process " + std::to_string(pid) + " at byte " + std::to_string(done) + " of " +
         std::to_string(n) + " (address " + std::to_string(address) +
         "): " + (error ? std::strerror(error) : "no progress");
}

template <class Copy>
std::string transfer(const char* name, Copy copy, std::uint64_t pid, std::uint64_t address, std::byte* local,
                     std::uint64_t n) {
  for (std::uint64_t done = 0; done < n;) {
    const std::uint64_t len = std::min(n - done, max_call);
    iovec mine{local + done, static_cast<std::size_t>(len)};
    iovec theirs{reinterpret_cast<void*>(static_cast<std::uintptr_t>(address + done)), static_cast<std::size_t>(len)};
    const ssize_t moved = copy(static_cast<pid_t>(pid), &mine, 1, &theirs, 1, 0);
    if (moved < 0 && errno == EINTR) continue;
    if (moved <= 0) return why(name, pid, address, done, n, moved < 0 ? errno : 0);
    done += static_cast<std::uint64_t>(moved);
  }
  return {};
}

}  // namespace

std::string read(std::uint64_t pid, std::uint64_t address, std::byte* out, std::uint64_t n) {
  return transfer("process_vm_readv", ::process_vm_readv, pid, address, out, n);
}

std::string write(std::uint64_t pid, std::uint64_t address, const std::byte* in, std::uint64_t n) {
  return transfer("process_vm_writev", ::process_vm_writev, pid, address, const_cast<std::byte*>(in), n);
}

}  // namespace crew::detail::peer_memory
