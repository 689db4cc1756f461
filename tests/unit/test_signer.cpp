// Signatures over a message's frames (protocol/signer.hpp): HMAC-SHA256, checked against
// OpenSSL's one-shot HMAC() over the same length-prefixed byte stream; bulk frames through a
// per-message Poly1305 key; keys and their hex form.
#include <doctest/doctest.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "crew/error.hpp"
#include "protocol/signer.hpp"

using namespace crew;
using wire::Signer;

namespace {

using Frames = std::vector<std::string>;
using Bytes = std::vector<std::byte>;

std::span<const std::byte> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

Bytes sign(Signer& s, const Frames& frames) {
  s.begin();
  for (const auto& f : frames) s.add(as_bytes(f));
  const auto sig = s.finish();
  return Bytes(sig.data(), sig.data() + sig.size());
}

Bytes sign(std::string_view key, const Frames& frames) {
  Signer s(key);
  return sign(s, frames);
}

bool check(Signer& s, const Frames& frames, const Bytes& sig) {
  s.begin_check(sig);
  for (const auto& f : frames) s.add(as_bytes(f));
  return s.finish_check();
}

/// HMAC-SHA256 computed independently: each frame as an 8-byte little-endian length, then its bytes.
Bytes reference_hmac(const std::string& key, const Frames& frames) {
  std::string stream;
  for (const auto& f : frames) {
    const std::uint64_t n = f.size();
    for (int i = 0; i < 8; ++i) stream += static_cast<char>((n >> (8 * i)) & 0xff);
    stream += f;
  }
  Bytes out(32);
  unsigned int len = 0;
  REQUIRE(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
               reinterpret_cast<const unsigned char*>(stream.data()), stream.size(),
               reinterpret_cast<unsigned char*>(out.data()), &len) != nullptr);
  REQUIRE(len == out.size());
  return out;
}

const std::string key = "0123456789abcdef0123456789abcdef";
const Frames frames{"header bytes", "body", std::string(5000, 'z'), ""};
/// With a frame at the bulk size: Poly1305 joins in.
const Frames bulky{"header bytes", "body", std::string(Signer::bulk_frame, 'b'), "tail",
                   std::string(Signer::bulk_frame + 3, 'c')};

}  // namespace

