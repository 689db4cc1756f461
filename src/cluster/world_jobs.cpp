// Job states and cancellation for a cluster's worlds.
#include "cluster/world_jobs.hpp"

#include <signal.h>

#include "cluster/batch_jobs.hpp"
#include "cluster/launcher_catalog.hpp"
#include "common/process.hpp"

namespace crew::cluster {

std::string job_label(const WorldState& w) { return w.launcher + " job " + w.job_id; }

const LauncherDefinition& WorldJobs::launcher(const std::string& name) {
  auto it = launchers_.find(name);
  if (it == launchers_.end()) it = launchers_.emplace(name, find_launcher(name)).first;
  return it->second;
}

std::map<std::string, JobStatus> WorldJobs::states(const std::vector<const WorldState*>& worlds) {
  std::map<std::string, JobStatus> out;
  std::map<std::string, std::vector<const WorldState*>> batch;  // by launcher
  for (const WorldState* w : worlds) {
    if (w->batch()) {
      batch[w->launcher].push_back(w);
      continue;
    }
    JobStatus s;
    s.id = w->job_id;
    s.state = w->pid > 0 && proc::alive(w->pid) ? JobState::running : JobState::done;
    out[job_label(*w)] = s;
  }
  for (const auto& [name, list] : batch) {
    std::vector<std::string> ids;
    for (const WorldState* w : list) ids.push_back(w->job_id);
    const auto found = query_jobs(launcher(name), ids);
    for (const WorldState* w : list) {
      auto it = found.find(w->job_id);
      if (it != found.end()) out[job_label(*w)] = it->second;
    }
  }
  return out;
}

std::string WorldJobs::cancel(const std::vector<const WorldState*>& worlds) {
  std::string problems;
  std::map<std::string, std::vector<std::string>> batch;
  for (const WorldState* w : worlds) {
    if (w->batch())
      batch[w->launcher].push_back(w->job_id);
    else if (w->pid > 0)
      proc::signal_session(w->pid, SIGTERM);
  }
  for (const auto& [name, ids] : batch) {
    std::string complaint;
    try {
      complaint = cancel_jobs(launcher(name), ids);
    } catch (const std::exception& e) {
      complaint = e.what();
    }
    if (!complaint.empty()) problems += (problems.empty() ? "" : "\n") + complaint;
  }
  return problems;
}

}  // namespace crew::cluster
