#pragma once
// Batch jobs through a launcher's commands: submit a script, ask the states of many jobs in one
// call, cancel them. The parsers are separate so they can be tested on recorded outputs.

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cluster/job_state.hpp"
#include "cluster/launcher_definition.hpp"

namespace crew::cluster {

/// The command with {script}, {output}, {job_id} and {job_ids} filled in.
std::vector<std::string> expand(const CommandTemplate& command, const LauncherDefinition& d, const std::string& script,
                                const std::vector<std::string>& job_ids, const std::string& output = {});

/// The job id in a submit command's output, if its pattern finds one.
std::optional<std::string> parse_job_id(const LauncherDefinition& d, const std::string& output);

/// The jobs one status command's output lists (those among `wanted`; empty: all of them).
std::vector<JobStatus> parse_status(const LauncherDefinition& d, const StatusCommand& command,
                                    const std::string& output, const std::vector<std::string>& wanted = {});

/// Submits `script`. Throws LaunchError [crew.launch.job_rejected] with the scheduler's own words
/// when it refuses, or [crew.launch.failed] when its answer has no job id.
std::string submit_job(const LauncherDefinition& d, const std::filesystem::path& script,
                       const std::filesystem::path& output);

/// The state of every job in `ids`, in one call of each status command (a job the first does
/// not list goes to the next; one that none lists gets the launcher's `missing` state).
std::map<std::string, JobStatus> query_jobs(const LauncherDefinition& d, const std::vector<std::string>& ids);

/// Cancels `ids`; returns the cancel command's complaint ("" if it took them).
std::string cancel_jobs(const LauncherDefinition& d, const std::vector<std::string>& ids);

/// Seconds in a duration as schedulers print them: [D-]HH:MM:SS, MM:SS, or a number of seconds.
std::optional<long> parse_clock_duration(const std::string& text);

/// --walltime: [D-]H:MM:SS or a whole number of minutes. Throws InputError [crew.input.bad_option].
long parse_walltime(const std::string& text);
/// Seconds written the way `format` says.
std::string format_walltime(long seconds, WalltimeFormat format);

}  // namespace crew::cluster
