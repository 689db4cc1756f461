#pragma once
// Signatures over a message's frames, keyed by the profile's key.
//
// HMAC-SHA256 over the frames, each fed as (64-bit little-endian length, bytes), so moving bytes
// between frames changes the signature. Bulk frames (bulk_frame bytes and more: arrays and bytes
// travelling on their own) would make that the slowest step of a transfer (HMAC-SHA256 runs at
// 1.6 GB/s here, and every hop verifies), so they enter the HMAC as their length only, and their
// bytes go through Poly1305 (11.7 GB/s here) under a one-time key derived from the profile key
// and a nonce, HMAC-SHA256(key, "crew-bulk-v1" || nonce); the HMAC then covers the nonce and the
// Poly1305 tag too. The signature of a message with bulk frames is nonce (16 bytes) || HMAC (32);
// of any other, the HMAC alone. Uses OpenSSL's libcrypto (SHA extensions, AVX-512 Poly1305).
// A Signer is not thread-safe; each thread that signs owns one.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/internal_api.hpp"

namespace crew::wire {

class CREW_INTERNAL_API Signer {
public:
  static constexpr std::size_t signature_size = 32;  ///< HMAC-SHA256 alone
  static constexpr std::size_t nonce_size = 16;
  static constexpr std::size_t bulk_signature_size = 48;  ///< nonce, then HMAC-SHA256
  static constexpr std::size_t bulk_frame = 64 * 1024;    ///< frames this large go through Poly1305

  class Signature {
  public:
    Signature() = default;
    const std::byte* data() const noexcept { return bytes_.data(); }
    std::size_t size() const noexcept { return size_; }
    std::span<const std::byte> bytes() const noexcept { return {bytes_.data(), size_}; }
    friend bool operator==(const Signature& a, const Signature& b) noexcept {
      return a.size_ == b.size_ && std::equal(a.bytes_.begin(), a.bytes_.begin() + a.size_, b.bytes_.begin());
    }

  private:
    friend class Signer;
    std::array<std::byte, bulk_signature_size> bytes_{};
    std::size_t size_ = 0;
  };

  /// `key` is the raw key (not hex). An empty key disables signing (signatures are all zero and
  /// every signature verifies) — only for tests of the framing itself.
  explicit Signer(std::string_view key);
  ~Signer();
  Signer(const Signer&) = delete;
  Signer& operator=(const Signer&) = delete;
  Signer(Signer&&) noexcept;
  Signer& operator=(Signer&&) noexcept;

  /// Signing: begin(), add() each frame in order, finish().
  void begin();
  void add(std::span<const std::byte> frame);
  Signature finish();

  /// Checking: begin_check() with the signature that came, add() each frame, finish_check().
  void begin_check(std::span<const std::byte> given);
  /// Constant-time comparison; false also for a signature of the wrong form (a bulk frame
  /// without a nonce, or a nonce without bulk frames).
  bool finish_check();

private:
  struct State;
  std::unique_ptr<State> state_;
};

/// 32 random bytes from the kernel, hex-encoded (64 characters): a new profile key.
CREW_INTERNAL_API std::string new_key_hex();
/// Hex to raw bytes; throws InputError if `hex` is not hex.
CREW_INTERNAL_API std::string key_from_hex(std::string_view hex);

}  // namespace crew::wire
