#pragma once
// The peers of a ROUTER socket (clients, or bridges), each given a small number the first time it
// is heard: records keep the number, not the routing id, and per-peer queues are a vector.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace crew::controller {

using PeerId = std::uint32_t;
/// No peer: a record taken over from an earlier run whose client is not known (--restore).
inline constexpr PeerId no_peer = 0xffffffffu;

class PeerTable {
public:
  PeerId id_of(const std::string& routing_id) {
    auto [it, fresh] = index_.try_emplace(routing_id, static_cast<PeerId>(names_.size()));
    if (fresh) names_.push_back(routing_id);
    return it->second;
  }
  const std::string& name(PeerId id) const { return names_.at(id); }
  std::size_t size() const noexcept { return names_.size(); }

private:
  std::unordered_map<std::string, PeerId> index_;
  std::vector<std::string> names_;
};

}  // namespace crew::controller
