#pragma once
// Endpoint: one crew socket. Every process talks ZeroMQ through it (the client, the controller's
// two ROUTERs, a bridge and its heartbeat line, an engine registering), so what a crew socket is
// lives here once: the socket and its options, the key that signs and checks every message, the
// seal that numbers them and the guard that refuses replays (protocol/seal.hpp; a message that
// fails a check goes to the caller's on_rejected, which counts it in the caller's terms), and
// ZeroMQ's rule for waiting on a socket's ZMQ_FD.
//
// That rule: the fd is edge-triggered and only says "look again". It signals what arrives after
// a receive (or a look at ZMQ_EVENTS) found nothing, and a send can take in the signal of a
// message that came meanwhile. So an endpoint remembers whether it was last looked at to the end
// (armed()); one that was sent on since is received from, or asked (input_waiting()), before
// anybody sleeps on its fd.

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "common/internal_api.hpp"
#include "protocol/batch.hpp"
#include "protocol/signer.hpp"
#include "protocol/wire.hpp"
#include "transport/curve.hpp"
#include "transport/zmq_frames.hpp"

namespace crew::transport {

struct CREW_INTERNAL_API EndpointOptions {
  zmq::socket_type type = zmq::socket_type::dealer;
  std::string routing_id;               ///< "" leaves ZeroMQ's
  std::chrono::milliseconds linger{0};  ///< how long close() keeps unsent messages
  bool unlimited_queues = true;         ///< no high-water mark (crew sockets never drop silently)
  bool router_mandatory = false;        ///< a ROUTER's send to an unknown peer says unroutable
  /// Shared by sockets of one process that a peer can reach both of (the controller's two): a
  /// message admitted by one is a replay at the other. Only where every sender reaches them over
  /// one connection (a bridge's two sockets hear the controller's one sender over two TCP
  /// streams, out of order): each has its own. Null: the endpoint has its own.
  std::shared_ptr<ReplayGuard> replay_guard;
  /// CurveZMQ (transport/curve.hpp): a binding socket's server side, a connecting one's client
  /// side. Neither set: plaintext.
  CurveServer curve_server;
  CurveClient curve_client;
};

class CREW_INTERNAL_API Endpoint {
public:
  Endpoint(zmq::context_t& context, const std::string& key, const EndpointOptions& options);

  /// Binds (a ROUTER) and returns the address it got, e.g. "tcp://10.0.0.5:40123".
  std::string bind(const std::string& url);
  void connect(const std::string& url);
  /// Publishes this socket's `events` (ZMQ_EVENT_*) on the inproc address `address` (a PAIR
  /// reads them: transport/handshake_watch.hpp); "" stops. Before connect or bind, to see them all.
  void monitor(const std::string& address, int events);
  /// The fd to poll for POLLIN: it signals that the endpoint should be received from.
  int fd() const noexcept { return fd_; }

  /// Receives checked messages until none is left, `budget` crew messages (a batch counts its
  /// members, a rejected message one) were handed on, or (looked at every 64 messages) the clock
  /// passed `until`: each to `on_received(Received&&)`, each rejection to
  /// `on_rejected(const wire::Rejection&)`. Returns the number of ZeroMQ messages taken; when it
  /// stopped because the socket had nothing more, armed() is set.
  template <class OnReceived, class OnRejected>
  std::size_t receive(OnReceived&& on_received, OnRejected&& on_rejected,
                      std::size_t budget = std::numeric_limits<std::size_t>::max(),
                      std::chrono::steady_clock::time_point until = std::chrono::steady_clock::time_point::max()) {
    std::size_t taken = 0;
    armed_ = false;  // set again only if this receive gets to the end
    for (std::size_t handed = 0; handed < budget; ++taken) {
      if (taken % 64 == 63 && std::chrono::steady_clock::now() >= until) break;
      auto frames = recv_frames(socket_);
      if (!frames) {
        armed_ = true;
        break;
      }
      wire::Rejection why;
      auto received = open(std::move(*frames), sealer_.signer, *guard_, why);
      if (!received) {
        ++handed;
        on_rejected(why);
        continue;
      }
      handed += received->messages.size();
      on_received(std::move(*received));
    }
    return taken;
  }

  /// True when fd() will signal the next message: the socket was last received from (or asked)
  /// to the end and not sent on since. Otherwise receive, or ask input_waiting(), before sleeping.
  bool armed() const noexcept { return armed_; }
  /// Whether a message is waiting (ZMQ_EVENTS); false re-arms fd().
  bool input_waiting();

  /// Signs and sends one message; `routing` addresses a ROUTER's peer.
  Sent send(const wire::Outgoing& m, std::span<const zmq::message_t> routing = {});
  Sent send(const Buffer& header_bytes, std::span<const Buffer> payload, std::span<const zmq::message_t> routing = {});
  /// Sends everything queued (emptying it), each unit forwarded with its own signature when it
  /// has one, else signed; the first failure stops it (the rest is dropped: the peer is gone).
  Sent send_queued(wire::Batcher& queue, std::span<const zmq::message_t> routing = {});
  /// Sends one unit of a batcher's queue (forwarded with its signature when it has one).
  Sent send(const wire::Frames& m, std::span<const zmq::message_t> routing = {});
  /// The signature this endpoint would give a message, for one that is signed once and sent to many.
  Buffer signature_of(const Buffer& header_bytes, std::span<const Buffer> payload) {
    return wire::signature_of(header_bytes, payload, sealer_.signer);
  }

  /// How long close() waits for unsent messages (e.g. 0 once nobody will take them).
  void set_linger(std::chrono::milliseconds linger);

private:
  /// A send may take in the fd's signal of a message that came meanwhile: look before sleeping.
  Sent sent(Sent s) {
    armed_ = false;
    return s;
  }

  zmq::socket_t socket_;
  Sealer sealer_;
  std::shared_ptr<ReplayGuard> guard_;
  int fd_ = -1;
  bool armed_ = false;
};

}  // namespace crew::transport
