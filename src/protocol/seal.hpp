#pragma once
// The seal: which socket sent a ZeroMQ message, and which of its messages it is.
//
// A signature proves that a message was made by someone with the profile's key; it cannot tell a
// message from the same message captured on the network and sent again. So every message also
// carries a seal: its sender (a random 64-bit id per socket) and its sequence number among that
// socket's messages, under an HMAC that covers them and the message's signature:
//
//   seal = sender (8 bytes, little-endian) || sequence (8 bytes) ||
//          HMAC-SHA256(key, "crew-seal/1", sender || sequence, signature)   (each framed as Signer does)
//
// A receiver admits each sender's sequence numbers only in increasing order
// (transport/replay_guard.hpp). A message forwarded unchanged (its signature kept, so its bytes
// are not hashed again) gets a fresh seal at every hop: sealing costs one HMAC over 72 bytes.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "common/internal_api.hpp"
#include "protocol/signer.hpp"

namespace crew::wire {

inline constexpr std::size_t seal_size = 48;
using Seal = std::array<std::byte, seal_size>;

/// What a seal says: who sent the message, and its number among that sender's messages.
struct CREW_INTERNAL_API SealFields {
  std::uint64_t sender = 0;
  std::uint64_t sequence = 0;
};

/// The seal of the message with `signature` (its whole signature frame).
CREW_INTERNAL_API Seal make_seal(SealFields fields, std::span<const std::byte> signature, Signer& signer);
/// What `seal` says, if it is a seal of `signature` under this key (nullopt: the wrong size or
/// the wrong HMAC).
CREW_INTERNAL_API std::optional<SealFields> check_seal(std::span<const std::byte> seal,
                                                       std::span<const std::byte> signature, Signer& signer);
/// A new sender id: 64 random bits from the kernel (never 0).
CREW_INTERNAL_API std::uint64_t new_sender_id();

}  // namespace crew::wire
