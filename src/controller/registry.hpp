#pragma once
// The hub's engine registry: worlds (one MPI job each, reached through its rank-0 bridge) and the
// engines in them. Engine ids are dense and handed out in registration order.

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "controller/peer_table.hpp"
#include "crew/value.hpp"

namespace crew::controller {

enum class EngineState : std::uint8_t { alive, dead, stopped };
std::string_view state_name(EngineState s) noexcept;

struct TaskRecord;

struct EngineRecord {
  int id = -1;
  int world = -1;
  int rank = 0;
  std::string host;
  std::int64_t pid = 0;
  EngineState state = EngineState::alive;
  std::deque<TaskRecord*> in_flight;  ///< tasks dispatched and not answered, oldest first
  std::uint64_t completed = 0;
  Value::Dict properties;  ///< what `requires` matches: --property k=v, and "host"
  bool draining = false;   ///< its world's job ends within the drain margin: no new balanced tasks
  // for the load balancer
  std::uint64_t last_use = 0;       ///< when it last got a balanced task (a counter; 0: never)
  double task_us = -1;              ///< how long its tasks take (moving average; -1: not measured yet)
  std::int64_t front_since_ns = 0;  ///< when its oldest task in flight began, as far as can be told (steady ns)
  std::uint64_t balanced_seq = 0;   ///< balanced tasks handed to it: each one's number (engine/task_claims.hpp)
  bool awaiting_steal = false;      ///< idle, while a task is taken back from another engine for it
};

struct WorldRecord {
  int id = -1;
  std::string routing_id;  ///< the bridge's ZeroMQ identity
  PeerId peer = 0;         ///< the same, as the controller's number for it
  int first_engine = 0;
  int size = 0;
  EngineState state = EngineState::alive;
  std::chrono::steady_clock::time_point last_seen;
  std::string end_reason;
  std::chrono::steady_clock::time_point ended_at;  ///< when it was declared dead or stopped
  // the job it runs in, as rank 0 reported it at registration
  std::string launcher;      ///< e.g. "slurm" ("" if not said)
  std::string job_id;        ///< the scheduler's job id, or the launching process's pid
  std::int64_t job_end = 0;  ///< when its walltime runs out, Unix seconds (0: unknown)
  bool draining = false;     ///< within the drain margin of job_end
  // for the load balancer: the round trip to this world's engines, without the task itself
  double round_trip_us = -1;  ///< the least in the last window (-1: not measured yet)
  double window_min_us = -1;  ///< the least so far in the current window
  int window_samples = 0;
  // with a task database: the bridge's messages taken in, acknowledged once on record (reply_ack)
  std::uint64_t received = 0;
  bool ack_due = false;
  bool absent = false;  ///< a world of the run before (--restore), not reattached yet
};

class Registry {
public:
  /// `properties`: one dict per rank (missing ones are empty).
  WorldRecord& add_world(std::string routing_id, const std::vector<std::string>& hosts,
                         const std::vector<std::int64_t>& pids, const std::vector<Value::Dict>& properties = {});
  /// A world of an earlier run of the controller, not back yet (restore): its place is kept, its
  /// engines stopped, until its bridge reattaches (fill()) with this routing id.
  WorldRecord& add_absent_world(int id, std::string routing_id, int first_engine, int size);
  /// An absent world's bridge is back: its engines are alive again, as they were.
  void fill(WorldRecord& w, const std::vector<std::string>& hosts, const std::vector<std::int64_t>& pids,
            const std::vector<Value::Dict>& properties);
  WorldRecord* world_by_routing(const std::string& routing_id);
  WorldRecord* world(int id);
  EngineRecord* engine(int id);
  const WorldRecord* world(int id) const { return const_cast<Registry*>(this)->world(id); }
  const EngineRecord* engine(int id) const { return const_cast<Registry*>(this)->engine(id); }
  std::vector<WorldRecord>& worlds() noexcept { return worlds_; }
  const std::vector<WorldRecord>& worlds() const noexcept { return worlds_; }
  const std::vector<EngineRecord>& engines() const noexcept { return engines_; }
  std::vector<EngineRecord>& engines() noexcept { return engines_; }
  int alive_engines() const noexcept;
  /// Ids of alive engines, "0-3,5" style, for error messages.
  std::string describe_alive() const;

private:
  std::vector<WorldRecord> worlds_;
  std::vector<EngineRecord> engines_;
  std::unordered_map<std::string, int> world_by_routing_;
};

}  // namespace crew::controller
