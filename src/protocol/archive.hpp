#pragma once
// cereal archives for crew's wire format: Writer appends to a byte vector (no iostream), Reader
// reads from a span and refuses any size prefix larger than the bytes left, so a hostile or
// corrupt message can make decoding fail but never allocate without bound.

#include <cstddef>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include <boost/container/small_vector.hpp>
#include <cereal/cereal.hpp>

#include "crew/error.hpp"

namespace crew::wire {

class Writer : public cereal::OutputArchive<Writer, cereal::AllowEmptyClassElision> {
public:
  explicit Writer(std::vector<std::byte>& out) : OutputArchive(this), out_(out) {}
  void saveBinary(const void* data, std::size_t size) {
    const auto* p = static_cast<const std::byte*>(data);
    out_.insert(out_.end(), p, p + size);
  }

private:
  std::vector<std::byte>& out_;
};

class Reader : public cereal::InputArchive<Reader, cereal::AllowEmptyClassElision> {
public:
  explicit Reader(std::span<const std::byte> in) : InputArchive(this), in_(in) {}
  void loadBinary(void* data, std::size_t size) {
    if (size == 0) return;  // an empty string or vector: no memcpy with a null pointer
    if (size > remaining())
      throw_error(errc::malformed, "message ends early: wanted " + std::to_string(size) + " more bytes, " +
                                       std::to_string(remaining()) + " left");
    std::memcpy(data, in_.data() + pos_, size);
    pos_ += size;
  }
  std::size_t remaining() const noexcept { return in_.size() - pos_; }
  /// The named fields (cereal::make_nvp) being read, outermost first: after a failed read, the
  /// field where it failed ("job.end_time"), or "" outside any named field.
  std::string field_path() const {
    std::string path;
    for (const char* f : fields_) path += (path.empty() ? "" : ".") + std::string(f);
    return path;
  }
  void enter_field(const char* name) { fields_.push_back(name); }
  void leave_field() { fields_.pop_back(); }
  std::size_t position() const noexcept { return pos_; }
  void skip(std::size_t size) {
    if (size > remaining())
      throw_error(errc::malformed, "message ends early: wanted " + std::to_string(size) + " more bytes, " +
                                       std::to_string(remaining()) + " left");
    pos_ += size;
  }
  /// Checks a size prefix: every element takes at least one byte.
  void check_size(std::uint64_t n) const {
    if (n > remaining())
      throw_error(errc::malformed,
                  "size prefix " + std::to_string(n) + " exceeds the " + std::to_string(remaining()) + " bytes left");
  }

private:
  std::span<const std::byte> in_;
  std::size_t pos_ = 0;
  std::vector<const char*> fields_;  ///< left as they are when a read throws: where it failed
};

}  // namespace crew::wire

namespace cereal {

template <class T>
inline std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_SAVE_FUNCTION_NAME(crew::wire::Writer& ar, const T& t) {
  ar.saveBinary(std::addressof(t), sizeof(t));
}
template <class T>
inline std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_LOAD_FUNCTION_NAME(crew::wire::Reader& ar, T& t) {
  ar.loadBinary(std::addressof(t), sizeof(t));
}
// A named field is its value alone on the wire; reading one keeps its name for the error that
// says where a body went wrong (protocol/typed_body.hpp).
template <class T>
inline void CEREAL_SAVE_FUNCTION_NAME(crew::wire::Writer& ar, const NameValuePair<T>& t) {
  ar(t.value);
}
template <class T>
inline void CEREAL_LOAD_FUNCTION_NAME(crew::wire::Reader& ar, NameValuePair<T>& t) {
  ar.enter_field(t.name);
  ar(t.value);
  ar.leave_field();
}
// Sizes (of strings, vectors, lists) go as LEB128 varints: one byte below 128, where a fixed
// u64 took eight. Most headers are mostly size prefixes, and a controller keeps every reply.
template <class T>
inline void CEREAL_SAVE_FUNCTION_NAME(crew::wire::Writer& ar, const SizeTag<T>& t) {
  std::uint8_t bytes[10];
  std::size_t n = 0;
  for (auto v = static_cast<std::uint64_t>(t.size);; v >>= 7) {
    const auto low = static_cast<std::uint8_t>(v & 0x7f);
    if (v < 0x80) {
      bytes[n++] = low;
      break;
    }
    bytes[n++] = low | 0x80;
  }
  ar.saveBinary(bytes, n);
}
template <class T>
inline void CEREAL_LOAD_FUNCTION_NAME(crew::wire::Reader& ar, SizeTag<T>& t) {
  std::uint64_t v = 0;
  for (int shift = 0;; shift += 7) {
    std::uint8_t b = 0;
    ar.loadBinary(&b, 1);
    if (shift == 63 && b > 1) throw_error(crew::errc::malformed, "a size prefix longer than 64 bits");
    v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) break;
  }
  ar.check_size(v);
  t.size = static_cast<std::remove_reference_t<T>>(v);
}
template <class T>
inline void CEREAL_SAVE_FUNCTION_NAME(crew::wire::Writer& ar, const BinaryData<T>& bd) {
  ar.saveBinary(bd.data, static_cast<std::size_t>(bd.size));
}
template <class T>
inline void CEREAL_LOAD_FUNCTION_NAME(crew::wire::Reader& ar, BinaryData<T>& bd) {
  ar.loadBinary(bd.data, static_cast<std::size_t>(bd.size));
}

// boost's small_vector as cereal writes a std::vector: its size, then its elements.
template <class T, std::size_t N>
inline void CEREAL_SAVE_FUNCTION_NAME(crew::wire::Writer& ar, const boost::container::small_vector<T, N>& v) {
  ar(make_size_tag(static_cast<size_type>(v.size())));
  for (const T& x : v) ar(x);
}
template <class T, std::size_t N>
inline void CEREAL_LOAD_FUNCTION_NAME(crew::wire::Reader& ar, boost::container::small_vector<T, N>& v) {
  size_type n = 0;
  ar(make_size_tag(n));
  v.resize(static_cast<std::size_t>(n));
  for (T& x : v) ar(x);
}

}  // namespace cereal

CEREAL_REGISTER_ARCHIVE(crew::wire::Writer)
CEREAL_REGISTER_ARCHIVE(crew::wire::Reader)
CEREAL_SETUP_ARCHIVE_TRAITS(crew::wire::Reader, crew::wire::Writer)
