#pragma once
// The bridge: on rank 0 of a world, the one ZeroMQ connection to the controller.
//
// It runs on its own thread so it keeps forwarding while rank 0's engine runs a long task, and
// heartbeats go from a thread of their own on a connection of their own, so that neither a long
// message on the work connection nor a long signature check here looks like a dead world. Tasks
// for rank 0 go to the engine thread through a Mailbox; tasks for other ranks go over MPI (crew's
// own communicator); replies come back the same ways and go to the controller. While replies are
// expected from other ranks it probes MPI with a backoff (tens of µs rising to 1 ms); otherwise
// it sleeps in poll() until the controller or the engine thread has something.

#include <mpi.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "transport/endpoint.hpp"

#include "engine/doorbell.hpp"
#include "engine/idle_backoff.hpp"
#include "engine/mpi_frames.hpp"
#include "engine/task_claims.hpp"
#include "protocol/batch.hpp"
#include "protocol/collective.hpp"
#include "protocol/header.hpp"
#include "protocol/registration.hpp"
#include "protocol/signer.hpp"
#include "protocol/wire.hpp"
#include "transport/mailbox.hpp"

namespace crew::detail {

/// Bridge -> rank 0's engine thread.
struct LocalTask {
  wire::Header header;  ///< a task, or shutdown_world
  wire::Payload payload;
};

/// Rank 0's engine thread -> bridge: replies, a batch at a time.
struct LocalReply {
  std::vector<wire::Outgoing> messages;
  std::vector<std::string> answers;  ///< per message (if given): the task it answers, "" for none
  bool goodbye = false;              ///< the engine thread has stopped
  std::size_t backlog = 0;           ///< tasks it still had queued when it sent these
  bool live_output = false;          ///< output of the task running (engine/output_pump.hpp), not replies
  bool leave = false;  ///< the application that embeds the engine ends: shut the world down (Engine::poll)
};

struct BridgeConfig {
  int world_id = -1;
  int world_size = 1;
  int first_engine_id = 0;
  int heartbeat_ms = 1000;
  int controller_timeout_ms = 10000;  ///< silence after which the world shuts itself down
  MPI_Comm control_comm = MPI_COMM_NULL;
  Doorbell* doorbell = nullptr;  ///< rank 0's doorbell (null: none on this system)
  std::vector<bool> rings_rank;  ///< ranks on this host, which have doorbells
  TaskClaims* claims = nullptr;  ///< the world's task claims (null: no task is given back)
  /// What the controller sent right behind its register_reply, taken in by registration's read
  /// (one batch, or one read, can hold both): handled first, as if just received.
  std::vector<wire::Packet> early_messages;
  /// The controller keeps task records (RegisterReply::restorable): when it falls silent, or a
  /// restored one answers in its place, the world keeps running and reattaches to the restored
  /// one; it stops only after orphan_timeout of silence. Else it stops at controller_timeout_ms.
  bool restorable = false;
  std::chrono::seconds orphan_timeout{600};
  std::uint64_t incarnation = 0;       ///< the controller's run the world registered with
  wire::RegisterRequest registration;  ///< as the world registered: repeated when it reattaches
};

struct BridgeCounters {
  std::atomic<std::uint64_t> tasks_forwarded{0};
  std::atomic<std::uint64_t> replies_forwarded{0};
  std::atomic<std::uint64_t> dropped{0};
};

class Bridge {
public:
  /// `socket` carries the world's work; `heartbeats` (connected to the same endpoint, routing id
  /// + wire::heartbeat_suffix) only heartbeats, so that a long transfer never looks like silence.
  /// `streams`: the chunks of streamed arrays (protocol/stream.hpp), for rank 0's engine thread
  /// while it runs the collective they belong to (and a shutdown_world when the world stops).
  Bridge(transport::Endpoint socket, transport::Endpoint heartbeats, BridgeConfig config, Mailbox<LocalTask>& to_engine,
         Mailbox<LocalReply>& from_engine, Mailbox<LocalTask>& streams);
  ~Bridge();
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;
  /// The thread body: returns once the world has shut down and said goodbye.
  void run();
  const BridgeCounters& counters() const noexcept { return counters_; }
  /// How many messages went to each rank's inbox so far (sent, or queued to be sent this turn),
  /// as of one moment: a message for several ranks is in all their counts or in none. Engine::poll
  /// serves exactly these on every rank, so that all take part in the same work. Any thread.
  std::vector<std::uint64_t> handed() const;

private:
  bool pump_controller();
  void heartbeat_loop();
  bool pump_engine();
  bool pump_ranks();
  void on_controller_message(wire::Packet&& p);
  void dispatch_task(wire::Packet&& p);
  /// A withdraw_request: the task goes back to the controller if its rank has not started it.
  void withdraw(const wire::Packet& p);
  void dispatch_collective(wire::Packet&& p);
  void begin_shutdown(const std::string& why);
  /// A rank's live output: on to the controller if some client follows it (output_wanted_).
  void forward_output(const Buffer& header_bytes, std::span<const Buffer> payload);
  /// Some client follows live output (or none does any longer): here, and in the claims table.
  void want_output(bool wanted);
  bool output_wanted_ = false;
  /// `answers`: the task this message answers (an apply_reply's msg id), if any.
  void send_to_controller(const Buffer& header_bytes, std::span<const Buffer> payload, std::string_view answers = {});
  /// Sends what this turn queued for ranks and for the controller.
  void flush();
  bool hold_replies() const;
  void wait_for_events(std::chrono::nanoseconds timeout);

