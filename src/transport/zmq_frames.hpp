#pragma once
// crew messages as ZeroMQ frames: received, checked and opened; signed and sent. These are the
// parts an Endpoint (transport/endpoint.hpp) is made of; code outside transport/ uses Endpoint.
//
// Frames: [routing ids... (ROUTER side)] ["crew/6"] [seal] [HMAC-SHA256] [header] [body] [out-of-band...]
// open() checks the delimiter, the seal, the signature, that the seal is new (a replay is
// refused) and the header, in that order, before anything else looks at a message.

#include <optional>
#include <span>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "common/internal_api.hpp"
#include "protocol/batch.hpp"
#include "protocol/seal.hpp"
#include "protocol/wire.hpp"
#include "transport/replay_guard.hpp"

namespace crew::transport {

/// Buffers at least this large are handed to ZeroMQ without copying.
inline constexpr std::size_t zero_copy_threshold = 16 * 1024;

/// Receives one whole multipart message if one is waiting (never blocks).
CREW_INTERNAL_API std::optional<std::vector<zmq::message_t>> recv_frames(zmq::socket_t& socket);

/// Whether a message is waiting (ZMQ_EVENTS). Processes waiting on a socket's ZMQ_FD use it: that
/// fd only says "look again", and a send can take in the signal of a message that came meanwhile,
/// so a socket that was sent on since it was last read to the end is asked before sleeping.
inline bool has_input(zmq::socket_t& socket) { return (socket.get(zmq::sockopt::events) & ZMQ_POLLIN) != 0; }

/// What one ZeroMQ message brought: one crew message, or the members of a batch, in order.
struct CREW_INTERNAL_API Received {
  std::vector<zmq::message_t> routing;  ///< the ROUTER envelope (empty on a DEALER)
  std::vector<wire::Packet> messages;
  std::size_t bytes = 0;  ///< the size of all its frames
  /// The sender's routing id (the first envelope frame), or "" on a DEALER.
  std::string peer() const;
};

/// Splits, verifies and decodes the headers. nullopt (with `why` filled) if the message is
/// rejected: a bad seal or signature (bad_signature), a seal `guard` does not admit (replayed),
/// or any frame or member header that does not decode (malformed).
CREW_INTERNAL_API std::optional<Received> open(std::vector<zmq::message_t>&& frames, wire::Signer& signer,
                                               ReplayGuard& guard, wire::Rejection& why);

/// How one socket signs and seals what it sends: the profile's key, the socket's sender id (a
/// new random one) and the number of its next message.
struct CREW_INTERNAL_API Sealer {
  explicit Sealer(std::string_view key) : signer(key) {}
  wire::Signer signer;
  std::uint64_t sender = wire::new_sender_id();
  std::uint64_t next_sequence = 1;
  /// The seal of the next message, which has `signature`.
  wire::Seal seal(std::span<const std::byte> signature) {
    return wire::make_seal({sender, next_sequence++}, signature, signer);
  }
};

/// What became of a send. crew sockets have no high-water mark, so would_block means the
/// socket is in trouble; unroutable means a ROUTER_MANDATORY socket has no such peer (gone).
enum class Sent { ok, unroutable, would_block };

/// Signs, seals and sends a message (never blocks). Other socket errors throw zmq::error_t.
CREW_INTERNAL_API Sent send(zmq::socket_t& socket, std::span<const zmq::message_t> routing, const Buffer& header_bytes,
                            std::span<const Buffer> payload, Sealer& sealer);
inline Sent send(zmq::socket_t& socket, std::span<const zmq::message_t> routing, const wire::Outgoing& m,
                 Sealer& sealer) {
  return send(socket, routing, m.header_bytes, m.payload, sealer);
}
/// Sends one unit from a Batcher: forwarded with its signature if it has one, else signed.
CREW_INTERNAL_API Sent send(zmq::socket_t& socket, std::span<const zmq::message_t> routing, const wire::Frames& m,
                            Sealer& sealer);
/// Sends everything queued in `queue` (emptying it); the first failure stops it (the rest is
/// dropped: the peer is gone) and is returned.
CREW_INTERNAL_API Sent send_queued(zmq::socket_t& socket, std::span<const zmq::message_t> routing, wire::Batcher& queue,
                                   Sealer& sealer);
/// Sends a message that is already signed with this socket's key (not signed again; sealed anew).
CREW_INTERNAL_API Sent forward(zmq::socket_t& socket, std::span<const zmq::message_t> routing, const Buffer& signature,
                               const Buffer& header_bytes, std::span<const Buffer> payload, Sealer& sealer);

/// A received ZeroMQ frame as a Buffer: large frames without copying, small ones (below
/// zero_copy_threshold) copied out, so that keeping one does not keep ZeroMQ's receive buffer.
CREW_INTERNAL_API Buffer to_buffer(zmq::message_t&& frame);
/// A Buffer as a ZeroMQ frame: small ones are copied, large ones shared (zero-copy).
CREW_INTERNAL_API zmq::message_t to_frame(const Buffer& buffer);

}  // namespace crew::transport
