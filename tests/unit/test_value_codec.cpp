// The wire encoding of crew::Value (protocol/value_codec.hpp): round trips, large buffers as
// their own frames (decoded as views, no copies), and hostile input that must fail cleanly.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "crew/error.hpp"
#include "crew/value.hpp"
#include "protocol/value_codec.hpp"

using namespace crew;

namespace {

// Tag bytes of the encoding (protocol/value_codec.cpp); sizes are cereal's 64-bit size_type.
constexpr std::uint8_t tag_null = 0, tag_string = 5, tag_bytes_inline = 6, tag_bytes_frame = 7, tag_array_inline = 8,
                       tag_list = 10, tag_dict = 11, tag_bytes_chunks = 15;

/// Little-endian byte strings for hand-made encodings.
struct Bytes {
  std::vector<std::byte> b;
  Bytes& u8(std::uint8_t x) {
    b.push_back(static_cast<std::byte>(x));
    return *this;
  }
  Bytes& u32(std::uint32_t x) {
    for (int i = 0; i < 4; ++i) u8(static_cast<std::uint8_t>(x >> (8 * i)));
    return *this;
  }
  Bytes& u64(std::uint64_t x) {
    for (int i = 0; i < 8; ++i) u8(static_cast<std::uint8_t>(x >> (8 * i)));
    return *this;
  }
  /// A size prefix (of a string, list, dict, shape or inline data): a LEB128 varint.
  Bytes& size(std::uint64_t x) {
    for (; x >= 0x80; x >>= 7) u8(static_cast<std::uint8_t>((x & 0x7f) | 0x80));
    return u8(static_cast<std::uint8_t>(x));
  }
  Bytes& raw(std::string_view s) {
    for (char c : s) u8(static_cast<std::uint8_t>(c));
    return *this;
  }
  Buffer buffer() const { return Buffer::copy(b.data(), b.size()); }
};

wire::Payload encode(const Value& v, std::size_t threshold = wire::out_of_band_threshold) {
  wire::Payload frames;
  wire::encode_value(v, frames, threshold);
  return frames;
}

Value decode(const wire::Payload& frames) { return wire::decode_value(frames); }

/// Decodes `frames`; anything but success or ProtocolError{malformed} fails the test.
/// Returns true if it decoded.
bool decodes_or_is_malformed(const wire::Payload& frames) {
  try {
    (void)wire::decode_value(frames);
    return true;
  } catch (const ProtocolError& e) {
    CHECK(e.code() == errc::malformed);
    return false;
  } catch (const std::exception& e) {
    FAIL_CHECK("decode threw something other than ProtocolError: " << std::string(e.what()));
  }
  return false;
}

bool inside(const Buffer& outer, const std::byte* p) { return p >= outer.data() && p < outer.data() + outer.size(); }

Value sample() {
  return Value::dict({
      {"null", Value()},
      {"flags", Value::list({true, false})},
      {"int", Value(INT64_MIN)},
      {"real", Value(-0.25)},
      {"text", Value("h\xc3\xa9llo")},
      {"bytes", Value(Buffer::copy(std::string("\x00\x01\x02", 3)))},
      {"array", Value(Array::from(std::vector<std::int16_t>{1, 2, 3, 4, 5, 6}, {3, 2}))},
      {"ref", Value(Ref("x"))},
      {"object", Value(Object{"Point", Buffer::copy("xy")})},
      {"nested", Value::list({Value::dict({{"k", Value::list({1, 2.5, "s"})}}), Value::list({})})},
  });
}

template <class F>
void check_malformed(F&& f) {
  try {
    f();
    FAIL_CHECK("expected ProtocolError");
  } catch (const ProtocolError& e) {
    CHECK(e.code() == errc::malformed);
    CHECK(std::string(e.what()).rfind("[crew.protocol.malformed]", 0) == 0);
  }
}

}  // namespace

