#pragma once
// A batch job's state as crew sees it, whatever the scheduler calls it: the launcher files map
// each scheduler's states (PENDING, qw, PEND, ...) onto these.

#include <optional>
#include <string>
#include <string_view>

namespace crew::cluster {

enum class JobState { pending, held, running, done, failed, cancelled, timeout, unknown };

std::string_view job_state_name(JobState s) noexcept;
std::optional<JobState> job_state_from_name(std::string_view name) noexcept;
/// "pending, held, running, done, failed, cancelled, timeout, unknown"
std::string job_state_names();
/// The job has ended: it will never run (again) by itself.
bool job_ended(JobState s) noexcept;

/// What one status query says of one job.
struct JobStatus {
  std::string id;
  JobState state = JobState::unknown;
  std::string scheduler_state;       ///< the scheduler's own word, e.g. "PENDING" or "qw"
  std::string reason;                ///< why it waits, where the scheduler says (e.g. "Resources")
  std::optional<int> exit_code;      ///< once it ended, where the scheduler says
  std::optional<long> seconds_left;  ///< of its walltime, where the scheduler says
};

/// "PENDING (Resources)", "RUNNING", "qw": the scheduler's words for people.
std::string describe(const JobStatus& s);

}  // namespace crew::cluster
