#pragma once
// crew::Client: the connection to a cluster's controller.
//
//   crew::Client rc;                          // profile "default" ($CREW_HOME/profile_default)
//   crew::Client rc{"/path/to/controller.json"};
//   rc.ids();                                 // [0, 1, 2, 3]
//   rc[0].apply("mul", 5, 6).get();           // 30
//   rc.view().apply("summary").get_dict();    // every engine
//
// A Client is thread-safe; one I/O thread per Client owns its socket.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "crew/async_map.hpp"
#include "crew/async_result.hpp"
#include "crew/export.hpp"
#include "crew/load_balanced_view.hpp"
#include "crew/output.hpp"
#include "crew/view.hpp"

namespace crew {

struct EngineInfo {
  int id = -1;
  std::string host;
  std::int64_t pid = 0;
  int rank = 0;        ///< MPI rank within its world
  int world = -1;      ///< which MPI job
  int world_size = 0;  ///< ranks in that job
  std::string state;   ///< "alive", "dead" or "stopped"
  int tasks = 0;       ///< tasks in flight
  std::int64_t completed = 0;
  Value::Dict properties;  ///< what load-balanced tasks' `require` matches
  /// The job its world runs in, as its launcher calls it ("" if the world did not say).
  std::string launcher;
  std::string job_id;
  std::int64_t job_end = 0;  ///< when the job's walltime runs out, Unix seconds (0: unknown)
  /// Alive, but so near its job's end that it takes no new load-balanced tasks.
  bool draining = false;
};

/// The controller's queues (Client::queue_status).
struct QueueStatus {
  struct Engine {
    int id = -1;
    int world = -1;
    std::string state;
    int queue = 0;  ///< tasks in flight on it (direct and balanced)
    std::int64_t completed = 0;
    int depth = 0;  ///< balanced tasks it may hold now (its high-water mark)
  };
  std::vector<Engine> engines;
  std::int64_t unassigned = 0;  ///< balanced tasks ready to run, waiting for an engine with room
  std::int64_t waiting = 0;     ///< balanced tasks waiting for their dependencies
  std::string scheme;
  int hwm = 0;  ///< 0: automatic
  std::int64_t submitted = 0, completed = 0, failed = 0, retried = 0;
};

/// Where tasks stand (Client::result_status).
struct ResultStatus {
  std::vector<std::string> pending;    ///< queued or running
  std::vector<std::string> completed;  ///< finished ok
  std::vector<std::string> failed;
  std::vector<std::string> unknown;  ///< the controller has no record of them
};

/// One task as the controller's history lists it (Client::history).
struct TaskSummary {
  std::string msg_id;
  std::string function;
  int engine_id = -1;                               ///< where it ran or runs (-1: no engine yet, or never one)
  std::string status;                               ///< "pending", "ok" or "failed"
  std::string error;                                ///< failed: the error's type, e.g. "crew.remote.aborted"
  std::chrono::system_clock::time_point submitted;  ///< client clock
  std::chrono::system_clock::time_point started;    ///< engine clock; the epoch if not yet
  std::chrono::system_clock::time_point completed;  ///< engine clock; the epoch if not yet
};

/// Which tasks Client::history lists: each field set narrows it; the default lists them all.
struct HistoryFilter {
  std::chrono::system_clock::time_point since{};  ///< submitted at or after
  std::vector<std::string> status{};              ///< any of "pending", "ok", "failed" (empty: all)
  std::vector<int> targets{};                     ///< ran, runs or waits on one of these engines (empty: any)
  std::size_t last = 0;                           ///< only the newest `last` of those (0: all)
};

/// What Client::purge_results did.
struct PurgeReport {
  std::size_t purged = 0;            ///< tasks forgotten, with their results
  std::uint64_t bytes = 0;           ///< result bytes the controller gave back
  std::vector<std::string> pending;  ///< named but not finished: kept
  std::vector<std::string> unknown;  ///< named but not on record (mistyped, or purged before)
};

struct ClientOptions {
  /// How long to wait for the controller: at connect (then ConnectionError
  /// [crew.connection.timeout]) and for each query (then ConnectionError [crew.connection.lost]).
  std::chrono::milliseconds timeout{10000};
  /// Keep freed blocks of up to 1 GiB for reuse instead of returning them to the kernel (glibc
  /// mallopt, process-wide). Large results then land in memory touched before, which on many
  /// machines (VMs above all) is several times faster than fresh pages. Set false to leave the
  /// process's allocator alone.
  bool keep_freed_memory = true;
  /// "[user@]host[:port]": reach the controller through ssh to that host (its login node), as
  /// the controller's address is seen there: one ssh connection, shared by every client of this
  /// user, with their ~/.ssh/config and agent. "" (default): directly, or through the host a
  /// profile imported with `crew profile import` names.
  std::string ssh{};
};

class CREW_API Client {
public:
  /// A profile name ($CREW_HOME/profile_<name>/controller.json) or a path to a controller.json.
  /// Throws ConnectionError naming the profile and file if there is no controller, or if it does
  /// not answer within the timeout.
  explicit Client(const std::string& profile_or_file = "default", ClientOptions options = {});
  ~Client();
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;

