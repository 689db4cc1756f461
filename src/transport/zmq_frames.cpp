// crew messages as ZeroMQ frames: receiving, checking, opening; signing, sending; zero-copy buffers.
#include "transport/zmq_frames.hpp"

#include <cstring>
#include <memory>

namespace crew::transport {
using wire::Payload;
using wire::protocol_id;
using wire::Signer;

namespace {

bool is_delimiter(const zmq::message_t& frame) {
  return frame.size() == protocol_id.size() && std::memcmp(frame.data(), protocol_id.data(), protocol_id.size()) == 0;
}

/// A frame that names another version of crew's protocol ("crew/1"): say so, and what to do.
std::string other_version(const std::vector<zmq::message_t>& frames) {
  constexpr std::string_view prefix = "crew/";
  for (const auto& f : frames) {
    const std::string_view text(static_cast<const char*>(f.data()), f.size());
    if (text.size() <= prefix.size() + 4 && text.substr(0, prefix.size()) == prefix)
      return "; the peer speaks " + std::string(text) + ", this build " + std::string(protocol_id) +
             ": run the same crew version on both sides";
  }
  return {};
}

void free_shared_owner(void* /*data*/, void* hint) { delete static_cast<std::shared_ptr<const void>*>(hint); }

/// Sends all frames; ZeroMQ accepts the rest of a multipart message once it took the first frame.
Sent send_all(zmq::socket_t& socket, std::span<const zmq::message_t> routing, std::span<const std::byte> signature,
              const Buffer& header_bytes, std::span<const Buffer> payload, Sealer& sealer) {
  const auto more = zmq::send_flags::sndmore | zmq::send_flags::dontwait;
  try {
    for (std::size_t i = 0; i < routing.size(); ++i) {
      zmq::message_t copy(routing[i].data(), routing[i].size());
      if (!socket.send(copy, more) && i == 0) return Sent::would_block;
    }
    if (!socket.send(zmq::const_buffer(protocol_id.data(), protocol_id.size()), more) && routing.empty())
      return Sent::would_block;
  } catch (const zmq::error_t& e) {
    if (e.num() == EHOSTUNREACH) return Sent::unroutable;
    throw;
  }
  const wire::Seal seal = sealer.seal(signature);
  socket.send(zmq::const_buffer(seal.data(), seal.size()), more);
  socket.send(zmq::const_buffer(signature.data(), signature.size()), more);
  socket.send(zmq::const_buffer(header_bytes.data(), header_bytes.size()),
              payload.empty() ? zmq::send_flags::dontwait : more);
  for (std::size_t i = 0; i < payload.size(); ++i) {
    zmq::message_t frame = to_frame(payload[i]);
    socket.send(frame, i + 1 < payload.size() ? more : zmq::send_flags::dontwait);
  }
  return Sent::ok;
}

Signer::Signature sign_frames(const Buffer& header_bytes, std::span<const Buffer> payload, Signer& signer) {
  signer.begin();
  signer.add(header_bytes.bytes());
  for (const auto& b : payload) signer.add(b.bytes());
  return signer.finish();
}

}  // namespace

std::optional<std::vector<zmq::message_t>> recv_frames(zmq::socket_t& socket) {
  std::vector<zmq::message_t> frames;
  zmq::message_t first;
  if (!socket.recv(first, zmq::recv_flags::dontwait)) return std::nullopt;
  bool more = first.more();
  frames.push_back(std::move(first));
  while (more) {
    zmq::message_t next;
    (void)socket.recv(next);  // the rest of a multipart message is already here
    more = next.more();
    frames.push_back(std::move(next));
  }
  return frames;
}

std::string Received::peer() const {
  if (routing.empty()) return {};
  return std::string(static_cast<const char*>(routing.front().data()), routing.front().size());
}

std::optional<Received> open(std::vector<zmq::message_t>&& frames, Signer& signer, ReplayGuard& guard,
                             wire::Rejection& why) {
  std::size_t bytes = 0;
  for (const auto& f : frames) bytes += f.size();
  std::size_t delim = 0;
  while (delim < frames.size() && !is_delimiter(frames[delim])) ++delim;
  if (delim == frames.size()) {
    why = {errc::malformed, "no \"" + std::string(protocol_id) + "\" delimiter frame in " +
                                std::to_string(frames.size()) + " frames" + other_version(frames)};
    return std::nullopt;
  }
  if (frames.size() < delim + 5) {
    why = {errc::malformed, "only " + std::to_string(frames.size() - delim - 1) +
                                " frames after the delimiter (seal, signature, header, body needed)"};
    return std::nullopt;
  }
  const auto bytes_of = [](const zmq::message_t& f) {
    return std::span<const std::byte>(static_cast<const std::byte*>(f.data()), f.size());
  };
  const std::span<const std::byte> sig = bytes_of(frames[delim + 2]);
  const std::optional<wire::SealFields> seal = wire::check_seal(bytes_of(frames[delim + 1]), sig, signer);
  if (!seal) {
    why = {errc::bad_signature, "seal does not match the profile's key"};
    return std::nullopt;
  }
  signer.begin_check(sig);
  for (std::size_t i = delim + 3; i < frames.size(); ++i) signer.add(bytes_of(frames[i]));
  if (!signer.finish_check()) {
    why = {errc::bad_signature, "signature does not match the profile's key"};
    return std::nullopt;
  }
  if (!guard.admit(*seal)) {
    why = {errc::replayed, "sender " + std::to_string(seal->sender) + "'s message " + std::to_string(seal->sequence) +
                               " came before (a replay), or was our own"};
    return std::nullopt;
  }
  Received r;
  r.bytes = bytes;
  r.routing.reserve(delim);
  for (std::size_t i = 0; i < delim; ++i) r.routing.push_back(std::move(frames[i]));
  Buffer signature = to_buffer(std::move(frames[delim + 2]));
  Buffer header_bytes = to_buffer(std::move(frames[delim + 3]));
  Payload payload;
  payload.reserve(frames.size() - delim - 4);
  for (std::size_t i = delim + 4; i < frames.size(); ++i) payload.push_back(to_buffer(std::move(frames[i])));
  const bool lone = !wire::is_batch(header_bytes);
  try {
    r.messages = wire::unpack(std::move(header_bytes), std::move(payload));
  } catch (const ProtocolError& e) {
    why = {errc::malformed, e.message()};
    return std::nullopt;
  }
  if (lone) r.messages.front().signature = std::move(signature);
  return r;
}

Sent send(zmq::socket_t& socket, std::span<const zmq::message_t> routing, const Buffer& header_bytes,
          std::span<const Buffer> payload, Sealer& sealer) {
  const Signer::Signature sig = sign_frames(header_bytes, payload, sealer.signer);
  return send_all(socket, routing, sig.bytes(), header_bytes, payload, sealer);
}

Sent forward(zmq::socket_t& socket, std::span<const zmq::message_t> routing, const Buffer& signature,
             const Buffer& header_bytes, std::span<const Buffer> payload, Sealer& sealer) {
  if (!wire::is_signature(signature)) throw_error(errc::internal, "forwarding an unsigned message");
  return send_all(socket, routing, signature.bytes(), header_bytes, payload, sealer);
}

Sent send(zmq::socket_t& socket, std::span<const zmq::message_t> routing, const wire::Frames& m, Sealer& sealer) {
  if (wire::is_signature(m.signature))
    return send_all(socket, routing, m.signature.bytes(), m.header_bytes, m.payload, sealer);
  return send(socket, routing, m.header_bytes, m.payload, sealer);
}

Sent send_queued(zmq::socket_t& socket, std::span<const zmq::message_t> routing, wire::Batcher& queue, Sealer& sealer) {
  for (const wire::Frames& m : queue.take()) {
    const Sent r = send(socket, routing, m, sealer);
    if (r != Sent::ok) return r;
  }
  return Sent::ok;
}

// A small frame is copied out: ZeroMQ decodes small messages as views of its shared receive
// buffer (8 KiB and up), and a 60-byte reply kept as a view would keep that whole buffer alive.
// The copy costs what the view's owner would (one allocation) and holds only its own bytes.
Buffer to_buffer(zmq::message_t&& frame) {
  if (frame.size() < zero_copy_threshold) return Buffer::copy(frame.data(), frame.size());
  auto owner = std::make_shared<zmq::message_t>(std::move(frame));
  const void* data = owner->data();
  const std::size_t size = owner->size();
  return Buffer::view(std::move(owner), data, size);
}

zmq::message_t to_frame(const Buffer& buffer) {
  if (buffer.size() < zero_copy_threshold || !buffer.owner()) return zmq::message_t(buffer.data(), buffer.size());
  auto* hint = new std::shared_ptr<const void>(buffer.owner());
  return zmq::message_t(const_cast<std::byte*>(buffer.data()), buffer.size(), &free_shared_owner, hint);
}

}  // namespace crew::transport
