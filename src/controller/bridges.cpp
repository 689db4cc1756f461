// The worlds' bridges: registration, heartbeats, replies, and a world's end.
#include "controller/controller_impl.hpp"

#include <spdlog/spdlog.h>

#include "common/clock.hpp"
#include "common/log.hpp"
#include "crew/json.hpp"
#include "protocol/registration.hpp"
#include "protocol/typed_body.hpp"

namespace crew::controller {

namespace {
/// Each rank's engine properties, which the request carries as JSON objects.
std::vector<Value::Dict> engine_properties(const wire::RegisterRequest& world) {
  std::vector<Value::Dict> out;
  for (std::size_t rank = 0; rank < world.properties.size(); ++rank) {
    const std::string& text = world.properties[rank];
    Value parsed;
    try {
      parsed = parse_json(text);
    } catch (const Error& e) {
      throw_error(errc::malformed, "register_request body, field properties: rank " + std::to_string(rank) +
                                       "'s properties are no JSON (" + e.message() + ")");
    }
    if (!parsed.is_dict())
      throw_error(errc::malformed, "register_request body, field properties: rank " + std::to_string(rank) +
                                       "'s properties are " + text + ", not a JSON object");
    out.push_back(std::move(parsed.as_dict()));
  }
  return out;
}
}  // namespace

void Controller::Impl::on_engine(PeerId bridge, wire::Packet&& p) {
  if (p.header.kind == wire::MsgKind::register_request) {
    on_register(bridge, p);
    return;
  }
  if (p.header.kind == wire::MsgKind::reattach_request) {
    on_reattach(bridge, p);
    return;
  }
  const std::string& rid = bridge_peers.name(bridge);
  if (rid.ends_with(wire::heartbeat_suffix)) {
    on_heartbeat_connection(bridge, p);
    return;
  }
  WorldRecord* w = registry.world_by_routing(rid);
  if (w == nullptr) {
    if (logging::sampled(++stats.dropped_unexpected))
      spdlog::warn("dropped {} from an unregistered bridge {} ({} unexpected messages so far)",
                   wire::kind_name(p.header.kind), printable(rid), stats.dropped_unexpected);
    return;
  }
  if (w->absent) {
    // A world of the run before, not reattached yet: what it sent before it knew of this
    // controller. It sends that again once reattached (it keeps what was not acknowledged).
    ++stats.dropped_unexpected;
    return;
  }
  if (p.header.kind != wire::MsgKind::goodbye) heard_from(*w);  // (a goodbye is its last word)
  if (db && p.header.kind != wire::MsgKind::heartbeat) count_from(*w);
  switch (p.header.kind) {
  case wire::MsgKind::apply_reply: on_reply(*w, p); break;
  case wire::MsgKind::withdraw_reply: on_withdraw_refused(*w, p); break;
  case wire::MsgKind::stream_chunk: relay_chunk(*w, p); break;
  case wire::MsgKind::output: on_output(*w, p); break;
  case wire::MsgKind::heartbeat: {
    wire::Header hb;
    hb.kind = wire::MsgKind::heartbeat;
    hb.request_id = incarnation;
    to_bridge(bridge, wire::make_message(hb));
    break;
  }
  case wire::MsgKind::goodbye:
    spdlog::info("world {} said goodbye", w->id);
    end_world(*w, EngineState::stopped, "its world shut down");
    break;
  default:
    ++stats.dropped_unexpected;
    spdlog::warn("dropped an unexpected {} from world {}", wire::kind_name(p.header.kind), w->id);
  }
}

/// A bridge's heartbeat connection: heartbeats only, echoed on the same connection.
void Controller::Impl::on_heartbeat_connection(PeerId bridge, const wire::Packet& p) {
  const std::string& rid = bridge_peers.name(bridge);
  WorldRecord* w = registry.world_by_routing(rid.substr(0, rid.size() - wire::heartbeat_suffix.size()));
  // With a task database, a world this controller does not know yet hears its incarnation too: a
  // world of a controller that died reattaches when it learns one was restored on its address.
  if ((w == nullptr && !db) || p.header.kind != wire::MsgKind::heartbeat) {
    if (logging::sampled(++stats.dropped_unexpected))
      spdlog::warn("dropped {} on heartbeat connection {} ({} unexpected messages so far)",
                   wire::kind_name(p.header.kind), printable(rid), stats.dropped_unexpected);
    return;
  }
  if (w != nullptr && !w->absent) heard_from(*w);
  wire::Header hb;
  hb.kind = wire::MsgKind::heartbeat;
  hb.request_id = incarnation;
  to_bridge(bridge, wire::make_message(hb));
}

void Controller::Impl::on_register(PeerId bridge, const wire::Packet& p) {
  const std::string& rid = bridge_peers.name(bridge);
  auto reply = reply_to(p.header, wire::MsgKind::register_reply);
  if (stopping) {
    reply.error = {errc::not_running, "crew.launch.not_running", "the controller is shutting down", {}};
    to_bridge(bridge, wire::make_message(reply));
    return;
  }
  WorldRecord* w = registry.world_by_routing(rid);
  if (w == nullptr) {
    const auto world = wire::read_typed_body<wire::RegisterRequest>(p);
    w = &registry.add_world(rid, world.hosts, world.pids, engine_properties(world));
    w->peer = bridge;
    w->launcher = world.job.launcher;
    w->job_id = world.job.id;
    w->job_end = world.job.end_time;
    rebalance_due = true;
    spdlog::info("world {} registered: {} engine{} ({}-{}) on {}, rank-0 pid {}{}", w->id, w->size,
                 w->size == 1 ? "" : "s", w->first_engine, w->first_engine + w->size - 1, world.hosts.front(),
                 world.pids.front(), w->job_id.empty() ? std::string() : ", " + w->launcher + " job " + w->job_id);
  }
  to_bridge(bridge, wire::make_typed_message(reply, placement(*w)));
  if (output_wanted) tell_output_wanted(w);
  tell_status(*w, "registered",
              "world " + std::to_string(w->id) + " registered on " + registry.engine(w->first_engine)->host);
  if (db) record_worlds();
  answer_waiters();
}

wire::RegisterReply Controller::Impl::placement(const WorldRecord& w) const {
  wire::RegisterReply placed;
  placed.world = w.id;
  placed.first_engine = w.first_engine;
  placed.heartbeat_ms = cfg.heartbeat_ms;
  placed.drain_margin_s = cfg.drain_margin_s;
  placed.incarnation = incarnation;
  placed.restorable = db != nullptr;
  placed.orphan_timeout_s = cfg.orphan_timeout_s;
  return placed;
}

/// Worlds whose batch job ends within the drain margin take no new balanced tasks: a task begun
/// there would be killed with the job. (Their engines give back the tasks queued and not
/// started; direct work still goes to them.)
void Controller::Impl::check_drains() {
  const auto now_s =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (auto& w : registry.worlds())
    if (!w.draining && w.state == EngineState::alive && w.job_end > 0 && now_s >= w.job_end - cfg.drain_margin_s)
      start_drain(w);
}

void Controller::Impl::start_drain(WorldRecord& w) {
  if (w.draining) return;
  w.draining = true;
  rebalance_due = true;
  ++stats.worlds_drained;
  for (int id = w.first_engine; id < w.first_engine + w.size; ++id) registry.engine(id)->draining = true;
  const auto now_s =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  spdlog::info("world {} ({} job {}) ends in {} s: no new load-balanced tasks go to it (--drain-margin {} s)", w.id,
               w.launcher, w.job_id, std::max<long>(0, w.job_end - now_s), cfg.drain_margin_s);
}

void Controller::Impl::check_heartbeats(clock::time_point now) {
  const auto limit = std::chrono::milliseconds(cfg.heartbeat_ms * cfg.heartbeat_misses);
  for (auto& w : registry.worlds()) {
    if (w.state != EngineState::alive || now - w.last_seen <= limit) continue;
    const double silent = std::chrono::duration<double>(now - w.last_seen).count();
    end_world(w, EngineState::dead, "no heartbeat from world " + std::to_string(w.id) + " for " + seconds_text(silent));
  }
}

/// A world is alive while it is heard from, on either connection. One declared dead that is heard
/// from again comes back, with the same engine ids: it was stopped (a job suspended, a debugger),
/// starved or cut off for longer than the heartbeat allows, and is running still. What failed when
/// it was declared dead stays failed (or was retried), and its late answers to that work are
/// dropped: the first answer stands.
void Controller::Impl::heard_from(WorldRecord& w) {
  w.last_seen = clock::now();
  if (w.state == EngineState::dead) revive_world(w);
}

void Controller::Impl::revive_world(WorldRecord& w) {
  const double dead_for = std::chrono::duration<double>(clock::now() - w.ended_at).count();
  spdlog::warn("world {} is back, {} after it was declared dead ({}): engines {}-{} are alive again", w.id,
               seconds_text(dead_for), w.end_reason, w.first_engine, w.first_engine + w.size - 1);
  w.state = EngineState::alive;
  w.end_reason.clear();
  ++stats.worlds_revived;
  rebalance_due = true;
  if (db) record_worlds();
  for (int id = w.first_engine; id < w.first_engine + w.size; ++id) registry.engine(id)->state = EngineState::alive;
  tell_status(w, "back",
              "world " + std::to_string(w.id) + " is heard from again, " + seconds_text(dead_for) +
                  " after it was declared dead");
  answer_waiters();
}

/// A world ends: its engines leave the registry's alive set and their unanswered tasks fail.
void Controller::Impl::end_world(WorldRecord& w, EngineState state, const std::string& reason) {
  if (w.state != EngineState::alive) return;
  w.state = state;
  w.end_reason = reason;
  rebalance_due = true;
  w.ended_at = clock::now();
  if (db) record_worlds();
  if (state == EngineState::dead) spdlog::warn("world {} is dead: {}", w.id, reason);
  tell_status(w, state == EngineState::dead ? "dead" : "stopped", reason);
  if (!relays.empty()) fail_relays(w.id, reason);
  for (int id = w.first_engine; id < w.first_engine + w.size; ++id) {
    EngineRecord* e = registry.engine(id);
    e->state = state;
    const std::deque<TaskRecord*> flight = std::move(e->in_flight);
    e->in_flight.clear();
    for (TaskRecord* t : flight) {
      if (t->done) continue;
      const std::string why = "its world ended before it answered (" + reason + ")";
      if (auto rec = collectives.find(t->collective());
          rec != collectives.end() && wire::answers_once_per_world(rec->second.op)) {
        join_part(t->collective(), w.id, nullptr, why);
        continue;
      }
      if (t->lb && t->lb->withdrawing == BalancedTask::Withdraw::abort) {
        settle_abort(*t, true);  // a client asked to abort it: it will not run again elsewhere
        fail_balanced(*t, errc::aborted, "aborted by a client; " + why);
        continue;
      }
      const errc code = state == EngineState::dead ? errc::engine_died : errc::aborted;
      const wire::ErrorInfo error{code,
                                  "crew." + std::string(errc_name(code)),
                                  "world " + std::to_string(w.id) + " ended before it answered (" + reason + ")",
                                  {}};
      if (t->lb && retry(*t, id, error)) continue;
      fail_task(*t, {}, error);
    }
  }
  // Queued balanced tasks that only this world's engines could have run can never run now.
  std::vector<std::pair<TaskRecord*, std::pair<errc, std::string>>> stranded;
  for (TaskRecord* t : ready) {
    if (!t->lb || t->lb->stage != BalancedTask::Stage::ready) continue;
    if (auto why = never_runnable(*t->lb); why.first != errc::none) stranded.emplace_back(t, why);
  }
  for (const auto& [t, why] : stranded)
    fail_balanced(*t, why.first, why.second + " (world " + std::to_string(w.id) + " ended: " + reason + ")");
}

}  // namespace crew::controller