  /// Ids of the alive engines, ascending.
  std::vector<int> ids() const;
  /// Every engine the controller knows, alive or not.
  std::vector<EngineInfo> engines() const;
  /// The engine list as soon as at least `at_least` engines are alive, or once `max_wait` passed.
  std::vector<EngineInfo> engines(int at_least, std::chrono::milliseconds max_wait) const;
  /// Waits until at least `n` engines are alive; throws TimeoutError saying how many there are.
  std::vector<int> wait_for_engines(int n, std::chrono::milliseconds timeout) const;

  DirectView operator[](int id) const;
  DirectView operator[](std::vector<int> ids) const;
  /// All engines alive now.
  DirectView view() const;
  /// The alive engines of one MPI world (one mpirun job): the view for code that runs its own
  /// collectives on Context::comm(). Throws InputError [crew.input.unknown_target] if the world
  /// has no alive engines.
  DirectView view(int world) const;
  /// All engines alive now, for calls that go to every one of them: one message per MPI world,
  /// fanned out by the world's bridge (crew's direct views to many engines work this way too;
  /// the name is the seeds').
  DirectView broadcast_view() const { return view(); }

  /// Work that runs on whichever engine is free: any engine (also those that register later), or
  /// one of `targets`. Throws InputError [crew.input.unknown_target] for an id that does not exist.
  LoadBalancedView load_balanced_view(std::vector<int> targets = {}) const;

  /// The controller's queues: tasks in flight per engine, balanced tasks waiting.
  QueueStatus queue_status() const;
  /// Where these tasks stand (any client's tasks).
  ResultStatus result_status(const std::vector<std::string>& msg_ids) const;
  /// A task's result by msg id, also one another client submitted: ready now if it finished,
  /// else when it does. Throws InputError [crew.input.unknown_task] for an unknown id.
  AsyncResult get_result(const std::string& msg_id) const;
  /// Aborts tasks that have not started (see LoadBalancedView::abort).
  AbortReport abort(const std::vector<std::string>& msg_ids) const;
  /// The tasks the controller has records of (any client's), oldest first, narrowed by `filter`.
  /// Throws InputError [crew.input.bad_option] for a status other than pending, ok and failed.
  std::vector<TaskSummary> history(const HistoryFilter& filter = {}) const;
  /// Forgets finished tasks and their results, so the controller's memory stays bounded in a long
  /// session: these ids, every finished task, or those submitted before a time. Pending tasks are
  /// kept (and, when named, listed in the report); a purged id is unknown afterwards.
  PurgeReport purge_results(const std::vector<std::string>& msg_ids) const;
  PurgeReport purge_all_results() const;
  PurgeReport purge_results_before(std::chrono::system_clock::time_point before) const;

  /// Follows engines' live output (and, with filter.status, their status changes) from now on:
  /// see crew/output.hpp. Returns once the controller sends it. Throws InputError
  /// [crew.input.bad_option] for a negative engine id.
  OutputFeed subscribe_output(const OutputFilter& filter = {}) const;

  /// Waits for every result this client is still owed; true if none is left.
  bool wait(std::chrono::milliseconds timeout = forever) const;
  /// Results this client is still owed.
  std::size_t outstanding() const;

  /// The controller's counters (dropped messages, tasks, ...).
  Value controller_stats() const;
  /// Stops the engines and the controller; returns when the controller has answered.
  void shutdown() const;

  const std::filesystem::path& connection_file() const;

private:
  std::shared_ptr<detail::ClientCore> core_;
};

}  // namespace crew
