// Hostile peers for the security tests.
#include "hostile_peer.hpp"

#include <algorithm>
#include <doctest/doctest.h>

#include "common/process.hpp"
#include "common/profile.hpp"
#include "protocol/value_codec.hpp"
#include "transport/zmq_frames.hpp"

namespace crew::testing::hostile {

using namespace std::chrono_literals;

Endpoints read_endpoints(const std::string& profile) {
  const fs::path file = profile_dir(profile) / controller_file_name;
  const ControllerFile cf = controller_file_from_json(read_json_file(file), file);
  Endpoints e{cf.client_url, cf.engine_url, wire::key_from_hex(cf.key_hex), static_cast<pid_t>(cf.pid), {}, {}};
  if (cf.curve.on()) {
    const fs::path engine_file = profile_dir(profile) / engine_file_name;
    const EngineFile ef = engine_file_from_json(read_json_file(engine_file), engine_file);
    e.client_curve = {{cf.curve.public_key, cf.curve.secret_key}, cf.curve.server_key};
    e.world_curve = {{ef.curve.public_key, ef.curve.secret_key}, ef.curve.server_key};
  }
  return e;
}

Counters Counters::of(const Value& stats) {
  Counters c;
  for (const auto& [name, value] : stats.as_dict())
    if (value.is_int()) c.values[name] = value.as_int();
  return c;
}

std::int64_t Counters::operator[](const std::string& name) const {
  const auto it = values.find(name);
  REQUIRE_MESSAGE(it != values.end(), "the controller reports no counter named " << name);
  return it->second;
}

namespace {
/// The counters a hostile peer could move: every drop, handler error and submission.
bool watched(const std::string& name) {
  return name.rfind("dropped_", 0) == 0 || name == "unroutable" || name == "handler_errors" ||
         name == "tasks_submitted";
}
}  // namespace

void check_delta(const Counters& before, const Counters& after, const Delta& expected) {
  for (const auto& [name, moved] : expected) {
    REQUIRE_MESSAGE(watched(name), name << " is not a counter check_delta watches");
    CHECK_MESSAGE(after[name] - before[name] == moved, name);
  }
  for (const auto& [name, value] : after.values)
    if (watched(name) && !expected.count(name)) CHECK_MESSAGE(value - before[name] == 0, name << " moved");
}

Env::Env() : cluster(2, "sec", cluster_arguments()), rc(cluster.client()), endpoints(read_endpoints("sec")) {}

std::vector<std::string> Env::cluster_arguments() {
  std::vector<std::string> args = {"--heartbeat-ms", "200", "--max-message-size", "8M"};
  if (const char* curve = std::getenv("CREW_TEST_CURVE"); curve != nullptr && std::string(curve) == "1")
    args.push_back("--curve");
  return args;
}

Env& env() {
  static Env e;
  return e;
}

void check_still_served(const Env& e) {
  CHECK(proc::alive(e.endpoints.controller_pid));
  CHECK(e.rc.ids() == std::vector<int>{0, 1});
  const Value r = e.rc.view().apply("echo", 42).get(10s);
  CHECK(r == Value::list({42, 42}));
}

// ------------------------------------------------------------------------------------ RawPeer

RawPeer::RawPeer(zmq::context_t& ctx, const std::string& url, std::string_view key, const std::string& routing_id,
                 const transport::CurveClient& curve)
    : socket_(ctx, zmq::socket_type::dealer), sealer_(key) {
  if (curve.on()) {
    socket_.set(zmq::sockopt::curve_serverkey, curve.server_key);
    socket_.set(zmq::sockopt::curve_publickey, curve.own.public_key);
    socket_.set(zmq::sockopt::curve_secretkey, curve.own.secret_key);
  }
  socket_.set(zmq::sockopt::routing_id, routing_id);
  socket_.set(zmq::sockopt::sndhwm, 0);
  socket_.set(zmq::sockopt::rcvhwm, 0);
  socket_.set(zmq::sockopt::linger, 2000);  // what a test sent is delivered even if the peer closes at once
  socket_.connect(url);
}

void RawPeer::send_frames(const std::vector<std::string>& frames) {
  for (std::size_t i = 0; i < frames.size(); ++i)
    socket_.send(zmq::buffer(frames[i]), i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
}

void RawPeer::send_signed(const Buffer& header_bytes, const wire::Payload& payload) {
  send_with_signature(wire::signature_of(header_bytes, payload, sealer_.signer), header_bytes, payload);
}

void RawPeer::send_signed(const wire::Header& h, const Value& body) {
  const auto m = wire::make_message(h, body);
  send_signed(m.header_bytes, m.payload);
}

void RawPeer::send_with_signature(const Buffer& signature, const Buffer& header_bytes, const wire::Payload& payload) {
  const wire::Seal seal = sealer_.seal(signature.bytes());
  std::vector<std::string> frames{std::string(wire::protocol_id),
                                  std::string(reinterpret_cast<const char*>(seal.data()), seal.size()),
                                  std::string(signature.str()), std::string(header_bytes.str())};
  for (const auto& b : payload) frames.emplace_back(b.str());
  send_frames(frames);
  last_sent = std::move(frames);
}

bool predicts_malformed(const std::vector<std::string>& frames) {
  const auto d = std::find(frames.begin(), frames.end(), delimiter);
  return d == frames.end() || frames.end() - d < 5;
}

std::optional<wire::Packet> RawPeer::recv(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (!unread_.empty()) {
      wire::Packet p = std::move(unread_.front());
      unread_.pop_front();
      return p;
    }
    while (auto frames = transport::recv_frames(socket_)) {
      last_received.clear();
      for (const auto& f : *frames) last_received.emplace_back(static_cast<const char*>(f.data()), f.size());
      wire::Rejection why;
      if (auto r = transport::open(std::move(*frames), sealer_.signer, guard_, why)) {
        for (auto& p : r->messages) unread_.push_back(std::move(p));  // a batch: one at a time
        break;
      }
      FAIL_CHECK("the controller sent a message that fails its own check: " << why.detail);
    }
    if (!unread_.empty()) continue;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, left);
  }
}

