// Wire encoding of crew::Value: a cereal archive for the tree, big buffers as their own frames.
#include "protocol/value_codec.hpp"

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "protocol/archive.hpp"
#include "protocol/scratch.hpp"

namespace crew::wire {
namespace {

enum class Tag : std::uint8_t {
  null = 0,
  false_,
  true_,
  integer,
  real,
  string,
  bytes_inline,
  bytes_frame,
  array_inline,
  array_frame,
  list,
  dict,
  ref,
  object_inline,
  object_frame,
  bytes_chunks,  ///< a buffer sent as several frames (first index, count, total size)
  array_chunks,
  object_chunks,
};

class Encoder {
public:
  /// Out-of-band frames are appended to `frames`, numbered from `body_index` (the body's own
  /// place, 0) on.
  Encoder(std::vector<std::byte>& body, Payload& frames, std::size_t body_index, std::size_t threshold)
      : ar_(body), frames_(frames), base_(body_index), threshold_(threshold) {}

  void put(const Value& v) {
    switch (v.type()) {
    case Value::kind::null: tag(Tag::null); break;
    case Value::kind::boolean: tag(v.as_bool() ? Tag::true_ : Tag::false_); break;
    case Value::kind::integer:
      tag(Tag::integer);
      ar_(v.as_int());
      break;
    case Value::kind::real:
      tag(Tag::real);
      ar_(v.as_double());
      break;
    case Value::kind::string:
      tag(Tag::string);
      ar_(v.as_string());
      break;
    case Value::kind::bytes:
      tag(pick(v.as_bytes(), Tag::bytes_inline, Tag::bytes_frame, Tag::bytes_chunks));
      put_buffer_body(v.as_bytes());
      break;
    case Value::kind::array: {
      const Array& a = v.as_array();
      tag(pick(a.data(), Tag::array_inline, Tag::array_frame, Tag::array_chunks));
      ar_(static_cast<std::uint8_t>(a.type()), a.shape());
      put_buffer_body(a.data());
      break;
    }
    case Value::kind::list:
      tag(Tag::list);
      ar_(cereal::make_size_tag(static_cast<cereal::size_type>(v.as_list().size())));
      for (const auto& x : v.as_list()) put(x);
      break;
    case Value::kind::dict:
      tag(Tag::dict);
      ar_(cereal::make_size_tag(static_cast<cereal::size_type>(v.as_dict().size())));
      for (const auto& [k, x] : v.as_dict()) {
        ar_(k);
        put(x);
      }
      break;
    case Value::kind::ref:
      tag(Tag::ref);
      ar_(v.as_ref().name);
      break;
    case Value::kind::object: {
      const Object& o = v.as_object();
      tag(pick(o.data, Tag::object_inline, Tag::object_frame, Tag::object_chunks));
      ar_(o.type);
      put_buffer_body(o.data);
      break;
    }
    }
  }

private:
  void tag(Tag t) { ar_(static_cast<std::uint8_t>(t)); }
  enum class Layout { inline_data, frame, chunks };
  Layout layout(const Buffer& b) const {
    if (b.size() < threshold_) return Layout::inline_data;
    return b.size() > frame_chunk_bytes ? Layout::chunks : Layout::frame;
  }
  Tag pick(const Buffer& b, Tag inline_tag, Tag frame_tag, Tag chunks_tag) const {
    switch (layout(b)) {
    case Layout::inline_data: return inline_tag;
    case Layout::frame: return frame_tag;
    default: return chunks_tag;
    }
  }
  void put_buffer_body(const Buffer& b) {
    switch (layout(b)) {
    case Layout::inline_data:
      ar_(cereal::make_size_tag(static_cast<cereal::size_type>(b.size())));
      ar_.saveBinary(b.data(), b.size());
      break;
    case Layout::frame:
      frames_.push_back(b);
      ar_(static_cast<std::uint32_t>(frames_.size() - 1 - base_));  // index among the value's frames; body is 0
      break;
    case Layout::chunks: {
      // Zero-copy slices of the buffer, one frame each.
      const auto first = static_cast<std::uint32_t>(frames_.size() - base_);
      std::uint32_t count = 0;
      for (std::size_t at = 0; at < b.size(); at += frame_chunk_bytes, ++count)
        frames_.push_back(b.slice(at, std::min(frame_chunk_bytes, b.size() - at)));
      ar_(first, count, static_cast<std::uint64_t>(b.size()));
      break;
    }
    }
  }

