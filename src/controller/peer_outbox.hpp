#pragma once
// The controller's outgoing messages, one queue per peer (a client or a bridge), sent at the end
// of each turn of the event loop: what a turn produces for one peer leaves as few ZeroMQ messages
// as the batching rules allow (protocol/batch.hpp), in the order it was queued.

#include <functional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "protocol/batch.hpp"
#include "protocol/wire.hpp"

namespace crew::controller {

class PeerOutbox {
public:
  void add(const std::string& peer, const Buffer& header_bytes, std::span<const Buffer> payload,
           const Buffer& signature = {}) {
    wire::Batcher& q = queues_[peer];
    if (q.empty()) waiting_.push_back(peer);
    q.add(header_bytes, payload, signature);
  }

  bool empty() const noexcept { return waiting_.empty(); }
  std::uint64_t messages_sent() const noexcept { return messages_; }
  std::uint64_t members_sent() const noexcept { return members_; }

  /// Sends every queue on `socket` (a ROUTER); `gone(peer)` hears of a peer that cannot be reached
  /// (what was queued for it is dropped). May be called again by `gone` handlers that queue more.
  void flush(zmq::socket_t& socket, wire::Signer& signer, const std::function<void(const std::string&)>& gone) {
    std::vector<std::string> peers;
    peers.swap(waiting_);
    for (const std::string& peer : peers) {
      auto it = queues_.find(peer);
      if (it == queues_.end() || it->second.empty()) continue;
      wire::Batcher queue = std::move(it->second);
      it->second.clear();
      members_ += queue.size();
      zmq::message_t id(peer.data(), peer.size());
      const auto units = queue.take();
      messages_ += units.size();
      for (const auto& m : units) {
        if (wire::send(socket, {&id, 1}, m, signer) != wire::Sent::ok) {
          gone(peer);
          break;
        }
      }
    }
    if (queues_.size() > 4096) {  // forget peers that come and go (CLI clients)
      for (auto it = queues_.begin(); it != queues_.end();) it = it->second.empty() ? queues_.erase(it) : ++it;
    }
  }

private:
  std::unordered_map<std::string, wire::Batcher> queues_;
  std::vector<std::string> waiting_;  ///< peers with something queued, in the order they got it
  std::uint64_t messages_ = 0, members_ = 0;
};

}  // namespace crew::controller
