// ReplayGuard (transport/replay_guard.hpp).
#include "transport/replay_guard.hpp"

#include <algorithm>

namespace crew::transport {

ReplayGuard::ReplayGuard(std::size_t max_senders) : max_senders_(std::max<std::size_t>(max_senders, 1)) {}

void ReplayGuard::add_own(std::uint64_t sender) { own_.push_back(sender); }

bool ReplayGuard::admit(wire::SealFields seal) {
  if (std::find(own_.begin(), own_.end(), seal.sender) != own_.end()) return false;
  if (auto it = where_.find(seal.sender); it != where_.end()) {
    Entry& e = *it->second;
    if (seal.sequence <= e.second) return false;
    e.second = seal.sequence;
    recent_.splice(recent_.begin(), recent_, it->second);
    return true;
  }
  if (where_.size() >= max_senders_) {
    where_.erase(recent_.back().first);
    recent_.pop_back();
  }
  recent_.emplace_front(seal.sender, seal.sequence);
  where_.emplace(seal.sender, recent_.begin());
  return true;
}

}  // namespace crew::transport
