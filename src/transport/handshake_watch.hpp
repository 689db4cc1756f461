#pragma once
// HandshakeWatch: how a connecting socket's ZMTP handshakes end, read from its monitor.
//
// Without it a refused peer only waits: ZeroMQ retries a failed handshake by itself and never
// says why. A client or a world asks this once, before its first request: the controller's answer
// to its CURVE keys (admitted, unknown, revoked, or security that does not match the connection
// file's) comes back in milliseconds and becomes an error that says what to fix.

#include <chrono>
#include <optional>
#include <string>

#include <zmq.hpp>

#include "common/internal_api.hpp"
#include "transport/endpoint.hpp"

namespace crew::transport {

/// A handshake that failed: ZMQ_EVENT_HANDSHAKE_FAILED_* and its value (the ZMTP protocol error,
/// or the status code the server's ZAP handler gave).
struct CREW_INTERNAL_API HandshakeFailure {
  int event = 0;
  int value = 0;
  /// What went wrong, for a person: "the controller refused this key (ZAP 400)", ...
  std::string reason() const;
  /// Whether the server's ZAP handler refused the key (rather than the two sides disagreeing).
  bool refused_key() const;
};

class CREW_INTERNAL_API HandshakeWatch {
public:
  /// Watches `socket`'s handshakes; call before it connects.
  HandshakeWatch(zmq::context_t& context, Endpoint& socket);
  ~HandshakeWatch();
  HandshakeWatch(const HandshakeWatch&) = delete;
  HandshakeWatch& operator=(const HandshakeWatch&) = delete;

  /// Waits for a handshake to end: the failure if one failed for good, nothing if one succeeded
  /// or none ended by `until` (a server not there yet: the first request's timeout tells).
  ///
  /// For good: the server refused the key, or the two sides' security differs as ZMTP says. A
  /// connection closed mid-handshake says nothing by itself (a server restarting; an ssh tunnel
  /// whose far end does not listen): only `closed_limit` of them in a row count as a refusal (a
  /// plaintext peer of a CURVE server, or the reverse, when the server hangs up first); 0: never.
  std::optional<HandshakeFailure> first_outcome(std::chrono::steady_clock::time_point until, int closed_limit);

private:
  Endpoint& socket_;
  zmq::socket_t events_;
};

}  // namespace crew::transport