  Writer ar_;
  Payload& frames_;
  std::size_t base_;
  std::size_t threshold_;
};

class Decoder {
public:
  /// `skeleton`: out-of-band buffers are not looked up; the values holding them decode as null.
  Decoder(std::span<const Buffer> frames, bool skeleton = false)
      : frames_(frames), ar_(frames.empty() ? std::span<const std::byte>() : frames[0].bytes()), skeleton_(skeleton) {}

  Value get(int depth = 0) {
    if (depth > max_nesting) malformed("values nested more than " + std::to_string(max_nesting) + " deep");
    std::uint8_t raw = 0;
    ar_(raw);
    switch (static_cast<Tag>(raw)) {
    case Tag::null: return Value();
    case Tag::false_: return Value(false);
    case Tag::true_: return Value(true);
    case Tag::integer: {
      std::int64_t i = 0;
      ar_(i);
      return Value(i);
    }
    case Tag::real: {
      double d = 0;
      ar_(d);
      return Value(d);
    }
    case Tag::string: {
      std::string s;
      ar_(s);
      return Value(std::move(s));
    }
    case Tag::bytes_inline: return Value(inline_buffer());
    case Tag::bytes_frame:
      if (skeleton_) return skip_frame();
      return Value(frame_buffer());
    case Tag::bytes_chunks:
      if (skeleton_) return skip_chunks();
      return Value(chunked_buffer());
    case Tag::array_inline:
    case Tag::array_frame:
    case Tag::array_chunks: {
      std::uint8_t type = 0;
      std::vector<std::uint64_t> shape;
      ar_(type, shape);
      if (!dtype_valid(type)) malformed("unknown array dtype " + std::to_string(type));
      if (skeleton_ && static_cast<Tag>(raw) == Tag::array_frame) return skip_frame();
      if (skeleton_ && static_cast<Tag>(raw) == Tag::array_chunks) return skip_chunks();
      Buffer data = buffer_for(static_cast<Tag>(raw), Tag::array_inline, Tag::array_frame);
      // Inline data sits anywhere in the body frame: give typed views an aligned copy (small).
      if (reinterpret_cast<std::uintptr_t>(data.data()) % dtype_size(static_cast<dtype>(type)) != 0)
        data = Buffer::copy(data.data(), data.size());
      try {
        return Value(Array(static_cast<dtype>(type), std::move(shape), std::move(data)));
      } catch (const InputError& e) {
        malformed(e.message());
      }
    }
    case Tag::list: {
      cereal::size_type n = 0;
      ar_(cereal::make_size_tag(n));
      Value::List out;
      out.reserve(static_cast<std::size_t>(n));
      for (cereal::size_type i = 0; i < n; ++i) out.push_back(get(depth + 1));
      return Value(std::move(out));
    }
    case Tag::dict: {
      cereal::size_type n = 0;
      ar_(cereal::make_size_tag(n));
      Value::Dict out;
      for (cereal::size_type i = 0; i < n; ++i) {
        std::string key;
        ar_(key);
        out.insert_or_assign(std::move(key), get(depth + 1));
      }
      return Value(std::move(out));
    }
    case Tag::ref: {
      std::string name;
      ar_(name);
      return Value(Ref(std::move(name)));
    }
    case Tag::object_inline:
    case Tag::object_frame:
    case Tag::object_chunks: {
      Object o;
      ar_(o.type);
      if (skeleton_ && static_cast<Tag>(raw) == Tag::object_frame) return skip_frame();
      if (skeleton_ && static_cast<Tag>(raw) == Tag::object_chunks) return skip_chunks();
      o.data = buffer_for(static_cast<Tag>(raw), Tag::object_inline, Tag::object_frame);
      return Value(std::move(o));
    }
    }
    malformed("unknown value tag " + std::to_string(raw));
  }

