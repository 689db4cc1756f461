#pragma once
// Live output: what a rank's tasks write leaves while they run, not only with their reply.
//
// The task's streams (engine/task_output.hpp) hand their text here as lines complete; a thread of
// the pump's own sends it on within `delay` (in messages of at most `chunk` bytes), so a task that
// computes for an hour after printing a line has that line at the client in milliseconds. When the
// task ends, the rank calls end(): what is left goes at once, from the rank's thread, before its
// reply, so a task's output always precedes its result. Rank 0 sends to the bridge's mailbox,
// other ranks over MPI (engine/mpi_inbox.hpp: what end() hands over joins the rank's batch of
// replies, ahead of the task's own).
//
// The rank never waits for a reader: text beyond `most` bytes unsent is dropped and counted, and
// the next message says how much went (Header::request_id). The thread starts at the first write:
// a rank whose tasks print nothing has none. Nor does one whose output nobody follows, where the
// pump is told so (`Followed`: the bridge's word in engine/task_claims.hpp): the text written
// meanwhile goes only with its reply.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/internal_api.hpp"
#include "protocol/wire.hpp"

namespace crew::detail {

class CREW_INTERNAL_API OutputPump {
public:
  /// Where a message of output goes (called by one thread at a time, in order). `last`: end()
  /// sends it, on the task's own thread, right before the task's reply; otherwise the pump's
  /// thread sends it while the task runs.
  using Sink = std::function<void(wire::Outgoing, bool last)>;
  /// Whether some client follows live output now (empty: always assumed).
  using Followed = std::function<bool()>;
  struct Place {
    int engine_id = -1;
    int world_id = -1;
    int rank = 0;
  };
  struct Limits {
    std::chrono::milliseconds delay{20};  ///< the longest text waits before it is sent
    std::size_t chunk = 32 * 1024;        ///< most text in one message
    std::size_t most = 4 * 1024 * 1024;   ///< most text waiting; more is dropped (and counted)
  };

  OutputPump(Place place, Sink sink, Followed followed = {})
      : OutputPump(place, std::move(sink), std::move(followed), Limits{}) {}
  OutputPump(Place place, Sink sink, Followed followed, Limits limits);
  ~OutputPump();
  OutputPump(const OutputPump&) = delete;
  OutputPump& operator=(const OutputPump&) = delete;

  /// A task starts: what is written until end() is its output. `msg_id` must outlive the task.
  void begin(const std::string& msg_id) noexcept;
  /// Text the task wrote to its stdout (`err` false) or stderr; any thread. Not passed on while
  /// nobody follows.
  void write(bool err, std::string_view text);
  /// The task ended: sends what is left, on this thread, and returns once it is sent.
  void end();

  std::uint64_t bytes_sent() const;
  std::uint64_t bytes_dropped() const;

private:
  struct Piece {
    bool err;
    std::string text;
  };
  void run();
  /// Sends what waits (send_mutex_ held, mutex_ not); `last`: from end().
  void send_waiting(bool last);

  const Place place_;
  const Sink sink_;
  const Followed followed_;
  const Limits limits_;
  std::mutex send_mutex_;  ///< held while sending: one sender at a time, in order
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  const std::string* task_ = nullptr;  ///< the running task's msg id
  std::string task_id_;                ///< copied at its first write
  std::vector<Piece> waiting_;
  std::size_t waiting_bytes_ = 0;
  std::chrono::steady_clock::time_point first_waiting_{};
  std::uint64_t dropped_unsaid_ = 0;  ///< dropped since the last message went
  std::uint64_t sent_ = 0, dropped_ = 0;
  bool stop_ = false;
  bool idle_ = false;   ///< the thread waits for text (not for text to be due)
  std::thread thread_;  ///< started by the first write
};

/// While a task runs on this thread, the pump its live output goes to (Executor sets it; null: none).
class CREW_INTERNAL_API LivePumpScope {
public:
  explicit LivePumpScope(OutputPump* pump) noexcept;
  ~LivePumpScope();
  LivePumpScope(const LivePumpScope&) = delete;
  LivePumpScope& operator=(const LivePumpScope&) = delete;

private:
  OutputPump* previous_;
};

/// Text for the running task's live output only, not for its reply's text: what a builtin that
/// returns its output in its result (exec) shows as it comes. Nothing outside a task, or without a pump.
CREW_INTERNAL_API void write_live_only(bool err, std::string_view text);

}  // namespace crew::detail
