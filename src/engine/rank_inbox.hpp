#pragma once
// The two ends of the one engine loop that every rank of a world runs (EngineImpl::serve): the
// inbox its tasks come from and the outbox its replies go to. Rank 0's are the bridge's mailboxes
// (engine/bridge_inbox.hpp); every other rank's are MPI messages to and from rank 0, with a
// doorbell where it has one (engine/mpi_inbox.hpp).

#include <cstddef>
#include <string_view>

#include "protocol/wire.hpp"

namespace crew::detail {

/// Where a rank's tasks (and the shutdown_world that ends its loop) come from.
class RankInbox {
public:
  virtual ~RankInbox() = default;
  /// Takes in what has arrived by now, without waiting.
  virtual void take_arrived() = 0;
  /// How many tasks were taken in and not handed out yet.
  virtual std::size_t waiting() const = 0;
  /// The oldest of them, handed out; there must be one.
  virtual wire::Packet next() = 0;
  /// Sleeps until more may have arrived (or a while has passed). `replies_leaving`: replies sent
  /// from here are still on their way out, so the sleep stays short.
  virtual void wait(bool replies_leaving) = 0;
};

/// Where a rank's replies go: collected, then sent together.
class RankOutbox {
public:
  virtual ~RankOutbox() = default;
  /// `answers`: the task the reply answers (its msg id; "" for a collective's, or none).
  virtual void add(wire::Outgoing reply, std::string_view answers) = 0;
  virtual bool empty() const = 0;
  /// Sends what was added; `backlog`: the tasks still waiting in this rank's inbox.
  virtual void send(std::size_t backlog) = 0;
  /// Moves the sends on; true while some are still on their way out.
  virtual bool progress() = 0;
  /// The last message: says goodbye behind what was added, and returns once that has left.
  virtual void goodbye() = 0;
};

}  // namespace crew::detail
