#pragma once
// ScratchBytes: a per-thread byte vector to encode into before the bytes get their one,
// exactly-sized buffer.
//
// Encoding into a fresh std::vector costs its growth and then a second heap block for the
// Buffer's owner; encoding into scratch and copying once costs one allocation per frame (and
// the copy of a few dozen bytes). Scratch vectors nest (an encoder may encode something else
// on the way) and keep their capacity, up to a limit, for the next message on this thread.

#include <cstddef>
#include <memory>
#include <vector>

namespace crew::wire {

class ScratchBytes {
public:
  ScratchBytes() : bytes_(take()) { bytes_->clear(); }
  ~ScratchBytes() {
    if (bytes_->capacity() > keep_limit) {
      bytes_->clear();
      bytes_->shrink_to_fit();
    }
    free_list().push_back(std::move(bytes_));
  }
  ScratchBytes(const ScratchBytes&) = delete;
  ScratchBytes& operator=(const ScratchBytes&) = delete;

  std::vector<std::byte>& operator*() noexcept { return *bytes_; }
  std::vector<std::byte>* operator->() noexcept { return bytes_.get(); }

private:
  /// A vector grown past this (a large captured output, say) is given back after use.
  static constexpr std::size_t keep_limit = 256 * 1024;

  using Vec = std::unique_ptr<std::vector<std::byte>>;
  static std::vector<Vec>& free_list() {
    thread_local std::vector<Vec> list;
    return list;
  }
  static Vec take() {
    auto& list = free_list();
    if (list.empty()) return std::make_unique<std::vector<std::byte>>();
    Vec v = std::move(list.back());
    list.pop_back();
    return v;
  }

  Vec bytes_;
};

}  // namespace crew::wire
