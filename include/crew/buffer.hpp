#pragma once
// crew::Buffer: an immutable, shared, contiguous run of bytes.
//
// Buffers are how large data moves without copies: a buffer can adopt a std::vector, or view
// memory kept alive by any owner (a received ZeroMQ message, an MPI receive buffer). Copying a
// Buffer copies a reference, never the bytes.

#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "crew/export.hpp"

namespace crew {

class CREW_API Buffer {
public:
  Buffer() noexcept = default;

  /// Takes ownership of a vector of trivially copyable elements, without copying them.
  template <class T>
  requires std::is_trivially_copyable_v<T>
  static Buffer adopt(std::vector<T>&& values) {
    auto owner = std::make_shared<std::vector<T>>(std::move(values));
    const auto* data = reinterpret_cast<const std::byte*>(owner->data());
    const std::size_t size = owner->size() * sizeof(T);
    return Buffer(std::move(owner), data, size);
  }

  /// Copies `size` bytes from `data`.
  static Buffer copy(const void* data, std::size_t size);
  static Buffer copy(std::string_view text) { return copy(text.data(), text.size()); }

  /// A view of memory that `owner` keeps alive (zero-copy).
  static Buffer view(std::shared_ptr<const void> owner, const void* data, std::size_t size) {
    return Buffer(std::move(owner), static_cast<const std::byte*>(data), size);
  }

  const std::byte* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }
  std::string_view str() const noexcept { return {reinterpret_cast<const char*>(data_), size_}; }
  /// What keeps the bytes alive; share it to hand the memory on without copying.
  const std::shared_ptr<const void>& owner() const noexcept { return owner_; }

  /// A sub-range sharing the same owner.
  Buffer slice(std::size_t offset, std::size_t length) const;

  friend bool operator==(const Buffer& a, const Buffer& b) noexcept {
    return a.size_ == b.size_ && (a.size_ == 0 || std::memcmp(a.data_, b.data_, a.size_) == 0);
  }

private:
  Buffer(std::shared_ptr<const void> owner, const std::byte* data, std::size_t size) noexcept
      : owner_(std::move(owner)), data_(data), size_(size) {}

  std::shared_ptr<const void> owner_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace crew
