#pragma once
// The controller: hub (registry, task records, heartbeats) and the direct scheduler, in one
// single-threaded event loop over two ROUTER sockets (clients, engine bridges) and a signalfd.
// No handler blocks: sockets have no high-water mark and sends never wait; a message that cannot
// be routed (ROUTER_MANDATORY) is handled, not silently dropped.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "controller/scheme.hpp"

namespace crew::controller {

/// 16 GiB: an 8 GB scatter fits; a runaway request does not take the controller's memory.
inline constexpr std::uint64_t default_max_message_bytes = std::uint64_t{16} << 30;
/// Finished tasks' records a controller keeps in memory unless told otherwise (--max-records).
inline constexpr std::uint64_t default_max_records = 100'000;

/// Whether the controller's sockets use CurveZMQ (transport/curve.hpp).
enum class CurveMode {
  automatic,  ///< on unless it binds to loopback only
  on,
  off,
};

struct ControllerConfig {
  std::string profile = "default";
  std::string ip = "127.0.0.1";
  int client_port = 0;  ///< 0: a free port
  int engine_port = 0;
  int heartbeat_ms = 1000;
  int heartbeat_misses = 5;  ///< a world silent this many periods is dead
  int ready_fd = -1;         ///< written "ready\n" once the connection files exist
  /// Requests above this many bytes (all frames) are refused with [crew.protocol.oversized].
  std::uint64_t max_message_bytes = default_max_message_bytes;
  /// Replies' data kept for later queries, in all; beyond it the oldest delivered ones go.
  std::uint64_t result_store_bytes = std::uint64_t{64} << 20;
  /// Finished tasks' records kept in memory; beyond it the oldest go (read back from db_file if
  /// there is one, else forgotten as if purged).
  std::uint64_t max_records = default_max_records;
  /// How the load balancer picks engines.
  Scheme scheme = Scheme::leastload;
  /// Balanced tasks in flight per engine at most; 0: automatic (deep enough to cover the round
  /// trip to the engine for short tasks, one at a time for long ones).
  int hwm = 0;
  /// A world whose batch job ends within this many seconds gets no new load-balanced tasks;
  /// those queued on its engines and not started go to other worlds.
  int drain_margin_s = 60;
  /// --db sqlite: every task's record in this SQLite file (empty: in memory only).
  std::filesystem::path db_file;
  bool db_sync_full = false;  ///< --db-sync full: fsync each commit
  /// --db-max-result: results above this are not written to the database (their client gets them).
  std::uint64_t db_max_result_bytes = std::uint64_t{512} << 20;
  /// --restore: take over from the controller that last ran on db_file (which died): its key, its
  /// ports, its worlds (which reattach with their engine ids) and the tasks they still hold.
  bool restore = false;
  /// With a task database, a world that stops hearing from the controller keeps running this
  /// long, waiting for a restored one (--orphan-timeout); without one, it stops at once.
  int orphan_timeout_s = 600;
  /// --curve / --no-curve: CurveZMQ with the profile's keys; by default on for any address but loopback.
  CurveMode curve = CurveMode::automatic;
};

struct ControllerStats {
  std::uint64_t dropped_bad_signature = 0;
  std::uint64_t dropped_malformed = 0;
  std::uint64_t dropped_replayed = 0;  ///< sealed messages that came before, or the controller's own sent back
  std::uint64_t dropped_oversized = 0;
  std::uint64_t dropped_unexpected = 0;
  std::uint64_t dropped_revoked = 0;  ///< messages from a connection whose CURVE key was revoked since
  std::uint64_t unroutable = 0;
  std::uint64_t handler_errors = 0;
  std::uint64_t worlds_revived = 0;        ///< worlds heard from again after they were declared dead
  std::uint64_t worlds_drained = 0;        ///< worlds that came within --drain-margin of their job's end
  std::uint64_t tasks_withdrawn = 0;       ///< balanced tasks a draining world gave back unstarted
  std::uint64_t tasks_rebalanced = 0;      ///< balanced tasks taken back unstarted for an engine that fell idle
  std::uint64_t worlds_reattached = 0;     ///< worlds of the run before that came back to this one (--restore)
  std::uint64_t tasks_adopted = 0;         ///< tasks they still held, taken over
  std::uint64_t tasks_abandoned = 0;       ///< tasks the run before took that no world came back with
  std::uint64_t output_bytes_out = 0;      ///< live output sent to following clients
  std::uint64_t output_bytes_dropped = 0;  ///< live output not sent: a client read too slowly
  // traffic: ZeroMQ messages, and the crew messages in them (batches carry many)
  std::uint64_t messages_in = 0;
  std::uint64_t members_in = 0;
  std::uint64_t messages_out = 0;
  std::uint64_t members_out = 0;
  std::uint64_t stream_bytes = 0;  ///< array bytes streamed through (scatter's chunks, gather's)
};

class Controller {
public:
  explicit Controller(ControllerConfig config);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  /// Binds, writes the profile's connection files and serves until shut down (shutdown request,
  /// SIGINT or SIGTERM). Removes its connection files on the way out.
  void run();

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace crew::controller
