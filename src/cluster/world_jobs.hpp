#pragma once
// The jobs behind a cluster's worlds: their states in one status call per launcher, and their
// cancellation. Process worlds (local, ssh) are their own jobs: running while their process lives.

#include <map>
#include <string>
#include <vector>

#include "cluster/cluster_state.hpp"
#include "cluster/job_state.hpp"
#include "cluster/launcher_definition.hpp"

namespace crew::cluster {

/// "slurm job 42", "local job 1234": a world's job for people.
std::string job_label(const WorldState& w);

class WorldJobs {
public:
  /// The launcher called `name`, read once.
  const LauncherDefinition& launcher(const std::string& name);

  /// The state of each world's job, by job_label; one status call per launcher.
  std::map<std::string, JobStatus> states(const std::vector<const WorldState*>& worlds);

  /// Cancels the batch jobs among `worlds` (one cancel call per launcher) and ends the process
  /// worlds' sessions; returns complaints ("" if none).
  std::string cancel(const std::vector<const WorldState*>& worlds);

private:
  std::map<std::string, LauncherDefinition> launchers_;
};

}  // namespace crew::cluster
