// Submitting, querying and cancelling batch jobs.
#include "cluster/batch_jobs.hpp"

#include <algorithm>
#include <cstdio>
#include <set>

#include "common/process.hpp"
#include "crew/error.hpp"

namespace crew::cluster {
namespace {

using namespace std::chrono_literals;

/// Scheduler commands can be slow on a busy site, but never forever.
constexpr auto kCommandTimeout = 60s;

std::string joined(const std::vector<std::string>& ids, const std::string& separator) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : separator) + id;
  return out;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

bool per_job(const CommandTemplate& command) {
  return std::any_of(command.begin(), command.end(),
                     [](const std::string& w) { return w.find("{job_id}") != std::string::npos; });
}

std::string trimmed(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

/// The scheduler's words on a failure: stderr, else stdout.
std::string complaint(const proc::CommandResult& r) {
  std::string text = trimmed(r.err);
  if (text.empty()) text = trimmed(r.out);
  return text.empty() ? "no message, exit status " + std::to_string(r.status) : text;
}

}  // namespace

std::vector<std::string> expand(const CommandTemplate& command, const LauncherDefinition& d, const std::string& script,
                                const std::vector<std::string>& job_ids, const std::string& output) {
  std::vector<std::string> out;
  for (const auto& word : command) {
    if (word == "{job_ids}") {  // a word of its own: one argument per job
      out.insert(out.end(), job_ids.begin(), job_ids.end());
      continue;
    }
    std::string w = replace_all(word, "{script}", script);
    w = replace_all(w, "{output}", output);
    w = replace_all(w, "{job_ids}", joined(job_ids, d.job_id_separator));
    w = replace_all(w, "{job_id}", job_ids.empty() ? std::string() : job_ids.front());
    out.push_back(std::move(w));
  }
  return out;
}

std::optional<std::string> parse_job_id(const LauncherDefinition& d, const std::string& output) {
  auto m = d.job_id.first(output);
  if (!m || !m->count("id") || m->at("id").empty()) return std::nullopt;
  return m->at("id");
}

std::vector<JobStatus> parse_status(const LauncherDefinition& d, const StatusCommand& command,
                                    const std::string& output, const std::vector<std::string>& wanted) {
  std::vector<JobStatus> out;
  const std::set<std::string> want(wanted.begin(), wanted.end());
  for (auto& g : command.line.all(output)) {
    JobStatus s;
    s.id = g["id"];
    if (s.id.empty() || (!want.empty() && !want.count(s.id))) continue;
    s.scheduler_state = trimmed(g["state"]);
    s.state = d.state_of(s.scheduler_state);
    if (auto it = g.find("reason"); it != g.end()) s.reason = trimmed(it->second);
    if (auto it = g.find("exit_code"); it != g.end() && !trimmed(it->second).empty()) {
      try {
        s.exit_code = std::stoi(trimmed(it->second));
      } catch (const std::exception&) {
      }
    }
    if (auto it = g.find("time_left"); it != g.end()) s.seconds_left = parse_clock_duration(trimmed(it->second));
    // A job that ran to its end with a non-zero exit code failed, whatever the scheduler calls it.
    if (s.state == JobState::done && s.exit_code && *s.exit_code != 0) s.state = JobState::failed;
    // A job listed twice (array tasks, steps) keeps its first line.
    if (std::none_of(out.begin(), out.end(), [&](const JobStatus& o) { return o.id == s.id; }))
      out.push_back(std::move(s));
  }
  return out;
}

std::string submit_job(const LauncherDefinition& d, const std::filesystem::path& script,
                       const std::filesystem::path& output) {
  const auto argv = expand(d.submit, d, script.string(), {}, output.string());
  proc::RunOptions options;
  options.timeout = kCommandTimeout;
  if (d.script_on_stdin) options.stdin_file = script;
  const auto r = proc::run(argv, options);
  if (r.status != 0)
    throw_error(errc::job_rejected, d.name + " refused the job (`" + proc::command_text(argv) + "` exited " +
                                        std::to_string(r.status) + "):\n" + complaint(r));
  if (auto id = parse_job_id(d, r.out)) return *id;
  throw_error(errc::launcher_failed, "`" + proc::command_text(argv) + "` printed no job id that " + d.file.string() +
                                         "'s submit.job_id ('" + d.job_id.source() + "') matches:\n" + complaint(r));
}

std::map<std::string, JobStatus> query_jobs(const LauncherDefinition& d, const std::vector<std::string>& ids) {
  std::map<std::string, JobStatus> found;
  std::vector<std::string> left = ids;
  bool answered = false;  // some status command ran (a job it does not list is then really missing)
  proc::RunOptions options;
  options.timeout = kCommandTimeout;
  const auto ask = [&](const StatusCommand& command, const std::vector<std::string>& some) {
    const auto r = proc::run(expand(command.command, d, {}, some), options);
    // 127: the program is not there, 128+: killed (our timeout): no answer. Any other status
    // answers: a failing command (accounting disabled, an id it no longer knows) may still
    // list the others, and whatever it printed counts.
    if (r.status == 127 || r.status >= 128) return;
    answered = true;
    for (auto& s : parse_status(d, command, r.out, left)) found.emplace(s.id, std::move(s));
  };
  for (const auto& command : d.status) {
    if (left.empty()) break;
    if (per_job(command.command)) {
      for (const auto& id : left) ask(command, {id});
    } else {
      ask(command, left);
    }
    std::erase_if(left, [&](const std::string& id) { return found.count(id) != 0; });
  }
  for (const auto& id : left) {
    JobStatus s;
    s.id = id;
    s.state = answered ? d.missing : JobState::unknown;
    if (!answered) s.scheduler_state = "unknown: " + d.name + "'s status commands did not run";
    found.emplace(id, std::move(s));
  }
  return found;
}

std::string cancel_jobs(const LauncherDefinition& d, const std::vector<std::string>& ids) {
  if (ids.empty()) return {};
  proc::RunOptions options;
  options.timeout = kCommandTimeout;
  std::string problems;
  const auto one = [&](const std::vector<std::string>& some) {
    const auto argv = expand(d.cancel, d, {}, some);
    const auto r = proc::run(argv, options);
    if (r.status != 0)
      problems += (problems.empty() ? "" : "\n") + ("`" + proc::command_text(argv) + "`: " + complaint(r));
  };
  if (per_job(d.cancel))
    for (const auto& id : ids) one({id});
  else
    one(ids);
  return problems;
}

std::optional<long> parse_clock_duration(const std::string& text) {
  const std::string t = trimmed(text);
  if (t.empty() || t.find_first_not_of("0123456789:-") != std::string::npos) return std::nullopt;
  long days = 0;
  std::string clock = t;
  if (auto dash = t.find('-'); dash != std::string::npos) {
    try {
      days = std::stol(t.substr(0, dash));
    } catch (const std::exception&) {
      return std::nullopt;
    }
    clock = t.substr(dash + 1);
  }
  std::vector<long> parts;
  std::size_t start = 0;
  while (start <= clock.size()) {
    const auto colon = clock.find(':', start);
    const std::string part = clock.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (part.empty() || part.find('-') != std::string::npos) return std::nullopt;
    parts.push_back(std::stol(part));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  long seconds = 0;
  if (parts.size() == 3)
    seconds = parts[0] * 3600 + parts[1] * 60 + parts[2];
  else if (parts.size() == 2)
    seconds = parts[0] * 60 + parts[1];
  else if (parts.size() == 1)
    seconds = parts[0];
  else
    return std::nullopt;
  return days * 86400 + seconds;
}

long parse_walltime(const std::string& text) {
  const std::string t = trimmed(text);
  const auto bad = [&](const std::string& why) -> long {
    throw_error(errc::bad_option, "--walltime " + text + ": " + why +
                                      "; write H:MM:SS (1:30:00), D-H:MM:SS (2-00:00:00) or whole minutes (90)");
  };
  if (t.empty()) return bad("empty");
  if (t.find_first_not_of("0123456789") == std::string::npos) {
    const long minutes = std::stol(t);
    return minutes > 0 ? minutes * 60 : bad("must be more than 0");
  }
  const auto colons = std::count(t.begin(), t.end(), ':');
  if (colons != 2) return bad(colons == 1 ? "H:MM and MM:SS read differently on different schedulers" : "not a time");
  const auto seconds = parse_clock_duration(t);
  if (!seconds) return bad("not a time");
  return *seconds > 0 ? *seconds : bad("must be more than 0");
}

std::string format_walltime(long seconds, WalltimeFormat format) {
  switch (format) {
  case WalltimeFormat::minutes: return std::to_string((seconds + 59) / 60);
  case WalltimeFormat::seconds: return std::to_string(seconds);
  case WalltimeFormat::hh_mm_ss: break;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", seconds / 3600, (seconds / 60) % 60, seconds % 60);
  return buf;
}

}  // namespace crew::cluster
