// Live output (iopub): what engines write while their tasks run, and what becomes of engines,
// sent to the clients that follow it.
//
// A client says what it follows (output_subscribe: terms, any of which may match); each world
// hears whether anybody follows at all (output_wanted), so that output nobody reads never leaves
// its bridge. A client that reads slowly never slows engines or this loop: beyond a window of
// output sent and not acknowledged (output_ack) its output is dropped, and the next piece it gets
// says how many bytes went (Header::request_id).
#include <algorithm>

#include <spdlog/spdlog.h>

#include "controller/controller_impl.hpp"
#include "protocol/output_filter.hpp"
#include "protocol/typed_body.hpp"

namespace crew::controller {

void Controller::Impl::on_output_subscribe(PeerId client, const wire::Packet& p) {
  auto ask = wire::read_typed_body<wire::OutputSubscribe>(p);
  if (ask.terms.empty()) {
    followers.erase(client);
  } else {
    Follower& f = followers[client];
    f.terms = std::move(ask.terms);
    f.key = received_key;
  }
  send_to_client(client, reply_to(p.header, wire::MsgKind::output_subscribe_reply));
  count_followers();
}

void Controller::Impl::count_followers() {
  activity_followers = 0;
  for (const auto& [client, f] : followers)
    activity_followers += std::any_of(f.terms.begin(), f.terms.end(), [](const auto& t) { return t.activity; });
  tell_output_wanted();
}

void Controller::Impl::on_output_ack(PeerId client, const wire::Packet& p) {
  auto it = followers.find(client);
  if (it == followers.end()) return;  // it stopped following since
  Follower& f = it->second;
  // Acknowledgements only grow, and never past what was sent.
  f.acked = std::clamp(p.header.request_id, f.acked, f.sent);
}

void Controller::Impl::drop_revoked_followers() {
  revocations_seen = zap->revocations();
  std::vector<PeerId> gone;
  for (const auto& [client, f] : followers)
    if (zap->revoked(f.key)) gone.push_back(client);
  for (PeerId client : gone) {
    spdlog::warn("client {} follows output no more: its CURVE key was revoked", client);
    forget_follower(client);
  }
}

void Controller::Impl::forget_follower(PeerId client) {
  if (followers.erase(client) != 0) count_followers();
}

void Controller::Impl::tell_output_wanted(const WorldRecord* only) {
  const bool wanted = !followers.empty();
  if (only == nullptr && wanted == output_wanted) return;
  output_wanted = wanted;
  wire::Header h;
  h.kind = wire::MsgKind::output_wanted;
  h.request_id = wanted ? 1 : 0;
  const auto m = wire::make_message(h);
  for (const auto& w : registry.worlds()) {
    if (w.state != EngineState::alive || w.absent || (only != nullptr && &w != only)) continue;
    to_bridge(w.peer, m);
  }
}

bool Controller::Impl::room_for(Follower& f, std::uint64_t bytes, std::uint64_t lost_before) {
  if (f.sent - f.acked + bytes > follower_window) {
    f.dropped += bytes + lost_before;  // (what was lost before it is said with the next one)
    stats.output_bytes_dropped += bytes;
    return false;
  }
  f.sent += bytes;
  stats.output_bytes_out += bytes;
  return true;
}

void Controller::Impl::on_output(const WorldRecord& w, const wire::Packet& p) {
  const wire::Header& h = p.header;
  if (h.engine_id < w.first_engine || h.engine_id >= w.first_engine + w.size || h.msg_ids.size() > 1) {
    ++stats.dropped_unexpected;
    return;
  }
  if (followers.empty()) return;  // the world has not heard yet that nobody follows
  const std::string no_task;
  const std::string& msg_id = h.msg_ids.empty() ? no_task : h.msg_ids.front();
  // Whose task wrote it: asked only if some term follows a client's own tasks.
  std::optional<PeerId> owner;
  auto own_by = [&](PeerId client) {
    if (!owner) {
      const TaskRecord* t = msg_id.empty() ? nullptr : tasks.find(msg_id);
      owner = t != nullptr ? t->client : no_peer;
    }
    return *owner == client;
  };
  const std::uint64_t bytes = wire::flow_bytes(h);
  for (auto& [client, f] : followers) {
    bool match = false;
    for (const auto& term : f.terms) {
      if (term.matches_output(h.engine_id, msg_id, term.mine && own_by(client))) {
        match = true;
        break;
      }
    }
    if (!match || !room_for(f, bytes, h.request_id)) continue;
    if (f.dropped == 0) {
      to_client(client, p.header_bytes, p.payload, p.signature);  // as it came
      continue;
    }
    wire::Header said = h;
    said.request_id += std::exchange(f.dropped, 0);
    to_client(client, wire::encode_header(said), p.payload);
  }
}

void Controller::Impl::tell_status(const WorldRecord& w, const std::string& what, const std::string& why) {
  if (followers.empty()) return;
  wire::EngineIds ids;
  for (int id = w.first_engine; id < w.first_engine + w.size; ++id) ids.push_back(id);
  send_change(std::move(ids), what, why);
}

void Controller::Impl::send_change(wire::EngineIds changed, std::string what, std::string why) {
  wire::Header h;
  h.kind = wire::MsgKind::engine_status;
  h.targets = std::move(changed);
  h.function = std::move(what);
  h.out = std::move(why);
  std::optional<wire::Outgoing> plain;  // for every follower that lost nothing
  for (auto& [client, f] : followers) {
    bool match = false;
    for (const auto& term : f.terms) match = match || term.matches_change(h.targets, h.function);
    if (!match || !room_for(f, wire::flow_bytes(h))) continue;
    if (f.dropped != 0) {
      wire::Header said = h;
      said.request_id = std::exchange(f.dropped, 0);
      const auto m = wire::make_message(said);
      to_client(client, m.header_bytes, m.payload);
      continue;
    }
    if (!plain) plain = wire::make_message(h);
    to_client(client, plain->header_bytes, plain->payload);
  }
}

}  // namespace crew::controller
