// Rank 0's inbox and outbox: the bridge's mailboxes.
#include "engine/bridge_inbox.hpp"

#include <chrono>

namespace crew::detail {

wire::Packet BridgeInbox::next() {
  LocalTask task = work_.pop_front();
  wire::Packet p;
  p.header = std::move(task.header);
  p.payload = std::move(task.payload);
  return p;
}

void BridgeInbox::wait(bool) {
  // The bridge always sends something in the end (a shutdown_world when it stops).
  if (auto task = from_bridge_.pop_wait(std::chrono::hours(1))) work_.push_back(std::move(*task));
}

void BridgeOutbox::send(std::size_t backlog) {
  replies_.backlog = backlog;
  to_bridge_.push(std::move(replies_));
  replies_ = LocalReply{};
}

void BridgeOutbox::goodbye() {
  replies_.goodbye = true;
  send(0);
}

}  // namespace crew::detail
