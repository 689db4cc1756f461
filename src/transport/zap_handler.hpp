#pragma once
// ZapHandler: the controller's gatekeeper for CurveZMQ (ZeroMQ's ZAP, RFC 27).
//
// libzmq asks it, over inproc://zeromq.zap.01, about every CURVE handshake at a server socket:
// the peer's public key and the socket's ZAP domain ("clients" or "worlds"). It admits a key only
// if the profile's authorized.json (transport/keyring.hpp) lists it, unrevoked, for that domain's
// role, and reads the file again whenever it changes. It also watches the server sockets'
// monitors for handshakes that fail before a key is shown: a plaintext peer, or one whose idea of
// the server's key is wrong. Every refusal is counted (and the first ones logged); nothing a
// refused peer sends reaches the controller's loop. It reads the file at least once a second, so a
// key revoked while its peer is connected is known within a second (from_revoked_key()).
//
// One thread of its own; made before the sockets bind (a CURVE server with no ZAP handler admits
// any key), ended before the context.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "common/internal_api.hpp"
#include "transport/endpoint.hpp"

namespace crew::transport {

struct CREW_INTERNAL_API CurveCounts {
  std::uint64_t admitted = 0;
  std::uint64_t refused_unknown_key = 0;  ///< a key not on the list (or not for that port)
  std::uint64_t refused_revoked_key = 0;
  std::uint64_t refused_plaintext = 0;  ///< a peer without CURVE, seen as such
  /// Other handshakes that failed: a wrong server key, not ZMTP, or a plaintext peer that hung
  /// up before this side saw its mechanism.
  std::uint64_t refused_handshake = 0;
};

class CREW_INTERNAL_API ZapHandler {
public:
  /// Starts answering for `context`; `watched` are the server sockets whose failed handshakes it
  /// counts (they must live until this ends).
  ZapHandler(zmq::context_t& context, std::filesystem::path authorized_file, const std::vector<Endpoint*>& watched);
  ~ZapHandler();
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

  CurveCounts counts() const;
  /// Whether the peer that sent `frame` (any frame of a message received at a watched socket)
  /// connected with a key revoked since: its connection outlives the revocation, its messages
  /// do not. Costs an atomic load while nothing is revoked.
  bool from_revoked_key(const zmq::message_t& frame) const;
  /// The public key a frame's connection was admitted with ("" without CURVE).
  static std::string key_of(const zmq::message_t& frame);
  /// Whether `public_key` is revoked now; revocations() moves whenever the revoked set changes.
  bool revoked(const std::string& public_key) const;
  std::uint64_t revocations() const;

private:
  struct State;
  void serve();

  std::unique_ptr<State> state_;
  std::vector<Endpoint*> watched_;
  std::thread thread_;
};

}  // namespace crew::transport
