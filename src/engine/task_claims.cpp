// Task claims in shared memory.
#include "engine/task_claims.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>

#include "crew/error.hpp"

namespace crew::detail {
namespace {

enum State : std::uint64_t { queued_state = 1, started_state = 2, withdrawn_state = 3 };

std::string name_of(const std::string& tag) { return "/crew-claims-" + tag; }

/// Per rank: the "attends" word, then the ring. After the ranks: the world's word.
constexpr std::uint64_t words_per_rank = TaskClaims::slots + 1;
std::size_t table_bytes(int ranks) {
  return (static_cast<std::size_t>(ranks) * words_per_rank + 1) * sizeof(std::uint64_t);
}

std::atomic_ref<std::uint64_t> at(std::uint64_t* w) noexcept { return std::atomic_ref<std::uint64_t>(*w); }

}  // namespace

TaskClaims TaskClaims::create(const std::string& world_tag, int ranks) {
  const std::string name = name_of(world_tag);
  const int fd = ::shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw Error(errc::internal, "shm_open " + name + ": " + std::strerror(errno));
  TaskClaims t;
  t.ranks_ = ranks;
  t.bytes_ = table_bytes(ranks);
  if (::ftruncate(fd, static_cast<off_t>(t.bytes_)) != 0) {
    const int err = errno;
    ::close(fd);
    ::shm_unlink(name.c_str());
    throw Error(errc::internal, "ftruncate " + name + ": " + std::strerror(err));
  }
  void* p = ::mmap(nullptr, t.bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) {
    ::shm_unlink(name.c_str());
    throw Error(errc::internal, "mmap " + name + ": " + std::strerror(errno));
  }
  t.base_ = static_cast<std::uint64_t*>(p);
  return t;
}

TaskClaims TaskClaims::open(const std::string& world_tag, int ranks, int rank) {
  const std::string name = name_of(world_tag);
  const int fd = ::shm_open(name.c_str(), O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) throw Error(errc::internal, "shm_open " + name + ": " + std::strerror(errno));
  TaskClaims t;
  t.ranks_ = ranks;
  t.bytes_ = table_bytes(ranks);
  void* p = ::mmap(nullptr, t.bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) throw Error(errc::internal, "mmap " + name + ": " + std::strerror(errno));
  t.base_ = static_cast<std::uint64_t*>(p);
  t.attend(rank);
  return t;
}

void TaskClaims::unlink(const std::string& world_tag) noexcept { ::shm_unlink(name_of(world_tag).c_str()); }

TaskClaims::~TaskClaims() {
  if (base_ != nullptr) ::munmap(base_, bytes_);
}

TaskClaims::TaskClaims(TaskClaims&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)), bytes_(other.bytes_), ranks_(other.ranks_) {}

TaskClaims& TaskClaims::operator=(TaskClaims&& other) noexcept {
  if (this != &other) {
    if (base_ != nullptr) ::munmap(base_, bytes_);
    base_ = std::exchange(other.base_, nullptr);
    bytes_ = other.bytes_;
    ranks_ = other.ranks_;
  }
  return *this;
}

std::uint64_t* TaskClaims::word(int rank, std::uint64_t index) const noexcept {
  return base_ + static_cast<std::uint64_t>(rank) * words_per_rank + index;
}

std::uint64_t* TaskClaims::world_word() const noexcept {
  return base_ + static_cast<std::uint64_t>(ranks_) * words_per_rank;
}

void TaskClaims::attend(int rank) noexcept {
  if (base_ != nullptr && rank >= 0 && rank < ranks_) at(word(rank, 0)).store(1, std::memory_order_release);
}

bool TaskClaims::attended(int rank) const noexcept {
  return base_ != nullptr && rank >= 0 && rank < ranks_ && at(word(rank, 0)).load(std::memory_order_acquire) == 1;
}

void TaskClaims::queued(int rank, std::uint64_t seq) noexcept {
  if (!attended(rank) || seq == 0) return;
  at(word(rank, 1 + seq % slots)).store(seq << 2 | queued_state, std::memory_order_release);
}

bool TaskClaims::start(int rank, std::uint64_t seq) noexcept {
  if (base_ == nullptr || seq == 0 || rank < 0 || rank >= ranks_) return true;
  std::uint64_t expected = seq << 2 | queued_state;
  if (at(word(rank, 1 + seq % slots)).compare_exchange_strong(expected, seq << 2 | started_state)) return true;
  return expected != (seq << 2 | withdrawn_state);  // reused by a later task: this one runs
}

bool TaskClaims::withdraw(int rank, std::uint64_t seq) noexcept {
  if (!attended(rank) || seq == 0) return false;
  std::uint64_t expected = seq << 2 | queued_state;
  return at(word(rank, 1 + seq % slots)).compare_exchange_strong(expected, seq << 2 | withdrawn_state);
}

void TaskClaims::set_output_followed(bool followed) noexcept {
  if (base_ != nullptr) at(world_word()).store(followed ? 1 : 0, std::memory_order_release);
}

bool TaskClaims::output_followed() const noexcept {
  return base_ == nullptr || at(world_word()).load(std::memory_order_acquire) != 0;
}

}  // namespace crew::detail
