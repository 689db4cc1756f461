#pragma once
// Hostile peers for the security tests (libzmq's test style): raw DEALER sockets that speak to a
// real controller's client and engine endpoints with whatever frames a test wants, the
// controller's counters as numbers, and the check that a good client is still served.
//
// Every peer knows the profile's real key, so a test can sign garbage "correctly" as easily as it
// can sign a good message with the wrong key.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include "crew/client.hpp"
#include "protocol/hub_queries.hpp"
#include "protocol/registration.hpp"
#include "protocol/typed_body.hpp"
#include "protocol/wire.hpp"
#include "test_support.hpp"
#include "transport/curve.hpp"
#include "transport/zmq_frames.hpp"

namespace crew::testing::hostile {

/// What controller.json tells a client: endpoints, the raw key and the controller's pid; with
/// CURVE, the profile's client keys (controller.json) and world keys (engine.json).
struct Endpoints {
  std::string client_url;
  std::string engine_url;
  std::string key;  ///< raw bytes, not hex
  pid_t controller_pid = 0;
  transport::CurveClient client_curve, world_curve;
  /// The keys a peer at `url` (one of the two) presents.
  const transport::CurveClient& curve_at(const std::string& url) const {
    return url == engine_url ? world_curve : client_curve;
  }
};
Endpoints read_endpoints(const std::string& profile);

/// The controller's counters (stats_reply) as plain numbers.
/// The controller's counters (`controller_stats`), every one of them, by the name it reports.
struct Counters {
  std::map<std::string, std::int64_t> values;
  static Counters of(const Value& stats);
  /// The counter `name`; a name the controller does not report fails the test.
  std::int64_t operator[](const std::string& name) const;
  /// How much the counter `name` moved since `before`.
  std::int64_t since(const Counters& before, const std::string& name) const { return (*this)[name] - before[name]; }
};

/// How much counters are expected to move, by name. Checked exactly, and every other counter of
/// a hostile peer's (`dropped_*`, `unroutable`, `handler_errors`, `tasks_submitted`) must stay.
using Delta = std::map<std::string, std::int64_t>;
void check_delta(const Counters& before, const Counters& after, const Delta& expected);

/// One real cluster per test process: 2 engines (one MPI world), 200 ms heartbeats, requests up to
/// 8 MiB, a good client; with CURVE (--curve) when CREW_TEST_CURVE=1, and every peer then
/// presents the profile's keys: the same hostile messages, inside an admitted connection.
struct Env {
  Cluster cluster;
  Client rc;
  Endpoints endpoints;
  zmq::context_t ctx{1};
  Env();
  static std::vector<std::string> cluster_arguments();
  Counters counters() const { return Counters::of(rc.controller_stats()); }
  /// Polls the stats until `done(counters)` holds (or 10 s pass); returns the last counters.
  template <class Pred>
  Counters wait_counters(Pred done, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const {
    Counters last = counters();
    (void)poll_for(
        [&] {
          last = counters();
          return done(last);
        },
        timeout);
    return last;
  }
};
Env& env();

/// The good client is served: the controller process lives, both engines are alive and
/// `echo 42` comes back from each of them.
void check_still_served(const Env& e);

/// A raw DEALER connected to one controller endpoint.
class RawPeer {
public:
  /// `curve`: the keys to present (none: plaintext).
  RawPeer(zmq::context_t& ctx, const std::string& url, std::string_view key, const std::string& routing_id,
          const transport::CurveClient& curve = {});
  RawPeer(const RawPeer&) = delete;
  RawPeer& operator=(const RawPeer&) = delete;

  /// Sends these frames as one multipart message, as they are.
  void send_frames(const std::vector<std::string>& frames);
  /// Signs and seals with the profile's key and sends (header bytes and payload frames as given).
  void send_signed(const Buffer& header_bytes, const wire::Payload& payload);
  void send_signed(const wire::Header& h, const Value& body = Value());
  void send_signed(const wire::Outgoing& m) { send_signed(m.header_bytes, m.payload); }
  /// Sends with an explicit signature frame (a forgery, or another peer's message sent again by a
  /// holder of the key), under this peer's own fresh seal.
  void send_with_signature(const Buffer& signature, const Buffer& header_bytes, const wire::Payload& payload);

  /// The next message that passes the signature check, if one comes within `timeout`.
  std::optional<wire::Packet> recv(std::chrono::milliseconds timeout);
  /// A stats_request, then every message up to its stats_reply goes to `inbox`. The controller
  /// handles one peer's messages in order, so the reply counts everything this peer sent before.
  Counters barrier(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// Apply replies in `inbox` (and arriving within `timeout`) until `n` have come for `msg_id`.
  std::vector<wire::Packet> replies_for(const std::string& msg_id, std::size_t n, std::chrono::milliseconds timeout);

  std::vector<wire::Packet> inbox;  ///< messages received while waiting for something else
  /// The frames of the last message this peer signed, and of the last it received, as they went
  /// over the wire (what a listener on the network could capture and send again).
  std::vector<std::string> last_sent, last_received;
  wire::Signer& signer() { return sealer_.signer; }

private:
  zmq::socket_t socket_;
  transport::Sealer sealer_;
  transport::ReplayGuard guard_;
  std::deque<wire::Packet> unread_;  ///< the rest of a batch recv() took apart
  std::uint64_t next_request_ = 1'000'000;
};

/// The delimiter frame of every crew message.
inline const std::string delimiter(wire::protocol_id);

/// Where open() will put a random multipart message: no delimiter, or fewer than four frames
/// after it, is malformed; anything else fails the seal.
bool predicts_malformed(const std::vector<std::string>& frames);

/// A direct_task header, as a client sends it.
wire::Header apply_header(std::vector<std::int32_t> targets, std::vector<std::string> msg_ids, std::string function);
/// A collective_request header for `op`, as a client sends it.
wire::Header collective_header(std::vector<std::int32_t> targets, std::vector<std::string> msg_ids,
                               wire::Collective op);
/// `n` random bytes from `rng`.
std::string random_bytes(std::mt19937_64& rng, std::size_t n);
/// The body of a message as its bytes (the first payload frame).
Buffer body_frame(const Value& v);
/// A register_request's typed body (protocol/registration.hpp) for a world of `hosts.size()`
/// ranks, as a bridge sends it.
wire::RegisterRequest registration(std::vector<std::string> hosts);

}  // namespace crew::testing::hostile
