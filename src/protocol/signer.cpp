// HMAC-SHA256, with Poly1305 for bulk frames, with OpenSSL's EVP_MAC (the HMAC key schedule is
// computed once per Signer).
#include "protocol/signer.hpp"

#include <sys/random.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "common/crypto.hpp"
#include "crew/error.hpp"

namespace crew::wire {
namespace {

constexpr std::string_view bulk_label = "crew-bulk-v1";
constexpr std::size_t tag_size = 16;

void random_bytes(unsigned char* out, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = getrandom(out + got, n - got, 0);
    if (r < 0) throw_error(errc::internal, "getrandom() failed");
    got += static_cast<std::size_t>(r);
  }
}

void length_prefix(std::uint64_t n, unsigned char out[8]) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<unsigned char>(n >> (8 * i));
}

}  // namespace

struct Signer::State {
  const crypto::Api* c = nullptr;  ///< libcrypto, once enabled
  EVP_MAC* hmac = nullptr;
  EVP_MAC* poly = nullptr;
  EVP_MAC_CTX* ctx = nullptr;     ///< this message's HMAC (keyed once, re-initialised per message)
  EVP_MAC_CTX* derive = nullptr;  ///< HMAC for one-time keys (keyed once)
  EVP_MAC_CTX* bulk = nullptr;    ///< this message's Poly1305
  bool enabled = false;
  // this message
  bool checking = false;
  bool has_bulk = false;
  bool form_ok = true;  ///< checking: the signature that came has the form the frames need
  bool have_nonce = false;
  unsigned char nonce[nonce_size] = {};
  unsigned char given_mac[signature_size] = {};
  // nonces for signing: a random prefix of this Signer, then a counter
  unsigned char prefix[8] = {};
  std::uint64_t counter = 0;

  ~State() {
    if (c == nullptr) return;
    c->ctx_free(bulk);
    c->ctx_free(derive);
    c->ctx_free(ctx);
    c->mac_free(poly);
    c->mac_free(hmac);
  }

  void restart_hmac() {
    // A null key re-uses the key schedule computed in the constructor.
    if (c->mac_init(ctx, nullptr, 0, nullptr) != 1) throw_error(errc::internal, "HMAC reset failed");
  }

  /// The first bulk frame: Poly1305 keyed for this message from the nonce.
  void start_bulk() {
    unsigned char one_time_key[32];
    std::size_t written = 0;
    const bool ok =
        c->mac_init(derive, nullptr, 0, nullptr) == 1 &&
        c->mac_update(derive, reinterpret_cast<const unsigned char*>(bulk_label.data()), bulk_label.size()) == 1 &&
        c->mac_update(derive, nonce, nonce_size) == 1 &&
        c->mac_final(derive, one_time_key, &written, sizeof one_time_key) == 1 && written == 32;
    if (!ok) throw_error(errc::internal, "deriving the bulk key failed");
    if (bulk == nullptr) bulk = c->ctx_new(poly);
    if (bulk == nullptr || c->mac_init(bulk, one_time_key, sizeof one_time_key, nullptr) != 1)
      throw_error(errc::internal, "Poly1305 initialisation failed");
    c->cleanse(one_time_key, sizeof one_time_key);
  }

  /// The end of the HMAC input: with bulk frames, the nonce and the Poly1305 tag.
  void close_bulk() {
    if (!has_bulk) return;
    unsigned char tag[tag_size];
    std::size_t written = 0;
    if (c->mac_final(bulk, tag, &written, sizeof tag) != 1 || written != tag_size)
      throw_error(errc::internal, "Poly1305 finalisation failed");
    c->mac_update(ctx, nonce, nonce_size);
    c->mac_update(ctx, tag, tag_size);
  }
};

Signer::Signer(std::string_view key) : state_(std::make_unique<State>()) {
  state_->enabled = !key.empty();
  if (!state_->enabled) return;
  const crypto::Api& lib = crypto::api();
  state_->c = &lib;
  state_->hmac = lib.mac_fetch(nullptr, "HMAC", nullptr);
  state_->poly = lib.mac_fetch(nullptr, "POLY1305", nullptr);
  if (state_->hmac == nullptr || state_->poly == nullptr)
    throw_error(errc::internal, "OpenSSL has no HMAC or Poly1305 implementation");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {lib.param_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), lib.param_end()};
  for (EVP_MAC_CTX** c : {&state_->ctx, &state_->derive}) {
    *c = lib.ctx_new(state_->hmac);
    if (*c == nullptr || lib.mac_init(*c, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) != 1)
      throw_error(errc::internal, "OpenSSL HMAC-SHA256 initialisation failed");
  }
  random_bytes(state_->prefix, sizeof state_->prefix);
}

