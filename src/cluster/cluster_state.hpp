#pragma once
// cluster.json: what `crew cluster start` started in a profile, so `stop` and `status` can find
// every process again (controller, launcher processes and engine pids), even after a crash.

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace crew::cluster {

struct WorldState {
  std::string launcher = "local";
  pid_t pid = 0;       ///< a process launcher's job (its script, then mpirun), leader of its own session
  std::string job_id;  ///< what the launcher calls it: the scheduler's job id, or the pid
  int engines = 0;
  std::filesystem::path log;     ///< the job's output (stdout and stderr)
  std::filesystem::path script;  ///< the rendered job script
  std::vector<std::string> command;
  std::vector<pid_t> engine_pids;  ///< on this host only
  bool batch() const { return pid == 0 && !job_id.empty(); }
};

struct ClusterState {
  std::string profile;
  std::string started;       ///< ISO 8601
  pid_t controller_pid = 0;  ///< leader of its own session
  std::filesystem::path controller_log;
  std::vector<std::string> controller_args;  ///< its options after `crew controller` (a restore repeats them)
  std::vector<WorldState> worlds;

  /// Every pid crew started, for waiting and cleanup.
  std::vector<pid_t> all_pids() const;
};

inline constexpr const char* state_file_name = "cluster.json";

std::optional<ClusterState> read_state(const std::filesystem::path& profile_dir);
void write_state(const std::filesystem::path& profile_dir, const ClusterState& state);
void remove_state(const std::filesystem::path& profile_dir);

}  // namespace crew::cluster
