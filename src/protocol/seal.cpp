// The seal of a message (protocol/seal.hpp).
#include "protocol/seal.hpp"

#include <sys/random.h>

#include <cstring>
#include <string_view>

#include "crew/error.hpp"

namespace crew::wire {
namespace {

constexpr std::string_view seal_tag = "crew-seal/1";
constexpr std::size_t fields_size = 16;

void store_le(std::uint64_t v, std::byte* out) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::byte>(v >> (8 * i));
}

std::uint64_t load_le(const std::byte* in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t(std::to_integer<unsigned>(in[i])) << (8 * i);
  return v;
}

std::span<const std::byte> tag_bytes() {
  return {reinterpret_cast<const std::byte*>(seal_tag.data()), seal_tag.size()};
}

}  // namespace

Seal make_seal(SealFields fields, std::span<const std::byte> signature, Signer& signer) {
  Seal seal{};
  store_le(fields.sender, seal.data());
  store_le(fields.sequence, seal.data() + 8);
  signer.begin();
  signer.add(tag_bytes());
  signer.add({seal.data(), fields_size});
  signer.add(signature);
  const Signer::Signature mac = signer.finish();  // no bulk frame: the HMAC alone, 32 bytes
  std::memcpy(seal.data() + fields_size, mac.data(), Signer::signature_size);
  return seal;
}

std::optional<SealFields> check_seal(std::span<const std::byte> seal, std::span<const std::byte> signature,
                                     Signer& signer) {
  if (seal.size() != seal_size) return std::nullopt;
  signer.begin_check(seal.subspan(fields_size, Signer::signature_size));
  signer.add(tag_bytes());
  signer.add(seal.first(fields_size));
  signer.add(signature);
  if (!signer.finish_check()) return std::nullopt;
  return SealFields{load_le(seal.data()), load_le(seal.data() + 8)};
}

std::uint64_t new_sender_id() {
  std::uint64_t id = 0;
  while (id == 0) {
    if (getrandom(&id, sizeof id, 0) != sizeof id) throw_error(errc::internal, "getrandom() failed");
  }
  return id;
}

}  // namespace crew::wire
