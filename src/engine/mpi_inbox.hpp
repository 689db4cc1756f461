#pragma once
// The inbox and outbox (engine/rank_inbox.hpp) of every rank but 0: MPI messages from and to
// rank 0 on crew's own communicator, each a batch of tasks or of replies.
//
// With a doorbell (engine/doorbell.hpp) a rank receives exactly the messages the bridge
// announced, sleeps in poll() otherwise, and rings rank 0 after sending its replies; without one
// (another host than rank 0) it probes MPI, napping with a backoff (engine/idle_backoff.hpp)
// while nothing comes.

#include <mpi.h>

#include <cstdint>
#include <mutex>
#include <vector>

#include "common/fifo.hpp"
#include "engine/doorbell.hpp"
#include "engine/idle_backoff.hpp"
#include "engine/mpi_frames.hpp"
#include "engine/rank_inbox.hpp"
#include "protocol/batch.hpp"

namespace crew::detail {

class MpiInbox final : public RankInbox {
public:
  /// `doorbell`: this rank's (null: none, probe instead); `rank`: this rank, for the log.
  MpiInbox(MPI_Comm comm, Doorbell* doorbell, int rank);
  void take_arrived() override;
  std::size_t waiting() const override { return work_.size(); }
  wire::Packet next() override;
  void wait(bool replies_leaving) override;

private:
  /// Unpacks a message from the bridge into tasks; one that does not decode is logged and dropped.
  void take(mpi_frames::Message&& m);

  MPI_Comm comm_;
  Doorbell* doorbell_;
  int rank_;
  Fifo<wire::Packet> work_;
  IdleBackoff idle_;
  std::vector<std::int64_t> announced_;  ///< by sender rank: messages announced, not yet received
  bool just_rung_ = false;               ///< the last wait collected rings
};

/// Replies, and live output (engine/output_pump.hpp), which the pump's thread sends while the
/// rank's thread runs the task: one lock keeps the two threads' MPI sends and doorbell rings in
/// one order, so a task's output still precedes its reply, and every message is announced once.
class MpiOutbox final : public RankOutbox {
public:
  /// `doorbell`: this rank's, to ring rank 0 with (null: none).
  MpiOutbox(MPI_Comm comm, Doorbell* doorbell) : comm_(comm), doorbell_(doorbell) {}
  void add(wire::Outgoing reply, std::string_view /*answers*/) override;
  bool empty() const override;
  void send(std::size_t backlog) override;
  bool progress() override;
  void goodbye() override;
  /// Live output: with `last` (end() of the task, on the rank's thread) it joins the replies
  /// waiting to go; otherwise it leaves now, behind them (from the pump's thread).
  void output(wire::Outgoing message, bool last);

private:
  void send_locked();

  MPI_Comm comm_;
  Doorbell* doorbell_;
  mutable std::mutex mutex_;
  wire::Batcher replies_;
  mpi_frames::SendQueue sends_;
};

}  // namespace crew::detail
