#pragma once
// Mailbox<T>: hands items from one thread to another.
//
// The consumer either blocks in pop_wait() or watches fd() (an eventfd) in its poll loop and then
// drains everything at once (one consumer uses one of the two ways). The eventfd is written only
// when the box goes from empty to non-empty, so a busy producer pays one syscall per batch, not
// per item, and drain() on an empty box pays none.
//
// Items wait in a Fifo (common/fifo.hpp), which a drain swaps with the consumer's emptied one: a
// steady stream of items allocates nothing.

#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>

#include "common/fifo.hpp"
#include "crew/error.hpp"

namespace crew {

template <class T>
class Mailbox {
public:
  Mailbox() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (fd_ < 0) throw_error(errc::internal, "eventfd() failed");
  }
  ~Mailbox() { ::close(fd_); }
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  void push(T item) {
    bool was_empty;
    {
      std::lock_guard lock(mutex_);
      was_empty = items_.empty();
      items_.push_back(std::move(item));
      if (was_empty) {
        // Under the lock: whoever sees this item sees the eventfd armed (drain relies on it).
        const std::uint64_t one = 1;
        (void)!::write(fd_, &one, sizeof one);
      }
    }
    if (was_empty) cv_.notify_one();
  }

  /// Moves every waiting item to `out` (appending); returns how many. An empty box costs no
  /// system call: the eventfd is armed exactly while items wait (for drain's consumer).
  std::size_t drain(Fifo<T>& out) {
    std::lock_guard lock(mutex_);
    if (items_.empty()) return 0;
    std::uint64_t count;
    (void)!::read(fd_, &count, sizeof count);
    const std::size_t n = items_.size();
    out.take_all(items_);
    return n;
  }

  /// Blocks until an item arrives or `timeout` passes.
  std::optional<T> pop_wait(std::chrono::nanoseconds timeout) {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, timeout, [&] { return !items_.empty(); })) return std::nullopt;
    return items_.pop_front();
  }

  std::optional<T> try_pop() {
    std::lock_guard lock(mutex_);
    if (items_.empty()) return std::nullopt;
    return items_.pop_front();
  }

  /// The eventfd that becomes readable when items are waiting.
  int fd() const noexcept { return fd_; }

private:
  std::mutex mutex_;
  std::condition_variable cv_;
  Fifo<T> items_;
  int fd_;
};

}  // namespace crew
