#pragma once
// crew messages: what a message is, made and taken apart, independent of how it travels.
//
// On a ZeroMQ socket (transport/endpoint.hpp) a message is the frames
// [routing ids... (ROUTER side)] ["crew/6"] [seal] [HMAC-SHA256] [header] [body] [out-of-band...];
// the signature covers header, body and every out-of-band frame; the seal (protocol/seal.hpp)
// numbers the message among its sending socket's and covers the signature. The header frame may instead be
// a batch header (protocol/batch.hpp): the message then carries several crew messages, each
// [header] [body] [out-of-band...], under the one signature. Between ranks (MPI) the same header
// and payload travel without the delimiter and signature.

#include <span>
#include <string>
#include <vector>

#include "common/internal_api.hpp"
#include "crew/value.hpp"
#include "protocol/batch.hpp"
#include "protocol/header.hpp"
#include "protocol/signer.hpp"

namespace crew::wire {

/// A bridge's heartbeat connection has its main routing id plus this suffix: heartbeats never
/// wait behind a bulk message on the same TCP stream.
inline constexpr std::string_view heartbeat_suffix = "/hb";

/// A received crew message whose signature checked out and whose header decoded.
struct CREW_INTERNAL_API Packet {
  Buffer signature;  ///< set if it came alone (so it can be forwarded unchanged); empty in a batch
  Buffer header_bytes;
  Header header;
  Payload payload;  ///< [0] the body, [1..] its out-of-band frames
  /// Decodes the body value (throws ProtocolError if it does not decode).
  Value body() const;
};

/// Why a message was rejected.
struct CREW_INTERNAL_API Rejection {
  errc code = errc::none;  ///< bad_signature or malformed
  std::string detail;
};

/// A header and body ready to send: encode once, send to many.
struct CREW_INTERNAL_API Outgoing {
  Buffer header_bytes;
  Payload payload;
};
CREW_INTERNAL_API Outgoing make_message(const Header& h, const Value& body = Value());

/// Decodes the headers of a message or of a batch's members; throws ProtocolError.
CREW_INTERNAL_API std::vector<Packet> unpack(Buffer header_bytes, Payload payload);

/// The signature of a header and payload (to keep beside a message that will be forwarded).
CREW_INTERNAL_API Buffer signature_of(const Buffer& header_bytes, std::span<const Buffer> payload, Signer& signer);
/// Whether `signature` is a whole signature (of either size), i.e. a message can be forwarded with it.
CREW_INTERNAL_API bool is_signature(const Buffer& signature) noexcept;

}  // namespace crew::wire