TEST_SUITE("unit.signer" * doctest::timeout(30)) {

  TEST_CASE("the same frames and key give the same signature") {
    CHECK(sign(key, frames) == sign(key, frames));
    Signer s(key);
    const auto first = sign(s, frames);
    CHECK(sign(s, frames) == first);  // a Signer is reusable after finish()
    CHECK(check(s, frames, first));
  }

  TEST_CASE("the signature matches an independent HMAC-SHA256 of the length-prefixed frames") {
    CHECK(sign(key, frames) == reference_hmac(key, frames));
    CHECK(sign(key, {}) == reference_hmac(key, {}));
    CHECK(sign("k", {"a"}) == reference_hmac("k", {"a"}));
    const std::string long_key(200, '\x7f');  // longer than SHA-256's block: hashed first
    CHECK(sign(long_key, frames) == reference_hmac(long_key, frames));
  }

  TEST_CASE("a different key gives a different signature that does not verify") {
    const auto sig = sign(key, frames);
    Signer other("another key");
    CHECK(sign(other, frames) != sig);
    CHECK_FALSE(check(other, frames, sig));
  }

  TEST_CASE("a flipped bit anywhere changes the signature") {
    Signer s(key);
    const auto sig = sign(s, frames);
    for (std::size_t f = 0; f < frames.size(); ++f) {
      if (frames[f].empty()) continue;
      for (std::size_t at : {std::size_t{0}, frames[f].size() / 2, frames[f].size() - 1}) {
        Frames changed = frames;
        changed[f][at] = static_cast<char>(changed[f][at] ^ 0x01);
        CAPTURE(f);
        CAPTURE(at);
        CHECK(sign(s, changed) != sig);
        CHECK_FALSE(check(s, changed, sig));
      }
    }
    // A flipped bit in the signature itself fails too.
    auto bad = sig;
    bad[31] ^= std::byte{0x80};
    CHECK_FALSE(check(s, frames, bad));
    CHECK(sig.size() == Signer::signature_size);
  }

  TEST_CASE("moving a byte across a frame boundary changes the signature") {
    Signer s(key);
    const Frames a{"abc", "def"};
    const Frames b{"abcd", "ef"};
    const Frames c{"abcdef"};
    const Frames d{"abcdef", ""};
    const auto sig = sign(s, a);
    CHECK(sign(s, b) != sig);
    CHECK(sign(s, c) != sig);
    CHECK(sign(s, d) != sign(s, c));  // an extra empty frame counts
    CHECK_FALSE(check(s, b, sig));
    CHECK_FALSE(check(s, c, sig));
  }

  TEST_CASE("a signature of the wrong length never verifies") {
    Signer s(key);
    const auto sig = sign(s, frames);
    CHECK_FALSE(check(s, frames, Bytes(sig.begin(), sig.begin() + 31)));
    CHECK_FALSE(check(s, frames, {}));
    Bytes longer = sig;
    longer.push_back(std::byte{0});
    CHECK_FALSE(check(s, frames, longer));
  }

  TEST_CASE("an empty key disables signing: signatures are zero and everything verifies") {
    Signer s("");
    CHECK(sign(s, frames) == Bytes(32));
    CHECK(check(s, frames, Bytes(32, std::byte{0xab})));
    CHECK(check(s, bulky, {}));
  }

  TEST_CASE("bulk frames: a nonce and the HMAC, verifying, different for each message") {
    Signer s(key);
    const auto a = sign(s, bulky), b = sign(s, bulky);
    CHECK(a.size() == Signer::bulk_signature_size);
    CHECK(a != b);  // a fresh nonce per message
    CHECK(check(s, bulky, a));
    CHECK(check(s, bulky, b));
    Signer other_process(key);  // another Signer with the same key verifies it
    CHECK(check(other_process, bulky, a));
    CHECK(sign(other_process, bulky) != a);
  }

  TEST_CASE("bulk frames: any change of bytes, lengths, nonce or tag fails") {
    Signer s(key);
    const auto sig = sign(s, bulky);
    for (std::size_t f : {std::size_t{2}, std::size_t{4}}) {
      for (std::size_t at : {std::size_t{0}, bulky[f].size() / 2, bulky[f].size() - 1}) {
        Frames changed = bulky;
        changed[f][at] = static_cast<char>(changed[f][at] ^ 0x40);
        CAPTURE(f);
        CAPTURE(at);
        CHECK_FALSE(check(s, changed, sig));
      }
    }
    Frames shorter = bulky;
    shorter[4].pop_back();
    CHECK_FALSE(check(s, shorter, sig));
    Frames swapped = bulky;
    std::swap(swapped[2], swapped[4]);
    CHECK_FALSE(check(s, swapped, sig));
    Frames small_changed = bulky;
    small_changed[3] = "tall";
    CHECK_FALSE(check(s, small_changed, sig));
    for (std::size_t at : {std::size_t{0}, Signer::nonce_size - 1, Signer::nonce_size, sig.size() - 1}) {
      auto bad = sig;
      bad[at] ^= std::byte{0x01};
      CAPTURE(at);
      CHECK_FALSE(check(s, bulky, bad));
    }
    Signer other("another key");
    CHECK_FALSE(check(other, bulky, sig));
  }

  TEST_CASE("a signature of the wrong form never verifies") {
    Signer s(key);
    // An HMAC-only signature where bulk frames came, and a bulk signature without them.
    CHECK_FALSE(check(s, bulky, reference_hmac(key, bulky)));
    auto bulk_sig = sign(s, bulky);
    CHECK_FALSE(check(s, frames, bulk_sig));
    Bytes nonce_only(bulk_sig.begin(), bulk_sig.begin() + Signer::nonce_size);
    CHECK_FALSE(check(s, bulky, nonce_only));
  }

  TEST_CASE("new keys are 64 hex characters and differ between calls") {
    std::set<std::string> seen;
    for (int i = 0; i < 8; ++i) {
      const std::string k = wire::new_key_hex();
      CHECK(k.size() == 64);
      CHECK(k.find_first_not_of("0123456789abcdef") == std::string::npos);
      CHECK(wire::key_from_hex(k).size() == 32);
      seen.insert(k);
    }
    CHECK(seen.size() == 8);
  }

  TEST_CASE("key_from_hex decodes both cases and rejects non-hex or odd length") {
    CHECK(wire::key_from_hex("") == "");
    CHECK(wire::key_from_hex("00ff7F") == std::string("\x00\xff\x7f", 3));
    CHECK(wire::key_from_hex("AbCd") == "\xab\xcd");
    for (const std::string bad : {"abc", "0", "zz", "0g", "12 4", "0x12", "\xff\xff"}) {
      CAPTURE(bad);
      try {
        (void)wire::key_from_hex(bad);
        FAIL_CHECK("accepted");
      } catch (const InputError& e) {
        CHECK(e.code() == errc::bad_profile);
      }
    }
  }

  TEST_CASE("a hex key signs like its raw bytes") {
    const std::string hex = wire::new_key_hex();
    const std::string raw = wire::key_from_hex(hex);
    CHECK(sign(raw, frames) == reference_hmac(raw, frames));
    CHECK(sign(raw, frames) != sign(hex, frames));
  }

}  // TEST_SUITE
