// The engine registry.
#include "controller/registry.hpp"

#include "common/targets.hpp"

namespace crew::controller {

std::string_view state_name(EngineState s) noexcept {
  switch (s) {
  case EngineState::alive: return "alive";
  case EngineState::dead: return "dead";
  case EngineState::stopped: return "stopped";
  }
  return "?";
}

WorldRecord& Registry::add_world(std::string routing_id, const std::vector<std::string>& hosts,
                                 const std::vector<std::int64_t>& pids, const std::vector<Value::Dict>& properties) {
  WorldRecord& w = add_absent_world(static_cast<int>(worlds_.size()), std::move(routing_id),
                                    static_cast<int>(engines_.size()), static_cast<int>(hosts.size()));
  fill(w, hosts, pids, properties);
  return w;
}

WorldRecord& Registry::add_absent_world(int id, std::string routing_id, int first_engine, int size) {
  // Worlds and engines are numbered densely; places an earlier run left unknown stay stopped.
  while (static_cast<int>(worlds_.size()) < id) {
    WorldRecord gap;
    gap.id = static_cast<int>(worlds_.size());
    gap.state = EngineState::stopped;
    worlds_.push_back(std::move(gap));
  }
  WorldRecord w;
  w.id = id;
  w.routing_id = routing_id;
  w.first_engine = first_engine;
  w.size = size;
  w.state = EngineState::stopped;
  w.absent = true;
  w.end_reason = "not back since the controller was restored";
  while (static_cast<int>(engines_.size()) < first_engine + size) {
    EngineRecord e;
    e.id = static_cast<int>(engines_.size());
    e.state = EngineState::stopped;
    if (e.id >= first_engine) {
      e.world = id;
      e.rank = e.id - first_engine;
    }
    engines_.push_back(std::move(e));
  }
  world_by_routing_[routing_id] = w.id;
  worlds_.push_back(std::move(w));
  return worlds_.back();
}

void Registry::fill(WorldRecord& w, const std::vector<std::string>& hosts, const std::vector<std::int64_t>& pids,
                    const std::vector<Value::Dict>& properties) {
  w.state = EngineState::alive;
  w.absent = false;
  w.end_reason.clear();
  w.last_seen = std::chrono::steady_clock::now();
  for (int rank = 0; rank < w.size; ++rank) {
    EngineRecord& e = engines_[static_cast<std::size_t>(w.first_engine + rank)];
    e.world = w.id;
    e.rank = rank;
    e.state = EngineState::alive;
    e.host = static_cast<std::size_t>(rank) < hosts.size() ? hosts[static_cast<std::size_t>(rank)] : std::string();
    e.pid = static_cast<std::size_t>(rank) < pids.size() ? pids[static_cast<std::size_t>(rank)] : 0;
    if (static_cast<std::size_t>(rank) < properties.size()) e.properties = properties[static_cast<std::size_t>(rank)];
    e.properties.try_emplace("host", e.host);
  }
}

WorldRecord* Registry::world_by_routing(const std::string& routing_id) {
  auto it = world_by_routing_.find(routing_id);
  return it == world_by_routing_.end() ? nullptr : &worlds_[static_cast<std::size_t>(it->second)];
}

WorldRecord* Registry::world(int id) {
  return id >= 0 && static_cast<std::size_t>(id) < worlds_.size() ? &worlds_[static_cast<std::size_t>(id)] : nullptr;
}

EngineRecord* Registry::engine(int id) {
  return id >= 0 && static_cast<std::size_t>(id) < engines_.size() ? &engines_[static_cast<std::size_t>(id)] : nullptr;
}

int Registry::alive_engines() const noexcept {
  int n = 0;
  for (const auto& e : engines_) n += e.state == EngineState::alive ? 1 : 0;
  return n;
}

std::string Registry::describe_alive() const {
  std::vector<int> ids;
  for (const auto& e : engines_)
    if (e.state == EngineState::alive) ids.push_back(e.id);
  return ids.empty() ? "no engines" : "engines " + format_id_ranges(ids);
}

}  // namespace crew::controller
