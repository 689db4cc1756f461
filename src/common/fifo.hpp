#pragma once
// Fifo<T>: a first-in, first-out queue on one vector that keeps its capacity.
//
// A std::deque allocates a block per 512 bytes of items: one per item for a task with its header.
// A Fifo allocates only while it grows past its largest size so far (up to a bound, beyond which
// a burst's storage goes once it is consumed), and two Fifos that swap (a Mailbox and its
// consumer) take turns with their storage: a steady stream of items allocates nothing.

#include <cstddef>
#include <utility>
#include <vector>

namespace crew {

template <class T>
class Fifo {
public:
  bool empty() const noexcept { return head_ == items_.size(); }
  std::size_t size() const noexcept { return items_.size() - head_; }

  void push_back(T item) { items_.push_back(std::move(item)); }
  /// The oldest item, taken out. The queue must not be empty.
  T pop_front() {
    T item = std::move(items_[head_++]);
    if (empty()) clear();
    return item;
  }
  /// Every item of `other`, moved to the back; `other` is left empty.
  void take_all(Fifo& other) {
    if (empty()) {
      swap(other);
    } else {
      for (T& item : other) items_.push_back(std::move(item));
    }
    other.clear();
  }
  /// Empties the queue. It keeps its storage unless a burst made that larger than `kept_items`.
  void clear() noexcept {
    if (items_.capacity() > kept_items)
      std::vector<T>().swap(items_);
    else
      items_.clear();
    head_ = 0;
  }
  void swap(Fifo& other) noexcept {
    items_.swap(other.items_);
    std::swap(head_, other.head_);
  }

  auto begin() { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  auto end() { return items_.end(); }

private:
  static constexpr std::size_t kept_items = 4096;

  std::vector<T> items_;  ///< items_[head_..] wait, oldest first
  std::size_t head_ = 0;
};

}  // namespace crew
