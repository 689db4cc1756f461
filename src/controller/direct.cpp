// Direct work: to exactly its targets, in submission order per engine; replies and failures.
#include "controller/controller_impl.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/clock.hpp"

namespace crew::controller {

void Controller::Impl::dispatch(PeerId client, const wire::Packet& p) {
  const wire::Header& h = p.header;
  if (h.targets.empty() || h.targets.size() != h.msg_ids.size()) {
    ++stats.dropped_malformed;
    auto reply = reply_to(h, wire::MsgKind::request_error);
    reply.error = {errc::malformed, "crew.protocol.malformed", "an apply_request needs one msg_id per target", {}};
    send_to_client(client, reply);
    return;
  }
  if (const auto op = wire::collective_of(h.function); op != wire::Collective::none) {
    dispatch_collective(client, p, op);
    return;
  }
  std::map<int, wire::Header> per_world;
  std::vector<int> seen;
  for (std::size_t i = 0; i < h.targets.size(); ++i) {
    const int id = h.targets[i];
    const std::string& msg_id = h.msg_ids[i];
    if (tasks.contains(msg_id)) {
      reject(client, h, msg_id, id, errc::bad_option, "msg_id " + msg_id + " was already used", false);
      continue;
    }
    if (std::find(seen.begin(), seen.end(), id) != seen.end()) {
      reject(client, h, msg_id, id, errc::bad_targets,
             "engine " + std::to_string(id) + " is named twice in one request");
      continue;
    }
    seen.push_back(id);
    EngineRecord* e = registry.engine(id);
    if (e == nullptr) {
      reject(client, h, msg_id, id, errc::unknown_target,
             "there is no such engine; this cluster has " + registry.describe_alive());
      continue;
    }
    if (e->state != EngineState::alive) {
      const WorldRecord* w = registry.world(e->world);
      reject(client, h, msg_id, id, errc::engine_dead,
             "engine " + std::to_string(id) + " is " + std::string(state_name(e->state)) + " (" +
                 (w ? w->end_reason : "") + "); this cluster has " + registry.describe_alive());
      continue;
    }
    if (e->in_flight.empty()) e->front_since_ns = steady_ns();
    e->in_flight.push_back(tasks.add(msg_id, new_task(client, id, h.submitted_us)));
    wire::Header& task = per_world[e->world];
    if (task.targets.empty()) {
      task.kind = wire::MsgKind::task;
      task.function = h.function;
      task.submitted_us = h.submitted_us;
    }
    task.targets.push_back(id);
    task.msg_ids.push_back(msg_id);
  }
  // All targets in one world (the common case): the bridge takes the client's signed request
  // as it is. Otherwise each world gets a task header naming only its own engines.
  const bool forward_as_is = per_world.size() == 1 && per_world.begin()->second.targets.size() == h.targets.size();
  for (auto& [world_id, task] : per_world) {
    const WorldRecord* w = registry.world(world_id);
    if (forward_as_is)
      to_engines.add(w->peer, p.header_bytes, p.payload, p.signature);
    else
      to_engines.add(w->peer, wire::encode_header(task), p.payload);
  }
}

/// Answers a task that never reached an engine with an error. It is recorded (and counted),
/// unless its msg_id is already taken: then only the sender hears about it.
void Controller::Impl::reject(PeerId client, const wire::Header& request, const std::string& msg_id, int engine_id,
                              errc code, const std::string& message, bool record) {
  const wire::ErrorInfo error{code, "crew." + std::string(errc_name(code)), message, request.function};
  TaskRecord* recorded = record ? tasks.add(msg_id, new_task(client, engine_id, request.submitted_us)) : nullptr;
  if (recorded == nullptr) {
    TaskRecord t = new_task(client, engine_id, request.submitted_us);
    store_failure(t, msg_id, request.function, error);
    to_client(client, t.header_bytes, t.body(), t.signature());
    return;
  }
  fail_task(*recorded, request.function, error);
}

/// Builds a failed task's reply into its record (signed, ready to resend).
void Controller::Impl::store_failure(TaskRecord& t, const std::string& msg_id, const std::string& function,
                                     const wire::ErrorInfo& error) {
  wire::Header h;
  h.kind = wire::MsgKind::apply_reply;
  h.msg_ids = {msg_id};
  h.engine_id = t.engine_id;
  h.function = function;
  h.submitted_us = t.submitted_us;
  h.completed_us = now_us();
  h.error = error;
  wire::Outgoing m = wire::make_message(h);
  Buffer signature = engines.signature_of(m.header_bytes, m.payload);
  t.set_reply(std::move(signature), std::move(m.header_bytes), m.payload);
}

void Controller::Impl::fail_task(TaskRecord& t, const std::string& function, const wire::ErrorInfo& error) {
  store_failure(t, *t.msg_id, function, error);
  complete(t, true);
  if (!t.collective().empty()) turn_progress(t.collective(), t);
}

void Controller::Impl::complete(TaskRecord& t, bool failed) {
  tasks.mark_done(t, failed);
  deliver(t);
  if (!abort_waits.empty()) settle_abort(t, false);  // it finished on its engine after all
  if (t.lb) {
    end_steal(t);
    t.lb.reset();
    --balanced_pending;
  }
  if (!dependents.empty() && dependents.count(&t) != 0) finished_this_turn.push_back(&t);
}

void Controller::Impl::deliver(const TaskRecord& t) {
  to_client(t.client, t.header_bytes, t.body(), t.signature());
  for (const auto& other : t.watchers()) to_client(other, t.header_bytes, t.body(), t.signature());
}

bool Controller::Impl::take_in_flight(TaskRecord* t, int engine_id) {
  EngineRecord* e = registry.engine(engine_id);
  if (e == nullptr) return false;
  auto& q = e->in_flight;
  auto it = !q.empty() && q.front() == t ? q.begin() : std::find(q.begin(), q.end(), t);
  if (it == q.end()) return false;
  if (it == q.begin()) e->front_since_ns = steady_ns();  // the next one starts now
  q.erase(it);
  ++e->completed;
  return true;
}

void Controller::Impl::on_reply(const WorldRecord& w, wire::Packet& p) {
  if (p.header.msg_ids.empty()) throw_error(errc::malformed, "an apply_reply without a msg_id");
  const std::string& msg_id = p.header.msg_ids.front();
  TaskRecord* t = tasks.find(msg_id);
  if (t != nullptr && !t->collective().empty()) {
    auto rec = collectives.find(t->collective());
    if (rec != collectives.end() && wire::answers_once_per_world(rec->second.op)) {
      const bool ours = t->engine_id >= w.first_engine && t->engine_id < w.first_engine + w.size;
      if (ours && !t->done) join_part(t->collective(), w.id, &p, {});
      return;
    }
  }
  if (p.header.msg_ids.size() != 1) throw_error(errc::malformed, "an apply_reply needs exactly one msg_id");
  // Only the world holding the task may answer it, for the engine it was sent to.
  const bool ours = t != nullptr && t->engine_id == p.header.engine_id && t->engine_id >= w.first_engine &&
                    t->engine_id < w.first_engine + w.size;
  if (!ours) {
    ++stats.dropped_unexpected;
    spdlog::warn("dropped a reply from world {} for {} task {}", w.id, t ? "another world's" : "unknown", msg_id);
    return;
  }
  EngineRecord* e = registry.engine(t->engine_id);
  auto& q = e->in_flight;
  auto it = !q.empty() && q.front() == t ? q.begin() : std::find(q.begin(), q.end(), t);
  if (it == q.end()) {
    // Answered already, or failed when its world was declared dead: keep the first answer.
    ++stats.dropped_unexpected;
    spdlog::warn("dropped a second reply for task {}", msg_id);
    return;
  }
  if (it == q.begin()) e->front_since_ns = steady_ns();  // the next one starts now
  q.erase(it);
  if (t->done) return;
  if (t->balanced && p.header.error.code == errc::withdrawn) {
    take_back(*t, *e);
    return;
  }
  ++e->completed;
  const bool failed = p.header.error.failed();
  if (t->balanced) {
    note_timing(*t, p.header, *e);
    if (failed && retry(*t, e->id, p.header.error)) return;
  }
  t->set_reply(std::move(p.signature), std::move(p.header_bytes), p.payload);
  complete(*t, failed);
  if (!t->collective().empty()) turn_progress(t->collective(), *t);
}

}  // namespace crew::controller
