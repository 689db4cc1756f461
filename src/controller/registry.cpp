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
  WorldRecord w;
  w.id = static_cast<int>(worlds_.size());
  w.routing_id = routing_id;
  w.first_engine = static_cast<int>(engines_.size());
  w.size = static_cast<int>(hosts.size());
  w.last_seen = std::chrono::steady_clock::now();
  for (int rank = 0; rank < w.size; ++rank) {
    EngineRecord e;
    e.id = w.first_engine + rank;
    e.world = w.id;
    e.rank = rank;
    e.host = hosts[static_cast<std::size_t>(rank)];
    e.pid = static_cast<std::size_t>(rank) < pids.size() ? pids[static_cast<std::size_t>(rank)] : 0;
    if (static_cast<std::size_t>(rank) < properties.size()) e.properties = properties[static_cast<std::size_t>(rank)];
    e.properties.try_emplace("host", e.host);
    engines_.push_back(std::move(e));
  }
  world_by_routing_[routing_id] = w.id;
  worlds_.push_back(std::move(w));
  return worlds_.back();
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
