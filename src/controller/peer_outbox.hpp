#pragma once
// The controller's outgoing messages, one queue per peer (a client or a bridge), sent at the end
// of each turn of the event loop: what a turn produces for one peer leaves as few ZeroMQ messages
// as the batching rules allow (protocol/batch.hpp), in the order it was queued.

#include <functional>
#include <span>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "controller/peer_table.hpp"
#include "protocol/batch.hpp"
#include "protocol/wire.hpp"
#include "transport/endpoint.hpp"

namespace crew::controller {

class PeerOutbox {
public:
  explicit PeerOutbox(const PeerTable& peers) : peers_(peers) {}

  void add(PeerId peer, const Buffer& header_bytes, std::span<const Buffer> payload, const Buffer& signature = {}) {
    if (peer >= queues_.size()) queues_.resize(peer + 1);
    wire::Batcher& q = queues_[peer];
    if (q.empty()) waiting_.push_back(peer);
    q.add(header_bytes, payload, signature);
  }

  bool empty() const noexcept { return waiting_.empty(); }
  std::uint64_t messages_sent() const noexcept { return messages_; }
  std::uint64_t members_sent() const noexcept { return members_; }

  /// Sends every queue on `socket` (a ROUTER); `gone(peer)` hears of a peer that cannot be reached
  /// (what was queued for it is dropped). `gone` may queue more: call flush again until empty.
  void flush(transport::Endpoint& socket, const std::function<void(PeerId)>& gone) {
    std::vector<PeerId> peers;
    peers.swap(waiting_);
    for (const PeerId peer : peers) {
      if (queues_[peer].empty()) continue;
      members_ += queues_[peer].size();
      const auto units = queues_[peer].take();
      messages_ += units.size();
      const std::string& name = peers_.name(peer);
      zmq::message_t id(name.data(), name.size());
      for (const auto& m : units) {
        if (socket.send(m, {&id, 1}) != transport::Sent::ok) {
          gone(peer);
          break;
        }
      }
    }
  }

private:
  const PeerTable& peers_;
  std::vector<wire::Batcher> queues_;  ///< by peer
  std::vector<PeerId> waiting_;        ///< peers with something queued, in the order they got it
  std::uint64_t messages_ = 0, members_ = 0;
};

}  // namespace crew::controller