  void finish() const {
    if (ar_.remaining() != 0) malformed(std::to_string(ar_.remaining()) + " stray bytes after the value");
  }

private:
  [[noreturn]] static void malformed(const std::string& why) {
    throw_error(errc::malformed, "bad value encoding: " + why);
  }
  Buffer inline_buffer() {
    cereal::size_type n = 0;
    ar_(cereal::make_size_tag(n));
    Buffer b = frames_[0].slice(ar_.position(), static_cast<std::size_t>(n));
    ar_.skip(static_cast<std::size_t>(n));
    return b;
  }
  Value skip_frame() {
    std::uint32_t index = 0;
    ar_(index);
    return Value();
  }
  Value skip_chunks() {
    std::uint32_t first = 0, count = 0;
    std::uint64_t total = 0;
    ar_(first, count, total);
    return Value();
  }
  Buffer buffer_for(Tag t, Tag inline_tag, Tag frame_tag) {
    if (t == inline_tag) return inline_buffer();
    if (t == frame_tag) return frame_buffer();
    return chunked_buffer();
  }
  /// Joins the frames of a chunked buffer into one (the only copy the receiver makes).
  Buffer chunked_buffer() {
    std::uint32_t first = 0, count = 0;
    std::uint64_t total = 0;
    ar_(first, count, total);
    if (first == 0 || count == 0 || std::uint64_t{first} + count > frames_.size())
      malformed("chunk frames " + std::to_string(first) + "+" + std::to_string(count) + " but the message has " +
                std::to_string(frames_.size()) + " frames");
    std::uint64_t sum = 0;
    for (std::uint32_t i = first; i < first + count; ++i) sum += frames_[i].size();
    if (sum != total)
      malformed("chunks hold " + std::to_string(sum) + " bytes, the value says " + std::to_string(total));
    std::shared_ptr<std::byte[]> joined = std::make_shared_for_overwrite<std::byte[]>(static_cast<std::size_t>(total));
    std::size_t at = 0;
    for (std::uint32_t i = first; i < first + count; ++i) {
      if (frames_[i].size() > 0) std::memcpy(joined.get() + at, frames_[i].data(), frames_[i].size());
      at += frames_[i].size();
    }
    const std::byte* data = joined.get();
    return Buffer::view(std::move(joined), data, static_cast<std::size_t>(total));
  }
  Buffer frame_buffer() {
    std::uint32_t index = 0;
    ar_(index);
    if (index == 0 || index >= frames_.size())
      malformed("frame index " + std::to_string(index) + " but the message has " + std::to_string(frames_.size()) +
                " frames");
    return frames_[index];
  }
  std::span<const Buffer> frames_;
  Reader ar_;
  bool skeleton_ = false;
};

}  // namespace

void encode_value_into(const Value& v, std::vector<std::byte>& body, Payload& frames, std::size_t body_index,
                       std::size_t threshold) {
  Encoder enc(body, frames, body_index, threshold);
  enc.put(v);
}

void encode_value(const Value& v, Payload& frames, std::size_t threshold) {
  ScratchBytes body;
  const std::size_t body_index = frames.size();
  frames.emplace_back();  // the body's place: out-of-band frames follow it
  encode_value_into(v, *body, frames, body_index, threshold);
  frames[body_index] = Buffer::copy(body->data(), body->size());
}

Value decode_value_skeleton(const Buffer& body) {
  Decoder dec({&body, 1}, true);
  Value v = dec.get();
  dec.finish();
  return v;
}

Value decode_value(std::span<const Buffer> frames) {
  if (frames.empty()) throw_error(errc::malformed, "a message without its body frame");
  Decoder dec(frames);
  Value v = dec.get();
  dec.finish();
  return v;
}

}  // namespace crew::wire
