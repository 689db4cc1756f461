// HMAC-SHA256 with OpenSSL's EVP_MAC (the key schedule is computed once per Signer).
#include "protocol/signer.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/random.h>

#include <cstdint>
#include <stdexcept>

#include "crew/error.hpp"

namespace crew::wire {

struct Signer::State {
  EVP_MAC* mac = nullptr;
  EVP_MAC_CTX* ctx = nullptr;
  bool enabled = false;
  bool keyed = false;
  ~State() {
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
  }
};

Signer::Signer(std::string_view key) : state_(std::make_unique<State>()) {
  state_->enabled = !key.empty();
  if (!state_->enabled) return;
  state_->mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (state_->mac == nullptr) throw Error(errc::internal, "OpenSSL has no HMAC implementation");
  state_->ctx = EVP_MAC_CTX_new(state_->mac);
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(state_->ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) != 1)
    throw Error(errc::internal, "OpenSSL HMAC-SHA256 initialisation failed");
  state_->keyed = true;
}

Signer::~Signer() = default;

void Signer::begin() {
  if (!state_->enabled) return;
  // A null key re-uses the key schedule computed in the constructor.
  if (EVP_MAC_init(state_->ctx, nullptr, 0, nullptr) != 1) throw Error(errc::internal, "HMAC reset failed");
}

void Signer::add(std::span<const std::byte> frame) {
  if (!state_->enabled) return;
  std::uint64_t n = frame.size();
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
  EVP_MAC_update(state_->ctx, len, sizeof len);
  if (!frame.empty()) EVP_MAC_update(state_->ctx, reinterpret_cast<const unsigned char*>(frame.data()), frame.size());
}

Signer::Signature Signer::finish() {
  Signature sig{};
  if (!state_->enabled) return sig;
  std::size_t written = 0;
  if (EVP_MAC_final(state_->ctx, reinterpret_cast<unsigned char*>(sig.data()), &written, sig.size()) != 1 ||
      written != sig.size())
    throw Error(errc::internal, "HMAC finalisation failed");
  return sig;
}

bool Signer::finish_and_check(std::span<const std::byte> given) {
  if (!state_->enabled) return true;
  const Signature sig = finish();
  return given.size() == sig.size() && CRYPTO_memcmp(sig.data(), given.data(), sig.size()) == 0;
}

std::string new_key_hex() {
  unsigned char raw[32];
  std::size_t got = 0;
  while (got < sizeof raw) {
    const ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
    if (n < 0) throw Error(errc::internal, "getrandom() failed while creating a key");
    got += static_cast<std::size_t>(n);
  }
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
    throw InputError(errc::bad_profile, "the key in the connection file is not hex");
  };
  if (hex.size() % 2 != 0) throw InputError(errc::bad_profile, "the key in the connection file has odd length");
  std::string raw;
  for (std::size_t i = 0; i < hex.size(); i += 2) raw += static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1]));
  return raw;
}

}  // namespace crew::wire
