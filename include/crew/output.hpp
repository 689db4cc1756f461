#pragma once
// Live output: what engines write while their tasks run, and what becomes of the engines.
//
//   crew::OutputFilter filter;
//   filter.targets = {0, 1, 2, 3};
//   filter.status = true;                                       // engines' status changes too
//   auto feed = rc.subscribe_output(filter);
//   while (auto e = feed.next(std::chrono::seconds(1)))       // std::nullopt: nothing for a second
//     std::cout << "[engine " << e->engine_id << "] " << e->text;
//
//   auto ar = lb.apply("long_job");
//   ar.on_output([](const crew::OutputEvent& e) { std::cout << e.text; });   // from now on
//
// A task's output is what it writes to std::cout / std::cerr or ctx.out() / ctx.err(), and what
// its process writes to file descriptors 1 and 2 while it runs (printf, Fortran, child processes;
// crew-engine's ranks capture them: EngineOptions::capture_fds); `exec` streams its command's
// output too (its result keeps it). It leaves its engine a line at a time (within about 20 ms)
// while the task runs (for now on rank 0 of each world; other ranks send it with the result), and
// comes whole with the task's result as always (ResultMetadata::stdout_text). A reader that falls
// behind never slows the engines: what it could not take is dropped, and the next event says how
// many bytes went. With `activity`, the engines' busy and idle changes come too.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crew/export.hpp"

namespace crew {

namespace detail {
class ClientCore;
struct OutputFeedState;
}  // namespace detail

/// A piece of a task's output, or a change in engines' status.
struct OutputEvent {
  enum class Kind { out, err, status };
  Kind kind = Kind::out;
  int engine_id = -1;  ///< out / err: the engine that wrote it
  int world = -1;      ///< out / err: its MPI world
  int rank = -1;       ///< out / err: its rank there
  std::string msg_id;  ///< out / err: the task that wrote it
  /// out / err: the text, as written (whole lines, unless a task wrote more than 32 KiB at once or
  /// ended mid-line); status: what became of the engines: registered, dead, back, stopped, reattached.
  std::string text;
  std::vector<int> engines;  ///< status: the engines it is about
  std::string detail;        ///< status: why, in a sentence
  /// Output lost just before this event: the reader fell behind, or the engine wrote faster than
  /// it could send.
  std::uint64_t dropped_bytes = 0;
};

/// What a feed follows. Each field set narrows it; the default follows every engine's output.
struct OutputFilter {
  std::vector<int> targets;          ///< these engines (empty: all, also those that register later)
  std::vector<std::string> msg_ids;  ///< these tasks (empty: any)
  bool mine = false;                 ///< only tasks this client submitted
  bool status = false;               ///< also the engines' status changes
  /// Also when its engines become busy (the controller handed an idle one work) and idle (one
  /// answered all it had): status events with text "busy" / "idle", one engine each. Only on a
  /// change: an engine kept busy by a stream of tasks says busy once.
  bool activity = false;
};

/// A subscription to live output (Client::subscribe_output): events queue here until next() takes
/// them (up to 16 MiB; beyond, they are dropped and counted). It ends when destroyed or closed.
class CREW_API OutputFeed {
public:
  OutputFeed() = default;
  ~OutputFeed();
  OutputFeed(OutputFeed&&) noexcept;
  OutputFeed& operator=(OutputFeed&&) noexcept;
  OutputFeed(const OutputFeed&) = delete;
  OutputFeed& operator=(const OutputFeed&) = delete;

  /// The next event, waiting up to `timeout` for one (std::nullopt if none came, or the feed or
  /// its client closed). After a loss, once the queue is empty, an event with no text says how
  /// many bytes were dropped.
  std::optional<OutputEvent> next(std::chrono::milliseconds timeout);
  /// Stops following: the controller stops sending what only this feed followed.
  void close();
  bool is_open() const noexcept { return state_ != nullptr; }

private:
  friend class Client;
  OutputFeed(std::weak_ptr<detail::ClientCore> core, std::shared_ptr<detail::OutputFeedState> state);
  std::weak_ptr<detail::ClientCore> core_;
  std::shared_ptr<detail::OutputFeedState> state_;
};

}  // namespace crew