Counters RawPeer::barrier(std::chrono::milliseconds timeout) {
  wire::Header h;
  h.kind = wire::MsgKind::stats_request;
  h.request_id = ++next_request_;
  send_signed(h);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto p = recv(std::max(left, 0ms));
    REQUIRE_MESSAGE(p.has_value(), "no stats_reply within the timeout: the controller stopped answering");
    if (p->header.kind == wire::MsgKind::stats_reply && p->header.request_id == h.request_id)
      return Counters::of(p->body());
    inbox.push_back(std::move(*p));
  }
}

std::vector<wire::Packet> RawPeer::replies_for(const std::string& msg_id, std::size_t n,
                                               std::chrono::milliseconds timeout) {
  std::vector<wire::Packet> out;
  auto matches = [&](const wire::Packet& p) {
    return p.header.kind == wire::MsgKind::apply_reply && p.header.msg_ids.size() == 1 &&
           p.header.msg_ids.front() == msg_id;
  };
  std::vector<wire::Packet> keep;
  for (auto& p : inbox) {
    if (out.size() < n && matches(p))
      out.push_back(std::move(p));
    else
      keep.push_back(std::move(p));
  }
  inbox.swap(keep);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out.size() < n) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    auto p = recv(left);
    if (!p) break;
    if (matches(*p))
      out.push_back(std::move(*p));
    else
      inbox.push_back(std::move(*p));
  }
  return out;
}

// ------------------------------------------------------------------------------------ helpers

wire::Header apply_header(std::vector<std::int32_t> targets, std::vector<std::string> msg_ids, std::string function) {
  wire::Header h;
  h.kind = wire::MsgKind::direct_task;
  h.targets.assign(targets.begin(), targets.end());
  h.msg_ids.assign(msg_ids.begin(), msg_ids.end());
  h.function = std::move(function);
  return h;
}

wire::Header collective_header(std::vector<std::int32_t> targets, std::vector<std::string> msg_ids,
                               wire::Collective op) {
  wire::Header h = apply_header(std::move(targets), std::move(msg_ids), std::string(wire::collective_function(op)));
  h.kind = wire::MsgKind::collective_request;
  h.collective = op;
  return h;
}

std::string random_bytes(std::mt19937_64& rng, std::size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

Buffer body_frame(const Value& v) {
  wire::Payload frames;
  wire::encode_value(v, frames);
  return frames.front();
}

wire::RegisterRequest registration(std::vector<std::string> hosts) {
  wire::RegisterRequest r;
  r.size = static_cast<std::int32_t>(hosts.size());
  r.pids.assign(hosts.size(), 0);
  r.properties.assign(hosts.size(), "{}");
  r.hosts = std::move(hosts);
  r.crew_version = "hostile";
  return r;
}

}  // namespace crew::testing::hostile