  transport::Endpoint socket_;
  transport::Endpoint heartbeats_;  ///< used only by the heartbeat thread
  BridgeConfig config_;
  Mailbox<LocalTask>& to_engine_;
  Mailbox<LocalReply>& from_engine_;
  Fifo<LocalReply> replies_in_;  ///< pump_engine's, kept: a drain then allocates nothing
  Mailbox<LocalTask>& streams_;
  BridgeCounters counters_;
  mutable std::mutex handed_mutex_;    ///< held while one message is counted for its ranks
  std::vector<std::uint64_t> handed_;  ///< per rank: handed()
  /// Hands `t` to rank 0's engine thread (and counts it: handed(); handed_mutex_ held).
  void hand_to_engine(LocalTask&& t);
  wire::Batcher to_controller_;  ///< replies queued this turn
  /// What the poll that ended the last turn found ready (at first: look at everything).
  struct Ready {
    bool socket = true;
    bool doorbell = true;
  } ready_;

  struct Pending;
  std::unique_ptr<Pending> pending_;
  void expect_from(int rank);
  /// One of the replies expected from `rank` came (or will never come: its task was withdrawn).
  void expected_answered(std::size_t rank);
  void take_from_rank(mpi_frames::Message&& m);
  std::vector<std::int64_t> announced_;  ///< by rank: messages its doorbell announced, not yet received
  void send_to_rank(int rank, const Buffer& header_bytes, std::span<const Buffer> payload);

  IdleBackoff mpi_wait_;               ///< paces MPI probes while replies are due from other ranks
  std::uint64_t remote_expected_ = 0;  ///< replies and goodbyes still due from ranks != 0
  std::uint64_t expected_unrung_ = 0;  ///< ... of them from ranks without a doorbell (polled)
  std::vector<std::uint64_t> expected_by_rank_;
  std::atomic<bool> heartbeat_stop_{false};
  Mailbox<bool> heartbeat_wake_;  ///< its eventfd wakes the heartbeat thread to stop
  /// Beats sent since the controller was last heard from. Silence is counted in beats, not in
  /// time: a world that was itself stopped (a suspended job) sent none meanwhile, and on waking
  /// must not take its own sleep for the controller's silence.
  std::atomic<int> unanswered_beats_{0};
  std::size_t engine_backlog_ = 0;  ///< rank 0's engine had this many tasks queued at its last replies
  std::chrono::steady_clock::time_point oldest_reply_{};  ///< of those queued for the controller
  bool shutting_down_ = false;
  bool local_done_ = false;
  void heard_controller() noexcept;

  // ---- surviving the controller (config_.restorable): see BridgeConfig::restorable
  /// A message sent to the controller and not yet on record there (reply_ack): sent again to a
  /// restored controller.
  struct Unacked {
    std::string answers;  ///< the task it answers ("" if none)
    wire::Frames message;
  };
  std::deque<Unacked> unacked_;
  std::uint64_t acked_ = 0;  ///< messages to the controller since this world (re)attached on record there
  /// Tasks handed to this world's ranks whose answers are not on record at the controller yet,
  /// by msg id (kept small: one is made and dropped per task).
  struct Held {
    int engine;
    std::uint32_t function;  ///< in functions_
    std::uint64_t balanced_seq;
    std::int64_t submitted_us;
  };
  std::unordered_map<std::string, Held> held_;
  std::vector<std::string> functions_;  ///< the held tasks' function names, each once
  std::uint32_t last_function_ = 0;
  std::uint32_t function_id(const std::string& name);
  std::vector<std::uint64_t> last_seq_;  ///< per rank: the last balanced task's number
  bool orphaned_ = false;                ///< no controller to send to: replies wait
  std::chrono::steady_clock::time_point orphaned_since_{};
  std::uint64_t reattaching_to_ = 0;                  ///< the incarnation asked to take the world back
  std::atomic<std::uint64_t> echoed_incarnation_{0};  ///< of the last heartbeat echo
  void check_controller(int beats_allowed);
  /// No controller will take the world's last messages: it stops without waiting to send them.
  void stop_unheard(const std::string& why);
  void on_ack(std::uint64_t count);
  void send_reattach(std::uint64_t incarnation);
  void on_reattached(const wire::Packet& p);
};

}  // namespace crew::detail
