#pragma once
// ReplayGuard: admits each sender's messages once, by their seals (protocol/seal.hpp).
//
// A message whose seal does not carry a higher sequence number than the last one admitted from
// its sender is a replay: a message captured on the network and sent again (or sent to another
// socket of the same process). Messages of one ZeroMQ connection arrive in the order they were
// sent, so a sender's numbers only grow. Seals that name the receiving process's own sockets
// are never admitted (our own message sent back to us).
//
// The memory is one entry per sender heard, at most `max_senders` (65,536 by default: about
// 6 MiB), the least recently heard forgotten first; a forgotten sender starts anew. So a replay
// gets in only if its sender fell silent while 65,536 other authentic senders spoke since. A
// controller's two sockets share one guard, so a message cannot be replayed from one to the other.
// Not thread-safe: a guard belongs to the thread that receives on its sockets.

#include <cstddef>
#include <cstdint>
#include <list>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/internal_api.hpp"
#include "protocol/seal.hpp"

namespace crew::transport {

class CREW_INTERNAL_API ReplayGuard {
public:
  static constexpr std::size_t default_max_senders = 65'536;
  explicit ReplayGuard(std::size_t max_senders = default_max_senders);

  /// A sender id of this process's own sockets: a seal naming it is never admitted.
  void add_own(std::uint64_t sender);
  /// True (and remembered) if `seal` is the first time this sender's `sequence` or a later one came.
  bool admit(wire::SealFields seal);
  /// How many senders it remembers.
  std::size_t senders() const noexcept { return where_.size(); }

private:
  using Entry = std::pair<std::uint64_t, std::uint64_t>;  ///< sender, last sequence admitted
  std::size_t max_senders_;
  std::list<Entry> recent_;  ///< most recently heard first
  std::unordered_map<std::uint64_t, std::list<Entry>::iterator> where_;
  std::vector<std::uint64_t> own_;
};

}  // namespace crew::transport