TEST_SUITE("unit.value_codec" * doctest::timeout(30)) {

  TEST_CASE("a nested value of every kind round trips") {
    const Value v = sample();
    const auto frames = encode(v);
    CHECK(frames.size() == 1);  // nothing large: one body frame
    CHECK(decode(frames) == v);
  }

  TEST_CASE("scalars of every kind round trip on their own") {
    for (const Value& v : {Value(), Value(true), Value(false), Value(0), Value(INT64_MAX), Value(1e300), Value(""),
                           Value(std::string(1000, 'z')), Value(Buffer()), Value(Ref("")), Value(Object{"", Buffer()}),
                           Value(Array()), Value::list({}), Value::dict({})}) {
      CAPTURE(v.repr());
      CHECK(decode(encode(v)) == v);
    }
  }

  TEST_CASE("encode appends to frames already in the vector") {
    wire::Payload frames{Buffer::copy("header")};
    wire::encode_value(Value(Buffer(Buffer::adopt(std::vector<char>(wire::out_of_band_threshold)))), frames);
    REQUIRE(frames.size() == 3);
    CHECK(frames[0].str() == "header");
    CHECK(frames[2].size() == wire::out_of_band_threshold);
    // The body's frame indices are relative to the body.
    CHECK(wire::decode_value(std::span<const Buffer>(frames).subspan(1)).as_bytes().size() ==
          wire::out_of_band_threshold);
  }

  TEST_CASE("buffers at or above the threshold travel as their own frames, uncopied") {
    std::vector<double> xs(wire::out_of_band_threshold / sizeof(double), 0.5);
    const Buffer big_bytes = Buffer::adopt(std::vector<char>(wire::out_of_band_threshold + 1, 'b'));
    const Value v = Value::list({Value(Array::from(std::move(xs))), Value(big_bytes),
                                 Value(Object{"T", Buffer::adopt(std::vector<char>(wire::out_of_band_threshold, 'o'))}),
                                 Value(Buffer::copy("small"))});
    const auto frames = encode(v);
    REQUIRE(frames.size() == 4);  // body + array + bytes + object
    CHECK(frames[1].data() == v[0].as_array().data().data());
    CHECK(frames[2].data() == big_bytes.data());
    CHECK(frames[3].data() == v[2].as_object().data.data());
    CHECK(frames[0].size() < 200);  // no bulk data in the body

    const Value back = decode(frames);
    CHECK(back == v);
    // Decoded large buffers are views of the received frames.
    CHECK(back[0].as_array().data().data() == frames[1].data());
    CHECK(back[1].as_bytes().data() == frames[2].data());
    CHECK(back[2].as_object().data.data() == frames[3].data());
  }

  TEST_CASE("buffers above frame_chunk_bytes travel as several zero-copy frames and join on decode") {
    const std::size_t rows = (2 * wire::frame_chunk_bytes + 1000) / sizeof(std::int64_t) / 5, n = rows * 5;
    std::vector<std::int64_t> xs(n);
    for (std::size_t i = 0; i < n; ++i) xs[i] = static_cast<std::int64_t>(i * 7919);
    const Value v = Value::list({Value(Array::from(std::move(xs), {rows, 5})), Value("tail")});
    const auto frames = encode(v);
    REQUIRE(frames.size() == 4);  // body + 3 chunks
    const Buffer& data = v[0].as_array().data();
    CHECK(frames[1].data() == data.data());
    CHECK(frames[1].size() == wire::frame_chunk_bytes);
    CHECK(frames[2].data() == data.data() + wire::frame_chunk_bytes);
    CHECK(frames[3].size() == data.size() - 2 * wire::frame_chunk_bytes);
    const Value back = decode(frames);
    CHECK(back == v);
    CHECK(back[0].as_array().shape() == std::vector<std::uint64_t>{rows, 5});
  }

  TEST_CASE("a skeleton decode keeps the small values and turns out-of-band buffers into null") {
    const Value v = Value::list({Value("name"), Value(Array::from(std::vector<double>(wire::frame_chunk_bytes, 1.0))),
                                 Value(Buffer::adopt(std::vector<char>(wire::out_of_band_threshold, 'b'))),
                                 Value(Array::from(std::vector<double>{1, 2}))});
    const auto frames = encode(v);
    REQUIRE(frames.size() > 3);
    const Value skeleton = wire::decode_value_skeleton(frames[0]);
    CHECK(skeleton == Value::list({Value("name"), Value(), Value(), Value(Array::from(std::vector<double>{1, 2}))}));
  }

  TEST_CASE("small arrays inline in the body decode aligned for their element type") {
    for (int pad = 0; pad < 8; ++pad) {  // strings of every length put the array at every offset
      const Value v = Value::list({Value(std::string(static_cast<std::size_t>(pad), 's')),
                                   Value(Array::from(std::vector<double>{1.5, -2.5, 4.0}))});
      const Value back = decode(encode(v));
      const Array& a = back[1].as_array();
      CHECK(reinterpret_cast<std::uintptr_t>(a.data().data()) % alignof(double) == 0);
      CHECK(a.view<double>()[1] == -2.5);
    }
  }

  TEST_CASE("chunks that are missing, out of range or of the wrong total are malformed") {
    const Buffer a = Buffer::copy("abc"), b = Buffer::copy("de");
    auto body = [](std::uint32_t first, std::uint32_t count, std::uint64_t total) {
      return Bytes().u8(tag_bytes_chunks).u32(first).u32(count).u64(total).buffer();
    };
    CHECK(decode({body(1, 2, 5), a, b}).as_bytes().str() == "abcde");
    check_malformed([&] { (void)decode({body(1, 2, 6), a, b}); });  // total does not match
    check_malformed([&] { (void)decode({body(1, 3, 5), a, b}); });  // a chunk did not arrive
    check_malformed([&] { (void)decode({body(0, 2, 5), a, b}); });  // the body itself
    check_malformed([&] { (void)decode({body(1, 0, 0), a, b}); });
    check_malformed([&] { (void)decode({body(UINT32_MAX, 2, 5), a, b}); });
  }

  TEST_CASE("buffers just below the threshold stay inline") {
    const Value v(Buffer::adopt(std::vector<char>(wire::out_of_band_threshold - 1, 'x')));
    CHECK(encode(v).size() == 1);
    CHECK(encode(v, 16).size() == 2);  // the threshold is a parameter
    CHECK(decode(encode(v, 16)) == v);
  }

  TEST_CASE("small inline bytes decode as a slice of the body frame") {
    const Value v =
        Value::list({Value(Buffer::copy("inline bytes")), Value(Array::from(std::vector<std::int32_t>{1, 2, 3}))});
    const auto frames = encode(v);
    REQUIRE(frames.size() == 1);
    const Value back = decode(frames);
    CHECK(back == v);
    CHECK(inside(frames[0], back[0].as_bytes().data()));
    CHECK(inside(frames[0], back[1].as_array().data().data()));
    CHECK(back[0].as_bytes().owner() == frames[0].owner());  // keeps the body alive
  }

  TEST_CASE("a truncated encoding fails at every length") {
    const auto frames = encode(sample());
    const Buffer& body = frames[0];
    for (std::size_t len = 0; len < body.size(); ++len) {
      CAPTURE(len);
      CHECK_FALSE(decodes_or_is_malformed({body.slice(0, len)}));
    }
  }

  TEST_CASE("stray bytes after the value are malformed") {
    auto frames = encode(Value(5));
    Bytes b;
    for (auto x : frames[0].bytes()) b.b.push_back(x);
    b.u8(0);
    check_malformed([&] { (void)decode({b.buffer()}); });
  }

  TEST_CASE("flipped bytes either decode or throw malformed") {
    std::vector<double> xs(wire::out_of_band_threshold / sizeof(double), 1.0);
    const Value v = Value::list({sample(), Value(Array::from(std::move(xs)))});
    const auto frames = encode(v);
    REQUIRE(frames.size() == 2);
    const auto body = frames[0].bytes();
    for (std::size_t i = 0; i < body.size(); ++i) {
      for (std::uint8_t mask : {0x01, 0x80, 0xff}) {
        std::vector<std::byte> bytes(body.begin(), body.end());
        bytes[i] ^= static_cast<std::byte>(mask);
        CAPTURE(i);
        CAPTURE(int(mask));
        decodes_or_is_malformed({Buffer::adopt(std::move(bytes)), frames[1]});
      }
    }
  }

  TEST_CASE("random garbage either decodes or throws malformed") {
    std::mt19937 rng(20240607);
    std::uniform_int_distribution<int> byte(0, 255), small_tag(0, 15), length(0, 48), nframes(0, 3);
    int decoded = 0;
    for (int round = 0; round < 5000; ++round) {
      std::vector<std::byte> body(static_cast<std::size_t>(length(rng)));
      for (auto& b : body) b = static_cast<std::byte>(byte(rng));
      // Mostly valid-looking first tags, and small numbers after them, so decoding gets deep.
      if (!body.empty() && round % 2 == 0) body[0] = static_cast<std::byte>(small_tag(rng));
      if (round % 3 == 0)
        for (std::size_t i = 1; i < body.size(); ++i)
          if (byte(rng) < 160) body[i] = static_cast<std::byte>(byte(rng) % 4);
      wire::Payload frames{Buffer::adopt(std::move(body))};
      for (int f = nframes(rng); f > 0; --f) frames.push_back(Buffer::copy("frame"));
      CAPTURE(round);
      if (decodes_or_is_malformed(frames)) ++decoded;
    }
    CHECK(decoded > 0);  // the generator does reach valid encodings
  }

  TEST_CASE("no frames at all is malformed") {
    check_malformed([] { (void)wire::decode_value(std::span<const Buffer>()); });
    check_malformed([] { (void)decode({Buffer()}); });
  }

  TEST_CASE("a size prefix of 2^60 throws without allocating") {
    const std::uint64_t huge = std::uint64_t{1} << 60;
    const auto start = std::chrono::steady_clock::now();
    check_malformed([&] { (void)decode({Bytes().u8(tag_string).size(huge).raw("abc").buffer()}); });
    check_malformed([&] { (void)decode({Bytes().u8(tag_bytes_inline).size(huge).raw("abc").buffer()}); });
    check_malformed([&] { (void)decode({Bytes().u8(tag_list).size(huge).u8(tag_null).buffer()}); });
    check_malformed([&] { (void)decode({Bytes().u8(tag_dict).size(huge).buffer()}); });
    check_malformed([&] {
      (void)decode({Bytes().u8(tag_array_inline).u8(10).size(huge).u64(1).size(8).raw("12345678").buffer()});
    });
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  }

  TEST_CASE("sizes are varints: one byte below 128, and any length round-trips") {
    for (std::size_t n : {0, 1, 127, 128, 300, 16383, 16384, 100000}) {
      const Value v(std::string(n, 'x'));
      wire::Payload frames;
      wire::encode_value(v, frames);
      CHECK(frames.front().size() == 1 + (n < 128 ? 1 : n < 16384 ? 2 : 3) + n);  // tag, size, bytes
      CHECK(wire::decode_value(frames) == v);
    }
    // Eleven continuation bytes: longer than any 64-bit size.
    Bytes long_size;
    long_size.u8(tag_string);
    for (int i = 0; i < 10; ++i) long_size.u8(0x80);
    check_malformed([&] { (void)decode({long_size.u8(0x01).raw("x").buffer()}); });
    check_malformed([&] { (void)decode({Bytes().u8(tag_string).u8(0x85).buffer()}); });  // ends inside the size
  }

  TEST_CASE("an array whose shape does not match its data is malformed") {
    // float64, shape (2,), 8 bytes of data: needs 16.
    check_malformed(
        [] { (void)decode({Bytes().u8(tag_array_inline).u8(10).size(1).u64(2).size(8).raw("12345678").buffer()}); });
  }

  TEST_CASE("an array whose byte count overflows is malformed") {
    // float64, shape (2^61,), no data: 2^61 * 8 wraps to 0 bytes in a size_t.
    check_malformed([] {
      (void)decode({Bytes().u8(tag_array_inline).u8(10).size(1).u64(std::uint64_t{1} << 61).size(0).buffer()});
    });
  }

  TEST_CASE("an unknown tag or dtype is malformed") {
    check_malformed([] { (void)decode({Bytes().u8(15).buffer()}); });
    check_malformed([] { (void)decode({Bytes().u8(255).buffer()}); });
    check_malformed([] { (void)decode({Bytes().u8(tag_array_inline).u8(0).size(1).u64(0).size(0).buffer()}); });
    check_malformed([] { (void)decode({Bytes().u8(tag_array_inline).u8(11).size(1).u64(0).size(0).buffer()}); });
  }

  TEST_CASE("values nested exactly max_nesting deep decode, one deeper throws") {
    auto nest = [](int depth) {
      Value v;
      for (int i = 0; i < depth; ++i) v = Value::list({std::move(v)});
      return v;
    };
    CHECK(decode(encode(nest(wire::max_nesting))) == nest(wire::max_nesting));
    check_malformed([&] { (void)decode(encode(nest(wire::max_nesting + 1))); });
  }

  TEST_CASE("a hostile body of 100000 nested lists throws instead of exhausting the stack") {
    Bytes b;
    for (int i = 0; i < 100000; ++i) b.u8(tag_list).size(1);
    b.u8(tag_null);
    check_malformed([&] { (void)decode({b.buffer()}); });
  }

  TEST_CASE("an out-of-band frame index out of range throws") {
    const Value v(Buffer::adopt(std::vector<char>(wire::out_of_band_threshold, 'q')));
    const auto frames = encode(v);
    REQUIRE(frames.size() == 2);
    check_malformed([&] { (void)decode({frames[0]}); });                                   // the frame did not arrive
    check_malformed([] { (void)decode({Bytes().u8(tag_bytes_frame).u32(0).buffer()}); });  // the body itself
    check_malformed([] { (void)decode({Bytes().u8(tag_bytes_frame).u32(2).buffer(), Buffer::copy("a")}); });
    check_malformed([] { (void)decode({Bytes().u8(tag_bytes_frame).u32(UINT32_MAX).buffer(), Buffer::copy("a")}); });
    CHECK(decode({Bytes().u8(tag_bytes_frame).u32(1).buffer(), Buffer::copy("a")}).as_bytes().str() == "a");
  }

}  // TEST_SUITE
