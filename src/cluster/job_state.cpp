// Job states.
#include "cluster/job_state.hpp"

#include <array>
#include <utility>

namespace crew::cluster {
namespace {

constexpr std::array<std::pair<JobState, std::string_view>, 8> kNames{{
    {JobState::pending, "pending"},
    {JobState::held, "held"},
    {JobState::running, "running"},
    {JobState::done, "done"},
    {JobState::failed, "failed"},
    {JobState::cancelled, "cancelled"},
    {JobState::timeout, "timeout"},
    {JobState::unknown, "unknown"},
}};

}  // namespace

std::string_view job_state_name(JobState s) noexcept {
  for (const auto& [state, name] : kNames)
    if (state == s) return name;
  return "unknown";
}

std::optional<JobState> job_state_from_name(std::string_view name) noexcept {
  for (const auto& [state, n] : kNames)
    if (n == name) return state;
  return std::nullopt;
}

std::string job_state_names() {
  std::string out;
  for (const auto& [state, name] : kNames) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

bool job_ended(JobState s) noexcept {
  return s == JobState::done || s == JobState::failed || s == JobState::cancelled || s == JobState::timeout;
}

std::string describe(const JobStatus& s) {
  std::string text = s.scheduler_state.empty() ? std::string(job_state_name(s.state)) : s.scheduler_state;
  if (!s.reason.empty() && s.reason != "None" && s.reason != "(null)") text += " (" + s.reason + ")";
  return text;
}

}  // namespace crew::cluster
