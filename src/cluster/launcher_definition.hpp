#pragma once
// A launcher as data: launchers/<name>.toml says how crew submits a world's job script, reads
// the job's id, asks its state, maps the scheduler's states onto crew's, and cancels it. A site
// adds one in /etc/crew/launchers/, a user in $CREW_HOME/launchers/, without recompiling.
//
// Two kinds:
//   process  the script runs as a child process crew watches (local: mpirun here; ssh: mpirun
//            over ssh); its pid is the job id, its exit is the job's end.
//   batch    the script is submitted to a scheduler (sbatch, qsub, bsub); crew polls the
//            scheduler's status commands and cancels through it.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cluster/job_state.hpp"
#include "cluster/pattern.hpp"

namespace crew::cluster {

enum class LauncherKind { process, batch };

/// How the engines get the connection file (address and key): read from the profile directory
/// (it is on a file system the engines see), or carried inside the job script.
enum class ConnectionMode { automatic, profile, embed };

/// How a launcher's scheduler writes a walltime.
enum class WalltimeFormat { hh_mm_ss, minutes, seconds };

/// A command line with placeholders: {script} (the job script), {output} (the job's output
/// file), {job_id} (runs once per job), {job_ids} (all jobs in one call).
using CommandTemplate = std::vector<std::string>;

struct StatusCommand {
  CommandTemplate command;
  /// One match per job: groups id and state; optional reason, exit_code, time_left.
  Pattern line{"^(?<id>\\S+)\\s+(?<state>\\S+)"};
};

struct LauncherDefinition {
  std::string name;
  std::filesystem::path file;  ///< where it was read from
  std::string origin;          ///< "built in", "site" or "user"
  std::string description;
  LauncherKind kind = LauncherKind::process;
  std::string template_name;          ///< a file in jobscripts/ (same search path), or a path
  std::vector<std::string> programs;  ///< needed on PATH
  std::string package;                ///< where those come from, for the error when one is missing
  ConnectionMode connection = ConnectionMode::automatic;
  WalltimeFormat walltime_format = WalltimeFormat::hh_mm_ss;

  // batch only
  CommandTemplate submit;
  bool script_on_stdin = false;          ///< `bsub < script`
  Pattern job_id{"(?<id>\\d+)"};         ///< on the submit command's output; group "id"
  std::vector<StatusCommand> status;     ///< tried in order; each gets the jobs the ones before did not list
  JobState missing = JobState::unknown;  ///< a job no status command lists
  std::map<std::string, JobState> states;
  JobState default_state = JobState::unknown;
  CommandTemplate cancel;
  /// How {job_ids} joins several ids inside a word (--jobs={job_ids}); a word that is just
  /// {job_ids} becomes one argument per job.
  std::string job_id_separator = ",";

  // the job's environment
  std::string env_job_id;    ///< e.g. SLURM_JOB_ID, or PBS_JOBID%%.* (read as "${...}" in the script)
  std::string env_nodes;     ///< e.g. SLURM_JOB_NODELIST
  std::string env_end_time;  ///< e.g. SLURM_JOB_END_TIME (Unix seconds), if the scheduler sets one

  /// Values for template variables a site sets in the launcher file ([defaults]), e.g. SGE's
  /// parallel_environment; crew's own values and --set win over them.
  std::map<std::string, std::string> defaults;

  /// The crew state of a scheduler state word (the table, else the default).
  JobState state_of(const std::string& scheduler_state) const;
};

/// Reads and checks a launcher file. Throws LaunchError [crew.launch.bad_launcher] naming the
/// file, the line and the key that is missing or wrong.
LauncherDefinition read_launcher_file(const std::filesystem::path& file, std::string origin);
/// The same from text (for tests); `file` only names it in messages.
LauncherDefinition parse_launcher(const std::string& text, const std::filesystem::path& file, std::string origin);

std::string_view kind_name(LauncherKind k) noexcept;

}  // namespace crew::cluster
