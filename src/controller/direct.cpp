// Direct work: to exactly its targets, in submission order per engine (its replies complete in
// controller/completion.cpp).
#include "controller/controller_impl.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/clock.hpp"

namespace crew::controller {

/// A direct_task or collective_request names one msg_id per target (and at least one); if not,
/// the client hears why and nothing is sent.
bool Controller::Impl::pairs_targets(PeerId client, const wire::Header& h) {
  if (!h.targets.empty() && h.targets.size() == h.msg_ids.size()) return true;
  ++stats.dropped_malformed;
  auto reply = reply_to(h, wire::MsgKind::request_error);
  reply.error = {errc::malformed,
                 "crew.protocol.malformed",
                 "a " + std::string(wire::kind_name(h.kind)) + " needs one msg_id per target",
                 {}};
  send_to_client(client, reply);
  return false;
}

void Controller::Impl::dispatch(PeerId client, const wire::Packet& p) {
  const wire::Header& h = p.header;
  if (!pairs_targets(client, h)) return;
  std::map<int, wire::Header> per_world;
  std::vector<int> seen;
  const std::uint32_t function = tasks.function_id(h.function);  // once, not per target
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
    (void)onto_engine(*e, add_task(msg_id, new_task(client, id, h.submitted_us, function)), steady_ns());
    wire::Header& task = per_world[e->world];
    if (task.targets.empty()) {
      task.kind = wire::MsgKind::direct_task;
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
  TaskRecord* recorded =
      record ? add_task(msg_id, new_task(client, engine_id, request.submitted_us, tasks.function_id(request.function)))
             : nullptr;
  if (recorded == nullptr) {
    TaskRecord t = new_task(client, engine_id, request.submitted_us);
    store_failure(t, msg_id, request.function, error);
    to_client(client, t.header_bytes, t.body(), t.signature());
    return;
  }
  fail_task(*recorded, request.function, error);
}

}  // namespace crew::controller