Signer::~Signer() = default;
Signer::Signer(Signer&&) noexcept = default;
Signer& Signer::operator=(Signer&&) noexcept = default;

void Signer::begin() {
  State& s = *state_;
  if (!s.enabled) return;
  s.restart_hmac();
  s.checking = false;
  s.has_bulk = false;
  s.form_ok = true;
  std::memcpy(s.nonce, s.prefix, sizeof s.prefix);
  length_prefix(++s.counter, s.nonce + sizeof s.prefix);
  s.have_nonce = true;
}

void Signer::begin_check(std::span<const std::byte> given) {
  State& s = *state_;
  if (!s.enabled) return;
  s.restart_hmac();
  s.checking = true;
  s.has_bulk = false;
  s.form_ok = given.size() == signature_size || given.size() == bulk_signature_size;
  s.have_nonce = given.size() == bulk_signature_size;
  std::memset(s.given_mac, 0, sizeof s.given_mac);
  if (s.have_nonce) {
    std::memcpy(s.nonce, given.data(), nonce_size);
    std::memcpy(s.given_mac, given.data() + nonce_size, signature_size);
  } else if (given.size() == signature_size) {
    std::memcpy(s.given_mac, given.data(), signature_size);
  }
}

void Signer::add(std::span<const std::byte> frame) {
  State& s = *state_;
  if (!s.enabled) return;
  unsigned char len[8];
  length_prefix(frame.size(), len);
  s.c->mac_update(s.ctx, len, sizeof len);
  const auto* bytes = reinterpret_cast<const unsigned char*>(frame.data());
  if (frame.size() < bulk_frame) {
    if (!frame.empty()) s.c->mac_update(s.ctx, bytes, frame.size());
    return;
  }
  if (!s.has_bulk) {
    s.has_bulk = true;
    if (!s.have_nonce) {  // a bulk frame, and the signature that came has no nonce
      s.form_ok = false;
      std::memset(s.nonce, 0, sizeof s.nonce);
    }
    s.start_bulk();
  }
  s.c->mac_update(s.bulk, len, sizeof len);
  s.c->mac_update(s.bulk, bytes, frame.size());
}

Signer::Signature Signer::finish() {
  Signature sig;
  State& s = *state_;
  if (!s.enabled) {
    sig.size_ = signature_size;
    return sig;
  }
  s.close_bulk();
  std::byte* out = sig.bytes_.data();
  if (s.has_bulk) {
    std::memcpy(out, s.nonce, nonce_size);
    out += nonce_size;
  }
  std::size_t written = 0;
  if (s.c->mac_final(s.ctx, reinterpret_cast<unsigned char*>(out), &written, signature_size) != 1 ||
      written != signature_size)
    throw_error(errc::internal, "HMAC finalisation failed");
  sig.size_ = s.has_bulk ? bulk_signature_size : signature_size;
  return sig;
}

bool Signer::finish_check() {
  State& s = *state_;
  if (!s.enabled) return true;
  if (s.have_nonce && !s.has_bulk) s.form_ok = false;  // a nonce, and no bulk frame
  s.close_bulk();
  unsigned char mac[signature_size];
  std::size_t written = 0;
  if (s.c->mac_final(s.ctx, mac, &written, sizeof mac) != 1 || written != sizeof mac)
    throw_error(errc::internal, "HMAC finalisation failed");
  return s.c->memcmp(mac, s.given_mac, sizeof mac) == 0 && s.form_ok;
}

std::string new_key_hex() {
  unsigned char raw[32];
  random_bytes(raw, sizeof raw);
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : raw) {
    hex += digits[c >> 4];
    hex += digits[c & 15];
  }
  return hex;
}

std::string key_from_hex(std::string_view hex) {
  auto nibble = [&](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw_error(errc::bad_profile, "the key in the connection file is not hex");
  };
  if (hex.size() % 2 != 0) throw_error(errc::bad_profile, "the key in the connection file has odd length");
  std::string raw;
  for (std::size_t i = 0; i < hex.size(); i += 2) raw += static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1]));
  return raw;
}

}  // namespace crew::wire
